#!/usr/bin/env python3
"""dup_broker.py PORTFILE [MODE] - a deliberately wrong MQTT 3.1.1 server for tests/window.sh:
it answers CONNECT with CONNACK 0, PINGREQ with PINGRESP, and ignores the rest but SUBSCRIBE:
MODE twice (the default) answers it with two SUBACKs at once (a broker that sends one SUBACK
per filter); MODE malformed answers it with one SUBACK, then a PINGRESP with flags that are
not allowed (MQTT-2.2.2-2), then a valid QoS 0 PUBLISH on the topic subscribed. It writes the
port it listens on (127.0.0.1) to PORTFILE and serves until killed."""
import socket, sys, threading

from mqttframe import frame

def serve(c):
    buf = b""
    try:
        while True:
            d = c.recv(4096)
            if not d:
                return
            buf += d
            while True:
                f = frame(buf)
                if f is None:
                    break  # not a whole header yet
                i, n = f
                if len(buf) < i + n:
                    break
                pkt, buf = buf[:i + n], buf[i + n:]
                t = pkt[0] >> 4
                if t == 1:
                    c.sendall(b"\x20\x02\x00\x00")
                elif t == 8:
                    pid = pkt[i:i + 2]
                    ack = b"\x90\x03" + pid + b"\x00"
                    if MODE == "malformed":
                        tl = int.from_bytes(pkt[i + 2:i + 4], "big")
                        topic = pkt[i + 4:i + 4 + tl]
                        pub = b"\x00" + bytes([tl]) + topic + b"after"
                        c.sendall(ack + b"\xd1\x00" + b"\x30" + bytes([len(pub)]) + pub)
                    else:
                        c.sendall(ack + ack)  # the second is the defect
                elif t == 12:
                    c.sendall(b"\xd0\x00")
                elif t == 14:
                    return
    finally:
        c.close()

MODE = sys.argv[2] if len(sys.argv) > 2 else "twice"
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1], "w") as f:
    f.write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
