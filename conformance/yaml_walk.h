/*
 * yaml_walk.h - the pieces of reading YAML with libyaml that the statement catalog
 * (conformance/catalog.c) and the scenario loader (harness/scenario_*.c) share.
 *
 * It lives in conformance/ because that is the lowest room that reads YAML and that both
 * loaders may use (DESIGN.md: harness -> conformance -> mqtt; mqtt/ uses libc only). It says
 * what is wrong and where, as data (a status and a 1-based line and column); the callers
 * word the messages, each for its own kind of file.
 *
 * Hostile input. libyaml's scanner takes time quadratic in the flow nesting depth and its
 * composer memory in the node count, so yw_shape() reads the events once, before the
 * document is built, and bounds both. An alias makes the document a graph: every node an
 * alias leads to is shared, but a loader that copies a string each time it reads it copies
 * the anchor's text once per use (a 1 MiB string used 3,000 times is 3 GB). yw_shape() also
 * sums the text of the document as if every alias were replaced by a copy of its anchor,
 * and stops at the alias that takes the sum over a budget.
 *
 * The two loaders word their own messages, but a bound crossed and a syntax error read the
 * same in both but for the kind of file, so yw_shape_check() and yw_syntax_error() word those.
 */
#ifndef CONFORMANCE_YAML_WALK_H
#define CONFORMANCE_YAML_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

typedef struct yw_limits {
	long max_depth;         /* nested lists and mappings */
	long max_nodes;         /* scalars, lists, mappings and aliases, as written */
	size_t max_expanded;    /* bytes of scalar text with every alias expanded */
} yw_limits;

typedef enum yw_status {
	YW_OK,
	YW_TOO_DEEP,            /* at the list or mapping that opens level max_depth + 1 */
	YW_TOO_MANY,            /* at the node past max_nodes */
	YW_TOO_BIG,             /* at the alias (or scalar) whose text crosses max_expanded */
	YW_NO_MEMORY,
} yw_status;

typedef struct yw_pos {
	int line, col;          /* 1-based */
} yw_pos;

/* The first pass over the events of text[0, len): the first bound it crosses, with the
 * position of the event that crossed it, in *at. A syntax error is not reported (YW_OK):
 * the composer meets it at the same place and says it. Allocates nothing that outlives it. */
yw_status yw_shape(const char *text, size_t len, const yw_limits *lim, yw_pos *at);

/* yw_shape(), and when it stops, what to tell the user in msg[cap]: `what` names the kind of
 * file ("the catalog is too large: more than 200000 values"), `depth_note` follows "nesting
 * deeper than N levels; " ("a catalog needs three"). *at is 1:1 for YW_NO_MEMORY. */
yw_status yw_shape_check(const char *text, size_t len, const yw_limits *lim, const char *what,
			 const char *depth_note, yw_pos *at, char *msg, size_t cap);

/* libyaml's parse error in p as "YAML syntax error: PROBLEM (CONTEXT at L:C)" in msg[cap],
 * at its place in text[0, len) (a reader error, such as bad UTF-8, carries only a byte
 * offset). With hints, a reader error also names the byte, and an error at a tab says that
 * tabs cannot indent YAML. A memory error is "out of memory" at 1:1. */
void yw_syntax_error(const yaml_parser_t *p, const char *text, size_t len, bool hints, yw_pos *at,
		     char *msg, size_t cap);

#endif
