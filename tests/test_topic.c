/*
 * test_topic.c - topic names, topic filters, matching, one filter covering another,
 * shared subscriptions and the UTF-8 rules of MQTT strings (mqtt/topic.c, mqtt/utf8.c).
 *
 * Every expectation comes from the specifications (MQTT 3.1.1 §1.5.3, §4.7; MQTT 5.0
 * §1.5.4, §4.7, §4.8.2; RFC 3629 §4), not from the code. Statement ids differ between the
 * versions, so rows that fail carry the version they are checked under.
 *
 * Inputs are copied into heap buffers of exactly their length (no terminator), so a read
 * past the end shows up under AddressSanitizer.
 */
#include "tests.h"

#include "mqtt/mqtt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V3 MQTT_V311
#define V5 MQTT_V5
#define PE (-MQTT_ERR_PROTOCOL)
#define MP (-MQTT_ERR_MALFORMED)

/* A string literal with its length, so rows can hold embedded NULs. */
#define S(lit) (lit), sizeof(lit) - 1, NULL
/* A long string: `fill` repeated, then `suffix`, `total` bytes in all. */
#define LONG(fill, suffix, total) (suffix), (total), (fill)

static const char *vname(uint8_t version)
{
	return version == MQTT_V5 ? "5.0" : "3.1.1";
}

/*
 * Heap copies live until the end of the test: the checked teardown frees them, so a
 * failing assertion (which leaves the test early) leaks nothing under CK_FORK=no.
 */
static uint8_t *held[2];

static uint8_t *hold(size_t len)
{
	size_t k = held[0] ? 1 : 0;
	ck_assert_ptr_null(held[k]);
	held[k] = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(held[k]);
	return held[k];
}

static void release(void)
{
	for (size_t k = 0; k < 2; k++) {
		free(held[k]);
		held[k] = NULL;
	}
}

/* Copy len bytes into a heap block of exactly len bytes (ASan sees over-reads). */
static uint8_t *dup_exact(const void *s, size_t len)
{
	uint8_t *p = hold(len);
	if (len)
		memcpy(p, s, len);
	return p;
}

static uint8_t *build(const char *s, size_t len, const char *fill)
{
	if (!fill)
		return dup_exact(s, len);
	size_t slen = strlen(s), flen = strlen(fill);
	ck_assert_msg(len >= slen && (len - slen) % flen == 0, "bad LONG row in test table");
	uint8_t *p = hold(len);
	for (size_t i = 0; i + slen < len; i += flen)
		memcpy(p + i, fill, flen);
	memcpy(p + len - slen, s, slen);
	return p;
}

/* Printable rendering for failure messages: \xHH for the rest, long strings cut short. */
static const char *esc(const uint8_t *s, size_t len, char *buf, size_t cap)
{
	size_t o = 0;
	size_t shown = len > 40 ? 40 : len;
	for (size_t i = 0; i < shown && o + 8 < cap; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '"' && s[i] != '\\')
			buf[o++] = (char)s[i];
		else
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02X", s[i]);
	}
	buf[o] = '\0';
	if (shown < len)
		snprintf(buf + o, cap - o, "...(%zu bytes)", len);
	return buf;
}

/* ---- 1. mqtt_topic_match ------------------------------------------------------------ */

/* Filters and topics here are all valid (checked in the test); "sport/..." rows are the
 * examples of 3.1.1 §4.7.1.2, §4.7.1.3, §4.7.2 and 5.0 §4.7.1.2, §4.7.1.3, §4.7.2. */
static const struct match_row {
	const char *filter;
	const char *topic;
	bool match;
} match_rows[] = {
	/* exact; matching compares bytes, case-sensitive, no normalisation (4.7.3-4) */
	{ "a", "a", true },
	{ "a", "b", false },
	{ "a/b/c", "a/b/c", true },
	{ "a/b/c", "a/b", false },                        /* filter longer than topic */
	{ "a/b", "a/b/c", false },                        /* filter shorter than topic */
	{ "a/b", "a/bc", false },
	{ "a/bc", "a/b", false },
	{ "ab", "a", false },
	{ "a", "ab", false },
	{ "sport/tennis/player1", "sport/tennis/player1", true },
	{ "ACCOUNTS", "Accounts", false },                /* §4.7.3: different names */
	{ "Accounts", "Accounts", true },
	{ "accounts/+", "Accounts/x", false },
	{ "Accounts payable", "Accounts payable", true }, /* space is allowed */
	{ "/finance", "finance", false },                 /* §4.7.3: distinct topics */
	{ "finance", "/finance", false },
	/* '+' : one whole level, possibly empty */
	{ "sport/tennis/+", "sport/tennis/player1", true },
	{ "sport/tennis/+", "sport/tennis/player2", true },
	{ "sport/tennis/+", "sport/tennis/player1/ranking", false },
	{ "sport/+", "sport", false },
	{ "sport/+", "sport/", true },
	{ "+/+", "/finance", true },
	{ "/+", "/finance", true },
	{ "+", "/finance", false },
	{ "+", "finance", true },
	{ "+/tennis/#", "sport/tennis/player1", true },
	{ "+/tennis/#", "sport/tennis", true },
	{ "sport/+/player1", "sport/tennis/player1", true },
	{ "sport/+/player1", "sport/tennis/player2", false },
	{ "+/b", "a/b", true },                           /* '+' at the start */
	{ "+/b", "a/c", false },
	{ "a/+/c", "a/b/c", true },                       /* '+' in the middle */
	{ "a/+/c", "a//c", true },                        /* ... matching an empty level */
	{ "a/+/c", "a/b/d", false },
	{ "a/+/c", "a/c", false },
	{ "a/+", "a/", true },                            /* '+' at the end, empty level */
	{ "a/+", "a", false },
	{ "a/+", "a/b/c", false },
	{ "+/+", "a", false },
	{ "+/+", "/", true },
	{ "+/+/+", "a/b/c", true },
	{ "+/+/+", "a/b", false },
	{ "+", "a/b", false },
	{ "+", "a/", false },
	/* '#' : the rest of the levels, including the parent level */
	{ "#", "a", true },
	{ "#", "a/b/c", true },
	{ "#", "/", true },
	{ "#", "/finance", true },
	{ "#", "a/$SYS", true },
	{ "sport/tennis/player1/#", "sport/tennis/player1", true },
	{ "sport/tennis/player1/#", "sport/tennis/player1/ranking", true },
	{ "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true },
	{ "sport/tennis/player1/#", "sport/tennis/player2", false },
	{ "sport/tennis/player1/#", "sport/tennis", false },
	{ "sport/#", "sport", true },
	{ "sport/#", "sports", false },
	{ "a/#", "a", true },
	{ "a/#", "ab", false },
	{ "a/#", "a/", true },
	{ "a/#", "b/a", false },
	{ "a/#", "b", false },
	{ "a/b/#", "a", false },
	{ "+/#", "a", true },
	{ "+/#", "a/b/c", true },
	{ "+/#", "/", true },
	{ "a/+/#", "a", false },
	{ "a/+/#", "a/b", true },
	{ "a/+/#", "a/b/c/d", true },
	{ "/#", "/", true },
	{ "/#", "a", false },
	{ "/#", "/a/b", true },
	{ "+/+/+/+/+/+/+/#", "a/b/c/d/e/f/g/h/i", true },
	{ "+/+/+/+/+/+/+/#", "a/b/c/d/e/f", false },
	/* '$' topics: a filter starting with a wildcard never matches them (4.7.2-1) */
	{ "#", "$SYS/broker/load", false },
	{ "#", "$SYS", false },
	{ "+/monitor/Clients", "$SYS/monitor/Clients", false },
	{ "$SYS/#", "$SYS/monitor/Clients", true },
	{ "$SYS/#", "$SYS", true },
	{ "$SYS/monitor/+", "$SYS/monitor/Clients", true },
	{ "$SYS/+", "$SYS/broker", true },
	{ "+/#", "$SYS/x", false },
	{ "+", "$SYS", false },
	{ "+", "$", false },
	{ "+/+", "$SYS/x", false },
	{ "$SYS/#", "SYS/x", false },
	{ "$x", "$x", true },
	{ "a/$x", "a/$x", true },
	{ "a/+", "a/$x", true },                          /* only the first level counts */
	{ "a/#", "a/$x/y", true },
	/* trailing slash: an extra empty level */
	{ "a/b/", "a/b", false },
	{ "a/b", "a/b/", false },
	{ "a/b/", "a/b/", true },
	{ "a/b/#", "a/b/", true },
	{ "a/b/+", "a/b/", true },
	/* empty levels */
	{ "a//b", "a//b", true },
	{ "a//b", "a/b", false },
	{ "a/b", "a//b", false },
	{ "//", "//", true },
	{ "//", "/", false },
	{ "/", "//", false },
	{ "/", "/", true },
	{ "+/+/+", "//", true },
	{ "+//+", "a//b", true },
	{ "+//+", "a/x/b", false },
	{ "a//#", "a/", true },                           /* parent of "a//" */
	/* UTF-8: bytes compared as they are; a BOM is a character (1.5.x-3) */
	{ "caf\xC3\xA9/+", "caf\xC3\xA9/cr\xC3\xA8me", true },
	{ "caf\xC3\xA9", "cafe", false },
	{ "caf\xC3\xA9", "cafe\xCC\x81", false },         /* NFC vs NFD: not normalised */
	{ "\xC3\xA9", "\xC3\xA8", false },
	{ "+/\xE2\x82\xAC", "x/\xE2\x82\xAC", true },
	{ "\xF0\x9F\x98\x80/#", "\xF0\x9F\x98\x80", true },
	{ "\xEF\xBB\xBF" "a", "a", false },
	{ "\xEF\xBB\xBF" "a", "\xEF\xBB\xBF" "a", true },
};

START_TEST(test_match)
{
	const char *fs = match_rows[_i].filter, *ts = match_rows[_i].topic;
	size_t flen = strlen(fs), tlen = strlen(ts);
	uint8_t *f = dup_exact(fs, flen), *t = dup_exact(ts, tlen);
	char fb[200], tb[200];
	mqtt_err e = { 0 };

	/* The row must be valid input for the matcher in both versions. */
	for (uint8_t v = V3; v <= V5; v++) {
		ck_assert_msg(mqtt_topic_filter_check(f, flen, v, &e) == 0,
			      "row %d: bad test row: filter \"%s\" rejected in %s (%s)", _i,
			      esc(f, flen, fb, sizeof fb), vname(v), e.msg);
		ck_assert_msg(mqtt_topic_name_check(t, tlen, v, &e) == 0,
			      "row %d: bad test row: topic \"%s\" rejected in %s (%s)", _i,
			      esc(t, tlen, tb, sizeof tb), vname(v), e.msg);
	}
	bool got = mqtt_topic_match(f, flen, t, tlen);
	ck_assert_msg(got == match_rows[_i].match, "row %d: match(\"%s\", \"%s\") = %s, want %s", _i,
		      esc(f, flen, fb, sizeof fb), esc(t, tlen, tb, sizeof tb), got ? "true" : "false",
		      match_rows[_i].match ? "true" : "false");
	release();
}
END_TEST

/* ---- 2. mqtt_topic_name_check, mqtt_topic_filter_check, mqtt_share_parse ------------ */

/*
 * kind: 'n' topic name, 'f' topic filter. rc 0, PE or MP. offset: the first byte that
 * breaks the rule, relative to the string; for a rule about the whole string (empty, too
 * long) offset 0; for a missing part, where that part would start. reason: the 5.0 reason
 * code a receiver would use, where the spec makes it clear (0x8F Topic Filter invalid,
 * 0x90 Topic Name invalid, 0x81 Malformed Packet for UTF-8); 0 = not checked.
 * Topic syntax errors are PE (well-formed bytes breaking a protocol rule); UTF-8 errors
 * are MP (5.0 MQTT-1.5.4-1/-2 say Malformed Packet).
 */
static const struct check_row {
	uint8_t version;
	char kind;
	const char *s;
	size_t len;
	const char *fill;
	int rc;
	const char *stmt;
	uint32_t offset;
	uint8_t reason;
} check_rows[] = {
	/* at least one character (4.7.3-1) */
	{ V3, 'n', S(""), PE, "MQTT-4.7.3-1", 0, 0 },
	{ V5, 'n', S(""), PE, "MQTT-4.7.3-1", 0, 0 },
	{ V3, 'f', S(""), PE, "MQTT-4.7.3-1", 0, 0 },
	{ V5, 'f', S(""), PE, "MQTT-4.7.3-1", 0, 0 },
	/* at most 65535 bytes (4.7.3-3): bytes, not characters */
	{ V3, 'n', LONG("a", "", 65535), 0, NULL, 0, 0 },
	{ V5, 'n', LONG("a", "", 65536), PE, "MQTT-4.7.3-3", 0, 0 },
	{ V3, 'f', LONG("a", "/#", 65535), 0, NULL, 0, 0 },
	{ V5, 'f', LONG("a", "/#", 65536), PE, "MQTT-4.7.3-3", 0, 0 },
	{ V3, 'f', LONG("a", "", 65536), PE, "MQTT-4.7.3-3", 0, 0 },
	{ V5, 'n', LONG("\xE2\x82\xAC", "", 65535), 0, NULL, 0, 0 },          /* 21845 chars */
	{ V3, 'n', LONG("\xE2\x82\xAC", "", 65538), PE, "MQTT-4.7.3-3", 0, 0 }, /* 21846 */
	{ V5, 'n', LONG("a", "+", 65535), PE, "MQTT-4.7.0-1", 65534, 0x90 },
	/* no wildcards in topic names: 3.1.1 MQTT-4.7.1-1, 5.0 MQTT-4.7.0-1 */
	{ V3, 'n', S("a/+"), PE, "MQTT-4.7.1-1", 2, 0x90 },
	{ V5, 'n', S("a/+"), PE, "MQTT-4.7.0-1", 2, 0x90 },
	{ V3, 'n', S("#"), PE, "MQTT-4.7.1-1", 0, 0x90 },
	{ V5, 'n', S("#"), PE, "MQTT-4.7.0-1", 0, 0x90 },
	{ V3, 'n', S("+/x"), PE, "MQTT-4.7.1-1", 0, 0x90 },
	{ V5, 'n', S("sport/tennis/#"), PE, "MQTT-4.7.0-1", 13, 0x90 },
	{ V5, 'n', S("a+b"), PE, "MQTT-4.7.0-1", 1, 0x90 },
	{ V3, 'n', S("a#"), PE, "MQTT-4.7.1-1", 1, 0x90 },
	/* valid topic names */
	{ V3, 'n', S("sport/tennis/player1"), 0, NULL, 0, 0 },
	{ V5, 'n', S("/"), 0, NULL, 0, 0 },
	{ V3, 'n', S("//"), 0, NULL, 0, 0 },
	{ V5, 'n', S("$SYS/broker"), 0, NULL, 0, 0 },
	{ V3, 'n', S("Accounts payable"), 0, NULL, 0, 0 },
	{ V5, 'n', S("caf\xC3\xA9"), 0, NULL, 0, 0 },
	{ V5, 'n', S("\xEF\xBB\xBF"), 0, NULL, 0, 0 },
	{ V5, 'n', S("$share/g/a"), 0, NULL, 0, 0 }, /* sharing is for filters only */
	/* '#' alone in the last level: 3.1.1 MQTT-4.7.1-2, 5.0 MQTT-4.7.1-1 */
	{ V3, 'f', S("a#"), PE, "MQTT-4.7.1-2", 1, 0x8F },
	{ V5, 'f', S("a#"), PE, "MQTT-4.7.1-1", 1, 0x8F },
	{ V3, 'f', S("a/#/b"), PE, "MQTT-4.7.1-2", 2, 0x8F },
	{ V5, 'f', S("a/#/b"), PE, "MQTT-4.7.1-1", 2, 0x8F },
	{ V3, 'f', S("#/a"), PE, "MQTT-4.7.1-2", 0, 0x8F },
	{ V5, 'f', S("#/a"), PE, "MQTT-4.7.1-1", 0, 0x8F },
	{ V5, 'f', S("sport/tennis#"), PE, "MQTT-4.7.1-1", 12, 0x8F },
	{ V3, 'f', S("sport/tennis/#/ranking"), PE, "MQTT-4.7.1-2", 13, 0x8F },
	{ V3, 'f', S("#/"), PE, "MQTT-4.7.1-2", 0, 0x8F },
	{ V5, 'f', S("##"), PE, "MQTT-4.7.1-1", 0, 0x8F },
	/* '+' a whole level: 3.1.1 MQTT-4.7.1-3, 5.0 MQTT-4.7.1-2 */
	{ V3, 'f', S("a+"), PE, "MQTT-4.7.1-3", 1, 0x8F },
	{ V5, 'f', S("a+"), PE, "MQTT-4.7.1-2", 1, 0x8F },
	{ V3, 'f', S("+a"), PE, "MQTT-4.7.1-3", 0, 0x8F },
	{ V5, 'f', S("+a"), PE, "MQTT-4.7.1-2", 0, 0x8F },
	{ V3, 'f', S("a/+b"), PE, "MQTT-4.7.1-3", 2, 0x8F },
	{ V5, 'f', S("a/+b"), PE, "MQTT-4.7.1-2", 2, 0x8F },
	{ V5, 'f', S("sport+"), PE, "MQTT-4.7.1-2", 5, 0x8F },
	{ V3, 'f', S("++"), PE, "MQTT-4.7.1-3", 0, 0x8F },
	{ V5, 'f', S("+#"), PE, "MQTT-4.7.1-2", 0, 0x8F },
	{ V3, 'f', S("a/b+/c"), PE, "MQTT-4.7.1-3", 3, 0x8F },
	/* valid filters */
	{ V3, 'f', S("+"), 0, NULL, 0, 0 },
	{ V5, 'f', S("+"), 0, NULL, 0, 0 },
	{ V3, 'f', S("#"), 0, NULL, 0, 0 },
	{ V5, 'f', S("#"), 0, NULL, 0, 0 },
	{ V3, 'f', S("+/+"), 0, NULL, 0, 0 },
	{ V5, 'f', S("a/+/#"), 0, NULL, 0, 0 },
	{ V3, 'f', S("/"), 0, NULL, 0, 0 },
	{ V5, 'f', S("$SYS/#"), 0, NULL, 0, 0 },
	{ V3, 'f', S("+/tennis/#"), 0, NULL, 0, 0 },
	{ V5, 'f', S("sport/+/player1"), 0, NULL, 0, 0 },
	{ V5, 'f', S("/+"), 0, NULL, 0, 0 },
	{ V3, 'f', S("+/"), 0, NULL, 0, 0 },
	{ V5, 'f', S("//"), 0, NULL, 0, 0 },
	{ V3, 'f', S("sport/tennis/player1/#"), 0, NULL, 0, 0 },
	{ V5, 'f', S("caf\xC3\xA9/+"), 0, NULL, 0, 0 },
	/* U+0000: 3.1.1 MQTT-1.5.3-2, 5.0 MQTT-1.5.4-2 (4.7.3-2 restates it for topics) */
	{ V3, 'n', S("a\0b"), MP, "MQTT-1.5.3-2", 1, 0x81 },
	{ V5, 'n', S("a\0b"), MP, "MQTT-1.5.4-2", 1, 0x81 },
	{ V3, 'f', S("\0"), MP, "MQTT-1.5.3-2", 0, 0x81 },
	{ V5, 'f', S("+/\0"), MP, "MQTT-1.5.4-2", 2, 0x81 },
	/* ill-formed UTF-8: 3.1.1 MQTT-1.5.3-1, 5.0 MQTT-1.5.4-1 */
	{ V3, 'n', S("a/\xC0\x80"), MP, "MQTT-1.5.3-1", 2, 0x81 },
	{ V5, 'n', S("a/\x80"), MP, "MQTT-1.5.4-1", 2, 0x81 },
	{ V3, 'f', S("+/\xFE"), MP, "MQTT-1.5.3-1", 2, 0x81 },
	{ V5, 'f', S("a/\xC3"), MP, "MQTT-1.5.4-1", 2, 0x81 },
	{ V5, 'f', S("\xC3(/#"), MP, "MQTT-1.5.4-1", 1, 0x81 },
	/* shared subscriptions, 5.0 §4.8.2 */
	{ V5, 'f', S("$share/g/a/b"), 0, NULL, 0, 0 },
	{ V5, 'f', S("$share//a"), PE, "MQTT-4.8.2-1", 7, 0 },
	{ V5, 'f', S("$share/"), PE, "MQTT-4.8.2-1", 7, 0 },
	{ V5, 'f', S("$share/g"), PE, "MQTT-4.8.2-2", 8, 0 },
	{ V5, 'f', S("$share/g/"), PE, "MQTT-4.8.2-2", 9, 0 },
	{ V5, 'f', S("$share/g+/a"), PE, "MQTT-4.8.2-2", 8, 0 },
	{ V5, 'f', S("$share/#/a"), PE, "MQTT-4.8.2-2", 7, 0 },
	{ V5, 'f', S("$share/g/a/#/b"), PE, "MQTT-4.7.1-1", 11, 0x8F },
	{ V5, 'f', S("$share/g/a+"), PE, "MQTT-4.7.1-2", 10, 0x8F },
	{ V5, 'f', S("$share/g/#"), 0, NULL, 0, 0 },
	{ V5, 'f', S("$share/g/+/x/#"), 0, NULL, 0, 0 },
	{ V5, 'f', S("$share/g//"), 0, NULL, 0, 0 },
	{ V5, 'f', S("$share/gr\xC3\xBCn/x"), 0, NULL, 0, 0 },
	{ V5, 'f', S("$sharex/a"), 0, NULL, 0, 0 },   /* not a shared subscription */
	{ V5, 'f', S("$share"), 0, NULL, 0, 0 },
	{ V5, 'f', S("$SHARE/g/#"), 0, NULL, 0, 0 },
	/* 3.1.1 has no shared subscriptions: a plain filter */
	{ V3, 'f', S("$share/g/a"), 0, NULL, 0, 0 },
	{ V3, 'f', S("$share//a"), 0, NULL, 0, 0 },
	{ V3, 'f', S("$share/g"), 0, NULL, 0, 0 },
	{ V3, 'f', S("$share/g+/a"), PE, "MQTT-4.7.1-3", 8, 0x8F },
};

START_TEST(test_check)
{
	const struct check_row *r = &check_rows[_i];
	uint8_t *s = build(r->s, r->len, r->fill);
	char sb[200];
	mqtt_err e;
	memset(&e, 0, sizeof e);
	int rc = r->kind == 'n' ? mqtt_topic_name_check(s, r->len, r->version, &e)
				: mqtt_topic_filter_check(s, r->len, r->version, &e);
	bool ok = rc == r->rc;
	if (ok && r->rc) {
		ok = e.code == -r->rc && e.stmt && strcmp(e.stmt, r->stmt) == 0 &&
		     e.offset == r->offset && (r->reason == 0 || e.reason == r->reason) &&
		     e.msg[0] != '\0';
	}
	ck_assert_msg(ok,
		      "row %d: %s %s check(\"%s\"): got rc=%d stmt=%s offset=%u reason=0x%02X \"%s\"; "
		      "want rc=%d stmt=%s offset=%u reason=0x%02X",
		      _i, vname(r->version), r->kind == 'n' ? "name" : "filter",
		      esc(s, r->len, sb, sizeof sb), rc, rc && e.stmt ? e.stmt : "-",
		      rc ? e.offset : 0, rc ? e.reason : 0, rc ? e.msg : "", r->rc,
		      r->stmt ? r->stmt : "-", r->offset, r->reason);
	release();
}
END_TEST

/* mqtt_share_parse: 1 shared (name, filter), 0 not shared, -code malformed share. */
static const struct share_row {
	const char *s;
	size_t len;
	const char *fill;
	int rc;
	const char *name;
	const char *filter;
	const char *stmt;
	uint32_t offset;
} share_rows[] = {
	{ S("$share/g/a/b"), 1, "g", "a/b", NULL, 0 },
	{ S("$share/group1/sport/#"), 1, "group1", "sport/#", NULL, 0 },
	{ S("$share/g/#"), 1, "g", "#", NULL, 0 },
	{ S("$share/g//"), 1, "g", "/", NULL, 0 },
	{ S("$share/g/a/#/b"), 1, "g", "a/#/b", NULL, 0 }, /* the filter is checked elsewhere */
	{ S("$share//a"), PE, NULL, NULL, "MQTT-4.8.2-1", 7 },
	{ S("$share/"), PE, NULL, NULL, "MQTT-4.8.2-1", 7 },
	{ S("$share/g"), PE, NULL, NULL, "MQTT-4.8.2-2", 8 },
	{ S("$share/g/"), PE, NULL, NULL, "MQTT-4.8.2-2", 9 },
	{ S("$share/g+/a"), PE, NULL, NULL, "MQTT-4.8.2-2", 8 },
	{ S("$share/#/a"), PE, NULL, NULL, "MQTT-4.8.2-2", 7 },
	{ S("$share/a#b/c"), PE, NULL, NULL, "MQTT-4.8.2-2", 8 },
	{ S("$sharex/a"), 0, NULL, NULL, NULL, 0 },
	{ S("$share"), 0, NULL, NULL, NULL, 0 },
	{ S("$SHARE/g/a"), 0, NULL, NULL, NULL, 0 },
	{ S("a/$share/g/b"), 0, NULL, NULL, NULL, 0 },
	{ S("share/g/b"), 0, NULL, NULL, NULL, 0 },
	{ S(""), 0, NULL, NULL, NULL, 0 },
};

START_TEST(test_share_parse)
{
	const struct share_row *r = &share_rows[_i];
	uint8_t *s = build(r->s, r->len, r->fill);
	char sb[200], nb[200], fb[200];
	mqtt_str name = { NULL, 0 }, filter = { NULL, 0 };
	mqtt_err e;
	memset(&e, 0, sizeof e);
	int rc = mqtt_share_parse(s, r->len, &name, &filter, &e);
	esc(s, r->len, sb, sizeof sb);
	ck_assert_msg(rc == r->rc, "row %d: share_parse(\"%s\") = %d, want %d (%s)", _i, sb, rc, r->rc,
		      rc < 0 ? e.msg : "");
	if (rc == 1) {
		esc(name.data, name.len, nb, sizeof nb);
		esc(filter.data, filter.len, fb, sizeof fb);
		ck_assert_msg(strcmp(nb, r->name) == 0 && strcmp(fb, r->filter) == 0 &&
				      name.data >= s && filter.data + filter.len == s + r->len,
			      "row %d: share_parse(\"%s\"): name \"%s\" filter \"%s\", want \"%s\" \"%s\"",
			      _i, sb, nb, fb, r->name, r->filter);
	} else if (rc < 0) {
		ck_assert_msg(e.code == -r->rc && e.stmt && strcmp(e.stmt, r->stmt) == 0 &&
				      e.offset == r->offset,
			      "row %d: share_parse(\"%s\"): stmt=%s offset=%u, want stmt=%s offset=%u",
			      _i, sb, e.stmt ? e.stmt : "-", e.offset, r->stmt, r->offset);
	}
	release();
}
END_TEST

/* ---- 3. mqtt_utf8_check ------------------------------------------------------------- */

/*
 * RFC 3629 §4 (and Unicode Table 3-7) plus the MQTT ban on U+0000. offset: the first byte
 * that cannot continue a well-formed sequence, so "ED A0 80" fails at A0 (ED is a fine
 * lead byte: it starts U+D000..U+D7FF), "E0 80 80" at the first 80, "C0 80" at C0 (which
 * never starts anything); for a character cut short by the end of the string, its lead.
 */
static const struct utf8_row {
	uint8_t version;
	const char *s;
	size_t len;
	const char *fill;
	int rc;
	const char *stmt;
	uint32_t offset;
} utf8_rows[] = {
	{ V3, S(""), 0, NULL, 0 },
	{ V5, S("hello"), 0, NULL, 0 },
	{ V3, S("\x01\x1F\x7F"), 0, NULL, 0 },              /* SHOULD NOT, not MUST NOT */
	{ V5, S("\xC2\x80"), 0, NULL, 0 },                  /* U+0080 */
	{ V3, S("\xDF\xBF"), 0, NULL, 0 },                  /* U+07FF */
	{ V5, S("\xE0\xA0\x80"), 0, NULL, 0 },              /* U+0800 */
	{ V3, S("\xE2\x82\xAC"), 0, NULL, 0 },              /* U+20AC */
	{ V5, S("\xEF\xBF\xBF"), 0, NULL, 0 },              /* U+FFFF, a noncharacter */
	{ V3, S("\xF0\x90\x80\x80"), 0, NULL, 0 },          /* U+10000 */
	{ V5, S("\xF0\x9F\x98\x80"), 0, NULL, 0 },          /* U+1F600 */
	{ V3, S("\xF4\x8F\xBF\xBF"), 0, NULL, 0 },          /* U+10FFFF */
	{ V5, S("\xEF\xBB\xBF"), 0, NULL, 0 },              /* BOM: MQTT-1.5.4-3 */
	{ V3, S("a\xEF\xBB\xBF" "b"), 0, NULL, 0 },         /* BOM: MQTT-1.5.3-3 */
	{ V5, S("\xED\x9F\xBF"), 0, NULL, 0 },              /* U+D7FF */
	{ V3, S("\xEE\x80\x80"), 0, NULL, 0 },              /* U+E000 */
	/* surrogates */
	{ V3, S("\xED\xA0\x80"), MP, "MQTT-1.5.3-1", 1 },   /* U+D800 */
	{ V5, S("\xED\xBF\xBF"), MP, "MQTT-1.5.4-1", 1 },   /* U+DFFF */
	{ V5, S("ab\xED\xB2\x80"), MP, "MQTT-1.5.4-1", 3 }, /* U+DC80 */
	{ V3, S("\xED\xA0"), MP, "MQTT-1.5.3-1", 1 },       /* can only become a surrogate */
	/* overlong forms */
	{ V3, S("\xC0\x80"), MP, "MQTT-1.5.3-1", 0 },       /* not U+0000: ill-formed */
	{ V5, S("\xC0\x80"), MP, "MQTT-1.5.4-1", 0 },
	{ V5, S("\xC1\xBF"), MP, "MQTT-1.5.4-1", 0 },
	{ V3, S("\xE0\x80\x80"), MP, "MQTT-1.5.3-1", 1 },
	{ V5, S("\xE0\x9F\xBF"), MP, "MQTT-1.5.4-1", 1 },
	{ V3, S("\xF0\x80\x80\x80"), MP, "MQTT-1.5.3-1", 1 },
	{ V5, S("\xF0\x8F\xBF\xBF"), MP, "MQTT-1.5.4-1", 1 },
	/* beyond U+10FFFF, and lead bytes that never occur */
	{ V3, S("\xF4\x90\x80\x80"), MP, "MQTT-1.5.3-1", 1 }, /* U+110000 */
	{ V5, S("\xF5\x80\x80\x80"), MP, "MQTT-1.5.4-1", 0 },
	{ V3, S("\xF7\xBF\xBF\xBF"), MP, "MQTT-1.5.3-1", 0 },
	{ V5, S("\xF8\x88\x80\x80\x80"), MP, "MQTT-1.5.4-1", 0 },
	{ V3, S("\xFE"), MP, "MQTT-1.5.3-1", 0 },
	{ V5, S("x\xFF"), MP, "MQTT-1.5.4-1", 1 },
	/* lone continuation bytes */
	{ V3, S("\x80"), MP, "MQTT-1.5.3-1", 0 },
	{ V5, S("abc\xBF"), MP, "MQTT-1.5.4-1", 3 },
	{ V3, S("\xE2\x82\xAC\x80"), MP, "MQTT-1.5.3-1", 3 },
	/* truncated, and a continuation byte missing before the end */
	{ V3, S("\xC3"), MP, "MQTT-1.5.3-1", 0 },
	{ V5, S("a\xE2\x82"), MP, "MQTT-1.5.4-1", 1 },
	{ V3, S("\xF0\x9F\x98"), MP, "MQTT-1.5.3-1", 0 },
	{ V5, S("\xE2\x82\x41"), MP, "MQTT-1.5.4-1", 2 },
	{ V3, S("\xE2\x41\x41"), MP, "MQTT-1.5.3-1", 1 },
	{ V3, S("\xE2\x41"), MP, "MQTT-1.5.3-1", 1 },
	{ V5, S("\xC3("), MP, "MQTT-1.5.4-1", 1 },
	/* U+0000 has its own statement */
	{ V3, S("\0"), MP, "MQTT-1.5.3-2", 0 },
	{ V5, S("\0"), MP, "MQTT-1.5.4-2", 0 },
	{ V5, S("abc\0"), MP, "MQTT-1.5.4-2", 3 },
	{ V3, S("a\0\xFF"), MP, "MQTT-1.5.3-2", 1 },        /* the first problem wins */
	{ V5, S("\xFF\0"), MP, "MQTT-1.5.4-1", 0 },
};

START_TEST(test_utf8)
{
	const struct utf8_row *r = &utf8_rows[_i];
	uint8_t *s = build(r->s, r->len, r->fill);
	char sb[200];
	mqtt_err e;
	memset(&e, 0, sizeof e);
	int rc = mqtt_utf8_check(s, r->len, r->version, &e);
	bool ok = rc == r->rc;
	if (ok && r->rc)
		ok = e.code == -r->rc && e.stmt && strcmp(e.stmt, r->stmt) == 0 &&
		     e.offset == r->offset && e.reason == 0x81 && e.msg[0] != '\0';
	ck_assert_msg(ok,
		      "row %d: %s utf8_check(\"%s\"): got rc=%d stmt=%s offset=%u reason=0x%02X \"%s\"; "
		      "want rc=%d stmt=%s offset=%u reason=0x81",
		      _i, vname(r->version), esc(s, r->len, sb, sizeof sb), rc,
		      rc && e.stmt ? e.stmt : "-", rc ? e.offset : 0, rc ? e.reason : 0,
		      rc ? e.msg : "", r->rc, r->stmt ? r->stmt : "-", r->offset);
	release();
}
END_TEST

/* mqtt_utf8_well_formed, for payloads under Payload Format Indicator 1 [MQTT-3.3.2-4]: every
 * row above gives the same answer at the same byte, except that U+0000 is a character. */
START_TEST(test_utf8_well_formed)
{
	const struct utf8_row *r = &utf8_rows[_i];
	uint8_t *s = build(r->s, r->len, r->fill);
	bool nul_row = r->stmt && (!strcmp(r->stmt, "MQTT-1.5.3-2") || !strcmp(r->stmt, "MQTT-1.5.4-2"));
	mqtt_err e;
	memset(&e, 0, sizeof e);
	int rc = mqtt_utf8_well_formed(s, r->len, &e);
	if (nul_row && r->len == 3 && s[2] == 0xFF) { /* "a\0\xFF": the 0xFF is the problem now */
		ck_assert_int_eq(rc, MP);
		ck_assert_uint_eq(e.offset, 2);
	} else if (nul_row) {
		ck_assert_msg(rc == 0, "row %d: U+0000 refused by mqtt_utf8_well_formed: %s", _i, e.msg);
	} else {
		ck_assert_int_eq(rc, r->rc);
		if (rc)
			ck_assert_uint_eq(e.offset, r->offset);
	}
	if (rc)
		ck_assert_str_eq(e.stmt, "MQTT-3.3.2-4");
	release();
}
END_TEST

/* err may be NULL: the code still comes back. */
START_TEST(test_null_err)
{
	const uint8_t bad[] = { 'a', 0xC0, 0x80 };
	ck_assert_int_eq(mqtt_utf8_check(bad, sizeof bad, V5, NULL), MP);
	ck_assert_int_eq(mqtt_topic_name_check((const uint8_t *)"a/#", 3, V5, NULL), PE);
	ck_assert_int_eq(mqtt_topic_filter_check((const uint8_t *)"a#", 2, V3, NULL), PE);
	ck_assert_int_eq(mqtt_topic_filter_check((const uint8_t *)"", 0, V5, NULL), PE);
	mqtt_str n, f;
	ck_assert_int_eq(mqtt_share_parse((const uint8_t *)"$share//a", 9, &n, &f, NULL), PE);
	ck_assert_int_eq(mqtt_topic_filter_check((const uint8_t *)"$share/g/a", 10, V5, NULL), 0);
}
END_TEST

/* ---- 4. property test: mqtt_topic_match against a reference matcher ------------------- */

typedef struct level {
	const uint8_t *p;
	size_t n;
} level;

#define MAX_LEVELS 16

static size_t split_levels(const uint8_t *s, size_t len, level *out)
{
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '/') {
			ck_assert_uint_lt(k, MAX_LEVELS);
			out[k].p = s + start;
			out[k].n = i - start;
			k++;
			start = i + 1;
		}
	}
	return k;
}

static bool level_is(const level *l, char c)
{
	return l->n == 1 && l->p[0] == (uint8_t)c;
}

/* The rules of §4.7.1 level by level: '#' takes the rest (zero or more levels, so also
 * the parent), '+' exactly one level, anything else must be equal. */
static bool ref_levels(const level *f, size_t nf, const level *t, size_t nt)
{
	if (nf == 0)
		return nt == 0;
	if (level_is(&f[0], '#'))
		return true;
	if (nt == 0)
		return false;
	if (!level_is(&f[0], '+') && (f[0].n != t[0].n || memcmp(f[0].p, t[0].p, f[0].n) != 0))
		return false;
	return ref_levels(f + 1, nf - 1, t + 1, nt - 1);
}

static bool ref_match(const uint8_t *f, size_t flen, const uint8_t *t, size_t tlen)
{
	level fl[MAX_LEVELS], tl[MAX_LEVELS];
	size_t nf = split_levels(f, flen, fl), nt = split_levels(t, tlen, tl);
	/* §4.7.2: a filter whose first level is a wildcard does not match a '$' topic. */
	if (tlen > 0 && t[0] == '$' && (level_is(&fl[0], '#') || level_is(&fl[0], '+')))
		return false;
	return ref_levels(fl, nf, tl, nt);
}

static uint32_t xorshift32(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

static size_t random_topic(uint32_t *state, char *buf)
{
	static const char *const alphabet[] = { "a", "b", "+", "#", "", "$x" };
	size_t levels = 1 + xorshift32(state) % 4, o = 0;
	for (size_t i = 0; i < levels; i++) {
		const char *w = alphabet[xorshift32(state) % 6];
		if (i)
			buf[o++] = '/';
		memcpy(buf + o, w, strlen(w));
		o += strlen(w);
	}
	return o;
}

START_TEST(test_match_property)
{
	uint32_t state = 0x2545F491u;
	int compared = 0, matched = 0, tries = 0;
	char fbuf[32], tbuf[32], fb[100], tb[100];
	while (compared < 2000) {
		ck_assert_msg(++tries < 100000, "too few valid pairs after %d tries", tries);
		size_t flen = random_topic(&state, fbuf), tlen = random_topic(&state, tbuf);
		uint8_t *f = dup_exact(fbuf, flen), *t = dup_exact(tbuf, tlen);
		if (mqtt_topic_filter_check(f, flen, V5, NULL) == 0 &&
		    mqtt_topic_name_check(t, tlen, V5, NULL) == 0) {
			bool want = ref_match(f, flen, t, tlen);
			bool got = mqtt_topic_match(f, flen, t, tlen);
			ck_assert_msg(got == want, "pair %d: match(\"%s\", \"%s\") = %s, reference says %s",
				      compared, esc(f, flen, fb, sizeof fb), esc(t, tlen, tb, sizeof tb),
				      got ? "true" : "false", want ? "true" : "false");
			compared++;
			matched += want;
		}
		release();
	}
	/* The generator must exercise both outcomes for the comparison to mean anything. */
	ck_assert_int_ge(matched, 100);
	ck_assert_int_ge(compared - matched, 100);
}
END_TEST

/* ---- one filter covering another (mqtt_topic_filter_covers) ------------------------- */

/* Is f covered by g? Both copied to buffers of exactly their length. */
static bool covered(const char *f, const char *g)
{
	size_t flen = strlen(f), glen = strlen(g);
	bool r = mqtt_topic_filter_covers(dup_exact(f, flen), flen, dup_exact(g, glen), glen);
	release();
	return r;
}

START_TEST(test_covered_table)
{
	static const struct {
		const char *f, *g;
		bool want;
	} rows[] = {
		{ "a/+", "a/#", true },    { "a/+", "+/+", true },     { "a/#", "#", true },
		{ "a/#", "a/#", true },    { "a/#", "a/+", false },    { "a", "a/#", true },
		{ "a/#", "a", false },     { "#", "+/#", true },       { "a/#", "a/+/#", false },
		{ "+/+", "+/#", true },    { "a/b", "a/b", true },     { "a/b", "a/c", false },
		{ "a/b/c", "a/+", false }, { "a/b", "a/b/c", false },  { "+", "#", true },
		{ "+/#", "#", true },      { "#", "+", false },        { "#", "#", true },
		{ "a//b", "a/+/b", true }, { "a/", "a/+", true },      { "a/+", "a/", false },
		{ "a/+/c", "+/b/c", false }, { "$SYS/x", "#", false }, { "$SYS/x", "+/x", false },
		{ "$SYS/#", "$SYS/#", true }, { "$SYS/x", "$SYS/+", true }, { "+/x", "$SYS/x", false },
		{ "ab", "a", false },      { "a", "ab", false },       { "a/b/#", "a/+/#", true },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		ck_assert_msg(covered(rows[i].f, rows[i].g) == rows[i].want, "is %s covered by %s: want %s",
			      rows[i].f, rows[i].g, rows[i].want ? "yes" : "no");
}
END_TEST

/* "Covered" by its definition, checked by brute force: F is covered by G exactly when no
 * topic that F matches escapes G. Filters of up to 3 levels from {a, b, +, #} (and "$s"
 * first); topics of up to 4 levels from {a, b, z, ""} (and "$s" first): "z" and the empty
 * level stand for any value the filters do not name, the 4th level for "deeper". */
#define BF_F 80
#define BF_T 500

static int gen(char out[][16], int max, const char *const *first, int nfirst,
	       const char *const *rest, int nrest, int depth, bool is_filter)
{
	int n = 0;
	char cur[16];
	int idx[4] = { 0 };
	for (int d = 1; d <= depth; d++) {
		int total = nfirst;
		for (int k = 1; k < d; k++)
			total *= nrest;
		for (int c = 0; c < total; c++) {
			int v = c;
			idx[0] = v % nfirst;
			v /= nfirst;
			for (int k = 1; k < d; k++) {
				idx[k] = v % nrest;
				v /= nrest;
			}
			cur[0] = 0;
			bool okf = true;
			for (int k = 0; k < d; k++) {
				const char *lv = k ? rest[idx[k]] : first[idx[0]];
				if (is_filter && !strcmp(lv, "#") && k != d - 1)
					okf = false; /* '#' only last */
				if (k)
					strcat(cur, "/");
				strcat(cur, lv);
			}
			if (!okf || !cur[0])
				continue;
			ck_assert_int_lt(n, max);
			strcpy(out[n++], cur);
		}
	}
	return n;
}

START_TEST(test_covered_brute_force)
{
	static const char *ff[] = { "a", "b", "+", "#", "$s" }, *fr[] = { "a", "b", "+", "#" };
	static const char *tf[] = { "a", "b", "z", "", "$s" }, *tr[] = { "a", "b", "z", "" };
	static char F[BF_F][16], T[BF_T][16];
	static bool M[BF_F][BF_T];
	int nf = gen(F, BF_F, ff, 5, fr, 4, 3, true);
	int nt = gen(T, BF_T, tf, 5, tr, 4, 4, false);
	ck_assert_int_eq(nf, 69);
	ck_assert_int_eq(nt, 424);
	for (int i = 0; i < nf; i++)
		for (int t = 0; t < nt; t++)
			M[i][t] = mqtt_topic_match((const uint8_t *)F[i], strlen(F[i]),
						   (const uint8_t *)T[t], strlen(T[t]));
	int yes = 0, no = 0;
	for (int g = 0; g < nf; g++) {
		for (int f = 0; f < nf; f++) {
			bool want = true;
			int witness = -1;
			for (int t = 0; t < nt && want; t++)
				if (M[f][t] && !M[g][t]) {
					want = false;
					witness = t;
				}
			bool got = covered(F[f], F[g]);
			ck_assert_msg(got == want, "%s covered by %s: got %d, want %d (topic \"%s\")", F[f],
				      F[g], got, want, witness >= 0 ? T[witness] : "-");
			want ? yes++ : no++;
		}
	}
	ck_assert_int_gt(yes, 200);
	ck_assert_int_gt(no, 200);
}
END_TEST

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *topic_suite(void)
{
	Suite *s = suite_create("topic");
	TCase *tc = tcase_create("match");
	tcase_add_checked_fixture(tc, NULL, release);
	tcase_add_loop_test(tc, test_match, 0, NROWS(match_rows));
	tcase_add_test(tc, test_match_property);
	tcase_add_test(tc, test_covered_table);
	tcase_add_test(tc, test_covered_brute_force);
	suite_add_tcase(s, tc);
	tc = tcase_create("check");
	tcase_add_checked_fixture(tc, NULL, release);
	tcase_add_loop_test(tc, test_check, 0, NROWS(check_rows));
	tcase_add_loop_test(tc, test_share_parse, 0, NROWS(share_rows));
	tcase_add_test(tc, test_null_err);
	suite_add_tcase(s, tc);
	tc = tcase_create("utf8");
	tcase_add_checked_fixture(tc, NULL, release);
	tcase_add_loop_test(tc, test_utf8, 0, NROWS(utf8_rows));
	tcase_add_loop_test(tc, test_utf8_well_formed, 0, NROWS(utf8_rows));
	suite_add_tcase(s, tc);
	return s;
}
