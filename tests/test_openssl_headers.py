"""The OpenSSL-family adapter's constants, checked against each library's own headers.

libssl-dev of bullseye (1.1.1), trixie (3.5), sid (3.6) and experimental (4.0), and
android-libboringssl-dev (BoringSSL): fetched, never installed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backends.openssl import library as adapter
from conformance.fetch import fetch
from conformance.library import Unavailable
from conformance.settings import MODE_NAMES, OPTION_NAMES, VERIFY_MODE_NAMES


def headers_of(name: str) -> str:
    try:
        got = fetch(name)
    except Unavailable as err:
        pytest.skip(f"{name} cannot be fetched here: {err}")
    root = Path(got.lib_dir) / "openssl"
    return "\n".join(p.read_text(errors="replace") for p in sorted(root.glob("*.h")))


def value(headers: str, name: str, seen: tuple[str, ...] = ()) -> int | None:
    """The value of a #define, following SSL_OP_BIT(n) and one name to another."""
    found = re.search(rf"^#\s*define\s+{name}\s+(.+?)\s*(?:/[/*].*)?$", headers, re.M)
    if not found:
        return None
    text = found.group(1).strip()
    bit = re.fullmatch(r"SSL_OP_BIT\((\d+)\)", text)
    if bit:
        return 1 << int(bit.group(1))
    number = re.fullmatch(r"\(?(0x[0-9a-fA-F]+|\d+)[UL]*\)?", text)
    if number:
        return int(number.group(1), 0)
    if re.fullmatch(r"\w+", text) and text not in seen:
        return value(headers, text, (*seen, name))
    raise AssertionError(f"cannot read {name} = {text}")


def c_name(name: str) -> str:
    return adapter.FLAG_C_NAMES[name]


@pytest.mark.parametrize(
    "package", ["openssl111-headers", "openssl35-headers", "openssl36-headers", "openssl40-headers"]
)
def test_openssl_constants(package: str) -> None:
    h = headers_of(package)
    for name in OPTION_NAMES:
        assert value(h, c_name(name)) == adapter.OPENSSL_OPTION_MASKS[name], name
    for name in MODE_NAMES:
        assert value(h, c_name(name)) == adapter.OPENSSL_MODE_MASKS[name], name
    for name in VERIFY_MODE_NAMES:
        assert value(h, c_name(name)) == adapter.OPENSSL_VERIFY_MODE_MASKS[name], name
    ctrls = {
        "SSL_CTRL_MODE": adapter.CTRL_MODE,
        "SSL_CTRL_GET_READ_AHEAD": adapter.CTRL_GET_READ_AHEAD,
        "SSL_CTRL_SET_READ_AHEAD": adapter.CTRL_SET_READ_AHEAD,
        "SSL_CTRL_GET_MAX_CERT_LIST": adapter.CTRL_GET_MAX_CERT_LIST,
        "SSL_CTRL_SET_MAX_CERT_LIST": adapter.CTRL_SET_MAX_CERT_LIST,
        "SSL_CTRL_SET_MIN_PROTO_VERSION": adapter.CTRL_SET_MIN_PROTO,
        "SSL_CTRL_SET_MAX_PROTO_VERSION": adapter.CTRL_SET_MAX_PROTO,
        "SSL_CTRL_GET_MIN_PROTO_VERSION": adapter.CTRL_GET_MIN_PROTO,
        "SSL_CTRL_GET_MAX_PROTO_VERSION": adapter.CTRL_GET_MAX_PROTO,
        "CRYPTO_EX_INDEX_SSL": adapter.CRYPTO_EX_INDEX_SSL,
        "NID_commonName": adapter.NID_COMMON_NAME,
    }
    for macro, number in ctrls.items():
        assert value(h, macro) == number, macro


def test_boringssl_constants() -> None:
    h = headers_of("boringssl-headers")
    for table, names in (
        (adapter.BORINGSSL_OPTION_MASKS, OPTION_NAMES),
        (adapter.BORINGSSL_MODE_MASKS, MODE_NAMES),
        (adapter.BORINGSSL_VERIFY_MODE_MASKS, VERIFY_MODE_NAMES),
    ):
        for name in names:
            assert value(h, c_name(name)) == table[name], name
    assert value(h, "NID_commonName") == adapter.NID_COMMON_NAME
    # Functions where OpenSSL has ctrl macros: no SSL_ctrl at all.
    assert not re.search(r"\bSSL_ctrl\s*\(", h)
