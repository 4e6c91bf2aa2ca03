"""A session resumed through a handshake (the `resume` op): s, as a client, completes a
full handshake with the harness's own server, which resumes the sessions it issued.

Shown on the system OpenSSL (the adapter performs it and the session is reused) and on
the reference model; the rules that change what they compare with it draw it on every
run; no rule judges whether a session was reused (the page promises nothing of it)."""

from __future__ import annotations

import dataclasses

import pytest

from backends.openssl.library import OpenSSL
from conformance.breaks import BreakingLibrary
from conformance.engine import CASES, Engine
from conformance.explore import CaseDraw
from conformance.interpreter import Interpreter
from conformance.library import Library
from conformance.model import ModelLibrary
from conformance.properties import PROPERTIES
from conformance.properties.common import (
    Capabilities,
    Deviation,
    ScriptProperty,
    SetAside,
    screen,
)
from conformance.repro.family import family_for
from conformance.repro.generate import CannotGenerate, generate
from conformance.repro.spell import Spelling
from conformance.results import RuleResult
from conformance.rules import Rule, rule
from conformance.script import Op, Script, Trace
from conformance.worker import InProcess

# The rules whose scripts change what they compare through a resumption.
DRAWING_RESUME = (
    "dup.initial.new-object",
    "dup.initial.same-ctx",
    "dup.started.same-handle",
    "dup.started.increments",
    "dup.copies.session",
    "dup.initial.independent-settings",
    "dup.initial.independent-lifetime",
)


def _resumed(session: str | None, method: str = "tls") -> Script:
    """s carries `session` (None: none), resumes, then SSL_dup(s) and both freed."""
    carried = () if session is None else (Op("ssl_set", ssl=0, setting="session", value=session),)
    return Script(
        (
            Op("ctx_new", method=method),
            Op("ssl_new", ctx=0),
            *carried,
            Op("resume", ssl=0),
            Op("ssl_get", ssl=0, setting="session"),
            Op("ssl_dup", ssl=0),
            Op("ssl_free", ssl=1),
            Op("ssl_free", ssl=0),
        )
    )


def _ours(freed: list[int]) -> list[int]:
    return [o for o in freed if o != -1]


def _run(library: Library, script: Script) -> Trace:
    trace = Interpreter(library).run(script)
    assert [o.to_json() for o in trace if o.absent or o.unobservable] == []
    return trace


@pytest.mark.parametrize("session", ["session-a", "session-b"])
def test_the_system_openssl_resumes_its_servers_session_and_dup_then_returns_s(
    system_openssl: OpenSSL, session: str
) -> None:
    script = _resumed(session)
    trace = _run(system_openssl, script)
    resumed, carried, dup, first_free, last_free = trace[3:]
    assert resumed.value is True  # SSL_session_reused: the server resumed it
    assert carried.value == session  # the very SSL_SESSION s was given (no ticket)
    assert dup.object == trace[1].object  # not in its initial state: s itself
    # The free callback sees every SSL the process frees: -1 is one not of this script
    # (in-process, the interpreter's ssl module may free its own at any time).
    assert _ours(first_free.freed) == []  # SSL_dup added a reference
    assert _ours(last_free.freed) == [trace[1].object]


def test_a_session_keeps_resuming_after_scripts_that_freed_or_cleared_its_carriers(
    system_openssl: OpenSSL,
) -> None:
    """Both ends close cleanly: no SSL_free or SSL_clear of a carrier spoils the fixture
    for the scripts after it (a session freed unclosed is marked not resumable)."""
    cleared = Script(
        (
            Op("ctx_new", method="tls-client"),
            Op("ssl_new", ctx=0),
            Op("ssl_set", ssl=0, setting="session", value="session-a"),
            Op("resume", ssl=0),
            Op("ssl_clear", ssl=0),
            Op("ssl_get", ssl=0, setting="session"),
            Op("ssl_free", ssl=0),
        )
    )
    for _ in range(3):
        trace = _run(system_openssl, cleared)
        assert (trace[3].value, trace[4].value, trace[5].value) == (True, True, "session-a")
        assert _run(system_openssl, _resumed("session-a"))[3].value is True


def test_without_a_session_of_its_server_s_completes_a_full_handshake(
    system_openssl: OpenSSL,
) -> None:
    trace = _run(system_openssl, _resumed(None))
    assert trace[2].value is False  # a full handshake: nothing to reuse
    assert trace[3].value == "other"  # the session that handshake made
    assert trace[4].object == trace[1].object  # not in its initial state either way


def test_a_handshake_other_settings_forbid_sets_the_script_aside(system_openssl: OpenSSL) -> None:
    script = Script(
        (
            Op("ctx_new", method="tls"),
            Op("ssl_new", ctx=0),
            Op("ssl_set", ssl=0, setting="min-proto-version", value="tls1.3"),
            Op("resume", ssl=0),
        )
    )
    trace = Interpreter(system_openssl).run(script)
    assert trace[-1].unobservable and "failed" in trace[-1].unobservable
    assert not trace[-1].absent  # nothing the library lacks: a set-aside script
    with pytest.raises(SetAside):
        screen(script, trace, Capabilities())


def test_the_model_resumes_what_its_server_issued_and_leaves_the_initial_state() -> None:
    for session, reused in (("session-a", True), ("session-b", True), (None, False)):
        script = _resumed(session)
        trace = _run(ModelLibrary(), script)
        at = 3 if session else 2
        assert trace[at].value is reused
        assert trace[at + 1].value == session  # s carries the session it had
        assert trace[at + 2].object == trace[1].object  # SSL_dup: s, one more reference
        assert trace[-1].freed == [trace[1].object]


def test_the_model_cannot_resume_from_a_server_method_or_a_started_handshake() -> None:
    server = Interpreter(ModelLibrary()).run(_resumed("session-a", method="tls-server"))
    assert server[3].unobservable and "server-only" in server[3].unobservable
    started = Script(
        (
            Op("ctx_new", method="tls"),
            Op("ssl_new", ctx=0),
            Op("handshake", ssl=0),
            Op("resume", ssl=0),
        )
    )
    assert "already started" in (Interpreter(ModelLibrary()).run(started)[3].unobservable or "")


def test_after_a_resumption_ssl_clear_makes_s_ready_and_dup_copies_its_session() -> None:
    script = Script(
        (
            Op("ctx_new", method="tls-client"),
            Op("ssl_new", ctx=0),
            Op("ssl_set", ssl=0, setting="session", value="session-b"),
            Op("resume", ssl=0),
            Op("ssl_clear", ssl=0),
            Op("ssl_dup", ssl=0),
            Op("ssl_get", ssl=0, setting="session"),
            Op("ssl_get", ssl=1, setting="session"),
        )
    )
    trace = _run(ModelLibrary(), script)
    assert trace[4].value is True and trace[5].object not in (None, trace[1].object)
    assert (trace[6].value, trace[7].value) == ("session-b", "session-b")


def test_a_break_of_the_started_rules_sees_a_resumption_leave_the_initial_state() -> None:
    """dup-started-new makes a new object once s left its initial state: after a
    resumption too, so dup.started.same-handle can fail on scripts that resume."""
    broken = BreakingLibrary(ModelLibrary(), "dup.started.same-handle")
    trace = _run(broken, _resumed("session-a"))
    assert trace[5].object != trace[1].object


def test_the_rules_that_change_what_they_compare_draw_a_resumption_on_every_run() -> None:
    caps = Engine(InProcess("reference", ModelLibrary()), "quick").capabilities()
    for rule_id in DRAWING_RESUME:
        prop = PROPERTIES[rule_id]
        assert isinstance(prop, ScriptProperty)
        fixed = [prop.scripts(CaseDraw(rule_id, i), rule(rule_id), caps) for i in range(CASES)]
        resuming = [s for s in fixed if any(op.op == "resume" for op in s.ops)]
        assert resuming, f"{rule_id}: no fixed case resumes a session"
        assert any(s.ops[0].method != "tls-server" for s in resuming), rule_id


def test_no_rule_judges_whether_a_session_was_reused() -> None:
    """The page promises nothing of resumption: a library that does not resume (every
    resume value turned over) gets the verdict the model gets, on every fixed case."""
    caps = Engine(InProcess("reference", ModelLibrary()), "quick").capabilities()
    judged = 0
    for rule_id in DRAWING_RESUME:
        checked, prop = rule(rule_id), PROPERTIES[rule_id]
        assert isinstance(prop, ScriptProperty)
        for i in range(CASES):
            script = prop.scripts(CaseDraw(rule_id, i), checked, caps)
            if not any(op.op == "resume" for op in script.ops):
                continue
            trace = Interpreter(ModelLibrary()).run(script)
            turned = [
                dataclasses.replace(obs, value=not obs.value) if op.op == "resume" else obs
                for op, obs in zip(script.ops, trace, strict=False)
            ]
            assert _verdict(prop, checked, script, trace) == _verdict(
                prop, checked, script, turned
            ), (rule_id, str(script))
            judged += 1
    assert judged > 0


def _verdict(prop: ScriptProperty, checked: Rule, script: Script, trace: Trace) -> str:
    caps = Capabilities()
    try:
        screen(script, trace, caps, prop.judges_null)
        prop.check(checked, script, trace, caps)
    except SetAside:
        return "set aside"
    except Deviation as found:
        return f"fail: {found.detail}"
    return "pass"


def test_the_reproducer_of_a_resuming_script_says_why_it_is_not_built() -> None:
    family = family_for("OpenSSL")
    assert family is not None
    cell = RuleResult("dup.started.same-handle", "fail", script=_resumed(None).to_json())
    with pytest.raises(CannotGenerate, match="harness's own server"):
        generate(rule("dup.started.same-handle"), cell, family, Spelling(family))


def test_resume_round_trips_through_json() -> None:
    script = _resumed("session-a")
    assert Script.from_json(script.to_json()) == script
