/*
 * catalog.c - load a statement catalog (catalog.h) from YAML with libyaml.
 *
 * The file is one mapping: `version` and `statements`, a list of mappings with the keys
 * id, alias, section, target, level, testable, reason and summary. The walker checks every
 * value against its set, every id against the id syntax, the section against the id, and
 * ids and aliases for duplicates, and stops at the first problem, reporting it as
 * FILE:LINE:COLUMN (1-based, at the offending key or value; at the statement for a missing
 * key). A catalog is a file we ship, but the loader treats it as input all the same: a
 * first pass over the parser's events (yaml_walk.c) bounds nesting, size and the text that
 * aliases expand to (each use of an alias is copied) before libyaml builds the document (its
 * scanner is quadratic in flow nesting), and the file size is bounded.
 */
#include "conformance/catalog.h"
#include "conformance/yaml_walk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_FILE_BYTES (4u << 20)  /* 141 or 251 statements take about 60 KiB */
#define MAX_DEPTH 8                /* the schema is three levels deep */
#define MAX_NODES 200000L
#define MAX_EXPANDED_BYTES (16u << 20) /* text, every alias expanded: 4 times the largest file */
#define MAX_STATEMENTS 4096
#define MAX_KEYS 32               /* in one mapping: the keys are checked pairwise */
#define MAX_SUMMARY 1000           /* characters: a line or two, not a copy of the standard */

/* Ids the standards print in an irregular form, with their regular form. */
static const struct {
	const char *printed, *regular;
} misprints[] = {
	{ "MQTT-3.1.2.7", "MQTT-3.1.2-7" }, /* 3.1.1 §3.1.2.4 and Appendix B */
	{ "MQTT-3-8.3-4", "MQTT-3.8.3-4" }, /* 3.1.1 §3.8.3.1 and Appendix B */
};

/* The other way round: ids Appendix B prints regularly while the body text prints them in an
 * irregular form. The body's form is accepted only as the alias of that one id. */
static const struct {
	const char *body, *appendix;
} body_forms[] = {
	{ "MQTT-4.2-1", "MQTT-4.2.0-1" }, /* 5.0 §4.2; Appendix B prints MQTT-4.2.0-1 */
};

enum key { K_ID, K_ALIAS, K_SECTION, K_TARGET, K_LEVEL, K_TESTABLE, K_REASON, K_SUMMARY, K_N };

static const char *const key_names[K_N] = {
	"id", "alias", "section", "target", "level", "testable", "reason", "summary",
};

static const bool key_required[K_N] = {
	[K_ID] = true, [K_SECTION] = true, [K_TARGET] = true, [K_LEVEL] = true,
	[K_TESTABLE] = true, [K_SUMMARY] = true,
};

typedef struct ld {
	const char *file;
	const char *text;
	size_t len;
	yaml_document_t doc;
	char *err;
	size_t errlen;
	bool failed;
	catalog *c;
	int *id_line;    /* per statement: line of its id and of its alias (0: none) */
	int *alias_line;
} ld;

/* ---- errors ---------------------------------------------------------------------------- */

__attribute__((format(printf, 4, 5)))
static void fail_at(ld *L, int line, int col, const char *fmt, ...)
{
	if (L->failed)
		return;
	L->failed = true;
	if (!L->err || !L->errlen)
		return;
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(L->err, L->errlen, "%s:%d:%d: %s", L->file, line, col, msg);
}

#define fail(L, node, ...) \
	fail_at((L), (int)(node)->start_mark.line + 1, (int)(node)->start_mark.column + 1, __VA_ARGS__)

static int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static void syntax_error(ld *L, const yaml_parser_t *p)
{
	yw_pos at;
	char msg[400];
	yw_syntax_error(p, L->text, L->len, false, &at, msg, sizeof msg);
	fail_at(L, at.line, at.col, "%s", msg);
}

/* ---- ids and sections ------------------------------------------------------------------- */

/* A decimal number without a leading zero (or "0"), at most three digits; advances *s. */
static bool number(const char **s)
{
	const char *p = *s;
	size_t n = 0;
	while (p[n] >= '0' && p[n] <= '9')
		n++;
	if (n == 0 || n > 3 || (n > 1 && p[0] == '0'))
		return false;
	*s = p + n;
	return true;
}

bool catalog_id_regular(const char *id)
{
	if (!id || strncmp(id, "MQTT-", 5))
		return false;
	const char *s = id + 5;
	for (int i = 0; i < 3; i++) {
		if (!number(&s))
			return false;
		if (*s++ != (i < 2 ? '.' : '-'))
			return false;
	}
	return number(&s) && !*s;
}

static const char *misprint_regular(const char *id)
{
	for (size_t i = 0; i < sizeof misprints / sizeof misprints[0]; i++)
		if (!strcmp(id, misprints[i].printed))
			return misprints[i].regular;
	return NULL;
}

/* The id whose irregular body form 'alias' is, or NULL when it is no known body form. */
static const char *body_form_of(const char *alias)
{
	for (size_t i = 0; i < sizeof body_forms / sizeof body_forms[0]; i++)
		if (!strcmp(alias, body_forms[i].body))
			return body_forms[i].appendix;
	return NULL;
}

/* The section a regular id belongs to: its three numbers, trailing ".0" dropped
 * ("MQTT-3.1.0-1" -> "3.1", "MQTT-6.0.0-1" -> "6"). */
static void id_section(const char *regular, char *out, size_t outlen)
{
	const char *s = regular + 5;
	size_t n = strcspn(s, "-");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = 0;
	while (n >= 2 && out[n - 1] == '0' && out[n - 2] == '.') {
		n -= 2;
		out[n] = 0;
	}
}

static bool section_syntax(const char *s)
{
	for (int i = 0;; i++) {
		if (i == 4 || !number(&s))
			return false;
		if (!*s)
			return true;
		if (*s++ != '.')
			return false;
	}
}

/* ---- values ----------------------------------------------------------------------------- */

static const char *describe(const yaml_node_t *n)
{
	return n->type == YAML_SEQUENCE_NODE ? "a list" : n->type == YAML_MAPPING_NODE ? "a mapping" : "text";
}

static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* The text of a scalar value of key 'what', or NULL after reporting why not. */
static const char *text_of(ld *L, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		fail(L, n, "'%s' must be text, got %s", what, describe(n));
		return NULL;
	}
	if (is_null(n)) {
		fail(L, n, "'%s' has no value", what);
		return NULL;
	}
	const char *v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length) {
		fail(L, n, "'%s' contains a NUL character", what);
		return NULL;
	}
	return v;
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

static char *dup_text(ld *L, const yaml_node_t *at, const char *s)
{
	char *d = strdup(s);
	if (!d)
		fail(L, at, "out of memory");
	return d;
}

/* The keys of a mapping: not too many, each one text and not repeated. */
static bool mapping_keys_ok(ld *L, const yaml_node_t *m)
{
	if (m->data.mapping.pairs.top - m->data.mapping.pairs.start > MAX_KEYS) {
		fail(L, m, "more than %d keys in one mapping", MAX_KEYS);
		return false;
	}
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);
		if (k->type != YAML_SCALAR_NODE) {
			fail(L, k, "a key must be text, got %s", describe(k));
			return false;
		}
		for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k0 = yaml_document_get_node(&L->doc, q->key);
			if (k0->type == YAML_SCALAR_NODE &&
			    !strcmp((const char *)k0->data.scalar.value, (const char *)k->data.scalar.value)) {
				fail(L, k, "duplicate key '%s' (first at line %d)",
				     (const char *)k->data.scalar.value, line_of(k0));
				return false;
			}
		}
	}
	return true;
}

/* ---- one statement ---------------------------------------------------------------------- */

/* Earlier statements [0, upto) holding 'name' as id or alias: the line, or 0. */
static int taken(const ld *L, size_t upto, const char *name, const char **as)
{
	for (size_t i = 0; i < upto; i++) {
		const cat_stmt *s = &L->c->v[i];
		if (s->id && !strcmp(s->id, name)) {
			*as = "id";
			return L->id_line[i];
		}
		if (s->alias && !strcmp(s->alias, name)) {
			*as = "alias";
			return L->alias_line[i];
		}
	}
	return 0;
}

static void load_stmt(ld *L, const yaml_node_t *m, size_t idx)
{
	cat_stmt *s = &L->c->v[idx];
	if (m->type != YAML_MAPPING_NODE) {
		fail(L, m, "each statement must be a mapping (id, section, target, level, testable, "
			   "summary), got %s", describe(m));
		return;
	}
	if (!mapping_keys_ok(L, m))
		return;
	yaml_node_t *val[K_N] = { 0 };
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&L->doc, p->value);
		const char *name = (const char *)k->data.scalar.value;
		int key = 0;
		while (key < K_N && strcmp(name, key_names[key]))
			key++;
		if (key == K_N) {
			fail(L, k, "unknown key '%s' in a statement (expected id, alias, section, target, "
				   "level, testable, reason or summary)", name);
			return;
		}
		val[key] = v;
		const char *t = text_of(L, v, name);
		if (!t)
			return;
		switch (key) {
		case K_ID:
			if (!catalog_id_regular(t) && !misprint_regular(t)) {
				fail(L, v, "'%s' is not a statement id: expected MQTT-<n>.<n>.<n>-<n>, "
					   "e.g. MQTT-3.3.1-8", t);
				return;
			}
			s->id = dup_text(L, v, t);
			break;
		case K_ALIAS:
			if (!catalog_id_regular(t) && !body_form_of(t)) {
				fail(L, v, "alias '%s' is not a regular statement id (MQTT-<n>.<n>.<n>-<n>)", t);
				return;
			}
			s->alias = dup_text(L, v, t);
			break;
		case K_SECTION:
			if (!section_syntax(t)) {
				fail(L, v, "section '%s' is not a section number such as 3.3.1", t);
				return;
			}
			s->section = dup_text(L, v, t);
			break;
		case K_TARGET:
			if (!strcmp(t, "server"))
				s->target = CAT_TARGET_SERVER;
			else if (!strcmp(t, "client"))
				s->target = CAT_TARGET_CLIENT;
			else if (!strcmp(t, "both"))
				s->target = CAT_TARGET_BOTH;
			else {
				fail(L, v, "target '%s': expected server, client or both", t);
				return;
			}
			break;
		case K_LEVEL:
			if (!strcmp(t, "mandatory"))
				s->optional = false;
			else if (!strcmp(t, "optional"))
				s->optional = true;
			else {
				fail(L, v, "level '%s': expected mandatory or optional", t);
				return;
			}
			break;
		case K_TESTABLE:
			if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(t, "true"))
				s->testable = true;
			else if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(t, "false"))
				s->testable = false;
			else {
				fail(L, v, "testable '%s': expected true or false (unquoted)", t);
				return;
			}
			break;
		case K_REASON:
			if (!blank(t))
				s->reason = dup_text(L, v, t);
			break;
		case K_SUMMARY:
			if (blank(t)) {
				fail(L, v, "summary is empty");
				return;
			}
			if (strlen(t) > MAX_SUMMARY) {
				fail(L, v, "summary is longer than %d characters; paraphrase in a line or two",
				     MAX_SUMMARY);
				return;
			}
			s->summary = dup_text(L, v, t);
			break;
		}
		if (L->failed)
			return;
	}
	for (int key = 0; key < K_N; key++)
		if (key_required[key] && !val[key]) {
			fail(L, m, "statement %s has no '%s'", s->id ? s->id : "(without id)", key_names[key]);
			return;
		}

	/* Across fields: the alias of a misprint is its regular form; the section is the id's. */
	const char *regular = misprint_regular(s->id);
	if (s->alias && !strcmp(s->alias, s->id)) {
		fail(L, val[K_ALIAS], "alias '%s' is the id itself", s->alias);
		return;
	}
	if (regular && s->alias && strcmp(s->alias, regular)) {
		fail(L, val[K_ALIAS], "alias '%s' of the misprinted id %s should be its regular form %s",
		     s->alias, s->id, regular);
		return;
	}
	const char *owner = s->alias ? body_form_of(s->alias) : NULL;
	if (owner && strcmp(s->id, owner)) {
		fail(L, val[K_ALIAS], "alias '%s' is the body text's form of %s, not of %s", s->alias,
		     owner, s->id);
		return;
	}
	char want[32];
	id_section(regular ? regular : s->id, want, sizeof want);
	if (strcmp(s->section, want)) {
		fail(L, val[K_SECTION], "section '%s' does not match id %s (its section is %s)",
		     s->section, s->id, want);
		return;
	}
	if (!s->testable && !s->reason) {
		fail(L, val[K_TESTABLE], "statement %s is not testable: give a 'reason' saying why",
		     s->id);
		return;
	}

	/* Ids and aliases name one statement each. */
	const char *as;
	int line = taken(L, idx, s->id, &as);
	if (line) {
		fail(L, val[K_ID], "duplicate id %s (already the %s of the statement at line %d)",
		     s->id, as, line);
		return;
	}
	L->id_line[idx] = line_of(val[K_ID]);
	if (s->alias) {
		line = taken(L, idx, s->alias, &as);
		if (line) {
			fail(L, val[K_ALIAS], "alias %s is already the %s of the statement at line %d",
			     s->alias, as, line);
			return;
		}
		L->alias_line[idx] = line_of(val[K_ALIAS]);
	}
}

/* ---- the file --------------------------------------------------------------------------- */

static void load_statements(ld *L, const yaml_node_t *seq)
{
	if (seq->type != YAML_SEQUENCE_NODE || is_null(seq)) {
		fail(L, seq, "'statements' must be a list of statements, got %s",
		     is_null(seq) ? "nothing" : describe(seq));
		return;
	}
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (n == 0) {
		fail(L, seq, "'statements' is empty");
		return;
	}
	if (n > MAX_STATEMENTS) {
		fail(L, seq, "more than %d statements", MAX_STATEMENTS);
		return;
	}
	if (L->c->v) {
		fail(L, seq, "'statements' given twice");
		return;
	}
	L->c->v = calloc(n, sizeof *L->c->v);
	L->id_line = calloc(n, sizeof *L->id_line);
	L->alias_line = calloc(n, sizeof *L->alias_line);
	if (!L->c->v || !L->id_line || !L->alias_line) {
		fail(L, seq, "out of memory");
		return;
	}
	L->c->n = n;
	for (size_t i = 0; i < n && !L->failed; i++)
		load_stmt(L, yaml_document_get_node(&L->doc, seq->data.sequence.items.start[i]), i);
}

static void load_root(ld *L, const yaml_node_t *root)
{
	if (root->type != YAML_MAPPING_NODE) {
		fail(L, root, "a catalog is a mapping with 'version' and 'statements', got %s",
		     describe(root));
		return;
	}
	if (!mapping_keys_ok(L, root))
		return;
	bool have_version = false, have_statements = false;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top && !L->failed; p++) {
		yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&L->doc, p->value);
		const char *name = (const char *)k->data.scalar.value;
		if (!strcmp(name, "version")) {
			have_version = true;
			const char *t = text_of(L, v, name);
			if (!t)
				return;
			if (strcmp(t, "3.1.1") && strcmp(t, "5.0")) {
				fail(L, v, "version '%s': expected \"3.1.1\" or \"5.0\"", t);
				return;
			}
			L->c->version = dup_text(L, v, t);
		} else if (!strcmp(name, "statements")) {
			have_statements = true;
			load_statements(L, v);
		} else {
			fail(L, k, "unknown key '%s' (expected version or statements)", name);
		}
	}
	if (!L->failed && !have_version)
		fail(L, root, "the catalog has no 'version'");
	if (!L->failed && !have_statements)
		fail(L, root, "the catalog has no 'statements'");
}

/* First pass over events: nesting, size and the text that aliases expand to bounded before
 * the document is composed. A syntax error is left to the second pass, which meets it at the
 * same place. */
static bool shape_ok(ld *L)
{
	static const yw_limits lim = { MAX_DEPTH, MAX_NODES, MAX_EXPANDED_BYTES };
	yw_pos at;
	char msg[400];
	yw_status st = yw_shape_check(L->text, L->len, &lim, "catalog", "a catalog needs three", &at,
				      msg, sizeof msg);
	if (st != YW_OK)
		fail_at(L, at.line, at.col, "%s", msg);
	return st == YW_OK;
}

void catalog_free(catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		cat_stmt *s = &c->v[i];
		free(s->id);
		free(s->alias);
		free(s->section);
		free(s->summary);
		free(s->reason);
	}
	free(c->v);
	free(c->version);
	free(c);
}

catalog *catalog_parse(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	ld L;
	memset(&L, 0, sizeof L);
	L.file = name ? name : "<catalog>";
	L.text = text ? text : "";
	L.len = text ? len : 0;
	L.err = err;
	L.errlen = errlen;
	if (err && errlen)
		err[0] = 0;
	if (!shape_ok(&L))
		return NULL;
	if (!(L.c = calloc(1, sizeof *L.c))) {
		fail_at(&L, 1, 1, "out of memory");
		return NULL;
	}
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		fail_at(&L, 1, 1, "out of memory");
		free(L.c);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)L.text, L.len);
	if (!yaml_parser_load(&p, &L.doc)) {
		syntax_error(&L, &p);
		yaml_parser_delete(&p);
		free(L.c);
		return NULL;
	}
	yaml_node_t *root = yaml_document_get_root_node(&L.doc);
	if (!root) {
		fail_at(&L, 1, 1, "the file is empty; a catalog needs 'version' and 'statements'");
	} else {
		load_root(&L, root);
		/* One document per file: a second would otherwise be ignored in silence. */
		yaml_document_t more;
		if (!L.failed) {
			if (!yaml_parser_load(&p, &more)) {
				syntax_error(&L, &p);
			} else {
				yaml_node_t *r2 = yaml_document_get_root_node(&more);
				if (r2)
					fail(&L, r2, "a catalog file holds one YAML document; this is a second one");
				yaml_document_delete(&more);
			}
		}
	}
	yaml_document_delete(&L.doc);
	yaml_parser_delete(&p);
	free(L.id_line);
	free(L.alias_line);
	if (L.failed) {
		catalog_free(L.c);
		return NULL;
	}
	return L.c;
}

catalog *catalog_load(const char *path, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(MAX_FILE_BYTES + 1);
	if (!buf) {
		fclose(f);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	size_t n = fread(buf, 1, MAX_FILE_BYTES + 1, f);
	bool bad = ferror(f);
	fclose(f);
	catalog *c = NULL;
	if (bad) {
		if (err && errlen)
			snprintf(err, errlen, "%s: read error", path);
	} else if (n > MAX_FILE_BYTES) {
		if (err && errlen)
			snprintf(err, errlen, "%s: larger than %u bytes; is this a catalog?", path,
				 MAX_FILE_BYTES);
	} else {
		c = catalog_parse(path, buf, n, err, errlen);
	}
	free(buf);
	return c;
}

const cat_stmt *catalog_find(const catalog *c, const char *id)
{
	if (!c || !id)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if ((c->v[i].id && !strcmp(c->v[i].id, id)) ||
		    (c->v[i].alias && !strcmp(c->v[i].alias, id)))
			return &c->v[i];
	return NULL;
}

const char *catalog_target_name(int target)
{
	switch (target) {
	case CAT_TARGET_SERVER:
		return "server";
	case CAT_TARGET_CLIENT:
		return "client";
	case CAT_TARGET_BOTH:
		return "both";
	default:
		return "?";
	}
}
