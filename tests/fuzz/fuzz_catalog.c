/*
 * fuzz_catalog.c - libFuzzer target for the conformance catalog loader
 * (conformance/catalog.c), fed from memory through catalog_parse().
 *
 * Oracle, besides the sanitizers: NULL comes with a message naming the file; a catalog
 * that loads has what the header promises (every statement an id, a section and a
 * target in its set; catalog_find finds each by its id).
 */
#include "conformance/catalog.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	err[0] = 0;
	catalog *c = catalog_parse("fuzz.yaml", (const char *)data, size, err, sizeof err);
	if (!c) {
		if (strncmp(err, "fuzz.yaml", 9) != 0) {
			fprintf(stderr, "catalog_parse failed without saying where: '%s'\n", err);
			abort();
		}
		return 0;
	}
	if (!c->version)
		abort();
	for (size_t i = 0; i < c->n; i++) {
		const cat_stmt *s = &c->v[i];
		if (!s->id || !s->section || !s->summary || s->target < CAT_TARGET_SERVER ||
		    s->target > CAT_TARGET_BOTH)
			abort();
		if (catalog_find(c, s->id) != s) {
			fprintf(stderr, "catalog_find(%s) does not find it\n", s->id);
			abort();
		}
	}
	catalog_free(c);
	return 0;
}
