/*
 * mqtt.h - a strict, incremental codec for MQTT 3.1.1 (level 4) and 5.0 (level 5).
 *
 * Pure functions over byte buffers: no I/O, no clock, no global mutable state, no
 * allocation. Everything the broker, the scripted clients, `mqttsim decode` and the
 * fuzzers parse goes through mqtt_decode(), so there is exactly one parser.
 *
 * Memory ownership
 * ----------------
 * - The caller owns every buffer. A decoded mqtt_packet holds *views* (mqtt_str) into
 *   the input buffer: the packet is valid only while that buffer is alive and unchanged.
 *   Nothing in a decoded packet needs freeing.
 * - Repeated items (subscription entries, unsubscribe filters, user properties,
 *   subscription identifiers) are not copied out either. After decode they are left in
 *   wire form (`raw`) with their count; walk them with the mqtt_*_next() iterators,
 *   which also walk caller-supplied arrays, so encode and decode share one shape.
 * - mqtt_encode() writes into a caller buffer; mqtt_encoded_size() says how big it must
 *   be. Nothing is written unless the whole packet fits (size first, then write).
 *
 * Errors
 * ------
 * Every rejection fills an mqtt_err: a code, the normative statement it breaks
 * (e.g. "MQTT-2.2.2-2"; a section such as "5.0 §2.2.2.2" where the specification
 * gives the rule no id), the byte offset from the start of the packet, a plain-English
 * message, and the MQTT 5.0 reason code a receiver would use to close (0x81, 0x82...).
 */
#ifndef MQTT_MQTT_H
#define MQTT_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MQTT_V311 4 /* protocol level of MQTT 3.1.1 */
#define MQTT_V5   5 /* protocol level of MQTT 5.0 */

/* Largest value of a variable byte integer, and so of the remaining length. */
#define MQTT_VBI_MAX 268435455u
/* Largest whole packet: 1 type byte + 4 length bytes + MQTT_VBI_MAX. */
#define MQTT_PACKET_MAX (MQTT_VBI_MAX + 5u)

enum mqtt_type {
	MQTT_CONNECT = 1,
	MQTT_CONNACK = 2,
	MQTT_PUBLISH = 3,
	MQTT_PUBACK = 4,
	MQTT_PUBREC = 5,
	MQTT_PUBREL = 6,
	MQTT_PUBCOMP = 7,
	MQTT_SUBSCRIBE = 8,
	MQTT_SUBACK = 9,
	MQTT_UNSUBSCRIBE = 10,
	MQTT_UNSUBACK = 11,
	MQTT_PINGREQ = 12,
	MQTT_PINGRESP = 13,
	MQTT_DISCONNECT = 14,
	MQTT_AUTH = 15, /* 5.0 only */
};

/* Return codes. Decode returns bytes consumed (>0), 0 for "need more", or -code. */
enum mqtt_rc {
	MQTT_OK = 0,
	MQTT_ERR_MALFORMED = 1,   /* bytes that no valid packet has */
	MQTT_ERR_PROTOCOL = 2,    /* well-formed, but a rule of the protocol is broken */
	MQTT_ERR_TOO_LARGE = 3,   /* exceeds the caller's maximum packet size */
	MQTT_ERR_VERSION = 4,     /* CONNECT with a protocol level we do not speak */
	MQTT_ERR_BUFFER = 5,      /* encode: output buffer too small */
	MQTT_ERR_ARG = 6,         /* encode: the packet struct cannot be encoded */
};

typedef struct mqtt_err {
	int code;           /* enum mqtt_rc */
	const char *stmt;   /* normative statement id or section; static storage */
	uint32_t offset;    /* byte offset from the first byte of the packet */
	uint8_t reason;     /* MQTT 5.0 reason code for a DISCONNECT/CONNACK that rejects it */
	char msg[160];      /* plain English, no trailing newline */
} mqtt_err;

/* A view of bytes: a UTF-8 string or binary data. Not NUL-terminated. */
typedef struct mqtt_str {
	const uint8_t *data;
	uint32_t len;
} mqtt_str;

#define MQTT_STR(s) ((mqtt_str){ (const uint8_t *)(s), (uint32_t)(sizeof(s) - 1) })

/* Iterator state for the *_next() functions; zero-initialise before the first call. */
typedef struct mqtt_iter {
	uint32_t index;  /* items returned so far */
	uint32_t pos;    /* position inside raw */
} mqtt_iter;

/* ---- MQTT 5.0 properties ------------------------------------------------------------ */

enum mqtt_prop_id {
	MQTT_PROP_PAYLOAD_FORMAT = 0x01,
	MQTT_PROP_MESSAGE_EXPIRY = 0x02,
	MQTT_PROP_CONTENT_TYPE = 0x03,
	MQTT_PROP_RESPONSE_TOPIC = 0x08,
	MQTT_PROP_CORRELATION_DATA = 0x09,
	MQTT_PROP_SUBSCRIPTION_ID = 0x0B,
	MQTT_PROP_SESSION_EXPIRY = 0x11,
	MQTT_PROP_ASSIGNED_CLIENT_ID = 0x12,
	MQTT_PROP_SERVER_KEEPALIVE = 0x13,
	MQTT_PROP_AUTH_METHOD = 0x15,
	MQTT_PROP_AUTH_DATA = 0x16,
	MQTT_PROP_REQUEST_PROBLEM_INFO = 0x17,
	MQTT_PROP_WILL_DELAY = 0x18,
	MQTT_PROP_REQUEST_RESPONSE_INFO = 0x19,
	MQTT_PROP_RESPONSE_INFO = 0x1A,
	MQTT_PROP_SERVER_REFERENCE = 0x1C,
	MQTT_PROP_REASON_STRING = 0x1F,
	MQTT_PROP_RECEIVE_MAX = 0x21,
	MQTT_PROP_TOPIC_ALIAS_MAX = 0x22,
	MQTT_PROP_TOPIC_ALIAS = 0x23,
	MQTT_PROP_MAX_QOS = 0x24,
	MQTT_PROP_RETAIN_AVAILABLE = 0x25,
	MQTT_PROP_USER = 0x26,
	MQTT_PROP_MAX_PACKET_SIZE = 0x27,
	MQTT_PROP_WILDCARD_SUB_AVAILABLE = 0x28,
	MQTT_PROP_SUB_ID_AVAILABLE = 0x29,
	MQTT_PROP_SHARED_SUB_AVAILABLE = 0x2A,
};
#define MQTT_PROP_ID_MAX 0x2A

/* Where a property block sits: a packet type, or the will properties of CONNECT. */
#define MQTT_PROPS_WILL 16

/* The value types a property can have. */
enum mqtt_prop_type {
	MQTT_PT_BYTE = 1, MQTT_PT_U16, MQTT_PT_U32, MQTT_PT_VBI,
	MQTT_PT_UTF8, MQTT_PT_BINARY, MQTT_PT_UTF8_PAIR,
};

typedef struct mqtt_user_prop {
	mqtt_str key, value;
} mqtt_user_prop;

/*
 * The properties of one packet (or of a will). `present` has bit (1 << id) set for every
 * single-valued property that is there. Repeated ones (user properties, and subscription
 * identifiers in PUBLISH) are counted; on encode they come from the arrays if those are
 * non-NULL, otherwise from `raw`, the whole property block as decoded.
 */
typedef struct mqtt_props {
	uint64_t present;
	uint8_t payload_format;
	uint8_t request_problem_info;
	uint8_t request_response_info;
	uint8_t max_qos;
	uint8_t retain_available;
	uint8_t wildcard_sub_available;
	uint8_t sub_id_available;
	uint8_t shared_sub_available;
	uint16_t server_keepalive;
	uint16_t receive_max;
	uint16_t topic_alias_max;
	uint16_t topic_alias;
	uint32_t message_expiry;
	uint32_t session_expiry;
	uint32_t will_delay;
	uint32_t max_packet_size;
	mqtt_str content_type;
	mqtt_str response_topic;
	mqtt_str correlation_data;
	mqtt_str assigned_client_id;
	mqtt_str auth_method;
	mqtt_str auth_data;
	mqtt_str response_info;
	mqtt_str server_reference;
	mqtt_str reason_string;

	uint32_t user_count;
	const mqtt_user_prop *user;    /* encode: caller's array; decode: NULL (see raw) */
	uint32_t sub_id_count;         /* Subscription Identifiers: counted here, never in present */
	const uint32_t *sub_ids;       /* encode: caller's array; decode: NULL (see raw) */
	mqtt_str raw;                  /* decode: the property block, without its length */
} mqtt_props;

#define MQTT_HAS(props, id) ((((props)->present) >> (id)) & 1u)
#define MQTT_SET(props, id) ((props)->present |= (uint64_t)1 << (id))

bool mqtt_props_user_next(const mqtt_props *p, mqtt_iter *it, mqtt_user_prop *out);
bool mqtt_props_sub_id_next(const mqtt_props *p, mqtt_iter *it, uint32_t *out);

/* Property metadata, or NULL for an id that does not exist. */
typedef struct mqtt_prop_info {
	uint8_t id;
	uint8_t type;        /* enum mqtt_prop_type */
	const char *name;    /* e.g. "Session Expiry Interval" */
	const char *key;     /* e.g. "session_expiry" (printer, JSON, scenarios) */
	uint32_t where;      /* bit (1 << packet type) or (1 << MQTT_PROPS_WILL) */
} mqtt_prop_info;
const mqtt_prop_info *mqtt_prop_lookup(uint32_t id);

/* ---- packets -------------------------------------------------------------------------- */

/* One entry of a SUBSCRIBE payload. In 3.1.1 only qos is used. */
typedef struct mqtt_sub {
	mqtt_str filter;
	uint8_t qos;
	bool no_local;
	bool retain_as_published;
	uint8_t retain_handling; /* 0, 1 or 2 */
} mqtt_sub;

/* A list of items: on encode `items` (caller's array) if non-NULL, else `raw`. */
typedef struct mqtt_sub_list {
	uint32_t count;
	const mqtt_sub *items;
	mqtt_str raw;
} mqtt_sub_list;

typedef struct mqtt_str_list {
	uint32_t count;
	const mqtt_str *items;
	mqtt_str raw;
} mqtt_str_list;

bool mqtt_sub_next(const mqtt_sub_list *l, uint8_t version, mqtt_iter *it, mqtt_sub *out);
bool mqtt_str_next(const mqtt_str_list *l, mqtt_iter *it, mqtt_str *out);

typedef struct mqtt_connect {
	mqtt_str protocol_name;  /* decode: as received; encode: ignored ("MQTT" is written) */
	bool clean_start;        /* "clean session" in 3.1.1 */
	uint16_t keepalive_s;
	mqtt_str client_id;
	bool will;
	uint8_t will_qos;
	bool will_retain;
	mqtt_props will_props;   /* 5.0 */
	mqtt_str will_topic;
	mqtt_str will_payload;
	bool has_username;
	mqtt_str username;
	bool has_password;
	mqtt_str password;
} mqtt_connect;

typedef struct mqtt_publish {
	uint8_t qos;
	bool retain;
	bool dup;
	mqtt_str topic;
	mqtt_str payload;
} mqtt_publish;

/*
 * A decoded or to-be-encoded packet. `reason` is the CONNACK return code (3.1.1) or the
 * reason code (5.0) of CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT and AUTH.
 * For SUBACK and UNSUBACK the per-filter codes are in `codes`, one byte each.
 */
typedef struct mqtt_packet {
	uint8_t type;            /* enum mqtt_type */
	uint8_t version;         /* MQTT_V311 or MQTT_V5 */
	uint16_t packet_id;
	uint8_t reason;
	bool session_present;    /* CONNACK */
	uint32_t length;         /* decode: whole packet length in bytes */
	mqtt_props props;        /* 5.0 */
	mqtt_connect connect;
	mqtt_publish publish;
	mqtt_sub_list subscribe;
	mqtt_str_list unsubscribe;
	mqtt_str codes;          /* SUBACK / UNSUBACK reason codes */
} mqtt_packet;

/*
 * Frame: look at the fixed header only. Returns the total packet length (>0) when the
 * header is complete, 0 when more bytes are needed to know, or -code on a bad header
 * (reserved type 0, a 5-byte remaining length). Does not check flags or the body.
 */
int mqtt_frame(const uint8_t *buf, size_t len, uint32_t *total);

/*
 * Decode one packet from the front of buf. Returns the bytes consumed (>0), 0 if buf
 * holds only a prefix of a packet, or -code with err filled. `version` is the protocol
 * level of the connection (a CONNECT is decoded by the level it carries, and sets
 * out->version from it). max_packet_size 0 means the protocol maximum; a packet whose
 * header announces more fails with MQTT_ERR_TOO_LARGE before its body arrives.
 * err may be NULL.
 */
int mqtt_decode(const uint8_t *buf, size_t len, uint8_t version, uint32_t max_packet_size,
		mqtt_packet *out, mqtt_err *err);

/*
 * Checks a receiver may treat as protocol errors but that a decoder need not reject,
 * because MQTT 5.0 answers some of them per item instead of by closing: topic filter
 * syntax and shared-subscription rules in SUBSCRIBE and UNSUBSCRIBE. Returns 0 or -code.
 */
int mqtt_validate(const mqtt_packet *p, mqtt_err *err);

/* Bytes mqtt_encode() would write, or 0 if the packet cannot be encoded. */
size_t mqtt_encoded_size(const mqtt_packet *p);

/*
 * Encode p (by p->version) into buf. Returns bytes written, or -code (nothing written):
 * -MQTT_ERR_ARG when the packet cannot be put on the wire at all (a string over 65535
 * bytes, QoS 3, a length past MQTT_VBI_MAX, AUTH in 3.1.1), -MQTT_ERR_BUFFER when cap is
 * too small. The encoder does not enforce protocol rules (packet id 0, a wildcard in a
 * topic name, a reason code the packet may not carry): scripted clients use it to send
 * exactly the rule-breaking packets a conformance test needs. Decode the output to check.
 */
int mqtt_encode(const mqtt_packet *p, uint8_t *buf, size_t cap, mqtt_err *err);

/* Variable byte integers (remaining length, property lengths, subscription ids). */
int mqtt_vbi_size(uint32_t v);   /* 1..4, or 0 if v > MQTT_VBI_MAX */

/* ---- strings and topics (topic.c, utf8.c) --------------------------------------------- */

/* UTF-8 rules of an MQTT string for the given version: well-formed, no surrogates, no U+0000.
 * Returns 0, or -MQTT_ERR_MALFORMED with err->offset relative to s. */
int mqtt_utf8_check(const uint8_t *s, size_t len, uint8_t version, mqtt_err *err);
/* Well-formed UTF-8 (RFC 3629) and nothing more: U+0000 allowed. For payloads whose Payload
 * Format Indicator is 1 [MQTT-3.3.2-4]. Returns 0, or -MQTT_ERR_MALFORMED as above. */
int mqtt_utf8_well_formed(const uint8_t *s, size_t len, mqtt_err *err);

/* Topic name: 1..65535 bytes, valid UTF-8, no '+' or '#'. Returns 0 or -code. */
int mqtt_topic_name_check(const uint8_t *s, size_t len, uint8_t version, mqtt_err *err);

/* Topic filter: 1..65535 bytes, valid UTF-8, '#' only as the last whole level,
 * '+' only as a whole level. A shared filter "$share/NAME/filter" is checked as such
 * when version is MQTT_V5. Returns 0 or -code. */
int mqtt_topic_filter_check(const uint8_t *s, size_t len, uint8_t version, mqtt_err *err);

/* Does the (valid, non-shared) filter match the (valid) topic name? A filter starting
 * with a wildcard does not match a topic starting with '$'. */
bool mqtt_topic_match(const uint8_t *filter, size_t flen, const uint8_t *topic, size_t tlen);

/* Does filter g cover filter f: is every topic that f matches also matched by g? ("a/+" is
 * covered by "a/#" and "+/+"; "a/#" by "#" but not by "a/+"; "$SYS/#" not by "#".) Both are
 * valid, non-shared filters; an empty one covers and is covered by nothing. */
bool mqtt_topic_filter_covers(const uint8_t *f, size_t flen, const uint8_t *g, size_t glen);

/* Split "$share/NAME/filter". Returns 1 and fills name and filter if it is a shared
 * subscription, 0 if it is not one, -code if it starts with "$share/" but is invalid. */
int mqtt_share_parse(const uint8_t *s, size_t len, mqtt_str *name, mqtt_str *filter, mqtt_err *err);

/* ---- names and printing (print.c) ------------------------------------------------------ */

const char *mqtt_type_name(unsigned type);                  /* "PUBLISH", or "?" */
const char *mqtt_reason_name(uint8_t reason);               /* 5.0 reason code name */
const char *mqtt_connack_name(uint8_t version, uint8_t rc); /* CONNACK code name */
bool mqtt_reason_allowed(unsigned type, uint8_t reason);    /* 5.0: may this packet carry it? */
const char *mqtt_rc_name(int code);                         /* "malformed packet", ... */

/* One line, snprintf-style: returns the length it wanted, writes at most cap-1 + NUL.
 * e.g. PUBLISH qos=1 retain=0 dup=0 id=7 topic="greenhouse/1/temp" payload=4B */
size_t mqtt_print(const mqtt_packet *p, char *buf, size_t cap);

/* The same packet as one JSON object (no newline), snprintf-style. */
size_t mqtt_print_json(const mqtt_packet *p, char *buf, size_t cap);

/* printf into a caller's message buffer (cap bytes, cut if need be); buf may be NULL, or
 * cap 0, when the caller wants no message. The error messages of the auth files use it. */
void mqtt_say(char *buf, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

#endif
