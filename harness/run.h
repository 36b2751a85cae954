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
	const char *broker;   /* NULL or "sim", or "mqtt://HOST:PORT" (tcp:// too), "mqtts://HOST:PORT",
				 "ws://HOST:PORT/PATH", "wss://HOST:PORT/PATH", "exec:CMD" */
	uint64_t seed;
	bool has_seed;        /* else the scenario's seed */
	const char *out_dir;  /* write the trace there as <name>.trace (NULL: nowhere) */
	bool verbose;         /* failure reports include the trace's last lines */
	uint32_t broker_faults; /* sim: BROKER_TF_* switches that break the reference broker */
	uint32_t broker_variants; /* sim: BROKER_VAR_* permitted variants of the reference broker */
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
	/* tcp: the broker under test's names and credentials (cli_target_opt). */
	const char *username;   /* every CONNECT without credentials of its own, and the probe */
	const char *password;   /* with username (--password, --password-file, MQTTSIM_PASSWORD) */
	const char *id_prefix;  /* before every client id (then the run id) */
	const char *topic_prefix; /* before every topic (then "/", the run id) */
	/* tcp: TLS (mqtts://, or --tls over mqtt://) and how the broker is verified (tls.h). */
	bool tls;               /* --tls */
	const char *tls_cafile, *tls_capath; /* CAs to trust (default: the system's) */
	const char *tls_cert, *tls_key;      /* a client certificate and its key */
	const char *tls_alpn;                /* ALPN protocols, "a,b" */
	bool insecure;          /* no verification of the broker's certificate at all */
} run_opts;

/* What came of one run: data, from the engine to the command's edge, where it is formatted
 * for people (run_format) and for reports (reporting.h). Between worker processes it travels
 * as a record (run_result_encode/decode): every field but trace and faults, which only
 * in-process callers (explore, shrink) ask for. */
#define RUN_OBS_MAX 16 /* a named observation, with its NUL */

typedef struct run_result {
	bool pass;
	bool skipped;         /* the scenario does not support this target */
	bool error;           /* the run could not happen (bad target, no broker, a worker that
				 died...): report says why */
	uint64_t seed;
	uint64_t trace_hash;  /* sim: hash of the whole trace */
	uint64_t events;
	int64_t virtual_us;   /* time the run covered (virtual in sim, real over TCP) */
	int64_t wall_us;      /* wall time the run took (run_many) */
	char *report;         /* the failure's message lines and the last packets; malloc'd, may
				 be NULL */
	bool output_lost;     /* a trace or capture asked for could not be written (report says) */
	long failed_step;     /* index of the step that failed; -1 when none did */
	char failed_obs[RUN_OBS_MAX]; /* what that step observed, when it tells failures apart
				 (`late`, `never`: expect_closed with `late`); "" otherwise */
	unsigned char *failed_expect; /* per expectation, 1 if it failed; NULL when none did */
	char *trace;          /* keep_trace: the trace text, malloc'd */
	size_t trace_len;
	sc_fault *faults;     /* want_faults: explicit then drawn, in schedule order; malloc'd,
				 names too */
	size_t nfaults;
	char **violations;    /* statements a malformed packet from the broker broke (the decoder
				 names them); each fails in conform, the run goes on */
	size_t nviolations;
} run_result;

/* What a run says about one of its scenario's statements (spec[i]). Steps and expectations
 * name the statements they check (`spec:`). Only a check that names a statement can fail
 * it; statements checked at or after a failed step (or by no check at all) are not reached;
 * statements whose checks all ran and passed passed. A failed check that names nothing fails
 * nothing, and a run that failed outside every check leaves every statement not reached. */
enum { RUN_STMT_NONE = 0, RUN_STMT_PASS = 'P', RUN_STMT_FAIL = 'F', RUN_STMT_UNREACHED = 'U' };
/* RUN_STMT_NONE when the run says nothing: skipped on this target, or it could not run. */
int run_stmt_outcome(const scenario *s, const run_result *r, size_t spec_index);
/* Which checks failed s->spec[spec_index] in r (when run_stmt_outcome says RUN_STMT_FAIL):
 * up to cap of them, each as the line of the step or expectation and the observation's name
 * (r->failed_obs for the failed step when it has one, else NULL). Returns how many. */
typedef struct run_check {
	int line;
	const char *obs;
} run_check;
size_t run_stmt_failures(const scenario *s, const run_result *r, size_t spec_index, run_check *out, size_t cap);

/* Run s. Returns 0 when the run happened (r->pass says how it went), -1 when it could not
 * start (a bad --broker, an unreachable broker...) with the reason in r->report. */
int run_scenario(const scenario *s, const run_opts *o, run_result *r);
void run_result_free(run_result *r);

/* How a command counts a result: 0 passed (or skipped), 1 failed, 2 could not run or lost
 * what it was to write. */
int run_code(const run_result *r);
/* The result as people read it: a PASS/FAIL/SKIP/ERROR line, then on failure the report and
 * the command that replays it. */
void run_format(FILE *f, const scenario *s, const run_opts *o, const run_result *r);
/* The same, malloc'd. */
char *run_format_text(const scenario *s, const run_opts *o, const run_result *r);

struct pool_rec;
/* A result as a record (pool.h) and back; s is the scenario it ran (the record's expectation
 * flags are checked against it). decode returns 0, or -1 for a record that does not fit
 * (then r holds an error saying so). */
void run_result_encode(struct pool_rec *out, const scenario *s, const run_result *r);
int run_result_decode(const unsigned char *p, size_t len, const scenario *s, run_result *r);

/* Run n scenarios, `jobs` at a time (in worker processes when jobs > 1: pool.h), printing
 * each formatted result to out (unless NULL) in order. res[i] is scenario i's result (free
 * each with run_result_free). */
void run_many(scenario **sc, size_t n, const run_opts *o, long jobs, run_result *res, FILE *out);
/* A scenario's wall time over a network, roughly: its waits, negative windows and close
 * bounds, or its duration when longer (run_many starts the longest first). */
int64_t run_estimate_us(const scenario *s);
/* -j when none is given: the CPUs online (at most 16) in simulation, where runs compute;
 * RUN_TCP_JOBS against a broker over the network, where scenarios mostly wait. */
#define RUN_TCP_JOBS 16
long run_default_jobs(const char *broker);
/* Results for scenarios that were not run: each an error with that reason. */
void run_none(scenario **sc, size_t n, const char *why, run_result *res, FILE *out);

/* Wall time for measuring runs (CLOCK_MONOTONIC), in microseconds. */
int64_t run_mono_us(void);

/* Before a run over TCP: does a CONNECT of `version` (MQTT_V311 or MQTT_V5; o's credentials and
 * client-id prefix) get CONNACK 0 from HOST:PORT (over TLS when tls, verified as o says) within
 * bound_us? 0 yes; -1 with the reason in why (unresolvable, refused, silent, not MQTT); -2 when
 * the broker answered with a refusal (why says which, and what to give mqttsim); -3 when the TLS
 * handshake failed (why says why: the certificate not trusted, its name, the handshake
 * refused); -4 when it refused the protocol version (5.0: CONNACK 0x84, or the 3.1.1 CONNACK
 * 0x01 of a broker that knows no 5.0; why names it); -5 when it closed the connection after
 * the CONNECT without any CONNACK (why says so). */
int run_probe_broker(const char *host, unsigned port, bool tls, const run_opts *o, uint8_t version, int64_t bound_us,
		     char *why, size_t cap);

/* For commands: probe a tcp:// target once before running anything (0 for sim, or when no
 * scenario of sc[] runs over TCP), in each protocol version the scenarios that run over TCP
 * use. On failure put the reason in why and return -1 after printing "mqttsim CMD: ..." to err;
 * or -4, printing nothing, when the broker answers but refuses MQTT 5.0 (CONNACK 0x84 or
 * 0x01; or a close after a 5.0 CONNECT while a 3.1.1 one is taken): why then reads "the broker
 * at BROKER refused MQTT 5.0 (WHAT IT DID)" and the caller says what to do. */
int probe_target(const char *broker, const run_opts *o, scenario *const *sc, size_t n, const char *cmd, char *why, size_t cap,
		 FILE *err);
/* Traces, captures and diagrams are files named after scenarios: true (after saying so on
 * err) when two scenarios share a name and one would overwrite the other's. */
bool names_collide(scenario *const *sc, size_t n, const run_opts *o, const char *cmd, FILE *err);

/* What the target string names: RUN_TARGET_SIM (NULL or "sim"), RUN_TARGET_TCP
 * (mqtt://HOST:PORT, or its alias tcp://), RUN_TARGET_TLS (mqtts://HOST:PORT), with host and
 * port parsed; RUN_TARGET_EXEC (exec:CMD: a broker binary run in virtual time, the simulation
 * engine with broker_shell_exec.h in place of the reference broker); -1 for anything else. IPv6 addresses go in brackets: mqtt://[::1]:1883. */
enum { RUN_TARGET_SIM = 0, RUN_TARGET_TCP = 1, RUN_TARGET_TLS = 2, RUN_TARGET_EXEC = 3 };
/* For run_target_fits only: ws:// or wss://, where `targets: [ws]` scenarios run too. */
#define RUN_TARGET_WS 4
/* WebSocket is a layer over the socket or the TLS session: ws://HOST:PORT[/PATH] is
 * RUN_TARGET_TCP and wss://HOST:PORT[/PATH] RUN_TARGET_TLS, and run_target_ws tells them from
 * mqtt:// and mqtts://. */
int run_parse_target(const char *target, char *host, size_t hcap, unsigned *port);
/* Whether target is ws:// or wss://; path (cap bytes) gets its path, "/mqtt" when none is
 * given. */
#define RUN_WS_PATH_MAX 256
bool run_target_ws(const char *target, char *path, size_t cap);
/* Whether s runs on a target (RUN_TARGET_*): its `targets`, and for exec no options of the
 * reference broker. A [ws] scenario runs on RUN_TARGET_WS only. */
bool run_target_fits(const scenario *s, int target);
#define RUN_TARGET_FORMS \
	"sim, mqtt://HOST:PORT (or tcp://), mqtts://HOST:PORT, ws://HOST:PORT[/PATH], wss://HOST:PORT[/PATH] or exec:'CMD ARGS'"

#endif
