/*
 * world.c - the virtual clock and the event queue.
 *
 * The queue is a 4-ary min-heap keyed by (at, seq), the key stored beside each timer
 * pointer so that comparing never touches timer memory, plus a ring for timers armed
 * for the current instant (most of the events: notifications, segments leaving at once),
 * which are appended in key order and never enter the heap. Each timer knows
 * its slot, so cancel and re-arm are O(log n) without searching: keepalive timers are
 * re-armed on every packet, so that path must stay cheap: a re-arm to a later time only
 * writes the timer's new key, and the heap entry, still under the old key, is put back
 * under the new one when it reaches the top (a lazy re-arm; O(1) for the common case).
 * `seq` is a counter bumped on every arm, which makes the key unique: the order never
 * depends on addresses.
 */
#include "sim/world.h"

#include <stdlib.h>
#include <string.h>

sim_world *sim_world_new(uint64_t seed)
{
	sim_world *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->seed = seed;
	w->trace_hash = SIM_HASH_INIT;
	return w;
}

void sim_world_free(sim_world *w)
{
	if (!w)
		return;
	sim_faults_free(w);
	sim_net_free(w);
	free(w->heap);
	free(w->fq);
	free(w->trace_text);
	free(w);
}

uint64_t sim_world_seed(const sim_world *w) { return w->seed; }
sim_us sim_now(const sim_world *w) { return w->now; }
uint64_t sim_steps(const sim_world *w) { return w->steps; }
size_t sim_pending(const sim_world *w) { return w->heap_len + w->fq_live; }

void sim_timer_init(sim_timer *t, sim_timer_fn fn, void *arg)
{
	memset(t, 0, sizeof *t);
	t->fn = fn;
	t->arg = arg;
}

static inline bool before(const sim_heap_ent *a, const sim_heap_ent *b)
{
	/* No short cut: evaluated whole, the comparison compiles without branches, which
	 * matters in the choice among four children (a branch there is a coin toss). */
	return (a->at < b->at) | ((a->at == b->at) & (a->seq < b->seq));
}

/* ---- the heap: 4-ary, so a pop walks half the levels of a binary one; the four
 * children of a node are adjacent entries, mostly one or two cache lines. */

#define ARITY 4

static inline void place(sim_world *w, size_t i, sim_heap_ent e)
{
	w->heap[i] = e;
	e.t->slot = (uint32_t)i + 1;
}

static void sift_up(sim_world *w, size_t i)
{
	sim_heap_ent e = w->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / ARITY;
		if (!before(&e, &w->heap[parent]))
			break;
		place(w, i, w->heap[parent]);
		i = parent;
	}
	place(w, i, e);
}

static void sift_down(sim_world *w, size_t i)
{
	sim_heap_ent e = w->heap[i];
	size_t n = w->heap_len;
	for (;;) {
		size_t c = ARITY * i + 1;
		if (c >= n)
			break;
		size_t best = c, last = c + ARITY < n ? c + ARITY : n;
		for (size_t k = c + 1; k < last; k++)
			best = before(&w->heap[k], &w->heap[best]) ? k : best;
		if (!before(&w->heap[best], &e))
			break;
		place(w, i, w->heap[best]);
		i = best;
	}
	place(w, i, e);
}

static void heap_remove(sim_world *w, sim_timer *t)
{
	size_t i = t->slot - 1;
	sim_heap_ent last = w->heap[--w->heap_len];
	t->slot = 0;
	if (last.t == t)
		return;
	place(w, i, last);
	if (i > 0 && before(&last, &w->heap[(i - 1) / ARITY]))
		sift_up(w, i);
	else
		sift_down(w, i);
}

static void heap_insert(sim_world *w, sim_heap_ent e)
{
	if (w->heap_len == w->heap_cap) {
		size_t cap = w->heap_cap ? w->heap_cap * 2 : 256;
		sim_heap_ent *h = realloc(w->heap, cap * sizeof *h);
		if (!h)
			abort(); /* a simulation that cannot queue an event cannot go on */
		w->heap = h;
		w->heap_cap = cap;
	}
	place(w, w->heap_len++, e);
	sift_up(w, w->heap_len - 1);
}

/* ---- the now-queue: a ring of entries in key order, for timers armed for the current
 * instant (deferred notifications, a segment leaving at once). Such a key is later than
 * every key already queued at this time, so appending keeps the ring sorted and the
 * heap never sees them. A timer in the ring has slot FQ_BIT | (position & FQ_MASK). */

#define FQ_BIT 0x80000000u
#define FQ_MASK 0x7fffffffu

static inline bool in_fq(const sim_timer *t) { return t->slot & FQ_BIT; }
static inline sim_heap_ent *fq_ent(sim_world *w, uint64_t pos) { return &w->fq[pos & (w->fq_cap - 1)]; }

static void fq_append(sim_world *w, sim_heap_ent e)
{
	if (w->fq_tail - w->fq_head == w->fq_cap) {
		size_t cap = w->fq_cap ? w->fq_cap * 2 : 256;
		if (cap > (size_t)FQ_MASK + 1)
			abort(); /* two thousand million events at one instant */
		sim_heap_ent *q = malloc(cap * sizeof *q);
		if (!q)
			abort();
		for (uint64_t p = w->fq_head; p != w->fq_tail; p++)
			q[p & (cap - 1)] = *fq_ent(w, p);
		free(w->fq);
		w->fq = q;
		w->fq_cap = cap;
	}
	*fq_ent(w, w->fq_tail) = e;
	e.t->slot = FQ_BIT | (uint32_t)(w->fq_tail & FQ_MASK);
	w->fq_tail++;
	w->fq_live++;
}

/* The ring's first live entry, or NULL; cancelled entries at the front are dropped. */
static sim_heap_ent *fq_front(sim_world *w)
{
	while (w->fq_head != w->fq_tail) {
		sim_heap_ent *e = fq_ent(w, w->fq_head);
		if (e->t)
			return e;
		w->fq_head++;
	}
	return NULL;
}

/* A timer's slot in the ring back to its entry: positions in the ring span far less
 * than FQ_MASK, so the low bits of the position find it. */
static sim_heap_ent *fq_of(sim_world *w, const sim_timer *t)
{
	return &w->fq[(t->slot & FQ_MASK) & (w->fq_cap - 1)];
}

static void fq_remove(sim_world *w, sim_timer *t)
{
	fq_of(w, t)->t = NULL;
	t->slot = 0;
	w->fq_live--;
}

/* Queue an unarmed timer under its own key. */
static void enqueue(sim_world *w, sim_timer *t)
{
	sim_heap_ent e = { t->at, t->seq, t };
	if (t->at == w->now) {
		sim_heap_ent *tail = w->fq_tail != w->fq_head ? fq_ent(w, w->fq_tail - 1) : NULL;
		if (!tail || before(tail, &e)) {
			fq_append(w, e);
			return;
		}
	}
	heap_insert(w, e);
}

void sim_timer_arm(sim_world *w, sim_timer *t, sim_us at)
{
	if (at < w->now)
		at = w->now; /* the past is now: never move time backwards */
	if (t->slot) {
		sim_heap_ent *e = in_fq(t) ? fq_of(w, t) : &w->heap[t->slot - 1];
		t->at = at;
		t->seq = w->seq++;
		if (at >= e->at) {
			/* Later than its place in the queue (a keepalive pushed back by a packet):
			 * the entry stays where it is, and when it comes up it is put back under
			 * the timer's own key without firing (sim_run). The key (at, seq) is the
			 * one an eager re-arm would have given, so the order of firing is the same. */
			return;
		}
		if (in_fq(t)) {
			fq_remove(w, t);
			enqueue(w, t);
			return;
		}
		e->at = at;
		e->seq = t->seq;
		sift_up(w, t->slot - 1);
		return;
	}
	t->at = at;
	t->seq = w->seq++;
	enqueue(w, t);
}

void sim_timer_after(sim_world *w, sim_timer *t, sim_us delay)
{
	sim_timer_arm(w, t, delay > SIM_FOREVER - w->now ? SIM_FOREVER : w->now + delay);
}

void sim_timer_cancel(sim_world *w, sim_timer *t)
{
	if (!t->slot)
		return;
	if (in_fq(t))
		fq_remove(w, t);
	else
		heap_remove(w, t);
}

void sim_halt(sim_world *w) { w->halted = true; }

int sim_run(sim_world *w, sim_us until, uint64_t max_steps)
{
	uint64_t fired = 0;
	w->halted = false;
	for (;;) {
		if (w->halted)
			return SIM_STOP_HALT;
		/* The budget first: an event that empties the queue must not also let time
		 * jump to the deadline before the caller has looked. */
		if (max_steps && fired == max_steps)
			return SIM_STOP_BUDGET;
		sim_heap_ent *f = w->fq_live ? fq_front(w) : NULL;
		sim_heap_ent *top = w->heap_len ? &w->heap[0] : NULL;
		if (!f && !top) {
			/* Nothing left to happen: time still runs to a finite deadline. */
			if (until != SIM_FOREVER && until > w->now)
				w->now = until;
			return SIM_STOP_QUIET;
		}
		bool from_fq = f && (!top || before(f, top));
		sim_heap_ent *e = from_fq ? f : top;
		sim_timer *t = e->t;
		if (e->at > until) {
			w->now = until;
			return SIM_STOP_DEADLINE;
		}
		if (e->seq != t->seq) {
			/* Re-armed later since it was placed: to its own key, nothing fires. */
			if (from_fq) {
				fq_remove(w, t);
				enqueue(w, t);
			} else {
				e->at = t->at;
				e->seq = t->seq;
				sift_down(w, 0);
			}
			continue;
		}
		if (from_fq)
			fq_remove(w, t);
		else
			heap_remove(w, t);
		w->now = t->at;
		w->steps++;
		fired++;
		t->fn(w, t);
	}
}
