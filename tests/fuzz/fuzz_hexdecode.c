/*
 * fuzz_hexdecode.c - libFuzzer target for `mqttsim decode` on its standard input: the hex
 * parser (hex_parse_n: separators, 0x prefixes, odd digits, positions in messages), then
 * the codec and the text or JSON printer on whatever bytes it gave.
 *
 * The first input byte picks the options (--json, --version 5.0); the rest is stdin.
 * Oracle, besides the sanitizers: the exit code is one of 0, 1 and 2, and a refusal
 * (exit 2) says why on stderr.
 */
#include "harness/cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null_out;
	if (!null_out && !(null_out = fopen("/dev/null", "w")))
		abort();
	if (size < 2)
		return 0;
	char *argv[6] = { "decode" };
	int argc = 1;
	if (data[0] & 1)
		argv[argc++] = "--json";
	if (data[0] & 2) {
		argv[argc++] = "--version";
		argv[argc++] = "5.0";
	}
	argv[argc++] = "-";
	argv[argc] = NULL;
	FILE *in = fmemopen((void *)(data + 1), size - 1, "r");
	char errbuf[1024] = "";
	FILE *err = fmemopen(errbuf, sizeof errbuf - 1, "w");
	if (!in || !err)
		abort();
	int rc = cmd_decode(argc, argv, in, null_out, err);
	fclose(in);
	fclose(err);
	if (rc < 0 || rc > 2 || (rc == 2 && errbuf[0] == 0)) {
		fprintf(stderr, "decode exited %d, stderr '%s'\n", rc, errbuf);
		abort();
	}
	return 0;
}
