#!/usr/bin/env python3
"""scram_tcp.py PORT - MQTT 5.0 enhanced authentication with SCRAM-SHA-256 against
`mqttsim broker --passwords` on 127.0.0.1:PORT, from a client written here with Python's
hashlib/hmac (RFC 5802/7677), independent of the broker's C code and of
harness/scram_client.c. The password file holds user "user", password "pencil".
Prints PASS/FAIL lines; exit 0 when all passed."""
import base64, hashlib, hmac, socket, sys

PORT = int(sys.argv[1])
METHOD = b"SCRAM-SHA-256"
fails = 0


def check(name, ok, detail=""):
    global fails
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else "\n    " + str(detail)))
    fails += 0 if ok else 1


def vbi(n):
    out = b""
    while True:
        b, n = n % 128, n // 128
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def s16(b):
    return len(b).to_bytes(2, "big") + b


def props(method, data):
    p = b"\x15" + s16(method)
    if data is not None:
        p += b"\x16" + s16(data)
    return vbi(len(p)) + p


def connect(cid, method, data):
    var = s16(b"MQTT") + b"\x05" + b"\x02" + b"\x00\x00" + props(method, data)
    body = var + s16(cid)
    return b"\x10" + vbi(len(body)) + body


def auth(reason, method, data):
    body = bytes([reason]) + props(method, data)
    return b"\xf0" + vbi(len(body)) + body


def read_packet(s):
    """(type, reason, {prop id: value}) of the next packet, or None at EOF."""
    def get(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                return None
            b += c
        return b
    h = get(1)
    if h is None:
        return None
    mul, ln = 1, 0
    while True:
        d = get(1)[0]
        ln += (d & 127) * mul
        mul *= 128
        if not d & 128:
            break
    body = get(ln) if ln else b""
    t = h[0] >> 4
    if t == 2:  # CONNACK: flags, reason, properties
        reason, rest = body[1], body[2:]
    elif t in (14, 15):  # DISCONNECT, AUTH
        reason, rest = (body[0], body[1:]) if body else (0, b"")
    else:
        return (t, None, {})
    pl, i, m = 0, 0, 1
    while rest:
        d = rest[i]
        pl += (d & 127) * m
        m *= 128
        i += 1
        if not d & 128:
            break
    pr, out = rest[i:i + pl], {}
    j = 0
    while j < len(pr):
        pid = pr[j]
        j += 1
        if pid in (0x15, 0x16, 0x1F):
            n = int.from_bytes(pr[j:j + 2], "big")
            out[pid] = pr[j + 2:j + 2 + n]
            j += 2 + n
        elif pid in (0x21, 0x22, 0x13):
            j += 2
        elif pid in (0x27, 0x11):
            j += 4
        elif pid in (0x24, 0x25, 0x28, 0x29, 0x2A):
            j += 1
        elif pid == 0x12:
            n = int.from_bytes(pr[j:j + 2], "big")
            j += 2 + n
        else:
            break
    return (t, reason, out)


def client_final(first_bare, server_first, password):
    attrs = dict(a.split("=", 1) for a in server_first.split(","))
    salt, it = base64.b64decode(attrs["s"]), int(attrs["i"])
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, it)
    ck = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    sk = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    stored = hashlib.sha256(ck).digest()
    wo = "c=biws,r=" + attrs["r"]
    am = ",".join([first_bare, server_first, wo]).encode()
    sig = hmac.new(stored, am, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(ck, sig))
    ssig = hmac.new(sk, am, hashlib.sha256).digest()
    return (wo + ",p=" + base64.b64encode(proof).decode()).encode(), b"v=" + base64.b64encode(ssig)


def exchange(s, first_bare, password, reauth=False):
    """One SCRAM exchange on s; returns the packet that ends it and the expected v=."""
    if reauth:
        s.sendall(auth(0x19, METHOD, b"n,," + first_bare.encode()))
    t, r, p = read_packet(s)
    if t != 15 or r != 0x18 or p.get(0x15) != METHOD:
        return (t, r, p), None
    final, want = client_final(first_bare, p[0x16].decode(), password)
    s.sendall(auth(0x18, METHOD, final))
    return read_packet(s), want


def sock():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    return s


# Success, then re-authentication on the live connection, then a failed one.
s = sock()
s.sendall(connect(b"py1", METHOD, b"n,,n=user,r=pyNonce1"))
(t, r, p), want = exchange(s, "n=user,r=pyNonce1", "pencil")
check("SCRAM login: CONNACK 0x00 with the method and a server-final that proves the server",
      t == 2 and r == 0 and p.get(0x15) == METHOD and p.get(0x16) == want, (t, r, p, want))
s.sendall(b"\xc0\x00")
check("connected: PINGREQ answered", read_packet(s)[0] == 13)
(t, r, p), want = exchange(s, "n=user,r=pyNonce2", "pencil", reauth=True)
check("re-authentication: AUTH 0x00 with server-final", t == 15 and r == 0 and p.get(0x16) == want, (t, r, p))
(t, r, p), want = exchange(s, "n=user,r=pyNonce3", "wrong", reauth=True)
check("failed re-authentication: DISCONNECT 0x87", t == 14 and r == 0x87, (t, r, p))
check("... and the connection closed", read_packet(s) is None)
s.close()

s = sock()
s.sendall(connect(b"py2", METHOD, b"n,,n=user,r=pyNonce4"))
(t, r, p), _ = exchange(s, "n=user,r=pyNonce4", "pencil!")
check("wrong password: CONNACK 0x86, e=invalid-proof", t == 2 and r == 0x86 and p.get(0x16) == b"e=invalid-proof", (t, r, p))
s.close()

s = sock()
s.sendall(connect(b"py3", b"SCRAM-SHA-1", b"n,,n=user,r=x"))
t, r, p = read_packet(s)
check("unknown method: CONNACK 0x8C", t == 2 and r == 0x8C, (t, r, p))
check("... and the connection closed", read_packet(s) is None)
s.close()

s = sock()
s.sendall(connect(b"py4", METHOD, b"n,,n=user"))
t, r, p = read_packet(s)
check("malformed client-first: CONNACK 0x82", t == 2 and r == 0x82, (t, r, p))
s.close()

# Two connections get different server nonces (from the OS, not a fixed stream).
nonces = []
for k in range(2):
    s = sock()
    s.sendall(connect(b"py5", METHOD, b"n,,n=user,r=same"))
    t, r, p = read_packet(s)
    nonces.append(p.get(0x16, b"").split(b",")[0])
    s.close()
check("server nonces differ between connections", nonces[0] != nonces[1] and nonces[0].startswith(b"r=same"), nonces)
print("scram_tcp: %d failed" % fails)
sys.exit(1 if fails else 0)
