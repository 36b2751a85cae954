/*
 * test_tree.c - the broker's topic tree and subscription bound, driven through the
 * sans-I/O API (broker_new / broker_on_bytes) with a recording env: every packet the broker
 * sends is decoded and kept in one global order, so tests see which connection got what
 * and in which order. Some checks look inside the tree (broker/core.h) to see that nodes
 * are freed and children are hashed.
 */
#include "tests.h"

#include "broker/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXOUT 4096

typedef struct sent {
	uint64_t conn;
	uint8_t type;
	uint8_t qos;
	bool retain;
	uint16_t id;
	char topic[64];
	uint8_t codes[1024];
	uint32_t ncodes;
} sent;

static sent *outs;
static size_t nout;
static int nlog;
static char lastlog[512];
static broker *B;
static broker_config cfg;

/* Per connection, the bytes not yet decoded (the broker may split nothing, but be safe). */
static uint8_t rx[64][1 << 16];
static size_t rx_len[64];

static int64_t env_now(void *ctx)
{
	(void)ctx;
	return 1000000;
}

static void env_send(void *ctx, uint64_t cn, const uint8_t *data, size_t len)
{
	(void)ctx;
	ck_assert(cn < 64 && rx_len[cn] + len <= sizeof rx[cn]);
	memcpy(rx[cn] + rx_len[cn], data, len);
	rx_len[cn] += len;
	size_t pos = 0;
	for (;;) {
		mqtt_packet p;
		int n = mqtt_decode(rx[cn] + pos, rx_len[cn] - pos, MQTT_V311, 0, &p, NULL);
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		ck_assert_uint_lt(nout, MAXOUT);
		sent *s = &outs[nout++];
		memset(s, 0, sizeof *s);
		s->conn = cn;
		s->type = p.type;
		s->id = p.packet_id;
		if (p.type == MQTT_PUBLISH) {
			s->qos = p.publish.qos;
			s->retain = p.publish.retain;
			ck_assert_uint_lt(p.publish.topic.len, sizeof s->topic);
			memcpy(s->topic, p.publish.topic.data, p.publish.topic.len);
		} else if (p.type == MQTT_SUBACK) {
			ck_assert_uint_le(p.codes.len, sizeof s->codes);
			memcpy(s->codes, p.codes.data, p.codes.len);
			s->ncodes = (uint32_t)p.codes.len;
		}
		pos += (size_t)n;
	}
	memmove(rx[cn], rx[cn] + pos, rx_len[cn] - pos);
	rx_len[cn] -= pos;
}

static void env_close(void *ctx, uint64_t cn)
{
	(void)ctx;
	ck_abort_msg("the broker closed connection %llu", (unsigned long long)cn);
}

static void env_wake(void *ctx, int64_t at)
{
	(void)ctx;
	(void)at;
}

static void env_log(void *ctx, const char *line)
{
	(void)ctx;
	if (strstr(line, "max_subscriptions")) {
		nlog++;
		snprintf(lastlog, sizeof lastlog, "%s", line);
	}
}

static const broker_env ENV = { NULL, env_now, env_send, env_close, env_wake, env_log, NULL };

static void setup(void)
{
	broker_config_init(&cfg);
	cfg.sys_interval_s = 0;
	outs = calloc(MAXOUT, sizeof *outs);
	nout = 0;
	nlog = 0;
	memset(rx_len, 0, sizeof rx_len);
	B = NULL;
}

static void teardown(void)
{
	if (B)
		broker_free(B);
	B = NULL;
	free(outs);
	outs = NULL;
}

static void start(void)
{
	B = broker_new(&ENV, &cfg);
	ck_assert_ptr_nonnull(B);
}

static void put(uint64_t cn, const mqtt_packet *p)
{
	size_t n = mqtt_encoded_size(p);
	uint8_t *buf = malloc(n);
	ck_assert_int_eq(mqtt_encode(p, buf, n, NULL), (int)n);
	broker_on_bytes(B, cn, buf, n);
	free(buf);
}

static void client(uint64_t cn, const char *id)
{
	char peer[32];
	snprintf(peer, sizeof peer, "test:%llu", (unsigned long long)cn);
	ck_assert_int_eq(broker_on_open(B, cn, peer), 0);
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V311 };
	p.connect.clean_start = true;
	p.connect.client_id = (mqtt_str){ (const uint8_t *)id, strlen(id) };
	size_t before = nout;
	put(cn, &p);
	ck_assert_uint_eq(nout, before + 1);
	ck_assert_uint_eq(outs[before].type, MQTT_CONNACK);
}

/* SUBSCRIBE n filters at one QoS; returns the SUBACK. */
static const sent *subscribe_n(uint64_t cn, uint16_t id, const char *const *filters, uint32_t n, uint8_t qos)
{
	mqtt_sub *v = calloc(n, sizeof *v);
	for (uint32_t i = 0; i < n; i++) {
		v[i].filter = (mqtt_str){ (const uint8_t *)filters[i], strlen(filters[i]) };
		v[i].qos = qos;
	}
	mqtt_packet p = { .type = MQTT_SUBSCRIBE, .version = MQTT_V311, .packet_id = id };
	p.subscribe.count = n;
	p.subscribe.items = v;
	size_t before = nout;
	put(cn, &p);
	free(v);
	for (size_t i = before; i < nout; i++)
		if (outs[i].conn == cn && outs[i].type == MQTT_SUBACK && outs[i].id == id)
			return &outs[i];
	ck_abort_msg("no SUBACK %u", id);
	return NULL;
}

static void subscribe1(uint64_t cn, uint16_t id, const char *filter, uint8_t qos)
{
	const sent *s = subscribe_n(cn, id, &filter, 1, qos);
	ck_assert_uint_eq(s->ncodes, 1);
	ck_assert_uint_eq(s->codes[0], qos);
}

static void unsubscribe1(uint64_t cn, uint16_t id, const char *filter)
{
	mqtt_str f = { (const uint8_t *)filter, strlen(filter) };
	mqtt_packet p = { .type = MQTT_UNSUBSCRIBE, .version = MQTT_V311, .packet_id = id };
	p.unsubscribe.count = 1;
	p.unsubscribe.items = &f;
	size_t before = nout;
	put(cn, &p);
	ck_assert_uint_eq(nout, before + 1);
	ck_assert_uint_eq(outs[before].type, MQTT_UNSUBACK);
}

static void publish(uint64_t cn, const char *topic, uint8_t qos, bool retain)
{
	mqtt_packet p = { .type = MQTT_PUBLISH, .version = MQTT_V311, .packet_id = qos ? 1 : 0 };
	p.publish.qos = qos;
	p.publish.retain = retain;
	p.publish.topic = (mqtt_str){ (const uint8_t *)topic, strlen(topic) };
	p.publish.payload = MQTT_STR("x");
	put(cn, &p);
}

static size_t count_nodes(const tnode *n)
{
	size_t k = 0;
	for (const tnode *c = n->children; c; c = c->sibling)
		k += 1 + count_nodes(c);
	return k;
}

/* ---- many siblings ----------------------------------------------------------------------- */

START_TEST(test_many_siblings)
{
	start();
	client(1, "bulk");
	client(2, "pub");
	enum { N = 3000, PER = 500 };
	char (*names)[16] = malloc(N * sizeof *names);
	const char **f = malloc(PER * sizeof *f);
	for (int k = 0; k < N / PER; k++) {
		for (int i = 0; i < PER; i++) {
			snprintf(names[k * PER + i], sizeof names[0], "s/%d", k * PER + i);
			f[i] = names[k * PER + i];
		}
		const sent *a = subscribe_n(1, (uint16_t)(k + 1), f, PER, 1);
		ck_assert_uint_eq(a->ncodes, PER);
		for (int i = 0; i < PER; i++)
			ck_assert_uint_eq(a->codes[i], 1);
	}
	tnode *s = B->root.children;
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->level, "s");
	ck_assert_uint_eq(s->nchildren, N);
	ck_assert_ptr_nonnull(s->tab); /* found by hash, not by a scan of 3000 siblings */
	ck_assert_uint_eq(B->sessions->nsubs, N);
	/* Children stay in insertion order. */
	int i = 0;
	for (const tnode *c = s->children; c; c = c->sibling, i++) {
		char want[16];
		snprintf(want, sizeof want, "%d", i);
		ck_assert_str_eq(c->level, want);
	}
	ck_assert_int_eq(i, N);
	/* The same filter again replaces, it does not add [MQTT-3.8.4-3]. */
	subscribe1(1, 100, "s/1234", 0);
	ck_assert_uint_eq(B->sessions->nsubs, N);
	size_t before = nout;
	const char *topics[] = { "s/0", "s/1234", "s/2999", "s/3000", "s/12", "s", "s/1/x" };
	for (size_t t = 0; t < sizeof topics / sizeof *topics; t++)
		publish(2, topics[t], 0, false);
	const char *want[] = { "s/0", "s/1234", "s/2999", "s/12" };
	size_t got = 0;
	for (size_t k = before; k < nout; k++) {
		if (outs[k].type != MQTT_PUBLISH)
			continue;
		ck_assert_uint_eq(outs[k].conn, 1);
		ck_assert_uint_lt(got, 4);
		ck_assert_str_eq(outs[k].topic, want[got]);
		ck_assert_uint_eq(outs[k].qos, 0); /* s/1234 was replaced at QoS 0; the rest are QoS 0 messages */
		got++;
	}
	ck_assert_uint_eq(got, 4);
	free(names);
	free(f);
}
END_TEST

/* ---- unsubscribe frees --------------------------------------------------------------------- */

START_TEST(test_unsubscribe_frees_nodes)
{
	start();
	client(1, "a");
	client(2, "b");
	subscribe1(1, 1, "a/b/c", 0);
	subscribe1(1, 2, "a/b/d", 0);
	subscribe1(2, 3, "a/b/c", 1);
	subscribe1(1, 4, "a/+/#", 0);
	subscribe1(1, 5, "x", 0);
	ck_assert_uint_eq(count_nodes(&B->root), 7); /* a b c d + # x */
	unsubscribe1(1, 6, "a/b/c");
	ck_assert_uint_eq(count_nodes(&B->root), 7); /* b's subscription keeps a/b/c */
	unsubscribe1(2, 7, "a/b/c");
	ck_assert_uint_eq(count_nodes(&B->root), 6);
	unsubscribe1(1, 8, "a/+/#");
	ck_assert_uint_eq(count_nodes(&B->root), 4); /* a b d x */
	ck_assert_ptr_null(B->root.children->plus);
	unsubscribe1(1, 9, "nothing/here"); /* creates nothing */
	ck_assert_uint_eq(count_nodes(&B->root), 4);
	unsubscribe1(1, 10, "a/b/d");
	unsubscribe1(1, 11, "x");
	ck_assert_uint_eq(count_nodes(&B->root), 0);
	ck_assert_ptr_null(B->root.children);
	ck_assert_ptr_null(B->root.children_tail);

	/* Past the hashing threshold and back: the table goes, lookups still work. */
	char f[40][8];
	for (int i = 0; i < 40; i++) {
		snprintf(f[i], sizeof f[i], "m/%d", i);
		subscribe1(1, (uint16_t)(20 + i), f[i], 0);
	}
	tnode *m = B->root.children;
	ck_assert_ptr_nonnull(m->tab);
	for (int i = 0; i < 38; i++)
		unsubscribe1(1, (uint16_t)(100 + i), f[i]);
	ck_assert_uint_eq(m->nchildren, 2);
	ck_assert_ptr_null(m->tab);
	size_t before = nout;
	publish(2, "m/39", 0, false);
	publish(2, "m/5", 0, false);
	ck_assert_uint_eq(nout, before + 1);
	ck_assert_str_eq(outs[before].topic, "m/39");
	unsubscribe1(1, 200, "m/38");
	unsubscribe1(1, 201, "m/39");
	ck_assert_uint_eq(count_nodes(&B->root), 0);
	ck_assert_uint_eq(B->sessions->nsubs, 0);
}
END_TEST

/* After a storm of filters is unsubscribed, the tables shrink (and lookups still work). */
START_TEST(test_tables_shrink)
{
	start();
	client(1, "a");
	client(2, "pub");
	enum { N = 2000, KEEP = 50 };
	char (*names)[16] = malloc(N * sizeof *names);
	const char **f = malloc(N * sizeof *f);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[0], "z/%d", i);
		f[i] = names[i];
	}
	for (int k = 0; k < N / 500; k++)
		subscribe_n(1, (uint16_t)(k + 1), f + k * 500, 500, 0);
	tnode *z = B->root.children;
	session *s = B->sessions;
	uint32_t cap = z->tab_cap, scap = s->sub_tab_cap;
	ck_assert_uint_ge(cap, N);
	ck_assert_uint_ge(scap, N);
	for (int i = KEEP; i < N; i++)
		unsubscribe1(1, (uint16_t)(100 + i), f[i]);
	ck_assert_uint_eq(z->nchildren, KEEP);
	ck_assert_uint_eq(s->nsubs, KEEP);
	ck_assert_uint_lt(z->tab_cap, cap / 8);
	ck_assert_uint_lt(s->sub_tab_cap, scap / 8);
	for (int i = 0; i < KEEP + 5; i++) {
		size_t before = nout;
		publish(2, f[i], 0, false);
		ck_assert_uint_eq(nout, before + (i < KEEP));
	}
	for (int i = 0; i < KEEP; i++)
		unsubscribe1(1, (uint16_t)(3000 + i), f[i]);
	ck_assert_ptr_null(s->sub_tab);
	ck_assert_ptr_null(B->root.children);
	free(names);
	free(f);
}
END_TEST

/* ---- matching: every filter shape against every topic shape, mqtt_topic_match as oracle ---- */

static const char *const FILTERS[] = {
	"#", "+", "+/+", "+/+/+", "+/#", "a", "a/#", "a/+", "a/b", "a/b/#", "a/+/c", "a/b/+", "a/b/c",
	"a/b/c/#", "+/b/c", "+/b/#", "a/+/#", "+/+/c", "a/b/c/d", "b/#", "/#", "/+", "+/", "a//c",
	"a/+/+/+", "$SYS/#", "$SYS/+", "$SYS/x", "+/x", "$SYS", "a/$b", "a/+/$c",
};
static const char *const TOPICS[] = {
	"a", "a/b", "a/b/c", "a/b/c/d", "a/x/c", "b", "b/b/c", "/a", "/", "a/", "a//c", "$SYS",
	"$SYS/x", "$SYS/x/y", "a/$b", "a/b/$c", "x", "c/x",
};

START_TEST(test_wildcards_every_level)
{
	start();
	size_t nf = sizeof FILTERS / sizeof *FILTERS;
	char id[16];
	client(63, "publisher");
	for (size_t i = 0; i < nf; i++) {
		snprintf(id, sizeof id, "f%zu", i);
		client(i + 1, id);
		subscribe1(i + 1, 1, FILTERS[i], 0);
	}
	for (size_t t = 0; t < sizeof TOPICS / sizeof *TOPICS; t++) {
		const char *topic = TOPICS[t];
		size_t before = nout;
		publish(63, topic, 0, false);
		bool got[64] = { 0 };
		for (size_t k = before; k < nout; k++) {
			ck_assert_uint_eq(outs[k].type, MQTT_PUBLISH);
			ck_assert_str_eq(outs[k].topic, topic);
			ck_assert_msg(!got[outs[k].conn], "%s delivered twice to %s", topic,
				      FILTERS[outs[k].conn - 1]);
			got[outs[k].conn] = true;
		}
		for (size_t i = 0; i < nf; i++) {
			bool want = mqtt_topic_match((const uint8_t *)FILTERS[i], strlen(FILTERS[i]),
						     (const uint8_t *)topic, strlen(topic));
			ck_assert_msg(got[i + 1] == want, "topic '%s', filter '%s': %s", topic, FILTERS[i],
				      want ? "not delivered" : "delivered");
		}
	}
}
END_TEST

/* $ topics and first-level wildcards [MQTT-4.7.2-1], spelled out (the oracle above checks
 * the same, but a wrong oracle would hide a wrong tree). */
START_TEST(test_dollar_topics)
{
	start();
	const char *const filters[] = { "#", "+/x", "+/#", "+", "$SYS/#", "$SYS/+", "$SYS/x", "a/+", "a/#" };
	const bool want_sys_x[] = { false, false, false, false, true, true, true, false, false };
	const bool want_a_dollar[] = { true, false, true, false, false, false, false, true, true };
	for (size_t i = 0; i < 9; i++) {
		char id[8];
		snprintf(id, sizeof id, "c%zu", i);
		client(i + 1, id);
		subscribe1(i + 1, 1, filters[i], 0);
	}
	client(20, "pub");
	const char *topics[] = { "$SYS/x", "a/$x" };
	const bool *want[] = { want_sys_x, want_a_dollar };
	for (int t = 0; t < 2; t++) {
		size_t before = nout;
		publish(20, topics[t], 0, false);
		bool got[10] = { 0 };
		for (size_t k = before; k < nout; k++)
			got[outs[k].conn] = true;
		for (size_t i = 0; i < 9; i++)
			ck_assert_msg(got[i + 1] == want[t][i], "'%s' by '%s': %s", topics[t], filters[i],
				      got[i + 1] ? "delivered" : "not delivered");
	}
}
END_TEST

/* ---- order of deliveries --------------------------------------------------------------------- */

START_TEST(test_delivery_order)
{
	start();
	/* Sessions created c1..c5; they subscribe in the reverse order, each with overlapping
	 * filters, and one level is past the hashing threshold. Deliveries go out in session
	 * creation order, one per session at the highest QoS of its matching filters. */
	for (uint64_t i = 1; i <= 5; i++) {
		char id[8];
		snprintf(id, sizeof id, "c%llu", (unsigned long long)i);
		client(i, id);
	}
	client(9, "pub");
	char f[32][8];
	for (int i = 0; i < 32; i++) {
		snprintf(f[i], sizeof f[i], "o/%d", i);
		subscribe1(1, (uint16_t)(1 + i), f[i], 0); /* o has 32 children: hashed */
	}
	subscribe1(5, 1, "o/#", 0);
	subscribe1(5, 2, "o/7", 2);
	subscribe1(4, 1, "+/7", 1);
	subscribe1(3, 1, "#", 0);
	subscribe1(3, 2, "o/+", 1);
	subscribe1(2, 1, "o/7", 0);
	subscribe1(1, 100, "+/+", 2);
	size_t before = nout;
	publish(9, "o/7", 2, false);
	const uint64_t want_conn[] = { 1, 2, 3, 4, 5 };
	const uint8_t want_qos[] = { 2, 0, 1, 1, 2 };
	size_t k = 0;
	for (size_t i = before; i < nout; i++) {
		if (outs[i].type != MQTT_PUBLISH)
			continue;
		ck_assert_uint_lt(k, 5);
		ck_assert_uint_eq(outs[i].conn, want_conn[k]);
		ck_assert_uint_eq(outs[i].qos, want_qos[k]);
		k++;
	}
	ck_assert_uint_eq(k, 5);
}
END_TEST

/* ---- retained delivery on subscribe ------------------------------------------------------------ */

START_TEST(test_retained_exact_and_wildcard)
{
	start();
	client(1, "pub");
	char t[64][8];
	for (int i = 0; i < 64; i++) {
		snprintf(t[i], sizeof t[i], "r/%d", i);
		publish(1, t[i], 1, true);
	}
	client(2, "sub");
	size_t before = nout;
	subscribe1(2, 1, "r/17", 2);
	ck_assert_uint_eq(nout, before + 2);
	ck_assert_str_eq(outs[before + 1].topic, "r/17");
	ck_assert(outs[before + 1].retain);
	ck_assert_uint_eq(outs[before + 1].qos, 1);
	before = nout;
	subscribe1(2, 2, "r/nothing", 0);
	ck_assert_uint_eq(nout, before + 1); /* the SUBACK alone */
	before = nout;
	subscribe1(2, 3, "r/+", 0);
	ck_assert_uint_eq(nout, before + 65); /* SUBACK, then all 64, oldest first */
	for (int i = 0; i < 64; i++) {
		ck_assert_str_eq(outs[before + 1 + (size_t)i].topic, t[i]);
		ck_assert(outs[before + 1 + (size_t)i].retain);
	}
}
END_TEST

/* ---- max_subscriptions ------------------------------------------------------------------------- */

START_TEST(test_subscription_bound)
{
	cfg.max_subscriptions = 3;
	start();
	client(1, "c");
	client(2, "d");
	const char *f[] = { "a", "b", "c", "d", "a" };
	const sent *s = subscribe_n(1, 1, f, 5, 1);
	ck_assert_uint_eq(s->ncodes, 5);
	const uint8_t want[] = { 1, 1, 1, 0x80, 1 }; /* "a" again replaces: granted at the bound */
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(s->codes[i], want[i]);
	ck_assert_int_eq(nlog, 1);
	ck_assert_msg(strstr(lastlog, "client=c") && strstr(lastlog, "max_subscriptions 3"), "%s", lastlog);
	s = subscribe_n(1, 2, f + 3, 1, 0);
	ck_assert_uint_eq(s->codes[0], 0x80);
	ck_assert_int_eq(nlog, 1); /* logged once per connection */
	broker_stats st;
	broker_get_stats(B, &st);
	ck_assert_uint_eq(st.subs_refused, 2);
	/* The bound is per session: another client is not affected. */
	subscribe1(2, 1, "a", 0);
	subscribe1(2, 2, "d", 0);
	/* A refused filter routes nothing; freeing a slot lets a new one in. */
	size_t before = nout;
	publish(2, "d", 0, false);
	ck_assert_uint_eq(nout, before + 1);
	ck_assert_uint_eq(outs[before].conn, 2);
	unsubscribe1(1, 3, "b");
	subscribe1(1, 4, "d", 0);
	before = nout;
	publish(2, "d", 0, false);
	ck_assert_uint_eq(nout, before + 2);
}
END_TEST

START_TEST(test_subscription_bound_default)
{
	start(); /* max_subscriptions 0: 10000 */
	client(1, "c");
	enum { PER = 1000 };
	char (*names)[16] = malloc((10 * PER + 1) * sizeof *names);
	const char **f = malloc(PER * sizeof *f);
	for (int k = 0; k < 10; k++) {
		for (int i = 0; i < PER; i++) {
			snprintf(names[k * PER + i], sizeof names[0], "%d/d", k * PER + i);
			f[i] = names[k * PER + i];
		}
		const sent *s = subscribe_n(1, (uint16_t)(k + 1), f, PER, 0);
		for (int i = 0; i < PER; i++)
			ck_assert_uint_eq(s->codes[i], 0);
	}
	ck_assert_int_eq(nlog, 0);
	const char *more[] = { "10000/d", "0/d" };
	const sent *s = subscribe_n(1, 11, more, 2, 0);
	ck_assert_uint_eq(s->codes[0], 0x80);
	ck_assert_uint_eq(s->codes[1], 0);
	ck_assert_int_eq(nlog, 1);
	free(names);
	free(f);
}
END_TEST

Suite *tree_suite(void)
{
	Suite *s = suite_create("tree");
	TCase *tc = tcase_create("tree");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_many_siblings);
	tcase_add_test(tc, test_unsubscribe_frees_nodes);
	tcase_add_test(tc, test_tables_shrink);
	tcase_add_test(tc, test_wildcards_every_level);
	tcase_add_test(tc, test_dollar_topics);
	tcase_add_test(tc, test_delivery_order);
	tcase_add_test(tc, test_retained_exact_and_wildcard);
	suite_add_tcase(s, tc);
	tc = tcase_create("bound");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_subscription_bound);
	tcase_add_test(tc, test_subscription_bound_default);
	suite_add_tcase(s, tc);
	return s;
}
