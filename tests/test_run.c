/*
 * test_run.c - the step runner and the run-wide expectations, in simulation: each step
 * and expectation kind, in a run that must pass and in one that must fail (with the
 * failure naming the right place).
 */
#include "tests.h"

#include "harness/pool.h"
#include "harness/run.h"
#include "harness/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD "name: t\nclients:\n  - { id: a }\n  - { id: b, auto_ack: false }\nsteps:\n"
#define CONN_B "  - { client: b, connect: {} }\n"
#define CONN_A "  - { client: a, connect: {} }\n"
#define SUB_B(f, q) "  - { client: b, subscribe: { filter: \"" f "\", qos: " #q " } }\n" \
		    "  - { client: b, expect: { packet: SUBACK } }\n"

static const struct {
	const char *yaml;
	bool pass;
	const char *report; /* substring of the report when it fails */
} rows[] = {
	/* connect: CONNACK checked; session present as asked */
	{ HEAD CONN_A "  - { client: a, connect: { clean_session: true, session_present: false } }\n", true, NULL },
	{ HEAD CONN_A "  - { client: a, connect: { clean_session: true, session_present: true } }\n", false,
	  "t.yaml:7:5: a expected CONNACK rc=0 session_present=1, got CONNACK session_present=0" },
	{ HEAD "  - { client: a, connect: { client_id: \"\", clean_session: false, rc: 2 } }\n", true, NULL },
	/* publish + expect with every field */
	{ HEAD CONN_B SUB_B("x/#", 1) CONN_A
	  "  - { client: a, publish: { topic: x/y, payload: hi, qos: 1, retain: false } }\n"
	  "  - { client: b, expect: { packet: PUBLISH, topic: x/y, payload: hi, qos: 1, retain: 0, dup: 0, id: 1, within: 1s } }\n"
	  "  - { client: a, expect: { packet: PUBACK, id: 1 } }\n", true, NULL },
	{ HEAD CONN_B SUB_B("x/#", 1) CONN_A
	  "  - { client: a, publish: { topic: x/y, payload: hi, qos: 1 } }\n"
	  "  - { client: b, expect: { packet: PUBLISH, qos: 0, within: 1s } }\n", false,
	  "b expected PUBLISH qos=0 within 1000ms; it did not come" },
	/* no step outlasts the run: its duration, or the default 10 minutes of virtual time */
	{ "name: t\nduration: 1m\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n"
	  "  - { wait: 100000h }\n", false, "t.yaml:6:5: the run reached its duration (60s) here" },
	{ "name: t\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n"
	  "  - { client: a, expect: { packet: PUBLISH, within: 1h } }\n", false,
	  "t.yaml:5:5: the run reached its default duration (600s) here; give the scenario a longer 'duration'" },
	{ "name: t\nduration: 1m\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n"
	  "  - { wait: 59s }\n", true, NULL },
	/* again: more fields of the packet the last expect matched */
	{ HEAD CONN_B SUB_B("x/#", 1) CONN_A
	  "  - { client: a, publish: { topic: x/y, payload: hi, qos: 1 } }\n"
	  "  - { client: b, expect: { packet: PUBLISH, topic: x/y, within: 1s } }\n"
	  "  - { client: b, expect: { packet: PUBLISH, qos: 1, dup: 0, again: true } }\n", true, NULL },
	{ HEAD CONN_B SUB_B("x/#", 1) CONN_A
	  "  - { client: a, publish: { topic: x/y, payload: hi, qos: 1 } }\n"
	  "  - { client: b, expect: { packet: PUBLISH, topic: x/y, within: 1s } }\n"
	  "  - { client: b, expect: { packet: PUBLISH, dup: 1, again: true } }\n", false,
	  "t.yaml:12:5: b expected the packet it last matched to be PUBLISH dup=1; it was PUBLISH qos=1" },
	/* after a connect step, again checks its CONNACK */
	{ HEAD CONN_B "  - { client: b, expect: { packet: CONNACK, session_present: false, again: true } }\n", true, NULL },
	{ HEAD CONN_B "  - { client: b, expect: { packet: PUBLISH, again: true } }\n", false,
	  "b expected the packet it last matched to be PUBLISH; it was CONNACK" },
	{ HEAD "  - { client: b, expect: { packet: CONNACK, again: true } }\n", false,
	  "b expected the packet it last matched to be CONNACK; it was (no packet matched yet)" },
	/* auto_ack off: b must acknowledge itself; the broker redelivers on reconnect */
	{ HEAD "  - { client: b, connect: { clean_session: false } }\n" SUB_B("r", 1) CONN_A
	  "  - { client: a, publish: { topic: r, payload: p, qos: 1 } }\n"
	  "  - { client: b, expect: { packet: PUBLISH, dup: 0 } }\n"
	  "  - { client: b, drop: true }\n"
	  "  - { client: b, connect: { clean_session: false, session_present: true } }\n"
	  "  - { client: b, expect: { packet: PUBLISH, dup: 1, payload: p } }\n", true, NULL },
	/* ack with a remembered id: acknowledged, the message is not sent again on reconnect */
	{ HEAD "  - { client: b, connect: { clean_session: false } }\n" SUB_B("k", 1) CONN_A
	  "  - { client: a, publish: { topic: k, payload: p, qos: 1 } }\n"
	  "  - { client: b, expect: { packet: PUBLISH, as: m } }\n  - { client: b, ack: { packet: PUBACK, id: \"@m\" } }\n"
	  "  - { wait: 100ms }\n  - { client: b, drop: true }\n  - { client: b, connect: { clean_session: false, session_present: true } }\n"
	  "  - { client: b, expect_none: { packet: PUBLISH, for: 1s } }\n", true, NULL },
	{ HEAD "  - { client: b, connect: { clean_session: false } }\n" SUB_B("k", 1) CONN_A
	  "  - { client: a, publish: { topic: k, payload: p, qos: 1 } }\n"
	  "  - { client: b, expect: { packet: PUBLISH, as: m } }\n"
	  "  - { client: b, drop: true }\n  - { client: b, connect: { clean_session: false, session_present: true } }\n"
	  "  - { client: b, expect: { packet: PUBLISH, dup: 1, id: \"@m\" } }\n  - { client: b, ack: PUBACK }\n"
	  "  - { client: b, expect_none: { packet: PUBLISH, for: 1s } }\n", true, NULL },
	/* unsubscribe, expect_none */
	{ HEAD CONN_B SUB_B("u", 0) "  - { client: b, unsubscribe: [u] }\n  - { client: b, expect: { packet: UNSUBACK } }\n" CONN_A
	  "  - { client: a, publish: { topic: u, payload: z } }\n  - { client: b, expect_none: { for: 1s } }\n", true, NULL },
	{ HEAD CONN_B SUB_B("u", 0) CONN_A "  - { client: a, publish: { topic: u, payload: z } }\n"
	  "  - { client: b, expect_none: { packet: PUBLISH, for: 1s } }\n", false,
	  "b expected no PUBLISH for 1000ms, but got PUBLISH qos=0" },
	/* wait moves time even when nothing happens */
	{ "name: t\nduration: 3s\nclients: [{ id: a }]\nsteps:\n  - { wait: 5s }\n", false,
	  "the run reached its duration (3s) here" },
	/* send raw bytes; expect_closed */
	{ HEAD CONN_A "  - { client: a, send: \"30 05 00 01 2b 78 78\" }\n  - { client: a, expect_closed: { within: 1s } }\n", true, NULL },
	{ HEAD CONN_A "  - { client: a, expect_closed: { within: 1s } }\n", false,
	  "a expected the broker to close the connection within 1000ms; it stayed open" },
	/* disconnect: no will */
	{ HEAD CONN_B SUB_B("w", 0) "  - { client: a, connect: { will: { topic: w, payload: bye } } }\n"
	  "  - { client: a, disconnect: true }\n"
	  "  - { client: b, expect_none: { packet: PUBLISH, for: 1s } }\nexpect:\n  - will: { from: a, to: b, delivered: false }\n",
	  true, NULL },
	{ HEAD CONN_B SUB_B("w", 0) "  - { client: a, connect: { will: { topic: w, payload: bye } } }\n"
	  "  - { client: a, drop: true }\n  - { wait: 1s }\nexpect:\n  - will: { from: a, to: b, delivered: false }\n",
	  false, "will: b got a's will (topic \"w\")" },
	/* delivered with loss bounds */
	{ HEAD CONN_B SUB_B("d", 0) CONN_A "  - { client: a, publish: { topic: d, payload: \"1\" } }\n"
	  "  - { client: a, publish: { topic: e, payload: \"2\" } }\nexpect:\n  - delivered: { from: a, to: b, loss: 0 }\n",
	  false, "delivered: 1 of 2 messages a published never reached b (0 allowed); the first: topic \"e\" payload \"2\"" },
	{ HEAD CONN_B SUB_B("d", 0) CONN_A "  - { client: a, publish: { topic: d, payload: \"1\" } }\n"
	  "  - { client: a, publish: { topic: e, payload: \"2\" } }\nexpect:\n  - delivered: { from: a, to: b, loss: 50% }\n",
	  true, NULL },
	{ HEAD CONN_B SUB_B("d", 0) CONN_A "  - { client: a, publish: { topic: d, payload: \"1\" } }\n"
	  "  - { client: a, publish: { topic: e, payload: \"2\" } }\nexpect:\n  - delivered: { from: a, to: b, topic: d, loss: 0 }\n",
	  true, NULL },
	/* no_duplicates: the same payload published twice arrives twice */
	{ HEAD CONN_B SUB_B("n", 0) CONN_A "  - { client: a, publish: { topic: n, payload: same } }\n"
	  "  - { client: a, publish: { topic: n, payload: same } }\n  - { wait: 1s }\nexpect:\n  - no_duplicates: { to: b }\n",
	  false, "no_duplicates: b got topic \"n\" payload \"same\" twice" },
	/* ordered */
	{ HEAD CONN_B SUB_B("o", 1) CONN_A "  - { client: a, publish: { topic: o, payload: \"1\", qos: 1 } }\n"
	  "  - { client: a, publish: { topic: o, payload: \"2\", qos: 1 } }\n  - { wait: 1s }\nexpect:\n  - ordered: { to: b, topic: o }\n",
	  true, NULL },
	/* retained */
	{ HEAD CONN_A "  - { client: a, publish: { topic: k, payload: v, retain: true } }\nexpect:\n  - retained: { topic: k, payload: v }\n",
	  true, NULL },
	{ HEAD CONN_A "  - { client: a, publish: { topic: k, payload: v, retain: true } }\nexpect:\n  - retained: { topic: k, payload: null }\n",
	  false, "retained: expected no retained message on \"k\", found PUBLISH qos=0 retain=1" },
	/* a broker crash with persistence keeps a persistent session */
	{ "name: t\nbroker: { persistence: true }\nfaults:\n  - { at: 1s, crash: broker, restart_after: 1s }\nclients:\n  - { id: a }\n  - { id: b }\nsteps:\n"
	  "  - { client: b, connect: { clean_session: false } }\n  - { client: b, subscribe: { filter: p, qos: 1 } }\n"
	  "  - { client: b, expect: { packet: SUBACK } }\n  - { client: b, disconnect: true }\n  - { wait: 3s }\n"
	  "  - { client: b, connect: { clean_session: false, session_present: true } }\n", true, NULL },
	{ "name: t\nfaults:\n  - { at: 1s, crash: broker, restart_after: 1s }\nclients:\n  - { id: a }\n  - { id: b }\nsteps:\n"
	  "  - { client: b, connect: { clean_session: false } }\n  - { client: b, disconnect: true }\n  - { wait: 3s }\n"
	  "  - { client: b, connect: { clean_session: false, session_present: true } }\n", false,
	  "b expected CONNACK rc=0 session_present=1, got CONNACK session_present=0" },
	/* 5.0: CONNACK properties, reasons, what the client honours and what it reports */
	{ "name: t\nversion: 5.0\nclients: [{ id: a, client_id: \"\" }]\nsteps:\n"
	  "  - { client: a, connect: { connack_properties: { assigned_client_identifier: present, reason_string: absent } } }\n", true, NULL },
	{ "name: t\nversion: 5.0\nclients: [{ id: a, client_id: \"\" }]\nsteps:\n"
	  "  - { client: a, connect: { connack_properties: { assigned_client_identifier: absent } } }\n", false,
	  "t.yaml:5:5: a expected CONNACK rc=0 no assigned_client_identifier, got CONNACK" },
	{ "name: t\nversion: 5.0\nbroker: { topic_alias_maximum: 2 }\nclients: [{ id: a }]\nsteps:\n"
	  "  - { client: a, connect: { connack_properties: { topic_alias_maximum: 3 } } }\n", false,
	  ": its Topic Alias Maximum is 2, not 3" },
	{ "name: t\nversion: 5.0\nbroker: { topic_alias_maximum: 2 }\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n"
	  "  - { client: a, publish: { topic: x, topic_alias: 3 } }\n", false,
	  "t.yaml:7:5: a did not publish: topic_alias 3 is not one the server takes: its Topic Alias Maximum is 2" },
	{ "name: t\nversion: 5.0\nbroker: { maximum_packet_size: 64B }\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n"
	  "  - { client: a, publish: { topic: x, payload: \"0123456789012345678901234567890123456789012345678901234567890123\" } }\n", false,
	  "a did not publish: the PUBLISH would be 70 bytes, more than the server's Maximum Packet Size of 64" },
	{ "name: t\nversion: 5.0\nbroker: { maximum_packet_size: 64B }\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n"
	  "  - { client: a, publish: { topic: x, force: true, payload: \"0123456789012345678901234567890123456789012345678901234567890123\" } }\n"
	  "  - { client: a, expect: { packet: DISCONNECT, rc: 0x95 } }\n", true, NULL },
	{ "name: t\nversion: 5.0\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n"
	  "  - { client: a, subscribe: [{ filter: s, qos: 1 }] }\n  - { client: a, expect: { packet: SUBACK, properties: { reason_string: present } } }\n", false,
	  "a expected SUBACK with reason_string within 5000ms; it did not come" },
	{ "name: t\nversion: 5.0\nclients: [{ id: a }, { id: o, version: 3.1.1 }]\nsteps:\n  - { client: o, connect: {} }\n"
	  "  - { client: o, subscribe: [{ filter: s, qos: 1 }] }\n  - { client: o, expect: { packet: SUBACK, codes: [1] } }\n"
	  "  - { client: a, connect: {} }\n  - { client: a, publish: { topic: s, payload: m, qos: 1, properties: { user_properties: [[k, v]] } } }\n"
	  "  - { client: a, expect: { packet: PUBACK, rc: 0 } }\n  - { client: o, expect: { packet: PUBLISH, payload: m } }\n", true, NULL },
	/* a partition longer than the connect bound: a clear failure, not a hang */
	{ "name: t\nfaults:\n  - { at: 0s, partition: [a, broker], for: 1h }\nclients: [{ id: a }]\nsteps:\n"
	  "  - { client: a, connect: { within: 2s } }\n", false, "a could not connect to the broker: no answer in time" },
};

START_TEST(test_run_row)
{
	sc_errors e = { 0 };
	scenario *s = scenario_parse("t.yaml", rows[_i].yaml, strlen(rows[_i].yaml), &e);
	ck_assert_msg(s, "row %d does not load: %s", _i, e.n ? e.msg[0] : "?");
	sc_errors_free(&e);
	run_opts o = { 0 };
	run_result r;
	ck_assert_int_eq(run_scenario(s, &o, &r), 0);
	ck_assert_msg(r.pass == rows[_i].pass, "row %d: pass=%d, want %d\n%s", _i, r.pass, rows[_i].pass,
		      r.report ? r.report : "");
	if (rows[_i].report)
		ck_assert_msg(r.report && strstr(r.report, rows[_i].report), "row %d: report lacks \"%s\":\n%s", _i,
			      rows[_i].report, r.report ? r.report : "(none)");
	run_result_free(&r);
	scenario_free(s);
}
END_TEST

/* Same scenario and seed, same trace; another seed, another trace (with random faults). */
START_TEST(test_run_deterministic)
{
	static const char y[] =
		"name: d\nduration: 30s\nnetwork:\n  default: { latency: 10ms, jitter: 5ms, loss: 10% }\n"
		"random_faults:\n  partition: { per_hour: 600, mean: 1s }\n  clog: { per_hour: 600, mean: 1s }\n"
		"clients: [{ id: a }, { id: b }]\nsteps:\n"
		"  - { client: b, connect: { within: 30s } }\n  - { client: b, subscribe: { filter: '#', qos: 1 } }\n"
		"  - { client: a, connect: { within: 30s } }\n"
		"  - { client: a, publish: { topic: t, payload: \"1\", qos: 1 } }\n  - { wait: 2s }\n"
		"  - { client: a, publish: { topic: t, payload: \"2\", qos: 1 } }\n";
	uint64_t h[3];
	for (int k = 0; k < 3; k++) {
		sc_errors e = { 0 };
		scenario *s = scenario_parse("d.yaml", y, strlen(y), &e);
		ck_assert_msg(s, "%s", e.n ? e.msg[0] : "?");
		run_opts o = { .seed = k < 2 ? 5 : 6, .has_seed = true };
		run_result r;
		ck_assert_int_eq(run_scenario(s, &o, &r), 0);
		h[k] = r.trace_hash;
		ck_assert_uint_gt(r.events, 50);
		run_result_free(&r);
		scenario_free(s);
		sc_errors_free(&e);
	}
	ck_assert_uint_eq(h[0], h[1]);
	ck_assert_uint_ne(h[0], h[2]);
}
END_TEST

/* The rule of DESIGN.md "How a verdict is reached", one row per clause: only a check that
 * names a statement can fail it; a failed step that names none leaves the statements checked
 * at or after it not reached, and those whose checks all ran before it passed; a failed
 * expectation that names none fails none; a run that failed outside every check says "not
 * reached" of all. */
START_TEST(test_run_stmt_outcomes)
{
#define SPEC_HEAD "name: t\nspec: [MQTT-1.1.1-1, MQTT-1.1.1-2, MQTT-1.1.1-3, MQTT-1.1.1-4]\n" \
		  "clients: [{ id: a }]\nsteps:\n" \
		  "  - { client: a, connect: {}, spec: [MQTT-1.1.1-1] }\n"
	static const struct {
		const char *yaml;
		const char *want; /* one letter per spec id: P pass, F fail, U not reached */
	} cases[] = {
		/* a failing step that names a statement fails it; the first passed; the third is
		 * checked after it, not reached; the fourth no check names, not reached */
		{ SPEC_HEAD "  - { client: a, expect: { packet: PUBLISH, within: 10ms }, spec: [MQTT-1.1.1-2] }\n"
			    "  - { client: a, disconnect: true, spec: [MQTT-1.1.1-3] }\n", "PFUU" },
		/* a failing step that names nothing fails nothing: checked before it, passed;
		 * checked after it, not reached */
		{ SPEC_HEAD "  - { client: a, expect: { packet: PUBLISH, within: 10ms } }\n"
			    "  - { client: a, disconnect: true, spec: [MQTT-1.1.1-3] }\n", "PUUU" },
		/* a statement checked before the unnamed failure and again after it: not reached */
		{ SPEC_HEAD "  - { client: a, expect: { packet: PUBLISH, within: 10ms } }\n"
			    "  - { client: a, disconnect: true, spec: [MQTT-1.1.1-1] }\n", "UUUU" },
		/* a statement named by an expectation is not reached when a step failed */
		{ SPEC_HEAD "  - { client: a, expect: { packet: PUBLISH, within: 10ms } }\n"
			    "expect:\n  - { spec: [MQTT-1.1.1-4], retained: { topic: t, payload: null } }\n", "PUUU" },
		/* everything passes: every statement passes, named or not */
		{ SPEC_HEAD "  - { client: a, disconnect: true, spec: [MQTT-1.1.1-3] }\n", "PPPP" },
		/* a named expectation fails: only its statement; the steps' statements passed */
		{ SPEC_HEAD "  - { client: a, publish: { topic: t, payload: x } }\n"
			    "expect:\n  - { spec: [MQTT-1.1.1-4], retained: { topic: t, payload: x } }\n"
			    "  - { spec: [MQTT-1.1.1-3], retained: { topic: t, payload: null } }\n", "PUPF" },
		/* an unnamed expectation fails: it fails nothing; what the steps checked passed */
		{ SPEC_HEAD "  - { client: a, publish: { topic: t, payload: x } }\n"
			    "expect:\n  - { retained: { topic: t, payload: x } }\n", "PUUU" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sc_errors e = { 0 };
		scenario *s = scenario_parse("t.yaml", cases[i].yaml, strlen(cases[i].yaml), &e);
		ck_assert_msg(s, "case %zu does not load: %s", i, e.n ? e.msg[0] : "?");
		run_opts o = { 0 };
		run_result r;
		ck_assert_int_eq(run_scenario(s, &o, &r), 0);
		char got[8] = "";
		for (size_t k = 0; k < s->nspec && k < 7; k++)
			got[k] = (char)run_stmt_outcome(s, &r, k);
		ck_assert_msg(!strcmp(got, cases[i].want), "case %zu: got %s, want %s\n%s", i, got, cases[i].want,
			      r.report ? r.report : "");
		/* The same letters from the result as a worker sends it back (run_many, conform). */
		pool_rec rec = { 0 };
		run_result_encode(&rec, s, &r);
		run_result back;
		ck_assert_int_eq(run_result_decode(rec.p, rec.len, s, &back), 0);
		for (size_t k = 0; k < s->nspec && k < 7; k++)
			got[k] = (char)run_stmt_outcome(s, &back, k);
		ck_assert_str_eq(got, cases[i].want);
		ck_assert_uint_eq(back.trace_hash, r.trace_hash);
		ck_assert_str_eq(back.report ? back.report : "", r.report ? r.report : "");
		/* A record cut short, or one with a byte too many, is refused. */
		run_result_free(&back);
		ck_assert_int_eq(run_result_decode(rec.p, rec.len - 1, s, &back), -1);
		ck_assert(back.error);
		run_result_free(&back);
		free(rec.p);
		run_result_free(&r);
		scenario_free(s);
		sc_errors_free(&e);
	}
	/* A run that failed outside every step and expectation (an engine error, a lost
	 * worker...) says "not reached" of every statement; a skipped run or one that could not
	 * happen says nothing. */
	static const char y[] = SPEC_HEAD "  - { client: a, disconnect: true, spec: [MQTT-1.1.1-3] }\n";
	sc_errors e = { 0 };
	scenario *s = scenario_parse("t.yaml", y, strlen(y), &e);
	ck_assert_ptr_nonnull(s);
	run_result r = { .failed_step = -1 };
	char got[8] = "";
	for (size_t k = 0; k < s->nspec; k++)
		got[k] = (char)run_stmt_outcome(s, &r, k);
	ck_assert_str_eq(got, "UUUU");
	r.skipped = true;
	ck_assert_int_eq(run_stmt_outcome(s, &r, 0), RUN_STMT_NONE);
	r.skipped = false;
	r.error = true;
	ck_assert_int_eq(run_stmt_outcome(s, &r, 0), RUN_STMT_NONE);
	scenario_free(s);
	sc_errors_free(&e);
#undef SPEC_HEAD
}
END_TEST

START_TEST(test_run_targets)
{
	static const char y[] = "name: tcp-only\ntargets: [tcp]\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n";
	sc_errors e = { 0 };
	scenario *s = scenario_parse("x.yaml", y, strlen(y), &e);
	ck_assert_ptr_nonnull(s);
	run_opts o = { 0 };
	run_result r;
	ck_assert_int_eq(run_scenario(s, &o, &r), 0);
	ck_assert(r.skipped);
	run_result_free(&r);
	o.broker = "udp://x:1";
	ck_assert_int_eq(run_scenario(s, &o, &r), -1);
	ck_assert_ptr_nonnull(strstr(r.report, "--broker takes sim, mqtt://HOST:PORT (or tcp://), mqtts://HOST:PORT, ws://HOST:PORT[/PATH], wss://HOST:PORT[/PATH] or exec:'CMD ARGS'"));
	run_result_free(&r);
	/* An exec broker runs what a scenario for an external broker runs. */
	ck_assert(run_target_fits(s, RUN_TARGET_EXEC));
	ck_assert(!run_target_fits(s, RUN_TARGET_SIM));
	scenario_free(s);
	/* ...and a simulation scenario unless it gives the reference broker options. */
	static const char ys[] = "name: sim-only\ntargets: [sim]\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n";
	static const char yb[] = "name: sim-opts\ntargets: [sim]\nbroker: { max_queued: 5 }\nclients: [{ id: a }]\n"
				 "steps:\n  - { client: a, connect: {} }\n";
	s = scenario_parse("s.yaml", ys, strlen(ys), &e);
	ck_assert_ptr_nonnull(s);
	ck_assert(run_target_fits(s, RUN_TARGET_EXEC));
	ck_assert(!run_target_fits(s, RUN_TARGET_TCP));
	scenario_free(s);
	s = scenario_parse("b.yaml", yb, strlen(yb), &e);
	ck_assert_ptr_nonnull(s);
	ck_assert(!run_target_fits(s, RUN_TARGET_EXEC));
	ck_assert(run_target_fits(s, RUN_TARGET_SIM));
	scenario_free(s);
	ck_assert_int_eq(run_parse_target("exec:mosquitto -c {config}", NULL, 0, NULL), RUN_TARGET_EXEC);
	ck_assert_int_eq(run_parse_target("exec:", NULL, 0, NULL), -1);
	ck_assert_int_eq(run_parse_target("exec: \t", NULL, 0, NULL), -1);
	char host[64];
	unsigned port;
	ck_assert_int_eq(run_parse_target("tcp://127.0.0.1:1883", host, sizeof host, &port), 1);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_uint_eq(port, 1883);
	ck_assert_int_eq(run_parse_target("sim", host, sizeof host, &port), 0);
	ck_assert_int_eq(run_parse_target("tcp://h:0", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("tcp://:1", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("tcp://h:99999", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("tcp://h: 1883", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("tcp://h:+1883", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("tcp://[::1]:1883", host, sizeof host, &port), 1);
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 1883);
	ck_assert_int_eq(run_parse_target("tcp://[::1]1883", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("tcp://[]:1883", host, sizeof host, &port), -1);
	/* mqtt:// is tcp://; mqtts:// is TLS, parsed alike. */
	ck_assert_int_eq(run_parse_target("mqtt://broker:1883", host, sizeof host, &port), RUN_TARGET_TCP);
	ck_assert_str_eq(host, "broker");
	ck_assert_int_eq(run_parse_target("mqtts://broker.example:8883", host, sizeof host, &port), RUN_TARGET_TLS);
	ck_assert_str_eq(host, "broker.example");
	ck_assert_uint_eq(port, 8883);
	ck_assert_int_eq(run_parse_target("mqtts://[::1]:8883", host, sizeof host, &port), RUN_TARGET_TLS);
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(run_parse_target("mqtts://h", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("mqtts://h:0", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("mqttss://h:1", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("MQTTS://h:1", host, sizeof host, &port), -1);
	/* WebSocket: over TCP or TLS, with a path (default /mqtt) that run_target_ws gives. */
	char path[RUN_WS_PATH_MAX];
	ck_assert_int_eq(run_parse_target("ws://broker:8080/mqtt", host, sizeof host, &port), RUN_TARGET_TCP);
	ck_assert_str_eq(host, "broker");
	ck_assert_uint_eq(port, 8080);
	ck_assert(run_target_ws("ws://broker:8080/a/b", path, sizeof path));
	ck_assert_str_eq(path, "/a/b");
	ck_assert_int_eq(run_parse_target("wss://[::1]:8081", host, sizeof host, &port), RUN_TARGET_TLS);
	ck_assert_str_eq(host, "::1");
	ck_assert(run_target_ws("wss://[::1]:8081", path, sizeof path));
	ck_assert_str_eq(path, "/mqtt");
	ck_assert(!run_target_ws("mqtt://h:1", path, sizeof path));
	ck_assert(!run_target_ws(NULL, path, sizeof path));
	ck_assert_int_eq(run_parse_target("ws://h:0/mqtt", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("ws://h:80x/mqtt", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("ws://h:80/a b", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("ws://h/mqtt", host, sizeof host, &port), -1);
	ck_assert_int_eq(run_parse_target("wsx://h:1", host, sizeof host, &port), -1);
}
END_TEST

Suite *run_suite(void)
{
	Suite *s = suite_create("run");
	TCase *tc = tcase_create("steps");
	tcase_add_loop_test(tc, test_run_row, 0, (int)(sizeof rows / sizeof rows[0]));
	tcase_add_test(tc, test_run_deterministic);
	tcase_add_test(tc, test_run_targets);
	tcase_add_test(tc, test_run_stmt_outcomes);
	suite_add_tcase(s, tc);
	return s;
}
