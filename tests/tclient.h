/*
 * tclient.h - a scripted MQTT client for tests, on a simulated host. It sends packets the
 * test builds (or raw bytes) and records every packet it receives as the codec's one-line
 * print, so tests assert on the exact packets a client sees.
 */
#ifndef TESTS_TCLIENT_H
#define TESTS_TCLIENT_H

#include "mqtt/mqtt.h"
#include "sim/net.h"

#define TC_MAX_LINES 4096

typedef struct tclient {
	sim_world *w;
	sim_host *h;
	sim_sock *s;
	uint8_t version;          /* MQTT_V5 after tc_connect5 (what it sends and decodes); 0: 3.1.1 */
	int connect_err;          /* on_connect result; 1 until then */
	bool closed;              /* EOF or error seen */
	long close_err;           /* 0 for EOF, else -errno */
	uint8_t rx[65536];
	size_t rx_len;
	char *lines[TC_MAX_LINES];
	int nlines;
	int seen;                 /* lines consumed by tc_next */
	char auth_data[1024];     /* the last Authentication Data received, NUL-terminated */
} tclient;

/* A client on a new host named `name`, connecting to broker:port. Runs the world until
 * the TCP connection is up. */
tclient *tc_new(sim_world *w, const char *name, sim_host *broker, uint16_t port);
void tc_free(tclient *c);

void tc_send(tclient *c, const mqtt_packet *p);
void tc_send_hex(tclient *c, const char *hex);
/* CONNECT (3.1.1) with the given client id, clean flag and keepalive. */
void tc_connect(tclient *c, const char *id, bool clean, uint16_t keepalive);
/* CONNECT (5.0) with these properties (NULL: none); the client speaks 5.0 from here on. */
void tc_connect5(tclient *c, const char *id, bool clean_start, uint16_t keepalive, const mqtt_props *props);
/* Packets below go out at the client's level (3.1.1 unless tc_connect5 was called). */
void tc_publish(tclient *c, const char *topic, const char *payload, uint8_t qos, bool retain, uint16_t id);
void tc_subscribe(tclient *c, uint16_t id, const char *filter, uint8_t qos);
void tc_drop(tclient *c);   /* abort the TCP connection (RST), as a crashing client would */

/* Run the world for `us` microseconds of virtual time. */
void tc_run(sim_world *w, int64_t us);
/* The next received packet line not yet consumed, or NULL. */
const char *tc_next(tclient *c);

/* Assertions on the next packet a test client received, shared by the broker suites. */
#define TC_EXPECT(c, want)                                                                      \
	do {                                                                                    \
		const char *got_ = tc_next(c);                                                  \
		ck_assert_msg(got_ && !strcmp(got_, (want)), "%s: expected\n  %s\ngot\n  %s",   \
			      sim_host_name((c)->h), (want), got_ ? got_ : "(nothing)");         \
	} while (0)
#define TC_EXPECT_NOTHING(c)                                                                      \
	do {                                                                                      \
		const char *got_ = tc_next(c);                                                    \
		ck_assert_msg(!got_, "%s: expected nothing, got %s", sim_host_name((c)->h), got_); \
	} while (0)

#define CONNACK_OK "CONNACK session_present=0 rc=0 (Connection Accepted)"
#define CONNACK_PRESENT "CONNACK session_present=1 rc=0 (Connection Accepted)"

#endif
