"""The pyOpenSSL adapter against the installed pyOpenSSL (skipped when it is not installed)."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from tests.worker_probe import run_adapter

BODY = """
out["version"] = lib.version()
out["missing"] = {f: lib.missing(f) for f in ("ctx_new", "ssl_new", "ssl_dup", "ssl_up_ref",
                  "ssl_free", "ssl_get_ctx", "handshake", "free_events", "errors")}
ctx = lib.ctx_new("tls")
lib.set("ctx", ctx, "options", ["no-ticket", "no-tlsv1.1"])
lib.set("ctx", ctx, "verify-mode", ["peer", "fail-if-no-peer-cert"])
lib.set("ctx", ctx, "verify-depth", 6)
out["ctx_depth"] = lib.get("ctx", ctx, "verify-depth")
lib.set("ctx", ctx, "cipher-list", ["ECDHE-RSA-AES256-GCM-SHA384", "AES128-GCM-SHA256"])
lib.set("ctx", ctx, "client-ca-list", ["bravo", "alpha"])
attempt("unknown_mode", lib.set, "ctx", ctx, "mode", ["no-auto-chain"])
ssl = lib.ssl_new(ctx)
out["same_ctx"] = lib.ssl_get_ctx(ssl) == ctx
out["options"] = lib.get("ssl", ssl, "options")
out["verify_mode"] = lib.get("ssl", ssl, "verify-mode")
out["ciphers"] = lib.get("ssl", ssl, "cipher-list")
lib.set("ssl", ssl, "accept-connect-state", "accept")
out["client_ca"] = lib.get("ssl", ssl, "client-ca-list")
attempt("used_ctx", lib.set, "ctx", ctx, "options", ["no-tlsv1"])
attempt("dup", lib.ssl_dup, ssl)
attempt("up_ref", lib.ssl_up_ref, ssl)
attempt("null", lib.ssl_new, None)
attempt("freed", lib.freed)
client = lib.ssl_new(lib.ctx_new("tls-client"))
out["started"] = lib.start_handshake(client)
attempt("bad_ciphers", lib.set, "ctx", lib.ctx_new("tls"), "cipher-list", ["NO-SUCH-SUITE"])
out["errors"] = lib.errors()
"""


@pytest.fixture(scope="module")
def seen() -> dict[str, Any]:
    if importlib.util.find_spec("OpenSSL") is None:
        pytest.skip("pyOpenSSL is not installed (pip install pyOpenSSL)")
    return run_adapter("backends.pyopenssl.library", None, BODY)


def test_version_names_pyopenssl_and_its_openssl(seen: dict[str, Any]) -> None:
    assert seen["version"].startswith("pyOpenSSL ")
    assert " on OpenSSL " in seen["version"]


def test_features(seen: dict[str, Any]) -> None:
    assert seen["missing"]["ssl_dup"] == ["SSL_dup"]
    assert seen["missing"]["ssl_up_ref"] == ["SSL_up_ref"]
    assert seen["missing"]["free_events"] == ["SSL_get_ex_new_index"]
    for feature in ("ctx_new", "ssl_new", "ssl_free", "ssl_get_ctx", "handshake", "errors"):
        assert seen["missing"][feature] == [], feature
    assert seen["dup"] == {"absent": ["SSL_dup"]}
    assert seen["up_ref"] == {"absent": ["SSL_up_ref"]}
    assert seen["freed"] == {"absent": ["SSL_get_ex_new_index"]}
    assert "absent" in seen["null"]
    assert seen["started"]


def test_context_settings_reach_the_connection(seen: dict[str, Any]) -> None:
    assert seen["same_ctx"]
    assert {"no-ticket", "no-tlsv1.1"} <= set(seen["options"])
    assert seen["verify_mode"] == ["fail-if-no-peer-cert", "peer"]
    assert seen["ctx_depth"] == 6
    assert seen["ciphers"] == ["ECDHE-RSA-AES256-GCM-SHA384", "AES128-GCM-SHA256"]
    assert seen["client_ca"] == ["bravo", "alpha"]


def test_what_pyopenssl_cannot_say(seen: dict[str, Any]) -> None:
    # pyOpenSSL refuses to change a Context once it made a Connection.
    assert "made a Connection" in seen["used_ctx"]["absent"][0]
    assert "SSL_MODE_NO_AUTO_CHAIN" in seen["unknown_mode"]["unobservable"]
    assert "unobservable" in seen["bad_ciphers"]
    assert any("no cipher match" in e for e in seen["errors"])
