/*
 * client.h - the protocol side of a scripted client, independent of its transport.
 *
 * The runner owns the transport (a simulated socket or a real one) and hands received
 * bytes to hclient_on_bytes(); the client decodes them, keeps every packet it received
 * (with the time) for expect steps and run-wide expectations, and answers QoS flows by
 * itself when auto_ack is on. It sends through the `send` callback.
 */
#ifndef HARNESS_CLIENT_H
#define HARNESS_CLIENT_H

#include "harness/scenario.h"
#include "mqtt/mqtt.h"

typedef struct rx_pkt {
	uint8_t type;
	uint8_t qos;
	bool retain, dup, session_present;
	uint8_t rc;
	uint16_t id;
	char *topic;          /* PUBLISH: NUL-terminated copy */
	uint8_t *payload;     /* PUBLISH: copy */
	uint32_t payload_len;
	uint8_t *codes;       /* SUBACK / UNSUBACK */
	uint32_t ncodes;
	int64_t at_us;
	bool seen;            /* consumed by an expect step */
	uint8_t version;      /* the connection's protocol level when it came */
	uint8_t *bytes;       /* the whole packet as received (NULL for a node's log): its 5.0
			       * properties are decoded from here when an expect step asks */
	uint32_t nbytes;
	char line[200];       /* the codec's one-line print, for failure reports */
	char hex[100];        /* the packet's first bytes in hex, for failure reports */
} rx_pkt;

typedef struct tx_pub {
	char *topic;
	uint8_t *payload;
	uint32_t payload_len;
	uint8_t qos;
	int64_t at_us;
} tx_pub;

/* What a scripted client holds of bytes that do not yet make a packet, and the largest packet
 * it accepts: past it the broker's stream is called broken (rx_error says so). */
#define HCLIENT_RX_MAX (16u << 20)

typedef struct hclient {
	const sc_client *cfg;
	int index;
	uint8_t version;
	void (*send)(struct hclient *c, const uint8_t *data, size_t len);
	void *ctx;                  /* the runner's transport */
	const char *prefix;         /* put before topics on the wire (TCP: [--topic-prefix/]run id);
				     * stripped here */

	bool tcp_open;              /* transport connected */
	bool peer_closed;           /* the broker closed (EOF or error) */
	int64_t closed_at_us;
	bool connacked;
	uint16_t keepalive_s;
	int64_t last_tx_us;
	uint16_t last_id;
	uint16_t expected_id;       /* id of the packet the last expect step matched */
	size_t last_match;          /* index in pkts of that packet, plus one (0: none yet) */
	struct { const char *name; uint16_t id; } saved[16]; /* ids remembered with "as" */
	int nsaved;

	char *will_topic;           /* from the last CONNECT with a will */
	uint8_t *will_payload;
	uint32_t will_payload_len;

	uint8_t *rx;
	size_t rx_len, rx_cap;
	bool rx_broken;             /* bytes that cannot even be framed arrived; the rest is ignored */
	char rx_error[200];
	/* Malformed packets from the broker, each skipped whole when its framing holds so the
	 * run goes on checking what it can; the run fails the statement the decoder names.
	 * Kept across reconnections (a log, like pkts). */
	struct hclient_bad {
		char stmt[40];
		char msg[200];
		int64_t at_us;
	} bad[4];
	size_t nbad;                /* all of them; the first 4 are kept */

	/* 5.0: what the server's CONNACK announced on this connection, and what the client does
	 * to honour it (Receive Maximum MQTT-3.3.4-7; Maximum Packet Size and Topic
	 * Alias Maximum, 5.0 §3.2.2.3.6 and §3.2.2.3.8): QoS 1 and 2 PUBLISHes past the
	 * Receive Maximum wait in `queue` until an acknowledgement frees a place. */
	uint16_t srv_receive_max;   /* 65535 when not announced */
	uint32_t srv_max_packet;    /* 0 when not announced: no limit but the protocol's */
	uint16_t srv_alias_max;     /* 0 when not announced: no topic aliases */
	uint16_t *inflight;         /* ids of QoS 1/2 PUBLISHes sent and not yet acknowledged */
	size_t ninflight, inflight_cap;
	struct hclient_queued {
		uint8_t *bytes;
		size_t len;
	} *queue;
	size_t nqueue, queue_cap;
	size_t queued_total;        /* PUBLISHes that had to wait, over the run (for notes) */
	uint8_t *aliases;           /* bit per topic alias the client has set on this connection */

	rx_pkt *pkts;
	size_t npkts, pkts_cap;
	size_t conn_first;          /* index in pkts of the first packet of this connection */
	tx_pub *pubs;
	size_t npubs, pubs_cap;
} hclient;

void hclient_init(hclient *c, const sc_client *cfg, int index);
void hclient_free(hclient *c);
/* A new transport connection: reset what belongs to a connection (not the logs). */
void hclient_reset(hclient *c);
void hclient_on_bytes(hclient *c, const uint8_t *data, size_t len, int64_t now_us);
/* Encode and send. Returns 0, or -1 if the packet cannot be encoded. */
int hclient_send(hclient *c, const mqtt_packet *p, int64_t now_us);
uint16_t hclient_next_id(hclient *c);

/* 5.0: send a PUBLISH as the server's CONNACK allows, unless force: too large for its
 * Maximum Packet Size, or a topic alias it does not take (or never set), is refused with
 * the reason in why (-1); past its Receive Maximum the packet waits (1) and goes when an
 * acknowledgement frees a place; else it is sent (0). Logged as published either way
 * unless refused. 3.1.1 clients send at once. */
int hclient_publish(hclient *c, const mqtt_packet *p, bool force, int64_t now_us, char *why, size_t cap);

/* Properties given in a scenario into a packet's (or will's) mqtt_props. The strings stay
 * the scenario's; *user is allocated here for the user properties (free it after encoding). */
void hclient_props_fill(const sc_props *sp, mqtt_props *out, mqtt_user_prop **user);
/* Does the received packet carry the properties m asks for? why says what differs. */
bool hclient_props_match(const rx_pkt *r, const sc_props *want, char *why, size_t cap);

/* Logs kept for a simulated node (no transport): what it tried to publish, what it got. */
void hclient_log_pub(hclient *c, const char *topic, const uint8_t *payload, size_t len, uint8_t qos,
		     int64_t now_us);
void hclient_log_rx(hclient *c, const mqtt_packet *p, int64_t now_us);

/* Does a received packet match an expectation? */
bool hclient_match(const rx_pkt *r, const sc_match *m);
/* A one-line description of what a step expects, for reports. */
void hclient_describe(const sc_match *m, char *buf, size_t cap);

#endif
