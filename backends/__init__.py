"""Backend adapters: one folder per library family (see conformance.registry)."""

from __future__ import annotations

import importlib
import pkgutil

from conformance.registry import Backend


def declared() -> list[Backend]:
    """Every folder's BACKENDS: what the `sslconform.backends` entry point gives the harness."""
    found: list[Backend] = []
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg:
            found += getattr(importlib.import_module(f"{__name__}.{info.name}"), "BACKENDS", [])
    return found
