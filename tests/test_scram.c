/*
 * test_scram.c - MQTT 5.0 enhanced authentication with SCRAM-SHA-256: the server's half
 * (broker/auth_scram.c) and the client's (harness/scram_client.c) against RFC 7677's
 * example, the messages each refuses, and the AUTH flow through the broker's simulation
 * shell - success, wrong password, unknown user and method, re-authentication, protocol
 * errors - asserting on the exact packets the client receives.
 */
#include "tests.h"

#include "broker/auth.h"
#include "broker/scram.h"
#include "harness/broker_shell_sim.h"
#include "harness/scram_client.h"
#include "tclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PORT 1883
#define MS 1000

/* RFC 7677 §3: user "user", password "pencil", 4096 iterations. */
#define V_SALT "W22ZaJ0SNY7soEsUEjb6gQ=="
#define V_CNONCE "rOprNGfwEbeRWgbNEkqO"
#define V_SNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define V_CLIENT_FIRST "n,,n=user,r=" V_CNONCE
#define V_SERVER_FIRST "r=" V_CNONCE V_SNONCE ",s=" V_SALT ",i=4096"
#define V_CLIENT_FINAL "c=biws,r=" V_CNONCE V_SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define V_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static const uint8_t *U(const char *s) { return (const uint8_t *)s; }

static void vector_salted(uint8_t salt[16], uint8_t salted[32])
{
	ck_assert_int_eq(broker__base64_decode(V_SALT, strlen(V_SALT), salt, 16), 16);
	ck_assert_int_eq(broker_sha256_pbkdf2("pencil", 6, salt, 16, 4096, salted, 32), 0);
}

/* The RFC 7677 user's salt, StoredKey and ServerKey, by RFC 5802 §3's formulas written out
 * here (not through broker__scram_keys). */
static void vector_keys(uint8_t salt[16], uint8_t stored[32], uint8_t server[32])
{
	uint8_t salted[32], ck[32];
	vector_salted(salt, salted);
	broker_sha256_hmac(salted, 32, "Client Key", 10, ck);
	broker_sha256(ck, 32, stored);
	broker_sha256_hmac(salted, 32, "Server Key", 10, server);
}

static void hexs(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

START_TEST(test_rfc7677_server)
{
	uint8_t salt[16], stored[32], server[32];
	vector_keys(salt, stored, server);
	broker_scram s = { 0 };
	char why[200] = "", final[64];
	ck_assert_int_eq(broker__scram_client_first(&s, U(V_CLIENT_FIRST), strlen(V_CLIENT_FIRST), why, sizeof why),
			 BROKER_SCRAM_OK);
	ck_assert_str_eq(s.user, "user");
	ck_assert_str_eq(broker__scram_server_first(&s, V_SNONCE, salt, 16, 4096, stored, server), V_SERVER_FIRST);
	ck_assert_int_eq(broker__scram_client_final(&s, U(V_CLIENT_FINAL), strlen(V_CLIENT_FINAL), final,
						    sizeof final, why, sizeof why),
			 BROKER_SCRAM_OK);
	ck_assert_str_eq(final, V_SERVER_FINAL);
	broker__scram_clear(&s);

	/* One bit of the proof changed: refused. */
	broker_scram t = { 0 };
	char bad[] = V_CLIENT_FINAL;
	bad[strlen(bad) - 3] = 'W'; /* ...VQ= -> ...WQ= */
	broker__scram_client_first(&t, U(V_CLIENT_FIRST), strlen(V_CLIENT_FIRST), why, sizeof why);
	broker__scram_server_first(&t, V_SNONCE, salt, 16, 4096, stored, server);
	ck_assert_int_eq(broker__scram_client_final(&t, U(bad), strlen(bad), final, sizeof final, why, sizeof why),
			 BROKER_SCRAM_PROOF);
	ck_assert_str_eq(why, "SCRAM proof does not match: wrong password or unknown user");
	broker__scram_clear(&t);
}
END_TEST

START_TEST(test_rfc7677_client)
{
	scram_client c;
	char out[SCRAM_CLIENT_MSG];
	ck_assert_int_eq(scram_client_first(&c, NULL, "user", V_CNONCE, out, sizeof out), (int)strlen(V_CLIENT_FIRST));
	ck_assert_str_eq(out, V_CLIENT_FIRST);
	ck_assert_int_gt(scram_client_final(&c, "pencil", U(V_SERVER_FIRST), strlen(V_SERVER_FIRST), out, sizeof out), 0);
	ck_assert_str_eq(out, V_CLIENT_FINAL);
	ck_assert_int_eq(scram_client_verify(&c, U(V_SERVER_FINAL), strlen(V_SERVER_FINAL)), 0);
	ck_assert_int_eq(scram_client_verify(&c, U("v=AAAA"), 6), -1);
	/* A server nonce that does not extend ours is no server-first of this exchange. */
	const char *other = "r=XXXX,s=" V_SALT ",i=4096";
	ck_assert_int_eq(scram_client_final(&c, "pencil", U(other), strlen(other), out, sizeof out), -1);
	/* No client-first made (or a failed one): nothing to answer, and no crash. */
	scram_client none;
	memset(&none, 0, sizeof none);
	ck_assert_int_eq(scram_client_final(&none, "pencil", U(V_SERVER_FIRST), strlen(V_SERVER_FIRST), out, sizeof out), -1);
	char longname[SCRAM_CLIENT_MSG];
	memset(longname, 'u', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	ck_assert_int_eq(scram_client_first(&c, NULL, longname, V_CNONCE, out, sizeof out), -1);
	ck_assert_int_eq(scram_client_final(&c, "pencil", U(V_SERVER_FIRST), strlen(V_SERVER_FIRST), out, sizeof out), -1);
	/* A user name with ',' and '=' is escaped (RFC 5802 §5.1), and the server reads it back. */
	ck_assert_int_gt(scram_client_first(&c, NULL, "a,b=c", "n0nce", out, sizeof out), 0);
	ck_assert_str_eq(out, "n,,n=a=2Cb=3Dc,r=n0nce");
	broker_scram s = { 0 };
	char why[200];
	ck_assert_int_eq(broker__scram_client_first(&s, U(out), strlen(out), why, sizeof why), BROKER_SCRAM_OK);
	ck_assert_str_eq(s.user, "a,b=c");
	broker__scram_clear(&s);
}
END_TEST

/* The password file keeps what RFC 5802 §3/§9 say a server keeps: salt, count, StoredKey,
 * ServerKey, never SaltedPassword (from which anyone could make a client proof). A line for
 * user/pencil with the RFC salt holds the RFC's keys, scram_lookup hands them over, and the
 * RFC 7677 exchange runs on them. */
START_TEST(test_passwd_keeps_server_keys)
{
	uint8_t salt[16], salted[32], stored[32], server[32];
	vector_salted(salt, salted);
	vector_keys(salt, stored, server);
	char line[BROKER_AUTH_LINE_CAP(4)], err[400] = "";
	ck_assert_int_gt(broker_auth_format(line, sizeof line, "user", U("pencil"), 6, salt, 16, 4096, err, sizeof err), 0);
	char want[300], hs[33], hk[65], hv[65], hp[65];
	hexs(salt, 16, hs);
	hexs(stored, 32, hk);
	hexs(server, 32, hv);
	hexs(salted, 32, hp);
	snprintf(want, sizeof want, "user:$mqs2$4096$%s$%s$%s", hs, hk, hv);
	ck_assert_str_eq(line, want);
	ck_assert_ptr_null(strstr(line, hp)); /* SaltedPassword is not on file */
	broker_file_auth *fa = broker_auth_parse("pw", line, strlen(line), NULL, NULL, 0, err, sizeof err);
	ck_assert_msg(fa != NULL, "%s", err);
	const broker_auth *a = broker_auth_get(fa);
	ck_assert_ptr_nonnull(a->scram_lookup);
	uint8_t s2[BROKER_SCRAM_MAX_SALT], k2[32], v2[32];
	size_t sl = sizeof s2;
	uint32_t it = 0;
	ck_assert_int_eq(a->scram_lookup(a->ctx, "user", s2, &sl, &it, k2, v2), 0);
	ck_assert_uint_eq(sl, 16);
	ck_assert_uint_eq(it, 4096);
	ck_assert_mem_eq(s2, salt, 16);
	ck_assert_mem_eq(k2, stored, 32);
	ck_assert_mem_eq(v2, server, 32);
	/* The RFC's exchange on what the file gave. */
	broker_scram sc = { 0 };
	char why[200] = "", final[64];
	broker__scram_client_first(&sc, U(V_CLIENT_FIRST), strlen(V_CLIENT_FIRST), why, sizeof why);
	ck_assert_str_eq(broker__scram_server_first(&sc, V_SNONCE, s2, sl, it, k2, v2), V_SERVER_FIRST);
	ck_assert_int_eq(broker__scram_client_final(&sc, U(V_CLIENT_FINAL), strlen(V_CLIENT_FINAL), final,
						    sizeof final, why, sizeof why),
			 BROKER_SCRAM_OK);
	ck_assert_str_eq(final, V_SERVER_FINAL);
	broker__scram_clear(&sc);
	/* The plain password of a CONNECT is checked against the same StoredKey. */
	ck_assert_int_eq(a->connect(a->ctx, "c", "user", U("pencil"), 6), 0);
	ck_assert_int_eq(a->connect(a->ctx, "c", "user", U("pencil!"), 7), 4);
	sl = sizeof s2;
	ck_assert_int_eq(a->scram_lookup(a->ctx, "nobody", s2, &sl, &it, k2, v2), -1);
	broker_auth_free(fa);
	/* Without a password file there is nothing to run SCRAM over. */
	fa = broker_auth_parse(NULL, NULL, 0, "acl", "topic #\n", 8, err, sizeof err);
	ck_assert_ptr_nonnull(fa);
	ck_assert_ptr_null(broker_auth_get(fa)->scram_lookup);
	broker_auth_free(fa);
}
END_TEST

/* A line of the first format ($mqs1$: SaltedPassword on file) is refused, naming file and
 * line and saying what to run; broker_auth_upgrade() rewrites it into exactly the line
 * broker_auth_format() makes of the same password, salt and count, and leaves the rest. */
START_TEST(test_passwd_v1_refused_and_upgraded)
{
	uint8_t salt[16], salted[32];
	vector_salted(salt, salted);
	char hs[33], hp[65], old[600], err[400] = "";
	hexs(salt, 16, hs);
	hexs(salted, 32, hp);
	char bob[BROKER_AUTH_LINE_CAP(3)];
	static const uint8_t salt2[4] = { 1, 2, 3, 4 };
	ck_assert_int_gt(broker_auth_format(bob, sizeof bob, "bob", U("b"), 1, salt2, 4, 7, err, sizeof err), 0);
	snprintf(old, sizeof old, "# users\r\n%s\r\n  user:$mqs1$4096$%s$%s  \r\n", bob, hs, hp);
	ck_assert_ptr_null(broker_auth_parse("etc/pw", old, strlen(old), NULL, NULL, 0, err, sizeof err));
	ck_assert_str_eq(err, "etc/pw:3: user 'user': this line is in the old $mqs1$ format, which keeps the "
			      "SaltedPassword, enough to log in as the user by SCRAM; run 'mqttsim passwd etc/pw "
			      "USER' (for any user: it rewrites every $mqs1$ line as $mqs2$, passwords unchanged)");
	char *up = NULL;
	size_t up_len = 0;
	int n = -1;
	ck_assert_int_eq(broker_auth_upgrade("etc/pw", old, strlen(old), &up, &up_len, &n, err, sizeof err), 0);
	ck_assert_int_eq(n, 1);
	char line[BROKER_AUTH_LINE_CAP(4)], want[700];
	ck_assert_int_gt(broker_auth_format(line, sizeof line, "user", U("pencil"), 6, salt, 16, 4096, err, sizeof err), 0);
	snprintf(want, sizeof want, "# users\r\n%s\r\n  %s  \r\n", bob, line);
	ck_assert_str_eq(up, want);
	ck_assert_uint_eq(up_len, strlen(want));
	broker_file_auth *fa = broker_auth_parse("etc/pw", up, up_len, NULL, NULL, 0, err, sizeof err);
	ck_assert_msg(fa != NULL, "%s", err);
	broker_auth_free(fa);
	free(up);
	/* Nothing to do: the same text, 0 lines. */
	ck_assert_int_eq(broker_auth_upgrade("etc/pw", want, strlen(want), &up, &up_len, &n, err, sizeof err), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(up, want);
	free(up);
	/* A bad line is reported as the loader would, and nothing comes back. */
	ck_assert_int_eq(broker_auth_upgrade("etc/pw", "x:$mqs1$1$00$zz\n", 16, &up, &up_len, &n, err, sizeof err), -1);
	ck_assert_ptr_null(up);
	ck_assert_str_eq(err, "etc/pw:1: user 'x': the SaltedPassword has 2 hex digits; it needs 64");
}
END_TEST

START_TEST(test_base64)
{
	char out[16];
	uint8_t b[8];
	static const struct { const char *in, *enc; } rows[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" }, /* RFC 4648 §10 */
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		size_t n = strlen(rows[i].in);
		ck_assert_uint_eq(broker__base64_encode(U(rows[i].in), n, out), strlen(rows[i].enc));
		ck_assert_str_eq(out, rows[i].enc);
		ck_assert_int_eq(broker__base64_decode(rows[i].enc, strlen(rows[i].enc), b, sizeof b), (long)n);
		ck_assert_mem_eq(b, rows[i].in, n);
	}
	static const char *bad[] = { "Zg=", "Zh==", "Z===", "Zm9", "Zg==Zg==", "Zm=v", "Zm9v!A==", "Zm9vYmFyYg==" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(broker__base64_decode(bad[i], strlen(bad[i]), b, 6) == -1, "%s decoded", bad[i]);
}
END_TEST

/* Each row: a client-first or (after the RFC's client-first and server-first) a
 * client-final, and the outcome. */
START_TEST(test_scram_rejects)
{
	static const struct { const char *first; int rc; } firsts[] = {
		{ V_CLIENT_FIRST, BROKER_SCRAM_OK },
		{ "y,,n=user,r=abc", BROKER_SCRAM_OK },          /* client could bind; we offer no -PLUS */
		{ "n,a=user,n=user,r=abc", BROKER_SCRAM_OK },    /* authzid of itself */
		{ "n,,n=user,r=abc,x=ext", BROKER_SCRAM_OK },    /* extensions ignored */
		{ "p=tls-unique,,n=user,r=abc", BROKER_SCRAM_UNSUPPORTED },
		{ "n,a=admin,n=user,r=abc", BROKER_SCRAM_UNSUPPORTED },
		{ "n,,m=ext,n=user,r=abc", BROKER_SCRAM_UNSUPPORTED },
		{ "", BROKER_SCRAM_MALFORMED },
		{ "x,,n=user,r=abc", BROKER_SCRAM_MALFORMED },
		{ "n,n=user,r=abc", BROKER_SCRAM_MALFORMED },
		{ "n,,r=abc,n=user", BROKER_SCRAM_MALFORMED },
		{ "n,,n=,r=abc", BROKER_SCRAM_MALFORMED },
		{ "n,,n=us=er,r=abc", BROKER_SCRAM_MALFORMED },  /* '=' not as =2C or =3D */
		{ "n,,n=user", BROKER_SCRAM_MALFORMED },
		{ "n,,n=user,r=", BROKER_SCRAM_MALFORMED },
		{ "n,,n=user,r=a b", BROKER_SCRAM_MALFORMED },   /* a nonce is printable, no space */
		{ "n,,n=user,nonce", BROKER_SCRAM_MALFORMED },
		/* A ',' is always followed by another attribute: no trailing comma. */
		{ "n,,n=user,r=abc,", BROKER_SCRAM_MALFORMED },
		{ "n,,n=user,", BROKER_SCRAM_MALFORMED },
		{ "n,,n=user,r=abc,x=ext,", BROKER_SCRAM_MALFORMED },
		{ "n,,n=user,r=abc,x=ext,y=2", BROKER_SCRAM_OK },
		{ "n,,n=user,r=abc,junk", BROKER_SCRAM_MALFORMED }, /* an extension is X=value */
		{ "n,,n=user,r=abc,1=x", BROKER_SCRAM_MALFORMED },  /* ... X a letter */
	};
	char why[200], final[64];
	for (size_t i = 0; i < sizeof firsts / sizeof firsts[0]; i++) {
		broker_scram s = { 0 };
		why[0] = 0;
		int rc = broker__scram_client_first(&s, U(firsts[i].first), strlen(firsts[i].first), why, sizeof why);
		ck_assert_msg(rc == firsts[i].rc, "'%s': %d, expected %d (%s)", firsts[i].first, rc, firsts[i].rc, why);
		ck_assert_msg(rc == BROKER_SCRAM_OK || why[0], "'%s': refused without a reason", firsts[i].first);
		broker__scram_clear(&s);
	}
	static const struct { const char *final; int rc; } finals[] = {
		{ V_CLIENT_FINAL, BROKER_SCRAM_OK },
		{ "c=eSws,r=" V_CNONCE V_SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", BROKER_SCRAM_MALFORMED }, /* "y,," */
		{ "c=biws,r=" V_CNONCE "X,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", BROKER_SCRAM_NONCE },
		{ "c=biws,r=" V_CNONCE V_SNONCE ",p=AAAA", BROKER_SCRAM_MALFORMED },       /* 3-byte proof */
		{ "c=biws,r=" V_CNONCE V_SNONCE, BROKER_SCRAM_MALFORMED },                  /* no proof */
		{ "r=" V_CNONCE V_SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", BROKER_SCRAM_MALFORMED },
		{ "c=biws,r=" V_CNONCE V_SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1", BROKER_SCRAM_MALFORMED },
		{ "c=bi!s,r=" V_CNONCE V_SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", BROKER_SCRAM_MALFORMED },
		{ "c=biws,r=" V_CNONCE V_SNONCE ",p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", BROKER_SCRAM_PROOF },
		{ V_CLIENT_FINAL ",", BROKER_SCRAM_MALFORMED },                            /* trailing comma */
		{ "c=biws,r=" V_CNONCE V_SNONCE ",,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", BROKER_SCRAM_MALFORMED },
	};
	uint8_t salt[16], stored[32], server[32];
	vector_keys(salt, stored, server);
	for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
		broker_scram s = { 0 };
		broker__scram_client_first(&s, U(V_CLIENT_FIRST), strlen(V_CLIENT_FIRST), why, sizeof why);
		broker__scram_server_first(&s, V_SNONCE, salt, 16, 4096, stored, server);
		why[0] = 0;
		int rc = broker__scram_client_final(&s, U(finals[i].final), strlen(finals[i].final), final,
						    sizeof final, why, sizeof why);
		ck_assert_msg(rc == finals[i].rc, "row %zu: %d, expected %d (%s)", i, rc, finals[i].rc, why);
		/* A finished exchange takes no second client-final. */
		ck_assert_int_eq(broker__scram_client_final(&s, U(V_CLIENT_FINAL), strlen(V_CLIENT_FINAL), final,
							    sizeof final, why, sizeof why),
				 BROKER_SCRAM_MALFORMED);
		broker__scram_clear(&s);
	}
}
END_TEST

/* ---- through the simulation shell ------------------------------------------------------- */

static sim_world *w;
static sim_host *bh;
static broker_sim *bs;
static broker_file_auth *fauth;
static broker_config cfg;

#define CAPS "receive_max=65535 topic_alias_max=10 max_packet_size=1048576"
#define METHOD "SCRAM-SHA-256"

static void e2e_setup(void)
{
	uint8_t salt[16], salted[32];
	vector_salted(salt, salted);
	char a[300], b[300], text[700], err[200] = "";
	static const uint8_t salt2[16] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6 };
	broker_auth_format(a, sizeof a, "user", U("pencil"), 6, salt, 16, 4096, err, sizeof err);
	broker_auth_format(b, sizeof b, "alice", U("s3cret"), 6, salt2, 16, 1000, err, sizeof err);
	snprintf(text, sizeof text, "%s\n%s\n", a, b);
	fauth = broker_auth_parse("passwd", text, strlen(text), NULL, NULL, 0, err, sizeof err);
	ck_assert_msg(fauth != NULL, "%s", err);
	broker_config_init(&cfg);
	cfg.sys_interval_s = 0;
	cfg.auth = broker_auth_get(fauth);
	w = NULL;
	bs = NULL;
}

static void start(uint64_t seed)
{
	w = sim_world_new(seed);
	sim_link l = { .latency_us = 1 * MS };
	sim_net_set_default(w, &l);
	bh = sim_host_add(w, "broker");
	bs = broker_sim_start(w, bh, PORT, &cfg);
}

static void e2e_teardown(void)
{
	if (bs)
		broker_sim_free(bs);
	bs = NULL;
	if (w)
		sim_world_free(w);
	w = NULL;
	broker_auth_free(fauth);
	fauth = NULL;
}

/* A packet line as the printer shows it: head, then the Authentication Method (method set),
 * Authentication Data (its length), Reason String (cut after 64 bytes, quotes escaped),
 * and the data's text as tclient adds it. */
static void expect_line(tclient *c, const char *head, bool method, const char *data, const char *why)
{
	char want[1400];
	size_t n = (size_t)snprintf(want, sizeof want, "%s", head);
	if (method)
		n += (size_t)snprintf(want + n, sizeof want - n, " auth_method=\"" METHOD "\"");
	if (data)
		n += (size_t)snprintf(want + n, sizeof want - n, " auth_data=%zuB", strlen(data));
	if (why) {
		n += (size_t)snprintf(want + n, sizeof want - n, " reason_string=\"");
		for (size_t i = 0; why[i]; i++) {
			if (i == 64) {
				n += (size_t)snprintf(want + n, sizeof want - n, "...");
				break;
			}
			if (why[i] == '"')
				want[n++] = '\\';
			want[n++] = why[i];
		}
		want[n++] = '"';
		want[n] = 0;
	}
	if (data)
		snprintf(want + n, sizeof want - n, " data=\"%s\"", data);
	TC_EXPECT(c, want);
}

#define H86 "CONNACK session_present=0 reason=134 (Bad User Name or Password)"
#define H87 "CONNACK session_present=0 reason=135 (Not authorized)"
#define H82 "CONNACK session_present=0 reason=130 (Protocol Error)"
#define H8C "CONNACK session_present=0 reason=140 (Bad authentication method)"
#define PROOF "SCRAM proof does not match: wrong password or unknown user"

/* CONNECT (5.0) with an Authentication Method and Data, and a user name (NULL: none). */
static tclient *connect_auth(const char *host, const char *id, const char *method, const char *data,
			     const char *user)
{
	tclient *c = tc_new(w, host, bh, PORT);
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V5 };
	p.connect.client_id = (mqtt_str){ U(id), (uint32_t)strlen(id) };
	p.connect.clean_start = true;
	if (user) {
		p.connect.has_username = true;
		p.connect.username = (mqtt_str){ U(user), (uint32_t)strlen(user) };
	}
	p.props.auth_method = (mqtt_str){ U(method), (uint32_t)strlen(method) };
	MQTT_SET(&p.props, MQTT_PROP_AUTH_METHOD);
	if (data) {
		p.props.auth_data = (mqtt_str){ U(data), (uint32_t)strlen(data) };
		MQTT_SET(&p.props, MQTT_PROP_AUTH_DATA);
	}
	c->version = MQTT_V5;
	tc_send(c, &p);
	tc_run(w, 10 * MS);
	return c;
}

static void send_auth(tclient *c, uint8_t reason, const char *method, const char *data)
{
	mqtt_packet p = { .type = MQTT_AUTH, .version = MQTT_V5, .reason = reason };
	p.props.auth_method = (mqtt_str){ U(method), (uint32_t)strlen(method) };
	MQTT_SET(&p.props, MQTT_PROP_AUTH_METHOD);
	if (data) {
		p.props.auth_data = (mqtt_str){ U(data), (uint32_t)strlen(data) };
		MQTT_SET(&p.props, MQTT_PROP_AUTH_DATA);
	}
	tc_send(c, &p);
	tc_run(w, 10 * MS);
}

/* The next line must be AUTH 0x18 carrying a server-first for our nonce; returns it. */
static const char *expect_challenge(tclient *c, const char *cnonce)
{
	const char *got = tc_next(c);
	char want[200];
	snprintf(want, sizeof want, "AUTH reason=0x18 (Continue authentication) auth_method=\"" METHOD
		 "\" auth_data=%zuB data=\"r=%s", strlen(c->auth_data), cnonce);
	ck_assert_msg(got && !strncmp(got, want, strlen(want)), "expected\n  %s...\ngot\n  %s", want,
		      got ? got : "(nothing)");
	return c->auth_data;
}

/* A whole first exchange as user/password; the CONNACK line must be want_connack (with
 * "%s" for the server-final's length and text when it succeeds). */
static tclient *scram_login(const char *host, const char *id, const char *user, const char *pw,
			    scram_client *sc)
{
	char first[256], final[SCRAM_CLIENT_MSG];
	scram_client_first(sc, NULL, user, "c1ientnonce", first, sizeof first);
	tclient *c = connect_auth(host, id, METHOD, first, NULL);
	const char *sf = expect_challenge(c, "c1ientnonce");
	ck_assert_int_gt(scram_client_final(sc, pw, U(sf), strlen(sf), final, sizeof final), 0);
	send_auth(c, 0x18, METHOD, final);
	return c;
}

#define OK_LINE(data) "CONNACK session_present=0 reason=0 (Success) auth_method=\"" METHOD "\" auth_data=46B " CAPS " data=\"" data "\""

static void expect_ok(tclient *c, const scram_client *sc)
{
	const char *got = tc_next(c);
	char want[1400];
	snprintf(want, sizeof want, OK_LINE("%s"), c->auth_data);
	ck_assert_msg(got && !strcmp(got, want), "expected\n  %s\ngot\n  %s", want, got ? got : "(nothing)");
	/* The server proved it knows the keys too (RFC 5802 §3, ServerSignature). */
	ck_assert_int_eq(scram_client_verify(sc, U(c->auth_data), strlen(c->auth_data)), 0);
}

START_TEST(test_scram_success)
{
	start(7);
	scram_client sc;
	tclient *c = scram_login("c", "dev1", "user", "pencil", &sc);
	expect_ok(c, &sc);
	/* Connected like any client. */
	tc_subscribe(c, 1, "t/#", 1);
	tc_publish(c, "t/a", "hi", 1, false, 2);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "SUBACK id=1 codes=0x01");
	TC_EXPECT(c, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"t/a\" payload=2B");
	TC_EXPECT(c, "PUBACK id=2 reason=0x00 (Success)");
	TC_EXPECT_NOTHING(c);
	ck_assert(!c->closed);
	/* The nonce comes from the broker's seeded stream: the same seed, the same challenge. */
	char sf1[1024];
	tclient *d = connect_auth("d", "dev2", METHOD, "n,,n=alice,r=xyz", NULL);
	snprintf(sf1, sizeof sf1, "%s", expect_challenge(d, "xyz"));
	tc_free(c);
	tc_free(d);
	broker_sim_free(bs);
	sim_world_free(w);
	start(7);
	c = scram_login("c", "dev1", "user", "pencil", &sc);
	expect_ok(c, &sc);
	d = connect_auth("d", "dev2", METHOD, "n,,n=alice,r=xyz", NULL);
	ck_assert_str_eq(expect_challenge(d, "xyz"), sf1);
	/* alice's salt and count are hers (salt 09 08 07 ..., 1000 rounds). */
	ck_assert_msg(strstr(sf1, ",s=CQgHBgUEAwIBAAECAwQFBg==,i=1000"), "%s", sf1);
	tc_free(c);
	tc_free(d);
}
END_TEST

START_TEST(test_scram_wrong_password)
{
	start(7);
	scram_client sc;
	tclient *c = scram_login("c", "dev1", "user", "pencil!", &sc);
	/* [MQTT-4.12.0-4]: refused with a CONNACK of 0x80 or more, and closed. */
	expect_line(c, H86, true, "e=invalid-proof", PROOF);
	TC_EXPECT_NOTHING(c);
	ck_assert(c->closed);
	/* An unknown user gets a challenge like a real one, stable for its name, and the
	 * same refusal at the proof. */
	tclient *d = scram_login("d", "dev2", "mallory", "x", &sc);
	expect_line(d, H86, true, "e=invalid-proof", PROOF);
	ck_assert(d->closed);
	tclient *e = connect_auth("e", "dev3", METHOD, "n,,n=mallory,r=abc", NULL);
	const char *sf = expect_challenge(e, "abc");
	const char *salt1 = strstr(sf, ",s=");
	ck_assert_ptr_nonnull(salt1);
	ck_assert_msg(strstr(salt1, ",i=10000"), "%s", sf);
	char keep[200];
	snprintf(keep, sizeof keep, "%s", salt1);
	tclient *f = connect_auth("f", "dev4", METHOD, "n,,n=mallory,r=abc", NULL);
	ck_assert_str_eq(strstr(expect_challenge(f, "abc"), ",s="), keep);
	tc_free(c);
	tc_free(d);
	tc_free(e);
	tc_free(f);
}
END_TEST

START_TEST(test_scram_unknown_method)
{
	start(7);
	/* [MQTT-4.12.0-1]: CONNACK 0x8C and close; the method is not repeated (4.12.0-5
	 * asks it of a successful CONNACK only). */
	tclient *c = connect_auth("c", "dev1", "SCRAM-SHA-1", "n,,n=user,r=abc", NULL);
	expect_line(c, H8C, false, NULL, "authentication method 'SCRAM-SHA-1' is not supported (only SCRAM-SHA-256)");
	TC_EXPECT_NOTHING(c);
	ck_assert(c->closed);
	tc_free(c);
	broker_sim_free(bs);
	sim_world_free(w);
	/* Without a password file there is nothing to check a proof against. */
	cfg.auth = NULL;
	start(7);
	c = connect_auth("c", "dev1", METHOD, "n,,n=user,r=abc", NULL);
	expect_line(c, H8C, false, NULL, "SCRAM-SHA-256 needs a password file (--passwd)");
	ck_assert(c->closed);
	tc_free(c);
}
END_TEST

START_TEST(test_scram_reauth)
{
	start(7);
	scram_client sc;
	tclient *c = scram_login("c", "dev1", "user", "pencil", &sc);
	expect_ok(c, &sc);
	/* Re-authentication [MQTT-4.12.1-1]: AUTH 0x19 with the same method. */
	char first[256], final[SCRAM_CLIENT_MSG];
	scram_client_first(&sc, NULL, "user", "again", first, sizeof first);
	send_auth(c, 0x19, METHOD, first);
	const char *sf = expect_challenge(c, "again");
	/* The connection goes on meanwhile. */
	tc_send_hex(c, "c0 00");
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "PINGRESP");
	ck_assert_int_gt(scram_client_final(&sc, "pencil", U(sf), strlen(sf), final, sizeof final), 0);
	send_auth(c, 0x18, METHOD, final);
	char want[1400];
	TC_EXPECT(c, (snprintf(want, sizeof want,
			       "AUTH reason=0x00 (Success) auth_method=\"" METHOD "\" auth_data=46B data=\"%s\"",
			       c->auth_data),
		      want));
	ck_assert_int_eq(scram_client_verify(&sc, U(c->auth_data), strlen(c->auth_data)), 0);
	/* A failed one ends the connection: DISCONNECT 0x87 (0x86 is not a DISCONNECT code)
	 * [MQTT-4.12.1-2]. */
	scram_client_first(&sc, NULL, "user", "third", first, sizeof first);
	send_auth(c, 0x19, METHOD, first);
	sf = expect_challenge(c, "third");
	ck_assert_int_gt(scram_client_final(&sc, "wrong", U(sf), strlen(sf), final, sizeof final), 0);
	send_auth(c, 0x18, METHOD, final);
	expect_line(c, "DISCONNECT reason=0x87 (Not authorized)", false, NULL, PROOF);
	TC_EXPECT_NOTHING(c);
	ck_assert(c->closed);
	/* Re-authenticating as someone else is refused at once. */
	tclient *d = scram_login("d", "dev2", "user", "pencil", &sc);
	expect_ok(d, &sc);
	send_auth(d, 0x19, METHOD, "n,,n=alice,r=abc");
	expect_line(d, "DISCONNECT reason=0x87 (Not authorized)", false, NULL,
		    "SCRAM user name differs from the connection's user name");
	ck_assert(d->closed);
	tc_free(c);
	tc_free(d);
}
END_TEST

START_TEST(test_scram_protocol_errors)
{
	start(7);
	/* A client-first that is not SCRAM: CONNACK 0x82. */
	tclient *c = connect_auth("c", "d1", METHOD, "x,,n=user,r=abc", NULL);
	expect_line(c, H82, true, NULL, "SCRAM client-first-message must start with \"n,\", \"y,\" or \"p=\"");
	ck_assert(c->closed);
	tc_free(c);
	/* No Authentication Data at all. */
	c = connect_auth("c", "d1", METHOD, NULL, NULL);
	expect_line(c, H82, true, NULL, "SCRAM-SHA-256 needs the client-first-message as Authentication Data");
	tc_free(c);
	/* Before CONNACK only AUTH or DISCONNECT [MQTT-3.1.2-30]. */
	c = connect_auth("c", "d1", METHOD, "n,,n=user,r=abc", NULL);
	expect_challenge(c, "abc");
	tc_publish(c, "t", "x", 0, false, 0);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, H82);
	TC_EXPECT_NOTHING(c);
	ck_assert(c->closed);
	tc_free(c);
	/* AUTH naming another method [MQTT-4.12.0-5]. */
	c = connect_auth("c", "d1", METHOD, "n,,n=user,r=abc", NULL);
	expect_challenge(c, "abc");
	send_auth(c, 0x18, "SCRAM-SHA-1", "c=biws,r=abc,p=AAAA");
	expect_line(c, H8C, false, NULL, "AUTH names another authentication method than CONNECT");
	ck_assert(c->closed);
	tc_free(c);
	/* Re-authenticate before CONNACK. */
	c = connect_auth("c", "d1", METHOD, "n,,n=user,r=abc", NULL);
	expect_challenge(c, "abc");
	send_auth(c, 0x19, METHOD, "n,,n=user,r=abc");
	expect_line(c, H82, true, NULL, "AUTH 0x19 before CONNACK");
	tc_free(c);
	/* A client-final whose channel binding is not its GS2 header. */
	c = connect_auth("c", "d1", METHOD, "n,,n=user,r=abc", NULL);
	expect_challenge(c, "abc");
	char bad[300];
	snprintf(bad, sizeof bad, "c=eSws,%.*s,p=%s", (int)(strchr(c->auth_data, ',') - c->auth_data), c->auth_data,
		 "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	send_auth(c, 0x18, METHOD, bad);
	expect_line(c, H82, true, NULL, "SCRAM client-final-message: \"c=\" is not the GS2 header of client-first-message");
	tc_free(c);
	/* AUTH on a connection whose CONNECT named no method [MQTT-4.12.0-7]. */
	c = tc_new(w, "c", bh, PORT);
	tc_connect5(c, "plain", true, 0, NULL);
	tc_run(w, 10 * MS);
	TC_EXPECT(c, "CONNACK session_present=0 reason=0 (Success) " CAPS);
	send_auth(c, 0x19, METHOD, "n,,n=user,r=abc");
	expect_line(c, "DISCONNECT reason=0x82 (Protocol Error)", false, NULL,
		    "AUTH on a connection whose CONNECT named no authentication method");
	ck_assert(c->closed);
	tc_free(c);
	/* After CONNACK: another method, an unasked 0x18, a client's 0x00. */
#define D82 "DISCONNECT reason=0x82 (Protocol Error)"
	static const struct { uint8_t reason; const char *method, *want, *why; } rows[] = {
		{ 0x19, "SCRAM-SHA-1", "DISCONNECT reason=0x8C (Bad authentication method)",
		  "AUTH names another authentication method than CONNECT" },
		{ 0x18, METHOD, D82, "AUTH 0x18 without a challenge from the server" },
		{ 0x00, METHOD, D82, "AUTH 0x00 (success) from a client" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		scram_client sc;
		c = scram_login("c", "d1", "user", "pencil", &sc);
		expect_ok(c, &sc);
		send_auth(c, rows[i].reason, rows[i].method, "n,,n=user,r=abc");
		expect_line(c, rows[i].want, false, NULL, rows[i].why);
		ck_assert(c->closed);
		tc_free(c);
	}
	/* The bare AUTH (reason 0x00, no properties) decodes, but names no method. */
	scram_client sc;
	c = scram_login("c", "d1", "user", "pencil", &sc);
	expect_ok(c, &sc);
	tc_send_hex(c, "F0 00");
	tc_run(w, 10 * MS);
	expect_line(c, D82, false, NULL, "AUTH without an Authentication Method");
	ck_assert(c->closed);
	tc_free(c);
}
END_TEST

START_TEST(test_scram_nonce_and_binding)
{
	start(7);
	/* A client-final for another nonce, its proof made for it: refused, 0x87. */
	scram_client sc;
	char first[256], final[SCRAM_CLIENT_MSG], sf[1024];
	scram_client_first(&sc, NULL, "user", "abc", first, sizeof first);
	tclient *c = connect_auth("c", "d1", METHOD, first, NULL);
	snprintf(sf, sizeof sf, "%s", expect_challenge(c, "abc"));
	char *comma = strchr(sf, ',');
	memmove(comma + 1, comma, strlen(comma) + 1);
	*comma = 'Z'; /* r=abc<server>Z,s=...: still starts with our nonce */
	ck_assert_int_gt(scram_client_final(&sc, "pencil", U(sf), strlen(sf), final, sizeof final), 0);
	send_auth(c, 0x18, METHOD, final);
	expect_line(c, H87, true, "e=other-error", "SCRAM client-final-message names another nonce than server-first-message");
	ck_assert(c->closed);
	tc_free(c);
	/* 'y': the client could bind but thinks the server cannot - right, so it goes on. */
	scram_client_first(&sc, "y,,", "user", "abc", first, sizeof first);
	c = connect_auth("c", "d1", METHOD, first, NULL);
	const char *s2 = expect_challenge(c, "abc");
	ck_assert_int_gt(scram_client_final(&sc, "pencil", U(s2), strlen(s2), final, sizeof final), 0);
	ck_assert_msg(!strncmp(final, "c=eSws,", 7), "%s", final);
	send_auth(c, 0x18, METHOD, final);
	expect_ok(c, &sc);
	tc_free(c);
	/* 'p': channel binding asked for, which this method does not do (RFC 5802 §6). */
	c = connect_auth("c", "d1", METHOD, "p=tls-unique,,n=user,r=abc", NULL);
	expect_line(c, H87, true, "e=channel-binding-not-supported",
		    "SCRAM channel binding ('p=') is not supported: use SCRAM-SHA-256 without -PLUS");
	ck_assert(c->closed);
	tc_free(c);
	/* A CONNECT user name that is not the SCRAM user. */
	c = connect_auth("c", "d1", METHOD, "n,,n=user,r=abc", "alice");
	expect_line(c, H87, true, NULL, "SCRAM user name differs from the CONNECT's user name");
	ck_assert(c->closed);
	tc_free(c);
}
END_TEST

Suite *scram_suite(void)
{
	Suite *s = suite_create("scram");
	TCase *t = tcase_create("messages");
	tcase_add_test(t, test_rfc7677_server);
	tcase_add_test(t, test_rfc7677_client);
	tcase_add_test(t, test_passwd_keeps_server_keys);
	tcase_add_test(t, test_passwd_v1_refused_and_upgraded);
	tcase_add_test(t, test_base64);
	tcase_add_test(t, test_scram_rejects);
	tcase_set_timeout(t, 30); /* PBKDF2 under sanitizers */
	suite_add_tcase(s, t);
	t = tcase_create("flow");
	tcase_add_checked_fixture(t, e2e_setup, e2e_teardown);
	tcase_add_test(t, test_scram_success);
	tcase_add_test(t, test_scram_wrong_password);
	tcase_add_test(t, test_scram_unknown_method);
	tcase_add_test(t, test_scram_reauth);
	tcase_add_test(t, test_scram_protocol_errors);
	tcase_add_test(t, test_scram_nonce_and_binding);
	tcase_set_timeout(t, 30);
	suite_add_tcase(s, t);
	return s;
}
