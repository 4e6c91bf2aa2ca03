"""Every wolfSSL constant the adapter uses, checked against libwolfssl-dev's own headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backends.wolfssl import library as wolf
from conformance.fetch import fetch
from conformance.library import Unavailable


@pytest.fixture(scope="module")
def headers() -> str:
    try:
        got = fetch("wolfssl-headers")
    except Unavailable as err:
        pytest.skip(f"wolfSSL's headers cannot be fetched here: {err}")
    root = Path(got.lib_dir) / "wolfssl"
    return "\n".join(p.read_text(errors="replace") for p in sorted(root.rglob("*.h")))


def value_of(headers: str, name: str) -> int:
    """The value of `name`, as `#define NAME V` or an enum member `NAME = V`."""
    found = re.search(
        rf"(?:#define\s+{name}\s+|\b{name}\s*=\s*)\(?(-?(?:0x)?[0-9a-fA-F]+)", headers
    )
    assert found, f"{name} is not in wolfSSL's headers"
    return int(found.group(1), 0)


def test_option_bits(headers: str) -> None:
    spelled = {
        "no-query-mtu": "WOLFSSL_OP_NO_QUERY_MTU",
        "no-ticket": "WOLFSSL_OP_NO_TICKET",
        "no-compression": "WOLFSSL_OP_NO_COMPRESSION",
        "cipher-server-preference": "WOLFSSL_OP_CIPHER_SERVER_PREFERENCE",
        "no-tlsv1": "WOLFSSL_OP_NO_TLSv1",
        "no-tlsv1.1": "WOLFSSL_OP_NO_TLSv1_1",
        "no-tlsv1.2": "WOLFSSL_OP_NO_TLSv1_2",
        "no-tlsv1.3": "WOLFSSL_OP_NO_TLSv1_3",
    }
    for name, bits in wolf.OPTION_BITS.items():
        if bits is None:
            c_name = "SSL_OP_" + name.upper().replace("-", "_")
            assert not re.search(rf"\b{c_name}\b", headers), f"{c_name} is defined after all"
        else:
            assert value_of(headers, spelled[name]) == bits, name


def test_mode_verify_and_ctrl_numbers(headers: str) -> None:
    assert (
        value_of(headers, "SSL_MODE_ENABLE_PARTIAL_WRITE") == wolf.MODE_BITS["enable-partial-write"]
    )
    assert value_of(headers, "SSL_MODE_AUTO_RETRY") == wolf.MODE_BITS["auto-retry"]
    assert (
        value_of(headers, "WOLFSSL_MODE_ACCEPT_MOVING_WRITE_BUFFER")
        == wolf.MODE_BITS["accept-moving-write-buffer"]
    )
    macro = re.search(r"#define\s+SSL_MODE_RELEASE_BUFFERS\s+(0x[0-9a-fA-F]+)", headers)
    assert macro and int(macro.group(1), 16) == wolf.MODE_BITS["release-buffers"]
    assert value_of(headers, "SSL_CTRL_MODE") == wolf.SSL_CTRL_MODE
    assert (
        value_of(headers, "SSL_CTRL_GET_MIN_PROTO_VERSION") == wolf.SSL_CTRL_GET_MIN_PROTO_VERSION
    )
    assert (
        value_of(headers, "SSL_CTRL_GET_MAX_PROTO_VERSION") == wolf.SSL_CTRL_GET_MAX_PROTO_VERSION
    )
    assert value_of(headers, "NID_commonName") == wolf.NID_COMMON_NAME
    assert value_of(headers, "MBSTRING_ASC") == wolf.MBSTRING_ASC
    assert value_of(headers, "WOLF_CRYPTO_EX_INDEX_SSL") == wolf.CRYPTO_EX_INDEX_SSL
    for name, c_name in (
        ("peer", "WOLFSSL_VERIFY_PEER"),
        ("fail-if-no-peer-cert", "WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT"),
        ("client-once", "WOLFSSL_VERIFY_CLIENT_ONCE"),
        ("post-handshake", "WOLFSSL_VERIFY_POST_HANDSHAKE"),
    ):
        shift = re.search(rf"\b{c_name}\s*=\s*1\s*<<\s*(\d+)", headers)
        assert shift and 1 << int(shift.group(1)) == wolf.VERIFY_MODE_BITS[name], name


def test_mapped_names_are_the_headers_macros(headers: str) -> None:
    """Where openssl/ssl.h maps an OpenSSL name to a function, it is the one we call."""
    for openssl_name, symbol in wolf.FUNCTIONS.items():
        macro = re.search(rf"#define\s+{openssl_name}\b(?:\([^)]*\))?\s+(\w+)", headers)
        if symbol is None:
            assert macro is None, f"{openssl_name} is mapped in the headers to {macro.group(1)}"
        elif macro is not None:
            assert macro.group(1) == symbol, openssl_name
