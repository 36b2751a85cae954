/*
 * list.h - the doubly linked lists of the broker (and of its sim shell): a list keeps its
 * two ends, head and tail; each element keeps its neighbours in two fields named for the
 * list (prev and next, or prev_in_node and next_in_node for an element on several lists).
 * Macros, because every list has its own element type and field names; each argument may
 * be evaluated more than once, so pass plain lvalues.
 */
#ifndef MQTTSIM_BROKER_LIST_H
#define MQTTSIM_BROKER_LIST_H

/* x, whose next field is NULL (a new element), at the tail. */
#define BROKER_LIST_APPEND(head, tail, x, prev, next) \
	do {                                          \
		(x)->prev = (tail);                   \
		if (tail)                             \
			(tail)->next = (x);           \
		else                                  \
			(head) = (x);                 \
		(tail) = (x);                         \
	} while (0)

/* x out of the list; its own prev and next are left as they were. */
#define BROKER_LIST_UNLINK(head, tail, x, prev, next) \
	do {                                          \
		if ((x)->prev)                        \
			(x)->prev->next = (x)->next;  \
		else                                  \
			(head) = (x)->next;           \
		if ((x)->next)                        \
			(x)->next->prev = (x)->prev;  \
		else                                  \
			(tail) = (x)->prev;           \
	} while (0)

#endif
