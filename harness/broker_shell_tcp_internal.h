/*
 * broker_shell_tcp_internal.h - what the socket shell (broker_shell_tcp.c) and its
 * authentication worker (broker_shell_tcp_auth.c) share; not an interface of the harness.
 */
#ifndef MQTTSIM_BROKER_SHELL_TCP_INTERNAL_H
#define MQTTSIM_BROKER_SHELL_TCP_INTERNAL_H

#include "harness/broker_shell_tcp.h"
#include "harness/tls.h"
#include "harness/ws.h"

#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define MAX_AUTH_QUEUE 1024    /* CONNECTs waiting for the worker; past it: CONNACK 3 */

typedef struct tconn {
	bool open;
	bool closing;       /* the core asked to close: flush, then close */
	bool want_out;      /* EPOLLOUT registered */
	bool dead;          /* cut off (write failed, output bound): to be reaped, see reap() */
	bool auth_pending;  /* the worker is checking its CONNECT: not read meanwhile */
	uint64_t gen;       /* which connection on this fd, for late answers from the worker */
	char peer[INET6_ADDRSTRLEN + 8];
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	SSL *ssl;           /* from the TLS listener */
	bool hs;            /* its handshake is not done: the core does not know it yet */
	uint32_t hs_events; /* what the handshake waits for: EPOLLIN or EPOLLOUT */
	int64_t hs_deadline;
	bool tls_done;      /* its TLS handshake is done (a wss connection's WebSocket one follows) */
	bool ws;            /* from a WebSocket listener */
	const char *ws_path;
	uint8_t *ws_req;    /* the opening handshake's request so far (WS_HTTP_MAX bytes) */
	size_t ws_req_len;
	ws_dec dec;
	uint8_t *fbuf;      /* BROKER_TF_WS_FRAME_IS_PACKET: the frame being read */
	size_t fbuf_len;
} tconn;

/* One CONNECT for the worker: copies of what connect() needs, and the answer. */
typedef struct auth_job {
	struct auth_job *next;
	int fd;
	uint64_t gen;
	int rc;
	char *client_id, *username; /* username NULL when the CONNECT had none */
	uint8_t *password;          /* NULL when it had none */
	size_t password_len;
} auth_job;

typedef struct auth_worker {
	const broker_auth *inner;   /* the broker_auth the caller configured */
	broker_auth iface;          /* what the core gets: connect_start, the rest forwarded */
	pthread_t th;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	auth_job *todo, **todo_tail; /* under mu */
	auth_job *done, **done_tail; /* under mu */
	size_t queued;              /* jobs not yet answered to the core (loop thread only) */
	bool full;                  /* the queue hit MAX_AUTH_QUEUE (logged once until it drains) */
	bool stop;                  /* under mu */
	int efd;                    /* eventfd: the worker finished something */
} auth_worker;

typedef struct shell {
	const broker_tcp_opts *o;
	int ep;
	int lfd;
	broker *b;
	tconn *conns;       /* indexed by fd */
	size_t nconns;
	size_t nopen;
	uint64_t next_gen;
	int64_t wake_at;
	int *reap;          /* fds cut off inside a core call, to be closed after it */
	size_t nreap, reap_cap;
	int spare_fd;       /* held open to be given up when accept() runs out of descriptors */
	bool fd_starved;    /* in an out-of-descriptors episode (logged once when it starts) */
	uint64_t fd_refused;
	int64_t listen_resume_at; /* INT64_MAX unless the listener is paused */
	auth_worker *aw;    /* NULL without authentication */
	int tls_lfd;        /* -1 without a TLS listener */
	int ws_lfd, wss_lfd; /* -1 without WebSocket listeners */
	size_t nhs;         /* connections in their TLS handshake */
	int64_t hs_check_at; /* the earliest handshake deadline (INT64_MAX: none) */
} shell;

/* The shell, for the worker's answers (broker_shell_tcp.c). */
tconn *bst__get(shell *sh, int fd);
void bst__update_interest(shell *sh, int fd, tconn *c);
void bst__reap(shell *sh);
void bst__readable(shell *sh, int fd, bool drain);
void bst__logf_(shell *sh, const char *line);

/* The worker (broker_shell_tcp_auth.c). */
void bst__auth_cancel(shell *sh, int fd, uint64_t gen);
void bst__auth_deliver(shell *sh);
int bst__auth_start(shell *sh, const broker_auth *inner, char *err, size_t errlen);
void bst__auth_stop(shell *sh);

#endif
