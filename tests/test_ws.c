/*
 * test_ws.c - the WebSocket suite (harness/ws.h): frame headers at the 7/16/64-bit length
 * boundaries, masking, decoding fed whole and a byte at a time, fragmented messages, control
 * frames between fragments, the bad frames (one row each with the close code expected), and
 * the opening handshake both ways, with RFC 6455's own example key.
 */
#include "tests.h"

#include "harness/ws.h"

#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* What a decoder handed on. */
typedef struct got {
	uint8_t data[70000];
	size_t len;
	int ctl_op[8];
	uint8_t ctl[8][WS_CONTROL_MAX];
	size_t ctl_len[8], nctl;
	size_t frame_ends;
} got;

static void on_data(void *ctx, const uint8_t *p, size_t n)
{
	got *g = ctx;
	ck_assert_uint_le(g->len + n, sizeof g->data);
	memcpy(g->data + g->len, p, n);
	g->len += n;
}

static void on_control(void *ctx, int op, const uint8_t *p, size_t n)
{
	got *g = ctx;
	ck_assert_uint_lt(g->nctl, 8);
	g->ctl_op[g->nctl] = op;
	memcpy(g->ctl[g->nctl], p, n);
	g->ctl_len[g->nctl++] = n;
}

static void on_frame_end(void *ctx)
{
	((got *)ctx)->frame_ends++;
}

/* Feed buf whole, or a byte at a time; the status of the last call. */
static int feed(ws_dec *d, const uint8_t *buf, size_t n, got *g, bool bytewise)
{
	ws_sink s = { on_data, on_control, on_frame_end, g };
	uint8_t *copy = malloc(n ? n : 1);
	memcpy(copy, buf, n);
	int st = 0;
	if (!bytewise)
		st = ws_feed(d, copy, n, &s);
	for (size_t i = 0; bytewise && i < n && st == 0; i++)
		st = ws_feed(d, copy + i, 1, &s);
	free(copy);
	return st;
}

static const uint8_t mask1[4] = { 0x37, 0xfa, 0x21, 0x3d };

START_TEST(header_lengths)
{
	/* The shortest form at each boundary: 7 bits to 125, 16 bits to 65535, then 64 bits. */
	static const struct {
		uint64_t len;
		size_t hl;
		uint8_t b1;
	} rows[] = { { 0, 2, 0 }, { 1, 2, 1 }, { 125, 2, 125 }, { 126, 4, 126 }, { 65535, 4, 126 },
		     { 65536, 10, 127 }, { (uint64_t)1 << 40, 10, 127 } };
	for (size_t i = 0; i < NELEM(rows); i++) {
		uint8_t h[WS_HDR_MAX];
		size_t hl = ws_header(h, WS_BINARY, true, rows[i].len, NULL);
		ck_assert_uint_eq(hl, rows[i].hl);
		ck_assert_uint_eq(h[0], 0x82);
		ck_assert_uint_eq(h[1], rows[i].b1);
		uint64_t back = rows[i].hl == 2 ? h[1] : 0;
		for (size_t k = 2; k < hl; k++)
			back = back << 8 | h[k];
		ck_assert_uint_eq(back, rows[i].len);
		/* masked: the key follows the length, and the mask bit is set */
		hl = ws_header(h, WS_CONT, false, rows[i].len, mask1);
		ck_assert_uint_eq(hl, rows[i].hl + 4);
		ck_assert_uint_eq(h[0], 0x00);
		ck_assert_uint_eq(h[1], 0x80 | rows[i].b1);
		ck_assert_mem_eq(h + hl - 4, mask1, 4);
	}
}
END_TEST

START_TEST(rfc_examples)
{
	/* RFC 6455 section 5.7: "Hello" unmasked and masked with 37 fa 21 3d. */
	uint8_t f[64];
	size_t n = ws_frame(f, WS_TEXT, true, (const uint8_t *)"Hello", 5, NULL);
	uint8_t want[16];
	ck_assert_uint_eq(n, unhex("81 05 48 65 6c 6c 6f", want, sizeof want));
	ck_assert_mem_eq(f, want, n);
	n = ws_frame(f, WS_TEXT, true, (const uint8_t *)"Hello", 5, mask1);
	ck_assert_uint_eq(n, unhex("81 85 37 fa 21 3d 7f 9f 4d 51 58", want, sizeof want));
	ck_assert_mem_eq(f, want, n);
	/* The key and accept of section 1.3. */
	char acc[29];
	ws_accept("dGhlIHNhbXBsZSBub25jZQ==", acc);
	ck_assert_str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	char key[25];
	ws_key((const uint8_t *)"the sample nonce", key);
	ck_assert_str_eq(key, "dGhlIHNhbXBsZSBub25jZQ==");
}
END_TEST

START_TEST(mask_positions)
{
	/* Masking in pieces at any offset equals masking whole. */
	uint8_t a[300], b[300];
	for (size_t i = 0; i < sizeof a; i++)
		a[i] = b[i] = (uint8_t)(i * 7);
	ws_mask(a, sizeof a, mask1, 0);
	for (size_t off = 0; off < sizeof b;) {
		size_t k = off % 5 + 1;
		if (off + k > sizeof b)
			k = sizeof b - off;
		ws_mask(b + off, k, mask1, off);
		off += k;
	}
	ck_assert_mem_eq(a, b, sizeof a);
	ws_mask(a, sizeof a, mask1, 0);
	ck_assert_uint_eq(a[299], (uint8_t)(299 * 7));
}
END_TEST

/* A client's masked binary frame of n bytes of a pattern, decoded by a server, whole and a
 * byte at a time, at each length boundary. */
START_TEST(decode_lengths)
{
	static const size_t lens[] = { 0, 1, 125, 126, 127, 65535, 65536 };
	for (size_t i = 0; i < NELEM(lens); i++)
		for (int bw = 0; bw < 2; bw++) {
			if (bw && lens[i] > 1000)
				continue; /* a byte at a time is slow under valgrind; small ones cover it */
			size_t n = lens[i];
			uint8_t *p = malloc(n + 1), *f = malloc(n + WS_HDR_MAX);
			for (size_t k = 0; k < n; k++)
				p[k] = (uint8_t)(k * 13 + 1);
			size_t fl = ws_frame(f, WS_BINARY, true, p, n, mask1);
			ws_dec d = { .server = true };
			got *g = calloc(1, sizeof *g);
			ck_assert_int_eq(feed(&d, f, fl, g, bw), 0);
			ck_assert_uint_eq(g->len, n);
			if (n)
				ck_assert_mem_eq(g->data, p, n);
			ck_assert_uint_eq(g->frame_ends, 1);
			ck_assert_uint_eq(d.frames, 1);
			free(g);
			free(p);
			free(f);
		}
}
END_TEST

START_TEST(stream_across_frames)
{
	/* MQTT-6.0.0-2: a packet split over frames, and two packets in one frame, give one
	 * stream; a fragmented message (binary, continuation, continuation with FIN) with a
	 * ping between its fragments too. */
	uint8_t buf[256];
	size_t n = 0;
	n += ws_frame(buf + n, WS_BINARY, true, (const uint8_t *)"\x30\x05", 2, mask1);
	n += ws_frame(buf + n, WS_BINARY, true, (const uint8_t *)"\x00\x01t", 3, mask1);
	n += ws_frame(buf + n, WS_BINARY, true, (const uint8_t *)"x\xc0\x00\xc0\x00", 5, mask1);
	n += ws_frame(buf + n, WS_BINARY, false, (const uint8_t *)"ab", 2, mask1);
	n += ws_frame(buf + n, WS_PING, true, (const uint8_t *)"hi", 2, mask1);
	n += ws_frame(buf + n, WS_CONT, false, (const uint8_t *)"cd", 2, mask1);
	n += ws_frame(buf + n, WS_CONT, true, (const uint8_t *)"e", 1, mask1);
	for (int bw = 0; bw < 2; bw++) {
		ws_dec d = { .server = true };
		got *g = calloc(1, sizeof *g);
		ck_assert_int_eq(feed(&d, buf, n, g, bw), 0);
		ck_assert_uint_eq(g->len, 15);
		ck_assert_mem_eq(g->data, "\x30\x05\x00\x01tx\xc0\x00\xc0\x00" "abcde", 15);
		ck_assert_uint_eq(g->nctl, 1);
		ck_assert_int_eq(g->ctl_op[0], WS_PING);
		ck_assert_mem_eq(g->ctl[0], "hi", 2);
		ck_assert_uint_eq(d.frames, 6);
		ck_assert_int_eq(d.msg_op, 0);
		free(g);
	}
}
END_TEST

START_TEST(close_frame)
{
	uint8_t buf[64];
	size_t n = ws_frame(buf, WS_CLOSE, true, (const uint8_t *)"\x03\xe8", 2, NULL);
	n += ws_frame(buf + n, WS_BINARY, true, (const uint8_t *)"zz", 2, NULL);
	ws_dec d = { .server = false };
	got *g = calloc(1, sizeof *g);
	ck_assert_int_eq(feed(&d, buf, n, g, false), 1);
	ck_assert_uint_eq(g->nctl, 1);
	ck_assert_int_eq(g->ctl_op[0], WS_CLOSE);
	ck_assert_uint_eq(g->ctl_len[0], 2);
	ck_assert_uint_eq(g->len, 0); /* nothing after a close counts */
	ck_assert_int_eq(feed(&d, buf, 2, g, false), 1);
	free(g);
}
END_TEST

START_TEST(bad_frames)
{
	/* One row per breach: the bytes (as a server reads them unless client), the close code. */
	static const struct {
		const char *hex;
		bool client; /* decoded as a client (frames from a server) */
		uint16_t code;
		const char *why;
	} rows[] = {
		{ "82 00", false, WS_CLOSE_PROTOCOL, "unmasked frame from a client" },
		{ "82 80 00 00 00 00", true, WS_CLOSE_PROTOCOL, "masked frame from a server" },
		{ "c2 80 00 00 00 00", false, WS_CLOSE_PROTOCOL, "reserved bits" },
		{ "92 80 00 00 00 00", false, WS_CLOSE_PROTOCOL, "reserved bits" },
		{ "a2 80 00 00 00 00", false, WS_CLOSE_PROTOCOL, "reserved bits" },
		{ "81 80 00 00 00 00", false, WS_CLOSE_UNSUPPORTED, "text frame" },
		{ "81 00", true, WS_CLOSE_UNSUPPORTED, "MQTT-6.0.0-1" },
		{ "83 80 00 00 00 00", false, WS_CLOSE_PROTOCOL, "unknown data opcode" },
		{ "8b 80 00 00 00 00", false, WS_CLOSE_PROTOCOL, "unknown control opcode" },
		{ "89 fe 00 7e 00 00 00 00", false, WS_CLOSE_PROTOCOL, "longer than 125" },
		{ "09 80 00 00 00 00", false, WS_CLOSE_PROTOCOL, "fragmented control" },
		{ "88 81 00 00 00 00 00", false, WS_CLOSE_PROTOCOL, "close frame of 1 byte" },
		{ "80 80 00 00 00 00", false, WS_CLOSE_PROTOCOL, "continuation frame with no" },
		{ "02 80 00 00 00 00 82 80 00 00 00 00", false, WS_CLOSE_PROTOCOL, "inside a fragmented" },
		{ "82 fe 00 05 00 00 00 00", false, WS_CLOSE_PROTOCOL, "shortest form" },
		{ "82 ff 00 00 00 00 00 00 ff ff 00 00 00 00", false, WS_CLOSE_PROTOCOL, "shortest form" },
		{ "82 ff 80 00 00 00 00 00 00 00 00 00 00 00", false, WS_CLOSE_PROTOCOL, "top bit" },
		{ "82 ff 00 00 00 00 10 00 00 01 00 00 00 00", false, WS_CLOSE_TOO_BIG, "longer than this side takes" },
	};
	for (size_t i = 0; i < NELEM(rows); i++)
		for (int bw = 0; bw < 2; bw++) {
			uint8_t b[64];
			size_t n = unhex(rows[i].hex, b, sizeof b);
			ws_dec d = { .server = !rows[i].client };
			got *g = calloc(1, sizeof *g);
			ck_assert_msg(feed(&d, b, n, g, bw) == -1, "row %zu (%s) not refused", i, rows[i].why);
			ck_assert_msg(d.close_code == rows[i].code, "row %zu: close %u, not %u", i, d.close_code, rows[i].code);
			ck_assert_msg(strstr(d.why, rows[i].why) != NULL, "row %zu: '%s' lacks '%s'", i, d.why, rows[i].why);
			/* once broken, it stays broken */
			ck_assert_int_eq(feed(&d, (const uint8_t *)"\x82\x80\0\0\0\0", 6, g, false), -1);
			free(g);
		}
	/* A bound of the caller's own. */
	ws_dec d = { .server = true, .max_frame = 10 };
	uint8_t f[64];
	got *g = calloc(1, sizeof *g);
	size_t n = ws_frame(f, WS_BINARY, true, (const uint8_t *)"0123456789", 10, mask1);
	ck_assert_int_eq(feed(&d, f, n, g, false), 0);
	n = ws_frame(f, WS_BINARY, true, (const uint8_t *)"0123456789a", 11, mask1);
	ck_assert_int_eq(feed(&d, f, n, g, false), -1);
	ck_assert_uint_eq(d.close_code, WS_CLOSE_TOO_BIG);
	/* A broken server (test switch) reads a text frame as data. */
	ws_dec t = { .server = true, .text_ok = true };
	g->len = 0;
	n = ws_frame(f, WS_TEXT, true, (const uint8_t *)"\xc0\x00", 2, mask1);
	ck_assert_int_eq(feed(&t, f, n, g, false), 0);
	ck_assert_uint_eq(g->len, 2);
	free(g);
}
END_TEST

static const char sample_key[] = "dGhlIHNhbXBsZSBub25jZQ==";

START_TEST(handshake_roundtrip)
{
	char req[1024];
	size_t rl = ws_client_request(req, sizeof req, "127.0.0.1", 8080, "/mqtt", sample_key);
	ck_assert_uint_gt(rl, 0);
	ck_assert_ptr_nonnull(strstr(req, "Sec-WebSocket-Protocol: mqtt\r\n")); /* MQTT-6.0.0-3 */
	ck_assert_ptr_nonnull(strstr(req, "Host: 127.0.0.1:8080\r\n"));
	ck_assert_uint_eq(ws_client_request(req, 40, "h", 1, "/", sample_key), 0);
	rl = ws_client_request(req, sizeof req, "::1", 8080, "/mqtt", sample_key);
	ck_assert_ptr_nonnull(strstr(req, "Host: [::1]:8080\r\n"));
	ws_req rq;
	char why[300];
	/* every prefix is incomplete, the whole is taken */
	for (size_t k = 0; k < rl; k++)
		ck_assert_int_eq(ws_server_request((const uint8_t *)req, k, "/mqtt", &rq, why, sizeof why), 0);
	ck_assert_int_eq(ws_server_request((const uint8_t *)req, rl, "/mqtt", &rq, why, sizeof why), (long)rl);
	ck_assert(rq.mqtt);
	ck_assert_str_eq(rq.key, sample_key);
	ck_assert_int_eq(ws_server_request((const uint8_t *)req, rl, NULL, &rq, why, sizeof why), (long)rl);
	char ans[512];
	size_t al = ws_server_response(ans, sizeof ans, &rq, 0, false);
	ck_assert_ptr_nonnull(strstr(ans, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	ck_assert_ptr_nonnull(strstr(ans, "Sec-WebSocket-Protocol: mqtt\r\n")); /* MQTT-6.0.0-4 */
	int status;
	/* with a frame after it: the answer's length */
	memcpy(ans + al, "\x82\x00", 2);
	for (size_t k = 0; k < al; k++)
		ck_assert_int_eq(ws_client_response((const uint8_t *)ans, k, sample_key, &status, why, sizeof why), 0);
	ck_assert_int_eq(ws_client_response((const uint8_t *)ans, al + 2, sample_key, &status, why, sizeof why), (long)al);
	ck_assert_int_eq(status, 101);
	/* the wrong key's accept */
	ck_assert_int_eq(ws_client_response((const uint8_t *)ans, al, "AAAAAAAAAAAAAAAAAAAAAA==", &status, why, sizeof why), -1);
	ck_assert_ptr_nonnull(strstr(why, "Sec-WebSocket-Accept is wrong"));
	/* no subprotocol selected */
	al = ws_server_response(ans, sizeof ans, &rq, 0, true);
	ck_assert_int_eq(ws_client_response((const uint8_t *)ans, al, sample_key, &status, why, sizeof why), -1);
	ck_assert_ptr_nonnull(strstr(why, "MQTT-6.0.0-4"));
	/* refusals */
	al = ws_server_response(ans, sizeof ans, &rq, 404, false);
	ck_assert_int_eq(ws_client_response((const uint8_t *)ans, al, sample_key, &status, why, sizeof why), -1);
	ck_assert_int_eq(status, 404);
	ck_assert_ptr_nonnull(strstr(why, "404 Not Found"));
	al = ws_server_response(ans, sizeof ans, &rq, 426, false);
	ck_assert_ptr_nonnull(strstr(ans, "Sec-WebSocket-Version: 13"));
	ck_assert_uint_eq(ws_server_response(ans, 10, &rq, 0, false), 0);
}
END_TEST

START_TEST(handshake_refusals)
{
	static const struct {
		const char *req;
		const char *path;
		int status;
		const char *why;
	} rows[] = {
		{ "GET /x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n", "/mqtt", 404, "path /x" },
		{ "GET /mqtt HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		  "Sec-WebSocket-Version: 13\r\n\r\n", NULL, 400, "MQTT-6.0.0-3" },
		{ "GET /mqtt HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		  "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n", NULL, 426, "not 13" },
		{ "GET /mqtt HTTP/1.1\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n", NULL, 400, "not a WebSocket upgrade" },
		{ "GET /mqtt HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: short\r\n"
		  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n", NULL, 400, "Sec-WebSocket-Key" },
		{ "POST /mqtt HTTP/1.1\r\n\r\n", NULL, 400, "not a GET request line" },
		{ "\x10\x0c\x00\x04MQTT", NULL, 400, "not an HTTP GET" },
		{ "GET /mqtt HTTP/1.0\r\n\r\n", NULL, 400, "HTTP/1.1" },
	};
	for (size_t i = 0; i < NELEM(rows); i++) {
		ws_req rq;
		char why[300];
		long r = ws_server_request((const uint8_t *)rows[i].req, strlen(rows[i].req), rows[i].path, &rq, why, sizeof why);
		ck_assert_msg(r == -1, "row %zu taken", i);
		ck_assert_msg(rq.status == rows[i].status, "row %zu: status %d", i, rq.status);
		ck_assert_msg(strstr(why, rows[i].why) != NULL, "row %zu: '%s'", i, why);
	}
	/* Several protocols offered, and header names in any case: taken. */
	const char *ok = "GET /mqtt HTTP/1.1\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\n"
			 "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n"
			 "sec-websocket-protocol: mqttv3.1, mqtt\r\n\r\n";
	ws_req rq;
	char why[300];
	ck_assert_int_eq(ws_server_request((const uint8_t *)ok, strlen(ok), "/mqtt", &rq, why, sizeof why), (long)strlen(ok));
	/* Too long without an end. */
	char *big = malloc(WS_HTTP_MAX + 10);
	memset(big, 'a', WS_HTTP_MAX + 10);
	memcpy(big, "GET ", 4);
	ck_assert_int_eq(ws_server_request((const uint8_t *)big, WS_HTTP_MAX + 10, NULL, &rq, why, sizeof why), -1);
	int status;
	memcpy(big, "HTTP", 4);
	ck_assert_int_eq(ws_client_response((const uint8_t *)big, WS_HTTP_MAX, sample_key, &status, why, sizeof why), -1);
	free(big);
	/* Answers that are not 101s, or not HTTP. */
	static const struct {
		const char *ans;
		const char *why;
	} bad[] = {
		{ "\x20\x02\x00\x00", "not HTTP (first bytes 20 02)" },
		{ "\xf7", "not HTTP (first bytes f7)" },
		{ "HTTP/1.1 404 Not Found\r\n\r\n", "is the path right?" },
		{ "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n", "Upgrade: websocket" },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", "no Sec-WebSocket-Accept" },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqttv3.1\r\n\r\n", "'mqttv3.1', not mqtt" },
		{ "garbage\r\n\r\n", "not HTTP" },
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		long r = ws_client_response((const uint8_t *)bad[i].ans, strlen(bad[i].ans), sample_key, &status, why, sizeof why);
		ck_assert_msg(r == -1 && strstr(why, bad[i].why), "answer %zu: %ld '%s'", i, r, why);
	}
	/* A NUL inside either head (the fuzzer's find: the parsers work on C strings). */
	static const char nul_ans[] = "HTTP/1.1 101 S\0x\r\n\r\n", nul_req[] = "GET /\0 HTTP/1.1\r\n\r\n";
	ck_assert_int_eq(ws_client_response((const uint8_t *)nul_ans, sizeof nul_ans - 1, sample_key, &status, why, sizeof why), -1);
	ck_assert_ptr_nonnull(strstr(why, "NUL byte"));
	ck_assert_int_eq(ws_server_request((const uint8_t *)nul_req, sizeof nul_req - 1, NULL, &rq, why, sizeof why), -1);
	ck_assert_int_eq(rq.status, 400);
}
END_TEST

START_TEST(split_path)
{
	char p[64];
	ck_assert_int_eq(ws_split_path("h:1/a/b", p, sizeof p), 3);
	ck_assert_str_eq(p, "/a/b");
	ck_assert_int_eq(ws_split_path("h:1", p, sizeof p), 3);
	ck_assert_str_eq(p, "/mqtt");
	ck_assert_int_eq(ws_split_path("[::1]:80/x", p, sizeof p), 8);
	ck_assert_str_eq(p, "/x");
	ck_assert_int_eq(ws_split_path("h:1/a b", p, sizeof p), -1);
	ck_assert_int_eq(ws_split_path("h:1/\x7f", p, sizeof p), -1);
	ck_assert_int_eq(ws_split_path("[::1:80/x", p, sizeof p), -1);
	ck_assert_int_eq(ws_split_path("h:1/0123456789", p, 8), -1);
}
END_TEST

Suite *ws_suite(void)
{
	Suite *s = suite_create("ws");
	TCase *tc = tcase_create("ws");
	tcase_add_test(tc, header_lengths);
	tcase_add_test(tc, rfc_examples);
	tcase_add_test(tc, mask_positions);
	tcase_add_test(tc, decode_lengths);
	tcase_add_test(tc, stream_across_frames);
	tcase_add_test(tc, close_frame);
	tcase_add_test(tc, bad_frames);
	tcase_add_test(tc, handshake_roundtrip);
	tcase_add_test(tc, handshake_refusals);
	tcase_add_test(tc, split_path);
	suite_add_tcase(s, tc);
	return s;
}
