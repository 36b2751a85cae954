#!/usr/bin/python3
"""Abuse checks of `mqttsim broker`'s socket shell on loopback (issue 20, defects 2, 4, 6),
with raw MQTT 3.1.1 packets so nothing but the standard library is needed.

Usage: abuse_shell.py PORT BROKER_PID BROKER_LOG CASE
  slowreader  a subscriber that never reads is cut off past the output bound: afterwards
              the broker idles, its memory and descriptor are released, the log names the
              peer and the client, and the client id can be taken over.
  emfile      (broker run under a low `ulimit -n`) connections past the descriptor limit:
              logged once, no spinning, a new client is served once the others close.
  authflood   (broker run with --passwords holding alice:s3cret) wrong-password CONNECTs
              from 8 connections for 2 s do not delay another client's PINGREQ.
Prints the figures measured; exit 0 on success, 1 (with what failed) otherwise.
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"
CLK = os.sysconf("SC_CLK_TCK")

# Bounds the checks hold the broker to; each is far from what the unfixed broker did
# (100% CPU, 64 MiB kept, 38 ms median ping) and far enough from the fixed figures
# (about 0%, a few MB, under 1 ms) not to flake on a loaded 2-core machine.
MAX_IDLE_CPU = 0.20        # share of one core, measured over 2 s
MAX_RSS_AFTER_MB = 40      # the cut-off buffer alone was 64 MiB
MAX_FLOOD_PING_MS = 10.0   # median PINGREQ round trip under the flood


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def mstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">H", len(b)) + b


def rlen(n):
    out = b""
    while True:
        d = n % 128
        n //= 128
        out += bytes([d | (0x80 if n else 0)])
        if not n:
            return out


def pkt(first, body):
    return bytes([first]) + rlen(len(body)) + body


def connect_pkt(cid, user=None, pw=None, keepalive=60):
    flags = 0x02 | (0x80 if user is not None else 0) | (0x40 if pw is not None else 0)
    body = mstr("MQTT") + bytes([4, flags]) + struct.pack(">H", keepalive) + mstr(cid)
    if user is not None:
        body += mstr(user)
    if pw is not None:
        body += mstr(pw)
    return pkt(0x10, body)


def subscribe_pkt(pid, flt, qos=0):
    return pkt(0x82, struct.pack(">H", pid) + mstr(flt) + bytes([qos]))


def publish_pkt(topic, payload):
    return pkt(0x30, mstr(topic) + payload)


PINGREQ = b"\xc0\x00"


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError("connection closed")
        buf += d
    return buf


def read_pkt(s):
    first = recv_exact(s, 1)[0]
    n, mul = 0, 1
    for _ in range(4):
        d = recv_exact(s, 1)[0]
        n += (d & 0x7F) * mul
        mul *= 128
        if not d & 0x80:
            break
    return first, recv_exact(s, n)


def open_client(port, cid, user=None, pw=None, timeout=5, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect((HOST, port))
    s.sendall(connect_pkt(cid, user, pw))
    t, body = read_pkt(s)
    if t != 0x20 or len(body) != 2:
        fail("%s: expected CONNACK, got type 0x%02x" % (cid, t))
    return s, body[1]


def stat_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # utime + stime


def cpu_share(pid, secs=2.0):
    t0, w0 = stat_ticks(pid), time.monotonic()
    time.sleep(secs)
    return (stat_ticks(pid) - t0) / CLK / (time.monotonic() - w0)


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def log_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def case_slowreader(port, pid, log):
    base_fds = nfds(pid)
    slow, rc = open_client(port, "slow-sub", rcvbuf=4096)
    slow.sendall(subscribe_pkt(1, "big/#"))
    t, _ = read_pkt(slow)
    if t != 0x90:
        fail("slow reader: expected SUBACK, got 0x%02x" % t)
    slow_peer = "%s:%d" % slow.getsockname()
    pub, _ = open_client(port, "slow-pub", timeout=20)
    payload = b"x" * (256 << 10)
    cut = False
    peak = 0.0
    for i in range(480):  # 120 MiB at most; the bound is 64 MiB
        pub.sendall(publish_pkt("big/x", payload))
        if i % 8 == 7:
            peak = max(peak, rss_mb(pid))
            if "reads too slowly" in log_text(log):
                cut = True
                break
    if not cut:
        fail("slow reader: no cut-off logged after 120 MiB to a client that reads nothing")
    time.sleep(0.5)
    cpu = cpu_share(pid)
    rss = rss_mb(pid)
    fds = nfds(pid)
    text = log_text(log)
    line = [l for l in text.splitlines() if "reads too slowly" in l][0]
    print("slow reader: broker CPU %.1f%% over 2 s after the cut-off, RSS %.1f MB (peak seen %.1f MB), "
          "%d descriptors (%d before the two clients)" % (100 * cpu, rss, peak, fds, base_fds))
    print("slow reader: log: %s" % line.split(" ", 1)[1])
    bad = []
    if slow_peer not in line or "client=slow-sub" not in line or "64 MiB" not in line:
        bad.append("the cut-off line should name the peer %s, client=slow-sub and the 64 MiB bound" % slow_peer)
    if "disconnect %s client=slow-sub" % slow_peer not in text:
        bad.append("the core was never told the slow reader is gone (no disconnect line)")
    if cpu > MAX_IDLE_CPU:
        bad.append("the broker spins after the cut-off: %.0f%% CPU (bound %.0f%%)" % (100 * cpu, 100 * MAX_IDLE_CPU))
    if rss > MAX_RSS_AFTER_MB:
        bad.append("the cut-off client's buffer was not released: RSS %.1f MB (bound %d MB)" % (rss, MAX_RSS_AFTER_MB))
    if fds != base_fds + 1:
        bad.append("descriptors: %d open, expected %d (the publisher's only)" % (fds, base_fds + 1))
    # Its client id is free to be used again, and the broker still routes.
    again, rc = open_client(port, "slow-sub")
    if rc != 0:
        bad.append("takeover of slow-sub: CONNACK %d" % rc)
    again.sendall(subscribe_pkt(2, "small/#"))
    read_pkt(again)
    pub.sendall(publish_pkt("small/x", b"hi"))
    t, body = read_pkt(again)
    if t & 0xF0 != 0x30 or not body.endswith(b"hi"):
        bad.append("after the cut-off the broker did not route a message")
    for s in (slow, pub, again):
        s.close()
    if bad:
        fail("; ".join(bad))


def case_emfile(port, pid, log):
    socks = []
    served = 0
    for i in range(120):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect((HOST, port))
            s.sendall(connect_pkt("fd-%d" % i))
        except OSError:
            s.close()
            continue
        socks.append(s)
    deadline = time.monotonic() + 4
    for s in socks:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            t, body = read_pkt(s)
            if t == 0x20 and body[1] == 0:
                served += 1
        except (OSError, EOFError):
            pass
    cpu = cpu_share(pid)
    text = log_text(log)
    n_logged = text.count("out of file descriptors")
    print("emfile: %d of %d connections served; broker CPU %.1f%% over 2 s while out of "
          "descriptors; %d log line(s) about it" % (served, len(socks), 100 * cpu, n_logged))
    bad = []
    if served == 0 or served >= len(socks):
        bad.append("expected the descriptor limit to stop some of %d connections, %d served" % (len(socks), served))
    if cpu > MAX_IDLE_CPU:
        bad.append("the broker spins while out of descriptors: %.0f%% CPU (bound %.0f%%)" % (100 * cpu, 100 * MAX_IDLE_CPU))
    if n_logged != 1:
        bad.append("expected one log line for the episode, got %d" % n_logged)
    for s in socks:
        s.close()
    time.sleep(0.5)
    try:
        s, rc = open_client(port, "fd-after", timeout=5)
        if rc != 0:
            bad.append("after the others closed: CONNACK %d" % rc)
        s.sendall(PINGREQ)
        t, _ = read_pkt(s)
        if t != 0xD0:
            bad.append("after the others closed: no PINGRESP")
        s.close()
    except (OSError, EOFError) as e:
        bad.append("after the others closed a new client was not served: %s" % e)
    if bad:
        fail("; ".join(bad))


def flood(port, secs, nthreads=8):
    counts = [0] * nthreads
    stop = time.monotonic() + secs

    def run(k):
        while time.monotonic() < stop:
            try:
                s, rc = open_client(port, "flood-%d" % k, "alice", "wrong", timeout=5)
                s.close()
                if rc == 4:
                    counts[k] += 1
            except (OSError, EOFError):
                pass

    ts = [threading.Thread(target=run, args=(k,)) for k in range(nthreads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(sum(counts))


def pings(s, n, gap_s=0.01):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        s.sendall(PINGREQ)
        t, _ = read_pkt(s)
        if t != 0xD0:
            fail("expected PINGRESP, got 0x%02x" % t)
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(gap_s)
    return sorted(out)


def case_authflood(port, pid, log):
    # A client that sends everything at once: what follows its CONNECT waits for the answer
    # and is then handled in order.
    s = socket.create_connection((HOST, port), timeout=5)
    s.sendall(connect_pkt("pipe", "alice", "s3cret") + subscribe_pkt(7, "p/t") +
              publish_pkt("p/t", b"echo") + PINGREQ)
    got = [read_pkt(s) for _ in range(4)]
    types = [t for t, _ in got]
    if types != [0x20, 0x90, 0x30, 0xD0] or got[0][1][1] != 0 or not got[2][1].endswith(b"echo"):
        fail("pipelined CONNECT, SUBSCRIBE, PUBLISH, PINGREQ: got %r" % got)
    s.close()
    w, rc = open_client(port, "wrong", "alice", "nope")
    if rc != 4:
        fail("wrong password: CONNACK %d, expected 4" % rc)
    w.close()

    p, rc = open_client(port, "pinger", "alice", "s3cret")
    if rc != 0:
        fail("pinger: CONNACK %d" % rc)
    quiet = pings(p, 50)
    fl = subprocess.Popen([sys.executable, __file__, str(port), str(pid), log, "flood", "2"],
                          stdout=subprocess.PIPE, text=True)
    time.sleep(0.2)
    loud = []
    t_end = time.monotonic() + 1.6
    while time.monotonic() < t_end:
        loud += pings(p, 1)
    out, _ = fl.communicate(timeout=30)
    loud.sort()
    n = int(out.strip() or 0)
    med = loud[len(loud) // 2]
    print("authflood: %d wrong-password CONNECTs refused in 2 s (%.0f/s) from 8 connections" % (n, n / 2.0))
    print("authflood: PINGREQ round trip quiet median %.2f ms; under the flood median %.2f ms, "
          "p90 %.2f ms, max %.2f ms (%d pings)" % (quiet[len(quiet) // 2], med,
                                                 loud[int(len(loud) * 0.9)], loud[-1], len(loud)))
    p.close()
    if n == 0:
        fail("the flood got no CONNACK 4 at all")
    if med > MAX_FLOOD_PING_MS:
        fail("ping latency under the flood: median %.1f ms (bound %.0f ms)" % (med, MAX_FLOOD_PING_MS))


def main():
    port, pid, log, case = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if case == "flood":
        flood(port, float(sys.argv[5]))
        return
    {"slowreader": case_slowreader, "emfile": case_emfile, "authflood": case_authflood}[case](port, pid, log)


if __name__ == "__main__":
    main()
