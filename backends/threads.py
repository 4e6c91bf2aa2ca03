"""SSL_up_ref and SSL_free from several threads at once: on native threads when a C
compiler is at hand (threads.c, see backends.helpers), else on Python threads.

Python threads calling the library through ctypes hand the interpreter lock over at
every call: they overlap little and spend most of their time waiting for one another.
Native threads race for real, at a small part of the cost. Either way the operation is
the same (T threads let go together, each K SSL_up_ref then K SSL_free), and so is its
value: how many SSL_up_ref calls returned 1.

A plain module, not a backend folder (the registry skips it). It imports no hashlib, so
the worker maps no libcrypto of its own because of it.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any

from backends import helpers


def _native() -> Callable[..., int] | None:
    """sslconform_up_ref_free of threads.c (backends.helpers); None without a compiler
    (the Python threads stand in)."""
    lib = helpers.helper(helpers.THREADS)
    if lib is None:
        return None
    run = lib.sslconform_up_ref_free  # the same function object each time: typed once more
    run.restype = ctypes.c_int
    run.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_int] * 2
    typed: Callable[..., int] = run
    return typed


def up_ref_free(
    up_ref: Any,  # ctypes function pointers: their addresses go to the native threads
    free: Any,
    ssl: int,
    threads: int,
    per_thread: int,
) -> int:
    """`threads` threads let go together, each calling up_ref(ssl) `per_thread` times,
    then free(ssl) as often; how many up_ref calls returned 1. up_ref and free are the
    library's functions as ctypes function pointers."""
    native = _native()
    if native is not None:
        address = ctypes.cast(up_ref, ctypes.c_void_p).value
        release = ctypes.cast(free, ctypes.c_void_p).value
        done = native(address, release, ssl, threads, per_thread)
        if done < 0:
            raise RuntimeError(f"{threads} native threads could not be started")
        return done
    return _python_threads(up_ref, free, ssl, threads, per_thread)


def _python_threads(
    up_ref: Callable[[int], int],
    free: Callable[[int], None],
    ssl: int,
    threads: int,
    per_thread: int,
) -> int:
    done = [0] * threads
    start = threading.Barrier(threads)  # all threads reach their first call together

    def work(index: int) -> None:
        start.wait()
        ok = 0
        for _ in range(per_thread):
            ok += up_ref(ssl) == 1  # ctypes drops the GIL for the call
        for _ in range(per_thread):
            free(ssl)
        done[index] = ok

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done)
