/*
 * cli.h - the `mqttsim` subcommands. Each takes argc/argv after the subcommand name
 * (argv[0] is the subcommand) and returns the process exit code:
 * 0 all passed, 1 a check failed (or a packet was malformed), 2 bad input or usage.
 */
#ifndef HARNESS_CLI_H
#define HARNESS_CLI_H

#include <stdint.h>
#include <stdio.h>

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define MQTTSIM_VERSION "0.1.0"

int cmd_decode(int argc, char **argv, FILE *in, FILE *out, FILE *err);
int cmd_passwd(int argc, char **argv, FILE *in, FILE *out, FILE *err);
int cmd_broker(int argc, char **argv, FILE *in, FILE *out, FILE *err);
int cmd_proxy(int argc, char **argv, FILE *in, FILE *out, FILE *err);
int cmd_run(int argc, char **argv, FILE *in, FILE *out, FILE *err);
int cmd_list(int argc, char **argv, FILE *in, FILE *out, FILE *err);
int cmd_conform(int argc, char **argv, FILE *in, FILE *out, FILE *err);
int cmd_timeline(int argc, char **argv, FILE *in, FILE *out, FILE *err);
int cmd_explore(int argc, char **argv, FILE *in, FILE *out, FILE *err);
int cmd_shrink(int argc, char **argv, FILE *in, FILE *out, FILE *err);
int cmd_replay(int argc, char **argv, FILE *in, FILE *out, FILE *err);

/* Parse hex text into bytes: whitespace, commas, colons and "0x" prefixes are allowed.
 * Returns the byte count, or -1 with a message in msg (what was wrong and where). */
long hex_parse(const char *text, unsigned char *dst, size_t cap, char *msg, size_t msg_cap);
/* The same over len bytes that may hold NULs (reported as non-hex, like any byte);
 * bytes that are not printable are shown escaped ('\x1b', '\xff') in msg. */
long hex_parse_n(const char *text, size_t len, unsigned char *dst, size_t cap, char *msg,
		 size_t msg_cap);

/* Input quoted in a message, never raw: printable ASCII and valid UTF-8 as themselves,
 * control characters (C0, DEL, C1) and bytes that are not UTF-8 escaped as \xNN or \uNNNN.
 * cli_char shows the character at p (left bytes remain) and returns the bytes it covers;
 * cli_escape shows len bytes of s, cut with "..." when out (cap bytes) is too small. */
size_t cli_char(const unsigned char *p, size_t left, char *out, size_t cap);
void cli_escape(const char *s, size_t len, char *out, size_t cap);

/* All of in, up to limit bytes, NUL-terminated (the NUL not counted in *len). NULL with
 * *why set: "too large" (more than limit), "out of memory", or a read error's message.
 * The one reader of whole inputs for the commands (decode, timeline, passwd, explore...). */
char *cli_read_all(FILE *in, size_t limit, size_t *len, const char **why);

/* Option values every command parses alike. Each returns 0 with the value, or -1 after
 * saying on err what the option takes ("mqttsim CMD: --seed takes ..., not 'V'"); v is the
 * argument after the option (NULL when there is none). */
#define CLI_JOBS_MAX 256
int cli_seed(const char *cmd, const char *v, uint64_t *out, FILE *err);
int cli_jobs(const char *cmd, const char *v, long *out, FILE *err);
/* --broker: sim, mqtt://HOST:PORT (tcp:// too) or mqtts://HOST:PORT (the value is kept by
 * the caller). */
int cli_broker(const char *cmd, const char *v, FILE *err);
/* --broker for what runs in virtual time only (explore, shrink, replay): sim or exec:CMD,
 * and for exec a program that can start (broker_exec_check). */
int cli_sim_broker(const char *cmd, const char *v, FILE *err);

/* The broker under test's names and credentials: --username U, --password P,
 * --password-file F (its first line), --client-id-prefix S, --topic-prefix T; and TLS:
 * --tls, --cafile F, --capath D, --cert F, --key F, --alpn P, --insecure. If argv[*i] is
 * one, take it and its value into o (advancing *i) and return 1; 0 for any other argument;
 * -1 after saying what is wrong. cli_target_done() then checks them together (o->broker
 * already set), reads MQTTSIM_PASSWORD when a user name came without a password, and for a
 * TLS target loads the certificates (tls_client_ctx) and prints the --insecure warning
 * (0, or -1 said on err). */
struct run_opts;
int cli_target_opt(const char *cmd, int argc, char **argv, int *i, struct run_opts *o, FILE *err);
int cli_target_done(const char *cmd, struct run_opts *o, FILE *err);
/* --break-broker NAME (test-only): adds the switch's BROKER_TF_* bit to *bits, or -1 after
 * listing the names. CLI_BREAK_NAMES lists them, space-separated. */
#define CLI_BREAK_NAMES "retain-flag skip-will qos2-twice forget-session ignore-keepalive retained-stored-qos queued-retain dollar-wildcard" \
	" plus-multi-level dup-copied released-resent unsubscribe-drops-inflight" \
	" no-local-ignored retain-as-published-ignored retain-handling-ignored sub-id-dropped" \
	" message-expiry-ignored shared-to-all session-expiry-ignored will-delay-ignored" \
	" no-takeover-disconnect assigned-id-missing problem-info-ignored disconnect-keeps-will" \
	" response-info-unasked auth-method-ignored will-not-cancelled second-connect-answered" \
	" ws-text-accepted ws-frame-is-packet ws-no-subprotocol"
int cli_break_broker(const char *cmd, const char *v, uint32_t *bits, FILE *err);
/* --broker-variant NAME (repeatable): adds a permitted variant's BROKER_VAR_* bit to *bits
 * (the reference broker behaving in another way the spec allows), or -1 after listing the
 * names. CLI_VARIANT_NAMES lists them, space-separated. */
#define CLI_VARIANT_NAMES "one-in-flight random-packet-ids no-sys dollar-refused qos0-not-queued overlap-copies" \
	" server-keepalive low-receive-max"
int cli_broker_variant(const char *cmd, const char *v, uint32_t *bits, FILE *err);
/* The options that give these BROKER_VAR_* bits back (" --broker-variant NAME" each, for a
 * replay line) into out, cut to cap with its NUL. */
void cli_broker_variant_args(uint32_t bits, char *out, size_t cap);
#define CLI_TARGET_USAGE \
	"  --username U, --password P   credentials for the broker under test (every CONNECT\n" \
	"               that has none of its own); --password-file F or MQTTSIM_PASSWORD keep\n" \
	"               the password out of the process list\n" \
	"  --client-id-prefix S, --topic-prefix T   for brokers that allow only some ids or\n" \
	"               topics: S goes before every client id, T/ before every topic (then the\n" \
	"               run's own id, so runs never collide)\n" \
	"  TLS (--broker mqtts://HOST:PORT or wss://HOST:PORT/PATH, or --tls over mqtt:// or\n" \
	"               ws://): the broker's certificate is verified against the system's CAs\n" \
	"               and must name HOST (also the SNI)\n" \
	"  --cafile F, --capath D   trust the CAs in F (PEM) or directory D instead\n" \
	"  --cert F --key F   present a client certificate (PEM; --key defaults to F)\n" \
	"  --alpn P     offer ALPN protocol(s) P (comma-separated, e.g. mqtt)\n" \
	"  --insecure   verify nothing (a warning says so): for tests only\n"

#endif
