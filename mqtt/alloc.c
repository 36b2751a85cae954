/*
 * alloc.c - allocation that never returns NULL (alloc.h).
 */
#include "mqtt/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *mqtt_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *mqtt_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

void *mqtt_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

char *mqtt_xstrndup(const char *s, size_t n)
{
	char *d = mqtt_xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

char *mqtt_xstrdup(const char *s)
{
	return s ? mqtt_xstrndup(s, strlen(s)) : NULL;
}

void *mqtt_xgrow(void *v, size_t *cap, size_t need, size_t size, size_t min)
{
	if (need <= *cap)
		return v;
	size_t c = *cap ? *cap : min ? min : 16;
	while (c < need) {
		if (c > SIZE_MAX / 2 / size)
			abort();
		c *= 2;
	}
	v = mqtt_xrealloc(v, c * size);
	*cap = c;
	return v;
}

void mqtt_xappend(unsigned char **buf, size_t *len, size_t *cap, const void *data, size_t n, size_t min)
{
	if (!n)
		return;
	*buf = mqtt_xgrow(*buf, cap, *len + n, 1, min);
	memcpy(*buf + *len, data, n);
	*len += n;
}
