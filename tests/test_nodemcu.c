/*
 * test_nodemcu.c - simulated NodeMCU nodes: each firmware profile's limits and timers
 * (keepalive pings and their timeout, reconnect delays, buffer limits, the Lua send queue),
 * device life (Wi-Fi association, drop-outs, deep sleep), stream independence, memory per
 * node, and the loader's `nodes:` section (names, templates, errors).
 */
#include "tests.h"

#include "harness/broker_shell_sim.h"
#include "harness/scenario.h"
#include "sim/nodemcu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tw {
	sim_world *w;
	sim_host *bh;
	broker_sim *bs;
	nm_fleet *f;
} tw;

static void tw_open(tw *t, uint64_t seed)
{
	t->w = sim_world_new(seed);
	sim_trace_record(t->w, true, NULL, NULL);
	t->bh = sim_host_add(t->w, "broker");
	broker_config c;
	broker_config_init(&c);
	c.sys_interval_s = 0;
	t->bs = broker_sim_start(t->w, t->bh, 1883, &c);
	t->f = nm_fleet_new(t->w, t->bh, 1883);
}

static void tw_close(tw *t)
{
	nm_fleet_free(t->f);
	broker_sim_free(t->bs);
	sim_world_free(t->w);
}

/* Lines of the trace holding `what`. */
static int trace_count(sim_world *w, const char *what)
{
	size_t len;
	const char *t = sim_trace_text(w, &len);
	int n = 0;
	for (const char *p = t; p && (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static nm_sensor one_sensor(const char *topic, sim_us every, uint8_t qos)
{
	nm_sensor s = { .topic = (char *)topic, .every_us = every, .qos = qos, .batch = 1 };
	sensor_cfg_defaults(&s.s, SENSOR_TMP36);
	return s;
}

static nm_node *add(tw *t, nm_config *c)
{
	long i = nm_fleet_add(t->f, c, 0);
	ck_assert_int_ge(i, 0);
	return nm_fleet_node(t->f, (size_t)i);
}

/* ---- profiles ------------------------------------------------------------------------------- */

START_TEST(test_profile_defaults)
{
	nm_profile p;
	nm_profile_defaults(&p, NM_PUBSUBCLIENT);
	ck_assert_uint_eq(p.buffer_size, 256);
	ck_assert(p.limit_outgoing);
	ck_assert_uint_eq(p.keepalive_s, 15);
	ck_assert_int_eq(p.socket_timeout_us, SIM_S(15));
	ck_assert_int_eq(p.reconnect_us, SIM_S(5));
	ck_assert(p.reconnect_at_once && p.ping_on_rx_idle);
	ck_assert_uint_eq(p.max_pub_qos, 0);
	ck_assert_uint_eq(p.max_sub_qos, 1);
	ck_assert_uint_eq(p.queue_max, 0);
	nm_profile_defaults(&p, NM_NODEMCU_LUA);
	ck_assert_uint_eq(p.buffer_size, 1024);
	ck_assert(!p.limit_outgoing);
	ck_assert_uint_eq(p.keepalive_s, 60);
	ck_assert_int_eq(p.reconnect_us, SIM_S(10));
	ck_assert(!p.reconnect_at_once && !p.ping_on_rx_idle);
	ck_assert_uint_eq(p.max_pub_qos, 2);
	ck_assert_uint_eq(p.max_sub_qos, 2);
	ck_assert_uint_eq(p.queue_max, 64);
	nm_config c;
	nm_config_defaults(&c, NM_PUBSUBCLIENT);
	ck_assert(c.clean_session);
	ck_assert_int_eq(nm_firmware_parse("nodemcu-lua"), NM_NODEMCU_LUA);
	ck_assert_int_eq(nm_firmware_parse("esp-idf"), 0);
	char buf[32];
	ck_assert(nm_expand("g/{i}/t", 42, buf, sizeof buf));
	ck_assert_str_eq(buf, "g/42/t");
	ck_assert(!nm_expand("a-very-long-name-{i}", 1, buf, 8));
}
END_TEST

/* ---- Wi-Fi association -------------------------------------------------------------------- */

START_TEST(test_association_time)
{
	tw t;
	tw_open(&t, 3);
	nm_config dhcp, stat;
	nm_config_defaults(&dhcp, NM_PUBSUBCLIENT);
	dhcp.id = "dhcp-{i}";
	dhcp.count = 20;
	nm_config_defaults(&stat, NM_PUBSUBCLIENT);
	stat.id = "static-{i}";
	stat.count = 20;
	stat.static_ip = true;
	stat.assoc_us = SIM_MS(800);
	stat.assoc_jitter_us = SIM_MS(300);
	nm_fleet_add(t.f, &dhcp, 0);
	nm_fleet_add(t.f, &stat, 1);
	nm_fleet_start(t.f);
	sim_run(t.w, SIM_S(10), 0);
	sim_us lo = SIM_FOREVER, hi = 0;
	for (size_t i = 0; i < 40; i++) {
		const nm_stats *s = nm_node_stats(nm_fleet_node(t.f, i));
		ck_assert_uint_eq(s->connects, 1);
		sim_us at = s->last_connect_us; /* zero latency: CONNACK at association */
		if (i < 20)
			ck_assert_msg(at >= SIM_MS(1500) && at <= SIM_MS(4500), "dhcp %zu at %lld", i, (long long)at);
		else
			ck_assert_msg(at >= SIM_MS(500) && at <= SIM_MS(1100), "static %zu at %lld", i, (long long)at);
		if (i < 20 && at < lo)
			lo = at;
		if (i < 20 && at > hi)
			hi = at;
	}
	ck_assert_int_gt(hi - lo, SIM_MS(500)); /* jitter spreads them */
	tw_close(&t);
}
END_TEST

/* ---- keepalive ------------------------------------------------------------------------------ */

/* PubSubClient pings when nothing came in for a keepalive, even while it publishes at QoS 0;
 * the Lua module pings only when it has sent nothing. */
START_TEST(test_ping_cadence)
{
	tw t;
	tw_open(&t, 5);
	nm_sensor s1 = one_sensor("a/t", SIM_S(10), 0), s2 = one_sensor("b/t", SIM_S(10), 0);
	nm_config a, b, c;
	nm_config_defaults(&a, NM_PUBSUBCLIENT);
	a.id = "psc";
	a.sensors = &s1;
	a.nsensors = 1;
	nm_config_defaults(&b, NM_NODEMCU_LUA);
	b.id = "lua";
	b.sensors = &s2;
	b.nsensors = 1;
	nm_config_defaults(&c, NM_PUBSUBCLIENT);
	c.id = "idle";
	nm_node *na = add(&t, &a), *nb = add(&t, &b), *nc = add(&t, &c);
	nm_fleet_start(t.f);
	sim_run(t.w, SIM_S(100), 0);
	sim_us t0 = nm_node_stats(nc)->last_connect_us;
	int want = (int)((SIM_S(100) - t0) / SIM_S(15));
	/* PINGREQ lines: "<t> broker cN mqtt -> PINGREQ" per node connection; count per node by
	 * the node's own PINGRESP receipts instead. */
	ck_assert_int_eq(trace_count(t.w, "idle c3 mqtt <- PINGRESP") + trace_count(t.w, "idle c1 mqtt <- PINGRESP") +
				 trace_count(t.w, "idle c2 mqtt <- PINGRESP"), want);
	(void)na;
	(void)nb;
	size_t len;
	const char *text = sim_trace_text(t.w, &len);
	int psc = 0, lua = 0;
	for (const char *p = text; (p = strstr(p, "mqtt <- PINGRESP")); p++) {
		const char *ls = p;
		while (ls > text && ls[-1] != '\n')
			ls--;
		psc += strstr(ls, " psc ") && strstr(ls, " psc ") < p;
		lua += strstr(ls, " lua ") && strstr(ls, " lua ") < p;
	}
	ck_assert_int_ge(psc, 5);
	ck_assert_int_eq(lua, 0);
	ck_assert_uint_eq(nm_node_stats(na)->drops, 0);
	ck_assert_uint_eq(nm_node_stats(nb)->drops, 0);
	tw_close(&t);
}
END_TEST

/* A blackhole (half-open connection): PubSubClient's next ping goes unanswered and the
 * connection is dropped a keepalive after that ping, exactly. */
START_TEST(test_ping_timeout)
{
	tw t;
	tw_open(&t, 9);
	nm_config c;
	nm_config_defaults(&c, NM_PUBSUBCLIENT);
	c.id = "s1";
	nm_node *n = add(&t, &c);
	nm_fleet_start(t.f);
	sim_run(t.w, SIM_S(20), 0);
	sim_us t0 = nm_node_stats(n)->last_connect_us;
	ck_assert(t0 > 0 && t0 < SIM_S(5));
	sim_net_blackhole(t.w, nm_node_host(n), t.bh, false, true);
	sim_run(t.w, SIM_S(120), 0);
	const nm_stats *s = nm_node_stats(n);
	ck_assert_uint_eq(s->ping_timeouts, 1);
	/* pings at t0+15 (answered), t0+30 (lost); dropped at t0+45 */
	ck_assert_int_eq(s->last_drop_us, t0 + SIM_S(45));
	ck_assert(!nm_node_connected(n));
	ck_assert_uint_ge(s->attempts, 2); /* it keeps trying, in vain */
	tw_close(&t);
}
END_TEST

/* ---- reconnect timing ----------------------------------------------------------------------- */

START_TEST(test_reconnect_delay)
{
	tw t;
	tw_open(&t, 11);
	nm_config a, b;
	nm_config_defaults(&a, NM_PUBSUBCLIENT);
	a.id = "psc";
	nm_config_defaults(&b, NM_NODEMCU_LUA);
	b.id = "lua";
	nm_node *na = add(&t, &a), *nb = add(&t, &b);
	nm_fleet_start(t.f);
	sim_run(t.w, SIM_S(20), 0);
	ck_assert_int_eq(sim_net_reset(t.w, nm_node_host(na), t.bh), 1);
	ck_assert_int_eq(sim_net_reset(t.w, nm_node_host(nb), t.bh), 1);
	sim_run(t.w, SIM_S(60), 0);
	/* PubSubClient's sketch reconnects at once; the Lua offline timer waits 10 s. */
	ck_assert_uint_eq(nm_node_stats(na)->connects, 2);
	ck_assert_int_eq(nm_node_stats(na)->last_drop_us, SIM_S(20));
	ck_assert_int_eq(nm_node_stats(na)->last_connect_us, SIM_S(20));
	ck_assert_uint_eq(nm_node_stats(nb)->connects, 2);
	ck_assert_int_eq(nm_node_stats(nb)->last_connect_us, SIM_S(30));
	tw_close(&t);
}
END_TEST

/* While the broker is gone, PubSubClient tries every 5 s after each failed attempt. */
START_TEST(test_retry_cadence)
{
	tw t;
	tw_open(&t, 12);
	nm_config a;
	nm_config_defaults(&a, NM_PUBSUBCLIENT);
	a.id = "psc";
	nm_node *n = add(&t, &a);
	sim_host_crash(t.bh); /* nothing listens: each SYN is lost, the connect times out (5 s) */
	nm_fleet_start(t.f);
	sim_run(t.w, SIM_S(100), 0);
	const nm_stats *s = nm_node_stats(n);
	ck_assert_uint_eq(s->connects, 0);
	/* first attempt after association (~3 s), then every 5 s timeout + 5 s wait */
	ck_assert_msg(s->attempts >= 9 && s->attempts <= 10, "attempts %u", s->attempts);
	ck_assert_uint_eq(s->offline, 0);
	tw_close(&t);
}
END_TEST

/* ---- buffer limits -------------------------------------------------------------------------- */

/* A JSON batch that grows past PubSubClient's 256 bytes: publish() refuses it, silently,
 * from then on; a 1 KiB buffer takes it. */
START_TEST(test_buffer_outgrown)
{
	for (int big = 0; big <= 1; big++) {
		tw t;
		tw_open(&t, 13);
		nm_sensor s = one_sensor("greenhouse/1/temp", SIM_S(1), 0);
		s.format = FORMAT_JSON;
		s.batch = 40;
		nm_config c;
		nm_config_defaults(&c, NM_PUBSUBCLIENT);
		c.id = "s1";
		c.sensors = &s;
		c.nsensors = 1;
		if (big)
			c.fw.buffer_size = 1024;
		nm_node *n = add(&t, &c);
		nm_fleet_start(t.f);
		sim_run(t.w, SIM_S(60), 0);
		const nm_stats *st = nm_node_stats(n);
		ck_assert_uint_eq(st->readings, 60);
		ck_assert_uint_eq(st->published + st->refused + st->offline, st->readings);
		if (big) {
			ck_assert_uint_eq(st->refused, 0);
		} else {
			ck_assert_msg(st->refused >= 20 && st->published >= 10, "published %u refused %u", st->published,
				      st->refused);
			/* once refused, never published again: the batch only grows */
			ck_assert_int_eq(trace_count(t.w, "publish refused"), (int)st->refused);
		}
		ck_assert_uint_eq(st->drops, 0); /* nothing on the wire says anything is wrong */
		tw_close(&t);
	}
}
END_TEST

/* ---- the Lua send queue --------------------------------------------------------------------- */

/* QoS 1 with one message in flight: during a partition the queue grows behind the unacked
 * head; the keepalive drops the connection and the queue is discarded. */
START_TEST(test_lua_queue_discarded)
{
	tw t;
	tw_open(&t, 17);
	nm_sensor s = one_sensor("g/t", SIM_S(1), 1);
	nm_config c;
	nm_config_defaults(&c, NM_NODEMCU_LUA);
	c.id = "lua";
	c.fw.keepalive_s = 10;
	c.sensors = &s;
	c.nsensors = 1;
	nm_node *n = add(&t, &c);
	nm_fleet_start(t.f);
	sim_run(t.w, SIM_S(20), 0);
	ck_assert(nm_node_connected(n));
	sim_net_partition(t.w, nm_node_host(n), t.bh, false);
	sim_run(t.w, SIM_S(80), 0);
	sim_net_heal(t.w, nm_node_host(n), t.bh);
	sim_run(t.w, SIM_S(120), 0);
	const nm_stats *st = nm_node_stats(n);
	ck_assert_uint_eq(st->drops, 1);
	ck_assert_uint_eq(st->ping_timeouts, 1);
	/* the ping goes a keepalive after the last write (~20 s), unanswered for another: ~40 s */
	ck_assert_msg(st->last_drop_us > SIM_S(39) && st->last_drop_us <= SIM_S(41), "drop %lld",
		      (long long)st->last_drop_us);
	ck_assert_msg(st->discarded >= 15 && st->discarded <= 21, "discarded %u", st->discarded);
	ck_assert_uint_ge(st->offline, 30); /* readings while disconnected are refused */
	ck_assert_uint_eq(st->connects, 2);
	ck_assert(nm_node_connected(n));
	tw_close(&t);
}
END_TEST


/* ---- the CONNACK wait and incoming limits ---------------------------------------------------- */

static void mute_accept(sim_sock *s, void *ctx)
{
	(void)s;
	(void)ctx; /* accepts the connection and never answers: no CONNACK */
}

/* A broker that accepts TCP and never sends CONNACK: the socket timeout ends each attempt
 * (PubSubClient 15 s, then 5 s before the next; Lua 10 s, then 10 s). */
START_TEST(test_connack_timeout)
{
	for (int lua = 0; lua <= 1; lua++) {
		sim_world *w = sim_world_new(41);
		sim_host *mute = sim_host_add(w, "mute");
		ck_assert_int_eq(sim_listen(mute, 1883, mute_accept, NULL), 0);
		nm_fleet *f = nm_fleet_new(w, mute, 1883);
		nm_config c;
		nm_config_defaults(&c, lua ? NM_NODEMCU_LUA : NM_PUBSUBCLIENT);
		c.id = "n";
		c.static_ip = true;
		c.assoc_us = SIM_S(1);
		c.assoc_jitter_us = 0;
		nm_node *n = nm_fleet_node(f, (size_t)nm_fleet_add(f, &c, 0));
		nm_fleet_start(f);
		sim_us timeout = lua ? SIM_S(10) : SIM_S(15), wait = lua ? SIM_S(10) : SIM_S(5);
		sim_run(w, SIM_S(1) + timeout - 1, 0);
		ck_assert_uint_eq(nm_node_stats(n)->attempts, 1);
		sim_run(w, SIM_S(1) + timeout + wait - 1, 0);
		ck_assert_uint_eq(nm_node_stats(n)->attempts, 1);
		sim_run(w, SIM_S(1) + timeout + wait, 0);
		ck_assert_uint_eq(nm_node_stats(n)->attempts, 2);
		ck_assert_uint_eq(nm_node_stats(n)->connects, 0);
		nm_fleet_free(f);
		sim_world_free(w);
	}
}
END_TEST

typedef struct rawpub {
	const char *topic;
	size_t len;
	uint8_t qos;
} rawpub;

static void rawpub_connected(sim_sock *s, int err, void *ctx)
{
	rawpub *rp = ctx;
	ck_assert_int_eq(err, 0);
	uint8_t buf[4096], payload[2048];
	memset(payload, 'x', sizeof payload);
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V311 };
	p.connect.client_id = (mqtt_str){ (const uint8_t *)"rawpub", 6 };
	p.connect.clean_start = true;
	int n = mqtt_encode(&p, buf, sizeof buf, NULL);
	ck_assert_int_gt(n, 0);
	sim_sock_write(s, buf, (size_t)n);
	mqtt_packet q = { .type = MQTT_PUBLISH, .version = MQTT_V311, .packet_id = rp->qos ? 1 : 0 };
	q.publish.qos = rp->qos;
	q.publish.topic = (mqtt_str){ (const uint8_t *)rp->topic, (uint32_t)strlen(rp->topic) };
	q.publish.payload = (mqtt_str){ payload, (uint32_t)rp->len };
	n = mqtt_encode(&q, buf, sizeof buf, NULL);
	ck_assert_int_gt(n, 0);
	sim_sock_write(s, buf, (size_t)n);
}

static const sim_sock_ops rawpub_ops = { .on_connect = rawpub_connected };

/* Incoming messages larger than the firmware's limit are thrown away, unacknowledged:
 * PubSubClient at 256 bytes (the whole packet), Lua at 1024. */
START_TEST(test_incoming_limit)
{
	static const struct {
		int fw;
		size_t payload;
		bool dropped;
	} rows[] = {
		{ NM_PUBSUBCLIENT, 200, false }, { NM_PUBSUBCLIENT, 300, true },
		{ NM_NODEMCU_LUA, 900, false }, { NM_NODEMCU_LUA, 1100, true },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		tw t;
		tw_open(&t, 43);
		nm_sub sub = { .filter = "cmd/#", .qos = 1 };
		nm_config c;
		nm_config_defaults(&c, rows[i].fw);
		c.id = "n";
		c.subs = &sub;
		c.nsubs = 1;
		nm_node *n = add(&t, &c);
		nm_fleet_start(t.f);
		sim_run(t.w, SIM_S(10), 0);
		ck_assert(nm_node_connected(n));
		rawpub rp = { "cmd/big", rows[i].payload, 1 };
		sim_host *ph = sim_host_add(t.w, "pub");
		sim_connect(ph, t.bh, 1883, &rawpub_ops, &rp);
		sim_run(t.w, SIM_S(12), 0);
		const nm_stats *st = nm_node_stats(n);
		ck_assert_msg(st->oversized_in == (rows[i].dropped ? 1u : 0u) && st->received == (rows[i].dropped ? 0u : 1u),
			      "row %zu: oversized %u received %u", i, st->oversized_in, st->received);
		ck_assert(nm_node_connected(n)); /* a dropped message is not a dropped connection */
		/* the broker got a PUBACK (from the node) only for what the node took */
		ck_assert_int_eq(trace_count(t.w, "mqtt -> PUBACK"), rows[i].dropped ? 0 : 1);
		tw_close(&t);
	}
}
END_TEST

/* ---- deep sleep and Wi-Fi -------------------------------------------------------------------- */

START_TEST(test_deep_sleep)
{
	tw t;
	tw_open(&t, 19);
	nm_sensor s = one_sensor("g/t", SIM_S(10), 0);
	nm_config c;
	nm_config_defaults(&c, NM_PUBSUBCLIENT);
	c.id = "sleepy";
	c.sensors = &s;
	c.nsensors = 1;
	c.sleep_us = SIM_S(60);
	c.awake_us = SIM_S(2);
	nm_node *n = add(&t, &c);
	nm_fleet_start(t.f);
	sim_run(t.w, SIM_S(600), 0);
	const nm_stats *st = nm_node_stats(n);
	/* a cycle: association (1.5..4.5 s) + 2 s awake + 60 s asleep */
	ck_assert_msg(st->boots >= 9 && st->boots <= 10, "boots %u", st->boots);
	ck_assert_uint_ge(st->sleeps, st->boots - 1);
	ck_assert_uint_eq(st->connects, st->boots - (st->sleeps < st->boots && !nm_node_connected(n)));
	ck_assert_uint_eq(st->readings, st->connects); /* one reading per wake */
	/* each wake is a new TCP connection, ended by DISCONNECT: the broker saw each */
	ck_assert_int_eq(trace_count(t.w, "accept from sleepy"), (int)st->connects);
	ck_assert_int_eq(trace_count(t.w, "mqtt -> DISCONNECT"), (int)st->sleeps);
	ck_assert_int_eq(trace_count(t.w, "deep sleep for 60000 ms"), (int)st->sleeps);
	tw_close(&t);
}
END_TEST

START_TEST(test_wifi_drop)
{
	tw t;
	tw_open(&t, 23);
	nm_config c;
	nm_config_defaults(&c, NM_PUBSUBCLIENT);
	c.id = "s1";
	nm_node *n = add(&t, &c);
	nm_fleet_start(t.f);
	sim_run(t.w, SIM_S(20), 0);
	nm_node_wifi_down(n, SIM_S(30));
	ck_assert(!nm_node_connected(n));
	sim_run(t.w, SIM_S(45), 0);
	ck_assert_uint_eq(nm_node_stats(n)->connects, 1);
	sim_run(t.w, SIM_S(90), 0);
	const nm_stats *st = nm_node_stats(n);
	ck_assert_uint_eq(st->wifi_drops, 1);
	ck_assert_uint_eq(st->drops, 1);
	ck_assert_int_eq(st->last_drop_us, SIM_S(20));
	ck_assert_uint_eq(st->connects, 2);
	ck_assert_msg(st->last_connect_us >= SIM_S(50) + SIM_MS(1500) && st->last_connect_us <= SIM_S(50) + SIM_MS(4500),
		      "reconnected at %lld", (long long)st->last_connect_us);
	ck_assert_uint_eq(st->boots, 1); /* a drop-out is not a reboot */
	tw_close(&t);
}
END_TEST

/* Random drop-outs: about drops_per_hour of them, each followed by a reconnect. */
START_TEST(test_random_drops)
{
	uint32_t drops[2];
	for (int k = 0; k < 2; k++) {
		tw t;
		tw_open(&t, 47);
		nm_config c;
		nm_config_defaults(&c, NM_PUBSUBCLIENT);
		c.id = "flaky";
		c.drops_per_hour = 60;
		c.drop_mean_us = SIM_S(5);
		nm_node *n = add(&t, &c);
		nm_fleet_start(t.f);
		sim_run(t.w, SIM_S(3600), 0);
		const nm_stats *st = nm_node_stats(n);
		drops[k] = st->wifi_drops;
		ck_assert_msg(st->wifi_drops >= 35 && st->wifi_drops <= 85, "%u drops in an hour", st->wifi_drops);
		/* a drop-out ends the connection (unless it hits while connecting), and the node
		 * comes back after each */
		ck_assert_uint_le(st->drops, st->wifi_drops);
		ck_assert_uint_ge(st->drops + 2, st->wifi_drops);
		ck_assert_uint_ge(st->connects, st->wifi_drops);
		ck_assert_uint_le(st->connects, st->wifi_drops + 1);
		ck_assert_uint_eq(st->boots, 1);
		tw_close(&t);
	}
	ck_assert_uint_eq(drops[0], drops[1]); /* the same seed, the same drop-outs */
}
END_TEST

/* Adding a node does not move another node's random draws. */
START_TEST(test_streams_independent)
{
	sim_us at[2];
	for (int k = 0; k < 2; k++) {
		tw t;
		tw_open(&t, 29);
		nm_config other, a;
		nm_config_defaults(&other, NM_NODEMCU_LUA);
		other.id = "other-{i}";
		other.count = 50;
		nm_config_defaults(&a, NM_PUBSUBCLIENT);
		a.id = "a";
		if (k)
			nm_fleet_add(t.f, &other, 0);
		nm_node *n = add(&t, &a);
		nm_fleet_start(t.f);
		sim_run(t.w, SIM_S(10), 0);
		at[k] = nm_node_stats(n)->last_connect_us;
		tw_close(&t);
	}
	ck_assert_int_eq(at[0], at[1]);
}
END_TEST

START_TEST(test_memory_per_node)
{
	tw t;
	tw_open(&t, 31);
	nm_sensor s = one_sensor("g/{i}/t", SIM_S(10), 0);
	nm_config c;
	nm_config_defaults(&c, NM_PUBSUBCLIENT);
	c.id = "n-{i}";
	c.count = 1000;
	c.sensors = &s;
	c.nsensors = 1;
	nm_fleet_add(t.f, &c, 0);
	size_t per = nm_fleet_bytes(t.f) / 1000;
	ck_assert_msg(per < 1024, "%zu bytes per node", per);
	ck_assert_str_eq(nm_node_id(nm_fleet_node(t.f, 999)), "n-1000");
	tw_close(&t);
}
END_TEST

/* ---- the loader ------------------------------------------------------------------------------ */

#define NODE1 "name: t\nnodes:\n  - { id: s1, firmware: pubsubclient"

static const struct {
	const char *yaml;
	const char *err; /* the first error, without the file name */
} bad[] = {
	{ "name: t\nnodes:\n  - { id: s1, firmware: arduino }\n",
	  "3:25: 'firmware' must be one of pubsubclient, nodemcu-lua, got 'arduino'" },
	{ NODE1 ", sensors: [{ type: tmp36, topic: a/t, qos: 1 }] }\n",
	  "3:81: pubsubclient publishes at QoS 0 at most (PubSubClient's publish() has no QoS argument); got qos 1" },
	{ NODE1 ", subscribe: [{ filter: cmd/#, qos: 2 }] }\n",
	  "3:73: pubsubclient subscribes at QoS 1 at most; got qos 2" },
	{ NODE1 ", count: 5 }\n",
	  "3:46: a fleet of 5 nodes needs '{i}' in its id (like sensor-{i}) to name each one" },
	{ NODE1 " }\ntargets: [sim, tcp]\n",
	  "4:10: this scenario has nodes (simulated NodeMCU devices), which run only in simulation: write targets: [sim]" },
	{ NODE1 ", sensors: [{ type: soil, topic: a/m, dry: 400, wet: 800 }] }\n",
	  "3:90: a soil probe reads lower when wet: 'wet' (800) must be below 'dry' (400)" },
	{ NODE1 ", sensors: [{ type: tmp36, topic: a/t, evry: 10s }] }\n",
	  "3:76: unknown key 'evry' in sensor (did you mean 'every'?)" },
	{ NODE1 ", sensors: [{ type: tmp36, topic: a/t, dry: 10 }] }\n",
	  "3:76: 'dry' and 'wet' calibrate a soil sensor only" },
	{ NODE1 ", sensors: [{ type: tmp36, topic: a/t, batch: 4 }] }\n",
	  "3:83: 'batch' puts the last readings in a JSON list; it needs payload: json" },
	{ NODE1 ", sensors: [{ type: tmp36, topic: a/t, curve: [[1m, 20], [30s, 21]] }] }\n",
	  "3:95: curve times must increase; '30s' is not after the point before" },
	{ NODE1 ", sensors: [{ type: thermistor, topic: a/t }] }\n",
	  "3:57: 'type' must be one of tmp36, soil, got 'thermistor'" },
	{ NODE1 ", timers: { queue: 5 } }\n",
	  "3:49: 'queue' bounds nodemcu-lua's send queue; pubsubclient has none" },
	{ NODE1 ", keepalive: 15 }\n",
	  "3:50: 'keepalive' is a bare number; say the unit, e.g. 15s" },
	{ NODE1 ", buffer_size: 16B }\n",
	  "3:52: 'buffer_size' must be from 32B to 64KiB, got '16B'" },
	{ NODE1 " }\n  - { id: s1, firmware: nodemcu-lua }\n",
	  "4:5: node 's1' names the same host as the node at 3:5" },
	{ NODE1 " }\n  - { id: \"s{i}\", count: 3, firmware: nodemcu-lua }\n",
	  "4:5: node 's{i}' names the same host as the node at 3:5" },
	{ NODE1 " }\nclients: [{ id: s1 }]\n",
	  "3:5: node 's1' has the id of client 's1'; ids name hosts and must differ" },
	{ "name: t\nnodes:\n  - { id: \"s/{i}\", count: 2, firmware: pubsubclient }\n",
	  "3:11: node id 's/{i}' may use only letters, digits, '-', '_' and '.', and '{i}' once (it names hosts)" },
	{ NODE1 " }\nfaults:\n  - { at: 1s, wifi_down: s2, for: 1s }\n",
	  "5:26: wifi_down names a node (or a fleet like sensor-{i}), got 's2'" },
	{ NODE1 " }\nexpect:\n  - node: { node: s1, stat: connects }\n",
	  "5:11: node: 'stat' needs a bound: 'min', 'max' or both" },
	{ NODE1 " }\nexpect:\n  - node: { node: s1, stat: conects, min: 1 }\n",
	  "5:29: 'stat' must be one of boots, wifi_drops, attempts, connects, drops, ping_timeouts, readings, published, refused, offline, discarded, received, oversized_in, sleeps, got 'conects' (did you mean 'connects'?)" },
	{ NODE1 " }\nexpect:\n  - node: { node: s9, connected: true }\n",
	  "5:19: unknown node 's9'" },
	{ NODE1 " }\nclients: [{ id: d }]\nexpect:\n  - delivered: { from: s2, to: d }\n",
	  "6:24: unknown client 's2'; the clients are: d" },
	{ NODE1 ", sensors: [{ type: tmp36, topic: \"g/{i}/t\" }] }\n",
	  "3:11: node 's1' uses '{i}' in its client id or topics but is not a fleet; put '{i}' in its id too (like sensor-{i})" },
	{ NODE1 ", deep_sleep: { awake: 2s } }\n",
	  "3:51: deep_sleep needs 'sleep'" },
};

START_TEST(test_loader_errors)
{
	int i = _i;
	sc_errors e;
	scenario *s = scenario_parse("t.yaml", bad[i].yaml, strlen(bad[i].yaml), &e);
	ck_assert_msg(s == NULL, "row %d loaded", i);
	ck_assert_int_ge(e.n, 1);
	const char *m = e.msg[0] + strlen("t.yaml:");
	ck_assert_msg(!strcmp(m, bad[i].err), "row %d:\n got  %s\n want %s", i, m, bad[i].err);
	scenario_free(s);
	sc_errors_free(&e);
}
END_TEST

START_TEST(test_loader_fleet)
{
	static const char y[] =
		"name: t\n"
		"nodes:\n"
		"  - id: sensor-{i}\n"
		"    count: 12\n"
		"    firmware: nodemcu-lua\n"
		"    client_id: gh-{i}\n"
		"    clean_session: false\n"
		"    keepalive: 30s\n"
		"    will: { topic: \"gh/{i}/status\", payload: offline, qos: 1, retain: true }\n"
		"    buffer_size: 2KiB\n"
		"    wifi: { static_ip: true, drops_per_hour: 2, drop_for: 30s }\n"
		"    deep_sleep: { sleep: 5m, awake: 3s }\n"
		"    timers: { reconnect: 3s, queue: 8 }\n"
		"    sensors:\n"
		"      - { type: tmp36, topic: \"gh/{i}/temp\", every: 30s, qos: 2, payload: json, batch: 3,\n"
		"          walk: { start: 20, step: 0.2, min: 10, max: 30 } }\n"
		"      - { type: soil, topic: \"gh/{i}/soil\", board: bare, noise: 0, dry: 800, wet: 350,\n"
		"          curve: [[0s, 30], [1h, 60]] }\n"
		"    subscribe: [{ filter: \"gh/{i}/cmd\", qos: 2 }]\n"
		"  - { id: gateway, firmware: pubsubclient }\n"
		"faults:\n"
		"  - { at: 1m, wifi_down: \"sensor-{i}\", for: 20s }\n"
		"  - { at: 2m, partition: [sensor-3, broker], for: 20s }\n"
		"network:\n"
		"  links:\n"
		"    \"sensor-{i}\": { latency: 30ms }\n"
		"    gateway: { latency: 5ms }\n"
		"expect:\n"
		"  - node: { node: \"sensor-{i}\", stat: connects, min: 1, total: true }\n"
		"  - will: { from: sensor-4, to: gateway }\n";
	sc_errors e;
	scenario *s = scenario_parse("t.yaml", y, strlen(y), &e);
	for (int i = 0; i < e.n; i++)
		fprintf(stderr, "%s\n", e.msg[i]);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->targets, SC_TARGET_SIM); /* nodes: simulation only */
	ck_assert_uint_eq(s->nnodes, 2);
	ck_assert_uint_eq(s->node_instances, 13);
	const nm_config *c = &s->nodes[0].cfg;
	ck_assert_int_eq(c->fw.firmware, NM_NODEMCU_LUA);
	ck_assert(!c->clean_session && c->static_ip && c->has_will && c->will_retain);
	ck_assert_uint_eq(c->fw.keepalive_s, 30);
	ck_assert_uint_eq(c->fw.buffer_size, 2048);
	ck_assert_uint_eq(c->fw.queue_max, 8);
	ck_assert_int_eq(c->fw.reconnect_us, SIM_S(3));
	ck_assert_int_eq(c->assoc_us, SIM_MS(800));
	ck_assert_int_eq(c->sleep_us, SIM_S(300));
	ck_assert_uint_eq(c->nsensors, 2);
	ck_assert_uint_eq(c->sensors[0].batch, 3);
	ck_assert_int_eq(c->sensors[0].format, FORMAT_JSON);
	ck_assert_uint_eq(c->sensors[1].s.ncurve, 2);
	ck_assert_int_eq(c->sensors[1].s.board, BOARD_BARE);
	ck_assert_uint_eq(c->sensors[1].s.wet_raw, 350);
	long inst;
	ck_assert_int_eq(scenario_find_node(s, "sensor-7", &inst), 0);
	ck_assert_int_eq(inst, 7);
	ck_assert_int_eq(scenario_find_node(s, "sensor-{i}", &inst), 0);
	ck_assert_int_eq(inst, -1);
	ck_assert_int_eq(scenario_find_node(s, "gateway", &inst), 1);
	ck_assert_int_eq(inst, 0);
	ck_assert_int_eq(scenario_find_node(s, "sensor-13", &inst), -1);
	ck_assert_int_eq(scenario_find_node(s, "sensor-0", &inst), -1);
	ck_assert_int_eq(scenario_find_node(s, "sensor-07", &inst), -1);
	ck_assert_int_eq(s->faults[0].kind, SC_FAULT_WIFI_DOWN);
	ck_assert_int_eq(s->expects[1].from_node, 0);
	ck_assert_int_eq(s->expects[1].from_inst, 4);
	ck_assert_int_eq(s->expects[1].to_node, 1);
	scenario_free(s);
	sc_errors_free(&e);
}
END_TEST

Suite *nodemcu_suite(void)
{
	Suite *s = suite_create("nodemcu");
	TCase *tc = tcase_create("profiles");
	tcase_add_test(tc, test_profile_defaults);
	tcase_add_test(tc, test_association_time);
	tcase_add_test(tc, test_ping_cadence);
	tcase_add_test(tc, test_ping_timeout);
	tcase_add_test(tc, test_reconnect_delay);
	tcase_add_test(tc, test_retry_cadence);
	tcase_add_test(tc, test_buffer_outgrown);
	tcase_add_test(tc, test_lua_queue_discarded);
	tcase_add_test(tc, test_connack_timeout);
	tcase_add_test(tc, test_incoming_limit);
	suite_add_tcase(s, tc);
	tc = tcase_create("life");
	tcase_add_test(tc, test_deep_sleep);
	tcase_add_test(tc, test_wifi_drop);
	tcase_add_test(tc, test_random_drops);
	tcase_add_test(tc, test_streams_independent);
	tcase_add_test(tc, test_memory_per_node);
	suite_add_tcase(s, tc);
	tc = tcase_create("loader");
	tcase_add_loop_test(tc, test_loader_errors, 0, (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, test_loader_fleet);
	suite_add_tcase(s, tc);
	return s;
}
