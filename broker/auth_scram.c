/*
 * auth_scram.c - SCRAM-SHA-256, the server's half (RFC 5802 §3, §5, §7; RFC 7677). See
 * scram.h for what is left out. The server holds StoredKey and ServerKey, as the password
 * file does (RFC 5802 §3, §9), never the password or SaltedPassword:
 *
 *     ClientKey = HMAC(SaltedPassword, "Client Key")   StoredKey = H(ClientKey)
 *     ServerKey = HMAC(SaltedPassword, "Server Key")
 *     AuthMessage = client-first-bare "," server-first "," client-final-without-proof
 *     ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage)
 *     ServerSignature = HMAC(ServerKey, AuthMessage)
 *
 * The server recovers ClientKey from the proof and checks that its hash is StoredKey.
 */
#include "broker/scram.h"
#include "mqtt/alloc.h"
#include "mqtt/mqtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Base64 ------------------------------------------------------------------------------ */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t broker__base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = B64[v >> 18 & 63];
		out[o++] = B64[v >> 12 & 63];
		out[o++] = i + 1 < n ? B64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? B64[v & 63] : '=';
	}
	out[o] = 0;
	return o;
}

static int b64val(char c)
{
	const char *p = c ? strchr(B64, c) : NULL;
	return p ? (int)(p - B64) : -1;
}

long broker__base64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	if (n % 4)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			if (last && in[i + k] == '=' && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad) /* "=" only at the very end */
				return -1;
			if ((v[k] = b64val(in[i + k])) < 0)
				return -1;
		}
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* Canonical only: the bits a padded group leaves over must be 0. */
		if ((pad == 1 && (x & 0xff)) || (pad == 2 && (x & 0xffff)))
			return -1;
		size_t k = 3 - (size_t)pad;
		if (o + k > cap)
			return -1;
		out[o++] = (uint8_t)(x >> 16);
		if (k > 1)
			out[o++] = (uint8_t)(x >> 8);
		if (k > 2)
			out[o++] = (uint8_t)x;
	}
	return (long)o;
}

/* ---- message parts ------------------------------------------------------------------------- */

/* printable = %x21-2B / %x2D-7E (RFC 5802 §7: what a nonce is made of). */
static bool nonce_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == ',')
			return false;
	return true;
}

/* saslname: UTF-8 without NUL and ',' where '=' appears only as "=2C" or "=3D"; unescaped
 * into a new string, or NULL. */
static char *saslname(const char *s, size_t n)
{
	if (n == 0)
		return NULL;
	char *d = mqtt_xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == 0 || s[i] == ',') {
			free(d);
			return NULL;
		}
		if (s[i] == '=') {
			if (i + 2 < n && s[i + 1] == '2' && s[i + 2] == 'C')
				d[o++] = ',';
			else if (i + 2 < n && s[i + 1] == '3' && s[i + 2] == 'D')
				d[o++] = '=';
			else {
				free(d);
				return NULL;
			}
			i += 2;
			continue;
		}
		d[o++] = s[i];
	}
	d[o] = 0;
	return d;
}

/* The next ','-separated attribute of [*p, end): "X=value", X a letter, in *name (RFC 5802
 * §7, attr-val). A ',' always separates two attributes: one that ends the message (a
 * trailing comma) is refused, as the grammar has no empty attribute after it. */
static bool attr(const char **p, const char *end, char *name, const char **v, size_t *vn)
{
	const char *s = *p;
	if (end - s < 2 || s[1] != '=' || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	const char *c = memchr(s, ',', (size_t)(end - s));
	if (c && c + 1 == end)
		return false;
	const char *e = c ? c : end;
	*name = s[0];
	*v = s + 2;
	*vn = (size_t)(e - s - 2);
	*p = c ? c + 1 : end;
	return true;
}

static char *dup_n(const char *s, size_t n)
{
	return mqtt_xstrndup(s, n);
}

/* ---- the exchange ------------------------------------------------------------------------- */

int broker__scram_client_first(broker_scram *s, const uint8_t *m, size_t n, char *why, size_t whylen)
{
	const char *p = (const char *)m, *end = p + n;
	if (s->step != 0) {
		mqtt_say(why, whylen, "SCRAM client-first-message out of turn");
		return BROKER_SCRAM_MALFORMED;
	}
	if (n == 0 || n > BROKER_SCRAM_MAX_MSG || memchr(m, 0, n)) {
		mqtt_say(why, whylen, "SCRAM client-first-message is empty, longer than %d bytes or holds a NUL",
		    BROKER_SCRAM_MAX_MSG);
		return BROKER_SCRAM_MALFORMED;
	}
	/* gs2-header = gs2-cbind-flag "," [authzid] "," */
	if (p[0] == 'p') {
		mqtt_say(why, whylen, "SCRAM channel binding ('p=') is not supported: use %s without -PLUS",
		    BROKER_SCRAM_METHOD);
		return BROKER_SCRAM_UNSUPPORTED; /* RFC 5802 §6: the server does not offer it */
	}
	if ((p[0] != 'n' && p[0] != 'y') || n < 3 || p[1] != ',') {
		mqtt_say(why, whylen, "SCRAM client-first-message must start with \"n,\", \"y,\" or \"p=\"");
		return BROKER_SCRAM_MALFORMED;
	}
	const char *q = p + 2;
	char *authz = NULL;
	if (q < end && *q != ',') {
		const char *c = memchr(q, ',', (size_t)(end - q));
		if (!c || c - q < 3 || q[0] != 'a' || q[1] != '=' || !(authz = saslname(q + 2, (size_t)(c - q - 2)))) {
			mqtt_say(why, whylen, "SCRAM GS2 header: expected \"a=NAME,\" or \",\" after the channel binding flag");
			return BROKER_SCRAM_MALFORMED;
		}
		q = c;
	}
	if (q >= end || *q != ',') {
		free(authz);
		mqtt_say(why, whylen, "SCRAM GS2 header does not end with ','");
		return BROKER_SCRAM_MALFORMED;
	}
	q++;
	size_t gs2_len = (size_t)(q - p);
	/* client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions] */
	const char *bare = q, *v;
	size_t vn;
	char name = 0; /* attr() leaves it unset when no attribute follows the GS2 header */
	if (!attr(&q, end, &name, &v, &vn) || name == 'm') {
		free(authz);
		if (name == 'm') {
			mqtt_say(why, whylen, "SCRAM mandatory extension 'm=' is not supported");
			return BROKER_SCRAM_UNSUPPORTED;
		}
		mqtt_say(why, whylen, "SCRAM client-first-message-bare: expected \"n=USER,r=NONCE\"");
		return BROKER_SCRAM_MALFORMED;
	}
	char *user = name == 'n' ? saslname(v, vn) : NULL;
	if (!user) {
		free(authz);
		mqtt_say(why, whylen, "SCRAM client-first-message: expected a user name \"n=USER\" (',' and '=' written =2C and =3D)");
		return BROKER_SCRAM_MALFORMED;
	}
	if (!attr(&q, end, &name, &v, &vn) || name != 'r' || !nonce_ok(v, vn)) {
		free(authz);
		free(user);
		mqtt_say(why, whylen, "SCRAM client-first-message: expected \"r=NONCE\" (printable ASCII, no ',') after the user name");
		return BROKER_SCRAM_MALFORMED;
	}
	/* Extensions after the nonce are allowed and ignored (RFC 5802 §5.1), but must be
	 * attributes. */
	size_t nonce_len = vn;
	const char *nonce = v;
	while (q < end) {
		if (!attr(&q, end, &name, &v, &vn)) {
			free(authz);
			free(user);
			mqtt_say(why, whylen, "SCRAM client-first-message: after the nonce only \"X=value\" extensions, "
				       "separated by ',' with none after the last");
			return BROKER_SCRAM_MALFORMED;
		}
	}
	if (authz && strcmp(authz, user)) {
		free(authz);
		free(user);
		mqtt_say(why, whylen, "SCRAM authorization identity differs from the user name; acting for another user is not supported");
		return BROKER_SCRAM_UNSUPPORTED;
	}
	free(authz);
	s->user = user;
	s->gs2 = dup_n(p, gs2_len);
	s->first_bare = dup_n(bare, (size_t)(end - bare));
	s->cnonce = dup_n(nonce, nonce_len);
	s->step = 1;
	return BROKER_SCRAM_OK;
}

void broker__scram_keys(const uint8_t salted[SHA256_LEN], uint8_t stored_key[SHA256_LEN],
			uint8_t server_key[SHA256_LEN])
{
	uint8_t client_key[SHA256_LEN];
	broker_sha256_hmac(salted, SHA256_LEN, "Client Key", 10, client_key);
	broker_sha256(client_key, sizeof client_key, stored_key);
	broker_sha256_hmac(salted, SHA256_LEN, "Server Key", 10, server_key);
	broker_sha256_wipe(client_key, sizeof client_key);
}

const char *broker__scram_server_first(broker_scram *s, const char *snonce, const uint8_t *salt,
				       size_t salt_len, uint32_t iterations,
				       const uint8_t stored_key[SHA256_LEN],
				       const uint8_t server_key[SHA256_LEN])
{
	memcpy(s->stored_key, stored_key, SHA256_LEN);
	memcpy(s->server_key, server_key, SHA256_LEN);
	size_t cn = strlen(s->cnonce), sn = strlen(snonce);
	s->nonce = mqtt_xmalloc(cn + sn + 1);
	memcpy(s->nonce, s->cnonce, cn);
	memcpy(s->nonce + cn, snonce, sn + 1);
	char *b64 = mqtt_xmalloc(4 * ((salt_len + 2) / 3) + 1);
	broker__base64_encode(salt, salt_len, b64);
	size_t cap = cn + sn + strlen(b64) + 32;
	s->server_first = mqtt_xmalloc(cap);
	snprintf(s->server_first, cap, "r=%s,s=%s,i=%u", s->nonce, b64, iterations);
	free(b64);
	s->step = 2;
	return s->server_first;
}

int broker__scram_client_final(broker_scram *s, const uint8_t *m, size_t n, char *out, size_t cap,
			       char *why, size_t whylen)
{
	const char *p = (const char *)m, *end = p + n, *v;
	size_t vn;
	char name;
	if (s->step != 2) {
		mqtt_say(why, whylen, "SCRAM client-final-message out of turn");
		return BROKER_SCRAM_MALFORMED;
	}
	s->step = 3; /* one client-final per exchange, whatever becomes of it */
	if (n == 0 || n > BROKER_SCRAM_MAX_MSG || memchr(m, 0, n)) {
		mqtt_say(why, whylen, "SCRAM client-final-message is empty, longer than %d bytes or holds a NUL",
		    BROKER_SCRAM_MAX_MSG);
		return BROKER_SCRAM_MALFORMED;
	}
	/* client-final-message-without-proof = channel-binding "," nonce ["," extensions] */
	const char *q = p;
	uint8_t cb[BROKER_SCRAM_MAX_MSG];
	if (!attr(&q, end, &name, &v, &vn) || name != 'c') {
		mqtt_say(why, whylen, "SCRAM client-final-message must start with \"c=\" (the GS2 header in Base64)");
		return BROKER_SCRAM_MALFORMED;
	}
	long cbn = broker__base64_decode(v, vn, cb, sizeof cb);
	if (cbn < 0) {
		mqtt_say(why, whylen, "SCRAM client-final-message: \"c=\" is not Base64");
		return BROKER_SCRAM_MALFORMED;
	}
	/* Without channel binding, c= carries the GS2 header alone, byte for byte (§7). */
	if ((size_t)cbn != strlen(s->gs2) || memcmp(cb, s->gs2, (size_t)cbn)) {
		mqtt_say(why, whylen, "SCRAM client-final-message: \"c=\" is not the GS2 header of client-first-message");
		return BROKER_SCRAM_MALFORMED;
	}
	if (!attr(&q, end, &name, &v, &vn) || name != 'r' || !nonce_ok(v, vn)) {
		mqtt_say(why, whylen, "SCRAM client-final-message: expected \"r=NONCE\" after \"c=\"");
		return BROKER_SCRAM_MALFORMED;
	}
	bool nonce_same = vn == strlen(s->nonce) && !memcmp(v, s->nonce, vn);
	/* Extensions up to the proof, which is last. */
	const char *proof_at = NULL;
	while (q < end) {
		const char *at = q;
		if (!attr(&q, end, &name, &v, &vn)) {
			mqtt_say(why, whylen, "SCRAM client-final-message: an attribute that is not \"X=value\"");
			return BROKER_SCRAM_MALFORMED;
		}
		if (name == 'p') {
			proof_at = at;
			break;
		}
	}
	if (!proof_at || q != end) {
		mqtt_say(why, whylen, "SCRAM client-final-message must end with the proof \"p=\"");
		return BROKER_SCRAM_MALFORMED;
	}
	uint8_t proof[SHA256_LEN];
	if (broker__base64_decode(v, vn, proof, sizeof proof) != SHA256_LEN) {
		mqtt_say(why, whylen, "SCRAM client-final-message: the proof is not %d bytes of Base64", SHA256_LEN);
		return BROKER_SCRAM_MALFORMED;
	}
	if (!nonce_same) {
		mqtt_say(why, whylen, "SCRAM client-final-message names another nonce than server-first-message");
		return BROKER_SCRAM_NONCE;
	}
	/* AuthMessage: everything before ",p=" of client-final. */
	size_t without = (size_t)(proof_at - 1 - p);
	size_t an = strlen(s->first_bare) + 1 + strlen(s->server_first) + 1 + without;
	char *am = mqtt_xmalloc(an + 1);
	snprintf(am, an + 1, "%s,%s,%.*s", s->first_bare, s->server_first, (int)without, p);
	uint8_t sig[SHA256_LEN], key[SHA256_LEN], h[SHA256_LEN];
	broker_sha256_hmac(s->stored_key, SHA256_LEN, am, an, sig);
	for (int i = 0; i < SHA256_LEN; i++)
		key[i] = proof[i] ^ sig[i];
	broker_sha256(key, sizeof key, h);
	bool ok = broker_sha256_equal(h, s->stored_key, SHA256_LEN);
	int rc = BROKER_SCRAM_PROOF;
	if (ok && cap >= 64) {
		broker_sha256_hmac(s->server_key, SHA256_LEN, am, an, sig);
		memcpy(out, "v=", 2);
		broker__base64_encode(sig, sizeof sig, out + 2);
		rc = BROKER_SCRAM_OK;
	} else {
		mqtt_say(why, whylen, "SCRAM proof does not match: wrong password or unknown user");
	}
	broker_sha256_wipe(key, sizeof key);
	broker_sha256_wipe(h, sizeof h);
	broker_sha256_wipe(sig, sizeof sig);
	free(am);
	return rc;
}

void broker__scram_clear(broker_scram *s)
{
	free(s->user);
	free(s->gs2);
	free(s->first_bare);
	free(s->cnonce);
	free(s->server_first);
	free(s->nonce);
	broker_sha256_wipe(s, sizeof *s);
}
