/*
 * catalog.h - the catalog of normative statements of one MQTT version, loaded from YAML
 * (conformance/mqtt-3.1.1.yaml, conformance/mqtt-5.0.yaml): for each statement its id as the
 * standard's Appendix B prints it, an optional alias (the regular form of a misprinted id, or
 * the form the body text prints where it differs from the appendix), the section, whom it
 * binds, whether it is mandatory or leaves the server latitude, whether a client outside the
 * server can check it (and if not, why), and a paraphrase in our own words.
 *
 * The loader is strict: unknown keys, missing fields, duplicate ids or aliases, malformed
 * ids and values out of their sets are errors, reported as FILE:LINE:COLUMN: message (the
 * first problem in file order). Strings are owned by the catalog; catalog_free() frees all.
 */
#ifndef CONFORMANCE_CATALOG_H
#define CONFORMANCE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

enum cat_target {
	CAT_TARGET_SERVER,
	CAT_TARGET_CLIENT,
	CAT_TARGET_BOTH,
};

typedef struct cat_stmt {
	char *id;        /* as printed in the standard, e.g. "MQTT-3.3.1-8" or "MQTT-3-8.3-4" */
	char *alias;     /* the regular form of a misprinted id, the body's form of the id
			  * ("MQTT-4.2-1" for 5.0's "MQTT-4.2.0-1"), or NULL */
	char *section;   /* "3.3.1" */
	char *summary;   /* our paraphrase */
	char *reason;    /* why it is not testable; NULL when testable (or none was given) */
	int target;      /* enum cat_target */
	bool optional;   /* level: optional (the server has latitude) rather than mandatory */
	bool testable;   /* observable over the wire by a client outside the server */
} cat_stmt;

typedef struct catalog {
	char *version;   /* "3.1.1" or "5.0" */
	cat_stmt *v;     /* in file order */
	size_t n;
} catalog;

/* Load and validate a catalog file. NULL on failure, with the first problem in 'err'
 * ("FILE:LINE:COLUMN: message", or "FILE: message" when the file cannot be read). */
catalog *catalog_load(const char *path, char *err, size_t errlen);

/* The same from text in memory; 'name' stands for the file in messages. */
catalog *catalog_parse(const char *name, const char *text, size_t len, char *err, size_t errlen);

void catalog_free(catalog *c);

/* The statement with this id or alias, or NULL. */
const cat_stmt *catalog_find(const catalog *c, const char *id);

/* "server", "client" or "both" (or "?" for a value outside enum cat_target). */
const char *catalog_target_name(int target);

/* Whether 'id' has the regular form MQTT-<n>.<n>.<n>-<n> (numbers without leading zeros). */
bool catalog_id_regular(const char *id);

#endif
