/*
 * explore_cmd.h - internal to harness/: what cmd_explore.c shares with cmd_shrink.c
 * (`mqttsim shrink` and `mqttsim replay`).
 */
#ifndef HARNESS_EXPLORE_CMD_H
#define HARNESS_EXPLORE_CMD_H

#include "harness/scenario.h"

#include <stddef.h>
#include <stdio.h>

/* A whole file, NUL-terminated, malloc'd; NULL after saying why on err ("mqttsim CMD: ..."). */
char *explore_slurp(const char *path, size_t *len, FILE *err, const char *cmd);
/* A scenario, or NULL after printing every error. */
scenario *explore_load(const char *path, FILE *err, const char *cmd);
/* A JSON string (ASCII; other bytes escaped or replaced). */
void explore_jstr(FILE *f, const char *s);
/* The first line where two traces differ, described with the names of the two (malloc'd);
 * NULL if they are equal. */
char *explore_trace_diff(const char *a, size_t alen, const char *b, size_t blen, const char *na,
			 const char *nb);

#endif
