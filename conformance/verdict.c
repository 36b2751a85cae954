/*
 * verdict.c - the verdict rules (verdict.h) and the expected-failures list.
 */
#define _POSIX_C_SOURCE 200809L
#include "conformance/verdict.h"
#include "mqtt/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool xfail_covers(const xfail *x, const verdict_seen *f)
{
	if (!x->npins)
		return true; /* the old, unpinned form */
	for (size_t i = 0; i < x->npins; i++) {
		const char *p = x->pins[i];
		if (f->name && !strcmp(p, f->name))
			return true;
		if (!f->check)
			continue;
		if (!strcmp(p, f->check))
			return true;
		/* "SCENARIO" alone: any check of that scenario */
		size_t n = strlen(p);
		if (!strchr(p, ':') && !strncmp(f->check, p, n) && (f->check[n] == ':' || !f->check[n]))
			return true;
	}
	return false;
}

verdict verdict_judge(const cat_stmt *st, const xfail *entry, const verdict_seen *seen, size_t n)
{
	verdict v = { .kind = VERDICT_PASS };
	size_t covered = 0, failed = 0, unreached = 0, unexpected = 0;
	for (size_t k = 0; k < n; k++) {
		int o = seen[k].obs;
		if (o == VERDICT_OBS_UNREACHED) {
			if (!unreached++)
				v.blocker = k;
		} else if (o == VERDICT_OBS_PASS || o == VERDICT_OBS_FAIL) {
			covered++;
			if (o == VERDICT_OBS_FAIL) {
				failed++;
				if (entry && !xfail_covers(entry, &seen[k]) && !unexpected++)
					v.first_unexpected = k;
			}
		}
	}
	if (!covered && unreached && entry) {
		v.kind = VERDICT_XFAIL; /* listed, and still not shown to pass: expected */
		return v;
	}
	if (!covered) {
		v.unreached = unreached > 0;
		v.kind = st->testable ? VERDICT_UNTESTED : VERDICT_NA;
		return v;
	}
	if (!failed)
		v.kind = entry ? VERDICT_XPASS : VERDICT_PASS;
	else if (entry && !unexpected)
		v.kind = VERDICT_XFAIL;
	else if (st->optional)
		v.kind = VERDICT_OPTIONAL;
	else
		v.kind = VERDICT_FAIL;
	v.unexpected = entry && unexpected && v.kind == VERDICT_FAIL;
	return v;
}

verdict verdict_decide(const cat_stmt *st, const char *listed, const int *obs, size_t n)
{
	verdict_seen *seen = mqtt_xcalloc(n ? n : 1, sizeof *seen);
	for (size_t k = 0; k < n; k++)
		seen[k].obs = obs[k];
	xfail any = { .reason = (char *)listed };
	verdict v = verdict_judge(st, listed ? &any : NULL, seen, n);
	free(seen);
	return v;
}

/* ---- expected failures ------------------------------------------------------------------ */

/* Lines of at most this many bytes (without the newline). */
#define XFAIL_LINE_MAX 4094

int xfail_parse(const char *name, const char *text, xfail_list *out, FILE *err)
{
	size_t cap = 0;
	const char *p = text;
	for (int no = 1; *p; no++) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > XFAIL_LINE_MAX) {
			fprintf(err, "%s:%d: line longer than %d bytes\n", name, no, XFAIL_LINE_MAX);
			return -1;
		}
		char line[XFAIL_LINE_MAX + 1];
		memcpy(line, p, len);
		line[len] = 0;
		p = eol ? eol + 1 : p + len;
		char *q = line + strspn(line, " \t");
		if (*q == '#' || !*q || *q == '\r')
			continue;
		/* An optional version first: "5.0 MQTT-3.1.2-4 reason". */
		char *ver = NULL;
		if (*q >= '0' && *q <= '9') {
			size_t vl = strcspn(q, " \t\r");
			if (!((vl == 5 && !strncmp(q, "3.1.1", 5)) || (vl == 3 && !strncmp(q, "5.0", 3)))) {
				fprintf(err, "%s:%d: '%.*s' is not an MQTT version with a catalog: give 3.1.1 or 5.0 "
					     "before the id, or the id alone\n", name, no, (int)vl, q);
				return -1;
			}
			ver = mqtt_xstrndup(q, vl);
			q += vl + strspn(q + vl, " \t");
		}
		size_t idl = strcspn(q, " \t\r");
		char *reason = q + idl + strspn(q + idl, " \t");
		/* The observations it expects to fail: "@late", "@3.1-keepalive-enforced:19", ... */
		char **pins = NULL;
		size_t npins = 0;
		while (*reason == '@') {
			size_t pl = strcspn(reason + 1, " \t\r");
			if (!pl) {
				fprintf(err, "%s:%d: '@' names no observation: write @SCENARIO:LINE, @SCENARIO or @NAME (late, never, malformed)\n",
					name, no);
				goto bad_line;
			}
			pins = mqtt_xrealloc(pins, (npins + 1) * sizeof *pins);
			pins[npins++] = mqtt_xstrndup(reason + 1, pl);
			reason += 1 + pl;
			reason += strspn(reason, " \t");
		}
		reason[strcspn(reason, "\r")] = 0;
		if (!*reason) {
			fprintf(err, "%s:%d: an expected failure needs a reason after the id%s: say what the broker does\n",
				name, no, npins ? " and its observations" : "");
			goto bad_line;
		}
		for (size_t i = 0; i < out->n; i++)
			if (strlen(out->v[i].id) == idl && !strncmp(out->v[i].id, q, idl) &&
			    (!ver || !out->v[i].version || !strcmp(ver, out->v[i].version))) {
				fprintf(err, "%s:%d: %.*s is listed already at line %d: give one entry all the observations it expects (@A @B)\n",
					name, no, (int)idl, q, out->v[i].line);
				goto bad_line;
			}
		out->v = mqtt_xgrow(out->v, &cap, out->n + 1, sizeof *out->v, 16);
		xfail *x = &out->v[out->n++];
		x->id = mqtt_xstrndup(q, idl);
		x->reason = mqtt_xstrdup(reason);
		x->pins = pins;
		x->npins = npins;
		x->line = no;
		x->version = ver;
		continue;
	bad_line:
		for (size_t i = 0; i < npins; i++)
			free(pins[i]);
		free(pins);
		free(ver);
		return -1;
	}
	return 0;
}

const xfail *xfail_find(const xfail_list *x, const cat_stmt *st)
{
	for (size_t i = 0; i < x->n; i++)
		if (!strcmp(x->v[i].id, st->id) || (st->alias && !strcmp(x->v[i].id, st->alias)))
			return &x->v[i];
	return NULL;
}

const char *xfail_reason(const xfail_list *x, const cat_stmt *st)
{
	const xfail *e = xfail_find(x, st);
	return e ? e->reason : NULL;
}

void xfail_free(xfail_list *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].id);
		free(x->v[i].reason);
		for (size_t k = 0; k < x->v[i].npins; k++)
			free(x->v[i].pins[k]);
		free(x->v[i].pins);
		free(x->v[i].version);
	}
	free(x->v);
	x->v = NULL;
	x->n = 0;
}
