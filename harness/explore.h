/*
 * explore.h - the pieces of `mqttsim explore`, `shrink` and `replay` that are plain logic,
 * kept apart from the commands so the unit tests reach them: seed ranges and shards, swarm
 * draws, what a failure report says failed, delta debugging, and a small JSON reader for
 * merging shard results.
 */
#ifndef HARNESS_EXPLORE_H
#define HARNESS_EXPLORE_H

#include "harness/run.h"
#include "harness/scenario.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- seed ranges and shards ------------------------------------------------------------- */

/* Seeds first .. first + count - 1; count 0 is the empty range. */
typedef struct explore_range {
	uint64_t first, count;
} explore_range;

/* "N" is seeds 1..N; "A..B" is A to B inclusive. Returns 0, or -1 with a message. */
int explore_parse_seeds(const char *arg, explore_range *r, char *msg, size_t cap);
/* "I/N" with 1 <= I <= N <= 1000000. Returns 0, or -1 with a message. */
int explore_parse_shard(const char *arg, uint64_t *i, uint64_t *n, char *msg, size_t cap);
/* Shard i of n (1-based) of r: a contiguous block; the n shards cover r exactly once and
 * their sizes differ by at most one. */
explore_range explore_shard(explore_range r, uint64_t i, uint64_t n);

/* ---- swarm testing ------------------------------------------------------------------------ */

/* The fault rates for one seed with --swarm: each kind the scenario lists is switched on or
 * off with even odds, and when on its rate and mean duration are drawn uniformly between the
 * scenario's range ends (rf->lo .. rf->rates). Draws come from the streams "swarm/<kind>"
 * of the seed, so they never disturb the simulation's own streams. */
void explore_swarm_rates(const sc_random_faults *rf, uint64_t seed, sim_fault_rates *out);
/* "partition 3.2/h mean 12.5s, clog off" into buf. */
void explore_swarm_describe(const sim_fault_rates *r, const sc_random_faults *rf, char *buf, size_t cap);

/* ---- what failed ---------------------------------------------------------------------------- */

enum { EXPLORE_FAIL_STEP = 1, EXPLORE_FAIL_EXPECT };

typedef struct explore_fail {
	int kind;       /* EXPLORE_FAIL_* */
	int index;      /* into s->steps or s->expects */
	sc_pos pos;     /* its place in the scenario file */
} explore_fail;

/* What a failed run of s failed, from the result (never its text): the step that failed,
 * or the expectations that did, in scenario order. Returns the count (at most cap; 0 for a
 * run that passed, could not run, or failed outside every step and expectation). */
int explore_failures(const scenario *s, const run_result *r, explore_fail *out, int cap);
/* "expect delivered (sensor -> dashboard)", "step 3 expect (sub)"... */
void explore_fail_label(const scenario *s, const explore_fail *f, char *buf, size_t cap);
bool explore_fail_same(const explore_fail *a, const explore_fail *b);

/* ---- delta debugging ------------------------------------------------------------------------ */

/* Does the run with only these items (indexes into the original list, ascending) still fail
 * the same way? */
typedef bool (*explore_test_fn)(const size_t *items, size_t n, void *ctx);

/* Zeller's ddmin over items 0..n-1: a subset on which `fails` holds and from which no single
 * item can be removed (1-minimal), into out (capacity n). The empty set is tried first.
 * *tests counts the calls. Returns the subset's size. Assumes fails(all) holds. */
size_t explore_ddmin(size_t n, explore_test_fn fails, void *ctx, size_t *out, unsigned *tests);

/* ---- a small JSON reader (for --merge) --------------------------------------------------- */

enum { JV_NULL = 1, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

typedef struct jv {
	int type;
	bool b;
	char *s;          /* STR: the text; NUM: the number as written */
	struct jv *items; /* ARR, OBJ */
	char **keys;      /* OBJ */
	size_t n;
} jv;

/* Parse text (bounded depth). Returns 0, or -1 with "line L: what" in msg. */
int jv_parse(const char *text, size_t len, jv *out, char *msg, size_t cap);
void jv_free(jv *v);
const jv *jv_get(const jv *obj, const char *key);   /* NULL when absent or not an object */
bool jv_u64(const jv *v, uint64_t *out);              /* a whole number */

#endif
