/*
 * scenario_walk.c - the scenario loader's schema walker (scenario_load_internal.h): errors
 * with their positions, "did you mean", sections as mappings of known keys, lists, typed
 * values, and the names of clients and hosts.
 *
 * No function here stops at a problem: each reports what is wrong where and returns false
 * (or -1, or NULL), and the section that called it reads on. The visit budget in
 * scn__node() stops a walk that aliases would multiply ("billion laughs").
 */
#include "harness/scenario_load_internal.h"

#include "mqtt/mqtt.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_VISITS 500000L          /* node visits: bounds what aliases can multiply */
#define MAX_SUGGEST_CLIENTS 500     /* past this, "did you mean" would cost too much */

/* ---- messages and errors --------------------------------------------------------------- */

#define SHOW_MAX 48

/* 'text' quoted and shortened, control characters shown as '?'. */
txt scn__quoted(const char *s)
{
	txt t;
	size_t n = 0, i = 0;
	t.s[n++] = '\'';
	for (; s[i] && i < SHOW_MAX; i++)
		t.s[n++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i]) {
		/* Shorten on a character boundary, not inside a UTF-8 sequence. */
		while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
			i--, n--;
		memcpy(t.s + n, "...", 3);
		n += 3;
	}
	t.s[n++] = '\'';
	t.s[n] = 0;
	return t;
}

/* "a, b, c" from names[0..n), shortened past a dozen or so. */
txt scn__join(const char *const *names, size_t n)
{
	txt t;
	size_t len = 0;
	t.s[0] = 0;
	for (size_t i = 0; i < n && len < sizeof t.s; i++) {
		if (i == 16) {
			snprintf(t.s + len, sizeof t.s - len, ", ...");
			break;
		}
		len += (size_t)snprintf(t.s + len, sizeof t.s - len, "%s%s", i ? ", " : "", names[i]);
	}
	return t;
}

size_t scn__count_of(const char *const *list)
{
	size_t n = 0;
	while (list[n])
		n++;
	return n;
}

const char *scn__sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

bool scn__is_scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE;
}

/* YAML's null: an empty plain scalar, ~ or null. A quoted "null" is a string. */
bool scn__is_null(const yaml_node_t *n)
{
	if (!scn__is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = scn__sval(n);
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

/* What a node is, for "got ..." in messages. */
txt scn__describe(const yaml_node_t *n)
{
	txt t;
	if (n->type == YAML_SEQUENCE_NODE)
		snprintf(t.s, sizeof t.s, "a list");
	else if (n->type == YAML_MAPPING_NODE)
		snprintf(t.s, sizeof t.s, "a mapping");
	else if (scn__is_null(n))
		snprintf(t.s, sizeof t.s, "nothing (null)");
	else
		t = scn__quoted(scn__sval(n));
	return t;
}

sc_pos scn__pos_of(const yaml_node_t *n)
{
	return (sc_pos){ (int)n->start_mark.line + 1, (int)n->start_mark.column + 1 };
}

static bool before(const yaml_node_t *a, const yaml_node_t *b)
{
	return a->start_mark.index < b->start_mark.index;
}

static bool errors_full(const ld *L)
{
	return L->halt || L->errs->n >= SC_MAX_ERRORS;
}

static void add_error_v(ld *L, sc_pos p, const char *fmt, va_list ap)
{
	sc_errors *e = L->errs;
	if (e->n >= SC_MAX_ERRORS) {
		e->dropped++;
		return;
	}
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	char line[1400];
	snprintf(line, sizeof line, "%s:%d:%d: %s", L->file, p.line, p.col, msg);
	/* A node reached twice through an alias would say the same thing twice. */
	for (int i = 0; i < e->n; i++)
		if (!strcmp(e->msg[i], line))
			return;
	char *m = strdup(line);
	if (!m) {
		L->halt = true;
		e->dropped++;
		return;
	}
	L->epos[e->n] = p;
	e->msg[e->n++] = m;
}

__attribute__((format(printf, 3, 4)))
void scn__err_at(ld *L, sc_pos p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_error_v(L, p, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4)))
void scn__err(ld *L, const yaml_node_t *n, const char *fmt, ...)
{
	if (L->halt)
		return;
	va_list ap;
	va_start(ap, fmt);
	add_error_v(L, n ? scn__pos_of(n) : (sc_pos){ 1, 1 }, fmt, ap);
	va_end(ap);
}

void scn__oom(ld *L)
{
	if (!L->halt)
		scn__err_at(L, (sc_pos){ 1, 1 }, "out of memory while loading the scenario");
	L->halt = true;
}

void *scn__xcalloc(ld *L, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		scn__oom(L);
	return p;
}

char *scn__xstrdup(ld *L, const char *s)
{
	char *p = strdup(s);
	if (!p)
		scn__oom(L);
	return p;
}

/* Every node the walker looks at goes through here, so the budget covers alias expansion. */
yaml_node_t *scn__node(ld *L, int idx)
{
	if (L->halt)
		return NULL;
	yaml_node_t *n = yaml_document_get_node(&L->doc, idx);
	if (n && ++L->visits > MAX_VISITS) {
		scn__err(L, n, "the scenario is too large: more than %ld values to read "
			       "(do aliases repeat a large part of it?)", MAX_VISITS);
		L->halt = true;
		return NULL;
	}
	return n;
}

/* ---- suggestions ----------------------------------------------------------------------- */

/* Edit distance with adjacent transpositions (optimal string alignment), ignoring case. */
static int distance(const char *a, const char *b)
{
	enum { N = 40 };
	size_t la = strlen(a), lb = strlen(b);
	if (la >= N || lb >= N)
		return N;
	int d[N][N];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = scn__lower(a[i - 1]), cb = scn__lower(b[j - 1]);
			int best = d[i - 1][j - 1] + (ca != cb);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == scn__lower(b[j - 2]) && scn__lower(a[i - 2]) == cb &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* The closest candidate when it is close enough to be a typo of word, else NULL. */
static const char *suggest(const char *word, const char *const *cands, size_t n)
{
	size_t len = strlen(word);
	int best_d = (len <= 4 ? 1 : len <= 8 ? 2 : 3) + 1;
	const char *best = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!cands[i])
			continue;
		int d = distance(word, cands[i]);
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}

/* ---- sections as mappings of known keys ------------------------------------------------ */

int scn__key_slot(const char *const *keys, const char *k)
{
	for (int i = 0; keys[i]; i++)
		if (!strcmp(keys[i], k))
			return i;
	return -1;
}

/* Report an unknown key; returns the slot of the key it suggests, or -1. */
static int unknown_key(ld *L, const yaml_node_t *k, const char *what, const char *const *keys)
{
	if (errors_full(L)) {
		scn__err(L, k, "unknown key");
		return -1;
	}
	const char *name = scn__sval(k);
	if (!strcmp(name, "<<")) {
		scn__err(L, k, "merge keys (<<) are not supported; write the keys of %s out", what);
		return -1;
	}
	size_t n = scn__count_of(keys);
	const char *best = suggest(name, keys, n);
	if (best)
		scn__err(L, k, "unknown key %s in %s (did you mean '%s'?)", scn__quoted(name).s, what, best);
	else
		scn__err(L, k, "unknown key %s in %s; known keys: %s", scn__quoted(name).s, what, scn__join(keys, n).s);
	return best ? scn__key_slot(keys, best) : -1;
}

/* Read map against keys. False (reported) when map is not a mapping. */
bool scn__fields_read(ld *L, const yaml_node_t *map, const char *what, const char *const *keys,
		      fields *f)
{
	memset(f, 0, sizeof *f);
	f->what = what;
	f->keys = keys;
	assert(scn__count_of(keys) <= MAX_FIELDS);
	if (!map)
		return false;
	if (map->type != YAML_MAPPING_NODE) {
		scn__err(L, map, "expected a mapping for %s, got %s", what, scn__describe(map).s);
		return false;
	}
	f->map = map;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = scn__node(L, p->key), *v = scn__node(L, p->value);
		if (!k || !v)
			return true;
		if (!scn__is_scalar(k) || scn__is_null(k)) {
			scn__err(L, k, "keys in %s must be words, got %s", what, scn__describe(k).s);
			continue;
		}
		int i = scn__key_slot(keys, scn__sval(k));
		if (i < 0) {
			int sug = unknown_key(L, k, what, keys);
			f->unknown = true;
			if (sug >= 0)
				f->suggested |= 1u << sug;
			continue;
		}
		if (f->key[i]) {
			sc_pos first = scn__pos_of(f->key[i]);
			scn__err(L, k, "duplicate key '%s' in %s (first at %d:%d)", keys[i], what, first.line,
			         first.col);
			continue;
		}
		f->key[i] = k;
		f->val[i] = v;
	}
	return true;
}

int scn__slot(const fields *f, const char *key)
{
	int i = scn__key_slot(f->keys, key);
	assert(i >= 0 && "the key is in the section's table");
	return i;
}

/* The value (or key) node given for key, or NULL. */
yaml_node_t *scn__fget(const fields *f, const char *key)
{
	return f->val[scn__slot(f, key)];
}

yaml_node_t *scn__fkey(const fields *f, const char *key)
{
	return f->key[scn__slot(f, key)];
}

/* Is key there? If not, say so, unless a misspelling of it was already reported. */
bool scn__frequire(ld *L, const fields *f, const char *key)
{
	if (scn__fget(f, key))
		return true;
	if (f->map && !(f->suggested & (1u << scn__slot(f, key))))
		scn__err(L, f->map, "%s needs '%s'", f->what, key);
	return false;
}

/* The one key of `choices` present in f (e.g. the action of a step). Two or more are
 * reported at the later one; none is reported by the caller. */
const char *scn__only_one(ld *L, const fields *f, const char *const *choices, const char *hint)
{
	yaml_node_t *first = NULL;
	for (const char *const *c = choices; *c; c++) {
		yaml_node_t *k = scn__fkey(f, *c);
		if (!k)
			continue;
		if (!first) {
			first = k;
			continue;
		}
		yaml_node_t *a = before(first, k) ? first : k, *b = a == first ? k : first;
		scn__err(L, b, "%s does one thing, but '%s' and '%s' are both here; %s", f->what, scn__sval(a),
		         scn__sval(b), hint);
		first = a;
	}
	return first ? scn__sval(first) : NULL;
}

/* ---- lists ----------------------------------------------------------------------------- */

/* Items in a list; a key with nothing under it is an empty list. -1 when reported. */
long scn__list_count(ld *L, const yaml_node_t *v, const char *key, long max)
{
	if (scn__is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE) {
		scn__err(L, v, "expected a list for %s, got %s", key, scn__describe(v).s);
		return -1;
	}
	long n = (long)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n > max) {
		scn__err(L, v, "%s has %ld items; the limit is %ld", key, n, max);
		return -1;
	}
	return n;
}

yaml_node_t *scn__list_item(ld *L, const yaml_node_t *v, long i)
{
	return scn__node(L, v->data.sequence.items.start[i]);
}

void *scn__list_load(ld *L, const yaml_node_t *v, const char *key, long max, size_t size, size_t *count,
		     void (*load)(ld *L, const yaml_node_t *item, void *slot))
{
	long n = scn__list_count(L, v, key, max);
	char *slots = n > 0 ? scn__xcalloc(L, (size_t)n, size) : NULL;
	for (long i = 0; slots && i < n; i++) {
		yaml_node_t *it = scn__list_item(L, v, i);
		if (!it)
			break;
		load(L, it, slots + (*count)++ * size);
	}
	return slots;
}

/* Lists of words also take one word alone: `spec: MQTT-3.3.1-8` reads as a list of one. */
long scn__word_count(ld *L, const yaml_node_t *v, const char *key, long max)
{
	if (scn__is_scalar(v) && !scn__is_null(v))
		return 1;
	return scn__list_count(L, v, key, max);
}

yaml_node_t *scn__word_item(ld *L, const yaml_node_t *v, long i)
{
	return scn__is_scalar(v) ? (yaml_node_t *)v : scn__list_item(L, v, i);
}


/* ---- typed values ---------------------------------------------------------------------- */

/* The text of a scalar that is not null, or NULL with "'key' must be <expected>, got ...". */
const char *scn__scalar(ld *L, const yaml_node_t *v, const char *key, const char *expected)
{
	if (scn__is_scalar(v) && !scn__is_null(v))
		return scn__sval(v);
	scn__err(L, v, "'%s' must be %s, got %s", key, expected, scn__describe(v).s);
	return NULL;
}

/* *out (freed) replaced by a copy of t; false if out of memory (reported). */
static bool replace_copy(ld *L, const char *t, char **out)
{
	char *c = scn__xstrdup(L, t);
	if (!c)
		return false;
	free(*out);
	*out = c;
	return true;
}

bool scn__n_str(ld *L, const yaml_node_t *v, const char *key, char **out)
{
	if (!v)
		return false;
	const char *t = scn__scalar(L, v, key, "a string");
	if (!t)
		return false;
	if (strlen(t) != v->data.scalar.length) {
		scn__err(L, v, "'%s' contains a NUL character (\\0), which a scenario string cannot hold", key);
		return false;
	}
	return replace_copy(L, t, out);
}

bool scn__n_bool(ld *L, const yaml_node_t *v, const char *key, bool *out)
{
	if (!v)
		return false;
	const char *t = scn__scalar(L, v, key, "true or false");
	if (!t)
		return false;
	if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE") || !strcmp(t, "1")) {
		*out = true;
		return true;
	}
	if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE") || !strcmp(t, "0")) {
		*out = false;
		return true;
	}
	scn__err(L, v, "'%s' must be true or false, got %s", key, scn__quoted(t).s);
	return false;
}

bool scn__n_int(ld *L, const yaml_node_t *v, const char *key, int64_t min, int64_t max, int64_t *out)
{
	if (!v)
		return false;
	const char *t = scn__scalar(L, v, key, "an integer");
	if (!t)
		return false;
	int64_t x;
	if (scn__parse_int(t, &x) && x >= min && x <= max) {
		*out = x;
		return true;
	}
	if (min == 0 && max == 2)
		scn__err(L, v, "'%s' must be 0, 1 or 2, got %s", key, scn__quoted(t).s);
	else
		scn__err(L, v, "'%s' must be an integer from %lld to %lld, got %s", key, (long long)min,
		         (long long)max, scn__quoted(t).s);
	return false;
}

bool scn__n_number(ld *L, const yaml_node_t *v, const char *key, double min, double max, double *out)
{
	if (!v)
		return false;
	const char *t = scn__scalar(L, v, key, "a number");
	if (!t)
		return false;
	double x;
	if (scn__parse_number(t, &x) && x >= min && x <= max) {
		*out = x;
		return true;
	}
	scn__err(L, v, "'%s' must be a number from %.10g to %.10g, got %s", key, min, max, scn__quoted(t).s);
	return false;
}

bool scn__n_qos(ld *L, const yaml_node_t *v, uint8_t *out)
{
	int64_t x;
	if (!scn__n_int(L, v, "qos", 0, 2, &x))
		return false;
	*out = (uint8_t)x;
	return true;
}

static const struct amount_info {
	const char *expected;
	const char *unit; /* for the hint after a bare number */
	int64_t (*parse)(const char *);
} amounts[] = {
	[DURATION] = { "a duration like 250ms, 15s or 1m30s", "ms", sc_parse_duration },
	[SIZE] = { "a size like 256B, 4KiB or 1MB", "B", sc_parse_size },
	[BITRATE] = { "a bit rate like 9600bit, 20kbit or 1Mbit", "kbit", sc_parse_bitrate },
};

/* A duration, size or bit rate with its unit. Durations are never negative unless
 * AMT_SIGNED (a clock jump back); AMT_POSITIVE also refuses zero. */
bool scn__n_amount(ld *L, const yaml_node_t *v, const char *key, enum amount_kind k, int flags,
		   int64_t *out)
{
	if (!v)
		return false;
	const struct amount_info *a = &amounts[k];
	const char *t = scn__scalar(L, v, key, a->expected);
	if (!t)
		return false;
	bool neg = t[0] == '-';
	const char *body = neg ? t + 1 : t;
	int64_t x = a->parse(body);
	if (neg && !(flags & AMT_SIGNED) && (x >= 0 || scn__is_bare_number(body))) {
		scn__err(L, v, "'%s' cannot be negative, got %s", key, scn__quoted(t).s);
		return false;
	}
	if (scn__is_bare_number(body)) {
		/* Do not guess: a bare 250 could mean milliseconds or seconds. */
		if (k == DURATION && !(flags & AMT_SECONDS))
			scn__err(L, v, "'%s' is a bare number; say the unit, e.g. %sms or %ss", key, t, t);
		else
			scn__err(L, v, "'%s' is a bare number; say the unit, e.g. %s%s", key, t,
			         flags & AMT_SECONDS ? "s" : a->unit);
		return false;
	}
	if (x < 0) {
		scn__err(L, v, "'%s' must be %s, got %s", key, a->expected, scn__quoted(t).s);
		return false;
	}
	if (x == 0 && (flags & AMT_POSITIVE)) {
		scn__err(L, v, "'%s' must be more than zero, got %s", key, scn__quoted(t).s);
		return false;
	}
	if ((flags & AMT_SECONDS) && x % 1000000) {
		scn__err(L, v, "'%s' must be whole seconds, like 10s, got %s", key, scn__quoted(t).s);
		return false;
	}
	*out = neg ? -x : x;
	return true;
}

bool scn__n_fraction(ld *L, const yaml_node_t *v, const char *key, double *out)
{
	if (!v)
		return false;
	const char *t = scn__scalar(L, v, key, "a fraction like 5% or 0.05");
	if (!t)
		return false;
	double x = sc_parse_fraction(t);
	if (x < 0) {
		scn__err(L, v, "'%s' must be a fraction between 0 and 1, like 5%% or 0.05, got %s", key,
		         scn__quoted(t).s);
		return false;
	}
	*out = x;
	return true;
}

/* One of a few words; the index, or -1 (reported). */
int scn__n_choice(ld *L, const yaml_node_t *v, const char *key, const char *const *choices)
{
	size_t n = scn__count_of(choices);
	const char *t = scn__scalar(L, v, key, "a word");
	if (!t)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t, choices[i]))
			return (int)i;
	const char *best = suggest(t, choices, n);
	if (best)
		scn__err(L, v, "'%s' must be one of %s, got %s (did you mean '%s'?)", key, scn__join(choices, n).s,
		         scn__quoted(t).s, best);
	else
		scn__err(L, v, "'%s' must be one of %s, got %s", key, scn__join(choices, n).s, scn__quoted(t).s);
	return -1;
}

bool scn__n_topic(ld *L, const yaml_node_t *v, const char *key, bool filter, char **out)
{
	char *t = NULL;
	if (!scn__n_str(L, v, key, &t))
		return false;
	mqtt_err e;
	memset(&e, 0, sizeof e);
	const uint8_t *b = (const uint8_t *)t;
	int rc = filter ? mqtt_topic_filter_check(b, strlen(t), MQTT_V311, &e)
			: mqtt_topic_name_check(b, strlen(t), MQTT_V311, &e);
	if (rc) {
		scn__err(L, v, "%s is not a valid topic %s: %s (%s)", scn__quoted(t).s, filter ? "filter" : "name",
		         e.msg, e.stmt ? e.stmt : "MQTT-4.7");
		free(t);
		return false;
	}
	free(*out);
	*out = t;
	return true;
}

bool scn__n_packet(ld *L, const yaml_node_t *v, const char *key, int *out)
{
	const char *t = scn__scalar(L, v, key, "a packet name like PUBLISH");
	if (!t)
		return false;
	const char *names[16];
	for (unsigned ty = 1; ty <= 15; ty++) {
		names[ty - 1] = mqtt_type_name(ty);
		if (!strcasecmp(t, names[ty - 1])) {
			*out = (int)ty;
			return true;
		}
	}
	names[15] = NULL;
	const char *best = suggest(t, names, 15);
	if (best)
		scn__err(L, v, "unknown packet type %s (did you mean '%s'?)", scn__quoted(t).s, best);
	else
		scn__err(L, v, "unknown packet type %s; packets are %s", scn__quoted(t).s, scn__join(names, 15).s);
	return false;
}

/* ---- names: clients and hosts ---------------------------------------------------------- */

/* Client ids name hosts, random streams and trace lines; the scenario name names a file. */
bool scn__word_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(scn__is_digit(*s) || (scn__lower(*s) >= 'a' && scn__lower(*s) <= 'z') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return false;
	return true;
}

int scn__find_client(const ld *L, const char *name)
{
	size_t lo = 0, hi = L->nids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(L->ids[mid].id, name);
		if (!c)
			return L->ids[mid].idx;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Report a name that is neither a client nor (for hosts) the broker. */
void scn__unknown_name(ld *L, const yaml_node_t *v, const char *name, bool host)
{
	const scenario *s = L->s;
	const char *what = host ? "host" : "client";
	if (errors_full(L)) {
		scn__err(L, v, "unknown %s", what);
		return;
	}
	if (!L->nids) {
		if (host)
			scn__err(L, v, "unknown host %s; the only host is broker (declare clients under 'clients')",
			         scn__quoted(name).s);
		else if (scn__word_ok(name))
			scn__err(L, v, "unknown client %s: no clients are declared; add { id: %s } under 'clients'",
			         scn__quoted(name).s, name);
		else
			scn__err(L, v, "unknown client %s: no clients are declared (under 'clients')", scn__quoted(name).s);
		return;
	}
	const char **names = s->nclients <= MAX_SUGGEST_CLIENTS
		? calloc(s->nclients + 2, sizeof *names) : NULL;
	const char *best = NULL;
	size_t nnames = 0;
	if (names) {
		/* Valid ids only, each once, in file order. */
		for (size_t i = 0; i < s->nclients; i++) {
			const char *id = s->clients[i].id;
			if (id && scn__find_client(L, id) >= 0 && s->clients[scn__find_client(L, id)].id == id)
				names[nnames++] = id;
		}
		if (host)
			names[nnames] = "broker";
		best = suggest(name, names, nnames + 1);
	}
	if (best)
		scn__err(L, v, "unknown %s %s (did you mean '%s'?)", what, scn__quoted(name).s, best);
	else if (names)
		scn__err(L, v, "unknown %s %s; %s: %s", what, scn__quoted(name).s,
		         host ? "hosts are broker and the clients" : "the clients are",
		    scn__join(names, nnames).s);
	else
		scn__err(L, v, "unknown %s %s", what, scn__quoted(name).s);
	free(names);
}

bool scn__n_client(ld *L, const yaml_node_t *v, const char *key, int *out)
{
	if (!v)
		return false;
	const char *t = scn__scalar(L, v, key, "a client id");
	if (!t)
		return false;
	int i = scn__find_client(L, t);
	if (i < 0) {
		scn__unknown_name(L, v, t, false);
		return false;
	}
	*out = i;
	return true;
}

/* A host: "broker" or a client id. Its index: the client's, or nclients for the broker. */
int scn__host_index(const ld *L, const char *name)
{
	return !strcmp(name, "broker") ? (int)L->s->nclients : scn__find_client(L, name);
}

bool scn__n_host(ld *L, const yaml_node_t *v, const char *key, char **out)
{
	if (!v)
		return false;
	const char *t = scn__scalar(L, v, key, "a host (a client id or broker)");
	if (!t)
		return false;
	long inst;
	if (scn__host_index(L, t) < 0 && scenario_find_node(L->s, t, &inst) < 0) {
		scn__unknown_name(L, v, t, true);
		return false;
	}
	return replace_copy(L, t, out);
}
