/*
 * broker_shell_tcp.c - glue between the broker core and real sockets.
 *
 * One event-loop thread, one epoll set. A connection's id is its file descriptor: unique
 * while open, and the core has forgotten an id before the descriptor is closed and can be
 * reused. Bytes the kernel will not take yet wait in a per-connection buffer and leave on
 * EPOLLOUT.
 *
 * Password checks (PBKDF2, ~9 ms each at 10,000 iterations) run on one worker thread, so a
 * flood of CONNECTs cannot stall everyone else's traffic: the core pauses a connection whose
 * CONNECT is being checked (broker_auth.connect_start) and the answer comes back through an
 * eventfd to this loop, which alone calls into the core. The worker touches nothing but its
 * job and the injected broker_auth.connect, which must therefore be thread-safe
 * (broker/auth.h's is: it only reads the loaded file). The simulation shell keeps asking synchronously.
 *
 * A second listener may speak TLS (OpenSSL, harness/tls.h). Its connections shake hands
 * inside this loop, non-blocking like everything else, and reach the core only once the
 * handshake is done, so the core never sees TLS at all. A connection that has not finished
 * within BROKER_TLS_HANDSHAKE_S is dropped and logged: otherwise a client that opens and says
 * nothing would hold a descriptor forever.
 *
 * WebSocket listeners (ws, and wss: TLS first) work the same way: the opening handshake runs
 * here (harness/ws.h), then what the core writes leaves as one unmasked binary frame per
 * write, and what arrives is unframed into one byte stream for the core, whatever the frames'
 * boundaries (MQTT-6.0.0-2). A text frame, or any other breach of the framing, closes the
 * connection with a close frame saying why (MQTT-6.0.0-1); to the core that is a connection
 * lost, like a client that sends a close frame.
 */
#define _GNU_SOURCE /* accept4 */
#include "harness/broker_shell_tcp.h"
#include "harness/broker_shell_tcp_internal.h"

#include "broker/sha256.h"
#include "harness/run.h"
#include "harness/tls.h"
#include "harness/ws.h"
#include "mqtt/alloc.h"
#include "mqtt/mqtt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define MAX_OUTBUF (64u << 20) /* a client that reads nothing is cut off past this */
#define MAX_OUTBUF_NAME "64 MiB"
#define FD_PAUSE_US 100000     /* out of descriptors without a spare: listener rests this long */
#define MAX_SHED 64            /* connections refused per wake-up while out of descriptors */

void bst__logf_(shell *sh, const char *line)
{
	if (!sh->o->log)
		return;
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(sh->o->log, "%s %s\n", ts, line);
	fflush(sh->o->log);
}

tconn *bst__get(shell *sh, int fd)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= sh->nconns) {
		size_t n = sh->nconns ? sh->nconns : 64;
		while (n <= (size_t)fd)
			n *= 2;
		tconn *c = mqtt_xrealloc(sh->conns, n * sizeof *c);
		memset(c + sh->nconns, 0, (n - sh->nconns) * sizeof *c);
		sh->conns = c;
		sh->nconns = n;
	}
	return &sh->conns[fd];
}


static void conn_close(shell *sh, int fd)
{
	tconn *c = bst__get(sh, fd);
	if (c->auth_pending)
		bst__auth_cancel(sh, fd, c->gen); /* no hashing for a client that left */
	if (!c->dead)
		epoll_ctl(sh->ep, EPOLL_CTL_DEL, fd, NULL); /* a dead one left the set already */
	if (c->ssl) {
		if (c->closing && !c->dead)
			SSL_shutdown(c->ssl); /* close_notify before the FIN; not waited for */
		SSL_free(c->ssl);
	}
	if (c->hs)
		sh->nhs--;
	close(fd);
	free(c->ws_req);
	free(c->fbuf);
	free(c->out);
	memset(c, 0, sizeof *c);
	sh->nopen--;
}

/* Register what the connection waits for: input unless its CONNECT is being checked
 * (level-triggered, so unread input would wake the loop at once), output when buffered. */
void bst__update_interest(shell *sh, int fd, tconn *c)
{
	struct epoll_event ev = { .events = c->hs ? c->hs_events
						  : (c->auth_pending ? 0 : EPOLLIN | EPOLLRDHUP) | (c->want_out ? EPOLLOUT : 0),
				  .data.fd = fd };
	epoll_ctl(sh->ep, EPOLL_CTL_MOD, fd, &ev);
}

static void set_out_interest(shell *sh, int fd, tconn *c, bool want)
{
	if (c->want_out == want)
		return;
	c->want_out = want;
	bst__update_interest(sh, fd, c);
}

/*
 * Cut a connection off from inside a core call (env_send, the flush it makes): telling the
 * core there would pull state out from under it. Everything that can go at once goes: the
 * socket leaves the epoll set (no more wake-ups for it), is shut down, and its buffer is
 * freed. The descriptor stays open, so its number (the core's id) cannot be reused, until
 * bst__reap() tells the core and closes it after the core call returns.
 */
static void kill_conn(shell *sh, tconn *c, int fd)
{
	if (c->dead)
		return;
	c->dead = true;
	c->want_out = false;
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = c->out_cap = 0;
	epoll_ctl(sh->ep, EPOLL_CTL_DEL, fd, NULL);
	shutdown(fd, SHUT_RDWR);
	if (sh->nreap == sh->reap_cap) {
		size_t cap = sh->reap_cap ? 2 * sh->reap_cap : 16;
		int *r = mqtt_xrealloc(sh->reap, cap * sizeof *r);
		sh->reap = r;
		sh->reap_cap = cap;
	}
	sh->reap[sh->nreap++] = fd;
}

/* Outside core calls: tell the core about every connection cut off meanwhile (once each:
 * its will, its session), then close it. Telling the core can cut off more (a will sent to
 * another slow reader); the loop takes those too. An fd the core closed meanwhile (a
 * takeover: env_close) was closed there, and one reused since is not dead. */
void bst__reap(shell *sh)
{
	while (sh->nreap) {
		int fd = sh->reap[--sh->nreap];
		tconn *c = bst__get(sh, fd);
		if (!c->open || !c->dead)
			continue;
		broker_on_close(sh->b, (uint64_t)fd);
		if (bst__get(sh, fd)->open)
			conn_close(sh, fd);
	}
}

/* Write what is buffered. Returns false if the connection is finished. */
static bool flush(shell *sh, int fd)
{
	tconn *c = bst__get(sh, fd);
	if (c->dead)
		return false;
	while (c->out_len) {
		ssize_t n = c->ssl ? tls_write(c->ssl, c->out + c->out_off, c->out_len)
				   : send(fd, c->out + c->out_off, c->out_len, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			c->out_len -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_out_interest(sh, fd, c, true);
			return true;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (c->closing)
			conn_close(sh, fd); /* the core has forgotten it already */
		else
			kill_conn(sh, c, fd);
		return false;
	}
	c->out_off = 0;
	set_out_interest(sh, fd, c, false);
	if (c->closing) {
		conn_close(sh, fd);
		return false;
	}
	return true;
}

static int64_t env_now(void *ctx)
{
	(void)ctx;
	return run_mono_us();
}

static void out_add(shell *sh, int fd, tconn *c, const uint8_t *data, size_t len, const uint8_t *data2, size_t len2);

static void env_send(void *ctx, uint64_t id, const uint8_t *data, size_t len)
{
	shell *sh = ctx;
	int fd = (int)id;
	tconn *c = bst__get(sh, fd);
	if (!c->open || c->closing || c->dead)
		return;
	if (c->ws) {
		uint8_t h[WS_HDR_MAX];
		size_t hl = ws_header(h, WS_BINARY, true, len, NULL);
		out_add(sh, fd, c, h, hl, data, len);
	} else {
		out_add(sh, fd, c, data, len, NULL, 0);
	}
}

/* Queue data then data2 (either may be empty) and write at once if nothing waits. */
static void out_add(shell *sh, int fd, tconn *c, const uint8_t *data, size_t len1, const uint8_t *data2, size_t len2)
{
	size_t len = len1 + len2;
	if (c->out_len + len > MAX_OUTBUF) {
		char line[512];
		const char *cid = broker_conn_client_id(sh->b, (uint64_t)fd);
		snprintf(line, sizeof line,
			 "cutting off %s client=%s: it reads too slowly, %zu bytes wait to be sent and %zu more would pass the %s output bound",
			 c->peer, cid ? cid : "-", c->out_len, len, MAX_OUTBUF_NAME);
		bst__logf_(sh, line);
		kill_conn(sh, c, fd);
		return;
	}
	if (c->out_off && c->out_off + c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, c->out_len);
		c->out_off = 0;
	}
	if (c->out_off + c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_off + c->out_len + len)
			cap *= 2;
		uint8_t *o = mqtt_xrealloc(c->out, cap);
		c->out = o;
		c->out_cap = cap;
	}
	if (len1)
		memcpy(c->out + c->out_off + c->out_len, data, len1);
	if (len2)
		memcpy(c->out + c->out_off + c->out_len + len1, data2, len2);
	c->out_len += len;
	/* Write at once only when nothing is queued: the next flush keeps the order. */
	if (!c->want_out)
		flush(sh, fd);
}

static void env_close(void *ctx, uint64_t id)
{
	shell *sh = ctx;
	tconn *c = bst__get(sh, (int)id);
	if (!c->open)
		return;
	if (c->ws && !c->dead && !c->closing && !c->hs) {
		/* The WebSocket close handshake's first half; the FIN follows it at once. */
		uint8_t f[4];
		out_add(sh, (int)id, c, f, ws_frame(f, WS_CLOSE, true, (const uint8_t *)"\x03\xe8", 2, NULL), NULL, 0);
		c = bst__get(sh, (int)id);
		if (!c->open)
			return;
	}
	c->closing = true;
	if (c->dead)
		conn_close(sh, (int)id); /* cut off before, and now forgotten: nothing to flush */
	else
		flush(sh, (int)id);
}

static void env_wake(void *ctx, int64_t at)
{
	shell *sh = ctx;
	sh->wake_at = at;
}

static void env_log(void *ctx, const char *line)
{
	bst__logf_(ctx, line);
}

/* SCRAM's server nonce: from the OS through OpenSSL's generator. */
static void env_rand(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	if (RAND_bytes(out, (int)len) != 1)
		abort(); /* no randomness: better no broker than a guessable nonce */
}

/*
 * accept() failed for want of descriptors. The pending connection stays in the backlog and
 * the listener stays readable, so simply returning would wake the loop again at once,
 * forever. Instead give up the spare descriptor, accept and close at once what is waiting
 * (those clients see their connection closed rather than hang), and take the spare back;
 * without a spare, take the listener out of the epoll set for FD_PAUSE_US. Logged once per
 * episode; the episode ends at the next accept that succeeds.
 */
static void out_of_fds(shell *sh, int lfd, int err)
{
	if (!sh->fd_starved) {
		char line[256];
		snprintf(line, sizeof line,
			 "out of file descriptors (accept: %s) with %zu connections open: refusing new connections until some close",
			 strerror(err), sh->nopen);
		bst__logf_(sh, line);
		sh->fd_starved = true;
	}
	bool shed = false;
	if (sh->spare_fd >= 0) {
		close(sh->spare_fd);
		sh->spare_fd = -1;
		for (int i = 0; i < MAX_SHED; i++) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				break;
			close(fd);
			sh->fd_refused++;
			shed = true;
		}
		sh->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (!shed || sh->spare_fd < 0) {
		epoll_ctl(sh->ep, EPOLL_CTL_DEL, sh->lfd, NULL);
		if (sh->tls_lfd >= 0)
			epoll_ctl(sh->ep, EPOLL_CTL_DEL, sh->tls_lfd, NULL);
		if (sh->ws_lfd >= 0)
			epoll_ctl(sh->ep, EPOLL_CTL_DEL, sh->ws_lfd, NULL);
		if (sh->wss_lfd >= 0)
			epoll_ctl(sh->ep, EPOLL_CTL_DEL, sh->wss_lfd, NULL);
		sh->listen_resume_at = run_mono_us() + FD_PAUSE_US;
	}
}

static void accept_all(shell *sh, int lfd)
{
	bool tls = lfd == sh->tls_lfd || lfd == sh->wss_lfd, ws = lfd == sh->ws_lfd || lfd == sh->wss_lfd;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				out_of_fds(sh, lfd, errno);
			return; /* EAGAIN: all taken */
		}
		if (sh->fd_starved) {
			char line[160];
			snprintf(line, sizeof line,
				 "file descriptors available again: accepting connections (%llu refused meanwhile)",
				 (unsigned long long)sh->fd_refused);
			bst__logf_(sh, line);
			sh->fd_starved = false;
			sh->fd_refused = 0;
			if (sh->spare_fd < 0)
				sh->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		char peer[INET6_ADDRSTRLEN + 8] = "?";
		char ip[INET6_ADDRSTRLEN];
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
			snprintf(peer, sizeof peer, "%s:%u", ip, ntohs(a->sin_port));
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
			snprintf(peer, sizeof peer, "[%s]:%u", ip, ntohs(a->sin6_port));
		}
		tconn *c = bst__get(sh, fd);
		memset(c, 0, sizeof *c);
		c->open = true;
		c->gen = ++sh->next_gen;
		snprintf(c->peer, sizeof c->peer, "%s", peer);
		sh->nopen++;
		if (ws) {
			c->ws = true;
			c->ws_path = lfd == sh->ws_lfd ? sh->o->ws_path : sh->o->wss_path;
			c->dec.server = true;
			c->dec.text_ok = (sh->o->cfg.test_faults & BROKER_TF_WS_TEXT_ACCEPTED) != 0;
		}
		if (tls || ws) {
			c->ssl = tls ? SSL_new(sh->o->tls_ctx) : NULL;
			if (tls && !c->ssl) {
				bst__logf_(sh, "cannot start a TLS session (out of memory): connection closed");
				close(fd);
				memset(c, 0, sizeof *c);
				sh->nopen--;
				continue;
			}
			if (tls) {
				SSL_set_fd(c->ssl, fd);
				SSL_set_accept_state(c->ssl);
			}
			c->tls_done = !tls;
			c->hs = true;
			c->hs_events = EPOLLIN;
			c->hs_deadline = run_mono_us() + BROKER_TLS_HANDSHAKE_S * 1000000LL;
			if (c->hs_deadline < sh->hs_check_at)
				sh->hs_check_at = c->hs_deadline;
			sh->nhs++;
			struct epoll_event hev = { .events = EPOLLIN, .data.fd = fd };
			epoll_ctl(sh->ep, EPOLL_CTL_ADD, fd, &hev);
			continue; /* the core hears of it when the handshake (TLS, WebSocket) is done */
		}
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = fd };
		epoll_ctl(sh->ep, EPOLL_CTL_ADD, fd, &ev);
		if (broker_on_open(sh->b, (uint64_t)fd, peer) < 0 && bst__get(sh, fd)->open && !bst__get(sh, fd)->closing)
			conn_close(sh, fd);
	}
}

/* ---- WebSocket --------------------------------------------------------------------------- */

typedef struct ws_in {
	shell *sh;
	int fd;
} ws_in;

/* Whether fd is still the core's to read for. */
static bool readable_conn(shell *sh, int fd)
{
	tconn *c = bst__get(sh, fd);
	return c->open && !c->closing && !c->dead;
}

static void ws_on_data(void *ctx, const uint8_t *p, size_t n)
{
	ws_in *w = ctx;
	tconn *c = bst__get(w->sh, w->fd);
	if (!readable_conn(w->sh, w->fd))
		return;
	if (w->sh->o->cfg.test_faults & BROKER_TF_WS_FRAME_IS_PACKET) {
		/* Broken on purpose: a frame is taken to be exactly one packet. */
		if (c->fbuf_len + n > 1u << 20)
			return;
		uint8_t *b = realloc(c->fbuf, c->fbuf_len + n);
		if (!b)
			abort();
		memcpy(b + c->fbuf_len, p, n);
		c->fbuf = b;
		c->fbuf_len += n;
		return;
	}
	broker_on_bytes(w->sh->b, (uint64_t)w->fd, p, n);
}

static void ws_on_frame_end(void *ctx)
{
	ws_in *w = ctx;
	tconn *c = bst__get(w->sh, w->fd);
	if (!(w->sh->o->cfg.test_faults & BROKER_TF_WS_FRAME_IS_PACKET) || !readable_conn(w->sh, w->fd))
		return;
	uint32_t total = 0;
	size_t len = c->fbuf_len;
	c->fbuf_len = 0;
	if (mqtt_frame(c->fbuf, len, &total) > 0 && total <= len)
		broker_on_bytes(w->sh->b, (uint64_t)w->fd, c->fbuf, total);
}

static void ws_on_control(void *ctx, int op, const uint8_t *p, size_t n)
{
	ws_in *w = ctx;
	tconn *c = bst__get(w->sh, w->fd);
	if (op == WS_PING && readable_conn(w->sh, w->fd)) {
		uint8_t f[WS_HDR_MAX + WS_CONTROL_MAX];
		out_add(w->sh, w->fd, c, f, ws_frame(f, WS_PONG, true, p, n, NULL), NULL, 0);
	}
}

/* The client sent a close frame (code 0) or broke the framing (code, why): answer with a
 * close frame, then the connection is lost to the core. */
static void ws_end(shell *sh, int fd, uint16_t code, const char *why)
{
	tconn *c = bst__get(sh, fd);
	if (why) {
		char line[400];
		snprintf(line, sizeof line, "WebSocket: %s sent %s: connection closed (close %u)", c->peer, why, code);
		bst__logf_(sh, line);
	}
	uint8_t cc[2] = { (uint8_t)((code ? code : WS_CLOSE_NORMAL) >> 8), (uint8_t)(code ? code : WS_CLOSE_NORMAL) };
	uint8_t f[8];
	size_t fl = ws_frame(f, WS_CLOSE, true, cc, 2, NULL);
	flush(sh, fd);
	c = bst__get(sh, fd);
	if (!c->open || c->dead)
		return; /* cut off: bst__reap() tells the core */
	if (!c->out_len)
		(void)(c->ssl ? tls_write(c->ssl, f, fl) : send(fd, f, fl, MSG_NOSIGNAL)); /* best effort */
	c->closing = true; /* the close_notify of TLS too */
	broker_on_close(sh->b, (uint64_t)fd);
	if (bst__get(sh, fd)->open)
		conn_close(sh, fd);
}

/* Read and hand to the core until the socket has nothing more. A connection whose CONNECT
 * went to the worker is not read further (back-pressure), unless drain: it hung up, and
 * reading to the end is how the core learns that. */
void bst__readable(shell *sh, int fd, bool drain)
{
	uint8_t buf[65536];
	for (;;) {
		tconn *c = bst__get(sh, fd);
		if (!c->open || c->closing || c->dead || (c->auth_pending && !drain))
			return;
		ssize_t n = c->ssl ? tls_read(c->ssl, buf, sizeof buf) : recv(fd, buf, sizeof buf, 0);
		if (n > 0 && c->ws) {
			ws_in w = { sh, fd };
			ws_sink sk = { ws_on_data, ws_on_control, ws_on_frame_end, &w };
			int st = ws_feed(&c->dec, buf, (size_t)n, &sk);
			c = bst__get(sh, fd);
			if (!readable_conn(sh, fd))
				return;
			if (st != 0) {
				ws_end(sh, fd, st < 0 ? c->dec.close_code : 0, st < 0 ? c->dec.why : NULL);
				return;
			}
			if ((size_t)n < sizeof buf && !c->ssl)
				return;
			continue;
		}
		if (n > 0) {
			broker_on_bytes(sh->b, (uint64_t)fd, buf, (size_t)n);
			/* A short read drained the socket; TLS reads a record at a time, so it reads
			 * until it would block. */
			if ((size_t)n < sizeof buf && !c->ssl)
				return;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && c->ssl && errno == EPROTO) {
			char why[300], line[400];
			tls_error(c->ssl, -1, why, sizeof why);
			snprintf(line, sizeof line, "TLS error from %s: %s: connection closed", c->peer, why);
			bst__logf_(sh, line);
		}
		/* EOF or error: the client went away. */
		broker_on_close(sh->b, (uint64_t)fd);
		conn_close(sh, fd);
		return;
	}
}

/* ---- TLS handshakes ----------------------------------------------------------------------- */

static void handshake_done(shell *sh, int fd);

/* The WebSocket opening handshake: read the request, answer it. */
static void ws_handshake(shell *sh, int fd)
{
	tconn *c = bst__get(sh, fd);
	if (!c->ws_req)
		c->ws_req = malloc(WS_HTTP_MAX);
	if (!c->ws_req)
		abort();
	for (;;) {
		ssize_t n = c->ssl ? tls_read(c->ssl, c->ws_req + c->ws_req_len, WS_HTTP_MAX - c->ws_req_len)
				   : recv(fd, c->ws_req + c->ws_req_len, WS_HTTP_MAX - c->ws_req_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			conn_close(sh, fd); /* gone before it finished: nothing to log */
			return;
		}
		c->ws_req_len += (size_t)n;
		ws_req rq;
		char why[300], ans[512];
		long end = ws_server_request(c->ws_req, c->ws_req_len, c->ws_path, &rq, why, sizeof why);
		if (end == 0)
			continue;
		bool no_proto = (sh->o->cfg.test_faults & BROKER_TF_WS_NO_SUBPROTOCOL) != 0;
		size_t al = ws_server_response(ans, sizeof ans, &rq, end < 0 ? rq.status : 0, no_proto);
		if (end < 0) {
			char line[500];
			snprintf(line, sizeof line, "WebSocket handshake from %s refused (%d): %s: connection closed", c->peer,
				 rq.status, why);
			bst__logf_(sh, line);
			(void)(c->ssl ? tls_write(c->ssl, ans, al) : send(fd, ans, al, MSG_NOSIGNAL)); /* best effort */
			c->closing = true;
			conn_close(sh, fd);
			return;
		}
		out_add(sh, fd, c, (const uint8_t *)ans, al, NULL, 0);
		c = bst__get(sh, fd);
		if (!c->open || c->dead) {
			if (c->open)
				conn_close(sh, fd);
			return;
		}
		/* Frames that came with the request wait in ws_req; they go to the core once it
		 * knows the connection. */
		size_t rest = c->ws_req_len - (size_t)end;
		memmove(c->ws_req, c->ws_req + end, rest);
		c->ws_req_len = rest;
		handshake_done(sh, fd);
		return;
	}
}

/* The handshakes are done: the core gets the connection, then what came with them. */
static void handshake_done(shell *sh, int fd)
{
	tconn *c = bst__get(sh, fd);
	c->hs = false;
	sh->nhs--;
	bst__update_interest(sh, fd, c);
	if (broker_on_open(sh->b, (uint64_t)fd, c->peer) < 0) {
		if (bst__get(sh, fd)->open && !bst__get(sh, fd)->closing)
			conn_close(sh, fd);
		return;
	}
	c = bst__get(sh, fd);
	if (c->ws && c->ws_req_len) {
		ws_in w = { sh, fd };
		ws_sink sk = { ws_on_data, ws_on_control, ws_on_frame_end, &w };
		int st = ws_feed(&c->dec, c->ws_req, c->ws_req_len, &sk);
		if (!readable_conn(sh, fd))
			return;
		c = bst__get(sh, fd);
		c->ws_req_len = 0;
		if (st != 0) {
			ws_end(sh, fd, st < 0 ? c->dec.close_code : 0, st < 0 ? c->dec.why : NULL);
			return;
		}
	}
	bst__readable(sh, fd, false); /* a CONNECT may have come with the handshake's last flight */
}

/* One step of fd's handshake; when it is done the core gets the connection. */
static void handshake(shell *sh, int fd)
{
	tconn *c = bst__get(sh, fd);
	if (c->tls_done) {
		ws_handshake(sh, fd);
		return;
	}
	short want = 0;
	char why[400];
	int st = tls_step(c->ssl, NULL, NULL, &want, why, sizeof why);
	if (st == 0) {
		uint32_t ev = want == POLLOUT ? EPOLLOUT : EPOLLIN;
		if (ev != c->hs_events) {
			c->hs_events = ev;
			bst__update_interest(sh, fd, c);
		}
		return;
	}
	if (st < 0) {
		char line[600];
		snprintf(line, sizeof line, "TLS handshake with %s failed: %s: connection closed", c->peer, why);
		bst__logf_(sh, line);
		conn_close(sh, fd);
		return;
	}
	c->tls_done = true;
	if (c->ws) {
		if (c->hs_events != EPOLLIN) {
			c->hs_events = EPOLLIN;
			bst__update_interest(sh, fd, c);
		}
		ws_handshake(sh, fd); /* the request may have come with the last flight */
		return;
	}
	handshake_done(sh, fd);
}

/* Drop every connection whose handshake is past its deadline; note the next deadline. */
static void handshake_deadlines(shell *sh, int64_t now)
{
	sh->hs_check_at = INT64_MAX;
	for (size_t fd = 0; fd < sh->nconns && sh->nhs; fd++) {
		tconn *c = &sh->conns[fd];
		if (!c->open || !c->hs)
			continue;
		if (c->hs_deadline <= now) {
			char line[200];
			snprintf(line, sizeof line, "dropping %s: no %s handshake within %d s", c->peer,
				 c->tls_done ? "WebSocket" : "TLS", BROKER_TLS_HANDSHAKE_S);
			bst__logf_(sh, line);
			conn_close(sh, (int)fd);
		} else if (c->hs_deadline < sh->hs_check_at) {
			sh->hs_check_at = c->hs_deadline;
		}
	}
}

static int listen_on(const char *host, unsigned port, char *err, size_t errlen, unsigned *port_out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		sl = sizeof *a4;
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		sl = sizeof *a6;
	} else {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", host);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0) {
		snprintf(err, errlen, "cannot listen on %s:%u: %s", host, port, strerror(errno));
		close(fd);
		return -1;
	}
	sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port_out = ss.ss_family == AF_INET ? ntohs(a4->sin_port) : ntohs(a6->sin6_port);
	return fd;
}

static void close_listeners(shell *sh)
{
	int *l[] = { &sh->lfd, &sh->tls_lfd, &sh->ws_lfd, &sh->wss_lfd };
	for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
		if (*l[i] >= 0) {
			close(*l[i]);
			*l[i] = -1;
		}
}

/* Every listener into the epoll set (at the start, and after a pause for descriptors). */
static void listen_resume(shell *sh)
{
	int l[] = { sh->lfd, sh->tls_lfd, sh->ws_lfd, sh->wss_lfd };
	for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
		if (l[i] >= 0) {
			struct epoll_event ev = { .events = EPOLLIN, .data.fd = l[i] };
			epoll_ctl(sh->ep, EPOLL_CTL_ADD, l[i], &ev);
		}
}

int broker_tcp_run(const broker_tcp_opts *o, char *err, size_t errlen)
{
	shell sh = { .o = o, .wake_at = INT64_MAX, .listen_resume_at = INT64_MAX, .spare_fd = -1, .tls_lfd = -1,
		     .ws_lfd = -1, .wss_lfd = -1, .hs_check_at = INT64_MAX };
	unsigned port, tls_port = 0, ws_port = 0, wss_port = 0;
	int lfd = listen_on(o->host, o->port, err, errlen, &port);
	if (lfd < 0)
		return -1;
	sh.lfd = lfd;
	if ((o->tls_ctx && o->tls_host && (sh.tls_lfd = listen_on(o->tls_host, o->tls_port, err, errlen, &tls_port)) < 0) ||
	    (o->ws_host && (sh.ws_lfd = listen_on(o->ws_host, o->ws_port, err, errlen, &ws_port)) < 0) ||
	    (o->tls_ctx && o->wss_host && (sh.wss_lfd = listen_on(o->wss_host, o->wss_port, err, errlen, &wss_port)) < 0)) {
		close_listeners(&sh);
		return -1;
	}
	sh.ep = epoll_create1(EPOLL_CLOEXEC);
	if (sh.ep < 0) {
		snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
		close_listeners(&sh);
		return -1;
	}
	listen_resume(&sh);
	broker_config cfg = o->cfg;
	if (cfg.auth && cfg.auth->connect) {
		if (bst__auth_start(&sh, cfg.auth, err, errlen) < 0) {
			close(sh.ep);
			close_listeners(&sh);
			return -1;
		}
		cfg.auth = &sh.aw->iface;
	}
	sh.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	broker_env env = { &sh, env_now, env_send, env_close, env_wake, env_log, env_rand };
	sh.b = broker_new(&env, &cfg);
	broker_stats st;
	broker_get_stats(sh.b, &st);
	if (o->cfg.store && st.store_errors) {
		/* Recovery gave up on the store (the log line above says why): a broker that
		 * says it persists sessions must not run without doing so. */
		snprintf(err, errlen, "the store could not be recovered (see the line above); not starting");
		bst__auth_stop(&sh);
		broker_free(sh.b);
		if (sh.spare_fd >= 0)
			close(sh.spare_fd);
		close(sh.ep);
		close_listeners(&sh);
		return -1;
	}
	char line[400];
	snprintf(line, sizeof line, "listening on %s:%u", o->host, port);
	bst__logf_(&sh, line);
	if (sh.tls_lfd >= 0) {
		/* Not "listening on": scripts that read the plain port from the log keep finding one. */
		snprintf(line, sizeof line, "listening for TLS on %s:%u", o->tls_host, tls_port);
		bst__logf_(&sh, line);
	}
	if (sh.ws_lfd >= 0) {
		snprintf(line, sizeof line, "listening for WebSocket on %s:%u%s", o->ws_host, ws_port, o->ws_path ? o->ws_path : " (any path)");
		bst__logf_(&sh, line);
	}
	if (sh.wss_lfd >= 0) {
		snprintf(line, sizeof line, "listening for WebSocket over TLS on %s:%u%s", o->wss_host, wss_port,
			 o->wss_path ? o->wss_path : " (any path)");
		bst__logf_(&sh, line);
	}

	struct epoll_event evs[MAX_EVENTS];
	while (!*o->stop) {
		int timeout = -1;
		int64_t due = sh.wake_at < sh.listen_resume_at ? sh.wake_at : sh.listen_resume_at;
		if (sh.nhs && sh.hs_check_at < due)
			due = sh.hs_check_at;
		if (due != INT64_MAX) {
			int64_t d = due - run_mono_us();
			timeout = d <= 0 ? 0 : d > 3600000000LL ? 3600000 : (int)((d + 999) / 1000);
		}
		int n = epoll_wait(sh.ep, evs, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd || fd == sh.tls_lfd || fd == sh.ws_lfd || fd == sh.wss_lfd) {
				accept_all(&sh, fd);
			} else if (sh.aw && fd == sh.aw->efd) {
				bst__auth_deliver(&sh);
			} else {
				tconn *c = bst__get(&sh, fd);
				uint32_t e = evs[i].events;
				if (!c->open || c->dead)
					continue; /* closed or cut off by an earlier event of this batch */
				if (c->hs) {
					handshake(&sh, fd);
					bst__reap(&sh);
					continue;
				}
				if ((e & EPOLLOUT) && !flush(&sh, fd))
					continue;
				if (c->auth_pending)
					e &= EPOLLHUP | EPOLLERR; /* paused: only a hang-up is read */
				if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					bst__readable(&sh, fd, (e & (EPOLLHUP | EPOLLERR)) != 0);
			}
			bst__reap(&sh);
		}
		int64_t t = run_mono_us();
		if (sh.listen_resume_at != INT64_MAX && t >= sh.listen_resume_at) {
			listen_resume(&sh);
			sh.listen_resume_at = INT64_MAX;
		}
		if (sh.nhs && t >= sh.hs_check_at)
			handshake_deadlines(&sh, t);
		if (sh.wake_at != INT64_MAX && t >= sh.wake_at) {
			broker_tick(sh.b);
			bst__reap(&sh);
		}
	}
	bst__logf_(&sh, "shutting down");
	/* The worker first: it may be inside the caller's broker_auth, which dies after we return. */
	bst__auth_stop(&sh);
	broker_free(sh.b);
	for (size_t fd = 0; fd < sh.nconns; fd++)
		if (sh.conns[fd].open)
			conn_close(&sh, (int)fd);
	free(sh.conns);
	free(sh.reap);
	if (sh.spare_fd >= 0)
		close(sh.spare_fd);
	close(sh.ep);
	close_listeners(&sh);
	return 0;
}
