/*
 * core.h - internal to broker/: sessions, connections, messages, the topic tree.
 *
 * Functions shared between broker/'s files are named broker__NAME (two underscores): they
 * are not API, and nothing the broker defines is global without the broker_ prefix (the
 * lint checks the library's symbols).
 *
 * Determinism: every collection the broker walks is kept in insertion order (lists, or
 * arrays sorted by a sequence number); hash tables are used only to find things, never to
 * decide an order.
 */
#ifndef BROKER_CORE_H
#define BROKER_CORE_H

#include "broker/broker.h"
#include "broker/heap.h"
#include "broker/list.h"
#include "mqtt/mqtt.h"

typedef struct session session;
typedef struct conn conn;
typedef struct tnode tnode;
typedef struct sgroup sgroup;

/* The connections with one keepalive value, in (due, id) order. A packet makes a conn's
 * due the latest of its list, so it moves to the tail in O(1) (a step back per conn whose
 * due is the same microsecond, for the id order); only each list's head is in the deadline
 * heap. The heap's top is therefore the (due, id) minimum over every conn, as if each were
 * in the heap: the same expiries, the same wake-up times, without a sift per packet. */
typedef struct kalist {
	uint16_t keepalive_s;
	conn *head, *tail;
} kalist;

/*
 * The properties of a 5.0 PUBLISH that travel on with its message, unaltered: Payload
 * Format Indicator, Content Type, Response Topic, Correlation Data (present bits and
 * fields of p) and the User Properties, in their order, as their wire form (p.raw, only
 * User Properties in it, counted in p.user_count) [MQTT-3.3.2-4, -15, -16, -17, -18, -20].
 * The strings point into data, in the same allocation; owned by the message.
 */
typedef struct msg_props {
	mqtt_props p;
	uint8_t data[];
} msg_props;

/* A message as routed: shared by every delivery, freed with its last reference. */
typedef struct msg {
	int refs;
	uint64_t mid;      /* id in the persistence log; 0 until written there */
	uint64_t snap;     /* compaction generation that last wrote it */
	uint8_t qos;
	bool retain;
	bool dup_in;       /* the publisher's DUP: read only under BROKER_TF_DUP_COPIED */
	/* 5.0 Message Expiry Interval: when it expires on the broker's clock (INT64_MAX:
	 * never), and the interval it was published with (for a clock that went back). */
	int64_t expire_us;
	uint32_t expiry_s;
	msg_props *props;  /* NULL: none (every 3.1.1 message) */
	uint16_t topic_len;
	uint32_t payload_len;
	uint8_t *payload;  /* points into the same allocation, after the topic */
	char topic[];      /* NUL-terminated */
} msg;

enum out_state { OUT_QUEUED = 0, OUT_SENT, OUT_RELEASED };

/*
 * Retained messages still to send for a new subscription, paced by the in-flight window
 * (handle_publish.c). It sits in the session's queue as an outmsg without a message, so
 * what arrives after the SUBSCRIBE queues behind it. Positions are the retained entries'
 * insertion numbers, so a deleted entry never leaves it dangling; it sends only entries
 * set before the subscription (newer ones went out live).
 */
typedef struct rcursor {
	uint64_t start;           /* ret_clock at the SUBSCRIBE */
	uint64_t next_ins;        /* first insertion number not yet looked at; UINT64_MAX: done */
	struct retained *at;      /* cached entry with that number, valid while gen == ret_gen */
	uint64_t gen;
	bool exact;               /* a filter without wildcards: one entry, found by hash */
	uint8_t qos;
	uint32_t sub_id;          /* the subscription's Subscription Identifier (0: none) */
	uint16_t filter_len;
	char filter[];
} rcursor;

/* One outbound delivery to a session, in FIFO order. */
typedef struct outmsg {
	msg *m;            /* NULL for a retained cursor (rc) in the queue */
	rcursor *rc;
	uint8_t qos;       /* min(subscription, message) */
	uint8_t state;     /* enum out_state */
	bool retain;       /* RETAIN=1: a retained message sent because of a new subscription */
	bool unchecked;    /* read access not yet checked against the session's user (recovered) */
	uint16_t id;       /* packet id once in flight */
	/* 5.0 Subscription Identifiers of the subscriptions it matched, for its PUBLISH
	 * [MQTT-3.3.4-3, -4]; owned (NULL when none). */
	uint32_t nsub_ids;
	uint32_t *sub_ids;
	/* The shared subscription group (sgroup.id) that chose this session for it, 0: none;
	 * if the session ends first it goes to another member [MQTT-4.8.2-4]. Not persisted. */
	uint64_t grp;
	struct outmsg *next;
} outmsg;

/* A subscription of a session: on its node's list (subscription order, for routing) and on
 * the session's list (newest first, for unsubscribe, cleanup and compaction), both doubly
 * linked so either unlink is O(1); found by node in the session's hash table. */
/* 5.0 subscription options beside the QoS (bits of sub.opts; a 3.1.1 subscription has none). */
#define SUB_NO_LOCAL 0x01   /* not to the client that published it [MQTT-3.8.3-3] */
#define SUB_RAP      0x02   /* Retain As Published [MQTT-3.3.1-12, -13] */
#define SUB_SHARED   0x04   /* a member of a shared subscription group (sub.grp); persisted only */

typedef struct sub {
	session *s;
	uint8_t qos;
	uint8_t opts;      /* SUB_* */
	uint32_t sub_id;   /* 5.0 Subscription Identifier, 0: none */
	uint64_t seq;      /* when it was made: orders deliveries */
	tnode *node;
	sgroup *grp;       /* shared subscription: its group (and it is on the group's list, not
			    * the node's); NULL for an ordinary one */
	struct sub *next_in_node, *prev_in_node;
	struct sub *next_in_session, *prev_in_session;
	struct sub *hnext; /* chain in s->sub_tab, keyed by node->id; finds, never orders */
} sub;

/*
 * A shared subscription group, `$share/NAME/filter` (5.0 §4.8.2): the members are
 * subscriptions of different sessions, in subscription order; each message matching the
 * filter goes to one of them, round robin (handle_publish.c).
 */
struct sgroup {
	char *name;                /* the share name, NUL-terminated */
	size_t name_len;
	uint64_t id;               /* creation order: orders deliveries; found again by it */
	tnode *node;               /* of the filter after the share name */
	sub *members, *members_tail;
	uint64_t last_seq;         /* seq of the member served last (0: none yet) */
	sgroup *next_in_node, *prev_in_node;
	sgroup *next, *prev;       /* all groups (broker.groups), creation order */
};

/* Who a session belongs to: the user name of the CONNECT that created it. */
enum owner_state { OWNER_UNKNOWN = 0, OWNER_ANON, OWNER_USER };

struct session {
	char *client_id;
	char *owner;               /* user name (OWNER_USER), else NULL */
	uint8_t owner_state;       /* enum owner_state; UNKNOWN only from a log that predates it */
	uint64_t seq;              /* creation order */
	bool clean;
	conn *c;                   /* NULL while offline */
	sub *subs;
	sub **sub_tab;             /* subs by node id (find only); NULL until the first */
	uint32_t nsubs, sub_tab_cap;
	outmsg *inflight, **inflight_tail;
	uint32_t inflight_count;
	outmsg *queue, **queue_tail;
	uint32_t queued;
	uint16_t last_id;
	uint16_t *in_qos2;         /* inbound QoS 2 ids awaiting PUBREL */
	/* Session Expiry Interval (5.0 semantics for both levels: a 3.1.1 clean session is 0,
	 * a persistent one SESSION_NEVER). While offline with a finite interval the session
	 * sits in the expiry heap until exp.at. */
	uint32_t expiry_s;
	bheap_item exp;            /* exp.at: INT64_MAX while connected or never expiring; tie seq */
	uint32_t in_qos2_len, in_qos2_cap;
	/* A 5.0 will waiting out its Will Delay Interval: published at willh.at or when the
	 * session ends, whichever is first; dropped if a connection for this client id comes
	 * first [MQTT-3.1.2-8, MQTT-3.1.3-9]. Persisted (R_WILL), so it outlives a crash with
	 * its session, due at the same time on the broker's clock. */
	msg *will;
	bool will_has_expiry;
	uint32_t will_expiry_s;
	uint32_t will_delay_s;     /* its Will Delay Interval: bounds willh.at read from a log */
	bheap_item willh;          /* in broker.wills while will is set; tie seq */
	session *next, *prev;      /* all sessions, creation order */
	session *hnext;            /* hash chain */
};

enum conn_state { CONN_NEW = 0, CONN_UP };

struct conn {
	uint64_t id;
	int state;
	session *s;
	char *peer;
	char *username;
	uint8_t *rx;
	size_t rx_len, rx_cap;
	uint16_t keepalive_s;
	uint8_t version;           /* MQTT_V311 or MQTT_V5 once CONNECT is read; 0 before */
	/* What a 5.0 client told us in its CONNECT (3.1.1: the defaults). */
	uint16_t recv_max;         /* its Receive Maximum: QoS 1/2 PUBLISHes it takes unacked */
	uint32_t max_out_packet;   /* its Maximum Packet Size (0: the protocol maximum) */
	bool problem_info;         /* Request Problem Information: reason strings allowed */
	bool expiry_zero_at_connect; /* DISCONNECT may not raise 0 (5.0 §3.14.2.2.2) */
	/* Inbound QoS 1/2 PUBLISHes on this connection not yet acknowledged, against our
	 * Receive Maximum: PUBACKs held for the sync, QoS 2 ids awaiting PUBREL. */
	uint32_t in_q1_held, in_q2;
	bheap_item dl;             /* in the deadline heap: the CONNECT timer, or a kalist's head */
	int64_t ka_due;            /* keepalive expiry while in kal */
	kalist *kal;               /* its keepalive list; NULL when none */
	conn *ka_prev, *ka_next;
	bool will;
	uint8_t will_qos;
	bool will_retain;
	char *will_topic;
	uint8_t *will_payload;
	uint32_t will_payload_len;
	/* 5.0: the will as a message with its properties (forwarded like a PUBLISH's), its
	 * Message Expiry Interval (counted from its publication) and Will Delay Interval. */
	msg *will_msg;
	bool will_has_expiry;
	uint32_t will_expiry_s;
	uint32_t will_delay_s;
	bool auth_pending;         /* CONNECT waits for broker_on_auth(); input is kept, unread */
	bool auth_answered;        /* ... and here is the answer, for the CONNECT's second pass */
	uint8_t auth_rc;
	bool subs_limit_logged;    /* max_subscriptions refusal logged for this connection */
	/* 5.0 enhanced authentication (handle_auth.c): the Authentication Method of the
	 * CONNECT (NULL: none, and then no AUTH either way [MQTT-4.12.0-6, -7]); the exchange
	 * under way (first, or a re-authentication); the CONNECT waiting for its end, as
	 * received; and the server's last data for the CONNACK that ends a first exchange. */
	char *auth_method;
	struct broker_scram *scram;
	uint8_t *connect_raw;
	size_t connect_raw_len;
	char *auth_final;
	/* The packet being dispatched, as received (valid during dispatch only). */
	const uint8_t *in_raw;
	size_t in_raw_len;
	/* Inbound Topic Aliases of this connection (never of the session [MQTT-3.3.2-7]):
	 * alias[i] is alias i + 1's topic, or NULL; grown to the highest alias set. */
	char **alias;
	uint32_t nalias;
	conn *next, *prev;         /* all connections, open order */
	conn *hnext;
};

/* One filter level. Children are kept on a list in insertion order (the only order
 * anything walks them in) and, once there are more than a few, also in a hash table by
 * level, so finding a child is O(1) however many siblings it has; the "+" and "#" children
 * are also pointed to directly, so matching a topic looks at most three children per level. */
struct tnode {
	char *level;               /* NUL-terminated */
	size_t level_len;
	uint64_t id;               /* creation order; keys the sessions' subscription tables */
	tnode *parent;
	tnode *children, *children_tail;
	tnode *sibling, *prev_sibling;
	tnode *plus, *hash;        /* the "+" and "#" children, or NULL */
	tnode **tab;               /* children by level hash; NULL while there are few */
	uint32_t nchildren, tab_cap;
	tnode *hnext;              /* chain in the parent's tab */
	sub *subs, *subs_tail;     /* subscriptions ending here, in subscription order */
	sgroup *groups, *groups_tail; /* shared subscription groups of this filter, creation order */
};

typedef struct retained {
	msg *m;
	uint64_t ins_seq;          /* ret_clock when the topic was first retained (list order) */
	uint64_t set_seq;          /* ret_clock when m was set */
	struct retained *next, *prev;
	struct retained *hnext;
} retained;

struct broker {
	broker_env env;
	broker_config cfg;
	int64_t started_us;
	uint64_t next_seq;
	uint64_t assigned_ids;

	conn *conns, *conns_tail;
	size_t nconns;
	conn **conn_hash;
	size_t conn_buckets;

	session *sessions, *sessions_tail;
	session **sess_hash;
	size_t sess_buckets;

	tnode root;
	uint64_t next_node_id;
	sgroup *groups, *groups_tail;
	bool freeing;              /* broker_free: sessions go, nothing is handed on */

	retained *retained, *retained_tail;
	retained **ret_hash;
	size_t ret_buckets;
	uint64_t ret_clock;        /* counts retained sets, for rcursor */
	uint64_t id_rng;           /* BROKER_VAR_RANDOM_IDS: xorshift state for packet ids */
	uint64_t ret_gen;          /* counts retained deletions, for rcursor */

	bheap deadlines;           /* conns by deadline: CONNECT timers and kalist heads */
	kalist **kals;             /* by keepalive_s ascending; kept until broker_free */
	size_t nkals, kals_cap;
	bheap expiries;            /* offline sessions by expiry */
	bheap wills;               /* offline sessions by delayed will */
	int64_t next_sys_us;
	int64_t woken_for;

	uint8_t *out;              /* encode scratch */
	size_t out_cap;

	/* persistence (persist.c) */
	const broker_store *store;
	bool replaying;            /* recovery: apply, do not write */
	bool dirty;                /* records since the last sync */
	/* An append or sync failed (or the start-up compaction did): the log may have a hole,
	 * and records appended after a hole would replay against the wrong state. Until a whole
	 * snapshot is written (compaction via replace), nothing more is appended and output
	 * that reveals state stays held (persist.c). */
	bool log_stale;
	/* The records since the last sync, appended at the sync as one (persist.c emit). */
	uint8_t *batch;
	size_t batch_len, batch_cap, batch_recs;
	uint64_t next_mid;
	uint64_t snap_gen;
	size_t log_bytes, snap_bytes;
	/* Output held until the log is durable (broker__send_later): packets, encoded, in order. */
	struct pending_ack {
		uint64_t conn;
		size_t off, len;   /* in held_bytes */
	} *acks;
	size_t nacks, acks_cap;
	uint8_t *held_bytes;
	size_t held_len, held_cap;

	/* Key for the made-up salt and keys of SCRAM users that do not exist: drawn from
	 * env.rand_bytes at the first need (handle_auth.c). */
	uint8_t scram_secret[32];
	bool scram_secret_set;

	broker_stats st;
};

/* core.c */
/* Encode by the connection's level (a 3.1.1 client never sees 5.0 properties) and send;
 * a packet over a 5.0 client's Maximum Packet Size is not sent (see broker__core_fit). */
void broker__core_send(broker *b, conn *c, const mqtt_packet *p);
size_t broker__core_fit(const conn *c, const mqtt_packet *p, mqtt_packet *q);
conn *broker__conn_find(broker *b, uint64_t id);
void broker__core_close(broker *b, conn *c, bool publish_will, const char *why);
void broker__core_deadline(broker *b, conn *c, int64_t at);
void broker__core_keepalive(broker *b, conn *c, int64_t due);
void broker__core_log(broker *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
uint64_t broker__core_hash(const char *s, size_t n);

/* Session Expiry Interval meaning "never" (also every 3.1.1 persistent session). */
#define SESSION_NEVER UINT32_MAX

/* core.c, 5.0 delayed wills: publish the session's pending will now (it ends, or its delay
 * passed), or drop it (a connection for its client id came in time). */
void broker__will_fire(broker *b, session *s);
void broker__will_cancel(broker *b, session *s);

/* core.c, 5.0: send DISCONNECT with this reason (to a 5.0 client; nothing to a 3.1.1
 * one, which has no such packet from a server), then close, publishing the will. */
void broker__core_disconnect(broker *b, conn *c, uint8_t reason, const char *why);
/* May a reason string go to this client (5.0 and Request Problem Information not 0)? */
bool broker__core_reason_ok(const conn *c);

/* handle_connect.c */
void broker__handle_connect(broker *b, conn *c, const mqtt_packet *p);
void broker__handle_disconnect(broker *b, conn *c, const mqtt_packet *p);
/* A session lost its connection: start its expiry clock (or free it, interval 0). */
void broker__session_detach(broker *b, session *s);
/* Put an offline session in the expiry heap at at_us (INT64_MAX: take it out). */
void broker__session_expire_at(broker *b, session *s, int64_t at_us);
/* Free every offline session whose expiry time has come; the earliest left, or INT64_MAX. */
int64_t broker__session_expire(broker *b, int64_t now_us);
session *broker__session_find(broker *b, const char *id);
session *broker__session_create_offline(broker *b, const char *id);
void broker__session_free(broker *b, session *s);
/* Set the owner (username NULL: anonymous); false if it was that already. */
bool broker__session_set_owner(session *s, const char *username);

/* handle_auth.c: 5.0 enhanced authentication. A CONNECT with an Authentication Method
 * (before its second pass): start the exchange; the CONNECT comes back to
 * broker__handle_connect with conn.auth_answered once it succeeded. */
void broker__auth_begin(broker *b, conn *c, const mqtt_packet *p);
void broker__handle_auth(broker *b, conn *c, const mqtt_packet *p);
void broker__auth_conn_free(conn *c);

/* handle_publish.c */
msg *broker__msg_new(const char *topic, size_t topic_len, const uint8_t *payload, size_t len,
		     uint8_t qos, bool retain);
void broker__msg_unref(msg *m);
/* Keep the forwarded properties of in (a decoded PUBLISH's, or as recovery rebuilds them;
 * nothing kept when it has none of them). */
void broker__msg_set_props(msg *m, const mqtt_props *in);
/* Has the message's expiry interval passed (5.0 §3.3.2.3.3)? */
bool broker__msg_expired(const msg *m, int64_t now_us);
void broker__handle_publish(broker *b, conn *c, const mqtt_packet *p);
void broker__handle_ack(broker *b, conn *c, const mqtt_packet *p);
/* Returns the number of sessions it went to. from: the publisher's session (NULL for the
 * broker's own), whose No Local subscriptions it skips. */
size_t broker__route(broker *b, msg *m, const session *from);
/* ids: the Subscription Identifiers it goes with (copied; NULL when n_ids is 0); grp: the
 * shared subscription group it was chosen by (0: none). */
void broker__deliver(broker *b, session *s, msg *m, uint8_t qos, bool retain_flag,
		     const uint32_t *ids, uint32_t n_ids, uint64_t grp);
/* A session ends: what shared subscriptions gave it and it has not delivered goes to
 * another member of the group [MQTT-4.8.2-4]. */
void broker__shared_handoff(broker *b, session *s);
void broker__session_resume(broker *b, session *s);
/* Test switch BROKER_TF_UNSUB_DROPS_INFLIGHT: forget the deliveries in flight to s whose
 * topic matches filter, as a broken UNSUBSCRIBE would (MQTT-3.10.4-3 forbids it). */
void broker__inflight_drop_matching(broker *b, session *s, const uint8_t *filter, size_t len);
void broker__session_pump(broker *b, session *s);
void broker__outmsg_free_list(outmsg *o);
void broker__retained_set(broker *b, msg *m);
void broker__retained_deliver(broker *b, session *s, const char *filter, size_t flen, uint8_t qos,
			      uint32_t sub_id);
void broker__retained_free_all(broker *b);
/* May the session's user read this topic (auth's allow for reading, a concrete topic)? */
bool broker__may_read(broker *b, session *s, const char *topic);

/* handle_subscribe.c */
void broker__handle_subscribe(broker *b, conn *c, const mqtt_packet *p);
void broker__handle_unsubscribe(broker *b, conn *c, const mqtt_packet *p);
void broker__subs_drop_session(broker *b, session *s);
void broker__tree_free(tnode *n);
/* Every ordinary subscription matching a topic, grouped by session (in session creation
 * order), in subscription order within a session; and the shared groups matching it, in
 * creation order. Caller frees *out and *groups. Returns the count of subscriptions. */
size_t broker__tree_match(broker *b, const char *topic, sub ***out, sgroup ***groups, size_t *ngroups);

/* handle_subscribe.c, shared with recovery. broker__sub_add never refuses (recovery restores what
 * was granted); broker__handle_subscribe applies max_subscriptions before it. */
/* opts SUB_*; with SUB_SHARED the filter is `$share/NAME/filter` (valid: checked before). */
void broker__sub_add(broker *b, session *s, const char *filter, size_t flen, uint8_t qos,
		     uint8_t opts, uint32_t sub_id);
bool broker__sub_remove(broker *b, session *s, const char *filter, size_t flen, bool shared);

/* handle_publish.c, shared with recovery */
outmsg *broker__queue_append(session *s, msg *m, uint8_t qos, bool retain_flag);
outmsg *broker__queue_prepend(session *s, msg *m, uint8_t qos, bool retain_flag);
bool broker__session_replay_out(session *s, uint8_t type, uint16_t id);

/* persist.c: records of what a restart must rebuild; all no-ops without a store, during
 * recovery, and for clean sessions. */
enum {
	R_SESS = 1, R_SESS_DEL, R_SUB, R_UNSUB, R_MSG, R_ENQ, R_SENT, R_POP, R_REL, R_DONE,
	R_IN2, R_IN2_DEL, R_RET, R_RET_DEL,
	R_BATCH, /* the records of one sync, whole, in one record: applied all or none */
	R_ENQ_FRONT, /* a message put back at the head of a session's queue */
	R_WILL, R_WILL_DEL, /* an offline session's delayed will set; gone (published or dropped) */
};
void broker__persist_session(broker *b, session *s, bool exists);
/* x: the subscription made or replaced, with its options; NULL: the filter's was removed. */
void broker__persist_sub(broker *b, session *s, const char *filter, size_t flen, const sub *x,
			 bool shared);
void broker__persist_enq(broker *b, session *s, const outmsg *o, bool front);
void broker__persist_out(broker *b, session *s, uint8_t type, uint16_t id);
void broker__persist_retained(broker *b, const msg *m);
/* The session's delayed will as it is now: R_WILL while s->will is set, else R_WILL_DEL. */
void broker__persist_will(broker *b, session *s);
void broker__persist_recover(broker *b);
void broker__persist_free(broker *b);
/* Output that reveals state - acknowledgements, SUBACK, a PUBLISH whose packet id the
 * session now holds - waits for the log to be durable: queued here in order, sent by
 * broker__acks_flush() after one sync (group commit). Without a store, or with nothing appended
 * since the last sync, it goes out at once. */
void broker__send_later(broker *b, conn *c, const mqtt_packet *p);
void broker__ack_later(broker *b, conn *c, uint8_t type, uint16_t id);
void broker__acks_flush(broker *b);

/* sys.c */
void broker__sys_publish(broker *b);

#endif
