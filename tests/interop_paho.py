#!/usr/bin/python3
"""Interoperability checks of `mqttsim broker` with Eclipse Paho (python3-paho-mqtt),
a client nobody here wrote. Usage: interop_paho.py PORT CASE. Exit 0 on success; on
failure print what was expected and what happened, and exit 1."""
import socket
import sys
import time

import paho.mqtt.client as mqtt

PORT = int(sys.argv[1])
CASE = sys.argv[2]
HOST = "127.0.0.1"


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def client(cid, clean=True, **kw):
    c = mqtt.Client(client_id=cid, clean_session=clean, protocol=mqtt.MQTTv311)
    got = []
    c.on_message = lambda cl, ud, m: got.append((m.topic, m.payload, m.qos, m.retain))
    acked = {"connack": None}

    def on_connect(cl, ud, flags, rc):
        acked["connack"] = (rc, flags.get("session present"))

    c.on_connect = on_connect
    if "will" in kw:
        c.will_set(*kw["will"])
    c.connect(HOST, PORT, keepalive=kw.get("keepalive", 60))
    c.loop_start()
    deadline = time.time() + 5
    while acked["connack"] is None and time.time() < deadline:
        time.sleep(0.01)
    if acked["connack"] is None:
        fail("no CONNACK for %s" % cid)
    return c, got, acked["connack"]


def wait_for(got, n, secs=5):
    deadline = time.time() + secs
    while len(got) < n and time.time() < deadline:
        time.sleep(0.01)
    return got


def case_qos():
    sub, got, _ = client("paho-sub")
    r = sub.subscribe("i/#", qos=2)
    time.sleep(0.2)
    pub, _, _ = client("paho-pub")
    for q in (0, 1, 2):
        info = pub.publish("i/q%d" % q, b"m%d" % q, qos=q)
        info.wait_for_publish()
    wait_for(got, 3)
    want = [("i/q0", b"m0", 0, 0), ("i/q1", b"m1", 1, 0), ("i/q2", b"m2", 2, 0)]
    if sorted(got) != want:
        fail("qos: expected %r, got %r" % (want, got))


def case_will_holder():
    # Connects with a will, then waits to be killed with SIGKILL by the shell script.
    c, _, _ = client("paho-will", will=("status/paho", b"gone", 1, True), keepalive=60)
    print("READY", flush=True)
    time.sleep(60)


def case_will_check():
    sub, got, _ = client("paho-watch")
    sub.subscribe("status/#", qos=1)
    wait_for(got, 1)
    if not got or got[0][:2] != ("status/paho", b"gone"):
        fail("will: expected status/paho 'gone', got %r" % got)
    # The will was retained; QoS 1 at most the subscription's 1.
    if got[0][2] != 1 or got[0][3] != 1:
        fail("will: expected qos 1 retained, got %r" % (got[0],))


def case_session():
    c, got, ack = client("paho-persist", clean=False)
    c.subscribe("s/t", qos=1)
    time.sleep(0.2)
    c.disconnect()
    c.loop_stop()
    pub, _, _ = client("paho-pub2")
    for i in range(3):
        pub.publish("s/t", b"%d" % i, qos=1).wait_for_publish()
    c2, got2, ack2 = client("paho-persist", clean=False)
    if ack2[1] != 1:
        fail("session: expected session present 1, got %r" % (ack2,))
    wait_for(got2, 3)
    if [g[1] for g in got2] != [b"0", b"1", b"2"]:
        fail("session: expected 0,1,2 in order, got %r" % got2)


def case_malformed():
    # Each of these breaks a rule of MQTT 3.1.1; the broker must close the connection.
    connect = bytes.fromhex("100c00044d5154540402003c0000")
    bad = [
        ("reserved CONNECT flag", bytes.fromhex("100c00044d5154540403003c0000")),
        ("PINGREQ flags", connect + bytes.fromhex("c100")),
        ("PUBLISH QoS 3", connect + bytes.fromhex("360500017400017878")),
        ("wildcard topic", connect + bytes.fromhex("300500012b7878")),
        ("empty SUBSCRIBE", connect + bytes.fromhex("82020001")),
        ("SUBSCRIBE flags", connect + bytes.fromhex("800600010001610000")),
        ("PUBREL flags", connect + bytes.fromhex("60020001")),
        ("bad UTF-8", connect + bytes.fromhex("30050002c0af00")),
        ("U+0000 in topic", connect + bytes.fromhex("3005000261007878")),
        ("first packet not CONNECT", bytes.fromhex("c000")),
        ("second CONNECT", connect + connect),
        ("five-byte length", bytes.fromhex("30ffffffff7f")),
        ("bad will flags", bytes.fromhex("100c00044d5154540412003c0000")),
        ("reserved type 0", connect + bytes.fromhex("0000")),
        ("AUTH in 3.1.1", connect + bytes.fromhex("f000")),
    ]
    for name, data in bad:
        s = socket.create_connection((HOST, PORT), timeout=3)
        s.sendall(data)
        closed = False
        deadline = time.time() + 3
        try:
            while time.time() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    closed = True
                    break
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            pass
        s.close()
        if not closed:
            fail("malformed %s: connection still open" % name)
    # The broker still serves everyone else.
    case_qos()


def case_persist_setup():
    c, got, ack = client("paho-durable", clean=False)
    c.subscribe("d/t", qos=1)
    time.sleep(0.2)
    c.disconnect()
    c.loop_stop()


def case_persist_check():
    c, got, ack = client("paho-durable", clean=False)
    if ack[1] != 1:
        fail("persist: expected session present 1 after the broker restart, got %r" % (ack,))
    wait_for(got, 3)
    if [g[1] for g in got] != [b"a", b"b", b"c"]:
        fail("persist: expected a, b, c in order after the restart, got %r" % got)


{"persist-setup": case_persist_setup, "persist-check": case_persist_check, "qos": case_qos, "will-holder": case_will_holder, "will-check": case_will_check,
 "session": case_session, "malformed": case_malformed}[CASE]()
print("ok", CASE)
