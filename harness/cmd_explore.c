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
#include "harness/reporting.h"
#include "harness/run.h"
#include "harness/units.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char explore_usage[] =
	"usage: mqttsim explore SCENARIO [--seeds N | --seeds A..B] [--swarm] [--time-budget 60s]\n"
	"                       [--shard I/N] [-j N] [--check-determinism] [--report json]\n"
	"                       [--report-dir DIR] [--json FILE]\n"
	"       mqttsim explore --merge A.json B.json... [--json FILE]\n"
	"\n"
	"Run one scenario in simulation under many seeds and summarise what failed, grouped by the\n"
	"step or expectation, each failing seed with the command that replays it.\n"
	"\n"
	"  --seeds N|A..B      seeds 1..N, or A to B inclusive (default 1..100)\n"
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

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	scenario *s = scenario_load(path, &e);
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

void explore_jstr(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p < 0x20 ? *p : '?'); /* keep the file plain ASCII */
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* ---- one seed ------------------------------------------------------------------------------ */

/* What a seed came to. Strings are malloc'd ("" when there is nothing to say). */
typedef struct seed_out {
	uint64_t seed;
	int code;           /* 0 pass, 1 fail, 2 could not run, 3 the two runs differed */
	uint64_t hash;
	char *at;           /* FILE:LINE:COLUMN of what failed */
	char *what;         /* its label: "expect delivered (a -> b)", "determinism" ... */
	char *msg;          /* the first line of the failure report, or the trace difference */
} seed_out;

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

static char *first_line(const char *s)
{
	if (!s)
		return xstrdup("");
	const char *e = strchr(s, '\n');
	size_t n = e ? (size_t)(e - s) : strlen(s);
	char *d = strndup(s, n);
	if (!d)
		abort();
	return d;
}

/* The first line where two traces differ, described; NULL if they are the same. */
char *explore_trace_diff(const char *a, size_t alen, const char *b, size_t blen, const char *na,
			 const char *nb)
{
	size_t line = 1, i = 0, start = 0;
	while (i < alen && i < blen && a[i] == b[i]) {
		if (a[i] == '\n') {
			line++;
			start = i + 1;
		}
		i++;
	}
	if (i == alen && i == blen)
		return NULL;
	const char *ea = memchr(a + start, '\n', alen - start), *eb = memchr(b + start, '\n', blen - start);
	int la = (int)((ea ? (size_t)(ea - a) : alen) - start), lb = (int)((eb ? (size_t)(eb - b) : blen) - start);
	if (la > 300)
		la = 300;
	if (lb > 300)
		lb = 300;
	size_t cap = 700;
	char *m = malloc(cap);
	if (!m)
		abort();
	snprintf(m, cap, "the traces differ from event line %zu: %s: %.*s | %s: %.*s", line, na,
		 start < alen ? la : 9, start < alen ? a + start : "(the end)", nb, start < blen ? lb : 9,
		 start < blen ? b + start : "(the end)");
	return m;
}

/* How often --check-determinism also runs a seed in a fresh process (the first seed, then
 * every FRESH_EVERY-th): exec costs milliseconds, an in-process run a fraction of one. */
#define FRESH_EVERY 50

/* The seed run by a new mqttsim process (its own address layout, no state of earlier runs),
 * compared with the trace of the run here. NULL when they agree; else what differs. */
static char *fresh_process_diff(const scenario *s, const run_opts *o, uint64_t seed, const run_result *here)
{
	char self[4096], dir[4200], seedtxt[32], path[8400];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0 || !s->file)
		return NULL; /* no way to start this binary again: the in-process check stands */
	self[n] = 0;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/mqttsim-det-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return NULL;
	snprintf(seedtxt, sizeof seedtxt, "%" PRIu64, seed);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		FILE *nul = freopen("/dev/null", "w", stdout);
		(void)nul;
		execl(self, "mqttsim", "run", s->file, "--seed", seedtxt, "--out", dir, o->swarm ? "--swarm" : (char *)NULL,
		      (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid > 0)
		waitpid(pid, &st, 0);
	snprintf(path, sizeof path, "%s/%s.trace", dir, s->name);
	size_t len = 0;
	char *text = pid > 0 ? explore_slurp(path, &len, stderr, "explore") : NULL;
	char *d = NULL;
	if (!text) {
		d = xstrdup("the run in a fresh process wrote no trace");
	} else {
		/* Its event lines: those not starting with '#'. */
		size_t bl = 0;
		for (char *q = text; q < text + len;) {
			char *e = memchr(q, '\n', (size_t)(text + len - q));
			size_t l = e ? (size_t)(e - q + 1) : (size_t)(text + len - q);
			if (*q != '#') {
				memmove(text + bl, q, l);
				bl += l;
			}
			q += l;
		}
		d = explore_trace_diff(here->trace, here->trace_len, text, bl, "in-process run", "fresh process");
	}
	free(text);
	unlink(path);
	rmdir(dir);
	return d;
}

static void run_seed(const scenario *s, const run_opts *base, uint64_t seed, bool check_det, bool fresh,
		     seed_out *out)
{
	run_opts o = *base;
	o.seed = seed;
	o.has_seed = true;
	o.keep_trace = check_det;
	run_result r;
	memset(out, 0, sizeof *out);
	out->seed = seed;
	int rc = run_scenario(s, &o, &r);
	out->hash = r.trace_hash;
	if (rc < 0) {
		out->code = 2;
		out->at = xstrdup("");
		out->what = xstrdup("error");
		out->msg = first_line(r.report);
		run_result_free(&r);
		return;
	}
	if (check_det) {
		/* The second run starts with the heap in another shape, so an order that follows
		 * addresses shows up as a difference. */
		void *pad = malloc(16 + (size_t)(seed % 4093) * 24);
		run_result r2;
		run_scenario(s, &o, &r2);
		free(pad);
		char *d = r.trace_hash != r2.trace_hash || r.pass != r2.pass
				  ? explore_trace_diff(r.trace, r.trace_len, r2.trace, r2.trace_len, "first run", "second run")
				  : NULL;
		if (!d && (r.trace_hash != r2.trace_hash || r.pass != r2.pass))
			d = xstrdup("the trace hashes differ but the texts do not (report the bug)");
		run_result_free(&r2);
		bool in_fresh = false;
		if (!d && fresh && base->test_leak != 1)
			in_fresh = (d = fresh_process_diff(s, &o, seed, &r)) != NULL;
		if (d) {
			out->code = 3;
			out->at = xstrdup("");
			out->what = xstrdup(in_fresh ? "determinism: the run in a fresh process differs"
						     : "determinism: the two runs of the seed differ");
			out->msg = d;
			run_result_free(&r);
			return;
		}
	}
	out->code = r.pass ? 0 : 1;
	if (!r.pass) {
		explore_fail f[8];
		int nf = explore_failures(s, r.report, f, 8);
		char label[512], at[600];
		if (nf > 0) {
			explore_fail_label(s, &f[0], label, sizeof label);
			snprintf(at, sizeof at, "%s:%d:%d", s->file ? s->file : "-", f[0].pos.line, f[0].pos.col);
		} else {
			snprintf(label, sizeof label, "other");
			at[0] = 0;
		}
		out->at = xstrdup(at);
		out->what = xstrdup(label);
		out->msg = first_line(r.report);
	}
	run_result_free(&r);
}

static void seed_out_free(seed_out *o)
{
	free(o->at);
	free(o->what);
	free(o->msg);
}

/* ---- results ------------------------------------------------------------------------------ */

typedef struct results {
	uint64_t *ran;      /* every seed that ran */
	size_t nran, capran;
	seed_out *fails;
	size_t nfails, capfails;
	uint64_t passed;
} results;

static void results_add(results *R, seed_out *o)
{
	if (R->nran == R->capran) {
		R->capran = R->capran ? 2 * R->capran : 1024;
		R->ran = realloc(R->ran, R->capran * sizeof *R->ran);
		if (!R->ran)
			abort();
	}
	R->ran[R->nran++] = o->seed;
	if (o->code == 0) {
		R->passed++;
		seed_out_free(o);
		return;
	}
	if (R->nfails == R->capfails) {
		R->capfails = R->capfails ? 2 * R->capfails : 16;
		R->fails = realloc(R->fails, R->capfails * sizeof *R->fails);
		if (!R->fails)
			abort();
	}
	R->fails[R->nfails++] = *o;
}

static void results_free(results *R)
{
	for (size_t i = 0; i < R->nfails; i++)
		seed_out_free(&R->fails[i]);
	free(R->fails);
	free(R->ran);
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int by_seed(const void *a, const void *b)
{
	return by_u64(&((const seed_out *)a)->seed, &((const seed_out *)b)->seed);
}

/* The seeds that ran, as sorted [first, last] intervals; returns the count, *iv malloc'd. */
static size_t intervals(uint64_t *seeds, size_t n, uint64_t (**iv)[2])
{
	qsort(seeds, n, sizeof *seeds, by_u64);
	*iv = malloc((n ? n : 1) * sizeof **iv);
	if (!*iv)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && seeds[i] == (*iv)[k - 1][1] + 1)
			(*iv)[k - 1][1] = seeds[i];
		else {
			(*iv)[k][0] = (*iv)[k][1] = seeds[i];
			k++;
		}
	}
	return k;
}

/* What explore and --merge both print and write. */
typedef struct summary {
	const char *file;       /* scenario */
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

static void replay_cmd(const summary *S, uint64_t seed, char *buf, size_t cap)
{
	snprintf(buf, cap, "mqttsim run %s --seed %" PRIu64 "%s", S->file, seed, S->swarm ? " --swarm" : "");
}

#define LIST_PER_GROUP 10

static void print_summary(const summary *S, FILE *out)
{
	if (S->elapsed_s >= 0)
		fprintf(out, "explore: %" PRIu64 " seeds run in %.2fs (%.0f seeds/s): %" PRIu64 " passed, %zu failed\n",
			S->nran, S->elapsed_s, S->elapsed_s > 0 ? (double)S->nran / S->elapsed_s : 0.0, S->passed,
			S->nfails);
	else
		fprintf(out, "explore: %" PRIu64 " seeds run: %" PRIu64 " passed, %zu failed\n", S->nran, S->passed,
			S->nfails);
	if (!S->nfails)
		return;
	fprintf(out, "failures, grouped by what failed:\n");
	bool *done = calloc(S->nfails, 1);
	if (!done)
		abort();
	for (size_t i = 0; i < S->nfails; i++) {
		if (done[i])
			continue;
		size_t count = 0;
		for (size_t k = i; k < S->nfails; k++)
			if (!done[k] && !strcmp(S->fails[k].what, S->fails[i].what) && !strcmp(S->fails[k].at, S->fails[i].at))
				count++;
		fprintf(out, "  %zu seed%s: %s%s%s%s%s%s\n", count, count == 1 ? "" : "s", S->fails[i].what,
			*S->fails[i].at ? " at " : "", S->fails[i].at,
			S->fails[i].code == 1 && S->spec && *S->spec ? "  [" : "",
			S->fails[i].code == 1 && S->spec ? S->spec : "",
			S->fails[i].code == 1 && S->spec && *S->spec ? "]" : "");
		size_t shown = 0;
		for (size_t k = i; k < S->nfails; k++) {
			seed_out *f = &S->fails[k];
			if (done[k] || strcmp(f->what, S->fails[i].what) || strcmp(f->at, S->fails[i].at))
				continue;
			done[k] = true;
			if (shown++ >= LIST_PER_GROUP)
				continue;
			char cmd[1200];
			replay_cmd(S, f->seed, cmd, sizeof cmd);
			fprintf(out, "    seed %" PRIu64 ": %s\n      replay: %s\n", f->seed, f->msg, cmd);
		}
		if (shown > LIST_PER_GROUP)
			fprintf(out, "    ... and %zu more seeds (all in the JSON results)\n", shown - LIST_PER_GROUP);
	}
	free(done);
	for (size_t i = 0; i < S->nfails; i++)
		if (S->fails[i].code == 1) {
			fprintf(out, "shrink one: mqttsim shrink %s --seed %" PRIu64 "%s\n", S->file, S->fails[i].seed,
				S->swarm ? " --swarm" : "");
			break;
		}
}

static const char *status_name(int code)
{
	return code == 1 ? "fail" : code == 2 ? "error" : code == 3 ? "nondeterministic" : "pass";
}

static int write_json(const summary *S, const char *path, FILE *err)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(err, "mqttsim explore: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "{\n  \"schema\": \"mqttsim-explore-1\",\n  \"tool\": \"mqttsim\",\n  \"version\": \"%s\",\n",
		MQTTSIM_VERSION);
	fputs("  \"scenario\": ", f);
	explore_jstr(f, S->file);
	fputs(",\n  \"name\": ", f);
	explore_jstr(f, S->name);
	fputs(",\n  \"spec\": ", f);
	explore_jstr(f, S->spec ? S->spec : "");
	fprintf(f, ",\n  \"scenario_hash\": \"%016" PRIx64 "\",\n  \"swarm\": %s,\n  \"check_determinism\": %s,\n",
		S->scenario_hash, S->swarm ? "true" : "false", S->check_det ? "true" : "false");
	if (S->range.count)
		fprintf(f, "  \"range\": [%" PRIu64 ", %" PRIu64 "],\n", S->range.first, S->range.first + S->range.count - 1);
	else
		fprintf(f, "  \"range\": null,\n");
	if (S->shard_n)
		fprintf(f, "  \"shard\": [%" PRIu64 ", %" PRIu64 "],\n", S->shard_i, S->shard_n);
	else
		fprintf(f, "  \"shard\": null,\n");
	fputs("  \"ran\": [", f);
	for (size_t i = 0; i < S->niv; i++)
		fprintf(f, "%s[%" PRIu64 ", %" PRIu64 "]", i ? ", " : "", S->iv[i][0], S->iv[i][1]);
	fprintf(f, "],\n  \"seeds\": %" PRIu64 ",\n  \"passed\": %" PRIu64 ",\n  \"failed\": %zu,\n  \"failures\": [",
		S->nran, S->passed, S->nfails);
	for (size_t i = 0; i < S->nfails; i++) {
		const seed_out *o = &S->fails[i];
		char cmd[1200];
		replay_cmd(S, o->seed, cmd, sizeof cmd);
		fprintf(f, "%s\n    { \"seed\": %" PRIu64 ", \"status\": \"%s\", \"trace_hash\": \"%016" PRIx64 "\", \"what\": ",
			i ? "," : "", o->seed, status_name(o->code), o->hash);
		explore_jstr(f, o->what);
		fputs(", \"at\": ", f);
		explore_jstr(f, o->at);
		fputs(", \"message\": ", f);
		explore_jstr(f, o->msg);
		fputs(", \"replay\": ", f);
		explore_jstr(f, cmd);
		fputs(" }", f);
	}
	fputs(S->nfails ? "\n  ]\n}\n" : "]\n}\n", f);
	if (fclose(f) != 0) {
		fprintf(err, "mqttsim explore: cannot write %s\n", path);
		return -1;
	}
	return 0;
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

static void sweep_here(const sweep *W, results *R)
{
	double last = 0;
	for (uint64_t k = 0; k < W->range.count; k++) {
		if (out_of_time(W))
			break;
		seed_out o;
		run_seed(W->s, &W->o, W->range.first + k, W->check_det, k % FRESH_EVERY == 0, &o);
		results_add(R, &o);
		double t = wall_s();
		if (W->progress && t - last > 0.2) {
			progress(W, R, false);
			last = t;
		}
	}
}

/* A worker's record: seed, code, hash, then three length-prefixed strings. */
static int put_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void put_str(int fd, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);
	if (put_all(fd, &n, sizeof n) < 0 || put_all(fd, s, n) < 0)
		_exit(3);
}

static void worker(const sweep *W, long w, int fd)
{
	for (uint64_t k = (uint64_t)w; k < W->range.count; k += (uint64_t)W->jobs) {
		if (out_of_time(W))
			break;
		seed_out o;
		run_seed(W->s, &W->o, W->range.first + k, W->check_det, k % FRESH_EVERY == 0, &o);
		int32_t code = o.code;
		if (put_all(fd, &o.seed, sizeof o.seed) < 0 || put_all(fd, &code, sizeof code) < 0 ||
		    put_all(fd, &o.hash, sizeof o.hash) < 0)
			_exit(3);
		put_str(fd, o.at ? o.at : "");
		put_str(fd, o.what ? o.what : "");
		put_str(fd, o.msg ? o.msg : "");
		seed_out_free(&o);
		if (W->range.count - k <= (uint64_t)W->jobs)
			break; /* the next k would pass the end (or wrap, at the far end of uint64) */
	}
}

typedef struct rbuf {
	char *b;
	size_t len, cap;
	bool open;
} rbuf;

/* Take complete records off the front of a worker's buffer. */
static void take_records(rbuf *rb, results *R)
{
	size_t off = 0;
	for (;;) {
		size_t need = off + 20;
		if (rb->len < need)
			break;
		uint32_t l[3];
		size_t p = need;
		bool whole = true;
		char *str[3];
		for (int i = 0; i < 3; i++) {
			if (rb->len < p + 4) {
				whole = false;
				break;
			}
			memcpy(&l[i], rb->b + p, 4);
			p += 4;
			if (rb->len < p + l[i]) {
				whole = false;
				break;
			}
			str[i] = rb->b + p;
			p += l[i];
		}
		if (!whole)
			break;
		seed_out o;
		int32_t code;
		memcpy(&o.seed, rb->b + off, 8);
		memcpy(&code, rb->b + off + 8, 4);
		memcpy(&o.hash, rb->b + off + 12, 8);
		o.code = code;
		o.at = strndup(str[0], l[0]);
		o.what = strndup(str[1], l[1]);
		o.msg = strndup(str[2], l[2]);
		if (!o.at || !o.what || !o.msg)
			abort();
		results_add(R, &o);
		off = p;
	}
	memmove(rb->b, rb->b + off, rb->len - off);
	rb->len -= off;
}

static int sweep_forked(const sweep *W, results *R)
{
	long n = W->jobs;
	pid_t *pid = calloc((size_t)n, sizeof *pid);
	struct pollfd *pf = calloc((size_t)n, sizeof *pf);
	rbuf *rb = calloc((size_t)n, sizeof *rb);
	if (!pid || !pf || !rb)
		abort();
	fflush(NULL);
	for (long w = 0; w < n; w++) {
		int p[2];
		if (pipe(p) < 0) {
			fprintf(W->err, "mqttsim explore: pipe: %s\n", strerror(errno));
			exit(EXIT_USAGE);
		}
		pid[w] = fork();
		if (pid[w] < 0) {
			fprintf(W->err, "mqttsim explore: fork: %s\n", strerror(errno));
			exit(EXIT_USAGE);
		}
		if (pid[w] == 0) {
			close(p[0]);
			for (long k = 0; k < w; k++)
				close(pf[k].fd);
			worker(W, w, p[1]);
			close(p[1]);
			_exit(0);
		}
		close(p[1]);
		pf[w].fd = p[0];
		pf[w].events = POLLIN;
		rb[w].open = true;
	}
	long open = n;
	double last = 0;
	while (open > 0) {
		if (poll(pf, (nfds_t)n, 200) < 0 && errno != EINTR)
			break;
		for (long w = 0; w < n; w++) {
			if (!rb[w].open || !(pf[w].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (rb[w].cap - rb[w].len < 65536) {
				rb[w].cap = rb[w].cap ? 2 * rb[w].cap : 131072;
				rb[w].b = realloc(rb[w].b, rb[w].cap);
				if (!rb[w].b)
					abort();
			}
			ssize_t m = read(pf[w].fd, rb[w].b + rb[w].len, rb[w].cap - rb[w].len);
			if (m > 0) {
				rb[w].len += (size_t)m;
				take_records(&rb[w], R);
			} else if (m == 0 || errno != EINTR) {
				rb[w].open = false;
				close(pf[w].fd);
				pf[w].fd = -1;
				open--;
			}
		}
		double t = wall_s();
		if (W->progress && t - last > 0.2) {
			progress(W, R, false);
			last = t;
		}
	}
	int bad = 0;
	for (long w = 0; w < n; w++) {
		int st = 0;
		waitpid(pid[w], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || rb[w].len) {
			fprintf(W->err, "mqttsim explore: worker %ld stopped abnormally (%s %d); its seeds are not all counted\n", w + 1,
				WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			bad = 1;
		}
		free(rb[w].b);
	}
	free(pid);
	free(pf);
	free(rb);
	return bad ? -1 : 0;
}

/* ---- --merge -------------------------------------------------------------------------------- */

static int merge(int nfiles, char **files, const char *json_out, FILE *out, FILE *err)
{
	summary S = { 0 };
	S.elapsed_s = -1;
	results R = { 0 };
	char *file = NULL, *name = NULL, *spec = NULL;
	int rc = EXIT_USAGE;
	jv *docs = calloc((size_t)nfiles, sizeof *docs);
	if (!docs)
		abort();
	size_t niv = 0, capiv = 0;
	uint64_t (*iv)[2] = NULL;
	uint64_t shard_n = 0, shards_seen = 0;
	for (int i = 0; i < nfiles; i++) {
		size_t len;
		char *text = explore_slurp(files[i], &len, err, "explore --merge");
		if (!text)
			goto out;
		char msg[256];
		int pr = jv_parse(text, len, &docs[i], msg, sizeof msg);
		free(text);
		if (pr < 0) {
			fprintf(err, "mqttsim explore --merge: %s: not JSON: %s\n", files[i], msg);
			goto out;
		}
		const jv *d = &docs[i], *schema = jv_get(d, "schema"), *sc = jv_get(d, "scenario"),
			 *hash = jv_get(d, "scenario_hash"), *swarm = jv_get(d, "swarm"), *ran = jv_get(d, "ran"),
			 *fl = jv_get(d, "failures"), *range = jv_get(d, "range"), *shard = jv_get(d, "shard"),
			 *cd = jv_get(d, "check_determinism"), *passed = jv_get(d, "passed");
		uint64_t ph, pp;
		if (!schema || schema->type != JV_STR || strcmp(schema->s, "mqttsim-explore-1") || !sc ||
		    sc->type != JV_STR || !hash || hash->type != JV_STR || !swarm || swarm->type != JV_BOOL || !ran ||
		    ran->type != JV_ARR || !fl || fl->type != JV_ARR || !jv_u64(passed, &pp) ||
		    sscanf(hash->s, "%" SCNx64, &ph) != 1) {
			fprintf(err, "mqttsim explore --merge: %s: not the results of mqttsim explore --json (schema mqttsim-explore-1)\n",
				files[i]);
			goto out;
		}
		if (i == 0) {
			file = xstrdup(sc->s);
			const jv *nm = jv_get(d, "name");
			name = xstrdup(nm && nm->type == JV_STR ? nm->s : "");
			const jv *sp = jv_get(d, "spec");
			spec = xstrdup(sp && sp->type == JV_STR ? sp->s : "");
			S.scenario_hash = ph;
			S.swarm = swarm->b;
			S.check_det = cd && cd->type == JV_BOOL && cd->b;
		} else if (ph != S.scenario_hash || S.swarm != swarm->b) {
			fprintf(err, "mqttsim explore --merge: %s ran %s (scenario hash %s%s), but %s ran %s (scenario hash %016" PRIx64 "%s): "
				     "merge results of the same scenario text and options only\n",
				files[i], sc->s, hash->s, swarm->b ? ", --swarm" : "", files[0], file, S.scenario_hash,
				S.swarm ? ", --swarm" : "");
			goto out;
		}
		uint64_t a, b;
		if (range && range->type == JV_ARR && range->n == 2 && jv_u64(&range->items[0], &a) &&
		    jv_u64(&range->items[1], &b)) {
			explore_range r = { a, b - a + 1 };
			if (i > 0 && S.range.count && (r.first != S.range.first || r.count != S.range.count))
				S.range.count = 0; /* different ranges: no single range to check against */
			else if (i == 0)
				S.range = r;
		}
		if (shard && shard->type == JV_ARR && shard->n == 2 && jv_u64(&shard->items[1], &b)) {
			shard_n = shard_n && shard_n != b ? UINT64_MAX : b;
			shards_seen++;
		}
		for (size_t k = 0; k < ran->n; k++) {
			const jv *p = &ran->items[k];
			if (p->type != JV_ARR || p->n != 2 || !jv_u64(&p->items[0], &a) || !jv_u64(&p->items[1], &b) || b < a) {
				fprintf(err, "mqttsim explore --merge: %s: 'ran' item %zu is not [first, last]\n", files[i], k + 1);
				goto out;
			}
			if (niv == capiv) {
				capiv = capiv ? 2 * capiv : 64;
				iv = realloc(iv, capiv * sizeof *iv);
				if (!iv)
					abort();
			}
			iv[niv][0] = a;
			iv[niv][1] = b;
			niv++;
			S.nran += b - a + 1;
		}
		S.passed += pp;
		for (size_t k = 0; k < fl->n; k++) {
			const jv *f = &fl->items[k], *what = jv_get(f, "what"), *at = jv_get(f, "at"), *m = jv_get(f, "message"),
				 *st = jv_get(f, "status"), *th = jv_get(f, "trace_hash");
			seed_out o = { 0 };
			if (!jv_u64(jv_get(f, "seed"), &o.seed) || !what || what->type != JV_STR) {
				fprintf(err, "mqttsim explore --merge: %s: failure %zu has no seed or 'what'\n", files[i], k + 1);
				goto out;
			}
			o.code = st && st->type == JV_STR ? (!strcmp(st->s, "error") ? 2 : !strcmp(st->s, "nondeterministic") ? 3 : 1) : 1;
			if (th && th->type == JV_STR)
				sscanf(th->s, "%" SCNx64, &o.hash);
			o.what = xstrdup(what->s);
			o.at = xstrdup(at && at->type == JV_STR ? at->s : "");
			o.msg = xstrdup(m && m->type == JV_STR ? m->s : "");
			if (R.nfails == R.capfails) {
				R.capfails = R.capfails ? 2 * R.capfails : 16;
				R.fails = realloc(R.fails, R.capfails * sizeof *R.fails);
				if (!R.fails)
					abort();
			}
			R.fails[R.nfails++] = o;
		}
	}
	/* Shards must not overlap; gaps are allowed (a time budget stops a shard early) but said. */
	qsort(iv, niv, sizeof *iv, by_u64);
	for (size_t i = 1; i < niv; i++)
		if (iv[i][0] <= iv[i - 1][1]) {
			fprintf(err, "mqttsim explore --merge: seed %" PRIu64 " ran more than once (in %" PRIu64 "..%" PRIu64 " and %" PRIu64 "..%" PRIu64 "): "
				     "are two files from the same shard?\n",
				iv[i][0], iv[i - 1][0], iv[i - 1][1], iv[i][0], iv[i][1]);
			goto out;
		}
	/* Join adjacent intervals. */
	size_t k = 0;
	for (size_t i = 0; i < niv; i++) {
		if (k && iv[i][0] == iv[k - 1][1] + 1)
			iv[k - 1][1] = iv[i][1];
		else {
			iv[k][0] = iv[i][0];
			iv[k][1] = iv[i][1];
			k++;
		}
	}
	niv = k;
	qsort(R.fails, R.nfails, sizeof *R.fails, by_seed);
	S.file = file;
	S.name = name;
	S.spec = spec;
	S.iv = iv;
	S.niv = niv;
	S.fails = R.fails;
	S.nfails = R.nfails;
	fprintf(out, "explore --merge: %d result files of %s%s\n", nfiles, file, S.swarm ? " (--swarm)" : "");
	if (S.range.count) {
		uint64_t last = S.range.first + S.range.count - 1;
		bool exact = niv == 1 && iv[0][0] == S.range.first && iv[0][1] == last;
		if (exact)
			fprintf(out, "coverage: every seed of %" PRIu64 "..%" PRIu64 " ran exactly once\n", S.range.first, last);
		else {
			fprintf(out, "coverage: %" PRIu64 " of the %" PRIu64 " seeds of %" PRIu64 "..%" PRIu64 " ran, each once; not run:",
				S.nran, S.range.count, S.range.first, last);
			uint64_t next = S.range.first;
			int shown = 0;
			for (size_t i = 0; i <= niv && shown < 10; i++) {
				uint64_t upto = i < niv ? iv[i][0] : last + 1;
				if (upto > next) {
					fprintf(out, " %" PRIu64 "..%" PRIu64, next, upto - 1);
					shown++;
				}
				if (i < niv)
					next = iv[i][1] + 1;
			}
			fprintf(out, "%s\n", shown >= 10 ? " ..." : "");
		}
	}
	if (shard_n && shard_n != UINT64_MAX && shards_seen != shard_n)
		fprintf(out, "note: %" PRIu64 " of %" PRIu64 " shards merged\n", shards_seen, shard_n);
	print_summary(&S, out);
	rc = S.nfails ? EXIT_FAIL : EXIT_PASS;
	if (json_out && write_json(&S, json_out, err) < 0)
		rc = EXIT_USAGE;
out:
	for (int i = 0; i < nfiles; i++)
		jv_free(&docs[i]);
	free(docs);
	free(iv);
	free(file);
	free(name);
	free(spec);
	results_free(&R);
	return rc;
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
	char **mfiles = calloc((size_t)argc, sizeof *mfiles);
	int nm = 0;
	if (!mfiles)
		abort();
	int rc = EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;
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
			W.jobs = v ? strtol(v, &end, 10) : 0;
			if (!v || *end || W.jobs < 1 || W.jobs > 256) {
				fprintf(err, "mqttsim explore: -j takes a number from 1 to 256, not '%s'\n", v ? v : "(nothing)");
				goto out;
			}
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
		rc = merge(nm, mfiles, json, out, err);
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
	int werr = 0;
	if (W.jobs > 1)
		werr = sweep_forked(&W, &R);
	else
		sweep_here(&W, &R);
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
	S.check_det = W.check_det;
	S.range = whole;
	S.shard_i = shard_i;
	S.shard_n = shard_n;
	S.nran = R.nran;
	S.passed = R.passed;
	qsort(R.fails, R.nfails, sizeof *R.fails, by_seed);
	S.fails = R.fails;
	S.nfails = R.nfails;
	S.elapsed_s = elapsed;
	S.niv = intervals(R.ran, R.nran, &S.iv);
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
	print_summary(&S, out);
	rc = werr ? EXIT_USAGE : R.nfails ? EXIT_FAIL : EXIT_PASS;
	if (json) {
		if (write_json(&S, json, err) < 0)
			rc = EXIT_USAGE;
		else
			fprintf(out, "explore: results in %s\n", json);
	}
	free(S.iv);
	results_free(&R);
	scenario_free(s);
out:
	free(mfiles);
	return rc;
}
