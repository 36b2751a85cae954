/*
 * broker_shell_exec.h - target exec: an external broker binary on a simulated host.
 *
 * The broker runs as a child process with exec/interpose.c preloaded; its sockets are
 * virtual sockets of the host, its clock the host's clock, its randomness a stream of the
 * world seed. It runs only while this shell serves its requests (exec/protocol.h), from the
 * event loop, so a seed fixes the whole run as it does for the reference broker.
 */
#ifndef HARNESS_BROKER_SHELL_EXEC_H
#define HARNESS_BROKER_SHELL_EXEC_H

#include "sim/net.h"

typedef struct broker_exec broker_exec;

/* Start `cmd` (words split at blanks, '...' and "..." quote; {config}, {dir} and {port}
 * replaced) on host h, listening on port. The broker gets a temporary directory of its own
 * with a generated mosquitto-style config ({config}); its stdout and stderr go to a file
 * there. Returns NULL when it cannot start (not found, statically linked, exited or refused
 * at start) with the reason, the broker's output included, in *why (malloc'd). A host crash
 * kills the broker (SIGKILL) and a restart starts it again on the same directory. The nextra
 * lines of extra (a scenario's exec_config; {dir} and {port} replaced) end the config, after
 * mqttsim's own, so they can override them. */
broker_exec *broker_exec_start(sim_world *w, sim_host *h, uint16_t port, const char *cmd, char *const *extra,
			       size_t nextra, char **why);
/* Before any run: is cmd's program there, dynamically linked, and the library found? 0, or
 * -1 with the reason in why. */
int broker_exec_check(const char *cmd, char *why, size_t cap);
/* What went wrong during the run (the broker exited, or called what cannot run in virtual
 * time), or NULL. Owned by be. */
const char *broker_exec_error(const broker_exec *be);
/* Kill the broker if it still runs, remove its directory. */
void broker_exec_free(broker_exec *be);

/* Where the preloaded library is: $MQTTSIM_EXEC_LIB, else libmqttsim_exec.so beside the
 * running binary, else in ../lib/mqttsim/ from it (an installed tree). */
const char *broker_exec_lib(char *buf, size_t cap);

#endif
