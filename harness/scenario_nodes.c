/*
 * scenario_nodes.c - the scenario loader's `nodes`: simulated NodeMCU devices and fleets
 * (an id with {i}), their firmware, Wi-Fi, deep sleep, timers, sensors and subscriptions;
 * and the lookups of node names that links, faults and expectations use.
 */
#include "harness/scenario_load_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- nodes: simulated NodeMCU devices -------------------------------------------------- */

/* "{i}" appears in a template at most once, elsewhere the id is a word. */
static bool node_id_ok(const char *id, bool *tmpl)
{
	const char *at = strstr(id, "{i}");
	*tmpl = at != NULL;
	if (at && strstr(at + 3, "{i}"))
		return false;
	char buf[NM_MAX_TEMPLATE];
	return nm_expand(id, 1, buf, sizeof buf) && scn__word_ok(buf) && !strchr(buf, '{') && !strchr(buf, '}');
}

/* The instance a fleet template gives `name`: 1..count, -1 for the template itself, 0 none. */
static long template_inst(const nm_config *c, const char *name)
{
	const char *at = strstr(c->id, "{i}");
	if (!strcmp(c->id, name))
		return -1;
	if (!at)
		return 0;
	size_t pl = (size_t)(at - c->id), sl = strlen(at + 3), nl = strlen(name);
	if (nl <= pl + sl || strncmp(name, c->id, pl) || strcmp(name + nl - sl, at + 3))
		return 0;
	long v = 0;
	for (size_t i = pl; i < nl - sl; i++) {
		if (!scn__is_digit(name[i]) || (i == pl && name[i] == '0') || v > 100000000)
			return 0;
		v = v * 10 + (name[i] - '0');
	}
	return v >= 1 && v <= (long)c->count ? v : 0;
}

int scenario_find_node(const scenario *s, const char *name, long *inst)
{
	for (size_t k = 0; k < s->nnodes; k++) {
		const nm_config *c = &s->nodes[k].cfg;
		if (!c->id)
			continue;
		if (!s->nodes[k].is_template) {
			if (!strcmp(c->id, name)) {
				*inst = 0;
				return (int)k;
			}
			continue;
		}
		long v = template_inst(c, name);
		if (v) {
			*inst = v;
			return (int)k;
		}
	}
	return -1;
}

const char *const sc_node_stat_names[] = {
	"-", "boots", "wifi_drops", "attempts", "connects", "drops", "ping_timeouts", "readings",
	"published", "refused", "offline", "discarded", "received", "oversized_in", "sleeps", NULL,
};

uint64_t sc_node_stat(const nm_stats *st, int stat)
{
	switch (stat) {
	case SC_STAT_BOOTS: return st->boots;
	case SC_STAT_WIFI_DROPS: return st->wifi_drops;
	case SC_STAT_ATTEMPTS: return st->attempts;
	case SC_STAT_CONNECTS: return st->connects;
	case SC_STAT_DROPS: return st->drops;
	case SC_STAT_PING_TIMEOUTS: return st->ping_timeouts;
	case SC_STAT_READINGS: return st->readings;
	case SC_STAT_PUBLISHED: return st->published;
	case SC_STAT_REFUSED: return st->refused;
	case SC_STAT_OFFLINE: return st->offline;
	case SC_STAT_DISCARDED: return st->discarded;
	case SC_STAT_RECEIVED: return st->received;
	case SC_STAT_OVERSIZED_IN: return st->oversized_in;
	case SC_STAT_SLEEPS: return st->sleeps;
	default: return 0;
	}
}

static const char *const node_keys[] = {
	"id", "count", "firmware", "client_id", "clean_session", "keepalive", "will", "buffer_size",
	"wifi", "deep_sleep", "sensors", "subscribe", "resubscribe", "timers", "boot_spread", NULL,
};
static const char *const wifi_keys[] = { "assoc", "jitter", "static_ip", "drops_per_hour", "drop_for", NULL };
static const char *const sleep_keys[] = { "sleep", "awake", "awake_max", "disconnect", NULL };
static const char *const timer_keys[] = { "socket_timeout", "connect_timeout", "reconnect", "queue", NULL };
static const char *const sensor_keys[] = {
	"type", "topic", "every", "qos", "retain", "payload", "batch", "board", "noise", "walk", "curve",
	"dry", "wet", NULL,
};
static const char *const walk_keys[] = { "start", "step", "min", "max", NULL };

static void load_walk(ld *L, const yaml_node_t *v, sensor_cfg *c)
{
	fields f;
	if (!scn__fields_read(L, v, "walk", walk_keys, &f))
		return;
	scn__n_number(L, scn__fget(&f, "start"), "start", -1e6, 1e6, &c->start);
	scn__n_number(L, scn__fget(&f, "step"), "step", 0, 1e6, &c->step);
	scn__n_number(L, scn__fget(&f, "min"), "min", -1e6, 1e6, &c->min);
	scn__n_number(L, scn__fget(&f, "max"), "max", -1e6, 1e6, &c->max);
	if (c->min > c->max)
		scn__err(L, v, "walk: 'min' (%g) is above 'max' (%g)", c->min, c->max);
	else if (c->start < c->min || c->start > c->max)
		scn__err(L, v, "walk: 'start' (%g) lies outside min..max (%g..%g)", c->start, c->min, c->max);
}

/* curve: [[0s, 20], [1h, 30]]: (time, value) points, times increasing. */
static void load_curve(ld *L, const yaml_node_t *v, sensor_cfg *c)
{
	long n = scn__list_count(L, v, "curve", SENSOR_MAX_CURVE);
	if (n == 0)
		scn__err(L, v, "'curve' needs at least one point, like [[0s, 20], [1h, 30]]");
	if (n <= 0 || !(c->curve = scn__xcalloc(L, (size_t)n, sizeof *c->curve)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = scn__list_item(L, v, i);
		if (!it)
			return;
		if (it->type != YAML_SEQUENCE_NODE || it->data.sequence.items.top - it->data.sequence.items.start != 2) {
			scn__err(L, it, "a curve point is [time, value], like [10m, 25.5], got %s", scn__describe(it).s);
			continue;
		}
		yaml_node_t *t = scn__list_item(L, it, 0), *val = scn__list_item(L, it, 1);
		int64_t at;
		double x;
		if (!t || !val || !scn__n_amount(L, t, "curve time", DURATION, 0, &at) ||
		    !scn__n_number(L, val, "curve value", -1e6, 1e6, &x))
			continue;
		if (c->ncurve && at <= c->curve[c->ncurve - 1].t) {
			scn__err(L, t, "curve times must increase; %s is not after the point before", scn__quoted(scn__sval(t)).s);
			continue;
		}
		c->curve[c->ncurve++] = (sensor_point){ at, x };
	}
}

static void load_sensor(ld *L, const yaml_node_t *v, nm_sensor *ns, const nm_config *nc)
{
	static const char *const types[] = { "tmp36", "soil", NULL };
	static const char *const formats[] = { "number", "json", NULL };
	static const char *const boards[] = { "nodemcu", "bare", NULL };
	fields f;
	int type = SENSOR_TMP36;
	ns->every_us = SIM_S(10);
	ns->batch = 1;
	sensor_cfg_defaults(&ns->s, type);
	if (!scn__fields_read(L, v, "sensor", sensor_keys, &f))
		return;
	if (scn__frequire(L, &f, "type")) {
		int t = scn__n_choice(L, scn__fget(&f, "type"), "type", types);
		if (t >= 0)
			sensor_cfg_defaults(&ns->s, type = t + 1);
	}
	if (scn__frequire(L, &f, "topic"))
		scn__n_topic(L, scn__fget(&f, "topic"), "topic", false, &ns->topic);
	int64_t x;
	if (scn__n_amount(L, scn__fget(&f, "every"), "every", DURATION, AMT_POSITIVE, &x))
		ns->every_us = x;
	yaml_node_t *q = scn__fget(&f, "qos");
	if (scn__n_qos(L, q, &ns->qos) && ns->qos > nc->fw.max_pub_qos)
		scn__err(L, q, "%s publishes at QoS %u at most%s; got qos %u", nm_firmware_name(nc->fw.firmware),
		         nc->fw.max_pub_qos,
		    nc->fw.firmware == NM_PUBSUBCLIENT ? " (PubSubClient's publish() has no QoS argument)" : "",
		    ns->qos);
	scn__n_bool(L, scn__fget(&f, "retain"), "retain", &ns->retain);
	yaml_node_t *pv = scn__fget(&f, "payload");
	int fm = pv ? scn__n_choice(L, pv, "payload", formats) : -1;
	if (fm >= 0)
		ns->format = fm;
	yaml_node_t *bv = scn__fget(&f, "batch");
	if (scn__n_int(L, bv, "batch", 1, SENSOR_MAX_BATCH, &x)) {
		ns->batch = (uint16_t)x;
		if (x > 1 && ns->format != FORMAT_JSON)
			scn__err(L, bv, "'batch' puts the last readings in a JSON list; it needs payload: json");
	}
	yaml_node_t *bd = scn__fget(&f, "board");
	int b = bd ? scn__n_choice(L, bd, "board", boards) : -1;
	if (b >= 0)
		ns->s.board = b;
	scn__n_number(L, scn__fget(&f, "noise"), "noise", 0, 100, &ns->s.noise_lsb);
	yaml_node_t *wv = scn__fget(&f, "walk"), *cv = scn__fget(&f, "curve");
	if (wv && cv)
		scn__err(L, scn__fkey(&f, "curve"), "a sensor follows a 'walk' or a 'curve', not both");
	else if (wv)
		load_walk(L, wv, &ns->s);
	else if (cv)
		load_curve(L, cv, &ns->s);
	yaml_node_t *dv = scn__fget(&f, "dry"), *wt = scn__fget(&f, "wet");
	if ((dv || wt) && type != SENSOR_SOIL)
		scn__err(L, scn__fkey(&f, dv ? "dry" : "wet"), "'dry' and 'wet' calibrate a soil sensor only");
	if (scn__n_int(L, dv, "dry", 0, SENSOR_ADC_MAX, &x))
		ns->s.dry_raw = (uint16_t)x;
	if (scn__n_int(L, wt, "wet", 0, SENSOR_ADC_MAX, &x))
		ns->s.wet_raw = (uint16_t)x;
	if (type == SENSOR_SOIL && ns->s.wet_raw >= ns->s.dry_raw)
		scn__err(L, wt ? wt : v, "a soil probe reads lower when wet: 'wet' (%u) must be below 'dry' (%u)",
		         ns->s.wet_raw, ns->s.dry_raw);
}

static void load_node_subs(ld *L, const yaml_node_t *v, nm_config *c)
{
	long n = scn__list_count(L, v, "subscribe", NM_MAX_SUBS);
	if (n <= 0 || !(c->subs = scn__xcalloc(L, (size_t)n, sizeof *c->subs)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = scn__list_item(L, v, i);
		fields f;
		if (!it || !scn__fields_read(L, it, "subscription", scn__sub_keys, &f))
			continue;
		nm_sub *s = &c->subs[c->nsubs++];
		if (scn__frequire(L, &f, "filter"))
			scn__n_topic(L, scn__fget(&f, "filter"), "filter", true, &s->filter);
		yaml_node_t *q = scn__fget(&f, "qos");
		if (scn__n_qos(L, q, &s->qos) && s->qos > c->fw.max_sub_qos)
			scn__err(L, q, "%s subscribes at QoS %u at most; got qos %u", nm_firmware_name(c->fw.firmware),
			         c->fw.max_sub_qos, s->qos);
	}
}

static void load_node(ld *L, const yaml_node_t *v, sc_node *sn)
{
	static const char *const fws[] = { "pubsubclient", "nodemcu-lua", NULL };
	nm_config *c = &sn->cfg;
	nm_config_defaults(c, NM_PUBSUBCLIENT);
	sn->pos = scn__pos_of(v);
	fields f;
	if (!scn__fields_read(L, v, "node", node_keys, &f))
		return;
	int64_t x;
	/* The firmware first: its defaults are what the other keys change. */
	if (scn__frequire(L, &f, "firmware")) {
		int fw = scn__n_choice(L, scn__fget(&f, "firmware"), "firmware", fws);
		if (fw >= 0)
			nm_config_defaults(c, fw + 1);
	}
	yaml_node_t *id = scn__fget(&f, "id");
	if (scn__frequire(L, &f, "id") && scn__n_str(L, id, "id", &c->id)) {
		if (!node_id_ok(c->id, &sn->is_template))
			scn__err(L, id, "node id %s may use only letters, digits, '-', '_' and '.', and '{i}' once "
				        "(it names hosts)", scn__quoted(c->id).s);
		else if (!strcmp(c->id, "broker"))
			scn__err(L, id, "'broker' names the broker host; give the node another id");
	}
	yaml_node_t *cv = scn__fget(&f, "count");
	if (scn__n_int(L, cv, "count", 1, NM_MAX_NODES, &x)) {
		c->count = (uint32_t)x;
		if (x > 1 && c->id && !sn->is_template)
			scn__err(L, cv, "a fleet of %lld nodes needs '{i}' in its id (like sensor-{i}) to name each one",
			         (long long)x);
	}
	scn__n_str(L, scn__fget(&f, "client_id"), "client_id", &c->client_id);
	scn__n_bool(L, scn__fget(&f, "clean_session"), "clean_session", &c->clean_session);
	yaml_node_t *ka = scn__fget(&f, "keepalive");
	if (scn__n_amount(L, ka, "keepalive", DURATION, AMT_SECONDS, &x)) {
		if (x / 1000000 > 65535)
			scn__err(L, ka, "'keepalive' is at most 65535s (a 16-bit field), got %s", scn__quoted(scn__sval(ka)).s);
		else
			c->fw.keepalive_s = (uint16_t)(x / 1000000);
	}
	if (scn__fget(&f, "will"))
		c->has_will = scn__load_will(L, scn__fget(&f, "will"), &c->will_topic, &c->will_payload,
		                             &c->will_qos, &c->will_retain);
	yaml_node_t *bs = scn__fget(&f, "buffer_size");
	if (scn__n_amount(L, bs, "buffer_size", SIZE, AMT_POSITIVE, &x)) {
		if (x < 32 || x > 65536)
			scn__err(L, bs, "'buffer_size' must be from 32B to 64KiB, got %s", scn__quoted(scn__sval(bs)).s);
		else
			c->fw.buffer_size = (uint32_t)x;
	}
	yaml_node_t *wv = scn__fget(&f, "wifi");
	fields g;
	if (wv && scn__fields_read(L, wv, "wifi", wifi_keys, &g)) {
		if (scn__n_bool(L, scn__fget(&g, "static_ip"), "static_ip", &c->static_ip) && c->static_ip) {
			c->assoc_us = SIM_MS(800);
			c->assoc_jitter_us = SIM_MS(300);
		}
		if (scn__n_amount(L, scn__fget(&g, "assoc"), "assoc", DURATION, 0, &x))
			c->assoc_us = x;
		if (scn__n_amount(L, scn__fget(&g, "jitter"), "jitter", DURATION, 0, &x))
			c->assoc_jitter_us = x;
		scn__n_number(L, scn__fget(&g, "drops_per_hour"), "drops_per_hour", 0, 3600, &c->drops_per_hour);
		if (scn__n_amount(L, scn__fget(&g, "drop_for"), "drop_for", DURATION, AMT_POSITIVE, &x))
			c->drop_mean_us = x;
	}
	yaml_node_t *dv = scn__fget(&f, "deep_sleep");
	if (dv && scn__fields_read(L, dv, "deep_sleep", sleep_keys, &g)) {
		if (scn__frequire(L, &g, "sleep") && scn__n_amount(L, scn__fget(&g, "sleep"), "sleep", DURATION, AMT_POSITIVE, &x))
			c->sleep_us = x;
		if (scn__n_amount(L, scn__fget(&g, "awake"), "awake", DURATION, 0, &x))
			c->awake_us = x;
		if (scn__n_amount(L, scn__fget(&g, "awake_max"), "awake_max", DURATION, AMT_POSITIVE, &x))
			c->awake_max_us = x;
		scn__n_bool(L, scn__fget(&g, "disconnect"), "disconnect", &c->disconnect_before_sleep);
	}
	yaml_node_t *tv = scn__fget(&f, "timers");
	if (tv && scn__fields_read(L, tv, "timers", timer_keys, &g)) {
		if (scn__n_amount(L, scn__fget(&g, "socket_timeout"), "socket_timeout", DURATION, AMT_POSITIVE, &x))
			c->fw.socket_timeout_us = x;
		if (scn__n_amount(L, scn__fget(&g, "connect_timeout"), "connect_timeout", DURATION, AMT_POSITIVE, &x))
			c->fw.connect_timeout_us = x;
		if (scn__n_amount(L, scn__fget(&g, "reconnect"), "reconnect", DURATION, AMT_POSITIVE, &x))
			c->fw.reconnect_us = x;
		yaml_node_t *qv = scn__fget(&g, "queue");
		if (qv && c->fw.firmware != NM_NODEMCU_LUA)
			scn__err(L, scn__fkey(&g, "queue"), "'queue' bounds nodemcu-lua's send queue; pubsubclient has none");
		else if (scn__n_int(L, qv, "queue", 1, 10000, &x))
			c->fw.queue_max = (uint16_t)x;
	}
	if (scn__n_amount(L, scn__fget(&f, "boot_spread"), "boot_spread", DURATION, 0, &x))
		c->boot_spread_us = x;
	yaml_node_t *sv = scn__fget(&f, "sensors");
	long n = sv ? scn__list_count(L, sv, "sensors", NM_MAX_SENSORS) : 0;
	if (n > 0 && (c->sensors = scn__xcalloc(L, (size_t)n, sizeof *c->sensors)))
		for (long i = 0; i < n; i++) {
			yaml_node_t *it = scn__list_item(L, sv, i);
			if (!it)
				break;
			load_sensor(L, it, &c->sensors[c->nsensors++], c);
		}
	if (scn__fget(&f, "subscribe"))
		load_node_subs(L, scn__fget(&f, "subscribe"), c);
	bool resub = true;
	if (scn__n_bool(L, scn__fget(&f, "resubscribe"), "resubscribe", &resub))
		c->subscribe_once = !resub;
	/* {i} elsewhere needs one in the id: a single node has no number to put there. */
	bool braces = (c->client_id && strstr(c->client_id, "{i}")) || (c->will_topic && strstr(c->will_topic, "{i}"));
	for (uint32_t k = 0; k < c->nsensors; k++)
		braces = braces || (c->sensors[k].topic && strstr(c->sensors[k].topic, "{i}"));
	for (uint32_t k = 0; k < c->nsubs; k++)
		braces = braces || (c->subs[k].filter && strstr(c->subs[k].filter, "{i}"));
	if (braces && c->id && !sn->is_template)
		scn__err(L, id, "node %s uses '{i}' in its client id or topics but is not a fleet; put '{i}' in "
			        "its id too (like sensor-{i})", scn__quoted(c->id).s);
}

/* A node, and its instances counted against the limit over all nodes. */
static void load_counted_node(ld *L, const yaml_node_t *v, void *slot)
{
	scenario *s = L->s;
	sc_node *sn = slot;
	load_node(L, v, sn);
	if (s->node_instances + sn->cfg.count > NM_MAX_NODES) {
		scn__err(L, v, "more than %d nodes in all; the limit is %d", NM_MAX_NODES, NM_MAX_NODES);
		sn->cfg.count = 1;
	}
	s->node_instances += sn->cfg.count;
}

void scn__load_nodes(ld *L, const yaml_node_t *v)
{
	scenario *s = L->s;
	s->nodes = scn__list_load(L, v, "nodes", MAX_CLIENTS, sizeof *s->nodes, &s->nnodes, load_counted_node);
	if (L->halt)
		return; /* too large to read: said once, and the names would be half read */
	/* Names: no node may share a client's id, nor another node's (or instance's). */
	for (size_t k = 0; k < s->nnodes; k++) {
		sc_node *sn = &s->nodes[k];
		const char *id = sn->cfg.id;
		if (!id)
			continue;
		char first[NM_MAX_TEMPLATE];
		nm_expand(id, 1, first, sizeof first);
		int ci = scn__find_client(L, sn->is_template ? first : id);
		if (ci >= 0) {
			scn__err_at(L, sn->pos, "node %s has the id of client %s; ids name hosts and must differ",
			            scn__quoted(id).s, scn__quoted(s->clients[ci].id).s);
			continue;
		}
		for (size_t j = 0; j < k; j++) {
			const sc_node *o = &s->nodes[j];
			if (!o->cfg.id)
				continue;
			bool clash = !strcmp(o->cfg.id, id);
			/* An instance of one fleet that another entry also names. */
			for (uint32_t i = 1; !clash && sn->is_template && i <= sn->cfg.count; i++) {
				char name[NM_MAX_TEMPLATE];
				long inst;
				nm_expand(id, i, name, sizeof name);
				clash = o->is_template ? template_inst(&o->cfg, name) > 0 : !strcmp(o->cfg.id, name);
				(void)inst;
			}
			if (!clash && o->is_template && !sn->is_template)
				clash = template_inst(&o->cfg, id) != 0;
			if (clash) {
				scn__err_at(L, sn->pos, "node %s names the same host as the node at %d:%d", scn__quoted(id).s,
				            o->pos.line, o->pos.col);
				break;
			}
		}
	}
}

/* A party of an expectation: a client, or a scn__node (one, one instance, or a whole fleet). */
