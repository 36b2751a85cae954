/*
 * proxy.c - the event loop of `mqttsim proxy` (see proxy.h).
 *
 * Time is CLOCK_MONOTONIC in microseconds since the start, read once per iteration. Each
 * direction of a connection is a queue of segments with a due time; the loop sleeps until
 * the earliest due time, fault change or socket event. A segment is one read() from the
 * sender, so the fault model acts on what the sender's kernel gave us, as a real middlebox
 * would.
 */
#include "harness/proxy.h"
#include "harness/run.h"

#include "mqtt/alloc.h"
#include "mqtt/mqtt.h"
#include "sim/fault.h"
#include "sim/sim.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 512                /* connections at once; more wait in the backlog */
#define SEG_MAX 16384                /* bytes per read */
#define QUEUE_MAX (256 * 1024)       /* bytes held per direction before we stop reading */
#define DEC_CAP 65536                /* largest packet the log decodes */
#define SNIFF_MAX 65536              /* bytes read while waiting for a whole CONNECT */
#define FAR INT64_MAX

typedef proxy_seg seg;

typedef struct pdir {
	proxy_dir q;          /* the link model's queue and fault flags (proxy_link.c) */
	bool eof;             /* the sender closed */
	bool shut;            /* FIN passed on */
	int64_t fin_due;
	bool blocked;         /* the receiver's socket is full */
	uint8_t dec[DEC_CAP];
	size_t declen;
	uint64_t skip;        /* bytes of a packet too large to decode */
} pdir;

typedef struct pconn {
	int cfd, ufd;
	bool up_ok;           /* upstream connected */
	long order;
	int sel;              /* -1: none */
	bool decided;         /* the CONNECT was seen (or will never be) */
	sim_link link;
	uint8_t version;
	char name[80];        /* for the log: client id, else conn-N */
	pdir d[2];            /* [0] client -> broker, [1] broker -> client */
	bool dead;
} pconn;

typedef struct px {
	const proxy_opts *o;
	const proxy_plan *p;
	int64_t t0, now;
	pconn *c[MAX_CONNS];
	size_t n;
	long accepted;
	struct sockaddr_storage up;
	socklen_t uplen;
} px;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

__attribute__((format(printf, 4, 5)))
static void logf_(px *x, const pconn *c, const char *kind, const char *fmt, ...)
{
	if (!x->o->log)
		return;
	int64_t t = x->now;
	fprintf(x->o->log, "%6lld.%06lld %s c%ld %s ", (long long)(t / 1000000), (long long)(t % 1000000),
		c ? c->name : "proxy", c ? c->order : 0L, kind);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(x->o->log, fmt, ap);
	va_end(ap);
	fputc('\n', x->o->log);
	fflush(x->o->log);
}

static void nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---- selection ------------------------------------------------------------------------- */

static bool sel_match(const proxy_sel *s, const pconn *c, const char *cid)
{
	if (s->client_id)
		return cid && !strcmp(s->client_id, cid);
	return s->order == c->order;
}

/* The state a connection's faults give each direction now: every active fault that selects it. */
static void refresh_faults(px *x, pconn *c)
{
	bool part[2] = { false, false }, clog[2] = { false, false }, hole[2] = { false, false };
	for (size_t i = 0; i < x->p->nfaults; i++) {
		const proxy_fault *f = &x->p->faults[i];
		if (f->sel != c->sel || f->at_us > x->now || (f->for_us && f->at_us + f->for_us <= x->now))
			continue;
		for (int d = 0; d < 2; d++) {
			if (f->dir != PROXY_BOTH && f->dir != d + 1)
				continue;
			part[d] |= f->kind == SIM_FAULT_PARTITION || f->kind == SIM_FAULT_PARTITION_ONEWAY;
			clog[d] |= f->kind == SIM_FAULT_CLOG;
			hole[d] |= f->kind == SIM_FAULT_BLACKHOLE;
		}
	}
	for (int d = 0; d < 2; d++) {
		c->d[d].q.part = part[d];
		c->d[d].q.clog = clog[d];
		c->d[d].q.hole = hole[d];
	}
}

/* Choose the connection's selector and profile, once its CONNECT is read (or can't be). */
static void decide(px *x, pconn *c, const char *cid)
{
	c->decided = true;
	c->sel = -1;
	for (size_t i = 0; i < x->p->nsel && c->sel < 0; i++)
		if (x->p->sel[i].client_id && sel_match(&x->p->sel[i], c, cid))
			c->sel = (int)i;
	for (size_t i = 0; i < x->p->nsel && c->sel < 0; i++)
		if (!x->p->sel[i].client_id && sel_match(&x->p->sel[i], c, cid))
			c->sel = (int)i;
	c->link = c->sel >= 0 && x->p->sel[c->sel].has_link ? x->p->sel[c->sel].link : x->p->deflink;
	if (cid && *cid)
		snprintf(c->name, sizeof c->name, "%s", cid);
	logf_(x, c, "select", "client id %s%s%s", cid ? cid : "(none)", c->sel >= 0 ? ", faults of " : "",
	      c->sel >= 0 ? x->p->sel[c->sel].name : "");
	refresh_faults(x, c);
	for (seg *s = c->d[0].q.head; s; s = s->next)
		proxy_dir_schedule(&c->d[0].q, &c->link, x->now, s);
}

/* Read the client's first bytes for its CONNECT: 3.1.1 and 5.0 put the client id first in
 * the payload (MQTT-3.1.3-3); mqtt_decode reads either by the level the CONNECT carries. */
static void sniff_connect(px *x, pconn *c)
{
	size_t have = 0;
	for (seg *s = c->d[0].q.head; s; s = s->next)
		have += s->len;
	uint8_t *buf = mqtt_xmalloc(have ? have : 1);
	size_t k = 0;
	for (seg *s = c->d[0].q.head; s; s = s->next) {
		memcpy(buf + k, s->data, s->len);
		k += s->len;
	}
	mqtt_packet pk;
	int r = mqtt_decode(buf, have, 4, 0, &pk, NULL);
	if (r == 0 && have < SNIFF_MAX) {
		free(buf);
		return;
	}
	char cid[256] = "";
	bool got = r > 0 && pk.type == MQTT_CONNECT;
	if (got) {
		size_t n = pk.connect.client_id.len < sizeof cid - 1 ? pk.connect.client_id.len : sizeof cid - 1;
		memcpy(cid, pk.connect.client_id.data, n);
		cid[n] = 0;
		c->version = pk.version;
	}
	free(buf);
	decide(x, c, got ? cid : NULL);
}

/* ---- segments ----------------------------------------------------------------------- */

static void close_fd(int *fd, bool rst)
{
	if (*fd < 0)
		return;
	if (rst) {
		struct linger lg = { 1, 0 }; /* close() then sends RST, not FIN */
		setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(*fd);
	*fd = -1;
}

static void kill_conn(px *x, pconn *c, bool rst, const char *why)
{
	if (c->dead)
		return;
	if (why)
		logf_(x, c, rst ? "reset" : "close", "%s", why);
	close_fd(&c->cfd, rst);
	close_fd(&c->ufd, rst);
	c->dead = true;
}

/* Log each whole packet delivered in direction d, decoded. */
static void trace_bytes(px *x, pconn *c, int d, const uint8_t *b, size_t n)
{
	pdir *p = &c->d[d];
	if (x->o->opaque)
		return;
	while (n) {
		if (p->skip) {
			size_t k = n < p->skip ? n : (size_t)p->skip;
			p->skip -= k;
			b += k;
			n -= k;
			continue;
		}
		size_t k = n < DEC_CAP - p->declen ? n : DEC_CAP - p->declen;
		memcpy(p->dec + p->declen, b, k);
		p->declen += k;
		b += k;
		n -= k;
		for (;;) {
			uint32_t total = 0;
			int r = mqtt_frame(p->dec, p->declen, &total);
			if (r < 0) {
				logf_(x, c, "mqtt-bad", "%s bad fixed header: %s; no more packets decoded", d ? "<-" : "->",
				      mqtt_rc_name(r));
				p->skip = UINT64_MAX;
				p->declen = 0;
				break;
			}
			if (r == 0)
				break;
			if (total > DEC_CAP) {
				logf_(x, c, "mqtt", "%s %s (%u bytes, too large to decode here)", d ? "<-" : "->",
				      mqtt_type_name(p->dec[0] >> 4), total);
				p->skip = total - p->declen;
				p->declen = 0;
				break;
			}
			if (p->declen < total)
				break;
			mqtt_packet pk;
			mqtt_err e;
			int m = mqtt_decode(p->dec, total, c->version, 0, &pk, &e);
			if (m > 0) {
				if (pk.type == MQTT_CONNECT)
					c->version = pk.version;
				char line[600];
				mqtt_print(&pk, line, sizeof line);
				logf_(x, c, "mqtt", "%s %s", d ? "<-" : "->", line);
			} else {
				logf_(x, c, "mqtt-bad", "%s %s: %s", d ? "<-" : "->", mqtt_type_name(p->dec[0] >> 4), e.msg);
			}
			memmove(p->dec, p->dec + total, p->declen - total);
			p->declen -= total;
		}
	}
}

static int dst_fd(const pconn *c, int d)
{
	return d == 0 ? c->ufd : c->cfd;
}

struct wctx {
	px *x;
	pconn *c;
	int d;
};

static long deliver_write(void *ctx, const uint8_t *b, size_t n)
{
	struct wctx *w = ctx;
	ssize_t k = send(dst_fd(w->c, w->d), b, n, MSG_NOSIGNAL);
	if (k > 0)
		trace_bytes(w->x, w->c, w->d, b, (size_t)k);
	return (long)k;
}

static void deliver_lost(void *ctx, uint32_t len, uint32_t tries, bool partition)
{
	struct wctx *w = ctx;
	logf_(w->x, w->c, "lost", "%s segment of %uB attempt %u%s", w->d ? "<-" : "->", len, tries,
	      partition ? " (partition)" : "");
}

/* Deliver what is due in direction d. */
static void deliver(px *x, pconn *c, int d)
{
	pdir *p = &c->d[d];
	const sim_link *l = &c->link;
	if (d == 0 && !c->up_ok)
		return;
	struct wctx w = { x, c, d };
	proxy_dir_ops ops = { deliver_write, deliver_lost, &w };
	switch (proxy_dir_deliver(&p->q, l, x->now, &ops)) {
	case PROXY_DIR_BLOCKED: p->blocked = true; return;
	case PROXY_DIR_ABORTED: kill_conn(x, c, true, "retransmission limit reached: connection aborted"); return;
	case PROXY_DIR_ERROR:
		kill_conn(x, c, true, d ? "client gone: connection aborted" : "broker gone: connection aborted");
		return;
	case PROXY_DIR_LIMIT:
		logf_(x, c, "fault", "limit_data reached after %lluB %s: connection closed",
		      (unsigned long long)p->q.sent, d ? "<-" : "->");
		kill_conn(x, c, false, NULL);
		return;
	default: break;
	}
	if (!c->dead && !p->q.head && p->eof && !p->shut && !p->q.hole) {
		if (!p->fin_due)
			p->fin_due = (p->q.last_due > x->now ? p->q.last_due : x->now) + l->close_delay_us;
		if (p->fin_due <= x->now) {
			shutdown(dst_fd(c, d), SHUT_WR);
			p->shut = true;
			logf_(x, c, "fin", "end of stream from %s passed on", d ? "broker" : "client");
		}
	}
	if (c->d[0].shut && c->d[1].shut)
		kill_conn(x, c, false, "both sides closed");
}

/* Read from the side that sends in direction d. */
static void receive(px *x, pconn *c, int d)
{
	pdir *p = &c->d[d];
	int fd = d == 0 ? c->cfd : c->ufd;
	seg *s = mqtt_xmalloc(sizeof *s + SEG_MAX);
	ssize_t n = recv(fd, s->data, SEG_MAX, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		free(s);
		return;
	}
	if (n <= 0) {
		free(s);
		if (n < 0) {
			char why[160];
			snprintf(why, sizeof why, "%s: %s", d ? "broker" : "client", strerror(errno));
			kill_conn(x, c, true, why);
			return;
		}
		p->eof = true;
		logf_(x, c, "fin", "end of stream from %s", d ? "broker" : "client");
		if (d == 0 && !c->decided)
			decide(x, c, NULL);
		return;
	}
	seg *t = realloc(s, sizeof *s + (size_t)n);
	s = t ? t : s;
	/* The client's bytes wait for its CONNECT to choose their link (decide); an opaque
	 * stream (WebSocket) has no CONNECT to read: it is decided on its first bytes, by order. */
	proxy_dir_append(&p->q, d == 0 && !c->decided ? NULL : &c->link, x->now, s, (uint32_t)n);
	if (d == 0 && !c->decided)
		s->due = FAR;
	if (d == 0 && !c->decided && x->o->opaque)
		decide(x, c, NULL);
	else if (d == 0 && !c->decided)
		sniff_connect(x, c);
}

/* ---- connections ----------------------------------------------------------------------- */

static void accept_one(px *x, int lfd)
{
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return;
	nonblock(fd);
	pconn *c = mqtt_xcalloc(1, sizeof *c);
	c->cfd = fd;
	c->order = ++x->accepted;
	c->sel = -1;
	c->version = 4;
	snprintf(c->name, sizeof c->name, "conn-%ld", c->order);
	for (int d = 0; d < 2; d++) {
		char name[64];
		snprintf(name, sizeof name, "proxy/conn-%ld/%s", c->order, d ? "b2c" : "c2b");
		proxy_dir_init(&c->d[d].q, x->p->seed, name);
	}
	x->c[x->n++] = c;
	logf_(x, c, "accept", "connection %ld", c->order);
	c->ufd = socket(x->up.ss_family, SOCK_STREAM, 0);
	if (c->ufd < 0) {
		kill_conn(x, c, true, "cannot open a socket upstream");
		return;
	}
	nonblock(c->ufd);
	if (connect(c->ufd, (struct sockaddr *)&x->up, x->uplen) == 0)
		c->up_ok = true;
	else if (errno != EINPROGRESS) {
		fprintf(x->o->err, "mqttsim proxy: connection %ld: upstream %s:%u unreachable: %s; closed the client's connection\n",
			c->order, x->o->up_host, x->o->up_port, strerror(errno));
		kill_conn(x, c, false, "upstream unreachable");
	}
}

static void upstream_ready(px *x, pconn *c)
{
	int e = 0;
	socklen_t len = sizeof e;
	getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &e, &len);
	if (e) {
		fprintf(x->o->err, "mqttsim proxy: connection %ld: upstream %s:%u unreachable: %s; closed the client's connection\n",
			c->order, x->o->up_host, x->o->up_port, strerror(e));
		char why[200];
		snprintf(why, sizeof why, "upstream unreachable: %s", strerror(e));
		kill_conn(x, c, false, why);
		return;
	}
	c->up_ok = true;
	logf_(x, c, "connected", "to upstream %s:%u", x->o->up_host, x->o->up_port);
}

static void free_conn(pconn *c)
{
	for (int d = 0; d < 2; d++)
		proxy_dir_clear(&c->d[d].q);
	free(c);
}

static const char *dir_text(int dir)
{
	return dir == PROXY_C2B ? "->" : dir == PROXY_B2C ? "<-" : "<->";
}

/* Fault f begins (on) or ends: log it on every connection it selects and recompute them. */
static void fault_edge(px *x, const proxy_fault *f, bool on)
{
	for (size_t i = 0; i < x->n; i++) {
		pconn *c = x->c[i];
		if (c->dead || !c->decided || c->sel != f->sel)
			continue;
		if (f->kind == SIM_FAULT_RESET) {
			logf_(x, c, "fault", "reset %s <-> broker", c->name);
			kill_conn(x, c, true, "reset by fault");
			continue;
		}
		logf_(x, c, "fault", "%s%s %s %s broker", on ? "" : "lift ", sim_fault_name(f->kind), c->name,
		      dir_text(f->dir));
		refresh_faults(x, c);
	}
}

static int listen_on(px *x, int *out)
{
	const proxy_opts *o = x->o;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
	char port[16];
	snprintf(port, sizeof port, "%u", o->listen_port);
	int r = getaddrinfo(o->listen_host, port, &hints, &ai);
	if (r) {
		fprintf(o->err, "mqttsim proxy: --listen %s:%u: %s\n", o->listen_host, o->listen_port, gai_strerror(r));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		fprintf(o->err, "mqttsim proxy: cannot listen on %s:%u: %s%s\n", o->listen_host, o->listen_port,
			strerror(errno), errno == EADDRINUSE ? " (another program has the port; pick another)" : "");
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	nonblock(fd);
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &len);
	unsigned p = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	fprintf(o->err, "mqttsim proxy: listening on %s:%u, upstream %s:%u\n", o->listen_host, p, o->up_host,
		o->up_port);
	fflush(o->err);
	*out = fd;
	return 0;
}

static int resolve_upstream(px *x)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
	char port[16];
	snprintf(port, sizeof port, "%u", x->o->up_port);
	int r = getaddrinfo(x->o->up_host, port, &hints, &ai);
	if (r) {
		fprintf(x->o->err, "mqttsim proxy: --upstream %s:%u: %s\n", x->o->up_host, x->o->up_port, gai_strerror(r));
		return -1;
	}
	memcpy(&x->up, ai->ai_addr, ai->ai_addrlen);
	x->uplen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

int proxy_run(const proxy_opts *o, const proxy_plan *p)
{
	px *x = mqtt_xcalloc(1, sizeof *x);
	x->o = o;
	x->p = p;
	int lfd = -1;
	if (resolve_upstream(x) < 0 || listen_on(x, &lfd) < 0) {
		free(x);
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	stop_flag = 0;
	x->t0 = run_mono_us();
	/* The fault edges in time order: each fault's start and, when it lasts, its end. */
	size_t nedge = 0, next = 0;
	struct edge {
		int64_t at;
		size_t f;
		bool on;
	} *edges = mqtt_xcalloc(2 * p->nfaults + 1, sizeof *edges);
	for (size_t i = 0; i < p->nfaults; i++) {
		edges[nedge++] = (struct edge){ p->faults[i].at_us, i, true };
		if (p->faults[i].for_us && p->faults[i].kind != SIM_FAULT_RESET)
			edges[nedge++] = (struct edge){ p->faults[i].at_us + p->faults[i].for_us, i, false };
	}
	for (size_t i = 1; i < nedge; i++) /* stable: equal times keep the file's order */
		for (size_t j = i; j > 0 && edges[j].at < edges[j - 1].at; j--) {
			struct edge t = edges[j];
			edges[j] = edges[j - 1];
			edges[j - 1] = t;
		}
	struct pollfd pf[1 + 2 * MAX_CONNS];
	while (!stop_flag) {
		x->now = run_mono_us() - x->t0;
		if (o->duration_us && x->now >= o->duration_us)
			break;
		while (next < nedge && edges[next].at <= x->now) {
			fault_edge(x, &p->faults[edges[next].f], edges[next].on);
			next++;
		}
		for (size_t i = 0; i < x->n; i++)
			for (int d = 0; d < 2; d++)
				if (!x->c[i]->dead)
					deliver(x, x->c[i], d);
		/* Drop the dead, keeping the order of the living. */
		size_t k = 0;
		for (size_t i = 0; i < x->n; i++) {
			if (x->c[i]->dead)
				free_conn(x->c[i]);
			else
				x->c[k++] = x->c[i];
		}
		x->n = k;
		int64_t wake = o->duration_us ? o->duration_us : FAR;
		if (next < nedge && edges[next].at < wake)
			wake = edges[next].at;
		size_t np = 0;
		pf[np++] = (struct pollfd){ .fd = x->n < MAX_CONNS ? lfd : -1, .events = POLLIN };
		for (size_t i = 0; i < x->n; i++) {
			pconn *c = x->c[i];
			for (int d = 0; d < 2; d++) {
				pdir *q = &c->d[d];
				/* Nothing goes upstream before it is connected: no wake-up for it. */
				if (!q->blocked && (d || c->up_ok) && proxy_dir_wake(&q->q) < wake)
					wake = proxy_dir_wake(&q->q);
				if (q->fin_due && !q->shut && q->fin_due < wake)
					wake = q->fin_due;
			}
			short ce = 0, ue = 0;
			if (!c->d[0].eof && c->d[0].q.queued < QUEUE_MAX)
				ce |= POLLIN;
			if (c->d[1].blocked)
				ce |= POLLOUT;
			if (!c->up_ok || c->d[0].blocked)
				ue |= POLLOUT;
			if (c->up_ok && !c->d[1].eof && c->d[1].q.queued < QUEUE_MAX)
				ue |= POLLIN;
			/* A socket ended both ways (a blackhole may still hold the other FIN) has
			 * nothing left to say, and would report POLLHUP on every call. */
			bool cdone = c->d[0].eof && c->d[1].shut, udone = c->d[1].eof && c->d[0].shut;
			pf[np++] = (struct pollfd){ .fd = cdone ? -1 : c->cfd, .events = ce };
			pf[np++] = (struct pollfd){ .fd = udone ? -1 : c->ufd, .events = ue };
		}
		int64_t ms = wake == FAR ? 1000 : (wake - x->now + 999) / 1000;
		if (ms < 0)
			ms = 0;
		if (ms > 1000)
			ms = 1000;
		int r = poll(pf, (nfds_t)np, (int)ms);
		if (r < 0 && errno != EINTR)
			break;
		x->now = run_mono_us() - x->t0;
		size_t nc = x->n;
		for (size_t i = 0; i < nc && r > 0; i++) {
			pconn *c = x->c[i];
			struct pollfd *cp = &pf[1 + 2 * i], *up = &pf[2 + 2 * i];
			if (!c->up_ok && (up->revents & (POLLOUT | POLLERR | POLLHUP)))
				upstream_ready(x, c);
			if (c->dead)
				continue;
			if (up->revents & POLLOUT)
				c->d[0].blocked = false;
			if (cp->revents & POLLOUT)
				c->d[1].blocked = false;
			/* POLLHUP comes whatever was asked: read only a side that has not ended. */
			if (!c->d[0].eof && (cp->revents & (POLLIN | POLLHUP | POLLERR)))
				receive(x, c, 0);
			else if (cp->revents & POLLERR)
				kill_conn(x, c, true, "client: connection reset after its end of stream");
			if (!c->dead && c->up_ok && !c->d[1].eof && (up->revents & (POLLIN | POLLHUP | POLLERR)))
				receive(x, c, 1);
			else if (!c->dead && c->up_ok && (up->revents & POLLERR))
				kill_conn(x, c, true, "broker: connection reset after its end of stream");
		}
		if (r > 0 && (pf[0].revents & POLLIN))
			for (int i = 0; i < 16 && x->n < MAX_CONNS; i++) {
				long before = x->accepted;
				accept_one(x, lfd);
				if (x->accepted == before)
					break;
			}
	}
	for (size_t i = 0; i < x->n; i++) {
		kill_conn(x, x->c[i], false, NULL);
		free_conn(x->c[i]);
	}
	close(lfd);
	free(edges);
	free(x);
	return 0;
}
