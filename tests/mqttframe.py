"""mqttframe.py - MQTT framing for the small Python peers of the shell tests (dup_broker.py,
ka_proxy.py): where the first packet in a buffer ends."""


def frame(buf):
    """(i, n) for the packet at the start of buf: its fixed header is i bytes (a type byte,
    then the remaining length in 1 to 4 bytes) and n bytes follow it; None while the header
    is not whole."""
    n, i = 0, 1
    while i < len(buf) and i <= 4:
        n |= (buf[i] & 0x7F) << (7 * (i - 1))
        i += 1
        if not buf[i - 1] & 0x80:
            return i, n
    return None
