/*
 * test_explore.c - the logic under mqttsim explore, shrink and replay: seed ranges and
 * shards, delta debugging, what a failure report names, swarm draws, the drawn fault plan,
 * and the JSON reader used by --merge.
 */
#include "tests.h"

#include "harness/explore.h"
#include "harness/explore_cmd.h"
#include "harness/run.h"
#include "sim/fault.h"

#include <stdlib.h>
#include <string.h>

/* ---- seed ranges ---------------------------------------------------------------------------- */

START_TEST(seeds_parse_table)
{
	static const struct {
		const char *arg;
		int rc;
		uint64_t first, count;
	} rows[] = {
		{ "1000", 0, 1, 1000 },
		{ "1", 0, 1, 1 },
		{ "5..5", 0, 5, 1 },
		{ "0..9", 0, 0, 10 },
		{ "100..199", 0, 100, 100 },
		{ "18446744073709551615..18446744073709551615", 0, UINT64_MAX, 1 },
		{ "1..18446744073709551615", 0, 1, UINT64_MAX },
		{ "0..18446744073709551615", -1, 0, 0 }, /* 2^64 seeds: no count holds it */
		{ "0", -1, 0, 0 },
		{ "", -1, 0, 0 },
		{ "-5", -1, 0, 0 },
		{ "9..1", -1, 0, 0 },
		{ "1..", -1, 0, 0 },
		{ "..5", -1, 0, 0 },
		{ "1...5", -1, 0, 0 },
		{ "1e3", -1, 0, 0 },
		{ "18446744073709551616", -1, 0, 0 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		explore_range r = { 77, 77 };
		char msg[200] = "";
		int rc = explore_parse_seeds(rows[i].arg, &r, msg, sizeof msg);
		ck_assert_msg(rc == rows[i].rc, "'%s': rc %d", rows[i].arg, rc);
		if (rc == 0) {
			ck_assert_msg(r.first == rows[i].first && r.count == rows[i].count, "'%s': %llu+%llu",
				      rows[i].arg, (unsigned long long)r.first, (unsigned long long)r.count);
		} else {
			ck_assert_msg(strlen(msg) > 10, "'%s': no message", rows[i].arg);
		}
	}
}
END_TEST

START_TEST(shard_parse_table)
{
	static const struct {
		const char *arg;
		int rc;
	} rows[] = {
		{ "1/4", 0 }, { "4/4", 0 }, { "1/1", 0 }, { "0/4", -1 }, { "5/4", -1 }, { "1/0", -1 },
		{ "1", -1 },  { "/4", -1 }, { "1/", -1 }, { "a/b", -1 }, { "1/4/2", -1 }, { "1/1000001", -1 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		uint64_t a = 0, b = 0;
		char msg[200];
		ck_assert_msg(explore_parse_shard(rows[i].arg, &a, &b, msg, sizeof msg) == rows[i].rc, "'%s'",
			      rows[i].arg);
	}
}
END_TEST

/* Shards 1..n of a range, in order: contiguous, covering it exactly once, sizes within one. */
static void check_cover(explore_range r, uint64_t n)
{
	uint64_t next = r.first, total = 0, lo = UINT64_MAX, hi = 0;
	for (uint64_t i = 1; i <= n; i++) {
		explore_range s = explore_shard(r, i, n);
		if (s.count) {
			ck_assert_msg(s.first == next, "range %llu+%llu shard %llu/%llu starts at %llu, not %llu",
				      (unsigned long long)r.first, (unsigned long long)r.count, (unsigned long long)i,
				      (unsigned long long)n, (unsigned long long)s.first, (unsigned long long)next);
			next = s.first + s.count; /* may wrap to 0 exactly at the end of uint64 */
		}
		total += s.count;
		lo = s.count < lo ? s.count : lo;
		hi = s.count > hi ? s.count : hi;
	}
	ck_assert_msg(total == r.count, "shards of %llu seeds cover %llu", (unsigned long long)r.count,
		      (unsigned long long)total);
	ck_assert_msg(hi - lo <= 1, "shard sizes from %llu to %llu", (unsigned long long)lo, (unsigned long long)hi);
}

START_TEST(shards_cover_exactly_once)
{
	static const uint64_t counts[] = { 0, 1, 2, 3, 4, 5, 7, 99, 100, 101, 1000, 1001, 65537 };
	static const uint64_t firsts[] = { 0, 1, 17, 1000000007ull };
	for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
		for (size_t f = 0; f < sizeof firsts / sizeof firsts[0]; f++)
			for (uint64_t n = 1; n <= 13; n++)
				check_cover((explore_range){ firsts[f], counts[c] }, n);
	/* The far end of the seed space, where first + count overflows if done carelessly. */
	check_cover((explore_range){ UINT64_MAX - 9, 10 }, 4);
	check_cover((explore_range){ 1, UINT64_MAX }, 7);
	check_cover((explore_range){ 0, UINT64_MAX }, 1000000);
	/* Every seed of 1..1000 lands in exactly one of four shards, by membership too. */
	explore_range whole = { 1, 1000 };
	for (uint64_t seed = 1; seed <= 1000; seed++) {
		int in = 0;
		for (uint64_t i = 1; i <= 4; i++) {
			explore_range s = explore_shard(whole, i, 4);
			in += seed >= s.first && seed - s.first < s.count;
		}
		ck_assert_msg(in == 1, "seed %llu is in %d shards", (unsigned long long)seed, in);
	}
}
END_TEST

/* ---- ddmin ---------------------------------------------------------------------------------- */

typedef struct need {
	const size_t *must;   /* the run fails iff all of these are kept */
	size_t nmust;
	unsigned calls;
} need;

static bool needs_all(const size_t *items, size_t n, void *ctx)
{
	need *nd = ctx;
	nd->calls++;
	for (size_t k = 0; k < nd->nmust; k++) {
		bool found = false;
		for (size_t i = 0; i < n && !found; i++)
			found = items[i] == nd->must[k];
		if (!found)
			return false;
	}
	return true;
}

START_TEST(ddmin_finds_the_needed_items)
{
	static const size_t one[] = { 13 }, two[] = { 3, 37 }, three[] = { 0, 20, 39 };
	static const struct {
		const size_t *must;
		size_t nmust, n;
	} rows[] = {
		{ one, 1, 40 }, { two, 2, 40 }, { three, 3, 40 }, { one, 1, 14 }, { NULL, 0, 25 }, { three, 3, 40 },
	};
	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		need nd = { rows[r].must, rows[r].nmust, 0 };
		size_t out[64];
		unsigned tests;
		size_t m = explore_ddmin(rows[r].n, needs_all, &nd, out, &tests);
		ck_assert_uint_eq(m, rows[r].nmust);
		for (size_t i = 0; i < m; i++)
			ck_assert_uint_eq(out[i], rows[r].must[i]); /* ascending, as the input order */
		ck_assert_uint_eq(tests, nd.calls);
		/* Far fewer runs than the 2^n subsets: ddmin needs O(k^2 log n) at worst. */
		ck_assert_msg(tests <= 150, "row %zu took %u tests", r, tests);
	}
}
END_TEST

/* Fails iff at least two of {5, 6, 7} are kept: a 1-minimal answer has exactly two. */
static bool two_of_three(const size_t *items, size_t n, void *ctx)
{
	(void)ctx;
	int k = 0;
	for (size_t i = 0; i < n; i++)
		k += items[i] >= 5 && items[i] <= 7;
	return k >= 2;
}

START_TEST(ddmin_result_is_one_minimal)
{
	size_t out[16];
	unsigned tests;
	size_t m = explore_ddmin(12, two_of_three, NULL, out, &tests);
	ck_assert_uint_eq(m, 2);
	ck_assert(out[0] >= 5 && out[0] <= 7 && out[1] >= 5 && out[1] <= 7 && out[0] < out[1]);
	m = explore_ddmin(0, two_of_three, NULL, out, &tests);
	ck_assert_uint_eq(m, 0);
}
END_TEST

/* ---- failures named by a report ----------------------------------------------------------------- */

static const char scen[] =
	"name: t\n"
	"targets: [sim]\n"
	"clients:\n"
	"  - { id: a }\n"
	"  - { id: b }\n"
	"steps:\n"
	"  - { client: a, connect: {} }\n"
	"  - { client: b, connect: {} }\n"
	"  - { client: b, subscribe: { filter: x, qos: 0 } }\n"
	"  - { client: b, expect: { packet: SUBACK } }\n"
	"expect:\n"
	"  - delivered: { from: a, to: b, topic: x, loss: 0 }\n"
	"  - no_duplicates: { to: b }\n";

START_TEST(failures_from_reports)
{
	sc_errors e;
	scenario *s = scenario_parse("f.yaml", scen, strlen(scen), &e);
	ck_assert_ptr_nonnull(s);
	explore_fail f[8];
	/* A failed step: that step, and no expectation ran. */
	run_result r = { .failed_step = 3 };
	int n = explore_failures(s, &r, f, 8);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(f[0].kind, EXPLORE_FAIL_STEP);
	ck_assert_int_eq(f[0].index, 3);
	ck_assert_int_eq(f[0].pos.line, 10);
	ck_assert_int_eq(f[0].pos.col, 5);
	/* Failed expectations, in scenario order. */
	unsigned char fe[2] = { 1, 1 };
	r = (run_result){ .failed_step = -1, .failed_expect = fe };
	n = explore_failures(s, &r, f + 1, 7);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(f[1].kind, EXPLORE_FAIL_EXPECT);
	ck_assert_int_eq(f[1].index, 0);
	ck_assert_int_eq(f[1].pos.line, 12);
	ck_assert_int_eq(f[2].kind, EXPLORE_FAIL_EXPECT);
	ck_assert_int_eq(f[2].index, 1);
	ck_assert_int_eq(explore_failures(s, &r, f + 1, 1), 1); /* bounded by cap */
	char label[200];
	explore_fail_label(s, &f[0], label, sizeof label);
	ck_assert_str_eq(label, "step 4 expect (b)");
	explore_fail_label(s, &f[1], label, sizeof label);
	ck_assert_str_eq(label, "expect delivered (a -> b on x)");
	explore_fail_label(s, &f[2], label, sizeof label);
	ck_assert_str_eq(label, "expect no_duplicates (to b)");
	ck_assert(!explore_fail_same(&f[1], &f[2]));
	ck_assert(explore_fail_same(&f[1], &f[1]));
	/* Nothing failed, or nothing ran. */
	r = (run_result){ .pass = true, .failed_step = -1 };
	ck_assert_int_eq(explore_failures(s, &r, f, 8), 0);
	r = (run_result){ .error = true, .failed_step = -1 };
	ck_assert_int_eq(explore_failures(s, &r, f, 8), 0);
	r = (run_result){ .failed_step = -1 };
	ck_assert_int_eq(explore_failures(s, &r, f, 8), 0);
	scenario_free(s);
}
END_TEST

/* ---- swarm and the drawn plan ------------------------------------------------------------------- */

static const char swarm_scen[] =
	"name: sw\n"
	"targets: [sim]\n"
	"random_faults:\n"
	"  partition: { per_hour: [2, 20], mean: [1s, 10s] }\n"
	"  clog: { per_hour: 30, mean: 1s }\n"
	"  reset: { per_hour: [0, 5] }\n"
	"clients:\n"
	"  - { id: a }\n";

START_TEST(swarm_draws_within_the_ranges)
{
	sc_errors e;
	scenario *s = scenario_parse("sw.yaml", swarm_scen, strlen(swarm_scen), &e);
	ck_assert_ptr_nonnull(s);
	ck_assert(s->random_faults.ranged);
	/* Without --swarm a range stands for its upper end. */
	ck_assert(s->random_faults.rates.per_hour[SIM_FAULT_PARTITION] == 20);
	ck_assert(s->random_faults.lo.per_hour[SIM_FAULT_PARTITION] == 2);
	ck_assert_int_eq(s->random_faults.rates.mean_duration_us[SIM_FAULT_PARTITION], 10000000);
	ck_assert_int_eq(s->random_faults.lo.mean_duration_us[SIM_FAULT_PARTITION], 1000000);
	int on[SIM_FAULT_KINDS] = { 0 };
	for (uint64_t seed = 1; seed <= 400; seed++) {
		sim_fault_rates r, again;
		explore_swarm_rates(&s->random_faults, seed, &r);
		explore_swarm_rates(&s->random_faults, seed, &again);
		ck_assert(!memcmp(&r, &again, sizeof r)); /* a function of the seed alone */
		for (int k = 1; k < SIM_FAULT_KINDS; k++) {
			if (r.per_hour[k] > 0)
				on[k]++;
			if (k != SIM_FAULT_PARTITION && k != SIM_FAULT_CLOG && k != SIM_FAULT_RESET)
				ck_assert(r.per_hour[k] == 0); /* kinds the scenario does not list stay off */
		}
		if (r.per_hour[SIM_FAULT_PARTITION] > 0) {
			ck_assert(r.per_hour[SIM_FAULT_PARTITION] >= 2 && r.per_hour[SIM_FAULT_PARTITION] <= 20);
			ck_assert(r.mean_duration_us[SIM_FAULT_PARTITION] >= 1000000 &&
				  r.mean_duration_us[SIM_FAULT_PARTITION] <= 10000000);
		}
		if (r.per_hour[SIM_FAULT_CLOG] > 0)
			ck_assert(r.per_hour[SIM_FAULT_CLOG] == 30);
	}
	/* Each listed kind is on for about half the seeds: all combinations get reached. */
	ck_assert_msg(on[SIM_FAULT_PARTITION] > 150 && on[SIM_FAULT_PARTITION] < 250, "partition on %d/400",
		      on[SIM_FAULT_PARTITION]);
	ck_assert_msg(on[SIM_FAULT_CLOG] > 150 && on[SIM_FAULT_CLOG] < 250, "clog on %d/400", on[SIM_FAULT_CLOG]);
	char d[300];
	sim_fault_rates r;
	explore_swarm_rates(&s->random_faults, 3, &r);
	explore_swarm_describe(&r, &s->random_faults, d, sizeof d);
	ck_assert_msg(strstr(d, "partition") && strstr(d, "clog") && strstr(d, "reset"), "%s", d);
	scenario_free(s);
}
END_TEST

START_TEST(range_errors_are_reported)
{
	static const char *const bad[] = {
		"name: x\nrandom_faults:\n  partition: { per_hour: [1, 2, 3], mean: 1s }\n",
		"name: x\nrandom_faults:\n  partition: { per_hour: [5, 1], mean: 1s }\n",
		"name: x\nrandom_faults:\n  partition: { per_hour: 1, mean: [9s, 1s] }\n",
		"name: x\nrandom_faults:\n  partition: { per_hour: [1, x], mean: 1s }\n",
		"name: x\nrandom_faults:\n  partition: { per_hour: 1, mean: [1s] }\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sc_errors e;
		scenario *s = scenario_parse("r.yaml", bad[i], strlen(bad[i]), &e);
		ck_assert_msg(!s, "accepted: %s", bad[i]);
		ck_assert_msg(e.n >= 1 && !strncmp(e.msg[0], "r.yaml:3:", 9), "%s", e.n ? e.msg[0] : "(none)");
		sc_errors_free(&e);
	}
}
END_TEST

/* The plan is what sim_fault_draw schedules: same seed, same list; another seed, another. */
START_TEST(fault_plan_is_the_seeds)
{
	sim_world *w = sim_world_new(5);
	sim_host *h[3] = { sim_host_add(w, "broker"), sim_host_add(w, "a"), sim_host_add(w, "b") };
	sim_fault_rates r = { 0 };
	r.per_hour[SIM_FAULT_PARTITION] = 30;
	r.mean_duration_us[SIM_FAULT_PARTITION] = SIM_S(5);
	r.per_hour[SIM_FAULT_JUMP] = 10;
	r.value[SIM_FAULT_JUMP] = 1e6;
	sim_fault *p1, *p2, *p3;
	size_t n1 = sim_fault_plan(5, &r, h, 3, 0, SIM_S(3600), &p1);
	size_t n2 = sim_fault_plan(5, &r, h, 3, 0, SIM_S(3600), &p2);
	size_t n3 = sim_fault_plan(6, &r, h, 3, 0, SIM_S(3600), &p3);
	ck_assert_uint_gt(n1, 20);
	ck_assert_uint_eq(n1, n2);
	bool differs = n1 != n3;
	for (size_t i = 0; i < n1; i++) {
		ck_assert(p1[i].kind == p2[i].kind && p1[i].at == p2[i].at && p1[i].duration == p2[i].duration &&
			  p1[i].a == p2[i].a && p1[i].b == p2[i].b && p1[i].value == p2[i].value);
		differs = differs || p1[i].at != p3[i].at;
	}
	ck_assert(differs);
	for (size_t i = 0; i < n1; i++) {
		ck_assert(p1[i].at >= 0 && p1[i].at < SIM_S(3600));
		if (p1[i].kind == SIM_FAULT_PARTITION)
			ck_assert(p1[i].a != p1[i].b && p1[i].duration > 0);
	}
	ck_assert_int_eq(sim_fault_draw(w, &r, h, 3, 0, SIM_S(3600)), (int)n1);
	free(p1);
	free(p2);
	free(p3);
	sim_world_free(w);
}
END_TEST

/* A run hands back the schedule it injected; as explicit faults it gives the same trace. */
static const char drawn_scen[] =
	"name: d\n"
	"targets: [sim]\n"
	"duration: 2m\n"
	"faults:\n"
	"  - { at: 5s, clog: [a, broker], for: 1s }\n"
	"random_faults:\n"
	"  partition: { per_hour: 120, mean: 2s }\n"
	"  drift: { per_hour: 60, ppm: 100, mean: 10s }\n"
	"clients:\n"
	"  - { id: a }\n"
	"steps:\n"
	"  - { client: a, connect: { keepalive: 0s } }\n"
	"  - { wait: 100s }\n";

START_TEST(run_reports_its_schedule)
{
	sc_errors e;
	scenario *s = scenario_parse("d.yaml", drawn_scen, strlen(drawn_scen), &e);
	ck_assert_ptr_nonnull(s);
	run_opts o = { .seed = 9, .has_seed = true, .want_faults = true };
	run_result r;
	ck_assert_int_eq(run_scenario(s, &o, &r), 0);
	ck_assert_uint_gt(r.nfaults, 2);
	ck_assert_int_eq(r.faults[0].kind, SIM_FAULT_CLOG);
	ck_assert_str_eq(r.faults[0].a, "a");
	scenario copy = *s;
	copy.faults = r.faults;
	copy.nfaults = r.nfaults;
	copy.random_faults.on = false;
	run_opts o2 = { .seed = 9, .has_seed = true };
	run_result r2;
	ck_assert_int_eq(run_scenario(&copy, &o2, &r2), 0);
	ck_assert_msg(r2.trace_hash == r.trace_hash, "explicit copy of the schedule gives another trace");
	run_result_free(&r2);
	run_result_free(&r);
	scenario_free(s);
}
END_TEST

/* ---- JSON reader ------------------------------------------------------------------------------- */

START_TEST(json_reader)
{
	const char *t = "{ \"a\": [1, 18446744073709551615, -2.5e3], \"s\": \"q\\\"\\n\\u0041\", \"b\": true,\n"
			"  \"n\": null, \"o\": {}, \"e\": [] }";
	jv v;
	char msg[200];
	ck_assert_int_eq(jv_parse(t, strlen(t), &v, msg, sizeof msg), 0);
	const jv *a = jv_get(&v, "a");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->type, JV_ARR);
	ck_assert_uint_eq(a->n, 3);
	uint64_t x;
	ck_assert(jv_u64(&a->items[1], &x) && x == UINT64_MAX);
	ck_assert(!jv_u64(&a->items[2], &x));
	ck_assert_str_eq(jv_get(&v, "s")->s, "q\"\nA");
	ck_assert(jv_get(&v, "b")->b);
	ck_assert_int_eq(jv_get(&v, "n")->type, JV_NULL);
	ck_assert_ptr_null(jv_get(&v, "missing"));
	jv_free(&v);
	static const char *const bad[] = { "", "{", "[1,]", "{\"a\" 1}", "\"abc", "[1] 2", "{\"a\": tru}", "[\"\\x\"]" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(jv_parse(bad[i], strlen(bad[i]), &v, msg, sizeof msg) < 0, "accepted %s", bad[i]);
		ck_assert_msg(!strncmp(msg, "line 1:", 7), "%s", msg);
	}
	char deep[200];
	memset(deep, '[', sizeof deep);
	ck_assert_int_lt(jv_parse(deep, sizeof deep, &v, msg, sizeof msg), 0);
}
END_TEST

/* ---- trace differences ---------------------------------------------------------------------- */

START_TEST(trace_diff_names_the_first_line)
{
	const char *a = "1 x\n2 y\n3 z\n", *b = "1 x\n2 y\n3 Z\n4 w\n", *c = "1 x\n2 y\n";
	ck_assert_ptr_null(explore_trace_diff(a, strlen(a), a, strlen(a), "A", "B"));
	ck_assert_ptr_null(explore_trace_diff("", 0, "", 0, "A", "B"));
	char *d = explore_trace_diff(a, strlen(a), b, strlen(b), "A", "B");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d, "the traces differ from event line 3: A: 3 z | B: 3 Z");
	free(d);
	d = explore_trace_diff(c, strlen(c), a, strlen(a), "A", "B");
	ck_assert_str_eq(d, "the traces differ from event line 3: A: (the end) | B: 3 z");
	free(d);
}
END_TEST

Suite *explore_suite(void)
{
	Suite *s = suite_create("explore");
	TCase *tc = tcase_create("explore");
	tcase_add_test(tc, seeds_parse_table);
	tcase_add_test(tc, shard_parse_table);
	tcase_add_test(tc, shards_cover_exactly_once);
	tcase_add_test(tc, ddmin_finds_the_needed_items);
	tcase_add_test(tc, ddmin_result_is_one_minimal);
	tcase_add_test(tc, failures_from_reports);
	tcase_add_test(tc, swarm_draws_within_the_ranges);
	tcase_add_test(tc, range_errors_are_reported);
	tcase_add_test(tc, fault_plan_is_the_seeds);
	tcase_add_test(tc, run_reports_its_schedule);
	tcase_add_test(tc, json_reader);
	tcase_add_test(tc, trace_diff_names_the_first_line);
	suite_add_tcase(s, tc);
	return s;
}
