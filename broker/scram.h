/*
 * scram.h - the server side of SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash), for MQTT 5.0
 * enhanced authentication (auth_scram.c), and the Base64 it needs (RFC 4648 §4).
 *
 * Pure: no allocation beyond the strings a broker_scram owns, no I/O, no randomness (the
 * server nonce is handed in, so a test can replay RFC 7677's example and the simulation
 * stays deterministic). Internal to broker/ and its tests.
 *
 * What is not built: channel binding (SCRAM-SHA-256-PLUS; a client asking for it with 'p='
 * is refused, as RFC 5802 §6 says, and 'y' is accepted since the server offers no -PLUS),
 * SASLprep of names and passwords (RFC 7677 asks for it; the password file holds keys
 * derived from the bytes `mqttsim passwd` was given, so a client must send the same bytes), and the
 * mandatory extension 'm=' (refused, RFC 5802 §5.1).
 */
#ifndef BROKER_SCRAM_H
#define BROKER_SCRAM_H

#include "broker/sha256.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BROKER_SCRAM_METHOD "SCRAM-SHA-256"
#define BROKER_SCRAM_MAX_MSG 1024 /* bytes of one client message taken at most */

/* Outcomes; what went wrong is said in the why buffer of each call. */
enum broker_scram_rc {
	BROKER_SCRAM_OK = 0,
	BROKER_SCRAM_MALFORMED = -1,   /* not a SCRAM message of that step */
	BROKER_SCRAM_UNSUPPORTED = -2, /* channel binding 'p=', an 'm=' extension, an authzid of another user */
	BROKER_SCRAM_NONCE = -3,       /* client-final names another nonce than server-first */
	BROKER_SCRAM_PROOF = -4,       /* the proof is wrong: wrong password or unknown user */
};

/* One exchange. Zero it to start; broker__scram_clear() frees and wipes it. */
typedef struct broker_scram {
	int step;                 /* 0 nothing yet, 1 client-first read, 2 server-first made */
	char *user;               /* the user name of client-first, unescaped (NUL-terminated) */
	char *gs2;                /* the GS2 header as sent ("n,,", "y,,", "n,a=NAME,") */
	char *first_bare;         /* client-first-message-bare */
	char *cnonce;             /* the client's nonce */
	char *server_first;       /* server-first-message, NUL-terminated */
	char *nonce;              /* client nonce + server nonce */
	uint8_t stored_key[SHA256_LEN], server_key[SHA256_LEN];
} broker_scram;

/* Read client-first-message (step 0 -> 1). */
int broker__scram_client_first(broker_scram *s, const uint8_t *m, size_t n, char *why, size_t whylen);
/* StoredKey and ServerKey from SaltedPassword (RFC 5802 §3): what the password file keeps. */
void broker__scram_keys(const uint8_t salted[SHA256_LEN], uint8_t stored_key[SHA256_LEN],
			uint8_t server_key[SHA256_LEN]);

/* Make server-first-message (step 1 -> 2) with the server's nonce (printable ASCII without
 * ','), the user's salt and iteration count, StoredKey (to check the proof with) and
 * ServerKey (to sign server-final with). Returns s->server_first. */
const char *broker__scram_server_first(broker_scram *s, const char *snonce, const uint8_t *salt,
				       size_t salt_len, uint32_t iterations,
				       const uint8_t stored_key[SHA256_LEN],
				       const uint8_t server_key[SHA256_LEN]);
/* Check client-final-message (step 2). On BROKER_SCRAM_OK server-final-message ("v=...",
 * NUL-terminated) is written to out (cap >= 64). */
int broker__scram_client_final(broker_scram *s, const uint8_t *m, size_t n, char *out, size_t cap,
			       char *why, size_t whylen);
void broker__scram_clear(broker_scram *s);

/* Base64 with padding: encode n bytes into out (4 * ((n + 2) / 3) + 1 bytes, NUL written);
 * returns the length. Decode: returns the byte count, or -1 for anything that is not
 * canonical Base64 or does not fit in cap. */
size_t broker__base64_encode(const uint8_t *in, size_t n, char *out);
long broker__base64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
