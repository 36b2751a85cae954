/*
 * run.h - running one scenario against a target, and what came of it.
 *
 * The step logic and the expectations are written once, over an engine: the simulation
 * engine (virtual time, the reference broker in-process, the fault model) or the TCP
 * engine (real sockets and the monotonic clock against an external broker).
 */
#ifndef HARNESS_RUN_H
#define HARNESS_RUN_H

#include "harness/scenario.h"

#include <stdio.h>

typedef struct run_opts {
	const char *broker;   /* NULL or "sim", or "tcp://HOST:PORT" */
	uint64_t seed;
	bool has_seed;        /* else the scenario's seed */
	const char *out_dir;  /* write the trace there as <name>.trace (NULL: nowhere) */
	bool verbose;         /* failure reports include the trace's last lines */
	uint32_t broker_faults; /* sim: BROKER_TF_* switches that break the reference broker */
	const char *pcap_dir;   /* sim: write the byte streams to DIR/<name>.pcap */
	bool no_trace;          /* sim: no trace at all (benchmarks): no text, hash 0 */
} run_opts;

typedef struct run_result {
	bool pass;
	bool skipped;         /* the scenario does not support this target */
	uint64_t seed;
	uint64_t trace_hash;  /* sim: hash of the whole trace */
	uint64_t events;
	int64_t virtual_us;   /* time the run covered (virtual in sim, real over TCP) */
	char *report;         /* failures and context; malloc'd, may be NULL */
} run_result;

/* Run s. Returns 0 when the run happened (r->pass says how it went), -1 when it could not
 * start (a bad --broker, an unreachable broker...) with the reason in r->report. */
int run_scenario(const scenario *s, const run_opts *o, run_result *r);
void run_result_free(run_result *r);

/* One run as a report: a PASS/FAIL/SKIP line, then on failure the details and the command
 * that replays it. Returns 0 pass (or skip), 1 fail, 2 could not run. *text is malloc'd. */
int run_one_text(const scenario *s, const run_opts *o, char **text);
/* Run n scenarios, `jobs` at a time (a child process each when jobs > 1), printing each
 * report to out (unless NULL) in order. codes[i] as run_one_text; texts[i] malloc'd. */
void run_many(scenario **sc, size_t n, const run_opts *o, long jobs, int *codes, char **texts,
	      FILE *out);

/* Does the target string name the simulator? tcp://HOST:PORT is parsed into host/port. */
int run_parse_target(const char *target, char *host, size_t hcap, unsigned *port);

#endif
