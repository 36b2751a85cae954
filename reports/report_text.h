/*
 * report_text.h - helpers the report writers share (internal to reports/): UTF-8 decoding
 * that never fails, and small formatting of numbers.
 */
#ifndef REPORTS_REPORT_TEXT_H
#define REPORTS_REPORT_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REP_REPLACEMENT 0xFFFDu

/* Decode the code point at s (NUL-terminated). Returns the bytes it takes (>= 1; 0 at the
 * terminating NUL). A byte that does not start a well-formed UTF-8 sequence (overlong
 * forms, surrogates and values past U+10FFFF included) decodes as U+FFFD and takes 1 byte. */
size_t rep_utf8_next(const char *s, uint32_t *cp);

/* Write one code point as UTF-8. */
void rep_put_utf8(FILE *f, uint32_t cp);

/* Write one code point as text for XML and HTML: markup characters as entities, characters
 * neither can carry (controls but tab and newline, U+FFFE, U+FFFF) as U+FFFD. */
void rep_put_xml(FILE *f, uint32_t cp);

/* Write s as a double-quoted string in the backslash style JSON and YAML share: quote,
 * backslash, LF, CR and TAB as \" \\ \n \r \t; every other code point (U+FFFD for a byte
 * that is not UTF-8) is written by other(), the style's own rule. */
void rep_put_backslashed(FILE *f, const char *s, void (*other)(FILE *f, uint32_t cp));

/* Write a non-negative microsecond count as seconds with `decimals` (3 or 6) digits,
 * truncated: 1500000 -> "1.500". Negative values write "0.000". */
void rep_put_seconds(FILE *f, int64_t us, int decimals);

/* The statement's summary section "x.y" of "x.y.z" into buf (the whole when it has fewer
 * parts). */
void rep_top_section(const char *section, char *buf, size_t cap);

#endif
