"""Native libraries run in a worker process; a crash or a hang becomes a result.

The parent side (`Worker`) sends operations as JSON lines and reads observations back.
If the library kills the process (segfault, abort, an exit it causes) the call raises
`WorkerCrashed`; if it does not answer in time the process is killed and the call
raises `WorkerTimedOut`. Either way the next call starts a fresh worker, so a run goes
on. An exception inside the adapter is not the library's doing: the child answers with
the exception and its traceback, the call raises `AdapterFault` (the rule's `error`),
and the same worker goes on. (NotImplementedError is no fault: it is how an adapter
says it does not observe something yet, and stays a one-line RuntimeError.)

Scripts also go in batches (`submit`, then `collect`: the parent draws the next batch
while the child runs this one), each script's outcome its own: a trace, or the error or
adapter fault it raised. If the child dies or hangs inside a batch, the batch's scripts
run again one at a time, so the crash or hang is reported with the script that caused it.
A child that keeps operations by number (its hello says "numbered") is sent each
distinct operation once, and a batch's scripts as numbers (conformance/PROTOCOL.md).

A rule's break (conformance.breaks) is switched per request (`set_break`): the same
child wraps its loaded library in the break, or unwraps it, with no new process.

Scripts do not free what they make (releasing it would go through the very SSL_free
and reference counts under test, and a crash there would be charged to a script that
did not cause it), so the child grows, some 35 KiB a context. Once it holds more than
the launch's `memory_limit_mib`, it is let go once nothing it was sent is unanswered (a
batch submitted behind one on its way waits for the fresh child; a sequence of steps is
never cut), and the next request starts a fresh one. What a script sees never depends
on the scripts before it, so this changes no result.

The child side (`python -m conformance.worker`) loads one adapter and nothing else
that could map a second libcrypto: it imports no hypothesis, hashlib or ssl. A backend
whose adapter is "exec:PROGRAM" runs PROGRAM as the child instead: the protocol, one JSON
line each way, is in conformance/PROTOCOL.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.interpreter import Interpreter, ScriptError
from conformance.library import Library, Unavailable
from conformance.provision.loader import python_executable
from conformance.script import Observation, Op, Script, Trace, trace_from_json, trace_to_json

PROTOCOL = 2
# An adapter named "exec:COMMAND" runs a program of its own speaking the protocol
# (COMMAND: the program and its first arguments, as a shell would split them).
EXEC = "exec:"
MAPPED_NAMES = ("libssl", "libcrypto", "libwolfssl", "libgnutls", "libboringssl", "librustls")


class WorkerCrashed(Exception):
    """The worker process died while running `ops` (the library crashed)."""

    def __init__(self, detail: str, ops: Sequence[Op]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.ops = list(ops)


class WorkerTimedOut(BaseException):
    """The library did not answer in time. A BaseException so that hypothesis does not
    spend a timeout on every shrinking step: the script that hung is reported as is."""

    def __init__(self, detail: str, ops: Sequence[Op]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.ops = list(ops)


Outcome = Trace | BaseException  # an adapter fault is a BaseException (the engine's Stop)


class Runner:
    """What the engine talks to: runs scripts or single steps on one library."""

    name: str

    def hello(self) -> dict[str, Any]:
        raise NotImplementedError

    def missing(self, features: Sequence[str]) -> dict[str, list[str] | None]:
        """For each feature, what the library lacks; None where the adapter cannot say."""
        raise NotImplementedError

    def run(self, script: Script) -> Trace:
        raise NotImplementedError

    def submit(self, scripts: Sequence[Script]) -> None:
        """Start running a batch of scripts; `collect` gives their outcomes. Batches
        queue: the library may run one while the harness checks the one before."""
        raise NotImplementedError

    def collect(self) -> list[Outcome]:
        """The outcome of each script of the oldest batch not yet collected, in order:
        its trace, or the exception it raised (a crash or a hang raises, naming its
        script)."""
        raise NotImplementedError

    def discard(self) -> None:
        """Drop the batches submitted and not collected (the rule has its verdict)."""
        raise NotImplementedError

    def run_batch(self, scripts: Sequence[Script]) -> list[Outcome]:
        self.submit(scripts)
        return self.collect()

    def set_break(self, rule_id: str | None) -> None:
        """Run what follows with this rule's break at the library's boundary (None: the
        library itself)."""
        if rule_id is not None:
            raise NotImplementedError(f"{type(self).__name__} cannot load a break")

    def reset(self) -> None:
        raise NotImplementedError

    def step(self, op: Op) -> Observation:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def variant(self, options: dict[str, str]) -> Runner:
        """A runner over the same library loaded with these adapter options too (for
        features that cost every operation something, such as allocator hooks)."""
        return self


class InProcess(Runner):
    """A pure-Python library (the reference model) needs no worker."""

    def __init__(self, name: str, library: Library) -> None:
        self.name = name
        self.library = library
        self.base = library  # without any break
        self.interpreter = Interpreter(library)
        self._submitted: deque[list[Script]] = deque()

    def set_break(self, rule_id: str | None) -> None:
        from conformance.breaks import BreakingLibrary

        self.library = self.base if rule_id is None else BreakingLibrary(self.base, rule_id)
        self.interpreter = Interpreter(self.library)

    def submit(self, scripts: Sequence[Script]) -> None:
        self._submitted.append(list(scripts))

    def collect(self) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for script in self._submitted.popleft() if self._submitted else []:
            try:
                outcomes.append(self.run(script))
            except Exception as exc:  # each script's own outcome
                outcomes.append(exc)
        return outcomes

    def discard(self) -> None:
        self._submitted.clear()

    def hello(self) -> dict[str, Any]:
        return {"version": self.library.version(), "mapped": []}

    def missing(self, features: Sequence[str]) -> dict[str, list[str] | None]:
        return missing_features(self.library, features)

    def run(self, script: Script) -> Trace:
        try:
            return self.interpreter.run(script)
        except ScriptError:
            raise
        except NotImplementedError as exc:  # as a worker answers it
            raise RuntimeError(f"worker: {type(exc).__name__}: {exc}") from None
        except Exception as exc:  # the adapter's bug: the harness's error, not a crash
            raise _adapter_fault(_exception_answer(exc), script.ops) from None

    def reset(self) -> None:
        self.interpreter.reset()
        self._steps: list[Op] = []

    def step(self, op: Op) -> Observation:
        self._steps = [*getattr(self, "_steps", []), op]
        try:
            return self.interpreter.step(op)
        except ScriptError:
            raise
        except NotImplementedError as exc:
            raise RuntimeError(f"worker: {type(exc).__name__}: {exc}") from None
        except Exception as exc:
            raise _adapter_fault(_exception_answer(exc), self._steps) from None


@dataclass
class Launch:
    """How to start a worker: the adapter module, its library, and any loader prefix."""

    adapter: str
    lib_dir: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    prefix: list[str] = field(default_factory=list)  # e.g. a newer glibc's ld.so
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0  # seconds one request may take
    memory_limit_mib: int = 512  # a child resident past this is replaced (see above)
    package: str | None = None  # the Debian package and version it was fetched as


class Worker(Runner):
    def __init__(self, name: str, launch: Launch) -> None:
        self.name = name
        self.launch = launch
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr: Any = None
        self._hello: dict[str, Any] | None = None
        self._pending: list[Op] = []  # ops sent since the last reset (for crash reports)
        self.restarts = 0
        self.recycled = 0  # children let go for their size (_fresh_if_large)
        self._variants: dict[tuple[tuple[str, str], ...], Worker] = {}
        self.brk: str | None = None  # the break wanted
        self._child_brk: str | None = None  # the break the child has in place
        self._batches: deque[list[Script]] = deque()  # submitted, not yet collected
        # Submitted but not written: they wait for a fresh child (see submit).
        self._unsent: list[list[Script]] = []
        # The child's numbers of the operations it was sent, by Op.key (or its text),
        # where it keeps them (hello's "numbered"): a batch then sends each distinct
        # operation once, and scripts as numbers.
        self._numbers: dict[Any, int] | None = None
        self._outbox = bytearray()  # requests queued, not yet written to the child
        self._inbox = bytearray()  # what the child wrote that is not yet read as answers
        self._resident: tuple[float, float | None] | None = None  # (when read, MiB)

    # --- process management ---------------------------------------------------

    def _start(self) -> None:
        self._spawn()
        self._greet()

    def _spawn(self) -> None:
        # The running interpreter itself (never a pyenv shim), by its own path: resolving
        # the link would leave a virtual environment and its site-packages behind.
        if self.launch.adapter.startswith(EXEC):
            # Any program that speaks the protocol (conformance/PROTOCOL.md) is a worker.
            argv = [*self.launch.prefix, *shlex.split(self.launch.adapter.removeprefix(EXEC))]
        else:
            interpreter = python_executable()
            argv = [*self.launch.prefix, interpreter, "-m", "conformance.worker"]
            argv += ["--adapter", self.launch.adapter]
        if self.launch.lib_dir:
            argv += ["--lib", self.launch.lib_dir]
        for key, value in sorted(self.launch.options.items()):
            argv += ["--option", f"{key}={value}"]
        env = dict(os.environ)
        env.update(self.launch.env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_project_root(), env.get("PYTHONPATH")]))
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            start_new_session=True,
        )
        assert self.proc.stdin is not None
        os.set_blocking(self.proc.stdin.fileno(), False)  # see _flush
        self.restarts += 1
        self._child_brk = None
        self._inbox = bytearray()
        self._outbox = bytearray()
        self._batches.clear()
        self._unsent = []
        self._hello = None
        self._resident = None
        self._numbers = None  # a fresh child knows no operation yet

    def _greet(self) -> None:
        hello = self._request({"cmd": "hello"}, [])
        if "unavailable" in hello:
            self.close()
            raise Unavailable(hello["unavailable"])
        if hello.get("protocol") != PROTOCOL:
            self.close()
            raise Unavailable(f"worker speaks protocol {hello.get('protocol')}, not {PROTOCOL}")
        self._hello = hello
        if hello.get("numbered") is True:
            self._numbers = {}

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None
        if self._child_brk != self.brk:
            self._request({"cmd": "break", "rule": self.brk}, [])
            self._child_brk = self.brk
        return self.proc

    def _large(self) -> bool:
        """Whether the child holds more than the launch allows. Read at most every
        RESIDENT_EVERY seconds of a child's life: it is asked at every request, and a
        child grows by a few MiB in that time."""
        if self.proc is None:
            return False
        now = time.monotonic()
        if self._resident is None or now - self._resident[0] > RESIDENT_EVERY:
            self._resident = (now, resident_mib(self.proc.pid))
        resident = self._resident[1]
        return resident is not None and resident > self.launch.memory_limit_mib

    def _fresh_if_large(self) -> None:
        """Let the child go if it holds more than the launch allows; called only between
        requests that share nothing (no batch on its way, no sequence of steps), so the
        next one starts a fresh child with nothing lost."""
        if self.proc is None or self._batches or self._outbox:
            return
        if self._large():
            self._end_child()
            self.recycled += 1

    def _send_unsent(self) -> None:
        """The batches kept back for a fresh child (submit), to one: the child before has
        answered everything it was sent."""
        waiting, unsent = list(self._batches), self._unsent
        self._end_child()
        self.recycled += 1
        self._ensure()  # a fresh child, with the break in place
        self._batches.extend(waiting)
        for batch in unsent:
            self._send_behind(self._batch_message(batch))

    def _stderr_tail(self) -> str:
        if self.stderr is None:
            return ""
        self.stderr.seek(0)
        lines = self.stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1][:300] if lines else ""

    def _died(self, ops: Sequence[Op]) -> WorkerCrashed:
        assert self.proc is not None
        code = self.proc.wait()
        if code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with status {code}"
        tail = self._stderr_tail()
        self.proc = None
        self._batches.clear()  # what it was sent died with it
        self._unsent = []
        return WorkerCrashed(f"worker {how}" + (f": {tail}" if tail else ""), ops)

    def _request(self, message: dict[str, Any] | str, ops: Sequence[Op]) -> dict[str, Any]:
        if self._batches:
            self.discard()  # their answers come first on the pipe
        self._send(message, ops)
        return self._receive(ops, self.launch.timeout)

    def _send(self, message: dict[str, Any] | str, ops: Sequence[Op]) -> None:
        """A request (or its JSON text) whose answer is awaited next: sent whole before
        returning."""
        text = message if isinstance(message, str) else json.dumps(message)
        self._outbox += text.encode() + b"\n"
        try:
            self._flush(block=True)
        except BrokenPipeError:
            raise self._died(ops) from None

    def _send_behind(self, message: str) -> None:
        """Queue a batch while the child may still be answering the one before.

        The child writes an answer before it reads the next request, so a request
        larger than the pipe cannot be written in one go: what does not fit now goes
        out from `_line` while it waits for answers. A child that died is found by the
        collect that follows."""
        self._outbox += message.encode() + b"\n"
        with contextlib.suppress(BrokenPipeError):
            self._flush(block=False)

    def _flush(self, block: bool) -> None:
        """Write the queued requests (stdin is non-blocking), as much as fits; with
        `block`, all of it, reading answers meanwhile so that the child never waits on
        a full pipe of ours."""
        proc = self.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        into, out = proc.stdin.fileno(), proc.stdout.fileno()
        while self._outbox:
            try:
                del self._outbox[: os.write(into, self._outbox[: 1 << 16])]
                continue
            except BlockingIOError:
                if not block:
                    return
            except BrokenPipeError:
                self._outbox.clear()
                raise
            readable, _, _ = select.select([out], [into], [])
            if readable:
                chunk = os.read(out, 1 << 20)
                if not chunk:
                    self._outbox.clear()
                    raise BrokenPipeError
                self._inbox += chunk

    def _receive(self, ops: Sequence[Op], timeout: float) -> dict[str, Any]:
        line = self._line(ops, timeout)
        answer: dict[str, Any] = json.loads(line)
        if "exception" in answer:
            raise _adapter_fault(answer["exception"], ops)
        if "error" in answer:
            raise RuntimeError(f"worker: {answer['error']}")
        return answer

    def _line(self, ops: Sequence[Op], timeout: float) -> bytes:
        """The child's next answer line. Read from the descriptor into a buffer of our
        own: with batches queued, one read may bring several answers, and a buffered
        file's readline would hide the later ones from select."""
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while (end := self._inbox.find(b"\n")) < 0:
            writing = [proc.stdin.fileno()] if self._outbox and proc.stdin else []
            left = max(0.0, deadline - time.monotonic())
            ready, writable, _ = select.select([fd], writing, [], left)
            if writable:
                with contextlib.suppress(BrokenPipeError):
                    self._flush(block=False)
                continue
            if not ready:
                self._kill()
                raise WorkerTimedOut(f"no answer within {timeout:g} s", ops)
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise self._died(ops)
            self._inbox += chunk
        line = bytes(self._inbox[:end])
        del self._inbox[: end + 1]
        return line

    def _kill(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None
        self._outbox.clear()
        self._batches.clear()
        self._unsent = []

    def variant(self, options: dict[str, str]) -> Runner:
        merged = {**self.launch.options, **options}
        if merged == self.launch.options:
            return self
        key = tuple(sorted(merged.items()))
        if key not in self._variants:
            launch = Launch(
                self.launch.adapter,
                self.launch.lib_dir,
                merged,
                list(self.launch.prefix),
                dict(self.launch.env),
                self.launch.timeout,
                self.launch.memory_limit_mib,
            )
            self._variants[key] = Worker(self.name, launch)
        self._variants[key].brk = self.brk
        return self._variants[key]

    def set_break(self, rule_id: str | None) -> None:
        self.brk = rule_id  # put in place by the next request (_ensure)
        for variant in self._variants.values():
            variant.set_break(rule_id)

    def close(self) -> None:
        for variant in self._variants.values():
            variant.close()
        self._variants.clear()
        self._end_child()

    def forget(self) -> None:
        """In a process forked from this one's (a lane): let go of the child without
        touching it. The pipes to it are closed here only, so that the child still sees
        its input end when the process that started it closes it."""
        for variant in self._variants.values():
            variant.forget()
        self._variants.clear()
        if self.proc is not None:
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            # Not ours to wait for: the process that started it does.
            self.proc.returncode = 0
        self.proc = None
        self._batches.clear()
        self._unsent = []
        self._outbox = bytearray()

    def _end_child(self) -> None:
        if self._outbox:
            self._kill()  # a batch still being sent: nothing it would answer is wanted
        if self.proc is not None and self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._kill()
        self.proc = None

    # --- Runner -----------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        self._ensure()
        assert self._hello is not None
        return self._hello

    def missing(self, features: Sequence[str]) -> dict[str, list[str] | None]:
        self._ensure()
        answer = self._request({"cmd": "missing", "features": list(features)}, [])
        result: dict[str, list[str] | None] = answer["missing"]
        return result

    def run(self, script: Script) -> Trace:
        self._fresh_if_large()
        self._ensure()
        self._pending = []
        answer = self._request('{"cmd": "run", "script": ' + script.encoded() + "}", script.ops)
        return trace_from_json(answer["trace"])

    def submit(self, scripts: Sequence[Script]) -> None:
        batch = list(scripts)
        if not self._batches:
            self._fresh_if_large()
            self._ensure()  # not with batches on the way: their answers would be lost
        self._batches.append(batch)
        if not batch:
            return
        self._pending = []
        if self._unsent or (len(self._batches) > 1 and self._large()):
            # Grown past its limit with a batch still on its way (a long exploration, a
            # soak, keeps one there all along): this one is kept back, and goes to a fresh
            # child once the child before has answered (collect).
            self._unsent.append(batch)
            return
        # A child already dead: collect finds it gone and runs the scripts one at a time.
        if self.proc is not None:
            self._send_behind(self._batch_message(batch))

    def _batch_message(self, batch: Sequence[Script]) -> str:
        """The batch request for the child it is written to next, from each operation's
        JSON text: {"cmd": "batch", "scripts": [SCRIPT, ...]}; or, to a child that keeps
        operations by number, the operations it has not been sent yet and each script as
        numbers: {"cmd": "batch", "ops": [OP, ...], "scripts": [[N, ...], ...]}. A column
        sends some 300,000 operations, some 13,000 of them distinct: the child reads a
        fifth of the bytes, and makes each operation once."""
        numbers = self._numbers
        if numbers is None:
            return '{"cmd": "batch", "scripts": [' + ", ".join(s.encoded() for s in batch) + "]}"
        new: list[str] = []
        scripts: list[str] = []
        for script in batch:
            numbered: list[str] = []
            for op in script.ops:
                key: Any = op.key()
                try:
                    number = numbers.get(key)
                except TypeError:  # a list or object value: keyed by its text
                    key = op.encoded()
                    number = numbers.get(key)
                if number is None:
                    number = numbers[key] = len(numbers)
                    new.append(key if isinstance(key, str) else op.encoded())
                numbered.append(str(number))
            scripts.append("[" + ", ".join(numbered) + "]")
        return (
            '{"cmd": "batch", "ops": ['
            + ", ".join(new)
            + '], "scripts": ['
            + ", ".join(scripts)
            + "]}"
        )

    def discard(self) -> None:
        batches, self._batches = list(self._batches), deque()
        unsent, self._unsent = {id(b) for b in self._unsent}, []
        try:
            for batch in batches:
                if batch and id(batch) not in unsent and self.proc is not None:
                    allowance = self.launch.timeout * max(1.0, len(batch) / 20)
                    self._receive(batch[0].ops, allowance)
        except Exception:  # a batch no rule will judge: only the pipe must stay in step
            self._kill()

    def collect(self) -> list[Outcome]:
        batch = self._batches.popleft() if self._batches else []
        if not batch:
            return []
        # A generous allowance: a batch is many scripts, each given the launch's timeout.
        allowance = self.launch.timeout * max(1.0, len(batch) / 20)
        try:
            if self.proc is None:
                raise WorkerCrashed("worker died", batch[0].ops)
            answer = self._receive(batch[0].ops, allowance)
        except (WorkerCrashed, WorkerTimedOut) as lost:
            return self._one_at_a_time(batch, lost.detail)
        if self._unsent and self._batches and self._batches[0] is self._unsent[0]:
            self._send_unsent()  # all that was written is answered: now a fresh child
        outcomes: list[Outcome] = []
        for script, each in zip(batch, answer["outcomes"], strict=True):
            if "trace" in each:
                outcomes.append(trace_from_json(each["trace"]))
            elif "exception" in each:
                outcomes.append(_adapter_fault(each["exception"], script.ops))
            else:
                outcomes.append(RuntimeError(f"worker: {each['error']}"))
        return outcomes

    def _one_at_a_time(self, batch: Sequence[Script], detail: str) -> list[Outcome]:
        """The batch again, script by script: the crash or hang names its own script."""
        outcomes: list[Outcome] = []
        for script in batch:
            try:
                outcomes.append(self.run(script))
            except (WorkerCrashed, WorkerTimedOut):
                raise
            except Exception as exc:
                outcomes.append(exc)
        raise WorkerCrashed(
            f"{detail} running a batch of {len(batch)} script(s); none of them crashed or "
            "hung when run alone (did not recur; the script shown is the batch's first)",
            batch[0].ops,
        )

    def reset(self) -> None:
        self._fresh_if_large()  # a new sequence of steps: nothing of the last is needed
        self._ensure()
        self._pending = []
        self._request({"cmd": "reset"}, [])

    def step(self, op: Op) -> Observation:
        if self._pending and (self.proc is None or self.proc.poll() is not None):
            # A fresh worker would know none of the earlier steps: the sequence is lost.
            raise WorkerCrashed("worker died earlier in this sequence", self._pending)
        self._ensure()
        self._pending.append(op)
        answer = self._request({"cmd": "step", "op": op.to_json()}, self._pending)
        return Observation.from_json(answer["obs"])


def _exception_answer(exc: BaseException) -> dict[str, str]:
    """What the child says of an exception the adapter raised."""
    return {
        "summary": f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
        "traceback": "".join(traceback.format_exception(exc)),
    }


def _adapter_fault(exception: dict[str, str], ops: Sequence[Op]) -> BaseException:
    # Imported here, not above: the worker process imports this module, and the fault
    # is the engine's Stop, which comes with hypothesis.
    from conformance.adapter_fault import AdapterFault

    return AdapterFault(exception["summary"], exception["traceback"], ops)


def missing_features(library: Library, features: Sequence[str]) -> dict[str, list[str] | None]:
    answer: dict[str, list[str] | None] = {}
    for feature in features:
        try:
            answer[feature] = library.missing(feature)
        except NotImplementedError:
            answer[feature] = None  # the adapter does not observe this (yet)
    return answer


RESIDENT_EVERY = 0.2  # seconds between two readings of a child's resident memory


def resident_mib(pid: int) -> float | None:
    """A process's resident memory in MiB (Linux's /proc), None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _project_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- the child ---------------------------------------------------------------------


def mapped_libraries() -> list[str]:
    """TLS libraries this process has mapped, from /proc/self/maps."""
    found: set[str] = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                parts = line.split()
                if len(parts) >= 6:
                    base = os.path.basename(parts[5])
                    if base.startswith(MAPPED_NAMES):
                        found.add(parts[5])
    except OSError:
        pass
    return sorted(found)


def _check_mapped(lib_dir: str | None) -> None:
    """Refuse to run if the library mapped is not the one asked for (two libcrypto)."""
    if not lib_dir:
        return
    want = os.path.realpath(lib_dir)
    strays = [p for p in mapped_libraries() if not os.path.realpath(p).startswith(want + os.sep)]
    if strays:
        raise Unavailable(
            f"asked for the library in {lib_dir}, but the process also mapped {', '.join(strays)}"
        )


def _run_one(
    interpreter: Interpreter, script: dict[str, Any] | list[int], numbered: list[Op | Exception]
) -> dict[str, Any]:
    try:
        if isinstance(script, list):
            return {"trace": trace_to_json(interpreter.run(_numbered(script, numbered)))}
        return {"trace": trace_to_json(interpreter.run(Script.from_json(script)))}
    except (ScriptError, NotImplementedError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:  # the adapter raised: this script's outcome; the batch goes on
        return {"exception": _exception_answer(exc)}


def _numbered(numbers: list[int], numbered: list[Op | Exception]) -> Script:
    """The script of these operation numbers (a batch's "ops", in the order sent)."""
    ops: list[Op] = []
    for number in numbers:
        if not isinstance(number, int) or not 0 <= number < len(numbered):
            raise ScriptError(f"no operation numbered {number!r} was sent")
        op = numbered[number]
        if isinstance(op, Exception):
            raise op  # it was not an operation: as Script.from_json would have said
        ops.append(op)
    return Script(tuple(ops))


def _number(data: Any) -> Op | Exception:
    try:
        return Op.from_json(data)
    except ValueError as exc:
        return exc


def settle_heap() -> None:
    """Once loaded: keep the garbage collector off what is loaded (it lives as long as
    the process), and let it run less often among the many small objects each batch
    makes and drops. A run made 3,900 collections of every size, a sixth of the harness
    process's time; with this, some 200."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


def _serve(base: Library, lib_dir: str | None) -> int:
    settle_heap()
    library = base
    interpreter = Interpreter(library)
    numbered: list[Op | Exception] = []  # the operations sent by number, in their order
    out = sys.stdout
    for line in sys.stdin:
        answer: dict[str, Any]
        try:
            message = json.loads(line)
            cmd = message.get("cmd")
            if cmd == "hello":
                answer = {
                    "protocol": PROTOCOL,
                    "version": library.version(),
                    "mapped": mapped_libraries(),
                    "pid": os.getpid(),
                    "numbered": True,
                }
            elif cmd == "missing":
                answer = {"missing": missing_features(library, message["features"])}
            elif cmd == "run":
                trace = interpreter.run(Script.from_json(message["script"]))
                answer = {"trace": trace_to_json(trace)}
            elif cmd == "batch":
                numbered.extend(_number(op) for op in message.get("ops", ()))
                scripts = message["scripts"]
                answer = {"outcomes": [_run_one(interpreter, s, numbered) for s in scripts]}
            elif cmd == "break":
                from conformance.breaks import BreakingLibrary

                rule_id = message["rule"]
                library = base if rule_id is None else BreakingLibrary(base, rule_id)
                interpreter = Interpreter(library)
                answer = {}
            elif cmd == "reset":
                interpreter.reset()
                answer = {}
            elif cmd == "step":
                answer = {"obs": interpreter.step(Op.from_json(message["op"])).to_json()}
            else:
                answer = {"error": f"unknown command {cmd!r}"}
        # A script that cannot run, or an adapter saying it does not observe something
        # yet (the Library contract's NotImplementedError): one line, not a fault.
        except (ScriptError, NotImplementedError) as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        except Exception as exc:  # the adapter raised: say so, with where, and go on
            answer = {"exception": _exception_answer(exc)}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.worker")
    parser.add_argument("--adapter", required=True)
    parser.add_argument("--lib")
    parser.add_argument("--option", action="append", default=[])
    args = parser.parse_args(argv)
    options = dict(o.split("=", 1) for o in args.option)
    # Stop a library's own chatter from corrupting the protocol on stdout.
    protocol_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = protocol_out
    try:
        module = __import__(args.adapter, fromlist=["load"])
        library: Library = module.load(args.lib, options)
        _check_mapped(args.lib)
    except Exception as exc:  # any failure to load is the column's reason, in one line
        sys.stdin.readline()
        reason = str(exc) if isinstance(exc, Unavailable) else f"{type(exc).__name__}: {exc}"
        protocol_out.write(json.dumps({"unavailable": reason.splitlines()[0]}) + "\n")
        protocol_out.flush()
        return 0
    return _serve(library, args.lib)


if __name__ == "__main__":
    sys.exit(main())
