/*
 * test_broker.c - the reference broker's 3.1.1 behaviour, driven through the simulation
 * shell by scripted clients; every test asserts on the exact packets clients receive.
 */
#include "tests.h"

#include "harness/broker_shell_sim.h"
#include "tclient.h"

#include <stdio.h>
#include <string.h>

#define PORT 1883
#define MS 1000

static sim_world *w;
static sim_host *bh;
static broker_sim *bs;
static broker_config cfg;

static void start_broker(void)
{
	w = sim_world_new(7);
	sim_link l = { .latency_us = 1 * MS };
	sim_net_set_default(w, &l);
	bh = sim_host_add(w, "broker");
	bs = broker_sim_start(w, bh, PORT, &cfg);
}

static void setup(void)
{
	broker_config_init(&cfg);
	cfg.sys_interval_s = 0; /* no $SYS noise unless a test asks for it */
	w = NULL;
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



static tclient *online(const char *name, const char *id, bool clean)
{
	tclient *c = tc_new(w, name, bh, PORT);
	tc_connect(c, id, clean, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, clean ? CONNACK_OK : CONNACK_OK);
	return c;
}

static void subscribe(tclient *c, uint16_t id, const char *filter, uint8_t qos)
{
	char want[64];
	tc_subscribe(c, id, filter, qos);
	tc_run(w, 10 * MS);
	snprintf(want, sizeof want, "SUBACK id=%u codes=0x%02X", id, qos);
	TC_EXPECT(c, want);
}

/* ---- CONNECT --------------------------------------------------------------------------- */

START_TEST(test_connect_accepted)
{
	start_broker();
	tclient *c = tc_new(w, "c1", bh, PORT);
	tc_connect(c, "dev-1", true, 60);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, CONNACK_OK);
	ck_assert(!c->closed);
	tc_send_hex(c, "c0 00");
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "PINGRESP");
	tc_free(c);
}
END_TEST

START_TEST(test_first_packet_must_be_connect)
{
	start_broker();
	tclient *c = tc_new(w, "c1", bh, PORT);
	tc_send_hex(c, "c0 00"); /* PINGREQ before CONNECT [MQTT-3.1.0-1] */
	tc_run(w, 10 * MS);
	TC_EXPECT_NOTHING(c);
	ck_assert(c->closed);
	tc_free(c);
}
END_TEST

START_TEST(test_second_connect_closes)
{
	start_broker();
	tclient *c = online("c1", "dev-1", true);
	tc_connect(c, "dev-1", true, 0); /* [MQTT-3.1.0-2] */
	tc_run(w, 10 * MS);
	TC_EXPECT_NOTHING(c);
	ck_assert(c->closed);
	tc_free(c);
}
END_TEST

START_TEST(test_unsupported_level)
{
	start_broker();
	/* MQTT 3.1 ("MQIsdp", level 3): CONNACK 0x01, then close [MQTT-3.1.2-2]. */
	tclient *c = tc_new(w, "c1", bh, PORT);
	tc_send_hex(c, "10 10 00 06 4d 51 49 73 64 70 03 02 00 3c 00 02 61 62");
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "CONNACK session_present=0 rc=1 (Connection Refused, unacceptable protocol version)");
	ck_assert(c->closed);
	/* Level 5 is spoken now, a level past it is refused in 5.0's terms: test_broker5.c. */
	tc_free(c);
}
END_TEST

/* A second CONNECT is a protocol violation whatever its level: no CONNACK, the connection
 * closes, and the will is published [MQTT-3.1.0-2, MQTT-3.1.2-8]. */
START_TEST(test_second_connect_other_level)
{
	start_broker();
	tclient *watch = online("w", "watch", true);
	subscribe(watch, 1, "will/#", 0);
	tclient *c = tc_new(w, "c1", bh, PORT);
	mqtt_packet k = { .type = MQTT_CONNECT, .version = MQTT_V311 };
	k.connect.client_id = (mqtt_str){ (const uint8_t *)"dev", 3 };
	k.connect.clean_start = true;
	k.connect.will = true;
	k.connect.will_topic = (mqtt_str){ (const uint8_t *)"will/dev", 8 };
	k.connect.will_payload = (mqtt_str){ (const uint8_t *)"gone", 4 };
	tc_send(c, &k);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, CONNACK_OK);
	tc_send_hex(c, "10 0f 00 04 4d 51 54 54 05 02 00 3c 00 00 02 61 31");
	tc_run(w, 10 * MS);
	TC_EXPECT_NOTHING(c);
	ck_assert(c->closed);
	TC_EXPECT(watch, "PUBLISH qos=0 retain=0 dup=0 topic=\"will/dev\" payload=4B");
	tc_free(c);
	tc_free(watch);
}
END_TEST

START_TEST(test_empty_client_id)
{
	start_broker();
	tclient *c = tc_new(w, "c1", bh, PORT);
	tc_connect(c, "", false, 0); /* [MQTT-3.1.3-8] */
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "CONNACK session_present=0 rc=2 (Connection Refused, identifier rejected)");
	ck_assert(c->closed);
	tclient *d = tc_new(w, "c2", bh, PORT);
	tc_connect(d, "", true, 0); /* the server assigns an id [MQTT-3.1.3-6] */
	tc_run(w, 10 * MS);
	TC_EXPECT(d, CONNACK_OK);
	ck_assert(!d->closed);
	/* An id the server assigns is unique, also among ids clients chose themselves: the
	 * next one must not take over a client that happens to be called like it. */
	tclient *named = online("c3", "mqttsim-auto-2", false);
	tclient *anon = tc_new(w, "c4", bh, PORT);
	tc_connect(anon, "", true, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(anon, CONNACK_OK);
	tc_send_hex(named, "c0 00");
	tc_run(w, 10 * MS);
	TC_EXPECT(named, "PINGRESP");
	ck_assert(!named->closed);
	tc_free(c);
	tc_free(d);
	tc_free(named);
	tc_free(anon);
}
END_TEST

static int auth_connect(void *ctx, const char *id, const char *user, const uint8_t *pw, size_t n)
{
	(void)ctx;
	(void)id;
	if (!user)
		return 5;
	if (strcmp(user, "alice"))
		return 5;
	return n == 6 && !memcmp(pw, "secret", 6) ? 0 : 4;
}

static bool auth_allow(void *ctx, const char *id, const char *user, const char *topic, bool publish)
{
	(void)ctx;
	(void)id;
	(void)user;
	if (publish)
		return strncmp(topic, "ro/", 3) != 0;
	return strncmp(topic, "secret/", 7) != 0;
}

static const broker_auth test_auth = { .connect = auth_connect, .allow = auth_allow };

START_TEST(test_authentication)
{
	cfg.auth = &test_auth;
	start_broker();
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V311 };
	p.connect.client_id = MQTT_STR("x");
	p.connect.clean_start = true;
	p.connect.has_username = true;
	p.connect.username = MQTT_STR("alice");
	p.connect.has_password = true;
	p.connect.password = MQTT_STR("wrong!");
	tclient *c = tc_new(w, "c1", bh, PORT);
	tc_send(c, &p);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "CONNACK session_present=0 rc=4 (Connection Refused, bad user name or password)");
	ck_assert(c->closed);
	tclient *d = tc_new(w, "c2", bh, PORT);
	p.connect.password = MQTT_STR("secret");
	tc_send(d, &p);
	tc_run(w, 10 * MS);
	TC_EXPECT(d, CONNACK_OK);
	tclient *e = tc_new(w, "c3", bh, PORT);
	tc_connect(e, "anon", true, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(e, "CONNACK session_present=0 rc=5 (Connection Refused, not authorized)");
	tc_free(c);
	tc_free(d);
	tc_free(e);
}
END_TEST

START_TEST(test_acl)
{
	cfg.auth = &(broker_auth){ .allow = auth_allow };
	start_broker();
	tclient *c = online("c1", "dev-1", true);
	mqtt_sub subs[2] = { { .filter = MQTT_STR("secret/#"), .qos = 1 }, { .filter = MQTT_STR("ro/#"), .qos = 1 } };
	mqtt_packet p = { .type = MQTT_SUBSCRIBE, .version = MQTT_V311, .packet_id = 3 };
	p.subscribe.items = subs;
	p.subscribe.count = 2;
	tc_send(c, &p);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "SUBACK id=3 codes=0x80,0x01");
	/* A denied publish is acknowledged but goes nowhere. */
	tc_publish(c, "ro/x", "1", 1, false, 9);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "PUBACK id=9");
	TC_EXPECT_NOTHING(c);
	tc_free(c);
}
END_TEST

/* ---- QoS ------------------------------------------------------------------------------- */

START_TEST(test_qos0_forwarding)
{
	start_broker();
	tclient *sub = online("sub", "s", true), *pub = online("pub", "p", true);
	subscribe(sub, 1, "greenhouse/+/temp", 0);
	tc_publish(pub, "greenhouse/1/temp", "21.5", 0, false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "PUBLISH qos=0 retain=0 dup=0 topic=\"greenhouse/1/temp\" payload=4B");
	TC_EXPECT_NOTHING(pub);
	tc_free(sub);
	tc_free(pub);
}
END_TEST

START_TEST(test_qos1_flow)
{
	start_broker();
	tclient *sub = online("sub", "s", true), *pub = online("pub", "p", true);
	subscribe(sub, 1, "a/b", 1);
	tc_publish(pub, "a/b", "hi", 1, false, 77);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBACK id=77");
	TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"a/b\" payload=2B");
	mqtt_packet ack = { .type = MQTT_PUBACK, .version = MQTT_V311, .packet_id = 1 };
	tc_send(sub, &ack);
	tc_publish(pub, "a/b", "again", 1, false, 78);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBACK id=78");
	TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"a/b\" payload=5B");
	tc_free(sub);
	tc_free(pub);
}
END_TEST

START_TEST(test_qos2_exactly_once)
{
	start_broker();
	tclient *sub = online("sub", "s", true), *pub = online("pub", "p", true);
	subscribe(sub, 1, "a/b", 2);
	tc_publish(pub, "a/b", "x", 2, false, 5);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBREC id=5");
	/* The publisher retries before PUBREL: acknowledged, not delivered twice [MQTT-4.3.3-2]. */
	mqtt_packet dup = { .type = MQTT_PUBLISH, .version = MQTT_V311, .packet_id = 5 };
	dup.publish.qos = 2;
	dup.publish.dup = true;
	dup.publish.topic = MQTT_STR("a/b");
	dup.publish.payload = MQTT_STR("x");
	tc_send(pub, &dup);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBREC id=5");
	mqtt_packet rel = { .type = MQTT_PUBREL, .version = MQTT_V311, .packet_id = 5 };
	tc_send(pub, &rel);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBCOMP id=5");
	TC_EXPECT(sub, "PUBLISH qos=2 retain=0 dup=0 id=1 topic=\"a/b\" payload=1B");
	TC_EXPECT_NOTHING(sub);
	/* Outbound QoS 2: PUBREC from the subscriber gets PUBREL, PUBCOMP ends it. */
	mqtt_packet rec = { .type = MQTT_PUBREC, .version = MQTT_V311, .packet_id = 1 };
	tc_send(sub, &rec);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "PUBREL id=1");
	mqtt_packet comp = { .type = MQTT_PUBCOMP, .version = MQTT_V311, .packet_id = 1 };
	tc_send(sub, &comp);
	/* After PUBREL the same id is a new message again. */
	tc_publish(pub, "a/b", "y", 2, false, 5);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBREC id=5");
	TC_EXPECT(sub, "PUBLISH qos=2 retain=0 dup=0 id=2 topic=\"a/b\" payload=1B");
	tc_free(sub);
	tc_free(pub);
}
END_TEST

START_TEST(test_granted_qos_is_minimum)
{
	start_broker();
	tclient *sub = online("sub", "s", true), *pub = online("pub", "p", true);
	subscribe(sub, 1, "t", 1);
	tc_publish(pub, "t", "2", 2, false, 1);
	tc_publish(pub, "t", "0", 0, false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=1B");
	TC_EXPECT(sub, "PUBLISH qos=0 retain=0 dup=0 topic=\"t\" payload=1B");
	tc_free(sub);
	tc_free(pub);
}
END_TEST

START_TEST(test_overlapping_subscriptions)
{
	start_broker();
	tclient *sub = online("sub", "s", true), *pub = online("pub", "p", true);
	subscribe(sub, 1, "a/#", 0);
	subscribe(sub, 2, "a/+", 2);
	subscribe(sub, 3, "a/b", 1);
	tc_publish(pub, "a/b", "x", 2, false, 1);
	tc_run(w, 10 * MS);
	/* One copy, at the highest QoS of the matching subscriptions [MQTT-3.3.5-1]. */
	TC_EXPECT(sub, "PUBLISH qos=2 retain=0 dup=0 id=1 topic=\"a/b\" payload=1B");
	TC_EXPECT_NOTHING(sub);
	tc_free(sub);
	tc_free(pub);
}
END_TEST

START_TEST(test_inflight_window)
{
	cfg.max_inflight = 2;
	start_broker();
	tclient *sub = online("sub", "s", true), *pub = online("pub", "p", true);
	subscribe(sub, 1, "t", 1);
	for (int i = 0; i < 4; i++)
		tc_publish(pub, "t", "m", 1, false, (uint16_t)(10 + i));
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=1B");
	TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t\" payload=1B");
	TC_EXPECT_NOTHING(sub);
	mqtt_packet ack = { .type = MQTT_PUBACK, .version = MQTT_V311, .packet_id = 1 };
	tc_send(sub, &ack);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=3 topic=\"t\" payload=1B");
	TC_EXPECT_NOTHING(sub);
	tc_free(sub);
	tc_free(pub);
}
END_TEST

/* ---- retained ------------------------------------------------------------------------------ */

START_TEST(test_retained)
{
	start_broker();
	tclient *pub = online("pub", "p", true);
	tc_publish(pub, "r/t", "21.5", 1, true, 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBACK id=1");
	tclient *sub = online("sub", "s", true);
	subscribe(sub, 1, "r/#", 1);
	/* Stored, and sent with RETAIN=1 to a new subscription [MQTT-3.3.1-6]. */
	TC_EXPECT(sub, "PUBLISH qos=1 retain=1 dup=0 id=1 topic=\"r/t\" payload=4B");
	/* Live forwarding carries RETAIN=0 [MQTT-3.3.1-9]; the stored one is replaced. */
	tc_publish(pub, "r/t", "22.0", 0, true, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "PUBLISH qos=0 retain=0 dup=0 topic=\"r/t\" payload=4B");
	tclient *late = online("late", "l", true);
	subscribe(late, 1, "r/t", 2);
	TC_EXPECT(late, "PUBLISH qos=0 retain=1 dup=0 topic=\"r/t\" payload=4B");
	/* An empty retained message deletes it [MQTT-3.3.1-10]. */
	tc_publish(pub, "r/t", "", 0, true, 0);
	tc_run(w, 10 * MS);
	tclient *later = online("later", "l2", true);
	subscribe(later, 1, "r/#", 1);
	TC_EXPECT_NOTHING(later);
	tc_free(pub);
	tc_free(sub);
	tc_free(late);
	tc_free(later);
}
END_TEST

/* ---- will ------------------------------------------------------------------------------------ */

static tclient *with_will(const char *name, const char *id, uint16_t keepalive, uint8_t qos, bool retain)
{
	tclient *c = tc_new(w, name, bh, PORT);
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V311 };
	p.connect.client_id = (mqtt_str){ (const uint8_t *)id, (uint32_t)strlen(id) };
	p.connect.clean_start = true;
	p.connect.keepalive_s = keepalive;
	p.connect.will = true;
	p.connect.will_qos = qos;
	p.connect.will_retain = retain;
	p.connect.will_topic = MQTT_STR("status/dev");
	p.connect.will_payload = MQTT_STR("offline");
	tc_send(c, &p);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, CONNACK_OK);
	return c;
}

START_TEST(test_will_on_abnormal_close)
{
	start_broker();
	tclient *sub = online("sub", "s", true);
	subscribe(sub, 1, "status/#", 2);
	tclient *dev = with_will("dev", "d", 0, 1, false);
	tc_drop(dev);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"status/dev\" payload=7B");
	tc_free(dev);
	tc_free(sub);
}
END_TEST

START_TEST(test_no_will_on_disconnect)
{
	start_broker();
	tclient *sub = online("sub", "s", true);
	subscribe(sub, 1, "status/#", 2);
	tclient *dev = with_will("dev", "d", 0, 1, false);
	tc_send_hex(dev, "e0 00");
	tc_run(w, 10 * MS);
	ck_assert(dev->closed);
	TC_EXPECT_NOTHING(sub); /* [MQTT-3.14.4-3] */
	tc_free(dev);
	tc_free(sub);
}
END_TEST

START_TEST(test_will_on_protocol_violation_and_retain)
{
	start_broker();
	tclient *dev = with_will("dev", "d", 0, 2, true);
	tc_send_hex(dev, "c1 00"); /* PINGREQ with a reserved flag set */
	tc_run(w, 10 * MS);
	ck_assert(dev->closed);
	/* The will was retained: a later subscriber sees it with RETAIN=1 and its QoS. */
	tclient *sub = online("sub", "s", true);
	subscribe(sub, 1, "status/dev", 2);
	TC_EXPECT(sub, "PUBLISH qos=2 retain=1 dup=0 id=1 topic=\"status/dev\" payload=7B");
	tc_free(dev);
	tc_free(sub);
}
END_TEST

START_TEST(test_keepalive_expiry)
{
	start_broker();
	tclient *sub = online("sub", "s", true);
	subscribe(sub, 1, "status/#", 0);
	int64_t t0 = sim_now(w);
	tclient *dev = with_will("dev", "d", 2, 0, false);
	/* Silent: the broker gives up after 1.5 x 2 s [MQTT-3.1.2-24]. */
	tc_run(w, 2900 * MS);
	ck_assert(!dev->closed);
	TC_EXPECT_NOTHING(sub);
	tc_run(w, 200 * MS);
	ck_assert(dev->closed);
	TC_EXPECT(sub, "PUBLISH qos=0 retain=0 dup=0 topic=\"status/dev\" payload=7B");
	ck_assert_int_lt(sim_now(w) - t0, 3300 * MS);
	tc_free(dev);
	tc_free(sub);
}
END_TEST

START_TEST(test_keepalive_reset_by_traffic)
{
	start_broker();
	tclient *dev = with_will("dev", "d", 2, 0, false);
	for (int i = 0; i < 5; i++) {
		tc_run(w, 2000 * MS);
		tc_send_hex(dev, "c0 00");
	}
	tc_run(w, 10 * MS);
	ck_assert(!dev->closed);
	for (int i = 0; i < 5; i++)
		TC_EXPECT(dev, "PINGRESP");
	tc_free(dev);
}
END_TEST

/* Keepalive deadlines of clients with different keepalives, pushed back out of their
 * connection order: each closes at its own 1.5 x keepalive after its last packet, none
 * early, none late (the broker keeps one list per keepalive value; core.h kalist). */
START_TEST(test_keepalive_lists)
{
	start_broker();
	tclient *a = with_will("a", "a", 2, 0, false); /* due ~3.0 s */
	tclient *b = with_will("b", "b", 4, 0, false); /* due ~6.0 s */
	tclient *c = with_will("c", "c", 2, 0, false); /* due ~3.0 s, after a */
	tclient *d = with_will("d", "d", 2, 0, false); /* due ~3.0 s, after c */
	tc_run(w, 970 * MS);
	tc_send_hex(a, "c0 00"); /* a, the head of its list, goes last: due ~4.0 s */
	tc_send_hex(d, "c0 00"); /* d, the tail, stays last: due ~4.0 s, after a */
	tc_run(w, 1900 * MS);    /* ~2.9 s */
	ck_assert(!a->closed && !b->closed && !c->closed && !d->closed);
	tc_run(w, 200 * MS);     /* ~3.1 s */
	ck_assert(!a->closed && !b->closed && c->closed && !d->closed);
	tc_run(w, 800 * MS);     /* ~3.9 s */
	ck_assert(!a->closed && !b->closed && !d->closed);
	tc_run(w, 200 * MS);     /* ~4.1 s */
	ck_assert(a->closed && !b->closed && d->closed);
	tc_run(w, 1800 * MS);    /* ~5.9 s */
	ck_assert(!b->closed);
	tc_run(w, 300 * MS);     /* ~6.2 s */
	ck_assert(b->closed);
	TC_EXPECT(a, "PINGRESP");
	TC_EXPECT(d, "PINGRESP");
	tc_free(a);
	tc_free(b);
	tc_free(c);
	tc_free(d);
}
END_TEST

/* ---- sessions ---------------------------------------------------------------------------------- */

START_TEST(test_persistent_session_queues)
{
	start_broker();
	tclient *sub = online("sub", "s", false);
	subscribe(sub, 1, "q/#", 1);
	tc_send_hex(sub, "e0 00");
	tc_run(w, 10 * MS);
	tclient *pub = online("pub", "p", true);
	tc_publish(pub, "q/1", "a", 1, false, 1);
	tc_publish(pub, "q/2", "bb", 1, false, 2);
	tc_publish(pub, "q/3", "c", 0, false, 0); /* QoS 0 is not queued by default */
	tc_run(w, 10 * MS);
	tclient *again = tc_new(w, "sub", bh, PORT);
	tc_connect(again, "s", false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(again, CONNACK_PRESENT);
	TC_EXPECT(again, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"q/1\" payload=1B");
	TC_EXPECT(again, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"q/2\" payload=2B");
	TC_EXPECT_NOTHING(again);
	tc_free(sub);
	tc_free(pub);
	tc_free(again);
}
END_TEST

START_TEST(test_redelivery_with_dup)
{
	start_broker();
	tclient *sub = online("sub", "s", false);
	subscribe(sub, 1, "t", 2);
	tclient *pub = online("pub", "p", true);
	tc_publish(pub, "t", "one", 1, false, 1);
	tc_publish(pub, "t", "two", 2, false, 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=3B");
	TC_EXPECT(sub, "PUBLISH qos=2 retain=0 dup=0 id=2 topic=\"t\" payload=3B");
	/* PUBREC the second, acknowledge nothing else, then vanish. */
	mqtt_packet rec = { .type = MQTT_PUBREC, .version = MQTT_V311, .packet_id = 2 };
	tc_send(sub, &rec);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "PUBREL id=2");
	tc_drop(sub);
	tc_run(w, 10 * MS);
	tclient *again = tc_new(w, "sub", bh, PORT);
	tc_connect(again, "s", false, 0);
	tc_run(w, 10 * MS);
	/* Same ids; PUBLISH with DUP, and the PUBREL again [MQTT-4.4.0-1]. */
	TC_EXPECT(again, CONNACK_PRESENT);
	TC_EXPECT(again, "PUBLISH qos=1 retain=0 dup=1 id=1 topic=\"t\" payload=3B");
	TC_EXPECT(again, "PUBREL id=2");
	TC_EXPECT_NOTHING(again);
	tc_free(sub);
	tc_free(pub);
	tc_free(again);
}
END_TEST

START_TEST(test_clean_session_discards)
{
	start_broker();
	tclient *sub = online("sub", "s", false);
	subscribe(sub, 1, "t", 1);
	tc_send_hex(sub, "e0 00");
	tc_run(w, 10 * MS);
	tclient *again = online("sub", "s", true); /* clean: the old session is gone */
	tclient *pub = online("pub", "p", true);
	tc_publish(pub, "t", "x", 1, false, 1);
	tc_run(w, 10 * MS);
	TC_EXPECT_NOTHING(again);
	tc_free(sub);
	tc_free(again);
	tc_free(pub);
}
END_TEST

START_TEST(test_offline_queue_bound)
{
	cfg.max_queued = 2;
	start_broker();
	tclient *sub = online("sub", "s", false);
	subscribe(sub, 1, "t", 1);
	tc_send_hex(sub, "e0 00");
	tclient *pub = online("pub", "p", true);
	tc_publish(pub, "t", "1", 1, false, 1);
	tc_publish(pub, "t", "22", 1, false, 2);
	tc_publish(pub, "t", "333", 1, false, 3); /* dropped: the queue holds 2 (drop new) */
	tc_run(w, 10 * MS);
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.msgs_dropped, 1);
	tclient *again = tc_new(w, "sub", bh, PORT);
	tc_connect(again, "s", false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(again, CONNACK_PRESENT);
	TC_EXPECT(again, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=1B");
	TC_EXPECT(again, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"t\" payload=2B");
	TC_EXPECT_NOTHING(again);
	tc_free(sub);
	tc_free(pub);
	tc_free(again);
}
END_TEST

START_TEST(test_takeover)
{
	start_broker();
	tclient *sub = online("watch", "w", true);
	subscribe(sub, 1, "status/#", 0);
	tclient *first = with_will("dev", "d", 0, 0, false);
	tclient *second = tc_new(w, "dev2", bh, PORT);
	tc_connect(second, "d", true, 0);
	tc_run(w, 10 * MS);
	/* The older connection is closed [MQTT-3.1.4-2]; it never said DISCONNECT. */
	ck_assert(first->closed);
	TC_EXPECT(second, CONNACK_OK);
	TC_EXPECT(sub, "PUBLISH qos=0 retain=0 dup=0 topic=\"status/dev\" payload=7B");
	tc_free(sub);
	tc_free(first);
	tc_free(second);
}
END_TEST

START_TEST(test_unsubscribe)
{
	start_broker();
	tclient *sub = online("sub", "s", true), *pub = online("pub", "p", true);
	subscribe(sub, 1, "a/+", 0);
	mqtt_str f = MQTT_STR("a/+");
	mqtt_packet u = { .type = MQTT_UNSUBSCRIBE, .version = MQTT_V311, .packet_id = 4 };
	u.unsubscribe.items = &f;
	u.unsubscribe.count = 1;
	tc_send(sub, &u);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "UNSUBACK id=4");
	tc_publish(pub, "a/b", "x", 0, false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT_NOTHING(sub);
	/* Unsubscribing from something never subscribed is still acknowledged. */
	tc_send(sub, &u);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "UNSUBACK id=4");
	tc_free(sub);
	tc_free(pub);
}
END_TEST

START_TEST(test_sys_topics)
{
	cfg.sys_interval_s = 5;
	start_broker();
	tclient *all = online("all", "a", true), *sys = online("sys", "y", true);
	subscribe(all, 1, "#", 0);
	subscribe(sys, 1, "$SYS/broker/clients/connected", 0);
	/* Retained from the first publication at start. */
	TC_EXPECT(sys, "PUBLISH qos=0 retain=1 dup=0 topic=\"$SYS/broker/clients/connected\" payload=1B");
	tc_run(w, 6000 * MS);
	TC_EXPECT(sys, "PUBLISH qos=0 retain=0 dup=0 topic=\"$SYS/broker/clients/connected\" payload=1B");
	/* "#" never reaches into $SYS [MQTT-4.7.2-1]. */
	TC_EXPECT_NOTHING(all);
	tc_free(all);
	tc_free(sys);
}
END_TEST

START_TEST(test_malformed_closes_and_others_continue)
{
	start_broker();
	tclient *sub = online("sub", "s", true), *pub = online("pub", "p", true);
	subscribe(sub, 1, "t", 0);
	tclient *bad = online("bad", "b", true);
	tc_send_hex(bad, "30 05 00 01 2b 78 78"); /* PUBLISH to "+": a wildcard in a topic name */
	tc_run(w, 10 * MS);
	ck_assert(bad->closed);
	tc_publish(pub, "t", "ok", 0, false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "PUBLISH qos=0 retain=0 dup=0 topic=\"t\" payload=2B");
	tc_free(sub);
	tc_free(pub);
	tc_free(bad);
}
END_TEST

START_TEST(test_broker_crash_loses_state)
{
	start_broker();
	tclient *sub = online("sub", "s", false);
	subscribe(sub, 1, "t", 1);
	sim_host_crash(bh);
	ck_assert_ptr_null(broker_sim_core(bs));
	tc_run(w, 10 * MS);
	sim_host_restart(bh);
	tclient *again = tc_new(w, "sub", bh, PORT);
	tc_connect(again, "s", false, 0);
	tc_run(w, 10 * MS);
	/* Without persistence nothing survives: no session present. */
	TC_EXPECT(again, CONNACK_OK);
	tc_free(sub);
	tc_free(again);
}
END_TEST

Suite *broker_suite(void)
{
	Suite *s = suite_create("broker");
	TCase *tc = tcase_create("connect");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_connect_accepted);
	tcase_add_test(tc, test_first_packet_must_be_connect);
	tcase_add_test(tc, test_second_connect_closes);
	tcase_add_test(tc, test_second_connect_other_level);
	tcase_add_test(tc, test_unsupported_level);
	tcase_add_test(tc, test_empty_client_id);
	tcase_add_test(tc, test_authentication);
	tcase_add_test(tc, test_acl);
	suite_add_tcase(s, tc);
	tc = tcase_create("qos");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_qos0_forwarding);
	tcase_add_test(tc, test_qos1_flow);
	tcase_add_test(tc, test_qos2_exactly_once);
	tcase_add_test(tc, test_granted_qos_is_minimum);
	tcase_add_test(tc, test_overlapping_subscriptions);
	tcase_add_test(tc, test_inflight_window);
	suite_add_tcase(s, tc);
	tc = tcase_create("retain_will");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_retained);
	tcase_add_test(tc, test_will_on_abnormal_close);
	tcase_add_test(tc, test_no_will_on_disconnect);
	tcase_add_test(tc, test_will_on_protocol_violation_and_retain);
	tcase_add_test(tc, test_keepalive_expiry);
	tcase_add_test(tc, test_keepalive_reset_by_traffic);
	tcase_add_test(tc, test_keepalive_lists);
	suite_add_tcase(s, tc);
	tc = tcase_create("sessions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_persistent_session_queues);
	tcase_add_test(tc, test_redelivery_with_dup);
	tcase_add_test(tc, test_clean_session_discards);
	tcase_add_test(tc, test_offline_queue_bound);
	tcase_add_test(tc, test_takeover);
	tcase_add_test(tc, test_unsubscribe);
	tcase_add_test(tc, test_sys_topics);
	tcase_add_test(tc, test_malformed_closes_and_others_continue);
	tcase_add_test(tc, test_broker_crash_loses_state);
	suite_add_tcase(s, tc);
	return s;
}
