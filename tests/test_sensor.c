/*
 * test_sensor.c - the sensor models: TMP36 and soil transfer functions, the ESP8266 ADC
 * with and without the NodeMCU board's divider (quantisation, saturation, noise), the
 * random walk and the scripted curve.
 */
#include "tests.h"

#include "sim/sensor.h"

#include <math.h>
#include <stdio.h>

/* Temperature in, what the sketch reports out (no noise): table-driven. */
static const struct {
	int board;
	double celsius;
	double a0_mv;       /* TMP36 output */
	uint16_t raw;       /* ADC count */
	double reported;    /* the sketch's conversion of the count */
} tmp_rows[] = {
	/* 750 mV reads as 25 C: 750 mV / 3.2 V * 1024 = 240.0 counts exactly */
	{ BOARD_NODEMCU, 25.0, 750.0, 240, 25.0 },
	/* 25.1 C = 751 mV: still count 240 (3.125 mV per count), so still 25.00 C */
	{ BOARD_NODEMCU, 25.1, 751.0, 240, 25.0 },
	/* 25.3125 C = 753.125 mV: the next count, 241 */
	{ BOARD_NODEMCU, 25.3125, 753.125, 241, 25.3125 },
	{ BOARD_NODEMCU, 0.0, 500.0, 160, 0.0 },
	{ BOARD_NODEMCU, -40.0, 100.0, 32, -40.0 },
	{ BOARD_NODEMCU, 125.0, 1750.0, 560, 125.0 },
	/* bare module: 1.0 V full scale, 0.977 mV per count */
	{ BOARD_BARE, 25.0, 750.0, 768, 25.0 },
	{ BOARD_BARE, 20.0, 700.0, 716, 19.921875 },
	/* past 50 C the TMP36 gives more than 1.0 V: a bare module saturates at 1023 */
	{ BOARD_BARE, 60.0, 1100.0, 1023, 49.90234375 },
};

START_TEST(test_tmp36_chain)
{
	int i = _i;
	double mv = sensor_tmp36_mv(tmp_rows[i].celsius);
	ck_assert_msg(fabs(mv - tmp_rows[i].a0_mv) < 1e-9, "row %d: %g mV", i, mv);
	uint16_t raw = sensor_adc_read(tmp_rows[i].board, mv, 0, NULL);
	ck_assert_msg(raw == tmp_rows[i].raw, "row %d: raw %u, want %u", i, raw, tmp_rows[i].raw);
	double t = sensor_tmp36_celsius(sensor_adc_to_mv(tmp_rows[i].board, raw));
	ck_assert_msg(fabs(t - tmp_rows[i].reported) < 1e-9, "row %d: %.6f C, want %.6f", i, t, tmp_rows[i].reported);
}
END_TEST

START_TEST(test_adc_bounds)
{
	ck_assert_uint_eq(sensor_adc_read(BOARD_NODEMCU, 0, 0, NULL), 0);
	ck_assert_uint_eq(sensor_adc_read(BOARD_NODEMCU, -50, 0, NULL), 0);
	ck_assert_uint_eq(sensor_adc_read(BOARD_NODEMCU, 3200, 0, NULL), 1023); /* 1024 clamps */
	ck_assert_uint_eq(sensor_adc_read(BOARD_NODEMCU, 3196.875, 0, NULL), 1023);
	ck_assert_uint_eq(sensor_adc_read(BOARD_NODEMCU, 3193.75, 0, NULL), 1022);
	ck_assert_uint_eq(sensor_adc_read(BOARD_BARE, 999.0234375, 0, NULL), 1023);
	ck_assert(fabs(sensor_adc_exact(BOARD_NODEMCU, 750) - 240.0) < 1e-9);
	ck_assert(fabs(sensor_adc_to_mv(BOARD_NODEMCU, 1) - 3.125) < 1e-12);
}
END_TEST

/* Noise: one count of standard deviation spreads readings around the ideal one. */
START_TEST(test_adc_noise)
{
	sim_rng r;
	sim_rng_init(&r, 7, "test/adc");
	double sum = 0, sq = 0;
	int n = 20000, off = 0;
	for (int i = 0; i < n; i++) {
		uint16_t raw = sensor_adc_read(BOARD_NODEMCU, 750.0 + 1.5625, 1.0, &r); /* 240.5 counts */
		sum += raw;
		sq += (double)raw * raw;
		off += raw != 240;
	}
	double mean = sum / n, sd = sqrt(sq / n - mean * mean);
	ck_assert_msg(mean > 239.9 && mean < 240.1, "mean %f", mean); /* floor(240.5 + noise) */
	ck_assert_msg(sd > 0.9 && sd < 1.3, "sd %f", sd);
	ck_assert_int_gt(off, n / 3);
}
END_TEST

START_TEST(test_soil)
{
	sensor_cfg c;
	sensor_cfg_defaults(&c, SENSOR_SOIL);
	ck_assert_uint_eq(c.dry_raw, 850);
	ck_assert_uint_eq(c.wet_raw, 400);
	/* Wetter reads lower. */
	ck_assert(sensor_soil_mv(&c, 80) < sensor_soil_mv(&c, 20));
	ck_assert_uint_eq(sensor_adc_read(c.board, sensor_soil_mv(&c, 0), 0, NULL), 850);
	ck_assert_uint_eq(sensor_adc_read(c.board, sensor_soil_mv(&c, 100), 0, NULL), 400);
	ck_assert_uint_eq(sensor_adc_read(c.board, sensor_soil_mv(&c, 50), 0, NULL), 625);
	ck_assert(fabs(sensor_soil_pct(&c, 625) - 50) < 1e-9);
	ck_assert(fabs(sensor_soil_pct(&c, 900)) < 1e-9);        /* drier than the dry point: 0 */
	ck_assert(fabs(sensor_soil_pct(&c, 300) - 100) < 1e-9);  /* wetter than the wet point: 100 */
	char buf[16];
	sensor_format_value(&c, 49.6, buf, sizeof buf);
	ck_assert_str_eq(buf, "50");
	sensor_cfg t;
	sensor_cfg_defaults(&t, SENSOR_TMP36);
	sensor_format_value(&t, 25, buf, sizeof buf);
	ck_assert_str_eq(buf, "25.00");
}
END_TEST

/* The walk: same stream, same values; within its bounds; another stream differs. */
START_TEST(test_walk)
{
	sensor_cfg c;
	sensor_cfg_defaults(&c, SENSOR_TMP36);
	c.noise_lsb = 0;
	c.step = 2.0;
	c.min = 15;
	c.max = 30;
	c.start = 21;
	sim_rng a, b, d;
	sim_rng_init(&a, 1, "node/s1/sensor/0");
	sim_rng_init(&b, 1, "node/s1/sensor/0");
	sim_rng_init(&d, 1, "node/s2/sensor/0");
	sensor_state sa = { 0 }, sb = { 0 }, sd = { 0 };
	int differ = 0;
	for (int i = 0; i < 2000; i++) {
		sensor_reading x = sensor_read(&c, &sa, &a, SIM_S(i));
		sensor_reading y = sensor_read(&c, &sb, &b, SIM_S(i));
		sensor_reading z = sensor_read(&c, &sd, &d, SIM_S(i));
		if (i == 0)
			ck_assert(fabs(x.truth - 21) < 1e-12);
		ck_assert(x.truth == y.truth && x.raw == y.raw);
		ck_assert_msg(x.truth >= 15 && x.truth <= 30, "step %d: %f", i, x.truth);
		differ += x.truth != z.truth;
	}
	ck_assert_int_gt(differ, 1900);
}
END_TEST

START_TEST(test_curve)
{
	sensor_point pts[] = { { SIM_S(10), 20 }, { SIM_S(110), 30 }, { SIM_S(210), 10 } };
	sensor_cfg c;
	sensor_cfg_defaults(&c, SENSOR_TMP36);
	c.noise_lsb = 0;
	c.curve = pts;
	c.ncurve = 3;
	sensor_state st = { 0 };
	ck_assert(fabs(sensor_read(&c, &st, NULL, 0).truth - 20) < 1e-9);          /* before: held */
	ck_assert(fabs(sensor_read(&c, &st, NULL, SIM_S(60)).truth - 25) < 1e-9);  /* halfway */
	ck_assert(fabs(sensor_read(&c, &st, NULL, SIM_S(160)).truth - 20) < 1e-9);
	ck_assert(fabs(sensor_read(&c, &st, NULL, SIM_S(999)).truth - 10) < 1e-9); /* after: held */
	/* 25 C on the curve is 750 mV: count 240, reported as 25.00 */
	sensor_reading r = sensor_read(&c, &st, NULL, SIM_S(60));
	ck_assert_uint_eq(r.raw, 240);
	ck_assert(fabs(r.value - 25) < 1e-9);
}
END_TEST

Suite *sensor_suite(void)
{
	Suite *s = suite_create("sensor");
	TCase *tc = tcase_create("models");
	tcase_add_loop_test(tc, test_tmp36_chain, 0, (int)(sizeof tmp_rows / sizeof tmp_rows[0]));
	tcase_add_test(tc, test_adc_bounds);
	tcase_add_test(tc, test_adc_noise);
	tcase_add_test(tc, test_soil);
	tcase_add_test(tc, test_walk);
	tcase_add_test(tc, test_curve);
	suite_add_tcase(s, tc);
	return s;
}
