/*
 * ws.h - WebSocket (RFC 6455) for MQTT over ws:// and wss://: the framing and the opening
 * handshake, as pure functions over caller buffers (no I/O, no clock). The harness's client
 * transport (engine_tcp.c, the probe, the proxy's upstream) and the broker's --listen-ws
 * (broker_shell_tcp.c) both use it; tests/test_ws.c covers it.
 *
 * Written here rather than taken from libwslay: MQTT needs only binary messages as one byte
 * stream, ping/pong and close, which is a few hundred lines, while wslay's event API would still
 * leave the handshake, the subprotocol and the error words to us. SHA-1 and base64 for the
 * handshake come from OpenSSL.
 *
 * MQTT over WebSocket (MQTT 3.1.1 section 6, 5.0 section 6): packets travel in binary frames
 * (MQTT-6.0.0-1: any other data frame closes the connection), a frame may hold several packets
 * or part of one (MQTT-6.0.0-2), the client offers the subprotocol "mqtt" (MQTT-6.0.0-3) and the
 * server selects it (MQTT-6.0.0-4).
 */
#ifndef HARNESS_WS_H
#define HARNESS_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { WS_CONT = 0x0, WS_TEXT = 0x1, WS_BINARY = 0x2, WS_CLOSE = 0x8, WS_PING = 0x9, WS_PONG = 0xA };

/* Close status codes we send (RFC 6455 section 7.4.1). */
enum { WS_CLOSE_NORMAL = 1000, WS_CLOSE_PROTOCOL = 1002, WS_CLOSE_UNSUPPORTED = 1003, WS_CLOSE_TOO_BIG = 1009 };

#define WS_HDR_MAX 14      /* 2 + 8 (64-bit length) + 4 (mask key) */
#define WS_CONTROL_MAX 125 /* a control frame's payload bound */
#define WS_HTTP_MAX 8192   /* an opening handshake (request or answer) longer than this is refused */
#define WS_FRAME_MAX ((uint64_t)1 << 28) /* a data frame's payload bound (256 MiB: an MQTT packet's) */

/* A frame's header for a payload of len bytes: opcode, FIN, the shortest length form, and the
 * mask key when mask is not NULL (a client's frames are masked, a server's are not). Returns
 * its length (2 to WS_HDR_MAX). */
size_t ws_header(uint8_t out[WS_HDR_MAX], int opcode, bool fin, uint64_t len, const uint8_t *mask);

/* XOR n payload bytes with mask, the first of them being byte pos of the frame's payload. */
void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t pos);

/* A whole frame (header, then the payload, masked when mask is given) into out, which holds
 * WS_HDR_MAX + len bytes. Returns its length. */
size_t ws_frame(uint8_t *out, int opcode, bool fin, const uint8_t *payload, size_t len, const uint8_t *mask);

/* What the decoder hands on: binary payload bytes, in order, as one stream across frames and
 * messages (MQTT-6.0.0-2: frames need not line up with packets); and whole control frames. */
typedef struct ws_sink {
	void (*data)(void *ctx, const uint8_t *p, size_t n);
	void (*control)(void *ctx, int opcode, const uint8_t *p, size_t n); /* ping, pong, close */
	void (*frame_end)(void *ctx); /* a data frame ended (may be NULL; tests and a broken server) */
	void *ctx;
} ws_sink;

/* A frame decoder for one direction of one connection. Zero it, then set server (it reads a
 * client's frames, which must be masked; a client's decoder refuses masked ones) and
 * max_frame (0: WS_FRAME_MAX). */
typedef struct ws_dec {
	bool server;
	uint64_t max_frame;
	bool text_ok;        /* test only: a text frame passes as data (a broken server) */
	/* the frame being read */
	uint8_t hdr[WS_HDR_MAX];
	size_t hdr_got, hdr_need;
	bool in_payload;
	int op;
	bool fin, masked;
	uint8_t mask[4];
	uint64_t len, got;
	uint8_t ctl[WS_CONTROL_MAX];
	int msg_op;          /* the fragmented data message in progress (WS_BINARY), else 0 */
	bool closed;         /* a close frame was read: nothing after it counts */
	/* after an error */
	uint16_t close_code; /* what to close with (WS_CLOSE_*) */
	char why[160];       /* what was wrong, in words */
	uint64_t frames;     /* data frames read (whole), for tests and logs */
} ws_dec;

/* Feed n bytes read from the connection (unmasked in place). 0 all taken; 1 a close frame
 * was read (control() had it; the bytes after it are ignored); -1 a protocol error: close_code
 * and why say what (reserved bits, an unknown opcode, a text frame, a control frame over 125
 * bytes or fragmented, a continuation out of place, masking the wrong way, a length not in its
 * shortest form or over max_frame). */
int ws_feed(ws_dec *d, uint8_t *p, size_t n, const ws_sink *s);

/* ---- the opening handshake ------------------------------------------------------------------ */

/* Sec-WebSocket-Key from 16 random bytes: their base64 (24 characters and a NUL). */
void ws_key(const uint8_t nonce[16], char out[25]);
/* Sec-WebSocket-Accept for a key: base64(SHA-1(key GUID)) (28 characters and a NUL). */
void ws_accept(const char *key, char out[29]);

/* The client's request for path (starting with '/') on host:port, offering the subprotocol
 * mqtt (MQTT-6.0.0-3). Returns its length, or 0 when it does not fit in cap. */
size_t ws_client_request(char *out, size_t cap, const char *host, unsigned port, const char *path, const char *key);

/* The server's answer to the request with key, in buf[0..n). Returns the answer's length (what
 * follows it is frames), 0 when it is not complete yet, -1 when it refuses or is wrong, with why
 * ("answered 404 Not Found", "Sec-WebSocket-Accept is wrong", "no subprotocol mqtt selected
 * (MQTT-6.0.0-4)"...). *status gets the HTTP status when there is one. */
long ws_client_response(const uint8_t *buf, size_t n, const char *key, int *status, char *why, size_t cap);

/* A request the server read. */
typedef struct ws_req {
	char key[64];      /* Sec-WebSocket-Key */
	bool mqtt;         /* mqtt was among the subprotocols offered */
	int status;        /* when refused: 400, 404 (another path), 426 (not version 13) */
	char path[256];
} ws_req;

/* The server's side: the request in buf[0..n) for path (NULL: any path). Returns its length, 0
 * when not complete yet, -1 when it is to be refused (rq->status and why say why). */
long ws_server_request(const uint8_t *buf, size_t n, const char *path, ws_req *rq, char *why, size_t cap);

/* The answer: 101 with Sec-WebSocket-Accept and, unless no_protocol (a broken server, for
 * tests), Sec-WebSocket-Protocol: mqtt (MQTT-6.0.0-4); or, when status is not 0, that refusal.
 * Returns its length, 0 when it does not fit. */
size_t ws_server_response(char *out, size_t cap, const ws_req *rq, int status, bool no_protocol);

/* Split a ws:// or wss:// URL's rest "HOST:PORT[/PATH]" (after the scheme): the path (with
 * its '/'; "/mqtt" when none is given) into path. Returns the length of "HOST:PORT", or -1
 * when the path is not printable ASCII without spaces or is longer than pcap - 1. */
long ws_split_path(const char *rest, char *path, size_t pcap);

#endif
