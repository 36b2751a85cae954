/*
 * fuzz_passwd.c - libFuzzer target for the password-file parser (broker/auth.c through
 * broker_auth_parse), the rewriting of old lines (broker_auth_upgrade) and the line writer
 * broker_auth_format().
 *
 * Oracle, besides the sanitizers: a refused file is refused with "pw:LINE: ..."; and the
 * first line of the input taken as a user name and the rest as a password, when the name
 * can be written, gives a line (1 iteration, so the fuzzer stays fast) that parses back,
 * accepts that password and refuses it with one byte changed.
 */
#include "broker/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	err[0] = 0;
	/* As a file. Iteration counts up to 1,000,000 are legal, so connect is not called. */
	broker_file_auth *fa = broker_auth_parse("pw", (const char *)data, size, NULL, NULL, 0, err,
						 sizeof err);
	if (!fa && strncmp(err, "pw:", 3) != 0) {
		fprintf(stderr, "broker_auth_parse failed without saying where: '%s'\n", err);
		abort();
	}
	broker_auth_free(fa);

	/* Upgraded ($mqs1$ lines rewritten): refused saying where, or a text with no $mqs1$
	 * line left that the loader takes (unless a user appears twice, which upgrading does
	 * not judge). */
	char *up = NULL;
	size_t up_len = 0;
	int nup = 0;
	if (broker_auth_upgrade("pw", (const char *)data, size, &up, &up_len, &nup, err, sizeof err)) {
		if (strncmp(err, "pw:", 3) != 0 || up) {
			fprintf(stderr, "broker_auth_upgrade failed without saying where: '%s'\n", err);
			abort();
		}
	} else {
		fa = broker_auth_parse("pw", up, up_len, NULL, NULL, 0, err, sizeof err);
		if (!fa && !strstr(err, "appears again")) {
			fprintf(stderr, "an upgraded file does not load: %s\n", err);
			abort();
		}
		broker_auth_free(fa);
		free(up);
	}

	/* As a user name and a password: format, parse back, connect. */
	const uint8_t *nl = memchr(data, '\n', size);
	if (!nl || nl - data > 300)
		return 0;
	char user[301];
	memcpy(user, data, (size_t)(nl - data));
	user[nl - data] = 0;
	if (strlen(user) != (size_t)(nl - data) || broker_auth_user_check(user, NULL, 0) != 0)
		return 0;
	const uint8_t *pw = nl + 1;
	size_t pwlen = size - (size_t)(pw - data);
	static const uint8_t salt[BROKER_AUTH_SALT_LEN] = "0123456789abcdef";
	char line[BROKER_AUTH_LINE_CAP(300)];
	int n = broker_auth_format(line, sizeof line, user, pw, pwlen, salt, sizeof salt, 1, err, sizeof err);
	if (n < 0) {
		fprintf(stderr, "broker_auth_format refused a user name broker_auth_user_check accepts: %s\n", err);
		abort();
	}
	fa = broker_auth_parse("pw", line, (size_t)n, NULL, NULL, 0, err, sizeof err);
	if (!fa) {
		fprintf(stderr, "a formatted line does not parse back: %s\n", err);
		abort();
	}
	const broker_auth *a = broker_auth_get(fa);
	if (a->connect(a->ctx, "c", user, pw, pwlen) != 0) {
		fprintf(stderr, "the password a line was made with is refused\n");
		abort();
	}
	uint8_t *other = malloc(pwlen + 1);
	memcpy(other, pw, pwlen);
	if (pwlen)
		other[0] ^= 1;
	else
		other[pwlen++] = 'x';
	if (a->connect(a->ctx, "c", user, other, pwlen) != 4) {
		fprintf(stderr, "another password is accepted\n");
		abort();
	}
	free(other);
	broker_auth_free(fa);
	return 0;
}
