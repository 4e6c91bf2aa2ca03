"""Small C helpers of the adapters, built once per machine with the C compiler and kept
in the cache folder; None where there is no compiler or the build fails, and the adapter
does without.

- THREADS (backends/threads.c): SSL_up_ref and SSL_free from native threads
  (backends.threads);
- SLACK (conformance/repro/slack.c, the reproducers' own): an allocator for
  CRYPTO_set_mem_functions that fills each allocation's slack, so a read past a string's
  end reads the same bytes on every run, in the worker as in the C program;
- ALLOC (backends/alloc.c): the allocation-failure rules' hooks (counting, failing the
  Nth, following what is made), without a Python call per allocation.

None links against a TLS library: the library's functions come in as pointers, or
the library calls theirs. A plain module, not a backend folder (the registry skips it);
it imports no hashlib, so the worker maps no libcrypto of its own because of it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

import conformance
from conformance.provision.cache import cache_root

THREADS = Path(__file__).with_name("threads.c")
ALLOC = Path(__file__).with_name("alloc.c")
# A C file, not a module: the worker imports nothing of conformance.repro for it.
SLACK = Path(conformance.__file__).parent / "repro" / "slack.c"
COMPILER = "cc"
BUILD = ["-O2", "-shared", "-fPIC", "-pthread"]
_loaded: dict[str, ctypes.CDLL | None] = {}


def helper(source: Path) -> ctypes.CDLL | None:
    """The C file `source` as a loaded shared object, built now if need be."""
    name = source.stem
    if name in _loaded:
        return _loaded[name]
    _loaded[name] = None
    text = source.read_bytes()
    key = zlib.crc32(text + " ".join(BUILD).encode())
    kept = cache_root() / "native" / f"{name}-{key:08x}.so"
    if not kept.exists() and shutil.which(COMPILER) and not _build(source, kept):
        return None
    if not kept.exists():
        return None
    try:
        _loaded[name] = ctypes.CDLL(str(kept))
    except OSError:
        return None
    return _loaded[name]


def _build(source: Path, kept: Path) -> bool:
    """Compile `source` as `kept`; False if it cannot be (a cache folder that
    cannot be written, a compiler that fails or hangs)."""
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        # Built beside the kept name and renamed over it: columns run side by side.
        with tempfile.TemporaryDirectory(dir=kept.parent) as work:
            made = Path(work) / kept.name
            built = subprocess.run(
                [COMPILER, *BUILD, str(source), "-o", str(made)],
                capture_output=True,
                timeout=60,
                check=False,
            )
            if built.returncode != 0:
                return False
            os.replace(made, kept)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return True
