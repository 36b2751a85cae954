/*
 * explore_results.c - what `mqttsim explore` found, summarised for people and written as
 * JSON (schema mqttsim-explore-1), and `explore --merge` of shard results.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/explore.h"
#include "mqtt/alloc.h"
#include "harness/explore_cmd.h"
#include "harness/cli.h"
#include "harness/run.h"
#include "reports/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- results ------------------------------------------------------------------------------ */

void explore__results_add(results *R, seed_out *o)
{
	R->ran = mqtt_xgrow(R->ran, &R->capran, R->nran + 1, sizeof *R->ran, 1024);
	R->ran[R->nran++] = o->seed;
	if (o->code == 0) {
		R->passed++;
		explore__seed_out_free(o);
		return;
	}
	R->fails = mqtt_xgrow(R->fails, &R->capfails, R->nfails + 1, sizeof *R->fails, 16);
	R->fails[R->nfails++] = *o;
}

void explore__results_free(results *R)
{
	for (size_t i = 0; i < R->nfails; i++)
		explore__seed_out_free(&R->fails[i]);
	free(R->fails);
	free(R->ran);
}

int explore__by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int explore__by_seed(const void *a, const void *b)
{
	return explore__by_u64(&((const seed_out *)a)->seed, &((const seed_out *)b)->seed);
}

/* The seeds that ran, as sorted [first, last] intervals; returns the count, *iv malloc'd. */
size_t explore__intervals(uint64_t *seeds, size_t n, uint64_t (**iv)[2])
{
	if (n)
		qsort(seeds, n, sizeof *seeds, explore__by_u64);
	*iv = mqtt_xmalloc((n ? n : 1) * sizeof **iv);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && seeds[i] == (*iv)[k - 1][1] + 1)
			(*iv)[k - 1][1] = seeds[i];
		else {
			(*iv)[k][0] = (*iv)[k][1] = seeds[i];
			k++;
		}
	}
	return k;
}

void explore_broker_arg(const char *broker, char *buf, size_t cap)
{
	if (!cap)
		return;
	buf[0] = 0;
	if (!broker || !strcmp(broker, "sim"))
		return;
	/* In single quotes for the shell (exec:'mosquitto -c {config}'). */
	size_t k = (size_t)snprintf(buf, cap, " --broker '");
	for (const char *p = broker; *p && k + 5 < cap; p++)
		k += (size_t)snprintf(buf + k, cap - k, *p == '\'' ? "'\\''" : "%c", *p);
	if (k + 1 < cap)
		snprintf(buf + k, cap - k, "'");
}

static void replay_cmd(const summary *S, uint64_t seed, char *buf, size_t cap)
{
	char b[1024];
	explore_broker_arg(S->broker, b, sizeof b);
	snprintf(buf, cap, "mqttsim run %s --seed %" PRIu64 "%s%s", S->file, seed, S->swarm ? " --swarm" : "", b);
}

#define LIST_PER_GROUP 10

void explore__print_summary(const summary *S, FILE *out)
{
	if (S->elapsed_s >= 0)
		fprintf(out, "explore: %" PRIu64 " seeds run in %.2fs (%.0f seeds/s): %" PRIu64 " passed, %zu failed\n",
			S->nran, S->elapsed_s, S->elapsed_s > 0 ? (double)S->nran / S->elapsed_s : 0.0, S->passed,
			S->nfails);
	else
		fprintf(out, "explore: %" PRIu64 " seeds run: %" PRIu64 " passed, %zu failed\n", S->nran, S->passed,
			S->nfails);
	if (!S->nfails)
		return;
	fprintf(out, "failures, grouped by what failed:\n");
	bool *done = mqtt_xcalloc(S->nfails, 1);
	for (size_t i = 0; i < S->nfails; i++) {
		if (done[i])
			continue;
		size_t count = 0;
		for (size_t k = i; k < S->nfails; k++)
			if (!done[k] && !strcmp(S->fails[k].what, S->fails[i].what) && !strcmp(S->fails[k].at, S->fails[i].at))
				count++;
		fprintf(out, "  %zu seed%s: %s%s%s%s%s%s\n", count, count == 1 ? "" : "s", S->fails[i].what,
			*S->fails[i].at ? " at " : "", S->fails[i].at,
			S->fails[i].code == 1 && S->spec && *S->spec ? "  [" : "",
			S->fails[i].code == 1 && S->spec ? S->spec : "",
			S->fails[i].code == 1 && S->spec && *S->spec ? "]" : "");
		size_t shown = 0;
		for (size_t k = i; k < S->nfails; k++) {
			seed_out *f = &S->fails[k];
			if (done[k] || strcmp(f->what, S->fails[i].what) || strcmp(f->at, S->fails[i].at))
				continue;
			done[k] = true;
			if (shown++ >= LIST_PER_GROUP)
				continue;
			char cmd[2200];
			replay_cmd(S, f->seed, cmd, sizeof cmd);
			fprintf(out, "    seed %" PRIu64 ": %s\n      replay: %s\n", f->seed, f->msg, cmd);
		}
		if (shown > LIST_PER_GROUP)
			fprintf(out, "    ... and %zu more seeds (all in the JSON results)\n", shown - LIST_PER_GROUP);
	}
	free(done);
	for (size_t i = 0; i < S->nfails; i++)
		if (S->fails[i].code == 1) {
			char b[1024];
			explore_broker_arg(S->broker, b, sizeof b);
			fprintf(out, "shrink one: mqttsim shrink %s --seed %" PRIu64 "%s%s\n", S->file, S->fails[i].seed,
				S->swarm ? " --swarm" : "", b);
			break;
		}
}

static const char *status_name(int code)
{
	return code == 1 ? "fail" : code == 2 ? "error" : code == 3 ? "nondeterministic" : "pass";
}

int explore__write_json(const summary *S, const char *path, FILE *err)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(err, "mqttsim explore: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "{\n  \"schema\": \"mqttsim-explore-1\",\n  \"tool\": \"mqttsim\",\n  \"version\": \"%s\",\n",
		MQTTSIM_VERSION);
	fputs("  \"scenario\": ", f);
	rep_json_str(f, S->file);
	fputs(",\n  \"name\": ", f);
	rep_json_str(f, S->name);
	fputs(",\n  \"spec\": ", f);
	rep_json_str(f, S->spec ? S->spec : "");
	fprintf(f, ",\n  \"scenario_hash\": \"%016" PRIx64 "\",\n  \"swarm\": %s,\n  \"check_determinism\": %s,\n",
		S->scenario_hash, S->swarm ? "true" : "false", S->check_det ? "true" : "false");
	if (S->range.count)
		fprintf(f, "  \"range\": [%" PRIu64 ", %" PRIu64 "],\n", S->range.first, S->range.first + S->range.count - 1);
	else
		fprintf(f, "  \"range\": null,\n");
	if (S->shard_n)
		fprintf(f, "  \"shard\": [%" PRIu64 ", %" PRIu64 "],\n", S->shard_i, S->shard_n);
	else
		fprintf(f, "  \"shard\": null,\n");
	fputs("  \"ran\": [", f);
	for (size_t i = 0; i < S->niv; i++)
		fprintf(f, "%s[%" PRIu64 ", %" PRIu64 "]", i ? ", " : "", S->iv[i][0], S->iv[i][1]);
	fprintf(f, "],\n  \"seeds\": %" PRIu64 ",\n  \"passed\": %" PRIu64 ",\n  \"failed\": %zu,\n  \"failures\": [",
		S->nran, S->passed, S->nfails);
	for (size_t i = 0; i < S->nfails; i++) {
		const seed_out *o = &S->fails[i];
		char cmd[2200];
		replay_cmd(S, o->seed, cmd, sizeof cmd);
		fprintf(f, "%s\n    { \"seed\": %" PRIu64 ", \"status\": \"%s\", \"trace_hash\": \"%016" PRIx64 "\", \"what\": ",
			i ? "," : "", o->seed, status_name(o->code), o->hash);
		rep_json_str(f, o->what);
		fputs(", \"at\": ", f);
		rep_json_str(f, o->at);
		fputs(", \"message\": ", f);
		rep_json_str(f, o->msg);
		fputs(", \"replay\": ", f);
		rep_json_str(f, cmd);
		fputs(" }", f);
	}
	fputs(S->nfails ? "\n  ]\n}\n" : "]\n}\n", f);
	if (fclose(f) != 0) {
		fprintf(err, "mqttsim explore: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

/* ---- --merge -------------------------------------------------------------------------------- */

int explore__merge(int nfiles, char **files, const char *json_out, FILE *out, FILE *err)
{
	summary S = { 0 };
	S.elapsed_s = -1;
	results R = { 0 };
	char *file = NULL, *name = NULL, *spec = NULL;
	int rc = EXIT_USAGE;
	jv *docs = mqtt_xcalloc((size_t)nfiles, sizeof *docs);
	size_t niv = 0, capiv = 0;
	uint64_t (*iv)[2] = NULL;
	uint64_t shard_n = 0, shards_seen = 0;
	for (int i = 0; i < nfiles; i++) {
		size_t len;
		char *text = explore_slurp(files[i], &len, err, "explore --merge");
		if (!text)
			goto out;
		char msg[256];
		int pr = jv_parse(text, len, &docs[i], msg, sizeof msg);
		free(text);
		if (pr < 0) {
			fprintf(err, "mqttsim explore --merge: %s: not JSON: %s\n", files[i], msg);
			goto out;
		}
		const jv *d = &docs[i], *schema = jv_get(d, "schema"), *sc = jv_get(d, "scenario"),
			 *hash = jv_get(d, "scenario_hash"), *swarm = jv_get(d, "swarm"), *ran = jv_get(d, "ran"),
			 *fl = jv_get(d, "failures"), *range = jv_get(d, "range"), *shard = jv_get(d, "shard"),
			 *cd = jv_get(d, "check_determinism"), *passed = jv_get(d, "passed");
		uint64_t ph, pp;
		if (!schema || schema->type != JV_STR || strcmp(schema->s, "mqttsim-explore-1") || !sc ||
		    sc->type != JV_STR || !hash || hash->type != JV_STR || !swarm || swarm->type != JV_BOOL || !ran ||
		    ran->type != JV_ARR || !fl || fl->type != JV_ARR || !jv_u64(passed, &pp) ||
		    sscanf(hash->s, "%" SCNx64, &ph) != 1) {
			fprintf(err, "mqttsim explore --merge: %s: not the results of mqttsim explore --json (schema mqttsim-explore-1)\n",
				files[i]);
			goto out;
		}
		if (i == 0) {
			file = explore__xstrdup(sc->s);
			const jv *nm = jv_get(d, "name");
			name = explore__xstrdup(nm && nm->type == JV_STR ? nm->s : "");
			const jv *sp = jv_get(d, "spec");
			spec = explore__xstrdup(sp && sp->type == JV_STR ? sp->s : "");
			S.scenario_hash = ph;
			S.swarm = swarm->b;
			S.check_det = cd && cd->type == JV_BOOL && cd->b;
		} else if (ph != S.scenario_hash || S.swarm != swarm->b) {
			fprintf(err, "mqttsim explore --merge: %s ran %s (scenario hash %s%s), but %s ran %s (scenario hash %016" PRIx64 "%s): "
				     "merge results of the same scenario text and options only\n",
				files[i], sc->s, hash->s, swarm->b ? ", --swarm" : "", files[0], file, S.scenario_hash,
				S.swarm ? ", --swarm" : "");
			goto out;
		}
		uint64_t a, b;
		if (range && range->type == JV_ARR && range->n == 2 && jv_u64(&range->items[0], &a) &&
		    jv_u64(&range->items[1], &b)) {
			explore_range r = { a, b - a + 1 };
			if (i > 0 && S.range.count && (r.first != S.range.first || r.count != S.range.count))
				S.range.count = 0; /* different ranges: no single range to check against */
			else if (i == 0)
				S.range = r;
		}
		if (shard && shard->type == JV_ARR && shard->n == 2 && jv_u64(&shard->items[1], &b)) {
			shard_n = shard_n && shard_n != b ? UINT64_MAX : b;
			shards_seen++;
		}
		for (size_t k = 0; k < ran->n; k++) {
			const jv *p = &ran->items[k];
			if (p->type != JV_ARR || p->n != 2 || !jv_u64(&p->items[0], &a) || !jv_u64(&p->items[1], &b) || b < a) {
				fprintf(err, "mqttsim explore --merge: %s: 'ran' item %zu is not [first, last]\n", files[i], k + 1);
				goto out;
			}
			iv = mqtt_xgrow(iv, &capiv, niv + 1, sizeof *iv, 64);
			iv[niv][0] = a;
			iv[niv][1] = b;
			niv++;
			S.nran += b - a + 1;
		}
		S.passed += pp;
		for (size_t k = 0; k < fl->n; k++) {
			const jv *f = &fl->items[k], *what = jv_get(f, "what"), *at = jv_get(f, "at"), *m = jv_get(f, "message"),
				 *st = jv_get(f, "status"), *th = jv_get(f, "trace_hash");
			seed_out o = { 0 };
			if (!jv_u64(jv_get(f, "seed"), &o.seed) || !what || what->type != JV_STR) {
				fprintf(err, "mqttsim explore --merge: %s: failure %zu has no seed or 'what'\n", files[i], k + 1);
				goto out;
			}
			o.code = st && st->type == JV_STR ? (!strcmp(st->s, "error") ? 2 : !strcmp(st->s, "nondeterministic") ? 3 : 1) : 1;
			if (th && th->type == JV_STR)
				sscanf(th->s, "%" SCNx64, &o.hash);
			o.what = explore__xstrdup(what->s);
			o.at = explore__xstrdup(at && at->type == JV_STR ? at->s : "");
			o.msg = explore__xstrdup(m && m->type == JV_STR ? m->s : "");
			R.fails = mqtt_xgrow(R.fails, &R.capfails, R.nfails + 1, sizeof *R.fails, 16);
			R.fails[R.nfails++] = o;
		}
	}
	/* Shards must not overlap; gaps are allowed (a time budget stops a shard early) but said. */
	if (niv)
		qsort(iv, niv, sizeof *iv, explore__by_u64);
	for (size_t i = 1; i < niv; i++)
		if (iv[i][0] <= iv[i - 1][1]) {
			fprintf(err, "mqttsim explore --merge: seed %" PRIu64 " ran more than once (in %" PRIu64 "..%" PRIu64 " and %" PRIu64 "..%" PRIu64 "): "
				     "are two files from the same shard?\n",
				iv[i][0], iv[i - 1][0], iv[i - 1][1], iv[i][0], iv[i][1]);
			goto out;
		}
	/* Join adjacent intervals. */
	size_t k = 0;
	for (size_t i = 0; i < niv; i++) {
		if (k && iv[i][0] == iv[k - 1][1] + 1)
			iv[k - 1][1] = iv[i][1];
		else {
			iv[k][0] = iv[i][0];
			iv[k][1] = iv[i][1];
			k++;
		}
	}
	niv = k;
	if (R.nfails)
		qsort(R.fails, R.nfails, sizeof *R.fails, explore__by_seed);
	S.file = file;
	S.name = name;
	S.spec = spec;
	S.iv = iv;
	S.niv = niv;
	S.fails = R.fails;
	S.nfails = R.nfails;
	fprintf(out, "explore --merge: %d result files of %s%s\n", nfiles, file, S.swarm ? " (--swarm)" : "");
	if (S.range.count) {
		uint64_t last = S.range.first + S.range.count - 1;
		bool exact = niv == 1 && iv[0][0] == S.range.first && iv[0][1] == last;
		if (exact)
			fprintf(out, "coverage: every seed of %" PRIu64 "..%" PRIu64 " ran exactly once\n", S.range.first, last);
		else {
			fprintf(out, "coverage: %" PRIu64 " of the %" PRIu64 " seeds of %" PRIu64 "..%" PRIu64 " ran, each once; not run:",
				S.nran, S.range.count, S.range.first, last);
			uint64_t next = S.range.first;
			int shown = 0;
			for (size_t i = 0; i <= niv && shown < 10; i++) {
				uint64_t upto = i < niv ? iv[i][0] : last + 1;
				if (upto > next) {
					fprintf(out, " %" PRIu64 "..%" PRIu64, next, upto - 1);
					shown++;
				}
				if (i < niv)
					next = iv[i][1] + 1;
			}
			fprintf(out, "%s\n", shown >= 10 ? " ..." : "");
		}
	}
	if (shard_n && shard_n != UINT64_MAX && shards_seen != shard_n)
		fprintf(out, "note: %" PRIu64 " of %" PRIu64 " shards merged\n", shards_seen, shard_n);
	explore__print_summary(&S, out);
	rc = S.nfails ? EXIT_FAIL : EXIT_PASS;
	if (json_out && explore__write_json(&S, json_out, err) < 0)
		rc = EXIT_USAGE;
out:
	for (int i = 0; i < nfiles; i++)
		jv_free(&docs[i]);
	free(docs);
	free(iv);
	free(file);
	free(name);
	free(spec);
	explore__results_free(&R);
	return rc;
}
