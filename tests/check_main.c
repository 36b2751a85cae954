/*
 * check_main.c - the one runner for every Check suite.
 * CK_XML_LOG_FILE_NAME / CK_TAP_LOG_FILE_NAME (set by the Makefile) choose the reports.
 */
#include "tests.h"

#include "harness/cli.h"

#include <stdlib.h>

size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	char msg[160];
	long n = hex_parse(hex, out, cap, msg, sizeof msg);
	ck_assert_msg(n >= 0, "bad hex in test table: %s: %s", hex, msg);
	return (size_t)n;
}

int main(void)
{
	SRunner *sr = srunner_create(codec_suite());
	srunner_add_suite(sr, malformed_suite());
	srunner_add_suite(sr, topic_suite());
	srunner_add_suite(sr, print_suite());
	srunner_add_suite(sr, cli_suite());
	srunner_add_suite(sr, net_suite());
	srunner_add_suite(sr, sim_suite());
	srunner_add_suite(sr, broker_suite());
	srunner_add_suite(sr, broker5_suite());
	srunner_add_suite(sr, tree_suite());
	srunner_add_suite(sr, persist_suite());
	srunner_add_suite(sr, crashsweep_suite());
	srunner_add_suite(sr, run_suite());
	srunner_add_suite(sr, scenario_suite());
	srunner_add_suite(sr, auth_suite());
	srunner_add_suite(sr, scram_suite());
	srunner_add_suite(sr, authwait_suite());
	srunner_add_suite(sr, catalog_suite());
	srunner_add_suite(sr, reports_suite());
	srunner_add_suite(sr, explore_suite());
	srunner_add_suite(sr, sensor_suite());
	srunner_add_suite(sr, nodemcu_suite());
	srunner_add_suite(sr, security_suite());
	srunner_add_suite(sr, fuzz_suite());
	srunner_add_suite(sr, verdict_suite());
	srunner_add_suite(sr, variants_suite());
	srunner_add_suite(sr, ws_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
