/*
 * client.c - see client.h.
 */
#include "harness/client.h"
#include "mqtt/alloc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xdup(const void *p, size_t n)
{
	void *q = mqtt_xmalloc(n + 1);
	if (n)
		memcpy(q, p, n);
	((char *)q)[n] = 0;
	return q;
}

void hclient_init(hclient *c, const sc_client *cfg, int index)
{
	memset(c, 0, sizeof *c);
	c->cfg = cfg;
	c->index = index;
	c->version = cfg && cfg->version ? cfg->version : MQTT_V311;
	c->srv_receive_max = 65535;
}

static void v5_reset(hclient *c)
{
	c->srv_receive_max = 65535;
	c->srv_max_packet = 0;
	c->srv_alias_max = 0;
	c->ninflight = 0;
	for (size_t i = 0; i < c->nqueue; i++)
		free(c->queue[i].bytes);
	c->nqueue = 0;
	free(c->aliases);
	c->aliases = NULL;
}

void hclient_reset(hclient *c)
{
	v5_reset(c);
	c->tcp_open = false;
	c->peer_closed = false;
	c->connacked = false;
	c->rx_len = 0;
	c->rx_broken = false;
	c->conn_first = c->npkts;
}

void hclient_free(hclient *c)
{
	for (size_t i = 0; i < c->npkts; i++) {
		free(c->pkts[i].topic);
		free(c->pkts[i].payload);
		free(c->pkts[i].codes);
		free(c->pkts[i].bytes);
	}
	v5_reset(c);
	free(c->queue);
	free(c->inflight);
	for (size_t i = 0; i < c->npubs; i++) {
		free(c->pubs[i].topic);
		free(c->pubs[i].payload);
	}
	free(c->pkts);
	free(c->pubs);
	free(c->rx);
	free(c->will_topic);
	free(c->will_payload);
	memset(c, 0, sizeof *c);
}

static void log_pub(hclient *c, const uint8_t *topic, size_t tl, const uint8_t *payload, size_t len,
		    uint8_t qos, int64_t now_us)
{
	c->pubs = mqtt_xgrow(c->pubs, &c->pubs_cap, c->npubs + 1, sizeof *c->pubs, 16);
	tx_pub *t = &c->pubs[c->npubs++];
	t->topic = xdup(topic, tl);
	t->payload = xdup(payload, len);
	t->payload_len = (uint32_t)len;
	t->qos = qos;
	t->at_us = now_us;
}

static void record(hclient *c, const mqtt_packet *p, const uint8_t *raw, size_t raw_len, int64_t now);

void hclient_log_pub(hclient *c, const char *topic, const uint8_t *payload, size_t len, uint8_t qos,
		     int64_t now_us)
{
	log_pub(c, (const uint8_t *)topic, strlen(topic), payload, len, qos, now_us);
}

void hclient_log_rx(hclient *c, const mqtt_packet *p, int64_t now_us)
{
	record(c, p, NULL, 0, now_us);
}

int hclient_send(hclient *c, const mqtt_packet *p, int64_t now_us)
{
	uint8_t small[512];
	size_t n = mqtt_encoded_size(p);
	if (n == 0)
		return -1;
	uint8_t *buf = n <= sizeof small ? small : mqtt_xmalloc(n);
	int w = mqtt_encode(p, buf, n, NULL);
	if (w > 0)
		c->send(c, buf, (size_t)w);
	if (buf != small)
		free(buf);
	c->last_tx_us = now_us;
	if (p->type == MQTT_PUBLISH)
		log_pub(c, p->publish.topic.data, p->publish.topic.len, p->publish.payload.data,
			p->publish.payload.len, p->publish.qos, now_us);
	return w > 0 ? 0 : -1;
}

uint16_t hclient_next_id(hclient *c)
{
	c->last_id = (uint16_t)(c->last_id == 65535 ? 1 : c->last_id + 1);
	return c->last_id;
}

static void ack(hclient *c, uint8_t type, uint16_t id, int64_t now)
{
	mqtt_packet a = { .type = type, .version = c->version, .packet_id = id };
	hclient_send(c, &a, now);
}

static void record(hclient *c, const mqtt_packet *p, const uint8_t *raw, size_t raw_len, int64_t now)
{
	c->pkts = mqtt_xgrow(c->pkts, &c->pkts_cap, c->npkts + 1, sizeof *c->pkts, 32);
	rx_pkt *r = &c->pkts[c->npkts++];
	memset(r, 0, sizeof *r);
	r->type = p->type;
	r->id = p->packet_id;
	r->rc = p->reason;
	r->session_present = p->session_present;
	r->at_us = now;
	r->version = c->version;
	if (raw_len) {
		r->bytes = xdup(raw, raw_len);
		r->nbytes = (uint32_t)raw_len;
	}
	if (p->type == MQTT_PUBLISH) {
		r->qos = p->publish.qos;
		r->retain = p->publish.retain;
		r->dup = p->publish.dup;
		const uint8_t *t = p->publish.topic.data;
		size_t tl = p->publish.topic.len, pl = c->prefix ? strlen(c->prefix) : 0;
		if (pl && tl > pl && !memcmp(t, c->prefix, pl) && t[pl] == '/') {
			t += pl + 1;
			tl -= pl + 1;
		}
		r->topic = xdup(t, tl);
		r->payload = xdup(p->publish.payload.data, p->publish.payload.len);
		r->payload_len = p->publish.payload.len;
	}
	if (p->codes.len) {
		r->codes = xdup(p->codes.data, p->codes.len);
		r->ncodes = p->codes.len;
	}
	mqtt_print(p, r->line, sizeof r->line);
	size_t k = 0;
	for (size_t i = 0; i < raw_len && k + 4 < sizeof r->hex; i++)
		k += (size_t)snprintf(r->hex + k, sizeof r->hex - k, "%s%02x", i ? " " : "", raw[i]);
	if (k + 4 >= sizeof r->hex && raw_len * 3 > sizeof r->hex)
		memcpy(r->hex + sizeof r->hex - 4, "...", 4);
}

/* The length of the packet at p (fixed header and body) when its Remaining Length is well
 * formed and the whole packet is there; 0 otherwise. */
static size_t frame_len(const uint8_t *p, size_t n)
{
	size_t rl = 0, i = 1;
	for (unsigned shift = 0; i < n && i <= 4; i++, shift += 7) {
		rl |= (size_t)(p[i] & 0x7F) << shift;
		if (!(p[i] & 0x80))
			return n >= i + 1 + rl ? i + 1 + rl : 0;
	}
	return 0;
}

/* ---- 5.0: honouring what the server announced ------------------------------------------- */

static void send_raw(hclient *c, const uint8_t *b, size_t n, int64_t now)
{
	c->send(c, b, n);
	c->last_tx_us = now;
}

static void inflight_add(hclient *c, uint16_t id)
{
	c->inflight = mqtt_xgrow(c->inflight, &c->inflight_cap, c->ninflight + 1, sizeof *c->inflight, 16);
	c->inflight[c->ninflight++] = id;
}

/* The id of a queued PUBLISH, from its bytes: after the topic. */
static uint16_t queued_id(const struct hclient_queued *q)
{
	mqtt_packet p;
	return mqtt_decode(q->bytes, q->len, MQTT_V5, 0, &p, NULL) > 0 ? p.packet_id : 0;
}

static void v5_on_packet(hclient *c, const mqtt_packet *p, int64_t now)
{
	if (p->type == MQTT_CONNACK) {
		const mqtt_props *pr = &p->props;
		c->srv_receive_max = MQTT_HAS(pr, MQTT_PROP_RECEIVE_MAX) && pr->receive_max ? pr->receive_max : 65535;
		c->srv_max_packet = MQTT_HAS(pr, MQTT_PROP_MAX_PACKET_SIZE) ? pr->max_packet_size : 0;
		c->srv_alias_max = MQTT_HAS(pr, MQTT_PROP_TOPIC_ALIAS_MAX) ? pr->topic_alias_max : 0;
		/* The keep alive the server imposes replaces the one asked for [MQTT-3.2.2-21]:
		 * auto_ping follows it. */
		if (MQTT_HAS(pr, MQTT_PROP_SERVER_KEEPALIVE))
			c->keepalive_s = pr->server_keepalive;
		return;
	}
	/* What ends a QoS 1/2 exchange for the Receive Maximum: PUBACK, PUBCOMP, or a PUBREC
	 * with an error code (MQTT-3.3.4-7). */
	bool done = p->type == MQTT_PUBACK || p->type == MQTT_PUBCOMP || (p->type == MQTT_PUBREC && p->reason >= 0x80);
	if (!done)
		return;
	for (size_t i = 0; i < c->ninflight; i++)
		if (c->inflight[i] == p->packet_id) {
			c->inflight[i] = c->inflight[--c->ninflight];
			break;
		}
	while (c->nqueue && c->ninflight < c->srv_receive_max) {
		struct hclient_queued q = c->queue[0];
		memmove(c->queue, c->queue + 1, (c->nqueue - 1) * sizeof *c->queue);
		c->nqueue--;
		inflight_add(c, queued_id(&q));
		send_raw(c, q.bytes, q.len, now);
		free(q.bytes);
	}
}

int hclient_publish(hclient *c, const mqtt_packet *p, bool force, int64_t now, char *why, size_t cap)
{
	if (c->version != MQTT_V5)
		return hclient_send(c, p, now);
	size_t n = mqtt_encoded_size(p);
	if (n == 0) {
		snprintf(why, cap, "the PUBLISH cannot be encoded");
		return -1;
	}
	uint16_t alias = MQTT_HAS(&p->props, MQTT_PROP_TOPIC_ALIAS) ? p->props.topic_alias : 0;
	if (!force) {
		if (c->srv_max_packet && n > c->srv_max_packet) {
			snprintf(why, cap, "the PUBLISH would be %zu bytes, more than the server's Maximum Packet Size "
				 "of %u (5.0 §3.2.2.3.6); give the step force: true to send it anyway", n,
				 (unsigned)c->srv_max_packet);
			return -1;
		}
		if (MQTT_HAS(&p->props, MQTT_PROP_TOPIC_ALIAS) && (alias == 0 || alias > c->srv_alias_max)) {
			snprintf(why, cap, "topic_alias %u is not one the server takes: its Topic Alias Maximum is %u "
				 "(5.0 §3.2.2.3.8); give the step force: true to send it anyway", alias,
				 (unsigned)c->srv_alias_max);
			return -1;
		}
		if (alias && !p->publish.topic.len && !(c->aliases && (c->aliases[alias / 8] >> (alias % 8) & 1))) {
			snprintf(why, cap, "topic_alias %u has no topic on this connection yet: publish once with "
				 "topic and topic_alias (or give force: true)", alias);
			return -1;
		}
	}
	if (alias && p->publish.topic.len) {
		if (!c->aliases)
			c->aliases = mqtt_xcalloc(65536 / 8, 1);
		c->aliases[alias / 8] |= (uint8_t)(1u << (alias % 8));
	}
	bool counted = p->publish.qos > 0;
	if (counted && !force && c->ninflight >= c->srv_receive_max) {
		uint8_t *b = mqtt_xmalloc(n);
		int w = mqtt_encode(p, b, n, NULL);
		if (w <= 0) {
			free(b);
			snprintf(why, cap, "the PUBLISH cannot be encoded");
			return -1;
		}
		c->queue = mqtt_xgrow(c->queue, &c->queue_cap, c->nqueue + 1, sizeof *c->queue, 16);
		c->queue[c->nqueue++] = (struct hclient_queued){ b, (size_t)w };
		c->queued_total++;
		log_pub(c, p->publish.topic.data, p->publish.topic.len, p->publish.payload.data, p->publish.payload.len,
			p->publish.qos, now);
		return 1;
	}
	if (counted)
		inflight_add(c, p->packet_id);
	if (hclient_send(c, p, now) < 0) {
		snprintf(why, cap, "the PUBLISH cannot be encoded");
		return -1;
	}
	return 0;
}

/* ---- 5.0 properties: scenario <-> codec ----------------------------------------------------- */

static const struct {
	uint8_t id, size;
	size_t off;
} num_fields[] = {
	{ MQTT_PROP_PAYLOAD_FORMAT, 1, offsetof(mqtt_props, payload_format) },
	{ MQTT_PROP_REQUEST_PROBLEM_INFO, 1, offsetof(mqtt_props, request_problem_info) },
	{ MQTT_PROP_REQUEST_RESPONSE_INFO, 1, offsetof(mqtt_props, request_response_info) },
	{ MQTT_PROP_MAX_QOS, 1, offsetof(mqtt_props, max_qos) },
	{ MQTT_PROP_RETAIN_AVAILABLE, 1, offsetof(mqtt_props, retain_available) },
	{ MQTT_PROP_WILDCARD_SUB_AVAILABLE, 1, offsetof(mqtt_props, wildcard_sub_available) },
	{ MQTT_PROP_SUB_ID_AVAILABLE, 1, offsetof(mqtt_props, sub_id_available) },
	{ MQTT_PROP_SHARED_SUB_AVAILABLE, 1, offsetof(mqtt_props, shared_sub_available) },
	{ MQTT_PROP_SERVER_KEEPALIVE, 2, offsetof(mqtt_props, server_keepalive) },
	{ MQTT_PROP_RECEIVE_MAX, 2, offsetof(mqtt_props, receive_max) },
	{ MQTT_PROP_TOPIC_ALIAS_MAX, 2, offsetof(mqtt_props, topic_alias_max) },
	{ MQTT_PROP_TOPIC_ALIAS, 2, offsetof(mqtt_props, topic_alias) },
	{ MQTT_PROP_MESSAGE_EXPIRY, 4, offsetof(mqtt_props, message_expiry) },
	{ MQTT_PROP_SESSION_EXPIRY, 4, offsetof(mqtt_props, session_expiry) },
	{ MQTT_PROP_WILL_DELAY, 4, offsetof(mqtt_props, will_delay) },
	{ MQTT_PROP_MAX_PACKET_SIZE, 4, offsetof(mqtt_props, max_packet_size) },
};

static const struct {
	uint8_t id;
	size_t off;
} str_fields[] = {
	{ MQTT_PROP_CONTENT_TYPE, offsetof(mqtt_props, content_type) },
	{ MQTT_PROP_RESPONSE_TOPIC, offsetof(mqtt_props, response_topic) },
	{ MQTT_PROP_CORRELATION_DATA, offsetof(mqtt_props, correlation_data) },
	{ MQTT_PROP_ASSIGNED_CLIENT_ID, offsetof(mqtt_props, assigned_client_id) },
	{ MQTT_PROP_RESPONSE_INFO, offsetof(mqtt_props, response_info) },
	{ MQTT_PROP_SERVER_REFERENCE, offsetof(mqtt_props, server_reference) },
	{ MQTT_PROP_REASON_STRING, offsetof(mqtt_props, reason_string) },
	{ MQTT_PROP_AUTH_METHOD, offsetof(mqtt_props, auth_method) },
	{ MQTT_PROP_AUTH_DATA, offsetof(mqtt_props, auth_data) },
};

#define NUM_FIELDS (sizeof num_fields / sizeof num_fields[0])
#define STR_FIELDS (sizeof str_fields / sizeof str_fields[0])

static uint32_t get_num(const mqtt_props *p, size_t k)
{
	const uint8_t *f = (const uint8_t *)p + num_fields[k].off;
	switch (num_fields[k].size) {
	case 1: return *f;
	case 2: return *(const uint16_t *)(const void *)f;
	default: return *(const uint32_t *)(const void *)f;
	}
}

static void set_num(mqtt_props *p, size_t k, uint32_t v)
{
	uint8_t *f = (uint8_t *)p + num_fields[k].off;
	switch (num_fields[k].size) {
	case 1: *f = (uint8_t)v; break;
	case 2: *(uint16_t *)(void *)f = (uint16_t)v; break;
	default: *(uint32_t *)(void *)f = v; break;
	}
}

static mqtt_str *str_field(mqtt_props *p, size_t k)
{
	return (mqtt_str *)(void *)((uint8_t *)p + str_fields[k].off);
}

void hclient_props_fill(const sc_props *sp, mqtt_props *out, mqtt_user_prop **user)
{
	*user = NULL;
	if (!sp)
		return;
	for (size_t k = 0; k < NUM_FIELDS; k++)
		if (MQTT_HAS(sp, num_fields[k].id)) {
			MQTT_SET(out, num_fields[k].id);
			set_num(out, k, sp->num[num_fields[k].id]);
		}
	for (size_t k = 0; k < STR_FIELDS; k++)
		if (MQTT_HAS(sp, str_fields[k].id) && sp->str[str_fields[k].id]) {
			const char *t = sp->str[str_fields[k].id];
			MQTT_SET(out, str_fields[k].id);
			*str_field(out, k) = (mqtt_str){ (const uint8_t *)t, (uint32_t)strlen(t) };
		}
	if (MQTT_HAS(sp, MQTT_PROP_SUBSCRIPTION_ID)) {
		/* Counted, never in `present` (mqtt.h); one for a SUBSCRIBE, as the loader keeps it. */
		out->sub_ids = sp->sub_ids ? sp->sub_ids : &sp->num[MQTT_PROP_SUBSCRIPTION_ID];
		out->sub_id_count = sp->sub_ids ? (uint32_t)sp->nsub_ids : 1;
	}
	if (MQTT_HAS(sp, MQTT_PROP_USER) && sp->nuser) {
		mqtt_user_prop *u = mqtt_xcalloc(sp->nuser, sizeof *u);
		for (size_t i = 0; i < sp->nuser; i++) {
			u[i].key = (mqtt_str){ (const uint8_t *)sp->user[i].name, (uint32_t)strlen(sp->user[i].name) };
			u[i].value = (mqtt_str){ (const uint8_t *)sp->user[i].value, (uint32_t)strlen(sp->user[i].value) };
		}
		out->user = u;
		out->user_count = (uint32_t)sp->nuser;
		*user = u;
	}
}

static bool has_prop(const mqtt_props *p, unsigned id)
{
	if (id == MQTT_PROP_USER)
		return p->user_count > 0;
	if (id == MQTT_PROP_SUBSCRIPTION_ID)
		return p->sub_id_count > 0 || MQTT_HAS(p, id);
	return MQTT_HAS(p, id);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static bool same_str(mqtt_str s, const char *t)
{
	return s.len == strlen(t) && (!s.len || !memcmp(s.data, t, s.len));
}

bool hclient_props_match(const rx_pkt *r, const sc_props *want, char *why, size_t cap)
{
	char dummy[8];
	if (!why) {
		why = dummy;
		cap = sizeof dummy;
	}
	mqtt_packet p;
	memset(&p, 0, sizeof p);
	if (r->bytes && mqtt_decode(r->bytes, r->nbytes, r->version, 0, &p, NULL) <= 0)
		memset(&p, 0, sizeof p);
	const mqtt_props *pr = &p.props;
	for (unsigned id = 1; id < SC_PROP_IDS; id++) {
		uint64_t bit = (uint64_t)1 << id;
		const mqtt_prop_info *in = mqtt_prop_lookup(id);
		const char *name = in ? in->name : "?";
		if ((want->absent & bit) && has_prop(pr, id)) {
			snprintf(why, cap, "it carries %s, which must be absent", name);
			return false;
		}
		if (((want->any | want->present) & bit) && !has_prop(pr, id)) {
			snprintf(why, cap, "it has no %s", name);
			return false;
		}
		if (!(want->present & bit))
			continue;
		if (id == MQTT_PROP_USER) {
			mqtt_iter it = { 0, 0 };
			mqtt_user_prop u;
			size_t i = 0;
			for (; mqtt_props_user_next(pr, &it, &u); i++)
				if (i >= want->nuser || !same_str(u.key, want->user[i].name) || !same_str(u.value, want->user[i].value)) {
					snprintf(why, cap, "its user property %zu is [%.*s, %.*s], not the one expected", i + 1,
						 (int)(u.key.len > 40 ? 40 : u.key.len), (const char *)u.key.data,
						 (int)(u.value.len > 40 ? 40 : u.value.len), (const char *)u.value.data);
					return false;
				}
			if (i != want->nuser) {
				snprintf(why, cap, "it has %zu user properties, not %zu", i, want->nuser);
				return false;
			}
			continue;
		}
		if (id == MQTT_PROP_SUBSCRIPTION_ID) {
			/* The standard gives several identifiers in one PUBLISH no order: compare sorted. */
			uint32_t got[64], exp[64];
			size_t ng = 0, ne = want->nsub_ids < 64 ? want->nsub_ids : 64;
			mqtt_iter it = { 0, 0 };
			uint32_t v;
			while (ng < 64 && mqtt_props_sub_id_next(pr, &it, &v))
				got[ng++] = v;
			memcpy(exp, want->sub_ids, ne * sizeof *exp);
			qsort(got, ng, sizeof *got, cmp_u32);
			qsort(exp, ne, sizeof *exp, cmp_u32);
			if (pr->sub_id_count != want->nsub_ids || ng != ne || memcmp(got, exp, ng * sizeof *got)) {
				size_t k = (size_t)snprintf(why, cap, "its subscription identifiers are");
				for (size_t i = 0; i < ng && k < cap; i++)
					k += (size_t)snprintf(why + k, cap - k, " %u", (unsigned)got[i]);
				return false;
			}
			continue;
		}
		for (size_t k = 0; k < NUM_FIELDS; k++)
			if (num_fields[k].id == id && get_num(pr, k) != want->num[id]) {
				snprintf(why, cap, "its %s is %u, not %u", name, (unsigned)get_num(pr, k), (unsigned)want->num[id]);
				return false;
			}
		for (size_t k = 0; k < STR_FIELDS; k++)
			if (str_fields[k].id == id && want->str[id]) {
				mqtt_str s = *str_field((mqtt_props *)pr, k);
				if (!same_str(s, want->str[id])) {
					snprintf(why, cap, "its %s is \"%.*s\", not \"%s\"", name, (int)(s.len > 60 ? 60 : s.len),
						 (const char *)s.data, want->str[id]);
					return false;
				}
			}
	}
	return true;
}

void hclient_on_bytes(hclient *c, const uint8_t *data, size_t len, int64_t now)
{
	if (c->rx_broken)
		return;
	if (c->rx_len + len > HCLIENT_RX_MAX) {
		/* Bounded like every buffer: no packet a scenario expects is this large. */
		snprintf(c->rx_error, sizeof c->rx_error,
			 "the broker sent %zu bytes that do not end a packet (the client's bound is %u)", c->rx_len + len,
			 (unsigned)HCLIENT_RX_MAX);
		c->rx_broken = true;
		c->rx_len = 0;
		return;
	}
	mqtt_xappend(&c->rx, &c->rx_len, &c->rx_cap, data, len, 4096);
	size_t pos = 0;
	while (pos < c->rx_len) {
		mqtt_packet p;
		mqtt_err e;
		int n = mqtt_decode(c->rx + pos, c->rx_len - pos, c->version, HCLIENT_RX_MAX, &p, &e);
		if (n == 0)
			break;
		if (n < 0) {
			/* The broker sent something no valid packet is: remember why, and step over it
			 * when its fixed header still says where it ends. */
			if (c->nbad < sizeof c->bad / sizeof c->bad[0]) {
				struct hclient_bad *b = &c->bad[c->nbad];
				snprintf(b->stmt, sizeof b->stmt, "%s", e.stmt ? e.stmt : "");
				snprintf(b->msg, sizeof b->msg, "%s", e.msg);
				b->at_us = now;
			}
			c->nbad++;
			size_t whole = frame_len(c->rx + pos, c->rx_len - pos);
			if (whole) {
				pos += whole;
				continue;
			}
			snprintf(c->rx_error, sizeof c->rx_error, "malformed packet from the broker: [%s] %s",
				 e.stmt ? e.stmt : "-", e.msg);
			c->rx_broken = true;
			c->rx_len = 0;
			return;
		}
		record(c, &p, c->rx + pos, (size_t)n, now);
		if (p.type == MQTT_CONNACK && p.reason == 0)
			c->connacked = true;
		if (c->version == MQTT_V5)
			v5_on_packet(c, &p, now);
		if (c->cfg->auto_ack) {
			if (p.type == MQTT_PUBLISH && p.publish.qos == 1)
				ack(c, MQTT_PUBACK, p.packet_id, now);
			else if (p.type == MQTT_PUBLISH && p.publish.qos == 2)
				ack(c, MQTT_PUBREC, p.packet_id, now);
			else if (p.type == MQTT_PUBREL)
				ack(c, MQTT_PUBCOMP, p.packet_id, now);
			else if (p.type == MQTT_PUBREC)
				ack(c, MQTT_PUBREL, p.packet_id, now);
		}
		pos += (size_t)n;
	}
	memmove(c->rx, c->rx + pos, c->rx_len - pos);
	c->rx_len -= pos;
}

bool hclient_match(const rx_pkt *r, const sc_match *m)
{
	if (m->type && r->type != m->type)
		return false;
	if (m->topic && (!r->topic || strcmp(r->topic, m->topic)))
		return false;
	if (m->payload && (!r->payload || r->payload_len != strlen(m->payload) ||
			   memcmp(r->payload, m->payload, r->payload_len)))
		return false;
	if (m->has_qos && r->qos != m->qos)
		return false;
	if (m->has_retain && r->retain != m->retain)
		return false;
	if (m->has_dup && r->dup != m->dup)
		return false;
	if (m->has_rc && r->rc != m->rc && !memchr(m->rc_alt, r->rc, m->nrc_alt))
		return false;
	if (m->has_session_present && r->session_present != m->session_present)
		return false;
	if (m->has_id && r->id != m->id)
		return false;
	if (m->codes && (r->ncodes != m->ncodes || memcmp(r->codes, m->codes, m->ncodes)))
		return false;
	if (m->props && !hclient_props_match(r, m->props, NULL, 0))
		return false;
	return true;
}

void hclient_describe(const sc_match *m, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "%s", m->type ? mqtt_type_name((unsigned)m->type) : "any packet");
#define ADD(...)                                                             \
	do {                                                                 \
		if (n < cap)                                                 \
			n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__); \
	} while (0)
	if (m->topic)
		ADD(" topic=\"%s\"", m->topic);
	if (m->payload)
		ADD(" payload=\"%.40s\"", m->payload);
	if (m->has_qos)
		ADD(" qos=%u", m->qos);
	if (m->has_retain)
		ADD(" retain=%d", m->retain);
	if (m->has_dup)
		ADD(" dup=%d", m->dup);
	if (m->has_rc) {
		ADD(" rc=%u", m->rc);
		for (uint8_t i = 0; i < m->nrc_alt; i++)
			ADD(" or %u", m->rc_alt[i]);
	}
	if (m->has_session_present)
		ADD(" session_present=%d", m->session_present);
	if (m->has_id)
		ADD(" id=%u", m->id);
	if (m->first)
		ADD(" as the first packet of the connection");
	if (m->id_same)
		ADD(" with the id of the last packet expected");
	if (m->codes) {
		ADD(" codes=");
		for (size_t i = 0; i < m->ncodes; i++)
			ADD("%s0x%02X", i ? "," : "", m->codes[i]);
	}
	const sc_props *sp = m->props;
	for (unsigned id = 1; sp && id < SC_PROP_IDS; id++) {
		uint64_t bit = (uint64_t)1 << id;
		const char *key = sc_prop_name(id);
		if (!key || !((sp->present | sp->any | sp->absent) & bit))
			continue;
		if (sp->absent & bit)
			ADD(" no %s", key);
		else if (sp->any & bit)
			ADD(" with %s", key);
		else if (id == MQTT_PROP_USER)
			ADD(" %s=%zu pairs", key, sp->nuser);
		else if (id == MQTT_PROP_SUBSCRIPTION_ID)
			for (size_t i = 0; i < sp->nsub_ids; i++)
				ADD(" %s=%u", key, (unsigned)sp->sub_ids[i]);
		else if (sp->str[id])
			ADD(" %s=\"%.40s\"", key, sp->str[id]);
		else
			ADD(" %s=%u", key, (unsigned)sp->num[id]);
	}
#undef ADD
}
