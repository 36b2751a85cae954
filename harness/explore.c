/*
 * explore.c - seed ranges, shards, swarm draws, failure keys, ddmin, JSON reading.
 * See explore.h.
 */
#include "harness/explore.h"
#include "mqtt/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- seed ranges and shards ------------------------------------------------------------- */

static bool parse_u64(const char *s, const char *end, uint64_t *out)
{
	if (s == end || end - s > 20)
		return false;
	uint64_t v = 0;
	for (const char *p = s; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int explore_parse_seeds(const char *arg, explore_range *r, char *msg, size_t cap)
{
	const char *dots = arg ? strstr(arg, "..") : NULL;
	uint64_t a, b;
	if (!arg) {
		snprintf(msg, cap, "--seeds takes N (seeds 1..N) or A..B");
		return -1;
	}
	if (!dots) {
		if (!parse_u64(arg, arg + strlen(arg), &b) || b == 0) {
			snprintf(msg, cap, "--seeds takes N (seeds 1..N, N >= 1) or A..B, not '%s'", arg);
			return -1;
		}
		r->first = 1;
		r->count = b;
		return 0;
	}
	if (!parse_u64(arg, dots, &a) || !parse_u64(dots + 2, arg + strlen(arg), &b)) {
		snprintf(msg, cap, "--seeds A..B takes two whole numbers, like 1..1000, not '%s'", arg);
		return -1;
	}
	if (b < a) {
		snprintf(msg, cap, "--seeds %s runs backwards: %llu is more than %llu", arg, (unsigned long long)a,
			 (unsigned long long)b);
		return -1;
	}
	if (b - a == UINT64_MAX) {
		snprintf(msg, cap, "--seeds %s: that is more seeds than a count can hold; split the range", arg);
		return -1;
	}
	r->first = a;
	r->count = b - a + 1;
	return 0;
}

int explore_parse_shard(const char *arg, uint64_t *i, uint64_t *n, char *msg, size_t cap)
{
	const char *slash = arg ? strchr(arg, '/') : NULL;
	if (!slash || !parse_u64(arg, slash, i) || !parse_u64(slash + 1, arg + strlen(arg), n) || *n == 0 ||
	    *n > 1000000 || *i == 0 || *i > *n) {
		snprintf(msg, cap, "--shard takes I/N with 1 <= I <= N <= 1000000, like 2/4, not '%s'",
			 arg ? arg : "(nothing)");
		return -1;
	}
	return 0;
}

explore_range explore_shard(explore_range r, uint64_t i, uint64_t n)
{
	/* The first (count % n) shards get one seed more; no product can overflow. */
	uint64_t q = r.count / n, rem = r.count % n, k = i - 1;
	explore_range s;
	s.first = r.first + k * q + (k < rem ? k : rem);
	s.count = q + (k < rem ? 1 : 0);
	return s;
}

/* ---- swarm testing ------------------------------------------------------------------------ */

void explore_swarm_rates(const sc_random_faults *rf, uint64_t seed, sim_fault_rates *out)
{
	*out = rf->rates;
	for (int k = 1; k < SIM_FAULT_KINDS; k++) {
		if (rf->rates.per_hour[k] <= 0)
			continue;
		char name[64];
		sim_rng rng;
		snprintf(name, sizeof name, "swarm/%s", sim_fault_name(k));
		sim_rng_init(&rng, seed, name);
		bool on = sim_rng_bernoulli(&rng, 0.5);
		double lo = rf->lo.per_hour[k], hi = rf->rates.per_hour[k];
		double rate = lo < hi ? sim_rng_uniform(&rng, lo, hi) : hi;
		sim_us mlo = rf->lo.mean_duration_us[k], mhi = rf->rates.mean_duration_us[k];
		sim_us mean = mlo < mhi ? (sim_us)sim_rng_uniform(&rng, (double)mlo, (double)mhi) : mhi;
		out->per_hour[k] = on ? rate : 0;
		out->mean_duration_us[k] = mean;
	}
}

void explore_swarm_describe(const sim_fault_rates *r, const sc_random_faults *rf, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = 0;
	for (int k = 1; k < SIM_FAULT_KINDS && n < cap; k++) {
		if (rf->rates.per_hour[k] <= 0)
			continue;
		int m;
		if (r->per_hour[k] <= 0)
			m = snprintf(buf + n, cap - n, "%s%s off", n ? ", " : "", sim_fault_name(k));
		else if (r->mean_duration_us[k] > 0)
			m = snprintf(buf + n, cap - n, "%s%s %.3g/h mean %.3gs", n ? ", " : "", sim_fault_name(k),
				     r->per_hour[k], (double)r->mean_duration_us[k] / 1e6);
		else
			m = snprintf(buf + n, cap - n, "%s%s %.3g/h", n ? ", " : "", sim_fault_name(k), r->per_hour[k]);
		if (m < 0)
			break;
		n += (size_t)m;
	}
}

/* ---- what failed ---------------------------------------------------------------------------- */

static const char *const step_names[] = {
	[SC_CONNECT] = "connect", [SC_SUBSCRIBE] = "subscribe", [SC_UNSUBSCRIBE] = "unsubscribe",
	[SC_PUBLISH] = "publish", [SC_DISCONNECT] = "disconnect", [SC_DROP] = "drop", [SC_WAIT] = "wait",
	[SC_RAW] = "send", [SC_EXPECT] = "expect", [SC_EXPECT_NONE] = "expect_none",
	[SC_EXPECT_CLOSED] = "expect_closed", [SC_OPEN] = "open", [SC_ACK] = "ack",
};
static const char *const expect_names[] = {
	[SC_EXP_DELIVERED] = "delivered", [SC_EXP_NO_DUPLICATES] = "no_duplicates",
	[SC_EXP_ORDERED] = "ordered", [SC_EXP_RETAINED] = "retained", [SC_EXP_WILL] = "will",
};

bool explore_fail_same(const explore_fail *a, const explore_fail *b)
{
	return a->kind == b->kind && a->index == b->index;
}

int explore_failures(const scenario *s, const run_result *r, explore_fail *out, int cap)
{
	int n = 0;
	if (r->pass || r->error)
		return 0;
	if (r->failed_step >= 0 && (size_t)r->failed_step < s->nsteps && n < cap)
		out[n++] = (explore_fail){ EXPLORE_FAIL_STEP, (int)r->failed_step, s->steps[r->failed_step].pos };
	for (size_t i = 0; r->failed_expect && i < s->nexpects && n < cap; i++)
		if (r->failed_expect[i])
			out[n++] = (explore_fail){ EXPLORE_FAIL_EXPECT, (int)i, s->expects[i].pos };
	return n;
}

static const char *client_id(const scenario *s, int i)
{
	return i >= 0 && (size_t)i < s->nclients ? s->clients[i].id : "?";
}

void explore_fail_label(const scenario *s, const explore_fail *f, char *buf, size_t cap)
{
	if (f->kind == EXPLORE_FAIL_STEP) {
		const sc_step *st = &s->steps[f->index];
		const char *k = st->kind > 0 && st->kind <= SC_ACK ? step_names[st->kind] : "?";
		snprintf(buf, cap, "step %d %s (%s)", f->index + 1, k, client_id(s, st->client));
	} else if (f->kind == EXPLORE_FAIL_EXPECT) {
		const sc_expect *x = &s->expects[f->index];
		const char *k = x->kind > 0 && x->kind <= SC_EXP_WILL ? expect_names[x->kind] : "?";
		if (x->from >= 0 && x->to >= 0)
			snprintf(buf, cap, "expect %s (%s -> %s%s%s)", k, client_id(s, x->from), client_id(s, x->to),
				 x->topic ? " on " : "", x->topic ? x->topic : "");
		else if (x->to >= 0)
			snprintf(buf, cap, "expect %s (to %s)", k, client_id(s, x->to));
		else
			snprintf(buf, cap, "expect %s%s%s", k, x->topic ? " on " : "", x->topic ? x->topic : "");
	} else {
		snprintf(buf, cap, "?");
	}
}

/* ---- delta debugging ------------------------------------------------------------------------ */

size_t explore_ddmin(size_t n, explore_test_fn fails, void *ctx, size_t *out, unsigned *tests)
{
	*tests = 0;
	size_t *cur = mqtt_xmalloc((n ? n : 1) * sizeof *cur), *cand = mqtt_xmalloc((n ? n : 1) * sizeof *cand);
	size_t m = n;
	for (size_t i = 0; i < n; i++)
		cur[i] = i;
	++*tests;
	if (fails(NULL, 0, ctx)) {
		m = 0; /* the failure needs none of the items */
		goto done;
	}
	size_t gran = 2;
	while (m >= 2) {
		if (gran > m)
			gran = m;
		bool reduced = false;
		/* Try each chunk alone, then each complement. */
		for (int pass = 0; pass < 2 && !reduced; pass++) {
			for (size_t c = 0; c < gran && !reduced; c++) {
				size_t lo = m * c / gran, hi = m * (c + 1) / gran, k = 0;
				for (size_t i = 0; i < m; i++)
					if ((i >= lo && i < hi) == (pass == 0))
						cand[k++] = cur[i];
				if (k == 0 || k == m)
					continue;
				++*tests;
				if (fails(cand, k, ctx)) {
					memcpy(cur, cand, k * sizeof *cur);
					m = k;
					gran = pass == 0 ? 2 : (gran > 2 ? gran - 1 : 2);
					reduced = true;
				}
			}
		}
		if (reduced)
			continue;
		if (gran >= m)
			break;
		gran = gran * 2 > m ? m : gran * 2;
	}
done:
	memcpy(out, cur, m * sizeof *out);
	free(cur);
	free(cand);
	return m;
}

/* ---- a small JSON reader ------------------------------------------------------------------- */

#define JV_MAX_DEPTH 32

typedef struct jp {
	const char *p, *end, *start;
	char *msg;
	size_t cap;
} jp;

static int jp_line(const jp *j)
{
	int line = 1;
	for (const char *q = j->start; q < j->p; q++)
		line += *q == '\n';
	return line;
}

static int jp_fail(jp *j, const char *what)
{
	if (j->msg[0] == 0)
		snprintf(j->msg, j->cap, "line %d: %s", jp_line(j), what);
	return -1;
}

static void jp_ws(jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int jp_value(jp *j, jv *v, int depth);

static int jp_string(jp *j, char **out)
{
	j->p++; /* the opening quote */
	size_t cap = 16, n = 0;
	char *s = mqtt_xmalloc(cap);
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;
		if ((unsigned char)c < 0x20) {
			free(s);
			return jp_fail(j, "a control character inside a string");
		}
		if (c == '\\') {
			if (j->p >= j->end)
				break;
			char e = *j->p++;
			switch (e) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case '"': case '\\': case '/': c = e; break;
			case 'u': {
				unsigned cp = 0;
				for (int i = 0; i < 4; i++) {
					char h = j->p < j->end ? *j->p++ : 0;
					int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
					if (d < 0) {
						free(s);
						return jp_fail(j, "a bad \\u escape");
					}
					cp = cp * 16 + (unsigned)d;
				}
				c = cp < 0x80 ? (char)cp : '?'; /* our files only escape control characters */
				break;
			}
			default:
				free(s);
				return jp_fail(j, "a bad escape in a string");
			}
		}
		if (n + 2 > cap) {
			cap *= 2;
			s = mqtt_xrealloc(s, cap);
		}
		s[n++] = c;
	}
	if (j->p >= j->end) {
		free(s);
		return jp_fail(j, "a string that never ends");
	}
	j->p++;
	s[n] = 0;
	*out = s;
	return 0;
}

static int jp_list(jp *j, jv *v, int depth, bool obj)
{
	j->p++;
	size_t cap = 0;
	for (;;) {
		jp_ws(j);
		if (j->p < j->end && *j->p == (obj ? '}' : ']') && v->n == 0) {
			j->p++;
			return 0;
		}
		if (v->n == cap) {
			cap = cap ? 2 * cap : 8;
			v->items = mqtt_xrealloc(v->items, cap * sizeof *v->items);
			if (obj)
				v->keys = mqtt_xrealloc(v->keys, cap * sizeof *v->keys);
		}
		if (obj) {
			if (j->p >= j->end || *j->p != '"')
				return jp_fail(j, "expected a \"key\"");
			if (jp_string(j, &v->keys[v->n]) < 0)
				return -1;
			jp_ws(j);
			if (j->p >= j->end || *j->p != ':') {
				free(v->keys[v->n]);
				return jp_fail(j, "expected ':' after a key");
			}
			j->p++;
		}
		memset(&v->items[v->n], 0, sizeof v->items[v->n]);
		if (jp_value(j, &v->items[v->n], depth + 1) < 0) {
			if (obj)
				free(v->keys[v->n]);
			jv_free(&v->items[v->n]);
			return -1;
		}
		v->n++;
		jp_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
			j->p++;
			return 0;
		}
		return jp_fail(j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int jp_value(jp *j, jv *v, int depth)
{
	if (depth > JV_MAX_DEPTH)
		return jp_fail(j, "nested too deep");
	jp_ws(j);
	if (j->p >= j->end)
		return jp_fail(j, "the text ends where a value should be");
	char c = *j->p;
	size_t left = (size_t)(j->end - j->p);
	if (c == '{') {
		v->type = JV_OBJ;
		return jp_list(j, v, depth, true);
	}
	if (c == '[') {
		v->type = JV_ARR;
		return jp_list(j, v, depth, false);
	}
	if (c == '"') {
		v->type = JV_STR;
		return jp_string(j, &v->s);
	}
	if (left >= 4 && !strncmp(j->p, "null", 4)) {
		v->type = JV_NULL;
		j->p += 4;
		return 0;
	}
	if (left >= 4 && !strncmp(j->p, "true", 4)) {
		v->type = JV_BOOL;
		v->b = true;
		j->p += 4;
		return 0;
	}
	if (left >= 5 && !strncmp(j->p, "false", 5)) {
		v->type = JV_BOOL;
		j->p += 5;
		return 0;
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		const char *q = j->p;
		while (q < j->end && strchr("+-0123456789.eE", *q))
			q++;
		v->type = JV_NUM;
		v->s = mqtt_xstrndup(j->p, (size_t)(q - j->p));
		j->p = q;
		return 0;
	}
	return jp_fail(j, "expected a value");
}

int jv_parse(const char *text, size_t len, jv *out, char *msg, size_t cap)
{
	jp j = { text, text + len, text, msg, cap };
	msg[0] = 0;
	memset(out, 0, sizeof *out);
	if (jp_value(&j, out, 0) < 0) {
		jv_free(out);
		return -1;
	}
	jp_ws(&j);
	if (j.p != j.end) {
		jv_free(out);
		return jp_fail(&j, "text after the end of the value");
	}
	return 0;
}

void jv_free(jv *v)
{
	for (size_t i = 0; i < v->n; i++) {
		jv_free(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->s);
	memset(v, 0, sizeof *v);
}

const jv *jv_get(const jv *obj, const char *key)
{
	if (!obj || obj->type != JV_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return &obj->items[i];
	return NULL;
}

bool jv_u64(const jv *v, uint64_t *out)
{
	return v && v->type == JV_NUM && parse_u64(v->s, v->s + strlen(v->s), out);
}
