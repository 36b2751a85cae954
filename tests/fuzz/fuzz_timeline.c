/*
 * fuzz_timeline.c - libFuzzer target for the trace reader of `mqttsim timeline`
 * (reports/timeline.c, timeline_write on a trace in memory).
 *
 * The first input byte picks the options (colour, byte counts); the rest is the trace.
 * The oracle is the sanitizers: lines it does not understand must be passed over.
 */
#include "reports/timeline.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null_out;
	if (!null_out && !(null_out = fopen("/dev/null", "w")))
		abort();
	if (size < 1)
		return 0;
	timeline_opts o = { .colour = data[0] & 1, .bytes = (data[0] & 2) != 0 };
	(void)timeline_write((const char *)data + 1, size - 1, &o, null_out);
	return 0;
}
