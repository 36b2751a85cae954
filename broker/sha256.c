/*
 * sha256.c - SHA-256, HMAC-SHA256 and PBKDF2-HMAC-SHA256; see sha256.h.
 *
 * Written from FIPS 180-4 §4.1.2, §4.2.2, §5.3.3 and §6.2, RFC 2104 §2 and RFC 8018 §5.2.
 * Checked against their published test vectors in tests/test_auth.c.
 */
#include "broker/sha256.h"

#include <string.h>

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the
 * first 64 primes. */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* FIPS 180-4 §6.2.2: one 512-bit block into the hash state. */
static void compress(uint32_t h[8], const uint8_t block[SHA256_BLOCK])
{
	uint32_t w[64];
	for (int t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (int t = 16; t < 64; t++) {
		uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int t = 0; t < 64; t++) {
		uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t t1 = k + S1 + ch + K[t] + w[t];
		uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
		uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
		uint32_t t2 = S0 + maj;
		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += k;
	/* The schedule is derived from the message, which may be a password. */
	broker_sha256_wipe(w, sizeof w);
}

void broker_sha256_init(sha256_ctx *c)
{
	/* FIPS 180-4 §5.3.3: square roots of the first 8 primes. */
	static const uint32_t H0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(c->h, H0, sizeof H0);
	c->len = 0;
	c->buf_len = 0;
}

void broker_sha256_update(sha256_ctx *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	if (len == 0)
		return; /* data may then be NULL, which memcpy may not be given */
	c->len += len;
	if (c->buf_len) {
		size_t take = SHA256_BLOCK - c->buf_len < len ? SHA256_BLOCK - c->buf_len : len;
		memcpy(c->buf + c->buf_len, p, take);
		c->buf_len += take;
		p += take;
		len -= take;
		if (c->buf_len < SHA256_BLOCK)
			return;
		compress(c->h, c->buf);
		c->buf_len = 0;
	}
	for (; len >= SHA256_BLOCK; p += SHA256_BLOCK, len -= SHA256_BLOCK)
		compress(c->h, p);
	if (len) {
		memcpy(c->buf, p, len);
		c->buf_len = len;
	}
}

void broker_sha256_final(sha256_ctx *c, uint8_t out[SHA256_LEN])
{
	/* FIPS 180-4 §5.1.1: a 1 bit, zeros, then the message length in bits, big-endian,
	 * ending on a block boundary. */
	uint64_t bits = c->len * 8;
	c->buf[c->buf_len++] = 0x80;
	if (c->buf_len > SHA256_BLOCK - 8) {
		memset(c->buf + c->buf_len, 0, SHA256_BLOCK - c->buf_len);
		compress(c->h, c->buf);
		c->buf_len = 0;
	}
	memset(c->buf + c->buf_len, 0, SHA256_BLOCK - 8 - c->buf_len);
	store_be32(c->buf + 56, (uint32_t)(bits >> 32));
	store_be32(c->buf + 60, (uint32_t)bits);
	compress(c->h, c->buf);
	for (int i = 0; i < 8; i++)
		store_be32(out + 4 * i, c->h[i]);
	broker_sha256_wipe(c, sizeof *c);
}

void broker_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	sha256_ctx c;
	broker_sha256_init(&c);
	broker_sha256_update(&c, data, len);
	broker_sha256_final(&c, out);
}

/* HMAC as two hash states already fed the padded key (RFC 2104 §2 steps 1-3 and 5).
 * PBKDF2 computes thousands of HMACs under one key; starting each from these saves two
 * of the four compressions per HMAC. */
typedef struct hmac_key {
	sha256_ctx inner, outer;
} hmac_key;

static void hmac_key_init(hmac_key *hk, const void *key, size_t key_len)
{
	uint8_t k[SHA256_BLOCK] = { 0 }, pad[SHA256_BLOCK];
	if (key_len > SHA256_BLOCK)
		broker_sha256(key, key_len, k);
	else if (key_len)
		memcpy(k, key, key_len);
	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	broker_sha256_init(&hk->inner);
	broker_sha256_update(&hk->inner, pad, sizeof pad);
	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	broker_sha256_init(&hk->outer);
	broker_sha256_update(&hk->outer, pad, sizeof pad);
	broker_sha256_wipe(k, sizeof k);
	broker_sha256_wipe(pad, sizeof pad);
}

/* HMAC of the concatenation of two pieces (the second may be empty). */
static void hmac_run(const hmac_key *hk, const void *m1, size_t n1, const void *m2, size_t n2,
		     uint8_t out[SHA256_LEN])
{
	sha256_ctx c = hk->inner;
	uint8_t t[SHA256_LEN];
	broker_sha256_update(&c, m1, n1);
	if (n2)
		broker_sha256_update(&c, m2, n2);
	broker_sha256_final(&c, t);
	c = hk->outer;
	broker_sha256_update(&c, t, sizeof t);
	broker_sha256_final(&c, out);
	broker_sha256_wipe(t, sizeof t);
}

void broker_sha256_hmac(const void *key, size_t key_len, const void *msg, size_t msg_len,
			uint8_t out[SHA256_LEN])
{
	hmac_key hk;
	hmac_key_init(&hk, key, key_len);
	hmac_run(&hk, msg, msg_len, NULL, 0, out);
	broker_sha256_wipe(&hk, sizeof hk);
}

int broker_sha256_pbkdf2(const void *password, size_t password_len, const void *salt,
			 size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len)
{
	if (iterations == 0 || out_len == 0 ||
	    (uint64_t)out_len > (uint64_t)0xffffffffu * SHA256_LEN)
		return -1;
	hmac_key hk;
	hmac_key_init(&hk, password, password_len);
	uint8_t u[SHA256_LEN], t[SHA256_LEN], be[4];
	for (uint32_t block = 1; out_len; block++) {
		/* T_i = U_1 ^ U_2 ^ ... ^ U_c, U_1 = PRF(P, S || INT(i)), U_j = PRF(P, U_{j-1}). */
		store_be32(be, block);
		hmac_run(&hk, salt, salt_len, be, sizeof be, u);
		memcpy(t, u, sizeof t);
		for (uint32_t j = 1; j < iterations; j++) {
			hmac_run(&hk, u, sizeof u, NULL, 0, u);
			for (int i = 0; i < SHA256_LEN; i++)
				t[i] ^= u[i];
		}
		size_t take = out_len < SHA256_LEN ? out_len : SHA256_LEN;
		memcpy(out, t, take);
		out += take;
		out_len -= take;
	}
	broker_sha256_wipe(&hk, sizeof hk);
	broker_sha256_wipe(u, sizeof u);
	broker_sha256_wipe(t, sizeof t);
	return 0;
}

bool broker_sha256_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	/* No early exit: every byte is looked at whatever the first difference. */
	volatile uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

void broker_sha256_wipe(void *p, size_t n)
{
	/* Stores through a volatile pointer are not removed as dead by the optimiser. */
	volatile uint8_t *v = p;
	while (n--)
		*v++ = 0;
}
