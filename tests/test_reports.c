/*
 * test_reports.c - the report writers (reports/): exact output of each writer for a small
 * run and a small conformance result, escaping (XML specials, control characters, bytes that
 * are not UTF-8, JSON and TAP/YAML escapes), the --report list, and the harness glue
 * (harness/reporting.c): cases built from run results agree with the run,
 * statements find their scenarios by id or alias, files land in the report directory.
 */
#define _POSIX_C_SOURCE 200809L
#include "tests.h"

#include "harness/cli.h"
#include "harness/reporting.h"
#include "harness/run.h"
#include "harness/scenario.h"
#include "reports/report.h"
#include "reports/report_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The writer's output for r, as a malloc'd string. */
static char *render(int (*w)(FILE *, const rep_run *), const rep_run *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(w(f, r), 0);
	fclose(f);
	return buf;
}

/* The writer's output for one case, as a string (for the escaping tests). */
static char *render_case(int (*w)(FILE *, const rep_run *), const rep_case *c)
{
	rep_run r = { .tool = "mqttsim", .version = "1", .command = "run", .target = "sim", .cases = c, .ncases = 1 };
	return render(w, &r);
}

#define ck_contains(hay, needle) ck_assert_msg(strstr((hay), (needle)), "missing:\n%s\nin:\n%s", (needle), (hay))

/* A run: a pass, a failure with XML specials in the name, a skip, an error whose message
 * holds a control character and a byte that is not UTF-8. */
static const rep_case run_cases[] = {
	{ .name = "ok-one", .file = "s/a.yaml", .classname = "s", .status = REP_PASS, .seed = 1, .has_seed = true,
	  .time_us = 1500000, .virtual_time = true, .events = 17, .trace_hash = 0xbbb21efba6b944c0ull },
	{ .name = "bad<&>\"'", .file = "s/b.yaml", .classname = "s", .status = REP_FAIL, .seed = 18446744073709551615ull,
	  .has_seed = true, .time_us = 2000000, .virtual_time = true, .events = 5, .trace_hash = 1,
	  .message = "s/b.yaml:3:5: expected \"x\" & <y>",
	  .details = "FAIL  bad\ns/b.yaml:3:5: expected \"x\" & <y>\n  at 0.5s: PUBLISH\n\n    bytes: 30 02\n" },
	{ .name = "skip#me\\", .file = "s/c.yaml", .status = REP_SKIP, .seed = 2, .has_seed = true, .time_us = -1,
	  .virtual_time = true, .message = "not for this target" },
	{ .name = "err", .file = "s/d.yaml", .classname = "s", .status = REP_ERROR, .time_us = -1,
	  .message = "cannot resolve h: \x01\xff", .details = "ERROR err (s/d.yaml): cannot resolve h: \x01\xff\n" },
};
static const rep_run run = { .tool = "mqttsim", .version = "9.9", .command = "run", .target = "sim",
			     .started = "2024-01-02T03:04:05Z", .cases = run_cases, .ncases = 4 };

/* A conformance result with every verdict. */
static const rep_case cf_cases[] = {
	{ .name = "p1", .file = "c/p1.yaml", .classname = "c", .status = REP_PASS, .seed = 1, .has_seed = true,
	  .time_us = 1000000, .virtual_time = true, .events = 3, .trace_hash = 0xabc },
	{ .name = "f1", .file = "c/f1.yaml", .classname = "c", .status = REP_FAIL, .seed = 2, .has_seed = true,
	  .time_us = 250000, .virtual_time = true, .events = 4, .trace_hash = 0xdef, .message = "c/f1.yaml:9:5: m1",
	  .details = "FAIL  f1\nc/f1.yaml:9:5: m1\n  bytes: 20 02\n" },
};
static const size_t c0[] = { 0 }, c1[] = { 1 }, c01[] = { 0, 1 };
static const rep_stmt cf_stmts[] = {
	{ .id = "MQTT-1.5.3-1", .section = "1.5.3", .summary = "ok", .verdict = REP_V_PASS, .cases = c0, .ncases = 1 },
	{ .id = "MQTT-3.3.1-8", .section = "3.3.1", .summary = "retain 1", .verdict = REP_V_FAIL, .cases = c01,
	  .ncases = 2 },
	{ .id = "MQTT-3.3.1-9", .section = "3.3.1", .summary = "s", .verdict = REP_V_XFAIL, .reason = "known & <odd>",
	  .cases = c1, .ncases = 1 },
	{ .id = "MQTT-3.1.2-24", .section = "3.1.2", .summary = "s", .verdict = REP_V_XPASS, .reason = "flaky",
	  .cases = c0, .ncases = 1 },
	{ .id = "MQTT-3.3.5-1", .section = "3.3.5", .summary = "s", .optional = true, .verdict = REP_V_OPTIONAL,
	  .cases = c1, .ncases = 1 },
	{ .id = "MQTT-4.7.3-3", .section = "4.7.3", .summary = "s", .verdict = REP_V_UNTESTED },
	{ .id = "MQTT-3-8.3-4", .alias = "MQTT-3.8.3-4", .section = "3.8.3", .summary = "s", .verdict = REP_V_NA,
	  .reason = "client side" },
};
static const rep_run cf = { .tool = "mqttsim", .version = "9.9", .command = "conform", .target = "tcp://h:1883",
			    .spec_version = "3.1.1", .cases = cf_cases, .ncases = 2, .stmts = cf_stmts, .nstmts = 7 };

static const char run_junit[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<testsuites name=\"mqttsim run\" tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\" time=\"3.500\">\n"
	"  <testsuite name=\"mqttsim run\" tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\" time=\"3.500\" timestamp=\"2024-01-02T03:04:05Z\">\n"
	"    <properties>\n"
	"      <property name=\"tool\" value=\"mqttsim\"/>\n"
	"      <property name=\"version\" value=\"9.9\"/>\n"
	"      <property name=\"command\" value=\"run\"/>\n"
	"      <property name=\"target\" value=\"sim\"/>\n"
	"    </properties>\n"
	"    <testcase name=\"ok-one\" classname=\"s\" file=\"s/a.yaml\" time=\"1.500\">\n"
	"      <properties>\n"
	"        <property name=\"seed\" value=\"1\"/>\n"
	"        <property name=\"trace\" value=\"bbb21efba6b944c0\"/>\n"
	"        <property name=\"events\" value=\"17\"/>\n"
	"        <property name=\"clock\" value=\"virtual\"/>\n"
	"        <property name=\"status\" value=\"pass\"/>\n"
	"      </properties>\n"
	"    </testcase>\n"
	"    <testcase name=\"bad&lt;&amp;&gt;&quot;'\" classname=\"s\" file=\"s/b.yaml\" time=\"2.000\">\n"
	"      <properties>\n"
	"        <property name=\"seed\" value=\"18446744073709551615\"/>\n"
	"        <property name=\"trace\" value=\"0000000000000001\"/>\n"
	"        <property name=\"events\" value=\"5\"/>\n"
	"        <property name=\"clock\" value=\"virtual\"/>\n"
	"        <property name=\"status\" value=\"fail\"/>\n"
	"      </properties>\n"
	"      <failure message=\"s/b.yaml:3:5: expected &quot;x&quot; &amp; &lt;y&gt;\" type=\"fail\">FAIL  bad\n"
	"s/b.yaml:3:5: expected \"x\" &amp; &lt;y&gt;\n"
	"  at 0.5s: PUBLISH\n"
	"\n"
	"    bytes: 30 02\n"
	"</failure>\n"
	"    </testcase>\n"
	"    <testcase name=\"skip#me\\\" classname=\"mqttsim\" file=\"s/c.yaml\" time=\"0.000\">\n"
	"      <properties>\n"
	"        <property name=\"seed\" value=\"2\"/>\n"
	"        <property name=\"status\" value=\"skip\"/>\n"
	"      </properties>\n"
	"      <skipped message=\"not for this target\" type=\"skip\"/>\n"
	"    </testcase>\n"
	"    <testcase name=\"err\" classname=\"s\" file=\"s/d.yaml\" time=\"0.000\">\n"
	"      <properties>\n"
	"        <property name=\"status\" value=\"error\"/>\n"
	"      </properties>\n"
	"      <error message=\"cannot resolve h: \xef""\xbf""\xbd""\xef""\xbf""\xbd""\" type=\"error\">ERROR err (s/d.yaml): cannot resolve h: \xef""\xbf""\xbd""\xef""\xbf""\xbd""\n"
	"</error>\n"
	"    </testcase>\n"
	"  </testsuite>\n"
	"</testsuites>\n";

static const char run_json[] =
	"{\n"
	"  \"schema\": \"mqttsim-report\",\n"
	"  \"schema_version\": 1,\n"
	"  \"tool\": \"mqttsim\",\n"
	"  \"version\": \"9.9\",\n"
	"  \"command\": \"run\",\n"
	"  \"target\": \"sim\",\n"
	"  \"mqtt_version\": null,\n"
	"  \"started\": \"2024-01-02T03:04:05Z\",\n"
	"  \"summary\": {\n"
	"    \"scenarios\": {\"total\": 4, \"pass\": 1, \"fail\": 1, \"skip\": 1, \"error\": 1},\n"
	"    \"statements\": {\"total\": 0, \"pass\": 0, \"fail\": 0, \"xfail\": 0, \"xpass\": 0, \"optional\": 0, \"untested\": 0, \"na\": 0}\n"
	"  },\n"
	"  \"scenarios\": [\n"
	"    {\n"
	"      \"name\": \"ok-one\",\n"
	"      \"file\": \"s/a.yaml\",\n"
	"      \"status\": \"pass\",\n"
	"      \"seed\": 1,\n"
	"      \"time_s\": 1.500000,\n"
	"      \"clock\": \"virtual\",\n"
	"      \"events\": 17,\n"
	"      \"trace_hash\": \"bbb21efba6b944c0\",\n"
	"      \"message\": null,\n"
	"      \"details\": null\n"
	"    },\n"
	"    {\n"
	"      \"name\": \"bad<&>\\\"'\",\n"
	"      \"file\": \"s/b.yaml\",\n"
	"      \"status\": \"fail\",\n"
	"      \"seed\": 18446744073709551615,\n"
	"      \"time_s\": 2.000000,\n"
	"      \"clock\": \"virtual\",\n"
	"      \"events\": 5,\n"
	"      \"trace_hash\": \"0000000000000001\",\n"
	"      \"message\": \"s/b.yaml:3:5: expected \\\"x\\\" & <y>\",\n"
	"      \"details\": \"FAIL  bad\\ns/b.yaml:3:5: expected \\\"x\\\" & <y>\\n  at 0.5s: PUBLISH\\n\\n    bytes: 30 02\\n\"\n"
	"    },\n"
	"    {\n"
	"      \"name\": \"skip#me\\\\\",\n"
	"      \"file\": \"s/c.yaml\",\n"
	"      \"status\": \"skip\",\n"
	"      \"seed\": 2,\n"
	"      \"time_s\": null,\n"
	"      \"clock\": \"virtual\",\n"
	"      \"events\": 0,\n"
	"      \"trace_hash\": null,\n"
	"      \"message\": \"not for this target\",\n"
	"      \"details\": null\n"
	"    },\n"
	"    {\n"
	"      \"name\": \"err\",\n"
	"      \"file\": \"s/d.yaml\",\n"
	"      \"status\": \"error\",\n"
	"      \"seed\": null,\n"
	"      \"time_s\": null,\n"
	"      \"clock\": \"wall\",\n"
	"      \"events\": 0,\n"
	"      \"trace_hash\": null,\n"
	"      \"message\": \"cannot resolve h: \\u0001\xef""\xbf""\xbd""\",\n"
	"      \"details\": \"ERROR err (s/d.yaml): cannot resolve h: \\u0001\xef""\xbf""\xbd""\\n\"\n"
	"    }\n"
	"  ],\n"
	"  \"statements\": []\n"
	"}\n";

static const char run_tap[] =
	"TAP version 13\n"
	"# mqttsim 9.9 run, target sim, started 2024-01-02T03:04:05Z\n"
	"1..4\n"
	"ok 1 - ok-one\n"
	"not ok 2 - bad<&>\"'\n"
	"  ---\n"
	"  message: \"s/b.yaml:3:5: expected \\\"x\\\" & <y>\"\n"
	"  severity: \"fail\"\n"
	"  file: \"s/b.yaml\"\n"
	"  seed: 18446744073709551615\n"
	"  trace: \"0000000000000001\"\n"
	"  time_s: 2.000\n"
	"  clock: virtual\n"
	"  details: |\n"
	"    FAIL  bad\n"
	"    s/b.yaml:3:5: expected \"x\" & <y>\n"
	"      at 0.5s: PUBLISH\n"
	"    \n"
	"        bytes: 30 02\n"
	"  ...\n"
	"ok 3 - skip\\#me\\\\ # SKIP not for this target\n"
	"not ok 4 - err\n"
	"  ---\n"
	"  message: \"cannot resolve h: \\x01\xef""\xbf""\xbd""\"\n"
	"  severity: \"error\"\n"
	"  file: \"s/d.yaml\"\n"
	"  details: \"ERROR err (s/d.yaml): cannot resolve h: \\x01\xef""\xbf""\xbd""\\n\"\n"
	"  ...\n";

static const char cf_tap[] =
	"TAP version 13\n"
	"# mqttsim 9.9 conform, target tcp://h:1883, MQTT 3.1.1\n"
	"1..7\n"
	"ok 1 - MQTT-1.5.3-1\n"
	"not ok 2 - MQTT-3.3.1-8\n"
	"  ---\n"
	"  message: \"c/f1.yaml:9:5: m1\"\n"
	"  severity: \"fail\"\n"
	"  summary: \"retain 1\"\n"
	"  section: \"3.3.1\"\n"
	"  scenario: \"f1\"\n"
	"  file: \"c/f1.yaml\"\n"
	"  seed: 2\n"
	"  trace: \"0000000000000def\"\n"
	"  details: |\n"
	"    FAIL  f1\n"
	"    c/f1.yaml:9:5: m1\n"
	"      bytes: 20 02\n"
	"  ...\n"
	"not ok 3 - MQTT-3.3.1-9 # TODO expected failure: known & <odd>\n"
	"  ---\n"
	"  message: \"c/f1.yaml:9:5: m1\"\n"
	"  severity: \"xfail\"\n"
	"  summary: \"s\"\n"
	"  section: \"3.3.1\"\n"
	"  scenario: \"f1\"\n"
	"  file: \"c/f1.yaml\"\n"
	"  seed: 2\n"
	"  trace: \"0000000000000def\"\n"
	"  details: |\n"
	"    FAIL  f1\n"
	"    c/f1.yaml:9:5: m1\n"
	"      bytes: 20 02\n"
	"  ...\n"
	"ok 4 - MQTT-3.1.2-24 # TODO expected failure: flaky\n"
	"not ok 5 - MQTT-3.3.5-1 # TODO optional statement, not supported by this broker\n"
	"  ---\n"
	"  message: \"c/f1.yaml:9:5: m1\"\n"
	"  severity: \"optional\"\n"
	"  summary: \"s\"\n"
	"  section: \"3.3.5\"\n"
	"  scenario: \"f1\"\n"
	"  file: \"c/f1.yaml\"\n"
	"  seed: 2\n"
	"  trace: \"0000000000000def\"\n"
	"  details: |\n"
	"    FAIL  f1\n"
	"    c/f1.yaml:9:5: m1\n"
	"      bytes: 20 02\n"
	"  ...\n"
	"ok 6 - MQTT-4.7.3-3 # SKIP untested: no scenario covers this statement\n"
	"ok 7 - MQTT-3-8.3-4 # SKIP not testable from outside the server: client side\n";

START_TEST(test_junit_run_exact)
{
	char *s = render(rep_write_junit, &run);
	ck_assert_str_eq(s, run_junit);
	free(s);
}
END_TEST

START_TEST(test_json_run_exact)
{
	char *s = render(rep_write_json, &run);
	ck_assert_str_eq(s, run_json);
	free(s);
}
END_TEST

START_TEST(test_tap_run_exact)
{
	char *s = render(rep_write_tap, &run);
	ck_assert_str_eq(s, run_tap);
	free(s);
	/* --tap-version 14: only the version line differs */
	rep_run r14 = run;
	r14.tap_version = 14;
	s = render(rep_write_tap, &r14);
	ck_assert(!strncmp(s, "TAP version 14\n", 15));
	ck_assert_str_eq(s + 15, run_tap + 15);
	free(s);
}
END_TEST

START_TEST(test_tap_conform_exact)
{
	char *s = render(rep_write_tap, &cf);
	ck_assert_str_eq(s, cf_tap);
	free(s);
}
END_TEST

/* Conform JUnit: one testcase per statement; verdicts map as reports/README.md says. */
START_TEST(test_junit_conform)
{
	char *s = render(rep_write_junit, &cf);
	ck_contains(s, "<testsuite name=\"mqttsim conform\" tests=\"7\" failures=\"1\" errors=\"0\" skipped=\"4\" time=\"1.250\">");
	ck_contains(s, "<property name=\"mqtt_version\" value=\"3.1.1\"/>");
	ck_contains(s, "<testcase name=\"MQTT-3.3.1-8\" classname=\"conform.section_3_3\" time=\"1.250\">");
	/* two scenarios with different seeds: both, in order */
	ck_contains(s, "<property name=\"scenario\" value=\"p1\"/>\n        <property name=\"scenario\" value=\"f1\"/>\n"
		       "        <property name=\"seeds\" value=\"1 2\"/>");
	ck_contains(s, "<failure message=\"c/f1.yaml:9:5: m1\" type=\"fail\">MQTT-3.3.1-8: retain 1\n\nFAIL  f1\n"
		       "c/f1.yaml:9:5: m1\n  bytes: 20 02\n</failure>");
	ck_contains(s, "<skipped message=\"expected failure: known &amp; &lt;odd&gt;\" type=\"xfail\"/>\n"
		       "      <system-out>FAIL  f1\n");
	ck_contains(s, "<system-out>passed, though the expected failures list it: flaky</system-out>");
	ck_contains(s, "<skipped message=\"optional statement, not supported by this broker\" type=\"optional\"/>");
	ck_contains(s, "<skipped message=\"untested: no scenario covers this statement\" type=\"untested\"/>");
	ck_contains(s, "<property name=\"alias\" value=\"MQTT-3.8.3-4\"/>");
	ck_contains(s, "<skipped message=\"not testable from outside the server: client side\" type=\"not-testable\"/>");
	/* the pass has no outcome element */
	const char *p = strstr(s, "<testcase name=\"MQTT-1.5.3-1\"");
	ck_assert_ptr_nonnull(p);
	const char *end = strstr(p, "</testcase>"), *next = strstr(p + 1, "<testcase ");
	ck_assert_ptr_nonnull(end);
	ck_assert(next && end < next);
	const char *fail = strstr(p, "<failure"), *skip = strstr(p, "<skipped"), *out = strstr(p, "<system-out");
	ck_assert(!fail || fail > end);
	ck_assert(!skip || skip > end);
	ck_assert(!out || out > end);
	free(s);
}
END_TEST

START_TEST(test_json_conform)
{
	char *s = render(rep_write_json, &cf);
	ck_contains(s, "\"command\": \"conform\",\n  \"target\": \"tcp://h:1883\",\n  \"mqtt_version\": \"3.1.1\",\n"
		       "  \"started\": null,\n");
	ck_contains(s, "\"statements\": {\"total\": 7, \"pass\": 1, \"fail\": 1, \"xfail\": 1, \"xpass\": 1, \"optional\": 1, "
		       "\"untested\": 1, \"na\": 1}");
	ck_contains(s, "    {\n      \"id\": \"MQTT-3.3.1-8\",\n      \"alias\": null,\n      \"section\": \"3.3.1\",\n"
		       "      \"level\": \"mandatory\",\n      \"summary\": \"retain 1\",\n      \"verdict\": \"fail\",\n"
		       "      \"reason\": null,\n      \"scenarios\": [\"p1\", \"f1\"]\n    },\n");
	ck_contains(s, "      \"id\": \"MQTT-3-8.3-4\",\n      \"alias\": \"MQTT-3.8.3-4\",\n");
	ck_contains(s, "      \"verdict\": \"na\",\n      \"reason\": \"client side\",\n      \"scenarios\": []\n    }\n  ]\n}\n");
	ck_contains(s, "      \"level\": \"optional\",\n");
	free(s);
}
END_TEST

/* Nothing run: still well-formed. */
START_TEST(test_empty)
{
	rep_run r = { .command = "conform" };
	char *s = render(rep_write_tap, &r);
	ck_contains(s, "1..0 # SKIP nothing was run\n");
	free(s);
	s = render(rep_write_json, &r);
	ck_contains(s, "\"scenarios\": [],\n  \"statements\": []\n}\n");
	free(s);
	s = render(rep_write_junit, &r);
	ck_contains(s, "tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0.000\">\n    <properties>");
	free(s);
}
END_TEST

static void check_utf8(const char *in, const uint32_t *want, size_t n)
{
	const char *p = in;
	uint32_t cp;
	size_t k = 0, m;
	while ((m = rep_utf8_next(p, &cp)) > 0) {
		ck_assert_msg(k < n, "%s: too many code points", in);
		ck_assert_msg(cp == want[k], "code point %zu: U+%04X, wanted U+%04X", k, (unsigned)cp, (unsigned)want[k]);
		p += m;
		k++;
	}
	ck_assert_uint_eq(k, n);
}

START_TEST(test_utf8)
{
	const uint32_t F = REP_REPLACEMENT;
	check_utf8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", (const uint32_t[]){ 'a', 0xE9, 0x20AC, 0x1F600 }, 4);
	check_utf8("\xc0\xaf", (const uint32_t[]){ F, F }, 2);                 /* overlong '/' */
	check_utf8("\xe0\x80\xaf", (const uint32_t[]){ F, F, F }, 3);          /* overlong, 3 bytes */
	check_utf8("\xed\xa0\x80", (const uint32_t[]){ F, F, F }, 3);          /* a surrogate */
	check_utf8("\xf4\x90\x80\x80", (const uint32_t[]){ F, F, F, F }, 4);   /* past U+10FFFF */
	check_utf8("\xe2\x82", (const uint32_t[]){ F, F }, 2);                 /* cut short by the end */
	check_utf8("\xe2\x82x", (const uint32_t[]){ F, F, 'x' }, 3);           /* cut short */
	check_utf8("\x80\xff\xfe", (const uint32_t[]){ F, F, F }, 3);          /* lone continuation, never valid */
	check_utf8("\xef\xbf\xbd", (const uint32_t[]){ F }, 1);                /* U+FFFD itself */
}
END_TEST

START_TEST(test_xml_escape)
{
	rep_case c = { .name = "a<b>&\"c'\r\t\n", .file = "f", .status = REP_FAIL, .time_us = 0,
		       .message = "m\x01\x1f\x7f\xc2\x85", .details = "x\r\ny\t<]]>\xef\xbf\xbe\xc0\xafz\xf0\x9f\x98\x80\n" };
	char *s = render_case(rep_write_junit, &c);
	/* attributes: line breaks and tabs as character references, quotes escaped */
	ck_contains(s, "<testcase name=\"a&lt;b&gt;&amp;&quot;c'&#13;&#9;&#10;\" classname=\"mqttsim\" file=\"f\"");
	/* C0 controls cannot be in XML 1.0 at all: U+FFFD; DEL and C1 are allowed */
	ck_contains(s, "message=\"m\xef\xbf\xbd\xef\xbf\xbd\x7f\xc2\x85\"");
	/* text: CR kept as a reference, "]]>" harmless, U+FFFE and bad bytes replaced, emoji kept */
	ck_contains(s, ">x&#13;\ny\t&lt;]]&gt;\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz\xf0\x9f\x98\x80\n</failure>");
	free(s);
}
END_TEST

START_TEST(test_json_escape)
{
	rep_case c = { .name = "n", .status = REP_FAIL, .time_us = 0,
		       .message = "\"\\/\b\f\n\r\t\x01\x1f\x7f \xc3\xa9 \xe2\x80\xa8\xe2\x80\xa9 \xff\xc0\xaf end",
		       .details = "d" };
	char *s = render_case(rep_write_json, &c);
	ck_contains(s, "\"message\": \"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f \xc3\xa9 \\u2028\\u2029 "
		       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end\",\n");
	ck_contains(s, "\"file\": null,\n");
	ck_contains(s, "\"seed\": null,\n");
	ck_contains(s, "\"time_s\": 0.000000,\n");
	free(s);
}
END_TEST

START_TEST(test_tap_escape)
{
	/* description: '#' and '\' escaped, line breaks as spaces */
	rep_case c = { .name = "a#b\\c\nd", .status = REP_PASS, .time_us = 0 };
	char *s = render_case(rep_write_tap, &c);
	ck_contains(s, "\nok 1 - a\\#b\\\\c d\n");
	free(s);
	/* YAML double-quoted: escapes TAP::Parser::YAMLish reads (\x for controls, DEL and C1) */
	rep_case f = { .name = "f", .status = REP_FAIL, .time_us = 0, .message = "q\"b\\\x01\x7f\xc2\x85\xef\xbf\xbf\xff",
		       .details = " leading blank\n" };
	s = render_case(rep_write_tap, &f);
	ck_contains(s, "  message: \"q\\\"b\\\\\\x01\\x7f\\x85\xef\xbf\xbd\xef\xbf\xbd\"\n");
	ck_contains(s, "  details: \" leading blank\\n\"\n"); /* not a block: the indentation would be ambiguous */
	free(s);
	static const struct {
		const char *details, *want;
	} rows[] = {
		{ "a\n  b\n\nc\n", "  details: |\n    a\n      b\n    \n    c\n  ...\n" }, /* a block */
		{ "a\nb", "  details: \"a\\nb\"\n" },          /* no final newline: clip chomping would add one */
		{ "a\nb\n\n", "  details: \"a\\nb\\n\\n\"\n" }, /* two: clip would drop one */
		{ "a\n\tb\n", "  details: \"a\\n\\tb\\n\"\n" }, /* a tab in the indentation */
		{ "a\r\nb\n", "  details: \"a\\r\\nb\\n\"\n" }, /* CR */
		{ "a\n\xff\n", "  details: \"a\\n\xef\xbf\xbd\\n\"\n" }, /* not UTF-8 */
		{ "one line", "  details: \"one line\"\n" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		f.details = rows[i].details;
		s = render_case(rep_write_tap, &f);
		ck_contains(s, rows[i].want);
		free(s);
	}
}
END_TEST

START_TEST(test_formats)
{
	unsigned b = 0;
	char msg[256];
	ck_assert_int_eq(rep_formats_parse("junit,json,tap", &b, msg, sizeof msg), 0);
	ck_assert_uint_eq(b, REP_FMT_JUNIT | REP_FMT_JSON | REP_FMT_TAP);
	ck_assert_int_eq(rep_formats_parse("tap", &b, msg, sizeof msg), 0);
	ck_assert_uint_eq(b, REP_FMT_TAP);
	ck_assert_int_eq(rep_formats_parse("json,json", &b, msg, sizeof msg), 0);
	ck_assert_uint_eq(b, REP_FMT_JSON);
	ck_assert_int_eq(rep_formats_parse("html,pcap", &b, msg, sizeof msg), 0);
	ck_assert_uint_eq(b, REP_FMT_HTML | REP_FMT_PCAP);
	static const struct {
		const char *in, *msg;
	} bad[] = {
		{ "", "--report takes a list of formats: junit, json, tap, html, pcap" },
		{ "xml", "unknown format 'xml'; formats: junit, json, tap, html, pcap" },
		{ "junit,", "an empty format in the list" },
		{ ",junit", "an empty format in the list" },
		{ "JUnit", "unknown format 'JUnit'" },
		{ "junit json", "unknown format 'junit json'" },
		{ "json,htm", "unknown format 'htm'" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		b = 99;
		ck_assert_int_eq(rep_formats_parse(bad[i].in, &b, msg, sizeof msg), -1);
		ck_assert_uint_eq(b, 99);
		ck_contains(msg, bad[i].msg);
	}
	ck_assert_str_eq(rep_format_ext(REP_FMT_JUNIT), "junit.xml");
	ck_assert_str_eq(rep_format_ext(REP_FMT_JSON), "json");
	ck_assert_str_eq(rep_format_ext(REP_FMT_TAP), "tap");
	ck_assert_str_eq(rep_format_ext(REP_FMT_HTML), "html");
	ck_assert_ptr_null(rep_format_ext(REP_FMT_JSON | REP_FMT_TAP));
	ck_assert_str_eq(rep_status_name(REP_ERROR), "error");
	ck_assert_str_eq(rep_status_name(42), "?");
	ck_assert_str_eq(rep_verdict_name(REP_V_NA), "na");
	ck_assert_str_eq(rep_verdict_name(-1), "?");
}
END_TEST

/* The results model from run results (data). */
#define N "t"
START_TEST(test_cases_from_results)
{
	sc_errors e = { 0 };
	static const char y[] = "name: t\nseed: 9\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n";
	scenario *s = scenario_parse("dir/sub/t.yaml", y, sizeof y - 1, &e);
	ck_assert_ptr_nonnull(s);
	scenario *sc[4] = { s, s, s, s };
	run_result res[4] = {
		{ .pass = true, .seed = 42, .virtual_us = 1234567, .events = 17, .trace_hash = 0xff, .failed_step = -1 },
		{ .seed = 7, .virtual_us = 5000, .events = 3, .trace_hash = 9, .failed_step = 0,
		  .report = "dir/sub/t.yaml:3:5: boom\n  more\n" },
		{ .pass = true, .skipped = true, .failed_step = -1 },
		{ .error = true, .failed_step = -1, .report = "cannot resolve broker address h: unknown\n" },
	};
	run_opts o = { .broker = "tcp://h:1" };
	rep_case *c = report_cases(sc, 4, &o, res);
	ck_assert_int_eq(c[0].status, REP_PASS);
	ck_assert(c[0].has_seed);
	ck_assert_uint_eq(c[0].seed, 42);
	ck_assert_int_eq(c[0].time_us, 1234000); /* to the millisecond, as the result line */
	ck_assert_uint_eq(c[0].events, 0);       /* over TCP there are no events or trace */
	ck_assert_uint_eq(c[0].trace_hash, 0);
	ck_assert_ptr_null(c[0].message);
	ck_assert_ptr_null(c[0].details);
	ck_assert_str_eq(c[0].classname, "dir.sub");
	ck_assert(!c[0].virtual_time);
	ck_assert_int_eq(c[1].status, REP_FAIL);
	ck_assert_uint_eq(c[1].seed, 7);
	ck_assert_int_eq(c[1].time_us, 5000);
	ck_assert_uint_eq(c[1].trace_hash, 0);
	ck_assert_str_eq(c[1].message, "dir/sub/t.yaml:3:5: boom");
	ck_assert_str_eq(c[1].details, "FAIL  " N " (dir/sub/t.yaml)  seed=7  took 0.005s\ndir/sub/t.yaml:3:5: boom\n"
				       "  more\n  replay: mqttsim run dir/sub/t.yaml --seed 7 --broker tcp://h:1\n");
	ck_assert_int_eq(c[2].status, REP_SKIP);
	ck_assert_uint_eq(c[2].seed, 9); /* the scenario's */
	ck_assert_int_lt(c[2].time_us, 0);
	ck_assert_int_eq(c[3].status, REP_ERROR);
	ck_assert_str_eq(c[3].message, "cannot resolve broker address h: unknown");
	ck_assert_str_eq(c[3].details, "ERROR " N " (dir/sub/t.yaml): cannot resolve broker address h: unknown\n");
	report_cases_free(c, 4);
	/* In simulation: events and hash; --seed overrides; a file without a directory */
	scenario_free(s);
	s = scenario_parse("t.yaml", y, sizeof y - 1, &e);
	sc[0] = s;
	o = (run_opts){ .seed = 5, .has_seed = true };
	c = report_cases(sc, 1, &o, &res[2]);
	ck_assert_uint_eq(c[0].seed, 5);
	ck_assert_str_eq(c[0].classname, "scenarios");
	ck_assert(c[0].virtual_time);
	report_cases_free(c, 1);
	c = report_cases(sc, 1, &o, &res[0]);
	ck_assert_uint_eq(c[0].events, 17);
	ck_assert_uint_eq(c[0].trace_hash, 0xff);
	report_cases_free(c, 1);
	scenario_free(s);
	sc_errors_free(&e);
}
END_TEST
#undef N

/* A real run: the report's case is what run_scenario() says. */
START_TEST(test_cases_real_run)
{
	static const char y[] =
		"name: real\nseed: 3\nclients:\n  - { id: pub }\n  - { id: sub }\nsteps:\n"
		"  - { client: sub, connect: {} }\n"
		"  - { client: sub, subscribe: { filter: t, qos: 1 } }\n"
		"  - { client: sub, expect: { packet: SUBACK } }\n"
		"  - { client: pub, connect: {} }\n"
		"  - { wait: 1234567us }\n"
		"  - { client: pub, publish: { topic: t, payload: p, qos: 1 } }\n"
		"  - { client: sub, expect: { packet: PUBLISH, payload: q, within: 1s } }\n";
	sc_errors e = { 0 };
	scenario *s = scenario_parse("real.yaml", y, sizeof y - 1, &e);
	ck_assert_msg(s != NULL, "%s", e.n ? e.msg[0] : "?");
	run_opts o = { 0 };
	run_result r;
	ck_assert_int_eq(run_scenario(s, &o, &r), 0);
	ck_assert(!r.pass);
	ck_assert_int_eq(run_code(&r), 1);
	rep_case *c = report_cases(&s, 1, &o, &r);
	ck_assert_int_eq(c->status, REP_FAIL);
	ck_assert_uint_eq(c->seed, r.seed);
	ck_assert_uint_eq(c->trace_hash, r.trace_hash);
	ck_assert_uint_ne(c->trace_hash, 0);
	ck_assert_uint_eq(c->events, r.events);
	ck_assert_int_eq(c->time_us, r.virtual_us / 1000 * 1000);
	ck_assert_int_gt(c->time_us, 1234000);
	ck_assert(c->virtual_time);
	ck_contains(c->message, "real.yaml:13:5: sub expected PUBLISH");
	ck_assert_ptr_null(strchr(c->message, '\n'));
	ck_contains(c->details, "bytes: ");
	ck_contains(c->details, "replay: mqttsim run real.yaml --seed 3");
	report_cases_free(c, 1);
	run_result_free(&r);
	scenario_free(s);
	sc_errors_free(&e);
}
END_TEST

START_TEST(test_stmt_add)
{
	static const char y1[] = "name: one\nspec: [MQTT-3.8.3-4]\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n";
	static const char y2[] = "name: two\nspec: [MQTT-3-8.3-4, MQTT-1.5.3-1]\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n";
	sc_errors e = { 0 };
	scenario *sc[2] = { scenario_parse("1.yaml", y1, sizeof y1 - 1, &e), scenario_parse("2.yaml", y2, sizeof y2 - 1, &e) };
	ck_assert_ptr_nonnull(sc[0]);
	ck_assert_ptr_nonnull(sc[1]);
	cat_stmt a = { .id = "MQTT-3-8.3-4", .alias = "MQTT-3.8.3-4", .section = "3.8.3", .summary = "s" };
	cat_stmt b = { .id = "MQTT-1.5.3-1", .section = "1.5.3", .summary = "t", .optional = true };
	cat_stmt n = { .id = "MQTT-9.9.9-9", .section = "9.9.9", .summary = "u" };
	report_stmts rs = { 0 };
	report_stmt_add(&rs, &a, REP_V_PASS, NULL, sc, 2);
	report_stmt_add(&rs, &b, REP_V_XFAIL, "why", sc, 2);
	report_stmt_add(&rs, &n, REP_V_UNTESTED, NULL, sc, 2);
	ck_assert_uint_eq(rs.n, 3);
	ck_assert_uint_eq(rs.v[0].ncases, 2); /* by alias and by id */
	ck_assert_uint_eq(rs.v[0].cases[0], 0);
	ck_assert_uint_eq(rs.v[0].cases[1], 1);
	ck_assert_str_eq(rs.v[0].alias, "MQTT-3.8.3-4");
	ck_assert_uint_eq(rs.v[1].ncases, 1);
	ck_assert_uint_eq(rs.v[1].cases[0], 1);
	ck_assert(rs.v[1].optional);
	ck_assert_str_eq(rs.v[1].reason, "why");
	ck_assert_uint_eq(rs.v[2].ncases, 0);
	report_stmts_free(&rs);
	ck_assert_uint_eq(rs.n, 0);
	scenario_free(sc[0]);
	scenario_free(sc[1]);
	sc_errors_free(&e);
}
END_TEST

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s", path);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int ch;
	while ((ch = fgetc(f)) != EOF)
		fputc(ch, m);
	fclose(f);
	fclose(m);
	return buf;
}

/* Options, the directory, and the files written there. */
START_TEST(test_options_and_files)
{
	char dir[64] = "/tmp/mqttsim-rep-XXXXXX", sub[128], path[192];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof sub, "%s/a/b", dir);
	char *err = NULL;
	size_t errlen = 0;
	FILE *ef = open_memstream(&err, &errlen);

	report_opts ro = { 0 };
	char *argv[] = { "run", "--report", "junit,tap", "--report", "json", "--report-dir", sub, "x", "--report" };
	int i = 1;
	ck_assert_int_eq(report_opts_arg(&ro, "run", 9, argv, &i, ef), 1);
	ck_assert_int_eq(i, 2);
	i = 3;
	ck_assert_int_eq(report_opts_arg(&ro, "run", 9, argv, &i, ef), 1);
	i = 5;
	ck_assert_int_eq(report_opts_arg(&ro, "run", 9, argv, &i, ef), 1);
	ck_assert_int_eq(i, 6);
	ck_assert_str_eq(ro.dir, sub);
	ck_assert_uint_eq(ro.formats, REP_FMT_JUNIT | REP_FMT_JSON | REP_FMT_TAP);
	i = 7;
	ck_assert_int_eq(report_opts_arg(&ro, "run", 9, argv, &i, ef), 0); /* not ours */
	i = 8;
	ck_assert_int_eq(report_opts_arg(&ro, "run", 9, argv, &i, ef), -1); /* no value */
	fflush(ef);
	ck_contains(err, "mqttsim run: --report needs a list of formats");

	ck_assert_int_eq(report_opts_check(&ro, "run", ef), 0); /* makes a/b */
	ck_assert_uint_eq(strlen(ro.started), 20);
	ck_assert_int_eq(ro.started[10], 'T');
	ck_assert_int_eq(ro.started[19], 'Z');
	rep_run r = run;
	r.started = NULL; /* report_write fills in the start time and the tool's version */
	r.version = NULL;
	ck_assert_int_eq(report_write(&ro, &r, ef), 0);
	r.started = ro.started;
	r.version = MQTTSIM_VERSION;
	snprintf(path, sizeof path, "%s/run.junit.xml", sub);
	char *got = read_all(path), *want = render(rep_write_junit, &r);
	ck_assert_ptr_nonnull(strstr(got, "<property name=\"version\" value=\"" MQTTSIM_VERSION "\"/>"));
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	snprintf(path, sizeof path, "%s/run.json", sub);
	got = read_all(path);
	ck_contains(got, "\"schema_version\": 1,");
	free(got);
	unlink(path);
	snprintf(path, sizeof path, "%s/run.tap", sub);
	got = read_all(path);
	ck_contains(got, "TAP version 13\n");
	free(got);
	unlink(path);
	snprintf(path, sizeof path, "%s/run.junit.xml", sub);
	unlink(path);

	/* --report-dir without --report; a directory that is a file */
	report_opts none = { .dir = sub };
	ck_assert_int_eq(report_opts_check(&none, "conform", ef), -1);
	snprintf(path, sizeof path, "%s/file", dir);
	FILE *f = fopen(path, "w");
	fclose(f);
	report_opts onfile = { .formats = REP_FMT_JSON, .dir = path };
	ck_assert_int_eq(report_opts_check(&onfile, "conform", ef), -1);
	fflush(ef);
	ck_contains(err, "mqttsim conform: --report-dir ");
	ck_contains(err, "say which reports to write with --report junit,json,tap,html,pcap");
	ck_contains(err, "give a directory I can create and write");
	unlink(path);
	fclose(ef);
	free(err);
	snprintf(path, sizeof path, "%s/a", dir);
	ck_assert_int_eq(rmdir(sub), 0);
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* ---- HTML and sequence diagrams ---- */

/* The pages are too long for a Check message: say what is missing, and where it was not. */
#define ck_has(hay, needle) ck_assert_msg(strstr((hay), (needle)), "missing: %s (in %.120s...)", (needle), (hay))

static char *render_diagram(const char *trace, size_t max_rows, rep_diagram_info *info)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(rep_write_diagram(f, trace, strlen(trace), "t<1>", max_rows, info), 0);
	fclose(f);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* A trace with every kind of event the diagram draws. */
static const char dg_trace[] =
	"# mqttsim trace of t\n"
	"     0.000000 broker c0 listen port 1883\n"
	"     0.000000 a<&> c1 connect to broker port 1883\n"
	"     0.000000 broker c1 accept from a<&> port 1883\n"
	"     0.001000 a<&> c1 harness step 3:5 connect clean=1 keepalive=60\n"
	"     0.001000 a<&> c1 send 12B\n"
	"     0.002000 broker c1 recv 12B\n"
	"     0.002000 broker c1 mqtt -> CONNECT v=3.1.1 clean=1 keepalive=60 client_id=\"a\"\n"
	"     0.002000 broker c1 send 4B\n"
	"     0.003000 a<&> c1 recv 4B\n"
	"     0.003000 a<&> c1 mqtt <- CONNACK session_present=0 rc=0\n"
	/* Two packets in one write, read in two pieces. */
	"     0.004000 a<&> c1 send 20B\n"
	"     0.004000 sensor c2 connect to broker port 1883\n"
	"     0.005000 a<&> c1 lost segment 3 attempt 1\n"
	"     0.006000 a<&> c1 lost segment 3 attempt 2\n"
	"     0.007000 a<&> c0 fault partition a<&> <-> broker\n"
	"     0.009000 a<&> c0 fault heal a<&> <-> broker\n"
	"     0.010000 broker c1 recv 7B\n"
	"     0.010000 broker c1 recv 13B\n"
	"     0.010000 broker c1 mqtt -> PUBLISH qos=0 retain=0 dup=0 topic=\"x/\xff<y>\" payload=1B\n"
	"     0.010000 broker c1 mqtt -> PUBLISH qos=1 retain=0 dup=0 id=7 topic=\"t\" payload=0B\n"
	"     0.011000 broker c0 fault crash\n"
	"     0.012000 broker c0 fault restart\n"
	"     0.012000 a<&> c1 rst Connection reset by peer\n"
	"     0.013000 sensor c2 send 9B\n"
	"     0.013000 broker c2 recv 9B\n"
	"     0.013000 broker c2 mqtt-bad [MQTT-3.3.2-2] at byte 4: topic name contains the wildcard '+'\n"
	"     0.014000 sensor c2 send 5B\n"
	"     0.014000 sensor c2 abort RST\n"
	"     1.500000 sub recv PUBLISH qos=0 topic=\"tcp\" payload=1B\n"
	"garbage line\n";

START_TEST(test_diagram_events)
{
	rep_diagram_info in;
	char *s = render_diagram(dg_trace, 0, &in);
	ck_assert_uint_eq(in.packets, 6); /* 4 decoded + 1 undecodable + 1 from the TCP form */
	ck_assert_uint_eq(in.drawn, 6);
	ck_assert_uint_eq(in.lost, 2);
	ck_assert_uint_eq(in.faults, 4);
	ck_assert_uint_eq(in.undelivered, 5);
	ck_assert_uint_eq(in.hosts, 4); /* broker, a<&>, sensor, sub */
	ck_assert(!in.more_hosts && !in.truncated);
	ck_assert_uint_eq(count(s, "<g class=\"pkt "), 5);
	ck_assert_uint_eq(count(s, "<g class=\"bad badpkt\">"), 1);
	ck_assert_uint_eq(count(s, "<g class=\"lost\">"), 1); /* two losses in a row share one */
	ck_has(s, "lost 2 segments, the last: segment 3 attempt 2");
	ck_assert_uint_eq(count(s, "<rect class=\"band\""), 1);
	ck_assert_uint_eq(count(s, "<rect class=\"crashband\""), 1);
	ck_has(s, "c2: 5 B sent to broker never arrived (last send at 0.014000s)");
	ck_has(s, "<title>[MQTT-3.3.2-2] at byte 4: topic name contains the wildcard &#39;+&#39;</title>");
	ck_has(s, ">undecodable: [MQTT-3.3.2-2] at byte 4");
	/* Everything escaped; a byte that is not UTF-8 replaced; defaults left out of labels. */
	ck_has(s, ">a&lt;&amp;&gt;</text>");
	ck_has(s, "<title>t&lt;1&gt;</title>");
	ck_assert_ptr_null(strstr(s, "a<&>"));
	ck_has(s, ">PUBLISH qos=0 &quot;x/\xef\xbf\xbd&lt;y&gt;&quot; payload=\xe2\x80\xa6</text>"); /* cut to fit */
	ck_has(s, "<title>PUBLISH qos=0 retain=0 dup=0 topic=&quot;x/\xef\xbf\xbd&lt;y&gt;&quot; payload=1B</title>");
	ck_has(s, ">CONNECT clean=1 keepalive=60 cl\xe2\x80\xa6</text>"); /* v=3.1.1 left out */
	/* The two PUBLISHes were written at 0.004 before the losses and the partition: their
	 * arrows start rows above where they end; the CONNECT's is flat. */
	const char *p = strstr(s, "<title>PUBLISH qos=1");
	ck_assert_ptr_nonnull(p);
	double x1, y1, x2, y2;
	ck_assert_int_eq(sscanf(strstr(p, "<line "), "<line x1=\"%lf\" y1=\"%lf\" x2=\"%lf\" y2=\"%lf\"", &x1, &y1, &x2, &y2), 4);
	ck_assert(y2 - y1 >= 60);
	ck_assert(x2 < x1); /* to the broker, the first lifeline */
	p = strstr(s, "<title>CONNECT");
	ck_assert_int_eq(sscanf(strstr(p, "<line "), "<line x1=\"%lf\" y1=\"%lf\" x2=\"%lf\" y2=\"%lf\"", &x1, &y1, &x2, &y2), 4);
	ck_assert(y1 == y2);
	/* Times in the margin, once per change. */
	ck_assert_uint_eq(count(s, ">0.010000s</text>"), 1);
	free(s);

	/* Same input, same bytes. */
	char *again = render_diagram(dg_trace, 0, NULL);
	s = render_diagram(dg_trace, 0, &in);
	ck_assert_str_eq(s, again);
	free(s);
	free(again);
}
END_TEST

START_TEST(test_diagram_caps)
{
	rep_diagram_info in;
	char *s = render_diagram(dg_trace, 6, &in);
	ck_assert(in.truncated);
	ck_assert_uint_eq(in.rows, 6);
	ck_assert_uint_eq(in.packets, 6);
	ck_assert_uint_lt(in.drawn, in.packets);
	ck_assert_uint_eq(count(s, "<g class=\"pkt "), in.drawn);
	free(s);
	/* 15 hosts: 12 lifelines, the last shared. */
	char t[4096];
	size_t n = 0;
	for (int i = 0; i < 15; i++)
		n += (size_t)snprintf(t + n, sizeof t - n, "0.000000 h%d c%d connect to broker port 1883\n", i, i + 1);
	s = render_diagram(t, 0, &in);
	ck_assert_uint_eq(in.hosts, 12);
	ck_assert(in.more_hosts);
	ck_has(s, ">other hosts</text>");
	free(s);
	/* A packet on a connection the trace never opened is still drawn, from "?". */
	s = render_diagram("0.000000 broker c9 mqtt -> PINGREQ\n0.000000 x c9 mqtt <- PINGRESP\n", 0, &in);
	ck_assert_uint_eq(in.drawn, 2);
	ck_assert_uint_eq(count(s, "<g class=\"pkt "), 2);
	ck_has(s, ">?</text>");
	free(s);
	/* Nothing: an empty diagram with the broker alone. */
	s = render_diagram("", 0, &in);
	ck_assert_uint_eq(in.packets, 0);
	ck_assert_uint_eq(in.hosts, 1);
	ck_has(s, "</svg>\n");
	free(s);
}
END_TEST

START_TEST(test_html_page)
{
	/* run: the failure's report escaped; the failed scenario gets a section even without a
	 * trace; a case with a trace gets its diagram. */
	rep_case cs[4];
	memcpy(cs, run_cases, sizeof cs);
	cs[0].trace = dg_trace;
	cs[0].trace_len = strlen(dg_trace);
	rep_run r = run;
	r.cases = cs;
	char *s = render(rep_write_html, &r);
	ck_assert(!strncmp(s, "<!DOCTYPE html>\n<html lang=\"en\">", 32));
	ck_has(s, "</body>\n</html>\n");
	ck_assert_ptr_null(strstr(s, "<script"));
	ck_assert_ptr_null(strstr(s, "http"));
	ck_has(s, "<tr><th>scenarios</th><td>4: 1 pass, 1 fail, 1 skip, 1 error</td></tr>");
	ck_has(s, "bad&lt;&amp;&gt;&quot;&#39;");
	ck_has(s, "<pre>FAIL  bad\ns/b.yaml:3:5: expected &quot;x&quot; &amp; &lt;y&gt;\n");
	ck_has(s, "cannot resolve h: \xef\xbf\xbd\xef\xbf\xbd"); /* a control and a bad byte */
	ck_assert_uint_eq(count(s, "<section id=\"dg-"), 3);         /* traced, failed, error */
	ck_assert_uint_eq(count(s, "<svg class=\"seq\""), 1);
	ck_has(s, "<section id=\"dg-0\">");
	ck_has(s, "<a href=\"#dg-0\">ok-one</a>");
	ck_has(s, "18446744073709551615");
	ck_assert_ptr_null(strstr(s, "Statements by section"));
	free(s);

	/* conform: the matrix by section with its counts, a cell per statement. */
	s = render(rep_write_html, &cf);
	ck_has(s, "<h2 id=\"matrix\">Statements by section</h2>");
	ck_assert_uint_eq(count(s, "<a class=\"v-"), 7);
	/* Sections as they come (the catalog's order): 3.3.1, then 3.1.2, then 3.3.5 again. */
	ck_has(s, "<tr><th>&#167;3.3</th><td class=\"n\"></td><td class=\"n\">1</td><td class=\"n\">1</td>"
		  "<td class=\"n\"></td><td class=\"n\"></td><td class=\"n\"></td><td class=\"n\"></td><td class=\"n\">2</td>");
	ck_assert_uint_eq(count(s, "<tr><th>&#167;"), 6);
	ck_has(s, "<tfoot><tr><th>all</th><td class=\"n\">1</td><td class=\"n\">1</td><td class=\"n\">1</td>"
		       "<td class=\"n\">1</td><td class=\"n\">1</td><td class=\"n\">1</td><td class=\"n\">1</td><td class=\"n\">7</td>");
	ck_has(s, "<a class=\"v-na\" href=\"#st-6\" title=\"MQTT-3-8.3-4: not testable\"></a>");
	ck_has(s, "known &amp; &lt;odd&gt;");
	ck_has(s, "<p>Checks <a href=\"#st-1\">MQTT-3.3.1-8</a>, <a href=\"#st-2\">MQTT-3.3.1-9</a>, "
		       "<a href=\"#st-4\">MQTT-3.3.5-1</a></p>");
	free(s);

	/* Nothing run, nothing failed. */
	rep_run e = { .command = "run" };
	s = render(rep_write_html, &e);
	ck_has(s, "Nothing failed, and no sequence diagram was asked for");
	free(s);
}
END_TEST

/* report_prepare() and report_attach_traces(): which cases get a trace, temporary trace
 * directory made and removed, pcap directory and the TCP note. */
START_TEST(test_html_glue)
{
	char dir[64] = "/tmp/mqttsim-html-XXXXXX", path[256];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char *err = NULL;
	size_t errlen = 0;
	FILE *ef = open_memstream(&err, &errlen);
	report_opts ro = { .formats = REP_FMT_HTML | REP_FMT_PCAP, .dir = dir };
	run_opts o = { 0 };
	ck_assert_int_eq(report_prepare(&ro, &o, "run", ef), 0);
	ck_assert_str_eq(o.pcap_dir, dir);
	ck_assert_ptr_nonnull(o.out_dir);
	ck_assert(!strncmp(o.out_dir, dir, strlen(dir)));
	ck_assert_str_eq(ro.trace_dir, o.out_dir);
	/* Traces of "a" (pass) and "b" (fail). */
	const char *names[] = { "a", "b" };
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s.trace", o.out_dir, names[i]);
		FILE *f = fopen(path, "w");
		fprintf(f, "trace of %s\n", names[i]);
		fclose(f);
	}
	rep_case c[3] = { { .name = "a", .status = REP_PASS }, { .name = "b", .status = REP_FAIL },
			  { .name = "c", .status = REP_SKIP } };
	static const struct {
		int mode;
		bool a, b;
	} rows[] = { { REPORT_DIAG_AUTO, true, true }, { REPORT_DIAG_FAILED, false, true },
		     { REPORT_DIAG_ALL, true, true }, { REPORT_DIAG_NONE, false, false } };
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		ro.diagrams = rows[k].mode;
		report_attach_traces(&ro, c, 3);
		ck_assert_int_eq(c[0].trace != NULL, rows[k].a);
		ck_assert_int_eq(c[1].trace != NULL, rows[k].b);
		ck_assert_ptr_null(c[2].trace);
		if (c[1].trace)
			ck_assert_int_eq(memcmp(c[1].trace, "trace of b\n", c[1].trace_len), 0);
		for (int i = 0; i < 3; i++) {
			free((char *)c[i].trace);
			c[i].trace = NULL;
		}
	}
	char tracedir[4096];
	snprintf(tracedir, sizeof tracedir, "%s", o.out_dir);
	report_cleanup(&ro);
	ck_assert_int_eq(access(tracedir, F_OK), -1);
	ck_assert_int_eq(ro.trace_tmp[0], 0);

	/* A user's --out and --pcap are kept; over TCP pcap is a note. */
	report_opts r2 = { .formats = REP_FMT_HTML | REP_FMT_PCAP, .dir = dir };
	run_opts o2 = { .broker = "tcp://127.0.0.1:1883", .out_dir = "mine" };
	ck_assert_int_eq(report_prepare(&r2, &o2, "conform", ef), 0);
	ck_assert_str_eq(o2.out_dir, "mine");
	ck_assert_ptr_null(o2.pcap_dir);
	ck_assert_int_eq(r2.trace_tmp[0], 0);
	fflush(ef);
	ck_has(err, "mqttsim conform: note: --report pcap: tcp://127.0.0.1:1883 is a real broker");

	/* --html-diagrams */
	report_opts r3 = { 0 };
	char *argv[] = { "run", "--html-diagrams", "failed", "--html-diagrams", "most" };
	int i = 1;
	ck_assert_int_eq(report_opts_arg(&r3, "run", 5, argv, &i, ef), 1);
	ck_assert_int_eq(i, 2);
	ck_assert_int_eq(r3.diagrams, REPORT_DIAG_FAILED);
	ck_assert_int_eq(report_opts_check(&r3, "run", ef), -1); /* without --report html */
	i = 3;
	ck_assert_int_eq(report_opts_arg(&r3, "run", 5, argv, &i, ef), -1);
	fflush(ef);
	ck_has(err, "--html-diagrams is for the HTML report: add --report html");
	ck_has(err, "--html-diagrams takes auto, failed, all or none, not 'most'");
	fclose(ef);
	free(err);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

Suite *reports_suite(void)
{
	Suite *s = suite_create("reports");
	TCase *tc = tcase_create("writers");
	tcase_add_test(tc, test_junit_run_exact);
	tcase_add_test(tc, test_json_run_exact);
	tcase_add_test(tc, test_tap_run_exact);
	tcase_add_test(tc, test_tap_conform_exact);
	tcase_add_test(tc, test_junit_conform);
	tcase_add_test(tc, test_json_conform);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_xml_escape);
	tcase_add_test(tc, test_json_escape);
	tcase_add_test(tc, test_tap_escape);
	tcase_add_test(tc, test_formats);
	suite_add_tcase(s, tc);
	TCase *glue = tcase_create("harness");
	tcase_add_test(glue, test_cases_from_results);
	tcase_add_test(glue, test_cases_real_run);
	tcase_add_test(glue, test_stmt_add);
	tcase_add_test(glue, test_options_and_files);
	suite_add_tcase(s, glue);
	TCase *html = tcase_create("html");
	tcase_add_test(html, test_diagram_events);
	tcase_add_test(html, test_diagram_caps);
	tcase_add_test(html, test_html_page);
	tcase_add_test(html, test_html_glue);
	suite_add_tcase(s, html);
	return s;
}
