"""Rules run side by side, one lane per worker: both cores stay busy through the parts of
a rule that go one script at a time (meeting a deviation again and shrinking it, the
state machines' steps, the break run's first batches).

The first lane runs in a thread of the run's own process; each other lane is a process
of its own, forked from the run's, with its own engine over its own worker. Processes,
not threads: generating, checking and shrinking are Python, and two lanes in one
process take turns at one interpreter lock while their workers wait (on two cores, a
tenth of a column's time).

A lane takes the next rule when it is free, the costliest first (`cost`), so that the
run does not end with one lane idle while the other finishes a long rule. The rules of
one group, which share their scripts, are taken together by one lane (`order`). A rule's
result does not depend on which lane ran it or when: its scripts are seeded by the
run's seed and the rule's id alone. Results come back as the rules end; the caller
keeps them in the catalogue's order.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import Any

from conformance import binding
from conformance.engine import Engine
from conformance.library import Unavailable
from conformance.properties import PROPERTIES
from conformance.properties.common import ScriptProperty
from conformance.results import RuleResult
from conformance.rules import BY_ID

RunOne = Callable[[Engine, str], RuleResult]
MakeEngine = Callable[[], Engine]  # called in the lane's own process
Outcome = tuple[int, RuleResult | BaseException]

# Forked: a lane has the run's catalogue, options and run_one as they are, and nothing
# is pickled but the results. (Linux, where the workers run anyway.)
_FORK = multiprocessing.get_context("fork")


def run(
    local: Engine,
    remote: Sequence[MakeEngine],
    ids: Sequence[str],
    run_one: RunOne,
    *,
    forget: Callable[[], None] = lambda: None,
    said: Callable[[str], None] = lambda _: None,
) -> Iterator[tuple[int, RuleResult]]:
    """(index in `ids`, result) of each rule as it ends: in order with one lane, in the
    order they end with more. `local` runs in this process; each of `remote` makes the
    engine of a lane process. `run_one` turns every failure into a result: a lane never
    dies of a rule. In a lane process, `forget` lets go of what the run's process holds
    (its worker's pipes); `said` hears why a lane could not start (its worker is
    unavailable: the other lanes take its rules)."""
    if not remote:
        for index, rule_id in enumerate(ids):
            yield index, run_one(local, rule_id)
        return
    ordered = order(ids)
    taken = _FORK.Value("i", 0)  # how many of `ordered` the lanes have taken
    done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
    lanes: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    for number, make in enumerate(remote, start=1):
        receiving, sending = _FORK.Pipe(duplex=False)
        lane = _FORK.Process(
            target=_remote_lane,
            args=(make, ids, ordered, taken, sending, run_one, forget, local.progress),
            name=f"lane-{number}",
            daemon=True,
        )
        lane.start()
        sending.close()  # the lane's end: its end of file says the lane is gone
        lanes.append((lane, receiving))
    # Threads only once every lane is forked: a fork copies no thread but its own.
    hearing = [
        threading.Thread(target=_hear, args=(receiving, lane, ids, done, local, said), daemon=True)
        for lane, receiving in lanes
    ]
    for thread in hearing:
        thread.start()

    def local_lane() -> None:
        while (unit := _take(taken, ordered)) is not None:
            for index in unit:
                try:
                    done.put((index, run_one(local, ids[index])))
                except BaseException as exc:  # handed to the caller, which raises it
                    done.put((index, exc))
                    return

    # A daemon thread: an interrupted run ends without waiting for the rule under way
    # (the caller closes its worker; the lane processes are ended below).
    threading.Thread(target=local_lane, name="lane-0", daemon=True).start()
    finished = False
    try:
        for _ in ids:
            index, outcome = _get(done)
            if isinstance(outcome, BaseException):
                raise outcome
            yield index, outcome
        finished = True
    finally:
        for process, _ in lanes:
            if not finished:  # an interrupted run: a lane's worker ends with its lane
                process.terminate()
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        for thread in hearing:  # all a lane said is heard before the run goes on
            thread.join(timeout=5)


def order(ids: Sequence[str]) -> list[list[int]]:
    """The indices of `ids` in the units the lanes take, in the order they take them: the
    rules of one group (properties.common.Group) make one unit, since a lane explores
    their shared scripts once; the costliest unit first, units of one cost in the
    catalogue's order."""
    units: dict[str, list[int]] = {}
    for index, rule_id in enumerate(ids):
        prop = PROPERTIES.get(rule_id)
        group = prop.group if isinstance(prop, ScriptProperty) else None
        units.setdefault(group.name if group is not None else rule_id, []).append(index)
    return sorted(units.values(), key=lambda unit: -sum(cost(ids[i]) for i in unit))


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


def _take(taken: Any, ordered: Sequence[list[int]]) -> list[int] | None:
    """The next unit for a free lane (indices into the run's ids), None when none is left."""
    with taken.get_lock():
        at = int(taken.value)
        if at >= len(ordered):
            return None
        taken.value = at + 1
    return ordered[at]


def _remote_lane(
    make: MakeEngine,
    ids: Sequence[str],
    ordered: Sequence[list[int]],
    taken: Any,
    sending: Connection,
    run_one: RunOne,
    forget: Callable[[], None],
    progress: Callable[[str, int, float], None] | None,
) -> None:
    """A lane process: its own engine and worker, rules taken as the lanes go, each
    result sent back as it ends. An interrupt ends it quietly (the run says so)."""
    try:
        _end_with_the_run()
        forget()
        try:
            engine = make()
        except Unavailable as exc:
            sending.send(("unavailable", str(exc)))
            return
        if progress is not None:  # a soak's progress line is the run's: sent to it
            engine.progress = lambda rule_id, n, s: sending.send(("progress", rule_id, n, s))
        try:
            while (unit := _take(taken, ordered)) is not None:
                sending.send(("took", unit))
                for index in unit:
                    sending.send(("ended", index, run_one(engine, ids[index])))
        finally:
            engine.runner.close()
    except KeyboardInterrupt:
        pass
    finally:
        sending.close()


def _end_with_the_run() -> None:
    """A lane ends when the run's process does, even killed: its worker ends with it
    (it reads until its input closes), and no rule goes on running for nobody."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: an interrupt still reaches the lane with the run


def _hear(
    receiving: Connection,
    lane: multiprocessing.process.BaseProcess,
    ids: Sequence[str],
    done: queue.SimpleQueue[Outcome],
    local: Engine,
    said: Callable[[str], None],
) -> None:
    """What a lane process sends, into `done`. A lane that ends with a rule taken and
    not answered (it died: a harness bug, never the library's, which runs in its worker)
    gives that rule an error, and so every rule of its unit still to run: no rule is left
    without a result."""
    running: list[int] = []
    while True:
        try:
            message = receiving.recv()
        except (EOFError, OSError):
            break
        if message[0] == "took":
            running = list(message[1])
        elif message[0] == "ended":
            running.remove(message[1])
            done.put((message[1], message[2]))
        elif message[0] == "progress" and local.progress is not None:
            local.progress(*message[1:])
        elif message[0] == "unavailable":
            said(message[1])
    receiving.close()
    if running:
        lane.join(timeout=5)
    for index in running:
        done.put(
            (
                index,
                RuleResult(
                    ids[index],
                    "error",
                    detail=f"the lane process running this rule ended before it did "
                    f"(exit status {lane.exitcode})",
                ),
            )
        )


def _get(done: queue.SimpleQueue[Outcome]) -> Outcome:
    # In short waits, so that the main thread sees an interrupt (Ctrl-C) at once.
    while True:
        try:
            return done.get(timeout=0.2)
        except queue.Empty:
            continue
