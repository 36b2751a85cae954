/*
 * broker_shell_tcp.h - the reference broker on real sockets: epoll, non-blocking I/O, the
 * monotonic clock. The broker core in broker/ never touches the operating system; this does.
 */
#ifndef HARNESS_BROKER_SHELL_TCP_H
#define HARNESS_BROKER_SHELL_TCP_H

#include "broker/broker.h"

#include <signal.h>
#include <stdio.h>

typedef struct broker_tcp_opts {
	const char *host;            /* address to bind, e.g. "127.0.0.1" or "0.0.0.0" */
	unsigned port;               /* 0 picks a free port (printed on the log line) */
	/* A TLS listener beside the plain one, when tls_ctx is set (tls_server_ctx): its
	 * connections reach the core once their handshake is done; one that does not finish
	 * it within BROKER_TLS_HANDSHAKE_S is dropped (logged). */
	struct ssl_ctx_st *tls_ctx;
	const char *tls_host;
	unsigned tls_port;           /* 0 picks a free port ("listening for TLS on ...") */
	/* A WebSocket listener (MQTT over ws://, RFC 6455; harness/ws.h) when ws_host is set, and
	 * over TLS (wss://, with tls_ctx) when wss_host is: a connection reaches the core once its
	 * opening handshake is done (within BROKER_TLS_HANDSHAKE_S too). ws_path NULL takes any
	 * path, else others get 404. cfg.test_faults' BROKER_TF_WS_* break it for tests. */
	const char *ws_host, *wss_host;
	unsigned ws_port, wss_port;  /* 0 picks a free port ("listening for WebSocket on ...") */
	const char *ws_path, *wss_path;
	/* cfg.auth->connect, when set, runs on the shell's worker thread (password hashing
	 * off the event loop), so it must be safe to call from another thread; allow and the
	 * rest stay on the loop. broker/auth.h's broker_auth qualifies. */
	broker_config cfg;
	FILE *log;                   /* one line per event; NULL for silence */
	volatile sig_atomic_t *stop; /* set to non-zero (e.g. from a signal) to shut down */
} broker_tcp_opts;

/* Run until *stop. Returns 0 after a clean shutdown, or -1 with err filled when the
 * listening socket cannot be set up (address in use, bad address...). */
#define BROKER_TLS_HANDSHAKE_S 10

int broker_tcp_run(const broker_tcp_opts *o, char *err, size_t errlen);

#endif
