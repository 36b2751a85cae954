/*
 * timeline.c - see timeline.h.
 *
 * The trace records an MQTT packet where it arrives: "broker c3 mqtt -> PUBLISH ..." is
 * a packet the connecting side of connection 3 sent to the broker, "sub c3 mqtt <- ..."
 * one the broker sent to sub. The connecting host of each connection is learnt from its
 * "connect" line, so the timeline can name both ends of every packet.
 */
#include "reports/timeline.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CONNS 65536

typedef struct conn_name {
	unsigned long id;
	char host[64], peer[64];
} conn_name;

static const char *const RESET = "\033[0m", *const DIM = "\033[2m", *const RED = "\033[31m",
		  *const GREEN = "\033[32m", *const YELLOW = "\033[33m", *const BLUE = "\033[34m",
		  *const MAGENTA = "\033[35m", *const CYAN = "\033[36m";

static const char *packet_colour(const char *pkt)
{
	if (!strncmp(pkt, "PUBLISH", 7))
		return GREEN;
	if (!strncmp(pkt, "CONNECT", 7) || !strncmp(pkt, "CONNACK", 7) || !strncmp(pkt, "DISCONNECT", 10))
		return BLUE;
	if (!strncmp(pkt, "SUB", 3) || !strncmp(pkt, "UNSUB", 5))
		return CYAN;
	if (!strncmp(pkt, "PING", 4))
		return DIM;
	return MAGENTA; /* acknowledgements */
}

static conn_name *find(conn_name *v, size_t n, unsigned long id)
{
	for (size_t i = n; i-- > 0;)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

size_t timeline_write(const char *trace, size_t len, const timeline_opts *o, FILE *out)
{
	conn_name *conns = NULL;
	size_t nconns = 0, cap = 0, events = 0;
	const char *p = trace, *end = trace + len;
	bool c = o && o->colour;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[1024];
		if (n >= sizeof line)
			n = sizeof line - 1;
		memcpy(line, p, n);
		line[n] = 0;
		p = nl ? nl + 1 : end;
		if (line[0] == '#')
			continue;
		char when[32], host[64], kind[32];
		unsigned long cid;
		int off = 0;
		if (sscanf(line, "%31s %63s c%lu %31s %n", when, host, &cid, kind, &off) < 4 || off == 0)
			continue;
		const char *rest = line + off;
		if (!strcmp(kind, "connect")) {
			/* "connect to broker port 1883" names both ends of connection cid. */
			char peer[64] = "?";
			sscanf(rest, "to %63s", peer);
			if (nconns == cap) {
				cap = cap ? 2 * cap : 64;
				conn_name *nv = realloc(conns, cap * sizeof *conns);
				if (!nv)
					break;
				conns = nv;
			}
			if (nconns < MAX_CONNS) {
				conn_name *cn = &conns[nconns++];
				cn->id = cid;
				snprintf(cn->host, sizeof cn->host, "%s", host);
				snprintf(cn->peer, sizeof cn->peer, "%s", peer);
			}
			fprintf(out, "%s  %s%s connects to %s (c%lu)%s\n", when, c ? DIM : "", host, peer, cid,
				c ? RESET : "");
			events++;
		} else if (!strcmp(kind, "mqtt") || !strcmp(kind, "mqtt-bad")) {
			conn_name *cn = find(conns, nconns, cid);
			bool to_server = !strncmp(rest, "->", 2);
			const char *pkt = !strcmp(kind, "mqtt") ? rest + 3 : rest;
			const char *from = cn ? (to_server ? cn->host : cn->peer) : "?";
			const char *to = host;
			if (!strcmp(kind, "mqtt-bad"))
				fprintf(out, "%s  %s%-10s -> %-10s undecodable: %s%s\n", when, c ? RED : "", from, to, pkt,
					c ? RESET : "");
			else
				fprintf(out, "%s  %-10s -> %-10s %s%s%s\n", when, from, to, c ? packet_colour(pkt) : "", pkt,
					c ? RESET : "");
			events++;
		} else if (!strcmp(kind, "fault")) {
			fprintf(out, "%s  %s*** %s%s\n", when, c ? RED : "", rest, c ? RESET : "");
			events++;
		} else if (!strcmp(kind, "harness") || !strcmp(kind, "node")) {
			fprintf(out, "%s  %s%s: %s%s\n", when, c ? YELLOW : "", host, rest, c ? RESET : "");
			events++;
		} else if (!strcmp(kind, "rst") || !strcmp(kind, "timeout") || !strcmp(kind, "refused") ||
			   !strcmp(kind, "fin") || !strcmp(kind, "close") || !strcmp(kind, "abort")) {
			fprintf(out, "%s  %s%s c%lu %s: %s%s\n", when, c ? DIM : "", host, cid, kind, rest,
				c ? RESET : "");
			events++;
		} else if (!strcmp(kind, "lost")) {
			fprintf(out, "%s  %s%s c%lu lost %s%s\n", when, c ? DIM : "", host, cid, rest, c ? RESET : "");
			events++;
		} else if (!strcmp(kind, "broker")) {
			fprintf(out, "%s  %sbroker: %s%s\n", when, c ? DIM : "", rest, c ? RESET : "");
			events++;
		} else if (o && o->bytes && (!strcmp(kind, "send") || !strcmp(kind, "recv"))) {
			fprintf(out, "%s  %s%s c%lu %s %s%s\n", when, c ? DIM : "", host, cid, kind, rest, c ? RESET : "");
			events++;
		}
	}
	free(conns);
	return events;
}
