/*
 * report.c - what the report writers share: names of statuses, verdicts and formats, the
 * --report list parser, and UTF-8 handling that turns any byte string into text.
 */
#include "reports/report.h"
#include "reports/report_text.h"

#include <string.h>

const char *rep_status_name(int status)
{
	switch (status) {
	case REP_PASS: return "pass";
	case REP_FAIL: return "fail";
	case REP_SKIP: return "skip";
	case REP_ERROR: return "error";
	default: return "?";
	}
}

const char *rep_verdict_name(int verdict)
{
	switch (verdict) {
	case REP_V_PASS: return "pass";
	case REP_V_FAIL: return "fail";
	case REP_V_XFAIL: return "xfail";
	case REP_V_XPASS: return "xpass";
	case REP_V_OPTIONAL: return "optional";
	case REP_V_UNTESTED: return "untested";
	case REP_V_NA: return "na";
	default: return "?";
	}
}

static const struct {
	const char *name, *ext;
	unsigned bit;
} formats[] = {
	{ "junit", "junit.xml", REP_FMT_JUNIT },
	{ "json", "json", REP_FMT_JSON },
	{ "tap", "tap", REP_FMT_TAP },
	{ "html", "html", REP_FMT_HTML },
	{ "pcap", "pcap", REP_FMT_PCAP },
};
#define FORMAT_LIST "junit, json, tap, html, pcap"


const char *rep_format_ext(unsigned format)
{
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (formats[i].bit == format)
			return formats[i].ext;
	return NULL;
}

int rep_formats_parse(const char *list, unsigned *out, char *msg, size_t msgcap)
{
	unsigned bits = 0;
	const char *p = list ? list : "";
	if (!*p) {
		snprintf(msg, msgcap, "--report takes a list of formats: " FORMAT_LIST " (e.g. --report junit,html)");
		return -1;
	}
	for (;;) {
		size_t n = strcspn(p, ",");
		bool found = false;
		for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
			if (strlen(formats[i].name) == n && !strncmp(p, formats[i].name, n)) {
				bits |= formats[i].bit;
				found = true;
			}
		if (!found) {
			if (n == 0)
				snprintf(msg, msgcap, "--report '%.64s': an empty format in the list; formats: " FORMAT_LIST, list);
			else
				snprintf(msg, msgcap, "--report: unknown format '%.*s'; formats: " FORMAT_LIST " (separate with commas)",
					 (int)(n > 64 ? 64 : n), p);
			return -1;
		}
		if (!p[n])
			break;
		p += n + 1;
	}
	*out = bits;
	return 0;
}

size_t rep_utf8_next(const char *str, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned c = s[0];
	if (c == 0) {
		*cp = 0;
		return 0;
	}
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t n;
	uint32_t v, min;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2, v = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3, v = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		*cp = REP_REPLACEMENT;
		return 1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) { /* also stops at the NUL */
			*cp = REP_REPLACEMENT;
			return 1;
		}
		v = v << 6 | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		*cp = REP_REPLACEMENT;
		return 1;
	}
	*cp = v;
	return n;
}

void rep_put_utf8(FILE *f, uint32_t cp)
{
	if (cp < 0x80) {
		fputc((int)cp, f);
	} else if (cp < 0x800) {
		fputc((int)(0xC0 | cp >> 6), f);
		fputc((int)(0x80 | (cp & 0x3F)), f);
	} else if (cp < 0x10000) {
		fputc((int)(0xE0 | cp >> 12), f);
		fputc((int)(0x80 | (cp >> 6 & 0x3F)), f);
		fputc((int)(0x80 | (cp & 0x3F)), f);
	} else {
		fputc((int)(0xF0 | cp >> 18), f);
		fputc((int)(0x80 | (cp >> 12 & 0x3F)), f);
		fputc((int)(0x80 | (cp >> 6 & 0x3F)), f);
		fputc((int)(0x80 | (cp & 0x3F)), f);
	}
}

void rep_put_xml(FILE *f, uint32_t cp)
{
	switch (cp) {
	case '&': fputs("&amp;", f); return;
	case '<': fputs("&lt;", f); return;
	case '>': fputs("&gt;", f); return;
	case '"': fputs("&quot;", f); return;
	case '\'': fputs("&#39;", f); return;
	default: break;
	}
	/* XML 1.0 has no escape for C0 controls; HTML calls C1 controls and noncharacters errors. */
	if ((cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7F && cp < 0xA0) || cp == 0xFFFE || cp == 0xFFFF)
		cp = REP_REPLACEMENT;
	rep_put_utf8(f, cp);
}

void rep_put_backslashed(FILE *f, const char *s, void (*other)(FILE *f, uint32_t cp))
{
	static const char plain[] = "\"\\\n\r\t", escaped[] = "\"\\nrt";
	fputc('"', f);
	uint32_t cp;
	size_t n;
	while ((n = rep_utf8_next(s, &cp)) > 0) {
		s += n;
		const char *e = cp && cp < 0x80 ? strchr(plain, (int)cp) : NULL;
		if (e) {
			fputc('\\', f);
			fputc(escaped[e - plain], f);
		} else {
			other(f, cp);
		}
	}
	fputc('"', f);
}

void rep_put_seconds(FILE *f, int64_t us, int decimals)
{
	if (us < 0)
		us = 0;
	if (decimals == 6)
		fprintf(f, "%lld.%06lld", (long long)(us / 1000000), (long long)(us % 1000000));
	else
		fprintf(f, "%lld.%03lld", (long long)(us / 1000000), (long long)(us % 1000000 / 1000));
}

void rep_top_section(const char *section, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", section ? section : "");
	char *dot = strchr(buf, '.');
	if (dot && (dot = strchr(dot + 1, '.')))
		*dot = 0;
}
