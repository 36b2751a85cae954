/*
 * units.h - amounts with their units, as scenarios and command lines write them.
 *
 * Each returns -1 for text that is malformed, overflows, or names a part of the base unit
 * ("0.5us"); never a rounded value.
 */
#ifndef HARNESS_UNITS_H
#define HARNESS_UNITS_H

#include <stdint.h>

/* Parse "250ms", "15s", "2h", "1m30s", "500us" into microseconds. -1 if malformed. */
int64_t sc_parse_duration(const char *s);
/* Parse "256B", "4KiB", "1MB" into bytes; -1 if malformed. */
int64_t sc_parse_size(const char *s);
/* Parse "20kbit", "1Mbit", "9600bit" (also "/s") into bits per second; -1 if malformed. */
int64_t sc_parse_bitrate(const char *s);
/* Parse "30%" or "0.3" into a fraction in [0, 1]; -1 if malformed or out of range. */
double sc_parse_fraction(const char *s);

#endif
