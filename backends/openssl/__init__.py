"""The OpenSSL ABI family: OpenSSL 1.1.1 to 4.0 (and BoringSSL) through one adapter."""

from conformance.registry import Backend

BACKENDS = [
    Backend(
        name="openssl",
        family="OpenSSL",
        adapter="backends.openssl.library",
        summary="the system's libssl (or the one --lib / SSLCONFORM_LIB names)",
    ),
]
