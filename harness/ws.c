/*
 * ws.c - WebSocket framing and the opening handshake (ws.h).
 */
#include "harness/ws.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; /* RFC 6455 section 1.3 */

size_t ws_header(uint8_t out[WS_HDR_MAX], int opcode, bool fin, uint64_t len, const uint8_t *mask)
{
	size_t h = 2;
	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
	uint8_t m = mask ? 0x80 : 0;
	if (len < 126) {
		out[1] = (uint8_t)(m | len);
	} else if (len <= 0xFFFF) {
		out[1] = m | 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		h = 4;
	} else {
		out[1] = m | 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		h = 10;
	}
	if (mask) {
		memcpy(out + h, mask, 4);
		h += 4;
	}
	return h;
}

void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t pos)
{
	for (size_t i = 0; i < n; i++)
		p[i] ^= mask[(pos + i) & 3];
}

size_t ws_frame(uint8_t *out, int opcode, bool fin, const uint8_t *payload, size_t len, const uint8_t *mask)
{
	size_t h = ws_header(out, opcode, fin, len, mask);
	if (len)
		memcpy(out + h, payload, len);
	if (mask)
		ws_mask(out + h, len, mask, 0);
	return h + len;
}

static int fail(ws_dec *d, uint16_t code, const char *why)
{
	d->close_code = code;
	snprintf(d->why, sizeof d->why, "%s", why);
	return -1;
}

/* The header is whole: check it and start the payload. */
static int header_done(ws_dec *d)
{
	const uint8_t *h = d->hdr;
	d->fin = h[0] & 0x80;
	d->op = h[0] & 0x0F;
	d->masked = h[1] & 0x80;
	uint64_t len = h[1] & 0x7F;
	size_t at = 2;
	if (len == 126) {
		len = (uint64_t)h[2] << 8 | h[3];
		at = 4;
		if (len < 126)
			return fail(d, WS_CLOSE_PROTOCOL, "a frame length not in its shortest form (16 bits for under 126)");
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | h[2 + i];
		at = 10;
		if (len >> 63)
			return fail(d, WS_CLOSE_PROTOCOL, "a 64-bit frame length with its top bit set");
		if (len <= 0xFFFF)
			return fail(d, WS_CLOSE_PROTOCOL, "a frame length not in its shortest form (64 bits for under 65536)");
	}
	if (d->masked)
		memcpy(d->mask, h + at, 4);
	d->len = len;
	d->got = 0;
	if (h[0] & 0x70)
		return fail(d, WS_CLOSE_PROTOCOL, "reserved bits set (RSV1-3) with no extension agreed");
	if (d->server && !d->masked)
		return fail(d, WS_CLOSE_PROTOCOL, "an unmasked frame from a client");
	if (!d->server && d->masked)
		return fail(d, WS_CLOSE_PROTOCOL, "a masked frame from a server");
	if (d->op >= 0x8) {
		if (d->op != WS_CLOSE && d->op != WS_PING && d->op != WS_PONG)
			return fail(d, WS_CLOSE_PROTOCOL, "an unknown control opcode");
		if (len > WS_CONTROL_MAX)
			return fail(d, WS_CLOSE_PROTOCOL, "a control frame longer than 125 bytes");
		if (!d->fin)
			return fail(d, WS_CLOSE_PROTOCOL, "a fragmented control frame");
		if (d->op == WS_CLOSE && len == 1)
			return fail(d, WS_CLOSE_PROTOCOL, "a close frame of 1 byte (a status code takes 2)");
	} else if (d->op == WS_TEXT && !d->text_ok) {
		return fail(d, WS_CLOSE_UNSUPPORTED, "a text frame: MQTT travels in binary frames only (MQTT-6.0.0-1)");
	} else if (d->op == WS_BINARY || d->op == WS_TEXT) {
		if (d->msg_op)
			return fail(d, WS_CLOSE_PROTOCOL, "a new data frame inside a fragmented message");
		if (!d->fin)
			d->msg_op = d->op;
	} else if (d->op == WS_CONT) {
		if (!d->msg_op)
			return fail(d, WS_CLOSE_PROTOCOL, "a continuation frame with no fragmented message in progress");
		if (d->fin)
			d->msg_op = 0;
	} else {
		return fail(d, WS_CLOSE_PROTOCOL, "an unknown data opcode");
	}
	if (len > (d->max_frame ? d->max_frame : WS_FRAME_MAX))
		return fail(d, WS_CLOSE_TOO_BIG, "a frame longer than this side takes");
	d->in_payload = true;
	return 0;
}

/* The frame's payload is whole. */
static int frame_done(ws_dec *d, const ws_sink *s)
{
	d->in_payload = false;
	d->hdr_got = 0;
	if (d->op < 0x8) {
		d->frames++;
		if (s->frame_end)
			s->frame_end(s->ctx);
		return 0;
	}
	if (s->control)
		s->control(s->ctx, d->op, d->ctl, (size_t)d->len);
	if (d->op == WS_CLOSE) {
		d->closed = true;
		return 1;
	}
	return 0;
}

int ws_feed(ws_dec *d, uint8_t *p, size_t n, const ws_sink *s)
{
	if (d->close_code)
		return -1;
	size_t i = 0;
	while (i < n && !d->closed) {
		if (!d->in_payload) {
			/* The header: 2 bytes, then what they say follows. */
			d->hdr[d->hdr_got++] = p[i++];
			if (d->hdr_got == 1)
				continue;
			if (d->hdr_got == 2) {
				uint8_t l = d->hdr[1] & 0x7F;
				d->hdr_need = 2 + (l == 126 ? 2 : l == 127 ? 8 : 0) + (d->hdr[1] & 0x80 ? 4 : 0);
			}
			if (d->hdr_got < d->hdr_need)
				continue;
			if (header_done(d) < 0)
				return -1;
			if (d->len == 0) {
				int r = frame_done(d, s);
				if (r)
					return r;
			}
			continue;
		}
		size_t take = n - i;
		if ((uint64_t)take > d->len - d->got)
			take = (size_t)(d->len - d->got);
		if (d->masked)
			ws_mask(p + i, take, d->mask, d->got);
		if (d->op >= 0x8)
			memcpy(d->ctl + d->got, p + i, take);
		else if (take && s->data)
			s->data(s->ctx, p + i, take);
		d->got += take;
		i += take;
		if (d->got == d->len) {
			int r = frame_done(d, s);
			if (r)
				return r;
		}
	}
	return d->closed ? 1 : 0;
}

/* ---- the opening handshake ------------------------------------------------------------------ */

void ws_key(const uint8_t nonce[16], char out[25])
{
	EVP_EncodeBlock((unsigned char *)out, nonce, 16);
}

void ws_accept(const char *key, char out[29])
{
	char buf[128];
	int n = snprintf(buf, sizeof buf, "%.64s%s", key, ws_guid);
	unsigned char md[SHA_DIGEST_LENGTH];
	SHA1((const unsigned char *)buf, (size_t)n, md);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

size_t ws_client_request(char *out, size_t cap, const char *host, unsigned port, const char *path, const char *key)
{
	bool v6 = strchr(host, ':') != NULL;
	int n = snprintf(out, cap,
			 "GET %s HTTP/1.1\r\n"
			 "Host: %s%s%s:%u\r\n"
			 "Upgrade: websocket\r\n"
			 "Connection: Upgrade\r\n"
			 "Sec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\n"
			 "Sec-WebSocket-Protocol: mqtt\r\n"
			 "\r\n",
			 path, v6 ? "[" : "", host, v6 ? "]" : "", port, key);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* The end of the header block ("\r\n\r\n") in buf[0..n): the length through it, 0 if not there. */
static size_t head_end(const uint8_t *buf, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* Header lines after the first, one at a time: name and value (trimmed), NUL-terminated in
 * place in the copy. Returns false at the end. */
typedef struct hdr_iter {
	char *p;
} hdr_iter;

static bool next_header(hdr_iter *it, char **name, char **value)
{
	while (it->p && *it->p) {
		char *line = it->p, *eol = strstr(line, "\r\n");
		if (!eol)
			return false;
		*eol = 0;
		it->p = eol + 2;
		if (!*line)
			return false;
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t l = strlen(v);
		while (l && (v[l - 1] == ' ' || v[l - 1] == '\t'))
			v[--l] = 0;
		*name = line;
		*value = v;
		return true;
	}
	return false;
}

/* Whether a comma-separated list has tok (case-insensitively when ci). */
static bool has_token(const char *list, const char *tok, bool ci)
{
	size_t tl = strlen(tok);
	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if ((size_t)(t - p) == tl && (ci ? !strncasecmp(p, tok, tl) : !strncmp(p, tok, tl)))
			return true;
		p = e;
	}
	return false;
}

long ws_client_response(const uint8_t *buf, size_t n, const char *key, int *status, char *why, size_t cap)
{
	*status = 0;
	size_t end = head_end(buf, n);
	if (!end) {
		if (n >= WS_HTTP_MAX) {
			snprintf(why, cap, "the answer to the WebSocket handshake has no end within %d bytes", WS_HTTP_MAX);
			return -1;
		}
		if (n && memcmp(buf, "HTTP/", n < 5 ? n : 5)) {
			char first[16] = "";
			for (size_t i = 0, at = 0; i < n && i < 3; i++)
				at += (size_t)snprintf(first + at, sizeof first - at, "%s%02x", i ? " " : "", buf[i]);
			snprintf(why, cap, "the answer to the WebSocket handshake is not HTTP (first bytes %s): is "
					   "this port MQTT over TCP rather than WebSocket?", first);
			return -1;
		}
		return 0;
	}
	char head[WS_HTTP_MAX + 1];
	if (end > WS_HTTP_MAX) {
		snprintf(why, cap, "the answer to the WebSocket handshake is longer than %d bytes", WS_HTTP_MAX);
		return -1;
	}
	if (memchr(buf, 0, end)) {
		snprintf(why, cap, "the answer to the WebSocket handshake holds a NUL byte: not HTTP");
		return -1;
	}
	memcpy(head, buf, end);
	head[end] = 0;
	char *eol = strstr(head, "\r\n");
	*eol = 0;
	int code = 0;
	char text[64] = "";
	if (sscanf(head, "HTTP/1.%*1[01] %3d %63[^\r\n]", &code, text) < 1 || code < 100 || code > 599) {
		snprintf(why, cap, "the answer to the WebSocket handshake is not HTTP: '%.60s'", head);
		return -1;
	}
	*status = code;
	if (code != 101) {
		snprintf(why, cap, "the server answered the WebSocket handshake with %d %s, not 101 Switching Protocols%s", code,
			 text, code == 404 ? " (is the path right?)" : "");
		return -1;
	}
	hdr_iter it = { eol + 2 };
	char *name, *value;
	bool upgrade = false, connection = false;
	const char *accept = NULL, *proto = NULL;
	while (next_header(&it, &name, &value)) {
		if (!strcasecmp(name, "Upgrade"))
			upgrade = !strcasecmp(value, "websocket");
		else if (!strcasecmp(name, "Connection"))
			connection = has_token(value, "upgrade", true);
		else if (!strcasecmp(name, "Sec-WebSocket-Accept"))
			accept = value;
		else if (!strcasecmp(name, "Sec-WebSocket-Protocol"))
			proto = value;
	}
	char want[29];
	ws_accept(key, want);
	if (!upgrade || !connection)
		snprintf(why, cap, "the server's 101 answer lacks %s", !upgrade ? "Upgrade: websocket" : "Connection: Upgrade");
	else if (!accept)
		snprintf(why, cap, "the server's 101 answer has no Sec-WebSocket-Accept");
	else if (strcmp(accept, want))
		snprintf(why, cap, "the server's Sec-WebSocket-Accept is wrong ('%.40s', not '%s' for our key)", accept, want);
	else if (!proto)
		snprintf(why, cap, "the server selected no subprotocol: it must answer Sec-WebSocket-Protocol: mqtt (MQTT-6.0.0-4)");
	else if (strcmp(proto, "mqtt"))
		snprintf(why, cap, "the server selected the subprotocol '%.40s', not mqtt (MQTT-6.0.0-4)", proto);
	else
		return (long)end;
	return -1;
}

long ws_server_request(const uint8_t *buf, size_t n, const char *path, ws_req *rq, char *why, size_t cap)
{
	memset(rq, 0, sizeof *rq);
	size_t end = head_end(buf, n);
	if (!end || end > WS_HTTP_MAX) {
		if (n < WS_HTTP_MAX && !end) {
			static const char get[] = "GET ";
			size_t k = n < 4 ? n : 4;
			if (memcmp(buf, get, k)) {
				rq->status = 400;
				snprintf(why, cap, "not an HTTP GET (first byte %02x): a WebSocket listener", buf[0]);
				return -1;
			}
			return 0;
		}
		rq->status = 400;
		snprintf(why, cap, "a handshake request longer than %d bytes", WS_HTTP_MAX);
		return -1;
	}
	if (memchr(buf, 0, end)) {
		rq->status = 400;
		snprintf(why, cap, "a NUL byte in the handshake request");
		return -1;
	}
	char head[WS_HTTP_MAX + 1];
	memcpy(head, buf, end);
	head[end] = 0;
	char *eol = strstr(head, "\r\n");
	*eol = 0;
	char target[256];
	int tl = 0;
	if (sscanf(head, "GET %255s HTTP/1.1%n", target, &tl) != 1 || !tl || head[tl]) {
		rq->status = 400;
		snprintf(why, cap, "not a GET request line of HTTP/1.1: '%.60s'", head);
		return -1;
	}
	snprintf(rq->path, sizeof rq->path, "%s", target);
	hdr_iter it = { eol + 2 };
	char *name, *value;
	bool upgrade = false, connection = false, v13 = false, version = false;
	while (next_header(&it, &name, &value)) {
		if (!strcasecmp(name, "Upgrade"))
			upgrade = has_token(value, "websocket", true);
		else if (!strcasecmp(name, "Connection"))
			connection = has_token(value, "upgrade", true);
		else if (!strcasecmp(name, "Sec-WebSocket-Key"))
			snprintf(rq->key, sizeof rq->key, "%s", value);
		else if (!strcasecmp(name, "Sec-WebSocket-Version")) {
			version = true;
			v13 = !strcmp(value, "13");
		} else if (!strcasecmp(name, "Sec-WebSocket-Protocol"))
			rq->mqtt |= has_token(value, "mqtt", false);
	}
	rq->status = 400;
	if (!upgrade || !connection)
		snprintf(why, cap, "not a WebSocket upgrade (Upgrade: websocket and Connection: Upgrade are needed)");
	else if (!version || !v13)
		rq->status = 426, snprintf(why, cap, "Sec-WebSocket-Version %s (13 is the one this server speaks)",
					   version ? "is not 13" : "is missing");
	else if (strlen(rq->key) != 24)
		snprintf(why, cap, "Sec-WebSocket-Key is missing or not 16 bytes in base64");
	else if (path && strcmp(rq->path, path))
		rq->status = 404, snprintf(why, cap, "path %.100s, but this listener serves %.100s", rq->path, path);
	else if (!rq->mqtt)
		snprintf(why, cap, "the client offered no subprotocol mqtt (MQTT-6.0.0-3)");
	else {
		rq->status = 0;
		return (long)end;
	}
	return -1;
}

size_t ws_server_response(char *out, size_t cap, const ws_req *rq, int status, bool no_protocol)
{
	int n;
	if (status) {
		const char *text = status == 404 ? "Not Found" : status == 426 ? "Upgrade Required" : "Bad Request";
		n = snprintf(out, cap, "HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n", status, text,
			     status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "");
	} else {
		char acc[29];
		ws_accept(rq->key, acc);
		n = snprintf(out, cap,
			     "HTTP/1.1 101 Switching Protocols\r\n"
			     "Upgrade: websocket\r\n"
			     "Connection: Upgrade\r\n"
			     "Sec-WebSocket-Accept: %s\r\n"
			     "%s"
			     "\r\n",
			     acc, no_protocol ? "" : "Sec-WebSocket-Protocol: mqtt\r\n");
	}
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

long ws_split_path(const char *rest, char *path, size_t pcap)
{
	const char *slash = rest;
	if (*slash == '[') { /* [v6]:port/path */
		slash = strchr(slash, ']');
		if (!slash)
			return -1;
	}
	slash = strchr(slash, '/');
	const char *p = slash ? slash : "/mqtt";
	size_t l = strlen(p);
	if (l >= pcap)
		return -1;
	for (size_t i = 0; i < l; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return -1;
	memcpy(path, p, l + 1);
	return slash ? (long)(slash - rest) : (long)strlen(rest);
}
