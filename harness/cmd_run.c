/*
 * cmd_run.c - `mqttsim run` and `mqttsim list`.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/cli.h"
#include "mqtt/alloc.h"
#include "harness/reporting.h"
#include "harness/run.h"
#include "harness/scenario.h"
#include "harness/suite.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char run_usage[] =
	"usage: mqttsim run SCENARIO|DIR... [--broker sim|mqtt://HOST:PORT|mqtts://HOST:PORT|ws://HOST:PORT/PATH|\n"
	"                   wss://HOST:PORT/PATH|exec:CMD]\n"
	"                   [--seed N]\n"
	"                   [--out DIR] [-j N] [-v]\n"
	"\n"
	"Run YAML scenarios (see scenarios/README.md). A directory means every .yaml file in it.\n"
	"\n"
	"  --broker T   sim (default): the reference broker in simulation, virtual time;\n"
	"               mqtt://HOST:PORT (or tcp://): a broker over real sockets;\n"
	"               mqtts://HOST:PORT: the same over TLS (options below);\n"
	"               ws://HOST:PORT[/PATH], wss://HOST:PORT[/PATH]: over WebSocket\n"
	"               (subprotocol mqtt; PATH defaults to /mqtt), wss over TLS;\n"
	"               exec:'CMD ARGS': a broker binary run in virtual time on the virtual\n"
	"               network, e.g. exec:'mosquitto -c {config}' ({config}: a generated\n"
	"               mosquitto config; {dir} its directory; {port}: 1883; exec/README.md)\n"
	"  --seed N     override the scenario's seed (simulation: same seed, same trace)\n"
	"  --out DIR    write each run's trace to DIR/NAME.trace\n"
	"  --pcap DIR   simulation: write each run's byte streams to DIR/NAME.pcap (Wireshark)\n"
	"  -j N         run N scenarios at a time (default: the CPUs online, at most 16, in\n"
	"               simulation; 16 over TCP, where scenarios mostly wait)\n"
	CLI_TARGET_USAGE
	"  -v           on failure, also print the end of the trace\n"
	"  --swarm      simulation: random fault kinds and rates drawn from the seed, as explore --swarm\n"
	"  --broker-variant NAME  simulation: the reference broker behaves another way the spec\n"
	"               permits (repeatable): " CLI_VARIANT_NAMES "\n"
	"  --report F   also write reports: junit, json, tap, html (comma-separated) to\n"
	"               DIR/run.<format>; pcap: DIR/NAME.pcap per simulated scenario\n"
	"  --report-dir DIR  where (default " REPORT_DEFAULT_DIR ")\n"
	"  --tap-version 13|14  the TAP report's version (default 13, what prove before 3.48 reads)\n"
	"  --html-diagrams auto|failed|all|none  which scenarios get a sequence diagram in the\n"
	"               HTML report (auto: failed ones, and all when " "there are at most 20)\n"
	"\n"
	"exit: 0 all passed, 1 a scenario failed, 2 bad input (nothing is run if any file is invalid)\n";

typedef struct files {
	char **v;
	size_t n, cap;
} files;

static void add_file(files *f, const char *p)
{
	f->v = mqtt_xgrow(f->v, &f->cap, f->n + 1, sizeof *f->v, 16);
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

/* Directories on the way down, by device and inode: a symlink back up is a loop. */
typedef struct dirs_seen {
	dev_t dev[64];
	ino_t ino[64];
	int n;
} dirs_seen;

/* The built-in scenarios under dir (suite.h), recursively, in the order collect_in() gives. */
static void collect_builtin(files *f, const char *dir)
{
	char **v;
	size_t m = suite_list_dir(dir, ".yaml", &v);
	for (size_t i = 0; i < m; i++) {
		if (suite_find(v[i]))
			add_file(f, v[i]);
		else
			collect_builtin(f, v[i]);
		free(v[i]);
	}
	free(v);
}

static int collect_in(files *f, const char *path, bool named, dirs_seen *seen, FILE *err)
{
	struct stat st;
	if (named && stat(path, &st) < 0 && (suite_find(path) || suite_has_dir(path))) {
		/* Nothing on disk there, but mqttsim carries it. */
		if (suite_find(path))
			add_file(f, path);
		else
			collect_builtin(f, path);
		return 0;
	}
	if (stat(path, &st) < 0) {
		fprintf(err, "mqttsim: %s: %s%s\n", path, strerror(errno),
			lstat(path, &st) == 0 && S_ISLNK(st.st_mode) ? " (a symbolic link to nothing)" : "");
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		add_file(f, path);
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(err, "mqttsim: %s: not a regular file or a directory\n", path);
		return -1;
	}
	for (int i = 0; i < seen->n; i++)
		if (seen->dev[i] == st.st_dev && seen->ino[i] == st.st_ino) {
			fprintf(err, "mqttsim: %s: skipped: a link back to a directory it is in\n", path);
			return 0;
		}
	if (seen->n == (int)(sizeof seen->dev / sizeof seen->dev[0])) {
		fprintf(err, "mqttsim: %s: directories nested too deep (more than %d)\n", path, seen->n);
		return -1;
	}
	DIR *d = opendir(path);
	if (!d) {
		fprintf(err, "mqttsim: %s: %s\n", path, strerror(errno));
		return -1;
	}
	seen->dev[seen->n] = st.st_dev;
	seen->ino[seen->n++] = st.st_ino;
	files sub = { 0 };
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[4096];
		if ((size_t)snprintf(p, sizeof p, "%s/%s", path, e->d_name) >= sizeof p) {
			fprintf(err, "mqttsim: %s/%s: path too long\n", path, e->d_name);
			rc = -1;
			continue;
		}
		struct stat s2;
		if (is_yaml(e->d_name) || (stat(p, &s2) == 0 && S_ISDIR(s2.st_mode)))
			add_file(&sub, p);
	}
	closedir(d);
	if (sub.n)
		qsort(sub.v, sub.n, sizeof *sub.v, by_name);
	size_t before = f->n;
	for (size_t i = 0; i < sub.n; i++) {
		if (collect_in(f, sub.v[i], false, seen, err) < 0)
			rc = -1;
		free(sub.v[i]);
	}
	free(sub.v);
	seen->n--;
	if (named && rc == 0 && f->n == before) {
		fprintf(err, "mqttsim: %s: no scenarios (.yaml files) in this directory\n", path);
		return -1;
	}
	return rc;
}

/* A file, or the scenarios of a directory, recursively, sorted so runs are listed in a
 * stable order. Errors (a missing file, a dangling link, a directory without scenarios)
 * are printed; the caller runs nothing then. */
static int collect(files *f, const char *path, FILE *err)
{
	dirs_seen seen = { .n = 0 };
	return collect_in(f, path, true, &seen, err);
}

/* Load every file; print every error; NULL entries where a file failed. */
static int load_all(files *f, scenario **out, FILE *err)
{
	int bad = 0;
	for (size_t i = 0; i < f->n; i++) {
		sc_errors e = { 0 };
		out[i] = suite_scenario_load(f->v[i], &e);
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

int cmd_run(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	(void)in;
	run_opts o = { 0 };
	report_opts ro = { 0 };
	long jobs = 0; /* 0: run_default_jobs() */
	files f = { 0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rr;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(run_usage, out);
			free_all(&f, NULL);
			return EXIT_PASS;
		} else if (!strcmp(a, "--broker")) {
			if (cli_broker("run", v, err) < 0) {
				free_all(&f, NULL);
				return EXIT_USAGE;
			}
			o.broker = v;
			i++;
		} else if (!strcmp(a, "--seed")) {
			if (cli_seed("run", v, &o.seed, err) < 0) {
				free_all(&f, NULL);
				return EXIT_USAGE;
			}
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
			if (cli_jobs("run", v, &jobs, err) < 0) {
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
		} else if (!strcmp(a, "--broker-variant")) {
			if (cli_broker_variant("run", v, &o.broker_variants, err) < 0) {
				free_all(&f, NULL);
				return EXIT_USAGE;
			}
			i++;
		} else if ((rr = report_opts_arg(&ro, "run", argc, argv, &i, err)) != 0 ||
			   (rr = cli_target_opt("run", argc, argv, &i, &o, err)) != 0) {
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
	if (!jobs)
		jobs = run_default_jobs(o.broker);
	if (cli_target_done("run", &o, err) < 0) {
		free_all(&f, NULL);
		return EXIT_USAGE;
	}
	if (report_opts_check(&ro, "run", err) < 0 || report_prepare(&ro, &o, "run", err) < 0) {
		free_all(&f, NULL);
		return EXIT_USAGE;
	}
	scenario **sc = mqtt_xcalloc(f.n, sizeof *sc);
	if (load_all(&f, sc, err)) {
		fprintf(err, "mqttsim run: nothing was run: fix the errors above\n");
		free_all(&f, sc);
		report_cleanup(&ro);
		return EXIT_USAGE;
	}
	if (names_collide(sc, f.n, &o, "run", err)) {
		free_all(&f, sc);
		report_cleanup(&ro);
		return EXIT_USAGE;
	}
	fflush(out);
	if (isatty(fileno(err)))
		o.progress = err;
	int passed = 0, failed = 0, errors = 0;
	run_result *res = mqtt_xcalloc(f.n, sizeof *res);
	/* Nobody there: every scenario is an error (the reports still say so), none runs. */
	char why[600];
	int probed = probe_target(o.broker, &o, sc, f.n, "run", why, sizeof why, err);
	if (probed == -4)
		fprintf(err, "mqttsim run: %s: its 5.0 scenarios cannot run there; run the 3.1.1 ones alone; nothing was run\n", why);
	if (probed < 0)
		run_none(sc, f.n, why, res, out);
	else
		run_many(sc, f.n, &o, jobs, res, out);
	int report_rc = 0;
	if (ro.formats) {
		rep_case *rc = report_cases(sc, f.n, &o, res);
		report_attach_traces(&ro, rc, f.n);
		rep_run rr = { .command = "run", .target = o.broker ? o.broker : "sim", .cases = rc, .ncases = f.n };
		report_rc = report_write(&ro, &rr, err);
		report_cases_free(rc, f.n);
	}
	report_cleanup(&ro);
	int skipped = 0;
	for (size_t i = 0; i < f.n; i++) {
		int code = run_code(&res[i]);
		bool skip = code == 0 && res[i].skipped;
		skipped += skip;
		passed += code == 0 && !skip;
		failed += code == 1;
		errors += code >= 2;
		run_result_free(&res[i]);
	}
	fprintf(out, "run: %d passed, %d failed", passed, failed);
	if (skipped)
		fprintf(out, ", %d skipped (not for this target)", skipped);
	if (errors)
		fprintf(out, ", %d error%s (ERROR above: could not run, or lost its output)", errors, errors == 1 ? "" : "s");
	fputc('\n', out);
	free(res);
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
	if (argc < 2)
		collect_builtin(&f, "scenarios"); /* the scenarios mqttsim carries */
	scenario **sc = mqtt_xcalloc(f.n ? f.n : 1, sizeof *sc);
	int bad = load_all(&f, sc, err);
	for (size_t i = 0; i < f.n; i++) {
		if (!sc[i])
			continue;
		fprintf(out, "%-40s %s  [%s%s%s%s]", sc[i]->name, sc[i]->file,
			sc[i]->targets & SC_TARGET_SIM ? "sim" : "",
			sc[i]->targets == (SC_TARGET_SIM | SC_TARGET_TCP) ? "," : "",
			sc[i]->targets & SC_TARGET_TCP ? "tcp" : "", sc[i]->targets == SC_TARGET_WS ? "ws" : "");
		for (size_t k = 0; k < sc[i]->nspec; k++)
			fprintf(out, " %s", sc[i]->spec[k]);
		fputc('\n', out);
	}
	free_all(&f, sc);
	return bad ? EXIT_USAGE : EXIT_PASS;
}
