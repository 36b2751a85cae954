/*
 * sim.h - the deterministic discrete-event core: virtual clock, event queue, seeded
 * random streams, trace.
 *
 * Determinism rules kept here and in everything built on it:
 * - time moves only when sim_run() pops an event; `now` is read with sim_now();
 * - events fire in (time, sequence) order; the sequence is the order they were armed, so
 *   equal-time events always fire in one order and nothing depends on addresses;
 * - randomness comes only from sim_rng streams derived from the world seed and a stable
 *   name, so adding a component never perturbs the draws of another;
 * - no threads, no wall clock, no rand().
 *
 * Ownership: the world owns hosts, connections and the trace; timers are embedded in
 * their owners (intrusive) and must be cancelled before their owner is freed.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef int64_t sim_us; /* virtual time in microseconds */

#define SIM_MS(x) ((sim_us)(x) * 1000)
#define SIM_S(x) ((sim_us)(x) * 1000000)
#define SIM_FOREVER INT64_MAX

typedef struct sim_world sim_world;
typedef struct sim_timer sim_timer;
typedef void (*sim_timer_fn)(sim_world *w, sim_timer *t);

/* A timer, embedded in whatever owns it. Initialise once with sim_timer_init. */
struct sim_timer {
	sim_us at;
	uint64_t seq;
	uint32_t slot;       /* index in the heap + 1, UINT32_MAX in the wheel; 0 when not armed */
	sim_timer_fn fn;
	void *arg;
	sim_timer *wnext, *wprev; /* in the wheel: the other timers due the same microsecond */
};

/* ---- random streams (rng.c) ---------------------------------------------------------- */

/* xoshiro256** seeded through splitmix64. */
typedef struct sim_rng {
	uint64_t s[4];
} sim_rng;

/* A stream derived from (seed, name): stable across runs and independent of other names. */
void sim_rng_init(sim_rng *r, uint64_t seed, const char *name);
uint64_t sim_rng_u64(sim_rng *r);
double sim_rng_unit(sim_rng *r);                           /* [0, 1) with 53 random bits */
uint64_t sim_rng_below(sim_rng *r, uint64_t n);            /* [0, n), unbiased; 0 if n == 0 */
double sim_rng_uniform(sim_rng *r, double lo, double hi);  /* [lo, hi) */
double sim_rng_exponential(sim_rng *r, double mean);
double sim_rng_normal(sim_rng *r, double mean, double sd);
double sim_rng_pareto(sim_rng *r, double scale, double shape); /* >= scale */
bool sim_rng_bernoulli(sim_rng *r, double p);

/* 64-bit FNV-1a, used for stream names and trace hashes. */
uint64_t sim_hash64(uint64_t h, const void *data, size_t len);
#define SIM_HASH_INIT 0xcbf29ce484222325ull

/* ---- the world and its loop (world.c) -------------------------------------------------- */

sim_world *sim_world_new(uint64_t seed);
void sim_world_free(sim_world *w);
uint64_t sim_world_seed(const sim_world *w);
sim_us sim_now(const sim_world *w);

void sim_timer_init(sim_timer *t, sim_timer_fn fn, void *arg);
void sim_timer_arm(sim_world *w, sim_timer *t, sim_us at);  /* re-arms if already armed */
void sim_timer_after(sim_world *w, sim_timer *t, sim_us delay);
void sim_timer_cancel(sim_world *w, sim_timer *t);          /* no-op if not armed */
static inline bool sim_timer_armed(const sim_timer *t) { return t->slot != 0; }

enum sim_stop {
	SIM_STOP_DEADLINE = 1,  /* the next event lies beyond `until` (now == until) */
	SIM_STOP_QUIET = 2,     /* no events left (now moves to `until` unless it is SIM_FOREVER) */
	SIM_STOP_BUDGET = 3,    /* max_steps events fired */
	SIM_STOP_HALT = 4,      /* sim_halt() was called */
};
/* Fire events in order until one of the stops. max_steps 0 means no budget. */
int sim_run(sim_world *w, sim_us until, uint64_t max_steps);
void sim_halt(sim_world *w);
uint64_t sim_steps(const sim_world *w);     /* events fired since creation */
size_t sim_pending(const sim_world *w);     /* timers armed */

/* ---- trace (trace.c) ---------------------------------------------------------------------- */

/* Every event of a run, one line each: "   12.345678 host conn kind details".
 * The hash covers every line; the text is kept only when recording is on. also_to, when
 * not NULL, is handed each line as it is made (NUL-terminated, len bytes with its newline):
 * sim/ writes to no file itself. */
typedef void sim_trace_sink(void *ctx, const char *line, size_t len);
void sim_trace_record(sim_world *w, bool keep_text, sim_trace_sink *also_to, void *ctx);
/* Tracing is on by default; off skips formatting and hashing (benchmarks only). */
void sim_trace_enable(sim_world *w, bool on);
void sim_trace(sim_world *w, const char *host, uint64_t conn, const char *kind, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 5, 6)))
#endif
	;
uint64_t sim_trace_hash(const sim_world *w);
uint64_t sim_trace_lines(const sim_world *w);
const char *sim_trace_text(const sim_world *w, size_t *len); /* NULL unless kept */

#endif
