/*
 * scenario_load.c - YAML text to the scenario model (scenario.h), validated.
 *
 * libyaml's document API gives a graph of nodes that carry their positions; a small schema
 * walker turns it into the model, one function per section. It never stops at the first
 * problem: each section reports what is wrong where (FILE:LINE:COLUMN, 1-based, at the
 * offending key or value) and carries on, so a user fixes a file in one round. Sections are
 * read in dependency order (clients first, so steps, faults and links can name them), not
 * in file order, so the errors are sorted into file order at the end.
 *
 * Hostile input. libyaml's parser and composer keep explicit stacks, and this walker only
 * descends as deep as the schema, so nesting cannot exhaust the C stack; but libyaml's
 * scanner takes time quadratic in the flow nesting depth ([[[[...) and memory in the node
 * count, so a first pass over the events bounds both before the document is built.
 * Anchors and aliases are allowed (a link profile used twice is handy), but an alias makes
 * the graph a DAG, possibly a cyclic one (&a [*a]): the schema walk still ends, and a
 * budget on node visits stops the "billion laughs" kind of expansion. Each alias the walk
 * reads copies its anchor's strings again, so the first pass (conformance/yaml_walk.c) also
 * bounds the text with every alias expanded (64 MiB) and names the alias that crosses it:
 * a 1 MiB payload used 3,000 times would otherwise take 3 GB. Every list has a
 * limit that is reported when hit. No assert() looks at user input; the few asserts check
 * this file's own tables.
 */
#include "broker/auth.h"
#include "harness/scenario.h"

#include "conformance/yaml_walk.h"
#include "harness/cli.h"
#include "mqtt/mqtt.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_FILE_BYTES (16u << 20) /* a scenario is text someone wrote, not a data dump */
#define MAX_VISITS 500000L          /* node visits: bounds what aliases can multiply */
#define MAX_NODES 500000L           /* nodes in the file, checked before composing them */
#define MAX_EXPANDED_BYTES (64u << 20) /* text, every alias expanded: 4 times the largest file */
#define MAX_DEPTH 64                /* a scenario is six levels deep; libyaml is quadratic in it */
#define MAX_CLIENTS 10000
#define MAX_STEPS 100000
#define MAX_FAULTS 10000
#define MAX_EXPECTS 10000
#define MAX_ITEMS 1000              /* spec ids, filters of one (un)subscribe, SUBACK codes */
#define MAX_FIELDS 16               /* keys of the largest section */
#define MAX_SUGGEST_CLIENTS 500     /* past this, "did you mean" would cost too much */
#define MAX_PPM 100000.0            /* clock drift: 10%, far past any real crystal */
#define DEFAULT_WITHIN_US 5000000   /* expect, expect_closed and the CONNACK wait: 5s */
#define DEFAULT_KEEPALIVE_S 60

/* ---- loader state and error reporting -------------------------------------------------- */

typedef struct id_ref {
	const char *id;
	int idx;
	sc_pos pos;
} id_ref;

typedef struct ld {
	const char *file;
	const char *text;
	size_t len;
	yaml_document_t doc;
	scenario *s;
	sc_errors *errs;
	sc_pos epos[SC_MAX_ERRORS]; /* position of each error, to sort them into file order */
	long visits;
	bool halt;                  /* out of memory or over the visit budget: stop walking */
	id_ref *ids;                /* client ids sorted by name, for lookups */
	size_t nids;
	const char *duration_text;  /* the scenario's `duration` as written, for messages */
} ld;

/* A short text for messages, returned by value so a call can sit in an argument list
 * (C11 gives an array in a struct rvalue a lifetime to the end of the full expression). */
typedef struct txt {
	char s[400];
} txt;

#define SHOW_MAX 48

/* 'text' quoted and shortened, control characters shown as '?'. */
static txt quoted(const char *s)
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
static txt join(const char *const *names, size_t n)
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

static size_t count_of(const char *const *list)
{
	size_t n = 0;
	while (list[n])
		n++;
	return n;
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE;
}

/* YAML's null: an empty plain scalar, ~ or null. A quoted "null" is a string. */
static bool is_null(const yaml_node_t *n)
{
	if (!is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = sval(n);
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

/* What a node is, for "got ..." in messages. */
static txt describe(const yaml_node_t *n)
{
	txt t;
	if (n->type == YAML_SEQUENCE_NODE)
		snprintf(t.s, sizeof t.s, "a list");
	else if (n->type == YAML_MAPPING_NODE)
		snprintf(t.s, sizeof t.s, "a mapping");
	else if (is_null(n))
		snprintf(t.s, sizeof t.s, "nothing (null)");
	else
		t = quoted(sval(n));
	return t;
}

static sc_pos pos_of(const yaml_node_t *n)
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
static void err_at(ld *L, sc_pos p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_error_v(L, p, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4)))
static void err(ld *L, const yaml_node_t *n, const char *fmt, ...)
{
	if (L->halt)
		return;
	va_list ap;
	va_start(ap, fmt);
	add_error_v(L, n ? pos_of(n) : (sc_pos){ 1, 1 }, fmt, ap);
	va_end(ap);
}

static void oom(ld *L)
{
	if (!L->halt)
		err_at(L, (sc_pos){ 1, 1 }, "out of memory while loading the scenario");
	L->halt = true;
}

static void *xcalloc(ld *L, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		oom(L);
	return p;
}

static char *xstrdup(ld *L, const char *s)
{
	char *p = strdup(s);
	if (!p)
		oom(L);
	return p;
}

/* Every node the walker looks at goes through here, so the budget covers alias expansion. */
static yaml_node_t *node(ld *L, int idx)
{
	if (L->halt)
		return NULL;
	yaml_node_t *n = yaml_document_get_node(&L->doc, idx);
	if (n && ++L->visits > MAX_VISITS) {
		err(L, n, "the scenario is too large: more than %ld values to read "
			  "(do aliases repeat a large part of it?)", MAX_VISITS);
		L->halt = true;
		return NULL;
	}
	return n;
}

/* ---- suggestions ----------------------------------------------------------------------- */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

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
			int ca = lower(a[i - 1]), cb = lower(b[j - 1]);
			int best = d[i - 1][j - 1] + (ca != cb);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == lower(b[j - 2]) && lower(a[i - 2]) == cb &&
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

/* The keys of one mapping, read against the section's table: unknown keys, keys that are
 * not words and duplicates are reported here, so section functions only read values. */
typedef struct fields {
	const char *what;             /* the section, for messages: "publish needs 'topic'" */
	const char *const *keys;      /* NULL-terminated */
	const yaml_node_t *map;
	yaml_node_t *key[MAX_FIELDS];
	yaml_node_t *val[MAX_FIELDS];
	bool unknown;                 /* an unknown key was reported */
	unsigned suggested;           /* bit per slot: a "did you mean" named this key */
} fields;

static int key_slot(const char *const *keys, const char *k)
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
		err(L, k, "unknown key");
		return -1;
	}
	const char *name = sval(k);
	if (!strcmp(name, "<<")) {
		err(L, k, "merge keys (<<) are not supported; write the keys of %s out", what);
		return -1;
	}
	size_t n = count_of(keys);
	const char *best = suggest(name, keys, n);
	if (best)
		err(L, k, "unknown key %s in %s (did you mean '%s'?)", quoted(name).s, what, best);
	else
		err(L, k, "unknown key %s in %s; known keys: %s", quoted(name).s, what, join(keys, n).s);
	return best ? key_slot(keys, best) : -1;
}

/* Read map against keys. False (reported) when map is not a mapping. */
static bool fields_read(ld *L, const yaml_node_t *map, const char *what, const char *const *keys,
			fields *f)
{
	memset(f, 0, sizeof *f);
	f->what = what;
	f->keys = keys;
	assert(count_of(keys) <= MAX_FIELDS);
	if (!map)
		return false;
	if (map->type != YAML_MAPPING_NODE) {
		err(L, map, "expected a mapping for %s, got %s", what, describe(map).s);
		return false;
	}
	f->map = map;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		if (!k || !v)
			return true;
		if (!is_scalar(k) || is_null(k)) {
			err(L, k, "keys in %s must be words, got %s", what, describe(k).s);
			continue;
		}
		int i = key_slot(keys, sval(k));
		if (i < 0) {
			int sug = unknown_key(L, k, what, keys);
			f->unknown = true;
			if (sug >= 0)
				f->suggested |= 1u << sug;
			continue;
		}
		if (f->key[i]) {
			sc_pos first = pos_of(f->key[i]);
			err(L, k, "duplicate key '%s' in %s (first at %d:%d)", keys[i], what, first.line,
			    first.col);
			continue;
		}
		f->key[i] = k;
		f->val[i] = v;
	}
	return true;
}

static int slot(const fields *f, const char *key)
{
	int i = key_slot(f->keys, key);
	assert(i >= 0 && "the key is in the section's table");
	return i;
}

/* The value (or key) node given for key, or NULL. */
static yaml_node_t *fget(const fields *f, const char *key)
{
	return f->val[slot(f, key)];
}

static yaml_node_t *fkey(const fields *f, const char *key)
{
	return f->key[slot(f, key)];
}

/* Is key there? If not, say so, unless a misspelling of it was already reported. */
static bool frequire(ld *L, const fields *f, const char *key)
{
	if (fget(f, key))
		return true;
	if (f->map && !(f->suggested & (1u << slot(f, key))))
		err(L, f->map, "%s needs '%s'", f->what, key);
	return false;
}

/* The one key of `choices` present in f (e.g. the action of a step). Two or more are
 * reported at the later one; none is reported by the caller. */
static const char *only_one(ld *L, const fields *f, const char *const *choices, const char *hint)
{
	yaml_node_t *first = NULL;
	for (const char *const *c = choices; *c; c++) {
		yaml_node_t *k = fkey(f, *c);
		if (!k)
			continue;
		if (!first) {
			first = k;
			continue;
		}
		yaml_node_t *a = before(first, k) ? first : k, *b = a == first ? k : first;
		err(L, b, "%s does one thing, but '%s' and '%s' are both here; %s", f->what, sval(a),
		    sval(b), hint);
		first = a;
	}
	return first ? sval(first) : NULL;
}

/* ---- lists ----------------------------------------------------------------------------- */

/* Items in a list; a key with nothing under it is an empty list. -1 when reported. */
static long list_count(ld *L, const yaml_node_t *v, const char *key, long max)
{
	if (is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE) {
		err(L, v, "expected a list for %s, got %s", key, describe(v).s);
		return -1;
	}
	long n = (long)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n > max) {
		err(L, v, "%s has %ld items; the limit is %ld", key, n, max);
		return -1;
	}
	return n;
}

static yaml_node_t *list_item(ld *L, const yaml_node_t *v, long i)
{
	return node(L, v->data.sequence.items.start[i]);
}

/* Lists of words also take one word alone: `spec: MQTT-3.3.1-8` reads as a list of one. */
static long word_count(ld *L, const yaml_node_t *v, const char *key, long max)
{
	if (is_scalar(v) && !is_null(v))
		return 1;
	return list_count(L, v, key, max);
}

static yaml_node_t *word_item(ld *L, const yaml_node_t *v, long i)
{
	return is_scalar(v) ? (yaml_node_t *)v : list_item(L, v, i);
}

/* ---- numbers and units ----------------------------------------------------------------- */

typedef struct unit {
	const char *name;
	int64_t factor;
} unit;

static const unit duration_units[] = {
	{ "h", 3600000000LL }, { "m", 60000000LL }, { "s", 1000000LL }, { "ms", 1000LL },
	{ "us", 1LL }, { "\xc2\xb5s", 1LL }, { NULL, 0 },
};

static const unit size_units[] = {
	{ "B", 1LL }, { "KB", 1000LL }, { "kB", 1000LL }, { "KiB", 1024LL }, { "MB", 1000000LL },
	{ "MiB", 1048576LL }, { "GB", 1000000000LL }, { "GiB", 1073741824LL }, { NULL, 0 },
};

static const unit bitrate_units[] = {
	{ "bit", 1LL }, { "bit/s", 1LL }, { "bps", 1LL },
	{ "kbit", 1000LL }, { "kbit/s", 1000LL }, { "Kbit", 1000LL }, { "Kbit/s", 1000LL },
	{ "kbps", 1000LL },
	{ "Mbit", 1000000LL }, { "Mbit/s", 1000000LL }, { "Mbps", 1000000LL },
	{ "Gbit", 1000000000LL }, { "Gbit/s", 1000000000LL }, { "Gbps", 1000000000LL },
	{ NULL, 0 },
};

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* "<digits>[.<digits>]" at *p: the whole part, the fraction's digits as an integer and
 * their count (at most 9). False if malformed or too large. */
static bool amount(const char **p, int64_t *whole, int64_t *frac, int *fdigits)
{
	const char *s = *p;
	int64_t w = 0, f = 0;
	int nd = 0, fd = 0;
	for (; is_digit(*s); s++, nd++) {
		if (w > (INT64_MAX - 9) / 10)
			return false;
		w = w * 10 + (*s - '0');
	}
	if (!nd)
		return false;
	if (*s == '.') {
		for (s++; is_digit(*s); s++, fd++) {
			if (fd == 9)
				return false;
			f = f * 10 + (*s - '0');
		}
		if (!fd)
			return false;
	}
	*p = s;
	*whole = w;
	*frac = f;
	*fdigits = fd;
	return true;
}

/* (whole + frac / 10^fd) * factor exactly, or -1: overflow, or a part of the base unit
 * ("0.5us" cannot be said in microseconds). frac < 10^9 and factor < 4e9 cannot overflow. */
static int64_t scale(int64_t whole, int64_t frac, int fd, int64_t factor)
{
	if (whole > INT64_MAX / factor)
		return -1;
	int64_t p10 = 1;
	for (int i = 0; i < fd; i++)
		p10 *= 10;
	int64_t part = frac * factor;
	if (part % p10)
		return -1;
	part /= p10;
	if (whole * factor > INT64_MAX - part)
		return -1;
	return whole * factor + part;
}

/* The unit spelled at *p, up to the next number or the end. */
static const unit *unit_at(const char **p, const unit *units)
{
	const char *s = *p, *e = s;
	while (*e && !is_digit(*e) && *e != '.')
		e++;
	size_t n = (size_t)(e - s);
	for (const unit *u = units; u->name; u++) {
		if (strlen(u->name) == n && !memcmp(u->name, s, n)) {
			*p = e;
			return u;
		}
	}
	return NULL;
}

int64_t sc_parse_duration(const char *s)
{
	if (!s || !*s)
		return -1;
	int64_t total = 0, last = INT64_MAX;
	while (*s) {
		int64_t w, f;
		int fd;
		if (!amount(&s, &w, &f, &fd))
			return -1;
		const unit *u = unit_at(&s, duration_units);
		/* Parts go from large to small units: "1m30s", never "30s1m" or "1s1s". */
		if (!u || u->factor >= last)
			return -1;
		last = u->factor;
		int64_t v = scale(w, f, fd, u->factor);
		if (v < 0 || total > INT64_MAX - v)
			return -1;
		total += v;
	}
	return total;
}

static int64_t parse_one_unit(const char *s, const unit *units)
{
	int64_t w, f;
	int fd;
	if (!s || !amount(&s, &w, &f, &fd))
		return -1;
	const unit *u = unit_at(&s, units);
	if (!u || *s)
		return -1;
	return scale(w, f, fd, u->factor);
}

int64_t sc_parse_size(const char *s)
{
	return parse_one_unit(s, size_units);
}

int64_t sc_parse_bitrate(const char *s)
{
	return parse_one_unit(s, bitrate_units);
}

double sc_parse_fraction(const char *s)
{
	int64_t w, f;
	int fd;
	if (!s || !amount(&s, &w, &f, &fd))
		return -1;
	double p10 = 1;
	for (int i = 0; i < fd; i++)
		p10 *= 10;
	double v = (double)w + (double)f / p10;
	if (*s == '%' && !s[1])
		v /= 100;
	else if (*s)
		return -1;
	return v <= 1 ? v : -1;
}

/* A number with no unit: "250", "1.5". */
static bool is_bare_number(const char *s)
{
	int64_t w, f;
	int fd;
	return amount(&s, &w, &f, &fd) && !*s;
}

/* An integer: decimal or 0x hex, with an optional sign. */
static bool parse_int(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	uint64_t v = 0;
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		int d = is_digit(*s) ? *s - '0'
			: base == 16 && lower(*s) >= 'a' && lower(*s) <= 'f' ? lower(*s) - 'a' + 10
			: -1;
		if (d < 0)
			return false;
		if (v > ((uint64_t)INT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!is_digit(*s) || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

/* A decimal number such as "200", "-12.5" or "1e3"; no inf, nan or hex floats. */
static bool parse_number(const char *s, double *out)
{
	if (!*s || strspn(s, "+-.0123456789eE") != strlen(s))
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*end || errno || v != v)
		return false;
	*out = v;
	return true;
}

/* ---- typed values ---------------------------------------------------------------------- */

/* The text of a scalar that is not null, or NULL with "'key' must be <expected>, got ...". */
static const char *scalar(ld *L, const yaml_node_t *v, const char *key, const char *expected)
{
	if (is_scalar(v) && !is_null(v))
		return sval(v);
	err(L, v, "'%s' must be %s, got %s", key, expected, describe(v).s);
	return NULL;
}

static bool n_str(ld *L, const yaml_node_t *v, const char *key, char **out)
{
	if (!v)
		return false;
	const char *t = scalar(L, v, key, "a string");
	if (!t)
		return false;
	if (strlen(t) != v->data.scalar.length) {
		err(L, v, "'%s' contains a NUL character (\\0), which a scenario string cannot hold", key);
		return false;
	}
	char *c = xstrdup(L, t);
	if (!c)
		return false;
	free(*out);
	*out = c;
	return true;
}

static bool n_bool(ld *L, const yaml_node_t *v, const char *key, bool *out)
{
	if (!v)
		return false;
	const char *t = scalar(L, v, key, "true or false");
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
	err(L, v, "'%s' must be true or false, got %s", key, quoted(t).s);
	return false;
}

static bool n_int(ld *L, const yaml_node_t *v, const char *key, int64_t min, int64_t max, int64_t *out)
{
	if (!v)
		return false;
	const char *t = scalar(L, v, key, "an integer");
	if (!t)
		return false;
	int64_t x;
	if (parse_int(t, &x) && x >= min && x <= max) {
		*out = x;
		return true;
	}
	if (min == 0 && max == 2)
		err(L, v, "'%s' must be 0, 1 or 2, got %s", key, quoted(t).s);
	else
		err(L, v, "'%s' must be an integer from %lld to %lld, got %s", key, (long long)min,
		    (long long)max, quoted(t).s);
	return false;
}

static bool n_number(ld *L, const yaml_node_t *v, const char *key, double min, double max, double *out)
{
	if (!v)
		return false;
	const char *t = scalar(L, v, key, "a number");
	if (!t)
		return false;
	double x;
	if (parse_number(t, &x) && x >= min && x <= max) {
		*out = x;
		return true;
	}
	err(L, v, "'%s' must be a number from %.10g to %.10g, got %s", key, min, max, quoted(t).s);
	return false;
}

static bool n_qos(ld *L, const yaml_node_t *v, uint8_t *out)
{
	int64_t x;
	if (!n_int(L, v, "qos", 0, 2, &x))
		return false;
	*out = (uint8_t)x;
	return true;
}

enum amount_kind { DURATION, SIZE, BITRATE };
enum {
	AMT_POSITIVE = 1, /* more than zero */
	AMT_SIGNED = 2,   /* may be negative: a clock jumps back */
	AMT_SECONDS = 4,  /* whole seconds, as MQTT's keepalive */
};

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
static bool n_amount(ld *L, const yaml_node_t *v, const char *key, enum amount_kind k, int flags,
		     int64_t *out)
{
	if (!v)
		return false;
	const struct amount_info *a = &amounts[k];
	const char *t = scalar(L, v, key, a->expected);
	if (!t)
		return false;
	bool neg = t[0] == '-';
	const char *body = neg ? t + 1 : t;
	int64_t x = a->parse(body);
	if (neg && !(flags & AMT_SIGNED) && (x >= 0 || is_bare_number(body))) {
		err(L, v, "'%s' cannot be negative, got %s", key, quoted(t).s);
		return false;
	}
	if (is_bare_number(body)) {
		/* Do not guess: a bare 250 could mean milliseconds or seconds. */
		if (k == DURATION && !(flags & AMT_SECONDS))
			err(L, v, "'%s' is a bare number; say the unit, e.g. %sms or %ss", key, t, t);
		else
			err(L, v, "'%s' is a bare number; say the unit, e.g. %s%s", key, t,
			    flags & AMT_SECONDS ? "s" : a->unit);
		return false;
	}
	if (x < 0) {
		err(L, v, "'%s' must be %s, got %s", key, a->expected, quoted(t).s);
		return false;
	}
	if (x == 0 && (flags & AMT_POSITIVE)) {
		err(L, v, "'%s' must be more than zero, got %s", key, quoted(t).s);
		return false;
	}
	if ((flags & AMT_SECONDS) && x % 1000000) {
		err(L, v, "'%s' must be whole seconds, like 10s, got %s", key, quoted(t).s);
		return false;
	}
	*out = neg ? -x : x;
	return true;
}

static bool n_fraction(ld *L, const yaml_node_t *v, const char *key, double *out)
{
	if (!v)
		return false;
	const char *t = scalar(L, v, key, "a fraction like 5% or 0.05");
	if (!t)
		return false;
	double x = sc_parse_fraction(t);
	if (x < 0) {
		err(L, v, "'%s' must be a fraction between 0 and 1, like 5%% or 0.05, got %s", key,
		    quoted(t).s);
		return false;
	}
	*out = x;
	return true;
}

/* One of a few words; the index, or -1 (reported). */
static int n_choice(ld *L, const yaml_node_t *v, const char *key, const char *const *choices)
{
	size_t n = count_of(choices);
	const char *t = scalar(L, v, key, "a word");
	if (!t)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t, choices[i]))
			return (int)i;
	const char *best = suggest(t, choices, n);
	if (best)
		err(L, v, "'%s' must be one of %s, got %s (did you mean '%s'?)", key, join(choices, n).s,
		    quoted(t).s, best);
	else
		err(L, v, "'%s' must be one of %s, got %s", key, join(choices, n).s, quoted(t).s);
	return -1;
}

static bool n_topic(ld *L, const yaml_node_t *v, const char *key, bool filter, char **out)
{
	char *t = NULL;
	if (!n_str(L, v, key, &t))
		return false;
	mqtt_err e;
	memset(&e, 0, sizeof e);
	const uint8_t *b = (const uint8_t *)t;
	int rc = filter ? mqtt_topic_filter_check(b, strlen(t), MQTT_V311, &e)
			: mqtt_topic_name_check(b, strlen(t), MQTT_V311, &e);
	if (rc) {
		err(L, v, "%s is not a valid topic %s: %s (%s)", quoted(t).s, filter ? "filter" : "name",
		    e.msg, e.stmt ? e.stmt : "MQTT-4.7");
		free(t);
		return false;
	}
	free(*out);
	*out = t;
	return true;
}

static bool n_packet(ld *L, const yaml_node_t *v, const char *key, int *out)
{
	const char *t = scalar(L, v, key, "a packet name like PUBLISH");
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
		err(L, v, "unknown packet type %s (did you mean '%s'?)", quoted(t).s, best);
	else
		err(L, v, "unknown packet type %s; packets are %s", quoted(t).s, join(names, 15).s);
	return false;
}

/* ---- names: clients and hosts ---------------------------------------------------------- */

/* Client ids name hosts, random streams and trace lines; the scenario name names a file. */
static bool word_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(is_digit(*s) || (lower(*s) >= 'a' && lower(*s) <= 'z') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return false;
	return true;
}

static int cmp_id(const void *a, const void *b)
{
	const id_ref *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int find_client(const ld *L, const char *name)
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
static void unknown_name(ld *L, const yaml_node_t *v, const char *name, bool host)
{
	const scenario *s = L->s;
	const char *what = host ? "host" : "client";
	if (errors_full(L)) {
		err(L, v, "unknown %s", what);
		return;
	}
	if (!L->nids) {
		if (host)
			err(L, v, "unknown host %s; the only host is broker (declare clients under 'clients')",
			    quoted(name).s);
		else if (word_ok(name))
			err(L, v, "unknown client %s: no clients are declared; add { id: %s } under 'clients'",
			    quoted(name).s, name);
		else
			err(L, v, "unknown client %s: no clients are declared (under 'clients')", quoted(name).s);
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
			if (id && find_client(L, id) >= 0 && s->clients[find_client(L, id)].id == id)
				names[nnames++] = id;
		}
		if (host)
			names[nnames] = "broker";
		best = suggest(name, names, nnames + 1);
	}
	if (best)
		err(L, v, "unknown %s %s (did you mean '%s'?)", what, quoted(name).s, best);
	else if (names)
		err(L, v, "unknown %s %s; %s: %s", what, quoted(name).s,
		    host ? "hosts are broker and the clients" : "the clients are",
		    join(names, nnames).s);
	else
		err(L, v, "unknown %s %s", what, quoted(name).s);
	free(names);
}

static bool n_client(ld *L, const yaml_node_t *v, const char *key, int *out)
{
	if (!v)
		return false;
	const char *t = scalar(L, v, key, "a client id");
	if (!t)
		return false;
	int i = find_client(L, t);
	if (i < 0) {
		unknown_name(L, v, t, false);
		return false;
	}
	*out = i;
	return true;
}

/* A host: "broker" or a client id. Its index: the client's, or nclients for the broker. */
static int host_index(const ld *L, const char *name)
{
	return !strcmp(name, "broker") ? (int)L->s->nclients : find_client(L, name);
}

static bool n_host(ld *L, const yaml_node_t *v, const char *key, char **out)
{
	if (!v)
		return false;
	const char *t = scalar(L, v, key, "a host (a client id or broker)");
	if (!t)
		return false;
	long inst;
	if (host_index(L, t) < 0 && scenario_find_node(L->s, t, &inst) < 0) {
		unknown_name(L, v, t, true);
		return false;
	}
	char *c = xstrdup(L, t);
	if (!c)
		return false;
	free(*out);
	*out = c;
	return true;
}

/* ---- clients --------------------------------------------------------------------------- */

static const char *const client_keys[] = { "id", "client_id", "auto_ack", "auto_ping", NULL };

static void load_client(ld *L, const yaml_node_t *v, sc_client *c)
{
	c->auto_ack = c->auto_ping = true;
	c->pos = pos_of(v);
	fields f;
	if (!fields_read(L, v, "client", client_keys, &f))
		return;
	yaml_node_t *id = fget(&f, "id");
	if (frequire(L, &f, "id") && n_str(L, id, "id", &c->id)) {
		if (!word_ok(c->id))
			err(L, id, "client id %s may use only letters, digits, '-', '_' and '.' (it names a host)",
			    quoted(c->id).s);
		else if (!strcmp(c->id, "broker"))
			err(L, id, "'broker' names the broker host; give the client another id");
		else
			L->ids[L->nids++] = (id_ref){ c->id, (int)(c - L->s->clients), pos_of(id) };
	}
	n_str(L, fget(&f, "client_id"), "client_id", &c->client_id);
	n_bool(L, fget(&f, "auto_ack"), "auto_ack", &c->auto_ack);
	n_bool(L, fget(&f, "auto_ping"), "auto_ping", &c->auto_ping);
	if (!c->client_id && c->id)
		c->client_id = xstrdup(L, c->id);
}

static void load_clients(ld *L, const yaml_node_t *v)
{
	scenario *s = L->s;
	long n = v ? list_count(L, v, "clients", MAX_CLIENTS) : 0;
	if (n <= 0)
		return;
	s->clients = xcalloc(L, (size_t)n, sizeof *s->clients);
	L->ids = xcalloc(L, (size_t)n, sizeof *L->ids);
	if (!s->clients || !L->ids)
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = list_item(L, v, i);
		if (!it)
			return;
		load_client(L, it, &s->clients[s->nclients++]);
	}
	/* Sorted by (id, position): duplicates sit side by side, the first one first. */
	qsort(L->ids, L->nids, sizeof *L->ids, cmp_id);
	for (size_t i = 1, first = 0; i < L->nids; i++) {
		if (strcmp(L->ids[i].id, L->ids[first].id)) {
			first = i;
			continue;
		}
		err_at(L, L->ids[i].pos, "duplicate client id %s (first at %d:%d)",
		       quoted(L->ids[i].id).s, L->ids[first].pos.line, L->ids[first].pos.col);
	}
}

/* ---- top-level values ------------------------------------------------------------------ */

/* MQTT-<section>-<n>, as the specifications number their normative statements. */
static bool stmt_id_ok(const char *s)
{
	/* The two ids the 3.1.1 standard prints irregularly are taken as printed. */
	if (!strcmp(s, "MQTT-3-8.3-4") || !strcmp(s, "MQTT-3.1.2.7"))
		return true;
	if (strncmp(s, "MQTT-", 5))
		return false;
	s += 5;
	if (!is_digit(*s))
		return false;
	while (is_digit(*s))
		s++;
	while (*s == '.') {
		if (!is_digit(*++s))
			return false;
		while (is_digit(*s))
			s++;
	}
	if (*s++ != '-' || !is_digit(*s))
		return false;
	while (is_digit(*s))
		s++;
	return !*s;
}

/* A list of statement ids (or one id alone) into *ids. A step's or an expectation's list
 * (sub) may only name statements of the scenario's own list. */
static void load_ids(ld *L, const yaml_node_t *v, char ***ids, size_t *nids, bool sub)
{
	long n = word_count(L, v, "spec", MAX_ITEMS);
	if (n <= 0)
		return;
	if (!(*ids = xcalloc(L, (size_t)n, sizeof **ids)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = word_item(L, v, i);
		char *id = NULL;
		if (!it || !n_str(L, it, "spec", &id))
			continue;
		if (!stmt_id_ok(id)) {
			err(L, it, "%s is not a statement id; they look like MQTT-3.3.1-8", quoted(id).s);
			free(id);
			continue;
		}
		bool listed = !sub;
		for (size_t k = 0; k < L->s->nspec && !listed; k++)
			listed = !strcmp(L->s->spec[k], id);
		if (!listed)
			err(L, it, "%s is not in the scenario's spec list; add it there (a step's spec names "
				   "which of the scenario's statements the step checks)", quoted(id).s);
		(*ids)[(*nids)++] = id;
	}
}

static void load_spec(ld *L, const yaml_node_t *v)
{
	load_ids(L, v, &L->s->spec, &L->s->nspec, false);
}

/* Returns false when something was wrong, so later checks do not build on a guess. */
static bool load_targets(ld *L, const yaml_node_t *v)
{
	static const char *const names[] = { "sim", "tcp", NULL };
	long n = word_count(L, v, "targets", MAX_ITEMS);
	if (n < 0)
		return false;
	if (n == 0) {
		err(L, v, "'targets' is empty; say where the scenario can run: [sim, tcp]");
		return false;
	}
	unsigned t = 0;
	bool ok = true;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = word_item(L, v, i);
		int c = it ? n_choice(L, it, "targets", names) : -1;
		if (c < 0)
			ok = false;
		else
			t |= c == 0 ? SC_TARGET_SIM : SC_TARGET_TCP;
	}
	if (ok)
		L->s->targets = t;
	return ok;
}

static const char *const broker_keys[] = {
	"persistence", "max_queued", "max_inflight", "queue_qos0", "drop_oldest", "sys_interval", "acl", NULL,
};

static void load_broker(ld *L, const yaml_node_t *k, const yaml_node_t *v, bool tcp_only)
{
	sc_broker *b = &L->s->broker;
	b->pos = pos_of(v);
	if (is_null(v))
		return;
	fields f;
	if (!fields_read(L, v, "broker", broker_keys, &f))
		return;
	int64_t x;
	n_bool(L, fget(&f, "persistence"), "persistence", &b->persistence);
	if (n_int(L, fget(&f, "max_queued"), "max_queued", 1, UINT32_MAX, &x))
		b->max_queued = (uint32_t)x;
	if (n_int(L, fget(&f, "max_inflight"), "max_inflight", 1, UINT16_MAX, &x))
		b->max_inflight = (uint16_t)x;
	n_bool(L, fget(&f, "queue_qos0"), "queue_qos0", &b->queue_qos0);
	n_bool(L, fget(&f, "drop_oldest"), "drop_oldest", &b->drop_oldest);
	yaml_node_t *si = fget(&f, "sys_interval");
	if (n_amount(L, si, "sys_interval", DURATION, AMT_POSITIVE | AMT_SECONDS, &x)) {
		if (x / 1000000 > UINT32_MAX)
			err(L, si, "'sys_interval' is too long, got %s", quoted(sval(si)).s);
		else {
			b->sys_interval_s = (uint32_t)(x / 1000000);
			b->has_sys_interval = true;
		}
	}
	/* An ACL file's text, checked here so a bad rule stops the run before it starts. */
	yaml_node_t *acl = fget(&f, "acl");
	if (acl && n_str(L, acl, "acl", &b->acl)) {
		char why[512];
		broker_file_auth *a = broker_auth_parse(NULL, NULL, 0, "acl", b->acl, strlen(b->acl), why, sizeof why);
		if (!a)
			err(L, acl, "the acl does not load: %s", why);
		broker_auth_free(a);
	}
	if (tcp_only && v->data.mapping.pairs.top > v->data.mapping.pairs.start)
		err(L, k, "broker options apply only to the simulated broker, but targets has no 'sim'");
}

/* ---- network --------------------------------------------------------------------------- */

static const char *const link_keys[] = {
	"latency", "jitter", "jitter_dist", "loss", "bandwidth", "slice", "coalesce", "limit",
	"close_delay", "rto", "retries", NULL,
};

static void load_link(ld *L, const yaml_node_t *v, sc_link *l)
{
	static const char *const dists[] = { "uniform", "normal", "pareto", NULL }; /* enum sim_jitter */
	sim_link *k = &l->link;
	l->pos = pos_of(v);
	fields f;
	if (!fields_read(L, v, "link", link_keys, &f))
		return;
	int64_t x;
	if (n_amount(L, fget(&f, "latency"), "latency", DURATION, 0, &x))
		k->latency_us = x;
	if (n_amount(L, fget(&f, "jitter"), "jitter", DURATION, 0, &x))
		k->jitter_us = x;
	yaml_node_t *jd = fget(&f, "jitter_dist");
	int d = jd ? n_choice(L, jd, "jitter_dist", dists) : -1;
	if (d >= 0)
		k->jitter_dist = d;
	n_fraction(L, fget(&f, "loss"), "loss", &k->loss);
	if (n_amount(L, fget(&f, "bandwidth"), "bandwidth", BITRATE, AMT_POSITIVE, &x))
		k->bandwidth_bps = (uint64_t)x;
	yaml_node_t *sl = fget(&f, "slice");
	if (n_amount(L, sl, "slice", SIZE, 0, &x)) {
		if (x > UINT32_MAX)
			err(L, sl, "'slice' is at most 4GiB, got %s", quoted(sval(sl)).s);
		else
			k->slice_max = (uint32_t)x;
	}
	if (n_amount(L, fget(&f, "coalesce"), "coalesce", DURATION, 0, &x))
		k->coalesce_us = x;
	if (n_amount(L, fget(&f, "limit"), "limit", SIZE, 0, &x))
		k->limit_bytes = (uint64_t)x;
	if (n_amount(L, fget(&f, "close_delay"), "close_delay", DURATION, 0, &x))
		k->close_delay_us = x;
	if (n_amount(L, fget(&f, "rto"), "rto", DURATION, AMT_POSITIVE, &x))
		k->rto_us = x;
	if (n_int(L, fget(&f, "retries"), "retries", 1, 1000, &x))
		k->retries = (uint32_t)x;
}

static const char *const network_keys[] = { "default", "links", NULL };

static void load_network(ld *L, const yaml_node_t *v)
{
	scenario *s = L->s;
	fields f;
	if (is_null(v) || !fields_read(L, v, "network", network_keys, &f))
		return;
	yaml_node_t *def = fget(&f, "default"), *links = fget(&f, "links");
	long nl = 0;
	if (links && is_null(links)) {
		links = NULL;
	} else if (links && links->type != YAML_MAPPING_NODE) {
		err(L, links, "expected a mapping for links (host: { latency: ... }), got %s",
		    describe(links).s);
		links = NULL;
	} else if (links) {
		nl = (long)(links->data.mapping.pairs.top - links->data.mapping.pairs.start);
		if (nl > MAX_CLIENTS + 1) {
			err(L, links, "links has %ld entries; the limit is %d", nl, MAX_CLIENTS + 1);
			links = NULL;
			nl = 0;
		}
	}
	if (!(s->links = xcalloc(L, (size_t)nl + 1, sizeof *s->links)))
		return;
	if (def)
		load_link(L, def, &s->links[s->nlinks++]);
	if (!links)
		return;
	/* Links are keyed by host, each host once. */
	sc_pos *seen = xcalloc(L, s->nclients + 1, sizeof *seen);
	if (!seen)
		return;
	for (yaml_node_pair_t *p = links->data.mapping.pairs.start; p < links->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(L, p->key), *val = node(L, p->value);
		if (!k || !val)
			break;
		if (!is_scalar(k) || is_null(k)) {
			err(L, k, "links are keyed by host (a client id or broker), got %s", describe(k).s);
			continue;
		}
		int h = host_index(L, sval(k));
		long inst;
		if (h < 0 && scenario_find_node(s, sval(k), &inst) >= 0) {
			/* A node, a fleet or one instance: each name once. */
			bool dup = false;
			for (size_t i = 0; i < s->nlinks && !dup; i++)
				dup = s->links[i].node && !strcmp(s->links[i].node, sval(k));
			if (dup) {
				err(L, k, "duplicate link for %s", quoted(sval(k)).s);
				continue;
			}
			sc_link *l = &s->links[s->nlinks++];
			l->node = xstrdup(L, sval(k));
			load_link(L, val, l);
			continue;
		}
		if (h < 0) {
			unknown_name(L, k, sval(k), true);
			continue;
		}
		if (seen[h].line) {
			err(L, k, "duplicate link for %s (first at %d:%d)", quoted(sval(k)).s, seen[h].line,
			    seen[h].col);
			continue;
		}
		seen[h] = pos_of(k);
		sc_link *l = &s->links[s->nlinks++];
		l->node = xstrdup(L, sval(k));
		load_link(L, val, l);
	}
	free(seen);
}

/* ---- faults ---------------------------------------------------------------------------- */

static const char *const fault_keys[] = {
	"at", "for", "restart_after",
	"partition", "partition_oneway", "clog", "blackhole", "reset", "crash", "drift", "jump",
	"wifi_down", NULL,
};
#define FAULT_KINDS (fault_keys + 3) /* the kind names: sim_fault_kind_parse()'s and wifi_down */
/* The kinds random_faults may draw (wifi_down is a node's own fault: see nodes' wifi). */
static const char *const random_kinds[] = {
	"partition", "partition_oneway", "clog", "blackhole", "reset", "crash", "drift", "jump", NULL,
};

static bool pair_kind(int kind)
{
	return kind >= SIM_FAULT_PARTITION && kind <= SIM_FAULT_RESET;
}

static void load_pair(ld *L, const yaml_node_t *v, const char *kind, sc_fault *ft)
{
	if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top - v->data.sequence.items.start != 2) {
		txt got = describe(v);
		if (v->type == YAML_SEQUENCE_NODE)
			snprintf(got.s, sizeof got.s, "a list of %ld",
				 (long)(v->data.sequence.items.top - v->data.sequence.items.start));
		err(L, v, "'%s' names two hosts, like [pub, broker], got %s", kind, got.s);
		return;
	}
	yaml_node_t *a = list_item(L, v, 0), *b = list_item(L, v, 1);
	if (!a || !b)
		return;
	bool ok = n_host(L, a, kind, &ft->a);
	if (n_host(L, b, kind, &ft->b) && ok && !strcmp(ft->a, ft->b))
		err(L, b, "'%s' needs two different hosts, got %s twice", kind, quoted(ft->a).s);
}

static const char *const drift_keys[] = { "node", "ppm", NULL };
static const char *const jump_keys[] = { "node", "by", NULL };

static void load_clock_fault(ld *L, const yaml_node_t *v, const char *kind, sc_fault *ft)
{
	bool drift = ft->kind == SIM_FAULT_DRIFT;
	fields f;
	if (!fields_read(L, v, kind, drift ? drift_keys : jump_keys, &f))
		return;
	if (frequire(L, &f, "node"))
		n_host(L, fget(&f, "node"), "node", &ft->a);
	int64_t by;
	if (drift && frequire(L, &f, "ppm"))
		n_number(L, fget(&f, "ppm"), "ppm", -MAX_PPM, MAX_PPM, &ft->value);
	if (!drift && frequire(L, &f, "by") &&
	    n_amount(L, fget(&f, "by"), "by", DURATION, AMT_SIGNED | AMT_POSITIVE, &by))
		ft->value = (double)by;
}

static void load_fault(ld *L, const yaml_node_t *v, sc_fault *ft)
{
	ft->pos = pos_of(v);
	fields f;
	if (!fields_read(L, v, "fault", fault_keys, &f))
		return;
	int64_t x;
	yaml_node_t *at = fget(&f, "at");
	if (frequire(L, &f, "at") && n_amount(L, at, "at", DURATION, 0, &x)) {
		ft->at_us = x;
		if (L->s->duration_us && x > L->s->duration_us)
			err(L, at, "'at' is %s, after the end of the run (duration: %s)", sval(at),
			    L->duration_text);
	}
	const char *kind = only_one(L, &f, FAULT_KINDS, "write one fault per item");
	if (!kind) {
		if (f.map && !f.unknown)
			err(L, f.map, "fault needs a kind: one of %s", join(FAULT_KINDS, count_of(FAULT_KINDS)).s);
		return;
	}
	ft->kind = !strcmp(kind, "wifi_down") ? SC_FAULT_WIFI_DOWN : sim_fault_kind_parse(kind);
	yaml_node_t *kv = fget(&f, kind);
	if (ft->kind == SC_FAULT_WIFI_DOWN) {
		const char *t = scalar(L, kv, kind, "a node id");
		long inst;
		if (t && scenario_find_node(L->s, t, &inst) < 0)
			err(L, kv, "wifi_down names a node (or a fleet like sensor-{i}), got %s%s", quoted(t).s,
			    L->s->nnodes ? "" : ": no nodes are declared");
		else if (t)
			ft->a = xstrdup(L, t);
	} else if (pair_kind(ft->kind))
		load_pair(L, kv, kind, ft);
	else if (ft->kind == SIM_FAULT_CRASH)
		n_host(L, kv, kind, &ft->a);
	else
		load_clock_fault(L, kv, kind, ft);

	/* How long it lasts: `for`, or `restart_after` for a crash; instants have neither. */
	bool instant = ft->kind == SIM_FAULT_RESET || ft->kind == SIM_FAULT_JUMP;
	yaml_node_t *fv = fget(&f, "for"), *ra = fget(&f, "restart_after");
	if (fv && instant)
		err(L, fkey(&f, "for"), "a %s is instantaneous; 'for' does not apply", kind);
	else if (fv && ft->kind == SIM_FAULT_CRASH)
		err(L, fkey(&f, "for"), "a crash lasts until 'restart_after'; use that instead of 'for'");
	else if (n_amount(L, fv, "for", DURATION, AMT_POSITIVE, &x))
		ft->for_us = x;
	if (ra && ft->kind != SIM_FAULT_CRASH)
		err(L, fkey(&f, "restart_after"), "'restart_after' applies only to crash");
	else if (n_amount(L, ra, "restart_after", DURATION, AMT_POSITIVE, &x))
		ft->for_us = x;
}

static void load_faults(ld *L, const yaml_node_t *v)
{
	scenario *s = L->s;
	long n = list_count(L, v, "faults", MAX_FAULTS);
	if (n <= 0 || !(s->faults = xcalloc(L, (size_t)n, sizeof *s->faults)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = list_item(L, v, i);
		if (!it)
			return;
		load_fault(L, it, &s->faults[s->nfaults++]);
	}
}

static const char *const rate_keys[] = { "per_hour", "mean", "ppm", "by", NULL };

/* A range for swarm testing (mqttsim explore --swarm): `per_hour: [0, 20]`, `mean: [2s, 1m]`.
 * Returns true when v is a list (reported if it is not a good range); the upper end goes into
 * r (what a run without --swarm uses), the lower into lo. */
static bool rate_range(ld *L, const yaml_node_t *v, const char *key, int k, bool duration,
		       sim_fault_rates *lo, sim_fault_rates *r)
{
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return false;
	L->s->random_faults.ranged = true;
	if (v->data.sequence.items.top - v->data.sequence.items.start != 2) {
		err(L, v, "a range for '%s' has two ends, like [%s], got a list of %ld", key,
		    duration ? "2s, 30s" : "0, 20",
		    (long)(v->data.sequence.items.top - v->data.sequence.items.start));
		return true;
	}
	yaml_node_t *a = list_item(L, v, 0), *b = list_item(L, v, 1);
	if (!a || !b)
		return true;
	if (duration) {
		int64_t x, y;
		bool ok = n_amount(L, a, key, DURATION, AMT_POSITIVE, &x);
		if (!n_amount(L, b, key, DURATION, AMT_POSITIVE, &y) || !ok)
			return true;
		if (x > y)
			err(L, v, "the range for '%s' runs backwards: %s is more than %s", key, sval(a), sval(b));
		lo->mean_duration_us[k] = x;
		r->mean_duration_us[k] = y;
	} else {
		double x, y;
		bool ok = n_number(L, a, key, 0, 1e6, &x);
		if (!n_number(L, b, key, 0, 1e6, &y) || !ok)
			return true;
		if (x > y)
			err(L, v, "the range for '%s' runs backwards: %s is more than %s", key, sval(a), sval(b));
		lo->per_hour[k] = x;
		r->per_hour[k] = y;
	}
	return true;
}

static void load_rate(ld *L, const yaml_node_t *v, const char *kind, sim_fault_rates *r,
		      sim_fault_rates *lo)
{
	int k = sim_fault_kind_parse(kind);
	char what[40];
	snprintf(what, sizeof what, "random %s", kind);
	fields f;
	if (!fields_read(L, v, what, rate_keys, &f))
		return;
	int64_t x;
	yaml_node_t *ph = fget(&f, "per_hour");
	if (frequire(L, &f, "per_hour") && !rate_range(L, ph, "per_hour", k, false, lo, r) &&
	    n_number(L, ph, "per_hour", 0, 1e6, &r->per_hour[k]))
		lo->per_hour[k] = r->per_hour[k];
	/* Which kinds last (mean), and which carry a size (ppm for drift, by for jump). */
	bool instant = k == SIM_FAULT_RESET || k == SIM_FAULT_JUMP;
	yaml_node_t *mean = fget(&f, "mean");
	if (mean && instant)
		err(L, fkey(&f, "mean"), "a %s is instantaneous; 'mean' does not apply", kind);
	else if (!mean && !instant && k != SIM_FAULT_DRIFT)
		err(L, f.map, "%s needs 'mean' (how long each one lasts, e.g. 30s)", what);
	else if (!rate_range(L, mean, "mean", k, true, lo, r) &&
		 n_amount(L, mean, "mean", DURATION, AMT_POSITIVE, &x))
		lo->mean_duration_us[k] = r->mean_duration_us[k] = x;
	if (fget(&f, "ppm") && k != SIM_FAULT_DRIFT)
		err(L, fkey(&f, "ppm"), "'ppm' applies only to drift");
	else if (k == SIM_FAULT_DRIFT && frequire(L, &f, "ppm"))
		n_number(L, fget(&f, "ppm"), "ppm", 0, MAX_PPM, &r->value[k]);
	if (fget(&f, "by") && k != SIM_FAULT_JUMP)
		err(L, fkey(&f, "by"), "'by' applies only to jump");
	else if (k == SIM_FAULT_JUMP && frequire(L, &f, "by") &&
		 n_amount(L, fget(&f, "by"), "by", DURATION, AMT_POSITIVE, &x))
		r->value[k] = (double)x;
}

static void load_random_faults(ld *L, const yaml_node_t *v)
{
	sc_random_faults *rf = &L->s->random_faults;
	rf->pos = pos_of(v);
	fields f;
	if (is_null(v) || !fields_read(L, v, "random_faults", random_kinds, &f))
		return;
	for (const char *const *k = random_kinds; *k; k++) {
		yaml_node_t *kv = fget(&f, *k);
		if (!kv)
			continue;
		rf->on = true;
		load_rate(L, kv, *k, &rf->rates, &rf->lo);
	}
}

/* ---- steps ----------------------------------------------------------------------------- */

static const char *const will_keys[] = { "topic", "payload", "qos", "retain", NULL };

static void load_will(ld *L, const yaml_node_t *v, sc_step *st)
{
	fields f;
	if (!fields_read(L, v, "will", will_keys, &f))
		return;
	st->will = true;
	if (frequire(L, &f, "topic"))
		n_topic(L, fget(&f, "topic"), "topic", false, &st->will_topic);
	n_str(L, fget(&f, "payload"), "payload", &st->will_payload);
	n_qos(L, fget(&f, "qos"), &st->will_qos);
	n_bool(L, fget(&f, "retain"), "retain", &st->will_retain);
	if (!st->will_payload)
		st->will_payload = xstrdup(L, "");
}

static const char *const connect_keys[] = {
	"client_id", "clean_session", "keepalive", "username", "password", "will", "rc",
	"session_present", "wait_connack", "within", NULL,
};

static void step_connect(ld *L, const yaml_node_t *v, sc_step *st)
{
	st->clean = true;
	st->keepalive_s = DEFAULT_KEEPALIVE_S;
	st->wait_connack = true;
	st->within_us = DEFAULT_WITHIN_US;
	st->connack.type = MQTT_CONNACK;
	st->connack.has_rc = true;
	fields f;
	if (is_null(v) || !fields_read(L, v, "connect", connect_keys, &f))
		return;
	int64_t x;
	n_str(L, fget(&f, "client_id"), "client_id", &st->client_id);
	n_bool(L, fget(&f, "clean_session"), "clean_session", &st->clean);
	yaml_node_t *ka = fget(&f, "keepalive");
	if (n_amount(L, ka, "keepalive", DURATION, AMT_SECONDS, &x)) {
		if (x / 1000000 > UINT16_MAX)
			err(L, ka, "'keepalive' is at most 65535s (18h12m15s), got %s", quoted(sval(ka)).s);
		else
			st->keepalive_s = (uint16_t)(x / 1000000);
	}
	n_str(L, fget(&f, "username"), "username", &st->username);
	n_str(L, fget(&f, "password"), "password", &st->password);
	if (fget(&f, "will"))
		load_will(L, fget(&f, "will"), st);
	if (n_int(L, fget(&f, "rc"), "rc", 0, 255, &x))
		st->connack.rc = (uint8_t)x;
	if (n_bool(L, fget(&f, "session_present"), "session_present", &st->connack.session_present))
		st->connack.has_session_present = true;
	n_bool(L, fget(&f, "wait_connack"), "wait_connack", &st->wait_connack);
	n_amount(L, fget(&f, "within"), "within", DURATION, AMT_POSITIVE, &st->within_us);
	if (!st->wait_connack) {
		static const char *const waits[] = { "rc", "session_present", "within" };
		for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++)
			if (fkey(&f, waits[i]))
				err(L, fkey(&f, waits[i]),
				    "'%s' is about the CONNACK, but wait_connack is false", waits[i]);
	}
}

static const char *const sub_keys[] = { "filter", "qos", NULL };

static void step_subscribe(ld *L, const yaml_node_t *v, sc_step *st)
{
	/* A list of { filter, qos }, or one of them alone. */
	bool one = v->type == YAML_MAPPING_NODE;
	long n = one ? 1 : list_count(L, v, "subscribe", MAX_ITEMS);
	if (n == 0)
		err(L, v, "'subscribe' needs at least one { filter, qos } (use send for an empty SUBSCRIBE)");
	if (n <= 0 || !(st->subs = xcalloc(L, (size_t)n, sizeof *st->subs)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = one ? (yaml_node_t *)v : list_item(L, v, i);
		fields f;
		if (!it || !fields_read(L, it, "subscription", sub_keys, &f))
			continue;
		sc_sub *sub = &st->subs[st->nsubs++];
		if (frequire(L, &f, "filter"))
			n_topic(L, fget(&f, "filter"), "filter", true, &sub->filter);
		n_qos(L, fget(&f, "qos"), &sub->qos);
	}
}

static void step_unsubscribe(ld *L, const yaml_node_t *v, sc_step *st)
{
	long n = word_count(L, v, "unsubscribe", MAX_ITEMS);
	if (n == 0)
		err(L, v, "'unsubscribe' needs at least one filter (use send for an empty UNSUBSCRIBE)");
	if (n <= 0 || !(st->subs = xcalloc(L, (size_t)n, sizeof *st->subs)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = word_item(L, v, i);
		if (it)
			n_topic(L, it, "unsubscribe", true, &st->subs[st->nsubs++].filter);
	}
}

static const char *const publish_keys[] = { "topic", "payload", "qos", "retain", "dup", "id", NULL };

static void step_publish(ld *L, const yaml_node_t *v, sc_step *st)
{
	fields f;
	if (!fields_read(L, v, "publish", publish_keys, &f))
		return;
	if (frequire(L, &f, "topic"))
		n_topic(L, fget(&f, "topic"), "topic", false, &st->topic);
	n_str(L, fget(&f, "payload"), "payload", &st->payload);
	n_qos(L, fget(&f, "qos"), &st->qos);
	n_bool(L, fget(&f, "retain"), "retain", &st->retain);
	n_bool(L, fget(&f, "dup"), "dup", &st->dup);
	int64_t x;
	if (n_int(L, fget(&f, "id"), "id", 1, UINT16_MAX, &x)) {
		st->id = (uint16_t)x;
		if (st->qos == 0)
			err(L, fkey(&f, "id"), "'id' needs qos 1 or 2: a QoS 0 PUBLISH has no packet id");
	}
	if (!st->payload)
		st->payload = xstrdup(L, "");
}

/* disconnect: true, drop: true, open: true. */
static void step_flag(ld *L, const yaml_node_t *v, sc_step *st)
{
	const char *key = st->kind == SC_DISCONNECT ? "disconnect" : st->kind == SC_OPEN ? "open" : "drop";
	bool on;
	if (n_bool(L, v, key, &on) && !on)
		err(L, v, "'%s: false' does nothing; write '%s: true' or remove the step", key, key);
}

static void step_wait(ld *L, const yaml_node_t *v, sc_step *st)
{
	n_amount(L, v, "wait", DURATION, 0, &st->for_us);
}

/* ack: PUBACK | PUBREC | PUBREL | PUBCOMP, with the id of the last packet an expect matched. */
static void step_ack(ld *L, const yaml_node_t *v, sc_step *st)
{
	int type = 0;
	if (v && v->type == YAML_MAPPING_NODE) {
		/* ack: { packet: PUBREC, id: "@name" } */
		static const char *const ack_keys[] = { "packet", "id", NULL };
		fields f;
		if (!fields_read(L, v, "ack", ack_keys, &f))
			return;
		yaml_node_t *idn = fget(&f, "id");
		if (idn && is_scalar(idn) && sval(idn)[0] == '@' && sval(idn)[1])
			st->match.id_ref = xstrdup(L, sval(idn) + 1);
		else if (idn)
			err(L, idn, "an ack's id names a remembered one, like \"@first\" (set with expect's 'as')");
		if (!frequire(L, &f, "packet"))
			return;
		v = fget(&f, "packet");
	}
	if (!n_packet(L, v, "ack", &type))
		return;
	if (type < MQTT_PUBACK || type > MQTT_PUBCOMP) {
		err(L, v, "'ack' sends PUBACK, PUBREC, PUBREL or PUBCOMP, not %s", mqtt_type_name((unsigned)type));
		return;
	}
	st->ack_type = (uint8_t)type;
}

static void step_send(ld *L, const yaml_node_t *v, sc_step *st)
{
	const char *t = scalar(L, v, "send", "hex bytes like \"30 05 00 01 2b 78 78\"");
	if (!t)
		return;
	size_t cap = strlen(t) / 2 + 1;
	char msg[160];
	if (!(st->raw = xcalloc(L, cap, 1)))
		return;
	long n = hex_parse(t, st->raw, cap, msg, sizeof msg);
	if (n < 0)
		err(L, v, "bad hex in 'send': %s", msg);
	else if (n == 0)
		err(L, v, "'send' has no bytes; give hex like \"30 05 00 01 2b 78 78\"");
	else
		st->raw_len = (size_t)n;
}

/* What each packet a client can receive can be matched on. */
enum {
	M_TOPIC = 1 << 0, M_PAYLOAD = 1 << 1, M_QOS = 1 << 2, M_RETAIN = 1 << 3, M_DUP = 1 << 4,
	M_RC = 1 << 5, M_SP = 1 << 6, M_ID = 1 << 7, M_CODES = 1 << 8,
	M_RECEIVED = 1 << 15,
};

static const unsigned packet_fields[16] = {
	[MQTT_CONNACK] = M_RECEIVED | M_RC | M_SP,
	[MQTT_PUBLISH] = M_RECEIVED | M_TOPIC | M_PAYLOAD | M_QOS | M_RETAIN | M_DUP | M_ID,
	[MQTT_PUBACK] = M_RECEIVED | M_ID | M_RC,
	[MQTT_PUBREC] = M_RECEIVED | M_ID | M_RC,
	[MQTT_PUBREL] = M_RECEIVED | M_ID | M_RC,
	[MQTT_PUBCOMP] = M_RECEIVED | M_ID | M_RC,
	[MQTT_SUBACK] = M_RECEIVED | M_ID | M_CODES,
	[MQTT_UNSUBACK] = M_RECEIVED | M_ID | M_CODES,
	[MQTT_PINGRESP] = M_RECEIVED,
	[MQTT_DISCONNECT] = M_RECEIVED | M_RC, /* 5.0 */
	[MQTT_AUTH] = M_RECEIVED | M_RC,       /* 5.0 */
};

static const struct { const char *key; unsigned bit; } match_fields[] = {
	{ "topic", M_TOPIC }, { "payload", M_PAYLOAD }, { "qos", M_QOS }, { "retain", M_RETAIN },
	{ "dup", M_DUP }, { "rc", M_RC }, { "session_present", M_SP }, { "id", M_ID },
	{ "codes", M_CODES },
};

static bool n_packet_received(ld *L, const yaml_node_t *v, int *type)
{
	if (!n_packet(L, v, "packet", type))
		return false;
	if (packet_fields[*type] & M_RECEIVED)
		return true;
	err(L, v, "a client never receives %s; expect what the broker sends (CONNACK, PUBLISH, "
		  "PUBACK, SUBACK, ...)", mqtt_type_name((unsigned)*type));
	return false;
}

static void load_codes(ld *L, const yaml_node_t *v, sc_match *m)
{
	long n = word_count(L, v, "codes", MAX_ITEMS);
	if (n < 0 || !(m->codes = xcalloc(L, (size_t)n, 1)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = word_item(L, v, i);
		int64_t x;
		if (it && n_int(L, it, "codes", 0, 255, &x))
			m->codes[m->ncodes++] = (uint8_t)x;
	}
}

static const char *const expect_keys[] = {
	"packet", "topic", "payload", "qos", "retain", "dup", "rc", "session_present", "id", "codes",
	"first", "as", "again", "within", NULL,
};

static void step_expect(ld *L, const yaml_node_t *v, sc_step *st)
{
	sc_match *m = &st->match;
	st->within_us = DEFAULT_WITHIN_US;
	fields f;
	if (!fields_read(L, v, "expect", expect_keys, &f))
		return;
	int type = 0;
	if (frequire(L, &f, "packet") && n_packet_received(L, fget(&f, "packet"), &type)) {
		m->type = type;
		/* A field the packet does not have could never match: say so now. */
		for (size_t i = 0; i < sizeof match_fields / sizeof match_fields[0]; i++)
			if (fkey(&f, match_fields[i].key) && !(packet_fields[type] & match_fields[i].bit))
				err(L, fkey(&f, match_fields[i].key), "%s has no '%s' to match",
				    mqtt_type_name((unsigned)type), match_fields[i].key);
	}
	int64_t x;
	n_topic(L, fget(&f, "topic"), "topic", false, &m->topic);
	n_str(L, fget(&f, "payload"), "payload", &m->payload);
	m->has_qos = n_qos(L, fget(&f, "qos"), &m->qos);
	m->has_retain = n_bool(L, fget(&f, "retain"), "retain", &m->retain);
	m->has_dup = n_bool(L, fget(&f, "dup"), "dup", &m->dup);
	if ((m->has_rc = n_int(L, fget(&f, "rc"), "rc", 0, 255, &x)))
		m->rc = (uint8_t)x;
	m->has_session_present = n_bool(L, fget(&f, "session_present"), "session_present",
					 &m->session_present);
	/* id: a number, or "same": the id of the packet the client's last expect matched
	 * (brokers choose their own ids; this checks one is reused without assuming it). */
	yaml_node_t *idn = fget(&f, "id");
	if (idn && is_scalar(idn) && !strcmp(sval(idn), "same"))
		m->id_same = true;
	else if (idn && is_scalar(idn) && sval(idn)[0] == '@' && sval(idn)[1])
		m->id_ref = xstrdup(L, sval(idn) + 1);
	else if ((m->has_id = n_int(L, idn, "id", 1, UINT16_MAX, &x)))
		m->id = (uint16_t)x;
	/* as: NAME remembers the matched packet's id, for later `id: "@NAME"` and acks. */
	n_str(L, fget(&f, "as"), "as", &m->save_as);
	if (fget(&f, "codes"))
		load_codes(L, fget(&f, "codes"), m);
	n_bool(L, fget(&f, "first"), "first", &m->first);
	n_amount(L, fget(&f, "within"), "within", DURATION, AMT_POSITIVE, &st->within_us);
	/* again: true checks more fields of the packet the client's last expect matched, so
	 * one packet's properties can be checked by steps naming different statements. */
	if (n_bool(L, fget(&f, "again"), "again", &m->again) && m->again) {
		static const char *const not_again[] = { "within", "first", "as" };
		for (size_t i = 0; i < sizeof not_again / sizeof not_again[0]; i++)
			if (fkey(&f, not_again[i]))
				err(L, fkey(&f, not_again[i]), "'%s' does not go with 'again: true' (that checks the "
								"packet already matched, waiting for nothing)", not_again[i]);
	}
}

static const char *const expect_none_keys[] = { "packet", "for", NULL };

static void step_expect_none(ld *L, const yaml_node_t *v, sc_step *st)
{
	fields f;
	if (!fields_read(L, v, "expect_none", expect_none_keys, &f))
		return;
	int type;
	if (fget(&f, "packet") && n_packet_received(L, fget(&f, "packet"), &type))
		st->match.type = type;
	if (frequire(L, &f, "for"))
		n_amount(L, fget(&f, "for"), "for", DURATION, AMT_POSITIVE, &st->for_us);
}

static const char *const expect_closed_keys[] = { "within", NULL };

static void step_expect_closed(ld *L, const yaml_node_t *v, sc_step *st)
{
	st->within_us = DEFAULT_WITHIN_US;
	fields f;
	bool on;
	/* `expect_closed: {}`, `expect_closed: true` and a bare `expect_closed:` all mean the default. */
	if (is_null(v))
		return;
	if (is_scalar(v)) {
		if (n_bool(L, v, "expect_closed", &on) && !on)
			err(L, v, "'expect_closed: false' does nothing; remove the step");
		return;
	}
	if (fields_read(L, v, "expect_closed", expect_closed_keys, &f))
		n_amount(L, fget(&f, "within"), "within", DURATION, AMT_POSITIVE, &st->within_us);
}

static const struct action {
	const char *key;
	int kind;
	void (*load)(ld *L, const yaml_node_t *v, sc_step *st);
} actions[] = {
	{ "connect", SC_CONNECT, step_connect },
	{ "subscribe", SC_SUBSCRIBE, step_subscribe },
	{ "unsubscribe", SC_UNSUBSCRIBE, step_unsubscribe },
	{ "publish", SC_PUBLISH, step_publish },
	{ "disconnect", SC_DISCONNECT, step_flag },
	{ "drop", SC_DROP, step_flag },
	{ "open", SC_OPEN, step_flag },
	{ "wait", SC_WAIT, step_wait },
	{ "send", SC_RAW, step_send },
	{ "ack", SC_ACK, step_ack },
	{ "expect", SC_EXPECT, step_expect },
	{ "expect_none", SC_EXPECT_NONE, step_expect_none },
	{ "expect_closed", SC_EXPECT_CLOSED, step_expect_closed },
};
#define NACTIONS (sizeof actions / sizeof actions[0])

static const char *const step_keys[] = {
	"client", "spec", "connect", "subscribe", "unsubscribe", "publish", "disconnect", "drop", "wait",
	"send", "open", "ack", "expect", "expect_none", "expect_closed", NULL,
};
#define STEP_ACTIONS (step_keys + 2)

static void load_step(ld *L, const yaml_node_t *v, sc_step *st)
{
	st->client = -1;
	st->pos = pos_of(v);
	fields f;
	if (!fields_read(L, v, "step", step_keys, &f))
		return;
	const char *name = only_one(L, &f, STEP_ACTIONS, "split it into two steps");
	const struct action *act = NULL;
	for (size_t i = 0; name && i < NACTIONS; i++)
		if (!strcmp(actions[i].key, name))
			act = &actions[i];
	if (!act && !f.unknown)
		err(L, v, "step has nothing to do: give one of %s",
		    join(STEP_ACTIONS, count_of(STEP_ACTIONS)).s);
	if (fget(&f, "client"))
		n_client(L, fget(&f, "client"), "client", &st->client);
	else if (act && act->kind != SC_WAIT && !(f.suggested & (1u << slot(&f, "client"))))
		err(L, v, "step needs 'client' (the client that does '%s')", act->key);
	if (act) {
		st->kind = act->kind;
		act->load(L, fget(&f, act->key), st);
	}
	yaml_node_t *sp = fget(&f, "spec");
	if (sp) {
		load_ids(L, sp, &st->spec, &st->nspec, true);
	}
}

static void load_steps(ld *L, const yaml_node_t *v)
{
	scenario *s = L->s;
	long n = list_count(L, v, "steps", MAX_STEPS);
	if (n <= 0 || !(s->steps = xcalloc(L, (size_t)n, sizeof *s->steps)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = list_item(L, v, i);
		if (!it)
			return;
		load_step(L, it, &s->steps[s->nsteps++]);
	}
}

/* ---- nodes: simulated NodeMCU devices -------------------------------------------------- */

/* "{i}" appears in a template at most once, elsewhere the id is a word. */
static bool node_id_ok(const char *id, bool *tmpl)
{
	const char *at = strstr(id, "{i}");
	*tmpl = at != NULL;
	if (at && strstr(at + 3, "{i}"))
		return false;
	char buf[NM_MAX_TEMPLATE];
	return nm_expand(id, 1, buf, sizeof buf) && word_ok(buf) && !strchr(buf, '{') && !strchr(buf, '}');
}

/* The instance a fleet template gives `name`: 1..count, -1 for the template itself, 0 none. */
static long template_inst(const nm_config *c, const char *name)
{
	const char *at = strstr(c->id, "{i}");
	if (!strcmp(c->id, name))
		return -1;
	if (!at)
		return 0;
	size_t pl = (size_t)(at - c->id), sl = strlen(at + 3), nl = strlen(name);
	if (nl <= pl + sl || strncmp(name, c->id, pl) || strcmp(name + nl - sl, at + 3))
		return 0;
	long v = 0;
	for (size_t i = pl; i < nl - sl; i++) {
		if (!is_digit(name[i]) || (i == pl && name[i] == '0') || v > 100000000)
			return 0;
		v = v * 10 + (name[i] - '0');
	}
	return v >= 1 && v <= (long)c->count ? v : 0;
}

int scenario_find_node(const scenario *s, const char *name, long *inst)
{
	for (size_t k = 0; k < s->nnodes; k++) {
		const nm_config *c = &s->nodes[k].cfg;
		if (!c->id)
			continue;
		if (!s->nodes[k].is_template) {
			if (!strcmp(c->id, name)) {
				*inst = 0;
				return (int)k;
			}
			continue;
		}
		long v = template_inst(c, name);
		if (v) {
			*inst = v;
			return (int)k;
		}
	}
	return -1;
}

const char *const sc_node_stat_names[] = {
	"-", "boots", "wifi_drops", "attempts", "connects", "drops", "ping_timeouts", "readings",
	"published", "refused", "offline", "discarded", "received", "oversized_in", "sleeps", NULL,
};

uint64_t sc_node_stat(const nm_stats *st, int stat)
{
	switch (stat) {
	case SC_STAT_BOOTS: return st->boots;
	case SC_STAT_WIFI_DROPS: return st->wifi_drops;
	case SC_STAT_ATTEMPTS: return st->attempts;
	case SC_STAT_CONNECTS: return st->connects;
	case SC_STAT_DROPS: return st->drops;
	case SC_STAT_PING_TIMEOUTS: return st->ping_timeouts;
	case SC_STAT_READINGS: return st->readings;
	case SC_STAT_PUBLISHED: return st->published;
	case SC_STAT_REFUSED: return st->refused;
	case SC_STAT_OFFLINE: return st->offline;
	case SC_STAT_DISCARDED: return st->discarded;
	case SC_STAT_RECEIVED: return st->received;
	case SC_STAT_OVERSIZED_IN: return st->oversized_in;
	case SC_STAT_SLEEPS: return st->sleeps;
	default: return 0;
	}
}

static const char *const node_keys[] = {
	"id", "count", "firmware", "client_id", "clean_session", "keepalive", "will", "buffer_size",
	"wifi", "deep_sleep", "sensors", "subscribe", "resubscribe", "timers", "boot_spread", NULL,
};
static const char *const wifi_keys[] = { "assoc", "jitter", "static_ip", "drops_per_hour", "drop_for", NULL };
static const char *const sleep_keys[] = { "sleep", "awake", "awake_max", "disconnect", NULL };
static const char *const timer_keys[] = { "socket_timeout", "connect_timeout", "reconnect", "queue", NULL };
static const char *const sensor_keys[] = {
	"type", "topic", "every", "qos", "retain", "payload", "batch", "board", "noise", "walk", "curve",
	"dry", "wet", NULL,
};
static const char *const walk_keys[] = { "start", "step", "min", "max", NULL };

static void load_walk(ld *L, const yaml_node_t *v, sensor_cfg *c)
{
	fields f;
	if (!fields_read(L, v, "walk", walk_keys, &f))
		return;
	n_number(L, fget(&f, "start"), "start", -1e6, 1e6, &c->start);
	n_number(L, fget(&f, "step"), "step", 0, 1e6, &c->step);
	n_number(L, fget(&f, "min"), "min", -1e6, 1e6, &c->min);
	n_number(L, fget(&f, "max"), "max", -1e6, 1e6, &c->max);
	if (c->min > c->max)
		err(L, v, "walk: 'min' (%g) is above 'max' (%g)", c->min, c->max);
	else if (c->start < c->min || c->start > c->max)
		err(L, v, "walk: 'start' (%g) lies outside min..max (%g..%g)", c->start, c->min, c->max);
}

/* curve: [[0s, 20], [1h, 30]]: (time, value) points, times increasing. */
static void load_curve(ld *L, const yaml_node_t *v, sensor_cfg *c)
{
	long n = list_count(L, v, "curve", SENSOR_MAX_CURVE);
	if (n == 0)
		err(L, v, "'curve' needs at least one point, like [[0s, 20], [1h, 30]]");
	if (n <= 0 || !(c->curve = xcalloc(L, (size_t)n, sizeof *c->curve)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = list_item(L, v, i);
		if (!it)
			return;
		if (it->type != YAML_SEQUENCE_NODE || it->data.sequence.items.top - it->data.sequence.items.start != 2) {
			err(L, it, "a curve point is [time, value], like [10m, 25.5], got %s", describe(it).s);
			continue;
		}
		yaml_node_t *t = list_item(L, it, 0), *val = list_item(L, it, 1);
		int64_t at;
		double x;
		if (!t || !val || !n_amount(L, t, "curve time", DURATION, 0, &at) ||
		    !n_number(L, val, "curve value", -1e6, 1e6, &x))
			continue;
		if (c->ncurve && at <= c->curve[c->ncurve - 1].t) {
			err(L, t, "curve times must increase; %s is not after the point before", quoted(sval(t)).s);
			continue;
		}
		c->curve[c->ncurve++] = (sensor_point){ at, x };
	}
}

static void load_sensor(ld *L, const yaml_node_t *v, nm_sensor *ns, const nm_config *nc)
{
	static const char *const types[] = { "tmp36", "soil", NULL };
	static const char *const formats[] = { "number", "json", NULL };
	static const char *const boards[] = { "nodemcu", "bare", NULL };
	fields f;
	int type = SENSOR_TMP36;
	ns->every_us = SIM_S(10);
	ns->batch = 1;
	sensor_cfg_defaults(&ns->s, type);
	if (!fields_read(L, v, "sensor", sensor_keys, &f))
		return;
	if (frequire(L, &f, "type")) {
		int t = n_choice(L, fget(&f, "type"), "type", types);
		if (t >= 0)
			sensor_cfg_defaults(&ns->s, type = t + 1);
	}
	if (frequire(L, &f, "topic"))
		n_topic(L, fget(&f, "topic"), "topic", false, &ns->topic);
	int64_t x;
	if (n_amount(L, fget(&f, "every"), "every", DURATION, AMT_POSITIVE, &x))
		ns->every_us = x;
	yaml_node_t *q = fget(&f, "qos");
	if (n_qos(L, q, &ns->qos) && ns->qos > nc->fw.max_pub_qos)
		err(L, q, "%s publishes at QoS %u at most%s; got qos %u", nm_firmware_name(nc->fw.firmware),
		    nc->fw.max_pub_qos,
		    nc->fw.firmware == NM_PUBSUBCLIENT ? " (PubSubClient's publish() has no QoS argument)" : "",
		    ns->qos);
	n_bool(L, fget(&f, "retain"), "retain", &ns->retain);
	yaml_node_t *pv = fget(&f, "payload");
	int fm = pv ? n_choice(L, pv, "payload", formats) : -1;
	if (fm >= 0)
		ns->format = fm;
	yaml_node_t *bv = fget(&f, "batch");
	if (n_int(L, bv, "batch", 1, SENSOR_MAX_BATCH, &x)) {
		ns->batch = (uint16_t)x;
		if (x > 1 && ns->format != FORMAT_JSON)
			err(L, bv, "'batch' puts the last readings in a JSON list; it needs payload: json");
	}
	yaml_node_t *bd = fget(&f, "board");
	int b = bd ? n_choice(L, bd, "board", boards) : -1;
	if (b >= 0)
		ns->s.board = b;
	n_number(L, fget(&f, "noise"), "noise", 0, 100, &ns->s.noise_lsb);
	yaml_node_t *wv = fget(&f, "walk"), *cv = fget(&f, "curve");
	if (wv && cv)
		err(L, fkey(&f, "curve"), "a sensor follows a 'walk' or a 'curve', not both");
	else if (wv)
		load_walk(L, wv, &ns->s);
	else if (cv)
		load_curve(L, cv, &ns->s);
	yaml_node_t *dv = fget(&f, "dry"), *wt = fget(&f, "wet");
	if ((dv || wt) && type != SENSOR_SOIL)
		err(L, fkey(&f, dv ? "dry" : "wet"), "'dry' and 'wet' calibrate a soil sensor only");
	if (n_int(L, dv, "dry", 0, SENSOR_ADC_MAX, &x))
		ns->s.dry_raw = (uint16_t)x;
	if (n_int(L, wt, "wet", 0, SENSOR_ADC_MAX, &x))
		ns->s.wet_raw = (uint16_t)x;
	if (type == SENSOR_SOIL && ns->s.wet_raw >= ns->s.dry_raw)
		err(L, wt ? wt : v, "a soil probe reads lower when wet: 'wet' (%u) must be below 'dry' (%u)",
		    ns->s.wet_raw, ns->s.dry_raw);
}

static void load_node_will(ld *L, const yaml_node_t *v, nm_config *c)
{
	fields f;
	if (!fields_read(L, v, "will", will_keys, &f))
		return;
	c->has_will = true;
	if (frequire(L, &f, "topic"))
		n_topic(L, fget(&f, "topic"), "topic", false, &c->will_topic);
	n_str(L, fget(&f, "payload"), "payload", &c->will_payload);
	n_qos(L, fget(&f, "qos"), &c->will_qos);
	n_bool(L, fget(&f, "retain"), "retain", &c->will_retain);
}

static void load_node_subs(ld *L, const yaml_node_t *v, nm_config *c)
{
	long n = list_count(L, v, "subscribe", NM_MAX_SUBS);
	if (n <= 0 || !(c->subs = xcalloc(L, (size_t)n, sizeof *c->subs)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = list_item(L, v, i);
		fields f;
		if (!it || !fields_read(L, it, "subscription", sub_keys, &f))
			continue;
		nm_sub *s = &c->subs[c->nsubs++];
		if (frequire(L, &f, "filter"))
			n_topic(L, fget(&f, "filter"), "filter", true, &s->filter);
		yaml_node_t *q = fget(&f, "qos");
		if (n_qos(L, q, &s->qos) && s->qos > c->fw.max_sub_qos)
			err(L, q, "%s subscribes at QoS %u at most; got qos %u", nm_firmware_name(c->fw.firmware),
			    c->fw.max_sub_qos, s->qos);
	}
}

static void load_node(ld *L, const yaml_node_t *v, sc_node *sn)
{
	static const char *const fws[] = { "pubsubclient", "nodemcu-lua", NULL };
	nm_config *c = &sn->cfg;
	nm_config_defaults(c, NM_PUBSUBCLIENT);
	sn->pos = pos_of(v);
	fields f;
	if (!fields_read(L, v, "node", node_keys, &f))
		return;
	int64_t x;
	/* The firmware first: its defaults are what the other keys change. */
	if (frequire(L, &f, "firmware")) {
		int fw = n_choice(L, fget(&f, "firmware"), "firmware", fws);
		if (fw >= 0)
			nm_config_defaults(c, fw + 1);
	}
	yaml_node_t *id = fget(&f, "id");
	if (frequire(L, &f, "id") && n_str(L, id, "id", &c->id)) {
		if (!node_id_ok(c->id, &sn->is_template))
			err(L, id, "node id %s may use only letters, digits, '-', '_' and '.', and '{i}' once "
				   "(it names hosts)", quoted(c->id).s);
		else if (!strcmp(c->id, "broker"))
			err(L, id, "'broker' names the broker host; give the node another id");
	}
	yaml_node_t *cv = fget(&f, "count");
	if (n_int(L, cv, "count", 1, NM_MAX_NODES, &x)) {
		c->count = (uint32_t)x;
		if (x > 1 && c->id && !sn->is_template)
			err(L, cv, "a fleet of %lld nodes needs '{i}' in its id (like sensor-{i}) to name each one",
			    (long long)x);
	}
	n_str(L, fget(&f, "client_id"), "client_id", &c->client_id);
	n_bool(L, fget(&f, "clean_session"), "clean_session", &c->clean_session);
	yaml_node_t *ka = fget(&f, "keepalive");
	if (n_amount(L, ka, "keepalive", DURATION, AMT_SECONDS, &x)) {
		if (x / 1000000 > 65535)
			err(L, ka, "'keepalive' is at most 65535s (a 16-bit field), got %s", quoted(sval(ka)).s);
		else
			c->fw.keepalive_s = (uint16_t)(x / 1000000);
	}
	if (fget(&f, "will"))
		load_node_will(L, fget(&f, "will"), c);
	yaml_node_t *bs = fget(&f, "buffer_size");
	if (n_amount(L, bs, "buffer_size", SIZE, AMT_POSITIVE, &x)) {
		if (x < 32 || x > 65536)
			err(L, bs, "'buffer_size' must be from 32B to 64KiB, got %s", quoted(sval(bs)).s);
		else
			c->fw.buffer_size = (uint32_t)x;
	}
	yaml_node_t *wv = fget(&f, "wifi");
	fields g;
	if (wv && fields_read(L, wv, "wifi", wifi_keys, &g)) {
		if (n_bool(L, fget(&g, "static_ip"), "static_ip", &c->static_ip) && c->static_ip) {
			c->assoc_us = SIM_MS(800);
			c->assoc_jitter_us = SIM_MS(300);
		}
		if (n_amount(L, fget(&g, "assoc"), "assoc", DURATION, 0, &x))
			c->assoc_us = x;
		if (n_amount(L, fget(&g, "jitter"), "jitter", DURATION, 0, &x))
			c->assoc_jitter_us = x;
		n_number(L, fget(&g, "drops_per_hour"), "drops_per_hour", 0, 3600, &c->drops_per_hour);
		if (n_amount(L, fget(&g, "drop_for"), "drop_for", DURATION, AMT_POSITIVE, &x))
			c->drop_mean_us = x;
	}
	yaml_node_t *dv = fget(&f, "deep_sleep");
	if (dv && fields_read(L, dv, "deep_sleep", sleep_keys, &g)) {
		if (frequire(L, &g, "sleep") && n_amount(L, fget(&g, "sleep"), "sleep", DURATION, AMT_POSITIVE, &x))
			c->sleep_us = x;
		if (n_amount(L, fget(&g, "awake"), "awake", DURATION, 0, &x))
			c->awake_us = x;
		if (n_amount(L, fget(&g, "awake_max"), "awake_max", DURATION, AMT_POSITIVE, &x))
			c->awake_max_us = x;
		n_bool(L, fget(&g, "disconnect"), "disconnect", &c->disconnect_before_sleep);
	}
	yaml_node_t *tv = fget(&f, "timers");
	if (tv && fields_read(L, tv, "timers", timer_keys, &g)) {
		if (n_amount(L, fget(&g, "socket_timeout"), "socket_timeout", DURATION, AMT_POSITIVE, &x))
			c->fw.socket_timeout_us = x;
		if (n_amount(L, fget(&g, "connect_timeout"), "connect_timeout", DURATION, AMT_POSITIVE, &x))
			c->fw.connect_timeout_us = x;
		if (n_amount(L, fget(&g, "reconnect"), "reconnect", DURATION, AMT_POSITIVE, &x))
			c->fw.reconnect_us = x;
		yaml_node_t *qv = fget(&g, "queue");
		if (qv && c->fw.firmware != NM_NODEMCU_LUA)
			err(L, fkey(&g, "queue"), "'queue' bounds nodemcu-lua's send queue; pubsubclient has none");
		else if (n_int(L, qv, "queue", 1, 10000, &x))
			c->fw.queue_max = (uint16_t)x;
	}
	if (n_amount(L, fget(&f, "boot_spread"), "boot_spread", DURATION, 0, &x))
		c->boot_spread_us = x;
	yaml_node_t *sv = fget(&f, "sensors");
	long n = sv ? list_count(L, sv, "sensors", NM_MAX_SENSORS) : 0;
	if (n > 0 && (c->sensors = xcalloc(L, (size_t)n, sizeof *c->sensors)))
		for (long i = 0; i < n; i++) {
			yaml_node_t *it = list_item(L, sv, i);
			if (!it)
				break;
			load_sensor(L, it, &c->sensors[c->nsensors++], c);
		}
	if (fget(&f, "subscribe"))
		load_node_subs(L, fget(&f, "subscribe"), c);
	bool resub = true;
	if (n_bool(L, fget(&f, "resubscribe"), "resubscribe", &resub))
		c->subscribe_once = !resub;
	/* {i} elsewhere needs one in the id: a single node has no number to put there. */
	bool braces = (c->client_id && strstr(c->client_id, "{i}")) || (c->will_topic && strstr(c->will_topic, "{i}"));
	for (uint32_t k = 0; k < c->nsensors; k++)
		braces = braces || (c->sensors[k].topic && strstr(c->sensors[k].topic, "{i}"));
	for (uint32_t k = 0; k < c->nsubs; k++)
		braces = braces || (c->subs[k].filter && strstr(c->subs[k].filter, "{i}"));
	if (braces && c->id && !sn->is_template)
		err(L, id, "node %s uses '{i}' in its client id or topics but is not a fleet; put '{i}' in "
			   "its id too (like sensor-{i})", quoted(c->id).s);
}

static void load_nodes(ld *L, const yaml_node_t *v)
{
	scenario *s = L->s;
	long n = list_count(L, v, "nodes", MAX_CLIENTS);
	if (n <= 0 || !(s->nodes = xcalloc(L, (size_t)n, sizeof *s->nodes)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = list_item(L, v, i);
		if (!it)
			return;
		sc_node *sn = &s->nodes[s->nnodes++];
		load_node(L, it, sn);
		if (s->node_instances + sn->cfg.count > NM_MAX_NODES) {
			err(L, it, "more than %d nodes in all; the limit is %d", NM_MAX_NODES, NM_MAX_NODES);
			sn->cfg.count = 1;
		}
		s->node_instances += sn->cfg.count;
	}
	/* Names: no node may share a client's id, nor another node's (or instance's). */
	for (size_t k = 0; k < s->nnodes; k++) {
		sc_node *sn = &s->nodes[k];
		const char *id = sn->cfg.id;
		if (!id)
			continue;
		char first[NM_MAX_TEMPLATE];
		nm_expand(id, 1, first, sizeof first);
		int ci = find_client(L, sn->is_template ? first : id);
		if (ci >= 0) {
			err_at(L, sn->pos, "node %s has the id of client %s; ids name hosts and must differ",
			       quoted(id).s, quoted(s->clients[ci].id).s);
			continue;
		}
		for (size_t j = 0; j < k; j++) {
			const sc_node *o = &s->nodes[j];
			if (!o->cfg.id)
				continue;
			bool clash = !strcmp(o->cfg.id, id);
			/* An instance of one fleet that another entry also names. */
			for (uint32_t i = 1; !clash && sn->is_template && i <= sn->cfg.count; i++) {
				char name[NM_MAX_TEMPLATE];
				long inst;
				nm_expand(id, i, name, sizeof name);
				clash = o->is_template ? template_inst(&o->cfg, name) > 0 : !strcmp(o->cfg.id, name);
				(void)inst;
			}
			if (!clash && o->is_template && !sn->is_template)
				clash = template_inst(&o->cfg, id) != 0;
			if (clash) {
				err_at(L, sn->pos, "node %s names the same host as the node at %d:%d", quoted(id).s,
				       o->pos.line, o->pos.col);
				break;
			}
		}
	}
}

/* A party of an expectation: a client, or a node (one, one instance, or a whole fleet). */
static bool n_party(ld *L, const yaml_node_t *v, const char *key, int *client, int *nodei, long *inst)
{
	if (!v)
		return false;
	const char *t = scalar(L, v, key, "a client or node id");
	if (!t)
		return false;
	int k = scenario_find_node(L->s, t, inst);
	if (k >= 0) {
		*nodei = k;
		return true;
	}
	return n_client(L, v, key, client);
}

static const char *const node_exp_keys[] = { "node", "stat", "min", "max", "total", "connected", NULL };

static void load_node_expect(ld *L, const fields *g, sc_expect *e)
{
	int64_t x;
	if (frequire(L, g, "node")) {
		yaml_node_t *nv = fget(g, "node");
		const char *t = scalar(L, nv, "node", "a node id");
		if (t && (e->from_node = scenario_find_node(L->s, t, &e->from_inst)) < 0)
			err(L, nv, "unknown node %s%s", quoted(t).s, L->s->nnodes ? "" : ": no nodes are declared");
	}
	yaml_node_t *sv = fget(g, "stat");
	if (sv) {
		int st = n_choice(L, sv, "stat", sc_node_stat_names + 1);
		if (st >= 0)
			e->stat = st + 1;
	}
	e->has_min = n_int(L, fget(g, "min"), "min", 0, INT64_MAX, &x);
	if (e->has_min)
		e->min = (uint64_t)x;
	e->has_max = n_int(L, fget(g, "max"), "max", 0, INT64_MAX, &x);
	if (e->has_max)
		e->max = (uint64_t)x;
	n_bool(L, fget(g, "total"), "total", &e->total);
	e->has_connected = n_bool(L, fget(g, "connected"), "connected", &e->connected);
	if ((fget(g, "min") || fget(g, "max") || fget(g, "total")) && !sv)
		err(L, g->map, "node: 'min', 'max' and 'total' bound a counter; name it with 'stat' (one of %s)",
		    join(sc_node_stat_names + 1, count_of(sc_node_stat_names + 1)).s);
	else if (sv && !fget(g, "min") && !fget(g, "max"))
		err(L, g->map, "node: 'stat' needs a bound: 'min', 'max' or both");
	else if (!sv && !fget(g, "connected") && g->map && !g->unknown)
		err(L, g->map, "node needs something to check: 'stat' with 'min'/'max', or 'connected'");
}

/* ---- expectations over the whole run --------------------------------------------------- */

static const char *const run_expect_keys[] = {
	"spec", "delivered", "no_duplicates", "ordered", "retained", "will", "node", NULL,
};
#define expect_kinds (run_expect_keys + 1)
static const char *const delivered_keys[] = { "from", "to", "topic", "qos", "loss", NULL };
static const char *const to_topic_keys[] = { "to", "topic", NULL };
static const char *const retained_keys[] = { "topic", "payload", NULL };
static const char *const will_exp_keys[] = { "from", "to", "delivered", NULL };

static const struct {
	const char *kind;
	int id;
	const char *const *keys;
} expectations[] = {
	{ "delivered", SC_EXP_DELIVERED, delivered_keys },
	{ "no_duplicates", SC_EXP_NO_DUPLICATES, to_topic_keys },
	{ "ordered", SC_EXP_ORDERED, to_topic_keys },
	{ "retained", SC_EXP_RETAINED, retained_keys },
	{ "will", SC_EXP_WILL, will_exp_keys },
	{ "node", SC_EXP_NODE, node_exp_keys },
};

/* loss: a fraction ("5%", "0.05") or a count of messages ("3"). */
static void load_loss(ld *L, const yaml_node_t *v, sc_expect *e)
{
	const char *t = scalar(L, v, "loss", "a fraction like 5% or a count like 3");
	int64_t n;
	if (!t)
		return;
	if (parse_int(t, &n) && n >= 0) {
		e->loss_is_count = true;
		e->loss_count = (uint64_t)n;
		return;
	}
	double x = sc_parse_fraction(t);
	if (x >= 0 && !parse_int(t, &n))
		e->loss = x;
	else
		err(L, v, "'loss' must be a fraction like 5%% or 0.05, or a count like 3, got %s",
		    quoted(t).s);
}

static void load_expect(ld *L, const yaml_node_t *v, sc_expect *e)
{
	e->from = e->to = -1;
	e->from_node = e->to_node = -1;
	e->pos = pos_of(v);
	fields f;
	if (!fields_read(L, v, "expectation", run_expect_keys, &f))
		return;
	yaml_node_t *sp = fget(&f, "spec");
	if (sp) {
		load_ids(L, sp, &e->spec, &e->nspec, true);
	}
	const char *kind = only_one(L, &f, expect_kinds, "write one expectation per item");
	if (!kind) {
		if (f.map && !f.unknown)
			err(L, v, "expectation needs a kind: one of %s",
			    join(expect_kinds, count_of(expect_kinds)).s);
		return;
	}
	size_t i = 0;
	while (strcmp(expectations[i].kind, kind))
		i++;
	e->kind = expectations[i].id;
	fields g;
	if (!fields_read(L, fget(&f, kind), kind, expectations[i].keys, &g))
		return;
	const char *const *keys = expectations[i].keys;
	if (key_slot(keys, "from") >= 0 && frequire(L, &g, "from"))
		n_party(L, fget(&g, "from"), "from", &e->from, &e->from_node, &e->from_inst);
	if (key_slot(keys, "to") >= 0 && frequire(L, &g, "to"))
		n_party(L, fget(&g, "to"), "to", &e->to, &e->to_node, &e->to_inst);
	if (e->kind == SC_EXP_NODE)
		load_node_expect(L, &g, e);
	if (e->kind == SC_EXP_RETAINED) {
		if (frequire(L, &g, "topic"))
			n_topic(L, fget(&g, "topic"), "topic", false, &e->topic);
		/* payload: null says "no retained message"; it must be said, not forgotten. */
		yaml_node_t *pl = fget(&g, "payload");
		if (!pl)
			err(L, g.map, "retained needs 'payload' (null for \"no retained message\")");
		else if (!is_null(pl))
			n_str(L, pl, "payload", &e->payload);
	} else if (key_slot(keys, "topic") >= 0) {
		n_topic(L, fget(&g, "topic"), "topic", true, &e->topic);
	}
	if (e->kind == SC_EXP_DELIVERED) {
		e->has_qos = n_qos(L, fget(&g, "qos"), &e->qos);
		if (fget(&g, "loss"))
			load_loss(L, fget(&g, "loss"), e);
	}
	if (e->kind == SC_EXP_WILL) {
		e->delivered = true;
		n_bool(L, fget(&g, "delivered"), "delivered", &e->delivered);
	}
}

static void load_expects(ld *L, const yaml_node_t *v)
{
	scenario *s = L->s;
	long n = list_count(L, v, "expect", MAX_EXPECTS);
	if (n <= 0 || !(s->expects = xcalloc(L, (size_t)n, sizeof *s->expects)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = list_item(L, v, i);
		if (!it)
			return;
		load_expect(L, it, &s->expects[s->nexpects++]);
	}
}

/* ---- the scenario ---------------------------------------------------------------------- */

static const char *const root_keys[] = {
	"name", "description", "spec", "seed", "duration", "targets", "broker", "network", "faults",
	"random_faults", "clients", "nodes", "steps", "expect", NULL,
};

static void load_root(ld *L, const yaml_node_t *root)
{
	scenario *s = L->s;
	s->seed = 1;
	s->targets = SC_TARGET_SIM | SC_TARGET_TCP;
	if (root->type != YAML_MAPPING_NODE) {
		err(L, root, "a scenario is a mapping of keys (name:, clients:, steps: ...), got %s",
		    describe(root).s);
		return;
	}
	fields f;
	fields_read(L, root, "scenario", root_keys, &f);
	/* Clients first: steps, faults, links and expectations name them. */
	if (fget(&f, "clients"))
		load_clients(L, fget(&f, "clients"));
	/* Then nodes: links, faults and expectations name them too. */
	if (fget(&f, "nodes"))
		load_nodes(L, fget(&f, "nodes"));
	yaml_node_t *v;
	if (frequire(L, &f, "name") && n_str(L, (v = fget(&f, "name")), "name", &s->name) &&
	    !word_ok(s->name))
		err(L, v, "'name' may use only letters, digits, '-', '_' and '.' (it names the trace "
			  "file), got %s", quoted(s->name).s);
	n_str(L, fget(&f, "description"), "description", &s->description);
	if ((v = fget(&f, "spec")))
		load_spec(L, v);
	if ((v = fget(&f, "seed"))) {
		const char *t = scalar(L, v, "seed", "an integer");
		if (t && !(s->has_seed = parse_u64(t, &s->seed)))
			err(L, v, "'seed' must be a whole number from 0 to %llu, got %s",
			    (unsigned long long)UINT64_MAX, quoted(t).s);
	}
	if (n_amount(L, (v = fget(&f, "duration")), "duration", DURATION, AMT_POSITIVE, &s->duration_us))
		L->duration_text = sval(v);
	bool targets_ok = true;
	if ((v = fget(&f, "targets")))
		targets_ok = load_targets(L, v);
	if (s->nnodes && !v)
		s->targets = SC_TARGET_SIM; /* nodes exist only in the simulator */
	else if (s->nnodes && targets_ok && (s->targets & SC_TARGET_TCP))
		err(L, v, "this scenario has nodes (simulated NodeMCU devices), which run only in simulation: "
			  "write targets: [sim]");
	if ((v = fget(&f, "broker")))
		load_broker(L, fkey(&f, "broker"), v, targets_ok && !(s->targets & SC_TARGET_SIM));
	if ((v = fget(&f, "network")))
		load_network(L, v);
	if ((v = fget(&f, "faults")))
		load_faults(L, v);
	if ((v = fget(&f, "random_faults")))
		load_random_faults(L, v);
	if ((v = fget(&f, "steps")))
		load_steps(L, v);
	if ((v = fget(&f, "expect")))
		load_expects(L, v);
}

/* ---- YAML syntax errors ---------------------------------------------------------------- */

/* libyaml gives reader (encoding) errors as a byte offset, not a line and column. */
static sc_pos offset_pos(const ld *L, size_t off)
{
	sc_pos p = { 1, 1 };
	for (size_t i = 0; i < off && i < L->len; i++) {
		if (L->text[i] == '\n')
			p.line++, p.col = 1;
		else if (((unsigned char)L->text[i] & 0xC0) != 0x80)
			p.col++;
	}
	return p;
}

/* The byte at a libyaml mark (0-based line, column in characters), or 0. */
static int char_at(const ld *L, size_t line, size_t col)
{
	size_t i = 0;
	for (size_t l = 0; l < line && i < L->len; i++)
		if (L->text[i] == '\n')
			l++;
	for (; col > 0 && i < L->len; col--)
		for (i++; i < L->len && ((unsigned char)L->text[i] & 0xC0) == 0x80; i++)
			;
	return i < L->len ? (unsigned char)L->text[i] : 0;
}

static void syntax_error(ld *L, const yaml_parser_t *p)
{
	if (p->error == YAML_MEMORY_ERROR) {
		oom(L);
		return;
	}
	sc_pos at;
	char extra[160] = "";
	if (p->error == YAML_READER_ERROR) {
		at = offset_pos(L, p->problem_offset);
		if (p->problem_value >= 0)
			snprintf(extra, sizeof extra, " (byte 0x%02X)", (unsigned)p->problem_value & 0xFFu);
	} else {
		at = (sc_pos){ (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1 };
		if (p->context)
			snprintf(extra, sizeof extra, " (%s at %d:%d)", p->context,
				 (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
		if (char_at(L, p->problem_mark.line, p->problem_mark.column) == '\t')
			snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
				 "; tabs cannot indent YAML, use spaces");
	}
	err_at(L, at, "YAML syntax error: %s%s", p->problem ? p->problem : "unknown problem", extra);
}

/* ---- entry points ---------------------------------------------------------------------- */

static void sort_errors(ld *L)
{
	sc_errors *e = L->errs;
	for (int i = 1; i < e->n; i++) {
		sc_pos p = L->epos[i];
		char *m = e->msg[i];
		int j = i;
		for (; j > 0 && (L->epos[j - 1].line > p.line ||
				 (L->epos[j - 1].line == p.line && L->epos[j - 1].col > p.col)); j--) {
			L->epos[j] = L->epos[j - 1];
			e->msg[j] = e->msg[j - 1];
		}
		L->epos[j] = p;
		e->msg[j] = m;
	}
}

/* The first pass: events only, stopping at the first that is too deep, too many or, with
 * aliases expanded, too much text. A syntax error is left for the second pass to report; it
 * meets it at the same place. */
static bool shape_ok(ld *L)
{
	static const yw_limits lim = { MAX_DEPTH, MAX_NODES, MAX_EXPANDED_BYTES };
	yw_pos at;
	switch (yw_shape(L->text, L->len, &lim, &at)) {
	case YW_OK:
		return true;
	case YW_TOO_DEEP:
		err_at(L, (sc_pos){ at.line, at.col },
		       "nesting deeper than %d levels; a scenario needs only a few", MAX_DEPTH);
		break;
	case YW_TOO_MANY:
		err_at(L, (sc_pos){ at.line, at.col },
		       "the scenario is too large: more than %ld values", MAX_NODES);
		break;
	case YW_TOO_BIG:
		err_at(L, (sc_pos){ at.line, at.col },
		       "the scenario is too large: with its aliases expanded it holds more than %u MiB "
		       "of text (each use of an alias repeats its anchor's text)", MAX_EXPANDED_BYTES >> 20);
		break;
	case YW_NO_MEMORY:
		oom(L);
		break;
	}
	return false;
}

static scenario *parse(ld *L)
{
	if (!L->text)
		L->text = "";
	if (!shape_ok(L))
		return NULL;
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		oom(L);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)L->text, L->len);
	if (!yaml_parser_load(&p, &L->doc)) {
		syntax_error(L, &p);
		yaml_parser_delete(&p);
		return NULL;
	}
	scenario *s = NULL;
	yaml_node_t *root = yaml_document_get_root_node(&L->doc);
	if (!root) {
		err_at(L, (sc_pos){ 1, 1 }, "the file is empty; a scenario needs at least a 'name'");
	} else {
		/* One document per file: a second one would otherwise be ignored in silence. */
		yaml_document_t more;
		if (!yaml_parser_load(&p, &more)) {
			syntax_error(L, &p);
		} else {
			yaml_node_t *r2 = yaml_document_get_root_node(&more);
			if (r2)
				err(L, r2, "a scenario file holds one YAML document; this is a second one");
			yaml_document_delete(&more);
		}
		if ((s = xcalloc(L, 1, sizeof *s))) {
			L->s = s;
			s->file = xstrdup(L, L->file);
			load_root(L, root);
		}
	}
	yaml_document_delete(&L->doc);
	yaml_parser_delete(&p);
	free(L->ids);
	L->ids = NULL;
	sort_errors(L);
	if (L->errs->n || L->errs->dropped || L->halt) {
		if (!L->errs->n) /* every message was lost to memory: still say something */
			L->errs->dropped++;
		scenario_free(s);
		return NULL;
	}
	return s;
}

scenario *scenario_parse(const char *name, const char *text, size_t len, sc_errors *errs)
{
	sc_errors local;
	if (!errs)
		errs = &local;
	memset(errs, 0, sizeof *errs);
	ld L;
	memset(&L, 0, sizeof L);
	L.file = name ? name : "<scenario>";
	L.text = text;
	L.len = text ? len : 0;
	L.errs = errs;
	scenario *s = parse(&L);
	if (s)
		s->text_hash = sim_hash64(SIM_HASH_INIT, text, L.len);
	if (errs == &local)
		sc_errors_free(&local);
	return s;
}

static void file_error(sc_errors *e, const char *path, const char *what, int errnum)
{
	char why[128] = "unknown error";
	if (errnum)
		strerror_r(errnum, why, sizeof why);
	char line[1200];
	snprintf(line, sizeof line, "%s: %s: %s", path, what, why);
	if ((e->msg[0] = strdup(line)))
		e->n = 1;
	else
		e->dropped = 1;
}

scenario *scenario_load(const char *path, sc_errors *errs)
{
	sc_errors local;
	if (!errs)
		errs = &local;
	memset(errs, 0, sizeof *errs);
	scenario *s = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		file_error(errs, path, "cannot open the scenario", errno);
		goto out;
	}
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (ferror(f)) {
			file_error(errs, path, "cannot read the scenario", errno);
			break;
		}
		if (n < cap)
			break;
		if (cap > MAX_FILE_BYTES) {
			file_error(errs, path, "the file is larger than 16 MiB; is it a scenario?", EFBIG);
			break;
		}
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	fclose(f);
	if (!buf)
		file_error(errs, path, "cannot read the scenario", ENOMEM);
	else if (!errs->n) {
		ld L;
		memset(&L, 0, sizeof L);
		L.file = path;
		L.text = buf;
		L.len = n;
		L.errs = errs;
		s = parse(&L);
		if (s)
			s->text_hash = sim_hash64(SIM_HASH_INIT, buf, n);
	}
	free(buf);
out:
	if (errs == &local)
		sc_errors_free(&local);
	return s;
}

static void match_free(sc_match *m)
{
	free(m->topic);
	free(m->payload);
	free(m->codes);
	free(m->id_ref);
	free(m->save_as);
}

void scenario_free(scenario *s)
{
	if (s)
		free(s->broker.acl);
	if (!s)
		return;
	free(s->file);
	free(s->name);
	free(s->description);
	for (size_t i = 0; i < s->nspec; i++)
		free(s->spec[i]);
	free(s->spec);
	for (size_t i = 0; i < s->nlinks; i++)
		free(s->links[i].node);
	free(s->links);
	for (size_t i = 0; i < s->nfaults; i++) {
		free(s->faults[i].a);
		free(s->faults[i].b);
	}
	free(s->faults);
	for (size_t i = 0; i < s->nclients; i++) {
		free(s->clients[i].id);
		free(s->clients[i].client_id);
	}
	free(s->clients);
	for (size_t i = 0; i < s->nnodes; i++) {
		nm_config *c = &s->nodes[i].cfg;
		free(c->id);
		free(c->client_id);
		free(c->will_topic);
		free(c->will_payload);
		for (uint32_t k = 0; k < c->nsensors; k++) {
			free(c->sensors[k].topic);
			free(c->sensors[k].s.curve);
		}
		free(c->sensors);
		for (uint32_t k = 0; k < c->nsubs; k++)
			free(c->subs[k].filter);
		free(c->subs);
	}
	free(s->nodes);
	for (size_t i = 0; i < s->nsteps; i++) {
		sc_step *st = &s->steps[i];
		free(st->client_id);
		free(st->username);
		free(st->password);
		free(st->will_topic);
		free(st->will_payload);
		match_free(&st->connack);
		for (size_t j = 0; j < st->nsubs; j++)
			free(st->subs[j].filter);
		free(st->subs);
		free(st->topic);
		free(st->payload);
		free(st->raw);
		match_free(&st->match);
		for (size_t j = 0; j < st->nspec; j++)
			free(st->spec[j]);
		free(st->spec);
	}
	free(s->steps);
	for (size_t i = 0; i < s->nexpects; i++) {
		free(s->expects[i].topic);
		free(s->expects[i].payload);
		for (size_t j = 0; j < s->expects[i].nspec; j++)
			free(s->expects[i].spec[j]);
		free(s->expects[i].spec);
	}
	free(s->expects);
	free(s);
}

void sc_errors_free(sc_errors *e)
{
	if (!e)
		return;
	for (int i = 0; i < e->n; i++)
		free(e->msg[i]);
	memset(e, 0, sizeof *e);
}
