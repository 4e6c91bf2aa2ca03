"""Load the AWS-LC build `sslconform build-awslc` cached, through the OpenSSL ABI adapter.

The build's libraries have no soname, so they are loaded by path: libcrypto.so first
(RTLD_GLOBAL), then libssl.so, which finds libcrypto's symbols already mapped. With
--lib DIR, the libcrypto.so and libssl.so in DIR are used instead.

Runs inside a worker process; reads the build's manifest, maps nothing else.
"""

from __future__ import annotations

import atexit
import os
import sys

from backends.openssl.library import OpenSSL
from backends.openssl.library import load as load_openssl
from conformance.library import Unavailable
from conformance.provision import awslc
from conformance.worker import mapped_libraries


def built_dir() -> str:
    """The folder of the newest cached AWS-LC build; Unavailable when there is none."""
    built = awslc._newest_built(awslc.cache_root())  # the cached build, not a new one
    if built is None:
        raise Unavailable(
            f"no AWS-LC build in {awslc.cache_root()}: run `sslconform build-awslc` first"
        )
    return built.lib_dir


def load(lib_dir: str | None, options: dict[str, str]) -> OpenSSL:
    folder = lib_dir or built_dir()
    library = load_openssl(folder, options)
    if library.family != "AWS-LC":
        raise Unavailable(f"the library in {library.path} is not AWS-LC: {library.version()}")
    # The worker checks what a --lib folder maps; the cached build is checked here.
    want = os.path.realpath(folder) + os.sep
    strays = [p for p in mapped_libraries() if not os.path.realpath(p).startswith(want)]
    if strays:
        raise Unavailable(f"AWS-LC is in {folder}, but the process also mapped {', '.join(strays)}")
    if library.hooks is not None:
        # AWS-LC defines OPENSSL_INIT_NO_ATEXIT as 0: its cleanup at exit still frees
        # through the hooks, Python code that is gone by then. Leave without it (a worker
        # exits 0 in any case).
        atexit.register(_leave_without_cleanup)
    return library


def _leave_without_cleanup() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
