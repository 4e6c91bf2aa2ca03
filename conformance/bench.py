"""Benchmark: scripts per second on one script shape, from a native C loop to the
engine end to end (`sslconform bench`).

The script is the shape most properties run: make a context and an SSL, set two
settings, SSL_dup, read one back, free both. Measured, each in scripts per second:
the native C loop; the same operations in-process over ctypes; the worker one script
per round trip; the worker in batches (one worker, then two side by side); and the
engine end to end on the same shape (scripts drawn by the explorer, run in batches,
checked, counted), two engines at once, each in a process of its own over a worker of
its own, as a run's two lanes are (conformance.lanes). Also the worker's resident memory
before and after a long batch run: flat when nothing leaks per script.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from conformance import binding
from conformance.interpreter import Interpreter
from conformance.registry import backend, load_adapter
from conformance.rules import Rule, rule
from conformance.script import Op, Script, Trace
from conformance.settings import BY_NAME

if TYPE_CHECKING:
    from conformance.explore import Draw
    from conformance.properties.common import Capabilities
    from conformance.worker import Worker

BACKEND = "openssl"  # the system's libssl: what the native loop links against too

SCRIPT = Script(
    (
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_set", ssl=0, setting="verify-depth", value=5),
        Op("ssl_set", ssl=0, setting="options", value=["no-ticket"]),
        Op("ssl_dup", ssl=0),
        Op("ssl_get", ssl=1, setting="verify-depth"),
        Op("ssl_free", ssl=1),
        Op("ssl_free", ssl=0),
        Op("ctx_free", ctx=0),
    )
)

NATIVE = r"""
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_method());
        SSL *s = SSL_new(ctx);
        SSL_set_verify_depth(s, 5);
        SSL_set_options(s, @NO_TICKET@);
        SSL *d = SSL_dup(s);
        if (SSL_get_verify_depth(d) != 5) return 1;
        SSL_free(d);
        SSL_free(s);
        SSL_CTX_free(ctx);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
""".replace("@NO_TICKET@", binding.FLAGS["options"].c_names()["no-ticket"])


def _rate(run_once: Callable[[], object], seconds: float) -> float:
    run_once()  # warm up: the first call loads and initialises the library
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        run_once()
        count += 1
    return count / elapsed


BATCH = 50  # scripts per round trip, as the engine sends them


def _worker() -> Worker:
    from conformance.worker import Launch, Worker

    return Worker(BACKEND, Launch(backend(BACKEND).adapter))


def through_worker(seconds: float) -> float:
    worker = _worker()
    try:
        return _rate(lambda: worker.run(SCRIPT), seconds)
    finally:
        worker.close()


def _side_by_side(lanes: int, measure: Callable[[], float]) -> float:
    """`measure` in `lanes` processes at once, as a run's lanes go (conformance.lanes: the
    first in this one, the others forked); the sum of their rates."""
    if lanes == 1:
        return measure()
    fork = multiprocessing.get_context("fork")
    pipes = [fork.Pipe(duplex=False) for _ in range(lanes - 1)]

    def lane(sending: Connection) -> None:
        try:
            sending.send(measure())
        except BaseException as exc:  # said in the caller's process below
            sending.send(RuntimeError(f"a bench lane: {type(exc).__name__}: {exc}"))

    others = [fork.Process(target=lane, args=(sending,)) for _, sending in pipes]
    for process in others:
        process.start()
    rates: list[float | BaseException] = []
    try:
        rates.append(measure())
    except BaseException as exc:
        rates.append(exc)
    for (receiving, _), process in zip(pipes, others, strict=True):
        rates.append(receiving.recv())
        process.join()
    for rate in rates:
        if isinstance(rate, BaseException):
            raise rate
    return sum(r for r in rates if isinstance(r, float))


def worker_batches(seconds: float, workers: int) -> float:
    def measure() -> float:
        worker = _worker()
        batch = [SCRIPT] * BATCH
        try:
            return BATCH * _rate(lambda: worker.run_batch(batch), seconds)
        finally:
            worker.close()

    return _side_by_side(workers, measure)


def _random_shape(d: Draw, checked: Rule, caps: Capabilities) -> Script:
    """The bench's script with the explorer's values for its two settings."""
    ops = list(SCRIPT.ops)
    ops[2] = Op("ssl_set", ssl=0, setting="verify-depth", value=d.value(BY_NAME["verify-depth"]))
    ops[3] = Op("ssl_set", ssl=0, setting="options", value=d.value(BY_NAME["options"]))
    return Script(tuple(ops))


def _depth_copied(checked: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    from conformance.properties.common import Deviation

    if trace[5].value != script.ops[2].value:
        raise Deviation(
            "the duplicate's verify-depth is not s's", script.ops[2].value, trace[5].value
        )


def engine_end_to_end(seconds: float, lanes: int = 2) -> float:
    """The engine's own loop on the bench's shape, in two lanes as a run has them: in
    each, the explorer draws each script, its worker runs them in batches, each trace is
    screened and checked and counted."""
    from conformance.engine import Engine
    from conformance.properties.common import ScriptProperty

    def measure() -> float:
        runner = _worker()
        try:
            engine = Engine(runner, "default", 0)
            prop = ScriptProperty(_random_shape, _depth_copied)
            checked = rule("dup.copies.verify-depth")
            caps = engine.capabilities()
            engine.max_examples = BATCH * 4
            engine._explore(runner, checked, prop, caps, [0])  # warm up: the worker started
            engine.max_examples = 10**9
            engine.seconds = seconds
            engine.scripts, counter = 0, [0]
            start = time.perf_counter()
            found = engine._explore(runner, checked, prop, caps, counter)
            elapsed = time.perf_counter() - start
            if found is not None:
                raise RuntimeError(f"the bench's script deviated: {found.detail}")
            return engine.scripts / elapsed
        finally:
            runner.close()

    return _side_by_side(lanes, measure)


def resident_memory(scripts: int) -> dict[str, float]:
    """The worker's resident set (MiB) after a warm-up and after `scripts` more scripts."""
    worker = _worker()
    batch = [SCRIPT] * BATCH
    try:
        for _ in range(20):
            worker.run_batch(batch)
        before = _rss(worker)
        for _ in range(scripts // BATCH):
            worker.run_batch(batch)
        after = _rss(worker)
    finally:
        worker.close()
    return {"before_mib": before, "after_mib": after, "scripts": float(scripts)}


def _rss(worker: Worker) -> float:
    from conformance.worker import resident_mib

    assert worker.proc is not None
    resident = resident_mib(worker.proc.pid)
    if resident is None:
        raise RuntimeError("no VmRSS in /proc")
    return resident


def in_process(seconds: float) -> float:
    interpreter = Interpreter(load_adapter(backend(BACKEND)).load(None, {}))
    return _rate(lambda: interpreter.run(SCRIPT), seconds)


def native(seconds: float) -> float | str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return "not measured: no C compiler"
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "loop.c", Path(tmp) / "loop"
        src.write_text(NATIVE)
        build = subprocess.run(
            [cc, "-O2", str(src), "-o", str(exe), "-lssl", "-lcrypto"],
            capture_output=True,
            text=True,
        )
        if build.returncode != 0:
            return "not measured: " + (build.stderr.strip().splitlines() or ["cc failed"])[-1]
        n = 1000
        while True:
            took = float(
                subprocess.run(
                    [str(exe), str(n)], capture_output=True, text=True, check=True
                ).stdout
            )
            if took >= seconds or n > 10**8:
                return n / took
            n *= max(2, int(seconds / max(took, 1e-3)))


PATHS: dict[str, Callable[[float], float | str]] = {
    "native C loop": native,
    "in-process ctypes": in_process,
    "worker, one script at a time": through_worker,
    "worker, batches": lambda seconds: worker_batches(seconds, 1),
    "two workers, batches": lambda seconds: worker_batches(seconds, 2),
    "engine end to end": engine_end_to_end,
}


def cmd_bench(args: argparse.Namespace) -> int:
    rates: dict[str, float | str] = {name: path(args.seconds) for name, path in PATHS.items()}
    native_rate = rates["native C loop"]
    ratios = {
        name: round(native_rate / rate, 2)
        for name, rate in rates.items()
        if isinstance(rate, float) and isinstance(native_rate, float) and name != "native C loop"
    }
    memory = resident_memory(args.memory_scripts)
    report = {
        "script_operations": len(SCRIPT.ops),
        "batch": BATCH,
        "scripts_per_second": {
            k: round(v) if isinstance(v, float) else v for k, v in rates.items()
        },
        "native_over": ratios,
        "worker_resident_memory": memory,
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"one script = {len(SCRIPT.ops)} operations on the system OpenSSL; batches of {BATCH}")
    for name, value in rates.items():
        shown = f"{value:12,.0f} scripts/s" if isinstance(value, float) else f"  {value}"
        ratio = f"   native is {ratios[name]:g}x" if name in ratios else ""
        print(f"  {name:30}{shown}{ratio}")
    print(
        f"  worker resident memory: {memory['before_mib']:.1f} MiB, then "
        f"{memory['after_mib']:.1f} MiB after {int(memory['scripts']):,} more scripts"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("bench", help="scripts per second: native C to the engine end to end")
    p.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    p.add_argument(
        "--memory-scripts",
        type=int,
        default=20000,
        help="scripts run between the two resident-memory readings",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)
