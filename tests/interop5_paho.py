#!/usr/bin/python3
"""MQTT 5.0 checks of `mqttsim broker` with Eclipse Paho (python3-paho-mqtt) in v5 mode, a
client nobody here wrote. Usage: interop5_paho.py PORT CASE. Exit 0 on success; on failure
print what was expected and what happened, and exit 1. Every wait is bounded."""
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

PORT = int(sys.argv[1])
CASE = sys.argv[2]
HOST = "127.0.0.1"


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def client(cid, expiry=None, clean=True):
    """A connected v5 client (its network loop running), what it receives, its CONNACK."""
    c = mqtt.Client(client_id=cid, protocol=mqtt.MQTTv5)
    got = []
    c.on_message = lambda cl, ud, m: got.append(m)
    ack = {}

    def on_connect(cl, ud, flags, rc, props=None):
        ack["rc"] = rc.value if hasattr(rc, "value") else rc
        ack["present"] = flags.get("session present")
        ack["props"] = props

    c.on_connect = on_connect
    cp = Properties(PacketTypes.CONNECT)
    if expiry is not None:
        cp.SessionExpiryInterval = expiry
    c.connect(HOST, PORT, keepalive=60, clean_start=clean, properties=cp)
    c.loop_start()
    deadline = time.time() + 5
    while "rc" not in ack and time.time() < deadline:
        time.sleep(0.01)
    if "rc" not in ack:
        fail("no CONNACK for %s" % cid)
    if ack["rc"] != 0:
        fail("CONNACK 0x%02x for %s" % (ack["rc"], cid))
    return c, got, ack


def wait_for(got, n, secs=5):
    deadline = time.time() + secs
    while len(got) < n and time.time() < deadline:
        time.sleep(0.01)
    return got


def subscribe(c, topic, qos=1):
    done = []
    c.on_subscribe = lambda cl, ud, mid, rcs, props=None: done.append(rcs)
    c.subscribe(topic, qos=qos)
    deadline = time.time() + 5
    while not done and time.time() < deadline:
        time.sleep(0.01)
    if not done:
        fail("no SUBACK for %s" % topic)
    rc = done[0][0]
    rc = rc.value if hasattr(rc, "value") else rc
    if rc != qos:
        fail("SUBACK 0x%02x for %s, wanted granted QoS %d" % (rc, topic, qos))


def prop(m, name):
    return getattr(m.properties, name, None) if m.properties else None


def case_reqresp():
    """A responder answers on the request's Response Topic, echoing its Correlation Data:
    the broker forwards both unchanged [MQTT-3.3.2-15, MQTT-3.3.2-16]."""
    resp, reqs, _ = client("p5-responder")
    subscribe(resp, "svc/req")

    def answer(cl, ud, m):
        reqs.append(m)
        rp = Properties(PacketTypes.PUBLISH)
        rp.CorrelationData = prop(m, "CorrelationData")
        cl.publish(prop(m, "ResponseTopic"), b"re:" + m.payload, qos=1, properties=rp)

    resp.on_message = answer
    req, got, _ = client("p5-requester")
    subscribe(req, "svc/resp/p5-requester")
    corr = [b"\x00\xffid-1", b"id-2"]
    for i, cd in enumerate(corr):
        pp = Properties(PacketTypes.PUBLISH)
        pp.ResponseTopic = "svc/resp/p5-requester"
        pp.CorrelationData = cd
        req.publish("svc/req", b"q%d" % i, qos=1, properties=pp).wait_for_publish()
    wait_for(got, 2)
    seen = [(m.topic, m.payload, prop(m, "CorrelationData")) for m in got]
    want = [("svc/resp/p5-requester", b"re:q0", corr[0]), ("svc/resp/p5-requester", b"re:q1", corr[1])]
    if seen != want:
        fail("responses %r, wanted %r" % (seen, want))
    if [prop(m, "ResponseTopic") for m in reqs] != ["svc/resp/p5-requester"] * 2:
        fail("the responder saw response topics %r" % [prop(m, "ResponseTopic") for m in reqs])
    print("2 requests answered, correlation data (binary too) and response topic kept")


def case_userprops():
    """User Properties, a repeated name among them, reach the subscriber unchanged and in
    order [MQTT-3.3.2-17, MQTT-3.3.2-18]; Content Type and the Payload Format Indicator too."""
    sub, got, ack = client("p5-sub")
    subscribe(sub, "up/t")
    pub, _, _ = client("p5-pub")
    ups = [("z", "1"), ("a", "2"), ("z", "3"), ("gr\u00fc\u00dfe", "\u00e9t\u00e9")]
    pp = Properties(PacketTypes.PUBLISH)
    pp.UserProperty = ups
    pp.ContentType = "text/plain"
    pp.PayloadFormatIndicator = 1
    pub.publish("up/t", "h\u00e9".encode(), qos=1, properties=pp).wait_for_publish()
    wait_for(got, 1)
    if len(got) != 1:
        fail("%d messages, wanted 1" % len(got))
    m = got[0]
    have = [tuple(x) for x in (prop(m, "UserProperty") or [])]
    if have != ups:
        fail("user properties %r, wanted %r" % (have, ups))
    if prop(m, "ContentType") != "text/plain" or prop(m, "PayloadFormatIndicator") != 1:
        fail("content type %r, payload format %r" % (prop(m, "ContentType"), prop(m, "PayloadFormatIndicator")))
    print("4 user properties in order, content type and payload format kept")


def case_session():
    """Session Expiry Interval 30, Clean Start 0: the session is present on return with what
    queued for it [MQTT-3.2.2-2]; Clean Start 1 then discards it [MQTT-3.1.2-4]."""
    c, _, ack = client("p5-sess", expiry=30)
    subscribe(c, "ps/t")
    c.disconnect()
    c.loop_stop()
    pub, _, _ = client("p5-sess-pub")
    pub.publish("ps/t", b"while away", qos=1).wait_for_publish()
    c, got, ack = client("p5-sess", expiry=30, clean=False)
    wait_for(got, 1)
    if not ack["present"] or [m.payload for m in got] != [b"while away"]:
        fail("session present %r, got %r" % (ack["present"], [m.payload for m in got]))
    c.disconnect()
    c.loop_stop()
    c, got, ack = client("p5-sess", expiry=30, clean=True)
    if ack["present"]:
        fail("Clean Start 1 kept the session")
    print("session present with its message; Clean Start 1 ends it")


CASES = {"reqresp": case_reqresp, "userprops": case_userprops, "session": case_session}
if CASE not in CASES:
    fail("unknown case %s (one of %s)" % (CASE, ", ".join(sorted(CASES))))
CASES[CASE]()
