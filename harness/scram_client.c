/*
 * scram_client.c - SCRAM-SHA-256, the client's half (RFC 5802 §3, §7). The server's half
 * is broker/auth_scram.c; they share only the hash functions and Base64, so a mistake in
 * one shows up against the other and against RFC 7677's example (tests/test_auth.c).
 */
#include "harness/scram_client.h"

#include "broker/scram.h"
#include "broker/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int scram_client_first(scram_client *c, const char *gs2, const char *user, const char *cnonce,
		       char *out, size_t cap)
{
	memset(c, 0, sizeof *c);
	snprintf(c->gs2, sizeof c->gs2, "%s", gs2 ? gs2 : "n,,");
	/* The user name with ',' and '=' escaped as RFC 5802 §5.1 asks. */
	char esc[SCRAM_CLIENT_MSG / 2];
	size_t o = 0;
	for (const char *p = user; *p; p++) {
		if (o + 4 > sizeof esc)
			return -1;
		if (*p == ',' || *p == '=') {
			memcpy(esc + o, *p == ',' ? "=2C" : "=3D", 3);
			o += 3;
		} else
			esc[o++] = *p;
	}
	esc[o] = 0;
	int k = snprintf(c->first_bare, sizeof c->first_bare, "n=%s,r=%s", esc, cnonce);
	if (k < 0 || (size_t)k >= sizeof c->first_bare)
		return -1;
	int n = snprintf(out, cap, "%s%s", c->gs2, c->first_bare);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int scram_client_final(scram_client *c, const char *password, const uint8_t *sf, size_t n,
		       char *out, size_t cap)
{
	char s[SCRAM_CLIENT_MSG];
	if (n == 0 || n >= sizeof s)
		return -1;
	memcpy(s, sf, n);
	s[n] = 0;
	/* r=NONCE,s=SALT,i=COUNT */
	char *r = s, *salt = strstr(s, ",s="), *it = salt ? strstr(salt + 3, ",i=") : NULL;
	if (strncmp(r, "r=", 2) || !salt || !it)
		return -1;
	*salt = 0;
	*it = 0;
	/* Our own client-first says where our nonce is; without one (no scram_client_first
	 * before, or it failed) there is nothing to answer. */
	const char *cnonce = strstr(c->first_bare, ",r=");
	if (!cnonce)
		return -1;
	cnonce += 3;
	if (strncmp(r + 2, cnonce, strlen(cnonce)))
		return -1;
	uint8_t sb[128];
	long sl = broker__base64_decode(salt + 3, strlen(salt + 3), sb, sizeof sb);
	char *endp;
	unsigned long iter = strtoul(it + 3, &endp, 10);
	if (sl <= 0 || *endp || iter == 0 || iter > 10000000)
		return -1;
	uint8_t salted[32], ck[32], sk[32], stored[32], sig[32], proof[32];
	if (broker_sha256_pbkdf2(password, strlen(password), sb, (size_t)sl, (uint32_t)iter, salted,
				 sizeof salted))
		return -1;
	broker_sha256_hmac(salted, 32, "Client Key", 10, ck);
	broker_sha256_hmac(salted, 32, "Server Key", 10, sk);
	broker_sha256(ck, 32, stored);
	char gs2b64[128], wo[SCRAM_CLIENT_MSG];
	broker__base64_encode((const uint8_t *)c->gs2, strlen(c->gs2), gs2b64);
	int wn = snprintf(wo, sizeof wo, "c=%s,r=%s", gs2b64, r + 2);
	if (wn < 0 || (size_t)wn >= sizeof wo)
		return -1;
	size_t an = strlen(c->first_bare) + n + (size_t)wn + 2;
	char *am = malloc(an + 1);
	if (!am)
		return -1;
	snprintf(am, an + 1, "%s,%.*s,%s", c->first_bare, (int)n, (const char *)sf, wo);
	broker_sha256_hmac(stored, 32, am, an, sig);
	for (int i = 0; i < 32; i++)
		proof[i] = ck[i] ^ sig[i];
	broker_sha256_hmac(sk, 32, am, an, c->server_sig);
	free(am);
	char pb[64];
	broker__base64_encode(proof, 32, pb);
	int k = snprintf(out, cap, "%s,p=%s", wo, pb);
	return k < 0 || (size_t)k >= cap ? -1 : k;
}

int scram_client_verify(const scram_client *c, const uint8_t *final, size_t n)
{
	char want[64];
	memcpy(want, "v=", 2);
	broker__base64_encode(c->server_sig, 32, want + 2);
	return n == strlen(want) && !memcmp(final, want, n) ? 0 : -1;
}
