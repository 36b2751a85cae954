/*
 * verdict.h - how a verdict per statement is reached: the catalog's facts about a statement,
 * what every scenario run that names it observed, and the broker's list of expected failures
 * in; one verdict out. Pure: no I/O but reading the expected-failures file, no printing.
 *
 * The rules (each a row of tests/test_verdict.c):
 *  - a run says of a statement: passed, failed, not reached (it stopped at another failure
 *    before the check naming this one), or nothing (it was skipped on this target, or could
 *    not run: no evidence either way);
 *  - failed in any run: FAIL; an optional statement: OPTIONAL (not supported, never a
 *    failure); listed in the expected failures: XFAIL;
 *  - passed in some run and failed in none: PASS, or XPASS when it is listed;
 *  - only not reached: UNTESTED with the first run that stopped as the reason; a listed
 *    statement stays XFAIL (still not shown to pass);
 *  - named by no run that said anything: UNTESTED when it is testable, NA when the catalog
 *    says nothing outside a server can observe it.
 *
 * An expected failure is pinned to what was observed: its entry names the statement and the
 * observations it expects to fail (`@SCENARIO:LINE` a check, `@SCENARIO` any check of that
 * scenario, `@NAME` a named observation: `late`, `never`, `malformed`). A failure that none
 * of them covers is a FAIL although the statement is listed; a listed statement that passed
 * is XPASS. An entry with no `@` (the old form) covers every failure of its statement.
 */
#ifndef CONFORMANCE_VERDICT_H
#define CONFORMANCE_VERDICT_H

#include "conformance/catalog.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What one run observed of a statement. */
enum verdict_obs {
	VERDICT_OBS_NONE = 0,
	VERDICT_OBS_PASS,
	VERDICT_OBS_FAIL,
	VERDICT_OBS_UNREACHED,
};

enum verdict_kind {
	VERDICT_PASS,
	VERDICT_FAIL,
	VERDICT_XFAIL,
	VERDICT_XPASS,
	VERDICT_OPTIONAL,
	VERDICT_UNTESTED,
	VERDICT_NA,
};

typedef struct verdict {
	int kind;            /* enum verdict_kind */
	bool unreached;      /* UNTESTED because every run naming it stopped before its check */
	size_t blocker;      /* then: the index (into obs) of the first run that stopped */
	bool unexpected;     /* FAIL although listed: a failure the entry does not name */
	size_t first_unexpected; /* then: its index (into seen) */
} verdict;

/* The verdict of st from obs[0..n) (one per run naming it, enum verdict_obs); listed is the
 * expected-failure reason when the list names st (an entry that covers every failure), else
 * NULL. */
verdict verdict_decide(const cat_stmt *st, const char *listed, const int *obs, size_t n);

/* ---- expected failures ("[VERSION] ID  [@OBSERVATION ...]  reason" lines, # comments) ---- */

typedef struct xfail {
	char *id, *reason;
	char **pins;         /* the observations expected to fail ("SCENARIO:LINE", "SCENARIO",
				"NAME"), without the '@'; none: every failure of the statement */
	size_t npins;
	char *version;       /* "3.1.1" or "5.0" when the line starts with it, else NULL */
	int line;
} xfail;

/* One observation of a statement by one run. For a failure, which check saw it: check is
 * "SCENARIO:LINE" (the scenario file's name without .yaml, the line of the step or
 * expectation), name the observation's name when the check tells failures apart, or
 * "malformed" for a packet the decoder refused (check is then "SCENARIO"). */
typedef struct verdict_seen {
	int obs;             /* enum verdict_obs */
	const char *check;   /* NULL when unknown */
	const char *name;    /* NULL when none */
} verdict_seen;

/* Does entry x expect the failure f? (An entry without pins expects every failure.) */
bool xfail_covers(const xfail *x, const verdict_seen *f);
/* The verdict of st from seen[0..n) (a run may give several, one per failed check; blocker
 * and first_unexpected index seen); entry is the list's entry for st, or NULL. */
verdict verdict_judge(const cat_stmt *st, const xfail *entry, const verdict_seen *seen, size_t n);

typedef struct xfail_list {
	xfail *v;
	size_t n;
} xfail_list;

/* An expected-failure list from its text; name stands for the file in messages. Returns 0,
 * or -1 after printing what is wrong and where (FILE:LINE) on err. The file itself is read
 * by the command (harness/cmd_conform.c): this module does no I/O. */
int xfail_parse(const char *name, const char *text, xfail_list *out, FILE *err);
/* The reason the list gives for st (by id or alias), or NULL. */
const char *xfail_reason(const xfail_list *x, const cat_stmt *st);
/* The list's entry for st (by id or alias), or NULL. */
const xfail *xfail_find(const xfail_list *x, const cat_stmt *st);
void xfail_free(xfail_list *x);

#endif
