/*
 * fuzz_acl.c - libFuzzer target for the ACL parser (broker/auth.c through
 * broker_auth_parse) and the decisions made from what it parsed.
 *
 * Oracle, besides the sanitizers: a refused file is refused with "acl:LINE: ..."; for an
 * accepted one, every topic filter written in the file (the last word of each line) is
 * asked about as a subscription and, when it is a topic name, as a publish, by a few
 * users and client ids (the file's own names among them), and a decision must be
 * monotone: when a filter may be subscribed to, so may every topic it matches (a topic
 * name is a filter that covers only itself).
 */
#include "broker/auth.h"
#include "mqtt/mqtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXW 32

static bool valid_filter(const char *s)
{
	return mqtt_topic_filter_check((const uint8_t *)s, strlen(s), MQTT_V311, NULL) == 0 &&
	       strncmp(s, "$share/", 7) != 0;
}

static bool valid_topic(const char *s)
{
	return mqtt_topic_name_check((const uint8_t *)s, strlen(s), MQTT_V311, NULL) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	err[0] = 0;
	broker_file_auth *fa = broker_auth_parse(NULL, NULL, 0, "acl", (const char *)data, size, err,
						 sizeof err);
	if (!fa) {
		if (strncmp(err, "acl:", 4) != 0) {
			fprintf(stderr, "broker_auth_parse failed without saying where: '%s'\n", err);
			abort();
		}
		return 0;
	}
	const broker_auth *a = broker_auth_get(fa);

	/* The last word of each line: filters to ask about; the second: names to ask as. */
	static char words[MAXW][256], names[MAXW][256];
	size_t nw = 0, nn = 0;
	size_t i = 0;
	while (i < size && nw < MAXW) {
		size_t e = i;
		while (e < size && data[e] != '\n')
			e++;
		char line[256];
		size_t l = e - i < sizeof line - 1 ? e - i : sizeof line - 1;
		memcpy(line, data + i, l);
		line[l] = 0;
		if (strlen(line) == l) {
			char *last = strrchr(line, ' ');
			snprintf(words[nw++], sizeof words[0], "%s", last ? last + 1 : line);
			char *first = strchr(line, ' ');
			if (first && nn < MAXW)
				snprintf(names[nn++], sizeof names[0], "%s", first + 1);
		}
		i = e + 1;
	}
	const char *users[MAXW + 2] = { NULL, "u" };
	size_t nu = 2;
	for (size_t k = 0; k < nn; k++)
		users[nu++] = names[k];
	for (size_t u = 0; u < nu; u++) {
		const char *user = users[u], *client = users[(u + 1) % nu] ? users[(u + 1) % nu] : "c";
		for (size_t k = 0; k < nw; k++) {
			const char *f = words[k];
			if (!valid_filter(f))
				continue;
			bool sub = a->allow(a->ctx, client, user, f, false);
			if (valid_topic(f))
				(void)a->allow(a->ctx, client, user, f, true);
			if (!sub)
				continue;
			for (size_t m = 0; m < nw; m++) {
				const char *t = words[m];
				if (!valid_topic(t) ||
				    !mqtt_topic_match((const uint8_t *)f, strlen(f), (const uint8_t *)t, strlen(t)))
					continue;
				if (!a->allow(a->ctx, client, user, t, false)) {
					fprintf(stderr, "user %s client %s may subscribe to '%s' but not to '%s', which it matches\n",
						user ? user : "(none)", client, f, t);
					abort();
				}
			}
		}
	}
	broker_auth_free(fa);
	return 0;
}
