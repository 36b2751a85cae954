/*
 * auth.c - the file-backed broker_auth; see auth.h for the file formats and the rules.
 *
 * Loading checks every line and stops at the first bad one with FILE:LINE and what is
 * wrong, so a broker never starts with half an ACL. Decisions walk the rules in file
 * order; the files are small and a linear scan keeps the rules easy to reason about.
 */
#include "broker/auth.h"

#include "broker/sha256.h"
#include "mqtt/mqtt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_USER 65535 /* an MQTT string */

enum { ACL_READ = 1, ACL_WRITE = 2 };

typedef struct pw_user {
	char *name;
	int line;
	uint32_t iterations;
	size_t salt_len;
	uint8_t salt[BROKER_AUTH_MAX_SALT];
	uint8_t hash[SHA256_LEN];
} pw_user;

enum { SEC_ALL = 0, SEC_USER, SEC_CLIENT };

typedef struct rule {
	uint8_t access;     /* ACL_READ | ACL_WRITE */
	uint8_t section;    /* SEC_* */
	bool pattern;       /* %u and %c to substitute */
	const char *name;   /* the section's user name or client id (in names[]); NULL for all */
	char *filter;
	size_t filter_len;
} rule;

struct broker_file_auth {
	broker_auth iface;
	bool has_passwd, has_acl;
	pw_user *users;        /* sorted by name */
	size_t nusers;
	rule *rules;        /* file order */
	size_t nrules, rules_cap;
	char **names;       /* section names, owned here */
	size_t nnames, names_cap;
};

/* ---- messages -------------------------------------------------------------------------- */

static void say(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A piece of a line, safe to quote in a message: at most 40 bytes, anything that is not
 * printable ASCII shown as '?', "..." when cut. */
static const char *show(char dst[48], const char *s, size_t n)
{
	size_t k = 0;
	for (; k < n && k < 40; k++)
		dst[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
	if (k < n) {
		memcpy(dst + k, "...", 3);
		k += 3;
	}
	dst[k] = 0;
	return dst;
}

/* ---- lines ----------------------------------------------------------------------------- */

typedef struct lines {
	const char *p, *end;
	int no;
} lines;

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The next line with surrounding blanks removed (a CRLF file reads like an LF one). */
static bool next_line(lines *L, const char **s, size_t *n)
{
	if (L->p >= L->end)
		return false;
	const char *nl = memchr(L->p, '\n', (size_t)(L->end - L->p));
	const char *b = L->p, *e = nl ? nl : L->end;
	L->p = nl ? nl + 1 : L->end;
	L->no++;
	while (b < e && blank(*b))
		b++;
	while (e > b && blank(e[-1]))
		e--;
	*s = b;
	*n = (size_t)(e - b);
	return true;
}

/* Text files only: a NUL would cut a name short when it is used as a C string. */
static int check_nul(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	const char *z = memchr(text, 0, len);
	if (!z)
		return 0;
	int line = 1;
	for (const char *q = text; q < z; q++)
		line += *q == '\n';
	say(err, errlen, "%s:%d: contains a NUL byte; is this a text file?", name, line);
	return -1;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

/* ---- password file --------------------------------------------------------------------- */

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

/* One "user:$mqs1$ITER$SALT$HASH" line into u (u->name is left NULL). */
static int parse_user(const char *file, int no, const char *s, size_t n, pw_user *u, char *err,
		      size_t errlen)
{
	char q[48], q2[48];
	const char *colon = memchr(s, ':', n);
	if (!colon) {
		say(err, errlen,
		    "%s:%d: expected USER:$mqs1$ITERATIONS$SALT$HASH, found no ':' in '%s' "
		    "(lines like this are written by 'mqttsim passwd')",
		    file, no, show(q, s, n));
		return -1;
	}
	size_t ulen = (size_t)(colon - s);
	if (ulen == 0) {
		say(err, errlen, "%s:%d: the user name before ':' is empty", file, no);
		return -1;
	}
	if (ulen > MAX_USER) {
		say(err, errlen, "%s:%d: the user name is %zu bytes long; MQTT allows at most %d", file,
		    no, ulen, MAX_USER);
		return -1;
	}
	show(q, s, ulen);
	const char *h = colon + 1, *end = s + n;
	size_t slen = strlen(BROKER_AUTH_SCHEME);
	if ((size_t)(end - h) < slen || memcmp(h, BROKER_AUTH_SCHEME, slen) != 0) {
		say(err, errlen,
		    "%s:%d: user '%s': the password is not a $mqs1$ hash ('%s'); "
		    "set it with 'mqttsim passwd'",
		    file, no, q, show(q2, h, (size_t)(end - h) > 12 ? 12 : (size_t)(end - h)));
		return -1;
	}
	/* Exactly three '$'-separated fields follow the scheme. */
	const char *f[3];
	size_t fl[3];
	const char *p = h + slen;
	int k = 0;
	for (;;) {
		const char *d = memchr(p, '$', (size_t)(end - p));
		const char *fe = d ? d : end;
		if (k < 3) {
			f[k] = p;
			fl[k] = (size_t)(fe - p);
		}
		k++;
		if (!d)
			break;
		p = d + 1;
	}
	if (k != 3) {
		say(err, errlen,
		    "%s:%d: user '%s': expected $mqs1$ITERATIONS$SALT$HASH, found %d field%s after $mqs1$",
		    file, no, q, k, k == 1 ? "" : "s");
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
		say(err, errlen, "%s:%d: user '%s': iteration count '%s' is not a number from 1 to %d",
		    file, no, q, show(q2, f[0], fl[0]), BROKER_AUTH_MAX_ITERATIONS);
		return -1;
	}
	u->iterations = (uint32_t)it;
	if (fl[1] < 2 || fl[1] > 2 * BROKER_AUTH_MAX_SALT || fl[1] % 2) {
		say(err, errlen,
		    "%s:%d: user '%s': the salt has %zu hex digits; it needs an even number from 2 to %d",
		    file, no, q, fl[1], 2 * BROKER_AUTH_MAX_SALT);
		return -1;
	}
	if (!unhex(f[1], fl[1], u->salt)) {
		say(err, errlen, "%s:%d: user '%s': the salt '%s' is not hex", file, no, q,
		    show(q2, f[1], fl[1]));
		return -1;
	}
	u->salt_len = fl[1] / 2;
	if (fl[2] != 2 * SHA256_LEN) {
		say(err, errlen, "%s:%d: user '%s': the hash has %zu hex digits; it needs %d", file, no,
		    q, fl[2], 2 * SHA256_LEN);
		return -1;
	}
	if (!unhex(f[2], fl[2], u->hash)) {
		say(err, errlen, "%s:%d: user '%s': the hash '%s' is not hex", file, no, q,
		    show(q2, f[2], fl[2]));
		return -1;
	}
	u->line = no;
	return 0;
}

static int by_name_then_line(const void *x, const void *y)
{
	const pw_user *a = x, *b = y;
	int c = strcmp(a->name, b->name);
	return c ? c : (a->line > b->line) - (a->line < b->line);
}

static int load_passwd(broker_file_auth *a, const char *file, const char *text, size_t len,
		       char *err, size_t errlen)
{
	if (check_nul(file, text, len, err, errlen))
		return -1;
	a->has_passwd = true;
	lines L = { text, text + len, 0 };
	const char *s;
	size_t n, cap = 0;
	while (next_line(&L, &s, &n)) {
		if (n == 0 || s[0] == '#')
			continue;
		pw_user u = { 0 };
		if (parse_user(file, L.no, s, n, &u, err, errlen))
			return -1;
		if (a->nusers == cap) {
			cap = cap ? 2 * cap : 16;
			pw_user *nu = realloc(a->users, cap * sizeof *nu);
			if (!nu)
				goto oom;
			a->users = nu;
		}
		u.name = dup_n(s, (size_t)((const char *)memchr(s, ':', n) - s));
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
		say(err, errlen, "%s:%d: user '%s' appears again (first on line %d)", file,
		    a->users[bad].line, show(q, a->users[bad].name, strlen(a->users[bad].name)),
		    a->users[bad - 1].line);
		return -1;
	}
	return 0;
oom:
	say(err, errlen, "%s: out of memory", file);
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

/* ---- ACL file -------------------------------------------------------------------------- */

static size_t token_len(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && !blank(s[k]))
		k++;
	return k;
}

static size_t skip_blanks(const char *s, size_t n, size_t i)
{
	while (i < n && blank(s[i]))
		i++;
	return i;
}

static bool word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

static int add_rule(broker_file_auth *a, const rule *r)
{
	if (a->nrules == a->rules_cap) {
		size_t cap = a->rules_cap ? 2 * a->rules_cap : 16;
		rule *nr = realloc(a->rules, cap * sizeof *nr);
		if (!nr)
			return -1;
		a->rules = nr;
		a->rules_cap = cap;
	}
	a->rules[a->nrules++] = *r;
	return 0;
}

static int add_name(broker_file_auth *a, const char *s, size_t n, const char **out)
{
	if (a->nnames == a->names_cap) {
		size_t cap = a->names_cap ? 2 * a->names_cap : 8;
		char **nn = realloc(a->names, cap * sizeof *nn);
		if (!nn)
			return -1;
		a->names = nn;
		a->names_cap = cap;
	}
	char *d = dup_n(s, n);
	if (!d)
		return -1;
	a->names[a->nnames++] = d;
	*out = d;
	return 0;
}

static int load_acl(broker_file_auth *a, const char *file, const char *text, size_t len,
		    char *err, size_t errlen)
{
	if (check_nul(file, text, len, err, errlen))
		return -1;
	a->has_acl = true;
	lines L = { text, text + len, 0 };
	const char *s;
	size_t n;
	uint8_t section = SEC_ALL;
	const char *section_name = NULL;
	char q[48];
	while (next_line(&L, &s, &n)) {
		if (n == 0 || s[0] == '#')
			continue;
		size_t kw = token_len(s, n);
		size_t i = skip_blanks(s, n, kw);
		const char *rest = s + i;
		size_t rest_len = n - i;
		if (word_is(s, kw, "user") || word_is(s, kw, "client")) {
			bool is_user = s[0] == 'u';
			if (rest_len == 0) {
				say(err, errlen, "%s:%d: '%s' needs a %s", file, L.no,
				    is_user ? "user" : "client", is_user ? "user name" : "client id");
				return -1;
			}
			if (add_name(a, rest, rest_len, &section_name))
				goto oom;
			section = is_user ? SEC_USER : SEC_CLIENT;
			continue;
		}
		bool pattern = word_is(s, kw, "pattern");
		if (!pattern && !word_is(s, kw, "topic")) {
			say(err, errlen,
			    "%s:%d: unknown directive '%s'; expected topic, pattern, user or client", file,
			    L.no, show(q, s, kw));
			return -1;
		}
		const char *what = pattern ? "pattern" : "topic";
		uint8_t access = ACL_READ | ACL_WRITE;
		size_t aw = token_len(rest, rest_len);
		bool has_access = true;
		if (word_is(rest, aw, "read"))
			access = ACL_READ;
		else if (word_is(rest, aw, "write"))
			access = ACL_WRITE;
		else if (!word_is(rest, aw, "readwrite"))
			has_access = false;
		const char *filter = rest;
		size_t flen = rest_len;
		if (has_access) {
			size_t j = skip_blanks(rest, rest_len, aw);
			filter = rest + j;
			flen = rest_len - j;
		} else if (aw < rest_len) {
			/* "topic readonly a/b": a misspelt access word must not become part of
			 * a filter that then never matches. */
			say(err, errlen,
			    "%s:%d: unknown access '%s'; expected read, write or readwrite before the filter",
			    file, L.no, show(q, rest, aw));
			return -1;
		}
		if (flen == 0) {
			say(err, errlen, "%s:%d: '%s' needs a topic filter", file, L.no, what);
			return -1;
		}
		mqtt_err e;
		if (mqtt_topic_filter_check((const uint8_t *)filter, flen, MQTT_V311, &e)) {
			say(err, errlen, "%s:%d: bad topic filter '%s': %s", file, L.no,
			    show(q, filter, flen), e.msg);
			return -1;
		}
		rule r = { .access = access, .section = section, .pattern = pattern,
			   .name = section_name, .filter = dup_n(filter, flen), .filter_len = flen };
		if (!r.filter)
			goto oom;
		if (add_rule(a, &r)) {
			free(r.filter);
			goto oom;
		}
	}
	return 0;
oom:
	say(err, errlen, "%s: out of memory", file);
	return -1;
}

/* ---- decisions ------------------------------------------------------------------------- */

/* Is every topic that filter f matches also matched by filter g? Both are walked level by
 * level; at each level f's set of values must lie inside g's. */
static bool covers(const char *f, size_t flen, const char *g, size_t glen)
{
	if (!flen || !glen)
		return false;
	/* A wildcard first level of g never matches a '$' topic, but a literal first level
	 * of f starting with '$' only matches such topics. */
	if (f[0] == '$' && (g[0] == '+' || g[0] == '#'))
		return false;
	size_t i = 0, j = 0;
	bool fend = false, gend = false;
	for (int level = 0;; level++) {
		if (fend) {
			if (gend)
				return true;
			/* f's topics stop here (never at level 0: f has a level); g still wants
			 * levels unless all it has left is "#", which also matches its parent
			 * ("a/#" matches "a"). */
			return glen - j == 1 && g[j] == '#';
		}
		if (gend)
			return false; /* f's topics have more levels than g allows */
		size_t fe = i, ge = j;
		while (fe < flen && f[fe] != '/')
			fe++;
		while (ge < glen && g[ge] != '/')
			ge++;
		bool fhash = fe - i == 1 && f[i] == '#', fplus = fe - i == 1 && f[i] == '+';
		bool ghash = ge - j == 1 && g[j] == '#', gplus = ge - j == 1 && g[j] == '+';
		if (ghash)
			return true; /* this level and all below, whatever f has */
		if (fhash) {
			/* f matches any number of further levels, and at level > 0 its parent
			 * too. Only "#" (above) takes all of that; at the first level, where
			 * there is no parent, "+/#" does as well: one level or more. */
			return level == 0 && glen - j == 3 && !memcmp(g + j, "+/#", 3);
		}
		if (fplus) {
			if (!gplus)
				return false; /* f takes any value here, g only one */
		} else if (!gplus && (fe - i != ge - j || memcmp(f + i, g + j, fe - i))) {
			return false;
		}
		if (fe == flen)
			fend = true;
		else
			i = fe + 1;
		if (ge == glen)
			gend = true;
		else
			j = ge + 1;
	}
}

/* A value may stand in for %u or %c only if it stays one literal level. */
static bool substitutable(const char *v)
{
	return v && !strpbrk(v, "/+#");
}

/*
 * The filter a rule grants this client: the rule's own, or a pattern's with %u and %c
 * replaced, in buf (cap bytes) or, if longer, in *heap (caller frees). NULL when the
 * pattern grants nothing to this client.
 */
static const char *expand(const rule *r, const char *client_id, const char *username, char *buf,
			  size_t cap, char **heap, size_t *len)
{
	if (!r->pattern) {
		*len = r->filter_len;
		return r->filter;
	}
	size_t ulen = username ? strlen(username) : 0, clen = client_id ? strlen(client_id) : 0;
	size_t need = 0;
	for (size_t i = 0; i < r->filter_len; i++) {
		if (r->filter[i] == '%' && i + 1 < r->filter_len &&
		    (r->filter[i + 1] == 'u' || r->filter[i + 1] == 'c')) {
			bool u = r->filter[i + 1] == 'u';
			if (!substitutable(u ? username : client_id))
				return NULL;
			need += u ? ulen : clen;
			i++;
		} else {
			need++;
		}
	}
	char *out = buf;
	if (need + 1 > cap) {
		out = *heap = malloc(need + 1);
		if (!out)
			return NULL; /* grant nothing rather than fail open */
	}
	size_t k = 0;
	for (size_t i = 0; i < r->filter_len; i++) {
		if (r->filter[i] == '%' && i + 1 < r->filter_len &&
		    (r->filter[i + 1] == 'u' || r->filter[i + 1] == 'c')) {
			bool u = r->filter[i + 1] == 'u';
			memcpy(out + k, u ? username : client_id, u ? ulen : clen);
			k += u ? ulen : clen;
			i++;
		} else {
			out[k++] = r->filter[i];
		}
	}
	out[k] = 0;
	*len = k;
	return out;
}

static bool applies(const rule *r, const char *client_id, const char *username)
{
	switch (r->section) {
	case SEC_USER:
		return username && !strcmp(username, r->name);
	case SEC_CLIENT:
		return client_id && !strcmp(client_id, r->name);
	default:
		return true;
	}
}

static bool cb_allow(void *ctx, const char *client_id, const char *username, const char *topic,
		     bool publish)
{
	const broker_file_auth *a = ctx;
	if (!a->has_acl)
		return true;
	if (!topic)
		return false;
	size_t tlen = strlen(topic);
	uint8_t need = publish ? ACL_WRITE : ACL_READ;
	for (size_t i = 0; i < a->nrules; i++) {
		const rule *r = &a->rules[i];
		if (!(r->access & need) || !applies(r, client_id, username))
			continue;
		char buf[256], *heap = NULL;
		size_t glen;
		const char *g = expand(r, client_id, username, buf, sizeof buf, &heap, &glen);
		bool ok = g && (publish ? mqtt_topic_match((const uint8_t *)g, glen,
							   (const uint8_t *)topic, tlen)
					: covers(topic, tlen, g, glen));
		free(heap);
		if (ok)
			return true;
	}
	return false;
}

static int cb_connect(void *ctx, const char *client_id, const char *username,
		      const uint8_t *password, size_t password_len)
{
	(void)client_id;
	const broker_file_auth *a = ctx;
	if (!a->has_passwd || !username)
		return 0;
	const pw_user *u = find_user(a, username);
	uint8_t dk[SHA256_LEN];
	if (!u || !password) {
		/* Derive a key anyway, so the answer for an unknown user takes as long as the
		 * answer for a wrong password and does not reveal which user names exist. */
		static const uint8_t dummy_salt[BROKER_AUTH_SALT_LEN] = { 0 };
		sha256_pbkdf2(password ? password : dummy_salt, password ? password_len : 0,
			      dummy_salt, sizeof dummy_salt, BROKER_AUTH_ITERATIONS, dk, sizeof dk);
		sha256_wipe(dk, sizeof dk);
		return 4;
	}
	sha256_pbkdf2(password, password_len, u->salt, u->salt_len, u->iterations, dk, sizeof dk);
	bool ok = sha256_equal(dk, u->hash, sizeof dk);
	sha256_wipe(dk, sizeof dk);
	return ok ? 0 : 4;
}

/* ---- loading --------------------------------------------------------------------------- */

broker_file_auth *broker_auth_parse(const char *passwd_name, const char *passwd_text,
				    size_t passwd_len, const char *acl_name, const char *acl_text,
				    size_t acl_len, char *err, size_t errlen)
{
	broker_file_auth *a = calloc(1, sizeof *a);
	if (!a) {
		say(err, errlen, "out of memory");
		return NULL;
	}
	a->iface.ctx = a;
	a->iface.connect = cb_connect;
	a->iface.allow = cb_allow;
	if (passwd_text &&
	    load_passwd(a, passwd_name ? passwd_name : "passwords", passwd_text, passwd_len, err, errlen))
		goto fail;
	if (acl_text && load_acl(a, acl_name ? acl_name : "acl", acl_text, acl_len, err, errlen))
		goto fail;
	return a;
fail:
	broker_auth_free(a);
	return NULL;
}

/* The whole file, NUL-terminated, or NULL with a message. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		say(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			say(err, errlen, "%s: out of memory", path);
			goto fail;
		}
		n += fread(buf + n, 1, cap - n, f);
		if (ferror(f)) {
			say(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (n < cap)
			break; /* end of file */
		if (cap >= BROKER_AUTH_MAX_FILE) {
			say(err, errlen, "%s: %u bytes or more, too large for this file; is it the right one?",
			    path, BROKER_AUTH_MAX_FILE);
			goto fail;
		}
		cap *= 2;
		char *nb = realloc(buf, cap);
		if (!nb)
			free(buf);
		buf = nb;
	}
	fclose(f);
	*len = n;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

broker_file_auth *broker_auth_load(const char *passwd_path, const char *acl_path, char *err,
				   size_t errlen)
{
	char *pw = NULL, *acl = NULL;
	size_t pw_len = 0, acl_len = 0;
	broker_file_auth *a = NULL;
	if (passwd_path && !(pw = read_file(passwd_path, &pw_len, err, errlen)))
		goto done;
	if (acl_path && !(acl = read_file(acl_path, &acl_len, err, errlen)))
		goto done;
	a = broker_auth_parse(passwd_path, pw, pw_len, acl_path, acl, acl_len, err, errlen);
done:
	free(pw);
	free(acl);
	return a;
}

void broker_auth_free(broker_file_auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nusers; i++)
		free(a->users[i].name);
	if (a->users)
		sha256_wipe(a->users, a->nusers * sizeof *a->users);
	free(a->users);
	for (size_t i = 0; i < a->nrules; i++)
		free(a->rules[i].filter);
	free(a->rules);
	for (size_t i = 0; i < a->nnames; i++)
		free(a->names[i]);
	free(a->names);
	free(a);
}

const broker_auth *broker_auth_get(const broker_file_auth *a)
{
	return &a->iface;
}

/* ---- writing --------------------------------------------------------------------------- */

int broker_auth_user_check(const char *user, char *why, size_t whylen)
{
	size_t n = user ? strlen(user) : 0;
	if (n == 0) {
		say(why, whylen, "the user name is empty");
		return -1;
	}
	if (n > MAX_USER) {
		say(why, whylen, "the user name is %zu bytes long; MQTT allows at most %d", n, MAX_USER);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)user[i];
		if (c == ':') {
			say(why, whylen, "the user name contains ':', which separates it from the hash");
			return -1;
		}
		if (c < 0x20 || c == 0x7f) {
			say(why, whylen, "the user name contains a control character (byte %zu)", i + 1);
			return -1;
		}
	}
	if (user[0] == '#') {
		say(why, whylen, "the user name starts with '#', which would make its line a comment");
		return -1;
	}
	if (blank(user[0]) || blank(user[n - 1])) {
		say(why, whylen, "the user name starts or ends with a blank, which the file ignores");
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
		say(err, errlen, "the salt is %zu bytes; it must be 1 to %d", salt_len,
		    BROKER_AUTH_MAX_SALT);
		return -1;
	}
	if (iterations < 1 || iterations > BROKER_AUTH_MAX_ITERATIONS) {
		say(err, errlen, "%u iterations; it must be 1 to %d", iterations,
		    BROKER_AUTH_MAX_ITERATIONS);
		return -1;
	}
	size_t ulen = strlen(user);
	if (cap < BROKER_AUTH_LINE_CAP(ulen)) {
		say(err, errlen, "a buffer of %zu bytes is too small; %zu needed", cap,
		    (size_t)BROKER_AUTH_LINE_CAP(ulen));
		return -1;
	}
	uint8_t dk[SHA256_LEN];
	if (sha256_pbkdf2(password, password_len, salt, salt_len, iterations, dk, sizeof dk)) {
		say(err, errlen, "key derivation failed");
		return -1;
	}
	int k = snprintf(out, cap, "%s:%s%u$", user, BROKER_AUTH_SCHEME, iterations);
	size_t pos = (size_t)k;
	tohex(out + pos, salt, salt_len);
	pos += 2 * salt_len;
	out[pos++] = '$';
	tohex(out + pos, dk, sizeof dk);
	pos += 2 * sizeof dk;
	out[pos] = 0;
	sha256_wipe(dk, sizeof dk);
	return (int)pos;
}
