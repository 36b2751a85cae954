/*
 * broker.h - the reference MQTT broker, sans I/O.
 *
 * The core consumes bytes per connection and produces bytes, close requests and one
 * wake-up time through the broker_env it is given. It never touches a socket, a clock or
 * a file: the simulation shell (harness/broker_shell_sim.c) and the socket shell
 * (harness/broker_shell_tcp.c) do that.
 * Everything it does is a function of the calls it receives and env->now_us(), so in
 * simulation it is as deterministic as the rest of the run.
 *
 * MQTT 3.1.1 (protocol level 4) and 5.0 (level 5) clients on one broker; every packet to
 * a client is encoded by the level of its CONNECT. A CONNECT for another level is answered
 * with 3.1.1's CONNACK 0x01 and closed, as 3.1.1 requires.
 *
 * Ownership: the broker copies what it keeps; buffers passed in are only read during the
 * call. Connection ids are chosen by the shell and must be unique while open.
 */
#ifndef BROKER_BROKER_H
#define BROKER_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct broker broker;

typedef struct broker_env {
	void *ctx;
	int64_t (*now_us)(void *ctx);
	/* Queue bytes on a connection. The shell buffers what the transport cannot take yet. */
	void (*send)(void *ctx, uint64_t conn, const uint8_t *data, size_t len);
	/* Close a connection after the bytes already sent. The broker has forgotten it. */
	void (*close)(void *ctx, uint64_t conn);
	/* Call broker_tick() at (or after) this time; INT64_MAX means nothing is due. */
	void (*wake)(void *ctx, int64_t at_us);
	/* One line per connect, disconnect and refusal (may be NULL). */
	void (*log)(void *ctx, const char *line);
	/* Fill out with len unpredictable bytes: SCRAM's server nonce (may be NULL: then no
	 * enhanced authentication is offered). The simulation shell draws them from a seeded
	 * stream, so a run stays a function of its seed; the socket shell from the OS. */
	void (*rand_bytes)(void *ctx, uint8_t *out, size_t len);
} broker_env;

/* Authentication and authorisation, injected (auth.c provides a file-backed one). */
typedef struct broker_auth {
	void *ctx;
	/* A CONNACK return code: 0 accepted, 4 bad user name or password, 5 not authorised.
	 * username is NULL when the CONNECT has none; password may be NULL. */
	int (*connect)(void *ctx, const char *client_id, const char *username,
		       const uint8_t *password, size_t password_len);
	/* May this client publish to the topic (publish), or read: subscribe to the filter,
	 * and receive each message, asked again with its concrete topic and the receiving
	 * session's user name on every delivery (only when this is set; once per matching
	 * subscriber). A session's user is the one that created it: with auth set, a CONNECT
	 * under another user name for an existing session's client id gets CONNACK 5. */
	bool (*allow)(void *ctx, const char *client_id, const char *username, const char *topic,
		      bool publish);
	/* Optional; when set the broker asks it instead of connect. The same question for the
	 * connection conn, which may be answered later: return BROKER_AUTH_PENDING and call
	 * broker_on_auth(b, conn, rc) once, never from inside this callback; or return the
	 * answer at once. The strings and password are only valid during the call (copy what is
	 * kept). Until the answer the connection is paused: bytes after its CONNECT are kept,
	 * unprocessed (up to 2 x max_packet_size, past which it is closed), and handled in order
	 * once the CONNECT is answered. For an empty client id the name given here is
	 * provisional (the one assigned with the answer may differ). A connection closed
	 * meanwhile is forgotten, and a late answer for it ignored; a shell that reuses
	 * connection ids must drop answers meant for an earlier connection of the same id. */
	int (*connect_start)(void *ctx, uint64_t conn, const char *client_id, const char *username,
			     const uint8_t *password, size_t password_len);
	/* Optional; set, 5.0 clients may authenticate with Authentication Method SCRAM-SHA-256
	 * (RFC 5802/7677) instead of a password. The user's salt (at most BROKER_SCRAM_MAX_SALT
	 * bytes, its length in *salt_len), iteration count, StoredKey and ServerKey (RFC 5802
	 * §3: what a server keeps; SaltedPassword, from which a proof can be made, is never
	 * asked for). 0, or -1 for a user that does not exist (the exchange then goes on with
	 * made-up values and fails at the proof, so which names exist is not revealed). */
	int (*scram_lookup)(void *ctx, const char *username, uint8_t *salt, size_t *salt_len,
			    uint32_t *iterations, uint8_t stored_key[32], uint8_t server_key[32]);
} broker_auth;

#define BROKER_SCRAM_MAX_SALT 64

#define BROKER_AUTH_PENDING (-1) /* connect_start: the answer comes by broker_on_auth() */

/*
 * Persistence, injected: an append-only log. The simulation shell backs it with the host's
 * virtual disk, the socket shell with files under --store DIR. What is appended is
 * durable only after sync(); the broker syncs before it acknowledges a message.
 */
typedef struct broker_store {
	void *ctx;
	int (*append)(void *ctx, const void *data, size_t len);     /* 0 or -errno */
	int (*sync)(void *ctx);                                      /* 0 or -errno */
	/* The whole log, for recovery: *data is malloc'd (caller frees), NULL if empty. */
	int (*load)(void *ctx, uint8_t **data, size_t *len);
	/* Atomically replace the log with data (compaction); durable when it returns 0. */
	int (*replace)(void *ctx, const void *data, size_t len);
	/* Optional (NULL: the store keeps no copies). Recovery could not read (or apply) the
	 * log from byte `offset` on: keep those len bytes somewhere replace() never overwrites, durably,
	 * before the start-up compaction drops them from the log, and write a name for the
	 * copy into where (for the log line). 0 or -errno, and then where may say what went
	 * wrong; on an error the broker leaves the log untouched and stops using the store
	 * (see broker_stats.store_errors). */
	int (*keep)(void *ctx, uint64_t offset, const void *data, size_t len, char *where,
		    size_t where_cap);
} broker_store;

/* Policy when a persistent session's offline queue is full. */
enum broker_queue_policy {
	BROKER_DROP_NEW = 0,    /* the arriving message is dropped (counted in $SYS) */
	BROKER_DROP_OLDEST = 1, /* the oldest queued message makes room */
};

typedef struct broker_config {
	uint32_t max_packet_size;    /* bytes; larger packets close the connection (0: 1 MiB) */
	uint16_t max_inflight;       /* outbound QoS 1/2 messages awaiting ack (0: 20) */
	uint32_t max_queued;         /* per offline or congested session (0: 1000) */
	int queue_policy;            /* enum broker_queue_policy */
	bool queue_qos0;             /* queue QoS 0 messages for offline persistent sessions */
	bool allow_anonymous;        /* CONNECT without user name accepted (default set by init) */
	uint32_t sys_interval_s;     /* $SYS/ publication period; 0 disables */
	uint32_t max_connections;    /* 0: 100000 */
	/* Subscriptions one session may hold (0: 10000; UINT32_MAX: no practical limit). A
	 * SUBSCRIBE's filter past it gets return code 0x80; replacing a subscription the
	 * session has already is always granted. */
	uint32_t max_subscriptions;
	/* MQTT 5.0 capabilities, announced in CONNACK to 5.0 clients and enforced for all.
	 * Session Expiry Interval granted at most (0: no cap; a 3.1.1 persistent session asks
	 * for "never"). */
	uint32_t max_session_expiry_s;
	uint16_t receive_max;        /* inbound QoS 1/2 PUBLISHes unacknowledged (0: 65535) */
	uint8_t max_qos;             /* highest QoS accepted and granted (init: 2) */
	bool retain_available;       /* retained messages accepted (init: true) */
	/* Keep alive the broker imposes on 5.0 clients asking for more, or for none, as
	 * Server Keep Alive (0: the client's own is used). */
	uint16_t server_keepalive_s;
	/* Topic Alias Maximum announced to 5.0 clients: inbound aliases 1..N are taken
	 * (init: 10; 0: none). The broker sends no aliases itself. */
	uint16_t topic_alias_max;
	/* Subscription Identifiers / wildcard filters refused (default false: both taken). Set,
	 * CONNACK says so (Subscription Identifier / Wildcard Subscription Available 0) and a
	 * SUBSCRIBE using one gets SUBACK 0xA1 / 0xA2 for its filters (3.1.1: 0x80 for a
	 * wildcard filter). Negative so a zeroed config keeps them available. */
	bool no_sub_ids;
	bool no_wildcards;
	/* Shared subscriptions (`$share/NAME/filter`) refused: CONNACK says Shared Subscription
	 * Available 0, such a filter gets SUBACK 0x9E. */
	bool no_shared_subs;
	/* A 5.0 PUBLISH with Payload Format Indicator 1 whose payload is not UTF-8 is refused
	 * with PUBACK/PUBREC 0x99 (Payload format invalid) and not delivered (5.0 §3.3.2.3.2
	 * lets a server check; default false: payloads are forwarded unread). */
	bool check_payload_format;
	/* Authentication and authorisation; NULL accepts everything (see auth.h). */
	const broker_auth *auth;
	/* Persistent sessions, their queues and in-flight messages, and retained messages
	 * survive a restart when set (NULL: nothing is kept). */
	const broker_store *store;
	uint32_t compact_bytes;      /* rewrite the log when it grows past this (0: 1 MiB) */
	/* Test-only switches that break one behaviour each, so tests can prove the
	 * conformance suite notices (BROKER_TF_*). Never set in normal use. */
	uint32_t test_faults;
	/* Behaviours the specification leaves open, chosen the other way (BROKER_VAR_*): each
	 * is legal, so the conformance suite must pass with any of them set (tests/variants.sh).
	 * Set after the fields above they override them (one-in-flight beats max_inflight). */
	uint32_t variants;
} broker_config;

/*
 * Permitted variants, and the 3.1.1 statements that leave each open:
 * - ONE_INFLIGHT: at most one unacknowledged outbound QoS 1/2 PUBLISH per session, the rest
 *   queued behind it. §4.6 describes this as a permitted choice (a server may restrict the
 *   in-flight window to one, and ordering still holds [MQTT-4.6.0-6]).
 * - RANDOM_IDS: outbound packet ids drawn from a seeded stream instead of counting up; an id
 *   need only be non-zero and not in use for another message [MQTT-2.3.1-1, MQTT-2.3.1-4
 *   (the rules of MQTT-2.3.1-2 applied to the server)]: nothing says which.
 * - NO_SYS: no $SYS/ tree at all; the spec only says what wildcards must not match if one
 *   exists [MQTT-4.7.2-1], and names $SYS/ as a common convention, not a duty.
 * - DOLLAR_REFUSED: a client's PUBLISH to a topic starting with '$' is acknowledged as QoS
 *   asks and dropped; a server that does not authorise a publish may do exactly that
 *   [MQTT-3.3.5-2], and §4.7.2 reserves '$' topics for the server.
 * - QOS0_NOT_QUEUED: QoS 0 messages are not kept for an offline session; the session state
 *   holds them only optionally [MQTT-3.1.2-5].
 * - OVERLAP_COPIES: a message matching several subscriptions of one client goes once per
 *   matching subscription, each at that subscription's QoS; one copy at the highest QoS is
 *   the minimum [MQTT-3.3.5-1] and further copies are allowed (5.0: MQTT-3.3.4-2, -5).
 * And two that only 5.0 clients see (CONNACK properties; a 3.1.1 connection is unchanged).
 * Each fills in a setting the configuration leaves at its default, so a scenario or command
 * line that sets one of its own keeps it:
 * - SERVER_KEEPALIVE: server_keepalive_s 10, so a client asking for more (or for none) is
 *   told Server Keep Alive 10 and must use it [MQTT-3.2.2-21]; any value is the server's to
 *   choose (5.0 §3.2.2.3.14).
 * - LOW_RECEIVE_MAX: receive_max 2, so a client may have only two QoS 1/2 PUBLISHes
 *   unacknowledged towards the server [MQTT-3.3.4-7]; any value from 1 is the server's to
 *   choose (5.0 §3.2.2.3.3).
 */
enum broker_variant {
	BROKER_VAR_ONE_INFLIGHT = 1 << 0,
	BROKER_VAR_RANDOM_IDS = 1 << 1,
	BROKER_VAR_NO_SYS = 1 << 2,
	BROKER_VAR_DOLLAR_REFUSED = 1 << 3,
	BROKER_VAR_QOS0_NOT_QUEUED = 1 << 4,
	BROKER_VAR_OVERLAP_COPIES = 1 << 5,
	BROKER_VAR_SERVER_KEEPALIVE = 1 << 6,
	BROKER_VAR_LOW_RECEIVE_MAX = 1 << 7,
};

enum broker_test_fault {
	BROKER_TF_RETAIN_FLAG = 1 << 0,    /* retained messages reach new subscribers with RETAIN=0 */
	BROKER_TF_SKIP_WILL = 1 << 1,      /* wills are never published */
	BROKER_TF_QOS2_TWICE = 1 << 2,     /* a QoS 2 PUBLISH repeated before PUBREL is delivered again */
	BROKER_TF_FORGET_SESSION = 1 << 3, /* persistent sessions are dropped on disconnect */
	BROKER_TF_IGNORE_KEEPALIVE = 1 << 4, /* silent clients are never disconnected */
	BROKER_TF_RETAINED_STORED_QOS = 1 << 5, /* retained messages go to a new subscriber at their
						   own QoS, not the lower of it and the granted one */
	BROKER_TF_QUEUED_RETAIN = 1 << 6,  /* messages queued for an offline session keep the
					      publisher's RETAIN when delivered */
	BROKER_TF_DOLLAR_WILDCARD = 1 << 7, /* a first-level wildcard matches '$' topics */
	BROKER_TF_PLUS_MULTI_LEVEL = 1 << 8, /* a '+' that ends a filter matches several levels too */
	BROKER_TF_DUP_COPIED = 1 << 9,      /* forwarded QoS 1/2 PUBLISHes keep the publisher's DUP */
	BROKER_TF_RELEASED_RESENT = 1 << 10, /* a resumed session gets the PUBLISH again, not the
						PUBREL, of a QoS 2 message whose PUBREC came */
	BROKER_TF_UNSUB_DROPS_INFLIGHT = 1 << 11, /* UNSUBSCRIBE abandons the QoS 1/2 deliveries
						     under way through its filters */
	BROKER_TF_SECOND_CONNECT = 1 << 12, /* a second CONNECT on a connection is answered with
					       another CONNACK 0x00, the connection kept */
	/* WebSocket (MQTT 3.1.1 section 6): read by the socket shell's --listen-ws, not the core. */
	BROKER_TF_WS_TEXT_ACCEPTED = 1 << 13,  /* text frames are read as MQTT bytes, not closed on */
	BROKER_TF_WS_FRAME_IS_PACKET = 1 << 14, /* each frame is taken as one whole packet: the
						   first packet in it only, a partial one dropped */
	BROKER_TF_WS_NO_SUBPROTOCOL = 1 << 15, /* the 101 answer selects no subprotocol */
	/* MQTT 5.0 (scenarios/conformance-5.0): */
	BROKER_TF_NO_LOCAL_IGNORED = 1 << 16, /* No Local subscriptions get their own messages */
	BROKER_TF_RAP_IGNORED = 1 << 17,      /* Retain As Published is read as 0 */
	BROKER_TF_RH_IGNORED = 1 << 18,       /* Retain Handling is read as 0 */
	BROKER_TF_SUB_ID_DROPPED = 1 << 19,   /* forwarded PUBLISHes carry no Subscription Identifier */
	BROKER_TF_EXPIRY_IGNORED = 1 << 20,   /* Message Expiry Intervals are dropped: nothing expires */
	BROKER_TF_SHARED_TO_ALL = 1 << 21,    /* every member of a shared group gets every message */
	BROKER_TF_SESSION_EXPIRY_IGNORED = 1 << 22, /* an offline session with a Session Expiry
						       Interval above 0 never expires */
	BROKER_TF_WILL_DELAY_IGNORED = 1 << 23, /* wills go out at once, whatever their Will Delay */
	BROKER_TF_NO_TAKEOVER_DISCONNECT = 1 << 24, /* a connection taken over is closed without
						       DISCONNECT 0x8E */
	BROKER_TF_ASSIGNED_ID_MISSING = 1 << 25, /* no Assigned Client Identifier in CONNACK */
	BROKER_TF_PROBLEM_INFO_IGNORED = 1 << 26, /* Reason Strings and User Properties go on every
						     packet, even after Request Problem Information 0 */
	BROKER_TF_DISCONNECT_KEEPS_WILL = 1 << 27, /* DISCONNECT 0x00 still publishes the will */
	BROKER_TF_RESPONSE_INFO_UNASKED = 1 << 28, /* CONNACK carries Response Information unasked */
	BROKER_TF_AUTH_METHOD_IGNORED = 1 << 29, /* a CONNECT's Authentication Method is ignored: an
						    unknown one is accepted as if none were given */
	BROKER_TF_WILL_NOT_CANCELLED = 1 << 30, /* a reconnection within the Will Delay Interval
						   does not stop the will */
};

void broker_config_init(broker_config *c);

broker *broker_new(const broker_env *env, const broker_config *cfg);
void broker_free(broker *b);

/* A transport connection opened; `peer` names it in logs ("10.0.0.5:51234"). */
int broker_on_open(broker *b, uint64_t conn, const char *peer);
/* Bytes arrived on a connection. */
void broker_on_bytes(broker *b, uint64_t conn, const uint8_t *data, size_t len);
/* The transport closed (FIN, RST, timeout) without the broker asking. */
void broker_on_close(broker *b, uint64_t conn);
/* Timers due: keepalive expiry, $SYS publication. */
void broker_tick(broker *b);
/* The answer (a CONNACK return code, as broker_auth.connect gives) to a connect_start that
 * returned BROKER_AUTH_PENDING. Ignored for a connection that is not waiting for one. */
void broker_on_auth(broker *b, uint64_t conn, int rc);
/* The client id of an open, connected connection (for a shell's log lines), or NULL.
 * Valid until the next call into the broker. */
const char *broker_conn_client_id(broker *b, uint64_t conn);

typedef struct broker_stats {
	uint64_t clients_connected;
	uint64_t sessions;
	uint64_t msgs_received;      /* PUBLISH packets from clients */
	uint64_t msgs_sent;          /* PUBLISH packets to clients */
	uint64_t msgs_dropped;       /* queue bounds, denied publishes */
	uint64_t msgs_expired;       /* 5.0 deliveries not made: Message Expiry Interval passed */
	uint64_t subs_refused;       /* filters refused for max_subscriptions */
	uint64_t reads_denied;       /* deliveries the receiver's read access refused */
	uint64_t retained;
	uint64_t protocol_errors;
	uint64_t store_errors;       /* appends or syncs that failed */
	uint64_t recovered_records;  /* log records replayed at start */
	uint64_t skipped_records;    /* whole log records that could not be applied at start */
	uint64_t torn_bytes;         /* bytes of a torn or corrupt log tail dropped at start */
	uint64_t torn_offset;        /* where in the log that tail began (0 when none) */
	uint64_t compactions;        /* log rewrites since start (the one at start included) */
} broker_stats;
void broker_get_stats(const broker *b, broker_stats *out);

#endif
