"""Every rule is shown able to fail: each catches a model that breaks just that rule, for
that mutant's own reason (its declared signature), and the other rules that fail on the
same mutant are listed as collateral."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.engine import Engine
from conformance.model import ModelLibrary
from conformance.mutants import SIGNATURES
from conformance.rules import RULES
from conformance.worker import InProcess
from tests.conftest import SUMMARY

TESTABLE = [r for r in RULES if r.testable]
COLLATERAL_EXAMPLES = 6
CAUGHT: dict[str, str] = {}  # rule id -> how its mutant was caught
COLLATERAL: dict[str, list[str]] = {}  # rule id -> other rules its mutant fails


def test_the_reference_model_passes_every_rule_and_each_pass_could_fail() -> None:
    engine = Engine(InProcess("reference", ModelLibrary()), "quick")
    results = {r.id: engine.run(r) for r in TESTABLE}
    assert {k: (v.status, v.detail) for k, v in results.items() if v.status != "pass"} == {}
    assert [k for k, v in results.items() if not v.able_to_fail] == []
    for r in TESTABLE:
        assert r.breaks is not None and results[r.id].able_to_fail == r.breaks.says


def test_every_mutant_has_a_signature() -> None:
    assert set(SIGNATURES) == {r.id for r in TESTABLE}


@pytest.mark.parametrize("rule_id", [r.id for r in TESTABLE])
def test_each_mutant_is_caught_by_its_rule_for_its_own_reason(rule_id: str) -> None:
    rule = next(r for r in TESTABLE if r.id == rule_id)
    result = Engine(InProcess("mutant", ModelLibrary(broken=rule_id)), "default").run(rule)
    signature = SIGNATURES[rule_id]
    assert result.status == "fail", (result.status, result.detail)
    assert result.detail and result.script, "a fail names what deviated and the script"
    assert signature.holds(result.expected, result.observed), (
        f"caught, but not for the mutant's reason ({signature.says}): "
        f"expected {result.expected!r}, observed {result.observed!r}: {result.detail}"
    )
    CAUGHT[rule_id] = result.detail
    # The other rules this mutant also fails, within a few examples each (no shrinking):
    # listed, not required either way.
    others = Engine(InProcess("mutant", ModelLibrary(broken=rule_id)), "quick", breaking=True)
    others.max_examples = COLLATERAL_EXAMPLES
    COLLATERAL[rule_id] = [
        r.id for r in TESTABLE if r.id != rule_id and others._run(r).status == "fail"
    ]


@pytest.fixture(autouse=True, scope="module")
def _score() -> Iterator[None]:
    """The mutation score and the collateral, printed at the end of the run."""
    yield
    if not CAUGHT:
        return  # no mutant ran (deselected)
    ran = [r.id for r in TESTABLE if r.id in COLLATERAL or r.id in CAUGHT]
    score = 100.0 * len(CAUGHT) / len(TESTABLE)
    SUMMARY.append(
        f"mutation score: {len(CAUGHT)}/{len(TESTABLE)} rules caught their mutant for its own "
        f"reason ({score:.0f}%; {len(ran)} mutant(s) run)"
    )
    collateral = {k: v for k, v in COLLATERAL.items() if v}
    SUMMARY.append(
        f"collateral: {len(collateral)} mutant(s) also fail other rules"
        + "".join(f"\n  {k}: {', '.join(v)}" for k, v in sorted(collateral.items()))
    )


SEEDS = (1, 2, 3)


@pytest.mark.parametrize("rule_id", [r.id for r in TESTABLE])
def test_each_mutant_fails_under_the_default_profile_on_every_seed(rule_id: str) -> None:
    """Coverage by construction: whatever the seed, the default profile catches each
    mutant. Each seed's run stops at its first deviation (as a break run does): whether
    it fails is what counts here, the shrinking is tested above."""
    rule = next(r for r in TESTABLE if r.id == rule_id)
    statuses = {}
    for run_seed in SEEDS:
        engine = Engine(
            InProcess("mutant", ModelLibrary(broken=rule_id)), "default", run_seed, breaking=True
        )
        result = engine._run(rule)
        statuses[run_seed] = (result.status, result.detail if result.status != "fail" else "")
    assert statuses == {s: ("fail", "") for s in SEEDS}
