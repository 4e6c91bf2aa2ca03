"""The DH group of a server's first flight, read off the wire (backends.openssl.handshake)."""

from __future__ import annotations

from backends.openssl.handshake import _dhe_group

ONES = b"\xff" * 8


def _prime(family: bytes, size: int) -> bytes:
    return ONES + family + b"\x5a" * (size - 24) + ONES


def _flight(*messages: tuple[int, bytes], split: int = 0) -> bytes:
    handshake = b"".join(bytes([t]) + len(m).to_bytes(3, "big") + m for t, m in messages)
    parts = [handshake[:split], handshake[split:]] if split else [handshake]
    return b"".join(b"\x16\x03\x03" + len(p).to_bytes(2, "big") + p for p in parts)


def _ske(p: bytes) -> bytes:
    g, ys = b"\x02", b"\x01" * len(p)
    return b"".join(len(x).to_bytes(2, "big") + x for x in (p, g, ys)) + b"\x04\x01\x00\x00"


def test_named_families_and_sizes() -> None:
    ffdhe = _prime(bytes.fromhex("ADF85458A2BB4A9A"), 256)
    modp = _prime(bytes.fromhex("C90FDAA22168C234"), 384)
    hello, cert, done = (2, b"\x03\x03" + b"\x00" * 40), (11, b"\x00" * 30), (14, b"")
    assert _dhe_group(_flight(hello, cert, (12, _ske(ffdhe)), done)) == "ffdhe2048"
    assert _dhe_group(_flight(hello, cert, (12, _ske(modp)), done)) == "modp_3072"
    # a message split across records is joined first
    assert _dhe_group(_flight(hello, (12, _ske(ffdhe)), done, split=50)) == "ffdhe2048"


def test_other_primes_and_no_key_exchange() -> None:
    other = b"\xc3" * 256
    assert _dhe_group(_flight((12, _ske(other)))) == "unnamed-2048"
    assert _dhe_group(_flight((2, b"\x03\x03"), (14, b""))) is None
    assert _dhe_group(b"") is None
    # an alert record is not a handshake
    assert _dhe_group(b"\x15\x03\x03\x00\x02\x02\x28") is None
