/*
 * explore_cmd.h - internal to harness/: what cmd_explore.c shares with its parts
 * (explore_seed.c: one seed; explore_results.c: summary, JSON, --merge) and with
 * cmd_shrink.c (`mqttsim shrink` and `mqttsim replay`).
 */
#ifndef HARNESS_EXPLORE_CMD_H
#define HARNESS_EXPLORE_CMD_H

#include "harness/explore.h"
#include "harness/run.h"
#include "harness/scenario.h"

#include <stddef.h>
#include <stdio.h>

/* A whole file, NUL-terminated, malloc'd; NULL after saying why on err ("mqttsim CMD: ..."). */
char *explore_slurp(const char *path, size_t *len, FILE *err, const char *cmd);
/* A scenario, or NULL after printing every error. */
scenario *explore_load(const char *path, FILE *err, const char *cmd);
/* The first line where two traces differ, described with the names of the two (malloc'd);
 * NULL if they are equal. */
char *explore_trace_diff(const char *a, size_t alen, const char *b, size_t blen, const char *na,
			 const char *nb);

/* " --broker 'exec:CMD'" (quoted for the shell) into buf, or "" for NULL / sim: what a
 * replay, shrink or run command needs to name the same broker. */
void explore_broker_arg(const char *broker, char *buf, size_t cap);

/* ---- one seed (explore_seed.c) ------------------------------------------------------------ */

/* What a seed came to. Strings are malloc'd ("" when there is nothing to say). */
typedef struct seed_out {
	uint64_t seed;
	int code;           /* 0 pass, 1 fail, 2 could not run, 3 the two runs differed */
	uint64_t hash;
	char *at;           /* FILE:LINE:COLUMN of what failed */
	char *what;         /* its label: "expect delivered (a -> b)", "determinism" ... */
	char *msg;          /* the first line of the failure report, or the trace difference */
} seed_out;

/* How often --check-determinism also runs a seed in a fresh process (the first seed, then
 * every FRESH_EVERY-th): exec costs milliseconds, an in-process run a fraction of one. */
#define FRESH_EVERY 50

/* Run seed; with check_det twice (and, when fresh, once more in a new process), comparing
 * traces. out's strings are malloc'd: free with explore__seed_out_free(). */
void explore__run_seed(const scenario *s, const run_opts *base, uint64_t seed, bool check_det, bool fresh,
		       seed_out *out);
void explore__seed_out_free(seed_out *o);
/* strdup that never fails (NULL gives ""). */
char *explore__xstrdup(const char *s);

/* ---- results (explore_results.c) ----------------------------------------------------------- */

typedef struct results {
	uint64_t *ran;      /* every seed that ran */
	size_t nran, capran;
	seed_out *fails;
	size_t nfails, capfails;
	uint64_t passed;
} results;

/* What explore and --merge both print and write. */
typedef struct summary {
	const char *file;       /* scenario */
	const char *broker;     /* NULL (the reference broker) or "exec:CMD", for replay lines */
	const char *name;
	const char *spec;       /* the scenario's statement ids, space-separated; "" if none */
	uint64_t scenario_hash;
	bool swarm, check_det;
	explore_range range;
	uint64_t shard_i, shard_n;  /* 0/0: no shard */
	uint64_t (*iv)[2];      /* seeds that ran */
	size_t niv;
	uint64_t nran, passed;
	seed_out *fails;        /* sorted by seed */
	size_t nfails;
	double elapsed_s;       /* < 0: unknown (merge) */
} summary;

/* Takes o's strings (a passed seed's are freed at once). */
void explore__results_add(results *R, seed_out *o);
void explore__results_free(results *R);
int explore__by_u64(const void *a, const void *b);
int explore__by_seed(const void *a, const void *b);
/* The seeds that ran, as sorted [first, last] intervals; returns the count, *iv malloc'd. */
size_t explore__intervals(uint64_t *seeds, size_t n, uint64_t (**iv)[2]);
void explore__print_summary(const summary *S, FILE *out);
/* Returns 0, or -1 after saying why on err. */
int explore__write_json(const summary *S, const char *path, FILE *err);
/* `explore --merge FILES [--json OUT]`: the exit code. */
int explore__merge(int nfiles, char **files, const char *json_out, FILE *out, FILE *err);

#endif
