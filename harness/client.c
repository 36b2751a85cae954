/*
 * client.c - see client.h.
 */
#include "harness/client.h"
#include "mqtt/alloc.h"

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
	c->version = MQTT_V311;
}

void hclient_reset(hclient *c)
{
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
	}
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
	uint8_t *buf = n <= sizeof small ? small : malloc(n);
	if (!buf)
		abort();
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
	if (m->has_rc && r->rc != m->rc)
		return false;
	if (m->has_session_present && r->session_present != m->session_present)
		return false;
	if (m->has_id && r->id != m->id)
		return false;
	if (m->codes && (r->ncodes != m->ncodes || memcmp(r->codes, m->codes, m->ncodes)))
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
	if (m->has_rc)
		ADD(" rc=%u", m->rc);
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
#undef ADD
}
