/*
 * fuzz_broker.c - libFuzzer target for the broker core through its sans-I/O API
 * (broker/broker.h): several connections, bytes split across calls in any way, opens and
 * closes, a clock the input moves and the ticks it makes due, and, as the first byte says,
 * authentication (a password file and an ACL) and a store in memory whose log survives
 * restarts, can be torn, and can fail, so persistence and recovery are fuzzed too.
 *
 * Input: one config byte, then operations, each one byte (low 3 bits the kind, high 5 the
 * argument) and what it needs:
 *
 *   0 open    slot = arg % 8 (a slot still open is closed first, as by the transport)
 *   1 bytes   slot = arg % 8, then a length byte and that many bytes for broker_on_bytes
 *   2 close   slot = arg % 8: the transport closed (broker_on_close)
 *   3 time    a byte d: the clock moves (d + 1) x {1 ms, 100 ms, 1 s, 60 s}[arg % 4];
 *             broker_tick when the wake-up time asked for has come
 *   4 tick    broker_tick now (early calls are allowed)
 *   5 crash   the broker stops without a word; what the store did not sync is lost;
 *             a new broker recovers from the log
 *   6 tear    a byte t: the durable log is cut to t/256 of its length (arg even) or one
 *             of its bytes is flipped (arg odd), then as crash
 *   7 fail    the next (arg % 4 + 1) appends (arg & 4: syncs) of the store fail
 *
 * Oracles, besides the sanitizers and LeakSanitizer: every byte the broker sends decodes
 * as a valid MQTT 3.1.1 packet; nothing is sent to a connection the broker closed or
 * never had; a log line is a string; with bit 7 of the config byte, determinism (below).
 *
 * The config byte: bit 0 auth (users alice/apw, bob/bpw at 1 PBKDF2 iteration, so a
 * CONNECT stays cheap, other user names refused before any hash, and an ACL), bit 1 the store, bit 2 queue QoS 0, bit 3 drop the
 * oldest when a queue is full, bit 4 anonymous clients allowed, bit 5 small limits (2 in
 * flight, 4 queued, 512-byte packets and compaction at 512 bytes, 3 connections), bit 6
 * $SYS every second, bit 7 determinism: the input runs twice, the heap shaped otherwise the
 * second time, and both runs must send, close, wake and log exactly the same.
 */
#include "broker/auth.h"
#include "broker/broker.h"
#include "mqtt/mqtt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS 8
#define OUT_CHECK_MAX (4u << 20) /* bytes of output kept per connection for the decoder */

enum { C_FREE, C_OPEN, C_CLOSED };

typedef struct fconn {
	uint64_t id;
	int state;
	uint8_t *out; /* sent bytes not yet decoded */
	size_t out_len, out_cap;
	uint8_t version; /* the level the broker speaks to it, read off its CONNACK; 0 before */
} fconn;

typedef struct mem_store {
	uint8_t *log;
	size_t len, cap, durable;
	int fail_appends, fail_syncs;
} mem_store;

typedef struct world {
	uint64_t h; /* FNV-1a of everything the broker did: sends, closes, wake-ups, log lines */
	int64_t now, wake;
	uint64_t next_id;
	fconn c[SLOTS];
	mem_store st;
} world;

static fconn *find(world *w, uint64_t id)
{
	for (int i = 0; i < SLOTS; i++)
		if (w->c[i].id == id && w->c[i].state != C_FREE)
			return &w->c[i];
	return NULL;
}

static void mix(world *w, const void *p, size_t len)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++)
		w->h = (w->h ^ b[i]) * 0x100000001b3ull;
}

static void mix_u64(world *w, uint64_t v) { mix(w, &v, sizeof v); }

static int64_t env_now(void *ctx) { return ((world *)ctx)->now; }

static void env_send(void *ctx, uint64_t id, const uint8_t *d, size_t len)
{
	world *w = ctx;
	mix_u64(w, 1), mix_u64(w, id), mix(w, d, len);
	fconn *c = find(w, id);
	if (!c || c->state != C_OPEN) {
		fprintf(stderr, "broker sent %zu bytes to connection %llu, which is %s\n", len,
			(unsigned long long)id, c ? "closed" : "unknown");
		abort();
	}
	if (!len || c->out_len + len > OUT_CHECK_MAX)
		return; /* too much to keep: stop checking this connection */
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 1024;
		while (cap < c->out_len + len)
			cap *= 2;
		c->out = realloc(c->out, cap);
		if (!c->out)
			abort();
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, d, len);
	c->out_len += len;
	size_t pos = 0;
	while (pos < c->out_len) {
		mqtt_packet p;
		mqtt_err e;
		/* A 3.1.1 CONNACK is 2 bytes long after its header, a 5.0 one at least 3 (its
		 * property length); the broker speaks that level from then on. */
		if (!c->version && c->out_len - pos >= 2 && c->out[pos] == 0x20)
			c->version = c->out[pos + 1] == 2 ? MQTT_V311 : MQTT_V5;
		int n = mqtt_decode(c->out + pos, c->out_len - pos, c->version ? c->version : MQTT_V311,
				    0, &p, &e);
		if (n == 0)
			break;
		if (n < 0 || mqtt_validate(&p, &e) < 0) {
			fprintf(stderr, "broker sent a malformed packet at byte %zu to connection %llu: %s %s\n",
				pos, (unsigned long long)id, e.stmt ? e.stmt : "", e.msg);
			abort();
		}
		pos += (size_t)n;
	}
	memmove(c->out, c->out + pos, c->out_len - pos);
	c->out_len -= pos;
}

static void env_close(void *ctx, uint64_t id)
{
	mix_u64(ctx, 2), mix_u64(ctx, id);
	fconn *c = find(ctx, id);
	if (!c || c->state != C_OPEN) {
		fprintf(stderr, "broker closed connection %llu, which is %s\n", (unsigned long long)id,
			c ? "closed" : "unknown");
		abort();
	}
	c->state = C_CLOSED;
}

static void env_wake(void *ctx, int64_t at)
{
	mix_u64(ctx, 3), mix_u64(ctx, (uint64_t)at);
	((world *)ctx)->wake = at;
}

/* FUZZ_VERBOSE=1 prints the broker's log lines, to see what a seed does. */
static int verbose = -1;

static void env_log(void *ctx, const char *line)
{
	if (!line || strlen(line) > 1u << 20)
		abort();
	mix_u64(ctx, 4), mix(ctx, line, strlen(line));
	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "log: %s\n", line);
}

/* ---- a store in memory --------------------------------------------------------------- */

static int st_append(void *ctx, const void *d, size_t len)
{
	mem_store *s = ctx;
	if (s->fail_appends) {
		s->fail_appends--;
		return -EIO;
	}
	if (!len)
		return 0;
	if (s->len + len > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + len)
			cap *= 2;
		s->log = realloc(s->log, cap);
		if (!s->log)
			abort();
		s->cap = cap;
	}
	memcpy(s->log + s->len, d, len);
	s->len += len;
	return 0;
}

static int st_sync(void *ctx)
{
	mem_store *s = ctx;
	if (s->fail_syncs) {
		s->fail_syncs--;
		return -EIO;
	}
	s->durable = s->len;
	return 0;
}

static int st_load(void *ctx, uint8_t **d, size_t *len)
{
	mem_store *s = ctx;
	*d = NULL;
	*len = 0;
	if (!s->len)
		return 0;
	*d = malloc(s->len);
	if (!*d)
		return -ENOMEM;
	memcpy(*d, s->log, s->len);
	*len = s->len;
	return 0;
}

static int st_replace(void *ctx, const void *d, size_t len)
{
	mem_store *s = ctx;
	if (s->fail_appends) { /* atomic: a failed replace leaves the old log */
		s->fail_appends--;
		return -EIO;
	}
	s->len = 0;
	int rc = st_append(ctx, d, len);
	if (rc == 0)
		s->durable = s->len;
	return rc;
}

static int st_keep(void *ctx, uint64_t off, const void *d, size_t len, char *where, size_t cap)
{
	(void)ctx, (void)d;
	snprintf(where, cap, "mem:%llu+%zu", (unsigned long long)off, len);
	return 0;
}

/* ---- authentication, made once --------------------------------------------------------- */

/* The file auth hashes 10,000 PBKDF2 iterations for a user name it does not know (so that
 * its answer takes as long as for a known one), which would cut this target's speed tenfold;
 * such a CONNECT gets the 4 it would get, without the hash. */
static const broker_auth *file_auth;
static broker_file_auth *fa;

static int fast_connect(void *ctx, const char *client_id, const char *username, const uint8_t *pw,
			size_t pwlen)
{
	if (username && strcmp(username, "alice") && strcmp(username, "bob"))
		return 4;
	return file_auth->connect(ctx, client_id, username, pw, pwlen);
}

static const broker_auth *auth_get(void)
{
	static broker_auth fast;
	if (fa)
		return &fast;
	static const uint8_t salt[BROKER_AUTH_SALT_LEN] = "fuzz-salt-16byte";
	char pw[2 * BROKER_AUTH_LINE_CAP(8) + 8], err[256];
	int n = broker_auth_format(pw, sizeof pw, "alice", (const uint8_t *)"apw", 3, salt, sizeof salt, 1,
				   err, sizeof err);
	if (n < 0)
		abort();
	pw[n++] = '\n';
	int m = broker_auth_format(pw + n, sizeof pw - (size_t)n, "bob", (const uint8_t *)"bpw", 3, salt,
				   sizeof salt, 1, err, sizeof err);
	if (m < 0)
		abort();
	n += m;
	static const char acl[] = "topic read $SYS/#\n"
				  "pattern readwrite users/%u/#\n"
				  "pattern read clients/%c\n"
				  "user alice\n"
				  "topic readwrite a/#\n"
				  "topic read s/#\n"
				  "user bob\n"
				  "topic write s/#\n"
				  "topic read b/+\n"
				  "client c1\n"
				  "topic readwrite c/#\n";
	fa = broker_auth_parse("pw", pw, (size_t)n, "acl", acl, sizeof acl - 1, err, sizeof err);
	if (!fa) {
		fprintf(stderr, "fuzz_broker: %s\n", err);
		abort();
	}
	file_auth = broker_auth_get(fa);
	fast = *file_auth;
	fast.connect = fast_connect;
	return &fast;
}

/* Frees the authentication made once: libFuzzer never needs it, a test replaying inputs
 * under valgrind's leak check does. */
void fuzz_broker_release(void);
void fuzz_broker_release(void)
{
	broker_auth_free(fa);
	fa = NULL;
	file_auth = NULL;
}

/* ---- the run ------------------------------------------------------------------------- */

static void drop_all(world *w)
{
	for (int i = 0; i < SLOTS; i++) {
		free(w->c[i].out);
		memset(&w->c[i], 0, sizeof w->c[i]);
	}
}

/* One run of the input; returns the transcript hash. */
static uint64_t run(const uint8_t *data, size_t size)
{
	static world w;
	memset(&w, 0, sizeof w);
	w.h = 0xcbf29ce484222325ull;
	w.now = 1000000000000;
	w.wake = INT64_MAX;
	w.next_id = 1;

	uint8_t flags = data[0];
	broker_config cfg;
	broker_config_init(&cfg);
	cfg.sys_interval_s = flags & 64 ? 1 : 0;
	if (flags & 1) {
		cfg.auth = auth_get();
		cfg.allow_anonymous = (flags & 16) != 0;
	}
	broker_store store = { &w.st, st_append, st_sync, st_load, st_replace, st_keep };
	if (flags & 2)
		cfg.store = &store;
	cfg.queue_qos0 = (flags & 4) != 0;
	cfg.queue_policy = flags & 8 ? BROKER_DROP_OLDEST : BROKER_DROP_NEW;
	if (flags & 32) {
		cfg.max_inflight = 2;
		cfg.max_queued = 4;
		cfg.max_packet_size = 512;
		cfg.compact_bytes = 512;
		cfg.max_connections = 3;
	}
	broker_env env = { &w, env_now, env_send, env_close, env_wake, env_log, NULL };
	broker *b = broker_new(&env, &cfg);

	size_t i = 1;
	while (i < size) {
		uint8_t op = data[i] & 7, arg = data[i] >> 3;
		i++;
		fconn *c = &w.c[arg % SLOTS];
		switch (op) {
		case 0: { /* open */
			if (c->state == C_OPEN)
				broker_on_close(b, c->id);
			free(c->out);
			memset(c, 0, sizeof *c);
			c->id = w.next_id++;
			c->state = C_OPEN;
			char peer[32];
			snprintf(peer, sizeof peer, "10.0.0.%d:%llu", arg % SLOTS + 1,
				 (unsigned long long)(40000 + c->id));
			(void)broker_on_open(b, c->id, peer);
			break;
		}
		case 1: { /* bytes */
			if (i >= size)
				break;
			size_t n = data[i++];
			if (n > size - i)
				n = size - i;
			if (c->state == C_OPEN)
				broker_on_bytes(b, c->id, data + i, n);
			i += n;
			break;
		}
		case 2: /* close */
			if (c->state == C_OPEN) {
				c->state = C_CLOSED;
				broker_on_close(b, c->id);
			}
			break;
		case 3: { /* time */
			static const int64_t unit[4] = { 1000, 100000, 1000000, 60000000 };
			int64_t d = i < size ? data[i++] : 0;
			w.now += (d + 1) * unit[arg % 4];
			if (w.now >= w.wake)
				broker_tick(b);
			break;
		}
		case 4: /* tick */
			broker_tick(b);
			break;
		case 6: /* tear, then crash */
			if (w.st.durable) {
				size_t t = i < size ? data[i++] : 0;
				if (arg % 2 == 0)
					w.st.durable = w.st.durable * t / 256;
				else
					w.st.log[w.st.durable * t / 256] ^= (uint8_t)(1u << (arg % 8));
			}
			/* fall through */
		case 5: /* crash and restart */
			broker_free(b);
			drop_all(&w);
			w.st.len = w.st.durable;
			w.st.fail_appends = w.st.fail_syncs = 0;
			w.wake = INT64_MAX;
			b = broker_new(&env, &cfg);
			break;
		case 7: /* store faults */
			if (arg & 4)
				w.st.fail_syncs = arg % 4 + 1;
			else
				w.st.fail_appends = arg % 4 + 1;
			break;
		}
	}
	broker_free(b);
	drop_all(&w);
	free(w.st.log);
	return w.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint64_t h = run(data, size);
	if (data[0] & 128) {
		/* Again with the heap in another shape: the same transcript, or the core depends
		 * on addresses (or on anything else but its calls and the clock). */
		void *junk[64];
		for (size_t i = 0; i < 64; i++)
			junk[i] = malloc(16 + 24 * (i % 7) + (size & 255));
		for (size_t i = 0; i < 64; i += 2)
			free(junk[i]);
		uint64_t again = run(data, size);
		for (size_t i = 1; i < 64; i += 2)
			free(junk[i]);
		if (again != h) {
			fprintf(stderr, "the same input gave two different transcripts\n");
			abort();
		}
	}
	return 0;
}
