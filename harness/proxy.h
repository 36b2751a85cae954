/*
 * proxy.h - `mqttsim proxy`: the fault model of sim/net.c applied, in real time, to real TCP
 * connections between MQTT clients and a broker.
 *
 * One poll() loop, no threads, non-blocking sockets, every queue bounded. Each accepted
 * connection gets an upstream connection; bytes read from one side become segments that are
 * delivered to the other side at a time the link profile decides (latency, jitter, bandwidth,
 * coalescing), retransmitted on loss or partition (RTO backoff, abort after the retry limit),
 * held by a clog, swallowed by a blackhole, cut into slices, and the connection closed after
 * limit_data bytes. A connection's profile and faults are chosen by a selector: the MQTT
 * client id its CONNECT carries, or its order of arrival.
 *
 * Ownership: the plan and everything it points to belong to the caller and must outlive
 * proxy_run().
 */
#ifndef HARNESS_PROXY_H
#define HARNESS_PROXY_H

#include "sim/net.h"
#include "sim/sim.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Which connections a profile or fault applies to. */
typedef struct proxy_sel {
	const char *name;      /* as the faults file names it, for the log */
	const char *client_id; /* match the CONNECT's client id; NULL: match by order */
	long order;            /* >0: the order-th accepted connection (conn-N) */
	bool has_link;
	sim_link link;         /* the profile, both directions */
} proxy_sel;

enum { PROXY_BOTH = 0, PROXY_C2B = 1, PROXY_B2C = 2 };

typedef struct proxy_fault {
	int kind;         /* enum sim_fault_kind: partition, partition_oneway, clog, blackhole, reset */
	int64_t at_us;    /* from the proxy's start */
	int64_t for_us;   /* 0: to the end (reset: instant) */
	int sel;          /* index into plan.sel */
	int dir;          /* PROXY_BOTH, PROXY_C2B or PROXY_B2C */
} proxy_fault;

typedef struct proxy_plan {
	sim_link deflink;         /* connections no selector gives a profile */
	proxy_sel *sel;
	size_t nsel;
	proxy_fault *faults;      /* sorted by at_us */
	size_t nfaults;
	uint64_t seed;            /* jitter, loss and slice sizes draw from streams of it */
} proxy_plan;

typedef struct proxy_opts {
	const char *listen_host;
	unsigned listen_port;     /* 0: any free port (said on err) */
	const char *up_host;
	unsigned up_port;
	int64_t duration_us;      /* 0: until SIGINT or SIGTERM */
	FILE *log;                /* one line per fault applied and per packet forwarded */
	FILE *err;                /* status and errors */
	bool opaque;              /* the stream is not MQTT as is (WebSocket): no client ids are
				     read (connections are selected by order) and no packets decoded */
} proxy_opts;

/* ---- one direction of a link (proxy_link.c) ---------------------------------------------
 *
 * The fault model of one direction, shared by `mqttsim proxy` and the tcp engine (which
 * applies it in-process to the bytes it queues for and from the broker): a queue of segments
 * with due times (bandwidth, latency, jitter, coalescing), delivered through a write callback
 * that may take fewer bytes than offered; loss and partitions retransmit with RTO backoff and
 * abort past the retry limit; a clog holds; a blackhole swallows every attempt without an
 * abort (the sim's half-open link), so what it held arrives once it lifts; slicing cuts deliveries into
 * pieces of 1..slice_max bytes; limit_data stops the stream. The caller owns the flags
 * (part, clog, hole) and sets them from its faults. Segments are malloc'd; proxy_dir_clear
 * frees them all. */
typedef struct proxy_seg {
	struct proxy_seg *next;
	int64_t due;
	uint32_t tries, quiet, len, off; /* lost attempts; attempts a blackhole swallowed */
	uint8_t data[];
} proxy_seg;

typedef struct proxy_dir {
	proxy_seg *head, *tail;
	size_t queued;           /* bytes held */
	int64_t last_due, bw_free;
	uint64_t sent;           /* bytes delivered, for limit_data */
	bool part, clog, hole;
	sim_rng rng;             /* jitter, loss, slice sizes */
} proxy_dir;

typedef struct proxy_dir_ops {
	/* Give the receiver up to n bytes: how many it took (0..n), or -1 with errno (EAGAIN:
	 * try later, anything else: the connection is gone). */
	long (*write)(void *ctx, const uint8_t *b, size_t n);
	/* A transmission attempt was lost (NULL: not told). */
	void (*lost)(void *ctx, uint32_t len, uint32_t tries, bool partition);
	void *ctx;
} proxy_dir_ops;

enum proxy_dir_status {
	PROXY_DIR_OK,       /* nothing more is due now */
	PROXY_DIR_BLOCKED,  /* the receiver took less than offered: wait until it can take more */
	PROXY_DIR_ABORTED,  /* a segment reached the retransmission limit: abort the connection */
	PROXY_DIR_LIMIT,    /* limit_data bytes delivered: close the connection */
	PROXY_DIR_ERROR,    /* write failed (errno): the connection is gone */
};

void proxy_dir_init(proxy_dir *p, uint64_t seed, const char *stream);
/* Append s (len bytes in s->data) read at now, due when the link l says. */
void proxy_dir_append(proxy_dir *p, const sim_link *l, int64_t now, proxy_seg *s, uint32_t len);
/* Append a copy of n bytes (the same, for callers that do not read into a segment). */
void proxy_dir_push(proxy_dir *p, const sim_link *l, int64_t now, const uint8_t *b, size_t n);
/* Give s its due time now (a segment held until it could be scheduled: proxy.c). */
void proxy_dir_schedule(proxy_dir *p, const sim_link *l, int64_t now, proxy_seg *s);
/* Deliver what is due at now. */
int proxy_dir_deliver(proxy_dir *p, const sim_link *l, int64_t now, const proxy_dir_ops *ops);
/* When something is next due (INT64_MAX: nothing, or held by a clog). */
int64_t proxy_dir_wake(const proxy_dir *p);
void proxy_dir_clear(proxy_dir *p);

/* ---- plans (proxy_plan.c) ------------------------------------------------------------- */

struct scenario;
/* The plan of a scenario (or a faults file, which is one): a selector per client in the
 * scenario's order (selector i is client i), the default link and each client's own, the
 * explicit faults, then random_faults drawn for seed over [0, horizon_us) exactly as the
 * simulator draws them; sorted by time, seed set. Returns 0, or i + 1 when explicit fault i
 * is not between a client and the broker (the caller says so, with its position). Drawn
 * faults a proxy cannot apply are left out: *skipped of the *drawn. The arrays are malloc'd
 * (also on failure): proxy_plan_free. */
int proxy_plan_scenario(const struct scenario *s, uint64_t seed, int64_t horizon_us, proxy_plan *p,
			size_t *skipped, size_t *drawn);
void proxy_plan_free(proxy_plan *p);

/* Run until the duration ends or a signal stops it. Returns 0, or 2 when it cannot start
 * (the listen address is in use or bad, the upstream host does not resolve); the reason
 * is on o->err. */
int proxy_run(const proxy_opts *o, const proxy_plan *p);

#endif
