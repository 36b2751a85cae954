/*
 * handle_connect.c - CONNECT: client identifiers, authentication, session takeover,
 * clean and persistent sessions, the will, keepalive, CONNACK.
 */
#include "broker/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t sess_bucket(broker *b, const char *id)
{
	return (size_t)(core_hash(id, strlen(id)) & (b->sess_buckets - 1));
}

session *session_find(broker *b, const char *id)
{
	for (session *s = b->sess_hash[sess_bucket(b, id)]; s; s = s->hnext)
		if (!strcmp(s->client_id, id))
			return s;
	return NULL;
}

bool session_set_owner(session *s, const char *username)
{
	uint8_t st = username ? OWNER_USER : OWNER_ANON;
	if (s->owner_state == st && (!username || !strcmp(s->owner, username)))
		return false;
	free(s->owner);
	s->owner = username ? core_strndup(username, strlen(username)) : NULL;
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

static session *session_new(broker *b, const char *id, bool clean, const conn *c)
{
	session *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->client_id = core_strndup(id, strlen(id));
	if (c)
		session_set_owner(s, c->username);
	s->seq = b->next_seq++;
	s->clean = clean;
	s->inflight_tail = &s->inflight;
	s->queue_tail = &s->queue;
	s->prev = b->sessions_tail;
	if (b->sessions_tail)
		b->sessions_tail->next = s;
	else
		b->sessions = s;
	b->sessions_tail = s;
	size_t k = sess_bucket(b, id);
	s->hnext = b->sess_hash[k];
	b->sess_hash[k] = s;
	b->st.sessions++;
	persist_session(b, s, true);
	return s;
}

session *session_create_offline(broker *b, const char *id)
{
	return session_new(b, id, false, NULL);
}

void session_free(broker *b, session *s)
{
	persist_session(b, s, false);
	subs_drop_session(b, s);
	outmsg_free_list(s->inflight);
	outmsg_free_list(s->queue);
	for (session **pp = &b->sess_hash[sess_bucket(b, s->client_id)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	}
	if (s->prev)
		s->prev->next = s->next;
	else
		b->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		b->sessions_tail = s->prev;
	if (s->c)
		s->c->s = NULL;
	b->st.sessions--;
	free(s->in_qos2);
	free(s->client_id);
	free(s->owner);
	free(s);
}

static void connack(broker *b, conn *c, uint8_t rc, bool present)
{
	mqtt_packet r = { .type = MQTT_CONNACK, .version = MQTT_V311, .reason = rc,
			  .session_present = present };
	core_send(b, c, &r);
}

static void refuse(broker *b, conn *c, uint8_t rc, const char *why)
{
	connack(b, c, rc, false);
	core_log(b, "refused %s: %s (CONNACK %u)", c->peer, why, rc);
	/* A refused connection is closed, and its will is never published [MQTT-3.2.2-5]. */
	core_close(b, c, false, "refused");
}

void handle_connect(broker *b, conn *c, const mqtt_packet *p)
{
	const mqtt_connect *k = &p->connect;
	char id[256];

	if (k->client_id.len == 0) {
		if (!k->clean_start) {
			/* A session needs a name to be found again [MQTT-3.1.3-8]. */
			refuse(b, c, 2, "empty client identifier with clean session 0");
			return;
		}
		/* The server names it, uniquely [MQTT-3.1.3-6]. */
		do
			snprintf(id, sizeof id, "mqttsim-auto-%llu", (unsigned long long)++b->assigned_ids);
		while (session_find(b, id)); /* a client may have chosen this very name itself */
	} else if (k->client_id.len >= sizeof id) {
		refuse(b, c, 2, "client identifier longer than 255 bytes");
		return;
	} else {
		memcpy(id, k->client_id.data, k->client_id.len);
		id[k->client_id.len] = 0;
	}

	uint8_t rc = 0;
	if (k->has_username && !c->username)
		c->username = core_strndup((const char *)k->username.data, k->username.len);
	if (!k->has_username && !b->cfg.allow_anonymous)
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
	session *s = session_find(b, id);
	if (s && b->cfg.auth && !owner_is(s, c->username)) {
		char why[400];
		snprintf(why, sizeof why, "client id %s is a session of %s%s, not of %s%s", id,
			 s->owner ? "user " : "", s->owner ? s->owner : "an anonymous client",
			 c->username ? "user " : "", c->username ? c->username : "an anonymous client");
		refuse(b, c, 5, why);
		return;
	}

	/* Takeover: the older connection of this client is closed [MQTT-3.1.4-2]. It did not
	 * say DISCONNECT, so its will goes out. */
	if (s && s->c)
		core_close(b, s->c, true, "session taken over");
	s = session_find(b, id); /* a clean session went with its connection */

	bool present = false;
	if (k->clean_start) {
		if (s)
			session_free(b, s);
		s = session_new(b, id, true, c);
	} else if (s) {
		present = true; /* [MQTT-3.2.2-2] */
		/* A session from an older log (no owner) becomes this user's; without
		 * authentication the last user name seen is kept, for a later restart with it. */
		if (session_set_owner(s, c->username))
			persist_session(b, s, true);
	} else {
		s = session_new(b, id, false, c);
	}
	s->clean = k->clean_start;
	s->c = c;
	c->s = s;
	c->state = CONN_UP;
	b->st.clients_connected++;

	if (k->will) {
		c->will = true;
		c->will_qos = k->will_qos;
		c->will_retain = k->will_retain;
		c->will_topic = core_strndup((const char *)k->will_topic.data, k->will_topic.len);
		c->will_payload = malloc(k->will_payload.len ? k->will_payload.len : 1);
		if (!c->will_payload)
			abort();
		if (k->will_payload.len)
			memcpy(c->will_payload, k->will_payload.data, k->will_payload.len);
		c->will_payload_len = k->will_payload.len;
	}
	c->keepalive_s = k->keepalive_s;
	bool enforce = k->keepalive_s && !(b->cfg.test_faults & BROKER_TF_IGNORE_KEEPALIVE);
	core_deadline(b, c, enforce ? b->env.now_us(b->env.ctx) + (int64_t)k->keepalive_s * 1500000 : INT64_MAX);
	connack(b, c, 0, present);
	core_log(b, "connect %s client=%s clean=%d keepalive=%u%s%s", c->peer, id, k->clean_start,
		 k->keepalive_s, present ? " session-present" : "", c->will ? " will" : "");
	/* Unacknowledged deliveries go out again, then whatever queued while away. */
	session_resume(b, s);
}
