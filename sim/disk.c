/*
 * disk.c - the virtual disk. Each file has what is durable (survives a crash) and what
 * is current (what reads see, like the page cache). fsync makes current durable.
 */
#include "sim/world.h"
#include "mqtt/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct vfile {
	char *name;
	uint8_t *cur, *dur;
	size_t cur_len, cur_cap, dur_len;
	struct vfile *next;
} vfile;

struct sim_disk {
	sim_host *host;
	vfile *files; /* creation order */
	bool torn;
};

sim_disk *sim_host_disk(sim_host *h)
{
	if (!h->disk) {
		h->disk = mqtt_xcalloc(1, sizeof *h->disk);
		h->disk->host = h;
	}
	return h->disk;
}

void sim_disk_set_torn(sim_disk *d, bool torn) { d->torn = torn; }

static vfile *find(sim_disk *d, const char *name)
{
	for (vfile *f = d->files; f; f = f->next)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static vfile *create(sim_disk *d, const char *name)
{
	vfile *f = calloc(1, sizeof *f);
	size_t n = strlen(name);
	if (!f || !(f->name = malloc(n + 1))) {
		free(f);
		return NULL;
	}
	memcpy(f->name, name, n + 1);
	vfile **pp = &d->files;
	while (*pp)
		pp = &(*pp)->next;
	*pp = f;
	return f;
}

static int reserve(vfile *f, size_t len)
{
	if (len <= f->cur_cap)
		return 0;
	size_t cap = f->cur_cap ? f->cur_cap : 256;
	while (cap < len)
		cap *= 2;
	uint8_t *n = realloc(f->cur, cap);
	if (!n)
		return -ENOMEM;
	f->cur = n;
	f->cur_cap = cap;
	return 0;
}

long sim_disk_write(sim_disk *d, const char *name, uint64_t off, const void *buf, size_t len)
{
	if (!d->host->up)
		return -EIO;
	vfile *f = find(d, name);
	if (!f && !(f = create(d, name)))
		return -ENOMEM;
	if (off + len > SIZE_MAX / 2 || reserve(f, (size_t)off + len))
		return -ENOMEM;
	if (off > f->cur_len)
		memset(f->cur + f->cur_len, 0, (size_t)off - f->cur_len);
	if (len)
		memcpy(f->cur + off, buf, len);
	if (off + len > f->cur_len)
		f->cur_len = (size_t)off + len;
	return (long)len;
}

long sim_disk_append(sim_disk *d, const char *name, const void *buf, size_t len)
{
	vfile *f = find(d, name);
	return sim_disk_write(d, name, f ? f->cur_len : 0, buf, len);
}

long sim_disk_read(sim_disk *d, const char *name, uint64_t off, void *buf, size_t len)
{
	if (!d->host->up)
		return -EIO;
	vfile *f = find(d, name);
	if (!f)
		return -ENOENT;
	if (off >= f->cur_len)
		return 0;
	size_t n = f->cur_len - (size_t)off < len ? f->cur_len - (size_t)off : len;
	memcpy(buf, f->cur + off, n);
	return (long)n;
}

long sim_disk_size(sim_disk *d, const char *name)
{
	if (!d->host->up)
		return -EIO;
	vfile *f = find(d, name);
	return f ? (long)f->cur_len : -ENOENT;
}

bool sim_disk_exists(sim_disk *d, const char *name) { return find(d, name) != NULL; }

int sim_disk_truncate(sim_disk *d, const char *name, uint64_t size)
{
	if (!d->host->up)
		return -EIO;
	vfile *f = find(d, name);
	if (!f)
		return -ENOENT;
	if (size > f->cur_len) {
		if (reserve(f, (size_t)size))
			return -ENOMEM;
		memset(f->cur + f->cur_len, 0, (size_t)size - f->cur_len);
	}
	f->cur_len = (size_t)size;
	return 0;
}

int sim_disk_fsync(sim_disk *d, const char *name)
{
	if (!d->host->up)
		return -EIO;
	vfile *f = find(d, name);
	if (!f)
		return -ENOENT;
	uint8_t *n = realloc(f->dur, f->cur_len ? f->cur_len : 1);
	if (!n)
		return -ENOMEM;
	f->dur = n;
	if (f->cur_len)
		memcpy(f->dur, f->cur, f->cur_len);
	f->dur_len = f->cur_len;
	return 0;
}

static void vfile_free(vfile *f)
{
	free(f->name);
	free(f->cur);
	free(f->dur);
	free(f);
}

int sim_disk_remove(sim_disk *d, const char *name)
{
	if (!d->host->up)
		return -EIO;
	for (vfile **pp = &d->files; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->name, name)) {
			vfile *f = *pp;
			*pp = f->next;
			vfile_free(f);
			return 0;
		}
	}
	return -ENOENT;
}

int sim_disk_rename(sim_disk *d, const char *from, const char *to)
{
	if (!d->host->up)
		return -EIO;
	vfile *f = find(d, from);
	if (!f)
		return -ENOENT;
	if (!strcmp(from, to))
		return 0;
	size_t n = strlen(to);
	char *name = malloc(n + 1);
	if (!name)
		return -ENOMEM;
	memcpy(name, to, n + 1);
	sim_disk_remove(d, to);
	free(f->name);
	f->name = name;
	return 0;
}

/* Crash: each file goes back to what was durable. With torn writes on, a file whose
 * unsynced change only appended keeps a random part of that tail. */
void sim_disk_crash(sim_disk *d, sim_rng *rng)
{
	for (vfile *f = d->files; f; f = f->next) {
		size_t keep = f->dur_len;
		bool appended = f->cur_len > f->dur_len &&
				(f->dur_len == 0 || memcmp(f->cur, f->dur, f->dur_len) == 0);
		if (d->torn && appended)
			keep += (size_t)sim_rng_below(rng, f->cur_len - f->dur_len + 1);
		if (!appended || keep <= f->dur_len) {
			if (f->dur_len && reserve(f, f->dur_len) == 0)
				memcpy(f->cur, f->dur, f->dur_len);
			keep = f->dur_len;
		}
		f->cur_len = keep;
		if (keep > f->dur_len) {
			/* The torn part reached the platter: a later crash keeps it too. */
			uint8_t *n = realloc(f->dur, keep);
			if (n) {
				f->dur = n;
				memcpy(f->dur, f->cur, keep);
				f->dur_len = keep;
			}
		}
	}
}

void sim_disk_free(sim_disk *d)
{
	for (vfile *f = d->files, *n; f; f = n) {
		n = f->next;
		vfile_free(f);
	}
	free(d);
}
