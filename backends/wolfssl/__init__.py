"""wolfSSL through its OpenSSL compatibility layer (libwolfssl.so.35)."""

from conformance.registry import Backend

BACKENDS = [
    Backend(
        name="wolfssl",
        family="wolfSSL",
        adapter="backends.wolfssl.library",
        summary="wolfSSL 5.5 (Debian bookworm's libwolfssl35), OpenSSL compatibility layer",
        fetch="wolfssl",
    ),
]
