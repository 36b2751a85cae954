/*
 * publish.c - PUBLISH and its acknowledgements PUBACK, PUBREC, PUBREL, PUBCOMP.
 */
#include "wire.h"

int mqtt__rd_packet_id(rd *r, uint16_t *id)
{
	int rc = rd_u16(r, id, "packet identifier");
	if (rc)
		return rc;
	if (*id == 0) {
		r->p -= 2;
		return MALFORMED(r, SID(r->version, "MQTT-2.3.1-1", "MQTT-2.2.1-3"),
				 "packet identifier is 0; it must be non-zero");
	}
	return 0;
}

int mqtt__rd_reason(rd *r, mqtt_packet *p, const char *stmt)
{
	int rc = rd_u8(r, &p->reason, "reason code");
	if (rc)
		return rc;
	if (!mqtt_reason_allowed(p->type, p->reason)) {
		r->p--;
		return MALFORMED(r, stmt, "0x%02X is not a %s reason code", p->reason, mqtt_type_name(p->type));
	}
	return 0;
}

int mqtt__publish_read(rd *r, mqtt_packet *p, uint8_t flags)
{
	mqtt_publish *m = &p->publish;
	int rc;

	m->retain = flags & 1;
	m->qos = (flags >> 1) & 3;
	m->dup = (flags >> 3) & 1;
	if (m->qos == 3)
		return mqtt__fail(r->err, MQTT_ERR_MALFORMED, 0x81, "MQTT-3.3.1-4", 0,
				  "PUBLISH has QoS 3 (both QoS bits set)");
	if (m->dup && m->qos == 0)
		return mqtt__fail(r->err, MQTT_ERR_MALFORMED, 0x81, "MQTT-3.3.1-2", 0,
				  "PUBLISH at QoS 0 has the DUP flag set");

	uint32_t topic_at = RD_OFF(r) + 2;
	if ((rc = mqtt__rd_utf8(r, &m->topic, "topic name")))
		return rc;
	/* Wildcards are the only rule left after rd_utf8; an empty name is judged below,
	 * because in 5.0 a Topic Alias may stand in for it. */
	for (uint32_t i = 0; i < m->topic.len; i++) {
		if (m->topic.data[i] == '+' || m->topic.data[i] == '#') {
			return mqtt__fail(r->err, MQTT_ERR_PROTOCOL, 0x90, "MQTT-3.3.2-2", topic_at + i,
					  "topic name contains the wildcard '%c'", m->topic.data[i]);
		}
	}
	if (m->qos && (rc = mqtt__rd_packet_id(r, &p->packet_id)))
		return rc;
	if ((rc = mqtt__props_read(r, MQTT_PUBLISH, &p->props)))
		return rc;
	if (m->topic.len == 0 && !MQTT_HAS(&p->props, MQTT_PROP_TOPIC_ALIAS)) {
		return mqtt__fail(r->err, MQTT_ERR_PROTOCOL, r->version == MQTT_V5 ? 0x82 : 0x81,
				  SID(r->version, "MQTT-4.7.3-1", "§3.3.2.1"), topic_at - 2,
				  r->version == MQTT_V5 ? "topic name is empty and there is no Topic Alias"
							: "topic name is empty");
	}
	m->payload.data = r->p;
	m->payload.len = (uint32_t)rd_left(r);
	r->p = r->end;
	return 0;
}

static bool props_empty(const mqtt_props *p)
{
	return p->present == 0 && p->user_count == 0 && p->sub_id_count == 0;
}

int mqtt__ack_read(rd *r, mqtt_packet *p)
{
	int rc = mqtt__rd_packet_id(r, &p->packet_id);
	if (rc)
		return rc;
	if (r->version == MQTT_V311) {
		if (rd_left(r))
			return MALFORMED(r, "§2.2.3", "%s has %zu bytes after the packet identifier; it must have none",
					 mqtt_type_name(p->type), rd_left(r));
		return 0;
	}
	if (!rd_left(r))
		return 0; /* reason 0x00, no properties */
	static const char *const stmt[] = { "MQTT-3.4.2-1", "MQTT-3.5.2-1", "MQTT-3.6.2-1", "MQTT-3.7.2-1" };
	if ((rc = mqtt__rd_reason(r, p, stmt[p->type - MQTT_PUBACK])))
		return rc;
	if (!rd_left(r))
		return 0;
	return mqtt__props_read(r, p->type, &p->props);
}

/* Remaining length of an ack: 3.1.1 always 2; 5.0 uses the short forms when it can. */
static uint32_t ack_size(const mqtt_packet *p, uint32_t *props_size)
{
	*props_size = 0;
	if (p->version != MQTT_V5)
		return 2;
	if (props_empty(&p->props))
		return p->reason ? 3 : 2;
	*props_size = mqtt__props_size(&p->props);
	return 3 + (uint32_t)mqtt_vbi_size(*props_size) + *props_size;
}

uint32_t mqtt__body_size(const mqtt_packet *p, uint8_t *flags)
{
	uint32_t ps;
	uint64_t n;
	bool v5 = p->version == MQTT_V5;

	*flags = 0;
	switch (p->type) {
	case MQTT_CONNECT:
		return mqtt__connect_size(p);
	case MQTT_CONNACK:
		if (!v5)
			return 2;
		ps = mqtt__props_size(&p->props);
		return 2 + (uint32_t)mqtt_vbi_size(ps) + ps;
	case MQTT_PUBLISH: {
		const mqtt_publish *m = &p->publish;
		if (m->qos > 2)
			return 0x80000000u;
		*flags = (uint8_t)((m->dup ? 8 : 0) | m->qos << 1 | (m->retain ? 1 : 0));
		n = (uint64_t)STR_SIZE(m->topic) + (m->qos ? 2 : 0) + m->payload.len;
		if (v5) {
			ps = mqtt__props_size(&p->props);
			n += (uint64_t)mqtt_vbi_size(ps) + ps;
		}
		return n > MQTT_VBI_MAX ? 0x80000000u : (uint32_t)n;
	}
	case MQTT_PUBREL:
		*flags = 2;
		/* fall through */
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBCOMP:
		return ack_size(p, &ps);
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		*flags = 2;
		return mqtt__filters_size(p);
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		if (!v5)
			return p->type == MQTT_SUBACK ? 2 + p->codes.len : 2;
		ps = mqtt__props_size(&p->props);
		n = 2 + (uint64_t)mqtt_vbi_size(ps) + ps + p->codes.len;
		return n > MQTT_VBI_MAX ? 0x80000000u : (uint32_t)n;
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
		return 0;
	default: /* DISCONNECT, AUTH */
		if (!v5)
			return 0;
		/* Short forms: both may be empty for reason 0 without properties; only
		 * DISCONNECT may also stop after its reason code. */
		if (props_empty(&p->props) && !p->reason)
			return 0;
		if (props_empty(&p->props) && p->type == MQTT_DISCONNECT)
			return 1;
		ps = mqtt__props_size(&p->props);
		return 1 + (uint32_t)mqtt_vbi_size(ps) + ps;
	}
}

uint8_t *mqtt__body_write(uint8_t *w, const mqtt_packet *p)
{
	uint32_t ps, n;
	bool v5 = p->version == MQTT_V5;

	switch (p->type) {
	case MQTT_CONNECT:
		return mqtt__connect_write(w, p);
	case MQTT_CONNACK:
		w = wr_u8(w, p->session_present ? 1 : 0);
		w = wr_u8(w, p->reason);
		if (v5)
			w = mqtt__props_write(w, &p->props, mqtt__props_size(&p->props));
		return w;
	case MQTT_PUBLISH:
		w = wr_str(w, p->publish.topic);
		if (p->publish.qos)
			w = wr_u16(w, p->packet_id);
		if (v5)
			w = mqtt__props_write(w, &p->props, mqtt__props_size(&p->props));
		if (p->publish.payload.len)
			memcpy(w, p->publish.payload.data, p->publish.payload.len);
		return w + p->publish.payload.len;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		n = ack_size(p, &ps);
		w = wr_u16(w, p->packet_id);
		if (n >= 3)
			w = wr_u8(w, p->reason);
		if (n > 3)
			w = mqtt__props_write(w, &p->props, ps);
		return w;
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		return mqtt__filters_write(w, p);
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		w = wr_u16(w, p->packet_id);
		if (v5)
			w = mqtt__props_write(w, &p->props, mqtt__props_size(&p->props));
		if (v5 || p->type == MQTT_SUBACK) {
			if (p->codes.len)
				memcpy(w, p->codes.data, p->codes.len);
			w += p->codes.len;
		}
		return w;
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
		return w;
	default: /* DISCONNECT, AUTH */
		if (!v5)
			return w;
		if (props_empty(&p->props) && !p->reason)
			return w;
		w = wr_u8(w, p->reason);
		if (props_empty(&p->props) && p->type == MQTT_DISCONNECT)
			return w;
		return mqtt__props_write(w, &p->props, mqtt__props_size(&p->props));
	}
}
