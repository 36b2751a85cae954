/*
 * sensor.c - see sensor.h.
 */
#include "sim/sensor.h"

#include <math.h>
#include <stdio.h>

void sensor_cfg_defaults(sensor_cfg *c, int type)
{
	*c = (sensor_cfg){ .type = type, .board = BOARD_NODEMCU, .noise_lsb = 1.0, .step = 0.1 };
	if (type == SENSOR_SOIL) {
		c->start = 40;
		c->min = 0;
		c->max = 100;
	} else {
		c->start = 21;
		c->min = -40;
		c->max = 125; /* the TMP36's rated range */
	}
	c->dry_raw = 850;
	c->wet_raw = 400;
}

double sensor_tmp36_mv(double celsius)
{
	double mv = 500.0 + 10.0 * celsius;
	return mv < 0 ? 0 : mv;
}

static double full_scale_mv(int board)
{
	return board == BOARD_BARE ? SENSOR_TOUT_FULL_MV : SENSOR_TOUT_FULL_MV * SENSOR_DIVIDER_RATIO;
}

double sensor_adc_exact(int board, double a0_mv)
{
	return a0_mv * SENSOR_ADC_STEPS / full_scale_mv(board);
}

uint16_t sensor_adc_read(int board, double a0_mv, double noise_lsb, sim_rng *rng)
{
	double x = sensor_adc_exact(board, a0_mv);
	if (rng && noise_lsb > 0)
		x += sim_rng_normal(rng, 0, noise_lsb);
	/* A small epsilon keeps exact grid points (750 mV -> 240.0) on their count despite
	 * the rounding of the divisions above. */
	double q = floor(x + 1e-9);
	if (q < 0)
		q = 0;
	if (q > SENSOR_ADC_MAX)
		q = SENSOR_ADC_MAX;
	return (uint16_t)q;
}

double sensor_adc_to_mv(int board, uint16_t raw)
{
	return (double)raw * full_scale_mv(board) / SENSOR_ADC_STEPS;
}

double sensor_tmp36_celsius(double mv)
{
	return (mv - 500.0) / 10.0;
}

double sensor_soil_mv(const sensor_cfg *c, double pct)
{
	double dry = sensor_adc_to_mv(c->board, c->dry_raw), wet = sensor_adc_to_mv(c->board, c->wet_raw);
	return dry + (wet - dry) * pct / 100.0;
}

double sensor_soil_pct(const sensor_cfg *c, uint16_t raw)
{
	if (c->dry_raw == c->wet_raw)
		return 0;
	double pct = ((double)c->dry_raw - raw) * 100.0 / ((double)c->dry_raw - c->wet_raw);
	return pct < 0 ? 0 : pct > 100 ? 100 : pct;
}

static double curve_at(const sensor_cfg *c, sim_us t)
{
	const sensor_point *p = c->curve;
	if (t <= p[0].t)
		return p[0].v;
	for (uint32_t i = 1; i < c->ncurve; i++) {
		if (t <= p[i].t) {
			double f = (double)(t - p[i - 1].t) / (double)(p[i].t - p[i - 1].t);
			return p[i - 1].v + f * (p[i].v - p[i - 1].v);
		}
	}
	return p[c->ncurve - 1].v;
}

sensor_reading sensor_read(const sensor_cfg *c, sensor_state *st, sim_rng *rng, sim_us t)
{
	sensor_reading r;
	if (c->curve && c->ncurve) {
		r.truth = curve_at(c, t);
	} else {
		if (!st->started) {
			st->value = c->start;
			st->started = true;
		} else if (c->step > 0) {
			double v = st->value + sim_rng_normal(rng, 0, c->step);
			/* Reflect at the bounds, so the walk never sticks to one. */
			if (v > c->max)
				v = 2 * c->max - v;
			if (v < c->min)
				v = 2 * c->min - v;
			st->value = v < c->min ? c->min : v > c->max ? c->max : v;
		}
		r.truth = st->value;
	}
	if (c->type == SENSOR_SOIL) {
		r.raw = sensor_adc_read(c->board, sensor_soil_mv(c, r.truth), c->noise_lsb, rng);
		r.value = sensor_soil_pct(c, r.raw);
	} else {
		r.raw = sensor_adc_read(c->board, sensor_tmp36_mv(r.truth), c->noise_lsb, rng);
		r.value = sensor_tmp36_celsius(sensor_adc_to_mv(c->board, r.raw));
	}
	return r;
}

int sensor_format_value(const sensor_cfg *c, double value, char *buf, size_t cap)
{
	if (c->type == SENSOR_SOIL)
		return snprintf(buf, cap, "%.0f", value);
	return snprintf(buf, cap, "%.2f", value);
}
