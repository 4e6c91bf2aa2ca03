"""Rules side by side (conformance.lanes): every rule once, on whichever lane is free,
and the same results as one lane gives."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from conformance import lanes
from conformance.cli import main
from conformance.engine import Engine
from conformance.results import RuleResult


class _Runner:
    def close(self) -> None:
        pass


class _Engine:
    """What the lanes ask of an engine: its progress line (none here), and its runner,
    which a lane process closes when it is done."""

    progress = None
    runner = _Runner()


def _lanes(count: int) -> tuple[Engine, list[Callable[[], Engine]]]:
    # The lanes only hand an engine to run_one: stand-ins will do.
    local = cast(Engine, _Engine())
    return local, [lambda: cast(Engine, _Engine()) for _ in range(count - 1)]


def _run(count: int, ids: list[str], run_one: lanes.RunOne) -> list[tuple[int, RuleResult]]:
    local, remote = _lanes(count)
    return list(lanes.run(local, remote, ids, run_one))


def _pid_of(rule_id: str) -> RuleResult:
    return RuleResult(rule_id, "pass", detail=str(os.getpid()))


def test_each_rule_runs_once_and_a_slow_one_does_not_hold_the_others_back() -> None:
    ids = ["slow", "a", "b", "c", "d"]

    def run_one(engine: Engine, rule_id: str) -> RuleResult:
        if rule_id == "slow":
            time.sleep(0.5)
        return _pid_of(rule_id)

    ended = _run(2, ids, run_one)
    assert sorted(index for index, _ in ended) == list(range(len(ids)))
    assert all(ids[index] == result.id for index, result in ended)
    assert ended[-1][1].id == "slow"  # the other lane ran the rest meanwhile
    slow_lane = {r.detail for _, r in ended if r.id == "slow"}
    other_lanes = {r.detail for _, r in ended if r.id != "slow"}
    assert len(other_lanes) == 1 and other_lanes != slow_lane


def test_a_second_lane_is_a_process_of_its_own() -> None:
    ids = ["slow", "a", "b", "c", "d"]

    def run_one(engine: Engine, rule_id: str) -> RuleResult:
        time.sleep(0.5 if rule_id == "slow" else 0.05)
        return _pid_of(rule_id)

    pids = {r.detail for _, r in _run(2, ids, run_one)}
    assert len(pids) == 2 and str(os.getpid()) in pids


def test_one_lane_runs_the_rules_in_order_on_this_thread() -> None:
    names: list[str] = []

    def run_one(engine: Engine, rule_id: str) -> RuleResult:
        names.append(threading.current_thread().name)
        return RuleResult(rule_id, "pass")

    ended = _run(1, ["a", "b"], run_one)
    assert [(i, r.id) for i, r in ended] == [(0, "a"), (1, "b")]
    assert names == [threading.current_thread().name] * 2


def test_a_group_that_shares_its_scripts_is_taken_whole_by_one_lane() -> None:
    # Two members of one group, apart in the ids, and a rule of their cost between them:
    # the group is one unit (its costs added), in the place of its first member.
    ids = ["dup.copies.options", "dup.copies.mode", "dup.copies.ex-data", "new.creates"]
    assert lanes.order(ids) == [[0, 2], [1], [3]]
    ids = ["dup.copies.session-id-context", "ret.new.alloc-failure"]
    ids += ["dup.copies.generate-session-id"]
    assert lanes.order(ids) == [[0, 2], [1]]


def test_the_costliest_rules_are_taken_first_the_rest_in_the_catalogues_order() -> None:
    ids = ["new.creates", "ret.new.alloc-failure", "dup.copies.mode", "ref.free.at-zero"]
    ids += ["dup.copies.generate-session-id", "not.in.the.catalogue"]
    # threads and allocation failures, a setting read through a handshake: 3; the
    # reference-count machines: 2; a plain setter and getter, and what is not known: 1.
    assert [lanes.cost(r) for r in ids] == [1, 3, 1, 2, 3, 1]
    assert lanes.order(ids) == [[1], [4], [3], [0], [2], [5]]

    def run_one(engine: Engine, rule_id: str) -> RuleResult:
        return RuleResult(rule_id, "pass")

    ended = dict(_run(2, ids, run_one))
    assert [ended[i].id for i in sorted(ended)] == ids  # each result under its own rule


def test_what_the_local_lane_raises_reaches_the_caller() -> None:
    parent = os.getpid()

    def run_one(engine: Engine, rule_id: str) -> RuleResult:
        if os.getpid() == parent:
            raise KeyboardInterrupt
        time.sleep(0.2)
        return RuleResult(rule_id, "pass")

    with pytest.raises(KeyboardInterrupt):
        _run(2, ["a", "b", "c"], run_one)


def test_a_lane_process_that_dies_leaves_its_rule_an_error_and_the_run_goes_on() -> None:
    parent = os.getpid()

    def run_one(engine: Engine, rule_id: str) -> RuleResult:
        if os.getpid() != parent:
            os._exit(3)  # a harness bug that ends the lane's process
        time.sleep(0.1)
        return RuleResult(rule_id, "pass")

    ended = dict(_run(2, ["a", "b", "c", "d"], run_one))
    assert sorted(ended) == [0, 1, 2, 3]
    errors = [r for r in ended.values() if r.status == "error"]
    assert len(errors) == 1
    assert errors[0].detail == (
        "the lane process running this rule ended before it did (exit status 3)"
    )
    assert all(r.status == "pass" for r in ended.values() if r is not errors[0])


def test_a_lane_whose_worker_cannot_start_is_said_and_the_other_lane_runs_every_rule() -> None:
    from conformance.library import Unavailable

    def unavailable() -> Engine:
        raise Unavailable("no such library")

    heard: list[str] = []
    local = cast(Engine, _Engine())
    run_one = lambda engine, rule_id: _pid_of(rule_id)  # noqa: E731
    ended = list(lanes.run(local, [unavailable], ["a", "b"], run_one, said=heard.append))
    assert sorted(i for i, _ in ended) == [0, 1]
    assert {r.detail for _, r in ended} == {str(os.getpid())}
    assert heard == ["no such library"]


def _run_with_a_lane_that_sleeps(pid_file: str) -> None:
    parent = os.getpid()

    def run_one(engine: Engine, rule_id: str) -> RuleResult:
        if os.getpid() != parent:
            Path(pid_file).write_text(str(os.getpid()))
        time.sleep(60)  # both lanes busy: the lane process takes a rule of its own
        return RuleResult(rule_id, "pass")

    _run(2, ["a", "b", "c"], run_one)


def test_a_lane_process_ends_when_the_run_is_killed(tmp_path: Path) -> None:
    import multiprocessing
    import signal

    pid_file = tmp_path / "lane.pid"
    run = multiprocessing.get_context("fork").Process(
        target=_run_with_a_lane_that_sleeps, args=(str(pid_file),)
    )
    run.start()
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the lane never started its rule"
        time.sleep(0.05)
    lane = int(pid_file.read_text())
    os.kill(run.pid or 0, signal.SIGKILL)  # no cleanup of its own: only the lane's setting
    run.join()
    while time.monotonic() < deadline:
        try:
            os.kill(lane, 0)
        except ProcessLookupError:
            return
        # Reaped by whoever adopts it; until then it may linger as a zombie.
        if Path(f"/proc/{lane}/stat").read_text().split(") ")[1].startswith("Z"):
            return
        time.sleep(0.05)
    raise AssertionError("the lane process outlived the run")


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


def test_a_lane_whose_worker_cannot_start_leaves_a_soaks_budget_to_one_lane(
    tmp_path: Path,
) -> None:
    import os
    import shlex
    import subprocess
    import sys

    # A program speaking the worker protocol that starts once (the run's own worker) and
    # then says it is unavailable (the second lane's).
    shim = Path(__file__).resolve().parent / "shims" / "reference_shim.py"
    once = tmp_path / "once.sh"
    started = tmp_path / "started"
    once.write_text(
        "#!/bin/sh\n"
        f"if mkdir {shlex.quote(str(started))} 2>/dev/null; then\n"
        f'  exec {shlex.quote(sys.executable)} {shlex.quote(str(shim))} "$@"\n'
        "fi\n"
        "read line\n"
        'echo \'{"unavailable": "no second worker here"}\'\n'
    )
    once.chmod(0o755)
    out = tmp_path / "soak.json"
    rules = ["new.creates", "dup.copies.mode", "new.inherits.options", "dup.initial.new-object"]
    argv = [sys.executable, "-m", "conformance.cli", "run", "--backend", "exec", "--budget"]
    argv += ["6s", "--rules", *rules, "--results", str(out), "--quiet"]
    env = {**os.environ, "SSLCONFORM_EXEC": str(once)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "exec: one lane only: no second worker here" in done.stderr
    ran = json.loads(out.read_text())["rules"]
    assert sorted(r["id"] for r in ran) == sorted(rules)
    # One lane, four rules, 6 s: 1.5 s each from the rule it takes next (with two lanes'
    # share, 3 s each), and a rule's break run after it. The first may have started on
    # the two-lane share. (Wide bounds: a busy machine adds to every rule's time.)
    later = sorted(r["seconds"] for r in ran)[:-1]
    assert all(1.2 < seconds < 2.6 for seconds in later), later
