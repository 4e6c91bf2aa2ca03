"""The folder everything provisioned is kept in: $SSLCONFORM_CACHE, else the user's cache."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

CACHE_ENV = "SSLCONFORM_CACHE"


def cache_root() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sslconform"


def build_command(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    summary: str,
    description: str | None,
    what: str,
) -> argparse.ArgumentParser:
    """The `sslconform build-…` command of something built once and cached: --cache, and
    --require (without it, a failed build is reported and the run says unavailable)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--cache", help="cache folder (default $SSLCONFORM_CACHE or ~/.cache/sslconform)"
    )
    parser.add_argument(
        "--require",
        action="store_true",
        help=f"exit 1 when {what} cannot be built (default: report and exit 0, so the "
        "run records the column as unavailable)",
    )
    return parser
