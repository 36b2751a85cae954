/*
 * bench_fleet.c - the NodeMCU fleet benchmark: scenarios/fleet/greenhouse-10k.yaml (10,000
 * nodes publishing every 10 s for one virtual hour) through the ordinary run path with the
 * trace off. Prints wall time, speed-up over real time, events/s, peak memory (ru_maxrss)
 * and the node actors' own bytes per node. The wall clock is read here only.
 *
 * Target (issue #6): a speed-up of at least 720x (one hour in at most 5 s) in under 1 GiB.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/run.h"
#include "sim/nodemcu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "scenarios/fleet/greenhouse-10k.yaml";
	sc_errors errs;
	scenario *s = scenario_load(path, &errs);
	if (!s) {
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		sc_errors_free(&errs);
		return 2;
	}
	/* The node actors' own memory, measured on a fleet of the same shape. */
	size_t per_node = 0;
	{
		sim_world *w = sim_world_new(1);
		sim_host *b = sim_host_add(w, "broker");
		nm_fleet *f = nm_fleet_new(w, b, 1883);
		for (size_t k = 0; k < s->nnodes; k++)
			nm_fleet_add(f, &s->nodes[k].cfg, (int)k);
		per_node = nm_fleet_count(f) ? nm_fleet_bytes(f) / nm_fleet_count(f) : 0;
		nm_fleet_free(f);
		sim_world_free(w);
	}
	run_opts o = { .no_trace = true };
	run_result r;
	double t0 = now_s();
	int rc = run_scenario(s, &o, &r);
	double wall = now_s() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double virt = (double)r.virtual_us / 1e6, speed = wall > 0 ? virt / wall : 0;
	double rss_mib = (double)ru.ru_maxrss / 1024.0;
	printf("bench_fleet: %s: %zu nodes, %.0f s virtual\n", s->name, s->node_instances, virt);
	printf("bench_fleet: wall %.2f s, speed-up %.0fx over real time (target >= 720x): %s\n", wall, speed,
	       speed >= 720 ? "met" : "MISSED");
	printf("bench_fleet: %llu events, %.2f M events/s\n", (unsigned long long)r.events,
	       wall > 0 ? (double)r.events / wall / 1e6 : 0);
	printf("bench_fleet: peak memory %.0f MiB (ru_maxrss; target < 1024 MiB): %s; %.0f bytes per node in all, "
	       "%zu bytes per node in the node actors\n", rss_mib, rss_mib < 1024 ? "met" : "MISSED",
	       s->node_instances ? (double)ru.ru_maxrss * 1024.0 / (double)s->node_instances : 0, per_node);
	printf("bench_fleet: the run's expectations %s\n", rc == 0 && r.pass ? "passed" : "FAILED");
	if (!r.pass && r.report)
		fputs(r.report, stdout);
	int ok = rc == 0 && r.pass;
	run_result_free(&r);
	scenario_free(s);
	return ok ? 0 : 1;
}
