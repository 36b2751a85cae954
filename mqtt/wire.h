/*
 * wire.h - internal to mqtt/: bounds-checked readers and unchecked writers.
 *
 * Reads check every bound and report through mqtt_err; writes never check, because the
 * encoder sizes the whole packet first and refuses to start if it does not fit.
 */
#ifndef MQTT_WIRE_H
#define MQTT_WIRE_H

#include "mqtt.h"

#include <string.h>

/* Statement ids differ between 3.1.1 and 5.0: pick by version. */
#define SID(ver, id311, id5) ((ver) == MQTT_V5 ? (id5) : (id311))

typedef struct rd {
	const uint8_t *base;  /* first byte of the packet: offsets are relative to it */
	const uint8_t *p;
	const uint8_t *end;
	uint8_t version;
	mqtt_err *err;
} rd;

/* Fill err (if any) and return -code. Cold path. */
int mqtt__fail(mqtt_err *err, int code, uint8_t reason, const char *stmt, uint32_t offset,
	       const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 6, 7), cold))
#endif
	;

#define RD_OFF(r) ((uint32_t)((r)->p - (r)->base))
#define MALFORMED(r, stmt, ...) \
	mqtt__fail((r)->err, MQTT_ERR_MALFORMED, 0x81, (stmt), RD_OFF(r), __VA_ARGS__)
#define PROTOCOL(r, reason, stmt, ...) \
	mqtt__fail((r)->err, MQTT_ERR_PROTOCOL, (reason), (stmt), RD_OFF(r), __VA_ARGS__)

static inline size_t rd_left(const rd *r) { return (size_t)(r->end - r->p); }

int mqtt__short(rd *r, const char *what, size_t need);

static inline int rd_u8(rd *r, uint8_t *v, const char *what)
{
	if (r->p >= r->end) {
		*v = 0;
		return mqtt__short(r, what, 1);
	}
	*v = *r->p++;
	return 0;
}

static inline int rd_u16(rd *r, uint16_t *v, const char *what)
{
	if (rd_left(r) < 2) {
		*v = 0;
		return mqtt__short(r, what, 2);
	}
	*v = (uint16_t)((r->p[0] << 8) | r->p[1]);
	r->p += 2;
	return 0;
}

static inline int rd_u32(rd *r, uint32_t *v, const char *what)
{
	if (rd_left(r) < 4) {
		*v = 0;
		return mqtt__short(r, what, 4);
	}
	*v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) | ((uint32_t)r->p[2] << 8) |
	     r->p[3];
	r->p += 4;
	return 0;
}

/* Length-prefixed binary data. */
static inline int rd_bin(rd *r, mqtt_str *s, const char *what)
{
	uint16_t n;
	int rc = rd_u16(r, &n, what);
	if (rc)
		return rc;
	if (rd_left(r) < n)
		return mqtt__short(r, what, n);
	s->data = r->p;
	s->len = n;
	r->p += n;
	return 0;
}

/* Length-prefixed UTF-8 string, checked by the rules of r->version. */
int mqtt__rd_utf8(rd *r, mqtt_str *s, const char *what);

/* Variable byte integer inside a packet body (5.0: minimal encoding required). */
int mqtt__rd_vbi(rd *r, uint32_t *v, const char *what);
/* A packet identifier, which must not be 0 (MQTT-2.3.1-1; 5.0: MQTT-2.2.1-3). */
int mqtt__rd_packet_id(rd *r, uint16_t *id);
/* A 5.0 reason code for p->type into p->reason; one the packet type does not define is
 * malformed, citing stmt. */
int mqtt__rd_reason(rd *r, mqtt_packet *p, const char *stmt);

/* Property block (length + properties) for the packet type or MQTT_PROPS_WILL. */
int mqtt__props_read(rd *r, unsigned where, mqtt_props *props);
uint32_t mqtt__props_size(const mqtt_props *props);  /* the block, without its length */
uint8_t *mqtt__props_write(uint8_t *w, const mqtt_props *props, uint32_t size);
/* The field of a single-valued property id in props; the caller casts it to the C type of
 * the property's type (uint8_t, uint16_t, uint32_t, or mqtt_str for UTF-8 and binary). */
void *mqtt__prop_field(mqtt_props *props, unsigned id);
const void *mqtt__prop_cfield(const mqtt_props *props, unsigned id);

/* ---- writers ---------------------------------------------------------------------------- */

static inline uint8_t *wr_u8(uint8_t *w, uint8_t v)
{
	*w++ = v;
	return w;
}

static inline uint8_t *wr_u16(uint8_t *w, uint16_t v)
{
	w[0] = (uint8_t)(v >> 8);
	w[1] = (uint8_t)v;
	return w + 2;
}

static inline uint8_t *wr_u32(uint8_t *w, uint32_t v)
{
	w[0] = (uint8_t)(v >> 24);
	w[1] = (uint8_t)(v >> 16);
	w[2] = (uint8_t)(v >> 8);
	w[3] = (uint8_t)v;
	return w + 4;
}

static inline uint8_t *wr_str(uint8_t *w, mqtt_str s)
{
	w = wr_u16(w, (uint16_t)s.len);
	if (s.len)
		memcpy(w, s.data, s.len);
	return w + s.len;
}

static inline uint8_t *wr_vbi(uint8_t *w, uint32_t v)
{
	do {
		uint8_t b = v & 0x7F;
		v >>= 7;
		*w++ = v ? (uint8_t)(b | 0x80) : b;
	} while (v);
	return w;
}

/* Size of a length-prefixed string, or a huge value if it cannot be encoded (len > 65535). */
#define STR_SIZE(s) ((s).len <= 0xFFFFu ? 2u + (s).len : 0x80000000u)

/* ---- per-family decoders and encoders ---------------------------------------------------- */

/* Decode the body (r spans exactly the variable header + payload) of a packet whose
 * type and flags are already in p. */
int mqtt__connect_read(rd *r, mqtt_packet *p, uint8_t flags);
int mqtt__connack_read(rd *r, mqtt_packet *p);
int mqtt__publish_read(rd *r, mqtt_packet *p, uint8_t flags);
int mqtt__ack_read(rd *r, mqtt_packet *p);        /* PUBACK PUBREC PUBREL PUBCOMP */
int mqtt__subscribe_read(rd *r, mqtt_packet *p);
int mqtt__suback_read(rd *r, mqtt_packet *p);     /* SUBACK and UNSUBACK */
int mqtt__unsubscribe_read(rd *r, mqtt_packet *p);
int mqtt__disconnect_read(rd *r, mqtt_packet *p); /* DISCONNECT and AUTH */

/* Remaining length of the packet, or 0x80000000 and above if it cannot be encoded.
 * *flags receives the low nibble of the fixed header. */
uint32_t mqtt__body_size(const mqtt_packet *p, uint8_t *flags);
uint8_t *mqtt__body_write(uint8_t *w, const mqtt_packet *p);

uint32_t mqtt__connect_size(const mqtt_packet *p);
uint8_t *mqtt__connect_write(uint8_t *w, const mqtt_packet *p);
uint32_t mqtt__filters_size(const mqtt_packet *p); /* SUBSCRIBE and UNSUBSCRIBE */
uint8_t *mqtt__filters_write(uint8_t *w, const mqtt_packet *p);

#endif
