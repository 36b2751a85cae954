/*
 * test_security.c - the reference broker under abuse (issue 20): sessions belong to the
 * user name that made them, read access is checked on every delivery (live, queued,
 * resumed, retained, wills), wills reach their own persistent session, empty input, and
 * retained delivery paced by the in-flight window instead of cut at the queue bound.
 */
#include "tests.h"

#include "harness/broker_shell_sim.h"
#include "harness/broker_store_file.h"
#include "tclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PORT 1883
#define MS 1000
#define CONNACK_NOT_AUTH "CONNACK session_present=0 rc=5 (Connection Refused, not authorized)"

static sim_world *w;
static sim_host *bh;
static broker_sim *bs;
static broker_config cfg;

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
	if (w)
		sim_world_free(w);
	bs = NULL;
	w = NULL;
}

static void start_broker(bool persistent)
{
	w = sim_world_new(7);
	sim_link l = { .latency_us = 1 * MS };
	sim_net_set_default(w, &l);
	bh = sim_host_add(w, "broker");
	bs = persistent ? broker_sim_start_persistent(w, bh, PORT, &cfg) : broker_sim_start(w, bh, PORT, &cfg);
}

/*
 * Users may subscribe to anything but read only their own part of users/: a topic
 * users/NAME/... is readable by user NAME alone. So a subscription to "#" is granted and
 * only the check of each delivery keeps bob's messages from alice.
 */
static bool sec_allow(void *ctx, const char *id, const char *user, const char *topic, bool publish)
{
	(void)ctx;
	(void)id;
	if (publish || strncmp(topic, "users/", 6))
		return true;
	size_t n = strcspn(topic + 6, "/");
	return user && strlen(user) == n && !strncmp(topic + 6, user, n);
}

static int sec_connect(void *ctx, const char *id, const char *user, const uint8_t *pw, size_t n)
{
	(void)ctx;
	(void)id;
	(void)user;
	(void)pw;
	(void)n;
	return 0;
}

static const broker_auth sec_auth = { .connect = sec_connect, .allow = sec_allow };

/* CONNECT as user (NULL: none), with a will when will_topic is set. */
static tclient *connect_as(const char *host, const char *id, const char *user, bool clean,
			   const char *will_topic, uint8_t will_qos)
{
	tclient *c = tc_new(w, host, bh, PORT);
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V311 };
	p.connect.client_id = (mqtt_str){ (const uint8_t *)id, (uint32_t)strlen(id) };
	p.connect.clean_start = clean;
	if (user) {
		p.connect.has_username = true;
		p.connect.username = (mqtt_str){ (const uint8_t *)user, (uint32_t)strlen(user) };
	}
	if (will_topic) {
		p.connect.will = true;
		p.connect.will_qos = will_qos;
		p.connect.will_topic = (mqtt_str){ (const uint8_t *)will_topic, (uint32_t)strlen(will_topic) };
		p.connect.will_payload = MQTT_STR("gone");
	}
	tc_send(c, &p);
	tc_run(w, 10 * MS);
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

static void bye(tclient *c)
{
	tc_send_hex(c, "e0 00");
	tc_run(w, 10 * MS);
}

static void ping_ok(tclient *c)
{
	tc_send_hex(c, "c0 00");
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "PINGRESP");
	ck_assert(!c->closed);
}

/* ---- a session belongs to its user ------------------------------------------------------ */

START_TEST(test_takeover_by_other_user_refused)
{
	cfg.auth = &sec_auth;
	start_broker(false);
	tclient *bob = connect_as("bob", "bobsess", "bob", false, NULL, 0);
	TC_EXPECT(bob, CONNACK_OK);
	subscribe(bob, 1, "users/bob/#", 1);
	bye(bob);
	tclient *carol = connect_as("carol", "carol", "carol", true, NULL, 0);
	TC_EXPECT(carol, CONNACK_OK);
	tc_publish(carol, "users/bob/queued", "q", 1, false, 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(carol, "PUBACK id=1");

	/* alice presents bob's client id: refused, whatever the clean flag; so is a client
	 * without a user name. Nothing of bob's comes with the refusal. */
	tclient *a1 = connect_as("a1", "bobsess", "alice", false, NULL, 0);
	TC_EXPECT(a1, CONNACK_NOT_AUTH);
	TC_EXPECT_NOTHING(a1);
	ck_assert(a1->closed);
	tclient *a2 = connect_as("a2", "bobsess", "alice", true, NULL, 0);
	TC_EXPECT(a2, CONNACK_NOT_AUTH);
	ck_assert(a2->closed);
	tclient *anon = connect_as("anon", "bobsess", NULL, false, NULL, 0);
	TC_EXPECT(anon, CONNACK_NOT_AUTH);
	ck_assert(anon->closed);

	/* The session was neither taken nor discarded: bob finds it, and his message. */
	tclient *bob2 = connect_as("bob2", "bobsess", "bob", false, NULL, 0);
	TC_EXPECT(bob2, CONNACK_PRESENT);
	TC_EXPECT(bob2, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"users/bob/queued\" payload=1B");
	/* While bob is connected, alice cannot take his connection over either. */
	tclient *a3 = connect_as("a3", "bobsess", "alice", false, NULL, 0);
	TC_EXPECT(a3, CONNACK_NOT_AUTH);
	ping_ok(bob2);
	tc_publish(carol, "users/bob/live", "l", 1, false, 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(bob2, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"users/bob/live\" payload=1B");
	TC_EXPECT_NOTHING(a3);
	/* An anonymous client's session is not a named user's either. */
	tclient *n1 = connect_as("n1", "anonsess", NULL, false, NULL, 0);
	TC_EXPECT(n1, CONNACK_OK);
	bye(n1);
	tclient *n2 = connect_as("n2", "anonsess", "alice", false, NULL, 0);
	TC_EXPECT(n2, CONNACK_NOT_AUTH);
	tclient *n3 = connect_as("n3", "anonsess", NULL, false, NULL, 0);
	TC_EXPECT(n3, CONNACK_PRESENT);
	tc_free(bob);
	tc_free(carol);
	tc_free(a1);
	tc_free(a2);
	tc_free(anon);
	tc_free(bob2);
	tc_free(a3);
	tc_free(n1);
	tc_free(n2);
	tc_free(n3);
}
END_TEST

/* Without authentication a user name is only a claim: takeover works as before. */
START_TEST(test_takeover_without_auth_unchanged)
{
	start_broker(false);
	tclient *bob = connect_as("bob", "s", "bob", false, NULL, 0);
	TC_EXPECT(bob, CONNACK_OK);
	bye(bob);
	tclient *alice = connect_as("alice", "s", "alice", false, NULL, 0);
	TC_EXPECT(alice, CONNACK_PRESENT);
	tc_free(bob);
	tc_free(alice);
}
END_TEST

START_TEST(test_owner_survives_restart)
{
	cfg.auth = &sec_auth;
	start_broker(true);
	tclient *bob = connect_as("bob", "bobsess", "bob", false, NULL, 0);
	TC_EXPECT(bob, CONNACK_OK);
	bye(bob);
	/* Twice: the first start replays the appended record, the second the compacted log. */
	tclient *c[4];
	for (int i = 0; i < 2; i++) {
		sim_host_crash(bh);
		tc_run(w, 10 * MS);
		sim_host_restart(bh);
		c[2 * i] = connect_as(i ? "a2" : "a1", "bobsess", "alice", false, NULL, 0);
		TC_EXPECT(c[2 * i], CONNACK_NOT_AUTH);
		c[2 * i + 1] = connect_as(i ? "b2" : "b1", "bobsess", "bob", false, NULL, 0);
		TC_EXPECT(c[2 * i + 1], CONNACK_PRESENT);
		bye(c[2 * i + 1]);
	}
	tc_free(bob);
	for (int i = 0; i < 4; i++)
		tc_free(c[i]);
}
END_TEST

/* ---- read access on every delivery ------------------------------------------------------ */

START_TEST(test_read_checked_per_delivery)
{
	cfg.auth = &sec_auth;
	start_broker(false);
	tclient *alice = connect_as("alice", "alice-s", "alice", false, NULL, 0);
	TC_EXPECT(alice, CONNACK_OK);
	subscribe(alice, 1, "#", 1); /* granted: the check is per topic, per delivery */
	tclient *bob = connect_as("bob", "bob-s", "bob", true, NULL, 0);
	TC_EXPECT(bob, CONNACK_OK);

	/* Live. */
	tc_publish(bob, "users/bob/1", "x", 1, false, 1);
	tc_publish(bob, "news/1", "x", 1, false, 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(alice, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"news/1\" payload=1B");
	TC_EXPECT_NOTHING(alice);
	mqtt_packet ack = { .type = MQTT_PUBACK, .version = MQTT_V311, .packet_id = 1 };
	tc_send(alice, &ack);
	bye(alice);

	/* Queued while alice is away, then resumed. */
	tc_publish(bob, "users/bob/2", "x", 1, false, 3);
	tc_publish(bob, "news/2", "x", 1, false, 4);
	tc_run(w, 10 * MS);
	tclient *alice2 = connect_as("alice2", "alice-s", "alice", false, NULL, 0);
	TC_EXPECT(alice2, CONNACK_PRESENT);
	TC_EXPECT(alice2, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"news/2\" payload=1B");
	TC_EXPECT_NOTHING(alice2);
	ack.packet_id = 2;
	tc_send(alice2, &ack);

	/* Retained, on a new subscription (the live copies first, as she is subscribed). */
	tc_publish(bob, "users/bob/r", "x", 1, true, 5);
	tc_publish(bob, "news/r", "x", 1, true, 6);
	tc_run(w, 10 * MS);
	TC_EXPECT(alice2, "PUBLISH qos=1 retain=0 dup=0 id=3 topic=\"news/r\" payload=1B");
	ack.packet_id = 3;
	tc_send(alice2, &ack);
	subscribe(alice2, 2, "#", 1);
	TC_EXPECT(alice2, "PUBLISH qos=1 retain=1 dup=0 id=4 topic=\"news/r\" payload=1B");
	TC_EXPECT_NOTHING(alice2);
	ack.packet_id = 4;
	tc_send(alice2, &ack);

	/* Wills: a publish by their owner, read-checked for each receiver. */
	tclient *w1 = connect_as("w1", "w1", "bob", true, "users/bob/will", 1);
	tclient *w2 = connect_as("w2", "w2", "bob", true, "news/will", 1);
	TC_EXPECT(w1, CONNACK_OK);
	TC_EXPECT(w2, CONNACK_OK);
	tc_drop(w1);
	tc_drop(w2);
	tc_run(w, 10 * MS);
	TC_EXPECT(alice2, "PUBLISH qos=1 retain=0 dup=0 id=5 topic=\"news/will\" payload=4B");
	TC_EXPECT_NOTHING(alice2);

	/* bob, who may read his part, got none of that refused: the refusals were alice's. */
	tclient *bobsub = connect_as("bs", "bobsub", "bob", true, NULL, 0);
	TC_EXPECT(bobsub, CONNACK_OK);
	subscribe(bobsub, 1, "users/bob/#", 1);
	TC_EXPECT(bobsub, "PUBLISH qos=1 retain=1 dup=0 id=1 topic=\"users/bob/r\" payload=1B");
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.reads_denied, 5); /* live, queued, live retained, retained, will */
	tc_free(alice);
	tc_free(alice2);
	tc_free(bob);
	tc_free(w1);
	tc_free(w2);
	tc_free(bobsub);
}
END_TEST

/* ---- wills to their own session --------------------------------------------------------- */

START_TEST(test_will_to_own_persistent_session)
{
	cfg.queue_qos0 = true;
	start_broker(false);
	/* Subscribed to its own will topic at QoS 0 and at QoS 1, then lost. */
	tclient *a = connect_as("a", "self0", NULL, false, "will/self0", 0);
	tclient *b = connect_as("b", "self1", NULL, false, "will/self1", 1);
	TC_EXPECT(a, CONNACK_OK);
	TC_EXPECT(b, CONNACK_OK);
	subscribe(a, 1, "will/self0", 0);
	subscribe(b, 1, "will/self1", 1);
	tc_drop(a);
	tc_drop(b);
	tc_run(w, 10 * MS);
	/* The will was queued for the offline session, not written into the dead
	 * connection: it arrives on return, at QoS 0 too, and QoS 1 as a first delivery. */
	tclient *a2 = connect_as("a2", "self0", NULL, false, NULL, 0);
	TC_EXPECT(a2, CONNACK_PRESENT);
	TC_EXPECT(a2, "PUBLISH qos=0 retain=0 dup=0 topic=\"will/self0\" payload=4B");
	TC_EXPECT_NOTHING(a2);
	tclient *b2 = connect_as("b2", "self1", NULL, false, NULL, 0);
	TC_EXPECT(b2, CONNACK_PRESENT);
	TC_EXPECT(b2, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"will/self1\" payload=4B");
	TC_EXPECT_NOTHING(b2);
	tc_free(a);
	tc_free(b);
	tc_free(a2);
	tc_free(b2);
}
END_TEST

/* ---- empty input, sans I/O --------------------------------------------------------------- */

static size_t sent_bytes;
static int64_t z_now(void *ctx) { (void)ctx; return 0; }
static void z_send(void *ctx, uint64_t c, const uint8_t *d, size_t n) { (void)ctx; (void)c; (void)d; sent_bytes += n; }
static void z_close(void *ctx, uint64_t c) { (void)ctx; (void)c; }
static void z_wake(void *ctx, int64_t at) { (void)ctx; (void)at; }

START_TEST(test_empty_bytes_on_new_connection)
{
	broker_env env = { NULL, z_now, z_send, z_close, z_wake, NULL, NULL };
	broker *b = broker_new(&env, &cfg);
	ck_assert_int_eq(broker_on_open(b, 1, "t"), 0);
	uint8_t pk[32];
	/* Nothing yet received: no buffer exists (UBSan caught memcpy into NULL here). */
	broker_on_bytes(b, 1, pk, 0);
	broker_on_bytes(b, 1, NULL, 0);
	ck_assert_uint_eq(sent_bytes, 0);
	size_t n = unhex("10 0c 00 04 4d 51 54 54 04 02 00 00 00 00", pk, sizeof pk);
	broker_on_bytes(b, 1, pk, n);
	broker_on_bytes(b, 1, pk, 0);
	ck_assert_uint_eq(sent_bytes, 4); /* the CONNACK */
	broker_free(b);
}
END_TEST

/* ---- retained delivery paced by the in-flight window ------------------------------------- */

START_TEST(test_retained_not_cut_by_queue_bound)
{
	enum { N = 300 };
	cfg.max_queued = 5; /* would cut delivery at 20 in flight + 5 queued */
	start_broker(false);
	tclient *pub = connect_as("pub", "pub", NULL, true, NULL, 0);
	TC_EXPECT(pub, CONNACK_OK);
	char topic[32];
	for (int i = 0; i < N; i++) {
		snprintf(topic, sizeof topic, "r/%03d", i);
		tc_publish(pub, topic, "v1", 1, true, (uint16_t)(i + 1));
	}
	tc_publish(pub, "r/150", "", 1, true, N + 1); /* deleted before the SUBSCRIBE */
	tc_run(w, 50 * MS);
	tclient *sub = connect_as("sub", "sub", NULL, true, NULL, 0);
	TC_EXPECT(sub, CONNACK_OK);
	subscribe(sub, 1, "r/#", 1);
	int next = 0, got = 0, live = 0;
	bool changed = false;
	for (int round = 0; round < 1000; round++) {
		const char *l;
		int fresh = 0;
		while ((l = tc_next(sub))) {
			unsigned retain, id;
			char t[64];
			fresh++;
			ck_assert_msg(sscanf(l, "PUBLISH qos=1 retain=%u dup=0 id=%u topic=\"%63[^\"]\"", &retain, &id, t) == 3,
				      "unexpected: %s", l);
			mqtt_packet ack = { .type = MQTT_PUBACK, .version = MQTT_V311, .packet_id = (uint16_t)id };
			tc_send(sub, &ack);
			if (retain) {
				/* Oldest first; r/150 was deleted before, r/200 and r/250 after the
				 * SUBSCRIBE (those two came live instead, behind the cursor). */
				while (next == 150 || (changed && (next == 200 || next == 250)))
					next++;
				snprintf(topic, sizeof topic, "r/%03d", next++);
				ck_assert_msg(!live, "retained %s after a live message", t);
				ck_assert_str_eq(t, topic);
				got++;
			} else {
				static const char *const want[] = { "r/live", "r/200", "r/250" };
				ck_assert_int_lt(live, 3);
				ck_assert_str_eq(t, want[live++]);
			}
		}
		if (got >= 100 && !changed) {
			/* Mid-way: a live message, a deletion and a replacement of entries the
			 * cursor has not reached yet. */
			tc_publish(pub, "r/live", "x", 1, false, 1);
			tc_publish(pub, "r/200", "", 1, true, 2);
			tc_publish(pub, "r/250", "v2", 1, true, 3);
			changed = true;
		}
		if (!fresh && round > 0 && changed)
			break;
		tc_run(w, 10 * MS);
	}
	ck_assert_int_eq(got, N - 3);
	ck_assert_int_eq(live, 3);
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.msgs_dropped, 0);
	tc_free(pub);
	tc_free(sub);
}
END_TEST

/* Many exact filters in one SUBSCRIBE, each with its retained message: found by hash, and
 * past the in-flight window paced like a wildcard's, not cut at the queue bound. */
START_TEST(test_retained_exact_filters_not_cut)
{
	enum { N = 60 };
	cfg.max_queued = 5;
	start_broker(false);
	tclient *pub = connect_as("pub", "pub", NULL, true, NULL, 0);
	TC_EXPECT(pub, CONNACK_OK);
	static char topics[N][16];
	mqtt_sub subs[N];
	for (int i = 0; i < N; i++) {
		snprintf(topics[i], sizeof topics[i], "x/%02d", i);
		tc_publish(pub, topics[i], "v", 1, true, (uint16_t)(i + 1));
		subs[i] = (mqtt_sub){ .filter = { (const uint8_t *)topics[i], (uint32_t)strlen(topics[i]) }, .qos = 1 };
	}
	tc_run(w, 50 * MS);
	tclient *sub = connect_as("sub", "sub", NULL, true, NULL, 0);
	TC_EXPECT(sub, CONNACK_OK);
	mqtt_packet sp = { .type = MQTT_SUBSCRIBE, .version = MQTT_V311, .packet_id = 1 };
	sp.subscribe.items = subs;
	sp.subscribe.count = N;
	tc_send(sub, &sp);
	tc_run(w, 10 * MS);
	const char *l = tc_next(sub);
	ck_assert_ptr_nonnull(l);
	ck_assert(!strncmp(l, "SUBACK id=1 codes=0x01,", 23));
	int got = 0;
	for (int round = 0; round < 100 && got < N; round++) {
		while ((l = tc_next(sub))) {
			unsigned id;
			char t[64], want[16];
			ck_assert_msg(sscanf(l, "PUBLISH qos=1 retain=1 dup=0 id=%u topic=\"%63[^\"]\"", &id, t) == 2,
				      "unexpected: %s", l);
			snprintf(want, sizeof want, "x/%02d", got++);
			ck_assert_str_eq(t, want);
			mqtt_packet ack = { .type = MQTT_PUBACK, .version = MQTT_V311, .packet_id = (uint16_t)id };
			tc_send(sub, &ack);
		}
		tc_run(w, 10 * MS);
	}
	TC_EXPECT_NOTHING(sub);
	ck_assert_int_eq(got, N);
	tc_free(pub);
	tc_free(sub);
}
END_TEST

/* A persistent subscriber: what the cursor put in flight survives a crash (the rest of
 * the retained messages do not: the cursor is not in the log). */
START_TEST(test_retained_cursor_inflight_survives_crash)
{
	cfg.max_queued = 5;
	start_broker(true);
	tclient *pub = connect_as("pub", "pub", NULL, true, NULL, 0);
	TC_EXPECT(pub, CONNACK_OK);
	char topic[32];
	for (int i = 0; i < 40; i++) {
		snprintf(topic, sizeof topic, "r/%02d", i);
		tc_publish(pub, topic, "v", 1, true, (uint16_t)(i + 1));
	}
	tc_run(w, 50 * MS);
	tclient *sub = connect_as("sub", "sub", NULL, false, NULL, 0);
	TC_EXPECT(sub, CONNACK_OK);
	tc_subscribe(sub, 1, "r/#", 1);
	tc_run(w, 10 * MS);
	sim_host_crash(bh);
	tc_run(w, 10 * MS);
	sim_host_restart(bh);
	tclient *again = connect_as("sub2", "sub", NULL, false, NULL, 0);
	TC_EXPECT(again, CONNACK_PRESENT);
	for (int i = 0; i < 20; i++) {
		char want[96];
		snprintf(want, sizeof want, "PUBLISH qos=1 retain=1 dup=1 id=%d topic=\"r/%02d\" payload=1B", i + 1, i);
		TC_EXPECT(again, want);
	}
	TC_EXPECT_NOTHING(again);
	tc_free(pub);
	tc_free(sub);
	tc_free(again);
}
END_TEST

/* ---- a log from before sessions had owners ------------------------------------------------ */

static char fdir[64];
static uint8_t frx[8][4096];
static size_t frx_len[8];
static int64_t f_now(void *ctx) { (void)ctx; return 0; }
static void f_send(void *ctx, uint64_t c, const uint8_t *d, size_t n)
{
	(void)ctx;
	if (c < 8 && frx_len[c] + n <= sizeof frx[c]) {
		memcpy(frx[c] + frx_len[c], d, n);
		frx_len[c] += n;
	}
}

/* The packets a connection received, one printed line each, joined by '\n'. */
static const char *f_lines(uint64_t c, char *out, size_t cap)
{
	size_t pos = 0, k = 0;
	out[0] = 0;
	while (pos < frx_len[c]) {
		mqtt_packet p;
		mqtt_err e;
		int n = mqtt_decode(frx[c] + pos, frx_len[c] - pos, MQTT_V311, 0, &p, &e);
		ck_assert_int_gt(n, 0);
		if (k && k + 1 < cap)
			out[k++] = '\n';
		k += mqtt_print(&p, out + k, cap - k);
		ck_assert_uint_lt(k, cap);
		pos += (size_t)n;
	}
	return out;
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xFFFFFFFFu;
}

typedef struct lb {
	uint8_t p[1024];
	size_t len, at;
} lb;

static void lb_u8(lb *b, uint8_t v) { b->p[b->len++] = v; }
static void lb_u32(lb *b, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
		lb_u8(b, (uint8_t)(v >> (8 * i)));
}
static void lb_str(lb *b, const char *s)
{
	lb_u32(b, (uint32_t)strlen(s));
	memcpy(b->p + b->len, s, strlen(s));
	b->len += strlen(s);
}
static void lb_begin(lb *b, uint8_t type)
{
	b->at = b->len;
	b->len += 8;
	lb_u8(b, type);
}
static void lb_end(lb *b)
{
	uint32_t n = (uint32_t)(b->len - b->at - 8), c = crc32_of(b->p + b->at + 8, n);
	for (int i = 0; i < 4; i++) {
		b->p[b->at + i] = (uint8_t)(n >> (24 - 8 * i));
		b->p[b->at + 4 + i] = (uint8_t)(c >> (24 - 8 * i));
	}
}

/* Records as a broker before owners wrote them (types from broker/core.h: R_SESS 1,
 * R_SUB 3, R_MSG 5, R_ENQ 6). */
static void legacy_msg(lb *b, uint64_t mid, const char *topic)
{
	lb_begin(b, 5);
	lb_u32(b, (uint32_t)(mid >> 32));
	lb_u32(b, (uint32_t)mid);
	lb_u8(b, 1);
	lb_u8(b, 0);
	lb_str(b, topic);
	lb_str(b, "p");
	lb_end(b);
	lb_begin(b, 6);
	lb_str(b, "bobsess");
	lb_u32(b, 0);
	lb_u32(b, (uint32_t)mid);
	lb_u8(b, 1);
	lb_u8(b, 0);
	lb_end(b);
}

static broker *f_start(broker_file_store **fs)
{
	char err[256];
	*fs = broker_file_store_open(fdir, err, sizeof err);
	ck_assert_msg(*fs != NULL, "%s", err);
	cfg.store = broker_file_store_get(*fs);
	cfg.auth = &sec_auth;
	broker_env env = { NULL, f_now, f_send, z_close, z_wake, NULL, NULL };
	return broker_new(&env, &cfg);
}

static void f_connect(broker *b, uint64_t id, const char *user)
{
	uint8_t pk[64];
	size_t n = unhex("10 00 00 04 4d 51 54 54 04 80 00 00 00 07 62 6f 62 73 65 73 73", pk, sizeof pk);
	pk[n++] = 0;
	pk[n++] = (uint8_t)strlen(user);
	memcpy(pk + n, user, strlen(user));
	n += strlen(user);
	pk[1] = (uint8_t)(n - 2);
	frx_len[id] = 0;
	broker_on_open(b, id, "t");
	broker_on_bytes(b, id, pk, n);
}

START_TEST(test_legacy_log_session_loads_and_is_read_checked)
{
	strcpy(fdir, "/tmp/mqttsim-sec-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fdir));
	lb log = { .len = 0 };
	lb_begin(&log, 1);
	lb_str(&log, "bobsess");
	lb_end(&log);
	lb_begin(&log, 3);
	lb_str(&log, "bobsess");
	lb_u8(&log, 1);
	lb_str(&log, "#");
	lb_end(&log);
	legacy_msg(&log, 1, "users/bob/secret");
	legacy_msg(&log, 2, "news/1");
	char path[128];
	snprintf(path, sizeof path, "%s/broker.log", fdir);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(log.p, 1, log.len, f), log.len);
	ck_assert_int_eq(fclose(f), 0);

	broker_file_store *fs;
	broker *b = f_start(&fs);
	broker_stats st;
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.recovered_records, 6);
	ck_assert_uint_eq(st.skipped_records, 0);
	/* Nobody is known to own it: the first user takes it, but reads only what is hers. */
	char text[1024];
	f_connect(b, 1, "alice");
	ck_assert_str_eq(f_lines(1, text, sizeof text),
			 "CONNACK session_present=1 rc=0 (Connection Accepted)\n"
			 "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"news/1\" payload=1B");
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.reads_denied, 1);
	broker_free(b);
	broker_file_store_close(fs);

	/* Now it is alice's, in the log too. */
	b = f_start(&fs);
	f_connect(b, 2, "bob");
	ck_assert_str_eq(f_lines(2, text, sizeof text), CONNACK_NOT_AUTH);
	f_connect(b, 3, "alice");
	ck_assert_str_eq(f_lines(3, text, sizeof text),
			 "CONNACK session_present=1 rc=0 (Connection Accepted)\n"
			 "PUBLISH qos=1 retain=0 dup=1 id=1 topic=\"news/1\" payload=1B");
	broker_free(b);
	broker_file_store_close(fs);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fdir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *security_suite(void)
{
	Suite *s = suite_create("security");
	TCase *tc = tcase_create("owner");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_takeover_by_other_user_refused);
	tcase_add_test(tc, test_takeover_without_auth_unchanged);
	tcase_add_test(tc, test_owner_survives_restart);
	tcase_add_test(tc, test_legacy_log_session_loads_and_is_read_checked);
	suite_add_tcase(s, tc);
	tc = tcase_create("read");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_read_checked_per_delivery);
	tcase_add_test(tc, test_will_to_own_persistent_session);
	tcase_add_test(tc, test_empty_bytes_on_new_connection);
	suite_add_tcase(s, tc);
	tc = tcase_create("retained");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_retained_not_cut_by_queue_bound);
	tcase_add_test(tc, test_retained_exact_filters_not_cut);
	tcase_add_test(tc, test_retained_cursor_inflight_survives_crash);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
