/*
 * protocol.h - the control channel between mqttsim and a broker run under target exec.
 *
 * One socketpair, inherited by the broker as the fd named in MQTTSIM_EXEC_FD. Every record
 * is a fixed header, then `len` bytes. The broker's interposition library (exec/interpose.c)
 * sends a request and blocks until mqttsim replies; mqttsim answers at once, except a WAIT
 * that nothing satisfies yet, which it answers from its event loop when a watched socket
 * becomes ready or the deadline passes. So the broker runs only while mqttsim waits for it.
 *
 * Both sides are the same machine and the same build: the records are in host byte order.
 * Shared by exec/ (libc only) and harness/broker_shell_exec.c.
 */
#ifndef EXEC_PROTOCOL_H
#define EXEC_PROTOCOL_H

#include <stdint.h>

#define EXEC_ENV_FD "MQTTSIM_EXEC_FD"
#define EXEC_PROTO_VERSION 1
#define EXEC_DATA_MAX 65536 /* bytes in one record: longer reads and writes are cut */
#define EXEC_WAIT_MAX 4096  /* fds in one WAIT */
#define EXEC_REFUSE_EXIT 125 /* the broker's exit status after a refused call */

enum exec_op {
	EXEC_HELLO = 1, /* a: protocol version. reply: ret 0, now */
	EXEC_SOCKET,    /* fd: the broker's new fd; a: domain */
	EXEC_BIND,      /* fd; a: port */
	EXEC_LISTEN,    /* fd */
	EXEC_ACCEPT,    /* fd: listener; a: the broker's fd for the connection. reply: exec_peer */
	EXEC_CONNECT,   /* fd; a: port (outgoing connections are not simulated yet: refused) */
	EXEC_READ,      /* fd; a: most bytes. reply: the bytes, ret their count, 0 EOF, -errno */
	EXEC_WRITE,     /* fd; data. ret: bytes taken or -errno */
	EXEC_CLOSE,     /* fd */
	EXEC_SHUTDOWN,  /* fd; a: how */
	EXEC_NREAD,     /* fd. ret: bytes ready to read */
	EXEC_WAIT,      /* a: timeout in us (-1: none); data: exec_pollent[]. reply: the ready ones */
	EXEC_RANDOM,    /* a: bytes wanted. reply: that many from the run's stream */
	EXEC_REFUSE,    /* data: the call's name. No reply: the broker exits */
};

typedef struct exec_req {
	uint32_t op;
	int32_t fd;
	int64_t a;
	uint32_t len;
	uint32_t pad;
} exec_req;

typedef struct exec_rep {
	int64_t ret;    /* >= 0, or -errno */
	int64_t now_us; /* the broker's virtual clock after this request */
	uint32_t len;
	uint32_t pad;
} exec_rep;

/* Readiness bits, the values of poll(2)'s POLLIN, POLLOUT, POLLERR, POLLHUP. */
enum { EXEC_EV_IN = 0x1, EXEC_EV_OUT = 0x4, EXEC_EV_ERR = 0x8, EXEC_EV_HUP = 0x10 };

typedef struct exec_pollent {
	int32_t fd;
	uint32_t events; /* asked for; in a reply, those that are ready */
} exec_pollent;

/* Where an accepted connection comes from: an IPv4 address and port the simulation made up
 * from the client's host index and connection id (stable for a seed). */
typedef struct exec_peer {
	uint32_t addr; /* host order */
	uint32_t port;
} exec_peer;

#endif
