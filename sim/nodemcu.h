/*
 * nodemcu.h - simulated NodeMCU (ESP8266) sensor nodes on the simulation core.
 *
 * A node is a device, not a scripted client: it boots, associates with Wi-Fi, opens a TCP
 * connection to the broker, speaks MQTT 3.1.1 the way its firmware does (with that
 * firmware's limits, timers and quirks), reads its sensors on a schedule and publishes,
 * reconnects after failures the way the usual sketch does, loses Wi-Fi now and then, and
 * may deep-sleep between readings (a wake is a reboot). Two firmware profiles:
 *
 * pubsubclient - an Arduino sketch on the PubSubClient 2.8 library (knolleary). As that
 *   library documents and implements it: MQTT 3.1.1; one 256-byte buffer for a whole packet
 *   (MQTT_MAX_PACKET_SIZE, changeable with setBufferSize); publish() refuses, returning false,
 *   a message whose 5-byte header allowance + 2 + topic + payload exceed the buffer, and the
 *   typical sketch ignores the result; an incoming packet larger than the buffer is read and
 *   thrown away (no callback, no PUBACK, so a QoS 1 one comes back after a reconnect); publish() sends QoS 0 only; subscribe() takes QoS
 *   0 or 1; keepalive 15 s (MQTT_KEEPALIVE); socket timeout 15 s (MQTT_SOCKET_TIMEOUT, the
 *   CONNACK wait); clean session on by default; the will is set in connect(); no offline
 *   queue. loop() sends PINGREQ when nothing was sent *or received* for a keepalive, and
 *   drops the connection if the ping is still unanswered a keepalive later. The example
 *   sketch's reconnect loop tries at once after a drop, then every 5 s, and subscribes again
 *   after every reconnect.
 * nodemcu-lua - the NodeMCU firmware's `mqtt` module driven from Lua. As documented: MQTT
 *   3.1.1; max_message_length 1024 by default, a limit on incoming messages (larger ones are
 *   discarded, here without an acknowledgement); QoS 0, 1 and 2; one message in flight at a time with the rest in a send
 *   queue that is discarded when the connection drops; keepalive is a required argument
 *   (mqttsim's default: 60 s); reconnecting is the script's job: the usual offline callback
 *   arms a timer, 10 s by default here, and connects again.
 * Every number above is a field of nm_profile with that default; a scenario may change it.
 *
 * Device life: Wi-Fi association before TCP (DHCP: about 3 s with jitter; static IP: well
 * under a second), random Wi-Fi drop-outs (the station's TCP connections vanish without
 * FIN or RST, as lwIP drops them when the interface goes down; the broker learns by its
 * keepalive), deep sleep (the radio is off, RAM is lost, a wake is a boot with a new TCP
 * connection and, with clean session on, a new session), and a boot counter in RTC memory
 * that survives deep sleep.
 *
 * Determinism and scale: every random draw comes from a stream named after the node
 * ("node/<id>/wifi", "node/<id>/sensor/<k>"), so adding a node never moves another's draws.
 * Per-node strings (topics, client ids) are expanded from the entry's templates when used,
 * not stored, so an idle node costs a few hundred bytes here (see nm_fleet_node_bytes()).
 *
 * Ownership: the fleet owns nodes and their sockets; configs passed to nm_fleet_add() must
 * outlive the fleet (the scenario owns them). nm_fleet_free() before sim_world_free().
 */
#ifndef SIM_NODEMCU_H
#define SIM_NODEMCU_H

#include "mqtt/mqtt.h"
#include "sim/net.h"
#include "sim/sensor.h"

enum nm_firmware { NM_PUBSUBCLIENT = 1, NM_NODEMCU_LUA };

#define NM_MAX_NODES 100000     /* per fleet */
#define NM_MAX_SENSORS 16       /* per node */
#define NM_MAX_SUBS 16          /* per node */
#define NM_MAX_TEMPLATE 256     /* an id, client id or topic after {i} is expanded */

/* The firmware's limits and timers. nm_profile_defaults() fills the documented defaults. */
typedef struct nm_profile {
	int firmware;               /* enum nm_firmware */
	uint32_t buffer_size;       /* PSC: whole-packet buffer (256); Lua: max_message_length (1024) */
	bool limit_outgoing;        /* PSC: publish() refuses what does not fit the buffer */
	uint16_t keepalive_s;       /* PSC 15; Lua 60 */
	sim_us socket_timeout_us;   /* the CONNACK wait: PSC 15 s; Lua 10 s */
	sim_us connect_timeout_us;  /* TCP connect: 5 s (the ESP8266 core's WiFiClient default) */
	sim_us reconnect_us;        /* wait between attempts: PSC sketch 5 s; Lua timer 10 s */
	bool reconnect_at_once;     /* PSC: the first attempt after a drop comes at once */
	bool ping_on_rx_idle;       /* PSC: ping also when nothing came in for a keepalive */
	uint8_t max_pub_qos;        /* PSC 0; Lua 2 */
	uint8_t max_sub_qos;        /* PSC 1; Lua 2 */
	uint16_t queue_max;         /* Lua send queue bound (mqttsim's: 64); PSC has none (0) */
} nm_profile;

void nm_profile_defaults(nm_profile *p, int firmware);
const char *nm_firmware_name(int firmware);
int nm_firmware_parse(const char *name); /* 0 if unknown */

typedef struct nm_sensor {
	sensor_cfg s;
	char *topic;                /* may hold {i} */
	sim_us every_us;            /* ignored with deep sleep: one reading per wake */
	uint8_t qos;
	bool retain;
	int format;                 /* enum sensor_format */
	uint16_t batch;             /* JSON: the last N readings in each message (default 1) */
} nm_sensor;

typedef struct nm_sub {
	char *filter;               /* may hold {i} */
	uint8_t qos;
} nm_sub;

/* One `nodes:` entry: a node, or a fleet of `count` alike with {i} = 1..count. */
typedef struct nm_config {
	char *id;                   /* may hold {i} (required when count > 1) */
	uint32_t count;
	nm_profile fw;
	char *client_id;            /* may hold {i}; NULL: the node id */
	bool clean_session;
	bool has_will;
	char *will_topic, *will_payload;
	uint8_t will_qos;
	bool will_retain;
	/* Wi-Fi */
	bool static_ip;
	sim_us assoc_us;            /* mean association time: DHCP 3 s, static IP 800 ms */
	sim_us assoc_jitter_us;     /* uniform +- this: DHCP 1.5 s, static IP 300 ms */
	double drops_per_hour;      /* random Wi-Fi drop-outs (Poisson), 0: none */
	sim_us drop_mean_us;        /* mean outage, exponential (default 20 s) */
	sim_us boot_spread_us;      /* nodes power up uniformly over [0, this) (default 0) */
	/* deep sleep */
	sim_us sleep_us;            /* 0: always on */
	sim_us awake_us;            /* stay up this long after CONNACK (default 2 s) */
	sim_us awake_max_us;        /* sleep anyway this long after boot (default 30 s) */
	bool disconnect_before_sleep; /* send DISCONNECT first (default true) */
	nm_sensor *sensors;
	uint32_t nsensors;
	nm_sub *subs;
	uint32_t nsubs;
	bool subscribe_once;        /* the sketch subscribes in setup() only, not after reconnects */
} nm_config;

void nm_config_defaults(nm_config *c, int firmware);

/* "{i}" in tmpl replaced by inst; false if the result does not fit. */
bool nm_expand(const char *tmpl, uint32_t inst, char *out, size_t cap);

/* What a node did, counted. */
typedef struct nm_stats {
	uint32_t boots;             /* the RTC-memory boot counter: survives deep sleep */
	uint32_t wifi_assocs, wifi_drops;
	uint32_t attempts;          /* TCP connects started */
	uint32_t connects;          /* CONNACK accepted */
	uint32_t drops;             /* an MQTT connection lost (keepalive, error, Wi-Fi) */
	uint32_t ping_timeouts;
	uint32_t readings;          /* sensor readings taken */
	uint32_t published;         /* PUBLISH packets written to the socket */
	uint32_t refused;           /* publish() refused: too large for the buffer */
	uint32_t offline;           /* readings taken while not connected: never sent */
	uint32_t discarded;         /* Lua: queued messages discarded on a drop, or queue full */
	uint32_t received;          /* PUBLISH delivered to the sketch */
	uint32_t oversized_in;      /* PUBLISH thrown away for size */
	uint32_t sleeps;
	sim_us last_connect_us;     /* time of the last CONNACK, -1 never */
	sim_us last_drop_us;        /* time the last MQTT connection was lost, -1 never */
} nm_stats;

typedef struct nm_fleet nm_fleet;
typedef struct nm_node nm_node;

/* What the sketch tried to publish: sent, refused for size, or lost (not connected / queue). */
enum nm_outcome { NM_SENT = 0, NM_QUEUED, NM_REFUSED, NM_OFFLINE, NM_QUEUE_FULL };

typedef struct nm_hooks {
	/* A reading's message, whatever became of it. Only for watched nodes. */
	void (*on_publish)(void *ctx, nm_node *n, const char *topic, const uint8_t *payload, size_t len,
			   uint8_t qos, int outcome);
	/* A PUBLISH handed to the sketch. Only for watched nodes. */
	void (*on_message)(void *ctx, nm_node *n, const mqtt_packet *p);
} nm_hooks;

nm_fleet *nm_fleet_new(sim_world *w, sim_host *broker, uint16_t port);
void nm_fleet_set_hooks(nm_fleet *f, const nm_hooks *h, void *ctx);
/* Add c->count nodes (hosts named by the expanded id). Returns the first node's index, or
 * -1 past NM_MAX_NODES. Nodes boot when nm_fleet_start() is called. */
long nm_fleet_add(nm_fleet *f, const nm_config *c, int entry);
void nm_fleet_start(nm_fleet *f);
void nm_fleet_free(nm_fleet *f);
size_t nm_fleet_count(const nm_fleet *f);
nm_node *nm_fleet_node(nm_fleet *f, size_t i);
/* The heap bytes the fleet holds per node (nodes, sensor state, buffers), for the bench. */
size_t nm_fleet_bytes(const nm_fleet *f);

sim_host *nm_node_host(const nm_node *n);
const char *nm_node_id(const nm_node *n);   /* the host's name */
uint32_t nm_node_inst(const nm_node *n);    /* {i} */
int nm_node_entry(const nm_node *n);
const nm_config *nm_node_config(const nm_node *n);
const nm_stats *nm_node_stats(const nm_node *n);
bool nm_node_connected(const nm_node *n);   /* MQTT up (CONNACK accepted, not lost) */
void nm_node_watch(nm_node *n, bool on);
/* Wi-Fi lost now for `for_us` (0: for good): the fault a scenario's wifi_down applies. */
void nm_node_wifi_down(nm_node *n, sim_us for_us);

#endif
