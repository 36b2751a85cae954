/*
 * test_codec.c - the codec suite: round trips of every packet type of 3.1.1 and 5.0,
 * every 5.0 property, remaining-length boundaries, incremental decoding, encode errors,
 * packets written by hand from the specification, and the list iterators.
 *
 * Expectations come from the specifications (OASIS mqtt-v3.1.1-os and mqtt-v5.0-os).
 * Hot loops use CHECK() rather than ck_assert(): Check records the location of every
 * passing ck_assert, which is too slow for the every-prefix loops.
 */
#include "tests.h"

#include "mqtt/mqtt.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V3 MQTT_V311
#define V5 MQTT_V5
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL 0xA5
#define GUARD 16
#define WHY_CAP 256
/* Packets up to this size get the every-prefix check inside roundtrip(). */
#define PREFIX_CHECK_MAX 4096

/* A static initializer for an mqtt_str from a string literal. */
#define SL(s) { (const uint8_t *)(s), (uint32_t)(sizeof(s) - 1) }

#define CHECK(cond, ...)                           \
	do {                                       \
		if (!(cond))                       \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

/* ---- small helpers ------------------------------------------------------------------- */

static mqtt_str str_of(const char *s)
{
	return (mqtt_str){ (const uint8_t *)s, (uint32_t)strlen(s) };
}

static mqtt_str bytes_of(const void *b, size_t n)
{
	return (mqtt_str){ (const uint8_t *)b, (uint32_t)n };
}

static bool str_eq(mqtt_str a, mqtt_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static bool str_is(mqtt_str a, const char *s)
{
	return str_eq(a, str_of(s));
}

static uint8_t *filled(size_t n, uint8_t c)
{
	uint8_t *b = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(b);
	memset(b, c, n);
	return b;
}

/* Bytes that are not all alike, including 0x00 and 0xFF. */
static uint8_t *pattern(size_t n)
{
	uint8_t *b = filled(n, 0);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + 3);
	return b;
}

static bool all_are(const uint8_t *b, size_t n, uint8_t c)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != c)
			return false;
	return true;
}

static mqtt_packet pkt(uint8_t type, uint8_t version)
{
	mqtt_packet p;
	memset(&p, 0, sizeof p);
	p.type = type;
	p.version = version;
	return p;
}

static mqtt_packet publish(uint8_t version, const char *topic, uint8_t qos, uint16_t id,
			   mqtt_str payload)
{
	mqtt_packet p = pkt(MQTT_PUBLISH, version);
	p.publish.topic = str_of(topic);
	p.publish.qos = qos;
	p.packet_id = qos ? id : 0;
	p.publish.payload = payload;
	return p;
}

static mqtt_packet ack(uint8_t type, uint8_t version, uint16_t id, uint8_t reason)
{
	mqtt_packet p = pkt(type, version);
	p.packet_id = id;
	p.reason = reason;
	return p;
}

/* Decode hex that must be exactly one whole packet. */
static size_t decode_hex(const char *hex, uint8_t *buf, size_t cap, uint8_t version,
			 mqtt_packet *out)
{
	mqtt_err e;
	memset(&e, 0, sizeof e);
	size_t n = unhex(hex, buf, cap);
	int rc = mqtt_decode(buf, n, version, 0, out, &e);
	ck_assert_msg(rc == (int)n, "decode of %s returned %d, want %zu (%s: %s)", hex, rc, n,
		      e.stmt ? e.stmt : "-", e.msg);
	ck_assert_uint_eq(out->length, n);
	return n;
}

/* ---- comparing packets field by field ---------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static bool differ(char *why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, WHY_CAP, fmt, ap);
	va_end(ap);
	return false;
}

static bool props_equal(const mqtt_props *a, const mqtt_props *b, const char *where, char *why)
{
	if (a->present != b->present)
		return differ(why, "%s.present: 0x%llx != 0x%llx", where,
			      (unsigned long long)a->present, (unsigned long long)b->present);
#define PNUM(id, f)                                                                     \
	if (MQTT_HAS(a, id) && a->f != b->f)                                            \
		return differ(why, "%s.%s: %lu != %lu", where, #f, (unsigned long)a->f, \
			      (unsigned long)b->f)
#define PSTR(id, f)                                                                          \
	if (MQTT_HAS(a, id) && !str_eq(a->f, b->f))                                          \
		return differ(why, "%s.%s: %u bytes != %u bytes, or content", where, #f, a->f.len, \
			      b->f.len)
	PNUM(MQTT_PROP_PAYLOAD_FORMAT, payload_format);
	PNUM(MQTT_PROP_REQUEST_PROBLEM_INFO, request_problem_info);
	PNUM(MQTT_PROP_REQUEST_RESPONSE_INFO, request_response_info);
	PNUM(MQTT_PROP_MAX_QOS, max_qos);
	PNUM(MQTT_PROP_RETAIN_AVAILABLE, retain_available);
	PNUM(MQTT_PROP_WILDCARD_SUB_AVAILABLE, wildcard_sub_available);
	PNUM(MQTT_PROP_SUB_ID_AVAILABLE, sub_id_available);
	PNUM(MQTT_PROP_SHARED_SUB_AVAILABLE, shared_sub_available);
	PNUM(MQTT_PROP_SERVER_KEEPALIVE, server_keepalive);
	PNUM(MQTT_PROP_RECEIVE_MAX, receive_max);
	PNUM(MQTT_PROP_TOPIC_ALIAS_MAX, topic_alias_max);
	PNUM(MQTT_PROP_TOPIC_ALIAS, topic_alias);
	PNUM(MQTT_PROP_MESSAGE_EXPIRY, message_expiry);
	PNUM(MQTT_PROP_SESSION_EXPIRY, session_expiry);
	PNUM(MQTT_PROP_WILL_DELAY, will_delay);
	PNUM(MQTT_PROP_MAX_PACKET_SIZE, max_packet_size);
	PSTR(MQTT_PROP_CONTENT_TYPE, content_type);
	PSTR(MQTT_PROP_RESPONSE_TOPIC, response_topic);
	PSTR(MQTT_PROP_CORRELATION_DATA, correlation_data);
	PSTR(MQTT_PROP_ASSIGNED_CLIENT_ID, assigned_client_id);
	PSTR(MQTT_PROP_AUTH_METHOD, auth_method);
	PSTR(MQTT_PROP_AUTH_DATA, auth_data);
	PSTR(MQTT_PROP_RESPONSE_INFO, response_info);
	PSTR(MQTT_PROP_SERVER_REFERENCE, server_reference);
	PSTR(MQTT_PROP_REASON_STRING, reason_string);
#undef PNUM
#undef PSTR

	if (a->user_count != b->user_count)
		return differ(why, "%s.user_count: %u != %u", where, a->user_count, b->user_count);
	mqtt_iter ia = { 0, 0 }, ib = { 0, 0 };
	mqtt_user_prop ua, ub;
	for (uint32_t i = 0; i < a->user_count; i++) {
		if (!mqtt_props_user_next(a, &ia, &ua) || !mqtt_props_user_next(b, &ib, &ub))
			return differ(why, "%s: user property iterator stopped at %u of %u", where, i,
				      a->user_count);
		if (!str_eq(ua.key, ub.key) || !str_eq(ua.value, ub.value))
			return differ(why, "%s.user[%u]: (%u, %u bytes) != (%u, %u bytes), or content",
				      where, i, ua.key.len, ua.value.len, ub.key.len, ub.value.len);
	}
	if (mqtt_props_user_next(a, &ia, &ua) || mqtt_props_user_next(b, &ib, &ub))
		return differ(why, "%s: user property iterator went past user_count", where);

	if (a->sub_id_count != b->sub_id_count)
		return differ(why, "%s.sub_id_count: %u != %u", where, a->sub_id_count,
			      b->sub_id_count);
	ia = (mqtt_iter){ 0, 0 };
	ib = (mqtt_iter){ 0, 0 };
	uint32_t sa, sb;
	for (uint32_t i = 0; i < a->sub_id_count; i++) {
		if (!mqtt_props_sub_id_next(a, &ia, &sa) || !mqtt_props_sub_id_next(b, &ib, &sb))
			return differ(why, "%s: subscription id iterator stopped at %u of %u", where, i,
				      a->sub_id_count);
		if (sa != sb)
			return differ(why, "%s.sub_id[%u]: %u != %u", where, i, sa, sb);
	}
	if (mqtt_props_sub_id_next(a, &ia, &sa) || mqtt_props_sub_id_next(b, &ib, &sb))
		return differ(why, "%s: subscription id iterator went past sub_id_count", where);
	return true;
}

/*
 * Every field of two packets, strings by content, lists and repeated properties walked
 * with the iterators (so a caller array compares equal to the raw form it encodes to).
 * `length` (decode only) and `connect.protocol_name` (ignored by encode) are left out.
 */
static bool packet_equal(const mqtt_packet *a, const mqtt_packet *b, char *why)
{
#define FIELD(f)                                                                  \
	if (a->f != b->f)                                                         \
		return differ(why, "%s: %lu != %lu", #f, (unsigned long)a->f, \
			      (unsigned long)b->f)
#define SFIELD(f)                                                                              \
	if (!str_eq(a->f, b->f))                                                               \
		return differ(why, "%s: %u bytes != %u bytes, or content", #f, a->f.len, b->f.len)
	FIELD(type);
	FIELD(version);
	FIELD(packet_id);
	FIELD(reason);
	FIELD(session_present);
	if (!props_equal(&a->props, &b->props, "props", why))
		return false;
	FIELD(connect.clean_start);
	FIELD(connect.keepalive_s);
	SFIELD(connect.client_id);
	FIELD(connect.will);
	FIELD(connect.will_qos);
	FIELD(connect.will_retain);
	if (!props_equal(&a->connect.will_props, &b->connect.will_props, "will_props", why))
		return false;
	SFIELD(connect.will_topic);
	SFIELD(connect.will_payload);
	FIELD(connect.has_username);
	SFIELD(connect.username);
	FIELD(connect.has_password);
	SFIELD(connect.password);
	FIELD(publish.qos);
	FIELD(publish.retain);
	FIELD(publish.dup);
	SFIELD(publish.topic);
	SFIELD(publish.payload);
	SFIELD(codes);

	FIELD(subscribe.count);
	mqtt_iter ia = { 0, 0 }, ib = { 0, 0 };
	mqtt_sub sa, sb;
	for (uint32_t i = 0; i < a->subscribe.count; i++) {
		if (!mqtt_sub_next(&a->subscribe, a->version, &ia, &sa) ||
		    !mqtt_sub_next(&b->subscribe, b->version, &ib, &sb))
			return differ(why, "subscribe: iterator stopped at %u of %u", i,
				      a->subscribe.count);
		if (!str_eq(sa.filter, sb.filter))
			return differ(why, "subscribe[%u].filter: %u bytes != %u bytes, or content", i,
				      sa.filter.len, sb.filter.len);
		if (sa.qos != sb.qos || sa.no_local != sb.no_local ||
		    sa.retain_as_published != sb.retain_as_published ||
		    sa.retain_handling != sb.retain_handling)
			return differ(why, "subscribe[%u]: options qos=%u nl=%d rap=%d rh=%u != "
				      "qos=%u nl=%d rap=%d rh=%u", i, sa.qos, sa.no_local,
				      sa.retain_as_published, sa.retain_handling, sb.qos, sb.no_local,
				      sb.retain_as_published, sb.retain_handling);
	}
	if (mqtt_sub_next(&a->subscribe, a->version, &ia, &sa) ||
	    mqtt_sub_next(&b->subscribe, b->version, &ib, &sb))
		return differ(why, "subscribe: iterator went past count");

	FIELD(unsubscribe.count);
	ia = (mqtt_iter){ 0, 0 };
	ib = (mqtt_iter){ 0, 0 };
	mqtt_str fa, fb;
	for (uint32_t i = 0; i < a->unsubscribe.count; i++) {
		if (!mqtt_str_next(&a->unsubscribe, &ia, &fa) ||
		    !mqtt_str_next(&b->unsubscribe, &ib, &fb))
			return differ(why, "unsubscribe: iterator stopped at %u of %u", i,
				      a->unsubscribe.count);
		if (!str_eq(fa, fb))
			return differ(why, "unsubscribe[%u]: %u bytes != %u bytes, or content", i,
				      fa.len, fb.len);
	}
	if (mqtt_str_next(&a->unsubscribe, &ia, &fa) || mqtt_str_next(&b->unsubscribe, &ib, &fb))
		return differ(why, "unsubscribe: iterator went past count");
#undef FIELD
#undef SFIELD
	return true;
}

/* ---- the round trip ------------------------------------------------------------------ */

/* Property ids seen in decoded packets (bit per id), for the all-properties test. */
static uint64_t seen_props;

static void note_props(const mqtt_props *p)
{
	seen_props |= p->present;
	if (p->user_count)
		seen_props |= (uint64_t)1 << MQTT_PROP_USER;
	if (p->sub_id_count)
		seen_props |= (uint64_t)1 << MQTT_PROP_SUBSCRIPTION_ID;
}

/*
 * encode -> decode -> compare -> encode again. Also: mqtt_encoded_size() equals what
 * mqtt_encode() returns; one byte less of buffer is refused and nothing is written;
 * nothing is written past the packet; mqtt_frame() agrees; the decoded packet re-encodes
 * to the same bytes; and (small packets) every proper prefix decodes as "need more".
 * If hex is not NULL the encoding must be exactly those bytes. Returns the length.
 */
static size_t roundtrip_(const mqtt_packet *in, const char *label, const char *hex)
{
	char why[WHY_CAP] = "";
	mqtt_err e;
	mqtt_packet out, again;
	uint32_t total = 0;
	int rc;

	size_t n = mqtt_encoded_size(in);
	CHECK(n > 0, "%s: mqtt_encoded_size() says it cannot be encoded", label);
	uint8_t *buf = filled(n + GUARD, SENTINEL);

	memset(&e, 0, sizeof e);
	rc = mqtt_encode(in, buf, n - 1, &e);
	CHECK(rc == -MQTT_ERR_BUFFER, "%s: encode into %zu bytes (one short) returned %d", label,
	      n - 1, rc);
	CHECK(e.code == MQTT_ERR_BUFFER, "%s: err.code %d after a short buffer", label, e.code);
	CHECK(all_are(buf, n + GUARD, SENTINEL), "%s: a refused encode wrote into the buffer",
	      label);

	rc = mqtt_encode(in, buf, n, &e);
	CHECK(rc >= 0 && (size_t)rc == n, "%s: mqtt_encode() returned %d, mqtt_encoded_size() %zu",
	      label, rc, n);
	CHECK(all_are(buf + n, GUARD, SENTINEL), "%s: encode wrote past the packet", label);
	if (hex) {
		uint8_t want[512];
		size_t wn = unhex(hex, want, sizeof want);
		CHECK(wn == n && memcmp(want, buf, n) == 0, "%s: encoded %zu bytes, want %s", label,
		      n, hex);
	}
	CHECK(mqtt_frame(buf, n, &total) == (int)n && total == n,
	      "%s: mqtt_frame() disagrees with the length %zu", label, n);

	memset(&e, 0, sizeof e);
	rc = mqtt_decode(buf, n, in->version, 0, &out, &e);
	CHECK(rc >= 0 && (size_t)rc == n, "%s: decode returned %d, want %zu (%s: %s)", label, rc,
	      n, e.stmt ? e.stmt : "-", e.msg);
	CHECK(out.length == n, "%s: decoded length %u, want %zu", label, out.length, n);
	CHECK(packet_equal(in, &out, why), "%s: decoded packet differs: %s", label, why);
	if (in->type == MQTT_CONNECT)
		CHECK(str_is(out.connect.protocol_name, "MQTT"), "%s: protocol name", label);
	note_props(&out.props);
	note_props(&out.connect.will_props);

	/* The decoded packet (lists and repeated properties still raw) encodes the same. */
	CHECK(mqtt_encoded_size(&out) == n, "%s: decoded packet has encoded size %zu, want %zu",
	      label, mqtt_encoded_size(&out), n);
	uint8_t *buf2 = filled(n, 0);
	rc = mqtt_encode(&out, buf2, n, &e);
	CHECK(rc >= 0 && (size_t)rc == n, "%s: re-encode returned %d", label, rc);
	CHECK(memcmp(buf, buf2, n) == 0, "%s: re-encoding the decoded packet changed the bytes",
	      label);
	rc = mqtt_decode(buf2, n, in->version, 0, &again, &e);
	CHECK(rc >= 0 && (size_t)rc == n, "%s: decode of the re-encoding returned %d", label, rc);
	CHECK(packet_equal(&out, &again, why), "%s: second decode differs: %s", label, why);

	if (n <= PREFIX_CHECK_MAX) {
		for (size_t k = 0; k < n; k++) {
			rc = mqtt_decode(buf, k, in->version, 0, &again, &e);
			CHECK(rc == 0, "%s: decode of a %zu-byte prefix of %zu returned %d", label, k,
			      n, rc);
		}
	}
	free(buf2);
	free(buf);
	return n;
}

#define roundtrip(p, label) roundtrip_((p), (label), NULL)
#define roundtrip_hex(p, label, hex) roundtrip_((p), (label), (hex))

/* ---- shared fixtures ------------------------------------------------------------------- */

static const mqtt_user_prop users3[] = {
	{ SL("region"), SL("eu-west") },
	{ SL("region"), SL("us-east") }, /* the same name twice: allowed, order kept */
	{ SL(""), SL("") },
};

static const mqtt_user_prop users_utf8[] = {
	{ SL("caf\xc3\xa9"), SL("\xe2\x82\xac" "5") },
	{ SL("k"), SL("v") },
};

static const uint8_t bin7[] = { 0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF, 0x00 };

/* ======================================================================================= */
/* 1. Round trips, MQTT 3.1.1                                                              */
/* ======================================================================================= */

START_TEST(test_rt311_connect)
{
	static const char *const ids[] = { "", "c", "client0123456789ABCDEFG" /* 23 */ };
	static const uint16_t kas[] = { 0, 60, 65535 };
	static const uint8_t will_msg[] = { 0x00, 0x01, 0xFF, 'x' };
	static const uint8_t pw[] = { 0x00, 'p', 'w', 0xFF };
	char label[160];

	/* will: none, then qos 0/1/2 without and with retain */
	for (int w = 0; w < 7; w++) {
		for (int cred = 0; cred < 3; cred++) { /* none, user, user + password */
			for (size_t i = 0; i < NELEM(ids); i++) {
				for (size_t k = 0; k < NELEM(kas); k++) {
					mqtt_packet p = pkt(MQTT_CONNECT, V3);
					mqtt_connect *c = &p.connect;
					c->client_id = str_of(ids[i]);
					/* MQTT-3.1.3-7: an empty client id needs clean session */
					c->clean_start = ids[i][0] == '\0' || (w + (int)k) % 2 == 0;
					c->keepalive_s = kas[k];
					if (w > 0) {
						c->will = true;
						c->will_qos = (uint8_t)((w - 1) % 3);
						c->will_retain = w > 3;
						c->will_topic = str_of("clients/c/status");
						c->will_payload = bytes_of(will_msg, sizeof will_msg);
					}
					if (cred >= 1) {
						c->has_username = true;
						c->username = str_of("user");
					}
					if (cred == 2) {
						c->has_password = true;
						c->password = bytes_of(pw, sizeof pw);
					}
					snprintf(label, sizeof label,
						 "3.1.1 CONNECT will=%d cred=%d id=\"%s\" ka=%u", w, cred,
						 ids[i], kas[k]);
					roundtrip(&p, label);
				}
			}
		}
	}
}
END_TEST

START_TEST(test_rt311_connect_edges)
{
	/* From the spec's flag layout: user 80, password 40, will retain 20, will QoS 1 08,
	 * will 04, clean session 02. */
	mqtt_packet p = pkt(MQTT_CONNECT, V3);
	p.connect.clean_start = true;
	p.connect.keepalive_s = 10;
	p.connect.client_id = str_of("c");
	p.connect.will = true;
	p.connect.will_qos = 1;
	p.connect.will_retain = true;
	p.connect.will_topic = str_of("w");
	p.connect.will_payload = str_of("hi");
	p.connect.has_username = true;
	p.connect.username = str_of("u");
	p.connect.has_password = true;
	p.connect.password = str_of("p");
	roundtrip_hex(&p, "3.1.1 CONNECT everything",
		      "10 1a 00 04 4d 51 54 54 04 ee 00 0a 00 01 63 00 01 77 00 02 68 69"
		      " 00 01 75 00 01 70");

	/* Empty user name, empty password, empty will message. */
	p.connect.username = str_of("");
	p.connect.password = str_of("");
	p.connect.will_payload = str_of("");
	p.connect.will_qos = 2;
	p.connect.will_retain = false;
	roundtrip(&p, "3.1.1 CONNECT empty user, password and will message");

	/* UTF-8 strings, and the 65535-byte maximum of binary fields. */
	uint8_t *big = pattern(65535);
	p.connect.client_id = str_of("\xc3\xbc\xe2\x82\xac");
	p.connect.username = str_of("J\xc3\xbcrgen");
	p.connect.will_topic = str_of("t\xc3\xa9l\xc3\xa9m\xc3\xa9trie/1");
	p.connect.will_payload = bytes_of(big, 65535);
	p.connect.password = bytes_of(big, 65535);
	roundtrip(&p, "3.1.1 CONNECT 65535-byte will message and password");
	free(big);

	/* Minimal: clean session, keep alive 0, empty client id. */
	p = pkt(MQTT_CONNECT, V3);
	p.connect.clean_start = true;
	roundtrip_hex(&p, "3.1.1 CONNECT minimal", "10 0c 00 04 4d 51 54 54 04 02 00 00 00 00");
	p.connect.keepalive_s = 65535;
	roundtrip_hex(&p, "3.1.1 CONNECT keepalive 65535",
		      "10 0c 00 04 4d 51 54 54 04 02 ff ff 00 00");
}
END_TEST

START_TEST(test_rt311_connack)
{
	mqtt_packet p = pkt(MQTT_CONNACK, V3);
	roundtrip_hex(&p, "3.1.1 CONNACK accepted", "20 02 00 00");
	p.session_present = true;
	roundtrip_hex(&p, "3.1.1 CONNACK session present", "20 02 01 00");
	p.session_present = false;
	for (uint8_t rc = 1; rc <= 5; rc++) {
		char label[64], hex[32];
		p.reason = rc;
		snprintf(label, sizeof label, "3.1.1 CONNACK return code %u", rc);
		snprintf(hex, sizeof hex, "20 02 00 %02x", rc);
		roundtrip_hex(&p, label, hex);
	}
}
END_TEST

START_TEST(test_rt311_publish)
{
	static const char *const topics[] = { "a", "a/b/c", "/", "$SYS/broker/load",
					      "t\xc3\xa9l\xc3\xa9m\xc3\xa9trie/\xe2\x82\xac" };
	static const uint16_t ids[] = { 1, 0x1234, 0xFFFF };
	uint8_t *bin = pattern(256);
	const mqtt_str payloads[] = { { NULL, 0 }, str_of("hello"), bytes_of(bin, 256) };
	char label[160];

	for (uint8_t qos = 0; qos <= 2; qos++) {
		for (int retain = 0; retain <= 1; retain++) {
			for (int dup = 0; dup <= (qos ? 1 : 0); dup++) { /* MQTT-3.3.1-2 */
				for (size_t t = 0; t < NELEM(topics); t++) {
					for (size_t pl = 0; pl < NELEM(payloads); pl++) {
						mqtt_packet p = publish(V3, topics[t], qos,
									ids[(t + pl) % NELEM(ids)],
									payloads[pl]);
						p.publish.retain = retain;
						p.publish.dup = dup;
						snprintf(label, sizeof label,
							 "3.1.1 PUBLISH qos=%u retain=%d dup=%d topic=%zu payload=%u",
							 qos, retain, dup, t, payloads[pl].len);
						roundtrip(&p, label);
					}
				}
			}
		}
	}
	free(bin);

	mqtt_packet p = publish(V3, "a/b", 1, 7, str_of("hi!"));
	roundtrip_hex(&p, "3.1.1 PUBLISH qos 1", "32 0a 00 03 61 2f 62 00 07 68 69 21");
	p.publish.qos = 2;
	p.publish.dup = true;
	p.publish.retain = true;
	roundtrip_hex(&p, "3.1.1 PUBLISH dup qos 2 retain", "3d 0a 00 03 61 2f 62 00 07 68 69 21");
	p = publish(V3, "a/b", 0, 0, str_of(""));
	p.publish.retain = true;
	roundtrip_hex(&p, "3.1.1 PUBLISH qos 0 retain, empty payload", "31 05 00 03 61 2f 62");

	/* Large payload, and the longest topic name. */
	uint8_t *large = pattern(300000);
	p = publish(V3, "big", 1, 9, bytes_of(large, 300000));
	roundtrip(&p, "3.1.1 PUBLISH 300000-byte payload");
	free(large);
	uint8_t *topic = filled(65535, 'x');
	p = publish(V3, "", 2, 3, str_of("x"));
	p.publish.topic = bytes_of(topic, 65535);
	roundtrip(&p, "3.1.1 PUBLISH 65535-byte topic");
	free(topic);
}
END_TEST

START_TEST(test_rt311_acks)
{
	static const uint8_t first[] = { 0x40, 0x50, 0x62, 0x70 }; /* PUBREL flags are 0010 */
	static const uint16_t ids[] = { 1, 0x1234, 0xFFFF };
	for (uint8_t t = MQTT_PUBACK; t <= MQTT_PUBCOMP; t++) {
		for (size_t i = 0; i < NELEM(ids); i++) {
			char label[64], hex[32];
			mqtt_packet p = ack(t, V3, ids[i], 0);
			snprintf(label, sizeof label, "3.1.1 %s id %u", mqtt_type_name(t), ids[i]);
			snprintf(hex, sizeof hex, "%02x 02 %02x %02x", first[t - MQTT_PUBACK],
				 ids[i] >> 8, ids[i] & 0xFF);
			roundtrip_hex(&p, label, hex);
		}
	}
}
END_TEST

static char many_names[200][24];
static mqtt_sub many_subs[200];
static mqtt_str many_filters[200];

/* Fill the shared arrays with n distinct filters (and QoS / options cycling). */
static void make_many(size_t n, uint8_t version)
{
	ck_assert_uint_le(n, NELEM(many_names));
	for (size_t i = 0; i < n; i++) {
		static const char *const shapes[] = { "f/%zu", "+/%zu/#", "sport/%zu/+", "%zu" };
		snprintf(many_names[i], sizeof many_names[i], shapes[i % 4], i);
		many_filters[i] = str_of(many_names[i]);
		memset(&many_subs[i], 0, sizeof many_subs[i]);
		many_subs[i].filter = many_filters[i];
		many_subs[i].qos = (uint8_t)(i % 3);
		if (version == V5) {
			many_subs[i].no_local = (i / 3) % 2;
			many_subs[i].retain_as_published = (i / 6) % 2;
			many_subs[i].retain_handling = (uint8_t)((i / 12) % 3);
		}
	}
}

START_TEST(test_rt311_subscribe)
{
	mqtt_sub one = { SL("a/b"), 0, false, false, 0 };
	mqtt_packet p = pkt(MQTT_SUBSCRIBE, V3);
	p.packet_id = 1;
	p.subscribe.count = 1;
	p.subscribe.items = &one;
	roundtrip_hex(&p, "3.1.1 SUBSCRIBE one filter", "82 08 00 01 00 03 61 2f 62 00");
	one.qos = 2;
	one.filter = str_of("#");
	p.packet_id = 0xFFFF;
	roundtrip_hex(&p, "3.1.1 SUBSCRIBE # qos 2", "82 06 ff ff 00 01 23 02");

	for (size_t n = 2; n <= 200; n = n * 3) {
		char label[64];
		make_many(n, V3);
		p.subscribe.count = (uint32_t)n;
		p.subscribe.items = many_subs;
		snprintf(label, sizeof label, "3.1.1 SUBSCRIBE %zu filters", n);
		roundtrip(&p, label);
	}

	uint8_t *f = filled(65535, 'f');
	one.filter = bytes_of(f, 65535);
	one.qos = 1;
	p.subscribe.count = 1;
	p.subscribe.items = &one;
	roundtrip(&p, "3.1.1 SUBSCRIBE 65535-byte filter");
	free(f);
}
END_TEST

START_TEST(test_rt311_suback)
{
	static const uint8_t one[] = { 0x00 };
	static const uint8_t four[] = { 0x00, 0x01, 0x02, 0x80 }; /* MQTT-3.9.3-2 */
	uint8_t many[300];
	for (size_t i = 0; i < sizeof many; i++)
		many[i] = four[i % 4];
	mqtt_packet p = pkt(MQTT_SUBACK, V3);
	p.packet_id = 1;
	p.codes = bytes_of(one, sizeof one);
	roundtrip_hex(&p, "3.1.1 SUBACK one code", "90 03 00 01 00");
	p.packet_id = 10;
	p.codes = bytes_of(four, sizeof four);
	roundtrip_hex(&p, "3.1.1 SUBACK every code", "90 06 00 0a 00 01 02 80");
	p.codes = bytes_of(many, sizeof many);
	roundtrip(&p, "3.1.1 SUBACK 300 codes");
}
END_TEST

START_TEST(test_rt311_unsubscribe)
{
	mqtt_str one = SL("a");
	mqtt_packet p = pkt(MQTT_UNSUBSCRIBE, V3);
	p.packet_id = 1;
	p.unsubscribe.count = 1;
	p.unsubscribe.items = &one;
	roundtrip_hex(&p, "3.1.1 UNSUBSCRIBE one filter", "a2 05 00 01 00 01 61");
	for (size_t n = 2; n <= 200; n = n * 3) {
		char label[64];
		make_many(n, V3);
		p.unsubscribe.count = (uint32_t)n;
		p.unsubscribe.items = many_filters;
		p.packet_id = (uint16_t)(n * 100);
		snprintf(label, sizeof label, "3.1.1 UNSUBSCRIBE %zu filters", n);
		roundtrip(&p, label);
	}
}
END_TEST

START_TEST(test_rt311_unsuback_ping_disconnect)
{
	mqtt_packet p = ack(MQTT_UNSUBACK, V3, 1, 0);
	roundtrip_hex(&p, "3.1.1 UNSUBACK", "b0 02 00 01");
	p.packet_id = 0xFFFF;
	roundtrip_hex(&p, "3.1.1 UNSUBACK id 65535", "b0 02 ff ff");
	p = pkt(MQTT_PINGREQ, V3);
	roundtrip_hex(&p, "3.1.1 PINGREQ", "c0 00");
	p = pkt(MQTT_PINGRESP, V3);
	roundtrip_hex(&p, "3.1.1 PINGRESP", "d0 00");
	p = pkt(MQTT_DISCONNECT, V3);
	roundtrip_hex(&p, "3.1.1 DISCONNECT", "e0 00");
}
END_TEST

/* ======================================================================================= */
/* 1. Round trips, MQTT 5.0                                                                */
/* ======================================================================================= */

START_TEST(test_rt5_connect)
{
	static const char *const ids[] = { "", "c", "client0123456789ABCDEFG" };
	static const uint16_t kas[] = { 0, 60, 65535 };
	static const uint8_t will_msg[] = { 0x00, 0x01, 0xFF, 'x' };
	char label[160];

	for (int w = 0; w < 7; w++) {
		for (int cred = 0; cred < 4; cred++) { /* none, user, password, both */
			for (size_t i = 0; i < NELEM(ids); i++) {
				for (size_t k = 0; k < NELEM(kas); k++) {
					for (int withprops = 0; withprops <= 1; withprops++) {
						mqtt_packet p = pkt(MQTT_CONNECT, V5);
						mqtt_connect *c = &p.connect;
						c->client_id = str_of(ids[i]);
						c->clean_start = (w + (int)k + (int)i) % 2 == 0;
						c->keepalive_s = kas[k];
						if (w > 0) {
							c->will = true;
							c->will_qos = (uint8_t)((w - 1) % 3);
							c->will_retain = w > 3;
							c->will_topic = str_of("clients/c/status");
							c->will_payload = bytes_of(will_msg, sizeof will_msg);
						}
						/* 5.0 allows a password without a user name */
						c->has_username = cred & 1;
						c->username = c->has_username ? str_of("user") : str_of("");
						c->has_password = cred & 2;
						c->password = c->has_password ? bytes_of(bin7, sizeof bin7)
									      : str_of("");
						if (withprops) {
							MQTT_SET(&p.props, MQTT_PROP_SESSION_EXPIRY);
							p.props.session_expiry = 3600;
							MQTT_SET(&p.props, MQTT_PROP_RECEIVE_MAX);
							p.props.receive_max = 20;
							p.props.user_count = 2;
							p.props.user = users3;
							if (c->will) {
								MQTT_SET(&c->will_props, MQTT_PROP_WILL_DELAY);
								c->will_props.will_delay = 30;
								MQTT_SET(&c->will_props, MQTT_PROP_PAYLOAD_FORMAT);
								c->will_props.payload_format = 1;
								c->will_props.user_count = 1;
								c->will_props.user = users_utf8;
							}
						}
						snprintf(label, sizeof label,
							 "5.0 CONNECT will=%d cred=%d id=\"%s\" ka=%u props=%d",
							 w, cred, ids[i], kas[k], withprops);
						roundtrip(&p, label);
					}
				}
			}
		}
	}

	mqtt_packet p = pkt(MQTT_CONNECT, V5);
	p.connect.clean_start = true;
	p.connect.keepalive_s = 60;
	roundtrip_hex(&p, "5.0 CONNECT minimal", "10 0d 00 04 4d 51 54 54 05 02 00 3c 00 00 00");
	p.connect.clean_start = false;
	p.connect.has_password = true;
	p.connect.password = str_of("pw");
	roundtrip_hex(&p, "5.0 CONNECT password only",
		      "10 11 00 04 4d 51 54 54 05 40 00 3c 00 00 00 00 02 70 77");
}
END_TEST

static const uint8_t connack_codes[] = { 0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
					 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
					 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F };

START_TEST(test_rt5_connack)
{
	mqtt_packet p = pkt(MQTT_CONNACK, V5);
	roundtrip_hex(&p, "5.0 CONNACK success", "20 03 00 00 00");
	p.session_present = true;
	roundtrip_hex(&p, "5.0 CONNACK session present", "20 03 01 00 00");
	p.session_present = false;
	for (size_t i = 0; i < NELEM(connack_codes); i++) {
		char label[64], hex[32];
		p = pkt(MQTT_CONNACK, V5);
		p.reason = connack_codes[i];
		snprintf(label, sizeof label, "5.0 CONNACK 0x%02x", p.reason);
		snprintf(hex, sizeof hex, "20 03 00 %02x 00", p.reason);
		roundtrip_hex(&p, label, hex);
		MQTT_SET(&p.props, MQTT_PROP_REASON_STRING);
		p.props.reason_string = str_of(mqtt_reason_name(p.reason));
		p.props.user_count = 3;
		p.props.user = users3;
		snprintf(label, sizeof label, "5.0 CONNACK 0x%02x with properties", p.reason);
		roundtrip(&p, label);
	}
}
END_TEST

START_TEST(test_rt5_publish)
{
	static const char *const topics[] = { "a", "a/b/c", "$SYS/x", "\xe2\x82\xac/\xc3\xa9" };
	uint8_t *bin = pattern(256);
	const mqtt_str payloads[] = { { NULL, 0 }, str_of("hello"), bytes_of(bin, 256) };
	static const uint32_t sids[] = { 1, 268435455 };
	char label[160];

	for (uint8_t qos = 0; qos <= 2; qos++) {
		for (int retain = 0; retain <= 1; retain++) {
			for (int dup = 0; dup <= (qos ? 1 : 0); dup++) {
				for (size_t t = 0; t < NELEM(topics); t++) {
					for (size_t pl = 0; pl < NELEM(payloads); pl++) {
						mqtt_packet p = publish(V5, topics[t], qos,
									(uint16_t)(t * 1000 + pl + 1),
									payloads[pl]);
						p.publish.retain = retain;
						p.publish.dup = dup;
						if ((t + pl) % 2) {
							MQTT_SET(&p.props, MQTT_PROP_MESSAGE_EXPIRY);
							p.props.message_expiry = 120;
							MQTT_SET(&p.props, MQTT_PROP_CONTENT_TYPE);
							p.props.content_type = str_of("text/plain");
							p.props.sub_id_count = 2;
							p.props.sub_ids = sids;
							p.props.user_count = 3;
							p.props.user = users3;
						}
						snprintf(label, sizeof label,
							 "5.0 PUBLISH qos=%u retain=%d dup=%d topic=%zu payload=%u",
							 qos, retain, dup, t, payloads[pl].len);
						roundtrip(&p, label);
					}
				}
			}
		}
	}
	free(bin);

	mqtt_packet p = publish(V5, "t", 0, 0, str_of("x"));
	roundtrip_hex(&p, "5.0 PUBLISH qos 0", "30 05 00 01 74 00 78");
	p = publish(V5, "t", 1, 0x0102, str_of(""));
	roundtrip_hex(&p, "5.0 PUBLISH qos 1 empty payload", "32 06 00 01 74 01 02 00");

	/* A Topic Alias stands in for an empty topic name (5.0 §3.3.2.1). */
	p = publish(V5, "", 1, 5, str_of("aliased"));
	MQTT_SET(&p.props, MQTT_PROP_TOPIC_ALIAS);
	p.props.topic_alias = 3;
	roundtrip(&p, "5.0 PUBLISH empty topic with alias");

	uint8_t *large = pattern(300000);
	p = publish(V5, "big", 2, 65535, bytes_of(large, 300000));
	MQTT_SET(&p.props, MQTT_PROP_PAYLOAD_FORMAT);
	roundtrip(&p, "5.0 PUBLISH 300000-byte payload");
	free(large);
}
END_TEST

static const uint8_t pubackrec_codes[] = { 0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99 };
static const uint8_t pubrelcomp_codes[] = { 0x00, 0x92 };

START_TEST(test_rt5_acks)
{
	static const uint8_t first[] = { 0x40, 0x50, 0x62, 0x70 };
	char label[96], hex[64];
	for (uint8_t t = MQTT_PUBACK; t <= MQTT_PUBCOMP; t++) {
		bool ar = t == MQTT_PUBACK || t == MQTT_PUBREC;
		const uint8_t *codes = ar ? pubackrec_codes : pubrelcomp_codes;
		size_t ncodes = ar ? NELEM(pubackrec_codes) : NELEM(pubrelcomp_codes);
		uint8_t b0 = first[t - MQTT_PUBACK];
		for (size_t i = 0; i < ncodes; i++) {
			uint8_t rc = codes[i];
			mqtt_packet p = ack(t, V5, (uint16_t)(0x100 + i), rc);
			/* Short forms: RL 2 for success without properties, RL 3 with a reason. */
			snprintf(label, sizeof label, "5.0 %s 0x%02x", mqtt_type_name(t), rc);
			if (rc == 0)
				snprintf(hex, sizeof hex, "%02x 02 01 %02zx", b0, i);
			else
				snprintf(hex, sizeof hex, "%02x 03 01 %02zx %02x", b0, i, rc);
			roundtrip_hex(&p, label, hex);

			MQTT_SET(&p.props, MQTT_PROP_REASON_STRING);
			p.props.reason_string = str_of("x");
			snprintf(label, sizeof label, "5.0 %s 0x%02x reason string", mqtt_type_name(t),
				 rc);
			snprintf(hex, sizeof hex, "%02x 08 01 %02zx %02x 04 1f 00 01 78", b0, i, rc);
			roundtrip_hex(&p, label, hex);

			p.props.user_count = 3;
			p.props.user = users3;
			snprintf(label, sizeof label, "5.0 %s 0x%02x reason string + users",
				 mqtt_type_name(t), rc);
			roundtrip(&p, label);

			p.props.present = 0;
			snprintf(label, sizeof label, "5.0 %s 0x%02x users only", mqtt_type_name(t), rc);
			roundtrip(&p, label);
		}
	}
}
END_TEST

START_TEST(test_rt5_subscribe)
{
	mqtt_sub one = { SL("a/b"), 1, true, true, 2 };
	mqtt_packet p = pkt(MQTT_SUBSCRIBE, V5);
	p.packet_id = 2;
	p.subscribe.count = 1;
	p.subscribe.items = &one;
	/* options: retain handling 2 (0x20) | RAP (0x08) | no local (0x04) | QoS 1 */
	roundtrip_hex(&p, "5.0 SUBSCRIBE one filter", "82 09 00 02 00 00 03 61 2f 62 2d");

	/* Every combination of the options in one packet. */
	mqtt_sub all[36];
	char names[36][32];
	size_t n = 0;
	for (uint8_t qos = 0; qos <= 2; qos++)
		for (int nl = 0; nl <= 1; nl++)
			for (int rap = 0; rap <= 1; rap++)
				for (uint8_t rh = 0; rh <= 2; rh++) {
					snprintf(names[n], sizeof names[n], "o/%u/%d/%d/%u", qos, nl, rap, rh);
					all[n] = (mqtt_sub){ str_of(names[n]), qos, nl, rap, rh };
					n++;
				}
	p.subscribe.count = (uint32_t)n;
	p.subscribe.items = all;
	roundtrip(&p, "5.0 SUBSCRIBE all option combinations");

	/* Each option alone, checked on the wire. */
	static const struct {
		uint8_t qos;
		bool nl, rap;
		uint8_t rh;
		const char *hex;
	} opt[] = {
		{ 0, false, false, 0, "82 07 00 03 00 00 01 74 00" },
		{ 2, false, false, 0, "82 07 00 03 00 00 01 74 02" },
		{ 0, true, false, 0, "82 07 00 03 00 00 01 74 04" },
		{ 0, false, true, 0, "82 07 00 03 00 00 01 74 08" },
		{ 0, false, false, 1, "82 07 00 03 00 00 01 74 10" },
		{ 0, false, false, 2, "82 07 00 03 00 00 01 74 20" },
	};
	for (size_t i = 0; i < NELEM(opt); i++) {
		mqtt_sub s = { SL("t"), opt[i].qos, opt[i].nl, opt[i].rap, opt[i].rh };
		p = pkt(MQTT_SUBSCRIBE, V5);
		p.packet_id = 3;
		p.subscribe.count = 1;
		p.subscribe.items = &s;
		roundtrip_hex(&p, opt[i].hex, opt[i].hex);
	}

	for (size_t m = 2; m <= 200; m = m * 3) {
		char label[64];
		make_many(m, V5);
		p = pkt(MQTT_SUBSCRIBE, V5);
		p.packet_id = 0xFFFF;
		p.subscribe.count = (uint32_t)m;
		p.subscribe.items = many_subs;
		uint32_t sid = (uint32_t)m;
		p.props.sub_id_count = 1;
		p.props.sub_ids = &sid;
		p.props.user_count = 2;
		p.props.user = users_utf8;
		snprintf(label, sizeof label, "5.0 SUBSCRIBE %zu filters with properties", m);
		roundtrip(&p, label);
	}

	/* A shared subscription is just a filter to the codec. */
	mqtt_sub sh = { SL("$share/group/a/+"), 2, false, true, 1 };
	p = pkt(MQTT_SUBSCRIBE, V5);
	p.packet_id = 4;
	p.subscribe.count = 1;
	p.subscribe.items = &sh;
	roundtrip(&p, "5.0 SUBSCRIBE shared");
}
END_TEST

static const uint8_t suback_codes[] = { 0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
					0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2 };
static const uint8_t unsuback_codes[] = { 0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91 };

START_TEST(test_rt5_suback_unsuback)
{
	mqtt_packet p = pkt(MQTT_SUBACK, V5);
	p.packet_id = 1;
	p.codes = bytes_of(suback_codes, 1);
	roundtrip_hex(&p, "5.0 SUBACK one code", "90 04 00 01 00 00");
	p.codes = bytes_of(suback_codes, sizeof suback_codes);
	roundtrip_hex(&p, "5.0 SUBACK every code",
		      "90 0f 00 01 00 00 01 02 80 83 87 8f 91 97 9e a1 a2");
	MQTT_SET(&p.props, MQTT_PROP_REASON_STRING);
	p.props.reason_string = str_of("some were refused");
	p.props.user_count = 3;
	p.props.user = users3;
	roundtrip(&p, "5.0 SUBACK every code with properties");
	uint8_t many[500];
	for (size_t i = 0; i < sizeof many; i++)
		many[i] = suback_codes[i % NELEM(suback_codes)];
	p.codes = bytes_of(many, sizeof many);
	roundtrip(&p, "5.0 SUBACK 500 codes");

	p = pkt(MQTT_UNSUBACK, V5);
	p.packet_id = 1;
	p.codes = bytes_of(unsuback_codes + 1, 1);
	roundtrip_hex(&p, "5.0 UNSUBACK one code", "b0 04 00 01 00 11");
	p.codes = bytes_of(unsuback_codes, sizeof unsuback_codes);
	roundtrip_hex(&p, "5.0 UNSUBACK every code", "b0 0a 00 01 00 00 11 80 83 87 8f 91");
	MQTT_SET(&p.props, MQTT_PROP_REASON_STRING);
	p.props.reason_string = str_of("r");
	p.props.user_count = 1;
	p.props.user = users3;
	roundtrip(&p, "5.0 UNSUBACK with properties");
	for (size_t i = 0; i < sizeof many; i++)
		many[i] = unsuback_codes[i % NELEM(unsuback_codes)];
	p.codes = bytes_of(many, sizeof many);
	roundtrip(&p, "5.0 UNSUBACK 500 codes");
}
END_TEST

START_TEST(test_rt5_unsubscribe)
{
	mqtt_str one = SL("a");
	mqtt_packet p = pkt(MQTT_UNSUBSCRIBE, V5);
	p.packet_id = 1;
	p.unsubscribe.count = 1;
	p.unsubscribe.items = &one;
	roundtrip_hex(&p, "5.0 UNSUBSCRIBE one filter", "a2 06 00 01 00 00 01 61");
	for (size_t n = 2; n <= 200; n = n * 3) {
		char label[64];
		make_many(n, V5);
		p.unsubscribe.count = (uint32_t)n;
		p.unsubscribe.items = many_filters;
		p.props.user_count = (uint32_t)(n % 4);
		p.props.user = users3;
		snprintf(label, sizeof label, "5.0 UNSUBSCRIBE %zu filters", n);
		roundtrip(&p, label);
	}
}
END_TEST

START_TEST(test_rt5_ping)
{
	mqtt_packet p = pkt(MQTT_PINGREQ, V5);
	roundtrip_hex(&p, "5.0 PINGREQ", "c0 00");
	p = pkt(MQTT_PINGRESP, V5);
	roundtrip_hex(&p, "5.0 PINGRESP", "d0 00");
}
END_TEST

static const uint8_t disconnect_codes[] = {
	0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
	0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
};

START_TEST(test_rt5_disconnect)
{
	char label[96], hex[32];
	mqtt_packet p = pkt(MQTT_DISCONNECT, V5);
	roundtrip_hex(&p, "5.0 DISCONNECT short", "e0 00");
	for (size_t i = 0; i < NELEM(disconnect_codes); i++) {
		p = pkt(MQTT_DISCONNECT, V5);
		p.reason = disconnect_codes[i];
		snprintf(label, sizeof label, "5.0 DISCONNECT 0x%02x", p.reason);
		if (p.reason)
			snprintf(hex, sizeof hex, "e0 01 %02x", p.reason);
		else
			snprintf(hex, sizeof hex, "e0 00");
		roundtrip_hex(&p, label, hex);

		MQTT_SET(&p.props, MQTT_PROP_REASON_STRING);
		p.props.reason_string = str_of(mqtt_reason_name(p.reason));
		p.props.user_count = 2;
		p.props.user = users_utf8;
		snprintf(label, sizeof label, "5.0 DISCONNECT 0x%02x with properties", p.reason);
		roundtrip(&p, label);
	}
	p = pkt(MQTT_DISCONNECT, V5);
	MQTT_SET(&p.props, MQTT_PROP_SESSION_EXPIRY);
	roundtrip_hex(&p, "5.0 DISCONNECT session expiry 0", "e0 07 00 05 11 00 00 00 00");
	p.reason = 0x9C;
	MQTT_SET(&p.props, MQTT_PROP_SERVER_REFERENCE);
	p.props.server_reference = str_of("other.example:1883");
	p.props.session_expiry = 0xFFFFFFFF;
	roundtrip(&p, "5.0 DISCONNECT use another server");
}
END_TEST

START_TEST(test_rt5_auth)
{
	mqtt_packet p = pkt(MQTT_AUTH, V5);
	roundtrip_hex(&p, "5.0 AUTH short", "f0 00");
	p.reason = 0x18;
	MQTT_SET(&p.props, MQTT_PROP_AUTH_METHOD);
	p.props.auth_method = str_of("m");
	roundtrip_hex(&p, "5.0 AUTH continue", "f0 06 18 04 15 00 01 6d");
	MQTT_SET(&p.props, MQTT_PROP_AUTH_DATA);
	p.props.auth_data = bytes_of(bin7, sizeof bin7);
	roundtrip(&p, "5.0 AUTH continue with data");
	p.reason = 0x19;
	MQTT_SET(&p.props, MQTT_PROP_REASON_STRING);
	p.props.reason_string = str_of("re-auth");
	p.props.user_count = 3;
	p.props.user = users3;
	roundtrip(&p, "5.0 AUTH re-authenticate, all properties");
	p.reason = 0x00;
	roundtrip(&p, "5.0 AUTH success with properties");
	/* Only the all-default AUTH may drop the property length (5.0 §3.15.2: Remaining
	 * Length 0). With a reason code the property length must be there, even if 0
	 * (MQTT-2.2.2-1); DISCONNECT, unlike AUTH, has a Remaining Length 1 form
	 * (§3.14.2.2.1). Such an AUTH also lacks the Authentication Method (a protocol
	 * error, §3.15.2.2.2), so refusing it is fine too; the RL 1 form is not. */
	for (uint8_t rc = 0x18; rc <= 0x19; rc++) {
		uint8_t out[8] = { 0 };
		p = pkt(MQTT_AUTH, V5);
		p.reason = rc;
		int n = mqtt_encode(&p, out, sizeof out, NULL);
		ck_assert_msg(n == -MQTT_ERR_ARG || (n == 4 && out[0] == 0xF0 && out[1] == 2 &&
						     out[2] == rc && out[3] == 0),
			      "AUTH 0x%02x without properties: encode returned %d, bytes %02x %02x %02x "
			      "(want f0 02 %02x 00, or refusal)", rc, n, out[0], out[1], out[2], rc);
	}
}
END_TEST

/* ======================================================================================= */
/* 2. Every 5.0 property                                                                   */
/* ======================================================================================= */

static const uint32_t u32_edges[] = { 0, 1, 0xFFFF, 0x10000, 0xFFFFFFFFu };
static const uint16_t u16_edges[] = { 0, 1, 0xFF, 0x100, 0xFFFF };
static const uint32_t sub_id_edges[] = { 1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455 };

static void props_connect_cases(void)
{
	char label[96];
	uint8_t *big = pattern(65535);
	for (size_t i = 0; i < NELEM(u32_edges); i++) {
		mqtt_packet p = pkt(MQTT_CONNECT, V5);
		p.connect.clean_start = true;
		MQTT_SET(&p.props, MQTT_PROP_SESSION_EXPIRY);
		p.props.session_expiry = u32_edges[i];
		MQTT_SET(&p.props, MQTT_PROP_MAX_PACKET_SIZE); /* 0 is a protocol error */
		p.props.max_packet_size = u32_edges[i] ? u32_edges[i] : 1;
		MQTT_SET(&p.props, MQTT_PROP_RECEIVE_MAX);        /* 0 is a protocol error */
		p.props.receive_max = u16_edges[i] ? u16_edges[i] : 1;
		MQTT_SET(&p.props, MQTT_PROP_TOPIC_ALIAS_MAX);     /* 0 means none */
		p.props.topic_alias_max = u16_edges[i];
		MQTT_SET(&p.props, MQTT_PROP_REQUEST_RESPONSE_INFO);
		p.props.request_response_info = (uint8_t)(i % 2);
		MQTT_SET(&p.props, MQTT_PROP_REQUEST_PROBLEM_INFO);
		p.props.request_problem_info = (uint8_t)((i + 1) % 2);
		MQTT_SET(&p.props, MQTT_PROP_AUTH_METHOD);
		p.props.auth_method = i ? str_of("SCRAM-SHA-256") : str_of("");
		MQTT_SET(&p.props, MQTT_PROP_AUTH_DATA);
		p.props.auth_data = i == 4 ? bytes_of(big, 65535) : bytes_of(bin7, i);
		p.props.user_count = (uint32_t)(i % 4);
		p.props.user = users3;
		snprintf(label, sizeof label, "5.0 CONNECT properties #%zu", i);
		roundtrip(&p, label);
	}
	free(big);
}

START_TEST(test_props_connect)
{
	props_connect_cases();
}
END_TEST

static void props_will_cases(void)
{
	char label[96];
	for (size_t i = 0; i < NELEM(u32_edges); i++) {
		mqtt_packet p = pkt(MQTT_CONNECT, V5);
		p.connect.clean_start = true;
		p.connect.client_id = str_of("w");
		p.connect.will = true;
		p.connect.will_qos = (uint8_t)(i % 3);
		p.connect.will_topic = str_of("last/will");
		p.connect.will_payload = str_of("gone");
		mqtt_props *w = &p.connect.will_props;
		MQTT_SET(w, MQTT_PROP_WILL_DELAY);
		w->will_delay = u32_edges[i];
		MQTT_SET(w, MQTT_PROP_MESSAGE_EXPIRY);
		w->message_expiry = u32_edges[NELEM(u32_edges) - 1 - i];
		MQTT_SET(w, MQTT_PROP_PAYLOAD_FORMAT);
		w->payload_format = (uint8_t)(i % 2);
		MQTT_SET(w, MQTT_PROP_CONTENT_TYPE);
		w->content_type = i ? str_of("application/json; charset=utf-8") : str_of("");
		MQTT_SET(w, MQTT_PROP_RESPONSE_TOPIC);
		w->response_topic = str_of("reply/to/me");
		MQTT_SET(w, MQTT_PROP_CORRELATION_DATA);
		w->correlation_data = bytes_of(bin7, i);
		w->user_count = (uint32_t)(i % 4);
		w->user = users3;
		snprintf(label, sizeof label, "5.0 will properties #%zu", i);
		roundtrip(&p, label);
	}
}

START_TEST(test_props_will)
{
	props_will_cases();
}
END_TEST

static void props_connack_cases(void)
{
	char label[96];
	for (size_t i = 0; i < NELEM(u32_edges); i++) {
		mqtt_packet p = pkt(MQTT_CONNACK, V5);
		mqtt_props *q = &p.props;
		uint8_t b = (uint8_t)(i % 2);
		MQTT_SET(q, MQTT_PROP_SESSION_EXPIRY);
		q->session_expiry = u32_edges[i];
		MQTT_SET(q, MQTT_PROP_RECEIVE_MAX);
		q->receive_max = u16_edges[i] ? u16_edges[i] : 0xFFFF;
		MQTT_SET(q, MQTT_PROP_MAX_QOS);
		q->max_qos = b;
		MQTT_SET(q, MQTT_PROP_RETAIN_AVAILABLE);
		q->retain_available = b;
		MQTT_SET(q, MQTT_PROP_MAX_PACKET_SIZE);
		q->max_packet_size = u32_edges[i] ? u32_edges[i] : 2;
		MQTT_SET(q, MQTT_PROP_ASSIGNED_CLIENT_ID);
		q->assigned_client_id = str_of("auto-4F2A9C");
		MQTT_SET(q, MQTT_PROP_TOPIC_ALIAS_MAX);
		q->topic_alias_max = u16_edges[i];
		MQTT_SET(q, MQTT_PROP_REASON_STRING);
		q->reason_string = i ? str_of("welcome") : str_of("");
		MQTT_SET(q, MQTT_PROP_WILDCARD_SUB_AVAILABLE);
		q->wildcard_sub_available = (uint8_t)!b;
		MQTT_SET(q, MQTT_PROP_SUB_ID_AVAILABLE);
		q->sub_id_available = b;
		MQTT_SET(q, MQTT_PROP_SHARED_SUB_AVAILABLE);
		q->shared_sub_available = (uint8_t)!b;
		MQTT_SET(q, MQTT_PROP_SERVER_KEEPALIVE);
		q->server_keepalive = u16_edges[i];
		MQTT_SET(q, MQTT_PROP_RESPONSE_INFO);
		q->response_info = str_of("responses/");
		MQTT_SET(q, MQTT_PROP_SERVER_REFERENCE);
		q->server_reference = str_of("b2.example");
		MQTT_SET(q, MQTT_PROP_AUTH_METHOD);
		q->auth_method = str_of("SCRAM-SHA-256");
		MQTT_SET(q, MQTT_PROP_AUTH_DATA);
		q->auth_data = bytes_of(bin7, sizeof bin7);
		q->user_count = 3;
		q->user = users3;
		p.session_present = b;
		snprintf(label, sizeof label, "5.0 CONNACK all 17 properties #%zu", i);
		roundtrip(&p, label);
	}
}

START_TEST(test_props_connack)
{
	props_connack_cases();
}
END_TEST

static void props_publish_cases(void)
{
	char label[96];
	for (size_t i = 0; i < NELEM(u32_edges); i++) {
		mqtt_packet p = publish(V5, "sensor/1", (uint8_t)(i % 3), (uint16_t)(i + 1),
					str_of("21.5"));
		mqtt_props *q = &p.props;
		MQTT_SET(q, MQTT_PROP_PAYLOAD_FORMAT);
		q->payload_format = (uint8_t)(i % 2);
		MQTT_SET(q, MQTT_PROP_MESSAGE_EXPIRY);
		q->message_expiry = u32_edges[i];
		MQTT_SET(q, MQTT_PROP_TOPIC_ALIAS); /* 0 is a protocol error */
		q->topic_alias = u16_edges[i] ? u16_edges[i] : 0xFFFF;
		MQTT_SET(q, MQTT_PROP_RESPONSE_TOPIC);
		q->response_topic = str_of("reply/sensor/1");
		MQTT_SET(q, MQTT_PROP_CORRELATION_DATA);
		q->correlation_data = bytes_of(bin7, i);
		MQTT_SET(q, MQTT_PROP_CONTENT_TYPE);
		q->content_type = str_of("text/plain");
		q->user_count = 3;
		q->user = users3;
		q->sub_id_count = (uint32_t)(i + 1);
		q->sub_ids = sub_id_edges;
		snprintf(label, sizeof label, "5.0 PUBLISH all 8 properties #%zu", i);
		roundtrip(&p, label);
	}

	/* Many user properties keep their order, and every subscription id boundary at once. */
	mqtt_user_prop us[40];
	char keys[40][8], vals[40][8];
	for (size_t i = 0; i < NELEM(us); i++) {
		snprintf(keys[i], sizeof keys[i], "k%zu", i % 7);
		snprintf(vals[i], sizeof vals[i], "v%zu", i);
		us[i].key = str_of(keys[i]);
		us[i].value = str_of(vals[i]);
	}
	mqtt_packet p = publish(V5, "t", 0, 0, str_of(""));
	p.props.user_count = NELEM(us);
	p.props.user = us;
	p.props.sub_id_count = NELEM(sub_id_edges);
	p.props.sub_ids = sub_id_edges;
	roundtrip(&p, "5.0 PUBLISH 40 user properties, 8 subscription ids");
}

START_TEST(test_props_publish)
{
	props_publish_cases();
}
END_TEST

/* A subscription identifier is a variable byte integer on the wire (5.0 §3.3.2.3.8). */
START_TEST(test_props_sub_id_vbi)
{
	static const char *const vbi[] = { "01", "7f", "80 01", "ff 7f", "80 80 01", "ff ff 7f",
					   "80 80 80 01", "ff ff ff 7f" };
	for (size_t i = 0; i < NELEM(sub_id_edges); i++) {
		char label[96], hex[96];
		uint32_t v = sub_id_edges[i];
		int vs = mqtt_vbi_size(v);
		mqtt_packet p = publish(V5, "t", 0, 0, str_of(""));
		p.props.sub_id_count = 1;
		p.props.sub_ids = &v;
		/* RL = topic 3 + property length 1 + id 1 + value */
		snprintf(hex, sizeof hex, "30 %02x 00 01 74 %02x 0b %s", 5 + vs, 1 + vs, vbi[i]);
		snprintf(label, sizeof label, "5.0 PUBLISH subscription id %u", v);
		roundtrip_hex(&p, label, hex);

		mqtt_sub s = { SL("t"), 0, false, false, 0 };
		p = pkt(MQTT_SUBSCRIBE, V5);
		p.packet_id = 1;
		p.subscribe.count = 1;
		p.subscribe.items = &s;
		p.props.sub_id_count = 1;
		p.props.sub_ids = &v;
		snprintf(hex, sizeof hex, "82 %02x 00 01 %02x 0b %s 00 01 74 00", 8 + vs, 1 + vs,
			 vbi[i]);
		snprintf(label, sizeof label, "5.0 SUBSCRIBE subscription id %u", v);
		roundtrip_hex(&p, label, hex);
	}
}
END_TEST

static void props_others_cases(void)
{
	char label[96];
	/* Reason String and User Property: the acks, SUBACK, UNSUBACK. */
	static const uint8_t types[] = { MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL, MQTT_PUBCOMP,
					 MQTT_SUBACK, MQTT_UNSUBACK };
	for (size_t i = 0; i < NELEM(types); i++) {
		for (uint32_t nu = 0; nu <= 3; nu++) {
			mqtt_packet p = ack(types[i], V5, 42, 0);
			if (types[i] == MQTT_SUBACK || types[i] == MQTT_UNSUBACK)
				p.codes = bytes_of("\x00\x00", 2);
			MQTT_SET(&p.props, MQTT_PROP_REASON_STRING);
			p.props.reason_string = nu ? str_of("why \xe2\x80\x94 because") : str_of("");
			p.props.user_count = nu;
			p.props.user = users3;
			snprintf(label, sizeof label, "5.0 %s reason string, %u users",
				 mqtt_type_name(types[i]), nu);
			roundtrip(&p, label);
		}
	}
	/* User Property in SUBSCRIBE and UNSUBSCRIBE. */
	mqtt_sub s = { SL("a/#"), 1, false, false, 0 };
	mqtt_packet p = pkt(MQTT_SUBSCRIBE, V5);
	p.packet_id = 5;
	p.subscribe.count = 1;
	p.subscribe.items = &s;
	p.props.user_count = 3;
	p.props.user = users3;
	roundtrip(&p, "5.0 SUBSCRIBE users");
	mqtt_str f = SL("a/#");
	p = pkt(MQTT_UNSUBSCRIBE, V5);
	p.packet_id = 5;
	p.unsubscribe.count = 1;
	p.unsubscribe.items = &f;
	p.props.user_count = 3;
	p.props.user = users3;
	roundtrip(&p, "5.0 UNSUBSCRIBE users");

	/* DISCONNECT: Session Expiry, Reason String, Server Reference, User Property. */
	for (size_t i = 0; i < NELEM(u32_edges); i++) {
		p = pkt(MQTT_DISCONNECT, V5);
		p.reason = disconnect_codes[i];
		MQTT_SET(&p.props, MQTT_PROP_SESSION_EXPIRY);
		p.props.session_expiry = u32_edges[i];
		MQTT_SET(&p.props, MQTT_PROP_REASON_STRING);
		p.props.reason_string = str_of("bye");
		MQTT_SET(&p.props, MQTT_PROP_SERVER_REFERENCE);
		p.props.server_reference = str_of("b2");
		p.props.user_count = (uint32_t)(i % 4);
		p.props.user = users3;
		snprintf(label, sizeof label, "5.0 DISCONNECT all properties #%zu", i);
		roundtrip(&p, label);
	}
	/* AUTH: Authentication Method and Data, Reason String, User Property. */
	p = pkt(MQTT_AUTH, V5);
	p.reason = 0x18;
	MQTT_SET(&p.props, MQTT_PROP_AUTH_METHOD);
	p.props.auth_method = str_of("SCRAM-SHA-1");
	MQTT_SET(&p.props, MQTT_PROP_AUTH_DATA);
	p.props.auth_data = str_of("");
	MQTT_SET(&p.props, MQTT_PROP_REASON_STRING);
	p.props.reason_string = str_of("step 2");
	p.props.user_count = 2;
	p.props.user = users_utf8;
	roundtrip(&p, "5.0 AUTH all properties");
}

START_TEST(test_props_others)
{
	props_others_cases();
}
END_TEST

/* The property length is a variable byte integer too: a block of 127/128, 16383/16384
 * and 2097151/2097152 bytes. */
START_TEST(test_props_length_vbi)
{
	static const uint32_t sizes[] = { 127, 128, 16383, 16384 };
	char label[96];
	for (size_t i = 0; i < NELEM(sizes); i++) {
		uint32_t ps = sizes[i];
		uint32_t slen = ps - 3; /* 1F, 2-byte length, the string */
		uint8_t *s = filled(slen, 'r');
		mqtt_packet p = ack(MQTT_PUBACK, V5, 1, 0x10);
		MQTT_SET(&p.props, MQTT_PROP_REASON_STRING);
		p.props.reason_string = bytes_of(s, slen);
		uint32_t rl = 3 + (uint32_t)mqtt_vbi_size(ps) + ps;
		size_t want = 1 + (size_t)mqtt_vbi_size(rl) + rl;
		snprintf(label, sizeof label, "5.0 PUBACK property block of %u bytes", ps);
		ck_assert_uint_eq(mqtt_encoded_size(&p), want);
		ck_assert_uint_eq(roundtrip(&p, label), want);
		free(s);
	}

	/* 2097151 and 2097152 from user properties: 32 of 5 + 65530 bytes and one small one.
	 * Every value points at the same buffer. */
	uint8_t *v = filled(65530, 'v');
	mqtt_user_prop us[33];
	for (uint32_t last = 26; last <= 27; last++) {
		for (size_t i = 0; i < 32; i++)
			us[i] = (mqtt_user_prop){ { NULL, 0 }, bytes_of(v, 65530) };
		us[32] = (mqtt_user_prop){ { NULL, 0 }, bytes_of(v, last) };
		uint32_t ps = 32 * (5 + 65530) + 5 + last;
		mqtt_packet p = ack(MQTT_PUBACK, V5, 1, 0);
		p.props.user_count = 33;
		p.props.user = us;
		uint32_t rl = 3 + (uint32_t)mqtt_vbi_size(ps) + ps;
		size_t want = 1 + (size_t)mqtt_vbi_size(rl) + rl;
		ck_assert_uint_eq(mqtt_vbi_size(ps), last == 26 ? 3 : 4);
		snprintf(label, sizeof label, "5.0 PUBACK property block of %u bytes", ps);
		ck_assert_uint_eq(roundtrip(&p, label), want);
	}
	free(v);
}
END_TEST

/* Every one of the 27 property ids round-trips somewhere. */
START_TEST(test_props_all_ids)
{
	static const uint8_t spec_ids[] = { 0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13,
					    0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1C, 0x1F, 0x21,
					    0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A };
	uint64_t want = 0;
	for (size_t i = 0; i < NELEM(spec_ids); i++)
		want |= (uint64_t)1 << spec_ids[i];
	/* The codec's table knows exactly these ids. */
	uint64_t known = 0;
	int count = 0;
	for (uint32_t id = 0; id < 256; id++) {
		const mqtt_prop_info *in = mqtt_prop_lookup(id);
		if (in) {
			ck_assert_uint_eq(in->id, id);
			ck_assert_uint_lt(id, 64);
			known |= (uint64_t)1 << id;
			count++;
		}
	}
	ck_assert_int_eq(count, 27);
	ck_assert_msg(known == want, "property table 0x%llx, spec 0x%llx", (unsigned long long)known,
		      (unsigned long long)want);

	seen_props = 0;
	props_connect_cases();
	props_will_cases();
	props_connack_cases();
	props_publish_cases();
	props_others_cases();
	ck_assert_msg(seen_props == want, "ids never round-tripped: 0x%llx",
		      (unsigned long long)(want & ~seen_props));
}
END_TEST

/* ======================================================================================= */
/* 3. Remaining-length boundaries                                                          */
/* ======================================================================================= */

static const struct {
	uint32_t v;
	int size;
	const char *hex;
} rl_edges[] = {
	{ 0, 1, "00" },
	{ 127, 1, "7f" },
	{ 128, 2, "80 01" },
	{ 16383, 2, "ff 7f" },
	{ 16384, 3, "80 80 01" },
	{ 2097151, 3, "ff ff 7f" },
	{ 2097152, 4, "80 80 80 01" },
	{ 268435455, 4, "ff ff ff 7f" },
};

START_TEST(test_vbi_size)
{
	for (size_t i = 0; i < NELEM(rl_edges); i++)
		ck_assert_int_eq(mqtt_vbi_size(rl_edges[i].v), rl_edges[i].size);
	ck_assert_int_eq(mqtt_vbi_size(1), 1);
	ck_assert_int_eq(mqtt_vbi_size(MQTT_VBI_MAX), 4);
	ck_assert_int_eq(mqtt_vbi_size(268435456), 0);
	ck_assert_int_eq(mqtt_vbi_size(0xFFFFFFFFu), 0);
}
END_TEST

START_TEST(test_rl_frame_and_header_only)
{
	for (size_t i = 0; i < NELEM(rl_edges); i++) {
		uint8_t h[8];
		h[0] = 0x30;
		size_t hn = 1 + unhex(rl_edges[i].hex, h + 1, sizeof h - 1);
		ck_assert_uint_eq(hn, 1 + (size_t)rl_edges[i].size);
		uint32_t total = 0;
		uint32_t want = (uint32_t)hn + rl_edges[i].v;
		ck_assert_int_eq(mqtt_frame(h, hn, &total), (int)want);
		ck_assert_uint_eq(total, want);
		for (size_t k = 0; k < hn; k++)
			ck_assert_int_eq(mqtt_frame(h, k, &total), 0);
		if (rl_edges[i].v == 0)
			continue;
		/* Only the header is here: need more, in either version, by either limit. */
		mqtt_packet p;
		mqtt_err e;
		for (size_t k = 0; k <= hn; k++) {
			ck_assert_int_eq(mqtt_decode(h, k, V3, 0, &p, &e), 0);
			ck_assert_int_eq(mqtt_decode(h, k, V5, 0, &p, &e), 0);
			ck_assert_int_eq(mqtt_decode(h, k, V5, MQTT_PACKET_MAX, &p, &e), 0);
		}
		/* A limit below the announced size fails before the body arrives. */
		ck_assert_int_eq(mqtt_decode(h, hn, V5, want - 1, &p, &e), -MQTT_ERR_TOO_LARGE);
		ck_assert_int_eq(mqtt_decode(h, hn, V5, want, &p, &e), 0);
	}
	/* Zero-length bodies. */
	uint8_t z[2] = { 0xC0, 0x00 };
	uint32_t total = 0;
	ck_assert_int_eq(mqtt_frame(z, 2, &total), 2);
	ck_assert_uint_eq(total, 2);
	/* A fifth length byte, and packet type 0, are bad headers. */
	uint8_t five[6] = { 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 };
	ck_assert_int_lt(mqtt_frame(five, sizeof five, &total), 0);
	uint8_t t0[2] = { 0x00, 0x00 };
	ck_assert_int_lt(mqtt_frame(t0, sizeof t0, &total), 0);
}
END_TEST

/* A PUBLISH whose remaining length is each boundary, encoded with its header checked. */
START_TEST(test_rl_publish_edges)
{
	for (size_t i = 1; i < NELEM(rl_edges) - 1; i++) {
		for (uint8_t ver = V3; ver <= V5; ver++) {
			uint32_t rl = rl_edges[i].v;
			uint32_t plen = rl - 3 - (ver == V5 ? 1 : 0); /* topic "t", property length */
			uint8_t *pl = pattern(plen);
			mqtt_packet p = publish(ver, "t", 0, 0, bytes_of(pl, plen));
			size_t want = 1 + (size_t)rl_edges[i].size + rl;
			ck_assert_uint_eq(mqtt_encoded_size(&p), want);

			uint8_t h[8];
			size_t hn = unhex(rl_edges[i].hex, h, sizeof h);
			uint8_t *buf = filled(want, 0);
			ck_assert_int_eq(mqtt_encode(&p, buf, want, NULL), (int)want);
			ck_assert_uint_eq(buf[0], 0x30);
			ck_assert_msg(memcmp(buf + 1, h, hn) == 0,
				      "remaining length %u: header is not %s", rl, rl_edges[i].hex);
			free(buf);

			char label[64];
			snprintf(label, sizeof label, "%s PUBLISH remaining length %u",
				 ver == V5 ? "5.0" : "3.1.1", rl);
			ck_assert_uint_eq(roundtrip(&p, label), want);
			free(pl);
		}
	}
	mqtt_packet z = pkt(MQTT_PINGRESP, V3);
	roundtrip_hex(&z, "remaining length 0", "d0 00");
}
END_TEST

/* 268435455 is the most a remaining length can say; one more cannot be encoded. The
 * payload pointer is never read: the size is judged before anything is written. */
START_TEST(test_rl_too_big)
{
	static const uint8_t tiny[1] = { 0 };
	uint8_t buf[64];
	mqtt_err e;
	for (uint8_t ver = V3; ver <= V5; ver++) {
		uint32_t base = 3 + (ver == V5 ? 1 : 0);
		mqtt_packet p = publish(ver, "t", 0, 0, bytes_of(tiny, 268435455 - base));
		ck_assert_uint_eq(mqtt_encoded_size(&p), 268435460u);
		memset(buf, SENTINEL, sizeof buf);
		ck_assert_int_eq(mqtt_encode(&p, buf, sizeof buf, &e), -MQTT_ERR_BUFFER);
		ck_assert(all_are(buf, sizeof buf, SENTINEL));

		p.publish.payload.len++;
		ck_assert_uint_eq(mqtt_encoded_size(&p), 0);
		memset(&e, 0, sizeof e);
		ck_assert_int_eq(mqtt_encode(&p, buf, sizeof buf, &e), -MQTT_ERR_ARG);
		ck_assert_int_eq(e.code, MQTT_ERR_ARG);
		ck_assert(all_are(buf, sizeof buf, SENTINEL));

		/* The same with a huge buffer limit: still refused as unencodable. */
		ck_assert_int_eq(mqtt_encode(&p, buf, SIZE_MAX, &e), -MQTT_ERR_ARG);
		ck_assert(all_are(buf, sizeof buf, SENTINEL));

		/* A SUBACK whose codes overflow it. */
		mqtt_packet s = pkt(MQTT_SUBACK, ver);
		s.packet_id = 1;
		s.codes = bytes_of(tiny, 268435455 - 2 - (ver == V5 ? 1 : 0));
		ck_assert_uint_eq(mqtt_encoded_size(&s), 268435460u);
		s.codes.len++;
		ck_assert_uint_eq(mqtt_encoded_size(&s), 0);
		ck_assert_int_eq(mqtt_encode(&s, buf, sizeof buf, &e), -MQTT_ERR_ARG);
	}
	/* 5.0: properties push a PUBLISH over the limit. */
	mqtt_packet p = publish(V5, "t", 0, 0, bytes_of(tiny, 268435455 - 4));
	MQTT_SET(&p.props, MQTT_PROP_PAYLOAD_FORMAT);
	ck_assert_uint_eq(mqtt_encoded_size(&p), 0);
	ck_assert_int_eq(mqtt_encode(&p, buf, sizeof buf, &e), -MQTT_ERR_ARG);
}
END_TEST

/* ======================================================================================= */
/* 4. Incremental decoding                                                                 */
/* ======================================================================================= */

static const struct {
	uint8_t version;
	const char *hex;
} complete[] = {
	{ V3, "10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00" },
	{ V3, "10 1a 00 04 4d 51 54 54 04 ee 00 0a 00 01 63 00 01 77 00 02 68 69 00 01 75 00 01 70" },
	{ V3, "20 02 00 00" },
	{ V3, "32 0a 00 03 61 2f 62 00 07 68 69 21" },
	{ V3, "62 02 00 01" },
	{ V3, "82 08 00 01 00 03 61 2f 62 00" },
	{ V3, "90 06 00 0a 00 01 02 80" },
	{ V3, "a2 05 00 01 00 01 61" },
	{ V3, "b0 02 00 01" },
	{ V3, "c0 00" },
	{ V3, "e0 00" },
	{ V5, "10 0d 00 04 4d 51 54 54 05 02 00 3c 00 00 00" },
	{ V5, "20 03 00 00 00" },
	{ V5, "30 05 00 01 74 00 78" },
	{ V5, "40 02 00 01" },
	{ V5, "40 03 00 01 10" },
	{ V5, "40 08 00 01 00 04 1f 00 01 78" },
	{ V5, "82 09 00 02 00 00 03 61 2f 62 2d" },
	{ V5, "b0 04 00 01 00 11" },
	{ V5, "e0 00" },
	{ V5, "e0 01 8e" },
	{ V5, "e0 07 00 05 11 00 00 00 00" },
	{ V5, "f0 00" },
	{ V5, "f0 06 18 04 15 00 01 6d" },
};

START_TEST(test_incremental_prefixes)
{
	uint8_t buf[128];
	mqtt_packet p;
	mqtt_err e;
	for (size_t i = 0; i < NELEM(complete); i++) {
		size_t n = unhex(complete[i].hex, buf, sizeof buf);
		for (size_t k = 0; k < n; k++)
			ck_assert_msg(mqtt_decode(buf, k, complete[i].version, 0, &p, &e) == 0,
				      "%s: prefix of %zu bytes", complete[i].hex, k);
		memset(&e, 0, sizeof e);
		int rc = mqtt_decode(buf, n, complete[i].version, 0, &p, &e);
		ck_assert_msg(rc == (int)n, "%s: decode returned %d (%s: %s)", complete[i].hex, rc,
			      e.stmt ? e.stmt : "-", e.msg);
		/* Bytes after the packet belong to the next one. */
		buf[n] = 0xC0;
		buf[n + 1] = 0x00;
		ck_assert_int_eq(mqtt_decode(buf, n + 1, complete[i].version, 0, &p, &e), (int)n);
		ck_assert_int_eq(mqtt_decode(buf, n + 2, complete[i].version, 0, &p, &e), (int)n);
	}
}
END_TEST

/* Several packets back to back decode one after another. */
static void stream_check(const mqtt_packet *pk, size_t np, uint8_t version)
{
	char why[WHY_CAP];
	size_t sizes[16], total = 0;
	ck_assert_uint_le(np, NELEM(sizes));
	for (size_t i = 0; i < np; i++) {
		sizes[i] = mqtt_encoded_size(&pk[i]);
		ck_assert_uint_gt(sizes[i], 0);
		total += sizes[i];
	}
	uint8_t *buf = filled(total, 0);
	size_t off = 0;
	for (size_t i = 0; i < np; i++) {
		int rc = mqtt_encode(&pk[i], buf + off, total - off, NULL);
		ck_assert_int_eq(rc, (int)sizes[i]);
		off += sizes[i];
	}
	off = 0;
	for (size_t i = 0; i < np; i++) {
		mqtt_packet out;
		mqtt_err e;
		/* Everything up to the end of this packet but one byte: need more. */
		for (size_t k = 0; k < sizes[i]; k++)
			CHECK(mqtt_decode(buf + off, k, version, 0, &out, &e) == 0,
			      "packet %zu: %zu of %zu bytes", i, k, sizes[i]);
		memset(&e, 0, sizeof e);
		int rc = mqtt_decode(buf + off, total - off, version, 0, &out, &e);
		ck_assert_msg(rc == (int)sizes[i], "packet %zu (%s) consumed %d, want %zu (%s)", i,
			      mqtt_type_name(pk[i].type), rc, sizes[i], e.msg);
		ck_assert_msg(packet_equal(&pk[i], &out, why), "packet %zu: %s", i, why);
		off += (size_t)rc;
	}
	ck_assert_uint_eq(off, total);
	free(buf);
}

START_TEST(test_incremental_stream)
{
	mqtt_sub s = { SL("a/+"), 1, false, false, 0 };
	mqtt_str f = SL("a/+");
	static const uint8_t granted[] = { 0x01 };
	uint8_t *pl = pattern(1000);
	for (uint8_t ver = V3; ver <= V5; ver++) {
		mqtt_packet pk[15];
		size_t n = 0;
		pk[n] = pkt(MQTT_CONNECT, ver);
		pk[n].connect.clean_start = true;
		pk[n++].connect.client_id = str_of("stream");
		pk[n++] = pkt(MQTT_CONNACK, ver);
		pk[n] = pkt(MQTT_SUBSCRIBE, ver);
		pk[n].packet_id = 1;
		pk[n].subscribe.count = 1;
		pk[n++].subscribe.items = &s;
		pk[n] = pkt(MQTT_SUBACK, ver);
		pk[n].packet_id = 1;
		pk[n++].codes = bytes_of(granted, 1);
		pk[n++] = publish(ver, "a/b", 1, 2, bytes_of(pl, 1000));
		pk[n++] = ack(MQTT_PUBACK, ver, 2, 0);
		pk[n++] = publish(ver, "a/c", 2, 3, str_of("x"));
		pk[n++] = ack(MQTT_PUBREC, ver, 3, 0);
		pk[n++] = ack(MQTT_PUBREL, ver, 3, 0);
		pk[n++] = ack(MQTT_PUBCOMP, ver, 3, 0);
		pk[n++] = pkt(MQTT_PINGREQ, ver);
		pk[n++] = pkt(MQTT_PINGRESP, ver);
		pk[n] = pkt(MQTT_UNSUBSCRIBE, ver);
		pk[n].packet_id = 4;
		pk[n].unsubscribe.count = 1;
		pk[n++].unsubscribe.items = &f;
		pk[n] = ack(MQTT_UNSUBACK, ver, 4, 0);
		if (ver == V5)
			pk[n].codes = bytes_of(unsuback_codes + 1, 1); /* No subscription existed */
		n++;
		pk[n] = pkt(MQTT_DISCONNECT, ver);
		if (ver == V5)
			pk[n].reason = 0x04;
		n++;
		stream_check(pk, n, ver);
		if (ver == V5) {
			mqtt_packet a[2];
			a[0] = pkt(MQTT_AUTH, V5);
			a[0].reason = 0x18;
			MQTT_SET(&a[0].props, MQTT_PROP_AUTH_METHOD);
			a[0].props.auth_method = str_of("m");
			a[1] = pkt(MQTT_AUTH, V5);
			stream_check(a, 2, V5);
		}
	}
	free(pl);
}
END_TEST

/* 3.1.1 does not require the shortest remaining length (5.0 does: MQTT-1.5.5-1). */
START_TEST(test_incremental_nonminimal_311)
{
	static const struct {
		const char *hex;
		uint8_t type;
	} nm[] = {
		{ "c0 80 00", MQTT_PINGREQ },
		{ "c0 80 80 00", MQTT_PINGREQ },
		{ "c0 80 80 80 00", MQTT_PINGREQ },
		{ "d0 80 00", MQTT_PINGRESP },
		{ "e0 80 00", MQTT_DISCONNECT },
		{ "40 82 00 00 01", MQTT_PUBACK },
		{ "30 85 00 00 01 74 41 42", MQTT_PUBLISH },
	};
	uint8_t buf[32];
	mqtt_packet p;
	mqtt_err e;
	for (size_t i = 0; i < NELEM(nm); i++) {
		size_t n = unhex(nm[i].hex, buf, sizeof buf);
		uint32_t total = 0;
		ck_assert_int_eq(mqtt_frame(buf, n, &total), (int)n);
		ck_assert_uint_eq(total, n);
		for (size_t k = 0; k < n; k++)
			ck_assert_int_eq(mqtt_decode(buf, k, V3, 0, &p, &e), 0);
		memset(&e, 0, sizeof e);
		int rc = mqtt_decode(buf, n, V3, 0, &p, &e);
		ck_assert_msg(rc == (int)n, "%s: 3.1.1 decode returned %d (%s: %s)", nm[i].hex, rc,
			      e.stmt ? e.stmt : "-", e.msg);
		ck_assert_uint_eq(p.type, nm[i].type);
		ck_assert_uint_eq(p.length, n);
		if (p.type == MQTT_PUBLISH) {
			ck_assert(str_is(p.publish.topic, "t"));
			ck_assert(str_is(p.publish.payload, "AB"));
		}
		if (p.type == MQTT_PUBACK)
			ck_assert_uint_eq(p.packet_id, 1);
		/* The same bytes are malformed in 5.0. */
		ck_assert_int_eq(mqtt_decode(buf, n, V5, 0, &p, &e), -MQTT_ERR_MALFORMED);
	}
}
END_TEST

/* ======================================================================================= */
/* 5. Encode errors                                                                        */
/* ======================================================================================= */

START_TEST(test_encode_short_buffer_every_cap)
{
	mqtt_sub s = { SL("a/b"), 2, true, false, 1 };
	mqtt_packet pk[4];
	pk[0] = pkt(MQTT_CONNECT, V5);
	pk[0].connect.client_id = str_of("id");
	pk[0].connect.will = true;
	pk[0].connect.will_topic = str_of("w");
	pk[0].connect.will_payload = str_of("bye");
	pk[0].connect.will_props.user_count = 2;
	pk[0].connect.will_props.user = users3;
	pk[1] = publish(V5, "t", 1, 1, str_of("payload"));
	pk[1].props.user_count = 1;
	pk[1].props.user = users3;
	pk[2] = pkt(MQTT_SUBSCRIBE, V3);
	pk[2].packet_id = 9;
	pk[2].subscribe.count = 1;
	pk[2].subscribe.items = &s;
	pk[3] = pkt(MQTT_PINGREQ, V3);
	for (size_t i = 0; i < NELEM(pk); i++) {
		uint8_t buf[256];
		mqtt_err e;
		size_t n = mqtt_encoded_size(&pk[i]);
		ck_assert_uint_gt(n, 0);
		ck_assert_uint_lt(n, sizeof buf);
		for (size_t cap = 0; cap < n; cap++) {
			memset(buf, SENTINEL, sizeof buf);
			memset(&e, 0, sizeof e);
			ck_assert_int_eq(mqtt_encode(&pk[i], buf, cap, &e), -MQTT_ERR_BUFFER);
			ck_assert_int_eq(e.code, MQTT_ERR_BUFFER);
			ck_assert_msg(all_are(buf, sizeof buf, SENTINEL),
				      "%s: cap %zu of %zu wrote bytes", mqtt_type_name(pk[i].type), cap, n);
		}
		ck_assert_int_eq(mqtt_encode(&pk[i], NULL, 0, NULL), -MQTT_ERR_BUFFER);
		memset(buf, SENTINEL, sizeof buf);
		ck_assert_int_eq(mqtt_encode(&pk[i], buf, n, NULL), (int)n);
		ck_assert(all_are(buf + n, sizeof buf - n, SENTINEL));
	}
}
END_TEST

/* One string of 65536 bytes, each in its own place. */
enum { LS_CLIENT_ID, LS_WILL_TOPIC, LS_WILL_PAYLOAD, LS_USERNAME, LS_PASSWORD, LS_TOPIC,
       LS_SUB_FILTER, LS_UNSUB_FILTER, LS_REASON_STRING, LS_USER_KEY, LS_USER_VALUE,
       LS_WILL_CONTENT_TYPE, LS_WILL_CORRELATION, LS_AUTH_DATA, LS_ASSIGNED_ID,
       LS_PUBLISH_RESPONSE_TOPIC, LS_COUNT };

static const char *const ls_names[] = {
	"client id", "will topic", "will payload", "user name", "password", "topic name",
	"subscribe filter", "unsubscribe filter", "reason string", "user property name",
	"user property value", "will content type", "will correlation data", "auth data",
	"assigned client id", "response topic",
};

START_TEST(test_encode_long_string)
{
	size_t which = (size_t)_i / 2;
	uint8_t ver = _i % 2 ? V5 : V3;
	bool v5only = which >= LS_REASON_STRING;
	if (v5only && ver == V3)
		return;
	for (uint32_t len = 65535; len <= 65536; len++) {
		uint8_t *big = filled(len, 'x');
		mqtt_str s = bytes_of(big, len);
		mqtt_sub sub = { s, 0, false, false, 0 };
		mqtt_user_prop up = { SL("k"), SL("v") };
		mqtt_packet p = pkt(MQTT_CONNECT, ver);
		p.connect.clean_start = true;
		switch (which) {
		case LS_CLIENT_ID: p.connect.client_id = s; break;
		case LS_WILL_TOPIC:
		case LS_WILL_PAYLOAD:
		case LS_WILL_CONTENT_TYPE:
		case LS_WILL_CORRELATION:
			p.connect.will = true;
			p.connect.will_topic = str_of("w");
			if (which == LS_WILL_TOPIC)
				p.connect.will_topic = s;
			else if (which == LS_WILL_PAYLOAD)
				p.connect.will_payload = s;
			else if (which == LS_WILL_CONTENT_TYPE) {
				MQTT_SET(&p.connect.will_props, MQTT_PROP_CONTENT_TYPE);
				p.connect.will_props.content_type = s;
			} else {
				MQTT_SET(&p.connect.will_props, MQTT_PROP_CORRELATION_DATA);
				p.connect.will_props.correlation_data = s;
			}
			break;
		case LS_USERNAME:
			p.connect.has_username = true;
			p.connect.username = s;
			break;
		case LS_PASSWORD:
			p.connect.has_username = true;
			p.connect.has_password = true;
			p.connect.password = s;
			break;
		case LS_TOPIC: p = publish(ver, "", 1, 1, str_of("x")); p.publish.topic = s; break;
		case LS_SUB_FILTER:
			p = pkt(MQTT_SUBSCRIBE, ver);
			p.packet_id = 1;
			p.subscribe.count = 1;
			p.subscribe.items = &sub;
			break;
		case LS_UNSUB_FILTER:
			p = pkt(MQTT_UNSUBSCRIBE, ver);
			p.packet_id = 1;
			p.unsubscribe.count = 1;
			p.unsubscribe.items = &s;
			break;
		case LS_REASON_STRING:
			p = ack(MQTT_PUBACK, ver, 1, 0);
			MQTT_SET(&p.props, MQTT_PROP_REASON_STRING);
			p.props.reason_string = s;
			break;
		case LS_USER_KEY:
		case LS_USER_VALUE:
			p = pkt(MQTT_DISCONNECT, ver);
			if (which == LS_USER_KEY)
				up.key = s;
			else
				up.value = s;
			p.props.user_count = 1;
			p.props.user = &up;
			break;
		case LS_AUTH_DATA:
			p = pkt(MQTT_AUTH, ver);
			MQTT_SET(&p.props, MQTT_PROP_AUTH_METHOD);
			p.props.auth_method = str_of("m");
			MQTT_SET(&p.props, MQTT_PROP_AUTH_DATA);
			p.props.auth_data = s;
			break;
		case LS_ASSIGNED_ID:
			p = pkt(MQTT_CONNACK, ver);
			MQTT_SET(&p.props, MQTT_PROP_ASSIGNED_CLIENT_ID);
			p.props.assigned_client_id = s;
			break;
		default:
			p = publish(ver, "t", 0, 0, str_of(""));
			MQTT_SET(&p.props, MQTT_PROP_RESPONSE_TOPIC);
			p.props.response_topic = s;
			break;
		}
		char label[96];
		snprintf(label, sizeof label, "%s %s of %u bytes", ver == V5 ? "5.0" : "3.1.1",
			 ls_names[which], len);
		if (len == 65535) {
			roundtrip(&p, label);
		} else {
			uint8_t *buf = filled(len + 256, SENTINEL);
			mqtt_err e;
			memset(&e, 0, sizeof e);
			ck_assert_msg(mqtt_encoded_size(&p) == 0, "%s: encoded_size %zu", label,
				      mqtt_encoded_size(&p));
			int rc = mqtt_encode(&p, buf, len + 256, &e);
			ck_assert_msg(rc == -MQTT_ERR_ARG, "%s: encode returned %d", label, rc);
			ck_assert_int_eq(e.code, MQTT_ERR_ARG);
			ck_assert(all_are(buf, len + 256, SENTINEL));
			free(buf);
		}
		free(big);
	}
}
END_TEST

START_TEST(test_encode_unencodable)
{
	uint8_t buf[64];
	mqtt_err e;
	/* AUTH does not exist in 3.1.1 (type 15 is reserved). */
	for (uint8_t reason = 0; reason <= 0x18; reason += 0x18) {
		mqtt_packet p = pkt(MQTT_AUTH, V3);
		p.reason = reason;
		ck_assert_uint_eq(mqtt_encoded_size(&p), 0);
		memset(buf, SENTINEL, sizeof buf);
		memset(&e, 0, sizeof e);
		ck_assert_int_eq(mqtt_encode(&p, buf, sizeof buf, &e), -MQTT_ERR_ARG);
		ck_assert_int_eq(e.code, MQTT_ERR_ARG);
		ck_assert(all_are(buf, sizeof buf, SENTINEL));
	}
	/* Packet types 0 and 16. */
	mqtt_packet p = pkt(0, V3);
	ck_assert_uint_eq(mqtt_encoded_size(&p), 0);
	ck_assert_int_eq(mqtt_encode(&p, buf, sizeof buf, &e), -MQTT_ERR_ARG);
	p = pkt(16, V5);
	ck_assert_uint_eq(mqtt_encoded_size(&p), 0);
	ck_assert_int_eq(mqtt_encode(&p, buf, sizeof buf, &e), -MQTT_ERR_ARG);
	/* QoS 3 exists nowhere (MQTT-3.3.1-4, MQTT-3.1.2-14). */
	p = publish(V3, "t", 3, 1, str_of(""));
	ck_assert_uint_eq(mqtt_encoded_size(&p), 0);
	ck_assert_int_eq(mqtt_encode(&p, buf, sizeof buf, &e), -MQTT_ERR_ARG);
	p = pkt(MQTT_CONNECT, V5);
	p.connect.will = true;
	p.connect.will_qos = 3;
	p.connect.will_topic = str_of("w");
	ck_assert_uint_eq(mqtt_encoded_size(&p), 0);
	ck_assert_int_eq(mqtt_encode(&p, buf, sizeof buf, &e), -MQTT_ERR_ARG);
	/* A subscription identifier above 268435455 has no encoding. */
	uint32_t sid = 268435456;
	p = publish(V5, "t", 0, 0, str_of(""));
	p.props.sub_id_count = 1;
	p.props.sub_ids = &sid;
	ck_assert_uint_eq(mqtt_encoded_size(&p), 0);
	ck_assert_int_eq(mqtt_encode(&p, buf, sizeof buf, &e), -MQTT_ERR_ARG);
}
END_TEST

/* ======================================================================================= */
/* 6. Known bytes, written from the specification                                          */
/* ======================================================================================= */

START_TEST(test_known_connect311)
{
	uint8_t buf[64];
	mqtt_packet p;
	/* Passed as a 5.0 connection too: a CONNECT is decoded by the level it carries. */
	for (uint8_t conn = V3; conn <= V5; conn++) {
		decode_hex("10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00", buf, sizeof buf, conn, &p);
		ck_assert_uint_eq(p.type, MQTT_CONNECT);
		ck_assert_uint_eq(p.version, V3);
		ck_assert_uint_eq(p.length, 14);
		ck_assert(str_is(p.connect.protocol_name, "MQTT"));
		ck_assert(p.connect.clean_start);
		ck_assert_uint_eq(p.connect.keepalive_s, 60);
		ck_assert_uint_eq(p.connect.client_id.len, 0);
		ck_assert(!p.connect.will);
		ck_assert_uint_eq(p.connect.will_qos, 0);
		ck_assert(!p.connect.will_retain);
		ck_assert(!p.connect.has_username);
		ck_assert(!p.connect.has_password);
		ck_assert_uint_eq(p.props.present, 0);
		ck_assert_uint_eq(p.props.user_count, 0);
	}
	decode_hex("10 1a 00 04 4d 51 54 54 04 ee 00 0a 00 01 63 00 01 77 00 02 68 69 00 01 75 00 01 70",
		   buf, sizeof buf, V3, &p);
	ck_assert(p.connect.clean_start);
	ck_assert_uint_eq(p.connect.keepalive_s, 10);
	ck_assert(str_is(p.connect.client_id, "c"));
	ck_assert(p.connect.will);
	ck_assert_uint_eq(p.connect.will_qos, 1);
	ck_assert(p.connect.will_retain);
	ck_assert(str_is(p.connect.will_topic, "w"));
	ck_assert(str_is(p.connect.will_payload, "hi"));
	ck_assert(p.connect.has_username);
	ck_assert(str_is(p.connect.username, "u"));
	ck_assert(p.connect.has_password);
	ck_assert(str_is(p.connect.password, "p"));
	/* Views point into the input buffer. */
	ck_assert_ptr_eq(p.connect.client_id.data, buf + 14);
	roundtrip(&p, "decoded 3.1.1 CONNECT");
}
END_TEST

START_TEST(test_known_connect5)
{
	uint8_t buf[128];
	mqtt_packet p;
	for (uint8_t conn = V3; conn <= V5; conn++) {
		decode_hex("10 3d 00 04 4d 51 54 54 05 ee 00 3c"
			   " 17 11 00 00 00 0a 21 00 14 22 00 0a 27 00 00 10 00 26 00 01 61 00 01 62"
			   " 00 03 63 69 64"
			   " 07 01 01 18 00 00 00 05 00 01 77 00 02 68 69"
			   " 00 01 75 00 02 70 77",
			   buf, sizeof buf, conn, &p);
		ck_assert_uint_eq(p.type, MQTT_CONNECT);
		ck_assert_uint_eq(p.version, V5);
		ck_assert(str_is(p.connect.protocol_name, "MQTT"));
		ck_assert(p.connect.clean_start);
		ck_assert_uint_eq(p.connect.keepalive_s, 60);
		uint64_t want = (uint64_t)1 << MQTT_PROP_SESSION_EXPIRY |
				(uint64_t)1 << MQTT_PROP_RECEIVE_MAX |
				(uint64_t)1 << MQTT_PROP_TOPIC_ALIAS_MAX |
				(uint64_t)1 << MQTT_PROP_MAX_PACKET_SIZE;
		ck_assert_uint_eq(p.props.present, want);
		ck_assert_uint_eq(p.props.session_expiry, 10);
		ck_assert_uint_eq(p.props.receive_max, 20);
		ck_assert_uint_eq(p.props.topic_alias_max, 10);
		ck_assert_uint_eq(p.props.max_packet_size, 4096);
		ck_assert_uint_eq(p.props.user_count, 1);
		ck_assert_ptr_null(p.props.user);
		ck_assert_ptr_eq(p.props.raw.data, buf + 13);
		ck_assert_uint_eq(p.props.raw.len, 23);
		mqtt_iter it = { 0, 0 };
		mqtt_user_prop u;
		ck_assert(mqtt_props_user_next(&p.props, &it, &u));
		ck_assert(str_is(u.key, "a"));
		ck_assert(str_is(u.value, "b"));
		ck_assert(!mqtt_props_user_next(&p.props, &it, &u));
		ck_assert(str_is(p.connect.client_id, "cid"));
		ck_assert(p.connect.will);
		ck_assert_uint_eq(p.connect.will_qos, 1);
		ck_assert(p.connect.will_retain);
		want = (uint64_t)1 << MQTT_PROP_PAYLOAD_FORMAT | (uint64_t)1 << MQTT_PROP_WILL_DELAY;
		ck_assert_uint_eq(p.connect.will_props.present, want);
		ck_assert_uint_eq(p.connect.will_props.payload_format, 1);
		ck_assert_uint_eq(p.connect.will_props.will_delay, 5);
		ck_assert_uint_eq(p.connect.will_props.user_count, 0);
		ck_assert(str_is(p.connect.will_topic, "w"));
		ck_assert(str_is(p.connect.will_payload, "hi"));
		ck_assert(p.connect.has_username);
		ck_assert(str_is(p.connect.username, "u"));
		ck_assert(p.connect.has_password);
		ck_assert(str_is(p.connect.password, "pw"));
	}
	roundtrip(&p, "decoded 5.0 CONNECT");
}
END_TEST

START_TEST(test_known_publish311)
{
	uint8_t buf[64];
	mqtt_packet p;
	decode_hex("32 0a 00 03 61 2f 62 00 07 68 69 21", buf, sizeof buf, V3, &p);
	ck_assert_uint_eq(p.type, MQTT_PUBLISH);
	ck_assert_uint_eq(p.version, V3);
	ck_assert_uint_eq(p.publish.qos, 1);
	ck_assert(!p.publish.retain);
	ck_assert(!p.publish.dup);
	ck_assert(str_is(p.publish.topic, "a/b"));
	ck_assert_uint_eq(p.packet_id, 7);
	ck_assert(str_is(p.publish.payload, "hi!"));
	ck_assert_ptr_eq(p.publish.payload.data, buf + 9);

	decode_hex("3d 0a 00 03 61 2f 62 00 07 68 69 21", buf, sizeof buf, V3, &p);
	ck_assert_uint_eq(p.publish.qos, 2);
	ck_assert(p.publish.retain);
	ck_assert(p.publish.dup);

	/* QoS 0: no packet identifier, the payload starts right after the topic. */
	decode_hex("31 07 00 03 61 2f 62 4f 4b", buf, sizeof buf, V3, &p);
	ck_assert_uint_eq(p.publish.qos, 0);
	ck_assert(p.publish.retain);
	ck_assert_uint_eq(p.packet_id, 0);
	ck_assert(str_is(p.publish.payload, "OK"));

	decode_hex("30 05 00 03 61 2f 62", buf, sizeof buf, V3, &p);
	ck_assert_uint_eq(p.publish.payload.len, 0);
}
END_TEST

START_TEST(test_known_acks5)
{
	uint8_t buf[64];
	mqtt_packet p;
	/* RL 2: reason 0x00 (Success), no properties. */
	decode_hex("40 02 00 01", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.type, MQTT_PUBACK);
	ck_assert_uint_eq(p.packet_id, 1);
	ck_assert_uint_eq(p.reason, 0);
	ck_assert_uint_eq(p.props.present, 0);
	ck_assert_uint_eq(p.props.user_count, 0);
	/* RL 3: a reason code, property length taken as 0. */
	decode_hex("40 03 00 01 10", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.packet_id, 1);
	ck_assert_uint_eq(p.reason, 0x10);
	ck_assert_uint_eq(p.props.present, 0);
	/* RL 4 with an explicit empty property block. */
	decode_hex("40 04 00 01 10 00", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.reason, 0x10);
	ck_assert_uint_eq(p.props.present, 0);
	/* With a reason string and a user property. */
	decode_hex("50 0f 12 34 80 0b 1f 00 01 78 26 00 01 6b 00 01 76", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.type, MQTT_PUBREC);
	ck_assert_uint_eq(p.packet_id, 0x1234);
	ck_assert_uint_eq(p.reason, 0x80);
	ck_assert(str_is(p.props.reason_string, "x"));
	ck_assert_uint_eq(p.props.user_count, 1);
	decode_hex("62 02 00 05", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.type, MQTT_PUBREL);
	ck_assert_uint_eq(p.reason, 0);
	decode_hex("70 03 00 05 92", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.type, MQTT_PUBCOMP);
	ck_assert_uint_eq(p.reason, 0x92);
	/* 3.1.1 PUBACK: just the id. */
	decode_hex("40 02 ab cd", buf, sizeof buf, V3, &p);
	ck_assert_uint_eq(p.version, V3);
	ck_assert_uint_eq(p.packet_id, 0xABCD);
	ck_assert_uint_eq(p.reason, 0);
}
END_TEST

START_TEST(test_known_disconnect_auth5)
{
	uint8_t buf[64];
	mqtt_packet p;
	decode_hex("e0 00", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.type, MQTT_DISCONNECT);
	ck_assert_uint_eq(p.version, V5);
	ck_assert_uint_eq(p.reason, 0);
	ck_assert_uint_eq(p.props.present, 0);
	decode_hex("e0 01 8e", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.reason, 0x8E);
	ck_assert_uint_eq(p.props.present, 0);
	decode_hex("e0 02 04 00", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.reason, 0x04);
	decode_hex("e0 0a 00 08 11 ff ff ff ff 1c 00 00", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.reason, 0);
	ck_assert_uint_eq(p.props.session_expiry, 0xFFFFFFFFu);
	ck_assert(MQTT_HAS(&p.props, MQTT_PROP_SERVER_REFERENCE));
	ck_assert_uint_eq(p.props.server_reference.len, 0);
	decode_hex("e0 00", buf, sizeof buf, V3, &p);
	ck_assert_uint_eq(p.version, V3);
	ck_assert_uint_eq(p.type, MQTT_DISCONNECT);

	decode_hex("f0 00", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.type, MQTT_AUTH);
	ck_assert_uint_eq(p.reason, 0);
	/* Continue without an Authentication Method: a protocol error (§3.15.2.2.2) ... */
	size_t n = unhex("f0 02 18 00", buf, sizeof buf);
	ck_assert_int_eq(mqtt_decode(buf, n, V5, 0, &p, NULL), -MQTT_ERR_PROTOCOL);
	/* ... and without even the property length, malformed as well: AUTH has no
	 * Remaining Length 1 form (§3.15.2 allows only 0; MQTT-2.2.2-1). */
	n = unhex("f0 01 18", buf, sizeof buf);
	ck_assert_int_lt(mqtt_decode(buf, n, V5, 0, &p, NULL), 0);
	decode_hex("f0 0b 19 09 15 00 01 6d 16 00 02 00 ff", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.reason, 0x19);
	ck_assert(str_is(p.props.auth_method, "m"));
	ck_assert(str_eq(p.props.auth_data, bytes_of("\x00\xff", 2)));
}
END_TEST

START_TEST(test_known_others)
{
	uint8_t buf[64];
	mqtt_packet p;
	decode_hex("20 02 01 00", buf, sizeof buf, V3, &p);
	ck_assert_uint_eq(p.type, MQTT_CONNACK);
	ck_assert(p.session_present);
	ck_assert_uint_eq(p.reason, 0);
	decode_hex("20 02 00 05", buf, sizeof buf, V3, &p);
	ck_assert(!p.session_present);
	ck_assert_uint_eq(p.reason, 5);
	decode_hex("20 08 00 86 05 1f 00 02 6e 6f", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.reason, 0x86);
	ck_assert(str_is(p.props.reason_string, "no"));
	decode_hex("90 05 00 0a 00 01 80", buf, sizeof buf, V3, &p);
	ck_assert_uint_eq(p.type, MQTT_SUBACK);
	ck_assert_uint_eq(p.packet_id, 10);
	ck_assert(str_eq(p.codes, bytes_of("\x00\x01\x80", 3)));
	decode_hex("b0 05 00 0a 00 11 8f", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.type, MQTT_UNSUBACK);
	ck_assert(str_eq(p.codes, bytes_of("\x11\x8f", 2)));
	decode_hex("b0 02 00 0a", buf, sizeof buf, V3, &p);
	ck_assert_uint_eq(p.codes.len, 0);
	decode_hex("d0 00", buf, sizeof buf, V3, &p);
	ck_assert_uint_eq(p.type, MQTT_PINGRESP);
	/* 5.0 PUBLISH with a topic alias and an empty topic name. */
	decode_hex("30 08 00 00 03 23 00 07 68 69", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.publish.topic.len, 0);
	ck_assert_uint_eq(p.props.topic_alias, 7);
	ck_assert(str_is(p.publish.payload, "hi"));
}
END_TEST

/* ======================================================================================= */
/* 7. Iterators over raw (decoded) and caller arrays                                       */
/* ======================================================================================= */

START_TEST(test_iter_user_props)
{
	mqtt_props a;
	memset(&a, 0, sizeof a);
	a.user = users3;
	a.user_count = 3;
	mqtt_iter it = { 0, 0 };
	mqtt_user_prop u;
	for (size_t i = 0; i < 3; i++) {
		ck_assert(mqtt_props_user_next(&a, &it, &u));
		ck_assert(str_eq(u.key, users3[i].key) && str_eq(u.value, users3[i].value));
	}
	ck_assert(!mqtt_props_user_next(&a, &it, &u));
	ck_assert(!mqtt_props_user_next(&a, &it, &u));
	/* The count, not the array, decides. */
	a.user_count = 2;
	it = (mqtt_iter){ 0, 0 };
	ck_assert(mqtt_props_user_next(&a, &it, &u));
	ck_assert(mqtt_props_user_next(&a, &it, &u));
	ck_assert(!mqtt_props_user_next(&a, &it, &u));
	a.user_count = 0;
	it = (mqtt_iter){ 0, 0 };
	ck_assert(!mqtt_props_user_next(&a, &it, &u));

	/* Decoded: user properties among other properties, in wire order. */
	uint8_t buf[64];
	mqtt_packet p;
	decode_hex("e0 1f 00 1d 26 00 01 61 00 01 31 11 00 00 00 3c 26 00 01 61 00 01 32"
		   " 1f 00 01 72 26 00 01 62 00 00",
		   buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.props.user_count, 3);
	ck_assert_ptr_null(p.props.user);
	ck_assert_ptr_eq(p.props.raw.data, buf + 4);
	ck_assert_uint_eq(p.props.raw.len, 29);
	ck_assert_uint_eq(p.props.session_expiry, 60);
	ck_assert(str_is(p.props.reason_string, "r"));
	static const char *const want[3][2] = { { "a", "1" }, { "a", "2" }, { "b", "" } };
	for (int pass = 0; pass < 2; pass++) { /* a fresh iterator walks it again */
		it = (mqtt_iter){ 0, 0 };
		for (size_t i = 0; i < 3; i++) {
			ck_assert(mqtt_props_user_next(&p.props, &it, &u));
			ck_assert(str_is(u.key, want[i][0]));
			ck_assert(str_is(u.value, want[i][1]));
			ck_assert(u.key.data > buf && u.key.data < buf + sizeof buf);
		}
		ck_assert(!mqtt_props_user_next(&p.props, &it, &u));
		ck_assert(!mqtt_props_user_next(&p.props, &it, &u));
	}
	/* Encoding the decoded packet walks raw; the same users come back. */
	roundtrip(&p, "decoded DISCONNECT with interleaved users");
}
END_TEST

START_TEST(test_iter_sub_ids)
{
	mqtt_props a;
	memset(&a, 0, sizeof a);
	a.sub_ids = sub_id_edges;
	a.sub_id_count = NELEM(sub_id_edges);
	mqtt_iter it = { 0, 0 };
	uint32_t v;
	for (size_t i = 0; i < NELEM(sub_id_edges); i++) {
		ck_assert(mqtt_props_sub_id_next(&a, &it, &v));
		ck_assert_uint_eq(v, sub_id_edges[i]);
	}
	ck_assert(!mqtt_props_sub_id_next(&a, &it, &v));
	a.sub_id_count = 1;
	it = (mqtt_iter){ 0, 0 };
	ck_assert(mqtt_props_sub_id_next(&a, &it, &v));
	ck_assert(!mqtt_props_sub_id_next(&a, &it, &v));

	uint8_t buf[64];
	mqtt_packet p;
	decode_hex("30 1a 00 01 74 15 0b 01 26 00 01 6b 00 01 76 0b ff ff ff 7f 03 00 01 63 0b 80 01 78",
		   buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.props.sub_id_count, 3);
	ck_assert_ptr_null(p.props.sub_ids);
	ck_assert_uint_eq(p.props.user_count, 1);
	ck_assert(str_is(p.props.content_type, "c"));
	ck_assert(str_is(p.publish.payload, "x"));
	static const uint32_t want[] = { 1, 268435455, 128 };
	for (int pass = 0; pass < 2; pass++) {
		it = (mqtt_iter){ 0, 0 };
		for (size_t i = 0; i < NELEM(want); i++) {
			ck_assert(mqtt_props_sub_id_next(&p.props, &it, &v));
			ck_assert_uint_eq(v, want[i]);
		}
		ck_assert(!mqtt_props_sub_id_next(&p.props, &it, &v));
	}
	/* User and subscription-id iterators are independent over the same block. */
	mqtt_iter iu = { 0, 0 };
	mqtt_user_prop u;
	ck_assert(mqtt_props_user_next(&p.props, &iu, &u));
	ck_assert(str_is(u.key, "k"));
	ck_assert(str_is(u.value, "v"));
	ck_assert(!mqtt_props_user_next(&p.props, &iu, &u));
	roundtrip(&p, "decoded PUBLISH with interleaved subscription ids");

	/* SUBSCRIBE carries at most one. */
	decode_hex("82 0a 00 01 03 0b 80 01 00 01 74 00", buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.props.sub_id_count, 1);
	it = (mqtt_iter){ 0, 0 };
	ck_assert(mqtt_props_sub_id_next(&p.props, &it, &v));
	ck_assert_uint_eq(v, 128);
	ck_assert(!mqtt_props_sub_id_next(&p.props, &it, &v));
}
END_TEST

START_TEST(test_iter_sub_list)
{
	const mqtt_sub arr[3] = {
		{ SL("a"), 0, false, false, 0 },
		{ SL("a/+"), 1, true, false, 0 },
		{ SL("#"), 2, false, true, 2 },
	};
	mqtt_sub_list l = { 3, arr, { NULL, 0 } };
	mqtt_iter it = { 0, 0 };
	mqtt_sub s;
	for (uint8_t ver = V3; ver <= V5; ver++) { /* caller arrays are returned as they are */
		it = (mqtt_iter){ 0, 0 };
		for (size_t i = 0; i < 3; i++) {
			ck_assert(mqtt_sub_next(&l, ver, &it, &s));
			ck_assert(str_eq(s.filter, arr[i].filter));
			ck_assert_uint_eq(s.qos, arr[i].qos);
			ck_assert_uint_eq(s.no_local, arr[i].no_local);
			ck_assert_uint_eq(s.retain_as_published, arr[i].retain_as_published);
			ck_assert_uint_eq(s.retain_handling, arr[i].retain_handling);
		}
		ck_assert(!mqtt_sub_next(&l, ver, &it, &s));
	}
	l.count = 1;
	it = (mqtt_iter){ 0, 0 };
	ck_assert(mqtt_sub_next(&l, V5, &it, &s));
	ck_assert(!mqtt_sub_next(&l, V5, &it, &s));
	mqtt_sub_list empty = { 0, NULL, { NULL, 0 } };
	it = (mqtt_iter){ 0, 0 };
	ck_assert(!mqtt_sub_next(&empty, V5, &it, &s));

	uint8_t buf[64];
	mqtt_packet p;
	decode_hex("82 17 00 0a 00 00 01 61 00 00 03 61 2f 2b 05 00 01 23 1a 00 03 78 2f 79 2e",
		   buf, sizeof buf, V5, &p);
	ck_assert_uint_eq(p.subscribe.count, 4);
	ck_assert_ptr_null(p.subscribe.items);
	ck_assert_ptr_eq(p.subscribe.raw.data, buf + 5);
	ck_assert_uint_eq(p.subscribe.raw.len, 20);
	static const struct {
		const char *f;
		uint8_t qos;
		bool nl, rap;
		uint8_t rh;
	} w5[] = {
		{ "a", 0, false, false, 0 },
		{ "a/+", 1, true, false, 0 },
		{ "#", 2, false, true, 1 },
		{ "x/y", 2, true, true, 2 },
	};
	for (int pass = 0; pass < 2; pass++) {
		it = (mqtt_iter){ 0, 0 };
		for (size_t i = 0; i < NELEM(w5); i++) {
			ck_assert(mqtt_sub_next(&p.subscribe, V5, &it, &s));
			ck_assert(str_is(s.filter, w5[i].f));
			ck_assert_uint_eq(s.qos, w5[i].qos);
			ck_assert_uint_eq(s.no_local, w5[i].nl);
			ck_assert_uint_eq(s.retain_as_published, w5[i].rap);
			ck_assert_uint_eq(s.retain_handling, w5[i].rh);
		}
		ck_assert(!mqtt_sub_next(&p.subscribe, V5, &it, &s));
	}
	roundtrip(&p, "decoded 5.0 SUBSCRIBE");

	decode_hex("82 10 00 0b 00 01 61 00 00 03 61 2f 2b 01 00 01 23 02", buf, sizeof buf, V3, &p);
	ck_assert_uint_eq(p.subscribe.count, 3);
	static const char *const f3[] = { "a", "a/+", "#" };
	it = (mqtt_iter){ 0, 0 };
	for (size_t i = 0; i < 3; i++) {
		ck_assert(mqtt_sub_next(&p.subscribe, V3, &it, &s));
		ck_assert(str_is(s.filter, f3[i]));
		ck_assert_uint_eq(s.qos, i);
		ck_assert(!s.no_local && !s.retain_as_published && s.retain_handling == 0);
	}
	ck_assert(!mqtt_sub_next(&p.subscribe, V3, &it, &s));
	roundtrip(&p, "decoded 3.1.1 SUBSCRIBE");
}
END_TEST

START_TEST(test_iter_str_list)
{
	const mqtt_str arr[3] = { SL("a"), SL("b/#"), SL("") };
	mqtt_str_list l = { 3, arr, { NULL, 0 } };
	mqtt_iter it = { 0, 0 };
	mqtt_str s;
	for (size_t i = 0; i < 3; i++) {
		ck_assert(mqtt_str_next(&l, &it, &s));
		ck_assert(str_eq(s, arr[i]));
	}
	ck_assert(!mqtt_str_next(&l, &it, &s));
	l.count = 2;
	it = (mqtt_iter){ 0, 0 };
	ck_assert(mqtt_str_next(&l, &it, &s));
	ck_assert(mqtt_str_next(&l, &it, &s));
	ck_assert(!mqtt_str_next(&l, &it, &s));
	mqtt_str_list empty = { 0, NULL, { NULL, 0 } };
	it = (mqtt_iter){ 0, 0 };
	ck_assert(!mqtt_str_next(&empty, &it, &s));

	uint8_t buf[64];
	mqtt_packet p;
	decode_hex("a2 0a 00 05 00 01 61 00 03 62 2f 23", buf, sizeof buf, V3, &p);
	ck_assert_uint_eq(p.unsubscribe.count, 2);
	ck_assert_ptr_null(p.unsubscribe.items);
	for (int pass = 0; pass < 2; pass++) {
		it = (mqtt_iter){ 0, 0 };
		ck_assert(mqtt_str_next(&p.unsubscribe, &it, &s));
		ck_assert(str_is(s, "a"));
		ck_assert_ptr_eq(s.data, buf + 6);
		ck_assert(mqtt_str_next(&p.unsubscribe, &it, &s));
		ck_assert(str_is(s, "b/#"));
		ck_assert(!mqtt_str_next(&p.unsubscribe, &it, &s));
	}
	roundtrip(&p, "decoded 3.1.1 UNSUBSCRIBE");

	decode_hex("a2 12 00 05 07 26 00 01 6b 00 01 76 00 01 61 00 03 62 2f 23", buf, sizeof buf,
		   V5, &p);
	ck_assert_uint_eq(p.unsubscribe.count, 2);
	ck_assert_uint_eq(p.props.user_count, 1);
	it = (mqtt_iter){ 0, 0 };
	ck_assert(mqtt_str_next(&p.unsubscribe, &it, &s));
	ck_assert(str_is(s, "a"));
	ck_assert(mqtt_str_next(&p.unsubscribe, &it, &s));
	ck_assert(str_is(s, "b/#"));
	ck_assert(!mqtt_str_next(&p.unsubscribe, &it, &s));
	roundtrip(&p, "decoded 5.0 UNSUBSCRIBE");
}
END_TEST

/* ---- the suite ------------------------------------------------------------------------- */

Suite *codec_suite(void)
{
	Suite *s = suite_create("codec");

	TCase *tc = tcase_create("roundtrip_311");
	tcase_add_test(tc, test_rt311_connect);
	tcase_add_test(tc, test_rt311_connect_edges);
	tcase_add_test(tc, test_rt311_connack);
	tcase_add_test(tc, test_rt311_publish);
	tcase_add_test(tc, test_rt311_acks);
	tcase_add_test(tc, test_rt311_subscribe);
	tcase_add_test(tc, test_rt311_suback);
	tcase_add_test(tc, test_rt311_unsubscribe);
	tcase_add_test(tc, test_rt311_unsuback_ping_disconnect);
	suite_add_tcase(s, tc);

	tc = tcase_create("roundtrip_5");
	tcase_add_test(tc, test_rt5_connect);
	tcase_add_test(tc, test_rt5_connack);
	tcase_add_test(tc, test_rt5_publish);
	tcase_add_test(tc, test_rt5_acks);
	tcase_add_test(tc, test_rt5_subscribe);
	tcase_add_test(tc, test_rt5_suback_unsuback);
	tcase_add_test(tc, test_rt5_unsubscribe);
	tcase_add_test(tc, test_rt5_ping);
	tcase_add_test(tc, test_rt5_disconnect);
	tcase_add_test(tc, test_rt5_auth);
	suite_add_tcase(s, tc);

	tc = tcase_create("properties");
	tcase_add_test(tc, test_props_connect);
	tcase_add_test(tc, test_props_will);
	tcase_add_test(tc, test_props_connack);
	tcase_add_test(tc, test_props_publish);
	tcase_add_test(tc, test_props_sub_id_vbi);
	tcase_add_test(tc, test_props_others);
	tcase_add_test(tc, test_props_length_vbi);
	tcase_add_test(tc, test_props_all_ids);
	suite_add_tcase(s, tc);

	tc = tcase_create("remaining_length");
	tcase_add_test(tc, test_vbi_size);
	tcase_add_test(tc, test_rl_frame_and_header_only);
	tcase_add_test(tc, test_rl_publish_edges);
	tcase_add_test(tc, test_rl_too_big);
	suite_add_tcase(s, tc);

	tc = tcase_create("incremental");
	tcase_add_test(tc, test_incremental_prefixes);
	tcase_add_test(tc, test_incremental_stream);
	tcase_add_test(tc, test_incremental_nonminimal_311);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode_errors");
	tcase_add_test(tc, test_encode_short_buffer_every_cap);
	tcase_add_loop_test(tc, test_encode_long_string, 0, 2 * LS_COUNT);
	tcase_add_test(tc, test_encode_unencodable);
	suite_add_tcase(s, tc);

	tc = tcase_create("known_bytes");
	tcase_add_test(tc, test_known_connect311);
	tcase_add_test(tc, test_known_connect5);
	tcase_add_test(tc, test_known_publish311);
	tcase_add_test(tc, test_known_acks5);
	tcase_add_test(tc, test_known_disconnect_auth5);
	tcase_add_test(tc, test_known_others);
	suite_add_tcase(s, tc);

	tc = tcase_create("iterators");
	tcase_add_test(tc, test_iter_user_props);
	tcase_add_test(tc, test_iter_sub_ids);
	tcase_add_test(tc, test_iter_sub_list);
	tcase_add_test(tc, test_iter_str_list);
	suite_add_tcase(s, tc);

	return s;
}
