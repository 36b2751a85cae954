/*
 * fault.c - applying and undoing scheduled faults; drawing them from the seed.
 */
#include "sim/fault.h"
#include "mqtt/alloc.h"
#include "sim/world.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* By kind; names[SIM_FAULT_KINDS] is NULL, so names + 1 is a NULL-terminated list. */
static const char *const names[SIM_FAULT_KINDS + 1] = {
	[SIM_FAULT_PARTITION] = "partition", [SIM_FAULT_PARTITION_ONEWAY] = "partition_oneway",
	[SIM_FAULT_CLOG] = "clog", [SIM_FAULT_BLACKHOLE] = "blackhole", [SIM_FAULT_RESET] = "reset",
	[SIM_FAULT_CRASH] = "crash", [SIM_FAULT_DRIFT] = "drift", [SIM_FAULT_JUMP] = "jump",
};

const char *sim_fault_name(int kind)
{
	return kind > 0 && kind < SIM_FAULT_KINDS ? names[kind] : "?";
}

const char *const *sim_fault_kind_names(void)
{
	return names + 1;
}

int sim_fault_kind_parse(const char *name)
{
	for (int k = 1; k < SIM_FAULT_KINDS; k++)
		if (!strcmp(names[k], name))
			return k;
	return 0;
}

typedef struct fault_ev {
	sim_timer start, end;
	sim_fault f;
	struct fault_ev *next;
} fault_ev;

static void fault_start(sim_world *w, sim_timer *t)
{
	fault_ev *e = t->arg;
	sim_fault *f = &e->f;
	switch (f->kind) {
	case SIM_FAULT_PARTITION: sim_net_partition(w, f->a, f->b, false); break;
	case SIM_FAULT_PARTITION_ONEWAY: sim_net_partition(w, f->a, f->b, true); break;
	case SIM_FAULT_CLOG: sim_net_clog(w, f->a, f->b); break;
	case SIM_FAULT_BLACKHOLE: sim_net_blackhole(w, f->a, f->b, false, true); break;
	case SIM_FAULT_RESET: sim_net_reset(w, f->a, f->b); break;
	case SIM_FAULT_CRASH: sim_host_crash(f->a); break;
	case SIM_FAULT_DRIFT: sim_host_set_drift(f->a, f->value); break;
	case SIM_FAULT_JUMP: sim_host_jump(f->a, (sim_us)f->value); break;
	default: break;
	}
	if (f->duration > 0)
		sim_timer_after(w, &e->end, f->duration);
}

static void fault_end(sim_world *w, sim_timer *t)
{
	fault_ev *e = t->arg;
	sim_fault *f = &e->f;
	switch (f->kind) {
	case SIM_FAULT_PARTITION:
	case SIM_FAULT_PARTITION_ONEWAY: sim_net_heal(w, f->a, f->b); break;
	case SIM_FAULT_CLOG: sim_net_unclog(w, f->a, f->b); break;
	case SIM_FAULT_BLACKHOLE: sim_net_blackhole(w, f->a, f->b, false, false); break;
	case SIM_FAULT_CRASH: sim_host_restart(f->a); break;
	case SIM_FAULT_DRIFT: sim_host_set_drift(f->a, 0); break;
	default: break;
	}
}

int sim_fault_schedule(sim_world *w, const sim_fault *f)
{
	bool pair = f->kind <= SIM_FAULT_RESET;
	if (f->kind <= 0 || f->kind >= SIM_FAULT_KINDS || !f->a || (pair && !f->b))
		return -EINVAL;
	fault_ev *e = mqtt_xcalloc(1, sizeof *e);
	e->f = *f;
	sim_timer_init(&e->start, fault_start, e);
	sim_timer_init(&e->end, fault_end, e);
	e->next = w->faults;
	w->faults = e;
	sim_timer_arm(w, &e->start, f->at);
	return 0;
}

void sim_faults_free(sim_world *w)
{
	for (fault_ev *e = w->faults, *n; e; e = n) {
		n = e->next;
		sim_timer_cancel(w, &e->start);
		sim_timer_cancel(w, &e->end);
		free(e);
	}
	w->faults = NULL;
}

size_t sim_fault_plan(uint64_t seed, const sim_fault_rates *r, sim_host *const *hosts, size_t n,
		      sim_us from, sim_us until, sim_fault **out)
{
	size_t count = 0, cap = 0;
	sim_fault *v = NULL;
	for (int k = 1; k < SIM_FAULT_KINDS; k++) {
		if (r->per_hour[k] <= 0 || n == 0)
			continue;
		bool pair = k <= SIM_FAULT_RESET;
		if (pair && n < 2)
			continue;
		char name[64];
		sim_rng rng;
		snprintf(name, sizeof name, "faults/%s", names[k]);
		sim_rng_init(&rng, seed, name);
		double mean_gap_us = 3600e6 / r->per_hour[k];
		sim_us t = from;
		for (;;) {
			t += (sim_us)sim_rng_exponential(&rng, mean_gap_us);
			if (t >= until)
				break;
			sim_fault f = { .kind = k, .at = t };
			size_t i = (size_t)sim_rng_below(&rng, n);
			f.a = hosts[i];
			if (pair) {
				size_t j = (size_t)sim_rng_below(&rng, n - 1);
				f.b = hosts[j >= i ? j + 1 : j];
			}
			if (r->mean_duration_us[k] > 0)
				f.duration = 1 + (sim_us)sim_rng_exponential(&rng, (double)r->mean_duration_us[k]);
			if (k == SIM_FAULT_DRIFT)
				f.value = sim_rng_uniform(&rng, -r->value[k], r->value[k]);
			else if (k == SIM_FAULT_JUMP)
				f.value = sim_rng_uniform(&rng, -r->value[k], r->value[k]);
			v = mqtt_xgrow(v, &cap, count + 1, sizeof *v, 16);
			v[count++] = f;
		}
	}
	*out = v;
	return count;
}

int sim_fault_draw(sim_world *w, const sim_fault_rates *r, sim_host *const *hosts, size_t n,
		   sim_us from, sim_us until)
{
	sim_fault *v;
	size_t count = sim_fault_plan(w->seed, r, hosts, n, from, until, &v);
	for (size_t i = 0; i < count; i++)
		sim_fault_schedule(w, &v[i]);
	free(v);
	return (int)count;
}
