"""The allocation-failure hooks in C (backends/alloc.c) and the ctypes ones that stand in
without a compiler report the same on the system OpenSSL: how many allocations a call
made, whether the one to fail was reached, what leaked and where it was made."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backends import helpers
from conformance import fixtures
from conformance.provision.cache import cache_root
from conformance.script import Op, Script
from conformance.worker import Launch, Worker

ADAPTER = "backends.openssl.library"
# Every failure point of SSL_new and SSL_dup, and one past the end of each call.
SCRIPTS = [
    Script(
        (
            Op("ctx_new", method="tls"),
            Op("ssl_new", ctx=0),
            Op("ssl_set", ssl=0, setting="verify-depth", value=3),
            Op("ssl_new_failing", ctx=0, value=nth),
            Op("ssl_dup_failing", ssl=0, value=nth),
        )
    )
    for nth in range(1, 160, 3)
]


def _reports(worker: Worker) -> list[object]:
    try:
        traces = [worker.run(script) for script in SCRIPTS]
        kind = worker.hello()
    finally:
        worker.close()
    assert kind["version"].startswith("OpenSSL 3")
    return [[obs.to_json() for obs in trace[3:]] for trace in traces]


def test_native_and_python_hooks_report_the_same(tmp_path: Path) -> None:
    if not Path("/usr/lib/x86_64-linux-gnu/libssl.so.3").exists():
        pytest.skip("no system libssl.so.3")
    if shutil.which(helpers.COMPILER) is None:
        pytest.skip(f"no C compiler ({helpers.COMPILER}) for the native hooks")
    env = {fixtures.ENV: str(fixtures.ensure())}
    native = Worker("native", Launch(ADAPTER, options={"alloc_hooks": "1"}, env=env))
    # A cache folder that cannot be written: no helper is built, the ctypes hooks stand in.
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    python_env = {**env, "SSLCONFORM_CACHE": str(blocked / "cache")}
    python = Worker("python", Launch(ADAPTER, options={"alloc_hooks": "1"}, env=python_env))
    shown = _reports(native)
    assert list((cache_root() / "native").glob("alloc-*.so")), "alloc.c did not build"
    assert shown == _reports(python)
    values = [obs["value"] for trace in shown for obs in trace if "value" in obs]
    assert any(v["injected"] for v in values) and any(not v["injected"] for v in values)
    assert all(v["allocations"] > 0 for v in values)
