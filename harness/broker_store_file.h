/*
 * broker_store_file.h - the broker's log as a file under a directory (`mqttsim broker --store`):
 * appends with write(2), durability with fsync(2), compaction by writing a new file,
 * fsyncing it, renaming it over the old one and fsyncing the directory.
 *
 * Bytes that recovery could not read (a torn or corrupt tail), or the log from the first
 * record it could not apply, are copied to
 * DIR/broker.log.torn-N (the first N not yet taken, up to BROKER_FILE_STORE_MAX_TORN)
 * before the start-up compaction drops them from the log; they are never deleted.
 */
#ifndef HARNESS_BROKER_STORE_FILE_H
#define HARNESS_BROKER_STORE_FILE_H

#include "broker/broker.h"

#define BROKER_FILE_STORE_MAX_TORN 1000 /* DIR/broker.log.torn-1 .. -1000 */

typedef struct broker_file_store broker_file_store;

/* Open (creating) DIR/broker.log. NULL with a message in err if that cannot be done. */
broker_file_store *broker_file_store_open(const char *dir, char *err, size_t errlen);
void broker_file_store_close(broker_file_store *fs);
/* The callbacks for broker_config.store; valid until broker_file_store_close(fs). */
const broker_store *broker_file_store_get(const broker_file_store *fs);

#endif
