/*
 * timeline.h - a run's trace as a timeline for terminals: who sent which packet to whom,
 * faults, connections opening and closing, and the harness's steps.
 *
 * A pure function of the trace text (the format of sim/trace.c); colour only when asked.
 */
#ifndef REPORTS_TIMELINE_H
#define REPORTS_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct timeline_opts {
	bool colour;       /* ANSI colours (the caller decides: a TTY and no NO_COLOR) */
	bool bytes;        /* also show send/recv byte counts */
} timeline_opts;

/* Write the timeline of `trace` (len bytes) to out. Lines it does not understand are
 * passed over. Returns the number of events written. */
size_t timeline_write(const char *trace, size_t len, const timeline_opts *o, FILE *out);

#endif
