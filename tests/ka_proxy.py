#!/usr/bin/env python3
"""ka_proxy.py PORTFILE UPSTREAM_PORT - a mutation proxy for tests/conform.sh: it passes
bytes between a client and a broker on 127.0.0.1:UPSTREAM_PORT, but sets the keep alive of
every CONNECT to 0, so the broker never cuts off a silent client. Through it, mosquitto looks
like a broker that never enforces keep alives: its expected failure of MQTT-3.1.2-24 (a late
sweep, `late`) must not cover that (`never`). It writes the port it listens on (127.0.0.1)
to PORTFILE and serves until killed."""
import socket, sys, threading

from mqttframe import frame

def pipe(src, dst, first):
    buf = b""
    try:
        while True:
            d = src.recv(4096)
            if not d:
                return
            if first is not None and first[0]:
                buf += d
                f = frame(buf)
                if f is None:
                    continue  # not a whole header yet
                i, n = f
                if len(buf) < i + n:
                    continue
                first[0] = False
                if buf[0] >> 4 == 1:  # CONNECT: name length, name, level, flags, keep alive
                    nl = int.from_bytes(buf[i:i + 2], "big")
                    ka = i + 2 + nl + 2
                    buf = buf[:ka] + b"\x00\x00" + buf[ka + 2:]
                d, buf = buf, b""
            dst.sendall(d)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

def serve(c, up_port):
    try:
        u = socket.create_connection(("127.0.0.1", up_port))
    except OSError:
        c.close()
        return
    threading.Thread(target=pipe, args=(c, u, [True]), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c, None), daemon=True).start()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
with open(sys.argv[1], "w") as f:
    f.write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept()
    serve(c, int(sys.argv[2]))
