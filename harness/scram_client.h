/*
 * scram_client.h - the client's half of SCRAM-SHA-256 (RFC 5802, RFC 7677), so tests and
 * scripted clients can authenticate to a broker with MQTT 5.0 enhanced authentication
 * (Authentication Method "SCRAM-SHA-256"). Pure: the client nonce is handed in.
 * No SASLprep: the password's bytes are used as given (as `mqttsim passwd` hashes them).
 */
#ifndef HARNESS_SCRAM_CLIENT_H
#define HARNESS_SCRAM_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#define SCRAM_CLIENT_MSG 1024 /* the most any message here takes */

typedef struct scram_client {
	char gs2[64];                 /* "n,," unless set otherwise */
	char first_bare[SCRAM_CLIENT_MSG];
	uint8_t server_sig[32];       /* expected in server-final */
} scram_client;

/* client-first-message for user with the nonce cnonce, into out (cap bytes); gs2 NULL
 * means "n,," (no channel binding). Returns its length, or -1 if it does not fit. */
int scram_client_first(scram_client *c, const char *gs2, const char *user, const char *cnonce,
		       char *out, size_t cap);
/* client-final-message for server-first (sf, n bytes) and the password. Returns its
 * length, or -1 when server-first is not one (nonce not starting with ours, bad salt or
 * count). */
int scram_client_final(scram_client *c, const char *password, const uint8_t *sf, size_t n,
		       char *out, size_t cap);
/* 0 when server-final (n bytes) proves the server knows the password's keys, else -1. */
int scram_client_verify(const scram_client *c, const uint8_t *final, size_t n);

#endif
