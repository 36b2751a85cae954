/*
 * scenario_steps.c - the scenario loader's `steps` (what each scripted client does and
 * expects, one action a step) and `expect` (expectations over the whole run: delivery,
 * duplicates, order, retained messages, wills and node counters).
 */
#include "harness/scenario_load_internal.h"

#include "harness/cli.h"
#include "harness/raw_send.h"
#include "mqtt/alloc.h"
#include "mqtt/mqtt.h"

#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 100000
#define MAX_EXPECTS 10000
#define DEFAULT_WITHIN_US 5000000   /* expect, expect_closed and the CONNACK wait: 5s */
#define DEFAULT_KEEPALIVE_S 60

/* ---- steps ----------------------------------------------------------------------------- */

static const char *const will_keys[] = { "topic", "payload", "qos", "retain", NULL };

bool scn__load_will(ld *L, const yaml_node_t *v, char **topic, char **payload, uint8_t *qos,
		    bool *retain)
{
	fields f;
	if (!scn__fields_read(L, v, "will", will_keys, &f))
		return false;
	if (scn__frequire(L, &f, "topic"))
		scn__n_topic(L, scn__fget(&f, "topic"), "topic", false, topic);
	scn__n_str(L, scn__fget(&f, "payload"), "payload", payload);
	scn__n_qos(L, scn__fget(&f, "qos"), qos);
	scn__n_bool(L, scn__fget(&f, "retain"), "retain", retain);
	return true;
}

static const char *const connect_keys[] = {
	"client_id", "clean_session", "keepalive", "username", "password", "will", "rc",
	"session_present", "wait_connack", "within", "clean_start", "properties", "connack_properties", NULL,
};

/* A connect step's will: a node's, and in 5.0 its properties. */
static const char *const step_will_keys[] = { "topic", "payload", "qos", "retain", "properties", NULL };

static bool step_will(ld *L, const yaml_node_t *v, sc_step *st)
{
	fields f;
	if (!scn__fields_read(L, v, "will", step_will_keys, &f))
		return false;
	if (scn__frequire(L, &f, "topic"))
		scn__n_topic(L, scn__fget(&f, "topic"), "topic", false, &st->will_topic);
	scn__n_str(L, scn__fget(&f, "payload"), "payload", &st->will_payload);
	scn__n_qos(L, scn__fget(&f, "qos"), &st->will_qos);
	scn__n_bool(L, scn__fget(&f, "retain"), "retain", &st->will_retain);
	if (scn__fget(&f, "properties") && scn__need_v5(L, st, scn__fkey(&f, "properties"), "properties"))
		st->will_props = scn__load_props(L, scn__fget(&f, "properties"), MQTT_PROPS_WILL, false);
	return true;
}

/* rc: a reason code, or a list of the codes the standard permits there (any one matches). */
static bool load_rc(ld *L, const yaml_node_t *v, sc_match *m)
{
	if (!v)
		return false;
	long n = scn__word_count(L, v, "rc", 1 + SC_RC_ALT);
	if (n < 1) {
		if (n == 0)
			scn__err(L, v, "'rc' must be a reason code or a list of them, got an empty list");
		return false;
	}
	bool ok = true;
	m->nrc_alt = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = scn__word_item(L, v, i);
		int64_t x;
		if (!it || !scn__n_int(L, it, "rc", 0, 255, &x))
			ok = false;
		else if (i == 0)
			m->rc = (uint8_t)x;
		else
			m->rc_alt[m->nrc_alt++] = (uint8_t)x;
	}
	return ok;
}

static void step_connect(ld *L, const yaml_node_t *v, sc_step *st)
{
	st->clean = true;
	st->keepalive_s = DEFAULT_KEEPALIVE_S;
	st->wait_connack = true;
	st->within_us = DEFAULT_WITHIN_US;
	st->connack.type = MQTT_CONNACK;
	st->connack.has_rc = true;
	fields f;
	if (scn__is_null(v) || !scn__fields_read(L, v, "connect", connect_keys, &f))
		return;
	int64_t x;
	scn__n_str(L, scn__fget(&f, "client_id"), "client_id", &st->client_id);
	/* 3.1.1 says Clean Session, 5.0 Clean Start: the flag is one bit, its name the version's. */
	bool v5 = st->client >= 0 && (size_t)st->client < L->s->nclients && L->s->clients[st->client].version == MQTT_V5;
	if (scn__fkey(&f, "clean_session") && v5)
		scn__err(L, scn__fkey(&f, "clean_session"), "a 5.0 client's CONNECT has 'clean_start', not 'clean_session'");
	else
		scn__n_bool(L, scn__fget(&f, "clean_session"), "clean_session", &st->clean);
	if (scn__fkey(&f, "clean_start") && scn__need_v5(L, st, scn__fkey(&f, "clean_start"), "clean_start"))
		scn__n_bool(L, scn__fget(&f, "clean_start"), "clean_start", &st->clean);
	if (scn__fkey(&f, "properties") && scn__need_v5(L, st, scn__fkey(&f, "properties"), "properties"))
		st->props = scn__load_props(L, scn__fget(&f, "properties"), MQTT_CONNECT, false);
	if (scn__fkey(&f, "connack_properties") &&
	    scn__need_v5(L, st, scn__fkey(&f, "connack_properties"), "connack_properties"))
		st->connack.props = scn__load_props(L, scn__fget(&f, "connack_properties"), MQTT_CONNACK, true);
	yaml_node_t *ka = scn__fget(&f, "keepalive");
	if (scn__n_amount(L, ka, "keepalive", DURATION, AMT_SECONDS, &x)) {
		if (x / 1000000 > UINT16_MAX)
			scn__err(L, ka, "'keepalive' is at most 65535s (18h12m15s), got %s", scn__quoted(scn__sval(ka)).s);
		else
			st->keepalive_s = (uint16_t)(x / 1000000);
	}
	scn__n_str(L, scn__fget(&f, "username"), "username", &st->username);
	scn__n_str(L, scn__fget(&f, "password"), "password", &st->password);
	yaml_node_t *wv = scn__fget(&f, "will");
	if (wv && (st->will = step_will(L, wv, st)) && !st->will_payload)
		st->will_payload = scn__xstrdup(L, ""); /* no payload: an empty one */
	load_rc(L, scn__fget(&f, "rc"), &st->connack);
	if (scn__n_bool(L, scn__fget(&f, "session_present"), "session_present", &st->connack.session_present))
		st->connack.has_session_present = true;
	scn__n_bool(L, scn__fget(&f, "wait_connack"), "wait_connack", &st->wait_connack);
	scn__n_amount(L, scn__fget(&f, "within"), "within", DURATION, AMT_POSITIVE, &st->within_us);
	if (!st->wait_connack) {
		static const char *const waits[] = { "rc", "session_present", "within", "connack_properties" };
		for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++)
			if (scn__fkey(&f, waits[i]))
				scn__err(L, scn__fkey(&f, waits[i]),
				         "'%s' is about the CONNACK, but wait_connack is false", waits[i]);
	}
}

const char *const scn__sub_keys[] = { "filter", "qos", NULL };

/* A step's subscription: a node's, and in 5.0 the subscription options. */
static const char *const step_sub_keys[] = {
	"filter", "qos", "no_local", "retain_as_published", "retain_handling", "subscription_identifier", NULL,
};
static const char *const sub_v5_keys[] = { "no_local", "retain_as_published", "retain_handling",
					    "subscription_identifier" };

/* 5.0 (un)subscribe: { filters: [...], properties: {...} }. Returns the filters' node, and
 * loads the properties; v itself when it is not that form. */
static const yaml_node_t *filters_form(ld *L, const yaml_node_t *v, sc_step *st, int type)
{
	static const char *const keys[] = { "filters", "properties", NULL };
	if (!v || v->type != YAML_MAPPING_NODE)
		return v;
	bool has = false;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *k = scn__node(L, p->key);
		if (k && scn__is_scalar(k) && !strcmp(scn__sval(k), "filters"))
			has = true;
	}
	if (!has)
		return v;
	fields f;
	if (!scn__fields_read(L, v, type == MQTT_SUBSCRIBE ? "subscribe" : "unsubscribe", keys, &f))
		return NULL;
	if (scn__fkey(&f, "properties") && scn__need_v5(L, st, scn__fkey(&f, "properties"), "properties"))
		st->props = scn__load_props(L, scn__fget(&f, "properties"), type, false);
	return scn__fget(&f, "filters");
}

static void step_subscribe(ld *L, const yaml_node_t *v, sc_step *st)
{
	/* A list of { filter, qos }, or one of them alone; in 5.0 also { filters, properties }. */
	if (!(v = filters_form(L, v, st, MQTT_SUBSCRIBE)))
		return;
	bool one = v->type == YAML_MAPPING_NODE;
	long n = one ? 1 : scn__list_count(L, v, "subscribe", MAX_ITEMS);
	if (n == 0)
		scn__err(L, v, "'subscribe' needs at least one { filter, qos } (use send for an empty SUBSCRIBE)");
	if (n <= 0 || !(st->subs = scn__xcalloc(L, (size_t)n, sizeof *st->subs)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = one ? (yaml_node_t *)v : scn__list_item(L, v, i);
		fields f;
		if (!it || !scn__fields_read(L, it, "subscription", step_sub_keys, &f))
			continue;
		sc_sub *sub = &st->subs[st->nsubs++];
		if (scn__frequire(L, &f, "filter"))
			scn__n_topic(L, scn__fget(&f, "filter"), "filter", true, &sub->filter);
		scn__n_qos(L, scn__fget(&f, "qos"), &sub->qos);
		bool v5 = true;
		for (size_t k = 0; k < sizeof sub_v5_keys / sizeof sub_v5_keys[0] && v5; k++)
			if (scn__fkey(&f, sub_v5_keys[k]))
				v5 = scn__need_v5(L, st, scn__fkey(&f, sub_v5_keys[k]), sub_v5_keys[k]);
		if (!v5)
			continue;
		scn__n_bool(L, scn__fget(&f, "no_local"), "no_local", &sub->no_local);
		scn__n_bool(L, scn__fget(&f, "retain_as_published"), "retain_as_published", &sub->retain_as_published);
		int64_t x;
		if (scn__n_int(L, scn__fget(&f, "retain_handling"), "retain_handling", 0, 2, &x))
			sub->retain_handling = (uint8_t)x;
		/* One SUBSCRIBE carries one Subscription Identifier, for all its filters. */
		yaml_node_t *sid = scn__fget(&f, "subscription_identifier");
		if (scn__n_int(L, sid, "subscription_identifier", 1, MQTT_VBI_MAX, &x)) {
			if (!st->props && !(st->props = scn__xcalloc(L, 1, sizeof *st->props)))
				continue;
			if (MQTT_HAS(st->props, MQTT_PROP_SUBSCRIPTION_ID) && st->props->num[MQTT_PROP_SUBSCRIPTION_ID] != (uint32_t)x)
				scn__err(L, sid, "one SUBSCRIBE has one subscription identifier; another filter of this "
					       "step gives %u (use two subscribe steps)",
				         (unsigned)st->props->num[MQTT_PROP_SUBSCRIPTION_ID]);
			MQTT_SET(st->props, MQTT_PROP_SUBSCRIPTION_ID);
			st->props->num[MQTT_PROP_SUBSCRIPTION_ID] = (uint32_t)x;
		}
	}
}

static void step_unsubscribe(ld *L, const yaml_node_t *v, sc_step *st)
{
	if (!(v = filters_form(L, v, st, MQTT_UNSUBSCRIBE)))
		return;
	long n = scn__word_count(L, v, "unsubscribe", MAX_ITEMS);
	if (n == 0)
		scn__err(L, v, "'unsubscribe' needs at least one filter (use send for an empty UNSUBSCRIBE)");
	if (n <= 0 || !(st->subs = scn__xcalloc(L, (size_t)n, sizeof *st->subs)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = scn__word_item(L, v, i);
		if (it)
			scn__n_topic(L, it, "unsubscribe", true, &st->subs[st->nsubs++].filter);
	}
}

static const char *const publish_keys[] = {
	"topic", "payload", "qos", "retain", "dup", "id", "topic_alias", "properties", "force", NULL,
};

static void step_publish(ld *L, const yaml_node_t *v, sc_step *st)
{
	fields f;
	if (!scn__fields_read(L, v, "publish", publish_keys, &f))
		return;
	int64_t ta;
	yaml_node_t *tak = scn__fkey(&f, "topic_alias");
	if (tak && scn__need_v5(L, st, tak, "topic_alias") &&
	    scn__n_int(L, scn__fget(&f, "topic_alias"), "topic_alias", 0, UINT16_MAX, &ta))
		st->topic_alias = (uint16_t)ta, st->has_topic_alias = true; /* 0: for negative tests */
	if (scn__fkey(&f, "properties") && scn__need_v5(L, st, scn__fkey(&f, "properties"), "properties"))
		st->props = scn__load_props(L, scn__fget(&f, "properties"), MQTT_PUBLISH, false);
	if (scn__fkey(&f, "force") && scn__need_v5(L, st, scn__fkey(&f, "force"), "force"))
		scn__n_bool(L, scn__fget(&f, "force"), "force", &st->force);
	/* With a topic alias, the topic may be left out: the alias alone names it. */
	if (tak && !scn__fget(&f, "topic"))
		st->topic = scn__xstrdup(L, "");
	else if (scn__frequire(L, &f, "topic"))
		scn__n_topic(L, scn__fget(&f, "topic"), "topic", false, &st->topic);
	scn__n_str(L, scn__fget(&f, "payload"), "payload", &st->payload);
	scn__n_qos(L, scn__fget(&f, "qos"), &st->qos);
	scn__n_bool(L, scn__fget(&f, "retain"), "retain", &st->retain);
	scn__n_bool(L, scn__fget(&f, "dup"), "dup", &st->dup);
	int64_t x;
	if (scn__n_int(L, scn__fget(&f, "id"), "id", 1, UINT16_MAX, &x)) {
		st->id = (uint16_t)x;
		if (st->qos == 0)
			scn__err(L, scn__fkey(&f, "id"), "'id' needs qos 1 or 2: a QoS 0 PUBLISH has no packet id");
	}
	if (!st->payload)
		st->payload = scn__xstrdup(L, "");
}

/* disconnect: true, drop: true, open: true. */
static void step_flag(ld *L, const yaml_node_t *v, sc_step *st)
{
	const char *key = st->kind == SC_DISCONNECT ? "disconnect" : st->kind == SC_OPEN ? "open" : "drop";
	bool on;
	if (scn__n_bool(L, v, key, &on) && !on)
		scn__err(L, v, "'%s: false' does nothing; write '%s: true' or remove the step", key, key);
}

/* rc: (5.0) the reason code of the packet a step sends. */
static void step_rc(ld *L, const fields *f, sc_step *st)
{
	int64_t x;
	if (scn__fkey(f, "rc") && scn__need_v5(L, st, scn__fkey(f, "rc"), "rc") &&
	    scn__n_int(L, scn__fget(f, "rc"), "rc", 0, 255, &x))
		st->reason = (uint8_t)x;
}

/* disconnect: true, or in 5.0 { rc, properties }. */
static void step_disconnect(ld *L, const yaml_node_t *v, sc_step *st)
{
	static const char *const keys[] = { "rc", "properties", NULL };
	if (!v || v->type != YAML_MAPPING_NODE) {
		step_flag(L, v, st);
		return;
	}
	fields f;
	if (!scn__fields_read(L, v, "disconnect", keys, &f))
		return;
	step_rc(L, &f, st);
	if (scn__fkey(&f, "properties") && scn__need_v5(L, st, scn__fkey(&f, "properties"), "properties"))
		st->props = scn__load_props(L, scn__fget(&f, "properties"), MQTT_DISCONNECT, false);
}

static void step_wait(ld *L, const yaml_node_t *v, sc_step *st)
{
	scn__n_amount(L, v, "wait", DURATION, 0, &st->for_us);
}

/* ack: PUBACK | PUBREC | PUBREL | PUBCOMP, with the id of the last packet an expect matched;
 * in 5.0 `rc` gives its reason code (default 0x00). */
static void step_ack(ld *L, const yaml_node_t *v, sc_step *st)
{
	int type = 0;
	if (v && v->type == YAML_MAPPING_NODE) {
		/* ack: { packet: PUBREC, id: "@name", rc: 0x80 } */
		static const char *const ack_keys[] = { "packet", "id", "rc", NULL };
		fields f;
		if (!scn__fields_read(L, v, "ack", ack_keys, &f))
			return;
		step_rc(L, &f, st);
		yaml_node_t *idn = scn__fget(&f, "id");
		if (idn && scn__is_scalar(idn) && scn__sval(idn)[0] == '@' && scn__sval(idn)[1])
			st->match.id_ref = scn__xstrdup(L, scn__sval(idn) + 1);
		else if (idn)
			scn__err(L, idn, "an ack's id names a remembered one, like \"@first\" (set with expect's 'as')");
		if (!scn__frequire(L, &f, "packet"))
			return;
		v = scn__fget(&f, "packet");
	}
	if (!scn__n_packet(L, v, "ack", &type))
		return;
	if (type < MQTT_PUBACK || type > MQTT_PUBCOMP) {
		scn__err(L, v, "'ack' sends PUBACK, PUBREC, PUBREL or PUBCOMP, not %s", mqtt_type_name((unsigned)type));
		return;
	}
	st->ack_type = (uint8_t)type;
}

static void step_send(ld *L, const yaml_node_t *v, sc_step *st)
{
	const char *t = scn__scalar(L, v, "send", "hex bytes like \"30 05 00 01 2b 78 78\"");
	if (!t)
		return;
	char msg[200];
	long n = raw_expand(t, NULL, &st->raw, msg, sizeof msg);
	if (n < 0)
		scn__err(L, v, "bad hex in 'send': %s", msg);
	else if (n == 0)
		scn__err(L, v, "'send' has no bytes; give hex like \"30 05 00 01 2b 78 78\"");
	else
		st->raw_len = (size_t)n;
	if (n > 0 && raw_is_template(t))
		st->raw_text = mqtt_xstrdup(t);
}

/* What each packet a client can receive can be matched on. */
enum {
	M_TOPIC = 1 << 0, M_PAYLOAD = 1 << 1, M_QOS = 1 << 2, M_RETAIN = 1 << 3, M_DUP = 1 << 4,
	M_RC = 1 << 5, M_SP = 1 << 6, M_ID = 1 << 7, M_CODES = 1 << 8,
	M_RECEIVED = 1 << 15,
};

static const unsigned packet_fields[16] = {
	[MQTT_CONNACK] = M_RECEIVED | M_RC | M_SP,
	[MQTT_PUBLISH] = M_RECEIVED | M_TOPIC | M_PAYLOAD | M_QOS | M_RETAIN | M_DUP | M_ID,
	[MQTT_PUBACK] = M_RECEIVED | M_ID | M_RC,
	[MQTT_PUBREC] = M_RECEIVED | M_ID | M_RC,
	[MQTT_PUBREL] = M_RECEIVED | M_ID | M_RC,
	[MQTT_PUBCOMP] = M_RECEIVED | M_ID | M_RC,
	[MQTT_SUBACK] = M_RECEIVED | M_ID | M_CODES,
	[MQTT_UNSUBACK] = M_RECEIVED | M_ID | M_CODES,
	[MQTT_PINGRESP] = M_RECEIVED,
	[MQTT_DISCONNECT] = M_RECEIVED | M_RC, /* 5.0 */
	[MQTT_AUTH] = M_RECEIVED | M_RC,       /* 5.0 */
};

static const struct { const char *key; unsigned bit; } match_fields[] = {
	{ "topic", M_TOPIC }, { "payload", M_PAYLOAD }, { "qos", M_QOS }, { "retain", M_RETAIN },
	{ "dup", M_DUP }, { "rc", M_RC }, { "session_present", M_SP }, { "id", M_ID },
	{ "codes", M_CODES },
};

static bool n_packet_received(ld *L, const yaml_node_t *v, int *type)
{
	if (!scn__n_packet(L, v, "packet", type))
		return false;
	if (packet_fields[*type] & M_RECEIVED)
		return true;
	scn__err(L, v, "a client never receives %s; expect what the broker sends (CONNACK, PUBLISH, "
		       "PUBACK, SUBACK, ...)", mqtt_type_name((unsigned)*type));
	return false;
}

static void load_codes(ld *L, const yaml_node_t *v, sc_match *m)
{
	long n = scn__word_count(L, v, "codes", MAX_ITEMS);
	if (n < 0 || !(m->codes = scn__xcalloc(L, (size_t)n, 1)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = scn__word_item(L, v, i);
		int64_t x;
		if (it && scn__n_int(L, it, "codes", 0, 255, &x))
			m->codes[m->ncodes++] = (uint8_t)x;
	}
}

static const char *const expect_keys[] = {
	"packet", "topic", "payload", "qos", "retain", "dup", "rc", "session_present", "id", "codes",
	"first", "as", "again", "within", "after", "properties", NULL,
};

static void step_expect(ld *L, const yaml_node_t *v, sc_step *st)
{
	sc_match *m = &st->match;
	st->within_us = DEFAULT_WITHIN_US;
	fields f;
	if (!scn__fields_read(L, v, "expect", expect_keys, &f))
		return;
	int type = 0;
	if (scn__frequire(L, &f, "packet") && n_packet_received(L, scn__fget(&f, "packet"), &type)) {
		m->type = type;
		/* A field the packet does not have could never match: say so now. */
		for (size_t i = 0; i < sizeof match_fields / sizeof match_fields[0]; i++)
			if (scn__fkey(&f, match_fields[i].key) && !(packet_fields[type] & match_fields[i].bit))
				scn__err(L, scn__fkey(&f, match_fields[i].key), "%s has no '%s' to match",
				         mqtt_type_name((unsigned)type), match_fields[i].key);
	}
	int64_t x;
	scn__n_topic(L, scn__fget(&f, "topic"), "topic", false, &m->topic);
	scn__n_str(L, scn__fget(&f, "payload"), "payload", &m->payload);
	m->has_qos = scn__n_qos(L, scn__fget(&f, "qos"), &m->qos);
	m->has_retain = scn__n_bool(L, scn__fget(&f, "retain"), "retain", &m->retain);
	m->has_dup = scn__n_bool(L, scn__fget(&f, "dup"), "dup", &m->dup);
	m->has_rc = load_rc(L, scn__fget(&f, "rc"), m);
	m->has_session_present = scn__n_bool(L, scn__fget(&f, "session_present"), "session_present",
					      &m->session_present);
	/* id: a number, or "same": the id of the packet the client's last expect matched
	 * (brokers choose their own ids; this checks one is reused without assuming it). */
	yaml_node_t *idn = scn__fget(&f, "id");
	if (idn && scn__is_scalar(idn) && !strcmp(scn__sval(idn), "same"))
		m->id_same = true;
	else if (idn && scn__is_scalar(idn) && scn__sval(idn)[0] == '@' && scn__sval(idn)[1])
		m->id_ref = scn__xstrdup(L, scn__sval(idn) + 1);
	else if ((m->has_id = scn__n_int(L, idn, "id", 1, UINT16_MAX, &x)))
		m->id = (uint16_t)x;
	/* as: NAME remembers the matched packet's id, for later `id: "@NAME"` and acks. */
	scn__n_str(L, scn__fget(&f, "as"), "as", &m->save_as);
	if (scn__fget(&f, "codes"))
		load_codes(L, scn__fget(&f, "codes"), m);
	if (scn__fkey(&f, "properties") && scn__need_v5(L, st, scn__fkey(&f, "properties"), "properties") && type) {
		if (type == MQTT_PINGRESP)
			scn__err(L, scn__fkey(&f, "properties"), "PINGRESP has no properties to match");
		else
			m->props = scn__load_props(L, scn__fget(&f, "properties"), type, true);
	}
	scn__n_bool(L, scn__fget(&f, "first"), "first", &m->first);
	scn__n_amount(L, scn__fget(&f, "within"), "within", DURATION, AMT_POSITIVE, &st->within_us);
	/* after: a lower bound, from the last action step (as expect_none's window): a link's
	 * latency, a partition's or a clog's hold, shown by when the packet came. */
	scn__n_amount(L, scn__fget(&f, "after"), "after", DURATION, AMT_POSITIVE, &st->after_us);
	/* again: true checks more fields of the packet the client's last expect matched, so
	 * one packet's properties can be checked by steps naming different statements. */
	if (scn__n_bool(L, scn__fget(&f, "again"), "again", &m->again) && m->again) {
		static const char *const not_again[] = { "within", "after", "first", "as" };
		for (size_t i = 0; i < sizeof not_again / sizeof not_again[0]; i++)
			if (scn__fkey(&f, not_again[i]))
				scn__err(L, scn__fkey(&f, not_again[i]), "'%s' does not go with 'again: true' (that checks the "
								"packet already matched, waiting for nothing)", not_again[i]);
	}
}

static const char *const expect_none_keys[] = { "packet", "for", NULL };

static void step_expect_none(ld *L, const yaml_node_t *v, sc_step *st)
{
	fields f;
	if (!scn__fields_read(L, v, "expect_none", expect_none_keys, &f))
		return;
	int type;
	if (scn__fget(&f, "packet") && n_packet_received(L, scn__fget(&f, "packet"), &type))
		st->match.type = type;
	if (scn__frequire(L, &f, "for"))
		scn__n_amount(L, scn__fget(&f, "for"), "for", DURATION, AMT_POSITIVE, &st->for_us);
}

static const char *const expect_closed_keys[] = { "within", "late", "after", NULL };

static void step_expect_closed(ld *L, const yaml_node_t *v, sc_step *st)
{
	st->within_us = DEFAULT_WITHIN_US;
	fields f;
	bool on;
	/* `expect_closed: {}`, `expect_closed: true` and a bare `expect_closed:` all mean the default. */
	if (scn__is_null(v))
		return;
	if (scn__is_scalar(v)) {
		if (scn__n_bool(L, v, "expect_closed", &on) && !on)
			scn__err(L, v, "'expect_closed: false' does nothing; remove the step");
		return;
	}
	if (!scn__fields_read(L, v, "expect_closed", expect_closed_keys, &f))
		return;
	scn__n_amount(L, scn__fget(&f, "within"), "within", DURATION, AMT_POSITIVE, &st->within_us);
	scn__n_amount(L, scn__fget(&f, "after"), "after", DURATION, AMT_POSITIVE, &st->after_us);
	/* late: a second, generous bound, so that a close that misses `within` by a little (the
	 * observation `late`) is told apart from none at all (`never`). */
	const yaml_node_t *late = scn__fget(&f, "late");
	if (late && scn__n_amount(L, late, "late", DURATION, AMT_POSITIVE, &st->late_us) &&
	    st->late_us <= st->within_us)
		scn__err(L, late, "expect_closed 'late' (%lldms) must be longer than 'within' (%lldms)",
			 (long long)(st->late_us / 1000), (long long)(st->within_us / 1000));
}

static const struct action {
	const char *key;
	int kind;
	void (*load)(ld *L, const yaml_node_t *v, sc_step *st);
} actions[] = {
	{ "connect", SC_CONNECT, step_connect },
	{ "subscribe", SC_SUBSCRIBE, step_subscribe },
	{ "unsubscribe", SC_UNSUBSCRIBE, step_unsubscribe },
	{ "publish", SC_PUBLISH, step_publish },
	{ "disconnect", SC_DISCONNECT, step_disconnect },
	{ "drop", SC_DROP, step_flag },
	{ "open", SC_OPEN, step_flag },
	{ "wait", SC_WAIT, step_wait },
	{ "send", SC_RAW, step_send },
	{ "ack", SC_ACK, step_ack },
	{ "expect", SC_EXPECT, step_expect },
	{ "expect_none", SC_EXPECT_NONE, step_expect_none },
	{ "expect_closed", SC_EXPECT_CLOSED, step_expect_closed },
};
#define NACTIONS (sizeof actions / sizeof actions[0])

static const char *const step_keys[] = {
	"client", "spec", "connect", "subscribe", "unsubscribe", "publish", "disconnect", "drop", "wait",
	"send", "open", "ack", "expect", "expect_none", "expect_closed", "ws_frames", "ws_text", NULL,
};
/* Not actions: modifiers of `send` (the actions end where they start). */
static const char *const step_actions[] = {
	"connect", "subscribe", "unsubscribe", "publish", "disconnect", "drop", "wait",
	"send", "open", "ack", "expect", "expect_none", "expect_closed", NULL,
};

/* ws_frames: [SIZES] and ws_text: true on a send step of a WebSocket-only scenario. */
static void load_ws_send(ld *L, const fields *f, sc_step *st)
{
	const yaml_node_t *fr = scn__fget(f, "ws_frames"), *tx = scn__fget(f, "ws_text");
	if (!fr && !tx)
		return;
	const yaml_node_t *at = fr ? fr : tx;
	if (st->kind != SC_RAW) {
		scn__err(L, at, "'%s' goes with 'send' only (how its bytes travel over WebSocket)", fr ? "ws_frames" : "ws_text");
		return;
	}
	if (L->s->targets != SC_TARGET_WS) {
		scn__err(L, at, "'%s' needs a WebSocket transport: give the scenario 'targets: [ws]'", fr ? "ws_frames" : "ws_text");
		return;
	}
	if (tx)
		scn__n_bool(L, tx, "ws_text", &st->ws_text);
	if (!fr)
		return;
	long n = scn__word_count(L, fr, "ws_frames", SC_WS_FRAMES_MAX);
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = scn__word_item(L, fr, i);
		int64_t v;
		if (it && scn__n_int(L, it, "ws_frames", 1, 1 << 20, &v))
			st->ws_frames[st->nws_frames++] = (uint32_t)v;
	}
}

static void load_step(ld *L, const yaml_node_t *v, void *slot)
{
	sc_step *st = slot;
	st->client = -1;
	st->pos = scn__pos_of(v);
	fields f;
	if (!scn__fields_read(L, v, "step", step_keys, &f))
		return;
	const char *name = scn__only_one(L, &f, step_actions, "split it into two steps");
	const struct action *act = NULL;
	for (size_t i = 0; name && i < NACTIONS; i++)
		if (!strcmp(actions[i].key, name))
			act = &actions[i];
	if (!act && !f.unknown)
		scn__err(L, v, "step has nothing to do: give one of %s",
		         scn__join(step_actions, scn__count_of(step_actions)).s);
	if (scn__fget(&f, "client"))
		scn__n_client(L, scn__fget(&f, "client"), "client", &st->client);
	else if (act && act->kind != SC_WAIT && !(f.suggested & (1u << scn__slot(&f, "client"))))
		scn__err(L, v, "step needs 'client' (the client that does '%s')", act->key);
	if (act) {
		st->kind = act->kind;
		act->load(L, scn__fget(&f, act->key), st);
	}
	load_ws_send(L, &f, st);
	yaml_node_t *sp = scn__fget(&f, "spec");
	if (sp) {
		scn__load_ids(L, sp, &st->spec, &st->nspec, true);
	}
}

void scn__load_steps(ld *L, const yaml_node_t *v)
{
	scenario *s = L->s;
	s->steps = scn__list_load(L, v, "steps", MAX_STEPS, sizeof *s->steps, &s->nsteps, load_step);
}


static bool n_party(ld *L, const yaml_node_t *v, const char *key, int *client, int *nodei, long *inst)
{
	if (!v)
		return false;
	const char *t = scn__scalar(L, v, key, "a client or node id");
	if (!t)
		return false;
	int k = scenario_find_node(L->s, t, inst);
	if (k >= 0) {
		*nodei = k;
		return true;
	}
	return scn__n_client(L, v, key, client);
}

/* no_duplicates: { to: [a, b] }: two or more clients, which together get no message twice
 * (the members of one shared subscription group: each message goes to one of them). */
static void load_to_list(ld *L, const yaml_node_t *v, sc_expect *e)
{
	long n = scn__list_count(L, v, "to", 64);
	if (n < 0)
		return;
	if (n < 2) {
		scn__err(L, v, "'to' as a list names two or more clients (for one client write to: ID)");
		return;
	}
	e->to_more = scn__xcalloc(L, (size_t)n - 1, sizeof *e->to_more);
	for (long i = 0; i < n && e->to_more; i++) {
		yaml_node_t *it = scn__list_item(L, v, i);
		int c = -1;
		if (!it || !scn__n_client(L, it, "to", &c))
			return;
		if (i == 0)
			e->to = c;
		else
			e->to_more[e->nto_more++] = c;
	}
}

static const char *const node_exp_keys[] = { "node", "stat", "min", "max", "total", "connected", NULL };

static void load_node_expect(ld *L, const fields *g, sc_expect *e)
{
	int64_t x;
	if (scn__frequire(L, g, "node")) {
		yaml_node_t *nv = scn__fget(g, "node");
		const char *t = scn__scalar(L, nv, "node", "a node id");
		if (t && (e->from_node = scenario_find_node(L->s, t, &e->from_inst)) < 0)
			scn__err(L, nv, "unknown node %s%s", scn__quoted(t).s, L->s->nnodes ? "" : ": no nodes are declared");
	}
	yaml_node_t *sv = scn__fget(g, "stat");
	if (sv) {
		int st = scn__n_choice(L, sv, "stat", sc_node_stat_names + 1);
		if (st >= 0)
			e->stat = st + 1;
	}
	e->has_min = scn__n_int(L, scn__fget(g, "min"), "min", 0, INT64_MAX, &x);
	if (e->has_min)
		e->min = (uint64_t)x;
	e->has_max = scn__n_int(L, scn__fget(g, "max"), "max", 0, INT64_MAX, &x);
	if (e->has_max)
		e->max = (uint64_t)x;
	scn__n_bool(L, scn__fget(g, "total"), "total", &e->total);
	e->has_connected = scn__n_bool(L, scn__fget(g, "connected"), "connected", &e->connected);
	if ((scn__fget(g, "min") || scn__fget(g, "max") || scn__fget(g, "total")) && !sv)
		scn__err(L, g->map, "node: 'min', 'max' and 'total' bound a counter; name it with 'stat' (one of %s)",
		         scn__join(sc_node_stat_names + 1, scn__count_of(sc_node_stat_names + 1)).s);
	else if (sv && !scn__fget(g, "min") && !scn__fget(g, "max"))
		scn__err(L, g->map, "node: 'stat' needs a bound: 'min', 'max' or both");
	else if (!sv && !scn__fget(g, "connected") && g->map && !g->unknown)
		scn__err(L, g->map, "node needs something to check: 'stat' with 'min'/'max', or 'connected'");
}

/* ---- expectations over the whole run --------------------------------------------------- */

static const char *const run_expect_keys[] = {
	"spec", "delivered", "no_duplicates", "ordered", "retained", "will", "node", NULL,
};
#define expect_kinds (run_expect_keys + 1)
static const char *const delivered_keys[] = { "from", "to", "topic", "qos", "loss", NULL };
static const char *const to_topic_keys[] = { "to", "topic", NULL };
static const char *const retained_keys[] = { "topic", "payload", NULL };
static const char *const will_exp_keys[] = { "from", "to", "delivered", NULL };

static const struct {
	const char *kind;
	int id;
	const char *const *keys;
} expectations[] = {
	{ "delivered", SC_EXP_DELIVERED, delivered_keys },
	{ "no_duplicates", SC_EXP_NO_DUPLICATES, to_topic_keys },
	{ "ordered", SC_EXP_ORDERED, to_topic_keys },
	{ "retained", SC_EXP_RETAINED, retained_keys },
	{ "will", SC_EXP_WILL, will_exp_keys },
	{ "node", SC_EXP_NODE, node_exp_keys },
};

/* loss: a fraction ("5%", "0.05") or a count of messages ("3"). */
static void load_loss(ld *L, const yaml_node_t *v, sc_expect *e)
{
	const char *t = scn__scalar(L, v, "loss", "a fraction like 5% or a count like 3");
	int64_t n;
	if (!t)
		return;
	if (scn__parse_int(t, &n) && n >= 0) {
		e->loss_is_count = true;
		e->loss_count = (uint64_t)n;
		return;
	}
	double x = sc_parse_fraction(t);
	if (x >= 0 && !scn__parse_int(t, &n))
		e->loss = x;
	else
		scn__err(L, v, "'loss' must be a fraction like 5%% or 0.05, or a count like 3, got %s",
		         scn__quoted(t).s);
}

static void load_expect(ld *L, const yaml_node_t *v, void *slot)
{
	sc_expect *e = slot;
	e->from = e->to = -1;
	e->from_node = e->to_node = -1;
	e->pos = scn__pos_of(v);
	fields f;
	if (!scn__fields_read(L, v, "expectation", run_expect_keys, &f))
		return;
	yaml_node_t *sp = scn__fget(&f, "spec");
	if (sp) {
		scn__load_ids(L, sp, &e->spec, &e->nspec, true);
	}
	const char *kind = scn__only_one(L, &f, expect_kinds, "write one expectation per item");
	if (!kind) {
		if (f.map && !f.unknown)
			scn__err(L, v, "expectation needs a kind: one of %s",
			         scn__join(expect_kinds, scn__count_of(expect_kinds)).s);
		return;
	}
	size_t i = 0;
	while (strcmp(expectations[i].kind, kind))
		i++;
	e->kind = expectations[i].id;
	fields g;
	if (!scn__fields_read(L, scn__fget(&f, kind), kind, expectations[i].keys, &g))
		return;
	const char *const *keys = expectations[i].keys;
	if (scn__key_slot(keys, "from") >= 0 && scn__frequire(L, &g, "from"))
		n_party(L, scn__fget(&g, "from"), "from", &e->from, &e->from_node, &e->from_inst);
	yaml_node_t *tov = scn__key_slot(keys, "to") >= 0 ? scn__fget(&g, "to") : NULL;
	if (e->kind == SC_EXP_NO_DUPLICATES && tov && tov->type == YAML_SEQUENCE_NODE)
		load_to_list(L, tov, e);
	else if (scn__key_slot(keys, "to") >= 0 && scn__frequire(L, &g, "to"))
		n_party(L, tov, "to", &e->to, &e->to_node, &e->to_inst);
	if (e->kind == SC_EXP_NODE)
		load_node_expect(L, &g, e);
	if (e->kind == SC_EXP_RETAINED) {
		if (scn__frequire(L, &g, "topic"))
			scn__n_topic(L, scn__fget(&g, "topic"), "topic", false, &e->topic);
		/* payload: null says "no retained message"; it must be said, not forgotten. */
		yaml_node_t *pl = scn__fget(&g, "payload");
		if (!pl)
			scn__err(L, g.map, "retained needs 'payload' (null for \"no retained message\")");
		else if (!scn__is_null(pl))
			scn__n_str(L, pl, "payload", &e->payload);
	} else if (scn__key_slot(keys, "topic") >= 0) {
		scn__n_topic(L, scn__fget(&g, "topic"), "topic", true, &e->topic);
	}
	if (e->kind == SC_EXP_DELIVERED) {
		e->has_qos = scn__n_qos(L, scn__fget(&g, "qos"), &e->qos);
		if (scn__fget(&g, "loss"))
			load_loss(L, scn__fget(&g, "loss"), e);
	}
	if (e->kind == SC_EXP_WILL) {
		e->delivered = true;
		scn__n_bool(L, scn__fget(&g, "delivered"), "delivered", &e->delivered);
	}
}

void scn__load_expects(ld *L, const yaml_node_t *v)
{
	scenario *s = L->s;
	s->expects = scn__list_load(L, v, "expect", MAX_EXPECTS, sizeof *s->expects, &s->nexpects, load_expect);
}
