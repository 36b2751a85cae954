/*
 * heap.c - the broker's timer heap (heap.h).
 */
#include "broker/heap.h"
#include "mqtt/alloc.h"

#include <stdbool.h>
#include <stdlib.h>

static bool earlier(const bheap_item *a, const bheap_item *b)
{
	return a->at < b->at || (a->at == b->at && a->tie < b->tie);
}

static void place(bheap *h, size_t i, bheap_item *it)
{
	h->v[i] = it;
	it->slot = (uint32_t)i + 1;
}

static void up(bheap *h, size_t i)
{
	bheap_item *it = h->v[i];
	while (i > 0 && earlier(it, h->v[(i - 1) / 2])) {
		place(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(h, i, it);
}

static void down(bheap *h, size_t i)
{
	bheap_item *it = h->v[i];
	for (;;) {
		size_t k = 2 * i + 1;
		if (k >= h->len)
			break;
		if (k + 1 < h->len && earlier(h->v[k + 1], h->v[k]))
			k++;
		if (!earlier(h->v[k], it))
			break;
		place(h, i, h->v[k]);
		i = k;
	}
	place(h, i, it);
}

void broker__bheap_set(bheap *h, bheap_item *it, int64_t at)
{
	if (it->slot && at != INT64_MAX) {
		/* Moved: up if earlier, down if later (every packet pushes a keepalive later). */
		it->at = at;
		up(h, it->slot - 1);
		down(h, it->slot - 1);
		return;
	}
	it->at = at;
	if (it->slot) {
		size_t i = it->slot - 1;
		bheap_item *last = h->v[--h->len];
		it->slot = 0;
		if (last != it) {
			place(h, i, last);
			up(h, i);
			down(h, last->slot - 1);
		}
		return;
	}
	if (at == INT64_MAX)
		return;
	if (h->len == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		bheap_item **v = mqtt_xrealloc(h->v, h->cap * sizeof *v);
		h->v = v;
	}
	place(h, h->len++, it);
	up(h, h->len - 1);
}

void broker__bheap_free(bheap *h)
{
	free(h->v);
	h->v = NULL;
	h->len = h->cap = 0;
}
