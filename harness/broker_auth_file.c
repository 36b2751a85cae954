/*
 * broker_auth_file.c - see broker_auth_file.h.
 */
#include "harness/broker_auth_file.h"
#include "harness/cli.h"
#include "mqtt/mqtt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole file, NUL-terminated, or NULL with a message. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		mqtt_say(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	const char *why;
	char *buf = cli_read_all(f, BROKER_AUTH_MAX_FILE - 1, len, &why);
	fclose(f);
	if (buf)
		return buf;
	if (!strcmp(why, "too large"))
		mqtt_say(err, errlen, "%s: %u bytes or more, too large for this file; is it the right one?", path,
		    BROKER_AUTH_MAX_FILE);
	else if (!strcmp(why, "out of memory"))
		mqtt_say(err, errlen, "%s: out of memory", path);
	else
		mqtt_say(err, errlen, "%s: cannot read: %s", path, why);
	return NULL;
}

broker_file_auth *broker_auth_load(const char *passwd_path, const char *acl_path, char *err,
				   size_t errlen)
{
	char *pw = NULL, *acl = NULL;
	size_t pw_len = 0, acl_len = 0;
	broker_file_auth *a = NULL;
	if (passwd_path && !(pw = read_file(passwd_path, &pw_len, err, errlen)))
		goto done;
	if (acl_path && !(acl = read_file(acl_path, &acl_len, err, errlen)))
		goto done;
	a = broker_auth_parse(passwd_path, pw, pw_len, acl_path, acl, acl_len, err, errlen);
done:
	free(pw);
	free(acl);
	return a;
}
