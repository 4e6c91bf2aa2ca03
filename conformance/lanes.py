"""Rules run side by side, one lane per worker: both cores stay busy through the parts of
a rule that go one script at a time (meeting a deviation again and shrinking it, the
state machines' steps, the break run's first batches).

Each lane is a thread with its own engine over its own worker; it takes the next rule
when it is free, the costliest first (`cost`), so that the run does not end with one lane
idle while the other finishes a long rule. A rule's result does not depend on which lane
ran it or when: its scripts are seeded by the run's seed and the rule's id alone, and
hypothesis runs separate tests from several threads (6.136.9 and later). Results come
back as the rules end; the caller keeps them in the catalogue's order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence

from conformance import binding
from conformance.engine import Engine
from conformance.results import RuleResult
from conformance.rules import BY_ID

RunOne = Callable[[Engine, str], RuleResult]


def run(
    engines: Sequence[Engine], ids: Sequence[str], run_one: RunOne
) -> Iterator[tuple[int, RuleResult]]:
    """(index in `ids`, result) of each rule as it ends: in order with one lane, in the
    order they end with more. `run_one` turns every failure into a result: a lane never
    dies of a rule."""
    if len(engines) == 1:
        for index, rule_id in enumerate(ids):
            yield index, run_one(engines[0], rule_id)
        return
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in order(ids):
        todo.put(index)
    done: queue.SimpleQueue[tuple[int, RuleResult | BaseException]] = queue.SimpleQueue()

    def lane(engine: Engine) -> None:
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((index, run_one(engine, ids[index])))
            except BaseException as exc:  # handed to the caller, which raises it
                done.put((index, exc))
                return

    # Daemon threads: an interrupted run ends without waiting for the rules under way
    # (the caller closes their workers).
    for number, engine in enumerate(engines):
        threading.Thread(target=lane, args=(engine,), name=f"lane-{number}", daemon=True).start()
    for _ in ids:
        index, outcome = _get(done)
        if isinstance(outcome, BaseException):
            raise outcome
        yield index, outcome


def order(ids: Sequence[str]) -> list[int]:
    """The indices of `ids` in the order the lanes take them: the costliest first, rules
    of one cost in the catalogue's order."""
    return sorted(range(len(ids)), key=lambda i: -cost(ids[i]))


def cost(rule_id: str) -> int:
    """A rule's rough cost, to take the costliest first: what the library does for each of
    its scripts decides it. On OpenSSL 3.0, a rule that runs threads or fails allocations,
    or reads its setting through a handshake, takes three to five times a plain one; the
    reference-count machines and the rules that start handshakes, about twice."""
    entry = BY_ID.get(rule_id)
    if entry is None:
        return 1  # not the catalogue's (a test's own): nothing to go by
    needs = set(entry.needs)
    if needs & {"threads", "alloc_failures"}:
        return 3
    table = binding.BY_SETTING.get(entry.setting or "")
    getter = table.getter("ssl") if table is not None else None
    if isinstance(getter, binding.Observe) and getter.mode != "start":
        return 3
    if needs & {"free_events", "handshake"}:
        return 2
    return 1


def _get(
    done: queue.SimpleQueue[tuple[int, RuleResult | BaseException]],
) -> tuple[int, RuleResult | BaseException]:
    # In short waits, so that the main thread sees an interrupt (Ctrl-C) at once.
    while True:
        try:
            return done.get(timeout=0.2)
        except queue.Empty:
            continue
