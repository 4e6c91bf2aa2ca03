"""Shared fixtures for the project's own tests."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.worker import Launch, Worker

SUMMARY: list[str] = []  # lines the run prints at its end (the mutation score)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in SUMMARY:
        terminalreporter.write_line(line)


@pytest.fixture
def worker_for() -> Iterator[object]:
    """Start workers over an adapter; close them all after the test."""
    started: list[Worker] = []

    def start(adapter: str, timeout: float = 10.0, **options: str) -> Worker:
        worker = Worker(adapter, Launch(adapter, options=options, timeout=timeout))
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()


@pytest.fixture
def killed_in_ssl_dup(worker_for: Any, tmp_path: Path) -> Callable[[], Worker]:
    """Start a worker that sits in its next SSL_dup and is killed (SIGKILL) half a second
    after it starts: the library's crash, in the middle of a run."""

    def start() -> Worker:
        busy = tmp_path / "busy"
        busy.touch()  # the worker sits in SSL_dup while this exists
        options = {"hang": "ssl_dup", "while": str(busy)}
        worker: Worker = worker_for("tests.adapters.misbehaving", timeout=30.0, **options)
        pid = worker.hello()["pid"]

        def kill() -> None:
            os.kill(pid, signal.SIGKILL)
            busy.unlink()

        threading.Timer(0.5, kill).start()
        return worker

    return start


@pytest.fixture(scope="module")
def system_openssl() -> Iterator[Any]:
    """The OpenSSL adapter over the system's libssl.so.3, in this process, with the
    fixtures made (skipped, with the reason, where there is no such library)."""
    # Imported here: most tests never load a library into the test process.
    from backends.openssl.library import load
    from conformance import fixtures
    from conformance.library import Unavailable

    with pytest.MonkeyPatch.context() as env:
        env.setenv(fixtures.ENV, str(fixtures.ensure()))
        try:
            yield load(None, {})
        except Unavailable as err:
            pytest.skip(f"no system libssl.so.3: {err}")
