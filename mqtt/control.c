/*
 * control.c - DISCONNECT and AUTH (PINGREQ and PINGRESP have no body at all).
 */
#include "wire.h"

int mqtt__disconnect_read(rd *r, mqtt_packet *p)
{
	int rc;
	if (r->version == MQTT_V311) {
		if (rd_left(r))
			return MALFORMED(r, "§3.14.1", "DISCONNECT has a %zu-byte body; it must have none",
					 rd_left(r));
		return 0;
	}
	if (!rd_left(r))
		return 0; /* reason 0x00, no properties */
	if ((rc = mqtt__rd_reason(r, p, p->type == MQTT_AUTH ? "MQTT-3.15.2-1" : "MQTT-3.14.2-1")))
		return rc;
	/* DISCONNECT may stop after its reason code; AUTH may not (its only short form is
	 * the empty one), so its missing property length is reported by the reader. */
	if (!rd_left(r) && p->type == MQTT_DISCONNECT)
		return 0;
	const uint8_t *at = r->p;
	int rc2 = mqtt__props_read(r, p->type, &p->props);
	if (rc2)
		return rc2;
	/* Continuing or starting authentication names its method; a bare success need not. */
	bool bare = p->reason == 0 && p->props.present == 0 && p->props.user_count == 0;
	if (p->type == MQTT_AUTH && !bare && !MQTT_HAS(&p->props, MQTT_PROP_AUTH_METHOD)) {
		r->p = at;
		return PROTOCOL(r, 0x82, "§3.15.2.2.2", "AUTH (reason 0x%02X) has no Authentication Method",
				p->reason);
	}
	return 0;
}
