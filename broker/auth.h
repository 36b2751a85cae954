/*
 * auth.h - a file-backed broker_auth (auth.c, auth_passwd.c, auth_acl.c): user names and
 * salted password hashes from a password file, topic access from a mosquitto-like ACL file.
 *
 * Nothing here reads a file: the harness reads them (harness/broker_auth_file.c) and hands
 * their text to broker_auth_parse(), then the broker_auth to broker_config.auth.
 *
 * Password file, one user per line ('#' comments and blank lines allowed; leading and
 * trailing blanks ignored):
 *
 *     alice:$mqs2$10000$<salt, hex>$<StoredKey, hex>$<ServerKey, hex>
 *
 * The keys are SCRAM's (RFC 5802 §3, with SHA-256 as RFC 7677 has it), 32 bytes each:
 *
 *     SaltedPassword = PBKDF2-HMAC-SHA256(password, salt, iterations)     (RFC 8018)
 *     StoredKey = SHA-256(HMAC(SaltedPassword, "Client Key"))
 *     ServerKey = HMAC(SaltedPassword, "Server Key")
 *
 * That is what RFC 5802 §3 and §9 say a server should keep: enough to check a password or
 * a SCRAM proof, not enough to make a proof, so a leaked file does not by itself let anyone
 * log in (a dictionary attack on the salted hash remains; hence the iteration count).
 * `mqttsim passwd FILE USER` writes such lines.
 *
 * The first format, $mqs1$ITERATIONS$SALT$SALTEDPASSWORD, kept SaltedPassword itself,
 * from which a SCRAM client proof can be computed: whoever read the file could log in as
 * every user in it. broker_auth_parse() refuses such a line, naming the file and line and
 * saying to run `mqttsim passwd`, which rewrites them (broker_auth_upgrade(); no password
 * is needed, the keys follow from SaltedPassword).
 *
 * ACL file, one directive per line ('#' comments and blank lines allowed):
 *
 *     topic [read|write|readwrite] FILTER     grant access to topics FILTER matches
 *     pattern [read|write|readwrite] FILTER   the same, with %u replaced by the user name
 *                                             and %c by the client id
 *     user NAME                               the lines below apply to this user name
 *     client ID                               the lines below apply to this client id
 *
 * Lines before the first user/client section apply to every client, anonymous ones too;
 * a line inside a section applies only to that section's clients (patterns included,
 * unlike mosquitto, where patterns apply to everyone wherever they stand). Without an
 * access word, readwrite. A FILTER with blanks in it needs the access word.
 * A pattern grants nothing to a client whose substituted name contains '/', '+' or '#',
 * so a user called "+" cannot widen "devices/%u/#" to every device; nor does %u grant
 * anything to a client without a user name.
 *
 * Decisions: a PUBLISH needs write on a filter that matches its topic
 * (mqtt_topic_match). A SUBSCRIBE filter needs read on a filter that covers it: every
 * topic the requested filter matches must be matched by the granted one ("a/+" is
 * covered by "a/#" and "+/+"; "a/#" by "#" but not by "a/+"; "$SYS/#" not by "#").
 * The broker asks for read again on every delivery, with the message's topic (a filter
 * without wildcards, so the same rule: a granted filter that matches it).
 * Without an ACL file everything is allowed; with one, what is not granted is denied.
 *
 * Connect: without a password file every CONNECT is accepted (anonymous or not). With one,
 * a user name not in the file or a wrong or missing password gets CONNACK 4. A CONNECT
 * without a user name is accepted here; whether anonymous clients may connect is
 * broker_config.allow_anonymous, which the core applies before asking.
 */
#ifndef BROKER_AUTH_H
#define BROKER_AUTH_H

#include "broker/broker.h"

#include <stddef.h>
#include <stdint.h>

#define BROKER_AUTH_SCHEME "$mqs2$"
#define BROKER_AUTH_SCHEME_V1 "$mqs1$"   /* refused when loading; broker_auth_upgrade() rewrites it */
#define BROKER_AUTH_ITERATIONS 10000        /* what `mqttsim passwd` writes */
#define BROKER_AUTH_SALT_LEN 16             /* what `mqttsim passwd` writes */
#define BROKER_AUTH_MAX_SALT 64             /* bytes, the most a password file may hold */
/* Each CONNECT costs about 2 x iterations SHA-256 blocks; a bound keeps a hostile or
 * mistyped file from making every connect take seconds. */
#define BROKER_AUTH_MAX_ITERATIONS 1000000
/* Bytes that always hold a formatted password line for a user name of user_len bytes,
 * with its NUL. */
#define BROKER_AUTH_LINE_CAP(user_len) ((user_len) + 160 + 2 * BROKER_AUTH_MAX_SALT)

typedef struct broker_file_auth broker_file_auth;

/*
 * Parse a password file's and an ACL file's text (read by the caller: the broker reads no
 * files; harness/broker_auth_file.h reads them from disk); the names stand for the files
 * in messages. A NULL text means no such file (no passwords: every CONNECT accepted; no
 * ACL: everything allowed). The texts are only read during the call. Returns a new object
 * owned by the caller, or NULL with a message in err ("NAME:LINE: what is wrong"; err may
 * be NULL). Nothing is printed.
 */
broker_file_auth *broker_auth_parse(const char *passwd_name, const char *passwd_text,
				    size_t passwd_len, const char *acl_name, const char *acl_text,
				    size_t acl_len, char *err, size_t errlen);

/* Frees everything; the broker_auth from broker_auth_get() dies with it, so free it only
 * after every broker using it. NULL is ignored. */
void broker_auth_free(broker_file_auth *a);

/* The callbacks to put in broker_config.auth. Owned by a; valid until broker_auth_free(a). */
const broker_auth *broker_auth_get(const broker_file_auth *a);

/* Can this user name be written to a password file? 0 yes, or -1 with the reason in why:
 * empty, longer than 65535 bytes, contains ':' or a control character, starts with '#',
 * or starts or ends with a blank. */
int broker_auth_user_check(const char *user, char *why, size_t whylen);

/* One password file line (no newline) for user with the given password, salt and
 * iterations, into out. Returns its length, or -1 with a message in err (a bad user
 * name, salt length, iteration count, or cap below BROKER_AUTH_LINE_CAP(strlen(user)),
 * which always suffices). The salt must come
 * from a good random source; this module has none on purpose (see DESIGN.md, Seams). */
int broker_auth_format(char *out, size_t cap, const char *user, const uint8_t *password,
		       size_t password_len, const uint8_t *salt, size_t salt_len,
		       uint32_t iterations, char *err, size_t errlen);

/*
 * A password file's text with every $mqs1$ line rewritten as $mqs2$ (StoredKey and ServerKey
 * computed from the SaltedPassword the old line holds; the password is not needed), every
 * other byte as it was. Returns 0 with the new text in *out (malloc'd, the caller frees
 * it; NUL-terminated, *out_len bytes before the NUL) and the number of lines rewritten in
 * *upgraded; or -1 with "NAME:LINE: ..." in err for a line that is in neither format (the
 * same checks as broker_auth_parse()). Reads no file.
 */
int broker_auth_upgrade(const char *name, const char *text, size_t len, char **out,
			size_t *out_len, int *upgraded, char *err, size_t errlen);

#endif
