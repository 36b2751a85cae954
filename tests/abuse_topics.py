#!/usr/bin/env python3
"""abuse_topics.py - one client subscribes many distinct filters while another is served.

usage: abuse_topics.py PORT [--filters N] [--per K] [--limit S] [--ping-limit S]
                            [--expect-refused N] [--route N] [--retained N]

The bulk client sends N/K SUBSCRIBE packets of K distinct filters ("abuse/<i>/x": N siblings
under one level, the shape that made the old topic tree quadratic) back to back, without
waiting; a probe client connected before it sends a PINGREQ every 20 ms and times each
PINGRESP. Then the probe publishes --route QoS 0 messages to topics that each match one of
the filters, and the bulk client must receive every one. Prints the figures; exits 1 when
the last SUBACK came later than --limit seconds, a PINGRESP took longer than --ping-limit,
a return code is not what was asked (the last --expect-refused filters must get 0x80, the
others their QoS), a message was not routed, or the probe's PINGREQ right after the bulk
client disconnects (dropping all its subscriptions) waits longer than --ping-limit; 2 for bad usage or no broker. Every wait is
bounded (--limit plus a few seconds).

Raw sockets, no MQTT library: the packets are a handful of bytes and we want to time the
broker, not a client library.
"""
import argparse
import select
import socket
import statistics
import sys
import time


def rl(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def s16(b):
    return len(b).to_bytes(2, "big") + b


def connect_pkt(cid):
    body = s16(b"MQTT") + bytes([4, 2]) + (60).to_bytes(2, "big") + s16(cid.encode())
    return bytes([0x10]) + rl(len(body)) + body


def subscribe_pkt(pid, filters, qos=0):
    body = pid.to_bytes(2, "big") + b"".join(s16(f.encode()) + bytes([qos]) for f in filters)
    return bytes([0x82]) + rl(len(body)) + body


def publish_pkt(topic, payload):
    body = s16(topic.encode()) + payload
    return bytes([0x30]) + rl(len(body)) + body


class Conn:
    def __init__(self, port, cid, deadline):
        self.deadline = deadline
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.setblocking(False)
        self.rx = bytearray()
        self.tx = bytearray()
        self.send(connect_pkt(cid))

    def send(self, b):
        self.tx += b

    def flush(self):
        if self.tx:
            try:
                n = self.s.send(self.tx)
                del self.tx[:n]
            except BlockingIOError:
                pass

    def read(self):
        try:
            d = self.s.recv(1 << 20)
        except BlockingIOError:
            return
        if not d:
            raise SystemExit("abuse_topics: the broker closed a connection")
        self.rx += d

    def packets(self):
        """Whole packets received so far, as (first byte, body)."""
        while True:
            if len(self.rx) < 2:
                return
            n, mul, i = 0, 1, 1
            while True:
                if i >= len(self.rx):
                    return
                b = self.rx[i]
                n += (b & 0x7F) * mul
                mul *= 128
                i += 1
                if not b & 0x80:
                    break
            if len(self.rx) < i + n:
                return
            t, body = self.rx[0], bytes(self.rx[i:i + n])
            del self.rx[:i + n]
            yield t, body


def pump(conns, until, deadline):
    """Read and write all connections until until() is true; False at the deadline."""
    while not until():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, w, _ = select.select([c.s for c in conns], [c.s for c in conns if c.tx], [], min(left, 0.02))
        for c in conns:
            if c.s in w:
                c.flush()
            if c.s in r:
                c.read()
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--filters", type=int, default=100000)
    ap.add_argument("--per", type=int, default=1000)
    ap.add_argument("--limit", type=float, default=20.0)
    ap.add_argument("--ping-limit", type=float, default=5.0)
    ap.add_argument("--expect-refused", type=int, default=0)
    ap.add_argument("--route", type=int, default=1000)
    ap.add_argument("--retained", type=int, default=0)
    a = ap.parse_args()
    if a.filters <= 0 or a.per <= 0 or a.per > 10000 or a.filters % a.per:
        print("abuse_topics: --filters must be a positive multiple of --per (1..10000)", file=sys.stderr)
        return 2
    hard = time.monotonic() + a.limit + 10  # nothing here waits past this
    try:
        probe = Conn(a.port, "abuse-probe", hard)
        bulk = Conn(a.port, "abuse-bulk", hard)
    except OSError as e:
        print(f"abuse_topics: cannot connect to 127.0.0.1:{a.port}: {e}", file=sys.stderr)
        return 2
    acks = {"probe": False, "bulk": False}

    def connacks():
        for name, c in (("probe", probe), ("bulk", bulk)):
            for t, body in c.packets():
                if t == 0x20 and body[1] == 0:
                    acks[name] = True
        return all(acks.values())

    if not pump([probe, bulk], connacks, time.monotonic() + 5):
        print("abuse_topics: no CONNACK within 5 s", file=sys.stderr)
        return 2

    if a.retained:
        # Stored in order; a PINGREQ after them says the broker has read them all.
        for i in range(a.retained):
            probe.send(bytes([0x31]) + publish_pkt(f"abuse/{i}/x", b"kept")[1:])
        probe.send(b"\xc0\x00")
        seen = [False]

        def stored():
            for t, _ in probe.packets():
                seen[0] = seen[0] or t == 0xD0
            return seen[0]

        if not pump([probe, bulk], stored, time.monotonic() + a.limit):
            print(f"abuse_topics: FAIL {a.retained} retained messages not taken within {a.limit:.0f} s")
            return 1
    npk = a.filters // a.per
    for p in range(npk):
        bulk.send(subscribe_pkt(p + 1, [f"abuse/{p * a.per + i}/x" for i in range(a.per)]))
    t0 = time.monotonic()
    subacks = []          # (packet id, codes)
    kept = []             # topics of retained messages received
    pings = []            # latencies, s
    ping_sent = [None]
    last_ping = [0.0]

    def step():
        now = time.monotonic()
        for t, body in bulk.packets():
            if t == 0x90:
                subacks.append((int.from_bytes(body[:2], "big"), body[2:]))
            elif t & 0xF0 == 0x30:
                n = int.from_bytes(body[:2], "big")
                kept.append((t & 1, body[2:2 + n].decode()))
        for t, _ in probe.packets():
            if t == 0xD0 and ping_sent[0] is not None:
                pings.append(now - ping_sent[0])
                ping_sent[0] = None
        if ping_sent[0] is None and now - last_ping[0] >= 0.02:
            probe.send(b"\xc0\x00")
            ping_sent[0] = last_ping[0] = now
        return len(subacks) == npk and len(kept) >= min(a.retained, a.filters - a.expect_refused)

    done = pump([probe, bulk], step, t0 + a.limit + 5)
    t_sub = time.monotonic() - t0
    pending = time.monotonic() - ping_sent[0] if ping_sent[0] is not None else 0.0
    worst = max(pings + [pending])
    fail = []
    if not done:
        fail.append(f"only {len(subacks)} of {npk} SUBACKs within {a.limit + 5:.0f} s")
    elif t_sub > a.limit:
        fail.append(f"the last SUBACK came after {t_sub:.2f} s (limit {a.limit:.0f} s)")
    if worst > a.ping_limit:
        fail.append(f"a PINGREQ waited {worst:.2f} s for its PINGRESP (limit {a.ping_limit:.1f} s)")
    refused = granted = 0
    for i, (pid, codes) in enumerate(sorted(subacks)):
        if pid != i + 1 or len(codes) != a.per:
            fail.append(f"SUBACK {pid} has {len(codes)} codes, want {a.per}")
            break
        for j, code in enumerate(codes):
            k = i * a.per + j
            want = 0x80 if k >= a.filters - a.expect_refused else 0
            if code != want:
                fail.append(f"filter abuse/{k}/x got return code 0x{code:02x}, want 0x{want:02x}")
                break
            refused += code == 0x80
            granted += code == 0
    want_kept = [(1, f"abuse/{i}/x") for i in range(min(a.retained, a.filters - a.expect_refused))]
    if done and kept != want_kept:
        fail.append(f"{len(kept)} retained messages arrived, want {len(want_kept)}, each once with RETAIN=1, in order")
    print(f"abuse_topics: {a.filters} filters in {npk} SUBSCRIBEs: last SUBACK after {t_sub:.3f} s "
          f"({granted} granted, {refused} refused); probe PINGREQ latency median "
          f"{statistics.median(pings) * 1e3 if pings else 0:.1f} ms, max {worst * 1e3:.1f} ms "
          f"over {len(pings)} pings" + (f"; {len(kept)} retained delivered" if a.retained else ""))

    # Routing: every message matches exactly one filter of the bulk client.
    nroute = min(a.route, granted)
    if done and nroute:
        step_k = max(1, granted // nroute)
        topics = [f"abuse/{i * step_k}/x" for i in range(nroute)]
        for tp in topics:
            probe.send(publish_pkt(tp, b"r"))
        got = []

        def routed():
            for t, body in bulk.packets():
                if t & 0xF0 == 0x30:
                    n = int.from_bytes(body[:2], "big")
                    got.append(body[2:2 + n].decode())
            for _ in probe.packets():
                pass
            return len(got) >= nroute

        t1 = time.monotonic()
        ok = pump([probe, bulk], routed, min(hard, t1 + 10))
        t_route = time.monotonic() - t1
        if not ok or got != topics:
            fail.append(f"{len(got)} of {nroute} routed messages arrived"
                        + ("" if not got or got == topics[:len(got)] else ", out of order"))
        print(f"abuse_topics: {nroute} publishes routed through {granted} subscriptions in "
              f"{t_route * 1e3:.1f} ms")
    # Dropping a clean session frees all its subscriptions: that must not stall the broker
    # either (the old tree unlinked each node by scanning its siblings).
    if done:
        bulk.s.close()
        t2 = time.monotonic()
        probe.send(b"\xc0\x00")
        pong = [False]

        def ponged():
            for t, _ in probe.packets():
                pong[0] = pong[0] or t == 0xD0
            return pong[0]

        ok = pump([probe], ponged, min(hard, t2 + a.ping_limit))
        t_drop = time.monotonic() - t2
        if not ok:
            fail.append(f"no PINGRESP within {a.ping_limit:.1f} s of the bulk client's disconnect")
        print(f"abuse_topics: PINGRESP {t_drop * 1e3:.1f} ms after the bulk client (and its "
              f"{granted} subscriptions) went away")
    for f in fail:
        print(f"abuse_topics: FAIL {f}")
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
