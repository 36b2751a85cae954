/*
 * cmd_run.c - `mqttsim run` and `mqttsim list`.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/cli.h"
#include "harness/reporting.h"
#include "harness/run.h"
#include "harness/scenario.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char run_usage[] =
	"usage: mqttsim run SCENARIO|DIR... [--broker sim|tcp://HOST:PORT] [--seed N] [--out DIR] [-j N] [-v]\n"
	"\n"
	"Run YAML scenarios (see scenarios/README.md). A directory means every .yaml file in it.\n"
	"\n"
	"  --broker T   sim (default): the reference broker in simulation, virtual time;\n"
	"               tcp://HOST:PORT: a broker over real sockets\n"
	"  --seed N     override the scenario's seed (simulation: same seed, same trace)\n"
	"  --out DIR    write each run's trace to DIR/NAME.trace\n"
	"  --pcap DIR   simulation: write each run's byte streams to DIR/NAME.pcap (Wireshark)\n"
	"  -j N         run N scenarios at a time\n"
	"  -v           on failure, also print the end of the trace\n"
	"  --swarm      simulation: random fault kinds and rates drawn from the seed, as explore --swarm\n"
	"  --report F   also write reports: junit, json, tap (comma-separated) to DIR/run.<format>\n"
	"  --report-dir DIR  where (default " REPORT_DEFAULT_DIR ")\n"
	"\n"
	"exit: 0 all passed, 1 a scenario failed, 2 bad input (nothing is run if any file is invalid)\n";

typedef struct files {
	char **v;
	size_t n, cap;
} files;

static void add_file(files *f, const char *p)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 16;
		f->v = realloc(f->v, f->cap * sizeof *f->v);
		if (!f->v)
			abort();
	}
	f->v[f->n++] = strdup(p);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_yaml(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

/* Files of a directory, recursively, sorted so runs are listed in a stable order. */
static int collect(files *f, const char *path, FILE *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(err, "mqttsim: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		add_file(f, path);
		return 0;
	}
	DIR *d = opendir(path);
	if (!d) {
		fprintf(err, "mqttsim: %s: %s\n", path, strerror(errno));
		return -1;
	}
	files sub = { 0 };
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", path, e->d_name);
		struct stat s2;
		if (stat(p, &s2) == 0 && (S_ISDIR(s2.st_mode) || is_yaml(e->d_name)))
			add_file(&sub, p);
	}
	closedir(d);
	qsort(sub.v, sub.n, sizeof *sub.v, by_name);
	int rc = 0;
	for (size_t i = 0; i < sub.n; i++) {
		if (collect(f, sub.v[i], err) < 0)
			rc = -1;
		free(sub.v[i]);
	}
	free(sub.v);
	return rc;
}

/* Load every file; print every error; NULL entries where a file failed. */
static int load_all(files *f, scenario **out, FILE *err)
{
	int bad = 0;
	for (size_t i = 0; i < f->n; i++) {
		sc_errors e = { 0 };
		out[i] = scenario_load(f->v[i], &e);
		if (!out[i]) {
			bad++;
			for (int k = 0; k < e.n; k++)
				fprintf(err, "%s\n", e.msg[k]);
			if (e.dropped)
				fprintf(err, "%s: ... and %d more errors\n", f->v[i], e.dropped);
		}
		sc_errors_free(&e);
	}
	return bad;
}

static void free_all(files *f, scenario **sc)
{
	for (size_t i = 0; i < f->n; i++) {
		if (sc)
			scenario_free(sc[i]);
		free(f->v[i]);
	}
	free(f->v);
	free(sc);
}

/* One run, reported as text; returns 0 pass, 1 fail, 2 could not run. */
int run_one_text(const scenario *s, const run_opts *o, char **text)
{
	run_result r;
	int rc = run_scenario(s, o, &r);
	char line[1024];
	size_t cap = 1024 + (r.report ? strlen(r.report) : 0) + 256;
	*text = malloc(cap);
	if (!*text)
		abort();
	if (rc < 0) {
		snprintf(*text, cap, "ERROR %s (%s): %s", s->name, s->file, r.report ? r.report : "");
		run_result_free(&r);
		return 2;
	}
	if (r.skipped) {
		snprintf(*text, cap, "SKIP  %s (%s): not for this target\n", s->name, s->file);
		run_result_free(&r);
		return 0;
	}
	snprintf(line, sizeof line, "%s  %s (%s)  seed=%llu  %s %lld.%03llds", r.pass ? "PASS" : "FAIL", s->name,
		 s->file, (unsigned long long)r.seed, o->broker && strcmp(o->broker, "sim") ? "took" : "virtual",
		 (long long)(r.virtual_us / 1000000), (long long)(r.virtual_us % 1000000 / 1000));
	size_t n = (size_t)snprintf(*text, cap, "%s", line);
	if (!o->broker || !strcmp(o->broker, "sim"))
		n += (size_t)snprintf(*text + n, cap - n, "  events=%llu  trace=%016llx",
				      (unsigned long long)r.events, (unsigned long long)r.trace_hash);
	n += (size_t)snprintf(*text + n, cap - n, "\n");
	if (!r.pass) {
		n += (size_t)snprintf(*text + n, cap - n, "%s", r.report ? r.report : "");
		n += (size_t)snprintf(*text + n, cap - n, "  replay: mqttsim run %s --seed %llu%s%s%s\n", s->file,
				      (unsigned long long)r.seed, o->broker ? " --broker " : "",
				      o->broker ? o->broker : "", o->swarm ? " --swarm" : "");
	}
	run_result_free(&r);
	return r.pass ? 0 : 1;
}

/* See run.h. The children write their reports into pipes; the parent reads them in order,
 * so output stays in file order whatever finishes first. */
void run_many(scenario **sc, size_t n, const run_opts *o, long jobs, int *code, char **text, FILE *out)
{
	if (jobs == 1 || n == 1) {
		for (size_t i = 0; i < n; i++) {
			code[i] = run_one_text(sc[i], o, &text[i]);
			if (out) {
				fputs(text[i], out);
				fflush(out);
			}
		}
	} else {
		/* One child per scenario, at most `jobs` at a time; each writes its report into
		 * a pipe, and the reports are printed in file order. */
		int *fd = calloc(n, sizeof *fd);
		pid_t *pid = calloc(n, sizeof *pid);
		if (!fd || !pid)
			abort();
		size_t next = 0, done = 0;
		long running = 0;
		while (done < n) {
			while (running < jobs && next < n) {
				int p[2];
				if (pipe(p) < 0)
					abort();
				fflush(NULL);
				pid[next] = fork();
				if (pid[next] == 0) {
					close(p[0]);
					char *t;
					int c = run_one_text(sc[next], o, &t);
					size_t len = strlen(t);
					if (write(p[1], t, len) < 0)
						_exit(3);
					_exit(c);
				}
				close(p[1]);
				fd[next++] = p[0];
				running++;
			}
			/* Collect the oldest outstanding one (keeps the output in order). */
			size_t k = done;
			size_t cap = 4096, len = 0;
			char *t = malloc(cap);
			ssize_t m;
			while ((m = read(fd[k], t + len, cap - len - 1)) > 0) {
				len += (size_t)m;
				if (len + 1 == cap) {
					cap *= 2;
					t = realloc(t, cap);
					if (!t)
						abort();
				}
			}
			t[len] = 0;
			close(fd[k]);
			int st = 0;
			waitpid(pid[k], &st, 0);
			code[k] = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
			text[k] = t;
			if (out) {
				fputs(t, out);
				fflush(out);
			}
			done++;
			running--;
		}
		free(fd);
		free(pid);
	}
}

int cmd_run(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	(void)in;
	run_opts o = { 0 };
	report_opts ro = { 0 };
	long jobs = 1;
	files f = { 0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;
		int rr;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(run_usage, out);
			free_all(&f, NULL);
			return EXIT_PASS;
		} else if (!strcmp(a, "--broker")) {
			char host[256];
			unsigned port;
			if (!v || run_parse_target(v, host, sizeof host, &port) < 0) {
				fprintf(err, "mqttsim run: --broker takes sim or tcp://HOST:PORT, not '%s'\n", v ? v : "(nothing)");
				free_all(&f, NULL);
				return EXIT_USAGE;
			}
			o.broker = v;
			i++;
		} else if (!strcmp(a, "--seed")) {
			errno = 0;
			unsigned long long sd = v ? strtoull(v, &end, 10) : 0;
			if (!v || !*v || *end || errno || *v == '-') {
				fprintf(err, "mqttsim run: --seed takes a whole number, not '%s'\n", v ? v : "(nothing)");
				free_all(&f, NULL);
				return EXIT_USAGE;
			}
			o.seed = sd;
			o.has_seed = true;
			i++;
		} else if (!strcmp(a, "--out")) {
			if (!v) {
				fprintf(err, "mqttsim run: --out needs a directory\n");
				free_all(&f, NULL);
				return EXIT_USAGE;
			}
			mkdir(v, 0777);
			struct stat st;
			if (stat(v, &st) < 0 || !S_ISDIR(st.st_mode)) {
				fprintf(err, "mqttsim run: --out %s: not a directory I can use\n", v);
				free_all(&f, NULL);
				return EXIT_USAGE;
			}
			o.out_dir = v;
			i++;
		} else if (!strcmp(a, "-j")) {
			jobs = v ? strtol(v, &end, 10) : 0;
			if (!v || *end || jobs < 1 || jobs > 256) {
				fprintf(err, "mqttsim run: -j takes a number from 1 to 256, not '%s'\n", v ? v : "(nothing)");
				free_all(&f, NULL);
				return EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "--pcap")) {
			if (!v) {
				fprintf(err, "mqttsim run: --pcap needs a directory\n");
				free_all(&f, NULL);
				return EXIT_USAGE;
			}
			mkdir(v, 0777);
			o.pcap_dir = v;
			i++;
		} else if (!strcmp(a, "-v")) {
			o.verbose = true;
		} else if (!strcmp(a, "--swarm")) {
			o.swarm = true;
		} else if ((rr = report_opts_arg(&ro, "run", argc, argv, &i, err)) != 0) {
			if (rr < 0) {
				free_all(&f, NULL);
				return EXIT_USAGE;
			}
		} else if (a[0] == '-') {
			fprintf(err, "mqttsim run: unknown option '%s'\n%s", a, run_usage);
			free_all(&f, NULL);
			return EXIT_USAGE;
		} else if (collect(&f, a, err) < 0) {
			free_all(&f, NULL);
			return EXIT_USAGE;
		}
	}
	if (f.n == 0) {
		fprintf(err, "mqttsim run: no scenario given\n%s", run_usage);
		free_all(&f, NULL);
		return EXIT_USAGE;
	}
	if (report_opts_check(&ro, "run", err) < 0) {
		free_all(&f, NULL);
		return EXIT_USAGE;
	}
	scenario **sc = calloc(f.n, sizeof *sc);
	if (!sc)
		abort();
	if (load_all(&f, sc, err)) {
		fprintf(err, "mqttsim run: nothing was run: fix the errors above\n");
		free_all(&f, sc);
		return EXIT_USAGE;
	}
	fflush(out);
	int passed = 0, failed = 0, errors = 0;
	char **text = calloc(f.n, sizeof *text);
	int *code = calloc(f.n, sizeof *code);
	if (!text || !code)
		abort();
	run_many(sc, f.n, &o, jobs, code, text, out);
	int report_rc = 0;
	if (ro.formats) {
		rep_case *rc = report_cases(sc, f.n, &o, code, text);
		rep_run rr = { .command = "run", .target = o.broker ? o.broker : "sim", .cases = rc, .ncases = f.n };
		report_rc = report_write(&ro, &rr, err);
		report_cases_free(rc, f.n);
	}
	for (size_t i = 0; i < f.n; i++) {
		passed += code[i] == 0;
		failed += code[i] == 1;
		errors += code[i] >= 2;
		free(text[i]);
	}
	fprintf(out, "run: %d passed, %d failed\n", passed, failed + errors);
	free(text);
	free(code);
	free_all(&f, sc);
	if (report_rc < 0)
		return EXIT_USAGE;
	return errors && !failed ? EXIT_USAGE : failed || errors ? EXIT_FAIL : EXIT_PASS;
}

int cmd_list(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	(void)in;
	files f = { 0 };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs("usage: mqttsim list [SCENARIO|DIR...]   (default: scenarios/)\n", out);
			free_all(&f, NULL);
			return EXIT_PASS;
		}
		if (argv[i][0] == '-') {
			fprintf(err, "mqttsim list: unknown option '%s'\n", argv[i]);
			free_all(&f, NULL);
			return EXIT_USAGE;
		}
		if (collect(&f, argv[i], err) < 0) {
			free_all(&f, NULL);
			return EXIT_USAGE;
		}
	}
	if (argc < 2 && collect(&f, "scenarios", err) < 0) {
		free_all(&f, NULL);
		return EXIT_USAGE;
	}
	scenario **sc = calloc(f.n ? f.n : 1, sizeof *sc);
	if (!sc)
		abort();
	int bad = load_all(&f, sc, err);
	for (size_t i = 0; i < f.n; i++) {
		if (!sc[i])
			continue;
		fprintf(out, "%-40s %s  [%s%s%s]", sc[i]->name, sc[i]->file,
			sc[i]->targets & SC_TARGET_SIM ? "sim" : "",
			sc[i]->targets == (SC_TARGET_SIM | SC_TARGET_TCP) ? "," : "",
			sc[i]->targets & SC_TARGET_TCP ? "tcp" : "");
		for (size_t k = 0; k < sc[i]->nspec; k++)
			fprintf(out, " %s", sc[i]->spec[k]);
		fputc('\n', out);
	}
	free_all(&f, sc);
	return bad ? EXIT_USAGE : EXIT_PASS;
}
