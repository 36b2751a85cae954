/*
 * engine.h - internal to harness/: what a target provides to the step runner.
 *
 * Client index `n` (== number of scenario clients) is the harness's own probe, used at
 * the end to read retained messages.
 */
#ifndef HARNESS_ENGINE_H
#define HARNESS_ENGINE_H

#include "harness/client.h"
#include "harness/run.h"

typedef struct engine {
	void *ctx;
	hclient *clients;     /* nclients + 1 (the probe) */
	size_t nclients;
	int64_t (*now)(void *ctx);
	/* Let time pass until `until`, or until pred(arg) holds (checked after every event).
	 * Returns true if pred held. pred may be NULL. */
	bool (*run_until)(void *ctx, int64_t until, bool (*pred)(void *arg), void *arg);
	/* Start a transport connection for client i; -errno if it cannot even start. */
	int (*open)(void *ctx, int i);
	/* 0 connected, 1 still connecting, -errno failed. */
	int (*open_state)(void *ctx, int i);
	void (*close)(void *ctx, int i, bool abort);
	/* A line of context for the trace (sim) or the verbose log (tcp). */
	void (*note)(void *ctx, int i, const char *fmt, ...)
#if defined(__GNUC__)
		__attribute__((format(printf, 3, 4)))
#endif
		;
	/* Client ids and topics as the broker sees them: tcp puts the run id (after the user's
	 * --client-id-prefix / --topic-prefix) before both; sim puts nothing. */
	const char *id_prefix;
	const char *topic_prefix;
	/* Credentials for every CONNECT step without its own (--username, --password). */
	const char *username;
	const char *password;
	/* The run ends here (the scenario's duration, or the target's default): no wait goes
	 * past it, so no step can hang a run. */
	int64_t limit_us;
	bool hit_limit;       /* a wait was cut short by limit_us */
	/* Over WebSocket only (NULL elsewhere): send len bytes for client i in frames of the
	 * sizes frames[0..n) (the rest in a last frame), as text frames when text. */
	void (*send_ws)(void *ctx, int i, const uint8_t *data, size_t len, const uint32_t *frames, size_t n, bool text);
	/* Simulated nodes (sim only; NULL elsewhere). A watched node's log is an hclient whose
	 * pubs are the messages its sketch tried to publish and whose pkts are the PUBLISH
	 * packets it received. node_parties fills out[] with the logs an expectation's party
	 * names (inst -1: every instance) and returns how many; logs[] holds them all. */
	size_t (*node_parties)(void *ctx, int node, long inst, hclient **out, size_t cap);
	hclient **logs;
	size_t nlogs;
	/* A `node:` expectation: counters and state at the end. */
	bool (*node_check)(void *ctx, const sc_expect *x, char **report, const char *at);
} engine;

/* The bound on a run without a `duration`: virtual time in simulation, real time over TCP. */
#define RUN_DEFAULT_LIMIT_SIM_US (600 * 1000000LL)
#define RUN_DEFAULT_LIMIT_TCP_US (60 * 1000000LL)

/* run.c: the steps and the expectations, over any engine. Appends to *report. */
/* Run the steps, then the expectations; failures go to r->report, r->failed_step and
 * r->failed_expect. Returns whether everything passed. */
bool run_steps(engine *e, const scenario *s, run_result *r);
/* run_expect.c: a delivered, no_duplicates, ordered or will expectation x, judged over the
 * clients' (and watched nodes') logs at the end of the run; failures are appended to
 * *report, each line starting with `at` (FILE:LINE:COL). Returns whether it holds. */
bool run__expect_logs(engine *e, const sc_expect *x, char **report, const char *at);

/* engine_sim.c / engine_tcp.c */
int engine_sim_run(const scenario *s, const run_opts *o, run_result *r);
int engine_tcp_run(const scenario *s, const run_opts *o, const char *host, unsigned port, bool tls,
		   run_result *r);

/* A growing report. */
void report_add(char **report, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

#endif
