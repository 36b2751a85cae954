/*
 * test_authwait.c - asynchronous authentication in the broker core: a broker_auth whose
 * connect_start answers BROKER_AUTH_PENDING, and broker_on_auth() delivering the answer
 * later (the socket shell's password worker). Driven through the sans-I/O API with a fake
 * env, so every byte the broker sends and every close it asks for is seen.
 */
#include "tests.h"

#include "broker/broker.h"
#include "mqtt/mqtt.h"

#include <stdio.h>
#include <string.h>

#define NCONN 8

typedef struct fake {
	int64_t now;
	uint8_t out[NCONN][8192];
	size_t out_len[NCONN];
	int closes[NCONN];
	/* the auth */
	int answer;          /* what connect_start returns */
	int starts;
	uint64_t last_conn;
	char last_user[64], last_pw[64], last_id[64];
} fake;

static fake F;

static int64_t f_now(void *ctx) { return ((fake *)ctx)->now; }

static void f_send(void *ctx, uint64_t c, const uint8_t *d, size_t n)
{
	fake *f = ctx;
	ck_assert_uint_lt(c, NCONN);
	ck_assert_uint_le(f->out_len[c] + n, sizeof f->out[c]);
	memcpy(f->out[c] + f->out_len[c], d, n);
	f->out_len[c] += n;
}

static void f_close(void *ctx, uint64_t c) { ((fake *)ctx)->closes[c]++; }

static int f_start(void *ctx, uint64_t conn, const char *client_id, const char *username,
		   const uint8_t *password, size_t password_len)
{
	fake *f = ctx;
	f->starts++;
	f->last_conn = conn;
	snprintf(f->last_id, sizeof f->last_id, "%s", client_id);
	snprintf(f->last_user, sizeof f->last_user, "%s", username ? username : "(none)");
	snprintf(f->last_pw, sizeof f->last_pw, "%.*s", (int)password_len, password ? (const char *)password : "");
	return f->answer;
}

static int f_connect_never(void *ctx, const char *client_id, const char *username,
			   const uint8_t *password, size_t password_len)
{
	(void)ctx, (void)client_id, (void)username, (void)password, (void)password_len;
	ck_abort_msg("connect() asked although connect_start is set");
	return 5;
}

static broker_auth AUTH = { .ctx = &F, .connect = f_connect_never, .connect_start = f_start };

static broker *start(void)
{
	memset(&F, 0, sizeof F);
	F.now = 1000000;
	F.answer = BROKER_AUTH_PENDING;
	static broker_env env;
	env = (broker_env){ .ctx = &F, .now_us = f_now, .send = f_send, .close = f_close };
	broker_config cfg;
	broker_config_init(&cfg);
	cfg.sys_interval_s = 0;
	cfg.auth = &AUTH;
	return broker_new(&env, &cfg);
}

static void in(broker *b, uint64_t c, const char *hex)
{
	uint8_t buf[512];
	size_t n = unhex(hex, buf, sizeof buf);
	broker_on_bytes(b, c, buf, n);
}

/* What the broker sent on c since the last call, as "CONNACK:0 SUBACK PINGRESP". */
static const char *got(uint64_t c)
{
	static char s[512];
	s[0] = 0;
	size_t pos = 0;
	while (pos < F.out_len[c]) {
		mqtt_packet p;
		mqtt_err e;
		int n = mqtt_decode(F.out[c] + pos, F.out_len[c] - pos, MQTT_V311, 1u << 20, &p, &e);
		ck_assert_int_gt(n, 0);
		size_t l = strlen(s);
		if (p.type == MQTT_CONNACK)
			snprintf(s + l, sizeof s - l, "%sCONNACK:%u", l ? " " : "", p.reason);
		else
			snprintf(s + l, sizeof s - l, "%s%s", l ? " " : "", mqtt_type_name(p.type));
		pos += (size_t)n;
	}
	F.out_len[c] = 0;
	return s;
}

/* CONNECT, 3.1.1, clean session, keepalive 60: client "c1", user "alice", password "pw". */
#define CONNECT_C1 "10 19 00 04 4d 51 54 54 04 c2 00 3c 00 02 63 31 00 05 61 6c 69 63 65 00 02 70 77"
#define SUBSCRIBE_A "82 06 00 01 00 01 61 00" /* id 1, "a", QoS 0 */
#define PUBLISH_A "30 04 00 01 61 78"         /* "a", "x", QoS 0 */
#define PINGREQ "c0 00"

/* What follows a CONNECT waits for the answer, then runs in order. */
START_TEST(test_pending_pauses_then_runs_in_order)
{
	broker *b = start();
	ck_assert_int_eq(broker_on_open(b, 1, "p1"), 0);
	in(b, 1, CONNECT_C1 " " SUBSCRIBE_A);
	ck_assert_int_eq(F.starts, 1);
	ck_assert_uint_eq(F.last_conn, 1);
	ck_assert_str_eq(F.last_id, "c1");
	ck_assert_str_eq(F.last_user, "alice");
	ck_assert_str_eq(F.last_pw, "pw");
	ck_assert_str_eq(got(1), "");
	in(b, 1, PUBLISH_A " " PINGREQ); /* more while waiting: kept, not handled */
	ck_assert_str_eq(got(1), "");
	ck_assert_ptr_null(broker_conn_client_id(b, 1));
	broker_on_auth(b, 1, 0);
	ck_assert_str_eq(got(1), "CONNACK:0 SUBACK PUBLISH PINGRESP");
	ck_assert_int_eq(F.starts, 1); /* asked once, not again on the CONNECT's second pass */
	ck_assert_str_eq(broker_conn_client_id(b, 1), "c1");
	ck_assert_int_eq(F.closes[1], 0);
	broker_on_auth(b, 1, 4); /* a second answer is ignored */
	in(b, 1, PINGREQ);
	ck_assert_str_eq(got(1), "PINGRESP");
	broker_free(b);
}
END_TEST

/* A refusal: CONNACK with the code, closed, nothing after the CONNECT handled. */
START_TEST(test_pending_refused)
{
	broker *b = start();
	broker_on_open(b, 1, "p1");
	in(b, 1, CONNECT_C1 " " PINGREQ);
	broker_on_auth(b, 1, 4);
	ck_assert_str_eq(got(1), "CONNACK:4");
	ck_assert_int_eq(F.closes[1], 1);
	/* A code outside 0..5 is not sent as such: not authorised. */
	broker_on_open(b, 2, "p2");
	in(b, 2, CONNECT_C1);
	broker_on_auth(b, 2, 77);
	ck_assert_str_eq(got(2), "CONNACK:5");
	broker_free(b);
}
END_TEST

/* connect_start may answer at once, like connect. */
START_TEST(test_answer_at_once)
{
	broker *b = start();
	F.answer = 0;
	broker_on_open(b, 1, "p1");
	in(b, 1, CONNECT_C1 " " PINGREQ);
	ck_assert_str_eq(got(1), "CONNACK:0 PINGRESP");
	F.answer = 4;
	broker_on_open(b, 2, "p2");
	in(b, 2, CONNECT_C1);
	ck_assert_str_eq(got(2), "CONNACK:4");
	ck_assert_int_eq(F.closes[2], 1);
	broker_free(b);
}
END_TEST

/* Closed while waiting: forgotten; the late answer does nothing, also when the id is
 * opened again meanwhile (the new connection waits for its own answer). */
START_TEST(test_close_while_pending)
{
	broker *b = start();
	broker_on_open(b, 1, "p1");
	in(b, 1, CONNECT_C1);
	broker_on_close(b, 1);
	broker_on_auth(b, 1, 0);
	ck_assert_str_eq(got(1), "");
	broker_on_open(b, 1, "p1-again");
	broker_on_auth(b, 1, 0); /* not waiting yet: ignored */
	in(b, 1, PINGREQ);
	ck_assert_int_eq(F.closes[1], 1); /* PINGREQ before CONNECT: protocol error */
	broker_stats st;
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.clients_connected, 0);
	broker_free(b);
}
END_TEST

/* Takeover: the connected owner of a client id keeps working while a newcomer's CONNECT
 * waits, and is closed only when the newcomer is accepted [MQTT-3.1.4-2]. */
START_TEST(test_takeover_waits_for_answer)
{
	broker *b = start();
	F.answer = 0;
	broker_on_open(b, 1, "old");
	in(b, 1, CONNECT_C1);
	ck_assert_str_eq(got(1), "CONNACK:0");
	F.answer = BROKER_AUTH_PENDING;
	broker_on_open(b, 2, "new");
	in(b, 2, CONNECT_C1);
	in(b, 1, PINGREQ);
	ck_assert_str_eq(got(1), "PINGRESP");
	ck_assert_int_eq(F.closes[1], 0);
	broker_on_auth(b, 2, 0);
	ck_assert_str_eq(got(2), "CONNACK:0");
	ck_assert_int_eq(F.closes[1], 1);
	/* A refused newcomer takes nothing over. */
	broker_on_open(b, 3, "third");
	in(b, 3, CONNECT_C1);
	broker_on_auth(b, 3, 4);
	ck_assert_int_eq(F.closes[2], 0);
	in(b, 2, PINGREQ);
	ck_assert_str_eq(got(2), "PINGRESP");
	broker_free(b);
}
END_TEST

/* Input while waiting is bounded; so is the wait (the CONNECT timeout). */
START_TEST(test_pending_bounds)
{
	broker *b = start();
	broker_on_open(b, 1, "p1");
	in(b, 1, CONNECT_C1);
	static uint8_t junk[64 << 10];
	memset(junk, 0xc0, sizeof junk);
	for (int i = 0; i < 32 && !F.closes[1]; i++)
		broker_on_bytes(b, 1, junk, sizeof junk); /* 2 MiB: twice max_packet_size */
	ck_assert_int_eq(F.closes[1], 1);
	ck_assert_str_eq(got(1), "");
	broker_on_open(b, 2, "p2");
	in(b, 2, CONNECT_C1);
	F.now += 31 * 1000000LL;
	broker_tick(b);
	ck_assert_int_eq(F.closes[2], 1);
	broker_free(b);
}
END_TEST

/* broker_free with answers outstanding frees everything (valgrind checks). */
START_TEST(test_free_while_pending)
{
	broker *b = start();
	broker_on_open(b, 1, "p1");
	in(b, 1, CONNECT_C1 " " SUBSCRIBE_A);
	broker_on_open(b, 2, "p2");
	in(b, 2, CONNECT_C1);
	broker_free(b);
}
END_TEST

Suite *authwait_suite(void)
{
	Suite *s = suite_create("authwait");
	TCase *tc = tcase_create("pending");
	tcase_add_test(tc, test_pending_pauses_then_runs_in_order);
	tcase_add_test(tc, test_pending_refused);
	tcase_add_test(tc, test_answer_at_once);
	tcase_add_test(tc, test_close_while_pending);
	tcase_add_test(tc, test_takeover_waits_for_answer);
	tcase_add_test(tc, test_pending_bounds);
	tcase_add_test(tc, test_free_while_pending);
	suite_add_tcase(s, tc);
	return s;
}
