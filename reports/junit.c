/*
 * junit.c - the JUnit XML report (the Ant/Jenkins shape that CI test tabs read).
 *
 * One <testsuite> per command inside <testsuites>. `run`: one <testcase> per scenario.
 * `conform`: one <testcase> per statement, named by its id; how each verdict maps
 * (reports/README.md says why):
 *   pass      a plain testcase
 *   fail      <failure message="first failure line">statement, then every failing
 *             scenario's report with the last packets</failure>
 *   xfail     <skipped type="xfail" message="expected failure: REASON"/> + the report in
 *             <system-out>
 *   xpass     a plain (passing) testcase, the note in <system-out>
 *   optional  <skipped type="optional" .../> + the report in <system-out>
 *   untested  <skipped type="untested" .../>
 *   na        <skipped type="not-testable" message="... REASON"/>
 * Seeds, trace hashes and the like are <property> elements of each testcase.
 */
#include "reports/report.h"
#include "reports/report_text.h"

#include <inttypes.h>
#include <string.h>

/* Escape for XML 1.0 text (attr false) or a double-quoted attribute value. Characters XML
 * cannot carry at all (C0 controls but TAB, LF, CR; U+FFFE, U+FFFF) and bytes that are not
 * UTF-8 become U+FFFD. */
static void xml_esc(FILE *f, const char *s, bool attr)
{
	if (!s)
		return;
	uint32_t cp;
	size_t n;
	while ((n = rep_utf8_next(s, &cp)) > 0) {
		s += n;
		switch (cp) {
		case '&': fputs("&amp;", f); continue;
		case '<': fputs("&lt;", f); continue;
		case '>': fputs("&gt;", f); continue;
		case '"': fputs(attr ? "&quot;" : "\"", f); continue;
		case '\r': fputs("&#13;", f); continue; /* a raw CR would be normalised away */
		case '\n': fputs(attr ? "&#10;" : "\n", f); continue;
		case '\t': fputs(attr ? "&#9;" : "\t", f); continue;
		default: break;
		}
		if (cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF)
			cp = REP_REPLACEMENT;
		rep_put_utf8(f, cp);
	}
}

static void attr(FILE *f, const char *name, const char *value)
{
	fprintf(f, " %s=\"", name);
	xml_esc(f, value, true);
	fputc('"', f);
}

static void attr_seconds(FILE *f, const char *name, int64_t us)
{
	fprintf(f, " %s=\"", name);
	rep_put_seconds(f, us, 3);
	fputc('"', f);
}

static void prop(FILE *f, const char *indent, const char *name, const char *value)
{
	fprintf(f, "%s<property", indent);
	attr(f, "name", name);
	attr(f, "value", value);
	fputs("/>\n", f);
}

static void prop_u64(FILE *f, const char *indent, const char *name, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%" PRIu64, v);
	prop(f, indent, name, buf);
}

static void prop_hex(FILE *f, const char *indent, const char *name, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%016" PRIx64, v);
	prop(f, indent, name, buf);
}

/* <failure>, <error> or <skipped> with a message and an optional body. */
static void outcome(FILE *f, const char *elem, const char *type, const char *msg, const char *body)
{
	fprintf(f, "      <%s", elem);
	if (msg)
		attr(f, "message", msg);
	attr(f, "type", type);
	if (!body || !*body) {
		fputs("/>\n", f);
		return;
	}
	fputc('>', f);
	xml_esc(f, body, false);
	fprintf(f, "</%s>\n", elem);
}

static void system_out(FILE *f, const char *head, const char *body)
{
	fputs("      <system-out>", f);
	xml_esc(f, head, false);
	xml_esc(f, body, false);
	fputs("</system-out>\n", f);
}

static int64_t case_time(const rep_case *c)
{
	return c->time_us > 0 ? c->time_us : 0;
}

static void write_case(FILE *f, const rep_case *c)
{
	fputs("    <testcase", f);
	attr(f, "name", c->name);
	attr(f, "classname", c->classname ? c->classname : "mqttsim");
	if (c->file)
		attr(f, "file", c->file);
	attr_seconds(f, "time", case_time(c));
	fputs(">\n      <properties>\n", f);
	const char *in = "        ";
	if (c->has_seed)
		prop_u64(f, in, "seed", c->seed);
	if (c->trace_hash)
		prop_hex(f, in, "trace", c->trace_hash);
	if (c->events)
		prop_u64(f, in, "events", c->events);
	if (c->time_us >= 0)
		prop(f, in, "clock", c->virtual_time ? "virtual" : "wall");
	prop(f, in, "status", rep_status_name(c->status));
	fputs("      </properties>\n", f);
	switch (c->status) {
	case REP_FAIL:
		outcome(f, "failure", "fail", c->message ? c->message : "the scenario failed", c->details);
		break;
	case REP_ERROR:
		outcome(f, "error", "error", c->message ? c->message : "the scenario could not run", c->details);
		break;
	case REP_SKIP:
		outcome(f, "skipped", "skip", c->message ? c->message : "not for this target", NULL);
		break;
	default:
		break;
	}
	fputs("    </testcase>\n", f);
}

/* Every failing scenario report of a statement, one after another. */
static void failing_details(FILE *f, const rep_run *r, const rep_stmt *s)
{
	for (size_t k = 0; k < s->ncases; k++) {
		const rep_case *c = &r->cases[s->cases[k]];
		if ((c->status == REP_FAIL || c->status == REP_ERROR) && c->details)
			xml_esc(f, c->details, false);
	}
}

static const char *first_message(const rep_run *r, const rep_stmt *s)
{
	for (size_t k = 0; k < s->ncases; k++) {
		const rep_case *c = &r->cases[s->cases[k]];
		if ((c->status == REP_FAIL || c->status == REP_ERROR) && c->message)
			return c->message;
	}
	return NULL;
}

static void write_stmt(FILE *f, const rep_run *r, const rep_stmt *s)
{
	char top[32], cls[64];
	rep_top_section(s->section, top, sizeof top);
	for (char *p = top; *p; p++)
		if (*p == '.')
			*p = '_';
	snprintf(cls, sizeof cls, "conform.section_%s", top);
	int64_t us = 0;
	for (size_t k = 0; k < s->ncases; k++)
		us += case_time(&r->cases[s->cases[k]]);

	fputs("    <testcase", f);
	attr(f, "name", s->id);
	attr(f, "classname", cls);
	attr_seconds(f, "time", us);
	fputs(">\n      <properties>\n", f);
	const char *in = "        ";
	prop(f, in, "verdict", rep_verdict_name(s->verdict));
	prop(f, in, "section", s->section);
	prop(f, in, "level", s->optional ? "optional" : "mandatory");
	if (s->alias)
		prop(f, in, "alias", s->alias);
	prop(f, in, "summary", s->summary);
	bool one_seed = s->ncases > 0;
	for (size_t k = 0; k < s->ncases; k++) {
		const rep_case *c = &r->cases[s->cases[k]];
		prop(f, in, "scenario", c->name);
		one_seed = one_seed && c->has_seed && c->seed == r->cases[s->cases[0]].seed;
	}
	if (one_seed) {
		prop_u64(f, in, "seed", r->cases[s->cases[0]].seed);
	} else if (s->ncases) {
		/* Seeds of the scenarios in the order of the scenario properties. */
		fprintf(f, "%s<property name=\"seeds\" value=\"", in);
		for (size_t k = 0; k < s->ncases; k++) {
			const rep_case *c = &r->cases[s->cases[k]];
			if (c->has_seed)
				fprintf(f, "%s%" PRIu64, k ? " " : "", c->seed);
			else
				fprintf(f, "%s-", k ? " " : "");
		}
		fputs("\"/>\n", f);
	}
	fputs("      </properties>\n", f);

	const char *msg = first_message(r, s);
	char buf[1024];
	switch (s->verdict) {
	case REP_V_FAIL:
		fputs("      <failure", f);
		attr(f, "message", msg ? msg : "a scenario covering this statement failed");
		attr(f, "type", "fail");
		fputc('>', f);
		xml_esc(f, s->id, false);
		fputs(": ", f);
		xml_esc(f, s->summary, false);
		fputs("\n\n", f);
		failing_details(f, r, s);
		fputs("</failure>\n", f);
		break;
	case REP_V_XFAIL:
	case REP_V_OPTIONAL:
		if (s->verdict == REP_V_XFAIL) {
			snprintf(buf, sizeof buf, "expected failure: %s", s->reason ? s->reason : "listed as a known deviation");
			outcome(f, "skipped", "xfail", buf, NULL);
		} else {
			outcome(f, "skipped", "optional", "optional statement, not supported by this broker", NULL);
		}
		fputs("      <system-out>", f);
		failing_details(f, r, s);
		fputs("</system-out>\n", f);
		break;
	case REP_V_XPASS:
		system_out(f, "passed, though the expected failures list it: ",
			   s->reason ? s->reason : "(no reason given)");
		break;
	case REP_V_UNTESTED:
		outcome(f, "skipped", "untested", s->reason ? s->reason : "untested: no scenario covers this statement",
			NULL);
		break;
	case REP_V_NA:
		snprintf(buf, sizeof buf, "not testable from outside the server%s%s", s->reason ? ": " : "",
			 s->reason ? s->reason : "");
		outcome(f, "skipped", "not-testable", buf, NULL);
		break;
	default:
		break;
	}
	fputs("    </testcase>\n", f);
}

static bool is_conform(const rep_run *r)
{
	return r->nstmts || (r->command && !strcmp(r->command, "conform"));
}

int rep_write_junit(FILE *f, const rep_run *r)
{
	size_t tests, failures = 0, errors = 0, skipped = 0;
	int64_t us = 0;
	for (size_t i = 0; i < r->ncases; i++)
		us += case_time(&r->cases[i]);
	if (is_conform(r)) {
		tests = r->nstmts;
		for (size_t i = 0; i < r->nstmts; i++) {
			int v = r->stmts[i].verdict;
			failures += v == REP_V_FAIL;
			skipped += v == REP_V_XFAIL || v == REP_V_OPTIONAL || v == REP_V_UNTESTED || v == REP_V_NA;
		}
	} else {
		tests = r->ncases;
		for (size_t i = 0; i < r->ncases; i++) {
			failures += r->cases[i].status == REP_FAIL;
			errors += r->cases[i].status == REP_ERROR;
			skipped += r->cases[i].status == REP_SKIP;
		}
	}
	char name[128];
	snprintf(name, sizeof name, "%s %s", r->tool ? r->tool : "mqttsim", r->command ? r->command : "run");

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", f);
	attr(f, "name", name);
	fprintf(f, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"", tests, failures, errors, skipped);
	attr_seconds(f, "time", us);
	fputs(">\n  <testsuite", f);
	attr(f, "name", name);
	fprintf(f, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"", tests, failures, errors, skipped);
	attr_seconds(f, "time", us);
	if (r->started)
		attr(f, "timestamp", r->started);
	fputs(">\n    <properties>\n", f);
	const char *in = "      ";
	prop(f, in, "tool", r->tool ? r->tool : "mqttsim");
	if (r->version)
		prop(f, in, "version", r->version);
	prop(f, in, "command", r->command ? r->command : "run");
	prop(f, in, "target", r->target ? r->target : "sim");
	if (r->spec_version)
		prop(f, in, "mqtt_version", r->spec_version);
	fputs("    </properties>\n", f);
	if (is_conform(r))
		for (size_t i = 0; i < r->nstmts; i++)
			write_stmt(f, r, &r->stmts[i]);
	else
		for (size_t i = 0; i < r->ncases; i++)
			write_case(f, &r->cases[i]);
	fputs("  </testsuite>\n</testsuites>\n", f);
	return ferror(f) ? -1 : 0;
}
