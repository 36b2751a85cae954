/*
 * scenario_load_internal.h - what the scenario loader's files share; private to them.
 *
 * The loader is one module in several files, each a part of the schema:
 *   scenario_load.c    the file and the document, the top-level keys, clients, entry points
 *   scenario_walk.c    the walker: loader state and errors, "did you mean", sections as
 *                      mappings of known keys, lists, typed values, client and host names
 *   units.c            numbers and units (durations, sizes, bit rates, fractions)
 *   scenario_faults.c  the network's links, faults and random_faults
 *   scenario_steps.c   steps and the expectations over the whole run
 *   scenario_nodes.c   simulated NodeMCU nodes and their sensors
 *   scenario_props.c   MQTT 5.0: the protocol version and properties
 * What crosses files is prefixed scn__; everything else is static to its file.
 *
 * Every value the walker reads goes through a scn__n_*() reader: it reports what is wrong,
 * where (the node's FILE:LINE:COLUMN), and returns false, so a section reads on and the
 * user gets every problem in one round. Errors are collected in ld's sc_errors and sorted
 * into file order at the end (sections are read in dependency order, not file order).
 */
#ifndef HARNESS_SCENARIO_LOAD_INTERNAL_H
#define HARNESS_SCENARIO_LOAD_INTERNAL_H

#include "harness/scenario.h"
#include "harness/units.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#define MAX_CLIENTS 10000
#define MAX_ITEMS 1000              /* spec ids, filters of one (un)subscribe, SUBACK codes */
#define MAX_FIELDS 32               /* keys of the largest section (5.0 properties) */

/* ---- loader state ---------------------------------------------------------------------- */

typedef struct id_ref {
	const char *id;
	int idx;
	sc_pos pos;
} id_ref;

typedef struct ld {
	const char *file;
	const char *text;
	size_t len;
	yaml_document_t doc;
	scenario *s;
	sc_errors *errs;
	sc_pos epos[SC_MAX_ERRORS]; /* position of each error, to sort them into file order */
	long visits;
	bool halt;                  /* out of memory or over the visit budget: stop walking */
	id_ref *ids;                /* client ids sorted by name, for lookups */
	size_t nids;
	const char *duration_text;  /* the scenario's `duration` as written, for messages */
} ld;

/* A short text for messages, returned by value so a call can sit in an argument list
 * (C11 gives an array in a struct rvalue a lifetime to the end of the full expression). */
typedef struct txt {
	char s[400];
} txt;

/* The keys of one mapping, read against the section's table: unknown keys, keys that are
 * not words and duplicates are reported by scn__fields_read(), so section functions only
 * read values. */
typedef struct fields {
	const char *what;             /* the section, for messages: "publish needs 'topic'" */
	const char *const *keys;      /* NULL-terminated */
	const yaml_node_t *map;
	yaml_node_t *key[MAX_FIELDS];
	yaml_node_t *val[MAX_FIELDS];
	bool unknown;                 /* an unknown key was reported */
	unsigned suggested;           /* bit per slot: a "did you mean" named this key */
} fields;

static inline bool scn__is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int scn__lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ---- scenario_walk.c: messages and errors ---------------------------------------------- */

txt scn__quoted(const char *s);                          /* quoted, shortened, controls as '?' */
txt scn__join(const char *const *names, size_t n);       /* "a, b, c", shortened */
size_t scn__count_of(const char *const *list);           /* of a NULL-terminated list */
const char *scn__sval(const yaml_node_t *n);
bool scn__is_scalar(const yaml_node_t *n);
bool scn__is_null(const yaml_node_t *n);
txt scn__describe(const yaml_node_t *n);                 /* for "got ..." */
sc_pos scn__pos_of(const yaml_node_t *n);
__attribute__((format(printf, 3, 4)))
void scn__err_at(ld *L, sc_pos p, const char *fmt, ...);
__attribute__((format(printf, 3, 4)))
void scn__err(ld *L, const yaml_node_t *n, const char *fmt, ...);
void scn__oom(ld *L);
void *scn__xcalloc(ld *L, size_t n, size_t size);        /* NULL reported: out of memory */
char *scn__xstrdup(ld *L, const char *s);
/* Every node the walker looks at goes through here, so the budget covers alias expansion. */
yaml_node_t *scn__node(ld *L, int idx);

/* ---- scenario_walk.c: sections and lists ----------------------------------------------- */

int scn__key_slot(const char *const *keys, const char *k);
/* Read map against keys. False (reported) when map is not a mapping. */
bool scn__fields_read(ld *L, const yaml_node_t *map, const char *what, const char *const *keys,
		      fields *f);
int scn__slot(const fields *f, const char *key);
yaml_node_t *scn__fget(const fields *f, const char *key); /* the value given for key, or NULL */
yaml_node_t *scn__fkey(const fields *f, const char *key); /* the key node, or NULL */
/* Is key there? If not, say so, unless a misspelling of it was already reported. */
bool scn__frequire(ld *L, const fields *f, const char *key);
/* The one key of `choices` present in f; two or more are reported, none is the caller's. */
const char *scn__only_one(ld *L, const fields *f, const char *const *choices, const char *hint);
/* Items in a list; a key with nothing under it is an empty list. -1 when reported. */
long scn__list_count(ld *L, const yaml_node_t *v, const char *key, long max);
yaml_node_t *scn__list_item(ld *L, const yaml_node_t *v, long i);
/* A list of sections (faults, steps, ...): a new zeroed array of `size`-byte slots, one per
 * item, each item given to load() with its slot. *count counts a slot before its load, so
 * what a failed load left is freed with the rest. NULL when the list is empty or reported
 * (or, after a reported item, the slots so far). */
void *scn__list_load(ld *L, const yaml_node_t *v, const char *key, long max, size_t size, size_t *count,
		     void (*load)(ld *L, const yaml_node_t *item, void *slot));
/* Lists of words also take one word alone: `spec: MQTT-3.3.1-8` reads as a list of one. */
long scn__word_count(ld *L, const yaml_node_t *v, const char *key, long max);
yaml_node_t *scn__word_item(ld *L, const yaml_node_t *v, long i);

/* ---- scenario_walk.c: typed values (false or -1 when reported) ------------------------- */

enum amount_kind { DURATION, SIZE, BITRATE };
enum {
	AMT_POSITIVE = 1, /* more than zero */
	AMT_SIGNED = 2,   /* may be negative: a clock jumps back */
	AMT_SECONDS = 4,  /* whole seconds, as MQTT's keepalive */
};

/* The text of a scalar that is not null, or NULL with "'key' must be <expected>, got ...". */
const char *scn__scalar(ld *L, const yaml_node_t *v, const char *key, const char *expected);
bool scn__n_str(ld *L, const yaml_node_t *v, const char *key, char **out);
bool scn__n_bool(ld *L, const yaml_node_t *v, const char *key, bool *out);
bool scn__n_int(ld *L, const yaml_node_t *v, const char *key, int64_t min, int64_t max, int64_t *out);
bool scn__n_number(ld *L, const yaml_node_t *v, const char *key, double min, double max, double *out);
bool scn__n_qos(ld *L, const yaml_node_t *v, uint8_t *out);
bool scn__n_amount(ld *L, const yaml_node_t *v, const char *key, enum amount_kind k, int flags,
		   int64_t *out);
bool scn__n_fraction(ld *L, const yaml_node_t *v, const char *key, double *out);
int scn__n_choice(ld *L, const yaml_node_t *v, const char *key, const char *const *choices);
bool scn__n_topic(ld *L, const yaml_node_t *v, const char *key, bool filter, char **out);
bool scn__n_packet(ld *L, const yaml_node_t *v, const char *key, int *out);

/* ---- scenario_walk.c: names of clients and hosts --------------------------------------- */

bool scn__word_ok(const char *s);                        /* letters, digits, '-', '_', '.' */
int scn__find_client(const ld *L, const char *name);     /* its index, or -1 */
/* Report a name that is neither a client nor (for hosts) the broker. */
void scn__unknown_name(ld *L, const yaml_node_t *v, const char *name, bool host);
bool scn__n_client(ld *L, const yaml_node_t *v, const char *key, int *out);
/* A host: "broker" or a client id. Its index: the client's, or nclients for the broker. */
int scn__host_index(const ld *L, const char *name);
bool scn__n_host(ld *L, const yaml_node_t *v, const char *key, char **out);

/* ---- units.c: numbers without units (sc_parse_* in units.h take units) ----------------- */

bool scn__is_bare_number(const char *s);                 /* "250", "1.5" */
bool scn__parse_int(const char *s, int64_t *out);        /* decimal or 0x hex, signed */
bool scn__parse_u64(const char *s, uint64_t *out);       /* decimal */
bool scn__parse_number(const char *s, double *out);      /* "200", "-12.5", "1e3" */

/* ---- the sections, one file each (scenario_load.c reads them in dependency order) ------ */

/* A list of statement ids (or one id alone) into *ids; a step's or an expectation's list
 * (sub) may only name statements of the scenario's own list. scenario_load.c. */
void scn__load_ids(ld *L, const yaml_node_t *v, char ***ids, size_t *nids, bool sub);
void scn__load_network(ld *L, const yaml_node_t *v);     /* scenario_faults.c */
void scn__load_faults(ld *L, const yaml_node_t *v);
void scn__load_random_faults(ld *L, const yaml_node_t *v);
void scn__load_steps(ld *L, const yaml_node_t *v);       /* scenario_steps.c */
void scn__load_expects(ld *L, const yaml_node_t *v);
void scn__load_nodes(ld *L, const yaml_node_t *v);       /* scenario_nodes.c */

/* ---- scenario_props.c: MQTT 5.0 ------------------------------------------------------- */

/* `version: 3.1.1` or `version: 5.0` into *out (MQTT_V311 / MQTT_V5); false when absent or
 * reported. */
bool scn__n_version(ld *L, const yaml_node_t *v, uint8_t *out);
/* A `properties:` mapping for a packet of type `where` (enum mqtt_type, or MQTT_PROPS_WILL).
 * expect: the properties of a packet received, where a value may also be `present` or
 * `absent`; else of one to send. Unknown properties, properties the packet cannot carry,
 * values of the wrong type are reported. NULL when v is NULL or nothing could be read. */
sc_props *scn__load_props(ld *L, const yaml_node_t *v, int where, bool expect);
void scn__props_free(sc_props *p);
/* Is the step's client a 5.0 client? If not, report that `key` (at k) needs 5.0. A step
 * with no (known) client passes: its other error is already said. */
bool scn__need_v5(ld *L, const sc_step *st, const yaml_node_t *k, const char *key);

/* A will ({ topic, payload, qos, retain }) into the four; false (reported) when v is not a
 * mapping. A client's connect step and a node say it alike. scenario_steps.c. */
bool scn__load_will(ld *L, const yaml_node_t *v, char **topic, char **payload, uint8_t *qos,
		    bool *retain);
/* The keys of one subscription, { filter, qos }: for a subscribe step and a node's. */
extern const char *const scn__sub_keys[];

#endif
