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

void sim_trace(sim_world *w, const char *host, uint64_t conn, const char *kind, const char *fmt, ...)
{
	char line[768];
	va_list ap;
	if (w->trace_off)
		return;
	int n = snprintf(line, sizeof line, "%6lld.%06lld %s c%llu %s ", (long long)(w->now / 1000000),
			 (long long)(w->now % 1000000), host ? host : "-", (unsigned long long)conn, kind);
	if (n < 0)
		return;
	if ((size_t)n < sizeof line) {
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
	}
	if ((size_t)n >= sizeof line - 1)
		n = (int)sizeof line - 2; /* long details are cut, consistently */
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

uint64_t sim_trace_hash(const sim_world *w) { return w->trace_hash; }
uint64_t sim_trace_lines(const sim_world *w) { return w->trace_lines; }

const char *sim_trace_text(const sim_world *w, size_t *len)
{
	if (len)
		*len = w->trace_len;
	return w->trace_text;
}
