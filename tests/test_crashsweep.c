/*
 * test_crashsweep.c - the crash-point sweep, SQLite style (STYLE.md 9).
 *
 * A persistent QoS 1 / QoS 2 workload runs against the reference broker in simulation:
 * two publishers with clean session 0 publish numbered messages (some retained), three
 * persistent subscribers receive them, some of them offline part of the time. Run N crashes
 * the broker's host at the N-th write (append or replace) or sync its store is asked for,
 * for N = 1, 2, ... until a run makes fewer than N such calls. The host restarts on the same
 * virtual disk, which keeps what was synced (and, with torn writes on, a random part of an
 * unsynced tail), the clients reconnect and retry as MQTT 3.1.1 requires, and a checker over
 * what the clients observed - never the broker's own bookkeeping (STYLE.md 10) - judges:
 *
 * - every message whose PUBACK (QoS 1) or PUBCOMP (QoS 2) its publisher received reaches
 *   every subscriber that held a matching subscription from before the message was first
 *   sent until it was acknowledged, and kept its session (no CONNACK with session present 0
 *   in that time);
 * - no QoS 2 message reaches a QoS 2 subscription's application twice [MQTT-4.3.3-2 at
 *   the broker, the receiver's packet-id rule on the client];
 * - nothing reaches a subscriber that was never published (topic, QoS and RETAIN agree);
 * - the retained message of each topic, read by a fresh client at the end, is the last one
 *   published there (every publish is acknowledged by then, and a publisher retries in
 *   order), and a retained copy sent on subscribe was published retained.
 *
 * The crash happens in the store call itself: from the N-th call on nothing more reaches
 * the disk or the network (the process is gone), and the host crashes before any other
 * event. Environment: CRASHSWEEP_N=K runs point K alone (with CRASHSWEEP_TRACE=1 its trace
 * on stderr); CRASHSWEEP_STEP=S runs every S-th point only (for valgrind).
 */
#include "tests.h"

#include "harness/broker_shell_sim.h"
#include "mqtt/mqtt.h"
#include "sim/disk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PORT 1883
#define MS 1000

enum { NPUB = 2, NSUB = 3, NCLI = NPUB + NSUB + 1, NMSG = 8, WINDOW = 2, MAXGOT = 256, MAXMARK = 32 };
enum { DOWN_US = 30 * MS, TICK_US = 2 * MS, PING_US = 20 * MS, REDIAL_US = 5 * MS,
       CONNACK_WAIT_US = 100 * MS };

/* Test-only breakages of the store wrapper, to show the sweep notices. */
enum sweep_mutant {
	MUT_NONE = 0,
	MUT_SYNC_NOOP = 1,   /* sync() says 0 and does nothing */
	MUT_APPEND_LATE = 2, /* an append reaches the disk only at the next append (one behind) */
};

typedef struct sweep sweep;

/* ---- the store wrapper: counts writes and syncs, crashes at the N-th ------------------------ */

typedef struct cstore {
	broker_store inner; /* the broker_sim disk store */
	sweep *sw;
	long calls;         /* appends, replaces and syncs asked for so far in this run */
	long crash_at;      /* the call that crashes the host (0: none) */
	bool dead;          /* that call came: nothing more reaches the disk */
	long recrash;       /* crash again at this call after the restart (0: no) */
	int mutant;
	uint8_t *late;      /* MUT_APPEND_LATE: the append held back */
	size_t late_len;
} cstore;

/* ---- clients, as the checker sees them ----------------------------------------------------- */

enum { C_DOWN, C_CONNECTING, C_CONNACK, C_UP };
enum { M_NEW, M_SENT, M_REC, M_DONE };
enum { ROLE_PUB, ROLE_SUB, ROLE_PROBE };

typedef struct pmsg {
	char topic[16], payload[16];
	uint8_t qos;
	bool retain;
	int state;
	sim_us first_sent, acked; /* -1 until then */
} pmsg;

/* A message handed to the subscriber's application. */
typedef struct got {
	int pub, k;
	uint8_t qos;
	bool retain;
} got;

/* A SUBACK received (suback) or a CONNACK with session present 0 (!suback). */
typedef struct mark {
	sim_us at;
	bool suback;
} mark;

typedef struct cli {
	sweep *sw;
	char id[8];
	int role;
	sim_host *h;
	sim_sock *s;
	int st;
	sim_us off_from, off_to; /* offline in [off_from, off_to) */
	bool abort_offline;      /* go offline by RST instead of DISCONNECT */
	sim_us redial_at, last_ping, dialed;
	uint8_t rx[16384];
	size_t rx_len;
	sim_timer tick;
	/* publisher */
	pmsg m[NMSG];
	/* subscriber and probe */
	const char *filter;
	uint8_t qos;
	bool subscribed;         /* a SUBACK on the session the broker has now */
	uint16_t rec2[64];       /* QoS 2 ids received and not released (client session state) */
	int nrec2;
	got g[MAXGOT];
	int ng;
	mark mk[MAXMARK];
	int nmk;
} cli;

struct sweep {
	sim_world *w;
	sim_host *bh;
	broker_sim *bs;
	cstore cs;
	broker_store wrap;
	sim_timer crash_t, restart_t;
	bool crashed;
	int crashes;
	sim_us crash_time;
	cli c[NCLI];
	uint64_t activity;       /* packets clients received but PINGRESP: quiet when it stops */
	char why[700];
};

static void violation(sweep *sw, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void violation(sweep *sw, const char *fmt, ...)
{
	if (sw->why[0])
		return; /* the first one says it */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sw->why, sizeof sw->why, fmt, ap);
	va_end(ap);
}

static void on_crash_timer(sim_world *w, sim_timer *t)
{
	sweep *sw = t->arg;
	sw->crashed = true;
	sw->crashes++;
	sw->crash_time = sim_now(w);
	sim_host_crash(sw->bh);
	sim_timer_after(w, &sw->restart_t, DOWN_US);
}

static void on_restart_timer(sim_world *w, sim_timer *t)
{
	(void)w;
	sweep *sw = t->arg;
	sw->cs.dead = false;
	if (sw->cs.recrash) {
		/* Once more, while the restarted broker recovers (1: its start-up compaction). */
		sw->cs.crash_at = sw->cs.calls + sw->cs.recrash;
		sw->cs.recrash = 0;
	}
	sim_host_restart(sw->bh);
}

/* Is this call the one that crashes? From it on the process is gone: the crash event is
 * queued before anything the broker sends after it, so none of that leaves the host. */
static bool crash_here(cstore *cs)
{
	if (cs->dead)
		return true;
	if (++cs->calls != cs->crash_at)
		return false;
	cs->dead = true;
	sim_timer_after(cs->sw->w, &cs->sw->crash_t, 0);
	return true;
}

static int w_append(void *ctx, const void *data, size_t len)
{
	cstore *cs = ctx;
	bool was_dead = cs->dead;
	if (crash_here(cs)) {
		/* Crashing during the write: it may have reached the page cache, not the platter;
		 * the disk's crash model decides what of it survives (nothing, or a torn part). */
		if (!was_dead)
			cs->inner.append(cs->inner.ctx, data, len);
		return 0;
	}
	if (cs->mutant == MUT_APPEND_LATE) {
		int rc = cs->late ? cs->inner.append(cs->inner.ctx, cs->late, cs->late_len) : 0;
		free(cs->late);
		cs->late = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(cs->late);
		memcpy(cs->late, data, len);
		cs->late_len = len;
		return rc;
	}
	return cs->inner.append(cs->inner.ctx, data, len);
}

static int w_sync(void *ctx)
{
	cstore *cs = ctx;
	if (crash_here(cs))
		return 0; /* crashed before the sync took effect */
	if (cs->mutant == MUT_SYNC_NOOP)
		return 0;
	return cs->inner.sync(cs->inner.ctx);
}

static int w_replace(void *ctx, const void *data, size_t len)
{
	cstore *cs = ctx;
	if (crash_here(cs))
		return 0; /* replace is atomic: crashed before it, the old log stands */
	if (cs->mutant == MUT_APPEND_LATE) {
		free(cs->late);
		cs->late = NULL;
	}
	return cs->inner.replace(cs->inner.ctx, data, len);
}

static int w_load(void *ctx, uint8_t **data, size_t *len)
{
	cstore *cs = ctx;
	free(cs->late); /* what was held back died with the process */
	cs->late = NULL;
	return cs->inner.load(cs->inner.ctx, data, len);
}

/* ---- the clients ------------------------------------------------------------------------------ */

static void cli_send(cli *c, const mqtt_packet *p)
{
	uint8_t buf[512];
	int n = mqtt_encode(p, buf, sizeof buf, NULL);
	ck_assert_int_gt(n, 0);
	if (c->s && c->st != C_DOWN && c->st != C_CONNECTING)
		sim_sock_write(c->s, buf, (size_t)n); /* a dead connection shows on the next read */
}

static void cli_ack(cli *c, uint8_t type, uint16_t id)
{
	mqtt_packet p = { .type = type, .version = MQTT_V311, .packet_id = id };
	cli_send(c, &p);
}

static void cli_lost(cli *c)
{
	if (c->s)
		sim_sock_abort(c->s);
	c->s = NULL;
	c->st = C_DOWN;
	c->rx_len = 0;
	c->redial_at = sim_now(c->sw->w) + REDIAL_US;
}

static void publish(cli *c, int k, bool dup)
{
	pmsg *m = &c->m[k];
	mqtt_packet p = { .type = MQTT_PUBLISH, .version = MQTT_V311, .packet_id = (uint16_t)(k + 1) };
	p.publish.qos = m->qos;
	p.publish.retain = m->retain;
	p.publish.dup = dup;
	p.publish.topic = (mqtt_str){ (const uint8_t *)m->topic, (uint32_t)strlen(m->topic) };
	p.publish.payload = (mqtt_str){ (const uint8_t *)m->payload, (uint32_t)strlen(m->payload) };
	cli_send(c, &p);
}

static void add_mark(cli *c, bool suback)
{
	if (c->nmk == MAXMARK) {
		violation(c->sw, "%s: more than %d SUBACKs and session losses", c->id, MAXMARK);
		return;
	}
	c->mk[c->nmk++] = (mark){ sim_now(c->sw->w), suback };
}

static void subscribe(cli *c)
{
	mqtt_sub s = { .filter = { (const uint8_t *)c->filter, (uint32_t)strlen(c->filter) }, .qos = c->qos };
	mqtt_packet p = { .type = MQTT_SUBSCRIBE, .version = MQTT_V311, .packet_id = 1 };
	p.subscribe.items = &s;
	p.subscribe.count = 1;
	cli_send(c, &p);
}

static void on_connack(cli *c, const mqtt_packet *p)
{
	sweep *sw = c->sw;
	if (p->reason != 0) {
		violation(sw, "%s: CONNACK rc=%u", c->id, p->reason);
		return;
	}
	c->st = C_UP;
	c->last_ping = sim_now(sw->w);
	if (c->role == ROLE_PUB) {
		/* Unacknowledged PUBLISH again with DUP, PUBREL again for those PUBREC'd, with
		 * their ids, in order [MQTT-4.4.0-1]. */
		for (int k = 0; k < NMSG; k++) {
			if (c->m[k].state == M_SENT)
				publish(c, k, true);
			else if (c->m[k].state == M_REC) {
				if (!p->session_present)
					violation(sw, "%s: session present 0 after PUBREC for %s: the broker lost "
						  "state it had acknowledged", c->id, c->m[k].payload);
				cli_ack(c, MQTT_PUBREL, (uint16_t)(k + 1));
			}
		}
		return;
	}
	if (!p->session_present) {
		add_mark(c, false);
		c->subscribed = false;
		c->nrec2 = 0; /* no session at the broker: the client's session state goes too */
	}
	/* Subscribe when the session has no subscription we know of: a new session, or one
	 * whose SUBACK never came. */
	if (!c->subscribed)
		subscribe(c);
}

static bool rec2_has(cli *c, uint16_t id, bool remove)
{
	for (int i = 0; i < c->nrec2; i++)
		if (c->rec2[i] == id) {
			if (remove)
				c->rec2[i] = c->rec2[--c->nrec2];
			return true;
		}
	return false;
}

static void on_publish(cli *c, const mqtt_packet *p)
{
	sweep *sw = c->sw;
	const mqtt_publish *pub = &p->publish;
	char payload[32], topic[32];
	snprintf(payload, sizeof payload, "%.*s", (int)pub->payload.len, (const char *)pub->payload.data);
	snprintf(topic, sizeof topic, "%.*s", (int)pub->topic.len, (const char *)pub->topic.data);
	int pi, k;
	char end;
	const pmsg *m = NULL;
	if (sscanf(payload, "p%d.%d%c", &pi, &k, &end) == 2 && pi >= 0 && pi < NPUB && k >= 0 && k < NMSG)
		m = &sw->c[pi].m[k];
	if (!m || strcmp(m->topic, topic) || pub->qos > m->qos || (pub->retain && !m->retain) ||
	    m->first_sent < 0) {
		violation(sw, "%s got a message never published: topic %s payload \"%s\" qos %u retain %d",
			  c->id, topic, payload, pub->qos, pub->retain);
		return;
	}
	bool fresh = true;
	if (pub->qos == 2) {
		/* The receiver's side of exactly once: the same id before PUBREL is the same message. */
		fresh = !rec2_has(c, p->packet_id, false);
		if (fresh) {
			if (c->nrec2 == (int)(sizeof c->rec2 / sizeof c->rec2[0])) {
				violation(sw, "%s: too many QoS 2 ids awaiting PUBREL", c->id);
				return;
			}
			c->rec2[c->nrec2++] = p->packet_id;
		}
	}
	if (fresh) {
		if (c->ng == MAXGOT) {
			violation(sw, "%s: more than %d deliveries", c->id, MAXGOT);
			return;
		}
		c->g[c->ng++] = (got){ pi, k, pub->qos, pub->retain };
	}
	if (pub->qos == 1)
		cli_ack(c, MQTT_PUBACK, p->packet_id);
	else if (pub->qos == 2)
		cli_ack(c, MQTT_PUBREC, p->packet_id);
}

static void on_packet(cli *c, const mqtt_packet *p)
{
	sweep *sw = c->sw;
	if (p->type != MQTT_PINGRESP)
		sw->activity++;
	int k = p->packet_id - 1;
	pmsg *m = c->role == ROLE_PUB && k >= 0 && k < NMSG ? &c->m[k] : NULL;
	switch (p->type) {
	case MQTT_CONNACK:
		on_connack(c, p);
		break;
	case MQTT_SUBACK:
		if (p->codes.len != 1 || p->codes.data[0] == 0x80) {
			violation(sw, "%s: subscription refused", c->id);
			break;
		}
		c->subscribed = true;
		add_mark(c, true);
		break;
	case MQTT_PUBLISH:
		on_publish(c, p);
		break;
	case MQTT_PUBREL:
		rec2_has(c, p->packet_id, true);
		cli_ack(c, MQTT_PUBCOMP, p->packet_id);
		break;
	case MQTT_PUBACK:
		if (m && m->qos == 1 && m->state == M_SENT) {
			m->state = M_DONE;
			m->acked = sim_now(sw->w);
		}
		break;
	case MQTT_PUBREC:
		if (m && m->qos == 2 && (m->state == M_SENT || m->state == M_REC)) {
			m->state = M_REC;
			cli_ack(c, MQTT_PUBREL, p->packet_id);
		}
		break;
	case MQTT_PUBCOMP:
		if (m && m->state == M_REC) {
			m->state = M_DONE;
			m->acked = sim_now(sw->w);
		}
		break;
	default:
		break;
	}
}

static void on_readable(sim_sock *s, void *ctx)
{
	cli *c = ctx;
	for (;;) {
		if (c->rx_len == sizeof c->rx) {
			violation(c->sw, "%s: receive buffer full", c->id);
			cli_lost(c);
			return;
		}
		long n = sim_sock_read(s, c->rx + c->rx_len, sizeof c->rx - c->rx_len);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			cli_lost(c); /* EOF or reset: the broker went away */
			return;
		}
		c->rx_len += (size_t)n;
	}
	size_t pos = 0;
	while (pos < c->rx_len && c->s == s) {
		mqtt_packet p;
		mqtt_err e;
		int n = mqtt_decode(c->rx + pos, c->rx_len - pos, MQTT_V311, 0, &p, &e);
		if (n == 0)
			break;
		if (n < 0) {
			violation(c->sw, "%s: bad packet from the broker: [%s] %s", c->id, e.stmt, e.msg);
			cli_lost(c);
			return;
		}
		on_packet(c, &p);
		pos += (size_t)n;
	}
	if (c->s != s)
		return;
	memmove(c->rx, c->rx + pos, c->rx_len - pos);
	c->rx_len -= pos;
}

static void on_connect(sim_sock *s, int err, void *ctx)
{
	cli *c = ctx;
	if (err) {
		sim_sock_close(s);
		c->s = NULL;
		c->st = C_DOWN;
		c->redial_at = sim_now(c->sw->w) + REDIAL_US;
		return;
	}
	c->st = C_CONNACK;
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V311 };
	p.connect.client_id = (mqtt_str){ (const uint8_t *)c->id, (uint32_t)strlen(c->id) };
	p.connect.clean_start = c->role == ROLE_PROBE;
	cli_send(c, &p);
}

static const sim_sock_ops cli_ops = { on_connect, on_readable, NULL };

static bool want_online(const cli *c, sim_us now)
{
	return now < c->off_from || now >= c->off_to;
}

static void on_tick(sim_world *w, sim_timer *t)
{
	cli *c = t->arg;
	sim_us now = sim_now(w);
	sim_timer_after(w, t, TICK_US);
	if (!want_online(c, now)) {
		if (c->st == C_DOWN)
			return;
		if (c->st == C_UP && !c->abort_offline) {
			mqtt_packet d = { .type = MQTT_DISCONNECT, .version = MQTT_V311 };
			cli_send(c, &d);
			sim_sock_close(c->s);
		} else if (c->s) {
			sim_sock_abort(c->s);
		}
		c->s = NULL;
		c->st = C_DOWN;
		c->rx_len = 0;
		return;
	}
	if (c->st == C_DOWN) {
		if (now >= c->redial_at) {
			c->st = C_CONNECTING;
			c->dialed = now;
			c->s = sim_connect(c->h, c->sw->bh, PORT, &cli_ops, c);
		}
		return;
	}
	if (c->st != C_UP) {
		/* A CONNACK that does not come (the broker died with the CONNECT) ends the
		 * attempt, as a client's connect timeout does. */
		if (now - c->dialed > CONNACK_WAIT_US)
			cli_lost(c);
		return;
	}
	if (c->role == ROLE_PUB) {
		int inflight = 0, next = -1;
		for (int k = 0; k < NMSG; k++) {
			if (c->m[k].state == M_SENT || c->m[k].state == M_REC)
				inflight++;
			else if (c->m[k].state == M_NEW && next < 0)
				next = k;
		}
		if (inflight < WINDOW && next >= 0) {
			c->m[next].state = M_SENT;
			c->m[next].first_sent = now;
			publish(c, next, false);
		}
	}
	if (now - c->last_ping >= PING_US) {
		/* Also how an idle client learns that the broker restarted: the new host answers
		 * with RST. */
		mqtt_packet ping = { .type = MQTT_PINGREQ, .version = MQTT_V311 };
		cli_send(c, &ping);
		c->last_ping = now;
	}
}

static void cli_init(sweep *sw, cli *c, const char *id, int role)
{
	c->sw = sw;
	snprintf(c->id, sizeof c->id, "%s", id);
	c->role = role;
	c->h = sim_host_add(sw->w, id);
	c->off_from = c->off_to = SIM_FOREVER;
	sim_timer_init(&c->tick, on_tick, c);
}

/* ---- one run --------------------------------------------------------------------------------- */

/* CRASHSWEEP_TRACE: the run's trace on stderr, line by line. */
static void trace_to_stderr(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	(void)len;
	fputs(line, stderr);
}

static void sweep_setup(sweep *sw, long crash_at, int mutant, bool torn, long recrash)
{
	memset(sw, 0, sizeof *sw);
	sw->w = sim_world_new(20 + (uint64_t)crash_at);
	ck_assert_ptr_nonnull(sw->w);
	sim_trace_enable(sw->w, getenv("CRASHSWEEP_TRACE") != NULL);
	if (getenv("CRASHSWEEP_TRACE"))
		sim_trace_record(sw->w, false, trace_to_stderr, NULL);
	sim_link l = { .latency_us = 1 * MS, .rto_us = 10 * MS, .rto_max_us = 40 * MS };
	sim_net_set_default(sw->w, &l);
	sw->bh = sim_host_add(sw->w, "broker");
	sim_disk_set_torn(sim_host_disk(sw->bh), torn);
	sim_timer_init(&sw->crash_t, on_crash_timer, sw);
	sim_timer_init(&sw->restart_t, on_restart_timer, sw);
	sw->cs = (cstore){ .inner = broker_sim_disk_store(sw->bh), .sw = sw, .crash_at = crash_at,
			  .recrash = recrash, .mutant = mutant };
	sw->wrap = (broker_store){ &sw->cs, w_append, w_sync, w_load, w_replace, NULL };

	/* Publishers: p0 on t/a (QoS 1 and 2 in turn), p1 on t/b (QoS 2), every third retained.
	 * p1 drops its connection (RST) for a while with messages in flight. */
	for (int i = 0; i < NPUB; i++) {
		cli *c = &sw->c[i];
		char id[8];
		snprintf(id, sizeof id, "p%d", i);
		cli_init(sw, c, id, ROLE_PUB);
		for (int k = 0; k < NMSG; k++) {
			pmsg *m = &c->m[k];
			snprintf(m->topic, sizeof m->topic, "t/%c", 'a' + i);
			snprintf(m->payload, sizeof m->payload, "p%d.%d", i, k);
			m->qos = i == 0 ? (uint8_t)(1 + k % 2) : 2;
			m->retain = k % 3 == 2;
			m->first_sent = m->acked = -1;
		}
	}
	sw->c[1].off_from = 30 * MS;
	sw->c[1].off_to = 55 * MS;
	sw->c[1].abort_offline = true;
	/* Subscribers: s0 t/# QoS 2, always there; s1 t/a QoS 1, away for a while; s2 t/+ QoS 2,
	 * away longer. The probe reads the retained messages at the end. */
	static const char *filters[NSUB] = { "t/#", "t/a", "t/+" };
	static const uint8_t qos[NSUB] = { 2, 1, 2 };
	static const sim_us away[NSUB][2] = { { SIM_FOREVER, SIM_FOREVER }, { 15 * MS, 60 * MS }, { 40 * MS, 120 * MS } };
	for (int i = 0; i < NSUB; i++) {
		cli *c = &sw->c[NPUB + i];
		char id[8];
		snprintf(id, sizeof id, "s%d", i);
		cli_init(sw, c, id, ROLE_SUB);
		c->filter = filters[i];
		c->qos = qos[i];
		c->off_from = away[i][0];
		c->off_to = away[i][1];
	}
	cli *probe = &sw->c[NCLI - 1];
	cli_init(sw, probe, "probe", ROLE_PROBE);
	probe->filter = "t/#";
	probe->qos = 0;
	probe->off_from = 0; /* joins at the end */

	broker_config cfg;
	broker_config_init(&cfg);
	cfg.sys_interval_s = 0;
	cfg.compact_bytes = 1500; /* a few compactions per run: replace() is swept too */
	cfg.store = &sw->wrap;
	sw->bs = broker_sim_start(sw->w, sw->bh, PORT, &cfg);
	/* Subscribers first, then publishers, 1 ms apart. */
	for (int i = 0; i < NCLI - 1; i++) {
		cli *c = &sw->c[(i + NPUB) % (NCLI - 1)];
		sim_timer_arm(sw->w, &c->tick, (sim_us)i * MS);
	}
}

static void sweep_teardown(sweep *sw)
{
	for (int i = 0; i < NCLI; i++) {
		sim_timer_cancel(sw->w, &sw->c[i].tick);
		if (sw->c[i].s)
			sim_sock_abort(sw->c[i].s);
	}
	sim_timer_cancel(sw->w, &sw->crash_t);
	sim_timer_cancel(sw->w, &sw->restart_t);
	broker_sim_free(sw->bs);
	sim_world_free(sw->w);
	free(sw->cs.late);
}

static bool all_acked(const sweep *sw)
{
	for (int i = 0; i < NPUB; i++)
		for (int k = 0; k < NMSG; k++)
			if (sw->c[i].m[k].state != M_DONE)
				return false;
	return true;
}

static bool all_up(const sweep *sw, int n)
{
	for (int i = 0; i < n; i++)
		if (sw->c[i].st != C_UP)
			return false;
	return true;
}

/* Where each client stands, for a run that did not settle. */
static void describe(const sweep *sw, char *out, size_t cap)
{
	static const char *st[] = { "down", "connecting", "awaiting CONNACK", "up" };
	size_t n = 0;
	out[0] = 0;
	for (int i = 0; i < NCLI && n < cap; i++) {
		const cli *c = &sw->c[i];
		n += (size_t)snprintf(out + n, cap - n, "; %s %s", c->id, st[c->st]);
		if (c->role == ROLE_PUB)
			for (int k = 0; k < NMSG && n < cap; k++)
				if (c->m[k].state != M_DONE)
					n += (size_t)snprintf(out + n, cap - n, " %s:%s", c->m[k].payload,
							      c->m[k].state == M_NEW ? "new" : c->m[k].state == M_SENT ? "sent" : "pubrec");
	}
}

/* Run until quiet: every message acknowledged, every client connected, 100 ms without a
 * packet. Bounded: a workload that never settles is a failure of its own. */
static bool run_until_quiet(sweep *sw, int nclients)
{
	for (int round = 0; round < 200; round++) {
		uint64_t before = sw->activity;
		sim_run(sw->w, sim_now(sw->w) + 100 * MS, 0);
		if (sw->why[0])
			return true;
		if (sim_now(sw->w) > 150 * MS && all_acked(sw) && all_up(sw, nclients) &&
		    !sim_timer_armed(&sw->restart_t) && sw->activity == before)
			return true;
	}
	return false;
}

static void check(sweep *sw)
{
	for (int si = 0; si < NSUB && !sw->why[0]; si++) {
		const cli *s = &sw->c[NPUB + si];
		for (int pi = 0; pi < NPUB && !sw->why[0]; pi++) {
			for (int k = 0; k < NMSG && !sw->why[0]; k++) {
				const pmsg *m = &sw->c[pi].m[k];
				if (!mqtt_topic_match((const uint8_t *)s->filter, strlen(s->filter),
						      (const uint8_t *)m->topic, strlen(m->topic)))
					continue;
				int live = 0, live2 = 0;
				for (int i = 0; i < s->ng; i++)
					if (s->g[i].pub == pi && s->g[i].k == k && !s->g[i].retain) {
						live++;
						live2 += s->g[i].qos == 2;
					}
				/* Held: the latest SUBACK before the first send, and no session lost from
				 * it until the acknowledgement. */
				int from = -1;
				for (int i = 0; i < s->nmk; i++)
					if (s->mk[i].suback && s->mk[i].at < m->first_sent)
						from = i;
				bool held = from >= 0;
				for (int i = from + 1; held && i < s->nmk; i++)
					if (!s->mk[i].suback && s->mk[i].at <= m->acked)
						held = false;
				if (held && live == 0)
					violation(sw, "%s: acknowledged %s (QoS %u, sent at %lld us, acknowledged at "
						  "%lld us) never reached %s, subscribed to %s since %lld us",
						  sw->c[pi].id, m->payload, m->qos, (long long)m->first_sent,
						  (long long)m->acked, s->id, s->filter, (long long)s->mk[from].at);
				if (live2 > 1)
					violation(sw, "%s got QoS 2 message %s %d times", s->id, m->payload, live2);
			}
		}
	}
	/* Retained: the last message published retained on each topic, exactly once. */
	const cli *probe = &sw->c[NCLI - 1];
	for (int pi = 0; pi < NPUB && !sw->why[0]; pi++) {
		int last = -1, seen = 0;
		for (int k = 0; k < NMSG; k++)
			if (sw->c[pi].m[k].retain)
				last = k;
		for (int i = 0; i < probe->ng; i++) {
			if (probe->g[i].pub != pi)
				continue;
			seen++;
			if (probe->g[i].k != last || !probe->g[i].retain)
				violation(sw, "retained on %s: %s, but the last published there is %s",
					  sw->c[pi].m[0].topic, sw->c[pi].m[probe->g[i].k].payload,
					  sw->c[pi].m[last].payload);
		}
		if (seen != 1)
			violation(sw, "retained on %s: %d messages, not 1", sw->c[pi].m[0].topic, seen);
	}
}

/* One run crashing at store call crash_at (0: never). Returns the calls the run made (so
 * crash_at past it means no crash happened); why is empty if the checker found nothing. */
static long sweep_run(long crash_at, int mutant, bool torn, long recrash, char *why, size_t cap)
{
	sweep *sw = calloc(1, sizeof *sw);
	ck_assert_ptr_nonnull(sw);
	sweep_setup(sw, crash_at, mutant, torn, recrash);
	if (!run_until_quiet(sw, NCLI - 1)) {
		char d[300];
		describe(sw, d, sizeof d);
		violation(sw, "the workload did not settle by %lld us%s", (long long)sim_now(sw->w), d);
	}
	if (!sw->why[0]) {
		cli *probe = &sw->c[NCLI - 1];
		probe->off_to = sim_now(sw->w);
		probe->redial_at = 0;
		sim_timer_after(sw->w, &probe->tick, 0);
		if (!run_until_quiet(sw, NCLI) || !probe->subscribed)
			violation(sw, "the probe did not settle by %lld us", (long long)sim_now(sw->w));
	}
	if (!sw->why[0])
		check(sw);
	if (crash_at && sw->crashed && sw->crashes != (recrash ? 2 : 1))
		violation(sw, "the run crashed %d times, not %d", sw->crashes, recrash ? 2 : 1);
	if (sw->crashed && sw->why[0])
		snprintf(why, cap, "(crash at %lld us) ", (long long)sw->crash_time);
	else
		why[0] = 0;
	if (sw->why[0]) {
		size_t n = strlen(why);
		snprintf(why + n, cap - n, "%s", sw->why);
	}
	long calls = sw->cs.calls;
	sweep_teardown(sw);
	free(sw);
	return calls;
}

/* Sweep N = 1, 2, ... for one disk model; returns the points swept, or -1 with what failed
 * in why (and the first failing point in *at). */
static long sweep_all(int mutant, bool torn, long recrash, long step, long *at, char *why, size_t cap)
{
	const char *one = getenv("CRASHSWEEP_N");
	long n = one ? atol(one) : 1;
	for (long swept = 0;; n += step) {
		long calls = sweep_run(n, mutant, torn, recrash, why, cap);
		if (why[0]) {
			*at = n;
			return -1;
		}
		if (calls < n || one)
			return swept; /* this run had no N-th call: every point is done */
		swept++;
	}
}

/* _i: 0 unsynced writes lost, 1 torn (a random part of an unsynced tail kept), 2 torn and a
 * second crash during the recovery that follows the first. */
START_TEST(test_crash_sweep)
{
	static const char *mode[] = { "lose-unsynced disk", "torn-write disk",
				      "torn-write disk, crashed again in recovery" };
	bool torn = _i >= 1;
	long recrash = _i == 2 ? 1 : 0;
	char why[800];
	/* Without a crash the workload passes and says how many store calls it makes. */
	long calls = sweep_run(0, MUT_NONE, torn, 0, why, sizeof why);
	ck_assert_msg(!why[0], "no crash: %s", why);
	ck_assert_int_gt(calls, 20);
	long at = 0;
	const char *e = getenv("CRASHSWEEP_STEP"); /* make valgrind: every 4th point */
	long step = e && atol(e) > 0 ? atol(e) : 1;
	long swept = sweep_all(MUT_NONE, torn, recrash, step, &at, why, sizeof why);
	ck_assert_msg(swept >= 0, "%s, crash at store call %ld: %s\n  replay: CRASHSWEEP_N=%ld "
		      "CK_RUN_SUITE=crashsweep build/check_mqttsim", mode[_i], at, why, at);
	fprintf(stderr, "crashsweep: %s: %ld crash points swept%s (%ld store calls without a crash)\n",
		mode[_i], swept, step > 1 ? " (every few only: CRASHSWEEP_STEP)" : "", calls);
}
END_TEST

/* The sweep can fail: a store that does not do what it promises is caught. */
START_TEST(test_crash_sweep_catches_mutants)
{
	static const int mutants[] = { MUT_SYNC_NOOP, MUT_APPEND_LATE };
	if (getenv("CRASHSWEEP_N"))
		return;
	char why[800];
	long at = 0;
	long swept = sweep_all(mutants[_i], false, 0, 1, &at, why, sizeof why);
	ck_assert_msg(swept < 0, "mutant %d survived %ld crash points", mutants[_i], swept);
	fprintf(stderr, "crashsweep: mutant %d caught at crash point %ld: %s\n", mutants[_i], at, why);
}
END_TEST

Suite *crashsweep_suite(void)
{
	Suite *s = suite_create("crashsweep");
	TCase *tc = tcase_create("sweep");
	tcase_set_timeout(tc, 300); /* a few seconds natively; valgrind runs a reduced sweep */
	tcase_add_loop_test(tc, test_crash_sweep, 0, 3);
	tcase_add_loop_test(tc, test_crash_sweep_catches_mutants, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
