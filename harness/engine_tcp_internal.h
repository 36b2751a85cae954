/*
 * engine_tcp_internal.h - what the TCP engine (engine_tcp.c) and its probe
 * (engine_tcp_probe.c) share; not an interface of the harness.
 */
#ifndef MQTTSIM_ENGINE_TCP_INTERNAL_H
#define MQTTSIM_ENGINE_TCP_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

/* The address the probe reached (run_probe_broker), for the runs after it (worker processes
 * inherit it): a name such as localhost may resolve to ::1 first while the broker listens on
 * 127.0.0.1 only. */
struct engine_tcp_probed {
	bool set;
	char host[256];
	unsigned port;
	struct sockaddr_storage addr;
	socklen_t len;
};
extern struct engine_tcp_probed engine_tcp__probed;

#endif
