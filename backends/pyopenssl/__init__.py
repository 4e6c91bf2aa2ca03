"""pyOpenSSL's public API (OpenSSL.SSL.Context and Connection) held to the page."""

from conformance.registry import Backend

BACKENDS = [
    Backend(
        name="pyopenssl",
        family="pyOpenSSL",
        adapter="backends.pyopenssl.library",
        summary="pyOpenSSL's Context and Connection on cryptography's bundled OpenSSL",
    ),
]
