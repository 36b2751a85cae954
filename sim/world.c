/*
 * world.c - the virtual clock and the event queue.
 *
 * The queue is a 4-ary min-heap keyed by (at, seq), the key stored beside each timer
 * pointer so that comparing never touches timer memory, for the far future (keepalives,
 * retransmissions), and a wheel of one slot per microsecond for the next 16 ms, where most
 * events fall (notifications for now, segments in flight, ticks); see below. Each timer knows
 * its slot, so cancel and re-arm are O(log n) without searching: keepalive timers are
 * re-armed on every packet, so that path must stay cheap: a re-arm to a later time only
 * writes the timer's new key, and the heap entry, still under the old key, is put back
 * under the new one when it reaches the top (a lazy re-arm; O(1) for the common case).
 * `seq` is a counter bumped on every arm, which makes the key unique: the order never
 * depends on addresses.
 */
#include "sim/world.h"
#include "mqtt/alloc.h"

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
	free(w->wheel);
	free(w->wbits);
	free(w->trace_text);
	free(w);
}

uint64_t sim_world_seed(const sim_world *w) { return w->seed; }
sim_us sim_now(const sim_world *w) { return w->now; }
uint64_t sim_steps(const sim_world *w) { return w->steps; }
size_t sim_pending(const sim_world *w) { return w->heap_len + w->wcount; }

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
		sim_heap_ent *h = mqtt_xrealloc(w->heap, cap * sizeof *h);
		w->heap = h;
		w->heap_cap = cap;
	}
	place(w, w->heap_len++, e);
	sift_up(w, w->heap_len - 1);
}

/* ---- the wheel: timers due within the next WHEEL_SLOTS microseconds (a segment's
 * flight, the next tick, a notification for now), one slot per microsecond. Every timer
 * in the wheel lies in [wbase, wbase + WHEEL_SLOTS), wbase being the latest time the loop
 * reached, so a slot holds one instant only, and its list is in seq order: an arm takes
 * the highest seq yet, so appending keeps it sorted. Insert and cancel are O(1);
 * the next due slot is found in an occupancy bitmap. A timer in the wheel has slot
 * IN_WHEEL and is its own list node. */

#define WHEEL_BITS 14
#define WHEEL_SLOTS ((sim_us)1 << WHEEL_BITS)
#define WHEEL_MASK ((size_t)WHEEL_SLOTS - 1)
#define IN_WHEEL UINT32_MAX

static inline size_t wslot(sim_us at) { return (size_t)at & WHEEL_MASK; }

static void wheel_insert(sim_world *w, sim_timer *t)
{
	if (!w->wheel) {
		w->wheel = mqtt_xcalloc((size_t)WHEEL_SLOTS, sizeof *w->wheel);
		w->wbits = mqtt_xcalloc((size_t)WHEEL_SLOTS / 64, sizeof *w->wbits);
	}
	size_t i = wslot(t->at);
	sim_timer *head = w->wheel[i];
	t->slot = IN_WHEEL;
	if (!head) {
		t->wnext = t->wprev = t;
		w->wheel[i] = t;
		w->wbits[i >> 6] |= 1ull << (i & 63);
	} else {
		/* Circular: head->wprev is the tail. Only fresh arms come here (a lazy heap entry
		 * is put back in the heap), and a fresh arm has the highest seq yet, so it goes
		 * last without reading the other timers' keys. */
		sim_timer *tail = head->wprev;
		t->wprev = tail;
		t->wnext = head;
		tail->wnext = t;
		head->wprev = t;
	}
	w->wcount++;
}

static void wheel_remove(sim_world *w, sim_timer *t)
{
	size_t i = wslot(t->at);
	if (t->wnext == t) {
		w->wheel[i] = NULL;
		w->wbits[i >> 6] &= ~(1ull << (i & 63));
	} else {
		t->wprev->wnext = t->wnext;
		t->wnext->wprev = t->wprev;
		if (w->wheel[i] == t)
			w->wheel[i] = t->wnext;
	}
	t->slot = 0;
	w->wcount--;
}

/* The earliest timer in the wheel: the first occupied slot from wbase on, cyclically. */
static sim_timer *wheel_first(sim_world *w)
{
	size_t i = wslot(w->wbase), word = i >> 6, nwords = (size_t)WHEEL_SLOTS / 64;
	uint64_t bits = w->wbits[word] & (~0ull << (i & 63));
	for (size_t k = 0; k <= nwords; k++) {
		if (bits)
			return w->wheel[(word << 6) | (size_t)__builtin_ctzll(bits)];
		word = (word + 1) & (nwords - 1);
		bits = w->wbits[word];
	}
	return NULL; /* not reached while wcount > 0 */
}

/* Queue an unarmed timer just given the latest seq. */
static void enqueue(sim_world *w, sim_timer *t)
{
	if (t->at >= w->wbase && t->at - w->wbase < WHEEL_SLOTS) {
		wheel_insert(w, t);
		return;
	}
	heap_insert(w, (sim_heap_ent){ t->at, t->seq, t });
}

void sim_timer_arm(sim_world *w, sim_timer *t, sim_us at)
{
	if (at < w->now)
		at = w->now; /* the past is now: never move time backwards */
	if (t->slot == IN_WHEEL) {
		/* Moving within the wheel, or out of it, is O(1): no need to be lazy. */
		wheel_remove(w, t);
	} else if (t->slot) {
		sim_heap_ent *e = &w->heap[t->slot - 1];
		t->at = at;
		t->seq = w->seq++;
		if (at >= e->at) {
			/* Later than its place in the heap (a keepalive pushed back by a packet):
			 * the entry stays where it is, and when it comes up it is put back under
			 * the timer's own key without firing (sim_run). The key (at, seq) is the
			 * one an eager re-arm would have given, so the order of firing is the same. */
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
	if (t->slot == IN_WHEEL)
		wheel_remove(w, t);
	else if (t->slot)
		heap_remove(w, t);
}

void sim__timers_drop(sim_world *w, void (*fn)(sim_timer *t))
{
	for (size_t i = 0; i < w->heap_len; i++) {
		w->heap[i].t->slot = 0;
		fn(w->heap[i].t);
	}
	w->heap_len = 0;
	for (size_t i = 0; w->wcount && i < (size_t)WHEEL_SLOTS; i++) {
		sim_timer *t = w->wheel[i];
		if (!t)
			continue;
		w->wheel[i] = NULL;
		t->wprev->wnext = NULL; /* the tail: ends the walk */
		for (sim_timer *n; t; t = n) {
			n = t->wnext;
			t->slot = 0;
			w->wcount--;
			fn(t);
		}
	}
	if (w->wbits)
		memset(w->wbits, 0, (size_t)WHEEL_SLOTS / 64 * sizeof *w->wbits);
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
		sim_timer *wt = w->wcount ? wheel_first(w) : NULL;
		sim_heap_ent *top = w->heap_len ? &w->heap[0] : NULL;
		if (!wt && !top) {
			/* Nothing left to happen: time still runs to a finite deadline. */
			if (until != SIM_FOREVER && until > w->now)
				w->now = until;
			if (w->now > w->wbase)
				w->wbase = w->now;
			return SIM_STOP_QUIET;
		}
		bool from_wheel = wt && (!top || wt->at < top->at || (wt->at == top->at && wt->seq < top->seq));
		sim_us at = from_wheel ? wt->at : top->at;
		if (at > until) {
			w->now = until;
			if (w->now > w->wbase)
				w->wbase = w->now;
			return SIM_STOP_DEADLINE;
		}
		sim_timer *t;
		if (from_wheel) {
			t = wt;
			wheel_remove(w, t);
		} else {
			t = top->t;
			if (top->seq != t->seq) {
				/* Re-armed later since it was placed: to its own key, nothing fires. */
				top->at = t->at;
				top->seq = t->seq;
				sift_down(w, 0);
				continue;
			}
			heap_remove(w, t);
		}
		w->now = t->at;
		if (w->now > w->wbase)
			w->wbase = w->now;
		w->steps++;
		fired++;
		t->fn(w, t);
	}
}
