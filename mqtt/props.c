/*
 * props.c - MQTT 5.0 properties: the table, the reader, the writer, the iterators.
 *
 * A property block is a variable byte integer length followed by (identifier, value)
 * pairs. Single-valued properties land in fixed fields of mqtt_props with a bit in
 * `present`; the repeated ones (User Property anywhere, Subscription Identifier in
 * PUBLISH) are counted and left in the block, so decoding never allocates.
 */
#include "wire.h"

#define W(t) (1u << (t))
#define PUBSET (W(MQTT_PUBACK) | W(MQTT_PUBREC) | W(MQTT_PUBREL) | W(MQTT_PUBCOMP))
#define ANY                                                                              \
	(W(MQTT_CONNECT) | W(MQTT_CONNACK) | W(MQTT_PUBLISH) | PUBSET | W(MQTT_SUBSCRIBE) | \
	 W(MQTT_SUBACK) | W(MQTT_UNSUBSCRIBE) | W(MQTT_UNSUBACK) | W(MQTT_DISCONNECT) |     \
	 W(MQTT_AUTH) | W(MQTT_PROPS_WILL))

static const mqtt_prop_info props_table[MQTT_PROP_ID_MAX + 1] = {
	[0x01] = { 0x01, MQTT_PT_BYTE, "Payload Format Indicator", "payload_format",
		   W(MQTT_PUBLISH) | W(MQTT_PROPS_WILL) },
	[0x02] = { 0x02, MQTT_PT_U32, "Message Expiry Interval", "message_expiry",
		   W(MQTT_PUBLISH) | W(MQTT_PROPS_WILL) },
	[0x03] = { 0x03, MQTT_PT_UTF8, "Content Type", "content_type",
		   W(MQTT_PUBLISH) | W(MQTT_PROPS_WILL) },
	[0x08] = { 0x08, MQTT_PT_UTF8, "Response Topic", "response_topic",
		   W(MQTT_PUBLISH) | W(MQTT_PROPS_WILL) },
	[0x09] = { 0x09, MQTT_PT_BINARY, "Correlation Data", "correlation_data",
		   W(MQTT_PUBLISH) | W(MQTT_PROPS_WILL) },
	[0x0B] = { 0x0B, MQTT_PT_VBI, "Subscription Identifier", "subscription_id",
		   W(MQTT_PUBLISH) | W(MQTT_SUBSCRIBE) },
	[0x11] = { 0x11, MQTT_PT_U32, "Session Expiry Interval", "session_expiry",
		   W(MQTT_CONNECT) | W(MQTT_CONNACK) | W(MQTT_DISCONNECT) },
	[0x12] = { 0x12, MQTT_PT_UTF8, "Assigned Client Identifier", "assigned_client_id",
		   W(MQTT_CONNACK) },
	[0x13] = { 0x13, MQTT_PT_U16, "Server Keep Alive", "server_keepalive", W(MQTT_CONNACK) },
	[0x15] = { 0x15, MQTT_PT_UTF8, "Authentication Method", "auth_method",
		   W(MQTT_CONNECT) | W(MQTT_CONNACK) | W(MQTT_AUTH) },
	[0x16] = { 0x16, MQTT_PT_BINARY, "Authentication Data", "auth_data",
		   W(MQTT_CONNECT) | W(MQTT_CONNACK) | W(MQTT_AUTH) },
	[0x17] = { 0x17, MQTT_PT_BYTE, "Request Problem Information", "request_problem_info",
		   W(MQTT_CONNECT) },
	[0x18] = { 0x18, MQTT_PT_U32, "Will Delay Interval", "will_delay", W(MQTT_PROPS_WILL) },
	[0x19] = { 0x19, MQTT_PT_BYTE, "Request Response Information", "request_response_info",
		   W(MQTT_CONNECT) },
	[0x1A] = { 0x1A, MQTT_PT_UTF8, "Response Information", "response_info", W(MQTT_CONNACK) },
	[0x1C] = { 0x1C, MQTT_PT_UTF8, "Server Reference", "server_reference",
		   W(MQTT_CONNACK) | W(MQTT_DISCONNECT) },
	[0x1F] = { 0x1F, MQTT_PT_UTF8, "Reason String", "reason_string",
		   W(MQTT_CONNACK) | PUBSET | W(MQTT_SUBACK) | W(MQTT_UNSUBACK) |
			   W(MQTT_DISCONNECT) | W(MQTT_AUTH) },
	[0x21] = { 0x21, MQTT_PT_U16, "Receive Maximum", "receive_max",
		   W(MQTT_CONNECT) | W(MQTT_CONNACK) },
	[0x22] = { 0x22, MQTT_PT_U16, "Topic Alias Maximum", "topic_alias_max",
		   W(MQTT_CONNECT) | W(MQTT_CONNACK) },
	[0x23] = { 0x23, MQTT_PT_U16, "Topic Alias", "topic_alias", W(MQTT_PUBLISH) },
	[0x24] = { 0x24, MQTT_PT_BYTE, "Maximum QoS", "max_qos", W(MQTT_CONNACK) },
	[0x25] = { 0x25, MQTT_PT_BYTE, "Retain Available", "retain_available", W(MQTT_CONNACK) },
	[0x26] = { 0x26, MQTT_PT_UTF8_PAIR, "User Property", "user", ANY },
	[0x27] = { 0x27, MQTT_PT_U32, "Maximum Packet Size", "max_packet_size",
		   W(MQTT_CONNECT) | W(MQTT_CONNACK) },
	[0x28] = { 0x28, MQTT_PT_BYTE, "Wildcard Subscription Available",
		   "wildcard_sub_available", W(MQTT_CONNACK) },
	[0x29] = { 0x29, MQTT_PT_BYTE, "Subscription Identifier Available", "sub_id_available",
		   W(MQTT_CONNACK) },
	[0x2A] = { 0x2A, MQTT_PT_BYTE, "Shared Subscription Available", "shared_sub_available",
		   W(MQTT_CONNACK) },
};

const mqtt_prop_info *mqtt_prop_lookup(uint32_t id)
{
	if (id > MQTT_PROP_ID_MAX || props_table[id].id == 0)
		return NULL;
	return &props_table[id];
}

static const char *where_name(unsigned where)
{
	return where == MQTT_PROPS_WILL ? "will properties" : mqtt_type_name(where);
}

/* Where each single-valued property lives in mqtt_props, by id. The field's C type is the
 * one its type in props_table says: uint8_t (BYTE), uint16_t, uint32_t or mqtt_str (UTF8,
 * BINARY). The repeated ones (User Property, Subscription Identifier) have no field. */
#define F(name) offsetof(mqtt_props, name)
static const size_t field_offset[MQTT_PROP_ID_MAX + 1] = {
	[0x01] = F(payload_format),     [0x02] = F(message_expiry),     [0x03] = F(content_type),
	[0x08] = F(response_topic),     [0x09] = F(correlation_data),   [0x11] = F(session_expiry),
	[0x12] = F(assigned_client_id), [0x13] = F(server_keepalive),   [0x15] = F(auth_method),
	[0x16] = F(auth_data),          [0x17] = F(request_problem_info),
	[0x18] = F(will_delay),         [0x19] = F(request_response_info),
	[0x1A] = F(response_info),      [0x1C] = F(server_reference),   [0x1F] = F(reason_string),
	[0x21] = F(receive_max),        [0x22] = F(topic_alias_max),    [0x23] = F(topic_alias),
	[0x24] = F(max_qos),            [0x25] = F(retain_available),   [0x27] = F(max_packet_size),
	[0x28] = F(wildcard_sub_available), [0x29] = F(sub_id_available),
	[0x2A] = F(shared_sub_available),
};
#undef F

void *mqtt__prop_field(mqtt_props *p, unsigned id)
{
	return (char *)p + field_offset[id];
}

const void *mqtt__prop_cfield(const mqtt_props *p, unsigned id)
{
	return (const char *)p + field_offset[id];
}

/*
 * The section that defines a property in a given packet: range and duplicate rules have
 * no statement ids in 5.0, so errors cite where the rule is written for that packet.
 * Rows: property id, then the section per packet type (index) or the will properties.
 */
static const struct {
	uint8_t id;
	const char *sec[MQTT_PROPS_WILL + 1];
} prop_sections[] = {
	{ 0x01, { [MQTT_PUBLISH] = "§3.3.2.3.2", [MQTT_PROPS_WILL] = "§3.1.3.2.3" } },
	{ 0x02, { [MQTT_PUBLISH] = "§3.3.2.3.3", [MQTT_PROPS_WILL] = "§3.1.3.2.4" } },
	{ 0x03, { [MQTT_PUBLISH] = "§3.3.2.3.9", [MQTT_PROPS_WILL] = "§3.1.3.2.5" } },
	{ 0x08, { [MQTT_PUBLISH] = "§3.3.2.3.5", [MQTT_PROPS_WILL] = "§3.1.3.2.6" } },
	{ 0x09, { [MQTT_PUBLISH] = "§3.3.2.3.6", [MQTT_PROPS_WILL] = "§3.1.3.2.7" } },
	{ 0x0B, { [MQTT_PUBLISH] = "§3.3.2.3.8", [MQTT_SUBSCRIBE] = "§3.8.2.1.2" } },
	{ 0x11, { [MQTT_CONNECT] = "§3.1.2.11.2", [MQTT_CONNACK] = "§3.2.2.3.2",
		  [MQTT_DISCONNECT] = "§3.14.2.2.2" } },
	{ 0x12, { [MQTT_CONNACK] = "§3.2.2.3.7" } },
	{ 0x13, { [MQTT_CONNACK] = "§3.2.2.3.14" } },
	{ 0x15, { [MQTT_CONNECT] = "§3.1.2.11.9", [MQTT_CONNACK] = "§3.2.2.3.17",
		  [MQTT_AUTH] = "§3.15.2.2.2" } },
	{ 0x16, { [MQTT_CONNECT] = "§3.1.2.11.10", [MQTT_CONNACK] = "§3.2.2.3.18",
		  [MQTT_AUTH] = "§3.15.2.2.3" } },
	{ 0x17, { [MQTT_CONNECT] = "§3.1.2.11.7" } },
	{ 0x18, { [MQTT_PROPS_WILL] = "§3.1.3.2.2" } },
	{ 0x19, { [MQTT_CONNECT] = "§3.1.2.11.6" } },
	{ 0x1A, { [MQTT_CONNACK] = "§3.2.2.3.15" } },
	{ 0x1C, { [MQTT_CONNACK] = "§3.2.2.3.16", [MQTT_DISCONNECT] = "§3.14.2.2.5" } },
	{ 0x1F, { [MQTT_CONNACK] = "§3.2.2.3.9", [MQTT_PUBACK] = "§3.4.2.2.2",
		  [MQTT_PUBREC] = "§3.5.2.2.2", [MQTT_PUBREL] = "§3.6.2.2.2",
		  [MQTT_PUBCOMP] = "§3.7.2.2.2", [MQTT_SUBACK] = "§3.9.2.1.2",
		  [MQTT_UNSUBACK] = "§3.11.2.1.2", [MQTT_DISCONNECT] = "§3.14.2.2.3",
		  [MQTT_AUTH] = "§3.15.2.2.4" } },
	{ 0x21, { [MQTT_CONNECT] = "§3.1.2.11.3", [MQTT_CONNACK] = "§3.2.2.3.3" } },
	{ 0x22, { [MQTT_CONNECT] = "§3.1.2.11.5", [MQTT_CONNACK] = "§3.2.2.3.8" } },
	{ 0x23, { [MQTT_PUBLISH] = "§3.3.2.3.4" } },
	{ 0x24, { [MQTT_CONNACK] = "§3.2.2.3.4" } },
	{ 0x25, { [MQTT_CONNACK] = "§3.2.2.3.5" } },
	{ 0x27, { [MQTT_CONNECT] = "§3.1.2.11.4", [MQTT_CONNACK] = "§3.2.2.3.6" } },
	{ 0x28, { [MQTT_CONNACK] = "§3.2.2.3.11" } },
	{ 0x29, { [MQTT_CONNACK] = "§3.2.2.3.12" } },
	{ 0x2A, { [MQTT_CONNACK] = "§3.2.2.3.13" } },
};

static const char *prop_section(unsigned id, unsigned where)
{
	for (size_t i = 0; i < sizeof prop_sections / sizeof prop_sections[0]; i++)
		if (prop_sections[i].id == id && where <= MQTT_PROPS_WILL && prop_sections[i].sec[where])
			return prop_sections[i].sec[where];
	return "§2.2.2.2";
}

/* Value rules beyond the data type. Returns 0 or a protocol error. */
static int check_value(rd *r, const mqtt_prop_info *in, unsigned where, uint32_t v)
{
	const char *sec = prop_section(in->id, where);
	switch (in->id) {
	case MQTT_PROP_PAYLOAD_FORMAT:
	case MQTT_PROP_REQUEST_PROBLEM_INFO:
	case MQTT_PROP_REQUEST_RESPONSE_INFO:
	case MQTT_PROP_MAX_QOS:
	case MQTT_PROP_RETAIN_AVAILABLE:
	case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
	case MQTT_PROP_SUB_ID_AVAILABLE:
	case MQTT_PROP_SHARED_SUB_AVAILABLE:
		if (v > 1)
			return PROTOCOL(r, 0x82, sec, "%s is %u; only 0 or 1 is allowed",
					in->name, v);
		return 0;
	case MQTT_PROP_SUBSCRIPTION_ID:
		if (v == 0)
			return PROTOCOL(r, 0x82, sec,
					"Subscription Identifier 0 is not allowed (1..268435455)");
		return 0;
	case MQTT_PROP_RECEIVE_MAX:
	case MQTT_PROP_MAX_PACKET_SIZE:
	case MQTT_PROP_TOPIC_ALIAS:
		if (v == 0)
			return PROTOCOL(r, in->id == MQTT_PROP_TOPIC_ALIAS ? 0x94 : 0x82,
					in->id == MQTT_PROP_TOPIC_ALIAS ? "MQTT-3.3.2-8" : sec,
					"%s of 0 is not allowed", in->name);
		return 0;
	default:
		return 0;
	}
}

int mqtt__props_read(rd *r, unsigned where, mqtt_props *props)
{
	uint32_t len;
	int rc;

	if (r->version != MQTT_V5)
		return 0;
	if (!rd_left(r))
		return MALFORMED(r, "MQTT-2.2.2-1",
				 "%s has no property length; it must be present (0 when there are no properties)",
				 where_name(where));
	if ((rc = mqtt__rd_vbi(r, &len, "property length")))
		return rc;
	if (len > rd_left(r))
		return MALFORMED(r, "§2.2.2.1", "property length %u exceeds the %zu bytes left", len,
				 rd_left(r));
	rd pr = *r;
	pr.end = r->p + len;
	props->raw.data = r->p;
	props->raw.len = len;

	while (pr.p < pr.end) {
		const uint8_t *at = pr.p;
		uint32_t id, v = 0;
		if ((rc = mqtt__rd_vbi(&pr, &id, "property identifier")))
			return rc;
		const mqtt_prop_info *in = mqtt_prop_lookup(id);
		pr.p = at;
		if (!in)
			return MALFORMED(&pr, "§2.2.2.2", "unknown property identifier 0x%02X", id);
		if (!(in->where & W(where)))
			return MALFORMED(&pr, "§2.2.2.2", "%s (0x%02X) is not allowed in %s", in->name,
					 id, where_name(where));
		pr.p = at + mqtt_vbi_size(id);
		bool repeat = id == MQTT_PROP_USER || (id == MQTT_PROP_SUBSCRIPTION_ID &&
						      where == MQTT_PUBLISH);
		bool seen = id == MQTT_PROP_SUBSCRIPTION_ID ? props->sub_id_count > 0
							     : MQTT_HAS(props, id);
		if (!repeat && seen) {
			pr.p = at;
			return PROTOCOL(&pr, 0x82, prop_section(id, where), "%s (0x%02X) appears more than once",
					in->name, id);
		}
		switch (in->type) {
		case MQTT_PT_BYTE: {
			uint8_t b;
			if ((rc = rd_u8(&pr, &b, in->name)))
				return rc;
			v = b;
			*(uint8_t *)mqtt__prop_field(props, id) = b;
			break;
		}
		case MQTT_PT_U16: {
			uint16_t s;
			if ((rc = rd_u16(&pr, &s, in->name)))
				return rc;
			v = s;
			*(uint16_t *)mqtt__prop_field(props, id) = s;
			break;
		}
		case MQTT_PT_U32:
			if ((rc = rd_u32(&pr, &v, in->name)))
				return rc;
			*(uint32_t *)mqtt__prop_field(props, id) = v;
			break;
		case MQTT_PT_VBI:
			if ((rc = mqtt__rd_vbi(&pr, &v, in->name)))
				return rc;
			break;
		case MQTT_PT_UTF8:
			if ((rc = mqtt__rd_utf8(&pr, mqtt__prop_field(props, id), in->name)))
				return rc;
			break;
		case MQTT_PT_BINARY:
			if ((rc = rd_bin(&pr, mqtt__prop_field(props, id), in->name)))
				return rc;
			break;
		default: { /* UTF-8 pair */
			mqtt_str k, val;
			if ((rc = mqtt__rd_utf8(&pr, &k, "User Property name")) ||
			    (rc = mqtt__rd_utf8(&pr, &val, "User Property value")))
				return rc;
			break;
		}
		}
		const uint8_t *after = pr.p;
		pr.p = at;
		if ((rc = check_value(&pr, in, where, v)))
			return rc;
		if (id == MQTT_PROP_RESPONSE_TOPIC) {
			/* A topic name like any other; the wildcard rule has an id of its own. */
			mqtt_str t = props->response_topic;
			uint32_t str_at = RD_OFF(&pr) + 3;
			mqtt_err why;
			if (mqtt_topic_name_check(t.data, t.len, MQTT_V5, &why)) {
				bool empty = t.len == 0;
				return mqtt__fail(r->err, MQTT_ERR_PROTOCOL, 0x82,
						  empty ? why.stmt : "MQTT-3.3.2-14",
						  empty ? str_at - 2 : str_at + why.offset,
						  "Response Topic: %s", why.msg);
			}
		}
		pr.p = after;
		if (id == MQTT_PROP_USER) {
			props->user_count++;
		} else if (id == MQTT_PROP_SUBSCRIPTION_ID) {
			props->sub_id_count++;
		} else {
			MQTT_SET(props, id);
		}
	}
	/* AUTH states the same rule in its own words; control.c reports it there. */
	if (where != MQTT_AUTH && MQTT_HAS(props, MQTT_PROP_AUTH_DATA) &&
	    !MQTT_HAS(props, MQTT_PROP_AUTH_METHOD))
		return PROTOCOL(r, 0x82, "§3.1.2.11.10",
				"Authentication Data is present without an Authentication Method");
	r->p = pr.end;
	return 0;
}

/* Step over one property of an already validated block. */
static const uint8_t *skip_prop(const uint8_t *p, unsigned *id)
{
	uint32_t v = 0;
	int i = 0;
	do
		v |= (uint32_t)(p[i] & 0x7F) << (7 * i);
	while (p[i++] & 0x80);
	p += i;
	*id = v;
	const mqtt_prop_info *in = mqtt_prop_lookup(v);
	switch (in->type) {
	case MQTT_PT_BYTE: return p + 1;
	case MQTT_PT_U16: return p + 2;
	case MQTT_PT_U32: return p + 4;
	case MQTT_PT_VBI:
		while (*p++ & 0x80)
			;
		return p;
	case MQTT_PT_UTF8:
	case MQTT_PT_BINARY: return p + 2 + ((p[0] << 8) | p[1]);
	default: {
		p += 2 + ((p[0] << 8) | p[1]);
		return p + 2 + ((p[0] << 8) | p[1]);
	}
	}
}

static uint32_t read_vbi(const uint8_t *p)
{
	uint32_t v = 0;
	int i = 0;
	do
		v |= (uint32_t)(p[i] & 0x7F) << (7 * i);
	while (p[i++] & 0x80);
	return v;
}

static mqtt_str str_at(const uint8_t *p)
{
	return (mqtt_str){ p + 2, (uint32_t)((p[0] << 8) | p[1]) };
}

/* Find the next property with the given id in the raw block, from it->pos. */
static const uint8_t *raw_next(const mqtt_props *p, mqtt_iter *it, unsigned want)
{
	const uint8_t *base = p->raw.data, *end = p->raw.data + p->raw.len;
	const uint8_t *q = base + it->pos;
	while (q < end) {
		unsigned id;
		const uint8_t *next = skip_prop(q, &id);
		if (id == want) {
			it->pos = (uint32_t)(next - base);
			return q + mqtt_vbi_size(id);
		}
		q = next;
	}
	it->pos = p->raw.len;
	return NULL;
}

bool mqtt_props_user_next(const mqtt_props *p, mqtt_iter *it, mqtt_user_prop *out)
{
	if (it->index >= p->user_count)
		return false;
	if (p->user) {
		*out = p->user[it->index++];
		return true;
	}
	const uint8_t *v = raw_next(p, it, MQTT_PROP_USER);
	if (!v)
		return false;
	out->key = str_at(v);
	out->value = str_at(v + 2 + out->key.len);
	it->index++;
	return true;
}

bool mqtt_props_sub_id_next(const mqtt_props *p, mqtt_iter *it, uint32_t *out)
{
	if (it->index >= p->sub_id_count)
		return false;
	if (p->sub_ids) {
		*out = p->sub_ids[it->index++];
		return true;
	}
	const uint8_t *v = raw_next(p, it, MQTT_PROP_SUBSCRIPTION_ID);
	if (!v)
		return false;
	*out = read_vbi(v);
	it->index++;
	return true;
}

static uint32_t value_size(const mqtt_props *p, const mqtt_prop_info *in)
{
	switch (in->type) {
	case MQTT_PT_BYTE: return 1;
	case MQTT_PT_U16: return 2;
	case MQTT_PT_U32: return 4;
	default: return STR_SIZE(*(const mqtt_str *)mqtt__prop_cfield(p, in->id));
	}
}

uint32_t mqtt__props_size(const mqtt_props *p)
{
	uint64_t n = 0;
	for (unsigned id = 1; id <= MQTT_PROP_ID_MAX; id++) {
		if (!MQTT_HAS(p, id) || id == MQTT_PROP_SUBSCRIPTION_ID || id == MQTT_PROP_USER)
			continue;
		const mqtt_prop_info *in = mqtt_prop_lookup(id);
		if (!in)
			return 0x80000000u;
		n += 1 + value_size(p, in);
	}
	mqtt_iter it = { 0, 0 };
	mqtt_user_prop u;
	while (mqtt_props_user_next(p, &it, &u))
		n += 1 + (uint64_t)STR_SIZE(u.key) + STR_SIZE(u.value);
	uint32_t sid;
	it = (mqtt_iter){ 0, 0 };
	while (mqtt_props_sub_id_next(p, &it, &sid)) {
		int s = mqtt_vbi_size(sid);
		n += 1 + (s ? (unsigned)s : 0x80000000u);
	}
	return n > MQTT_VBI_MAX ? 0x80000000u : (uint32_t)n;
}

uint8_t *mqtt__props_write(uint8_t *w, const mqtt_props *p, uint32_t size)
{
	w = wr_vbi(w, size);
	for (unsigned id = 1; id <= MQTT_PROP_ID_MAX; id++) {
		if (!MQTT_HAS(p, id) || id == MQTT_PROP_SUBSCRIPTION_ID || id == MQTT_PROP_USER)
			continue;
		const mqtt_prop_info *in = mqtt_prop_lookup(id);
		w = wr_u8(w, (uint8_t)id);
		switch (in->type) {
		case MQTT_PT_BYTE: w = wr_u8(w, *(const uint8_t *)mqtt__prop_cfield(p, id)); break;
		case MQTT_PT_U16: w = wr_u16(w, *(const uint16_t *)mqtt__prop_cfield(p, id)); break;
		case MQTT_PT_U32: w = wr_u32(w, *(const uint32_t *)mqtt__prop_cfield(p, id)); break;
		default: w = wr_str(w, *(const mqtt_str *)mqtt__prop_cfield(p, id)); break;
		}
	}
	mqtt_iter it = { 0, 0 };
	uint32_t sid;
	while (mqtt_props_sub_id_next(p, &it, &sid)) {
		w = wr_u8(w, MQTT_PROP_SUBSCRIPTION_ID);
		w = wr_vbi(w, sid);
	}
	it = (mqtt_iter){ 0, 0 };
	mqtt_user_prop u;
	while (mqtt_props_user_next(p, &it, &u)) {
		w = wr_u8(w, MQTT_PROP_USER);
		w = wr_str(w, u.key);
		w = wr_str(w, u.value);
	}
	return w;
}
