"""v5_refuser.py PORTFILE MODE: a stub MQTT server that takes 3.1.1 and refuses 5.0, for
tests/badinput.sh (what `mqttsim conform --version 5.0` says of a broker without 5.0).

Listens on a free loopback port and writes it to PORTFILE. A 3.1.1 CONNECT (level 4) gets
CONNACK 0; a 5.0 CONNECT (level 5) gets, by MODE: "84" CONNACK reason 0x84 (Unsupported
Protocol Version) then a close, or "close" a close with no CONNACK. Anything after a
CONNACK is read and dropped until the client closes. One connection at a time; it exits
after 30 s, or when killed.
"""
import socket
import sys
import time

portfile, mode = sys.argv[1], sys.argv[2]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(8)
srv.settimeout(0.5)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
end = time.monotonic() + 30
while time.monotonic() < end:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        continue
    c.settimeout(2)
    try:
        head = c.recv(2)
        # The protocol level sits after the fixed header (2 bytes for a short CONNECT) and
        # the 6-byte protocol name.
        body = c.recv(8)
        level = body[6] if len(body) >= 7 and head[:1] == b"\x10" else 0
        if level == 4:
            c.sendall(b"\x20\x02\x00\x00")
            while c.recv(256):
                pass
        elif level == 5 and mode == "84":
            c.sendall(b"\x20\x03\x00\x84\x00")
    except OSError:
        pass
    c.close()
