/*
 * pool.h - the one worker pool of `run`, `conform` and `explore`.
 *
 * n items of work, run in `workers` child processes (or in this process when workers <= 1).
 * Each item's work writes a record - plain bytes, built with the pool_put_* helpers - and the
 * parent receives every record through `done`, in item order. Workers are forked once and
 * fed item numbers over a pipe as they become free, so a long item never holds the others
 * up and a short one costs no fork. A worker that dies (a crash in a run) loses only the
 * item it was running: `done` gets that item with no record, and a fresh worker takes over
 * the rest. Workers end with the parent (PR_SET_PDEATHSIG): no orphan goes on talking to a
 * broker after mqttsim is interrupted.
 *
 * Records never hold text meant to be parsed: they carry the fields of a result, and the
 * parent formats text for people (see run.h).
 */
#ifndef HARNESS_POOL_H
#define HARNESS_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A record being written (owned by the pool; valid during the work call). */
typedef struct pool_rec {
	unsigned char *p;
	size_t len, cap;
} pool_rec;

void pool_put_u64(pool_rec *r, uint64_t v);
void pool_put_i64(pool_rec *r, int64_t v);
/* A length-prefixed byte string; s may be NULL (read back as NULL, not ""). */
void pool_put_bytes(pool_rec *r, const void *s, size_t n, bool present);
void pool_put_str(pool_rec *r, const char *s);

/* Reading a record back: every get fails (returns false, and keeps failing) past the end. */
typedef struct pool_in {
	const unsigned char *p;
	size_t len, off;
	bool bad;
} pool_in;

bool pool_get_u64(pool_in *in, uint64_t *v);
bool pool_get_i64(pool_in *in, int64_t *v);
/* *s is malloc'd and NUL-terminated (NULL when the writer put NULL); *n its length. */
bool pool_get_bytes(pool_in *in, char **s, size_t *n);
bool pool_get_str(pool_in *in, char **s);

typedef struct pool_job {
	size_t n;                 /* items 0..n-1 */
	long workers;             /* <= 1: in this process */
	unsigned depth;           /* items handed to a worker ahead of its results (0: 1) */
	/* The order items are handed out in (a permutation of 0..n-1; NULL: 0, 1, ...); done()
	 * still sees them in item order. Only with n <= POOL_WINDOW and no `more`. */
	const size_t *order;
	/* In a worker (or here): do item i, writing its record into out. */
	void (*work)(void *ctx, size_t i, pool_rec *out);
	/* In the parent, in item order: item i's record (rec NULL when the worker running it
	 * died; why says how, e.g. "signal 11"). */
	void (*done)(void *ctx, size_t i, const unsigned char *rec, size_t len, const char *why);
	/* In the parent, before handing out item i: false stops the sweep (items from i on are
	 * never done). NULL: always true. */
	bool (*more)(void *ctx, size_t i);
	/* In the parent, at least every 200 ms while it waits, and when the item next in order
	 * changes (next: that item, always < n). NULL: none. */
	void (*tick)(void *ctx, size_t next);
	void *ctx;
	const char *cmd;          /* "run", "explore": names errors */
	FILE *err;
} pool_job;

#define POOL_WINDOW 4096

/* Run the job. Returns the number of items done (n unless `more` stopped it), or -1 when
 * no worker could be started at all (the reason said on err; nothing was done). */
long pool_run(const pool_job *j);

#endif
