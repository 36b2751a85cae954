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
#include <stdlib.h>
#include <string.h>

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

long hex_parse(const char *text, unsigned char *dst, size_t cap, char *msg, size_t msg_cap)
{
	size_t n = 0;
	const char *p = text;
	while (*p) {
		if (isspace((unsigned char)*p) || *p == ',' || *p == ':') {
			p++;
			continue;
		}
		/* One token: optional 0x, then hex digits. */
		const char *tok = p;
		bool prefixed = false;
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
			prefixed = true;
			p += 2;
		}
		const char *digits = p;
		while (*p && !isspace((unsigned char)*p) && *p != ',' && *p != ':') {
			if (hexval((unsigned char)*p) < 0) {
				snprintf(msg, msg_cap, "'%c' at character %zu is not a hex digit", *p,
					 (size_t)(p - text) + 1);
				return -1;
			}
			p++;
		}
		size_t nd = (size_t)(p - digits);
		if (nd == 0) {
			snprintf(msg, msg_cap, "'0x' at character %zu has no digits after it",
				 (size_t)(tok - text) + 1);
			return -1;
		}
		if (nd % 2 && !(prefixed && nd == 1)) {
			snprintf(msg, msg_cap,
				 "'%.*s' at character %zu has an odd number of hex digits (write bytes as pairs)",
				 (int)(p - tok > 20 ? 20 : p - tok), tok, (size_t)(tok - text) + 1);
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
	return (long)n;
}

static char *read_all(FILE *in, size_t limit, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf)
		return NULL;
	for (;;) {
		if (n == cap) {
			if (cap >= limit) {
				free(buf);
				return NULL;
			}
			cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n, in);
		n += got;
		if (got == 0)
			break;
	}
	buf[n] = 0;
	*len = n;
	return buf;
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
	bool json = false, from_stdin = false;
	size_t text_len = 0;
	int first_hex = argc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			first_hex = i + 1;
			break;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
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
				fprintf(err, "mqttsim decode: --version takes 3.1.1 or 5.0, not '%s'\n",
					v ? v : "(nothing)");
				return EXIT_USAGE;
			}
		} else if (a[0] == '-' && a[1] != 0) {
			fprintf(err, "mqttsim decode: unknown option '%s'\n%s", a, decode_usage);
			return EXIT_USAGE;
		} else {
			first_hex = i;
			break;
		}
	}

	char *text;
	if (first_hex >= argc || (first_hex == argc - 1 && !strcmp(argv[first_hex], "-"))) {
		from_stdin = true;
		text = read_all(in, DECODE_MAX_INPUT, &text_len);
		if (!text) {
			fprintf(err, "mqttsim decode: could not read stdin (more than %u bytes?)\n",
				DECODE_MAX_INPUT);
			return EXIT_USAGE;
		}
	} else {
		for (int i = first_hex; i < argc; i++)
			text_len += strlen(argv[i]) + 1;
		text = malloc(text_len + 1);
		if (!text) {
			fprintf(err, "mqttsim decode: out of memory\n");
			return EXIT_USAGE;
		}
		text[0] = 0;
		for (int i = first_hex; i < argc; i++) {
			strcat(text, argv[i]);
			strcat(text, " ");
		}
	}

	int rc = EXIT_PASS;
	size_t cap = text_len / 2 + 1;
	unsigned char *bytes = malloc(cap);
	char msg[160];
	long n = bytes ? hex_parse(text, bytes, cap, msg, sizeof msg) : -1;
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
