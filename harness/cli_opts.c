/*
 * cli_opts.c - option values every command parses alike (cli.h): --seed, -j, --broker.
 */
#include "harness/cli.h"
#include "harness/run.h"

#include <errno.h>
#include <stdlib.h>

int cli_seed(const char *cmd, const char *v, uint64_t *out, FILE *err)
{
	char *end = NULL;
	errno = 0;
	unsigned long long s = v && *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
	if (!v || !end || *end || errno) {
		fprintf(err, "mqttsim %s: --seed takes a whole number from 0 to 18446744073709551615, not '%s'\n", cmd,
			v ? v : "(nothing)");
		return -1;
	}
	*out = s;
	return 0;
}

int cli_jobs(const char *cmd, const char *v, long *out, FILE *err)
{
	char *end = NULL;
	long j = v && *v >= '0' && *v <= '9' ? strtol(v, &end, 10) : 0;
	if (!v || !end || *end || j < 1 || j > CLI_JOBS_MAX) {
		fprintf(err, "mqttsim %s: -j takes a number from 1 to %d, not '%s'\n", cmd, CLI_JOBS_MAX,
			v ? v : "(nothing)");
		return -1;
	}
	*out = j;
	return 0;
}

int cli_broker(const char *cmd, const char *v, FILE *err)
{
	char host[256];
	unsigned port;
	if (!v || run_parse_target(v, host, sizeof host, &port) < 0) {
		fprintf(err, "mqttsim %s: --broker takes sim or tcp://HOST:PORT, not '%s'\n", cmd, v ? v : "(nothing)");
		return -1;
	}
	return 0;
}
