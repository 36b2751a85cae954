/*
 * scenario.h - the scenario model: what a YAML scenario says, after loading and validation.
 *
 * The loader (scenario_load.c and its parts, scenario_load_internal.h) builds it from a file
 * with libyaml and reports every problem as FILE:LINE:COLUMN; the runner (run.c) executes it
 * against the simulated broker or a broker over TCP. Strings are owned by the scenario and freed by scenario_free().
 * Times are microseconds; positions are 1-based line and column in the YAML file.
 */
#ifndef HARNESS_SCENARIO_H
#define HARNESS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/fault.h"
#include "sim/net.h"
#include "sim/nodemcu.h"

#define SC_MAX_ERRORS 200

typedef struct sc_pos {
	int line, col;
} sc_pos;

/* Errors collected while loading: all of them, in file order. */
typedef struct sc_errors {
	int n;
	char *msg[SC_MAX_ERRORS]; /* "FILE:LINE:COLUMN: message (hint)" */
	int dropped;              /* past SC_MAX_ERRORS */
} sc_errors;

/* A link profile as the scenario gives it (fields not given keep the default). */
typedef struct sc_link {
	char *node;               /* NULL for the default profile */
	sim_link link;
	sc_pos pos;
} sc_link;

/* A fault only nodes have (handled by the simulation engine, not sim/fault.c). */
#define SC_FAULT_WIFI_DOWN 100

typedef struct sc_fault {
	int kind;                 /* enum sim_fault_kind, or SC_FAULT_WIFI_DOWN */
	int64_t at_us;
	int64_t for_us;           /* duration, restart_after for crash; 0: permanent */
	char *a, *b;              /* node or client ids; "broker" names the broker */
	double value;             /* drift ppm, jump microseconds */
	sc_pos pos;
} sc_fault;

/* Faults drawn from the seed: per kind, a rate and a mean duration. A kind may give a
 * range instead (`per_hour: [0, 20]`): then `rates` holds the upper ends, which a plain run
 * uses, and `lo` the lower ends; `mqttsim explore --swarm` draws within them per seed. */
typedef struct sc_random_faults {
	bool on;
	sim_fault_rates rates;
	sim_fault_rates lo;       /* equal to rates where no range was given */
	bool ranged;              /* some kind gave a range */
	sc_pos pos;
} sc_random_faults;

/* MQTT 5.0 properties as a scenario gives them, for a packet to send or to expect. Bit
 * (1 << property id) of `present` says a property is given; its value is in num[] (bytes,
 * two- and four-byte integers, variable byte integers) or str[] (strings, and binary data
 * written as text). User properties are an ordered list of pairs; Subscription Identifiers
 * in an expected PUBLISH a list. Expectations also say a property must be there with any
 * value (`any`) or must not be there (`absent`). Owned by the scenario. */
typedef struct sc_user_prop {
	char *name, *value;
} sc_user_prop;

#define SC_PROP_IDS 0x2B          /* property ids are below this (MQTT_PROP_ID_MAX + 1) */

typedef struct sc_props {
	uint64_t present;
	uint64_t any;             /* expect: present, whatever the value */
	uint64_t absent;          /* expect: not there */
	uint32_t num[SC_PROP_IDS];
	char *str[SC_PROP_IDS];
	sc_user_prop *user;       /* present bit MQTT_PROP_USER: these, in this order */
	size_t nuser;
	uint32_t *sub_ids;        /* present bit MQTT_PROP_SUBSCRIPTION_ID: these, in order */
	size_t nsub_ids;
} sc_props;

typedef struct sc_client {
	char *id;                 /* the name steps use */
	char *client_id;          /* MQTT client identifier (default: id) */
	bool auto_ack;            /* answer QoS 1/2 deliveries and PUBREC by itself (default on) */
	bool auto_ping;           /* PINGREQ when idle for keepalive (default on) */
	uint8_t version;          /* MQTT_V311 (4) or MQTT_V5 (5): the client's, else the scenario's */
	sc_pos pos;
} sc_client;

typedef struct sc_sub {
	char *filter;
	uint8_t qos;
	/* 5.0 subscription options */
	bool no_local, retain_as_published;
	uint8_t retain_handling;  /* 0, 1 or 2 */
} sc_sub;

enum sc_step_kind {
	SC_CONNECT = 1,
	SC_SUBSCRIBE,
	SC_UNSUBSCRIBE,
	SC_PUBLISH,
	SC_DISCONNECT,
	SC_DROP,          /* abort the TCP connection: no DISCONNECT, as a crash would */
	SC_WAIT,
	SC_RAW,           /* send bytes given in hex */
	SC_EXPECT,        /* a packet, within a bound */
	SC_EXPECT_NONE,   /* no packet (of a type, or at all) for a period */
	SC_EXPECT_CLOSED, /* the peer closes the connection within a bound */
	SC_OPEN,          /* open the transport only, sending nothing: for a raw first packet */
	SC_ACK,           /* PUBACK/PUBREC/PUBREL/PUBCOMP for the id of the last packet expected */
};

#define SC_RC_ALT 7 /* rc: a list of at most 1 + SC_RC_ALT codes */

/* What an expected packet must look like; unset fields (has_* false / NULL) match anything. */
typedef struct sc_match {
	int type;                 /* enum mqtt_type; 0 = any */
	char *topic;
	char *payload;
	bool has_qos, has_retain, has_dup, has_rc, has_session_present, has_id;
	uint8_t qos;
	bool retain, dup;
	uint8_t rc;               /* CONNACK return code or reason code */
	/* `rc: [a, b, ...]`: further codes that match as well, for where the standard lets the
	 * peer choose among several (a refusal with 0x80 or a specific code) */
	uint8_t rc_alt[SC_RC_ALT];
	uint8_t nrc_alt;
	bool session_present;
	uint16_t id;
	uint8_t *codes;           /* SUBACK return codes */
	size_t ncodes;
	bool first;               /* must be the first packet received on the connection */
	bool id_same;             /* id equals that of the packet the last expect matched */
	char *id_ref;             /* id equals the one remembered under this name ("as") */
	char *save_as;            /* remember the matched packet's id under this name */
	bool again;               /* check the packet the last expect matched, not a new one */
	sc_props *props;          /* 5.0: properties it must (or must not) carry; NULL: any */
} sc_match;

typedef struct sc_step {
	int kind;                 /* enum sc_step_kind */
	int client;               /* index into clients */
	sc_pos pos;
	int64_t within_us;        /* EXPECT, EXPECT_CLOSED, CONNECT (CONNACK wait) */
	int64_t for_us;           /* WAIT, EXPECT_NONE */
	int64_t after_us;         /* EXPECT, EXPECT_CLOSED: not before this long after the last
				     action step (a lower bound; 0: none) */
	int64_t late_us;          /* EXPECT_CLOSED: a close after within_us but by late_us is the
				     observation `late`, none by then `never`; 0: no such split */
	/* CONNECT */
	char *client_id;          /* overrides the client's client_id when non-NULL */
	bool clean;
	uint16_t keepalive_s;
	char *username, *password;
	bool will;
	char *will_topic, *will_payload;
	uint8_t will_qos;
	bool will_retain;
	sc_props *will_props;     /* 5.0 will properties, or NULL */
	bool wait_connack;        /* default on: the step waits for CONNACK */
	sc_match connack;         /* expected CONNACK (rc 0 unless given) */
	/* SUBSCRIBE / UNSUBSCRIBE */
	sc_sub *subs;
	size_t nsubs;
	/* PUBLISH */
	char *topic, *payload;
	uint8_t qos;
	bool retain;
	bool dup;
	uint16_t id;              /* 0: the client picks the next free one */
	bool has_topic_alias;     /* 5.0: a Topic Alias goes with it (0 only to break the rules) */
	uint16_t topic_alias;     /* with an empty topic (none given), the alias alone */
	bool force;               /* 5.0: send even what the server's CONNACK forbids */
	/* DISCONNECT and ACK (5.0): the reason code to send */
	uint8_t reason;
	/* CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT (5.0): the packet's properties,
	 * or NULL. connack.props checks the CONNACK's. */
	sc_props *props;
	/* ACK */
	uint8_t ack_type;
	/* RAW */
	uint8_t *raw;             /* as in simulation: no prefixes */
	size_t raw_len;
	char *raw_text;           /* the step's text when it names ids or topics (raw_send.h), else NULL */
	/* RAW over WebSocket (targets: [ws]): ws_frames splits the bytes into frames of these
	 * sizes (the rest in a last one), ws_text sends them in text frames (MQTT-6.0.0-1). */
#define SC_WS_FRAMES_MAX 8
	uint32_t ws_frames[SC_WS_FRAMES_MAX];
	size_t nws_frames;
	bool ws_text;
	/* EXPECT, EXPECT_NONE */
	sc_match match;
	/* The statements this step checks (a subset of the scenario's spec): when it fails, only
	 * they fail; statements checked only by later steps are "not reached". */
	char **spec;
	size_t nspec;
} sc_step;

enum sc_expect_kind {
	SC_EXP_DELIVERED = 1,     /* every message from `from` on topic reaches `to` (loss bound) */
	SC_EXP_NO_DUPLICATES,     /* `to` gets no (topic, payload) twice */
	SC_EXP_ORDERED,           /* `to` gets each publisher's messages in publish order */
	SC_EXP_RETAINED,          /* at the end, the retained message on topic is payload (or none) */
	SC_EXP_WILL,              /* `to` got (or did not get) the will of `from` */
	SC_EXP_NODE,              /* a simulated node's counters or state at the end */
};

/* The counters a `node:` expectation can bound (fields of nm_stats). */
enum sc_node_stat {
	SC_STAT_NONE = 0, SC_STAT_BOOTS, SC_STAT_WIFI_DROPS, SC_STAT_ATTEMPTS, SC_STAT_CONNECTS,
	SC_STAT_DROPS, SC_STAT_PING_TIMEOUTS, SC_STAT_READINGS, SC_STAT_PUBLISHED, SC_STAT_REFUSED,
	SC_STAT_OFFLINE, SC_STAT_DISCARDED, SC_STAT_RECEIVED, SC_STAT_OVERSIZED_IN, SC_STAT_SLEEPS,
};
extern const char *const sc_node_stat_names[]; /* indexed by enum sc_node_stat, NULL-terminated */

/* A simulated NodeMCU node, or a fleet of them (`count`, `{i}` in id, client id, topics). */
typedef struct sc_node {
	nm_config cfg;            /* its strings and arrays are owned by the scenario */
	bool is_template;         /* the id holds {i} */
	sc_pos pos;
} sc_node;

typedef struct sc_expect {
	int kind;
	int from, to;             /* client indexes; -1 when not given */
	/* NO_DUPLICATES with `to: [a, b, ...]`: the clients after the first (`to`), taken
	 * together with it, as the members of one shared subscription (owned) */
	int *to_more;
	size_t nto_more;
	char *topic;              /* a topic filter for DELIVERED/ORDERED/NO_DUPLICATES */
	char *payload;            /* RETAINED: NULL means "no retained message" */
	bool has_qos;
	uint8_t qos;
	double loss;              /* DELIVERED: allowed fraction lost (0 = none) */
	bool loss_is_count;
	uint64_t loss_count;
	bool delivered;           /* WILL: expected or not */
	char **spec;              /* the statements it checks, as for steps */
	size_t nspec;
	/* Nodes as parties: from/to is -1 and *_node is the nodes[] entry (else -1);
	 * *_inst is the instance ({i}), 0 for a single node, -1 for every instance. */
	int from_node, to_node;
	long from_inst, to_inst;
	/* NODE: a counter's bounds per instance (or over all with total), and/or the state */
	int stat;                 /* enum sc_node_stat */
	bool has_min, has_max, total;
	uint64_t min, max;
	bool has_connected, connected;
	sc_pos pos;
} sc_expect;

/* SC_TARGET_WS: over ws:// and wss:// only (the tcp engine with WebSocket), for the
 * statements of MQTT's section 6; tcp includes ws and wss, as it includes mqtts. */
enum { SC_TARGET_SIM = 1, SC_TARGET_TCP = 2, SC_TARGET_WS = 4 };

typedef struct sc_broker {
	bool persistence;
	uint32_t max_queued;      /* 0: default */
	uint16_t max_inflight;    /* 0: default */
	bool queue_qos0;
	bool drop_oldest;
	uint32_t sys_interval_s;  /* default 0 in scenarios: no $SYS noise */
	bool has_sys_interval;
	char *acl;                /* the text of an ACL file (see mqttsim broker --acl), or NULL */
	/* 5.0 capabilities the simulated broker announces (0 / false: its defaults) */
	uint16_t receive_max;
	bool has_topic_alias_max;
	uint16_t topic_alias_max;
	uint32_t max_packet_size;
	bool no_sub_ids, no_shared_subs;
	/* Lines added to the {config} an exec broker gets (exec/README.md), {dir} and {port}
	 * not yet replaced; a scenario that gives them runs on exec whatever options of the
	 * reference broker it asks for, since they say how the exec broker matches them. */
	char **exec_config;
	size_t nexec_config;
	sc_pos pos;
} sc_broker;

typedef struct scenario {
	char *file;
	char *name;
	char *description;
	char **spec;              /* statement ids */
	size_t nspec;
	uint64_t seed;
	bool has_seed;
	uint8_t version;          /* MQTT_V311 (default) or MQTT_V5: every client's unless it says */
	int64_t duration_us;      /* bound on the whole run (default 10 min virtual, 60 s tcp) */
	unsigned targets;         /* SC_TARGET_* (default: both) */
	sc_broker broker;
	sc_link *links;           /* links[0] is the default when its node is NULL */
	size_t nlinks;
	sc_fault *faults;
	size_t nfaults;
	sc_random_faults random_faults;
	sc_client *clients;
	size_t nclients;
	sc_node *nodes;
	size_t nnodes;
	size_t node_instances;    /* nodes over all entries (counts summed) */
	sc_step *steps;
	size_t nsteps;
	sc_expect *expects;
	size_t nexpects;
	uint64_t text_hash;       /* sim_hash64 of the file's text: replay checks it */
} scenario;

/* Load and validate. Returns the scenario, or NULL with every problem in errs
 * (errs->n > 0). Never crashes on any input. */
scenario *scenario_load(const char *path, sc_errors *errs);
/* The same from text in memory; `name` stands for the file in messages. */
scenario *scenario_parse(const char *name, const char *text, size_t len, sc_errors *errs);
void scenario_free(scenario *s);

/* The nodes[] entry a name stands for, or -1: a node's id, a fleet's template ("s-{i}",
 * *inst = -1: every instance), or one instance of a fleet ("s-7", *inst = 7). */
int scenario_find_node(const scenario *s, const char *name, long *inst);
/* A nodes[] entry's counter, by enum sc_node_stat. */
uint64_t sc_node_stat(const nm_stats *st, int stat);
void sc_errors_free(sc_errors *e);
/* A 5.0 property's name in scenarios ("receive_maximum"), or NULL for an id it lacks. */
const char *sc_prop_name(unsigned id);

#endif
