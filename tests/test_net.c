/*
 * test_net.c - the virtual network (sim/net.c), the fault model (sim/fault.c), the virtual
 * disk (sim/disk.c) and host clocks, tested from the applications' side.
 *
 * Every expectation comes from the documented semantics in sim/net.h, sim/fault.h and
 * sim/disk.h and the fault model in DESIGN.md, and is checked on what an application
 * observes: the bytes its reads return, when (sim_now) it sees them, and which errors its
 * reads, writes and connects return.
 *
 * The harness: a collector server (records every byte it reads, optionally echoes) and a
 * scripted client (writes chunks at virtual times). Both keep a log of (time, event).
 * Everything a test allocates is registered and freed by the checked teardown, so a
 * failing assertion leaks nothing under CK_FORK=no.
 */
#include "tests.h"

#include "harness/proxy.h"
#include "sim/disk.h"
#include "sim/fault.h"
#include "sim/net.h"
#include "sim/sim.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PORT 1883
#define L SIM_MS(10) /* the latency of most tests */

/* ---- bookkeeping ---------------------------------------------------------------------- */

#define MAX_WORLDS 8
#define MAX_BLOCKS 512

static sim_world *worlds[MAX_WORLDS];
static size_t nworlds;
static void *blocks[MAX_BLOCKS];
static size_t nblocks;

/* Called from callbacks too, where an assertion would unwind through the simulator. */
static void *talloc(size_t n)
{
	if (nblocks == MAX_BLOCKS)
		abort();
	void *p = calloc(1, n);
	if (!p)
		abort();
	blocks[nblocks++] = p;
	return p;
}

static sim_world *world_new(uint64_t seed)
{
	ck_assert_uint_lt(nworlds, MAX_WORLDS);
	sim_world *w = sim_world_new(seed);
	ck_assert_ptr_nonnull(w);
	worlds[nworlds++] = w;
	return w;
}

/* Free a world before the end of the test (tests that make many). */
static void world_drop(sim_world *w)
{
	for (size_t i = 0; i < nworlds; i++) {
		if (worlds[i] == w) {
			worlds[i] = worlds[--nworlds];
			sim_world_free(w);
			return;
		}
	}
}

static void hooks_reset(void);

static void setup(void)
{
	nworlds = nblocks = 0;
	hooks_reset();
}

static void teardown(void)
{
	/* Worlds first: freeing one calls no app code, and the peers outlive it. */
	for (size_t i = 0; i < nworlds; i++)
		sim_world_free(worlds[i]);
	for (size_t i = 0; i < nblocks; i++)
		free(blocks[i]);
	nworlds = nblocks = 0;
}

/* Run until exactly `at`, even when the queue empties first (an alarm holds the clock). */
static void noop(sim_world *w, sim_timer *t)
{
	(void)w;
	(void)t;
}

static void run_to(sim_world *w, sim_us at)
{
	ck_assert_int_ge(at, sim_now(w));
	sim_timer alarm;
	sim_timer_init(&alarm, noop, NULL);
	sim_timer_arm(w, &alarm, at);
	sim_run(w, at, 0);
	sim_timer_cancel(w, &alarm);
	ck_assert_int_eq(sim_now(w), at);
}

/* ---- peers: scripted writers and collecting readers ------------------------------------- */

enum { EV_CONNECT = 1, EV_DATA, EV_EOF, EV_RERR, EV_WRITE, EV_WERR };
enum { ACT_WRITE = 1, ACT_CLOSE, ACT_ABORT };

#define LOGN 8192
#define BUFN (128 * 1024)
#define STEPN 4096

typedef struct ev {
	sim_us at;
	int kind;
	long v;
} ev;

typedef struct step {
	sim_us at;
	int act;
	size_t off, len; /* in sdata */
} step;

typedef struct peer {
	sim_world *w;
	sim_host *host;
	sim_sock *s;         /* NULL once the app closed it or its host crashed */
	uint64_t id;
	bool echo;           /* write back what is read */
	bool close_on_end;   /* close inside the callback on EOF, error or failed connect */
	bool paused;         /* on_readable reads nothing (a slow app) */
	bool open, eof, crashed, overflow;
	bool connect_seen;
	int connect_err;
	sim_us connect_at;   /* on_connect, or accept for the server side */
	int err;             /* first error a read returned */
	sim_us err_at, eof_at, first_at, last_at;
	size_t nreads, max_read;
	int werr;            /* first error a write returned, other than -EAGAIN */
	sim_us werr_at;
	size_t eagain;
	uint8_t got[BUFN];
	size_t got_len;
	uint8_t sent[BUFN];  /* what sim_sock_write accepted */
	size_t sent_len;
	ev log[LOGN];
	size_t nlog;
	step steps[STEPN];
	size_t nsteps, next, off;
	uint8_t sdata[BUFN];
	size_t sdata_len;
	sim_timer t;
} peer;

#define MAX_PEERS 96
static peer *all_peers[MAX_PEERS];
static size_t npeers;

static void logev(peer *p, int kind, long v)
{
	if (p->nlog == LOGN) {
		p->overflow = true;
		return;
	}
	p->log[p->nlog++] = (ev){ sim_now(p->w), kind, v };
}

static void keep(peer *p, uint8_t *dst, size_t *len, const void *src, size_t n)
{
	if (*len + n > BUFN) {
		p->overflow = true;
		n = BUFN - *len;
	}
	memcpy(dst + *len, src, n);
	*len += n;
}

static void pump(peer *p);

static void tick(sim_world *w, sim_timer *t)
{
	(void)w;
	pump(t->arg);
}

static peer *peer_new(sim_world *w, sim_host *h)
{
	if (npeers == MAX_PEERS)
		abort();
	peer *p = talloc(sizeof *p);
	p->w = w;
	p->host = h;
	p->connect_at = p->err_at = p->eof_at = p->first_at = p->last_at = p->werr_at = -1;
	sim_timer_init(&p->t, tick, p);
	all_peers[npeers++] = p;
	return p;
}

static void end_sock(peer *p)
{
	if (p->close_on_end && p->s) {
		sim_sock_close(p->s);
		p->s = NULL;
		p->open = false;
	}
}

static void drain(peer *p)
{
	uint8_t buf[4096];
	sim_us now = sim_now(p->w);
	while (p->s) {
		long n = sim_sock_read(p->s, buf, sizeof buf);
		if (n > 0) {
			keep(p, p->got, &p->got_len, buf, (size_t)n);
			p->nreads++;
			if ((size_t)n > p->max_read)
				p->max_read = (size_t)n;
			if (p->first_at < 0)
				p->first_at = now;
			p->last_at = now;
			logev(p, EV_DATA, n);
			if (p->echo) {
				long r = sim_sock_write(p->s, buf, (size_t)n);
				logev(p, r > 0 ? EV_WRITE : EV_WERR, r);
				if (r > 0)
					keep(p, p->sent, &p->sent_len, buf, (size_t)r);
			}
			continue;
		}
		if (n == 0) {
			if (!p->eof) {
				p->eof = true;
				p->eof_at = now;
				logev(p, EV_EOF, 0);
			}
			end_sock(p);
			break;
		}
		if (n == -EAGAIN)
			break;
		if (!p->err) {
			p->err = (int)n;
			p->err_at = now;
		}
		logev(p, EV_RERR, n);
		end_sock(p);
		break;
	}
}

static void on_connect(sim_sock *s, int err, void *ctx)
{
	peer *p = ctx;
	(void)s;
	p->connect_seen = true;
	p->connect_err = err;
	p->connect_at = sim_now(p->w);
	logev(p, EV_CONNECT, err);
	if (err == 0) {
		p->open = true;
		pump(p);
	} else {
		end_sock(p);
	}
}

static void on_readable(sim_sock *s, void *ctx)
{
	peer *p = ctx;
	(void)s;
	if (!p->paused)
		drain(p);
}

static void on_writable(sim_sock *s, void *ctx)
{
	(void)s;
	pump(ctx);
}

static const sim_sock_ops peer_ops = { on_connect, on_readable, on_writable };

/* Carry out every step that is due; wait for on_writable when the send buffer is full. */
static void pump(peer *p)
{
	sim_us now = sim_now(p->w);
	while (p->s && p->open && p->next < p->nsteps && p->steps[p->next].at <= now) {
		step *st = &p->steps[p->next];
		if (st->act == ACT_WRITE) {
			long r = sim_sock_write(p->s, p->sdata + st->off + p->off, st->len - p->off);
			if (r > 0) {
				logev(p, EV_WRITE, r);
				keep(p, p->sent, &p->sent_len, p->sdata + st->off + p->off, (size_t)r);
				p->off += (size_t)r;
				if (p->off < st->len)
					return;
			} else {
				logev(p, EV_WERR, r);
				if (r == -EAGAIN) {
					p->eagain++;
					return;
				}
				if (!p->werr) {
					p->werr = (int)r;
					p->werr_at = now;
				}
			}
		} else if (st->act == ACT_CLOSE) {
			sim_sock_close(p->s);
			p->s = NULL;
			p->open = false;
		} else {
			sim_sock_abort(p->s);
			p->s = NULL;
			p->open = false;
		}
		p->next++;
		p->off = 0;
	}
	if (p->s && p->open && p->next < p->nsteps && p->steps[p->next].at > now)
		sim_timer_arm(p->w, &p->t, p->steps[p->next].at);
}

static void kick(peer *p)
{
	if (p->s && p->open && p->next < p->nsteps) {
		sim_us at = p->steps[p->next].at, now = sim_now(p->w);
		sim_timer_arm(p->w, &p->t, at > now ? at : now);
	}
}

static void add_step(peer *p, sim_us at, int act, const void *data, size_t len)
{
	ck_assert_uint_lt(p->nsteps, STEPN);
	ck_assert(p->nsteps == 0 || p->steps[p->nsteps - 1].at <= at);
	ck_assert_uint_le(p->sdata_len + len, BUFN);
	step *st = &p->steps[p->nsteps++];
	st->at = at;
	st->act = act;
	st->off = p->sdata_len;
	st->len = len;
	if (len)
		memcpy(p->sdata + p->sdata_len, data, len);
	p->sdata_len += len;
	kick(p);
}

static void say(peer *p, sim_us at, const void *data, size_t len)
{
	ck_assert_uint_gt(len, 0);
	add_step(p, at, ACT_WRITE, data, len);
}

static void close_at(peer *p, sim_us at) { add_step(p, at, ACT_CLOSE, NULL, 0); }
static void abort_at(peer *p, sim_us at) { add_step(p, at, ACT_ABORT, NULL, 0); }


/* ---- crash hooks: drop the handles of a crashed host's peers, as an app would ---------- */

static struct {
	int crashes, restarts;
	sim_us crash_at, restart_at;
	bool up_in_crash, up_in_restart;
} hk;

static void hooks_reset(void)
{
	memset(&hk, 0, sizeof hk);
	npeers = 0;
}

static void on_crash(sim_host *h, void *ctx)
{
	sim_world *w = ctx;
	hk.crashes++;
	hk.crash_at = sim_now(w);
	hk.up_in_crash = sim_host_up(h);
	for (size_t i = 0; i < npeers; i++) {
		peer *p = all_peers[i];
		if (p->w == w && p->host == h && p->s) {
			p->s = NULL;
			p->open = false;
			p->crashed = true;
			sim_timer_cancel(w, &p->t);
		}
	}
}

static void on_restart(sim_host *h, void *ctx)
{
	hk.restarts++;
	hk.restart_at = sim_now(ctx);
	hk.up_in_restart = sim_host_up(h);
}

/* ---- servers and clients ------------------------------------------------------------------ */

typedef struct server {
	sim_world *w;
	bool echo, close_on_end, paused;
	size_t n;
	peer *acc[64];
} server;

static void on_accept(sim_sock *s, void *ctx)
{
	server *sv = ctx;
	peer *p = peer_new(sv->w, sim_sock_host(s));
	p->s = s;
	p->id = sim_sock_id(s);
	p->open = true;
	p->echo = sv->echo;
	p->close_on_end = sv->close_on_end;
	p->paused = sv->paused;
	p->connect_at = sim_now(sv->w);
	sim_sock_set_ops(s, &peer_ops, p);
	if (sv->n < 64)
		sv->acc[sv->n++] = p;
}

static server *serve(sim_world *w, sim_host *h, uint16_t port, bool echo)
{
	server *sv = talloc(sizeof *sv);
	sv->w = w;
	sv->echo = echo;
	ck_assert_int_eq(sim_listen(h, port, on_accept, sv), 0);
	return sv;
}

/* The server side of a client's connection (same connection id). */
static peer *accepted(const server *sv, const peer *c)
{
	for (size_t i = 0; i < sv->n; i++)
		if (sv->acc[i]->id == c->id)
			return sv->acc[i];
	ck_abort_msg("connection c%llu was not accepted", (unsigned long long)c->id);
	return NULL;
}

static peer *client(sim_world *w, sim_host *from, sim_host *to, uint16_t port)
{
	peer *p = peer_new(w, from);
	p->s = sim_connect(from, to, port, &peer_ops, p);
	ck_assert_ptr_nonnull(p->s);
	p->id = sim_sock_id(p->s);
	return p;
}

/* Hosts a, b, x; collector servers on b and x; hooks on all three. */
typedef struct net {
	sim_world *w;
	sim_host *a, *b, *x;
	server *sv, *svx;
} net;

static net mknet(uint64_t seed, const sim_link *l, bool echo)
{
	net n;
	n.w = world_new(seed);
	if (l)
		sim_net_set_default(n.w, l);
	n.a = sim_host_add(n.w, "a");
	n.b = sim_host_add(n.w, "b");
	n.x = sim_host_add(n.w, "x");
	ck_assert_ptr_nonnull(n.a);
	ck_assert_ptr_nonnull(n.b);
	ck_assert_ptr_nonnull(n.x);
	sim_host_set_hooks(n.a, on_crash, on_restart, n.w);
	sim_host_set_hooks(n.b, on_crash, on_restart, n.w);
	sim_host_set_hooks(n.x, on_crash, on_restart, n.w);
	n.sv = serve(n.w, n.b, PORT, echo);
	n.svx = serve(n.w, n.x, PORT, echo);
	return n;
}

/* ---- reading the logs ---------------------------------------------------------------------- */

static const ev *nth(const peer *p, int kind, size_t i)
{
	for (size_t k = 0; k < p->nlog; k++)
		if (p->log[k].kind == kind && i-- == 0)
			return &p->log[k];
	return NULL;
}

/* When the byte at offset `off` of the received stream was read; -1 if never. */
static sim_us arrival_of(const peer *p, size_t off)
{
	size_t pos = 0;
	for (size_t k = 0; k < p->nlog; k++) {
		if (p->log[k].kind != EV_DATA)
			continue;
		if (off < pos + (size_t)p->log[k].v)
			return p->log[k].at;
		pos += (size_t)p->log[k].v;
	}
	return -1;
}

/* What `to` read is exactly what `from` wrote: nothing lost, added, or reordered. */
static void assert_stream(const peer *from, const peer *to)
{
	ck_assert(!from->overflow && !to->overflow);
	ck_assert_uint_eq(to->got_len, from->sent_len);
	ck_assert_msg(memcmp(to->got, from->sent, to->got_len) == 0, "the bytes differ");
}

/* `count` writes of 1..maxlen random bytes, `gap` apart from `start`. */
static void random_script(peer *c, uint64_t seed, const char *name, size_t count, sim_us start,
			  sim_us gap, size_t maxlen)
{
	sim_rng r;
	uint8_t buf[4096];
	ck_assert_uint_le(maxlen, sizeof buf);
	sim_rng_init(&r, seed, name);
	for (size_t i = 0; i < count; i++) {
		size_t len = 1 + (size_t)sim_rng_below(&r, maxlen);
		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)sim_rng_u64(&r);
		say(c, start + (sim_us)i * gap, buf, len);
	}
}

/* ---- baseline ---------------------------------------------------------------------------- */

START_TEST(test_baseline_in_order_at_latency)
{
	sim_link l = { .latency_us = L };
	net n = mknet(1, &l, false);
	peer *c = client(n.w, n.a, n.b, PORT);
	say(c, SIM_MS(100), "hello", 5);
	say(c, SIM_MS(200), " world", 6);
	close_at(c, SIM_MS(300));
	run_to(n.w, SIM_S(2));

	/* The handshake is one round trip: accepted after L, connected after 2L. */
	ck_assert(c->connect_seen);
	ck_assert_int_eq(c->connect_err, 0);
	ck_assert_int_eq(c->connect_at, 2 * L);
	ck_assert_uint_eq(n.sv->n, 1);
	peer *s = accepted(n.sv, c);
	ck_assert_int_eq(s->connect_at, L);

	/* Each write arrives exactly one latency after it was written; then EOF. */
	const ev *e0 = nth(s, EV_DATA, 0), *e1 = nth(s, EV_DATA, 1);
	ck_assert_ptr_nonnull(e0);
	ck_assert_ptr_nonnull(e1);
	ck_assert_int_eq(e0->at, SIM_MS(100) + L);
	ck_assert_int_eq(e0->v, 5);
	ck_assert_int_eq(e1->at, SIM_MS(200) + L);
	ck_assert_int_eq(e1->v, 6);
	ck_assert_uint_eq(s->nreads, 2);
	assert_stream(c, s);
	ck_assert_mem_eq(s->got, "hello world", 11);
	ck_assert(s->eof);
	ck_assert_int_eq(s->eof_at, SIM_MS(300) + L);
	ck_assert_int_eq(s->log[s->nlog - 1].kind, EV_EOF); /* after the data */
	ck_assert_int_eq(s->err, 0);
	uint8_t b[4];
	ck_assert_int_eq(sim_sock_read(s->s, b, sizeof b), 0); /* EOF stays EOF */
}
END_TEST

START_TEST(test_echo_round_trip)
{
	sim_link l = { .latency_us = L };
	net n = mknet(2, &l, true);
	peer *c = client(n.w, n.a, n.b, PORT);
	say(c, SIM_MS(100), "ping", 4);
	say(c, SIM_MS(150), "pong!", 5);
	run_to(n.w, SIM_S(1));
	peer *s = accepted(n.sv, c);
	assert_stream(c, s);
	assert_stream(s, c);
	ck_assert_mem_eq(c->got, "pingpong!", 9);
	ck_assert_int_eq(nth(c, EV_DATA, 0)->at, SIM_MS(100) + 2 * L);
	ck_assert_int_eq(nth(c, EV_DATA, 1)->at, SIM_MS(150) + 2 * L);
	ck_assert_int_eq(c->err, 0);
	ck_assert_int_eq(s->err, 0);
}
END_TEST

/* ---- latency and jitter --------------------------------------------------------------------- */

/* _i is the distribution. The header promises an extra delay "with mean about jitter_us". */
START_TEST(test_jitter_distributions)
{
	enum { N = 2000 };
	static const char *const dname[] = { "uniform", "normal", "pareto" };
	const sim_us J = SIM_MS(5), gap = SIM_MS(100);
	sim_link l = { .latency_us = L, .jitter_us = J, .jitter_dist = _i };
	net n = mknet(7, &l, false);
	peer *c = client(n.w, n.a, n.b, PORT);
	for (uint32_t i = 0; i < N; i++) {
		uint8_t rec[4] = { (uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24) };
		say(c, SIM_S(1) + (sim_us)i * gap, rec, sizeof rec);
	}
	run_to(n.w, SIM_S(1) + (N + 10) * gap);
	peer *s = accepted(n.sv, c);
	assert_stream(c, s); /* order preserved whatever the jitter */

	double sum = 0;
	sim_us min = SIM_FOREVER, max = 0;
	for (size_t i = 0; i < N; i++) {
		sim_us d = arrival_of(s, i * 4) - (SIM_S(1) + (sim_us)i * gap);
		if (d < min)
			min = d;
		if (d > max)
			max = d;
		sum += (double)d;
	}
	double mean_jitter = sum / N - (double)L;
	ck_assert_msg(min >= L, "%s: an arrival %lld us after its write, before the latency", dname[_i],
		      (long long)min);
	ck_assert_msg(max > L + J / 2, "%s: no jitter seen (max delay %lld)", dname[_i], (long long)max);
	/* Tolerance: the pareto tail (shape 2) makes its sample mean noisier. */
	double tol = _i == SIM_JITTER_PARETO ? 0.15 : 0.10;
	ck_assert_msg(fabs(mean_jitter - (double)J) <= tol * (double)J,
		      "%s jitter: mean extra delay %.0f us, want about jitter_us = %lld us", dname[_i],
		      mean_jitter, (long long)J);
}
END_TEST

/* ---- bandwidth ------------------------------------------------------------------------------ */

START_TEST(test_bandwidth_serialisation)
{
	static uint8_t big[10000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7);
	sim_link l = { .latency_us = L, .bandwidth_bps = 80000 };
	net n = mknet(5, &l, false);
	peer *c1 = client(n.w, n.a, n.b, PORT), *c2 = client(n.w, n.a, n.b, PORT);
	say(c1, SIM_S(1), big, 10);
	say(c2, SIM_S(3), big, sizeof big);
	run_to(n.w, SIM_S(10));
	peer *s1 = accepted(n.sv, c1), *s2 = accepted(n.sv, c2);
	assert_stream(c1, s1);
	assert_stream(c2, s2);
	sim_us d1 = s1->last_at - SIM_S(1), d2 = s2->last_at - SIM_S(3);
	/* 10 bytes at 80 kbit/s: 1 ms; 10 kB: 1 s. */
	ck_assert_int_eq(d1, L + SIM_MS(1));
	ck_assert_msg(llabs((long long)(d2 - d1 - SIM_MS(999))) <= SIM_MS(10),
		      "10 kB took %lld us longer than 10 B, want about 1 s", (long long)(d2 - d1));
}
END_TEST

/* The bandwidth belongs to the link (one direction of a path), so two connections over it
 * share it: 2 x 10 kB at 80 kbit/s need about 2 s, not 1. */
START_TEST(test_bandwidth_shared_by_connections)
{
	static uint8_t big[10000];
	sim_link l = { .latency_us = L, .bandwidth_bps = 80000 };
	net n = mknet(5, &l, false);
	peer *c1 = client(n.w, n.a, n.b, PORT), *c2 = client(n.w, n.a, n.b, PORT);
	say(c1, SIM_S(1), big, sizeof big);
	say(c2, SIM_S(1), big, sizeof big);
	run_to(n.w, SIM_S(10));
	peer *s1 = accepted(n.sv, c1), *s2 = accepted(n.sv, c2);
	assert_stream(c1, s1);
	assert_stream(c2, s2);
	sim_us last = s1->last_at > s2->last_at ? s1->last_at : s2->last_at;
	ck_assert_msg(last - SIM_S(1) >= SIM_MS(1990),
		      "20 kB over one 80 kbit/s link arrived in %lld us; the link's bandwidth is "
		      "per connection, not per link",
		      (long long)(last - SIM_S(1)));
}
END_TEST

/* ---- loss --------------------------------------------------------------------------------- */

static sim_us loss_run(double loss, peer **cp, peer **sp)
{
	sim_link l = { .latency_us = L };
	net n = mknet(3, &l, false);
	peer *c = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_MS(500));
	ck_assert_int_eq(c->connect_err, 0);
	sim_link lossy = l;
	lossy.loss = loss;
	sim_net_set_link(n.w, n.a, n.b, &lossy);
	random_script(c, 3, "test/loss", 100, SIM_S(1), SIM_MS(20), 64);
	run_to(n.w, SIM_S(600));
	*cp = c;
	*sp = accepted(n.sv, c);
	return (*sp)->last_at;
}

START_TEST(test_loss_delays_but_delivers)
{
	peer *c0, *s0, *c1, *s1;
	sim_us end0 = loss_run(0, &c0, &s0), end1 = loss_run(0.3, &c1, &s1);
	assert_stream(c0, s0);
	assert_stream(c1, s1); /* every byte, in order */
	ck_assert_uint_eq(c0->sent_len, c1->sent_len);
	ck_assert_int_gt(end1, end0); /* but later */
	size_t off = 0;
	sim_us worst = 0;
	for (size_t i = 0; i < c1->nsteps; i++) {
		sim_us d = arrival_of(s1, off) - c1->steps[i].at;
		ck_assert_int_ge(d, L);
		if (d > worst)
			worst = d;
		off += c1->steps[i].len;
	}
	ck_assert_int_ge(worst, L + SIM_MS(200)); /* at least one retransmission */
	ck_assert_int_eq(c1->err, 0);
	ck_assert_int_eq(s1->err, 0);
	ck_assert_int_eq(c1->werr, 0);
}
END_TEST

/* Everything lost: the sender aborts with ETIMEDOUT after the backoff; the receiver never
 * hears of it. */
static void check_abort(const sim_link *lossy, sim_us want)
{
	sim_link l = { .latency_us = L };
	net n = mknet(4, &l, false);
	peer *c = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_MS(500));
	sim_net_set_link(n.w, n.a, n.b, lossy);
	say(c, SIM_S(1), "x", 1);
	run_to(n.w, SIM_S(3600));
	ck_assert_int_eq(c->err, -ETIMEDOUT);
	ck_assert_int_eq(c->err_at, SIM_S(1) + want);
	ck_assert_int_eq(sim_sock_write(c->s, "y", 1), -ETIMEDOUT);
	peer *s = accepted(n.sv, c);
	uint8_t b[4];
	ck_assert_uint_eq(s->got_len, 0);
	ck_assert_int_eq(s->err, 0);
	ck_assert(!s->eof);
	ck_assert_int_eq(sim_sock_read(s->s, b, sizeof b), -EAGAIN);
	ck_assert(sim_sock_connected(s->s));
}

START_TEST(test_loss_total_aborts_after_backoff)
{
	/* Attempts at +0, +200, +600, +1400 ms: the third retransmission is lost too. */
	sim_link a = { .latency_us = L, .loss = 1.0, .retries = 3 };
	check_abort(&a, SIM_MS(200 + 400 + 800));
	/* The backoff is capped by rto_max_us. */
	sim_link b = { .latency_us = L, .loss = 1.0, .retries = 5, .rto_us = SIM_MS(100),
		       .rto_max_us = SIM_MS(300) };
	check_abort(&b, SIM_MS(100 + 200 + 300 + 300 + 300));
}
END_TEST

/* ---- slicing and coalescing ------------------------------------------------------------------ */

static void slice_run(uint64_t seed, const sim_link *l, peer **cp, peer **sp)
{
	net n = mknet(seed, l, false);
	peer *c = client(n.w, n.a, n.b, PORT);
	random_script(c, seed, "test/slices", 300, SIM_S(1), SIM_MS(5), 40);
	run_to(n.w, SIM_S(60));
	*cp = c;
	*sp = accepted(n.sv, c);
}

/* _i picks the seed. With a bandwidth limit the pieces leave one after another. */
START_TEST(test_slicing_keeps_the_bytes)
{
	uint64_t seed = 100 + (uint64_t)_i;
	peer *c, *s;
	sim_link bw = { .latency_us = L, .slice_max = 3, .bandwidth_bps = 1000000 };
	slice_run(seed, &bw, &c, &s);
	assert_stream(c, s);
	ck_assert_uint_le(s->max_read, 3);
	ck_assert_uint_gt(s->nreads, c->nsteps);

	/* With jitter the pieces also overtake each other in the network. */
	sim_link jit = { .latency_us = L, .slice_max = 3, .jitter_us = SIM_MS(2) };
	slice_run(seed, &jit, &c, &s);
	assert_stream(c, s);
	ck_assert_uint_gt(s->nreads, c->nsteps);
}
END_TEST

/* Slicing alone: "each write arrives in pieces of 1..slice_max bytes", so a receiver that
 * reads as data comes sees pieces, not whole writes. */
START_TEST(test_slicing_alone_arrives_in_pieces)
{
	peer *c, *s;
	sim_link l = { .latency_us = L, .slice_max = 3 };
	slice_run(42, &l, &c, &s);
	assert_stream(c, s);
	ck_assert_msg(s->max_read <= 3 && s->nreads > c->nsteps,
		      "slice_max 3: %zu reads for %zu writes, the largest %zu bytes", s->nreads, c->nsteps,
		      s->max_read);
}
END_TEST

START_TEST(test_coalescing_batches_writes)
{
	const sim_us G = SIM_MS(50);
	sim_link l = { .latency_us = L, .coalesce_us = G };
	net n = mknet(6, &l, false);
	peer *c = client(n.w, n.a, n.b, PORT);
	static const char *const parts[] = { "a", "bb", "ccc", "dddd", "eeeee" };
	for (int i = 0; i < 5; i++)
		say(c, SIM_S(1) + i * SIM_MS(5), parts[i], strlen(parts[i]));
	say(c, SIM_MS(1060), "f", 1);
	run_to(n.w, SIM_S(2));
	peer *s = accepted(n.sv, c);
	assert_stream(c, s);
	/* Arrivals at 1.010..1.030 s land on the 1.050 s grid line: five writes, one read. */
	ck_assert_uint_eq(s->nreads, 2);
	ck_assert_int_eq(nth(s, EV_DATA, 0)->at, SIM_MS(1050));
	ck_assert_int_eq(nth(s, EV_DATA, 0)->v, 15);
	ck_assert_int_eq(nth(s, EV_DATA, 1)->at, SIM_MS(1100));
}
END_TEST

/* ---- partitions ------------------------------------------------------------------------------ */

START_TEST(test_partition_twoway_heal)
{
	sim_link l = { .latency_us = L };
	net n = mknet(8, &l, false);
	peer *c = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_S(1));
	peer *s = accepted(n.sv, c);
	sim_net_partition(n.w, n.a, n.b, false);
	say(c, SIM_MS(1100), "abc", 3);
	say(s, SIM_MS(1200), "xyz", 3);
	run_to(n.w, SIM_S(2));
	ck_assert_uint_eq(s->got_len, 0);
	ck_assert_uint_eq(c->got_len, 0);
	sim_net_heal(n.w, n.a, n.b);
	run_to(n.w, SIM_S(30));
	assert_stream(c, s);
	assert_stream(s, c);
	ck_assert_int_gt(s->first_at, SIM_S(2));
	ck_assert_int_gt(c->first_at, SIM_S(2));
	ck_assert_int_eq(c->err, 0);
	ck_assert_int_eq(s->err, 0);
}
END_TEST

START_TEST(test_partition_twoway_no_heal)
{
	sim_link l = { .latency_us = L, .retries = 3 };
	net n = mknet(8, &l, false);
	peer *c = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_S(1));
	peer *s = accepted(n.sv, c);
	sim_net_partition(n.w, n.a, n.b, false);
	say(c, SIM_MS(1100), "abc", 3);
	run_to(n.w, SIM_S(3600));
	ck_assert_int_eq(c->err, -ETIMEDOUT);
	ck_assert_int_eq(c->err_at, SIM_MS(1100) + SIM_MS(1400));
	ck_assert_uint_eq(s->got_len, 0);
	ck_assert_int_eq(s->err, 0);
	ck_assert(!s->eof);
}
END_TEST

START_TEST(test_partition_oneway)
{
	/* Healed before the retry limit: a's bytes arrive after the heal. */
	sim_link l = { .latency_us = L };
	net n = mknet(9, &l, false);
	peer *c = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_S(1));
	peer *s = accepted(n.sv, c);
	sim_net_partition(n.w, n.a, n.b, true);
	say(c, SIM_MS(1100), "abc", 3);
	say(s, SIM_MS(1200), "xyz", 3);
	run_to(n.w, SIM_S(2));
	ck_assert_uint_eq(s->got_len, 0);
	assert_stream(s, c); /* b -> a still works, on time */
	ck_assert_int_eq(c->first_at, SIM_MS(1200) + L);
	sim_net_heal(n.w, n.a, n.b);
	run_to(n.w, SIM_S(30));
	assert_stream(c, s);
	ck_assert_int_gt(s->first_at, SIM_S(2));
	ck_assert_int_eq(c->err, 0);

	/* Not healed: a times out; b -> a worked until then. */
	sim_link r = { .latency_us = L, .retries = 3 };
	n = mknet(9, &r, false);
	c = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_S(1));
	s = accepted(n.sv, c);
	sim_net_partition(n.w, n.a, n.b, true);
	say(c, SIM_MS(1100), "abc", 3);
	say(s, SIM_MS(1200), "xyz", 3);
	run_to(n.w, SIM_S(3600));
	ck_assert_int_eq(c->err, -ETIMEDOUT);
	ck_assert_int_eq(c->err_at, SIM_MS(1100) + SIM_MS(1400));
	ck_assert_uint_eq(c->got_len, 3);
	ck_assert_int_eq(c->first_at, SIM_MS(1200) + L);
	ck_assert_uint_eq(s->got_len, 0);
}
END_TEST

/* The SYN gets through but every SYN-ACK is lost: the connecting side must still give up
 * (ETIMEDOUT), not wait forever. */
START_TEST(test_connect_oneway_reverse_times_out)
{
	sim_link l = { .latency_us = L };
	net n = mknet(10, &l, false);
	sim_net_partition(n.w, n.b, n.a, true);
	peer *c = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_S(3600));
	ck_assert_msg(c->connect_seen, "connect under a b -> a partition never completed nor failed");
	ck_assert_int_eq(c->connect_err, -ETIMEDOUT);
}
END_TEST

/* ---- clog ----------------------------------------------------------------------------------- */

START_TEST(test_clog_holds_then_releases)
{
	sim_link l = { .latency_us = L };
	net n = mknet(11, &l, false);
	peer *c = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_S(1));
	peer *s = accepted(n.sv, c);
	sim_net_clog(n.w, n.a, n.b);
	say(c, SIM_MS(1100), "one ", 4);
	say(c, SIM_MS(1200), "two ", 4);
	say(c, SIM_MS(1300), "three", 5);
	say(s, SIM_MS(1500), "back", 4); /* the other direction is not clogged */
	run_to(n.w, SIM_S(3));
	ck_assert_uint_eq(s->got_len, 0);
	ck_assert_int_eq(c->first_at, SIM_MS(1500) + L);
	sim_net_unclog(n.w, n.a, n.b);
	run_to(n.w, SIM_S(4));
	assert_stream(c, s);
	ck_assert_uint_eq(s->nreads, 1); /* all at once */
	ck_assert_int_eq(s->first_at, SIM_S(3));
	ck_assert_int_eq(c->err, 0);
	ck_assert_int_eq(s->err, 0);
}
END_TEST

/* ---- blackhole ------------------------------------------------------------------------------- */

START_TEST(test_blackhole_half_open)
{
	sim_link l = { .latency_us = L };
	net n = mknet(12, &l, false);
	sim_net_set_buffers(n.w, 4096, 4096);
	peer *c1 = client(n.w, n.a, n.b, PORT), *c2 = client(n.w, n.a, n.b, PORT),
	     *c3 = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_MS(500));
	peer *s1 = accepted(n.sv, c1), *s2 = accepted(n.sv, c2), *s3 = accepted(n.sv, c3);
	sim_net_blackhole(n.w, n.a, n.b, false, true);

	/* Writes succeed until the send buffer is full, then -EAGAIN. */
	uint8_t buf[1000];
	memset(buf, 'z', sizeof buf);
	size_t took = 0;
	long r = 0;
	for (int i = 0; i < 20; i++) {
		run_to(n.w, SIM_S(1) + i * SIM_MS(100));
		r = sim_sock_write(c1->s, buf, sizeof buf);
		if (r < 0)
			break;
		took += (size_t)r;
	}
	ck_assert_int_eq(r, -EAGAIN);
	ck_assert_uint_eq(took, 4096);
	say(s1, SIM_S(4), "back", 4); /* the other way vanishes too */
	close_at(c2, SIM_S(4));       /* no FIN arrives */
	abort_at(c3, SIM_S(4));       /* no RST arrives */
	run_to(n.w, SIM_S(5 * 3600));

	uint8_t b[16];
	ck_assert_uint_eq(s1->sent_len, 4);
	ck_assert_uint_eq(s1->got_len, 0);
	ck_assert_uint_eq(c1->got_len, 0);
	ck_assert_int_eq(sim_sock_read(s1->s, b, sizeof b), -EAGAIN);
	ck_assert_int_eq(sim_sock_read(c1->s, b, sizeof b), -EAGAIN);
	ck_assert_int_eq(sim_sock_write(c1->s, buf, sizeof buf), -EAGAIN); /* not ETIMEDOUT */
	ck_assert(sim_sock_connected(c1->s));
	ck_assert(sim_sock_connected(s1->s));
	ck_assert_int_eq(sim_sock_read(s2->s, b, sizeof b), -EAGAIN);
	ck_assert_int_eq(sim_sock_read(s3->s, b, sizeof b), -EAGAIN);
	ck_assert(!s2->eof && !s3->eof);
	ck_assert_int_eq(c1->err + s1->err + s2->err + s3->err, 0);
}
END_TEST

/* ---- reset, slow close, limit_data ----------------------------------------------------------- */

START_TEST(test_net_reset_both_ends)
{
	sim_link l = { .latency_us = L };
	net n = mknet(13, &l, false);
	peer *c1 = client(n.w, n.a, n.b, PORT), *c2 = client(n.w, n.b, n.a, PORT),
	     *c3 = client(n.w, n.a, n.x, PORT);
	server *sva = serve(n.w, n.a, PORT, false);
	run_to(n.w, SIM_S(1));
	peer *s1 = accepted(n.sv, c1), *s2 = accepted(sva, c2), *s3 = accepted(n.svx, c3);
	ck_assert_int_eq(sim_net_reset(n.w, n.a, n.b), 2);
	say(c3, SIM_MS(1500), "still", 5);
	run_to(n.w, SIM_S(2));
	peer *hit[] = { c1, s1, c2, s2 };
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(hit[i]->err, -ECONNRESET);
		ck_assert_int_eq(hit[i]->err_at, SIM_S(1));
	}
	ck_assert_int_eq(sim_sock_write(c1->s, "x", 1), -ECONNRESET);
	/* a <-> x is another pair: untouched. */
	assert_stream(c3, s3);
	ck_assert_int_eq(s3->first_at, SIM_MS(1500) + L);
	ck_assert_int_eq(c3->err + s3->err, 0);
}
END_TEST

START_TEST(test_sock_reset_both_ends)
{
	sim_link l = { .latency_us = L };
	net n = mknet(14, &l, false);
	peer *c = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_S(1));
	peer *s = accepted(n.sv, c);
	sim_sock_reset(s->s);
	run_to(n.w, SIM_S(2));
	ck_assert_int_eq(c->err, -ECONNRESET);
	ck_assert_int_eq(s->err, -ECONNRESET);
	ck_assert_int_eq(c->err_at, SIM_S(1));
	ck_assert_int_eq(s->err_at, SIM_S(1));
	/* The handle stays valid. */
	uint8_t b[4];
	ck_assert_int_eq(sim_sock_read(s->s, b, sizeof b), -ECONNRESET);
	ck_assert(!sim_sock_connected(s->s));
	sim_sock_reset(s->s); /* again: harmless */
	ck_assert_int_eq(sim_sock_read(c->s, b, sizeof b), -ECONNRESET);
}
END_TEST

START_TEST(test_slow_close)
{
	sim_link l = { .latency_us = L };
	sim_link slow = { .latency_us = L, .close_delay_us = SIM_MS(500) };
	net n = mknet(15, &l, false);
	sim_net_set_link(n.w, n.a, n.b, &slow);
	peer *c1 = client(n.w, n.a, n.b, PORT), *c2 = client(n.w, n.a, n.x, PORT);
	say(c1, SIM_S(1), "data", 4);
	close_at(c1, SIM_S(1));
	say(c2, SIM_S(1), "data", 4);
	close_at(c2, SIM_S(1));
	run_to(n.w, SIM_S(3));
	peer *s1 = accepted(n.sv, c1), *s2 = accepted(n.svx, c2);
	assert_stream(c1, s1);
	ck_assert_int_eq(s1->first_at, SIM_S(1) + L);
	ck_assert(s1->eof);
	ck_assert_int_eq(s1->eof_at, SIM_S(1) + SIM_MS(500) + L);
	ck_assert(s2->eof);
	ck_assert_int_eq(s2->eof_at, SIM_S(1) + L);
}
END_TEST

START_TEST(test_limit_data)
{
	uint8_t buf[250];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i + 1);
	sim_link l = { .latency_us = L };
	sim_link lim = { .latency_us = L, .limit_bytes = 100 };
	net n = mknet(16, &l, false);
	sim_net_set_link(n.w, n.a, n.b, &lim);
	peer *c1 = client(n.w, n.a, n.b, PORT), *c2 = client(n.w, n.a, n.b, PORT);
	say(c1, SIM_S(1), buf, 60);
	say(c1, SIM_MS(1100), buf + 60, 60);
	say(c2, SIM_S(2), buf, sizeof buf);
	run_to(n.w, SIM_S(5));
	peer *s1 = accepted(n.sv, c1), *s2 = accepted(n.sv, c2);
	peer *ss[] = { s1, s2 };
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(ss[i]->got_len, 100);
		ck_assert_mem_eq(ss[i]->got, buf, 100);
		ck_assert(ss[i]->eof);
		ck_assert_int_eq(ss[i]->log[ss[i]->nlog - 1].kind, EV_EOF);
		ck_assert_int_eq(ss[i]->err, 0);
	}
	ck_assert_int_eq(s1->eof_at, SIM_MS(1100) + L);
	ck_assert_int_eq(s2->eof_at, SIM_S(2) + L);
}
END_TEST

/* ---- connect failures ------------------------------------------------------------------------- */

START_TEST(test_connect_refused)
{
	sim_link l = { .latency_us = L };
	net n = mknet(17, &l, false);
	peer *c = client(n.w, n.a, n.b, 9);
	run_to(n.w, SIM_S(1));
	ck_assert(c->connect_seen);
	ck_assert_int_eq(c->connect_err, -ECONNREFUSED);
	ck_assert_int_eq(c->connect_at, 2 * L);
	ck_assert_uint_eq(n.sv->n, 0);
}
END_TEST

/* Linux gives up after 6 SYN retries (1+2+...+32 s, plus 64 s for the last one to time
 * out): accept either way of counting. */
START_TEST(test_connect_unreachable_times_out)
{
	sim_link l = { .latency_us = L };
	net n = mknet(18, &l, false);
	sim_net_partition(n.w, n.a, n.b, false);
	peer *c1 = client(n.w, n.a, n.b, PORT);
	sim_host_crash(n.x);
	peer *c2 = client(n.w, n.a, n.x, PORT);
	run_to(n.w, SIM_S(3600));
	peer *cs[] = { c1, c2 };
	for (int i = 0; i < 2; i++) {
		ck_assert(cs[i]->connect_seen);
		ck_assert_int_eq(cs[i]->connect_err, -ETIMEDOUT);
		ck_assert_int_ge(cs[i]->connect_at, SIM_S(63));
		ck_assert_int_le(cs[i]->connect_at, SIM_S(127) + 2 * L);
	}
	ck_assert_uint_eq(n.sv->n, 0);
}
END_TEST

/* ---- host crash ------------------------------------------------------------------------------ */

START_TEST(test_crash_and_restart)
{
	sim_link l = { .latency_us = L };
	net n = mknet(19, &l, true);
	peer *c = client(n.w, n.a, n.b, PORT);
	say(c, SIM_MS(100), "hi", 2);
	run_to(n.w, SIM_S(1));
	ck_assert_uint_eq(c->got_len, 2);
	peer *s = accepted(n.sv, c);

	sim_host_crash(n.b);
	ck_assert_int_eq(hk.crashes, 1);
	ck_assert_int_eq(hk.crash_at, SIM_S(1));
	ck_assert(!hk.up_in_crash);
	ck_assert(s->crashed); /* the hook ran: the app dropped its handle */
	ck_assert(!sim_host_up(n.b));

	/* No FIN, no RST: the peer sees nothing. */
	run_to(n.w, SIM_MS(1500));
	uint8_t b[8];
	ck_assert_int_eq(c->err, 0);
	ck_assert(!c->eof);
	ck_assert(sim_sock_connected(c->s));
	ck_assert_int_eq(sim_sock_read(c->s, b, sizeof b), -EAGAIN);

	sim_host_restart(n.b);
	ck_assert_int_eq(hk.restarts, 1);
	ck_assert_int_eq(hk.restart_at, SIM_MS(1500));
	ck_assert(hk.up_in_restart);
	ck_assert(sim_host_up(n.b));

	/* Listeners went with the crash. */
	peer *c2 = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_S(2));
	ck_assert_int_eq(c2->connect_err, -ECONNREFUSED);
	ck_assert_int_eq(c->err, 0); /* still nothing for the old peer */

	/* The old peer's next write meets the new host, which answers RST. */
	say(c, SIM_S(3), "after", 5);
	run_to(n.w, SIM_S(4));
	ck_assert_uint_eq(c->sent_len, 7); /* the write itself succeeded */
	ck_assert_int_eq(c->err, -ECONNRESET);
	ck_assert_int_eq(c->err_at, SIM_S(3) + 2 * L);
	ck_assert_int_eq(sim_listen(n.b, PORT, on_accept, n.sv), 0); /* the port is free */
	ck_assert_uint_eq(n.sv->n, 1);
}
END_TEST

START_TEST(test_crash_peer_writes_time_out)
{
	sim_link l = { .latency_us = L, .retries = 3 };
	net n = mknet(20, &l, false);
	peer *c = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_S(1));
	sim_host_crash(n.b);
	say(c, SIM_MS(1100), "anyone?", 7);
	run_to(n.w, SIM_S(3600));
	ck_assert_int_eq(c->err, -ETIMEDOUT);
	ck_assert_int_ge(c->err_at, SIM_MS(1100) + SIM_MS(1400));
	ck_assert_int_le(c->err_at, SIM_MS(1100) + SIM_MS(3000) + 8 * L);
	ck_assert_int_eq(hk.crashes, 1);
	ck_assert_int_eq(hk.restarts, 0);
}
END_TEST

/* Apps close their sockets inside callbacks (on a failed connect, on reset or EOF). The
 * handle is the app's until it closes it, so this must be safe (run under ASan). */
static peer *closing_client(net *n, uint16_t port)
{
	peer *c = peer_new(n->w, n->a);
	c->close_on_end = true;
	c->s = sim_connect(n->a, n->b, port, &peer_ops, c);
	c->id = sim_sock_id(c->s);
	return c;
}

START_TEST(test_close_inside_on_connect)
{
	sim_link l = { .latency_us = L };
	net n = mknet(21, &l, false);
	peer *c = closing_client(&n, 9);
	run_to(n.w, SIM_S(1));
	ck_assert_int_eq(c->connect_err, -ECONNREFUSED);
	ck_assert_ptr_null(c->s);
}
END_TEST

START_TEST(test_close_inside_on_readable)
{
	sim_link l = { .latency_us = L };
	net n = mknet(21, &l, false);
	n.sv->close_on_end = true;
	peer *c2 = closing_client(&n, PORT), *c3 = closing_client(&n, PORT);
	say(c3, SIM_MS(500), "bye", 3);
	close_at(c3, SIM_MS(500));
	run_to(n.w, SIM_S(1));
	peer *s2 = accepted(n.sv, c2), *s3 = accepted(n.sv, c3);
	ck_assert(s3->eof); /* closed on EOF */
	ck_assert_ptr_null(s3->s);
	ck_assert_int_eq(sim_net_reset(n.w, n.a, n.b), 1);
	run_to(n.w, SIM_S(2));
	ck_assert_int_eq(c2->err, -ECONNRESET);
	ck_assert_int_eq(s2->err, -ECONNRESET);
	ck_assert_ptr_null(c2->s);
	ck_assert_ptr_null(s2->s);
}
END_TEST

/* Buffers: a receiver that does not read stops the sender (no loss, no error); reading
 * again lets everything through. */
START_TEST(test_buffers_flow_control)
{
	static uint8_t buf[5000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	sim_link l = { .latency_us = L };
	net n = mknet(22, &l, false);
	sim_net_set_buffers(n.w, 1000, 2000);
	n.sv->paused = true;
	peer *c = client(n.w, n.a, n.b, PORT);
	say(c, SIM_S(1), buf, sizeof buf);
	run_to(n.w, SIM_S(2));
	peer *s = accepted(n.sv, c);
	ck_assert_uint_eq(sim_sock_unread(s->s), 2000);
	ck_assert_uint_eq(c->sent_len, 3000); /* 2000 in the receiver, 1000 in flight */
	s->paused = false;
	drain(s);
	run_to(n.w, SIM_S(4));
	assert_stream(c, s);
	ck_assert_uint_eq(s->got_len, sizeof buf);
	ck_assert_int_eq(c->err + s->err + c->werr, 0);
}
END_TEST

/* ---- virtual disk ------------------------------------------------------------------------------ */

static sim_host *disk_host(sim_world **wp, uint64_t seed)
{
	*wp = world_new(seed);
	sim_host *h = sim_host_add(*wp, "store");
	ck_assert_ptr_nonnull(h);
	return h;
}

static void crash_restart(sim_host *h)
{
	sim_host_crash(h);
	sim_host_restart(h);
}

START_TEST(test_disk_unsynced_lost)
{
	sim_world *w;
	sim_host *h = disk_host(&w, 1);
	sim_disk *d = sim_host_disk(h);
	uint8_t b[16];
	ck_assert_int_eq(sim_disk_append(d, "log", "hello", 5), 5);
	ck_assert_int_eq(sim_disk_read(d, "log", 0, b, sizeof b), 5); /* reads see it */
	ck_assert_mem_eq(b, "hello", 5);
	crash_restart(h);
	ck_assert_ptr_eq(sim_host_disk(h), d);
	long size = sim_disk_size(d, "log");
	ck_assert_msg(size == 0 || size == -ENOENT, "unsynced bytes survived a crash: size %ld", size);
	ck_assert_int_le(sim_disk_read(d, "log", 0, b, sizeof b), 0);
}
END_TEST

START_TEST(test_disk_fsync_survives)
{
	sim_world *w;
	sim_host *h = disk_host(&w, 1);
	sim_disk *d = sim_host_disk(h);
	uint8_t b[16];
	ck_assert_int_eq(sim_disk_append(d, "log", "abc", 3), 3);
	ck_assert_int_eq(sim_disk_fsync(d, "log"), 0);
	ck_assert_int_eq(sim_disk_append(d, "log", "def", 3), 3);
	ck_assert_int_eq(sim_disk_write(d, "meta", 0, "0123456789", 10), 10);
	ck_assert_int_eq(sim_disk_fsync(d, "meta"), 0);
	ck_assert_int_eq(sim_disk_write(d, "meta", 2, "XY", 2), 2); /* overwrite, unsynced */
	ck_assert_int_eq(sim_disk_truncate(d, "meta", 4), 0);        /* shrink, unsynced */
	ck_assert_int_eq(sim_disk_size(d, "meta"), 4);
	crash_restart(h);
	ck_assert_int_eq(sim_disk_size(d, "log"), 3);
	ck_assert_int_eq(sim_disk_read(d, "log", 0, b, sizeof b), 3);
	ck_assert_mem_eq(b, "abc", 3);
	ck_assert_int_eq(sim_disk_read(d, "meta", 0, b, sizeof b), 10);
	ck_assert_mem_eq(b, "0123456789", 10);
	/* Reads at an offset, and past the end. */
	ck_assert_int_eq(sim_disk_read(d, "meta", 8, b, sizeof b), 2);
	ck_assert_mem_eq(b, "89", 2);
	ck_assert_int_eq(sim_disk_read(d, "meta", 10, b, sizeof b), 0);
}
END_TEST

/* Torn writes: a crash keeps a prefix of the unsynced appended tail, of random length. */
START_TEST(test_disk_torn_prefix)
{
	enum { SYNCED = 100, TAIL = 1000, SEEDS = 16 };
	static uint8_t data[SYNCED + TAIL], back[SYNCED + TAIL + 1];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	int strictly = 0;
	long first = -1;
	bool varied = false;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		sim_world *w;
		sim_host *h = disk_host(&w, seed);
		sim_disk *d = sim_host_disk(h);
		sim_disk_set_torn(d, true);
		ck_assert_int_eq(sim_disk_append(d, "wal", data, SYNCED), SYNCED);
		ck_assert_int_eq(sim_disk_fsync(d, "wal"), 0);
		ck_assert_int_eq(sim_disk_append(d, "wal", data + SYNCED, TAIL), TAIL);
		crash_restart(h);
		long kept = sim_disk_size(d, "wal");
		ck_assert_int_ge(kept, SYNCED);
		ck_assert_int_le(kept, SYNCED + TAIL);
		ck_assert_int_eq(sim_disk_read(d, "wal", 0, back, sizeof back), kept);
		ck_assert_mem_eq(back, data, (size_t)kept);
		if (kept > SYNCED && kept < SYNCED + TAIL)
			strictly++;
		if (first < 0)
			first = kept;
		else if (kept != first)
			varied = true;
		world_drop(w);
	}
	ck_assert_int_gt(strictly, 0);
	ck_assert(varied);

	/* An unsynced change that is not an append is not torn: back to what was durable. */
	sim_world *w;
	sim_host *h = disk_host(&w, 3);
	sim_disk *d = sim_host_disk(h);
	sim_disk_set_torn(d, true);
	ck_assert_int_eq(sim_disk_write(d, "f", 0, "AAAA", 4), 4);
	ck_assert_int_eq(sim_disk_fsync(d, "f"), 0);
	ck_assert_int_eq(sim_disk_write(d, "f", 0, "BBBBBB", 6), 6);
	crash_restart(h);
	ck_assert_int_eq(sim_disk_read(d, "f", 0, back, sizeof back), 4);
	ck_assert_mem_eq(back, "AAAA", 4);
}
END_TEST

START_TEST(test_disk_names)
{
	sim_world *w;
	sim_host *h = disk_host(&w, 1);
	sim_disk *d = sim_host_disk(h);
	uint8_t b[16];
	/* Missing files. */
	ck_assert(!sim_disk_exists(d, "nope"));
	ck_assert_int_eq(sim_disk_read(d, "nope", 0, b, sizeof b), -ENOENT);
	ck_assert_int_eq(sim_disk_size(d, "nope"), -ENOENT);
	ck_assert_int_eq(sim_disk_fsync(d, "nope"), -ENOENT);
	ck_assert_int_eq(sim_disk_truncate(d, "nope", 0), -ENOENT);
	ck_assert_int_eq(sim_disk_remove(d, "nope"), -ENOENT);
	ck_assert_int_eq(sim_disk_rename(d, "nope", "other"), -ENOENT);

	/* Rename replaces the target, and is durable at once (the data only as far as synced). */
	ck_assert_int_eq(sim_disk_write(d, "tmp", 0, "new", 3), 3);
	ck_assert_int_eq(sim_disk_fsync(d, "tmp"), 0);
	ck_assert_int_eq(sim_disk_write(d, "state", 0, "old!", 4), 4);
	ck_assert_int_eq(sim_disk_fsync(d, "state"), 0);
	ck_assert_int_eq(sim_disk_rename(d, "tmp", "state"), 0);
	ck_assert(!sim_disk_exists(d, "tmp"));
	ck_assert_int_eq(sim_disk_read(d, "state", 0, b, sizeof b), 3);
	ck_assert_mem_eq(b, "new", 3);
	ck_assert_int_eq(sim_disk_write(d, "gone", 0, "x", 1), 1);
	ck_assert_int_eq(sim_disk_fsync(d, "gone"), 0);
	ck_assert_int_eq(sim_disk_remove(d, "gone"), 0);
	ck_assert(!sim_disk_exists(d, "gone"));
	ck_assert_int_eq(sim_disk_read(d, "gone", 0, b, sizeof b), -ENOENT);
	crash_restart(h);
	ck_assert(!sim_disk_exists(d, "tmp"));
	ck_assert(!sim_disk_exists(d, "gone"));
	ck_assert_int_eq(sim_disk_read(d, "state", 0, b, sizeof b), 3);
	ck_assert_mem_eq(b, "new", 3);
}
END_TEST

/* A crashed host does no I/O: every call fails with EIO and changes nothing. The calls
 * are all made before asserting, so one report names every call that did not fail. */
START_TEST(test_disk_down_is_eio)
{
	sim_world *w;
	sim_host *h = disk_host(&w, 1);
	sim_disk *d = sim_host_disk(h);
	uint8_t b[16];
	ck_assert_int_eq(sim_disk_write(d, "f", 0, "abc", 3), 3);
	ck_assert_int_eq(sim_disk_fsync(d, "f"), 0);
	ck_assert_int_eq(sim_disk_write(d, "h", 0, "keep", 4), 4);
	ck_assert_int_eq(sim_disk_fsync(d, "h"), 0);
	sim_host_crash(h);
	struct {
		const char *call;
		long rc;
	} r[] = {
		{ "write", sim_disk_write(d, "f", 0, "x", 1) },
		{ "append", sim_disk_append(d, "f", "x", 1) },
		{ "read", sim_disk_read(d, "f", 0, b, sizeof b) },
		{ "fsync", sim_disk_fsync(d, "f") },
		{ "truncate", sim_disk_truncate(d, "f", 0) },
		{ "write(new)", sim_disk_write(d, "new", 0, "x", 1) },
		{ "size", sim_disk_size(d, "f") },
		{ "rename", sim_disk_rename(d, "f", "g") },
		{ "remove", sim_disk_remove(d, "h") },
	};
	char bad[256] = "";
	for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
		if (r[i].rc != -EIO) {
			size_t n = strlen(bad);
			snprintf(bad + n, sizeof bad - n, " %s=%ld", r[i].call, r[i].rc);
		}
	}
	sim_host_restart(h);
	ck_assert_msg(bad[0] == 0, "calls on a crashed host that did not fail with EIO:%s", bad);
	ck_assert(!sim_disk_exists(d, "new"));
	ck_assert(!sim_disk_exists(d, "g"));
	ck_assert(sim_disk_exists(d, "h"));
	ck_assert_int_eq(sim_disk_read(d, "f", 0, b, sizeof b), 3);
	ck_assert_mem_eq(b, "abc", 3);
}
END_TEST

/* ---- host clocks -------------------------------------------------------------------------- */

typedef struct stamp {
	sim_timer t;
	sim_host *h;
	sim_us global, local;
	int fired;
} stamp;

static void stamp_fire(sim_world *w, sim_timer *t)
{
	stamp *s = t->arg;
	s->global = sim_now(w);
	s->local = sim_host_now(s->h);
	s->fired++;
}

static void stamp_init(stamp *s, sim_host *h)
{
	memset(s, 0, sizeof *s);
	s->h = h;
	sim_timer_init(&s->t, stamp_fire, s);
}

START_TEST(test_clock_drift)
{
	sim_world *w = world_new(1);
	sim_host *fast = sim_host_add(w, "fast"), *slow = sim_host_add(w, "slow"),
		 *plain = sim_host_add(w, "plain");
	sim_host_set_drift(fast, 1000);
	sim_host_set_drift(slow, -1000);
	stamp sf, ss, sp;
	stamp_init(&sf, fast);
	stamp_init(&ss, slow);
	stamp_init(&sp, plain);
	sim_host_timer_after(fast, &sf.t, SIM_S(10));
	sim_host_timer_after(slow, &ss.t, SIM_S(10));
	sim_host_timer_after(plain, &sp.t, SIM_S(10));
	run_to(w, SIM_S(20));
	/* Ten local seconds pass in 10/1.001 s on the fast clock, 10/0.999 s on the slow. */
	ck_assert_int_eq(sf.global, 9990010);
	ck_assert_int_eq(ss.global, 10010010);
	ck_assert_int_eq(sp.global, SIM_S(10));
	ck_assert_int_eq(sf.local, SIM_S(10));
	ck_assert_int_eq(sim_host_now(fast), 20020000);
	ck_assert_int_eq(sim_host_now(slow), 19980000);
	ck_assert_int_eq(sim_host_now(plain), SIM_S(20));
	ck_assert_int_eq(sim_now(w), SIM_S(20));
}
END_TEST

START_TEST(test_clock_jump)
{
	sim_world *w = world_new(1);
	sim_host *h = sim_host_add(w, "h"), *o = sim_host_add(w, "o");
	stamp st;
	stamp_init(&st, h);
	sim_host_timer_after(h, &st.t, SIM_S(2));
	run_to(w, SIM_S(1));
	sim_host_jump(h, SIM_S(5));
	ck_assert_int_eq(sim_host_now(h), SIM_S(6));
	ck_assert_int_eq(sim_now(w), SIM_S(1));
	ck_assert_int_eq(sim_host_now(o), SIM_S(1));
	run_to(w, SIM_S(3));
	/* Timers run on elapsed time: the jump does not move them. */
	ck_assert_int_eq(st.fired, 1);
	ck_assert_int_eq(st.global, SIM_S(2));
	ck_assert_int_eq(st.local, SIM_S(7));
	sim_host_jump(h, -SIM_S(10));
	ck_assert_int_eq(sim_host_now(h), -SIM_S(2));
}
END_TEST

/* ---- scheduled faults ----------------------------------------------------------------------- */

/* k connected clients a -> b, each with its server side; the clock at 500 ms. */
static net probes(uint64_t seed, peer **c, peer **s, int k)
{
	sim_link l = { .latency_us = L };
	net n = mknet(seed, &l, false);
	for (int i = 0; i < k; i++)
		c[i] = client(n.w, n.a, n.b, PORT);
	run_to(n.w, SIM_MS(500));
	for (int i = 0; i < k; i++) {
		ck_assert_int_eq(c[i]->connect_err, 0);
		s[i] = accepted(n.sv, c[i]);
	}
	return n;
}

static void schedule(net *n, int kind, sim_us at, sim_us dur, sim_host *a, sim_host *b, double v)
{
	sim_fault f = { .kind = kind, .at = at, .duration = dur, .a = a, .b = b, .value = v };
	ck_assert_int_eq(sim_fault_schedule(n->w, &f), 0);
}

START_TEST(test_fault_schedule_partition)
{
	peer *c[5], *s[5];
	net n = probes(30, c, s, 5);
	schedule(&n, SIM_FAULT_PARTITION, SIM_S(1), SIM_S(2), n.a, n.b, 0);
	say(c[0], SIM_MS(999), "0", 1);
	say(c[1], SIM_MS(1001), "1", 1);
	say(c[2], SIM_MS(2999), "2", 1);
	say(c[3], SIM_MS(3001), "3", 1);
	say(s[4], SIM_S(2), "4", 1);
	run_to(n.w, SIM_S(60));
	ck_assert_int_eq(s[0]->first_at, SIM_MS(999) + L);
	ck_assert_int_gt(s[1]->first_at, SIM_S(3));
	ck_assert_int_gt(s[2]->first_at, SIM_S(3));
	ck_assert_int_eq(s[3]->first_at, SIM_MS(3001) + L);
	ck_assert_int_gt(c[4]->first_at, SIM_S(3));
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(c[i]->err + s[i]->err, 0);
}
END_TEST

START_TEST(test_fault_schedule_partition_oneway)
{
	peer *c[3], *s[3];
	net n = probes(31, c, s, 3);
	schedule(&n, SIM_FAULT_PARTITION_ONEWAY, SIM_S(1), SIM_S(2), n.a, n.b, 0);
	say(c[0], SIM_S(2), "0", 1);
	say(s[1], SIM_S(2), "1", 1);
	say(c[2], SIM_MS(3001), "2", 1);
	run_to(n.w, SIM_S(60));
	ck_assert_int_gt(s[0]->first_at, SIM_S(3));
	ck_assert_int_eq(c[1]->first_at, SIM_S(2) + L);
	ck_assert_int_eq(s[2]->first_at, SIM_MS(3001) + L);
}
END_TEST

START_TEST(test_fault_schedule_clog)
{
	peer *c[4], *s[4];
	net n = probes(32, c, s, 4);
	schedule(&n, SIM_FAULT_CLOG, SIM_S(1), SIM_S(2), n.a, n.b, 0);
	say(c[0], SIM_MS(1500), "0", 1);
	say(c[0], SIM_MS(2500), "00", 2);
	say(c[1], SIM_MS(2500), "1", 1);
	say(s[2], SIM_S(2), "2", 1);
	say(c[3], SIM_MS(3001), "3", 1);
	run_to(n.w, SIM_S(60));
	assert_stream(c[0], s[0]);
	ck_assert_int_eq(s[0]->first_at, SIM_S(3));
	ck_assert_uint_eq(s[0]->nreads, 1);
	ck_assert_int_eq(s[1]->first_at, SIM_S(3));
	ck_assert_int_eq(c[2]->first_at, SIM_S(2) + L);
	ck_assert_int_eq(s[3]->first_at, SIM_MS(3001) + L);
}
END_TEST

START_TEST(test_fault_schedule_blackhole)
{
	peer *c[4], *s[4];
	net n = probes(33, c, s, 4);
	schedule(&n, SIM_FAULT_BLACKHOLE, SIM_S(1), SIM_S(2), n.a, n.b, 0);
	say(c[0], SIM_MS(1500), "0", 1);
	say(s[1], SIM_S(2), "1", 1);
	say(c[2], SIM_MS(3001), "2", 1);
	say(c[3], SIM_MS(999), "3", 1);
	run_to(n.w, SIM_S(3600));
	/* Bytes written into the blackhole are retried quietly and arrive only after it is
	 * lifted at 3 s, with no error on either side. */
	ck_assert_uint_eq(s[0]->got_len, 1);
	ck_assert_int_ge(s[0]->first_at, SIM_S(3));
	ck_assert_uint_eq(c[1]->got_len, 1);
	ck_assert_int_ge(c[1]->first_at, SIM_S(3));
	ck_assert_int_eq(s[2]->first_at, SIM_MS(3001) + L);
	ck_assert_int_eq(s[3]->first_at, SIM_MS(999) + L);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(c[i]->err + s[i]->err, 0);
		ck_assert(!c[i]->eof && !s[i]->eof);
	}
}
END_TEST

START_TEST(test_fault_schedule_reset)
{
	peer *c[2], *s[2];
	net n = probes(34, c, s, 2);
	peer *cx = client(n.w, n.a, n.x, PORT);
	schedule(&n, SIM_FAULT_RESET, SIM_S(1), 0, n.a, n.b, 0);
	say(c[1], SIM_MS(900), "early", 5);
	say(cx, SIM_MS(1500), "later", 5);
	run_to(n.w, SIM_S(5));
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(c[i]->err, -ECONNRESET);
		ck_assert_int_eq(s[i]->err, -ECONNRESET);
		ck_assert_int_eq(c[i]->err_at, SIM_S(1));
		ck_assert_int_eq(s[i]->err_at, SIM_S(1));
	}
	ck_assert_int_eq(s[1]->first_at, SIM_MS(900) + L);
	peer *sx = accepted(n.svx, cx);
	assert_stream(cx, sx);
	ck_assert_int_eq(cx->err, 0);
}
END_TEST

START_TEST(test_fault_schedule_crash)
{
	peer *c[1], *s[1];
	net n = probes(35, c, s, 1);
	schedule(&n, SIM_FAULT_CRASH, SIM_S(1), SIM_S(2), n.b, NULL, 0);
	run_to(n.w, SIM_S(2));
	ck_assert_int_eq(hk.crashes, 1);
	ck_assert_int_eq(hk.crash_at, SIM_S(1));
	ck_assert(!sim_host_up(n.b));
	ck_assert(s[0]->crashed);
	ck_assert_int_eq(hk.restarts, 0);
	run_to(n.w, SIM_MS(3500));
	ck_assert_int_eq(hk.restarts, 1);
	ck_assert_int_eq(hk.restart_at, SIM_S(3));
	ck_assert(sim_host_up(n.b));
	ck_assert_int_eq(c[0]->err, 0); /* the peer learnt nothing */
}
END_TEST

START_TEST(test_fault_schedule_clock)
{
	sim_world *w = world_new(36);
	net n = { .w = w };
	n.a = sim_host_add(w, "a");
	n.b = sim_host_add(w, "b");
	schedule(&n, SIM_FAULT_DRIFT, SIM_S(1), SIM_S(2), n.a, NULL, 1000);
	schedule(&n, SIM_FAULT_JUMP, SIM_S(1), 0, n.b, NULL, 5e6);
	run_to(w, SIM_MS(500));
	ck_assert_int_eq(sim_host_now(n.a), SIM_MS(500));
	ck_assert_int_eq(sim_host_now(n.b), SIM_MS(500));
	run_to(w, SIM_S(2));
	ck_assert_int_eq(sim_host_now(n.a), SIM_S(2) + 1000); /* 1 s at 1.001 */
	ck_assert_int_eq(sim_host_now(n.b), SIM_S(7));
	run_to(w, SIM_S(5));
	ck_assert_int_eq(sim_host_now(n.a), SIM_S(5) + 2000); /* drift ended at 3 s */
	ck_assert_int_eq(sim_host_now(n.b), SIM_S(10));
}
END_TEST

START_TEST(test_fault_schedule_rejects_and_names)
{
	sim_world *w = world_new(1);
	sim_host *a = sim_host_add(w, "a"), *b = sim_host_add(w, "b");
	sim_fault f = { .kind = SIM_FAULT_PARTITION, .at = 1, .a = a };
	ck_assert_int_eq(sim_fault_schedule(w, &f), -EINVAL); /* a pair needs b */
	f.kind = SIM_FAULT_RESET;
	ck_assert_int_eq(sim_fault_schedule(w, &f), -EINVAL);
	f.kind = 0;
	f.b = b;
	ck_assert_int_eq(sim_fault_schedule(w, &f), -EINVAL);
	f.kind = SIM_FAULT_KINDS;
	ck_assert_int_eq(sim_fault_schedule(w, &f), -EINVAL);
	f.kind = SIM_FAULT_CRASH;
	f.a = NULL;
	ck_assert_int_eq(sim_fault_schedule(w, &f), -EINVAL);
	f.a = a;
	f.b = NULL;
	ck_assert_int_eq(sim_fault_schedule(w, &f), 0);
	const char *const *names = sim_fault_kind_names();
	for (int k = 1; k < SIM_FAULT_KINDS; k++) {
		ck_assert_str_ne(sim_fault_name(k), "?");
		ck_assert_int_eq(sim_fault_kind_parse(sim_fault_name(k)), k);
		ck_assert_str_eq(names[k - 1], sim_fault_name(k));
	}
	ck_assert_ptr_null(names[SIM_FAULT_KINDS - 1]);
	ck_assert_int_eq(sim_fault_kind_parse("nonsense"), 0);
	ck_assert_str_eq(sim_fault_name(0), "?");
}
END_TEST

/* ---- faults drawn from the seed -------------------------------------------------------------- */

static char *draw_trace(uint64_t seed, const sim_fault_rates *r, int *count)
{
	sim_world *w = world_new(seed);
	sim_host *h[4];
	static const char *const names[] = { "h0", "h1", "h2", "h3" };
	for (int i = 0; i < 4; i++)
		h[i] = sim_host_add(w, names[i]);
	sim_trace_record(w, true, NULL, NULL);
	*count = sim_fault_draw(w, r, h, 4, 0, SIM_S(1800));
	run_to(w, SIM_S(7200));
	size_t len = 0;
	const char *t = sim_trace_text(w, &len);
	char *copy = talloc(len + 1);
	if (len)
		memcpy(copy, t, len);
	world_drop(w);
	return copy;
}

/* The lines of `text` that contain any of `pats`. */
static char *grep(const char *text, const char *const *pats, size_t npats)
{
	char *out = talloc(strlen(text) + 1), *o = out;
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p + 1) : strlen(p);
		char line[1024];
		size_t m = n < sizeof line - 1 ? n : sizeof line - 1;
		memcpy(line, p, m);
		line[m] = 0;
		for (size_t i = 0; i < npats; i++) {
			if (strstr(line, pats[i])) {
				memcpy(o, p, n);
				o += n;
				break;
			}
		}
		p += n;
	}
	*o = 0;
	return out;
}

static sim_fault_rates rates_for(const int *kinds, size_t nk)
{
	sim_fault_rates r;
	memset(&r, 0, sizeof r);
	for (size_t i = 0; i < nk; i++) {
		int k = kinds[i];
		r.per_hour[k] = 20;
		if (k != SIM_FAULT_RESET && k != SIM_FAULT_JUMP)
			r.mean_duration_us[k] = SIM_S(60);
	}
	r.value[SIM_FAULT_DRIFT] = 100;
	r.value[SIM_FAULT_JUMP] = 1e6;
	return r;
}

START_TEST(test_fault_draw_is_seeded)
{
	static const int all[] = { SIM_FAULT_PARTITION, SIM_FAULT_PARTITION_ONEWAY, SIM_FAULT_CLOG,
				   SIM_FAULT_BLACKHOLE, SIM_FAULT_RESET, SIM_FAULT_CRASH,
				   SIM_FAULT_DRIFT, SIM_FAULT_JUMP };
	/* Everything but partition_oneway, whose heals look like a partition's. */
	static const int most[] = { SIM_FAULT_PARTITION, SIM_FAULT_CLOG, SIM_FAULT_BLACKHOLE,
				    SIM_FAULT_RESET, SIM_FAULT_CRASH, SIM_FAULT_DRIFT, SIM_FAULT_JUMP };
	static const int part[] = { SIM_FAULT_PARTITION }, crash[] = { SIM_FAULT_CRASH };
	sim_fault_rates ra = rates_for(all, 8), rm = rates_for(most, 7), rp = rates_for(part, 1),
			rc = rates_for(crash, 1);
	int n1, n2, n3, nm, np, nc;
	char *t1 = draw_trace(11, &ra, &n1), *t2 = draw_trace(11, &ra, &n2), *t3 = draw_trace(12, &ra, &n3);
	ck_assert_int_gt(n1, 8);
	ck_assert_int_eq(n1, n2);
	ck_assert_str_eq(t1, t2);          /* same seed, same schedule */
	ck_assert_str_ne(t1, t3);          /* another seed, another one */

	char *tm = draw_trace(11, &rm, &nm), *tp = draw_trace(11, &rp, &np), *tc = draw_trace(11, &rc, &nc);
	static const char *const ppat[] = { " fault partition ", " fault heal " };
	static const char *const cpat[] = { " fault crash", " fault restart" };
	char *pm = grep(tm, ppat, 2), *pp = grep(tp, ppat, 2);
	char *cm = grep(tm, cpat, 2), *cc = grep(tc, cpat, 2);
	ck_assert_int_gt(np, 1);
	ck_assert_int_gt(nc, 1);
	ck_assert_int_gt(strlen(pp), 0);
	ck_assert_int_gt(strlen(cc), 0);
	/* Enabling other kinds does not move the partitions or the crashes. */
	ck_assert_str_eq(pm, pp);
	ck_assert_str_eq(cm, cc);
	ck_assert_int_gt(nm, np + nc);
}
END_TEST

/* ---- determinism: a busy multi-connection workload with every fault ------------------------ */

#define WL_NHOST 4
#define WL_NCLI 20
#define WL_NSLOT 256
#define WL_PORT 7

enum { WL_IDLE = 0, WL_CONNECTING, WL_OPEN, WL_DEAD };

typedef struct wl wl;

typedef struct wl_cli {
	wl *x;
	sim_host *h;
	sim_sock *s;
	int state;
	sim_us since;
	sim_rng rng;
	sim_timer t;
} wl_cli;

typedef struct wl_slot {
	wl *x;
	sim_host *h;
	sim_sock *s;
	bool used;
	sim_timer t;
} wl_slot;

typedef struct wl_result {
	uint64_t hash, lines, steps, rx, tx, resets, timeouts, refused, eofs, crashes, no_slot;
	int faults;
} wl_result;

struct wl {
	sim_world *w;
	sim_host *hosts[WL_NHOST];
	wl_cli cli[WL_NCLI];
	wl_slot slot[WL_NSLOT];
	wl_result r;
};

/* Servers close from a timer, not inside their callback (that is tested on its own). */
static void wl_slot_close(sim_world *w, sim_timer *t)
{
	wl_slot *sl = t->arg;
	(void)w;
	if (sl->s)
		sim_sock_close(sl->s);
	sl->s = NULL;
	sl->used = false;
}

static void wl_srv_readable(sim_sock *s, void *ctx)
{
	wl_slot *sl = ctx;
	uint8_t buf[2048];
	for (;;) {
		long n = sim_sock_read(s, buf, sizeof buf);
		if (n > 0) {
			sl->x->r.rx += (uint64_t)n;
			sim_sock_write(s, buf, (size_t)n); /* echo what fits */
			continue;
		}
		if (n != -EAGAIN)
			sim_timer_arm(sl->x->w, &sl->t, sim_now(sl->x->w));
		break;
	}
}

static const sim_sock_ops wl_srv_ops = { NULL, wl_srv_readable, NULL };

static void wl_accept(sim_sock *s, void *ctx)
{
	wl *x = ctx;
	for (size_t i = 0; i < WL_NSLOT; i++) {
		wl_slot *sl = &x->slot[i];
		if (!sl->used) {
			sl->used = true;
			sl->s = s;
			sl->h = sim_sock_host(s);
			sim_sock_set_ops(s, &wl_srv_ops, sl);
			return;
		}
	}
	x->r.no_slot++;
}

static void wl_cli_connect(sim_sock *s, int err, void *ctx)
{
	wl_cli *k = ctx;
	(void)s;
	if (err == -ECONNREFUSED)
		k->x->r.refused++;
	else if (err == -ETIMEDOUT)
		k->x->r.timeouts++;
	k->state = err ? WL_DEAD : WL_OPEN;
}

static void wl_cli_readable(sim_sock *s, void *ctx)
{
	wl_cli *k = ctx;
	uint8_t buf[2048];
	for (;;) {
		long n = sim_sock_read(s, buf, sizeof buf);
		if (n > 0) {
			k->x->r.rx += (uint64_t)n;
			continue;
		}
		if (n == 0)
			k->x->r.eofs++;
		else if (n == -ECONNRESET)
			k->x->r.resets++;
		else if (n == -ETIMEDOUT)
			k->x->r.timeouts++;
		if (n != -EAGAIN)
			k->state = WL_DEAD;
		break;
	}
}

static const sim_sock_ops wl_cli_ops = { wl_cli_connect, wl_cli_readable, NULL };

static void wl_cli_tick(sim_world *w, sim_timer *t)
{
	wl_cli *k = t->arg;
	wl *x = k->x;
	sim_us now = sim_now(w);
	if (sim_host_up(k->h)) {
		switch (k->state) {
		case WL_IDLE: {
			sim_host *to = x->hosts[0];
			if (!sim_rng_bernoulli(&k->rng, 0.7))
				to = x->hosts[1 + sim_rng_below(&k->rng, WL_NHOST - 1)];
			if (to == k->h)
				to = x->hosts[0];
			k->s = sim_connect(k->h, to, WL_PORT, &wl_cli_ops, k);
			k->state = WL_CONNECTING;
			k->since = now;
			break;
		}
		case WL_CONNECTING:
			if (now - k->since > SIM_S(5)) { /* a blackholed SYN never answers */
				sim_sock_abort(k->s);
				k->s = NULL;
				k->state = WL_IDLE;
			}
			break;
		case WL_OPEN: {
			double u = sim_rng_unit(&k->rng);
			if (u < 0.03) {
				sim_sock_close(k->s);
			} else if (u < 0.04) {
				sim_sock_abort(k->s);
			} else {
				uint8_t buf[300];
				size_t len = 1 + (size_t)sim_rng_below(&k->rng, sizeof buf);
				for (size_t i = 0; i < len; i++)
					buf[i] = (uint8_t)sim_rng_u64(&k->rng);
				long r = sim_sock_write(k->s, buf, len);
				if (r > 0)
					x->r.tx += (uint64_t)r;
				break;
			}
			k->s = NULL;
			k->state = WL_IDLE;
			break;
		}
		default:
			sim_sock_close(k->s);
			k->s = NULL;
			k->state = WL_IDLE;
			break;
		}
	}
	sim_host_timer_after(k->h, &k->t, 1 + (sim_us)sim_rng_exponential(&k->rng, 300000.0));
}

static void wl_crash(sim_host *h, void *ctx)
{
	wl *x = ctx;
	x->r.crashes++;
	for (size_t i = 0; i < WL_NCLI; i++) {
		if (x->cli[i].h == h) {
			x->cli[i].s = NULL;
			x->cli[i].state = WL_IDLE;
		}
	}
	for (size_t i = 0; i < WL_NSLOT; i++) {
		wl_slot *sl = &x->slot[i];
		if (sl->used && sl->h == h) {
			sim_timer_cancel(x->w, &sl->t);
			sl->s = NULL;
			sl->used = false;
		}
	}
}

static void wl_restart(sim_host *h, void *ctx)
{
	sim_listen(h, WL_PORT, wl_accept, ctx);
}

static sim_fault_rates wl_rates(void)
{
	sim_fault_rates r;
	memset(&r, 0, sizeof r);
	for (int k = 1; k < SIM_FAULT_KINDS; k++)
		r.per_hour[k] = 120;
	r.mean_duration_us[SIM_FAULT_PARTITION] = SIM_S(10);
	r.mean_duration_us[SIM_FAULT_PARTITION_ONEWAY] = SIM_S(10);
	r.mean_duration_us[SIM_FAULT_CLOG] = SIM_S(3);
	r.mean_duration_us[SIM_FAULT_BLACKHOLE] = SIM_S(10);
	r.mean_duration_us[SIM_FAULT_CRASH] = SIM_S(5);
	r.mean_duration_us[SIM_FAULT_DRIFT] = SIM_S(60);
	r.value[SIM_FAULT_DRIFT] = 500;
	r.value[SIM_FAULT_JUMP] = 2e6;
	return r;
}

/* Self-contained (no assertions inside), so a forked child can run it too. */
static wl_result wl_run(uint64_t seed)
{
	static const char *const names[WL_NHOST] = { "srv", "n1", "n2", "n3" };
	wl *x = calloc(1, sizeof *x);
	sim_world *w = sim_world_new(seed);
	if (!x || !w)
		abort();
	x->w = w;
	sim_link def = { .latency_us = SIM_MS(5), .jitter_us = SIM_MS(2), .loss = 0.02,
			 .slice_max = 64, .retries = 6 };
	sim_link l1 = { .latency_us = SIM_MS(20), .jitter_us = SIM_MS(10),
			.jitter_dist = SIM_JITTER_PARETO, .loss = 0.1, .bandwidth_bps = 200000,
			.coalesce_us = SIM_MS(5), .retries = 6 };
	sim_link l2 = { .latency_us = SIM_MS(8), .jitter_us = SIM_MS(4),
			.jitter_dist = SIM_JITTER_NORMAL, .loss = 0.05, .slice_max = 5,
			.close_delay_us = SIM_MS(100), .limit_bytes = 20000, .retries = 6 };
	sim_net_set_default(w, &def);
	for (int i = 0; i < WL_NHOST; i++) {
		x->hosts[i] = sim_host_add(w, names[i]);
		sim_host_set_hooks(x->hosts[i], wl_crash, wl_restart, x);
		sim_listen(x->hosts[i], WL_PORT, wl_accept, x);
	}
	sim_host_set_link(x->hosts[1], &l1);
	sim_host_set_link(x->hosts[2], &l2);
	for (size_t i = 0; i < WL_NSLOT; i++) {
		x->slot[i].x = x;
		sim_timer_init(&x->slot[i].t, wl_slot_close, &x->slot[i]);
	}
	for (int i = 0; i < WL_NCLI; i++) {
		wl_cli *k = &x->cli[i];
		char name[32];
		snprintf(name, sizeof name, "wl/cli/%d", i);
		k->x = x;
		k->h = x->hosts[1 + i % (WL_NHOST - 1)];
		sim_rng_init(&k->rng, seed, name);
		sim_timer_init(&k->t, wl_cli_tick, k);
		sim_host_timer_after(k->h, &k->t, SIM_MS(10) * (i + 1));
	}
	sim_fault_rates r = wl_rates();
	x->r.faults = sim_fault_draw(w, &r, x->hosts, WL_NHOST, SIM_S(1), SIM_S(170));
	sim_run(w, SIM_S(180), 0);
	wl_result res = x->r;
	res.hash = sim_trace_hash(w);
	res.lines = sim_trace_lines(w);
	res.steps = sim_steps(w);
	sim_world_free(w);
	free(x);
	return res;
}

START_TEST(test_determinism_every_fault)
{
	const uint64_t seed = 20240601;
	/* A fresh process: forked before this one runs anything. */
	int fd[2];
	ck_assert_int_eq(pipe(fd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fd[0]);
		wl_result r = wl_run(seed);
		ssize_t k = write(fd[1], &r.hash, sizeof r.hash);
		close(fd[1]);
		_exit(k == (ssize_t)sizeof r.hash ? 0 : 1);
	}
	close(fd[1]);
	wl_result a = wl_run(seed), b = wl_run(seed), c = wl_run(seed + 1);
	uint64_t child = 0;
	size_t got = 0;
	while (got < sizeof child) {
		ssize_t k = read(fd[0], (char *)&child + got, sizeof child - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd[0]);
	int status = 0;
	waitpid(pid, &status, 0);

	ck_assert_uint_eq(got, sizeof child);
	ck_assert_uint_eq(a.hash, b.hash);
	ck_assert_uint_eq(a.lines, b.lines);
	ck_assert_uint_eq(a.steps, b.steps);
	ck_assert_uint_eq(child, a.hash);
	ck_assert_uint_ne(c.hash, a.hash);

	/* The workload is busy and the faults bit: every kind was drawn (each kind draws
	 * from its own stream, so drawing it alone gives its share of the total). */
	int total = 0;
	sim_fault_rates r = wl_rates();
	for (int k = 1; k < SIM_FAULT_KINDS; k++) {
		sim_fault_rates one;
		memset(&one, 0, sizeof one);
		one.per_hour[k] = r.per_hour[k];
		one.mean_duration_us[k] = r.mean_duration_us[k];
		one.value[k] = r.value[k];
		sim_world *w = world_new(seed);
		sim_host *h[WL_NHOST];
		for (int i = 0; i < WL_NHOST; i++) {
			char name[16];
			snprintf(name, sizeof name, "h%d", i);
			h[i] = sim_host_add(w, name);
		}
		int n = sim_fault_draw(w, &one, h, WL_NHOST, SIM_S(1), SIM_S(170));
		ck_assert_msg(n > 0, "no %s fault drawn", sim_fault_name(k));
		total += n;
		world_drop(w);
	}
	ck_assert_int_eq(total, a.faults);
	ck_assert_uint_gt(a.steps, 20000);
	ck_assert_uint_gt(a.rx, 100000);
	ck_assert_uint_gt(a.crashes, 0);
	ck_assert_uint_gt(a.resets, 0);
	ck_assert_uint_gt(a.timeouts, 0);
	ck_assert_uint_eq(a.no_slot, 0);
}
END_TEST

/* ---- the link model of one direction in real time (harness/proxy_link.c) ----------------- */

typedef struct lsink {
	uint8_t got[256];
	size_t n, writes, max_piece;
	size_t room; /* bytes it takes per call; 0: all */
} lsink;

static long lsink_write(void *ctx, const uint8_t *b, size_t n)
{
	lsink *k = ctx;
	if (k->room && n > k->room)
		n = k->room;
	ck_assert_uint_le(k->n + n, sizeof k->got);
	memcpy(k->got + k->n, b, n);
	k->n += n;
	k->writes++;
	if (n > k->max_piece)
		k->max_piece = n;
	return (long)n;
}

START_TEST(test_link_latency_and_order)
{
	proxy_dir d;
	proxy_dir_init(&d, 1, "t");
	sim_link l = { .latency_us = 100000 };
	lsink k = { 0 };
	proxy_dir_ops ops = { lsink_write, NULL, &k };
	proxy_dir_push(&d, &l, 0, (const uint8_t *)"abc", 3);
	proxy_dir_push(&d, &l, 10, (const uint8_t *)"de", 2);
	ck_assert_int_eq(proxy_dir_wake(&d), 100000);
	ck_assert_int_eq(proxy_dir_deliver(&d, &l, 99999, &ops), PROXY_DIR_OK);
	ck_assert_uint_eq(k.n, 0);
	ck_assert_int_eq(proxy_dir_deliver(&d, &l, 100010, &ops), PROXY_DIR_OK);
	ck_assert_uint_eq(k.n, 5);
	ck_assert(!memcmp(k.got, "abcde", 5));
	ck_assert_int_eq(proxy_dir_wake(&d), INT64_MAX);
	proxy_dir_clear(&d);
}
END_TEST

START_TEST(test_link_partition_aborts_blackhole_does_not)
{
	sim_link l = { .rto_us = 1000, .retries = 3 };
	lsink k = { 0 };
	proxy_dir_ops ops = { lsink_write, NULL, &k };
	proxy_dir d;
	proxy_dir_init(&d, 1, "t");
	proxy_dir_push(&d, &l, 0, (const uint8_t *)"x", 1);
	d.part = true;
	int st = PROXY_DIR_OK;
	for (int i = 0; i < 10 && st == PROXY_DIR_OK; i++)
		st = proxy_dir_deliver(&d, &l, proxy_dir_wake(&d), &ops);
	ck_assert_int_eq(st, PROXY_DIR_ABORTED);
	ck_assert_uint_eq(d.head->tries, 3);
	proxy_dir_clear(&d);

	/* A blackhole swallows every attempt, never aborts, and lets the bytes through once lifted. */
	proxy_dir_init(&d, 1, "t");
	proxy_dir_push(&d, &l, 0, (const uint8_t *)"y", 1);
	d.hole = true;
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(proxy_dir_deliver(&d, &l, proxy_dir_wake(&d), &ops), PROXY_DIR_OK);
	ck_assert_uint_eq(k.n, 0);
	ck_assert_uint_eq(d.head->tries, 0);
	d.hole = false;
	ck_assert_int_eq(proxy_dir_deliver(&d, &l, proxy_dir_wake(&d), &ops), PROXY_DIR_OK);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_int_eq(k.got[0], 'y');
	proxy_dir_clear(&d);
}
END_TEST

START_TEST(test_link_clog_limit_slices)
{
	proxy_dir d;
	proxy_dir_init(&d, 1, "t");
	sim_link l = { .slice_max = 3, .limit_bytes = 20 };
	lsink k = { 0 };
	proxy_dir_ops ops = { lsink_write, NULL, &k };
	proxy_dir_push(&d, &l, 0, (const uint8_t *)"0123456789abcdefghijklmnop", 26);
	d.clog = true;
	ck_assert_int_eq(proxy_dir_wake(&d), INT64_MAX);
	ck_assert_int_eq(proxy_dir_deliver(&d, &l, 5, &ops), PROXY_DIR_OK);
	ck_assert_uint_eq(k.n, 0);
	d.clog = false;
	ck_assert_int_eq(proxy_dir_deliver(&d, &l, 5, &ops), PROXY_DIR_LIMIT);
	ck_assert_uint_eq(k.n, 20);
	ck_assert(!memcmp(k.got, "0123456789abcdefghij", 20));
	ck_assert_uint_le(k.max_piece, 3);
	ck_assert_uint_ge(k.writes, 7);
	proxy_dir_clear(&d);

	/* A receiver that takes less than offered: BLOCKED, then the rest on the next call. */
	proxy_dir_init(&d, 1, "t");
	sim_link plain = { 0 };
	lsink s2 = { .room = 2 };
	proxy_dir_ops ops2 = { lsink_write, NULL, &s2 };
	proxy_dir_push(&d, &plain, 0, (const uint8_t *)"abcde", 5);
	ck_assert_int_eq(proxy_dir_deliver(&d, &plain, 0, &ops2), PROXY_DIR_BLOCKED);
	s2.room = 0;
	ck_assert_int_eq(proxy_dir_deliver(&d, &plain, 0, &ops2), PROXY_DIR_OK);
	ck_assert(!memcmp(s2.got, "abcde", 5));
	proxy_dir_clear(&d);
}
END_TEST

/* Loss and slice sizes come from the stream: the same seed, the same pieces and attempts. */
START_TEST(test_link_seeded)
{
	size_t pieces[2][2];
	for (int run = 0; run < 2; run++) {
		proxy_dir d;
		proxy_dir_init(&d, 42, "proxy/conn-1/c2b");
		sim_link l = { .slice_max = 7, .loss = 0.3, .rto_us = 10 };
		lsink k = { 0 };
		proxy_dir_ops ops = { lsink_write, NULL, &k };
		uint8_t b[200];
		for (size_t i = 0; i < sizeof b; i++)
			b[i] = (uint8_t)i;
		proxy_dir_push(&d, &l, 0, b, sizeof b);
		int64_t t = 0;
		for (int i = 0; i < 1000 && d.head; i++, t += 10)
			ck_assert_int_eq(proxy_dir_deliver(&d, &l, t, &ops), PROXY_DIR_OK);
		ck_assert_uint_eq(k.n, sizeof b);
		ck_assert(!memcmp(k.got, b, sizeof b));
		pieces[run][0] = k.writes;
		pieces[run][1] = (size_t)t;
		proxy_dir_clear(&d);
	}
	ck_assert_uint_eq(pieces[0][0], pieces[1][0]);
	ck_assert_uint_eq(pieces[0][1], pieces[1][1]);
}
END_TEST

Suite *net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("delivery");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_baseline_in_order_at_latency);
	tcase_add_test(tc, test_echo_round_trip);
	tcase_add_loop_test(tc, test_jitter_distributions, SIM_JITTER_UNIFORM, SIM_JITTER_PARETO + 1);
	tcase_add_test(tc, test_bandwidth_serialisation);
	tcase_add_test(tc, test_bandwidth_shared_by_connections);
	tcase_add_test(tc, test_loss_delays_but_delivers);
	tcase_add_test(tc, test_loss_total_aborts_after_backoff);
	tcase_add_loop_test(tc, test_slicing_keeps_the_bytes, 0, 4);
	tcase_add_test(tc, test_slicing_alone_arrives_in_pieces);
	tcase_add_test(tc, test_coalescing_batches_writes);
	tcase_add_test(tc, test_buffers_flow_control);
	suite_add_tcase(s, tc);

	tc = tcase_create("faults");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_partition_twoway_heal);
	tcase_add_test(tc, test_partition_twoway_no_heal);
	tcase_add_test(tc, test_partition_oneway);
	tcase_add_test(tc, test_connect_oneway_reverse_times_out);
	tcase_add_test(tc, test_clog_holds_then_releases);
	tcase_add_test(tc, test_blackhole_half_open);
	tcase_add_test(tc, test_net_reset_both_ends);
	tcase_add_test(tc, test_sock_reset_both_ends);
	tcase_add_test(tc, test_slow_close);
	tcase_add_test(tc, test_limit_data);
	tcase_add_test(tc, test_connect_refused);
	tcase_add_test(tc, test_connect_unreachable_times_out);
	tcase_add_test(tc, test_crash_and_restart);
	tcase_add_test(tc, test_crash_peer_writes_time_out);
	tcase_add_test(tc, test_close_inside_on_connect);
	tcase_add_test(tc, test_close_inside_on_readable);
	suite_add_tcase(s, tc);

	tc = tcase_create("disk");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_disk_unsynced_lost);
	tcase_add_test(tc, test_disk_fsync_survives);
	tcase_add_test(tc, test_disk_torn_prefix);
	tcase_add_test(tc, test_disk_names);
	tcase_add_test(tc, test_disk_down_is_eio);
	suite_add_tcase(s, tc);

	tc = tcase_create("clock");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_clock_drift);
	tcase_add_test(tc, test_clock_jump);
	suite_add_tcase(s, tc);

	tc = tcase_create("schedule");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fault_schedule_partition);
	tcase_add_test(tc, test_fault_schedule_partition_oneway);
	tcase_add_test(tc, test_fault_schedule_clog);
	tcase_add_test(tc, test_fault_schedule_blackhole);
	tcase_add_test(tc, test_fault_schedule_reset);
	tcase_add_test(tc, test_fault_schedule_crash);
	tcase_add_test(tc, test_fault_schedule_clock);
	tcase_add_test(tc, test_fault_schedule_rejects_and_names);
	tcase_add_test(tc, test_fault_draw_is_seeded);
	suite_add_tcase(s, tc);

	tc = tcase_create("proxy_link");
	tcase_add_test(tc, test_link_latency_and_order);
	tcase_add_test(tc, test_link_partition_aborts_blackhole_does_not);
	tcase_add_test(tc, test_link_clog_limit_slices);
	tcase_add_test(tc, test_link_seeded);
	suite_add_tcase(s, tc);

	tc = tcase_create("determinism");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_determinism_every_fault);
	tcase_set_timeout(tc, 120); /* generous for valgrind; about a second natively */
	suite_add_tcase(s, tc);
	return s;
}
