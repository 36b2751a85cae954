/*
 * sha256.h - SHA-256, HMAC-SHA256 (RFC 2104) and PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) for the
 * broker's password file and SCRAM, and the two helpers that handle secrets: a comparison
 * in constant time and a wipe.
 *
 * A thin layer over OpenSSL's libcrypto (EVP_Digest, HMAC, PKCS5_PBKDF2_HMAC,
 * CRYPTO_memcmp, OPENSSL_cleanse): cryptography is not written here. The layer keeps
 * OpenSSL's headers out of the rest of broker/ (tests/determinism_lint.sh allows them in
 * broker/sha256.c alone) and its int lengths and error returns out of its callers: an
 * OpenSSL failure here can only be an allocation failure, and ends the process like
 * mqtt_xmalloc's.
 *
 * Outputs may not overlap inputs.
 */
#ifndef BROKER_SHA256_H
#define BROKER_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

void broker_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* HMAC-SHA256 of msg under key (any length; keys longer than a block are hashed first). */
void broker_sha256_hmac(const void *key, size_t key_len, const void *msg, size_t msg_len,
			uint8_t out[SHA256_LEN]);

/* PBKDF2-HMAC-SHA256: derive out_len bytes from the password and salt with `iterations`
 * rounds (>= 1). Returns 0, or -1 if iterations is 0, out_len is 0, or a length is past
 * what OpenSSL takes (INT_MAX). */
int broker_sha256_pbkdf2(const void *password, size_t password_len, const void *salt,
			 size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len);

/* Compare two byte strings of length n in time that depends only on n (CRYPTO_memcmp), so
 * a wrong password or proof does not reveal how many leading bytes were right. */
bool broker_sha256_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* Overwrite a secret so it does not linger in memory; not optimised away (OPENSSL_cleanse). */
void broker_sha256_wipe(void *p, size_t n);

#endif
