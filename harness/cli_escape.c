/*
 * cli_escape.c - input as the commands take it: read whole within a bound, and shown in
 * error messages without letting it act on the terminal. See cli.h.
 */
#include "harness/cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One character of input for an error message, never raw: printable ASCII as itself, valid
 * UTF-8 as itself unless it is a C1 control, anything else as \xNN (or \uNNNN). Returns
 * the bytes it covers. */
size_t cli_char(const unsigned char *p, size_t left, char *out, size_t cap)
{
	unsigned c = p[0];
	if (c >= 0x20 && c < 0x7f) {
		snprintf(out, cap, c == '\'' || c == '\\' ? "\\%c" : "%c", c);
		return 1;
	}
	size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
	if (n == 0 || n > left || c > 0xf4) {
		snprintf(out, cap, "\\x%02x", c);
		return 1;
	}
	uint32_t cp = c & (0xff >> (n + 1));
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			snprintf(out, cap, "\\x%02x", c);
			return 1;
		}
		cp = cp << 6 | (p[i] & 0x3f);
	}
	static const uint32_t min_of[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min_of[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		snprintf(out, cap, "\\x%02x", c);
		return 1;
	}
	if (cp <= 0x9f)
		snprintf(out, cap, "\\u%04x", (unsigned)cp);
	else
		snprintf(out, cap, "%.*s", (int)n, (const char *)p);
	return n;
}

void cli_escape(const char *s, size_t len, char *out, size_t cap)
{
	size_t k = 0;
	out[0] = 0;
	while (len) {
		if (k + 16 >= cap) {
			if (k + 4 <= cap)
				memcpy(out + k, "...", 4);
			return;
		}
		size_t used = cli_char((const unsigned char *)s, len, out + k, cap - k);
		s += used;
		len -= used;
		k = strlen(out);
	}
}

/* See cli.h. */
char *cli_read_all(FILE *in, size_t limit, size_t *len, const char **why)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	*why = "out of memory";
	if (!buf)
		return NULL;
	for (;;) {
		if (n == cap) {
			if (n > limit) {
				free(buf);
				*why = "too large";
				return NULL;
			}
			/* One byte past the limit tells a too large input from one just at it. */
			cap = cap * 2 > limit ? limit + 1 : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				*why = "out of memory";
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n, in);
		n += got;
		if (ferror(in)) {
			*why = strerror(errno);
			free(buf);
			return NULL;
		}
		if (got == 0)
			break;
	}
	if (n > limit) {
		free(buf);
		*why = "too large";
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}
