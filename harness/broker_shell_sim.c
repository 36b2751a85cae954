/*
 * broker_shell_sim.c - glue between the sans-I/O broker core and the simulated network.
 *
 * Each accepted virtual socket becomes a broker connection named by the socket's
 * connection id. Bytes the transport cannot take yet wait in a per-connection queue and
 * go out on the writable callback; the core's single wake-up time becomes one sim timer
 * on the host's clock.
 */
#include "harness/broker_shell_sim.h"
#include "broker/list.h"
#include "mqtt/alloc.h"

#include "sim/disk.h"
#include "sim/sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bconn {
	broker_sim *bs;
	sim_sock *s;
	uint64_t id;
	uint8_t *out;
	size_t out_len, out_cap;
	bool closing;      /* the core asked to close: flush, then FIN */
	struct bconn *next, *prev;
	struct bconn *hnext; /* id hash chain */
} bconn;

struct broker_sim {
	sim_world *w;
	sim_host *h;
	uint16_t port;
	broker_config cfg;
	broker *b;
	sim_timer wake;
	bconn *conns;      /* open order */
	bconn *tail;
	/* Connections by id: a fleet of thousands of nodes makes a list walk per read the
	 * whole cost of a run. Chained, power-of-two buckets, grown at load 1. */
	bconn **tab;
	size_t tab_cap, count;
	broker_store store;
	sim_rng rng;       /* the broker's random bytes (SCRAM nonces), from the world seed */
};

/* ---- the log on the virtual disk ------------------------------------------------------------ */

#define LOG_FILE "broker.log"
#define LOG_TMP "broker.log.new"

/* Each store call takes the host as its context: the store is the host's disk, whichever
 * broker (or test wrapper) uses it. */
static int st_append(void *ctx, const void *data, size_t len)
{
	long n = sim_disk_append(sim_host_disk(ctx), LOG_FILE, data, len);
	return n < 0 ? (int)n : 0;
}

static int st_sync(void *ctx)
{
	sim_disk *d = sim_host_disk(ctx);
	return sim_disk_exists(d, LOG_FILE) ? sim_disk_fsync(d, LOG_FILE) : 0;
}

static int st_load(void *ctx, uint8_t **data, size_t *len)
{
	sim_disk *d = sim_host_disk(ctx);
	*data = NULL;
	*len = 0;
	long n = sim_disk_size(d, LOG_FILE);
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return (int)n;
	*data = malloc((size_t)n + 1);
	if (!*data)
		return -ENOMEM;
	long got = sim_disk_read(d, LOG_FILE, 0, *data, (size_t)n);
	if (got < 0) {
		free(*data);
		*data = NULL;
		return (int)got;
	}
	*len = (size_t)got;
	return 0;
}

static int st_replace(void *ctx, const void *data, size_t len)
{
	sim_disk *d = sim_host_disk(ctx);
	long rc;
	if (sim_disk_exists(d, LOG_TMP))
		sim_disk_remove(d, LOG_TMP);
	if ((rc = sim_disk_write(d, LOG_TMP, 0, data, len)) < 0 || (rc = sim_disk_fsync(d, LOG_TMP)) < 0 ||
	    (rc = sim_disk_rename(d, LOG_TMP, LOG_FILE)) < 0)
		return (int)rc;
	return 0;
}

broker_store broker_sim_disk_store(sim_host *h)
{
	return (broker_store){ h, st_append, st_sync, st_load, st_replace, NULL };
}

static size_t bucket(uint64_t id, size_t cap)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static bconn *find(broker_sim *bs, uint64_t id)
{
	if (!bs->tab_cap)
		return NULL;
	for (bconn *c = bs->tab[bucket(id, bs->tab_cap)]; c; c = c->hnext)
		if (c->id == id)
			return c;
	return NULL;
}

static void add(broker_sim *bs, bconn *c)
{
	if (bs->count + 1 > bs->tab_cap) {
		size_t cap = bs->tab_cap ? bs->tab_cap * 2 : 64;
		bconn **t = mqtt_xcalloc(cap, sizeof *t);
		for (bconn *x = bs->conns; x; x = x->next) {
			size_t b = bucket(x->id, cap);
			x->hnext = t[b];
			t[b] = x;
		}
		free(bs->tab);
		bs->tab = t;
		bs->tab_cap = cap;
	}
	size_t b = bucket(c->id, bs->tab_cap);
	c->hnext = bs->tab[b];
	bs->tab[b] = c;
	BROKER_LIST_APPEND(bs->conns, bs->tail, c, prev, next);
	bs->count++;
}

static void drop(broker_sim *bs, bconn *c)
{
	for (bconn **pp = &bs->tab[bucket(c->id, bs->tab_cap)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	}
	BROKER_LIST_UNLINK(bs->conns, bs->tail, c, prev, next);
	bs->count--;
	free(c->out);
	free(c);
}

static void flush(bconn *c)
{
	while (c->out_len) {
		long n = sim_sock_write(c->s, c->out, c->out_len);
		if (n <= 0)
			break;
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	if (c->closing && c->out_len == 0) {
		sim_sock_close(c->s);
		drop(c->bs, c);
	}
}

static int64_t env_now(void *ctx)
{
	broker_sim *bs = ctx;
	return sim_host_now(bs->h);
}

static void env_send(void *ctx, uint64_t id, const uint8_t *data, size_t len)
{
	bconn *c = find(ctx, id);
	if (!c || c->closing)
		return;
	mqtt_xappend(&c->out, &c->out_len, &c->out_cap, data, len, 1024);
	flush(c);
}

static void env_close(void *ctx, uint64_t id)
{
	bconn *c = find(ctx, id);
	if (!c)
		return;
	c->closing = true;
	flush(c);
}

static void env_wake(void *ctx, int64_t at)
{
	broker_sim *bs = ctx;
	if (at == INT64_MAX) {
		sim_timer_cancel(bs->w, &bs->wake);
		return;
	}
	int64_t d = at - sim_host_now(bs->h);
	sim_host_timer_after(bs->h, &bs->wake, d > 0 ? d : 0);
}

static void env_log(void *ctx, const char *line)
{
	broker_sim *bs = ctx;
	sim_trace(bs->w, sim_host_name(bs->h), 0, "broker", "%s", line);
}

static void env_rand(void *ctx, uint8_t *out, size_t len)
{
	broker_sim *bs = ctx;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = sim_rng_u64(&bs->rng);
		for (size_t k = 0; k < 8 && i + k < len; k++)
			out[i + k] = (uint8_t)(v >> (8 * k));
	}
}

static void on_wake(sim_world *w, sim_timer *t)
{
	broker_sim *bs = t->arg;
	(void)w;
	if (bs->b)
		broker_tick(bs->b);
}

static void on_readable(sim_sock *s, void *ctx)
{
	bconn *c = ctx;
	broker_sim *bs = c->bs;
	uint8_t buf[4096];
	uint64_t id = c->id;
	for (;;) {
		long n = sim_sock_read(s, buf, sizeof buf);
		if (n > 0) {
			broker_on_bytes(bs->b, id, buf, (size_t)n);
			c = find(bs, id);
			if (!c || c->closing)
				return; /* the core closed it while handling these bytes */
			continue;
		}
		if (n == -EAGAIN)
			return;
		/* EOF, reset or timeout: the transport is gone. */
		broker_on_close(bs->b, id);
		c = find(bs, id);
		if (c) {
			if (n == 0)
				sim_sock_close(s);
			else
				sim_sock_abort(s);
			drop(bs, c);
		}
		return;
	}
}

static void on_writable(sim_sock *s, void *ctx)
{
	(void)s;
	flush(ctx);
}

static const sim_sock_ops ops = { .on_readable = on_readable, .on_writable = on_writable };

static void on_accept(sim_sock *s, void *ctx)
{
	broker_sim *bs = ctx;
	bconn *c = mqtt_xcalloc(1, sizeof *c);
	c->bs = bs;
	c->s = s;
	c->id = sim_sock_id(s);
	add(bs, c);
	sim_sock_set_ops(s, &ops, c);
	char peer[96];
	snprintf(peer, sizeof peer, "%s#%llu", sim_host_name(sim_sock_peer(s)), (unsigned long long)c->id);
	broker_on_open(bs->b, c->id, peer);
}

static void start(broker_sim *bs)
{
	broker_env env = { bs, env_now, env_send, env_close, env_wake, env_log, env_rand };
	bs->b = broker_new(&env, &bs->cfg);
	sim_listen(bs->h, bs->port, on_accept, bs);
}

/* sockets_alive: false after a crash, when the host has already lost every socket. */
static void stop(broker_sim *bs, bool sockets_alive)
{
	sim_timer_cancel(bs->w, &bs->wake);
	broker_free(bs->b);
	bs->b = NULL;
	if (sockets_alive)
		sim_unlisten(bs->h, bs->port);
	while (bs->conns) {
		if (sockets_alive)
			sim_sock_abort(bs->conns->s);
		drop(bs, bs->conns);
	}
}

static void on_crash(sim_host *h, void *ctx)
{
	(void)h;
	/* The sockets are already gone with the host; only memory remains to free. */
	stop(ctx, false);
}

static void on_restart(sim_host *h, void *ctx)
{
	(void)h;
	start(ctx);
}

/* What both starts share: bs (zeroed, its store set if it has one) placed on h with config c. */
static broker_sim *start_on(broker_sim *bs, sim_world *w, sim_host *h, uint16_t port, const broker_config *c)
{
	bs->w = w;
	bs->h = h;
	bs->port = port;
	bs->cfg = *c;
	sim_timer_init(&bs->wake, on_wake, bs);
	/* Its own stream, named by the host: drawing from it moves no other stream. */
	char name[128];
	snprintf(name, sizeof name, "broker/%s", sim_host_name(h));
	sim_rng_init(&bs->rng, sim_world_seed(w), name);
	sim_host_set_hooks(h, on_crash, on_restart, bs);
	start(bs);
	return bs;
}

broker_sim *broker_sim_start(sim_world *w, sim_host *h, uint16_t port, const broker_config *cfg)
{
	broker_config c;
	if (cfg)
		c = *cfg;
	else
		broker_config_init(&c);
	return start_on(mqtt_xcalloc(1, sizeof(broker_sim)), w, h, port, &c);
}

broker_sim *broker_sim_start_persistent(sim_world *w, sim_host *h, uint16_t port,
					const broker_config *cfg)
{
	broker_config c;
	if (cfg)
		c = *cfg;
	else
		broker_config_init(&c);
	broker_sim *bs = mqtt_xcalloc(1, sizeof *bs);
	bs->store = broker_sim_disk_store(h);
	c.store = &bs->store;
	return start_on(bs, w, h, port, &c);
}

broker *broker_sim_core(broker_sim *bs) { return bs->b; }

void broker_sim_free(broker_sim *bs)
{
	if (!bs)
		return;
	if (bs->b)
		stop(bs, true);
	sim_host_set_hooks(bs->h, NULL, NULL, NULL);
	free(bs->tab);
	free(bs);
}
