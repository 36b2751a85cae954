/*
 * test_print.c - the one-line printer, the JSON printer, and the name tables.
 */
#include "tests.h"

#include "mqtt/mqtt.h"

#include <string.h>

/* Decode hex and print it as one line; rows pin the exact text traces will show. */
static const struct {
	uint8_t version;
	const char *hex;
	const char *text;
} print_rows[] = {
	{ MQTT_V311, "10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00",
	  "CONNECT v=3.1.1 clean=1 keepalive=60 client_id=\"\"" },
	/* will on topic "w" qos 1 retain, user "u", password "pw" */
	{ MQTT_V311, "10 1b 00 04 4d 51 54 54 04 ee 00 0a 00 02 63 31 00 01 77 00 01 78 00 01 75 00 02 70 77",
	  "CONNECT v=3.1.1 clean=1 keepalive=10 client_id=\"c1\" will_topic=\"w\" will_qos=1 "
	  "will_retain=1 will_payload=1B username=\"u\" password=2B" },
	{ MQTT_V311, "20 02 01 00", "CONNACK session_present=1 rc=0 (Connection Accepted)" },
	{ MQTT_V311, "20 02 00 05", "CONNACK session_present=0 rc=5 (Connection Refused, not authorized)" },
	{ MQTT_V311, "32 19 00 11 67 72 65 65 6e 68 6f 75 73 65 2f 31 2f 74 65 6d 70 00 07 32 31 2e 35",
	  "PUBLISH qos=1 retain=0 dup=0 id=7 topic=\"greenhouse/1/temp\" payload=4B" },
	{ MQTT_V311, "31 05 00 01 74 68 69", "PUBLISH qos=0 retain=1 dup=0 topic=\"t\" payload=2B" },
	{ MQTT_V311, "3c 07 00 01 74 00 09 68 69", "PUBLISH qos=2 retain=0 dup=1 id=9 topic=\"t\" payload=2B" },
	{ MQTT_V311, "40 02 00 07", "PUBACK id=7" },
	{ MQTT_V311, "50 02 00 07", "PUBREC id=7" },
	{ MQTT_V311, "62 02 00 07", "PUBREL id=7" },
	{ MQTT_V311, "70 02 00 07", "PUBCOMP id=7" },
	{ MQTT_V311, "82 0c 00 02 00 03 61 2f 23 01 00 01 2b 02",
	  "SUBSCRIBE id=2 \"a/#\":qos=1 \"+\":qos=2" },
	{ MQTT_V311, "90 04 00 02 01 80", "SUBACK id=2 codes=0x01,0x80" },
	{ MQTT_V311, "a2 07 00 03 00 03 61 2f 62", "UNSUBSCRIBE id=3 \"a/b\"" },
	{ MQTT_V311, "b0 02 00 03", "UNSUBACK id=3" },
	{ MQTT_V311, "c0 00", "PINGREQ" },
	{ MQTT_V311, "d0 00", "PINGRESP" },
	{ MQTT_V311, "e0 00", "DISCONNECT" },
	/* 5.0: CONNECT with Session Expiry 3600 and Receive Maximum 10 */
	{ MQTT_V5, "10 15 00 04 4d 51 54 54 05 02 00 3c 08 11 00 00 0e 10 21 00 0a 00 00",
	  "CONNECT v=5.0 clean=1 keepalive=60 client_id=\"\" session_expiry=3600 receive_max=10" },
	{ MQTT_V5, "20 03 00 00 00", "CONNACK session_present=0 reason=0 (Success)" },
	{ MQTT_V5, "20 03 00 87 00", "CONNACK session_present=0 reason=135 (Not authorized)" },
	/* PUBLISH with a Topic Alias and a user property */
	{ MQTT_V5, "30 0f 00 01 74 0a 23 00 05 26 00 01 6b 00 01 76 78",
	  "PUBLISH qos=0 retain=0 dup=0 topic=\"t\" payload=1B topic_alias=5 user:\"k\"=\"v\"" },
	{ MQTT_V5, "40 02 00 01", "PUBACK id=1 reason=0x00 (Success)" },
	{ MQTT_V5, "70 03 00 01 92", "PUBCOMP id=1 reason=0x92 (Packet Identifier not found)" },
	{ MQTT_V5, "82 09 00 01 02 0b 05 00 01 61 2d",
	  "SUBSCRIBE id=1 \"a\":qos=1,nl=1,rap=1,rh=2 subscription_id=5" },
	{ MQTT_V5, "e0 01 04", "DISCONNECT reason=0x04 (Disconnect with Will Message)" },
	{ MQTT_V5, "f0 00", "AUTH reason=0x00 (Success)" },
	{ MQTT_V5, "f0 0a 18 08 15 00 05 53 43 52 41 4d",
	  "AUTH reason=0x18 (Continue authentication) auth_method=\"SCRAM\"" },
};

START_TEST(test_print_line)
{
	uint8_t buf[256];
	char line[512];
	mqtt_packet p;
	mqtt_err e = { 0 };
	size_t n = unhex(print_rows[_i].hex, buf, sizeof buf);
	int rc = mqtt_decode(buf, n, print_rows[_i].version, 0, &p, &e);
	ck_assert_msg(rc == (int)n, "row %d: decode returned %d (%s %s)", _i, rc, e.stmt ? e.stmt : "",
		      e.msg);
	size_t want = mqtt_print(&p, line, sizeof line);
	ck_assert_str_eq(line, print_rows[_i].text);
	ck_assert_uint_eq(want, strlen(print_rows[_i].text));
}
END_TEST

/* snprintf semantics: the wanted length is returned, the text is cut and terminated. */
START_TEST(test_print_truncates)
{
	uint8_t buf[64];
	char small[8];
	mqtt_packet p;
	size_t n = unhex("40 02 00 07", buf, sizeof buf);
	ck_assert_int_eq(mqtt_decode(buf, n, MQTT_V311, 0, &p, NULL), 4);
	memset(small, 'x', sizeof small);
	ck_assert_uint_eq(mqtt_print(&p, small, sizeof small), strlen("PUBACK id=7"));
	ck_assert_str_eq(small, "PUBACK ");
	ck_assert_uint_eq(mqtt_print(&p, NULL, 0), strlen("PUBACK id=7"));
	ck_assert_uint_eq(mqtt_print_json(&p, NULL, 0),
			  strlen("{\"type\":\"PUBACK\",\"version\":\"3.1.1\",\"length\":4,\"packet_id\":7}"));
}
END_TEST

/* Control characters and quotes in strings are escaped; long strings are cut with "...". */
START_TEST(test_print_escapes)
{
	uint8_t topic[200], pay[1] = { 0 };
	char line[512];
	memset(topic, 'a', sizeof topic);
	topic[0] = '"';
	topic[1] = '\n';
	topic[2] = 0x01;
	mqtt_packet p = { .type = MQTT_PUBLISH, .version = MQTT_V311 };
	p.publish.topic = (mqtt_str){ topic, sizeof topic };
	p.publish.payload = (mqtt_str){ pay, 1 };
	mqtt_print(&p, line, sizeof line);
	ck_assert_ptr_nonnull(strstr(line, "topic=\"\\\"\\n\\x01aaa"));
	ck_assert_ptr_nonnull(strstr(line, "aaa...\" payload=1B"));
	mqtt_print_json(&p, line, sizeof line);
	ck_assert_ptr_nonnull(strstr(line, "\"topic\":\"\\\"\\n\\u0001aaa"));
	ck_assert_ptr_null(strstr(line, "..."));
}
END_TEST

/* Above ASCII: well-formed UTF-8 as it is; C1 controls escaped; a stray byte shown as a
 * byte (text) or U+FFFD (JSON stays valid UTF-8); a multi-byte character is never cut. */
START_TEST(test_print_non_ascii)
{
	static const uint8_t topic[] = { 'a', 0xC3, 0xA9, 0xC2, 0x85, 0xFF, 0xE2, 0x82, 0xAC, 'z' };
	char line[512];
	mqtt_packet p = { .type = MQTT_PUBLISH, .version = MQTT_V311 };
	p.publish.topic = (mqtt_str){ topic, sizeof topic };
	mqtt_print(&p, line, sizeof line);
	ck_assert_msg(strstr(line, "topic=\"a\xc3\xa9\\u0085\\xff\xe2\x82\xacz\""), "%s", line);
	mqtt_print_json(&p, line, sizeof line);
	ck_assert_msg(strstr(line, "\"topic\":\"a\xc3\xa9\\u0085\\ufffd\xe2\x82\xacz\""), "%s", line);
}
END_TEST

static const struct {
	uint8_t version;
	const char *hex;
	const char *json;
} json_rows[] = {
	{ MQTT_V311, "32 08 00 01 74 00 07 32 31 2e",
	  "{\"type\":\"PUBLISH\",\"version\":\"3.1.1\",\"length\":10,\"qos\":1,\"retain\":false,"
	  "\"dup\":false,\"packet_id\":7,\"topic\":\"t\",\"payload_len\":3,\"payload_hex\":\"32312e\"}" },
	{ MQTT_V5, "40 02 00 01",
	  "{\"type\":\"PUBACK\",\"version\":\"5.0\",\"length\":4,\"packet_id\":1,\"reason\":0,"
	  "\"reason_name\":\"Success\",\"properties\":{}}" },
	{ MQTT_V5, "30 0f 00 01 74 0a 23 00 05 26 00 01 6b 00 01 76 78",
	  "{\"type\":\"PUBLISH\",\"version\":\"5.0\",\"length\":17,\"qos\":0,\"retain\":false,"
	  "\"dup\":false,\"topic\":\"t\",\"payload_len\":1,\"payload_hex\":\"78\",\"properties\":"
	  "{\"topic_alias\":5,\"user\":[[\"k\",\"v\"]]}}" },
	{ MQTT_V311, "82 0c 00 02 00 03 61 2f 23 01 00 01 2b 02",
	  "{\"type\":\"SUBSCRIBE\",\"version\":\"3.1.1\",\"length\":14,\"packet_id\":2,"
	  "\"subscriptions\":[{\"filter\":\"a/#\",\"qos\":1},{\"filter\":\"+\",\"qos\":2}]}" },
	{ MQTT_V311, "90 04 00 02 01 80",
	  "{\"type\":\"SUBACK\",\"version\":\"3.1.1\",\"length\":6,\"packet_id\":2,\"codes\":[1,128]}" },
};

START_TEST(test_print_json)
{
	uint8_t buf[256];
	char line[1024];
	mqtt_packet p;
	size_t n = unhex(json_rows[_i].hex, buf, sizeof buf);
	ck_assert_int_eq(mqtt_decode(buf, n, json_rows[_i].version, 0, &p, NULL), (int)n);
	mqtt_print_json(&p, line, sizeof line);
	ck_assert_str_eq(line, json_rows[_i].json);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(mqtt_type_name(MQTT_PUBLISH), "PUBLISH");
	ck_assert_str_eq(mqtt_type_name(MQTT_AUTH), "AUTH");
	ck_assert_str_eq(mqtt_type_name(99), "?");
	ck_assert_str_eq(mqtt_reason_name(0x97), "Quota exceeded");
	ck_assert_str_eq(mqtt_reason_name(0x03), "unknown reason code");
	ck_assert_str_eq(mqtt_connack_name(MQTT_V311, 2), "Connection Refused, identifier rejected");
	ck_assert_str_eq(mqtt_connack_name(MQTT_V311, 6), "reserved return code");
	ck_assert_str_eq(mqtt_connack_name(MQTT_V5, 0x85), "Client Identifier not valid");
	ck_assert_str_eq(mqtt_rc_name(-MQTT_ERR_MALFORMED), "malformed packet");
	ck_assert_str_eq(mqtt_rc_name(MQTT_ERR_VERSION), "unsupported protocol version");
	ck_assert_str_eq(mqtt_rc_name(42), "unknown error");
}
END_TEST

/* Per-packet reason code lists of MQTT 5.0, written out from the specification. */
static const struct {
	unsigned type;
	const char *codes;
} reason_rows[] = {
	{ MQTT_CONNACK, "00 80 81 82 83 84 85 86 87 88 89 8a 8c 90 95 97 99 9a 9b 9c 9d 9f" },
	{ MQTT_PUBACK, "00 10 80 83 87 90 91 97 99" },
	{ MQTT_PUBREC, "00 10 80 83 87 90 91 97 99" },
	{ MQTT_PUBREL, "00 92" },
	{ MQTT_PUBCOMP, "00 92" },
	{ MQTT_SUBACK, "00 01 02 80 83 87 8f 91 97 9e a1 a2" },
	{ MQTT_UNSUBACK, "00 11 80 83 87 8f 91" },
	{ MQTT_DISCONNECT, "00 04 80 81 82 83 87 89 8b 8c 8d 8e 8f 90 93 94 95 96 97 98 99 9a 9b 9c "
			   "9d 9e 9f a0 a1 a2" },
	{ MQTT_AUTH, "00 18 19" },
};

START_TEST(test_reason_allowed)
{
	uint8_t codes[64];
	bool in[256] = { false };
	size_t n = unhex(reason_rows[_i].codes, codes, sizeof codes);
	for (size_t k = 0; k < n; k++)
		in[codes[k]] = true;
	for (int c = 0; c < 256; c++)
		ck_assert_msg(mqtt_reason_allowed(reason_rows[_i].type, (uint8_t)c) == in[c],
			      "%s reason 0x%02X: allowed=%d, spec says %d", mqtt_type_name(reason_rows[_i].type),
			      c, mqtt_reason_allowed(reason_rows[_i].type, (uint8_t)c), in[c]);
	ck_assert(!mqtt_reason_allowed(MQTT_PUBLISH, 0));
	ck_assert(!mqtt_reason_allowed(99, 0));
}
END_TEST

/* A small structural check: strings closed, braces and brackets balanced and nested. */
static bool json_well_formed(const char *j)
{
	char stack[64];
	int depth = 0;
	bool in_str = false;
	for (const char *c = j; *c; c++) {
		if (in_str) {
			if (*c == '\\')
				c++;
			else if (*c == '"')
				in_str = false;
			continue;
		}
		if (*c == '"')
			in_str = true;
		else if (*c == '{' || *c == '[')
			stack[depth++] = *c;
		else if (*c == '}' || *c == ']') {
			if (depth == 0 || stack[--depth] != (*c == '}' ? '{' : '['))
				return false;
		}
		if (depth >= 63)
			return false;
	}
	return depth == 0 && !in_str;
}

static void print_both(const mqtt_packet *in, char *text, char *json, size_t cap)
{
	static uint8_t buf[4096];
	mqtt_packet p;
	mqtt_err e;
	int n = mqtt_encode(in, buf, sizeof buf, &e);
	ck_assert_msg(n > 0, "encode: %s", e.msg);
	ck_assert_int_eq(mqtt_decode(buf, (size_t)n, in->version, 0, &p, &e), n);
	mqtt_print(&p, text, cap);
	mqtt_print_json(&p, json, cap);
	ck_assert_msg(json_well_formed(json), "not well-formed JSON: %s", json);
}

#define HAS(hay, needle) ck_assert_msg(strstr((hay), (needle)), "\"%s\" not in: %s", (needle), (hay))

/* Every property prints under its key, in text and in JSON, read back from the wire. */
START_TEST(test_print_all_properties)
{
	static char text[4096], json[4096];
	static const uint8_t cd[3] = { 1, 2, 255 };
	mqtt_user_prop users[2] = { { MQTT_STR("k1"), MQTT_STR("v1") }, { MQTT_STR("k2"), MQTT_STR("v\"2") } };
	uint32_t sids[2] = { 7, 300 };

	mqtt_packet c = { .type = MQTT_CONNECT, .version = MQTT_V5 };
	c.connect.client_id = MQTT_STR("dev-1");
	c.connect.will = true;
	c.connect.will_qos = 2;
	c.connect.will_topic = MQTT_STR("status/dev-1");
	c.connect.will_payload = MQTT_STR("gone");
	c.connect.has_username = true;
	c.connect.username = MQTT_STR("alice");
	c.connect.has_password = true;
	c.connect.password = MQTT_STR("pw");
	mqtt_props *wp = &c.connect.will_props;
	MQTT_SET(wp, MQTT_PROP_WILL_DELAY), wp->will_delay = 30;
	MQTT_SET(wp, MQTT_PROP_PAYLOAD_FORMAT), wp->payload_format = 1;
	MQTT_SET(wp, MQTT_PROP_CONTENT_TYPE), wp->content_type = MQTT_STR("text/plain");
	MQTT_SET(wp, MQTT_PROP_CORRELATION_DATA), wp->correlation_data = (mqtt_str){ cd, 3 };
	MQTT_SET(&c.props, MQTT_PROP_REQUEST_PROBLEM_INFO), c.props.request_problem_info = 0;
	MQTT_SET(&c.props, MQTT_PROP_REQUEST_RESPONSE_INFO), c.props.request_response_info = 1;
	MQTT_SET(&c.props, MQTT_PROP_TOPIC_ALIAS_MAX), c.props.topic_alias_max = 10;
	MQTT_SET(&c.props, MQTT_PROP_MAX_PACKET_SIZE), c.props.max_packet_size = 4096;
	MQTT_SET(&c.props, MQTT_PROP_AUTH_METHOD), c.props.auth_method = MQTT_STR("SCRAM");
	MQTT_SET(&c.props, MQTT_PROP_AUTH_DATA), c.props.auth_data = (mqtt_str){ cd, 3 };
	print_both(&c, text, json, sizeof text);
	HAS(text, "will_topic=\"status/dev-1\" will_qos=2 will_retain=0 will_payload=4B username=\"alice\" password=2B");
	HAS(text, "request_problem_info=0 request_response_info=1 topic_alias_max=10 max_packet_size=4096");
	HAS(text, "auth_method=\"SCRAM\" auth_data=3B");
	HAS(text, "will_props{ payload_format=1 content_type=\"text/plain\" correlation_data=3B will_delay=30 }");
	HAS(json, "\"will\":{\"qos\":2,\"retain\":false,\"topic\":\"status/dev-1\",\"payload_hex\":\"676f6e65\"");
	HAS(json, "\"properties\":{\"payload_format\":1,\"content_type\":\"text/plain\",\"correlation_data\":\"0102ff\",\"will_delay\":30}");
	HAS(json, "\"username\":\"alice\",\"password_len\":2");
	HAS(json, "\"auth_data\":\"0102ff\"");

	mqtt_packet a = { .type = MQTT_CONNACK, .version = MQTT_V5, .session_present = true };
	mqtt_props *ap = &a.props;
	MQTT_SET(ap, MQTT_PROP_SESSION_EXPIRY), ap->session_expiry = 3600;
	MQTT_SET(ap, MQTT_PROP_RECEIVE_MAX), ap->receive_max = 20;
	MQTT_SET(ap, MQTT_PROP_MAX_QOS), ap->max_qos = 1;
	MQTT_SET(ap, MQTT_PROP_RETAIN_AVAILABLE), ap->retain_available = 0;
	MQTT_SET(ap, MQTT_PROP_ASSIGNED_CLIENT_ID), ap->assigned_client_id = MQTT_STR("auto-9");
	MQTT_SET(ap, MQTT_PROP_REASON_STRING), ap->reason_string = MQTT_STR("welcome");
	MQTT_SET(ap, MQTT_PROP_WILDCARD_SUB_AVAILABLE), ap->wildcard_sub_available = 1;
	MQTT_SET(ap, MQTT_PROP_SUB_ID_AVAILABLE), ap->sub_id_available = 0;
	MQTT_SET(ap, MQTT_PROP_SHARED_SUB_AVAILABLE), ap->shared_sub_available = 1;
	MQTT_SET(ap, MQTT_PROP_SERVER_KEEPALIVE), ap->server_keepalive = 45;
	MQTT_SET(ap, MQTT_PROP_RESPONSE_INFO), ap->response_info = MQTT_STR("resp/");
	MQTT_SET(ap, MQTT_PROP_SERVER_REFERENCE), ap->server_reference = MQTT_STR("other:1883");
	ap->user = users, ap->user_count = 2;
	print_both(&a, text, json, sizeof text);
	ck_assert_str_eq(text, "CONNACK session_present=1 reason=0 (Success) session_expiry=3600 "
			       "assigned_client_id=\"auto-9\" server_keepalive=45 response_info=\"resp/\" "
			       "server_reference=\"other:1883\" reason_string=\"welcome\" receive_max=20 "
			       "max_qos=1 retain_available=0 wildcard_sub_available=1 sub_id_available=0 "
			       "shared_sub_available=1 user:\"k1\"=\"v1\" user:\"k2\"=\"v\\\"2\"");
	HAS(json, "\"session_present\":true,\"reason\":0,\"reason_name\":\"Success\"");
	HAS(json, "\"user\":[[\"k1\",\"v1\"],[\"k2\",\"v\\\"2\"]]");

	mqtt_packet pub = { .type = MQTT_PUBLISH, .version = MQTT_V5, .packet_id = 3 };
	pub.publish.qos = 1;
	pub.publish.topic = MQTT_STR("a/b");
	pub.publish.payload = MQTT_STR("x");
	MQTT_SET(&pub.props, MQTT_PROP_MESSAGE_EXPIRY), pub.props.message_expiry = 60;
	MQTT_SET(&pub.props, MQTT_PROP_RESPONSE_TOPIC), pub.props.response_topic = MQTT_STR("reply/1");
	pub.props.sub_ids = sids, pub.props.sub_id_count = 2;
	print_both(&pub, text, json, sizeof text);
	HAS(text, "message_expiry=60 response_topic=\"reply/1\" subscription_id=7,300");
	HAS(json, "\"subscription_ids\":[7,300]");

	mqtt_sub subs[1] = { { MQTT_STR("a/+"), 2, true, true, 1 } };
	mqtt_packet sub = { .type = MQTT_SUBSCRIBE, .version = MQTT_V5, .packet_id = 4 };
	sub.subscribe.items = subs, sub.subscribe.count = 1;
	print_both(&sub, text, json, sizeof text);
	HAS(json, "{\"filter\":\"a/+\",\"qos\":2,\"no_local\":true,\"retain_as_published\":true,\"retain_handling\":1}");

	mqtt_str filters[2] = { MQTT_STR("a/#"), MQTT_STR("b") };
	mqtt_packet un = { .type = MQTT_UNSUBSCRIBE, .version = MQTT_V311, .packet_id = 5 };
	un.unsubscribe.items = filters, un.unsubscribe.count = 2;
	print_both(&un, text, json, sizeof text);
	ck_assert_str_eq(text, "UNSUBSCRIBE id=5 \"a/#\" \"b\"");
	HAS(json, "\"packet_id\":5,\"filters\":[\"a/#\",\"b\"]");

	mqtt_packet d = { .type = MQTT_DISCONNECT, .version = MQTT_V5, .reason = 0x8E };
	print_both(&d, text, json, sizeof text);
	HAS(json, "\"reason\":142,\"reason_name\":\"Session taken over\"");
	mqtt_packet ca = { .type = MQTT_CONNACK, .version = MQTT_V311, .reason = 4 };
	print_both(&ca, text, json, sizeof text);
	HAS(json, "\"reason_name\":\"Connection Refused, bad user name or password\"");
}
END_TEST

START_TEST(test_rc_names)
{
	ck_assert_str_eq(mqtt_rc_name(MQTT_OK), "ok");
	ck_assert_str_eq(mqtt_rc_name(-MQTT_ERR_PROTOCOL), "protocol error");
	ck_assert_str_eq(mqtt_rc_name(-MQTT_ERR_TOO_LARGE), "packet too large");
	ck_assert_str_eq(mqtt_rc_name(-MQTT_ERR_BUFFER), "buffer too small");
	ck_assert_str_eq(mqtt_rc_name(-MQTT_ERR_ARG), "cannot encode");
}
END_TEST

Suite *print_suite(void)
{
	Suite *s = suite_create("print");
	TCase *tc = tcase_create("print");
	tcase_add_loop_test(tc, test_print_line, 0, (int)(sizeof print_rows / sizeof print_rows[0]));
	tcase_add_loop_test(tc, test_print_json, 0, (int)(sizeof json_rows / sizeof json_rows[0]));
	tcase_add_test(tc, test_print_truncates);
	tcase_add_test(tc, test_print_escapes);
	tcase_add_test(tc, test_print_non_ascii);
	tcase_add_test(tc, test_print_all_properties);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_rc_names);
	tcase_add_loop_test(tc, test_reason_allowed, 0, (int)(sizeof reason_rows / sizeof reason_rows[0]));
	suite_add_tcase(s, tc);
	return s;
}
