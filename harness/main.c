/*
 * main.c - the `mqttsim` command: git-style subcommands.
 */
#include "harness/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **, FILE *, FILE *, FILE *);
	const char *summary;
} commands[] = {
	{ "broker", cmd_broker, "run the reference MQTT broker (3.1.1 and 5.0) on real sockets" },
	{ "proxy", cmd_proxy, "forward MQTT connections to a broker through the fault model" },
	{ "conform", cmd_conform, "check a broker against every testable MQTT 3.1.1 statement" },
	{ "run", cmd_run, "run YAML scenarios against the simulated broker or a broker over TCP" },
	{ "list", cmd_list, "list scenarios and the statements they exercise" },
	{ "timeline", cmd_timeline, "show a run's trace as a timeline" },
	{ "explore", cmd_explore, "run a scenario under many seeds; group the failures" },
	{ "shrink", cmd_shrink, "cut a failing seed's faults down to the few that matter" },
	{ "replay", cmd_replay, "run a recorded trace again and check it is identical" },
	{ "decode", cmd_decode, "decode MQTT packets from hex (e.g. pasted from Wireshark)" },
	{ "passwd", cmd_passwd, "add, change or delete a user in a broker password file" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: mqttsim <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'mqttsim <command> --help' describes a command.\n"
		   "exit codes: 0 all passed, 1 a check failed, 2 bad input or usage\n");
}

/* The exit code once stdout and stderr are known to hold what was written to them: a
 * command whose output went nowhere (a full disk, a closed pipe) has not succeeded, even
 * if it did its work, so a script never takes a truncated listing for a whole one. */
static int finish(int rc)
{
	errno = 0;
	bool bad = ferror(stdout) != 0;
	int e = errno;
	if (fflush(stdout) != 0) {
		bad = true;
		e = errno;
	}
	if (bad) {
		if (e)
			fprintf(stderr, "mqttsim: cannot write output: %s\n", strerror(e));
		else
			fprintf(stderr, "mqttsim: cannot write output: a write to stdout failed\n");
		if (rc == EXIT_PASS)
			rc = EXIT_USAGE;
	}
	/* Nothing is left to say where stderr failed, but success would be a lie. */
	if ((fflush(stderr) != 0 || ferror(stderr)) && rc == EXIT_PASS)
		rc = EXIT_USAGE;
	return rc;
}

static int dispatch(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_PASS;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("mqttsim %s\n", MQTTSIM_VERSION);
		return EXIT_PASS;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1, stdin, stdout, stderr);
	fprintf(stderr, "mqttsim: '%s' is not a command. See 'mqttsim --help'.\n", cmd);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	return finish(dispatch(argc, argv));
}
