/*
 * pool.c - the worker pool (pool.h).
 *
 * Parent to worker: item numbers, 8 bytes each, over the worker's own pipe; the worker ends
 * at end of file. Worker to parent: records framed as item (8 bytes), length (8 bytes), bytes.
 * The parent holds a window of items that may be out of order (WINDOW): no item is handed
 * out more than WINDOW past the oldest one not yet done, so memory stays bounded however
 * long one item takes.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/pool.h"
#include "harness/run.h"
#include "mqtt/alloc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define WINDOW POOL_WINDOW

/* ---- records ---------------------------------------------------------------------------- */

static void grow(pool_rec *r, size_t more)
{
	if (r->cap - r->len >= more)
		return;
	size_t cap = r->cap ? r->cap : 256;
	while (cap - r->len < more)
		cap *= 2;
	unsigned char *p = mqtt_xrealloc(r->p, cap);
	r->p = p;
	r->cap = cap;
}

void pool_put_u64(pool_rec *r, uint64_t v)
{
	grow(r, 8);
	for (int i = 0; i < 8; i++)
		r->p[r->len++] = (unsigned char)(v >> (8 * i));
}

void pool_put_i64(pool_rec *r, int64_t v)
{
	pool_put_u64(r, (uint64_t)v);
}

void pool_put_bytes(pool_rec *r, const void *s, size_t n, bool present)
{
	/* UINT64_MAX as the length stands for "no string". */
	pool_put_u64(r, present ? (uint64_t)n : UINT64_MAX);
	if (!present || !n)
		return;
	grow(r, n);
	memcpy(r->p + r->len, s, n);
	r->len += n;
}

void pool_put_str(pool_rec *r, const char *s)
{
	pool_put_bytes(r, s, s ? strlen(s) : 0, s != NULL);
}

bool pool_get_u64(pool_in *in, uint64_t *v)
{
	if (in->bad || in->len - in->off < 8) {
		in->bad = true;
		return false;
	}
	uint64_t x = 0;
	for (int i = 0; i < 8; i++)
		x |= (uint64_t)in->p[in->off + (size_t)i] << (8 * i);
	in->off += 8;
	*v = x;
	return true;
}

bool pool_get_i64(pool_in *in, int64_t *v)
{
	uint64_t u;
	if (!pool_get_u64(in, &u))
		return false;
	*v = (int64_t)u;
	return true;
}

bool pool_get_bytes(pool_in *in, char **s, size_t *n)
{
	uint64_t l;
	*s = NULL;
	if (n)
		*n = 0;
	if (!pool_get_u64(in, &l))
		return false;
	if (l == UINT64_MAX)
		return true;
	if (l > in->len - in->off) {
		in->bad = true;
		return false;
	}
	char *d = mqtt_xmalloc((size_t)l + 1);
	memcpy(d, in->p + in->off, (size_t)l);
	d[l] = 0;
	in->off += (size_t)l;
	*s = d;
	if (n)
		*n = (size_t)l;
	return true;
}

bool pool_get_str(pool_in *in, char **s)
{
	return pool_get_bytes(in, s, NULL);
}

/* ---- the pool ----------------------------------------------------------------------------- */

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Exactly n bytes, or 0 at end of file before the first, or -1. */
static int read_all(int fd, void *p, size_t n)
{
	char *c = p;
	size_t got = 0;
	while (got < n) {
		ssize_t m = read(fd, c + got, n - got);
		if (m < 0 && errno == EINTR)
			continue;
		if (m == 0 && got == 0)
			return 0;
		if (m <= 0)
			return -1;
		got += (size_t)m;
	}
	return 1;
}

typedef struct worker {
	pid_t pid;
	int to, from;          /* -1 when closed */
	size_t *q;             /* items handed out, oldest first */
	unsigned nq;
	unsigned char *buf;    /* what has come back and is not yet a whole record */
	size_t len, cap;
} worker;

typedef struct slot {
	bool have;
	unsigned char *p;
	size_t len;
	char why[64];
} slot;

typedef struct pool {
	const pool_job *j;
	worker *w;
	long nw;
	unsigned depth;
	slot *win;
	size_t next_done, next_new, limit; /* limit: n, or where `more` said stop */
	bool stopped;
	size_t *retry;        /* items whose worker died before starting them */
	size_t nretry;
	size_t ndone;
} pool;

static void worker_main(const pool_job *j, int in, int out)
{
	pool_rec rec = { 0 };
	uint64_t item;
	while (read_all(in, &item, sizeof item) == 1) {
		rec.len = 0;
		j->work(j->ctx, (size_t)item, &rec);
		uint64_t hdr[2] = { item, rec.len };
		if (write_all(out, hdr, sizeof hdr) < 0 || write_all(out, rec.p, rec.len) < 0)
			_exit(3);
	}
	free(rec.p);
	_exit(0);
}

static int spawn(pool *P, worker *w)
{
	int a[2], b[2];
	if (pipe(a) < 0)
		return -1;
	if (pipe(b) < 0) {
		close(a[0]);
		close(a[1]);
		return -1;
	}
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(a[0]);
		close(a[1]);
		close(b[0]);
		close(b[1]);
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(3);
		close(a[1]);
		close(b[0]);
		for (long k = 0; k < P->nw; k++) {
			if (P->w[k].to >= 0)
				close(P->w[k].to);
			if (P->w[k].from >= 0)
				close(P->w[k].from);
		}
		worker_main(P->j, a[0], b[1]);
	}
	close(a[0]);
	close(b[1]);
	w->pid = pid;
	w->to = a[1];
	w->from = b[0];
	w->nq = 0;
	w->len = 0;
	return 0;
}

static void deliver(pool *P, size_t i, const unsigned char *p, size_t len, const char *why)
{
	slot *s = &P->win[i % WINDOW];
	s->have = true;
	s->len = len;
	s->p = NULL;
	if (p) {
		s->p = mqtt_xmalloc(len ? len : 1);
		memcpy(s->p, p, len);
	}
	snprintf(s->why, sizeof s->why, "%s", why ? why : "");
	size_t before = P->next_done;
	while (P->next_done < P->limit && P->win[P->next_done % WINDOW].have) {
		slot *d = &P->win[P->next_done % WINDOW];
		P->j->done(P->j->ctx, P->next_done, d->p, d->len, d->p ? NULL : d->why);
		free(d->p);
		d->p = NULL;
		d->have = false;
		P->next_done++;
		P->ndone++;
	}
	if (P->next_done != before && P->j->tick && P->next_done < P->limit)
		P->j->tick(P->j->ctx, P->next_done);
}

/* The next item to hand out, or false when there is none now. */
static bool next_item(pool *P, size_t *i)
{
	if (P->nretry) {
		*i = P->retry[--P->nretry];
		return true;
	}
	if (P->stopped || P->next_new >= P->j->n)
		return false;
	if (P->j->order) {
		*i = P->j->order[P->next_new++];
		return true;
	}
	if (P->next_new - P->next_done >= WINDOW)
		return false;
	if (P->j->more && !P->j->more(P->j->ctx, P->next_new)) {
		P->stopped = true;
		P->limit = P->next_new;
		return false;
	}
	*i = P->next_new++;
	return true;
}

static void feed(pool *P, worker *w)
{
	size_t i;
	while (w->to >= 0 && w->nq < P->depth && next_item(P, &i)) {
		uint64_t item = i;
		if (write_all(w->to, &item, sizeof item) < 0) {
			P->retry[P->nretry++] = i; /* it died; its end of file comes next */
			break;
		}
		w->q[w->nq++] = i;
	}
}

static bool work_left(const pool *P)
{
	return P->nretry || (!P->stopped && P->next_new < P->j->n);
}

/* The worker's records so far: take the whole ones. */
static void take(pool *P, worker *w)
{
	size_t off = 0;
	while (w->len - off >= 16) {
		uint64_t item, len;
		memcpy(&item, w->buf + off, 8);
		memcpy(&len, w->buf + off + 8, 8);
		if (w->len - off - 16 < len)
			break;
		/* Records come back in the order the items went out. */
		if (w->nq && w->q[0] == item) {
			memmove(w->q, w->q + 1, (w->nq - 1) * sizeof *w->q);
			w->nq--;
		}
		deliver(P, (size_t)item, w->buf + off + 16, (size_t)len, NULL);
		off += 16 + (size_t)len;
	}
	memmove(w->buf, w->buf + off, w->len - off);
	w->len -= off;
}

/* The worker's end: the item it was running is lost (said why), the ones queued behind it
 * go to another worker. */
static void reap(pool *P, worker *w)
{
	close(w->from);
	w->from = -1;
	if (w->to >= 0)
		close(w->to);
	w->to = -1;
	int st = 0;
	while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
		;
	char why[64];
	if (WIFSIGNALED(st))
		snprintf(why, sizeof why, "signal %d", WTERMSIG(st));
	else
		snprintf(why, sizeof why, "exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (w->nq) {
		for (unsigned k = w->nq; k-- > 1;)
			P->retry[P->nretry++] = w->q[k];
		deliver(P, w->q[0], NULL, 0, why);
	}
	w->nq = 0;
	w->len = 0;
}

static long in_process(const pool_job *j)
{
	pool_rec rec = { 0 };
	size_t i = 0;
	for (; i < j->n; i++) { /* in this process the order does not matter: one at a time */
		if (j->more && !j->more(j->ctx, i))
			break;
		if (j->tick)
			j->tick(j->ctx, i);
		rec.len = 0;
		j->work(j->ctx, i, &rec);
		j->done(j->ctx, i, rec.p, rec.len, NULL);
	}
	free(rec.p);
	return (long)i;
}

static long run_forked(const pool_job *j);

long pool_run(const pool_job *j)
{
	if (j->workers <= 1 || j->n <= 1)
		return in_process(j);
	/* A worker that dies leaves a pipe with no reader: writing to it must fail, not kill us. */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old_pipe);
	long rc = run_forked(j);
	sigaction(SIGPIPE, &old_pipe, NULL);
	return rc;
}

static long run_forked(const pool_job *j)
{
	pool P = { .j = j, .limit = j->n, .depth = j->depth ? j->depth : 1 };
	P.nw = j->workers < (long)j->n ? j->workers : (long)j->n;
	P.w = mqtt_xcalloc((size_t)P.nw, sizeof *P.w);
	P.win = mqtt_xcalloc(WINDOW, sizeof *P.win);
	P.retry = mqtt_xcalloc((size_t)P.nw * P.depth + 1, sizeof *P.retry);
	struct pollfd *pf = mqtt_xcalloc((size_t)P.nw, sizeof *pf);
	long *pw = mqtt_xcalloc((size_t)P.nw, sizeof *pw);
	long alive = 0;
	for (long k = 0; k < P.nw; k++) {
		P.w[k].to = P.w[k].from = -1;
		P.w[k].q = mqtt_xcalloc(P.depth, sizeof *P.w[k].q);
	}
	char fail[128] = "";
	for (long k = 0; k < P.nw; k++) {
		if (spawn(&P, &P.w[k]) < 0) {
			snprintf(fail, sizeof fail, "%s", strerror(errno));
			break;
		}
		alive++;
	}
	if (!alive) {
		fprintf(j->err, "mqttsim %s: cannot start a worker process: %s\n", j->cmd, fail);
		free(P.w[0].q);
		for (long k = 1; k < P.nw; k++)
			free(P.w[k].q);
		free(P.w);
		free(P.win);
		free(P.retry);
		free(pf);
		free(pw);
		return -1;
	}
	if (j->tick)
		j->tick(j->ctx, 0);
	int64_t last = run_mono_us();
	for (;;) {
		for (long k = 0; k < P.nw; k++)
			feed(&P, &P.w[k]);
		/* Nothing more to hand out: a worker with nothing queued may go. */
		for (long k = 0; k < P.nw; k++)
			if (!work_left(&P) && P.w[k].to >= 0 && P.w[k].nq == 0) {
				close(P.w[k].to);
				P.w[k].to = -1;
			}
		nfds_t np = 0;
		for (long k = 0; k < P.nw; k++)
			if (P.w[k].from >= 0) {
				pf[np] = (struct pollfd){ P.w[k].from, POLLIN, 0 };
				pw[np++] = k;
			}
		if (np == 0) {
			if (!work_left(&P))
				break;
			/* Every worker died with work left: start new ones. */
			long started = 0;
			for (long k = 0; k < P.nw; k++)
				if (spawn(&P, &P.w[k]) == 0)
					started++;
			if (!started) {
				fprintf(j->err, "mqttsim %s: cannot start a worker process: %s\n", j->cmd, strerror(errno));
				size_t i;
				while (next_item(&P, &i))
					deliver(&P, i, NULL, 0, "no worker could be started");
				break;
			}
			continue;
		}
		int pr = poll(pf, np, 200);
		if (pr < 0 && errno != EINTR)
			abort();
		for (nfds_t x = 0; pr > 0 && x < np; x++) {
			if (!pf[x].revents)
				continue;
			worker *w = &P.w[pw[x]];
			if (w->cap - w->len < 65536) {
				w->cap = w->cap ? 2 * w->cap : 131072;
				w->buf = mqtt_xrealloc(w->buf, w->cap);
			}
			ssize_t m = read(w->from, w->buf + w->len, w->cap - w->len);
			if (m > 0) {
				w->len += (size_t)m;
				take(&P, w);
			} else if (m == 0 || errno != EINTR) {
				reap(&P, w);
				/* Work is left and a worker is gone: one takes its place. */
				if (work_left(&P) && spawn(&P, w) < 0)
					w->to = w->from = -1;
			}
		}
		int64_t now = run_mono_us();
		if (j->tick && now - last > 200000 && P.next_done < j->n) { /* a tick names an item still to come */
			j->tick(j->ctx, P.next_done);
			last = now;
		}
	}
	for (long k = 0; k < P.nw; k++) {
		if (P.w[k].to >= 0)
			close(P.w[k].to);
		free(P.w[k].q);
		free(P.w[k].buf);
	}
	for (size_t k = 0; k < WINDOW; k++)
		free(P.win[k].p);
	free(P.w);
	free(P.win);
	free(P.retry);
	free(pf);
	free(pw);
	return (long)P.ndone;
}
