/*
 * proxy_link.c - one direction of a link in real time (proxy.h): the part of the fault model
 * `mqttsim proxy` and the tcp engine share, so there is one copy of it. Arrival times come
 * from sim_link_arrival(), as on the virtual network.
 */
#include "harness/proxy.h"

#include "mqtt/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void proxy_dir_init(proxy_dir *p, uint64_t seed, const char *stream)
{
	memset(p, 0, sizeof *p);
	sim_rng_init(&p->rng, seed, stream);
}

static sim_us rto_of(const sim_link *l, uint32_t tries)
{
	sim_us rto = l->rto_us ? l->rto_us : 200000, cap = l->rto_max_us ? l->rto_max_us : 120000000;
	for (uint32_t i = 1; i < tries && rto < cap; i++)
		rto *= 2;
	return rto < cap ? rto : cap;
}

/* Serialisation at the link's bandwidth, then latency and jitter (each shape averaging
 * jitter_us, as sim/net.c draws it), never before the one ahead of it, on the coalescing
 * grid. */
void proxy_dir_schedule(proxy_dir *p, const sim_link *l, int64_t now, proxy_seg *s)
{
	int64_t done = now;
	if (l->bandwidth_bps) {
		int64_t start = p->bw_free > now ? p->bw_free : now;
		done = start + (int64_t)(((uint64_t)s->len * 8u * 1000000u + l->bandwidth_bps - 1) / l->bandwidth_bps);
		p->bw_free = done;
	}
	int64_t at = sim_link_arrival(l, &p->rng, done);
	if (at < p->last_due)
		at = p->last_due;
	p->last_due = at;
	s->due = at;
}

void proxy_dir_append(proxy_dir *p, const sim_link *l, int64_t now, proxy_seg *s, uint32_t len)
{
	s->next = NULL;
	s->len = len;
	s->off = 0;
	s->tries = 0;
	s->quiet = 0;
	if (p->tail)
		p->tail->next = s;
	else
		p->head = s;
	p->tail = s;
	p->queued += len;
	if (l)
		proxy_dir_schedule(p, l, now, s);
}

void proxy_dir_push(proxy_dir *p, const sim_link *l, int64_t now, const uint8_t *b, size_t n)
{
	proxy_seg *s = mqtt_xmalloc(sizeof *s + n);
	memcpy(s->data, b, n);
	proxy_dir_append(p, l, now, s, (uint32_t)n);
}

static void pop(proxy_dir *p)
{
	proxy_seg *s = p->head;
	p->head = s->next;
	if (!p->head)
		p->tail = NULL;
	p->queued -= s->len;
	free(s);
}

int proxy_dir_deliver(proxy_dir *p, const sim_link *l, int64_t now, const proxy_dir_ops *ops)
{
	while (p->head && p->head->due <= now && !p->clog) {
		proxy_seg *s = p->head;
		if (p->hole) {
			/* Vanishes without a word, as on the virtual network: retried quietly with
			 * backoff, never counted towards an abort, so the stream goes on (and the
			 * connection stays half-open) once the blackhole is lifted. */
			s->quiet++;
			s->due = now + rto_of(l, s->quiet);
			return PROXY_DIR_OK;
		}
		/* A lost attempt is a segment not yet begun: a partition loses every one. */
		if (p->part || (l->loss > 0 && s->off == 0 && sim_rng_bernoulli(&p->rng, l->loss))) {
			uint32_t limit = l->retries ? l->retries : 15;
			s->tries++;
			if (ops->lost)
				ops->lost(ops->ctx, s->len, s->tries, p->part);
			if (s->tries >= limit)
				return PROXY_DIR_ABORTED;
			s->due = now + rto_of(l, s->tries);
			/* What follows waits behind it, as TCP delivers in order. */
			return PROXY_DIR_OK;
		}
		uint32_t n = s->len - s->off;
		if (l->slice_max && n > l->slice_max)
			n = 1 + (uint32_t)sim_rng_below(&p->rng, l->slice_max);
		if (l->limit_bytes && p->sent + n > l->limit_bytes)
			n = (uint32_t)(l->limit_bytes - p->sent);
		long w = n ? ops->write(ops->ctx, s->data + s->off, n) : 0;
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? PROXY_DIR_BLOCKED : PROXY_DIR_ERROR;
		s->off += (uint32_t)w;
		p->sent += (uint64_t)w;
		if (l->limit_bytes && p->sent >= l->limit_bytes)
			return PROXY_DIR_LIMIT;
		if (s->off < s->len) {
			if ((uint32_t)w < n)
				return PROXY_DIR_BLOCKED;
			continue; /* the next slice */
		}
		pop(p);
	}
	return PROXY_DIR_OK;
}

int64_t proxy_dir_wake(const proxy_dir *p)
{
	return p->head && !p->clog ? p->head->due : INT64_MAX;
}

void proxy_dir_clear(proxy_dir *p)
{
	for (proxy_seg *s = p->head, *n; s; s = n) {
		n = s->next;
		free(s);
	}
	p->head = p->tail = NULL;
	p->queued = 0;
}
