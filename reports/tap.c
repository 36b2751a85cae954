/*
 * tap.c - the TAP report: version 13 by default (Test::Harness before 3.48, e.g. Debian
 * bookworm's prove, calls a version 14 line a parse error), 14 when asked; the body is the
 * same, as nothing here needs 14.
 *
 * `run`: one test point per scenario; `conform`: one per statement. Failures carry a YAML
 * diagnostic block ("  ---" ... "  ...") in the subset of YAML that TAP::Parser (prove)
 * reads: flat keys, double-quoted one-line strings, and a `|` block for the report when
 * the report survives one unchanged (otherwise a quoted string). Directives:
 *   skipped scenario, untested or not-testable statement   ok N - X # SKIP reason
 *   expected failure, optional statement not supported      not ok N - X # TODO reason
 *   expected failure that passed                            ok N - X # TODO reason
 */
#include "reports/report.h"
#include "reports/report_text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Code points YAML cannot carry raw (outside c-printable), or that we keep out of it. */
static bool yaml_unprintable(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t' && cp != '\n') || cp == '\r' || (cp >= 0x7F && cp <= 0x9F) ||
	       cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF;
}

/* A test point's description or directive reason: one line, '#' and '\' escaped as TAP 14
 * says, line breaks as spaces, controls and bytes that are not UTF-8 as U+FFFD. */
static void tap_text(FILE *f, const char *s)
{
	uint32_t cp;
	size_t n;
	while (s && (n = rep_utf8_next(s, &cp)) > 0) {
		s += n;
		if (cp == '#' || cp == '\\') {
			fputc('\\', f);
			fputc((int)cp, f);
		} else if (cp == '\n' || cp == '\r' || cp == '\t') {
			fputc(' ', f);
		} else {
			rep_put_utf8(f, yaml_unprintable(cp) ? REP_REPLACEMENT : cp);
		}
	}
}

/* Beyond the shared backslash escapes: what YAML cannot carry raw, as \xXX below U+0100
 * and as U+FFFD above. */
static void yaml_other(FILE *f, uint32_t cp)
{
	if (cp < 0x100 && yaml_unprintable(cp))
		fprintf(f, "\\x%02x", (unsigned)cp);
	else
		rep_put_utf8(f, yaml_unprintable(cp) ? REP_REPLACEMENT : cp);
}

/* A YAML double-quoted scalar on one line (escapes TAP::Parser::YAMLish understands). */
static void yaml_qq(FILE *f, const char *s)
{
	rep_put_backslashed(f, s, yaml_other);
}

/* Can s be a `|` block scalar that YAML and TAP::Parser::YAMLish both read back exactly?
 * One trailing newline (clip chomping), a first line that does not start with a blank (the
 * indentation would be ambiguous), no tab in any line's leading blanks (YAMLish counts it
 * as indentation), every character printable, all of it valid UTF-8. */
static bool yaml_block_ok(const char *s)
{
	size_t len = strlen(s);
	if (len < 2 || s[len - 1] != '\n' || s[len - 2] == '\n' || s[0] == ' ' || s[0] == '\t')
		return false;
	bool leading = true; /* still in the line's leading blanks */
	uint32_t cp;
	size_t n;
	while ((n = rep_utf8_next(s, &cp)) > 0) {
		if (cp == REP_REPLACEMENT && n == 1)
			return false; /* not UTF-8 */
		if (leading && cp == '\t')
			return false;
		if (yaml_unprintable(cp))
			return false;
		leading = cp == '\n' || (leading && cp == ' ');
		s += n;
	}
	return true;
}

static void yaml_key_str(FILE *f, const char *k, const char *v)
{
	if (!v)
		return;
	fprintf(f, "  %s: ", k);
	if (strchr(v, '\n') && yaml_block_ok(v)) {
		fputs("|\n    ", f);
		for (const char *p = v; *p; p++) {
			fputc(*p, f);
			if (*p == '\n' && p[1])
				fputs("    ", f);
		}
	} else {
		yaml_qq(f, v);
		fputc('\n', f);
	}
}

static void test_point(FILE *f, bool ok, size_t no, const char *name, const char *directive, const char *reason)
{
	fprintf(f, "%sok %zu - ", ok ? "" : "not ", no);
	tap_text(f, name);
	if (directive) {
		fprintf(f, " # %s", directive);
		if (reason && *reason) {
			fputc(' ', f);
			tap_text(f, reason);
		}
	}
	fputc('\n', f);
}

static void write_case(FILE *f, size_t no, const rep_case *c)
{
	switch (c->status) {
	case REP_PASS:
		test_point(f, true, no, c->name, NULL, NULL);
		return;
	case REP_SKIP:
		test_point(f, true, no, c->name, "SKIP", c->message ? c->message : "not for this target");
		return;
	default:
		break;
	}
	test_point(f, false, no, c->name, NULL, NULL);
	fputs("  ---\n", f);
	yaml_key_str(f, "message", c->message ? c->message : c->status == REP_ERROR ? "could not run" : "failed");
	yaml_key_str(f, "severity", c->status == REP_ERROR ? "error" : "fail");
	yaml_key_str(f, "file", c->file);
	if (c->has_seed)
		fprintf(f, "  seed: %" PRIu64 "\n", c->seed);
	if (c->trace_hash)
		fprintf(f, "  trace: \"%016" PRIx64 "\"\n", c->trace_hash);
	if (c->time_us >= 0) {
		fputs("  time_s: ", f);
		rep_put_seconds(f, c->time_us, 3);
		fprintf(f, "\n  clock: %s\n", c->virtual_time ? "virtual" : "wall");
	}
	yaml_key_str(f, "details", c->details);
	fputs("  ...\n", f);
}

static void write_stmt(FILE *f, size_t no, const rep_run *r, const rep_stmt *s)
{
	const char *directive = NULL, *reason = s->reason;
	char buf[1024];
	bool ok = true;
	switch (s->verdict) {
	case REP_V_PASS:
		break;
	case REP_V_FAIL:
		ok = false;
		break;
	case REP_V_XFAIL:
	case REP_V_XPASS:
		ok = s->verdict == REP_V_XPASS;
		directive = "TODO";
		snprintf(buf, sizeof buf, "expected failure: %s", s->reason ? s->reason : "listed as a known deviation");
		reason = buf;
		break;
	case REP_V_OPTIONAL:
		ok = false;
		directive = "TODO";
		reason = "optional statement, not supported by this broker";
		break;
	case REP_V_UNTESTED:
		directive = "SKIP";
		reason = s->reason ? s->reason : "untested: no scenario covers this statement";
		break;
	case REP_V_NA:
		directive = "SKIP";
		snprintf(buf, sizeof buf, "not testable from outside the server%s%s", s->reason ? ": " : "",
			 s->reason ? s->reason : "");
		reason = buf;
		break;
	default:
		ok = false;
	}
	test_point(f, ok, no, s->id, directive, reason);
	if (ok)
		return;
	/* A failed statement: what it says, the scenarios, and each failing one's report. */
	const rep_case *first = NULL;
	size_t nfail = 0;
	for (size_t k = 0; k < s->ncases; k++) {
		const rep_case *c = &r->cases[s->cases[k]];
		if (c->status == REP_FAIL || c->status == REP_ERROR) {
			first = first ? first : c;
			nfail++;
		}
	}
	fputs("  ---\n", f);
	yaml_key_str(f, "message", first && first->message ? first->message : "a scenario covering it failed");
	yaml_key_str(f, "severity", rep_verdict_name(s->verdict));
	yaml_key_str(f, "summary", s->summary);
	yaml_key_str(f, "section", s->section);
	if (first) {
		yaml_key_str(f, "scenario", first->name);
		yaml_key_str(f, "file", first->file);
		if (first->has_seed)
			fprintf(f, "  seed: %" PRIu64 "\n", first->seed);
		if (first->trace_hash)
			fprintf(f, "  trace: \"%016" PRIx64 "\"\n", first->trace_hash);
	}
	if (nfail > 1) {
		/* More than one failing scenario: their reports one after another. */
		size_t len = 1;
		for (size_t k = 0; k < s->ncases; k++) {
			const rep_case *c = &r->cases[s->cases[k]];
			if ((c->status == REP_FAIL || c->status == REP_ERROR) && c->details)
				len += strlen(c->details);
		}
		char *all = malloc(len);
		if (all) {
			all[0] = 0;
			for (size_t k = 0; k < s->ncases; k++) {
				const rep_case *c = &r->cases[s->cases[k]];
				if ((c->status == REP_FAIL || c->status == REP_ERROR) && c->details)
					strcat(all, c->details);
			}
			yaml_key_str(f, "details", all);
			free(all);
		}
	} else if (first) {
		yaml_key_str(f, "details", first->details);
	}
	fputs("  ...\n", f);
}

int rep_write_tap(FILE *f, const rep_run *r)
{
	bool conform = r->nstmts || (r->command && !strcmp(r->command, "conform"));
	size_t n = conform ? r->nstmts : r->ncases;
	fprintf(f, "TAP version %d\n", r->tap_version == 14 ? 14 : 13);
	fprintf(f, "# %s %s %s, target ", r->tool ? r->tool : "mqttsim", r->version ? r->version : "",
		r->command ? r->command : "run");
	tap_text(f, r->target ? r->target : "sim");
	if (r->spec_version) {
		fputs(", MQTT ", f);
		tap_text(f, r->spec_version);
	}
	if (r->started) {
		fputs(", started ", f);
		tap_text(f, r->started);
	}
	fputc('\n', f);
	if (n == 0) {
		fputs("1..0 # SKIP nothing was run\n", f);
		return ferror(f) ? -1 : 0;
	}
	fprintf(f, "1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		if (conform)
			write_stmt(f, i + 1, r, &r->stmts[i]);
		else
			write_case(f, i + 1, &r->cases[i]);
	}
	return ferror(f) ? -1 : 0;
}
