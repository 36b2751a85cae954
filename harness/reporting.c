/*
 * reporting.c - see reporting.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/reporting.h"
#include "mqtt/alloc.h"
#include "harness/cli.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int report_opts_arg(report_opts *ro, const char *cmd, int argc, char **argv, int *i, FILE *err)
{
	const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	if (!strcmp(a, "--report")) {
		char msg[256];
		unsigned bits;
		if (!v) {
			fprintf(err, "mqttsim %s: --report needs a list of formats: junit, json, tap, html, pcap (e.g. --report junit,html)\n", cmd);
			return -1;
		}
		if (rep_formats_parse(v, &bits, msg, sizeof msg) < 0) {
			fprintf(err, "mqttsim %s: %s\n", cmd, msg);
			return -1;
		}
		ro->formats |= bits;
		(*i)++;
		return 1;
	}
	if (!strcmp(a, "--html-diagrams")) {
		static const char *const names[] = { "auto", "failed", "all", "none" };
		for (int k = 0; v && k < 4; k++)
			if (!strcmp(v, names[k])) {
				ro->diagrams = k;
				ro->diagrams_set = true;
				(*i)++;
				return 1;
			}
		fprintf(err, "mqttsim %s: --html-diagrams takes auto, failed, all or none, not '%s'\n", cmd, v ? v : "(nothing)");
		return -1;
	}
	if (!strcmp(a, "--tap-version")) {
		if (!v || (strcmp(v, "13") && strcmp(v, "14"))) {
			fprintf(err, "mqttsim %s: --tap-version takes 13 or 14, not '%s'\n", cmd, v ? v : "(nothing)");
			return -1;
		}
		ro->tap_version = atoi(v);
		(*i)++;
		return 1;
	}
	if (!strcmp(a, "--report-dir")) {
		if (!v || !*v) {
			fprintf(err, "mqttsim %s: --report-dir needs a directory\n", cmd);
			return -1;
		}
		ro->dir = v;
		(*i)++;
		return 1;
	}
	return 0;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
	char p[4096];
	if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, 0777) < 0 && errno != EEXIST)
				return -1;
			*s = '/';
		}
	if (mkdir(p, 0777) < 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (stat(p, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int report_opts_check(report_opts *ro, const char *cmd, FILE *err)
{
	if (ro->diagrams_set && !(ro->formats & REP_FMT_HTML)) {
		fprintf(err, "mqttsim %s: --html-diagrams is for the HTML report: add --report html\n", cmd);
		return -1;
	}
	if (ro->tap_version && !(ro->formats & REP_FMT_TAP)) {
		fprintf(err, "mqttsim %s: --tap-version is for the TAP report: add --report tap\n", cmd);
		return -1;
	}
	if (!ro->formats) {
		if (ro->dir) {
			fprintf(err, "mqttsim %s: --report-dir %s: say which reports to write with --report junit,json,tap,html,pcap\n",
				cmd, ro->dir);
			return -1;
		}
		return 0;
	}
	const char *dir = ro->dir ? ro->dir : REPORT_DEFAULT_DIR;
	if (make_dirs(dir) < 0) {
		fprintf(err, "mqttsim %s: --report-dir %s: %s: give a directory I can create and write\n", cmd, dir,
			strerror(errno));
		return -1;
	}
	/* The start time, for the reports only (the run itself never reads the wall clock). */
	time_t t = time(NULL);
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		char *end;
		errno = 0;
		long long v = strtoll(sde, &end, 10);
		if (!*end && !errno && v >= 0)
			t = (time_t)v;
	}
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(ro->started, sizeof ro->started, "%Y-%m-%dT%H:%M:%SZ", &tm))
		ro->started[0] = 0;
	return 0;
}

int report_prepare(report_opts *ro, run_opts *o, const char *cmd, FILE *err)
{
	const char *dir = ro->dir ? ro->dir : REPORT_DEFAULT_DIR;
	bool sim = !o->broker || !strcmp(o->broker, "sim");
	if (ro->formats & REP_FMT_PCAP) {
		if (!sim)
			fprintf(err, "mqttsim %s: note: --report pcap: %s is a real broker, so there are no simulated byte "
				"streams to write; capture its traffic with tcpdump or Wireshark instead\n", cmd, o->broker);
		else if (!o->pcap_dir)
			o->pcap_dir = dir;
	}
	if ((ro->formats & REP_FMT_HTML) && ro->diagrams != REPORT_DIAG_NONE) {
		if (!o->out_dir) {
			if (snprintf(ro->trace_tmp, sizeof ro->trace_tmp, "%s/.traces-XXXXXX", dir) >= (int)sizeof ro->trace_tmp ||
			    !mkdtemp(ro->trace_tmp)) {
				fprintf(err, "mqttsim %s: --report html: cannot make a directory for the traces in %s: %s\n", cmd,
					dir, strerror(errno));
				ro->trace_tmp[0] = 0;
				return -1;
			}
			o->out_dir = ro->trace_tmp;
		}
		ro->trace_dir = o->out_dir;
	}
	return 0;
}

void report_attach_traces(const report_opts *ro, rep_case *c, size_t n)
{
	if (!ro->trace_dir)
		return;
	for (size_t i = 0; i < n; i++) {
		bool want = c[i].status == REP_FAIL ||
			    (c[i].status == REP_PASS &&
			     (ro->diagrams == REPORT_DIAG_ALL || (ro->diagrams == REPORT_DIAG_AUTO && n <= REPORT_AUTO_DIAGRAMS)));
		if (!want || ro->diagrams == REPORT_DIAG_NONE)
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.trace", ro->trace_dir, c[i].name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = 0;
		const char *why;
		char *t = cli_read_all(f, (size_t)1 << 30, &len, &why);
		fclose(f);
		if (!t)
			continue; /* no diagram for a trace that cannot be read */
		c[i].trace = t;
		c[i].trace_len = len;
	}
}

void report_cleanup(report_opts *ro)
{
	if (!ro->trace_tmp[0])
		return;
	DIR *d = opendir(ro->trace_tmp);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char p[4096 + 512];
			snprintf(p, sizeof p, "%s/%s", ro->trace_tmp, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(ro->trace_tmp);
	ro->trace_tmp[0] = 0;
}

/* "scenarios/examples/x.yaml" -> "scenarios.examples"; no directory -> "scenarios". */
static char *classname_of(const char *file)
{
	const char *slash = file ? strrchr(file, '/') : NULL;
	const char *p = file ? file : "";
	size_t n = slash ? (size_t)(slash - p) : 0;
	while (n && (*p == '.' || *p == '/'))
		p++, n--;
	char *c = n ? mqtt_xstrndup(p, n) : mqtt_xstrdup("scenarios");
	for (char *q = c; *q; q++)
		if (*q == '/')
			*q = '.';
	return c;
}

static char *line_dup(const char *s)
{
	char *d = mqtt_xstrndup(s, strcspn(s, "\n"));
	return d;
}

rep_case *report_cases(scenario *const *sc, size_t n, const run_opts *o, const run_result *res)
{
	rep_case *v = mqtt_xcalloc(n ? n : 1, sizeof *v);
	bool sim = !o->broker || !strcmp(o->broker, "sim");
	for (size_t i = 0; i < n; i++) {
		rep_case *c = &v[i];
		const run_result *r = &res[i];
		int code = run_code(r);
		c->name = sc[i]->name;
		c->file = sc[i]->file;
		c->classname = classname_of(sc[i]->file);
		c->seed = o->has_seed ? o->seed : sc[i]->seed;
		c->has_seed = true;
		c->time_us = -1;
		c->virtual_time = sim;
		const char *rep = r->report && *r->report ? r->report : NULL;
		if (code == 0 && r->skipped) {
			c->status = REP_SKIP;
			c->message = rep ? line_dup(rep) : strdup("not for this target");
		} else if (code == 0 || code == 1) {
			c->status = code ? REP_FAIL : REP_PASS;
			c->seed = r->seed;
			/* The time as the result line shows it, to the millisecond. */
			c->time_us = r->virtual_us / 1000 * 1000;
			if (sim) {
				c->events = r->events;
				c->trace_hash = r->trace_hash;
			}
			if (code) {
				c->details = run_format_text(sc[i], o, r);
				c->message = line_dup(rep ? rep : "the run failed, saying nothing more");
			}
		} else {
			c->status = REP_ERROR;
			c->details = run_format_text(sc[i], o, r);
			c->message = line_dup(rep ? rep : "the scenario could not run");
		}
	}
	return v;
}

void report_cases_free(rep_case *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		free((char *)c[i].classname);
		free((char *)c[i].message);
		free((char *)c[i].details);
		free((char *)c[i].trace);
	}
	free(c);
}

void report_stmt_add(report_stmts *rs, const cat_stmt *st, int verdict, const char *reason,
		     scenario *const *run, size_t nrun)
{
	rs->v = mqtt_xgrow(rs->v, &rs->cap, rs->n + 1, sizeof *rs->v, 64);
	size_t *idx = NULL, m = 0;
	for (size_t k = 0; k < nrun; k++) {
		bool named = false;
		for (size_t j = 0; j < run[k]->nspec && !named; j++)
			named = !strcmp(run[k]->spec[j], st->id) || (st->alias && !strcmp(run[k]->spec[j], st->alias));
		if (!named)
			continue;
		idx = mqtt_xrealloc(idx, (m + 1) * sizeof *idx);
		idx[m++] = k;
	}
	rs->v[rs->n++] = (rep_stmt){ .id = st->id, .alias = st->alias, .section = st->section, .summary = st->summary,
				     .optional = st->optional, .verdict = verdict, .reason = reason, .cases = idx,
				     .ncases = m };
}

void report_stmts_free(report_stmts *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free((size_t *)rs->v[i].cases);
	free(rs->v);
	rs->v = NULL;
	rs->n = rs->cap = 0;
}

int report_write(const report_opts *ro, const rep_run *run, FILE *err)
{
	static const unsigned fmts[] = { REP_FMT_JUNIT, REP_FMT_JSON, REP_FMT_TAP, REP_FMT_HTML };
	static int (*const writers[])(FILE *, const rep_run *) = { rep_write_junit, rep_write_json, rep_write_tap,
								   rep_write_html };
	rep_run r = *run;
	if (!r.tool)
		r.tool = "mqttsim";
	if (!r.version)
		r.version = MQTTSIM_VERSION;
	if (!r.started && ro->started[0])
		r.started = ro->started;
	if (!r.tap_version)
		r.tap_version = ro->tap_version;
	const char *dir = ro->dir ? ro->dir : REPORT_DEFAULT_DIR;
	int rc = 0;
	for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
		if (!(ro->formats & fmts[i]))
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.%s", dir, r.file_stem ? r.file_stem : r.command, rep_format_ext(fmts[i]));
		FILE *f = fopen(path, "w");
		if (!f) {
			fprintf(err, "mqttsim %s: cannot write the report %s: %s\n", r.command, path, strerror(errno));
			rc = -1;
			continue;
		}
		int w = writers[i](f, &r);
		if (fclose(f) != 0 || w < 0) {
			fprintf(err, "mqttsim %s: writing the report %s failed: %s\n", r.command, path, strerror(errno));
			rc = -1;
		}
	}
	return rc;
}
