/*
 * cmd_decode.c - `mqttsim decode [--version 3.1.1|5.0] [--json] HEX...`
 *
 * Decodes a byte stream of one or more packets, one after another, the way a receiver
 * would: a CONNECT switches the stream to the protocol level it declares. Stops at the
 * first bad packet, since a stream cannot be resynchronised after one.
 */
#include "harness/cli.h"
#include "mqtt/mqtt.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DECODE_MAX_INPUT (16u << 20) /* bytes of hex text read from stdin */

static const char decode_usage[] =
	"usage: mqttsim decode [--version 3.1.1|5.0] [--json] [HEX...]\n"
	"\n"
	"Decode MQTT packets given as hex, from the arguments or, with none (or '-'), stdin.\n"
	"Spaces, newlines, commas, colons and 0x prefixes are allowed: '10 0c 00 04', '0x10,0x0c'.\n"
	"Several packets in a row are decoded one after another; a CONNECT sets the version.\n"
	"\n"
	"  --version V   protocol version of the stream before any CONNECT: 3.1.1 (default) or 5.0\n"
	"  --json        one JSON object per packet (JSON Lines)\n"
	"\n"
	"Options may come before or after the hex; input on stdin is read up to 16 MiB.\n"
	"\n"
	"exit: 0 all packets decoded, 1 a packet is malformed or incomplete, 2 bad usage or non-hex input\n";

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Where byte at sits in text, for a person: "character N", or "line L, character N" in text
 * of several lines; a UTF-8 sequence counts as one character. */
static void locate(const char *text, size_t at, char *out, size_t cap)
{
	size_t line = 1, col = 1;
	bool lines = memchr(text, '\n', at) != NULL;
	for (size_t i = 0; i < at; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\n') {
			line++;
			col = 1;
		} else if ((c & 0xc0) != 0x80) {
			col++;
		}
	}
	if (lines)
		snprintf(out, cap, "line %zu, character %zu", line, col);
	else
		snprintf(out, cap, "character %zu", col);
}

long hex_parse_n(const char *text, size_t len, unsigned char *dst, size_t cap, char *msg,
		 size_t msg_cap)
{
	size_t n = 0;
	const char *p = text, *end = text + len;
	char where[64], what[16];
#define SEP(c) (isspace((unsigned char)(c)) || (c) == ',' || (c) == ':')
	while (p < end) {
		if (SEP(*p)) {
			p++;
			continue;
		}
		/* One token: optional 0x, then hex digits. */
		const char *tok = p;
		bool prefixed = false;
		if (end - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
			prefixed = true;
			p += 2;
		}
		const char *digits = p;
		while (p < end && !SEP(*p)) {
			if (hexval((unsigned char)*p) < 0) {
				cli_char((const unsigned char *)p, (size_t)(end - p), what, sizeof what);
				locate(text, (size_t)(p - text), where, sizeof where);
				snprintf(msg, msg_cap, "'%s' at %s is not a hex digit", what, where);
				return -1;
			}
			p++;
		}
		size_t nd = (size_t)(p - digits);
		if (nd == 0) {
			locate(text, (size_t)(tok - text), where, sizeof where);
			snprintf(msg, msg_cap, "'0x' at %s has no digits after it", where);
			return -1;
		}
		if (nd % 2 && !(prefixed && nd == 1)) {
			/* The token is 0x and hex digits only: safe to print. */
			locate(text, (size_t)(tok - text), where, sizeof where);
			snprintf(msg, msg_cap,
				 "'%.*s' at %s has an odd number of hex digits (write bytes as pairs)",
				 (int)(p - tok > 20 ? 20 : p - tok), tok, where);
			return -1;
		}
		for (size_t i = 0; i < nd;) {
			int v;
			if (nd % 2) {
				v = hexval((unsigned char)digits[0]);
				i = 1;
			} else {
				v = hexval((unsigned char)digits[i]) << 4 | hexval((unsigned char)digits[i + 1]);
				i += 2;
			}
			if (n >= cap) {
				snprintf(msg, msg_cap, "more than %zu bytes of input", cap);
				return -1;
			}
			dst[n++] = (unsigned char)v;
		}
	}
#undef SEP
	return (long)n;
}

long hex_parse(const char *text, unsigned char *dst, size_t cap, char *msg, size_t msg_cap)
{
	return hex_parse_n(text, strlen(text), dst, cap, msg, msg_cap);
}

static void print_error(FILE *out, bool json, size_t at, const mqtt_err *e)
{
	if (json) {
		fprintf(out, "{\"offset\":%zu,\"error\":{\"kind\":\"%s\",\"statement\":\"%s\","
			     "\"packet_offset\":%u,\"stream_offset\":%zu,\"reason\":%u,\"message\":\"",
			at, mqtt_rc_name(e->code), e->stmt ? e->stmt : "", e->offset, at + e->offset,
			e->reason);
		for (const char *m = e->msg; *m; m++) {
			if (*m == '"' || *m == '\\')
				fputc('\\', out);
			fputc(*m, out);
		}
		fprintf(out, "\"}}\n");
	} else {
		fprintf(out, "%06zx  error: %s [%s] at byte %u of the packet (stream byte %zu): %s\n", at,
			mqtt_rc_name(e->code), e->stmt ? e->stmt : "-", e->offset, at + e->offset, e->msg);
	}
}

int cmd_decode(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	uint8_t version = MQTT_V311;
	bool json = false, from_stdin = false, opts = true;
	size_t text_len = 0;
	/* Options may come before or after the hex: hex never starts with '-'. */
	char **hex = calloc((size_t)argc + 1, sizeof *hex);
	int nhex = 0;
	if (!hex) {
		fprintf(err, "mqttsim decode: out of memory\n");
		return EXIT_USAGE;
	}

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!opts || a[0] != '-' || a[1] == 0) {
			hex[nhex++] = argv[i];
		} else if (!strcmp(a, "--")) {
			opts = false;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			free(hex);
			fputs(decode_usage, out);
			return EXIT_PASS;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--version") || !strncmp(a, "--version=", 10)) {
			const char *v = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
			if (v && (!strcmp(v, "3.1.1") || !strcmp(v, "4")))
				version = MQTT_V311;
			else if (v && (!strcmp(v, "5.0") || !strcmp(v, "5")))
				version = MQTT_V5;
			else {
				char shown[64] = "(nothing)";
				if (v)
					cli_escape(v, strlen(v), shown, sizeof shown);
				fprintf(err, "mqttsim decode: --version takes 3.1.1 or 5.0, not '%s'\n", shown);
				free(hex);
				return EXIT_USAGE;
			}
		} else {
			char shown[80];
			cli_escape(a, strlen(a), shown, sizeof shown);
			fprintf(err, "mqttsim decode: unknown option '%s'\n%s", shown, decode_usage);
			free(hex);
			return EXIT_USAGE;
		}
	}

	char *text;
	if (nhex == 0 || (nhex == 1 && !strcmp(hex[0], "-"))) {
		from_stdin = true;
		struct stat st;
		if (fstat(fileno(in), &st) == 0 && S_ISDIR(st.st_mode)) {
			fprintf(err, "mqttsim decode: stdin is a directory; give hex as arguments or pipe it in\n");
			free(hex);
			return EXIT_USAGE;
		}
		const char *why = NULL;
		text = cli_read_all(in, DECODE_MAX_INPUT, &text_len, &why);
		if (!text) {
			if (!strcmp(why, "too large"))
				fprintf(err, "mqttsim decode: input is larger than 16 MiB, the most decode reads\n");
			else
				fprintf(err, "mqttsim decode: cannot read stdin: %s\n", why);
			free(hex);
			return EXIT_USAGE;
		}
	} else {
		for (int i = 0; i < nhex; i++) {
			if (!strcmp(hex[i], "-")) {
				fprintf(err, "mqttsim decode: '-' (read stdin) cannot be mixed with hex arguments\n");
				free(hex);
				return EXIT_USAGE;
			}
			text_len += strlen(hex[i]) + 1;
		}
		text = malloc(text_len + 1);
		if (!text) {
			fprintf(err, "mqttsim decode: out of memory\n");
			free(hex);
			return EXIT_USAGE;
		}
		size_t k = 0;
		for (int i = 0; i < nhex; i++) {
			size_t l = strlen(hex[i]);
			memcpy(text + k, hex[i], l);
			k += l;
			text[k++] = ' ';
		}
		text[k] = 0;
	}
	free(hex);

	int rc = EXIT_PASS;
	size_t cap = text_len / 2 + 1;
	unsigned char *bytes = malloc(cap);
	char msg[160];
	long n = bytes ? hex_parse_n(text, text_len, bytes, cap, msg, sizeof msg) : -1;
	if (n < 0) {
		fprintf(err, "mqttsim decode: %s: %s\n", from_stdin ? "stdin" : "arguments",
			bytes ? msg : "out of memory");
		rc = EXIT_USAGE;
		goto done;
	}
	if (n == 0) {
		fprintf(err, "mqttsim decode: no hex bytes given\n%s", decode_usage);
		rc = EXIT_USAGE;
		goto done;
	}

	size_t pos = 0, line_cap = 4096;
	char *line = malloc(line_cap);
	if (!line) {
		rc = EXIT_USAGE;
		goto done;
	}
	while (pos < (size_t)n) {
		mqtt_packet p;
		mqtt_err e;
		int got = mqtt_decode(bytes + pos, (size_t)n - pos, version, 0, &p, &e);
		if (got == 0) {
			uint32_t total = 0;
			int f = mqtt_frame(bytes + pos, (size_t)n - pos, &total);
			e.code = MQTT_ERR_MALFORMED;
			e.stmt = "§2.2.3";
			e.offset = (uint32_t)((size_t)n - pos);
			e.reason = 0x81;
			if (f > 0)
				snprintf(e.msg, sizeof e.msg,
					 "incomplete packet: its header announces %u bytes but only %zu follow",
					 total, (size_t)n - pos);
			else
				snprintf(e.msg, sizeof e.msg,
					 "incomplete packet: the input ends inside the fixed header");
			print_error(out, json, pos, &e);
			rc = EXIT_FAIL;
			break;
		}
		if (got < 0 || mqtt_validate(&p, &e) < 0) {
			print_error(out, json, pos, &e);
			rc = EXIT_FAIL;
			break;
		}
		if (p.type == MQTT_CONNECT)
			version = p.version;
		size_t want = json ? mqtt_print_json(&p, line, line_cap) : mqtt_print(&p, line, line_cap);
		if (want >= line_cap) {
			char *nl = realloc(line, want + 1);
			if (nl) {
				line = nl;
				line_cap = want + 1;
				json ? mqtt_print_json(&p, line, line_cap) : mqtt_print(&p, line, line_cap);
			}
		}
		if (json)
			fprintf(out, "{\"offset\":%zu,\"packet\":%s}\n", pos, line);
		else
			fprintf(out, "%06zx  %s\n", pos, line);
		pos += (size_t)got;
	}
	free(line);
done:
	free(bytes);
	free(text);
	return rc;
}
