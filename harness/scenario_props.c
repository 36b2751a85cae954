/*
 * scenario_props.c - the scenario loader's MQTT 5.0 part: `version:` and `properties:`.
 *
 * A scenario names properties by their names in the standard, in words and in full
 * (`receive_maximum`, `assigned_client_identifier`), as its other keys are. Which packet may
 * carry which property is the codec's table (mqtt_prop_lookup), so the loader and the
 * decoder never disagree; a property in the wrong packet is an error at its key.
 */
#include "harness/scenario_load_internal.h"

#include "mqtt/mqtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_USER_PROPS 1000
#define MAX_SUB_IDS 64              /* identifiers expected in one PUBLISH (client.c compares as many) */

/* The scenario's names, by property id. Authentication Method and Data can be sent in a
 * CONNECT and checked in a CONNACK; an AUTH exchange itself is not scripted yet. */
static const char *const prop_names[SC_PROP_IDS] = {
	[MQTT_PROP_PAYLOAD_FORMAT] = "payload_format",
	[MQTT_PROP_MESSAGE_EXPIRY] = "message_expiry",
	[MQTT_PROP_CONTENT_TYPE] = "content_type",
	[MQTT_PROP_RESPONSE_TOPIC] = "response_topic",
	[MQTT_PROP_CORRELATION_DATA] = "correlation_data",
	[MQTT_PROP_SUBSCRIPTION_ID] = "subscription_identifier",
	[MQTT_PROP_SESSION_EXPIRY] = "session_expiry",
	[MQTT_PROP_ASSIGNED_CLIENT_ID] = "assigned_client_identifier",
	[MQTT_PROP_SERVER_KEEPALIVE] = "server_keep_alive",
	[MQTT_PROP_REQUEST_PROBLEM_INFO] = "request_problem_information",
	[MQTT_PROP_WILL_DELAY] = "will_delay",
	[MQTT_PROP_REQUEST_RESPONSE_INFO] = "request_response_information",
	[MQTT_PROP_RESPONSE_INFO] = "response_information",
	[MQTT_PROP_SERVER_REFERENCE] = "server_reference",
	[MQTT_PROP_REASON_STRING] = "reason_string",
	[MQTT_PROP_RECEIVE_MAX] = "receive_maximum",
	[MQTT_PROP_TOPIC_ALIAS_MAX] = "topic_alias_maximum",
	[MQTT_PROP_TOPIC_ALIAS] = "topic_alias",
	[MQTT_PROP_MAX_QOS] = "maximum_qos",
	[MQTT_PROP_RETAIN_AVAILABLE] = "retain_available",
	[MQTT_PROP_USER] = "user_properties",
	[MQTT_PROP_MAX_PACKET_SIZE] = "maximum_packet_size",
	[MQTT_PROP_WILDCARD_SUB_AVAILABLE] = "wildcard_subscription_available",
	[MQTT_PROP_SUB_ID_AVAILABLE] = "subscription_identifier_available",
	[MQTT_PROP_SHARED_SUB_AVAILABLE] = "shared_subscription_available",
	[MQTT_PROP_AUTH_METHOD] = "authentication_method",
	[MQTT_PROP_AUTH_DATA] = "authentication_data",
};

const char *sc_prop_name(unsigned id)
{
	return id < SC_PROP_IDS ? prop_names[id] : NULL;
}

/* The keys of a properties mapping, built once from prop_names (NULL-terminated). */
static const char *const *prop_keys(unsigned char ids[SC_PROP_IDS])
{
	static const char *keys[SC_PROP_IDS + 1];
	static unsigned char by_slot[SC_PROP_IDS];
	static size_t n;
	if (!n)
		for (unsigned id = 0; id < SC_PROP_IDS; id++)
			if (prop_names[id]) {
				by_slot[n] = (unsigned char)id;
				keys[n++] = prop_names[id];
			}
	memcpy(ids, by_slot, sizeof by_slot);
	return keys;
}

bool scn__n_version(ld *L, const yaml_node_t *v, uint8_t *out)
{
	if (!v)
		return false;
	const char *t = scn__scalar(L, v, "version", "3.1.1 or 5.0");
	if (!t)
		return false;
	if (!strcmp(t, "3.1.1")) {
		*out = MQTT_V311;
		return true;
	}
	if (!strcmp(t, "5.0") || !strcmp(t, "5")) {
		*out = MQTT_V5;
		return true;
	}
	scn__err(L, v, "'version' must be 3.1.1 or 5.0, got %s", scn__quoted(t).s);
	return false;
}

bool scn__need_v5(ld *L, const sc_step *st, const yaml_node_t *k, const char *key)
{
	if (st->client < 0 || (size_t)st->client >= L->s->nclients)
		return true;
	const sc_client *c = &L->s->clients[st->client];
	if (c->version == MQTT_V5)
		return true;
	scn__err(L, k, "'%s' is MQTT 5.0, but client '%s' speaks 3.1.1; give the scenario or the client "
		       "'version: 5.0'", key, c->id ? c->id : "?");
	return false;
}

void scn__props_free(sc_props *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < SC_PROP_IDS; i++)
		free(p->str[i]);
	for (size_t i = 0; i < p->nuser; i++) {
		free(p->user[i].name);
		free(p->user[i].value);
	}
	free(p->user);
	free(p->sub_ids);
	free(p);
}

static const char *where_name(int where)
{
	return where == MQTT_PROPS_WILL ? "a will" : mqtt_type_name((unsigned)where);
}

/* "CONNECT, CONNACK": the packets a property may go in. */
static txt packets_of(uint32_t mask)
{
	const char *names[18];
	size_t n = 0;
	for (unsigned t = 1; t <= MQTT_PROPS_WILL; t++)
		if (mask & (1u << t))
			names[n++] = t == MQTT_PROPS_WILL ? "will properties" : mqtt_type_name(t);
	return scn__join(names, n);
}

static void load_user(ld *L, const yaml_node_t *v, sc_props *p)
{
	long n = scn__list_count(L, v, "user_properties", MAX_USER_PROPS);
	if (n < 0 || !(p->user = scn__xcalloc(L, n ? (size_t)n : 1, sizeof *p->user)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = scn__list_item(L, v, i);
		if (!it)
			return;
		if (it->type != YAML_SEQUENCE_NODE || it->data.sequence.items.top - it->data.sequence.items.start != 2) {
			scn__err(L, it, "each of 'user_properties' is a pair [name, value], got %s", scn__describe(it).s);
			continue;
		}
		sc_user_prop *u = &p->user[p->nuser];
		yaml_node_t *a = scn__list_item(L, it, 0), *b = scn__list_item(L, it, 1);
		bool ok_name = a && scn__n_str(L, a, "user_properties", &u->name);
		bool ok_value = b && scn__n_str(L, b, "user_properties", &u->value); /* both reported */
		if (ok_name && ok_value)
			p->nuser++;
		else {
			free(u->name);
			free(u->value);
			memset(u, 0, sizeof *u);
		}
	}
}

static void load_sub_ids(ld *L, const yaml_node_t *v, sc_props *p)
{
	long n = scn__word_count(L, v, "subscription_identifier", MAX_SUB_IDS);
	if (n == 0)
		scn__err(L, v, "'subscription_identifier' needs at least one identifier (or 'absent')");
	if (n <= 0 || !(p->sub_ids = scn__xcalloc(L, (size_t)n, sizeof *p->sub_ids)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = scn__word_item(L, v, i);
		int64_t x;
		if (it && scn__n_int(L, it, "subscription_identifier", 1, MQTT_VBI_MAX, &x))
			p->sub_ids[p->nsub_ids++] = (uint32_t)x;
	}
}

sc_props *scn__load_props(ld *L, const yaml_node_t *v, int where, bool expect)
{
	if (!v)
		return NULL;
	unsigned char ids[SC_PROP_IDS];
	const char *const *keys = prop_keys(ids);
	char what[64];
	snprintf(what, sizeof what, "the properties of %s", where_name(where));
	fields f;
	if (!scn__fields_read(L, v, what, keys, &f))
		return NULL;
	sc_props *p = scn__xcalloc(L, 1, sizeof *p);
	if (!p)
		return NULL;
	for (size_t slot = 0; keys[slot]; slot++) {
		yaml_node_t *k = f.key[slot], *val = f.val[slot];
		if (!k)
			continue;
		unsigned id = ids[slot];
		const mqtt_prop_info *info = mqtt_prop_lookup(id);
		const char *name = keys[slot];
		if (!(info->where & (1u << where))) {
			scn__err(L, k, "%s cannot carry '%s' (%s goes in %s)", where_name(where), name, info->name,
			         packets_of(info->where).s);
			continue;
		}
		if (!expect && id == MQTT_PROP_TOPIC_ALIAS) {
			scn__err(L, k, "give 'topic_alias' on the publish step itself, not in its properties");
			continue;
		}
		if (!expect && id == MQTT_PROP_SUBSCRIPTION_ID && where == MQTT_SUBSCRIBE) {
			scn__err(L, k, "give 'subscription_identifier' on the subscription ({ filter, qos, "
				       "subscription_identifier }), not in the properties");
			continue;
		}
		/* Expectations: `present` and `absent`, written plain, are words, not values. */
		if (expect && scn__is_scalar(val) && val->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (!strcmp(scn__sval(val), "present") || !strcmp(scn__sval(val), "absent"))) {
			if (!strcmp(scn__sval(val), "present"))
				p->any |= (uint64_t)1 << id;
			else
				p->absent |= (uint64_t)1 << id;
			continue;
		}
		int64_t x;
		bool ok = false;
		if (id == MQTT_PROP_USER) {
			load_user(L, val, p);
			ok = true;
		} else if (id == MQTT_PROP_SUBSCRIPTION_ID && expect && where == MQTT_PUBLISH) {
			load_sub_ids(L, val, p);
			ok = p->nsub_ids > 0;
		} else {
			switch (info->type) {
			case MQTT_PT_BYTE: ok = scn__n_int(L, val, name, 0, UINT8_MAX, &x); break;
			case MQTT_PT_U16: ok = scn__n_int(L, val, name, 0, UINT16_MAX, &x); break;
			case MQTT_PT_U32: ok = scn__n_int(L, val, name, 0, UINT32_MAX, &x); break;
			case MQTT_PT_VBI: ok = scn__n_int(L, val, name, 1, MQTT_VBI_MAX, &x); break;
			default: ok = scn__n_str(L, val, name, &p->str[id]); break;
			}
			if (ok && info->type <= MQTT_PT_VBI)
				p->num[id] = (uint32_t)x;
			if (ok && id == MQTT_PROP_SUBSCRIPTION_ID) {
				/* One identifier, held as a list of one, as a PUBLISH's are. */
				if ((p->sub_ids = scn__xcalloc(L, 1, sizeof *p->sub_ids))) {
					p->sub_ids[0] = (uint32_t)x;
					p->nsub_ids = 1;
				}
			}
		}
		if (ok)
			p->present |= (uint64_t)1 << id;
	}
	return p;
}
