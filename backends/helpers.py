"""Small C helpers of the adapters (backends/<name>.c), built once per machine with the C
compiler and kept in the cache folder; None where there is no compiler or the build
fails, and the adapter does without.

- threads.c: SSL_up_ref and SSL_free from native threads (backends.threads);
- slack.c: an allocator for CRYPTO_set_mem_functions that fills each allocation's slack,
  so a read past a string's end reads the same bytes on every run.

Neither links against a TLS library: the library's functions come in as pointers, or
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

from conformance.provision.cache import cache_root

COMPILER = "cc"
BUILD = ["-O2", "-shared", "-fPIC", "-pthread"]
_loaded: dict[str, ctypes.CDLL | None] = {}


def source(name: str) -> Path:
    return Path(__file__).with_name(f"{name}.c")


def helper(name: str) -> ctypes.CDLL | None:
    """backends/<name>.c as a loaded shared object, built now if need be."""
    if name in _loaded:
        return _loaded[name]
    _loaded[name] = None
    text = source(name).read_bytes()
    key = zlib.crc32(text + " ".join(BUILD).encode())
    kept = cache_root() / "native" / f"{name}-{key:08x}.so"
    if not kept.exists() and shutil.which(COMPILER) and not _build(name, kept):
        return None
    if not kept.exists():
        return None
    try:
        _loaded[name] = ctypes.CDLL(str(kept))
    except OSError:
        return None
    return _loaded[name]


def _build(name: str, kept: Path) -> bool:
    """Compile backends/<name>.c as `kept`; False if it cannot be (a cache folder that
    cannot be written, a compiler that fails or hangs)."""
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        # Built beside the kept name and renamed over it: columns run side by side.
        with tempfile.TemporaryDirectory(dir=kept.parent) as work:
            made = Path(work) / kept.name
            built = subprocess.run(
                [COMPILER, *BUILD, str(source(name)), "-o", str(made)],
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
