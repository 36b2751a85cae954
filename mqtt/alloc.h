/*
 * alloc.h - the one allocation helper of the project. Every module allocates through these:
 * an allocation that fails ends the process at once (abort), so no caller carries a
 * NULL-then-abort block of its own, and none forgets one. The caller owns what is returned
 * (free() it).
 */
#ifndef MQTT_ALLOC_H
#define MQTT_ALLOC_H

#include <stddef.h>

void *mqtt_xmalloc(size_t n);
void *mqtt_xcalloc(size_t n, size_t size);
void *mqtt_xrealloc(void *p, size_t n);
/* s copied (NULL gives NULL); the _n form copies n bytes and adds a NUL. */
char *mqtt_xstrdup(const char *s);
char *mqtt_xstrndup(const char *s, size_t n);
/* An array v of *cap elements of `size` bytes grown, doubling from `min` (0: 16), until it
 * holds at least `need`; returns the (maybe moved) array. */
void *mqtt_xgrow(void *v, size_t *cap, size_t need, size_t size, size_t min);

/* Append n bytes of data to the byte buffer *buf (*len used of *cap), growing it as
 * mqtt_xgrow does. The receive buffers and output queues of every module use it. */
void mqtt_xappend(unsigned char **buf, size_t *len, size_t *cap, const void *data, size_t n, size_t min);

#endif
