/*
 * broker_auth_file.h - the broker's password and ACL files read from disk for
 * broker_auth_parse() (broker/auth.h), which takes their text: the broker reads no files.
 */
#ifndef HARNESS_BROKER_AUTH_FILE_H
#define HARNESS_BROKER_AUTH_FILE_H

#include "broker/auth.h"

#define BROKER_AUTH_MAX_FILE (16u << 20)    /* bytes read from either file */

/*
 * Load a password file and an ACL file; either path may be NULL (no passwords: every
 * CONNECT accepted; no ACL: everything allowed). Returns a new object owned by the
 * caller, or NULL with a message in err ("FILE:LINE: what is wrong", or "FILE: why it
 * could not be read"; err may be NULL). Nothing is printed.
 */
broker_file_auth *broker_auth_load(const char *passwd_path, const char *acl_path, char *err,
				   size_t errlen);

#endif
