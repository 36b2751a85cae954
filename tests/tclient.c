/*
 * tclient.c - see tclient.h.
 */
#include "tclient.h"

#include "tests.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void on_connect(sim_sock *s, int err, void *ctx)
{
	(void)s;
	tclient *c = ctx;
	c->connect_err = err;
}

static void on_readable(sim_sock *s, void *ctx)
{
	tclient *c = ctx;
	for (;;) {
		long n = sim_sock_read(s, c->rx + c->rx_len, sizeof c->rx - c->rx_len);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			c->closed = true;
			c->close_err = n;
			break;
		}
		c->rx_len += (size_t)n;
	}
	size_t pos = 0;
	while (pos < c->rx_len) {
		mqtt_packet p;
		mqtt_err e;
		char line[1024];
		int n = mqtt_decode(c->rx + pos, c->rx_len - pos, c->version ? c->version : MQTT_V311, 0, &p, &e);
		if (n == 0)
			break;
		if (n < 0) {
			snprintf(line, sizeof line, "BAD [%s] %s", e.stmt, e.msg);
			n = (int)(c->rx_len - pos);
		} else {
			mqtt_print(&p, line, sizeof line);
			/* Authentication Data is printed as its length; SCRAM's is text, which a
			 * test wants to read and answer: kept, and shown whole. */
			if (MQTT_HAS(&p.props, MQTT_PROP_AUTH_DATA) && p.props.auth_data.len < sizeof c->auth_data) {
				memcpy(c->auth_data, p.props.auth_data.data, p.props.auth_data.len);
				c->auth_data[p.props.auth_data.len] = 0;
				size_t l = strlen(line);
				snprintf(line + l, sizeof line - l, " data=\"%.400s\"", c->auth_data);
			}
		}
		if (c->nlines < TC_MAX_LINES)
			c->lines[c->nlines++] = strdup(line);
		pos += (size_t)n;
	}
	memmove(c->rx, c->rx + pos, c->rx_len - pos);
	c->rx_len -= pos;
}

static const sim_sock_ops ops = { on_connect, on_readable, NULL };

void tc_run(sim_world *w, int64_t us)
{
	sim_run(w, sim_now(w) + us, 0);
}

tclient *tc_new(sim_world *w, const char *name, sim_host *broker, uint16_t port)
{
	tclient *c = calloc(1, sizeof *c);
	ck_assert_ptr_nonnull(c);
	c->w = w;
	c->h = sim_host_find(w, name);
	if (!c->h)
		c->h = sim_host_add(w, name);
	c->connect_err = 1;
	c->s = sim_connect(c->h, broker, port, &ops, c);
	for (int i = 0; i < 100 && c->connect_err == 1; i++)
		tc_run(w, 10000);
	ck_assert_msg(c->connect_err == 0, "%s could not connect: %d", name, c->connect_err);
	return c;
}

void tc_free(tclient *c)
{
	for (int i = 0; i < c->nlines; i++)
		free(c->lines[i]);
	if (c->s && !c->closed)
		sim_sock_abort(c->s);
	else if (c->s)
		sim_sock_close(c->s);
	free(c);
}

void tc_send(tclient *c, const mqtt_packet *p)
{
	uint8_t buf[4096];
	int n = mqtt_encode(p, buf, sizeof buf, NULL);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(sim_sock_write(c->s, buf, (size_t)n), n);
}

void tc_send_hex(tclient *c, const char *hex)
{
	uint8_t buf[4096];
	size_t n = unhex(hex, buf, sizeof buf);
	ck_assert_int_eq(sim_sock_write(c->s, buf, n), (long)n);
}

void tc_connect(tclient *c, const char *id, bool clean, uint16_t keepalive)
{
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V311 };
	p.connect.client_id = (mqtt_str){ (const uint8_t *)id, (uint32_t)strlen(id) };
	p.connect.clean_start = clean;
	p.connect.keepalive_s = keepalive;
	tc_send(c, &p);
}

void tc_connect5(tclient *c, const char *id, bool clean_start, uint16_t keepalive, const mqtt_props *props)
{
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V5 };
	p.connect.client_id = (mqtt_str){ (const uint8_t *)id, (uint32_t)strlen(id) };
	p.connect.clean_start = clean_start;
	p.connect.keepalive_s = keepalive;
	if (props)
		p.props = *props;
	c->version = MQTT_V5;
	tc_send(c, &p);
}

void tc_publish(tclient *c, const char *topic, const char *payload, uint8_t qos, bool retain, uint16_t id)
{
	mqtt_packet p = { .type = MQTT_PUBLISH, .version = c->version ? c->version : MQTT_V311, .packet_id = id };
	p.publish.qos = qos;
	p.publish.retain = retain;
	p.publish.topic = (mqtt_str){ (const uint8_t *)topic, (uint32_t)strlen(topic) };
	p.publish.payload = (mqtt_str){ (const uint8_t *)payload, (uint32_t)strlen(payload) };
	tc_send(c, &p);
}

void tc_subscribe(tclient *c, uint16_t id, const char *filter, uint8_t qos)
{
	mqtt_sub s = { .filter = { (const uint8_t *)filter, (uint32_t)strlen(filter) }, .qos = qos };
	mqtt_packet p = { .type = MQTT_SUBSCRIBE, .version = c->version ? c->version : MQTT_V311, .packet_id = id };
	p.subscribe.items = &s;
	p.subscribe.count = 1;
	tc_send(c, &p);
}

void tc_drop(tclient *c)
{
	sim_sock_abort(c->s);
	c->s = NULL;
	c->closed = true;
}

const char *tc_next(tclient *c)
{
	return c->seen < c->nlines ? c->lines[c->seen++] : NULL;
}
