#!/usr/bin/env python3
"""ws_peer.py - WebSocket peers for tests/ws.sh, written from RFC 6455 with the standard library.

  ws_peer.py server MODE        a one-shot bad server on a free loopback port; prints
                                "listening on 127.0.0.1:PORT", answers one handshake as MODE
                                says, then waits for the client to go:
                                  404       HTTP 404 Not Found
                                  accept    101 with a wrong Sec-WebSocket-Accept
                                  noproto   101 without Sec-WebSocket-Protocol
  ws_peer.py client PORT CHECK  against mqttsim broker --listen-ws on 127.0.0.1:PORT; exit 0 when
                                the broker did what CHECK expects, else 1 with the reason:
                                  ping      a ping (any time, even before CONNECT) is answered
                                            by a pong with the same payload
                                  close     a close frame is answered by a close frame, then EOF
                                  unmasked  an unmasked client frame: close 1002, then EOF
                                  noproto   a handshake offering no mqtt: HTTP 400
                                  path      a handshake for another path (the broker serves
                                            /mqtt): HTTP 404
"""
import base64
import hashlib
import os
import socket
import struct
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TIMEOUT = 5


def accept_of(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def read_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def frame(op, payload, mask=True):
    b1 = 0x80 | op
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        h = struct.pack("!BB", b1, m | n)
    elif n < 65536:
        h = struct.pack("!BBH", b1, m | 126, n)
    else:
        h = struct.pack("!BBQ", b1, m | 127, n)
    if not mask:
        return h + payload
    key = os.urandom(4)
    return h + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def read_frame(s, buf):
    """One server frame: (opcode, payload, rest of buf); (None, b'', b'') at EOF."""
    def need(k):
        nonlocal buf
        while len(buf) < k:
            d = s.recv(4096)
            if not d:
                return False
            buf += d
        return True
    if not need(2):
        return None, b"", b""
    op, l = buf[0] & 0x0F, buf[1] & 0x7F
    if buf[1] & 0x80:
        raise SystemExit("FAIL the server masked a frame")
    at = 2
    if l == 126:
        need(4)
        l = struct.unpack("!H", buf[2:4])[0]
        at = 4
    elif l == 127:
        need(10)
        l = struct.unpack("!Q", buf[2:10])[0]
        at = 10
    need(at + l)
    return op, buf[at:at + l], buf[at + l:]


def handshake(port, path="/mqtt", proto="mqtt"):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    key = base64.b64encode(os.urandom(16))
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path, port, key.decode()))
    if proto:
        req += "Sec-WebSocket-Protocol: %s\r\n" % proto
    s.sendall((req + "\r\n").encode())
    head, rest = read_head(s)
    return s, key, head, rest


def client(port, check):
    if check in ("noproto", "path"):
        s, _, head, _ = handshake(port, path="/other" if check == "path" else "/mqtt",
                                  proto=None if check == "noproto" else "mqtt")
        want = "HTTP/1.1 404" if check == "path" else "HTTP/1.1 400"
        if not head.startswith(want):
            sys.exit("FAIL %s: expected %s, got %r" % (check, want, head.split("\r\n")[0]))
        return
    s, key, head, rest = handshake(port)
    lines = head.split("\r\n")
    if not lines[0].startswith("HTTP/1.1 101"):
        sys.exit("FAIL handshake: %r" % lines[0])
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    if hdrs.get("sec-websocket-accept", "").encode() != accept_of(key):
        sys.exit("FAIL handshake: wrong Sec-WebSocket-Accept %r" % hdrs.get("sec-websocket-accept"))
    if hdrs.get("sec-websocket-protocol") != "mqtt":
        sys.exit("FAIL handshake: subprotocol %r, not mqtt" % hdrs.get("sec-websocket-protocol"))
    if check == "ping":
        s.sendall(frame(0x9, b"are you there"))
        op, p, rest = read_frame(s, rest)
        if op != 0xA or p != b"are you there":
            sys.exit("FAIL ping: got opcode %r payload %r, not a pong with the ping's payload" % (op, p))
        return
    if check == "close":
        s.sendall(frame(0x8, struct.pack("!H", 1000)))
    elif check == "unmasked":
        s.sendall(frame(0x2, b"\xc0\x00", mask=False))
    op, p, rest = read_frame(s, rest)
    want = 1000 if check == "close" else 1002
    if op != 0x8 or len(p) < 2 or struct.unpack("!H", p[:2])[0] != want:
        sys.exit("FAIL %s: got opcode %r payload %r, not close %d" % (check, op, p, want))
    op, _, _ = read_frame(s, rest)
    if op is not None:
        sys.exit("FAIL %s: frame %r after the close, not EOF" % (check, op))


def server(mode):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    print("listening on 127.0.0.1:%d" % ls.getsockname()[1], flush=True)
    ls.settimeout(30)
    while True:  # the probe, then (if it got that far) nothing else
        try:
            c, _ = ls.accept()
        except socket.timeout:
            return
        c.settimeout(TIMEOUT)
        head, _ = read_head(c)
        key = b""
        for l in head.split("\r\n"):
            k, _, v = l.partition(":")
            if k.strip().lower() == "sec-websocket-key":
                key = v.strip().encode()
        if mode == "404":
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        else:
            acc = base64.b64encode(b"x" * 20) if mode == "accept" else accept_of(key)
            ans = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Accept: " + acc + b"\r\n")
            if mode != "noproto":
                ans += b"Sec-WebSocket-Protocol: mqtt\r\n"
            c.sendall(ans + b"\r\n")
        try:
            c.recv(100)
        except OSError:
            pass
        c.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "server":
        server(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "client":
        client(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(__doc__)
