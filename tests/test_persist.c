/*
 * test_persist.c - the broker's persistence on the virtual disk: what a crash and restart
 * keep, a torn log tail, compaction, and a sweep of crash points (SQLite-style: crash at
 * every point in turn and check nothing acknowledged was lost).
 */
#include "tests.h"

#include "harness/broker_shell_sim.h"
#include "harness/broker_store_file.h"
#include "sim/disk.h"
#include "tclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PORT 1883
#define MS 1000

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

static void start(uint64_t seed)
{
	w = sim_world_new(seed);
	sim_link l = { .latency_us = 1 * MS };
	sim_net_set_default(w, &l);
	bh = sim_host_add(w, "broker");
	bs = broker_sim_start_persistent(w, bh, PORT, &cfg);
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



static tclient *join(const char *host, const char *id, bool clean, const char *want)
{
	tclient *c = tc_new(w, host, bh, PORT);
	tc_connect(c, id, clean, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, want);
	return c;
}

static void restart_broker(void)
{
	sim_host_crash(bh);
	tc_run(w, 10 * MS);
	sim_host_restart(bh);
}

START_TEST(test_session_queue_survives_crash)
{
	start(1);
	tclient *sub = join("sub", "s", false, CONNACK_OK);
	tc_subscribe(sub, 1, "q/#", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "SUBACK id=1 codes=0x01");
	tc_send_hex(sub, "e0 00");
	tclient *pub = join("pub", "p", true, CONNACK_OK);
	tc_publish(pub, "q/1", "a", 1, false, 1);
	tc_publish(pub, "q/2", "bb", 2, false, 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBACK id=1");
	TC_EXPECT(pub, "PUBREC id=2");
	restart_broker();
	/* The session, its subscription and both acknowledged messages came back. */
	tclient *again = join("sub2", "s", false, CONNACK_PRESENT);
	TC_EXPECT(again, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"q/1\" payload=1B");
	TC_EXPECT(again, "PUBLISH qos=1 retain=0 dup=0 id=2 topic=\"q/2\" payload=2B"); /* granted QoS 1 */
	TC_EXPECT_NOTHING(again);
	tclient *pub2 = join("pub2", "p2", true, CONNACK_OK);
	tc_publish(pub2, "q/3", "c", 1, false, 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(again, "PUBLISH qos=1 retain=0 dup=0 id=3 topic=\"q/3\" payload=1B");
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_gt(st.recovered_records, 0);
	ck_assert_uint_eq(st.store_errors, 0);
	tc_free(sub);
	tc_free(pub);
	tc_free(again);
	tc_free(pub2);
}
END_TEST

START_TEST(test_retained_survives_crash)
{
	start(2);
	tclient *pub = join("pub", "p", true, CONNACK_OK);
	tc_publish(pub, "r/a", "keep", 1, true, 1);
	tc_publish(pub, "r/b", "gone", 1, true, 2);
	tc_publish(pub, "r/b", "", 1, true, 3); /* deleted again */
	tc_run(w, 10 * MS);
	restart_broker();
	tclient *sub = join("sub", "s", true, CONNACK_OK);
	tc_subscribe(sub, 1, "r/#", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "SUBACK id=1 codes=0x01");
	TC_EXPECT(sub, "PUBLISH qos=1 retain=1 dup=0 id=1 topic=\"r/a\" payload=4B");
	TC_EXPECT_NOTHING(sub);
	tc_free(pub);
	tc_free(sub);
}
END_TEST

/* Only the broker's own $SYS/broker/ report is left out of the log: a $ topic a client
 * retained is kept like any other. */
START_TEST(test_retained_dollar_topic_survives_crash)
{
	start(3);
	tclient *pub = join("pub", "p", true, CONNACK_OK);
	tc_publish(pub, "$SYSTEM/x", "a", 1, true, 1);
	tc_publish(pub, "$SYS/app/y", "b", 1, true, 2);
	tc_run(w, 10 * MS);
	restart_broker();
	tclient *sub = join("sub", "s", true, CONNACK_OK);
	tc_subscribe(sub, 1, "$SYSTEM/x", 0);
	tc_subscribe(sub, 2, "$SYS/app/y", 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "SUBACK id=1 codes=0x00");
	TC_EXPECT(sub, "PUBLISH qos=0 retain=1 dup=0 topic=\"$SYSTEM/x\" payload=1B");
	TC_EXPECT(sub, "SUBACK id=2 codes=0x00");
	TC_EXPECT(sub, "PUBLISH qos=0 retain=1 dup=0 topic=\"$SYS/app/y\" payload=1B");
	tc_free(pub);
	tc_free(sub);
}
END_TEST

START_TEST(test_inflight_redelivered_after_crash)
{
	start(3);
	tclient *sub = join("sub", "s", false, CONNACK_OK);
	tc_subscribe(sub, 1, "t", 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "SUBACK id=1 codes=0x02");
	tclient *pub = join("pub", "p", true, CONNACK_OK);
	tc_publish(pub, "t", "one", 1, false, 1);
	tc_publish(pub, "t", "two", 2, false, 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=3B");
	TC_EXPECT(sub, "PUBLISH qos=2 retain=0 dup=0 id=2 topic=\"t\" payload=3B");
	mqtt_packet rec = { .type = MQTT_PUBREC, .version = MQTT_V311, .packet_id = 2 };
	tc_send(sub, &rec);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "PUBREL id=2");
	restart_broker();
	/* In flight before the crash, in flight after: same ids, DUP, and the PUBREL. */
	tclient *again = join("sub2", "s", false, CONNACK_PRESENT);
	TC_EXPECT(again, "PUBLISH qos=1 retain=0 dup=1 id=1 topic=\"t\" payload=3B");
	TC_EXPECT(again, "PUBREL id=2");
	TC_EXPECT_NOTHING(again);
	tc_free(sub);
	tc_free(pub);
	tc_free(again);
}
END_TEST

START_TEST(test_qos2_exactly_once_across_crash)
{
	start(4);
	tclient *sub = join("sub", "s", false, CONNACK_OK);
	tc_subscribe(sub, 1, "t", 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "SUBACK id=1 codes=0x02");
	tc_send_hex(sub, "e0 00");
	tclient *pub = join("pub", "p", false, CONNACK_OK);
	tc_publish(pub, "t", "once", 2, false, 9);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBREC id=9");
	restart_broker();
	/* The publisher never saw PUBCOMP: it resends PUBLISH with DUP, then PUBREL. The
	 * broker remembers id 9 and must not route the message again [MQTT-4.3.3-2]. */
	tclient *pub2 = join("pub2", "p", false, CONNACK_PRESENT);
	mqtt_packet dup = { .type = MQTT_PUBLISH, .version = MQTT_V311, .packet_id = 9 };
	dup.publish.qos = 2;
	dup.publish.dup = true;
	dup.publish.topic = MQTT_STR("t");
	dup.publish.payload = MQTT_STR("once");
	tc_send(pub2, &dup);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub2, "PUBREC id=9");
	mqtt_packet rel = { .type = MQTT_PUBREL, .version = MQTT_V311, .packet_id = 9 };
	tc_send(pub2, &rel);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub2, "PUBCOMP id=9");
	tclient *again = join("sub2", "s", false, CONNACK_PRESENT);
	TC_EXPECT(again, "PUBLISH qos=2 retain=0 dup=0 id=1 topic=\"t\" payload=4B");
	TC_EXPECT_NOTHING(again);
	tc_free(sub);
	tc_free(pub);
	tc_free(pub2);
	tc_free(again);
}
END_TEST

START_TEST(test_torn_tail_is_dropped)
{
	start(5);
	tclient *pub = join("pub", "p", true, CONNACK_OK);
	tc_publish(pub, "r/a", "keep", 1, true, 1);
	tc_run(w, 10 * MS);
	/* A half-written record at the end of the log, as a crash mid-write leaves it. */
	static const uint8_t torn[] = { 0x00, 0x00, 0x00, 0x40, 0xde, 0xad, 0xbe, 0xef, 0x0d, 0x00 };
	sim_disk *d = sim_host_disk(bh);
	ck_assert_int_eq(sim_disk_append(d, "broker.log", torn, sizeof torn), (long)sizeof torn);
	ck_assert_int_eq(sim_disk_fsync(d, "broker.log"), 0);
	restart_broker();
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.torn_bytes, sizeof torn);
	tclient *sub = join("sub", "s", true, CONNACK_OK);
	tc_subscribe(sub, 1, "r/#", 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "SUBACK id=1 codes=0x00");
	TC_EXPECT(sub, "PUBLISH qos=0 retain=1 dup=0 topic=\"r/a\" payload=4B");
	/* Recovery rewrote the log without the torn tail. */
	restart_broker();
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.torn_bytes, 0);
	tc_free(pub);
	tc_free(sub);
}
END_TEST

/* The records of one sync go to the log as one: a crash that tears them drops them all.
 * Torn one record at a time, the deliveries of a QoS 2 message could survive without the
 * id that marks it received, and the publisher's retry would be delivered again. */
START_TEST(test_torn_batch_is_dropped_whole)
{
	start(8);
	tclient *sub = join("sub", "s", false, CONNACK_OK);
	tc_subscribe(sub, 1, "t", 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "SUBACK id=1 codes=0x02");
	tc_send_hex(sub, "e0 00");
	tclient *pub = join("pub", "p", false, CONNACK_OK);
	sim_disk *d = sim_host_disk(bh);
	long before = sim_disk_size(d, "broker.log");
	tc_publish(pub, "t", "once", 2, false, 9);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBREC id=9");
	/* The message, its place in s's queue and p's received id 9: one sync. A crash tore
	 * its last bytes. */
	long after = sim_disk_size(d, "broker.log");
	ck_assert_int_gt(after, before + 20);
	ck_assert_int_eq(sim_disk_truncate(d, "broker.log", (uint64_t)(after - 3)), 0);
	ck_assert_int_eq(sim_disk_fsync(d, "broker.log"), 0);
	restart_broker();
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.torn_bytes, (uint64_t)(after - 3 - before));
	/* The publisher never saw the crash's PUBREC as final: it retries [MQTT-4.4.0-1]. */
	tclient *pub2 = join("pub2", "p", false, CONNACK_PRESENT);
	mqtt_packet dup = { .type = MQTT_PUBLISH, .version = MQTT_V311, .packet_id = 9 };
	dup.publish.qos = 2;
	dup.publish.dup = true;
	dup.publish.topic = MQTT_STR("t");
	dup.publish.payload = MQTT_STR("once");
	tc_send(pub2, &dup);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub2, "PUBREC id=9");
	tclient *again = join("sub2", "s", false, CONNACK_PRESENT);
	TC_EXPECT(again, "PUBLISH qos=2 retain=0 dup=0 id=1 topic=\"t\" payload=4B");
	TC_EXPECT_NOTHING(again);
	tc_free(sub);
	tc_free(pub);
	tc_free(pub2);
	tc_free(again);
}
END_TEST

START_TEST(test_compaction_keeps_state)
{
	cfg.compact_bytes = 4096;
	cfg.max_queued = 10000;
	start(6);
	tclient *sub = join("sub", "s", false, CONNACK_OK);
	tc_subscribe(sub, 1, "t/#", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "SUBACK id=1 codes=0x01");
	/* Online traffic: every message is enqueued, sent, acknowledged, forgotten. */
	tclient *pub = join("pub", "p", true, CONNACK_OK);
	for (int i = 0; i < 300; i++) {
		tc_publish(pub, "t/x", "0123456789", 1, false, (uint16_t)(i + 1));
		tc_run(w, 5 * MS);
		const char *l;
		while ((l = tc_next(sub))) {
			int id;
			if (sscanf(l, "PUBLISH qos=1 retain=0 dup=0 id=%d", &id) == 1) {
				mqtt_packet a = { .type = MQTT_PUBACK, .version = MQTT_V311, .packet_id = (uint16_t)id };
				tc_send(sub, &a);
			}
		}
	}
	tc_run(w, 10 * MS);
	long size = sim_disk_size(sim_host_disk(bh), "broker.log");
	/* Compaction kept the log near its threshold, far below 300 messages' history. */
	ck_assert_int_gt(size, 0);
	ck_assert_int_lt(size, 3 * 4096);
	tc_send_hex(sub, "e0 00");
	tc_publish(pub, "t/y", "last", 1, false, 999);
	tc_run(w, 10 * MS);
	restart_broker();
	tclient *again = join("sub2", "s", false, CONNACK_PRESENT);
	TC_EXPECT(again, "PUBLISH qos=1 retain=0 dup=0 id=301 topic=\"t/y\" payload=4B");
	TC_EXPECT_NOTHING(again);
	tc_free(sub);
	tc_free(pub);
	tc_free(again);
}
END_TEST

/* A message that got its log id before a compaction (which keeps only the messages sessions
 * still hold) and is queued for a session after it - here a retained message that a new
 * persistent subscriber receives - must have its content written again, or the restart
 * cannot apply that record. Nothing after it may be lost. */
START_TEST(test_compaction_then_old_message_queued)
{
	cfg.compact_bytes = 4096;
	start(9);
	tclient *a = join("a", "a", false, CONNACK_OK);
	tc_subscribe(a, 1, "t", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(a, "SUBACK id=1 codes=0x01");
	tc_send_hex(a, "e0 00");
	tc_run(w, 10 * MS);
	tclient *pub = join("pub", "p", true, CONNACK_OK);
	tc_publish(pub, "t", "v", 1, true, 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBACK id=1");
	tclient *a2 = join("a2", "a", false, CONNACK_PRESENT);
	TC_EXPECT(a2, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t\" payload=1B");
	tc_send_hex(a2, "40 02 00 01");
	tc_run(w, 10 * MS);
	/* Retained padding grows the log past the threshold: a compaction runs. */
	static char big[1500];
	memset(big, 'x', sizeof big - 1);
	for (int i = 0; i < 4; i++) {
		char topic[16];
		snprintf(topic, sizeof topic, "pad/%d", i);
		tc_publish(pub, topic, big, 1, true, (uint16_t)(2 + i));
		tc_run(w, 10 * MS);
		tc_next(pub);
	}
	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_ge(st.compactions, 2); /* the one at start, and one since */
	/* A new persistent subscriber gets the retained "t": queued under its old id. */
	tclient *b = join("b", "b", false, CONNACK_OK);
	tc_subscribe(b, 1, "t", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(b, "SUBACK id=1 codes=0x01");
	TC_EXPECT(b, "PUBLISH qos=1 retain=1 dup=0 id=1 topic=\"t\" payload=1B");
	tc_subscribe(b, 2, "after", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(b, "SUBACK id=2 codes=0x01");
	tc_publish(pub, "after", "z", 1, true, 9);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBACK id=9");
	restart_broker();
	/* Everything after the queued record survived: b's session, its unacknowledged "t",
	 * its second subscription and the retained "after". */
	tclient *b2 = join("b2", "b", false, CONNACK_PRESENT);
	TC_EXPECT(b2, "PUBLISH qos=1 retain=1 dup=1 id=1 topic=\"t\" payload=1B");
	TC_EXPECT(b2, "PUBLISH qos=1 retain=0 dup=1 id=2 topic=\"after\" payload=1B");
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.skipped_records, 0);
	ck_assert_uint_eq(st.torn_bytes, 0);
	tclient *late = join("late", "late", true, CONNACK_OK);
	tc_subscribe(late, 1, "after", 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(late, "SUBACK id=1 codes=0x00");
	TC_EXPECT(late, "PUBLISH qos=0 retain=1 dup=0 topic=\"after\" payload=1B");
	tc_free(a);
	tc_free(a2);
	tc_free(pub);
	tc_free(b);
	tc_free(b2);
	tc_free(late);
}
END_TEST

/*
 * Crash sweep: a publisher sends 12 QoS 1 messages, 1 ms apart, to a persistent offline
 * subscriber; run k crashes the broker after message k % 12 plus (k / 12) * 300 us, so the
 * crash lands before, during and after each message's arrival, log write and PUBACK.
 * After the restart the subscriber must get every message whose PUBACK the publisher saw,
 * and no more than were published; nothing else may arrive.
 */
/* SWEEP_TRACE: the run's trace on stderr, line by line. */
static void trace_to_stderr(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	(void)len;
	fputs(line, stderr);
}

enum { SWEEP_MSGS = 12, SWEEP_POINTS = 48 };

START_TEST(test_crash_point_sweep)
{
	int crash_after = _i % SWEEP_MSGS;
	sim_us offset = (sim_us)(_i / SWEEP_MSGS) * 300;
	start(100 + (uint64_t)_i);
	if (getenv("SWEEP_TRACE")) /* to read one point's run: SWEEP_TRACE=1 CK_RUN_CASE=sweep */
		sim_trace_record(w, false, trace_to_stderr, NULL);
	sim_disk_set_torn(sim_host_disk(bh), true);
	tclient *sub = join("sub", "s", false, CONNACK_OK);
	tc_subscribe(sub, 1, "sweep", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "SUBACK id=1 codes=0x01");
	tc_send_hex(sub, "e0 00");
	tclient *pub = join("pub", "p", true, CONNACK_OK);
	int sent = 0;
	for (int i = 0; i < SWEEP_MSGS; i++) {
		tc_publish(pub, "sweep", "msg", 1, false, (uint16_t)(i + 1));
		sent++;
		if (i == crash_after) {
			tc_run(w, offset);
			break;
		}
		tc_run(w, 1 * MS);
	}
	sim_host_crash(bh);
	int acked = 0;
	const char *l;
	while ((l = tc_next(pub)))
		acked += !strncmp(l, "PUBACK id=", 10);
	tc_run(w, 10 * MS);
	sim_host_restart(bh);
	if (getenv("SWEEP_TRACE")) {
		broker_stats st;
		broker_get_stats(broker_sim_core(bs), &st);
		fprintf(stderr, "recovered %llu records, torn %llu bytes\n", (unsigned long long)st.recovered_records, (unsigned long long)st.torn_bytes);
	}
	tclient *again = tc_new(w, "sub2", bh, PORT);
	tc_connect(again, "s", false, 0);
	tc_run(w, 50 * MS);
	int delivered = 0;
	l = tc_next(again);
	ck_assert_msg(l && !strcmp(l, CONNACK_PRESENT), "point %d: %s", _i, l ? l : "(nothing)");
	while ((l = tc_next(again))) {
		ck_assert_msg(!strncmp(l, "PUBLISH qos=1 retain=0 dup=0 id=", 32) && strstr(l, "topic=\"sweep\" payload=3B"),
			      "point %d: unexpected packet after restart: %s", _i, l);
		delivered++;
	}
	ck_assert_msg(delivered >= acked, "point %d: %d acknowledged but only %d delivered", _i, acked,
		      delivered);
	ck_assert_int_le(delivered, sent);
	tc_free(sub);
	tc_free(pub);
	tc_free(again);
}
END_TEST


/* ---- the file store (mqttsim broker --store DIR): what recovery keeps and says -------- */

static char fdir[64];
static char flog[4096]; /* the broker's log lines, one per line */

static int64_t f_now(void *ctx) { (void)ctx; return 0; }
static void f_send(void *ctx, uint64_t c, const uint8_t *d, size_t n) { (void)ctx; (void)c; (void)d; (void)n; }
static void f_close(void *ctx, uint64_t c) { (void)ctx; (void)c; }
static void f_wake(void *ctx, int64_t at) { (void)ctx; (void)at; }
static void f_log(void *ctx, const char *line)
{
	(void)ctx;
	size_t n = strlen(flog);
	snprintf(flog + n, sizeof flog - n, "%s\n", line);
}

static const broker_env fenv = { NULL, f_now, f_send, f_close, f_wake, f_log, NULL };

static void fsetup(void)
{
	strcpy(fdir, "/tmp/mqttsim-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fdir));
	flog[0] = 0;
}

static void fteardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fdir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *fpath(const char *name)
{
	static char p[2][128];
	static int k;
	k ^= 1;
	snprintf(p[k], sizeof p[k], "%s/%s", fdir, name);
	return p[k];
}

static uint8_t *fread_all(const char *name, size_t *len)
{
	FILE *f = fopen(fpath(name), "rb");
	if (!f)
		return NULL;
	static uint8_t buf[1 << 16];
	*len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return buf;
}

static void fwrite_all(const char *name, const uint8_t *d, size_t n)
{
	FILE *f = fopen(fpath(name), "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(d, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

/* A broker on the file store; the caller frees both. */
static broker *fstart(broker_file_store **fs, broker_store *wrap,
		      int (*keep)(void *, uint64_t, const void *, size_t, char *, size_t))
{
	char err[256];
	*fs = broker_file_store_open(fdir, err, sizeof err);
	ck_assert_msg(*fs != NULL, "%s", err);
	broker_config c;
	broker_config_init(&c);
	c.sys_interval_s = 0;
	c.store = broker_file_store_get(*fs);
	if (wrap) {
		*wrap = *c.store;
		wrap->keep = keep;
		c.store = wrap;
	}
	return broker_new(&fenv, &c);
}

/* Three retained messages: three records in the log. */
static size_t flog_three(void)
{
	broker_file_store *fs;
	broker *b = fstart(&fs, NULL, NULL);
	uint8_t pk[64];
	broker_on_open(b, 1, "test");
	broker_on_bytes(b, 1, pk, unhex("10 0c 00 04 4d 51 54 54 04 02 00 00 00 00", pk, sizeof pk));
	for (char t = 'a'; t <= 'c'; t++) {
		size_t n = unhex("31 07 00 03 72 2f 61 76 31", pk, sizeof pk);
		pk[6] = (uint8_t)t; /* topic r/a, r/b, r/c */
		broker_on_bytes(b, 1, pk, n);
	}
	broker_free(b);
	broker_file_store_close(fs);
	size_t len;
	ck_assert_ptr_nonnull(fread_all("broker.log", &len));
	ck_assert_uint_gt(len, 0);
	flog[0] = 0;
	return len;
}

START_TEST(test_file_corrupt_record_is_kept_aside)
{
	size_t len = flog_three();
	uint8_t old[1 << 16];
	memcpy(old, fread_all("broker.log", &len), len);
	size_t rec = len / 3; /* the three records are the same size */
	old[rec + 10] ^= 0x55; /* one bad byte in the second record */
	fwrite_all("broker.log", old, len);

	broker_file_store *fs;
	broker *b = fstart(&fs, NULL, NULL);
	broker_stats st;
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.recovered_records, 1);
	ck_assert_uint_eq(st.torn_bytes, len - rec);
	ck_assert_uint_eq(st.torn_offset, rec);
	ck_assert_uint_eq(st.store_errors, 0);
	/* The log line says what happened and where the bytes went. */
	char want[512];
	snprintf(want, sizeof want,
		 "store: recovered 1 records, skipped 0; the last %zu bytes from offset %zu could not "
		 "be read (a record of %zu bytes that fails its CRC check: corrupt data): kept in %s\n",
		 len - rec, rec, rec - 8, fpath("broker.log.torn-1"));
	ck_assert_str_eq(flog, want);
	/* The copy holds exactly the unread bytes; the log was compacted to the one record. */
	size_t kn;
	uint8_t *k = fread_all("broker.log.torn-1", &kn);
	ck_assert_ptr_nonnull(k);
	ck_assert_uint_eq(kn, len - rec);
	ck_assert(!memcmp(k, old + rec, kn));
	struct stat sb;
	ck_assert_int_eq(stat(fpath("broker.log"), &sb), 0);
	ck_assert_int_eq(sb.st_size, (off_t)rec);
	broker_free(b);
	broker_file_store_close(fs);

	/* The next start finds a clean log and leaves the copy alone. */
	flog[0] = 0;
	b = fstart(&fs, NULL, NULL);
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.torn_bytes, 0);
	ck_assert_str_eq(flog, "store: recovered 1 records, skipped 0; no torn tail\n");
	ck_assert_int_eq(stat(fpath("broker.log.torn-2"), &sb), -1);
	ck_assert_int_eq(stat(fpath("broker.log.torn-1"), &sb), 0);
	broker_free(b);
	broker_file_store_close(fs);
}
END_TEST

START_TEST(test_file_partial_last_record_starts_fine)
{
	size_t len = flog_three();
	/* A crash cut the last record short: the normal torn tail. */
	ck_assert_int_eq(truncate(fpath("broker.log"), (off_t)(len - 3)), 0);
	broker_file_store *fs;
	broker *b = fstart(&fs, NULL, NULL);
	broker_stats st;
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.recovered_records, 2);
	ck_assert_uint_eq(st.torn_bytes, len / 3 - 3);
	ck_assert_uint_eq(st.store_errors, 0);
	ck_assert_msg(strstr(flog, "with only") && strstr(flog, "a write a crash tore") &&
			      strstr(flog, "kept in "),
		      "%s", flog);
	size_t kn;
	ck_assert_ptr_nonnull(fread_all("broker.log.torn-1", &kn));
	ck_assert_uint_eq(kn, len / 3 - 3);
	broker_free(b);
	broker_file_store_close(fs);
}
END_TEST

START_TEST(test_file_random_bytes_kept_whole)
{
	uint8_t junk[300];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof junk; i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (uint8_t)(x >> 16);
	}
	fwrite_all("broker.log", junk, sizeof junk);
	broker_file_store *fs;
	broker *b = fstart(&fs, NULL, NULL);
	broker_stats st;
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.recovered_records, 0);
	ck_assert_uint_eq(st.torn_bytes, sizeof junk);
	ck_assert_uint_eq(st.torn_offset, 0);
	ck_assert_msg(strstr(flog, "the last 300 bytes from offset 0 could not be read"), "%s", flog);
	size_t kn;
	uint8_t *k = fread_all("broker.log.torn-1", &kn);
	ck_assert_ptr_nonnull(k);
	ck_assert_uint_eq(kn, sizeof junk);
	ck_assert(!memcmp(k, junk, kn));
	broker_free(b);
	broker_file_store_close(fs);
}
END_TEST

static int load_fails(void *ctx, uint8_t **data, size_t *len)
{
	(void)ctx;
	*data = NULL;
	*len = 0;
	return -EIO;
}

START_TEST(test_file_unreadable_log_is_not_appended_to)
{
	size_t len = flog_three();
	uint8_t old[1 << 16];
	memcpy(old, fread_all("broker.log", &len), len);
	char err[256];
	broker_file_store *fs = broker_file_store_open(fdir, err, sizeof err);
	ck_assert_ptr_nonnull(fs);
	broker_store wrap = *broker_file_store_get(fs);
	wrap.load = load_fails;
	broker_config c;
	broker_config_init(&c);
	c.sys_interval_s = 0;
	c.store = &wrap;
	broker *b = broker_new(&fenv, &c);
	broker_stats st;
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.store_errors, 1);
	ck_assert_str_eq(flog, "store: cannot read the log (Input/output error): not using the store\n");
	uint8_t pk[64];
	broker_on_open(b, 1, "test");
	broker_on_bytes(b, 1, pk, unhex("10 0c 00 04 4d 51 54 54 04 02 00 00 00 00", pk, sizeof pk));
	broker_on_bytes(b, 1, pk, unhex("31 07 00 03 72 2f 7a 76 31", pk, sizeof pk));
	broker_free(b);
	broker_file_store_close(fs);
	size_t now_len;
	uint8_t *now = fread_all("broker.log", &now_len);
	ck_assert_uint_eq(now_len, len);
	ck_assert(!memcmp(now, old, len));
}
END_TEST

static uint32_t test_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xFFFFFFFFu;
}

START_TEST(test_file_skipped_record_is_kept_aside)
{
	size_t len = flog_three();
	uint8_t old[1 << 16];
	memcpy(old, fread_all("broker.log", &len), len);
	size_t rec = len / 3;
	/* A whole record, CRC and all, of a type no broker writes, in place of the second. */
	static const uint8_t body[] = { 0xEE };
	uint32_t c = test_crc32(body, 1);
	uint8_t bad[9] = { 0, 0, 0, 1, (uint8_t)(c >> 24), (uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c, 0xEE };
	uint8_t log[1 << 16];
	memcpy(log, old, rec);
	memcpy(log + rec, bad, sizeof bad);
	memcpy(log + rec + sizeof bad, old + rec, len - rec);
	size_t n = len + sizeof bad;
	fwrite_all("broker.log", log, n);

	broker_file_store *fs;
	broker *b = fstart(&fs, NULL, NULL);
	broker_stats st;
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.recovered_records, 3);
	ck_assert_uint_eq(st.skipped_records, 1);
	ck_assert_uint_eq(st.torn_bytes, 0);
	char want[512];
	snprintf(want, sizeof want,
		 "store: recovered 3 records, skipped 1 (the first at offset %zu); no torn tail; the log "
		 "from offset %zu on kept in %s\n", rec, rec, fpath("broker.log.torn-1"));
	ck_assert_str_eq(flog, want);
	size_t kn;
	uint8_t *k = fread_all("broker.log.torn-1", &kn);
	ck_assert_ptr_nonnull(k);
	ck_assert_uint_eq(kn, n - rec);
	ck_assert(!memcmp(k, log + rec, kn));
	broker_free(b);
	broker_file_store_close(fs);
}
END_TEST

static int keep_fails(void *ctx, uint64_t off, const void *d, size_t n, char *where, size_t cap)
{
	(void)ctx; (void)off; (void)d; (void)n; (void)where; (void)cap;
	return -ENOSPC;
}

START_TEST(test_file_keep_failure_leaves_log_alone)
{
	size_t len = flog_three();
	uint8_t old[1 << 16];
	memcpy(old, fread_all("broker.log", &len), len);
	old[len - 1] ^= 0xff;
	fwrite_all("broker.log", old, len);
	broker_file_store *fs;
	broker_store wrap;
	broker *b = fstart(&fs, &wrap, keep_fails);
	broker_stats st;
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.store_errors, 1);
	ck_assert_msg(strstr(flog, "NOT kept (No space left on device), so the log is left as it is") &&
			      strstr(flog, "store: not using the store"),
		      "%s", flog);
	/* Nothing is written to the store any more: the log is exactly what it was. */
	uint8_t pk[64];
	broker_on_open(b, 1, "test");
	broker_on_bytes(b, 1, pk, unhex("10 0c 00 04 4d 51 54 54 04 02 00 00 00 00", pk, sizeof pk));
	broker_on_bytes(b, 1, pk, unhex("31 07 00 03 72 2f 7a 76 31", pk, sizeof pk));
	broker_free(b);
	broker_file_store_close(fs);
	size_t now_len;
	uint8_t *now = fread_all("broker.log", &now_len);
	ck_assert_uint_eq(now_len, len);
	ck_assert(!memcmp(now, old, len));
}
END_TEST

/* ---- a store that fails: nothing after a hole in the log ------------------------------------ */

/* What the broker sent, per connection id (1..7), so a test can see which acknowledgements
 * went out. */
static uint8_t ssent[8][4096];
static size_t ssent_len[8];

static void s_send(void *ctx, uint64_t c, const uint8_t *d, size_t n)
{
	(void)ctx;
	ck_assert_uint_lt(c, 8);
	ck_assert_uint_le(ssent_len[c] + n, sizeof ssent[c]);
	memcpy(ssent[c] + ssent_len[c], d, n);
	ssent_len[c] += n;
}

static const broker_env senv = { NULL, f_now, s_send, f_close, f_wake, f_log, NULL };

/* How many of the next appends, syncs and replaces fail, then the real file store's. */
static int fail_append, fail_sync, fail_replace;
static broker_store real_store;

static int w_append(void *ctx, const void *d, size_t n)
{
	if (fail_append > 0 && fail_append--)
		return -EIO;
	return real_store.append(ctx, d, n);
}

static int w_sync(void *ctx)
{
	if (fail_sync > 0 && fail_sync--)
		return -EIO;
	return real_store.sync(ctx);
}

static int w_replace(void *ctx, const void *d, size_t n)
{
	if (fail_replace > 0 && fail_replace--)
		return -ENOSPC;
	return real_store.replace(ctx, d, n);
}

static bool sent_has(uint64_t c, const char *hex)
{
	uint8_t want[64];
	size_t n = unhex(hex, want, sizeof want);
	for (size_t i = 0; i + n <= ssent_len[c]; i++)
		if (!memcmp(ssent[c] + i, want, n))
			return true;
	return false;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t k = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		k++;
	return k;
}

#define CONNECT_S_KEEP "10 0d 00 04 4d 51 54 54 04 00 00 00 00 01 73"  /* "s", clean session 0 */
#define CONNECT_P      "10 0d 00 04 4d 51 54 54 04 02 00 00 00 01 70"  /* "p", clean session 1 */
#define PUBLISH_Q(d, id) "32 08 00 03 71 2f " d " 00 " id " 78"        /* QoS 1 q/d, payload x */

static void sfeed(broker *b, uint64_t c, const char *hex)
{
	uint8_t pk[64];
	broker_on_bytes(b, c, pk, unhex(hex, pk, sizeof pk));
}

/* A broker on the file store wrapped by w_*; a persistent session "s" subscribed to q/#
 * (QoS 1) and gone, and a publisher "p" on connection 2. */
static broker *sstart(broker_file_store **fs)
{
	memset(ssent_len, 0, sizeof ssent_len);
	fail_append = fail_sync = fail_replace = 0;
	char err[256];
	*fs = broker_file_store_open(fdir, err, sizeof err);
	ck_assert_msg(*fs != NULL, "%s", err);
	real_store = *broker_file_store_get(*fs);
	static broker_store wrap;
	wrap = real_store;
	wrap.append = w_append;
	wrap.sync = w_sync;
	wrap.replace = w_replace;
	broker_config c;
	broker_config_init(&c);
	c.sys_interval_s = 0;
	c.store = &wrap;
	broker *b = broker_new(&senv, &c);
	broker_on_open(b, 1, "sub");
	sfeed(b, 1, CONNECT_S_KEEP);
	sfeed(b, 1, "82 08 00 01 00 03 71 2f 23 01");
	ck_assert(sent_has(1, "90 03 00 01 01"));
	sfeed(b, 1, "e0 00");
	broker_on_open(b, 2, "pub");
	sfeed(b, 2, CONNECT_P);
	ck_assert(sent_has(2, "20 02 00 00"));
	return b;
}

/* The broker again on the same directory, the plain file store. */
static broker *sstart_plain(broker_file_store **fs)
{
	memset(ssent_len, 0, sizeof ssent_len);
	char err[256];
	*fs = broker_file_store_open(fdir, err, sizeof err);
	ck_assert_msg(*fs != NULL, "%s", err);
	broker_config c;
	broker_config_init(&c);
	c.sys_interval_s = 0;
	c.store = broker_file_store_get(*fs);
	return broker_new(&senv, &c);
}

/* After the restart, the session gets q/1 then q/2 (and nothing lost between). */
static void restart_and_expect_both(broker *b, broker_file_store *fs)
{
	broker_free(b);
	broker_file_store_close(fs);
	fail_append = fail_sync = fail_replace = 0;
	b = sstart_plain(&fs);
	broker_on_open(b, 3, "sub2");
	sfeed(b, 3, CONNECT_S_KEEP);
	ck_assert_msg(sent_has(3, "20 02 01 00"), "no CONNACK with session present");
	ck_assert_msg(sent_has(3, "32 08 00 03 71 2f 31 00 01 78"), "q/1 lost after the restart");
	ck_assert_msg(sent_has(3, "32 08 00 03 71 2f 32 00 02 78"), "q/2 lost after the restart");
	broker_free(b);
	broker_file_store_close(fs);
}

/* An append fails, the next ones would succeed: before the fix the PUBACK of q/1 went out
 * though its record never reached the disk, q/2's records followed the hole, and after a
 * restart q/1 was gone (and the records after the hole were replayed against a queue
 * without it). Now the hole is closed by a whole snapshot before anything is sent. */
START_TEST(test_file_failed_append_is_healed_by_a_snapshot)
{
	broker_file_store *fs;
	broker *b = sstart(&fs);
	fail_append = 1;
	sfeed(b, 2, PUBLISH_Q("31", "01"));
	ck_assert(sent_has(2, "40 02 00 01"));
	sfeed(b, 2, PUBLISH_Q("32", "02"));
	ck_assert(sent_has(2, "40 02 00 02"));
	broker_stats st;
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.store_errors, 1);
	restart_and_expect_both(b, fs);
	ck_assert_uint_eq(count_of(flog, "store: append failed (Input/output error): holding output"), 1);
	ck_assert_uint_eq(count_of(flog, "store: a whole snapshot is written"), 1);
}
END_TEST

/* The snapshot cannot be written either: the PUBACKs wait (in order) until it can. */
START_TEST(test_file_output_held_while_the_disk_refuses)
{
	broker_file_store *fs;
	broker *b = sstart(&fs);
	fail_append = 1;
	fail_replace = 2;
	sfeed(b, 2, PUBLISH_Q("31", "01"));
	ck_assert_msg(!sent_has(2, "40 02 00 01"), "PUBACK sent for a message not on the disk");
	sfeed(b, 2, PUBLISH_Q("32", "02"));
	ck_assert(!sent_has(2, "40 02 00 01") && !sent_has(2, "40 02 00 02"));
	sfeed(b, 2, "c0 00"); /* PINGREQ: the third try of the snapshot succeeds */
	ck_assert(sent_has(2, "40 02 00 01 40 02 00 02"));
	ck_assert_uint_eq(count_of(flog, "holding output"), 1);
	ck_assert_uint_eq(count_of(flog, "store: a whole snapshot is written"), 1);
	restart_and_expect_both(b, fs);
}
END_TEST

/* A failed sync (fsync said EIO: what it wrote may not be on the disk) is a hole too. */
START_TEST(test_file_failed_sync_holds_output_until_a_snapshot)
{
	broker_file_store *fs;
	broker *b = sstart(&fs);
	fail_sync = 1;
	fail_replace = 1;
	sfeed(b, 2, PUBLISH_Q("31", "01"));
	ck_assert_msg(!sent_has(2, "40 02 00 01"), "PUBACK sent after a failed sync");
	ck_assert_uint_eq(count_of(flog, "store: sync failed (Input/output error)"), 1);
	sfeed(b, 2, PUBLISH_Q("32", "02"));
	ck_assert(sent_has(2, "40 02 00 01 40 02 00 02"));
	restart_and_expect_both(b, fs);
}
END_TEST

Suite *persist_suite(void)
{
	Suite *s = suite_create("persist");
	TCase *tc = tcase_create("crash");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_session_queue_survives_crash);
	tcase_add_test(tc, test_retained_survives_crash);
	tcase_add_test(tc, test_retained_dollar_topic_survives_crash);
	tcase_add_test(tc, test_inflight_redelivered_after_crash);
	tcase_add_test(tc, test_qos2_exactly_once_across_crash);
	tcase_add_test(tc, test_torn_tail_is_dropped);
	tcase_add_test(tc, test_torn_batch_is_dropped_whole);
	tcase_add_test(tc, test_compaction_keeps_state);
	tcase_add_test(tc, test_compaction_then_old_message_queued);
	suite_add_tcase(s, tc);
	tc = tcase_create("sweep");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_crash_point_sweep, 0, SWEEP_POINTS);
	suite_add_tcase(s, tc);
	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, fsetup, fteardown);
	tcase_add_test(tc, test_file_corrupt_record_is_kept_aside);
	tcase_add_test(tc, test_file_partial_last_record_starts_fine);
	tcase_add_test(tc, test_file_random_bytes_kept_whole);
	tcase_add_test(tc, test_file_keep_failure_leaves_log_alone);
	tcase_add_test(tc, test_file_skipped_record_is_kept_aside);
	tcase_add_test(tc, test_file_unreadable_log_is_not_appended_to);
	tcase_add_test(tc, test_file_failed_append_is_healed_by_a_snapshot);
	tcase_add_test(tc, test_file_output_held_while_the_disk_refuses);
	tcase_add_test(tc, test_file_failed_sync_holds_output_until_a_snapshot);
	suite_add_tcase(s, tc);
	return s;
}
