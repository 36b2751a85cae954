/*
 * net.h - virtual hosts and TCP-like connections with the fault model.
 *
 * Byte-stream semantics: while a connection lives, bytes arrive once, in order, intact.
 * What the network does to them is only ever *when*: latency and jitter, bandwidth,
 * retransmission after loss (exponential RTO backoff, abort after a retry limit),
 * pieces (slicing) and batches (coalescing). What ends a connection is explicit: FIN,
 * RST, timeout, a host crash, limit_data.
 *
 * The API is event-driven like a non-blocking socket: callbacks say "readable",
 * "writable", "connected"; sim_sock_read/write return bytes, 0 for EOF, or -errno
 * (-EAGAIN, -ECONNRESET, -ETIMEDOUT, -ECONNREFUSED, -EPIPE, -ENOTCONN).
 *
 * Ownership: the world owns hosts and sockets. A socket handle is valid from accept or
 * connect until the app calls sim_sock_close() or sim_sock_abort(), or until its host
 * crashes (then the host's crash hook runs and every handle on it is invalid).
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include "sim/sim.h"

typedef struct sim_host sim_host;
typedef struct sim_sock sim_sock;

enum sim_jitter { SIM_JITTER_UNIFORM = 0, SIM_JITTER_NORMAL, SIM_JITTER_PARETO };

/* The behaviour of one direction of a path. Zero fields mean "off" except where noted. */
typedef struct sim_link {
	sim_us latency_us;
	sim_us jitter_us;        /* extra delay with mean about jitter_us, per jitter_dist */
	int jitter_dist;         /* enum sim_jitter */
	double loss;             /* probability that one transmission attempt is lost */
	uint64_t bandwidth_bps;  /* 0: unlimited */
	uint32_t slice_max;      /* >0: each write arrives in pieces of 1..slice_max bytes */
	sim_us coalesce_us;      /* >0: arrivals are batched on a grid of this period */
	uint64_t limit_bytes;    /* >0: the connection is closed after this many bytes */
	sim_us close_delay_us;   /* slow close: FIN leaves this much later */
	sim_us rto_us;           /* first retransmission timeout; 0 means 200 ms */
	sim_us rto_max_us;       /* backoff cap; 0 means 120 s */
	uint32_t retries;        /* lost attempts before abort; 0 means 15 */
} sim_link;

/* When a segment whose last byte is on the wire at `done` arrives over l: plus latency, plus a
 * jitter drawn from rng (only when l has jitter, so streams stay as they were), rounded up to
 * the coalescing grid. The virtual network and `mqttsim proxy` both use it. */
sim_us sim_link_arrival(const sim_link *l, sim_rng *rng, sim_us done);

/* ---- hosts ---------------------------------------------------------------------------- */

/* Names are unique and stable: they name the random streams and appear in the trace. */
sim_host *sim_host_add(sim_world *w, const char *name);
sim_host *sim_host_find(sim_world *w, const char *name);
const char *sim_host_name(const sim_host *h);
uint32_t sim_host_index(const sim_host *h); /* 0, 1, 2... in the order hosts were added */
bool sim_host_up(const sim_host *h);

/* Crash: every socket of the host vanishes without FIN or RST, unsynced disk writes are
 * lost, and on_crash runs so the app drops its state. Restart: on_restart runs so the app
 * starts again (reading its disk). Peers learn only by timeout or by a later write. */
typedef void (*sim_host_hook)(sim_host *h, void *ctx);
void sim_host_set_hooks(sim_host *h, sim_host_hook on_crash, sim_host_hook on_restart, void *ctx);
void sim_host_crash(sim_host *h);
void sim_host_restart(sim_host *h);

/* The host's own clock: drift (parts per million, rate) and jumps (step changes).
 * Timers armed through sim_host_timer_arm run on the host clock's rate; jumps move only
 * what sim_host_now() reads, like a wall clock set by hand. */
sim_us sim_host_now(const sim_host *h);
void sim_host_set_drift(sim_host *h, double ppm);
void sim_host_jump(sim_host *h, sim_us delta);
void sim_host_timer_after(sim_host *h, sim_timer *t, sim_us local_delay);

/* ---- links and faults ------------------------------------------------------------------- */

/* The profile used for a direction: the pair's own if set, else the sending host's,
 * else the receiving host's, else the default. Each call copies the profile in. */
void sim_net_set_default(sim_world *w, const sim_link *l);
void sim_host_set_link(sim_host *h, const sim_link *l);
void sim_net_set_link(sim_world *w, sim_host *from, sim_host *to, const sim_link *l);
sim_link sim_net_link(sim_world *w, sim_host *from, sim_host *to);

/* Partition from -> to (and back unless oneway): attempts are lost until heal. */
void sim_net_partition(sim_world *w, sim_host *a, sim_host *b, bool oneway);
void sim_net_heal(sim_world *w, sim_host *a, sim_host *b);
/* Clog from -> to: everything that arrives is held, then released at once on unclog. */
void sim_net_clog(sim_world *w, sim_host *from, sim_host *to);
void sim_net_unclog(sim_world *w, sim_host *from, sim_host *to);
/* Blackhole a -> b (and back unless oneway): bytes vanish, writes still succeed, and no
 * FIN, RST or timeout is ever seen: a half-open connection. */
void sim_net_blackhole(sim_world *w, sim_host *a, sim_host *b, bool oneway, bool on);
/* Reset every connection between a and b now (both ends see ECONNRESET). Returns count. */
int sim_net_reset(sim_world *w, sim_host *a, sim_host *b);

/* ---- sockets ---------------------------------------------------------------------------- */

typedef struct sim_sock_ops {
	void (*on_connect)(sim_sock *s, int err, void *ctx); /* 0, -ECONNREFUSED, -ETIMEDOUT */
	void (*on_readable)(sim_sock *s, void *ctx);         /* data, EOF or an error to read */
	void (*on_writable)(sim_sock *s, void *ctx);         /* room again after -EAGAIN */
} sim_sock_ops;

typedef void (*sim_accept_fn)(sim_sock *s, void *ctx);

/* Buffer sizes for new sockets (defaults 64 KiB each). */
void sim_net_set_buffers(sim_world *w, size_t sndbuf, size_t rcvbuf);

int sim_listen(sim_host *h, uint16_t port, sim_accept_fn fn, void *ctx); /* 0 or -EADDRINUSE */
void sim_unlisten(sim_host *h, uint16_t port);
sim_sock *sim_connect(sim_host *from, sim_host *to, uint16_t port, const sim_sock_ops *ops,
		      void *ctx);
void sim_sock_set_ops(sim_sock *s, const sim_sock_ops *ops, void *ctx);

long sim_sock_write(sim_sock *s, const void *buf, size_t len);
long sim_sock_read(sim_sock *s, void *buf, size_t len);
void sim_sock_close(sim_sock *s); /* FIN after queued data; handle invalid after */
void sim_sock_abort(sim_sock *s); /* RST now; handle invalid after */
void sim_sock_reset(sim_sock *s); /* fault: RST both ends now, handle stays valid */

uint64_t sim_sock_id(const sim_sock *s);          /* connection id, as in the trace */
sim_host *sim_sock_host(const sim_sock *s);
sim_host *sim_sock_peer(const sim_sock *s);
size_t sim_sock_unread(const sim_sock *s);        /* bytes ready to read */
bool sim_sock_connected(const sim_sock *s);

/* Capture: called for each connection opening (SIM_CAP_SYN, when it is accepted), each
 * run of bytes delivered (SIM_CAP_DATA) and each end of stream delivered (SIM_CAP_FIN),
 * with the sending and receiving hosts. side is 0 when the connecting end sent it. */
enum { SIM_CAP_SYN = 1, SIM_CAP_DATA, SIM_CAP_FIN };
typedef void (*sim_capture_fn)(void *ctx, sim_us t, uint64_t conn, int side, int what,
			       const sim_host *from, const sim_host *to, uint16_t port,
			       const uint8_t *data, size_t len);
void sim_net_capture(sim_world *w, sim_capture_fn fn, void *ctx);

/* Trace MQTT packets decoded from delivered bytes (on by default). */
void sim_net_trace_mqtt(sim_world *w, bool on);

#endif
