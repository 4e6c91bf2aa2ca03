"""A program of its own speaking the worker protocol is a column (conformance/PROTOCOL.md).

tests/shims/reference_shim.py is such a program, over the reference model. Started as a
backend whose adapter is "exec:PROGRAM", it says hello as the protocol asks, runs scripts,
and holds to every rule exactly as the reference model does in-process; when it dies, the
harness says so as it does for any worker.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.engine import Engine
from conformance.model import load as load_model
from conformance.rules import RULES
from conformance.script import Op, Script
from conformance.worker import EXEC, PROTOCOL, InProcess, Launch, Worker, WorkerCrashed

SHIM = Path(__file__).resolve().parent / "shims" / "reference_shim.py"


@pytest.fixture
def shim() -> Iterator[Worker]:
    worker = Worker("shim", Launch(EXEC + str(SHIM), prefix=[sys.executable]))
    yield worker
    worker.close()


def test_the_program_says_hello_as_the_protocol_asks(shim: Worker) -> None:
    hello = shim.hello()
    assert hello["protocol"] == PROTOCOL
    assert hello["version"] == load_model(None, {}).version()
    assert hello["mapped"] == []
    assert shim.proc is not None and hello["pid"] == shim.proc.pid


def test_a_script_runs_through_the_program(shim: Worker) -> None:
    script = Script(
        (
            Op("ctx_new", method="tls"),
            Op("ssl_new", ctx=0),
            Op("ssl_up_ref", ssl=0),
            Op("ssl_free", ssl=0),
            Op("ssl_free", ssl=0),
        )
    )
    trace = shim.run(script)
    assert [o.object for o in trace[:2]] == [0, 1]  # one numbering for contexts and SSLs
    assert trace[2].value == 1
    assert trace[3].freed == [] and trace[4].freed == [1]


def test_every_rule_has_the_status_the_model_has_in_process(shim: Worker) -> None:
    in_process = Engine(InProcess("reference", load_model(None, {})), "quick")
    through_program = Engine(shim, "quick")
    passed = 0
    for rule in RULES:
        want, got = in_process.run(rule), through_program.run(rule)
        assert (got.status, got.detail) == (want.status, want.detail), rule.id
        passed += got.status == "pass" and got.examples > 0
    assert passed > len(RULES) // 2  # programs really ran through the shim


def test_a_program_that_dies_is_a_crash(tmp_path: Path) -> None:
    dying = tmp_path / "dying.sh"
    dying.write_text("#!/bin/sh\nread line\nkill -SEGV $$\n")
    dying.chmod(0o755)
    worker = Worker("dying", Launch(EXEC + str(dying)))
    with pytest.raises(WorkerCrashed, match="SIGSEGV"):
        worker.hello()
    worker.close()


def test_a_program_that_cannot_load_its_library_says_why(tmp_path: Path) -> None:
    from conformance.library import Unavailable

    refusing = tmp_path / "refusing.sh"
    refusing.write_text('#!/bin/sh\nread line\necho \'{"unavailable": "no libfoo.so here"}\'\n')
    refusing.chmod(0o755)
    worker = Worker("refusing", Launch(EXEC + str(refusing)))
    with pytest.raises(Unavailable, match=r"no libfoo\.so here"):
        worker.hello()
    worker.close()


def test_sslconform_runs_a_program_as_a_column(tmp_path: Path) -> None:
    import json
    import os
    import shlex
    import subprocess

    command = shlex.join([sys.executable, str(SHIM)])
    env = {**os.environ, "SSLCONFORM_EXEC": command}
    out = tmp_path / "exec.json"
    argv = [sys.executable, "-m", "conformance.cli", "run", "--backend", "exec"]
    argv += ["--rules", "new.creates", "--profile", "quick", "--results", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert results["backend"] == "exec"
    assert results["library"]["version"] == load_model(None, {}).version()
    assert [(r["id"], r["status"]) for r in results["rules"]] == [("new.creates", "pass")]
