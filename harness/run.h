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
	FILE *progress;         /* run_many(): "[k/n] name" kept on this terminal, overwritten in
				 * place and cleared at the end (NULL: none; give it a TTY only) */
	bool swarm;           /* sim: random fault kinds and rates drawn per seed (explore.h) */
	bool keep_trace;      /* sim: r->trace gets the trace text */
	bool want_faults;     /* sim: r->faults gets every fault the run injected */
	int test_leak;        /* test only (checks --check-determinism): a trace line from
				 process-wide state: 1 a counter of runs, so two runs of a seed
				 differ; 2 the process id, so only runs in two processes differ */
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
	bool output_lost;     /* a trace or capture asked for could not be written (report says) */
	long failed_step;     /* index of the step that failed; -1 when none did */
	unsigned char *failed_expect; /* per expectation, 1 if it failed; NULL when none ran */
	char *trace;          /* keep_trace: the trace text, malloc'd */
	size_t trace_len;
	sc_fault *faults;     /* want_faults: explicit then drawn, in schedule order; malloc'd,
				 names too */
	size_t nfaults;
} run_result;

/* What a run says about one of its scenario's statements (spec[i]). Steps and expectations
 * may name the statements they check (`spec:`); then a failure fails only those, and
 * statements whose checks come after a failed step are not reached. */
enum { RUN_STMT_PASS = 'P', RUN_STMT_FAIL = 'F', RUN_STMT_UNREACHED = 'U' };
int run_stmt_outcome(const scenario *s, const run_result *r, size_t spec_index);

/* Run s. Returns 0 when the run happened (r->pass says how it went), -1 when it could not
 * start (a bad --broker, an unreachable broker...) with the reason in r->report. */
int run_scenario(const scenario *s, const run_opts *o, run_result *r);
void run_result_free(run_result *r);

/* One run as a report: a PASS/FAIL/SKIP line, then on failure the details and the command
 * that replays it. Returns 0 pass (or skip), 1 fail, 2 could not run. *text is malloc'd.
 * After the report's terminating NUL comes a second string: one RUN_STMT_* letter per
 * statement of s->spec (empty when the run was skipped or could not happen); see
 * run_text_outcomes(). */
int run_one_text(const scenario *s, const run_opts *o, char **text);
/* The outcome letters of a text from run_one_text/run_many ("" when there are none). */
const char *run_text_outcomes(const char *text);
/* Run n scenarios, `jobs` at a time (a child process each when jobs > 1), printing each
 * report to out (unless NULL) in order. codes[i] as run_one_text; texts[i] malloc'd. */
void run_many(scenario **sc, size_t n, const run_opts *o, long jobs, int *codes, char **texts,
	      FILE *out);

/* Before a run over TCP: can a CONNECT get a CONNACK from HOST:PORT within bound_us?
 * 0 yes; -1 with the reason in why (unresolvable, refused, silent, not MQTT). Any CONNACK
 * will do, a refusal included: the scenarios judge the rest. */
int run_probe_broker(const char *host, unsigned port, int64_t bound_us, char *why, size_t cap);

/* For commands: probe a tcp:// target once before running anything (0 for sim, or when no
 * scenario of sc[] runs over TCP); on
 * failure put the reason in why, print "mqttsim CMD: ..." to err and return -1. */
int probe_target(const char *broker, scenario *const *sc, size_t n, const char *cmd, char *why, size_t cap,
		 FILE *err);
/* Traces, captures and diagrams are files named after scenarios: true (after saying so on
 * err) when two scenarios share a name and one would overwrite the other's. */
bool names_collide(scenario *const *sc, size_t n, const run_opts *o, const char *cmd, FILE *err);
/* Results for scenarios that were not run: each an ERROR with that reason (code 2). */
void run_none(scenario **sc, size_t n, const char *why, int *codes, char **texts, FILE *out);

/* Does the target string name the simulator? tcp://HOST:PORT is parsed into host/port. */
int run_parse_target(const char *target, char *host, size_t hcap, unsigned *port);

#endif
