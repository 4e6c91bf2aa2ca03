"""Shared pieces of the ctypes adapters of libraries with the OpenSSL C API.

The page's object operations (SSL_CTX_new, SSL_new, SSL_free, ...) by the OpenSSL
functions they need, and a flag word read back as names. How each library names
those functions (wolfSSL_new, ...) is its family's entry in the binding table
(conformance.binding); settings go through backends.bound. What is asked of an
adapter is phrased in OpenSSL's names, so `missing()` and `Absent` read the same for
every column.

This is a plain module (not a backend folder): the registry skips it. It imports
only ctypes, so the worker process maps no libcrypto because of it.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from conformance import binding
from conformance.library import Json

# The page's object operations and methods, by the OpenSSL functions they need: the
# binding table's (every adapter of an OpenSSL-like API starts from these).
OBJECT_FEATURES = binding.OBJECT_FEATURES
HANDSHAKE_FUNCTIONS = binding.START_HANDSHAKE
METHOD_FUNCTIONS = binding.METHODS


class ObjectCalls:
    """SSL_CTX_new/free and SSL_new/free, the same call for every OpenSSL-like API.

    The adapter provides `_fn(openssl_name, restype, *argtypes)`, resolving the name to
    its library's own symbol (or raising Absent).
    """

    def _fn(self, name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
        raise NotImplementedError

    def ctx_new(self, method: str) -> int | None:
        meth = self._fn(METHOD_FUNCTIONS[method], ctypes.c_void_p)()
        result: int | None = self._fn("SSL_CTX_new", ctypes.c_void_p, ctypes.c_void_p)(meth)
        return result

    def ctx_free(self, ctx: int) -> None:
        self._fn("SSL_CTX_free", None, ctypes.c_void_p)(ctx)

    def ssl_new(self, ctx: int | None) -> int | None:
        result: int | None = self._fn("SSL_new", ctypes.c_void_p, ctypes.c_void_p)(ctx)
        return result

    def ssl_free(self, ssl: int) -> None:
        self._fn("SSL_free", None, ctypes.c_void_p)(ssl)


def bits_to_names(
    value: int, table: Mapping[str, int | None], hidden: Sequence[str] = ()
) -> list[Json]:
    """Known flags by name (sorted), then any other bits as one hex string.

    A name counts as set when all of its bits are: some libraries give one flag a
    value that contains another's (wolfSSL's auto-retry mode is 3, its partial-write
    mode 2), and then both show. Names defined as 0 or not at
    all never show; `hidden` ones are read under another field and their bits dropped.
    """
    value &= 0xFFFFFFFFFFFFFFFF  # a signed long word read as its bits
    for name in hidden:
        value &= ~(table.get(name) or 0)
    shown = {n: m for n, m in table.items() if m and n not in hidden}
    names = sorted(n for n, m in shown.items() if value & m == m)
    known = 0
    for m in shown.values():
        known |= m
    rest = value & ~known
    out: list[Json] = [*names]
    if rest:
        out.append(f"{rest:#x}")
    return out
