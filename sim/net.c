/*
 * net.c - virtual hosts and TCP-like connections over a faulty network.
 *
 * A write becomes segments in a pipe (one pipe per direction). A segment goes through
 * two events: SEND (an attempt to transmit: it may be lost, and is then retried after an
 * RTO that doubles each time, until the retry limit aborts the connection) and ARRIVE
 * (after serialisation, latency and jitter). Arrivals are taken in sequence order, so the
 * receiving app always reads the bytes in the order they were written, whatever the
 * network did to their timing. App callbacks never run inside an app's own call: they go
 * through a per-socket notify timer armed for `now`, which also makes several arrivals at
 * one instant show up as one read (coalescing).
 */
#include "sim/world.h"
#include "mqtt/alloc.h"

#include "mqtt/mqtt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SEG_SYN = 1, SEG_SYNACK = 2, SEG_DATA = 4, SEG_FIN = 8, SEG_RST = 16 };
enum { PH_SEND = 1, PH_ARRIVE = 2 };

#define DEFAULT_RTO SIM_MS(200)
#define DEFAULT_RTO_MAX SIM_S(120)
#define DEFAULT_RETRIES 15
#define SYN_RTO SIM_S(1)
#define SYN_RETRIES 6
#define DEFAULT_BUF (64u << 10)

/* ---- hosts ---------------------------------------------------------------------------- */

static void net_init(sim_world *w)
{
	if (w->hosts_tail)
		return;
	w->hosts_tail = &w->hosts;
	w->conns_tail = &w->conns;
	w->pairs_tail = &w->pairs_all;
	w->sndbuf = w->rcvbuf = DEFAULT_BUF;
	w->trace_mqtt = true;
}

static size_t name_bucket(const char *name, size_t cap)
{
	return (size_t)sim_hash64(SIM_HASH_INIT, name, strlen(name)) & (cap - 1);
}

sim_host *sim_host_find(sim_world *w, const char *name)
{
	if (!w->host_tab_cap)
		return NULL;
	for (sim_host *h = w->host_tab[name_bucket(name, w->host_tab_cap)]; h; h = h->hnext)
		if (!strcmp(h->name, name))
			return h;
	return NULL;
}

static void host_hash(sim_world *w, sim_host *h)
{
	if (w->host_count + 1 > w->host_tab_cap) {
		size_t cap = w->host_tab_cap ? 2 * w->host_tab_cap : 64;
		sim_host **t = mqtt_xcalloc(cap, sizeof *t);
		for (sim_host *x = w->hosts; x; x = x->next) {
			size_t b = name_bucket(x->name, cap);
			x->hnext = t[b];
			t[b] = x;
		}
		free(w->host_tab);
		w->host_tab = t;
		w->host_tab_cap = cap;
	}
	size_t b = name_bucket(h->name, w->host_tab_cap);
	h->hnext = w->host_tab[b];
	w->host_tab[b] = h;
}

sim_host *sim_host_add(sim_world *w, const char *name)
{
	net_init(w);
	if (sim_host_find(w, name))
		return NULL;
	sim_host *h = mqtt_xcalloc(1, sizeof *h);
	size_t n = strlen(name);
	h->name = mqtt_xmalloc(n + 1);
	memcpy(h->name, name, n + 1);
	h->w = w;
	host_hash(w, h);
	h->index = w->host_count++;
	h->up = true;
	*w->hosts_tail = h;
	w->hosts_tail = &h->next;
	return h;
}

const char *sim_host_name(const sim_host *h) { return h->name; }
uint32_t sim_host_index(const sim_host *h) { return h->index; }
bool sim_host_up(const sim_host *h) { return h->up; }

void sim_host_set_hooks(sim_host *h, sim_host_hook on_crash, sim_host_hook on_restart, void *ctx)
{
	h->on_crash = on_crash;
	h->on_restart = on_restart;
	h->hook_ctx = ctx;
}

sim_us sim_host_now(const sim_host *h)
{
	sim_us elapsed = h->w->now - h->clock_base_global;
	if (h->drift_ppm == 0)
		return h->clock_base_local + elapsed;
	return h->clock_base_local + (sim_us)llround((double)elapsed * (1.0 + h->drift_ppm * 1e-6));
}

void sim_host_set_drift(sim_host *h, double ppm)
{
	h->clock_base_local = sim_host_now(h);
	h->clock_base_global = h->w->now;
	h->drift_ppm = ppm;
	sim_trace(h->w, h->name, 0, "fault", "clock drift %+.1f ppm", ppm);
}

void sim_host_jump(sim_host *h, sim_us delta)
{
	h->clock_base_local += delta;
	sim_trace(h->w, h->name, 0, "fault", "clock jump %+lldus", (long long)delta);
}

void sim_host_timer_after(sim_host *h, sim_timer *t, sim_us local_delay)
{
	sim_us d = local_delay;
	if (h->drift_ppm != 0)
		d = (sim_us)llround((double)local_delay / (1.0 + h->drift_ppm * 1e-6));
	sim_timer_after(h->w, t, d);
}

/* ---- pairs and links -------------------------------------------------------------------- */

static size_t pair_hash(const sim_host *a, const sim_host *b, size_t buckets)
{
	uint64_t k = ((uint64_t)a->index << 32) | b->index;
	k *= 0x9e3779b97f4a7c15ull;
	return (size_t)(k >> 20) & (buckets - 1);
}

static sim_pair *pair_get(sim_world *w, sim_host *a, sim_host *b, bool create)
{
	if (w->pair_buckets) {
		for (sim_pair *p = w->pairs[pair_hash(a, b, w->pair_buckets)]; p; p = p->next)
			if (p->from == a && p->to == b)
				return p;
	}
	if (!create)
		return NULL;
	if (w->pair_buckets == 0) {
		w->pair_buckets = 1024;
		w->pairs = mqtt_xcalloc(w->pair_buckets, sizeof *w->pairs);
	}
	sim_pair *p = mqtt_xcalloc(1, sizeof *p);
	p->from = a;
	p->to = b;
	p->held_tail = &p->held;
	size_t i = pair_hash(a, b, w->pair_buckets);
	p->next = w->pairs[i];
	w->pairs[i] = p;
	*w->pairs_tail = p;
	w->pairs_tail = &p->all_next;
	return p;
}

void sim_net_set_default(sim_world *w, const sim_link *l)
{
	net_init(w);
	w->default_link = *l;
}

void sim_host_set_link(sim_host *h, const sim_link *l)
{
	h->link = *l;
	h->has_link = true;
}

void sim_net_set_link(sim_world *w, sim_host *from, sim_host *to, const sim_link *l)
{
	sim_pair *p = pair_get(w, from, to, true);
	p->link = *l;
	p->has_link = true;
}

static const sim_link *link_of(sim_world *w, sim_host *from, sim_host *to, sim_pair *p)
{
	if (p && p->has_link)
		return &p->link;
	if (from->has_link)
		return &from->link;
	if (to->has_link)
		return &to->link;
	return &w->default_link;
}

sim_link sim_net_link(sim_world *w, sim_host *from, sim_host *to)
{
	return *link_of(w, from, to, pair_get(w, from, to, false));
}

void sim_net_set_buffers(sim_world *w, size_t sndbuf, size_t rcvbuf)
{
	net_init(w);
	w->sndbuf = sndbuf ? sndbuf : DEFAULT_BUF;
	w->rcvbuf = rcvbuf ? rcvbuf : DEFAULT_BUF;
}

void sim_net_capture(sim_world *w, sim_capture_fn fn, void *ctx)
{
	net_init(w);
	w->capture = fn;
	w->capture_ctx = ctx;
}

void sim_net_trace_mqtt(sim_world *w, bool on)
{
	net_init(w);
	w->trace_mqtt = on;
}

/* ---- connections and segments -------------------------------------------------------------- */

/* Every stashed segment of p, in sequence order, handed to fn (which may free it). */
static void stash_each(sim_world *w, sim_pipe *p, void (*fn)(sim_world *, sim_seg *))
{
	for (size_t i = 0; i < p->win_cap && p->stashed; i++) {
		sim_seg **slot = &p->win[(p->deliver_seq + i) & (p->win_cap - 1)];
		sim_seg *s = *slot;
		if (s) {
			*slot = NULL;
			p->stashed--;
			fn(w, s);
		}
	}
}

static void free_raw(sim_world *w, sim_seg *s)
{
	(void)w;
	free(s);
}

static void conn_unref(sim_world *w, sim_conn *c)
{
	if (--c->refs > 0)
		return;
	/* Unlink: the list is in creation order; a linear scan is fine at this rate. */
	for (sim_conn **pp = &w->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			if (w->conns_tail == &c->next)
				w->conns_tail = pp;
			break;
		}
	}
	for (int k = 0; k < 2; k++) {
		sim_timer_cancel(w, &c->end[k].notify);
		free(c->end[k].rbuf);
		free(c->pipe[k].mq);
		stash_each(w, &c->pipe[k], free_raw);
		free(c->pipe[k].win);
	}
	free(c);
}

static void seg_fire(sim_world *w, sim_timer *t);

/* Small segments (control, sliced data, most MQTT packets) come from free lists of
 * blocks of two sizes: a segment lives a few milliseconds, and a block freed on delivery
 * is still in cache when the next write takes it. Pooled blocks are ordinary
 * allocations, so free() on one is always right. */
static const uint32_t seg_class[2] = { 16, 64 };
#define SEG_POOL_MAX 65536u

static sim_seg *seg_new(sim_conn *c, int from, uint8_t flags, const void *data, uint32_t len)
{
	sim_world *w = c->end[from].host->w;
	sim_seg *s;
	int k = len <= seg_class[0] ? 0 : len <= seg_class[1] ? 1 : -1;
	if (k >= 0 && w->seg_pool[k]) {
		s = w->seg_pool[k];
		w->seg_pool[k] = s->next;
		w->seg_pool_n[k]--;
		__builtin_prefetch(w->seg_pool[k]); /* the next write's block: no wait then */
	} else {
		s = mqtt_xmalloc(sizeof *s + (k >= 0 ? seg_class[k] : len));
	}
	memset(s, 0, sizeof *s);
	s->pool = (uint8_t)(k + 1);
	sim_timer_init(&s->t, seg_fire, s);
	s->conn = c;
	s->from = (uint8_t)from;
	s->flags = flags;
	s->len = len;
	if (len)
		memcpy(s->data, data, len);
	c->refs++;
	return s;
}

static void seg_free(sim_world *w, sim_seg *s)
{
	sim_conn *c = s->conn;
	sim_timer_cancel(w, &s->t);
	int k = s->pool - 1;
	if (k >= 0 && w->seg_pool_n[k] < SEG_POOL_MAX) {
		s->next = w->seg_pool[k];
		w->seg_pool[k] = s;
		w->seg_pool_n[k]++;
	} else {
		free(s);
	}
	conn_unref(w, c);
}

static const char *host_of(const sim_conn *c, int side) { return c->end[side].host->name; }

/* Queue a segment on pipe `from`, leaving after `delay`. RST has no sequence number. */
static void pipe_send(sim_world *w, sim_conn *c, int from, uint8_t flags, const void *data,
		      uint32_t len, sim_us delay)
{
	sim_seg *s = seg_new(c, from, flags, data, len);
	sim_pipe *p = &c->pipe[from];
	const sim_link *l = link_of(w, c->end[from].host, c->end[!from].host,
				    pair_get(w, c->end[from].host, c->end[!from].host, false));
	if (!(flags & SEG_RST))
		s->seq = p->next_seq++;
	p->inflight += len;
	s->phase = PH_SEND;
	s->rto = flags & (SEG_SYN | SEG_SYNACK) ? SYN_RTO : (l->rto_us ? l->rto_us : DEFAULT_RTO);
	sim_timer_arm(w, &s->t, w->now + delay);
}

static void notify_fire(sim_world *w, sim_timer *t);

static void sock_init(sim_world *w, sim_sock *s, sim_conn *c, int side, sim_host *h)
{
	s->conn = c;
	s->side = side;
	s->host = h;
	s->epoch = h->epoch;
	s->sndbuf = w->sndbuf;
	s->rcvbuf = w->rcvbuf;
	sim_timer_init(&s->notify, notify_fire, s);
}

static void notify(sim_world *w, sim_sock *s)
{
	if (!s->released && !sim_timer_armed(&s->notify))
		sim_timer_arm(w, &s->notify, w->now);
}

/* The socket is finished as far as the network goes (RST, timeout, refused). */
static void sock_fail(sim_world *w, sim_sock *s, int err, const char *why)
{
	if (s->state == SOCK_GONE && s->error)
		return;
	s->state = SOCK_GONE;
	s->error = err;
	s->rlen = s->roff = 0;
	sim_trace(w, s->host->name, s->conn->id, why, "%s", strerror(-err));
	notify(w, s);
}

static void notify_fire(sim_world *w, sim_timer *t)
{
	sim_sock *s = t->arg;
	if (s->released || !s->ops || s->state == SOCK_SYN_SENT)
		return;
	/* The app may close the socket inside a callback, which may free the connection:
	 * hold a reference until we are done looking at it. */
	sim_conn *c = s->conn;
	c->refs++;
	/* One notification says everything that changed; the app reads until -EAGAIN. */
	if (s->rlen || s->fin_in || s->error) {
		if (s->ops->on_readable)
			s->ops->on_readable(s, s->ctx);
	}
	if (!s->released && s->want_writable && c->pipe[s->side].inflight < s->sndbuf && !s->error) {
		s->want_writable = false;
		if (s->ops->on_writable)
			s->ops->on_writable(s, s->ctx);
	}
	conn_unref(w, c);
}

/* on_connect is called from its own timer so it never runs inside an app call. */
static void connect_fire(sim_world *w, sim_timer *t)
{
	sim_sock *s = t->arg;
	sim_timer_init(&s->notify, notify_fire, s);
	if (s->released || !s->ops || !s->ops->on_connect)
		return;
	sim_conn *c = s->conn;
	c->refs++; /* as in notify_fire: the app may close inside the callback */
	int err = s->state == SOCK_OPEN ? 0 : s->error;
	s->ops->on_connect(s, err, s->ctx);
	if (!s->released && s->state == SOCK_OPEN && (s->rlen || s->fin_in || s->error))
		notify(w, s);
	conn_unref(w, c);
}

static void connect_done(sim_world *w, sim_sock *s)
{
	s->notify.fn = connect_fire;
	if (!s->released)
		sim_timer_arm(w, &s->notify, w->now);
}

static void trace_mqtt(sim_world *w, sim_conn *c, int from, const uint8_t *data, size_t len)
{
	sim_pipe *p = &c->pipe[from];
	if (!w->trace_mqtt || p->mq_broken)
		return;
	mqtt_xappend(&p->mq, &p->mq_len, &p->mq_cap, data, len, 256);
	size_t pos = 0;
	while (pos < p->mq_len) {
		mqtt_packet pk;
		mqtt_err e;
		char line[512];
		uint8_t v = c->mqtt_version ? c->mqtt_version : MQTT_V311;
		int n = mqtt_decode(p->mq + pos, p->mq_len - pos, v, 0, &pk, &e);
		if (n == 0)
			break;
		if (n < 0) {
			sim_trace(w, host_of(c, !from), c->id, "mqtt-bad", "[%s] at byte %u: %s", e.stmt,
				  e.offset, e.msg);
			p->mq_broken = true;
			p->mq_len = 0;
			return;
		}
		if (pk.type == MQTT_CONNECT)
			c->mqtt_version = pk.version;
		mqtt_print(&pk, line, sizeof line);
		sim_trace(w, host_of(c, !from), c->id, "mqtt", "%s %s", from ? "<-" : "->", line);
		pos += (size_t)n;
	}
	memmove(p->mq, p->mq + pos, p->mq_len - pos);
	p->mq_len -= pos;
}

static void close_by_limit(sim_world *w, sim_conn *c, int from)
{
	sim_trace(w, host_of(c, from), c->id, "fault", "limit_data reached: connection closed");
	for (int k = 0; k < 2; k++) {
		sim_sock *s = &c->end[k];
		s->fin_in = true;
		if (!s->error)
			s->error = 0;
		s->fin_out = true; /* further writes fail with EPIPE */
		notify(w, s);
	}
	/* Drop whatever is still queued either way. */
	for (int k = 0; k < 2; k++) {
		stash_each(w, &c->pipe[k], seg_free);
		c->pipe[k].closed = true;
	}
}

/* Hand arrived, in-order segments of pipe `from` to the receiving socket. */
static void pipe_drain(sim_world *w, sim_conn *c, int from)
{
	sim_pipe *p = &c->pipe[from];
	sim_sock *r = &c->end[!from], *snd = &c->end[from];
	bool delivered = false;

	while (p->stashed && !p->closed) {
		sim_seg **slot = &p->win[p->deliver_seq & (p->win_cap - 1)];
		sim_seg *s = *slot;
		if (!s)
			break;
		/* After a retransmission fills a gap, the segments stashed behind it come in a
		 * row, each last touched when it arrived: fetch the next ones early. */
		__builtin_prefetch(p->win[(p->deliver_seq + 2) & (p->win_cap - 1)]);
		if (s->len) {
			if (r->rlen + r->roff == r->rcap && r->roff) {
				memmove(r->rbuf, r->rbuf + r->roff, r->rlen);
				r->roff = 0;
			}
			size_t room = r->rcvbuf > r->rlen ? r->rcvbuf - r->rlen : 0;
			if (room == 0)
				break; /* zero window: wait for the app to read */
			size_t n = s->len < room ? s->len : room;
			const sim_link *l = link_of(w, snd->host, r->host,
						    pair_get(w, snd->host, r->host, false));
			bool limit_hit = false;
			if (l->limit_bytes && p->delivered + n >= l->limit_bytes) {
				n = (size_t)(l->limit_bytes - p->delivered);
				limit_hit = true;
			}
			if (r->roff + r->rlen + n > r->rcap) {
				if (r->roff) {
					memmove(r->rbuf, r->rbuf + r->roff, r->rlen);
					r->roff = 0;
				}
				r->rbuf = mqtt_xgrow(r->rbuf, &r->rcap, r->rlen + n, 1, 4096);
			}
			memcpy(r->rbuf + r->roff + r->rlen, s->data, n);
			r->rlen += n;
			p->inflight -= n;
			p->delivered += n;
			delivered = true;
			sim__trace_size(w, r->host->name, c->id, "recv", n);
			trace_mqtt(w, c, from, s->data, n);
			if (w->capture)
				w->capture(w->capture_ctx, w->now, c->id, from, SIM_CAP_DATA, snd->host, r->host,
					   c->port, s->data, n);
			if (limit_hit) {
				p->inflight -= s->len - n;
				*slot = NULL;
				p->stashed--;
				seg_free(w, s);
				close_by_limit(w, c, from);
				return;
			}
			if (n < s->len) {
				memmove(s->data, s->data + n, s->len - n);
				s->len -= (uint32_t)n;
				break;
			}
		}
		if (s->flags & SEG_FIN) {
			r->fin_in = true;
			delivered = true;
			if (w->capture)
				w->capture(w->capture_ctx, w->now, c->id, from, SIM_CAP_FIN, snd->host, r->host,
					   c->port, NULL, 0);
			sim_trace(w, r->host->name, c->id, "fin", "end of stream from %s",
				  snd->host->name);
		}
		if (s->flags & SEG_SYNACK && r->state == SOCK_SYN_SENT) {
			r->state = SOCK_OPEN;
			sim_trace(w, r->host->name, c->id, "connected", "to %s:%u", snd->host->name,
				  c->port);
			connect_done(w, r);
		}
		*slot = NULL;
		p->stashed--;
		p->deliver_seq++;
		seg_free(w, s);
	}
	if (delivered)
		notify(w, r);
	if (snd->want_writable && p->inflight < snd->sndbuf)
		notify(w, snd);
}

static void stash_insert(sim_pipe *p, sim_seg *s)
{
	size_t need = (size_t)(s->seq - p->deliver_seq) + 1;
	if (need > p->win_cap) {
		size_t cap = p->win_cap ? p->win_cap : 16;
		while (cap < need)
			cap *= 2;
		sim_seg **win = mqtt_xcalloc(cap, sizeof *win);
		for (size_t i = 0; i < p->win_cap; i++) {
			sim_seg *g = p->win[i];
			if (g)
				win[g->seq & (cap - 1)] = g;
		}
		free(p->win);
		p->win = win;
		p->win_cap = cap;
	}
	p->win[s->seq & (p->win_cap - 1)] = s;
	p->stashed++;
}

static void send_rst(sim_world *w, sim_conn *c, int from)
{
	pipe_send(w, c, from, SEG_RST, NULL, 0, 0);
}

static sim_listener *listener_find(sim_host *h, uint16_t port)
{
	for (sim_listener *l = h->listeners; l; l = l->next)
		if (l->port == port)
			return l;
	return NULL;
}

static void retransmit_or_abort(sim_world *w, sim_seg *s, const sim_link *l)
{
	sim_conn *c = s->conn;
	bool syn = s->flags & (SEG_SYN | SEG_SYNACK);
	uint32_t limit = syn ? SYN_RETRIES : (l->retries ? l->retries : DEFAULT_RETRIES);
	sim_us cap = l->rto_max_us ? l->rto_max_us : DEFAULT_RTO_MAX;
	if (++s->attempt > limit) {
		sim_sock *snd = &c->end[s->from];
		if (!snd->released || snd->state != SOCK_GONE)
			sock_fail(w, snd, -ETIMEDOUT, "timeout");
		if (s->flags & SEG_SYN)
			connect_done(w, snd);
		if (s->flags & SEG_SYNACK) {
			/* The connecting side never heard back: its connect times out too. */
			sim_sock *cl = &c->end[!s->from];
			if (cl->state == SOCK_SYN_SENT) {
				sock_fail(w, cl, -ETIMEDOUT, "timeout");
				connect_done(w, cl);
			}
		}
		seg_free(w, s);
		return;
	}
	s->phase = PH_SEND;
	sim_timer_arm(w, &s->t, w->now + s->rto);
	s->rto = s->rto * 2 > cap ? cap : s->rto * 2;
}

static void arrive(sim_world *w, sim_seg *s);

static void seg_fire(sim_world *w, sim_timer *t)
{
	sim_seg *s = t->arg;
	sim_conn *c = s->conn;
	sim_sock *snd = &c->end[s->from];
	sim_host *src = snd->host, *dst = c->end[!s->from].host;
	sim_pair *pair = pair_get(w, src, dst, false);
	const sim_link *l = link_of(w, src, dst, pair);

	if (s->phase == PH_ARRIVE) {
		if (pair && pair->clogged) {
			s->next = NULL;
			*pair->held_tail = s;
			pair->held_tail = &s->next;
			return;
		}
		arrive(w, s);
		return;
	}
	/* A crashed sender transmits nothing more; nor does one that already failed. */
	if (!src->up || snd->epoch != src->epoch ||
	    (snd->state == SOCK_GONE && !(s->flags & SEG_RST))) {
		seg_free(w, s);
		return;
	}
	if (pair && pair->blackholed) {
		/* Vanishes without a word. It is retried quietly, never counted towards an
		 * abort, so the stream goes on once the blackhole is lifted. */
		if (!(s->flags & SEG_RST)) {
			sim_us cap = l->rto_max_us ? l->rto_max_us : DEFAULT_RTO_MAX;
			sim_timer_arm(w, &s->t, w->now + s->rto);
			s->rto = s->rto * 2 > cap ? cap : s->rto * 2;
			return;
		}
		seg_free(w, s);
		return;
	}
	if (s->flags & SEG_RST) {
		if (pair && pair->partitioned) {
			seg_free(w, s);
			return;
		}
	} else if ((pair && pair->partitioned) || sim_rng_bernoulli(&c->pipe[s->from].rng, l->loss)) {
		sim_trace(w, src->name, c->id, "lost", "segment %llu attempt %u%s",
			  (unsigned long long)s->seq, s->attempt + 1,
			  pair && pair->partitioned ? " (partition)" : "");
		retransmit_or_abort(w, s, l);
		return;
	}
	sim_pipe *p = &c->pipe[s->from];
	sim_us done = w->now;
	if (l->bandwidth_bps && s->len) {
		/* Bandwidth belongs to the link: every connection on it shares the wire. */
		sim_pair *link = pair ? pair : pair_get(w, src, dst, true);
		sim_us start = link->tx_free_at > w->now ? link->tx_free_at : w->now;
		done = start + (sim_us)(((uint64_t)s->len * 8u * 1000000u + l->bandwidth_bps - 1) /
					l->bandwidth_bps);
		link->tx_free_at = done;
	}
	sim_us at = sim_link_arrival(l, &p->rng, done);
	s->phase = PH_ARRIVE;
	sim_timer_arm(w, &s->t, at);
}

sim_us sim_link_arrival(const sim_link *l, sim_rng *rng, sim_us done)
{
	sim_us jitter = 0;
	if (l->jitter_us > 0) {
		double j = (double)l->jitter_us;
		switch (l->jitter_dist) {
		/* Each shape is scaled so the extra delay averages jitter_us. */
		case SIM_JITTER_NORMAL: j = fabs(sim_rng_normal(rng, 0, j * 1.2533141373155003)); break;
		case SIM_JITTER_PARETO: j = j * (sim_rng_pareto(rng, 1.0, 2.0) - 1.0); break;
		default: j = sim_rng_uniform(rng, 0, 2 * j); break;
		}
		jitter = (sim_us)j;
	}
	sim_us at = done + l->latency_us + jitter;
	if (l->coalesce_us > 0)
		at = (at + l->coalesce_us - 1) / l->coalesce_us * l->coalesce_us;
	return at;
}

static void accept_syn(sim_world *w, sim_seg *s)
{
	sim_conn *c = s->conn;
	sim_host *h = c->end[1].host;
	sim_listener *lst = listener_find(h, c->port);
	if (!lst) {
		sim_trace(w, h->name, c->id, "refused", "nothing listens on port %u", c->port);
		/* The RST travels back; the connecting side sees ECONNREFUSED. */
		sock_init(w, &c->end[1], c, 1, h);
		c->end[1].released = true;
		c->end[1].state = SOCK_GONE;
		send_rst(w, c, 1);
		seg_free(w, s);
		return;
	}
	sim_sock *srv = &c->end[1];
	sock_init(w, srv, c, 1, h);
	srv->state = SOCK_OPEN;
	c->refs++;
	sim_trace(w, h->name, c->id, "accept", "from %s port %u", c->end[0].host->name, c->port);
	if (w->capture)
		w->capture(w->capture_ctx, w->now, c->id, 0, SIM_CAP_SYN, c->end[0].host, h, c->port, NULL, 0);
	pipe_send(w, c, 1, SEG_SYNACK, NULL, 0, 0);
	c->pipe[0].deliver_seq = 1;
	seg_free(w, s);
	lst->fn(srv, lst->ctx);
	pipe_drain(w, c, 0);
}

static void arrive(sim_world *w, sim_seg *s)
{
	sim_conn *c = s->conn;
	sim_sock *r = &c->end[!s->from];
	sim_host *dst = r->host;

	if (!dst->up) {
		/* Nobody answers: to the sender this is loss, retransmitted until it aborts. */
		sim_pair *pair = pair_get(w, c->end[s->from].host, dst, false);
		if (s->flags & SEG_RST) {
			seg_free(w, s);
			return;
		}
		retransmit_or_abort(w, s, link_of(w, c->end[s->from].host, dst, pair));
		return;
	}
	if (s->flags & SEG_SYN) {
		accept_syn(w, s);
		return;
	}
	if (s->flags & SEG_RST) {
		if (r->state == SOCK_SYN_SENT) {
			sock_fail(w, r, -ECONNREFUSED, "refused");
			connect_done(w, r);
		} else if (r->epoch == dst->epoch && r->state != SOCK_GONE) {
			sock_fail(w, r, -ECONNRESET, "rst");
		}
		seg_free(w, s);
		return;
	}
	/* A restarted host, or an app that closed, answers new bytes with RST. */
	bool stale = r->epoch != dst->epoch || r->state == SOCK_GONE;
	if (stale || (r->released && s->len)) {
		if (!(c->end[s->from].state == SOCK_GONE))
			send_rst(w, c, !s->from);
		if (stale && r->epoch != dst->epoch)
			r->epoch = dst->epoch; /* answer once per restart, as the new host would */
		c->pipe[s->from].inflight -= s->len;
		seg_free(w, s);
		return;
	}
	if (c->pipe[s->from].closed || r->released) {
		seg_free(w, s); /* closed by limit_data, or nobody will ever read it */
		return;
	}
	stash_insert(&c->pipe[s->from], s);
	pipe_drain(w, c, s->from);
}

/* ---- faults on pairs ----------------------------------------------------------------------- */

void sim_net_partition(sim_world *w, sim_host *a, sim_host *b, bool oneway)
{
	pair_get(w, a, b, true)->partitioned = true;
	if (!oneway)
		pair_get(w, b, a, true)->partitioned = true;
	sim_trace(w, a->name, 0, "fault", "partition %s %s %s", a->name, oneway ? "->" : "<->", b->name);
}

void sim_net_heal(sim_world *w, sim_host *a, sim_host *b)
{
	sim_pair *p = pair_get(w, a, b, false), *q = pair_get(w, b, a, false);
	if (p)
		p->partitioned = false;
	if (q)
		q->partitioned = false;
	sim_trace(w, a->name, 0, "fault", "heal %s <-> %s", a->name, b->name);
}

void sim_net_clog(sim_world *w, sim_host *from, sim_host *to)
{
	pair_get(w, from, to, true)->clogged = true;
	sim_trace(w, from->name, 0, "fault", "clog %s -> %s", from->name, to->name);
}

void sim_net_unclog(sim_world *w, sim_host *from, sim_host *to)
{
	sim_pair *p = pair_get(w, from, to, false);
	if (!p || !p->clogged)
		return;
	p->clogged = false;
	sim_trace(w, from->name, 0, "fault", "unclog %s -> %s", from->name, to->name);
	/* Released now, in the order held, through their own events: apps never get a
	 * callback from inside the call that unclogged. */
	sim_seg *s = p->held;
	p->held = NULL;
	p->held_tail = &p->held;
	while (s) {
		sim_seg *n = s->next;
		s->next = NULL;
		s->phase = PH_ARRIVE;
		sim_timer_arm(w, &s->t, w->now);
		s = n;
	}
}

void sim_net_blackhole(sim_world *w, sim_host *a, sim_host *b, bool oneway, bool on)
{
	pair_get(w, a, b, true)->blackholed = on;
	if (!oneway)
		pair_get(w, b, a, true)->blackholed = on;
	sim_trace(w, a->name, 0, "fault", "blackhole %s %s %s %s", a->name, oneway ? "->" : "<->",
		  b->name, on ? "on" : "off");
}

void sim_sock_reset(sim_sock *s)
{
	sim_world *w = s->host->w;
	sim_conn *c = s->conn;
	sim_trace(w, s->host->name, c->id, "fault", "reset");
	for (int k = 0; k < 2; k++)
		if (c->end[k].host && c->end[k].state != SOCK_GONE)
			sock_fail(w, &c->end[k], -ECONNRESET, "rst");
}

int sim_net_reset(sim_world *w, sim_host *a, sim_host *b)
{
	int n = 0;
	for (sim_conn *c = w->conns; c; c = c->next) {
		sim_host *x = c->end[0].host, *y = c->end[1].host;
		if (((x == a && y == b) || (x == b && y == a)) &&
		    (c->end[0].state == SOCK_OPEN || c->end[1].state == SOCK_OPEN)) {
			sim_sock_reset(&c->end[0]);
			n++;
		}
	}
	return n;
}

/* ---- crash and restart ---------------------------------------------------------------------- */

static void release(sim_world *w, sim_sock *s)
{
	if (s->released)
		return;
	s->released = true;
	sim_timer_cancel(w, &s->notify);
	/* Bytes waiting for this socket's buffer will never be read. The socket's own
	 * reference keeps the connection alive while they go. */
	sim_pipe *in = &s->conn->pipe[!s->side];
	for (size_t i = 0; i < in->win_cap; i++)
		if (in->win[i])
			in->inflight -= in->win[i]->len;
	stash_each(w, in, seg_free);
	conn_unref(w, s->conn);
}

void sim_host_crash(sim_host *h)
{
	sim_world *w = h->w;
	if (!h->up)
		return;
	sim_trace(w, h->name, 0, "fault", "crash");
	h->up = false;
	h->epoch++;
	for (sim_listener *l = h->listeners, *n; l; l = n) {
		n = l->next;
		free(l);
	}
	h->listeners = NULL;
	/* Every socket vanishes without a word to its peer. Collect first: releasing may
	 * free connections while we walk the list. */
	size_t n = 0, cap = 16;
	sim_sock **gone = mqtt_xmalloc(cap * sizeof *gone);
	for (sim_conn *c = w->conns; c; c = c->next) {
		for (int k = 0; k < 2; k++) {
			sim_sock *s = &c->end[k];
			if (s->host == h && s->conn && s->state != 0) {
				if (n == cap) {
					cap *= 2;
					sim_sock **g = mqtt_xrealloc(gone, cap * sizeof *gone);
					gone = g;
				}
				gone[n++] = s;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		gone[i]->state = SOCK_GONE;
		gone[i]->rlen = gone[i]->roff = 0;
	}
	for (size_t i = 0; i < n; i++)
		release(w, gone[i]);
	free(gone);
	if (h->disk) {
		sim_rng r;
		char name[128];
		snprintf(name, sizeof name, "disk/%s/crash/%u", h->name, h->epoch);
		sim_rng_init(&r, w->seed, name);
		sim_disk_crash(h->disk, &r);
	}
	if (h->on_crash)
		h->on_crash(h, h->hook_ctx);
}

void sim_host_restart(sim_host *h)
{
	if (h->up)
		return;
	h->up = true;
	sim_trace(h->w, h->name, 0, "fault", "restart");
	if (h->on_restart)
		h->on_restart(h, h->hook_ctx);
}

/* ---- sockets ----------------------------------------------------------------------------- */

int sim_listen(sim_host *h, uint16_t port, sim_accept_fn fn, void *ctx)
{
	if (listener_find(h, port))
		return -EADDRINUSE;
	sim_listener *l = mqtt_xcalloc(1, sizeof *l);
	l->port = port;
	l->fn = fn;
	l->ctx = ctx;
	l->next = h->listeners;
	h->listeners = l;
	sim_trace(h->w, h->name, 0, "listen", "port %u", port);
	return 0;
}

void sim_unlisten(sim_host *h, uint16_t port)
{
	for (sim_listener **pp = &h->listeners; *pp; pp = &(*pp)->next) {
		if ((*pp)->port == port) {
			sim_listener *l = *pp;
			*pp = l->next;
			free(l);
			return;
		}
	}
}

sim_sock *sim_connect(sim_host *from, sim_host *to, uint16_t port, const sim_sock_ops *ops, void *ctx)
{
	sim_world *w = from->w;
	sim_conn *c = mqtt_xcalloc(1, sizeof *c);
	c->id = ++w->conn_ids;
	c->port = port;
	*w->conns_tail = c;
	w->conns_tail = &c->next;
	sock_init(w, &c->end[0], c, 0, from);
	c->end[0].state = SOCK_SYN_SENT;
	c->end[0].ops = ops;
	c->end[0].ctx = ctx;
	c->end[1].host = to; /* known now; initialised when the SYN arrives */
	c->refs = 1;
	/* Streams named by the hosts and a per-host counter: stable when others are added. */
	char name[256];
	unsigned k = from->conn_count++;
	snprintf(name, sizeof name, "net/%s/%s/%u/up", from->name, to->name, k);
	sim_rng_init(&c->pipe[0].rng, w->seed, name);
	snprintf(name, sizeof name, "net/%s/%s/%u/down", from->name, to->name, k);
	sim_rng_init(&c->pipe[1].rng, w->seed, name);
	sim_trace(w, from->name, c->id, "connect", "to %s port %u", to->name, port);
	pipe_send(w, c, 0, SEG_SYN, NULL, 0, 0);
	return &c->end[0];
}

void sim_sock_set_ops(sim_sock *s, const sim_sock_ops *ops, void *ctx)
{
	s->ops = ops;
	s->ctx = ctx;
}

long sim_sock_write(sim_sock *s, const void *buf, size_t len)
{
	sim_world *w = s->host->w;
	sim_conn *c = s->conn;
	if (s->released)
		return -EBADF;
	if (s->error)
		return s->error;
	if (s->state == SOCK_SYN_SENT)
		return -ENOTCONN;
	if (s->fin_out || s->state == SOCK_GONE)
		return -EPIPE;
	sim_pipe *p = &c->pipe[s->side];
	size_t room = s->sndbuf > p->inflight ? s->sndbuf - p->inflight : 0;
	if (room == 0) {
		s->want_writable = true;
		return -EAGAIN;
	}
	size_t n = len < room ? len : room;
	if (n == 0)
		return 0;
	sim__trace_size(w, s->host->name, c->id, "send", n);
	const sim_link *l = link_of(w, s->host, c->end[!s->side].host,
				    pair_get(w, s->host, c->end[!s->side].host, false));
	const uint8_t *b = buf;
	size_t off = 0, k = 0;
	while (off < n) {
		size_t piece = n - off;
		if (l->slice_max) {
			size_t cut = 1 + (size_t)sim_rng_below(&p->rng, l->slice_max);
			if (cut < piece)
				piece = cut;
		}
		if (piece > UINT32_MAX / 2)
			piece = UINT32_MAX / 2;
		/* Pieces leave a microsecond apart, so they also arrive apart and a reader
		 * can see them one by one. */
		pipe_send(w, c, s->side, SEG_DATA, b + off, (uint32_t)piece, l->slice_max ? (sim_us)k++ : 0);
		off += piece;
	}
	if (n < len)
		s->want_writable = true;
	return (long)n;
}

long sim_sock_read(sim_sock *s, void *buf, size_t len)
{
	sim_world *w = s->host->w;
	if (s->released)
		return -EBADF;
	if (s->error)
		return s->error;
	if (s->rlen) {
		size_t n = len < s->rlen ? len : s->rlen;
		memcpy(buf, s->rbuf + s->roff, n);
		s->roff += n;
		s->rlen -= n;
		if (s->rlen == 0)
			s->roff = 0;
		if (s->conn->pipe[!s->side].stashed)
			pipe_drain(w, s->conn, !s->side); /* room again: take what waited */
		return (long)n;
	}
	if (s->fin_in)
		return 0;
	return -EAGAIN;
}

void sim_sock_close(sim_sock *s)
{
	sim_world *w = s->host->w;
	if (s->released)
		return;
	if (s->state == SOCK_OPEN && !s->fin_out && !s->error) {
		sim_conn *c = s->conn;
		const sim_link *l = link_of(w, s->host, c->end[!s->side].host,
					    pair_get(w, s->host, c->end[!s->side].host, false));
		s->fin_out = true;
		sim_trace(w, s->host->name, c->id, "close", "FIN%s", l->close_delay_us ? " (slow)" : "");
		pipe_send(w, c, s->side, SEG_FIN, NULL, 0, l->close_delay_us);
	} else {
		sim_trace(w, s->host->name, s->conn->id, "close", "released");
	}
	release(w, s);
}

void sim_sock_abort(sim_sock *s)
{
	sim_world *w = s->host->w;
	if (s->released)
		return;
	if (s->state != SOCK_GONE) {
		sim_trace(w, s->host->name, s->conn->id, "abort", "RST");
		if (s->state == SOCK_OPEN)
			send_rst(w, s->conn, s->side);
		s->state = SOCK_GONE;
	}
	release(w, s);
}

uint64_t sim_sock_id(const sim_sock *s) { return s->conn->id; }
sim_host *sim_sock_host(const sim_sock *s) { return s->host; }
sim_host *sim_sock_peer(const sim_sock *s) { return s->conn->end[!s->side].host; }
size_t sim_sock_unread(const sim_sock *s) { return s->rlen; }
bool sim_sock_connected(const sim_sock *s) { return s->state == SOCK_OPEN && !s->error; }

/* ---- teardown ------------------------------------------------------------------------------- */

static void free_queued_seg(sim_timer *t)
{
	if (t->fn == seg_fire)
		free(t->arg);
}

void sim_net_free(sim_world *w)
{
	/* Segments live in three places: the event queue (in flight), pipe stashes and
	 * clogged pairs. Free those in flight through the queue, then empty it, since its
	 * other timers point into sockets about to go. */
	sim__timers_drop(w, free_queued_seg);
	for (sim_conn *c = w->conns, *n; c; c = n) {
		n = c->next;
		for (int k = 0; k < 2; k++) {
			free(c->end[k].rbuf);
			free(c->pipe[k].mq);
			stash_each(w, &c->pipe[k], free_raw);
			free(c->pipe[k].win);
		}
		free(c);
	}
	for (sim_pair *p = w->pairs_all, *n; p; p = n) {
		n = p->all_next;
		for (sim_seg *s = p->held, *m; s; s = m) {
			m = s->next;
			free(s);
		}
		free(p);
	}
	free(w->pairs);
	for (int k = 0; k < 2; k++) {
		for (sim_seg *s = w->seg_pool[k], *m; s; s = m) {
			m = s->next;
			free(s);
		}
		w->seg_pool[k] = NULL;
		w->seg_pool_n[k] = 0;
	}
	for (sim_host *h = w->hosts, *n; h; h = n) {
		n = h->next;
		for (sim_listener *l = h->listeners, *m; l; l = m) {
			m = l->next;
			free(l);
		}
		if (h->disk)
			sim_disk_free(h->disk);
		free(h->name);
		free(h);
	}
	free(w->host_tab);
}
