"""GnuTLS's OpenSSL compatibility layer (libgnutls-openssl.so.27)."""

from conformance.registry import Backend

BACKENDS = [
    Backend(
        name="gnutls",
        family="GnuTLS",
        adapter="backends.gnutls.library",
        summary="GnuTLS's OpenSSL compatibility layer (libgnutls-openssl27)",
        fetch="gnutls",
    ),
]
