/*
 * cmd_timeline.c - `mqttsim timeline TRACE`: a trace written by `mqttsim run --out` as a
 * timeline for the terminal.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/cli.h"
#include "reports/timeline.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The most a timeline reads: a trace of a long run with --bytes stays far below it, and
 * a mistaken path (/dev/zero, a disk image) fails at once instead of filling memory. */
#define TIMELINE_MAX_INPUT ((size_t)1 << 30)

static const char timeline_usage[] =
	"usage: mqttsim timeline TRACE [--bytes] [--color auto|always|never]\n"
	"\n"
	"Show a trace (from mqttsim run --out DIR) as a timeline: connections, every MQTT packet\n"
	"with who sent it to whom, faults, and the scenario's steps. Colour on a terminal unless\n"
	"NO_COLOR is set. --bytes also shows each send and receive. TRACE may be '-' (stdin) or a\n"
	"pipe; it is read whole, up to 1 GiB.\n";

int cmd_timeline(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	const char *path = NULL, *colour = "auto";
	timeline_opts o = { 0 };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(timeline_usage, out);
			return EXIT_PASS;
		} else if (!strcmp(argv[i], "--bytes")) {
			o.bytes = true;
		} else if (!strcmp(argv[i], "--color") || !strncmp(argv[i], "--color=", 8)) {
			if (argv[i][7] == '=')
				colour = argv[i] + 8;
			else if (i + 1 < argc)
				colour = argv[++i];
			else {
				fprintf(err, "mqttsim timeline: --color needs a value: auto, always or never\n");
				return EXIT_USAGE;
			}
			if (strcmp(colour, "auto") && strcmp(colour, "always") && strcmp(colour, "never")) {
				char shown[80];
				cli_escape(colour, strlen(colour), shown, sizeof shown);
				fprintf(err, "mqttsim timeline: --color takes auto, always or never, not '%s'\n", shown);
				return EXIT_USAGE;
			}
		} else if (argv[i][0] == '-' && argv[i][1]) {
			char shown[80];
			cli_escape(argv[i], strlen(argv[i]), shown, sizeof shown);
			fprintf(err, "mqttsim timeline: unknown option '%s'\n%s", shown, timeline_usage);
			return EXIT_USAGE;
		} else if (!path) {
			path = argv[i];
		} else {
			fprintf(err, "mqttsim timeline: one trace at a time\n");
			return EXIT_USAGE;
		}
	}
	if (!path) {
		fprintf(err, "mqttsim timeline: which trace?\n%s", timeline_usage);
		return EXIT_USAGE;
	}
	const char *nc = getenv("NO_COLOR");
	o.colour = !strcmp(colour, "always") ||
		   (!strcmp(colour, "auto") && isatty(fileno(out)) && !(nc && *nc));
	bool from_stdin = !strcmp(path, "-");
	const char *name = from_stdin ? "stdin" : path;
	FILE *f = from_stdin ? in : fopen(path, "r");
	if (!f) {
		fprintf(err, "mqttsim timeline: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	/* A file, a pipe or stdin; not a directory (whose read fails with a puzzling
	 * message), nor a named device, which may never end (stdin is read whatever it is,
	 * within the bound: /dev/null and a terminal are fine there). */
	struct stat st;
	const char *refuse = NULL;
	if (fstat(fileno(f), &st) == 0) {
		if (S_ISDIR(st.st_mode))
			refuse = "is a directory; give one of the .trace files that mqttsim run --out DIR writes in it";
		else if (!from_stdin && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
			refuse = "is a device, not a trace file";
		else if (!from_stdin && S_ISSOCK(st.st_mode))
			refuse = "is a socket, not a trace file";
		else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > TIMELINE_MAX_INPUT)
			refuse = "is larger than 1 GiB, the most mqttsim timeline reads";
	}
	if (refuse) {
		fprintf(err, "mqttsim timeline: %s %s\n", name, refuse);
		if (!from_stdin)
			fclose(f);
		return EXIT_USAGE;
	}
	size_t len = 0;
	const char *why = NULL;
	char *text = cli_read_all(f, TIMELINE_MAX_INPUT, &len, &why);
	if (!from_stdin)
		fclose(f);
	if (!text) {
		if (!strcmp(why, "too large"))
			fprintf(err, "mqttsim timeline: %s is larger than 1 GiB, the most mqttsim timeline reads\n", name);
		else
			fprintf(err, "mqttsim timeline: %s: %s\n", name, why);
		return EXIT_USAGE;
	}
	size_t n = timeline_write(text, len, &o, out);
	free(text);
	if (n == 0) {
		fprintf(err, "mqttsim timeline: %s holds no events I know (is it a trace from mqttsim run --out?)\n", name);
		return EXIT_USAGE;
	}
	return EXIT_PASS;
}
