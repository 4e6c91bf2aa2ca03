"""The calls that change what a rule compares: SSL_set_SSL_CTX, SSL_clear, a session
set and cleared, the setters' other forms, the verification parameters' fields.

Each is shown on the reference model (as the page says) and on the system OpenSSL
(the adapter performs it), and the C reproducer generator spells it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from backends.openssl.library import OpenSSL
from conformance.interpreter import Interpreter, ScriptError
from conformance.library import Json
from conformance.model import ModelLibrary
from conformance.repro.family import family_for
from conformance.repro.generate import generate
from conformance.repro.spell import Spelling
from conformance.results import RuleResult
from conformance.rules import rule
from conformance.script import Op, Script, Trace

MOVED_THEN_DUP = Script(
    (
        Op("ctx_new", method="tls"),
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_set_ctx", ssl=0, ctx=1),
        Op("ssl_get_ctx", ssl=0),
        Op("ssl_dup", ssl=0),
        Op("ssl_get_ctx", ssl=1),
    )
)
CLEARED_THEN_DUP = Script(
    (
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("handshake", ssl=0),
        Op("ssl_clear", ssl=0),
        Op("ssl_dup", ssl=0),
    )
)
FORMS = Script(
    (
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_set", ssl=0, setting="ca-list", value=["alpha"]),
        Op("ssl_set", ssl=0, setting="ca-list", value=["bravo", "alpha"], via="add1"),
        Op("ssl_get", ssl=0, setting="ca-list"),
        Op("ssl_set", ssl=0, setting="client-ca-list", value=["charlie"]),
        Op("ssl_set", ssl=0, setting="client-ca-list", value=["delta"], via="add-client-CA"),
        Op("ssl_get", ssl=0, setting="client-ca-list"),
        Op("ctx_set", ctx=0, setting="ca-list", value=["delta"], via="add1"),
        Op("ctx_get", ctx=0, setting="ca-list"),
    )
)
VERIFY_FIELDS: dict[str, Json] = {
    "depth": 4,
    "host": "alpha.test",
    "email": "admin@alpha.test",
    "ip": "192.0.2.1",
    "purpose": 2,  # X509_PURPOSE_SSL_SERVER
}
PARAMS = Script(
    (
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_set", ssl=0, setting="verify-param", value=VERIFY_FIELDS),
        Op("ssl_get", ssl=0, setting="verify-param"),
        Op("ssl_get", ssl=0, setting="verify-depth"),
        Op("ssl_set", ssl=0, setting="verify-depth", value=9),
        Op("ssl_get", ssl=0, setting="verify-param"),
    )
)


def _values(script: Script, trace: Trace, op: str) -> list[Json]:
    return [obs.value for o, obs in zip(script.ops, trace, strict=True) if o.op == op]


def test_the_model_moves_an_ssl_and_dup_keeps_the_context_s_was_made_from() -> None:
    trace = Interpreter(ModelLibrary()).run(MOVED_THEN_DUP)
    moved, dup_ctx = _values(MOVED_THEN_DUP, trace, "ssl_get_ctx")
    assert trace[3].value == 1  # SSL_set_SSL_CTX returned context 1
    assert moved == 1
    assert dup_ctx == 0  # "from the same SSL_CTX that was used to create s"


def test_the_system_openssl_moves_an_ssl_and_dups_from_its_current_context(
    system_openssl: OpenSSL,
) -> None:
    trace = Interpreter(system_openssl).run(MOVED_THEN_DUP)
    moved, dup_ctx = _values(MOVED_THEN_DUP, trace, "ssl_get_ctx")
    assert trace[3].value == 1 and moved == 1
    # SSL_dup is SSL_new(SSL_get_SSL_CTX(s)): the context s has now, not the one it was
    # made from. dup.initial.same-ctx reports it.
    assert dup_ctx == 1


@pytest.mark.parametrize("library", ["model", "openssl"])
def test_ssl_clear_brings_a_started_object_back_and_dup_copies_it(
    library: str, request: pytest.FixtureRequest
) -> None:
    lib = ModelLibrary() if library == "model" else request.getfixturevalue("system_openssl")
    trace = Interpreter(lib).run(CLEARED_THEN_DUP)
    assert trace[2].value is True  # the handshake started
    assert trace[3].value is True  # SSL_in_before after SSL_clear
    assert trace[4].object not in (None, trace[1].object)  # a new object: copied


@pytest.mark.parametrize("library", ["model", "openssl"])
def test_setter_forms_add_names_after_those_present(
    library: str, request: pytest.FixtureRequest
) -> None:
    lib = ModelLibrary() if library == "model" else request.getfixturevalue("system_openssl")
    trace = Interpreter(lib).run(FORMS)
    assert [obs.to_json() for obs in trace if obs.absent or obs.unobservable] == []
    ca, client_ca = _values(FORMS, trace, "ssl_get")
    assert ca == ["alpha", "bravo", "alpha"]
    assert client_ca == ["charlie", "delta"]
    assert _values(FORMS, trace, "ctx_get") == [["delta"]]


@pytest.mark.parametrize("library", ["model", "openssl"])
def test_verification_parameters_show_every_field_and_one_depth(
    library: str, request: pytest.FixtureRequest
) -> None:
    lib = ModelLibrary() if library == "model" else request.getfixturevalue("system_openssl")
    trace = Interpreter(lib).run(PARAMS)
    first, depth, after = _values(PARAMS, trace, "ssl_get")
    expected = dict(VERIFY_FIELDS)
    if isinstance(lib, OpenSSL) and not lib.settings.symbols.has("X509_VERIFY_PARAM_get_purpose"):
        # OpenSSL 3.0 to 3.4 have no getter of the purpose: the field is left out (its
        # rules are absent there), the other fields are read.
        expected.pop("purpose")
        assert "purpose" not in first
    assert {k: first[k] for k in expected} == expected
    assert depth == 4  # SSL_get_verify_depth reads the parameters' depth
    assert after["depth"] == 9  # and SSL_set_verify_depth sets it


def test_a_session_is_set_and_cleared_with_null(system_openssl: OpenSSL) -> None:
    script = Script(
        (
            Op("ctx_new", method="tls-client"),
            Op("ssl_new", ctx=0),
            Op("ssl_set", ssl=0, setting="session", value="session-a"),
            Op("ssl_get", ssl=0, setting="session"),
            Op("ssl_set", ssl=0, setting="session", value=None),
            Op("ssl_get", ssl=0, setting="session"),
        )
    )
    for lib in (ModelLibrary(), system_openssl):
        trace = Interpreter(lib).run(script)
        assert _values(script, trace, "ssl_get") == ["session-a", None], lib.version()


def test_a_form_the_setting_does_not_have_is_a_script_error() -> None:
    script = Script(
        (
            Op("ctx_new", method="tls"),
            Op("ssl_new", ctx=0),
            Op("ssl_set", ssl=0, setting="mode", value=["auto-retry"], via="add1"),
        )
    )
    with pytest.raises(ScriptError, match="no setter form 'add1'"):
        Interpreter(ModelLibrary()).run(script)


def test_an_adapter_without_the_new_ops_cannot_show_the_script() -> None:
    class Older(ModelLibrary):
        def __getattribute__(self, name: str) -> Any:
            if name == "ssl_clear":  # an adapter written before SSL_clear was an op
                raise AttributeError(name)
            return super().__getattribute__(name)

    trace = Interpreter(Older()).run(CLEARED_THEN_DUP)
    assert trace[-1].unobservable == "this backend's adapter does not implement ssl_clear"
    assert not trace[-1].absent


def test_ops_and_forms_round_trip_through_json() -> None:
    for script in (MOVED_THEN_DUP, CLEARED_THEN_DUP, FORMS):
        read = Script.from_json(script.to_json())
        assert read == script
        # Field by field as the constructor makes them, in its order: what a script
        # prints as (reproducers, reports) never depends on where it was read from.
        for made, again in zip(script.ops, read.ops, strict=True):
            assert list(vars(again).items()) == list(vars(made).items())
            assert json.dumps(again.to_json()) == json.dumps(made.to_json())


def test_an_observation_writes_every_field_it_has_and_no_unset_one() -> None:
    # to_json names the fields one by one: each set field is written, in field order.
    from dataclasses import fields

    from conformance.script import Observation

    every = Observation(
        object=1,
        null=True,
        value=0,
        freed=[2],
        errors=["e"],
        absent=["f"],
        unobservable="u",
        skipped="s",
    )
    assert list(every.to_json()) == [f.name for f in fields(Observation)]
    assert Observation.from_json(every.to_json()) == every
    assert Observation().to_json() == {}
    assert Observation(value=[]).to_json() == {"value": []}  # a value, even empty, stays


def test_a_script_as_text_is_its_json_and_alike_values_of_other_types_stay_apart() -> None:
    # Op.encoded keeps each distinct operation's text: True, 1 and 1.0 are equal in
    # Python, and must not be written as one another.
    ops = [
        Op("ssl_set", ssl=0, setting="verify-depth", value=1),
        Op("ssl_set", ssl=0, setting="verify-depth", value=True),
        Op("ssl_set", ssl=0, setting="verify-depth", value=1.0),
        Op("ssl_set", ssl=0, setting="options", value=["no-ticket"]),  # a list: not kept
        Op("ssl_new", ctx=0),
    ]
    for _ in range(2):  # written, then from what was kept
        for op in ops:
            assert op.encoded() == json.dumps(op.to_json())
        script = Script(tuple(ops))
        assert json.loads(script.encoded()) == script.to_json()


def test_an_operation_with_an_unknown_name_or_field_is_refused() -> None:
    with pytest.raises(ValueError, match="not an operation"):
        Op.from_json({"op": "ssl_frobnicate"})
    with pytest.raises(ValueError, match=r"unknown fields \['colour'\]"):
        Op.from_json({"op": "ssl_new", "ctx": 0, "colour": "red"})


def _reproducer(rule_id: str, script: Script) -> str:
    family = family_for("OpenSSL")
    assert family is not None
    cell = RuleResult(rule_id, "fail", script=script.to_json())
    return generate(rule(rule_id), cell, family, Spelling(family)).source


@pytest.mark.skipif(
    shutil.which("cc") is None or not Path("/usr/include/openssl/ssl.h").is_file(),
    reason="needs cc and the system OpenSSL's headers (libssl-dev)",
)
def test_the_reproducer_of_a_moved_ssl_shows_the_duplicate_s_context(tmp_path: Path) -> None:
    source = _reproducer("dup.initial.same-ctx", MOVED_THEN_DUP)
    assert "SSL_set_SSL_CTX(s, ctx2);" in source
    (tmp_path / "repro.c").write_text(source)
    built = subprocess.run(
        ["cc", "repro.c", "-lssl", "-lcrypto"], cwd=tmp_path, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    ran = subprocess.run(["./a.out"], cwd=tmp_path, capture_output=True, text=True)
    assert ran.returncode == 1, ran.stdout  # the deviation, seen in C
    assert "is not the context s came from" in ran.stdout


def test_the_reproducer_spells_forms_and_ssl_clear() -> None:
    forms = _reproducer("dup.copies.ca-list", FORMS + Script((Op("ssl_dup", ssl=0),)))
    assert 'SSL_add1_to_CA_list(s, cn_cert("bravo"))' in forms
    assert 'SSL_add_client_CA(s, cn_cert("delta"))' in forms
    assert 'SSL_CTX_add1_to_CA_list(ctx, cn_cert("delta"))' in forms
    cleared = _reproducer("dup.initial.new-object", CLEARED_THEN_DUP)
    assert "SSL_clear(s);" in cleared and "SSL_in_before(s)" in cleared
