/*
 * topic.c - topic names, topic filters, matching, one filter covering another, shared
 * subscriptions, and the post-decode checks of mqtt_validate().
 */
#include "wire.h"

static int check_common(const uint8_t *s, size_t len, uint8_t version, const char *what,
			mqtt_err *err)
{
	if (len == 0)
		return mqtt__fail(err, MQTT_ERR_PROTOCOL, 0x82, "MQTT-4.7.3-1", 0,
				  "%s is empty; it needs at least one character", what);
	if (len > 0xFFFF)
		return mqtt__fail(err, MQTT_ERR_PROTOCOL, 0x82, "MQTT-4.7.3-3", 0,
				  "%s is %zu bytes long; at most 65535 are allowed", what, len);
	for (size_t i = 0; i < len; i++)
		if (s[i] == 0 || s[i] >= 0x80)
			return mqtt_utf8_check(s, len, version, err);
	return 0;
}

int mqtt_topic_name_check(const uint8_t *s, size_t len, uint8_t version, mqtt_err *err)
{
	int rc = check_common(s, len, version, "topic name", err);
	if (rc)
		return rc;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '+' || s[i] == '#')
			return mqtt__fail(err, MQTT_ERR_PROTOCOL, 0x90,
					  SID(version, "MQTT-4.7.1-1", "MQTT-4.7.0-1"), (uint32_t)i,
					  "topic name contains the wildcard '%c'; wildcards belong only in filters",
					  s[i]);
	return 0;
}

/* Wildcard placement of a plain (non-shared) filter; offsets relative to base. */
static int check_wildcards(const uint8_t *s, size_t len, uint32_t base, uint8_t version,
			   mqtt_err *err)
{
	for (size_t i = 0; i < len; i++) {
		bool level_start = i == 0 || s[i - 1] == '/';
		bool level_end = i + 1 == len || s[i + 1] == '/';
		if (s[i] == '#') {
			if (!level_start || i + 1 != len)
				return mqtt__fail(err, MQTT_ERR_PROTOCOL, 0x8F,
						  SID(version, "MQTT-4.7.1-2", "MQTT-4.7.1-1"), base + (uint32_t)i,
						  "'#' must be the last character and stand alone in its level");
		} else if (s[i] == '+') {
			if (!level_start || !level_end)
				return mqtt__fail(err, MQTT_ERR_PROTOCOL, 0x8F,
						  SID(version, "MQTT-4.7.1-3", "MQTT-4.7.1-2"), base + (uint32_t)i, "'+' must occupy a whole topic level");
		}
	}
	return 0;
}

#define SHARE_PREFIX "$share/"
#define SHARE_PREFIX_LEN 7

int mqtt_share_parse(const uint8_t *s, size_t len, mqtt_str *name, mqtt_str *filter, mqtt_err *err)
{
	if (len < SHARE_PREFIX_LEN || memcmp(s, SHARE_PREFIX, SHARE_PREFIX_LEN) != 0)
		return 0;
	size_t i = SHARE_PREFIX_LEN;
	while (i < len && s[i] != '/') {
		if (s[i] == '+' || s[i] == '#')
			return mqtt__fail(err, MQTT_ERR_PROTOCOL, 0x8F, "MQTT-4.8.2-2", (uint32_t)i,
					  "share name contains the wildcard '%c'", s[i]);
		i++;
	}
	if (i == SHARE_PREFIX_LEN)
		return mqtt__fail(err, MQTT_ERR_PROTOCOL, 0x8F, "MQTT-4.8.2-1", (uint32_t)i,
				  "share name is empty; $share/ must be followed by a name");
	if (i == len || i + 1 == len)
		return mqtt__fail(err, MQTT_ERR_PROTOCOL, 0x8F, "MQTT-4.8.2-2", (uint32_t)(i == len ? i : i + 1),
				  "shared subscription has no topic filter after the share name");
	name->data = s + SHARE_PREFIX_LEN;
	name->len = (uint32_t)(i - SHARE_PREFIX_LEN);
	filter->data = s + i + 1;
	filter->len = (uint32_t)(len - i - 1);
	return 1;
}

int mqtt_topic_filter_check(const uint8_t *s, size_t len, uint8_t version, mqtt_err *err)
{
	int rc = check_common(s, len, version, "topic filter", err);
	if (rc)
		return rc;
	if (version == MQTT_V5) {
		mqtt_str name, inner;
		rc = mqtt_share_parse(s, len, &name, &inner, err);
		if (rc < 0)
			return rc;
		if (rc == 1)
			return check_wildcards(inner.data, inner.len, (uint32_t)(inner.data - s), version, err);
	}
	return check_wildcards(s, len, 0, version, err);
}

bool mqtt_topic_match(const uint8_t *f, size_t flen, const uint8_t *t, size_t tlen)
{
	size_t i = 0, j = 0;

	/* A leading wildcard never reaches into $-topics such as $SYS/. */
	if (tlen && t[0] == '$' && flen && (f[0] == '#' || f[0] == '+'))
		return false;
	for (;;) {
		/* Here i and j each stand at the start of a level. */
		if (i < flen && f[i] == '#')
			return true;
		if (i < flen && f[i] == '+') {
			i++;
			while (j < tlen && t[j] != '/')
				j++;
		} else {
			while (i < flen && j < tlen && f[i] != '/' && t[j] != '/') {
				if (f[i] != t[j])
					return false;
				i++, j++;
			}
			bool fend = i == flen || f[i] == '/';
			bool tend = j == tlen || t[j] == '/';
			if (!fend || !tend)
				return false;
		}
		if (i == flen && j == tlen)
			return true;
		if (j == tlen) /* "a/#" also matches its parent "a" */
			return i + 2 == flen && f[i] == '/' && f[i + 1] == '#';
		if (i == flen)
			return false;
		i++, j++;
	}
}

/* Both filters are walked level by level; at each level f's set of values must lie inside
 * g's. */
bool mqtt_topic_filter_covers(const uint8_t *f, size_t flen, const uint8_t *g, size_t glen)
{
	if (!flen || !glen)
		return false;
	/* A wildcard first level of g never matches a '$' topic, but a literal first level
	 * of f starting with '$' only matches such topics. */
	if (f[0] == '$' && (g[0] == '+' || g[0] == '#'))
		return false;
	size_t i = 0, j = 0;
	bool fend = false, gend = false;
	for (int level = 0;; level++) {
		if (fend) {
			if (gend)
				return true;
			/* f's topics stop here (never at level 0: f has a level); g still wants
			 * levels unless all it has left is "#", which also matches its parent
			 * ("a/#" matches "a"). */
			return glen - j == 1 && g[j] == '#';
		}
		if (gend)
			return false; /* f's topics have more levels than g allows */
		size_t fe = i, ge = j;
		while (fe < flen && f[fe] != '/')
			fe++;
		while (ge < glen && g[ge] != '/')
			ge++;
		bool fhash = fe - i == 1 && f[i] == '#', fplus = fe - i == 1 && f[i] == '+';
		bool ghash = ge - j == 1 && g[j] == '#', gplus = ge - j == 1 && g[j] == '+';
		if (ghash)
			return true; /* this level and all below, whatever f has */
		if (fhash) {
			/* f matches any number of further levels, and at level > 0 its parent
			 * too. Only "#" (above) takes all of that; at the first level, where
			 * there is no parent, "+/#" does as well: one level or more. */
			return level == 0 && glen - j == 3 && !memcmp(g + j, "+/#", 3);
		}
		if (fplus) {
			if (!gplus)
				return false; /* f takes any value here, g only one */
		} else if (!gplus && (fe - i != ge - j || memcmp(f + i, g + j, fe - i))) {
			return false;
		}
		if (fe == flen)
			fend = true;
		else
			i = fe + 1;
		if (ge == glen)
			gend = true;
		else
			j = ge + 1;
	}
}

/* Offset of a list item inside the packet: list payloads run to the end of the packet. */
static uint32_t item_offset(const mqtt_packet *p, mqtt_str raw, const uint8_t *at)
{
	return p->length - raw.len + (uint32_t)(at - raw.data);
}

int mqtt_validate(const mqtt_packet *p, mqtt_err *err)
{
	mqtt_iter it = { 0, 0 };
	int rc;
	if (p->type == MQTT_SUBSCRIBE) {
		mqtt_sub s;
		while (mqtt_sub_next(&p->subscribe, p->version, &it, &s)) {
			rc = mqtt_topic_filter_check(s.filter.data, s.filter.len, p->version, err);
			if (!rc && p->version == MQTT_V5 && s.no_local &&
			    s.filter.len >= SHARE_PREFIX_LEN &&
			    memcmp(s.filter.data, SHARE_PREFIX, SHARE_PREFIX_LEN) == 0)
				rc = mqtt__fail(err, MQTT_ERR_PROTOCOL, 0x82, "MQTT-3.8.3-4", 0,
						"No Local is set on the shared subscription \"%.*s\"",
						(int)(s.filter.len > 40 ? 40 : s.filter.len),
						(const char *)s.filter.data);
			if (rc) {
				if (err && !p->subscribe.items)
					err->offset += item_offset(p, p->subscribe.raw, s.filter.data);
				return rc;
			}
		}
	} else if (p->type == MQTT_UNSUBSCRIBE) {
		mqtt_str f;
		while (mqtt_str_next(&p->unsubscribe, &it, &f)) {
			rc = mqtt_topic_filter_check(f.data, f.len, p->version, err);
			if (rc) {
				if (err && !p->unsubscribe.items)
					err->offset += item_offset(p, p->unsubscribe.raw, f.data);
				return rc;
			}
		}
	}
	return 0;
}
