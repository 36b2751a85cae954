/*
 * html.c - the HTML report: one self-contained page (inline CSS and SVG; no scripts, no
 * fonts, images or styles fetched), readable offline and in a CI artifact viewer.
 *
 * The page is polyglot markup: HTML5 that is also well-formed XML (every element closed,
 * attributes quoted, only the five XML entities), so tests check it with an XML parser.
 * Sections: the header (command, target, counts); for conform the statement matrix by
 * section and the table of statements; the scenarios; then, for every failed scenario and
 * every case that carries a trace, its report and sequence diagram (diagram.c).
 */
#include "reports/report.h"
#include "reports/report_text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void esc(FILE *f, const char *s)
{
	uint32_t cp;
	size_t n;
	if (!s)
		return;
	while ((n = rep_utf8_next(s, &cp)) > 0) {
		s += n;
		rep_put_xml(f, cp);
	}
}

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}"
	"h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #ccc}"
	"h3{font-size:1.05em;margin:1.2em 0 .4em}"
	"table{border-collapse:collapse;margin:.4em 0}th,td{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}"
	"th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}"
	".meta td,.meta th{border:none;padding:0 1em 0 0}"
	"code,pre,.mono{font-family:ui-monospace,monospace;font-size:12px}"
	"pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:.5em;overflow:auto;max-height:30em;white-space:pre-wrap}"
	".b{display:inline-block;white-space:nowrap;padding:0 .45em;border-radius:3px;font-size:12px;font-weight:600;color:#fff}"
	".s-pass,.v-pass{background:#2e7d32}.s-fail,.v-fail{background:#c62828}.s-error{background:#6a1b9a}"
	".s-skip,.v-na{background:#9e9e9e}.v-xfail{background:#ef6c00}.v-xpass{background:#0277bd}"
	".v-optional{background:#f9a825}.v-untested{background:#c7c7c7;color:#333}"
	".cells a{display:inline-block;width:12px;height:12px;margin:1px;border-radius:2px}"
	".legend span{margin-right:1em}"
	".diagram{overflow:auto;border:1px solid #e3e3e3;margin:.4em 0}"
	".note{color:#555}"
	"svg.seq{font:11px ui-monospace,monospace;background:#fff}"
	"svg.seq text{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
	"svg.seq .life{stroke:#bbb;stroke-dasharray:4 3}"
	"svg.seq .host{fill:#eef3fb;stroke:#6b8cc7}svg.seq .hostname{text-anchor:middle;font-weight:700;fill:#234}"
	"svg.seq .time{text-anchor:end;fill:#777}"
	"svg.seq .pkt line{stroke:#37474f;stroke-width:1.3}svg.seq .pkt text,svg.seq .connect text{text-anchor:middle}"
	"svg.seq .pub line{stroke:#2e7d32}svg.seq .pub text{fill:#1b5e20}"
	"svg.seq .con line{stroke:#1565c0}svg.seq .con text{fill:#0d47a1}"
	"svg.seq .sub line{stroke:#00838f}svg.seq .sub text{fill:#006064}"
	"svg.seq .ping line{stroke:#9e9e9e}svg.seq .ping text{fill:#757575}"
	"svg.seq .ack line{stroke:#6a1b9a}svg.seq .ack text{fill:#4a148c}"
	"svg.seq .bad line{stroke:#c62828;stroke-width:1.6}svg.seq .bad text{fill:#c62828;text-anchor:middle;font-weight:700}"
	"svg.seq .connect line{stroke:#888;stroke-dasharray:2 3}svg.seq .connect text{fill:#888}"
	"svg.seq .lost line{stroke:#c62828;stroke-dasharray:3 2}svg.seq .lost path{stroke:#c62828;stroke-width:2}"
	"svg.seq .lost text{fill:#c62828}"
	"svg.seq .fault path{fill:#e65100}svg.seq .fault text{fill:#bf360c;font-weight:700}"
	"svg.seq .end rect{fill:#777}svg.seq .end text{fill:#555}"
	"svg.seq .step rect{fill:#f9a825}svg.seq .step text{fill:#8d6e00}"
	"svg.seq .unsent path{stroke:#c62828;stroke-width:2.5}svg.seq .unsent text{fill:#c62828;font-weight:700}"
	"svg.seq .band{fill:#ffcdd2;fill-opacity:.45}svg.seq .crashband{fill:#ef9a9a;fill-opacity:.6}";

static const char *verdict_label(int v)
{
	switch (v) {
	case REP_V_PASS: return "pass";
	case REP_V_FAIL: return "fail";
	case REP_V_XFAIL: return "expected failure";
	case REP_V_XPASS: return "passed, listed as failing";
	case REP_V_OPTIONAL: return "optional, not supported";
	case REP_V_UNTESTED: return "untested";
	case REP_V_NA: return "not testable";
	default: return "?";
	}
}

static void badge_status(FILE *f, int st)
{
	fprintf(f, "<span class=\"b s-%s\">%s</span>", rep_status_name(st), rep_status_name(st));
}

static void badge_verdict(FILE *f, int v)
{
	fprintf(f, "<span class=\"b v-%s\">%s</span>", rep_verdict_name(v), verdict_label(v));
}

static void seconds(FILE *f, const rep_case *c)
{
	if (c->time_us < 0) {
		fputs("&#8212;", f);
		return;
	}
	rep_put_seconds(f, c->time_us, 3);
	fputs(c->virtual_time ? " s virtual" : " s wall", f);
}

static void matrix(FILE *f, const rep_run *r)
{
	static const int order[] = { REP_V_PASS, REP_V_FAIL, REP_V_XFAIL, REP_V_XPASS, REP_V_OPTIONAL, REP_V_UNTESTED,
				     REP_V_NA };
	enum { NV = sizeof order / sizeof order[0] };
	size_t tot[NV] = { 0 };
	fputs("<h2 id=\"matrix\">Statements by section</h2>\n<p class=\"legend\">", f);
	for (size_t k = 0; k < NV; k++) {
		fputs("<span>", f);
		badge_verdict(f, order[k]);
		fputs("</span>", f);
	}
	fputs("</p>\n<table class=\"matrix\"><thead><tr><th>section</th><th>pass</th><th>fail</th><th>expected fail</th>"
	      "<th>xpass</th><th>optional</th><th>untested</th><th>not testable</th><th>total</th><th>statements</th></tr></thead><tbody>\n",
	      f);
	for (size_t i = 0; i < r->nstmts;) {
		char sec[32], s2[32];
		rep_top_section(r->stmts[i].section, sec, sizeof sec);
		size_t j = i, cnt[NV] = { 0 };
		for (; j < r->nstmts; j++) {
			rep_top_section(r->stmts[j].section, s2, sizeof s2);
			if (strcmp(sec, s2))
				break;
			for (size_t k = 0; k < NV; k++)
				if (r->stmts[j].verdict == order[k])
					cnt[k]++, tot[k]++;
		}
		fputs("<tr><th>&#167;", f);
		esc(f, sec);
		fputs("</th>", f);
		for (size_t k = 0; k < NV; k++)
			fprintf(f, cnt[k] ? "<td class=\"n\">%zu</td>" : "<td class=\"n\"></td>", cnt[k]);
		fprintf(f, "<td class=\"n\">%zu</td><td class=\"cells\">", j - i);
		for (size_t k = i; k < j; k++) {
			fprintf(f, "<a class=\"v-%s\" href=\"#st-%zu\" title=\"", rep_verdict_name(r->stmts[k].verdict), k);
			esc(f, r->stmts[k].id);
			fprintf(f, ": %s\"></a>", verdict_label(r->stmts[k].verdict));
		}
		fputs("</td></tr>\n", f);
		i = j;
	}
	fputs("</tbody><tfoot><tr><th>all</th>", f);
	for (size_t k = 0; k < NV; k++)
		fprintf(f, "<td class=\"n\">%zu</td>", tot[k]);
	fprintf(f, "<td class=\"n\">%zu</td><td></td></tr></tfoot></table>\n", r->nstmts);
}

static void statements(FILE *f, const rep_run *r, const bool *drawn)
{
	fputs("<h2 id=\"statements\">Statements</h2>\n<table><thead><tr><th>statement</th><th>verdict</th><th>level</th>"
	      "<th>summary</th><th>scenarios</th><th>note</th></tr></thead><tbody>\n",
	      f);
	for (size_t i = 0; i < r->nstmts; i++) {
		const rep_stmt *s = &r->stmts[i];
		fprintf(f, "<tr id=\"st-%zu\"><td class=\"mono\">", i);
		esc(f, s->id);
		if (s->alias) {
			fputs(" <span class=\"note\">(", f);
			esc(f, s->alias);
			fputs(")</span>", f);
		}
		fputs("</td><td>", f);
		badge_verdict(f, s->verdict);
		fprintf(f, "</td><td>%s</td><td>", s->optional ? "optional" : "mandatory");
		esc(f, s->summary);
		fputs("</td><td>", f);
		for (size_t k = 0; k < s->ncases; k++) {
			size_t c = s->cases[k];
			if (c >= r->ncases)
				continue;
			if (k)
				fputs(", ", f);
			fprintf(f, "<a href=\"#%s-%zu\">", drawn[c] ? "dg" : "sc", c);
			esc(f, r->cases[c].name);
			fputs("</a>", f);
		}
		fputs("</td><td>", f);
		esc(f, s->reason);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static void scenarios(FILE *f, const rep_run *r, const bool *drawn)
{
	fputs("<h2 id=\"scenarios\">Scenarios</h2>\n<table><thead><tr><th>#</th><th>scenario</th><th>result</th><th>file</th>"
	      "<th>seed</th><th>time</th><th>events</th><th>trace hash</th><th>message</th></tr></thead><tbody>\n",
	      f);
	for (size_t i = 0; i < r->ncases; i++) {
		const rep_case *c = &r->cases[i];
		fprintf(f, "<tr id=\"sc-%zu\"><td class=\"n\">%zu</td><td>", i, i + 1);
		if (drawn[i])
			fprintf(f, "<a href=\"#dg-%zu\">", i);
		esc(f, c->name);
		fputs(drawn[i] ? "</a></td><td>" : "</td><td>", f);
		badge_status(f, c->status);
		fputs("</td><td class=\"mono\">", f);
		esc(f, c->file);
		fputs("</td><td class=\"n\">", f);
		if (c->has_seed)
			fprintf(f, "%" PRIu64, c->seed);
		fputs("</td><td class=\"n\">", f);
		seconds(f, c);
		fputs("</td><td class=\"n\">", f);
		if (c->events)
			fprintf(f, "%" PRIu64, c->events);
		fputs("</td><td class=\"mono\">", f);
		if (c->trace_hash)
			fprintf(f, "%016" PRIx64, c->trace_hash);
		fputs("</td><td>", f);
		esc(f, c->message);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static void one_case(FILE *f, const rep_run *r, size_t i)
{
	const rep_case *c = &r->cases[i];
	fprintf(f, "<section id=\"dg-%zu\">\n<h3>", i);
	badge_status(f, c->status);
	fputc(' ', f);
	esc(f, c->name);
	fputs(" <span class=\"note mono\">", f);
	esc(f, c->file);
	if (c->has_seed)
		fprintf(f, " seed %" PRIu64, c->seed);
	fputs("</span></h3>\n", f);
	/* Which statements it checks (conform). */
	bool any = false;
	for (size_t k = 0; k < r->nstmts; k++)
		for (size_t j = 0; j < r->stmts[k].ncases; j++)
			if (r->stmts[k].cases[j] == i) {
				fputs(any ? ", " : "<p>Checks ", f);
				fprintf(f, "<a href=\"#st-%zu\">", k);
				esc(f, r->stmts[k].id);
				fputs("</a>", f);
				any = true;
			}
	if (any)
		fputs("</p>\n", f);
	if (c->details && *c->details) {
		fputs("<pre>", f);
		esc(f, c->details);
		fputs("</pre>\n", f);
	}
	if (c->trace) {
		rep_diagram_info info;
		fputs("<div class=\"diagram\">\n", f);
		rep_write_diagram(f, c->trace, c->trace_len, c->name, 0, &info);
		fputs("</div>\n", f);
		fprintf(f, "<p class=\"note\">%zu MQTT packets", info.packets);
		if (info.lost)
			fprintf(f, ", %zu lost segments", info.lost);
		if (info.faults)
			fprintf(f, ", %zu faults", info.faults);
		if (info.undelivered)
			fprintf(f, ", %" PRIu64 " bytes never delivered", info.undelivered);
		fputs(". Arrows run from where a packet's bytes were sent to where it was decoded; rows follow the "
		      "trace in order, with the virtual time at the left where it changes.",
		      f);
		if (info.more_hosts)
			fputs(" There are more hosts than lifelines: the last lifeline stands for the rest.", f);
		if (info.truncated) {
			fprintf(f, " <strong>Only the first %zu rows are drawn (%zu of %zu packets).</strong> The whole trace: ",
				info.rows, info.drawn, info.packets);
			fputs("<code>mqttsim run ", f);
			esc(f, c->file);
			if (c->has_seed)
				fprintf(f, " --seed %" PRIu64, c->seed);
			fputs(" --out DIR</code>, then <code>mqttsim timeline DIR/", f);
			esc(f, c->name);
			fputs(".trace</code>.", f);
		}
		fputs("</p>\n", f);
	}
	fputs("</section>\n", f);
}

int rep_write_html(FILE *f, const rep_run *r)
{
	const char *cmd = r->command ? r->command : "run";
	size_t st[4] = { 0 }, nd = 0;
	bool *drawn = calloc(r->ncases ? r->ncases : 1, sizeof *drawn);
	if (!drawn)
		return -1;
	for (size_t i = 0; i < r->ncases; i++) {
		if (r->cases[i].status >= 0 && r->cases[i].status < 4)
			st[r->cases[i].status]++;
		drawn[i] = r->cases[i].trace || r->cases[i].status == REP_FAIL || r->cases[i].status == REP_ERROR;
		nd += drawn[i];
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>",
	      f);
	fprintf(f, "mqttsim %s: ", cmd);
	esc(f, r->target ? r->target : "sim");
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>mqttsim %s</h1>\n<table class=\"meta\">", css, cmd);
	fputs("<tr><th>target</th><td class=\"mono\">", f);
	esc(f, r->target ? r->target : "sim");
	fputs("</td></tr>", f);
	if (r->spec_version) {
		fputs("<tr><th>MQTT</th><td>", f);
		esc(f, r->spec_version);
		fputs("</td></tr>", f);
	}
	fputs("<tr><th>tool</th><td>", f);
	esc(f, r->tool ? r->tool : "mqttsim");
	fputc(' ', f);
	esc(f, r->version);
	fputs("</td></tr>", f);
	if (r->started) {
		fputs("<tr><th>started</th><td>", f);
		esc(f, r->started);
		fputs("</td></tr>", f);
	}
	fprintf(f, "<tr><th>scenarios</th><td>%zu: %zu pass, %zu fail, %zu skip, %zu error</td></tr>", r->ncases,
		st[REP_PASS], st[REP_FAIL], st[REP_SKIP], st[REP_ERROR]);
	if (r->nstmts) {
		size_t v[7] = { 0 };
		for (size_t i = 0; i < r->nstmts; i++)
			if (r->stmts[i].verdict >= 0 && r->stmts[i].verdict < 7)
				v[r->stmts[i].verdict]++;
		fprintf(f,
			"<tr><th>statements</th><td>%zu: %zu pass, %zu fail, %zu expected fail, %zu xpass, %zu optional "
			"not supported, %zu untested, %zu not testable</td></tr>",
			r->nstmts, v[REP_V_PASS], v[REP_V_FAIL], v[REP_V_XFAIL], v[REP_V_XPASS], v[REP_V_OPTIONAL],
			v[REP_V_UNTESTED], v[REP_V_NA]);
	}
	fputs("</table>\n", f);
	if (r->nstmts) {
		matrix(f, r);
		statements(f, r, drawn);
	}
	scenarios(f, r, drawn);
	fputs("<h2 id=\"diagrams\">Failures and sequence diagrams</h2>\n", f);
	if (!nd)
		fputs("<p class=\"note\">Nothing failed, and no sequence diagram was asked for "
		      "(<code>--html-diagrams all</code> draws every scenario).</p>\n",
		      f);
	for (size_t i = 0; i < r->ncases; i++)
		if (drawn[i])
			one_case(f, r, i);
	fputs("</body>\n</html>\n", f);
	free(drawn);
	return ferror(f) ? -1 : 0;
}
