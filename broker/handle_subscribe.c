/*
 * handle_subscribe.c - SUBSCRIBE, UNSUBSCRIBE and the topic tree that routes messages.
 *
 * The tree has one node per filter level; a node's children and subscriptions are kept
 * in insertion order. Matching walks exact, '+' and '#' children level by level, so its
 * cost follows the topic's depth and the tree's branching, not the number of filters.
 */
#include "broker/core.h"

#include <stdlib.h>
#include <string.h>

static bool level_is(const tnode *n, const char *s, size_t len)
{
	return strlen(n->level) == len && memcmp(n->level, s, len) == 0;
}

static tnode *child(tnode *n, const char *s, size_t len, bool create)
{
	tnode **pp = &n->children;
	for (; *pp; pp = &(*pp)->sibling)
		if (level_is(*pp, s, len))
			return *pp;
	if (!create)
		return NULL;
	tnode *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->level = core_strndup(s, len);
	c->parent = n;
	*pp = c;
	return c;
}

/* The node for a filter, walking "a/b/c" level by level. */
static tnode *node_for(broker *b, const char *f, size_t flen, bool create)
{
	tnode *n = &b->root;
	size_t i = 0;
	for (;;) {
		size_t j = i;
		while (j < flen && f[j] != '/')
			j++;
		n = child(n, f + i, j - i, create);
		if (!n || j == flen)
			return n;
		i = j + 1;
	}
}

/* Drop nodes left with no subscriptions and no children. */
static void prune(tnode *n)
{
	while (n->parent && !n->subs && !n->children) {
		tnode *p = n->parent;
		for (tnode **pp = &p->children; *pp; pp = &(*pp)->sibling) {
			if (*pp == n) {
				*pp = n->sibling;
				break;
			}
		}
		free(n->level);
		free(n);
		n = p;
	}
}

static void sub_unlink(sub *x)
{
	for (sub **pp = &x->node->subs; *pp; pp = &(*pp)->next_in_node) {
		if (*pp == x) {
			*pp = x->next_in_node;
			break;
		}
	}
}

void sub_add(broker *b, session *s, const char *filter, size_t flen, uint8_t qos)
{
	tnode *n = node_for(b, filter, flen, true);
	sub *x;
	for (x = n->subs; x; x = x->next_in_node)
		if (x->s == s)
			break;
	if (x) {
		x->qos = qos; /* the same filter again replaces the subscription [MQTT-3.8.4-3] */
	} else {
		x = calloc(1, sizeof *x);
		if (!x)
			abort();
		x->s = s;
		x->qos = qos;
		x->seq = b->next_seq++;
		x->node = n;
		sub **pp = &n->subs;
		while (*pp)
			pp = &(*pp)->next_in_node;
		*pp = x;
		x->next_in_session = s->subs;
		s->subs = x;
	}
	persist_sub(b, s, filter, flen, qos, true);
}

bool sub_remove(broker *b, session *s, const char *filter, size_t flen)
{
	tnode *n = node_for(b, filter, flen, false);
	if (!n)
		return false;
	for (sub **pp = &s->subs; *pp; pp = &(*pp)->next_in_session) {
		sub *x = *pp;
		if (x->node == n) {
			*pp = x->next_in_session;
			sub_unlink(x);
			free(x);
			prune(n);
			persist_sub(b, s, filter, flen, 0, false);
			return true;
		}
	}
	return false;
}

void handle_subscribe(broker *b, conn *c, const mqtt_packet *p)
{
	session *s = c->s;
	uint8_t codes[256], *cv = p->subscribe.count <= sizeof codes ? codes : malloc(p->subscribe.count);
	if (!cv)
		abort();
	mqtt_iter it = { 0, 0 };
	mqtt_sub e;
	uint32_t k = 0;
	while (mqtt_sub_next(&p->subscribe, p->version, &it, &e)) {
		char *f = core_strndup((const char *)e.filter.data, e.filter.len);
		bool allowed = !b->cfg.auth || !b->cfg.auth->allow ||
			       b->cfg.auth->allow(b->cfg.auth->ctx, s->client_id, c->username, f, false);
		free(f);
		if (!allowed) {
			cv[k++] = 0x80; /* refused: this filter only */
			continue;
		}
		sub_add(b, s, (const char *)e.filter.data, e.filter.len, e.qos);
		cv[k++] = e.qos; /* this broker grants every QoS asked for */
	}
	mqtt_packet r = { .type = MQTT_SUBACK, .version = MQTT_V311, .packet_id = p->packet_id };
	r.codes = (mqtt_str){ cv, k };
	/* SUBACK promises the subscription: it waits for the sync. Sent ahead of it, a crash
	 * could forget the subscription but keep the session (synced earlier), and the client,
	 * told "session present" on its return, would never subscribe again (the crash sweep,
	 * tests/test_crashsweep.c, found it). */
	send_later(b, c, &r);
	/* Retained messages follow the SUBACK, for every filter granted. */
	it = (mqtt_iter){ 0, 0 };
	for (uint32_t i = 0; mqtt_sub_next(&p->subscribe, p->version, &it, &e); i++)
		if (cv[i] != 0x80)
			retained_deliver(b, s, (const char *)e.filter.data, e.filter.len, e.qos);
	if (cv != codes)
		free(cv);
}

void handle_unsubscribe(broker *b, conn *c, const mqtt_packet *p)
{
	session *s = c->s;
	mqtt_iter it = { 0, 0 };
	mqtt_str f;
	while (mqtt_str_next(&p->unsubscribe, &it, &f))
		sub_remove(b, s, (const char *)f.data, f.len);
	/* UNSUBACK even when nothing matched [MQTT-3.10.4-5]. */
	mqtt_packet r = { .type = MQTT_UNSUBACK, .version = MQTT_V311, .packet_id = p->packet_id };
	core_send(b, c, &r);
}

void subs_drop_session(broker *b, session *s)
{
	(void)b;
	for (sub *x = s->subs, *n; x; x = n) {
		n = x->next_in_session;
		tnode *node = x->node;
		sub_unlink(x);
		free(x);
		prune(node);
	}
	s->subs = NULL;
}

void tree_free(tnode *n)
{
	for (tnode *c = n->children, *next; c; c = next) {
		next = c->sibling;
		tree_free(c);
		free(c->level);
		free(c);
	}
	for (sub *x = n->subs, *next; x; x = next) {
		next = x->next_in_node;
		free(x);
	}
	n->children = NULL;
	n->subs = NULL;
}

typedef struct vec {
	sub **v;
	size_t n, cap;
} vec;

static void add_subs(vec *out, const tnode *n)
{
	for (sub *x = n->subs; x; x = x->next_in_node) {
		if (out->n == out->cap) {
			out->cap = out->cap ? 2 * out->cap : 16;
			sub **v = realloc(out->v, out->cap * sizeof *v);
			if (!v)
				abort();
			out->v = v;
		}
		out->v[out->n++] = x;
	}
}

/* n's children stand for the level that starts at t (len bytes; `last` if no level
 * follows). A '#' child matches here and below; at the end, a "#" under a matched node
 * also matches (a/# matches a). Wildcards at the first level skip $-topics [MQTT-4.7.2-1]. */
static void walk(const tnode *n, const char *t, bool root, vec *out)
{
	size_t len = 0;
	while (t[len] && t[len] != '/')
		len++;
	bool last = t[len] == 0;
	bool dollar = root && t[0] == '$';
	for (const tnode *c = n->children; c; c = c->sibling) {
		bool hash = !strcmp(c->level, "#");
		bool plus = !strcmp(c->level, "+");
		if ((hash || plus) && dollar)
			continue;
		if (hash) {
			add_subs(out, c);
			continue;
		}
		if (!plus && !level_is(c, t, len))
			continue;
		if (last) {
			add_subs(out, c);
			for (const tnode *g = c->children; g; g = g->sibling)
				if (!strcmp(g->level, "#"))
					add_subs(out, g);
		} else {
			walk(c, t + len + 1, false, out);
		}
	}
}

static int by_session_then_qos(const void *a, const void *b)
{
	const sub *x = *(sub *const *)a, *y = *(sub *const *)b;
	if (x->s->seq != y->s->seq)
		return x->s->seq < y->s->seq ? -1 : 1;
	if (x->qos != y->qos)
		return x->qos > y->qos ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t tree_match(broker *b, const char *topic, sub ***out)
{
	vec v = { 0 };
	walk(&b->root, topic, true, &v);
	/* Overlapping subscriptions of one session give one delivery, at the highest QoS
	 * among them; sessions are served in the order they were created. */
	if (v.n > 1)
		qsort(v.v, v.n, sizeof *v.v, by_session_then_qos);
	size_t k = 0;
	for (size_t i = 0; i < v.n; i++)
		if (k == 0 || v.v[k - 1]->s != v.v[i]->s)
			v.v[k++] = v.v[i];
	*out = v.v;
	return k;
}
