"""The wolfSSL adapter against the real libwolfssl.so.35 (skipped when it cannot be fetched)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.fetch import fetch
from conformance.library import Unavailable
from tests.worker_probe import run_adapter

BODY = """
out["version"] = lib.version()
out["missing"] = {f: lib.missing(f) for f in ("ctx_new", "ssl_new", "ssl_dup", "ssl_up_ref",
                  "ssl_free", "ssl_get_ctx", "handshake", "free_events", "errors")}
ctx = lib.ctx_new("tls")
lib.set("ctx", ctx, "options", ["no-ticket", "no-tlsv1.3"])
lib.set("ctx", ctx, "verify-depth", 5)
lib.set("ctx", ctx, "verify-callback", "cb-b")
lib.set("ctx", ctx, "client-ca-list", ["charlie", "alpha"])
ssl = lib.ssl_new(ctx)
out["same_ctx"] = lib.ssl_get_ctx(ssl) == ctx
out["options"] = lib.get("ssl", ssl, "options")
out["depth"] = lib.get("ssl", ssl, "verify-depth")
out["verify_cb"] = lib.get("ssl", ssl, "verify-callback")
lib.set("ssl", ssl, "verify-mode", ["peer", "post-handshake"])
out["verify_mode"] = lib.get("ssl", ssl, "verify-mode")
out["verify_cb_after_mode"] = lib.get("ssl", ssl, "verify-callback")
lib.set("ssl", ssl, "accept-connect-state", "accept")
out["client_ca"] = lib.get("ssl", ssl, "client-ca-list")
out["server"] = lib.get("ssl", ssl, "accept-connect-state")
lib.set("ssl", ssl, "ex-data", 4242)
out["ex_data"] = lib.get("ssl", ssl, "ex-data")
lib.set("ssl", ssl, "read-ahead", 1)
out["read_ahead"] = lib.get("ssl", ssl, "read-ahead")
lib.set("ssl", ssl, "cipher-list", ["ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256"])
out["ciphers"] = lib.get("ssl", ssl, "cipher-list")
attempt("unknown_option", lib.set, "ssl", ssl, "options", ["prioritize-chacha"])
attempt("mode", lib.get, "ssl", ssl, "mode")
attempt("dup", lib.ssl_dup, ssl)
attempt("up_ref", lib.ssl_up_ref, ssl)
attempt("ca_list", lib.get, "ssl", ssl, "ca-list")
client = lib.ssl_new(ctx)
lib.set("ssl", client, "msg-callback", "cb-a")
out["msg"] = lib.get("ssl", client, "msg-callback")
lib.ssl_free(ssl)
lib.ssl_free(client)
attempt("freed", lib.freed)
out["errors"] = lib.errors()
"""


@pytest.fixture(scope="module")
def seen() -> dict[str, Any]:
    try:
        fetched = fetch("wolfssl")
    except Unavailable as err:
        pytest.skip(f"wolfSSL cannot be fetched here: {err}")
    return run_adapter("backends.wolfssl.library", fetched, BODY)


def test_version_comes_from_the_library(seen: dict[str, Any]) -> None:
    assert seen["version"].startswith("wolfSSL 5.5.")


def test_only_wolfssl_is_mapped(seen: dict[str, Any]) -> None:
    assert [m.rsplit("/", 1)[-1].startswith("libwolfssl.so.35") for m in seen["maps"]] == [True]


def test_missing_functions(seen: dict[str, Any]) -> None:
    assert seen["missing"]["ssl_dup"] == ["SSL_dup"]
    assert seen["missing"]["ssl_up_ref"] == ["SSL_up_ref"]
    for feature in ("ctx_new", "ssl_new", "ssl_free", "ssl_get_ctx", "handshake", "errors"):
        assert seen["missing"][feature] == [], feature
    assert seen["dup"] == {"absent": ["SSL_dup"]}
    assert seen["up_ref"] == {"absent": ["SSL_up_ref"]}
    assert seen["ca_list"] == {"absent": ["SSL_get0_CA_list"]}


def test_settings_round_trip_and_inherit(seen: dict[str, Any]) -> None:
    assert seen["same_ctx"]
    assert seen["options"] == ["no-ticket", "no-tlsv1.3"]
    assert seen["depth"] == 5
    assert seen["verify_cb"] == "cb-b"
    assert seen["verify_mode"] == ["peer", "post-handshake"]
    assert seen["verify_cb_after_mode"] == "cb-b"
    assert seen["client_ca"] == ["charlie", "alpha"]
    assert seen["server"] == "accept"
    assert seen["ex_data"] == 4242
    assert seen["read_ahead"] == 1
    assert seen["ciphers"] == ["ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256"]
    assert seen["msg"] == "cb-a"


def test_what_wolfssl_cannot_show(seen: dict[str, Any]) -> None:
    assert "SSL_OP_PRIORITIZE_CHACHA" in seen["unknown_option"]["unobservable"]
    assert "unobservable" in seen["mode"]
    # wolfSSL_free does not run ex_data free callbacks: frees cannot be watched.
    assert "free callback" in seen["freed"]["unobservable"]
    assert seen["missing"]["free_events"] == ["an ex_data free callback that wolfSSL_free calls"]
