/*
 * world.h - internal to sim/: the structures behind sim.h, net.h and disk.h.
 */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include "sim/disk.h"
#include "sim/net.h"
#include "sim/sim.h"

typedef struct sim_seg sim_seg;

/* An event queue entry: the timer's key beside its pointer. */
typedef struct sim_heap_ent {
	sim_us at;
	uint64_t seq;
	sim_timer *t;
} sim_heap_ent;
typedef struct sim_conn sim_conn;
typedef struct sim_pair sim_pair;
typedef struct sim_listener sim_listener;

/* One direction of a connection: sequence numbers keep delivery in order even when
 * jitter or retransmission reorder arrivals. */
typedef struct sim_pipe {
	uint64_t next_seq;      /* next segment sequence to send */
	uint64_t deliver_seq;   /* next sequence the receiver takes */
	size_t inflight;        /* bytes written and not yet in the receiver's buffer */
	uint64_t delivered;     /* bytes delivered, for limit_data */
	/* Arrived but not yet delivered (early, or waiting for buffer room): a window
	 * indexed by seq modulo its power-of-two size, since seqs in flight are dense. */
	sim_seg **win;
	size_t win_cap;
	size_t stashed;
	bool closed;            /* limit_data closed this direction: drop arrivals */
	sim_rng rng;
	uint8_t *mq;            /* trace: bytes not yet decoded as MQTT */
	size_t mq_len, mq_cap;
	bool mq_broken;         /* trace: a decode error; stop decoding this direction */
} sim_pipe;

enum sock_state { SOCK_SYN_SENT = 1, SOCK_OPEN, SOCK_GONE };

struct sim_sock {
	sim_conn *conn;
	int side;               /* 0: the connecting end, 1: the accepting end */
	sim_host *host;
	uint32_t epoch;         /* host epoch at creation: a restart makes the socket stale */
	int state;
	bool released;          /* the app closed, aborted, or its host crashed */
	bool fin_in;            /* FIN received (EOF after the buffer drains) */
	bool fin_out;           /* FIN queued */
	int error;              /* pending -errno for read/write */
	uint8_t *rbuf;          /* received, unread */
	size_t roff, rlen, rcap;
	size_t sndbuf, rcvbuf;
	bool want_writable;
	const sim_sock_ops *ops;
	void *ctx;
	sim_timer notify;       /* deferred readable notification */
};

struct sim_conn {
	uint64_t id;
	int refs;               /* unreleased sockets + segments in flight */
	uint16_t port;
	sim_sock end[2];
	sim_pipe pipe[2];       /* pipe[k] carries bytes from end[k] to end[!k] */
	uint8_t mqtt_version;   /* trace: level seen in CONNECT */
	sim_conn *next;         /* world list, in creation order */
};

/* Under loss a pipe holds everything sent after a lost segment until its retransmission
 * arrives (head-of-line blocking), hundreds of segments per connection: keep this small. */
struct sim_seg {
	sim_timer t;
	sim_conn *conn;
	uint64_t seq;
	sim_us rto;
	sim_seg *next;          /* in a clogged pair's held list, or the free list */
	uint32_t attempt;
	uint32_t len;
	uint8_t from;           /* sending side */
	uint8_t flags;
	uint8_t phase;
	uint8_t pool;           /* 0: malloc'd to size; else 1 + index of its free list (net.c) */
	uint8_t data[];
};

struct sim_pair {
	sim_host *from, *to;
	bool has_link;
	sim_link link;
	bool partitioned, clogged, blackholed;
	sim_us tx_free_at;      /* bandwidth: when this direction's wire is free again */
	sim_seg *held;          /* clogged arrivals, in arrival order */
	sim_seg **held_tail;
	sim_pair *next;         /* hash chain */
	sim_pair *all_next;     /* creation order */
};

struct sim_listener {
	uint16_t port;
	sim_accept_fn fn;
	void *ctx;
	sim_listener *next;
};

struct sim_host {
	sim_world *w;
	char *name;
	uint32_t index;
	uint32_t epoch;
	bool up;
	bool has_link;
	sim_link link;
	sim_listener *listeners;
	uint32_t conn_count;    /* connections opened from here, names their rng streams */
	sim_host_hook on_crash, on_restart;
	void *hook_ctx;
	double drift_ppm;
	sim_us clock_base_global, clock_base_local;
	sim_disk *disk;
	sim_host *next;
	sim_host *hnext;        /* name hash chain */
};

struct sim_world {
	uint64_t seed;
	sim_us now;
	uint64_t seq;
	uint64_t steps;
	bool halted;
	sim_heap_ent *heap;     /* keys inline: sifting reads no timer memory */
	size_t heap_len, heap_cap;
	sim_timer **wheel;      /* near-future slots, one per microsecond (world.c) */
	uint64_t *wbits;        /* occupied slots */
	size_t wcount;          /* timers in the wheel */
	sim_us wbase;           /* the latest time the loop reached: the wheel's origin */

	/* network */
	sim_host *hosts, **hosts_tail;
	uint32_t host_count;
	sim_host **host_tab;    /* by name: fleets add thousands of hosts */
	size_t host_tab_cap;
	sim_conn *conns, **conns_tail;
	uint64_t conn_ids;
	sim_link default_link;
	sim_pair **pairs;       /* hash table */
	size_t pair_buckets;
	sim_pair *pairs_all, **pairs_tail;
	size_t sndbuf, rcvbuf;
	bool trace_mqtt;
	sim_seg *seg_pool[2];   /* free segments of two sizes, linked by next (net.c) */
	size_t seg_pool_n[2];
	sim_capture_fn capture;
	void *capture_ctx;

	/* faults (fault.c) */
	struct fault_ev *faults;

	/* trace */
	uint64_t trace_hash;
	uint64_t trace_lines;
	bool trace_keep;
	bool trace_off;
	sim_trace_sink *trace_sink;
	void *trace_sink_ctx;
	char *trace_text;
	size_t trace_len, trace_cap;
};

void sim_net_free(sim_world *w);
/* Empty the event queue, handing each timer to fn (which may free its owner) (world.c). */
void sim__timers_drop(sim_world *w, void (*fn)(sim_timer *t));
/* sim_trace(w, host, conn, kind, "%zuB", bytes), the same bytes without printf (trace.c). */
void sim__trace_size(sim_world *w, const char *host, uint64_t conn, const char *kind, size_t bytes);
void sim_faults_free(sim_world *w);
void sim_disk_crash(sim_disk *d, sim_rng *rng);
void sim_disk_free(sim_disk *d);

#endif
