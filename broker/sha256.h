/*
 * sha256.h - SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and PBKDF2-HMAC-SHA256
 * (RFC 8018 §5.2), for the broker's password file.
 *
 * Written here rather than taken from a crypto library so the broker keeps its one
 * dependency (libc). These are used to check passwords, not to encrypt traffic; nothing
 * here tries to resist side channels beyond what password checking needs (see
 * broker_sha256_equal).
 *
 * All functions are pure: no allocation, no I/O. Outputs may not overlap inputs.
 */
#ifndef BROKER_SHA256_H
#define BROKER_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_BLOCK 64

typedef struct sha256_ctx {
	uint32_t h[8];
	uint64_t len;               /* bytes hashed so far */
	uint8_t buf[SHA256_BLOCK];  /* a partial block */
	size_t buf_len;
} sha256_ctx;

void broker_sha256_init(sha256_ctx *c);
void broker_sha256_update(sha256_ctx *c, const void *data, size_t len);
/* Writes the digest; the context must be initialised again before reuse. */
void broker_sha256_final(sha256_ctx *c, uint8_t out[SHA256_LEN]);
void broker_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* HMAC-SHA256 of msg under key (any length; keys longer than a block are hashed first). */
void broker_sha256_hmac(const void *key, size_t key_len, const void *msg, size_t msg_len,
			uint8_t out[SHA256_LEN]);

/* PBKDF2-HMAC-SHA256: derive out_len bytes from the password and salt with `iterations`
 * rounds (>= 1). Returns 0, or -1 if iterations is 0 or out_len is 0 or larger than RFC
 * 8018 allows ((2^32 - 1) blocks). */
int broker_sha256_pbkdf2(const void *password, size_t password_len, const void *salt,
			 size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len);

/* Compare two byte strings of length n in time that depends only on n, so a wrong
 * password does not reveal how many leading bytes of its hash were right. */
bool broker_sha256_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* Overwrite a secret so it does not linger on the stack; not optimised away. */
void broker_sha256_wipe(void *p, size_t n);

#endif
