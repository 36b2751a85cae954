/*
 * auth_internal.h - what auth.c, auth_passwd.c and auth_acl.c share: the object, and the
 * line reader and messages both file formats use. Not for use outside those three files.
 */
#ifndef BROKER_AUTH_INTERNAL_H
#define BROKER_AUTH_INTERNAL_H

#include "broker/auth.h"
#include "mqtt/mqtt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker__pw_user;  /* auth_passwd.c */
struct broker__acl_rule; /* auth_acl.c */

struct broker_file_auth {
	broker_auth iface;
	bool has_passwd, has_acl;
	struct broker__pw_user *users; /* sorted by name */
	size_t nusers;
	struct broker__acl_rule *rules; /* file order */
	size_t nrules, rules_cap;
	char **names;       /* section names, owned here */
	size_t nnames, names_cap;
};

/* ---- messages and lines (auth.c) ------------------------------------------------------- */

/* A piece of a line, safe to quote in a message: at most 40 bytes, anything that is not
 * printable ASCII shown as '?', "..." when cut. Returns dst. */
const char *broker__auth_show(char dst[48], const char *s, size_t n);

typedef struct broker__auth_lines {
	const char *p, *end;
	int no;
} broker__auth_lines;

bool broker__auth_blank(char c);
/* The next line with surrounding blanks removed (a CRLF file reads like an LF one). */
bool broker__auth_next_line(broker__auth_lines *L, const char **s, size_t *n);
/* Text files only: a NUL would cut a name short when it is used as a C string. 0, or -1
 * with "NAME:LINE: ..." in err. */
int broker__auth_check_nul(const char *name, const char *text, size_t len, char *err,
			   size_t errlen);
/* A NUL-terminated copy of n bytes of s (malloc), or NULL. */
char *broker__auth_dup(const char *s, size_t n);

/* ---- password file (auth_passwd.c) ----------------------------------------------------- */

/* Read a password file's text into a; 0, or -1 with "FILE:LINE: ..." in err. */
int broker__auth_load_passwd(broker_file_auth *a, const char *file, const char *text, size_t len,
			     char *err, size_t errlen);
/* broker_auth.connect over a's users. */
int broker__auth_connect(void *ctx, const char *client_id, const char *username,
			 const uint8_t *password, size_t password_len);
/* broker_auth.scram_lookup over a's users. */
int broker__auth_scram_lookup(void *ctx, const char *username, uint8_t *salt, size_t *salt_len,
			      uint32_t *iterations, uint8_t stored_key[32], uint8_t server_key[32]);
/* Frees (and wipes) a's users. */
void broker__auth_free_passwd(broker_file_auth *a);

/* ---- ACL file (auth_acl.c) ------------------------------------------------------------- */

/* Read an ACL file's text into a; 0, or -1 with "FILE:LINE: ..." in err. */
int broker__auth_load_acl(broker_file_auth *a, const char *file, const char *text, size_t len,
			  char *err, size_t errlen);
/* broker_auth.allow over a's rules. */
bool broker__auth_allow(void *ctx, const char *client_id, const char *username,
			const char *topic, bool publish);
/* Frees a's rules and section names. */
void broker__auth_free_acl(broker_file_auth *a);

#endif
