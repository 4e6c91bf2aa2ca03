"""The pyOpenSSL adapter against the installed pyOpenSSL (skipped when it is not installed)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

from conformance import fixtures
from conformance.settings import SETTINGS
from tests.worker_probe import run_adapter

FEATURES = (
    "ctx_new",
    "ssl_new",
    "ssl_dup",
    "ssl_up_ref",
    "ssl_free",
    "ssl_get_ctx",
    "handshake",
    "free_events",
    "errors",
    "threads",
    "alloc_failures",
)

BODY = f"""
from OpenSSL._util import ffi
def pointer(cdata):
    return int(ffi.cast("uintptr_t", cdata))
out["version"] = lib.version()
out["missing"] = {{f: lib.missing(f) for f in {FEATURES!r}}}
unknown = []
for name in {[s.name for s in SETTINGS]!r}:
    for feature in (f"{{op}}:{{kind}}:{{name}}" for op in ("set", "get")
                    for kind in ("ctx", "ssl")):
        try:
            lib.missing(feature)
        except NotImplementedError:
            unknown.append(feature)
out["unknown"] = unknown
ctx = lib.ctx_new("tls")
out["ctx_is_pointer"] = ctx == pointer(lib.objects[ctx]._context)
out["fresh_timeout"] = lib.get("ctx", ctx, "timeout")
lib.set("ctx", ctx, "options", ["no-ticket", "no-tlsv1.1"])
lib.set("ctx", ctx, "verify-mode", ["peer", "fail-if-no-peer-cert"])
lib.set("ctx", ctx, "verify-depth", 6)
out["ctx_depth"] = lib.get("ctx", ctx, "verify-depth")
lib.set("ctx", ctx, "cipher-list", ["ECDHE-RSA-AES256-GCM-SHA384", "AES128-GCM-SHA256"])
lib.set("ctx", ctx, "client-ca-list", ["bravo", "alpha"])
lib.set("ctx", ctx, "timeout", 1234)
attempt("unknown_mode", lib.set, "ctx", ctx, "mode", ["no-auto-chain"])
ssl = lib.ssl_new(ctx)
other = lib.ssl_new(ctx)
out["ssl_is_pointer"] = ssl == pointer(lib.objects[ssl]._ssl)
out["distinct"] = ssl != other
out["same_ctx"] = lib.ssl_get_ctx(ssl) == ctx
out["ctx_options_after_ssl_new"] = lib.get("ctx", ctx, "options")
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
attempt("threads", lib.threads_up_ref_free, ssl, 2, 2)
attempt("alloc", lib.ssl_new_failing, ctx, 1)
client = lib.ssl_new(lib.ctx_new("tls-client"))
out["started"] = lib.start_handshake(client)
attempt("started_timeout", lib.get, "ssl", client, "timeout")
attempt("bad_ciphers", lib.set, "ctx", lib.ctx_new("tls"), "cipher-list", ["NO-SUCH-SUITE"])
out["errors"] = lib.errors()

# settings a handshake's session shows, by role
seen = {{}}
for method in ("tls-client", "tls-server", "tls"):
    c = lib.ctx_new(method)
    lib.set("ctx", c, "timeout", 4321)
    lib.set("ctx", c, "session-id-context", "context-b")
    s = lib.ssl_new(c)
    row = {{"ctx_timeout": lib.get("ctx", c, "timeout"), "timeout": lib.get("ssl", s, "timeout")}}
    attempt("sid", lib.get, "ssl", s, "session-id-context")
    row["sid"] = out.pop("sid")
    attempt("ctx_sid", lib.get, "ctx", c, "session-id-context")
    row["ctx_sid"] = out.pop("ctx_sid")
    attempt("cert_after", lib.get, "ssl", s, "certificate")
    row["cert_after"] = out.pop("cert_after")
    lib.set("ssl", s, "options", ["no-compression"])
    attempt("after_set", lib.get, "ssl", s, "timeout")
    row["after_set"] = out.pop("after_set")
    seen[method] = row
out["sessions"] = seen
out["handshake_errors"] = lib.errors()

# certificates, keys, sessions, server names
server = lib.ssl_new(lib.ctx_new("tls-server"))
out["no_cert"] = lib.get("ssl", server, "certificate")
lib.set("ssl", server, "certificate", "rsa-2048")
lib.set("ssl", server, "private-key", "rsa-2048")
out["cert"] = lib.get("ssl", server, "certificate")
attempt("key", lib.get, "ssl", server, "private-key")
cctx = lib.ctx_new("tls-client")
lib.set("ctx", cctx, "certificate", "ed25519")
c1, c2 = lib.ssl_new(cctx), lib.ssl_new(cctx)
out["cert_from_ctx"] = lib.get("ssl", c1, "certificate")
out["no_session"] = lib.get("ssl", c1, "session")
lib.set("ssl", c1, "session", "session-a")
lib.set("ssl", c2, "session", "session-b")
out["session"] = [lib.get("ssl", c1, "session"), lib.get("ssl", c2, "session")]
actx = lib.ctx_new("tls-client")
lib.set("ctx", actx, "alpn", ["h2", "http/1.1"])
a1, a2, a3 = lib.ssl_new(actx), lib.ssl_new(actx), lib.ssl_new(lib.ctx_new("tls-client"))
lib.set("ssl", a2, "alpn", ["acme-tls/1"])
out["alpn"] = [lib.get("ssl", a, "alpn") for a in (a1, a2, a3)]
out["no_name"] = lib.get("ssl", c1, "server-name")
lib.set("ssl", c1, "server-name", "bravo.test")
out["name"] = lib.get("ssl", c1, "server-name")
"""


@pytest.fixture(scope="module")
def seen() -> Iterator[dict[str, Any]]:
    if importlib.util.find_spec("OpenSSL") is None:
        pytest.skip("pyOpenSSL is not installed (pip install pyOpenSSL)")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(fixtures.ENV, str(fixtures.ensure()))
        yield run_adapter("backends.pyopenssl.library", None, BODY)


def test_version_names_pyopenssl_and_its_openssl(seen: dict[str, Any]) -> None:
    assert seen["version"].startswith("pyOpenSSL ")
    assert " on OpenSSL " in seen["version"]


def test_features(seen: dict[str, Any]) -> None:
    assert seen["missing"]["ssl_dup"] == ["SSL_dup"]
    assert seen["missing"]["ssl_up_ref"] == ["SSL_up_ref"]
    assert seen["missing"]["threads"] == ["SSL_up_ref"]
    assert seen["missing"]["free_events"] == ["SSL_get_ex_new_index"]
    [alloc] = seen["missing"]["alloc_failures"]
    assert alloc.startswith("CRYPTO_set_mem_functions: ")
    for feature in ("ctx_new", "ssl_new", "ssl_free", "ssl_get_ctx", "handshake", "errors"):
        assert seen["missing"][feature] == [], feature
    assert seen["dup"] == {"absent": ["SSL_dup"]}
    assert seen["up_ref"] == {"absent": ["SSL_up_ref"]}
    assert seen["freed"] == {"absent": ["SSL_get_ex_new_index"]}
    assert seen["threads"] == {"absent": ["SSL_up_ref"]}
    assert seen["alloc"] == {"absent": [alloc]}
    assert seen["null"] == {"absent": ["SSL_new(NULL): Connection requires a Context"]}
    assert seen["started"] is True
    # every setting of the table gets an answer: observed, or absent naming what is lacking
    assert seen["unknown"] == []


def test_handles_are_the_librarys_pointers(seen: dict[str, Any]) -> None:
    assert seen["ctx_is_pointer"] is True
    assert seen["ssl_is_pointer"] is True
    assert seen["distinct"] is True
    assert seen["same_ctx"] is True


def test_context_settings_reach_the_connection(seen: dict[str, Any]) -> None:
    assert {"no-ticket", "no-tlsv1.1"} <= set(seen["options"])
    # read through SSL_CTX_get_options, which works on a Context that made a Connection
    assert {"no-ticket", "no-tlsv1.1"} <= set(seen["ctx_options_after_ssl_new"])
    assert seen["verify_mode"] == ["fail-if-no-peer-cert", "peer"]
    assert seen["ctx_depth"] == 6
    assert seen["ciphers"] == ["ECDHE-RSA-AES256-GCM-SHA384", "AES128-GCM-SHA256"]
    assert seen["client_ca"] == ["bravo", "alpha"]


def test_the_timeout_is_what_a_handshakes_session_carries(seen: dict[str, Any]) -> None:
    assert seen["fresh_timeout"] == 7200  # OpenSSL's default for a TLS context
    for method, row in seen["sessions"].items():
        assert row["ctx_timeout"] == 4321, method
        assert row["timeout"] == 4321, method
        # a context has no session: only an SSL's shows the id context
        assert "session id context only in an SSL" in row["ctx_sid"]["unobservable"]
        # a setter after the handshake: the session no longer shows the object's settings
        assert "changed after" in row["after_set"]["unobservable"], method
    # a server SSL got the adapter's certificate for its handshake: not the script's
    assert (
        "gave this SSL a certificate"
        in seen["sessions"]["tls-server"]["cert_after"]["unobservable"]
    )
    assert seen["sessions"]["tls-client"]["cert_after"] is None
    assert seen["sessions"]["tls-server"]["sid"] == "context-b"
    assert seen["sessions"]["tls"]["sid"] == "context-b"  # TLS_method: a server until told
    assert "only a server" in seen["sessions"]["tls-client"]["sid"]["unobservable"]
    assert "already started" in seen["started_timeout"]["unobservable"]
    assert seen["handshake_errors"] == []  # the adapter's own handshakes queue nothing


def test_certificates_sessions_and_names(seen: dict[str, Any]) -> None:
    assert seen["no_cert"] is None
    assert seen["cert"] == "rsa-2048"
    assert seen["cert_from_ctx"] == "ed25519"
    assert seen["key"] == {"absent": ["SSL_get_privatekey"]}
    assert seen["no_session"] is None
    assert seen["session"] == ["session-a", "session-b"]
    assert seen["no_name"] is None
    assert seen["name"] == "bravo.test"
    # what a peer server was offered: the context's list, the SSL's own, none
    assert seen["alpn"] == [["h2", "http/1.1"], ["acme-tls/1"], None]


def test_what_pyopenssl_cannot_say(seen: dict[str, Any]) -> None:
    # pyOpenSSL refuses to change a Context once it made a Connection: that script is set
    # aside (the setter exists; only this order of calls cannot be said through it).
    assert seen["used_ctx"] == {
        "unobservable": "Context.set_options on a Context that made a Connection"
    }
    assert "SSL_MODE_NO_AUTO_CHAIN" in seen["unknown_mode"]["unobservable"]
    assert "Context.set_cipher_list raised" in seen["bad_ciphers"]["unobservable"]
    assert any("no cipher match" in e for e in seen["errors"])
