/*
 * engine_nodes.h - internal to harness/: the scenario's NodeMCU nodes in the simulation
 * engine: the fleet, the logs of watched nodes for expectations, wifi_down faults and the
 * `node:` expectation.
 */
#ifndef HARNESS_ENGINE_NODES_H
#define HARNESS_ENGINE_NODES_H

#include "harness/client.h"
#include "harness/scenario.h"
#include "sim/nodemcu.h"

typedef struct simnodes simnodes;

/* Adds every node's host (after the clients' hosts), and watches the nodes that
 * expectations name. NULL when the scenario has no nodes. */
simnodes *simnodes_new(sim_world *w, sim_host *broker, uint16_t port, const scenario *s);
void simnodes_start(simnodes *sn);
void simnodes_free(simnodes *sn);
nm_fleet *simnodes_fleet(simnodes *sn);

/* The hosts a name stands for: one node, one instance, or every instance of a fleet.
 * Returns how many (0: not a node); *out is malloc'd. */
size_t simnodes_hosts(simnodes *sn, const char *name, sim_host ***out);
/* Schedule a wifi_down fault. */
void simnodes_wifi_down(simnodes *sn, const char *name, sim_us at, sim_us for_us);

size_t simnodes_parties(simnodes *sn, int node, long inst, hclient **out, size_t cap);
hclient **simnodes_logs(simnodes *sn, size_t *n);
bool simnodes_check(simnodes *sn, const sc_expect *x, char **report, const char *at);

#endif
