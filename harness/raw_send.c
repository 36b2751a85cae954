/*
 * raw_send.c - the bytes of a `send` step, which may name the run's client identifiers and
 * topics instead of spelling them: over TCP every client id and topic of a run carries a prefix
 * of its own (two suites against one broker never meet), and a CONNECT written as bytes has to
 * carry it too. See raw_send.h for the forms.
 */
#include "harness/raw_send.h"

#include "harness/cli.h"
#include "mqtt/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
	uint8_t *p;
	size_t len, cap;
} buf;

static void put(buf *b, const void *src, size_t n)
{
	/* Nothing to copy: memcpy must not see a NULL buffer (b->p before the first byte, or a
	 * NULL src) even for 0 bytes, which C leaves undefined and UBSan reports. */
	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = mqtt_xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

/* A tag of n letters and digits drawn from the run prefix (FNV-1a over it, then base 62). */
static void alnum_tag(const char *prefix, char *out, size_t n)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = prefix; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	for (size_t i = 0; i < n; i++) {
		out[i] = digits[h % 62];
		h = h / 62 ? h / 62 : (h ^ 0x9e3779b97f4a7c15ull) * 0x100000001b3ull;
	}
}

long raw_prefix_at(const char *t, size_t n, bool share)
{
	static const char sh[] = "$share/";
	size_t k = sizeof sh - 1;
	if (share && n > k && !memcmp(t, sh, k)) {
		const char *slash = memchr(t + k, '/', n - k);
		if (!slash)
			return -1;
		size_t at = (size_t)(slash - t) + 1;
		return raw_prefix_at(t + at, n - at, false) < 0 ? -1 : (long)at;
	}
	return n && t[0] != '$' ? 0 : -1;
}

/* {KIND:TEXT[,HEX]}: a length-prefixed string. */
static int string_token(buf *b, const char *kind, const char *body, size_t blen, const raw_names *nm, char *msg,
			size_t cap)
{
	const char *comma = memchr(body, ',', blen);
	size_t tlen = comma ? (size_t)(comma - body) : blen;
	uint8_t extra[256];
	long nextra = 0;
	if (comma) {
		char m[160];
		nextra = hex_parse_n(comma + 1, blen - tlen - 1, extra, sizeof extra, m, sizeof m);
		if (nextra < 0) {
			snprintf(msg, cap, "bad hex after the ',' of {%s:...}: %s", kind, m);
			return -1;
		}
	}
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)body[i] < 0x20 || body[i] == 0x7f) {
			snprintf(msg, cap, "{%s:...} holds a control character; write such bytes as hex after a ','", kind);
			return -1;
		}
	char pre[512];
	size_t plen = 0, pat = 0; /* the prefix, and where it goes in TEXT */
	char tag[64];
	if (!strcmp(kind, "id")) {
		if (nm && nm->id_prefix && *nm->id_prefix)
			plen = (size_t)snprintf(pre, sizeof pre, "%s-", nm->id_prefix);
	} else if (!strcmp(kind, "topic")) {
		long at = raw_prefix_at(body, tlen, true);
		if (nm && nm->topic_prefix && *nm->topic_prefix && at >= 0) {
			plen = (size_t)snprintf(pre, sizeof pre, "%s/", nm->topic_prefix);
			pat = (size_t)at;
		}
	} else { /* alnum: same length, the tail replaced by a tag of the run */
		for (size_t i = 0; i < tlen; i++) {
			char c = body[i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
				snprintf(msg, cap, "{alnum:...} takes letters and digits only, not '%c'", c);
				return -1;
			}
		}
		if (comma) {
			snprintf(msg, cap, "{alnum:...} takes no hex bytes after a ','");
			return -1;
		}
	}
	if (plen >= sizeof pre) {
		snprintf(msg, cap, "the run's prefix is too long");
		return -1;
	}
	size_t total = plen + tlen + (size_t)nextra;
	if (total > 65535) {
		snprintf(msg, cap, "{%s:...} would be %zu bytes, over the 65,535 a string can hold", kind, total);
		return -1;
	}
	uint8_t len[2] = { (uint8_t)(total >> 8), (uint8_t)total };
	put(b, len, 2);
	put(b, body, pat);
	put(b, pre, plen);
	body += pat;
	tlen -= pat;
	if (!strcmp(kind, "alnum") && nm && nm->id_prefix && *nm->id_prefix) {
		size_t n = tlen < 12 ? tlen : 12;
		put(b, body, tlen - n);
		alnum_tag(nm->id_prefix, tag, n);
		put(b, tag, n);
	} else {
		put(b, body, tlen);
	}
	put(b, extra, (size_t)nextra);
	return 0;
}

/* The Remaining Length of the packet begun at `at` (its body runs to the end of b). */
static int close_len(buf *b, size_t at, char *msg, size_t cap)
{
	size_t body = b->len - at;
	if (body > 268435455) {
		snprintf(msg, cap, "a packet of %zu bytes is over what a Remaining Length can say", body);
		return -1;
	}
	uint8_t v[4];
	size_t n = 0;
	size_t x = body;
	do {
		v[n] = (uint8_t)(x % 128);
		x /= 128;
		if (x)
			v[n] |= 0x80;
		n++;
	} while (x);
	put(b, v, n); /* room, then move the body up */
	memmove(b->p + at + n, b->p + at, body);
	memcpy(b->p + at, v, n);
	return 0;
}

long raw_expand(const char *text, const raw_names *nm, uint8_t **out, char *msg, size_t cap)
{
	buf b = { 0 };
	const char *p = text;
	bool open_len = false;
	size_t len_at = 0;
	*out = NULL;
	for (;;) {
		const char *q = p + strcspn(p, "{|");
		if (q > p) {
			uint8_t *seg = mqtt_xmalloc((size_t)(q - p) / 2 + 1);
			char m[160];
			long n = hex_parse_n(p, (size_t)(q - p), seg, (size_t)(q - p) / 2 + 1, m, sizeof m);
			if (n < 0) {
				free(seg);
				if (p == text && !*q)
					snprintf(msg, cap, "%s", m);
				else
					snprintf(msg, cap, "in the hex from character %zu: %s", (size_t)(p - text) + 1, m);
				goto fail;
			}
			put(&b, seg, (size_t)n);
			free(seg);
		}
		if (!*q)
			break;
		if (*q == '|') {
			if (open_len && close_len(&b, len_at, msg, cap) < 0)
				goto fail;
			open_len = false;
			p = q + 1;
			continue;
		}
		const char *end = strchr(q, '}');
		if (!end) {
			snprintf(msg, cap, "the '{' at character %zu has no '}'", (size_t)(q - text) + 1);
			goto fail;
		}
		const char *body = q + 1;
		size_t blen = (size_t)(end - body);
		if (blen == 3 && !memcmp(body, "len", 3)) {
			if (open_len) {
				snprintf(msg, cap, "a second {len} at character %zu before a '|' ends the packet of the first",
					 (size_t)(q - text) + 1);
				goto fail;
			}
			open_len = true;
			len_at = b.len;
		} else {
			const char *colon = memchr(body, ':', blen);
			size_t klen = colon ? (size_t)(colon - body) : blen;
			char kind[8] = "";
			if (colon && klen < sizeof kind)
				memcpy(kind, body, klen);
			if (!colon || (strcmp(kind, "id") && strcmp(kind, "topic") && strcmp(kind, "alnum"))) {
				snprintf(msg, cap,
					 "'{%.*s}' at character %zu is not one of {len}, {id:TEXT}, {topic:TEXT}, {alnum:TEXT}",
					 (int)(blen > 20 ? 20 : blen), body, (size_t)(q - text) + 1);
				goto fail;
			}
			if (string_token(&b, kind, colon + 1, blen - klen - 1, nm, msg, cap) < 0)
				goto fail;
		}
		p = end + 1;
	}
	if (open_len && close_len(&b, len_at, msg, cap) < 0)
		goto fail;
	*out = b.p;
	return (long)b.len;
fail:
	free(b.p);
	return -1;
}

bool raw_is_template(const char *text)
{
	return strpbrk(text, "{|") != NULL;
}
