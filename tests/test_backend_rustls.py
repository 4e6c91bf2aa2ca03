"""The rustls adapter on the real cdylib: settings, handshakes, allocation failures, reasons.

The cdylib is built (or taken from the cache) once per session; where it cannot be built
the tests skip with the reason the column would show.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.rustls import build, library
from backends.rustls.library import (
    CONNECTION_FIXED,
    NO_DUP,
    NO_FREE_EVENTS,
    NO_NOTION,
    NO_NULL_CTX,
    NO_REFCOUNT,
    NO_SSL_METHOD,
    OPENSSL_TO_IANA,
    RUSTLS_LACKS,
    TEST_IDENTITY,
    RustlsLibrary,
    load,
    missing_reason,
)
from conformance import fixtures
from conformance.library import Absent, Json, Unavailable, Unobservable
from conformance.script import Op, Script
from conformance.settings import CIPHER_NAMES, SETTINGS
from conformance.worker import Launch, Worker, WorkerCrashed

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def lib() -> Iterator[RustlsLibrary]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv(fixtures.ENV, str(fixtures.ensure()))
        try:
            yield load(None, {"build": "yes"})
        except Unavailable as exc:
            pytest.skip(f"rustls unavailable: {exc}")


@pytest.fixture
def clean(lib: RustlsLibrary) -> Iterator[RustlsLibrary]:
    lib.errors()
    yield lib


# ring's TLS 1.2 suites in the provider's order: what a fresh config of either role has.
DEFAULT_TLS12 = [
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-CHACHA20-POLY1305",
]
# What a fresh context and a connection made from it show, by role: rustls's defaults
# (a client verifies; a server asks for no client certificate and serves the crate's own
# test identity), seen through rustls. A fresh client rejects the probe server's
# certificate before it would send one of its own: its identity cannot be seen.
CANNOT_SEE = "cannot be seen"
# ring's signature schemes in the provider's order, as a ClientHello offers them.
RING_SCHEMES = [
    "0x0503",
    "ECDSA+SHA256",
    "ed25519",
    "0x0806",
    "0x0805",
    "RSA-PSS+SHA256",
    "0x0601",
    "RSA+SHA384",
    "RSA+SHA256",
]
NOT_THIS_ROLE = "absent for this role"
SEEN_NOTHING = "before the object sent a certificate|no signature scheme list"
FRESH: dict[str, dict[str, Json]] = {
    "tls-client": {
        "min-proto-version": "tls1.2",
        "max-proto-version": "tls1.3",
        "verify-mode": ["peer"],
        "cipher-list": DEFAULT_TLS12,
        "accept-connect-state": "connect",
        "method": "tls-client",
        "alpn": [],
        "certificate": CANNOT_SEE,
        "private-key": CANNOT_SEE,
        "chain": CANNOT_SEE,
        "num-tickets": NOT_THIS_ROLE,  # tickets are a server's
        "sigalgs": RING_SCHEMES,
        "client-sigalgs": NOT_THIS_ROLE,
    },
    "tls-server": {
        "min-proto-version": "tls1.2",
        "max-proto-version": "tls1.3",
        "verify-mode": [],
        "cipher-list": DEFAULT_TLS12,
        "accept-connect-state": "accept",
        "method": "tls-server",
        "alpn": [],
        "certificate": TEST_IDENTITY,
        "private-key": TEST_IDENTITY,
        "chain": 0,
        "num-tickets": 2,  # rustls's default send_tls13_tickets
        "sigalgs": NOT_THIS_ROLE,
        "client-sigalgs": CANNOT_SEE,  # no CertificateRequest without client auth
    },
}


def test_version_is_the_compiled_rustls(lib: RustlsLibrary) -> None:
    assert lib.version().startswith("rustls 0.23.")


def test_reference_counts_are_absent_not_the_adapters_own(clean: RustlsLibrary) -> None:
    lib = clean
    for feature, reason in (
        ("ssl_up_ref", NO_REFCOUNT),
        ("threads", NO_REFCOUNT),
        ("free_events", NO_FREE_EVENTS),
    ):
        assert lib.missing(feature) == [reason], feature
    ctx = lib.ctx_new("tls-client")
    assert ctx is not None
    ssl = lib.ssl_new(ctx)
    assert ssl is not None
    with pytest.raises(Absent) as exc:
        lib.ssl_up_ref(ssl)
    assert exc.value.missing == [NO_REFCOUNT]
    with pytest.raises(Absent) as exc:
        lib.threads_up_ref_free(ssl, 2, 10)
    assert exc.value.missing == [NO_REFCOUNT]
    with pytest.raises(Absent) as exc:
        lib.freed()
    assert exc.value.missing == [NO_FREE_EVENTS]
    lib.ssl_free(ssl)  # SSL_free is the owner dropping the connection: it has that
    lib.ctx_free(ctx)


def test_a_connection_keeps_its_context_alive(clean: RustlsLibrary) -> None:
    lib = clean
    ctx = lib.ctx_new("tls-server")
    assert ctx is not None
    lib.set("ctx", ctx, "verify-mode", ["peer"])
    ssl = lib.ssl_new(ctx)
    assert ssl is not None
    assert lib.ssl_get_ctx(ssl) == ctx
    lib.ctx_free(ctx)
    # the context is still there for the connection that was made from it
    assert lib.ssl_get_ctx(ssl) == ctx
    assert lib.get("ctx", ctx, "verify-mode") == ["peer"]
    assert lib.get("ssl", ssl, "verify-mode") == ["peer"]
    lib.ssl_free(ssl)


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
    # a connection's role is its type: there is no method of its own to inherit
    assert lib.missing("get:ssl:method") == [NO_SSL_METHOD]
    with pytest.raises(Absent) as exc:
        lib.get("ssl", ssl, "method")
    assert exc.value.missing == [NO_SSL_METHOD]
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
                reason = missing_reason(f"get:{kind}:{setting.name}")
                if setting.name == "accept-connect-state" and kind == "ctx":
                    continue
                wanted = FRESH[method].get(setting.name)
                if reason is None and wanted == CANNOT_SEE:
                    with pytest.raises(Unobservable, match=SEEN_NOTHING):
                        lib.get(kind, obj, setting.name)  # type: ignore[arg-type]
                elif reason is None and wanted == NOT_THIS_ROLE:
                    with pytest.raises(Unobservable, match="client"):
                        lib.get(kind, obj, setting.name)  # type: ignore[arg-type]
                elif reason is None:
                    got = lib.get(kind, obj, setting.name)  # type: ignore[arg-type]
                    assert got == wanted, (kind, setting.name)
                else:
                    with pytest.raises(Absent) as exc:
                        lib.get(kind, obj, setting.name)  # type: ignore[arg-type]
                    assert exc.value.missing == [reason]
        for name, reason in NO_NOTION.items():
            assert lib.missing(f"set:ctx:{name}") == [reason]
            with pytest.raises(Absent) as exc:
                lib.set("ctx", ctx, name, None)
            assert exc.value.missing == [reason]
        lib.ssl_free(ssl)
        lib.ctx_free(ctx)
    assert lib.missing("ssl_dup") == [NO_DUP]
    assert lib.missing("ssl_up_ref") == [NO_REFCOUNT]


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
    verifying = lib.ssl_new(client)
    assert lib.get("ctx", client, "verify-mode") == ["peer"]  # rustls verifies by default
    lib.set("ctx", client, "verify-mode", [])
    assert lib.get("ctx", client, "verify-mode") == []
    trusting = lib.ssl_new(client)
    assert verifying is not None and trusting is not None
    # each connection's own handshake: the one made before the change still rejects the
    # probe server's untrusted certificate, the one made after completes
    assert lib.get("ssl", verifying, "verify-mode") == ["peer"]
    assert lib.get("ssl", trusting, "verify-mode") == []
    with pytest.raises(Unobservable, match="ClientConfig verifies the server or not"):
        lib.set("ctx", client, "verify-mode", ["fail-if-no-peer-cert", "peer"])
    assert lib.get("ctx", server, "verify-mode") == []
    modes: list[Json] = [["peer"], ["fail-if-no-peer-cert", "peer"], []]
    for mode in modes:
        lib.set("ctx", server, "verify-mode", mode)
        assert lib.get("ctx", server, "verify-mode") == mode
        ssl = lib.ssl_new(server)
        assert ssl is not None
        assert lib.get("ssl", ssl, "verify-mode") == mode
        # the connection handshook once; reading again gives what that handshake showed
        assert lib.get("ssl", ssl, "verify-mode") == mode
        lib.ssl_free(ssl)
    with pytest.raises(Unobservable, match="no post-handshake client authentication"):
        lib.set("ctx", server, "verify-mode", ["peer", "post-handshake"])
    assert lib.errors() == []
    for ssl in (verifying, trusting):
        lib.ssl_free(ssl)
    lib.ctx_free(client)
    lib.ctx_free(server)


def test_a_started_connection_hands_its_first_flight_to_the_probe(clean: RustlsLibrary) -> None:
    lib = clean
    ctx = lib.ctx_new("tls-client")
    assert ctx is not None
    lib.set("ctx", ctx, "verify-mode", [])
    ssl = lib.ssl_new(ctx)
    assert ssl is not None
    assert lib.start_handshake(ssl) is True
    # the ClientHello already went out: the probe server gets it first, and completes
    assert lib.get("ssl", ssl, "verify-mode") == []
    assert lib.start_handshake(ssl) is True  # it left the initial state long ago
    lib.ssl_free(ssl)
    lib.ctx_free(ctx)


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
    assert lib.errors() == [
        "config build: unexpected error: none of the requested TLS 1.2 suites is in rustls"
    ]
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
                # every setting of the table is mapped: observed, or absent with a reason
                reason = missing_reason(f"{action}:{kind}:{setting.name}")
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


def test_cache_key_follows_the_crate_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crate = tmp_path / "crate"
    for name in build.CRATE_FILES:
        src = build.CRATE_DIR / name
        if src.is_dir():
            shutil.copytree(src, crate / name)
        else:
            crate.mkdir(exist_ok=True)
            shutil.copy2(src, crate / name)
    monkeypatch.setattr(build, "CRATE_DIR", crate)
    key = build.source_key()
    assert len(key) == 8 and int(key, 16) >= 0
    (crate / "README.md").write_text("not a crate file\n")
    assert build.source_key() == key  # only the crate's files count
    lib_rs = crate / "src" / "lib.rs"
    lib_rs.write_text(lib_rs.read_text() + "\n// changed\n")
    changed = build.source_key()
    assert changed != key
    (crate / "src" / "lib.rs").rename(crate / "src" / "main.rs")
    assert build.source_key() not in (key, changed)  # a rename is a change too
    assert build.LIB_NAME == "librustls_sslconform.so"


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
    with pytest.raises(Absent, match="client has no ticketer"):
        lib.set("ctx", client, "tickets", True)
    # rustls checks the fragment size when a connection is made, not when it is set
    lib.set("ctx", client, "max-fragment-size", 5)
    assert lib.errors() == []
    assert lib.ssl_new(client) is None
    assert any("max_fragment_size" in e for e in lib.errors())
    lib.ctx_free(client)
    lib.ctx_free(server)


def test_allocation_failure_short_of_the_nth_reports_what_happened(clean: RustlsLibrary) -> None:
    lib = clean
    assert lib.missing("alloc_failures") == []
    for method in ("tls-client", "tls-server"):
        ctx = lib.ctx_new(method)
        assert ctx is not None
        first = lib.ssl_new_failing(ctx, 1_000_000)
        assert first["injected"] is False
        assert first["result"] is not None
        assert first["allocations"] > 0
        assert first["leaked"] == 0
        assert first["errors"] == []
        # the same call again makes as many allocations: the count is of the call
        assert lib.ssl_new_failing(ctx, 1_000_000)["allocations"] == first["allocations"]
        lib.ctx_free(ctx)
    with pytest.raises(Absent) as exc:
        lib.ssl_dup_failing(0, 1)
    assert exc.value.missing == [NO_DUP]


def _worker() -> Worker:
    return Worker("rustls", Launch("backends.rustls.library", options={"build": "yes"}))


def test_an_allocation_failing_inside_rustls_aborts_the_process(lib: RustlsLibrary) -> None:
    worker = _worker()
    script = Script(
        (
            Op("ctx_new", method="tls-client"),
            Op("ssl_new_failing", ctx=0, value=1_000_000),
            Op("ssl_new_failing", ctx=0, value=1),
        )
    )
    try:
        with pytest.raises(WorkerCrashed) as crash:
            worker.run(script)
    finally:
        worker.close()
    assert "SIGABRT" in crash.value.detail
    assert "allocation inside ClientConnection::new" in crash.value.detail
    # what ended it: Rust's allocation failure handler, called from inside rustls
    code = (
        "from backends.rustls.library import load; lib = load(None, {}); "
        "ctx = lib.ctx_new('tls-client'); lib.ssl_new_failing(ctx, 1)"
    )
    died = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "RUST_BACKTRACE": "1"},
        check=False,
    )
    assert died.returncode == -6  # SIGABRT
    assert "memory allocation of" in died.stderr
    assert "ClientConnection::new" in died.stderr


def test_a_script_through_the_worker(lib: RustlsLibrary) -> None:
    worker = _worker()
    try:
        assert worker.hello()["version"] == lib.version()
        trace = worker.run(
            Script(
                (
                    Op("ctx_new", method="tls"),
                    Op("ssl_new", ctx=0),
                    Op("ssl_get", ssl=0, setting="verify-mode"),
                    Op("ssl_free", ssl=0),
                    Op("ssl_new", ctx=0),
                    Op("ssl_up_ref", ssl=1),
                )
            )
        )
        dup = worker.run(
            Script((Op("ctx_new", method="tls"), Op("ssl_new", ctx=0), Op("ssl_dup", ssl=0)))
        )
    finally:
        worker.close()
    assert trace[1].object is not None and not trace[1].null
    assert trace[2].value == ["peer"]
    assert trace[3].freed == []  # nothing reports what a drop freed
    assert trace[5].absent == [NO_REFCOUNT]
    assert dup[2].absent == [NO_DUP]


def test_the_fixture_names_agree_with_the_harness() -> None:
    assert library.FIXTURES_ENV == fixtures.ENV
    assert library.CHAIN == fixtures.CHAIN


def test_an_identity_is_what_the_peer_receives(clean: RustlsLibrary) -> None:
    lib = clean
    for method in ("tls-server", "tls-client"):
        ctx = lib.ctx_new(method)
        assert ctx is not None
        if method == "tls-client":
            lib.set("ctx", ctx, "verify-mode", [])  # else it stops before sending its own
        before = lib.ssl_new(ctx)
        # rustls takes a certificate with its key: the certificate alone changes nothing
        lib.set("ctx", ctx, "certificate", "rsa-2048")
        fresh = TEST_IDENTITY if method == "tls-server" else None
        assert lib.get("ctx", ctx, "certificate") == fresh
        lib.set("ctx", ctx, "private-key", "rsa-2048")
        assert lib.errors() == []
        lib.set("ctx", ctx, "chain", 2)
        assert [lib.get("ctx", ctx, s) for s in ("certificate", "private-key", "chain")] == [
            "rsa-2048",
            "rsa-2048",
            2,
        ]
        # a key that is not the certificate's: rustls refuses, the config stays
        lib.set("ctx", ctx, "certificate", "ed25519")
        assert any("KeyMismatch" in e for e in lib.errors())
        assert lib.get("ctx", ctx, "certificate") == "rsa-2048"
        lib.set("ctx", ctx, "private-key", "ed25519")  # now the pair matches again
        assert lib.errors() == []
        after = lib.ssl_new(ctx)
        assert before is not None and after is not None
        # each connection's own handshake shows the config it was made from
        assert lib.get("ssl", after, "certificate") == "ed25519"
        assert lib.get("ssl", after, "chain") == 2
        assert lib.get("ssl", before, "certificate") == fresh
        for ssl in (before, after):
            lib.ssl_free(ssl)
        lib.ctx_free(ctx)


def test_tickets_and_names(clean: RustlsLibrary) -> None:
    lib = clean
    server, client = lib.ctx_new("tls-server"), lib.ctx_new("tls-client")
    assert server is not None and client is not None
    lib.set("ctx", server, "num-tickets", 5)
    ssl = lib.ssl_new(server)
    assert ssl is not None
    assert lib.get("ctx", server, "num-tickets") == 5
    assert lib.get("ssl", ssl, "num-tickets") == 5
    with pytest.raises(Unobservable, match="client sends no tickets"):
        lib.set("ctx", client, "num-tickets", 1)
    assert missing_reason("get:ssl:server-name") == library.NO_SERVER_NAME_READER
    assert missing_reason("set:ssl:server-name") == CONNECTION_FIXED
    assert missing_reason("get:ctx:quiet-shutdown") == NO_NOTION["quiet-shutdown"]
    lib.ssl_free(ssl)
    lib.ctx_free(server)
    lib.ctx_free(client)


def test_signature_schemes_are_what_the_peer_receives(clean: RustlsLibrary) -> None:
    lib = clean
    client, server = lib.ctx_new("tls-client"), lib.ctx_new("tls-server")
    assert client is not None and server is not None
    before = lib.ssl_new(client)
    offered = lib.get("ctx", client, "sigalgs")
    assert {"ECDSA+SHA256", "ed25519", "RSA-PSS+SHA256", "RSA+SHA256"} <= set(offered)
    lib.set("ctx", client, "sigalgs", ["ed25519", "RSA+SHA256"])
    assert lib.get("ctx", client, "sigalgs") == ["ed25519", "RSA+SHA256"]  # in that order
    after = lib.ssl_new(client)
    assert before is not None and after is not None
    assert lib.get("ssl", after, "sigalgs") == ["ed25519", "RSA+SHA256"]
    assert lib.get("ssl", before, "sigalgs") == offered
    with pytest.raises(Unobservable, match="client-sigalgs"):
        lib.set("ctx", server, "sigalgs", ["ed25519"])
    # a server lists schemes only in a CertificateRequest: none without client auth
    with pytest.raises(Unobservable, match="no signature scheme list"):
        lib.get("ctx", server, "client-sigalgs")
    lib.set("ctx", server, "verify-mode", ["peer"])
    lib.set("ctx", server, "client-sigalgs", ["RSA-PSS+SHA256", "ECDSA+SHA256"])
    assert lib.get("ctx", server, "client-sigalgs") == ["RSA-PSS+SHA256", "ECDSA+SHA256"]
    with pytest.raises(Unobservable, match="no CertificateRequest"):
        lib.get("ctx", client, "client-sigalgs")
    assert lib.errors() == []
    for ssl in (before, after):
        lib.ssl_free(ssl)
    lib.ctx_free(client)
    lib.ctx_free(server)
