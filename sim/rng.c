/*
 * rng.c - seeded random streams: xoshiro256** (Blackman and Vigna), seeded through
 * splitmix64 from a hash of (seed, stream name).
 *
 * The distributions use only this generator and libm, so a seed reproduces the same
 * draws on every run of the same build.
 */
#include "sim/sim.h"

#include <math.h>

uint64_t sim_hash64(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sim_rng_init(sim_rng *r, uint64_t seed, const char *name)
{
	uint64_t h = SIM_HASH_INIT;
	for (int i = 0; i < 8; i++) {
		uint8_t b = (uint8_t)(seed >> (8 * i));
		h = sim_hash64(h, &b, 1);
	}
	h = sim_hash64(h, "/", 1);
	for (const char *c = name; c && *c; c++)
		h = sim_hash64(h, c, 1);
	uint64_t x = h;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1; /* the all-zero state is the one state xoshiro cannot leave */
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_u64(sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double sim_rng_unit(sim_rng *r)
{
	return (double)(sim_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t sim_rng_below(sim_rng *r, uint64_t n)
{
	if (n == 0)
		return 0;
	/* Rejection keeps the result unbiased: draws in the short last bucket are retried. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do
		x = sim_rng_u64(r);
	while (x >= limit);
	return x % n;
}

double sim_rng_uniform(sim_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * sim_rng_unit(r);
}

double sim_rng_exponential(sim_rng *r, double mean)
{
	/* 1 - u lies in (0, 1], so the log is finite. */
	return -mean * log(1.0 - sim_rng_unit(r));
}

double sim_rng_normal(sim_rng *r, double mean, double sd)
{
	/* Box-Muller; one of the pair is dropped so every call draws the same amount. */
	double u1 = 1.0 - sim_rng_unit(r), u2 = sim_rng_unit(r);
	return mean + sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double sim_rng_pareto(sim_rng *r, double scale, double shape)
{
	return scale / pow(1.0 - sim_rng_unit(r), 1.0 / shape);
}

bool sim_rng_bernoulli(sim_rng *r, double p)
{
	if (p <= 0)
		return false;
	if (p >= 1)
		return true;
	return sim_rng_unit(r) < p;
}
