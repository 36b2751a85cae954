/*
 * trace.c - the run's trace: one line per event, hashed as it is written.
 *
 * Line format (stable; tests and tools read it):
 *   <seconds>.<micros> <host> c<conn> <kind> <details>
 * with conn 0 for events that belong to no connection.
 */
#include "sim/world.h"
#include "mqtt/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_trace_record(sim_world *w, bool keep_text, sim_trace_sink *also_to, void *ctx)
{
	w->trace_keep = keep_text;
	w->trace_sink = also_to;
	w->trace_sink_ctx = ctx;
}

void sim_trace_enable(sim_world *w, bool on) { w->trace_off = !on; }

#define LINE_MAX_LEN 768 /* a line's buffer; longer lines are cut to LINE_MAX_LEN - 2 + '\n' */

/* Decimal digits of v at p, returning the count; no padding. */
static size_t put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* The fixed part of a line, "%6lld.%06lld %s c%llu %s ", written by hand: snprintf for it
 * was most of the cost of a traced run. Returns the length, or -1 when the fields are too
 * long for this fast way (the caller then uses snprintf, whose bytes these equal). */
static int put_prefix(char *line, sim_us now, const char *host, uint64_t conn, const char *kind)
{
	size_t hl = strlen(host), kl = strlen(kind);
	if (now < 0 || hl + kl > LINE_MAX_LEN / 2)
		return -1;
	char *p = line;
	uint64_t sec = (uint64_t)now / 1000000, us = (uint64_t)now % 1000000;
	char digits[20];
	size_t sn = put_u64(digits, sec);
	for (size_t i = sn; i < 6; i++)
		*p++ = ' ';
	memcpy(p, digits, sn);
	p += sn;
	*p++ = '.';
	for (int i = 5; i >= 0; i--) {
		p[i] = (char)('0' + us % 10);
		us /= 10;
	}
	p += 6;
	*p++ = ' ';
	memcpy(p, host, hl);
	p += hl;
	*p++ = ' ';
	*p++ = 'c';
	p += put_u64(p, conn);
	*p++ = ' ';
	memcpy(p, kind, kl);
	p += kl;
	*p++ = ' ';
	return (int)(p - line);
}

static int slow_prefix(char *line, sim_us now, const char *host, uint64_t conn, const char *kind)
{
	return snprintf(line, LINE_MAX_LEN, "%6lld.%06lld %s c%llu %s ", (long long)(now / 1000000),
			(long long)(now % 1000000), host, (unsigned long long)conn, kind);
}

/* Hash, hand to the sink, keep: line holds n bytes and room for two more. */
static void emit(sim_world *w, char *line, int n)
{
	if ((size_t)n >= LINE_MAX_LEN - 1)
		n = LINE_MAX_LEN - 2; /* long details are cut, consistently */
	line[n++] = '\n';
	line[n] = 0;
	w->trace_hash = sim_hash64(w->trace_hash, line, (size_t)n);
	w->trace_lines++;
	if (w->trace_sink)
		w->trace_sink(w->trace_sink_ctx, line, (size_t)n);
	if (w->trace_keep) {
		if (w->trace_len + (size_t)n + 1 > w->trace_cap) {
			size_t cap = w->trace_cap ? w->trace_cap * 2 : 65536;
			while (cap < w->trace_len + (size_t)n + 1)
				cap *= 2;
			char *t = mqtt_xrealloc(w->trace_text, cap);
			w->trace_text = t;
			w->trace_cap = cap;
		}
		memcpy(w->trace_text + w->trace_len, line, (size_t)n + 1);
		w->trace_len += (size_t)n;
	}
}

void sim_trace(sim_world *w, const char *host, uint64_t conn, const char *kind, const char *fmt, ...)
{
	char line[LINE_MAX_LEN];
	va_list ap;
	if (w->trace_off)
		return;
	if (!host)
		host = "-";
	int n = put_prefix(line, w->now, host, conn, kind);
	if (n < 0)
		n = slow_prefix(line, w->now, host, conn, kind);
	if (n < 0)
		return;
	if ((size_t)n < sizeof line) {
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
	}
	emit(w, line, n);
}

void sim__trace_size(sim_world *w, const char *host, uint64_t conn, const char *kind, size_t bytes)
{
	char line[LINE_MAX_LEN];
	if (w->trace_off)
		return;
	int n = put_prefix(line, w->now, host, conn, kind);
	if (n < 0) {
		sim_trace(w, host, conn, kind, "%zuB", bytes);
		return;
	}
	n += (int)put_u64(line + n, bytes);
	line[n++] = 'B';
	emit(w, line, n);
}

uint64_t sim_trace_hash(const sim_world *w) { return w->trace_hash; }
uint64_t sim_trace_lines(const sim_world *w) { return w->trace_lines; }

const char *sim_trace_text(const sim_world *w, size_t *len)
{
	if (len)
		*len = w->trace_len;
	return w->trace_text;
}
