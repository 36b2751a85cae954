/*
 * json.c - the JSON report, schema version 1 (reports/schema/mqttsim-report-1.json; the
 * fields are described in reports/README.md). Keys always come in the same order and every
 * key is always present (null when there is no value), so reports diff well.
 */
#include "reports/report.h"
#include "reports/report_text.h"

#include <inttypes.h>
#include <string.h>

/* What JSON escapes beyond the shared backslash escapes: BS and FF by name, the other
 * control characters, and U+2028 and U+2029 (for JavaScript), as \uXXXX. */
static void json_other(FILE *f, uint32_t cp)
{
	if (cp == '\b')
		fputs("\\b", f);
	else if (cp == '\f')
		fputs("\\f", f);
	else if (cp < 0x20 || cp == 0x2028 || cp == 0x2029)
		fprintf(f, "\\u%04x", (unsigned)cp);
	else
		rep_put_utf8(f, cp);
}

/* A JSON string (or null for NULL). Bytes that are not UTF-8 become U+FFFD; control
 * characters, quote and backslash are escaped; U+2028 and U+2029 too (for JavaScript). */
void rep_json_str(FILE *f, const char *s)
{
	if (s)
		rep_put_backslashed(f, s, json_other);
	else
		fputs("null", f);
}

static void key(FILE *f, const char *indent, const char *k)
{
	fprintf(f, "%s\"%s\": ", indent, k);
}

static void kv_str(FILE *f, const char *indent, const char *k, const char *v, bool last)
{
	key(f, indent, k);
	rep_json_str(f, v);
	fputs(last ? "\n" : ",\n", f);
}

static void write_case(FILE *f, const rep_case *c, bool last)
{
	const char *in = "      ";
	fputs("    {\n", f);
	kv_str(f, in, "name", c->name, false);
	kv_str(f, in, "file", c->file, false);
	kv_str(f, in, "status", rep_status_name(c->status), false);
	key(f, in, "seed");
	if (c->has_seed)
		fprintf(f, "%" PRIu64 ",\n", c->seed);
	else
		fputs("null,\n", f);
	key(f, in, "time_s");
	if (c->time_us >= 0)
		rep_put_seconds(f, c->time_us, 6);
	else
		fputs("null", f);
	fputs(",\n", f);
	kv_str(f, in, "clock", c->virtual_time ? "virtual" : "wall", false);
	key(f, in, "events");
	fprintf(f, "%" PRIu64 ",\n", c->events);
	key(f, in, "trace_hash");
	if (c->trace_hash)
		fprintf(f, "\"%016" PRIx64 "\",\n", c->trace_hash);
	else
		fputs("null,\n", f);
	kv_str(f, in, "message", c->message, false);
	kv_str(f, in, "details", c->details, true);
	fputs(last ? "    }\n" : "    },\n", f);
}

static void write_stmt(FILE *f, const rep_run *r, const rep_stmt *s, bool last)
{
	const char *in = "      ";
	fputs("    {\n", f);
	kv_str(f, in, "id", s->id, false);
	kv_str(f, in, "alias", s->alias, false);
	kv_str(f, in, "section", s->section, false);
	kv_str(f, in, "level", s->optional ? "optional" : "mandatory", false);
	kv_str(f, in, "summary", s->summary, false);
	kv_str(f, in, "verdict", rep_verdict_name(s->verdict), false);
	kv_str(f, in, "reason", s->reason, false);
	key(f, in, "scenarios");
	fputc('[', f);
	for (size_t k = 0; k < s->ncases; k++) {
		if (k)
			fputs(", ", f);
		rep_json_str(f, s->cases[k] < r->ncases ? r->cases[s->cases[k]].name : NULL);
	}
	fputs("]\n", f);
	fputs(last ? "    }\n" : "    },\n", f);
}

int rep_write_json(FILE *f, const rep_run *r)
{
	size_t st[4] = { 0 }, v[7] = { 0 };
	for (size_t i = 0; i < r->ncases; i++)
		if (r->cases[i].status >= 0 && r->cases[i].status < 4)
			st[r->cases[i].status]++;
	for (size_t i = 0; i < r->nstmts; i++)
		if (r->stmts[i].verdict >= 0 && r->stmts[i].verdict < 7)
			v[r->stmts[i].verdict]++;

	const char *in = "  ";
	fputs("{\n", f);
	kv_str(f, in, "schema", "mqttsim-report", false);
	fprintf(f, "  \"schema_version\": %d,\n", REP_SCHEMA_VERSION);
	kv_str(f, in, "tool", r->tool ? r->tool : "mqttsim", false);
	kv_str(f, in, "version", r->version, false);
	kv_str(f, in, "command", r->command ? r->command : "run", false);
	kv_str(f, in, "target", r->target ? r->target : "sim", false);
	kv_str(f, in, "mqtt_version", r->spec_version, false);
	kv_str(f, in, "started", r->started, false);
	fputs("  \"summary\": {\n", f);
	fprintf(f, "    \"scenarios\": {\"total\": %zu, \"pass\": %zu, \"fail\": %zu, \"skip\": %zu, \"error\": %zu},\n",
		r->ncases, st[REP_PASS], st[REP_FAIL], st[REP_SKIP], st[REP_ERROR]);
	fprintf(f,
		"    \"statements\": {\"total\": %zu, \"pass\": %zu, \"fail\": %zu, \"xfail\": %zu, \"xpass\": %zu, "
		"\"optional\": %zu, \"untested\": %zu, \"na\": %zu}\n",
		r->nstmts, v[REP_V_PASS], v[REP_V_FAIL], v[REP_V_XFAIL], v[REP_V_XPASS], v[REP_V_OPTIONAL],
		v[REP_V_UNTESTED], v[REP_V_NA]);
	fputs("  },\n", f);
	fputs(r->ncases ? "  \"scenarios\": [\n" : "  \"scenarios\": [],\n", f);
	for (size_t i = 0; i < r->ncases; i++)
		write_case(f, &r->cases[i], i + 1 == r->ncases);
	if (r->ncases)
		fputs("  ],\n", f);
	fputs(r->nstmts ? "  \"statements\": [\n" : "  \"statements\": []\n", f);
	for (size_t i = 0; i < r->nstmts; i++)
		write_stmt(f, r, &r->stmts[i], i + 1 == r->nstmts);
	if (r->nstmts)
		fputs("  ]\n", f);
	fputs("}\n", f);
	return ferror(f) ? -1 : 0;
}
