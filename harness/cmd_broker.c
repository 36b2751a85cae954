/*
 * cmd_broker.c - `mqttsim broker`: the reference broker on real sockets.
 */
#include "broker/auth.h"
#include "broker/shell_tcp.h"
#include "broker/store_file.h"
#include "harness/cli.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static const char broker_usage[] =
	"usage: mqttsim broker [--listen ADDR:PORT] [options]\n"
	"\n"
	"Run the reference MQTT 3.1.1 broker on real sockets until SIGINT or SIGTERM.\n"
	"\n"
	"  --listen ADDR:PORT   address to listen on (default 127.0.0.1:1883; port 0 picks one)\n"
	"  --store DIR          keep persistent sessions and retained messages in DIR/broker.log\n"
	"  --passwords FILE     user names and salted password hashes (see mqttsim passwd)\n"
	"  --acl FILE           topic access rules: user/client sections, topic/pattern lines\n"
	"  --sys-interval S     publish $SYS/ topics every S seconds (default 10; 0 disables)\n"
	"  --max-inflight N     outbound QoS 1/2 messages in flight per client (default 20)\n"
	"  --max-queued N       messages queued per session (default 1000)\n"
	"  --drop-oldest        when a queue is full drop its oldest message (default: the new one)\n"
	"  --queue-qos0         queue QoS 0 messages for offline persistent sessions\n"
	"  --no-anonymous       refuse CONNECT without a user name (CONNACK 5)\n"
	"  --max-packet BYTES   larger packets close the connection (default 1048576)\n"
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

int cmd_broker(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	(void)in;
	char host[64] = "127.0.0.1";
	broker_tcp_opts o = { .host = host, .port = 1883, .log = err, .stop = &stop_flag };
	broker_config_init(&o.cfg);
	const char *store_dir = NULL, *passwords = NULL, *acl = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long n;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(broker_usage, out);
			return EXIT_PASS;
		} else if (!strcmp(a, "--listen")) {
			if (!v || !parse_listen(v, host, sizeof host, &o.port)) {
				fprintf(err, "mqttsim broker: --listen takes ADDR:PORT (e.g. 127.0.0.1:1883), not '%s'\n",
					v ? v : "(nothing)");
				return EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "--sys-interval") || !strcmp(a, "--max-inflight") ||
			   !strcmp(a, "--max-queued") || !strcmp(a, "--max-packet")) {
			unsigned long max = !strcmp(a, "--max-inflight") ? 65535 : UINT_MAX;
			if (!parse_uint(v, max, &n) || (n == 0 && strcmp(a, "--sys-interval"))) {
				fprintf(err, "mqttsim broker: %s takes a whole number%s, not '%s'\n", a,
					strcmp(a, "--sys-interval") ? " above 0" : "", v ? v : "(nothing)");
				return EXIT_USAGE;
			}
			if (!strcmp(a, "--sys-interval"))
				o.cfg.sys_interval_s = (uint32_t)n;
			else if (!strcmp(a, "--max-inflight"))
				o.cfg.max_inflight = (uint16_t)n;
			else if (!strcmp(a, "--max-queued"))
				o.cfg.max_queued = (uint32_t)n;
			else
				o.cfg.max_packet_size = (uint32_t)n;
			i++;
		} else if (!strcmp(a, "--store") || !strcmp(a, "--passwords") || !strcmp(a, "--acl")) {
			if (!v) {
				fprintf(err, "mqttsim broker: %s needs a %s\n", a,
					strcmp(a, "--store") ? "file name" : "directory");
				return EXIT_USAGE;
			}
			if (!strcmp(a, "--store"))
				store_dir = v;
			else if (!strcmp(a, "--passwords"))
				passwords = v;
			else
				acl = v;
			i++;
		} else if (!strcmp(a, "--drop-oldest")) {
			o.cfg.queue_policy = BROKER_DROP_OLDEST;
		} else if (!strcmp(a, "--queue-qos0")) {
			o.cfg.queue_qos0 = true;
		} else if (!strcmp(a, "--no-anonymous")) {
			o.cfg.allow_anonymous = false;
		} else {
			fprintf(err, "mqttsim broker: unknown option '%s'\n%s", a, broker_usage);
			return EXIT_USAGE;
		}
	}

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
			return EXIT_USAGE;
		}
		o.cfg.auth = broker_auth_get(auth);
	}
	if (store_dir) {
		store = broker_file_store_open(store_dir, msg, sizeof msg);
		if (!store) {
			fprintf(err, "mqttsim broker: --store %s\n", msg);
			broker_auth_free(auth);
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
	return rc;
}
