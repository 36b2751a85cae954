/*
 * utf8.c - the UTF-8 rules of MQTT strings.
 *
 * Well-formed means RFC 3629: shortest form only, no surrogates (U+D800..U+DFFF), nothing
 * above U+10FFFF. MQTT adds: no U+0000. A BOM (EF BB BF) is an ordinary character
 * (it must not be stripped), so it passes through untouched.
 */
#include "wire.h"

int mqtt_utf8_check(const uint8_t *s, size_t len, uint8_t version, mqtt_err *err)
{
	const char *ill = SID(version, "MQTT-1.5.3-1", "MQTT-1.5.4-1");
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		if (c < 0x80) {
			if (c == 0)
				return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81,
						  SID(version, "MQTT-1.5.3-2", "MQTT-1.5.4-2"),
						  (uint32_t)i, "string contains U+0000 at byte %zu", i);
			i++;
			continue;
		}
		size_t n;
		uint32_t cp, min;
		if (c >= 0xC2 && c <= 0xDF) {
			n = 2, cp = c & 0x1F, min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 3, cp = c & 0x0F, min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, ill, (uint32_t)i,
					  "ill-formed UTF-8: byte 0x%02X cannot start a character", c);
		}
		if (len - i < n)
			return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, ill, (uint32_t)i,
					  "ill-formed UTF-8: character cut short by the end of the string");
		for (size_t k = 1; k < n; k++) {
			uint8_t cc = s[i + k];
			if ((cc & 0xC0) != 0x80)
				return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, ill, (uint32_t)(i + k),
						  "ill-formed UTF-8: byte 0x%02X is not a continuation byte",
						  cc);
			cp = (cp << 6) | (cc & 0x3F);
		}
		if (cp < min)
			return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, ill, (uint32_t)i,
					  "ill-formed UTF-8: overlong encoding of U+%04X", (unsigned)cp);
		if (cp >= 0xD800 && cp <= 0xDFFF)
			return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, ill, (uint32_t)i,
					  "UTF-8 encodes the surrogate U+%04X, which is not allowed",
					  (unsigned)cp);
		if (cp > 0x10FFFF)
			return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, ill, (uint32_t)i,
					  "UTF-8 encodes U+%X, beyond U+10FFFF", (unsigned)cp);
		i += n;
	}
	return 0;
}
