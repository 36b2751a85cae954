/*
 * sensor.h - sensor models read through the ESP8266's ADC, as a NodeMCU sketch reads them.
 *
 * The chain, for every analog reading:
 *   physical value (a seeded random walk or a scripted curve over virtual time)
 *   -> sensor output voltage (the part's transfer function)
 *   -> board divider (NodeMCU boards: 220k over 100k from the A0 pin to the chip's TOUT pin)
 *   -> 10-bit ADC on TOUT (0 .. 1.0 V full scale, 1024 steps, clamped to 1023), with noise
 *   -> the sketch's conversion back to units (which assumes the ideal full scale)
 * so a reading shows the quantisation and saturation a real node shows.
 *
 * What is modelled, and why (see scenarios/README.md for the scenario keys):
 * - The ESP8266's ADC measures 0 to 1.0 V on its TOUT pin with 10 bits. Development boards
 *   (NodeMCU v2/v3, Wemos D1 mini) put a 220 kOhm / 100 kOhm divider in front of it, so the
 *   A0 pin spans 0 to 3.2 V: 3.125 mV per count. A bare ESP-12 module has no divider: 1.0 V
 *   full scale, 0.977 mV per count, and a TMP36 saturates above 50 C.
 * - TMP36: 10 mV per degree C with a 500 mV offset (750 mV at 25 C), as in its data sheet.
 * - Capacitive soil-moisture probe: the output voltage falls as moisture rises. The sketch
 *   maps a raw ADC count between two calibration points (dry, wet) to 0..100 %.
 *
 * Pure functions plus a small state per sensor; randomness only from the caller's stream.
 */
#ifndef SIM_SENSOR_H
#define SIM_SENSOR_H

#include "sim/sim.h"

enum sensor_type { SENSOR_TMP36 = 1, SENSOR_SOIL };
enum sensor_board { BOARD_NODEMCU = 0, BOARD_BARE };   /* divider to 3.2 V, or 1.0 V direct */
enum sensor_format { FORMAT_NUMBER = 0, FORMAT_JSON };

#define SENSOR_ADC_STEPS 1024          /* counts over the full scale */
#define SENSOR_ADC_MAX 1023            /* the largest count analogRead() returns here */
#define SENSOR_TOUT_FULL_MV 1000.0     /* full scale on the chip's TOUT pin */
#define SENSOR_DIVIDER_RATIO 3.2       /* (220k + 100k) / 100k */
#define SENSOR_MAX_CURVE 64
#define SENSOR_MAX_BATCH 64

/* A scripted curve: the physical value at given times, linear between points, held after
 * the last. Times are microseconds of virtual time from the start of the run. */
typedef struct sensor_point {
	sim_us t;
	double v;
} sensor_point;

typedef struct sensor_cfg {
	int type;                  /* enum sensor_type */
	int board;                 /* enum sensor_board */
	double noise_lsb;          /* ADC noise: standard deviation in counts (default 1.0) */
	/* the physical value: deg C for tmp36, moisture % for soil */
	double start;              /* walk start (default 21 C, 40 %) */
	double step;               /* walk: standard deviation per reading (default 0.1) */
	double min, max;           /* walk: reflected at these bounds */
	sensor_point *curve;       /* NULL: random walk; owned by whoever built the config */
	uint32_t ncurve;
	/* soil calibration: the raw counts the sketch was calibrated with */
	uint16_t dry_raw, wet_raw; /* defaults 850 (in air) and 400 (in water) */
} sensor_cfg;

void sensor_cfg_defaults(sensor_cfg *c, int type);

/* ---- transfer functions (exposed for tests) -------------------------------------------- */

/* TMP36 output in mV for a temperature in deg C (0.1 V .. 2.0 V is its rated range; the
 * output is clamped at 0 V below -50 C as the part cannot go negative). */
double sensor_tmp36_mv(double celsius);
/* The count the ADC gives for a voltage on the A0 pin (board divider applied), before noise,
 * with a fractional part: floor() of it is the ideal reading. */
double sensor_adc_exact(int board, double a0_mv);
/* The count with noise (normal, sd noise_lsb counts, from rng; rng may be NULL for none),
 * quantised and clamped to 0..1023. */
uint16_t sensor_adc_read(int board, double a0_mv, double noise_lsb, sim_rng *rng);
/* What the sketch computes from a count: the A0 voltage in mV, assuming the ideal scale. */
double sensor_adc_to_mv(int board, uint16_t raw);
/* The sketch's TMP36 conversion: (mV - 500) / 10. */
double sensor_tmp36_celsius(double mv);
/* Soil probe output on A0 for a moisture %, linear between the calibration points
 * (dry_raw at 0 %, wet_raw at 100 %) expressed as voltages. */
double sensor_soil_mv(const sensor_cfg *c, double moisture_pct);
/* The sketch's soil conversion: map(raw, dry, wet, 0, 100), clamped to 0..100. */
double sensor_soil_pct(const sensor_cfg *c, uint16_t raw);

/* ---- one reading ---------------------------------------------------------------------- */

/* The walk's state, per sensor per node (a few bytes: nodes are many). */
typedef struct sensor_state {
	double value;              /* current physical value of the walk */
	bool started;
} sensor_state;

typedef struct sensor_reading {
	double truth;              /* the physical value */
	uint16_t raw;              /* the ADC count */
	double value;              /* what the sketch reports (deg C, or %) */
} sensor_reading;

/* Take a reading at virtual time t. rng drives the walk and the noise. */
sensor_reading sensor_read(const sensor_cfg *c, sensor_state *st, sim_rng *rng, sim_us t);

/* The value as the sketch prints it: "%.2f" for temperature (Arduino's String(float)),
 * "%.0f" for moisture %. Returns the length written (snprintf's). */
int sensor_format_value(const sensor_cfg *c, double value, char *buf, size_t cap);

#endif
