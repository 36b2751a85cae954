/*
 * interpose.c - preloaded into a broker run under target exec (build/libmqttsim_exec.so).
 *
 * It takes over what would make the broker's run depend on the machine rather than on the
 * seed: its TCP sockets become virtual fds whose every call is a request to mqttsim over the
 * control channel (exec/protocol.h); a blocking wait (epoll, poll, select, sleep, a blocking
 * read) is a request that mqttsim answers from its event loop; the clocks read the virtual
 * time of the last reply; randomness comes from the run's seed. Files, pipes and the log pass
 * through to libc. What cannot be made deterministic (threads, fork) stops the broker with
 * an error naming the call.
 *
 * A virtual fd is a real fd number held by an open /dev/null (so libc and the kernel never
 * hand the same number out twice); the table below says it is virtual. Only calls the broker
 * makes through the dynamic linker are seen: libc's calls to itself are not, which is what
 * keeps getaddrinfo's own sockets and files real.
 *
 * libc only (DESIGN.md, "Folders").
 */
#define _GNU_SOURCE
#include "exec/protocol.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define VFD_MAX 65536
/* The virtual clocks: the wall clock starts at 2026-01-01 00:00:00 UTC, the others at 1000 s
 * (not 0, which some programs treat as "never"). */
#define REALTIME_BASE_S 1767225600LL
#define MONO_BASE_S 1000LL
#define FAKE_PID 4242

enum { K_REAL = 0, K_SOCK, K_EPOLL, K_RANDOM };

typedef struct epitem {
	int fd;
	uint32_t events;
	epoll_data_t data;
} epitem;

typedef struct epset {
	epitem *items;
	size_t n, cap;
} epset;

typedef struct vfd {
	unsigned char kind;
	unsigned char nonblock;
	unsigned char listening;
	unsigned char connected;
	int family;
	uint32_t port;   /* bound */
	exec_peer peer;  /* accepted connections */
	epset *ep;       /* K_EPOLL */
} vfd;

/* Not declared by every libc header set, exported all the same. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);

static vfd tab[VFD_MAX];
static int ctl = -1;
static int64_t now_us;
static int initing, ready;

/* ---- the real functions ------------------------------------------------------------------- */

#define REAL(name) static __typeof__(name) *real_##name
REAL(read);
REAL(write);
REAL(close);
REAL(open);
REAL(openat);
REAL(fopen);
REAL(socket);
REAL(poll);
REAL(ppoll);
REAL(select);
REAL(epoll_wait);
REAL(epoll_ctl);
REAL(epoll_create1);
REAL(ioctl);
REAL(fcntl);
REAL(syscall);
REAL(dup);
REAL(dup2);
REAL(dup3);
REAL(bind);
REAL(listen);
REAL(accept);
REAL(accept4);
REAL(connect);
REAL(getsockname);
REAL(getpeername);
REAL(setsockopt);
REAL(getsockopt);
REAL(shutdown);
REAL(recv);
REAL(recvfrom);
REAL(recvmsg);
REAL(send);
REAL(sendto);
REAL(sendmsg);
REAL(readv);
REAL(writev);

static void *next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		static const char m[] = "libmqttsim_exec: a libc function is missing\n";
		(void)!syscall(SYS_write, 2, m, sizeof m - 1);
		_exit(124);
	}
	return p;
}

#define RESOLVE(name) real_##name = (__typeof__(name) *)next(#name)

static void resolve(void)
{
	RESOLVE(read);
	RESOLVE(write);
	RESOLVE(close);
	RESOLVE(open);
	RESOLVE(openat);
	RESOLVE(fopen);
	RESOLVE(socket);
	RESOLVE(poll);
	RESOLVE(ppoll);
	RESOLVE(select);
	RESOLVE(epoll_wait);
	RESOLVE(epoll_ctl);
	RESOLVE(epoll_create1);
	RESOLVE(ioctl);
	RESOLVE(fcntl);
	RESOLVE(syscall);
	RESOLVE(dup);
	RESOLVE(dup2);
	RESOLVE(dup3);
	RESOLVE(bind);
	RESOLVE(listen);
	RESOLVE(accept);
	RESOLVE(accept4);
	RESOLVE(connect);
	RESOLVE(getsockname);
	RESOLVE(getpeername);
	RESOLVE(setsockopt);
	RESOLVE(getsockopt);
	RESOLVE(shutdown);
	RESOLVE(recv);
	RESOLVE(recvfrom);
	RESOLVE(recvmsg);
	RESOLVE(send);
	RESOLVE(sendto);
	RESOLVE(sendmsg);
	RESOLVE(readv);
	RESOLVE(writev);
}

/* ---- the control channel ------------------------------------------------------------------ */

static void die(const char *why)
{
	char m[256];
	int n = snprintf(m, sizeof m, "libmqttsim_exec: %s\n", why);
	(void)!syscall(SYS_write, 2, m, (size_t)n);
	_exit(124);
}

static void io_all(int wr, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = wr ? real_write(ctl, p, len) : real_read(ctl, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(124); /* mqttsim is gone: nothing to report to */
		p += n;
		len -= (size_t)n;
	}
}

static void init(void);

/* A request and its reply. The reply's data go to out (at most cap bytes; the rest is an
 * error of the protocol). Returns the reply's ret; errno is kept. */
static int64_t call(uint32_t op, int fd, int64_t a, const void *data, size_t len, void *out, size_t cap,
		    size_t *got)
{
	int saved = errno;
	if (!ready)
		init();
	exec_req q = { .op = op, .fd = fd, .a = a, .len = (uint32_t)len };
	io_all(1, &q, sizeof q);
	if (len)
		io_all(1, (void *)data, len);
	exec_rep r;
	io_all(0, &r, sizeof r);
	if (r.len > cap)
		die("a reply longer than asked for");
	if (r.len)
		io_all(0, out, r.len);
	if (got)
		*got = r.len;
	now_us = r.now_us;
	errno = saved;
	return r.ret;
}

static _Noreturn void refuse(const char *name)
{
	if (!ready)
		init();
	exec_req q = { .op = EXEC_REFUSE, .len = (uint32_t)strlen(name) };
	io_all(1, &q, sizeof q);
	io_all(1, (void *)name, q.len);
	_exit(EXEC_REFUSE_EXIT);
}

__attribute__((constructor)) static void init(void)
{
	if (ready || initing)
		return;
	initing = 1;
	resolve();
	const char *e = getenv(EXEC_ENV_FD);
	if (!e || !*e)
		die(EXEC_ENV_FD " is not set: this library runs only inside mqttsim (--broker exec:CMD)");
	ctl = atoi(e);
	if (ctl < 0 || ctl >= VFD_MAX)
		die(EXEC_ENV_FD " is not an fd");
	ready = 1;
	int64_t rc = call(EXEC_HELLO, -1, EXEC_PROTO_VERSION, NULL, 0, NULL, 0, NULL);
	if (rc < 0)
		die("mqttsim speaks another protocol version");
	initing = 0;
}

static int fail(int64_t rc)
{
	errno = (int)-rc;
	return -1;
}

static vfd *virt(int fd)
{
	if (fd < 0 || fd >= VFD_MAX || tab[fd].kind == K_REAL)
		return NULL;
	return &tab[fd];
}

static vfd *sock(int fd)
{
	vfd *v = virt(fd);
	return v && v->kind == K_SOCK ? v : NULL;
}

/* A real fd number to stand for a virtual one. */
static int placeholder(int cloexec)
{
	if (!ready)
		init();
	int fd = real_open("/dev/null", O_RDWR | (cloexec ? O_CLOEXEC : 0));
	if (fd >= VFD_MAX) {
		real_close(fd);
		errno = EMFILE;
		return -1;
	}
	return fd;
}

/* Wait for the run: ents (n of them) and a timeout (-1 none); returns how many are ready,
 * their revents set in place (by fd). */
static int wait_for(exec_pollent *ents, size_t n, int64_t timeout_us)
{
	static exec_pollent out[EXEC_WAIT_MAX];
	if (n > EXEC_WAIT_MAX)
		refuse("a wait on more than 4096 sockets");
	size_t got = 0;
	int64_t rc = call(EXEC_WAIT, -1, timeout_us, ents, n * sizeof *ents, out, sizeof out, &got);
	if (rc < 0)
		return fail(rc);
	/* The ready ones come back in the order asked: one walk matches them. */
	size_t k = got / sizeof *out, j = 0;
	for (size_t i = 0; i < n; i++) {
		if (j < k && out[j].fd == ents[i].fd)
			ents[i].events = out[j++].events;
		else
			ents[i].events = 0;
	}
	return (int)k;
}

static void wait_one(int fd, uint32_t ev)
{
	exec_pollent e = { fd, ev };
	wait_for(&e, 1, -1);
}

static void sleep_us(int64_t us)
{
	wait_for(NULL, 0, us < 0 ? 0 : us);
}

/* ---- data --------------------------------------------------------------------------------- */

static ssize_t v_read(int fd, void *buf, size_t len, int dontwait)
{
	vfd *v = sock(fd);
	if (len > EXEC_DATA_MAX)
		len = EXEC_DATA_MAX;
	for (;;) {
		size_t got = 0;
		int64_t rc = call(EXEC_READ, fd, (int64_t)len, NULL, 0, buf, len, &got);
		if (rc == -EAGAIN && !v->nonblock && !dontwait) {
			wait_one(fd, EXEC_EV_IN);
			continue;
		}
		return rc < 0 ? fail(rc) : (ssize_t)got;
	}
}

static ssize_t v_write(int fd, const void *buf, size_t len, int dontwait)
{
	vfd *v = sock(fd);
	size_t done = 0;
	while (done < len) {
		size_t n = len - done > EXEC_DATA_MAX ? EXEC_DATA_MAX : len - done;
		int64_t rc = call(EXEC_WRITE, fd, 0, (const char *)buf + done, n, NULL, 0, NULL);
		if (rc == -EAGAIN && !v->nonblock && !dontwait) {
			wait_one(fd, EXEC_EV_OUT);
			continue;
		}
		if (rc < 0)
			return done ? (ssize_t)done : fail(rc);
		done += (size_t)rc;
		if ((size_t)rc < n)
			break;
	}
	return (ssize_t)done;
}

static void fill_random(void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		size_t n = len > EXEC_DATA_MAX ? EXEC_DATA_MAX : len, got = 0;
		call(EXEC_RANDOM, -1, (int64_t)n, NULL, 0, p, n, &got);
		if (got != n)
			die("mqttsim sent fewer random bytes than asked for");
		p += n;
		len -= n;
	}
}

EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	vfd *v = virt(fd);
	if (!v)
		return (ready ? real_read : (__typeof__(read) *)next("read"))(fd, buf, len);
	if (v->kind == K_RANDOM) {
		fill_random(buf, len);
		return (ssize_t)len;
	}
	if (v->kind != K_SOCK)
		return fail(-EINVAL);
	return v_read(fd, buf, len, 0);
}

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	vfd *v = sock(fd);
	if (!v)
		return (ready ? real_write : (__typeof__(write) *)next("write"))(fd, buf, len);
	return v_write(fd, buf, len, 0);
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	if (!sock(fd))
		return real_recv(fd, buf, len, flags);
	if (flags & MSG_PEEK)
		refuse("recv with MSG_PEEK");
	return v_read(fd, buf, len, flags & MSG_DONTWAIT);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	if (!sock(fd))
		return real_recvfrom(fd, buf, len, flags, from, fromlen);
	if (from && fromlen)
		*fromlen = 0;
	return recv(fd, buf, len, flags);
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	if (!sock(fd))
		return real_send(fd, buf, len, flags);
	return v_write(fd, buf, len, flags & MSG_DONTWAIT);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
{
	if (!sock(fd))
		return real_sendto(fd, buf, len, flags, to, tolen);
	return send(fd, buf, len, flags);
}

/* Scatter and gather through one bounce buffer: a record carries one run of bytes. */
static ssize_t v_readv(int fd, const struct iovec *iov, int n, int dontwait)
{
	static char bounce[EXEC_DATA_MAX];
	size_t want = 0;
	for (int i = 0; i < n; i++)
		want += iov[i].iov_len;
	ssize_t got = v_read(fd, bounce, want > sizeof bounce ? sizeof bounce : want, dontwait);
	size_t off = 0;
	for (int i = 0; got > 0 && i < n && off < (size_t)got; i++) {
		size_t k = iov[i].iov_len < (size_t)got - off ? iov[i].iov_len : (size_t)got - off;
		memcpy(iov[i].iov_base, bounce + off, k);
		off += k;
	}
	return got;
}

static ssize_t v_writev(int fd, const struct iovec *iov, int n, int dontwait)
{
	static char bounce[EXEC_DATA_MAX];
	size_t len = 0;
	for (int i = 0; i < n && len < sizeof bounce; i++) {
		size_t k = iov[i].iov_len < sizeof bounce - len ? iov[i].iov_len : sizeof bounce - len;
		memcpy(bounce + len, iov[i].iov_base, k);
		len += k;
	}
	return v_write(fd, bounce, len, dontwait);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	return sock(fd) ? v_readv(fd, iov, n, 0) : real_readv(fd, iov, n);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	return sock(fd) ? v_writev(fd, iov, n, 0) : real_writev(fd, iov, n);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	if (!sock(fd))
		return real_recvmsg(fd, m, flags);
	if (flags & MSG_PEEK)
		refuse("recvmsg with MSG_PEEK");
	m->msg_namelen = 0;
	m->msg_controllen = 0;
	m->msg_flags = 0;
	return v_readv(fd, m->msg_iov, (int)m->msg_iovlen, flags & MSG_DONTWAIT);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	if (!sock(fd))
		return real_sendmsg(fd, m, flags);
	if (m->msg_controllen)
		refuse("sendmsg with ancillary data");
	return v_writev(fd, m->msg_iov, (int)m->msg_iovlen, flags & MSG_DONTWAIT);
}

/* ---- sockets ------------------------------------------------------------------------------ */

EXPORT int socket(int domain, int type, int proto)
{
	if (!ready)
		init();
	if (domain != AF_INET && domain != AF_INET6)
		return real_socket(domain, type, proto); /* AF_UNIX, netlink: the machine's own */
	if ((type & 0xff) != SOCK_STREAM)
		return fail(-EPROTONOSUPPORT); /* only TCP is simulated */
	int fd = placeholder(type & SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	memset(&tab[fd], 0, sizeof tab[fd]);
	tab[fd].kind = K_SOCK;
	tab[fd].family = domain;
	tab[fd].nonblock = (type & SOCK_NONBLOCK) != 0;
	call(EXEC_SOCKET, fd, domain, NULL, 0, NULL, 0, NULL);
	return fd;
}

static int port_of(const struct sockaddr *a, socklen_t len)
{
	if (a->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
		return ntohs(((const struct sockaddr_in *)a)->sin_port);
	if (a->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6))
		return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
	return -1;
}

EXPORT int bind(int fd, const struct sockaddr *a, socklen_t len)
{
	vfd *v = sock(fd);
	if (!v)
		return real_bind(fd, a, len);
	int port = a ? port_of(a, len) : -1;
	if (port < 0)
		return fail(-EINVAL);
	int64_t rc = call(EXEC_BIND, fd, port, NULL, 0, NULL, 0, NULL);
	if (rc < 0)
		return fail(rc);
	v->port = (uint32_t)port;
	return 0;
}

EXPORT int listen(int fd, int backlog)
{
	vfd *v = sock(fd);
	if (!v)
		return real_listen(fd, backlog);
	int64_t rc = call(EXEC_LISTEN, fd, backlog, NULL, 0, NULL, 0, NULL);
	if (rc < 0)
		return fail(rc);
	v->listening = 1;
	return 0;
}

/* An address as the family of the socket asks for it: IPv4, or IPv4-mapped IPv6. */
static void put_addr(int family, uint32_t addr, uint32_t port, struct sockaddr *out, socklen_t *len)
{
	if (!out || !len)
		return;
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} u;
	memset(&u, 0, sizeof u);
	socklen_t n;
	if (family == AF_INET6) {
		u.v6.sin6_family = AF_INET6;
		u.v6.sin6_port = htons((uint16_t)port);
		u.v6.sin6_addr.s6_addr[10] = 0xff;
		u.v6.sin6_addr.s6_addr[11] = 0xff;
		uint32_t be = htonl(addr);
		memcpy(&u.v6.sin6_addr.s6_addr[12], &be, 4);
		n = sizeof u.v6;
	} else {
		u.v4.sin_family = AF_INET;
		u.v4.sin_port = htons((uint16_t)port);
		u.v4.sin_addr.s_addr = htonl(addr);
		n = sizeof u.v4;
	}
	memcpy(out, &u, *len < n ? *len : n);
	*len = n;
}

EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
	vfd *v = sock(fd);
	if (!v)
		return real_accept4(fd, a, len, flags);
	for (;;) {
		int nfd = placeholder(flags & SOCK_CLOEXEC);
		if (nfd < 0)
			return -1;
		exec_peer p;
		size_t got = 0;
		int64_t rc = call(EXEC_ACCEPT, fd, nfd, NULL, 0, &p, sizeof p, &got);
		if (rc < 0) {
			real_close(nfd);
			if (rc == -EAGAIN && !v->nonblock) {
				wait_one(fd, EXEC_EV_IN);
				continue;
			}
			return fail(rc);
		}
		memset(&tab[nfd], 0, sizeof tab[nfd]);
		tab[nfd].kind = K_SOCK;
		tab[nfd].family = v->family;
		tab[nfd].port = v->port;
		tab[nfd].peer = p;
		tab[nfd].connected = 1;
		tab[nfd].nonblock = (flags & SOCK_NONBLOCK) != 0;
		put_addr(v->family, p.addr, p.port, a, len);
		return nfd;
	}
}

EXPORT int accept(int fd, struct sockaddr *a, socklen_t *len)
{
	if (!sock(fd))
		return real_accept(fd, a, len);
	return accept4(fd, a, len, 0);
}

EXPORT int connect(int fd, const struct sockaddr *a, socklen_t len)
{
	if (!sock(fd))
		return real_connect(fd, a, len);
	int port = a ? port_of(a, len) : -1;
	return fail(call(EXEC_CONNECT, fd, port, NULL, 0, NULL, 0, NULL));
}

EXPORT int getsockname(int fd, struct sockaddr *a, socklen_t *len)
{
	vfd *v = sock(fd);
	if (!v)
		return real_getsockname(fd, a, len);
	/* The broker's host is 10.0.0.1 (host 0 of the simulation). */
	put_addr(v->family, v->connected ? 0x0a000001u : 0, v->port, a, len);
	return 0;
}

EXPORT int getpeername(int fd, struct sockaddr *a, socklen_t *len)
{
	vfd *v = sock(fd);
	if (!v)
		return real_getpeername(fd, a, len);
	if (!v->connected)
		return fail(-ENOTCONN);
	put_addr(v->family, v->peer.addr, v->peer.port, a, len);
	return 0;
}

EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (!sock(fd))
		return real_setsockopt(fd, level, name, val, len);
	return 0; /* the virtual network has no options to set */
}

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	if (!sock(fd))
		return real_getsockopt(fd, level, name, val, len);
	int v = 0;
	if (level == SOL_SOCKET && name == SO_TYPE)
		v = SOCK_STREAM;
	else if (level == SOL_SOCKET && (name == SO_SNDBUF || name == SO_RCVBUF))
		v = 65536;
	if (val && len && *len >= (socklen_t)sizeof v) {
		memcpy(val, &v, sizeof v);
		*len = sizeof v;
	}
	return 0;
}

EXPORT int shutdown(int fd, int how)
{
	if (!sock(fd))
		return real_shutdown(fd, how);
	int64_t rc = call(EXEC_SHUTDOWN, fd, how, NULL, 0, NULL, 0, NULL);
	return rc < 0 ? fail(rc) : 0;
}

EXPORT int close(int fd)
{
	if (!ready)
		return ((__typeof__(close) *)next("close"))(fd);
	if (fd == ctl)
		return 0; /* the channel to mqttsim outlives a broker that closes every fd */
	vfd *v = virt(fd);
	if (!v)
		return real_close(fd);
	if (v->kind == K_SOCK)
		call(EXEC_CLOSE, fd, 0, NULL, 0, NULL, 0, NULL);
	if (v->ep) {
		free(v->ep->items);
		free(v->ep);
	}
	memset(v, 0, sizeof *v);
	return real_close(fd);
}

static int no_dup(int fd)
{
	if (virt(fd))
		refuse("dup of a socket of the simulation");
	return 0;
}

EXPORT int dup(int fd)
{
	no_dup(fd);
	return real_dup(fd);
}

EXPORT int dup2(int fd, int to)
{
	no_dup(fd);
	if (to == ctl || virt(to))
		refuse("dup2 over a socket of the simulation or mqttsim's channel");
	return real_dup2(fd, to);
}

EXPORT int dup3(int fd, int to, int flags)
{
	no_dup(fd);
	if (to == ctl || virt(to))
		refuse("dup3 over a socket of the simulation or mqttsim's channel");
	return real_dup3(fd, to, flags);
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	if (!ready)
		init();
	vfd *v = virt(fd);
	if (!v)
		return real_fcntl(fd, cmd, arg);
	switch (cmd) {
	case F_GETFL:
		return O_RDWR | (v->nonblock ? O_NONBLOCK : 0);
	case F_SETFL:
		v->nonblock = (arg & O_NONBLOCK) != 0;
		return 0;
	case F_GETFD:
	case F_SETFD:
		return real_fcntl(fd, cmd, arg);
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		refuse("fcntl(F_DUPFD) on a socket of the simulation");
	default:
		return 0;
	}
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return fcntl(fd, cmd, arg);
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!ready)
		init();
	vfd *v = sock(fd);
	if (!v)
		return real_ioctl(fd, req, arg);
	if (req == FIONREAD) {
		int64_t rc = call(EXEC_NREAD, fd, 0, NULL, 0, NULL, 0, NULL);
		if (rc < 0)
			return fail(rc);
		*(int *)arg = (int)rc;
		return 0;
	}
	if (req == FIONBIO) {
		v->nonblock = *(int *)arg != 0;
		return 0;
	}
	return fail(-ENOTTY);
}

/* ---- readiness ---------------------------------------------------------------------------- */

static int64_t ms_to_us(int ms)
{
	return ms < 0 ? -1 : (int64_t)ms * 1000;
}

static int64_t ts_to_us(const struct timespec *ts)
{
	return ts ? (int64_t)ts->tv_sec * 1000000 + ts->tv_nsec / 1000 : -1;
}

static void warn_real(const char *call_name, int fd)
{
	char m[200];
	int n = snprintf(m, sizeof m,
			 "libmqttsim_exec: %s on fd %d, which is not a socket of the simulation: it is never "
			 "reported ready\n", call_name, fd);
	real_write(2, m, (size_t)n);
}

EXPORT int epoll_create1(int flags)
{
	if (!ready)
		init();
	int fd = placeholder(flags & EPOLL_CLOEXEC);
	if (fd < 0)
		return -1;
	memset(&tab[fd], 0, sizeof tab[fd]);
	tab[fd].kind = K_EPOLL;
	tab[fd].ep = calloc(1, sizeof *tab[fd].ep);
	if (!tab[fd].ep)
		die("out of memory");
	return fd;
}

EXPORT int epoll_create(int size)
{
	if (size <= 0)
		return fail(-EINVAL);
	return epoll_create1(0);
}

EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	vfd *e = virt(epfd);
	if (!e || e->kind != K_EPOLL)
		return real_epoll_ctl(epfd, op, fd, ev);
	epset *s = e->ep;
	size_t i = 0;
	while (i < s->n && s->items[i].fd != fd)
		i++;
	if (op == EPOLL_CTL_ADD) {
		if (i < s->n)
			return fail(-EEXIST);
		if (!sock(fd))
			warn_real("epoll_ctl", fd);
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 16;
			epitem *it = realloc(s->items, cap * sizeof *it);
			if (!it)
				return fail(-ENOMEM);
			s->items = it;
			s->cap = cap;
		}
		s->items[s->n++] = (epitem){ fd, ev->events, ev->data };
		return 0;
	}
	if (i == s->n)
		return fail(-ENOENT);
	if (op == EPOLL_CTL_MOD) {
		s->items[i].events = ev->events;
		s->items[i].data = ev->data;
		return 0;
	}
	if (op == EPOLL_CTL_DEL) {
		memmove(&s->items[i], &s->items[i + 1], (s->n - i - 1) * sizeof *s->items);
		s->n--;
		return 0;
	}
	return fail(-EINVAL);
}

static uint32_t ep_to_ev(uint32_t e)
{
	return (e & EPOLLIN ? EXEC_EV_IN : 0) | (e & EPOLLOUT ? EXEC_EV_OUT : 0);
}

static uint32_t ev_to_ep(uint32_t e)
{
	return (e & EXEC_EV_IN ? EPOLLIN : 0) | (e & EXEC_EV_OUT ? EPOLLOUT : 0) |
	       (e & EXEC_EV_ERR ? EPOLLERR : 0) | (e & EXEC_EV_HUP ? EPOLLHUP : 0);
}

EXPORT int epoll_wait(int epfd, struct epoll_event *out, int max, int timeout)
{
	static exec_pollent ents[EXEC_WAIT_MAX];
	static size_t idx[EXEC_WAIT_MAX];
	vfd *e = virt(epfd);
	if (!e || e->kind != K_EPOLL)
		return real_epoll_wait(epfd, out, max, timeout);
	epset *s = e->ep;
	size_t n = 0;
	for (size_t i = 0; i < s->n && n < EXEC_WAIT_MAX; i++)
		if (sock(s->items[i].fd) && ep_to_ev(s->items[i].events)) {
			idx[n] = i;
			ents[n++] = (exec_pollent){ s->items[i].fd, ep_to_ev(s->items[i].events) };
		}
	if (wait_for(ents, n, ms_to_us(timeout)) < 0)
		return -1;
	/* In the order the fds were added: the same order every run. */
	int k = 0;
	for (size_t j = 0; j < n && k < max; j++) {
		if (!ents[j].events)
			continue;
		epitem *it = &s->items[idx[j]];
		out[k].events = ev_to_ep(ents[j].events);
		out[k].data = it->data;
		k++;
		if (it->events & EPOLLONESHOT)
			it->events = 0;
	}
	return k;
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *out, int max, int timeout, const sigset_t *mask)
{
	(void)mask; /* signals are not simulated: nothing arrives during a virtual wait */
	return epoll_wait(epfd, out, max, timeout);
}

static int v_poll(struct pollfd *fds, nfds_t nfds, int64_t timeout_us)
{
	static exec_pollent ents[EXEC_WAIT_MAX];
	size_t n = 0;
	int reals = 0;
	for (nfds_t i = 0; i < nfds; i++) {
		fds[i].revents = 0;
		if (sock(fds[i].fd) && n < EXEC_WAIT_MAX)
			ents[n++] = (exec_pollent){ fds[i].fd, (uint32_t)fds[i].events & (EXEC_EV_IN | EXEC_EV_OUT) };
		else if (fds[i].fd >= 0)
			reals++;
	}
	if (reals && !n)
		return -2; /* only the machine's own fds: the caller asks libc */
	for (nfds_t i = 0; i < nfds; i++)
		if (!sock(fds[i].fd) && fds[i].fd >= 0)
			warn_real("poll", fds[i].fd);
	if (wait_for(ents, n, timeout_us) < 0)
		return -1;
	/* ents[] holds the simulation's fds of fds[] in order: one walk. */
	int k = 0;
	size_t j = 0;
	for (nfds_t i = 0; i < nfds && j < n; i++) {
		if (!sock(fds[i].fd))
			continue;
		fds[i].revents = (short)ents[j++].events;
		k += fds[i].revents != 0;
	}
	return k;
}

EXPORT int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	if (!ready)
		init();
	int k = v_poll(fds, nfds, ms_to_us(timeout));
	return k == -2 ? real_poll(fds, nfds, timeout) : k;
}

EXPORT int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *ts, const sigset_t *mask)
{
	if (!ready)
		init();
	int k = v_poll(fds, nfds, ts_to_us(ts));
	return k == -2 ? real_ppoll(fds, nfds, ts, mask) : k;
}

static int v_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int64_t timeout_us)
{
	static struct pollfd p[FD_SETSIZE];
	nfds_t n = 0;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
		short ev = (short)((rd && FD_ISSET(fd, rd) ? POLLIN : 0) | (wr && FD_ISSET(fd, wr) ? POLLOUT : 0));
		if (ev || (ex && FD_ISSET(fd, ex)))
			p[n++] = (struct pollfd){ fd, ev, 0 };
	}
	int k = v_poll(p, n, timeout_us);
	if (k < 0)
		return k;
	if (rd)
		FD_ZERO(rd);
	if (wr)
		FD_ZERO(wr);
	if (ex)
		FD_ZERO(ex);
	k = 0;
	for (nfds_t i = 0; i < n; i++) {
		if (rd && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
			FD_SET(p[i].fd, rd);
			k++;
		}
		if (wr && (p[i].revents & (POLLOUT | POLLERR))) {
			FD_SET(p[i].fd, wr);
			k++;
		}
	}
	return k;
}

EXPORT int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	if (!ready)
		init();
	fd_set r0, w0, e0;
	if (rd)
		r0 = *rd;
	if (wr)
		w0 = *wr;
	if (ex)
		e0 = *ex;
	int k = v_select(nfds, rd, wr, ex, tv ? (int64_t)tv->tv_sec * 1000000 + tv->tv_usec : -1);
	if (k != -2)
		return k;
	if (rd)
		*rd = r0;
	if (wr)
		*wr = w0;
	if (ex)
		*ex = e0;
	return real_select(nfds, rd, wr, ex, tv);
}

EXPORT int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts, const sigset_t *mask)
{
	(void)mask;
	if (!ready)
		init();
	int k = v_select(nfds, rd, wr, ex, ts_to_us(ts));
	if (k == -2)
		refuse("pselect on fds that are not sockets of the simulation");
	return k;
}

/* ---- time --------------------------------------------------------------------------------- */

EXPORT int clock_gettime(clockid_t clk, struct timespec *ts)
{
	if (!ready)
		init();
	int64_t base = clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE ? REALTIME_BASE_S : MONO_BASE_S;
	ts->tv_sec = (time_t)(base + now_us / 1000000);
	ts->tv_nsec = (long)(now_us % 1000000) * 1000;
	return 0;
}

/* glibc declares tv non-null, yet gettimeofday(NULL, ...) is legal and harmless. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnonnull-compare"
EXPORT int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	(void)tz;
	if (!ready)
		init();
	if (tv) {
		tv->tv_sec = (time_t)(REALTIME_BASE_S + now_us / 1000000);
		tv->tv_usec = (suseconds_t)(now_us % 1000000);
	}
	return 0;
}
#pragma GCC diagnostic pop

EXPORT time_t time(time_t *t)
{
	if (!ready)
		init();
	time_t v = (time_t)(REALTIME_BASE_S + now_us / 1000000);
	if (t)
		*t = v;
	return v;
}

EXPORT int timespec_get(struct timespec *ts, int base)
{
	if (base != TIME_UTC)
		return 0;
	clock_gettime(CLOCK_REALTIME, ts);
	return base;
}

EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	sleep_us(ts_to_us(req));
	if (rem)
		memset(rem, 0, sizeof *rem);
	return 0;
}

EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem)
{
	int64_t us = ts_to_us(req);
	if (flags & TIMER_ABSTIME) {
		struct timespec now;
		clock_gettime(clk, &now);
		us -= ts_to_us(&now);
	}
	sleep_us(us);
	if (rem)
		memset(rem, 0, sizeof *rem);
	return 0;
}

EXPORT int usleep(useconds_t us)
{
	sleep_us((int64_t)us);
	return 0;
}

EXPORT unsigned int sleep(unsigned int s)
{
	sleep_us((int64_t)s * 1000000);
	return 0;
}

/* ---- randomness, identity ----------------------------------------------------------------- */

EXPORT ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
	(void)flags;
	fill_random(buf, len);
	return (ssize_t)len;
}

EXPORT int getentropy(void *buf, size_t len)
{
	if (len > 256)
		return fail(-EIO);
	fill_random(buf, len);
	return 0;
}

static int is_random_dev(const char *path)
{
	return path && (!strcmp(path, "/dev/urandom") || !strcmp(path, "/dev/random"));
}

static int random_fd(int flags)
{
	int fd = placeholder(flags & O_CLOEXEC);
	if (fd < 0)
		return -1;
	memset(&tab[fd], 0, sizeof tab[fd]);
	tab[fd].kind = K_RANDOM;
	return fd;
}

EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	if (!ready)
		return ((__typeof__(open) *)next("open"))(path, flags, mode);
	return is_random_dev(path) ? random_fd(flags) : real_open(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	return open(path, flags, mode);
}

EXPORT int __open_2(const char *path, int flags)
{
	return open(path, flags, 0);
}

EXPORT int __open64_2(const char *path, int flags)
{
	return open(path, flags, 0);
}

EXPORT int openat(int dir, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	if (!ready)
		init();
	return is_random_dev(path) ? random_fd(flags) : real_openat(dir, path, flags, mode);
}

EXPORT int openat64(int dir, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	return openat(dir, path, flags, mode);
}

static ssize_t cookie_read(void *c, char *buf, size_t len)
{
	(void)c;
	fill_random(buf, len);
	return (ssize_t)len;
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	if (!ready)
		init();
	if (!is_random_dev(path))
		return real_fopen(path, mode);
	cookie_io_functions_t io = { .read = cookie_read };
	return fopencookie(NULL, "r", io);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return fopen(path, mode);
}

EXPORT pid_t getpid(void)
{
	return FAKE_PID;
}

EXPORT pid_t getppid(void)
{
	return 1;
}

EXPORT int gethostname(char *name, size_t len)
{
	static const char h[] = "broker";
	if (len < sizeof h)
		return fail(-ENAMETOOLONG);
	memcpy(name, h, sizeof h);
	return 0;
}

EXPORT long syscall(long no, ...)
{
	va_list ap;
	va_start(ap, no);
	long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!ready)
		init();
	switch (no) {
	case SYS_getrandom:
		return getrandom((void *)a[0], (size_t)a[1], (unsigned)a[2]);
	case SYS_clock_gettime:
		return clock_gettime((clockid_t)a[0], (struct timespec *)a[1]);
	case SYS_gettimeofday:
		return gettimeofday((struct timeval *)a[0], (void *)a[1]);
	case SYS_getpid:
		return FAKE_PID;
	case SYS_clone:
	case SYS_fork:
	case SYS_vfork:
#ifdef SYS_clone3
	case SYS_clone3:
#endif
		refuse("syscall(SYS_clone)");
	default:
		return real_syscall(no, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
}

/* ---- what cannot run in virtual time ------------------------------------------------------ */

EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	(void)t, (void)attr, (void)fn, (void)arg;
	refuse("pthread_create");
}

EXPORT pid_t fork(void)
{
	refuse("fork");
}

EXPORT pid_t vfork(void)
{
	refuse("vfork");
}

EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	(void)fn, (void)stack, (void)arg;
	refuse(flags & CLONE_THREAD ? "clone with CLONE_THREAD" : "clone");
}

EXPORT int system(const char *cmd)
{
	(void)cmd;
	refuse("system");
}
