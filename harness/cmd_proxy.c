/*
 * cmd_proxy.c - `mqttsim proxy`: options, the faults file, the drawn schedule.
 *
 * The faults file is a scenario read by the scenario loader (so its keys, units and
 * FILE:LINE:COLUMN errors are a scenario's): `clients` name the connections faults select
 * (`id`, matched against the CONNECT's client id, or `client_id` when the wire id differs;
 * an id `conn-N` with no client_id selects the N-th accepted connection), `network` gives
 * link profiles, `faults` and `random_faults` give faults between a client and `broker`.
 * What the proxy applies is written back in the same form (--schedule-out), drawn faults
 * made explicit, so `--faults` of that file replays the same schedule.
 */
#include "harness/cli.h"
#include "harness/proxy.h"
#include "harness/scenario.h"
#include "harness/run.h"
#include "harness/ws.h"
#include "harness/units.h"

#include "mqtt/alloc.h"
#include "sim/fault.h"
#include "sim/sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: mqttsim proxy --listen ADDR:PORT --upstream tcp://HOST:PORT [options]\n"
	"\n"
	"Forward MQTT connections to a broker, applying the simulator's fault model in real time.\n"
	"\n"
	"  --listen ADDR:PORT     where clients connect (port 0 picks one; said on stderr)\n"
	"  --upstream URL         the broker: tcp://HOST:PORT or mqtt://HOST:PORT; or\n"
	"                         ws://HOST:PORT[/PATH] (wss:// too): the WebSocket stream is\n"
	"                         forwarded as TCP bytes, so faults select connections by order\n"
	"                         (conn-N) and the log decodes no packets\n"
	"  --faults FILE          link profiles and faults, in a scenario's form (network, faults,\n"
	"                         random_faults; clients name the connections they select)\n"
	"  --seed N               seed for jitter, loss, slices and random_faults (default: the\n"
	"                         file's seed, else 1)\n"
	"  --duration D           stop after D (e.g. 30s; default: run until SIGINT or SIGTERM);\n"
	"                         random_faults are drawn over the file's duration, else this\n"
	"  --log FILE             the log: every fault applied and every packet forwarded,\n"
	"                         decoded (default: stdout)\n"
	"  --schedule-out FILE    write the faults applied, drawn ones explicit, as a faults file\n"
	"                         that replays them\n"
	"\n"
	"exit codes: 0 stopped, 2 bad input, the port in use or the upstream not found\n";

static bool parse_hostport(const char *s, char *host, size_t hcap, unsigned *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || !colon[1])
		return false;
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (errno || *end || p > 65535 || colon[1] < '0' || colon[1] > '9')
		return false;
	size_t n = (size_t)(colon - s);
	if (s[0] == '[' && n >= 2 && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n >= hcap || !n)
		return false;
	memcpy(host, s, n);
	host[n] = 0;
	*port = (unsigned)p;
	return true;
}

static void put_qstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void put_link(FILE *f, const sim_link *l)
{
	static const char *const dists[] = { "uniform", "normal", "pareto" };
	fprintf(f, "{ latency: %lldus", (long long)l->latency_us);
	if (l->jitter_us)
		fprintf(f, ", jitter: %lldus, jitter_dist: %s", (long long)l->jitter_us,
			dists[l->jitter_dist >= 0 && l->jitter_dist < 3 ? l->jitter_dist : 0]);
	if (l->loss > 0)
		fprintf(f, ", loss: %.17g", l->loss);
	if (l->bandwidth_bps)
		fprintf(f, ", bandwidth: %llubit", (unsigned long long)l->bandwidth_bps);
	if (l->slice_max)
		fprintf(f, ", slice: %uB", l->slice_max);
	if (l->coalesce_us)
		fprintf(f, ", coalesce: %lldus", (long long)l->coalesce_us);
	if (l->limit_bytes)
		fprintf(f, ", limit: %lluB", (unsigned long long)l->limit_bytes);
	if (l->close_delay_us)
		fprintf(f, ", close_delay: %lldus", (long long)l->close_delay_us);
	if (l->rto_us)
		fprintf(f, ", rto: %lldus", (long long)l->rto_us);
	if (l->retries)
		fprintf(f, ", retries: %u", l->retries);
	fprintf(f, " }\n");
}

/* The plan as a faults file: what --faults reads back into the same plan. */
static int write_schedule(const char *path, const scenario *s, const proxy_plan *p, uint64_t seed,
			  int64_t duration_us, FILE *err)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(err, "mqttsim proxy: --schedule-out %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "# the faults schedule of mqttsim proxy; replay it with --faults FILE\n");
	fprintf(f, "name: proxy-schedule\nseed: %llu\n", (unsigned long long)seed);
	if (duration_us)
		fprintf(f, "duration: %lldus\n", (long long)duration_us);
	if (s && s->nclients) {
		fprintf(f, "clients:\n");
		for (size_t i = 0; i < s->nclients; i++) {
			fprintf(f, "  - { id: %s", s->clients[i].id);
			if (s->clients[i].client_id && strcmp(s->clients[i].client_id, s->clients[i].id)) {
				fprintf(f, ", client_id: ");
				put_qstr(f, s->clients[i].client_id);
			}
			fprintf(f, " }\n");
		}
	}
	if (s && s->nlinks) {
		fprintf(f, "network:\n");
		bool links = false;
		for (size_t i = 0; i < s->nlinks; i++)
			if (!s->links[i].node) {
				fprintf(f, "  default: ");
				put_link(f, &s->links[i].link);
			} else
				links = true;
		if (links)
			fprintf(f, "  links:\n");
		for (size_t i = 0; i < s->nlinks; i++)
			if (s->links[i].node) {
				fprintf(f, "    %s: ", s->links[i].node);
				put_link(f, &s->links[i].link);
			}
	}
	if (p->nfaults)
		fprintf(f, "faults:\n");
	for (size_t i = 0; i < p->nfaults; i++) {
		const proxy_fault *q = &p->faults[i];
		const char *c = p->sel[q->sel].name;
		bool b2c = q->dir == PROXY_B2C;
		fprintf(f, "  - { at: %lldus, %s: [%s, %s]", (long long)q->at_us, sim_fault_name(q->kind),
			b2c ? "broker" : c, b2c ? c : "broker");
		if (q->for_us)
			fprintf(f, ", for: %lldus", (long long)q->for_us);
		fprintf(f, " }\n");
	}
	if (fclose(f) != 0) {
		fprintf(err, "mqttsim proxy: --schedule-out %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int cmd_proxy(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	(void)in;
	char lhost[256] = "", uhost[256] = "";
	proxy_opts o;
	memset(&o, 0, sizeof o);
	const char *faults = NULL, *logp = NULL, *sched = NULL, *listen = NULL, *up = NULL;
	uint64_t seed = 1;
	bool has_seed = false;
	int64_t duration = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, out);
			return EXIT_PASS;
		}
		bool takes = !strcmp(a, "--listen") || !strcmp(a, "--upstream") || !strcmp(a, "--faults") ||
			     !strcmp(a, "--seed") || !strcmp(a, "--log") || !strcmp(a, "--schedule-out") ||
			     !strcmp(a, "--duration");
		if (!takes) {
			fprintf(err, "mqttsim proxy: unknown option '%s'\n%s", a, usage_text);
			return EXIT_USAGE;
		}
		if (!v) {
			fprintf(err, "mqttsim proxy: %s needs a value\n", a);
			return EXIT_USAGE;
		}
		i++;
		if (!strcmp(a, "--listen"))
			listen = v;
		else if (!strcmp(a, "--upstream"))
			up = v;
		else if (!strcmp(a, "--faults"))
			faults = v;
		else if (!strcmp(a, "--log"))
			logp = v;
		else if (!strcmp(a, "--schedule-out"))
			sched = v;
		else if (!strcmp(a, "--seed")) {
			if (cli_seed("proxy", v, &seed, err) < 0)
				return EXIT_USAGE;
			has_seed = true;
		} else if ((duration = sc_parse_duration(v)) <= 0) {
			fprintf(err, "mqttsim proxy: --duration takes a time like 30s or 2m, not '%s'\n", v);
			return EXIT_USAGE;
		}
	}
	if (!listen || !up) {
		fprintf(err, "mqttsim proxy: %s is required\n%s", !listen ? "--listen ADDR:PORT" : "--upstream tcp://HOST:PORT",
			usage_text);
		return EXIT_USAGE;
	}
	if (!parse_hostport(listen, lhost, sizeof lhost, &o.listen_port)) {
		fprintf(err, "mqttsim proxy: --listen takes ADDR:PORT (like 127.0.0.1:1884), not '%s'\n", listen);
		return EXIT_USAGE;
	}
	/* A WebSocket upstream: HOST:PORT before the path; the bytes pass through untouched. */
	bool ws = run_target_ws(up, NULL, 0);
	char wshp[300] = "";
	if (ws) {
		char path[RUN_WS_PATH_MAX];
		const char *rest = strstr(up, "://") + 3;
		long hl = ws_split_path(rest, path, sizeof path);
		if (hl >= 0 && (size_t)hl < sizeof wshp) {
			memcpy(wshp, rest, (size_t)hl);
			wshp[hl] = 0;
		}
	}
	const char *hp = ws ? wshp : !strncmp(up, "tcp://", 6) ? up + 6 : !strncmp(up, "mqtt://", 7) ? up + 7 : NULL;
	if (!hp || !parse_hostport(hp, uhost, sizeof uhost, &o.up_port) || !o.up_port) {
		fprintf(err, "mqttsim proxy: --upstream takes tcp://HOST:PORT, mqtt://HOST:PORT, ws://HOST:PORT[/PATH] or "
			     "wss://HOST:PORT[/PATH], not '%s'%s\n", up,
			!strncmp(up, "mqtts://", 8) ? " (TLS upstreams are not proxied yet)" : "");
		return EXIT_USAGE;
	}
	o.listen_host = lhost;
	o.up_host = uhost;
	o.opaque = ws;
	o.err = err;
	scenario *s = NULL;
	proxy_plan p = { 0 };
	int rc = EXIT_USAGE;
	FILE *logf = NULL;
	if (faults) {
		sc_errors e;
		s = scenario_load(faults, &e);
		for (int k = 0; k < e.n; k++)
			fprintf(err, "%s\n", e.msg[k]);
		if (e.dropped)
			fprintf(err, "%s: %d more errors\n", faults, e.dropped);
		sc_errors_free(&e);
		if (!s)
			goto done;
		if (!has_seed && s->has_seed)
			seed = s->seed;
		/* Drawn over the file's duration (as a scenario draws them), else the run's. */
		int64_t horizon = s->duration_us ? s->duration_us : duration;
		if (s->random_faults.on && !horizon) {
			fprintf(err, "%s: random_faults are drawn over a duration: give 'duration' in the file or --duration\n",
				faults);
			goto done;
		}
		size_t skipped = 0, drawn = 0;
		int bad = proxy_plan_scenario(s, seed, horizon, &p, &skipped, &drawn);
		if (bad > 0) {
			const sc_fault *f = &s->faults[bad - 1];
			fprintf(err, "%s:%d:%d: a proxy applies only faults between a client and the broker "
				     "(partition, partition_oneway, clog, blackhole, reset: [CLIENT, broker]); "
				     "this %s is not one\n",
				s->file, f->pos.line, f->pos.col,
				f->kind == SC_FAULT_WIFI_DOWN ? "wifi_down" : sim_fault_name(f->kind));
			goto done;
		}
		for (size_t k = 0; ws && k < p.nsel; k++)
			if (p.sel[k].client_id) {
				fprintf(err, "mqttsim proxy: %s: '%s' selects a connection by its client id, which a WebSocket "
					     "upstream hides in frames: name the connections conn-1, conn-2, ... (by order)\n",
					faults, p.sel[k].name);
				goto done;
			}
		if (skipped)
			fprintf(err, "mqttsim proxy: %s: %zu of the %zu faults drawn are not between a client and the broker "
				     "(crash, clock faults, client to client); a proxy leaves them out\n",
				s->file, skipped, drawn);
	}
	p.seed = seed;
	o.duration_us = duration;
	if (sched && write_schedule(sched, s, &p, seed, s && s->duration_us ? s->duration_us : duration, err) < 0)
		goto done;
	if (logp && !(logf = fopen(logp, "w"))) {
		fprintf(err, "mqttsim proxy: --log %s: %s\n", logp, strerror(errno));
		goto done;
	}
	o.log = logf ? logf : out;
	rc = proxy_run(&o, &p);
done:
	if (logf && fclose(logf) != 0 && rc == EXIT_PASS) {
		fprintf(err, "mqttsim proxy: --log %s: %s\n", logp, strerror(errno));
		rc = EXIT_USAGE;
	}
	proxy_plan_free(&p);
	scenario_free(s);
	return rc;
}
