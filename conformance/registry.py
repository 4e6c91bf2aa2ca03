"""Which backends exist: packages declare their columns through an entry point.

A package that provides backends names, in its metadata, a callable that returns its
`Backend` entries (entry-point group `sslconform.backends`; this project's own
`backends` package declares `backends:declared`, which gathers the `BACKENDS` list of
every folder under backends/). The harness never imports a backend package itself: it
knows adapters only by their module names, which the worker process imports.

An entry is one column of the matrix: an adapter (the module that builds a `Library`
inside the worker process) plus where its library comes from. One adapter may serve
many columns (OpenSSL 1.1.1 to 4.0 share one).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

GROUP = "sslconform.backends"


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


class NoBackends(RuntimeError):
    """No package has declared a backend: the project is not installed."""


def all_backends() -> dict[str, Backend]:
    # Imported here: a worker imports the backends' folders, and so this module, but
    # never looks for backends; importlib.metadata is a sixth of its start-up.
    from importlib.metadata import entry_points

    found: dict[str, Backend] = {}
    providers = sorted(entry_points(group=GROUP), key=lambda ep: ep.name)
    if not providers:
        raise NoBackends(
            f"no backends are registered (entry points {GROUP}): "
            "install the project, e.g. pip install -e ."
        )
    for provider in providers:
        declare: Callable[[], Iterable[Backend]] = provider.load()
        for backend in declare():
            if backend.name in found:
                raise RuntimeError(f"backend {backend.name} declared twice")
            found[backend.name] = backend
    return found


def backend(name: str) -> Backend:
    known = all_backends()
    if name not in known:
        raise KeyError(f"unknown backend {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


def load_adapter(entry: Backend) -> Any:
    """The adapter module of a backend, imported by the name the registry gives."""
    return importlib.import_module(entry.adapter)
