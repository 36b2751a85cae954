/*
 * test_cli.c - hex parsing and `mqttsim decode`, run in-process with memory streams so
 * every row checks the exit code and the exact output a user sees.
 */
#include "tests.h"

#include "harness/cli.h"
#include "harness/raw_send.h"
#include "mqtt/mqtt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hex_parse ---------------------------------------------------------------------- */

static const struct {
	const char *text;
	long want;          /* byte count, or -1 */
	const char *bytes;  /* expected bytes as a C string of \x escapes, for want > 0 */
	const char *msg;    /* substring of the error message, for want < 0 */
} hex_rows[] = {
	{ "10 0c", 2, "\x10\x0c", NULL },
	{ "100c", 2, "\x10\x0c", NULL },
	{ "0x10 0x0C", 2, "\x10\x0c", NULL },
	{ "0x10,0x0c", 2, "\x10\x0c", NULL },
	{ "10:0c:ff", 3, "\x10\x0c\xff", NULL },
	{ "  \n\t10\n", 1, "\x10", NULL },
	{ "0x4", 1, "\x04", NULL },          /* a prefixed single digit is unambiguous */
	{ "0xc000", 2, "\xc0\x00", NULL },
	{ "AbCd", 2, "\xab\xcd", NULL },
	{ "", 0, "", NULL },
	{ "1", -1, NULL, "odd number of hex digits" },
	{ "10 0c 5", -1, NULL, "character 7" },
	{ "1g", -1, NULL, "'g' at character 2 is not a hex digit" },
	{ "0x", -1, NULL, "no digits" },
	{ "10 zz", -1, NULL, "'z' at character 4" },
	{ "0x1 0x2 0x3", 3, "\x01\x02\x03", NULL },
};

START_TEST(test_hex_parse)
{
	unsigned char buf[16];
	char msg[160] = "";
	long n = hex_parse(hex_rows[_i].text, buf, sizeof buf, msg, sizeof msg);
	ck_assert_msg(n == hex_rows[_i].want, "row %d \"%s\": got %ld want %ld (%s)", _i,
		      hex_rows[_i].text, n, hex_rows[_i].want, msg);
	if (n > 0)
		ck_assert_mem_eq(buf, hex_rows[_i].bytes, (size_t)n);
	if (n < 0)
		ck_assert_msg(strstr(msg, hex_rows[_i].msg), "row %d: message \"%s\" lacks \"%s\"", _i,
			      msg, hex_rows[_i].msg);
}
END_TEST

START_TEST(test_hex_parse_capacity)
{
	unsigned char buf[2];
	char msg[160];
	ck_assert_int_eq(hex_parse("01 02 03", buf, sizeof buf, msg, sizeof msg), -1);
	ck_assert_ptr_nonnull(strstr(msg, "more than 2 bytes"));
}
END_TEST

/* ---- mqttsim decode ---------------------------------------------------------------- */

#define CONNECT311 "10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00"

static const struct {
	const char *args;   /* space-separated argv after "decode" */
	const char *stdin_text;
	int rc;
	const char *out;    /* substring expected on stdout */
	const char *err;    /* substring expected on stderr (or NULL) */
} decode_rows[] = {
	{ CONNECT311, NULL, 0, "000000  CONNECT v=3.1.1 clean=1 keepalive=60 client_id=\"\"\n", NULL },
	/* reserved bit of the connect flags set */
	{ "10 0c 00 04 4d 51 54 54 04 03 00 3c 00 00", NULL, 1,
	  "error: malformed packet [MQTT-3.1.2-3] at byte 9", NULL },
	/* bad flags on the second packet of a stream: the first still prints */
	{ CONNECT311 " c0 00 c1 00", NULL, 1, "000010  error: malformed packet [MQTT-2.2.2-2]", NULL },
	{ "--json " CONNECT311, NULL, 0,
	  "{\"offset\":0,\"packet\":{\"type\":\"CONNECT\",\"version\":\"3.1.1\",\"length\":14,"
	  "\"clean_start\":true,\"keepalive\":60,\"client_id\":\"\"}}\n", NULL },
	{ "--json c1 00", NULL, 1, "\"statement\":\"MQTT-2.2.2-2\"", NULL },
	/* a 5.0 CONNECT switches the stream to 5.0: the PUBACK short form with a reason */
	{ "10 0d 00 04 4d 51 54 54 05 02 00 3c 00 00 00 40 03 00 01 10", NULL, 0,
	  "PUBACK id=1 reason=0x10 (No matching subscribers)", NULL },
	/* the same PUBACK in a 3.1.1 stream has a byte too many */
	{ "40 03 00 01 10", NULL, 1, "malformed packet [§2.2.3]", NULL },
	{ "--version 5.0 40 03 00 01 10", NULL, 0, "reason=0x10", NULL },
	{ "--version=5 e0 01 8e", NULL, 0, "DISCONNECT reason=0x8E (Session taken over)", NULL },
	{ "30 05 00 03 61 2f", NULL, 1, "incomplete packet: its header announces 7 bytes but only 6", NULL },
	{ "30", NULL, 1, "ends inside the fixed header", NULL },
	/* SUBSCRIBE decodes but its filter breaks the '#' rule: mqtt_validate catches it */
	{ "82 08 00 01 00 03 61 23 62 00", NULL, 1, "[MQTT-4.7.1-2] at byte 7", NULL },
	{ "", "0xc0 0x00\n0xd0,0x00\n", 0, "000002  PINGRESP\n", NULL },
	{ "-", "c000", 0, "000000  PINGREQ\n", NULL },
	{ "", "   \n", 2, "", "no hex bytes given" },
	{ "zz", NULL, 2, "", "'z' at character 1 is not a hex digit" },
	{ "--version 6 c0 00", NULL, 2, "", "--version takes 3.1.1 or 5.0, not '6'" },
	{ "--version", NULL, 2, "", "--version takes 3.1.1 or 5.0, not '(nothing)'" },
	{ "--frobnicate c0 00", NULL, 2, "", "unknown option '--frobnicate'" },
	{ "--help", NULL, 0, "usage: mqttsim decode", NULL },
	{ "-- c0 00", NULL, 0, "PINGREQ", NULL },
	/* options after the hex */
	{ "c0 00 --json", NULL, 0, "{\"offset\":0,\"packet\":{\"type\":\"PINGREQ\"", NULL },
	{ "e0 01 8e --version 5.0", NULL, 0, "DISCONNECT reason=0x8E", NULL },
	{ "c0 00 --frob", NULL, 2, "", "unknown option '--frob'" },
	/* bytes a terminal would act on, and bytes that are not UTF-8, are shown escaped */
	{ "c0 \x1b[31m", NULL, 2, "", "arguments: '\\x1b' at character 4 is not a hex digit" },
	{ "c0 \xff", NULL, 2, "", "'\\xff' at character 4 is not a hex digit" },
	{ "c0 \xc3", NULL, 2, "", "'\\xc3' at character 4" },
	{ "c0 \xc2\x85", NULL, 2, "", "'\\u0085' at character 4" },
	{ "c0 \xc3\xa9", NULL, 2, "", "'\xc3\xa9' at character 4" },
	{ "\xc3\xa9g", NULL, 2, "", "'\xc3\xa9' at character 1" },
	{ "00 \xc3\xa9 g", NULL, 2, "", "'\xc3\xa9' at character 4" },
	{ "--\x1b", NULL, 2, "", "unknown option '--\\x1b'" },
	{ "--version \x07", NULL, 2, "", "--version takes 3.1.1 or 5.0, not '\\x07'" },
	{ "", "c0 00\nd0 zz\n", 2, "", "stdin: 'z' at line 2, character 4 is not a hex digit" },
	{ "c0 -", NULL, 2, "", "'-' (read stdin) cannot be mixed with hex arguments" },
};

static char *slurp(FILE *f)
{
	long n = ftell(f);
	char *s = calloc(1, (size_t)n + 1);
	rewind(f);
	if (n > 0 && fread(s, 1, (size_t)n, f) != (size_t)n)
		s[0] = 0;
	return s;
}

START_TEST(test_decode_cmd)
{
	char args[256], *argv[64];
	int argc = 0;
	argv[argc++] = "decode";
	snprintf(args, sizeof args, "%s", decode_rows[_i].args);
	for (char *t = strtok(args, " "); t && argc < 63; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;

	const char *in_text = decode_rows[_i].stdin_text ? decode_rows[_i].stdin_text : "";
	FILE *in = tmpfile(), *out = tmpfile(), *err = tmpfile();
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	fputs(in_text, in);
	rewind(in);
	int rc = cmd_decode(argc, argv, in, out, err);
	char *o = slurp(out), *e = slurp(err);
	ck_assert_msg(rc == decode_rows[_i].rc, "row %d (%s): exit %d, want %d\nstdout: %s\nstderr: %s",
		      _i, decode_rows[_i].args, rc, decode_rows[_i].rc, o, e);
	ck_assert_msg(strstr(o, decode_rows[_i].out), "row %d (%s): stdout lacks \"%s\":\n%s", _i,
		      decode_rows[_i].args, decode_rows[_i].out, o);
	if (decode_rows[_i].err)
		ck_assert_msg(strstr(e, decode_rows[_i].err), "row %d: stderr lacks \"%s\":\n%s", _i,
			      decode_rows[_i].err, e);
	else
		ck_assert_msg(e[0] == 0, "row %d: unexpected stderr: %s", _i, e);
	free(o);
	free(e);
	fclose(in);
	fclose(out);
	fclose(err);
}
END_TEST

/* The option values every command shares: --seed, -j, --broker. */
static const struct {
	int kind; /* 0 seed, 1 jobs, 2 broker */
	const char *v;
	int rc;
	uint64_t want;
} opt_rows[] = {
	{ 0, "0", 0, 0 },
	{ 0, "18446744073709551615", 0, UINT64_MAX },
	{ 0, "18446744073709551616", -1, 0 },
	{ 0, "99999999999999999999", -1, 0 },
	{ 0, "", -1, 0 },
	{ 0, NULL, -1, 0 },
	{ 0, "-1", -1, 0 },
	{ 0, "+1", -1, 0 },
	{ 0, " 1", -1, 0 },
	{ 0, "1x", -1, 0 },
	{ 1, "1", 0, 1 },
	{ 1, "256", 0, 256 },
	{ 1, "257", -1, 0 },
	{ 1, "0", -1, 0 },
	{ 1, "", -1, 0 },
	{ 1, "-2", -1, 0 },
	{ 1, "4k", -1, 0 },
	{ 1, "99999999999999999999", -1, 0 },
	{ 2, "sim", 0, 0 },
	{ 2, "tcp://127.0.0.1:1883", 0, 0 },
	{ 2, "tcp://[::1]:1883", 0, 0 },
	{ 2, "tcp://h:0", -1, 0 },
	{ 2, "udp://h:1", -1, 0 },
	{ 2, NULL, -1, 0 },
};

START_TEST(test_option_values)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&buf, &len);
	uint64_t seed = 7;
	long jobs = 7;
	int rc = opt_rows[_i].kind == 0 ? cli_seed("run", opt_rows[_i].v, &seed, err)
		 : opt_rows[_i].kind == 1 ? cli_jobs("run", opt_rows[_i].v, &jobs, err)
					  : cli_broker("run", opt_rows[_i].v, err);
	fclose(err);
	ck_assert_msg(rc == opt_rows[_i].rc, "row %d ('%s'): rc %d", _i, opt_rows[_i].v ? opt_rows[_i].v : "NULL", rc);
	if (rc == 0 && opt_rows[_i].kind == 0)
		ck_assert_uint_eq(seed, opt_rows[_i].want);
	if (rc == 0 && opt_rows[_i].kind == 1)
		ck_assert_int_eq(jobs, (long)opt_rows[_i].want);
	if (rc < 0) {
		/* says which command and option, and quotes the value */
		ck_assert_msg(strstr(buf, "mqttsim run: ") == buf, "%s", buf);
		char q[64];
		snprintf(q, sizeof q, "not '%s'", opt_rows[_i].v ? opt_rows[_i].v : "(nothing)");
		ck_assert_msg(strstr(buf, q), "%s", buf);
	} else {
		ck_assert_uint_eq(len, 0);
	}
	free(buf);
}
END_TEST

/* The bytes of `send` steps: names take the run's prefixes, {len} counts what follows. */
static const struct {
	const char *text, *idp, *tp;
	const char *hex;   /* expected bytes; NULL: an error */
	const char *err;   /* a part of the error */
} raw_rows[] = {
	{ "30 05 00 01 2b 78 78", NULL, NULL, "30 05 00 01 2b 78 78", NULL },
	{ "10 {len} 00 04 4d 51 54 54 04 02 00 3c {id:ab}", NULL, NULL,
	  "10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 61 62", NULL },
	{ "10 {len} 00 04 4d 51 54 54 04 02 00 3c {id:ab}", "P", "T",
	  "10 10 00 04 4d 51 54 54 04 02 00 3c 00 04 50 2d 61 62", NULL },
	{ "10 {len} 00 0a {id:a,ed a0 80} | c0 00", "P", NULL,
	  "10 0a 00 0a 00 06 50 2d 61 ed a0 80 c0 00", NULL },
	{ "30 {len} {topic:x/y} 7a", NULL, "T", "30 08 00 05 54 2f 78 2f 79 7a", NULL },
	{ "30 {len} {topic:$SYS/x} | 30 {len} {topic:a}", NULL, "T",
	  "30 08 00 06 24 53 59 53 2f 78 30 05 00 03 54 2f 61", NULL },
	/* A shared subscription's filter takes the prefix after $share/GROUP/ (4.8-shared-subscriptions). */
	{ "{topic:$share/g/a/#}", NULL, "T", "00 0e 24 73 68 61 72 65 2f 67 2f 54 2f 61 2f 23", NULL },
	{ "{topic:$share/g}", NULL, "T", "00 08 24 73 68 61 72 65 2f 67", NULL },
	{ "{alnum:q}", NULL, NULL, "00 01 71", NULL },
	{ "{alnum:}", NULL, NULL, "00 00", NULL },
	/* Blanks before the first token: a 0-byte piece while nothing is allocated yet (put()
	 * must not hand memcpy a NULL buffer, which UBSan under `make asan` reports). */
	{ " | c0 00", NULL, NULL, "c0 00", NULL },
	{ "  {alnum:}", NULL, NULL, "00 00", NULL },
	{ "{len", NULL, NULL, NULL, "has no '}'" },
	{ "{nope:x}", NULL, NULL, NULL, "is not one of {len}" },
	{ "10 {len} {len}", NULL, NULL, NULL, "a second {len}" },
	{ "10 {len} 0g", NULL, NULL, NULL, "in the hex from character 9" },
	{ "{alnum:a-b}", NULL, NULL, NULL, "letters and digits only" },
	{ "{id:a,zz}", NULL, NULL, NULL, "bad hex after the ','" },
};

static size_t hex_bytes(const char *hex, uint8_t *out, size_t cap)
{
	char msg[128];
	long n = hex_parse(hex, out, cap, msg, sizeof msg);
	ck_assert_int_ge(n, 0);
	return (size_t)n;
}

START_TEST(test_raw_expand)
{
	uint8_t *got = NULL, want[256];
	char msg[200] = "";
	raw_names nm = { raw_rows[_i].idp, raw_rows[_i].tp };
	long n = raw_expand(raw_rows[_i].text, &nm, &got, msg, sizeof msg);
	if (raw_rows[_i].hex) {
		size_t wn = hex_bytes(raw_rows[_i].hex, want, sizeof want);
		ck_assert_msg(n == (long)wn && !memcmp(got, want, wn), "row %d: %ld bytes (%s)", _i, n, msg);
	} else {
		ck_assert_int_eq(n, -1);
		ck_assert_ptr_null(got);
		ck_assert_msg(strstr(msg, raw_rows[_i].err), "row %d: '%s'", _i, msg);
	}
	free(got);
}
END_TEST

/* Where the run's topic prefix goes: the offset, or -1 for nowhere. */
static const struct {
	const char *t;
	bool share;
	long at;
} prefix_rows[] = {
	{ "a/b", false, 0 },
	{ "#", true, 0 },
	{ "", false, -1 },                  /* a zero-length filter stays one: that is its point */
	{ "$SYS/#", true, -1 },
	{ "$share/g/a/#", true, 9 },
	{ "$share/group/+", true, 13 },
	{ "$share/g/a/#", false, -1 },      /* a topic name, not a filter: '$' as ever */
	{ "$share//a", true, 8 },           /* no group name: still the filter after it */
	{ "$share/g/", true, -1 },          /* no filter: nothing to prefix */
	{ "$share/g", true, -1 },           /* no '/' after the group */
	{ "$share/g/$SYS/x", true, -1 },
	{ "$sharex/g/a", true, -1 },
	{ "$share", true, -1 },
};

START_TEST(test_raw_prefix_at)
{
	const char *t = prefix_rows[_i].t;
	long at = raw_prefix_at(t, strlen(t), prefix_rows[_i].share);
	ck_assert_msg(at == prefix_rows[_i].at, "'%s' (share %d): %ld, wanted %ld", t, prefix_rows[_i].share, at,
		      prefix_rows[_i].at);
}
END_TEST

/* {len} over 127 bytes takes two bytes; {alnum} keeps the length and the alphabet, varies by run. */
START_TEST(test_raw_expand_long_and_alnum)
{
	char text[400] = "30 {len} ";
	for (int i = 0; i < 130; i++)
		strcat(text, "61 ");
	uint8_t *got = NULL;
	char msg[200];
	ck_assert_int_eq(raw_expand(text, NULL, &got, msg, sizeof msg), 133);
	ck_assert_uint_eq(got[1], 0x82);
	ck_assert_uint_eq(got[2], 0x01);
	free(got);
	uint8_t *a = NULL, *b = NULL;
	const char *id = "{alnum:0123456789abcdefghijXYZ}";
	ck_assert_int_eq(raw_expand(id, &(raw_names){ "msim-1-a", NULL }, &a, msg, sizeof msg), 25);
	ck_assert_int_eq(raw_expand(id, &(raw_names){ "msim-1-b", NULL }, &b, msg, sizeof msg), 25);
	ck_assert(memcmp(a, b, 25) != 0);
	ck_assert(!memcmp(a + 2, "0123456789a", 11)); /* the head kept, the last 12 the run's */
	for (int i = 2; i < 25; i++)
		ck_assert(isalnum(a[i]) && isalnum(b[i]));
	free(a);
	free(b);
}
END_TEST

Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("hex");
	tcase_add_loop_test(tc, test_hex_parse, 0, (int)(sizeof hex_rows / sizeof hex_rows[0]));
	tcase_add_test(tc, test_hex_parse_capacity);
	tcase_add_loop_test(tc, test_raw_expand, 0, (int)(sizeof raw_rows / sizeof raw_rows[0]));
	tcase_add_test(tc, test_raw_expand_long_and_alnum);
	tcase_add_loop_test(tc, test_raw_prefix_at, 0, (int)(sizeof prefix_rows / sizeof prefix_rows[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("decode");
	tcase_add_loop_test(tc, test_decode_cmd, 0, (int)(sizeof decode_rows / sizeof decode_rows[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("options");
	tcase_add_loop_test(tc, test_option_values, 0, (int)(sizeof opt_rows / sizeof opt_rows[0]));
	suite_add_tcase(s, tc);
	return s;
}
