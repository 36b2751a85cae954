/*
 * cli_opts.c - option values every command parses alike (cli.h): --seed, -j, --broker.
 */
#include "harness/cli.h"
#include "harness/broker_shell_exec.h"
#include "harness/run.h"
#include "harness/tls.h"
#include "broker/broker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_seed(const char *cmd, const char *v, uint64_t *out, FILE *err)
{
	char *end = NULL;
	errno = 0;
	unsigned long long s = v && *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
	if (!v || !end || *end || errno) {
		fprintf(err, "mqttsim %s: --seed takes a whole number from 0 to 18446744073709551615, not '%s'\n", cmd,
			v ? v : "(nothing)");
		return -1;
	}
	*out = s;
	return 0;
}

int cli_jobs(const char *cmd, const char *v, long *out, FILE *err)
{
	char *end = NULL;
	long j = v && *v >= '0' && *v <= '9' ? strtol(v, &end, 10) : 0;
	if (!v || !end || *end || j < 1 || j > CLI_JOBS_MAX) {
		fprintf(err, "mqttsim %s: -j takes a number from 1 to %d, not '%s'\n", cmd, CLI_JOBS_MAX,
			v ? v : "(nothing)");
		return -1;
	}
	*out = j;
	return 0;
}

int cli_broker(const char *cmd, const char *v, FILE *err)
{
	char host[256];
	unsigned port;
	if (!v || run_parse_target(v, host, sizeof host, &port) < 0) {
		fprintf(err, "mqttsim %s: --broker takes " RUN_TARGET_FORMS ", not '%s'\n", cmd, v ? v : "(nothing)");
		return -1;
	}
	return 0;
}

/* The password from a file, kept for the life of the command. */
static char file_password[4096];

static bool plain_text(const char *v, bool topic)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (topic && (*p == '+' || *p == '#')))
			return false;
	return true;
}

int cli_target_opt(const char *cmd, int argc, char **argv, int *i, struct run_opts *o, FILE *err)
{
	const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	if (!strcmp(a, "--username") || !strcmp(a, "--password") || !strcmp(a, "--client-id-prefix")) {
		if (!v || !*v || strlen(v) > 256 || !plain_text(v, false)) {
			fprintf(err, "mqttsim %s: %s takes a non-empty text of at most 256 bytes without control characters\n",
				cmd, a);
			return -1;
		}
		if (a[2] == 'u')
			o->username = v;
		else if (a[2] == 'p')
			o->password = v;
		else
			o->id_prefix = v;
	} else if (!strcmp(a, "--topic-prefix")) {
		if (!v || !*v || strlen(v) > 256 || !plain_text(v, true) || v[0] == '$' || v[0] == '/' ||
		    v[strlen(v) - 1] == '/') {
			fprintf(err, "mqttsim %s: --topic-prefix takes topic levels like 'tenant/42' (no wildcards, no "
				     "leading $ or /, no trailing /), not '%s'\n", cmd, v ? v : "(nothing)");
			return -1;
		}
		o->topic_prefix = v;
	} else if (!strcmp(a, "--password-file")) {
		FILE *f = v ? fopen(v, "r") : NULL;
		if (!f) {
			fprintf(err, "mqttsim %s: --password-file %s: %s\n", cmd, v ? v : "(nothing)",
				v ? strerror(errno) : "which file?");
			return -1;
		}
		bool ok = fgets(file_password, sizeof file_password, f) != NULL;
		fclose(f);
		file_password[strcspn(file_password, "\r\n")] = 0;
		if (!ok || !*file_password) {
			fprintf(err, "mqttsim %s: --password-file %s: the first line is empty\n", cmd, v);
			return -1;
		}
		o->password = file_password;
	} else if (!strcmp(a, "--cafile") || !strcmp(a, "--capath") || !strcmp(a, "--cert") || !strcmp(a, "--key") ||
		   !strcmp(a, "--alpn")) {
		if (!v || !*v) {
			fprintf(err, "mqttsim %s: %s needs a %s\n", cmd, a,
				!strcmp(a, "--capath") ? "directory" : !strcmp(a, "--alpn") ? "protocol name (e.g. mqtt)" : "file name");
			return -1;
		}
		if (!strcmp(a, "--cafile"))
			o->tls_cafile = v;
		else if (!strcmp(a, "--capath"))
			o->tls_capath = v;
		else if (!strcmp(a, "--cert"))
			o->tls_cert = v;
		else if (!strcmp(a, "--key"))
			o->tls_key = v;
		else
			o->tls_alpn = v;
	} else if (!strcmp(a, "--tls") || !strcmp(a, "--insecure")) {
		if (a[2] == 't')
			o->tls = true;
		else
			o->insecure = true;
		return 1;
	} else {
		return 0;
	}
	(*i)++;
	return 1;
}

int cli_target_done(const char *cmd, struct run_opts *o, FILE *err)
{
	const char *env = getenv("MQTTSIM_PASSWORD");
	if (o->username && !o->password && env && *env)
		o->password = env;
	if (o->password && !o->username) {
		/* MQTT-3.1.2-22: no password without a user name. */
		fprintf(err, "mqttsim %s: a password needs --username (MQTT 3.1.1 sends no password without a user name)\n", cmd);
		return -1;
	}
	char host[256];
	unsigned port;
	int kind = run_parse_target(o->broker, host, sizeof host, &port);
	if (o->tls && (kind == RUN_TARGET_SIM || kind == RUN_TARGET_EXEC)) {
		fprintf(err, "mqttsim %s: --tls is for a broker over the network (--broker mqtt://HOST:PORT)\n", cmd);
		return -1;
	}
	if (o->broker_variants && kind != RUN_TARGET_SIM) {
		fprintf(err, "mqttsim %s: --broker-variant changes the reference broker in simulation; for a broker "
			     "over the network start it with the variant (mqttsim broker --broker-variant NAME)\n", cmd);
		return -1;
	}
	bool tls = o->tls || kind == RUN_TARGET_TLS;
	bool any = o->tls_cafile || o->tls_capath || o->tls_cert || o->tls_key || o->tls_alpn || o->insecure;
	if (any && !tls) {
		fprintf(err, "mqttsim %s: --cafile, --capath, --cert, --key, --alpn and --insecure are for TLS: give "
			     "--broker mqtts://HOST:PORT (or --tls)\n", cmd);
		return -1;
	}
	if (o->tls_key && !o->tls_cert) {
		fprintf(err, "mqttsim %s: --key is the key of a client certificate: give --cert too\n", cmd);
		return -1;
	}
	if (o->insecure && (o->tls_cafile || o->tls_capath)) {
		fprintf(err, "mqttsim %s: --insecure verifies nothing, so --cafile/--capath would be ignored: give one or the other\n",
			cmd);
		return -1;
	}
	if (tls) {
		/* Files are loaded now, so a bad one is said before anything runs. */
		char why[600];
		if (!tls_client_ctx(o, why, sizeof why)) {
			fprintf(err, "mqttsim %s: %s\n", cmd, why);
			return -1;
		}
		if (o->insecure)
			fprintf(err, "mqttsim %s: WARNING: --insecure: the broker's certificate is NOT verified; anyone "
				     "between here and the broker can read and change this traffic\n", cmd);
	}
	return 0;
}

int cli_break_broker(const char *cmd, const char *v, uint32_t *bits, FILE *err)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} brk[] = { { "retain-flag", BROKER_TF_RETAIN_FLAG },
		    { "skip-will", BROKER_TF_SKIP_WILL },
		    { "qos2-twice", BROKER_TF_QOS2_TWICE },
		    { "forget-session", BROKER_TF_FORGET_SESSION },
		    { "ignore-keepalive", BROKER_TF_IGNORE_KEEPALIVE },
		    { "retained-stored-qos", BROKER_TF_RETAINED_STORED_QOS },
		    { "queued-retain", BROKER_TF_QUEUED_RETAIN },
		    { "dollar-wildcard", BROKER_TF_DOLLAR_WILDCARD },
		    { "plus-multi-level", BROKER_TF_PLUS_MULTI_LEVEL },
		    { "dup-copied", BROKER_TF_DUP_COPIED },
		    { "released-resent", BROKER_TF_RELEASED_RESENT },
		    { "unsubscribe-drops-inflight", BROKER_TF_UNSUB_DROPS_INFLIGHT },
		    { "no-local-ignored", BROKER_TF_NO_LOCAL_IGNORED },
		    { "retain-as-published-ignored", BROKER_TF_RAP_IGNORED },
		    { "ws-text-accepted", BROKER_TF_WS_TEXT_ACCEPTED },
		    { "ws-frame-is-packet", BROKER_TF_WS_FRAME_IS_PACKET },
		    { "ws-no-subprotocol", BROKER_TF_WS_NO_SUBPROTOCOL },
		    { "retain-handling-ignored", BROKER_TF_RH_IGNORED },
		    { "sub-id-dropped", BROKER_TF_SUB_ID_DROPPED },
		    { "message-expiry-ignored", BROKER_TF_EXPIRY_IGNORED },
		    { "shared-to-all", BROKER_TF_SHARED_TO_ALL },
		    { "session-expiry-ignored", BROKER_TF_SESSION_EXPIRY_IGNORED },
		    { "will-delay-ignored", BROKER_TF_WILL_DELAY_IGNORED },
		    { "no-takeover-disconnect", BROKER_TF_NO_TAKEOVER_DISCONNECT },
		    { "assigned-id-missing", BROKER_TF_ASSIGNED_ID_MISSING },
		    { "problem-info-ignored", BROKER_TF_PROBLEM_INFO_IGNORED },
		    { "disconnect-keeps-will", BROKER_TF_DISCONNECT_KEEPS_WILL },
		    { "response-info-unasked", BROKER_TF_RESPONSE_INFO_UNASKED },
		    { "auth-method-ignored", BROKER_TF_AUTH_METHOD_IGNORED },
		    { "will-not-cancelled", BROKER_TF_WILL_NOT_CANCELLED },
		    { "second-connect-answered", BROKER_TF_SECOND_CONNECT } };
	for (size_t k = 0; v && k < sizeof brk / sizeof brk[0]; k++)
		if (!strcmp(v, brk[k].name)) {
			*bits |= brk[k].bit;
			return 0;
		}
	fprintf(err, "mqttsim %s: --break-broker takes one of: %s\n", cmd, CLI_BREAK_NAMES);
	return -1;
}

static const struct {
	const char *name;
	uint32_t bit;
} variant_names[] = { { "one-in-flight", BROKER_VAR_ONE_INFLIGHT },
		      { "random-packet-ids", BROKER_VAR_RANDOM_IDS },
		      { "no-sys", BROKER_VAR_NO_SYS },
		      { "dollar-refused", BROKER_VAR_DOLLAR_REFUSED },
		      { "qos0-not-queued", BROKER_VAR_QOS0_NOT_QUEUED },
		      { "overlap-copies", BROKER_VAR_OVERLAP_COPIES },
		      { "server-keepalive", BROKER_VAR_SERVER_KEEPALIVE },
		      { "low-receive-max", BROKER_VAR_LOW_RECEIVE_MAX } };

int cli_broker_variant(const char *cmd, const char *v, uint32_t *bits, FILE *err)
{
	for (size_t k = 0; v && k < sizeof variant_names / sizeof variant_names[0]; k++)
		if (!strcmp(v, variant_names[k].name)) {
			*bits |= variant_names[k].bit;
			return 0;
		}
	if (v)
		fprintf(err, "mqttsim %s: --broker-variant: no variant '%s'; the names are: %s\n", cmd, v,
			CLI_VARIANT_NAMES);
	else
		fprintf(err, "mqttsim %s: --broker-variant needs a name, one of: %s\n", cmd, CLI_VARIANT_NAMES);
	return -1;
}

void cli_broker_variant_args(uint32_t bits, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = 0;
	for (size_t k = 0; k < sizeof variant_names / sizeof variant_names[0]; k++)
		if ((bits & variant_names[k].bit) && len < cap) {
			int n = snprintf(out + len, cap - len, " --broker-variant %s", variant_names[k].name);
			len += n > 0 ? (size_t)n : 0;
		}
}

int cli_sim_broker(const char *cmd, const char *v, FILE *err)
{
	if (!v || (strcmp(v, "sim") && run_parse_target(v, NULL, 0, NULL) != RUN_TARGET_EXEC)) {
		fprintf(err, "mqttsim %s: --broker takes sim or exec:'CMD ARGS' (%s runs in virtual time), not '%s'\n", cmd,
			cmd, v ? v : "(nothing)");
		return -1;
	}
	char why[1024];
	if (strcmp(v, "sim") && broker_exec_check(v + 5, why, sizeof why) < 0) {
		fprintf(err, "mqttsim %s: %s\n", cmd, why);
		return -1;
	}
	return 0;
}
