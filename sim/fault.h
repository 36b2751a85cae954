/*
 * fault.h - faults scheduled at virtual times, or drawn from the seed.
 *
 * Each fault is applied by an event at `at` and, when it has a duration, undone by another
 * at `at + duration` (a partition heals, a clog releases, a crashed host restarts).
 */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include "sim/net.h"

enum sim_fault_kind {
	SIM_FAULT_PARTITION = 1,   /* a <-> b */
	SIM_FAULT_PARTITION_ONEWAY, /* a -> b */
	SIM_FAULT_CLOG,            /* a -> b held, released after duration */
	SIM_FAULT_BLACKHOLE,       /* a <-> b half-open; lifted after duration if set */
	SIM_FAULT_RESET,           /* RST every connection between a and b */
	SIM_FAULT_CRASH,           /* host a; restarts after duration if set */
	SIM_FAULT_DRIFT,           /* host a clock rate: value ppm */
	SIM_FAULT_JUMP,            /* host a clock: value microseconds */
	SIM_FAULT_KINDS
};

typedef struct sim_fault {
	int kind;
	sim_us at;
	sim_us duration; /* 0: permanent (or instantaneous) */
	sim_host *a, *b;
	double value;
} sim_fault;

const char *sim_fault_name(int kind);
int sim_fault_kind_parse(const char *name); /* 0 if unknown */
/* Every kind's name, in the order of enum sim_fault_kind (SIM_FAULT_PARTITION first),
 * NULL-terminated: the one list of names, for loaders that show or read them. */
const char *const *sim_fault_kind_names(void);

/* Schedule a copy of f. Returns 0, or -EINVAL if hosts are missing for its kind. */
int sim_fault_schedule(sim_world *w, const sim_fault *f);

/* Faults drawn from the seed: for each kind, arrivals at `per_hour` (a Poisson process)
 * between `from` and `until`, durations exponential around mean_duration_us, hosts drawn
 * from `hosts` (pairs are two different hosts). Each kind draws from its own stream
 * "faults/<kind>", so enabling one kind does not move the others. Returns the count. */
typedef struct sim_fault_rates {
	double per_hour[SIM_FAULT_KINDS];
	sim_us mean_duration_us[SIM_FAULT_KINDS];
	double value[SIM_FAULT_KINDS]; /* ppm for drift, max |jump| us for jump */
} sim_fault_rates;
int sim_fault_draw(sim_world *w, const sim_fault_rates *r, sim_host *const *hosts, size_t n,
		   sim_us from, sim_us until);
/* The faults sim_fault_draw() schedules for `seed`, in the order it schedules them, without
 * scheduling anything: so a tool can show, edit or replay the drawn schedule as explicit
 * faults (mqttsim shrink). *out is malloc'd (the caller frees it; NULL when the count is 0). */
size_t sim_fault_plan(uint64_t seed, const sim_fault_rates *r, sim_host *const *hosts, size_t n,
		      sim_us from, sim_us until, sim_fault **out);

#endif
