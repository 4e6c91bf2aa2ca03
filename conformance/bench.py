"""Benchmark: scripts per second through the worker, against the same operations called
in-process over ctypes and in a native C loop (`sslconform bench`).

The script is the shape most properties run: make a context and an SSL, set two
settings, SSL_dup, read one back, free both.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from conformance.interpreter import Interpreter
from conformance.registry import backend, load_adapter
from conformance.script import Op, Script

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
        SSL_set_options(s, SSL_OP_NO_TICKET);
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
"""


def _rate(run_once: Callable[[], object], seconds: float) -> float:
    run_once()  # warm up: the first call loads and initialises the library
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        run_once()
        count += 1
    return count / elapsed


def through_worker(seconds: float) -> float:
    from conformance.worker import Launch, Worker

    worker = Worker(BACKEND, Launch(backend(BACKEND).adapter))
    try:
        return _rate(lambda: worker.run(SCRIPT), seconds)
    finally:
        worker.close()


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


def cmd_bench(args: argparse.Namespace) -> int:
    rows: dict[str, float | str] = {
        "worker (scripts/s)": through_worker(args.seconds),
        "in-process ctypes (scripts/s)": in_process(args.seconds),
        "native C loop (loops/s)": native(args.seconds),
    }
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"one script = {len(SCRIPT.ops)} operations on the system OpenSSL")
    for name, value in rows.items():
        shown = f"{value:12,.0f}" if isinstance(value, float) else f"  {value}"
        print(f"  {name:32}{shown}")
    worker, native_rate = rows["worker (scripts/s)"], rows["native C loop (loops/s)"]
    if isinstance(worker, float) and isinstance(native_rate, float):
        print(
            f"  the worker runs a script in {1e6 / worker:,.0f} us; native C in "
            f"{1e6 / native_rate:,.1f} us"
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("bench", help="scripts per second: worker vs in-process vs native C")
    p.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)
