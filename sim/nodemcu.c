/*
 * nodemcu.c - see nodemcu.h.
 *
 * One node is a small state machine driven by three timers:
 *   life   - boot, Wi-Fi association, the next connect attempt, deep sleep and wake;
 *   ka     - whatever the connection is waiting for: the TCP connect timeout, the CONNACK
 *            timeout (the socket timeout), or the keepalive check. It is re-armed lazily:
 *            sending or receiving only moves a timestamp, and the timer, when it fires,
 *            works out the real deadline and sleeps again if it is still ahead. That keeps
 *            a busy node's traffic from churning the event heap;
 *   wifi   - the next random Wi-Fi drop-out.
 * plus one timer per sensor. Received bytes are parsed straight out of a stack buffer; a
 * node keeps a heap buffer only for a packet split across reads.
 */
#include "sim/nodemcu.h"
#include "mqtt/alloc.h"
#include "sim/world.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum nm_state {
	ST_OFF = 0,      /* not booted yet, asleep, or Wi-Fi down */
	ST_WIFI,         /* associating */
	ST_IDLE,         /* Wi-Fi up, waiting to try MQTT */
	ST_TCP,          /* TCP connecting */
	ST_MQTT,         /* CONNECT sent, waiting for CONNACK */
	ST_UP,           /* connected */
};

/* A queued message (Lua's send queue). */
typedef struct nm_msg {
	struct nm_msg *next;
	uint16_t id;
	uint8_t qos;
	bool retain;
	uint16_t topic_len;
	uint32_t payload_len;
	uint8_t data[];  /* topic then payload */
} nm_msg;

typedef struct nm_sensor_rt {
	sim_timer t;
	nm_node *n;
	uint32_t k;
	uint32_t seq;
	sensor_state st;
	sim_rng rng;
	float *hist;     /* JSON batch: the last readings, allocated when batch > 1 */
	uint16_t hlen;
} nm_sensor_rt;

struct nm_node {
	nm_fleet *f;
	const nm_config *c;
	int entry;
	uint32_t inst;
	sim_host *h;
	sim_sock *s;
	uint8_t state;
	bool wifi_up, ping_out, watched, pending_sleep;
	bool block_head;  /* the first node of an nm_fleet_add() allocation */
	bool radio_cut;   /* we partitioned node <-> broker (asleep or Wi-Fi down) */
	bool subscribed;  /* since boot: for subscribe_once sketches */
	uint16_t next_id;
	sim_us boot_at, last_in, last_out, wait_from, wifi_back_at;
	sim_timer life, ka, wifi;
	sim_rng rng;     /* "node/<id>/wifi" */
	uint8_t *rx;     /* a partial packet */
	uint32_t rx_len, rx_cap;
	uint32_t skip;   /* bytes of an oversized packet still to throw away */
	nm_msg *q_head, *q_tail;
	uint16_t q_len;
	bool q_wait;     /* the head was sent and waits for its acknowledgement */
	uint8_t q_stage; /* QoS 2: 1 waiting PUBREC, 2 waiting PUBCOMP */
	nm_sensor_rt *sr;
	nm_stats st;
};

struct nm_fleet {
	sim_world *w;
	sim_host *broker;
	uint16_t port;
	nm_node **nodes;  /* blocks, one per nm_fleet_add, for stable addresses */
	size_t n, cap;
	nm_hooks hooks;
	void *hooks_ctx;
	size_t bytes;
	bool started;
};

/* ---- profiles --------------------------------------------------------------------------- */

void nm_profile_defaults(nm_profile *p, int fw)
{
	memset(p, 0, sizeof *p);
	p->firmware = fw;
	p->connect_timeout_us = SIM_S(5);
	if (fw == NM_NODEMCU_LUA) {
		p->buffer_size = 1024;
		p->keepalive_s = 60;
		p->socket_timeout_us = SIM_S(10);
		p->reconnect_us = SIM_S(10);
		p->max_pub_qos = 2;
		p->max_sub_qos = 2;
		p->queue_max = 64;
	} else {
		p->firmware = NM_PUBSUBCLIENT;
		p->buffer_size = 256;
		p->limit_outgoing = true;
		p->keepalive_s = 15;
		p->socket_timeout_us = SIM_S(15);
		p->reconnect_us = SIM_S(5);
		p->reconnect_at_once = true;
		p->ping_on_rx_idle = true;
		p->max_pub_qos = 0;
		p->max_sub_qos = 1;
	}
}

const char *nm_firmware_name(int fw)
{
	return fw == NM_NODEMCU_LUA ? "nodemcu-lua" : fw == NM_PUBSUBCLIENT ? "pubsubclient" : "?";
}

int nm_firmware_parse(const char *name)
{
	if (!strcmp(name, "pubsubclient"))
		return NM_PUBSUBCLIENT;
	if (!strcmp(name, "nodemcu-lua"))
		return NM_NODEMCU_LUA;
	return 0;
}

void nm_config_defaults(nm_config *c, int fw)
{
	memset(c, 0, sizeof *c);
	c->count = 1;
	nm_profile_defaults(&c->fw, fw);
	c->clean_session = true;
	c->assoc_us = SIM_S(3);
	c->assoc_jitter_us = SIM_MS(1500);
	c->drop_mean_us = SIM_S(20);
	c->awake_us = SIM_S(2);
	c->awake_max_us = SIM_S(30);
	c->disconnect_before_sleep = true;
}

bool nm_expand(const char *t, uint32_t inst, char *out, size_t cap)
{
	size_t n = 0;
	while (*t) {
		if (t[0] == '{' && t[1] == 'i' && t[2] == '}') {
			int k = snprintf(out + n, cap - n, "%u", inst);
			if (k < 0 || (size_t)k >= cap - n)
				return false;
			n += (size_t)k;
			t += 3;
			continue;
		}
		if (n + 1 >= cap)
			return false;
		out[n++] = *t++;
	}
	out[n] = 0;
	return true;
}

/* ---- small helpers ------------------------------------------------------------------------ */

static sim_world *W(const nm_node *n)
{
	return n->f->w;
}

static void trace(nm_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(nm_node *n, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	if (W(n)->trace_off)
		return; /* skip the formatting too: fleets are large */
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	sim_trace(W(n), sim_host_name(n->h), n->s ? sim_sock_id(n->s) : 0, "node", "%s", line);
}

static uint16_t next_id(nm_node *n)
{
	n->next_id = (uint16_t)(n->next_id == 65535 ? 1 : n->next_id + 1);
	return n->next_id;
}

/* Encode and write. False if the socket would not take it all (then the connection is
 * treated as broken: the ESP8266 core's write returns short and the libraries give up). */
static bool send_packet(nm_node *n, const mqtt_packet *p)
{
	if (!n->s)
		return false;
	uint8_t small[1024];
	size_t len = mqtt_encoded_size(p);
	if (!len)
		return false;
	uint8_t *buf = len <= sizeof small ? small : mqtt_xcalloc(1, len);
	int w = mqtt_encode(p, buf, len, NULL);
	long r = w > 0 ? sim_sock_write(n->s, buf, (size_t)w) : -1;
	if (buf != small)
		free(buf);
	if (r != w)
		return false;
	n->last_out = sim_now(W(n));
	return true;
}

static void arm_life(nm_node *n, sim_us delay)
{
	sim_timer_after(W(n), &n->life, delay < 0 ? 0 : delay);
}

static void queue_clear(nm_node *n, bool count)
{
	for (nm_msg *m = n->q_head, *nx; m; m = nx) {
		nx = m->next;
		if (count)
			n->st.discarded++;
		free(m);
	}
	n->q_head = n->q_tail = NULL;
	n->q_len = 0;
	n->q_wait = false;
	n->q_stage = 0;
}

static void rx_clear(nm_node *n)
{
	free(n->rx);
	n->rx = NULL;
	n->rx_len = n->rx_cap = 0;
	n->skip = 0;
}

static void schedule_attempt(nm_node *n, sim_us delay);
static void go_sleep(nm_node *n);

/* What belonged to the connection that just ended goes: its keepalive timer, partial
 * input, the Lua send queue, an outstanding ping; a connection that was up counts a drop. */
static void forget_connection(nm_node *n, bool was_up)
{
	sim_timer_cancel(W(n), &n->ka);
	rx_clear(n);
	if (n->c->fw.firmware == NM_NODEMCU_LUA)
		queue_clear(n, true);
	n->ping_out = false;
	if (was_up) {
		n->st.drops++;
		n->st.last_drop_us = sim_now(W(n));
	}
}

/* The MQTT connection is over (error, timeout, EOF): close the socket, drop what belongs
 * to it, and let the sketch's reconnect logic take over. */
static void lost(nm_node *n, const char *why, bool abort_sock)
{
	bool was_up = n->state == ST_UP;
	if (n->s) {
		if (abort_sock)
			sim_sock_abort(n->s);
		else
			sim_sock_close(n->s);
		n->s = NULL;
	}
	forget_connection(n, was_up);
	trace(n, "%s: %s", was_up ? "connection lost" : "connect failed", why);
	n->state = n->wifi_up ? ST_IDLE : ST_OFF;
	if (!n->wifi_up)
		return;
	if (n->pending_sleep) {
		go_sleep(n);
		return;
	}
	bool at_once = was_up && n->c->fw.reconnect_at_once;
	schedule_attempt(n, at_once ? 0 : n->c->fw.reconnect_us);
}

/* ---- the keepalive / timeout timer --------------------------------------------------------- */

static sim_us ka_deadline(const nm_node *n)
{
	const nm_profile *p = &n->c->fw;
	if (n->state == ST_TCP)
		return n->wait_from + p->connect_timeout_us;
	if (n->state == ST_MQTT)
		return n->wait_from + p->socket_timeout_us;
	if (n->state != ST_UP || !p->keepalive_s)
		return SIM_FOREVER;
	sim_us ka = SIM_S(p->keepalive_s);
	if (p->ping_on_rx_idle) /* PubSubClient: min(last in, last out) + keepalive */
		return (n->last_in < n->last_out ? n->last_in : n->last_out) + ka;
	return (n->ping_out ? n->wait_from : n->last_out) + ka;
}

static void ka_fire(sim_world *w, sim_timer *t)
{
	nm_node *n = t->arg;
	sim_us dl = ka_deadline(n), now = sim_now(w);
	if (dl == SIM_FOREVER)
		return;
	if (now < dl) {
		sim_timer_arm(w, t, dl);
		return;
	}
	if (n->state == ST_TCP) {
		lost(n, "TCP connect timed out", true);
		return;
	}
	if (n->state == ST_MQTT) {
		lost(n, "no CONNACK within the socket timeout", true);
		return;
	}
	if (n->ping_out) {
		n->st.ping_timeouts++;
		lost(n, "PINGREQ unanswered for a keepalive", false);
		return;
	}
	mqtt_packet p = { .type = MQTT_PINGREQ, .version = MQTT_V311 };
	if (!send_packet(n, &p)) {
		lost(n, "write failed", true);
		return;
	}
	n->ping_out = true;
	n->wait_from = now;
	if (n->c->fw.ping_on_rx_idle)
		n->last_in = n->last_out = now; /* PubSubClient resets both when it pings */
	sim_timer_arm(w, t, ka_deadline(n));
}

/* ---- connecting ----------------------------------------------------------------------------- */

static void send_connect(nm_node *n)
{
	const nm_config *c = n->c;
	char cid[NM_MAX_TEMPLATE], wt[NM_MAX_TEMPLATE];
	nm_expand(c->client_id ? c->client_id : c->id, n->inst, cid, sizeof cid);
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V311 };
	p.connect.client_id = (mqtt_str){ (const uint8_t *)cid, (uint32_t)strlen(cid) };
	p.connect.clean_start = c->clean_session;
	p.connect.keepalive_s = c->fw.keepalive_s;
	if (c->has_will) {
		nm_expand(c->will_topic, n->inst, wt, sizeof wt);
		const char *wp = c->will_payload ? c->will_payload : "";
		p.connect.will = true;
		p.connect.will_qos = c->will_qos;
		p.connect.will_retain = c->will_retain;
		p.connect.will_topic = (mqtt_str){ (const uint8_t *)wt, (uint32_t)strlen(wt) };
		p.connect.will_payload = (mqtt_str){ (const uint8_t *)wp, (uint32_t)strlen(wp) };
	}
	if (!send_packet(n, &p)) {
		lost(n, "write failed", true);
		return;
	}
	n->state = ST_MQTT;
	n->wait_from = sim_now(W(n));
	sim_timer_arm(W(n), &n->ka, ka_deadline(n));
}

static void on_connect(sim_sock *s, int err, void *ctx)
{
	nm_node *n = ctx;
	(void)s;
	if (err) {
		n->s = NULL;
		sim_sock_close(s);
		lost(n, strerror(-err), false);
		return;
	}
	send_connect(n);
}

static void on_readable(sim_sock *s, void *ctx);
static const sim_sock_ops node_ops = { on_connect, on_readable, NULL };

static void attempt(nm_node *n)
{
	n->st.attempts++;
	n->state = ST_TCP;
	n->wait_from = sim_now(W(n));
	n->s = sim_connect(n->h, n->f->broker, n->f->port, &node_ops, n);
	sim_timer_arm(W(n), &n->ka, ka_deadline(n));
}

static void schedule_attempt(nm_node *n, sim_us delay)
{
	n->state = ST_IDLE;
	arm_life(n, delay);
}

/* ---- publishing ------------------------------------------------------------------------------ */

static void emit(nm_node *n, const char *topic, const uint8_t *pl, size_t len, uint8_t qos, int outcome)
{
	if (n->watched && n->f->hooks.on_publish)
		n->f->hooks.on_publish(n->f->hooks_ctx, n, topic, pl, len, qos, outcome);
}

static bool write_publish(nm_node *n, const char *topic, size_t tl, const uint8_t *pl, size_t len,
			  uint8_t qos, bool retain, uint16_t id, bool dup)
{
	mqtt_packet p = { .type = MQTT_PUBLISH, .version = MQTT_V311, .packet_id = qos ? id : 0 };
	p.publish.qos = qos;
	p.publish.retain = retain;
	p.publish.dup = dup;
	p.publish.topic = (mqtt_str){ (const uint8_t *)topic, (uint32_t)tl };
	p.publish.payload = (mqtt_str){ pl, (uint32_t)len };
	if (!send_packet(n, &p))
		return false;
	n->st.published++;
	return true;
}

/* Lua: send the queue's head if nothing is in flight; QoS 0 needs no acknowledgement. */
static void queue_pump(nm_node *n)
{
	while (n->q_head && !n->q_wait && n->state == ST_UP) {
		nm_msg *m = n->q_head;
		if (m->qos)
			m->id = next_id(n);
		if (!write_publish(n, (const char *)m->data, m->topic_len, m->data + m->topic_len, m->payload_len,
				   m->qos, m->retain, m->id, false)) {
			lost(n, "write failed", true);
			return;
		}
		if (m->qos) {
			n->q_wait = true;
			n->q_stage = 1;
			return;
		}
		n->q_head = m->next;
		if (!n->q_head)
			n->q_tail = NULL;
		n->q_len--;
		free(m);
	}
}

static void queue_ack(nm_node *n, uint8_t type, uint16_t id)
{
	nm_msg *m = n->q_head;
	if (!m || !n->q_wait || m->id != id)
		return;
	if (type == MQTT_PUBREC && m->qos == 2 && n->q_stage == 1) {
		mqtt_packet r = { .type = MQTT_PUBREL, .version = MQTT_V311, .packet_id = id };
		if (!send_packet(n, &r)) {
			lost(n, "write failed", true);
			return;
		}
		n->q_stage = 2;
		return;
	}
	if ((type == MQTT_PUBACK && m->qos == 1) || (type == MQTT_PUBCOMP && m->qos == 2 && n->q_stage == 2)) {
		n->q_head = m->next;
		if (!n->q_head)
			n->q_tail = NULL;
		n->q_len--;
		n->q_wait = false;
		n->q_stage = 0;
		free(m);
		queue_pump(n);
	}
}

/* What the sketch does with a reading's message. */
static void publish(nm_node *n, const char *topic, const uint8_t *pl, size_t len, uint8_t qos, bool retain)
{
	const nm_profile *p = &n->c->fw;
	size_t tl = strlen(topic);
	if (p->firmware == NM_PUBSUBCLIENT) {
		/* The library checks the size before it checks the connection. */
		if (p->limit_outgoing && 5 + 2 + tl + len > p->buffer_size) {
			n->st.refused++;
			trace(n, "publish refused: %zu bytes do not fit the %u-byte buffer (publish() returns false)",
			      5 + 2 + tl + len, p->buffer_size);
			emit(n, topic, pl, len, qos, NM_REFUSED);
			return;
		}
		if (n->state != ST_UP) {
			n->st.offline++;
			emit(n, topic, pl, len, qos, NM_OFFLINE);
			return;
		}
		emit(n, topic, pl, len, qos, NM_SENT);
		if (!write_publish(n, topic, tl, pl, len, 0, retain, 0, false))
			lost(n, "write failed", true);
		return;
	}
	/* nodemcu-lua: m:publish() fails when not connected; else the message joins the queue. */
	if (n->state != ST_UP) {
		n->st.offline++;
		emit(n, topic, pl, len, qos, NM_OFFLINE);
		return;
	}
	if (n->q_len >= p->queue_max) {
		n->st.discarded++;
		emit(n, topic, pl, len, qos, NM_QUEUE_FULL);
		return;
	}
	nm_msg *m = mqtt_xcalloc(1, sizeof *m + tl + len);
	m->qos = qos;
	m->retain = retain;
	m->topic_len = (uint16_t)tl;
	m->payload_len = (uint32_t)len;
	memcpy(m->data, topic, tl);
	if (len)
		memcpy(m->data + tl, pl, len);
	if (n->q_tail)
		n->q_tail->next = m;
	else
		n->q_head = m;
	n->q_tail = m;
	n->q_len++;
	emit(n, topic, pl, len, qos, NM_QUEUED);
	queue_pump(n);
}

/* ---- sensors --------------------------------------------------------------------------------- */

static void take_reading(nm_node *n, nm_sensor_rt *r)
{
	const nm_sensor *cs = &n->c->sensors[r->k];
	sensor_reading rd = sensor_read(&cs->s, &r->st, &r->rng, sim_now(W(n)));
	n->st.readings++;
	r->seq++;
	char topic[NM_MAX_TEMPLATE];
	nm_expand(cs->topic, n->inst, topic, sizeof topic);
	char buf[2048];
	int len;
	char val[32];
	sensor_format_value(&cs->s, rd.value, val, sizeof val);
	if (cs->format == FORMAT_JSON) {
		if (cs->batch > 1) {
			if (r->hlen == cs->batch) {
				memmove(r->hist, r->hist + 1, (size_t)(cs->batch - 1) * sizeof *r->hist);
				r->hlen--;
			}
			r->hist[r->hlen++] = (float)rd.value;
		}
		len = snprintf(buf, sizeof buf, "{\"node\":\"%s\",\"boot\":%u,\"seq\":%u,\"raw\":%u,\"value\":%s",
			       sim_host_name(n->h), n->st.boots, r->seq, rd.raw, val);
		if (cs->batch > 1) {
			len += snprintf(buf + len, sizeof buf - (size_t)len, ",\"last\":[");
			for (uint16_t i = 0; i < r->hlen && (size_t)len < sizeof buf - 40; i++) {
				char v[32];
				sensor_format_value(&cs->s, r->hist[i], v, sizeof v);
				len += snprintf(buf + len, sizeof buf - (size_t)len, "%s%s", i ? "," : "", v);
			}
			len += snprintf(buf + len, sizeof buf - (size_t)len, "]");
		}
		len += snprintf(buf + len, sizeof buf - (size_t)len, "}");
	} else {
		len = snprintf(buf, sizeof buf, "%s", val);
	}
	if (len < 0 || (size_t)len >= sizeof buf)
		len = (int)strlen(buf);
	trace(n, "read %s raw=%u value=%s", cs->s.type == SENSOR_SOIL ? "soil" : "tmp36", rd.raw, val);
	publish(n, topic, (const uint8_t *)buf, (size_t)len, cs->qos, cs->retain);
}

static void sensor_fire(sim_world *w, sim_timer *t)
{
	nm_sensor_rt *r = t->arg;
	nm_node *n = r->n;
	take_reading(n, r);
	if (!n->c->sleep_us)
		sim_timer_after(w, t, n->c->sensors[r->k].every_us);
}

/* ---- received packets ------------------------------------------------------------------------- */

static void got_packet(nm_node *n, const mqtt_packet *p)
{
	switch (p->type) {
	case MQTT_CONNACK:
		if (n->state != ST_MQTT)
			return;
		if (p->reason != 0) {
			lost(n, "CONNACK refused the connection", false);
			return;
		}
		n->state = ST_UP;
		n->st.connects++;
		n->st.last_connect_us = sim_now(W(n));
		n->ping_out = false;
		n->last_in = n->last_out = sim_now(W(n));
		trace(n, "connected (attempt %u, session present %d)", n->st.attempts, p->session_present);
		/* The usual sketch subscribes after every connect, session or not; one that does it
		 * in setup() only subscribes after the first connect of a boot. */
		bool resub = !(n->c->subscribe_once && n->subscribed);
		n->subscribed = true;
		for (uint32_t i = 0; resub && i < n->c->nsubs && n->s; i++) {
			char f[NM_MAX_TEMPLATE];
			nm_expand(n->c->subs[i].filter, n->inst, f, sizeof f);
			mqtt_sub sub = { .filter = { (const uint8_t *)f, (uint32_t)strlen(f) }, .qos = n->c->subs[i].qos };
			mqtt_packet s = { .type = MQTT_SUBSCRIBE, .version = MQTT_V311, .packet_id = next_id(n) };
			s.subscribe.items = &sub;
			s.subscribe.count = 1;
			if (!send_packet(n, &s)) {
				lost(n, "write failed", true);
				return;
			}
		}
		sim_timer_arm(W(n), &n->ka, ka_deadline(n));
		if (n->c->sleep_us) {
			/* One reading per wake, then sleep after the awake time. */
			for (uint32_t k = 0; k < n->c->nsensors && n->state == ST_UP; k++)
				take_reading(n, &n->sr[k]);
			n->pending_sleep = false;
			arm_life(n, n->c->awake_us);
		}
		queue_pump(n);
		return;
	case MQTT_PINGRESP:
		n->ping_out = false;
		return;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBCOMP:
		queue_ack(n, p->type, p->packet_id);
		return;
	case MQTT_PUBREL: {
		mqtt_packet a = { .type = MQTT_PUBCOMP, .version = MQTT_V311, .packet_id = p->packet_id };
		if (!send_packet(n, &a))
			lost(n, "write failed", true);
		return;
	}
	case MQTT_PUBLISH: {
		n->st.received++;
		if (n->watched && n->f->hooks.on_message)
			n->f->hooks.on_message(n->f->hooks_ctx, n, p);
		if (p->publish.qos) {
			mqtt_packet a = { .type = p->publish.qos == 1 ? MQTT_PUBACK : MQTT_PUBREC,
					  .version = MQTT_V311, .packet_id = p->packet_id };
			if (!send_packet(n, &a))
				lost(n, "write failed", true);
		}
		return;
	}
	default:
		return;
	}
}

/* Consume whole packets from buf; returns bytes used (the rest is a partial packet), or -1
 * when the connection was dropped. */
static long parse(nm_node *n, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		if (n->skip) {
			size_t k = len - off < n->skip ? len - off : n->skip;
			n->skip -= (uint32_t)k;
			off += k;
			continue;
		}
		uint32_t total = 0;
		int fr = mqtt_frame(buf + off, len - off, &total);
		if (fr < 0) {
			lost(n, "undecodable bytes from the broker", true);
			return -1;
		}
		if (fr == 0)
			break;
		if (total > n->c->fw.buffer_size && (buf[off] >> 4) == MQTT_PUBLISH) {
			/* Too big for the firmware: read and thrown away. */
			n->st.oversized_in++;
			trace(n, "incoming PUBLISH of %u bytes dropped: larger than the %u-byte limit", total,
			      n->c->fw.buffer_size);
			n->skip = total;
			continue;
		}
		if (len - off < total)
			break;
		mqtt_packet p;
		int d = mqtt_decode(buf + off, total, MQTT_V311, 0, &p, NULL);
		if (d <= 0) {
			lost(n, "undecodable packet from the broker", true);
			return -1;
		}
		off += total;
		n->last_in = sim_now(W(n));
		got_packet(n, &p);
		if (!n->s)
			return -1;
	}
	return (long)off;
}

static void on_readable(sim_sock *s, void *ctx)
{
	nm_node *n = ctx;
	uint8_t buf[4096];
	for (;;) {
		long r = sim_sock_read(s, buf, sizeof buf);
		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			lost(n, r == 0 ? "the broker closed the connection" : strerror((int)-r), r != 0);
			return;
		}
		if (n->rx_len) {
			/* Continue a split packet: append, then parse from the heap buffer. */
			if (n->rx_len + (size_t)r > n->rx_cap) {
				n->rx_cap = (uint32_t)(n->rx_len + (size_t)r);
				uint8_t *nb = mqtt_xrealloc(n->rx, n->rx_cap);
				n->rx = nb;
			}
			memcpy(n->rx + n->rx_len, buf, (size_t)r);
			n->rx_len += (uint32_t)r;
			long used = parse(n, n->rx, n->rx_len);
			if (used < 0 || !n->s)
				return;
			memmove(n->rx, n->rx + used, n->rx_len - (size_t)used);
			n->rx_len -= (uint32_t)used;
			if (!n->rx_len)
				rx_clear(n);
		} else {
			long used = parse(n, buf, (size_t)r);
			if (used < 0 || !n->s)
				return;
			if ((size_t)used < (size_t)r) {
				n->rx_len = n->rx_cap = (uint32_t)((size_t)r - (size_t)used);
				n->rx = mqtt_xcalloc(1, n->rx_cap);
				memcpy(n->rx, buf + used, n->rx_len);
			}
		}
	}
}

/* ---- device life -------------------------------------------------------------------------------- */

/* The radio goes off: connections vanish without a word (the broker finds out by its
 * keepalive or when it next writes), and the node is unreachable until radio_on(). */
static void radio_off(nm_node *n, bool cut)
{
	if (n->s) {
		/* A host crash is exactly "every socket vanishes silently"; the node's own state
		 * is kept here, so it is restarted at once. */
		n->s = NULL;
		sim_host_crash(n->h);
		sim_host_restart(n->h);
	}
	/* Unreachable: what the broker sends is lost (and retried) rather than answered. Not
	 * needed after a clean DISCONNECT: then nothing more is on its way to the node, and the
	 * DISCONNECT and FIN must still leave. */
	if (cut && !n->radio_cut) {
		sim_net_partition(W(n), n->h, n->f->broker, false);
		n->radio_cut = true;
	}
	n->wifi_up = false;
	bool was_up = n->state == ST_UP;
	forget_connection(n, was_up);
	n->state = ST_OFF;
}

static void radio_on(nm_node *n)
{
	if (n->radio_cut)
		sim_net_heal(W(n), n->h, n->f->broker);
	n->radio_cut = false;
}

static sim_us assoc_delay(nm_node *n)
{
	const nm_config *c = n->c;
	sim_us mean = c->assoc_us, j = c->assoc_jitter_us;
	sim_us d = mean + (sim_us)sim_rng_uniform(&n->rng, -(double)j, (double)j);
	return d < 0 ? 0 : d;
}

static void boot(nm_node *n)
{
	sim_world *w = W(n);
	n->st.boots++;
	n->boot_at = sim_now(w);
	n->next_id = 0;
	n->pending_sleep = false;
	n->subscribed = false;
	radio_on(n);
	n->state = ST_WIFI;
	trace(n, "boot %u (%s), Wi-Fi associating", n->st.boots, nm_firmware_name(n->c->fw.firmware));
	arm_life(n, assoc_delay(n));
	if (!n->c->sleep_us) {
		for (uint32_t k = 0; k < n->c->nsensors; k++)
			sim_timer_after(w, &n->sr[k].t, n->c->sensors[k].every_us);
	}
}

static void go_sleep(nm_node *n)
{
	sim_world *w = W(n);
	bool clean = false;
	if (n->s && n->state == ST_UP && n->c->disconnect_before_sleep) {
		mqtt_packet d = { .type = MQTT_DISCONNECT, .version = MQTT_V311 };
		send_packet(n, &d);
		sim_sock_close(n->s);
		n->s = NULL;
		clean = true;
	}
	radio_off(n, !clean);
	/* RAM is lost; the RTC memory (boot counter) and the flash configuration stay. */
	queue_clear(n, false);
	for (uint32_t k = 0; k < n->c->nsensors; k++) {
		sim_timer_cancel(w, &n->sr[k].t);
		n->sr[k].hlen = 0;
	}
	n->st.sleeps++;
	n->pending_sleep = false;
	trace(n, "deep sleep for %lld ms", (long long)(n->c->sleep_us / 1000));
	n->state = ST_OFF;
	n->wifi_back_at = -1;
	sim_timer_arm(w, &n->life, sim_now(w) + n->c->sleep_us);
}

/* The life timer: what it means depends on the state. */
static void life_fire(sim_world *w, sim_timer *t)
{
	nm_node *n = t->arg;
	sim_us now = sim_now(w);
	switch (n->state) {
	case ST_OFF:
		if (n->wifi_back_at == -1 || !n->st.boots) {
			boot(n); /* power-up, or a wake from deep sleep: a reboot */
		} else {
			radio_on(n);
			n->state = ST_WIFI;
			arm_life(n, assoc_delay(n));
		}
		break;
	case ST_WIFI:
		n->wifi_up = true;
		n->st.wifi_assocs++;
		trace(n, "Wi-Fi associated");
		attempt(n);
		break;
	case ST_IDLE:
		if (n->c->sleep_us && now - n->boot_at >= n->c->awake_max_us) {
			go_sleep(n);
			break;
		}
		attempt(n);
		break;
	case ST_UP:
		if (n->c->sleep_us)
			go_sleep(n);
		break;
	default:
		/* Connecting: sleep waits for the attempt to end. */
		if (n->c->sleep_us)
			n->pending_sleep = true;
		break;
	}
	if (n->c->sleep_us && n->state != ST_OFF && n->state != ST_UP && !sim_timer_armed(&n->life)) {
		sim_us dl = n->boot_at + n->c->awake_max_us;
		if (dl > now)
			sim_timer_arm(w, &n->life, dl);
	}
}

void nm_node_wifi_down(nm_node *n, sim_us for_us)
{
	sim_world *w = W(n);
	if (n->state == ST_OFF)
		return; /* asleep, not booted yet, or already down */
	n->st.wifi_drops++;
	trace(n, "Wi-Fi lost%s", for_us ? "" : " for good");
	radio_off(n, true);
	sim_timer_cancel(w, &n->life);
	n->wifi_back_at = for_us ? sim_now(w) + for_us : SIM_FOREVER;
	if (for_us)
		sim_timer_arm(w, &n->life, n->wifi_back_at);
}

static void wifi_fire(sim_world *w, sim_timer *t)
{
	nm_node *n = t->arg;
	const nm_config *c = n->c;
	if (n->wifi_up && n->state != ST_OFF) {
		sim_us d = (sim_us)sim_rng_exponential(&n->rng, (double)c->drop_mean_us);
		nm_node_wifi_down(n, d > 0 ? d : 1);
	}
	sim_timer_after(w, t, (sim_us)sim_rng_exponential(&n->rng, 3600e6 / c->drops_per_hour) + 1);
}

/* ---- the fleet -------------------------------------------------------------------------------- */

nm_fleet *nm_fleet_new(sim_world *w, sim_host *broker, uint16_t port)
{
	nm_fleet *f = mqtt_xcalloc(1, sizeof *f);
	f->w = w;
	f->broker = broker;
	f->port = port;
	f->bytes = sizeof *f;
	return f;
}

void nm_fleet_set_hooks(nm_fleet *f, const nm_hooks *h, void *ctx)
{
	f->hooks = *h;
	f->hooks_ctx = ctx;
}

long nm_fleet_add(nm_fleet *f, const nm_config *c, int entry)
{
	uint32_t count = c->count ? c->count : 1;
	if (f->n + count > NM_MAX_NODES)
		return -1;
	if (f->n + count > f->cap) {
		size_t cap = f->cap ? f->cap : 16;
		while (cap < f->n + count)
			cap *= 2;
		nm_node **nn = mqtt_xrealloc(f->nodes, cap * sizeof *nn);
		f->nodes = nn;
		f->bytes += (cap - f->cap) * sizeof *nn;
		f->cap = cap;
	}
	long first = (long)f->n;
	nm_node *block = mqtt_xcalloc(count, sizeof *block);
	nm_sensor_rt *srs = c->nsensors ? mqtt_xcalloc((size_t)count * c->nsensors, sizeof *srs) : NULL;
	f->bytes += count * sizeof *block + (size_t)count * c->nsensors * sizeof *srs;
	for (uint32_t i = 0; i < count; i++) {
		nm_node *n = &block[i];
		n->f = f;
		n->c = c;
		n->block_head = i == 0;
		n->entry = entry;
		n->inst = c->count > 1 || strstr(c->id, "{i}") ? i + 1 : 0;
		char id[NM_MAX_TEMPLATE], name[NM_MAX_TEMPLATE + 32];
		nm_expand(c->id, n->inst, id, sizeof id);
		n->h = sim_host_add(f->w, id);
		n->wifi_back_at = -1;
		n->st.last_connect_us = n->st.last_drop_us = -1;
		sim_timer_init(&n->life, life_fire, n);
		sim_timer_init(&n->ka, ka_fire, n);
		sim_timer_init(&n->wifi, wifi_fire, n);
		snprintf(name, sizeof name, "node/%s/wifi", id);
		sim_rng_init(&n->rng, sim_world_seed(f->w), name);
		n->sr = srs ? srs + (size_t)i * c->nsensors : NULL;
		for (uint32_t k = 0; k < c->nsensors; k++) {
			nm_sensor_rt *r = &n->sr[k];
			r->n = n;
			r->k = k;
			sim_timer_init(&r->t, sensor_fire, r);
			snprintf(name, sizeof name, "node/%s/sensor/%u", id, k);
			sim_rng_init(&r->rng, sim_world_seed(f->w), name);
			if (c->sensors[k].format == FORMAT_JSON && c->sensors[k].batch > 1) {
				r->hist = mqtt_xcalloc(c->sensors[k].batch, sizeof *r->hist);
				f->bytes += c->sensors[k].batch * sizeof *r->hist;
			}
		}
		f->nodes[f->n++] = n;
	}
	return first;
}

void nm_fleet_start(nm_fleet *f)
{
	if (f->started)
		return;
	f->started = true;
	for (size_t i = 0; i < f->n; i++) {
		nm_node *n = f->nodes[i];
		sim_us at = 0;
		if (n->c->boot_spread_us > 0)
			at = (sim_us)sim_rng_below(&n->rng, (uint64_t)n->c->boot_spread_us);
		sim_timer_arm(f->w, &n->life, at);
		if (n->c->drops_per_hour > 0)
			sim_timer_arm(f->w, &n->wifi,
				      at + (sim_us)sim_rng_exponential(&n->rng, 3600e6 / n->c->drops_per_hour) + 1);
	}
}

void nm_fleet_free(nm_fleet *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		nm_node *n = f->nodes[i];
		sim_timer_cancel(f->w, &n->life);
		sim_timer_cancel(f->w, &n->ka);
		sim_timer_cancel(f->w, &n->wifi);
		for (uint32_t k = 0; k < n->c->nsensors; k++) {
			sim_timer_cancel(f->w, &n->sr[k].t);
			free(n->sr[k].hist);
		}
		if (n->s)
			sim_sock_abort(n->s);
		n->s = NULL;
		queue_clear(n, false);
		rx_clear(n);
	}
	/* Backwards: freeing a block's head frees the nodes after it, already passed. */
	for (size_t i = f->n; i-- > 0;) {
		nm_node *n = f->nodes[i];
		if (n->block_head) {
			free(n->sr);
			free(n);
		}
	}
	free(f->nodes);
	free(f);
}

size_t nm_fleet_count(const nm_fleet *f)
{
	return f->n;
}

nm_node *nm_fleet_node(nm_fleet *f, size_t i)
{
	return i < f->n ? f->nodes[i] : NULL;
}

size_t nm_fleet_bytes(const nm_fleet *f)
{
	return f->bytes;
}

sim_host *nm_node_host(const nm_node *n) { return n->h; }
const char *nm_node_id(const nm_node *n) { return sim_host_name(n->h); }
uint32_t nm_node_inst(const nm_node *n) { return n->inst; }
int nm_node_entry(const nm_node *n) { return n->entry; }
const nm_config *nm_node_config(const nm_node *n) { return n->c; }
const nm_stats *nm_node_stats(const nm_node *n) { return &n->st; }
bool nm_node_connected(const nm_node *n) { return n->state == ST_UP; }
void nm_node_watch(nm_node *n, bool on) { n->watched = on; }
