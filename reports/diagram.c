/*
 * diagram.c - a run's trace as an SVG sequence diagram (see report.h, rep_write_diagram).
 *
 * Layout. One lifeline per host, the broker first, the others in the order the trace
 * first names them. Rows go down in trace order, one per drawn event: an MQTT packet, an
 * undecodable packet, a lost segment, a fault, a connection opening or ending, a scripted
 * step. Rows rather than a linear time axis, because conformance runs do everything at
 * virtual time 0 and fleet runs span hours; the virtual time of each row is printed in the
 * left margin whenever it changes, so rows are placed by virtual time, in order.
 *
 * A packet is traced where it is decoded, at its receiver. Its arrow starts where its
 * bytes were sent: the trace's "send NB" and "recv NB" lines are counted per connection
 * and direction, and the packet starts at the send that holds the first byte of the read
 * that completed it. A packet in flight while other things happen therefore slants down
 * across their rows, which is how latency and retransmission show. Bytes sent and never
 * received (a connection that died with data in flight) are marked at their last send.
 *
 * Faults: partitions, clogs and blackholes shade the band between the two lifelines from
 * the fault to its healing; a crash shades the host's lifeline until it restarts; other
 * faults (reset, limit_data, clock drift or jump) are marked on the host's lifeline.
 *
 * The trace of a TCP run holds only what the clients received ("T HOST recv PACKET"):
 * those are drawn as arrows from the broker.
 */
#include "reports/report.h"
#include "mqtt/alloc.h"
#include "reports/report_text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define DG_MAX_HOSTS 12   /* lifelines; hosts past these share the last one */
#define DG_ROW 20         /* px per row */
#define DG_COL 230        /* px per lifeline */
#define DG_LEFT 96        /* px of the time margin */
#define DG_TOP 52         /* px above the first row */
#define DG_RIGHT 330      /* px right of the last lifeline, for the marks' labels */

enum { R_PKT, R_BAD, R_LOST, R_FAULT, R_END, R_CONNECT, R_STEP, R_UNSENT };

typedef struct dg_row {
	int kind;
	int64_t t;
	int from, to;      /* lifelines; from == to: a mark on one lifeline */
	double start;      /* packets: the row position of the send */
	unsigned long conn;
	size_t count;      /* lost segments merged into this row */
	char *text;
} dg_row;

typedef struct dg_send {
	uint64_t end;      /* stream offset after this send */
	double pos;        /* row position when it happened */
} dg_send;

typedef struct dg_conn {
	unsigned long id;
	int end[2];        /* lifeline of the connecting [0] and the accepting [1] side */
	uint64_t sent[2], recvd[2], before[2];
	dg_send *s[2];
	size_t ns[2], cap[2], cur[2];
	double last_send[2];
	int64_t last_send_t[2];
} dg_conn;

typedef struct dg_band {
	int a, b;
	double r0, r1;
	bool open;
	int kind;          /* 0 link fault, 1 crash */
	char key[160];     /* what closes it */
	char *text;
} dg_band;

typedef struct dg {
	char hosts[DG_MAX_HOSTS][64];
	int nhosts;
	bool more_hosts;   /* some hosts share the last lifeline */
	dg_row *rows;
	size_t nrows, cap, max_rows;
	dg_conn *conns;
	size_t nconns, ccap;
	dg_band *bands;
	size_t nbands, bcap;
	rep_diagram_info info;
} dg;

static void fmt_time(char *buf, size_t cap, int64_t t)
{
	snprintf(buf, cap, "%lld.%06llds", (long long)(t / 1000000), (long long)(t % 1000000));
}

static int host(dg *g, const char *name)
{
	for (int i = 0; i < g->nhosts; i++)
		if (!strcmp(g->hosts[i], name))
			return i;
	if (g->nhosts == DG_MAX_HOSTS) {
		g->more_hosts = true;
		return DG_MAX_HOSTS - 1;
	}
	snprintf(g->hosts[g->nhosts], sizeof g->hosts[0], "%s", name);
	return g->nhosts++;
}

/* Connection ids grow as connections open, so the table is sorted: a binary search keeps a
 * fleet's long trace linear. A trace that breaks the order is still searched in full. */
static dg_conn *conn(dg *g, unsigned long id)
{
	size_t lo = 0, hi = g->nconns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->conns[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < g->nconns && g->conns[lo].id == id)
		return &g->conns[lo];
	for (size_t i = g->nconns; i-- > 0;)
		if (g->conns[i].id == id)
			return &g->conns[i];
	return NULL;
}

static dg_conn *conn_add(dg *g, unsigned long id, int client, int server)
{
	g->conns = mqtt_xgrow(g->conns, &g->ccap, g->nconns + 1, sizeof *g->conns, 32);
	g->conns[g->nconns] = (dg_conn){ .id = id, .end = { client, server } };
	return &g->conns[g->nconns++];
}

/* The row position where the next row will go, less a half: "after the rows so far". */
static double here(const dg *g)
{
	return (double)g->nrows - 0.5;
}

static bool add_row(dg *g, int kind, int64_t t, int from, int to, double start, const char *text, size_t n)
{
	if (kind == R_PKT || kind == R_BAD)
		g->info.packets++;
	if (g->nrows >= g->max_rows) {
		g->info.truncated = true;
		return false;
	}
	g->rows = mqtt_xgrow(g->rows, &g->cap, g->nrows + 1, sizeof *g->rows, 32);
	g->rows[g->nrows++] = (dg_row){ .kind = kind, .t = t, .from = from, .to = to, .start = start,
					.text = mqtt_xstrndup(text, n) };
	if (kind == R_PKT || kind == R_BAD)
		g->info.drawn++;
	return true;
}

static void band_open(dg *g, int kind, int a, int b, const char *key, const char *text)
{
	if (g->nrows >= g->max_rows)
		return;
	g->bands = mqtt_xgrow(g->bands, &g->bcap, g->nbands + 1, sizeof *g->bands, 32);
	dg_band *d = &g->bands[g->nbands++];
	*d = (dg_band){ .a = a, .b = b, .r0 = here(g), .open = true, .kind = kind, .text = mqtt_xstrndup(text, strlen(text)) };
	snprintf(d->key, sizeof d->key, "%s", key);
}

static void band_close(dg *g, const char *key)
{
	for (size_t i = g->nbands; i-- > 0;)
		if (g->bands[i].open && !strcmp(g->bands[i].key, key)) {
			g->bands[i].open = false;
			g->bands[i].r1 = here(g);
		}
}

/* A link fault opens or closes a band. "partition A <-> B" is healed by "heal A <-> B" (or
 * "heal B <-> A"), "clog A -> B" by "unclog A -> B", "blackhole A DIR B on" by "... off". */
static void fault_bands(dg *g, int h, const char *rest)
{
	char w[4][64], k1[160], k2[160];
	int n = sscanf(rest, "%63s %63s %63s %63s", w[0], w[1], w[2], w[3]);
	if (n >= 4 && !strcmp(w[0], "partition")) {
		snprintf(k1, sizeof k1, "link %s %s", w[1], w[3]);
		band_open(g, 0, host(g, w[1]), host(g, w[3]), k1, rest);
	} else if (n >= 4 && !strcmp(w[0], "heal")) {
		snprintf(k1, sizeof k1, "link %s %s", w[1], w[3]);
		snprintf(k2, sizeof k2, "link %s %s", w[3], w[1]);
		band_close(g, k1);
		band_close(g, k2);
	} else if (n >= 4 && (!strcmp(w[0], "clog") || !strcmp(w[0], "unclog"))) {
		snprintf(k1, sizeof k1, "clog %s %s", w[1], w[3]);
		if (w[0][0] == 'c')
			band_open(g, 0, host(g, w[1]), host(g, w[3]), k1, rest);
		else
			band_close(g, k1);
	} else if (n >= 4 && !strcmp(w[0], "blackhole")) {
		char w4[8] = "";
		sscanf(rest, "%*s %*s %*s %*s %7s", w4);
		snprintf(k1, sizeof k1, "blackhole %s %s", w[1], w[3]);
		if (!strcmp(w4, "off"))
			band_close(g, k1);
		else
			band_open(g, 0, host(g, w[1]), host(g, w[3]), k1, rest);
	} else if (n >= 1 && (!strcmp(w[0], "crash") || !strcmp(w[0], "restart"))) {
		snprintf(k1, sizeof k1, "crash %d", h);
		if (w[0][0] == 'c')
			band_open(g, 1, h, h, k1, "crashed");
		else
			band_close(g, k1);
	}
}

static void record_send(dg_conn *c, int d, uint64_t n, double pos, int64_t t)
{
	c->sent[d] += n;
	c->last_send[d] = pos;
	c->last_send_t[d] = t;
	c->s[d] = mqtt_xgrow(c->s[d], &c->cap[d], c->ns[d] + 1, sizeof *c->s[d], 32);
	c->s[d][c->ns[d]++] = (dg_send){ .end = c->sent[d], .pos = pos };
}

/* Where the bytes from stream offset `off` on were sent. */
static double send_pos(dg_conn *c, int d, uint64_t off, double dflt)
{
	while (c->cur[d] < c->ns[d] && c->s[d][c->cur[d]].end <= off)
		c->cur[d]++;
	return c->cur[d] < c->ns[d] ? c->s[d][c->cur[d]].pos : dflt;
}

static int64_t parse_time(const char *s)
{
	char *end;
	long long sec = strtoll(s, &end, 10);
	long long us = 0;
	if (*end == '.') {
		const char *f = end + 1;
		int digits = 0;
		for (; *f >= '0' && *f <= '9' && digits < 6; f++, digits++)
			us = us * 10 + (*f - '0');
		for (; digits < 6; digits++)
			us *= 10;
	}
	return (int64_t)sec * 1000000 + us;
}

static void parse_line(dg *g, char *line)
{
	char when[32], hname[64], cid[32], kind[32];
	int off = 0;
	if (line[0] == '#' || sscanf(line, "%31s %63s %31s %31s %n", when, hname, cid, kind, &off) < 4 || !off)
		return;
	int64_t t = parse_time(when);
	const char *rest = line + off;
	size_t rl = strlen(rest);
	unsigned long id = 0;
	if (cid[0] != 'c' || sscanf(cid + 1, "%lu", &id) != 1) {
		/* The TCP engine's trace: "T HOST recv PACKET". */
		if (!strcmp(cid, "recv")) {
			const char *pkt = strstr(line, " recv ") + 6;
			int b = host(g, "broker"), h = host(g, hname);
			add_row(g, R_PKT, t, b, h, here(g), pkt, strlen(pkt));
		}
		return;
	}
	int h = host(g, hname);
	dg_conn *c = conn(g, id);
	if (!c && id && (!strcmp(kind, "mqtt") || !strcmp(kind, "mqtt-bad"))) {
		/* A packet on a connection whose opening the trace does not show: the other end is
		 * unknown, but the packet is still drawn. */
		int other = host(g, "?");
		bool to_server = !strcmp(kind, "mqtt") ? rest[0] == '-' : true;
		c = conn_add(g, id, to_server ? other : h, to_server ? h : other);
	}
	if (!strcmp(kind, "connect")) {
		char peer[64] = "broker";
		sscanf(rest, "to %63s", peer);
		int p = host(g, peer);
		conn_add(g, id, h, p);
		char txt[96];
		int n = snprintf(txt, sizeof txt, "TCP connect (c%lu)", id);
		add_row(g, R_CONNECT, t, h, p, here(g), txt, (size_t)n);
	} else if (!strcmp(kind, "send") && c) {
		int d = c->end[0] == h ? 0 : 1;
		record_send(c, d, strtoull(rest, NULL, 10), here(g), t);
	} else if (!strcmp(kind, "recv") && c) {
		int d = c->end[1] == h ? 0 : 1;
		c->before[d] = c->recvd[d];
		c->recvd[d] += strtoull(rest, NULL, 10);
	} else if (!strcmp(kind, "mqtt") && c && rl > 3) {
		int d = rest[0] == '-' ? 0 : 1;
		double start = send_pos(c, d, c->before[d], here(g));
		add_row(g, R_PKT, t, c->end[d], c->end[!d], start, rest + 3, rl - 3);
	} else if (!strcmp(kind, "mqtt-bad") && c) {
		int d = c->end[1] == h ? 0 : 1;
		double start = send_pos(c, d, c->before[d], here(g));
		add_row(g, R_BAD, t, c->end[d], c->end[!d], start, rest, rl);
	} else if (!strcmp(kind, "lost")) {
		int to = h;
		if (c)
			to = c->end[0] == h ? c->end[1] : c->end[0];
		g->info.lost++;
		/* Losses in a row on one connection and direction share a row ("lost 40 segments"):
		 * a partition would otherwise fill the diagram with them. */
		dg_row *last = g->nrows ? &g->rows[g->nrows - 1] : NULL;
		if (last && last->kind == R_LOST && last->conn == id && last->from == h && last->to == to) {
			last->count++;
			free(last->text);
			last->text = mqtt_xstrndup(rest, rl);
		} else if (add_row(g, R_LOST, t, h, to, here(g), rest, rl)) {
			g->rows[g->nrows - 1].conn = id;
			g->rows[g->nrows - 1].count = 1;
		}
	} else if (!strcmp(kind, "fault")) {
		fault_bands(g, h, rest);
		add_row(g, R_FAULT, t, h, h, here(g), rest, rl);
		g->info.faults++;
	} else if (!strcmp(kind, "rst") || !strcmp(kind, "abort") || !strcmp(kind, "timeout") ||
		   !strcmp(kind, "refused") || !strcmp(kind, "fin") || !strcmp(kind, "close")) {
		char txt[192];
		int n = snprintf(txt, sizeof txt, "c%lu %s: %s", id, kind, rest);
		add_row(g, R_END, t, h, h, here(g), txt, (size_t)(n < (int)sizeof txt ? n : (int)sizeof txt - 1));
	} else if (!strcmp(kind, "harness")) {
		add_row(g, R_STEP, t, h, h, here(g), rest, rl);
	}
}

/* ---- drawing -------------------------------------------------------------------------- */

static double x_of(int lifeline)
{
	return DG_LEFT + DG_COL / 2.0 + lifeline * (double)DG_COL;
}

static double y_of(double row)
{
	return DG_TOP + DG_ROW * (row + 0.5);
}

/* Escaped text, at most max code points (0: all); a cut ends with an ellipsis. */
static void text(FILE *f, const char *s, size_t max)
{
	size_t count = 0, n;
	uint32_t cp;
	for (const char *p = s; (n = rep_utf8_next(p, &cp)) > 0; p += n)
		count++;
	size_t k = 0;
	for (const char *p = s; (n = rep_utf8_next(p, &cp)) > 0; p += n, k++) {
		if (max && count > max && k + 1 == max) {
			rep_put_utf8(f, 0x2026);
			return;
		}
		rep_put_xml(f, cp);
	}
}

/* A packet's label: the printed packet less the fields at their defaults. */
static void packet_label(const char *pkt, char *out, size_t cap)
{
	size_t o = 0;
	const char *p = pkt;
	while (*p && o + 1 < cap) {
		size_t n = strcspn(p, " ");
		bool skip = (n == 5 && (!strncmp(p, "dup=0", 5))) || (n == 8 && !strncmp(p, "retain=0", 8)) ||
			    (n == 7 && !strncmp(p, "v=3.1.1", 7));
		if (!skip) {
			if (n > 6 && !strncmp(p, "topic=", 6))
				p += 6, n -= 6;
			if (o && o + 1 < cap)
				out[o++] = ' ';
			for (size_t i = 0; i < n && o + 1 < cap; i++)
				out[o++] = p[i];
		}
		p += n;
		p += strspn(p, " ");
	}
	out[o] = 0;
}

static const char *packet_class(const char *pkt)
{
	if (!strncmp(pkt, "PUBLISH", 7))
		return "pub";
	if (!strncmp(pkt, "CONNECT", 7) || !strncmp(pkt, "CONNACK", 7) || !strncmp(pkt, "DISCONNECT", 10))
		return "con";
	if (!strncmp(pkt, "SUB", 3) || !strncmp(pkt, "UNSUB", 5))
		return "sub";
	if (!strncmp(pkt, "PING", 4))
		return "ping";
	return "ack";
}

static void draw_row(FILE *f, const dg *g, size_t i)
{
	const dg_row *r = &g->rows[i];
	double y = y_of((double)i), x1 = x_of(r->from), x2 = x_of(r->to);
	double span = x1 > x2 ? x1 - x2 : x2 - x1;
	size_t chars = span > 0 ? (size_t)(span / 6.7) : (size_t)(DG_COL / 6.7);
	double mid = (x1 + x2) / 2;
	char label[600];
	switch (r->kind) {
	case R_PKT:
	case R_BAD: {
		bool bad = r->kind == R_BAD;
		/* Flat when nothing else happened between the send and the receipt; slanted across
		 * the rows of what did. */
		double y0 = r->start < (double)i - 1 ? y_of(r->start) : y;
		if (bad)
			snprintf(label, sizeof label, "undecodable: %s", r->text);
		else
			packet_label(r->text, label, sizeof label);
		fprintf(f, "<g class=\"%s %s\"><title>", bad ? "bad" : "pkt", bad ? "badpkt" : packet_class(r->text));
		text(f, r->text, 0);
		fprintf(f, "</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" marker-end=\"url(#arrow)\"/>", x1, y0,
			x2, y);
		/* The label sits on the packet's own row, so labels never stack, whatever the slant. */
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", mid, y - 6);
		text(f, label, chars > 4 ? chars - 2 : 3);
		fputs("</text></g>\n", f);
		break;
	}
	case R_LOST: {
		double xe = x1 + (x2 - x1) * 0.35;
		if (x1 == x2)
			xe = x1 + 30;
		fputs("<g class=\"lost\"><title>", f);
		if (r->count > 1)
			fprintf(f, "%zu segments lost in a row on c%lu; the last: ", r->count, r->conn);
		text(f, r->text, 0);
		fprintf(f, "</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x1, y, xe, y);
		fprintf(f, "<path d=\"M%.1f %.1fl8 8m0 -8l-8 8\"/>", xe - 4, y - 4);
		/* The label goes right: past the cross, or past the sender when the loss points left. */
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x2 >= x1 ? xe + 8 : x1 + 10, y + 4);
		if (r->count > 1)
			fprintf(f, "lost %zu segments, the last: ", r->count);
		else
			fputs("lost ", f);
		text(f, r->text, 40);
		fputs("</text></g>\n", f);
		break;
	}
	case R_CONNECT:
		fprintf(f, "<g class=\"connect\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" marker-end=\"url(#open)\"/>", x1,
			y, x2, y);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", mid, y - 6);
		text(f, r->text, 0);
		fputs("</text></g>\n", f);
		break;
	case R_FAULT:
	case R_END:
	case R_STEP: {
		const char *cls = r->kind == R_FAULT ? "fault" : r->kind == R_END ? "end" : "step";
		fprintf(f, "<g class=\"%s\"><title>", cls);
		text(f, r->text, 0);
		fputs("</title>", f);
		if (r->kind == R_FAULT)
			fprintf(f, "<path d=\"M%.1f %.1fl5 -9l-2 8l6 0l-7 10l2 -8l-6 0z\"/>", x1 - 3, y - 1);
		else
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\"/>", x1 - 4, y - 4);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x1 + 10, y + 4);
		if (r->kind == R_FAULT)
			fputs("fault: ", f);
		text(f, r->text, 60);
		fputs("</text></g>\n", f);
		break;
	}
	case R_UNSENT:
		fputs("<g class=\"unsent\"><title>", f);
		text(f, r->text, 0);
		fprintf(f, "</title><path d=\"M%.1f %.1fl10 10m0 -10l-10 10\"/>", x1 - 5, y - 5);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x1 + 10, y + 4);
		text(f, r->text, 80);
		fputs("</text></g>\n", f);
		break;
	}
}

int rep_write_diagram(FILE *f, const char *trace, size_t len, const char *title, size_t max_rows,
		      rep_diagram_info *info)
{
	dg g = { .max_rows = max_rows ? max_rows : REP_DIAGRAM_ROWS };
	host(&g, "broker");
	const char *p = trace, *end = trace ? trace + len : NULL;
	char line[1024];
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n >= sizeof line)
			n = sizeof line - 1;
		memcpy(line, p, n);
		line[n] = 0;
		p = nl ? nl + 1 : end;
		parse_line(&g, line);
	}
	/* Bytes sent and never received, marked at their last send. Each mark gets its own row
	 * at the end, and an arrow from its send row. */
	for (size_t i = 0; i < g.nconns; i++)
		for (int d = 0; d < 2; d++) {
			dg_conn *c = &g.conns[i];
			if (c->sent[d] > c->recvd[d]) {
				char txt[160], tb[48];
				fmt_time(tb, sizeof tb, c->last_send_t[d]);
				int n = snprintf(txt, sizeof txt, "c%lu: %" PRIu64 " B sent to %s never arrived (last send at %s)",
						 c->id, c->sent[d] - c->recvd[d], g.hosts[c->end[!d]], tb);
				g.info.undelivered += c->sent[d] - c->recvd[d];
				if (g.nrows < g.max_rows) {
					g.rows = mqtt_xgrow(g.rows, &g.cap, g.nrows + 1, sizeof *g.rows, 32);
					g.rows[g.nrows++] = (dg_row){ .kind = R_UNSENT, .t = -1, .from = c->end[d],
								      .to = c->end[d], .start = c->last_send[d],
								      .text = mqtt_xstrndup(txt, (size_t)n) };
				}
			}
		}
	for (size_t i = 0; i < g.nbands; i++)
		if (g.bands[i].open)
			g.bands[i].r1 = (double)g.nrows - 0.5;

	int cols = g.nhosts;
	double width = DG_LEFT + cols * (double)DG_COL + DG_RIGHT, height = y_of((double)g.nrows) + 10;
	fprintf(f, "<svg class=\"seq\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n", width,
		height, width, height);
	fputs("<title>", f);
	text(f, title ? title : "sequence diagram", 0);
	fputs("</title>\n", f);
	fputs("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" "
	      "orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"context-stroke\"/></marker>"
	      "<marker id=\"open\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" "
	      "orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10\" fill=\"none\" stroke=\"#888\"/></marker></defs>\n",
	      f);
	/* Bands under everything. */
	for (size_t i = 0; i < g.nbands; i++) {
		dg_band *b = &g.bands[i];
		double xa = x_of(b->a < b->b ? b->a : b->b), xb = x_of(b->a < b->b ? b->b : b->a);
		if (b->kind == 1)
			xa -= 7, xb += 7;
		double y0 = y_of(b->r0), y1 = y_of(b->r1);
		fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>", b->kind ? "crashband" : "band",
			xa, y0, xb - xa, y1 > y0 ? y1 - y0 : 2);
		text(f, b->text, 0);
		fputs("</title></rect>\n", f);
	}
	/* Lifelines and their names. */
	for (int i = 0; i < cols; i++) {
		double x = x_of(i);
		fprintf(f, "<line class=\"life\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, DG_TOP - 14, x,
			height - 6);
		fprintf(f, "<rect class=\"host\" x=\"%.1f\" y=\"8\" width=\"%d\" height=\"24\" rx=\"4\"/>", x - DG_COL / 2.0 + 12,
			DG_COL - 24);
		fprintf(f, "<text class=\"hostname\" x=\"%.1f\" y=\"25\">", x);
		if (i == DG_MAX_HOSTS - 1 && g.more_hosts)
			fputs("other hosts", f);
		else
			text(f, g.hosts[i], 30);
		fputs("</text>\n", f);
	}
	/* Times, where they change. */
	int64_t last = -2;
	for (size_t i = 0; i < g.nrows; i++) {
		if (g.rows[i].t < 0 || g.rows[i].t == last)
			continue;
		last = g.rows[i].t;
		char tb[48];
		fmt_time(tb, sizeof tb, last);
		fprintf(f, "<text class=\"time\" x=\"%d\" y=\"%.1f\">%s</text>\n", DG_LEFT - 8, y_of((double)i) + 4, tb);
	}
	for (size_t i = 0; i < g.nrows; i++)
		draw_row(f, &g, i);
	fputs("</svg>\n", f);

	for (size_t i = 0; i < g.nrows; i++)
		free(g.rows[i].text);
	free(g.rows);
	for (size_t i = 0; i < g.nconns; i++) {
		free(g.conns[i].s[0]);
		free(g.conns[i].s[1]);
	}
	free(g.conns);
	for (size_t i = 0; i < g.nbands; i++)
		free(g.bands[i].text);
	free(g.bands);
	g.info.rows = g.nrows;
	g.info.hosts = (size_t)g.nhosts;
	g.info.more_hosts = g.more_hosts;
	if (info)
		*info = g.info;
	return ferror(f) ? -1 : 0;
}
