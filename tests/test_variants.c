/*
 * test_variants.c - each permitted variant of the reference broker (BROKER_VAR_*, broker.h)
 * really changes what a client sees. Every test does the same thing twice, without the
 * variant and with it, and asserts on both: a variant that did nothing would fail here, so
 * tests/variants.sh passing the whole suite under it means something.
 */
#include "tests.h"

#include "harness/broker_shell_sim.h"
#include "tclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PORT 1883
#define MS 1000
/* What the reference broker announces to a 5.0 client by default. */
#define CAPS5 "receive_max=65535 topic_alias_max=10 max_packet_size=1048576"

static sim_world *w;
static sim_host *bh;
static broker_sim *bs;

static void stop(void)
{
	if (bs)
		broker_sim_free(bs);
	if (w)
		sim_world_free(w);
	bs = NULL;
	w = NULL;
}

/* A fresh world and broker with these variants (and $SYS every sys_s seconds, 0: none). */
static void start(uint32_t variants, uint32_t sys_s, bool queue_qos0)
{
	stop();
	broker_config cfg;
	broker_config_init(&cfg);
	cfg.sys_interval_s = sys_s;
	cfg.queue_qos0 = queue_qos0;
	cfg.variants = variants;
	w = sim_world_new(7);
	sim_link l = { .latency_us = 1 * MS };
	sim_net_set_default(w, &l);
	bh = sim_host_add(w, "broker");
	bs = broker_sim_start(w, bh, PORT, &cfg);
}

static void teardown(void) { stop(); }

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

/* PUBLISH lines not yet consumed; ids[] gets their packet ids (0 for QoS 0), at most cap. */
static int publishes(tclient *c, unsigned *ids, int cap)
{
	int n = 0;
	for (const char *l; (l = tc_next(c));) {
		ck_assert_msg(!strncmp(l, "PUBLISH ", 8), "%s: expected a PUBLISH, got %s", sim_host_name(c->h), l);
		const char *p = strstr(l, " id=");
		if (n < cap)
			ids[n] = p ? (unsigned)strtoul(p + 4, NULL, 10) : 0;
		n++;
	}
	return n;
}

static void puback(tclient *c, unsigned id)
{
	mqtt_packet ack = { .type = MQTT_PUBACK, .version = MQTT_V311, .packet_id = (uint16_t)id };
	tc_send(c, &ack);
}

/* Two QoS 1 messages for one subscriber that acknowledges nothing: both go out, or, one in
 * flight, only the first until its PUBACK. */
START_TEST(test_one_in_flight)
{
	for (int var = 0; var < 2; var++) {
		start(var ? BROKER_VAR_ONE_INFLIGHT : 0, 0, false);
		tclient *sub = online("sub", "s", true), *pub = online("pub", "p", true);
		subscribe(sub, 1, "t", 1);
		tc_publish(pub, "t", "a", 1, false, 10);
		tc_publish(pub, "t", "b", 1, false, 11);
		tc_run(w, 50 * MS);
		unsigned ids[4];
		int n = publishes(sub, ids, 4);
		ck_assert_int_eq(n, var ? 1 : 2);
		puback(sub, ids[0]);
		tc_run(w, 50 * MS);
		ck_assert_int_eq(publishes(sub, ids, 4), var ? 1 : 0);
		tc_free(sub);
		tc_free(pub);
	}
}
END_TEST

/* Twenty QoS 1 messages unacknowledged at once: ids 1..20 counting up, or with random ids
 * twenty different ones, none 0, mostly not one after the other. */
START_TEST(test_random_packet_ids)
{
	for (int var = 0; var < 2; var++) {
		start(var ? BROKER_VAR_RANDOM_IDS : 0, 0, false);
		tclient *sub = online("sub", "s", true), *pub = online("pub", "p", true);
		subscribe(sub, 1, "t", 1);
		for (int i = 0; i < 20; i++)
			tc_publish(pub, "t", "m", 1, false, (uint16_t)(100 + i));
		tc_run(w, 50 * MS);
		unsigned ids[40];
		ck_assert_int_eq(publishes(sub, ids, 20), 20);
		int steps = 0;
		for (int i = 0; i < 20; i++) {
			ck_assert_uint_ne(ids[i], 0);
			for (int j = 0; j < i; j++)
				ck_assert_msg(ids[i] != ids[j], "id %u twice among messages in flight", ids[i]);
			steps += i && ids[i] == ids[i - 1] + 1;
		}
		if (!var) {
			ck_assert_uint_eq(ids[0], 1);
			ck_assert_int_eq(steps, 19);
		} else
			ck_assert_msg(ids[0] != 1 && steps < 3, "ids look sequential: first %u, %d steps of one", ids[0],
				      steps);
		/* Acknowledge one: the next message never takes an id still in use. */
		puback(sub, ids[5]);
		tc_publish(pub, "t", "m", 1, false, 200);
		tc_run(w, 50 * MS);
		ck_assert_int_eq(publishes(sub, ids + 20, 1), 1);
		for (int j = 0; j < 20; j++)
			ck_assert_msg(j == 5 || ids[20] != ids[j], "id %u reused while in flight", ids[20]);
		tc_free(sub);
		tc_free(pub);
	}
}
END_TEST

/* "$SYS/#" gets the broker's topics, or nothing at all without a $SYS tree. */
START_TEST(test_no_sys)
{
	for (int var = 0; var < 2; var++) {
		start(var ? BROKER_VAR_NO_SYS : 0, 1, false);
		tclient *sub = online("sub", "s", true);
		subscribe(sub, 1, "$SYS/#", 0);
		tc_run(w, 2500 * MS);
		unsigned ids[64];
		int n = publishes(sub, ids, 64);
		if (var)
			ck_assert_int_eq(n, 0);
		else
			ck_assert_int_gt(n, 0);
		tc_free(sub);
	}
}
END_TEST

/* A client's QoS 1 PUBLISH to a '$' topic: acknowledged either way, delivered or dropped. */
START_TEST(test_dollar_refused)
{
	for (int var = 0; var < 2; var++) {
		start(var ? BROKER_VAR_DOLLAR_REFUSED : 0, 0, false);
		tclient *sub = online("sub", "s", true), *pub = online("pub", "p", true);
		subscribe(sub, 1, "$app/#", 1);
		subscribe(sub, 2, "app/#", 1);
		tc_publish(pub, "$app/x", "d", 1, true, 9);
		tc_publish(pub, "app/x", "n", 1, false, 10);
		tc_run(w, 50 * MS);
		TC_EXPECT(pub, "PUBACK id=9");
		TC_EXPECT(pub, "PUBACK id=10");
		if (!var)
			TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"$app/x\" payload=1B");
		TC_EXPECT(sub, var ? "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"app/x\" payload=1B"
				   : "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"app/x\" payload=1B");
		TC_EXPECT_NOTHING(sub);
		/* Nor retained: a new subscriber gets it only without the variant. */
		tclient *late = online("late", "l", true);
		tc_subscribe(late, 1, "$app/#", 0);
		tc_run(w, 50 * MS);
		TC_EXPECT(late, "SUBACK id=1 codes=0x00");
		if (!var)
			TC_EXPECT(late, "PUBLISH qos=0 retain=1 dup=0 topic=\"$app/x\" payload=1B");
		TC_EXPECT_NOTHING(late);
		tc_free(late);
		tc_free(sub);
		tc_free(pub);
	}
}
END_TEST

/* A broker told to queue QoS 0 for offline sessions (queue_qos0) does not under the variant. */
START_TEST(test_qos0_not_queued)
{
	for (int var = 0; var < 2; var++) {
		start(var ? BROKER_VAR_QOS0_NOT_QUEUED : 0, 0, true);
		tclient *sub = online("sub", "s", false), *pub = online("pub", "p", true);
		subscribe(sub, 1, "t", 1);
		tc_drop(sub);
		tc_run(w, 50 * MS);
		tc_publish(pub, "t", "zero", 0, false, 0);
		tc_publish(pub, "t", "one", 1, false, 5);
		tc_run(w, 50 * MS);
		tc_free(sub);
		sub = tc_new(w, "sub2", bh, PORT);
		tc_connect(sub, "s", false, 0);
		tc_run(w, 50 * MS);
		TC_EXPECT(sub, CONNACK_PRESENT);
		if (!var)
			TC_EXPECT(sub, "PUBLISH qos=0 retain=0 dup=0 topic=\"t\" payload=4B");
		TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=3B");
		TC_EXPECT_NOTHING(sub);
		tc_free(sub);
		tc_free(pub);
	}
}
END_TEST

/* Three overlapping subscriptions: one copy at the highest QoS, or one per subscription at
 * its own QoS (MQTT-3.3.5-1 permits both). */
START_TEST(test_overlap_copies)
{
	for (int var = 0; var < 2; var++) {
		start(var ? BROKER_VAR_OVERLAP_COPIES : 0, 0, false);
		tclient *sub = online("sub", "s", true), *pub = online("pub", "p", true);
		subscribe(sub, 1, "a/#", 0);
		subscribe(sub, 2, "a/+", 2);
		subscribe(sub, 3, "a/b", 1);
		tc_publish(pub, "a/b", "x", 2, false, 1);
		tc_run(w, 50 * MS);
		if (var) {
			TC_EXPECT(sub, "PUBLISH qos=0 retain=0 dup=0 topic=\"a/b\" payload=1B");
			TC_EXPECT(sub, "PUBLISH qos=2 retain=0 dup=0 id=1 topic=\"a/b\" payload=1B");
			TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"a/b\" payload=1B");
		} else
			TC_EXPECT(sub, "PUBLISH qos=2 retain=0 dup=0 id=1 topic=\"a/b\" payload=1B");
		TC_EXPECT_NOTHING(sub);
		tc_free(sub);
		tc_free(pub);
	}
}
END_TEST

/* A 5.0 client asking for 60 s of keep alive is told 10 (CONNACK Server Keep Alive) and cut
 * off after 15 s of silence; without the variant nothing is said and 16 s of silence is fine.
 * One asking for less than 10 s, and a 3.1.1 client, are left as they asked either way. */
START_TEST(test_server_keepalive)
{
	for (int var = 0; var < 2; var++) {
		start(var ? BROKER_VAR_SERVER_KEEPALIVE : 0, 0, false);
		tclient *a = tc_new(w, "a", bh, PORT), *b = tc_new(w, "b", bh, PORT);
		tc_connect5(a, "a", true, 60, NULL);
		tc_connect5(b, "b", true, 5, NULL);
		tclient *old = online("old", "o", true);
		tc_run(w, 10 * MS);
		TC_EXPECT(a, var ? "CONNACK session_present=0 reason=0 (Success) server_keepalive=10 " CAPS5
				 : "CONNACK session_present=0 reason=0 (Success) " CAPS5);
		TC_EXPECT(b, "CONNACK session_present=0 reason=0 (Success) " CAPS5);
		tc_free(b); /* asked for 5 s: it would be cut off below either way */
		tc_run(w, 16000 * MS);
		ck_assert_msg(a->closed == (var != 0), "variant %d: a %s", var, a->closed ? "cut off" : "still open");
		ck_assert_msg(!old->closed, "a 3.1.1 client asking for 60 s was cut off after 16 s");
		tc_free(a);
		tc_free(old);
	}
}
END_TEST

/* Three QoS 2 PUBLISHes unreleased from a 5.0 client: all taken, or, told Receive Maximum 2,
 * the third is one too many (DISCONNECT 0x93). A 3.1.1 client is never limited. */
START_TEST(test_low_receive_max)
{
	for (int var = 0; var < 2; var++) {
		start(var ? BROKER_VAR_LOW_RECEIVE_MAX : 0, 0, false);
		tclient *c = tc_new(w, "c", bh, PORT);
		tc_connect5(c, "c", true, 0, NULL);
		tc_run(w, 10 * MS);
		TC_EXPECT(c, var ? "CONNACK session_present=0 reason=0 (Success) receive_max=2 topic_alias_max=10 "
				   "max_packet_size=1048576"
				 : "CONNACK session_present=0 reason=0 (Success) " CAPS5);
		tclient *old = online("old", "o", true);
		for (uint16_t id = 1; id <= 3; id++) {
			tc_publish(c, "t", "m", 2, false, id);
			tc_publish(old, "t", "m", 2, false, id);
		}
		tc_run(w, 10 * MS);
		TC_EXPECT(c, "PUBREC id=1 reason=0x10 (No matching subscribers)");
		TC_EXPECT(c, "PUBREC id=2 reason=0x10 (No matching subscribers)");
		if (var) {
			const char *got = tc_next(c);
			ck_assert_msg(got && !strncmp(got, "DISCONNECT reason=0x93", 22), "%s", got ? got : "(nothing)");
			ck_assert(c->closed);
		} else
			TC_EXPECT(c, "PUBREC id=3 reason=0x10 (No matching subscribers)");
		TC_EXPECT_NOTHING(c);
		for (int id = 1; id <= 3; id++) {
			char want[32];
			snprintf(want, sizeof want, "PUBREC id=%d", id);
			TC_EXPECT(old, want);
		}
		TC_EXPECT_NOTHING(old);
		tc_free(c);
		tc_free(old);
	}
}
END_TEST

Suite *variants_suite(void)
{
	Suite *s = suite_create("variants");
	TCase *tc = tcase_create("variants");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_one_in_flight);
	tcase_add_test(tc, test_random_packet_ids);
	tcase_add_test(tc, test_no_sys);
	tcase_add_test(tc, test_dollar_refused);
	tcase_add_test(tc, test_qos0_not_queued);
	tcase_add_test(tc, test_overlap_copies);
	tcase_add_test(tc, test_server_keepalive);
	tcase_add_test(tc, test_low_receive_max);
	suite_add_tcase(s, tc);
	return s;
}
