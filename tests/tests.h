/*
 * tests.h - shared helpers for the Check suites. One suite per module; one runner
 * (check_main.c) writes XML and TAP under reports/out/.
 */
#ifndef TESTS_TESTS_H
#define TESTS_TESTS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

Suite *codec_suite(void);      /* test_codec.c: round trips, framing, boundaries */
Suite *malformed_suite(void);  /* test_malformed.c: every rejection names its statement */
Suite *topic_suite(void);      /* test_topic.c: names, filters, matching, shared */
Suite *print_suite(void);      /* test_print.c: printers and names */
Suite *cli_suite(void);        /* test_cli.c: hex parsing and `mqttsim decode` */
Suite *net_suite(void);        /* test_net.c: virtual network, faults, disk, host clocks; the proxy's link model */
Suite *broker_suite(void);     /* test_broker.c: the reference broker through the sim shell */
Suite *broker5_suite(void);    /* test_broker5.c: MQTT 5.0 in the reference broker, 3.1.1 beside it */
Suite *tree_suite(void);       /* test_tree.c: topic tree (siblings, wildcards, order), max_subscriptions */
Suite *auth_suite(void);       /* test_auth.c: hashes, password and ACL files, auth end to end */
Suite *scram_suite(void);      /* test_scram.c: SCRAM-SHA-256 and the AUTH flow (MQTT 5.0 enhanced authentication) */
Suite *authwait_suite(void);   /* test_authwait.c: asynchronous authentication (connect_start) */
Suite *persist_suite(void);    /* test_persist.c: the broker's log across crashes */
Suite *crashsweep_suite(void); /* test_crashsweep.c: crash at every store write and sync */
Suite *run_suite(void);        /* test_run.c: steps and expectations of scenarios */
Suite *scenario_suite(void);   /* test_scenario.c: the YAML loader, its units and its errors */
Suite *sim_suite(void);        /* test_sim.c: event queue, timers, random streams, trace */
Suite *catalog_suite(void);    /* test_catalog.c: the statement catalogs and their loader */
Suite *reports_suite(void);    /* test_reports.c: JUnit, JSON and TAP writers, --report */
Suite *explore_suite(void);    /* test_explore.c: seed ranges, shards, ddmin, swarm, merge JSON */
Suite *sensor_suite(void);     /* test_sensor.c: TMP36, soil probe, ESP8266 ADC, walk, curve */
Suite *nodemcu_suite(void);    /* test_nodemcu.c: NodeMCU profiles, timers, device life, nodes: */
Suite *security_suite(void);   /* test_security.c: the broker under abuse: owners, reads, retained pacing */
Suite *fuzz_suite(void);       /* test_fuzz.c: crashes the fuzzers found, replayed; their seeds */
Suite *verdict_suite(void);    /* test_verdict.c: verdict rules, expected failures, the worker pool */
Suite *ws_suite(void);         /* test_ws.c: WebSocket framing and handshake (harness/ws.h) */
Suite *variants_suite(void);   /* test_variants.c: each permitted broker variant changes behaviour */

/* Hex text (spaces allowed) to bytes; aborts the test on bad hex. Returns the length. */
size_t unhex(const char *hex, uint8_t *out, size_t cap);

#endif
