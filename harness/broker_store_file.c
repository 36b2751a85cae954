/*
 * broker_store_file.c - see broker_store_file.h. Real files: used only by the socket shell.
 */
#include "harness/broker_store_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct broker_file_store {
	char *dir;
	char *path, *tmp;
	int fd;
	broker_store ops;
};

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fs_append(void *ctx, const void *data, size_t len)
{
	broker_file_store *fs = ctx;
	return write_all(fs->fd, data, len);
}

static int fs_sync(void *ctx)
{
	broker_file_store *fs = ctx;
	return fsync(fs->fd) < 0 ? -errno : 0;
}

static int fs_load(void *ctx, uint8_t **data, size_t *len)
{
	broker_file_store *fs = ctx;
	struct stat st;
	*data = NULL;
	*len = 0;
	if (fstat(fs->fd, &st) < 0)
		return -errno;
	if (st.st_size == 0)
		return 0;
	uint8_t *buf = malloc((size_t)st.st_size);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fs->fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* A log read only in part would look torn where it is not. */
			int e = errno;
			free(buf);
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*data = buf;
	*len = got;
	return 0;
}

static void sync_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

static int fs_replace(void *ctx, const void *data, size_t len)
{
	broker_file_store *fs = ctx;
	int fd = open(fs->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, data, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && rename(fs->tmp, fs->path) < 0)
		rc = -errno;
	if (rc)
		return rc;
	/* The rename is durable only once the directory is. */
	sync_dir(fs->dir);
	/* Appends go to the new file from now on. */
	int nfd = open(fs->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (nfd < 0)
		return -errno;
	close(fs->fd);
	fs->fd = nfd;
	return 0;
}

/* The unread tail goes to the first free DIR/broker.log.torn-N: never over an older one. */
static int fs_keep(void *ctx, uint64_t offset, const void *data, size_t len, char *where,
		   size_t where_cap)
{
	broker_file_store *fs = ctx;
	(void)offset;
	size_t cap = strlen(fs->path) + 32;
	char *name = malloc(cap);
	if (!name)
		return -ENOMEM;
	int fd = -1;
	for (unsigned i = 1; i <= BROKER_FILE_STORE_MAX_TORN; i++) {
		snprintf(name, cap, "%s.torn-%u", fs->path, i);
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		int e = errno;
		if (e == EEXIST)
			snprintf(where, where_cap, "%s.torn-1 to -%u all exist: move old ones away",
				 fs->path, BROKER_FILE_STORE_MAX_TORN);
		else
			snprintf(where, where_cap, "cannot create %s: %s", name, strerror(e));
		free(name);
		return -e;
	}
	int rc = write_all(fd, data, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc) {
		snprintf(where, where_cap, "cannot write %s: %s", name, strerror(-rc));
		unlink(name);
		free(name);
		return rc;
	}
	sync_dir(fs->dir);
	snprintf(where, where_cap, "%s", name);
	free(name);
	return 0;
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

broker_file_store *broker_file_store_open(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", dir, stat(dir, &st) < 0 ? strerror(errno) : "not a directory");
		return NULL;
	}
	broker_file_store *fs = calloc(1, sizeof *fs);
	if (fs)
		fs->fd = -1;
	if (!fs || !(fs->dir = strdup(dir)) || !(fs->path = join(dir, "broker.log")) ||
	    !(fs->tmp = join(dir, "broker.log.new"))) {
		snprintf(err, errlen, "out of memory");
		broker_file_store_close(fs);
		return NULL;
	}
	/* O_RDWR: recovery reads it back through the same descriptor. */
	fs->fd = open(fs->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fs->fd < 0) {
		snprintf(err, errlen, "%s: %s", fs->path, strerror(errno));
		fs->fd = -1;
		broker_file_store_close(fs);
		return NULL;
	}
	fs->ops = (broker_store){ fs, fs_append, fs_sync, fs_load, fs_replace, fs_keep };
	return fs;
}

void broker_file_store_close(broker_file_store *fs)
{
	if (!fs)
		return;
	if (fs->fd >= 0)
		close(fs->fd);
	free(fs->dir);
	free(fs->path);
	free(fs->tmp);
	free(fs);
}

const broker_store *broker_file_store_get(const broker_file_store *fs)
{
	return &fs->ops;
}
