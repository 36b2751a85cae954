/*
 * engine_sim.c - the simulation target: the reference broker and the scripted clients on
 * the simulation core, in virtual time. Same scenario and seed, same trace.
 */
#include "broker/auth.h"
#include "mqtt/alloc.h"
#include "harness/broker_shell_exec.h"
#include "harness/broker_shell_sim.h"
#include "reports/pcap.h"
#include "harness/cli.h"
#include "harness/engine.h"
#include "harness/explore.h"
#include "harness/engine_nodes.h"
#include "sim/fault.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PORT 1883

typedef struct sconn {
	struct simrun *run;
	int i;
	sim_sock *s;
	int state;            /* 1 connecting, 0 open, -errno failed */
	uint8_t *out;
	size_t out_len, out_cap;
	sim_timer ping;
} sconn;

typedef struct simrun {
	sim_world *w;
	sim_host *bh;
	broker_sim *bs;
	sim_host **hosts;     /* per client, and the probe */
	sconn *conns;
	hclient *clients;
	size_t n;             /* clients + probe */
	simnodes *nodes;      /* NULL when the scenario has none */
} simrun;

static int64_t s_now(void *ctx)
{
	return sim_now(((simrun *)ctx)->w);
}

static bool s_run_until(void *ctx, int64_t until, bool (*pred)(void *), void *arg)
{
	simrun *r = ctx;
	if (pred && pred(arg))
		return true;
	while (sim_now(r->w) < until) {
		int stop = sim_run(r->w, until, pred ? 1 : 0);
		if (pred && pred(arg))
			return true;
		if (stop == SIM_STOP_QUIET) {
			/* Nothing left to happen: time just passes. */
			sim_run(r->w, until, 0);
			break;
		}
		if (stop == SIM_STOP_DEADLINE)
			break;
	}
	return pred ? pred(arg) : false;
}

static void flush(sconn *c)
{
	while (c->out_len && c->s && c->state == 0) {
		long n = sim_sock_write(c->s, c->out, c->out_len);
		if (n <= 0)
			break;
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
}

static void c_send(hclient *hc, const uint8_t *data, size_t len)
{
	sconn *c = hc->ctx;
	if (!c->s || c->state != 0)
		return; /* not connected: bytes go nowhere, as with a closed socket */
	if (c->out_len + len > c->out_cap) {
		c->out_cap = c->out_cap ? c->out_cap : 1024;
		while (c->out_cap < c->out_len + len)
			c->out_cap *= 2;
		c->out = mqtt_xrealloc(c->out, c->out_cap);
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	flush(c);
}

static void on_connect(sim_sock *s, int err, void *ctx)
{
	sconn *c = ctx;
	(void)s;
	c->state = err;
	if (err) {
		c->s = NULL; /* the socket failed; release it */
		sim_sock_close(s);
	}
}

static void on_readable(sim_sock *s, void *ctx)
{
	sconn *c = ctx;
	simrun *r = c->run;
	hclient *hc = &r->clients[c->i];
	uint8_t buf[4096];
	for (;;) {
		long n = sim_sock_read(s, buf, sizeof buf);
		if (n > 0) {
			hclient_on_bytes(hc, buf, (size_t)n, sim_now(r->w));
			continue;
		}
		if (n == -EAGAIN)
			break;
		hc->peer_closed = true;
		hc->closed_at_us = sim_now(r->w);
		if (n == 0)
			sim_sock_close(s);
		else
			sim_sock_abort(s);
		c->s = NULL;
		c->state = n == 0 ? -EPIPE : (int)n;
		sim_timer_cancel(r->w, &c->ping);
		break;
	}
}

static void on_writable(sim_sock *s, void *ctx)
{
	(void)s;
	flush(ctx);
}

static const sim_sock_ops ops = { on_connect, on_readable, on_writable };

/* auto_ping: a PINGREQ when the client has been quiet for its keepalive. Until CONNACK
 * (whose Server Keep Alive may replace it) it looks again every second. */
static void ping_fire(sim_world *w, sim_timer *t)
{
	sconn *c = t->arg;
	hclient *hc = &c->run->clients[c->i];
	if (!c->s || !hc->cfg->auto_ping)
		return;
	if (!hc->connacked) {
		sim_timer_after(w, t, 1000000);
		return;
	}
	if (!hc->keepalive_s)
		return;
	int64_t ka = (int64_t)hc->keepalive_s * 1000000;
	if (sim_now(w) - hc->last_tx_us >= ka * 9 / 10) {
		mqtt_packet p = { .type = MQTT_PINGREQ, .version = MQTT_V311 };
		hclient_send(hc, &p, sim_now(w));
	}
	sim_timer_after(w, t, ka / 2);
}

static int s_open(void *ctx, int i)
{
	simrun *r = ctx;
	sconn *c = &r->conns[i];
	if (c->s) {
		sim_sock_abort(c->s);
		c->s = NULL;
	}
	c->out_len = 0;
	c->state = 1;
	c->s = sim_connect(r->hosts[i], r->bh, PORT, &ops, c);
	sim_timer_after(r->w, &c->ping, 1000000);
	return 0;
}

static int s_open_state(void *ctx, int i)
{
	return ((simrun *)ctx)->conns[i].state;
}

static void s_close(void *ctx, int i, bool abrt)
{
	simrun *r = ctx;
	sconn *c = &r->conns[i];
	sim_timer_cancel(r->w, &c->ping);
	if (!c->s)
		return;
	if (abrt)
		sim_sock_abort(c->s);
	else
		sim_sock_close(c->s);
	c->s = NULL;
	c->state = -ENOTCONN;
}

static void s_note(void *ctx, int i, const char *fmt, ...)
{
	simrun *r = ctx;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	sim_trace(r->w, sim_host_name(r->hosts[i]), r->conns[i].s ? sim_sock_id(r->conns[i].s) : 0, "harness",
		  "%s", line);
}

/* The simulation's byte streams into a pcap file. */
static void capture(void *ctx, sim_us t, uint64_t conn, int side, int what, const sim_host *from,
		    const sim_host *to, uint16_t port, const uint8_t *data, size_t len)
{
	pcap_writer *pw = ctx;
	if (what == SIM_CAP_SYN)
		pcap_syn(pw, t, conn, sim_host_index(from), sim_host_index(to), port);
	else if (what == SIM_CAP_DATA)
		pcap_data(pw, t, conn, side, data, len);
	else
		pcap_fin(pw, t, conn, side);
}

static sim_host *host_named(simrun *r, const scenario *s, const char *name)
{
	if (!strcmp(name, "broker"))
		return r->bh;
	for (size_t i = 0; i < s->nclients; i++)
		if (!strcmp(s->clients[i].id, name))
			return r->hosts[i];
	return NULL;
}

/* A fault as the run injected it, by host name, for tools that rewrite the schedule. */
static void keep_fault(run_result *res, const sim_fault *f)
{
	if (res->nfaults % 16 == 0) {
		res->faults = mqtt_xrealloc(res->faults, (res->nfaults + 16) * sizeof *res->faults);
	}
	sc_fault *k = &res->faults[res->nfaults++];
	memset(k, 0, sizeof *k);
	k->kind = f->kind;
	k->at_us = f->at;
	k->for_us = f->duration;
	k->value = f->value;
	k->a = f->a ? mqtt_xstrdup(sim_host_name(f->a)) : NULL;
	k->b = f->b ? mqtt_xstrdup(sim_host_name(f->b)) : NULL;
}

static size_t s_node_parties(void *ctx, int node, long inst, hclient **out, size_t cap)
{
	return simnodes_parties(((simrun *)ctx)->nodes, node, inst, out, cap);
}

static bool s_node_check(void *ctx, const sc_expect *x, char **report, const char *at)
{
	return simnodes_check(((simrun *)ctx)->nodes, x, report, at);
}

/* The hosts a name stands for: host_named's one, or a node's (a fleet's: all of them). */
static size_t hosts_named(simrun *r, const scenario *s, const char *name, sim_host ***out)
{
	sim_host *h = host_named(r, s, name);
	if (h) {
		*out = mqtt_xmalloc(sizeof **out);
		(*out)[0] = h;
		return 1;
	}
	return simnodes_hosts(r->nodes, name, out);
}

/* A file the run was asked to write could not be written (errno says why). */
static void output_lost(run_result *res, const char *what, const char *path)
{
	report_add(&res->report, "could not write %s to %s: %s", what, path, strerror(errno));
	res->output_lost = true;
}

static void write_trace(const scenario *s, const run_opts *o, simrun *r, run_result *res)
{
	if (!o->out_dir)
		return;
	char path[4096];
	snprintf(path, sizeof path, "%s/%s.trace", o->out_dir, s->name);
	FILE *f = fopen(path, "w");
	if (!f) {
		output_lost(res, "the trace", path);
		return;
	}
	size_t len;
	const char *text = sim_trace_text(r->w, &len);
	fprintf(f, "# mqttsim trace of %s (%s), seed %llu\n", s->name, s->file ? s->file : "-",
		(unsigned long long)res->seed);
	/* What `mqttsim replay` checks before it runs the scenario again. */
	fprintf(f, "# mqttsim %s scenario-hash %016llx swarm %d", MQTTSIM_VERSION,
		(unsigned long long)s->text_hash, o->swarm ? 1 : 0);
	/* Target exec: the broker command, to the end of the line (replay runs it again). */
	if (o->broker && !strncmp(o->broker, "exec:", 5)) {
		fputs(" broker ", f);
		for (const char *p = o->broker; *p; p++)
			fputc((unsigned char)*p < 0x20 ? ' ' : *p, f);
	}
	fputc('\n', f);
	if (text)
		fwrite(text, 1, len, f);
	fprintf(f, "# trace hash %016llx\n", (unsigned long long)sim_trace_hash(r->w));
	if (ferror(f) | fclose(f))
		output_lost(res, "the trace", path);
}

int engine_sim_run(const scenario *s, const run_opts *o, run_result *res)
{
	simrun r = { 0 };
	r.w = sim_world_new(res->seed);
	if (o->no_trace) {
		sim_trace_enable(r.w, false);
		sim_net_trace_mqtt(r.w, false);
	} else {
		/* The text is kept only when something reads it (--out, -v, explore): a fleet's
		 * trace runs to gigabytes. The hash covers every line either way. */
		sim_trace_record(r.w, o->out_dir || o->verbose || o->keep_trace, NULL, NULL);
	}
	FILE *pf = NULL;
	pcap_writer *pw = NULL;
	if (o->pcap_dir) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.pcap", o->pcap_dir, s->name);
		if ((pf = fopen(path, "wb")) && (pw = pcap_open(pf)))
			sim_net_capture(r.w, capture, pw);
		else
			output_lost(res, "the capture", path);
	}
	r.n = s->nclients + 1;
	for (size_t i = 0; i < s->nlinks; i++)
		if (!s->links[i].node)
			sim_net_set_default(r.w, &s->links[i].link);
	r.bh = sim_host_add(r.w, "broker");
	broker_config cfg;
	broker_config_init(&cfg);
	cfg.sys_interval_s = s->broker.has_sys_interval ? s->broker.sys_interval_s : 0;
	if (s->broker.max_queued)
		cfg.max_queued = s->broker.max_queued;
	if (s->broker.max_inflight)
		cfg.max_inflight = s->broker.max_inflight;
	cfg.queue_qos0 = s->broker.queue_qos0;
	if (s->broker.receive_max)
		cfg.receive_max = s->broker.receive_max;
	if (s->broker.has_topic_alias_max)
		cfg.topic_alias_max = s->broker.topic_alias_max;
	if (s->broker.max_packet_size)
		cfg.max_packet_size = s->broker.max_packet_size;
	cfg.no_sub_ids = s->broker.no_sub_ids;
	cfg.no_shared_subs = s->broker.no_shared_subs;
	cfg.queue_policy = s->broker.drop_oldest ? BROKER_DROP_OLDEST : BROKER_DROP_NEW;
	cfg.test_faults = o->broker_faults;
	cfg.variants = o->broker_variants;
	broker_file_auth *acl = NULL;
	if (s->broker.acl) {
		acl = broker_auth_parse(NULL, NULL, 0, "acl", s->broker.acl, strlen(s->broker.acl), NULL, 0);
		if (acl)
			cfg.auth = broker_auth_get(acl);
	}
	broker_exec *bx = NULL;
	if (o->broker && !strncmp(o->broker, "exec:", 5)) {
		/* Target exec: the broker binary on the broker's host, in place of the reference
		 * broker; everything else is this engine's as it is. */
		char *why = NULL;
		bx = broker_exec_start(r.w, r.bh, PORT, o->broker + 5, s->broker.exec_config, s->broker.nexec_config,
				       &why);
		if (!bx) {
			report_add(&res->report, "%s", why);
			free(why);
			broker_auth_free(acl);
			sim_world_free(r.w);
			pcap_close(pw);
			if (pf)
				fclose(pf);
			return -1;
		}
	} else {
		r.bs = s->broker.persistence ? broker_sim_start_persistent(r.w, r.bh, PORT, &cfg)
					     : broker_sim_start(r.w, r.bh, PORT, &cfg);
	}

	sc_client probe = { .id = "mqttsim-probe", .auto_ack = true };
	r.hosts = mqtt_xcalloc(r.n, sizeof *r.hosts);
	r.conns = mqtt_xcalloc(r.n, sizeof *r.conns);
	r.clients = mqtt_xcalloc(r.n, sizeof *r.clients);
	for (size_t i = 0; i < r.n; i++) {
		const sc_client *sc = i < s->nclients ? &s->clients[i] : &probe;
		r.hosts[i] = sim_host_add(r.w, sc->id);
		hclient_init(&r.clients[i], sc, (int)i);
		r.clients[i].send = c_send;
		r.clients[i].ctx = &r.conns[i];
		r.conns[i].run = &r;
		r.conns[i].i = (int)i;
		r.conns[i].state = -ENOTCONN;
		sim_timer_init(&r.conns[i].ping, ping_fire, &r.conns[i]);
	}
	r.nodes = simnodes_new(r.w, r.bh, PORT, s);
	for (size_t i = 0; i < s->nlinks; i++) {
		sim_host **hs = NULL;
		size_t nh = s->links[i].node ? hosts_named(&r, s, s->links[i].node, &hs) : 0;
		for (size_t k = 0; k < nh; k++)
			sim_host_set_link(hs[k], &s->links[i].link);
		free(hs);
	}
	for (size_t i = 0; i < s->nfaults; i++) {
		const sc_fault *f = &s->faults[i];
		if (f->kind == SC_FAULT_WIFI_DOWN) {
			simnodes_wifi_down(r.nodes, f->a, f->at_us, f->for_us);
			continue;
		}
		/* A fleet named in a fault: the fault applies to each of its nodes. */
		sim_host **ha = NULL, **hb = NULL;
		size_t na = f->a ? hosts_named(&r, s, f->a, &ha) : 1, nb = f->b ? hosts_named(&r, s, f->b, &hb) : 1;
		for (size_t ia = 0; ia < na; ia++)
			for (size_t ib = 0; ib < nb; ib++) {
				sim_fault sf = { .kind = f->kind, .at = f->at_us, .duration = f->for_us, .value = f->value };
				sf.a = ha ? ha[ia] : NULL;
				sf.b = hb ? hb[ib] : NULL;
				sim_fault_schedule(r.w, &sf);
				if (o->want_faults)
					keep_fault(res, &sf);
			}
		free(ha);
		free(hb);
	}
	if (s->random_faults.on) {
		sim_host **hs = mqtt_xcalloc(s->nclients + 1, sizeof *hs);
		hs[0] = r.bh;
		for (size_t i = 0; i < s->nclients; i++)
			hs[i + 1] = r.hosts[i];
		int64_t until = s->duration_us ? s->duration_us : RUN_DEFAULT_LIMIT_SIM_US;
		sim_fault_rates rates = s->random_faults.rates;
		if (o->swarm)
			explore_swarm_rates(&s->random_faults, res->seed, &rates);
		sim_fault *drawn;
		size_t nd = sim_fault_plan(res->seed, &rates, hs, s->nclients + 1, 0, until, &drawn);
		for (size_t i = 0; i < nd; i++) {
			sim_fault_schedule(r.w, &drawn[i]);
			if (o->want_faults)
				keep_fault(res, &drawn[i]);
		}
		free(drawn);
		free(hs);
	}
	if (o->test_leak) {
		/* Deliberately process-wide state: the bugs the determinism guard must catch. */
		static unsigned long runs;
		unsigned long v = o->test_leak == 1 ? runs++ : (unsigned long)getpid();
		sim_trace(r.w, "broker", 0, "harness", "test leak %lu", v);
	}

	engine e = { .ctx = &r, .clients = r.clients, .nclients = s->nclients, .now = s_now,
		     .run_until = s_run_until, .open = s_open, .open_state = s_open_state, .close = s_close,
		     .note = s_note, .id_prefix = "", .topic_prefix = "",
		     .limit_us = s->duration_us ? s->duration_us : RUN_DEFAULT_LIMIT_SIM_US };
	if (r.nodes) {
		e.node_parties = s_node_parties;
		e.node_check = s_node_check;
		e.logs = simnodes_logs(r.nodes, &e.nlogs);
		simnodes_start(r.nodes);
	}
	res->pass = run_steps(&e, s, res);
	int rc = 0;
	if (bx && broker_exec_error(bx)) {
		/* The run did not test the broker: it stopped being one we can run. */
		report_add(&res->report, "%s", broker_exec_error(bx));
		res->pass = false;
		rc = -1;
	}
	res->trace_hash = sim_trace_hash(r.w);
	res->events = sim_steps(r.w);
	res->virtual_us = sim_now(r.w);
	if (!res->pass && o->verbose && !o->no_trace) {
		size_t len;
		const char *text = sim_trace_text(r.w, &len);
		const char *from = text;
		int lines = 0;
		for (const char *p = text + len; p > text && lines < 41; p--)
			if (p[-1] == '\n' && ++lines == 41)
				from = p;
		report_add(&res->report, "  the trace's last lines:\n%.*s", (int)(text + len - from), from);
	}
	write_trace(s, o, &r, res);
	if (o->keep_trace) {
		size_t len;
		const char *text = sim_trace_text(r.w, &len);
		res->trace = mqtt_xmalloc(len + 1);
		memcpy(res->trace, text ? text : "", len);
		res->trace[len] = 0;
		res->trace_len = len;
	}

	for (size_t i = 0; i < r.n; i++) {
		sim_timer_cancel(r.w, &r.conns[i].ping);
		free(r.conns[i].out);
		hclient_free(&r.clients[i]);
	}
	simnodes_free(r.nodes);
	broker_sim_free(r.bs);
	broker_exec_free(bx);
	broker_auth_free(acl);
	pcap_close(pw);
	if (pf && (ferror(pf) | fclose(pf))) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.pcap", o->pcap_dir, s->name);
		output_lost(res, "the capture", path);
	}
	sim_world_free(r.w);
	free(r.hosts);
	free(r.conns);
	free(r.clients);
	return rc;
}
