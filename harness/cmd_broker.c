/*
 * cmd_broker.c - `mqttsim broker`: the reference broker on real sockets.
 */
#include "harness/broker_auth_file.h"
#include "harness/broker_shell_tcp.h"
#include "harness/broker_store_file.h"
#include "harness/cli.h"
#include "harness/tls.h"
#include "mqtt/mqtt.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static const char broker_usage[] =
	"usage: mqttsim broker [--listen ADDR:PORT] [options]\n"
	"\n"
	"Run the reference MQTT broker (3.1.1 and 5.0 clients) on real sockets until SIGINT or\n"
	"SIGTERM.\n"
	"\n"
	"  --listen ADDR:PORT   address to listen on (default 127.0.0.1:1883; port 0 picks one)\n"
	"  --listen-tls ADDR:PORT  also listen for MQTT over TLS there (8883 is usual; port 0\n"
	"                       picks one); needs --tls-cert and --tls-key. A client that has\n"
	"                       not finished its handshake within 10 s is dropped\n"
	"  --listen-ws ADDR:PORT[/PATH]  also listen for MQTT over WebSocket there (subprotocol\n"
	"                       mqtt; with PATH only that path, else any)\n"
	"  --listen-wss ADDR:PORT[/PATH]  the same over TLS; needs --tls-cert and --tls-key\n"
	"  --tls-cert FILE      the broker's certificate (PEM, the chain after it)\n"
	"  --tls-key FILE       its private key (PEM)\n"
	"  --tls-cafile FILE    require TLS clients to present a certificate signed by a CA in\n"
	"                       FILE (PEM)\n"
	"  --store DIR          keep persistent sessions and retained messages in DIR/broker.log\n"
	"  --passwords FILE     user names and keys of their passwords (see mqttsim passwd); 5.0\n"
	"                       clients may also log in with Authentication Method SCRAM-SHA-256\n"
	"                       over the same file (enhanced authentication, re-authentication)\n"
	"  --acl FILE           topic access rules: user/client sections, topic/pattern lines\n"
	"  --sys-interval S     publish $SYS/ topics every S seconds (default 10; 0 disables)\n"
	"  --max-inflight N     outbound QoS 1/2 messages in flight per client (1..65535, default 20)\n"
	"  --max-queued N       messages queued per session (1..4294967295, default 1000)\n"
	"  --max-subscriptions N  filters one session may hold (1..4294967295, default 10000;\n"
	"                       4294967295 for no practical limit); past it a filter gets SUBACK 0x80\n"
	"  --drop-oldest        when a queue is full drop its oldest message (default: the new one)\n"
	"  --queue-qos0         queue QoS 0 messages for offline persistent sessions\n"
	"  --broker-variant NAME  behave another way the spec permits (repeatable): one-in-flight,\n"
	"                       random-packet-ids, no-sys, dollar-refused, qos0-not-queued,\n"
	"                       overlap-copies, server-keepalive, low-receive-max (see\n"
	"                       scenarios/README.md)\n"
	"  --no-anonymous       refuse CONNECT without a user name (CONNACK 5)\n"
	"  --max-packet BYTES   larger packets close the connection (1..4294967295, default 1048576)\n"
	"\n"
	"MQTT 5.0 limits, announced in CONNACK to 5.0 clients and enforced:\n"
	"  --max-session-expiry S  Session Expiry Interval granted at most (1..4294967295 seconds,\n"
	"                       default: no cap); caps 3.1.1 persistent sessions too\n"
	"  --receive-max N      inbound QoS 1/2 PUBLISHes a client may leave unacknowledged\n"
	"                       (1..65535, default 65535); past it DISCONNECT 0x93\n"
	"  --max-qos Q          highest QoS accepted and granted (0..2, default 2)\n"
	"  --no-retain          retained messages not available (5.0 PUBLISH with retain: 0x9A)\n"
	"  --no-sub-ids         Subscription Identifiers not available (SUBACK 0xA1)\n"
	"  --no-wildcards       wildcard filters not available (SUBACK 0xA2; 3.1.1: 0x80)\n"
	"  --no-shared-subs     shared subscriptions ($share/NAME/filter) not available\n"
	"                       (SUBACK 0x9E)\n"
	"  --server-keepalive S  keep alive imposed on 5.0 clients asking for more or none\n"
	"                       (1..65535 seconds; default: the client's own)\n"
	"  --topic-alias-max N  Topic Alias Maximum: inbound aliases 1..N taken (0..65535,\n"
	"                       default 10; 0: none); past it DISCONNECT 0x94. The broker sends\n"
	"                       no aliases to clients\n"
	"  --check-payload-format  refuse a PUBLISH whose Payload Format Indicator is 1 but whose\n"
	"                       payload is not well-formed UTF-8: PUBACK/PUBREC 0x99, not delivered\n"
	"                       (default: payloads forwarded unread)\n"
	"  --config FILE        options from FILE (UTF-8 text), one per line without the dashes\n"
	"\n"
	"One log line per connect, disconnect and refusal goes to stderr.\n";

/* A whole non-negative decimal number within max; false otherwise. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_listen(const char *s, char *host, size_t hcap, unsigned *port)
{
	const char *colon = strrchr(s, ':');
	unsigned long p;
	if (!colon || colon == s || !parse_uint(colon + 1, 65535, &p))
		return false;
	size_t n = (size_t)(colon - s);
	if (s[0] == '[' && n >= 2 && s[n - 1] == ']') { /* [::1]:1883 */
		s++;
		n -= 2;
	}
	if (n >= hcap)
		return false;
	memcpy(host, s, n);
	host[n] = 0;
	*port = (unsigned)p;
	return true;
}

typedef struct bopts {
	char host[64];
	char tls_host[64];
	bool tls;                          /* --listen-tls given */
	unsigned tls_port;
	char *tls_cert, *tls_key, *tls_cafile; /* owned copies */
	char ws_host[64], wss_host[64];
	bool ws, wss;                      /* --listen-ws, --listen-wss given */
	unsigned ws_port, wss_port;
	char ws_path[256], wss_path[256];  /* "" for any path */
	broker_tcp_opts o;
	char *store_dir, *passwords, *acl; /* owned copies */
	int depth;                         /* --config nesting */
} bopts;

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
}

static int parse(bopts *b, int argc, char **argv, const char *where, FILE *out, FILE *err);

#define CONFIG_MAX_BYTES (1u << 20) /* a config file is a few lines; this is plenty */

/* What is wrong with the bytes of one config line, or NULL: a config file is UTF-8 text
 * (file names may need more than ASCII), without control characters but tab and CR. */
static const char *config_line_bad(const char *s, size_t n, size_t *at)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
			*at = i;
			return "a control character";
		}
	}
	mqtt_err e;
	if (mqtt_utf8_check((const uint8_t *)s, n, MQTT_V311, &e) < 0) {
		*at = e.offset;
		return "a byte that is not UTF-8 text";
	}
	return NULL;
}

/* The whole config file, or NULL after a message. */
static char *config_read(const char *path, size_t *len, FILE *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(err, "mqttsim broker: --config %s: %s\n", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(err, "mqttsim broker: --config %s is a directory; give the config file in it\n", path);
		fclose(f);
		return NULL;
	}
	const char *why;
	char *buf = cli_read_all(f, CONFIG_MAX_BYTES, len, &why);
	fclose(f);
	if (!buf) {
		if (!strcmp(why, "too large"))
			fprintf(err, "mqttsim broker: --config %s is larger than 1 MiB: not a config file\n", path);
		else if (!strcmp(why, "out of memory"))
			fprintf(err, "mqttsim broker: out of memory\n");
		else
			fprintf(err, "mqttsim broker: --config %s: %s\n", path, why);
	}
	return buf;
}

/* A config file: one option per line, as on the command line without the dashes
 * ("listen 127.0.0.1:1883", "no-anonymous"); '#' starts a comment. */
static int parse_config(bopts *b, const char *path, FILE *out, FILE *err)
{
	if (++b->depth > 4) {
		fprintf(err, "mqttsim broker: %s: --config nested too deeply\n", path);
		return -1;
	}
	size_t len = 0;
	char *text = config_read(path, &len, err);
	if (!text) {
		b->depth--;
		return -1;
	}
	int rc = 0;
	char *line = NULL;
	size_t no = 0;
	for (size_t i = 0; rc == 0 && i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len, n = end - i;
		const char *s = text + i;
		i = end + 1;
		no++;
		char where[1100], opt[80], shown[80];
		size_t at = 0;
		const char *bad = config_line_bad(s, n, &at);
		if (bad) {
			size_t col = 1;
			for (size_t k = 0; k < at; k++)
				col += ((unsigned char)s[k] & 0xc0) != 0x80;
			cli_char((const unsigned char *)s + at, n - at, shown, sizeof shown);
			fprintf(err, "mqttsim broker: %s:%zu:%zu: '%s' is %s, but a config file is text: one "
				     "option per line\n", path, no, col, shown, bad);
			rc = -1;
			break;
		}
		free(line);
		line = malloc(n + 1);
		if (!line) {
			fprintf(err, "mqttsim broker: out of memory\n");
			rc = -1;
			break;
		}
		memcpy(line, s, n);
		line[n] = 0;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *name = strtok(line, " \t\r"), *value = strtok(NULL, " \t\r"), *extra = strtok(NULL, " \t\r");
		if (!name)
			continue;
		snprintf(where, sizeof where, "%s:%zu: ", path, no);
		if (extra) {
			cli_escape(extra, strlen(extra), shown, sizeof shown);
			fprintf(err, "mqttsim broker: %sone option and at most one value per line ('%s' is extra)\n",
				where, shown);
			rc = -1;
			break;
		}
		if (strlen(name) > sizeof opt - 3) {
			cli_escape(name, strlen(name), shown, sizeof shown);
			fprintf(err, "mqttsim broker: %sunknown option '%s'\n", where, shown);
			rc = -1;
			break;
		}
		snprintf(opt, sizeof opt, "--%s", name);
		char *args[3] = { (char *)"broker", opt, value };
		rc = parse(b, value ? 3 : 2, args, where, out, err);
		if (rc > 0) /* "help" in a config file is not a request for help */
			rc = 0;
	}
	free(line);
	free(text);
	b->depth--;
	return rc;
}

/* The broker's numeric limits: the option, its range, what the number counts (said after
 * the range when a value is refused), and the broker_config field it sets. */
#define CFG_FIELD(f) offsetof(broker_config, f), sizeof ((broker_config *)0)->f
static const struct limit_opt {
	const char *name;
	unsigned long min, max;
	const char *unit;
	size_t offset, size;
} limit_opts[] = {
	{ "--sys-interval", 0, UINT_MAX, " (seconds; 0 disables $SYS)", CFG_FIELD(sys_interval_s) },
	{ "--max-inflight", 1, 65535, "", CFG_FIELD(max_inflight) },
	{ "--max-queued", 1, UINT_MAX, "", CFG_FIELD(max_queued) },
	{ "--max-packet", 1, UINT_MAX, " (bytes)", CFG_FIELD(max_packet_size) },
	{ "--max-subscriptions", 1, UINT_MAX, " (4294967295: no practical limit)", CFG_FIELD(max_subscriptions) },
	{ "--max-session-expiry", 1, UINT_MAX, " (seconds)", CFG_FIELD(max_session_expiry_s) },
	{ "--receive-max", 1, 65535, "", CFG_FIELD(receive_max) },
	{ "--max-qos", 0, 2, "", CFG_FIELD(max_qos) },
	{ "--server-keepalive", 1, 65535, " (seconds)", CFG_FIELD(server_keepalive_s) },
	{ "--topic-alias-max", 0, 65535, "", CFG_FIELD(topic_alias_max) },
};
#undef CFG_FIELD

static const struct limit_opt *limit_opt(const char *name)
{
	for (size_t k = 0; k < sizeof limit_opts / sizeof limit_opts[0]; k++)
		if (!strcmp(name, limit_opts[k].name))
			return &limit_opts[k];
	return NULL;
}

/* The options that turn a broker_config flag on or off. */
static const struct switch_opt {
	const char *name;
	size_t offset;
	bool value;
} switch_opts[] = {
	{ "--queue-qos0", offsetof(broker_config, queue_qos0), true },
	{ "--no-anonymous", offsetof(broker_config, allow_anonymous), false },
	{ "--no-retain", offsetof(broker_config, retain_available), false },
	{ "--no-sub-ids", offsetof(broker_config, no_sub_ids), true },
	{ "--no-wildcards", offsetof(broker_config, no_wildcards), true },
	{ "--no-shared-subs", offsetof(broker_config, no_shared_subs), true },
	{ "--check-payload-format", offsetof(broker_config, check_payload_format), true },
};

static const struct switch_opt *switch_opt(const char *name)
{
	for (size_t k = 0; k < sizeof switch_opts / sizeof switch_opts[0]; k++)
		if (!strcmp(name, switch_opts[k].name))
			return &switch_opts[k];
	return NULL;
}

/* Options from argv[1..]. Returns 0, 1 after printing help, -1 after an error. */
static int parse(bopts *b, int argc, char **argv, const char *where, FILE *out, FILE *err)
{
	broker_tcp_opts *o = &b->o;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long n;
		const struct limit_opt *lim;
		const struct switch_opt *sw;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(broker_usage, out);
			return 1;
		} else if (!strcmp(a, "--listen") || !strcmp(a, "--listen-tls")) {
			bool tls = a[8] == '-';
			if (!v || !parse_listen(v, tls ? b->tls_host : b->host, sizeof b->host, tls ? &b->tls_port : &o->port)) {
				char shown[80] = "(nothing)";
				if (v)
					cli_escape(v, strlen(v), shown, sizeof shown);
				fprintf(err, "mqttsim broker: %s%s takes ADDR:PORT with PORT from 0 to 65535 "
					     "(e.g. 127.0.0.1:%s; 0 picks a free port), not '%s'\n", where, a, tls ? "8883" : "1883",
					shown);
				return -1;
			}
			b->tls |= tls;
			i++;
		} else if (!strcmp(a, "--listen-ws") || !strcmp(a, "--listen-wss")) {
			bool sec = a[11] == 's';
			char hp[128], *path = sec ? b->wss_path : b->ws_path;
			const char *slash = v ? strchr(v, '/') : NULL;
			size_t hl = v ? (slash ? (size_t)(slash - v) : strlen(v)) : 0;
			bool ok = v && hl < sizeof hp && (!slash || strlen(slash) < sizeof b->ws_path);
			for (const char *q = slash; ok && q && *q; q++)
				ok = (unsigned char)*q > 0x20 && (unsigned char)*q < 0x7f;
			if (ok) {
				memcpy(hp, v, hl);
				hp[hl] = 0;
				ok = parse_listen(hp, sec ? b->wss_host : b->ws_host, sizeof b->ws_host, sec ? &b->wss_port : &b->ws_port);
			}
			if (!ok) {
				char shown[80] = "(nothing)";
				if (v)
					cli_escape(v, strlen(v), shown, sizeof shown);
				fprintf(err, "mqttsim broker: %s%s takes ADDR:PORT[/PATH] with PORT from 0 to 65535 and a path of "
					     "printable ASCII without spaces (e.g. 127.0.0.1:8080/mqtt; 0 picks a free port), not '%s'\n",
					where, a, shown);
				return -1;
			}
			snprintf(path, sizeof b->ws_path, "%s", slash ? slash : "");
			if (sec)
				b->wss = true;
			else
				b->ws = true;
			i++;
		} else if (!strcmp(a, "--tls-cert") || !strcmp(a, "--tls-key") || !strcmp(a, "--tls-cafile")) {
			if (!v) {
				fprintf(err, "mqttsim broker: %s%s needs a file name\n", where, a);
				return -1;
			}
			set_str(a[6] == 'c' && a[7] == 'e' ? &b->tls_cert : a[6] == 'k' ? &b->tls_key : &b->tls_cafile, v);
			i++;
		} else if ((lim = limit_opt(a))) {
			if (!parse_uint(v, lim->max, &n) || n < lim->min) {
				char shown[80] = "(nothing)";
				if (v)
					cli_escape(v, strlen(v), shown, sizeof shown);
				fprintf(err, "mqttsim broker: %s%s takes a whole number from %lu to %lu%s, not '%s'\n",
					where, a, lim->min, lim->max, lim->unit, shown);
				return -1;
			}
			void *field = (char *)&o->cfg + lim->offset;
			if (lim->size == 1)
				*(uint8_t *)field = (uint8_t)n;
			else if (lim->size == 2)
				*(uint16_t *)field = (uint16_t)n;
			else
				*(uint32_t *)field = (uint32_t)n;
			i++;
		} else if (!strcmp(a, "--store") || !strcmp(a, "--passwords") || !strcmp(a, "--acl") ||
			   !strcmp(a, "--config")) {
			if (!v) {
				fprintf(err, "mqttsim broker: %s%s needs a %s\n", where, a,
					strcmp(a, "--store") ? "file name" : "directory");
				return -1;
			}
			if (!strcmp(a, "--store"))
				set_str(&b->store_dir, v);
			else if (!strcmp(a, "--passwords"))
				set_str(&b->passwords, v);
			else if (!strcmp(a, "--acl"))
				set_str(&b->acl, v);
			else if (parse_config(b, v, out, err) < 0)
				return -1;
			i++;
		} else if (!strcmp(a, "--drop-oldest")) {
			o->cfg.queue_policy = BROKER_DROP_OLDEST;
		} else if ((sw = switch_opt(a))) {
			*(bool *)((char *)&o->cfg + sw->offset) = sw->value;
		} else if (!strcmp(a, "--break-broker")) {
			/* Test-only, as conform's: so the suite's checks are shown to fail over TCP too. */
			if (cli_break_broker("broker", v, &o->cfg.test_faults, err) < 0)
				return -1;
			i++;
		} else if (!strcmp(a, "--broker-variant")) {
			if (cli_broker_variant("broker", v, &o->cfg.variants, err) < 0)
				return -1;
			i++;
		} else {
			char shown[80];
			cli_escape(a, strlen(a), shown, sizeof shown);
			fprintf(err, "mqttsim broker: %sunknown option '%s'\n%s", where, shown, *where ? "" : broker_usage);
			return -1;
		}
	}
	return 0;
}

static void bopts_free(bopts *b)
{
	free(b->store_dir);
	free(b->passwords);
	free(b->acl);
	free(b->tls_cert);
	free(b->tls_key);
	free(b->tls_cafile);
}

int cmd_broker(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	(void)in;
	bopts b = { .host = "127.0.0.1" };
	b.o = (broker_tcp_opts){ .host = b.host, .port = 1883, .log = err, .stop = &stop_flag };
	broker_config_init(&b.o.cfg);
	int prc = parse(&b, argc, argv, "", out, err);
	if (prc != 0) {
		bopts_free(&b);
		return prc > 0 ? EXIT_PASS : EXIT_USAGE;
	}
	if ((b.tls || b.wss) && (!b.tls_cert || !b.tls_key)) {
		fprintf(err, "mqttsim broker: %s needs --tls-cert FILE and --tls-key FILE\n", b.tls ? "--listen-tls" : "--listen-wss");
		bopts_free(&b);
		return EXIT_USAGE;
	}
	if (!b.tls && !b.wss && (b.tls_cert || b.tls_key || b.tls_cafile)) {
		fprintf(err, "mqttsim broker: --tls-cert, --tls-key and --tls-cafile are for a TLS listener: give --listen-tls "
			     "ADDR:PORT or --listen-wss ADDR:PORT\n");
		bopts_free(&b);
		return EXIT_USAGE;
	}
	broker_tcp_opts o = b.o;
	o.host = b.host;
	if (b.ws) {
		o.ws_host = b.ws_host;
		o.ws_port = b.ws_port;
		o.ws_path = *b.ws_path ? b.ws_path : NULL;
	}
	SSL_CTX *tls_ctx = NULL;
	if (b.tls || b.wss) {
		char why[600];
		tls_ctx = tls_server_ctx(b.tls_cert, b.tls_key, b.tls_cafile, why, sizeof why);
		if (!tls_ctx) {
			fprintf(err, "mqttsim broker: %s\n", why);
			bopts_free(&b);
			return EXIT_USAGE;
		}
		o.tls_ctx = tls_ctx;
		o.tls_host = b.tls ? b.tls_host : NULL;
		o.tls_port = b.tls_port;
		if (b.wss) {
			o.wss_host = b.wss_host;
			o.wss_port = b.wss_port;
			o.wss_path = *b.wss_path ? b.wss_path : NULL;
		}
	}
	const char *store_dir = b.store_dir, *passwords = b.passwords, *acl = b.acl;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR and sees the flag */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char msg[512];
	broker_file_auth *auth = NULL;
	broker_file_store *store = NULL;
	if (passwords || acl) {
		auth = broker_auth_load(passwords, acl, msg, sizeof msg);
		if (!auth) {
			fprintf(err, "mqttsim broker: %s\n", msg);
			SSL_CTX_free(tls_ctx);
			bopts_free(&b);
			return EXIT_USAGE;
		}
		o.cfg.auth = broker_auth_get(auth);
	}
	if (store_dir) {
		store = broker_file_store_open(store_dir, msg, sizeof msg);
		if (!store) {
			fprintf(err, "mqttsim broker: --store %s\n", msg);
			broker_auth_free(auth);
			SSL_CTX_free(tls_ctx);
			bopts_free(&b);
			return EXIT_USAGE;
		}
		o.cfg.store = broker_file_store_get(store);
	}
	int rc = EXIT_PASS;
	if (broker_tcp_run(&o, msg, sizeof msg) < 0) {
		fprintf(err, "mqttsim broker: %s\n", msg);
		rc = EXIT_USAGE;
	}
	broker_file_store_close(store);
	broker_auth_free(auth);
	SSL_CTX_free(tls_ctx);
	bopts_free(&b);
	return rc;
}
