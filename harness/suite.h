/*
 * suite.h - the suite built into the binary: the catalogs, the expected-failure lists and
 * every scenario under scenarios/, as they were in the tree when mqttsim was built
 * (build/gen/suite_data.c, written by harness/embed.sh; the tree stays the source of truth).
 * An installed mqttsim runs `conform`, `list` and the examples from any directory.
 *
 * Which copy is used: the defaults of `conform` (its catalog and scenario directory) and of
 * `list` are always the built-in ones, so a binary gives the same verdicts wherever it runs;
 * a path the user names is read from disk, and only when nothing is there, from the built-in
 * files of that path (so `mqttsim run scenarios/examples/qos1-publish.yaml` works anywhere).
 */
#ifndef HARNESS_SUITE_H
#define HARNESS_SUITE_H

#include "harness/scenario.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct suite_file {
	const char *path;            /* as in the tree: "scenarios/examples/qos1-publish.yaml" */
	const unsigned char *data;   /* NUL-terminated */
	size_t len;
} suite_file;

/* The built-in file at path ("./" prefixes and repeated or trailing slashes ignored), or
 * NULL. */
const suite_file *suite_find(const char *path);
/* Is there a built-in file under the directory dir? */
bool suite_has_dir(const char *dir);
/* The built-in files directly in dir (depth 1) whose names end in ext, and the directories
 * under it (as "DIR/sub"), in name order: each path malloc'd into *out (free each, then
 * the array). Returns the count. */
size_t suite_list_dir(const char *dir, const char *ext, char ***out);

/* A scenario from disk, or from the built-in files when path names nothing on disk. */
scenario *suite_scenario_load(const char *path, sc_errors *e);
/* A scenario from the built-in files only (NULL with an error when there is none). */
scenario *suite_scenario_builtin(const char *path, sc_errors *e);

/* For the generated table. */
extern const suite_file suite__files[];
extern const size_t suite__nfiles;

#endif
