"""GnuTLS's OpenSSL layer against the real libgnutls-openssl.so.27 (skipped when not had)."""

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
attempt("tls", lib.ctx_new, "tls")
ctx = lib.ctx_new("tls-client")
out["ctx"] = bool(ctx)
lib.set("ctx", ctx, "options", ["no-tlsv1"])
lib.set("ctx", ctx, "mode", ["auto-retry"])
attempt("unknown_option", lib.set, "ctx", ctx, "options", ["no-ticket"])
attempt("ssl_options", lib.set, "ssl", ctx, "options", ["no-tlsv1"])
ssl = lib.ssl_new(ctx)
out["ssl"] = bool(ssl)
attempt("get_options", lib.get, "ssl", ssl, "options")
attempt("dup", lib.ssl_dup, ssl)
attempt("get_ctx", lib.ssl_get_ctx, ssl)
attempt("handshake", lib.start_handshake, ssl)
lib.ssl_free(ssl)
attempt("freed", lib.freed)
out["errors"] = lib.errors()
"""


@pytest.fixture(scope="module")
def seen() -> dict[str, Any]:
    try:
        fetched = fetch("gnutls")
    except Unavailable as err:
        pytest.skip(f"GnuTLS's OpenSSL layer cannot be had here: {err}")
    return run_adapter("backends.gnutls.library", fetched, BODY)


def test_version_comes_from_gnutls(seen: dict[str, Any]) -> None:
    assert seen["version"].startswith("GnuTLS 3.")


def test_no_openssl_is_mapped(seen: dict[str, Any]) -> None:
    assert not [m for m in seen["maps"] if "libssl" in m or "libcrypto" in m]


def test_what_the_layer_has(seen: dict[str, Any]) -> None:
    assert seen["ctx"] and seen["ssl"]
    assert seen["missing"]["ssl_new"] == [] and seen["missing"]["ssl_free"] == []
    assert seen["missing"]["ctx_new"] == []
    assert "TLS_method" in seen["tls"]["unobservable"]


def test_what_the_layer_lacks(seen: dict[str, Any]) -> None:
    assert seen["dup"] == {"absent": ["SSL_dup"]}
    assert seen["get_ctx"] == {"absent": ["SSL_get_SSL_CTX"]}
    assert seen["get_options"] == {"absent": ["SSL_get_options"]}
    assert seen["ssl_options"] == {"absent": ["SSL_set_options"]}
    assert "SSL_OP_NO_TICKET" in seen["unknown_option"]["unobservable"]
    assert "BIO_new_bio_pair" in seen["handshake"]["absent"]
    assert seen["freed"] == {"absent": ["CRYPTO_get_ex_new_index"]}
