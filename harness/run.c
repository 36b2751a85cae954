/*
 * run.c - the step runner, written once for every target; the run-wide expectations over
 * the clients' logs are in run_expect.c, `retained:` (read through the probe) here.
 *
 * Steps run in order; a step that fails ends the run (what follows would only report
 * the same failure again). Every wait has a bound: `within`, `for`, or the scenario's
 * duration, so a broker that vanishes gives a clear failure, never a hang.
 */
#include "harness/engine.h"
#include "harness/raw_send.h"
#include "harness/ws.h"
#include "mqtt/alloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void report_add(char **report, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	size_t old = *report ? strlen(*report) : 0, n = strlen(line);
	char *r = mqtt_xrealloc(*report, old + n + 2);
	memcpy(r + old, line, n);
	r[old + n] = '\n';
	r[old + n + 1] = 0;
	*report = r;
}

int run_parse_target(const char *t, char *host, size_t hcap, unsigned *port)
{
	if (!t || !strcmp(t, "sim"))
		return RUN_TARGET_SIM;
	if (!strncmp(t, "exec:", 5))
		return t[5 + strspn(t + 5, " \t")] ? RUN_TARGET_EXEC : -1;
	int kind = !strncmp(t, "tcp://", 6) || !strncmp(t, "mqtt://", 7) || !strncmp(t, "ws://", 5) ? RUN_TARGET_TCP
		   : !strncmp(t, "mqtts://", 8) || !strncmp(t, "wss://", 6)                         ? RUN_TARGET_TLS
														    : -1;
	if (kind < 0)
		return -1;
	/* ws:// and wss://: HOST:PORT, then the path (checked here, kept by run_target_ws). */
	char hp[300], path[RUN_WS_PATH_MAX];
	const char *rest = strstr(t, "://") + 3;
	long hl = t[0] == 'w' ? ws_split_path(rest, path, sizeof path) : (long)strlen(rest);
	if (hl < 0 || (size_t)hl >= sizeof hp)
		return -1;
	memcpy(hp, rest, (size_t)hl);
	hp[hl] = 0;
	const char *h = hp, *colon = strrchr(h, ':'), *hend = colon;
	if (*h == '[') { /* an IPv6 address: tcp://[::1]:1883 */
		const char *rb = strchr(h, ']');
		if (!rb || rb[1] != ':')
			return -1;
		colon = rb + 1;
		hend = rb;
		h++;
	}
	if (!colon || hend == h || (size_t)(hend - h) >= hcap)
		return -1;
	/* The port: digits only (no sign, no space), 1 to 65535. */
	const char *d = colon + 1;
	if (!*d || strspn(d, "0123456789") != strlen(d) || strlen(d) > 5)
		return -1;
	unsigned long p = strtoul(d, NULL, 10);
	if (p == 0 || p > 65535)
		return -1;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = 0;
	*port = (unsigned)p;
	return kind;
}

bool run_target_ws(const char *t, char *path, size_t cap)
{
	if (!t || (strncmp(t, "ws://", 5) && strncmp(t, "wss://", 6)))
		return false;
	char p[RUN_WS_PATH_MAX];
	if (ws_split_path(strstr(t, "://") + 3, p, sizeof p) < 0)
		return false;
	if (path)
		snprintf(path, cap, "%s", p);
	return true;
}

/* Options of the reference broker (`broker:`), which an exec broker does not take. */
static bool reference_broker_options(const sc_broker *b)
{
	return b->persistence || b->max_queued || b->max_inflight || b->queue_qos0 || b->drop_oldest ||
	       b->has_sys_interval || b->acl || b->receive_max || b->has_topic_alias_max || b->max_packet_size ||
	       b->no_sub_ids || b->no_shared_subs;
}

bool run_target_fits(const scenario *s, int target)
{
	if (target == RUN_TARGET_WS)
		return s->targets & (SC_TARGET_TCP | SC_TARGET_WS);
	if (target == RUN_TARGET_SIM)
		return s->targets & SC_TARGET_SIM;
	if (target != RUN_TARGET_EXEC)
		return s->targets & SC_TARGET_TCP;
	/* An exec broker is an external broker on the virtual network: it runs what a scenario
	 * for an external broker runs, and what one for the simulation runs unless that asks
	 * the reference broker for options of its own. */
	return (s->targets & SC_TARGET_TCP) || s->broker.nexec_config ||
	       ((s->targets & SC_TARGET_SIM) && !reference_broker_options(&s->broker));
}

void run_result_free(run_result *r)
{
	free(r->report);
	r->report = NULL;
	free(r->failed_expect);
	r->failed_expect = NULL;
	free(r->trace);
	r->trace = NULL;
	for (size_t i = 0; i < r->nfaults; i++) {
		free(r->faults[i].a);
		free(r->faults[i].b);
	}
	free(r->faults);
	r->faults = NULL;
	r->nfaults = 0;
	for (size_t i = 0; i < r->nviolations; i++)
		free(r->violations[i]);
	free(r->violations);
	r->violations = NULL;
	r->nviolations = 0;
}

int run_scenario(const scenario *s, const run_opts *o, run_result *r)
{
	char host[256];
	unsigned port = 0;
	memset(r, 0, sizeof *r);
	r->failed_step = -1;
	r->seed = o->has_seed ? o->seed : s->seed;
	int t = run_parse_target(o->broker, host, sizeof host, &port);
	if (t < 0) {
		report_add(&r->report, "--broker takes " RUN_TARGET_FORMS ", not '%s'", o->broker);
		r->error = true;
		return -1;
	}
	if (!run_target_fits(s, run_target_ws(o->broker, NULL, 0) ? RUN_TARGET_WS : t)) {
		r->skipped = r->pass = true;
		return 0;
	}
	/* A CONNECT written as bytes carries no credentials: against a broker that needs them
	 * it could only fail, so it says nothing there (its statements stay untested). */
	for (size_t i = 0; t != RUN_TARGET_SIM && o->username && i < s->nsteps; i++)
		if (s->steps[i].kind == SC_RAW && s->steps[i].raw_len && s->steps[i].raw[0] == 0x10) {
			report_add(&r->report, "sends a CONNECT written as bytes (step %d:%d), which cannot carry --username",
				   s->steps[i].pos.line, s->steps[i].pos.col);
			r->skipped = r->pass = true;
			return 0;
		}
	int rc = t == RUN_TARGET_SIM || t == RUN_TARGET_EXEC ? engine_sim_run(s, o, r)
				     : engine_tcp_run(s, o, host, port, t == RUN_TARGET_TLS || o->tls, r);
	if (rc < 0)
		r->error = true;
	return rc;
}

/* ---- helpers over the engine ----------------------------------------------------------- */

typedef struct find_arg {
	hclient *c;
	const sc_match *m;
	int64_t since;
	size_t found;
} find_arg;

/* An id remembered with `as`; 0 (never a valid id) if there is none by that name. */
static uint16_t saved_id(const hclient *c, const char *name)
{
	for (int i = c->nsaved; i-- > 0;)
		if (!strcmp(c->saved[i].name, name))
			return c->saved[i].id;
	return 0;
}

static void save_id(hclient *c, const char *name, uint16_t id)
{
	for (int i = 0; i < c->nsaved; i++)
		if (!strcmp(c->saved[i].name, name)) {
			c->saved[i].id = id;
			return;
		}
	if (c->nsaved < (int)(sizeof c->saved / sizeof c->saved[0])) {
		c->saved[c->nsaved].name = name;
		c->saved[c->nsaved++].id = id;
	}
}

/* Every wait of the run goes through here: none goes past the run's limit. */
static bool wait_until(engine *e, int64_t until, bool (*pred)(void *), void *arg)
{
	if (until > e->limit_us) {
		until = e->limit_us;
		e->hit_limit = true;
	}
	return e->run_until(e->ctx, until, pred, arg);
}

/* Every field of m but `first` (a property of where the packet is, not of the packet). */
static bool pkt_matches(hclient *c, const rx_pkt *r, const sc_match *m)
{
	if (m->id_same && r->id != c->expected_id)
		return false;
	if (m->id_ref && r->id != saved_id(c, m->id_ref))
		return false;
	return hclient_match(r, m);
}

static bool find_unseen(void *arg)
{
	find_arg *f = arg;
	for (size_t i = 0; i < f->c->npkts; i++) {
		rx_pkt *r = &f->c->pkts[i];
		if (f->m->first && i != f->c->conn_first)
			continue;
		if (!r->seen && r->at_us >= f->since && pkt_matches(f->c, r, f->m)) {
			f->found = i;
			return true;
		}
	}
	return false;
}

static bool closed_pred(void *arg)
{
	return ((hclient *)arg)->peer_closed;
}

typedef struct open_arg {
	engine *e;
	int i;
} open_arg;

static bool open_done(void *arg)
{
	open_arg *a = arg;
	return a->e->open_state(a->e->ctx, a->i) != 1;
}

static const char *where(const scenario *s, const sc_step *st, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s:%d:%d", s->file ? s->file : "-", st->pos.line, st->pos.col);
	return buf;
}

/* What a client received lately, for a failure report. */
static void context(char **report, engine *e, hclient *c)
{
	size_t from = c->npkts > 6 ? c->npkts - 6 : 0;
	report_add(report, "  %s received %zu packet%s%s", c->cfg->id, c->npkts, c->npkts == 1 ? "" : "s",
		   c->npkts ? ", the last ones:" : "");
	for (size_t i = from; i < c->npkts; i++)
		report_add(report, "    at %lld.%06llds: %s%s\n      bytes: %s", (long long)(c->pkts[i].at_us / 1000000),
			   (long long)(c->pkts[i].at_us % 1000000), c->pkts[i].line,
			   c->pkts[i].seen ? "" : "  (not matched by any step)", c->pkts[i].hex);
	if (c->rx_broken)
		report_add(report, "  %s", c->rx_error);
	if (c->peer_closed)
		report_add(report, "  the broker closed %s's connection at %lld.%06llds", c->cfg->id,
			   (long long)(c->closed_at_us / 1000000), (long long)(c->closed_at_us % 1000000));
	(void)e;
}

/* topic with the run's prefix where raw_prefix_at() puts it (share: a subscription's filter,
 * $share/GROUP/FILTER takes it before FILTER). */
static char *prefixed_at(const engine *e, const char *topic, bool share)
{
	size_t pl = e->topic_prefix ? strlen(e->topic_prefix) : 0, n = strlen(topic);
	long at = raw_prefix_at(topic, n, share);
	if (!pl || at < 0)
		return mqtt_xstrdup(topic);
	char *t = mqtt_xmalloc(pl + 1 + n + 1);
	memcpy(t, topic, (size_t)at);
	memcpy(t + at, e->topic_prefix, pl);
	t[at + (long)pl] = '/';
	memcpy(t + at + (long)pl + 1, topic + at, n - (size_t)at + 1);
	return t;
}

static char *prefixed(const engine *e, const char *topic)
{
	return prefixed_at(e, topic, false);
}

static char *prefixed_filter(const engine *e, const char *filter)
{
	return prefixed_at(e, filter, true);
}

/* ---- steps ------------------------------------------------------------------------------- */

/* A new transport connection for the step's client (closing the old one), within `bound`. */
static bool open_transport(engine *e, const scenario *s, const sc_step *st, int64_t bound, char **report)
{
	hclient *c = &e->clients[st->client];
	char at[512];
	int64_t deadline = e->now(e->ctx) + bound;
	if (c->tcp_open && !c->peer_closed)
		e->close(e->ctx, st->client, true);
	hclient_reset(c);
	int rc = e->open(e->ctx, st->client);
	if (rc == 0) {
		open_arg oa = { e, st->client };
		wait_until(e, deadline, open_done, &oa);
		rc = e->open_state(e->ctx, st->client);
	}
	if (rc != 0) {
		report_add(report, "%s: %s could not connect to the broker: %s", where(s, st, at, sizeof at),
			   c->cfg->id, rc == 1 ? "no answer in time" : strerror(-rc));
		return false;
	}
	c->tcp_open = true;
	return true;
}

static bool step_connect(engine *e, const scenario *s, const sc_step *st, char **report)
{
	hclient *c = &e->clients[st->client];
	char at[512];
	int64_t deadline = e->now(e->ctx) + st->within_us;
	if (!open_transport(e, s, st, st->within_us, report))
		return false;

	mqtt_packet p = { .type = MQTT_CONNECT, .version = c->version };
	mqtt_user_prop *up = NULL, *wup = NULL;
	hclient_props_fill(st->props, &p.props, &up);
	hclient_props_fill(st->will_props, &p.connect.will_props, &wup);
	char *cid = NULL;
	const char *id = st->client_id ? st->client_id : c->cfg->client_id ? c->cfg->client_id : c->cfg->id;
	if (e->id_prefix && *e->id_prefix && *id) { /* an empty id stays empty: that is the point of it */
		size_t n = strlen(e->id_prefix) + strlen(id) + 2;
		cid = mqtt_xmalloc(n);
		snprintf(cid, n, "%s-%s", e->id_prefix, id);
		id = cid;
	}
	p.connect.client_id = (mqtt_str){ (const uint8_t *)id, (uint32_t)strlen(id) };
	p.connect.clean_start = st->clean;
	p.connect.keepalive_s = st->keepalive_s;
	/* The step's own credentials; else, when it has none, the ones given for the broker. */
	const char *user = st->username, *pass = st->password;
	if (!user && !pass) {
		user = e->username;
		pass = e->password;
	}
	if (user) {
		p.connect.has_username = true;
		p.connect.username = (mqtt_str){ (const uint8_t *)user, (uint32_t)strlen(user) };
	}
	if (pass) {
		p.connect.has_password = true;
		p.connect.password = (mqtt_str){ (const uint8_t *)pass, (uint32_t)strlen(pass) };
	}
	char *wt = NULL;
	if (st->will) {
		wt = prefixed(e, st->will_topic);
		p.connect.will = true;
		p.connect.will_qos = st->will_qos;
		p.connect.will_retain = st->will_retain;
		p.connect.will_topic = (mqtt_str){ (const uint8_t *)wt, (uint32_t)strlen(wt) };
		const char *wp = st->will_payload ? st->will_payload : "";
		p.connect.will_payload = (mqtt_str){ (const uint8_t *)wp, (uint32_t)strlen(wp) };
		free(c->will_topic);
		free(c->will_payload);
		c->will_topic = strdup(st->will_topic);
		c->will_payload = (uint8_t *)strdup(wp);
		c->will_payload_len = (uint32_t)strlen(wp);
	}
	c->keepalive_s = st->keepalive_s;
	e->note(e->ctx, st->client, "step %d:%d connect clean=%d keepalive=%u", st->pos.line, st->pos.col,
		st->clean, st->keepalive_s);
	hclient_send(c, &p, e->now(e->ctx));
	free(cid);
	free(wt);
	free(up);
	free(wup);
	if (!st->wait_connack)
		return true;
	sc_match any = { .type = MQTT_CONNACK };
	find_arg f = { c, &any, 0, 0 };
	if (!wait_until(e, deadline, find_unseen, &f)) {
		report_add(report, "%s: %s got no CONNACK within %lldms", where(s, st, at, sizeof at), c->cfg->id,
			   (long long)(st->within_us / 1000));
		context(report, e, c);
		return false;
	}
	rx_pkt *r = &c->pkts[f.found];
	r->seen = true;
	if (!hclient_match(r, &st->connack)) {
		char want[512], why[200] = "";
		hclient_describe(&st->connack, want, sizeof want);
		sc_match bare = st->connack;
		bare.props = NULL;
		if (st->connack.props && hclient_match(r, &bare))
			hclient_props_match(r, st->connack.props, why, sizeof why);
		report_add(report, "%s: %s expected %s, got %s%s%s", where(s, st, at, sizeof at), c->cfg->id, want,
			   r->line, *why ? ": " : "", why);
		return false;
	}
	/* An `expect: { again: true }` after the step checks more of this CONNACK. */
	c->last_match = f.found + 1;
	return true;
}

/* open: the transport connection alone, so that `send` can write the first packet. */
static bool step_open(engine *e, const scenario *s, const sc_step *st, char **report)
{
	return open_transport(e, s, st, 5000000, report);
}

static bool send_subscribe(engine *e, const sc_step *st)
{
	hclient *c = &e->clients[st->client];
	mqtt_packet p = { .version = c->version, .packet_id = hclient_next_id(c) };
	mqtt_user_prop *up = NULL;
	hclient_props_fill(st->props, &p.props, &up);
	char **t = mqtt_xcalloc(st->nsubs ? st->nsubs : 1, sizeof *t);
	if (st->kind == SC_SUBSCRIBE) {
		mqtt_sub *v = mqtt_xcalloc(st->nsubs ? st->nsubs : 1, sizeof *v);
		for (size_t i = 0; i < st->nsubs; i++) {
			t[i] = prefixed_filter(e, st->subs[i].filter);
			v[i].filter = (mqtt_str){ (const uint8_t *)t[i], (uint32_t)strlen(t[i]) };
			v[i].qos = st->subs[i].qos;
			v[i].no_local = st->subs[i].no_local;
			v[i].retain_as_published = st->subs[i].retain_as_published;
			v[i].retain_handling = st->subs[i].retain_handling;
		}
		p.type = MQTT_SUBSCRIBE;
		p.subscribe.items = v;
		p.subscribe.count = (uint32_t)st->nsubs;
		hclient_send(c, &p, e->now(e->ctx));
		free(v);
	} else {
		mqtt_str *v = mqtt_xcalloc(st->nsubs ? st->nsubs : 1, sizeof *v);
		for (size_t i = 0; i < st->nsubs; i++) {
			t[i] = prefixed_filter(e, st->subs[i].filter);
			v[i] = (mqtt_str){ (const uint8_t *)t[i], (uint32_t)strlen(t[i]) };
		}
		p.type = MQTT_UNSUBSCRIBE;
		p.unsubscribe.items = v;
		p.unsubscribe.count = (uint32_t)st->nsubs;
		hclient_send(c, &p, e->now(e->ctx));
		free(v);
	}
	for (size_t i = 0; i < st->nsubs; i++)
		free(t[i]);
	free(t);
	free(up);
	return true;
}

static bool step_publish(engine *e, const scenario *s, const sc_step *st, char **report)
{
	hclient *c = &e->clients[st->client];
	/* With a topic alias alone the topic stays empty, prefix or not. */
	char *t = *st->topic ? prefixed(e, st->topic) : mqtt_xstrdup("");
	const char *pl = st->payload ? st->payload : "";
	mqtt_packet p = { .type = MQTT_PUBLISH, .version = c->version };
	mqtt_user_prop *up = NULL;
	hclient_props_fill(st->props, &p.props, &up);
	if (st->has_topic_alias) {
		MQTT_SET(&p.props, MQTT_PROP_TOPIC_ALIAS);
		p.props.topic_alias = st->topic_alias;
	}
	p.packet_id = st->qos ? (st->id ? st->id : hclient_next_id(c)) : 0;
	p.publish.qos = st->qos;
	p.publish.retain = st->retain;
	p.publish.dup = st->dup;
	p.publish.topic = (mqtt_str){ (const uint8_t *)t, (uint32_t)strlen(t) };
	p.publish.payload = (mqtt_str){ (const uint8_t *)pl, (uint32_t)strlen(pl) };
	char why[300];
	size_t before = c->npubs;
	int rc = hclient_publish(c, &p, st->force, e->now(e->ctx), why, sizeof why);
	free(up);
	free(t);
	if (rc < 0) {
		char at[512];
		report_add(report, "%s: %s did not publish: %s", where(s, st, at, sizeof at), c->cfg->id, why);
		return false;
	}
	if (rc == 1)
		e->note(e->ctx, st->client, "step %d:%d publish waits: %zu QoS 1/2 in flight, the server's Receive Maximum",
			st->pos.line, st->pos.col, c->ninflight);
	/* Expectations compare what the scenario wrote, without the run prefix. */
	if (c->npubs > before) {
		tx_pub *last = &c->pubs[c->npubs - 1];
		free(last->topic);
		last->topic = strdup(st->topic);
	}
	return true;
}

static bool step_expect(engine *e, const scenario *s, const sc_step *st, int64_t since, char *obs, char **report)
{
	hclient *c = &e->clients[st->client];
	char at[512], want[512];
	find_arg f = { c, &st->match, 0, 0 }; /* a positive check takes any packet not yet matched */
	int64_t start = e->now(e->ctx);
	if (st->kind == SC_EXPECT && st->match.again) {
		if (c->last_match && pkt_matches(c, &c->pkts[c->last_match - 1], &st->match))
			return true;
		hclient_describe(&st->match, want, sizeof want);
		report_add(report, "%s: %s expected the packet it last matched to be %s; it was %s",
			   where(s, st, at, sizeof at), c->cfg->id, want,
			   c->last_match ? c->pkts[c->last_match - 1].line : "(no packet matched yet)");
		context(report, e, c);
		return false;
	}
	if (st->kind == SC_EXPECT) {
		if (wait_until(e, start + st->within_us, find_unseen, &f)) {
			c->pkts[f.found].seen = true;
			c->last_match = f.found + 1;
			if (c->pkts[f.found].id)
				c->expected_id = c->pkts[f.found].id;
			if (st->match.save_as)
				save_id(c, st->match.save_as, c->pkts[f.found].id);
			int64_t took = c->pkts[f.found].at_us - since;
			if (st->after_us && took < st->after_us) {
				hclient_describe(&st->match, want, sizeof want);
				report_add(report, "%s: %s expected %s no sooner than %lldms after the last action; it came after %lldms",
					   where(s, st, at, sizeof at), c->cfg->id, want, (long long)(st->after_us / 1000),
					   (long long)(took / 1000));
				context(report, e, c);
				return false;
			}
			return true;
		}
		hclient_describe(&st->match, want, sizeof want);
		report_add(report, "%s: %s expected %s within %lldms; it did not come", where(s, st, at, sizeof at),
			   c->cfg->id, want, (long long)(st->within_us / 1000));
		context(report, e, c);
		return false;
	}
	if (st->kind == SC_EXPECT_NONE) {
		f.since = since; /* from the last action on (see run_steps) */
		if (!wait_until(e, start + st->for_us, find_unseen, &f))
			return true;
		hclient_describe(&st->match, want, sizeof want);
		report_add(report, "%s: %s expected no %s for %lldms, but got %s", where(s, st, at, sizeof at),
			   c->cfg->id, want, (long long)(st->for_us / 1000), c->pkts[f.found].line);
		return false;
	}
	/* SC_EXPECT_CLOSED */
	if (c->peer_closed || wait_until(e, start + st->within_us, closed_pred, c)) {
		if (!st->after_us || c->closed_at_us - since >= st->after_us)
			return true;
		report_add(report, "%s: %s expected the connection to close no sooner than %lldms after the last action; it closed after %lldms",
			   where(s, st, at, sizeof at), c->cfg->id, (long long)(st->after_us / 1000),
			   (long long)((c->closed_at_us - since) / 1000));
		context(report, e, c);
		return false;
	}
	if (st->late_us && !e->hit_limit) {
		/* Missed the bound: by a little (`late`) or entirely (`never`)? Two observations,
		 * so an expected failure can name the one it expects. */
		bool late = wait_until(e, start + st->late_us, closed_pred, c);
		snprintf(obs, RUN_OBS_MAX, "%s", late ? "late" : "never");
		if (late)
			report_add(report, "%s: %s expected the broker to close the connection within %lldms; it closed it after %lldms (late)",
				   where(s, st, at, sizeof at), c->cfg->id, (long long)(st->within_us / 1000),
				   (long long)((c->closed_at_us - start) / 1000));
		else
			report_add(report, "%s: %s expected the broker to close the connection within %lldms; it stayed open for %lldms (never)",
				   where(s, st, at, sizeof at), c->cfg->id, (long long)(st->within_us / 1000),
				   (long long)(st->late_us / 1000));
		context(report, e, c);
		return false;
	}
	report_add(report, "%s: %s expected the broker to close the connection within %lldms; it stayed open",
		   where(s, st, at, sizeof at), c->cfg->id, (long long)(st->within_us / 1000));
	context(report, e, c);
	return false;
}

/* Retained state, read by the harness's own probe client. */
static bool exp_retained(engine *e, const sc_expect *x, char **report, const char *at)
{
	int pi = (int)e->nclients;
	hclient *c = &e->clients[pi];
	int64_t deadline = e->now(e->ctx) + 5000000;
	if (c->tcp_open && !c->peer_closed)
		e->close(e->ctx, pi, true);
	hclient_reset(c);
	int rc = e->open(e->ctx, pi);
	if (rc == 0) {
		open_arg oa = { e, pi };
		wait_until(e, deadline, open_done, &oa);
		rc = e->open_state(e->ctx, pi);
	}
	if (rc != 0) {
		report_add(report, "%s: retained: the probe client could not connect: %s", at,
			   rc == 1 ? "no answer in time" : strerror(-rc));
		return false;
	}
	c->tcp_open = true;
	char id[128];
	snprintf(id, sizeof id, "%s%smqttsim-probe", e->id_prefix ? e->id_prefix : "",
		 e->id_prefix && *e->id_prefix ? "-" : "");
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V311 };
	p.connect.client_id = (mqtt_str){ (const uint8_t *)id, (uint32_t)strlen(id) };
	if (e->username) {
		p.connect.has_username = true;
		p.connect.username = (mqtt_str){ (const uint8_t *)e->username, (uint32_t)strlen(e->username) };
	}
	if (e->password) {
		p.connect.has_password = true;
		p.connect.password = (mqtt_str){ (const uint8_t *)e->password, (uint32_t)strlen(e->password) };
	}
	p.connect.clean_start = true;
	p.connect.keepalive_s = 60;
	hclient_send(c, &p, e->now(e->ctx));
	char *t = prefixed_filter(e, x->topic);
	mqtt_sub sub = { .filter = { (const uint8_t *)t, (uint32_t)strlen(t) }, .qos = 0 };
	mqtt_packet s = { .type = MQTT_SUBSCRIBE, .version = MQTT_V311, .packet_id = 1 };
	s.subscribe.items = &sub;
	s.subscribe.count = 1;
	hclient_send(c, &s, e->now(e->ctx));
	free(t);
	sc_match suback = { .type = MQTT_SUBACK };
	find_arg f = { c, &suback, 0, 0 };
	if (!wait_until(e, deadline, find_unseen, &f)) {
		report_add(report, "%s: retained: the probe client got no SUBACK", at);
		return false;
	}
	/* A retained message follows the SUBACK at once; give it a moment to arrive. Any PUBLISH
	 * on the topic counts, whatever its RETAIN flag: nothing else is sent to this fresh
	 * subscriber, and the flag is MQTT-3.3.1-8's, which its own scenario checks (so a server
	 * that sends retained messages with RETAIN 0 fails that, not every `retained:` check). */
	sc_match pub = { .type = MQTT_PUBLISH, .topic = x->topic };
	f = (find_arg){ c, &pub, 0, 0 };
	bool got = wait_until(e, e->now(e->ctx) + 500000, find_unseen, &f);
	e->close(e->ctx, pi, false);
	if (!x->payload) {
		if (!got)
			return true;
		report_add(report, "%s: retained: expected no retained message on \"%s\", found %s", at, x->topic,
			   c->pkts[f.found].line);
		return false;
	}
	if (got && c->pkts[f.found].payload_len == strlen(x->payload) &&
	    !memcmp(c->pkts[f.found].payload, x->payload, strlen(x->payload)))
		return true;
	report_add(report, "%s: retained: expected \"%s\" retained on \"%s\", found %s", at, x->payload, x->topic,
		   got ? c->pkts[f.found].line : "none");
	return false;
}

static bool names_id(char *const *ids, size_t n, const char *id);

/* Malformed packets the clients received: each a failure of the statement the decoder names
 * (res->violations), said in the report. True when there were none. */
static bool malformed_seen(engine *e, const scenario *s, run_result *res, char **report)
{
	bool none = true;
	for (size_t k = 0; k < e->nclients; k++) {
		hclient *c = &e->clients[k];
		for (size_t i = 0; i < c->nbad && i < sizeof c->bad / sizeof c->bad[0]; i++) {
			const struct hclient_bad *b = &c->bad[i];
			report_add(report, "%s: %s received a malformed packet at %lld.%06llds: [%s] %s", s->file ? s->file : "-",
				   c->cfg->id, (long long)(b->at_us / 1000000), (long long)(b->at_us % 1000000),
				   *b->stmt ? b->stmt : "-", b->msg);
			if (*b->stmt && !names_id(res->violations, res->nviolations, b->stmt)) {
				res->violations = mqtt_xrealloc(res->violations, (res->nviolations + 1) * sizeof *res->violations);
				res->violations[res->nviolations++] = mqtt_xstrdup(b->stmt);
			}
			none = false;
		}
		if (c->nbad > sizeof c->bad / sizeof c->bad[0])
			report_add(report, "%s: ... and %zu more malformed packets to %s", s->file ? s->file : "-",
				   c->nbad - sizeof c->bad / sizeof c->bad[0], c->cfg->id);
	}
	return none;
}

bool run_steps(engine *e, const scenario *s, run_result *res)
{
	char **report = &res->report;
	bool ok = true;
	res->failed_step = -1;
	/* When the last action (anything but a check or a wait) began: a check that nothing may
	 * arrive looks at every packet received since then that no other check matched, not
	 * only at those arriving during its own window. Over a fast network the forbidden packet
	 * may come while an earlier check is still waiting for its own. */
	int64_t action_us = 0;
	for (size_t i = 0; i < s->nsteps && ok; i++) {
		const sc_step *st = &s->steps[i];
		hclient *c = st->client >= 0 ? &e->clients[st->client] : NULL;
		int64_t now = e->now(e->ctx);
		if (st->kind != SC_EXPECT && st->kind != SC_EXPECT_NONE && st->kind != SC_EXPECT_CLOSED &&
		    st->kind != SC_WAIT)
			action_us = now;
		switch (st->kind) {
		case SC_CONNECT:
			ok = step_connect(e, s, st, report);
			break;
		case SC_OPEN:
			ok = step_open(e, s, st, report);
			break;
		case SC_SUBSCRIBE:
		case SC_UNSUBSCRIBE:
			ok = send_subscribe(e, st);
			break;
		case SC_PUBLISH:
			ok = step_publish(e, s, st, report);
			break;
		case SC_DISCONNECT: {
			mqtt_packet d = { .type = MQTT_DISCONNECT, .version = c->version, .reason = st->reason };
			mqtt_user_prop *up = NULL;
			hclient_props_fill(st->props, &d.props, &up);
			hclient_send(c, &d, now);
			free(up);
			e->close(e->ctx, st->client, false);
			break;
		}
		case SC_DROP:
			e->note(e->ctx, st->client, "step %d:%d drop the connection", st->pos.line, st->pos.col);
			e->close(e->ctx, st->client, true);
			break;
		case SC_WAIT:
			wait_until(e, now + st->for_us, NULL, NULL);
			break;
		case SC_ACK: {
			uint16_t id = st->match.id_ref ? saved_id(c, st->match.id_ref) : c->expected_id;
			mqtt_packet a = { .type = st->ack_type, .version = c->version, .packet_id = id,
					  .reason = st->reason };
			hclient_send(c, &a, now);
			break;
		}
		case SC_RAW: {
			/* Names in the bytes take the run's prefixes, as the other steps' do. */
			uint8_t *bytes = NULL;
			size_t len = st->raw_len;
			if (st->raw_text && ((e->id_prefix && *e->id_prefix) || (e->topic_prefix && *e->topic_prefix))) {
				char msg[200], at[512];
				long n = raw_expand(st->raw_text, &(raw_names){ e->id_prefix, e->topic_prefix }, &bytes, msg,
						    sizeof msg);
				if (n < 0) {
					report_add(report, "%s: the bytes of 'send' with the run's prefixes: %s",
						   where(s, st, at, sizeof at), msg);
					ok = false;
					break;
				}
				len = (size_t)n;
			}
			e->note(e->ctx, st->client, "step %d:%d send %zu raw bytes", st->pos.line, st->pos.col, len);
			if ((st->nws_frames || st->ws_text) && e->send_ws)
				e->send_ws(e->ctx, st->client, bytes ? bytes : st->raw, len, st->ws_frames, st->nws_frames, st->ws_text);
			else
				c->send(c, bytes ? bytes : st->raw, len);
			free(bytes);
			c->last_tx_us = now;
			break;
		}
		default:
			ok = step_expect(e, s, st, action_us, res->failed_obs, report);
			break;
		}
		if (e->hit_limit && e->now(e->ctx) >= e->limit_us) {
			char at[512];
			report_add(report, "%s: the run reached its %s (%llds) here%s", where(s, st, at, sizeof at),
				   s->duration_us ? "duration" : "default duration", (long long)(e->limit_us / 1000000),
				   s->duration_us ? "" : "; give the scenario a longer 'duration' if it needs one");
			ok = false;
		}
		if (!ok)
			res->failed_step = (long)i;
	}
	if (!ok) {
		malformed_seen(e, s, res, report);
		return false;
	}
	/* Let what is in flight land before judging the run (not needed when nothing is). */
	int64_t end = e->now(e->ctx) + (s->nexpects ? 1000000 : 0);
	if (s->duration_us && s->duration_us > end)
		end = s->duration_us;
	wait_until(e, end, NULL, NULL);
	ok = ok && malformed_seen(e, s, res, report);
	for (size_t i = 0; i < s->nexpects; i++) {
		const sc_expect *x = &s->expects[i];
		char at[512];
		snprintf(at, sizeof at, "%s:%d:%d", s->file ? s->file : "-", x->pos.line, x->pos.col);
		bool r = true;
		switch (x->kind) {
		case SC_EXP_NO_DUPLICATES:
		case SC_EXP_DELIVERED:
		case SC_EXP_ORDERED:
		case SC_EXP_WILL: r = run__expect_logs(e, x, report, at); break;
		case SC_EXP_RETAINED: r = exp_retained(e, x, report, at); break;
		case SC_EXP_NODE:
			r = e->node_check ? e->node_check(e->ctx, x, report, at) : false;
			if (!e->node_check)
				report_add(report, "%s: node: nodes exist only in simulation", at);
			break;
		default: break;
		}
		if (!r) {
			if (!res->failed_expect)
				res->failed_expect = mqtt_xcalloc(s->nexpects, 1);
			res->failed_expect[i] = 1;
		}
		ok = ok && r;
	}
	return ok;
}

static bool names_id(char *const *ids, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ids[i], id))
			return true;
	return false;
}

int run_stmt_outcome(const scenario *s, const run_result *r, size_t spec_index)
{
	if (r->skipped || r->error)
		return RUN_STMT_NONE;
	const char *sid = s->spec[spec_index];
	if (names_id(r->violations, r->nviolations, sid))
		return RUN_STMT_FAIL; /* the decoder's check names it */
	/* Failed only by malformed packets: every check ran, and judges as if it had passed. */
	if (r->pass || (r->failed_step < 0 && !r->failed_expect && r->nviolations))
		return RUN_STMT_PASS;
	const char *id = s->spec[spec_index];
	/* Only a check that names a statement can fail it: a failed step or expectation that
	 * names none fails none (DESIGN.md "How a verdict is reached"). */
	if (r->failed_step >= 0) {
		const sc_step *f = &s->steps[r->failed_step];
		if (names_id(f->spec, f->nspec, id))
			return RUN_STMT_FAIL;
	}
	for (size_t i = 0; r->failed_expect && i < s->nexpects; i++)
		if (r->failed_expect[i] && names_id(s->expects[i].spec, s->expects[i].nspec, id))
			return RUN_STMT_FAIL;
	if (r->failed_step < 0 && !r->failed_expect)
		return RUN_STMT_UNREACHED; /* failed outside every check (e.g. an engine error) */
	/* Checked by checks that ran and passed, and by none at or after the failed step? Then it
	 * passed. A statement no check names was never looked at. */
	size_t ran = r->failed_step >= 0 ? (size_t)r->failed_step : s->nsteps;
	bool checked = false;
	for (size_t i = 0; i < s->nsteps; i++)
		if (names_id(s->steps[i].spec, s->steps[i].nspec, id)) {
			if (i >= ran)
				return RUN_STMT_UNREACHED;
			checked = true;
		}
	for (size_t i = 0; i < s->nexpects; i++)
		if (names_id(s->expects[i].spec, s->expects[i].nspec, id)) {
			if (r->failed_step >= 0)
				return RUN_STMT_UNREACHED;
			checked = true;
		}
	return checked ? RUN_STMT_PASS : RUN_STMT_UNREACHED;
}

size_t run_stmt_failures(const scenario *s, const run_result *r, size_t spec_index, run_check *out, size_t cap)
{
	const char *id = s->spec[spec_index];
	size_t n = 0;
	if (r->failed_step >= 0 && n < cap) {
		const sc_step *f = &s->steps[r->failed_step];
		if (names_id(f->spec, f->nspec, id))
			out[n++] = (run_check){ f->pos.line, *r->failed_obs ? r->failed_obs : NULL };
	}
	for (size_t i = 0; r->failed_expect && i < s->nexpects && n < cap; i++)
		if (r->failed_expect[i] && names_id(s->expects[i].spec, s->expects[i].nspec, id))
			out[n++] = (run_check){ s->expects[i].pos.line, NULL };
	return n;
}
