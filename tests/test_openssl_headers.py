"""The binding table's OpenSSL and BoringSSL values, checked against each library's headers.

libssl-dev of bullseye (1.1.1), trixie (3.5), sid (3.6) and experimental (4.0),
android-libboringssl-dev (BoringSSL 14.0.0 and 10.0.0) and AWS-LC's crate source:
fetched, never installed. Every flag, ctrl
number and constant the table (conformance.binding) gives a family is read from the
headers by its C name and compared; a flag a family does not define must be absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance import binding
from conformance.fetch import fetch
from conformance.library import Kind, Unavailable


def headers_of(name: str) -> str:
    try:
        got = fetch(name)
    except Unavailable as err:
        pytest.skip(f"{name} cannot be fetched here: {err}")
    root = Path(got.lib_dir) / "openssl"
    return "\n".join(p.read_text(errors="replace") for p in sorted(root.glob("*.h")))


def value(headers: str, name: str, seen: tuple[str, ...] = ()) -> int | None:
    """The value of a #define: numbers, SSL_OP_BIT(n), one name for another, and an
    OR of those in parentheses."""
    found = re.search(rf"^#\s*define\s+{name}\s+(.+?)\s*(?:/[/*].*)?$", headers, re.M)
    if not found:
        return None
    return _evaluate(headers, found.group(1).strip(), (*seen, name))


def _evaluate(headers: str, text: str, seen: tuple[str, ...]) -> int:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    bit = re.fullmatch(r"SSL_OP_BIT\((\d+)\)", text)
    if bit:
        return 1 << int(bit.group(1))
    number = re.fullmatch(r"(0x[0-9a-fA-F]+|\d+)[UL]*", text)
    if number:
        return int(number.group(1), 0)
    if "|" in text:
        total = 0
        for part in text.split("|"):
            total |= _evaluate(headers, part, seen)
        return total
    shift = re.fullmatch(r"(\w+)\s*<<\s*(\w+)", text)
    if shift:
        return _evaluate(headers, shift.group(1), seen) << _evaluate(headers, shift.group(2), seen)
    if re.fullmatch(r"\w+", text) and text not in seen:
        got = value(headers, text, seen)
        if got is not None:
            return got
    raise AssertionError(f"cannot read {seen[-1]} = {text}")


def check_family(h: str, family: binding.Family) -> None:
    for table in binding.FLAGS.values():
        for flag in table.flags:
            if not re.fullmatch(r"[A-Z]\w+", flag.c_name):
                continue  # a number written as such ("0")
            assert value(h, flag.c_name) == family.flag_value(table.name, flag.name), (
                f"{family.name}: {flag.c_name}"
            )
    for name in binding.CONSTANTS:
        got = value(h, name)
        # BoringSSL lacks some of these macros (it has no custom extensions); the calls
        # that would use them are missing there too.
        if got is not None or family is binding.OPENSSL:
            assert got == family.constant(name), f"{family.name}: {name}"


@pytest.mark.parametrize(
    "package", ["openssl111-headers", "openssl35-headers", "openssl36-headers", "openssl40-headers"]
)
def test_openssl_values(package: str) -> None:
    h = headers_of(package)
    check_family(h, binding.OPENSSL)
    for ctrl, number in binding.CTRLS.items():
        assert value(h, ctrl) == binding.OPENSSL.ctrl_number(ctrl) == number, ctrl


def test_openssl_macros_are_the_ctrls_the_table_names() -> None:
    """Each setter or getter the table spells as a ctrl macro expands to that ctrl."""
    h = headers_of("openssl35-headers")
    for call in _calls():
        if call.ctrl is None:
            continue
        kinds: tuple[Kind, ...] = ("ssl", "ctx")
        for kind in kinds:
            name = call.spelled(kind)
            macro = re.search(rf"^#\s*define\s+{name}\(.*\\?\n?.*", h, re.M)
            if macro is None:
                continue  # a function here (SSL_set_read_ahead), not a macro
            text = h[macro.start() : macro.start() + 300]
            assert call.ctrl in text.split(";")[0] or call.ctrl in text, name


def _calls() -> list[binding.Call]:
    out: list[binding.Call] = []
    for entry in binding.ENTRIES:
        for part in (entry.set, entry.get, entry.ctx_set, entry.ctx_get):
            if isinstance(part, binding.Call):
                out.append(part)
            elif isinstance(part, tuple):
                out.extend(part)
            elif isinstance(part, binding.Either):
                out.extend(part.calls)
    return out


# BoringSSL's versions and its fork AWS-LC: the headers and the family that speaks for them.
BORING_HEADERS = {
    "boringssl-headers": binding.BORINGSSL,
    "boringssl10-headers": binding.BORINGSSL10,
    "awslc-headers": binding.AWSLC,
}
# Functions of the family's prototypes that a version does not declare at all (and does
# not export: such a call is Absent there).
UNDECLARED = {
    "boringssl10-headers": {
        f"{p}get_{b}_proto_version" for p in ("SSL_", "SSL_CTX_") for b in ("min", "max")
    },
}


@pytest.mark.parametrize("package", sorted(BORING_HEADERS))
def test_boringssl_values(package: str) -> None:
    family = BORING_HEADERS[package]
    h = headers_of(package)
    check_family(h, family)
    # Functions where OpenSSL has ctrl macros: no SSL_ctrl at all.
    assert not re.search(r"\bSSL_ctrl\s*\(", h)
    # The prototypes the family gives its functions are the header's.
    for sym in family.symbols.values():
        if not isinstance(sym, binding.Sym) or sym.returns is None or "sk_" in sym.symbol:
            continue
        declared = re.search(rf"OPENSSL_EXPORT\s+([\w ]+?\**)\s*\b{sym.symbol}\(([^)]*)\)", h)
        if sym.symbol in UNDECLARED.get(package, ()):
            assert not declared, f"{sym.symbol} is declared"
            continue
        assert declared, f"{sym.symbol} is not declared"
        returns = declared.group(1).replace("const ", "").strip()
        assert returns == sym.returns, f"{sym.symbol} returns {returns}"
        if sym.params:
            params = [p.strip().rsplit(" ", 1)[0] for p in declared.group(2).split(",")][1:]
            assert params == list(sym.params), f"{sym.symbol} takes {params}"
