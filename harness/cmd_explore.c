/*
 * cmd_explore.c - `mqttsim explore`: one scenario in simulation under many seeds (optionally
 * swarm testing the fault kinds), failures grouped by what failed, each with the command that
 * replays it; shards for spreading a sweep over machines, and --merge to join their results;
 * --check-determinism to run every seed twice and compare the traces.
 *
 * This is harness code: the wall clock here only decides when to stop starting seeds
 * (--time-budget) and how fast the progress line says we go; no simulated code sees it.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/cli.h"
#include "harness/explore.h"
#include "harness/explore_cmd.h"
#include "harness/pool.h"
#include "harness/reporting.h"
#include "harness/run.h"
#include "harness/suite.h"
#include "harness/units.h"
#include "mqtt/alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char explore_usage[] =
	"usage: mqttsim explore SCENARIO [--seeds N | --seeds A..B] [--swarm] [--time-budget 60s]\n"
	"                       [--broker exec:'CMD ARGS']\n"
	"                       [--shard I/N] [-j N] [--check-determinism] [--report json]\n"
	"                       [--report-dir DIR] [--json FILE]\n"
	"       mqttsim explore --merge A.json B.json... [--json FILE]\n"
	"\n"
	"Run one scenario in simulation under many seeds and summarise what failed, grouped by the\n"
	"step or expectation, each failing seed with the command that replays it.\n"
	"\n"
	"  --seeds N|A..B      seeds 1..N, or A to B inclusive (default 1..100)\n"
	"  --broker exec:CMD   run a broker binary in virtual time instead of the reference broker\n"
	"                      (exec/README.md: mosquitto -c {config})\n"
	"  --swarm             per seed, switch each random fault kind on or off and draw its rate\n"
	"                      and mean duration from the scenario's ranges (random_faults)\n"
	"  --time-budget T     start no seed after T of wall time (e.g. 60s, 5m)\n"
	"  --shard I/N         run only the I-th of N equal blocks of the seed range\n"
	"  -j N                N worker processes\n"
	"  --check-determinism run every seed twice; any difference in the traces fails, naming\n"
	"                      the first line that differs (the first seed and every 50th also\n"
	"                      a third time, in a fresh mqttsim process)\n"
	"  --report json       write DIR/explore.json (DIR/explore-shard-I-of-N.json with --shard)\n"
	"  --json FILE         write the JSON results to FILE\n"
	"  --merge FILES       join the JSON results of shards into one summary\n"
	"\n"
	"exit: 0 every seed passed, 1 a seed failed, 2 bad input\n";

/* ---- small helpers ---------------------------------------------------------------------- */

/* Wall seconds, from the one monotonic clock of the harness (run_mono_us). */
static double wall_s(void)
{
	return (double)run_mono_us() / 1e6;
}

char *explore_slurp(const char *path, size_t *len, FILE *err, const char *cmd)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(err, "mqttsim %s: %s: %s\n", cmd, path, strerror(errno));
		return NULL;
	}
	const char *why;
	char *buf = cli_read_all(f, 64u << 20, len, &why);
	fclose(f);
	if (!buf)
		fprintf(err, "mqttsim %s: %s: %s\n", cmd, path,
			!strcmp(why, "too large") ? "larger than 64 MiB" : why);
	return buf;
}

scenario *explore_load(const char *path, FILE *err, const char *cmd)
{
	sc_errors e = { 0 };
	scenario *s = suite_scenario_load(path, &e);
	if (!s) {
		for (int k = 0; k < e.n; k++)
			fprintf(err, "%s\n", e.msg[k]);
		if (e.dropped)
			fprintf(err, "%s: ... and %d more errors\n", path, e.dropped);
		fprintf(err, "mqttsim %s: fix the errors above\n", cmd);
	}
	sc_errors_free(&e);
	return s;
}

/* ---- the sweep ---------------------------------------------------------------------------- */

typedef struct sweep {
	const scenario *s;
	run_opts o;
	explore_range range;
	bool check_det;
	double budget_s;     /* <= 0: none */
	double start;
	long jobs;
	bool progress;       /* stderr is a terminal */
	FILE *err;
} sweep;

static void progress(const sweep *W, const results *R, bool final)
{
	if (!W->progress)
		return;
	double t = wall_s() - W->start;
	if (final) {
		fputs("\r\033[K", W->err);
		return;
	}
	fprintf(W->err, "\r\033[Kexplore: %zu/%" PRIu64 " seeds, %zu failed, %.0f seeds/s", R->nran, W->range.count,
		R->nfails, t > 0 ? (double)R->nran / t : 0.0);
	fflush(W->err);
}

static bool out_of_time(const sweep *W)
{
	return W->budget_s > 0 && wall_s() - W->start >= W->budget_s;
}

/* The sweep through the worker pool (pool.h): item k is seed range.first + k; its record
 * is the seed_out's fields. */
typedef struct sweep_run {
	const sweep *W;
	results *R;
	double last;        /* when the progress line was last drawn */
	long lost;          /* seeds whose worker died */
} sweep_run;

static void seed_work(void *ctx, size_t k, pool_rec *rec)
{
	const sweep *W = ((sweep_run *)ctx)->W;
	seed_out o;
	explore__run_seed(W->s, &W->o, W->range.first + k, W->check_det, k % FRESH_EVERY == 0, &o);
	pool_put_u64(rec, o.seed);
	pool_put_i64(rec, o.code);
	pool_put_u64(rec, o.hash);
	pool_put_str(rec, o.at);
	pool_put_str(rec, o.what);
	pool_put_str(rec, o.msg);
	explore__seed_out_free(&o);
}

static void seed_done(void *ctx, size_t k, const unsigned char *p, size_t len, const char *why)
{
	sweep_run *X = ctx;
	seed_out o = { .seed = X->W->range.first + k };
	pool_in in = { .p = p, .len = len };
	int64_t code = 2;
	if (p) {
		pool_get_u64(&in, &o.seed);
		pool_get_i64(&in, &code);
		pool_get_u64(&in, &o.hash);
		pool_get_str(&in, &o.at);
		pool_get_str(&in, &o.what);
		pool_get_str(&in, &o.msg);
	}
	if (!p || in.bad) {
		/* The run never came back: a crash of this seed is a failure of its own. */
		explore__seed_out_free(&o);
		char m[160];
		snprintf(m, sizeof m, "the worker process running this seed stopped (%s)", p ? "a bad record" : why);
		o = (seed_out){ .seed = X->W->range.first + k, .at = explore__xstrdup(""), .what = explore__xstrdup("error"), .msg = explore__xstrdup(m) };
		code = 2;
		X->lost++;
	}
	o.code = (int)code;
	explore__results_add(X->R, &o);
}

static bool seed_more(void *ctx, size_t k)
{
	(void)k;
	return !out_of_time(((sweep_run *)ctx)->W);
}

static void seed_tick(void *ctx, size_t next)
{
	sweep_run *X = ctx;
	(void)next;
	double t = wall_s();
	if (X->W->progress && t - X->last > 0.2) {
		progress(X->W, X->R, false);
		X->last = t;
	}
}

/* Every seed of the range, W->jobs at a time. Returns 0, or -1 when seeds were lost to
 * workers that died (they count as failed seeds, and the caller says so). */
static int sweep_all(const sweep *W, results *R)
{
	sweep_run X = { .W = W, .R = R };
	pool_job j = { .n = (size_t)W->range.count, .workers = W->jobs, .depth = 8, .work = seed_work,
		       .done = seed_done, .more = seed_more, .tick = seed_tick, .ctx = &X, .cmd = "explore",
		       .err = W->err };
	if (pool_run(&j) < 0)
		return -1;
	if (X.lost)
		fprintf(W->err, "mqttsim explore: %ld seed%s lost to a worker process that stopped (listed as errors)\n",
			X.lost, X.lost == 1 ? "" : "s");
	return X.lost ? -1 : 0;
}

/* ---- the command ------------------------------------------------------------------------------ */

int cmd_explore(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	(void)in;
	const char *path = NULL, *json = NULL, *report_dir = NULL;
	bool want_report = false, merging = false;
	explore_range range = { 1, 100 };
	uint64_t shard_i = 0, shard_n = 0;
	sweep W = { 0 };
	W.jobs = 1;
	W.err = err;
	char msg[256];
	char **mfiles = mqtt_xcalloc((size_t)argc, sizeof *mfiles);
	int nm = 0;
	int rc = EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(explore_usage, out);
			rc = EXIT_PASS;
			goto out;
		} else if (!strcmp(a, "--seeds")) {
			if (explore_parse_seeds(v, &range, msg, sizeof msg) < 0) {
				fprintf(err, "mqttsim explore: %s\n", msg);
				goto out;
			}
			i++;
		} else if (!strcmp(a, "--shard")) {
			if (explore_parse_shard(v, &shard_i, &shard_n, msg, sizeof msg) < 0) {
				fprintf(err, "mqttsim explore: %s\n", msg);
				goto out;
			}
			i++;
		} else if (!strcmp(a, "--broker")) {
			/* The virtual network only: the reference broker, or a binary in virtual time. */
			if (cli_sim_broker("explore", v, err) < 0)
				goto out;
			W.o.broker = strcmp(v, "sim") ? v : NULL;
			i++;
		} else if (!strcmp(a, "--swarm")) {
			W.o.swarm = true;
		} else if (!strcmp(a, "--check-determinism")) {
			W.check_det = true;
		} else if (!strcmp(a, "--break-determinism")) {
			W.o.test_leak = 1; /* test only: proves the guard can fail (state kept across runs) */
		} else if (!strcmp(a, "--break-determinism=process")) {
			W.o.test_leak = 2; /* test only: differs between processes, never within one */
		} else if (!strcmp(a, "--time-budget")) {
			int64_t us = v ? sc_parse_duration(v) : -1;
			if (us <= 0) {
				fprintf(err, "mqttsim explore: --time-budget takes a duration like 60s or 5m, not '%s'\n",
					v ? v : "(nothing)");
				goto out;
			}
			W.budget_s = (double)us / 1e6;
			i++;
		} else if (!strcmp(a, "-j")) {
			if (cli_jobs("explore", v, &W.jobs, err) < 0)
				goto out;
			i++;
		} else if (!strcmp(a, "--report")) {
			if (!v || strcmp(v, "json")) {
				fprintf(err, "mqttsim explore: --report takes json, not '%s'\n", v ? v : "(nothing)");
				goto out;
			}
			want_report = true;
			i++;
		} else if (!strcmp(a, "--report-dir")) {
			if (!v) {
				fprintf(err, "mqttsim explore: --report-dir needs a directory\n");
				goto out;
			}
			report_dir = v;
			i++;
		} else if (!strcmp(a, "--json")) {
			if (!v) {
				fprintf(err, "mqttsim explore: --json needs a file name\n");
				goto out;
			}
			json = v;
			i++;
		} else if (!strcmp(a, "--merge")) {
			merging = true;
		} else if (a[0] == '-') {
			fprintf(err, "mqttsim explore: unknown option '%s'\n%s", a, explore_usage);
			goto out;
		} else if (merging) {
			mfiles[nm++] = argv[i];
		} else if (!path) {
			path = a;
		} else {
			fprintf(err, "mqttsim explore: one scenario at a time (got '%s' and '%s')\n", path, a);
			goto out;
		}
	}
	if (merging) {
		if (path)
			mfiles[nm++] = (char *)path; /* a file named before --merge */
		if (nm == 0) {
			fprintf(err, "mqttsim explore --merge: which result files? (from explore --json or --report json)\n");
			goto out;
		}
		rc = explore__merge(nm, mfiles, json, out, err);
		goto out;
	}
	if (!path) {
		fprintf(err, "mqttsim explore: which scenario?\n%s", explore_usage);
		goto out;
	}
	if (report_dir && !want_report) {
		fprintf(err, "mqttsim explore: --report-dir needs --report json\n");
		goto out;
	}
	char json_path[4096];
	if (want_report && !json) {
		const char *dir = report_dir ? report_dir : REPORT_DEFAULT_DIR;
		char sub[4096];
		snprintf(sub, sizeof sub, "%s", dir);
		for (char *p = sub + 1; *p; p++)
			if (*p == '/') {
				*p = 0;
				mkdir(sub, 0777);
				*p = '/';
			}
		mkdir(sub, 0777);
		if (shard_n)
			snprintf(json_path, sizeof json_path, "%s/explore-shard-%" PRIu64 "-of-%" PRIu64 ".json", dir, shard_i,
				 shard_n);
		else
			snprintf(json_path, sizeof json_path, "%s/explore.json", dir);
		json = json_path;
	}
	scenario *s = explore_load(path, err, "explore");
	if (!s)
		goto out;
	if (!(s->targets & SC_TARGET_SIM)) {
		fprintf(err, "mqttsim explore: %s is for TCP only (targets: [tcp]); explore runs in simulation\n", path);
		scenario_free(s);
		goto out;
	}
	if (W.o.swarm && !s->random_faults.on)
		fprintf(err, "mqttsim explore: note: --swarm draws among random_faults, and %s has none\n", path);
	explore_range whole = range;
	if (shard_n)
		range = explore_shard(range, shard_i, shard_n);
	W.s = s;
	W.range = range;
	W.progress = isatty(fileno(err));
	W.start = wall_s();
	if (W.jobs > 1 && (uint64_t)W.jobs > range.count)
		W.jobs = range.count ? (long)range.count : 1;

	fprintf(out, "explore: %s, seeds %" PRIu64 "..%" PRIu64, path, whole.first, whole.first + whole.count - 1);
	if (shard_n) {
		if (range.count)
			fprintf(out, ", shard %" PRIu64 "/%" PRIu64 ": seeds %" PRIu64 "..%" PRIu64, shard_i, shard_n,
				range.first, range.first + range.count - 1);
		else
			fprintf(out, ", shard %" PRIu64 "/%" PRIu64 ": no seeds", shard_i, shard_n);
	}
	fprintf(out, "%s%s\n", W.o.swarm ? ", swarm" : "", W.check_det ? ", each seed twice" : "");
	fflush(out);
	results R = { 0 };
	int werr = sweep_all(&W, &R);
	progress(&W, &R, true);
	double elapsed = wall_s() - W.start;

	summary S = { 0 };
	S.file = path;
	S.name = s->name;
	char spec[1024] = "";
	for (size_t i = 0, n = 0; i < s->nspec && n < sizeof spec; i++) {
		int m = snprintf(spec + n, sizeof spec - n, "%s%s", i ? " " : "", s->spec[i]);
		if (m < 0)
			break;
		n += (size_t)m;
	}
	S.spec = spec;
	S.scenario_hash = s->text_hash;
	S.swarm = W.o.swarm;
	S.broker = W.o.broker;
	S.check_det = W.check_det;
	S.range = whole;
	S.shard_i = shard_i;
	S.shard_n = shard_n;
	S.nran = R.nran;
	S.passed = R.passed;
	if (R.nfails)
		qsort(R.fails, R.nfails, sizeof *R.fails, explore__by_seed);
	S.fails = R.fails;
	S.nfails = R.nfails;
	S.elapsed_s = elapsed;
	S.niv = explore__intervals(R.ran, R.nran, &S.iv);
	if (R.nran < range.count) {
		if (W.budget_s > 0 && out_of_time(&W))
			fprintf(out, "explore: the time budget (%gs) ran out: %zu of %" PRIu64 " seeds ran; not run:",
				W.budget_s, R.nran, range.count);
		else
			fprintf(out, "explore: only %zu of %" PRIu64 " seeds ran; not run:", R.nran, range.count);
		uint64_t next = range.first;
		for (size_t i = 0; i <= S.niv; i++) {
			uint64_t upto = i < S.niv ? S.iv[i][0] : range.first + range.count;
			if (upto > next)
				fprintf(out, " %" PRIu64 "..%" PRIu64, next, upto - 1);
			if (i < S.niv)
				next = S.iv[i][1] + 1;
			if (i > 8) {
				fputs(" ...", out);
				break;
			}
		}
		fputc('\n', out);
	}
	explore__print_summary(&S, out);
	rc = werr ? EXIT_USAGE : R.nfails ? EXIT_FAIL : EXIT_PASS;
	if (json) {
		if (explore__write_json(&S, json, err) < 0)
			rc = EXIT_USAGE;
		else
			fprintf(out, "explore: results in %s\n", json);
	}
	free(S.iv);
	explore__results_free(&R);
	scenario_free(s);
out:
	free(mfiles);
	return rc;
}
