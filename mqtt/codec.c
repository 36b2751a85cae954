/*
 * codec.c - framing, the decode/encode dispatchers, and the shared readers.
 */
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>

int mqtt__fail(mqtt_err *err, int code, uint8_t reason, const char *stmt, uint32_t offset,
	       const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		err->stmt = stmt;
		err->offset = offset;
		err->reason = reason;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -code;
}

int mqtt__short(rd *r, const char *what, size_t need)
{
	/* Inside a complete packet, running out of bytes means the remaining length lied. */
	return MALFORMED(r, SID(r->version, "§2.2.3", "§2.1.4"),
			 "%s needs %zu byte%s but the packet ends %zu byte%s later", what, need,
			 need == 1 ? "" : "s", rd_left(r), rd_left(r) == 1 ? "" : "s");
}

int mqtt__rd_utf8(rd *r, mqtt_str *s, const char *what)
{
	uint32_t at = RD_OFF(r) + 2;
	int rc = rd_bin(r, s, what);
	if (rc)
		return rc;
	/* ASCII without NUL is the common case and needs no decoding. */
	for (uint32_t i = 0; i < s->len; i++) {
		uint8_t c = s->data[i];
		if (c == 0 || c >= 0x80) {
			mqtt_err tmp;
			rc = mqtt_utf8_check(s->data, s->len, r->version, r->err ? r->err : &tmp);
			if (rc && r->err) {
				r->err->offset += at;
				char m[sizeof r->err->msg];
				snprintf(m, sizeof m, "%s: %.100s", what, r->err->msg);
				memcpy(r->err->msg, m, sizeof m);
			}
			return rc;
		}
	}
	return 0;
}

int mqtt__rd_vbi(rd *r, uint32_t *v, const char *what)
{
	uint32_t val = 0;
	const uint8_t *start = r->p;
	for (int i = 0; i < 4; i++) {
		uint8_t b;
		int rc = rd_u8(r, &b, what);
		if (rc)
			return rc;
		val |= (uint32_t)(b & 0x7F) << (7 * i);
		if (!(b & 0x80)) {
			if (i > 0 && b == 0) {
				r->p = start;
				return MALFORMED(r, SID(r->version, "§2.2.3", "MQTT-1.5.5-1"),
						 "%s: variable byte integer uses %d bytes where %d would do",
						 what, i + 1, i);
			}
			*v = val;
			return 0;
		}
	}
	r->p = start;
	return MALFORMED(r, SID(r->version, "§2.2.3", "§1.5.5"),
			 "%s: variable byte integer has a fifth byte (at most four are allowed)", what);
}

int mqtt_vbi_size(uint32_t v)
{
	if (v < 128u)
		return 1;
	if (v < 16384u)
		return 2;
	if (v < 2097152u)
		return 3;
	if (v <= MQTT_VBI_MAX)
		return 4;
	return 0;
}

/* Parse the remaining length at buf[1..]. Returns header length (2..5), 0 for need more,
 * -code for a fifth byte. *minimal says whether the shortest encoding was used. */
static int frame_header(const uint8_t *buf, size_t len, uint32_t *rem, bool *minimal)
{
	uint32_t val = 0;
	for (int i = 0; i < 4; i++) {
		if ((size_t)(i + 1) >= len)
			return 0;
		uint8_t b = buf[i + 1];
		val |= (uint32_t)(b & 0x7F) << (7 * i);
		if (!(b & 0x80)) {
			*rem = val;
			*minimal = i == 0 || b != 0;
			return i + 2;
		}
	}
	return -MQTT_ERR_MALFORMED;
}

int mqtt_frame(const uint8_t *buf, size_t len, uint32_t *total)
{
	uint32_t rem;
	bool minimal;
	if (len < 1)
		return 0;
	if ((buf[0] >> 4) == 0)
		return -MQTT_ERR_MALFORMED;
	int h = frame_header(buf, len, &rem, &minimal);
	if (h <= 0)
		return h;
	*total = (uint32_t)h + rem;
	return (int)*total;
}

/* Fixed-header flags every packet type must carry (PUBLISH is checked by its reader). */
static const uint8_t required_flags[16] = {
	[MQTT_PUBREL] = 2, [MQTT_SUBSCRIBE] = 2, [MQTT_UNSUBSCRIBE] = 2,
};

static int check_first_byte(uint8_t b, uint8_t version, mqtt_err *err)
{
	unsigned type = b >> 4, flags = b & 15;
	if (type == 0)
		return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, SID(version, "§2.2.1", "§2.1.2"),
				  0, "packet type 0 is reserved and never valid");
	if (type == MQTT_AUTH && version != MQTT_V5)
		return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, "§2.2.1", 0,
				  "packet type 15 is reserved in MQTT 3.1.1 (AUTH exists only in 5.0)");
	if (type != MQTT_PUBLISH && flags != required_flags[type]) {
		/* The packets with a statement of their own cite it; the rest cite the
		 * general rule on reserved flags. */
		const char *stmt;
		if (type == MQTT_PUBREL)
			stmt = "MQTT-3.6.1-1";
		else if (type == MQTT_SUBSCRIBE)
			stmt = "MQTT-3.8.1-1";
		else if (type == MQTT_UNSUBSCRIBE)
			stmt = "MQTT-3.10.1-1";
		else if (type == MQTT_DISCONNECT)
			stmt = "MQTT-3.14.1-1";
		else if (type == MQTT_AUTH)
			stmt = "MQTT-3.15.1-1";
		else
			stmt = SID(version, "MQTT-2.2.2-2", "MQTT-2.1.3-1");
		return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, stmt, 0,
				  "%s fixed-header flags are 0x%X; they must be 0x%X", mqtt_type_name(type),
				  flags, required_flags[type]);
	}
	return 0;
}

/* The protocol level a CONNECT body declares, or 0 if it is not readable yet. */
static uint8_t connect_level(const uint8_t *body, size_t len)
{
	if (len < 2)
		return 0;
	size_t n = ((size_t)body[0] << 8) | body[1];
	if (len < 2 + n + 1)
		return 0;
	return body[2 + n];
}

int mqtt_decode(const uint8_t *buf, size_t len, uint8_t version, uint32_t max_packet_size,
		mqtt_packet *out, mqtt_err *err)
{
	uint32_t rem;
	bool minimal;

	if (version != MQTT_V5)
		version = MQTT_V311;
	if (len < 1)
		return 0;
	int rc = check_first_byte(buf[0], version, err);
	if (rc)
		return rc;
	int h = frame_header(buf, len, &rem, &minimal);
	if (h == 0)
		return 0;
	if (h < 0)
		return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, SID(version, "§2.2.3", "§1.5.5"),
				  1, "remaining length has a fifth byte (at most four are allowed)");
	uint32_t total = (uint32_t)h + rem;
	if (max_packet_size && total > max_packet_size)
		return mqtt__fail(err, MQTT_ERR_TOO_LARGE, 0x95,
				  SID(version, "§2.2.3", "§3.1.2.11.4"), 1,
				  "packet of %u bytes exceeds the maximum packet size of %u", total,
				  max_packet_size);
	if (len < total)
		return 0;

	unsigned type = buf[0] >> 4;
	uint8_t flags = buf[0] & 15;
	if (type == MQTT_CONNECT) {
		uint8_t lvl = connect_level(buf + h, rem);
		version = lvl == MQTT_V5 ? MQTT_V5 : MQTT_V311;
	}
	if (!minimal && version == MQTT_V5)
		return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, "MQTT-1.5.5-1", 1,
				  "remaining length uses %d bytes where fewer would do", h - 1);

	memset(out, 0, sizeof *out);
	out->type = (uint8_t)type;
	out->version = version;
	out->length = total;
	rd r = { buf, buf + h, buf + total, version, err };

	switch (type) {
	case MQTT_CONNECT: rc = mqtt__connect_read(&r, out, flags); break;
	case MQTT_CONNACK: rc = mqtt__connack_read(&r, out); break;
	case MQTT_PUBLISH: rc = mqtt__publish_read(&r, out, flags); break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP: rc = mqtt__ack_read(&r, out); break;
	case MQTT_SUBSCRIBE: rc = mqtt__subscribe_read(&r, out); break;
	case MQTT_SUBACK:
	case MQTT_UNSUBACK: rc = mqtt__suback_read(&r, out); break;
	case MQTT_UNSUBSCRIBE: rc = mqtt__unsubscribe_read(&r, out); break;
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
		rc = 0;
		break;
	default: rc = mqtt__disconnect_read(&r, out); break; /* DISCONNECT, AUTH */
	}
	if (rc)
		return rc;
	if (r.p != r.end)
		return MALFORMED(&r, SID(version, "§2.2.3", "§2.1.4"),
				 "%zu unexpected byte%s after the end of the %s", rd_left(&r),
				 rd_left(&r) == 1 ? "" : "s", mqtt_type_name(type));
	return (int)total;
}

size_t mqtt_encoded_size(const mqtt_packet *p)
{
	uint8_t flags;
	if (p->type < MQTT_CONNECT || p->type > MQTT_AUTH)
		return 0;
	if (p->type == MQTT_AUTH && p->version != MQTT_V5)
		return 0;
	uint32_t rem = mqtt__body_size(p, &flags);
	int h = mqtt_vbi_size(rem);
	if (h == 0)
		return 0;
	return 1u + (size_t)h + rem;
}

int mqtt_encode(const mqtt_packet *p, uint8_t *buf, size_t cap, mqtt_err *err)
{
	size_t total = mqtt_encoded_size(p);
	if (total == 0)
		return mqtt__fail(err, MQTT_ERR_ARG, 0x83, "§2", 0,
				  "%s cannot be encoded for protocol level %u: a field is out of range "
				  "or the packet exceeds %u bytes",
				  mqtt_type_name(p->type), p->version, MQTT_PACKET_MAX);
	if (total > cap)
		return mqtt__fail(err, MQTT_ERR_BUFFER, 0x83, "§2", 0,
				  "%s needs %zu bytes; the buffer holds %zu", mqtt_type_name(p->type),
				  total, cap);
	uint8_t flags;
	uint32_t rem = mqtt__body_size(p, &flags);
	uint8_t *w = buf;
	w = wr_u8(w, (uint8_t)(p->type << 4 | flags));
	w = wr_vbi(w, rem);
	w = mqtt__body_write(w, p);
	return (int)(w - buf);
}
