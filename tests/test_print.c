/* test_print.c - see tests.h. */
#include "tests.h"

#include "mqtt/mqtt.h"

START_TEST(test_print_pingreq)
{
	uint8_t b[2] = { 0xC0, 0x00 };
	mqtt_packet p;
	mqtt_err e;
	ck_assert_int_eq(mqtt_decode(b, 2, MQTT_V311, 0, &p, &e), 2);
	ck_assert_uint_eq(p.type, MQTT_PINGREQ);
}
END_TEST

Suite *print_suite(void)
{
	Suite *s = suite_create("print");
	TCase *tc = tcase_create("basic");
	tcase_add_test(tc, test_print_pingreq);
	suite_add_tcase(s, tc);
	return s;
}
