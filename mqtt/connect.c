/*
 * connect.c - CONNECT and CONNACK.
 */
#include "wire.h"

#define CF_RESERVED 0x01
#define CF_CLEAN 0x02
#define CF_WILL 0x04
#define CF_WILL_QOS_SHIFT 3
#define CF_WILL_RETAIN 0x20
#define CF_PASSWORD 0x40
#define CF_USERNAME 0x80

/* A field the flags promise must be there: cite the promise, not the length rule. */
static int need(rd *r, const char *stmt, const char *what)
{
	if (rd_left(r))
		return 0;
	return MALFORMED(r, stmt, "the packet ends where the %s should be", what);
}

static bool str_is(mqtt_str s, const char *lit, uint32_t n)
{
	return s.len == n && memcmp(s.data, lit, n) == 0;
}

int mqtt__connect_read(rd *r, mqtt_packet *p, uint8_t flags)
{
	mqtt_connect *c = &p->connect;
	uint8_t level, cf;
	int rc;
	(void)flags; /* checked by the dispatcher */

	/* The level decides which rules apply, so read it before judging the name. */
	const uint8_t *name_at = r->p;
	if ((rc = mqtt__rd_utf8(r, &c->protocol_name, "protocol name")) ||
	    (rc = rd_u8(r, &level, "protocol level")))
		return rc;
	if (level != MQTT_V311 && level != MQTT_V5) {
		r->p--;
		const char *what = str_is(c->protocol_name, "MQIsdp", 6) ? " (MQTT 3.1)" : "";
		return mqtt__fail(r->err, MQTT_ERR_VERSION, 0x84, SID(r->version, "MQTT-3.1.2-2", "MQTT-3.1.2-2"),
				  RD_OFF(r), "protocol level %u%s is not supported; 4 (3.1.1) and 5 (5.0) are",
				  level, what);
	}
	if (!str_is(c->protocol_name, "MQTT", 4)) {
		r->p = name_at;
		return PROTOCOL(r, 0x84, "MQTT-3.1.2-1", "protocol name is \"%.*s\"; it must be \"MQTT\"",
				(int)(c->protocol_name.len > 16 ? 16 : c->protocol_name.len),
				(const char *)c->protocol_name.data);
	}
	if ((rc = rd_u8(r, &cf, "connect flags")))
		return rc;
	r->p--;
	if (cf & CF_RESERVED)
		return MALFORMED(r, "MQTT-3.1.2-3", "reserved bit 0 of the connect flags is set; it must be 0");
	c->clean_start = cf & CF_CLEAN;
	c->will = cf & CF_WILL;
	c->will_qos = (cf >> CF_WILL_QOS_SHIFT) & 3;
	c->will_retain = cf & CF_WILL_RETAIN;
	c->has_password = cf & CF_PASSWORD;
	c->has_username = cf & CF_USERNAME;
	if (!c->will && c->will_qos)
		return MALFORMED(r, SID(r->version, "MQTT-3.1.2-13", "MQTT-3.1.2-11"), "will QoS is %u but the will flag is 0", c->will_qos);
	if (c->will_qos == 3)
		return MALFORMED(r, SID(r->version, "MQTT-3.1.2-14", "MQTT-3.1.2-12"), "will QoS is 3; only 0, 1 and 2 exist");
	if (!c->will && c->will_retain)
		return MALFORMED(r, SID(r->version, "MQTT-3.1.2-15", "MQTT-3.1.2-13"), "will retain is 1 but the will flag is 0");
	if (r->version == MQTT_V311 && c->has_password && !c->has_username)
		return MALFORMED(r, "MQTT-3.1.2-22", "password flag is 1 but the user name flag is 0");
	r->p++;
	if ((rc = rd_u16(r, &c->keepalive_s, "keep alive")))
		return rc;
	if ((rc = mqtt__props_read(r, MQTT_CONNECT, &p->props)))
		return rc;
	if ((rc = need(r, "MQTT-3.1.3-3", "client identifier")) ||
	    (rc = mqtt__rd_utf8(r, &c->client_id, "client identifier")))
		return rc;
	if (c->will) {
		if ((rc = need(r, "MQTT-3.1.2-9", "will fields")) ||
		    (rc = mqtt__props_read(r, MQTT_PROPS_WILL, &c->will_props)) ||
		    (rc = need(r, "MQTT-3.1.2-9", "will topic")))
			return rc;
		uint32_t at = RD_OFF(r) + 2;
		if ((rc = mqtt__rd_utf8(r, &c->will_topic, "will topic")))
			return rc;
		if ((rc = mqtt_topic_name_check(c->will_topic.data, c->will_topic.len, r->version, r->err))) {
			if (r->err) {
				/* An empty topic is pointed at by its length, like other strings. */
				r->err->offset += c->will_topic.len ? at : at - 2;
				r->err->reason = 0x90;
			}
			return rc;
		}
		if ((rc = need(r, "MQTT-3.1.2-9", "will message")) ||
		    (rc = rd_bin(r, &c->will_payload, "will message")))
			return rc;
	}
	if (c->has_username &&
	    ((rc = need(r, SID(r->version, "MQTT-3.1.2-19", "MQTT-3.1.2-17"), "user name")) ||
	     (rc = mqtt__rd_utf8(r, &c->username, "user name"))))
		return rc;
	if (c->has_password &&
	    ((rc = need(r, SID(r->version, "MQTT-3.1.2-21", "MQTT-3.1.2-19"), "password")) ||
	     (rc = rd_bin(r, &c->password, "password"))))
		return rc;
	return 0;
}

uint32_t mqtt__connect_size(const mqtt_packet *p)
{
	const mqtt_connect *c = &p->connect;
	uint64_t n = 6 + 1 + 1 + 2 + (uint64_t)STR_SIZE(c->client_id);
	if (p->version == MQTT_V5) {
		uint32_t ps = mqtt__props_size(&p->props);
		n += (uint64_t)mqtt_vbi_size(ps) + ps;
	}
	if (c->will) {
		if (p->version == MQTT_V5) {
			uint32_t ps = mqtt__props_size(&c->will_props);
			n += (uint64_t)mqtt_vbi_size(ps) + ps;
		}
		n += (uint64_t)STR_SIZE(c->will_topic) + STR_SIZE(c->will_payload);
	}
	if (c->has_username)
		n += STR_SIZE(c->username);
	if (c->has_password)
		n += STR_SIZE(c->password);
	if (c->will_qos > 2)
		return 0x80000000u;
	return n > MQTT_VBI_MAX ? 0x80000000u : (uint32_t)n;
}

uint8_t *mqtt__connect_write(uint8_t *w, const mqtt_packet *p)
{
	const mqtt_connect *c = &p->connect;
	uint8_t cf = 0;
	if (c->clean_start)
		cf |= CF_CLEAN;
	if (c->will)
		cf |= CF_WILL | (uint8_t)(c->will_qos << CF_WILL_QOS_SHIFT) |
		      (c->will_retain ? CF_WILL_RETAIN : 0);
	if (c->has_password)
		cf |= CF_PASSWORD;
	if (c->has_username)
		cf |= CF_USERNAME;
	w = wr_str(w, MQTT_STR("MQTT"));
	w = wr_u8(w, p->version);
	w = wr_u8(w, cf);
	w = wr_u16(w, c->keepalive_s);
	if (p->version == MQTT_V5)
		w = mqtt__props_write(w, &p->props, mqtt__props_size(&p->props));
	w = wr_str(w, c->client_id);
	if (c->will) {
		if (p->version == MQTT_V5)
			w = mqtt__props_write(w, &c->will_props, mqtt__props_size(&c->will_props));
		w = wr_str(w, c->will_topic);
		w = wr_str(w, c->will_payload);
	}
	if (c->has_username)
		w = wr_str(w, c->username);
	if (c->has_password)
		w = wr_str(w, c->password);
	return w;
}

int mqtt__connack_read(rd *r, mqtt_packet *p)
{
	uint8_t af;
	int rc;
	if ((rc = rd_u8(r, &af, "acknowledge flags")))
		return rc;
	if (af & 0xFE) {
		r->p--;
		return MALFORMED(r, SID(r->version, "§3.2.2.1", "MQTT-3.2.2-1"),
				 "CONNACK acknowledge flags are 0x%02X; bits 7-1 are reserved and must be 0", af);
	}
	p->session_present = af & 1;
	if ((rc = rd_u8(r, &p->reason, SID(r->version, "return code", "reason code"))))
		return rc;
	r->p--;
	if (r->version == MQTT_V311) {
		if (p->reason > 5)
			return MALFORMED(r, "§3.2.2.3", "CONNACK return code %u is reserved (0-5 exist)",
					 p->reason);
		if (p->reason && p->session_present)
			return PROTOCOL(r, 0x82, "MQTT-3.2.2-4",
					"CONNACK refuses the connection (code %u) yet says session present",
					p->reason);
	} else {
		if (!mqtt_reason_allowed(MQTT_CONNACK, p->reason))
			return MALFORMED(r, "MQTT-3.2.2-8", "0x%02X is not a CONNACK reason code", p->reason);
		if (p->reason >= 0x80 && p->session_present)
			return PROTOCOL(r, 0x82, "MQTT-3.2.2-6",
					"CONNACK refuses the connection (0x%02X) yet says session present",
					p->reason);
	}
	r->p++;
	return mqtt__props_read(r, MQTT_CONNACK, &p->props);
}
