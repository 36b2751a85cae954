/*
 * report.h - machine-readable reports of `mqttsim run` and `mqttsim conform`: JUnit XML,
 * JSON (schema reports/schema/mqttsim-report-1.json) and TAP version 14.
 *
 * The writers are pure functions of a results model to text on a FILE*: they read no
 * clock, no environment and no file, so the same model gives the same bytes. The caller
 * (harness/reporting.c) fills the model from what the run produced, including the start
 * time when it wants one. Strings in the model are borrowed (the writers never free or
 * keep them); any byte string is accepted: the writers escape what their format needs and
 * replace bytes that are not UTF-8 with U+FFFD. reports/README.md documents the formats
 * and how results map onto them.
 */
#ifndef REPORTS_REPORT_H
#define REPORTS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The JSON report's schema version (reports/schema/mqttsim-report-<n>.json). */
#define REP_SCHEMA_VERSION 1

/* How one scenario run ended. */
enum rep_status {
	REP_PASS,
	REP_FAIL,   /* a step or an expectation failed */
	REP_SKIP,   /* the scenario does not support this target */
	REP_ERROR,  /* the run could not happen (unreachable broker, bad target...) */
};

/* A statement's verdict, as `mqttsim conform` gives it. */
enum rep_verdict {
	REP_V_PASS,
	REP_V_FAIL,
	REP_V_XFAIL,     /* failed, and the --expect-failures file lists it (reason: why) */
	REP_V_XPASS,     /* passed, though the --expect-failures file lists it (reason: why) */
	REP_V_OPTIONAL,  /* an optional statement failed: the broker does not support it */
	REP_V_UNTESTED,  /* testable, but no scenario covers it */
	REP_V_NA,        /* not testable from outside a server (reason: the catalog's why) */
};

/* One scenario run. */
typedef struct rep_case {
	const char *name;        /* the scenario's name */
	const char *file;        /* its YAML file, as given on the command line */
	const char *classname;   /* JUnit classname (NULL: "mqttsim") */
	int status;              /* enum rep_status */
	uint64_t seed;
	bool has_seed;           /* false when the seed is unknown */
	int64_t time_us;         /* time the run covered; < 0: unknown (not run) */
	bool virtual_time;       /* time_us is virtual (simulation) rather than wall time */
	uint64_t events;         /* trace events (simulation); 0: none counted */
	uint64_t trace_hash;     /* simulation trace hash; 0: none */
	const char *message;     /* first line of the failure or error; NULL when none */
	const char *details;     /* the whole report: failures, last packets, replay command */
	const char *trace;       /* HTML: the run's trace text to draw as a sequence diagram
				  * (sim/trace.c's format, or the TCP engine's); NULL: none */
	size_t trace_len;
} rep_case;

/* One normative statement (conform). */
typedef struct rep_stmt {
	const char *id;          /* as the standard prints it, "MQTT-3.3.1-8" */
	const char *alias;       /* the regular form of a misprinted id, or NULL */
	const char *section;     /* "3.3.1" */
	const char *summary;     /* the catalog's paraphrase */
	bool optional;           /* the catalog's level */
	int verdict;             /* enum rep_verdict */
	const char *reason;      /* XFAIL/XPASS: the expected-failures entry; NA: the catalog's
				  * reason; other verdicts: NULL (writers supply a default) */
	const size_t *cases;     /* indexes into rep_run.cases of the scenarios naming it */
	size_t ncases;
} rep_stmt;

typedef struct rep_run {
	const char *tool;        /* "mqttsim" */
	const char *version;     /* the tool's version */
	const char *file_stem;   /* the report files' name when not the command's (conform-5.0) */
	const char *command;     /* "run" or "conform": names the JUnit suite and the files */
	const char *target;      /* "sim" or "tcp://HOST:PORT" */
	const char *spec_version;/* conform: the catalog's MQTT version ("3.1.1"); else NULL */
	const char *started;     /* ISO 8601 UTC, "2024-05-01T12:00:00Z", or NULL */
	const rep_case *cases;
	size_t ncases;
	const rep_stmt *stmts;   /* conform only (run: none) */
	size_t nstmts;
	int tap_version;         /* 13 (0 means 13: what Debian's prove reads) or 14 */
} rep_run;

/* Formats, as bits for --report. */
enum rep_format {
	REP_FMT_JUNIT = 1u << 0,
	REP_FMT_JSON = 1u << 1,
	REP_FMT_TAP = 1u << 2,
	REP_FMT_HTML = 1u << 3,
	REP_FMT_PCAP = 1u << 4,  /* not a writer here: the simulation writes it as it runs */
};

/* Writers. Each returns 0, or -1 when the stream reports a write error. */
int rep_write_junit(FILE *f, const rep_run *r);
int rep_write_json(FILE *f, const rep_run *r);
/* A JSON string (null for NULL): bytes that are not UTF-8 become U+FFFD; control characters,
 * quote, backslash, U+2028 and U+2029 are escaped. The one JSON string writer. */
void rep_json_str(FILE *f, const char *s);
int rep_write_tap(FILE *f, const rep_run *r);
/* One HTML page (polyglot: well-formed XML too), no scripts and nothing fetched: for
 * conform the statement matrix by section, then the scenarios, then a sequence diagram for
 * every case that carries a trace (the caller chooses which do). */
int rep_write_html(FILE *f, const rep_run *r);

/* Sequence diagrams. */
#define REP_DIAGRAM_ROWS 400     /* default cap on a diagram's rows */

typedef struct rep_diagram_info {
	size_t packets;          /* MQTT packets in the trace (decoded or undecodable) */
	size_t drawn;            /* of them, drawn as arrows (all unless truncated) */
	size_t rows;             /* rows drawn */
	size_t lost;             /* lost segments in the trace */
	size_t faults;           /* fault events in the trace */
	uint64_t undelivered;    /* bytes sent and never received */
	size_t hosts;            /* lifelines */
	bool more_hosts;         /* more hosts than lifelines: the last one is shared */
	bool truncated;          /* the row cap was reached */
} rep_diagram_info;

/* The trace (len bytes, not NUL-terminated) as one <svg> element: a lifeline per host, an
 * arrow per MQTT packet from where it was sent to where it was decoded, lost segments,
 * undelivered bytes, faults and scripted steps, at most max_rows rows (0: REP_DIAGRAM_ROWS).
 * title is the SVG's accessible name. Fills *info when not NULL. Returns 0 or -1 on a write
 * error. A pure function of its arguments. */
int rep_write_diagram(FILE *f, const char *trace, size_t len, const char *title, size_t max_rows,
		      rep_diagram_info *info);

/* "pass", "fail", "skip", "error" / "pass", "fail", "xfail", "xpass", "optional",
 * "untested", "na"; "?" for a value outside the enum. */
const char *rep_status_name(int status);
const char *rep_verdict_name(int verdict);

/* Parse a comma-separated list of formats ("junit,json,tap,html,pcap") into REP_FMT_* bits.
 * Returns 0, or -1 with what is wrong and what is accepted in msg. */
int rep_formats_parse(const char *list, unsigned *formats, char *msg, size_t msgcap);
/* The file extension of one format ("junit.xml", "json", "tap", "html", "pcap"), NULL if
 * not one bit. */
const char *rep_format_ext(unsigned format);

#endif
