/*
 * reporting.h - `--report FORMATS` and `--report-dir DIR` of `mqttsim run` and
 * `mqttsim conform`: the options, the results model of reports/report.h filled from the
 * results run_many() produced (data, never text read back), and the files
 * DIR/<command>.junit.xml, .json, .tap, .html; with pcap, DIR/<scenario>.pcap written by the
 * simulation as it runs.
 */
#ifndef HARNESS_REPORTING_H
#define HARNESS_REPORTING_H

#include "conformance/catalog.h"
#include "harness/run.h"
#include "harness/scenario.h"
#include "reports/report.h"

#include <stdio.h>

#define REPORT_DEFAULT_DIR "reports/out"
/* --html-diagrams auto: every scenario gets a diagram when there are at most this many. */
#define REPORT_AUTO_DIAGRAMS 20

enum report_diagrams { REPORT_DIAG_AUTO, REPORT_DIAG_FAILED, REPORT_DIAG_ALL, REPORT_DIAG_NONE };

typedef struct report_opts {
	unsigned formats;        /* REP_FMT_* bits; 0: no reports */
	const char *dir;         /* --report-dir; NULL: REPORT_DEFAULT_DIR */
	int diagrams;            /* --html-diagrams (enum report_diagrams) */
	bool diagrams_set;
	int tap_version;         /* --tap-version: 13 (default) or 14 */
	char started[32];        /* set by report_opts_check(): when the run started, ISO 8601 UTC */
	const char *trace_dir;   /* set by report_prepare(): where the runs write their traces */
	char trace_tmp[4096];    /* a directory report_prepare() made for them ("" if none) */
} report_opts;

/* If argv[*i] is --report or --report-dir, take it and its value (advancing *i) and return
 * 1; return 0 for any other argument; -1 after printing to err what is wrong. */
int report_opts_arg(report_opts *ro, const char *cmd, int argc, char **argv, int *i, FILE *err);

/* After the options, before the run: --report-dir and --html-diagrams need --report; create the directory
 * (and its parents) and note the start time (SOURCE_DATE_EPOCH when set, for reproducible
 * reports). Returns 0, or -1 after printing what is wrong. */
int report_opts_check(report_opts *ro, const char *cmd, FILE *err);

/* Before the run, after report_opts_check(): pcap makes the simulation write
 * DIR/<scenario>.pcap (unless o->pcap_dir is set already; over TCP there are no simulated
 * streams: a note on err says so); html needs the runs' traces, so o->out_dir is set to a
 * temporary directory under DIR when the user gave none. Returns 0, or -1 after printing
 * what is wrong. */
int report_prepare(report_opts *ro, run_opts *o, const char *cmd, FILE *err);

/* For html: read the traces of the cases that get a sequence diagram (--html-diagrams) into
 * c[i].trace (owned by the array). */
void report_attach_traces(const report_opts *ro, rep_case *c, size_t n);

/* Remove what report_prepare() made. */
void report_cleanup(report_opts *ro);

/* The results model of n runs from run_many()'s results. Strings are owned by the array
 * (names and files are the scenarios'): free it with report_cases_free(). */
rep_case *report_cases(scenario *const *sc, size_t n, const run_opts *o, const run_result *res);
void report_cases_free(rep_case *c, size_t n);

/* Statements for `conform`, appended in catalog order. */
typedef struct report_stmts {
	rep_stmt *v;
	size_t n, cap;
} report_stmts;

/* Append st with its verdict (enum rep_verdict) and reason; the covering scenarios are
 * those of run[0..nrun) that name st (by id or alias). reason is borrowed. */
void report_stmt_add(report_stmts *rs, const cat_stmt *st, int verdict, const char *reason,
		     scenario *const *run, size_t nrun);
void report_stmts_free(report_stmts *rs);

/* Write DIR/<command>.<ext> for every format asked for. Fills in tool, version, started
 * when the run leaves them NULL. Returns 0, or -1 after printing what failed. */
int report_write(const report_opts *ro, const rep_run *run, FILE *err);

#endif
