/*
 * scenario_load.c - YAML text to the scenario model (scenario.h), validated.
 *
 * libyaml's document API gives a graph of nodes that carry their positions; a small schema
 * walker turns it into the model, one function per section (the sections live in
 * scenario_faults.c, scenario_steps.c and scenario_nodes.c, the walker in scenario_walk.c,
 * the units in units.c; scenario_load_internal.h says what they share). It never stops at
 * the first problem: each section reports what is wrong where (FILE:LINE:COLUMN, 1-based,
 * at the offending key or value) and carries on, so a user fixes a file in one round.
 * Sections are read in dependency order (clients first, so steps, faults and links can name
 * them), not in file order, so the errors are sorted into file order at the end.
 *
 * Hostile input. libyaml's parser and composer keep explicit stacks, and this walker only
 * descends as deep as the schema, so nesting cannot exhaust the C stack; but libyaml's
 * scanner takes time quadratic in the flow nesting depth ([[[[...) and memory in the node
 * count, so a first pass over the events bounds both before the document is built.
 * Anchors and aliases are allowed (a link profile used twice is handy), but an alias makes
 * the graph a DAG, possibly a cyclic one (&a [*a]): the schema walk still ends, and a
 * budget on node visits stops the "billion laughs" kind of expansion. Each alias the walk
 * reads copies its anchor's strings again, so the first pass (conformance/yaml_walk.c) also
 * bounds the text with every alias expanded (64 MiB) and names the alias that crosses it:
 * a 1 MiB payload used 3,000 times would otherwise take 3 GB. Every list has a
 * limit that is reported when hit. No assert() looks at user input; the few asserts check
 * the loader's own tables.
 *
 * This file: the file and its document, the syntax errors, the top-level keys in their
 * order, clients, the entry points and scenario_free().
 */
#include "harness/cli.h"
#include "harness/scenario_load_internal.h"

#include "broker/auth.h"
#include "conformance/yaml_walk.h"
#include "mqtt/mqtt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_FILE_BYTES (16u << 20) /* a scenario is text someone wrote, not a data dump */
#define MAX_NODES 500000L           /* nodes in the file, checked before composing them */
#define MAX_EXPANDED_BYTES (64u << 20) /* text, every alias expanded: 4 times the largest file */
#define MAX_DEPTH 64                /* a scenario is six levels deep; libyaml is quadratic in it */

/* ---- clients --------------------------------------------------------------------------- */

static const char *const client_keys[] = { "id", "client_id", "auto_ack", "auto_ping", "version", NULL };

static void load_client(ld *L, const yaml_node_t *v, sc_client *c)
{
	c->auto_ack = c->auto_ping = true;
	c->version = L->s->version;
	c->pos = scn__pos_of(v);
	fields f;
	if (!scn__fields_read(L, v, "client", client_keys, &f))
		return;
	yaml_node_t *id = scn__fget(&f, "id");
	if (scn__frequire(L, &f, "id") && scn__n_str(L, id, "id", &c->id)) {
		if (!scn__word_ok(c->id))
			scn__err(L, id, "client id %s may use only letters, digits, '-', '_' and '.' (it names a host)",
			         scn__quoted(c->id).s);
		else if (!strcmp(c->id, "broker"))
			scn__err(L, id, "'broker' names the broker host; give the client another id");
		else
			L->ids[L->nids++] = (id_ref){ c->id, (int)(c - L->s->clients), scn__pos_of(id) };
	}
	scn__n_str(L, scn__fget(&f, "client_id"), "client_id", &c->client_id);
	scn__n_bool(L, scn__fget(&f, "auto_ack"), "auto_ack", &c->auto_ack);
	scn__n_bool(L, scn__fget(&f, "auto_ping"), "auto_ping", &c->auto_ping);
	scn__n_version(L, scn__fget(&f, "version"), &c->version);
	if (!c->client_id && c->id)
		c->client_id = scn__xstrdup(L, c->id);
}

static int cmp_id(const void *a, const void *b)
{
	const id_ref *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static void load_clients(ld *L, const yaml_node_t *v)
{
	scenario *s = L->s;
	long n = v ? scn__list_count(L, v, "clients", MAX_CLIENTS) : 0;
	if (n <= 0)
		return;
	s->clients = scn__xcalloc(L, (size_t)n, sizeof *s->clients);
	L->ids = scn__xcalloc(L, (size_t)n, sizeof *L->ids);
	if (!s->clients || !L->ids)
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = scn__list_item(L, v, i);
		if (!it)
			return;
		load_client(L, it, &s->clients[s->nclients++]);
	}
	/* Sorted by (id, position): duplicates sit side by side, the first one first. */
	if (L->nids)
		qsort(L->ids, L->nids, sizeof *L->ids, cmp_id);
	for (size_t i = 1, first = 0; i < L->nids; i++) {
		if (strcmp(L->ids[i].id, L->ids[first].id)) {
			first = i;
			continue;
		}
		scn__err_at(L, L->ids[i].pos, "duplicate client id %s (first at %d:%d)",
		            scn__quoted(L->ids[i].id).s, L->ids[first].pos.line, L->ids[first].pos.col);
	}
}

/* ---- top-level values ------------------------------------------------------------------ */

/* MQTT-<section>-<n>, as the specifications number their normative statements. */
static bool stmt_id_ok(const char *s)
{
	/* The two ids the 3.1.1 standard prints irregularly are taken as printed. */
	if (!strcmp(s, "MQTT-3-8.3-4") || !strcmp(s, "MQTT-3.1.2.7"))
		return true;
	if (strncmp(s, "MQTT-", 5))
		return false;
	s += 5;
	if (!scn__is_digit(*s))
		return false;
	while (scn__is_digit(*s))
		s++;
	while (*s == '.') {
		if (!scn__is_digit(*++s))
			return false;
		while (scn__is_digit(*s))
			s++;
	}
	if (*s++ != '-' || !scn__is_digit(*s))
		return false;
	while (scn__is_digit(*s))
		s++;
	return !*s;
}

/* A list of statement ids (or one id alone) into *ids. A step's or an expectation's list
 * (sub) may only name statements of the scenario's own list. */
void scn__load_ids(ld *L, const yaml_node_t *v, char ***ids, size_t *nids, bool sub)
{
	long n = scn__word_count(L, v, "spec", MAX_ITEMS);
	if (n <= 0)
		return;
	if (!(*ids = scn__xcalloc(L, (size_t)n, sizeof **ids)))
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = scn__word_item(L, v, i);
		char *id = NULL;
		if (!it || !scn__n_str(L, it, "spec", &id))
			continue;
		if (!stmt_id_ok(id)) {
			scn__err(L, it, "%s is not a statement id; they look like MQTT-3.3.1-8", scn__quoted(id).s);
			free(id);
			continue;
		}
		bool listed = !sub;
		for (size_t k = 0; k < L->s->nspec && !listed; k++)
			listed = !strcmp(L->s->spec[k], id);
		if (!listed)
			scn__err(L, it, "%s is not in the scenario's spec list; add it there (a step's spec names "
				        "which of the scenario's statements the step checks)", scn__quoted(id).s);
		(*ids)[(*nids)++] = id;
	}
}

static void load_spec(ld *L, const yaml_node_t *v)
{
	scn__load_ids(L, v, &L->s->spec, &L->s->nspec, false);
}

/* Returns false when something was wrong, so later checks do not build on a guess. */
static bool load_targets(ld *L, const yaml_node_t *v)
{
	static const char *const names[] = { "sim", "tcp", "ws", NULL };
	long n = scn__word_count(L, v, "targets", MAX_ITEMS);
	if (n < 0)
		return false;
	if (n == 0) {
		scn__err(L, v, "'targets' is empty; say where the scenario can run: [sim, tcp] (or [ws]: WebSocket only)");
		return false;
	}
	unsigned t = 0;
	bool ok = true;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = scn__word_item(L, v, i);
		int c = it ? scn__n_choice(L, it, "targets", names) : -1;
		if (c < 0)
			ok = false;
		else
			t |= c == 0 ? SC_TARGET_SIM : c == 1 ? SC_TARGET_TCP : SC_TARGET_WS;
	}
	if (ok)
		L->s->targets = t;
	return ok;
}

static const char *const broker_keys[] = {
	"persistence", "max_queued", "max_inflight", "queue_qos0", "drop_oldest", "sys_interval", "acl",
	"receive_maximum", "topic_alias_maximum", "maximum_packet_size", "subscription_identifiers",
	"shared_subscriptions", "exec_config", NULL,
};

#define EXEC_CONFIG_MAX 64       /* lines */
#define EXEC_CONFIG_LINE_MAX 1024 /* bytes */

/* exec_config: a list of configuration lines for the exec broker, one string each. */
static void load_exec_config(ld *L, const yaml_node_t *v, sc_broker *b)
{
	long n = scn__list_count(L, v, "exec_config", EXEC_CONFIG_MAX);
	if (n <= 0) {
		if (n == 0 && !scn__is_null(v))
			scn__err(L, v, "'exec_config' is empty; give the broker's configuration lines, e.g. "
				       "[\"persistence true\"], or leave it out");
		return;
	}
	b->exec_config = scn__xcalloc(L, (size_t)n, sizeof *b->exec_config);
	if (!b->exec_config)
		return;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it = scn__list_item(L, v, i);
		char *line = NULL;
		if (!it || !scn__n_str(L, it, "exec_config", &line))
			continue;
		b->exec_config[b->nexec_config++] = line;
		size_t len = strlen(line);
		bool ctl = false;
		for (size_t k = 0; k < len; k++)
			ctl |= (unsigned char)line[k] < 0x20 && line[k] != '\t';
		if (ctl)
			scn__err(L, it, "an 'exec_config' item is one line of the broker's configuration, without "
				        "line breaks or control characters; got %s", scn__quoted(line).s);
		else if (len > EXEC_CONFIG_LINE_MAX)
			scn__err(L, it, "an 'exec_config' line is at most %d bytes, got %zu", EXEC_CONFIG_LINE_MAX, len);
	}
}

static void load_broker(ld *L, const yaml_node_t *k, const yaml_node_t *v, bool tcp_only)
{
	sc_broker *b = &L->s->broker;
	b->pos = scn__pos_of(v);
	if (scn__is_null(v))
		return;
	fields f;
	if (!scn__fields_read(L, v, "broker", broker_keys, &f))
		return;
	int64_t x;
	scn__n_bool(L, scn__fget(&f, "persistence"), "persistence", &b->persistence);
	if (scn__n_int(L, scn__fget(&f, "max_queued"), "max_queued", 1, UINT32_MAX, &x))
		b->max_queued = (uint32_t)x;
	if (scn__n_int(L, scn__fget(&f, "max_inflight"), "max_inflight", 1, UINT16_MAX, &x))
		b->max_inflight = (uint16_t)x;
	scn__n_bool(L, scn__fget(&f, "queue_qos0"), "queue_qos0", &b->queue_qos0);
	scn__n_bool(L, scn__fget(&f, "drop_oldest"), "drop_oldest", &b->drop_oldest);
	/* What the simulated broker announces to 5.0 clients (and enforces). */
	if (scn__n_int(L, scn__fget(&f, "receive_maximum"), "receive_maximum", 1, UINT16_MAX, &x))
		b->receive_max = (uint16_t)x;
	if ((b->has_topic_alias_max = scn__n_int(L, scn__fget(&f, "topic_alias_maximum"), "topic_alias_maximum",
						 0, UINT16_MAX, &x)))
		b->topic_alias_max = (uint16_t)x;
	yaml_node_t *mps = scn__fget(&f, "maximum_packet_size");
	if (scn__n_amount(L, mps, "maximum_packet_size", SIZE, AMT_POSITIVE, &x)) {
		if (x > (int64_t)MQTT_PACKET_MAX)
			scn__err(L, mps, "'maximum_packet_size' is at most %u bytes, got %s", (unsigned)MQTT_PACKET_MAX,
			         scn__quoted(scn__sval(mps)).s);
		else
			b->max_packet_size = (uint32_t)x;
	}
	bool on;
	if (scn__n_bool(L, scn__fget(&f, "subscription_identifiers"), "subscription_identifiers", &on))
		b->no_sub_ids = !on;
	if (scn__n_bool(L, scn__fget(&f, "shared_subscriptions"), "shared_subscriptions", &on))
		b->no_shared_subs = !on;
	yaml_node_t *ec = scn__fget(&f, "exec_config");
	if (ec)
		load_exec_config(L, ec, b);
	yaml_node_t *si = scn__fget(&f, "sys_interval");
	if (scn__n_amount(L, si, "sys_interval", DURATION, AMT_POSITIVE | AMT_SECONDS, &x)) {
		if (x / 1000000 > UINT32_MAX)
			scn__err(L, si, "'sys_interval' is too long, got %s", scn__quoted(scn__sval(si)).s);
		else {
			b->sys_interval_s = (uint32_t)(x / 1000000);
			b->has_sys_interval = true;
		}
	}
	/* An ACL file's text, checked here so a bad rule stops the run before it starts. */
	yaml_node_t *acl = scn__fget(&f, "acl");
	if (acl && scn__n_str(L, acl, "acl", &b->acl)) {
		char why[512];
		broker_file_auth *a = broker_auth_parse(NULL, NULL, 0, "acl", b->acl, strlen(b->acl), why, sizeof why);
		if (!a)
			scn__err(L, acl, "the acl does not load: %s", why);
		broker_auth_free(a);
	}
	/* exec_config is for target exec, which runs a tcp scenario too. */
	if (tcp_only && v->data.mapping.pairs.top - v->data.mapping.pairs.start > (ec ? 1 : 0))
		scn__err(L, k, "broker options apply only to the simulated broker, but targets has no 'sim'");
}

/* ---- the scenario ---------------------------------------------------------------------- */

static const char *const root_keys[] = {
	"name", "description", "spec", "seed", "duration", "targets", "broker", "network", "faults",
	"random_faults", "clients", "nodes", "steps", "expect", "version", NULL,
};

static void load_root(ld *L, const yaml_node_t *root)
{
	scenario *s = L->s;
	s->seed = 1;
	s->targets = SC_TARGET_SIM | SC_TARGET_TCP;
	if (root->type != YAML_MAPPING_NODE) {
		scn__err(L, root, "a scenario is a mapping of keys (name:, clients:, steps: ...), got %s",
		         scn__describe(root).s);
		return;
	}
	fields f;
	scn__fields_read(L, root, "scenario", root_keys, &f);
	/* The protocol version first: clients take it unless they say their own. */
	s->version = MQTT_V311;
	scn__n_version(L, scn__fget(&f, "version"), &s->version);
	/* Clients first: steps, faults, links and expectations name them. */
	if (scn__fget(&f, "clients"))
		load_clients(L, scn__fget(&f, "clients"));
	/* Then nodes: links, faults and expectations name them too. */
	if (scn__fget(&f, "nodes"))
		scn__load_nodes(L, scn__fget(&f, "nodes"));
	yaml_node_t *v;
	if (scn__frequire(L, &f, "name") && scn__n_str(L, (v = scn__fget(&f, "name")), "name", &s->name) &&
	    !scn__word_ok(s->name))
		scn__err(L, v, "'name' may use only letters, digits, '-', '_' and '.' (it names the trace "
			       "file), got %s", scn__quoted(s->name).s);
	scn__n_str(L, scn__fget(&f, "description"), "description", &s->description);
	if ((v = scn__fget(&f, "spec")))
		load_spec(L, v);
	if ((v = scn__fget(&f, "seed"))) {
		const char *t = scn__scalar(L, v, "seed", "an integer");
		if (t && !(s->has_seed = scn__parse_u64(t, &s->seed)))
			scn__err(L, v, "'seed' must be a whole number from 0 to %llu, got %s",
			         (unsigned long long)UINT64_MAX, scn__quoted(t).s);
	}
	if (scn__n_amount(L, (v = scn__fget(&f, "duration")), "duration", DURATION, AMT_POSITIVE, &s->duration_us))
		L->duration_text = scn__sval(v);
	bool targets_ok = true;
	if ((v = scn__fget(&f, "targets")))
		targets_ok = load_targets(L, v);
	if (s->nnodes && !v)
		s->targets = SC_TARGET_SIM; /* nodes exist only in the simulator */
	else if (s->nnodes && targets_ok && (s->targets & SC_TARGET_TCP))
		scn__err(L, v, "this scenario has nodes (simulated NodeMCU devices), which run only in simulation: "
			       "write targets: [sim]");
	if ((v = scn__fget(&f, "broker")))
		load_broker(L, scn__fkey(&f, "broker"), v, targets_ok && !(s->targets & SC_TARGET_SIM));
	if ((v = scn__fget(&f, "network")))
		scn__load_network(L, v);
	if ((v = scn__fget(&f, "faults")))
		scn__load_faults(L, v);
	if ((v = scn__fget(&f, "random_faults")))
		scn__load_random_faults(L, v);
	if ((v = scn__fget(&f, "steps")))
		scn__load_steps(L, v);
	if ((v = scn__fget(&f, "expect")))
		scn__load_expects(L, v);
}

/* ---- YAML syntax errors ---------------------------------------------------------------- */

static void syntax_error(ld *L, const yaml_parser_t *p)
{
	if (p->error == YAML_MEMORY_ERROR) {
		scn__oom(L);
		return;
	}
	yw_pos at;
	char msg[400];
	yw_syntax_error(p, L->text, L->len, true, &at, msg, sizeof msg);
	scn__err_at(L, (sc_pos){ at.line, at.col }, "%s", msg);
}

/* ---- entry points ---------------------------------------------------------------------- */

static void sort_errors(ld *L)
{
	sc_errors *e = L->errs;
	for (int i = 1; i < e->n; i++) {
		sc_pos p = L->epos[i];
		char *m = e->msg[i];
		int j = i;
		for (; j > 0 && (L->epos[j - 1].line > p.line ||
				 (L->epos[j - 1].line == p.line && L->epos[j - 1].col > p.col)); j--) {
			L->epos[j] = L->epos[j - 1];
			e->msg[j] = e->msg[j - 1];
		}
		L->epos[j] = p;
		e->msg[j] = m;
	}
}

/* The first pass: events only, stopping at the first that is too deep, too many or, with
 * aliases expanded, too much text. A syntax error is left for the second pass to report; it
 * meets it at the same place. */
static bool shape_ok(ld *L)
{
	static const yw_limits lim = { MAX_DEPTH, MAX_NODES, MAX_EXPANDED_BYTES };
	yw_pos at;
	char msg[400];
	yw_status st = yw_shape_check(L->text, L->len, &lim, "scenario", "a scenario needs only a few",
				      &at, msg, sizeof msg);
	if (st == YW_NO_MEMORY)
		scn__oom(L);
	else if (st != YW_OK)
		scn__err_at(L, (sc_pos){ at.line, at.col }, "%s", msg);
	return st == YW_OK;
}

static scenario *parse(ld *L)
{
	if (!L->text)
		L->text = "";
	if (!shape_ok(L))
		return NULL;
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		scn__oom(L);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)L->text, L->len);
	if (!yaml_parser_load(&p, &L->doc)) {
		syntax_error(L, &p);
		yaml_parser_delete(&p);
		return NULL;
	}
	scenario *s = NULL;
	yaml_node_t *root = yaml_document_get_root_node(&L->doc);
	if (!root) {
		scn__err_at(L, (sc_pos){ 1, 1 }, "the file is empty; a scenario needs at least a 'name'");
	} else {
		/* One document per file: a second one would otherwise be ignored in silence. */
		yaml_document_t more;
		if (!yaml_parser_load(&p, &more)) {
			syntax_error(L, &p);
		} else {
			yaml_node_t *r2 = yaml_document_get_root_node(&more);
			if (r2)
				scn__err(L, r2, "a scenario file holds one YAML document; this is a second one");
			yaml_document_delete(&more);
		}
		if ((s = scn__xcalloc(L, 1, sizeof *s))) {
			L->s = s;
			s->file = scn__xstrdup(L, L->file);
			load_root(L, root);
		}
	}
	yaml_document_delete(&L->doc);
	yaml_parser_delete(&p);
	free(L->ids);
	L->ids = NULL;
	sort_errors(L);
	if (L->errs->n || L->errs->dropped || L->halt) {
		if (!L->errs->n) /* every message was lost to memory: still say something */
			L->errs->dropped++;
		scenario_free(s);
		return NULL;
	}
	return s;
}

scenario *scenario_parse(const char *name, const char *text, size_t len, sc_errors *errs)
{
	sc_errors local;
	if (!errs)
		errs = &local;
	memset(errs, 0, sizeof *errs);
	ld L;
	memset(&L, 0, sizeof L);
	L.file = name ? name : "<scenario>";
	L.text = text;
	L.len = text ? len : 0;
	L.errs = errs;
	scenario *s = parse(&L);
	if (s)
		s->text_hash = sim_hash64(SIM_HASH_INIT, text, L.len);
	if (errs == &local)
		sc_errors_free(&local);
	return s;
}

static void file_error(sc_errors *e, const char *path, const char *what, int errnum)
{
	char why[128] = "unknown error";
	if (errnum)
		strerror_r(errnum, why, sizeof why);
	char line[1200];
	snprintf(line, sizeof line, "%s: %s: %s", path, what, why);
	if ((e->msg[0] = strdup(line)))
		e->n = 1;
	else
		e->dropped = 1;
}

scenario *scenario_load(const char *path, sc_errors *errs)
{
	sc_errors local;
	if (!errs)
		errs = &local;
	memset(errs, 0, sizeof *errs);
	scenario *s = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		file_error(errs, path, "cannot open the scenario", errno);
		goto out;
	}
	size_t n = 0;
	const char *why;
	char *buf = cli_read_all(f, MAX_FILE_BYTES, &n, &why);
	int e = errno;
	fclose(f);
	if (!buf && !strcmp(why, "too large"))
		file_error(errs, path, "the file is larger than 16 MiB; is it a scenario?", EFBIG);
	else if (!buf)
		file_error(errs, path, "cannot read the scenario", !strcmp(why, "out of memory") ? ENOMEM : e);
	else if (!errs->n) {
		ld L;
		memset(&L, 0, sizeof L);
		L.file = path;
		L.text = buf;
		L.len = n;
		L.errs = errs;
		s = parse(&L);
		if (s)
			s->text_hash = sim_hash64(SIM_HASH_INIT, buf, n);
	}
	free(buf);
out:
	if (errs == &local)
		sc_errors_free(&local);
	return s;
}

static void match_free(sc_match *m)
{
	free(m->topic);
	free(m->payload);
	free(m->codes);
	free(m->id_ref);
	free(m->save_as);
	scn__props_free(m->props);
}

void scenario_free(scenario *s)
{
	if (!s)
		return;
	free(s->broker.acl);
	for (size_t i = 0; i < s->broker.nexec_config; i++)
		free(s->broker.exec_config[i]);
	free(s->broker.exec_config);
	free(s->file);
	free(s->name);
	free(s->description);
	for (size_t i = 0; i < s->nspec; i++)
		free(s->spec[i]);
	free(s->spec);
	for (size_t i = 0; i < s->nlinks; i++)
		free(s->links[i].node);
	free(s->links);
	for (size_t i = 0; i < s->nfaults; i++) {
		free(s->faults[i].a);
		free(s->faults[i].b);
	}
	free(s->faults);
	for (size_t i = 0; i < s->nclients; i++) {
		free(s->clients[i].id);
		free(s->clients[i].client_id);
	}
	free(s->clients);
	for (size_t i = 0; i < s->nnodes; i++) {
		nm_config *c = &s->nodes[i].cfg;
		free(c->id);
		free(c->client_id);
		free(c->will_topic);
		free(c->will_payload);
		for (uint32_t k = 0; k < c->nsensors; k++) {
			free(c->sensors[k].topic);
			free(c->sensors[k].s.curve);
		}
		free(c->sensors);
		for (uint32_t k = 0; k < c->nsubs; k++)
			free(c->subs[k].filter);
		free(c->subs);
	}
	free(s->nodes);
	for (size_t i = 0; i < s->nsteps; i++) {
		sc_step *st = &s->steps[i];
		free(st->client_id);
		free(st->username);
		free(st->password);
		free(st->will_topic);
		free(st->will_payload);
		match_free(&st->connack);
		scn__props_free(st->will_props);
		scn__props_free(st->props);
		for (size_t j = 0; j < st->nsubs; j++)
			free(st->subs[j].filter);
		free(st->subs);
		free(st->topic);
		free(st->payload);
		free(st->raw);
		free(st->raw_text);
		match_free(&st->match);
		for (size_t j = 0; j < st->nspec; j++)
			free(st->spec[j]);
		free(st->spec);
	}
	free(s->steps);
	for (size_t i = 0; i < s->nexpects; i++) {
		free(s->expects[i].topic);
		free(s->expects[i].to_more);
		free(s->expects[i].payload);
		for (size_t j = 0; j < s->expects[i].nspec; j++)
			free(s->expects[i].spec[j]);
		free(s->expects[i].spec);
	}
	free(s->expects);
	free(s);
}

void sc_errors_free(sc_errors *e)
{
	if (!e)
		return;
	for (int i = 0; i < e->n; i++)
		free(e->msg[i]);
	memset(e, 0, sizeof *e);
}
