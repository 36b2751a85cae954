/*
 * units.c - numbers and units in scenarios (units.h): "1m30s", "4KiB", "20kbit", "5%", and
 * the bare numbers the loader reads (scenario_load_internal.h). Exact integer arithmetic:
 * a value that cannot be said in the base unit ("0.5us") or overflows is refused, never
 * rounded.
 */
#include "harness/units.h"

#include "harness/scenario_load_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct unit {
	const char *name;
	int64_t factor;
} unit;

static const unit duration_units[] = {
	{ "h", 3600000000LL }, { "m", 60000000LL }, { "s", 1000000LL }, { "ms", 1000LL },
	{ "us", 1LL }, { "\xc2\xb5s", 1LL }, { NULL, 0 },
};

static const unit size_units[] = {
	{ "B", 1LL }, { "KB", 1000LL }, { "kB", 1000LL }, { "KiB", 1024LL }, { "MB", 1000000LL },
	{ "MiB", 1048576LL }, { "GB", 1000000000LL }, { "GiB", 1073741824LL }, { NULL, 0 },
};

static const unit bitrate_units[] = {
	{ "bit", 1LL }, { "bit/s", 1LL }, { "bps", 1LL },
	{ "kbit", 1000LL }, { "kbit/s", 1000LL }, { "Kbit", 1000LL }, { "Kbit/s", 1000LL },
	{ "kbps", 1000LL },
	{ "Mbit", 1000000LL }, { "Mbit/s", 1000000LL }, { "Mbps", 1000000LL },
	{ "Gbit", 1000000000LL }, { "Gbit/s", 1000000000LL }, { "Gbps", 1000000000LL },
	{ NULL, 0 },
};

/* "<digits>[.<digits>]" at *p: the whole part, the fraction's digits as an integer and
 * their count (at most 9). False if malformed or too large. */
static bool amount(const char **p, int64_t *whole, int64_t *frac, int *fdigits)
{
	const char *s = *p;
	int64_t w = 0, f = 0;
	int nd = 0, fd = 0;
	for (; scn__is_digit(*s); s++, nd++) {
		if (w > (INT64_MAX - 9) / 10)
			return false;
		w = w * 10 + (*s - '0');
	}
	if (!nd)
		return false;
	if (*s == '.') {
		for (s++; scn__is_digit(*s); s++, fd++) {
			if (fd == 9)
				return false;
			f = f * 10 + (*s - '0');
		}
		if (!fd)
			return false;
	}
	*p = s;
	*whole = w;
	*frac = f;
	*fdigits = fd;
	return true;
}

/* (whole + frac / 10^fd) * factor exactly, or -1: overflow, or a part of the base unit
 * ("0.5us" cannot be said in microseconds). frac < 10^9 and factor < 4e9 cannot overflow. */
static int64_t scale(int64_t whole, int64_t frac, int fd, int64_t factor)
{
	if (whole > INT64_MAX / factor)
		return -1;
	int64_t p10 = 1;
	for (int i = 0; i < fd; i++)
		p10 *= 10;
	int64_t part = frac * factor;
	if (part % p10)
		return -1;
	part /= p10;
	if (whole * factor > INT64_MAX - part)
		return -1;
	return whole * factor + part;
}

/* The unit spelled at *p, up to the next number or the end. */
static const unit *unit_at(const char **p, const unit *units)
{
	const char *s = *p, *e = s;
	while (*e && !scn__is_digit(*e) && *e != '.')
		e++;
	size_t n = (size_t)(e - s);
	for (const unit *u = units; u->name; u++) {
		if (strlen(u->name) == n && !memcmp(u->name, s, n)) {
			*p = e;
			return u;
		}
	}
	return NULL;
}

int64_t sc_parse_duration(const char *s)
{
	if (!s || !*s)
		return -1;
	int64_t total = 0, last = INT64_MAX;
	while (*s) {
		int64_t w, f;
		int fd;
		if (!amount(&s, &w, &f, &fd))
			return -1;
		const unit *u = unit_at(&s, duration_units);
		/* Parts go from large to small units: "1m30s", never "30s1m" or "1s1s". */
		if (!u || u->factor >= last)
			return -1;
		last = u->factor;
		int64_t v = scale(w, f, fd, u->factor);
		if (v < 0 || total > INT64_MAX - v)
			return -1;
		total += v;
	}
	return total;
}

static int64_t parse_one_unit(const char *s, const unit *units)
{
	int64_t w, f;
	int fd;
	if (!s || !amount(&s, &w, &f, &fd))
		return -1;
	const unit *u = unit_at(&s, units);
	if (!u || *s)
		return -1;
	return scale(w, f, fd, u->factor);
}

int64_t sc_parse_size(const char *s)
{
	return parse_one_unit(s, size_units);
}

int64_t sc_parse_bitrate(const char *s)
{
	return parse_one_unit(s, bitrate_units);
}

double sc_parse_fraction(const char *s)
{
	int64_t w, f;
	int fd;
	if (!s || !amount(&s, &w, &f, &fd))
		return -1;
	double p10 = 1;
	for (int i = 0; i < fd; i++)
		p10 *= 10;
	double v = (double)w + (double)f / p10;
	if (*s == '%' && !s[1])
		v /= 100;
	else if (*s)
		return -1;
	return v <= 1 ? v : -1;
}

/* A number with no unit: "250", "1.5". */
bool scn__is_bare_number(const char *s)
{
	int64_t w, f;
	int fd;
	return amount(&s, &w, &f, &fd) && !*s;
}

/* An integer: decimal or 0x hex, with an optional sign. */
bool scn__parse_int(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	uint64_t v = 0;
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		int d = scn__is_digit(*s) ? *s - '0'
			: base == 16 && scn__lower(*s) >= 'a' && scn__lower(*s) <= 'f' ? scn__lower(*s) - 'a' + 10
			: -1;
		if (d < 0)
			return false;
		if (v > ((uint64_t)INT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

bool scn__parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!scn__is_digit(*s) || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

/* A decimal number such as "200", "-12.5" or "1e3"; no inf, nan or hex floats. */
bool scn__parse_number(const char *s, double *out)
{
	if (!*s || strspn(s, "+-.0123456789eE") != strlen(s))
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*end || errno || v != v)
		return false;
	*out = v;
	return true;
}
