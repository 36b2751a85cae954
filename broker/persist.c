/*
 * persist.c - the broker's append-only log: what must survive a crash, written as it
 * changes, replayed at start, compacted into a snapshot when it grows.
 *
 * A record is [u32 body length][u32 CRC-32 of the body][body], big-endian; the body is
 * one type byte and its fields. The records of one sync are appended together, as one
 * R_BATCH record holding them when there are several, so a crash keeps all of them or none.
 * Recovery stops at the first record that is cut short or fails its CRC: that is a write
 * the crash tore, and everything before it is intact because it was synced in order.
 * Nothing the broker sends that reveals a change (acknowledgements, SUBACK, PUBLISH with its
 * packet id) leaves before that change is synced (broker__send_later). Only persistent sessions
 * (clean session 0) and retained messages are kept; clean sessions end with their
 * connection anyway.
 */
#include "broker/core.h"
#include "mqtt/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_COMPACT (1u << 20)

/* ---- CRC-32 (IEEE 802.3, reflected, as in zlib and Ethernet) ------------------------------- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	if (crc_table[1])
		return;
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++)
		c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

/* ---- building records ------------------------------------------------------------------ */

typedef struct buf {
	uint8_t *p;
	size_t len, cap;
} buf;

static void need(buf *b, size_t n)
{
	b->p = mqtt_xgrow(b->p, &b->cap, b->len + n, 1, 256);
}

static void put_u8(buf *b, uint8_t v)
{
	need(b, 1);
	b->p[b->len++] = v;
}

static void put_u16(buf *b, uint16_t v)
{
	need(b, 2);
	b->p[b->len++] = (uint8_t)(v >> 8);
	b->p[b->len++] = (uint8_t)v;
}

static void put_u32(buf *b, uint32_t v)
{
	need(b, 4);
	for (int i = 3; i >= 0; i--)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

static void put_u64(buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)(v >> 32));
	put_u32(b, (uint32_t)v);
}

static void put_bytes(buf *b, const void *d, size_t n)
{
	put_u32(b, (uint32_t)n);
	need(b, n);
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put_str(buf *b, const char *s)
{
	put_bytes(b, s, strlen(s));
}

/* Start a record: reserve its header, return where the body begins. */
static size_t rec_begin(buf *b, uint8_t type)
{
	size_t at = b->len;
	need(b, 8);
	b->len += 8;
	put_u8(b, type);
	return at;
}

static void rec_end(buf *b, size_t at)
{
	uint32_t n = (uint32_t)(b->len - at - 8);
	uint32_t c = crc32_of(b->p + at + 8, n);
	uint8_t *h = b->p + at;
	for (int i = 0; i < 4; i++) {
		h[i] = (uint8_t)(n >> (24 - 8 * i));
		h[4 + i] = (uint8_t)(c >> (24 - 8 * i));
	}
}

static bool active(broker *b)
{
	return b->store && !b->replaying;
}

/* The log can no longer be trusted to be the history of this broker: a write failed. Said
 * once, when it happens; what was lost is rewritten whole by the next compaction. */
static void go_stale(broker *b, const char *what, int rc)
{
	b->st.store_errors++;
	if (!b->log_stale)
		broker__core_log(b, "store: %s failed (%s): holding output until a whole snapshot is written", what,
				 strerror(rc < 0 ? -rc : rc));
	b->log_stale = true;
}

/* A record joins the batch of the next sync. A batch of several is appended as one R_BATCH
 * record, so that what one sync covers survives a crash whole or not at all: appended one by
 * one, a crash that kept part of the unsynced tail (a torn write) could keep a QoS 2
 * message's deliveries but not the id that marks it received, and the publisher's retry
 * would then be delivered a second time (the crash sweep, tests/test_crashsweep.c, found
 * it). Records after the last sync were never promised to anyone. */
static void emit(broker *b, buf *r)
{
	if (!b->batch_len)
		b->batch_len = 9; /* room for the R_BATCH header and type byte */
	if (b->batch_len + r->len > b->batch_cap) {
		size_t cap = b->batch_cap ? b->batch_cap : 1024;
		while (cap < b->batch_len + r->len)
			cap *= 2;
		uint8_t *p = mqtt_xrealloc(b->batch, cap);
		b->batch = p;
		b->batch_cap = cap;
	}
	memcpy(b->batch + b->batch_len, r->p, r->len);
	b->batch_len += r->len;
	b->batch_recs++;
	b->log_bytes += r->len;
	b->dirty = true;
	free(r->p);
}

/* Append the batch: one record alone as it is (its CRC makes it whole or absent), several
 * inside one R_BATCH record. */
static void batch_append(broker *b)
{
	if (!b->batch_recs)
		return;
	const uint8_t *p = b->batch + 9;
	size_t n = b->batch_len - 9;
	if (b->batch_recs > 1) {
		uint8_t *h = b->batch;
		uint32_t body = (uint32_t)(b->batch_len - 8);
		h[8] = R_BATCH;
		uint32_t c = crc32_of(h + 8, body);
		for (int i = 0; i < 4; i++) {
			h[i] = (uint8_t)(body >> (24 - 8 * i));
			h[4 + i] = (uint8_t)(c >> (24 - 8 * i));
		}
		p = b->batch;
		n = b->batch_len;
		b->log_bytes += 9;
	}
	int rc = b->store->append(b->store->ctx, p, n);
	b->batch_len = b->batch_recs = 0;
	if (rc < 0)
		go_stale(b, "append", rc);
}

/*
 * The 5.0 tail of a message (R_MSG, R_RET), written only for a message that has one, so a
 * 3.1.1 message's record is as before and a log written before it loads: the Message Expiry
 * Interval (u32 s) and when it expires on the broker's clock (u64 µs; INT64_MAX never),
 * one byte saying which of Payload Format Indicator (1), Content Type (2), Response Topic
 * (4), Correlation Data (8) it has, the indicator's value, the three as byte strings
 * (empty when absent), then the User Property count and their wire form, in order.
 */
static void put_tail(buf *r, const msg *m)
{
	if (!m->props && m->expire_us == INT64_MAX)
		return;
	put_u32(r, m->expiry_s);
	put_u64(r, (uint64_t)m->expire_us);
	mqtt_props none = { 0 };
	const mqtt_props *p = m->props ? &m->props->p : &none;
	uint8_t which = (uint8_t)(MQTT_HAS(p, MQTT_PROP_PAYLOAD_FORMAT) | MQTT_HAS(p, MQTT_PROP_CONTENT_TYPE) << 1 |
				  MQTT_HAS(p, MQTT_PROP_RESPONSE_TOPIC) << 2 |
				  MQTT_HAS(p, MQTT_PROP_CORRELATION_DATA) << 3);
	put_u8(r, which);
	put_u8(r, p->payload_format);
	put_bytes(r, p->content_type.data, p->content_type.len);
	put_bytes(r, p->response_topic.data, p->response_topic.len);
	put_bytes(r, p->correlation_data.data, p->correlation_data.len);
	put_u32(r, p->user_count);
	put_bytes(r, p->raw.data, p->raw.len);
}

/* What R_MSG and R_WILL both end with: QoS, RETAIN, topic, payload, the 5.0 tail. */
static void put_msg(buf *r, const msg *m)
{
	put_u8(r, m->qos);
	put_u8(r, m->retain);
	put_str(r, m->topic);
	put_bytes(r, m->payload, m->payload_len);
	put_tail(r, m);
}

static void rec_msg(buf *r, const msg *m)
{
	size_t at = rec_begin(r, R_MSG);
	put_u64(r, m->mid);
	put_msg(r, m);
	rec_end(r, at);
}

/* R_SESS: the client id, then (since sessions have owners) one byte, enum owner_state,
 * and for OWNER_USER the user name; then (since 5.0 session expiry) the Session Expiry
 * Interval (u32 seconds) and when the session expires on the broker's clock (u64 µs;
 * INT64_MAX while connected or never). A log written before has only the id, or no
 * expiry: such a session recovers with OWNER_UNKNOWN, or never expires (3.1.1's clean
 * session 0, all a log could hold then). A session with OWNER_UNKNOWN came from such a
 * log and never expires, so writing only its id loses nothing. */
static void rec_sess(buf *r, const session *s)
{
	size_t at = rec_begin(r, R_SESS);
	put_str(r, s->client_id);
	if (s->owner_state != OWNER_UNKNOWN) {
		put_u8(r, s->owner_state);
		if (s->owner_state == OWNER_USER)
			put_str(r, s->owner);
		if (s->expiry_s != SESSION_NEVER) {
			put_u32(r, s->expiry_s);
			put_u64(r, (uint64_t)s->exp.at);
		}
	}
	rec_end(r, at);
}

/* R_WILL: the client id; the Will Delay Interval (u32 s) and when the will is due on the
 * broker's clock (u64 µs); whether it has a Message Expiry Interval (u8) and that interval
 * (u32 s, counted from its publication); then the message as R_MSG has it without an id
 * (QoS, RETAIN, topic, payload, the 5.0 tail). R_WILL_DEL: the client id alone. */
static void rec_will(buf *r, const session *s)
{
	size_t at = rec_begin(r, s->will ? R_WILL : R_WILL_DEL);
	put_str(r, s->client_id);
	if (s->will) {
		const msg *m = s->will;
		put_u32(r, s->will_delay_s);
		put_u64(r, (uint64_t)s->willh.at);
		put_u8(r, s->will_has_expiry);
		put_u32(r, s->will_expiry_s);
		put_msg(r, m);
	}
	rec_end(r, at);
}

/* ---- hooks called as state changes ------------------------------------------------------ */

void broker__persist_will(broker *b, session *s)
{
	if (!active(b) || s->clean)
		return;
	buf r = { 0 };
	rec_will(&r, s);
	emit(b, &r);
}

void broker__persist_session(broker *b, session *s, bool exists)
{
	if (!active(b) || s->clean)
		return;
	buf r = { 0 };
	if (exists) {
		rec_sess(&r, s);
	} else {
		size_t at = rec_begin(&r, R_SESS_DEL);
		put_str(&r, s->client_id);
		rec_end(&r, at);
	}
	emit(b, &r);
}

/* R_SUB / R_UNSUB: the client id, the QoS, the filter (a shared one whole, `$share/NAME/
 * filter`); then, for a 5.0 subscription with options, a Subscription Identifier or
 * shared, its options (u8, SUB_NO_LOCAL | SUB_RAP | SUB_SHARED) and the identifier (u32,
 * 0: none). Without them the record is as before, and an older log loads. */
static void rec_sub(buf *r, const session *s, const char *filter, size_t flen, const sub *x, bool shared)
{
	size_t at = rec_begin(r, x ? R_SUB : R_UNSUB);
	put_str(r, s->client_id);
	put_u8(r, x ? x->qos : 0);
	put_bytes(r, filter, flen);
	uint8_t opts = (uint8_t)((x ? x->opts : 0) | (shared ? SUB_SHARED : 0));
	uint32_t id = x ? x->sub_id : 0;
	if (opts || id) {
		put_u8(r, opts);
		put_u32(r, id);
	}
	rec_end(r, at);
}

void broker__persist_sub(broker *b, session *s, const char *filter, size_t flen, const sub *x,
			 bool shared)
{
	if (!active(b) || s->clean)
		return;
	buf r = { 0 };
	rec_sub(&r, s, filter, flen, x, shared);
	emit(b, &r);
}

/* R_ENQ / R_ENQ_FRONT: the client id, the message id, QoS and RETAIN flag of the delivery;
 * then, for one with 5.0 Subscription Identifiers, their count (u32) and each (u32). */
static void rec_enq(buf *r, const session *s, const outmsg *o, bool front)
{
	size_t at = rec_begin(r, front ? R_ENQ_FRONT : R_ENQ);
	put_str(r, s->client_id);
	put_u64(r, o->m->mid);
	put_u8(r, o->qos);
	put_u8(r, o->retain);
	if (o->nsub_ids) {
		put_u32(r, o->nsub_ids);
		for (uint32_t i = 0; i < o->nsub_ids; i++)
			put_u32(r, o->sub_ids[i]);
	}
	rec_end(r, at);
}

/* front: the message goes to the head of the queue (R_ENQ_FRONT, a retained message a
 * cursor is sending), else to its tail. */
void broker__persist_enq(broker *b, session *s, const outmsg *o, bool front)
{
	if (!active(b) || s->clean)
		return;
	msg *m = o->m;
	buf r = { 0 };
	bool fresh = !m->mid;
	if (fresh)
		m->mid = ++b->next_mid;
	/* The log must hold the message's content before any record naming it: also when the
	 * message got its id before the last compaction, which kept only the messages sessions
	 * still held (a retained message, say, that a new subscriber is now queued). */
	if (fresh || m->snap != b->snap_gen) {
		m->snap = b->snap_gen;
		rec_msg(&r, m);
	}
	rec_enq(&r, s, o, front);
	emit(b, &r);
}

void broker__persist_out(broker *b, session *s, uint8_t type, uint16_t id)
{
	if (!active(b) || s->clean)
		return;
	buf r = { 0 };
	size_t at = rec_begin(&r, type);
	put_str(&r, s->client_id);
	put_u16(&r, id);
	rec_end(&r, at);
	emit(b, &r);
}

static bool sys_own(const char *topic)
{
	return !strncmp(topic, "$SYS/broker/", 12);
}

void broker__persist_retained(broker *b, const msg *m)
{
	/* $SYS/broker/ is the broker's own report, rebuilt at start: not worth a write each
	 * time. Other $ topics a client retained are kept like any. */
	if (!active(b) || sys_own(m->topic))
		return;
	buf r = { 0 };
	size_t at = rec_begin(&r, m->payload_len ? R_RET : R_RET_DEL);
	put_str(&r, m->topic);
	if (m->payload_len) {
		put_u8(&r, m->qos);
		put_bytes(&r, m->payload, m->payload_len);
		put_tail(&r, m);
	}
	rec_end(&r, at);
	emit(b, &r);
}

/* ---- group commit ------------------------------------------------------------------------- */

void broker__send_later(broker *b, conn *c, const mqtt_packet *p0)
{
	if (!b->store || (!b->dirty && !b->log_stale)) {
		broker__core_send(b, c, p0);
		return;
	}
	mqtt_packet pq, *p = &pq;
	size_t n = broker__core_fit(c, p0, p);
	if (n == 0)
		return; /* as broker__core_send: over the client's maximum (never garbage) */
	b->held_bytes = mqtt_xgrow(b->held_bytes, &b->held_cap, b->held_len + n, 1, 4096);
	if (mqtt_encode(p, b->held_bytes + b->held_len, n, NULL) != (int)n)
		return;
	b->acks = mqtt_xgrow(b->acks, &b->acks_cap, b->nacks + 1, sizeof *b->acks, 64);
	b->acks[b->nacks++] = (struct pending_ack){ c->id, b->held_len, n };
	b->held_len += n;
}

void broker__ack_later(broker *b, conn *c, uint8_t type, uint16_t id)
{
	mqtt_packet p = { .type = type, .version = MQTT_V311, .packet_id = id };
	broker__send_later(b, c, &p);
}

static void compact(broker *b);

void broker__acks_flush(broker *b)
{
	if (!b->store)
		return;
	if (b->dirty && !b->log_stale) {
		batch_append(b);
		if (!b->log_stale) {
			int rc = b->store->sync(b->store->ctx);
			if (rc < 0)
				go_stale(b, "sync", rc);
		}
	}
	b->dirty = false;
	if (b->log_stale) {
		/* Nothing is appended after a hole: the snapshot says it all, and until it is
		 * written the held output waits. It is retried at every event that has output
		 * waiting (a whole rewrite each time while the disk refuses). */
		b->batch_len = b->batch_recs = 0;
		if (!b->nacks)
			return;
		compact(b);
		if (b->log_stale)
			return;
		broker__core_log(b, "store: a whole snapshot is written (%zu bytes): writing and sending again",
				 b->snap_bytes);
	}
	/* Sending cannot add to the queue: dirty is false until the next append. A connection
	 * that closed meanwhile gets nothing; its session redelivers what was in flight. */
	for (size_t i = 0; i < b->nacks; i++) {
		const struct pending_ack *a = &b->acks[i];
		conn *c = broker__conn_find(b, a->conn);
		if (!c)
			continue;
		c->in_q1_held = 0; /* every PUBACK held for it goes out now */
		if (a->len && b->held_bytes[a->off] >> 4 == MQTT_PUBLISH)
			b->st.msgs_sent++;
		b->env.send(b->env.ctx, a->conn, b->held_bytes + a->off, a->len);
	}
	b->nacks = 0;
	b->held_len = 0;
	uint32_t limit = b->cfg.compact_bytes ? b->cfg.compact_bytes : DEFAULT_COMPACT;
	if (b->log_bytes > limit && b->log_bytes > 2 * b->snap_bytes)
		compact(b);
}

/* ---- compaction ------------------------------------------------------------------------------ */

static void snap_enq(broker *b, buf *r, session *s, outmsg *o)
{
	if (!o->m->mid)
		o->m->mid = ++b->next_mid;
	if (o->m->snap != b->snap_gen) {
		o->m->snap = b->snap_gen;
		rec_msg(r, o->m);
	}
	rec_enq(r, s, o, false);
}

static void snap_out(buf *r, session *s, uint8_t type, uint16_t id)
{
	size_t at = rec_begin(r, type);
	put_str(r, s->client_id);
	put_u16(r, id);
	rec_end(r, at);
}

static void compact(broker *b)
{
	buf r = { 0 };
	b->snap_gen++;
	b->st.compactions++;
	int64_t now_us = b->env.now_us(b->env.ctx);
	for (retained *x = b->retained; x; x = x->next) {
		if (sys_own(x->m->topic) || broker__msg_expired(x->m, now_us))
			continue; /* an expired one is never delivered again: not worth keeping */
		size_t at = rec_begin(&r, R_RET);
		put_str(&r, x->m->topic);
		put_u8(&r, x->m->qos);
		put_bytes(&r, x->m->payload, x->m->payload_len);
		put_tail(&r, x->m);
		rec_end(&r, at);
	}
	for (session *s = b->sessions; s; s = s->next) {
		if (s->clean)
			continue;
		rec_sess(&r, s);
		if (s->will)
			rec_will(&r, s);
		/* The session's list is newest first; write oldest first. */
		size_t n = 0;
		for (sub *x = s->subs; x; x = x->next_in_session)
			n++;
		sub **v = mqtt_xmalloc((n ? n : 1) * sizeof *v);
		n = 0;
		for (sub *x = s->subs; x; x = x->next_in_session)
			v[n++] = x;
		while (n--) {
			/* The filter, rebuilt from the node up to the root, after "$share/NAME/"
			 * for a shared one. */
			const sgroup *g = v[n]->grp;
			size_t pre = g ? 7 + g->name_len + 1 : 0, len = pre;
			for (tnode *t = v[n]->node; t->parent; t = t->parent)
				len += strlen(t->level) + 1;
			char *path = mqtt_xmalloc(len + 1);
			size_t end = len - 1;
			path[end] = 0;
			for (tnode *t = v[n]->node; t->parent; t = t->parent) {
				size_t l = strlen(t->level);
				end -= l;
				memcpy(path + end, t->level, l);
				if (end > pre)
					path[--end] = '/';
			}
			if (g) {
				memcpy(path, "$share/", 7);
				memcpy(path + 7, g->name, g->name_len);
				path[pre - 1] = '/';
			}
			rec_sub(&r, s, path, len - 1, v[n], g != NULL);
			free(path);
		}
		free(v);
		for (uint32_t i = 0; i < s->in_qos2_len; i++)
			snap_out(&r, s, R_IN2, s->in_qos2[i]);
		for (outmsg *o = s->inflight; o; o = o->next) {
			snap_enq(b, &r, s, o);
			snap_out(&r, s, R_SENT, o->id);
			if (o->state == OUT_RELEASED)
				snap_out(&r, s, R_REL, o->id);
		}
		for (outmsg *o = s->queue; o; o = o->next)
			if (o->m) /* a retained cursor is not kept (see README) */
				snap_enq(b, &r, s, o);
	}
	int rc = b->store->replace(b->store->ctx, r.p, r.len);
	if (rc < 0) {
		/* The old log stays (replace is atomic), but what was appended since it was last
		 * whole may not be in it. */
		go_stale(b, "compaction", rc);
	} else {
		b->log_bytes = b->snap_bytes = r.len;
		b->dirty = false;
		b->log_stale = false;
		b->batch_len = b->batch_recs = 0; /* the snapshot holds what they said */
	}
	free(r.p);
}

/* ---- recovery ------------------------------------------------------------------------------- */

typedef struct rd {
	const uint8_t *p, *end;
	bool bad;
} rd;

static uint8_t get_u8(rd *r)
{
	if (r->p + 1 > r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

static uint32_t get_u32(rd *r)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 8 | get_u8(r);
	return v;
}

static uint16_t get_u16(rd *r)
{
	uint16_t v = (uint16_t)(get_u8(r) << 8);
	return (uint16_t)(v | get_u8(r));
}

static uint64_t get_u64(rd *r)
{
	uint64_t hi = get_u32(r);
	return hi << 32 | get_u32(r);
}

/* A length-prefixed field; returns a pointer into the log and its length. */
static const uint8_t *get_bytes(rd *r, size_t *n)
{
	*n = get_u32(r);
	if (r->bad || (size_t)(r->end - r->p) < *n) {
		r->bad = true;
		*n = 0;
		return (const uint8_t *)"";
	}
	const uint8_t *d = r->p;
	r->p += *n;
	return d;
}

/* User Properties in wire form, exactly count of them and nothing else (the codec's
 * iterator trusts what it walks). */
static bool users_ok(const uint8_t *p, size_t n, uint32_t count)
{
	uint32_t seen = 0;
	for (size_t i = 0; i < n; seen++) {
		if (p[i++] != MQTT_PROP_USER)
			return false;
		for (int k = 0; k < 2; k++) {
			if (n - i < 2)
				return false;
			size_t len = (size_t)p[i] << 8 | p[i + 1];
			if (n - i - 2 < len || mqtt_utf8_check(p + i + 2, len, MQTT_V5, NULL))
				return false;
			i += 2 + len;
		}
	}
	return seen == count;
}

/* The tail put_tail wrote, if the record has one, onto x. False if it makes no sense. */
static bool get_tail(broker *b, rd *r, msg *x)
{
	if (r->p == r->end)
		return true; /* a 3.1.1 message, or a log from before 5.0 publish properties */
	uint32_t exp_s = get_u32(r);
	int64_t at_us = (int64_t)get_u64(r);
	uint8_t which = get_u8(r), pfi = get_u8(r);
	size_t n[4];
	const uint8_t *d[4];
	for (int i = 0; i < 3; i++)
		d[i] = get_bytes(r, &n[i]);
	uint32_t users = get_u32(r);
	d[3] = get_bytes(r, &n[3]);
	if (r->bad || which > 15 || pfi > 1 || at_us < 0 || n[0] > 65535 || n[1] > 65535 ||
	    n[2] > 65535 || !users_ok(d[3], n[3], users))
		return false;
	if (at_us != INT64_MAX) {
		/* A clock that went back (another boot) may not stretch it past its interval. */
		int64_t full = b->env.now_us(b->env.ctx) + (int64_t)exp_s * 1000000;
		x->expiry_s = exp_s;
		x->expire_us = at_us > full ? full : at_us;
	}
	mqtt_props p = { 0 };
	if (which & 1) {
		MQTT_SET(&p, MQTT_PROP_PAYLOAD_FORMAT);
		p.payload_format = pfi;
	}
	static const uint8_t ids[3] = { MQTT_PROP_CONTENT_TYPE, MQTT_PROP_RESPONSE_TOPIC,
					MQTT_PROP_CORRELATION_DATA };
	mqtt_str *f[3] = { &p.content_type, &p.response_topic, &p.correlation_data };
	for (int i = 0; i < 3; i++)
		if (which & (2 << i)) {
			MQTT_SET(&p, ids[i]);
			*f[i] = (mqtt_str){ d[i], (uint32_t)n[i] };
		}
	p.user_count = users;
	p.raw = (mqtt_str){ d[3], (uint32_t)n[3] };
	broker__msg_set_props(x, &p);
	return true;
}

typedef struct mtab {
	msg **v;
	size_t n, cap;
} mtab;

static msg *mtab_find(mtab *t, uint64_t mid)
{
	/* Ids only grow, and records name recent ones: search from the end. */
	for (size_t i = t->n; i-- > 0;)
		if (t->v[i]->mid == mid)
			return t->v[i];
	return NULL;
}

static session *sess_of(broker *b, rd *r)
{
	size_t n;
	const uint8_t *id = get_bytes(r, &n);
	char name[256];
	if (r->bad || n == 0 || n >= sizeof name)
		return NULL;
	memcpy(name, id, n);
	name[n] = 0;
	return broker__session_find(b, name);
}

/* The message put_msg wrote, new (one reference), or NULL if it makes no sense. A will's
 * RETAIN is 0 or 1 and its topic is not empty. */
static msg *get_msg(broker *b, rd *r, bool will)
{
	uint8_t qos = get_u8(r), ret = get_u8(r);
	size_t n, m;
	const uint8_t *d = get_bytes(r, &n), *e = get_bytes(r, &m);
	if (r->bad || qos > 2 || n > 65535 || (will && (ret > 1 || n == 0)))
		return NULL;
	msg *x = broker__msg_new((const char *)d, n, e, m, qos, ret);
	if (!get_tail(b, r, x)) {
		broker__msg_unref(x);
		return NULL;
	}
	return x;
}

/* Apply one record. Returns false if it does not make sense (treated like a torn tail). */
static bool apply(broker *b, rd *r, mtab *t)
{
	uint8_t type = get_u8(r);
	size_t n, m;
	const uint8_t *d, *e;
	session *s;
	switch (type) {
	case R_SESS:
	case R_SESS_DEL: {
		char name[256];
		d = get_bytes(r, &n);
		if (r->bad || n == 0 || n >= sizeof name)
			return false;
		memcpy(name, d, n);
		name[n] = 0;
		s = broker__session_find(b, name);
		if (type == R_SESS_DEL) {
			if (s)
				broker__session_free(b, s);
			return true;
		}
		if (!s)
			s = broker__session_create_offline(b, name);
		if (r->p == r->end)
			return true; /* an older log: no owner recorded */
		uint8_t own = get_u8(r);
		if (own == OWNER_ANON) {
			broker__session_set_owner(s, NULL);
		} else if (own == OWNER_USER) {
			char *user;
			d = get_bytes(r, &n);
			if (r->bad || memchr(d, 0, n))
				return false;
			user = mqtt_xstrndup((const char *)d, n);
			broker__session_set_owner(s, user);
			free(user);
		} else {
			return false;
		}
		if (r->p == r->end) {
			s->expiry_s = SESSION_NEVER; /* a later record may have taken its expiry away */
			broker__session_expire_at(b, s, INT64_MAX);
			return true;
		}
		uint32_t exp = get_u32(r);
		int64_t at_us = (int64_t)get_u64(r);
		if (r->bad || exp == 0 || exp == SESSION_NEVER || at_us < 0)
			return false;
		/* It was connected when the record was written, so its connection closed no
		 * earlier than now; and a clock that went back (another boot) may not stretch it
		 * past its interval from now. */
		int64_t now_us = b->env.now_us(b->env.ctx), full = now_us + (int64_t)exp * 1000000;
		s->expiry_s = exp;
		broker__session_expire_at(b, s, at_us == INT64_MAX || at_us > full ? full : at_us);
		return true;
	}
	case R_SUB:
	case R_UNSUB: {
		s = sess_of(b, r);
		uint8_t qos = get_u8(r), opts = 0;
		d = get_bytes(r, &n);
		uint32_t sub_id = 0;
		if (r->p != r->end) { /* the 5.0 tail */
			opts = get_u8(r);
			sub_id = get_u32(r);
		}
		mqtt_str sn, sf;
		if (!s || r->bad || n == 0 || qos > 2 || opts > (SUB_NO_LOCAL | SUB_RAP | SUB_SHARED) ||
		    sub_id > MQTT_VBI_MAX ||
		    ((opts & SUB_SHARED) && mqtt_share_parse(d, n, &sn, &sf, NULL) != 1))
			return false;
		if (type == R_SUB)
			broker__sub_add(b, s, (const char *)d, n, qos, opts, sub_id);
		else
			broker__sub_remove(b, s, (const char *)d, n, (opts & SUB_SHARED) != 0);
		return true;
	}
	case R_MSG: {
		uint64_t mid = get_u64(r);
		msg *x = get_msg(b, r, false);
		if (!x)
			return false;
		x->mid = mid;
		if (mid > b->next_mid)
			b->next_mid = mid;
		t->v = mqtt_xgrow(t->v, &t->cap, t->n + 1, sizeof *t->v, 64);
		t->v[t->n++] = x;
		return true;
	}
	case R_WILL:
	case R_WILL_DEL: {
		s = sess_of(b, r);
		if (type == R_WILL_DEL) {
			/* Its session may be gone already: one that ends publishes its will after
			 * its R_SESS_DEL. */
			if (!r->bad && s)
				broker__will_cancel(b, s);
			return !r->bad;
		}
		uint32_t delay = get_u32(r);
		int64_t at_us = (int64_t)get_u64(r);
		uint8_t has_exp = get_u8(r);
		uint32_t exp = get_u32(r);
		if (!s || r->bad || delay == 0 || at_us < 0 || at_us == INT64_MAX || has_exp > 1)
			return false;
		msg *x = get_msg(b, r, true);
		if (!x)
			return false;
		broker__will_cancel(b, s);
		s->will = x;
		s->will_has_expiry = has_exp;
		s->will_expiry_s = exp;
		s->will_delay_s = delay;
		s->willh.tie = s->seq;
		/* Due when it was, on the same clock across a restart; a clock that went back
		 * (another boot) may not put it further off than its delay from now. */
		int64_t full = b->env.now_us(b->env.ctx) + (int64_t)delay * 1000000;
		broker__bheap_set(&b->wills, &s->willh, at_us > full ? full : at_us);
		return true;
	}
	case R_ENQ:
	case R_ENQ_FRONT: {
		s = sess_of(b, r);
		uint64_t mid = get_u64(r);
		uint8_t qos = get_u8(r), ret = get_u8(r);
		msg *x = mtab_find(t, mid);
		uint32_t nids = 0;
		if (r->p != r->end) { /* Subscription Identifiers */
			nids = get_u32(r);
			if (nids == 0 || nids > (size_t)(r->end - r->p) / 4)
				return false;
		}
		if (!s || !x || r->bad || qos > 2)
			return false;
		uint32_t *ids = NULL;
		if (nids) {
			ids = mqtt_xmalloc(nids * sizeof *ids);
			for (uint32_t i = 0; i < nids; i++)
				if ((ids[i] = get_u32(r)) == 0 || ids[i] > MQTT_VBI_MAX) {
					free(ids);
					return false;
				}
		}
		/* Read access is checked again before it goes out: the ACL may have changed
		 * since, or the session may go to a user it was not checked for. */
		outmsg *o = (type == R_ENQ ? broker__queue_append : broker__queue_prepend)(s, x, qos, ret);
		o->unchecked = true;
		o->sub_ids = ids;
		o->nsub_ids = nids;
		return true;
	}
	case R_SENT:
	case R_POP:
	case R_REL:
	case R_DONE:
	case R_IN2:
	case R_IN2_DEL: {
		s = sess_of(b, r);
		uint16_t id = get_u16(r);
		if (!s || r->bad)
			return false;
		return broker__session_replay_out(s, type, id);
	}
	case R_RET:
	case R_RET_DEL: {
		d = get_bytes(r, &n);
		uint8_t qos = 0;
		e = NULL;
		m = 0;
		if (type == R_RET) {
			qos = get_u8(r);
			e = get_bytes(r, &m);
		}
		if (r->bad || n == 0 || n > 65535 || qos > 2 || (type == R_RET && m == 0))
			return false;
		msg *x = broker__msg_new((const char *)d, n, e, m, qos, true);
		if (type == R_RET && !get_tail(b, r, x)) {
			broker__msg_unref(x);
			return false;
		}
		broker__retained_set(b, x);
		broker__msg_unref(x);
		return true;
	}
	default:
		return false;
	}
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Apply the body of one whole record (its CRC holds); a batch applies each record it holds,
 * counting them in *applied. False if one does not apply (the rest of a batch is left). */
static bool apply_record(broker *b, const uint8_t *body, size_t n, mtab *t, uint64_t *applied)
{
	if (n && body[0] == R_BATCH) {
		for (size_t pos = 1; pos < n;) {
			if (n - pos < 8)
				return false;
			uint32_t len = be32(body + pos), c = be32(body + pos + 4);
			if (len == 0 || len > n - pos - 8 || body[pos + 8] == R_BATCH ||
			    crc32_of(body + pos + 8, len) != c || !apply_record(b, body + pos + 8, len, t, applied))
				return false;
			pos += 8 + (size_t)len;
		}
		return true;
	}
	rd r = { body, body + n, false };
	if (!apply(b, &r, t) || r.bad || r.p != r.end)
		return false;
	(*applied)++;
	return true;
}

/* Why the record at pos cannot be read, in words for the log line. */
static const char *torn_why(const uint8_t *data, size_t len, size_t pos, char *out, size_t cap)
{
	if (len - pos < 8) {
		snprintf(out, cap, "a record header cut short (%zu of 8 bytes): a write a crash tore",
			 len - pos);
		return out;
	}
	uint32_t n = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 |
		     (uint32_t)data[pos + 2] << 8 | data[pos + 3];
	if (n == 0)
		snprintf(out, cap, "a record of length 0: corrupt data");
	else if (n > len - pos - 8)
		snprintf(out, cap,
			 "a record of %u bytes with only %zu left in the log: a write a crash tore, "
			 "or a corrupt length", n, len - pos - 8);
	else
		snprintf(out, cap, "a record of %u bytes that fails its CRC check: corrupt data", n);
	return out;
}

void broker__persist_recover(broker *b)
{
	crc_init();
	b->store = b->cfg.store;
	if (!b->store)
		return;
	uint8_t *data = NULL;
	size_t len = 0;
	int lrc = b->store->load(b->store->ctx, &data, &len);
	if (lrc < 0) {
		b->st.store_errors++;
		/* Appending after a log that was never read would bury what it holds. */
		broker__core_log(b, "store: cannot read the log (%s): not using the store", strerror(-lrc));
		b->store = NULL;
		free(data);
		return;
	}
	mtab t = { 0 };
	size_t pos = 0, first_skip = 0;
	b->replaying = true;
	while (pos + 8 <= len) {
		uint32_t n = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 |
			     (uint32_t)data[pos + 2] << 8 | data[pos + 3];
		uint32_t c = (uint32_t)data[pos + 4] << 24 | (uint32_t)data[pos + 5] << 16 |
			     (uint32_t)data[pos + 6] << 8 | data[pos + 7];
		if (n == 0 || n > len - pos - 8 || crc32_of(data + pos + 8, n) != c)
			break;
		/* A whole record (its CRC holds) that does not apply is skipped and counted, not
		 * taken for the torn tail: everything after it would be lost with it. */
		uint64_t applied = 0;
		bool ok = apply_record(b, data + pos + 8, n, &t, &applied);
		b->st.recovered_records += applied;
		if (!ok) {
			if (!b->st.skipped_records)
				first_skip = pos;
			b->st.skipped_records++;
		}
		pos += 8 + (size_t)n;
	}
	b->st.torn_bytes = len - pos;
	b->st.torn_offset = pos < len ? pos : 0;
	b->replaying = false;
	for (size_t i = 0; i < t.n; i++)
		broker__msg_unref(t.v[i]);
	free(t.v);
	if (len) {
		/* Whatever could not be read or applied is evidence (a disk fault, a bug, a
		 * foreign file): it leaves the log only once a copy of it is safe. Records that
		 * fail to apply never occur in a log this broker wrote, so they are kept too,
		 * with everything after the first of them. */
		size_t from = b->st.skipped_records ? first_skip : pos;
		char why[160], skipped[64] = "", kept[400] = "";
		bool ok = true;
		if (from < len) {
			char where[256] = "";
			int krc = b->store->keep ? b->store->keep(b->store->ctx, from, data + from, len - from,
								  where, sizeof where)
						 : 0;
			if (!b->store->keep)
				snprintf(kept, sizeof kept, ": dropped (this store keeps no copies)");
			else if (krc < 0) {
				ok = false;
				snprintf(kept, sizeof kept, ": NOT kept (%s), so the log is left as it is",
					 where[0] ? where : strerror(-krc));
			} else if (from == pos)
				snprintf(kept, sizeof kept, ": kept in %s", where);
			else
				snprintf(kept, sizeof kept, "; the log from offset %zu on kept in %s", from, where);
		}
		if (b->st.skipped_records)
			snprintf(skipped, sizeof skipped, " (the first at offset %zu)", first_skip);
		if (pos < len)
			broker__core_log(b,
					 "store: recovered %llu records, skipped %llu%s; the last %zu bytes from "
					 "offset %zu could not be read (%s)%s",
					 (unsigned long long)b->st.recovered_records,
					 (unsigned long long)b->st.skipped_records, skipped, len - pos, pos,
					 torn_why(data, len, pos, why, sizeof why), kept);
		else
			broker__core_log(b, "store: recovered %llu records, skipped %llu%s; no torn tail%s",
					 (unsigned long long)b->st.recovered_records,
					 (unsigned long long)b->st.skipped_records, skipped, kept);
		if (!ok) {
			b->st.store_errors++;
			broker__core_log(b, "store: not using the store, to keep what it could not read");
			b->store = NULL;
			free(data);
			return;
		}
	}
	free(data);
	/* Start from a clean snapshot: the torn tail goes, and so does replayed history. */
	compact(b);
}

void broker__persist_free(broker *b)
{
	free(b->acks);
	b->acks = NULL;
	b->nacks = b->acks_cap = 0;
	free(b->held_bytes);
	b->held_bytes = NULL;
	b->held_len = b->held_cap = 0;
	free(b->batch);
	b->batch = NULL;
	b->batch_len = b->batch_cap = b->batch_recs = 0;
}
