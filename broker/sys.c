/*
 * sys.c - the $SYS/ topics: retained, refreshed every sys_interval_s. Filters that start
 * with a wildcard never see them (MQTT-4.7.2-1), so only "$SYS/#"-style subscribers do.
 */
#include "broker/core.h"

#include <stdio.h>
#include <string.h>

static void put(broker *b, const char *topic, const char *value)
{
	msg *m = broker__msg_new(topic, strlen(topic), (const uint8_t *)value, strlen(value), 0, true);
	broker__retained_set(b, m);
	broker__route(b, m, NULL);
	broker__msg_unref(m);
}

void broker__sys_publish(broker *b)
{
	char v[64];
	int64_t up = (b->env.now_us(b->env.ctx) - b->started_us) / 1000000;
	snprintf(v, sizeof v, "%lld seconds", (long long)up);
	put(b, "$SYS/broker/uptime", v);
	snprintf(v, sizeof v, "%llu", (unsigned long long)b->st.clients_connected);
	put(b, "$SYS/broker/clients/connected", v);
	snprintf(v, sizeof v, "%llu", (unsigned long long)b->st.msgs_received);
	put(b, "$SYS/broker/messages/received", v);
	snprintf(v, sizeof v, "%llu", (unsigned long long)b->st.msgs_sent);
	put(b, "$SYS/broker/messages/sent", v);
	snprintf(v, sizeof v, "%llu", (unsigned long long)b->st.msgs_dropped);
	put(b, "$SYS/broker/messages/dropped", v);
	put(b, "$SYS/broker/version", "mqttsim reference broker");
}
