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

/* Run until the duration ends or a signal stops it. Returns 0, or 2 when it cannot start
 * (the listen address is in use or bad, the upstream host does not resolve); the reason
 * is on o->err. */
int proxy_run(const proxy_opts *o, const proxy_plan *p);

#endif
