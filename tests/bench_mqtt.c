/*
 * bench_mqtt.c - codec throughput. Prints figures; asserts nothing about speed (targets
 * live here, in the printout, never in timed tests).
 *
 * Target (issue #2): at least 1 GB/s of PUBLISH decoding on one core.
 */
#define _POSIX_C_SOURCE 200809L
#include "mqtt/mqtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_CAP (8u << 20)
#define MIN_SECONDS 0.4

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct stream {
	uint8_t *buf;
	size_t len;
	size_t packets;
} stream;

static void add(stream *s, const mqtt_packet *p)
{
	int n = mqtt_encode(p, s->buf + s->len, STREAM_CAP - s->len, NULL);
	if (n <= 0) {
		fprintf(stderr, "bench: encode failed\n");
		exit(1);
	}
	s->len += (size_t)n;
	s->packets++;
}

static void publish(stream *s, uint8_t version, uint8_t qos, size_t payload_len, uint16_t id)
{
	static uint8_t payload[65536];
	mqtt_packet p = { .type = MQTT_PUBLISH, .version = version, .packet_id = qos ? id : 0 };
	p.publish.qos = qos;
	p.publish.topic = MQTT_STR("greenhouse/12/temperature");
	p.publish.payload = (mqtt_str){ payload, (uint32_t)payload_len };
	if (version == MQTT_V5) {
		MQTT_SET(&p.props, MQTT_PROP_PAYLOAD_FORMAT);
		p.props.payload_format = 1;
		MQTT_SET(&p.props, MQTT_PROP_MESSAGE_EXPIRY);
		p.props.message_expiry = 3600;
	}
	add(s, &p);
}

/* Fill a stream until it holds about `target` bytes; kind picks the mix. */
static void build(stream *s, int kind, uint8_t version, size_t payload_len, size_t target)
{
	uint16_t id = 1;
	s->len = s->packets = 0;
	while (s->len + payload_len + 256 < target) {
		if (kind == 0) {
			publish(s, version, (uint8_t)(id % 3), payload_len, id);
		} else {
			/* Mixed: a QoS 1 exchange, a QoS 2 exchange, a subscribe and a ping. */
			mqtt_packet p = { .version = version, .packet_id = id };
			publish(s, version, 1, 16 + id % 200, id);
			p.type = MQTT_PUBACK;
			add(s, &p);
			publish(s, version, 2, 16 + id % 500, id);
			p.type = MQTT_PUBREC;
			add(s, &p);
			p.type = MQTT_PUBREL;
			add(s, &p);
			p.type = MQTT_PUBCOMP;
			add(s, &p);
			mqtt_sub subs[2] = { { .filter = MQTT_STR("greenhouse/+/temp"), .qos = 1 },
					     { .filter = MQTT_STR("alerts/#"), .qos = 2 } };
			mqtt_packet sp = { .type = MQTT_SUBSCRIBE, .version = version, .packet_id = id };
			sp.subscribe.items = subs;
			sp.subscribe.count = 2;
			add(s, &sp);
			mqtt_packet ping = { .type = MQTT_PINGREQ, .version = version };
			add(s, &ping);
		}
		id = (uint16_t)(id == 65535 ? 1 : id + 1);
	}
}

static void run(const char *name, const stream *s, uint8_t version)
{
	size_t rounds = 0, bytes = 0, packets = 0;
	double t0 = now_s(), t;
	unsigned long sink = 0;
	do {
		size_t pos = 0;
		while (pos < s->len) {
			mqtt_packet p;
			int n = mqtt_decode(s->buf + pos, s->len - pos, version, 0, &p, NULL);
			if (n <= 0) {
				fprintf(stderr, "bench: decode failed at %zu\n", pos);
				exit(1);
			}
			sink += p.type;
			pos += (size_t)n;
			packets++;
		}
		bytes += s->len;
		rounds++;
		t = now_s() - t0;
	} while (t < MIN_SECONDS);
	printf("decode %-38s %10.0f packets/s %9.1f MB/s  (%zu rounds%s)\n", name, packets / t,
	       bytes / t / 1e6, rounds, sink ? "" : "!");
}

static void run_encode(const char *name, uint8_t version, size_t payload_len)
{
	static uint8_t payload[4096], out[8192];
	mqtt_packet p = { .type = MQTT_PUBLISH, .version = version, .packet_id = 7 };
	p.publish.qos = 1;
	p.publish.topic = MQTT_STR("greenhouse/12/temperature");
	p.publish.payload = (mqtt_str){ payload, (uint32_t)payload_len };
	size_t packets = 0, bytes = 0;
	double t0 = now_s(), t;
	do {
		for (int i = 0; i < 10000; i++) {
			int n = mqtt_encode(&p, out, sizeof out, NULL);
			bytes += (size_t)n;
		}
		packets += 10000;
		t = now_s() - t0;
	} while (t < MIN_SECONDS);
	printf("encode %-38s %10.0f packets/s %9.1f MB/s\n", name, packets / t, bytes / t / 1e6);
}

int main(void)
{
	stream s = { malloc(STREAM_CAP), 0, 0 };
	if (!s.buf)
		return 1;
	printf("mqttsim codec benchmark (one core; target: PUBLISH decoding >= 1000 MB/s)\n");
	build(&s, 1, MQTT_V311, 0, 4u << 20);
	run("mixed 3.1.1 stream", &s, MQTT_V311);
	build(&s, 1, MQTT_V5, 0, 4u << 20);
	run("mixed 5.0 stream", &s, MQTT_V5);
	static const size_t sizes[] = { 16, 64, 256, 1024, 4096 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char name[64];
		build(&s, 0, MQTT_V311, sizes[i], 4u << 20);
		snprintf(name, sizeof name, "PUBLISH 3.1.1, %zuB payload", sizes[i]);
		run(name, &s, MQTT_V311);
		build(&s, 0, MQTT_V5, sizes[i], 4u << 20);
		snprintf(name, sizeof name, "PUBLISH 5.0, %zuB payload, 2 props", sizes[i]);
		run(name, &s, MQTT_V5);
	}
	run_encode("PUBLISH 3.1.1, 64B payload", MQTT_V311, 64);
	run_encode("PUBLISH 5.0, 1024B payload", MQTT_V5, 1024);
	free(s.buf);
	return 0;
}
