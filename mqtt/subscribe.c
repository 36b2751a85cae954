/*
 * subscribe.c - SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK.
 *
 * The list payloads are validated once at decode and then left in wire form; the
 * iterators below re-walk them without checks.
 */
#include "wire.h"


/* A filter: UTF-8 and at least one character. Syntax is mqtt_validate()'s job. */
static int read_filter(rd *r, mqtt_str *f)
{
	const uint8_t *at = r->p;
	int rc = mqtt__rd_utf8(r, f, "topic filter");
	if (rc)
		return rc;
	if (f->len == 0) {
		r->p = at;
		return PROTOCOL(r, 0x8F, "MQTT-4.7.3-1", "topic filter is empty; it needs at least one character");
	}
	return 0;
}

static uint8_t opts_of(const mqtt_sub *s, uint8_t version)
{
	uint8_t o = s->qos & 3;
	if (version == MQTT_V5)
		o |= (uint8_t)((s->no_local ? 4 : 0) | (s->retain_as_published ? 8 : 0) |
			       (s->retain_handling & 3) << 4);
	return o;
}

int mqtt__subscribe_read(rd *r, mqtt_packet *p)
{
	int rc;
	bool v5 = r->version == MQTT_V5;
	if ((rc = mqtt__rd_packet_id(r, &p->packet_id)) ||
	    (rc = mqtt__props_read(r, MQTT_SUBSCRIBE, &p->props)))
		return rc;
	if (!rd_left(r))
		return PROTOCOL(r, 0x82, SID(r->version, "MQTT-3.8.3-3", "MQTT-3.8.3-2"),
				"SUBSCRIBE has no topic filters; it needs at least one");
	p->subscribe.raw.data = r->p;
	p->subscribe.raw.len = (uint32_t)rd_left(r);
	while (rd_left(r)) {
		mqtt_str f;
		uint8_t o;
		if ((rc = read_filter(r, &f)) ||
		    (rc = rd_u8(r, &o, "subscription options")))
			return rc;
		r->p--;
		if (!v5) {
			if (o & 0xFC)
				return MALFORMED(r, "MQTT-3-8.3-4",
						 "requested QoS byte is 0x%02X; its upper six bits are reserved and must be 0", o);
			if ((o & 3) == 3)
				return MALFORMED(r, "MQTT-3-8.3-4", "requested QoS is 3; only 0, 1 and 2 exist");
		} else {
			if (o & 0xC0)
				return MALFORMED(r, "MQTT-3.8.3-5",
						 "subscription options are 0x%02X; bits 7-6 are reserved and must be 0", o);
			if ((o & 3) == 3)
				return PROTOCOL(r, 0x82, "§3.8.3.1", "maximum QoS in the subscription options is 3");
			if (((o >> 4) & 3) == 3)
				return PROTOCOL(r, 0x82, "§3.8.3.1", "retain handling is 3; only 0, 1 and 2 exist");
		}
		r->p++;
		p->subscribe.count++;
	}
	return 0;
}

bool mqtt_sub_next(const mqtt_sub_list *l, uint8_t version, mqtt_iter *it, mqtt_sub *out)
{
	if (it->index >= l->count)
		return false;
	if (l->items) {
		*out = l->items[it->index++];
		return true;
	}
	if (it->pos + 3 > l->raw.len)
		return false;
	const uint8_t *q = l->raw.data + it->pos;
	out->filter.len = (uint32_t)((q[0] << 8) | q[1]);
	out->filter.data = q + 2;
	uint8_t o = q[2 + out->filter.len];
	out->qos = o & 3;
	out->no_local = version == MQTT_V5 && (o & 4);
	out->retain_as_published = version == MQTT_V5 && (o & 8);
	out->retain_handling = version == MQTT_V5 ? (o >> 4) & 3 : 0;
	it->pos += 3 + out->filter.len;
	it->index++;
	return true;
}

bool mqtt_str_next(const mqtt_str_list *l, mqtt_iter *it, mqtt_str *out)
{
	if (it->index >= l->count)
		return false;
	if (l->items) {
		*out = l->items[it->index++];
		return true;
	}
	if (it->pos + 2 > l->raw.len)
		return false;
	const uint8_t *q = l->raw.data + it->pos;
	out->len = (uint32_t)((q[0] << 8) | q[1]);
	out->data = q + 2;
	it->pos += 2 + out->len;
	it->index++;
	return true;
}

/* SUBSCRIBE and UNSUBSCRIBE are written alike: the packet identifier, (5.0) the properties,
 * then the topic filters, each followed by its options byte in a SUBSCRIBE. */
uint32_t mqtt__filters_size(const mqtt_packet *p)
{
	uint64_t n = 2;
	if (p->version == MQTT_V5) {
		uint32_t ps = mqtt__props_size(&p->props);
		n += (uint64_t)mqtt_vbi_size(ps) + ps;
	}
	mqtt_iter it = { 0, 0 };
	mqtt_sub s;
	mqtt_str f;
	if (p->type == MQTT_SUBSCRIBE)
		while (mqtt_sub_next(&p->subscribe, p->version, &it, &s))
			n += (uint64_t)STR_SIZE(s.filter) + 1;
	else
		while (mqtt_str_next(&p->unsubscribe, &it, &f))
			n += STR_SIZE(f);
	return n > MQTT_VBI_MAX ? 0x80000000u : (uint32_t)n;
}

uint8_t *mqtt__filters_write(uint8_t *w, const mqtt_packet *p)
{
	w = wr_u16(w, p->packet_id);
	if (p->version == MQTT_V5)
		w = mqtt__props_write(w, &p->props, mqtt__props_size(&p->props));
	mqtt_iter it = { 0, 0 };
	mqtt_sub s;
	mqtt_str f;
	if (p->type == MQTT_SUBSCRIBE)
		while (mqtt_sub_next(&p->subscribe, p->version, &it, &s)) {
			w = wr_str(w, s.filter);
			w = wr_u8(w, opts_of(&s, p->version));
		}
	else
		while (mqtt_str_next(&p->unsubscribe, &it, &f))
			w = wr_str(w, f);
	return w;
}

int mqtt__unsubscribe_read(rd *r, mqtt_packet *p)
{
	int rc;
	if ((rc = mqtt__rd_packet_id(r, &p->packet_id)) ||
	    (rc = mqtt__props_read(r, MQTT_UNSUBSCRIBE, &p->props)))
		return rc;
	if (!rd_left(r))
		return PROTOCOL(r, 0x82, "MQTT-3.10.3-2",
				"UNSUBSCRIBE has no topic filters; it needs at least one");
	p->unsubscribe.raw.data = r->p;
	p->unsubscribe.raw.len = (uint32_t)rd_left(r);
	while (rd_left(r)) {
		mqtt_str f;
		if ((rc = read_filter(r, &f)))
			return rc;
		p->unsubscribe.count++;
	}
	return 0;
}

int mqtt__suback_read(rd *r, mqtt_packet *p)
{
	int rc;
	if ((rc = mqtt__rd_packet_id(r, &p->packet_id)))
		return rc;
	if (r->version == MQTT_V311 && p->type == MQTT_UNSUBACK) {
		if (rd_left(r))
			return MALFORMED(r, "§3.11.1", "UNSUBACK has %zu bytes after the packet identifier; it must have none",
					 rd_left(r));
		return 0;
	}
	if ((rc = mqtt__props_read(r, p->type, &p->props)))
		return rc;
	if (!rd_left(r))
		return MALFORMED(r, p->type == MQTT_SUBACK ? "§3.9.3" : "§3.11.3",
				 "%s has no reason codes; it needs one per topic filter", mqtt_type_name(p->type));
	p->codes.data = r->p;
	p->codes.len = (uint32_t)rd_left(r);
	for (; rd_left(r); r->p++) {
		uint8_t c = *r->p;
		if (r->version == MQTT_V311) {
			if (c > 2 && c != 0x80)
				return MALFORMED(r, "MQTT-3.9.3-2",
						 "SUBACK return code 0x%02X is reserved (0x00, 0x01, 0x02, 0x80 exist)", c);
		} else if (!mqtt_reason_allowed(p->type, c)) {
			return MALFORMED(r, p->type == MQTT_SUBACK ? "MQTT-3.9.3-2" : "MQTT-3.11.3-2",
					 "0x%02X is not a %s reason code", c, mqtt_type_name(p->type));
		}
	}
	return 0;
}
