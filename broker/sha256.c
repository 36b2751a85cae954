/*
 * sha256.c - see sha256.h: each function hands its work to OpenSSL's libcrypto.
 */
#include "broker/sha256.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>

void broker_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int n = 0;
	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != SHA256_LEN)
		abort(); /* only an allocation inside OpenSSL can fail here */
}

void broker_sha256_hmac(const void *key, size_t key_len, const void *msg, size_t msg_len,
			uint8_t out[SHA256_LEN])
{
	static const uint8_t none = 0; /* HMAC() wants a key pointer even for an empty key */
	unsigned int n = 0;
	if (key_len > INT_MAX ||
	    !HMAC(EVP_sha256(), key_len ? key : &none, (int)key_len, msg_len ? msg : &none, msg_len,
		  out, &n) ||
	    n != SHA256_LEN)
		abort();
}

int broker_sha256_pbkdf2(const void *password, size_t password_len, const void *salt,
			 size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len)
{
	static const char none = 0;
	if (iterations == 0 || iterations > INT_MAX || out_len == 0 || out_len > INT_MAX ||
	    password_len > INT_MAX || salt_len > INT_MAX)
		return -1;
	if (!PKCS5_PBKDF2_HMAC(password_len ? password : &none, (int)password_len,
			       salt_len ? salt : (const void *)&none, (int)salt_len, (int)iterations,
			       EVP_sha256(), (int)out_len, out))
		abort();
	return 0;
}

bool broker_sha256_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void broker_sha256_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}
