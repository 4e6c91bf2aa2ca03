"""Rules side by side (conformance.lanes): every rule once, on whichever lane is free,
and the same results as one lane gives."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, cast

import pytest

from conformance import lanes
from conformance.cli import main
from conformance.engine import Engine
from conformance.results import RuleResult


def _engines(count: int) -> list[Engine]:
    # The lanes only hand an engine to run_one: any distinct objects stand in for them.
    return [cast(Engine, object()) for _ in range(count)]


def test_each_rule_runs_once_and_a_slow_one_does_not_hold_the_others_back() -> None:
    ids = ["slow", "a", "b", "c", "d"]
    seen: list[tuple[str, str]] = []

    def run_one(engine: Engine, rule_id: str) -> RuleResult:
        if rule_id == "slow":
            time.sleep(0.3)
        seen.append((threading.current_thread().name, rule_id))
        return RuleResult(rule_id, "pass")

    ended = list(lanes.run(_engines(2), ids, run_one))
    assert sorted(index for index, _ in ended) == list(range(len(ids)))
    assert all(ids[index] == result.id for index, result in ended)
    assert ended[-1][1].id == "slow"  # the other lane ran the rest meanwhile
    assert sorted(r for _, r in seen) == sorted(ids)
    slow_lane = {lane for lane, r in seen if r == "slow"}
    other_lanes = {lane for lane, r in seen if r != "slow"}
    assert len(other_lanes) == 1 and other_lanes != slow_lane


def test_one_lane_runs_the_rules_in_order_on_this_thread() -> None:
    names: list[str] = []

    def run_one(engine: Engine, rule_id: str) -> RuleResult:
        names.append(threading.current_thread().name)
        return RuleResult(rule_id, "pass")

    ended = list(lanes.run(_engines(1), ["a", "b"], run_one))
    assert [(i, r.id) for i, r in ended] == [(0, "a"), (1, "b")]
    assert names == [threading.current_thread().name] * 2


def test_the_costliest_rules_are_taken_first_the_rest_in_the_catalogues_order() -> None:
    ids = ["new.creates", "ret.new.alloc-failure", "dup.copies.mode", "ref.free.at-zero"]
    ids += ["dup.copies.generate-session-id", "not.in.the.catalogue"]
    # threads and allocation failures, a setting read through a handshake: 3; the
    # reference-count machines: 2; a plain setter and getter, and what is not known: 1.
    assert [lanes.cost(r) for r in ids] == [1, 3, 1, 2, 3, 1]
    assert lanes.order(ids) == [1, 4, 3, 0, 2, 5]

    def run_one(engine: Engine, rule_id: str) -> RuleResult:
        return RuleResult(rule_id, "pass")

    ended = dict(lanes.run(_engines(2), ids, run_one))
    assert [ended[i].id for i in sorted(ended)] == ids  # each result under its own rule


def test_what_a_lane_raises_reaches_the_caller() -> None:
    def run_one(engine: Engine, rule_id: str) -> RuleResult:
        if rule_id == "b":
            raise KeyboardInterrupt
        return RuleResult(rule_id, "pass")

    with pytest.raises(KeyboardInterrupt):
        list(lanes.run(_engines(2), ["a", "b", "c"], run_one))


def _openssl_column(tmp_path: Path, workers: int) -> dict[str, Any]:
    out = tmp_path / f"workers-{workers}.json"
    rules = ["dup.copies.verify-param.time", "ref.up-ref.increments", "dup.copies.mode"]
    rules += ["ret.new.alloc-failure", "new.inherits.options"]
    argv = ["run", "--backend", "openssl", "--profile", "quick", "--seed", "7"]
    assert main([*argv, "--workers", str(workers), "--rules", *rules, "--results", str(out)]) == 0
    data: dict[str, Any] = json.loads(out.read_text())
    return data


@pytest.mark.skipif(
    not any(Path(d).glob("libssl.so.3") for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64")),
    reason="no system libssl.so.3",
)
def test_two_lanes_give_the_results_one_lane_gives(tmp_path: Path) -> None:
    one, two = _openssl_column(tmp_path, 1), _openssl_column(tmp_path, 2)
    assert [r["id"] for r in two["rules"]] == [r["id"] for r in one["rules"]]  # catalogue order
    for a, b in zip(one["rules"], two["rules"], strict=True):
        for key in ("status", "examples", "scripts", "script", "able_to_fail"):
            assert a[key] == b[key], (a["id"], key)
    assert {r["status"] for r in one["rules"]} >= {"pass", "fail"}


def test_a_soaks_progress_line_shows_the_rule_of_each_lane(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from conformance.cli import _ProgressLine

    monkeypatch.setenv("COLUMNS", "200")
    line = _ProgressLine(600)
    line("dup.copies.mode", 1000, 0.5)
    line("new.creates", 300, 0.1)
    shown = capsys.readouterr().err.split("\r")[-1]
    assert "dup.copies.mode 1,000 scripts (2,000/s)" in shown
    assert "new.creates 300 scripts (3,000/s)" in shown and shown.endswith("s left")
    line.ended("dup.copies.mode")
    line("new.creates", 600, 0.2)
    assert "dup.copies.mode" not in capsys.readouterr().err.split("\r")[-1]
    monkeypatch.setenv("COLUMNS", "40")  # one terminal line, or \r cannot take it back
    line("new.creates", 900, 0.3)
    assert len(capsys.readouterr().err.split("\r")[-1].removeprefix("\033[K")) == 39
