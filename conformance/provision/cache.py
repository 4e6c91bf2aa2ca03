"""The folder everything provisioned is kept in: $SSLCONFORM_CACHE, else the user's cache."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "SSLCONFORM_CACHE"


def cache_root() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sslconform"
