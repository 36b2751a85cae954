/*
 * run_expect.c - the run-wide expectations judged over the clients' logs: delivered,
 * no_duplicates, ordered and will. Each reads only what the harness's own clients (and
 * watched nodes) recorded, sent and received, never the broker's bookkeeping, so the same
 * check judges a simulated run and one over TCP alike. `retained:` (which asks the broker,
 * through the probe client) and `node:` stay with the step runner in run.c.
 */
#include "harness/engine.h"
#include "mqtt/alloc.h"

#include <stdlib.h>
#include <string.h>

static bool same_msg(const rx_pkt *r, const char *topic, const uint8_t *payload, uint32_t len)
{
	return r->type == MQTT_PUBLISH && r->topic && !strcmp(r->topic, topic) && r->payload_len == len &&
	       (len == 0 || !memcmp(r->payload, payload, len));
}

static bool topic_in(const char *filter, const char *topic)
{
	if (!filter)
		return true;
	return mqtt_topic_match((const uint8_t *)filter, strlen(filter), (const uint8_t *)topic, strlen(topic));
}

/* The hclients a party of an expectation names: a client, or node logs. *out is malloc'd. */
static size_t parties(engine *e, int client, int node, long inst, hclient ***out)
{
	size_t cap = node >= 0 && e->node_parties ? e->nlogs + 1 : 1, n = 0;
	hclient **v = mqtt_xcalloc(cap, sizeof *v);
	if (client >= 0)
		v[n++] = &e->clients[client];
	else if (node >= 0 && e->node_parties)
		n = e->node_parties(e->ctx, node, inst, v, cap);
	*out = v;
	return n;
}

static bool exp_delivered_one(const sc_expect *x, hclient *from, hclient *to, char **report, const char *at)
{
	bool *used = mqtt_xcalloc(to->npkts + 1, 1);
	uint64_t total = 0, missing = 0;
	const tx_pub *first_missing = NULL;
	for (size_t i = 0; i < from->npubs; i++) {
		const tx_pub *t = &from->pubs[i];
		if (!topic_in(x->topic, t->topic) || (x->has_qos && t->qos < x->qos))
			continue;
		total++;
		bool found = false;
		for (size_t k = 0; k < to->npkts && !found; k++)
			if (!used[k] && same_msg(&to->pkts[k], t->topic, t->payload, t->payload_len))
				used[k] = found = true;
		if (!found) {
			missing++;
			if (!first_missing)
				first_missing = t;
		}
	}
	free(used);
	uint64_t allowed = x->loss_is_count ? x->loss_count : (uint64_t)(x->loss * (double)total + 1e-9);
	if (missing <= allowed)
		return true;
	report_add(report, "%s: delivered: %llu of %llu messages %s published%s%s never reached %s (%llu allowed); the first: topic \"%s\" payload \"%.*s\"",
		   at, (unsigned long long)missing, (unsigned long long)total, from->cfg->id,
		   x->topic ? " on " : "", x->topic ? x->topic : "", to->cfg->id, (unsigned long long)allowed,
		   first_missing->topic, (int)(first_missing->payload_len > 40 ? 40 : first_missing->payload_len),
		   (const char *)first_missing->payload);
	return false;
}

static bool exp_no_duplicates_one(const sc_expect *x, hclient *to, char **report, const char *at)
{
	for (size_t i = 0; i < to->npkts; i++) {
		const rx_pkt *a = &to->pkts[i];
		if (a->type != MQTT_PUBLISH || !topic_in(x->topic, a->topic))
			continue;
		for (size_t k = i + 1; k < to->npkts; k++) {
			if (same_msg(&to->pkts[k], a->topic, a->payload, a->payload_len)) {
				report_add(report, "%s: no_duplicates: %s got topic \"%s\" payload \"%.*s\" twice (%s, then %s)",
					   at, to->cfg->id, a->topic, (int)(a->payload_len > 40 ? 40 : a->payload_len),
					   (const char *)a->payload, a->line, to->pkts[k].line);
				return false;
			}
		}
	}
	return true;
}

/* no_duplicates over several clients together: a (topic, payload) that reached any two of
 * them, or one twice. */
static bool exp_no_duplicates_group(engine *e, const sc_expect *x, char **report, const char *at)
{
	size_t n = 1 + x->nto_more;
	for (size_t a = 0; a < n; a++) {
		hclient *ca = &e->clients[a ? x->to_more[a - 1] : x->to];
		for (size_t i = 0; i < ca->npkts; i++) {
			const rx_pkt *p = &ca->pkts[i];
			if (p->type != MQTT_PUBLISH || !topic_in(x->topic, p->topic))
				continue;
			for (size_t b = a; b < n; b++) {
				hclient *cb = &e->clients[b ? x->to_more[b - 1] : x->to];
				for (size_t k = b == a ? i + 1 : 0; k < cb->npkts; k++) {
					if (!same_msg(&cb->pkts[k], p->topic, p->payload, p->payload_len))
						continue;
					report_add(report, "%s: no_duplicates: topic \"%s\" payload \"%.*s\" reached %s (%s) and %s (%s)",
						   at, p->topic, (int)(p->payload_len > 40 ? 40 : p->payload_len),
						   (const char *)p->payload, ca->cfg->id, p->line, cb->cfg->id, cb->pkts[k].line);
					return false;
				}
			}
		}
	}
	return true;
}

static bool exp_ordered_one(engine *e, const sc_expect *x, hclient *to, char **report, const char *at)
{
	for (size_t p = 0; p < e->nclients + e->nlogs; p++) {
		hclient *from = p < e->nclients ? &e->clients[p] : e->logs[p - e->nclients];
		bool *used = mqtt_xcalloc(from->npubs + 1, 1);
		size_t last = 0;
		bool any = false, ok = true;
		for (size_t k = 0; k < to->npkts && ok; k++) {
			const rx_pkt *r = &to->pkts[k];
			if (r->type != MQTT_PUBLISH || !topic_in(x->topic, r->topic))
				continue;
			for (size_t i = 0; i < from->npubs; i++) {
				const tx_pub *t = &from->pubs[i];
				if (used[i] || !same_msg(r, t->topic, t->payload, t->payload_len))
					continue;
				used[i] = true;
				if (any && i < last) {
					report_add(report, "%s: ordered: %s got %s's \"%.*s\" on \"%s\" after a message %s published later",
						   at, to->cfg->id, from->cfg->id, (int)(t->payload_len > 40 ? 40 : t->payload_len),
						   (const char *)t->payload, t->topic, from->cfg->id);
					ok = false;
				}
				any = true;
				last = i;
				break;
			}
		}
		free(used);
		if (!ok)
			return false;
	}
	return true;
}

static bool exp_will_one(const sc_expect *x, hclient *from, hclient *to, char **report, const char *at)
{
	bool got = false;
	if (from->will_topic)
		for (size_t k = 0; k < to->npkts && !got; k++)
			got = same_msg(&to->pkts[k], from->will_topic, from->will_payload, from->will_payload_len);
	if (!from->will_topic && x->delivered) {
		report_add(report, "%s: will: %s never connected with a will", at, from->cfg->id);
		return false;
	}
	if (got == x->delivered)
		return true;
	report_add(report, "%s: will: %s %s %s's will (topic \"%s\")", at, to->cfg->id,
		   got ? "got" : "did not get", from->cfg->id, from->will_topic);
	return false;
}

/* Each pair of the parties an expectation names (fleets expand to their nodes); the first
 * failures are reported, then a count of the rest. */
static bool exp_each(engine *e, const sc_expect *x, char **report, const char *at)
{
	hclient **from = NULL, **to = NULL;
	size_t nf = 1, nt = parties(e, x->to, x->to_node, x->to_inst, &to), bad = 0, pairs = 0;
	bool needs_from = x->kind == SC_EXP_DELIVERED || x->kind == SC_EXP_WILL;
	if (needs_from)
		nf = parties(e, x->from, x->from_node, x->from_inst, &from);
	for (size_t i = 0; i < nf; i++) {
		for (size_t k = 0; k < nt; k++) {
			char *r = NULL;
			bool ok = true;
			switch (x->kind) {
			case SC_EXP_DELIVERED: ok = exp_delivered_one(x, from[i], to[k], &r, at); break;
			case SC_EXP_WILL: ok = exp_will_one(x, from[i], to[k], &r, at); break;
			case SC_EXP_NO_DUPLICATES: ok = i || exp_no_duplicates_one(x, to[k], &r, at); break;
			case SC_EXP_ORDERED: ok = i || exp_ordered_one(e, x, to[k], &r, at); break;
			default: break;
			}
			pairs++;
			if (!ok && ++bad <= 3 && r)
				report_add(report, "%.*s", (int)strlen(r) - 1, r);
			free(r);
		}
	}
	if (bad > 3)
		report_add(report, "%s: ... and %zu more of %zu pairs failed the same way", at, bad - 3, pairs);
	if (!nf || !nt) {
		report_add(report, "%s: the expectation names no node that was watched", at);
		bad++;
	}
	free(from);
	free(to);
	return bad == 0;
}

bool run__expect_logs(engine *e, const sc_expect *x, char **report, const char *at)
{
	if (x->kind == SC_EXP_NO_DUPLICATES && x->nto_more)
		return exp_no_duplicates_group(e, x, report, at);
	return exp_each(e, x, report, at);
}
