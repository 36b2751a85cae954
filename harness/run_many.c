/*
 * run_many.c - runs as a command sees them: many scenarios through the worker pool, each
 * result carried back as data (a record) and formatted only here, at the edge.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/cli.h"
#include "harness/broker_shell_exec.h"
#include "harness/engine.h"
#include "harness/pool.h"
#include "harness/run.h"
#include "mqtt/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

int64_t run_mono_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int run_code(const run_result *r)
{
	if (r->error || r->output_lost)
		return 2;
	return r->pass ? 0 : 1;
}

/* " --broker B", B in single quotes for the shell when it holds more than a plain word
 * (exec:'mosquitto -c {config}'). */
static void print_broker(FILE *f, const char *b)
{
	if (!b[strcspn(b, " \t'\"\\$`!*?;&|<>(){}[]#~")]) {
		fprintf(f, " --broker %s", b);
		return;
	}
	fputs(" --broker '", f);
	for (const char *p = b; *p; p++)
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	fputc('\'', f);
}

void run_format(FILE *f, const scenario *s, const run_opts *o, const run_result *r)
{
	if (r->error) {
		fprintf(f, "ERROR %s (%s): %s", s->name, s->file, r->report ? r->report : "");
		return;
	}
	if (r->skipped) {
		fprintf(f, "SKIP  %s (%s): %s", s->name, s->file, r->report ? r->report : "not for this target\n");
		return;
	}
	/* Target exec is virtual time too: its figures are the simulation's. */
	bool sim = !o->broker || !strcmp(o->broker, "sim") || !strncmp(o->broker, "exec:", 5);
	fprintf(f, "%s  %s (%s)  seed=%llu  %s %lld.%03llds", r->pass ? "PASS" : "FAIL", s->name, s->file,
		(unsigned long long)r->seed, sim ? "virtual" : "took", (long long)(r->virtual_us / 1000000),
		(long long)(r->virtual_us % 1000000 / 1000));
	if (sim)
		fprintf(f, "  events=%llu  trace=%016llx", (unsigned long long)r->events, (unsigned long long)r->trace_hash);
	fputc('\n', f);
	if (!r->pass) {
		char vars[256];
		cli_broker_variant_args(o->broker_variants, vars, sizeof vars);
		fprintf(f, "%s  replay: mqttsim run %s --seed %llu", r->report ? r->report : "", s->file,
			(unsigned long long)r->seed);
		if (o->broker)
			print_broker(f, o->broker);
		fprintf(f, "%s%s\n", o->swarm ? " --swarm" : "", vars);
	} else if (r->output_lost) {
		fprintf(f, "%s", r->report ? r->report : "");
	}
	if (r->output_lost)
		fprintf(f, "ERROR %s (%s): what it was to write is lost (see above)\n", s->name, s->file);
}

char *run_format_text(const scenario *s, const run_opts *o, const run_result *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	run_format(f, s, o, r);
	if (fclose(f) != 0)
		abort();
	return buf;
}

/* ---- records ---------------------------------------------------------------------------- */

enum { F_PASS = 1, F_SKIPPED = 2, F_ERROR = 4, F_LOST = 8 };

void run_result_encode(pool_rec *out, const scenario *s, const run_result *r)
{
	pool_put_u64(out, (r->pass ? F_PASS : 0) | (r->skipped ? F_SKIPPED : 0) | (r->error ? F_ERROR : 0) |
				  (r->output_lost ? F_LOST : 0));
	pool_put_u64(out, r->seed);
	pool_put_u64(out, r->trace_hash);
	pool_put_u64(out, r->events);
	pool_put_i64(out, r->virtual_us);
	pool_put_i64(out, r->wall_us);
	pool_put_i64(out, r->failed_step);
	pool_put_str(out, r->failed_obs);
	pool_put_bytes(out, r->failed_expect, s->nexpects, r->failed_expect != NULL);
	pool_put_str(out, r->report);
	pool_put_u64(out, r->nviolations);
	for (size_t i = 0; i < r->nviolations; i++)
		pool_put_str(out, r->violations[i]);
}

int run_result_decode(const unsigned char *p, size_t len, const scenario *s, run_result *r)
{
	memset(r, 0, sizeof *r);
	pool_in in = { .p = p, .len = len };
	uint64_t flags = 0;
	int64_t step = -1;
	char *fe = NULL;
	size_t nfe = 0;
	pool_get_u64(&in, &flags);
	pool_get_u64(&in, &r->seed);
	pool_get_u64(&in, &r->trace_hash);
	pool_get_u64(&in, &r->events);
	pool_get_i64(&in, &r->virtual_us);
	pool_get_i64(&in, &r->wall_us);
	pool_get_i64(&in, &step);
	char *fobs = NULL;
	pool_get_str(&in, &fobs);
	if (fobs && strlen(fobs) < RUN_OBS_MAX)
		memcpy(r->failed_obs, fobs, strlen(fobs) + 1);
	else if (fobs)
		in.bad = true;
	free(fobs);
	pool_get_bytes(&in, &fe, &nfe);
	pool_get_str(&in, &r->report);
	uint64_t nv = 0;
	pool_get_u64(&in, &nv);
	if (!in.bad && nv <= 64) {
		r->violations = mqtt_xcalloc((size_t)nv, sizeof *r->violations);
		for (; r->nviolations < nv && pool_get_str(&in, &r->violations[r->nviolations]) &&
		       r->violations[r->nviolations];
		     r->nviolations++)
			;
		if (r->nviolations != nv)
			in.bad = true;
	} else {
		in.bad = true;
	}
	r->failed_expect = (unsigned char *)fe;
	r->failed_step = (long)step;
	if (in.bad || in.off != len || (fe && nfe != s->nexpects) || step < -1 || step >= (int64_t)s->nsteps) {
		run_result_free(r);
		memset(r, 0, sizeof *r);
		r->failed_step = -1;
		r->error = true;
		r->report = strdup("a worker sent back a result that does not fit the scenario (report the bug)\n");
		return -1;
	}
	r->pass = flags & F_PASS;
	r->skipped = flags & F_SKIPPED;
	r->error = flags & F_ERROR;
	r->output_lost = flags & F_LOST;
	return 0;
}

/* ---- many runs ---------------------------------------------------------------------------- */

/* The progress line: "[k/n] name", cut to the terminal's width (a wrapped line could not be
 * overwritten), control bytes shown as '?'. k == 0 clears it. */
static void progress(FILE *p, size_t k, size_t n, const char *name)
{
	if (!p || n < 2)
		return;
	fputs("\r\033[K", p);
	if (k) {
		struct winsize ws;
		int cols = ioctl(fileno(p), TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
		char line[512];
		int m = snprintf(line, sizeof line, "[%zu/%zu] %s", k, n, name);
		size_t len = m < 0 ? 0 : (size_t)m < sizeof line ? (size_t)m : sizeof line - 1;
		if (len > (size_t)cols - 1)
			len = (size_t)cols - 1;
		for (size_t i = 0; i < len; i++)
			fputc((unsigned char)line[i] < 0x20 || line[i] == 0x7f ? '?' : line[i], p);
	}
	fflush(p);
}

typedef struct many {
	scenario **sc;
	size_t n;
	const run_opts *o;
	run_result *res;
	FILE *out;
	size_t shown;       /* the k of the progress line on the terminal now; 0: none */
} many;

/* "[k/n] name" once per k, however runs finish (a redraw of the same k is skipped). */
static void show(many *M, size_t k)
{
	if (k == M->shown)
		return;
	progress(M->o->progress, k, M->n, k ? M->sc[k - 1]->name : NULL);
	M->shown = k;
}

static void many_work(void *ctx, size_t i, pool_rec *out)
{
	many *M = ctx;
	run_result r;
	int64_t t0 = run_mono_us();
	run_scenario(M->sc[i], M->o, &r);
	r.wall_us = run_mono_us() - t0;
	run_result_encode(out, M->sc[i], &r);
	run_result_free(&r);
}

static void many_done(void *ctx, size_t i, const unsigned char *rec, size_t len, const char *why)
{
	many *M = ctx;
	run_result *r = &M->res[i];
	if (rec) {
		run_result_decode(rec, len, M->sc[i], r);
	} else {
		memset(r, 0, sizeof *r);
		r->failed_step = -1;
		r->error = true;
		r->seed = M->o->has_seed ? M->o->seed : M->sc[i]->seed;
		report_add(&r->report, "the worker process running it stopped (%s)", why);
	}
	show(M, i + 1); /* every k shows, however they finish */
	if (!M->out)
		return;
	show(M, 0);
	run_format(M->out, M->sc[i], M->o, r);
	fflush(M->out);
}

static void many_tick(void *ctx, size_t next)
{
	many *M = ctx;
	if (next < M->n)
		show(M, next + 1);
}

int64_t run_estimate_us(const scenario *s)
{
	int64_t t = 0;
	for (size_t i = 0; i < s->nsteps; i++) {
		const sc_step *st = &s->steps[i];
		if (st->kind == SC_WAIT || st->kind == SC_EXPECT_NONE)
			t += st->for_us;
		else if (st->kind == SC_EXPECT_CLOSED)
			t += st->within_us;
	}
	return s->duration_us > t ? s->duration_us : t;
}

static const scenario *const *by_estimate_sc;

static int by_estimate(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int64_t ex = run_estimate_us(by_estimate_sc[x]), ey = run_estimate_us(by_estimate_sc[y]);
	return ex != ey ? (ex < ey ? 1 : -1) : (x > y) - (x < y);
}

void run_many(scenario **sc, size_t n, const run_opts *o, long jobs, run_result *res, FILE *out)
{
	many M = { sc, n, o, res, out, 0 };
	/* The longest first, so the last to finish is a short one; results still come in order. */
	size_t *order = NULL;
	if (jobs > 1 && n > 1 && n <= POOL_WINDOW) {
		order = mqtt_xcalloc(n, sizeof *order);
		for (size_t i = 0; i < n; i++)
			order[i] = i;
		by_estimate_sc = (const scenario *const *)sc;
		qsort(order, n, sizeof *order, by_estimate);
	}
	pool_job j = { .n = n, .workers = jobs, .order = order, .work = many_work, .done = many_done,
		       .tick = o->progress ? many_tick : NULL, .ctx = &M, .cmd = "run", .err = stderr };
	if (pool_run(&j) < 0)
		run_none(sc, n, "no worker process could be started", res, out);
	free(order);
	progress(o->progress, 0, n, NULL);
}

long run_default_jobs(const char *broker)
{
	char host[256];
	unsigned port;
	if (run_parse_target(broker, host, sizeof host, &port) == 1)
		return RUN_TCP_JOBS; /* scenarios over a network mostly wait: many at once */
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 16 ? 16 : n;
}

void run_none(scenario **sc, size_t n, const char *why, run_result *res, FILE *out)
{
	for (size_t i = 0; i < n; i++) {
		run_result *r = &res[i];
		memset(r, 0, sizeof *r);
		r->failed_step = -1;
		r->error = true;
		report_add(&r->report, "%s", why);
		if (out)
			run_format(out, sc[i], &(run_opts){ 0 }, r);
	}
}

bool names_collide(scenario *const *sc, size_t n, const run_opts *o, const char *cmd, FILE *err)
{
	if (!o->out_dir && !o->pcap_dir)
		return false;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < i; k++)
			if (!strcmp(sc[i]->name, sc[k]->name)) {
				fprintf(err, "mqttsim %s: %s and %s are both named '%s'; their files in %s would "
					     "overwrite each other: rename one (nothing was run)\n",
					cmd, sc[k]->file, sc[i]->file, sc[i]->name, o->out_dir ? o->out_dir : o->pcap_dir);
				return true;
			}
	return false;
}

/* Does a scenario (or one of its clients) speak MQTT `version`? */
static bool speaks(const scenario *s, uint8_t version)
{
	if (s->version == version)
		return true;
	for (size_t i = 0; i < s->nclients; i++)
		if (s->clients[i].version == version)
			return true;
	return false;
}

int probe_target(const char *broker, const run_opts *o, scenario *const *sc, size_t n, const char *cmd, char *why,
		 size_t cap, FILE *err)
{
	char host[256];
	unsigned port;
	int t = run_parse_target(broker, host, sizeof host, &port);
	if (t == RUN_TARGET_EXEC) {
		/* A broker binary that cannot start says so once, not once per scenario. */
		if (broker_exec_check(broker + 5, why, cap) == 0)
			return 0;
		fprintf(err, "mqttsim %s: %s; nothing was run\n", cmd, why);
		return -1;
	}
	if (t != RUN_TARGET_TCP && t != RUN_TARGET_TLS)
		return 0;
	/* If every scenario skips this target, nobody needs to be there; else the versions used. */
	bool any = false, v311 = false, v5 = false;
	for (size_t i = 0; i < n; i++)
		if (sc[i]->targets & (SC_TARGET_TCP | SC_TARGET_WS)) {
			any = true;
			v311 = v311 || speaks(sc[i], MQTT_V311);
			v5 = v5 || speaks(sc[i], MQTT_V5);
		}
	if (!any)
		return 0;
	char r[400];
	bool tls = t == RUN_TARGET_TLS || o->tls;
	int pr = v311 || !v5 ? run_probe_broker(host, port, tls, o, MQTT_V311, 5000000, r, sizeof r) : 0;
	if (pr == 0 && v5) {
		pr = run_probe_broker(host, port, tls, o, MQTT_V5, 5000000, r, sizeof r);
		/* A close with no CONNACK is what some 3.1.1 brokers do with a 5.0 CONNECT; it is
		 * that when a 3.1.1 CONNECT is taken (else the broker is in trouble: say why). */
		char r311[400];
		if (pr == -5 && (v311 || run_probe_broker(host, port, tls, o, MQTT_V311, 5000000, r311, sizeof r311) == 0)) {
			snprintf(r, sizeof r, "it closed the connection after a 5.0 CONNECT, before any CONNACK, and takes a 3.1.1 one");
			pr = -4;
		}
		if (pr == -4) {
			snprintf(why, cap, "the broker at %s refused MQTT 5.0 (%s)", broker, r);
			return -4;
		}
	}
	if (pr == 0)
		return 0;
	if (pr == -2 || pr == -3)
		snprintf(why, cap, "%s: %s", broker, r);
	else
		snprintf(why, cap, "no MQTT broker at %s: %s", broker, r);
	fprintf(err, "mqttsim %s: %s; nothing was run\n", cmd, why);
	return -1;
}
