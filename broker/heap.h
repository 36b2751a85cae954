/*
 * heap.h - the broker's timer heap: an intrusive binary min-heap of items keyed by
 * (at, tie). Keys are unique (tie is an id or a creation counter), so the order items come
 * out in never depends on the heap's shape or on addresses. Used for keepalive deadlines
 * (conns) and session expiry (offline sessions).
 */
#ifndef MQTTSIM_BROKER_HEAP_H
#define MQTTSIM_BROKER_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct bheap_item {
	int64_t at;    /* INT64_MAX: not in the heap */
	uint64_t tie;  /* breaks ties between equal times; unique per heap */
	uint32_t slot; /* 1-based index in the heap; 0 when absent */
} bheap_item;

typedef struct bheap {
	bheap_item **v;
	size_t len, cap;
} bheap;

/* Put it in the heap at `at`, or move it there; INT64_MAX takes it out. */
void broker__bheap_set(bheap *h, bheap_item *it, int64_t at);
static inline bheap_item *broker__bheap_top(const bheap *h)
{
	return h->len ? h->v[0] : NULL;
}

static inline int64_t broker__bheap_next(const bheap *h)
{
	return h->len ? h->v[0]->at : INT64_MAX;
}

void broker__bheap_free(bheap *h);

#endif
