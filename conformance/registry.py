"""Which backends exist: every folder under backends/ declares its columns.

A backend folder is a package whose __init__.py defines `BACKENDS`, a list of
`Backend` entries. An entry is one column of the matrix: an adapter (the module that
builds a `Library` inside the worker process) plus where its library comes from.
One adapter may serve many columns (OpenSSL 1.1.1 to 4.0 share one).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field

import backends


@dataclass(frozen=True)
class Backend:
    name: str  # the column and tox environment name: "openssl35"
    family: str  # "OpenSSL", "BoringSSL", ...
    adapter: str  # "backends.openssl.library": has load(lib_dir, options) -> Library
    summary: str
    fetch: str | None = None  # entry of conformance.fetch's table; None: system or no library
    page: str = "3.0.0"  # page version the column is held to, unless the library says
    in_process: bool = False  # the reference model runs without a worker
    options: dict[str, str] = field(default_factory=dict)  # passed to the adapter's load()


def all_backends() -> dict[str, Backend]:
    found: dict[str, Backend] = {}
    for info in pkgutil.iter_modules(backends.__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"backends.{info.name}")
        for backend in getattr(module, "BACKENDS", []):
            if backend.name in found:
                raise RuntimeError(f"backend {backend.name} declared twice")
            found[backend.name] = backend
    return found


def backend(name: str) -> Backend:
    known = all_backends()
    if name not in known:
        raise KeyError(f"unknown backend {name!r}; known: {', '.join(sorted(known))}")
    return known[name]
