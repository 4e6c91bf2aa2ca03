"""The OpenSSL-family adapter on the fetched columns: OpenSSL 1.1.1 to 4.0 and BoringSSL.

Each column's library is fetched (skipped with the reason when it cannot be) and driven
in a process of its own, launched as the worker is (trixie's loader where needed).
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.fetch import fetch
from conformance.library import Unavailable
from tests.worker_probe import run_adapter

BODY = """
out["version"] = lib.version()
out["family"] = lib.family
out["missing"] = {f: lib.missing(f) for f in ("ssl_dup", "ssl_up_ref", "free_events",
                  "handshake", "get:ssl:security-level", "get:ssl:method")}
out["unobservable"] = sorted(f"{k}:{s}" for k, s in lib.settings.unobservable)
ctx = lib.ctx_new("tls")
lib.set("ctx", ctx, "options", ["no-ticket", "no-tlsv1.1"])
lib.set("ctx", ctx, "verify-depth", 4)
lib.set("ctx", ctx, "verify-mode", ["peer"])
lib.set("ctx", ctx, "max-cert-list", 4096)
lib.set("ctx", ctx, "min-proto-version", "tls1.2")
ssl = lib.ssl_new(ctx)
out["same_ctx"] = lib.ssl_get_ctx(ssl) == ctx
out["options"] = lib.get("ssl", ssl, "options")
out["depth"] = lib.get("ssl", ssl, "verify-depth")
out["verify_mode"] = lib.get("ssl", ssl, "verify-mode")
out["max_cert_list"] = lib.get("ssl", ssl, "max-cert-list")
out["min_proto"] = lib.get("ssl", ssl, "min-proto-version")
lib.set("ssl", ssl, "mode", ["enable-partial-write"])
out["mode"] = lib.get("ssl", ssl, "mode")
attempt("dup", lib.ssl_dup, ssl)
lib.ssl_free(ssl)
out["freed"] = [f == ssl for f in lib.freed()]
client = lib.ssl_new(ctx)
lib.set("ssl", client, "msg-callback", "cb-a")
out["msg"] = lib.get("ssl", client, "msg-callback")
out["errors"] = lib.errors()
try:  # BoringSSL lacks some of the verification parameters' calls
    named = lib.ctx_new("tls")
    lib.set("ctx", named, "verify-param", {"host": "bravo.test", "email": "admin@alpha.test"})
    named_ssl = lib.ssl_new(named)
    out["param_ctx"] = lib.get("ctx", named, "verify-param")
    out["param_ssl"] = lib.get("ssl", named_ssl, "verify-param")
except Exception as exc:
    out["param_ctx"] = out["param_ssl"] = repr(exc)
"""

COLUMNS = {
    "openssl111": "OpenSSL 1.1.1",
    "openssl35": "OpenSSL 3.5.",
    "openssl36": "OpenSSL 3.6.",
    "openssl40": "OpenSSL 4.0.",
    "boringssl": "BoringSSL",
}


@pytest.fixture(scope="module", params=sorted(COLUMNS))
def seen(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    name: str = request.param
    try:
        fetched = fetch(name)
    except Unavailable as err:
        pytest.skip(f"{name} cannot be fetched here: {err}")
    return name, run_adapter("backends.openssl.library", fetched, BODY)


def test_version_and_only_that_library(seen: tuple[str, dict[str, Any]]) -> None:
    name, out = seen
    assert out["version"].startswith(COLUMNS[name])
    assert out["maps"] and all(f"/libs/{name}/" in path for path in out["maps"])


def test_settings_reach_the_object(seen: tuple[str, dict[str, Any]]) -> None:
    _, out = seen
    assert out["same_ctx"]
    assert {"no-ticket", "no-tlsv1.1"} <= set(out["options"])
    assert out["depth"] == 4
    assert out["verify_mode"] == ["peer"]
    assert out["max_cert_list"] == 4096
    assert out["min_proto"] == "tls1.2"
    assert "enable-partial-write" in out["mode"]
    assert out["msg"] == "cb-a"


def test_family_differences(seen: tuple[str, dict[str, Any]]) -> None:
    name, out = seen
    if name == "boringssl":
        assert out["family"] == "BoringSSL"
        assert out["missing"]["ssl_dup"] == ["SSL_dup"]
        assert out["missing"]["ssl_up_ref"] == ["SSL_up_ref"]
        assert out["missing"]["get:ssl:security-level"] == ["SSL_get_security_level"]
        assert out["missing"]["get:ssl:method"] == ["SSL_get_ssl_method"]
        assert out["dup"] == {"absent": ["SSL_dup"]}
        # BoringSSL's read-ahead getters return 0 whatever was set (its ssl.h says so).
        assert {"ctx:read-ahead", "ssl:read-ahead"} <= set(out["unobservable"])
    else:
        assert out["family"] == "OpenSSL"
        assert all(v == [] for v in out["missing"].values()), out["missing"]
        assert out["unobservable"] == []
        assert isinstance(out["dup"], int)
    assert out["missing"]["free_events"] == []
    assert out["missing"]["handshake"] == []
    # The free callback saw the object go (BoringSSL only for objects with ex_data, which
    # is why the adapter marks every new object).
    assert out["freed"] == [True]


@pytest.mark.parametrize("name", ["openssl35", "openssl40"])
def test_the_worker_launches_under_trixies_loader(name: str) -> None:
    """The harness's own worker, started as `run` starts it, maps only the fetched build."""
    from conformance.worker import Launch, Worker

    try:
        fetched = fetch(name)
    except Unavailable as err:
        pytest.skip(f"{name} cannot be fetched here: {err}")
    # Built against glibc 2.38+: on a machine with an older glibc, fetch says to run the
    # interpreter under trixie's loader; on a newer one it gives no loader at all.
    launch = Launch(
        "backends.openssl.library",
        lib_dir=fetched.lib_dir,
        prefix=list(fetched.loader or []),
        env=dict(fetched.env),
    )
    worker = Worker(name, launch)
    try:
        hello = worker.hello()
    finally:
        worker.close()
    assert hello["version"].startswith(COLUMNS[name])
    assert hello["mapped"] and all(f"/libs/{name}/" in path for path in hello["mapped"])


def test_names_the_ssl_copies_from_its_context(seen: tuple[str, dict[str, Any]]) -> None:
    """OpenSSL 4.0 copies the host and email into the SSL without their NUL: read back,
    each runs on into the allocation's slack, which the worker fills with X's, so it shows
    on every run (tests/test_slack.py). The context's own copies end where they should."""
    name, out = seen
    if name == "boringssl":
        return  # no CRYPTO_set_mem_functions: its reads show what the heap holds
    if name == "openssl111":
        assert "host" not in out["param_ctx"]  # X509_VERIFY_PARAM_get0_host came in 3.0
        return
    assert (out["param_ctx"]["host"], out["param_ctx"]["email"]) == (
        "bravo.test",
        "admin@alpha.test",
    )
    host, email = out["param_ssl"]["host"], out["param_ssl"]["email"]
    if name == "openssl40":
        assert host.startswith("bravo.testXXXX") and email.startswith("admin@alpha.testXXXX")
    else:
        assert (host, email) == ("bravo.test", "admin@alpha.test")
