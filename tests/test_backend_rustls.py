"""The rustls adapter on the real cdylib: reference counts, settings, handshakes, reasons.

The cdylib is built (or taken from the cache) once per session; where it cannot be built
the tests skip with the reason the column would show.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.rustls import build
from backends.rustls.library import (
    CONNECTION_FIXED,
    NO_DUP,
    NO_NOTION,
    NO_NULL_CTX,
    OPENSSL_TO_IANA,
    RUSTLS_LACKS,
    RustlsLibrary,
    load,
    missing_reason,
)
from conformance.library import Absent, Json, Unavailable, Unobservable
from conformance.settings import CIPHER_NAMES, SETTINGS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def lib() -> RustlsLibrary:
    try:
        return load(None, {"build": "yes"})
    except Unavailable as exc:
        pytest.skip(f"rustls unavailable: {exc}")


@pytest.fixture
def clean(lib: RustlsLibrary) -> Iterator[RustlsLibrary]:
    lib.freed()
    lib.freed_contexts()
    lib.errors()
    yield lib


def test_version_is_the_compiled_rustls(lib: RustlsLibrary) -> None:
    assert lib.version().startswith("rustls 0.23.")


def test_up_ref_is_an_arc_clone_and_free_drops_exactly_at_zero(clean: RustlsLibrary) -> None:
    lib = clean
    ctx = lib.ctx_new("tls-client")
    assert ctx is not None
    ssl = lib.ssl_new(ctx)
    assert ssl is not None
    assert lib.strong_count(ssl) == 1
    for n in range(3):
        assert lib.ssl_up_ref(ssl) == 1
        assert lib.strong_count(ssl) == n + 2
    for n in range(3):
        lib.ssl_free(ssl)
        assert lib.freed() == []
        assert lib.strong_count(ssl) == 3 - n
    lib.ssl_free(ssl)
    assert lib.freed() == [ssl]
    lib.ctx_free(ctx)
    assert lib.freed_contexts() == [ctx]


def test_connection_keeps_its_context_alive(clean: RustlsLibrary) -> None:
    lib = clean
    ctx = lib.ctx_new("tls-server")
    assert ctx is not None
    ssl = lib.ssl_new(ctx)
    assert ssl is not None
    assert lib.ssl_get_ctx(ssl) == ctx
    assert lib.ctx_strong_count(ctx) == 2
    lib.ctx_free(ctx)
    assert lib.freed_contexts() == []
    assert lib.get("ssl", ssl, "method") == "tls-server"
    lib.ssl_free(ssl)
    assert lib.freed() == [ssl]
    assert lib.freed_contexts() == [ctx]


def test_what_rustls_cannot_express_is_absent_with_its_reason(clean: RustlsLibrary) -> None:
    lib = clean
    # rustls has no role-neutral config: TLS_method gets a ClientConfig
    generic = lib.ctx_new("tls")
    assert generic is not None
    assert lib.get("ctx", generic, "method") == "tls-client"
    lib.ctx_free(generic)
    with pytest.raises(Absent) as exc:
        lib.ssl_new(None)
    assert exc.value.missing == [NO_NULL_CTX]
    ctx = lib.ctx_new("tls-server")
    assert ctx is not None
    ssl = lib.ssl_new(ctx)
    assert ssl is not None
    with pytest.raises(Absent) as exc:
        lib.ssl_dup(ssl)
    assert exc.value.missing == [NO_DUP]
    with pytest.raises(Unobservable, match="ServerConnection"):
        lib.start_handshake(ssl)
    lib.ssl_free(ssl)
    lib.ctx_free(ctx)


def test_missing_agrees_with_what_the_operations_do(clean: RustlsLibrary) -> None:
    lib = clean
    ctxs = {m: lib.ctx_new(m) for m in ("tls-client", "tls-server")}
    for method, ctx in ctxs.items():
        assert ctx is not None, method
        ssl = lib.ssl_new(ctx)
        assert ssl is not None
        for setting in SETTINGS:
            kinds = [("ssl", ssl)] + ([("ctx", ctx)] if setting.on_ctx else [])
            for kind, obj in kinds:
                try:
                    reason = missing_reason(f"get:{kind}:{setting.name}")
                except NotImplementedError:
                    continue  # an adapter gap: the engine reports it as such, not as absent
                if setting.name == "accept-connect-state" and kind == "ctx":
                    continue
                if reason is None:
                    lib.get(kind, obj, setting.name)  # type: ignore[arg-type]
                else:
                    with pytest.raises(Absent) as exc:
                        lib.get(kind, obj, setting.name)  # type: ignore[arg-type]
                    assert exc.value.missing == [reason]
        for name, reason in NO_NOTION.items():
            assert lib.missing(f"set:ctx:{name}") == [reason]
            with pytest.raises(Absent):
                lib.set("ctx", ctx, name, None)
        lib.ssl_free(ssl)
        lib.ctx_free(ctx)
    assert lib.missing("ssl_dup") == [NO_DUP]
    assert lib.missing("ssl_up_ref") == []


def test_protocol_versions_are_rebuilt_into_the_config_and_seen_in_handshakes(
    clean: RustlsLibrary,
) -> None:
    lib = clean
    for method in ("tls-client", "tls-server"):
        ctx = lib.ctx_new(method)
        assert ctx is not None
        before = lib.ssl_new(ctx)
        assert before is not None
        assert lib.get("ctx", ctx, "min-proto-version") == "tls1.2"
        assert lib.get("ctx", ctx, "max-proto-version") == "tls1.3"
        lib.set("ctx", ctx, "min-proto-version", "tls1.3")
        after = lib.ssl_new(ctx)
        assert after is not None
        assert lib.get("ctx", ctx, "min-proto-version") == "tls1.3"
        assert lib.get("ssl", after, "min-proto-version") == "tls1.3"
        # a connection keeps the config it was made from
        assert lib.get("ssl", before, "min-proto-version") == "tls1.2"
        # no version left: rustls refuses the config, the old one stays, the reason queues
        lib.set("ctx", ctx, "max-proto-version", "tls1.2")
        assert any("no usable cipher suites" in e for e in lib.errors())
        assert lib.get("ctx", ctx, "max-proto-version") == "tls1.3"
        lib.set("ctx", ctx, "min-proto-version", "any")
        lib.set("ctx", ctx, "max-proto-version", "tls1.2")
        assert lib.get("ctx", ctx, "max-proto-version") == "tls1.2"
        assert lib.errors() == []
        for ssl in (before, after):
            lib.ssl_free(ssl)
        lib.ctx_free(ctx)


def test_verification_is_observed_in_a_handshake(clean: RustlsLibrary) -> None:
    lib = clean
    client = lib.ctx_new("tls-client")
    server = lib.ctx_new("tls-server")
    assert client is not None and server is not None
    assert lib.get("ctx", client, "verify-mode") == ["peer"]  # rustls verifies by default
    lib.set("ctx", client, "verify-mode", [])
    assert lib.get("ctx", client, "verify-mode") == []
    with pytest.raises(Unobservable):
        lib.set("ctx", client, "verify-mode", ["fail-if-no-peer-cert", "peer"])
    assert lib.get("ctx", server, "verify-mode") == []
    modes: list[Json] = [["peer"], ["fail-if-no-peer-cert", "peer"], []]
    for mode in modes:
        lib.set("ctx", server, "verify-mode", mode)
        assert lib.get("ctx", server, "verify-mode") == mode
    with pytest.raises(Unobservable):
        lib.set("ctx", server, "verify-mode", ["peer", "post-handshake"])
    lib.ctx_free(client)
    lib.ctx_free(server)


def test_cipher_list_maps_to_the_providers_tls12_suites(clean: RustlsLibrary) -> None:
    lib = clean
    ctx = lib.ctx_new("tls-client")
    assert ctx is not None
    wanted: list[Json] = [
        "ECDHE-RSA-AES256-GCM-SHA384",
        "AES256-SHA",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ]
    lib.set("ctx", ctx, "cipher-list", wanted)
    assert lib.get("ctx", ctx, "cipher-list") == [wanted[0], wanted[2]]
    # a TLS 1.2-only config with only an RSA suite still completes probe handshakes
    lib.set("ctx", ctx, "cipher-list", ["ECDHE-RSA-AES128-GCM-SHA256"])
    lib.set("ctx", ctx, "max-proto-version", "tls1.2")
    lib.set("ctx", ctx, "verify-mode", [])
    assert lib.get("ctx", ctx, "min-proto-version") == "tls1.2"
    lib.set("ctx", ctx, "cipher-list", ["AES256-SHA"])
    assert lib.errors() != []
    assert lib.get("ctx", ctx, "cipher-list") == ["ECDHE-RSA-AES128-GCM-SHA256"]
    lib.ctx_free(ctx)


def test_handshake_leaves_the_initial_state(clean: RustlsLibrary) -> None:
    lib = clean
    ctx = lib.ctx_new("tls-client")
    assert ctx is not None
    ssl = lib.ssl_new(ctx)
    assert ssl is not None
    assert lib.start_handshake(ssl) is True
    assert lib.start_handshake(ssl) is True  # still started; nothing more to send
    lib.ssl_free(ssl)
    lib.ctx_free(ctx)


def test_missing_answers_without_a_library() -> None:
    for setting in SETTINGS:
        for action in ("set", "get"):
            for kind in ("ctx", "ssl"):
                try:
                    reason = missing_reason(f"{action}:{kind}:{setting.name}")
                except NotImplementedError:
                    continue  # not mapped yet: reported as an adapter gap
                assert reason is None or (reason and "\n" not in reason)
    with pytest.raises(NotImplementedError):
        missing_reason("get:ssl:no-such-setting")
    # whatever the setting, a rustls connection has no setter
    assert missing_reason("set:ssl:no-such-setting") == CONNECTION_FIXED


def test_worker_maps_no_libcrypto(lib: RustlsLibrary) -> None:
    code = (
        "from backends.rustls.library import load; lib = load(None, {}); "
        "maps = open('/proc/self/maps').read(); "
        "print(lib.version(), 'libcrypto' in maps, 'libssl.so' in maps)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    version, crypto, ssl = out.stdout.split()[-3:]
    assert version.startswith("0.23.")
    assert (crypto, ssl) == ("False", "False")


def test_no_cargo_is_unavailable_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(Unavailable, match="cargo not found"):
        build.build(tmp_path / "cache")
    # a worker, which does not build, gives the same reason
    with pytest.raises(Unavailable, match="cargo not found"):
        build.prebuilt(tmp_path / "cache")


def test_a_worker_gives_the_reason_the_last_build_failed_with(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(Unavailable, match="not built yet"):
        build.prebuilt(cache)
    note = cache / "unavailable" / f"{build.source_key()}.txt"
    note.parent.mkdir(parents=True)
    note.write_text("apt-get update against Debian trixie failed: E: no network\n")
    with pytest.raises(Unavailable, match="no network"):
        build.prebuilt(cache)


def test_every_suite_of_the_table_is_mapped_or_known_lacking() -> None:
    assert set(CIPHER_NAMES) <= set(OPENSSL_TO_IANA) | set(RUSTLS_LACKS)


def test_cache_key_follows_the_crate_files() -> None:
    key = build.source_key()
    assert key == build.source_key()
    assert len(key) == 8 and int(key, 16) >= 0
    assert os.path.basename(build.LIB_NAME) == "librustls_sslconform.so"


def test_settings_beyond_the_table_round_trip_through_the_config(clean: RustlsLibrary) -> None:
    lib = clean
    client = lib.ctx_new("tls-client")
    server = lib.ctx_new("tls-server")
    assert client is not None and server is not None
    lib.set("ctx", client, "verify-mode", [])  # resumption needs completed handshakes
    for ctx in (client, server):
        assert lib.get("ctx", ctx, "alpn") == []
        assert lib.get("ctx", ctx, "max-fragment-size") is None
        assert lib.get("ctx", ctx, "resumption") is True
        assert lib.get("ctx", ctx, "key-log") is False
        lib.set("ctx", ctx, "alpn", ["h2", "http/1.1"])
        lib.set("ctx", ctx, "max-fragment-size", 1024)
        lib.set("ctx", ctx, "resumption", False)
        lib.set("ctx", ctx, "key-log", True)
        ssl = lib.ssl_new(ctx)
        assert ssl is not None
        for kind, obj in (("ctx", ctx), ("ssl", ssl)):
            assert lib.get(kind, obj, "alpn") == ["h2", "http/1.1"]  # type: ignore[arg-type]
            assert lib.get(kind, obj, "max-fragment-size") == 1024  # type: ignore[arg-type]
            assert lib.get(kind, obj, "resumption") is False  # type: ignore[arg-type]
            assert lib.get(kind, obj, "key-log") is True  # type: ignore[arg-type]
        lib.ssl_free(ssl)
    assert lib.get("ctx", server, "tickets") is False
    lib.set("ctx", server, "tickets", True)
    assert lib.get("ctx", server, "tickets") is True
    assert lib.get("ctx", client, "client-cert") is False
    lib.set("ctx", client, "client-cert", True)
    assert lib.get("ctx", client, "client-cert") is True
    with pytest.raises(Absent):
        lib.set("ctx", client, "tickets", True)
    # rustls checks the fragment size when a connection is made, not when it is set
    lib.set("ctx", client, "max-fragment-size", 5)
    assert lib.errors() == []
    assert lib.ssl_new(client) is None
    assert any("max_fragment_size" in e for e in lib.errors())
    lib.ctx_free(client)
    lib.ctx_free(server)


def test_a_script_through_the_worker_sees_the_free_at_zero(lib: RustlsLibrary) -> None:
    from conformance.script import Op, Script
    from conformance.worker import Launch, Worker

    worker = Worker("rustls", Launch("backends.rustls.library", options={"build": "yes"}))
    try:
        assert worker.hello()["version"] == lib.version()
        trace = worker.run(
            Script(
                (
                    Op("ctx_new", method="tls"),
                    Op("ssl_new", ctx=0),
                    Op("ssl_up_ref", ssl=0),
                    Op("ssl_free", ssl=0),
                    Op("ssl_free", ssl=0),
                    Op("ssl_new", ctx=0),
                    Op("ssl_dup", ssl=1),
                )
            )
        )
    finally:
        worker.close()
    assert trace[2].value == 1
    assert trace[3].freed == []
    assert trace[4].freed == [trace[1].object]
    assert trace[6].absent == [NO_DUP]
