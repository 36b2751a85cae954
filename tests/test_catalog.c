/*
 * test_catalog.c - the statement catalog (conformance/catalog.c) and the shipped MQTT 3.1.1
 * and MQTT 5.0 catalogs (conformance/mqtt-3.1.1.yaml, conformance/mqtt-5.0.yaml).
 *
 * The expected ids below were transcribed from Appendix B ("Mandatory normative statements")
 * of the OASIS standard mqtt-v3.1.1-os (29 October 2014), in its order: 141 ids, two of them
 * misprinted there (MQTT-3.1.2.7, MQTT-3-8.3-4) and kept as printed. The body text also
 * prints the DUP statement as MQTT-3.3.1.-1; Appendix B prints MQTT-3.3.1-1, as here.
 *
 * The 5.0 ids come from Appendix B ("Mandatory normative statement") of mqtt-v5.0-os (7 March
 * 2019), in its order: 251 ids. Section 2.2.1's start at -2, and section 4.2's is listed as the
 * appendix prints it (MQTT-4.2.0-1); the body's form MQTT-4.2-1 must resolve as its alias.
 *
 * Bad catalogs are written to files in a mkdtemp directory, loaded, and removed; each row
 * says where the loader must point (LINE:COLUMN, 1-based) and what it must say.
 */
#include "tests.h"

#include "conformance/catalog.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CATALOG_311 "conformance/mqtt-3.1.1.yaml"

static const char *const appendix_b[] = {
	"MQTT-1.5.3-1", "MQTT-1.5.3-2", "MQTT-1.5.3-3", "MQTT-2.2.2-1", "MQTT-2.2.2-2",
	"MQTT-2.3.1-1", "MQTT-2.3.1-2", "MQTT-2.3.1-3", "MQTT-2.3.1-4", "MQTT-2.3.1-5",
	"MQTT-2.3.1-6", "MQTT-2.3.1-7", "MQTT-3.1.0-1", "MQTT-3.1.0-2", "MQTT-3.1.2-1",
	"MQTT-3.1.2-2", "MQTT-3.1.2-3", "MQTT-3.1.2-4", "MQTT-3.1.2-5", "MQTT-3.1.2-6",
	"MQTT-3.1.2.7", "MQTT-3.1.2-8", "MQTT-3.1.2-9", "MQTT-3.1.2-10", "MQTT-3.1.2-11",
	"MQTT-3.1.2-12", "MQTT-3.1.2-13", "MQTT-3.1.2-14", "MQTT-3.1.2-15", "MQTT-3.1.2-16",
	"MQTT-3.1.2-17", "MQTT-3.1.2-18", "MQTT-3.1.2-19", "MQTT-3.1.2-20", "MQTT-3.1.2-21",
	"MQTT-3.1.2-22", "MQTT-3.1.2-23", "MQTT-3.1.2-24", "MQTT-3.1.3-1", "MQTT-3.1.3-2",
	"MQTT-3.1.3-3", "MQTT-3.1.3-4", "MQTT-3.1.3-5", "MQTT-3.1.3-6", "MQTT-3.1.3-7",
	"MQTT-3.1.3-8", "MQTT-3.1.3-9", "MQTT-3.1.3-10", "MQTT-3.1.3-11", "MQTT-3.1.4-1",
	"MQTT-3.1.4-2", "MQTT-3.1.4-3", "MQTT-3.1.4-4", "MQTT-3.1.4-5", "MQTT-3.2.0-1",
	"MQTT-3.2.2-1", "MQTT-3.2.2-2", "MQTT-3.2.2-3", "MQTT-3.2.2-4", "MQTT-3.2.2-5",
	"MQTT-3.2.2-6", "MQTT-3.3.1-1", "MQTT-3.3.1-2", "MQTT-3.3.1-3", "MQTT-3.3.1-4",
	"MQTT-3.3.1-5", "MQTT-3.3.1-6", "MQTT-3.3.1-7", "MQTT-3.3.1-8", "MQTT-3.3.1-9",
	"MQTT-3.3.1-10", "MQTT-3.3.1-11", "MQTT-3.3.1-12", "MQTT-3.3.2-1", "MQTT-3.3.2-2",
	"MQTT-3.3.2-3", "MQTT-3.3.4-1", "MQTT-3.3.5-1", "MQTT-3.3.5-2", "MQTT-3.6.1-1",
	"MQTT-3.8.1-1", "MQTT-3.8.3-1", "MQTT-3.8.3-2", "MQTT-3.8.3-3", "MQTT-3-8.3-4",
	"MQTT-3.8.4-1", "MQTT-3.8.4-2", "MQTT-3.8.4-3", "MQTT-3.8.4-4", "MQTT-3.8.4-5",
	"MQTT-3.8.4-6", "MQTT-3.9.3-1", "MQTT-3.9.3-2", "MQTT-3.10.1-1", "MQTT-3.10.3-1",
	"MQTT-3.10.3-2", "MQTT-3.10.4-1", "MQTT-3.10.4-2", "MQTT-3.10.4-3", "MQTT-3.10.4-4",
	"MQTT-3.10.4-5", "MQTT-3.10.4-6", "MQTT-3.12.4-1", "MQTT-3.14.1-1", "MQTT-3.14.4-1",
	"MQTT-3.14.4-2", "MQTT-3.14.4-3", "MQTT-4.1.0-1", "MQTT-4.1.0-2", "MQTT-4.3.1-1",
	"MQTT-4.3.2-1", "MQTT-4.3.2-2", "MQTT-4.3.3-1", "MQTT-4.3.3-2", "MQTT-4.4.0-1",
	"MQTT-4.5.0-1", "MQTT-4.5.0-2", "MQTT-4.6.0-1", "MQTT-4.6.0-2", "MQTT-4.6.0-3",
	"MQTT-4.6.0-4", "MQTT-4.6.0-5", "MQTT-4.6.0-6", "MQTT-4.7.1-1", "MQTT-4.7.1-2",
	"MQTT-4.7.1-3", "MQTT-4.7.2-1", "MQTT-4.7.3-1", "MQTT-4.7.3-2", "MQTT-4.7.3-3",
	"MQTT-4.7.3-4", "MQTT-4.8.0-1", "MQTT-4.8.0-2", "MQTT-6.0.0-1", "MQTT-6.0.0-2",
	"MQTT-6.0.0-3", "MQTT-6.0.0-4", "MQTT-7.0.0-1", "MQTT-7.0.0-2", "MQTT-7.1.1-1",
	"MQTT-7.1.2-1",
};

#define N_IDS (sizeof appendix_b / sizeof appendix_b[0])

#define CATALOG_50 "conformance/mqtt-5.0.yaml"

static const char *const appendix_b_50[] = {
	"MQTT-1.5.4-1", "MQTT-1.5.4-2", "MQTT-1.5.4-3", "MQTT-1.5.5-1", "MQTT-1.5.7-1",
	"MQTT-2.1.3-1", "MQTT-2.2.1-2", "MQTT-2.2.1-3", "MQTT-2.2.1-4", "MQTT-2.2.1-5",
	"MQTT-2.2.1-6", "MQTT-2.2.2-1", "MQTT-3.1.0-1", "MQTT-3.1.0-2", "MQTT-3.1.2-1",
	"MQTT-3.1.2-2", "MQTT-3.1.2-3", "MQTT-3.1.2-4", "MQTT-3.1.2-5", "MQTT-3.1.2-6",
	"MQTT-3.1.2-7", "MQTT-3.1.2-8", "MQTT-3.1.2-9", "MQTT-3.1.2-10", "MQTT-3.1.2-11",
	"MQTT-3.1.2-12", "MQTT-3.1.2-13", "MQTT-3.1.2-14", "MQTT-3.1.2-15", "MQTT-3.1.2-16",
	"MQTT-3.1.2-17", "MQTT-3.1.2-18", "MQTT-3.1.2-19", "MQTT-3.1.2-20", "MQTT-3.1.2-21",
	"MQTT-3.1.2-22", "MQTT-3.1.2-23", "MQTT-3.1.2-24", "MQTT-3.1.2-25", "MQTT-3.1.2-26",
	"MQTT-3.1.2-27", "MQTT-3.1.2-28", "MQTT-3.1.2-29", "MQTT-3.1.2-30", "MQTT-3.1.3-1",
	"MQTT-3.1.3-2", "MQTT-3.1.3-3", "MQTT-3.1.3-4", "MQTT-3.1.3-5", "MQTT-3.1.3-6",
	"MQTT-3.1.3-7", "MQTT-3.1.3-8", "MQTT-3.1.3-9", "MQTT-3.1.3-10", "MQTT-3.1.3-11",
	"MQTT-3.1.3-12", "MQTT-3.1.4-1", "MQTT-3.1.4-2", "MQTT-3.1.4-3", "MQTT-3.1.4-4",
	"MQTT-3.1.4-5", "MQTT-3.1.4-6", "MQTT-3.2.0-1", "MQTT-3.2.0-2", "MQTT-3.2.2-1",
	"MQTT-3.2.2-2", "MQTT-3.2.2-3", "MQTT-3.2.2-4", "MQTT-3.2.2-5", "MQTT-3.2.2-6",
	"MQTT-3.2.2-7", "MQTT-3.2.2-8", "MQTT-3.2.2-9", "MQTT-3.2.2-10", "MQTT-3.2.2-11",
	"MQTT-3.2.2-12", "MQTT-3.2.2-13", "MQTT-3.2.2-14", "MQTT-3.2.2-15", "MQTT-3.2.2-16",
	"MQTT-3.2.2-17", "MQTT-3.2.2-18", "MQTT-3.2.2-19", "MQTT-3.2.2-20", "MQTT-3.2.2-21",
	"MQTT-3.2.2-22", "MQTT-3.3.1-1", "MQTT-3.3.1-2", "MQTT-3.3.1-3", "MQTT-3.3.1-4",
	"MQTT-3.3.1-5", "MQTT-3.3.1-6", "MQTT-3.3.1-7", "MQTT-3.3.1-8", "MQTT-3.3.1-9",
	"MQTT-3.3.1-10", "MQTT-3.3.1-11", "MQTT-3.3.1-12", "MQTT-3.3.1-13", "MQTT-3.3.2-1",
	"MQTT-3.3.2-2", "MQTT-3.3.2-3", "MQTT-3.3.2-4", "MQTT-3.3.2-5", "MQTT-3.3.2-6",
	"MQTT-3.3.2-7", "MQTT-3.3.2-8", "MQTT-3.3.2-9", "MQTT-3.3.2-10", "MQTT-3.3.2-11",
	"MQTT-3.3.2-12", "MQTT-3.3.2-13", "MQTT-3.3.2-14", "MQTT-3.3.2-15", "MQTT-3.3.2-16",
	"MQTT-3.3.2-17", "MQTT-3.3.2-18", "MQTT-3.3.2-19", "MQTT-3.3.2-20", "MQTT-3.3.4-1",
	"MQTT-3.3.4-2", "MQTT-3.3.4-3", "MQTT-3.3.4-4", "MQTT-3.3.4-5", "MQTT-3.3.4-6",
	"MQTT-3.3.4-7", "MQTT-3.3.4-8", "MQTT-3.3.4-9", "MQTT-3.3.4-10", "MQTT-3.4.2-1",
	"MQTT-3.4.2-2", "MQTT-3.4.2-3", "MQTT-3.5.2-1", "MQTT-3.5.2-2", "MQTT-3.5.2-3",
	"MQTT-3.6.1-1", "MQTT-3.6.2-1", "MQTT-3.6.2-2", "MQTT-3.6.2-3", "MQTT-3.7.2-1",
	"MQTT-3.7.2-2", "MQTT-3.7.2-3", "MQTT-3.8.1-1", "MQTT-3.8.3-1", "MQTT-3.8.3-2",
	"MQTT-3.8.3-3", "MQTT-3.8.3-4", "MQTT-3.8.3-5", "MQTT-3.8.4-1", "MQTT-3.8.4-2",
	"MQTT-3.8.4-3", "MQTT-3.8.4-4", "MQTT-3.8.4-5", "MQTT-3.8.4-6", "MQTT-3.8.4-7",
	"MQTT-3.8.4-8", "MQTT-3.9.2-1", "MQTT-3.9.2-2", "MQTT-3.9.3-1", "MQTT-3.9.3-2",
	"MQTT-3.10.1-1", "MQTT-3.10.3-1", "MQTT-3.10.3-2", "MQTT-3.10.4-1", "MQTT-3.10.4-2",
	"MQTT-3.10.4-3", "MQTT-3.10.4-4", "MQTT-3.10.4-5", "MQTT-3.10.4-6", "MQTT-3.11.2-1",
	"MQTT-3.11.2-2", "MQTT-3.11.3-1", "MQTT-3.11.3-2", "MQTT-3.12.4-1", "MQTT-3.14.0-1",
	"MQTT-3.14.1-1", "MQTT-3.14.2-1", "MQTT-3.14.2-2", "MQTT-3.14.2-3", "MQTT-3.14.2-4",
	"MQTT-3.14.4-1", "MQTT-3.14.4-2", "MQTT-3.14.4-3", "MQTT-3.15.1-1", "MQTT-3.15.2-1",
	"MQTT-3.15.2-2", "MQTT-3.15.2-3", "MQTT-4.1.0-1", "MQTT-4.1.0-2", "MQTT-4.2.0-1",
	"MQTT-4.3.1-1", "MQTT-4.3.2-1", "MQTT-4.3.2-2", "MQTT-4.3.2-3", "MQTT-4.3.2-4",
	"MQTT-4.3.2-5", "MQTT-4.3.3-1", "MQTT-4.3.3-2", "MQTT-4.3.3-3", "MQTT-4.3.3-4",
	"MQTT-4.3.3-5", "MQTT-4.3.3-6", "MQTT-4.3.3-7", "MQTT-4.3.3-8", "MQTT-4.3.3-9",
	"MQTT-4.3.3-10", "MQTT-4.3.3-11", "MQTT-4.3.3-12", "MQTT-4.3.3-13", "MQTT-4.4.0-1",
	"MQTT-4.4.0-2", "MQTT-4.5.0-1", "MQTT-4.5.0-2", "MQTT-4.6.0-1", "MQTT-4.6.0-2",
	"MQTT-4.6.0-3", "MQTT-4.6.0-4", "MQTT-4.6.0-5", "MQTT-4.6.0-6", "MQTT-4.7.0-1",
	"MQTT-4.7.1-1", "MQTT-4.7.1-2", "MQTT-4.7.2-1", "MQTT-4.7.3-1", "MQTT-4.7.3-2",
	"MQTT-4.7.3-3", "MQTT-4.7.3-4", "MQTT-4.8.2-1", "MQTT-4.8.2-2", "MQTT-4.8.2-3",
	"MQTT-4.8.2-4", "MQTT-4.8.2-5", "MQTT-4.8.2-6", "MQTT-4.9.0-1", "MQTT-4.9.0-2",
	"MQTT-4.9.0-3", "MQTT-4.12.0-1", "MQTT-4.12.0-2", "MQTT-4.12.0-3", "MQTT-4.12.0-4",
	"MQTT-4.12.0-5", "MQTT-4.12.0-6", "MQTT-4.12.0-7", "MQTT-4.12.1-1", "MQTT-4.12.1-2",
	"MQTT-4.13.1-1", "MQTT-4.13.2-1", "MQTT-6.0.0-1", "MQTT-6.0.0-2", "MQTT-6.0.0-3",
	"MQTT-6.0.0-4",
};

#define N_IDS_50 (sizeof appendix_b_50 / sizeof appendix_b_50[0])

/* ---- the shipped catalog ---------------------------------------------------------------- */

static catalog *load_shipped(void)
{
	char err[512];
	catalog *c = catalog_load(CATALOG_311, err, sizeof err);
	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

START_TEST(test_shipped_loads)
{
	ck_assert_uint_eq(N_IDS, 141);
	catalog *c = load_shipped();
	ck_assert_str_eq(c->version, "3.1.1");
	ck_assert_uint_eq(c->n, 141);
	catalog_free(c);
}
END_TEST

/* Exactly Appendix B: the same ids in the same order, so none is missing or invented. */
START_TEST(test_exactly_appendix_b)
{
	catalog *c = load_shipped();
	size_t n = c->n < N_IDS ? c->n : N_IDS;
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(!strcmp(c->v[i].id, appendix_b[i]),
			      "statement %zu is %s; Appendix B has %s there", i + 1, c->v[i].id,
			      appendix_b[i]);
	for (size_t i = 0; i < c->n; i++) {
		bool known = false;
		for (size_t j = 0; j < N_IDS && !known; j++)
			known = !strcmp(c->v[i].id, appendix_b[j]);
		ck_assert_msg(known, "%s is not a statement of MQTT 3.1.1", c->v[i].id);
	}
	for (size_t j = 0; j < N_IDS; j++) {
		const cat_stmt *s = catalog_find(c, appendix_b[j]);
		ck_assert_msg(s != NULL, "%s is missing from the catalog", appendix_b[j]);
		ck_assert_str_eq(s->id, appendix_b[j]);
	}
	ck_assert_uint_eq(c->n, N_IDS);
	catalog_free(c);
}
END_TEST

/* ---- the shipped 5.0 catalog ------------------------------------------------------------ */

static catalog *load_50(void)
{
	char err[512];
	catalog *c = catalog_load(CATALOG_50, err, sizeof err);
	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

/* Where 'id' is in 'list' (n entries), or n. */
static size_t index_of(const char *const *list, size_t n, const char *id)
{
	size_t i = 0;
	while (i < n && strcmp(list[i], id))
		i++;
	return i;
}

/* The statement with this id, failing the test (rather than crashing it) when it is missing. */
static const cat_stmt *must_find(const catalog *c, const char *id)
{
	const cat_stmt *s = catalog_find(c, id);
	ck_assert_msg(s != NULL, "%s is missing from the catalog", id);
	return s;
}

START_TEST(test_50_loads)
{
	ck_assert_uint_eq(N_IDS_50, 251);
	/* The list of this test is itself free of repeats, so a match below means one id each. */
	for (size_t i = 0; i < N_IDS_50; i++)
		ck_assert_msg(index_of(appendix_b_50, N_IDS_50, appendix_b_50[i]) == i,
			      "%s is listed twice in the test", appendix_b_50[i]);
	catalog *c = load_50();
	ck_assert_str_eq(c->version, "5.0");
	ck_assert_uint_eq(c->n, 251);
	catalog_free(c);
}
END_TEST

/* Exactly Appendix B of 5.0: every id once, none missing, none invented, in its order. The
 * checks are the test's own, not the loader's, so each failure names the id at fault. */
START_TEST(test_50_exactly_appendix_b)
{
	catalog *c = load_50();
	for (size_t i = 0; i < c->n; i++) {
		const char *id = c->v[i].id;
		ck_assert_msg(index_of(appendix_b_50, N_IDS_50, id) < N_IDS_50,
			      "%s (statement %zu) is not a statement of MQTT 5.0", id, i + 1);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(c->v[j].id, id), "%s is in the catalog twice (statements %zu "
				      "and %zu)", id, j + 1, i + 1);
	}
	for (size_t j = 0; j < N_IDS_50; j++) {
		const cat_stmt *s = catalog_find(c, appendix_b_50[j]);
		ck_assert_msg(s != NULL, "%s is missing from the catalog", appendix_b_50[j]);
		ck_assert_str_eq(s->id, appendix_b_50[j]);
	}
	ck_assert_uint_eq(c->n, N_IDS_50);
	for (size_t i = 0; i < c->n; i++)
		ck_assert_msg(!strcmp(c->v[i].id, appendix_b_50[i]),
			      "statement %zu is %s; Appendix B has %s there", i + 1, c->v[i].id,
			      appendix_b_50[i]);
	catalog_free(c);
}
END_TEST

START_TEST(test_50_alias_and_quirks)
{
	catalog *c = load_50();
	const cat_stmt *s = must_find(c, "MQTT-4.2-1");
	ck_assert_ptr_eq(catalog_find(c, "MQTT-4.2.0-1"), s);
	ck_assert_str_eq(s->id, "MQTT-4.2.0-1");
	ck_assert_str_eq(s->alias, "MQTT-4.2-1");
	ck_assert_str_eq(s->section, "4.2");
	ck_assert(!catalog_id_regular("MQTT-4.2-1"));
	size_t aliases = 0;
	for (size_t i = 0; i < c->n; i++)
		aliases += c->v[i].alias != NULL;
	ck_assert_uint_eq(aliases, 1);
	/* Section 2.2.1 starts at -2; 3.1.1-only ids are not 5.0 statements. */
	ck_assert_ptr_null(catalog_find(c, "MQTT-2.2.1-1"));
	ck_assert_ptr_nonnull(catalog_find(c, "MQTT-2.2.1-2"));
	ck_assert_ptr_null(catalog_find(c, "MQTT-1.5.3-1"));
	ck_assert_ptr_null(catalog_find(c, "MQTT-3.1.2.7"));
	ck_assert_ptr_null(catalog_find(c, "MQTT-4.8.0-1"));
	ck_assert_ptr_null(catalog_find(c, "MQTT-7.1.1-1"));
	ck_assert_str_eq(must_find(c, "MQTT-3.1.0-1")->section, "3.1");
	ck_assert_str_eq(must_find(c, "MQTT-6.0.0-4")->section, "6");
	ck_assert_str_eq(must_find(c, "MQTT-4.13.2-1")->section, "4.13.2");
	catalog_free(c);
}
END_TEST

/* The same consistency rules as for 3.1.1, and the figures the 5.0 catalog was reviewed with. */
START_TEST(test_50_fields_consistent)
{
	catalog *c = load_50();
	size_t untestable = 0, optional = 0, client = 0;
	for (size_t i = 0; i < c->n; i++) {
		const cat_stmt *s = &c->v[i];
		ck_assert_msg(s->summary && strlen(s->summary) >= 20, "%s: summary too short", s->id);
		if (!s->testable) {
			untestable++;
			ck_assert_msg(s->reason && strlen(s->reason) >= 10, "%s: no reason", s->id);
		} else {
			ck_assert_msg(!s->reason, "%s: testable, yet a reason is given", s->id);
		}
		if (s->target == CAT_TARGET_CLIENT) {
			client++;
			ck_assert_msg(!s->testable, "%s binds only clients but is marked testable", s->id);
		}
		optional += s->optional;
	}
	ck_assert_uint_eq(untestable, 49);
	ck_assert_uint_eq(client, 45);
	ck_assert_uint_eq(optional, 1);
	ck_assert(must_find(c, "MQTT-3.1.3-6")->optional);
	ck_assert_int_eq(must_find(c, "MQTT-3.3.1-10")->target, CAT_TARGET_SERVER);
	ck_assert(must_find(c, "MQTT-3.3.1-10")->testable);
	ck_assert_int_eq(must_find(c, "MQTT-4.12.0-3")->target, CAT_TARGET_CLIENT);
	ck_assert(!must_find(c, "MQTT-6.0.0-1")->testable);
	catalog_free(c);
}
END_TEST

START_TEST(test_misprints_and_aliases)
{
	catalog *c = load_shipped();
	static const char *const pairs[][2] = {
		{ "MQTT-3.1.2.7", "MQTT-3.1.2-7" },
		{ "MQTT-3-8.3-4", "MQTT-3.8.3-4" },
	};
	for (size_t i = 0; i < 2; i++) {
		const cat_stmt *s = catalog_find(c, pairs[i][0]);
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(s->id, pairs[i][0]);
		ck_assert_ptr_nonnull(s->alias);
		ck_assert_str_eq(s->alias, pairs[i][1]);
		ck_assert_ptr_eq(catalog_find(c, pairs[i][1]), s);
		ck_assert(!catalog_id_regular(pairs[i][0]));
		ck_assert(catalog_id_regular(pairs[i][1]));
	}
	ck_assert_str_eq(catalog_find(c, "MQTT-3.1.2.7")->section, "3.1.2");
	ck_assert_str_eq(catalog_find(c, "MQTT-3-8.3-4")->section, "3.8.3");
	/* Only those two have aliases; the DUP statement is listed as Appendix B prints it. */
	size_t aliases = 0;
	for (size_t i = 0; i < c->n; i++)
		aliases += c->v[i].alias != NULL;
	ck_assert_uint_eq(aliases, 2);
	ck_assert_ptr_nonnull(catalog_find(c, "MQTT-3.3.1-1"));
	ck_assert_ptr_null(catalog_find(c, "MQTT-3.3.1.-1"));
	/* Ids that do not exist in 3.1.1 (some are 5.0 ids). */
	ck_assert_ptr_null(catalog_find(c, "MQTT-3.4.4-1"));
	ck_assert_ptr_null(catalog_find(c, "MQTT-1.5.4-1"));
	ck_assert_ptr_null(catalog_find(c, "MQTT-4.13.1-1"));
	ck_assert_ptr_null(catalog_find(c, ""));
	ck_assert_ptr_null(catalog_find(c, NULL));
	ck_assert_ptr_null(catalog_find(NULL, "MQTT-1.5.3-1"));
	catalog_free(c);
}
END_TEST

/* What the fields say hangs together: not testable means a reason; a client obligation is
 * never something a client outside the server can check; the sections follow the ids. */
START_TEST(test_fields_consistent)
{
	catalog *c = load_shipped();
	size_t untestable = 0, optional = 0;
	for (size_t i = 0; i < c->n; i++) {
		const cat_stmt *s = &c->v[i];
		ck_assert_msg(s->summary && strlen(s->summary) >= 20, "%s: summary too short", s->id);
		if (!s->testable) {
			untestable++;
			ck_assert_msg(s->reason && strlen(s->reason) >= 10, "%s: no reason", s->id);
		} else {
			ck_assert_msg(!s->reason, "%s: testable, yet a reason is given", s->id);
		}
		if (s->target == CAT_TARGET_CLIENT)
			ck_assert_msg(!s->testable, "%s binds only clients but is marked testable", s->id);
		optional += s->optional;
		ck_assert(s->target == CAT_TARGET_SERVER || s->target == CAT_TARGET_CLIENT ||
			  s->target == CAT_TARGET_BOTH);
	}
	/* The figures the catalog was reviewed with; a change to them should be deliberate. */
	ck_assert_uint_eq(untestable, 33); /* 3.2.2-6 testable since a malformed CONNECT shows it; 6.0.0-1, -2, -4 over ws */
	ck_assert_uint_eq(optional, 2);
	ck_assert(catalog_find(c, "MQTT-3.1.3-6")->optional);
	ck_assert(catalog_find(c, "MQTT-3.8.3-2")->optional);
	ck_assert_str_eq(catalog_find(c, "MQTT-3.1.0-2")->section, "3.1");
	ck_assert_str_eq(catalog_find(c, "MQTT-6.0.0-1")->section, "6");
	ck_assert_str_eq(catalog_find(c, "MQTT-3.10.4-6")->section, "3.10.4");
	ck_assert_int_eq(catalog_find(c, "MQTT-3.1.2-24")->target, CAT_TARGET_SERVER);
	ck_assert(catalog_find(c, "MQTT-3.1.2-24")->testable);
	ck_assert_str_eq(catalog_target_name(CAT_TARGET_SERVER), "server");
	ck_assert_str_eq(catalog_target_name(CAT_TARGET_CLIENT), "client");
	ck_assert_str_eq(catalog_target_name(CAT_TARGET_BOTH), "both");
	ck_assert_str_eq(catalog_target_name(99), "?");
	catalog_free(c);
}
END_TEST

START_TEST(test_id_syntax)
{
	static const char *const good[] = {
		"MQTT-1.5.3-1", "MQTT-3.10.4-6", "MQTT-4.13.1-1", "MQTT-6.0.0-4", "MQTT-100.0.0-999",
	};
	static const char *const bad[] = {
		"", "MQTT-", "MQTT-1.5.3", "MQTT-1.5-1", "MQTT-1.5.3.4-1", "mqtt-1.5.3-1", "MQTT-1.5.3-",
		"MQTT-01.5.3-1", "MQTT-1.5.3-01", "MQTT-1.5.3-1 ", " MQTT-1.5.3-1", "MQTT-1.5.3-1a",
		"MQTT-1000.5.3-1", "MQTT-3.1.2.7", "MQTT-3-8.3-4", "MQTT-3.3.1.-1", "MQTT-1..3-1",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(catalog_id_regular(good[i]), "%s should be regular", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!catalog_id_regular(bad[i]), "'%s' should not be regular", bad[i]);
	ck_assert(!catalog_id_regular(NULL));
}
END_TEST

/* ---- catalogs written to files ---------------------------------------------------------- */

static char tmpdir[64];

static void tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/mqttsim-cat-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		abort();
	}
}

static void tmp_teardown(void)
{
	DIR *d = opendir(tmpdir);
	if (d) {
		struct dirent *e;
		char p[512];
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

/* Write 'text' to a file of the temporary directory, load it, remove the file. */
static catalog *load_text(const char *name, const char *text, char *path, size_t pathlen,
			  char *err, size_t errlen)
{
	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	ck_assert_int_eq(fclose(f), 0);
	catalog *c = catalog_load(path, err, errlen);
	ck_assert_int_eq(unlink(path), 0);
	return c;
}

#define HEAD "version: \"3.1.1\"\nstatements:\n"
/* A valid statement, six lines: id (value at column 9), section (14), target (13), level
 * (12), testable (15), summary (14). */
#define STMT(id, section, more) \
	"  - id: " id "\n    section: \"" section "\"\n    target: both\n    level: mandatory\n" \
	"    testable: true\n    summary: fine\n" more
#define OK1 STMT("MQTT-1.5.3-1", "1.5.3", "")

static const struct bad_row {
	const char *what, *text;
	int line, col;
	const char *says;
} bad_rows[] = {
	{ "empty file", "", 1, 1, "the file is empty" },
	{ "only a comment", "# nothing\n", 1, 1, "the file is empty" },
	{ "root is a list", "- a\n- b\n", 1, 1, "a catalog is a mapping" },
	{ "root is text", "hello\n", 1, 1, "a catalog is a mapping" },
	{ "unknown top-level key", "version: \"3.1.1\"\nfoo: 1\nstatements:\n" OK1, 2, 1,
	  "unknown key 'foo'" },
	{ "no version", "statements:\n" OK1, 1, 1, "has no 'version'" },
	{ "no statements", "version: \"3.1.1\"\n", 1, 1, "has no 'statements'" },
	{ "unknown version", "version: \"4\"\nstatements:\n" OK1, 1, 10, "version '4'" },
	{ "version is a list", "version: [3]\nstatements:\n" OK1, 1, 10, "'version' must be text" },
	{ "duplicate top-level key", HEAD OK1 "version: \"3.1.1\"\n", 9, 1,
	  "duplicate key 'version' (first at line 1)" },
	{ "statements empty", "version: \"3.1.1\"\nstatements: []\n", 2, 13, "'statements' is empty" },
	{ "statements a mapping", "version: \"3.1.1\"\nstatements: {a: 1}\n", 2, 13,
	  "must be a list" },
	{ "statements text", "version: \"3.1.1\"\nstatements: all\n", 2, 13, "must be a list" },
	{ "statement is text", HEAD "  - MQTT-1.5.3-1\n", 3, 5, "each statement must be a mapping" },
	{ "unknown statement key", HEAD OK1 "    colour: red\n", 9, 5, "unknown key 'colour'" },
	{ "misspelt key", HEAD "  - id: MQTT-1.5.3-1\n    sectoin: \"1.5.3\"\n", 4, 5,
	  "unknown key 'sectoin'" },
	{ "duplicate statement key", HEAD "  - id: MQTT-1.5.3-1\n    id: MQTT-1.5.3-2\n", 4, 5,
	  "duplicate key 'id' (first at line 3)" },
	{ "missing summary", HEAD "  - id: MQTT-1.5.3-1\n    section: \"1.5.3\"\n    target: both\n"
	  "    level: mandatory\n    testable: true\n", 3, 5, "statement MQTT-1.5.3-1 has no 'summary'" },
	{ "missing id", HEAD "  - section: \"1.5.3\"\n    target: both\n    level: mandatory\n"
	  "    testable: true\n    summary: fine\n", 3, 5, "has no 'id'" },
	{ "missing level, second statement", HEAD OK1 "  - id: MQTT-1.5.3-2\n    section: \"1.5.3\"\n"
	  "    target: server\n    testable: true\n    summary: fine\n", 9, 5, "has no 'level'" },
	{ "duplicate id", HEAD OK1 OK1, 9, 9,
	  "duplicate id MQTT-1.5.3-1 (already the id of the statement at line 3)" },
	{ "id without number", HEAD STMT("MQTT-1.5.3", "1.5.3", ""), 3, 9, "not a statement id" },
	{ "id with a leading zero", HEAD STMT("MQTT-1.05.3-1", "1.5.3", ""), 3, 9, "not a statement id" },
	{ "id in lower case", HEAD STMT("mqtt-1.5.3-1", "1.5.3", ""), 3, 9, "not a statement id" },
	{ "id quoted with a space", HEAD STMT("\"MQTT-1.5.3-1 \"", "1.5.3", ""), 3, 9,
	  "not a statement id" },
	{ "a misprint the standard does not have", HEAD STMT("MQTT-3.1.2.8", "3.1.2", ""), 3, 9,
	  "not a statement id" },
	{ "the body's DUP misprint is not an id", HEAD STMT("MQTT-3.3.1.-1", "3.3.1", ""), 3, 9,
	  "not a statement id" },
	{ "id is a list", HEAD STMT("[MQTT-1.5.3-1]", "1.5.3", ""), 3, 9, "'id' must be text, got a list" },
	{ "id has no value", HEAD "  - id:\n    section: \"1.5.3\"\n", 3, 8, "'id' has no value" },
	{ "alias irregular", HEAD STMT("MQTT-3.3.1-1", "3.3.1", "    alias: MQTT-3.3.1.-1\n"), 9, 12,
	  "alias 'MQTT-3.3.1.-1' is not a regular statement id" },
	{ "alias is the id", HEAD STMT("MQTT-3.3.1-1", "3.3.1", "    alias: MQTT-3.3.1-1\n"), 9, 12,
	  "is the id itself" },
	{ "alias of a misprint not its regular form",
	  HEAD STMT("MQTT-3-8.3-4", "3.8.3", "    alias: MQTT-3.8.3-5\n"), 9, 12,
	  "should be its regular form MQTT-3.8.3-4" },
	{ "alias taken by an earlier id",
	  HEAD STMT("MQTT-3.1.2-7", "3.1.2", "") STMT("MQTT-3.1.2.7", "3.1.2", "    alias: MQTT-3.1.2-7\n"),
	  15, 12, "alias MQTT-3.1.2-7 is already the id of the statement at line 3" },
	{ "id taken by an earlier alias",
	  HEAD STMT("MQTT-3.1.2.7", "3.1.2", "    alias: MQTT-3.1.2-7\n") STMT("MQTT-3.1.2-7", "3.1.2", ""),
	  10, 9, "duplicate id MQTT-3.1.2-7 (already the alias of the statement at line 9)" },
	{ "the body's form of 4.2.0-1 on another id",
	  HEAD STMT("MQTT-4.3.1-1", "4.3.1", "    alias: MQTT-4.2-1\n"), 9, 12,
	  "alias 'MQTT-4.2-1' is the body text's form of MQTT-4.2.0-1, not of MQTT-4.3.1-1" },
	{ "an irregular alias that is no body form", HEAD STMT("MQTT-4.2.0-1", "4.2", "    alias: MQTT-4.2-2\n"),
	  9, 12, "alias 'MQTT-4.2-2' is not a regular statement id" },
	{ "alias has no value", HEAD STMT("MQTT-3.3.1-1", "3.3.1", "    alias:\n    reason: x\n"), 9, 11,
	  "'alias' has no value" },
	{ "section does not match the id", HEAD STMT("MQTT-1.5.3-1", "1.5.4", ""), 4, 14,
	  "section '1.5.4' does not match id MQTT-1.5.3-1 (its section is 1.5.3)" },
	{ "section with a .0 the document does not have", HEAD STMT("MQTT-3.1.0-1", "3.1.0", ""), 4, 14,
	  "(its section is 3.1)" },
	{ "section of a misprint follows its regular form", HEAD STMT("MQTT-3-8.3-4", "3.8", ""), 4, 14,
	  "(its section is 3.8.3)" },
	{ "section not a number", HEAD STMT("MQTT-1.5.3-1", "one", ""), 4, 14, "not a section number" },
	{ "section with a trailing dot", HEAD STMT("MQTT-1.5.3-1", "1.5.3.", ""), 4, 14,
	  "not a section number" },
	{ "unknown target", HEAD "  - id: MQTT-1.5.3-1\n    section: \"1.5.3\"\n    target: broker\n", 5, 13,
	  "target 'broker': expected server, client or both" },
	{ "unknown level", HEAD "  - id: MQTT-1.5.3-1\n    section: \"1.5.3\"\n    target: both\n"
	  "    level: should\n", 6, 12, "level 'should': expected mandatory or optional" },
	{ "testable quoted", HEAD "  - id: MQTT-1.5.3-1\n    section: \"1.5.3\"\n    target: both\n"
	  "    level: mandatory\n    testable: \"true\"\n", 7, 15, "expected true or false" },
	{ "testable yes", HEAD "  - id: MQTT-1.5.3-1\n    section: \"1.5.3\"\n    target: both\n"
	  "    level: mandatory\n    testable: yes\n", 7, 15, "testable 'yes'" },
	{ "not testable without a reason", HEAD "  - id: MQTT-1.5.3-1\n    section: \"1.5.3\"\n"
	  "    target: both\n    level: mandatory\n    testable: false\n    summary: fine\n", 7, 15,
	  "statement MQTT-1.5.3-1 is not testable: give a 'reason'" },
	{ "not testable with an empty reason", HEAD "  - id: MQTT-1.5.3-1\n    section: \"1.5.3\"\n"
	  "    target: both\n    level: mandatory\n    testable: false\n    reason: \"  \"\n"
	  "    summary: fine\n", 7, 15, "give a 'reason'" },
	{ "empty summary", HEAD "  - id: MQTT-1.5.3-1\n    section: \"1.5.3\"\n    target: both\n"
	  "    level: mandatory\n    testable: true\n    summary: \"\"\n", 8, 14, "summary is empty" },
	{ "summary a mapping", HEAD "  - id: MQTT-1.5.3-1\n    section: \"1.5.3\"\n    target: both\n"
	  "    level: mandatory\n    testable: true\n    summary: {a: b}\n", 8, 14,
	  "'summary' must be text, got a mapping" },
	{ "a second document", HEAD OK1 "---\nfoo: 1\n", 10, 1, "this is a second one" },
	{ "unterminated quote", "version: \"3.1.1\nstatements:\n", 3, 1,
	  "YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at 1:10)" },
	{ "tab indentation", HEAD "\t- id: MQTT-1.5.3-1\n", 3, 1,
	  "YAML syntax error: found character that cannot start any token" },
	{ "bad indentation", HEAD "  - id: MQTT-1.5.3-1\n   section: \"1.5.3\"\n", 4, 4,
	  "YAML syntax error" },
	{ "nesting too deep", "version: [[[[[[[[[[1]]]]]]]]]]\n", 1, 17, "nesting deeper than 8 levels" },
	{ "invalid UTF-8", HEAD "  - id: MQTT-1.5.3-1\n    summary: \"caf\xC3\x28\"\n", 4, 19,
	  "YAML syntax error: invalid" },
};

START_TEST(test_bad_catalog)
{
	const struct bad_row *r = &bad_rows[_i];
	char path[256], err[600], want[600];
	catalog *c = load_text("bad.yaml", r->text, path, sizeof path, err, sizeof err);
	if (c)
		catalog_free(c);
	ck_assert_msg(c == NULL, "%s: loaded, but should fail", r->what);
	snprintf(want, sizeof want, "%s:%d:%d: ", path, r->line, r->col);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "%s: error '%s' is not at %d:%d", r->what, err,
		      r->line, r->col);
	ck_assert_msg(strstr(err + strlen(want), r->says), "%s: error '%s' does not say '%s'", r->what,
		      err, r->says);
}
END_TEST

static const struct good_row {
	const char *what, *text;
	size_t n;
} good_rows[] = {
	{ "one statement", HEAD OK1, 1 },
	{ "keys in any order, comments", "# a catalog\nstatements:\n  - summary: fine # ok\n"
	  "    testable: false\n    reason: client side\n    level: optional\n    target: client\n"
	  "    section: 1.5.3\n    id: MQTT-1.5.3-1\nversion: 5.0\n", 1 },
	{ "flow style", "{version: \"3.1.1\", statements: [{id: MQTT-3.1.0-1, section: \"3.1\", "
	  "target: server, level: mandatory, testable: true, summary: fine}]}", 1 },
	{ "the misprints with and without alias",
	  HEAD STMT("MQTT-3.1.2.7", "3.1.2", "    alias: MQTT-3.1.2-7\n") STMT("MQTT-3-8.3-4", "3.8.3", ""), 2 },
	{ "the body's form of 4.2.0-1 as its alias",
	  "version: \"5.0\"\nstatements:\n" STMT("MQTT-4.2.0-1", "4.2", "    alias: MQTT-4.2-1\n"), 1 },
	{ "chapters without sections", HEAD STMT("MQTT-6.0.0-1", "6", "") STMT("MQTT-7.1.2-1", "7.1.2", ""), 2 },
	{ "anchors and aliases", HEAD "  - id: MQTT-1.5.3-1\n    section: &s \"1.5.3\"\n    target: both\n"
	  "    level: mandatory\n    testable: true\n    summary: &t fine\n"
	  "  - id: MQTT-1.5.3-2\n    section: *s\n    target: both\n    level: mandatory\n"
	  "    testable: true\n    summary: *t\n", 2 },
	{ "a reason on a testable statement is kept", HEAD STMT("MQTT-1.5.3-1", "1.5.3", "    reason: partly\n"), 1 },
};

START_TEST(test_good_catalog)
{
	const struct good_row *r = &good_rows[_i];
	char path[256], err[600];
	catalog *c = load_text("good.yaml", r->text, path, sizeof path, err, sizeof err);
	ck_assert_msg(c != NULL, "%s: %s", r->what, err);
	ck_assert_uint_eq(c->n, r->n);
	for (size_t i = 0; i < c->n; i++) {
		ck_assert_ptr_nonnull(c->v[i].id);
		ck_assert_ptr_nonnull(c->v[i].section);
		ck_assert_ptr_nonnull(c->v[i].summary);
		ck_assert_ptr_eq(catalog_find(c, c->v[i].id), &c->v[i]);
	}
	catalog_free(c);
}
END_TEST

START_TEST(test_alias_bytes)
{
	/* Seventeen statements share a 1 MiB reason through an alias; the loader copies it for
	 * each, so the 16th (its reason on line 114, the alias at column 13) takes the catalog past 16 MiB. */
	const size_t big = 1u << 20;
	size_t cap = big + 17 * 256, n;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	n = (size_t)snprintf(text, cap, HEAD STMT("MQTT-1.1.1-1", "1.1.1", "    reason: &r \""));
	memset(text + n, 'x', big);
	n += big;
	n += (size_t)snprintf(text + n, cap - n, "\"\n");
	for (int i = 2; i <= 17; i++) {
		char id[32];
		snprintf(id, sizeof id, "MQTT-1.1.1-%d", i);
		n += (size_t)snprintf(text + n, cap - n,
				      "  - id: %s\n    section: \"1.1.1\"\n    target: both\n"
				      "    level: mandatory\n    testable: true\n    summary: fine\n"
				      "    reason: *r\n", id);
	}
	ck_assert_uint_lt(n, cap - 1);
	char path[256], err[600], want[700];
	catalog *c = load_text("big.yaml", text, path, sizeof path, err, sizeof err);
	catalog_free(c);
	ck_assert_ptr_null(c);
	snprintf(want, sizeof want, "%s:114:13: the catalog is too large: with its aliases expanded "
		 "it holds more than 16 MiB of text (each use of an alias repeats its anchor's text)",
		 path);
	ck_assert_str_eq(err, want);
	free(text);
}
END_TEST

START_TEST(test_unreadable_file)
{
	char err[600], path[256];
	snprintf(path, sizeof path, "%s/none.yaml", tmpdir);
	ck_assert_ptr_null(catalog_load(path, err, sizeof err));
	ck_assert_msg(strstr(err, "none.yaml: cannot open: "), "%s", err);
	ck_assert_ptr_null(catalog_load(tmpdir, err, sizeof err)); /* a directory */
	ck_assert_msg(strstr(err, tmpdir), "%s", err);
	ck_assert_ptr_null(catalog_load(path, NULL, 0));           /* no room for a message */
	ck_assert_ptr_null(catalog_parse(NULL, NULL, 0, err, sizeof err));
	ck_assert_msg(!strncmp(err, "<catalog>:1:1: ", 15), "%s", err);
}
END_TEST

Suite *catalog_suite(void)
{
	Suite *s = suite_create("catalog");
	TCase *tc = tcase_create("shipped");
	tcase_add_test(tc, test_shipped_loads);
	tcase_add_test(tc, test_exactly_appendix_b);
	tcase_add_test(tc, test_misprints_and_aliases);
	tcase_add_test(tc, test_fields_consistent);
	tcase_add_test(tc, test_id_syntax);
	tcase_add_test(tc, test_50_loads);
	tcase_add_test(tc, test_50_exactly_appendix_b);
	tcase_add_test(tc, test_50_alias_and_quirks);
	tcase_add_test(tc, test_50_fields_consistent);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_loop_test(tc, test_bad_catalog, 0, (int)(sizeof bad_rows / sizeof bad_rows[0]));
	tcase_add_loop_test(tc, test_good_catalog, 0, (int)(sizeof good_rows / sizeof good_rows[0]));
	tcase_add_test(tc, test_alias_bytes);
	tcase_add_test(tc, test_unreadable_file);
	suite_add_tcase(s, tc);
	return s;
}
