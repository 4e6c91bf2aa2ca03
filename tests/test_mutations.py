"""Every rule is shown able to fail: each catches a model that breaks just that rule."""

from __future__ import annotations

from conformance.engine import Engine
from conformance.model import ModelLibrary
from conformance.rules import RULES
from conformance.worker import InProcess
from tests.conftest import SUMMARY

TESTABLE = [r for r in RULES if r.testable]


def test_the_reference_model_passes_every_rule() -> None:
    engine = Engine(InProcess("reference", ModelLibrary()), "quick")
    failures = {r.id: engine.run(r) for r in TESTABLE}
    assert {k: (v.status, v.detail) for k, v in failures.items() if v.status != "pass"} == {}


def test_mutation_score_is_100_percent() -> None:
    caught, missed = [], []
    for r in TESTABLE:
        result = Engine(InProcess("mutant", ModelLibrary(broken=r.id)), "default").run(r)
        (caught if result.status == "fail" else missed).append((r.id, result.status))
    score = 100.0 * len(caught) / len(TESTABLE)
    SUMMARY.append(
        f"mutation score: {len(caught)}/{len(TESTABLE)} rules caught their mutant ({score:.0f}%)"
        + (f"; missed: {missed}" if missed else "")
    )
    assert missed == []
