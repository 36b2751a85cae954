/*
 * fuzz_scenario.c - libFuzzer target for the scenario loader (harness/scenario_*.c),
 * fed from memory through scenario_parse().
 *
 * Oracle, besides the sanitizers: the loader either returns a scenario and no error, or
 * NULL and at least one error, each naming the file ("fuzz.yaml:LINE:COL: ..."). Seeds are
 * the scenarios of scenarios/.
 */
#include "harness/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sc_errors errs;
	memset(&errs, 0, sizeof errs);
	scenario *s = scenario_parse("fuzz.yaml", (const char *)data, size, &errs);
	if (s ? errs.n != 0 : errs.n == 0) {
		fprintf(stderr, "scenario_parse: %s with %d errors\n", s ? "a scenario" : "NULL", errs.n);
		abort();
	}
	for (int i = 0; i < errs.n; i++) {
		if (!errs.msg[i] || strncmp(errs.msg[i], "fuzz.yaml", 9) != 0) {
			fprintf(stderr, "an error that does not name the file: %s\n",
				errs.msg[i] ? errs.msg[i] : "(null)");
			abort();
		}
	}
	scenario_free(s);
	sc_errors_free(&errs);
	return 0;
}
