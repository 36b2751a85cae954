/*
 * cmd_conform.c - `mqttsim conform`: run the conformance scenarios against a broker and
 * turn their results into a verdict per normative statement.
 *
 * A statement's verdict comes from every scenario that names it in `spec`: it fails when a
 * check naming it fails in any of them (only such a check can fail it, so every statement of
 * a scenario's `spec` must be named by one of its steps or expectations), and passes when at
 * least one shows it passing; when every one stopped at another failure before checking it,
 * it is "not reached" (see run_stmt_outcome()). Statements no scenario covers are "untested"
 * (testable ones) or "n/a" (the catalog says why nothing outside a server can observe them). A failure of an
 * optional statement is reported as such, never as a failure; a failure listed in the
 * --expect-failures file is an expected failure, with the reason the file gives.
 */
#define _POSIX_C_SOURCE 200809L
#include "broker/broker.h"
#include "mqtt/alloc.h"
#include "conformance/catalog.h"
#include "conformance/verdict.h"
#include "harness/cli.h"
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

#define CATALOG_311 "conformance/mqtt-3.1.1.yaml"
#define DIR_311 "scenarios/conformance"
#define CATALOG_50 "conformance/mqtt-5.0.yaml"
#define DIR_50 "scenarios/conformance-5.0"
#define DEFAULT_CATALOG CATALOG_311
#define DEFAULT_DIR DIR_311

static const char conform_usage[] =
	"usage: mqttsim conform [--broker sim|mqtt://HOST:PORT|mqtts://HOST:PORT|ws://HOST:PORT/PATH|\n"
	"                       wss://HOST:PORT/PATH|exec:CMD]\n"
	"                       [--version 3.1.1|5.0|all]\n"
	"                       [--only ID...] [--cafile F] [--cert F --key F] [--insecure]\n"
	"                       [-j N] [--expect-failures FILE] [--seed N] [-v]\n"
	"\n"
	"Run the conformance scenarios (" DEFAULT_DIR ") and report a verdict per normative\n"
	"statement of the catalog (" DEFAULT_CATALOG "): a summary per section, then every\n"
	"failed statement with the packets exchanged. Exit 0 when nothing failed unexpectedly.\n"
	"\n"
	"  --version V            3.1.1 (default), 5.0, or all (each in its own section). A broker\n"
	"                         that refuses MQTT 5.0 makes --version 5.0 exit 2 before anything\n"
	"                         runs; with all, its 3.1.1 verdict is the exit code and 5.0 is\n"
	"                         reported not supported by the broker\n"
	"  --only ID              only the scenarios covering ID (repeat, or separate with commas)\n"
	"  -j N                   N scenarios at a time (default: the CPUs online, at most 16, in\n"
	"                         simulation; 16 over TCP, where scenarios mostly wait; the\n"
	"                         longest start first, and results print in file order)\n"
	CLI_TARGET_USAGE
	"  --expect-failures FILE known deviations of this broker: lines 'ID  reason'\n"
	"  --broker-variant NAME  simulation: the reference broker behaves another way the spec\n"
	"                         permits (repeatable; the suite must still pass): one-in-flight,\n"
	"                         random-packet-ids, no-sys, dollar-refused, qos0-not-queued,\n"
	"                         overlap-copies, server-keepalive, low-receive-max\n"
	"  --catalog FILE, --scenarios DIR   other catalog or scenario directory\n"
	"  --report F             also write reports: junit, json, tap, html (comma-separated)\n"
	"                         to DIR/conform.<format>; pcap: DIR/NAME.pcap per scenario\n"
	"  --report-dir DIR       where (default " REPORT_DEFAULT_DIR ")\n"
	"  --tap-version 13|14    the TAP report's version (default 13, what prove before 3.48 reads)\n"
	"  --html-diagrams auto|failed|all|none  sequence diagrams in the HTML report (auto:\n"
	"                         the failed scenarios, and all when at most 20 run)\n";

/* The index of st in s's spec list, or -1 when s does not name it. */
static long spec_index(const scenario *s, const cat_stmt *st)
{
	for (size_t k = 0; k < s->nspec; k++)
		if (!strcmp(s->spec[k], st->id) || (st->alias && !strcmp(s->spec[k], st->alias)))
			return (long)k;
	return -1;
}

static bool names(const scenario *s, const cat_stmt *st)
{
	return spec_index(s, st) >= 0;
}

/* Is st checked only by scenarios for WebSocket (`targets: [ws]`)? Then on any other target
 * it is not applicable rather than untested: nothing there could observe it. */
static const char ws_only_why[] = "WebSocket only (MQTT section 6): checked over ws:// and wss:// targets";

static bool ws_only(scenario *const *run, size_t nrun, const cat_stmt *st)
{
	bool any = false;
	for (size_t k = 0; k < nrun; k++)
		if (names(run[k], st)) {
			if (run[k]->targets != SC_TARGET_WS)
				return false;
			any = true;
		}
	return any;
}

/* Does a step or an expectation of s name id (one of s's own spec entries)? */
static bool checked_by_some(const scenario *s, const char *id)
{
	for (size_t i = 0; i < s->nsteps; i++)
		for (size_t j = 0; j < s->steps[i].nspec; j++)
			if (!strcmp(s->steps[i].spec[j], id))
				return true;
	for (size_t i = 0; i < s->nexpects; i++)
		for (size_t j = 0; j < s->expects[i].nspec; j++)
			if (!strcmp(s->expects[i].spec[j], id))
				return true;
	return false;
}

/* What run k observed of st (enum verdict_obs): nothing when it does not name st. */
static int observed(const scenario *s, const run_result *r, const cat_stmt *st)
{
	/* A malformed packet from the broker fails the statement the decoder names, whichever
	 * scenario saw it. */
	for (size_t k = 0; !r->skipped && !r->error && k < r->nviolations; k++)
		if (!strcmp(r->violations[k], st->id) || (st->alias && !strcmp(r->violations[k], st->alias)))
			return VERDICT_OBS_FAIL;
	long i = spec_index(s, st);
	if (i < 0)
		return VERDICT_OBS_NONE;
	switch (run_stmt_outcome(s, r, (size_t)i)) {
	case RUN_STMT_PASS: return VERDICT_OBS_PASS;
	case RUN_STMT_FAIL: return VERDICT_OBS_FAIL;
	case RUN_STMT_UNREACHED: return VERDICT_OBS_UNREACHED;
	default: return VERDICT_OBS_NONE;
	}
}

/* What the runs observed of one statement, a verdict_seen per run (and per failed check). */
typedef struct seen_buf {
	verdict_seen *v;
	char (*chk)[192];    /* the check names v[i].check points into */
	size_t *run;         /* the run each came from */
	size_t n, cap;
} seen_buf;

static void seen_add(seen_buf *b, size_t run, int obs, const scenario *s, int line, const char *name)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->v = mqtt_xrealloc(b->v, b->cap * sizeof *b->v);
		b->chk = mqtt_xrealloc(b->chk, b->cap * sizeof *b->chk);
		b->run = mqtt_xrealloc(b->run, b->cap * sizeof *b->run);
	}
	/* A check is named by its scenario file's name without ".yaml", and its line. */
	const char *f = s->file ? s->file : "-", *base = strrchr(f, '/');
	base = base ? base + 1 : f;
	size_t bl = strlen(base);
	if (bl > 5 && !strcmp(base + bl - 5, ".yaml"))
		bl -= 5;
	if (line > 0)
		snprintf(b->chk[b->n], sizeof b->chk[b->n], "%.*s:%d", (int)bl, base, line);
	else
		snprintf(b->chk[b->n], sizeof b->chk[b->n], "%.*s", (int)bl, base);
	b->v[b->n] = (verdict_seen){ .obs = obs, .name = name };
	b->run[b->n++] = run;
}

/* Everything run k observed of st: a pass, a not-reached, or each check that failed it. */
static void seen_run(seen_buf *b, size_t k, const scenario *s, const run_result *r, const cat_stmt *st)
{
	int o = observed(s, r, st);
	long i = spec_index(s, st);
	bool malformed = false;
	for (size_t v = 0; !r->skipped && !r->error && v < r->nviolations; v++)
		malformed = malformed || !strcmp(r->violations[v], st->id) || (st->alias && !strcmp(r->violations[v], st->alias));
	if (o != VERDICT_OBS_FAIL) {
		if (o != VERDICT_OBS_NONE)
			seen_add(b, k, o, s, 0, NULL);
		return;
	}
	size_t before = b->n;
	if (malformed)
		seen_add(b, k, o, s, 0, "malformed");
	if (i >= 0 && run_stmt_outcome(s, r, (size_t)i) == RUN_STMT_FAIL) {
		run_check c[16];
		size_t n = run_stmt_failures(s, r, (size_t)i, c, 16);
		for (size_t j = 0; j < n; j++)
			seen_add(b, k, o, s, c[j].line, c[j].obs);
	}
	if (b->n == before)
		seen_add(b, k, o, s, 0, NULL);
}

static void seen_fix(seen_buf *b)
{
	for (size_t i = 0; i < b->n; i++)
		b->v[i].check = b->chk[i];
}

static void seen_free(seen_buf *b)
{
	free(b->v);
	free(b->chk);
	free(b->run);
}

/* "name" or "check" of a failure, for messages. */
static const char *seen_what(const verdict_seen *v)
{
	return v->name ? v->name : v->check;
}

static int rep_verdict(int kind)
{
	switch (kind) {
	case VERDICT_PASS: return REP_V_PASS;
	case VERDICT_FAIL: return REP_V_FAIL;
	case VERDICT_XFAIL: return REP_V_XFAIL;
	case VERDICT_XPASS: return REP_V_XPASS;
	case VERDICT_OPTIONAL: return REP_V_OPTIONAL;
	case VERDICT_UNTESTED: return REP_V_UNTESTED;
	default: return REP_V_NA;
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An expected-failure list is a few hundred lines; this bound only stops a wrong file. */
#define XFAIL_MAX_BYTES (1u << 20)

/* The expected-failure file from disk. Returns 0, or -1 after saying what is wrong. */
static int conform_xfail_load(const char *path, xfail_list *out, FILE *err)
{
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		fprintf(err, "mqttsim conform: --expect-failures %s: not a regular file\n", path);
		return -1;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(err, "mqttsim conform: --expect-failures %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t len = 0;
	const char *why;
	char *text = cli_read_all(f, XFAIL_MAX_BYTES, &len, &why);
	fclose(f);
	if (text && memchr(text, 0, len))
		why = "not a text file (a NUL byte)";
	else if (!text && !strcmp(why, "too large"))
		why = "larger than 1 MiB: not an expected-failures list";
	else if (text)
		why = NULL;
	if (why) {
		fprintf(err, "mqttsim conform: --expect-failures %s: %s\n", path, why);
		free(text);
		return -1;
	}
	int rc = xfail_parse(path, text, out, err);
	free(text);
	return rc;
}

/* The expected-failure file from disk, or the built-in one of that path. */
static int conform_xfail_read(const char *xfile, xfail_list *xf, FILE *err)
{
	struct stat xst;
	const suite_file *bx = stat(xfile, &xst) != 0 ? suite_find(xfile) : NULL;
	return bx ? xfail_parse(bx->path, (const char *)bx->data, xf, err) : conform_xfail_load(xfile, xf, err);
}

/* A catalog from disk (own) or the built-in one of that path; NULL after saying why. */
static catalog *conform_catalog(const char *path, bool own, FILE *err)
{
	char msg[1024];
	const suite_file *bc = own ? NULL : suite_find(path);
	catalog *cat = bc ? catalog_parse(bc->path, (const char *)bc->data, bc->len, msg, sizeof msg)
			  : catalog_load(path, msg, sizeof msg);
	if (!cat)
		fprintf(err, "mqttsim conform: %s\n", msg);
	return cat;
}

/* What the command line asked for, the same for every version it runs. */
typedef struct conform_cfg {
	run_opts o;
	long jobs;
	const char *xfile;
	char **only;
	size_t nonly;
	report_opts ro;
	bool all; /* --version all: ids of --only and --expect-failures may belong to the other catalog */
} conform_cfg;

/* One version's suite: catalog_path and dir (built-in unless own_*), verdicts printed to out;
 * stem names the report files (NULL: "conform"). *ran is set when something was run (with
 * cfg->all an --only naming only the other catalog's statements runs nothing here). Returns
 * the exit code of this version; *refused is set when the broker refused this version (MQTT
 * 5.0 to a 3.1.1 broker: then nothing ran, every statement is untested saying so, exit 2). */
static int conform_version(conform_cfg *cfg, const char *catalog_path, const char *dir, bool own_catalog,
			   bool own_dir, const char *stem, bool *ran, bool *refused, FILE *out, FILE *err)
{
	run_opts o = cfg->o;
	long jobs = cfg->jobs;
	const char *xfile = cfg->xfile;
	char **only = NULL;
	size_t nonly = 0;
	report_opts ro = cfg->ro;
	int rc = EXIT_USAGE;
	catalog *cat = NULL;
	scenario **sc = NULL;
	char **files = NULL;
	run_result *res = NULL;
	size_t nfiles = 0;
	xfail_list xf = { 0 };
	seen_buf seen = { 0 };
	report_stmts rs = { 0 };
	*ran = false;
	*refused = false;
	if (!(cat = conform_catalog(catalog_path, own_catalog, err)))
		goto done;
	/* --only: with --version all, the ids of the other catalog are its business (cmd_conform
	 * checked every id is in one of them). */
	for (size_t k = 0; k < cfg->nonly; k++)
		if (catalog_find(cat, cfg->only[k])) {
			only = mqtt_xrealloc(only, (nonly + 1) * sizeof *only);
			only[nonly++] = cfg->only[k];
		} else if (!cfg->all) {
			fprintf(err, "mqttsim conform: --only %s: no such statement in %s\n", cfg->only[k], catalog_path);
			goto done;
		}
	*ran = cfg->nonly == 0 || nonly > 0;
	if (!*ran) {
		rc = EXIT_PASS;
		goto done;
	}
	xfail_list xall = { 0 };
	if (xfile && conform_xfail_read(xfile, &xall, err) < 0)
		goto done;
	/* An entry "5.0 ID reason" is for that version's catalog only; one without a version for
	 * the catalog that has the id (with --version all, cmd_conform checked one has). */
	for (size_t k = 0; k < xall.n; k++) {
		xfail *x = &xall.v[k];
		bool here = catalog_find(cat, x->id) != NULL;
		if (x->version && strcmp(x->version, cat->version))
			continue;
		if (!here && (x->version || !cfg->all)) {
			fprintf(err, "%s:%d: '%s' is not a statement of the MQTT %s catalog (%s)\n", xfile, x->line, x->id,
				cat->version, catalog_path);
			xfail_free(&xall);
			goto done;
		}
		if (!here)
			continue;
		xf.v = mqtt_xrealloc(xf.v, (xf.n + 1) * sizeof *xf.v);
		xf.v[xf.n++] = *x;
		*x = (xfail){ 0 }; /* moved */
	}
	xfail_free(&xall);

	/* The built-in scenarios, or the directory named (from disk; built-in when it is not there). */
	struct stat dst;
	if (!own_dir || (stat(dir, &dst) != 0 && suite_has_dir(dir))) {
		char **v;
		size_t m = suite_list_dir(dir, ".yaml", &v);
		for (size_t k = 0; k < m; k++) {
			size_t l = strlen(v[k]);
			if (l > 5 && !strcmp(v[k] + l - 5, ".yaml")) {
				files = mqtt_xrealloc(files, (nfiles + 1) * sizeof *files);
				files[nfiles++] = v[k];
			} else {
				free(v[k]); /* a directory under it: conform reads one level */
			}
		}
		free(v);
	} else {
		DIR *d = opendir(dir);
		if (!d) {
			fprintf(err, "mqttsim conform: %s: %s\n", dir, strerror(errno));
			goto done;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);
			if (l < 6 || strcmp(de->d_name + l - 5, ".yaml"))
				continue;
			files = mqtt_xrealloc(files, (nfiles + 1) * sizeof *files);
			char p[4096];
			snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
			files[nfiles++] = strdup(p);
		}
		closedir(d);
	}
	if (nfiles == 0) {
		fprintf(err, "mqttsim conform: %s: no scenarios (.yaml files) in this directory\n", dir);
		goto done;
	}
	qsort(files, nfiles, sizeof *files, by_name);
	sc = mqtt_xcalloc(nfiles + 1, sizeof *sc);
	int bad = 0;
	for (size_t i = 0; i < nfiles; i++) {
		sc_errors e = { 0 };
		sc[i] = own_dir ? suite_scenario_load(files[i], &e) : suite_scenario_builtin(files[i], &e);
		for (int k = 0; k < e.n; k++)
			fprintf(err, "%s\n", e.msg[k]);
		sc_errors_free(&e);
		if (!sc[i]) {
			bad++;
			continue;
		}
		if (sc[i]->version != (strcmp(cat->version, "5.0") ? MQTT_V311 : MQTT_V5)) {
			fprintf(err, "%s: a scenario of the MQTT %s suite must say `version: %s`\n", files[i],
				cat->version, cat->version);
			bad++;
		}
		for (size_t k = 0; k < sc[i]->nspec; k++)
			if (!catalog_find(cat, sc[i]->spec[k])) {
				fprintf(err, "%s: spec names %s, which is not a statement of %s\n", files[i],
					sc[i]->spec[k], catalog_path);
				bad++;
			} else if (!checked_by_some(sc[i], sc[i]->spec[k])) {
				/* Only a check naming a statement can fail it: one no check names would
				 * never be tested here, whatever the broker did. */
				fprintf(err, "%s: %s is in spec but no step or expectation names it; add "
					     "`spec: %s` to the check that checks it\n",
					files[i], sc[i]->spec[k], sc[i]->spec[k]);
				bad++;
			}
	}
	if (bad) {
		fprintf(err, "mqttsim conform: nothing was run: fix the errors above\n");
		goto done;
	}

	/* With --only, just the scenarios that cover one of those statements. */
	scenario **run = mqtt_xcalloc(nfiles + 1, sizeof *run);
	size_t nrun = 0;
	for (size_t i = 0; i < nfiles; i++) {
		bool keep = nonly == 0;
		for (size_t k = 0; k < nonly && !keep; k++)
			keep = names(sc[i], catalog_find(cat, only[k]));
		if (keep)
			run[nrun++] = sc[i];
	}
	if (names_collide(run, nrun, &o, "conform", err)) {
		free(run);
		goto done;
	}
	if (nrun == 0) {
		/* Asked for statements no scenario covers: say why, and run nothing. */
		for (size_t k = 0; k < nonly; k++) {
			const cat_stmt *st = catalog_find(cat, only[k]);
			if (st && !st->testable)
				fprintf(err, "mqttsim conform: %s is not testable from outside a server: %s\n", st->id,
					st->reason ? st->reason : "(no reason given)");
			else if (st)
				fprintf(err, "mqttsim conform: no scenario in %s covers %s\n", dir, st->id);
		}
		free(run);
		goto done;
	}
	res = mqtt_xcalloc(nrun + 1, sizeof *res);
	if (isatty(fileno(err)))
		o.progress = err; /* "[37/98] name" while it runs */
	/* Nobody there: nothing runs, every statement stays untested, the reports say why. */
	char nobody[600];
	int probed = probe_target(o.broker, &o, run, nrun, "conform", nobody, sizeof nobody, err);
	bool unreachable = probed < 0;
	if (probed == -4) {
		*refused = true;
		if (cfg->all)
			fprintf(err, "mqttsim conform: %s: its %s suite is not run\n", nobody, cat->version);
		else
			fprintf(err, "mqttsim conform: %s: run --version 3.1.1; nothing was run\n", nobody);
	}
	if (unreachable)
		run_none(run, nrun, nobody, res, o.verbose ? out : NULL);
	else
		run_many(run, nrun, &o, jobs, res, o.verbose ? out : NULL);

	/* Verdicts per statement, summaries per section (sections in catalog order). */
	int npass = 0, nfail = 0, nxfail = 0, nxpass = 0, nopt = 0, nuntested = 0, nna = 0;
	char **reasons = NULL; /* owned texts of "not reached" verdicts, for the reports */
	size_t nreasons = 0;
	char section[32] = "";
	int s_pass = 0, s_fail = 0, s_xfail = 0, s_untested = 0, s_na = 0;
	fprintf(out, "MQTT %s conformance of %s (%zu scenarios)\n", cat->version,
		o.broker ? o.broker : "the reference broker in simulation", nrun);
	for (size_t i = 0; i <= cat->n; i++) {
		const cat_stmt *st = i < cat->n ? &cat->v[i] : NULL;
		char top[32] = "";
		if (st) {
			snprintf(top, sizeof top, "%s", st->section);
			char *dot = strchr(top, '.');
			if (dot && (dot = strchr(dot + 1, '.')))
				*dot = 0; /* summarise by x.y */
		}
		if (!st || strcmp(top, section)) {
			if (*section)
				fprintf(out, "  §%-6s %3d pass  %3d fail  %3d expected fail  %3d untested  %3d n/a\n", section,
					s_pass, s_fail, s_xfail, s_untested, s_na);
			snprintf(section, sizeof section, "%s", top);
			s_pass = s_fail = s_xfail = s_untested = s_na = 0;
		}
		if (!st)
			break;
		bool in_only = nonly == 0;
		for (size_t k = 0; k < nonly && !in_only; k++)
			in_only = catalog_find(cat, only[k]) == st;
		if (!in_only)
			continue;
		/* A scenario skipped for this target (e.g. simulation-only) covers nothing here; one
		 * that stopped at another statement's failure before checking this one has not
		 * reached it. */
		seen.n = 0;
		for (size_t k = 0; k < nrun; k++)
			seen_run(&seen, k, run[k], &res[k], st);
		seen_fix(&seen);
		const xfail *entry = xfail_find(&xf, st);
		const char *why = entry ? entry->reason : NULL;
		const char *untested_why = NULL;
		verdict vd = verdict_judge(st, entry, seen.v, seen.n);
		const char *na_why = st->reason;
		if (vd.kind == VERDICT_UNTESTED && !vd.unreached && !run_target_ws(o.broker, NULL, 0) && ws_only(run, nrun, st)) {
			vd.kind = VERDICT_NA;
			na_why = ws_only_why;
		}
		if (vd.unreached)
			vd.blocker = seen.run[vd.blocker];
		if (vd.unexpected)
			fprintf(out, "FAIL  %s (%s): failed at %s, which %s does not expect (it lists %s line %d)\n", st->id,
				st->summary, seen_what(&seen.v[vd.first_unexpected]), xfile ? xfile : "the list", st->id,
				entry->line);
		if (vd.unreached) {
			static const char fmt[] = "not reached: %s stopped at an earlier failure before checking it";
			size_t rl = sizeof fmt + strlen(run[vd.blocker]->file);
			char *r = mqtt_xmalloc(rl);
			snprintf(r, rl, fmt, run[vd.blocker]->file);
			reasons = mqtt_xrealloc(reasons, (nreasons + 1) * sizeof *reasons);
			reasons[nreasons++] = r;
			untested_why = r;
			fprintf(out, "UNREACHED %s (%s): %s\n", st->id, st->summary, r);
		}
		int rv = rep_verdict(vd.kind);
		switch (vd.kind) {
		case VERDICT_UNTESTED: nuntested++; s_untested++; break;
		case VERDICT_NA: nna++; s_na++; break;
		case VERDICT_XPASS:
			nxpass++;
			fprintf(out, "XPASS %s (%s): it passed, but %s lists it: \"%s\" - remove the entry\n", st->id,
				st->summary, xfile, why);
			npass++;
			s_pass++;
			break;
		case VERDICT_PASS: npass++; s_pass++; break;
		case VERDICT_XFAIL: nxfail++; s_xfail++; break;
		case VERDICT_OPTIONAL: nopt++; s_xfail++; break;
		default: nfail++; s_fail++; break;
		}
		if (ro.formats)
			report_stmt_add(&rs, st, rv,
					rv == REP_V_NA ? na_why : rv == REP_V_UNTESTED ? untested_why : why,
					run, nrun);
	}
	/* Every failed scenario once: the statements it fails (expected or not), then what it
	 * saw - the step or expectation that failed and the last packets exchanged. */
	for (size_t k = 0; k < nrun; k++) {
		if (run_code(&res[k]) == 0)
			continue;
		bool any_unexpected = false;
		for (size_t i = 0; i < cat->n; i++) {
			const cat_stmt *st = &cat->v[i];
			if (observed(run[k], &res[k], st) != VERDICT_OBS_FAIL)
				continue;
			const xfail *entry = xfail_find(&xf, st);
			seen.n = 0;
			seen_run(&seen, k, run[k], &res[k], st);
			seen_fix(&seen);
			for (size_t j = 0; entry && j < seen.n; j++)
				if (!xfail_covers(entry, &seen.v[j]))
					entry = NULL; /* a failure the list does not expect */
			const char *why = entry ? entry->reason : NULL;
			if (why) {
				fprintf(out, "XFAIL %s (%s)\n  expected: %s\n", st->id, st->summary, why);
			} else {
				fprintf(out, "%s %s (%s)\n", st->optional ? "OPTIONAL" : "FAIL ", st->id, st->summary);
				any_unexpected = any_unexpected || !st->optional;
			}
		}
		if (any_unexpected || o.verbose)
			run_format(out, run[k], &o, &res[k]);
	}
	fprintf(out, "statements: %d pass, %d fail, %d expected failures, %d optional not supported, %d untested, %d not testable from outside%s\n",
		npass, nfail, nxfail, nopt, nuntested, nna, nxpass ? " (XPASS above: listed failures that passed)" : "");
	fprintf(out, "conform: %d passed, %d failed\n", npass + nxfail, nfail);
	if (*refused)
		fprintf(out, "conform: nothing ran: MQTT %s not supported by the broker: %s\n", cat->version, nobody);
	else if (unreachable)
		fprintf(out, "conform: nothing ran: %s\n", nobody);
	rc = unreachable ? EXIT_USAGE : nfail ? EXIT_FAIL : EXIT_PASS;
	if (ro.formats) {
		rep_case *cases = report_cases(run, nrun, &o, res);
		report_attach_traces(&ro, cases, nrun);
		rep_run rr = { .command = "conform", .file_stem = stem, .target = o.broker ? o.broker : "sim", .spec_version = cat->version,
			       .cases = cases, .ncases = nrun, .stmts = rs.v, .nstmts = rs.n };
		if (report_write(&ro, &rr, err) < 0)
			rc = EXIT_USAGE;
		report_cases_free(cases, nrun);
	}
	for (size_t k = 0; k < nrun; k++)
		run_result_free(&res[k]);
	free(run);
	for (size_t k = 0; k < nreasons; k++)
		free(reasons[k]);
	free(reasons);
done:
	free(only);
	xfail_free(&xf);
	seen_free(&seen);
	for (size_t i = 0; i < nfiles; i++) {
		if (sc)
			scenario_free(sc[i]);
		free(files[i]);
	}
	free(sc);
	free(files);
	free(res);
	report_stmts_free(&rs);
	catalog_free(cat);
	return rc;
}

int cmd_conform(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	(void)in;
	conform_cfg cfg = { 0 };
	run_opts o = { 0 };
	long jobs = 0; /* 0: run_default_jobs() */
	const char *catalog_path = NULL, *dir = NULL, *xfile = NULL, *version = "3.1.1";
	bool own_catalog = false, own_dir = false; /* else the built-in ones (suite.h) */
	char **only = NULL;
	size_t nonly = 0;
	int rc = EXIT_USAGE;
	report_opts ro = { 0 };

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rr;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(conform_usage, out);
			return EXIT_PASS;
		} else if (!strcmp(a, "--broker")) {
			if (cli_broker("conform", v, err) < 0)
				goto done;
			o.broker = v;
			i++;
		} else if (!strcmp(a, "--version") && v) {
			if (!strcmp(v, "4"))
				v = "3.1.1";
			else if (!strcmp(v, "5"))
				v = "5.0";
			if (strcmp(v, "3.1.1") && strcmp(v, "5.0") && strcmp(v, "all")) {
				fprintf(err, "mqttsim conform: --version takes 3.1.1, 5.0 or all, not '%s'\n", v);
				goto done;
			}
			version = v;
			i++;
		} else if (!strcmp(a, "--only") && v) {
			if (!v[strspn(v, ", ")]) {
				fprintf(err, "mqttsim conform: --only needs statement ids, like MQTT-3.3.1-8\n");
				goto done;
			}
			char *copy = strdup(v), *save = NULL;
			for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				only = mqtt_xrealloc(only, (nonly + 1) * sizeof *only);
				only[nonly++] = strdup(t);
			}
			free(copy);
			i++;
		} else if (!strcmp(a, "-j")) {
			if (cli_jobs("conform", v, &jobs, err) < 0)
				goto done;
			i++;
		} else if (!strcmp(a, "--seed")) {
			if (cli_seed("conform", v, &o.seed, err) < 0)
				goto done;
			o.has_seed = true;
			i++;
		} else if (!strcmp(a, "--expect-failures") && v) {
			xfile = v;
			i++;
		} else if (!strcmp(a, "--catalog") && v) {
			catalog_path = v;
			own_catalog = true;
			i++;
		} else if (!strcmp(a, "--scenarios") && v) {
			dir = v;
			own_dir = true;
			i++;
		} else if (!strcmp(a, "--break-broker") && v) {
			/* Test-only: break one behaviour of the reference broker in simulation. */
			if (cli_break_broker("conform", v, &o.broker_faults, err) < 0)
				goto done;
			i++;
		} else if (!strcmp(a, "--broker-variant")) {
			/* A behaviour the spec permits, chosen the other way by the reference broker. */
			if (cli_broker_variant("conform", v, &o.broker_variants, err) < 0)
				goto done;
			i++;
		} else if (!strcmp(a, "-v")) {
			o.verbose = true;
		} else if ((rr = report_opts_arg(&ro, "conform", argc, argv, &i, err)) != 0 ||
			   (rr = cli_target_opt("conform", argc, argv, &i, &o, err)) != 0) {
			if (rr < 0)
				goto done;
		} else {
			fprintf(err, "mqttsim conform: unknown option or missing value: '%s'\n%s", a, conform_usage);
			goto done;
		}
	}

	if (!jobs)
		jobs = run_default_jobs(o.broker);
	if (cli_target_done("conform", &o, err) < 0 || report_opts_check(&ro, "conform", err) < 0 ||
	    report_prepare(&ro, &o, "conform", err) < 0)
		goto done;
	if (!strcmp(version, "all") && (own_catalog || own_dir)) {
		fprintf(err, "mqttsim conform: --catalog and --scenarios name one version's suite: give "
			     "--version 3.1.1 or 5.0 with them, not all\n");
		goto done;
	}
	if (!strcmp(version, "all") && (nonly || xfile)) {
		/* Every id named must be in one of the two catalogs, before anything runs. */
		catalog *c311 = conform_catalog(CATALOG_311, false, err), *c50 = conform_catalog(CATALOG_50, false, err);
		xfail_list xa = { 0 };
		bool ok = c311 && c50 && !(xfile && conform_xfail_read(xfile, &xa, err) < 0);
		for (size_t k = 0; ok && k < nonly; k++)
			if (!catalog_find(c311, only[k]) && !catalog_find(c50, only[k])) {
				fprintf(err, "mqttsim conform: --only %s: no such statement in %s or %s\n", only[k],
					CATALOG_311, CATALOG_50);
				ok = false;
			}
		for (size_t k = 0; ok && k < xa.n; k++)
			if (!xa.v[k].version && !catalog_find(c311, xa.v[k].id) && !catalog_find(c50, xa.v[k].id)) {
				fprintf(err, "%s:%d: '%s' is not a statement of the 3.1.1 or the 5.0 catalog\n", xfile,
					xa.v[k].line, xa.v[k].id);
				ok = false;
			}
		xfail_free(&xa);
		catalog_free(c311);
		catalog_free(c50);
		if (!ok)
			goto done;
	}
	cfg = (conform_cfg){ .o = o, .jobs = jobs, .xfile = xfile, .only = only, .nonly = nonly, .ro = ro,
			     .all = !strcmp(version, "all") };
	bool ran311 = false, ran50 = false, refused311 = false, refused50 = false;
	int rc311 = EXIT_PASS, rc50 = EXIT_PASS;
	if (strcmp(version, "5.0"))
		rc311 = conform_version(&cfg, own_catalog ? catalog_path : CATALOG_311, own_dir ? dir : DIR_311,
					own_catalog, own_dir, cfg.all ? "conform-3.1.1" : NULL, &ran311, &refused311, out, err);
	if (strcmp(version, "3.1.1") && (!cfg.all || rc311 != EXIT_USAGE || ran311)) {
		if (cfg.all && ran311)
			fputc('\n', out);
		rc50 = conform_version(&cfg, own_catalog ? catalog_path : CATALOG_50, own_dir ? dir : DIR_50,
				       own_catalog, own_dir, cfg.all ? "conform-5.0" : NULL, &ran50, &refused50, out, err);
	}
	/* --version all against a broker that speaks no 5.0: its 3.1.1 verdict is the exit code, and
	 * the 5.0 section says the broker does not support it. A CI job for a 3.1.1 broker stays
	 * green on the default; one that wants 5.0 asks for --version 5.0, which exits 2 there. */
	if (!cfg.all)
		rc = strcmp(version, "5.0") ? rc311 : rc50;
	else if (rc311 == EXIT_USAGE || (rc50 == EXIT_USAGE && !refused50))
		rc = EXIT_USAGE;
	else if (!ran311 && !ran50) {
		fprintf(err, "mqttsim conform: no scenario of either version covers what --only names\n");
		rc = EXIT_USAGE;
	} else
		rc = rc311 == EXIT_FAIL || (rc50 == EXIT_FAIL && !refused50) ? EXIT_FAIL : EXIT_PASS;
	if (cfg.all && ran311 && ran50)
		fprintf(out, "conform --version all: 3.1.1 %s, 5.0 %s\n", rc311 ? "failed" : "passed",
			refused50 ? "not supported by the broker (it refused MQTT 5.0)" : rc50 ? "failed" : "passed");
done:
	for (size_t k = 0; k < nonly; k++)
		free(only[k]);
	free(only);
	report_cleanup(&ro);
	return rc;
}
