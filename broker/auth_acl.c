/*
 * auth_acl.c - the ACL file: parsing its directives and deciding, rule by rule in file
 * order, whether a client may publish to or subscribe to a topic. See auth.h for the
 * format and the rules; the files are small and a linear scan keeps them easy to reason
 * about.
 */
#include "broker/auth_internal.h"

#include "mqtt/mqtt.h"

#include <stdlib.h>
#include <string.h>

enum { ACL_READ = 1, ACL_WRITE = 2 };

enum { SEC_ALL = 0, SEC_USER, SEC_CLIENT };

typedef struct broker__acl_rule {
	uint8_t access;     /* ACL_READ | ACL_WRITE */
	uint8_t section;    /* SEC_* */
	bool pattern;       /* %u and %c to substitute */
	const char *name;   /* the section's user name or client id (in names[]); NULL for all */
	char *filter;
	size_t filter_len;
} rule;

/* ---- parsing --------------------------------------------------------------------------- */

static size_t token_len(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && !broker__auth_blank(s[k]))
		k++;
	return k;
}

static size_t skip_blanks(const char *s, size_t n, size_t i)
{
	while (i < n && broker__auth_blank(s[i]))
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
	char *d = broker__auth_dup(s, n);
	if (!d)
		return -1;
	a->names[a->nnames++] = d;
	*out = d;
	return 0;
}

int broker__auth_load_acl(broker_file_auth *a, const char *file, const char *text, size_t len,
		    char *err, size_t errlen)
{
	if (broker__auth_check_nul(file, text, len, err, errlen))
		return -1;
	a->has_acl = true;
	broker__auth_lines L = { text, text + len, 0 };
	const char *s;
	size_t n;
	uint8_t section = SEC_ALL;
	const char *section_name = NULL;
	char q[48];
	while (broker__auth_next_line(&L, &s, &n)) {
		if (n == 0 || s[0] == '#')
			continue;
		size_t kw = token_len(s, n);
		size_t i = skip_blanks(s, n, kw);
		const char *rest = s + i;
		size_t rest_len = n - i;
		if (word_is(s, kw, "user") || word_is(s, kw, "client")) {
			bool is_user = s[0] == 'u';
			if (rest_len == 0) {
				mqtt_say(err, errlen, "%s:%d: '%s' needs a %s", file, L.no,
						 is_user ? "user" : "client",
						 is_user ? "user name" : "client id");
				return -1;
			}
			if (add_name(a, rest, rest_len, &section_name))
				goto oom;
			section = is_user ? SEC_USER : SEC_CLIENT;
			continue;
		}
		bool pattern = word_is(s, kw, "pattern");
		if (!pattern && !word_is(s, kw, "topic")) {
			mqtt_say(err, errlen,
					 "%s:%d: unknown directive '%s'; expected topic, pattern, user or client",
					 file, L.no, broker__auth_show(q, s, kw));
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
			mqtt_say(err, errlen,
					 "%s:%d: unknown access '%s'; expected read, write or readwrite before the filter",
					 file, L.no, broker__auth_show(q, rest, aw));
			return -1;
		}
		if (flen == 0) {
			mqtt_say(err, errlen, "%s:%d: '%s' needs a topic filter", file,
					 L.no, what);
			return -1;
		}
		mqtt_err e;
		if (mqtt_topic_filter_check((const uint8_t *)filter, flen, MQTT_V311, &e)) {
			mqtt_say(err, errlen, "%s:%d: bad topic filter '%s': %s", file,
					 L.no, broker__auth_show(q, filter, flen), e.msg);
			return -1;
		}
		rule r = { .access = access, .section = section, .pattern = pattern,
			   .name = section_name, .filter = broker__auth_dup(filter, flen),
			   .filter_len = flen };
		if (!r.filter)
			goto oom;
		if (add_rule(a, &r)) {
			free(r.filter);
			goto oom;
		}
	}
	return 0;
oom:
	mqtt_say(err, errlen, "%s: out of memory", file);
	return -1;
}

void broker__auth_free_acl(broker_file_auth *a)
{
	for (size_t i = 0; i < a->nrules; i++)
		free(a->rules[i].filter);
	free(a->rules);
	for (size_t i = 0; i < a->nnames; i++)
		free(a->names[i]);
	free(a->names);
}

/* ---- decisions ------------------------------------------------------------------------- */

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

bool broker__auth_allow(void *ctx, const char *client_id, const char *username, const char *topic,
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
					: mqtt_topic_filter_covers((const uint8_t *)topic, tlen,
								   (const uint8_t *)g, glen));
		free(heap);
		if (ok)
			return true;
	}
	return false;
}

