/*
 * cmd_shrink.c - `mqttsim shrink` (a failing seed's faults, explicit and drawn, cut down by
 * delta debugging to a few that still fail the same step or expectation, written as a
 * standalone scenario) and `mqttsim replay` (a recorded trace run again and compared).
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/cli.h"
#include "mqtt/alloc.h"
#include "harness/explore.h"
#include "harness/explore_cmd.h"
#include "harness/run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- shrink ------------------------------------------------------------------------------- */

static const char shrink_usage[] =
	"usage: mqttsim shrink SCENARIO --seed N [--swarm] [--broker exec:'CMD ARGS'] [--out FILE]\n"
	"\n"
	"Take a seed on which SCENARIO fails, list every fault the run injected (its explicit\n"
	"faults and those drawn from the seed), and search by delta debugging for a smallest set\n"
	"that still fails the same step or expectation; then shorten their durations and, when an\n"
	"expectation failed, drop the publish steps it does not need. Writes the result as a\n"
	"standalone scenario with explicit faults and random faults off (default\n"
	"NAME-seedN-shrunk.yaml here), and checks that it fails on its own.\n"
	"\n"
	"  --swarm            the seed was found by explore --swarm\n"
	"  --broker exec:CMD  the seed failed against a broker binary in virtual time (explore\n"
	"                     --broker exec:...): every run of the search runs it (exec/README.md)\n"
	"\n"
	"exit: 0 shrunk and checked, 1 the shrunk scenario did not fail alone, 2 bad input or the\n"
	"seed does not fail\n";

typedef struct shrink_ctx {
	const scenario *s;
	run_opts o;
	const sc_fault *all;
	sc_fault *buf;       /* the candidate schedule */
	explore_fail target;
	unsigned runs;
	const sc_step *steps; /* the candidate steps (default: the scenario's) */
	size_t nsteps;
	/* Message shrinking: the publish steps, and a buffer for the candidate steps. */
	const size_t *pubs;
	size_t npubs;
	const sc_fault *faults; /* the shrunk faults */
	size_t nfaults;
	sc_step *stepbuf;
} shrink_ctx;

/* Does the scenario, with exactly these faults and nothing drawn, fail the target? */
static bool fails_with(shrink_ctx *c, const sc_fault *f, size_t n, uint64_t *hash)
{
	scenario copy = *c->s;
	copy.faults = (sc_fault *)f;
	copy.nfaults = n;
	copy.random_faults.on = false;
	copy.steps = (sc_step *)c->steps;
	copy.nsteps = c->nsteps;
	run_result r;
	c->runs++;
	bool hit = false;
	if (run_scenario(&copy, &c->o, &r) == 0 && !r.pass) {
		explore_fail fl[16];
		int nf = explore_failures(&copy, &r, fl, 16);
		for (int i = 0; i < nf && !hit; i++)
			hit = explore_fail_same(&fl[i], &c->target);
	}
	if (hash)
		*hash = r.trace_hash;
	run_result_free(&r);
	return hit;
}

static bool subset_fails(const size_t *items, size_t n, void *ctx)
{
	shrink_ctx *c = ctx;
	for (size_t i = 0; i < n; i++)
		c->buf[i] = c->all[items[i]];
	return fails_with(c, c->buf, n, NULL);
}

/* Keep every step but the publishes, and of those only the listed ones. */
static bool pubs_fail(const size_t *items, size_t n, void *ctx)
{
	shrink_ctx *c = ctx;
	size_t k = 0, next = 0;
	for (size_t i = 0; i < c->s->nsteps; i++) {
		bool pub = c->s->steps[i].kind == SC_PUBLISH;
		if (pub && !(next < n && c->pubs[items[next]] == i))
			continue;
		if (pub)
			next++;
		c->stepbuf[k++] = c->s->steps[i];
	}
	c->steps = c->stepbuf;
	c->nsteps = k;
	bool hit = fails_with(c, c->faults, c->nfaults, NULL);
	c->steps = c->s->steps;
	c->nsteps = c->s->nsteps;
	return hit;
}

/* The scenario's text as a libyaml document; false when it does not parse. */
static bool load_doc(const char *text, size_t len, yaml_document_t *doc)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	bool ok = yaml_parser_load(&p, doc);
	yaml_parser_delete(&p);
	return ok;
}

/* The lines [from, to) of each item of the top-level `steps` list, so that a step can be
 * cut out of the text. -1 when the list is not one item per run of lines (a flow list,
 * aliases, two items on a line): then steps are not shrunk. */
static int step_extents(const char *text, size_t len, size_t nsteps, size_t (*ext)[2])
{
	yaml_document_t doc;
	bool ok = load_doc(text, len, &doc);
	if (!ok)
		return -1;
	int rc = -1;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE)
		goto out;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&doc, pr->key), *v = yaml_document_get_node(&doc, pr->value);
		if (!k || !v || k->type != YAML_SCALAR_NODE || strcmp((const char *)k->data.scalar.value, "steps"))
			continue;
		if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.style == YAML_FLOW_SEQUENCE_STYLE ||
		    (size_t)(v->data.sequence.items.top - v->data.sequence.items.start) != nsteps)
			goto out;
		size_t prev_end = 0;
		for (size_t i = 0; i < nsteps; i++) {
			yaml_node_t *it = yaml_document_get_node(&doc, v->data.sequence.items.start[i]);
			if (!it)
				goto out;
			size_t from = it->start_mark.line, to = it->end_mark.line + (it->end_mark.column > 0 ? 1 : 0);
			if (from < prev_end || to <= from)
				goto out; /* an alias, or two items sharing a line */
			ext[i][0] = from;
			ext[i][1] = to;
			prev_end = to;
		}
		rc = 0;
	}
out:
	yaml_document_delete(&doc);
	return rc;
}

static void fmt_dur(int64_t us, char *b, size_t cap)
{
	const char *sign = us < 0 ? "-" : "";
	uint64_t a = us < 0 ? (uint64_t)(-(us + 1)) + 1 : (uint64_t)us;
	if (a && a % 1000000 == 0)
		snprintf(b, cap, "%s%" PRIu64 "s", sign, a / 1000000);
	else if (a && a % 1000 == 0)
		snprintf(b, cap, "%s%" PRIu64 "ms", sign, a / 1000);
	else
		snprintf(b, cap, "%s%" PRIu64 "us", sign, a);
}

/* One fault as a line of the scenario language. */
static void fault_yaml(FILE *f, const sc_fault *x)
{
	char at[32], d[32];
	fmt_dur(x->at_us, at, sizeof at);
	fmt_dur(x->for_us, d, sizeof d);
	const char *k = sim_fault_name(x->kind);
	fprintf(f, "  - { at: %s, ", at);
	switch (x->kind) {
	case SIM_FAULT_CRASH:
		fprintf(f, "crash: %s", x->a);
		if (x->for_us > 0)
			fprintf(f, ", restart_after: %s", d);
		break;
	case SIM_FAULT_DRIFT:
		fprintf(f, "drift: { node: %s, ppm: %.17g }", x->a, x->value);
		if (x->for_us > 0)
			fprintf(f, ", for: %s", d);
		break;
	case SIM_FAULT_JUMP: {
		char by[32];
		fmt_dur((int64_t)x->value, by, sizeof by);
		fprintf(f, "jump: { node: %s, by: %s }", x->a, by);
		break;
	}
	default:
		fprintf(f, "%s: [%s, %s]", k, x->a, x->b);
		if (x->for_us > 0 && x->kind != SIM_FAULT_RESET)
			fprintf(f, ", for: %s", d);
	}
	fputs(" }\n", f);
}

static bool dropped_key(const char *k)
{
	return !strcmp(k, "name") || !strcmp(k, "seed") || !strcmp(k, "faults") || !strcmp(k, "random_faults");
}

/* The scenario's own text without its name, seed, faults and random_faults (found with
 * libyaml, so only whole top-level entries go), then those four written anew. */
static int write_shrunk(const char *text, size_t len, const char *out_path, const scenario *s, uint64_t seed,
			const sc_fault *f, size_t n, const bool *drop_step, size_t (*ext)[2], const char *header,
			FILE *err)
{
	yaml_document_t doc;
	bool ok = load_doc(text, len, &doc);
	if (!ok) {
		fprintf(err, "mqttsim shrink: %s: cannot read it again as YAML\n", s->file);
		return -1;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE || root->data.mapping.style == YAML_FLOW_MAPPING_STYLE) {
		fprintf(err, "mqttsim shrink: %s: the scenario must be a block mapping (key: value lines) to be rewritten\n",
			s->file);
		yaml_document_delete(&doc);
		return -1;
	}
	/* Lines [from, to) of each dropped entry: its key's line up to the next key's line. */
	size_t nkeys = (size_t)(root->data.mapping.pairs.top - root->data.mapping.pairs.start);
	bool *drop_line = NULL;
	size_t nlines = 1;
	for (size_t i = 0; i < len; i++)
		nlines += text[i] == '\n';
	drop_line = mqtt_xcalloc(nlines + 1, 1);
	for (size_t i = 0; i < nkeys; i++) {
		yaml_node_t *k = yaml_document_get_node(&doc, root->data.mapping.pairs.start[i].key);
		if (!k || k->type != YAML_SCALAR_NODE)
			continue;
		size_t from = k->start_mark.line, to = nlines;
		if (i + 1 < nkeys) {
			yaml_node_t *nk = yaml_document_get_node(&doc, root->data.mapping.pairs.start[i + 1].key);
			if (nk)
				to = nk->start_mark.line;
		}
		if (k->start_mark.column != 0 || (i + 1 < nkeys && to == from)) {
			fprintf(err, "mqttsim shrink: %s:%zu: top-level keys must start their own line to be rewritten\n",
				s->file, from + 1);
			free(drop_line);
			yaml_document_delete(&doc);
			return -1;
		}
		if (dropped_key((const char *)k->data.scalar.value))
			for (size_t l = from; l < to && l < nlines; l++)
				drop_line[l] = true;
	}
	yaml_document_delete(&doc);
	for (size_t i = 0; drop_step && i < s->nsteps; i++)
		for (size_t l = ext[i][0]; drop_step[i] && l < ext[i][1] && l < nlines; l++)
			drop_line[l] = true;
	FILE *o = fopen(out_path, "w");
	if (!o) {
		fprintf(err, "mqttsim shrink: cannot write %s: %s\n", out_path, strerror(errno));
		free(drop_line);
		return -1;
	}
	fputs(header, o);
	size_t line = 0;
	for (const char *q = text; q < text + len;) {
		const char *e = memchr(q, '\n', (size_t)(text + len - q));
		size_t l = e ? (size_t)(e - q + 1) : (size_t)(text + len - q);
		if (!drop_line[line])
			fwrite(q, 1, l, o);
		if (!e && l && !drop_line[line])
			fputc('\n', o);
		q += l;
		line++;
	}
	fprintf(o, "name: %s-seed%" PRIu64 "-shrunk\nseed: %" PRIu64 "\nfaults:%s\n", s->name, seed, seed, n ? "" : " []");
	for (size_t i = 0; i < n; i++)
		fault_yaml(o, &f[i]);
	free(drop_line);
	if (fclose(o) != 0) {
		fprintf(err, "mqttsim shrink: cannot write %s\n", out_path);
		return -1;
	}
	return 0;
}

int cmd_shrink(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	(void)in;
	const char *path = NULL, *out_path = NULL;
	run_opts o = { 0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(shrink_usage, out);
			return EXIT_PASS;
		} else if (!strcmp(a, "--seed")) {
			if (cli_seed("shrink", v, &o.seed, err) < 0)
				return EXIT_USAGE;
			o.has_seed = true;
			i++;
		} else if (!strcmp(a, "--swarm")) {
			o.swarm = true;
		} else if (!strcmp(a, "--broker")) {
			if (cli_sim_broker("shrink", v, err) < 0)
				return EXIT_USAGE;
			o.broker = strcmp(v, "sim") ? v : NULL;
			i++;
		} else if (!strcmp(a, "--out")) {
			if (!v) {
				fprintf(err, "mqttsim shrink: --out needs a file name\n");
				return EXIT_USAGE;
			}
			out_path = v;
			i++;
		} else if (a[0] == '-') {
			fprintf(err, "mqttsim shrink: unknown option '%s'\n%s", a, shrink_usage);
			return EXIT_USAGE;
		} else if (!path) {
			path = a;
		} else {
			fprintf(err, "mqttsim shrink: one scenario at a time\n");
			return EXIT_USAGE;
		}
	}
	if (!path || !o.has_seed) {
		fprintf(err, "mqttsim shrink: %s\n%s", path ? "which seed? (--seed N, as explore printed it)" : "which scenario?",
			shrink_usage);
		return EXIT_USAGE;
	}
	size_t len;
	char *text = explore_slurp(path, &len, err, "shrink");
	if (!text)
		return EXIT_USAGE;
	scenario *s = explore_load(path, err, "shrink");
	if (!s) {
		free(text);
		return EXIT_USAGE;
	}
	int rc = EXIT_USAGE;
	sc_fault *buf = NULL;
	size_t *keep = NULL, *pubs = NULL, *pkeep = NULL;
	size_t (*ext)[2] = NULL;
	bool *drop_step = NULL;
	shrink_ctx c = { 0 };
	scenario *alone = NULL;
	run_result r = { 0 };
	if (!(s->targets & SC_TARGET_SIM)) {
		fprintf(err, "mqttsim shrink: %s is for TCP only; shrinking runs in simulation\n", path);
		goto out;
	}
	if (o.broker && !run_target_fits(s, RUN_TARGET_EXEC)) {
		fprintf(err, "mqttsim shrink: %s asks the reference broker for options of its own (broker:), which an "
			     "exec broker does not take (give it exec_config lines: scenarios/README.md)\n", path);
		goto out;
	}
	/* The failing run, with the schedule it injected. */
	o.want_faults = true;
	if (run_scenario(s, &o, &r) < 0) {
		fprintf(err, "mqttsim shrink: %s", r.report ? r.report : "could not run\n");
		goto out;
	}
	if (r.pass) {
		fprintf(err, "mqttsim shrink: %s passes with seed %" PRIu64 ": nothing to shrink (explore lists failing seeds)\n",
			path, o.seed);
		goto out;
	}
	explore_fail fl[16];
	if (explore_failures(s, &r, fl, 16) < 1) {
		fprintf(err, "mqttsim shrink: it failed outside every step and expectation, so there is no check to shrink towards:\n%s", r.report ? r.report : "");
		goto out;
	}
	c = (shrink_ctx){ .s = s, .o = o, .all = r.faults, .target = fl[0], .steps = s->steps, .nsteps = s->nsteps };
	c.o.want_faults = false;
	char label[512];
	explore_fail_label(s, &fl[0], label, sizeof label);
	size_t n = r.nfaults;
	fprintf(out, "shrink: %s seed %" PRIu64 " fails %s at %s:%d:%d\n", path, o.seed, label, path, fl[0].pos.line,
		fl[0].pos.col);
	fprintf(out, "shrink: %zu fault%s: %zu explicit, %zu drawn from the seed%s\n", n, n == 1 ? "" : "s", s->nfaults,
		n - s->nfaults, o.swarm ? " (swarm)" : "");
	buf = mqtt_xcalloc(n ? n : 1, sizeof *buf);
	keep = mqtt_xcalloc(n ? n : 1, sizeof *keep);
	c.buf = buf;
	/* The drawn faults written out must still fail: else the schedule is not the whole story. */
	uint64_t h;
	if (!fails_with(&c, r.faults, n, &h)) {
		fprintf(out, "shrink: the run's faults, written as explicit faults, do not fail the same way: cannot shrink\n");
		rc = EXIT_FAIL;
		goto out;
	}
	fprintf(out, "shrink: as explicit faults they fail the same way%s\n",
		h == r.trace_hash ? " (the very same trace)" : "");
	unsigned tests;
	size_t m = explore_ddmin(n, subset_fails, &c, keep, &tests);
	for (size_t i = 0; i < m; i++)
		buf[i] = r.faults[keep[i]];
	/* Shorter faults read more easily: bisect each duration down while it still fails. */
	unsigned before_dur = c.runs;
	for (size_t i = 0; i < m; i++) {
		if (buf[i].for_us <= 0)
			continue;
		int64_t lo = 0, hi = buf[i].for_us, keep_at = hi;
		while (hi - lo > 1000 && hi - lo > hi / 32) {
			int64_t mid = lo + (hi - lo) / 2;
			buf[i].for_us = mid;
			if (fails_with(&c, buf, m, NULL))
				hi = keep_at = mid;
			else
				lo = mid;
		}
		buf[i].for_us = keep_at;
	}
	fprintf(out, "shrink: %zu fault%s -> %zu in %u runs (%u for ddmin, %u shortening durations)\n", n,
		n == 1 ? "" : "s", m, c.runs, before_dur, c.runs - before_dur);
	/* Then the messages: publish steps the failure does not need. Only when an expectation
	 * failed: a failing step is named by its index, which removing steps would move. */
	size_t np = 0, mp = 0;
	for (size_t i = 0; i < s->nsteps; i++)
		np += s->steps[i].kind == SC_PUBLISH;
	if (np > 1 && fl[0].kind == EXPLORE_FAIL_EXPECT) {
		ext = mqtt_xcalloc(s->nsteps, sizeof *ext);
		pubs = mqtt_xcalloc(np, sizeof *pubs);
		pkeep = mqtt_xcalloc(np, sizeof *pkeep);
		c.stepbuf = mqtt_xcalloc(s->nsteps, sizeof *c.stepbuf);
		if (step_extents(text, len, s->nsteps, ext) < 0) {
			fprintf(out, "shrink: the steps are not one list item per line range (flow style or aliases): "
				     "publish steps are kept\n");
		} else {
			for (size_t i = 0, k = 0; i < s->nsteps; i++)
				if (s->steps[i].kind == SC_PUBLISH)
					pubs[k++] = i;
			c.pubs = pubs;
			c.npubs = np;
			c.faults = buf;
			c.nfaults = m;
			unsigned before_msg = c.runs, t2;
			mp = explore_ddmin(np, pubs_fail, &c, pkeep, &t2);
			drop_step = mqtt_xcalloc(s->nsteps, sizeof *drop_step);
			for (size_t i = 0; i < np; i++)
				drop_step[pubs[i]] = true;
			for (size_t i = 0; i < mp; i++)
				drop_step[pubs[pkeep[i]]] = false;
			fprintf(out, "shrink: %zu publish steps -> %zu in %u runs\n", np, mp, c.runs - before_msg);
		}
	}
	char def[1024];
	if (!out_path) {
		snprintf(def, sizeof def, "%s-seed%" PRIu64 "-shrunk.yaml", s->name, o.seed);
		out_path = def;
	}
	char header[4096], barg[1024];
	explore_broker_arg(o.broker, barg, sizeof barg);
	snprintf(header, sizeof header,
		 "# Shrunk by mqttsim shrink from %s, seed %" PRIu64 "%s%s: %zu faults -> %zu.\n"
		 "# It fails %s on its own: mqttsim run %s%s\n",
		 path, o.seed, o.swarm ? " (--swarm)" : "", barg, n, m, label, out_path, barg);
	if (write_shrunk(text, len, out_path, s, o.seed, buf, m, drop_step, ext, header, err) < 0)
		goto out;
	for (size_t i = 0; i < m; i++)
		fault_yaml(out, &buf[i]);
	/* The proof: the file, loaded and run alone, fails the same step or expectation. */
	alone = explore_load(out_path, err, "shrink");
	if (!alone) {
		fprintf(err, "mqttsim shrink: the file written does not load (a bug): %s\n", out_path);
		goto out;
	}
	run_opts ao = { .seed = o.seed, .has_seed = true, .broker = o.broker };
	run_result ar;
	run_scenario(alone, &ao, &ar);
	explore_fail afl[16];
	int anf = ar.pass ? 0 : explore_failures(alone, &ar, afl, 16);
	bool same = false;
	for (int i = 0; i < anf && !same; i++)
		same = explore_fail_same(&afl[i], &fl[0]);
	if (same) {
		fprintf(out, "shrink: wrote %s; it fails alone: mqttsim run %s%s\n", out_path, out_path, barg);
		rc = EXIT_PASS;
	} else {
		fprintf(out, "shrink: wrote %s, but alone it does not fail %s:\n%s", out_path, label,
			ar.report ? ar.report : "(it passed)\n");
		rc = EXIT_FAIL;
	}
	run_result_free(&ar);
out:
	run_result_free(&r);
	free(buf);
	free(keep);
	free(pubs);
	free(pkeep);
	free(ext);
	free(drop_step);
	free(c.stepbuf);
	scenario_free(alone);
	scenario_free(s);
	free(text);
	return rc;
}

/* ---- replay -------------------------------------------------------------------------------- */

static const char replay_usage[] =
	"usage: mqttsim replay TRACE [--scenario FILE] [--broker sim|exec:'CMD ARGS']\n"
	"\n"
	"Run the scenario of a trace written by mqttsim run --out again, with the same seed, and\n"
	"check that the new trace is identical (same hash). The trace names the scenario file,\n"
	"the mqttsim version and a hash of the scenario text; a different version or a changed\n"
	"scenario is refused. --scenario reads the scenario from FILE instead of the path recorded.\n"
	"A trace of target exec names its broker command, which is run again; --broker runs\n"
	"another (the same broker installed elsewhere, say) instead.\n"
	"\n"
	"exit: 0 identical, 1 the trace differs, 2 bad input, version or scenario mismatch\n";

int cmd_replay(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	(void)in;
	const char *path = NULL, *scen = NULL, *broker_opt = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(replay_usage, out);
			return EXIT_PASS;
		} else if (!strcmp(argv[i], "--broker")) {
			if (cli_sim_broker("replay", i + 1 < argc ? argv[i + 1] : NULL, err) < 0)
				return EXIT_USAGE;
			broker_opt = argv[++i];
		} else if (!strcmp(argv[i], "--scenario")) {
			if (i + 1 >= argc) {
				fprintf(err, "mqttsim replay: --scenario needs a file\n");
				return EXIT_USAGE;
			}
			scen = argv[++i];
		} else if (argv[i][0] == '-') {
			fprintf(err, "mqttsim replay: unknown option '%s'\n%s", argv[i], replay_usage);
			return EXIT_USAGE;
		} else if (!path) {
			path = argv[i];
		} else {
			fprintf(err, "mqttsim replay: one trace at a time\n");
			return EXIT_USAGE;
		}
	}
	if (!path) {
		fprintf(err, "mqttsim replay: which trace?\n%s", replay_usage);
		return EXIT_USAGE;
	}
	size_t len;
	char *text = explore_slurp(path, &len, err, "replay");
	if (!text)
		return EXIT_USAGE;
	int rc = EXIT_USAGE;
	scenario *s = NULL;
	char *body = NULL, *file = NULL, *broker = NULL;
	run_result r = { 0 };
	/* The header: "# mqttsim trace of NAME (FILE), seed N", then
	 * "# mqttsim VERSION scenario-hash HEX swarm 0|1"; the last line "# trace hash HEX". */
	const char *l1 = text, *e1 = strchr(l1, '\n');
	const char *l2 = e1 ? e1 + 1 : NULL, *e2 = l2 ? strchr(l2, '\n') : NULL;
	if (!strncmp(text, "# mqttsim tcp trace", 19)) {
		fprintf(err, "mqttsim replay: %s is the trace of a run over TCP, which real time and a real broker decide: "
			     "only simulated runs replay\n", path);
		goto out;
	}
	const char *pre = "# mqttsim trace of ";
	const char *open = e1 ? strstr(l1, " (") : NULL, *close = NULL;
	for (const char *q = open; q && q < e1; q = strstr(q + 1, "), seed "))
		if (q != open)
			close = q;
	uint64_t seed = 0, want_hash = 0, shash = 0;
	int swarm = 0;
	char version[64];
	if (strncmp(text, pre, strlen(pre)) || !open || open > e1 || !close || close > e1 ||
	    sscanf(close, "), seed %" SCNu64, &seed) != 1) {
		fprintf(err, "mqttsim replay: %s:1: not a trace written by mqttsim run --out (the first line should be "
			     "'# mqttsim trace of NAME (FILE), seed N')\n", path);
		goto out;
	}
	if (!e2 || sscanf(l2, "# mqttsim %63s scenario-hash %" SCNx64 " swarm %d", version, &shash, &swarm) != 3) {
		fprintf(err, "mqttsim replay: %s:2: the trace records no mqttsim version and scenario hash (it was written "
			     "by an older mqttsim); run the scenario with --seed %" PRIu64 " instead\n", path, seed);
		goto out;
	}
	/* "... swarm 0 broker exec:CMD": a run of target exec, and its broker command. */
	const char *bk = l2;
	while ((bk = strstr(bk, " broker ")) && bk < e2 && strncmp(bk + 8, "exec:", 5))
		bk++;
	if (bk && bk < e2)
		broker = mqtt_xstrndup(bk + 8, (size_t)(e2 - bk - 8));
	if (broker && !broker_opt && cli_sim_broker("replay", broker, err) < 0) {
		fprintf(err, "mqttsim replay: %s:2: the trace's broker (%s) cannot start here; give --broker exec:'CMD' "
			     "for where it is\n", path, broker);
		goto out;
	}
	const char *last = text + len;
	while (last > text && last[-1] == '\n')
		last--;
	const char *ll = last;
	while (ll > text && ll[-1] != '\n')
		ll--;
	if (sscanf(ll, "# trace hash %" SCNx64, &want_hash) != 1) {
		fprintf(err, "mqttsim replay: %s: the last line should be '# trace hash HEX': is the trace cut short?\n",
			path);
		goto out;
	}
	if (strcmp(version, MQTTSIM_VERSION)) {
		fprintf(err, "mqttsim replay: %s was recorded by mqttsim %s; this is mqttsim %s, which may simulate "
			     "differently: replay it with mqttsim %s (or run the scenario with --seed %" PRIu64 " to see what this "
			     "version does)\n", path, version, MQTTSIM_VERSION, version, seed);
		goto out;
	}
	file = mqtt_xstrndup(open + 2, (size_t)(close - open - 2));
	const char *sp = scen ? scen : file;
	s = explore_load(sp, err, "replay");
	if (!s)
		goto out;
	if (s->text_hash != shash) {
		fprintf(err, "mqttsim replay: %s has changed since %s was recorded (scenario hash %016" PRIx64 " then, "
			     "%016" PRIx64 " now): an exact replay needs the scenario as it was\n", sp, path, shash, s->text_hash);
		goto out;
	}
	const char *use = broker_opt ? broker_opt : broker;
	run_opts o = { .seed = seed, .has_seed = true, .swarm = swarm != 0, .keep_trace = true,
		       .broker = use && strcmp(use, "sim") ? use : NULL };
	if (run_scenario(s, &o, &r) < 0) {
		fprintf(err, "mqttsim replay: %s", r.report ? r.report : "could not run\n");
		goto out;
	}
	/* The recorded events are every line not starting with '#'; they must match line for
	 * line as well as by hash (a hand-edited trace is not a recording). */
	body = mqtt_xmalloc(len + 1);
	size_t bl = 0;
	for (const char *q = text; q < text + len;) {
		const char *e = memchr(q, '\n', (size_t)(text + len - q));
		size_t l = e ? (size_t)(e - q + 1) : (size_t)(text + len - q);
		if (*q != '#') {
			memcpy(body + bl, q, l);
			bl += l;
		}
		q += l;
	}
	char *d = explore_trace_diff(body, bl, r.trace, r.trace_len, "recorded", "now");
	if (r.trace_hash == want_hash && !d) {
		fprintf(out, "replay: identical: %s seed %" PRIu64 "%s%s%s, trace %016" PRIx64 ", %llu events; the run %s\n",
			sp, seed, swarm ? " (swarm)" : "", o.broker ? " on " : "", o.broker ? o.broker : "", r.trace_hash,
			(unsigned long long)r.events, r.pass ? "passes" : "fails, as recorded");
		rc = EXIT_PASS;
		goto out;
	}
	fprintf(out, "replay: DIFFERENT: trace %016" PRIx64 " recorded, %016" PRIx64 " now; %s\n", want_hash, r.trace_hash,
		d ? d : "the event lines are the same but the recorded hash is not theirs (was the trace edited?)");
	free(d);
	rc = EXIT_FAIL;
out:
	run_result_free(&r);
	scenario_free(s);
	free(body);
	free(file);
	free(broker);
	free(text);
	return rc;
}
