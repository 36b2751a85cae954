#!/usr/bin/env python3
"""mkseeds.py - write the checked-in seed corpora of the fuzz targets under tests/fuzz/seeds/.

Run from the top of the tree after changing a seed here or an input format of a target:
    python3 tests/fuzz/mkseeds.py
The codec's seeds (seeds/decode/) and the timeline's (traces) are kept by hand; the others are made here: the broker's
from CONNECT/SUBSCRIBE/PUBLISH/PUBREL sequences in the operation format of fuzz_broker.c,
the loaders' from files of the tree (scenarios/, the catalog, the ACLs and password lines
the tests use).
"""
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEEDS = os.path.join(ROOT, "tests", "fuzz", "seeds")


def out(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- MQTT 3.1.1 packets -----------------------------------------------------------------

def vbi(n):
    b = bytearray()
    while True:
        d = n % 128
        n //= 128
        b.append(d | (128 if n else 0))
        if not n:
            return bytes(b)


def s(x):
    x = x.encode() if isinstance(x, str) else x
    return struct.pack(">H", len(x)) + x


def pkt(first, body):
    return bytes([first]) + vbi(len(body)) + body


def connect(cid, clean=True, keepalive=60, user=None, pw=None, will=None):
    flags = (2 if clean else 0)
    payload = s(cid)
    if will:
        topic, msg, qos, retain = will
        flags |= 4 | (qos << 3) | (32 if retain else 0)
        payload += s(topic) + s(msg)
    if user is not None:
        flags |= 128
        payload += s(user)
    if pw is not None:
        flags |= 64
        payload += s(pw)
    return pkt(0x10, s("MQTT") + bytes([4, flags]) + struct.pack(">H", keepalive) + payload)


def subscribe(mid, *filters):
    body = struct.pack(">H", mid)
    for f, q in filters:
        body += s(f) + bytes([q])
    return pkt(0x82, body)


def unsubscribe(mid, *filters):
    return pkt(0xA2, struct.pack(">H", mid) + b"".join(s(f) for f in filters))


def publish(topic, msg, qos=0, retain=False, mid=1, dup=False):
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = s(topic) + (struct.pack(">H", mid) if qos else b"") + msg.encode()
    return pkt(first, body)


def ack(kind, mid):
    first = {"puback": 0x40, "pubrec": 0x50, "pubrel": 0x62, "pubcomp": 0x70}[kind]
    return pkt(first, struct.pack(">H", mid))


PINGREQ = bytes([0xC0, 0])
DISCONNECT = bytes([0xE0, 0])


# ---- the operations of fuzz_broker.c ----------------------------------------------------

AUTH, STORE, QOS0, OLDEST, ANON, SMALL, SYS, TWICE = 1, 2, 4, 8, 16, 32, 64, 128


def op(kind, arg=0):
    return bytes([(arg << 3) | kind])


def open_(slot):
    return op(0, slot)


def send(slot, data, split=255):
    b = b""
    for i in range(0, len(data), split):
        part = data[i:i + split]
        b += op(1, slot) + bytes([len(part)]) + part
    return b


def close(slot):
    return op(2, slot)


def time(d, unit):  # unit: 0 ms, 1 100 ms, 2 s, 3 min
    return op(3, unit) + bytes([d])


def tick():
    return op(4)


def crash():
    return op(5)


def tear(cut, t):
    return op(6, 0 if cut else 1) + bytes([t])


def fail(n, syncs=False):
    return op(7, (4 if syncs else 0) | (n - 1))


def broker_seeds():
    seeds = {}
    seeds["pubsub-qos012"] = bytes([0]) + open_(0) + send(0, connect("sub")) + \
        send(0, subscribe(1, ("t/#", 2), ("a/+/c", 1))) + open_(1) + send(1, connect("pub")) + \
        send(1, publish("t/0", "zero") + publish("t/1", "one", 1, mid=1) +
             publish("t/2", "two", 2, mid=2)) + send(1, ack("pubrel", 2)) + \
        send(0, ack("puback", 1) + ack("pubrec", 2)) + send(0, ack("pubcomp", 2)) + \
        send(0, unsubscribe(3, "t/#")) + send(0, DISCONNECT) + send(1, DISCONNECT)
    seeds["split-bytes"] = bytes([0]) + open_(2) + send(2, connect("s", keepalive=5), split=3) + \
        send(2, subscribe(7, ("x/y", 1)), split=1) + send(2, publish("x/y", "self", 1, mid=9), split=2) + \
        send(2, ack("puback", 1)) + send(2, PINGREQ, split=1)
    seeds["keepalive-will"] = bytes([SYS]) + open_(0) + send(0, connect("w", keepalive=2, will=("w/gone", "bye", 1, True))) + \
        open_(1) + send(1, connect("o", keepalive=0)) + send(1, subscribe(1, ("w/#", 1), ("$SYS/#", 0))) + \
        time(3, 2) + time(1, 3) + send(1, ack("puback", 1)) + tick()
    seeds["persistent-crash"] = bytes([STORE | QOS0]) + open_(0) + send(0, connect("p", clean=False)) + \
        send(0, subscribe(1, ("q/#", 1))) + send(0, DISCONNECT) + open_(1) + send(1, connect("pub")) + \
        send(1, publish("q/1", "a", 1, mid=1) + publish("q/2", "b", 2, mid=2) + publish("q/3", "c") +
             publish("r/k", "kept", 1, retain=True, mid=3)) + crash() + open_(0) + \
        send(0, connect("p", clean=False)) + send(0, ack("puback", 1) + ack("pubrec", 2)) + \
        send(0, ack("pubcomp", 2)) + send(0, subscribe(2, ("r/#", 1)))
    seeds["torn-log"] = bytes([STORE]) + open_(0) + send(0, connect("p", clean=False)) + \
        send(0, subscribe(1, ("q/#", 2))) + close(0) + open_(1) + send(1, connect("pub")) + \
        b"".join(send(1, publish("q/%d" % i, "m%d" % i, 1 + i % 2, mid=i + 1)) for i in range(6)) + \
        tear(True, 150) + open_(0) + send(0, connect("p", clean=False)) + tear(False, 77) + \
        open_(0) + send(0, connect("p", clean=False))
    seeds["store-fails"] = bytes([STORE | SMALL]) + open_(0) + send(0, connect("p", clean=False)) + \
        send(0, subscribe(1, ("q/#", 1))) + fail(2) + open_(1) + send(1, connect("pub")) + \
        send(1, publish("q/1", "x" * 100, 1, mid=1)) + fail(1, syncs=True) + \
        send(1, publish("q/2", "y" * 100, 1, mid=2)) + close(0) + \
        b"".join(send(1, publish("q/%d" % i, "z" * 60, 1, mid=i)) for i in range(3, 12)) + crash() + \
        open_(0) + send(0, connect("p", clean=False))
    seeds["auth-acl"] = bytes([AUTH]) + open_(0) + send(0, connect("c1", user="alice", pw="apw")) + \
        send(0, subscribe(1, ("a/#", 1), ("b/x", 0), ("users/alice/#", 2), ("#", 0))) + \
        open_(1) + send(1, connect("c2", user="bob", pw="bpw")) + send(1, publish("s/1", "to alice", 1, mid=4)) + \
        send(1, publish("a/1", "denied", 1, mid=5)) + open_(2) + send(2, connect("c3", user="bob", pw="nope")) + \
        open_(3) + send(3, connect("c4")) + open_(4) + send(4, connect("c5", user="eve", pw="x"))
    seeds["takeover-queue-small"] = bytes([STORE | SMALL | OLDEST | AUTH | ANON]) + open_(0) + \
        send(0, connect("bobsess", clean=False, user="bob", pw="bpw")) + send(0, subscribe(1, ("b/+", 1))) + close(0) + \
        open_(1) + send(1, connect("pub", user="bob", pw="bpw")) + \
        b"".join(send(1, publish("s/%d" % i, "q", 1, mid=i + 1)) for i in range(8)) + \
        open_(2) + send(2, connect("bobsess", clean=False, user="alice", pw="apw")) + \
        open_(3) + send(3, connect("x")) + open_(4) + send(4, connect("y"))
    seeds["retained-many"] = bytes([QOS0 | SMALL]) + open_(0) + send(0, connect("r")) + \
        b"".join(send(0, publish("ret/%d" % i, "v%d" % i, 1, retain=True, mid=i + 1)) for i in range(10)) + \
        send(0, publish("ret/3", "", 0, retain=True)) + open_(1) + send(1, connect("s")) + \
        send(1, subscribe(1, ("ret/#", 1))) + send(1, ack("puback", 1)) + send(1, ack("puback", 2))
    seeds["protocol-errors"] = bytes([0]) + open_(0) + send(0, PINGREQ) + open_(1) + \
        send(1, connect("a") + connect("a")) + open_(2) + send(2, bytes.fromhex("10 0c 00 04 4d 51 54 54 05 02 00 3c 00 00")) + \
        open_(3) + send(3, connect("d") + bytes.fromhex("30 ff ff ff 7f")) + open_(4) + \
        send(4, connect("e") + subscribe(1, ("a/#/b", 1))) + time(20, 2)
    for name in ("pubsub-qos012", "persistent-crash", "takeover-queue-small"):
        seeds[name + "-twice"] = bytes([seeds[name][0] | TWICE]) + seeds[name][1:]
    for name, data in seeds.items():
        out("broker", name, data)


# ---- the loaders ------------------------------------------------------------------------

def copy_files(target, paths):
    for p in paths:
        with open(os.path.join(ROOT, p), "rb") as f:
            data = f.read()
        out(target, p.replace("/", "_"), data[:16384])


def scenario_seeds():
    picks = []
    for d in ("scenarios/examples", "scenarios/flaky", "scenarios/explore", "scenarios/fleet"):
        picks += [os.path.join(d, f) for f in sorted(os.listdir(os.path.join(ROOT, d))) if f.endswith(".yaml")]
    picks += ["scenarios/conformance/" + f for f in (
        "2.2-flags-connect.yaml", "3.1-will-flag-rules.yaml", "3.1-keepalive-enforced.yaml",
        "4.6-ordered-topic.yaml", "4.7-plus-wildcard.yaml", "1.5-utf8-connect-fields.yaml")]
    tdir = "tests/scenarios"
    picks += [os.path.join(tdir, f) for f in sorted(os.listdir(os.path.join(ROOT, tdir))) if f.endswith(".yaml")]
    copy_files("scenario", [p for p in picks if os.path.exists(os.path.join(ROOT, p))])
    # YAML anchors and aliases, which no scenario of the tree uses.
    out("scenario", "aliases.yaml", ALIASES)


ALIASES = """name: aliases
description: Anchors and aliases, each used a few times (a seed for fuzz_scenario).
spec: [MQTT-3.3.1-9]
clients:
  - { id: pub }
  - { id: sub }
steps:
  - { client: sub, connect: &c { keepalive: 30s } }
  - { client: sub, subscribe: { filter: &t sensors/1/temp, qos: 0 } }
  - { client: pub, connect: *c }
  - &p { client: pub, publish: { topic: *t, payload: &v "21.5", qos: 0 } }
  - *p
  - { client: sub, expect: { packet: PUBLISH, topic: *t, payload: *v, within: 2s } }
"""


def catalog_seeds():
    with open(os.path.join(ROOT, "conformance/mqtt-3.1.1.yaml")) as f:
        text = f.read()
    # Pieces of the real catalog: its head (both aliases are further on) and its middle.
    items = text.split("\n  - id: ")
    head = items[0]
    out("catalog", "first-20", head + "\n  - id: " + "\n  - id: ".join(items[1:21]) + "\n")
    alias = [i for i in items[1:] if "alias:" in i]
    out("catalog", "aliases", head + "\n  - id: " + "\n  - id: ".join(alias) + "\n")
    untestable = [i for i in items[1:] if "reason:" in i][:8]
    out("catalog", "untestable", head + "\n  - id: " + "\n  - id: ".join(untestable) + "\n")
    out("catalog", "small-5.0", 'version: "5.0"\nstatements:\n  - id: MQTT-3.1.2-1\n    section: "3.1.2"\n'
        '    target: server\n    level: optional\n    testable: false\n    reason: "inside"\n'
        '    summary: "x"\n')


def auth_seeds():
    out("acl", "basic", "# comment\ntopic read $SYS/#\npattern readwrite users/%u/#\n\nuser alice\n"
        "topic readwrite a/#\ntopic read b/+\nuser bob\ntopic write b/x\n")
    out("acl", "clients", "client c1\ntopic c/#\npattern read devices/%c/+/state\nclient c2\n"
        "topic readwrite +/+\ntopic write #\n")
    out("acl", "blanks", "  topic   read  a b/c  \nuser  x y\ntopic  write  with space/x\n\r\n"
        "pattern %u/%c/%u\n")
    out("acl", "errors", "topic\nfoo bar\ntopic sometimes a/b\nuser\npattern read a/#/b\n")
    line = "alice:$mqs2$1$30313233343536373839616263646566$" + "ab" * 32 + "$" + "ef" * 32
    out("passwd", "one-user", "# users\n" + line + "\n\n  bob:$mqs2$2$00$" + "cd" * 32 + "$" + "01" * 32 + "  \n")
    # The first format: refused by the loader, rewritten by broker_auth_upgrade.
    out("passwd", "v1", "# old\nalice:$mqs1$1$30313233343536373839616263646566$" + "ab" * 32 +
        "\r\n  bob:$mqs1$2$00$" + "cd" * 32 + "  \n" + line + "\n")
    out("passwd", "errors", "alice\nbob:$mqs2$x$00$00$00\ncarol:$mqs2$1$00$" + "00" * 32 + "\n:$mqs2$1$00$" +
        "00" * 32 + "$" + "00" * 32 + "\nalice:$mqs2$1000001$00$" + "00" * 32 + "$" + "00" * 32 + "\n")
    out("passwd", "user-and-password", "alice\nsecret password")
    out("passwd", "empty-password", "bob\n")


def small_seeds():
    out("hexdecode", "connect", b"\x00" + b"10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00\n")
    out("hexdecode", "json-publish", b"\x01" + b"0x32,0x08,0x00,0x01,0x74,0x00,0x07,0x32,0x31,0x2e")
    out("hexdecode", "v5-lines", b"\x03" + b"10:10:00:04:4d:51:54:54:05:02:00:3c:00:00:00\n  e0 00\n0xf")
    out("hexdecode", "bad-digit", b"\x00" + b"10 0c zz\n")


if __name__ == "__main__":
    # seeds/timeline/ holds traces written by `mqttsim run --out`, kept by hand like seeds/decode/
    # and seeds/ws/ (frames and handshakes, and the inputs fuzz_ws found).
    for t in ("broker", "scenario", "catalog", "acl", "passwd", "hexdecode"):
        shutil.rmtree(os.path.join(SEEDS, t), ignore_errors=True)
    broker_seeds()
    scenario_seeds()
    catalog_seeds()
    auth_seeds()
    small_seeds()
