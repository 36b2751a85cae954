/*
 * engine_nodes.c - see engine_nodes.h.
 */
#include "harness/engine_nodes.h"
#include "mqtt/alloc.h"
#include "harness/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wifi_ev {
	sim_timer t;
	nm_node *n;
	sim_us for_us;
} wifi_ev;

struct simnodes {
	sim_world *w;
	const scenario *s;
	nm_fleet *fleet;
	size_t *first;          /* per nodes[] entry: the fleet index of its first node */
	hclient **log_of;       /* per fleet node: its log, or NULL when not watched */
	hclient **logs;         /* the logs, in fleet order */
	sc_client *log_cfg;     /* what the logs' reports call them */
	size_t nlogs;
	wifi_ev **evs;
	size_t nevs, evs_cap;
};

static nm_node *node_at(simnodes *sn, int entry, long inst)
{
	size_t i = sn->first[entry] + (inst > 0 ? (size_t)inst - 1 : 0);
	return nm_fleet_node(sn->fleet, i);
}

static void on_publish(void *ctx, nm_node *n, const char *topic, const uint8_t *pl, size_t len, uint8_t qos,
		       int outcome)
{
	simnodes *sn = ctx;
	(void)outcome;
	hclient *c = sn->log_of[sn->first[nm_node_entry(n)] + (nm_node_inst(n) ? nm_node_inst(n) - 1 : 0)];
	if (c)
		hclient_log_pub(c, topic, pl, len, qos, sim_now(sn->w));
}

static void on_message(void *ctx, nm_node *n, const mqtt_packet *p)
{
	simnodes *sn = ctx;
	hclient *c = sn->log_of[sn->first[nm_node_entry(n)] + (nm_node_inst(n) ? nm_node_inst(n) - 1 : 0)];
	if (c)
		hclient_log_rx(c, p, sim_now(sn->w));
}

static void watch(simnodes *sn, int entry, long inst)
{
	const sc_node *e = &sn->s->nodes[entry];
	uint32_t lo = inst > 0 ? (uint32_t)inst : 1, hi = inst > 0 ? (uint32_t)inst : e->cfg.count;
	for (uint32_t i = lo; i <= hi; i++) {
		size_t fi = sn->first[entry] + i - 1;
		if (sn->log_of[fi])
			continue;
		nm_node *n = nm_fleet_node(sn->fleet, fi);
		nm_node_watch(n, true);
		hclient *c = mqtt_xcalloc(1, sizeof *c);
		sc_client *cfg = &sn->log_cfg[fi];
		cfg->id = (char *)nm_node_id(n);
		cfg->client_id = cfg->id;
		hclient_init(c, cfg, -1);
		if (e->cfg.has_will) {
			char t[NM_MAX_TEMPLATE];
			nm_expand(e->cfg.will_topic, nm_node_inst(n), t, sizeof t);
			const char *wp = e->cfg.will_payload ? e->cfg.will_payload : "";
			c->will_topic = mqtt_xstrdup(t);
			c->will_payload = (uint8_t *)mqtt_xstrdup(wp);
			c->will_payload_len = (uint32_t)strlen(wp);
		}
		sn->log_of[fi] = c;
	}
}

simnodes *simnodes_new(sim_world *w, sim_host *broker, uint16_t port, const scenario *s)
{
	if (!s->nnodes)
		return NULL;
	simnodes *sn = mqtt_xcalloc(1, sizeof *sn);
	sn->w = w;
	sn->s = s;
	sn->fleet = nm_fleet_new(w, broker, port);
	sn->first = mqtt_xcalloc(s->nnodes, sizeof *sn->first);
	for (size_t k = 0; k < s->nnodes; k++)
		sn->first[k] = (size_t)nm_fleet_add(sn->fleet, &s->nodes[k].cfg, (int)k);
	size_t total = nm_fleet_count(sn->fleet);
	sn->log_of = mqtt_xcalloc(total, sizeof *sn->log_of);
	sn->log_cfg = mqtt_xcalloc(total, sizeof *sn->log_cfg);
	for (size_t i = 0; i < s->nexpects; i++) {
		const sc_expect *x = &s->expects[i];
		if (x->kind == SC_EXP_NODE)
			continue;
		if (x->from_node >= 0)
			watch(sn, x->from_node, x->from_inst);
		if (x->to_node >= 0)
			watch(sn, x->to_node, x->to_inst);
	}
	sn->logs = mqtt_xcalloc(total, sizeof *sn->logs);
	for (size_t i = 0; i < total; i++)
		if (sn->log_of[i])
			sn->logs[sn->nlogs++] = sn->log_of[i];
	nm_hooks h = { on_publish, on_message };
	nm_fleet_set_hooks(sn->fleet, &h, sn);
	return sn;
}

void simnodes_start(simnodes *sn)
{
	if (sn)
		nm_fleet_start(sn->fleet);
}

nm_fleet *simnodes_fleet(simnodes *sn)
{
	return sn ? sn->fleet : NULL;
}

void simnodes_free(simnodes *sn)
{
	if (!sn)
		return;
	for (size_t i = 0; i < sn->nevs; i++) {
		sim_timer_cancel(sn->w, &sn->evs[i]->t);
		free(sn->evs[i]);
	}
	free(sn->evs);
	for (size_t i = 0; i < sn->nlogs; i++) {
		hclient_free(sn->logs[i]);
		free(sn->logs[i]);
	}
	free(sn->logs);
	free(sn->log_of);
	free(sn->log_cfg);
	free(sn->first);
	nm_fleet_free(sn->fleet);
	free(sn);
}

size_t simnodes_hosts(simnodes *sn, const char *name, sim_host ***out)
{
	*out = NULL;
	long inst;
	int k = sn ? scenario_find_node(sn->s, name, &inst) : -1;
	if (k < 0)
		return 0;
	uint32_t count = inst < 0 ? sn->s->nodes[k].cfg.count : 1;
	sim_host **v = mqtt_xcalloc(count, sizeof *v);
	for (uint32_t i = 0; i < count; i++)
		v[i] = nm_node_host(node_at(sn, k, inst < 0 ? (long)i + 1 : inst));
	*out = v;
	return count;
}

static void wifi_fire(sim_world *w, sim_timer *t)
{
	wifi_ev *ev = t->arg;
	(void)w;
	nm_node_wifi_down(ev->n, ev->for_us);
}

void simnodes_wifi_down(simnodes *sn, const char *name, sim_us at, sim_us for_us)
{
	long inst;
	int k = sn ? scenario_find_node(sn->s, name, &inst) : -1;
	if (k < 0)
		return;
	uint32_t count = inst < 0 ? sn->s->nodes[k].cfg.count : 1;
	for (uint32_t i = 0; i < count; i++) {
		if (sn->nevs == sn->evs_cap) {
			sn->evs_cap = sn->evs_cap ? 2 * sn->evs_cap : 16;
			wifi_ev **v = mqtt_xrealloc(sn->evs, sn->evs_cap * sizeof *v);
			sn->evs = v;
		}
		wifi_ev *ev = mqtt_xcalloc(1, sizeof *ev);
		ev->n = node_at(sn, k, inst < 0 ? (long)i + 1 : inst);
		ev->for_us = for_us;
		sim_timer_init(&ev->t, wifi_fire, ev);
		sim_timer_arm(sn->w, &ev->t, at);
		sn->evs[sn->nevs++] = ev;
	}
}

size_t simnodes_parties(simnodes *sn, int node, long inst, hclient **out, size_t cap)
{
	if (!sn || node < 0 || (size_t)node >= sn->s->nnodes)
		return 0;
	uint32_t lo = inst > 0 ? (uint32_t)inst : 1, hi = inst > 0 ? (uint32_t)inst : sn->s->nodes[node].cfg.count;
	size_t n = 0;
	for (uint32_t i = lo; i <= hi && n < cap; i++) {
		hclient *c = sn->log_of[sn->first[node] + i - 1];
		if (c)
			out[n++] = c;
	}
	return n;
}

hclient **simnodes_logs(simnodes *sn, size_t *n)
{
	*n = sn ? sn->nlogs : 0;
	return sn ? sn->logs : NULL;
}

static const char *bounds(const sc_expect *x, char *buf, size_t cap)
{
	if (x->has_min && x->has_max)
		snprintf(buf, cap, "from %llu to %llu", (unsigned long long)x->min, (unsigned long long)x->max);
	else if (x->has_min)
		snprintf(buf, cap, "at least %llu", (unsigned long long)x->min);
	else
		snprintf(buf, cap, "at most %llu", (unsigned long long)x->max);
	return buf;
}

bool simnodes_check(simnodes *sn, const sc_expect *x, char **report, const char *at)
{
	char b[96];
	if (!sn || x->from_node < 0)
		return false;
	const sc_node *e = &sn->s->nodes[x->from_node];
	uint32_t lo = x->from_inst > 0 ? (uint32_t)x->from_inst : 1;
	uint32_t hi = x->from_inst > 0 ? (uint32_t)x->from_inst : e->cfg.count;
	const char *stat = x->stat ? sc_node_stat_names[x->stat] : NULL;
	uint64_t sum = 0;
	size_t bad = 0, n = 0;
	for (uint32_t i = lo; i <= hi; i++, n++) {
		nm_node *nd = node_at(sn, x->from_node, i);
		if (x->has_connected && nm_node_connected(nd) != x->connected) {
			if (++bad <= 3)
				report_add(report, "%s: node: %s is %s at the end, expected %s", at, nm_node_id(nd),
					   nm_node_connected(nd) ? "connected" : "not connected",
					   x->connected ? "connected" : "not connected");
			continue;
		}
		if (!stat)
			continue;
		uint64_t v = sc_node_stat(nm_node_stats(nd), x->stat);
		sum += v;
		if (x->total)
			continue;
		if ((x->has_min && v < x->min) || (x->has_max && v > x->max)) {
			if (++bad <= 3)
				report_add(report, "%s: node: %s has %s = %llu, expected %s", at, nm_node_id(nd), stat,
					   (unsigned long long)v, bounds(x, b, sizeof b));
		}
	}
	if (stat && x->total && ((x->has_min && sum < x->min) || (x->has_max && sum > x->max))) {
		bad++;
		report_add(report, "%s: node: %s over %zu node%s is %llu, expected %s", at, stat, n, n == 1 ? "" : "s",
			   (unsigned long long)sum, bounds(x, b, sizeof b));
	}
	if (bad > 3 && !x->total)
		report_add(report, "%s: ... and %zu more of %zu nodes", at, bad - 3, n);
	return bad == 0;
}
