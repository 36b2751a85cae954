/*
 * scenario_faults.c - the scenario loader's network and fault sections: `network` (a
 * default link and links per host or node), `faults` (scheduled ones) and `random_faults`
 * (drawn from the seed, with ranges for swarm testing). The fault kinds are sim's
 * (sim/fault.h), plus wifi_down, a node's own fault.
 */
#include "harness/scenario_load_internal.h"

#include "sim/fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAULTS 10000
#define MAX_PPM 100000.0            /* clock drift: 10%, far past any real crystal */

/* ---- network --------------------------------------------------------------------------- */

static const char *const link_keys[] = {
	"latency", "jitter", "jitter_dist", "loss", "bandwidth", "slice", "coalesce", "limit",
	"close_delay", "rto", "retries", NULL,
};

static void load_link(ld *L, const yaml_node_t *v, sc_link *l)
{
	static const char *const dists[] = { "uniform", "normal", "pareto", NULL }; /* enum sim_jitter */
	sim_link *k = &l->link;
	l->pos = scn__pos_of(v);
	fields f;
	if (!scn__fields_read(L, v, "link", link_keys, &f))
		return;
	int64_t x;
	if (scn__n_amount(L, scn__fget(&f, "latency"), "latency", DURATION, 0, &x))
		k->latency_us = x;
	if (scn__n_amount(L, scn__fget(&f, "jitter"), "jitter", DURATION, 0, &x))
		k->jitter_us = x;
	yaml_node_t *jd = scn__fget(&f, "jitter_dist");
	int d = jd ? scn__n_choice(L, jd, "jitter_dist", dists) : -1;
	if (d >= 0)
		k->jitter_dist = d;
	scn__n_fraction(L, scn__fget(&f, "loss"), "loss", &k->loss);
	if (scn__n_amount(L, scn__fget(&f, "bandwidth"), "bandwidth", BITRATE, AMT_POSITIVE, &x))
		k->bandwidth_bps = (uint64_t)x;
	yaml_node_t *sl = scn__fget(&f, "slice");
	if (scn__n_amount(L, sl, "slice", SIZE, 0, &x)) {
		if (x > UINT32_MAX)
			scn__err(L, sl, "'slice' is at most 4GiB, got %s", scn__quoted(scn__sval(sl)).s);
		else
			k->slice_max = (uint32_t)x;
	}
	if (scn__n_amount(L, scn__fget(&f, "coalesce"), "coalesce", DURATION, 0, &x))
		k->coalesce_us = x;
	if (scn__n_amount(L, scn__fget(&f, "limit"), "limit", SIZE, 0, &x))
		k->limit_bytes = (uint64_t)x;
	if (scn__n_amount(L, scn__fget(&f, "close_delay"), "close_delay", DURATION, 0, &x))
		k->close_delay_us = x;
	if (scn__n_amount(L, scn__fget(&f, "rto"), "rto", DURATION, AMT_POSITIVE, &x))
		k->rto_us = x;
	if (scn__n_int(L, scn__fget(&f, "retries"), "retries", 1, 1000, &x))
		k->retries = (uint32_t)x;
}

static const char *const network_keys[] = { "default", "links", NULL };

void scn__load_network(ld *L, const yaml_node_t *v)
{
	scenario *s = L->s;
	fields f;
	if (scn__is_null(v) || !scn__fields_read(L, v, "network", network_keys, &f))
		return;
	yaml_node_t *def = scn__fget(&f, "default"), *links = scn__fget(&f, "links");
	long nl = 0;
	if (links && scn__is_null(links)) {
		links = NULL;
	} else if (links && links->type != YAML_MAPPING_NODE) {
		scn__err(L, links, "expected a mapping for links (host: { latency: ... }), got %s",
		         scn__describe(links).s);
		links = NULL;
	} else if (links) {
		nl = (long)(links->data.mapping.pairs.top - links->data.mapping.pairs.start);
		if (nl > MAX_CLIENTS + 1) {
			scn__err(L, links, "links has %ld entries; the limit is %d", nl, MAX_CLIENTS + 1);
			links = NULL;
			nl = 0;
		}
	}
	if (!(s->links = scn__xcalloc(L, (size_t)nl + 1, sizeof *s->links)))
		return;
	if (def)
		load_link(L, def, &s->links[s->nlinks++]);
	if (!links)
		return;
	/* Links are keyed by host, each host once. */
	sc_pos *seen = scn__xcalloc(L, s->nclients + 1, sizeof *seen);
	if (!seen)
		return;
	for (yaml_node_pair_t *p = links->data.mapping.pairs.start; p < links->data.mapping.pairs.top; p++) {
		yaml_node_t *k = scn__node(L, p->key), *val = scn__node(L, p->value);
		if (!k || !val)
			break;
		if (!scn__is_scalar(k) || scn__is_null(k)) {
			scn__err(L, k, "links are keyed by host (a client id or broker), got %s", scn__describe(k).s);
			continue;
		}
		int h = scn__host_index(L, scn__sval(k));
		long inst;
		if (h < 0 && scenario_find_node(s, scn__sval(k), &inst) >= 0) {
			/* A node, a fleet or one instance: each name once. */
			bool dup = false;
			for (size_t i = 0; i < s->nlinks && !dup; i++)
				dup = s->links[i].node && !strcmp(s->links[i].node, scn__sval(k));
			if (dup) {
				scn__err(L, k, "duplicate link for %s", scn__quoted(scn__sval(k)).s);
				continue;
			}
			sc_link *l = &s->links[s->nlinks++];
			l->node = scn__xstrdup(L, scn__sval(k));
			load_link(L, val, l);
			continue;
		}
		if (h < 0) {
			scn__unknown_name(L, k, scn__sval(k), true);
			continue;
		}
		if (seen[h].line) {
			scn__err(L, k, "duplicate link for %s (first at %d:%d)", scn__quoted(scn__sval(k)).s, seen[h].line,
			         seen[h].col);
			continue;
		}
		seen[h] = scn__pos_of(k);
		sc_link *l = &s->links[s->nlinks++];
		l->node = scn__xstrdup(L, scn__sval(k));
		load_link(L, val, l);
	}
	free(seen);
}

/* ---- faults ---------------------------------------------------------------------------- */

/* A fault's keys, NULL-terminated: when and for how long, then the kinds from keys +
 * FAULT_WHEN on: sim's, in their order (sim_fault_kind_names()), and wifi_down, a node's own. */
enum { FAULT_WHEN = 3, FAULT_NKEYS = FAULT_WHEN + (SIM_FAULT_KINDS - 1) + 1 };

static void fault_keys(const char *keys[FAULT_NKEYS + 1])
{
	static const char *const when[FAULT_WHEN] = { "at", "for", "restart_after" };
	size_t n = 0;
	for (size_t i = 0; i < FAULT_WHEN; i++)
		keys[n++] = when[i];
	for (const char *const *k = sim_fault_kind_names(); *k; k++)
		keys[n++] = *k;
	keys[n++] = "wifi_down";
	keys[n] = NULL;
}

static bool pair_kind(int kind)
{
	return kind >= SIM_FAULT_PARTITION && kind <= SIM_FAULT_RESET;
}

static void load_pair(ld *L, const yaml_node_t *v, const char *kind, sc_fault *ft)
{
	if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top - v->data.sequence.items.start != 2) {
		txt got = scn__describe(v);
		if (v->type == YAML_SEQUENCE_NODE)
			snprintf(got.s, sizeof got.s, "a list of %ld",
				 (long)(v->data.sequence.items.top - v->data.sequence.items.start));
		scn__err(L, v, "'%s' names two hosts, like [pub, broker], got %s", kind, got.s);
		return;
	}
	yaml_node_t *a = scn__list_item(L, v, 0), *b = scn__list_item(L, v, 1);
	if (!a || !b)
		return;
	bool ok = scn__n_host(L, a, kind, &ft->a);
	if (scn__n_host(L, b, kind, &ft->b) && ok && !strcmp(ft->a, ft->b))
		scn__err(L, b, "'%s' needs two different hosts, got %s twice", kind, scn__quoted(ft->a).s);
}

static const char *const drift_keys[] = { "node", "ppm", NULL };
static const char *const jump_keys[] = { "node", "by", NULL };

static void load_clock_fault(ld *L, const yaml_node_t *v, const char *kind, sc_fault *ft)
{
	bool drift = ft->kind == SIM_FAULT_DRIFT;
	fields f;
	if (!scn__fields_read(L, v, kind, drift ? drift_keys : jump_keys, &f))
		return;
	if (scn__frequire(L, &f, "node"))
		scn__n_host(L, scn__fget(&f, "node"), "node", &ft->a);
	int64_t by;
	if (drift && scn__frequire(L, &f, "ppm"))
		scn__n_number(L, scn__fget(&f, "ppm"), "ppm", -MAX_PPM, MAX_PPM, &ft->value);
	if (!drift && scn__frequire(L, &f, "by") &&
	    scn__n_amount(L, scn__fget(&f, "by"), "by", DURATION, AMT_SIGNED | AMT_POSITIVE, &by))
		ft->value = (double)by;
}

static void load_fault(ld *L, const yaml_node_t *v, void *slot)
{
	sc_fault *ft = slot;
	ft->pos = scn__pos_of(v);
	fields f;
	const char *keys[FAULT_NKEYS + 1];
	fault_keys(keys);
	const char *const *kinds = keys + FAULT_WHEN;
	if (!scn__fields_read(L, v, "fault", keys, &f))
		return;
	int64_t x;
	yaml_node_t *at = scn__fget(&f, "at");
	if (scn__frequire(L, &f, "at") && scn__n_amount(L, at, "at", DURATION, 0, &x)) {
		ft->at_us = x;
		if (L->s->duration_us && x > L->s->duration_us)
			scn__err(L, at, "'at' is %s, after the end of the run (duration: %s)", scn__sval(at),
			         L->duration_text);
	}
	const char *kind = scn__only_one(L, &f, kinds, "write one fault per item");
	if (!kind) {
		if (f.map && !f.unknown)
			scn__err(L, f.map, "fault needs a kind: one of %s", scn__join(kinds, scn__count_of(kinds)).s);
		return;
	}
	ft->kind = !strcmp(kind, "wifi_down") ? SC_FAULT_WIFI_DOWN : sim_fault_kind_parse(kind);
	yaml_node_t *kv = scn__fget(&f, kind);
	if (ft->kind == SC_FAULT_WIFI_DOWN) {
		const char *t = scn__scalar(L, kv, kind, "a node id");
		long inst;
		if (t && scenario_find_node(L->s, t, &inst) < 0)
			scn__err(L, kv, "wifi_down names a node (or a fleet like sensor-{i}), got %s%s", scn__quoted(t).s,
			         L->s->nnodes ? "" : ": no nodes are declared");
		else if (t)
			ft->a = scn__xstrdup(L, t);
	} else if (pair_kind(ft->kind))
		load_pair(L, kv, kind, ft);
	else if (ft->kind == SIM_FAULT_CRASH)
		scn__n_host(L, kv, kind, &ft->a);
	else
		load_clock_fault(L, kv, kind, ft);

	/* How long it lasts: `for`, or `restart_after` for a crash; instants have neither. */
	bool instant = ft->kind == SIM_FAULT_RESET || ft->kind == SIM_FAULT_JUMP;
	yaml_node_t *fv = scn__fget(&f, "for"), *ra = scn__fget(&f, "restart_after");
	if (fv && instant)
		scn__err(L, scn__fkey(&f, "for"), "a %s is instantaneous; 'for' does not apply", kind);
	else if (fv && ft->kind == SIM_FAULT_CRASH)
		scn__err(L, scn__fkey(&f, "for"), "a crash lasts until 'restart_after'; use that instead of 'for'");
	else if (scn__n_amount(L, fv, "for", DURATION, AMT_POSITIVE, &x))
		ft->for_us = x;
	if (ra && ft->kind != SIM_FAULT_CRASH)
		scn__err(L, scn__fkey(&f, "restart_after"), "'restart_after' applies only to crash");
	else if (scn__n_amount(L, ra, "restart_after", DURATION, AMT_POSITIVE, &x))
		ft->for_us = x;
}

void scn__load_faults(ld *L, const yaml_node_t *v)
{
	scenario *s = L->s;
	s->faults = scn__list_load(L, v, "faults", MAX_FAULTS, sizeof *s->faults, &s->nfaults, load_fault);
}

static const char *const rate_keys[] = { "per_hour", "mean", "ppm", "by", NULL };

/* A range for swarm testing (mqttsim explore --swarm): `per_hour: [0, 20]`, `mean: [2s, 1m]`.
 * Returns true when v is a list (reported if it is not a good range); the upper end goes into
 * r (what a run without --swarm uses), the lower into lo. */
static bool rate_range(ld *L, const yaml_node_t *v, const char *key, int k, bool duration,
		       sim_fault_rates *lo, sim_fault_rates *r)
{
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return false;
	L->s->random_faults.ranged = true;
	if (v->data.sequence.items.top - v->data.sequence.items.start != 2) {
		scn__err(L, v, "a range for '%s' has two ends, like [%s], got a list of %ld", key,
		         duration ? "2s, 30s" : "0, 20",
		    (long)(v->data.sequence.items.top - v->data.sequence.items.start));
		return true;
	}
	yaml_node_t *a = scn__list_item(L, v, 0), *b = scn__list_item(L, v, 1);
	if (!a || !b)
		return true;
	if (duration) {
		int64_t x, y;
		bool ok = scn__n_amount(L, a, key, DURATION, AMT_POSITIVE, &x);
		if (!scn__n_amount(L, b, key, DURATION, AMT_POSITIVE, &y) || !ok)
			return true;
		if (x > y)
			scn__err(L, v, "the range for '%s' runs backwards: %s is more than %s", key, scn__sval(a), scn__sval(b));
		lo->mean_duration_us[k] = x;
		r->mean_duration_us[k] = y;
	} else {
		double x, y;
		bool ok = scn__n_number(L, a, key, 0, 1e6, &x);
		if (!scn__n_number(L, b, key, 0, 1e6, &y) || !ok)
			return true;
		if (x > y)
			scn__err(L, v, "the range for '%s' runs backwards: %s is more than %s", key, scn__sval(a), scn__sval(b));
		lo->per_hour[k] = x;
		r->per_hour[k] = y;
	}
	return true;
}

static void load_rate(ld *L, const yaml_node_t *v, const char *kind, sim_fault_rates *r,
		      sim_fault_rates *lo)
{
	int k = sim_fault_kind_parse(kind);
	char what[40];
	snprintf(what, sizeof what, "random %s", kind);
	fields f;
	if (!scn__fields_read(L, v, what, rate_keys, &f))
		return;
	int64_t x;
	yaml_node_t *ph = scn__fget(&f, "per_hour");
	if (scn__frequire(L, &f, "per_hour") && !rate_range(L, ph, "per_hour", k, false, lo, r) &&
	    scn__n_number(L, ph, "per_hour", 0, 1e6, &r->per_hour[k]))
		lo->per_hour[k] = r->per_hour[k];
	/* Which kinds last (mean), and which carry a size (ppm for drift, by for jump). */
	bool instant = k == SIM_FAULT_RESET || k == SIM_FAULT_JUMP;
	yaml_node_t *mean = scn__fget(&f, "mean");
	if (mean && instant)
		scn__err(L, scn__fkey(&f, "mean"), "a %s is instantaneous; 'mean' does not apply", kind);
	else if (!mean && !instant && k != SIM_FAULT_DRIFT)
		scn__err(L, f.map, "%s needs 'mean' (how long each one lasts, e.g. 30s)", what);
	else if (!rate_range(L, mean, "mean", k, true, lo, r) &&
		 scn__n_amount(L, mean, "mean", DURATION, AMT_POSITIVE, &x))
		lo->mean_duration_us[k] = r->mean_duration_us[k] = x;
	if (scn__fget(&f, "ppm") && k != SIM_FAULT_DRIFT)
		scn__err(L, scn__fkey(&f, "ppm"), "'ppm' applies only to drift");
	else if (k == SIM_FAULT_DRIFT && scn__frequire(L, &f, "ppm"))
		scn__n_number(L, scn__fget(&f, "ppm"), "ppm", 0, MAX_PPM, &r->value[k]);
	if (scn__fget(&f, "by") && k != SIM_FAULT_JUMP)
		scn__err(L, scn__fkey(&f, "by"), "'by' applies only to jump");
	else if (k == SIM_FAULT_JUMP && scn__frequire(L, &f, "by") &&
		 scn__n_amount(L, scn__fget(&f, "by"), "by", DURATION, AMT_POSITIVE, &x))
		r->value[k] = (double)x;
}

void scn__load_random_faults(ld *L, const yaml_node_t *v)
{
	sc_random_faults *rf = &L->s->random_faults;
	rf->pos = scn__pos_of(v);
	fields f;
	/* The kinds random_faults may draw are sim's (wifi_down is a node's own: see nodes' wifi). */
	const char *const *kinds = sim_fault_kind_names();
	if (scn__is_null(v) || !scn__fields_read(L, v, "random_faults", kinds, &f))
		return;
	for (const char *const *k = kinds; *k; k++) {
		yaml_node_t *kv = scn__fget(&f, *k);
		if (!kv)
			continue;
		rf->on = true;
		load_rate(L, kv, *k, &rf->rates, &rf->lo);
	}
}
