"""A library that crashes or hangs becomes a crash or timeout result; the run goes on."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from conformance.adapter_fault import AdapterFault
from conformance.engine import Engine
from conformance.library import Unavailable
from conformance.rules import rule
from conformance.script import Op, Script
from conformance.worker import InProcess, Launch, Worker, WorkerCrashed, WorkerTimedOut
from tests.adapters import misbehaving

ADAPTER = "tests.adapters.misbehaving"
SCRIPT = Script((Op("ctx_new", method="tls"), Op("ssl_new", ctx=0), Op("ssl_dup", ssl=0)))


def test_a_segfault_becomes_a_crash_carrying_the_script(worker_for: Any) -> None:
    worker = worker_for(ADAPTER, crash="ssl_dup")
    with pytest.raises(WorkerCrashed) as caught:
        worker.run(SCRIPT)
    assert "SIGSEGV" in caught.value.detail
    assert caught.value.ops == list(SCRIPT.ops)
    # the next script gets a fresh worker
    assert len(worker.run(Script(SCRIPT.ops[:2]))) == 2
    assert worker.restarts == 2


def test_a_hang_becomes_a_timeout_and_the_worker_is_replaced(worker_for: Any) -> None:
    worker = worker_for(ADAPTER, timeout=1.0, hang="ssl_dup")
    started = time.monotonic()
    with pytest.raises(WorkerTimedOut):
        worker.run(SCRIPT)
    assert time.monotonic() - started < 5
    assert len(worker.run(Script(SCRIPT.ops[:2]))) == 2


def test_engine_reports_crash_and_timeout_as_statuses(worker_for: Any) -> None:
    crashing = Engine(worker_for(ADAPTER, crash="ssl_dup"), "quick")
    result = crashing.run(rule("dup.initial.new-object"))
    assert result.status == "crash"
    assert result.script and any(op["op"] == "ssl_dup" for op in result.script["ops"])
    hanging = Engine(worker_for(ADAPTER, timeout=1.0, hang="ssl_up_ref"), "quick")
    result = hanging.run(rule("ret.up-ref.one"))
    assert result.status == "timeout"
    # and the same engine goes on to the next rule
    assert hanging.run(rule("new.creates")).status == "pass"


def test_killing_the_worker_mid_run_is_a_crash_and_the_run_finishes(
    killed_in_ssl_dup: Any,
) -> None:
    engine = Engine(killed_in_ssl_dup(), "quick")
    result = engine.run(rule("dup.initial.new-object"))
    assert result.status == "crash"
    assert "SIGKILL" in (result.detail or "")
    assert engine.run(rule("new.creates")).status == "pass"


def test_an_adapter_that_cannot_load_is_unavailable_with_its_reason() -> None:
    worker = Worker("nowhere", Launch("backends.openssl.library", lib_dir="/nonexistent"))
    with pytest.raises(Unavailable, match="no libcrypto"):
        worker.hello()


def test_an_adapter_exception_is_an_error_with_its_traceback(worker_for: Any) -> None:
    worker = worker_for(ADAPTER, **{"raise": "ssl_dup"})
    with pytest.raises(AdapterFault) as caught:
        worker.run(SCRIPT)
    assert caught.value.ops == list(SCRIPT.ops)
    assert worker.run(Script(SCRIPT.ops[:2]))  # the same process goes on: not a crash
    assert worker.restarts == 1

    result = Engine(worker, "quick").run(rule("dup.initial.new-object"))
    assert result.status == "error"
    detail = result.detail or ""
    assert detail.startswith("the adapter raised AdapterBug: the adapter got ssl_dup wrong\n")
    assert "Traceback (most recent call last):" in detail
    assert "tests/adapters/misbehaving.py" in detail  # where the adapter raised
    assert result.script and any(op["op"] == "ssl_dup" for op in result.script["ops"])
    assert worker.restarts == 1


def test_an_adapter_exception_in_process_is_an_error_too() -> None:
    library = misbehaving.load(None, {"raise": "ssl_dup"})
    result = Engine(InProcess("misbehaving", library), "quick").run(rule("dup.initial.new-object"))
    assert result.status == "error"
    assert "AdapterBug" in (result.detail or "") and "Traceback" in (result.detail or "")


def test_an_exit_the_library_causes_is_a_crash(worker_for: Any) -> None:
    worker = worker_for(ADAPTER, exit="ssl_dup")
    result = Engine(worker, "quick").run(rule("dup.initial.new-object"))
    assert result.status == "crash"
    assert f"exited with status {misbehaving.EXIT_STATUS}" in (result.detail or "")
    assert worker.run(Script(SCRIPT.ops[:2]))  # and a fresh worker takes over


def test_an_adapter_saying_it_does_not_observe_yet_is_one_line(worker_for: Any) -> None:
    worker = worker_for(ADAPTER, unobserved="ssl_dup")
    with pytest.raises(RuntimeError) as caught:
        worker.run(SCRIPT)
    assert str(caught.value) == (
        "worker: NotImplementedError: ssl_dup is not observed by this adapter yet"
    )
    assert worker.restarts == 1


SHORT = Script(SCRIPT.ops[:2])


def test_a_batch_gives_each_script_the_outcome_it_gets_alone(worker_for: Any) -> None:
    worker = worker_for(ADAPTER)
    batch = [SCRIPT, SHORT, Script((Op("ssl_free", ssl=3),)), SCRIPT]
    outcomes = worker.run_batch(batch)
    assert outcomes[0] == worker.run(SCRIPT) and outcomes[1] == worker.run(SHORT)
    assert isinstance(outcomes[2], Exception)  # a script that cannot run: its own outcome
    assert outcomes[3] == outcomes[0]
    assert worker.restarts == 1


def test_a_crash_inside_a_batch_is_reported_with_the_script_that_crashed(
    worker_for: Any,
) -> None:
    worker = worker_for(ADAPTER, crash="ssl_dup")
    with pytest.raises(WorkerCrashed) as caught:
        worker.run_batch([SHORT, SHORT, SCRIPT, SHORT])
    assert "SIGSEGV" in caught.value.detail
    assert caught.value.ops == list(SCRIPT.ops)


def test_a_break_is_switched_in_the_running_worker(worker_for: Any) -> None:
    worker = worker_for("conformance.model")
    checked = rule("dup.initial.new-object")
    worker.set_break(checked.id)
    broken = worker.run(SCRIPT)
    worker.set_break(None)
    kept = worker.run(SCRIPT)
    assert worker.restarts == 1  # one process all along
    assert broken[2].object == broken[1].object  # the break: SSL_dup returned s itself
    assert kept[2].object != kept[1].object


def test_batches_queue_and_answers_larger_than_a_pipe_come_back_in_order(
    worker_for: Any,
) -> None:
    # Three batches in flight, each request and answer far beyond a pipe's 64 KiB: the
    # child answers one while the next is still being written to it.
    worker = worker_for(ADAPTER)
    big = [SCRIPT] * 400
    alone = worker.run(SCRIPT)
    for _ in range(3):
        worker.submit(big)
    for _ in range(3):
        assert worker.collect() == [alone] * len(big)
    assert worker.restarts == 1


def test_discarded_batches_leave_the_pipe_in_step(worker_for: Any) -> None:
    worker = worker_for(ADAPTER)
    worker.submit([SCRIPT] * 50)
    worker.submit([SHORT] * 50)
    worker.discard()
    assert worker.run(SHORT) == worker.run_batch([SHORT])[0]
    assert worker.restarts == 1


def test_a_crash_with_batches_queued_behind_it_is_reported_and_the_worker_recovers(
    worker_for: Any,
) -> None:
    worker = worker_for(ADAPTER, crash="ssl_dup")
    worker.submit([SHORT, SCRIPT])
    worker.submit([SHORT] * 20)
    with pytest.raises(WorkerCrashed):
        worker.collect()
    worker.discard()
    assert worker.run_batch([SHORT]) == [worker.run(SHORT)]


def test_a_child_grown_past_its_limit_is_replaced_between_requests_only() -> None:
    # A limit no child stays under: each request that shares nothing with the one before
    # gets a fresh child, and what the scripts show does not change.
    worker = Worker(ADAPTER, Launch(ADAPTER, memory_limit_mib=1))
    try:
        alone = worker.run(SCRIPT)
        assert worker.run(SCRIPT) == alone
        assert (worker.restarts, worker.recycled) == (2, 1)
        # A batch submitted while another is on its way is kept back, and goes to a
        # fresh child once that one is answered: batches are never cut short, and a long
        # exploration (a soak) keeps one on its way all along.
        worker.submit([SCRIPT] * 3)
        worker.submit([SHORT] * 2)
        worker.submit([SCRIPT] * 4)
        assert worker.collect() == [alone] * 3
        assert worker.collect() == [alone[:2]] * 2
        assert worker.collect() == [alone] * 4
        assert (worker.restarts, worker.recycled) == (4, 3)  # both kept back: one child
        # Kept back and then discarded: nothing is waited for that was never sent.
        worker.submit([SCRIPT] * 2)
        worker.submit([SCRIPT] * 2)
        started = time.monotonic()
        worker.discard()
        assert time.monotonic() - started < 5
        assert worker.run(SCRIPT) == alone
        # Nor is a sequence of steps: only its reset may start a fresh child.
        worker.reset()
        first = [worker.step(op) for op in SCRIPT.ops]
        assert first == alone
    finally:
        worker.close()


def test_a_worker_keeping_operations_by_number_is_sent_each_once(worker_for: Any) -> None:
    worker = worker_for(ADAPTER)
    alone = worker.run(SCRIPT)
    assert worker.hello().get("numbered") is True
    # A list value (unhashable) is kept by its text; True and 1 stay apart.
    listed = Script((*SCRIPT.ops, Op("ssl_set", ssl=0, setting="options", value=["no-tlsv1"])))
    assert worker.run_batch([SCRIPT, listed, SCRIPT]) == [alone, worker.run(listed), alone]
    sent = json.loads(worker._batch_message([SCRIPT, listed]))
    assert sent["ops"] == []  # the child has every one of them already
    assert all(isinstance(n, int) for numbers in sent["scripts"] for n in numbers)
    worker._numbers = {}  # what a fresh child starts with: each operation again, once
    again = json.loads(worker._batch_message([SCRIPT, SCRIPT]))
    assert again["ops"] == [op.to_json() for op in SCRIPT.ops]
    assert again["scripts"] == [[0, 1, 2], [0, 1, 2]]


def test_a_numbered_batch_answers_as_the_same_scripts_sent_whole() -> None:
    # The child itself: the same scripts, sent whole and by number, the same answers; a
    # number never sent is that script's error, and the rest of the batch goes on.
    import subprocess
    import sys

    scripts = [SCRIPT.to_json(), SHORT.to_json()]
    requests = [
        {"cmd": "batch", "scripts": scripts},
        {"cmd": "batch", "ops": [op.to_json() for op in SCRIPT.ops], "scripts": [[0, 1, 2]]},
        {"cmd": "batch", "scripts": [[0, 1], [0, 7], [0, 1, 2]]},
    ]
    child = subprocess.run(
        [sys.executable, "-m", "conformance.worker", "--adapter", ADAPTER],
        input="".join(json.dumps(r) + "\n" for r in requests),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    whole, first, second = (json.loads(line)["outcomes"] for line in child.stdout.splitlines())
    assert first == whole[:1]
    assert second[0] == whole[1] and second[2] == whole[0]
    assert "no operation numbered 7" in second[1]["error"]
