"""The binding table (conformance.binding) and its ctypes interpreter (backends.bound).

A setting the tables do not have yet is added here in test-local copies of the
settings table and the binding table, one entry each, and shown flowing through the
OpenSSL adapter on the system's libssl: set on a context, inherited by SSL_new, read
back, and set and read on the SSL itself. Two are added: SSL_{,CTX_}set_max_early_data
(real functions) and SSL_{,CTX_}set_tlsext_status_type (macros over SSL_ctrl, whose
command numbers the local family carries). Nothing else is written for them.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import MappingProxyType

import pytest

from backends.bound import Tables
from backends.openssl.library import OpenSSL, load
from conformance import binding
from conformance.library import Unavailable
from conformance.settings import BY_NAME, SETTINGS, IntRange, OneOf, Setting

ROOT = Path(__file__).resolve().parent.parent

# --- the test-local tables ----------------------------------------------------------

MAX_EARLY_DATA = Setting(
    "max-early-data",
    "SSL_set_max_early_data / SSL_get_max_early_data (and SSL_CTX_*)",
    IntRange(0, 1 << 20),
    on_ctx=True,
)
STATUS_TYPE = Setting(
    "tlsext-status-type",
    "SSL_set_tlsext_status_type / SSL_get_tlsext_status_type (SSL_ctrl 65 / 127)",
    OneOf((1,)),  # TLSEXT_STATUSTYPE_ocsp
    on_ctx=True,
)
LOCAL_SETTINGS = MappingProxyType({**BY_NAME, **{s.name: s for s in (MAX_EARLY_DATA, STATUS_TYPE)}})

LOCAL_ENTRIES = MappingProxyType(
    {
        **binding.BY_SETTING,
        "max-early-data": binding.Entry(
            "max-early-data",
            binding.Integer("uint32_t"),
            binding.Call(
                "{p}set_max_early_data",
                (binding.VALUE,),
                ("uint32_t",),
                "int",
                fails="zero",
                what="max early data",
            ),
            binding.Call("{p}get_max_early_data", returns="uint32_t"),
            probe=12345,
        ),
        "tlsext-status-type": binding.Entry(
            "tlsext-status-type",
            binding.Integer("int"),
            binding.Call(
                "{p}set_tlsext_status_type",
                (binding.VALUE,),
                ("int",),
                "long",
                ctrl="SSL_CTRL_SET_TLSEXT_STATUS_REQ_TYPE",
                larg=binding.VALUE,
            ),
            binding.Call(
                "{p}get_tlsext_status_type",
                returns="long",
                ctrl="SSL_CTRL_GET_TLSEXT_STATUS_REQ_TYPE",
            ),
        ),
    }
)
# OpenSSL's numbers of the two new commands (ssl.h of 1.1.1 to 4.0).
LOCAL_OPENSSL = dataclasses.replace(
    binding.OPENSSL,
    ctrls={
        **binding.OPENSSL.ctrls,
        "SSL_CTRL_SET_TLSEXT_STATUS_REQ_TYPE": 65,
        "SSL_CTRL_GET_TLSEXT_STATUS_REQ_TYPE": 127,
    },
)
LOCAL_TABLES = Tables(
    entries=LOCAL_ENTRIES,
    settings=LOCAL_SETTINGS,
    families=MappingProxyType({**binding.FAMILIES, "OpenSSL": LOCAL_OPENSSL}),
)


@pytest.fixture(scope="module")
def system_openssl() -> OpenSSL:
    try:
        return load(None, {}, LOCAL_TABLES)
    except Unavailable as err:
        pytest.skip(f"no system libssl.so.3: {err}")


@pytest.mark.parametrize(
    ("setting", "value"), [("max-early-data", 4321), ("tlsext-status-type", 1)]
)
def test_a_local_setting_flows_through_the_ctypes_adapter(
    system_openssl: OpenSSL, setting: str, value: int
) -> None:
    lib = system_openssl
    assert lib.missing(f"set:ctx:{setting}") == []
    assert lib.missing(f"get:ssl:{setting}") == []
    ctx, fresh = lib.ctx_new("tls"), lib.ctx_new("tls")
    assert ctx and fresh
    before = lib.get("ctx", ctx, setting)
    assert before != value  # the library's default is not what is set, so setting shows
    lib.set("ctx", ctx, setting, value)
    assert lib.get("ctx", ctx, setting) == value
    ssl, other = lib.ssl_new(ctx), lib.ssl_new(fresh)
    assert ssl and other
    assert lib.get("ssl", ssl, setting) == value  # SSL_new took it from its context
    assert lib.get("ssl", other, setting) == before
    lib.set("ssl", other, setting, value)
    assert lib.get("ssl", other, setting) == value
    lib.ssl_free(ssl)
    lib.ssl_free(other)
    lib.ctx_free(ctx)
    lib.ctx_free(fresh)


def test_the_local_setting_takes_part_in_the_load_time_round_trip(system_openssl: OpenSSL) -> None:
    # probe=12345 was set and read back when the adapter was loaded: nothing found.
    assert ("ctx", "max-early-data") not in system_openssl.settings.unobservable
    assert ("ssl", "max-early-data") not in system_openssl.settings.unobservable


def test_a_setting_missing_from_the_tables_is_not_guessed(system_openssl: OpenSSL) -> None:
    with pytest.raises(NotImplementedError):
        system_openssl.missing("set:ctx:no-such-setting")


# --- the table itself ---------------------------------------------------------------


def test_every_setting_has_one_entry() -> None:
    assert len(binding.ENTRIES) == len(binding.BY_SETTING)
    assert set(binding.BY_SETTING) == {s.name for s in SETTINGS}


def test_flag_names_are_openssl_macros_and_unique() -> None:
    seen: set[str] = set()
    for table in binding.FLAGS.values():
        for flag in table.flags:
            assert flag.c_name not in seen, flag.c_name
            seen.add(flag.c_name)
            assert re.fullmatch(r"[A-Z0-9_]+(?:v1(?:_\d)?)?", flag.c_name), flag.c_name


def test_every_family_value_names_a_flag_of_the_table() -> None:
    for family in binding.FAMILIES.values():
        for table, name in family.flags:
            binding.FLAGS[table].flag(name)  # KeyError for a flag the table lacks
        for ctrl in family.ctrls:
            assert ctrl in binding.CTRLS, (family.name, ctrl)


def test_ctrl_calls_name_known_commands() -> None:
    for entry in binding.ENTRIES:
        for part in (entry.set, entry.get, entry.ctx_set, entry.ctx_get):
            calls = part if isinstance(part, tuple) else (part,)
            if isinstance(part, binding.Either):
                calls = part.calls
            for call in calls:
                if isinstance(call, binding.Call) and call.ctrl:
                    assert call.ctrl in binding.CTRLS, (entry.setting, call.ctrl)


def test_the_binding_is_pure_data() -> None:
    """Imported by the worker: no hypothesis, no ctypes, no libcrypto."""
    source = (ROOT / "conformance" / "binding.py").read_text()
    imports = re.findall(r"^(?:from|import) (\S+)", source, re.M)
    assert set(imports) <= {
        "__future__",
        "collections.abc",
        "dataclasses",
        "types",
        "typing",
        "conformance.library",
    }


# Files of the ctypes adapters: they must take every setting and flag from the tables.
C_ADAPTERS = (
    "backends/native.py",
    "backends/bound.py",
    "backends/openssl/library.py",
    "backends/openssl/handshake.py",
    "backends/wolfssl/library.py",
    "backends/gnutls/library.py",
)


@pytest.mark.parametrize("path", C_ADAPTERS)
def test_ctypes_adapters_name_no_setting_and_no_flag(path: str) -> None:
    # A flag table's name ("options") may be a setting's too: it names the word of bits;
    # so may a byte encoding's ("alpn": ALPN's wire format).
    text = re.sub(
        r"flag_values?\(\s*\"[\w-]+\"|encoding == \"[\w-]+\"", "", (ROOT / path).read_text()
    )
    for setting in SETTINGS:
        assert f'"{setting.name}"' not in text, setting.name
    for table in binding.FLAGS.values():
        for flag in table.flags:
            if flag.c_name[0].isalpha():
                assert not re.search(rf"\b{flag.c_name}\b", text), flag.c_name
    assert not re.search(r"getattr\(self, [\"']_[sg]et_", text)


def test_c_form_follows_each_family() -> None:
    get_min = binding.BY_SETTING["min-proto-version"].get
    assert isinstance(get_min, binding.Call)
    assert binding.c_form(get_min, "ssl") == binding.CForm("SSL_get_min_proto_version")
    # wolfSSL has no such macro: its own ctrl function, with its own command number.
    assert binding.c_form(get_min, "ssl", binding.WOLFSSL) == binding.CForm("wolfSSL_ctrl", 125)
    assert binding.c_form(get_min, "ctx", binding.WOLFSSL) == binding.CForm(
        "wolfSSL_CTX_get_min_proto_version"
    )
    set_max_cert = binding.BY_SETTING["max-cert-list"].set
    assert isinstance(set_max_cert, binding.Call)
    assert binding.c_form(set_max_cert, "ssl", binding.WOLFSSL) is None
    assert binding.c_form(set_max_cert, "ssl", binding.GNUTLS) is None


# --- the backend READMEs say what the table says ------------------------------------

READMES = {
    "backends/openssl/README.md": ("OpenSSL", "BoringSSL", "BoringSSL 10"),
    "backends/awslc/README.md": ("AWS-LC",),
    "backends/wolfssl/README.md": ("wolfSSL", "wolfSSL 5.7", "wolfSSL 5.9"),
    "backends/gnutls/README.md": ("GnuTLS",),
}


@pytest.mark.parametrize("path", sorted(READMES))
def test_backend_readme_lists_what_the_table_says_differs(path: str) -> None:
    text = (ROOT / path).read_text()
    begin, end = text.find(binding.README_BEGIN), text.find(binding.README_END)
    assert 0 <= begin < end, f"{path} has no generated section"
    section = text[begin : end + len(binding.README_END)]
    assert section == binding.readme_section(READMES[path]), (
        f"{path} is out of date: python -m tests.test_binding rewrites its section"
    )


def test_defaults_are_what_a_fresh_object_of_the_system_openssl_shows(
    system_openssl: OpenSSL,
) -> None:
    lib = system_openssl
    ctx = lib.ctx_new("tls")
    assert ctx
    ssl = lib.ssl_new(ctx)
    assert ssl
    given = [e for e in binding.ENTRIES if e.default is not None]
    assert given
    for entry in given:
        default = entry.default
        if isinstance(entry.value, binding.Fields):
            # An optional field whose getter this libssl lacks is not shown (its rules
            # are absent here); every field it can read shows the default.
            lacking = {
                f.name
                for f in entry.value.fields
                if f.optional and not lib.settings.symbols.has(f.get.name)
            }
            default = {k: v for k, v in default.items() if k not in lacking}
        assert lib.get("ctx", ctx, entry.setting) == default, entry.setting
        assert lib.get("ssl", ssl, entry.setting) == default, entry.setting
    lib.ssl_free(ssl)
    lib.ctx_free(ctx)


def regenerate_readmes() -> None:
    """Rewrite the generated section of each backend README from the table."""
    for path, families in READMES.items():
        file = ROOT / path
        text = file.read_text()
        begin, end = text.find(binding.README_BEGIN), text.find(binding.README_END)
        assert 0 <= begin < end, f"{path} has no generated section"
        section = binding.readme_section(families)
        file.write_text(text[:begin] + section + text[end + len(binding.README_END) :])


if __name__ == "__main__":
    regenerate_readmes()
