/*
 * bench_sim.c - events per second of the simulation core: timer churn plus byte delivery
 * over 1,000 connections. Prints figures; the wall clock is read here only, never in sim/.
 *
 * Targets (issues #3, #19): at least 5 million events/s on one core in every mode, and the
 * lossy and traced modes within 1.3x of the plain mode's wall time per delivered byte.
 * Each line says MET or MISSED; the ratios need the plain mode run first (all modes).
 */
#define _POSIX_C_SOURCE 200809L
#include "sim/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONNS 1000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct client {
	sim_sock *s;
	sim_timer tick;      /* writes a message every 10 ms */
	sim_timer keepalive; /* re-armed on every read: the churn a broker sees */
	sim_world *w;
} client;

typedef struct server_conn {
	sim_timer keepalive;
	sim_world *w;
} server_conn;

static server_conn servers[CONNS];
static int nservers;
static uint64_t bytes_read;

static void noop(sim_world *w, sim_timer *t)
{
	(void)w;
	(void)t;
}

static void srv_readable(sim_sock *s, void *ctx)
{
	server_conn *sc = ctx;
	char buf[4096];
	long n;
	while ((n = sim_sock_read(s, buf, sizeof buf)) > 0) {
		bytes_read += (uint64_t)n;
		sim_timer_after(sc->w, &sc->keepalive, SIM_S(90));
	}
}

static const sim_sock_ops srv_ops = { .on_readable = srv_readable };

static void on_accept(sim_sock *s, void *ctx)
{
	sim_world *w = ctx;
	server_conn *sc = &servers[nservers++];
	sc->w = w;
	sim_timer_init(&sc->keepalive, noop, NULL);
	sim_sock_set_ops(s, &srv_ops, sc);
}

static void tick(sim_world *w, sim_timer *t)
{
	client *c = t->arg;
	static const char msg[64] = "greenhouse/12/temperature 21.5";
	if (c->s && sim_sock_connected(c->s))
		sim_sock_write(c->s, msg, sizeof msg);
	sim_timer_after(w, &c->keepalive, SIM_S(60));
	sim_timer_after(w, t, SIM_MS(10));
}

static const sim_sock_ops cl_ops = { 0 };

#define TARGET_EVENTS_PER_S 5e6
#define TARGET_RATIO 1.3

/* Seconds per delivered byte of the plain mode, once it has run; 0 before. */
static double plain_s_per_byte;

static void run(const char *name, bool trace, bool lossy)
{
	static client cl[CONNS];
	sim_world *w = sim_world_new(1);
	sim_trace_enable(w, trace);
	sim_net_trace_mqtt(w, false);
	sim_link l = { .latency_us = SIM_MS(5), .jitter_us = SIM_MS(2) };
	if (lossy) {
		l.loss = 0.01;
		l.slice_max = 16;
	}
	sim_net_set_default(w, &l);
	sim_host *b = sim_host_add(w, "broker");
	sim_listen(b, 1883, on_accept, w);
	nservers = 0;
	bytes_read = 0;
	for (int i = 0; i < CONNS; i++) {
		char hn[32];
		snprintf(hn, sizeof hn, "node-%d", i);
		sim_host *h = sim_host_add(w, hn);
		cl[i].w = w;
		cl[i].s = sim_connect(h, b, 1883, &cl_ops, &cl[i]);
		sim_timer_init(&cl[i].tick, tick, &cl[i]);
		sim_timer_init(&cl[i].keepalive, noop, NULL);
		sim_timer_arm(w, &cl[i].tick, SIM_MS(100) + i);
	}
	double t0 = now_s();
	uint64_t s0 = sim_steps(w);
	sim_run(w, SIM_S(10), 0);
	double dt = now_s() - t0;
	uint64_t ev = sim_steps(w) - s0;
	double rate = ev / dt, per_byte = bytes_read ? dt / (double)bytes_read : 0;
	printf("sim %-34s %9.2f M events/s  (%llu events, %.1f MB delivered, %.2f s)  target >= %.0f M: %s\n",
	       name, rate / 1e6, (unsigned long long)ev, bytes_read / 1e6, dt, TARGET_EVENTS_PER_S / 1e6,
	       rate >= TARGET_EVENTS_PER_S ? "MET" : "MISSED");
	if (!trace && !lossy) {
		plain_s_per_byte = per_byte;
	} else if (plain_s_per_byte > 0) {
		double ratio = per_byte / plain_s_per_byte;
		printf("    %-34s %9.2fx the plain mode's time per delivered byte  target <= %.1fx: %s\n", name,
		       ratio, TARGET_RATIO, ratio <= TARGET_RATIO ? "MET" : "MISSED");
	}
	for (int i = 0; i < CONNS; i++) {
		sim_timer_cancel(w, &cl[i].tick);
		sim_timer_cancel(w, &cl[i].keepalive);
	}
	for (int i = 0; i < nservers; i++)
		sim_timer_cancel(w, &servers[i].keepalive);
	sim_world_free(w);
}

int main(void)
{
	printf("mqttsim simulation core benchmark (1,000 connections, 10 s virtual; target >= 5 M events/s)\n");
	/* MQTTSIM_BENCH_ONLY=N runs only the N-th mode (1..3), for a profile of one. */
	const char *only = getenv("MQTTSIM_BENCH_ONLY");
	int k = only ? atoi(only) : 0;
	if (!k || k == 1)
		run("trace off", false, false);
	if (!k || k == 2)
		run("trace off, 1% loss, slicing", false, true);
	if (!k || k == 3)
		run("trace on (hashed, not kept)", true, false);
	return 0;
}
