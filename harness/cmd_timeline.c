/*
 * cmd_timeline.c - `mqttsim timeline TRACE`: a trace written by `mqttsim run --out` as a
 * timeline for the terminal.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/cli.h"
#include "reports/timeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char timeline_usage[] =
	"usage: mqttsim timeline TRACE [--bytes] [--color auto|always|never]\n"
	"\n"
	"Show a trace (from mqttsim run --out DIR) as a timeline: connections, every MQTT packet\n"
	"with who sent it to whom, faults, and the scenario's steps. Colour on a terminal unless\n"
	"NO_COLOR is set. --bytes also shows each send and receive.\n";

int cmd_timeline(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	(void)in;
	const char *path = NULL, *colour = "auto";
	timeline_opts o = { 0 };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(timeline_usage, out);
			return EXIT_PASS;
		} else if (!strcmp(argv[i], "--bytes")) {
			o.bytes = true;
		} else if (!strcmp(argv[i], "--color") && i + 1 < argc) {
			colour = argv[++i];
			if (strcmp(colour, "auto") && strcmp(colour, "always") && strcmp(colour, "never")) {
				fprintf(err, "mqttsim timeline: --color takes auto, always or never, not '%s'\n", colour);
				return EXIT_USAGE;
			}
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(err, "mqttsim timeline: unknown option '%s'\n%s", argv[i], timeline_usage);
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
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		fprintf(err, "mqttsim timeline: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	size_t cap = 1 << 16, len = 0;
	char *text = malloc(cap);
	for (;;) {
		if (!text)
			abort();
		size_t got = fread(text + len, 1, cap - len, f);
		len += got;
		if (len < cap)
			break;
		cap *= 2;
		text = realloc(text, cap);
	}
	if (f != stdin)
		fclose(f);
	size_t n = timeline_write(text, len, &o, out);
	free(text);
	if (n == 0) {
		fprintf(err, "mqttsim timeline: %s holds no events I know (is it a trace from mqttsim run --out?)\n", path);
		return EXIT_USAGE;
	}
	return EXIT_PASS;
}
