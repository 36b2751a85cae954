/*
 * engine_tcp.c - the TCP target: scripted clients on real sockets against an external
 * broker, on the monotonic clock.
 *
 * The harness owns the client end of every connection, so it applies the fault model there,
 * in real time, without root or netem: each connection's two directions are the link model
 * of `mqttsim proxy` (proxy_link.c) applied to the bytes this engine queues for the broker
 * and reads from it (latency, jitter, bandwidth, loss as RTO retransmission delay and abort,
 * slicing, coalescing, limit_data, slow close), and a scenario's faults and random_faults
 * between a client and the broker (partitions two-way and one-way, clog, blackhole, reset)
 * come from the proxy's plan (proxy_plan.c), drawn from the run's seed as the simulator
 * draws them. One loop, no second socket: an in-process proxy on a loopback port would add
 * a hop, a port and a copy of every byte for the same model. Faults outside the client's
 * reach (a broker crash when mqttsim did not start the broker, clock faults, links between
 * two clients) are refused up front with their position and the reason.
 *
 * Over TLS (mqtts://) each connection is a TLS session (tls.h): the handshake is part of
 * opening it, and the fault model applies to the MQTT bytes above TLS (a slice is a record).
 *
 * Over WebSocket (ws://, wss://) the opening handshake follows (ws.h), then every write is one
 * masked binary frame (a slice is a frame, so slicing splits packets across frames), and what
 * arrives is unframed into the MQTT byte stream; pings are answered, a close frame is a close.
 *
 * Each run puts a unique run id before every client id and topic, so parallel runs and
 * leftovers never collide, and at the end clears the sessions and retained messages it
 * created.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/engine.h"
#include "harness/engine_tcp_internal.h"
#include "harness/proxy.h"
#include "mqtt/alloc.h"
#include "harness/tls.h"
#include "harness/ws.h"
#include "sim/fault.h"

#include <openssl/rand.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Bytes read from the broker and not yet delivered (a clog or partition holds them) before
 * we stop reading: the broker's socket then fills, as a real full link would make it. */
#define IN_QUEUE_MAX (1024 * 1024)

typedef struct tconn {
	int fd;
	int state;            /* 1 connecting, 0 open, -errno */
	proxy_dir d[2];       /* [0] client -> broker, [1] broker -> client (proxy.h) */
	sim_link link[2];     /* each way's profile, chosen as the simulator chooses it */
	int part[2], clog[2], hole[2]; /* faults active on the client's link, each way; they
				 outlive a connection, as a partition outlives a reconnect */
	unsigned opens;       /* connections opened so far: names each one's random streams */
	bool eof;             /* the broker closed (eof_err: with an error) */
	int eof_err;
	int64_t fin_due;      /* when the client sees that close (latency, close_delay) */
	bool blocked;         /* the socket took less than offered: wait for POLLOUT */
	SSL *ssl;             /* over TLS; while state is 1 and tcp_up, the handshake runs */
	bool tcp_up;
	short hs_events;      /* what the handshake waits for: POLLIN or POLLOUT */
	char names[TLS_NAMES_CAP];
	uint8_t *stage;       /* TLS: due bytes gathered into one record (TLS_STAGE bytes) */
	size_t stage_off, stage_len;
	/* WebSocket: while ws_phase, the opening handshake runs (state stays 1): ws_hs holds the
	 * request being written (ws_req_off of ws_req_len), then the answer read so far. */
	bool ws_phase;
	char ws_key[25];
	uint8_t *ws_hs;
	size_t ws_hs_len, ws_req_off, ws_req_len;
	ws_dec ws_dec;
	int ws_end;           /* a close frame or bad framing arrived: the connection ends (-errno) */
} tconn;

/* Over TLS, bytes due together leave in one record, as they would leave in one TCP stream:
 * a broker reads a record at a time, and one that closes with a record unread makes its
 * kernel send RST, which destroys what it had sent (a refusing CONNACK) before we read it. */
#define TLS_STAGE 16384

/* A socket the client has closed whose FIN a slow close (close_delay) still holds. */
typedef struct tlinger {
	int fd;
	SSL *ssl;
	int64_t due;
} tlinger;

typedef struct tcprun {
	const scenario *s;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int64_t t0;
	tconn *conns;
	hclient *clients;
	size_t n;
	bool verbose;
	struct pollfd *pf;
	char prefix[64];      /* the run id */
	char idp[320];        /* before client ids: [--client-id-prefix]run id */
	char tp[320];         /* before topics: [--topic-prefix/]run id */
	const run_opts *o;
	const char *host;
	uint64_t seed;
	SSL_CTX *tls;         /* NULL over plain TCP */
	bool ws;              /* ws:// or wss:// */
	char ws_path[RUN_WS_PATH_MAX];
	unsigned port;
	proxy_plan plan;      /* the scenario's faults, explicit and drawn (proxy_plan.c) */
	struct tedge {
		int64_t at;
		size_t f;     /* index into plan.faults */
		bool on;
	} *ev;
	size_t nev, next_fault;
	bool faults_off;      /* the scenario's run is over: the cleanup runs unfaulted */
	tlinger *lingers;
	size_t nlingers, lingers_cap;
} tcprun;

static int64_t t_now(void *ctx)
{
	return run_mono_us() - ((tcprun *)ctx)->t0;
}

static void t_note(void *ctx, int i, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/* A client's frame: masked with a fresh key (RFC 6455 section 5.3). Real sockets run in real
 * time, so the key comes from OpenSSL's generator, not from a seeded stream. */
static void push_frame(tcprun *r, int i, int op, const uint8_t *d, size_t n)
{
	tconn *c = &r->conns[i];
	uint8_t mask[4];
	if (RAND_bytes(mask, sizeof mask) != 1)
		abort();
	uint8_t *f = mqtt_xmalloc(WS_HDR_MAX + n);
	proxy_dir_push(&c->d[0], &c->link[0], t_now(r), f, ws_frame(f, op, true, d, n, mask));
	free(f);
}

static void t_send_ws(void *ctx, int i, const uint8_t *data, size_t len, const uint32_t *frames, size_t n, bool text)
{
	tcprun *r = ctx;
	if (r->conns[i].state != 0)
		return;
	size_t off = 0;
	for (size_t k = 0; k <= n && off < len; k++) {
		size_t take = k < n && frames[k] < len - off ? frames[k] : len - off;
		push_frame(r, i, text ? WS_TEXT : WS_BINARY, data + off, take);
		off += take;
	}
}

static void t_send(hclient *hc, const uint8_t *data, size_t len)
{
	tcprun *r = hc->ctx;
	tconn *c = &r->conns[hc->index];
	if (c->state != 0)
		return;
	if (r->ws)
		push_frame(r, hc->index, WS_BINARY, data, len);
	else
		proxy_dir_push(&c->d[0], &c->link[0], t_now(r), data, len);
}

static void conn_drop(tcprun *r, int i, bool abrt)
{
	tconn *c = &r->conns[i];
	if (c->ssl) {
		if (!abrt && c->state == 0)
			SSL_shutdown(c->ssl); /* close_notify, then the FIN; not waited for */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	c->tcp_up = false;
	c->ws_phase = false;
	free(c->ws_hs);
	c->ws_hs = NULL;
	c->ws_hs_len = c->ws_req_off = c->ws_req_len = 0;
	memset(&c->ws_dec, 0, sizeof c->ws_dec);
	c->ws_end = 0;
	free(c->stage);
	c->stage = NULL;
	c->stage_off = c->stage_len = 0;
	if (c->fd >= 0) {
		if (abrt) {
			struct linger lg = { 1, 0 }; /* close with RST, as a crashing client would */
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		}
		close(c->fd);
	}
	c->fd = -1;
	proxy_dir_clear(&c->d[0]);
	proxy_dir_clear(&c->d[1]);
	c->eof = false;
	c->eof_err = 0;
	c->fin_due = 0;
	c->blocked = false;
}

/* The client learns its connection is gone (err 0: closed; else -errno); the broker's end
 * is closed with a FIN, or with a RST when abrt. */
static void peer_gone_how(tcprun *r, int i, int err, bool abrt)
{
	hclient *hc = &r->clients[i];
	hc->peer_closed = true;
	hc->closed_at_us = t_now(r);
	r->conns[i].state = err ? err : -EPIPE;
	conn_drop(r, i, abrt);
}

static void peer_gone(tcprun *r, int i, int err)
{
	peer_gone_how(r, i, err, false);
}

/* ---- the link model's ends (proxy.h): the socket one way, the client the other ------------ */

struct wctx {
	tcprun *r;
	int i;
};

static long w_socket(void *ctx, const uint8_t *b, size_t n)
{
	struct wctx *w = ctx;
	tconn *c = &w->r->conns[w->i];
	if (c->ssl) {
		/* Into the record being gathered; a slice is a record of its own. */
		if (!c->stage)
			c->stage = mqtt_xmalloc(TLS_STAGE);
		if (c->stage_off < c->stage_len && (c->link[0].slice_max || c->stage_len == TLS_STAGE))
			return 0;
		if (c->stage_off == c->stage_len)
			c->stage_off = c->stage_len = 0;
		size_t take = n < TLS_STAGE - c->stage_len ? n : TLS_STAGE - c->stage_len;
		memcpy(c->stage + c->stage_len, b, take);
		c->stage_len += take;
		return (long)take;
	}
	return (long)send(c->fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static long w_client(void *ctx, const uint8_t *b, size_t n)
{
	struct wctx *w = ctx;
	hclient_on_bytes(&w->r->clients[w->i], b, n, t_now(w->r));
	return (long)n;
}

static void w_lost(void *ctx, uint32_t len, uint32_t tries, bool partition)
{
	struct wctx *w = ctx;
	(void)len;
	if (tries == 1 || tries % 4 == 0)
		t_note(w->r, w->i, "a segment of %uB lost, attempt %u%s", len, tries, partition ? " (partition)" : "");
}

/* Write the gathered TLS record. false: the connection is gone or the socket is full. A write
 * that would block is retried with the same bytes, as OpenSSL requires. */
static bool flush_stage(tcprun *r, int i)
{
	tconn *c = &r->conns[i];
	while (c->ssl && c->stage_off < c->stage_len) {
		long n = tls_write(c->ssl, c->stage + c->stage_off, c->stage_len - c->stage_off);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				c->blocked = true;
				return false;
			}
			peer_gone(r, i, -errno);
			return false;
		}
		c->stage_off += (size_t)n;
	}
	return true;
}

/* After the link model stopped on st: what it means for the connection. false: gone. */
static bool link_status(tcprun *r, int i, int d, int st)
{
	tconn *c = &r->conns[i];
	switch (st) {
	case PROXY_DIR_ABORTED:
		t_note(r, i, "retransmission limit reached %s: connection aborted", d ? "<-" : "->");
		peer_gone_how(r, i, -ETIMEDOUT, true);
		return false;
	case PROXY_DIR_LIMIT:
		t_note(r, i, "limit_data reached after %lluB %s: connection closed", (unsigned long long)c->d[d].sent,
		       d ? "<-" : "->");
		peer_gone(r, i, 0);
		return false;
	case PROXY_DIR_ERROR: peer_gone(r, i, -errno); return false;
	case PROXY_DIR_BLOCKED: c->blocked = true; return true;
	default: return true;
	}
}

/* Move due bytes: out to the socket, in to the client. */
static void pump(tcprun *r, int i)
{
	tconn *c = &r->conns[i];
	int64_t now = t_now(r);
	if (c->state != 0)
		return;
	for (int d = 0; d < 2; d++) {
		c->d[d].part = c->part[d] > 0;
		c->d[d].clog = c->clog[d] > 0;
		c->d[d].hole = c->hole[d] > 0;
	}
	struct wctx w = { r, i };
	proxy_dir_ops out = { w_socket, w_lost, &w }, in = { w_client, w_lost, &w };
	if (!c->blocked) {
		/* Over TLS a full record (or a slice) stops the model (BLOCKED): write it, go on. */
		int st = PROXY_DIR_OK;
		bool flushed = true;
		for (;;) {
			if (!(flushed = flush_stage(r, i)))
				break;
			st = proxy_dir_deliver(&c->d[0], &c->link[0], now, &out);
			if (!c->ssl || st != PROXY_DIR_BLOCKED)
				break;
		}
		if (flushed && c->ssl && (st == PROXY_DIR_OK || st == PROXY_DIR_LIMIT))
			flush_stage(r, i);
		if (c->state != 0 || (flushed && !link_status(r, i, 0, st)))
			return;
	}
	if (!link_status(r, i, 1, proxy_dir_deliver(&c->d[1], &c->link[1], now, &in)))
		return;
	/* The broker's close reaches the client after the bytes ahead of it, like a real FIN;
	 * a fault that holds or swallows bytes holds or swallows it too. */
	if (c->eof && !c->d[1].head && !c->d[1].part && !c->d[1].clog && !c->d[1].hole) {
		if (!c->fin_due)
			c->fin_due = (c->d[1].last_due > now ? c->d[1].last_due : now) + c->link[1].close_delay_us;
		if (c->fin_due <= now) {
			peer_gone(r, i, c->eof_err);
			return;
		}
	}
	hclient *hc = &r->clients[i];
	if (hc->keepalive_s && hc->cfg->auto_ping && hc->connacked &&
	    now - hc->last_tx_us >= (int64_t)hc->keepalive_s * 900000) {
		mqtt_packet p = { .type = MQTT_PINGREQ, .version = MQTT_V311 };
		hclient_send(hc, &p, now);
	}
}

static const char *dir_text(int dir)
{
	return dir == PROXY_C2B ? "->" : dir == PROXY_B2C ? "<-" : "<->";
}

static void apply_faults(tcprun *r)
{
	int64_t now = t_now(r);
	while (!r->faults_off && r->next_fault < r->nev && r->ev[r->next_fault].at <= now) {
		const struct tedge *e = &r->ev[r->next_fault++];
		const proxy_fault *f = &r->plan.faults[e->f];
		tconn *c = &r->conns[f->sel];
		t_note(r, f->sel, "fault: %s%s %s %s broker", e->on ? "" : "lift ", sim_fault_name(f->kind),
		       r->s->clients[f->sel].id, dir_text(f->dir));
		if (f->kind == SIM_FAULT_RESET) {
			if (c->state == 0 || c->state == 1)
				peer_gone_how(r, f->sel, -ECONNRESET, true);
			continue;
		}
		int *v = f->kind == SIM_FAULT_CLOG ? c->clog : f->kind == SIM_FAULT_BLACKHOLE ? c->hole : c->part;
		for (int d = 0; d < 2; d++)
			if (f->dir == PROXY_BOTH || f->dir == d + 1)
				v[d] += e->on ? 1 : -1;
	}
}

/* Close the sockets whose slow close is due; with all, every one (the run is over). */
static void close_lingers(tcprun *r, bool all)
{
	int64_t now = t_now(r);
	size_t k = 0;
	for (size_t j = 0; j < r->nlingers; j++) {
		tlinger *l = &r->lingers[j];
		if (!all && l->due > now) {
			r->lingers[k++] = *l;
			continue;
		}
		if (l->ssl) {
			SSL_shutdown(l->ssl);
			SSL_free(l->ssl);
		}
		close(l->fd);
	}
	r->nlingers = k;
}

static void ws_begin(tcprun *r, int i);
static void ws_step(tcprun *r, int i);

/* One step of a connection's TLS handshake; a failure is an open that failed (EPROTO), the
 * reason in the verbose notes (the probe has said it plainly before any run). */
static void handshake(tcprun *r, int i)
{
	tconn *c = &r->conns[i];
	char why[400];
	int st = tls_step(c->ssl, r->host, c->names, &c->hs_events, why, sizeof why);
	if (st == 1 && r->ws) {
		ws_begin(r, i);
		ws_step(r, i);
	} else if (st == 1) {
		c->state = 0;
	} else if (st < 0) {
		t_note(r, i, "%s", why);
		conn_drop(r, i, true);
		c->state = -EPROTO;
	}
}

/* ---- WebSocket ---------------------------------------------------------------------------- */

typedef struct ws_arrival {
	tcprun *r;
	int i;
} ws_arrival;

static void ws_on_data(void *ctx, const uint8_t *p, size_t n)
{
	ws_arrival *a = ctx;
	tconn *c = &a->r->conns[a->i];
	proxy_dir_push(&c->d[1], &c->link[1], t_now(a->r), p, n);
}

/* Write a close frame at once, past whatever the link model holds; only between frames
 * (nothing held, no TLS record half written), else it is left out: the connection ends
 * anyway, and a socket that will not take it now loses it. */
static void ws_control_now(tconn *c, int op, const uint8_t *p, size_t n)
{
	uint8_t f[WS_HDR_MAX + WS_CONTROL_MAX], mask[4];
	if (RAND_bytes(mask, sizeof mask) != 1)
		abort();
	size_t fl = ws_frame(f, op, true, p, n, mask);
	if ((c->ssl && c->stage_off < c->stage_len) || c->d[0].queued)
		return; /* a record or a frame may be half written: the close cannot go between its bytes */
	if (c->ssl)
		(void)tls_write(c->ssl, f, fl);
	else
		(void)!send(c->fd, f, fl, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void ws_on_control(void *ctx, int op, const uint8_t *p, size_t n)
{
	ws_arrival *a = ctx;
	tconn *c = &a->r->conns[a->i];
	if (op == WS_PING) {
		push_frame(a->r, a->i, WS_PONG, p, n);
	} else if (op == WS_CLOSE) {
		t_note(a->r, a->i, "WebSocket close from the broker (status %u)", n >= 2 ? (unsigned)(p[0] << 8 | p[1]) : 1005u);
		ws_control_now(c, WS_CLOSE, p, n >= 2 ? 2 : 0);
		c->ws_end = -EPIPE;
	}
}

/* Bytes read from the connection into the link model: over WebSocket unframed first. */
static void arrive(tcprun *r, int i, uint8_t *buf, size_t n)
{
	tconn *c = &r->conns[i];
	if (!r->ws) {
		proxy_dir_push(&c->d[1], &c->link[1], t_now(r), buf, n);
		return;
	}
	if (c->ws_end)
		return;
	ws_arrival a = { r, i };
	ws_sink sk = { ws_on_data, ws_on_control, NULL, &a };
	if (ws_feed(&c->ws_dec, buf, n, &sk) < 0) {
		t_note(r, i, "WebSocket: the broker sent %s: closing", c->ws_dec.why);
		uint8_t code[2] = { (uint8_t)(c->ws_dec.close_code >> 8), (uint8_t)c->ws_dec.close_code };
		ws_control_now(c, WS_CLOSE, code, 2);
		c->ws_end = -EPROTO;
	}
}

static void ws_fail(tcprun *r, int i, const char *why)
{
	t_note(r, i, "WebSocket handshake: %s", why);
	conn_drop(r, i, true);
	r->conns[i].state = -EPROTO;
}

/* The socket (and TLS) is up: start the opening handshake. */
static void ws_begin(tcprun *r, int i)
{
	tconn *c = &r->conns[i];
	uint8_t nonce[16];
	if (RAND_bytes(nonce, sizeof nonce) != 1)
		abort();
	ws_key(nonce, c->ws_key);
	c->ws_hs = mqtt_xmalloc(WS_HTTP_MAX);
	c->ws_req_len = ws_client_request((char *)c->ws_hs, WS_HTTP_MAX, r->host, r->port, r->ws_path, c->ws_key);
	c->ws_req_off = c->ws_hs_len = 0;
	c->ws_phase = true;
	memset(&c->ws_dec, 0, sizeof c->ws_dec);
}

/* One step of the opening handshake: write the request, read the answer; once it is in, the
 * connection is open and what came after the answer is frames. */
static void ws_step(tcprun *r, int i)
{
	tconn *c = &r->conns[i];
	while (c->ws_req_off < c->ws_req_len) {
		long n = c->ssl ? tls_write(c->ssl, c->ws_hs + c->ws_req_off, c->ws_req_len - c->ws_req_off)
				: send(c->fd, c->ws_hs + c->ws_req_off, c->ws_req_len - c->ws_req_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			ws_fail(r, i, strerror(errno));
			return;
		}
		c->ws_req_off += (size_t)n;
		if (c->ws_req_off == c->ws_req_len)
			c->ws_req_off = c->ws_req_len = 0; /* the buffer now takes the answer */
	}
	for (;;) {
		long n = c->ssl ? tls_read(c->ssl, c->ws_hs + c->ws_hs_len, WS_HTTP_MAX - c->ws_hs_len)
				: recv(c->fd, c->ws_hs + c->ws_hs_len, WS_HTTP_MAX - c->ws_hs_len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			ws_fail(r, i, n == 0 ? "the broker closed the connection" : strerror(errno));
			return;
		}
		c->ws_hs_len += (size_t)n;
		char why[300];
		int status;
		long end = ws_client_response(c->ws_hs, c->ws_hs_len, c->ws_key, &status, why, sizeof why);
		if (end < 0) {
			ws_fail(r, i, why);
			return;
		}
		if (end > 0) {
			c->ws_phase = false;
			c->state = 0;
			if ((size_t)end < c->ws_hs_len)
				arrive(r, i, c->ws_hs + end, c->ws_hs_len - (size_t)end);
			free(c->ws_hs);
			c->ws_hs = NULL;
			return;
		}
	}
}

/* Read what the broker sent into the link model (or its close). */
static void receive(tcprun *r, int i)
{
	tconn *c = &r->conns[i];
	uint8_t buf[65536];
	long n;
	/* TLS keeps what it decrypted out of poll's sight: read until it has none. */
	do {
		n = c->ssl ? tls_read(c->ssl, buf, sizeof buf) : (long)recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n > 0)
			arrive(r, i, buf, (size_t)n);
	} while (n > 0 && c->ssl && c->d[1].queued < IN_QUEUE_MAX && !c->ws_end);
	if (c->ws_end) {
		/* A close frame or bad framing: the close follows the bytes ahead of it (pump). */
		c->eof = true;
		c->eof_err = c->ws_end;
		return;
	}
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return; /* more later */
	if (n < 0 && c->ssl && errno == EPROTO) {
		char why[300];
		tls_error(c->ssl, -1, why, sizeof why);
		t_note(r, i, "TLS: %s", why);
	}
	/* The client sees the close once the bytes ahead of it arrived (pump). */
	c->eof = true;
	c->eof_err = n == 0 ? 0 : -errno;
}

static bool t_run_until(void *ctx, int64_t until, bool (*pred)(void *), void *arg)
{
	tcprun *r = ctx;
	for (;;) {
		apply_faults(r);
		for (size_t i = 0; i < r->n; i++)
			pump(r, (int)i);
		close_lingers(r, false);
		if (pred && pred(arg))
			return true;
		int64_t now = t_now(r);
		if (now >= until)
			return false;
		/* Sleep until the next thing due: a fault, a segment, a close, or the end. */
		int64_t wake = until;
		if (!r->faults_off && r->next_fault < r->nev && r->ev[r->next_fault].at < wake)
			wake = r->ev[r->next_fault].at;
		for (size_t j = 0; j < r->nlingers; j++)
			if (r->lingers[j].due < wake)
				wake = r->lingers[j].due;
		struct pollfd *pf = r->pf;
		for (size_t i = 0; i < r->n; i++) {
			tconn *c = &r->conns[i];
			if (c->state == 0) {
				int64_t a = c->blocked ? INT64_MAX : proxy_dir_wake(&c->d[0]), b = proxy_dir_wake(&c->d[1]);
				if (a < wake)
					wake = a;
				if (b < wake)
					wake = b;
				if (c->eof && c->fin_due && c->fin_due < wake)
					wake = c->fin_due;
				if (c->eof && !c->fin_due && !c->d[1].head && !c->part[1] && !c->clog[1] && !c->hole[1])
					wake = now; /* the close is due to be timed (a fault holding it wakes us as it ends) */
			}
			/* A socket the broker closed says POLLHUP on every call: leave it out. */
			pf[i].fd = c->state == 0 && c->eof && !c->blocked ? -1 : c->fd;
			pf[i].events = c->state == 1 && c->ws_phase ? (short)(c->ws_req_len ? POLLOUT : POLLIN)
				       : c->state == 1 && c->tcp_up ? c->hs_events
				       : (short)((c->state == 1 || c->blocked ? POLLOUT : 0) |
						 (c->state == 0 && !c->eof && c->d[1].queued < IN_QUEUE_MAX ? POLLIN : 0));
			pf[i].revents = 0;
		}
		int64_t wait_us = wake - now;
		if (wait_us > 20000)
			wait_us = 20000; /* keepalives and predicates are looked at this often */
		int wait_ms = wait_us <= 0 ? 0 : (int)((wait_us + 999) / 1000);
		if (poll(pf, (nfds_t)r->n, wait_ms) < 0 && errno != EINTR)
			return false;
		for (size_t i = 0; i < r->n; i++) {
			tconn *c = &r->conns[i];
			if (c->fd < 0 || pf[i].fd < 0 || !pf[i].revents)
				continue;
			if (c->state == 1 && c->ws_phase) {
				ws_step(r, (int)i);
				continue;
			}
			if (c->state == 1 && c->tcp_up) {
				handshake(r, (int)i);
				continue;
			}
			if (c->state == 1) {
				int err = 0;
				socklen_t l = sizeof err;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
				if (err) {
					c->state = -err;
					conn_drop(r, (int)i, false);
				} else if (pf[i].revents & (POLLOUT | POLLIN)) {
					if (c->ssl) {
						c->tcp_up = true;
						handshake(r, (int)i);
					} else if (r->ws) {
						ws_begin(r, (int)i);
						ws_step(r, (int)i);
					} else {
						c->state = 0;
					}
				}
				continue;
			}
			if (pf[i].revents & (POLLOUT | POLLERR | POLLHUP))
				c->blocked = false;
			if (!c->eof && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				receive(r, (int)i);
		}
	}
}

static int t_open(void *ctx, int i)
{
	tcprun *r = ctx;
	tconn *c = &r->conns[i];
	conn_drop(r, i, true);
	/* Each connection's own streams of the run's seed: jitter, loss and slice sizes. */
	char name[300];
	c->opens++;
	for (int d = 0; d < 2; d++) {
		snprintf(name, sizeof name, "tcp/%s/%u/%s", r->clients[i].cfg->id, c->opens, d ? "b2c" : "c2b");
		proxy_dir_init(&c->d[d], r->seed, name);
	}
	c->fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&r->addr, r->addrlen) < 0 && errno != EINPROGRESS) {
		int e = -errno;
		conn_drop(r, i, false);
		c->state = e;
		return e;
	}
	c->state = 1;
	if (r->tls) {
		c->ssl = tls_client_new(r->tls, c->fd, r->host, c->names);
		if (!c->ssl) {
			conn_drop(r, i, true);
			c->state = -ENOMEM;
			return -ENOMEM;
		}
	}
	return 0;
}

static int t_open_state(void *ctx, int i)
{
	return ((tcprun *)ctx)->conns[i].state;
}

static void t_close(void *ctx, int i, bool abrt)
{
	tcprun *r = ctx;
	tconn *c = &r->conns[i];
	if (!abrt && c->state == 0) {
		/* Let queued bytes (a DISCONNECT, say) leave first, briefly. */
		int64_t until = t_now(r) + 200000 + c->link[0].latency_us + 2 * c->link[0].jitter_us;
		while ((c->d[0].head || c->stage_off < c->stage_len) && t_now(r) < until && c->state == 0) {
			pump(r, i);
			struct pollfd pf = { c->fd, POLLOUT, 0 };
			poll(&pf, 1, 5);
			c->blocked = false;
		}
		if (c->state == 0 && c->link[0].close_delay_us > 0) {
			/* Slow close: the FIN leaves close_delay later; the client is done now. */
			t_note(r, i, "slow close: the FIN leaves in %lld ms", (long long)(c->link[0].close_delay_us / 1000));
			r->lingers = mqtt_xgrow(r->lingers, &r->lingers_cap, r->nlingers + 1, sizeof *r->lingers, 4);
			r->lingers[r->nlingers++] = (tlinger){ c->fd, c->ssl, t_now(r) + c->link[0].close_delay_us };
			c->fd = -1;
			c->ssl = NULL;
		}
	}
	conn_drop(r, i, abrt);
	c->state = -ENOTCONN;
}

static void t_note(void *ctx, int i, const char *fmt, ...)
{
	tcprun *r = ctx;
	if (!r->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "  [%lld.%06lld %s] ", (long long)(t_now(r) / 1000000), (long long)(t_now(r) % 1000000),
		r->clients[i].cfg->id);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Why a fault of this kind cannot be applied over TCP (NULL: it can, between a client and
 * the broker). a, b: its hosts. */
static const char *refusal(int kind, const char *a, const char *b, char *buf, size_t cap)
{
	switch (kind) {
	case SIM_FAULT_DRIFT:
	case SIM_FAULT_JUMP:
		snprintf(buf, cap, "a %s changes a host's clock: clock faults are simulation-only (an external broker's "
				   "clock is not ours to set); run it with --broker sim, or --broker exec:'CMD', which gives "
				   "the broker the virtual clock", sim_fault_name(kind));
		return buf;
	case SIM_FAULT_CRASH:
		if (a && !strcmp(a, "broker"))
			snprintf(buf, cap, "a crash of the broker needs a broker mqttsim started itself, and over TCP it did "
					   "not; run it with --broker exec:'CMD' (mqttsim starts the broker, crashes and "
					   "restarts it) or --broker sim");
		else
			snprintf(buf, cap, "a crash of host %s (it vanishes with its sockets, no FIN, no RST) is done only by "
					   "the simulator; run it with --broker sim", a ? a : "?");
		return buf;
	case SC_FAULT_WIFI_DOWN:
		snprintf(buf, cap, "wifi_down is a node's fault, and nodes do not run over TCP yet; run it with --broker sim");
		return buf;
	default: break;
	}
	bool ab = a && !strcmp(a, "broker"), bb = b && !strcmp(b, "broker");
	if (ab != bb)
		return NULL;
	snprintf(buf, cap, "a %s between %s and %s: over TCP the only links mqttsim reaches are those between a "
			   "client and the broker; run it with --broker sim", sim_fault_name(kind), a ? a : "?", b ? b : "?");
	return buf;
}

/* The scenario's faults and random_faults as a plan and its edges in time order; anything
 * the client side cannot apply is refused with its position and the reason. */
static int plan_faults(tcprun *r, const scenario *s, char **report)
{
	char why[400];
	for (size_t k = 0; k < s->nfaults; k++) {
		const sc_fault *f = &s->faults[k];
		if (refusal(f->kind, f->a, f->b, why, sizeof why)) {
			report_add(report, "%s:%d:%d: over TCP: %s", s->file, f->pos.line, f->pos.col, why);
			return -1;
		}
	}
	if (s->random_faults.on)
		for (int k = SIM_FAULT_CRASH; k < SIM_FAULT_KINDS; k++)
			if (s->random_faults.rates.per_hour[k] > 0) {
				refusal(k, "broker", NULL, why, sizeof why);
				report_add(report, "%s:%d:%d: over TCP random_faults cannot draw %s: %s", s->file,
					   s->random_faults.pos.line, s->random_faults.pos.col, sim_fault_name(k), why);
				return -1;
			}
	size_t skipped, drawn;
	int64_t horizon = s->duration_us ? s->duration_us : RUN_DEFAULT_LIMIT_TCP_US;
	int bad = proxy_plan_scenario(s, r->seed, horizon, &r->plan, &skipped, &drawn);
	if (bad > 0) {
		const sc_fault *f = &s->faults[bad - 1];
		report_add(report, "%s:%d:%d: over TCP only faults between a client and the broker can be applied (%s)",
			   s->file, f->pos.line, f->pos.col, sim_fault_name(f->kind));
		return -1;
	}
	const proxy_plan *p = &r->plan;
	r->ev = mqtt_xcalloc(2 * p->nfaults + 1, sizeof *r->ev);
	for (size_t i = 0; i < p->nfaults; i++) {
		r->ev[r->nev++] = (struct tedge){ p->faults[i].at_us, i, true };
		if (p->faults[i].for_us && p->faults[i].kind != SIM_FAULT_RESET)
			r->ev[r->nev++] = (struct tedge){ p->faults[i].at_us + p->faults[i].for_us, i, false };
	}
	for (size_t i = 1; i < r->nev; i++) /* stable: equal times keep the plan's order */
		for (size_t j = i; j > 0 && r->ev[j].at < r->ev[j - 1].at; j--) {
			struct tedge t = r->ev[j];
			r->ev[j] = r->ev[j - 1];
			r->ev[j - 1] = t;
		}
	if (r->verbose && (p->nfaults || drawn)) {
		fprintf(stderr, "  faults over TCP, seed %llu: %zu explicit, %zu drawn", (unsigned long long)r->seed,
			s->nfaults, drawn - skipped);
		if (skipped)
			fprintf(stderr, " (%zu more drawn between two clients: no link there over TCP, as in the simulator "
					"no connection)", skipped);
		fputc('\n', stderr);
		for (size_t i = 0; i < p->nfaults; i++) {
			const proxy_fault *f = &p->faults[i];
			fprintf(stderr, "  fault at %lld.%06llds: %s %s %s broker", (long long)(f->at_us / 1000000),
				(long long)(f->at_us % 1000000), sim_fault_name(f->kind), s->clients[f->sel].id,
				dir_text(f->dir));
			if (f->for_us)
				fprintf(stderr, " for %lld.%06llds", (long long)(f->for_us / 1000000),
					(long long)(f->for_us % 1000000));
			fputc('\n', stderr);
		}
	}
	return 0;
}

static bool cleaner_answered(void *arg)
{
	return ((hclient *)arg)->connacked;
}

/* Leave nothing behind: clear persistent sessions and retained messages this run made. */
static void cleanup(tcprun *r, engine *e)
{
	int pi = (int)r->s->nclients;
	hclient *p = &r->clients[pi];
	for (size_t i = 0; i < r->s->nclients + 1; i++) {
		const char *id = i < r->s->nclients ? (r->s->clients[i].client_id ? r->s->clients[i].client_id
										   : r->s->clients[i].id)
						    : "mqttsim-probe";
		char cid[600];
		snprintf(cid, sizeof cid, "%s-%s", r->idp, id);
		hclient_reset(p);
		if (t_open(r, pi) != 0)
			return;
		hclient *save_c = p;
		int64_t until = t_now(r) + 2000000;
		while (t_now(r) < until && r->conns[pi].state == 1)
			t_run_until(r, t_now(r) + 10000, NULL, NULL);
		if (r->conns[pi].state != 0)
			return;
		mqtt_packet c = { .type = MQTT_CONNECT, .version = MQTT_V311 };
		c.connect.client_id = (mqtt_str){ (const uint8_t *)cid, (uint32_t)strlen(cid) };
		c.connect.clean_start = true;
		if (r->o->username) {
			c.connect.has_username = true;
			c.connect.username = (mqtt_str){ (const uint8_t *)r->o->username, (uint32_t)strlen(r->o->username) };
		}
		if (r->o->password) {
			c.connect.has_password = true;
			c.connect.password = (mqtt_str){ (const uint8_t *)r->o->password, (uint32_t)strlen(r->o->password) };
		}
		hclient_send(save_c, &c, t_now(r));
		if (i == r->s->nclients) {
			/* The probe also clears retained messages published under the run id. */
			for (size_t k = 0; k < r->s->nclients; k++) {
				hclient *hc = &r->clients[k];
				for (size_t m = 0; m < hc->npubs; m++) {
					char t[512];
					snprintf(t, sizeof t, "%s/%s", r->tp, hc->pubs[m].topic);
					mqtt_packet pub = { .type = MQTT_PUBLISH, .version = MQTT_V311 };
					pub.publish.retain = true;
					pub.publish.topic = (mqtt_str){ (const uint8_t *)t, (uint32_t)strlen(t) };
					hclient_send(save_c, &pub, t_now(r));
				}
			}
		}
		/* The broker has cleared the session once it answers; bounded like every wait. */
		t_run_until(r, t_now(r) + 2000000, cleaner_answered, save_c);
		mqtt_packet d = { .type = MQTT_DISCONNECT, .version = MQTT_V311 };
		hclient_send(save_c, &d, t_now(r));
		t_close(r, pi, false);
	}
	(void)e;
}


static int resolve(const char *host, unsigned port, tcprun *r, run_result *res)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char ps[16];
	snprintf(ps, sizeof ps, "%u", port);
	int g = getaddrinfo(host, ps, &hints, &ai);
	if (g || !ai) {
		report_add(&res->report, "cannot resolve broker address %s: %s", host, gai_strerror(g));
		return -1;
	}
	memcpy(&r->addr, ai->ai_addr, ai->ai_addrlen);
	r->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

int engine_tcp_run(const scenario *s, const run_opts *o, const char *host, unsigned port, bool tls,
		   run_result *res)
{
	tcprun r = { .s = s, .verbose = o->verbose, .o = o, .host = host, .port = port };
	r.ws = run_target_ws(o->broker, r.ws_path, sizeof r.ws_path);
	if (tls) {
		char why[600];
		r.tls = tls_client_ctx(o, why, sizeof why);
		if (!r.tls) {
			report_add(&res->report, "%s", why);
			return -1;
		}
	}
	if (engine_tcp__probed.set && engine_tcp__probed.port == port && !strcmp(engine_tcp__probed.host, host)) {
		memcpy(&r.addr, &engine_tcp__probed.addr, engine_tcp__probed.len);
		r.addrlen = engine_tcp__probed.len;
	} else if (resolve(host, port, &r, res) < 0) {
		return -1;
	}
	r.seed = res->seed;
	if (plan_faults(&r, s, &res->report) < 0) {
		free(r.ev);
		proxy_plan_free(&r.plan);
		return -1;
	}
	/* A run id nobody else uses: the process and the moment, in hex. */
	snprintf(r.prefix, sizeof r.prefix, "msim-%x-%llx", (unsigned)getpid(),
		 (unsigned long long)(run_mono_us() & 0xFFFFFFFFFFull));
	snprintf(r.idp, sizeof r.idp, "%s%s", o->id_prefix ? o->id_prefix : "", r.prefix);
	snprintf(r.tp, sizeof r.tp, "%s%s%s", o->topic_prefix ? o->topic_prefix : "", o->topic_prefix ? "/" : "",
		 r.prefix);
	r.n = s->nclients + 1;
	r.conns = mqtt_xcalloc(r.n, sizeof *r.conns);
	r.clients = mqtt_xcalloc(r.n, sizeof *r.clients);
	r.pf = mqtt_xcalloc(r.n, sizeof *r.pf);
	sc_client probe = { .id = "mqttsim-probe", .auto_ack = true };
	for (size_t i = 0; i < r.n; i++) {
		const sc_client *sc = i < s->nclients ? &s->clients[i] : &probe;
		hclient_init(&r.clients[i], sc, (int)i);
		r.clients[i].send = t_send;
		r.clients[i].ctx = &r;
		r.clients[i].prefix = r.tp;
		r.conns[i].fd = -1;
		r.conns[i].state = -ENOTCONN;
		if (i == s->nclients)
			continue; /* the probe that cleans up runs on a plain link */
		/* Each way's profile as the simulator picks it (sim_net_link): the sending host's,
		 * else the receiving host's, else the default. */
		const sim_link *own = NULL, *br = NULL, *def = NULL;
		for (size_t k = 0; k < s->nlinks; k++) {
			const sc_link *l = &s->links[k];
			if (!l->node)
				def = &l->link;
			else if (!strcmp(l->node, sc->id))
				own = &l->link;
			else if (!strcmp(l->node, "broker"))
				br = &l->link;
		}
		const sim_link none = { 0 };
		r.conns[i].link[0] = *(own ? own : br ? br : def ? def : &none);
		r.conns[i].link[1] = *(br ? br : own ? own : def ? def : &none);
	}
	r.t0 = run_mono_us();
	engine e = { .ctx = &r, .clients = r.clients, .nclients = s->nclients, .now = t_now,
		     .run_until = t_run_until, .open = t_open, .open_state = t_open_state, .close = t_close,
		     .note = t_note, .id_prefix = r.idp, .topic_prefix = r.tp, .username = o->username,
		     .password = o->password, .send_ws = r.ws ? t_send_ws : NULL,
		     .limit_us = s->duration_us ? s->duration_us : RUN_DEFAULT_LIMIT_TCP_US };
	res->pass = run_steps(&e, s, res);
	res->virtual_us = t_now(&r);
	r.faults_off = true;
	if (o->out_dir) {
		/* Over TCP the trace is what the clients saw: every packet received, in time order
		 * per client, with the run id stripped from topics. */
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.trace", o->out_dir, s->name);
		FILE *f = fopen(path, "w");
		if (f) {
			fprintf(f, "# mqttsim tcp trace of %s (%s) against %s:%u, run id %s, seed %llu\n", s->name,
				s->file ? s->file : "-", host, port, r.prefix, (unsigned long long)r.seed);
			for (size_t k = 0; k < r.plan.nfaults; k++) {
				const proxy_fault *pf = &r.plan.faults[k];
				fprintf(f, "# fault at %lld.%06lld %s %s %s broker", (long long)(pf->at_us / 1000000),
					(long long)(pf->at_us % 1000000), sim_fault_name(pf->kind), s->clients[pf->sel].id,
					dir_text(pf->dir));
				if (pf->for_us)
					fprintf(f, " for %lld.%06lld", (long long)(pf->for_us / 1000000),
						(long long)(pf->for_us % 1000000));
				fputc('\n', f);
			}
			for (size_t i = 0; i < s->nclients; i++)
				for (size_t k = 0; k < r.clients[i].npkts; k++) {
					const rx_pkt *p = &r.clients[i].pkts[k];
					fprintf(f, "%6lld.%06lld %s recv %s\n", (long long)(p->at_us / 1000000),
						(long long)(p->at_us % 1000000), s->clients[i].id, p->line);
				}
			fclose(f);
		} else {
			report_add(&res->report, "could not write the trace to %s", path);
		}
	}
	for (size_t i = 0; i < s->nclients; i++)
		t_close(&r, (int)i, false);
	cleanup(&r, &e);
	for (size_t i = 0; i < r.n; i++) {
		conn_drop(&r, (int)i, false);
		hclient_free(&r.clients[i]);
	}
	free(r.conns);
	free(r.clients);
	close_lingers(&r, true);
	free(r.lingers);
	free(r.pf);
	free(r.ev);
	proxy_plan_free(&r.plan);
	return 0;
}
