/*
 * fuzz_ws.c - libFuzzer target for the WebSocket layer (harness/ws.h): the frame decoder of
 * either side and both parsers of the opening handshake, which read what a peer on the
 * network sends to mqttsim broker --listen-ws and to the ws:// client.
 *
 * The first byte picks the surface (its low two bits) and the decoder's chunk size (the rest):
 *   0, 1  the decoder of a server (1: of a client) fed the input in chunks of that size, and
 *         again a byte at a time: both ways must hand on the same bytes, the same control
 *         frames and end in the same state (a frame decoder must not care how reads split);
 *         no more payload comes out than went in;
 *   2     the server's parser of a request: one it takes must have a key that makes an answer
 *         the client's parser takes whole;
 *   3     the client's parser of an answer, for a fixed key: whatever it returns lies within
 *         the input.
 */
#include "harness/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct out {
	uint8_t *data;
	size_t len, cap;
	size_t nctl;
	uint64_t ctl_sum;
} out;

static void on_data(void *ctx, const uint8_t *p, size_t n)
{
	out *o = ctx;
	if (o->len + n > o->cap)
		abort(); /* more payload than input */
	memcpy(o->data + o->len, p, n);
	o->len += n;
}

static void on_control(void *ctx, int op, const uint8_t *p, size_t n)
{
	out *o = ctx;
	if (n > WS_CONTROL_MAX)
		abort();
	o->nctl++;
	o->ctl_sum = o->ctl_sum * 31 + (uint64_t)op;
	for (size_t i = 0; i < n; i++)
		o->ctl_sum = o->ctl_sum * 31 + p[i];
}

/* Feed in chunks of step; the last status. */
static int feed(ws_dec *d, const uint8_t *in, size_t n, size_t step, out *o)
{
	uint8_t *copy = malloc(n ? n : 1);
	memcpy(copy, in, n);
	ws_sink s = { on_data, on_control, NULL, o };
	int st = 0;
	for (size_t off = 0; off < n && st == 0; off += step)
		st = ws_feed(d, copy + off, n - off < step ? n - off : step, &s);
	free(copy);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int mode = data[0] & 3;
	size_t step = (size_t)(data[0] >> 2) + 1;
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	if (mode <= 1) {
		ws_dec a = { .server = mode == 0, .max_frame = 1 << 16 }, b = a;
		out oa = { .data = malloc(n + 1), .cap = n }, ob = { .data = malloc(n + 1), .cap = n };
		int sa = feed(&a, in, n, step, &oa), sb = feed(&b, in, n, 1, &ob);
		if (sa != sb || oa.len != ob.len || (oa.len && memcmp(oa.data, ob.data, oa.len)) || oa.nctl != ob.nctl ||
		    oa.ctl_sum != ob.ctl_sum || a.close_code != b.close_code || a.frames != b.frames)
			abort(); /* the chunking changed what was decoded */
		if (sa < 0 && (!a.close_code || !a.why[0]))
			abort(); /* an error says what and how to close */
		free(oa.data);
		free(ob.data);
	} else if (mode == 2) {
		ws_req rq;
		char why[300];
		long r = ws_server_request(in, n, NULL, &rq, why, sizeof why);
		if (r > (long)n || (r < 0 && (!rq.status || !why[0])))
			abort();
		if (r > 0) {
			char ans[1024];
			size_t al = ws_server_response(ans, sizeof ans, &rq, 0, false);
			int status;
			if (!al || ws_client_response((const uint8_t *)ans, al, rq.key, &status, why, sizeof why) != (long)al ||
			    status != 101)
				abort(); /* our own answer to a request we took is refused by our client */
		}
	} else {
		int status;
		char why[300];
		long r = ws_client_response(in, n, "dGhlIHNhbXBsZSBub25jZQ==", &status, why, sizeof why);
		if (r > (long)n || (r < 0 && !why[0]) || (r > 0 && status != 101))
			abort();
	}
	return 0;
}
