/*
 * pcap.c - see pcap.h. Frames are raw IPv4 (link type 228, LINKTYPE_IPV4), so no
 * Ethernet header is invented. Host i has address 10.0.(i/250).(i%250 + 1); the
 * connecting side's port is 40000 + the connection id, modulo the ephemeral range.
 */
#include "reports/pcap.h"

#include <stdlib.h>
#include <string.h>

#define MSS 1400

typedef struct pconn {
	uint64_t id;
	uint32_t ip[2];
	uint16_t port[2];
	uint32_t seq[2];      /* next sequence number each way */
} pconn;

struct pcap_writer {
	FILE *f;
	pconn *c;
	size_t n, cap;
	size_t frames;
};

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

pcap_writer *pcap_open(FILE *f)
{
	pcap_writer *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->f = f;
	uint8_t h[24] = { 0 };
	le32(h, 0xa1b2c3d4);     /* microsecond timestamps */
	h[4] = 2, h[6] = 4;      /* version 2.4 */
	le32(h + 16, 65535);     /* snaplen */
	le32(h + 20, 228);       /* LINKTYPE_IPV4 */
	fwrite(h, 1, sizeof h, f);
	return w;
}

static uint32_t ip_of(uint32_t host)
{
	return (10u << 24) | ((host / 250) << 8) | (host % 250 + 1);
}

static uint16_t checksum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

static void frame(pcap_writer *w, int64_t t, pconn *c, int side, uint8_t flags, const uint8_t *d, size_t n)
{
	uint8_t pkt[20 + 20 + MSS];
	size_t len = 40 + n;
	memset(pkt, 0, 40);
	pkt[0] = 0x45;
	be16(pkt + 2, (uint16_t)len);
	pkt[8] = 64;              /* TTL */
	pkt[9] = 6;               /* TCP */
	be32(pkt + 12, c->ip[side]);
	be32(pkt + 16, c->ip[!side]);
	be16(pkt + 10, checksum(pkt, 20, 0));
	uint8_t *tcp = pkt + 20;
	be16(tcp, c->port[side]);
	be16(tcp + 2, c->port[!side]);
	be32(tcp + 4, c->seq[side]);
	be32(tcp + 8, c->seq[!side]);
	tcp[12] = 5 << 4;         /* data offset: 20 bytes */
	tcp[13] = flags;
	be16(tcp + 14, 65535);    /* window */
	if (n)
		memcpy(tcp + 20, d, n);
	/* The TCP checksum covers a pseudo-header of addresses, protocol and length. */
	uint32_t ps = (c->ip[side] >> 16) + (c->ip[side] & 0xFFFF) + (c->ip[!side] >> 16) +
		      (c->ip[!side] & 0xFFFF) + 6 + (uint32_t)(20 + n);
	be16(tcp + 16, checksum(tcp, 20 + n, ps));
	uint8_t rec[16];
	le32(rec, (uint32_t)(t / 1000000));
	le32(rec + 4, (uint32_t)(t % 1000000));
	le32(rec + 8, (uint32_t)len);
	le32(rec + 12, (uint32_t)len);
	fwrite(rec, 1, sizeof rec, w->f);
	fwrite(pkt, 1, len, w->f);
	w->frames++;
}

static pconn *find(pcap_writer *w, uint64_t id)
{
	for (size_t i = w->n; i-- > 0;)
		if (w->c[i].id == id)
			return &w->c[i];
	return NULL;
}

enum { FIN = 0x01, SYN = 0x02, PSH = 0x08, ACK = 0x10 };

void pcap_syn(pcap_writer *w, int64_t t, uint64_t conn, uint32_t client, uint32_t server, uint16_t port)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		pconn *c = realloc(w->c, cap * sizeof *c);
		if (!c)
			return;
		w->c = c;
		w->cap = cap;
	}
	pconn *c = &w->c[w->n++];
	c->id = conn;
	c->ip[0] = ip_of(client);
	c->ip[1] = ip_of(server);
	c->port[0] = (uint16_t)(40000 + conn % 20000);
	c->port[1] = port;
	c->seq[0] = 1000;
	c->seq[1] = 5000;
	/* The handshake, so dissectors see a whole stream: SYN, SYN-ACK, ACK. */
	frame(w, t, c, 0, SYN, NULL, 0);
	c->seq[0]++; /* a SYN takes one sequence number */
	frame(w, t, c, 1, SYN | ACK, NULL, 0);
	c->seq[1]++;
	frame(w, t, c, 0, ACK, NULL, 0);
}

void pcap_data(pcap_writer *w, int64_t t, uint64_t conn, int side, const uint8_t *d, size_t n)
{
	pconn *c = find(w, conn);
	if (!c)
		return;
	for (size_t off = 0; off < n; off += MSS) {
		size_t k = n - off < MSS ? n - off : MSS;
		frame(w, t, c, side, PSH | ACK, d + off, k);
		c->seq[side] += (uint32_t)k;
	}
}

void pcap_fin(pcap_writer *w, int64_t t, uint64_t conn, int side)
{
	pconn *c = find(w, conn);
	if (!c)
		return;
	frame(w, t, c, side, FIN | ACK, NULL, 0);
	c->seq[side]++;
}

size_t pcap_close(pcap_writer *w)
{
	if (!w)
		return 0;
	size_t n = w->frames;
	fflush(w->f);
	free(w->c);
	free(w);
	return n;
}
