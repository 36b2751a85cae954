/*
 * auth_passwd.c - the password file: parsing its lines, checking a CONNECT's password
 * against them, and writing a line (`mqttsim passwd`). See auth.h for the format.
 */
#include "broker/auth_internal.h"

#include "broker/scram.h"
#include "broker/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_USER 65535 /* an MQTT string */

typedef struct broker__pw_user {
	char *name;
	int line;
	uint32_t iterations;
	size_t salt_len;
	uint8_t salt[BROKER_AUTH_MAX_SALT];
	uint8_t stored_key[SHA256_LEN], server_key[SHA256_LEN];
} pw_user;

/* ---- parsing --------------------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex digits to bytes; false if a digit is not hex or their number is odd. */
static bool unhex(const char *s, size_t n, uint8_t *out)
{
	if (n % 2)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static void tohex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
}

/* One "user:$mqs2$ITER$SALT$STOREDKEY$SERVERKEY" line into u (u->name is left NULL). A line
 * of the first format, "user:$mqs1$ITER$SALT$SALTEDPASSWORD", is read only if v1 is not
 * NULL: its keys are computed from the SaltedPassword and *v1 set; with v1 NULL it is
 * refused, saying why and what to do. */
static int parse_user(const char *file, int no, const char *s, size_t n, pw_user *u, bool *v1,
		      char *err, size_t errlen)
{
	char q[48], q2[48];
	const char *colon = memchr(s, ':', n);
	if (!colon) {
		mqtt_say(err, errlen,
				 "%s:%d: expected USER:$mqs2$ITERATIONS$SALT$STOREDKEY$SERVERKEY, found no ':' in '%s' "
				 "(lines like this are written by 'mqttsim passwd')",
				 file, no, broker__auth_show(q, s, n));
		return -1;
	}
	size_t ulen = (size_t)(colon - s);
	if (ulen == 0) {
		mqtt_say(err, errlen, "%s:%d: the user name before ':' is empty", file, no);
		return -1;
	}
	if (ulen > MAX_USER) {
		mqtt_say(err, errlen,
				 "%s:%d: the user name is %zu bytes long; MQTT allows at most %d",
				 file, no, ulen, MAX_USER);
		return -1;
	}
	broker__auth_show(q, s, ulen);
	const char *h = colon + 1, *end = s + n;
	size_t slen = strlen(BROKER_AUTH_SCHEME);
	bool old = (size_t)(end - h) >= slen && !memcmp(h, BROKER_AUTH_SCHEME_V1, slen);
	if (old && !v1) {
		/* Not read even though it could be: the line itself is the danger, and the
		 * broker running with it would leave it in place unnoticed. */
		mqtt_say(err, errlen,
				 "%s:%d: user '%s': this line is in the old $mqs1$ format, which keeps the "
				 "SaltedPassword, enough to log in as the user by SCRAM; run 'mqttsim passwd "
				 "%s USER' (for any user: it rewrites every $mqs1$ line as $mqs2$, passwords "
				 "unchanged)",
				 file, no, q, file);
		return -1;
	}
	if (!old && ((size_t)(end - h) < slen || memcmp(h, BROKER_AUTH_SCHEME, slen) != 0)) {
		mqtt_say(err, errlen,
				 "%s:%d: user '%s': the password is not a $mqs2$ entry ('%s'); "
				 "set it with 'mqttsim passwd'",
				 file, no, q,
				 broker__auth_show(q2, h, (size_t)(end - h) > 12 ? 12 : (size_t)(end - h)));
		return -1;
	}
	const char *scheme = old ? BROKER_AUTH_SCHEME_V1 : BROKER_AUTH_SCHEME;
	const char *form = old ? "$mqs1$ITERATIONS$SALT$SALTEDPASSWORD"
			       : "$mqs2$ITERATIONS$SALT$STOREDKEY$SERVERKEY";
	/* Exactly three ($mqs1$) or four ($mqs2$) '$'-separated fields follow the scheme. */
	int want = old ? 3 : 4;
	const char *f[4];
	size_t fl[4];
	const char *p = h + slen;
	int k = 0;
	for (;;) {
		const char *d = memchr(p, '$', (size_t)(end - p));
		const char *fe = d ? d : end;
		if (k < want) {
			f[k] = p;
			fl[k] = (size_t)(fe - p);
		}
		k++;
		if (!d)
			break;
		p = d + 1;
	}
	if (k != want) {
		mqtt_say(err, errlen, "%s:%d: user '%s': expected %s, found %d field%s after %s",
				 file, no, q, form, k, k == 1 ? "" : "s", scheme);
		return -1;
	}
	uint64_t it = 0;
	bool digits = fl[0] > 0 && fl[0] <= 7;
	for (size_t i = 0; digits && i < fl[0]; i++) {
		if (f[0][i] < '0' || f[0][i] > '9')
			digits = false;
		else
			it = it * 10 + (uint64_t)(f[0][i] - '0');
	}
	if (!digits || it < 1 || it > BROKER_AUTH_MAX_ITERATIONS) {
		mqtt_say(err, errlen,
				 "%s:%d: user '%s': iteration count '%s' is not a number from 1 to %d",
				 file, no, q, broker__auth_show(q2, f[0], fl[0]),
				 BROKER_AUTH_MAX_ITERATIONS);
		return -1;
	}
	u->iterations = (uint32_t)it;
	if (fl[1] < 2 || fl[1] > 2 * BROKER_AUTH_MAX_SALT || fl[1] % 2) {
		mqtt_say(err, errlen,
				 "%s:%d: user '%s': the salt has %zu hex digits; it needs an even number from 2 to %d",
				 file, no, q, fl[1], 2 * BROKER_AUTH_MAX_SALT);
		return -1;
	}
	if (!unhex(f[1], fl[1], u->salt)) {
		mqtt_say(err, errlen, "%s:%d: user '%s': the salt '%s' is not hex", file,
				 no, q, broker__auth_show(q2, f[1], fl[1]));
		return -1;
	}
	u->salt_len = fl[1] / 2;
	static const char *const what[2][2] = { { "StoredKey", "ServerKey" }, { "SaltedPassword", "" } };
	uint8_t key[2][SHA256_LEN];
	for (int i = 0; i < want - 2; i++) {
		const char *fi = f[2 + i];
		size_t li = fl[2 + i];
		if (li != 2 * SHA256_LEN) {
			mqtt_say(err, errlen, "%s:%d: user '%s': the %s has %zu hex digits; it needs %d",
					 file, no, q, what[old][i], li, 2 * SHA256_LEN);
			return -1;
		}
		if (!unhex(fi, li, key[i])) {
			mqtt_say(err, errlen, "%s:%d: user '%s': the %s '%s' is not hex", file, no, q,
					 what[old][i], broker__auth_show(q2, fi, li));
			return -1;
		}
	}
	if (old) {
		broker__scram_keys(key[0], u->stored_key, u->server_key);
		*v1 = true;
	} else {
		memcpy(u->stored_key, key[0], SHA256_LEN);
		memcpy(u->server_key, key[1], SHA256_LEN);
	}
	broker_sha256_wipe(key, sizeof key);
	u->line = no;
	return 0;
}

static int by_name_then_line(const void *x, const void *y)
{
	const pw_user *a = x, *b = y;
	int c = strcmp(a->name, b->name);
	return c ? c : (a->line > b->line) - (a->line < b->line);
}

int broker__auth_load_passwd(broker_file_auth *a, const char *file, const char *text, size_t len,
		       char *err, size_t errlen)
{
	if (broker__auth_check_nul(file, text, len, err, errlen))
		return -1;
	a->has_passwd = true;
	broker__auth_lines L = { text, text + len, 0 };
	const char *s;
	size_t n, cap = 0;
	while (broker__auth_next_line(&L, &s, &n)) {
		if (n == 0 || s[0] == '#')
			continue;
		pw_user u = { 0 };
		if (parse_user(file, L.no, s, n, &u, NULL, err, errlen))
			return -1;
		if (a->nusers == cap) {
			cap = cap ? 2 * cap : 16;
			pw_user *nu = realloc(a->users, cap * sizeof *nu);
			if (!nu)
				goto oom;
			a->users = nu;
		}
		u.name = broker__auth_dup(s, (size_t)((const char *)memchr(s, ':', n) - s));
		if (!u.name)
			goto oom;
		a->users[a->nusers++] = u;
	}
	if (a->nusers)
		qsort(a->users, a->nusers, sizeof *a->users, by_name_then_line);
	/* A second line for a user would be ignored or win depending on the order; report
	 * the earliest repeat instead. */
	size_t bad = 0;
	for (size_t i = 1; i < a->nusers; i++)
		if (!strcmp(a->users[i].name, a->users[i - 1].name) &&
		    (!bad || a->users[i].line < a->users[bad].line))
			bad = i;
	if (bad) {
		char q[48];
		mqtt_say(err, errlen, "%s:%d: user '%s' appears again (first on line %d)",
				 file, a->users[bad].line,
				 broker__auth_show(q, a->users[bad].name, strlen(a->users[bad].name)),
				 a->users[bad - 1].line);
		return -1;
	}
	return 0;
oom:
	mqtt_say(err, errlen, "%s: out of memory", file);
	return -1;
}

static const pw_user *find_user(const broker_file_auth *a, const char *name)
{
	size_t lo = 0, hi = a->nusers;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, a->users[mid].name);
		if (c == 0)
			return &a->users[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void broker__auth_free_passwd(broker_file_auth *a)
{
	for (size_t i = 0; i < a->nusers; i++)
		free(a->users[i].name);
	if (a->users)
		broker_sha256_wipe(a->users, a->nusers * sizeof *a->users);
	free(a->users);
}

/* ---- decisions ------------------------------------------------------------------------- */

/* StoredKey (and ServerKey, if server is not NULL) of a password; -1 for a count PBKDF2
 * refuses (format checks it first). */
static int derive(const uint8_t *password, size_t password_len, const uint8_t *salt,
		  size_t salt_len, uint32_t iterations, uint8_t stored[SHA256_LEN],
		  uint8_t server[SHA256_LEN])
{
	uint8_t sp[SHA256_LEN], sk[SHA256_LEN];
	if (broker_sha256_pbkdf2(password, password_len, salt, salt_len, iterations, sp, sizeof sp))
		return -1;
	broker__scram_keys(sp, stored, server ? server : sk);
	broker_sha256_wipe(sp, sizeof sp);
	broker_sha256_wipe(sk, sizeof sk);
	return 0;
}

int broker__auth_connect(void *ctx, const char *client_id, const char *username,
			 const uint8_t *password, size_t password_len)
{
	(void)client_id;
	const broker_file_auth *a = ctx;
	if (!a->has_passwd || !username)
		return 0;
	const pw_user *u = find_user(a, username);
	if (!u || !password) {
		/* Derive keys anyway, so the answer for an unknown user takes as long as the
		 * answer for a wrong password and does not reveal which user names exist. */
		static const uint8_t dummy_salt[BROKER_AUTH_SALT_LEN] = { 0 };
		uint8_t k[SHA256_LEN];
		derive(password ? password : dummy_salt, password ? password_len : 0, dummy_salt,
		       sizeof dummy_salt, BROKER_AUTH_ITERATIONS, k, NULL);
		broker_sha256_wipe(k, sizeof k);
		return 4;
	}
	/* The password is right when it leads to the StoredKey on file (RFC 5802 §3). */
	uint8_t stored[SHA256_LEN];
	derive(password, password_len, u->salt, u->salt_len, u->iterations, stored, NULL);
	bool ok = broker_sha256_equal(stored, u->stored_key, sizeof stored);
	broker_sha256_wipe(stored, sizeof stored);
	return ok ? 0 : 4;
}

/* ---- writing --------------------------------------------------------------------------- */

/* "USER:$mqs2$ITER$SALT$STOREDKEY$SERVERKEY" and a NUL into out; returns the length. cap must
 * be at least BROKER_AUTH_LINE_CAP(user_len). */
static int put_line(char *out, size_t cap, const char *user, size_t user_len, uint32_t iterations,
		    const uint8_t *salt, size_t salt_len, const uint8_t stored[SHA256_LEN],
		    const uint8_t server[SHA256_LEN])
{
	int k = snprintf(out, cap, "%.*s:%s%u$", (int)user_len, user, BROKER_AUTH_SCHEME, iterations);
	size_t pos = (size_t)k;
	tohex(out + pos, salt, salt_len);
	pos += 2 * salt_len;
	out[pos++] = '$';
	tohex(out + pos, stored, SHA256_LEN);
	pos += 2 * SHA256_LEN;
	out[pos++] = '$';
	tohex(out + pos, server, SHA256_LEN);
	pos += 2 * SHA256_LEN;
	out[pos] = 0;
	return (int)pos;
}

int broker_auth_user_check(const char *user, char *why, size_t whylen)
{
	size_t n = user ? strlen(user) : 0;
	if (n == 0) {
		mqtt_say(why, whylen, "the user name is empty");
		return -1;
	}
	if (n > MAX_USER) {
		mqtt_say(why, whylen,
				 "the user name is %zu bytes long; MQTT allows at most %d", n,
				 MAX_USER);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)user[i];
		if (c == ':') {
			mqtt_say(why, whylen,
					 "the user name contains ':', which separates it from the hash");
			return -1;
		}
		if (c < 0x20 || c == 0x7f) {
			mqtt_say(why, whylen,
					 "the user name contains a control character (byte %zu)",
					 i + 1);
			return -1;
		}
	}
	if (user[0] == '#') {
		mqtt_say(why, whylen,
				 "the user name starts with '#', which would make its line a comment");
		return -1;
	}
	if (broker__auth_blank(user[0]) || broker__auth_blank(user[n - 1])) {
		mqtt_say(why, whylen,
				 "the user name starts or ends with a blank, which the file ignores");
		return -1;
	}
	return 0;
}

int broker_auth_format(char *out, size_t cap, const char *user, const uint8_t *password,
		       size_t password_len, const uint8_t *salt, size_t salt_len,
		       uint32_t iterations, char *err, size_t errlen)
{
	if (broker_auth_user_check(user, err, errlen))
		return -1;
	if (salt_len < 1 || salt_len > BROKER_AUTH_MAX_SALT) {
		mqtt_say(err, errlen, "the salt is %zu bytes; it must be 1 to %d", salt_len,
				 BROKER_AUTH_MAX_SALT);
		return -1;
	}
	if (iterations < 1 || iterations > BROKER_AUTH_MAX_ITERATIONS) {
		mqtt_say(err, errlen, "%u iterations; it must be 1 to %d", iterations,
				 BROKER_AUTH_MAX_ITERATIONS);
		return -1;
	}
	size_t ulen = strlen(user);
	if (cap < BROKER_AUTH_LINE_CAP(ulen)) {
		mqtt_say(err, errlen, "a buffer of %zu bytes is too small; %zu needed", cap,
				 (size_t)BROKER_AUTH_LINE_CAP(ulen));
		return -1;
	}
	uint8_t stored[SHA256_LEN], server[SHA256_LEN];
	if (derive(password, password_len, salt, salt_len, iterations, stored, server)) {
		mqtt_say(err, errlen, "key derivation failed");
		return -1;
	}
	int pos = put_line(out, cap, user, strlen(user), iterations, salt, salt_len, stored, server);
	broker_sha256_wipe(stored, sizeof stored);
	broker_sha256_wipe(server, sizeof server);
	return pos;
}

int broker_auth_upgrade(const char *name, const char *text, size_t len, char **out,
			size_t *out_len, int *upgraded, char *err, size_t errlen)
{
	*out = NULL;
	*out_len = 0;
	*upgraded = 0;
	if (broker__auth_check_nul(name, text, len, err, errlen))
		return -1;
	/* A $mqs2$ line is never shorter than the $mqs1$ line it replaces by more than its
	 * second key and '$'; the same user name, salt and count. */
	size_t cap = len + 1, lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	cap += lines * (2 * SHA256_LEN + 1);
	char *o = malloc(cap);
	if (!o) {
		mqtt_say(err, errlen, "%s: out of memory", name);
		return -1;
	}
	size_t n = 0;
	const char *done = text; /* copied up to here */
	broker__auth_lines L = { text, text + len, 0 };
	const char *s;
	size_t sn;
	while (broker__auth_next_line(&L, &s, &sn)) {
		if (sn == 0 || s[0] == '#')
			continue;
		pw_user u = { 0 };
		bool v1 = false;
		if (parse_user(name, L.no, s, sn, &u, &v1, err, errlen)) {
			free(o);
			return -1;
		}
		if (!v1)
			continue;
		memcpy(o + n, done, (size_t)(s - done));
		n += (size_t)(s - done);
		size_t ulen = (size_t)((const char *)memchr(s, ':', sn) - s);
		n += (size_t)put_line(o + n, cap - n, s, ulen, u.iterations, u.salt, u.salt_len,
				      u.stored_key, u.server_key);
		broker_sha256_wipe(&u, sizeof u);
		done = s + sn;
		(*upgraded)++;
	}
	memcpy(o + n, done, (size_t)(text + len - done));
	n += (size_t)(text + len - done);
	o[n] = 0;
	*out = o;
	*out_len = n;
	return 0;
}

/* ---- SCRAM-SHA-256 ---------------------------------------------------------------------- */

/* The file's keys are SCRAM's StoredKey and ServerKey (RFC 5802 §3), so the same file serves
 * both ways of logging in. */
int broker__auth_scram_lookup(void *ctx, const char *username, uint8_t *salt, size_t *salt_len,
			      uint32_t *iterations, uint8_t stored_key[32], uint8_t server_key[32])
{
	const broker_file_auth *a = ctx;
	const pw_user *u = a->has_passwd && username ? find_user(a, username) : NULL;
	if (!u || u->salt_len > *salt_len)
		return -1;
	memcpy(salt, u->salt, u->salt_len);
	*salt_len = u->salt_len;
	*iterations = u->iterations;
	memcpy(stored_key, u->stored_key, SHA256_LEN);
	memcpy(server_key, u->server_key, SHA256_LEN);
	return 0;
}
