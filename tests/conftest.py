"""Shared fixtures for the project's own tests."""

from __future__ import annotations

from collections.abc import Iterator
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
