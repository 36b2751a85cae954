/*
 * test_verdict.c - the verdict rules (conformance/verdict.c), one row per rule, the
 * expected-failures list, and the worker pool (harness/pool.c) that carries results.
 */
#define _POSIX_C_SOURCE 200809L
#include "tests.h"

#include "conformance/verdict.h"
#include "harness/pool.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ck_contains(hay, needle) ck_assert_msg(strstr((hay), (needle)), "missing:\n%s\nin:\n%s", (needle), (hay))

enum { P = VERDICT_OBS_PASS, F = VERDICT_OBS_FAIL, U = VERDICT_OBS_UNREACHED, N = VERDICT_OBS_NONE };

START_TEST(verdict_rules)
{
	static const struct {
		const char *rule;
		bool testable, optional, listed;
		int obs[4];
		size_t n;
		int want;
		bool unreached;
		size_t blocker;
	} rows[] = {
		{ "passed in the one run naming it", true, false, false, { P }, 1, VERDICT_PASS, false, 0 },
		{ "passed in one, failed in another: fail", true, false, false, { P, F }, 2, VERDICT_FAIL, false, 0 },
		{ "failed, and listed: expected failure", true, false, true, { F }, 1, VERDICT_XFAIL, false, 0 },
		{ "passed, though listed: unexpected pass", true, false, true, { P, P }, 2, VERDICT_XPASS, false, 0 },
		{ "an optional statement failed: not supported", true, true, false, { F }, 1, VERDICT_OPTIONAL, false, 0 },
		{ "optional and listed: the list wins", true, true, true, { F }, 1, VERDICT_XFAIL, false, 0 },
		{ "optional and passed", true, true, false, { P }, 1, VERDICT_PASS, false, 0 },
		{ "only not reached: untested, first stopper named", true, false, false, { N, U, U }, 3, VERDICT_UNTESTED,
		  true, 1 },
		{ "not reached but listed: still expected", true, false, true, { U }, 1, VERDICT_XFAIL, false, 0 },
		{ "not reached in one, passed in another: pass", true, false, false, { U, P }, 2, VERDICT_PASS, false, 0 },
		{ "not reached in one, failed in another: fail", true, false, false, { U, F }, 2, VERDICT_FAIL, false, 0 },
		{ "named by no run (skipped, could not run): untested", true, false, false, { N, N }, 2, VERDICT_UNTESTED,
		  false, 0 },
		{ "no run at all, testable: untested", true, false, false, { N }, 0, VERDICT_UNTESTED, false, 0 },
		{ "not testable from outside: n/a", false, false, false, { N }, 0, VERDICT_NA, false, 0 },
		{ "not testable, only not reached: n/a, unreached", false, false, false, { U }, 1, VERDICT_NA, true, 0 },
		{ "not testable yet a run checked it and it failed", false, false, false, { F }, 1, VERDICT_FAIL, false, 0 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		cat_stmt st = { .id = "MQTT-1.1.1-1", .testable = rows[i].testable, .optional = rows[i].optional };
		verdict v = verdict_decide(&st, rows[i].listed ? "known" : NULL, rows[i].obs, rows[i].n);
		ck_assert_msg(v.kind == rows[i].want, "%s: got %d, want %d", rows[i].rule, v.kind, rows[i].want);
		ck_assert_msg(v.unreached == rows[i].unreached, "%s: unreached %d", rows[i].rule, v.unreached);
		if (v.unreached)
			ck_assert_msg(v.blocker == rows[i].blocker, "%s: blocker %zu", rows[i].rule, v.blocker);
	}
}
END_TEST

START_TEST(xfail_lists)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&buf, &len);
	xfail_list x = { 0 };
	ck_assert_int_eq(xfail_parse("m.txt", "# a comment\n\nMQTT-3.1.2-24  never drops silent clients\r\n"
					      "  MQTT-4.8.0-1\tkeeps the connection\n", &x, err),
			 0);
	ck_assert_uint_eq(x.n, 2);
	ck_assert_str_eq(x.v[0].id, "MQTT-3.1.2-24");
	ck_assert_str_eq(x.v[0].reason, "never drops silent clients");
	ck_assert_int_eq(x.v[0].line, 3);
	ck_assert_str_eq(x.v[1].reason, "keeps the connection");
	cat_stmt st = { .id = "MQTT-4.8.0-1" }, other = { .id = "MQTT-9.9.9-9", .alias = "MQTT-3.1.2-24" };
	ck_assert_str_eq(xfail_reason(&x, &st), "keeps the connection");
	ck_assert_str_eq(xfail_reason(&x, &other), "never drops silent clients"); /* by alias */
	st.id = "MQTT-1.1.1-1";
	ck_assert_ptr_null(xfail_reason(&x, &st));
	xfail_free(&x);
	/* An id without a reason is refused, naming the line. */
	ck_assert_int_eq(xfail_parse("m.txt", "MQTT-1.1.1-1 ok\nMQTT-3.1.2-24\n", &x, err), -1);
	xfail_free(&x);
	char *longl = malloc(5000);
	memset(longl, 'a', 4999);
	longl[4999] = 0;
	ck_assert_int_eq(xfail_parse("m.txt", longl, &x, err), -1);
	free(longl);
	xfail_free(&x);
	fclose(err);
	ck_contains(buf, "m.txt:2: an expected failure needs a reason after the id");
	ck_contains(buf, "m.txt:1: line longer than 4094 bytes");
	free(buf);
}
END_TEST

/* Expected failures pinned to the observation (issue 13 item 4): each row a statement's
 * observations and an entry's pins, and the verdict. */
START_TEST(verdict_pinned)
{
	static const struct {
		const char *rule;
		const char *pins; /* the entry's "@..." part; NULL: not listed; "": listed, unpinned */
		struct { int obs; const char *check, *name; } seen[3];
		size_t n;
		int want;
		bool unexpected;
		size_t first_unexpected;
	} rows[] = {
		{ "late, and the list expects late: expected failure", "@late",
		  { { F, "3.1-keepalive-enforced:19", "late" } }, 1, VERDICT_XFAIL, false, 0 },
		{ "never, though the list expects only late: fail", "@late",
		  { { F, "3.1-keepalive-enforced:19", "never" } }, 1, VERDICT_FAIL, true, 0 },
		{ "never, unpinned old entry: still expected (the old form)", "",
		  { { F, "3.1-keepalive-enforced:19", "never" } }, 1, VERDICT_XFAIL, false, 0 },
		{ "the check the entry names failed: expected", "@3.3-dup:12",
		  { { F, "3.3-dup:12", NULL } }, 1, VERDICT_XFAIL, false, 0 },
		{ "another check of the same statement failed: fail", "@3.3-dup:12",
		  { { P, "3.3-dup", NULL }, { F, "3.3-dup:12", NULL }, { F, "3.3-other:7", NULL } }, 3, VERDICT_FAIL, true, 2 },
		{ "a scenario pin covers each of its checks", "@3.3-dup",
		  { { F, "3.3-dup:12", NULL }, { F, "3.3-dup:20", NULL } }, 2, VERDICT_XFAIL, false, 0 },
		{ "a scenario pin is not a prefix of another scenario", "@3.3-dup",
		  { { F, "3.3-dup2:12", NULL } }, 1, VERDICT_FAIL, true, 0 },
		{ "two pins, both seen: expected", "@late @malformed",
		  { { F, "a:3", "late" }, { F, "b", "malformed" } }, 2, VERDICT_XFAIL, false, 0 },
		{ "pinned, and it passed: unexpected pass", "@late",
		  { { P, "3.1-keepalive-enforced", NULL } }, 1, VERDICT_XPASS, false, 0 },
		{ "pinned, only not reached: still expected", "@late",
		  { { U, "3.1-keepalive-enforced", NULL } }, 1, VERDICT_XFAIL, false, 0 },
		{ "not listed, failed late: fail, nothing unexpected about a list", NULL,
		  { { F, "a:3", "late" } }, 1, VERDICT_FAIL, false, 0 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		cat_stmt st = { .id = "MQTT-3.1.2-24", .testable = true };
		xfail_list x = { 0 };
		char text[256];
		snprintf(text, sizeof text, "MQTT-3.1.2-24 %s reason\n", rows[i].pins ? rows[i].pins : "");
		if (rows[i].pins)
			ck_assert_int_eq(xfail_parse("m.txt", text, &x, stderr), 0);
		verdict_seen seen[3];
		for (size_t k = 0; k < rows[i].n; k++)
			seen[k] = (verdict_seen){ rows[i].seen[k].obs, rows[i].seen[k].check, rows[i].seen[k].name };
		verdict v = verdict_judge(&st, xfail_find(&x, &st), seen, rows[i].n);
		ck_assert_msg(v.kind == rows[i].want, "%s: got %d, want %d", rows[i].rule, v.kind, rows[i].want);
		ck_assert_msg(v.unexpected == rows[i].unexpected, "%s: unexpected %d", rows[i].rule, v.unexpected);
		if (v.unexpected)
			ck_assert_msg(v.first_unexpected == rows[i].first_unexpected, "%s: first_unexpected %zu", rows[i].rule,
				      v.first_unexpected);
		xfail_free(&x);
	}
}
END_TEST

START_TEST(xfail_pins)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&buf, &len);
	xfail_list x = { 0 };
	ck_assert_int_eq(xfail_parse("m.txt", "MQTT-3.1.2-24  @late @3.1-keepalive-enforced:19\tsweeps every 6 s\n"
					      "MQTT-4.8.0-1 keeps the connection\n", &x, err), 0);
	ck_assert_uint_eq(x.v[0].npins, 2);
	ck_assert_str_eq(x.v[0].pins[0], "late");
	ck_assert_str_eq(x.v[0].pins[1], "3.1-keepalive-enforced:19");
	ck_assert_str_eq(x.v[0].reason, "sweeps every 6 s");
	ck_assert_uint_eq(x.v[1].npins, 0); /* the old form */
	xfail_free(&x);
	/* Pins without a reason, an empty pin, an id listed twice: refused, naming the line. */
	ck_assert_int_eq(xfail_parse("m.txt", "MQTT-1.1.1-1 @late\n", &x, err), -1);
	xfail_free(&x);
	ck_assert_int_eq(xfail_parse("m.txt", "MQTT-1.1.1-1 @ late\n", &x, err), -1);
	xfail_free(&x);
	ck_assert_int_eq(xfail_parse("m.txt", "MQTT-1.1.1-1 @late a\n\nMQTT-1.1.1-1 @never b\n", &x, err), -1);
	xfail_free(&x);
	fclose(err);
	ck_contains(buf, "m.txt:1: an expected failure needs a reason after the id and its observations");
	ck_contains(buf, "m.txt:1: '@' names no observation");
	ck_contains(buf, "m.txt:3: MQTT-1.1.1-1 is listed already at line 1");
	free(buf);
}
END_TEST

/* ---- the pool ---------------------------------------------------------------------------- */

typedef struct pctx {
	size_t got[64];      /* order done() saw */
	uint64_t val[64];
	char why[64][64];
	size_t n;
	size_t stop_at;      /* more() says no from here */
	size_t crash;        /* this item kills its worker (SIZE_MAX: none) */
	bool paced;          /* two items, of 150 and 250 ms */
	size_t ticks, tick_max;
} pctx;

static void p_work(void *ctx, size_t i, pool_rec *out)
{
	pctx *c = ctx;
	if (i == c->crash)
		raise(SIGKILL);
	/* Later items finish first, so the pool has to put them back in order. */
	if (c->paced)
		nanosleep(&(struct timespec){ 0, i ? 250000000L : 150000000L }, NULL);
	else if (i < 4)
		nanosleep(&(struct timespec){ 0, (long)(4 - i) * 20000000L }, NULL);
	pool_put_u64(out, i * i);
	pool_put_str(out, i % 2 ? "odd" : NULL);
}

static void p_done(void *ctx, size_t i, const unsigned char *rec, size_t len, const char *why)
{
	pctx *c = ctx;
	c->got[c->n] = i;
	c->val[c->n] = UINT64_MAX;
	c->why[c->n][0] = 0;
	if (rec) {
		pool_in in = { .p = rec, .len = len };
		char *s;
		ck_assert(pool_get_u64(&in, &c->val[c->n]));
		ck_assert(pool_get_str(&in, &s));
		ck_assert(i % 2 ? s && !strcmp(s, "odd") : s == NULL);
		free(s);
		uint64_t extra;
		ck_assert(!pool_get_u64(&in, &extra)); /* nothing past the end */
	} else {
		snprintf(c->why[c->n], sizeof c->why[0], "%s", why);
	}
	c->n++;
}

static void p_tick(void *ctx, size_t next)
{
	pctx *c = ctx;
	c->ticks++;
	if (next > c->tick_max)
		c->tick_max = next;
}

static bool p_more(void *ctx, size_t i)
{
	return i < ((pctx *)ctx)->stop_at;
}

START_TEST(pool_order_and_death)
{
	for (long workers = 1; workers <= 3; workers++) {
		pctx c = { .stop_at = 64, .crash = SIZE_MAX };
		pool_job j = { .n = 20, .workers = workers, .depth = 2, .work = p_work, .done = p_done, .more = p_more,
			       .ctx = &c, .cmd = "test", .err = stderr };
		ck_assert_int_eq(pool_run(&j), 20);
		ck_assert_uint_eq(c.n, 20);
		for (size_t i = 0; i < 20; i++) {
			ck_assert_uint_eq(c.got[i], i);
			ck_assert_uint_eq(c.val[i], i * i);
		}
		/* `more` stops the sweep: items from 7 on never run. */
		c = (pctx){ .stop_at = 7, .crash = SIZE_MAX };
		ck_assert_int_eq(pool_run(&j), 7);
		ck_assert_uint_eq(c.n, 7);
		if (workers == 1)
			continue;
		/* A worker killed on item 5: only item 5 is lost, said how; the rest all come. */
		c = (pctx){ .stop_at = 64, .crash = 5 };
		ck_assert_int_eq(pool_run(&j), 20);
		ck_assert_uint_eq(c.n, 20);
		for (size_t i = 0; i < 20; i++) {
			ck_assert_uint_eq(c.got[i], i);
			if (i == 5) {
				ck_assert_uint_eq(c.val[i], UINT64_MAX);
				ck_assert_str_eq(c.why[i], "signal 9");
			} else {
				ck_assert_uint_eq(c.val[i], i * i);
			}
		}
	}
}
END_TEST

/* A tick names the item next in order, never one past the last (the progress line once read
 * past its array). Two workers: item 0 comes back at 150 ms, which restarts the parent's wait,
 * and item 1 at 250 ms, more than 200 ms after the first tick, when a timed tick is due but no
 * item is next any more. */
START_TEST(pool_tick_in_range)
{
	pctx c = { .stop_at = 64, .crash = SIZE_MAX, .paced = true };
	pool_job j = { .n = 2, .workers = 2, .work = p_work, .done = p_done, .more = p_more, .tick = p_tick,
		       .ctx = &c, .cmd = "test", .err = stderr };
	ck_assert_int_eq(pool_run(&j), 2);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_ge(c.ticks, 2); /* at the start, and when item 1 became next */
	ck_assert_uint_lt(c.tick_max, 2);
}
END_TEST

Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *t = tcase_create("verdict");
	tcase_add_test(t, verdict_rules);
	tcase_add_test(t, xfail_lists);
	tcase_add_test(t, verdict_pinned);
	tcase_add_test(t, xfail_pins);
	tcase_add_test(t, pool_order_and_death);
	tcase_add_test(t, pool_tick_in_range);
	tcase_set_timeout(t, 30);
	suite_add_tcase(s, t);
	return s;
}
