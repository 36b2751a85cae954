/*
 * raw_send.h - the bytes of a `send` step. Hex pairs as before, and these forms:
 *
 *   {len}            the Remaining Length (a variable byte integer) of the bytes after it, up
 *                    to the next '|' or the end
 *   |                ends a packet (no bytes): "10 {len} ... | c0 00"
 *   {id:TEXT}        a length-prefixed client identifier TEXT, with the run's client id prefix
 *                    ("PREFIX-TEXT") where there is one (over TCP), as a connect step's id is
 *   {topic:TEXT}     a length-prefixed topic TEXT with the run's topic prefix where
 *                    raw_prefix_at() puts one ("PREFIX/TEXT"; "$share/G/PREFIX/F" for a
 *                    shared subscription's filter $share/G/F), as a subscribe step's filter is
 *   {alnum:TEXT}     TEXT (letters and digits) as is in simulation; with a prefix, the same
 *                    length and still letters and digits, its last 12 characters (all, if
 *                    fewer) a tag drawn from the run's prefix: for statements about exactly
 *                    such identifiers
 *
 * {id:...} and {topic:...} may end with ',' and hex bytes appended to the string (for
 * ill-formed UTF-8 in a test of it): {id:msim311-,ed a0 80}.
 */
#ifndef MQTTSIM_RAW_SEND_H
#define MQTTSIM_RAW_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct raw_names {
	const char *id_prefix;    /* NULL or "": none */
	const char *topic_prefix; /* NULL or "": none */
} raw_names;

/* Where the run's topic prefix (and a '/' after it) goes in the topic or filter t of n bytes:
 * the offset to insert it at, or -1 for nowhere. Before the topic (0), except: an empty one
 * stays empty and one that starts with '$' keeps it (the server's own topics, which no prefix
 * may hide); with share, a shared subscription's filter $share/GROUP/FILTER takes it before
 * FILTER (the same rules for FILTER), so the group still shares FILTER within the run only,
 * and a $share/GROUP with no FILTER takes none (it is a malformed name, kept as written). */
long raw_prefix_at(const char *t, size_t n, bool share);

/* The bytes of `text` (malloc'd into *out). Returns their number, or -1 with *msg saying what
 * is wrong and where (character positions count from 1). */
long raw_expand(const char *text, const raw_names *nm, uint8_t **out, char *msg, size_t cap);

/* Whether `text` uses any of the forms above (else it is hex only). */
bool raw_is_template(const char *text);

#endif
