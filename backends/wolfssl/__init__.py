"""wolfSSL through its OpenSSL compatibility layer: 5.5 (libwolfssl.so.35), 5.7 and 5.9."""

from conformance.registry import Backend

ADAPTER = "backends.wolfssl.library"

BACKENDS = [
    Backend(
        name="wolfssl",
        family="wolfSSL",
        adapter=ADAPTER,
        summary="wolfSSL 5.5 (Debian bookworm's libwolfssl35), OpenSSL compatibility layer",
        fetch="wolfssl",
        options={"soname": "libwolfssl.so.35"},
    ),
    Backend(
        name="wolfssl57",
        family="wolfSSL",
        adapter=ADAPTER,
        summary="wolfSSL 5.7 (Debian trixie's libwolfssl42t64), under trixie's glibc",
        fetch="wolfssl57",
        options={"soname": "libwolfssl.so.42", "binding": "wolfSSL 5.7"},
    ),
    Backend(
        name="wolfssl59",
        family="wolfSSL",
        adapter=ADAPTER,
        summary="wolfSSL 5.9 (Debian sid's libwolfssl45), under trixie's glibc",
        fetch="wolfssl59",
        options={"soname": "libwolfssl.so.45", "binding": "wolfSSL 5.9"},
    ),
]
