/*
 * broker_shell_tcp_auth.c - the socket shell's authentication worker: password checks
 * (PBKDF2) on one thread, so a flood of CONNECTs cannot stall the event loop; answers come
 * back through an eventfd to the loop, which alone calls into the core. Out of
 * broker_shell_tcp.c (see its header comment for the whole design).
 */
#define _GNU_SOURCE
#include "harness/broker_shell_tcp_internal.h"

#include "broker/sha256.h"
#include "mqtt/alloc.h"
#include "mqtt/mqtt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* ---- authentication on the worker thread -------------------------------------------------- */

static void job_free(auth_job *j)
{
	if (j->password) {
		broker_sha256_wipe(j->password, j->password_len);
		free(j->password);
	}
	free(j->client_id);
	free(j->username);
	free(j);
}

static void *auth_main(void *arg)
{
	auth_worker *aw = arg;
	pthread_mutex_lock(&aw->mu);
	for (;;) {
		while (!aw->todo && !aw->stop)
			pthread_cond_wait(&aw->cv, &aw->mu);
		if (aw->stop)
			break;
		auth_job *j = aw->todo;
		aw->todo = j->next;
		if (!aw->todo)
			aw->todo_tail = &aw->todo;
		pthread_mutex_unlock(&aw->mu);
		j->rc = aw->inner->connect(aw->inner->ctx, j->client_id, j->username, j->password,
					   j->password_len);
		j->next = NULL;
		pthread_mutex_lock(&aw->mu);
		*aw->done_tail = j;
		aw->done_tail = &j->next;
		uint64_t one = 1;
		ssize_t w = write(aw->efd, &one, sizeof one);
		(void)w; /* only fails when the counter is saturated: the loop is woken anyway */
	}
	pthread_mutex_unlock(&aw->mu);
	return NULL;
}

static char *dup_or_null(const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *d = mqtt_xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* broker_auth.connect_start, called by the core inside broker_on_bytes. */
static int aw_connect_start(void *ctx, uint64_t conn, const char *client_id, const char *username,
			    const uint8_t *password, size_t password_len)
{
	shell *sh = ctx;
	auth_worker *aw = sh->aw;
	tconn *c = bst__get(sh, (int)conn);
	if (aw->queued >= MAX_AUTH_QUEUE) {
		if (!aw->full) {
			char line[200];
			snprintf(line, sizeof line,
				 "%d CONNECTs wait for their password check: refusing more with CONNACK 3 until half are answered",
				 MAX_AUTH_QUEUE);
			bst__logf_(sh, line);
			aw->full = true;
		}
		return 3; /* server unavailable */
	}
	auth_job *j = mqtt_xcalloc(1, sizeof *j);
	j->fd = (int)conn;
	j->gen = c->gen;
	j->client_id = dup_or_null(client_id, strlen(client_id));
	j->username = dup_or_null(username, username ? strlen(username) : 0);
	if (password) {
		j->password = mqtt_xmalloc(password_len ? password_len : 1);
		if (password_len)
			memcpy(j->password, password, password_len);
		j->password_len = password_len;
	}
	c->auth_pending = true;
	bst__update_interest(sh, (int)conn, c);
	aw->queued++;
	pthread_mutex_lock(&aw->mu);
	*aw->todo_tail = j;
	aw->todo_tail = &j->next;
	pthread_cond_signal(&aw->cv);
	pthread_mutex_unlock(&aw->mu);
	return BROKER_AUTH_PENDING;
}

static int aw_connect(void *ctx, const char *client_id, const char *username,
		      const uint8_t *password, size_t password_len)
{
	const auth_worker *aw = ((shell *)ctx)->aw;
	return aw->inner->connect(aw->inner->ctx, client_id, username, password, password_len);
}

static bool aw_allow(void *ctx, const char *client_id, const char *username, const char *topic,
		     bool publish)
{
	const auth_worker *aw = ((shell *)ctx)->aw;
	return aw->inner->allow ? aw->inner->allow(aw->inner->ctx, client_id, username, topic, publish)
				: true;
}

/* A connection whose CONNECT waits went away: drop its job unless the worker has it. */
void bst__auth_cancel(shell *sh, int fd, uint64_t gen)
{
	auth_worker *aw = sh->aw;
	if (!aw)
		return;
	auth_job *gone = NULL;
	pthread_mutex_lock(&aw->mu);
	for (auth_job **pp = &aw->todo; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd && (*pp)->gen == gen) {
			gone = *pp;
			*pp = gone->next;
			if (!*pp)
				aw->todo_tail = pp;
			break;
		}
	}
	pthread_mutex_unlock(&aw->mu);
	if (gone) {
		aw->queued--;
		job_free(gone);
	}
}

/* The worker finished jobs: hand each answer to the core, if its connection still waits. */
void bst__auth_deliver(shell *sh)
{
	auth_worker *aw = sh->aw;
	uint64_t n;
	ssize_t r = read(aw->efd, &n, sizeof n);
	(void)r;
	pthread_mutex_lock(&aw->mu);
	auth_job *j = aw->done;
	aw->done = NULL;
	aw->done_tail = &aw->done;
	pthread_mutex_unlock(&aw->mu);
	while (j) {
		auth_job *next = j->next;
		aw->queued--;
		tconn *c = bst__get(sh, j->fd);
		if (c->open && c->gen == j->gen && c->auth_pending && !c->dead) {
			c->auth_pending = false;
			bst__update_interest(sh, j->fd, c);
			broker_on_auth(sh->b, (uint64_t)j->fd, j->rc);
			bst__reap(sh);
			/* Plain input waits in the kernel and wakes epoll; TLS may hold some itself. */
			c = bst__get(sh, j->fd);
			if (c->open && c->ssl && !c->auth_pending && SSL_has_pending(c->ssl)) {
				bst__readable(sh, j->fd, false);
				bst__reap(sh);
			}
		}
		job_free(j);
		j = next;
	}
	if (aw->full && aw->queued <= MAX_AUTH_QUEUE / 2)
		aw->full = false;
}

/* SCRAM's lookup costs no key derivation (the file holds the derived keys), so it is asked
 * here, in the loop, of the inner auth (read-only once parsed). */
static int aw_scram_lookup(void *ctx, const char *username, uint8_t *salt, size_t *salt_len,
			   uint32_t *iterations, uint8_t stored_key[32], uint8_t server_key[32])
{
	shell *sh = ctx;
	const broker_auth *in = sh->aw->inner;
	return in->scram_lookup(in->ctx, username, salt, salt_len, iterations, stored_key, server_key);
}

/* Start the worker in front of inner (which has a connect). 0, or -1 with err filled. */
int bst__auth_start(shell *sh, const broker_auth *inner, char *err, size_t errlen)
{
	auth_worker *aw = mqtt_xcalloc(1, sizeof *aw);
	aw->inner = inner;
	aw->iface = (broker_auth){ .ctx = sh, .connect = aw_connect, .allow = aw_allow,
				   .connect_start = aw_connect_start,
				   .scram_lookup = inner->scram_lookup ? aw_scram_lookup : NULL };
	aw->todo_tail = &aw->todo;
	aw->done_tail = &aw->done;
	aw->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (aw->efd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		free(aw);
		return -1;
	}
	pthread_mutex_init(&aw->mu, NULL);
	pthread_cond_init(&aw->cv, NULL);
	int e = pthread_create(&aw->th, NULL, auth_main, aw);
	if (e) {
		snprintf(err, errlen, "cannot start the authentication thread: %s", strerror(e));
		pthread_mutex_destroy(&aw->mu);
		pthread_cond_destroy(&aw->cv);
		close(aw->efd);
		free(aw);
		return -1;
	}
	aw->running = true;
	sh->aw = aw;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = aw->efd };
	epoll_ctl(sh->ep, EPOLL_CTL_ADD, aw->efd, &ev);
	return 0;
}

/* Stop the worker (after the job in hand, if any) and drop every job not delivered. */
void bst__auth_stop(shell *sh)
{
	auth_worker *aw = sh->aw;
	if (!aw)
		return;
	pthread_mutex_lock(&aw->mu);
	aw->stop = true;
	pthread_cond_signal(&aw->cv);
	pthread_mutex_unlock(&aw->mu);
	pthread_join(aw->th, NULL);
	for (auth_job *j = aw->todo, *next; j; j = next) {
		next = j->next;
		job_free(j);
	}
	for (auth_job *j = aw->done, *next; j; j = next) {
		next = j->next;
		job_free(j);
	}
	pthread_mutex_destroy(&aw->mu);
	pthread_cond_destroy(&aw->cv);
	close(aw->efd);
	free(aw);
	sh->aw = NULL;
}

