/*
 * test_scenario.c - the scenario loader (harness/scenario_*.c, units.c): unit parsers, good files
 * read into the model field by field, bad files with the exact first error a user sees
 * (LINE:COLUMN: message), several errors in one file, limits, and a mutation run that must
 * never crash. Everything goes through scenario_parse() in memory, except one test of
 * scenario_load() on a missing file.
 */
#include "tests.h"

#include "harness/run.h"
#include "harness/scenario.h"
#include "harness/run.h"
#include "harness/units.h"
#include "mqtt/mqtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_NAME "t.yaml"

static scenario *parse(const char *text, sc_errors *e)
{
	return scenario_parse(FILE_NAME, text, strlen(text), e);
}

/* An error without its "t.yaml:" prefix. */
static const char *bare(const sc_errors *e, int i)
{
	ck_assert_int_lt(i, e->n);
	ck_assert_msg(!strncmp(e->msg[i], FILE_NAME ":", strlen(FILE_NAME ":")), "no file name: %s",
		      e->msg[i]);
	return e->msg[i] + strlen(FILE_NAME ":");
}

static void dump(const sc_errors *e)
{
	for (int i = 0; i < e->n; i++)
		fprintf(stderr, "  %s\n", e->msg[i]);
}

/* Parse text that must load. */
static scenario *good(const char *text)
{
	sc_errors e;
	scenario *s = parse(text, &e);
	if (!s)
		dump(&e);
	ck_assert_msg(s != NULL, "did not load (%d errors, first: %s)", e.n, e.n ? e.msg[0] : "-");
	ck_assert_int_eq(e.n, 0);
	sc_errors_free(&e);
	return s;
}

/* ---- unit parsers ----------------------------------------------------------------------- */

static const struct {
	const char *text;
	int64_t want; /* -1: malformed */
} duration_rows[] = {
	{ "500us", 500 },
	{ "250ms", 250000 },
	{ "15s", 15000000 },
	{ "10m", 600000000 },
	{ "2h", 7200000000LL },
	{ "1m30s", 90000000 },
	{ "1h2m3s4ms5us", 3723004005LL },
	{ "1.5s", 1500000 },
	{ "0.5ms", 500 },
	{ "0s", 0 },
	{ "7\xc2\xb5s", 7 },
	{ "2562047788h", 2562047788LL * 3600000000LL },
	{ "", -1 },
	{ "250", -1 },          /* a bare number: say the unit */
	{ "-5ms", -1 },
	{ "5 ms", -1 },
	{ "30s1m", -1 },        /* parts go from large to small */
	{ "1s1s", -1 },
	{ "1.5us", -1 },        /* less than a microsecond */
	{ "ms", -1 },
	{ "5d", -1 },
	{ "1e3ms", -1 },
	{ ".5s", -1 },
	{ "5.s", -1 },
	{ "1m30", -1 },
	{ "2562047789h", -1 },  /* past INT64_MAX microseconds */
	{ "99999999999999999999s", -1 },
	{ "1.0000000001s", -1 }, /* more than 9 fraction digits */
};

START_TEST(test_parse_duration)
{
	int64_t got = sc_parse_duration(duration_rows[_i].text);
	ck_assert_msg(got == duration_rows[_i].want, "row %d \"%s\": got %lld want %lld", _i,
		      duration_rows[_i].text, (long long)got, (long long)duration_rows[_i].want);
}
END_TEST

static const struct {
	const char *text;
	int64_t size, bitrate; /* -1: malformed as that kind */
} amount_rows[] = {
	{ "256B", 256, -1 },
	{ "4KiB", 4096, -1 },
	{ "1MiB", 1048576, -1 },
	{ "2KB", 2000, -1 },
	{ "2kB", 2000, -1 },
	{ "1MB", 1000000, -1 },
	{ "1GiB", 1073741824LL, -1 },
	{ "1.5KiB", 1536, -1 },
	{ "0B", 0, -1 },
	{ "9600bit", -1, 9600 },
	{ "20kbit", -1, 20000 },
	{ "20kbit/s", -1, 20000 },
	{ "1Mbit", -1, 1000000 },
	{ "1Gbps", -1, 1000000000LL },
	{ "2.5Mbit", -1, 2500000 },
	{ "256", -1, -1 },
	{ "4kib", -1, -1 },
	{ "1.5B", -1, -1 },
	{ "1.5bit", -1, -1 },
	{ "-1B", -1, -1 },
	{ "B", -1, -1 },
	{ "1 B", -1, -1 },
	{ "20kb", -1, -1 },
	{ "mbit", -1, -1 },
	{ "99999999999GiB", -1, -1 },
	{ "", -1, -1 },
};

START_TEST(test_parse_size_and_bitrate)
{
	const char *t = amount_rows[_i].text;
	ck_assert_msg(sc_parse_size(t) == amount_rows[_i].size, "row %d \"%s\": size %lld", _i, t,
		      (long long)sc_parse_size(t));
	ck_assert_msg(sc_parse_bitrate(t) == amount_rows[_i].bitrate, "row %d \"%s\": bitrate %lld", _i,
		      t, (long long)sc_parse_bitrate(t));
}
END_TEST

static const struct {
	const char *text;
	double want; /* -1: malformed or out of range */
} fraction_rows[] = {
	{ "5%", 0.05 },
	{ "0.05", 0.05 },
	{ "100%", 1.0 },
	{ "0", 0.0 },
	{ "1", 1.0 },
	{ "0.3", 0.3 },
	{ "30%", 0.3 },
	{ "12.5%", 0.125 },
	{ "150%", -1 },
	{ "1.5", -1 },
	{ "-5%", -1 },
	{ "5 %", -1 },
	{ "%", -1 },
	{ "abc", -1 },
	{ "nan", -1 },
	{ "1e-2", -1 },
	{ "", -1 },
};

START_TEST(test_parse_fraction)
{
	double got = sc_parse_fraction(fraction_rows[_i].text), want = fraction_rows[_i].want;
	ck_assert_msg(got > want - 1e-12 && got < want + 1e-12, "row %d \"%s\": got %g want %g", _i,
		      fraction_rows[_i].text, got, want);
}
END_TEST

START_TEST(test_parse_null_inputs)
{
	ck_assert_int_eq(sc_parse_duration(NULL), -1);
	ck_assert_int_eq(sc_parse_size(NULL), -1);
	ck_assert_int_eq(sc_parse_bitrate(NULL), -1);
	ck_assert(sc_parse_fraction(NULL) < 0);
}
END_TEST

/* ---- good scenarios --------------------------------------------------------------------- */

/* The example of scenarios/README.md, as written there. */
static const char readme_example[] =
	"name: retained-flag-on-subscribe\n"
	"description: A retained message reaches a new subscriber with RETAIN=1, live ones with 0.\n"
	"spec: [MQTT-3.3.1-8, MQTT-3.3.1-9]\n"
	"targets: [sim, tcp]\n"
	"clients:\n"
	"  - { id: pub }\n"
	"  - { id: sub }\n"
	"steps:\n"
	"  - { client: pub, connect: { clean_session: true } }\n"
	"  - { client: pub, publish: { topic: r/t, payload: \"21.5\", qos: 1, retain: true } }\n"
	"  - { client: pub, expect: { packet: PUBACK, within: 1s } }\n"
	"  - { client: sub, connect: { clean_session: true } }\n"
	"  - { client: sub, subscribe: [{ filter: r/#, qos: 1 }] }\n"
	"  - { client: sub, expect: { packet: SUBACK, codes: [1] } }\n"
	"  - { client: sub, expect: { packet: PUBLISH, topic: r/t, retain: 1, within: 1s } }\n"
	"  - { client: pub, publish: { topic: r/t, payload: \"22.0\", qos: 1, retain: true } }\n"
	"  - { client: sub, expect: { packet: PUBLISH, topic: r/t, retain: 0, within: 1s } }\n"
	"expect:\n"
	"  - retained: { topic: r/t, payload: \"22.0\" }\n";

START_TEST(test_readme_example)
{
	scenario *s = good(readme_example);
	ck_assert_str_eq(s->file, FILE_NAME);
	ck_assert_str_eq(s->name, "retained-flag-on-subscribe");
	ck_assert_ptr_nonnull(strstr(s->description, "RETAIN=1"));
	ck_assert_uint_eq(s->nspec, 2);
	ck_assert_str_eq(s->spec[1], "MQTT-3.3.1-9");
	ck_assert_uint_eq(s->targets, SC_TARGET_SIM | SC_TARGET_TCP);
	ck_assert_uint_eq(s->nclients, 2);
	ck_assert_str_eq(s->clients[1].id, "sub");
	ck_assert_str_eq(s->clients[1].client_id, "sub");
	ck_assert_uint_eq(s->nsteps, 9);
	const sc_step *st = s->steps;
	ck_assert_int_eq(st[0].kind, SC_CONNECT);
	ck_assert_int_eq(st[0].client, 0);
	ck_assert_int_eq(st[0].pos.line, 9);
	ck_assert_int_eq(st[0].pos.col, 5);
	ck_assert_int_eq(st[1].kind, SC_PUBLISH);
	ck_assert_str_eq(st[1].topic, "r/t");
	ck_assert_str_eq(st[1].payload, "21.5");
	ck_assert_uint_eq(st[1].qos, 1);
	ck_assert(st[1].retain);
	ck_assert_int_eq(st[2].kind, SC_EXPECT);
	ck_assert_int_eq(st[2].match.type, MQTT_PUBACK);
	ck_assert_int_eq(st[2].within_us, 1000000);
	ck_assert_int_eq(st[4].kind, SC_SUBSCRIBE);
	ck_assert_int_eq(st[4].client, 1);
	ck_assert_uint_eq(st[4].nsubs, 1);
	ck_assert_str_eq(st[4].subs[0].filter, "r/#");
	ck_assert_uint_eq(st[4].subs[0].qos, 1);
	ck_assert_int_eq(st[5].match.type, MQTT_SUBACK);
	ck_assert_uint_eq(st[5].match.ncodes, 1);
	ck_assert_uint_eq(st[5].match.codes[0], 1);
	ck_assert_int_eq(st[5].within_us, 5000000);
	ck_assert(st[6].match.has_retain && st[6].match.retain);
	ck_assert(st[8].match.has_retain && !st[8].match.retain);
	ck_assert(!st[8].match.has_qos);
	ck_assert_uint_eq(s->nexpects, 1);
	ck_assert_int_eq(s->expects[0].kind, SC_EXP_RETAINED);
	ck_assert_str_eq(s->expects[0].topic, "r/t");
	ck_assert_str_eq(s->expects[0].payload, "22.0");
	ck_assert_int_eq(s->expects[0].pos.line, 19);
	scenario_free(s);
}
END_TEST

/* Every key of the language at least once. */
static const char kitchen_sink[] =
	"# every key of scenarios/README.md\n"
	"name: kitchen-sink.1\n"
	"description: >\n"
	"  Every key of the language\n"
	"  at least once.\n"
	"spec: [MQTT-3.3.1-8, MQTT-4.7.1-2]\n"
	"seed: 18446744073709551615\n"
	"duration: 2h\n"
	"targets: [sim]\n"
	"broker: { persistence: true, max_queued: 1000, max_inflight: 20, queue_qos0: true,\n"
	"          drop_oldest: true, sys_interval: 10s }\n"
	"network:\n"
	"  default: { latency: 20ms, jitter: 5ms }\n"
	"  links:\n"
	"    pub: { latency: 80ms, jitter: 40ms, jitter_dist: pareto, loss: 5%, bandwidth: 20kbit,\n"
	"           slice: 16B, coalesce: 2ms, limit: 4KiB, close_delay: 1s, rto: 300ms, retries: 7 }\n"
	"    broker: &slow { latency: 1m30s, jitter_dist: normal }\n"
	"    sub: *slow\n"
	"faults:\n"
	"  - { at: 10s, partition: [pub, broker], for: 90s }\n"
	"  - { at: 20s, partition_oneway: [broker, pub], for: 5s }\n"
	"  - { at: 30s, clog: [pub, broker], for: 2s }\n"
	"  - { at: 40s, blackhole: [sub, broker], for: 10s }\n"
	"  - { at: 50s, reset: [sub, broker] }\n"
	"  - { at: 30m, crash: broker, restart_after: 5s }\n"
	"  - { at: 1m, drift: { node: pub, ppm: -200.5 }, for: 1m }\n"
	"  - { at: 1m, jump: { node: pub, by: -2s } }\n"
	"random_faults:\n"
	"  partition: { per_hour: 4, mean: 30s }\n"
	"  partition_oneway: { per_hour: 3, mean: 20s }\n"
	"  clog: { per_hour: 2, mean: 1s }\n"
	"  blackhole: { per_hour: 1, mean: 10s }\n"
	"  reset: { per_hour: 6 }\n"
	"  crash: { per_hour: 1, mean: 5s }\n"
	"  drift: { per_hour: 0.5, ppm: 50 }\n"
	"  jump: { per_hour: 1, by: 1s }\n"
	"clients:\n"
	"  - { id: pub, client_id: greenhouse-1, auto_ack: false, auto_ping: false }\n"
	"  - id: sub\n"
	"nodes: []\n"
	"steps:\n"
	"  - client: pub\n"
	"    connect:\n"
	"      client_id: other\n"
	"      clean_session: false\n"
	"      keepalive: 30s\n"
	"      username: u\n"
	"      password: p\n"
	"      will: { topic: w/pub, payload: gone, qos: 2, retain: true }\n"
	"      rc: 0\n"
	"      session_present: false\n"
	"      wait_connack: true\n"
	"      within: 2s\n"
	"  - { client: sub, connect: { wait_connack: false } }\n"
	"  - { client: sub, subscribe: [{ filter: \"r/#\", qos: 1 }, { filter: a/+/c }] }\n"
	"  - { client: sub, subscribe: { filter: x, qos: 2 } }\n"
	"  - { client: sub, unsubscribe: [x, \"r/#\"] }\n"
	"  - { client: sub, unsubscribe: a/+/c }\n"
	"  - { client: pub, publish: { topic: r/t, payload: \"21.5\", qos: 1, retain: true, dup: true, id: 7 } }\n"
	"  - { client: pub, publish: { topic: r/u } }\n"
	"  - { client: pub, expect: { packet: puback, id: 7, rc: 0, within: 1s, after: 250ms } }\n"
	"  - { client: sub, expect: { packet: PUBLISH, topic: r/t, payload: \"21.5\", qos: 1, retain: 1, dup: false } }\n"
	"  - { client: sub, expect: { packet: SubAck, codes: [1, 0x80] } }\n"
	"  - { client: pub, expect: { packet: CONNACK, rc: [5, 0x87], session_present: true } }\n"
	"  - { client: sub, expect_none: { packet: PUBLISH, for: 500ms } }\n"
	"  - { client: sub, expect_none: { for: 1s } }\n"
	"  - { wait: 1m30s }\n"
	"  - { client: pub, wait: 10ms }\n"
	"  - { client: pub, send: \"30 05 00 01 2b 78 78\" }\n"
	"  - { client: pub, disconnect: true }\n"
	"  - { client: sub, drop: true }\n"
	"  - { client: sub, expect_closed: { within: 3s, after: 1s } }\n"
	"  - { client: pub, expect_closed: true }\n"
	"  - { client: sub, expect_closed: }\n"
	"expect:\n"
	"  - delivered: { from: pub, to: sub, topic: \"r/#\", qos: 1, loss: 5% }\n"
	"  - delivered: { from: pub, to: sub, topic: r/t, loss: 3 }\n"
	"  - delivered: { from: pub, to: sub, loss: 0.25 }\n"
	"  - no_duplicates: { to: sub, topic: \"r/#\" }\n"
	"  - ordered: { to: sub }\n"
	"  - retained: { topic: r/t, payload: \"22.0\" }\n"
	"  - retained: { topic: r/u, payload: null }\n"
	"  - will: { from: pub, to: sub, delivered: false }\n"
	"  - will: { from: pub, to: sub }\n";

START_TEST(test_kitchen_sink_top)
{
	scenario *s = good(kitchen_sink);
	ck_assert_str_eq(s->name, "kitchen-sink.1");
	ck_assert_str_eq(s->description, "Every key of the language at least once.\n");
	ck_assert(s->has_seed);
	ck_assert(s->seed == UINT64_MAX);
	ck_assert_int_eq(s->duration_us, 7200LL * 1000000);
	ck_assert_uint_eq(s->targets, SC_TARGET_SIM);
	const sc_broker *b = &s->broker;
	ck_assert(b->persistence && b->queue_qos0 && b->drop_oldest);
	ck_assert_uint_eq(b->max_queued, 1000);
	ck_assert_uint_eq(b->max_inflight, 20);
	ck_assert(b->has_sys_interval);
	ck_assert_uint_eq(b->sys_interval_s, 10);
	ck_assert_uint_eq(s->nclients, 2);
	ck_assert_str_eq(s->clients[0].client_id, "greenhouse-1");
	ck_assert(!s->clients[0].auto_ack && !s->clients[0].auto_ping);
	ck_assert(s->clients[1].auto_ack && s->clients[1].auto_ping);
	ck_assert_int_eq(s->clients[1].pos.line, 39);
	scenario_free(s);
}
END_TEST

START_TEST(test_kitchen_sink_network)
{
	scenario *s = good(kitchen_sink);
	ck_assert_uint_eq(s->nlinks, 4);
	ck_assert_ptr_null(s->links[0].node);
	ck_assert_int_eq(s->links[0].link.latency_us, 20000);
	ck_assert_int_eq(s->links[0].link.jitter_us, 5000);
	const sim_link *l = &s->links[1].link;
	ck_assert_str_eq(s->links[1].node, "pub");
	ck_assert_int_eq(l->latency_us, 80000);
	ck_assert_int_eq(l->jitter_us, 40000);
	ck_assert_int_eq(l->jitter_dist, SIM_JITTER_PARETO);
	ck_assert(l->loss > 0.0499 && l->loss < 0.0501);
	ck_assert_uint_eq(l->bandwidth_bps, 20000);
	ck_assert_uint_eq(l->slice_max, 16);
	ck_assert_int_eq(l->coalesce_us, 2000);
	ck_assert_uint_eq(l->limit_bytes, 4096);
	ck_assert_int_eq(l->close_delay_us, 1000000);
	ck_assert_int_eq(l->rto_us, 300000);
	ck_assert_uint_eq(l->retries, 7);
	/* an anchored profile, used again through an alias */
	ck_assert_str_eq(s->links[2].node, "broker");
	ck_assert_str_eq(s->links[3].node, "sub");
	ck_assert_int_eq(s->links[3].link.latency_us, 90000000);
	ck_assert_int_eq(s->links[3].link.jitter_dist, SIM_JITTER_NORMAL);
	ck_assert_int_eq(s->links[2].link.rto_us, 0); /* left to the simulator's default */
	ck_assert_uint_eq(s->links[2].link.retries, 0);
	scenario_free(s);
}
END_TEST

START_TEST(test_kitchen_sink_faults)
{
	scenario *s = good(kitchen_sink);
	ck_assert_uint_eq(s->nfaults, 8);
	const sc_fault *f = s->faults;
	ck_assert_int_eq(f[0].kind, SIM_FAULT_PARTITION);
	ck_assert_int_eq(f[0].at_us, 10000000);
	ck_assert_int_eq(f[0].for_us, 90000000);
	ck_assert_str_eq(f[0].a, "pub");
	ck_assert_str_eq(f[0].b, "broker");
	ck_assert_int_eq(f[0].pos.line, 20);
	ck_assert_int_eq(f[0].pos.col, 5);
	ck_assert_int_eq(f[1].kind, SIM_FAULT_PARTITION_ONEWAY);
	ck_assert_str_eq(f[1].a, "broker");
	ck_assert_int_eq(f[2].kind, SIM_FAULT_CLOG);
	ck_assert_int_eq(f[3].kind, SIM_FAULT_BLACKHOLE);
	ck_assert_int_eq(f[4].kind, SIM_FAULT_RESET);
	ck_assert_int_eq(f[4].for_us, 0);
	ck_assert_int_eq(f[5].kind, SIM_FAULT_CRASH);
	ck_assert_str_eq(f[5].a, "broker");
	ck_assert_ptr_null(f[5].b);
	ck_assert_int_eq(f[5].at_us, 1800000000LL);
	ck_assert_int_eq(f[5].for_us, 5000000);
	ck_assert_int_eq(f[6].kind, SIM_FAULT_DRIFT);
	ck_assert_str_eq(f[6].a, "pub");
	ck_assert(f[6].value == -200.5);
	ck_assert_int_eq(f[6].for_us, 60000000);
	ck_assert_int_eq(f[7].kind, SIM_FAULT_JUMP);
	ck_assert(f[7].value == -2000000.0);
	const sc_random_faults *r = &s->random_faults;
	ck_assert(r->on);
	ck_assert_int_eq(r->pos.line, 29);
	ck_assert(r->rates.per_hour[SIM_FAULT_PARTITION] == 4);
	ck_assert_int_eq(r->rates.mean_duration_us[SIM_FAULT_PARTITION], 30000000);
	ck_assert(r->rates.per_hour[SIM_FAULT_PARTITION_ONEWAY] == 3);
	ck_assert(r->rates.per_hour[SIM_FAULT_CLOG] == 2);
	ck_assert(r->rates.per_hour[SIM_FAULT_BLACKHOLE] == 1);
	ck_assert(r->rates.per_hour[SIM_FAULT_RESET] == 6);
	ck_assert_int_eq(r->rates.mean_duration_us[SIM_FAULT_RESET], 0);
	ck_assert_int_eq(r->rates.mean_duration_us[SIM_FAULT_CRASH], 5000000);
	ck_assert(r->rates.per_hour[SIM_FAULT_DRIFT] == 0.5);
	ck_assert(r->rates.value[SIM_FAULT_DRIFT] == 50);
	ck_assert(r->rates.value[SIM_FAULT_JUMP] == 1000000.0);
	scenario_free(s);
}
END_TEST

START_TEST(test_kitchen_sink_steps)
{
	scenario *s = good(kitchen_sink);
	ck_assert_uint_eq(s->nsteps, 22);
	const sc_step *st = s->steps;
	/* connect, every key */
	ck_assert_int_eq(st[0].kind, SC_CONNECT);
	ck_assert_int_eq(st[0].pos.line, 42);
	ck_assert_int_eq(st[0].pos.col, 5);
	ck_assert_str_eq(st[0].client_id, "other");
	ck_assert(!st[0].clean);
	ck_assert_uint_eq(st[0].keepalive_s, 30);
	ck_assert_str_eq(st[0].username, "u");
	ck_assert_str_eq(st[0].password, "p");
	ck_assert(st[0].will);
	ck_assert_str_eq(st[0].will_topic, "w/pub");
	ck_assert_str_eq(st[0].will_payload, "gone");
	ck_assert_uint_eq(st[0].will_qos, 2);
	ck_assert(st[0].will_retain);
	ck_assert(st[0].wait_connack);
	ck_assert_int_eq(st[0].within_us, 2000000);
	ck_assert_int_eq(st[0].connack.type, MQTT_CONNACK);
	ck_assert(st[0].connack.has_rc);
	ck_assert_uint_eq(st[0].connack.rc, 0);
	ck_assert(st[0].connack.has_session_present && !st[0].connack.session_present);
	ck_assert(!st[1].wait_connack);
	ck_assert_ptr_null(st[1].client_id);
	/* subscribe: a list, and one alone; unsubscribe: a list, and one alone */
	ck_assert_uint_eq(st[2].nsubs, 2);
	ck_assert_str_eq(st[2].subs[1].filter, "a/+/c");
	ck_assert_uint_eq(st[2].subs[1].qos, 0);
	ck_assert_uint_eq(st[3].nsubs, 1);
	ck_assert_str_eq(st[3].subs[0].filter, "x");
	ck_assert_uint_eq(st[3].subs[0].qos, 2);
	ck_assert_int_eq(st[4].kind, SC_UNSUBSCRIBE);
	ck_assert_uint_eq(st[4].nsubs, 2);
	ck_assert_str_eq(st[4].subs[1].filter, "r/#");
	ck_assert_uint_eq(st[5].nsubs, 1);
	/* publish */
	ck_assert(st[6].retain && st[6].dup);
	ck_assert_uint_eq(st[6].id, 7);
	ck_assert_str_eq(st[7].payload, "");
	ck_assert_uint_eq(st[7].qos, 0);
	ck_assert_uint_eq(st[7].id, 0);
	/* expect */
	const sc_match *m = &st[8].match;
	ck_assert_int_eq(m->type, MQTT_PUBACK);
	ck_assert(m->has_id && m->id == 7 && m->has_rc && m->rc == 0);
	ck_assert_int_eq(st[8].within_us, 1000000);
	ck_assert_int_eq(st[8].after_us, 250000);
	ck_assert_int_eq(st[9].after_us, 0);
	m = &st[9].match;
	ck_assert_str_eq(m->topic, "r/t");
	ck_assert_str_eq(m->payload, "21.5");
	ck_assert(m->has_qos && m->qos == 1 && m->has_retain && m->retain && m->has_dup && !m->dup);
	ck_assert(!m->has_id && !m->has_rc && !m->has_session_present && !m->codes);
	m = &st[10].match;
	ck_assert_int_eq(m->type, MQTT_SUBACK);
	ck_assert_uint_eq(m->ncodes, 2);
	ck_assert_uint_eq(m->codes[1], 0x80);
	ck_assert(st[11].match.has_session_present && st[11].match.session_present);
	ck_assert_uint_eq(st[11].match.rc, 5);
	ck_assert_uint_eq(st[11].match.nrc_alt, 1);
	ck_assert_uint_eq(st[11].match.rc_alt[0], 0x87);
	ck_assert_int_eq(st[12].kind, SC_EXPECT_NONE);
	ck_assert_int_eq(st[12].match.type, MQTT_PUBLISH);
	ck_assert_int_eq(st[12].for_us, 500000);
	ck_assert_int_eq(st[13].match.type, 0);
	/* wait, with and without a client */
	ck_assert_int_eq(st[14].kind, SC_WAIT);
	ck_assert_int_eq(st[14].client, -1);
	ck_assert_int_eq(st[14].for_us, 90000000);
	ck_assert_int_eq(st[15].client, 0);
	ck_assert_int_eq(st[15].for_us, 10000);
	/* raw bytes */
	ck_assert_int_eq(st[16].kind, SC_RAW);
	ck_assert_uint_eq(st[16].raw_len, 7);
	ck_assert_mem_eq(st[16].raw, "\x30\x05\x00\x01\x2b\x78\x78", 7);
	ck_assert_int_eq(st[17].kind, SC_DISCONNECT);
	ck_assert_int_eq(st[18].kind, SC_DROP);
	ck_assert_int_eq(st[19].kind, SC_EXPECT_CLOSED);
	ck_assert_int_eq(st[19].within_us, 3000000);
	ck_assert_int_eq(st[19].after_us, 1000000);
	ck_assert_int_eq(st[20].within_us, 5000000);
	ck_assert_int_eq(st[21].within_us, 5000000);
	scenario_free(s);
}
END_TEST

START_TEST(test_kitchen_sink_expect)
{
	scenario *s = good(kitchen_sink);
	ck_assert_uint_eq(s->nexpects, 9);
	const sc_expect *e = s->expects;
	ck_assert_int_eq(e[0].kind, SC_EXP_DELIVERED);
	ck_assert_int_eq(e[0].from, 0);
	ck_assert_int_eq(e[0].to, 1);
	ck_assert_str_eq(e[0].topic, "r/#");
	ck_assert(e[0].has_qos && e[0].qos == 1);
	ck_assert(!e[0].loss_is_count && e[0].loss > 0.0499 && e[0].loss < 0.0501);
	ck_assert(e[1].loss_is_count);
	ck_assert_uint_eq(e[1].loss_count, 3);
	ck_assert(!e[2].loss_is_count && e[2].loss == 0.25);
	ck_assert_ptr_null(e[2].topic);
	ck_assert(!e[2].has_qos);
	ck_assert_int_eq(e[3].kind, SC_EXP_NO_DUPLICATES);
	ck_assert_int_eq(e[3].from, -1);
	ck_assert_int_eq(e[3].to, 1);
	ck_assert_int_eq(e[4].kind, SC_EXP_ORDERED);
	ck_assert_ptr_null(e[4].topic);
	ck_assert_int_eq(e[5].kind, SC_EXP_RETAINED);
	ck_assert_str_eq(e[5].payload, "22.0");
	ck_assert_int_eq(e[5].from, -1);
	ck_assert_ptr_null(e[6].payload); /* null: no retained message */
	ck_assert_str_eq(e[6].topic, "r/u");
	ck_assert_int_eq(e[7].kind, SC_EXP_WILL);
	ck_assert(!e[7].delivered);
	ck_assert(e[8].delivered);
	ck_assert_int_eq(e[8].pos.line, 84);
	scenario_free(s);
}
END_TEST

/* What the README says a scenario gets when it says nothing. */
START_TEST(test_defaults)
{
	scenario *s = good("name: d\n"
			   "clients: [{ id: c }]\n"
			   "network: { links: { c: { latency: 1ms } } }\n"
			   "steps:\n"
			   "  - { client: c, connect: {} }\n"
			   "  - { client: c, connect: }\n"
			   "  - { client: c, expect: { packet: PINGRESP } }\n"
			   "  - { client: c, publish: { topic: t } }\n"
			   "  - { client: c, connect: { will: { topic: w } } }\n");
	ck_assert(!s->has_seed);
	ck_assert(s->seed == 1);
	ck_assert_int_eq(s->duration_us, 0); /* the runner picks 10m (sim) or 60s (tcp) */
	ck_assert_uint_eq(s->targets, SC_TARGET_SIM | SC_TARGET_TCP);
	ck_assert(!s->broker.has_sys_interval && !s->broker.persistence);
	ck_assert_uint_eq(s->broker.max_queued, 0);
	ck_assert(!s->random_faults.on);
	ck_assert_uint_eq(s->nspec, 0);
	ck_assert_ptr_null(s->description);
	ck_assert_uint_eq(s->nlinks, 1); /* no default profile given: no entry for it */
	ck_assert_str_eq(s->links[0].node, "c");
	ck_assert_int_eq(s->links[0].link.rto_us, 0);
	ck_assert_uint_eq(s->links[0].link.retries, 0);
	ck_assert_int_eq(s->links[0].link.jitter_dist, SIM_JITTER_UNIFORM);
	ck_assert(s->clients[0].auto_ack && s->clients[0].auto_ping);
	ck_assert_str_eq(s->clients[0].client_id, "c");
	for (int i = 0; i < 2; i++) {
		const sc_step *st = &s->steps[i];
		ck_assert(st->clean);
		ck_assert_uint_eq(st->keepalive_s, 60);
		ck_assert(st->wait_connack);
		ck_assert_int_eq(st->within_us, 5000000);
		ck_assert_int_eq(st->connack.type, MQTT_CONNACK);
		ck_assert(st->connack.has_rc && st->connack.rc == 0);
		ck_assert(!st->connack.has_session_present);
		ck_assert(!st->will);
	}
	ck_assert_int_eq(s->steps[2].within_us, 5000000);
	ck_assert_uint_eq(s->steps[3].qos, 0);
	ck_assert(!s->steps[3].retain && !s->steps[3].dup);
	ck_assert_str_eq(s->steps[3].payload, "");
	ck_assert(s->steps[4].will);
	ck_assert_str_eq(s->steps[4].will_payload, "");
	ck_assert_uint_eq(s->steps[4].will_qos, 0);
	scenario_free(s);
}
END_TEST

/* Spellings that must be accepted: each row loads. */
static const char *const good_rows[] = {
	"name: t\n",
	"name: t\nspec: MQTT-3.3.1-8\ntargets: tcp\n",
	"---\nname: t\n...\n",
	"name: t\r\nclients:\r\n  - id: a\r\n",
	"name: t\nclients:\nsteps:\nfaults:\nexpect:\nnodes:\nbroker:\nnetwork:\nrandom_faults:\n",
	"name: t\nclients: []\nsteps: []\nnodes: []\n",
	"name: t\nclients: [{ id: a }]\nsteps: [{ client: a, publish: { topic: \"caf\xc3\xa9/\xe2\x82\xac\", retain: True } }]\n",
	"name: t\nclients: [{ id: a }]\nsteps: [{ client: a, publish: { topic: a, payload: \"\", qos: \"1\" } }]\n",
	"name: t\nclients: [{ id: a }]\nsteps: [{ client: a, expect: { packet: suback, codes: 0x80 } }]\n",
	"name: t\nclients: [{ id: a }]\nsteps: [{ client: a, expect: { packet: UNSUBACK, codes: [] } }]\n",
	"name: t\nexpect: [{ retained: { topic: a, payload: ~ } }]\n",
	"name: t\nclients: [{ id: a-1_b.c }]\nnetwork: { default: { latency: 0ms, loss: 0, limit: 0B } }\n",
	"name: t\nclients: [{ id: a }]\nsteps: [{ client: a, connect: { keepalive: 0s, client_id: \"\" } }]\n",
	"name: t\nclients: [{ id: a }]\nsteps: [{ client: a, send: \"0x10,0x00\" }]\n",
	"name: t # a comment\nseed: 0\nduration: 1m30s\n",
	("name: t\nclients: [{ id: b }, { id: a }]\n"
	 "faults: [{ at: 0s, partition: [a, b] }, { at: 1s, crash: a }]\n"),
	"name: t\nbroker: { sys_interval: 1m }\ntargets: [sim, tcp, sim]\n",
	"name: t\nclients:\n  - &c { id: a }\nsteps:\n  - { client: a, subscribe: { filter: \"$share/g/t\" } }\n",
};

START_TEST(test_good_rows)
{
	scenario *s = good(good_rows[_i]);
	scenario_free(s);
}
END_TEST

/* A quoted "null" is a string; a plain null is not. */
START_TEST(test_null_and_strings)
{
	scenario *s = good("name: t\nclients: [{ id: a }]\n"
			   "steps: [{ client: a, publish: { topic: a, payload: \"null\" } }]\n"
			   "expect: [{ retained: { topic: a, payload: 'null' } }]\n");
	ck_assert_str_eq(s->steps[0].payload, "null");
	ck_assert_str_eq(s->expects[0].payload, "null");
	scenario_free(s);
}
END_TEST

/* ---- bad scenarios: the exact first error --------------------------------------------- */

/* Most rows start with two clients, so their own lines begin at line 3. */
#define H "name: t\nclients: [{ id: pub }, { id: sub }]\n"

static const struct {
	const char *text;
	const char *first; /* "LINE:COLUMN: message" */
} bad_rows[] = {
	{ H "steps:\n  - { client: pub, expect: { packet: PUBLISH, again: true, within: 1s } }\n",
	  "4:60: 'within' does not go with 'again: true' (that checks the packet already matched, waiting for nothing)" },
	{ H "steps:\n  - { client: pub, expect: { packet: PUBLISH, again: true, after: 1s } }\n",
	  "4:60: 'after' does not go with 'again: true' (that checks the packet already matched, waiting for nothing)" },
	{ H "steps:\n  - { client: pub, expect_closed: { after: 0s } }\n",
	  "4:44: 'after' must be more than zero, got '0s'" },
	/* a step's or an expectation's spec: ids of the scenario's own list */
	{ H "spec: [MQTT-3.3.1-8]\nsteps:\n  - { client: pub, connect: {}, spec: [MQTT-3.3.1-9] }\n",
	  "5:40: 'MQTT-3.3.1-9' is not in the scenario's spec list; add it there (a step's spec names which of the scenario's statements the step checks)" },
	{ H "steps:\n  - { client: pub, connect: {}, spec: MQTT-3.3.1-9 }\n",
	  "4:39: 'MQTT-3.3.1-9' is not in the scenario's spec list; add it there (a step's spec names which of the scenario's statements the step checks)" },
	{ H "spec: [MQTT-3.3.1-8]\nsteps:\n  - { client: pub, connect: {}, spec: [3.3.1-8] }\n",
	  "5:40: '3.3.1-8' is not a statement id; they look like MQTT-3.3.1-8" },
	{ H "spec: [MQTT-3.3.1-8]\nexpect:\n  - { spec: [MQTT-1.5.3-1], no_duplicates: { to: sub } }\n",
	  "5:14: 'MQTT-1.5.3-1' is not in the scenario's spec list; add it there (a step's spec names which of the scenario's statements the step checks)" },
	{ H "spec: [MQTT-3.3.1-8]\nexpect:\n  - { spec: [MQTT-3.3.1-8] }\n",
	  "5:5: expectation needs a kind: one of delivered, no_duplicates, ordered, retained, will, node" },
	{ H "steps:\n  - { client: pub, spec: [] }\n",
	  "4:5: step has nothing to do: give one of connect, subscribe, unsubscribe, publish, disconnect, drop, wait, send, open, ack, expect, expect_none, expect_closed" },
	{ "",
	  "1:1: the file is empty; a scenario needs at least a 'name'" },
	{ "# only a comment\n",
	  "1:1: the file is empty; a scenario needs at least a 'name'" },
	{ "- a\n- b\n",
	  "1:1: a scenario is a mapping of keys (name:, clients:, steps: ...), got a list" },
	{ "name: t\n\tclients: []\n",
	  "2:1: YAML syntax error: found a tab character that violates indentation (while scanning a plain scalar at 1:7); tabs cannot indent YAML, use spaces" },
	{ "name: t\nclients:\n\t- { id: a }\n",
	  "3:1: YAML syntax error: found character that cannot start any token (while scanning for the next token at 3:1); tabs cannot indent YAML, use spaces" },
	{ "name: [t\n",
	  "2:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at 1:7)" },
	{ "name: t\n---\nname: u\n",
	  "3:1: a scenario file holds one YAML document; this is a second one" },
	{ "name: *x\n",
	  "1:7: YAML syntax error: found undefined alias" },
	{ "name: t\xff" "\n",
	  "1:8: YAML syntax error: invalid leading UTF-8 octet (byte 0xFF)" },
	{ "name: t\nname: u\n",
	  "2:1: duplicate key 'name' in scenario (first at 1:1)" },
	{ "nmae: t\n",
	  "1:1: unknown key 'nmae' in scenario (did you mean 'name'?)" },
	{ "description: x\n",
	  "1:1: scenario needs 'name'" },
	{ "name: [a]\n",
	  "1:7: 'name' must be a string, got a list" },
	{ "name: my test\n",
	  "1:7: 'name' may use only letters, digits, '-', '_' and '.' (it names the trace file), got 'my test'" },
	{ "name: t\nseed: -1\n",
	  "2:7: 'seed' must be a whole number from 0 to 18446744073709551615, got '-1'" },
	{ "name: t\nduration: 10\n",
	  "2:11: 'duration' is a bare number; say the unit, e.g. 10ms or 10s" },
	{ "name: t\nduration: -5s\n",
	  "2:11: 'duration' cannot be negative, got '-5s'" },
	{ "name: t\nduration: 0s\n",
	  "2:11: 'duration' must be more than zero, got '0s'" },
	{ "name: t\nduration: 5 minutes\n",
	  "2:11: 'duration' must be a duration like 250ms, 15s or 1m30s, got '5 minutes'" },
	{ "name: t\ntargets: [sim, tpc]\n",
	  "2:16: 'targets' must be one of sim, tcp, ws, got 'tpc' (did you mean 'tcp'?)" },
	{ "name: t\ntargets: []\n",
	  "2:10: 'targets' is empty; say where the scenario can run: [sim, tcp] (or [ws]: WebSocket only)" },
	/* WebSocket framing of a send step: a [ws] scenario's, and a send's only. */
	{ "name: t\nclients: [{ id: a }]\nsteps:\n  - { client: a, send: \"c0 00\", ws_text: true }\n",
	  "4:42: 'ws_text' needs a WebSocket transport: give the scenario 'targets: [ws]'" },
	{ "name: t\ntargets: [ws]\nclients: [{ id: a }]\nsteps:\n  - { client: a, open: true, ws_frames: [1] }\n",
	  "5:41: 'ws_frames' goes with 'send' only (how its bytes travel over WebSocket)" },
	{ "name: t\ntargets: [ws]\nclients: [{ id: a }]\nsteps:\n  - { client: a, send: \"c0 00\", ws_frames: [0] }\n",
	  "5:45: 'ws_frames' must be an integer from 1 to 1048576, got '0'" },
	{ "name: t\nspec: [MQTT-3.3.1]\n",
	  "2:8: 'MQTT-3.3.1' is not a statement id; they look like MQTT-3.3.1-8" },
	{ "name: t\nbroker: [persistence]\n",
	  "2:9: expected a mapping for broker, got a list" },
	{ "name: t\nbroker: { persistance: true }\n",
	  "2:11: unknown key 'persistance' in broker (did you mean 'persistence'?)" },
	{ "name: t\nbroker: { max_inflight: 70000 }\n",
	  "2:25: 'max_inflight' must be an integer from 1 to 65535, got '70000'" },
	{ "name: t\nbroker: { sys_interval: 1500ms }\n",
	  "2:25: 'sys_interval' must be whole seconds, like 10s, got '1500ms'" },
	{ "name: t\ntargets: [tcp]\nbroker: { persistence: true }\n",
	  "3:1: broker options apply only to the simulated broker, but targets has no 'sim'" },
	{ "name: t\nbroker: { exec_config: \"persistence true\" }\n",
	  "2:24: expected a list for exec_config, got 'persistence true'" },
	{ "name: t\nbroker: { exec_config: [] }\n",
	  "2:24: 'exec_config' is empty; give the broker's configuration lines, e.g. [\"persistence true\"], or leave it out" },
	{ "name: t\nbroker: { exec_config: [\"a\\nb\"] }\n",
	  "2:25: an 'exec_config' item is one line of the broker's configuration, without line breaks or control "
	  "characters; got 'a?b'" },
	{ "name: t\nbroker: { exec_config: [[x]] }\n",
	  "2:25: 'exec_config' must be a string, got a list" },
	{ H "network: { default: { lantency: 20ms } }\n",
	  "3:23: unknown key 'lantency' in link (did you mean 'latency'?)" },
	{ H "network: { default: { latency: 20 } }\n",
	  "3:32: 'latency' is a bare number; say the unit, e.g. 20ms or 20s" },
	{ H "network: { default: { jitter_dist: gauss } }\n",
	  "3:36: 'jitter_dist' must be one of uniform, normal, pareto, got 'gauss'" },
	{ H "network: { default: { loss: 150% } }\n",
	  "3:29: 'loss' must be a fraction between 0 and 1, like 5% or 0.05, got '150%'" },
	{ H "network: { default: { bandwidth: 20kb } }\n",
	  "3:34: 'bandwidth' must be a bit rate like 9600bit, 20kbit or 1Mbit, got '20kb'" },
	{ H "network: { default: { slice: 256 } }\n",
	  "3:30: 'slice' is a bare number; say the unit, e.g. 256B" },
	{ H "network: { default: { retries: 0 } }\n",
	  "3:32: 'retries' must be an integer from 1 to 1000, got '0'" },
	{ H "network: { links: { sensor-1: { latency: 1ms } } }\n",
	  "3:21: unknown host 'sensor-1'; hosts are broker and the clients: pub, sub" },
	{ H "network: { links: { pub: {}, pub: {} } }\n",
	  "3:30: duplicate link for 'pub' (first at 3:21)" },
	{ H "network: { links: [pub] }\n",
	  "3:19: expected a mapping for links (host: { latency: ... }), got a list" },
	{ H "faults:\n  - { partition: [pub, broker] }\n",
	  "4:5: fault needs 'at'" },
	{ H "faults:\n  - { at: 1s, partition: [pub, brokr] }\n",
	  "4:32: unknown host 'brokr' (did you mean 'broker'?)" },
	{ H "faults:\n  - { at: 1s, partition: [pub] }\n",
	  "4:26: 'partition' names two hosts, like [pub, broker], got a list of 1" },
	{ H "faults:\n  - { at: 1s, crash: pub, for: 5s }\n",
	  "4:27: a crash lasts until 'restart_after'; use that instead of 'for'" },
	{ H "faults:\n  - { at: 1s, reset: [pub, broker], for: 5s }\n",
	  "4:37: a reset is instantaneous; 'for' does not apply" },
	{ H "faults:\n  - { at: 1s, clog: [pub, broker], partition: [pub, broker] }\n",
	  "4:36: fault does one thing, but 'clog' and 'partition' are both here; write one fault per item" },
	{ H "faults:\n  - { at: 1s }\n",
	  "4:5: fault needs a kind: one of partition, partition_oneway, clog, blackhole, reset, crash, drift, jump, wifi_down" },
	{ H "faults:\n  - { at: 1s, drift: { node: pub } }\n",
	  "4:22: drift needs 'ppm'" },
	{ H "faults:\n  - { at: 1s, jump: { node: pub, by: 0s } }\n",
	  "4:38: 'by' must be more than zero, got '0s'" },
	{ H "duration: 1m\nfaults:\n  - { at: 2m, crash: broker }\n",
	  "5:11: 'at' is 2m, after the end of the run (duration: 1m)" },
	{ H "random_faults:\n  partition: { per_hour: 4 }\n",
	  "4:14: random partition needs 'mean' (how long each one lasts, e.g. 30s)" },
	{ H "random_faults:\n  crash: { per_hour: 1, mean: 5s, ppm: 3 }\n",
	  "4:35: 'ppm' applies only to drift" },
	{ "name: t\nclients: [{ id: pub }, { id: pub }]\n",
	  "2:30: duplicate client id 'pub' (first at 2:17)" },
	{ "name: t\nclients: [{ client_id: x }]\n",
	  "2:11: client needs 'id'" },
	{ "name: t\nclients: [{ id: broker }]\n",
	  "2:17: 'broker' names the broker host; give the client another id" },
	{ "name: t\nclients: [{ id: a, auto_ack: yes }]\n",
	  "2:30: 'auto_ack' must be true or false, got 'yes'" },
	{ "name: t\nclients: { id: a }\n",
	  "2:10: expected a list for clients, got a mapping" },
	{ "name: t\nnodes: [{ id: s1 }]\n",
	  "2:9: node needs 'firmware'" },
	{ H "steps:\n  - { connect: {} }\n",
	  "4:5: step needs 'client' (the client that does 'connect')" },
	{ H "steps:\n  - { client: pbu, connect: {} }\n",
	  "4:15: unknown client 'pbu' (did you mean 'pub'?)" },
	{ "name: t\nsteps:\n  - { client: pub, connect: {} }\n",
	  "3:15: unknown client 'pub': no clients are declared; add { id: pub } under 'clients'" },
	{ H "steps:\n  - { client: pub }\n",
	  "4:5: step has nothing to do: give one of connect, subscribe, unsubscribe, publish, disconnect, drop, wait, send, open, ack, expect, expect_none, expect_closed" },
	{ H "steps:\n  - { client: pub, connect: {}, publish: { topic: a } }\n",
	  "4:33: step does one thing, but 'connect' and 'publish' are both here; split it into two steps" },
	{ H "steps:\n  - { client: pub, conect: {} }\n",
	  "4:20: unknown key 'conect' in step (did you mean 'connect'?)" },
	{ H "steps:\n  - { client: pub, connect: { keepalive: 60 } }\n",
	  "4:42: 'keepalive' is a bare number; say the unit, e.g. 60s" },
	{ H "steps:\n  - { client: pub, connect: { keepalive: 1500ms } }\n",
	  "4:42: 'keepalive' must be whole seconds, like 10s, got '1500ms'" },
	{ H "steps:\n  - { client: pub, connect: { will: { payload: x } } }\n",
	  "4:37: will needs 'topic'" },
	{ H "steps:\n  - { client: pub, connect: { wait_connack: false, rc: 5 } }\n",
	  "4:52: 'rc' is about the CONNACK, but wait_connack is false" },
	{ H "steps:\n  - { client: pub, subscribe: [{ filter: a/#/b, qos: 1 }] }\n",
	  "4:42: 'a/#/b' is not a valid topic filter: '#' must be the last character and stand alone in its level (MQTT-4.7.1-2)" },
	{ H "steps:\n  - { client: pub, subscribe: [{ filter: a, qos: 3 }] }\n",
	  "4:50: 'qos' must be 0, 1 or 2, got '3'" },
	{ H "steps:\n  - { client: pub, subscribe: [] }\n",
	  "4:31: 'subscribe' needs at least one { filter, qos } (use send for an empty SUBSCRIBE)" },
	{ H "steps:\n  - { client: pub, subscribe: [a/b] }\n",
	  "4:32: expected a mapping for subscription, got 'a/b'" },
	{ H "steps:\n  - { client: pub, unsubscribe: [a/+b] }\n",
	  "4:34: 'a/+b' is not a valid topic filter: '+' must occupy a whole topic level (MQTT-4.7.1-3)" },
	{ H "steps:\n  - { client: pub, publish: { payload: x } }\n",
	  "4:29: publish needs 'topic'" },
	{ H "steps:\n  - { client: pub, publish: { topic: a/# } }\n",
	  "4:38: 'a/#' is not a valid topic name: topic name contains the wildcard '#'; wildcards belong only in filters (MQTT-4.7.1-1)" },
	{ H "steps:\n  - { client: pub, publish: { topic: \"\" } }\n",
	  "4:38: '' is not a valid topic name: topic name is empty; it needs at least one character (MQTT-4.7.3-1)" },
	{ H "steps:\n  - { client: pub, publish: { topic: a, qos: one } }\n",
	  "4:46: 'qos' must be 0, 1 or 2, got 'one'" },
	{ H "steps:\n  - { client: pub, publish: { topic: a, qos: 1, id: 0 } }\n",
	  "4:53: 'id' must be an integer from 1 to 65535, got '0'" },
	{ H "steps:\n  - { client: pub, publish: { topic: a, id: 7 } }\n",
	  "4:41: 'id' needs qos 1 or 2: a QoS 0 PUBLISH has no packet id" },
	{ H "steps:\n  - { client: pub, publish: { topic: a, payload: [1, 2] } }\n",
	  "4:50: 'payload' must be a string, got a list" },
	{ H "steps:\n  - { client: pub, disconnect: false }\n",
	  "4:32: 'disconnect: false' does nothing; write 'disconnect: true' or remove the step" },
	{ H "steps:\n  - { wait: 5 }\n",
	  "4:13: 'wait' is a bare number; say the unit, e.g. 5ms or 5s" },
	{ H "steps:\n  - { wait: -1s }\n",
	  "4:13: 'wait' cannot be negative, got '-1s'" },
	{ H "steps:\n  - { client: pub, send: \"30 0g\" }\n",
	  "4:26: bad hex in 'send': 'g' at character 5 is not a hex digit" },
	{ H "steps:\n  - { client: pub, send: \"10 {len} {idx:a}\" }\n",
	  "4:26: bad hex in 'send': '{idx:a}' at character 10 is not one of {len}, {id:TEXT}, {topic:TEXT}, {alnum:TEXT}" },
	{ H "steps:\n  - { client: pub, send: \"\" }\n",
	  "4:26: 'send' has no bytes; give hex like \"30 05 00 01 2b 78 78\"" },
	{ H "steps:\n  - { client: pub, expect: { within: 1s } }\n",
	  "4:28: expect needs 'packet'" },
	{ H "steps:\n  - { client: pub, expect: { packet: PUBAK } }\n",
	  "4:38: unknown packet type 'PUBAK' (did you mean 'PUBACK'?)" },
	{ H "steps:\n  - { client: pub, expect: { packet: SUBSCRIBE } }\n",
	  "4:38: a client never receives SUBSCRIBE; expect what the broker sends (CONNACK, PUBLISH, PUBACK, SUBACK, ...)" },
	{ H "steps:\n  - { client: pub, expect: { packet: SUBACK, topic: a } }\n",
	  "4:46: SUBACK has no 'topic' to match" },
	{ H "steps:\n  - { client: pub, expect: { packet: SUBACK, codes: [1, 300] } }\n",
	  "4:57: 'codes' must be an integer from 0 to 255, got '300'" },
	{ H "steps:\n  - { client: pub, expect: { packet: PUBLISH, within: 1 } }\n",
	  "4:55: 'within' is a bare number; say the unit, e.g. 1ms or 1s" },
	{ H "steps:\n  - { client: pub, expect_none: { packet: PUBLISH } }\n",
	  "4:33: expect_none needs 'for'" },
	{ H "steps:\n  - { client: pub, expect_closed: { within: 0s } }\n",
	  "4:45: 'within' must be more than zero, got '0s'" },
	{ H "steps: { client: pub }\n",
	  "3:8: expected a list for steps, got a mapping" },
	{ H "steps:\n  - connect\n",
	  "4:5: expected a mapping for step, got 'connect'" },
	{ H "expect:\n  - delivered: { to: sub }\n",
	  "4:16: delivered needs 'from'" },
	{ H "expect:\n  - delivered: { from: pub, to: sub, loss: lots }\n",
	  "4:44: 'loss' must be a fraction like 5% or 0.05, or a count like 3, got 'lots'" },
	{ H "expect:\n  - retained: { topic: r/t }\n",
	  "4:15: retained needs 'payload' (null for \"no retained message\")" },
	{ H "expect:\n  - ordered: { to: sub, topic: a/#/b }\n",
	  "4:32: 'a/#/b' is not a valid topic filter: '#' must be the last character and stand alone in its level (MQTT-4.7.1-2)" },
	{ H "expect:\n  - will: { from: pub, to: nobody }\n",
	  "4:28: unknown client 'nobody'; the clients are: pub, sub" },
	{ H "expect:\n  - delivered: { from: pub, to: sub }\n    ordered: { to: sub }\n",
	  "5:5: expectation does one thing, but 'delivered' and 'ordered' are both here; write one expectation per item" },
	{ H "expect:\n  - delivred: { from: pub, to: sub }\n",
	  "4:5: unknown key 'delivred' in expectation (did you mean 'delivered'?)" },
	{ "name: t\nclients: [{ id: \"a b\" }]\n",
	  "2:17: client id 'a b' may use only letters, digits, '-', '_' and '.' (it names a host)" },
	{ H "network: { default: { <<: {latency: 1ms} } }\n",
	  "3:23: merge keys (<<) are not supported; write the keys of link out" },
	{ "name: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	  "1:70: nesting deeper than 64 levels; a scenario needs only a few" },
	{ "name: t\n? [a]\n: b\n",
	  "2:3: keys in scenario must be words, got a list" },
	{ H "steps:\n  - { client: pub, publish: { topc: a } }\n",
	  "4:31: unknown key 'topc' in publish (did you mean 'topic'?)" },
	{ H "steps:\n  - { cleint: pub, publish: { topic: a } }\n",
	  "4:7: unknown key 'cleint' in step (did you mean 'client'?)" },
	{ H "steps:\n  - { client: pub, expect: { packet: CONNACK, rc: 256 } }\n",
	  "4:51: 'rc' must be an integer from 0 to 255, got '256'" },
	{ H "steps:\n  - { client: pub, expect: { packet: CONNACK, rc: [] } }\n",
	  "4:51: 'rc' must be a reason code or a list of them, got an empty list" },
	{ H "steps:\n  - { client: pub, expect: { packet: CONNACK, rc: [0, 1, 2, 3, 4, 5, 6, 7, 8] } }\n",
	  "4:51: rc has 9 items; the limit is 8" },
	{ H "steps:\n  - { client: pub, connect: { rc: [0, 300] } }\n",
	  "4:39: 'rc' must be an integer from 0 to 255, got '300'" },
	{ H "steps:\n  - { client: pub, publish: { topic: a, retain: maybe } }\n",
	  "4:49: 'retain' must be true or false, got 'maybe'" },
	{ H "faults:\n  - { at: 1s, blackhole: pub }\n",
	  "4:26: 'blackhole' names two hosts, like [pub, broker], got 'pub'" },
	{ H "faults:\n  - { at: 1s, crash: [pub] }\n",
	  "4:22: 'crash' must be a host (a client id or broker), got a list" },
	{ H "faults:\n  - { at: 1s, clog: [pub, broker], restart_after: 1s }\n",
	  "4:36: 'restart_after' applies only to crash" },
	{ H "faults:\n  - { at: 1s, drift: { node: pub, ppm: 1e9 } }\n",
	  "4:40: 'ppm' must be a number from -100000 to 100000, got '1e9'" },
	{ H "random_faults:\n  jump: { per_hour: 1, mean: 1s }\n",
	  "4:9: random jump needs 'by'" },
	{ H "random_faults:\n  drift: { per_hour: 1 }\n",
	  "4:10: random drift needs 'ppm'" },
	{ H "random_faults: [partition]\n",
	  "3:16: expected a mapping for random_faults, got a list" },
	{ "name: t\nspec: MQTT-3.3.1-8x\n",
	  "2:7: 'MQTT-3.3.1-8x' is not a statement id; they look like MQTT-3.3.1-8" },
	{ H "steps:\n  - { client: pub, connect: { clean_sesion: false } }\n",
	  "4:31: unknown key 'clean_sesion' in connect (did you mean 'clean_session'?)" },
	{ "name: 'x'\nname2: y\n",
	  "2:1: unknown key 'name2' in scenario (did you mean 'name'?)" },
	{ "name: \"a\\0b\"\n",
	  "1:7: 'name' contains a NUL character (\\0), which a scenario string cannot hold" },
	{ "name: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx y\n",
	  "1:7: 'name' may use only letters, digits, '-', '_' and '.' (it names the trace file), got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'" },
	{ H "steps:\n  - { client: pub, expect_closed: False }\n",
	  "4:35: 'expect_closed: false' does nothing; remove the step" },
	{ H "steps:\n  - { client: pub, expect_closed: soon }\n",
	  "4:35: 'expect_closed' must be true or false, got 'soon'" },
	{ H "steps:\n  - { client: pub, unsubscribe: [] }\n",
	  "4:33: 'unsubscribe' needs at least one filter (use send for an empty UNSUBSCRIBE)" },
	{ H "expect:\n  - {}\n",
	  "4:5: expectation needs a kind: one of delivered, no_duplicates, ordered, retained, will, node" },
	{ H "steps:\n  - { client: pub, connect: { keepalive: 65536s } }\n",
	  "4:42: 'keepalive' is at most 65535s (18h12m15s), got '65536s'" },
	{ H "network: { default: { slice: 5GiB } }\n",
	  "3:30: 'slice' is at most 4GiB, got '5GiB'" },
	{ H "random_faults:\n  crash: { per_hour: 1, mean: 5s, by: 1s }\n",
	  "4:35: 'by' applies only to jump" },
	{ H "network: { links: { [pub]: {} } }\n",
	  "3:21: links are keyed by host (a client id or broker), got a list" },
	{ H "steps:\n  - { client: pub, publish: { topic: a, payload: null } }\n",
	  "4:50: 'payload' must be a string, got nothing (null)" },
	{ H "steps:\n  - { client: pub, connect: true }\n",
	  "4:29: expected a mapping for connect, got 'true'" },
	{ H "steps:\n  - { client: pub, drop: maybe }\n",
	  "4:26: 'drop' must be true or false, got 'maybe'" },
	{ H "random_faults:\n  drift: { per_hour: -1, ppm: 5 }\n",
	  "4:22: 'per_hour' must be a number from 0 to 1000000, got '-1'" },
	{ H "steps:\n  - { client: pub, expect: { packet: PUBLISH, topic: \"a/+\" } }\n",
	  "4:54: 'a/+' is not a valid topic name: topic name contains the wildcard '+'; wildcards belong only in filters (MQTT-4.7.1-1)" },
	{ H "expect:\n  - will: { from: pub, to: sub, delivered: sometimes }\n",
	  "4:44: 'delivered' must be true or false, got 'sometimes'" },
	{ H "network: { default: { rto: 0ms } }\n",
	  "3:28: 'rto' must be more than zero, got '0ms'" },
	{ H "steps:\n  - { client: [pub], disconnect: true }\n",
	  "4:15: 'client' must be a client id, got a list" },
	/* MQTT 5.0: versions, properties and where they may go */
#define H5 "name: t\nversion: 5.0\nclients: [{ id: pub }, { id: old, version: 3.1.1 }]\n"
	{ H "version: 4\n", "3:10: 'version' must be 3.1.1 or 5.0, got '4'" },
	{ H "steps:\n  - { client: pub, connect: { properties: { session_expiry: 5 } } }\n",
	  "4:31: 'properties' is MQTT 5.0, but client 'pub' speaks 3.1.1; give the scenario or the client 'version: 5.0'" },
	{ H5 "steps:\n  - { client: old, publish: { topic: t, topic_alias: 1 } }\n",
	  "5:41: 'topic_alias' is MQTT 5.0, but client 'old' speaks 3.1.1; give the scenario or the client 'version: 5.0'" },
	{ H5 "steps:\n  - { client: old, ack: { packet: PUBACK, rc: 0x80 } }\n",
	  "5:43: 'rc' is MQTT 5.0, but client 'old' speaks 3.1.1; give the scenario or the client 'version: 5.0'" },
	{ H5 "steps:\n  - { client: pub, ack: { packet: PUBACK, rc: 256 } }\n",
	  "5:47: 'rc' must be an integer from 0 to 255, got '256'" },
	{ H5 "steps:\n  - { client: old, subscribe: [{ filter: t, no_local: true }] }\n",
	  "5:45: 'no_local' is MQTT 5.0, but client 'old' speaks 3.1.1; give the scenario or the client 'version: 5.0'" },
	{ H5 "steps:\n  - { client: pub, connect: { properties: { sesion_expiry: 5 } } }\n",
	  "5:45: unknown key 'sesion_expiry' in the properties of CONNECT (did you mean 'session_expiry'?)" },
	{ H5 "steps:\n  - { client: pub, connect: { properties: { topic_alias: 2 } } }\n",
	  "5:45: CONNECT cannot carry 'topic_alias' (Topic Alias goes in PUBLISH)" },
	{ H5 "steps:\n  - { client: pub, publish: { topic: t, properties: { receive_maximum: 3 } } }\n",
	  "5:55: PUBLISH cannot carry 'receive_maximum' (Receive Maximum goes in CONNECT, CONNACK)" },
	{ H5 "steps:\n  - { client: pub, connect: { properties: { receive_maximum: 70000 } } }\n",
	  "5:62: 'receive_maximum' must be an integer from 0 to 65535, got '70000'" },
	{ H5 "steps:\n  - { client: pub, connect: { properties: { user_properties: [[a]] } } }\n",
	  "5:63: each of 'user_properties' is a pair [name, value], got a list" },
	{ H5 "steps:\n  - { client: pub, connect: { properties: { content_type: [x] } } }\n",
	  "5:45: CONNECT cannot carry 'content_type' (Content Type goes in PUBLISH, will properties)" },
	{ H5 "steps:\n  - { client: pub, connect: { will: { topic: w, properties: { content_type: [x] } } } }\n",
	  "5:77: 'content_type' must be a string, got a list" },
	{ H5 "steps:\n  - { client: pub, connect: { clean_session: true } }\n",
	  "5:31: a 5.0 client's CONNECT has 'clean_start', not 'clean_session'" },
	{ H5 "steps:\n  - { client: pub, subscribe: [{ filter: t, retain_handling: 3 }] }\n",
	  "5:62: 'retain_handling' must be 0, 1 or 2, got '3'" },
	{ H5 "steps:\n  - { client: pub, subscribe: [{ filter: t, subscription_identifier: 1 }, { filter: u, subscription_identifier: 2 }] }\n",
	  "5:113: one SUBSCRIBE has one subscription identifier; another filter of this step gives 1 (use two subscribe steps)" },
	{ H5 "steps:\n  - { client: pub, subscribe: { filters: [{ filter: t }], properties: { subscription_identifier: 1 } } }\n",
	  "5:73: give 'subscription_identifier' on the subscription ({ filter, qos, subscription_identifier }), not in the properties" },
	{ H5 "steps:\n  - { client: pub, disconnect: { rc: 4, properties: { will_delay: 3 } } }\n",
	  "5:55: DISCONNECT cannot carry 'will_delay' (Will Delay Interval goes in will properties)" },
	{ H5 "steps:\n  - { client: pub, expect: { packet: PUBACK, properties: { assigned_client_identifier: present } } }\n",
	  "5:60: PUBACK cannot carry 'assigned_client_identifier' (Assigned Client Identifier goes in CONNACK)" },
	{ H5 "steps:\n  - { client: pub, expect: { packet: PUBLISH, properties: { subscription_identifier: [1, x] } } }\n",
	  "5:90: 'subscription_identifier' must be an integer from 1 to 268435455, got 'x'" },
	{ H5 "steps:\n  - { client: pub, connect: { wait_connack: false, connack_properties: { reason_string: absent } } }\n",
	  "5:52: 'connack_properties' is about the CONNACK, but wait_connack is false" },
	{ H5 "broker: { maximum_packet_size: 10 }\n",
	  "4:32: 'maximum_packet_size' is a bare number; say the unit, e.g. 10B" },
#undef H5
};

/* A 5.0 scenario read into the model: versions, properties, options, expectations. */
START_TEST(test_v5_model)
{
	scenario *s = good("name: t\nversion: 5.0\nclients: [{ id: a }, { id: b, version: 3.1.1 }]\n"
			   "broker: { receive_maximum: 3, topic_alias_maximum: 0, subscription_identifiers: false }\n"
			   "steps:\n"
			   "  - { client: a, connect: { clean_start: false, properties: { session_expiry: 30, user_properties: [[k, v], [k, w]] },\n"
			   "      will: { topic: w, properties: { will_delay: 5 } }, connack_properties: { reason_string: absent, receive_maximum: 3 } } }\n"
			   "  - { client: a, subscribe: [{ filter: \"x/#\", qos: 2, no_local: true, retain_as_published: true, retain_handling: 2, subscription_identifier: 7 }] }\n"
			   "  - { client: a, publish: { payload: p, topic_alias: 4, force: true, properties: { correlation_data: abc } } }\n"
			   "  - { client: a, expect: { packet: PUBLISH, properties: { subscription_identifier: [2, 1], topic_alias: present } } }\n"
			   "  - { client: a, disconnect: { rc: 0x04, properties: { reason_string: bye } } }\n"
			   "  - { client: b, disconnect: true }\n");
	ck_assert_int_eq(s->version, MQTT_V5);
	ck_assert_int_eq(s->clients[0].version, MQTT_V5);
	ck_assert_int_eq(s->clients[1].version, MQTT_V311);
	ck_assert_int_eq(s->broker.receive_max, 3);
	ck_assert(s->broker.has_topic_alias_max && s->broker.topic_alias_max == 0);
	ck_assert(s->broker.no_sub_ids && !s->broker.no_shared_subs);
	const sc_step *c = &s->steps[0];
	ck_assert(!c->clean);
	ck_assert(MQTT_HAS(c->props, MQTT_PROP_SESSION_EXPIRY) && c->props->num[MQTT_PROP_SESSION_EXPIRY] == 30);
	ck_assert_int_eq(c->props->nuser, 2);
	ck_assert_str_eq(c->props->user[1].value, "w");
	ck_assert(MQTT_HAS(c->will_props, MQTT_PROP_WILL_DELAY) && c->will_props->num[MQTT_PROP_WILL_DELAY] == 5);
	ck_assert(c->connack.props->absent == (uint64_t)1 << MQTT_PROP_REASON_STRING);
	ck_assert_int_eq(c->connack.props->num[MQTT_PROP_RECEIVE_MAX], 3);
	const sc_sub *sub = &s->steps[1].subs[0];
	ck_assert(sub->no_local && sub->retain_as_published && sub->retain_handling == 2 && sub->qos == 2);
	ck_assert_int_eq(s->steps[1].props->num[MQTT_PROP_SUBSCRIPTION_ID], 7);
	const sc_step *p = &s->steps[2];
	ck_assert(p->has_topic_alias && p->topic_alias == 4 && p->force);
	ck_assert_str_eq(p->topic, "");
	ck_assert_str_eq(p->props->str[MQTT_PROP_CORRELATION_DATA], "abc");
	const sc_props *m = s->steps[3].match.props;
	ck_assert_int_eq(m->nsub_ids, 2);
	ck_assert(m->sub_ids[0] == 2 && m->sub_ids[1] == 1);
	ck_assert(m->any == (uint64_t)1 << MQTT_PROP_TOPIC_ALIAS);
	ck_assert_int_eq(s->steps[4].reason, 4);
	ck_assert_str_eq(s->steps[4].props->str[MQTT_PROP_REASON_STRING], "bye");
	ck_assert(s->steps[5].props == NULL && s->steps[5].reason == 0);
	scenario_free(s);
}
END_TEST

/* A WebSocket-only scenario: its target, and the framing of its send steps. */
START_TEST(test_ws_send)
{
	sc_errors e;
	scenario *s = parse("name: t\ntargets: [ws]\nclients: [{ id: a }]\nsteps:\n"
			    "  - { client: a, send: \"c0 00 c0 00\", ws_frames: [1, 2] }\n"
			    "  - { client: a, send: \"c0 00\", ws_text: true }\n"
			    "  - { client: a, send: \"c0 00\" }\n", &e);
	if (!s)
		dump(&e);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->targets, SC_TARGET_WS);
	ck_assert_uint_eq(s->steps[0].nws_frames, 2);
	ck_assert_uint_eq(s->steps[0].ws_frames[0], 1);
	ck_assert_uint_eq(s->steps[0].ws_frames[1], 2);
	ck_assert(!s->steps[0].ws_text && s->steps[1].ws_text);
	ck_assert(!s->steps[2].nws_frames && !s->steps[2].ws_text);
	ck_assert(!run_target_fits(s, RUN_TARGET_SIM) && !run_target_fits(s, RUN_TARGET_TCP) &&
		  !run_target_fits(s, RUN_TARGET_EXEC) && run_target_fits(s, RUN_TARGET_WS));
	scenario_free(s);
	sc_errors_free(&e);
}
END_TEST

START_TEST(test_bad_rows)
{
	sc_errors e;
	scenario *s = parse(bad_rows[_i].text, &e);
	if (s || e.n == 0 || strcmp(bare(&e, 0), bad_rows[_i].first))
		dump(&e);
	ck_assert_msg(s == NULL, "row %d loaded", _i);
	ck_assert_msg(e.n > 0, "row %d: no error", _i);
	ck_assert_msg(!strcmp(bare(&e, 0), bad_rows[_i].first), "row %d:\n got  %s\n want %s", _i,
		      bare(&e, 0), bad_rows[_i].first);
	sc_errors_free(&e);
}
END_TEST

/* ---- several errors in one file ------------------------------------------------------- */

static void expect_errors(const char *text, const char *const *want, int nwant)
{
	sc_errors e;
	scenario *s = parse(text, &e);
	ck_assert_ptr_null(s);
	if (e.n != nwant)
		dump(&e);
	ck_assert_int_eq(e.n, nwant);
	for (int i = 0; i < nwant; i++)
		ck_assert_msg(!strcmp(bare(&e, i), want[i]), "error %d:\n got  %s\n want %s", i,
			      bare(&e, i), want[i]);
	ck_assert_int_eq(e.dropped, 0);
	sc_errors_free(&e);
}

/* Every problem at once, sorted into file order although clients are read first. */
START_TEST(test_all_errors_in_file_order)
{
	static const char text[] =
		"name: many errors\n"
		"steps:\n"
		"  - { client: pbu, publish: { topic: a/+, qos: 3 } }\n"
		"  - { client: pub, expect: { packet: puback, topic: x } }\n"
		"  - { wait: 5 }\n"
		"network: { default: { lantency: 20ms, jitter: 5 } }\n"
		"clients:\n"
		"  - { id: pub }\n"
		"  - { id: pub, auto_ack: yes }\n"
		"faults:\n"
		"  - { at: 1m, partition: [pub, pub], for: 0s }\n"
		"nodes: [ { id: x } ]\n";
	static const char *const want[] = {
		"1:7: 'name' may use only letters, digits, '-', '_' and '.' (it names the trace file), got 'many errors'",
		"3:15: unknown client 'pbu' (did you mean 'pub'?)",
		"3:38: 'a/+' is not a valid topic name: topic name contains the wildcard '+'; wildcards belong only in filters (MQTT-4.7.1-1)",
		"3:48: 'qos' must be 0, 1 or 2, got '3'",
		"4:46: PUBACK has no 'topic' to match",
		"5:13: 'wait' is a bare number; say the unit, e.g. 5ms or 5s",
		"6:23: unknown key 'lantency' in link (did you mean 'latency'?)",
		"6:47: 'jitter' is a bare number; say the unit, e.g. 5ms or 5s",
		"9:11: duplicate client id 'pub' (first at 8:11)",
		"9:26: 'auto_ack' must be true or false, got 'yes'",
		"11:32: 'partition' needs two different hosts, got 'pub' twice",
		"11:43: 'for' must be more than zero, got '0s'",
		"12:10: node needs 'firmware'",
	};
	expect_errors(text, want, (int)(sizeof want / sizeof want[0]));
}
END_TEST

/* A misspelt key is reported once: not again as a missing one. */
START_TEST(test_misspelling_reported_once)
{
	static const char text[] =
		H
		"steps:\n"
		"  - { cleint: pub, publish: { topc: a, qos: 1 } }\n"
		"  - { client: pub, conect: {} }\n"
		"expect:\n"
		"  - delivered: { form: pub, to: sub }\n";
	static const char *const want[] = {
		"4:7: unknown key 'cleint' in step (did you mean 'client'?)",
		"4:31: unknown key 'topc' in publish (did you mean 'topic'?)",
		"5:20: unknown key 'conect' in step (did you mean 'connect'?)",
		"7:18: unknown key 'form' in delivered (did you mean 'from'?)",
	};
	expect_errors(text, want, (int)(sizeof want / sizeof want[0]));
}
END_TEST

/* A YAML syntax error stops at libyaml's first problem: one error, its position. */
START_TEST(test_syntax_error_alone)
{
	static const char *const want[] = {
		"4:2: YAML syntax error: did not find expected key (while parsing a block mapping at 1:1)",
	};
	expect_errors("name: t\nclients:\n  - { id: a }\n extra: 1\n", want, 1);
}
END_TEST

START_TEST(test_unknown_key_lists_known_ones)
{
	static const char *const want[] = {
		"1:1: scenario needs 'name'",
		"1:11: unknown key 'x' in broker; known keys: persistence, max_queued, max_inflight, "
		"queue_qos0, drop_oldest, sys_interval, acl, receive_maximum, topic_alias_maximum, maximum_packet_size, "
		"subscription_identifiers, shared_subscriptions, exec_config",
	};
	expect_errors("broker: { x: 1 }\n"
		      "description: no name\n", want, 2);
}
END_TEST

/* More problems than SC_MAX_ERRORS: the first ones are kept, the rest counted. */
START_TEST(test_error_limit)
{
	size_t cap = 64 + 40 * 300;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	size_t n = (size_t)snprintf(text, cap, "name: t\nsteps:\n");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(text + n, cap - n, "  - { wait: %d }\n", i + 1);
	sc_errors e;
	ck_assert_ptr_null(scenario_parse(FILE_NAME, text, n, &e));
	ck_assert_int_eq(e.n, SC_MAX_ERRORS);
	ck_assert_int_eq(e.dropped, 300 - SC_MAX_ERRORS);
	ck_assert_str_eq(bare(&e, 0), "3:13: 'wait' is a bare number; say the unit, e.g. 1ms or 1s");
	sc_errors_free(&e);
	free(text);
}
END_TEST

/* Lists have limits, and hitting one is reported, not truncated in silence. */
START_TEST(test_list_limit)
{
	size_t cap = 32 + 16 * 1001, n;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	n = (size_t)snprintf(text, cap, "name: t\nspec: [MQTT-1-1");
	for (int i = 1; i < 1001; i++)
		n += (size_t)snprintf(text + n, cap - n, ", MQTT-1-%d", i + 1);
	n += (size_t)snprintf(text + n, cap - n, "]\n");
	sc_errors e;
	ck_assert_ptr_null(scenario_parse(FILE_NAME, text, n, &e));
	ck_assert_int_eq(e.n, 1);
	ck_assert_str_eq(bare(&e, 0), "2:7: spec has 1001 items; the limit is 1000");
	sc_errors_free(&e);
	free(text);
}
END_TEST

/* ---- limits on hostile input ------------------------------------------------------------- */

static void expect_first_contains(const char *text, size_t len, const char *part)
{
	sc_errors e;
	ck_assert_ptr_null(scenario_parse(FILE_NAME, text, len, &e));
	ck_assert_int_ge(e.n, 1);
	ck_assert_msg(strstr(e.msg[0], part), "'%s' lacks '%s'", e.msg[0], part);
	sc_errors_free(&e);
}

START_TEST(test_deep_nesting)
{
	/* libyaml is quadratic in flow depth: a file like this must fail fast, not hang. */
	size_t depth = 200000, n = 0;
	char *text = malloc(2 * depth + 16);
	ck_assert_ptr_nonnull(text);
	n += (size_t)sprintf(text, "name: ");
	memset(text + n, '[', depth);
	memset(text + n + depth, ']', depth);
	n += 2 * depth;
	expect_first_contains(text, n, "t.yaml:1:70: nesting deeper than 64 levels");
	free(text);
}
END_TEST

START_TEST(test_alias_expansion)
{
	/* Nested lists of aliases are never walked (a step is not a list), so the expansion that
	 * counts goes through the schema: 600 aliases of one step with 1000 filters. */
	size_t cap = 16384, n;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	n = (size_t)snprintf(text, cap, "name: t\nclients: [{ id: a }]\nx: &s { client: a, unsubscribe: [t");
	for (int i = 1; i < 1000; i++)
		n += (size_t)snprintf(text + n, cap - n, ",t");
	n += (size_t)snprintf(text + n, cap - n, "] }\nsteps: [*s");
	for (int i = 1; i < 600; i++)
		n += (size_t)snprintf(text + n, cap - n, ",*s");
	n += (size_t)snprintf(text + n, cap - n, "]\n");
	ck_assert_uint_lt(n, cap - 1);
	sc_errors e;
	ck_assert_ptr_null(scenario_parse(FILE_NAME, text, n, &e));
	int found = 0;
	for (int i = 0; i < e.n; i++)
		found += strstr(e.msg[i], "too large") != NULL;
	ck_assert_int_eq(found, 1);
	ck_assert_str_eq(bare(&e, 0), "3:1: unknown key 'x' in scenario; known keys: name, description, "
				      "spec, seed, duration, targets, broker, network, faults, random_faults, "
				      "clients, nodes, steps, expect, version");
	sc_errors_free(&e);
	free(text);
}
END_TEST

/* A scenario whose 1 MiB payload is used again through 'uses' aliases, one step a line:
 * the anchor on line 5, the aliases on lines 6 on, each '*p' at column 48. */
static char *payload_aliases(int uses, size_t *len)
{
	const size_t big = 1u << 20;
	size_t cap = big + 200 + (size_t)uses * 64, n;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	n = (size_t)snprintf(text, cap, "name: amp\nclients: [{ id: a }]\nsteps:\n"
				       "  - { client: a, connect: {} }\n"
				       "  - { client: a, publish: { topic: t, payload: &p \"");
	memset(text + n, 'x', big);
	n += big;
	n += (size_t)snprintf(text + n, cap - n, "\" } }\n");
	for (int i = 0; i < uses; i++)
		n += (size_t)snprintf(text + n, cap - n,
				      "  - { client: a, publish: { topic: t, payload: *p } }\n");
	ck_assert_uint_lt(n, cap - 1);
	*len = n;
	return text;
}

START_TEST(test_alias_bytes)
{
	/* Each alias copies its anchor's text: the 63rd use of 1 MiB takes the file past 64 MiB.
	 * The error names that alias, and nothing was copied to find it. */
	size_t n;
	char *text = payload_aliases(3000, &n);
	sc_errors e;
	ck_assert_ptr_null(scenario_parse(FILE_NAME, text, n, &e));
	ck_assert_int_eq(e.n, 1);
	ck_assert_str_eq(bare(&e, 0), "68:48: the scenario is too large: with its aliases expanded it "
				      "holds more than 64 MiB of text (each use of an alias repeats "
				      "its anchor's text)");
	sc_errors_free(&e);
	free(text);

	/* Under the budget an alias is as good as the text it stands for. */
	text = payload_aliases(8, &n);
	scenario *s = scenario_parse(FILE_NAME, text, n, &e);
	ck_assert_msg(s != NULL, "%s", e.n ? e.msg[0] : "?");
	ck_assert_uint_eq(s->nsteps, 10);
	ck_assert_uint_eq(strlen(s->steps[9].payload), 1u << 20);
	scenario_free(s);
	free(text);
}
END_TEST

START_TEST(test_cyclic_alias)
{
	expect_first_contains("&a { name: t, broker: *a }\n", 27,
			      "t.yaml:1:6: unknown key 'name' in broker");
	expect_first_contains("name: &a [*a]\n", 14, "t.yaml:1:7: 'name' must be a string, got a list");
}
END_TEST

START_TEST(test_nul_and_binary)
{
	expect_first_contains("name: t\0\n", 9, "t.yaml:1:8: YAML syntax error: control characters are not allowed");
	expect_first_contains("\xef\xbb\xbfname: [\n", 11, "YAML syntax error");
	expect_first_contains(NULL, 5, "t.yaml:1:1: the file is empty");
}
END_TEST

/* ---- files ----------------------------------------------------------------------------- */

START_TEST(test_load_missing_file)
{
	sc_errors e;
	const char *path = "/nonexistent-mqttsim-dir/scenario.yaml";
	ck_assert_ptr_null(scenario_load(path, &e));
	ck_assert_int_eq(e.n, 1);
	ck_assert_str_eq(e.msg[0], "/nonexistent-mqttsim-dir/scenario.yaml: cannot open the scenario: "
				   "No such file or directory");
	sc_errors_free(&e);
	ck_assert_ptr_null(scenario_load(path, NULL)); /* errs may be NULL */
	ck_assert_ptr_null(scenario_parse(FILE_NAME, "x: [", 4, NULL));
}
END_TEST

/* ---- mutations: never a crash, always a verdict with positions ---------------------------- */

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Every error names the file, a line inside it (or just past its end) and a column. */
static void check_positions(const sc_errors *e, const char *text, size_t len)
{
	int lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	for (int i = 0; i < e->n; i++) {
		int line = 0, col = 0, used = 0;
		ck_assert_msg(sscanf(e->msg[i], FILE_NAME ":%d:%d: %n", &line, &col, &used) == 2 && used > 0,
			      "no position: %s", e->msg[i]);
		ck_assert_msg(line >= 1 && line <= lines + 1 && col >= 1, "bad position: %s", e->msg[i]);
		ck_assert_msg(e->msg[i][used] != 0, "no message: %s", e->msg[i]);
	}
}

START_TEST(test_mutations)
{
	static const char *const inserts[] = { ":", "-", "[", "{", "&a ", "*a", "\t", "]", "}", "\n",
					       " ", "\"", "'", "#", ",", "? ", "!!int ", "|\n", "\xc3" };
	const size_t ninserts = sizeof inserts / sizeof inserts[0];
	size_t base = strlen(kitchen_sink), cap = base + 64;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	uint64_t rng = 0x9E3779B97F4A7C15u;
	int loaded = 0, rejected = 0;
	for (int round = 0; round < 3000; round++) {
		memcpy(text, kitchen_sink, base);
		size_t len = base;
		int ops = 1 + (int)(xorshift(&rng) % 3);
		for (int k = 0; k < ops; k++) {
			size_t at = (size_t)(xorshift(&rng) % len);
			switch (xorshift(&rng) % 3) {
			case 0: /* flip one bit */
				text[at] = (char)(text[at] ^ (1 << (xorshift(&rng) % 8)));
				break;
			case 1: { /* delete a few bytes */
				size_t d = 1 + (size_t)(xorshift(&rng) % 8);
				if (d > len - at)
					d = len - at;
				memmove(text + at, text + at + d, len - at - d);
				len -= d;
				break;
			}
			default: { /* insert a token YAML cares about */
				const char *ins = inserts[xorshift(&rng) % ninserts];
				size_t m = strlen(ins);
				if (len + m > cap)
					break;
				memmove(text + at + m, text + at, len - at);
				memcpy(text + at, ins, m);
				len += m;
				break;
			}
			}
			if (len == 0)
				break;
		}
		sc_errors e;
		scenario *s = scenario_parse(FILE_NAME, text, len, &e);
		if (s) {
			ck_assert_int_eq(e.n, 0);
			loaded++;
		} else {
			ck_assert_msg(e.n > 0, "round %d: NULL without errors", round);
			check_positions(&e, text, len);
			rejected++;
		}
		scenario_free(s);
		sc_errors_free(&e);
	}
	free(text);
	/* Both outcomes happen: the mutations reach past the YAML syntax into the schema. */
	ck_assert_int_gt(loaded, 0);
	ck_assert_int_gt(rejected, 0);
}
END_TEST


/* exec_config: lines for an exec broker's config, allowed on a tcp-only scenario (target
 * exec runs those), and it lets a scenario with reference-broker options run on exec. */
START_TEST(test_exec_config)
{
	scenario *s = good("name: t\ntargets: [tcp]\nbroker: { exec_config: [\"persistence true\", "
			   "\"persistence_location {dir}/\"] }\n");
	ck_assert_uint_eq(s->broker.nexec_config, 2);
	ck_assert_str_eq(s->broker.exec_config[1], "persistence_location {dir}/");
	scenario_free(s);
	s = good("name: t\ntargets: [sim]\nbroker: { persistence: true }\n");
	ck_assert(!run_target_fits(s, RUN_TARGET_EXEC));
	scenario_free(s);
	s = good("name: t\ntargets: [sim]\nbroker: { persistence: true, exec_config: [\"autosave_interval 1\"] }\n");
	ck_assert(run_target_fits(s, RUN_TARGET_EXEC));
	ck_assert(run_target_fits(s, RUN_TARGET_SIM));
	ck_assert(!run_target_fits(s, RUN_TARGET_TCP));
	scenario_free(s);
}
END_TEST

Suite *scenario_suite(void)
{
	Suite *s = suite_create("scenario");
	TCase *tc = tcase_create("units");
	tcase_add_loop_test(tc, test_parse_duration, 0, (int)(sizeof duration_rows / sizeof duration_rows[0]));
	tcase_add_loop_test(tc, test_parse_size_and_bitrate, 0, (int)(sizeof amount_rows / sizeof amount_rows[0]));
	tcase_add_loop_test(tc, test_parse_fraction, 0, (int)(sizeof fraction_rows / sizeof fraction_rows[0]));
	tcase_add_test(tc, test_parse_null_inputs);
	suite_add_tcase(s, tc);

	tc = tcase_create("good");
	tcase_add_test(tc, test_readme_example);
	tcase_add_test(tc, test_ws_send);
	tcase_add_test(tc, test_kitchen_sink_top);
	tcase_add_test(tc, test_exec_config);
	tcase_add_test(tc, test_kitchen_sink_network);
	tcase_add_test(tc, test_kitchen_sink_faults);
	tcase_add_test(tc, test_kitchen_sink_steps);
	tcase_add_test(tc, test_kitchen_sink_expect);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_good_rows, 0, (int)(sizeof good_rows / sizeof good_rows[0]));
	tcase_add_test(tc, test_null_and_strings);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_loop_test(tc, test_bad_rows, 0, (int)(sizeof bad_rows / sizeof bad_rows[0]));
	tcase_add_test(tc, test_all_errors_in_file_order);
	tcase_add_test(tc, test_misspelling_reported_once);
	tcase_add_test(tc, test_syntax_error_alone);
	tcase_add_test(tc, test_unknown_key_lists_known_ones);
	tcase_add_test(tc, test_error_limit);
	tcase_add_test(tc, test_list_limit);
	tcase_add_test(tc, test_load_missing_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("robust");
	tcase_set_timeout(tc, 300); /* the mutation run takes a second natively, longer under valgrind */
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_alias_expansion);
	tcase_add_test(tc, test_alias_bytes);
	tcase_add_test(tc, test_cyclic_alias);
	tcase_add_test(tc, test_nul_and_binary);
	tcase_add_test(tc, test_mutations);
	tcase_add_test(tc, test_v5_model);
	suite_add_tcase(s, tc);
	return s;
}
