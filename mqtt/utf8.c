/*
 * utf8.c - the UTF-8 rules of MQTT strings.
 *
 * Well-formed means RFC 3629: shortest form only, no surrogates (U+D800..U+DFFF), nothing
 * above U+10FFFF. MQTT adds: no U+0000. A BOM (EF BB BF) is an ordinary character
 * (it must not be stripped), so it passes through untouched.
 */
#include "wire.h"

/* nul: the statement a U+0000 breaks, or NULL where U+0000 is an ordinary character. */
static int scan(const uint8_t *s, size_t len, const char *ill, const char *nul, mqtt_err *err)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		if (c < 0x80) {
			if (c == 0 && nul)
				return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, nul, (uint32_t)i,
						  "string contains U+0000 at byte %zu", i);
			i++;
			continue;
		}
		/* Lead byte, then the range its second byte must fall in (Unicode Table 3-7):
		 * the narrowed ranges are what exclude overlong forms, surrogates and values
		 * past U+10FFFF, so every error points at the first byte that is wrong. */
		size_t n;
		uint8_t lo = 0x80, hi = 0xBF;
		if (c >= 0xC2 && c <= 0xDF)
			n = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 4;
		else
			return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, ill, (uint32_t)i,
					  c == 0xC0 || c == 0xC1
						  ? "ill-formed UTF-8: byte 0x%02X starts an overlong encoding"
						  : "ill-formed UTF-8: byte 0x%02X cannot start a character",
					  c);
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
		else if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
		for (size_t k = 1; k < n; k++) {
			if (i + k == len)
				return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, ill, (uint32_t)i,
						  "ill-formed UTF-8: the character starting here is cut short by the end of the string");
			uint8_t cc = s[i + k];
			uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
			if (cc < l || cc > h) {
				const char *why = "is not a valid continuation byte here";
				if (k == 1 && (cc & 0xC0) == 0x80)
					why = c == 0xED ? "makes it a surrogate (U+D800..U+DFFF)"
					      : c == 0xF4 ? "takes it past U+10FFFF"
							  : "makes it an overlong encoding";
				return mqtt__fail(err, MQTT_ERR_MALFORMED, 0x81, ill, (uint32_t)(i + k),
						  "ill-formed UTF-8: byte 0x%02X after lead 0x%02X %s", cc, c,
						  why);
			}
		}
		i += n;
	}
	return 0;
}

int mqtt_utf8_check(const uint8_t *s, size_t len, uint8_t version, mqtt_err *err)
{
	return scan(s, len, SID(version, "MQTT-1.5.3-1", "MQTT-1.5.4-1"),
		    SID(version, "MQTT-1.5.3-2", "MQTT-1.5.4-2"), err);
}

/* A payload under Payload Format Indicator 1 is UTF-8 character data, held to RFC 3629
 * alone [MQTT-3.3.2-4]; the further rules of §1.5.4 (no U+0000) are for UTF-8 Encoded
 * Strings, which a payload is not. */
int mqtt_utf8_well_formed(const uint8_t *s, size_t len, mqtt_err *err)
{
	return scan(s, len, "MQTT-3.3.2-4", NULL, err);
}
