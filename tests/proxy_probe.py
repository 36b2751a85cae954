"""proxy_probe.py PORT CLIENT_ID SECONDS: a tiny MQTT 3.1.1 client for tests/proxy.sh.

Connects, sends a PINGREQ every 0.25 s and prints one line at the end: how the connection
ended (reset, eof, open) and how many PINGRESPs came back before and after SECONDS/3, so
the test can tell a live, a silent (blackholed) and a closed connection apart. Every wait
is bounded by SECONDS.
"""
import socket
import sys
import time

port, cid, secs = int(sys.argv[1]), sys.argv[2].encode(), float(sys.argv[3])
body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(cid).to_bytes(2, "big") + cid
s = socket.create_connection(("127.0.0.1", port), timeout=secs)
s.sendall(bytes([0x10, len(body)]) + body)
start = time.monotonic()
end, resp, state, buf = start + secs, [], "open", b""
next_ping = start
s.settimeout(0.05)
while time.monotonic() < end and state == "open":
    now = time.monotonic()
    if now >= next_ping:
        try:
            s.sendall(b"\xc0\x00")
        except OSError:
            state = "reset"
            break
        next_ping = now + 0.25
    try:
        d = s.recv(4096)
        if not d:
            state = "eof"
            break
        buf += d
        while len(buf) >= 2:
            if buf[0] == 0xD0:
                resp.append(time.monotonic() - start)
            buf = buf[2 + buf[1]:]
    except socket.timeout:
        pass
    except ConnectionResetError:
        state = "reset"
print("%s early=%d late=%d at=%.2f" % (state, sum(1 for t in resp if t < secs / 3),
                                         sum(1 for t in resp if t >= secs / 3), time.monotonic() - start))
