/*
 * broker_shell_sim.h - the reference broker on a simulated host: virtual connections, the
 * host's virtual clock, crash and restart through the host's hooks.
 */
#ifndef HARNESS_BROKER_SHELL_SIM_H
#define HARNESS_BROKER_SHELL_SIM_H

#include "broker/broker.h"
#include "sim/net.h"

typedef struct broker_sim broker_sim;

/* Listen on host:port and run a broker there. cfg is copied (NULL for defaults).
 * A host crash loses the broker's state; a restart starts a fresh broker. */
broker_sim *broker_sim_start(sim_world *w, sim_host *h, uint16_t port, const broker_config *cfg);
/* The same, with persistence on the host's virtual disk (file "broker.log"): sessions,
 * queues and retained messages survive a crash as far as they were synced. */
broker_sim *broker_sim_start_persistent(sim_world *w, sim_host *h, uint16_t port,
					const broker_config *cfg);
/* The store broker_sim_start_persistent uses: "broker.log" on the host's virtual disk (ctx is
 * the host). A test may wrap it - to count its calls, or break one - and hand the wrapper to
 * broker_sim_start in cfg->store; the wrapper must outlive the broker_sim. */
broker_store broker_sim_disk_store(sim_host *h);
void broker_sim_free(broker_sim *bs);
broker *broker_sim_core(broker_sim *bs); /* NULL while the host is down */

#endif
