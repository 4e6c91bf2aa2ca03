"""Shared fixtures for the project's own tests."""

from __future__ import annotations

from collections.abc import Iterator

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
