/*
 * world.c - the virtual clock and the event queue.
 *
 * The queue is a binary min-heap keyed by (at, seq), the key stored beside each timer
 * pointer so that sifting never touches timer memory. Each timer knows
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
	free(w->trace_text);
	free(w);
}

uint64_t sim_world_seed(const sim_world *w) { return w->seed; }
sim_us sim_now(const sim_world *w) { return w->now; }
uint64_t sim_steps(const sim_world *w) { return w->steps; }
size_t sim_pending(const sim_world *w) { return w->heap_len; }

void sim_timer_init(sim_timer *t, sim_timer_fn fn, void *arg)
{
	memset(t, 0, sizeof *t);
	t->fn = fn;
	t->arg = arg;
}

static inline bool before(const sim_heap_ent *a, const sim_heap_ent *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static inline void place(sim_world *w, size_t i, sim_heap_ent e)
{
	w->heap[i] = e;
	e.t->slot = (uint32_t)i + 1;
}

static void sift_up(sim_world *w, size_t i)
{
	sim_heap_ent e = w->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
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
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!before(&w->heap[c], &e))
			break;
		place(w, i, w->heap[c]);
		i = c;
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
	if (i > 0 && before(&last, &w->heap[(i - 1) / 2]))
		sift_up(w, i);
	else
		sift_down(w, i);
}

void sim_timer_arm(sim_world *w, sim_timer *t, sim_us at)
{
	if (at < w->now)
		at = w->now; /* the past is now: never move time backwards */
	if (t->slot) {
		sim_heap_ent *e = &w->heap[t->slot - 1];
		t->at = at;
		t->seq = w->seq++;
		if (at >= e->at) {
			/* Later than its place in the heap (a keepalive pushed back by a packet): the
			 * entry stays where it is, and when it comes up it is put back under the
			 * timer's own key without firing (sim_run). The key (at, seq) is the one an
			 * eager re-arm would have given, so the order of firing is the same. */
			return;
		}
		e->at = at;
		e->seq = t->seq;
		sift_up(w, t->slot - 1);
		return;
	}
	if (w->heap_len == w->heap_cap) {
		size_t cap = w->heap_cap ? w->heap_cap * 2 : 256;
		sim_heap_ent *h = realloc(w->heap, cap * sizeof *h);
		if (!h)
			abort(); /* a simulation that cannot queue an event cannot go on */
		w->heap = h;
		w->heap_cap = cap;
	}
	t->at = at;
	t->seq = w->seq++;
	place(w, w->heap_len++, (sim_heap_ent){ at, t->seq, t });
	sift_up(w, w->heap_len - 1);
}

void sim_timer_after(sim_world *w, sim_timer *t, sim_us delay)
{
	sim_timer_arm(w, t, delay > SIM_FOREVER - w->now ? SIM_FOREVER : w->now + delay);
}

void sim_timer_cancel(sim_world *w, sim_timer *t)
{
	if (t->slot)
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
		if (w->heap_len == 0) {
			/* Nothing left to happen: time still runs to a finite deadline. */
			if (until != SIM_FOREVER && until > w->now)
				w->now = until;
			return SIM_STOP_QUIET;
		}
		sim_timer *t = w->heap[0].t;
		if (w->heap[0].at > until) {
			w->now = until;
			return SIM_STOP_DEADLINE;
		}
		if (w->heap[0].seq != t->seq) {
			/* Re-armed later since it was placed: to its own key, nothing fires. */
			w->heap[0].at = t->at;
			w->heap[0].seq = t->seq;
			sift_down(w, 0);
			continue;
		}
		heap_remove(w, t);
		w->now = t->at;
		w->steps++;
		fired++;
		t->fn(w, t);
	}
}
