/*
 * disk.h - a virtual disk per host: files with write, read, fsync. What was written but
 * not fsynced is lost when the host crashes (optionally torn: a random part of an
 * appended tail survives). The broker's persistence runs on it in simulation.
 *
 * Names are flat strings. Errors are -errno (-ENOENT, -ENOMEM, -EIO when the host is down).
 */
#ifndef SIM_DISK_H
#define SIM_DISK_H

#include "sim/sim.h"

typedef struct sim_disk sim_disk;
typedef struct sim_host sim_host;

sim_disk *sim_host_disk(sim_host *h); /* created on first use; owned by the host */

long sim_disk_write(sim_disk *d, const char *name, uint64_t off, const void *buf, size_t len);
long sim_disk_append(sim_disk *d, const char *name, const void *buf, size_t len);
long sim_disk_read(sim_disk *d, const char *name, uint64_t off, void *buf, size_t len);
long sim_disk_size(sim_disk *d, const char *name);
int sim_disk_truncate(sim_disk *d, const char *name, uint64_t size);
int sim_disk_fsync(sim_disk *d, const char *name);
/* Remove and rename are durable at once (as after an fsync of the directory). */
int sim_disk_remove(sim_disk *d, const char *name);
int sim_disk_rename(sim_disk *d, const char *from, const char *to);
bool sim_disk_exists(sim_disk *d, const char *name);
/* On crash, keep a random prefix of each unsynced appended tail instead of none. */
void sim_disk_set_torn(sim_disk *d, bool torn);

#endif
