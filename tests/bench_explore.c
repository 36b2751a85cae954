/*
 * bench_explore.c - seeds per second of `mqttsim explore` on one core: the scenario of
 * tests/scenarios/bench-explore.yaml (three clients, ten virtual minutes, a lossy network,
 * partitions, clogs, resets and drift drawn from each seed), run in-process seed after seed
 * as explore does. Prints figures; the wall clock is read here only.
 *
 * Target (issue #9): at least 1,000 seeds/s per core.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/run.h"
#include "harness/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SCENARIO "tests/scenarios/bench-explore.yaml"
#define MIN_SECONDS 2.0

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
	sc_errors e;
	scenario *s = scenario_load(SCENARIO, &e);
	if (!s) {
		for (int i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msg[i]);
		sc_errors_free(&e);
		return 2;
	}
	uint64_t seeds = 0, events = 0, failed = 0, faults = 0;
	double t0 = now_s(), t;
	do {
		for (int k = 0; k < 100; k++) {
			run_opts o = { .seed = ++seeds, .has_seed = true, .want_faults = true };
			run_result r;
			if (run_scenario(s, &o, &r) < 0) {
				fprintf(stderr, "bench_explore: could not run: %s\n", r.report ? r.report : "");
				return 2;
			}
			events += r.events;
			failed += !r.pass;
			faults += r.nfaults;
			run_result_free(&r);
		}
		t = now_s() - t0;
	} while (t < MIN_SECONDS);
	double rate = (double)seeds / t;
	printf("explore: %llu seeds of %s (3 clients, 10 virtual minutes, %.1f faults and %.0f events a seed) "
	       "in %.2fs: %.0f seeds/s on one core (target >= 1000: %s); %llu seeds failed an expectation\n",
	       (unsigned long long)seeds, SCENARIO, (double)faults / (double)seeds, (double)events / (double)seeds, t,
	       rate, rate >= 1000 ? "met" : "MISSED", (unsigned long long)failed);
	scenario_free(s);
	return 0;
}
