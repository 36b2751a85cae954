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

typedef struct run_opts {
	const char *broker;   /* NULL or "sim", or "tcp://HOST:PORT" */
	uint64_t seed;
	bool has_seed;        /* else the scenario's seed */
	const char *out_dir;  /* write the trace there as <name>.trace (NULL: nowhere) */
	bool verbose;         /* failure reports include the trace's last lines */
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

/* Does the target string name the simulator? tcp://HOST:PORT is parsed into host/port. */
int run_parse_target(const char *target, char *host, size_t hcap, unsigned *port);

#endif
