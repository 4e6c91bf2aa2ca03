"""The OpenSSL family's handshake machinery, run over wolfSSL's compatibility calls.

backends.openssl.handshake does every handshake the binding table's `Observe` getters
need through OpenSSL's names; the wolfSSL family of the binding table maps them onto
wolfSSL's (wolfSSL_get_error, wolfSSL_CTX_use_certificate, wolfSSL_PEM_read_bio_X509,
...), so the same machinery serves, and a call a build does not export is `Absent` by
OpenSSL's name. What differs is how an object shows it has not started a handshake:
wolfSSL 5.5 has no SSL_in_before (5.7 and 5.9 map it to wolfSSL_SSL_in_before), and its
wolfSSL_get_state stays at TLS_ST_BEFORE after a ClientHello went out. Without it, the
adapter says which objects it started a handshake on (it is the only one that can).
And wolfSSL_sk_X509_free frees the certificates on the stack with it (OpenSSL's frees
only the stack), so a chain is made of certificates of its own, never the cached ones;
the peer's chain is added one certificate at a time (wolfSSL_CTX_add1_chain_cert: 5.9's
wolfSSL_CTX_ctrl crashes on SSL_CTRL_CHAIN with a stack of them).

Runs inside the worker; imports nothing that maps a library.
"""

from __future__ import annotations

from collections.abc import Callable
from ctypes import c_int, c_void_p
from typing import ClassVar

from backends.bound import Symbols
from backends.openssl.handshake import CHAIN, Handshakes, Seen
from conformance import binding as b
from conformance.library import Kind


class WolfHandshakes(Handshakes):
    # The machinery's server holds the RSA certificate only: with the Ed25519 one too,
    # 5.9's handshakes end in "ASN parsing error, invalid input" (5.5 cannot read it at
    # all); with the P-256 one, 5.7's end in "psk key callback error".
    SERVER_KEY_TYPES: ClassVar[tuple[str, ...]] = ("rsa-2048",)

    def __init__(
        self,
        symbols: Symbols,
        errors: Callable[[], list[str]],
        stack: Callable[[int | None, str], list[int]],
        started: Callable[[int], bool],
    ) -> None:
        super().__init__(symbols, errors, stack)
        self._started = started  # the adapter's record of the handshakes it started

    def needs(self, observe: b.Observe, kind: Kind) -> tuple[str, ...]:
        names = super().needs(observe, kind)
        if self._has("SSL_in_before"):
            return names
        return tuple(n for n in names if n != "SSL_in_before")

    def not_started(self, obj: int) -> bool:
        if self._has("SSL_in_before"):
            return super().not_started(obj)
        return not self._started(obj)

    def fixture_needs(self, kind: str, c_type: str, op: str) -> tuple[str, ...]:
        names = super().fixture_needs(kind, c_type, op)
        if self._has("SSL_in_before"):
            return names
        return tuple(n for n in names if n != "SSL_in_before")

    def _chain_stack(self, depth: int) -> int:
        """A stack that owns its certificates: freeing it frees them, not the cache's."""
        stack = int(self._fn("sk_X509_new_null", c_void_p)())
        push = self._fn("sk_X509_push", c_int, c_void_p, c_void_p)
        for name in CHAIN[:depth]:
            push(stack, self._pem("PEM_read_bio_X509", f"{name}.pem"))
        return stack

    def _peer_chain(self, ctx: int) -> None:
        add = self._fn("SSL_CTX_add1_chain_cert", c_int, c_void_p, c_void_p)
        for name in CHAIN:
            add(ctx, self.x509(name))  # add1: the context takes a reference of its own

    def _observe(self, obj: int, peer: int, seen: Seen) -> None:
        super()._observe(obj, peer, seen)
        if not seen.ok:
            # wolfSSL_get_session gives a blank session (timeout 0) before a handshake
            # finished; only a finished handshake's session shows what the object had.
            seen.timeout, seen.id_context = None, None
