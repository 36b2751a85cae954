/*
 * test_malformed.c - every rejection names its statement.
 *
 * Each row of bad_rows is one complete packet that a receiver must refuse, with what the
 * specification says about it: the return code, the normative statement id (or the
 * section, where the specification states the rule without an id), the byte offset
 * of the offending field from the first byte of the packet, and for 5.0 the reason
 * code a receiver would close with. The ids come from the specifications and are keyed
 * by version: the same id means different things in 3.1.1 and 5.0.
 *
 * Offsets follow one convention: the first byte of the offending field; inside a string,
 * the first byte that makes it ill-formed (Unicode Table 3-7: for E0 80, ED A0 or F4 90
 * that is the second byte, the lead being fine on its own); the length prefix when a
 * string is empty; and where the missing bytes should begin when a field runs past the
 * end of the packet or of its property block.
 *
 * Every row is also decoded one prefix at a time, from a heap buffer of exactly that
 * many bytes, so that AddressSanitizer sees any read past the data: a prefix may only
 * ask for more (0) or fail with the very same error.
 *
 * good_rows are edge cases the specifications allow and that must decode; validate_rows
 * decode cleanly but fail mqtt_validate() (topic filter syntax and shared subscriptions,
 * which 5.0 answers per filter in SUBACK rather than by closing).
 */
#include "tests.h"

#include "mqtt/mqtt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V3 MQTT_V311
#define V5 MQTT_V5
#define MAL (-MQTT_ERR_MALFORMED)
#define PRO (-MQTT_ERR_PROTOCOL)
#define VER (-MQTT_ERR_VERSION)

typedef struct bad_row {
	uint8_t version;    /* the connection's protocol level (CONNECT decodes by its own) */
	const char *hex;    /* one complete packet */
	int rc;             /* expected return: -MQTT_ERR_... */
	const char *stmt;   /* expected err.stmt */
	uint32_t offset;    /* expected err.offset */
	uint8_t reason;     /* expected err.reason; 0 = not checked (3.1.1 rows) */
} bad_row;

/* ---- rows --------------------------------------------------------------------------------- */

static const bad_row bad_rows[] = {
	/* Fixed header: type 0 is reserved in both versions; 15 is AUTH only in 5.0. */
	{ V3, "00 00", MAL, "§2.2.1", 0, 0 },
	{ V5, "00 00", MAL, "§2.1.2", 0, 0x81 },
	{ V3, "F0 00", MAL, "§2.2.1", 0, 0 },

	/* Reserved fixed-header flags, every type. 3.1.1 cites MQTT-2.2.2-2 (close on
	 * invalid flags) and 5.0 MQTT-2.1.3-1, except where a packet has its own id:
	 * PUBREL 3.6.1-1, SUBSCRIBE 3.8.1-1, UNSUBSCRIBE 3.10.1-1, DISCONNECT 3.14.1-1,
	 * AUTH 3.15.1-1. */
	{ V3, "11 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 61", MAL, "MQTT-2.2.2-2", 0, 0 },
	{ V3, "21 02 00 00", MAL, "MQTT-2.2.2-2", 0, 0 },
	{ V3, "42 02 00 01", MAL, "MQTT-2.2.2-2", 0, 0 },
	{ V3, "58 02 00 01", MAL, "MQTT-2.2.2-2", 0, 0 },
	{ V3, "60 02 00 01", MAL, "MQTT-3.6.1-1", 0, 0 },
	{ V3, "63 02 00 01", MAL, "MQTT-3.6.1-1", 0, 0 },
	{ V3, "71 02 00 01", MAL, "MQTT-2.2.2-2", 0, 0 },
	{ V3, "80 06 00 01 00 01 61 00", MAL, "MQTT-3.8.1-1", 0, 0 },
	{ V3, "92 03 00 01 00", MAL, "MQTT-2.2.2-2", 0, 0 },
	{ V3, "A0 05 00 01 00 01 61", MAL, "MQTT-3.10.1-1", 0, 0 },
	{ V3, "B1 02 00 01", MAL, "MQTT-2.2.2-2", 0, 0 },
	{ V3, "C1 00", MAL, "MQTT-2.2.2-2", 0, 0 },
	{ V3, "D8 00", MAL, "MQTT-2.2.2-2", 0, 0 },
	{ V3, "E2 00", MAL, "MQTT-3.14.1-1", 0, 0 },
	{ V5, "14 0E 00 04 4D 51 54 54 05 02 00 3C 00 00 01 61", MAL, "MQTT-2.1.3-1", 0, 0x81 },
	{ V5, "28 03 00 00 00", MAL, "MQTT-2.1.3-1", 0, 0x81 },
	{ V5, "41 02 00 01", MAL, "MQTT-2.1.3-1", 0, 0x81 },
	{ V5, "5F 02 00 01", MAL, "MQTT-2.1.3-1", 0, 0x81 },
	{ V5, "64 02 00 01", MAL, "MQTT-3.6.1-1", 0, 0x81 },
	{ V5, "72 02 00 01", MAL, "MQTT-2.1.3-1", 0, 0x81 },
	{ V5, "8A 07 00 01 00 00 01 61 00", MAL, "MQTT-3.8.1-1", 0, 0x81 },
	{ V5, "94 04 00 01 00 00", MAL, "MQTT-2.1.3-1", 0, 0x81 },
	{ V5, "A3 06 00 01 00 00 01 61", MAL, "MQTT-3.10.1-1", 0, 0x81 },
	{ V5, "B2 04 00 01 00 00", MAL, "MQTT-2.1.3-1", 0, 0x81 },
	{ V5, "C4 00", MAL, "MQTT-2.1.3-1", 0, 0x81 },
	{ V5, "D1 00", MAL, "MQTT-2.1.3-1", 0, 0x81 },
	{ V5, "E1 00", MAL, "MQTT-3.14.1-1", 0, 0x81 },
	{ V5, "F1 00", MAL, "MQTT-3.15.1-1", 0, 0x81 },

	/* Remaining length: a fifth byte is never valid (3.1.1 §2.2.3, 5.0 §1.5.5). */
	{ V3, "30 80 80 80 80 01", MAL, "§2.2.3", 1, 0 },
	{ V5, "C0 FF FF FF FF 7F", MAL, "§1.5.5", 1, 0x81 },

	/* 5.0 requires the shortest variable byte integer (MQTT-1.5.5-1) everywhere one
	 * appears; 3.1.1 does not (see good_rows). */
	{ V5, "C0 80 00", MAL, "MQTT-1.5.5-1", 1, 0x81 },
	{ V5, "30 84 00 00 01 61 00", MAL, "MQTT-1.5.5-1", 1, 0x81 },
	{ V5, "10 8E 00 00 04 4D 51 54 54 05 02 00 3C 00 00 01 61", MAL, "MQTT-1.5.5-1", 1, 0x81 },
	{ V5, "40 05 00 01 00 80 00", MAL, "MQTT-1.5.5-1", 5, 0x81 },         /* property length */
	{ V5, "30 08 00 01 61 04 A3 00 00 01", MAL, "MQTT-1.5.5-1", 6, 0x81 }, /* property id */
	{ V5, "82 0A 00 01 03 0B 81 00 00 01 61 00", MAL, "MQTT-1.5.5-1", 6, 0x81 }, /* sub id */
	{ V5, "40 08 00 01 00 80 80 80 80 01", MAL, "§1.5.5", 5, 0x81 },      /* 5-byte VBI */

	/* Bytes after the last field: the remaining length disagrees with the contents.
	 * No id; the remaining-length sections (3.1.1 §2.2.3, 5.0 §2.1.4), or the packet's
	 * own fixed-header section where the codec names it (UNSUBACK, DISCONNECT). */
	{ V3, "C0 01 00", MAL, "§2.2.3", 2, 0 },
	{ V5, "D0 01 00", MAL, "§2.1.4", 2, 0x81 },
	{ V3, "20 03 00 00 00", MAL, "§2.2.3", 4, 0 },
	{ V3, "40 03 00 01 00", MAL, "§2.2.3", 4, 0 },
	{ V3, "50 04 00 01 00 00", MAL, "§2.2.3", 4, 0 },
	{ V3, "62 03 00 01 00", MAL, "§2.2.3", 4, 0 },
	{ V3, "70 03 00 01 00", MAL, "§2.2.3", 4, 0 },
	{ V3, "B0 03 00 01 00", MAL, "§3.11.1", 4, 0 },
	{ V3, "E0 01 00", MAL, "§3.14.1", 2, 0 },
	{ V3, "E0 02 00 00", MAL, "§3.14.1", 2, 0 },
	{ V3, "10 0E 00 04 4D 51 54 54 04 02 00 3C 00 01 61 00", MAL, "§2.2.3", 15, 0 },
	{ V5, "E0 03 00 00 00", MAL, "§2.1.4", 4, 0x81 },
	{ V5, "40 05 00 01 00 00 00", MAL, "§2.1.4", 6, 0x81 },

	/* The remaining length ends inside a field. */
	{ V3, "30 03 00 05 61", MAL, "§2.2.3", 4, 0 },
	{ V5, "10 0E 00 04 4D 51 54 54 05 02 00 3C 00 00 05 61", MAL, "§2.1.4", 15, 0x81 },
	{ V3, "40 01 00", MAL, "§2.2.3", 2, 0 },
	{ V3, "20 01 00", MAL, "§2.2.3", 3, 0 },
	{ V5, "82 0A 00 01 00 00 01 61 00 00 01 62", MAL, "§2.1.4", 12, 0x81 },
	{ V5, "30 07 00 01 61 03 02 00 00", MAL, "§2.1.4", 7, 0x81 },

	/* A field the specification requires is absent altogether: it has an id of its
	 * own. 5.0 always writes a Property Length (MQTT-2.2.2-1) outside the short forms
	 * of the acks, DISCONNECT and AUTH. The CONNECT flags promise fields
	 * (will MQTT-3.1.2-9; user name 3.1.1 MQTT-3.1.2-19; password 5.0 MQTT-3.1.2-19),
	 * and the client identifier is always there (MQTT-3.1.3-3). */
	{ V5, "20 02 00 00", MAL, "MQTT-2.2.2-1", 4, 0x81 },
	{ V5, "90 02 00 01", MAL, "MQTT-2.2.2-1", 4, 0x81 },
	{ V3, "10 0D 00 04 4D 51 54 54 04 06 00 3C 00 01 61", MAL, "MQTT-3.1.2-9", 15, 0 },
	{ V5, "10 0E 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61", MAL, "MQTT-3.1.2-9", 16, 0x81 },
	{ V3, "10 0D 00 04 4D 51 54 54 04 82 00 3C 00 01 61", MAL, "MQTT-3.1.2-19", 15, 0 },
	{ V5, "10 0E 00 04 4D 51 54 54 05 42 00 3C 00 00 01 61", MAL, "MQTT-3.1.2-19", 16, 0x81 },
	{ V3, "10 0A 00 04 4D 51 54 54 04 02 00 3C", MAL, "MQTT-3.1.3-3", 12, 0 },

	/* Ill-formed UTF-8 (3.1.1 MQTT-1.5.3-1, 5.0 MQTT-1.5.4-1): overlong forms, lead
	 * bytes that start nothing, surrogates, a byte that is not a continuation, a
	 * sequence cut short, a code point beyond U+10FFFF. In PUBLISH topics first. */
	{ V3, "30 04 00 02 C0 AF", MAL, "MQTT-1.5.3-1", 4, 0 },
	{ V5, "30 06 00 03 E0 80 AF 00", MAL, "MQTT-1.5.4-1", 5, 0x81 },
	{ V3, "30 06 00 04 F0 80 80 AF", MAL, "MQTT-1.5.3-1", 5, 0 },
	{ V3, "30 05 00 03 ED A0 80", MAL, "MQTT-1.5.3-1", 5, 0 },
	{ V5, "30 06 00 03 ED BF BF 00", MAL, "MQTT-1.5.4-1", 5, 0x81 },
	{ V3, "30 05 00 03 61 C3 28", MAL, "MQTT-1.5.3-1", 6, 0 },
	{ V5, "30 05 00 02 80 61 00", MAL, "MQTT-1.5.4-1", 4, 0x81 },
	{ V3, "30 05 00 03 61 E2 82", MAL, "MQTT-1.5.3-1", 5, 0 },
	{ V5, "30 07 00 04 F4 90 80 80 00", MAL, "MQTT-1.5.4-1", 5, 0x81 },
	{ V3, "30 06 00 04 F5 80 80 80", MAL, "MQTT-1.5.3-1", 4, 0 },
	{ V5, "30 04 00 01 FF 00", MAL, "MQTT-1.5.4-1", 4, 0x81 },
	/* ... and in the other string fields. */
	{ V3, "10 13 00 04 4D 51 54 54 04 06 00 3C 00 01 61 00 02 C1 81 00 00", MAL, "MQTT-1.5.3-1", 17, 0 },
	{ V5, "10 12 00 04 4D 51 54 54 05 82 00 3C 00 00 01 61 00 02 61 E2", MAL, "MQTT-1.5.4-1", 19, 0x81 },
	{ V5, "30 09 00 01 61 05 08 00 02 C3 28", MAL, "MQTT-1.5.4-1", 10, 0x81 },
	{ V5, "20 09 00 00 06 1C 00 03 ED A0 80", MAL, "MQTT-1.5.4-1", 9, 0x81 },

	/* U+0000 in every string field (3.1.1 MQTT-1.5.3-2, 5.0 MQTT-1.5.4-2): protocol
	 * name, client id, will topic, user name, topic name, SUBSCRIBE and UNSUBSCRIBE
	 * filters, property strings, both halves of a user property. */
	{ V3, "10 0D 00 04 4D 00 54 54 04 02 00 3C 00 01 61", MAL, "MQTT-1.5.3-2", 5, 0 },
	{ V3, "10 0F 00 04 4D 51 54 54 04 02 00 3C 00 03 61 00 62", MAL, "MQTT-1.5.3-2", 15, 0 },
	{ V5, "10 10 00 04 4D 51 54 54 05 02 00 3C 00 00 03 61 00 62", MAL, "MQTT-1.5.4-2", 16, 0x81 },
	{ V3, "10 14 00 04 4D 51 54 54 04 06 00 3C 00 01 61 00 03 61 00 62 00 00", MAL, "MQTT-1.5.3-2", 18, 0 },
	{ V5, "10 16 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61 00 00 03 61 00 62 00 00", MAL, "MQTT-1.5.4-2", 20, 0x81 },
	{ V3, "10 12 00 04 4D 51 54 54 04 82 00 3C 00 01 61 00 03 75 00 76", MAL, "MQTT-1.5.3-2", 18, 0 },
	{ V5, "10 13 00 04 4D 51 54 54 05 82 00 3C 00 00 01 61 00 03 75 00 76", MAL, "MQTT-1.5.4-2", 19, 0x81 },
	{ V3, "30 05 00 03 61 00 62", MAL, "MQTT-1.5.3-2", 5, 0 },
	{ V5, "30 06 00 03 61 00 62 00", MAL, "MQTT-1.5.4-2", 5, 0x81 },
	{ V3, "82 08 00 01 00 03 61 00 62 00", MAL, "MQTT-1.5.3-2", 7, 0 },
	{ V5, "82 09 00 01 00 00 03 61 00 62 00", MAL, "MQTT-1.5.4-2", 8, 0x81 },
	{ V3, "A2 07 00 01 00 03 61 00 62", MAL, "MQTT-1.5.3-2", 7, 0 },
	{ V5, "A2 08 00 01 00 00 03 61 00 62", MAL, "MQTT-1.5.4-2", 8, 0x81 },
	{ V5, "30 0A 00 01 61 06 03 00 03 61 00 62", MAL, "MQTT-1.5.4-2", 10, 0x81 },     /* content type */
	{ V5, "40 0A 00 01 00 06 1F 00 03 61 00 62", MAL, "MQTT-1.5.4-2", 10, 0x81 },     /* reason string */
	{ V5, "E0 0A 00 08 26 00 02 00 6B 00 01 76", MAL, "MQTT-1.5.4-2", 7, 0x81 },      /* user prop key */
	{ V5, "10 16 00 04 4D 51 54 54 05 02 00 3C 08 26 00 01 6B 00 02 76 00 00 01 61", MAL,
	  "MQTT-1.5.4-2", 20, 0x81 },                                                    /* user prop value */
	{ V5, "10 19 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61 05 03 00 02 00 61 00 01 74 00 00", MAL,
	  "MQTT-1.5.4-2", 20, 0x81 },                                                    /* will content type */
	{ V5, "F0 08 18 06 15 00 03 61 00 62", MAL, "MQTT-1.5.4-2", 8, 0x81 },            /* auth method */

	/* CONNECT: protocol name "MQTT" (MQTT-3.1.2-1; 5.0 may answer 0x84), protocol
	 * level 4 or 5 (MQTT-3.1.2-2; 3.1 is level 3 with name "MQIsdp"). */
	{ V3, "10 0D 00 04 4D 51 54 58 04 02 00 3C 00 01 61", PRO, "MQTT-3.1.2-1", 2, 0 },
	{ V3, "10 0F 00 06 4D 51 49 73 64 70 04 02 00 3C 00 01 61", PRO, "MQTT-3.1.2-1", 2, 0 },
	{ V5, "10 0E 00 04 6D 71 74 74 05 02 00 3C 00 00 01 61", PRO, "MQTT-3.1.2-1", 2, 0x84 },
	{ V3, "10 0F 00 06 4D 51 49 73 64 70 03 02 00 3C 00 01 61", VER, "MQTT-3.1.2-2", 10, 0 },
	{ V5, "10 0E 00 04 4D 51 54 54 06 02 00 3C 00 00 01 61", VER, "MQTT-3.1.2-2", 8, 0x84 },
	{ V3, "10 0D 00 04 4D 51 54 54 00 02 00 3C 00 01 61", VER, "MQTT-3.1.2-2", 8, 0 },
	/* Connect flags: reserved bit 0 (MQTT-3.1.2-3 in both), will QoS and will retain
	 * without a will, will QoS 3, and in 3.1.1 only a password without a user name. */
	{ V3, "10 0D 00 04 4D 51 54 54 04 03 00 3C 00 01 61", MAL, "MQTT-3.1.2-3", 9, 0 },
	{ V5, "10 0E 00 04 4D 51 54 54 05 01 00 3C 00 00 01 61", MAL, "MQTT-3.1.2-3", 9, 0x81 },
	{ V3, "10 0D 00 04 4D 51 54 54 04 0A 00 3C 00 01 61", MAL, "MQTT-3.1.2-13", 9, 0 },
	{ V5, "10 0E 00 04 4D 51 54 54 05 12 00 3C 00 00 01 61", MAL, "MQTT-3.1.2-11", 9, 0x81 },
	{ V3, "10 12 00 04 4D 51 54 54 04 1E 00 3C 00 01 61 00 01 74 00 00", MAL, "MQTT-3.1.2-14", 9, 0 },
	{ V5, "10 14 00 04 4D 51 54 54 05 1E 00 3C 00 00 01 61 00 00 01 74 00 00", MAL, "MQTT-3.1.2-12", 9, 0x81 },
	{ V3, "10 0D 00 04 4D 51 54 54 04 22 00 3C 00 01 61", MAL, "MQTT-3.1.2-15", 9, 0 },
	{ V5, "10 0E 00 04 4D 51 54 54 05 22 00 3C 00 00 01 61", MAL, "MQTT-3.1.2-13", 9, 0x81 },
	{ V3, "10 11 00 04 4D 51 54 54 04 42 00 3C 00 01 61 00 02 70 77", MAL, "MQTT-3.1.2-22", 9, 0 },
	/* Will topic: at least one character (MQTT-4.7.3-1), no wildcards (3.1.1
	 * MQTT-4.7.1-1, 5.0 MQTT-4.7.0-1; 5.0 answers Topic Name invalid). */
	{ V3, "10 11 00 04 4D 51 54 54 04 06 00 3C 00 01 61 00 00 00 00", PRO, "MQTT-4.7.3-1", 15, 0 },
	{ V5, "10 13 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61 00 00 00 00 00", PRO, "MQTT-4.7.3-1", 17, 0x90 },
	{ V3, "10 14 00 04 4D 51 54 54 04 06 00 3C 00 01 61 00 03 61 2F 23 00 00", PRO, "MQTT-4.7.1-1", 19, 0 },
	{ V5, "10 14 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61 00 00 01 2B 00 00", PRO, "MQTT-4.7.0-1", 19, 0x90 },
	/* CONNECT and will properties (5.0). Unknown or misplaced ids are malformed
	 * (§2.2.2.2); out-of-range values and repeats are protocol errors stated in each
	 * property's own section. */
	{ V5, "10 19 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61 05 11 00 00 00 0A 00 01 74 00 00", MAL,
	  "§2.2.2.2", 17, 0x81 },                                   /* Session Expiry in a will */
	{ V5, "10 13 00 04 4D 51 54 54 05 02 00 3C 05 18 00 00 00 0A 00 01 61", MAL, "§2.2.2.2", 13, 0x81 },
	{ V5, "10 11 00 04 4D 51 54 54 05 02 00 3C 03 13 00 0A 00 01 61", MAL, "§2.2.2.2", 13, 0x81 },
	{ V5, "10 12 00 04 4D 51 54 54 05 02 00 3C 04 16 00 01 AA 00 01 61", PRO, "§3.1.2.11.10", 13, 0x82 },
	{ V5, "10 10 00 04 4D 51 54 54 05 02 00 3C 02 17 02 00 01 61", PRO, "§3.1.2.11.7", 13, 0x82 },
	{ V5, "10 10 00 04 4D 51 54 54 05 02 00 3C 02 19 02 00 01 61", PRO, "§3.1.2.11.6", 13, 0x82 },
	{ V5, "10 11 00 04 4D 51 54 54 05 02 00 3C 03 21 00 00 00 01 61", PRO, "§3.1.2.11.3", 13, 0x82 },
	{ V5, "10 13 00 04 4D 51 54 54 05 02 00 3C 05 27 00 00 00 00 00 01 61", PRO, "§3.1.2.11.4", 13, 0x82 },
	{ V5, "10 18 00 04 4D 51 54 54 05 02 00 3C 0A 11 00 00 00 01 11 00 00 00 02 00 01 61", PRO,
	  "§3.1.2.11.2", 18, 0x82 },                                /* Session Expiry twice */
	{ V5, "10 16 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61 02 01 02 00 01 74 00 00", PRO,
	  "§3.1.3.2.3", 17, 0x82 },                                 /* will Payload Format 2 */
	{ V5, "10 18 00 04 4D 51 54 54 05 06 00 3C 00 00 01 61 04 01 00 01 01 00 01 74 00 00", PRO,
	  "§3.1.3.2.3", 19, 0x82 },                                 /* will Payload Format twice */

	/* CONNACK: ack flags bits 7-1 (3.1.1 §3.2.2.1 has no id; 5.0 MQTT-3.2.2-1), return
	 * codes 0-5 (3.1.1 Table 3.1) or the CONNACK reason codes (MQTT-3.2.2-8), and no
	 * Session Present with a refusal (MQTT-3.2.2-4 / MQTT-3.2.2-6). */
	{ V3, "20 02 02 00", MAL, "§3.2.2.1", 2, 0 },
	{ V5, "20 03 80 00 00", MAL, "MQTT-3.2.2-1", 2, 0x81 },
	{ V3, "20 02 00 06", MAL, "§3.2.2.3", 3, 0 },
	{ V5, "20 03 00 01 00", MAL, "MQTT-3.2.2-8", 3, 0x81 },
	{ V5, "20 03 00 8B 00", MAL, "MQTT-3.2.2-8", 3, 0x81 },
	{ V3, "20 02 01 05", PRO, "MQTT-3.2.2-4", 3, 0 },
	{ V5, "20 03 01 87 00", PRO, "MQTT-3.2.2-6", 3, 0x82 },
	{ V5, "20 05 00 00 02 24 02", PRO, "§3.2.2.3.4", 5, 0x82 },  /* Maximum QoS 2 */
	{ V5, "20 06 00 00 03 21 00 00", PRO, "§3.2.2.3.3", 5, 0x82 }, /* Receive Maximum 0 */
	{ V5, "20 05 00 00 02 25 02", PRO, "§3.2.2.3.5", 5, 0x82 },  /* Retain Available 2 */
	{ V5, "20 05 00 00 02 28 02", PRO, "§3.2.2.3.11", 5, 0x82 }, /* Wildcard Sub Available 2 */
	{ V5, "20 06 00 00 03 23 00 01", MAL, "§2.2.2.2", 5, 0x81 }, /* Topic Alias */

	/* PUBLISH: QoS 3 (MQTT-3.3.1-4, malformed), DUP at QoS 0 (MQTT-3.3.1-2; the spec
	 * does not classify it, the codec calls it malformed), wildcards in the topic
	 * (MQTT-3.3.2-2), an empty topic (3.1.1 MQTT-4.7.3-1; 5.0 only without a Topic
	 * Alias, §3.3.2.1), packet id 0 at QoS > 0 (3.1.1 MQTT-2.3.1-1, 5.0 MQTT-2.2.1-3;
	 * again unclassified, the codec calls it malformed). */
	{ V3, "36 05 00 01 61 00 01", MAL, "MQTT-3.3.1-4", 0, 0 },
	{ V5, "37 06 00 01 61 00 01 00", MAL, "MQTT-3.3.1-4", 0, 0x81 },
	{ V3, "38 03 00 01 61", MAL, "MQTT-3.3.1-2", 0, 0 },
	{ V5, "39 04 00 01 61 00", MAL, "MQTT-3.3.1-2", 0, 0x81 },
	{ V3, "30 05 00 03 61 2F 2B", PRO, "MQTT-3.3.2-2", 6, 0 },
	{ V5, "30 04 00 01 23 00", PRO, "MQTT-3.3.2-2", 4, 0x90 },
	{ V3, "30 04 00 00 68 69", PRO, "MQTT-4.7.3-1", 2, 0 },
	{ V5, "30 03 00 00 00", PRO, "§3.3.2.1", 2, 0x82 },
	{ V5, "30 05 00 00 02 01 01", PRO, "§3.3.2.1", 2, 0x82 },
	{ V3, "32 05 00 01 61 00 00", MAL, "MQTT-2.3.1-1", 5, 0 },
	{ V5, "34 06 00 01 61 00 00 00", MAL, "MQTT-2.2.1-3", 5, 0x81 },
	/* PUBLISH properties (5.0). */
	{ V5, "30 07 00 01 61 03 23 00 00", PRO, "MQTT-3.3.2-8", 6, 0x94 },   /* Topic Alias 0 */
	{ V5, "30 06 00 00 03 23 00 00", PRO, "MQTT-3.3.2-8", 5, 0x94 },
	{ V5, "30 06 00 01 61 02 01 02", PRO, "§3.3.2.3.2", 6, 0x82 },        /* Payload Format 2 */
	{ V5, "30 06 00 01 61 02 0B 00", PRO, "§3.3.2.3.8", 6, 0x82 },        /* Subscription Id 0 */
	/* Response Topic is a topic name: no wildcards (MQTT-3.3.2-14), at least one
	 * character (MQTT-4.7.3-1); located like the PUBLISH and will topics. */
	{ V5, "30 09 00 01 61 05 08 00 02 61 23", PRO, "MQTT-3.3.2-14", 10, 0x82 },
	{ V5, "30 07 00 01 61 03 08 00 00", PRO, "MQTT-4.7.3-1", 7, 0x82 },
	{ V5, "30 0A 00 01 61 06 23 00 01 23 00 02", PRO, "§3.3.2.3.4", 9, 0x82 }, /* Topic Alias twice */
	{ V5, "30 09 00 01 61 05 1F 00 02 68 69", MAL, "§2.2.2.2", 6, 0x81 }, /* Reason String */
	{ V5, "30 09 00 01 61 05 11 00 00 00 01", MAL, "§2.2.2.2", 6, 0x81 }, /* Session Expiry */
	{ V5, "30 06 00 01 61 02 00 00", MAL, "§2.2.2.2", 6, 0x81 },          /* id 0x00 */
	{ V5, "30 07 00 01 61 03 80 01 00", MAL, "§2.2.2.2", 6, 0x81 },       /* id 128 */
	{ V5, "30 06 00 01 61 05 01 00", MAL, "§2.2.2.1", 6, 0x81 },          /* length too long */

	/* PUBACK, PUBREC, PUBREL, PUBCOMP (5.0): their own reason code lists
	 * (MQTT-3.4.2-1, 3.5.2-1, 3.6.2-1, 3.7.2-1) and property allow-list. */
	{ V5, "40 03 00 01 01", MAL, "MQTT-3.4.2-1", 4, 0x81 },
	{ V5, "50 03 00 01 92", MAL, "MQTT-3.5.2-1", 4, 0x81 },
	{ V5, "62 03 00 01 10", MAL, "MQTT-3.6.2-1", 4, 0x81 },
	{ V5, "70 03 00 01 80", MAL, "MQTT-3.7.2-1", 4, 0x81 },
	{ V5, "40 05 00 01 00 01 2B", MAL, "§2.2.2.2", 6, 0x81 },             /* id 0x2B */
	{ V5, "40 08 00 01 00 04 03 00 01 61", MAL, "§2.2.2.2", 6, 0x81 },    /* Content Type */
	{ V5, "62 09 00 01 00 05 1C 00 02 61 62", MAL, "§2.2.2.2", 6, 0x81 }, /* Server Reference */
	{ V5, "70 07 00 01 00 03 23 00 01", MAL, "§2.2.2.2", 6, 0x81 },       /* Topic Alias */

	/* SUBSCRIBE: at least one filter (3.1.1 MQTT-3.8.3-3 calls an empty payload a
	 * protocol violation; 5.0 MQTT-3.8.3-2, Protocol Error), the option byte (3.1.1
	 * MQTT-3-8.3-4 as printed; 5.0 bits 7-6 MQTT-3.8.3-5, QoS 3 and Retain Handling 3
	 * protocol errors in §3.8.3.1), filters of at least one character (MQTT-4.7.3-1;
	 * unclassified, the codec calls it malformed), packet id 0, properties. */
	{ V3, "82 02 00 01", PRO, "MQTT-3.8.3-3", 4, 0 },
	{ V5, "82 03 00 01 00", PRO, "MQTT-3.8.3-2", 5, 0x82 },
	{ V3, "82 06 00 01 00 01 61 04", MAL, "MQTT-3-8.3-4", 7, 0 },
	{ V3, "82 06 00 01 00 01 61 03", MAL, "MQTT-3-8.3-4", 7, 0 },
	{ V3, "82 06 00 01 00 01 61 80", MAL, "MQTT-3-8.3-4", 7, 0 },
	{ V5, "82 07 00 01 00 00 01 61 40", MAL, "MQTT-3.8.3-5", 8, 0x81 },
	{ V5, "82 07 00 01 00 00 01 61 03", PRO, "§3.8.3.1", 8, 0x82 },
	{ V5, "82 07 00 01 00 00 01 61 30", PRO, "§3.8.3.1", 8, 0x82 },
	{ V3, "82 05 00 01 00 00 00", PRO, "MQTT-4.7.3-1", 4, 0 },
	{ V5, "82 06 00 01 00 00 00 00", PRO, "MQTT-4.7.3-1", 5, 0x8F },
	{ V3, "82 06 00 00 00 01 61 00", MAL, "MQTT-2.3.1-1", 2, 0 },
	{ V5, "82 09 00 01 02 0B 00 00 01 61 00", PRO, "§3.8.2.1.2", 5, 0x82 },        /* Sub Id 0 */
	{ V5, "82 0B 00 01 04 0B 01 0B 02 00 01 61 00", PRO, "§3.8.2.1.2", 7, 0x82 },  /* Sub Id twice */
	{ V5, "82 0A 00 01 03 23 00 01 00 01 61 00", MAL, "§2.2.2.2", 5, 0x81 },       /* Topic Alias */

	/* UNSUBSCRIBE: at least one filter (MQTT-3.10.3-2: 3.1.1 "protocol violation",
	 * 5.0 Protocol Error), filters of at least one character, packet id 0. */
	{ V3, "A2 02 00 01", PRO, "MQTT-3.10.3-2", 4, 0 },
	{ V5, "A2 03 00 01 00", PRO, "MQTT-3.10.3-2", 5, 0x82 },
	{ V3, "A2 04 00 01 00 00", PRO, "MQTT-4.7.3-1", 4, 0 },
	{ V3, "A2 05 00 00 00 01 61", MAL, "MQTT-2.3.1-1", 2, 0 },
	{ V5, "A2 08 00 01 02 0B 01 00 01 61", MAL, "§2.2.2.2", 5, 0x81 },             /* Sub Id */

	/* SUBACK and UNSUBACK: 3.1.1 SUBACK codes 0, 1, 2, 0x80 (MQTT-3.9.3-2); 5.0 their
	 * reason code lists (MQTT-3.9.3-2, MQTT-3.11.3-2); one code per filter, so none
	 * at all cannot be right (no id: §3.9.3, §3.11.3). */
	{ V3, "90 03 00 01 03", MAL, "MQTT-3.9.3-2", 4, 0 },
	{ V3, "90 04 00 01 00 81", MAL, "MQTT-3.9.3-2", 5, 0 },
	{ V3, "90 02 00 01", MAL, "§3.9.3", 4, 0 },
	{ V5, "90 04 00 01 00 03", MAL, "MQTT-3.9.3-2", 5, 0x81 },
	{ V5, "90 04 00 01 00 11", MAL, "MQTT-3.9.3-2", 5, 0x81 },
	{ V5, "B0 04 00 01 00 01", MAL, "MQTT-3.11.3-2", 5, 0x81 },
	{ V5, "B0 04 00 01 00 9E", MAL, "MQTT-3.11.3-2", 5, 0x81 },
	{ V5, "B0 03 00 01 00", MAL, "§3.11.3", 5, 0x81 },
	{ V5, "90 06 00 01 02 0B 01 00", MAL, "§2.2.2.2", 5, 0x81 },                   /* Sub Id */

	/* DISCONNECT and AUTH (5.0): their reason code lists (MQTT-3.14.2-1,
	 * MQTT-3.15.2-1), property allow-lists, and AUTH with properties must carry an
	 * Authentication Method (§3.15.2.2.2). */
	{ V5, "E0 01 01", MAL, "MQTT-3.14.2-1", 2, 0x81 },
	{ V5, "E0 01 84", MAL, "MQTT-3.14.2-1", 2, 0x81 },
	{ V5, "E0 08 00 06 15 00 03 61 62 63", MAL, "§2.2.2.2", 4, 0x81 },             /* Auth Method */
	{ V5, "E0 02 00 05", MAL, "§2.2.2.1", 4, 0x81 },
	{ V5, "F0 01 01", MAL, "MQTT-3.15.2-1", 2, 0x81 },
	{ V5, "F0 01 80", MAL, "MQTT-3.15.2-1", 2, 0x81 },
	{ V5, "F0 07 00 05 1F 00 02 68 69", PRO, "§3.15.2.2.2", 3, 0x82 },
	{ V5, "F0 07 18 05 16 00 02 01 02", PRO, "§3.15.2.2.2", 3, 0x82 },
	{ V5, "F0 07 18 05 11 00 00 00 01", MAL, "§2.2.2.2", 4, 0x81 },                /* Session Expiry */
	/* AUTH has one short form, RL 0; unlike DISCONNECT (§3.14.2.2.1) nothing lets a
	 * reason code stand without its Property Length (MQTT-2.2.2-1). */
	{ V5, "F0 01 18", MAL, "MQTT-2.2.2-1", 3, 0x81 },
};

#define N_BAD ((int)(sizeof bad_rows / sizeof bad_rows[0]))

/* Decoded cleanly, refused by mqtt_validate(): wildcard placement (3.1.1 '#'
 * MQTT-4.7.1-2, '+' MQTT-4.7.1-3; 5.0 '#' MQTT-4.7.1-1, '+' MQTT-4.7.1-2) and, in 5.0
 * only, shared subscriptions (MQTT-4.8.2-1/-2, No Local MQTT-3.8.3-4). */
static const bad_row validate_rows[] = {
	{ V3, "82 0A 00 01 00 05 61 2F 23 2F 62 00", PRO, "MQTT-4.7.1-2", 8, 0 },          /* a/#/b */
	{ V5, "82 0B 00 01 00 00 05 61 2F 23 2F 62 00", PRO, "MQTT-4.7.1-1", 9, 0x8F },
	{ V3, "82 07 00 01 00 02 61 23 00", PRO, "MQTT-4.7.1-2", 7, 0 },                   /* a# */
	{ V5, "82 08 00 01 00 00 02 23 2F 00", PRO, "MQTT-4.7.1-1", 7, 0x8F },             /* #/ */
	{ V3, "82 07 00 01 00 02 61 2B 00", PRO, "MQTT-4.7.1-3", 7, 0 },                   /* a+ */
	{ V5, "82 0A 00 01 00 00 04 2B 61 2F 62 00", PRO, "MQTT-4.7.1-2", 7, 0x8F },       /* +a/b */
	{ V3, "82 0C 00 01 00 01 61 00 00 03 78 2B 79 01", PRO, "MQTT-4.7.1-3", 11, 0 },   /* a, x+y */
	{ V3, "A2 08 00 01 00 04 61 2F 23 62", PRO, "MQTT-4.7.1-2", 8, 0 },                /* a/#b */
	{ V5, "A2 0B 00 01 00 00 06 73 70 6F 72 74 2B", PRO, "MQTT-4.7.1-2", 12, 0x8F },   /* sport+ */
	/* $share//a, $share/g+/a, $share/g, $share/g/, $share/g/a/#/b */
	{ V5, "82 0F 00 01 00 00 09 24 73 68 61 72 65 2F 2F 61 00", PRO, "MQTT-4.8.2-1", 14, 0x8F },
	{ V5, "82 11 00 01 00 00 0B 24 73 68 61 72 65 2F 67 2B 2F 61 00", PRO, "MQTT-4.8.2-2", 15, 0x8F },
	{ V5, "82 0E 00 01 00 00 08 24 73 68 61 72 65 2F 67 00", PRO, "MQTT-4.8.2-2", 15, 0x8F },
	{ V5, "82 0F 00 01 00 00 09 24 73 68 61 72 65 2F 67 2F 00", PRO, "MQTT-4.8.2-2", 16, 0x8F },
	{ V5, "82 14 00 01 00 00 0E 24 73 68 61 72 65 2F 67 2F 61 2F 23 2F 62 00", PRO, "MQTT-4.7.1-1",
	  18, 0x8F },
	/* No Local on $share/g/a */
	{ V5, "82 10 00 01 00 00 0A 24 73 68 61 72 65 2F 67 2F 61 04", PRO, "MQTT-3.8.3-4", 7, 0x82 },
	/* UNSUBSCRIBE $share/+/a */
	{ V5, "A2 0F 00 01 00 00 0A 24 73 68 61 72 65 2F 2B 2F 61", PRO, "MQTT-4.8.2-2", 14, 0x8F },
	/* 3.1.1 has no shared subscriptions: $share/g+/a is a plain filter with a bad '+'. */
	{ V3, "82 10 00 01 00 0B 24 73 68 61 72 65 2F 67 2B 2F 61 00", PRO, "MQTT-4.7.1-3", 14, 0 },
};

#define N_VALIDATE ((int)(sizeof validate_rows / sizeof validate_rows[0]))

typedef struct good_row {
	uint8_t version;
	const char *hex;
	uint8_t type;       /* expected packet type */
	uint8_t decoded_as; /* expected out->version */
} good_row;

/* Valid but unusual: each must decode whole and pass mqtt_validate(). */
static const good_row good_rows[] = {
	/* 3.1.1 does not require the shortest remaining length; only the 4-byte limit. */
	{ V3, "C0 80 00", MQTT_PINGREQ, V3 },
	{ V3, "30 83 00 00 01 61", MQTT_PUBLISH, V3 },
	{ V3, "30 85 80 80 00 00 01 61 68 69", MQTT_PUBLISH, V3 },
	/* A CONNECT is decoded by the level it carries, even on a 5.0 connection. */
	{ V5, "10 8D 00 00 04 4D 51 54 54 04 02 00 3C 00 01 61", MQTT_CONNECT, V3 },
	/* 5.0 dropped MQTT-3.1.2-22: a password without a user name is fine. */
	{ V5, "10 12 00 04 4D 51 54 54 05 42 00 3C 00 00 01 61 00 02 70 77", MQTT_CONNECT, V5 },
	/* Empty client id: 3.1.1 with clean session; 5.0 with or without clean start. */
	{ V3, "10 0C 00 04 4D 51 54 54 04 02 00 3C 00 00", MQTT_CONNECT, V3 },
	{ V5, "10 0D 00 04 4D 51 54 54 05 00 00 3C 00 00 00", MQTT_CONNECT, V5 },
	/* Topic Alias Maximum 0 just means no aliases. */
	{ V5, "10 11 00 04 4D 51 54 54 05 02 00 3C 03 22 00 00 00 01 61", MQTT_CONNECT, V5 },
	/* Empty topic name with a Topic Alias (§3.3.2.1). */
	{ V5, "30 06 00 00 03 23 00 01", MQTT_PUBLISH, V5 },
	/* DUP + QoS 2 + RETAIN. */
	{ V5, "3D 06 00 01 61 00 07 00", MQTT_PUBLISH, V5 },
	/* Subscription Identifier may repeat in PUBLISH (server to client). */
	{ V5, "30 08 00 01 61 04 0B 01 0B 02", MQTT_PUBLISH, V5 },
	/* UTF-8 edges: a BOM is an ordinary character (MQTT-1.5.3-3); U+D7FF and U+E000 sit
	 * either side of the surrogates; U+10FFFF is the last code point; U+FFFF and U+0001
	 * should not be sent but a receiver need not refuse them. */
	{ V3, "30 05 00 03 EF BB BF", MQTT_PUBLISH, V3 },
	{ V3, "30 08 00 06 ED 9F BF EE 80 80", MQTT_PUBLISH, V3 },
	{ V5, "30 07 00 04 F4 8F BF BF 00", MQTT_PUBLISH, V5 },
	{ V5, "30 07 00 04 EF BF BF 01 00", MQTT_PUBLISH, V5 },
	/* Short forms of the 5.0 acks, DISCONNECT and AUTH. */
	{ V5, "40 02 00 01", MQTT_PUBACK, V5 },
	{ V5, "50 03 00 01 10", MQTT_PUBREC, V5 },
	{ V5, "62 03 00 01 92", MQTT_PUBREL, V5 },
	{ V5, "70 04 00 01 00 00", MQTT_PUBCOMP, V5 },
	{ V5, "E0 00", MQTT_DISCONNECT, V5 },
	{ V5, "E0 01 04", MQTT_DISCONNECT, V5 },
	{ V5, "F0 00", MQTT_AUTH, V5 },
	{ V5, "F0 07 18 05 15 00 02 61 62", MQTT_AUTH, V5 },
	/* Table 2-6 lists 0x8C (Bad authentication method) for DISCONNECT: be tolerant. */
	{ V5, "E0 01 8C", MQTT_DISCONNECT, V5 },
	/* User Property may repeat, even with the same name. */
	{ V5, "E0 10 00 0E 26 00 01 6B 00 01 76 26 00 01 6B 00 01 77", MQTT_DISCONNECT, V5 },
	/* CONNACK: session present with success. */
	{ V3, "20 02 01 00", MQTT_CONNACK, V3 },
	{ V5, "20 03 01 00 00", MQTT_CONNACK, V5 },
	/* SUBACK codes at the edges of their lists. */
	{ V3, "90 04 00 01 80 02", MQTT_SUBACK, V3 },
	{ V5, "90 05 00 01 00 A2 91", MQTT_SUBACK, V5 },
	/* Filters: #, +/+/#, /, a//b. */
	{ V3, "82 19 00 01 00 01 23 00 00 05 2B 2F 2B 2F 23 01 00 01 2F 02 00 04 61 2F 2F 62 00",
	  MQTT_SUBSCRIBE, V3 },
	/* $share/ is only a plain filter in 3.1.1: $share//a and $share/g are valid. */
	{ V3, "82 0E 00 01 00 09 24 73 68 61 72 65 2F 2F 61 02", MQTT_SUBSCRIBE, V3 },
	{ V3, "82 0D 00 01 00 08 24 73 68 61 72 65 2F 67 01", MQTT_SUBSCRIBE, V3 },
	/* 5.0 $share/g/# with Retain As Published, Retain Handling 2 and QoS 2. */
	{ V5, "82 10 00 01 00 00 0A 24 73 68 61 72 65 2F 67 2F 23 2A", MQTT_SUBSCRIBE, V5 },
	/* No Local is fine on a plain filter. */
	{ V5, "82 09 00 01 00 00 03 61 2F 2B 05", MQTT_SUBSCRIBE, V5 },
	{ V5, "A2 0F 00 01 00 00 0A 24 73 68 61 72 65 2F 67 2F 61", MQTT_UNSUBSCRIBE, V5 },
};

#define N_GOOD ((int)(sizeof good_rows / sizeof good_rows[0]))

/* ---- helpers ------------------------------------------------------------------------------ */

/* A heap copy of exactly n bytes, so that AddressSanitizer flags any read beyond it. */
static uint8_t *exact_copy(const uint8_t *b, size_t n)
{
	uint8_t *h = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(h);
	if (n)
		memcpy(h, b, n);
	return h;
}

static void err_reset(mqtt_err *e)
{
	memset(e, 0, sizeof *e);
	e->stmt = NULL;
}

static int decode_exact(const uint8_t *b, size_t n, uint8_t version, mqtt_packet *p, mqtt_err *e)
{
	uint8_t *h = exact_copy(b, n);
	err_reset(e);
	int rc = mqtt_decode(h, n, version, 0, p, e);
	free(h);
	return rc;
}

static bool stmt_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Appends "; what" to a mismatch list (bounded). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void note(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(buf);
	if (len + 3 >= cap)
		return;
	if (len) {
		buf[len++] = ';';
		buf[len++] = ' ';
		buf[len] = 0;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

/* Compares err with what the row expects; returns mismatches in why (empty if none). */
static void check_err(const bad_row *row, int rc, const mqtt_err *e, char *why, size_t cap)
{
	if (rc != row->rc) {
		note(why, cap, "rc %d, want %d", rc, row->rc);
		if (rc >= 0)
			return; /* nothing else to look at */
	}
	if (e->code != -row->rc)
		note(why, cap, "err.code %d, want %d", e->code, -row->rc);
	if (!stmt_eq(e->stmt, row->stmt))
		note(why, cap, "stmt \"%s\", want \"%s\"", e->stmt ? e->stmt : "(null)", row->stmt);
	if (e->offset != row->offset)
		note(why, cap, "offset %u, want %u", (unsigned)e->offset, (unsigned)row->offset);
	if (row->reason && e->reason != row->reason)
		note(why, cap, "reason 0x%02X, want 0x%02X", e->reason, row->reason);
	if (e->msg[0] == 0)
		note(why, cap, "err.msg is empty");
}

/* Every proper prefix must ask for more or fail with the same error as the whole. */
static void check_prefixes(const uint8_t *b, size_t n, uint8_t version, int rc_full,
			   const mqtt_err *full, char *why, size_t cap)
{
	for (size_t k = 0; k < n; k++) {
		mqtt_packet p;
		mqtt_err e;
		int rc = decode_exact(b, k, version, &p, &e);
		if (rc == 0)
			continue;
		if (rc > 0) {
			note(why, cap, "prefix of %zu bytes decoded as %d bytes", k, rc);
			return;
		}
		if (rc != rc_full || !stmt_eq(e.stmt, full->stmt) || e.offset != full->offset ||
		    e.msg[0] == 0) {
			note(why, cap, "prefix of %zu bytes: rc %d stmt \"%s\" offset %u", k, rc,
			     e.stmt ? e.stmt : "(null)", (unsigned)e.offset);
			return;
		}
	}
}

/* ---- tests -------------------------------------------------------------------------------- */

START_TEST(test_bad_row)
{
	const bad_row *row = &bad_rows[_i];
	uint8_t b[512];
	size_t n = unhex(row->hex, b, sizeof b);
	char why[1024] = "";
	mqtt_packet p;
	mqtt_err e;

	int rc = decode_exact(b, n, row->version, &p, &e);
	check_err(row, rc, &e, why, sizeof why);
	mqtt_err full = e;
	check_prefixes(b, n, row->version, rc, &full, why, sizeof why);
	ck_assert_msg(why[0] == 0, "bad row %d (%s) [%s]: %s%s%s", _i,
		      row->version == V5 ? "5.0" : "3.1.1", row->hex, why,
		      e.msg[0] ? " -- codec says: " : "", e.msg);
}
END_TEST

START_TEST(test_validate_row)
{
	const bad_row *row = &validate_rows[_i];
	uint8_t b[512];
	size_t n = unhex(row->hex, b, sizeof b);
	char why[1024] = "";
	mqtt_packet p;
	mqtt_err e;

	/* The decode must succeed: these are syntax errors only mqtt_validate() judges. */
	uint8_t *h = exact_copy(b, n);
	err_reset(&e);
	int rc = mqtt_decode(h, n, row->version, 0, &p, &e);
	if (rc != (int)n) {
		note(why, sizeof why, "decode returned %d (%s), want %zu", rc,
		     e.stmt ? e.stmt : "-", n);
	} else {
		err_reset(&e);
		rc = mqtt_validate(&p, &e);
		check_err(row, rc, &e, why, sizeof why);
	}
	free(h);
	ck_assert_msg(why[0] == 0, "validate row %d (%s) [%s]: %s%s%s", _i,
		      row->version == V5 ? "5.0" : "3.1.1", row->hex, why,
		      e.msg[0] ? " -- codec says: " : "", e.msg);
}
END_TEST

START_TEST(test_good_row)
{
	const good_row *row = &good_rows[_i];
	uint8_t b[512];
	size_t n = unhex(row->hex, b, sizeof b);
	char why[1024] = "";
	mqtt_packet p;
	mqtt_err e;

	/* Followed by one more byte: decode consumes exactly the packet. */
	b[n] = 0xC0;
	uint8_t *h = exact_copy(b, n + 1);
	err_reset(&e);
	int rc = mqtt_decode(h, n + 1, row->version, 0, &p, &e);
	if (rc != (int)n) {
		note(why, sizeof why, "decode returned %d (%s at %u), want %zu", rc,
		     e.stmt ? e.stmt : "-", (unsigned)e.offset, n);
	} else {
		if (p.type != row->type)
			note(why, sizeof why, "type %u, want %u", p.type, row->type);
		if (p.version != row->decoded_as)
			note(why, sizeof why, "version %u, want %u", p.version, row->decoded_as);
		if (p.length != n)
			note(why, sizeof why, "length %u, want %zu", (unsigned)p.length, n);
		err_reset(&e);
		int vr = mqtt_validate(&p, &e);
		if (vr != 0)
			note(why, sizeof why, "mqtt_validate returned %d (%s at %u)", vr,
			     e.stmt ? e.stmt : "-", (unsigned)e.offset);
	}
	free(h);
	/* A prefix of a valid packet is never an error. */
	for (size_t k = 0; k < n; k++) {
		int prc = decode_exact(b, k, row->version, &p, &e);
		if (prc != 0) {
			note(why, sizeof why, "prefix of %zu bytes returned %d", k, prc);
			break;
		}
	}
	ck_assert_msg(why[0] == 0, "good row %d (%s) [%s]: %s%s%s", _i,
		      row->version == V5 ? "5.0" : "3.1.1", row->hex, why,
		      e.msg[0] ? " -- codec says: " : "", e.msg);
}
END_TEST

/*
 * max_packet_size: a header that announces more than the caller's limit fails with
 * MQTT_ERR_TOO_LARGE as soon as the remaining length is complete, without waiting for
 * a body that may never fit in memory. The limit counts the whole packet, header too.
 * 3.1.1 has no Maximum Packet Size, so the section is the codec's (§2.2.3); 5.0 answers
 * 0x95 Packet too large (§3.1.2.11.4).
 */
static const struct {
	uint8_t version;
	const char *hex;   /* header only */
	uint32_t max;
	int rc;
} too_large_rows[] = {
	{ V3, "30 65", 102, -MQTT_ERR_TOO_LARGE },          /* 103 bytes > 102 */
	{ V3, "30 65", 103, 0 },                            /* exactly the limit: need more */
	{ V5, "30 FF 7F", 16385, -MQTT_ERR_TOO_LARGE },     /* 16386 bytes */
	{ V5, "30 FF 7F", 16386, 0 },
	{ V5, "82 80 01", 130, -MQTT_ERR_TOO_LARGE },       /* 131 bytes */
	{ V5, "10 FF FF FF 7F", 1000, -MQTT_ERR_TOO_LARGE }, /* the protocol maximum */
	{ V3, "10 FF FF FF 7F", MQTT_PACKET_MAX - 1, -MQTT_ERR_TOO_LARGE },
	{ V3, "10 FF FF FF 7F", MQTT_PACKET_MAX, 0 },
	{ V3, "E0 00", 1, -MQTT_ERR_TOO_LARGE },            /* 2 bytes, even with no body */
};

START_TEST(test_too_large)
{
	uint8_t b[16];
	size_t n = unhex(too_large_rows[_i].hex, b, sizeof b);
	uint8_t v = too_large_rows[_i].version;
	mqtt_packet p;
	mqtt_err e;
	uint8_t *h = exact_copy(b, n);
	err_reset(&e);
	int rc = mqtt_decode(h, n, v, too_large_rows[_i].max, &p, &e);
	free(h);
	ck_assert_msg(rc == too_large_rows[_i].rc, "too-large row %d [%s] max %u: rc %d, want %d",
		      _i, too_large_rows[_i].hex, (unsigned)too_large_rows[_i].max, rc,
		      too_large_rows[_i].rc);
	if (rc < 0) {
		ck_assert_int_eq(e.code, MQTT_ERR_TOO_LARGE);
		ck_assert_str_eq(e.stmt, v == V5 ? "§3.1.2.11.4" : "§2.2.3");
		ck_assert_uint_eq(e.offset, 1);
		ck_assert_uint_eq(e.reason, 0x95);
		ck_assert_msg(e.msg[0] != 0, "too-large row %d: err.msg is empty", _i);
	}
}
END_TEST

/* The table itself: enough rows, and every packet type of each version represented. */
START_TEST(test_table_coverage)
{
	unsigned seen[2] = { 0, 0 };
	ck_assert_int_ge(N_BAD, 100);
	for (int i = 0; i < N_BAD; i++) {
		uint8_t b[512];
		unhex(bad_rows[i].hex, b, sizeof b);
		seen[bad_rows[i].version == V5] |= 1u << (b[0] >> 4);
	}
	/* 3.1.1: types 0..15 (0 and 15 as the reserved ones); 5.0: 0..15 with AUTH. */
	ck_assert_msg(seen[0] == 0xFFFFu, "3.1.1 types covered: 0x%04X", seen[0]);
	ck_assert_msg(seen[1] == 0xFFFFu, "5.0 types covered: 0x%04X", seen[1]);
}
END_TEST

Suite *malformed_suite(void)
{
	Suite *s = suite_create("malformed");
	TCase *tc = tcase_create("rows");
	tcase_add_test(tc, test_table_coverage);
	tcase_add_loop_test(tc, test_bad_row, 0, N_BAD);
	tcase_add_loop_test(tc, test_validate_row, 0, N_VALIDATE);
	tcase_add_loop_test(tc, test_good_row, 0, N_GOOD);
	tcase_add_loop_test(tc, test_too_large, 0,
			    (int)(sizeof too_large_rows / sizeof too_large_rows[0]));
	suite_add_tcase(s, tc);
	return s;
}
