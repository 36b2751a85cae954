/*
 * auth.c - the file-backed broker_auth; see auth.h for the file formats and the rules.
 *
 * Parsing checks every line and stops at the first bad one with FILE:LINE and what is
 * wrong, so a broker never starts with half an ACL. The password file is auth_passwd.c,
 * the ACL file auth_acl.c; this file holds what both use and the object itself. The text
 * comes from the caller: the broker reads no files (harness/broker_auth_file.c does).
 */
#include "broker/auth_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages -------------------------------------------------------------------------- */

const char *broker__auth_show(char dst[48], const char *s, size_t n)
{
	size_t k = 0;
	for (; k < n && k < 40; k++)
		dst[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
	if (k < n) {
		memcpy(dst + k, "...", 3);
		k += 3;
	}
	dst[k] = 0;
	return dst;
}

/* ---- lines ----------------------------------------------------------------------------- */

bool broker__auth_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

bool broker__auth_next_line(broker__auth_lines *L, const char **s, size_t *n)
{
	if (L->p >= L->end)
		return false;
	const char *nl = memchr(L->p, '\n', (size_t)(L->end - L->p));
	const char *b = L->p, *e = nl ? nl : L->end;
	L->p = nl ? nl + 1 : L->end;
	L->no++;
	while (b < e && broker__auth_blank(*b))
		b++;
	while (e > b && broker__auth_blank(e[-1]))
		e--;
	*s = b;
	*n = (size_t)(e - b);
	return true;
}

int broker__auth_check_nul(const char *name, const char *text, size_t len, char *err,
			   size_t errlen)
{
	const char *z = memchr(text, 0, len);
	if (!z)
		return 0;
	int line = 1;
	for (const char *q = text; q < z; q++)
		line += *q == '\n';
	mqtt_say(err, errlen, "%s:%d: contains a NUL byte; is this a text file?", name, line);
	return -1;
}

char *broker__auth_dup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

/* ---- the object ------------------------------------------------------------------------ */

broker_file_auth *broker_auth_parse(const char *passwd_name, const char *passwd_text,
				    size_t passwd_len, const char *acl_name, const char *acl_text,
				    size_t acl_len, char *err, size_t errlen)
{
	broker_file_auth *a = calloc(1, sizeof *a);
	if (!a) {
		mqtt_say(err, errlen, "out of memory");
		return NULL;
	}
	a->iface.ctx = a;
	a->iface.connect = broker__auth_connect;
	a->iface.allow = broker__auth_allow;
	if (passwd_text && broker__auth_load_passwd(a, passwd_name ? passwd_name : "passwords",
						    passwd_text, passwd_len, err, errlen))
		goto fail;
	if (a->has_passwd) /* SCRAM-SHA-256 only over a password file */
		a->iface.scram_lookup = broker__auth_scram_lookup;
	if (acl_text &&
	    broker__auth_load_acl(a, acl_name ? acl_name : "acl", acl_text, acl_len, err, errlen))
		goto fail;
	return a;
fail:
	broker_auth_free(a);
	return NULL;
}

void broker_auth_free(broker_file_auth *a)
{
	if (!a)
		return;
	broker__auth_free_passwd(a);
	broker__auth_free_acl(a);
	free(a);
}

const broker_auth *broker_auth_get(const broker_file_auth *a)
{
	return &a->iface;
}

