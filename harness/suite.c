/*
 * suite.c - the built-in suite (suite.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/suite.h"
#include "mqtt/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* path without "./" prefixes, repeated slashes or a trailing slash, into buf. */
static const char *norm(const char *path, char *buf, size_t cap)
{
	size_t n = 0;
	const char *p = path;
	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	for (; *p && n + 1 < cap; p++) {
		if (*p == '/' && (n == 0 || buf[n - 1] == '/'))
			continue;
		buf[n++] = *p;
	}
	while (n && buf[n - 1] == '/')
		n--;
	buf[n] = 0;
	return buf;
}

const suite_file *suite_find(const char *path)
{
	char b[1024];
	norm(path, b, sizeof b);
	for (size_t i = 0; i < suite__nfiles; i++)
		if (!strcmp(suite__files[i].path, b))
			return &suite__files[i];
	return NULL;
}

bool suite_has_dir(const char *dir)
{
	char b[1024];
	size_t n = strlen(norm(dir, b, sizeof b));
	for (size_t i = 0; i < suite__nfiles; i++)
		if (!strncmp(suite__files[i].path, b, n) && suite__files[i].path[n] == '/')
			return true;
	return false;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t suite_list_dir(const char *dir, const char *ext, char ***out)
{
	char b[1024];
	size_t n = strlen(norm(dir, b, sizeof b)), m = 0, el = strlen(ext);
	char **v = NULL;
	for (size_t i = 0; i < suite__nfiles; i++) {
		const char *p = suite__files[i].path;
		if (strncmp(p, b, n) || p[n] != '/')
			continue;
		const char *rest = p + n + 1, *slash = strchr(rest, '/');
		char *e;
		if (slash) {
			e = mqtt_xstrndup(p, (size_t)(slash - p)); /* a directory under dir */
		} else {
			size_t rl = strlen(rest);
			if (rl <= el || strcmp(rest + rl - el, ext))
				continue;
			e = mqtt_xstrdup(p);
		}
		bool dup = false;
		for (size_t k = 0; k < m && !dup; k++)
			dup = !strcmp(v[k], e);
		if (dup) {
			free(e);
			continue;
		}
		char **nv = mqtt_xrealloc(v, (m + 1) * sizeof *v);
		v = nv;
		v[m++] = e;
	}
	if (m)
		qsort(v, m, sizeof *v, by_path);
	*out = v;
	return m;
}

scenario *suite_scenario_builtin(const char *path, sc_errors *e)
{
	const suite_file *f = suite_find(path);
	if (!f)
		return scenario_load(path, e); /* says what is missing, as for any file */
	return scenario_parse(f->path, (const char *)f->data, f->len, e);
}

scenario *suite_scenario_load(const char *path, sc_errors *e)
{
	struct stat st;
	if (stat(path, &st) != 0 && suite_find(path))
		return suite_scenario_builtin(path, e);
	return scenario_load(path, e);
}
