"""Rules that share their scripts (properties.common.Group): each member judges its own
view of one script, as many scripts as it would explore alone, and its verdict does not
depend on which of its group's rules the run holds, nor in which order they run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from conformance.engine import Engine
from conformance.model import ModelLibrary
from conformance.properties import PROPERTIES
from conformance.properties.common import Group, ScriptProperty, Stop, Unshared
from conformance.results import RuleResult
from conformance.rules import rule
from conformance.script import Script, Trace
from conformance.worker import InProcess

MODE = "dup.copies.mode"
GROUP = ("dup.copies.verify-param.hostflags", MODE, "dup.copies.max-cert-list")


def _prop(rule_id: str) -> ScriptProperty:
    prop = PROPERTIES[rule_id]
    assert isinstance(prop, ScriptProperty)
    return prop


def _group(rule_id: str) -> Group:
    group = _prop(rule_id).group
    assert group is not None
    return group


def _same(result: RuleResult) -> tuple[Any, ...]:
    return (result.status, result.examples, result.scripts, result.script, result.observed)


def test_the_groups_hold_the_rules_they_name_and_each_rule_is_in_one() -> None:
    groups = {id(p.group): p.group for p in PROPERTIES.values() if isinstance(p, ScriptProperty)}
    groups.pop(id(None), None)
    named = [r for g in groups.values() if g is not None for r in g.rules]
    assert len(named) == len(set(named))
    for g in groups.values():
        assert g is not None and len(g.rules) >= 2
        assert all(_group(r) is g for r in g.rules)
    assert _group(MODE).rules == GROUP


def test_a_members_verdict_is_the_same_alone_with_its_group_and_in_any_order() -> None:
    broken = InProcess("mutant", ModelLibrary(broken=MODE))
    alone = Engine(broken, "default").run(rule(MODE))
    together = Engine(broken, "default")
    results = {r: together.run(rule(r)) for r in reversed(GROUP)}
    assert _same(results[MODE]) == _same(alone)
    held = Engine(broken, "default")
    held.selected = frozenset({MODE})  # a run of this rule only: the others not judged
    assert _same(held.run(rule(MODE))) == _same(alone)
    assert held._shared[_group(MODE).name] is not None
    assert set(held._shared[_group(MODE).name] or {}) == {MODE}
    assert alone.status == "fail"
    assert [results[r].status for r in GROUP if r != MODE] == ["pass", "pass"]
    assert all(results[r].examples >= 450 for r in GROUP if r != MODE)


def test_a_members_deviation_is_its_own_script_without_the_others_reads() -> None:
    result = Engine(InProcess("mutant", ModelLibrary(broken=MODE)), "default").run(rule(MODE))
    assert result.script is not None
    reads = [op for op in result.script["ops"] if op["op"] == "ssl_get"]
    assert {op["setting"] for op in reads} == {"mode"}


def test_each_member_is_judged_on_as_many_scripts_as_alone_and_the_library_runs_them_once() -> None:
    ran: list[int] = []

    class Counting(InProcess):
        def submit(self, scripts: Sequence[Script]) -> None:
            ran.append(len(scripts))
            super().submit(scripts)

    engine = Engine(Counting("model", ModelLibrary()), "default")
    found = engine._share(engine.runner, _group(MODE), engine.capabilities(), MODE)
    assert found is not None
    assert {r: (v.scripts, v.found) for r, v in found.items()} == dict.fromkeys(GROUP, (500, None))
    assert sum(ran) == 500


def test_a_shared_script_that_cannot_speak_for_a_member_leaves_each_to_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = InProcess("mutant", ModelLibrary(broken=MODE))
    monkeypatch.setitem(PROPERTIES, MODE, replace(_prop(MODE), group=None))
    own = Engine(broken, "default").run(rule(MODE))  # its own scripts: no group

    def refuses(script: Script, trace: Trace, member: Any, members: Any) -> tuple[Script, Trace]:
        raise Unshared("not this one")

    group = replace(_group(GROUP[0]), view=refuses)
    for r in GROUP:
        monkeypatch.setitem(PROPERTIES, r, replace(_prop(r), group=group))
    assert _same(Engine(broken, "default").run(rule(MODE))) == _same(own)
    assert own.status == "fail"


def test_a_crash_in_a_shared_script_is_the_crash_of_every_member_still_running(
    killed_in_ssl_dup: Any,
) -> None:
    engine = Engine(killed_in_ssl_dup(), "quick")
    first = engine.run(rule("dup.initial.new-object"))
    second = engine.run(rule("dup.initial.same-ctx"))
    assert first.status == second.status == "crash"
    assert first.script == second.script is not None


def test_a_members_end_on_a_shared_script_is_reported_on_a_script_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def lacks(rule: Any, script: Script, trace: Trace, caps: Any) -> None:
        raise Stop("absent", "the library lacks a getter", script, trace)

    monkeypatch.setitem(PROPERTIES, MODE, replace(_prop(MODE), check=lacks))
    result = Engine(InProcess("model", ModelLibrary()), "default").run(rule(MODE))
    assert result.status == "absent" and result.script is not None
    others = {"verify-param", "max-cert-list"}
    assert not [op for op in result.script["ops"] if op.get("setting") in others]


def test_an_error_in_one_members_check_is_that_members_not_swallowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The check fails once, on the first shared script: a member's own scripts would not
    # meet it again, so going back to them would lose it.
    checked = _prop(MODE).check
    failed: list[bool] = []

    def once(rule_: Any, script: Script, trace: Trace, caps: Any) -> None:
        if not failed:
            failed.append(True)
            raise RuntimeError("a harness bug")
        checked(rule_, script, trace, caps)

    monkeypatch.setitem(PROPERTIES, MODE, replace(_prop(MODE), check=once))
    engine = Engine(InProcess("model", ModelLibrary()), "default")
    with pytest.raises(RuntimeError, match="a harness bug"):
        engine.run(rule(MODE))
    assert engine.run(rule("dup.copies.max-cert-list")).status == "pass"
