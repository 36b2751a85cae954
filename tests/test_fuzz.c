/*
 * test_fuzz.c - inputs the fuzzers found that crashed something, replayed through the very
 * harness that found them (tests/fuzz/fuzz_*.c, compiled here under another name), so the
 * oracles of the harness and, under `make asan`, the sanitizers judge them again. Also
 * replays each harness's checked-in seeds, which keeps the harnesses building with the
 * project's compiler and flags and the seeds meaningful.
 */
#include "tests.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LLVMFuzzerTestOneInput fuzz_broker_one
#include "fuzz/fuzz_broker.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_ws_one
#define on_data ws_fz_on_data
#define on_control ws_fz_on_control
#define feed ws_fz_feed
#define out ws_fz_out
#include "fuzz/fuzz_ws.c"
#undef LLVMFuzzerTestOneInput
#undef on_data
#undef on_control
#undef feed
#undef out

/* Feeds every file of a seed directory (run from the top of the tree) to a harness. */
static size_t replay_dir(const char *dir, int (*one)(const uint8_t *, size_t))
{
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s", dir);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		ck_assert_msg(f != NULL, "cannot open %s", path);
		static uint8_t buf[1 << 16];
		size_t len = fread(buf, 1, sizeof buf, f);
		fclose(f);
		one(buf, len);
		n++;
	}
	closedir(d);
	return n;
}

/* broker_on_bytes() with no bytes on a connection that has received nothing yet did
 * pointer arithmetic and memcpy on its NULL receive buffer (UBSan at core.c, found by
 * fuzz_broker in its first seconds): open slot 0, then 0 bytes on it. */
START_TEST(test_broker_empty_bytes_on_new_connection)
{
	static const uint8_t input[] = { 0x00, 0x00, 0x01, 0x00 };
	fuzz_broker_one(input, sizeof input);
	/* And the connection still takes its CONNECT afterwards. */
	static const uint8_t again[] = { 0x00, 0x00, 0x01, 0x00, 0x01, 14, 0x10, 0x0c, 0x00, 0x04, 'M', 'Q',
					 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00 };
	fuzz_broker_one(again, sizeof again);
}
END_TEST

START_TEST(test_broker_seeds)
{
	ck_assert_uint_ge(replay_dir("tests/fuzz/seeds/broker", fuzz_broker_one), 5);
}
END_TEST

/* The WebSocket seeds, among them the two the fuzzer found on its first run: a NUL byte in a
 * handshake answer (the parser's strstr ran off its C string: a NULL write) and an answer of
 * one byte (its first three were printed: a read past the input). */
START_TEST(test_ws_seeds)
{
	ck_assert_uint_ge(replay_dir("tests/fuzz/seeds/ws", fuzz_ws_one), 10);
	static const uint8_t nul[] = "\x03HTTP/1.1 101 S\0\r\n\r\n", one[] = { 0xf7, 0xda };
	fuzz_ws_one(nul, sizeof nul - 1);
	fuzz_ws_one(one, sizeof one);
}
END_TEST

Suite *fuzz_suite(void)
{
	Suite *s = suite_create("fuzz");
	TCase *tc = tcase_create("regressions");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, fuzz_broker_release);
	tcase_add_test(tc, test_broker_empty_bytes_on_new_connection);
	tcase_add_test(tc, test_broker_seeds);
	tcase_add_test(tc, test_ws_seeds);
	suite_add_tcase(s, tc);
	return s;
}
