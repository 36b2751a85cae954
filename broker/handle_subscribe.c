/*
 * handle_subscribe.c - SUBSCRIBE, UNSUBSCRIBE and the topic tree that routes messages.
 *
 * The tree has one node per filter level. A node's children are on a list in insertion
 * order and, past CHILD_TAB_MIN of them, in a hash table by level as well; "+" and "#"
 * children are also held directly. Each session finds its own subscriptions in a hash
 * table keyed by node id. So subscribing, unsubscribing and matching a topic cost
 * O(levels), whatever the number of siblings, filters or sessions (the old sibling scan made
 * 100,000 filters under one level take about half a minute). The hash tables only find:
 * what is walked (children, a node's subscriptions, a session's subscriptions) is walked
 * along its list, and broker__tree_match sorts what it found by session and subscription seq, so no
 * order depends on a hash or an address.
 */
#include "broker/core.h"
#include "mqtt/alloc.h"

#include <stdlib.h>
#include <string.h>

#define CHILD_TAB_MIN 8           /* a node with more children than this gets a table */
#define DEFAULT_MAX_SUBSCRIPTIONS 10000

/* ---- children of a node ------------------------------------------------------------------ */

static size_t level_slot(const char *s, size_t len, uint32_t cap)
{
	return (size_t)(broker__core_hash(s, len) & (cap - 1));
}

static void tab_put(tnode *n, tnode *c)
{
	size_t k = level_slot(c->level, c->level_len, n->tab_cap);
	c->hnext = n->tab[k];
	n->tab[k] = c;
}

/* (Re)build n's child table with cap slots from the child list. */
static void tab_build(tnode *n, uint32_t cap)
{
	free(n->tab);
	n->tab = mqtt_xcalloc(cap, sizeof *n->tab);
	n->tab_cap = cap;
	for (tnode *c = n->children; c; c = c->sibling)
		tab_put(n, c);
}

static tnode *child_find(const tnode *n, const char *s, size_t len)
{
	if (n->tab) {
		for (tnode *c = n->tab[level_slot(s, len, n->tab_cap)]; c; c = c->hnext)
			if (c->level_len == len && memcmp(c->level, s, len) == 0)
				return c;
		return NULL;
	}
	for (tnode *c = n->children; c; c = c->sibling)
		if (c->level_len == len && memcmp(c->level, s, len) == 0)
			return c;
	return NULL;
}

static tnode *child(broker *b, tnode *n, const char *s, size_t len, bool create)
{
	tnode *c = child_find(n, s, len);
	if (c || !create)
		return c;
	c = mqtt_xcalloc(1, sizeof *c);
	c->level = mqtt_xstrndup(s, len);
	c->level_len = len;
	c->id = ++b->next_node_id;
	c->parent = n;
	c->prev_sibling = n->children_tail;
	if (n->children_tail)
		n->children_tail->sibling = c;
	else
		n->children = c;
	n->children_tail = c;
	n->nchildren++;
	if (len == 1 && s[0] == '+')
		n->plus = c;
	else if (len == 1 && s[0] == '#')
		n->hash = c;
	if (n->tab && n->nchildren > n->tab_cap)
		tab_build(n, 2 * n->tab_cap);       /* load factor at most 1 */
	else if (n->tab)
		tab_put(n, c);
	else if (n->nchildren > CHILD_TAB_MIN)
		tab_build(n, 4 * CHILD_TAB_MIN);
	return c;
}

static void child_unlink(tnode *p, tnode *n)
{
	if (n->prev_sibling)
		n->prev_sibling->sibling = n->sibling;
	else
		p->children = n->sibling;
	if (n->sibling)
		n->sibling->prev_sibling = n->prev_sibling;
	else
		p->children_tail = n->prev_sibling;
	if (p->plus == n)
		p->plus = NULL;
	if (p->hash == n)
		p->hash = NULL;
	p->nchildren--;
	if (!p->tab)
		return;
	if (p->nchildren <= CHILD_TAB_MIN / 2) { /* few again: the list is enough */
		free(p->tab);
		p->tab = NULL;
		p->tab_cap = 0;
		return;
	}
	for (tnode **pp = &p->tab[level_slot(n->level, n->level_len, p->tab_cap)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	}
	if (p->tab_cap > 4 * CHILD_TAB_MIN && p->nchildren < p->tab_cap / 8)
		tab_build(p, p->tab_cap / 4); /* give back what a storm of filters left */
}

/* The node for a filter, walking "a/b/c" level by level. */
static tnode *node_for(broker *b, const char *f, size_t flen, bool create)
{
	tnode *n = &b->root;
	size_t i = 0;
	for (;;) {
		const char *slash = memchr(f + i, '/', flen - i);
		size_t j = slash ? (size_t)(slash - f) : flen;
		n = child(b, n, f + i, j - i, create);
		if (!n || j == flen)
			return n;
		i = j + 1;
	}
}

/* Drop nodes left with no subscriptions and no children. */
static void prune(tnode *n)
{
	while (n->parent && !n->subs && !n->children && !n->groups) {
		tnode *p = n->parent;
		child_unlink(p, n);
		free(n->tab);
		free(n->level);
		free(n);
		n = p;
	}
}

/* ---- a session's subscriptions, by node ---------------------------------------------------- */

static size_t sub_slot(uint64_t node_id, uint32_t cap)
{
	uint64_t h = node_id * UINT64_C(0x9e3779b97f4a7c15); /* Fibonacci hashing */
	return (size_t)(h >> 32) & (cap - 1);
}

/* The session's subscription to node n: its ordinary one (g NULL) or its membership of g. */
static sub *sub_find(const session *s, const tnode *n, const sgroup *g)
{
	if (!s->sub_tab)
		return NULL;
	for (sub *x = s->sub_tab[sub_slot(n->id, s->sub_tab_cap)]; x; x = x->hnext)
		if (x->node == n && x->grp == g)
			return x;
	return NULL;
}

/* ---- shared subscription groups ------------------------------------------------------------ */

static sgroup *group_find(const tnode *n, const char *name, size_t len)
{
	for (sgroup *g = n->groups; g; g = g->next_in_node)
		if (g->name_len == len && !memcmp(g->name, name, len))
			return g;
	return NULL;
}

static sgroup *group_new(broker *b, tnode *n, const char *name, size_t len)
{
	sgroup *g = mqtt_xcalloc(1, sizeof *g);
	g->name = mqtt_xstrndup(name, len);
	g->name_len = len;
	g->id = b->next_seq++;
	g->node = n;
	BROKER_LIST_APPEND(n->groups, n->groups_tail, g, prev_in_node, next_in_node);
	BROKER_LIST_APPEND(b->groups, b->groups_tail, g, prev, next);
	return g;
}

/* A group left without members goes (its node is pruned by the caller). */
static void group_free(broker *b, sgroup *g)
{
	tnode *n = g->node;
	BROKER_LIST_UNLINK(n->groups, n->groups_tail, g, prev_in_node, next_in_node);
	BROKER_LIST_UNLINK(b->groups, b->groups_tail, g, prev, next);
	free(g->name);
	free(g);
}

/* Split a shared filter (already valid) into its share name and the filter after it. */
static void share_split(const char *f, size_t flen, mqtt_str *name, mqtt_str *inner)
{
	if (mqtt_share_parse((const uint8_t *)f, flen, name, inner, NULL) != 1) {
		*name = (mqtt_str){ (const uint8_t *)f, 0 };
		*inner = (mqtt_str){ (const uint8_t *)f, (uint32_t)flen };
	}
}

static void sub_tab_put(session *s, sub *x)
{
	size_t k = sub_slot(x->node->id, s->sub_tab_cap);
	x->hnext = s->sub_tab[k];
	s->sub_tab[k] = x;
}

/* (Re)build the session's table with cap slots from its list. */
static void sub_tab_rebuild(session *s, uint32_t cap)
{
	free(s->sub_tab);
	s->sub_tab = mqtt_xcalloc(cap, sizeof *s->sub_tab);
	s->sub_tab_cap = cap;
	for (sub *y = s->subs; y; y = y->next_in_session)
		sub_tab_put(s, y);
}

static void sub_link(session *s, sub *x)
{
	tnode *n = x->node;
	sub **head = x->grp ? &x->grp->members : &n->subs, **tail = x->grp ? &x->grp->members_tail : &n->subs_tail;
	BROKER_LIST_APPEND(*head, *tail, x, prev_in_node, next_in_node);
	x->next_in_session = s->subs;
	if (s->subs)
		s->subs->prev_in_session = x;
	s->subs = x;
	s->nsubs++;
	if (!s->sub_tab || s->nsubs > s->sub_tab_cap)
		sub_tab_rebuild(s, s->sub_tab_cap ? 2 * s->sub_tab_cap : 8);
	else
		sub_tab_put(s, x);
}

/* Off the node's list, the session's list and table; the caller frees x and prunes. */
static void sub_unlink(broker *b, session *s, sub *x)
{
	tnode *n = x->node;
	sub **head = x->grp ? &x->grp->members : &n->subs, **tail = x->grp ? &x->grp->members_tail : &n->subs_tail;
	BROKER_LIST_UNLINK(*head, *tail, x, prev_in_node, next_in_node);
	if (x->grp && !x->grp->members)
		group_free(b, x->grp);
	x->grp = NULL;
	if (x->prev_in_session)
		x->prev_in_session->next_in_session = x->next_in_session;
	else
		s->subs = x->next_in_session;
	if (x->next_in_session)
		x->next_in_session->prev_in_session = x->prev_in_session;
	for (sub **pp = &s->sub_tab[sub_slot(n->id, s->sub_tab_cap)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == x) {
			*pp = x->hnext;
			break;
		}
	}
	s->nsubs--;
	if (s->nsubs == 0) {
		free(s->sub_tab);
		s->sub_tab = NULL;
		s->sub_tab_cap = 0;
	} else if (s->sub_tab_cap > 64 && s->nsubs < s->sub_tab_cap / 8) {
		sub_tab_rebuild(s, s->sub_tab_cap / 4);
	}
}

void broker__sub_add(broker *b, session *s, const char *filter, size_t flen, uint8_t qos,
		     uint8_t opts, uint32_t sub_id)
{
	mqtt_str name = { 0 }, inner = { (const uint8_t *)filter, (uint32_t)flen };
	if (opts & SUB_SHARED)
		share_split(filter, flen, &name, &inner);
	tnode *n = node_for(b, (const char *)inner.data, inner.len, true);
	sgroup *g = NULL;
	if (opts & SUB_SHARED) {
		g = group_find(n, (const char *)name.data, name.len);
		if (!g)
			g = group_new(b, n, (const char *)name.data, name.len);
	}
	sub *x = sub_find(s, n, g);
	if (!x) {
		x = mqtt_xcalloc(1, sizeof *x);
		x->s = s;
		x->seq = b->next_seq++;
		x->node = n;
		x->grp = g;
		sub_link(s, x);
	}
	/* The same filter again replaces the subscription, options and Subscription Identifier
	 * (none if this SUBSCRIBE has none) with it [MQTT-3.8.4-3]. */
	x->qos = qos;
	x->opts = (uint8_t)(opts & (SUB_NO_LOCAL | SUB_RAP));
	x->sub_id = sub_id;
	broker__persist_sub(b, s, filter, flen, x, g != NULL);
}

/* The session's subscription for this filter (shared: `$share/NAME/filter`), or NULL. */
static sub *sub_lookup(broker *b, const session *s, const char *filter, size_t flen, bool shared)
{
	mqtt_str name = { 0 }, inner = { (const uint8_t *)filter, (uint32_t)flen };
	if (shared)
		share_split(filter, flen, &name, &inner);
	tnode *n = node_for(b, (const char *)inner.data, inner.len, false);
	if (!n)
		return NULL;
	sgroup *g = NULL;
	if (shared && !(g = group_find(n, (const char *)name.data, name.len)))
		return NULL;
	return sub_find(s, n, g);
}

bool broker__sub_remove(broker *b, session *s, const char *filter, size_t flen, bool shared)
{
	sub *x = sub_lookup(b, s, filter, flen, shared);
	if (!x)
		return false;
	tnode *n = x->node;
	sub_unlink(b, s, x);
	free(x);
	prune(n);
	broker__persist_sub(b, s, filter, flen, NULL, shared);
	return true;
}

/* Would subscribing s to this filter add a subscription (rather than replace one)? */
static bool sub_is_new(broker *b, const session *s, const char *filter, size_t flen, bool shared)
{
	return !sub_lookup(b, s, filter, flen, shared);
}

static bool has_wildcard(const char *f, size_t n)
{
	return memchr(f, '+', n) || memchr(f, '#', n);
}

/* May the session's user read (subscribe to) this filter? */
static bool may_subscribe(broker *b, conn *c, const char *fd, size_t flen)
{
	if (!b->cfg.auth || !b->cfg.auth->allow)
		return true;
	char *f = mqtt_xstrndup(fd, flen);
	bool ok = b->cfg.auth->allow(b->cfg.auth->ctx, c->s->client_id, c->username, f, false);
	free(f);
	return ok;
}

/*
 * One code per filter, in order [MQTT-3.8.4-6, MQTT-3.9.3-1]: the QoS granted, or why not.
 * A 5.0 client hears which reason (5.0 §3.9.3): 0x9E shared subscriptions (not supported),
 * 0xA1 a Subscription Identifier when they are switched off, 0xA2 a wildcard filter when
 * those are, 0x87 the ACL, 0x97 max_subscriptions. The standard also lets a server
 * DISCONNECT for the first three (5.0 §3.2.2.3.11-13); answering per filter keeps the
 * rest of the packet served. 3.1.1 has only 0x80. A filter that breaks the wildcard or
 * share-name rules never gets here: mqtt_validate makes it a protocol error (DISCONNECT
 * 0x8F); SUBACK's 0x8F is for a correctly formed filter the client may not have, which
 * here is the ACL's 0x87.
 */
void broker__handle_subscribe(broker *b, conn *c, const mqtt_packet *p)
{
	session *s = c->s;
	uint32_t max = b->cfg.max_subscriptions ? b->cfg.max_subscriptions : DEFAULT_MAX_SUBSCRIPTIONS;
	/* cv[0..count): the codes; cv[count..2*count): 1 where retained messages follow. */
	uint8_t codes[512], *cv = 2 * (size_t)p->subscribe.count <= sizeof codes ? codes
						: mqtt_xmalloc(2 * (size_t)p->subscribe.count);
	uint8_t *send_ret = cv + p->subscribe.count;
	bool v5 = c->version == MQTT_V5;
	/* One at most in a SUBSCRIBE, never 0 (the codec refuses both, 5.0 §3.8.2.1.2). */
	uint32_t sub_id = 0;
	if (v5 && p->props.sub_id_count) {
		mqtt_iter si = { 0, 0 };
		mqtt_props_sub_id_next(&p->props, &si, &sub_id);
	}
	mqtt_iter it = { 0, 0 };
	mqtt_sub e;
	uint32_t k = 0, over = 0;
	while (mqtt_sub_next(&p->subscribe, p->version, &it, &e)) {
		const char *fd = (const char *)e.filter.data;
		size_t flen = e.filter.len;
		send_ret[k] = 0;
		bool shared = v5 && flen >= 7 && !memcmp(fd, "$share/", 7);
		mqtt_str name, inner = { e.filter.data, e.filter.len };
		if (shared && b->cfg.no_shared_subs) {
			cv[k++] = 0x9E; /* announced Shared Subscription Available 0 */
			continue;
		}
		if (shared)
			share_split(fd, flen, &name, &inner);
		if (v5 && sub_id && b->cfg.no_sub_ids) {
			cv[k++] = 0xA1; /* announced Subscription Identifier Available 0 */
			continue;
		}
		if (b->cfg.no_wildcards && has_wildcard((const char *)inner.data, inner.len)) {
			cv[k++] = v5 ? 0xA2 : 0x80; /* announced Wildcard Subscription Available 0 */
			continue;
		}
		/* A shared one is asked for the filter its members receive. */
		if (!may_subscribe(b, c, (const char *)inner.data, inner.len)) {
			cv[k++] = v5 ? 0x87 : 0x80; /* refused: this filter only */
			continue;
		}
		bool fresh = sub_is_new(b, s, fd, flen, shared);
		if (s->nsubs >= max && fresh) {
			/* 0x80, the one failure code 3.1.1's SUBACK has [MQTT-3.9.3-2] (5.0: 0x97,
			 * quota exceeded), for this filter alone, in its place [MQTT-3.9.3-1]; the
			 * rest of the packet is served. */
			cv[k++] = v5 ? 0x97 : 0x80;
			over++;
			continue;
		}
		/* Granted at most the server's Maximum QoS; asked for more, it still subscribes
		 * [MQTT-3.2.2-10]. */
		uint8_t q = e.qos < b->cfg.max_qos ? e.qos : b->cfg.max_qos;
		uint8_t opts = (uint8_t)((e.no_local ? SUB_NO_LOCAL : 0) | (e.retain_as_published ? SUB_RAP : 0) |
					 (shared ? SUB_SHARED : 0));
		broker__sub_add(b, s, fd, flen, q, opts, sub_id);
		/* Retain Handling: 0 sends the retained messages [MQTT-3.3.1-9], 1 only for a
		 * subscription that did not exist [MQTT-3.3.1-10], 2 none [MQTT-3.3.1-11]
		 * (3.1.1: always, as 0). None for a shared subscription (5.0 §4.8.2). */
		send_ret[k] = !shared && (e.retain_handling == 0 || (b->cfg.test_faults & BROKER_TF_RH_IGNORED) || (e.retain_handling == 1 && fresh));
		cv[k++] = q;
	}
	if (over) {
		b->st.subs_refused += over;
		if (!c->subs_limit_logged) { /* once per connection: a client that insists is not a log flood */
			c->subs_limit_logged = true;
			broker__core_log(b, "refused %u of %u filters from %s client=%s: max_subscriptions %u reached "
				    "(further refusals on this connection are only counted)",
				 over, k, c->peer, s->client_id, max);
		}
	}
	mqtt_packet r = { .type = MQTT_SUBACK, .version = MQTT_V311, .packet_id = p->packet_id };
	r.codes = (mqtt_str){ cv, k };
	/* SUBACK promises the subscription: it waits for the sync. Sent ahead of it, a crash
	 * could forget the subscription but keep the session (synced earlier), and the client,
	 * told "session present" on its return, would never subscribe again (the crash sweep,
	 * tests/test_crashsweep.c, found it). */
	broker__send_later(b, c, &r);
	/* Retained messages follow the SUBACK, for every filter granted that wants them. */
	it = (mqtt_iter){ 0, 0 };
	for (uint32_t i = 0; mqtt_sub_next(&p->subscribe, p->version, &it, &e); i++)
		if (send_ret[i])
			broker__retained_deliver(b, s, (const char *)e.filter.data, e.filter.len, cv[i], sub_id);
	if (cv != codes)
		free(cv);
}

void broker__handle_unsubscribe(broker *b, conn *c, const mqtt_packet *p)
{
	session *s = c->s;
	mqtt_iter it = { 0, 0 };
	mqtt_str f;
	uint8_t codes[256], *cv = p->unsubscribe.count <= sizeof codes ? codes : mqtt_xmalloc(p->unsubscribe.count);
	bool v5 = c->version == MQTT_V5;
	uint32_t k = 0;
	while (mqtt_str_next(&p->unsubscribe, &it, &f)) {
		bool shared = v5 && f.len >= 7 && !memcmp(f.data, "$share/", 7);
		mqtt_str name, inner = f;
		if (shared)
			share_split((const char *)f.data, f.len, &name, &inner);
		if (v5 && !may_subscribe(b, c, (const char *)inner.data, inner.len)) {
			/* 0x87: a filter this user may not subscribe to is not theirs to drop either;
			 * nothing is removed (3.1.1, with no code to say so, removes it as before). */
			cv[k++] = 0x87;
			continue;
		}
		bool had = broker__sub_remove(b, s, (const char *)f.data, f.len, shared);
		if (had && !shared && (b->cfg.test_faults & BROKER_TF_UNSUB_DROPS_INFLIGHT))
			broker__inflight_drop_matching(b, s, f.data, f.len);
		cv[k++] = had ? 0x00 : 0x11; /* 5.0: success, or no subscription existed */
	}
	/* UNSUBACK even when nothing matched [MQTT-3.10.4-5]; 5.0 gives a code per filter,
	 * in order [MQTT-3.11.3-1]; 3.1.1 has none. */
	mqtt_packet r = { .type = MQTT_UNSUBACK, .version = MQTT_V311, .packet_id = p->packet_id };
	if (v5)
		r.codes = (mqtt_str){ cv, k };
	broker__core_send(b, c, &r);
	if (cv != codes)
		free(cv);
}

void broker__subs_drop_session(broker *b, session *s)
{
	while (s->subs) {
		sub *x = s->subs;
		tnode *node = x->node;
		sub_unlink(b, s, x);
		free(x);
		prune(node);
	}
	free(s->sub_tab);
	s->sub_tab = NULL;
	s->sub_tab_cap = 0;
}

void broker__tree_free(tnode *n)
{
	for (tnode *c = n->children, *next; c; c = next) {
		next = c->sibling;
		broker__tree_free(c);
		free(c->level);
		free(c);
	}
	for (sub *x = n->subs, *next; x; x = next) {
		next = x->next_in_node;
		free(x);
	}
	for (sgroup *g = n->groups, *gn; g; g = gn) {
		gn = g->next_in_node;
		for (sub *x = g->members, *next; x; x = next) {
			next = x->next_in_node;
			free(x);
		}
		free(g->name);
		free(g);
	}
	n->groups = n->groups_tail = NULL;
	free(n->tab);
	n->tab = NULL;
	n->tab_cap = n->nchildren = 0;
	n->children = n->children_tail = n->plus = n->hash = NULL;
	n->subs = n->subs_tail = NULL;
}

typedef struct vec {
	sub **v;
	size_t n, cap;
	sgroup **g;        /* shared groups met on the way */
	size_t ng, gcap;
	bool plus_multi;   /* BROKER_TF_PLUS_MULTI_LEVEL */
} vec;

static void add_subs(vec *out, const tnode *n)
{
	for (sub *x = n->subs; x; x = x->next_in_node) {
		if (out->n == out->cap) {
			out->cap = out->cap ? 2 * out->cap : 16;
			sub **v = mqtt_xrealloc(out->v, out->cap * sizeof *v);
			out->v = v;
		}
		out->v[out->n++] = x;
	}
	for (sgroup *g = n->groups; g; g = g->next_in_node) {
		if (out->ng == out->gcap) {
			out->gcap = out->gcap ? 2 * out->gcap : 8;
			sgroup **v = mqtt_xrealloc(out->g, out->gcap * sizeof *v);
			out->g = v;
		}
		out->g[out->ng++] = g;
	}
}

static void walk(const tnode *n, const char *t, bool root, vec *out);

/* c matched the level that ends the topic (`last`) or one that more levels follow (at t). */
static void matched(const tnode *c, const char *t, bool last, vec *out)
{
	if (!last) {
		walk(c, t, false, out);
		return;
	}
	add_subs(out, c);
	if (c->hash)
		add_subs(out, c->hash); /* "a/#" matches "a" too */
}

/* n's children stand for the level that starts at t. A "#" child matches this level and
 * all below; a "+" child this level, whatever it is; an exact child only its own text,
 * found by hash. So at most three children are looked at per level, however many there
 * are. Wildcards at the first level do not match a topic that starts with '$'
 * [MQTT-4.7.2-1]. Topics never contain '+' or '#' (the codec refuses them, MQTT-3.3.2-2),
 * so the exact child found is never a wildcard one counted twice. */
static void walk(const tnode *n, const char *t, bool root, vec *out)
{
	const char *slash = strchr(t, '/');
	size_t len = slash ? (size_t)(slash - t) : strlen(t);
	bool last = !slash;
	if (!(root && t[0] == '$')) {
		if (n->hash)
			add_subs(out, n->hash);
		if (n->plus)
			matched(n->plus, t + len + 1, last, out);
		if (n->plus && !last && out->plus_multi)
			add_subs(out, n->plus); /* the broken "+": this level and all below */
	}
	const tnode *c = child_find(n, t, len);
	if (c && c != n->plus && c != n->hash)
		matched(c, t + len + 1, last, out);
}

static int by_session_then_seq(const void *a, const void *b)
{
	const sub *x = *(sub *const *)a, *y = *(sub *const *)b;
	if (x->s->seq != y->s->seq)
		return x->s->seq < y->s->seq ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_group_id(const void *a, const void *b)
{
	const sgroup *x = *(sgroup *const *)a, *y = *(sgroup *const *)b;
	return x->id < y->id ? -1 : x->id > y->id;
}

size_t broker__tree_match(broker *b, const char *topic, sub ***out, sgroup ***groups, size_t *ngroups)
{
	vec v = { .plus_multi = b->cfg.test_faults & BROKER_TF_PLUS_MULTI_LEVEL };
	walk(&b->root, topic, !(b->cfg.test_faults & BROKER_TF_DOLLAR_WILDCARD), &v);
	/* Grouped by session, sessions in the order they were created; broker__route makes
	 * one delivery per session of its group. Shared groups by creation (each node is met
	 * once, so each group once). */
	if (v.n > 1)
		qsort(v.v, v.n, sizeof *v.v, by_session_then_seq);
	if (v.ng > 1)
		qsort(v.g, v.ng, sizeof *v.g, by_group_id);
	*out = v.v;
	*groups = v.g;
	*ngroups = v.ng;
	return v.n;
}
