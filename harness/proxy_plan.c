/*
 * proxy_plan.c - a scenario's clients, links and faults as a proxy plan (proxy.h): what
 * `mqttsim proxy --faults FILE` applies, and what the tcp engine applies to a scenario run
 * against an external broker. One place decides which faults can go through a proxy and
 * how random_faults are drawn, so both apply the same schedule for a seed.
 */
#include "harness/proxy.h"
#include "harness/scenario.h"

#include "mqtt/alloc.h"
#include "sim/fault.h"
#include "sim/sim.h"

#include <stdlib.h>
#include <string.h>

static long conn_order(const char *id)
{
	if (strncmp(id, "conn-", 5) || id[5] < '1' || id[5] > '9')
		return 0;
	char *end;
	long n = strtol(id + 5, &end, 10);
	return *end ? 0 : n;
}

static bool pair_kind(int kind)
{
	return kind >= SIM_FAULT_PARTITION && kind <= SIM_FAULT_RESET;
}

/* Which way a one-way fault (partition_oneway, clog) goes, from its first host. */
static int dir_of(int kind, bool from_client)
{
	if (kind != SIM_FAULT_PARTITION_ONEWAY && kind != SIM_FAULT_CLOG)
		return PROXY_BOTH;
	return from_client ? PROXY_C2B : PROXY_B2C;
}

/* random_faults drawn as the simulator draws them: sim_fault_plan over the broker, then the
 * clients (engine_sim.c's order), one stream per kind. Only those between a client and the
 * broker go through a proxy; the rest are counted. */
static void plan_random(const scenario *s, uint64_t seed, int64_t until, proxy_plan *p, size_t *skipped,
			size_t *drawn)
{
	sim_world *w = sim_world_new(seed);
	size_t n = s->nclients + 1;
	sim_host **hosts = mqtt_xcalloc(n, sizeof *hosts);
	hosts[0] = sim_host_add(w, "broker");
	for (size_t i = 0; i < s->nclients; i++)
		hosts[i + 1] = sim_host_add(w, s->clients[i].id);
	sim_fault *v = NULL;
	size_t nv = sim_fault_plan(seed, &s->random_faults.rates, hosts, n, 0, until, &v);
	p->faults = mqtt_xrealloc(p->faults, (p->nfaults + nv + 1) * sizeof *p->faults);
	for (size_t i = 0; i < nv; i++) {
		const sim_fault *f = &v[i];
		uint32_t a = f->a ? sim_host_index(f->a) : 0, b = f->b ? sim_host_index(f->b) : 0;
		bool a_br = a == 0, b_br = b == 0;
		if (!pair_kind(f->kind) || a_br == b_br) {
			(*skipped)++;
			continue;
		}
		int sel = (int)(a_br ? b : a) - 1;
		p->faults[p->nfaults++] = (proxy_fault){ f->kind, f->at, f->kind == SIM_FAULT_RESET ? 0 : f->duration, sel,
							 dir_of(f->kind, !a_br) };
	}
	*drawn = nv;
	free(v);
	free(hosts);
	sim_world_free(w);
}

int proxy_plan_scenario(const scenario *s, uint64_t seed, int64_t horizon_us, proxy_plan *p, size_t *skipped,
			size_t *drawn)
{
	memset(p, 0, sizeof *p);
	p->seed = seed;
	*skipped = *drawn = 0;
	p->nsel = s->nclients;
	p->sel = mqtt_xcalloc(s->nclients + 1, sizeof *p->sel);
	p->faults = mqtt_xcalloc(s->nfaults + 1, sizeof *p->faults);
	for (size_t i = 0; i < s->nclients; i++) {
		const sc_client *c = &s->clients[i];
		proxy_sel *q = &p->sel[i];
		q->name = c->id;
		/* The loader fills client_id with id when it is not given. */
		bool own = c->client_id && strcmp(c->client_id, c->id);
		q->order = own ? 0 : conn_order(c->id);
		q->client_id = q->order ? NULL : own ? c->client_id : c->id;
	}
	for (size_t i = 0; i < s->nlinks; i++) {
		const sc_link *l = &s->links[i];
		if (!l->node) {
			p->deflink = l->link;
			continue;
		}
		for (size_t k = 0; k < s->nclients; k++)
			if (!strcmp(s->clients[k].id, l->node)) {
				p->sel[k].has_link = true;
				p->sel[k].link = l->link;
			}
	}
	for (size_t i = 0; i < s->nfaults; i++) {
		const sc_fault *f = &s->faults[i];
		bool pair = pair_kind(f->kind);
		const char *cl = pair && f->b && !strcmp(f->b, "broker") ? f->a
				 : pair && f->a && !strcmp(f->a, "broker") ? f->b
									   : NULL;
		int sel = -1;
		for (size_t k = 0; cl && k < s->nclients; k++)
			if (!strcmp(s->clients[k].id, cl))
				sel = (int)k;
		if (sel < 0)
			return (int)i + 1;
		p->faults[p->nfaults++] = (proxy_fault){ f->kind, f->at_us, f->for_us, sel, dir_of(f->kind, f->a == cl) };
	}
	if (s->random_faults.on && horizon_us > 0)
		plan_random(s, seed, horizon_us, p, skipped, drawn);
	/* In time order; stable, so equal times keep the file's order. */
	for (size_t i = 1; i < p->nfaults; i++)
		for (size_t j = i; j > 0 && p->faults[j].at_us < p->faults[j - 1].at_us; j--) {
			proxy_fault t = p->faults[j];
			p->faults[j] = p->faults[j - 1];
			p->faults[j - 1] = t;
		}
	return 0;
}

void proxy_plan_free(proxy_plan *p)
{
	free(p->sel);
	free(p->faults);
	p->sel = NULL;
	p->faults = NULL;
	p->nsel = p->nfaults = 0;
}
