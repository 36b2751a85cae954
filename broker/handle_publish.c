/*
 * handle_publish.c - PUBLISH in both directions and the QoS 1 and 2 flows, routing,
 * per-session in-flight windows and queues, retained messages.
 */
#include "broker/core.h"
#include "mqtt/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

msg *broker__msg_new(const char *topic, size_t topic_len, const uint8_t *payload, size_t len,
		     uint8_t qos, bool retain)
{
	msg *m = mqtt_xmalloc(sizeof *m + topic_len + 1 + len);
	m->refs = 1;
	m->mid = 0;
	m->snap = 0;
	m->qos = qos;
	m->retain = retain;
	m->dup_in = false;
	m->expire_us = INT64_MAX;
	m->expiry_s = 0;
	m->props = NULL;
	m->topic_len = (uint16_t)topic_len;
	m->payload_len = (uint32_t)len;
	memcpy(m->topic, topic, topic_len);
	m->topic[topic_len] = 0;
	m->payload = (uint8_t *)m->topic + topic_len + 1;
	if (len)
		memcpy(m->payload, payload, len);
	return m;
}

void broker__msg_unref(msg *m)
{
	if (m && --m->refs == 0) {
		free(m->props);
		free(m);
	}
}

#define FORWARDED                                                                       \
	((uint64_t)1 << MQTT_PROP_PAYLOAD_FORMAT | (uint64_t)1 << MQTT_PROP_CONTENT_TYPE | \
	 (uint64_t)1 << MQTT_PROP_RESPONSE_TOPIC | (uint64_t)1 << MQTT_PROP_CORRELATION_DATA)

static mqtt_str keep_str(uint8_t **w, mqtt_str s)
{
	mqtt_str k = { *w, s.len };
	if (s.len)
		memcpy(*w, s.data, s.len);
	*w += s.len;
	return k;
}

static uint8_t *put_str16(uint8_t *w, mqtt_str s)
{
	*w++ = (uint8_t)(s.len >> 8);
	*w++ = (uint8_t)s.len;
	if (s.len)
		memcpy(w, s.data, s.len);
	return w + s.len;
}

/* The Message Expiry Interval and Topic Alias are not among them: the first is counted down
 * (send_publish), the second belongs to the publisher's connection [MQTT-3.3.2-7]. */
void broker__msg_set_props(msg *m, const mqtt_props *in)
{
	uint64_t present = in->present & FORWARDED;
	if (!present && !in->user_count)
		return;
	size_t n = 0;
	if (MQTT_HAS(in, MQTT_PROP_CONTENT_TYPE))
		n += in->content_type.len;
	if (MQTT_HAS(in, MQTT_PROP_RESPONSE_TOPIC))
		n += in->response_topic.len;
	if (MQTT_HAS(in, MQTT_PROP_CORRELATION_DATA))
		n += in->correlation_data.len;
	mqtt_iter it = { 0, 0 };
	mqtt_user_prop u;
	while (mqtt_props_user_next(in, &it, &u))
		n += 5 + (size_t)u.key.len + u.value.len;
	msg_props *mp = mqtt_xmalloc(sizeof *mp + n);
	memset(&mp->p, 0, sizeof mp->p);
	mp->p.present = present;
	mp->p.payload_format = in->payload_format;
	uint8_t *w = mp->data;
	if (MQTT_HAS(in, MQTT_PROP_CONTENT_TYPE))
		mp->p.content_type = keep_str(&w, in->content_type);
	if (MQTT_HAS(in, MQTT_PROP_RESPONSE_TOPIC))
		mp->p.response_topic = keep_str(&w, in->response_topic);
	if (MQTT_HAS(in, MQTT_PROP_CORRELATION_DATA))
		mp->p.correlation_data = keep_str(&w, in->correlation_data);
	/* User Properties as the wire has them, in their order: the codec's iterator walks it. */
	uint8_t *users = w;
	it = (mqtt_iter){ 0, 0 };
	while (mqtt_props_user_next(in, &it, &u)) {
		*w++ = MQTT_PROP_USER;
		w = put_str16(w, u.key);
		w = put_str16(w, u.value);
		mp->p.user_count++;
	}
	mp->p.raw = (mqtt_str){ users, (uint32_t)(w - users) };
	m->props = mp;
}

/* "Passed": a message is still delivered in the microsecond its interval ends (a live
 * delivery of one published with interval 0 among them). */
bool broker__msg_expired(const msg *m, int64_t now_us)
{
	return m->expire_us != INT64_MAX && now_us > m->expire_us;
}

static int64_t now_of(broker *b)
{
	return b->env.now_us(b->env.ctx);
}

void broker__outmsg_free_list(outmsg *o)
{
	while (o) {
		outmsg *n = o->next;
		broker__msg_unref(o->m);
		free(o->rc);
		free(o->sub_ids);
		free(o);
		o = n;
	}
}

/* QoS 1/2 deliveries the session may have unacknowledged: the broker's window, and no more
 * than a 5.0 client's Receive Maximum [MQTT-3.3.4-9]. */
static uint32_t window(const broker *b, const session *s)
{
	uint32_t w = b->cfg.max_inflight;
	if (s->c && s->c->recv_max < w)
		w = s->c->recv_max;
	return w;
}

static bool in_qos2_has(session *s, uint16_t id, bool remove);
static void in_qos2_add(session *s, uint16_t id);

/* The PUBLISH for a delivery: its message's properties, and the Message Expiry Interval
 * less the whole seconds it waited here [MQTT-3.3.2-6] (0 for a redelivery whose time ran
 * out after it first went out, which must still complete). */
static void publish_packet(broker *b, const outmsg *o, bool dup, mqtt_packet *p)
{
	*p = (mqtt_packet){ .type = MQTT_PUBLISH, .version = MQTT_V311, .packet_id = o->qos ? o->id : 0 };
	p->publish.qos = o->qos;
	p->publish.retain = o->retain;
	/* DUP says whether this PUBLISH is a retransmission of ours, never what the publisher's
	 * said [MQTT-3.3.1-3]; the test switch copies it (QoS 0 carries no DUP at all). */
	p->publish.dup = dup || (o->qos && o->m->dup_in && (b->cfg.test_faults & BROKER_TF_DUP_COPIED));
	p->publish.topic = (mqtt_str){ (const uint8_t *)o->m->topic, o->m->topic_len };
	p->publish.payload = (mqtt_str){ o->m->payload, o->m->payload_len };
	if (o->m->props)
		p->props = o->m->props->p;
	if (o->nsub_ids && !(b->cfg.test_faults & BROKER_TF_SUB_ID_DROPPED)) {
		p->props.sub_ids = o->sub_ids;
		p->props.sub_id_count = o->nsub_ids;
	}
	if (o->m->expire_us != INT64_MAX) {
		int64_t left = o->m->expire_us - now_of(b);
		p->props.message_expiry = left <= 0 ? 0 : (uint32_t)((left + 999999) / 1000000);
		MQTT_SET(&p->props, MQTT_PROP_MESSAGE_EXPIRY);
	}
}

static void send_publish(broker *b, session *s, const outmsg *o, bool dup)
{
	mqtt_packet p;
	publish_packet(b, o, dup, &p);
	/* Not before the log holds what it reveals: sent ahead of the sync, a QoS 2 PUBLISH
	 * whose packet id a crash then forgot would make the broker reuse that id for another
	 * message, which the receiver, still holding the id until PUBREL, drops as a
	 * duplicate [MQTT-4.3.3-2] (the crash sweep, tests/test_crashsweep.c, found it). */
	broker__send_later(b, s->c, &p);
}

/* Does the PUBLISH fit the client's Maximum Packet Size? One that does not is dropped
 * as if it had been sent [MQTT-3.1.2-25]: a QoS 1/2 one must not hold a slot of the
 * window waiting for an acknowledgement that cannot come. */
static bool publish_fits(broker *b, const session *s, const outmsg *o)
{
	if (!s->c || !s->c->max_out_packet)
		return true;
	mqtt_packet p, q;
	publish_packet(b, o, false, &p);
	p.packet_id = 1; /* two bytes whatever its value */
	return broker__core_fit(s->c, &p, &q) != 0;
}

static void send_ack(broker *b, conn *c, uint8_t type, uint16_t id)
{
	mqtt_packet p = { .type = type, .version = MQTT_V311, .packet_id = id };
	broker__send_later(b, c, &p);
}

/* A packet id not used by any message in flight to this session: the next one counting up,
 * or under BROKER_VAR_RANDOM_IDS one drawn from the broker's stream (never 0). */
static uint16_t next_id(broker *b, session *s)
{
	for (;;) {
		if (b->cfg.variants & BROKER_VAR_RANDOM_IDS) {
			uint64_t x = b->id_rng;
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			b->id_rng = x;
			s->last_id = (uint16_t)(x >> 32);
			if (!s->last_id)
				continue;
		} else
			s->last_id = (uint16_t)(s->last_id == 65535 ? 1 : s->last_id + 1);
		bool used = false;
		for (outmsg *o = s->inflight; o; o = o->next)
			if (o->id == s->last_id) {
				used = true;
				break;
			}
		if (!used)
			return s->last_id;
	}
}

/* Unlink *pp from the queue. Retained cursors are not counted in s->queued. */
static outmsg *queue_unlink(session *s, outmsg **pp)
{
	outmsg *o = *pp;
	*pp = o->next;
	if (s->queue_tail == &o->next)
		s->queue_tail = pp;
	if (o->m)
		s->queued--;
	o->next = NULL;
	return o;
}

static outmsg *queue_pop(session *s)
{
	return queue_unlink(s, &s->queue);
}

bool broker__may_read(broker *b, session *s, const char *topic)
{
	const broker_auth *a = b->cfg.auth;
	if (!a || !a->allow)
		return true;
	/* Online, the session's owner is the connection's user (broker__handle_connect sees to it). */
	const char *user = s->c ? s->c->username : s->owner;
	if (a->allow(a->ctx, s->client_id, user, topic, false))
		return true;
	b->st.reads_denied++;
	return false;
}

static bool needs_check(broker *b, const outmsg *o)
{
	return o->unchecked && b->cfg.auth && b->cfg.auth->allow;
}

static void inflight_remove(broker *b, session *s, outmsg **link);
static int retained_next(broker *b, session *s, outmsg *mark);

static void inflight_push(session *s, outmsg *o, uint16_t id)
{
	o->id = id;
	o->state = OUT_SENT;
	*s->inflight_tail = o;
	s->inflight_tail = &o->next;
	s->inflight_count++;
}

void broker__session_pump(broker *b, session *s)
{
	while (s->c && s->queue) {
		if (!s->queue->m) {
			/* A retained cursor at the head: it puts its next message before itself,
			 * waits for the window, or is done and goes. */
			int r = retained_next(b, s, s->queue);
			if (r == 0)
				broker__outmsg_free_list(queue_unlink(s, &s->queue));
			else if (r == 2)
				break;
			continue;
		}
		if (s->queue->qos && s->inflight_count >= window(b, s))
			break;
		outmsg *o = queue_pop(s);
		if (needs_check(b, o)) {
			if (!broker__may_read(b, s, o->m->topic)) {
				broker__persist_out(b, s, R_POP, 0);
				broker__outmsg_free_list(o);
				continue;
			}
			o->unchecked = false;
		}
		if (broker__msg_expired(o->m, now_of(b))) {
			/* Waited past its Message Expiry Interval: deleted, not sent [MQTT-3.3.2-5]. */
			b->st.msgs_expired++;
			broker__persist_out(b, s, R_POP, 0);
			broker__outmsg_free_list(o);
			continue;
		}
		if (!publish_fits(b, s, o)) {
			b->st.msgs_dropped++;
			broker__persist_out(b, s, R_POP, 0);
			broker__outmsg_free_list(o);
			continue;
		}
		if (o->qos == 0) {
			broker__persist_out(b, s, R_POP, 0);
			send_publish(b, s, o, false);
			broker__outmsg_free_list(o);
			continue;
		}
		inflight_push(s, o, next_id(b, s));
		broker__persist_out(b, s, R_SENT, o->id);
		send_publish(b, s, o, false);
	}
}

void broker__session_resume(broker *b, session *s)
{
	/* Unacknowledged PUBLISH again with DUP set, PUBREL again for those already
	 * received, with their original packet ids [MQTT-4.4.0-1]. */
	for (outmsg **pp = &s->inflight; *pp && s->c;) {
		outmsg *o = *pp;
		if (o->state == OUT_SENT && needs_check(b, o)) {
			/* Recovered from the log: not to a user who may not read it. */
			if (!broker__may_read(b, s, o->m->topic)) {
				inflight_remove(b, s, pp);
				continue;
			}
			o->unchecked = false;
		}
		if (o->state == OUT_SENT && !publish_fits(b, s, o)) {
			/* Past the Maximum Packet Size of this connection of the client. */
			b->st.msgs_dropped++;
			inflight_remove(b, s, pp);
			continue;
		}
		if (o->state == OUT_SENT)
			send_publish(b, s, o, true);
		else if (o->state == OUT_RELEASED && o->m && (b->cfg.test_faults & BROKER_TF_RELEASED_RESENT))
			send_publish(b, s, o, true);
		else if (o->state == OUT_RELEASED)
			send_ack(b, s->c, MQTT_PUBREL, o->id); /* only the id: nothing to read */
		pp = &o->next;
	}
	broker__session_pump(b, s);
}

static void outmsg_set_ids(outmsg *o, const uint32_t *ids, uint32_t n)
{
	if (!n)
		return;
	o->sub_ids = mqtt_xmalloc(n * sizeof *o->sub_ids);
	memcpy(o->sub_ids, ids, n * sizeof *ids);
	o->nsub_ids = n;
}

static outmsg *outmsg_new(msg *m, uint8_t qos, bool retain_flag)
{
	outmsg *o = mqtt_xcalloc(1, sizeof *o);
	o->m = m;
	m->refs++;
	o->qos = qos;
	o->retain = retain_flag;
	return o;
}

outmsg *broker__queue_append(session *s, msg *m, uint8_t qos, bool retain_flag)
{
	outmsg *o = outmsg_new(m, qos, retain_flag);
	*s->queue_tail = o;
	s->queue_tail = &o->next;
	s->queued++;
	return o;
}

outmsg *broker__queue_prepend(session *s, msg *m, uint8_t qos, bool retain_flag)
{
	outmsg *o = outmsg_new(m, qos, retain_flag);
	o->next = s->queue;
	if (!s->queue)
		s->queue_tail = &o->next;
	s->queue = o;
	s->queued++;
	return o;
}

/*
 * One message to one session. Read access is checked here, for every delivery, against
 * the session's user: live routing, offline queueing, wills; retained messages for a new
 * subscription are checked as their cursor sends them, queued ones recovered from the
 * log as they go out (broker__session_pump, broker__session_resume).
 */
void broker__deliver(broker *b, session *s, msg *m, uint8_t qos, bool retain_flag,
		     const uint32_t *ids, uint32_t n_ids, uint64_t grp)
{
	if (!s->c && qos == 0 && !b->cfg.queue_qos0)
		return; /* QoS 0 to an offline session is simply not delivered */
	if (broker__msg_expired(m, now_of(b))) {
		b->st.msgs_expired++; /* a retained one, say [MQTT-3.3.2-5] */
		return;
	}
	/* Offline with no known owner (an older log), nobody to ask for yet. */
	bool unchecked = !s->c && s->owner_state == OWNER_UNKNOWN;
	if (!unchecked && !broker__may_read(b, s, m->topic))
		return;
	if (s->c && qos == 0 && !s->queue) {
		/* Nothing ahead of it: straight out, nothing to remember. */
		outmsg o = { .m = m, .qos = 0, .retain = retain_flag, .nsub_ids = n_ids, .sub_ids = (uint32_t *)ids };
		send_publish(b, s, &o, false);
		return;
	}
	if (s->queued >= b->cfg.max_queued) {
		b->st.msgs_dropped++;
		if (b->cfg.queue_policy != BROKER_DROP_OLDEST || !s->queued)
			return;
		/* The oldest message, passing retained cursors: the log has no cursors, so
		 * for it this is the head of the queue (R_POP). */
		outmsg **pp = &s->queue;
		while (!(*pp)->m)
			pp = &(*pp)->next;
		broker__persist_out(b, s, R_POP, 0);
		broker__outmsg_free_list(queue_unlink(s, pp));
	}
	outmsg *o = broker__queue_append(s, m, qos, retain_flag);
	o->unchecked = unchecked;
	o->grp = grp;
	outmsg_set_ids(o, ids, n_ids);
	broker__persist_enq(b, s, o, false);
	broker__session_pump(b, s);
}

/* Recovery: redo one change of a session's outbound state or inbound QoS 2 ids. */
bool broker__session_replay_out(session *s, uint8_t type, uint16_t id)
{
	outmsg **link = NULL, *o = NULL;
	for (outmsg **pp = &s->inflight; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id) {
			link = pp;
			o = *pp;
			break;
		}
	switch (type) {
	case R_SENT:
		if (!s->queue || o)
			return false;
		inflight_push(s, queue_pop(s), id);
		if (id > s->last_id)
			s->last_id = id;
		return true;
	case R_POP:
		if (!s->queue)
			return false;
		broker__outmsg_free_list(queue_pop(s));
		return true;
	case R_REL:
		if (!o || o->qos != 2)
			return false;
		o->state = OUT_RELEASED;
		return true;
	case R_DONE:
		if (!o)
			return false;
		*link = o->next;
		if (s->inflight_tail == &o->next)
			s->inflight_tail = link;
		s->inflight_count--;
		o->next = NULL;
		broker__outmsg_free_list(o);
		return true;
	case R_IN2:
		in_qos2_add(s, id);
		return true;
	case R_IN2_DEL:
		return in_qos2_has(s, id, true);
	default:
		return false;
	}
}

/*
 * The member of a shared subscription group that gets the next message: round robin in
 * subscription order, the one after the member served last, passing over members whose
 * client is offline while any is online (an offline one's queue would hold it until it
 * returns); if all are offline, the next in turn. `not` (a session that is ending) is
 * never chosen. NULL if there is nobody.
 */
static sub *group_pick(sgroup *g, const session *not)
{
	sub *first = NULL, *after = NULL, *first_on = NULL, *after_on = NULL;
	for (sub *x = g->members; x; x = x->next_in_node) {
		if (x->s == not)
			continue;
		bool later = x->seq > g->last_seq;
		if (!first)
			first = x;
		if (later && !after)
			after = x;
		if (x->s->c && !first_on)
			first_on = x;
		if (x->s->c && later && !after_on)
			after_on = x;
	}
	sub *x = after_on ? after_on : first_on ? first_on : after ? after : first;
	if (x)
		g->last_seq = x->seq;
	return x;
}

/* One message to the member of g chosen for it. */
static void group_deliver(broker *b, sgroup *g, sub *x, msg *m, bool retain_flag)
{
	uint8_t qos = x->qos < m->qos ? x->qos : m->qos;
	broker__deliver(b, x->s, m, qos, retain_flag, &x->sub_id, x->sub_id ? 1 : 0, g->id);
}

/*
 * One delivery per session whatever the number of its subscriptions that match
 * [MQTT-3.3.4-2]: at the highest QoS among them, with the Subscription Identifiers of all
 * that have one, in subscription order [MQTT-3.3.4-3, -4], and RETAIN as published if any
 * of them asks for it (Retain As Published; else 0 [MQTT-3.3.1-12, -13]). A No Local
 * subscription of the publishing session takes no part [MQTT-3.8.3-3]. Then one delivery
 * per matching shared subscription group, to one member of it [MQTT-4.8.2-*] (a session
 * may so get a second copy: its own subscription and its group's are two).
 */
size_t broker__route(broker *b, msg *m, const session *from)
{
	sub **v = NULL;
	sgroup **gv = NULL;
	size_t ng = 0;
	size_t n = broker__tree_match(b, m->topic, &v, &gv, &ng), sessions = 0;
	uint32_t idbuf[16], *ids = idbuf, ids_cap = 16;
	for (size_t i = 0, j; i < n; i = j) {
		session *s = v[i]->s;
		uint8_t qos = 0;
		bool any = false, rap = false;
		uint32_t nids = 0;
		for (j = i; j < n && v[j]->s == s; j++) {
			const sub *x = v[j];
			if ((x->opts & SUB_NO_LOCAL) && s == from && !(b->cfg.test_faults & BROKER_TF_NO_LOCAL_IGNORED))
				continue;
			if (b->cfg.variants & BROKER_VAR_OVERLAP_COPIES) {
				/* One copy per matching subscription, each at its own QoS and with its
				 * own identifier: MQTT-3.3.5-1 allows the extra copies (broker.h). */
				sessions += !any;
				any = true;
				bool keep1 = ((x->opts & SUB_RAP) && !(b->cfg.test_faults & BROKER_TF_RAP_IGNORED)) ||
					     (!s->c && (b->cfg.test_faults & BROKER_TF_QUEUED_RETAIN));
				broker__deliver(b, s, m, x->qos < m->qos ? x->qos : m->qos, keep1 && m->retain, &x->sub_id,
						x->sub_id ? 1 : 0, 0);
				continue;
			}
			any = true;
			if (x->qos > qos)
				qos = x->qos;
			rap |= (x->opts & SUB_RAP) != 0 && !(b->cfg.test_faults & BROKER_TF_RAP_IGNORED);
			if (!x->sub_id)
				continue;
			if (nids == ids_cap) {
				ids_cap *= 2;
				uint32_t *g = ids == idbuf ? mqtt_xmalloc(ids_cap * sizeof *g) : mqtt_xrealloc(ids, ids_cap * sizeof *g);
				if (ids == idbuf)
					memcpy(g, idbuf, sizeof idbuf);
				ids = g;
			}
			ids[nids++] = x->sub_id;
		}
		if (!any || (b->cfg.variants & BROKER_VAR_OVERLAP_COPIES))
			continue;
		sessions++;
		/* Forwarded live, RETAIN is 0 whatever the publisher set [MQTT-3.3.1-9 (3.1.1)],
		 * unless Retain As Published. */
		bool keep = rap || (!s->c && (b->cfg.test_faults & BROKER_TF_QUEUED_RETAIN));
		broker__deliver(b, s, m, qos < m->qos ? qos : m->qos, keep && m->retain, ids, nids, 0);
	}
	for (size_t i = 0; i < ng; i++) {
		sub *x = group_pick(gv[i], NULL);
		if (!x)
			continue;
		if (b->cfg.test_faults & BROKER_TF_SHARED_TO_ALL) {
			for (sub *y = gv[i]->members; y; y = y->next_in_node)
				if (y != x) {
					sessions++;
					group_deliver(b, gv[i], y, m, (y->opts & SUB_RAP) && m->retain);
				}
		}
		sessions++;
		group_deliver(b, gv[i], x, m, (x->opts & SUB_RAP) && m->retain);
	}
	if (ids != idbuf)
		free(ids);
	free(v);
	free(gv);
	return sessions;
}

static sgroup *group_by_id(broker *b, uint64_t id)
{
	for (sgroup *g = b->groups; g; g = g->next)
		if (g->id == id)
			return g;
	return NULL;
}

/* What a member of a group held undelivered: a message sent and not acknowledged (a QoS 2
 * one PUBREC'd is delivered, and stays), or queued. Messages recovered from the store do
 * not know their group (outmsg.grp is not persisted) and stay with the session. */
static void handoff_list(broker *b, session *s, outmsg *o)
{
	for (; o; o = o->next) {
		if (!o->m || !o->grp || o->state == OUT_RELEASED || broker__msg_expired(o->m, now_of(b)))
			continue;
		sgroup *g = group_by_id(b, o->grp);
		sub *x = g ? group_pick(g, s) : NULL;
		if (x)
			group_deliver(b, g, x, o->m, (x->opts & SUB_RAP) && o->m->retain);
	}
}

void broker__shared_handoff(broker *b, session *s)
{
	if (b->freeing || b->replaying)
		return;
	handoff_list(b, s, s->inflight);
	handoff_list(b, s, s->queue);
}

static bool in_qos2_has(session *s, uint16_t id, bool remove)
{
	for (uint32_t i = 0; i < s->in_qos2_len; i++) {
		if (s->in_qos2[i] == id) {
			if (remove)
				s->in_qos2[i] = s->in_qos2[--s->in_qos2_len];
			return true;
		}
	}
	return false;
}

static void in_qos2_add(session *s, uint16_t id)
{
	size_t cap = s->in_qos2_cap;
	s->in_qos2 = mqtt_xgrow(s->in_qos2, &cap, (size_t)s->in_qos2_len + 1, sizeof *s->in_qos2, 8);
	s->in_qos2_cap = (uint32_t)cap;
	s->in_qos2[s->in_qos2_len++] = id;
}

/*
 * An inbound Topic Alias (5.0 §3.3.2.3.4): with a topic it sets the alias, with an empty
 * one it stands for the topic set last [MQTT-3.3.2-12]. *topic becomes the topic name the
 * message has. False when the connection was closed for it.
 */
static bool topic_alias(broker *b, conn *c, const mqtt_packet *p, mqtt_str *topic)
{
	if (!MQTT_HAS(&p->props, MQTT_PROP_TOPIC_ALIAS)) {
		if (topic->len == 0) {
			broker__core_disconnect(b, c, 0x82, "empty topic name without a topic alias");
			return false;
		}
		return true;
	}
	uint16_t a = p->props.topic_alias; /* 0 the codec refused [MQTT-3.3.2-8] */
	if (a > b->cfg.topic_alias_max) {
		/* Past what CONNACK announced: the client broke MQTT-3.3.2-9, answered 0x94. */
		char why[80];
		snprintf(why, sizeof why, "topic alias %u above the server's Topic Alias Maximum %u", a,
			 b->cfg.topic_alias_max);
		broker__core_disconnect(b, c, 0x94, why);
		return false;
	}
	if (topic->len == 0) {
		const char *t = a <= c->nalias ? c->alias[a - 1] : NULL;
		if (!t) {
			broker__core_disconnect(b, c, 0x82, "topic alias not set on this connection");
			return false;
		}
		*topic = (mqtt_str){ (const uint8_t *)t, (uint32_t)strlen(t) };
		return true;
	}
	if (a > c->nalias) {
		char **n = mqtt_xrealloc(c->alias, a * sizeof *n);
		memset(n + c->nalias, 0, (a - c->nalias) * sizeof *n);
		c->alias = n;
		c->nalias = a;
	}
	free(c->alias[a - 1]);
	c->alias[a - 1] = mqtt_xstrndup((const char *)topic->data, topic->len);
	return true;
}

/* PUBACK, PUBREC, PUBREL or PUBCOMP; to a 5.0 client with reason (3.1.1's have none) and,
 * unless it asked for no problem information [MQTT-3.1.2-29], the reason string why. */
static void ack_rc_why(broker *b, conn *c, uint8_t type, uint16_t id, uint8_t reason, const char *why)
{
	mqtt_packet p = { .type = type, .version = MQTT_V311, .packet_id = id };
	if (c->version == MQTT_V5) {
		p.reason = reason;
		if (why && broker__core_reason_ok(c)) {
			p.props.reason_string = (mqtt_str){ (const uint8_t *)why, (uint32_t)strlen(why) };
			MQTT_SET(&p.props, MQTT_PROP_REASON_STRING);
		}
	}
	broker__send_later(b, c, &p);
}

static void ack_rc(broker *b, conn *c, uint8_t type, uint16_t id, uint8_t reason)
{
	ack_rc_why(b, c, type, id, reason, NULL);
}

/* Payload Format Indicator 1 says the payload is UTF-8 character data (5.0 §3.3.2.3.2),
 * which must be well-formed UTF-8 [MQTT-3.3.2-4]: no surrogates, no overlong forms, nothing
 * past U+10FFFF. The rules of §1.5.4 for UTF-8 strings (no U+0000) are not a payload's.
 * Checked only when the broker is told to (check_payload_format). */
static bool payload_format_bad(const broker *b, const conn *c, const mqtt_packet *p)
{
	return b->cfg.check_payload_format && c->version == MQTT_V5 &&
	       MQTT_HAS(&p->props, MQTT_PROP_PAYLOAD_FORMAT) && p->props.payload_format == 1 &&
	       mqtt_utf8_well_formed(p->publish.payload.data, p->publish.payload.len, NULL) < 0;
}

void broker__handle_publish(broker *b, conn *c, const mqtt_packet *p)
{
	session *s = c->s;
	const mqtt_publish *pub = &p->publish;
	mqtt_str topic = pub->topic;
	b->st.msgs_received++;

	if (c->version == MQTT_V5) {
		/* What this broker announced it does not take (5.0 §3.2.2.3): a topic alias past
		 * its Topic Alias Maximum, a QoS above its Maximum QoS, a retained message
		 * when retain is not available. */
		if (p->props.sub_id_count) {
			/* Only a server puts them in a PUBLISH [MQTT-3.3.4-6]. */
			broker__core_disconnect(b, c, 0x82, "subscription identifier in a PUBLISH from a client");
			return;
		}
		if (!topic_alias(b, c, p, &topic))
			return;
		if (pub->qos > b->cfg.max_qos) {
			/* The client broke MQTT-3.2.2-11; the answer is 0x9B (5.0 §3.2.2.3.4). */
			broker__core_disconnect(b, c, 0x9B, "QoS above the server's Maximum QoS");
			return;
		}
		if (pub->retain && !b->cfg.retain_available) {
			/* The client broke MQTT-3.2.2-14; the answer is 0x9A (5.0 §3.2.2.3.5). */
			broker__core_disconnect(b, c, 0x9A, "retain is not available");
			return;
		}
		uint32_t rmax = b->cfg.receive_max ? b->cfg.receive_max : 65535;
		if (pub->qos && !(pub->qos == 2 && in_qos2_has(s, p->packet_id, false)) &&
		    (uint32_t)c->in_q1_held + c->in_q2 >= rmax) {
			/* One more unacknowledged QoS 1/2 PUBLISH than our Receive Maximum: the
			 * client broke MQTT-3.3.4-7, the answer is 0x93 (5.0 §3.3.4). */
			broker__core_disconnect(b, c, 0x93, "receive maximum exceeded");
			return;
		}
	}

	/* QoS 2, method B: deliver on first receipt, remember the id until PUBREL, so a
	 * retried PUBLISH before PUBREL is acknowledged but not delivered again [MQTT-4.3.3-2]. */
	if (pub->qos == 2 && in_qos2_has(s, p->packet_id, false) &&
	    !(b->cfg.test_faults & BROKER_TF_QOS2_TWICE)) {
		broker__ack_later(b, c, MQTT_PUBREC, p->packet_id);
		return;
	}
	msg *m = broker__msg_new((const char *)topic.data, topic.len, pub->payload.data,
				 pub->payload.len, pub->qos, pub->retain);
	m->dup_in = pub->dup;
	if (c->version == MQTT_V5) {
		broker__msg_set_props(m, &p->props);
		if (MQTT_HAS(&p->props, MQTT_PROP_MESSAGE_EXPIRY) && !(b->cfg.test_faults & BROKER_TF_EXPIRY_IGNORED)) {
			m->expiry_s = p->props.message_expiry;
			m->expire_us = now_of(b) + (int64_t)m->expiry_s * 1000000;
		}
	}
	/* 5.0 PUBACK/PUBREC reason: 0x10 when nobody subscribes to it, 0x87 when the ACL
	 * refuses it (5.0 §3.4.2.1); 3.1.1 has only the packet. */
	uint8_t reason = 0x00;
	const char *why = NULL;
	bool allowed = !b->cfg.auth || !b->cfg.auth->allow ||
		       b->cfg.auth->allow(b->cfg.auth->ctx, s->client_id, c->username, m->topic, true);
	if ((b->cfg.variants & BROKER_VAR_DOLLAR_REFUSED) && m->topic[0] == '$')
		allowed = false; /* '$' topics are the server's: refused as an ACL would [MQTT-3.3.5-2] */
	if (allowed && payload_format_bad(b, c, p)) {
		/* Not what its Payload Format Indicator says: 0x99, and not delivered. */
		reason = 0x99;
		why = "payload is not UTF-8 but its Payload Format Indicator says it is";
		b->st.msgs_dropped++;
		broker__core_log(b, "invalid payload format client=%s topic=%s", s->client_id, m->topic);
	} else if (allowed) {
		if (pub->retain)
			broker__retained_set(b, m);
		if (broker__route(b, m, s) == 0)
			reason = 0x10;
	} else {
		reason = 0x87;
		/* A denied publish is dropped; it is still acknowledged so the client moves on. */
		b->st.msgs_dropped++;
		broker__core_log(b, "denied publish client=%s topic=%s", s->client_id, m->topic);
	}
	broker__msg_unref(m);
	/* Acknowledged once what it caused is durable (broker__ack_later waits for the sync). */
	if (pub->qos == 1) {
		if (b->store && (b->dirty || b->log_stale))
			c->in_q1_held++; /* unacknowledged until broker__acks_flush sends it */
		ack_rc_why(b, c, MQTT_PUBACK, p->packet_id, reason, why);
	} else if (pub->qos == 2 && c->version == MQTT_V5 && reason >= 0x80) {
		/* A PUBREC of 0x80 or more ends the exchange: no PUBREL follows, so the id is
		 * not held (5.0 §4.3.3). */
		ack_rc_why(b, c, MQTT_PUBREC, p->packet_id, reason, why);
	} else if (pub->qos == 2) {
		c->in_q2++;
		in_qos2_add(s, p->packet_id);
		broker__persist_out(b, s, R_IN2, p->packet_id);
		ack_rc(b, c, MQTT_PUBREC, p->packet_id, reason);
	}
}

static outmsg *inflight_find(session *s, uint16_t id, outmsg ***link)
{
	for (outmsg **pp = &s->inflight; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			*link = pp;
			return *pp;
		}
	}
	return NULL;
}

static void inflight_remove(broker *b, session *s, outmsg **link)
{
	broker__persist_out(b, s, R_DONE, (*link)->id);
	outmsg *o = *link;
	*link = o->next;
	if (s->inflight_tail == &o->next)
		s->inflight_tail = link;
	s->inflight_count--;
	o->next = NULL;
	broker__outmsg_free_list(o);
}

void broker__inflight_drop_matching(broker *b, session *s, const uint8_t *filter, size_t len)
{
	for (outmsg **pp = &s->inflight; *pp;) {
		outmsg *o = *pp;
		if (o->m && mqtt_topic_match(filter, len, (const uint8_t *)o->m->topic, o->m->topic_len))
			inflight_remove(b, s, pp);
		else
			pp = &o->next;
	}
}

void broker__handle_ack(broker *b, conn *c, const mqtt_packet *p)
{
	session *s = c->s;
	outmsg **link = NULL, *o = inflight_find(s, p->packet_id, &link);
	switch (p->type) {
	case MQTT_PUBACK:
		if (o && o->qos == 1) {
			inflight_remove(b, s, link);
			broker__session_pump(b, s);
		}
		break;
	case MQTT_PUBREC:
		/* A 5.0 PUBREC of 0x80 or more refuses the message: only a PUBREC below 0x80
		 * is answered by PUBREL [MQTT-4.3.3-4], the exchange ends here and the id and
		 * its place in the client's Receive Maximum are free again (5.0 §4.3.3,
		 * §4.9). Nothing is sent back, whether or not the id was ours. */
		if (c->version == MQTT_V5 && p->reason >= 0x80) {
			if (o && o->qos == 2 && o->state == OUT_SENT) {
				inflight_remove(b, s, link);
				broker__session_pump(b, s);
			}
			break;
		}
		/* The message is delivered; from here only the id travels [MQTT-4.3.3-1]. */
		if (o && o->qos == 2 && o->state == OUT_SENT) {
			o->state = OUT_RELEASED;
			broker__persist_out(b, s, R_REL, o->id);
		}
		/* Only once "released" is durable: a restart that forgot it would send the
		 * PUBLISH again, and a receiver that has already released the id would take it
		 * for a new message - a duplicate QoS 2 delivery. */
		if (o && o->qos == 2)
			broker__ack_later(b, c, MQTT_PUBREL, p->packet_id);
		else /* a PUBREC for no QoS 2 message of ours: 0x92 (5.0 §3.6.2.1) */
			ack_rc_why(b, c, MQTT_PUBREL, p->packet_id, 0x92, "packet identifier not found");
		break;
	case MQTT_PUBCOMP:
		if (o && o->qos == 2 && o->state == OUT_RELEASED) {
			inflight_remove(b, s, link);
			broker__session_pump(b, s);
		}
		break;
	case MQTT_PUBREL:
		/* The id is free again only once that is durable: a restart must not take a
		 * new message under this id for a duplicate. */
		/* Every PUBREL is answered with a PUBCOMP of its id [MQTT-4.3.3-11]; one for an
		 * id not held (already released, or never taken) says 0x92, Packet Identifier
		 * not found (5.0 §3.7.2.1), to a 5.0 client. */
		if (in_qos2_has(s, p->packet_id, true)) {
			broker__persist_out(b, s, R_IN2_DEL, p->packet_id);
			if (c->in_q2)
				c->in_q2--; /* ids of an earlier connection were never counted here */
			broker__ack_later(b, c, MQTT_PUBCOMP, p->packet_id);
		} else {
			ack_rc_why(b, c, MQTT_PUBCOMP, p->packet_id, 0x92, "packet identifier not found");
		}
		break;
	default:
		break;
	}
}

/* ---- retained messages ------------------------------------------------------------------- */

static size_t ret_bucket(broker *b, const char *topic, size_t n)
{
	return (size_t)(broker__core_hash(topic, n) & (b->ret_buckets - 1));
}

void broker__retained_set(broker *b, msg *m)
{
	broker__persist_retained(b, m);
	size_t k = ret_bucket(b, m->topic, m->topic_len);
	retained **pp = &b->ret_hash[k];
	for (; *pp; pp = &(*pp)->hnext)
		if (!strcmp((*pp)->m->topic, m->topic))
			break;
	retained *r = *pp;
	if (m->payload_len == 0) {
		/* An empty retained message deletes the one stored [MQTT-3.3.1-10]. */
		if (!r)
			return;
		*pp = r->hnext;
		BROKER_LIST_UNLINK(b->retained, b->retained_tail, r, prev, next);
		broker__msg_unref(r->m);
		free(r);
		b->st.retained--;
		b->ret_gen++; /* cursors find their place again */
		return;
	}
	m->refs++;
	if (r) {
		broker__msg_unref(r->m); /* replaced [MQTT-3.3.1-5] */
		r->m = m;
		r->set_seq = ++b->ret_clock;
		return;
	}
	r = mqtt_xcalloc(1, sizeof *r);
	r->m = m;
	r->ins_seq = r->set_seq = ++b->ret_clock;
	r->hnext = b->ret_hash[k];
	b->ret_hash[k] = r;
	BROKER_LIST_APPEND(b->retained, b->retained_tail, r, prev, next);
	b->st.retained++;
}

/* The retained entry for exactly this topic, or NULL. */
static retained *ret_find(broker *b, const char *topic, size_t n)
{
	for (retained *r = b->ret_hash[ret_bucket(b, topic, n)]; r; r = r->hnext)
		if (r->m->topic_len == n && memcmp(r->m->topic, topic, n) == 0)
			return r;
	return NULL;
}

/*
 * Retained messages go to a new subscription with RETAIN=1 [MQTT-3.3.1-6], oldest first,
 * all of them: not through the offline-queue bound (max_queued), which would drop all but
 * the first thousand or so, but through a cursor in the session's queue that sends the
 * next one whenever the in-flight window has room (broker__session_pump, on each PUBACK/PUBCOMP).
 * QoS 0 ones are not paced: they go out at once, as far as the transport takes them.
 * Messages that arrive after the SUBSCRIBE queue behind the cursor, under the queue bound.
 *
 * A filter without wildcards matches one topic at most: found by hash, and sent at once
 * when nothing waits ahead of it, so many exact filters neither scan the store nor each
 * hold a cursor. A wildcard filter is matched against every retained message, O(retained)
 * per filter; only a tree of retained topics would do better.
 */
void broker__retained_deliver(broker *b, session *s, const char *filter, size_t flen, uint8_t qos,
			      uint32_t sub_id)
{
	bool exact = !memchr(filter, '+', flen) && !memchr(filter, '#', flen);
	retained *first = exact ? ret_find(b, filter, flen) : b->retained;
	if (first && exact && broker__msg_expired(first->m, now_of(b))) {
		/* Its Message Expiry Interval passed: gone from the store, as an empty retained
		 * message would delete it (a wildcard filter's cursor only steps over such). */
		msg *del = broker__msg_new(first->m->topic, first->m->topic_len, NULL, 0, 0, true);
		broker__retained_set(b, del);
		broker__msg_unref(del);
		b->st.msgs_expired++;
		return;
	}
	if (!first)
		return;
	if (exact) {
		uint8_t q = qos < first->m->qos ? qos : first->m->qos;
		if (b->cfg.test_faults & BROKER_TF_RETAINED_STORED_QOS)
			q = first->m->qos;
		if (!s->queue && (q == 0 || s->inflight_count < window(b, s))) {
			broker__deliver(b, s, first->m, q, !(b->cfg.test_faults & BROKER_TF_RETAIN_FLAG), &sub_id,
					sub_id ? 1 : 0, 0);
			return;
		}
	}
	rcursor *rc = mqtt_xcalloc(1, sizeof *rc + flen + 1);
	outmsg *o = mqtt_xcalloc(1, sizeof *o);
	rc->start = b->ret_clock;
	rc->exact = exact;
	rc->next_ins = exact ? first->ins_seq : 0;
	rc->at = first;
	rc->gen = b->ret_gen;
	rc->qos = qos;
	rc->sub_id = sub_id;
	rc->filter_len = (uint16_t)flen;
	memcpy(rc->filter, filter, flen);
	o->rc = rc;
	*s->queue_tail = o;
	s->queue_tail = &o->next;
	broker__session_pump(b, s);
}

/* The cursor at the head of s's queue: 1 when it put its next message at the head (before
 * itself), 2 when that message waits for the in-flight window, 0 when it has no more. */
static int retained_next(broker *b, session *s, outmsg *mark)
{
	rcursor *rc = mark->rc;
	retained *r = rc->at;
	if (rc->next_ins == UINT64_MAX)
		return 0;
	if (rc->gen != b->ret_gen) {
		/* An entry was deleted since: find the place again (by insertion number). */
		if (rc->exact)
			r = ret_find(b, rc->filter, rc->filter_len);
		else
			for (r = b->retained; r && r->ins_seq < rc->next_ins; r = r->next)
				;
		rc->gen = b->ret_gen;
	}
	/* Entries made after the SUBSCRIBE (ins_seq > start) and messages set after it went to
	 * the subscriber live already. */
	for (; r && r->ins_seq <= rc->start; r = rc->exact ? NULL : r->next) {
		if (r->set_seq > rc->start || broker__msg_expired(r->m, now_of(b)) ||
		    !mqtt_topic_match((const uint8_t *)rc->filter, rc->filter_len,
				      (const uint8_t *)r->m->topic, r->m->topic_len))
			continue;
		uint8_t qos = rc->qos < r->m->qos ? rc->qos : r->m->qos;
		if (b->cfg.test_faults & BROKER_TF_RETAINED_STORED_QOS)
			qos = r->m->qos;
		if (qos && s->inflight_count >= window(b, s)) {
			rc->at = r;
			rc->next_ins = r->ins_seq;
			return 2;
		}
		rc->at = r->next;
		rc->next_ins = rc->exact ? UINT64_MAX : r->ins_seq + 1;
		if (!broker__may_read(b, s, r->m->topic))
			continue;
		bool flag = !(b->cfg.test_faults & BROKER_TF_RETAIN_FLAG);
		if (!qos) {
			outmsg o = { .m = r->m, .qos = 0, .retain = flag, .nsub_ids = rc->sub_id ? 1 : 0,
				      .sub_ids = &rc->sub_id };
			send_publish(b, s, &o, false);
			if (!s->c)
				return 2; /* the shell gave up on the connection */
			continue;
		}
		outmsg *o = broker__queue_prepend(s, r->m, qos, flag);
		outmsg_set_ids(o, &rc->sub_id, rc->sub_id ? 1 : 0);
		broker__persist_enq(b, s, o, true);
		return 1;
	}
	rc->at = r;
	rc->next_ins = UINT64_MAX;
	return 0;
}

void broker__retained_free_all(broker *b)
{
	for (retained *r = b->retained, *n; r; r = n) {
		n = r->next;
		broker__msg_unref(r->m);
		free(r);
	}
	b->retained = b->retained_tail = NULL;
}
