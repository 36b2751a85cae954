/*
 * print.c - names of types and codes, and the one-line and JSON packet printers used by
 * traces, `mqttsim decode` and reports.
 */
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const type_names[16] = {
	"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
};

const char *mqtt_type_name(unsigned type)
{
	return type < 16 ? type_names[type] : "?";
}

const char *mqtt_rc_name(int code)
{
	switch (code < 0 ? -code : code) {
	case MQTT_OK: return "ok";
	case MQTT_ERR_MALFORMED: return "malformed packet";
	case MQTT_ERR_PROTOCOL: return "protocol error";
	case MQTT_ERR_TOO_LARGE: return "packet too large";
	case MQTT_ERR_VERSION: return "unsupported protocol version";
	case MQTT_ERR_BUFFER: return "buffer too small";
	case MQTT_ERR_ARG: return "cannot encode";
	default: return "unknown error";
	}
}

#define W(t) (1u << (t))
#define PUBAR (W(MQTT_PUBACK) | W(MQTT_PUBREC))
#define DIS W(MQTT_DISCONNECT)
#define CA W(MQTT_CONNACK)

/* Reason codes of MQTT 5.0 and the packets that may carry each. */
static const struct {
	uint8_t code;
	uint32_t where;
	const char *name;
} reasons[] = {
	{ 0x00, CA | PUBAR | W(MQTT_PUBREL) | W(MQTT_PUBCOMP) | W(MQTT_UNSUBACK) | W(MQTT_AUTH) |
			W(MQTT_SUBACK) | DIS, "Success" },
	{ 0x01, W(MQTT_SUBACK), "Granted QoS 1" },
	{ 0x02, W(MQTT_SUBACK), "Granted QoS 2" },
	{ 0x04, DIS, "Disconnect with Will Message" },
	{ 0x10, PUBAR, "No matching subscribers" },
	{ 0x11, W(MQTT_UNSUBACK), "No subscription existed" },
	{ 0x18, W(MQTT_AUTH), "Continue authentication" },
	{ 0x19, W(MQTT_AUTH), "Re-authenticate" },
	{ 0x80, CA | PUBAR | W(MQTT_SUBACK) | W(MQTT_UNSUBACK) | DIS, "Unspecified error" },
	{ 0x81, CA | DIS, "Malformed Packet" },
	{ 0x82, CA | DIS, "Protocol Error" },
	{ 0x83, CA | PUBAR | W(MQTT_SUBACK) | W(MQTT_UNSUBACK) | DIS, "Implementation specific error" },
	{ 0x84, CA, "Unsupported Protocol Version" },
	{ 0x85, CA, "Client Identifier not valid" },
	{ 0x86, CA, "Bad User Name or Password" },
	{ 0x87, CA | PUBAR | W(MQTT_SUBACK) | W(MQTT_UNSUBACK) | DIS, "Not authorized" },
	{ 0x88, CA, "Server unavailable" },
	{ 0x89, CA | DIS, "Server busy" },
	{ 0x8A, CA, "Banned" },
	{ 0x8B, DIS, "Server shutting down" },
	/* The reason-code table lists DISCONNECT for 0x8C too; accept it there. */
	{ 0x8C, CA | DIS, "Bad authentication method" },
	{ 0x8D, DIS, "Keep Alive timeout" },
	{ 0x8E, DIS, "Session taken over" },
	{ 0x8F, W(MQTT_SUBACK) | W(MQTT_UNSUBACK) | DIS, "Topic Filter invalid" },
	{ 0x90, CA | PUBAR | DIS, "Topic Name invalid" },
	{ 0x91, PUBAR | W(MQTT_SUBACK) | W(MQTT_UNSUBACK), "Packet Identifier in use" },
	{ 0x92, W(MQTT_PUBREL) | W(MQTT_PUBCOMP), "Packet Identifier not found" },
	{ 0x93, DIS, "Receive Maximum exceeded" },
	{ 0x94, DIS, "Topic Alias invalid" },
	{ 0x95, CA | DIS, "Packet too large" },
	{ 0x96, DIS, "Message rate too high" },
	{ 0x97, CA | PUBAR | W(MQTT_SUBACK) | DIS, "Quota exceeded" },
	{ 0x98, DIS, "Administrative action" },
	{ 0x99, CA | PUBAR | DIS, "Payload format invalid" },
	{ 0x9A, CA | DIS, "Retain not supported" },
	{ 0x9B, CA | DIS, "QoS not supported" },
	{ 0x9C, CA | DIS, "Use another server" },
	{ 0x9D, CA | DIS, "Server moved" },
	{ 0x9E, W(MQTT_SUBACK) | DIS, "Shared Subscriptions not supported" },
	{ 0x9F, CA | DIS, "Connection rate exceeded" },
	{ 0xA0, DIS, "Maximum connect time" },
	{ 0xA1, W(MQTT_SUBACK) | DIS, "Subscription Identifiers not supported" },
	{ 0xA2, W(MQTT_SUBACK) | DIS, "Wildcard Subscriptions not supported" },
};

static int reason_index(uint8_t code)
{
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (reasons[i].code == code)
			return (int)i;
	return -1;
}

const char *mqtt_reason_name(uint8_t reason)
{
	int i = reason_index(reason);
	return i < 0 ? "unknown reason code" : reasons[i].name;
}

bool mqtt_reason_allowed(unsigned type, uint8_t reason)
{
	int i = reason_index(reason);
	return i >= 0 && type < 16 && (reasons[i].where & W(type));
}

const char *mqtt_connack_name(uint8_t version, uint8_t rc)
{
	static const char *const v311[] = {
		"Connection Accepted",
		"Connection Refused, unacceptable protocol version",
		"Connection Refused, identifier rejected",
		"Connection Refused, Server unavailable",
		"Connection Refused, bad user name or password",
		"Connection Refused, not authorized",
	};
	if (version == MQTT_V5)
		return mqtt_reason_name(rc);
	return rc < 6 ? v311[rc] : "reserved return code";
}

/* ---- an snprintf-style appender -------------------------------------------------------- */

typedef struct out {
	char *buf;
	size_t cap;
	size_t len; /* length wanted so far, may exceed cap */
} out;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = o->len < o->cap ? o->cap - o->len : 0;
	va_start(ap, fmt);
	int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

void mqtt_say(char *buf, size_t cap, const char *fmt, ...)
{
	if (!buf || !cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

/* A string shown with C-like escapes; long ones are cut with "..." after `limit` bytes. */
static void put_quoted(out *o, mqtt_str s, size_t limit, bool json)
{
	put(o, "\"");
	for (uint32_t i = 0; i < s.len; i++) {
		if (i >= limit) {
			put(o, "...");
			break;
		}
		uint8_t c = s.data[i];
		if (c == '"' || c == '\\')
			put(o, "\\%c", c);
		else if (c == '\n')
			put(o, "\\n");
		else if (c < 0x20 || c == 0x7F)
			put(o, json ? "\\u%04x" : "\\x%02x", c);
		else if (c < 0x80)
			put(o, "%c", c);
		else {
			/* UTF-8 as it is, but C1 controls (U+0080..U+009F) escaped like C0 ones, and a
			 * byte that starts no well-formed sequence shown as a byte (text) or U+FFFD
			 * (JSON must stay UTF-8). */
			uint32_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
			if (c > 0xF4)
				n = 0;
			for (uint32_t k = 1; n && k < n; k++)
				if (i + k >= s.len || (s.data[i + k] & 0xC0) != 0x80)
					n = 0;
			if (!n) {
				put(o, json ? "\\ufffd" : "\\x%02x", c);
			} else if (n == 2 && c == 0xC2 && s.data[i + 1] < 0xA0) {
				put(o, "\\u%04x", s.data[i + 1]);
				i++;
			} else {
				put(o, "%.*s", (int)n, (const char *)s.data + i);
				i += n - 1;
			}
		}
	}
	put(o, "\"");
}

static void put_hex(out *o, mqtt_str s, size_t limit)
{
	put(o, "\"");
	for (uint32_t i = 0; i < s.len && i < limit; i++)
		put(o, "%02x", s.data[i]);
	put(o, "\"");
}

/* Properties as ` key=value` pairs (text) or `"key":value` members (JSON, inside an
 * object the caller opens and closes). */
static void put_props(out *o, const mqtt_props *p, bool json)
{
	int n = 0; /* members written, for JSON commas */
	for (unsigned id = 1; id <= MQTT_PROP_ID_MAX; id++) {
		const mqtt_prop_info *in = mqtt_prop_lookup(id);
		if (!in || !MQTT_HAS(p, id) || id == MQTT_PROP_USER || id == MQTT_PROP_SUBSCRIPTION_ID)
			continue;
		if (json)
			put(o, "%s\"%s\":", n++ ? "," : "", in->key);
		else
			put(o, " %s=", in->key);
		const void *field = mqtt__prop_cfield(p, id);
		switch (in->type) {
		case MQTT_PT_BYTE: put(o, "%u", *(const uint8_t *)field); break;
		case MQTT_PT_U16: put(o, "%u", *(const uint16_t *)field); break;
		case MQTT_PT_U32: put(o, "%u", *(const uint32_t *)field); break;
		case MQTT_PT_BINARY: {
			mqtt_str s = *(const mqtt_str *)field;
			if (json)
				put_hex(o, s, s.len);
			else
				put(o, "%uB", s.len);
			break;
		}
		default: {
			mqtt_str s = *(const mqtt_str *)field;
			put_quoted(o, s, json ? s.len : 64, json);
			break;
		}
		}
	}
	mqtt_iter it = { 0, 0 };
	uint32_t sid;
	if (p->sub_id_count) {
		if (json)
			put(o, "%s\"subscription_ids\":[", n++ ? "," : "");
		else
			put(o, " subscription_id=");
		for (uint32_t k = 0; mqtt_props_sub_id_next(p, &it, &sid); k++)
			put(o, "%s%u", k ? "," : "", sid);
		if (json)
			put(o, "]");
	}
	if (p->user_count) {
		mqtt_user_prop u;
		it = (mqtt_iter){ 0, 0 };
		if (json) {
			put(o, "%s\"user\":[", n++ ? "," : "");
			for (uint32_t k = 0; mqtt_props_user_next(p, &it, &u); k++) {
				put(o, "%s[", k ? "," : "");
				put_quoted(o, u.key, u.key.len, true);
				put(o, ",");
				put_quoted(o, u.value, u.value.len, true);
				put(o, "]");
			}
			put(o, "]");
		} else {
			while (mqtt_props_user_next(p, &it, &u)) {
				put(o, " user:");
				put_quoted(o, u.key, 32, false);
				put(o, "=");
				put_quoted(o, u.value, 32, false);
			}
		}
	}
}

static void print_text(out *o, const mqtt_packet *p)
{
	bool v5 = p->version == MQTT_V5;
	put(o, "%s", mqtt_type_name(p->type));
	switch (p->type) {
	case MQTT_CONNECT: {
		const mqtt_connect *c = &p->connect;
		put(o, " v=%s clean=%d keepalive=%u client_id=", v5 ? "5.0" : "3.1.1", c->clean_start,
		    c->keepalive_s);
		put_quoted(o, c->client_id, 64, false);
		if (c->will) {
			put(o, " will_topic=");
			put_quoted(o, c->will_topic, 64, false);
			put(o, " will_qos=%u will_retain=%d will_payload=%uB", c->will_qos, c->will_retain,
			    c->will_payload.len);
		}
		if (c->has_username) {
			put(o, " username=");
			put_quoted(o, c->username, 64, false);
		}
		if (c->has_password)
			put(o, " password=%uB", c->password.len);
		break;
	}
	case MQTT_CONNACK:
		put(o, " session_present=%d %s=%u (%s)", p->session_present, v5 ? "reason" : "rc",
		    p->reason, mqtt_connack_name(p->version, p->reason));
		break;
	case MQTT_PUBLISH:
		put(o, " qos=%u retain=%d dup=%d", p->publish.qos, p->publish.retain, p->publish.dup);
		if (p->publish.qos)
			put(o, " id=%u", p->packet_id);
		put(o, " topic=");
		put_quoted(o, p->publish.topic, 128, false);
		put(o, " payload=%uB", p->publish.payload.len);
		break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		put(o, " id=%u", p->packet_id);
		if (v5)
			put(o, " reason=0x%02X (%s)", p->reason, mqtt_reason_name(p->reason));
		break;
	case MQTT_SUBSCRIBE: {
		mqtt_iter it = { 0, 0 };
		mqtt_sub s;
		put(o, " id=%u", p->packet_id);
		while (mqtt_sub_next(&p->subscribe, p->version, &it, &s)) {
			put(o, " ");
			put_quoted(o, s.filter, 128, false);
			put(o, ":qos=%u", s.qos);
			if (v5 && (s.no_local || s.retain_as_published || s.retain_handling))
				put(o, ",nl=%d,rap=%d,rh=%u", s.no_local, s.retain_as_published,
				    s.retain_handling);
		}
		break;
	}
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		put(o, " id=%u", p->packet_id);
		if (p->codes.len) {
			put(o, " codes=");
			for (uint32_t i = 0; i < p->codes.len; i++)
				put(o, "%s0x%02X", i ? "," : "", p->codes.data[i]);
		}
		break;
	case MQTT_UNSUBSCRIBE: {
		mqtt_iter it = { 0, 0 };
		mqtt_str f;
		put(o, " id=%u", p->packet_id);
		while (mqtt_str_next(&p->unsubscribe, &it, &f)) {
			put(o, " ");
			put_quoted(o, f, 128, false);
		}
		break;
	}
	case MQTT_DISCONNECT:
	case MQTT_AUTH:
		if (v5)
			put(o, " reason=0x%02X (%s)", p->reason, mqtt_reason_name(p->reason));
		break;
	default:
		break;
	}
	if (v5) {
		put_props(o, &p->props, false);
		if (p->type == MQTT_CONNECT && p->connect.will &&
		    (p->connect.will_props.present || p->connect.will_props.user_count)) {
			put(o, " will_props{");
			put_props(o, &p->connect.will_props, false);
			put(o, " }");
		}
	}
}

size_t mqtt_print(const mqtt_packet *p, char *buf, size_t cap)
{
	out o = { buf, cap, 0 };
	if (cap)
		buf[0] = 0;
	print_text(&o, p);
	return o.len;
}

static void json_str(out *o, const char *key, mqtt_str s)
{
	put(o, ",\"%s\":", key);
	put_quoted(o, s, s.len, true);
}

size_t mqtt_print_json(const mqtt_packet *p, char *buf, size_t cap)
{
	out o = { buf, cap, 0 };
	bool v5 = p->version == MQTT_V5;
	if (cap)
		buf[0] = 0;
	put(&o, "{\"type\":\"%s\",\"version\":\"%s\",\"length\":%u", mqtt_type_name(p->type),
	    v5 ? "5.0" : "3.1.1", p->length);
	switch (p->type) {
	case MQTT_CONNECT: {
		const mqtt_connect *c = &p->connect;
		put(&o, ",\"clean_start\":%s,\"keepalive\":%u", c->clean_start ? "true" : "false",
		    c->keepalive_s);
		json_str(&o, "client_id", c->client_id);
		if (c->will) {
			put(&o, ",\"will\":{\"qos\":%u,\"retain\":%s", c->will_qos,
			    c->will_retain ? "true" : "false");
			json_str(&o, "topic", c->will_topic);
			put(&o, ",\"payload_hex\":");
			put_hex(&o, c->will_payload, c->will_payload.len);
			if (v5) {
				put(&o, ",\"properties\":{");
				put_props(&o, &c->will_props, true);
				put(&o, "}");
			}
			put(&o, "}");
		}
		if (c->has_username)
			json_str(&o, "username", c->username);
		if (c->has_password)
			put(&o, ",\"password_len\":%u", c->password.len);
		break;
	}
	case MQTT_CONNACK:
		put(&o, ",\"session_present\":%s,\"reason\":%u,\"reason_name\":\"%s\"",
		    p->session_present ? "true" : "false", p->reason,
		    mqtt_connack_name(p->version, p->reason));
		break;
	case MQTT_PUBLISH:
		put(&o, ",\"qos\":%u,\"retain\":%s,\"dup\":%s", p->publish.qos,
		    p->publish.retain ? "true" : "false", p->publish.dup ? "true" : "false");
		if (p->publish.qos)
			put(&o, ",\"packet_id\":%u", p->packet_id);
		json_str(&o, "topic", p->publish.topic);
		put(&o, ",\"payload_len\":%u,\"payload_hex\":", p->publish.payload.len);
		put_hex(&o, p->publish.payload, p->publish.payload.len);
		break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		put(&o, ",\"packet_id\":%u", p->packet_id);
		if (v5)
			put(&o, ",\"reason\":%u,\"reason_name\":\"%s\"", p->reason, mqtt_reason_name(p->reason));
		break;
	case MQTT_SUBSCRIBE: {
		mqtt_iter it = { 0, 0 };
		mqtt_sub s;
		put(&o, ",\"packet_id\":%u,\"subscriptions\":[", p->packet_id);
		for (int k = 0; mqtt_sub_next(&p->subscribe, p->version, &it, &s); k++) {
			put(&o, "%s{\"filter\":", k ? "," : "");
			put_quoted(&o, s.filter, s.filter.len, true);
			put(&o, ",\"qos\":%u", s.qos);
			if (v5)
				put(&o, ",\"no_local\":%s,\"retain_as_published\":%s,\"retain_handling\":%u",
				    s.no_local ? "true" : "false", s.retain_as_published ? "true" : "false",
				    s.retain_handling);
			put(&o, "}");
		}
		put(&o, "]");
		break;
	}
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		put(&o, ",\"packet_id\":%u,\"codes\":[", p->packet_id);
		for (uint32_t i = 0; i < p->codes.len; i++)
			put(&o, "%s%u", i ? "," : "", p->codes.data[i]);
		put(&o, "]");
		break;
	case MQTT_UNSUBSCRIBE: {
		mqtt_iter it = { 0, 0 };
		mqtt_str f;
		put(&o, ",\"packet_id\":%u,\"filters\":[", p->packet_id);
		for (int k = 0; mqtt_str_next(&p->unsubscribe, &it, &f); k++) {
			put(&o, "%s", k ? "," : "");
			put_quoted(&o, f, f.len, true);
		}
		put(&o, "]");
		break;
	}
	case MQTT_DISCONNECT:
	case MQTT_AUTH:
		if (v5)
			put(&o, ",\"reason\":%u,\"reason_name\":\"%s\"", p->reason, mqtt_reason_name(p->reason));
		break;
	default:
		break;
	}
	if (v5) {
		put(&o, ",\"properties\":{");
		put_props(&o, &p->props, true);
		put(&o, "}");
	}
	put(&o, "}");
	return o.len;
}
