/*
 * broker_shell_exec.c - target exec: a real broker binary in virtual time (exec/README.md).
 *
 * The broker is a child process with exec/interpose.c preloaded. Each of its socket, wait,
 * time and randomness calls is a request on the control channel (exec/protocol.h); this
 * shell answers on the simulated host - a listening socket of the broker is sim_listen on
 * the host, an accepted one a virtual connection - so every client engine, fault and trace
 * line is the one target sim has. A WAIT that nothing satisfies yet is left unanswered: the
 * broker blocks, the event loop runs on, and an accept, a readable or writable connection
 * or the deadline (a host timer) answers it from a zero-delay timer. The broker thus runs
 * only inside an event of the loop, and the loop's order is the run's order.
 *
 * A broker that does not hand control back within EXEC_HANDBACK_MS of wall time (a busy
 * loop, a blocking call the library does not cover) is stopped: the bound is a guard, not
 * part of the run's timing.
 */
#define _GNU_SOURCE /* realpath, syscall(SYS_close_range) */
#include "harness/broker_shell_exec.h"
#include "exec/protocol.h"
#include "mqtt/alloc.h"
#include "sim/sim.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXEC_HANDBACK_MS 20000
#define EXEC_FDS_MAX 65536
#define LOG_NAME "broker.log"
#define CONF_NAME "mosquitto.conf"

enum { X_SOCK = 1, X_LISTEN, X_ALIAS, X_CONN };

typedef struct xsock {
	struct broker_exec *be;
	int fd;          /* the broker's fd; -1 while in the accept queue */
	int kind;
	uint16_t port;
	sim_sock *s;     /* X_CONN */
	bool readable;   /* on_readable since the broker last read -EAGAIN */
	bool wr_blocked; /* the last write was cut short, no on_writable since */
	exec_peer peer;
	struct xsock *qnext; /* accept queue */
} xsock;

struct broker_exec {
	sim_world *w;
	sim_host *h;
	uint16_t port;
	char **argv;
	char path[4096];   /* the executable */
	char dir[4096];    /* the run's directory */
	char lib[4096];
	pid_t pid;         /* 0: not running */
	int ctl;           /* -1: not running */
	xsock **fds;       /* by the broker's fd */
	xsock *aq, *aq_tail; /* accepted by the host, not yet by the broker */
	bool waiting;      /* a WAIT is unanswered */
	exec_pollent *went;
	size_t wn;
	sim_timer kick, deadline;
	bool deadline_hit;
	sim_rng rng;
	char *error;       /* malloc'd */
	bool killing;      /* we stop it: its end is no error */
	bool starting;     /* before its first wait */
};

static void set_error(broker_exec *be, const char *fmt, const char *arg, int status);

/* ---- the broker's fds ----------------------------------------------------------------------- */

static xsock *xs_at(broker_exec *be, int fd)
{
	return fd >= 0 && fd < EXEC_FDS_MAX ? be->fds[fd] : NULL;
}

static void xs_free(broker_exec *be, xsock *x, bool sockets_alive)
{
	if (sockets_alive) {
		if (x->kind == X_LISTEN)
			sim_unlisten(be->h, x->port);
		/* FIN after what the broker wrote. A real stack answers a close with unread
		 * bytes by RST, but only after what it sent is on the wire; sim_sock_abort
		 * would drop that too (a CONNACK before a close, say). */
		if (x->s)
			sim_sock_close(x->s);
	}
	if (x->fd >= 0 && x->fd < EXEC_FDS_MAX && be->fds[x->fd] == x)
		be->fds[x->fd] = NULL;
	free(x);
}

/* Every socket of the broker, as when its process ends (or its host crashed: then the
 * simulation has already dropped them). */
static void drop_all(broker_exec *be, bool sockets_alive)
{
	for (int fd = 0; fd < EXEC_FDS_MAX; fd++)
		if (be->fds[fd])
			xs_free(be, be->fds[fd], sockets_alive);
	while (be->aq) {
		xsock *x = be->aq;
		be->aq = x->qnext;
		xs_free(be, x, sockets_alive);
	}
	be->aq_tail = NULL;
	be->waiting = false;
	sim_timer_cancel(be->w, &be->kick);
	sim_timer_cancel(be->w, &be->deadline);
}

/* ---- the child ------------------------------------------------------------------------------ */

static void reap(broker_exec *be, bool kill_it)
{
	if (be->ctl >= 0)
		close(be->ctl);
	be->ctl = -1;
	if (!be->pid)
		return;
	if (kill_it)
		kill(be->pid, SIGKILL);
	int st = 0;
	while (waitpid(be->pid, &st, 0) < 0 && errno == EINTR)
		;
	be->pid = 0;
}

/* The child went away (EOF on the channel): how, for the error. */
static int reap_status(broker_exec *be)
{
	int st = 0;
	if (be->ctl >= 0)
		close(be->ctl);
	be->ctl = -1;
	if (be->pid) {
		while (waitpid(be->pid, &st, 0) < 0 && errno == EINTR)
			;
		be->pid = 0;
	}
	return st;
}

static bool io_all(broker_exec *be, bool wr, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		if (!wr) {
			struct pollfd pf = { be->ctl, POLLIN, 0 };
			int r = poll(&pf, 1, EXEC_HANDBACK_MS);
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0) {
				set_error(be, "exec: the broker did not hand control back within %s s of wall time (a busy "
					      "loop, or a blocking call the library does not cover); it was stopped",
					  "20", -1);
				reap(be, true);
				return false;
			}
		}
		ssize_t n = wr ? send(be->ctl, p, len, MSG_NOSIGNAL) : read(be->ctl, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool reply(broker_exec *be, int64_t ret, const void *data, size_t len)
{
	exec_rep r = { .ret = ret, .now_us = sim_host_now(be->h), .len = (uint32_t)len };
	return io_all(be, true, &r, sizeof r) && (!len || io_all(be, true, (void *)data, len));
}

/* ---- readiness ------------------------------------------------------------------------------ */

static uint32_t ready_of(broker_exec *be, const exec_pollent *e)
{
	xsock *x = xs_at(be, e->fd);
	if (!x)
		return 0;
	uint32_t r = 0;
	if (x->kind == X_LISTEN && be->aq && (e->events & EXEC_EV_IN))
		r |= EXEC_EV_IN;
	if (x->kind == X_CONN && x->s) {
		if ((e->events & EXEC_EV_IN) && (x->readable || sim_sock_unread(x->s)))
			r |= EXEC_EV_IN;
		if ((e->events & EXEC_EV_OUT) && !x->wr_blocked)
			r |= EXEC_EV_OUT;
	}
	return r;
}

/* The ready entries of the pending WAIT, into out (as many as went). */
static size_t ready_set(broker_exec *be, exec_pollent *out)
{
	size_t k = 0;
	for (size_t i = 0; i < be->wn; i++) {
		uint32_t r = ready_of(be, &be->went[i]);
		if (r)
			out[k++] = (exec_pollent){ be->went[i].fd, r };
	}
	return k;
}

static void poke(broker_exec *be)
{
	if (be->waiting && !sim_timer_armed(&be->kick))
		sim_timer_after(be->w, &be->kick, 0);
}

/* ---- requests ------------------------------------------------------------------------------- */

static void serve(broker_exec *be);

static int64_t on_listen(broker_exec *be, xsock *x);

static void on_sock_readable(sim_sock *s, void *ctx)
{
	xsock *x = ctx;
	(void)s;
	x->readable = true;
	poke(x->be);
}

static void on_sock_writable(sim_sock *s, void *ctx)
{
	xsock *x = ctx;
	(void)s;
	x->wr_blocked = false;
	poke(x->be);
}

static const sim_sock_ops conn_ops = { .on_readable = on_sock_readable, .on_writable = on_sock_writable };

static void on_accept(sim_sock *s, void *ctx)
{
	xsock *l = ctx;
	broker_exec *be = l->be;
	xsock *c = mqtt_xcalloc(1, sizeof *c);
	c->be = be;
	c->fd = -1;
	c->kind = X_CONN;
	c->s = s;
	c->port = l->port;
	/* 10.0.0.1 is host 0; the port is made up from the connection id, stable for a seed. */
	c->peer.addr = 0x0a000001u + sim_host_index(sim_sock_peer(s));
	c->peer.port = 32768 + (uint32_t)(sim_sock_id(s) % 28000);
	sim_sock_set_ops(s, &conn_ops, c);
	if (be->aq_tail)
		be->aq_tail->qnext = c;
	else
		be->aq = c;
	be->aq_tail = c;
	poke(be);
}

static int64_t on_listen(broker_exec *be, xsock *x)
{
	for (int fd = 0; fd < EXEC_FDS_MAX; fd++) {
		xsock *o = be->fds[fd];
		if (o && o != x && o->kind == X_LISTEN && o->port == x->port) {
			/* IPv4 and IPv6 listeners on one port: one listener of the host; the
			 * connections all arrive on the first. */
			x->kind = X_ALIAS;
			return 0;
		}
	}
	int rc = sim_listen(be->h, x->port, on_accept, x);
	if (rc < 0)
		return rc;
	x->kind = X_LISTEN;
	return 0;
}

static int64_t do_read(broker_exec *be, xsock *x, int64_t want, uint8_t *buf)
{
	(void)be;
	if (!x || x->kind != X_CONN)
		return x ? -ENOTCONN : -EBADF;
	if (!x->s)
		return 0;
	size_t n = want < 0 ? 0 : want > EXEC_DATA_MAX ? EXEC_DATA_MAX : (size_t)want;
	long got = sim_sock_read(x->s, buf, n);
	if (got == -EAGAIN)
		x->readable = false;
	return got;
}

/* One request; false when the broker is gone or blocks (a WAIT left pending). */
static bool handle(broker_exec *be, const exec_req *q, uint8_t *data)
{
	static uint8_t out[EXEC_DATA_MAX];
	xsock *x = xs_at(be, q->fd);
	switch (q->op) {
	case EXEC_HELLO:
		return reply(be, q->a == EXEC_PROTO_VERSION ? 0 : -EPROTO, NULL, 0);
	case EXEC_SOCKET: {
		if (q->fd < 0 || q->fd >= EXEC_FDS_MAX)
			return reply(be, -EMFILE, NULL, 0);
		if (x)
			xs_free(be, x, true); /* a stale entry: the fd was closed behind our back */
		x = mqtt_xcalloc(1, sizeof *x);
		x->be = be;
		x->fd = q->fd;
		x->kind = X_SOCK;
		be->fds[q->fd] = x;
		return reply(be, 0, NULL, 0);
	}
	case EXEC_BIND:
		if (!x)
			return reply(be, -EBADF, NULL, 0);
		x->port = (uint16_t)q->a;
		return reply(be, 0, NULL, 0);
	case EXEC_LISTEN:
		if (!x)
			return reply(be, -EBADF, NULL, 0);
		return reply(be, x->kind == X_SOCK ? on_listen(be, x) : -EINVAL, NULL, 0);
	case EXEC_ACCEPT: {
		if (!x || (x->kind != X_LISTEN && x->kind != X_ALIAS))
			return reply(be, -EINVAL, NULL, 0);
		if (x->kind == X_ALIAS || !be->aq || q->a < 0 || q->a >= EXEC_FDS_MAX)
			return reply(be, -EAGAIN, NULL, 0);
		xsock *c = be->aq;
		be->aq = c->qnext;
		if (!be->aq)
			be->aq_tail = NULL;
		c->qnext = NULL;
		c->fd = (int)q->a;
		if (be->fds[c->fd])
			xs_free(be, be->fds[c->fd], true);
		be->fds[c->fd] = c;
		return reply(be, 0, &c->peer, sizeof c->peer);
	}
	case EXEC_CONNECT:
		/* Outgoing connections (bridges) are not simulated yet. */
		return reply(be, -ECONNREFUSED, NULL, 0);
	case EXEC_READ: {
		int64_t rc = do_read(be, x, q->a, out);
		return reply(be, rc, out, rc > 0 ? (size_t)rc : 0);
	}
	case EXEC_WRITE: {
		if (!x || x->kind != X_CONN)
			return reply(be, x ? -ENOTCONN : -EBADF, NULL, 0);
		if (!x->s)
			return reply(be, -EPIPE, NULL, 0);
		long n = sim_sock_write(x->s, data, q->len);
		if (n == -EAGAIN || (n >= 0 && (size_t)n < q->len))
			x->wr_blocked = true;
		return reply(be, n, NULL, 0);
	}
	case EXEC_CLOSE:
		if (x)
			xs_free(be, x, true);
		return reply(be, x ? 0 : -EBADF, NULL, 0);
	case EXEC_SHUTDOWN:
		/* The stream ends at close; a half-close is not simulated yet. */
		return reply(be, x ? 0 : -EBADF, NULL, 0);
	case EXEC_NREAD:
		return reply(be, x && x->s ? (int64_t)sim_sock_unread(x->s) : 0, NULL, 0);
	case EXEC_RANDOM: {
		size_t n = q->a < 0 ? 0 : q->a > EXEC_DATA_MAX ? EXEC_DATA_MAX : (size_t)q->a;
		for (size_t i = 0; i < n; i += 8) {
			uint64_t v = sim_rng_u64(&be->rng);
			for (size_t k = 0; k < 8 && i + k < n; k++)
				out[i + k] = (uint8_t)(v >> (8 * k));
		}
		return reply(be, (int64_t)n, out, n);
	}
	case EXEC_WAIT: {
		size_t n = q->len / sizeof(exec_pollent);
		be->went = mqtt_xrealloc(be->went, (n ? n : 1) * sizeof *be->went);
		memcpy(be->went, data, n * sizeof *be->went);
		be->wn = n;
		exec_pollent *r = (exec_pollent *)out;
		size_t k = ready_set(be, r);
		if (k || q->a == 0)
			return reply(be, (int64_t)k, r, k * sizeof *r);
		be->waiting = true;
		be->deadline_hit = false;
		if (q->a > 0)
			sim_host_timer_after(be->h, &be->deadline, q->a);
		return false;
	}
	case EXEC_REFUSE: {
		char name[256];
		size_t n = q->len < sizeof name - 1 ? q->len : sizeof name - 1;
		memcpy(name, data, n);
		name[n] = 0;
		set_error(be, "exec: the broker called %s; only a single-threaded broker that does not fork can run "
			      "in virtual time",
			  name, -1);
		be->killing = true;
		reap(be, true);
		return false;
	}
	default:
		set_error(be, "exec: the broker's library sent request %s, which this mqttsim does not know", "?", -1);
		reap(be, true);
		return false;
	}
}

/* Read and answer requests until the broker blocks in a WAIT or is gone. */
static void serve(broker_exec *be)
{
	static uint8_t data[EXEC_DATA_MAX + EXEC_WAIT_MAX * sizeof(exec_pollent)];
	while (be->ctl >= 0) {
		exec_req q;
		if (!io_all(be, false, &q, sizeof q) || q.len > sizeof data || (q.len && !io_all(be, false, data, q.len))) {
			if (be->ctl < 0)
				break; /* stopped by the guard */
			int st = reap_status(be);
			if (!be->killing)
				set_error(be, be->starting ? "exec: the broker exited at start (%s)"
							   : "exec: the broker exited during the run (%s)", NULL, st);
			drop_all(be, true);
			sim_trace(be->w, sim_host_name(be->h), 0, "exec", "the broker exited");
			return;
		}
		if (!handle(be, &q, data)) {
			if (be->ctl < 0)
				drop_all(be, true);
			return;
		}
	}
}

/* The pending WAIT, answered when something in it is ready or its deadline passed. */
static void resume(broker_exec *be)
{
	static exec_pollent r[EXEC_WAIT_MAX];
	if (!be->waiting || be->ctl < 0)
		return;
	size_t k = ready_set(be, r);
	if (!k && !be->deadline_hit)
		return;
	be->waiting = false;
	be->deadline_hit = false;
	sim_timer_cancel(be->w, &be->deadline);
	sim_timer_cancel(be->w, &be->kick);
	if (!reply(be, (int64_t)k, r, k * sizeof *r)) {
		serve(be); /* notices the end and says so */
		return;
	}
	serve(be);
}

static void kick_fire(sim_world *w, sim_timer *t)
{
	(void)w;
	resume(t->arg);
}

static void deadline_fire(sim_world *w, sim_timer *t)
{
	broker_exec *be = t->arg;
	(void)w;
	be->deadline_hit = true;
	resume(be);
}

/* ---- starting ------------------------------------------------------------------------------- */

static void set_error(broker_exec *be, const char *fmt, const char *arg, int status)
{
	if (be->error)
		return; /* the first says why */
	char how[96] = "";
	if (status >= 0) {
		if (WIFEXITED(status))
			snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
		else
			snprintf(how, sizeof how, "status %d", status);
	}
	char line[1024];
	snprintf(line, sizeof line, fmt, arg ? arg : how);
	be->error = mqtt_xstrdup(line);
}

/* The broker's output so far (its log file), for an error. */
static char *log_tail(const broker_exec *be)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/" LOG_NAME, be->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return mqtt_xstrdup("");
	char buf[4096];
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0, SEEK_SET);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	return mqtt_xstrdup(buf);
}

const char *broker_exec_lib(char *buf, size_t cap)
{
	const char *e = getenv("MQTTSIM_EXEC_LIB");
	if (e && *e) {
		snprintf(buf, cap, "%s", e);
		return access(buf, R_OK) == 0 ? buf : NULL;
	}
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return NULL;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	snprintf(buf, cap, "%s/libmqttsim_exec.so", self);
	if (access(buf, R_OK) == 0)
		return buf;
	snprintf(buf, cap, "%s/../lib/mqttsim/libmqttsim_exec.so", self);
	return access(buf, R_OK) == 0 ? buf : NULL;
}

/* cmd into words: blanks split, '...' and "..." quote, {config} {dir} {port} replaced. */
static char **split(const char *cmd, const char *dir, uint16_t port)
{
	size_t cap = 8, n = 0;
	char **v = mqtt_xcalloc(cap, sizeof *v);
	const char *p = cmd;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		unsigned char *w = NULL;
		size_t wl = 0, wc = 0;
		char q = 0;
		for (; *p && (q || (*p != ' ' && *p != '\t')); p++) {
			if (!q && (*p == '\'' || *p == '"')) {
				q = *p;
				continue;
			}
			if (q && *p == q) {
				q = 0;
				continue;
			}
			char num[16];
			const char *rep = NULL;
			size_t skip = 0;
			if (!strncmp(p, "{config}", 8)) {
				rep = CONF_NAME;
				skip = 8;
			} else if (!strncmp(p, "{dir}", 5)) {
				rep = "";
				skip = 5;
			} else if (!strncmp(p, "{port}", 6)) {
				snprintf(num, sizeof num, "%u", (unsigned)port);
				rep = num;
				skip = 6;
			}
			if (skip) {
				if (rep != num) {
					mqtt_xappend(&w, &wl, &wc, dir, strlen(dir), 64);
					if (*rep)
						mqtt_xappend(&w, &wl, &wc, "/", 1, 64);
				}
				mqtt_xappend(&w, &wl, &wc, rep, strlen(rep), 64);
				p += skip - 1;
				continue;
			}
			mqtt_xappend(&w, &wl, &wc, p, 1, 64);
		}
		mqtt_xappend(&w, &wl, &wc, "", 1, 64);
		if (n + 2 > cap) {
			cap *= 2;
			v = mqtt_xrealloc(v, cap * sizeof *v);
		}
		v[n++] = (char *)w;
		v[n] = NULL;
	}
	return v;
}

static void free_argv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The executable named by argv[0], as execvp would find it. */
static bool find_exe(const char *name, char *out, size_t cap)
{
	if (strchr(name, '/')) {
		/* Made absolute: the broker starts in its own directory. */
		char abs[PATH_MAX];
		if (!realpath(name, abs))
			return false;
		snprintf(out, cap, "%s", abs);
		return access(out, X_OK) == 0;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
	while (*path) {
		const char *e = strchr(path, ':');
		size_t l = e ? (size_t)(e - path) : strlen(path);
		snprintf(out, cap, "%.*s/%s", (int)l, path, name);
		struct stat st;
		if (l && stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return true;
		path += l + (e ? 1 : 0);
	}
	return false;
}

/* 1 dynamically linked (or not ELF: a script's interpreter is what runs), 0 static. */
static int dynamic(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 1;
	Elf64_Ehdr eh;
	int r = 1;
	if (fread(&eh, sizeof eh, 1, f) == 1 && !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64) {
		r = 0;
		for (unsigned i = 0; i < eh.e_phnum && !r; i++) {
			Elf64_Phdr ph;
			if (fseek(f, (long)(eh.e_phoff + (uint64_t)i * eh.e_phentsize), SEEK_SET) || fread(&ph, sizeof ph, 1, f) != 1)
				break;
			if (ph.p_type == PT_INTERP)
				r = 1;
		}
	}
	fclose(f);
	return r;
}

/* What can be known before starting: the executable found, dynamically linked, and the
 * library there. */
static bool check(char **argv, char *path, size_t pcap, char *lib, size_t lcap, char *msg, size_t cap)
{
	if (!argv[0]) {
		snprintf(msg, cap, "exec: the command is empty (--broker exec:'CMD ARGS...')");
		return false;
	}
	if (!find_exe(argv[0], path, pcap)) {
		snprintf(msg, cap, "exec: broker '%s' not found%s", argv[0],
			 strchr(argv[0], '/') ? " (or not executable)" : " in PATH");
		return false;
	}
	if (!dynamic(path)) {
		snprintf(msg, cap, "exec: %s is statically linked (no PT_INTERP): LD_PRELOAD cannot reach its calls, so "
				   "it cannot run in virtual time", path);
		return false;
	}
	if (!broker_exec_lib(lib, lcap)) {
		snprintf(msg, cap, "exec: libmqttsim_exec.so not found beside mqttsim (build it with make, or set "
				   "MQTTSIM_EXEC_LIB)");
		return false;
	}
	return true;
}

int broker_exec_check(const char *cmd, char *why, size_t cap)
{
	char **argv = split(cmd, "", 1883);
	char path[4096], lib[4096];
	bool ok = check(argv, path, sizeof path, lib, sizeof lib, why, cap);
	free_argv(argv);
	return ok ? 0 : -1;
}

/* One line of a scenario's exec_config into f, {dir} and {port} replaced. */
static void put_line(FILE *f, const broker_exec *be, const char *line)
{
	for (const char *p = line; *p; p++) {
		if (!strncmp(p, "{dir}", 5)) {
			fputs(be->dir, f);
			p += 4;
		} else if (!strncmp(p, "{port}", 6)) {
			fprintf(f, "%u", (unsigned)be->port);
			p += 5;
		} else {
			fputc(*p, f);
		}
	}
	fputc('\n', f);
}

static bool write_config(broker_exec *be, char *const *extra, size_t nextra)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/" CONF_NAME, be->dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	fprintf(f, "# written by mqttsim for target exec\nlistener %u\nallow_anonymous true\npersistence false\n"
		   "log_dest stderr\n", (unsigned)be->port);
	if (nextra)
		fputs("# the scenario's exec_config\n", f);
	for (size_t i = 0; i < nextra; i++)
		put_line(f, be, extra[i]);
	return !(ferror(f) | fclose(f));
}

/* Fork and exec the broker, then serve it until it first blocks. */
static bool launch(broker_exec *be)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		set_error(be, "exec: socketpair: %s", strerror(errno), -1);
		return false;
	}
	char logp[4200];
	snprintf(logp, sizeof logp, "%s/" LOG_NAME, be->dir);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		set_error(be, "exec: fork: %s", strerror(errno), -1);
		return false;
	}
	if (pid == 0) {
		int lf = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644), nul = open("/dev/null", O_RDONLY);
		if (lf < 0 || nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(lf, 1);
		dup2(lf, 2);
		/* Nothing of mqttsim's but the channel, as fd 3: a worker's pipe to the pool held
		 * open by the broker would hide that worker's end. */
		if (dup2(sv[1], 3) < 0 || fcntl(3, F_SETFD, 0) < 0) /* dup2(3, 3) keeps FD_CLOEXEC */
			_exit(126);
#ifdef SYS_close_range
		if (syscall(SYS_close_range, 4u, ~0u, 0u) < 0)
#endif
			for (int fd = 4; fd < 1024; fd++)
				close(fd);
		char num[16];
		snprintf(num, sizeof num, "%d", 3);
		setenv(EXEC_ENV_FD, num, 1);
		setenv("LD_PRELOAD", be->lib, 1);
		if (chdir(be->dir) < 0)
			_exit(126);
		execv(be->path, be->argv);
		fprintf(stderr, "mqttsim exec: %s: %s\n", be->path, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	be->ctl = sv[0];
	be->pid = pid;
	be->killing = false;
	serve(be);
	return be->ctl >= 0 && be->waiting;
}

static void on_crash(sim_host *h, void *ctx)
{
	broker_exec *be = ctx;
	(void)h;
	be->killing = true;
	reap(be, true); /* SIGKILL at a virtual instant */
	drop_all(be, false);
	sim_trace(be->w, sim_host_name(be->h), 0, "exec", "broker %s killed", be->argv[0]);
}

static void on_restart(sim_host *h, void *ctx)
{
	broker_exec *be = ctx;
	(void)h;
	if (launch(be))
		sim_trace(be->w, sim_host_name(be->h), 0, "exec", "broker %s started again", be->argv[0]);
	else if (!be->error)
		set_error(be, "exec: the broker did not start again after the restart", NULL, -1);
}

broker_exec *broker_exec_start(sim_world *w, sim_host *h, uint16_t port, const char *cmd, char *const *extra,
			       size_t nextra, char **why)
{
	*why = NULL;
	broker_exec *be = mqtt_xcalloc(1, sizeof *be);
	be->w = w;
	be->h = h;
	be->port = port;
	be->ctl = -1;
	be->fds = mqtt_xcalloc(EXEC_FDS_MAX, sizeof *be->fds);
	sim_timer_init(&be->kick, kick_fire, be);
	sim_timer_init(&be->deadline, deadline_fire, be);
	char name[128];
	snprintf(name, sizeof name, "exec/%s", sim_host_name(h));
	sim_rng_init(&be->rng, sim_world_seed(w), name);
	char msg[8400];
	const char *tmp = getenv("TMPDIR");
	snprintf(be->dir, sizeof be->dir, "%s/mqttsim-exec-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(be->dir)) {
		snprintf(msg, sizeof msg, "exec: cannot make a directory for the broker (%s): %s", be->dir, strerror(errno));
		be->dir[0] = 0;
		goto fail;
	}
	/* Readable by a broker that drops root for its own user, as mosquitto does; under root
	 * writable too, for its persistence files (persistence_location {dir}/), since the user
	 * it becomes (mosquitto) cannot be known here. */
	chmod(be->dir, geteuid() == 0 ? 0777 : 0755);
	be->argv = split(cmd, be->dir, port);
	if (!check(be->argv, be->path, sizeof be->path, be->lib, sizeof be->lib, msg, sizeof msg))
		goto fail;
	if (!write_config(be, extra, nextra)) {
		snprintf(msg, sizeof msg, "exec: cannot write %s/" CONF_NAME ": %s", be->dir, strerror(errno));
		goto fail;
	}
	be->starting = true;
	bool up = launch(be);
	be->starting = false;
	if (!up) {
		char *out = log_tail(be);
		size_t ol = strlen(out);
		while (ol && out[ol - 1] == '\n')
			out[--ol] = 0;
		snprintf(msg, sizeof msg, "%s%s%s", be->error ? be->error : "exec: the broker did not start",
			 *out ? "; its output:\n" : "", out);
		free(out);
		goto fail;
	}
	bool listening = false;
	for (int fd = 0; fd < EXEC_FDS_MAX && !listening; fd++)
		listening = be->fds[fd] && be->fds[fd]->kind == X_LISTEN && be->fds[fd]->port == port;
	if (!listening) {
		char *out = log_tail(be);
		snprintf(msg, sizeof msg, "exec: the broker runs but does not listen on port %u (give it {config} or "
					  "{port}); its output:\n%s", (unsigned)port, out);
		free(out);
		goto fail;
	}
	sim_host_set_hooks(h, on_crash, on_restart, be);
	sim_trace(w, sim_host_name(h), 0, "exec", "broker %s started", be->argv[0]);
	return be;
fail:
	*why = mqtt_xstrdup(msg);
	broker_exec_free(be);
	return NULL;
}

const char *broker_exec_error(const broker_exec *be)
{
	return be->error;
}

void broker_exec_free(broker_exec *be)
{
	if (!be)
		return;
	sim_host_set_hooks(be->h, NULL, NULL, NULL);
	be->killing = true;
	reap(be, true);
	drop_all(be, true);
	if (be->dir[0]) {
		DIR *d = opendir(be->dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char p[4400];
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(p, sizeof p, "%s/%s", be->dir, e->d_name);
			unlink(p);
		}
		if (d)
			closedir(d);
		rmdir(be->dir);
	}
	free_argv(be->argv);
	free(be->went);
	free(be->fds);
	free(be->error);
	free(be);
}
