/*
 * yaml_walk.c - shared pieces of the YAML loaders (yaml_walk.h).
 */
#include "conformance/yaml_walk.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- anchors: name -> expanded size ---------------------------------------------------- */

typedef struct anchor {
	char *name;             /* NULL: a free slot */
	size_t bytes;           /* its text with aliases expanded, once it has ended */
	size_t start;           /* while open: the expanded bytes before it began */
	bool open;              /* a list or mapping not yet ended (an alias in it is a cycle) */
} anchor;

typedef struct anchors {
	anchor *v;
	size_t cap, n;          /* cap a power of two, n < cap / 2 */
} anchors;

/* FNV-1a over the name: the slot depends only on the text, never on an address. */
static size_t slot_of(const anchors *t, const char *name)
{
	uint64_t h = 14695981039346656037ull;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	size_t i = (size_t)h & (t->cap - 1);
	while (t->v[i].name && strcmp(t->v[i].name, name))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static bool grow(anchors *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	anchor *old = t->v;
	size_t oldcap = t->cap;
	if (!(t->v = calloc(cap, sizeof *t->v))) {
		t->v = old;
		return false;
	}
	t->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].name)
			t->v[slot_of(t, old[i].name)] = old[i];
	free(old);
	return true;
}

/* The entry of 'name', made if new (a name defined again starts afresh; the composer
 * reports the duplicate). NULL when out of memory. */
static anchor *define(anchors *t, const char *name)
{
	if ((t->n + 1) * 2 > t->cap && !grow(t))
		return NULL;
	anchor *a = &t->v[slot_of(t, name)];
	if (!a->name) {
		if (!(a->name = strdup(name)))
			return NULL;
		t->n++;
	}
	a->bytes = a->start = 0;
	a->open = false;
	return a;
}

static anchor *find(const anchors *t, const char *name)
{
	if (!t->cap)
		return NULL;
	anchor *a = &t->v[slot_of(t, name)];
	return a->name ? a : NULL;
}

static void anchors_free(anchors *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->v[i].name);
	free(t->v);
}

/* ---- the first pass -------------------------------------------------------------------- */

typedef struct open_coll {
	size_t start;           /* expanded bytes before it opened */
	char *anchor;           /* its anchor's name (owned), or NULL */
} open_coll;

yw_status yw_shape(const char *text, size_t len, const yw_limits *lim, yw_pos *at)
{
	*at = (yw_pos){ 1, 1 };
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return YW_NO_MEMORY;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	anchors tab = { 0 };
	open_coll *stack = calloc((size_t)lim->max_depth + 1, sizeof *stack);
	yw_status st = stack ? YW_OK : YW_NO_MEMORY;
	long depth = 0, nodes = 0;
	size_t total = 0; /* expanded bytes so far; never far past the budget, so no overflow */
	bool done = false;
	while (st == YW_OK && !done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev))
			break;
		*at = (yw_pos){ (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1 };
		const unsigned char *name = NULL;
		size_t add = 0;
		bool opens = false, is_node = true;
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
			opens = true;
			name = ev.data.sequence_start.anchor;
			break;
		case YAML_MAPPING_START_EVENT:
			opens = true;
			name = ev.data.mapping_start.anchor;
			break;
		case YAML_SCALAR_EVENT:
			add = ev.data.scalar.length;
			break;
		case YAML_ALIAS_EVENT: {
			/* An undefined one is the composer's error. One of a list or mapping still
			 * open (a cycle) counts what that holds so far: a loader walks a cycle only
			 * as deep as its schema. */
			const anchor *a = find(&tab, (const char *)ev.data.alias.anchor);
			add = !a ? 0 : a->open ? total - a->start : a->bytes;
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			is_node = false;
			if (depth > 0) {
				open_coll *c = &stack[--depth];
				if (c->anchor) {
					anchor *a = find(&tab, c->anchor);
					if (a && a->open) {
						a->bytes = total - c->start;
						a->open = false;
					}
					free(c->anchor);
					c->anchor = NULL;
				}
			}
			break;
		default:
			is_node = false;
			done = ev.type == YAML_STREAM_END_EVENT;
			break;
		}
		if (st != YW_OK)
			;
		else if (opens && depth + 1 > lim->max_depth)
			st = YW_TOO_DEEP;
		else if (is_node && ++nodes > lim->max_nodes)
			st = YW_TOO_MANY;
		else if (add > lim->max_expanded - total)
			st = YW_TOO_BIG;
		else if (opens) {
			stack[depth] = (open_coll){ total, NULL };
			if (name) {
				anchor *a = define(&tab, (const char *)name);
				if (!a || !(stack[depth].anchor = strdup((const char *)name))) {
					st = YW_NO_MEMORY;
				} else {
					a->open = true;
					a->start = total;
				}
			}
			depth++;
		} else {
			total += add;
			if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.anchor) {
				anchor *a = define(&tab, (const char *)ev.data.scalar.anchor);
				if (!a)
					st = YW_NO_MEMORY;
				else
					a->bytes = add;
			}
		}
		yaml_event_delete(&ev);
	}
	if (stack)
		for (long i = 0; i < depth; i++)
			free(stack[i].anchor);
	free(stack);
	anchors_free(&tab);
	yaml_parser_delete(&p);
	return st;
}

yw_status yw_shape_check(const char *text, size_t len, const yw_limits *lim, const char *what,
			 const char *depth_note, yw_pos *at, char *msg, size_t cap)
{
	yw_status st = yw_shape(text, len, lim, at);
	switch (st) {
	case YW_OK:
		break;
	case YW_TOO_DEEP:
		snprintf(msg, cap, "nesting deeper than %ld levels; %s", lim->max_depth, depth_note);
		break;
	case YW_TOO_MANY:
		snprintf(msg, cap, "the %s is too large: more than %ld values", what, lim->max_nodes);
		break;
	case YW_TOO_BIG:
		snprintf(msg, cap, "the %s is too large: with its aliases expanded it holds more than "
			 "%zu MiB of text (each use of an alias repeats its anchor's text)", what,
			 lim->max_expanded >> 20);
		break;
	case YW_NO_MEMORY:
		*at = (yw_pos){ 1, 1 };
		snprintf(msg, cap, "out of memory");
		break;
	}
	return st;
}

/* ---- syntax errors --------------------------------------------------------------------- */

/* The line and column of byte off (columns count characters, not UTF-8 bytes). */
static yw_pos offset_pos(const char *text, size_t len, size_t off)
{
	yw_pos p = { 1, 1 };
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n')
			p.line++, p.col = 1;
		else if (((unsigned char)text[i] & 0xC0) != 0x80)
			p.col++;
	}
	return p;
}

/* The byte at a libyaml mark (0-based line, column in characters), or 0. */
static int char_at(const char *text, size_t len, size_t line, size_t col)
{
	size_t i = 0;
	for (size_t l = 0; l < line && i < len; i++)
		if (text[i] == '\n')
			l++;
	for (; col > 0 && i < len; col--)
		for (i++; i < len && ((unsigned char)text[i] & 0xC0) == 0x80; i++)
			;
	return i < len ? (unsigned char)text[i] : 0;
}

void yw_syntax_error(const yaml_parser_t *p, const char *text, size_t len, bool hints, yw_pos *at,
		     char *msg, size_t cap)
{
	if (p->error == YAML_MEMORY_ERROR) {
		*at = (yw_pos){ 1, 1 };
		snprintf(msg, cap, "out of memory");
		return;
	}
	char extra[160] = "";
	if (p->error == YAML_READER_ERROR) {
		*at = offset_pos(text, len, p->problem_offset);
		if (hints && p->problem_value >= 0)
			snprintf(extra, sizeof extra, " (byte 0x%02X)", (unsigned)p->problem_value & 0xFFu);
	} else {
		*at = (yw_pos){ (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1 };
		if (p->context)
			snprintf(extra, sizeof extra, " (%s at %d:%d)", p->context,
				 (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
		if (hints && char_at(text, len, p->problem_mark.line, p->problem_mark.column) == '\t')
			snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
				 "; tabs cannot indent YAML, use spaces");
	}
	snprintf(msg, cap, "YAML syntax error: %s%s", p->problem ? p->problem : "unknown problem", extra);
}
