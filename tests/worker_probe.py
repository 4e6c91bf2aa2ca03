"""Run a snippet against one adapter in a fresh process, as the worker would.

The adapter is loaded in a process of its own so that nothing the test process has
mapped (the system libcrypto through ssl or hashlib) can stand in for the library.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conformance.fetch import Fetched, worker_command

ROOT = Path(__file__).resolve().parent.parent

PRELUDE = """
import json, sys
from conformance.library import Absent, Unobservable, Unavailable
from {module} import load
lib = load({lib_dir!r}, {options!r})
out = {{}}
def attempt(key, fn, *args):
    try:
        out[key] = fn(*args)
    except Absent as err:
        out[key] = {{"absent": err.missing}}
    except Unobservable as err:
        out[key] = {{"unobservable": str(err)}}
"""

EPILOGUE = """
out["maps"] = sorted({line.split()[-1] for line in open("/proc/self/maps")
                      if "libcrypto" in line or "libssl" in line or "libwolfssl" in line
                      or "libgnutls" in line})
print(json.dumps(out))
"""


def run_adapter(
    module: str,
    fetched: Fetched | None,
    body: str,
    options: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    lib_dir = fetched.lib_dir if fetched else None
    code = PRELUDE.format(module=module, lib_dir=lib_dir, options=options or {}) + body + EPILOGUE
    argv = worker_command(fetched, ["-c", code]) if fetched else [sys.executable, "-c", code]
    env = {
        **os.environ,
        **(fetched.env if fetched else {}),
        **(env or {}),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    if done.returncode != 0:
        raise AssertionError(f"adapter process failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result
