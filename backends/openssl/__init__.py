"""The OpenSSL ABI family: OpenSSL 1.1.1 to 4.0 (and BoringSSL 10 and 14) through one adapter."""

from conformance.registry import Backend

ADAPTER = "backends.openssl.library"

BACKENDS = [
    Backend(
        name="openssl",
        family="OpenSSL",
        adapter=ADAPTER,
        summary="the system's libssl (or the one --lib / SSLCONFORM_LIB names)",
    ),
    Backend(
        name="openssl111",
        family="OpenSSL",
        adapter=ADAPTER,
        summary="OpenSSL 1.1.1 (Debian bullseye's libssl1.1)",
        fetch="openssl111",
    ),
    Backend(
        name="openssl35",
        family="OpenSSL",
        adapter=ADAPTER,
        summary="OpenSSL 3.5 (Debian trixie's libssl3t64), under trixie's glibc",
        fetch="openssl35",
    ),
    Backend(
        name="openssl36",
        family="OpenSSL",
        adapter=ADAPTER,
        summary="OpenSSL 3.6 (Debian sid's libssl3t64), under trixie's glibc",
        fetch="openssl36",
    ),
    Backend(
        name="openssl40",
        family="OpenSSL",
        adapter=ADAPTER,
        summary="OpenSSL 4.0 (Debian experimental's libssl4), under trixie's glibc",
        fetch="openssl40",
    ),
    Backend(
        name="boringssl",
        family="BoringSSL",
        adapter=ADAPTER,
        summary="BoringSSL as Android builds it (Debian trixie's android-libboringssl)",
        fetch="boringssl",
    ),
    Backend(
        name="boringssl10",
        family="BoringSSL",
        adapter=ADAPTER,
        summary="BoringSSL as Android 10 builds it (Debian bullseye's android-libboringssl)",
        fetch="boringssl10",
        options={"binding": "BoringSSL 10"},
    ),
]
