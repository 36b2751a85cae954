/*
 * explore_seed.c - one seed of `mqttsim explore`: its run, what failed, and with
 * --check-determinism the second run (and now and then a run in a fresh process) whose
 * trace must be the same.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/explore.h"
#include "mqtt/alloc.h"
#include "harness/explore_cmd.h"
#include "harness/run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- one seed ------------------------------------------------------------------------------ */

char *explore__xstrdup(const char *s)
{
	char *d = mqtt_xstrdup(s ? s : "");
	return d;
}

static char *first_line(const char *s)
{
	if (!s)
		return explore__xstrdup("");
	const char *e = strchr(s, '\n');
	size_t n = e ? (size_t)(e - s) : strlen(s);
	char *d = mqtt_xstrndup(s, n);
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
	char *m = mqtt_xmalloc(cap);
	snprintf(m, cap, "the traces differ from event line %zu: %s: %.*s | %s: %.*s", line, na,
		 start < alen ? la : 9, start < alen ? a + start : "(the end)", nb, start < blen ? lb : 9,
		 start < blen ? b + start : "(the end)");
	return m;
}


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
		/* The same target: an exec broker is run again in the fresh process too. */
		char *args[12];
		int k = 0;
		args[k++] = "mqttsim";
		args[k++] = "run";
		args[k++] = (char *)s->file;
		args[k++] = "--seed";
		args[k++] = seedtxt;
		args[k++] = "--out";
		args[k++] = dir;
		if (o->swarm)
			args[k++] = "--swarm";
		if (o->broker) {
			args[k++] = "--broker";
			args[k++] = (char *)o->broker;
		}
		args[k] = NULL;
		execv(self, args);
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
		d = explore__xstrdup("the run in a fresh process wrote no trace");
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

void explore__run_seed(const scenario *s, const run_opts *base, uint64_t seed, bool check_det, bool fresh,
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
		out->at = explore__xstrdup("");
		out->what = explore__xstrdup("error");
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
			d = explore__xstrdup("the trace hashes differ but the texts do not (report the bug)");
		run_result_free(&r2);
		bool in_fresh = false;
		if (!d && fresh && base->test_leak != 1)
			in_fresh = (d = fresh_process_diff(s, &o, seed, &r)) != NULL;
		if (d) {
			out->code = 3;
			out->at = explore__xstrdup("");
			out->what = explore__xstrdup(in_fresh ? "determinism: the run in a fresh process differs"
						     : "determinism: the two runs of the seed differ");
			out->msg = d;
			run_result_free(&r);
			return;
		}
	}
	out->code = r.pass ? 0 : 1;
	if (!r.pass) {
		explore_fail f[8];
		int nf = explore_failures(s, &r, f, 8);
		char label[512], at[600];
		if (nf > 0) {
			explore_fail_label(s, &f[0], label, sizeof label);
			snprintf(at, sizeof at, "%s:%d:%d", s->file ? s->file : "-", f[0].pos.line, f[0].pos.col);
		} else {
			snprintf(label, sizeof label, "other");
			at[0] = 0;
		}
		out->at = explore__xstrdup(at);
		out->what = explore__xstrdup(label);
		out->msg = first_line(r.report);
	}
	run_result_free(&r);
}

void explore__seed_out_free(seed_out *o)
{
	free(o->at);
	free(o->what);
	free(o->msg);
}
