"""Fixtures made in the parent; settings the OpenSSL adapter sees through getters and
real handshakes; the settings SSL_dup copies though the page does not list them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import beyond, fixtures
from conformance.engine import Engine
from conformance.library import Unavailable
from conformance.model import ModelLibrary
from conformance.rules import RULES, rule
from conformance.script import Op, Script
from conformance.settings import KEY_TYPES
from conformance.worker import InProcess, Launch, Worker


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fixtures.ensure(tmp_path_factory.mktemp("fx") / "fixtures")


@pytest.fixture
def openssl(fixture_dir: Path) -> Iterator[Worker]:
    worker = Worker(
        "openssl",
        Launch("backends.openssl.library", env={fixtures.ENV: str(fixture_dir)}),
    )
    try:
        worker.hello()
    except Unavailable as exc:
        pytest.skip(f"no system libssl: {exc}")
    yield worker
    worker.close()


def test_fixtures_are_a_chain_of_three_above_every_leaf(fixture_dir: Path) -> None:
    from cryptography import x509

    def cert(name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate((fixture_dir / f"{name}.pem").read_bytes())

    issuer_of = {"ca-1": "ca-2", "ca-2": "root", "root": "root"}
    for name, issuer in issuer_of.items():
        assert cert(name).issuer == cert(issuer).subject
    for kind in KEY_TYPES:
        leaf = cert(kind)
        assert leaf.subject.rfc4514_string() == f"CN={fixtures.common_name(kind)}"
        assert leaf.issuer == cert("ca-1").subject
        assert (fixture_dir / f"{kind}.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY")
        assert len((fixture_dir / f"{kind}.spki-sha256").read_text().strip()) == 64
    # made once: a second call reuses the folder as it is
    before = (fixture_dir / "root.pem").read_bytes()
    assert fixtures.ensure(fixture_dir) == fixture_dir
    assert (fixture_dir / "root.pem").read_bytes() == before


def _values(worker: Worker, ops: list[Op]) -> list[object]:
    trace = worker.run(Script(tuple(ops)))
    assert [o.unobservable for o in trace] == [None] * len(ops), trace
    assert [o.absent for o in trace] == [[]] * len(ops), trace
    return [o.value for o in trace]


def test_certificate_key_and_chain_have_real_getters(openssl: Worker) -> None:
    ops = [
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_get", ssl=0, setting="certificate"),
        Op("ssl_set", ssl=0, setting="certificate", value="ec-p256"),
        Op("ssl_set", ssl=0, setting="private-key", value="ec-p256"),
        Op("ssl_set", ssl=0, setting="chain", value=3),
        Op("ssl_get", ssl=0, setting="certificate"),
        Op("ssl_get", ssl=0, setting="private-key"),
        Op("ssl_get", ssl=0, setting="chain"),
        Op("ctx_set", ctx=0, setting="private-key", value="ed25519"),
        Op("ctx_get", ctx=0, setting="private-key"),
    ]
    values = _values(openssl, ops)
    assert values[2] is None
    assert values[6:9] == ["ec-p256", "ec-p256", 3]
    assert values[10] == "ed25519"


@pytest.mark.parametrize(
    ("setting", "value", "state"),
    [
        ("session-id-context", "context-b", "accept"),
        ("generate-session-id", "cb-b", "accept"),
        ("psk-identity-hint", "hint-a", "accept"),
        ("sigalgs", ["ECDSA+SHA256", "RSA+SHA384"], "connect"),
        ("sigalgs", ["RSA-PSS+SHA256", "ed25519"], "accept"),
        ("client-sigalgs", ["RSA+SHA256"], "accept"),
        ("client-cert-types", ["ecdsa-sign", "rsa-sign"], "accept"),
        ("tmp-dh", "ffdhe2048", "accept"),
        ("tmp-dh-callback", "cb-a", "accept"),
        ("dh-auto", 1, "accept"),
        ("dh-auto", 0, "accept"),
        ("dane", "dane-ta-cert-full", "connect"),
        ("dane", "dane-ee-spki-sha256", "connect"),
        ("session", "session-b", "connect"),
    ],
)
def test_a_handshake_shows_what_was_set(
    openssl: Worker, setting: str, value: object, state: str
) -> None:
    ops = [
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_set", ssl=0, setting="accept-connect-state", value=state),
        Op("ssl_set", ssl=0, setting=setting, value=value),
        Op("ssl_dup", ssl=0),
        Op("ssl_get", ssl=0, setting=setting),
        Op("ssl_get", ssl=1, setting=setting),
    ]
    assert _values(openssl, ops)[-2:] == [value, value]


def test_a_handshake_without_the_setting_shows_none(openssl: Worker) -> None:
    ops = [
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_set", ssl=0, setting="accept-connect-state", value="accept"),
        Op("ssl_get", ssl=0, setting="generate-session-id"),
        Op("ssl_new", ctx=0),
        Op("ssl_set", ssl=1, setting="accept-connect-state", value="accept"),
        Op("ssl_get", ssl=1, setting="psk-identity-hint"),
    ]
    values = _values(openssl, ops)
    assert values[3] is None and values[6] is None


def test_alpn_is_what_a_server_is_offered(openssl: Worker) -> None:
    ops = [
        Op("ctx_new", method="tls-client"),
        Op("ssl_new", ctx=0),
        Op("ssl_get", ssl=0, setting="alpn"),
        Op("ssl_new", ctx=0),
        Op("ssl_set", ssl=1, setting="alpn", value=["h2", "acme-tls/1"]),
        Op("ssl_get", ssl=1, setting="alpn"),
    ]
    values = _values(openssl, ops)
    assert values[2] is None and values[5] == ["h2", "acme-tls/1"]


def test_timeout_is_the_contexts_and_the_session_shows_it(openssl: Worker) -> None:
    ops = [
        Op("ctx_new", method="tls-server"),
        Op("ctx_set", ctx=0, setting="timeout", value=4321),
        Op("ssl_new", ctx=0),
        Op("ctx_get", ctx=0, setting="timeout"),
        Op("ssl_get", ssl=0, setting="timeout"),
    ]
    assert _values(openssl, ops)[-2:] == [4321, 4321]


def test_one_handshake_per_object(openssl: Worker) -> None:
    trace = openssl.run(
        Script(
            (
                Op("ctx_new", method="tls"),
                Op("ssl_new", ctx=0),
                Op("ssl_set", ssl=0, setting="accept-connect-state", value="accept"),
                Op("ssl_get", ssl=0, setting="session-id-context"),
                Op("ssl_get", ssl=0, setting="generate-session-id"),  # same handshake: answers
                Op("ssl_set", ssl=0, setting="session-id-context", value="context-a"),
                Op("ssl_get", ssl=0, setting="session-id-context"),  # changed since: cannot
            )
        )
    )
    assert trace[4].unobservable is None
    assert trace[6].unobservable == "settings changed after this object's handshake"


def test_the_peers_of_handshakes_are_not_reported_freed(openssl: Worker) -> None:
    trace = openssl.run(
        Script(
            (
                Op("ctx_new", method="tls"),
                Op("ssl_new", ctx=0),
                Op("ssl_get", ssl=0, setting="custom-extensions"),
                Op("ssl_free", ssl=0),
            )
        )
    )
    assert [o.freed for o in trace] == [[], [], [], [1]]


def test_engine_runs_the_new_rules_on_openssl(openssl: Worker) -> None:
    engine = Engine(openssl, "quick")
    for rule_id in ("dup.copies.certificate", "dup.copies.generate-session-id"):
        result = engine.run(rule(rule_id))
        assert result.status == "pass", (rule_id, result.detail)
    # serverinfo is configured on the context (OpenSSL has no per-SSL setter): s has it
    # from SSL_new, and the duplicate must show s's, not what the context has since.
    result = engine.run(rule("dup.copies.serverinfo"))
    assert result.status == "pass", result.detail
    assert result.examples > 0


def test_without_fixtures_the_adapter_says_it_cannot_observe() -> None:
    worker = Worker("bare", Launch("backends.openssl.library", env={fixtures.ENV: ""}))
    try:
        answer = worker.missing(["set:ssl:certificate", "get:ssl:quiet-shutdown"])
    except Unavailable as exc:
        pytest.skip(f"no system libssl: {exc}")
    finally:
        worker.close()
    assert answer == {"set:ssl:certificate": None, "get:ssl:quiet-shutdown": []}


def test_unlisted_settings_make_no_rule() -> None:
    names = {s.name for s in beyond.unlisted()}
    assert {"server-name", "alpn", "quiet-shutdown", "num-tickets"} <= names
    assert not [r.id for r in RULES if r.id.rsplit(".", 1)[-1] in names]


def test_observations_on_the_model_say_it_does_not_copy() -> None:
    found = beyond.observations(InProcess("reference", ModelLibrary()))
    assert {o.id for o in found} == {f"dup.unlisted.{s.name}" for s in beyond.unlisted()}
    assert all("does not copy" in o.summary for o in found), [o.summary for o in found]


def test_observations_on_openssl(openssl: Worker) -> None:
    found = {o.id: o.summary for o in beyond.observations(openssl)}
    assert set(found) == {f"dup.unlisted.{s.name}" for s in beyond.unlisted()}
    assert all("not observed" not in s for s in found.values()), found
