/*
 * shell_tcp.c - glue between the broker core and real sockets.
 *
 * One thread, one epoll set. A connection's id is its file descriptor: unique while open,
 * and the core has forgotten an id before the descriptor is closed and can be reused.
 * Bytes the kernel will not take yet wait in a per-connection buffer and leave on EPOLLOUT.
 */
#define _GNU_SOURCE /* accept4 */
#include "broker/shell_tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define MAX_OUTBUF (64u << 20) /* a client that reads nothing is cut off past this */

typedef struct tconn {
	bool open;
	bool closing;       /* the core asked to close: flush, then close */
	bool want_out;      /* EPOLLOUT registered */
	bool dead;          /* a write failed: the read side reports the end to the core */
	uint8_t *out;
	size_t out_off, out_len, out_cap;
} tconn;

typedef struct shell {
	const broker_tcp_opts *o;
	int ep;
	broker *b;
	tconn *conns;       /* indexed by fd */
	size_t nconns;
	int64_t wake_at;
} shell;

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void logf_(shell *sh, const char *line)
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

static tconn *get(shell *sh, int fd)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= sh->nconns) {
		size_t n = sh->nconns ? sh->nconns : 64;
		while (n <= (size_t)fd)
			n *= 2;
		tconn *c = realloc(sh->conns, n * sizeof *c);
		if (!c)
			abort();
		memset(c + sh->nconns, 0, (n - sh->nconns) * sizeof *c);
		sh->conns = c;
		sh->nconns = n;
	}
	return &sh->conns[fd];
}

static void conn_close(shell *sh, int fd)
{
	tconn *c = get(sh, fd);
	epoll_ctl(sh->ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(c->out);
	memset(c, 0, sizeof *c);
}

static void set_out_interest(shell *sh, int fd, tconn *c, bool want)
{
	if (c->want_out == want)
		return;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0), .data.fd = fd };
	epoll_ctl(sh->ep, EPOLL_CTL_MOD, fd, &ev);
	c->want_out = want;
}

/*
 * A connection whose writes fail is not closed here: flush runs inside the core's own
 * calls (env_send), where telling the core it lost a connection would pull state out from
 * under it. The socket is shut down instead, and the read path reports the end.
 */
static void kill_conn(tconn *c, int fd)
{
	c->dead = true;
	c->out_len = c->out_off = 0;
	shutdown(fd, SHUT_RDWR);
}

/* Write what is buffered. Returns false if the connection is finished. */
static bool flush(shell *sh, int fd)
{
	tconn *c = get(sh, fd);
	if (c->dead)
		return false;
	while (c->out_len) {
		ssize_t n = send(fd, c->out + c->out_off, c->out_len, MSG_NOSIGNAL);
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
		if (c->closing) {
			conn_close(sh, fd); /* the core has forgotten it already */
		} else {
			set_out_interest(sh, fd, c, false);
			kill_conn(c, fd);
		}
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
	return mono_us();
}

static void env_send(void *ctx, uint64_t id, const uint8_t *data, size_t len)
{
	shell *sh = ctx;
	int fd = (int)id;
	tconn *c = get(sh, fd);
	if (!c->open || c->closing || c->dead)
		return;
	if (c->out_len + len > MAX_OUTBUF) {
		logf_(sh, "a client reads too slowly: output buffer full, closing it");
		kill_conn(c, fd);
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
		uint8_t *o = realloc(c->out, cap);
		if (!o)
			abort();
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_off + c->out_len, data, len);
	c->out_len += len;
	/* Write at once only when nothing is queued: the next flush keeps the order. */
	if (!c->want_out)
		flush(sh, fd);
}

static void env_close(void *ctx, uint64_t id)
{
	shell *sh = ctx;
	tconn *c = get(sh, (int)id);
	if (!c->open)
		return;
	c->closing = true;
	flush(sh, (int)id);
}

static void env_wake(void *ctx, int64_t at)
{
	shell *sh = ctx;
	sh->wake_at = at;
}

static void env_log(void *ctx, const char *line)
{
	logf_(ctx, line);
}

static void accept_all(shell *sh, int lfd)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN, or out of descriptors: try again on the next event */
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
		tconn *c = get(sh, fd);
		memset(c, 0, sizeof *c);
		c->open = true;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = fd };
		epoll_ctl(sh->ep, EPOLL_CTL_ADD, fd, &ev);
		if (broker_on_open(sh->b, (uint64_t)fd, peer) < 0 && get(sh, fd)->open && !get(sh, fd)->closing)
			conn_close(sh, fd);
	}
}

static void readable(shell *sh, int fd)
{
	uint8_t buf[65536];
	for (;;) {
		tconn *c = get(sh, fd);
		if (!c->open || c->closing)
			return;
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n > 0) {
			broker_on_bytes(sh->b, (uint64_t)fd, buf, (size_t)n);
			if ((size_t)n < sizeof buf)
				return;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		/* EOF or error: the client went away. */
		broker_on_close(sh->b, (uint64_t)fd);
		conn_close(sh, fd);
		return;
	}
}

static int listen_on(const broker_tcp_opts *o, char *err, size_t errlen, unsigned *port_out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, o->host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)o->port);
		sl = sizeof *a4;
	} else if (inet_pton(AF_INET6, o->host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)o->port);
		sl = sizeof *a6;
	} else {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", o->host);
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
		snprintf(err, errlen, "cannot listen on %s:%u: %s", o->host, o->port, strerror(errno));
		close(fd);
		return -1;
	}
	sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port_out = ss.ss_family == AF_INET ? ntohs(a4->sin_port) : ntohs(a6->sin6_port);
	return fd;
}

int broker_tcp_run(const broker_tcp_opts *o, char *err, size_t errlen)
{
	shell sh = { .o = o, .wake_at = INT64_MAX };
	unsigned port;
	int lfd = listen_on(o, err, errlen, &port);
	if (lfd < 0)
		return -1;
	sh.ep = epoll_create1(EPOLL_CLOEXEC);
	if (sh.ep < 0) {
		snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
		close(lfd);
		return -1;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
	epoll_ctl(sh.ep, EPOLL_CTL_ADD, lfd, &ev);
	broker_env env = { &sh, env_now, env_send, env_close, env_wake, env_log };
	sh.b = broker_new(&env, &o->cfg);
	broker_stats st;
	broker_get_stats(sh.b, &st);
	if (o->cfg.store && st.store_errors) {
		/* Recovery gave up on the store (the log line above says why): a broker that
		 * says it persists sessions must not run without doing so. */
		snprintf(err, errlen, "the store could not be recovered (see the line above); not starting");
		broker_free(sh.b);
		close(sh.ep);
		close(lfd);
		return -1;
	}
	char line[128];
	snprintf(line, sizeof line, "listening on %s:%u", o->host, port);
	logf_(&sh, line);

	struct epoll_event evs[MAX_EVENTS];
	while (!*o->stop) {
		int timeout = -1;
		if (sh.wake_at != INT64_MAX) {
			int64_t d = sh.wake_at - mono_us();
			timeout = d <= 0 ? 0 : (int)((d + 999) / 1000);
		}
		int n = epoll_wait(sh.ep, evs, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				accept_all(&sh, lfd);
				continue;
			}
			if (!get(&sh, fd)->open)
				continue;
			if (evs[i].events & EPOLLOUT) {
				if (!flush(&sh, fd))
					continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				readable(&sh, fd);
		}
		if (sh.wake_at != INT64_MAX && mono_us() >= sh.wake_at)
			broker_tick(sh.b);
	}
	logf_(&sh, "shutting down");
	broker_free(sh.b);
	for (size_t fd = 0; fd < sh.nconns; fd++)
		if (sh.conns[fd].open)
			conn_close(&sh, (int)fd);
	free(sh.conns);
	close(sh.ep);
	close(lfd);
	return 0;
}
