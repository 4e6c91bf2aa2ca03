"""The engine's exploration: fixed cases whatever the seed, a seeded explorer, batches,
flaky verdicts, breaks switched in place, and the soak's budget."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.engine import CASES, Engine
from conformance.explore import CaseDraw, Narrowing, RandomDraw, edges
from conformance.interpreter import Interpreter
from conformance.model import ModelLibrary
from conformance.properties import PROPERTIES
from conformance.properties.common import Deviation, ScriptProperty
from conformance.rules import rule
from conformance.script import Op, Script, Trace
from conformance.settings import BY_NAME, IntRange, SubsetOf
from conformance.worker import InProcess

PARAM_TIME = "dup.copies.verify-param.time"


def _scripts(engine: Engine, rule_id: str) -> list[Script]:
    checked = rule(rule_id)
    prop = PROPERTIES[rule_id]
    assert isinstance(prop, ScriptProperty)
    return [s for batch in engine._batches(checked, prop, engine.capabilities()) for s in batch]


def test_the_fixed_cases_are_the_same_whatever_the_seed_and_the_rest_is_seeded() -> None:
    model = InProcess("model", ModelLibrary())
    one, two = Engine(model, "default", 1), Engine(model, "default", 2)
    first, second = (
        _scripts(one, PARAM_TIME),
        _scripts(two, PARAM_TIME),
    )
    assert len(first) == len(second) == 500
    assert first[:CASES] == second[:CASES]
    assert first[CASES:] != second[CASES:]
    assert _scripts(Engine(model, "default", 1), PARAM_TIME) == first


def test_edges_take_the_ends_of_each_domain() -> None:
    assert {0, 65535} <= set(edges(IntRange(0, 65535)))  # type: ignore[arg-type]
    assert [] in edges(SubsetOf(("a", "b", "c"), 0, 3))
    assert ["a", "b", "c"] in edges(SubsetOf(("a", "b", "c"), 0, 3))
    case = CaseDraw("dup.copies.verify-depth", 0)
    depth = BY_NAME["verify-depth"]
    assert all(case.value(depth) in edges(depth.domain) for _ in range(20))  # type: ignore[arg-type]


def test_field_values_set_the_field_the_rule_is_about() -> None:
    draw = RandomDraw(random.Random(5))
    param = BY_NAME["verify-param"]
    assert all("time" in draw.value(param, "time") for _ in range(200))  # type: ignore[operator]


def test_narrowing_keeps_what_a_deviating_script_used() -> None:
    script = Script(
        (
            Op("ctx_new", method="tls-server"),
            Op("ctx_set", ctx=0, setting="verify-depth", value=3),
            Op("ssl_new", ctx=0),
            Op("ssl_get", ssl=0, setting="options"),
        )
    )
    narrowing = Narrowing.of(script)
    assert narrowing.settings == {"verify-depth", "options"}
    assert narrowing.values == {"verify-depth": [3]}
    assert narrowing.methods == ["tls-server"]


def test_the_same_seed_gives_the_same_minimal_script() -> None:
    checked = rule(PARAM_TIME)
    runs = [
        Engine(InProcess("m", ModelLibrary(broken=checked.id)), "default", 4).run(checked)
        for _ in range(2)
    ]
    assert [r.status for r in runs] == ["fail", "fail"]
    assert runs[0].script == runs[1].script
    assert runs[0].scripts > 0


class BrokenOnce(InProcess):
    """A library broken the first time it runs each script, and right ever after: its
    verdict differs when the same script runs again."""

    def __init__(self, rule_id: str) -> None:
        super().__init__("broken-once", ModelLibrary())
        self.broken = Interpreter(ModelLibrary(broken=rule_id))
        self.seen: set[str] = set()

    def run(self, script: Script) -> Trace:
        if script.dumps() not in self.seen:
            self.seen.add(script.dumps())
            return self.broken.run(script)
        return super().run(script)


def test_a_verdict_that_differs_when_run_again_is_flaky_with_both_observations() -> None:
    checked = rule("dup.initial.new-object")
    result = Engine(BrokenOnce(checked.id), "quick").run(checked)
    assert result.status == "flaky", (result.status, result.detail)
    assert result.script and result.trace and result.rerun_trace
    assert result.trace != result.rerun_trace
    assert "deviated once and held when it ran again" in (result.detail or "")


def test_a_break_is_switched_in_the_same_runner_and_switched_off_after() -> None:
    model = InProcess("model", ModelLibrary())
    engine = Engine(model, "quick")
    result = engine.run(rule("dup.initial.new-object"))
    assert result.status == "pass" and result.able_to_fail
    assert model.library is model.base  # the break is off again
    assert engine.run(rule("new.creates")).status == "pass"


def test_a_soak_explores_for_its_budget_and_records_the_scripts_per_rule(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    args = ["run", "--backend", "reference", "--rules", "dup.copies.verify-depth", "new.creates"]
    assert main([*args, "--budget", "2s", "--results", str(out), "--quiet"]) == 0
    data: dict[str, Any] = json.loads(out.read_text())
    ran = {r["id"]: r["scripts"] for r in data["rules"]}
    assert set(ran) == {"dup.copies.verify-depth", "new.creates"}
    # A second each, far past the default profile's count on the model.
    assert all(count > 500 for count in ran.values()), ran
    assert data["state"] == "complete"


def test_a_bad_budget_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--backend", "reference", "--budget", "soon"]
    assert main([*args, "--results", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--budget soon" in err[0]


def test_the_gate_and_the_report_take_a_flaky_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from conformance.results import LibraryInfo, Results, RuleResult

    results = tmp_path / "results" / "openssl.json"
    flaky = RuleResult("dup.initial.new-object", "flaky", detail="deviated once, then held")
    Results(
        backend="openssl",
        library=LibraryInfo("OpenSSL", "OpenSSL 3.0.19 27 Jan 2026", "3.0.0"),
        state="complete",
        rules=[flaky],
    ).write(results)
    expected = tmp_path / "expected.toml"
    assert main(["baseline", str(results), "--out", str(expected)]) == 0
    assert 'status = "flaky"' in expected.read_text()
    assert main(["check", str(results), "--expected", str(expected)]) == 0
    assert main(["report", str(results), "--out", str(tmp_path / "report")]) == 0
    assert "flaky" in (tmp_path / "report" / "index.html").read_text()
    assert "Traceback" not in "".join(capsys.readouterr())


def test_fixed_cases_enumerate_every_combination_of_a_generators_first_decisions() -> None:
    """Coverage by construction: on, say, three yes/no decisions (the target on the
    context too? changed after SSL_new? set twice?) the first eight cases meet all eight
    combinations, and a small count (1 or 2 sets) both of its values, on every run."""
    from conformance.explore import CaseDraw

    def shape(i: int) -> tuple[bool, bool, bool, int]:
        d = CaseDraw("dup.copies.verify-depth", i)
        return d.boolean(), d.boolean(), d.boolean(), d.integer(1, 2)

    seen = {shape(i) for i in range(16)}
    assert len(seen) == 16
    assert [shape(i) for i in range(16)] == [shape(i) for i in range(16)]  # no run seed


def test_a_deviation_keeps_only_the_settings_alongside_that_it_needs() -> None:
    # The model's mutant for dup.copies.mode copies no mode: the read-ahead and the
    # options set alongside are not needed, the mode set on s is the rule's own.
    mode = "dup.copies.mode"
    engine = Engine(InProcess("mutant", ModelLibrary(broken=mode)), "default")
    prop = PROPERTIES[mode]
    assert isinstance(prop, ScriptProperty)
    script = Script(
        (
            Op("ctx_new", method="tls"),
            Op("ctx_set", ctx=0, setting="read-ahead", value=1),
            Op("ssl_new", ctx=0),
            Op("ssl_set", ssl=0, setting="options", value=["no-ticket"]),
            Op("ssl_set", ssl=0, setting="mode", value=["auto-retry"]),
            Op("ssl_dup", ssl=0),
            Op("ssl_get", ssl=0, setting="mode"),
            Op("ssl_get", ssl=1, setting="mode"),
        )
    )
    caps = engine.capabilities()
    found = engine._verdict(rule(mode), prop, caps, script, engine.runner.run(script))
    assert isinstance(found, Deviation)
    kept = engine._unneeded(engine.runner, rule(mode), prop, caps, found)
    assert kept.script is not None
    assert [op.setting for op in kept.script.ops if op.op.endswith("_set")] == ["mode"]
