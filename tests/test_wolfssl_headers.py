"""The binding table's wolfSSL family, checked against libwolfssl-dev's own headers
(5.5.4, 5.7.2 and 5.9.2).

Every flag value, ctrl number and constant conformance.binding.WOLFSSL gives is read
from the headers (as `#define NAME V` or an enum member `NAME = V`) under the name the
headers use (wolfSSL's own WOLFSSL_* spelling where it has one); a flag the family
does not define must be absent; each OpenSSL name the headers map to a function is
mapped to that function.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance import binding
from conformance.fetch import fetch
from conformance.library import Unavailable

# Each wolfSSL column's headers and the family of the binding table that speaks for them.
HEADERS = {
    "wolfssl-headers": binding.WOLFSSL,
    "wolfssl57-headers": binding.WOLFSSL57,
    "wolfssl59-headers": binding.WOLFSSL59,
}


@pytest.fixture(scope="module", params=sorted(HEADERS))
def source(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def family(source: str) -> binding.Family:
    return HEADERS[source]


@pytest.fixture(scope="module")
def headers(source: str) -> str:
    try:
        got = fetch(source)
    except Unavailable as err:
        pytest.skip(f"wolfSSL's headers cannot be fetched here: {err}")
    root = Path(got.lib_dir) / "wolfssl"
    return "\n".join(p.read_text(errors="replace") for p in sorted(root.rglob("*.h")))


def value_of(headers: str, name: str) -> int | None:
    """The value of `name`: a #define first (openssl/ssl.h's macros override ssl.h's
    enum where both exist), else an enum member, `1 << n` included."""
    number = r"\(?(-?(?:0x)?[0-9a-fA-F]+)"
    for pattern in (rf"#define\s+{name}\s+{number}", rf"\b{name}\s*=\s*{number}"):
        found = re.search(pattern + r"(?:\s*<<\s*(\d+))?", headers)
        if found:
            shift = int(found.group(2)) if found.group(2) else 0
            return int(found.group(1), 0) << shift
    return None


def spelled(headers: str, c_name: str, family: binding.Family) -> str:
    """The name wolfSSL's headers give an OpenSSL constant."""
    if c_name in family.header_names:
        return family.header_names[c_name]
    wolf = "WOLF" + c_name  # SSL_OP_NO_TICKET -> WOLFSSL_OP_NO_TICKET
    return wolf if re.search(rf"\b{wolf}\s*=|#define\s+{wolf}\s", headers) else c_name


@pytest.mark.parametrize("table", ["options", "modes", "verify-modes"])
def test_flag_values(headers: str, family: binding.Family, table: str) -> None:
    for flag in binding.FLAGS[table].flags:
        expected = family.flag_value(table, flag.name)
        if expected is None:
            assert not re.search(rf"\b{flag.c_name}\b", headers), f"{flag.c_name} is defined"
            continue
        name = spelled(headers, flag.c_name, family)
        assert value_of(headers, name) == expected, name


def test_ctrl_numbers_and_constants(headers: str, family: binding.Family) -> None:
    # Every command of the table: wolfSSL's number, or none where the family says so.
    for ctrl in binding.CTRLS:
        assert value_of(headers, ctrl) == family.ctrl_number(ctrl), ctrl
    for name in ("NID_commonName", "MBSTRING_ASC", "CRYPTO_EX_INDEX_SSL"):
        got = value_of(headers, spelled(headers, name, family))
        assert got == family.constant(name), name


def test_mapped_names_are_the_headers_macros(headers: str, family: binding.Family) -> None:
    """Where openssl/ssl.h maps an OpenSSL name to a function, it is the one we call."""
    for openssl_name, mapped in family.symbols.items():
        macro = re.search(rf"#define\s+{openssl_name}\b(?:\([^)]*\))?\s+(\w+)", headers)
        if mapped is None:
            assert macro is None, f"{openssl_name} is mapped in the headers to {macro.group(1)}"
        elif macro is not None:
            symbol = mapped.symbol if isinstance(mapped, binding.Sym) else mapped
            assert macro.group(1) == symbol, openssl_name
