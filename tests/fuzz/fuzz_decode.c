/*
 * fuzz_decode.c - libFuzzer target for the codec (`make fuzz`).
 *
 * Oracle: whatever mqtt_decode() accepts, mqtt_encode() must be able to write back, and
 * the bytes it writes must decode to a packet that prints the same. The first input byte
 * picks the protocol version, so one corpus covers 3.1.1 and 5.0.
 */
#include "mqtt/mqtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[1 << 16], b[1 << 16];
	if (size < 1)
		return 0;
	uint8_t version = data[0] & 1 ? MQTT_V5 : MQTT_V311;
	data++, size--;
	size_t pos = 0;
	while (pos < size) {
		mqtt_packet p, q;
		mqtt_err e;
		int n = mqtt_decode(data + pos, size - pos, version, 0, &p, &e);
		if (n <= 0) {
			if (n < 0 && (e.msg[0] == 0 || e.stmt == NULL))
				abort(); /* every rejection explains itself */
			return 0;
		}
		(void)mqtt_validate(&p, &e);
		if (p.type == MQTT_CONNECT)
			version = p.version;
		size_t need = mqtt_encoded_size(&p);
		uint8_t *enc = malloc(need ? need : 1);
		int m = mqtt_encode(&p, enc, need, &e);
		if (m <= 0 || (size_t)m != need) {
			fprintf(stderr, "re-encode failed: %s\n", e.msg);
			abort();
		}
		int k = mqtt_decode(enc, (size_t)m, p.version, 0, &q, &e);
		if (k != m) {
			fprintf(stderr, "re-decode failed: %d %s %s\n", k, e.stmt, e.msg);
			abort();
		}
		mqtt_print(&p, a, sizeof a);
		mqtt_print(&q, b, sizeof b);
		if (strcmp(a, b)) {
			fprintf(stderr, "round trip changed the packet:\n  %s\n  %s\n", a, b);
			abort();
		}
		free(enc);
		pos += (size_t)n;
	}
	return 0;
}
