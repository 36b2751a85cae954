/*
 * test_broker5.c - the reference broker's MQTT 5.0 behaviour, driven through the
 * simulation shell by scripted clients (3.1.1 and 5.0 on one broker); every test asserts
 * on the exact packets, reason codes and properties the clients receive.
 */
#include "tests.h"

#include "harness/broker_shell_sim.h"
#include "tclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PORT 1883
#define MS 1000
#define SEC (1000 * MS)

static sim_world *w;
static sim_host *bh;
static broker_sim *bs;
static broker_config cfg;

/* What this broker announces to every 5.0 client with the default configuration. */
#define CAPS "receive_max=65535 topic_alias_max=10 max_packet_size=1048576"
#define ACK5 "CONNACK session_present=0 reason=0 (Success) " CAPS
#define ACK5_PRESENT "CONNACK session_present=1 reason=0 (Success) " CAPS

static void start_broker(void)
{
	w = sim_world_new(7);
	sim_link l = { .latency_us = 1 * MS };
	sim_net_set_default(w, &l);
	bh = sim_host_add(w, "broker");
	bs = broker_sim_start(w, bh, PORT, &cfg);
}

static void start_persistent(void)
{
	w = sim_world_new(7);
	sim_link l = { .latency_us = 1 * MS };
	sim_net_set_default(w, &l);
	bh = sim_host_add(w, "broker");
	bs = broker_sim_start_persistent(w, bh, PORT, &cfg);
}

static void setup(void)
{
	broker_config_init(&cfg);
	cfg.sys_interval_s = 0;
	w = NULL;
	bs = NULL;
}

static void teardown(void)
{
	if (bs)
		broker_sim_free(bs);
	bs = NULL;
	if (w)
		sim_world_free(w);
	w = NULL;
}

static mqtt_props expiry_props(uint32_t s)
{
	mqtt_props p = { 0 };
	p.session_expiry = s;
	MQTT_SET(&p, MQTT_PROP_SESSION_EXPIRY);
	return p;
}

/* A 5.0 client, connected; the CONNACK it got must be `want`. */
static tclient *online5(const char *host, const char *id, bool clean, const mqtt_props *props,
			const char *want)
{
	tclient *c = tc_new(w, host, bh, PORT);
	tc_connect5(c, id, clean, 0, props);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, want);
	return c;
}

static tclient *online4(const char *host, const char *id, bool clean)
{
	tclient *c = tc_new(w, host, bh, PORT);
	tc_connect(c, id, clean, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, CONNACK_OK);
	return c;
}

static void disconnect5(tclient *c, uint8_t reason, const mqtt_props *props)
{
	mqtt_packet d = { .type = MQTT_DISCONNECT, .version = MQTT_V5, .reason = reason };
	if (props)
		d.props = *props;
	tc_send(c, &d);
	tc_run(w, 10 * MS);
}

static void will5(tclient *c, const char *id, const char *topic, const char *payload)
{
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V5 };
	p.connect.client_id = (mqtt_str){ (const uint8_t *)id, (uint32_t)strlen(id) };
	p.connect.clean_start = true;
	p.connect.will = true;
	p.connect.will_topic = (mqtt_str){ (const uint8_t *)topic, (uint32_t)strlen(topic) };
	p.connect.will_payload = (mqtt_str){ (const uint8_t *)payload, (uint32_t)strlen(payload) };
	c->version = MQTT_V5;
	tc_send(c, &p);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, ACK5);
}

/* ---- 1. CONNECT and CONNACK ------------------------------------------------------------- */

START_TEST(test_v5_and_v311_on_one_broker)
{
	start_broker();
	tclient *a = online5("a", "five", true, NULL, ACK5);
	tclient *b = online4("b", "four", true); /* 3.1.1 CONNACK, byte for byte as before */
	tc_send_hex(a, "c0 00");
	tc_send_hex(b, "c0 00");
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "PINGRESP");
	TC_EXPECT(b, "PINGRESP");
	/* 5.0 SUBACK and UNSUBACK carry a reason code per filter [MQTT-3.11.3-1]. */
	tc_subscribe(a, 1, "t/#", 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "SUBACK id=1 codes=0x02");
	tc_send_hex(a, "a2 0b 00 02 00 00 03 74 2f 23 00 01 78"); /* UNSUBSCRIBE "t/#", "x" */
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "UNSUBACK id=2 codes=0x00,0x11");
	/* 3.1.1 UNSUBACK has none. */
	tc_send_hex(b, "a2 05 00 02 00 01 78");
	tc_run(w, 10 * MS);
	TC_EXPECT(b, "UNSUBACK id=2");
	TC_EXPECT_NOTHING(a);
	TC_EXPECT_NOTHING(b);
	tc_free(a);
	tc_free(b);
}
END_TEST

START_TEST(test_unsupported_levels)
{
	start_broker();
	/* A level past 5: 3.1.1's CONNACK 0x01, then close [MQTT-3.1.2-2] (the 3.1.1 suite's
	 * scenarios/conformance/3.1-unsupported-level.yaml asks for it; 5.0's 0x84 is a MAY). */
	tclient *c = tc_new(w, "c1", bh, PORT);
	tc_send_hex(c, "10 0d 00 04 4d 51 54 54 06 02 00 3c 00 00 00");
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "CONNACK session_present=0 rc=1 (Connection Refused, unacceptable protocol version)");
	ck_assert(c->closed);
	/* Level 3 ("MQIsdp") still gets 3.1.1's CONNACK 0x01. */
	tclient *d = tc_new(w, "c2", bh, PORT);
	tc_send_hex(d, "10 10 00 06 4d 51 49 73 64 70 03 02 00 3c 00 02 61 62");
	tc_run(w, 10 * MS);
	TC_EXPECT(d, "CONNACK session_present=0 rc=1 (Connection Refused, unacceptable protocol version)");
	ck_assert(d->closed);
	/* Level 5 with a body only 3.1.1 would read (no property length): malformed, CONNACK
	 * 0x81 before the close (5.0 §4.13.1). */
	tclient *e = tc_new(w, "c3", bh, PORT);
	e->version = MQTT_V5;
	tc_send_hex(e, "10 0e 00 04 4d 51 54 54 05 02 00 3c 00 02 63 35");
	tc_run(w, 10 * MS);
	TC_EXPECT(e, "CONNACK session_present=0 reason=129 (Malformed Packet)");
	ck_assert(e->closed);
	tc_free(c);
	tc_free(d);
	tc_free(e);
}
END_TEST

START_TEST(test_assigned_client_id)
{
	start_broker();
	/* An empty id, even with Clean Start 0, is given a name, said in CONNACK [MQTT-3.1.3-7]. */
	tclient *c = online5("c1", "", false, NULL,
			     "CONNACK session_present=0 reason=0 (Success) assigned_client_id=\"mqttsim-auto-1\" " CAPS);
	tclient *d = online5("c2", "", true, NULL,
			     "CONNACK session_present=0 reason=0 (Success) assigned_client_id=\"mqttsim-auto-2\" " CAPS);
	tc_free(c);
	tc_free(d);
}
END_TEST

START_TEST(test_announced_limits)
{
	cfg.max_session_expiry_s = 60;
	cfg.server_keepalive_s = 30;
	cfg.max_qos = 1;
	cfg.retain_available = false;
	cfg.receive_max = 10;
	cfg.max_packet_size = 4096;
	cfg.topic_alias_max = 3;
	cfg.no_shared_subs = true;
	start_broker();
	/* Asked for an hour and no keep alive: told 60 s and 30 s [MQTT-3.2.2-21]. */
	mqtt_props p = expiry_props(3600);
	tclient *c = online5("c1", "dev", true, &p,
			     "CONNACK session_present=0 reason=0 (Success) session_expiry=60 server_keepalive=30 "
			     "receive_max=10 topic_alias_max=3 max_qos=1 retain_available=0 max_packet_size=4096 "
			     "shared_sub_available=0");
	/* Granted QoS never above the maximum [MQTT-3.2.2-10]; a shared filter is refused. */
	mqtt_sub s[2] = { { .filter = MQTT_STR("a/+"), .qos = 2 }, { .filter = MQTT_STR("$share/g/a"), .qos = 0 } };
	mqtt_packet sp = { .type = MQTT_SUBSCRIBE, .version = MQTT_V5, .packet_id = 3 };
	sp.subscribe.items = s;
	sp.subscribe.count = 2;
	tc_send(c, &sp);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "SUBACK id=3 codes=0x01,0x9E");
	/* The server keep alive is enforced: nothing for 45 s is the end (0x8D). */
	tc_run(w, 46 * SEC);
	TC_EXPECT(c, "DISCONNECT reason=0x8D (Keep Alive timeout) reason_string=\"keepalive expired\"");
	ck_assert(c->closed);
	/* A QoS 2 will is refused with 0x9B, a retained one with 0x9A [MQTT-3.2.2-12, -13]. */
	tclient *d = tc_new(w, "c2", bh, PORT);
	d->version = MQTT_V5;
	mqtt_packet k = { .type = MQTT_CONNECT, .version = MQTT_V5 };
	k.connect.client_id = MQTT_STR("w");
	k.connect.clean_start = true;
	k.connect.will = true;
	k.connect.will_qos = 2;
	k.connect.will_topic = MQTT_STR("w/t");
	tc_send(d, &k);
	tc_run(w, 10 * MS);
	TC_EXPECT(d, "CONNACK session_present=0 reason=155 (QoS not supported) "
		     "reason_string=\"will QoS above the server's Maximum QoS\"");
	ck_assert(d->closed);
	tclient *e = tc_new(w, "c3", bh, PORT);
	e->version = MQTT_V5;
	k.connect.will_qos = 0;
	k.connect.will_retain = true;
	tc_send(e, &k);
	tc_run(w, 10 * MS);
	TC_EXPECT(e, "CONNACK session_present=0 reason=154 (Retain not supported) "
		     "reason_string=\"retained will, but retain is not available\"");
	tc_free(c);
	tc_free(d);
	tc_free(e);
}
END_TEST

static int auth_connect(void *ctx, const char *client_id, const char *username,
			const uint8_t *password, size_t password_len)
{
	(void)ctx;
	(void)client_id;
	(void)password;
	if (username && !strcmp(username, "mallory"))
		return 5;
	return password_len == 6 && !memcmp(password, "secret", 6) ? 0 : 4;
}

START_TEST(test_refusal_reason_codes)
{
	broker_auth au = { .connect = auth_connect };
	cfg.auth = &au;
	cfg.allow_anonymous = false;
	start_broker();
	mqtt_packet k = { .type = MQTT_CONNECT, .version = MQTT_V5 };
	k.connect.client_id = MQTT_STR("dev");
	k.connect.clean_start = true;
	const char *want[] = {
		"CONNACK session_present=0 reason=135 (Not authorized) reason_string=\"not authorised\"",
		"CONNACK session_present=0 reason=134 (Bad User Name or Password) reason_string=\"bad user name or password\"",
		"CONNACK session_present=0 reason=135 (Not authorized) reason_string=\"not authorised\"",
		"CONNACK session_present=0 reason=133 (Client Identifier not valid) reason_string=\"client identifier longer than 255 bytes\"",
		/* Request Problem Information 0: no reason string (allowed on CONNACK by
		 * MQTT-3.1.2-29; this broker leaves it out). */
		"CONNACK session_present=0 reason=133 (Client Identifier not valid)",
		"CONNACK session_present=0 reason=0 (Success) " CAPS,
	};
	char longid[300];
	memset(longid, 'x', sizeof longid - 1);
	longid[sizeof longid - 1] = 0;
	for (int i = 0; i < 6; i++) {
		char host[8];
		snprintf(host, sizeof host, "c%d", i);
		tclient *c = tc_new(w, host, bh, PORT);
		c->version = MQTT_V5;
		k.connect.has_username = i > 0;
		k.connect.username = i == 2 ? MQTT_STR("mallory") : MQTT_STR("alice");
		k.connect.has_password = i > 0;
		k.connect.password = i == 1 ? MQTT_STR("wrong!") : MQTT_STR("secret");
		k.connect.client_id = i == 3 || i == 4 ? (mqtt_str){ (const uint8_t *)longid, 299 } : MQTT_STR("dev");
		k.props = (mqtt_props){ 0 };
		if (i == 4) {
			k.props.request_problem_info = 0;
			MQTT_SET(&k.props, MQTT_PROP_REQUEST_PROBLEM_INFO);
		}
		tc_send(c, &k);
		tc_run(w, 10 * MS);
		TC_EXPECT(c, want[i]);
		ck_assert_int_eq(c->closed, i < 5);
		tc_free(c);
	}
}
END_TEST

/* ---- 2. Session expiry --------------------------------------------------------------------- */

START_TEST(test_expiry_zero_ends_at_disconnect)
{
	start_broker();
	/* No Session Expiry Interval is 0: Clean Start 0 still ends with the connection. */
	tclient *a = online5("a", "dev", false, NULL, ACK5);
	tc_subscribe(a, 1, "t", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "SUBACK id=1 codes=0x01");
	tc_drop(a);
	tc_run(w, 10 * MS);
	tclient *b = online5("b", "dev", false, NULL, ACK5);
	tc_free(a);
	tc_free(b);
}
END_TEST

START_TEST(test_expiry_interval_counts_offline)
{
	start_broker();
	mqtt_props p = expiry_props(10);
	tclient *a = online5("a", "dev", true, &p, ACK5);
	tc_subscribe(a, 1, "t", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "SUBACK id=1 codes=0x01");
	tc_drop(a);
	tc_run(w, 10 * MS);
	tclient *pub = online4("pub", "p", true);
	tc_publish(pub, "t", "kept", 1, false, 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBACK id=1");
	/* 9 s later the session is still there, with the message that queued meanwhile. */
	tc_run(w, 9 * SEC);
	tclient *b = online5("b", "dev", false, &p, ACK5_PRESENT);
	TC_EXPECT(b, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=4B");
	tc_send_hex(b, "40 02 00 01");
	tc_run(w, 10 * MS);
	/* Counting starts again at this disconnect: gone 10 s after it, not before. */
	tc_drop(b);
	tc_run(w, 9990 * MS);
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.sessions, 2); /* dev and the publisher's */
	tc_run(w, 20 * MS);
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.sessions, 1);
	tclient *c = online5("c", "dev", false, &p, ACK5);
	tc_free(a);
	tc_free(b);
	tc_free(c);
	tc_free(pub);
}
END_TEST

START_TEST(test_expiry_never_and_clean_start)
{
	start_broker();
	mqtt_props p = expiry_props(0xFFFFFFFFu);
	tclient *a = online5("a", "dev", false, &p, ACK5);
	tc_drop(a);
	tc_run(w, (int64_t)100000 * SEC);
	tclient *b = online5("b", "dev", false, &p, ACK5_PRESENT);
	/* Clean Start 1 discards it [MQTT-3.1.2-4]; the takeover tells b 0x8E [MQTT-3.1.4-3]. */
	tclient *c = online5("c", "dev", true, &p, ACK5);
	TC_EXPECT(b, "DISCONNECT reason=0x8E (Session taken over) reason_string=\"session taken over\"");
	ck_assert(b->closed);
	/* A 3.1.1 client taking over a 5.0 one's session: the same. */
	tclient *d = online4("d", "dev", true);
	TC_EXPECT(c, "DISCONNECT reason=0x8E (Session taken over) reason_string=\"session taken over\"");
	tc_free(a);
	tc_free(b);
	tc_free(c);
	tc_free(d);
}
END_TEST

START_TEST(test_disconnect_changes_expiry)
{
	start_broker();
	mqtt_props p = expiry_props(100);
	tclient *a = online5("a", "dev", false, &p, ACK5);
	mqtt_props zero = expiry_props(0);
	disconnect5(a, 0x00, &zero); /* 100 -> 0: the session ends now */
	ck_assert(a->closed);
	tclient *b = online5("b", "dev", false, NULL, ACK5);
	/* CONNECT said 0 (absent): DISCONNECT may not raise it (5.0 §3.14.2.2.2), 0x82. */
	mqtt_props ten = expiry_props(10);
	disconnect5(b, 0x00, &ten);
	TC_EXPECT(b, "DISCONNECT reason=0x82 (Protocol Error) reason_string=\"session expiry interval raised from 0\"");
	ck_assert(b->closed);
	tclient *c = online5("c", "dev", false, NULL, ACK5);
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.protocol_errors, 1);
	tc_free(a);
	tc_free(b);
	tc_free(c);
}
END_TEST

START_TEST(test_expiry_survives_restart)
{
	start_persistent();
	mqtt_props p = expiry_props(30);
	tclient *a = online5("a", "dev", false, &p, ACK5);
	tc_subscribe(a, 1, "t", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "SUBACK id=1 codes=0x01");
	tc_drop(a);
	tc_run(w, 10 * SEC);
	/* Down for 5 s; 10 s had passed, 15 s are left after it. */
	sim_host_crash(bh);
	tc_run(w, 5 * SEC);
	sim_host_restart(bh);
	tc_run(w, 14 * SEC);
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.sessions, 1);
	tc_run(w, 2 * SEC);
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.sessions, 0);
	/* A session connected when the broker crashed counts from the restart. */
	tclient *b = online5("b", "dev2", false, &p, ACK5);
	tc_run(w, 10 * MS);
	sim_host_crash(bh);
	tc_run(w, 100 * SEC);
	sim_host_restart(bh);
	tc_run(w, 29 * SEC);
	tclient *c = online5("c", "dev2", false, &p, ACK5_PRESENT);
	tc_free(a);
	tc_free(b);
	tc_free(c);
}
END_TEST

/* ---- 3. DISCONNECT both ways ---------------------------------------------------------------- */

START_TEST(test_disconnect_with_will)
{
	start_broker();
	tclient *s = online5("s", "sub", true, NULL, ACK5);
	tc_subscribe(s, 1, "will/#", 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(s, "SUBACK id=1 codes=0x00");
	tclient *a = tc_new(w, "a", bh, PORT);
	will5(a, "a", "will/a", "gone");
	disconnect5(a, 0x04, NULL); /* Disconnect with Will Message */
	TC_EXPECT(s, "PUBLISH qos=0 retain=0 dup=0 topic=\"will/a\" payload=4B");
	tclient *b = tc_new(w, "b", bh, PORT);
	will5(b, "b", "will/b", "gone");
	disconnect5(b, 0x00, NULL); /* normal: the will is discarded */
	TC_EXPECT_NOTHING(s);
	tc_free(s);
	tc_free(a);
	tc_free(b);
}
END_TEST

START_TEST(test_server_disconnect_reasons)
{
	cfg.max_packet_size = 64;
	cfg.receive_max = 2;
	cfg.topic_alias_max = 0; /* none taken, and none announced (absent is 0) */
	start_broker();
	mqtt_props pi = { 0 };
	pi.request_problem_info = 0;
	MQTT_SET(&pi, MQTT_PROP_REQUEST_PROBLEM_INFO);
	const char *caps = "receive_max=2 max_packet_size=64";
	char ack[200];
	snprintf(ack, sizeof ack, "CONNACK session_present=0 reason=0 (Success) %s", caps);
	/* Malformed: a PUBLISH with QoS 3 (0x81). */
	tclient *a = online5("a", "a", true, NULL, ack);
	tc_send_hex(a, "36 05 00 01 74 00 01");
	tc_run(w, 10 * MS);
	const char *got = tc_next(a);
	ck_assert_msg(got && !strncmp(got, "DISCONNECT reason=0x81 (Malformed Packet)", 41), "%s", got);
	ck_assert(a->closed);
	/* Protocol error: a second CONNECT (0x82); no reason string when problem info is 0. */
	tclient *b = online5("b", "b", true, &pi, ack);
	tc_connect5(b, "b", true, 0, NULL);
	tc_run(w, 10 * MS);
	TC_EXPECT(b, "DISCONNECT reason=0x82 (Protocol Error)");
	/* Over the server's Maximum Packet Size (0x95). */
	tclient *c = online5("c", "c", true, &pi, ack);
	tc_publish(c, "t", "0123456789012345678901234567890123456789012345678901234567890123", 0, false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "DISCONNECT reason=0x95 (Packet too large)");
	/* A topic alias when Topic Alias Maximum is 0 (0x94). */
	tclient *d = online5("d", "d", true, &pi, ack);
	tc_send_hex(d, "30 07 00 01 74 03 23 00 01");
	tc_run(w, 10 * MS);
	TC_EXPECT(d, "DISCONNECT reason=0x94 (Topic Alias invalid)");
	/* A third QoS 2 PUBLISH unreleased, past Receive Maximum 2 (0x93). */
	tclient *e = online5("e", "e", true, &pi, ack);
	tc_publish(e, "t", "1", 2, false, 1);
	tc_publish(e, "t", "2", 2, false, 2);
	tc_publish(e, "t", "2", 2, false, 2); /* a retry of an id it holds is not a new one */
	tc_run(w, 10 * MS);
	/* Nobody subscribes to t: 0x10; the retry of an id it holds is acknowledged as
	 * received, 0x00, and not routed again. */
	TC_EXPECT(e, "PUBREC id=1 reason=0x10 (No matching subscribers)");
	TC_EXPECT(e, "PUBREC id=2 reason=0x10 (No matching subscribers)");
	TC_EXPECT(e, "PUBREC id=2 reason=0x00 (Success)");
	tc_send_hex(e, "62 02 00 01"); /* PUBREL 1 frees a slot */
	tc_publish(e, "t", "3", 2, false, 3);
	tc_publish(e, "t", "4", 2, false, 4);
	tc_run(w, 10 * MS);
	TC_EXPECT(e, "PUBCOMP id=1 reason=0x00 (Success)");
	TC_EXPECT(e, "PUBREC id=3 reason=0x10 (No matching subscribers)");
	TC_EXPECT(e, "DISCONNECT reason=0x93 (Receive Maximum exceeded)");
	ck_assert(e->closed);
	/* A 3.1.1 client is closed on without a DISCONNECT (3.1.1 has none from a server). */
	tclient *f = online4("f", "f", true);
	tc_send_hex(f, "36 05 00 01 74 00 01");
	tc_run(w, 10 * MS);
	TC_EXPECT_NOTHING(f);
	ck_assert(f->closed);
	tc_free(a);
	tc_free(b);
	tc_free(c);
	tc_free(d);
	tc_free(e);
	tc_free(f);
}
END_TEST

/* ---- 4. The client's Receive Maximum and Maximum Packet Size ------------------------------ */

START_TEST(test_client_limits)
{
	start_broker();
	mqtt_props p = { 0 };
	p.receive_max = 1;
	p.max_packet_size = 40;
	MQTT_SET(&p, MQTT_PROP_RECEIVE_MAX);
	MQTT_SET(&p, MQTT_PROP_MAX_PACKET_SIZE);
	tclient *s = online5("s", "sub", true, &p, ACK5);
	tc_subscribe(s, 1, "t", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(s, "SUBACK id=1 codes=0x01");
	tclient *pub = online4("pub", "p", true);
	tc_publish(pub, "t", "a", 1, false, 1);
	tc_publish(pub, "t", "b", 1, false, 2);
	/* 46 bytes as a PUBLISH to s: never sent [MQTT-3.1.2-24]. */
	tc_publish(pub, "t", "0123456789012345678901234567890123456789", 0, false, 0);
	tc_publish(pub, "t", "0123456789012345678901234567890123456789", 1, false, 3);
	tc_publish(pub, "t", "c", 1, false, 4);
	tc_run(w, 10 * MS);
	/* One unacknowledged at a time [MQTT-3.3.4-9]. */
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=1B");
	TC_EXPECT_NOTHING(s);
	tc_send_hex(s, "40 02 00 01");
	tc_run(w, 10 * MS);
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t\" payload=1B");
	TC_EXPECT_NOTHING(s);
	/* The QoS 1 message too large for s is dropped, not left holding the one slot. */
	tc_send_hex(s, "40 02 00 02");
	tc_run(w, 10 * MS);
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=3 topic=\"t\" payload=1B");
	TC_EXPECT_NOTHING(s);
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.msgs_dropped, 2); /* both 46-byte ones, QoS 0 and 1 */
	tc_free(s);
	tc_free(pub);
}
END_TEST

/* ---- 5. Mixed versions --------------------------------------------------------------------- */

START_TEST(test_mixed_versions)
{
	start_broker();
	tclient *s4 = online4("s4", "s4", true);
	tclient *s5 = online5("s5", "s5", true, NULL, ACK5);
	tc_subscribe(s4, 1, "t/#", 1);
	tc_subscribe(s5, 1, "t/#", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(s4, "SUBACK id=1 codes=0x01");
	TC_EXPECT(s5, "SUBACK id=1 codes=0x01");
	/* A 5.0 publisher with a user property and a content type: the 3.1.1 subscriber gets
	 * the message without them (it has no way to read them), the 5.0 one with them. */
	tclient *p5 = online5("p5", "p5", true, NULL, ACK5);
	mqtt_user_prop up = { MQTT_STR("k"), MQTT_STR("v") };
	mqtt_packet pp = { .type = MQTT_PUBLISH, .version = MQTT_V5, .packet_id = 1 };
	pp.publish.qos = 1;
	pp.publish.topic = MQTT_STR("t/5");
	pp.publish.payload = MQTT_STR("five");
	pp.props.user = &up;
	pp.props.user_count = 1;
	pp.props.content_type = MQTT_STR("text/plain");
	MQTT_SET(&pp.props, MQTT_PROP_CONTENT_TYPE);
	tc_send(p5, &pp);
	tclient *p4 = online4("p4", "p4", true);
	tc_publish(p4, "t/4", "four", 1, false, 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(p5, "PUBACK id=1 reason=0x00 (Success)");
	TC_EXPECT(p4, "PUBACK id=1");
	TC_EXPECT(s4, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t/5\" payload=4B");
	TC_EXPECT(s4, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t/4\" payload=4B");
	TC_EXPECT(s5, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t/5\" payload=4B content_type=\"text/plain\" "
		      "user:\"k\"=\"v\"");
	TC_EXPECT(s5, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t/4\" payload=4B");
	TC_EXPECT_NOTHING(s4);
	TC_EXPECT_NOTHING(s5);
	tc_free(s4);
	tc_free(s5);
	tc_free(p4);
	tc_free(p5);
}
END_TEST

/* ---- 6. PUBLISH properties ------------------------------------------------------------------ */

/* A 5.0 PUBLISH with every property a message carries on: Payload Format Indicator,
 * Content Type, Response Topic, Correlation Data and three User Properties, one name twice. */
static const mqtt_user_prop ups[3] = {
	{ MQTT_STR("k1"), MQTT_STR("a") }, { MQTT_STR("k2"), MQTT_STR("b") }, { MQTT_STR("k1"), MQTT_STR("c") },
};
#define PROPS_SEEN_REST                                                                        \
	"content_type=\"application/json\" response_topic=\"r/reply\" "                      \
	"correlation_data=2B user:\"k1\"=\"a\" user:\"k2\"=\"b\" user:\"k1\"=\"c\""
#define PROPS_SEEN "payload_format=1 " PROPS_SEEN_REST

static mqtt_packet publish5(const char *topic, const char *payload, uint8_t qos, bool retain, uint16_t id)
{
	mqtt_packet p = { .type = MQTT_PUBLISH, .version = MQTT_V5, .packet_id = id };
	p.publish.qos = qos;
	p.publish.retain = retain;
	p.publish.topic = (mqtt_str){ (const uint8_t *)topic, (uint32_t)strlen(topic) };
	p.publish.payload = (mqtt_str){ (const uint8_t *)payload, (uint32_t)strlen(payload) };
	return p;
}

static mqtt_packet publish5_props(const char *topic, const char *payload, uint8_t qos, bool retain, uint16_t id)
{
	mqtt_packet p = publish5(topic, payload, qos, retain, id);
	p.props.payload_format = 1;
	MQTT_SET(&p.props, MQTT_PROP_PAYLOAD_FORMAT);
	p.props.content_type = MQTT_STR("application/json");
	MQTT_SET(&p.props, MQTT_PROP_CONTENT_TYPE);
	p.props.response_topic = MQTT_STR("r/reply");
	MQTT_SET(&p.props, MQTT_PROP_RESPONSE_TOPIC);
	p.props.correlation_data = MQTT_STR("\x01\x02");
	MQTT_SET(&p.props, MQTT_PROP_CORRELATION_DATA);
	p.props.user = ups;
	p.props.user_count = 3;
	return p;
}

/* Subscribe and read the SUBACK. */
static void sub_ok(tclient *c, uint16_t id, const char *filter, uint8_t qos)
{
	char want[64];
	tc_subscribe(c, id, filter, qos);
	tc_run(w, 10 * MS);
	snprintf(want, sizeof want, "SUBACK id=%u codes=0x%02X", id, qos);
	TC_EXPECT(c, want);
}

START_TEST(test_publish_props_forwarded)
{
	start_broker();
	tclient *s5 = online5("s5", "s5", true, NULL, ACK5);
	tclient *s4 = online4("s4", "s4", true);
	sub_ok(s5, 1, "t/#", 1);
	sub_ok(s4, 1, "t/#", 1);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	mqtt_packet pp = publish5_props("t/1", "{}", 1, false, 1);
	tc_send(p, &pp);
	pp = publish5_props("t/0", "{}", 0, false, 0);
	tc_send(p, &pp);
	pp = publish5("t/2", "plain", 1, false, 2); /* none of its own, none of the last one's */
	tc_send(p, &pp);
	tc_run(w, 10 * MS);
	TC_EXPECT(p, "PUBACK id=1 reason=0x00 (Success)");
	TC_EXPECT(p, "PUBACK id=2 reason=0x00 (Success)");
	/* Unaltered, User Properties in their order [MQTT-3.3.2-4, -15, -16, -17, -18, -20]. */
	TC_EXPECT(s5, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t/1\" payload=2B " PROPS_SEEN);
	TC_EXPECT(s5, "PUBLISH qos=0 retain=0 dup=0 topic=\"t/0\" payload=2B " PROPS_SEEN);
	TC_EXPECT(s5, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t/2\" payload=5B");
	/* 3.1.1 has no properties: the same messages without them. */
	TC_EXPECT(s4, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t/1\" payload=2B");
	TC_EXPECT(s4, "PUBLISH qos=0 retain=0 dup=0 topic=\"t/0\" payload=2B");
	TC_EXPECT(s4, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t/2\" payload=5B");
	TC_EXPECT_NOTHING(s5);
	TC_EXPECT_NOTHING(s4);
	tc_free(s5);
	tc_free(s4);
	tc_free(p);
}
END_TEST

START_TEST(test_publish_props_not_stripped)
{
	start_broker();
	/* The PUBLISH is 67 bytes with its properties (43 without its User Properties), past
	 * small's 50: it is dropped whole, never sent without its User Properties
	 * [MQTT-3.3.2-17, MQTT-3.1.2-25]. */
	mqtt_props mp = { 0 };
	mp.max_packet_size = 50;
	MQTT_SET(&mp, MQTT_PROP_MAX_PACKET_SIZE);
	tclient *small = online5("small", "small", true, &mp, ACK5);
	mp.max_packet_size = 100;
	tclient *big = online5("big", "big", true, &mp, ACK5);
	sub_ok(small, 1, "t", 0);
	sub_ok(big, 1, "t", 0);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	mqtt_packet pp = publish5_props("t", "x", 0, false, 0);
	tc_send(p, &pp);
	tc_run(w, 10 * MS);
	TC_EXPECT(big, "PUBLISH qos=0 retain=0 dup=0 topic=\"t\" payload=1B " PROPS_SEEN);
	TC_EXPECT_NOTHING(small);
	tc_free(small);
	tc_free(big);
	tc_free(p);
}
END_TEST

/* Retained and queued messages keep their properties; with a store, across a restart. */
static void props_kept(bool restart)
{
	if (restart)
		start_persistent();
	else
		start_broker();
	mqtt_props e = expiry_props(3600);
	tclient *a = online5("a", "off", true, &e, ACK5);
	sub_ok(a, 1, "t/#", 1);
	tc_drop(a);
	tc_run(w, 10 * MS);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	mqtt_packet pp = publish5_props("t/q", "queued", 1, false, 1);
	tc_send(p, &pp);
	pp = publish5_props("t/r", "kept", 1, true, 2);
	tc_send(p, &pp);
	tc_run(w, 10 * MS);
	TC_EXPECT(p, "PUBACK id=1 reason=0x00 (Success)");
	TC_EXPECT(p, "PUBACK id=2 reason=0x00 (Success)");
	if (restart) {
		sim_host_crash(bh);
		tc_run(w, 1 * SEC);
		sim_host_restart(bh);
		tc_run(w, 10 * MS);
	}
	tclient *b = online5("b", "off", false, &e, ACK5_PRESENT);
	TC_EXPECT(b, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t/q\" payload=6B " PROPS_SEEN);
	TC_EXPECT(b, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t/r\" payload=4B " PROPS_SEEN);
	tclient *c = online5("c", "new", true, NULL, ACK5);
	tc_subscribe(c, 1, "t/#", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "SUBACK id=1 codes=0x01");
	TC_EXPECT(c, "PUBLISH qos=1 retain=1 dup=0 id=1 topic=\"t/r\" payload=4B " PROPS_SEEN);
	tclient *d = online4("d", "four", true);
	tc_subscribe(d, 1, "t/#", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(d, "SUBACK id=1 codes=0x01");
	TC_EXPECT(d, "PUBLISH qos=1 retain=1 dup=0 id=1 topic=\"t/r\" payload=4B");
	tc_free(a);
	tc_free(b);
	tc_free(c);
	tc_free(d);
	tc_free(p);
}

START_TEST(test_publish_props_retained_and_queued)
{
	props_kept(false);
}
END_TEST

START_TEST(test_publish_props_survive_restart)
{
	props_kept(true);
}
END_TEST

/* ---- 7. Message Expiry Interval ------------------------------------------------------------- */

static mqtt_packet publish5_exp(const char *topic, const char *payload, uint8_t qos, bool retain,
				uint16_t id, uint32_t expiry_s)
{
	mqtt_packet p = publish5(topic, payload, qos, retain, id);
	p.props.message_expiry = expiry_s;
	MQTT_SET(&p.props, MQTT_PROP_MESSAGE_EXPIRY);
	return p;
}

START_TEST(test_expiry_live_and_offline_queue)
{
	start_broker();
	mqtt_props e = expiry_props(3600);
	tclient *a = online5("a", "off", true, &e, ACK5);
	tclient *live = online5("live", "live", true, NULL, ACK5);
	sub_ok(a, 1, "t/#", 1);
	sub_ok(live, 1, "t/#", 1);
	tc_drop(a);
	tc_run(w, 10 * MS);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	mqtt_packet pp = publish5_exp("t/short", "1", 1, false, 1, 3);
	tc_send(p, &pp);
	pp = publish5_exp("t/long", "2", 1, false, 2, 10);
	tc_send(p, &pp);
	pp = publish5("t/never", "3", 1, false, 3);
	tc_send(p, &pp);
	tc_run(w, 10 * MS);
	TC_EXPECT(p, "PUBACK id=1 reason=0x00 (Success)");
	TC_EXPECT(p, "PUBACK id=2 reason=0x00 (Success)");
	TC_EXPECT(p, "PUBACK id=3 reason=0x00 (Success)");
	/* Forwarded at once, the interval is the one received: it waited 0 s [MQTT-3.3.2-6]. */
	TC_EXPECT(live, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t/short\" payload=1B message_expiry=3");
	TC_EXPECT(live, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t/long\" payload=1B message_expiry=10");
	TC_EXPECT(live, "PUBLISH qos=1 retain=0 dup=0 id=3 topic=\"t/never\" payload=1B");
	/* 5 s offline (and the 10 ms of the CONNECT): the 3 s one is gone [MQTT-3.3.2-5], the
	 * 10 s one has 4.99 s left, sent as 5, the other has no interval to count. */
	tc_run(w, 5 * SEC);
	tclient *b = online5("b", "off", false, &e, ACK5_PRESENT);
	TC_EXPECT(b, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t/long\" payload=1B message_expiry=5");
	TC_EXPECT(b, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t/never\" payload=1B");
	TC_EXPECT_NOTHING(b);
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.msgs_expired, 1);
	tc_free(a);
	tc_free(b);
	tc_free(live);
	tc_free(p);
}
END_TEST

START_TEST(test_expiry_behind_the_window)
{
	start_broker();
	/* Receive Maximum 1: the second message waits for the first's PUBACK, online. */
	mqtt_props rm = expiry_props(3600);
	rm.receive_max = 1;
	MQTT_SET(&rm, MQTT_PROP_RECEIVE_MAX);
	tclient *s = online5("s", "s", true, &rm, ACK5);
	sub_ok(s, 1, "t", 1);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	mqtt_packet pp = publish5("t", "first", 1, false, 1);
	tc_send(p, &pp);
	pp = publish5_exp("t", "soon", 1, false, 2, 2);
	tc_send(p, &pp);
	pp = publish5_exp("t", "later", 1, false, 3, 60);
	tc_send(p, &pp);
	tc_run(w, 10 * MS);
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=5B");
	TC_EXPECT_NOTHING(s);
	tc_run(w, 3 * SEC);
	tc_send_hex(s, "40 02 00 01");
	tc_run(w, 10 * MS);
	/* 3.01 s waited: the 2 s one was never sent; the 60 s one has 56.99 s left. */
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t\" payload=5B message_expiry=57");
	TC_EXPECT_NOTHING(s);
	/* Once sent it is delivered to the end: unacknowledged past its interval, it goes
	 * again with DUP, and 0 left, to the session's next connection. */
	tc_run(w, 60 * SEC);
	tc_drop(s);
	tc_run(w, 10 * MS);
	tclient *s2 = online5("s2", "s", false, &rm, ACK5_PRESENT);
	TC_EXPECT(s2, "PUBLISH qos=1 retain=0 dup=1 id=2 topic=\"t\" payload=5B message_expiry=0");
	TC_EXPECT_NOTHING(s2);
	tc_free(s);
	tc_free(s2);
	tc_free(p);
}
END_TEST

START_TEST(test_expiry_retained)
{
	start_broker();
	tclient *p = online5("p", "p", true, NULL, ACK5);
	mqtt_packet pp = publish5_exp("r/a", "a", 0, true, 0, 5);
	tc_send(p, &pp);
	pp = publish5_exp("r/b", "b", 1, true, 1, 20);
	tc_send(p, &pp);
	tc_run(w, 10 * MS);
	TC_EXPECT(p, "PUBACK id=1 reason=0x10 (No matching subscribers)");
	tc_run(w, 2 * SEC);
	/* 2.01 s on: both, with what is left of their intervals. */
	tclient *c = online5("c", "c", true, NULL, ACK5);
	tc_subscribe(c, 1, "r/#", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "SUBACK id=1 codes=0x01");
	TC_EXPECT(c, "PUBLISH qos=0 retain=1 dup=0 topic=\"r/a\" payload=1B message_expiry=3");
	TC_EXPECT(c, "PUBLISH qos=1 retain=1 dup=0 id=1 topic=\"r/b\" payload=1B message_expiry=18");
	tc_run(w, 5 * SEC);
	/* 7.04 s on: r/a expired, for a wildcard filter and an exact one alike; r/b stays. */
	tclient *d = online5("d", "d", true, NULL, ACK5);
	tc_subscribe(d, 1, "r/+", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(d, "SUBACK id=1 codes=0x01");
	TC_EXPECT(d, "PUBLISH qos=1 retain=1 dup=0 id=1 topic=\"r/b\" payload=1B message_expiry=13");
	TC_EXPECT_NOTHING(d);
	tclient *e = online4("e", "e", true);
	tc_subscribe(e, 1, "r/a", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(e, "SUBACK id=1 codes=0x01");
	TC_EXPECT_NOTHING(e);
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.retained, 1); /* the exact lookup deleted r/a from the store */
	tc_free(c);
	tc_free(d);
	tc_free(e);
	tc_free(p);
}
END_TEST

START_TEST(test_expiry_survives_restart_msgs)
{
	start_persistent();
	mqtt_props e = expiry_props(3600);
	tclient *a = online5("a", "off", true, &e, ACK5);
	sub_ok(a, 1, "q", 1);
	tc_drop(a);
	tc_run(w, 10 * MS);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	mqtt_packet pp = publish5_exp("q", "queued", 1, false, 1, 30);
	tc_send(p, &pp);
	pp = publish5_exp("q", "short", 1, false, 2, 8);
	tc_send(p, &pp);
	pp = publish5_exp("r", "retained", 1, true, 3, 30);
	tc_send(p, &pp);
	tc_run(w, 10 * MS);
	TC_EXPECT(p, "PUBACK id=1 reason=0x00 (Success)");
	TC_EXPECT(p, "PUBACK id=2 reason=0x00 (Success)");
	TC_EXPECT(p, "PUBACK id=3 reason=0x10 (No matching subscribers)");
	/* Down 5 s, up 5 s: the broker's clock kept running; 10.02 s waited, 19.98 left. */
	tc_run(w, 10 * MS);
	sim_host_crash(bh);
	tc_run(w, 5 * SEC);
	sim_host_restart(bh);
	tc_run(w, 5 * SEC);
	tclient *b = online5("b", "off", false, &e, ACK5_PRESENT);
	TC_EXPECT(b, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"q\" payload=6B message_expiry=20");
	TC_EXPECT_NOTHING(b);
	tclient *c = online5("c", "c", true, NULL, ACK5);
	tc_subscribe(c, 1, "r", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "SUBACK id=1 codes=0x01");
	TC_EXPECT(c, "PUBLISH qos=1 retain=1 dup=0 id=1 topic=\"r\" payload=8B message_expiry=20");
	tc_free(a);
	tc_free(b);
	tc_free(c);
	tc_free(p);
}
END_TEST

/* ---- 8. Topic Alias, inbound ------------------------------------------------------------------ */

static mqtt_packet publish5_alias(const char *topic, const char *payload, uint16_t alias)
{
	mqtt_packet p = publish5(topic, payload, 0, false, 0);
	p.props.topic_alias = alias;
	MQTT_SET(&p.props, MQTT_PROP_TOPIC_ALIAS);
	return p;
}

START_TEST(test_topic_alias_inbound)
{
	start_broker();
	tclient *s5 = online5("s5", "s5", true, NULL, ACK5); /* CONNACK: topic_alias_max=10 */
	tclient *s4 = online4("s4", "s4", true);
	sub_ok(s5, 1, "a/#", 0);
	sub_ok(s4, 1, "a/#", 0);
	mqtt_props e = expiry_props(3600);
	tclient *p = online5("p", "p", true, &e, ACK5);
	/* Set with a topic, used with an empty one, set again; 1 and the maximum, 10, are
	 * both taken [MQTT-3.3.2-12]. No alias goes on to a subscriber: this broker sends
	 * none (its own mapping would be per connection too) [MQTT-3.3.2-7]. */
	mqtt_packet pp = publish5_alias("a/one", "1", 1);
	tc_send(p, &pp);
	pp = publish5_alias("", "2", 1);
	tc_send(p, &pp);
	pp = publish5_alias("a/ten", "3", 10);
	tc_send(p, &pp);
	pp = publish5_alias("a/uno", "4", 1);
	tc_send(p, &pp);
	pp = publish5_alias("", "5", 1);
	tc_send(p, &pp);
	pp = publish5_alias("", "6", 10);
	tc_send(p, &pp);
	tc_run(w, 10 * MS);
	const char *topics[6] = { "a/one", "a/one", "a/ten", "a/uno", "a/uno", "a/ten" };
	for (int i = 0; i < 6; i++) {
		char want[96];
		snprintf(want, sizeof want, "PUBLISH qos=0 retain=0 dup=0 topic=\"%s\" payload=1B", topics[i]);
		TC_EXPECT(s5, want);
		TC_EXPECT(s4, want);
	}
	TC_EXPECT_NOTHING(s5);
	/* Aliases are the connection's, not the session's: on the next connection alias 1
	 * is unknown, and an empty topic with it is a protocol error (0x82). */
	tc_drop(p);
	tc_run(w, 10 * MS);
	tclient *q = online5("q", "p", false, &e, ACK5_PRESENT);
	pp = publish5_alias("", "7", 1);
	tc_send(q, &pp);
	tc_run(w, 10 * MS);
	TC_EXPECT(q, "DISCONNECT reason=0x82 (Protocol Error) reason_string=\"topic alias not set on this connection\"");
	ck_assert(q->closed);
	TC_EXPECT_NOTHING(s5);
	tc_free(s5);
	tc_free(s4);
	tc_free(p);
	tc_free(q);
}
END_TEST

START_TEST(test_topic_alias_invalid)
{
	start_broker();
	/* Past the Topic Alias Maximum CONNACK announced [MQTT-3.3.2-9]: 0x94. */
	tclient *a = online5("a", "a", true, NULL, ACK5);
	mqtt_packet pp = publish5_alias("t", "x", 11);
	tc_send(a, &pp);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "DISCONNECT reason=0x94 (Topic Alias invalid) "
		     "reason_string=\"topic alias 11 above the server's Topic Alias Maximum 10\"");
	ck_assert(a->closed);
	/* Alias 0 is not permitted [MQTT-3.3.2-8]: 0x94 as well (the codec refuses it). */
	tclient *b = online5("b", "b", true, NULL, ACK5);
	tc_send_hex(b, "30 07 00 01 74 03 23 00 00");
	tc_run(w, 10 * MS);
	const char *got = tc_next(b);
	ck_assert_msg(got && !strncmp(got, "DISCONNECT reason=0x94 (Topic Alias invalid)", 44), "%s", got);
	ck_assert(b->closed);
	/* An empty topic with an alias never set: 0x82. */
	tclient *c = online5("c", "c", true, NULL, ACK5);
	pp = publish5_alias("", "x", 3);
	tc_send(c, &pp);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "DISCONNECT reason=0x82 (Protocol Error) reason_string=\"topic alias not set on this connection\"");
	ck_assert(c->closed);
	tc_free(a);
	tc_free(b);
	tc_free(c);
}
END_TEST

/* ---- 9. PUBACK and PUBREC reason codes -------------------------------------------------------- */

static bool deny_secret(void *ctx, const char *client_id, const char *username, const char *topic,
			bool publish)
{
	(void)ctx;
	(void)client_id;
	(void)username;
	return !(publish && !strncmp(topic, "secret/", 7));
}

START_TEST(test_puback_reason_codes)
{
	broker_auth au = { .allow = deny_secret };
	cfg.auth = &au;
	start_broker();
	tclient *s = online5("s", "s", true, NULL, ACK5);
	sub_ok(s, 1, "t/#", 1);
	sub_ok(s, 2, "secret/#", 1);
	tclient *p5 = online5("p5", "p5", true, NULL, ACK5);
	tclient *p4 = online4("p4", "p4", true);
	/* 5.0 §3.4.2.1, §3.5.2.1 [MQTT-3.4.2-1, MQTT-3.5.2-1]: Success when it went to a
	 * subscriber, 0x10 when nobody subscribes, 0x87 when the ACL refuses it. */
	tc_publish(p5, "t/a", "1", 1, false, 1);
	tc_publish(p5, "nobody", "2", 1, false, 2);
	tc_publish(p5, "secret/x", "3", 1, false, 3);
	tc_publish(p5, "t/a", "4", 2, false, 4);
	tc_publish(p5, "nobody", "5", 2, false, 5);
	tc_publish(p5, "secret/x", "6", 2, false, 6);
	tc_run(w, 10 * MS);
	TC_EXPECT(p5, "PUBACK id=1 reason=0x00 (Success)");
	TC_EXPECT(p5, "PUBACK id=2 reason=0x10 (No matching subscribers)");
	TC_EXPECT(p5, "PUBACK id=3 reason=0x87 (Not authorized)");
	TC_EXPECT(p5, "PUBREC id=4 reason=0x00 (Success)");
	TC_EXPECT(p5, "PUBREC id=5 reason=0x10 (No matching subscribers)");
	TC_EXPECT(p5, "PUBREC id=6 reason=0x87 (Not authorized)");
	/* A PUBREC of 0x80 or more ends the exchange: id 6 is free at once, a new message
	 * under it is routed, not taken for a retry (5.0 §4.3.3). */
	tc_publish(p5, "t/b", "7", 2, false, 6);
	tc_send_hex(p5, "62 02 00 04");
	tc_send_hex(p5, "62 02 00 05");
	tc_run(w, 10 * MS);
	TC_EXPECT(p5, "PUBREC id=6 reason=0x00 (Success)");
	TC_EXPECT(p5, "PUBCOMP id=4 reason=0x00 (Success)");
	TC_EXPECT(p5, "PUBCOMP id=5 reason=0x00 (Success)");
	TC_EXPECT_NOTHING(p5);
	/* 3.1.1: the same packets as ever, no reason code. */
	tc_publish(p4, "nobody", "8", 1, false, 1);
	tc_publish(p4, "secret/x", "9", 1, false, 2);
	tc_publish(p4, "nobody", "a", 2, false, 3);
	tc_run(w, 10 * MS);
	TC_EXPECT(p4, "PUBACK id=1");
	TC_EXPECT(p4, "PUBACK id=2");
	TC_EXPECT(p4, "PUBREC id=3");
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t/a\" payload=1B");
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t/a\" payload=1B");
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=3 topic=\"t/b\" payload=1B");
	TC_EXPECT_NOTHING(s);
	tc_free(s);
	tc_free(p5);
	tc_free(p4);
}
END_TEST


/* 5.0 §3.6.2.1, §3.7.2.1: a PUBREL or PUBREC for a packet id the broker does not hold is
 * still answered [MQTT-4.3.3-11], with 0x92 (Packet Identifier not found) to a 5.0
 * client, a reason string only if it did not ask for none [MQTT-3.1.2-29]. */
/* 5.0 §4.3.3: a subscriber's PUBREC of 0x80 or more ends the exchange. The message counts as
 * acknowledged, so no PUBREL follows and a resumed session gets nothing again
 * [MQTT-4.4.0-2]; a PUBREC below 0x80 still gets its PUBREL [MQTT-4.3.3-4]. */
START_TEST(test_pubrec_error_not_resent)
{
	start_broker();
	mqtt_props p = expiry_props(60);
	tclient *a = online5("a", "dev", true, &p, ACK5);
	tc_subscribe(a, 1, "t", 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "SUBACK id=1 codes=0x02");
	tclient *pub = online4("pub", "p", true);
	tc_publish(pub, "t", "one", 2, false, 1);
	tc_publish(pub, "t", "two", 2, false, 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "PUBLISH qos=2 retain=0 dup=0 id=1 topic=\"t\" payload=3B");
	TC_EXPECT(a, "PUBLISH qos=2 retain=0 dup=0 id=2 topic=\"t\" payload=3B");
	tc_send_hex(a, "50 03 00 01 80"); /* PUBREC 1, Unspecified error */
	tc_send_hex(a, "50 03 00 02 10"); /* PUBREC 2, No matching subscribers: below 0x80 */
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "PUBREL id=2 reason=0x00 (Success)");
	TC_EXPECT_NOTHING(a);
	tc_drop(a);
	tc_run(w, 10 * MS);
	tclient *b = online5("b", "dev", false, &p, ACK5_PRESENT);
	TC_EXPECT(b, "PUBREL id=2 reason=0x00 (Success)");
	TC_EXPECT_NOTHING(b);
	tc_free(a);
	tc_free(b);
	tc_free(pub);
}
END_TEST

START_TEST(test_packet_id_not_found)
{
	start_broker();
	tclient *a = online5("a", "a", true, NULL, ACK5);
	mqtt_props quiet = { 0 };
	quiet.request_problem_info = 0;
	MQTT_SET(&quiet, MQTT_PROP_REQUEST_PROBLEM_INFO);
	tclient *q = online5("q", "q", true, &quiet, ACK5);
	tclient *f = online4("f", "f", true);
	tc_publish(a, "t", "x", 2, false, 7);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "PUBREC id=7 reason=0x10 (No matching subscribers)");
	tc_send_hex(a, "62 02 00 07"); /* PUBREL 7: held, released */
	tc_send_hex(a, "62 02 00 07"); /* PUBREL 7 again: gone */
	tc_send_hex(a, "62 02 00 09"); /* PUBREL 9: never taken */
	tc_send_hex(a, "50 02 00 05"); /* PUBREC 5: no message of ours */
	tc_send_hex(q, "62 02 00 09");
	tc_send_hex(q, "50 02 00 05");
	tc_send_hex(f, "62 02 00 09");
	tc_send_hex(f, "50 02 00 05");
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "PUBCOMP id=7 reason=0x00 (Success)");
	TC_EXPECT(a, "PUBCOMP id=7 reason=0x92 (Packet Identifier not found) reason_string=\"packet identifier not found\"");
	TC_EXPECT(a, "PUBCOMP id=9 reason=0x92 (Packet Identifier not found) reason_string=\"packet identifier not found\"");
	TC_EXPECT(a, "PUBREL id=5 reason=0x92 (Packet Identifier not found) reason_string=\"packet identifier not found\"");
	TC_EXPECT(q, "PUBCOMP id=9 reason=0x92 (Packet Identifier not found)");
	TC_EXPECT(q, "PUBREL id=5 reason=0x92 (Packet Identifier not found)");
	/* 3.1.1: the same packets as ever. */
	TC_EXPECT(f, "PUBCOMP id=9");
	TC_EXPECT(f, "PUBREL id=5");
	TC_EXPECT_NOTHING(a);
	TC_EXPECT_NOTHING(q);
	TC_EXPECT_NOTHING(f);
	ck_assert(!a->closed && !q->closed && !f->closed);
	tc_free(a);
	tc_free(q);
	tc_free(f);
}
END_TEST

/* The broker as QoS 2 sender: a PUBREC below 0x80 is answered by PUBREL [MQTT-4.3.3-4];
 * one of 0x80 or more ends the exchange, no PUBREL, and the id is free for the next
 * message (5.0 §4.3.3). */
START_TEST(test_pubrec_error_ends_exchange)
{
	mqtt_props one = { 0 };
	one.receive_max = 1; /* one message in flight: the next goes out only once id 1 is done */
	MQTT_SET(&one, MQTT_PROP_RECEIVE_MAX);
	start_broker();
	tclient *s = online5("s", "s", true, &one, ACK5);
	sub_ok(s, 1, "t", 2);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	tc_publish(p, "t", "1", 2, false, 1);
	tc_publish(p, "t", "2", 2, false, 2);
	tc_send_hex(p, "62 02 00 01");
	tc_send_hex(p, "62 02 00 02");
	tc_run(w, 10 * MS);
	TC_EXPECT(s, "PUBLISH qos=2 retain=0 dup=0 id=1 topic=\"t\" payload=1B");
	TC_EXPECT_NOTHING(s);
	tc_send_hex(s, "50 03 00 01 80"); /* PUBREC 1, Unspecified error */
	tc_run(w, 10 * MS);
	/* No PUBREL for id 1; the second message takes the freed slot. */
	TC_EXPECT(s, "PUBLISH qos=2 retain=0 dup=0 id=2 topic=\"t\" payload=1B");
	TC_EXPECT_NOTHING(s);
	tc_send_hex(s, "50 03 00 02 00"); /* PUBREC 2, Success: PUBREL follows */
	tc_send_hex(s, "50 03 00 09 97"); /* PUBREC 0x97 for an id never sent: no answer */
	tc_run(w, 10 * MS);
	TC_EXPECT(s, "PUBREL id=2 reason=0x00 (Success)");
	TC_EXPECT_NOTHING(s);
	ck_assert(!s->closed);
	tc_free(s);
	tc_free(p);
}
END_TEST

/* PUBLISH with Payload Format Indicator pfi (0: none) at qos with id. */
static void publish_pfi(tclient *c, const char *payload, size_t len, int pfi, uint8_t qos, uint16_t id)
{
	mqtt_packet p = { .type = MQTT_PUBLISH, .version = MQTT_V5, .packet_id = id };
	p.publish.qos = qos;
	p.publish.topic = (mqtt_str){ (const uint8_t *)"t", 1 };
	p.publish.payload = (mqtt_str){ (const uint8_t *)payload, (uint32_t)len };
	if (pfi >= 0) {
		p.props.payload_format = (uint8_t)pfi;
		MQTT_SET(&p.props, MQTT_PROP_PAYLOAD_FORMAT);
	}
	tc_send(c, &p);
}

/* 5.0 §3.3.2.3.2: told to (check_payload_format), the broker refuses a payload that is not
 * the UTF-8 its Payload Format Indicator 1 says, PUBACK/PUBREC 0x99, and delivers nothing;
 * by default it forwards payloads unread. */
START_TEST(test_payload_format_invalid)
{
	cfg.check_payload_format = true;
	start_broker();
	tclient *s = online5("s", "s", true, NULL, ACK5);
	sub_ok(s, 1, "t", 1);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	mqtt_props quiet = { 0 };
	quiet.request_problem_info = 0;
	MQTT_SET(&quiet, MQTT_PROP_REQUEST_PROBLEM_INFO);
	tclient *q = online5("q", "q", true, &quiet, ACK5);
	publish_pfi(p, "caf\xc3\xa9", 5, 1, 1, 1);  /* UTF-8: delivered */
	publish_pfi(p, "caf\xe9", 4, 1, 1, 2);       /* Latin-1 under PFI 1 */
	publish_pfi(p, "caf\xe9", 4, 1, 2, 3);
	publish_pfi(p, "caf\xe9", 4, 0, 1, 4);       /* PFI 0: bytes, whatever they are */
	publish_pfi(p, "a\0b", 3, 1, 1, 5);          /* U+0000 is well-formed UTF-8: delivered */
	publish_pfi(q, "\xff", 1, 1, 1, 6);
	publish_pfi(p, "\xed\xa0\x80", 3, 1, 0, 0); /* a surrogate at QoS 0: dropped quietly */
	tc_run(w, 10 * MS);
	TC_EXPECT(p, "PUBACK id=1 reason=0x00 (Success)");
	TC_EXPECT(p, "PUBACK id=2 reason=0x99 (Payload format invalid) reason_string=\"payload is not "
		     "UTF-8 but its Payload Format Indicator says it is\"");
	TC_EXPECT(p, "PUBREC id=3 reason=0x99 (Payload format invalid) reason_string=\"payload is not "
		     "UTF-8 but its Payload Format Indicator says it is\"");
	TC_EXPECT(p, "PUBACK id=4 reason=0x00 (Success)");
	TC_EXPECT(p, "PUBACK id=5 reason=0x00 (Success)");
	TC_EXPECT(q, "PUBACK id=6 reason=0x99 (Payload format invalid)");
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=5B payload_format=1");
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t\" payload=4B payload_format=0");
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=3 topic=\"t\" payload=3B payload_format=1");
	TC_EXPECT_NOTHING(s);
	TC_EXPECT_NOTHING(p);
	/* The exchange of id 3 ended at PUBREC 0x99: the id is free (5.0 §4.3.3). */
	publish_pfi(p, "ok", 2, 1, 2, 3);
	tc_run(w, 10 * MS);
	TC_EXPECT(p, "PUBREC id=3 reason=0x00 (Success)");
	tc_free(s);
	tc_free(p);
	tc_free(q);
	teardown();
	/* Off (the default): forwarded unread. */
	cfg.check_payload_format = false;
	start_broker();
	s = online5("s", "s", true, NULL, ACK5);
	sub_ok(s, 1, "t", 1);
	p = online5("p", "p", true, NULL, ACK5);
	publish_pfi(p, "caf\xe9", 4, 1, 1, 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(p, "PUBACK id=2 reason=0x00 (Success)");
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=4B payload_format=1");
	tc_free(s);
	tc_free(p);
}
END_TEST

/* ---- 10. Subscription options ------------------------------------------------------------------ */

/* A 5.0 SUBSCRIBE of these entries, with Subscription Identifier sub_id (0: none). */
static void sub5(tclient *c, uint16_t id, const mqtt_sub *subs, uint32_t n, uint32_t sub_id)
{
	mqtt_packet p = { .type = MQTT_SUBSCRIBE, .version = MQTT_V5, .packet_id = id };
	p.subscribe.items = subs;
	p.subscribe.count = n;
	if (sub_id) {
		p.props.sub_ids = &sub_id;
		p.props.sub_id_count = 1;
	}
	tc_send(c, &p);
	tc_run(w, 10 * MS);
}

/* One filter, with its options: nl No Local, rap Retain As Published, rh Retain Handling. */
static void sub5_one(tclient *c, uint16_t id, const char *filter, uint8_t qos, bool nl, bool rap, uint8_t rh,
		     uint32_t sub_id)
{
	mqtt_sub e = { .filter = { (const uint8_t *)filter, (uint32_t)strlen(filter) }, .qos = qos,
		       .no_local = nl, .retain_as_published = rap, .retain_handling = rh };
	sub5(c, id, &e, 1, sub_id);
}

static void sub5_ok(tclient *c, uint16_t id, const char *filter, uint8_t qos, bool nl, bool rap, uint8_t rh,
		    uint32_t sub_id)
{
	char want[64];
	sub5_one(c, id, filter, qos, nl, rap, rh, sub_id);
	snprintf(want, sizeof want, "SUBACK id=%u codes=0x%02X", id, qos);
	TC_EXPECT(c, want);
}

START_TEST(test_sub_no_local)
{
	start_broker();
	tclient *a = online5("a", "a", true, NULL, ACK5);
	tclient *b = online5("b", "b", true, NULL, ACK5);
	sub5_ok(a, 1, "t/#", 1, true, false, 0, 0);
	/* Its own message does not come back on a No Local subscription [MQTT-3.8.3-3]; with
	 * nobody else subscribed that is "No matching subscribers". */
	tc_publish(a, "t/x", "1", 1, false, 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "PUBACK id=1 reason=0x10 (No matching subscribers)");
	TC_EXPECT_NOTHING(a);
	/* Another client's message does. */
	tc_publish(b, "t/x", "2", 1, false, 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(b, "PUBACK id=1 reason=0x00 (Success)");
	TC_EXPECT(a, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t/x\" payload=1B");
	tc_send_hex(a, "40 02 00 01");
	/* An overlapping subscription without No Local brings its own messages back, once,
	 * at that subscription's QoS (the No Local one takes no part). */
	sub5_ok(a, 2, "t/x", 0, false, false, 0, 0);
	tc_publish(a, "t/x", "3", 1, false, 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "PUBLISH qos=0 retain=0 dup=0 topic=\"t/x\" payload=1B");
	TC_EXPECT(a, "PUBACK id=2 reason=0x00 (Success)");
	TC_EXPECT_NOTHING(a);
	TC_EXPECT_NOTHING(b);
	/* No Local on a shared subscription is a protocol error [MQTT-3.8.3-4]. */
	sub5_one(b, 2, "$share/g/t/#", 0, true, false, 0, 0);
	TC_EXPECT(b, "DISCONNECT reason=0x82 (Protocol Error) reason_string=\"No Local is set on the shared "
		     "subscription \\\"$share/g/t/#\\\"\"");
	ck_assert(b->closed);
	tc_free(a);
	tc_free(b);
}
END_TEST

START_TEST(test_sub_no_local_will)
{
	start_broker();
	/* A will is its client's message too: a No Local subscription of a session that lives
	 * on does not get it back; another subscriber does. */
	mqtt_props e = expiry_props(60);
	tclient *a = tc_new(w, "a", bh, PORT);
	mqtt_packet k = { .type = MQTT_CONNECT, .version = MQTT_V5, .props = e };
	k.connect.client_id = MQTT_STR("a");
	k.connect.clean_start = true;
	k.connect.will = true;
	k.connect.will_qos = 1;
	k.connect.will_topic = MQTT_STR("w/a");
	k.connect.will_payload = MQTT_STR("gone");
	a->version = MQTT_V5;
	tc_send(a, &k);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, ACK5);
	sub5_ok(a, 1, "w/#", 1, true, false, 0, 0);
	tclient *b = online5("b", "b", true, NULL, ACK5);
	sub_ok(b, 1, "w/#", 1);
	tc_drop(a);
	tc_run(w, 10 * MS);
	TC_EXPECT(b, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"w/a\" payload=4B");
	tclient *a2 = online5("a2", "a", false, &e, ACK5_PRESENT);
	TC_EXPECT_NOTHING(a2);
	tc_free(a);
	tc_free(a2);
	tc_free(b);
}
END_TEST

START_TEST(test_sub_retain_as_published)
{
	start_broker();
	tclient *rap = online5("rap", "rap", true, NULL, ACK5);
	tclient *plain = online5("plain", "plain", true, NULL, ACK5);
	tclient *old = online4("old", "old", true);
	sub5_ok(rap, 1, "r/#", 0, false, true, 0, 0);
	sub5_ok(plain, 1, "r/#", 0, false, false, 0, 0);
	sub_ok(old, 1, "r/#", 0);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	tc_publish(p, "r/a", "kept", 0, true, 0);
	tc_publish(p, "r/b", "live", 0, false, 0);
	tc_run(w, 10 * MS);
	/* Retain As Published 1: RETAIN as the publisher set it [MQTT-3.3.1-13]; 0 (and
	 * 3.1.1): RETAIN 0 on a live forward [MQTT-3.3.1-12]. */
	TC_EXPECT(rap, "PUBLISH qos=0 retain=1 dup=0 topic=\"r/a\" payload=4B");
	TC_EXPECT(rap, "PUBLISH qos=0 retain=0 dup=0 topic=\"r/b\" payload=4B");
	TC_EXPECT(plain, "PUBLISH qos=0 retain=0 dup=0 topic=\"r/a\" payload=4B");
	TC_EXPECT(plain, "PUBLISH qos=0 retain=0 dup=0 topic=\"r/b\" payload=4B");
	TC_EXPECT(old, "PUBLISH qos=0 retain=0 dup=0 topic=\"r/a\" payload=4B");
	TC_EXPECT(old, "PUBLISH qos=0 retain=0 dup=0 topic=\"r/b\" payload=4B");
	/* A retained message sent for a new subscription has RETAIN 1 whatever the option
	 * [MQTT-3.3.1-9 of 3.1.1, 5.0 §3.3.1.3]. */
	sub5_ok(plain, 2, "r/a", 0, false, false, 0, 0);
	TC_EXPECT(plain, "PUBLISH qos=0 retain=1 dup=0 topic=\"r/a\" payload=4B");
	TC_EXPECT_NOTHING(rap);
	TC_EXPECT_NOTHING(plain);
	TC_EXPECT_NOTHING(old);
	tc_free(rap);
	tc_free(plain);
	tc_free(old);
	tc_free(p);
}
END_TEST

START_TEST(test_sub_retain_handling)
{
	start_broker();
	tclient *p = online5("p", "p", true, NULL, ACK5);
	tc_publish(p, "k/1", "one", 0, true, 0);
	tc_run(w, 10 * MS);
	tclient *c = online5("c", "c", true, NULL, ACK5);
	/* 0: the retained messages at every SUBSCRIBE, a repeated one too [MQTT-3.3.1-9]. */
	sub5_ok(c, 1, "k/#", 0, false, false, 0, 0);
	TC_EXPECT(c, "PUBLISH qos=0 retain=1 dup=0 topic=\"k/1\" payload=3B");
	sub5_ok(c, 2, "k/#", 0, false, false, 0, 0);
	TC_EXPECT(c, "PUBLISH qos=0 retain=1 dup=0 topic=\"k/1\" payload=3B");
	/* 1: only if the subscription did not exist [MQTT-3.3.1-10]. */
	sub5_ok(c, 3, "k/+", 0, false, false, 1, 0);
	TC_EXPECT(c, "PUBLISH qos=0 retain=1 dup=0 topic=\"k/1\" payload=3B");
	sub5_ok(c, 4, "k/+", 0, false, false, 1, 0);
	sub5_ok(c, 5, "k/#", 0, false, false, 1, 0);
	TC_EXPECT_NOTHING(c);
	/* 2: never [MQTT-3.3.1-11]. */
	sub5_ok(c, 6, "k/1", 0, false, false, 2, 0);
	sub5_ok(c, 7, "+/1", 0, false, false, 2, 0);
	TC_EXPECT_NOTHING(c);
	/* Live messages flow whatever the handling. */
	tc_publish(p, "k/1", "two", 0, false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "PUBLISH qos=0 retain=0 dup=0 topic=\"k/1\" payload=3B");
	TC_EXPECT_NOTHING(c);
	tc_free(p);
	tc_free(c);
}
END_TEST

/* No Local, Retain As Published and the Subscription Identifier are kept in the store with
 * the subscription, and a queued delivery keeps its identifiers. */
START_TEST(test_sub_options_survive_restart)
{
	start_persistent();
	mqtt_props e = expiry_props(3600);
	tclient *a = online5("a", "a", true, &e, ACK5);
	sub5_ok(a, 1, "o/#", 1, true, true, 0, 7);
	sub5_ok(a, 2, "o/x", 1, false, false, 0, 0);
	sub5_ok(a, 3, "q/#", 1, false, false, 0, 0);
	tc_drop(a);
	tc_run(w, 10 * MS);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	tc_publish(p, "o/y", "queued", 1, true, 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(p, "PUBACK id=1 reason=0x00 (Success)");
	sim_host_crash(bh);
	tc_run(w, 1 * SEC);
	sim_host_restart(bh);
	tc_run(w, 10 * MS);
	tclient *b = online5("b", "a", false, &e, ACK5_PRESENT);
	/* Queued with its identifier and, by Retain As Published, RETAIN 1. */
	TC_EXPECT(b, "PUBLISH qos=1 retain=1 dup=0 id=1 topic=\"o/y\" payload=6B subscription_id=7");
	tc_send_hex(b, "40 02 00 01");
	/* No Local still holds: its own message comes back on o/x alone, without an identifier. */
	tc_publish(b, "o/x", "mine", 1, false, 1);
	tc_publish(b, "o/z", "mine", 1, false, 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(b, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"o/x\" payload=4B");
	TC_EXPECT(b, "PUBACK id=1 reason=0x00 (Success)");
	TC_EXPECT(b, "PUBACK id=2 reason=0x10 (No matching subscribers)");
	TC_EXPECT_NOTHING(b);
	tc_send_hex(b, "40 02 00 02");
	tc_run(w, 10 * MS);
	/* Again, from the snapshot the restart wrote (the options in its R_SUB records). */
	sim_host_crash(bh);
	tc_run(w, 1 * SEC);
	sim_host_restart(bh);
	tc_run(w, 10 * MS);
	tclient *b2 = online5("b2", "a", false, &e, ACK5_PRESENT);
	tclient *p2 = online5("p2", "p", true, NULL, ACK5);
	tc_publish(b2, "o/z", "mine", 0, false, 0);
	tc_publish(p2, "o/z", "theirs", 0, true, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(b2, "PUBLISH qos=0 retain=1 dup=0 topic=\"o/z\" payload=6B subscription_id=7");
	TC_EXPECT_NOTHING(b2);
	tc_free(a);
	tc_free(b);
	tc_free(b2);
	tc_free(p);
	tc_free(p2);
}
END_TEST

/* ---- 11. SUBACK and UNSUBACK reason codes ------------------------------------------------------ */

static bool deny_read_secret(void *ctx, const char *client_id, const char *username, const char *topic,
			     bool publish)
{
	(void)ctx;
	(void)client_id;
	(void)username;
	return publish || strncmp(topic, "secret/", 7);
}

START_TEST(test_suback_reason_codes)
{
	broker_auth au = { .allow = deny_read_secret };
	cfg.auth = &au;
	cfg.max_subscriptions = 3;
	cfg.max_qos = 1;
	start_broker();
	tclient *c = online5("c", "c", true, NULL,
			     "CONNACK session_present=0 reason=0 (Success) receive_max=65535 topic_alias_max=10 "
			     "max_qos=1 max_packet_size=1048576");
	/* A code per filter, in order [MQTT-3.8.4-6, MQTT-3.9.3-1]: granted QoS (at most the
	 * maximum, 5.0 §3.9.3), 0x87 not authorized, 0x97 past max_subscriptions (a shared
	 * subscription counts). */
	mqtt_sub s[6] = {
		{ .filter = MQTT_STR("a"), .qos = 0 }, { .filter = MQTT_STR("b/+"), .qos = 2 },
		{ .filter = MQTT_STR("secret/x"), .qos = 1 }, { .filter = MQTT_STR("$share/g/a"), .qos = 1 },
		{ .filter = MQTT_STR("c/#"), .qos = 1 }, { .filter = MQTT_STR("d"), .qos = 1 },
	};
	sub5(c, 1, s, 6, 0);
	TC_EXPECT(c, "SUBACK id=1 codes=0x00,0x01,0x87,0x01,0x97,0x97");
	/* Replacing one held is granted at the limit. */
	sub5(c, 2, s, 1, 0);
	TC_EXPECT(c, "SUBACK id=2 codes=0x00");
	/* UNSUBACK: 0x00 removed, 0x11 none existed, 0x87 not authorized [MQTT-3.11.3-1]. */
	tc_send_hex(c, "a2 13 00 03 00 00 01 61 00 01 61 00 08 73 65 63 72 65 74 2f 78");
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "UNSUBACK id=3 codes=0x00,0x11,0x87");
	/* 3.1.1 has only 0x80 for every refusal [MQTT-3.9.3-2]. */
	tclient *d = online4("d", "d", true);
	mqtt_packet sp = { .type = MQTT_SUBSCRIBE, .version = MQTT_V311, .packet_id = 1 };
	sp.subscribe.items = s;
	sp.subscribe.count = 6;
	tc_send(d, &sp);
	tc_run(w, 10 * MS);
	TC_EXPECT(d, "SUBACK id=1 codes=0x00,0x01,0x80,0x01,0x80,0x80");
	TC_EXPECT_NOTHING(c);
	TC_EXPECT_NOTHING(d);
	/* A filter that is not correctly formed is no SUBACK matter: the connection closes. */
	sub5_one(c, 4, "a/#/b", 0, false, false, 0, 0);
	TC_EXPECT(c, "DISCONNECT reason=0x8F (Topic Filter invalid) reason_string=\"'#' must be the last "
		     "character and stand alone in its level\"");
	ck_assert(c->closed);
	tc_free(c);
	tc_free(d);
}
END_TEST

START_TEST(test_suback_capabilities_off)
{
	cfg.no_sub_ids = true;
	cfg.no_wildcards = true;
	cfg.no_shared_subs = true;
	start_broker();
	/* CONNACK says what is off [5.0 §3.2.2.3.11, .12]; absent means available. */
	tclient *c = online5("c", "c", true, NULL,
			     "CONNACK session_present=0 reason=0 (Success) receive_max=65535 topic_alias_max=10 "
			     "max_packet_size=1048576 wildcard_sub_available=0 sub_id_available=0 "
			     "shared_sub_available=0");
	mqtt_sub s[4] = { { .filter = MQTT_STR("a/+"), .qos = 1 }, { .filter = MQTT_STR("$share/g/a/b"), .qos = 1 },
			  { .filter = MQTT_STR("a/#"), .qos = 1 }, { .filter = MQTT_STR("a/b"), .qos = 1 } };
	/* 0xA2 for a wildcard filter, 0x9E for a shared one, the rest served. */
	sub5(c, 1, s, 4, 0);
	TC_EXPECT(c, "SUBACK id=1 codes=0xA2,0x9E,0xA2,0x01");
	/* 0xA1 for every filter of a SUBSCRIBE with a Subscription Identifier: none is made. */
	sub5(c, 2, s + 3, 1, 5);
	TC_EXPECT(c, "SUBACK id=2 codes=0xA1");
	tclient *d = online4("d", "d", true);
	tc_subscribe(d, 1, "a/+", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(d, "SUBACK id=1 codes=0x80");
	tclient *p = online5("p", "p", true, NULL,
			     "CONNACK session_present=0 reason=0 (Success) receive_max=65535 topic_alias_max=10 "
			     "max_packet_size=1048576 wildcard_sub_available=0 sub_id_available=0 "
			     "shared_sub_available=0");
	tc_publish(p, "a/b", "x", 0, false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "PUBLISH qos=0 retain=0 dup=0 topic=\"a/b\" payload=1B");
	TC_EXPECT_NOTHING(c);
	TC_EXPECT_NOTHING(d);
	tc_free(c);
	tc_free(d);
	tc_free(p);
}
END_TEST

/* ---- 12. Subscription Identifiers ----------------------------------------------------------------- */

START_TEST(test_sub_ids)
{
	start_broker();
	tclient *c = online5("c", "c", true, NULL, ACK5);
	tclient *o = online5("o", "o", true, NULL, ACK5);
	sub5_ok(c, 1, "s/#", 1, false, false, 0, 1);
	sub5_ok(c, 2, "s/+", 0, false, false, 0, 268435455);
	sub5_ok(c, 3, "s/x", 1, false, false, 0, 0);
	sub5_ok(o, 1, "s/x", 1, false, false, 0, 9);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	tc_publish(p, "s/x", "a", 1, false, 1);
	tc_publish(p, "s/y/z", "b", 0, false, 0);
	tc_run(w, 10 * MS);
	/* One copy, at the highest QoS, with the identifiers of every matching subscription
	 * that has one [MQTT-3.3.4-3, -4]; each client its own [MQTT-3.3.4-5]. */
	TC_EXPECT(c, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"s/x\" payload=1B subscription_id=1,268435455");
	TC_EXPECT(c, "PUBLISH qos=0 retain=0 dup=0 topic=\"s/y/z\" payload=1B subscription_id=1");
	TC_EXPECT(o, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"s/x\" payload=1B subscription_id=9");
	tc_send_hex(c, "40 02 00 01");
	tc_send_hex(o, "40 02 00 01");
	/* Subscribing to a filter again replaces its identifier, with none if none is given
	 * (5.0 §3.8.2.1.2). */
	sub5_ok(c, 4, "s/+", 0, false, false, 0, 0);
	tc_publish(p, "s/x", "c", 0, true, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "PUBLISH qos=0 retain=0 dup=0 topic=\"s/x\" payload=1B subscription_id=1");
	TC_EXPECT(o, "PUBLISH qos=0 retain=0 dup=0 topic=\"s/x\" payload=1B subscription_id=9");
	/* A retained message sent for a subscription carries its identifier. */
	sub5_ok(o, 2, "s/#", 0, false, false, 0, 3);
	TC_EXPECT(o, "PUBLISH qos=0 retain=1 dup=0 topic=\"s/x\" payload=1B subscription_id=3");
	/* A 3.1.1 subscriber never sees them. */
	tclient *d = online4("d", "d", true);
	sub_ok(d, 1, "s/#", 0);
	TC_EXPECT(d, "PUBLISH qos=0 retain=1 dup=0 topic=\"s/x\" payload=1B");
	TC_EXPECT_NOTHING(c);
	TC_EXPECT_NOTHING(o);
	TC_EXPECT_NOTHING(d);
	TC_EXPECT(p, "PUBACK id=1 reason=0x00 (Success)");
	/* A PUBLISH from a client must not carry one [MQTT-3.3.4-6]: a protocol error. */
	mqtt_packet pp = publish5("s/x", "d", 0, false, 0);
	uint32_t id = 4;
	pp.props.sub_ids = &id;
	pp.props.sub_id_count = 1;
	tc_send(p, &pp);
	tc_run(w, 10 * MS);
	TC_EXPECT(p, "DISCONNECT reason=0x82 (Protocol Error) reason_string=\"subscription identifier in a "
		     "PUBLISH from a client\"");
	ck_assert(p->closed);
	/* Nor may a SUBSCRIBE's be 0 (5.0 §3.8.2.1.2). */
	tc_send_hex(o, "82 09 00 05 02 0b 00 00 01 61 00");
	tc_run(w, 10 * MS);
	const char *got = tc_next(o);
	ck_assert_msg(got && !strncmp(got, "DISCONNECT reason=0x82 (Protocol Error)", 39), "got %s", got ? got : "nothing");
	ck_assert(o->closed);
	tc_free(c);
	tc_free(o);
	tc_free(d);
	tc_free(p);
}
END_TEST


/* ---- 13. Shared subscriptions ------------------------------------------------------------------ */

START_TEST(test_shared_round_robin)
{
	start_broker();
	tclient *p = online5("p", "p", true, NULL, ACK5);
	tc_publish(p, "j/r", "kept", 1, true, 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(p, "PUBACK id=1 reason=0x10 (No matching subscribers)");
	tclient *m[3];
	char host[8];
	for (int i = 0; i < 3; i++) {
		snprintf(host, sizeof host, "m%d", i + 1);
		m[i] = online5(host, host, true, NULL, ACK5);
		/* Retained messages are not sent for a shared subscription (5.0 §4.8.2). */
		sub5_ok(m[i], 1, "$share/g/j/#", 1, false, false, 0, i == 2 ? 33 : 0);
		TC_EXPECT_NOTHING(m[i]);
	}
	/* Another group of the same filter gets every message too, to its one member; the
	 * share name tells groups apart, the filter after it decides what matches. */
	tclient *o = online5("o", "o", true, NULL, ACK5);
	sub5_ok(o, 1, "$share/h/j/+", 0, false, false, 0, 0);
	/* Each message to one member, round robin in subscription order [MQTT-4.8.2-*]; the
	 * member's own Subscription Identifier with it. */
	char pl[2] = "0";
	for (uint16_t i = 0; i < 6; i++) {
		pl[0] = (char)('1' + i);
		tc_publish(p, "j/x", pl, 1, false, (uint16_t)(10 + i));
	}
	tc_run(w, 10 * MS);
	for (uint16_t i = 0; i < 6; i++) {
		char want[64];
		snprintf(want, sizeof want, "PUBACK id=%u reason=0x00 (Success)", 10 + i);
		TC_EXPECT(p, want);
	}
	TC_EXPECT(m[0], "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"j/x\" payload=1B");
	TC_EXPECT(m[0], "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"j/x\" payload=1B");
	TC_EXPECT(m[1], "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"j/x\" payload=1B");
	TC_EXPECT(m[1], "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"j/x\" payload=1B");
	TC_EXPECT(m[2], "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"j/x\" payload=1B subscription_id=33");
	TC_EXPECT(m[2], "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"j/x\" payload=1B subscription_id=33");
	for (int i = 0; i < 6; i++)
		TC_EXPECT(o, "PUBLISH qos=0 retain=0 dup=0 topic=\"j/x\" payload=1B");
	for (int i = 0; i < 3; i++) {
		tc_send_hex(m[i], "40 02 00 01");
		tc_send_hex(m[i], "40 02 00 02");
		TC_EXPECT_NOTHING(m[i]);
	}
	TC_EXPECT_NOTHING(o);
	/* A member that leaves is no longer served; its own ordinary subscription beside the
	 * group's is a second subscription, a second copy. */
	tc_send_hex(m[1], "a2 11 00 05 00 00 0c 24 73 68 61 72 65 2f 67 2f 6a 2f 23"); /* $share/g/j/# */
	tc_run(w, 10 * MS);
	TC_EXPECT(m[1], "UNSUBACK id=5 codes=0x00");
	sub5_ok(m[0], 2, "j/x", 0, false, false, 0, 0);
	tc_publish(p, "j/x", "a", 0, false, 0);
	tc_publish(p, "j/x", "b", 0, false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(m[0], "PUBLISH qos=0 retain=0 dup=0 topic=\"j/x\" payload=1B");
	TC_EXPECT(m[0], "PUBLISH qos=0 retain=0 dup=0 topic=\"j/x\" payload=1B");
	TC_EXPECT(m[0], "PUBLISH qos=0 retain=0 dup=0 topic=\"j/x\" payload=1B");
	TC_EXPECT(m[2], "PUBLISH qos=0 retain=0 dup=0 topic=\"j/x\" payload=1B subscription_id=33");
	TC_EXPECT_NOTHING(m[0]);
	TC_EXPECT_NOTHING(m[1]);
	TC_EXPECT_NOTHING(m[2]);
	/* A 3.1.1 client's "$share/g/j/#" is an ordinary filter that matches no topic
	 * starting with "j" (its first level is "$share"). */
	tclient *d = online4("d", "d", true);
	sub_ok(d, 1, "$share/g/j/#", 1);
	tc_publish(p, "j/x", "c", 0, false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT_NOTHING(d);
	for (int i = 0; i < 3; i++)
		tc_free(m[i]);
	tc_free(o);
	tc_free(p);
	tc_free(d);
}
END_TEST

START_TEST(test_shared_payload_order)
{
	/* Which member got which message, by payload: strictly 1, 2, 3, 1, 2, 3. */
	start_broker();
	mqtt_props ex = expiry_props(3600);
	tclient *m[3];
	char host[8];
	for (int i = 0; i < 3; i++) {
		snprintf(host, sizeof host, "m%d", i + 1);
		m[i] = online5(host, host, true, &ex, ACK5);
		sub5_ok(m[i], 1, "$share/g/q", 0, false, false, 0, 0);
	}
	tclient *p = online5("p", "p", true, NULL, ACK5);
	const char *pl[6] = { "a", "bb", "ccc", "dddd", "eeeee", "ffffff" };
	for (int i = 0; i < 6; i++)
		tc_publish(p, "q", pl[i], 0, false, 0);
	tc_run(w, 10 * MS);
	for (int i = 0; i < 6; i++) {
		char want[64];
		snprintf(want, sizeof want, "PUBLISH qos=0 retain=0 dup=0 topic=\"q\" payload=%dB", i + 1);
		TC_EXPECT(m[i % 3], want);
	}
	/* m2 goes offline, its session (and membership) kept: passed over while another
	 * member is online. */
	tc_drop(m[1]);
	tc_run(w, 10 * MS);
	for (int i = 0; i < 2; i++)
		tc_publish(p, "q", pl[i], 0, false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(m[0], "PUBLISH qos=0 retain=0 dup=0 topic=\"q\" payload=1B");
	TC_EXPECT(m[2], "PUBLISH qos=0 retain=0 dup=0 topic=\"q\" payload=2B");
	/* Back, it takes its turn again: after m3 (served last) come m1, then m2. */
	tclient *back = online5("m2b", "m2", false, &ex, ACK5_PRESENT);
	for (int i = 0; i < 3; i++)
		tc_publish(p, "q", pl[i], 0, false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(m[0], "PUBLISH qos=0 retain=0 dup=0 topic=\"q\" payload=1B");
	TC_EXPECT(back, "PUBLISH qos=0 retain=0 dup=0 topic=\"q\" payload=2B");
	TC_EXPECT(m[2], "PUBLISH qos=0 retain=0 dup=0 topic=\"q\" payload=3B");
	TC_EXPECT_NOTHING(m[0]);
	TC_EXPECT_NOTHING(m[2]);
	TC_EXPECT_NOTHING(back);
	for (int i = 0; i < 3; i++)
		tc_free(m[i]);
	tc_free(back);
	tc_free(p);
}
END_TEST

START_TEST(test_shared_handoff)
{
	start_broker();
	mqtt_props e60 = expiry_props(60);
	tclient *a = online5("a", "a", true, &e60, ACK5);
	tclient *b = online5("b", "b", true, NULL, ACK5);
	sub5_ok(a, 1, "$share/g/t", 1, false, false, 0, 0);
	sub5_ok(b, 1, "$share/g/t", 1, false, false, 0, 4);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	tc_publish(p, "t", "one", 1, false, 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=3B");
	/* a goes without acknowledging it; its session lives on for 60 s, and the message
	 * waits for it (the standard lets the server wait) ... */
	tc_drop(a);
	tc_run(w, 30 * SEC);
	TC_EXPECT_NOTHING(b);
	/* ... and when the session ends it goes to another member [MQTT-4.8.2-4], with
	 * that member's Subscription Identifier. */
	tc_run(w, 31 * SEC);
	TC_EXPECT(b, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=3B subscription_id=4");
	tc_send_hex(b, "40 02 00 01");
	/* A session that ends with its connection hands over at once; one acknowledged stays
	 * delivered. */
	tclient *c = online5("c", "c", true, NULL, ACK5);
	sub5_ok(c, 1, "$share/g/t", 1, false, false, 0, 0);
	tc_publish(p, "t", "two", 1, false, 2);   /* to c: b was served last (the handoff) */
	tc_publish(p, "t", "three", 1, false, 3); /* to b */
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=3B");
	TC_EXPECT(b, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t\" payload=5B subscription_id=4");
	tc_send_hex(c, "40 02 00 01");
	tc_run(w, 10 * MS);
	tc_drop(b);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t\" payload=5B");
	TC_EXPECT_NOTHING(c);
	tc_free(a);
	tc_free(b);
	tc_free(c);
	tc_free(p);
}
END_TEST

START_TEST(test_shared_survives_restart)
{
	start_persistent();
	mqtt_props e = expiry_props(3600);
	tclient *a = online5("a", "a", true, &e, ACK5);
	tclient *b = online5("b", "b", true, &e, ACK5);
	sub5_ok(a, 1, "$share/grp/s/+", 1, false, false, 0, 0);
	sub5_ok(b, 1, "$share/grp/s/+", 1, false, true, 0, 12);
	/* Twice: from the log, then from the snapshot the first restart wrote. */
	for (int k = 0; k < 2; k++) {
		sim_host_crash(bh);
		tc_run(w, 1 * SEC);
		sim_host_restart(bh);
		tc_run(w, 10 * MS);
	}
	tclient *a2 = online5("a2", "a", false, &e, ACK5_PRESENT);
	tclient *b2 = online5("b2", "b", false, &e, ACK5_PRESENT);
	tclient *p = online5("p", "p", true, NULL, ACK5);
	tc_publish(p, "s/1", "x", 1, true, 1);
	tc_publish(p, "s/2", "y", 1, true, 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(a2, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"s/1\" payload=1B");
	TC_EXPECT(b2, "PUBLISH qos=1 retain=1 dup=0 id=1 topic=\"s/2\" payload=1B subscription_id=12");
	/* And it is a group, not an ordinary filter "$share/grp/s/+". */
	tc_send_hex(b2, "a2 13 00 05 00 00 0e 24 73 68 61 72 65 2f 67 72 70 2f 73 2f 2b"); /* $share/grp/s/+ */
	tc_run(w, 10 * MS);
	TC_EXPECT(b2, "UNSUBACK id=5 codes=0x00");
	TC_EXPECT_NOTHING(a2);
	TC_EXPECT_NOTHING(b2);
	tc_free(a);
	tc_free(b);
	tc_free(a2);
	tc_free(b2);
	tc_free(p);
}
END_TEST


/* ---- 14. Will Delay Interval and will properties -------------------------------------------------- */

/* A 5.0 client with a QoS 1 will on w/ID: Session Expiry `expiry` (NULL-free: always set),
 * Will Delay `delay` (0: none), and, when props, the will properties of publish5_props plus
 * a Message Expiry Interval of 100 s. */
static tclient *online_will5(const char *host, const char *id, bool clean, uint32_t expiry, uint32_t delay,
			     bool props, const char *want)
{
	tclient *c = tc_new(w, host, bh, PORT);
	char topic[32];
	snprintf(topic, sizeof topic, "w/%s", id);
	mqtt_packet k = { .type = MQTT_CONNECT, .version = MQTT_V5, .props = expiry_props(expiry) };
	k.connect.client_id = (mqtt_str){ (const uint8_t *)id, (uint32_t)strlen(id) };
	k.connect.clean_start = clean;
	k.connect.will = true;
	k.connect.will_qos = 1;
	k.connect.will_topic = (mqtt_str){ (const uint8_t *)topic, (uint32_t)strlen(topic) };
	k.connect.will_payload = MQTT_STR("bye");
	mqtt_props *wp = &k.connect.will_props;
	if (props) {
		*wp = publish5_props("x", "x", 0, false, 0).props;
		wp->message_expiry = 100;
		MQTT_SET(wp, MQTT_PROP_MESSAGE_EXPIRY);
	}
	if (delay) {
		wp->will_delay = delay;
		MQTT_SET(wp, MQTT_PROP_WILL_DELAY);
	}
	c->version = MQTT_V5;
	tc_send(c, &k);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, want);
	return c;
}

START_TEST(test_will_delay)
{
	start_broker();
	tclient *s = online5("s", "s", true, NULL, ACK5);
	sub_ok(s, 1, "w/#", 1);
	/* Published once its delay has passed, with its properties, order kept, and its
	 * Message Expiry Interval counted from then [MQTT-3.1.2-8, MQTT-3.1.3-10]. */
	tclient *a = online_will5("a", "a", true, 60, 5, true, ACK5);
	tc_drop(a);
	tc_run(w, 4990 * MS);
	TC_EXPECT_NOTHING(s);
	tc_run(w, 20 * MS);
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"w/a\" payload=3B payload_format=1 message_expiry=100 " PROPS_SEEN_REST);
	tc_send_hex(s, "40 02 00 01");
	/* Not at all when a connection for the client id comes within the delay
	 * [MQTT-3.1.3-9]: resuming the session, or with Clean Start discarding it. */
	tclient *b = online_will5("b", "b", true, 60, 10, false, ACK5);
	tclient *e = online_will5("e", "e", true, 60, 10, false, ACK5);
	tc_drop(b);
	tc_drop(e);
	tc_run(w, 3 * SEC);
	tclient *b2 = online5("b2", "b", false, NULL, ACK5_PRESENT);
	tclient *e2 = online5("e2", "e", true, NULL, ACK5);
	tc_run(w, 15 * SEC);
	TC_EXPECT_NOTHING(s);
	/* At the session's end when that comes first [MQTT-3.1.2-8]: expiry 2 s, delay 10 s. */
	tclient *c = online_will5("c", "c", true, 2, 10, false, ACK5);
	tc_drop(c);
	tc_run(w, 1900 * MS);
	TC_EXPECT_NOTHING(s);
	tc_run(w, 200 * MS);
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"w/c\" payload=3B");
	tc_send_hex(s, "40 02 00 02");
	/* A session that ends with its connection (expiry 0): at once. */
	tclient *d = online_will5("d", "d", true, 0, 10, false, ACK5);
	tc_drop(d);
	tc_run(w, 10 * MS);
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=3 topic=\"w/d\" payload=3B");
	tc_send_hex(s, "40 02 00 03");
	/* DISCONNECT 0x04 waits for the delay too; DISCONNECT 0x00 drops the will. */
	tclient *f = online_will5("f", "f", true, 60, 2, false, ACK5);
	disconnect5(f, 0x04, NULL);
	TC_EXPECT_NOTHING(s);
	tc_run(w, 2 * SEC);
	TC_EXPECT(s, "PUBLISH qos=1 retain=0 dup=0 id=4 topic=\"w/f\" payload=3B");
	tclient *g = online_will5("g", "g", true, 60, 2, false, ACK5);
	disconnect5(g, 0x00, NULL);
	tc_run(w, 3 * SEC);
	TC_EXPECT_NOTHING(s);
	tc_free(s);
	tc_free(a);
	tc_free(b);
	tc_free(b2);
	tc_free(c);
	tc_free(d);
	tc_free(e);
	tc_free(e2);
	tc_free(f);
	tc_free(g);
}
END_TEST

/* A delayed will waiting with its offline session outlives crashes of the broker: from the
 * log, then from the snapshot the first restart wrote, it is published when it was due on
 * the broker's clock (the time down counts), with its properties; at the session's end when
 * that comes first; not when its client returns within the delay [MQTT-3.1.3-9]; and once
 * only, not again after a later restart (tests/interop5.sh found it lost at a restart). */
START_TEST(test_will_delay_survives_restart)
{
	start_persistent();
	mqtt_props e = expiry_props(3600);
	tclient *s = online5("s", "s", true, &e, ACK5);
	sub_ok(s, 1, "w/#", 1);
	tclient *a = online_will5("a", "a", true, 60, 5, true, ACK5);
	tclient *b = online_will5("b", "b", true, 60, 10, false, ACK5);
	tclient *c = online_will5("c", "c", true, 3, 10, false, ACK5);
	tc_drop(a);
	tc_drop(b);
	tc_drop(c);
	tc_run(w, 1 * SEC); /* T: 1 s since the three left */
	TC_EXPECT_NOTHING(s);
	sim_host_crash(bh);
	tc_run(w, 500 * MS);
	sim_host_restart(bh);
	tc_run(w, 500 * MS);
	sim_host_crash(bh);
	tc_run(w, 500 * MS);
	sim_host_restart(bh); /* T 2.5 s */
	tclient *s2 = online5("s2", "s", false, &e, ACK5_PRESENT);
	tc_run(w, 470 * MS); /* T 2.98 s */
	TC_EXPECT_NOTHING(s2);
	tc_run(w, 40 * MS);
	TC_EXPECT(s2, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"w/c\" payload=3B");
	tc_send_hex(s2, "40 02 00 01");
	tc_run(w, 1 * SEC); /* T 4.03 s: b comes back within its delay */
	tclient *b2 = online5("b2", "b", false, NULL, ACK5_PRESENT);
	tc_run(w, 940 * MS); /* T 4.98 s */
	TC_EXPECT_NOTHING(s2);
	tc_run(w, 40 * MS);
	TC_EXPECT(s2, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"w/a\" payload=3B payload_format=1 "
		      "message_expiry=100 " PROPS_SEEN_REST);
	tc_send_hex(s2, "40 02 00 02");
	tc_run(w, 8 * SEC); /* past b's 10 s */
	TC_EXPECT_NOTHING(s2);
	sim_host_crash(bh);
	tc_run(w, 500 * MS);
	sim_host_restart(bh);
	tclient *s3 = online5("s3", "s", false, &e, ACK5_PRESENT);
	tc_run(w, 12 * SEC);
	TC_EXPECT_NOTHING(s3);
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.skipped_records, 0);
	tc_free(s);
	tc_free(s2);
	tc_free(s3);
	tc_free(a);
	tc_free(b);
	tc_free(b2);
	tc_free(c);
}
END_TEST

START_TEST(test_will_props_now)
{
	start_broker();
	tclient *s5 = online5("s5", "s5", true, NULL, ACK5);
	tclient *s4 = online4("s4", "s4", true);
	sub_ok(s5, 1, "w/#", 1);
	sub_ok(s4, 1, "w/#", 1);
	/* Without a delay, at once, with its properties; a 3.1.1 subscriber gets it without. */
	tclient *a = online_will5("a", "a", true, 60, 0, true, ACK5);
	tc_drop(a);
	tc_run(w, 10 * MS);
	TC_EXPECT(s5, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"w/a\" payload=3B payload_format=1 message_expiry=100 " PROPS_SEEN_REST);
	TC_EXPECT(s4, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"w/a\" payload=3B");
	/* A takeover closes the old connection, the new one is for the same client id: a
	 * delayed will is not sent, one without a delay is. */
	tclient *b = online_will5("b", "b", true, 60, 5, false, ACK5);
	tclient *b2 = online5("b2", "b", false, NULL, ACK5_PRESENT);
	TC_EXPECT(b, "DISCONNECT reason=0x8E (Session taken over) reason_string=\"session taken over\"");
	tc_run(w, 6 * SEC);
	TC_EXPECT_NOTHING(s5);
	tc_free(s5);
	tc_free(s4);
	tc_free(a);
	tc_free(b);
	tc_free(b2);
}
END_TEST

Suite *broker5_suite(void)
{
	Suite *s = suite_create("broker5");
	TCase *t = tcase_create("connect");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_v5_and_v311_on_one_broker);
	tcase_add_test(t, test_unsupported_levels);
	tcase_add_test(t, test_assigned_client_id);
	tcase_add_test(t, test_announced_limits);
	tcase_add_test(t, test_refusal_reason_codes);
	suite_add_tcase(s, t);
	t = tcase_create("session");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_expiry_zero_ends_at_disconnect);
	tcase_add_test(t, test_expiry_interval_counts_offline);
	tcase_add_test(t, test_expiry_never_and_clean_start);
	tcase_add_test(t, test_disconnect_changes_expiry);
	tcase_add_test(t, test_expiry_survives_restart);
	suite_add_tcase(s, t);
	t = tcase_create("disconnect");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_disconnect_with_will);
	tcase_add_test(t, test_server_disconnect_reasons);
	tcase_add_test(t, test_client_limits);
	tcase_add_test(t, test_mixed_versions);
	suite_add_tcase(s, t);
	t = tcase_create("publish");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_publish_props_forwarded);
	tcase_add_test(t, test_publish_props_not_stripped);
	tcase_add_test(t, test_publish_props_retained_and_queued);
	tcase_add_test(t, test_publish_props_survive_restart);
	suite_add_tcase(s, t);
	t = tcase_create("expiry");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_expiry_live_and_offline_queue);
	tcase_add_test(t, test_expiry_behind_the_window);
	tcase_add_test(t, test_expiry_retained);
	tcase_add_test(t, test_expiry_survives_restart_msgs);
	suite_add_tcase(s, t);
	t = tcase_create("alias");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_topic_alias_inbound);
	tcase_add_test(t, test_topic_alias_invalid);
	suite_add_tcase(s, t);
	t = tcase_create("acks");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_puback_reason_codes);
	tcase_add_test(t, test_pubrec_error_not_resent);
	tcase_add_test(t, test_packet_id_not_found);
	tcase_add_test(t, test_pubrec_error_ends_exchange);
	tcase_add_test(t, test_payload_format_invalid);
	suite_add_tcase(s, t);
	t = tcase_create("subscriptions");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_sub_no_local);
	tcase_add_test(t, test_sub_no_local_will);
	tcase_add_test(t, test_sub_retain_as_published);
	tcase_add_test(t, test_sub_retain_handling);
	tcase_add_test(t, test_sub_options_survive_restart);
	tcase_add_test(t, test_suback_reason_codes);
	tcase_add_test(t, test_suback_capabilities_off);
	tcase_add_test(t, test_sub_ids);
	suite_add_tcase(s, t);
	t = tcase_create("shared");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_shared_round_robin);
	tcase_add_test(t, test_shared_payload_order);
	tcase_add_test(t, test_shared_handoff);
	tcase_add_test(t, test_shared_survives_restart);
	suite_add_tcase(s, t);
	t = tcase_create("will");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_will_delay);
	tcase_add_test(t, test_will_delay_survives_restart);
	tcase_add_test(t, test_will_props_now);
	suite_add_tcase(s, t);
	return s;
}
