/*
 * handle_auth.c - MQTT 5.0 enhanced authentication (§4.12, §3.15): a CONNECT naming an
 * Authentication Method, the AUTH packets that follow it, and re-authentication on a live
 * connection. One method is built, SCRAM-SHA-256 (auth_scram.c), over the credentials
 * broker_auth.scram_lookup gives (the password file's StoredKey and ServerKey).
 *
 *   CONNECT  method, client-first        ->
 *                                        <-  AUTH 0x18 method, server-first  [MQTT-4.12.0-2]
 *   AUTH 0x18 method, client-final       ->                                  [MQTT-4.12.0-3]
 *                                        <-  CONNACK 0x00 method, server-final [MQTT-4.12.0-5]
 *                                            or CONNACK 0x86 / 0x87 / 0x82, close [MQTT-4.12.0-4]
 *   later: AUTH 0x19 method, client-first -> ... <- AUTH 0x00 method, server-final
 *                                            or DISCONNECT 0x87 / 0x82      [MQTT-4.12.1-2]
 *
 * Reason codes: an unknown method (or none the broker can run: no password file, no random
 * source) CONNACK 0x8C [MQTT-4.12.0-1], and an AUTH naming another method than the
 * CONNECT's CONNACK or DISCONNECT 0x8C (it does not match the method in use); a wrong proof or an unknown user 0x86 (bad user
 * name or password) at connect; a nonce that is not the server's, channel binding asked
 * for, or a SCRAM user other than the CONNECT's user name 0x87 (not authorized); a SCRAM
 * message that does not parse, and AUTH out of turn, 0x82 (protocol error). A failed
 * re-authentication is DISCONNECT 0x87 (0x86 is not a DISCONNECT reason) or 0x82.
 */
#include "broker/auth.h"
#include "broker/core.h"
#include "broker/scram.h"
#include "mqtt/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_BYTES 18 /* 24 Base64 characters of server nonce */

void broker__auth_conn_free(conn *c)
{
	if (c->scram) {
		broker__scram_clear(c->scram);
		free(c->scram);
		c->scram = NULL;
	}
	free(c->auth_method);
	free(c->connect_raw);
	free(c->auth_final);
	c->auth_method = NULL;
	c->connect_raw = NULL;
	c->auth_final = NULL;
}

static void end_exchange(conn *c)
{
	if (c->scram) {
		broker__scram_clear(c->scram);
		free(c->scram);
		c->scram = NULL;
	}
}

/* Before CONNACK: CONNACK with the reason, then close; no will, no session began. */
static void refuse(broker *b, conn *c, uint8_t reason, const char *why, const char *data)
{
	mqtt_packet r = { .type = MQTT_CONNACK, .version = MQTT_V5, .reason = reason };
	if (why && broker__core_reason_ok(c)) {
		r.props.reason_string = (mqtt_str){ (const uint8_t *)why, (uint32_t)strlen(why) };
		MQTT_SET(&r.props, MQTT_PROP_REASON_STRING);
	}
	if (c->auth_method && reason != 0x8C) {
		r.props.auth_method = (mqtt_str){ (const uint8_t *)c->auth_method, (uint32_t)strlen(c->auth_method) };
		MQTT_SET(&r.props, MQTT_PROP_AUTH_METHOD);
		if (data) { /* SCRAM's "e=..." server-final, RFC 5802 §7 */
			r.props.auth_data = (mqtt_str){ (const uint8_t *)data, (uint32_t)strlen(data) };
			MQTT_SET(&r.props, MQTT_PROP_AUTH_DATA);
		}
	}
	broker__core_send(b, c, &r);
	broker__core_log(b, "refused %s: %s (CONNACK 0x%02X)", c->peer, why, reason);
	broker__core_close(b, c, false, "authentication failed");
}

/* A failed exchange: a refused CONNECT before CONNACK, a DISCONNECT after it. */
static void fail(broker *b, conn *c, uint8_t reason, const char *why, const char *data)
{
	end_exchange(c);
	if (reason == 0x82)
		b->st.protocol_errors++;
	if (c->state == CONN_NEW) {
		refuse(b, c, reason, why, data);
		return;
	}
	/* Re-authentication failed [MQTT-4.12.1-2]; DISCONNECT has no 0x86. */
	broker__core_log(b, "re-authentication of client=%s failed: %s", c->s ? c->s->client_id : "-", why);
	broker__core_disconnect(b, c, reason == 0x86 ? 0x87 : reason, why);
}

static void send_auth(broker *b, conn *c, uint8_t reason, const char *data)
{
	mqtt_packet a = { .type = MQTT_AUTH, .version = MQTT_V5, .reason = reason };
	a.props.auth_method = (mqtt_str){ (const uint8_t *)c->auth_method, (uint32_t)strlen(c->auth_method) };
	MQTT_SET(&a.props, MQTT_PROP_AUTH_METHOD); /* [MQTT-4.12.0-5] */
	a.props.auth_data = (mqtt_str){ (const uint8_t *)data, (uint32_t)strlen(data) };
	MQTT_SET(&a.props, MQTT_PROP_AUTH_DATA);
	broker__core_send(b, c, &a);
}

static bool is_method(const mqtt_str *m, const char *name)
{
	return m->len == strlen(name) && !memcmp(m->data, name, m->len);
}

/* The client's first SCRAM message (from CONNECT or AUTH 0x19): answer server-first. */
static void scram_start(broker *b, conn *c, const mqtt_props *pp, const char *connect_user)
{
	char why[200];
	c->scram = mqtt_xcalloc(1, sizeof *c->scram);
	broker_scram *s = c->scram;
	if (!MQTT_HAS(pp, MQTT_PROP_AUTH_DATA)) {
		fail(b, c, 0x82, "SCRAM-SHA-256 needs the client-first-message as Authentication Data", NULL);
		return;
	}
	int rc = broker__scram_client_first(s, pp->auth_data.data, pp->auth_data.len, why, sizeof why);
	if (rc == BROKER_SCRAM_MALFORMED) {
		fail(b, c, 0x82, why, NULL);
		return;
	}
	if (rc != BROKER_SCRAM_OK) {
		fail(b, c, 0x87, why, rc == BROKER_SCRAM_UNSUPPORTED && strstr(why, "channel")
					     ? "e=channel-binding-not-supported" : NULL);
		return;
	}
	/* The SCRAM user is the connection's user: the CONNECT's user name, if it has one,
	 * and on re-authentication the one authenticated before. */
	if (connect_user && strcmp(connect_user, s->user)) {
		snprintf(why, sizeof why, "SCRAM user name differs from the %s user name",
			 c->state == CONN_NEW ? "CONNECT's" : "connection's");
		fail(b, c, 0x87, why, NULL);
		return;
	}
	uint8_t salt[BROKER_SCRAM_MAX_SALT], stored[SHA256_LEN], server[SHA256_LEN];
	size_t salt_len = sizeof salt;
	uint32_t iterations = 0;
	const broker_auth *au = b->cfg.auth;
	if (au->scram_lookup(au->ctx, s->user, salt, &salt_len, &iterations, stored, server) != 0 ||
	    salt_len == 0 || salt_len > sizeof salt || iterations == 0) {
		/* Unknown user: values made up from a secret of the broker's, stable per name,
		 * so asking twice does not tell a made-up salt from a real one; the proof fails. */
		if (!b->scram_secret_set) {
			b->env.rand_bytes(b->env.ctx, b->scram_secret, sizeof b->scram_secret);
			b->scram_secret_set = true;
		}
		size_t un = strlen(s->user);
		char *m = mqtt_xmalloc(un + 6);
		memcpy(m, "salt:", 5);
		memcpy(m + 5, s->user, un + 1);
		uint8_t h[SHA256_LEN];
		broker_sha256_hmac(b->scram_secret, sizeof b->scram_secret, m, un + 5, h);
		salt_len = BROKER_AUTH_SALT_LEN;
		memcpy(salt, h, salt_len);
		/* A made-up StoredKey: no proof hashes to it; ServerKey is never used then. */
		memcpy(m, "keys:", 5);
		broker_sha256_hmac(b->scram_secret, sizeof b->scram_secret, m, un + 5, stored);
		memcpy(server, stored, sizeof server);
		iterations = BROKER_AUTH_ITERATIONS;
		free(m);
	}
	uint8_t raw[NONCE_BYTES];
	char snonce[4 * ((NONCE_BYTES + 2) / 3) + 1];
	b->env.rand_bytes(b->env.ctx, raw, sizeof raw);
	broker__base64_encode(raw, sizeof raw, snonce);
	const char *sf = broker__scram_server_first(s, snonce, salt, salt_len, iterations, stored, server);
	broker_sha256_wipe(stored, sizeof stored);
	broker_sha256_wipe(server, sizeof server);
	send_auth(b, c, 0x18, sf); /* [MQTT-4.12.0-2] */
}

void broker__auth_begin(broker *b, conn *c, const mqtt_packet *p)
{
	const mqtt_props *pp = &p->props;
	free(c->auth_method);
	c->auth_method = mqtt_xstrndup((const char *)pp->auth_method.data, pp->auth_method.len);
	if (!is_method(&pp->auth_method, BROKER_SCRAM_METHOD)) {
		char why[160];
		snprintf(why, sizeof why, "authentication method '%.64s' is not supported (only %s)",
			 c->auth_method, BROKER_SCRAM_METHOD);
		fail(b, c, 0x8C, why, NULL); /* [MQTT-4.12.0-1] */
		return;
	}
	if (!b->cfg.auth || !b->cfg.auth->scram_lookup || !b->env.rand_bytes) {
		fail(b, c, 0x8C, !b->env.rand_bytes ? "SCRAM-SHA-256 needs a random source, and this broker has none"
						    : "SCRAM-SHA-256 needs a password file (--passwd)", NULL);
		return;
	}
	/* The CONNECT is handled once the exchange succeeds, as received. */
	free(c->connect_raw);
	c->connect_raw = mqtt_xmalloc(c->in_raw_len);
	memcpy(c->connect_raw, c->in_raw, c->in_raw_len);
	c->connect_raw_len = c->in_raw_len;
	char *user = p->connect.has_username
			     ? mqtt_xstrndup((const char *)p->connect.username.data, p->connect.username.len)
			     : NULL;
	scram_start(b, c, pp, user);
	free(user);
}

/* client-final: check it, and on success finish the CONNECT or the re-authentication. */
static void scram_finish(broker *b, conn *c, const mqtt_props *pp)
{
	char why[200], final[64];
	if (!MQTT_HAS(pp, MQTT_PROP_AUTH_DATA)) {
		fail(b, c, 0x82, "AUTH 0x18 without the SCRAM client-final-message as Authentication Data", NULL);
		return;
	}
	int rc = broker__scram_client_final(c->scram, pp->auth_data.data, pp->auth_data.len, final,
					    sizeof final, why, sizeof why);
	if (rc == BROKER_SCRAM_MALFORMED) {
		fail(b, c, 0x82, why, NULL);
		return;
	}
	if (rc == BROKER_SCRAM_NONCE) {
		fail(b, c, 0x87, why, "e=other-error");
		return;
	}
	if (rc != BROKER_SCRAM_OK) {
		fail(b, c, 0x86, why, "e=invalid-proof");
		return;
	}
	char *user = mqtt_xstrndup(c->scram->user, strlen(c->scram->user));
	end_exchange(c);
	if (c->state == CONN_UP) {
		broker__core_log(b, "re-authenticated client=%s user=%s", c->s ? c->s->client_id : "-", user);
		free(user);
		send_auth(b, c, 0x00, final);
		return;
	}
	/* The CONNECT's second pass, authenticated: its CONNACK carries server-final. */
	free(c->username);
	c->username = user;
	free(c->auth_final);
	c->auth_final = mqtt_xstrndup(final, strlen(final));
	c->auth_answered = true;
	c->auth_rc = 0;
	uint8_t *raw = c->connect_raw;
	size_t len = c->connect_raw_len;
	c->connect_raw = NULL;
	mqtt_packet p;
	mqtt_err e;
	if (mqtt_decode(raw, len, MQTT_V5, 0, &p, &e) == (int)len)
		broker__handle_connect(b, c, &p);
	else
		fail(b, c, 0x80, "the CONNECT kept for authentication no longer decodes", NULL);
	free(raw);
}

void broker__handle_auth(broker *b, conn *c, const mqtt_packet *p)
{
	const mqtt_props *pp = &p->props;
	if (!c->auth_method) {
		/* No Authentication Method in CONNECT: no AUTH from the client [MQTT-4.12.0-7]. */
		fail(b, c, 0x82, "AUTH on a connection whose CONNECT named no authentication method", NULL);
		return;
	}
	if (!MQTT_HAS(pp, MQTT_PROP_AUTH_METHOD)) {
		/* AUTH must name its method (5.0 §3.15.2.2.2: leaving it out is a Protocol Error). */
		fail(b, c, 0x82, "AUTH without an Authentication Method", NULL);
		return;
	}
	if (!is_method(&pp->auth_method, c->auth_method)) {
		/* The method stays the CONNECT's [MQTT-4.12.0-5, MQTT-4.12.1-1]; one that does
		 * not match the method in use is what 0x8C, Bad authentication method, is for
		 * (5.0 §3.2.2.2, §3.14.2.1): CONNACK 0x8C before CONNACK, DISCONNECT 0x8C after. */
		fail(b, c, 0x8C, "AUTH names another authentication method than CONNECT", NULL);
		return;
	}
	switch (p->reason) {
	case 0x19: /* Re-authenticate, only after CONNACK and one at a time [MQTT-4.12.1-1] */
		if (c->state != CONN_UP || c->scram) {
			fail(b, c, 0x82, c->state != CONN_UP ? "AUTH 0x19 before CONNACK"
							     : "AUTH 0x19 while an authentication is under way", NULL);
			return;
		}
		scram_start(b, c, pp, c->username);
		return;
	case 0x18: /* Continue: the answer to the server's challenge [MQTT-4.12.0-3] */
		if (!c->scram || c->scram->step != 2) {
			fail(b, c, 0x82, "AUTH 0x18 without a challenge from the server", NULL);
			return;
		}
		scram_finish(b, c, pp);
		return;
	default: /* 0x00: only the server says an exchange succeeded */
		fail(b, c, 0x82, "AUTH 0x00 (success) from a client", NULL);
		return;
	}
}
