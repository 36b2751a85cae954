/*
 * core.c - the broker's lifecycle, connections, the packet dispatcher, keepalive
 * deadlines and the encode-and-send path.
 */
#include "broker/core.h"
#include "mqtt/alloc.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_PACKET (1u << 20)

uint64_t broker__core_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void broker_config_init(broker_config *c)
{
	memset(c, 0, sizeof *c);
	c->max_packet_size = DEFAULT_MAX_PACKET;
	c->max_inflight = 20;
	c->max_queued = 1000;
	c->queue_policy = BROKER_DROP_NEW;
	c->allow_anonymous = true;
	c->sys_interval_s = 10;
	c->max_connections = 100000;
	c->max_qos = 2;
	c->retain_available = true;
	c->topic_alias_max = 10;
}

void broker__core_log(broker *b, const char *fmt, ...)
{
	if (!b->env.log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	b->env.log(b->env.ctx, line);
}

static int64_t now(broker *b) { return b->env.now_us(b->env.ctx); }

broker *broker_new(const broker_env *env, const broker_config *cfg)
{
	broker *b = mqtt_xcalloc(1, sizeof *b);
	b->env = *env;
	if (cfg)
		b->cfg = *cfg;
	else
		broker_config_init(&b->cfg);
	if (!b->cfg.max_packet_size)
		b->cfg.max_packet_size = DEFAULT_MAX_PACKET;
	if (!b->cfg.max_inflight)
		b->cfg.max_inflight = 20;
	if (!b->cfg.max_queued)
		b->cfg.max_queued = 1000;
	if (!b->cfg.max_connections)
		b->cfg.max_connections = 100000;
	/* Permitted variants override what they contradict (broker.h). */
	if (b->cfg.variants & BROKER_VAR_ONE_INFLIGHT)
		b->cfg.max_inflight = 1;
	if (b->cfg.variants & BROKER_VAR_NO_SYS)
		b->cfg.sys_interval_s = 0;
	if (b->cfg.variants & BROKER_VAR_QOS0_NOT_QUEUED)
		b->cfg.queue_qos0 = false;
	if ((b->cfg.variants & BROKER_VAR_SERVER_KEEPALIVE) && !b->cfg.server_keepalive_s)
		b->cfg.server_keepalive_s = 10;
	if ((b->cfg.variants & BROKER_VAR_LOW_RECEIVE_MAX) && !b->cfg.receive_max)
		b->cfg.receive_max = 2;
	if (b->cfg.variants & BROKER_VAR_RANDOM_IDS) {
		/* The shell's unpredictable bytes (seeded in simulation), else a fixed odd seed. */
		uint8_t r[8] = { 0 };
		if (b->env.rand_bytes)
			b->env.rand_bytes(b->env.ctx, r, sizeof r);
		for (int k = 0; k < 8; k++)
			b->id_rng = b->id_rng << 8 | r[k];
		b->id_rng |= 1;
	}
	b->conn_buckets = b->sess_buckets = b->ret_buckets = 1024;
	b->conn_hash = mqtt_xcalloc(b->conn_buckets, sizeof *b->conn_hash);
	b->sess_hash = mqtt_xcalloc(b->sess_buckets, sizeof *b->sess_hash);
	b->ret_hash = mqtt_xcalloc(b->ret_buckets, sizeof *b->ret_hash);
	b->started_us = now(b);
	b->next_sys_us = b->cfg.sys_interval_s ? b->started_us : INT64_MAX;
	b->woken_for = -1;
	broker__persist_recover(b);
	broker_tick(b);
	return b;
}

/* ---- connection lookup ------------------------------------------------------------------- */

static conn **conn_slot(broker *b, uint64_t id)
{
	return &b->conn_hash[(id * 0x9e3779b97f4a7c15ull >> 32) & (b->conn_buckets - 1)];
}

conn *broker__conn_find(broker *b, uint64_t id)
{
	for (conn *c = *conn_slot(b, id); c; c = c->hnext)
		if (c->id == id)
			return c;
	return NULL;
}

static void conn_unhash(broker *b, conn *c)
{
	for (conn **pp = conn_slot(b, c->id); *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			return;
		}
	}
}

/* ---- the keepalive deadline heap ----------------------------------------------------------- */

static void heap_set(broker *b, conn *c, int64_t at)
{
	c->dl.tie = c->id; /* keys (deadline, id) are unique: expiry order never depends on shape */
	broker__bheap_set(&b->deadlines, &c->dl, at);
}

/* After a list changed from head `old`: only its head stands in the heap. */
static void kal_head_changed(broker *b, kalist *l, conn *old)
{
	conn *h = l->head;
	if (old && old != h && old->kal == l)
		heap_set(b, old, INT64_MAX);
	if (h && (h != old || h->dl.at != h->ka_due))
		heap_set(b, h, h->ka_due);
}

static void kal_unlink(kalist *l, conn *c)
{
	if (c->ka_prev)
		c->ka_prev->ka_next = c->ka_next;
	else
		l->head = c->ka_next;
	if (c->ka_next)
		c->ka_next->ka_prev = c->ka_prev;
	else
		l->tail = c->ka_prev;
	c->ka_prev = c->ka_next = NULL;
}

static kalist *kal_get(broker *b, uint16_t keepalive_s)
{
	size_t lo = 0, hi = b->nkals;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->kals[mid]->keepalive_s < keepalive_s)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->nkals && b->kals[lo]->keepalive_s == keepalive_s)
		return b->kals[lo];
	if (b->nkals == b->kals_cap) {
		b->kals_cap = b->kals_cap ? 2 * b->kals_cap : 4; /* at most 65535 values */
		b->kals = mqtt_xrealloc(b->kals, b->kals_cap * sizeof *b->kals);
	}
	memmove(b->kals + lo + 1, b->kals + lo, (b->nkals - lo) * sizeof *b->kals);
	b->nkals++;
	kalist *l = mqtt_xcalloc(1, sizeof *l);
	l->keepalive_s = keepalive_s;
	b->kals[lo] = l;
	return l;
}

/* A deadline outside the keepalive lists: the CONNECT timer, or INT64_MAX for none. */
void broker__core_deadline(broker *b, conn *c, int64_t at)
{
	if (c->kal) {
		kalist *l = c->kal;
		conn *old = l->head;
		kal_unlink(l, c);
		c->kal = NULL;
		kal_head_changed(b, l, old);
	}
	heap_set(b, c, at);
}

/* The keepalive expiry of a connected client, set or pushed back [MQTT-3.1.2-24]. */
void broker__core_keepalive(broker *b, conn *c, int64_t due)
{
	if (!c->kal) {
		heap_set(b, c, INT64_MAX); /* the CONNECT timer, if any, is over */
		c->kal = kal_get(b, c->keepalive_s);
	} else if (c == c->kal->tail && c->ka_due == due) {
		return; /* a second packet in the same microsecond */
	}
	kalist *l = c->kal;
	conn *old = l->head;
	if (old == c || c->ka_prev) /* in the list (a list's only conn is its head) */
		kal_unlink(l, c);
	c->ka_due = due;
	/* Usually the latest: the walk stops at once. */
	conn *p = l->tail;
	while (p && (p->ka_due > due || (p->ka_due == due && p->id > c->id)))
		p = p->ka_prev;
	c->ka_prev = p;
	c->ka_next = p ? p->ka_next : l->head;
	if (c->ka_next)
		c->ka_next->ka_prev = c;
	else
		l->tail = c;
	if (p)
		p->ka_next = c;
	else
		l->head = c;
	kal_head_changed(b, l, old);
}

/* Tell the shell when to call broker_tick() next, if that changed. */
static void rearm(broker *b)
{
	int64_t at = b->next_sys_us;
	if (broker__bheap_next(&b->deadlines) < at)
		at = broker__bheap_next(&b->deadlines);
	if (broker__bheap_next(&b->expiries) < at)
		at = broker__bheap_next(&b->expiries);
	if (broker__bheap_next(&b->wills) < at)
		at = broker__bheap_next(&b->wills);
	if (at != b->woken_for) {
		b->woken_for = at;
		if (b->env.wake)
			b->env.wake(b->env.ctx, at);
	}
}

/* ---- wills --------------------------------------------------------------------------------- */

/* A will goes out like a PUBLISH of its client's; its Message Expiry Interval counts from
 * here. from: its session, if that lives on (No Local). */
static void will_publish(broker *b, msg *m, bool has_expiry, uint32_t expiry_s, const session *from)
{
	if (has_expiry) {
		m->expiry_s = expiry_s;
		m->expire_us = now(b) + (int64_t)expiry_s * 1000000;
	}
	if (m->retain)
		broker__retained_set(b, m);
	broker__route(b, m, from);
}

void broker__will_cancel(broker *b, session *s)
{
	if (!s->will)
		return;
	broker__bheap_set(&b->wills, &s->willh, INT64_MAX);
	broker__msg_unref(s->will);
	s->will = NULL;
	broker__persist_will(b, s);
}

void broker__will_fire(broker *b, session *s)
{
	msg *m = s->will;
	if (!m)
		return;
	broker__bheap_set(&b->wills, &s->willh, INT64_MAX);
	s->will = NULL;
	broker__persist_will(b, s); /* before the deliveries it makes, in the same sync */
	broker__core_log(b, "will of client=%s published (delayed)", s->client_id);
	will_publish(b, m, s->will_has_expiry, s->will_expiry_s, s);
	broker__msg_unref(m);
}

/* ---- sending --------------------------------------------------------------------------------- */

/* The packet as this connection's level puts it on the wire, within the client's Maximum
 * Packet Size (5.0), which nothing may exceed [MQTT-3.1.2-24]. A reason string and user
 * properties go first, as each packet's rules ask (MQTT-3.4.2-2 and its like; not a
 * PUBLISH's); a packet
 * still too large is not sent at all, as if it had been [MQTT-3.1.2-25]. *q is the packet
 * to encode, its size returned (0: do not send). */
size_t broker__core_fit(const conn *c, const mqtt_packet *p, mqtt_packet *q)
{
	*q = *p;
	q->version = c->version == MQTT_V5 ? MQTT_V5 : MQTT_V311;
	if (q->version != MQTT_V5)
		q->props = (mqtt_props){ 0 };
	else if (!c->problem_info && q->type != MQTT_PUBLISH && q->type != MQTT_CONNACK &&
		 q->type != MQTT_DISCONNECT) {
		/* Request Problem Information 0: no Reason String or User Property on any other
		 * packet [MQTT-3.1.2-29], whoever built it. */
		q->props.present &= ~((uint64_t)1 << MQTT_PROP_REASON_STRING);
		q->props.user_count = 0;
		q->props.user = NULL;
		q->props.raw = (mqtt_str){ 0 };
	}
	size_t n = mqtt_encoded_size(q);
	if (n && c->max_out_packet && n > c->max_out_packet) {
		/* A PUBLISH's User Properties are the publisher's, forwarded unaltered or not
		 * at all [MQTT-3.3.2-17]. */
		if (q->type == MQTT_PUBLISH)
			return 0;
		q->props.present &= ~((uint64_t)1 << MQTT_PROP_REASON_STRING);
		q->props.user_count = 0;
		q->props.user = NULL;
		q->props.raw = (mqtt_str){ 0 };
		n = mqtt_encoded_size(q);
		if (n > c->max_out_packet)
			n = 0;
	}
	return n;
}

void broker__core_send(broker *b, conn *c, const mqtt_packet *p0)
{
	mqtt_packet pq, *p = &pq;
	size_t n = broker__core_fit(c, p0, p);
	if (n == 0)
		return; /* over the client's maximum, or (never for what the broker builds) garbage */
	if (n > b->out_cap) {
		size_t cap = b->out_cap ? b->out_cap : 4096;
		while (cap < n)
			cap *= 2;
		uint8_t *o = mqtt_xrealloc(b->out, cap);
		b->out = o;
		b->out_cap = cap;
	}
	int w = mqtt_encode(p, b->out, b->out_cap, NULL);
	if (w > 0)
		b->env.send(b->env.ctx, c->id, b->out, (size_t)w);
	if (p->type == MQTT_PUBLISH)
		b->st.msgs_sent++;
}

/* ---- connections ------------------------------------------------------------------------------- */

int broker_on_open(broker *b, uint64_t id, const char *peer)
{
	if (broker__conn_find(b, id))
		return -1;
	if (b->nconns >= b->cfg.max_connections) {
		broker__core_log(b, "refused %s: %u connections already open", peer ? peer : "?",
				 b->cfg.max_connections);
		b->env.close(b->env.ctx, id);
		return -1;
	}
	conn *c = mqtt_xcalloc(1, sizeof *c);
	c->id = id;
	c->peer = mqtt_xstrndup(peer ? peer : "?", strlen(peer ? peer : "?"));
	c->dl.at = INT64_MAX;
	BROKER_LIST_APPEND(b->conns, b->conns_tail, c, prev, next);
	if (b->nconns + 1 > b->conn_buckets) {
		/* Keep chains short with thousands of clients (fleets of simulated nodes). */
		size_t cap = b->conn_buckets * 2;
		conn **t = mqtt_xcalloc(cap, sizeof *t);
		free(b->conn_hash);
		b->conn_hash = t;
		b->conn_buckets = cap;
		for (conn *x = b->conns; x; x = x->next) {
			if (x == c)
				continue;
			conn **sl = conn_slot(b, x->id);
			x->hnext = *sl;
			*sl = x;
		}
	}
	conn **slot = conn_slot(b, id);
	c->hnext = *slot;
	*slot = c;
	b->nconns++;
	/* A client has a while to send CONNECT; keepalive takes over after it. */
	broker__core_deadline(b, c, now(b) + 30 * 1000000LL);
	rearm(b);
	return 0;
}

static void conn_free(broker *b, conn *c)
{
	if (c->s && c->s->c == c)
		c->s->c = NULL;
	broker__core_deadline(b, c, INT64_MAX);
	conn_unhash(b, c);
	b->nconns--;
	BROKER_LIST_UNLINK(b->conns, b->conns_tail, c, prev, next);
	free(c->peer);
	free(c->username);
	free(c->rx);
	free(c->will_topic);
	for (uint32_t i = 0; i < c->nalias; i++)
		free(c->alias[i]);
	free(c->alias);
	free(c->will_payload);
	broker__msg_unref(c->will_msg);
	broker__auth_conn_free(c);
	free(c);
}

/* Forget a connection: publish its will if it ended abnormally, detach or drop its
 * session, and (when the broker decided) ask the shell to close the transport.
 *
 * The session is detached (a clean one freed) before the will is routed: a will is a
 * message like any other from a client that is gone, so a persistent session subscribed
 * to its own will topic gets it queued for its return (QoS 0 only with queue_qos0), never
 * sent into the transport being closed. Whether the owner may publish it is asked with
 * the user name of its CONNECT; each receiver's read access is checked by deliver(). */
static void conn_end(broker *b, conn *c, bool publish_will, bool tell_shell, const char *why)
{
	session *s = c->s;
	if (c->state == CONN_UP) {
		b->st.clients_connected--;
		broker__core_log(b, "disconnect %s client=%s (%s)", c->peer, s ? s->client_id : "-", why);
	}
	bool will_allowed = !c->will || !b->cfg.auth || !b->cfg.auth->allow || !s ||
			    b->cfg.auth->allow(b->cfg.auth->ctx, s->client_id, c->username, c->will_topic, true);
	bool will = publish_will && c->will && will_allowed && !(b->cfg.test_faults & BROKER_TF_SKIP_WILL);
	const session *from = NULL; /* the will's publisher, for No Local, if it lives on */
	if (s) {
		s->c = NULL;
		c->s = NULL;
		if (s->clean || (b->cfg.test_faults & BROKER_TF_FORGET_SESSION)) {
			broker__session_free(b, s);
		} else {
			broker__session_detach(b, s); /* it stays, offline */
			from = s;
		}
	}
	if (will && c->will_msg && c->will_delay_s && from && !(b->cfg.test_faults & BROKER_TF_WILL_DELAY_IGNORED)) {
		/* 5.0 Will Delay Interval: it waits with the session (broker__will_fire). */
		session *ws = (session *)from;
		broker__will_cancel(b, ws);
		ws->will = c->will_msg;
		c->will_msg = NULL;
		ws->will_has_expiry = c->will_has_expiry;
		ws->will_expiry_s = c->will_expiry_s;
		ws->will_delay_s = c->will_delay_s;
		ws->willh.tie = ws->seq;
		broker__bheap_set(&b->wills, &ws->willh, now(b) + (int64_t)c->will_delay_s * 1000000);
		broker__persist_will(b, ws);
	} else if (will) {
		/* Published like any message from this client, with its QoS and retain (and a
		 * 5.0 will's properties); at once when it has no delay or its session ended. */
		msg *m = c->will_msg;
		c->will_msg = NULL;
		if (!m)
			m = broker__msg_new(c->will_topic, strlen(c->will_topic), c->will_payload,
					    c->will_payload_len, c->will_qos, c->will_retain);
		will_publish(b, m, c->will_has_expiry, c->will_expiry_s, from);
		broker__msg_unref(m);
	}
	c->will = false;
	uint64_t id = c->id;
	conn_free(b, c);
	if (tell_shell)
		b->env.close(b->env.ctx, id);
}

void broker__core_close(broker *b, conn *c, bool publish_will, const char *why)
{
	conn_end(b, c, publish_will, true, why);
}

bool broker__core_reason_ok(const conn *c)
{
	return c->version == MQTT_V5 && c->problem_info;
}

void broker__core_disconnect(broker *b, conn *c, uint8_t reason, const char *why)
{
	if (c->version == MQTT_V5 && c->state == CONN_UP) {
		/* A server may say why before it closes (5.0 §4.13); after the held output, so
		 * nothing the client was promised is lost behind it. Only once CONNACK went out:
		 * before it the answer is a CONNACK (see refuse_malformed). */
		mqtt_packet d = { .type = MQTT_DISCONNECT, .version = MQTT_V5, .reason = reason };
		if (why && broker__core_reason_ok(c)) {
			d.props.reason_string = (mqtt_str){ (const uint8_t *)why, (uint32_t)strlen(why) };
			MQTT_SET(&d.props, MQTT_PROP_REASON_STRING);
		}
		broker__send_later(b, c, &d);
		broker__acks_flush(b);
	}
	broker__core_close(b, c, true, why ? why : "disconnected by the server");
}

void broker_on_close(broker *b, uint64_t id)
{
	conn *c = broker__conn_find(b, id);
	if (!c)
		return;
	/* The client left without DISCONNECT: that is the abnormal end a will is for. */
	conn_end(b, c, true, false, "connection lost");
	broker__acks_flush(b);
	rearm(b);
}

/* The protocol level of a CONNECT that names the protocol "MQTT", read from its raw bytes
 * (whatever else is wrong with it), or -1. A 3.1.1 server refuses every other level with
 * CONNACK 0x01 [MQTT-3.1.2-2], also when the rest of the packet only parses by that level's
 * own rules (a level 5 CONNECT with properties, say). */
static int connect_level(const uint8_t *d, size_t len)
{
	if (len < 2 || d[0] != 0x10)
		return -1;
	size_t i = 1;
	while (i < len && i < 5 && (d[i] & 0x80))
		i++;
	i++; /* past the last length byte */
	if (i + 7 > len || d[i] != 0 || d[i + 1] != 4 || memcmp(d + i + 2, "MQTT", 4))
		return -1;
	return d[i + 6];
}

/* reason: the 5.0 DISCONNECT reason a 5.0 client is told (0x81 malformed, 0x82 protocol
 * error, 0x95 too large, ...); a 3.1.1 client is only closed on, as 3.1.1 requires. */
static void protocol_error(broker *b, conn *c, const char *stmt, const char *what, uint8_t reason)
{
	b->st.protocol_errors++;
	broker__core_log(b, "protocol error from %s client=%s: [%s] %s", c->peer, c->s ? c->s->client_id : "-",
			 stmt ? stmt : "-", what);
	if (c->version == MQTT_V5 && c->state == CONN_UP)
		broker__core_disconnect(b, c, reason >= 0x80 ? reason : 0x82, what);
	else
		broker__core_close(b, c, true, "protocol error");
}

/* A 5.0 CONNECT the broker cannot read: CONNACK with the reason (0x81 malformed, 0x82
 * protocol error, 0x95 too large), then close; no will, the session never began
 * (5.0 §4.13.1: before CONNACK the answer to a bad packet may be a CONNACK). */
static void refuse_v5(broker *b, conn *c, uint8_t reason, const char *what)
{
	b->st.protocol_errors++;
	mqtt_packet r = { .type = MQTT_CONNACK, .version = MQTT_V5, .reason = reason };
	c->version = MQTT_V5;
	broker__core_send(b, c, &r);
	broker__core_log(b, "refused %s: %s (CONNACK 0x%02X)", c->peer, what, reason);
	broker__core_close(b, c, false, "bad CONNECT");
}

/* One decoded packet. Returns false when the connection is gone. */
static bool dispatch(broker *b, conn *c, const mqtt_packet *p)
{
	uint64_t id = c->id;
	if (c->state == CONN_NEW && c->connect_raw) {
		/* A CONNECT waits for its enhanced authentication: only AUTH or DISCONNECT may come
		 * before CONNACK [MQTT-3.1.2-30]; anything else is refused with CONNACK 0x82. */
		if (p->type == MQTT_AUTH) {
			broker__handle_auth(b, c, p);
			return broker__conn_find(b, id) != NULL;
		}
		if (p->type != MQTT_DISCONNECT) {
			refuse_v5(b, c, 0x82, p->type == MQTT_CONNECT
						  ? "[MQTT-3.1.0-2] a second CONNECT during authentication"
						  : "[MQTT-3.1.2-30] a packet other than AUTH or DISCONNECT before CONNACK");
			return false;
		}
		broker__core_close(b, c, false, "DISCONNECT during authentication");
		return false;
	}
	if (c->state == CONN_NEW && p->type != MQTT_CONNECT) {
		protocol_error(b, c, "MQTT-3.1.0-1", "the first packet must be CONNECT", 0x82);
		return false;
	}
	switch (p->type) {
	case MQTT_AUTH: broker__handle_auth(b, c, p); break;
	case MQTT_CONNECT:
		if (c->state != CONN_NEW && (b->cfg.test_faults & BROKER_TF_SECOND_CONNECT)) {
			mqtt_packet r = { .type = MQTT_CONNACK, .version = c->version };
			broker__core_send(b, c, &r);
			break;
		}
		if (c->state != CONN_NEW) {
			protocol_error(b, c, "MQTT-3.1.0-2", "a second CONNECT on one connection", 0x82);
			return false;
		}
		broker__handle_connect(b, c, p);
		break;
	case MQTT_PUBLISH: broker__handle_publish(b, c, p); break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP: broker__handle_ack(b, c, p); break;
	case MQTT_SUBSCRIBE: broker__handle_subscribe(b, c, p); break;
	case MQTT_UNSUBSCRIBE: broker__handle_unsubscribe(b, c, p); break;
	case MQTT_PINGREQ: {
		mqtt_packet r = { .type = MQTT_PINGRESP, .version = MQTT_V311 };
		broker__core_send(b, c, &r);
		break;
	}
	case MQTT_DISCONNECT:
		broker__handle_disconnect(b, c, p);
		return false;
	default:
		/* CONNACK, SUBACK, UNSUBACK, PINGRESP only ever flow to clients. */
		protocol_error(b, c, "MQTT-4.8.0-1", "a packet type clients must not send", 0x82);
		return false;
	}
	return broker__conn_find(b, id) != NULL;
}

static void decode_input(broker *b, conn *c);

void broker_on_bytes(broker *b, uint64_t id, const uint8_t *data, size_t len)
{
	conn *c = broker__conn_find(b, id);
	if (!c || len == 0)
		return; /* nothing new to decode (and c->rx may not exist yet) */
	mqtt_xappend(&c->rx, &c->rx_len, &c->rx_cap, data, len, 1024);
	decode_input(b, c);
}

/* Decode and handle what c->rx holds: after new bytes, and again once a pending
 * authentication is answered (broker_on_auth). */
static void decode_input(broker *b, conn *c)
{
	if (c->auth_pending) {
		/* Paused until broker_on_auth(); the shell should stop reading meanwhile. */
		if (c->rx_len > 2 * (size_t)b->cfg.max_packet_size) {
			broker__core_log(b, "closing %s: %zu bytes arrived while its CONNECT waited for authentication (bound %zu)",
					 c->peer, c->rx_len, 2 * (size_t)b->cfg.max_packet_size);
			broker__core_close(b, c, false, "input bound while authenticating");
			rearm(b);
		}
		return;
	}

	size_t pos = 0;
	while (pos < c->rx_len) {
		mqtt_packet p;
		mqtt_err e;
		uint8_t level = c->version ? c->version : MQTT_V311; /* a CONNECT says its own */
		int n = mqtt_decode(c->rx + pos, c->rx_len - pos, level, b->cfg.max_packet_size, &p, &e);
		if (n == 0)
			break;
		if (n < 0) {
			int raw_level = c->state == CONN_NEW ? connect_level(c->rx + pos, c->rx_len - pos) : -1;
			if (c->state == CONN_NEW && raw_level == MQTT_V5 && e.code != MQTT_ERR_VERSION) {
				refuse_v5(b, c, e.reason >= 0x80 ? e.reason : 0x81, e.msg);
			} else if (c->state == CONN_NEW && (e.code == MQTT_ERR_VERSION || raw_level > MQTT_V5)) {
				/* Unsupported level: say so with CONNACK 0x01 in 3.1.1's form, then close
				 * [MQTT-3.1.2-2], whatever the level (3.1's "MQIsdp" 3, or 6 and up).
				 * 3.1.1 requires it; 5.0 only allows 0x84 (a MAY), and a client of an
				 * unknown level reads neither for certain. mosquitto does the same. */
				mqtt_packet r = { .type = MQTT_CONNACK, .version = MQTT_V311, .reason = 1 };
				broker__core_send(b, c, &r);
				broker__core_log(b, "refused %s: %s", c->peer, e.msg);
				broker__core_close(b, c, false, "unsupported protocol level");
			} else {
				protocol_error(b, c, e.stmt, e.msg, e.reason);
			}
			broker__acks_flush(b);
			rearm(b);
			return;
		}
		if (p.type == MQTT_CONNECT && c->state == CONN_NEW)
			c->version = p.version; /* every packet to this client is encoded by it */
		mqtt_err ve;
		if (mqtt_validate(&p, &ve) < 0) {
			protocol_error(b, c, ve.stmt, ve.msg, ve.reason);
			broker__acks_flush(b);
			rearm(b);
			return;
		}
		/* Any packet from the client resets its keepalive clock [MQTT-3.1.2-24]. */
		if (c->state == CONN_UP && c->keepalive_s && !(b->cfg.test_faults & BROKER_TF_IGNORE_KEEPALIVE))
			broker__core_keepalive(b, c, now(b) + (int64_t)c->keepalive_s * 1500000);
		c->in_raw = c->rx + pos;
		c->in_raw_len = (size_t)n;
		pos += (size_t)n;
		if (!dispatch(b, c, &p)) {
			broker__acks_flush(b);
			rearm(b);
			return;
		}
		if (c->auth_pending) {
			pos -= (size_t)n; /* decoded again once broker_on_auth() answers */
			break;
		}
	}
	memmove(c->rx, c->rx + pos, c->rx_len - pos);
	c->rx_len -= pos;
	broker__acks_flush(b);
	rearm(b);
}

void broker_tick(broker *b)
{
	int64_t t = now(b);
	while (broker__bheap_next(&b->deadlines) <= t) {
		conn *c = (conn *)((char *)broker__bheap_top(&b->deadlines) - offsetof(conn, dl));
		if (c->state == CONN_NEW) {
			broker__core_log(b, c->auth_pending ? "no answer from authentication for %s in time"
						    : "no CONNECT from %s in time", c->peer);
			broker__core_close(b, c, false, "no CONNECT");
		} else {
			/* Nothing for 1.5 x keepalive: the client is gone [MQTT-3.1.2-24]; a 5.0
			 * client is told 0x8D first (5.0 §3.1.2.10). */
			broker__core_disconnect(b, c, 0x8D, "keepalive expired");
		}
	}
	while (broker__bheap_next(&b->wills) <= t)
		broker__will_fire(b, (session *)((char *)broker__bheap_top(&b->wills) - offsetof(session, willh)));
	broker__session_expire(b, t);
	if (t >= b->next_sys_us) {
		broker__sys_publish(b);
		b->next_sys_us = t + (int64_t)b->cfg.sys_interval_s * 1000000;
	}
	broker__acks_flush(b);
	rearm(b);
}

void broker_on_auth(broker *b, uint64_t id, int rc)
{
	conn *c = broker__conn_find(b, id);
	if (!c || !c->auth_pending)
		return;
	c->auth_pending = false;
	c->auth_answered = true;
	c->auth_rc = rc < 0 || rc > 5 ? 5 : (uint8_t)rc;
	/* The CONNECT is still first in rx: handle it, then whatever came after it. */
	decode_input(b, c);
}

const char *broker_conn_client_id(broker *b, uint64_t id)
{
	conn *c = broker__conn_find(b, id);
	return c && c->s ? c->s->client_id : NULL;
}

void broker_get_stats(const broker *b, broker_stats *out)
{
	*out = b->st;
}

void broker_free(broker *b)
{
	if (!b)
		return;
	b->store = NULL; /* tearing down memory is not a change to remember */
	b->freeing = true;
	broker__persist_free(b);
	while (b->conns)
		conn_free(b, b->conns);
	while (b->sessions)
		broker__session_free(b, b->sessions);
	broker__tree_free(&b->root);
	b->groups = b->groups_tail = NULL;
	broker__retained_free_all(b);
	free(b->conn_hash);
	free(b->sess_hash);
	free(b->ret_hash);
	broker__bheap_free(&b->deadlines);
	for (size_t i = 0; i < b->nkals; i++)
		free(b->kals[i]);
	free(b->kals);
	broker__bheap_free(&b->expiries);
	broker__bheap_free(&b->wills);
	free(b->out);
	free(b);
}
