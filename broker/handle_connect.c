/*
 * handle_connect.c - CONNECT: client identifiers, authentication, session takeover,
 * clean and persistent sessions, the will, keepalive, CONNACK.
 */
#include "broker/core.h"
#include "mqtt/alloc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t sess_bucket(broker *b, const char *id)
{
	return (size_t)(broker__core_hash(id, strlen(id)) & (b->sess_buckets - 1));
}

session *broker__session_find(broker *b, const char *id)
{
	for (session *s = b->sess_hash[sess_bucket(b, id)]; s; s = s->hnext)
		if (!strcmp(s->client_id, id))
			return s;
	return NULL;
}

bool broker__session_set_owner(session *s, const char *username)
{
	uint8_t st = username ? OWNER_USER : OWNER_ANON;
	if (s->owner_state == st && (!username || !strcmp(s->owner, username)))
		return false;
	free(s->owner);
	s->owner = username ? mqtt_xstrndup(username, strlen(username)) : NULL;
	s->owner_state = st;
	return true;
}

/* May a CONNECT with this user name use the session? Its owner may; so may anyone for a
 * session recovered from a log written before sessions had owners (it becomes theirs). */
static bool owner_is(const session *s, const char *username)
{
	switch (s->owner_state) {
	case OWNER_ANON:
		return !username;
	case OWNER_USER:
		return username && !strcmp(s->owner, username);
	default:
		return true;
	}
}

/* ---- the expiry heap: offline sessions with a finite Session Expiry Interval ---------------- */

/* Keys (expiry, seq) are unique, so sessions expiring at one instant go in creation order,
 * whatever the heap's shape. */
void broker__session_expire_at(broker *b, session *s, int64_t at_us)
{
	s->exp.tie = s->seq;
	broker__bheap_set(&b->expiries, &s->exp, at_us);
}

void broker__session_detach(broker *b, session *s)
{
	if (s->expiry_s == SESSION_NEVER || (b->cfg.test_faults & BROKER_TF_SESSION_EXPIRY_IGNORED))
		return;
	/* The session ends that many seconds after its network connection closed
	 * [MQTT-3.1.2-23], on the broker's clock; the deadline is logged so a restart keeps it. */
	broker__session_expire_at(b, s, b->env.now_us(b->env.ctx) + (int64_t)s->expiry_s * 1000000);
	broker__persist_session(b, s, true);
}

int64_t broker__session_expire(broker *b, int64_t now_us)
{
	while (broker__bheap_next(&b->expiries) <= now_us) {
		session *s = (session *)((char *)broker__bheap_top(&b->expiries) - offsetof(session, exp));
		broker__core_log(b, "session %s expired (%u s after its connection closed)", s->client_id,
				 s->expiry_s);
		broker__session_free(b, s);
	}
	return broker__bheap_next(&b->expiries);
}

/* The interval the broker grants for the one a client asked for. */
static uint32_t expiry_grant(const broker *b, uint32_t asked)
{
	uint32_t cap = b->cfg.max_session_expiry_s;
	return cap && asked > cap ? cap : asked;
}

/* Set a connected session's interval. A session that was kept in the log and now ends with
 * its connection leaves the log at once (its disconnect must not bring it back after a
 * restart); a kept one records its new interval. */
static void session_set_expiry(broker *b, session *s, uint32_t expiry_s)
{
	bool clean = expiry_s == 0;
	if (clean && !s->clean)
		broker__persist_session(b, s, false);
	bool changed = s->expiry_s != expiry_s || s->exp.at != INT64_MAX;
	s->clean = clean;
	s->expiry_s = expiry_s;
	broker__session_expire_at(b, s, INT64_MAX);
	if (changed && !clean)
		broker__persist_session(b, s, true);
}

static session *session_new(broker *b, const char *id, uint32_t expiry_s, const conn *c)
{
	bool clean = expiry_s == 0;
	session *s = mqtt_xcalloc(1, sizeof *s);
	s->client_id = mqtt_xstrndup(id, strlen(id));
	if (c)
		broker__session_set_owner(s, c->username);
	s->seq = b->next_seq++;
	s->clean = clean;
	s->expiry_s = expiry_s;
	s->exp.at = INT64_MAX;
	s->inflight_tail = &s->inflight;
	s->queue_tail = &s->queue;
	BROKER_LIST_APPEND(b->sessions, b->sessions_tail, s, prev, next);
	size_t k = sess_bucket(b, id);
	s->hnext = b->sess_hash[k];
	b->sess_hash[k] = s;
	b->st.sessions++;
	broker__persist_session(b, s, true);
	return s;
}

session *broker__session_create_offline(broker *b, const char *id)
{
	return session_new(b, id, SESSION_NEVER, NULL);
}

void broker__session_free(broker *b, session *s)
{
	broker__persist_session(b, s, false);
	broker__session_expire_at(b, s, INT64_MAX);
	/* A will still waiting for its delay goes now: the session ends first [MQTT-3.1.2-8].
	 * Not while the log is replayed: its publication follows in the log (R_ENQ). */
	if (b->freeing || b->replaying)
		broker__will_cancel(b, s);
	else
		broker__will_fire(b, s);
	broker__shared_handoff(b, s);
	broker__subs_drop_session(b, s);
	broker__outmsg_free_list(s->inflight);
	broker__outmsg_free_list(s->queue);
	for (session **pp = &b->sess_hash[sess_bucket(b, s->client_id)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	}
	BROKER_LIST_UNLINK(b->sessions, b->sessions_tail, s, prev, next);
	if (s->c)
		s->c->s = NULL;
	b->st.sessions--;
	free(s->in_qos2);
	free(s->client_id);
	free(s->owner);
	free(s);
}

/* The 5.0 reason code for a 3.1.1 CONNACK return code (3.1.1 answers keep theirs). */
static uint8_t reason_v5(uint8_t rc)
{
	switch (rc) {
	case 0: return 0x00;
	case 1: return 0x84; /* unsupported protocol version */
	case 2: return 0x85; /* client identifier not valid */
	case 3: return 0x88; /* server unavailable */
	case 4: return 0x86; /* bad user name or password */
	case 5: return 0x87; /* not authorized */
	default: return rc >= 0x80 ? rc : 0x80;
	}
}

/* rc: a 3.1.1 return code, or (5.0 only) a 5.0 reason >= 0x80. props: 5.0 only. */
static void connack(broker *b, conn *c, uint8_t rc, bool present, const mqtt_props *props)
{
	mqtt_packet r = { .type = MQTT_CONNACK, .version = c->version, .reason = rc,
			  .session_present = present };
	if (c->version == MQTT_V5) {
		r.reason = reason_v5(rc);
		if (props)
			r.props = *props;
	}
	broker__core_send(b, c, &r);
}

static void refuse(broker *b, conn *c, uint8_t rc, const char *why)
{
	mqtt_props pr = { 0 };
	if (why && broker__core_reason_ok(c)) {
		pr.reason_string = (mqtt_str){ (const uint8_t *)why, (uint32_t)strlen(why) };
		MQTT_SET(&pr, MQTT_PROP_REASON_STRING);
	}
	connack(b, c, rc, false, &pr);
	if (c->version == MQTT_V5)
		broker__core_log(b, "refused %s: %s (CONNACK 0x%02X)", c->peer, why, reason_v5(rc));
	else
		broker__core_log(b, "refused %s: %s (CONNACK %u)", c->peer, why, rc);
	/* A refused connection is closed, and its will is never published [MQTT-3.2.2-5]. */
	broker__core_close(b, c, false, "refused");
}

void broker__handle_connect(broker *b, conn *c, const mqtt_packet *p)
{
	const mqtt_connect *k = &p->connect;
	const mqtt_props *cp = &p->props;
	bool v5 = c->version == MQTT_V5;
	char id[256];
	bool assigned = false;

	/* What the client asks for; 3.1.1 says it with the clean session flag alone. */
	uint32_t expiry = k->clean_start ? 0 : SESSION_NEVER;
	c->recv_max = 65535;
	c->max_out_packet = 0;
	c->problem_info = true;
	if (v5) {
		/* Absent, the interval is 0: the session ends with the connection (5.0 §3.1.2.11.2). */
		expiry = MQTT_HAS(cp, MQTT_PROP_SESSION_EXPIRY) ? cp->session_expiry : 0;
		if (MQTT_HAS(cp, MQTT_PROP_RECEIVE_MAX))
			c->recv_max = cp->receive_max; /* 0 is malformed; the codec refused it */
		if (MQTT_HAS(cp, MQTT_PROP_MAX_PACKET_SIZE))
			c->max_out_packet = cp->max_packet_size;
		if (MQTT_HAS(cp, MQTT_PROP_REQUEST_PROBLEM_INFO) && !(b->cfg.test_faults & BROKER_TF_PROBLEM_INFO_IGNORED))
			c->problem_info = cp->request_problem_info != 0;
	}
	c->expiry_zero_at_connect = expiry == 0;

	/* Enhanced authentication (5.0 §4.12): the exchange first; this CONNECT comes back
	 * with auth_answered once it succeeded, the user name SCRAM's (handle_auth.c). */
	if (v5 && MQTT_HAS(cp, MQTT_PROP_AUTH_METHOD) && !c->auth_answered &&
	    !(b->cfg.test_faults & BROKER_TF_AUTH_METHOD_IGNORED)) {
		broker__auth_begin(b, c, p);
		return;
	}

	if (k->client_id.len == 0) {
		if (!v5 && !k->clean_start) {
			/* A session needs a name to be found again [MQTT-3.1.3-8]. */
			refuse(b, c, 2, "empty client identifier with clean session 0");
			return;
		}
		/* The server names it, uniquely [MQTT-3.1.3-6]. */
		do
			snprintf(id, sizeof id, "mqttsim-auto-%llu", (unsigned long long)++b->assigned_ids);
		while (broker__session_find(b, id)); /* a client may have chosen this very name itself */
		/* 5.0: whatever its Clean Start, told the name in CONNACK [MQTT-3.1.3-7]. */
		assigned = v5;
	} else if (k->client_id.len >= sizeof id) {
		refuse(b, c, 2, "client identifier longer than 255 bytes");
		return;
	} else {
		memcpy(id, k->client_id.data, k->client_id.len);
		id[k->client_id.len] = 0;
	}

	if (v5 && k->will && k->will_qos > b->cfg.max_qos) {
		/* A will at a QoS the server does not take [MQTT-3.2.2-12]. */
		refuse(b, c, 0x9B, "will QoS above the server's Maximum QoS");
		return;
	}
	if (v5 && k->will && k->will_retain && !b->cfg.retain_available) {
		refuse(b, c, 0x9A, "retained will, but retain is not available"); /* [MQTT-3.2.2-13] */
		return;
	}

	uint8_t rc = 0;
	if (k->has_username && !c->username)
		c->username = mqtt_xstrndup((const char *)k->username.data, k->username.len);
	if (!c->username && !b->cfg.allow_anonymous)
		rc = 5;
	else if (c->auth_answered)
		rc = c->auth_rc; /* this CONNECT's second pass, with broker_on_auth()'s answer */
	else if (b->cfg.auth && b->cfg.auth->connect_start) {
		int r = b->cfg.auth->connect_start(b->cfg.auth->ctx, c->id, id, c->username,
						   k->has_password ? k->password.data : NULL,
						   k->has_password ? k->password.len : 0);
		if (r == BROKER_AUTH_PENDING) {
			c->auth_pending = true; /* broker_on_bytes keeps the CONNECT for later */
			return;
		}
		rc = r < 0 || r > 5 ? 5 : (uint8_t)r;
	} else if (b->cfg.auth && b->cfg.auth->connect)
		rc = (uint8_t)b->cfg.auth->connect(b->cfg.auth->ctx, id, c->username,
						   k->has_password ? k->password.data : NULL,
						   k->has_password ? k->password.len : 0);
	if (rc) {
		refuse(b, c, rc, rc == 4 ? "bad user name or password" : rc == 3 ? "server unavailable" : "not authorised");
		return;
	}

	/*
	 * A session belongs to the user name that created it (anonymous is a name of its own).
	 * With authentication on, a CONNECT under another name for a client id whose session
	 * exists - connected or not, clean session 0 or 1 - is refused with CONNACK 5: it
	 * neither inherits the session (subscriptions, queued messages) nor takes it over
	 * (closing the owner's connection) nor discards it (messages acknowledged to their
	 * publishers). The owner frees the id by connecting with clean session 1. MQTT 5.0
	 * section 5.4.2 asks a server to check that a client may use its client id; 3.1.1 has
	 * no such words, and CONNACK 5 (not authorised) is its answer. Without authentication
	 * a user name is only a claim, so it decides nothing here.
	 */
	session *s = broker__session_find(b, id);
	if (s && b->cfg.auth && !owner_is(s, c->username)) {
		char why[400];
		snprintf(why, sizeof why, "client id %s is a session of %s%s, not of %s%s", id,
			 s->owner ? "user " : "", s->owner ? s->owner : "an anonymous client",
			 c->username ? "user " : "", c->username ? c->username : "an anonymous client");
		refuse(b, c, 5, why);
		return;
	}

	/* Takeover: the older connection of this client is closed [MQTT-3.1.4-2]; a 5.0 one
	 * is told DISCONNECT 0x8E first [MQTT-3.1.4-3]. It did not say DISCONNECT, so its
	 * will goes out. */
	if (s && s->c && (b->cfg.test_faults & BROKER_TF_NO_TAKEOVER_DISCONNECT))
		broker__core_close(b, s->c, true, "session taken over");
	else if (s && s->c)
		broker__core_disconnect(b, s->c, 0x8E, "session taken over");
	s = broker__session_find(b, id); /* a clean session went with its connection */
	/* A connection for this client id before its Will Delay Interval passed: the will is
	 * not sent [MQTT-3.1.2-8, MQTT-3.1.3-9] (also when Clean Start discards the session). */
	if (s && !(b->cfg.test_faults & BROKER_TF_WILL_NOT_CANCELLED))
		broker__will_cancel(b, s);

	uint32_t granted = expiry_grant(b, expiry);
	bool present = false;
	if (k->clean_start) {
		if (s)
			broker__session_free(b, s); /* [MQTT-3.1.2-4] */
		s = session_new(b, id, granted, c);
	} else if (s) {
		present = true; /* [MQTT-3.2.2-2] */
		/* A session from an older log (no owner) becomes this user's; without
		 * authentication the last user name seen is kept, for a later restart with it. */
		if (broker__session_set_owner(s, c->username))
			broker__persist_session(b, s, true);
		session_set_expiry(b, s, granted);
	} else {
		s = session_new(b, id, granted, c);
	}
	s->c = c;
	c->s = s;
	c->state = CONN_UP;
	b->st.clients_connected++;

	if (k->will) {
		c->will = true;
		c->will_qos = k->will_qos;
		c->will_retain = k->will_retain;
		c->will_topic = mqtt_xstrndup((const char *)k->will_topic.data, k->will_topic.len);
		c->will_payload = mqtt_xmalloc(k->will_payload.len ? k->will_payload.len : 1);
		if (k->will_payload.len)
			memcpy(c->will_payload, k->will_payload.data, k->will_payload.len);
		c->will_payload_len = k->will_payload.len;
		if (v5) {
			const mqtt_props *wp = &k->will_props;
			c->will_msg = broker__msg_new(c->will_topic, k->will_topic.len, k->will_payload.data,
						      k->will_payload.len, k->will_qos, k->will_retain);
			broker__msg_set_props(c->will_msg, wp);
			c->will_has_expiry = MQTT_HAS(wp, MQTT_PROP_MESSAGE_EXPIRY);
			c->will_expiry_s = wp->message_expiry;
			c->will_delay_s = MQTT_HAS(wp, MQTT_PROP_WILL_DELAY) ? wp->will_delay : 0;
		}
	}
	uint16_t keepalive = k->keepalive_s;
	mqtt_props ack = { 0 };
	if (v5) {
		/* What the server announces (5.0 §3.2.2.3): its limits, what is not built yet
		 * as 0, and whatever it changed of what the client asked for. */
		uint16_t sk = b->cfg.server_keepalive_s;
		if (sk && (keepalive == 0 || keepalive > sk)) {
			keepalive = sk; /* the client must use it [MQTT-3.2.2-21] */
			ack.server_keepalive = sk;
			MQTT_SET(&ack, MQTT_PROP_SERVER_KEEPALIVE);
		}
		if (granted != expiry) {
			ack.session_expiry = granted;
			MQTT_SET(&ack, MQTT_PROP_SESSION_EXPIRY);
		}
		ack.receive_max = b->cfg.receive_max ? b->cfg.receive_max : 65535;
		MQTT_SET(&ack, MQTT_PROP_RECEIVE_MAX);
		if (b->cfg.max_qos < 2) {
			ack.max_qos = b->cfg.max_qos;
			MQTT_SET(&ack, MQTT_PROP_MAX_QOS);
		}
		if (!b->cfg.retain_available) {
			ack.retain_available = 0;
			MQTT_SET(&ack, MQTT_PROP_RETAIN_AVAILABLE);
		}
		ack.max_packet_size = b->cfg.max_packet_size;
		MQTT_SET(&ack, MQTT_PROP_MAX_PACKET_SIZE);
		if (b->cfg.topic_alias_max) { /* absent is 0: no aliases taken */
			ack.topic_alias_max = b->cfg.topic_alias_max;
			MQTT_SET(&ack, MQTT_PROP_TOPIC_ALIAS_MAX);
		}
		if (assigned && !(b->cfg.test_faults & BROKER_TF_ASSIGNED_ID_MISSING)) {
			ack.assigned_client_id = (mqtt_str){ (const uint8_t *)s->client_id,
							     (uint32_t)strlen(s->client_id) };
			MQTT_SET(&ack, MQTT_PROP_ASSIGNED_CLIENT_ID);
		}
		if (b->cfg.test_faults & BROKER_TF_RESPONSE_INFO_UNASKED) {
			static const char ri[] = "mqttsim/response/";
			ack.response_info = (mqtt_str){ (const uint8_t *)ri, (uint32_t)(sizeof ri - 1) };
			MQTT_SET(&ack, MQTT_PROP_RESPONSE_INFO);
		}
		/* Absent is available (5.0 §3.2.2.3.11-12): said only when switched off. */
		if (b->cfg.no_wildcards) {
			ack.wildcard_sub_available = 0;
			MQTT_SET(&ack, MQTT_PROP_WILDCARD_SUB_AVAILABLE);
		}
		if (b->cfg.no_sub_ids) {
			ack.sub_id_available = 0;
			MQTT_SET(&ack, MQTT_PROP_SUB_ID_AVAILABLE);
		}
		if (b->cfg.no_shared_subs) {
			ack.shared_sub_available = 0;
			MQTT_SET(&ack, MQTT_PROP_SHARED_SUB_AVAILABLE);
		}
		/* A successful CONNACK repeats the CONNECT's Authentication Method [MQTT-4.12.0-5]
		 * with the method's last word (SCRAM's server-final); none without [MQTT-4.12.0-6]. */
		if (c->auth_method) {
			ack.auth_method = (mqtt_str){ (const uint8_t *)c->auth_method, (uint32_t)strlen(c->auth_method) };
			MQTT_SET(&ack, MQTT_PROP_AUTH_METHOD);
			if (c->auth_final) {
				ack.auth_data = (mqtt_str){ (const uint8_t *)c->auth_final, (uint32_t)strlen(c->auth_final) };
				MQTT_SET(&ack, MQTT_PROP_AUTH_DATA);
			}
		}
	}
	c->keepalive_s = keepalive;
	bool enforce = keepalive && !(b->cfg.test_faults & BROKER_TF_IGNORE_KEEPALIVE);
	if (enforce)
		broker__core_keepalive(b, c, b->env.now_us(b->env.ctx) + (int64_t)keepalive * 1500000);
	else
		broker__core_deadline(b, c, INT64_MAX);
	connack(b, c, 0, present, &ack);
	free(c->auth_final);
	c->auth_final = NULL;
	if (v5)
		broker__core_log(b, "connect %s client=%s v5 clean-start=%d expiry=%u keepalive=%u%s%s", c->peer, id,
				 k->clean_start, granted, keepalive, present ? " session-present" : "",
				 c->will ? " will" : "");
	else
		broker__core_log(b, "connect %s client=%s clean=%d keepalive=%u%s%s", c->peer, id, k->clean_start,
				 k->keepalive_s, present ? " session-present" : "", c->will ? " will" : "");
	/* Unacknowledged deliveries go out again, then whatever queued while away. */
	broker__session_resume(b, s);
}

void broker__handle_disconnect(broker *b, conn *c, const mqtt_packet *p)
{
	session *s = c->s;
	if (c->version == MQTT_V5 && s && MQTT_HAS(&p->props, MQTT_PROP_SESSION_EXPIRY)) {
		uint32_t e = p->props.session_expiry;
		if (c->expiry_zero_at_connect && e != 0) {
			/* A session that was to end at disconnect may not be given a life after it
			 * (5.0 §3.14.2.2.2): a protocol error, and the will goes out. */
			b->st.protocol_errors++;
			broker__core_log(b, "protocol error from %s client=%s: [5.0 §3.14.2.2.2] DISCONNECT sets "
				    "Session Expiry Interval %u after CONNECT had 0", c->peer, s->client_id, e);
			broker__core_disconnect(b, c, 0x82, "session expiry interval raised from 0");
			return;
		}
		session_set_expiry(b, s, expiry_grant(b, e));
	}
	if (c->version == MQTT_V5 && p->reason == 0x04) {
		/* Disconnect with Will Message: a goodbye that still wants its will published. */
		broker__core_close(b, c, true, "DISCONNECT with will");
		return;
	}
	/* A clean goodbye: the will is discarded, not published [MQTT-3.14.4-3]. */
	if (b->cfg.test_faults & BROKER_TF_DISCONNECT_KEEPS_WILL) {
		broker__core_close(b, c, true, "DISCONNECT");
		return;
	}
	c->will = false;
	broker__core_close(b, c, false, "DISCONNECT");
}
