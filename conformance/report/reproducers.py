"""The C reproducers a report shows: as the runs recorded them, with their sources on disk.

A run builds and runs each deviating cell's C program where the library is, and records
source, commands, outcome and output in the results file (`RuleResult.reproducer`). The
report compiles and runs nothing: it writes each source under the report folder, at
repro/COLUMN/FILE, for people to download, and shows what the run recorded.
"""

from __future__ import annotations

import re
from pathlib import Path

from conformance.report.model import Matrix
from conformance.results import Reproducer, ReproOutcome

FOLDER = "repro"

LABELS: dict[ReproOutcome, str] = {
    "reproduces": "reproduces",
    "does-not-reproduce": "does not reproduce",
    "not-built": "not built",
}
# The stylesheet's classes: r-yes, r-no, r-not-built.
CSS: dict[ReproOutcome, str] = {
    "reproduces": "yes",
    "does-not-reproduce": "no",
    "not-built": "not-built",
}


def safe_name(name: str) -> str:
    """One path component from any string: no separators, no `..`, no hidden file."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return "_" + cleaned[1:] if cleaned.startswith(".") else cleaned or "_"


def path_in_report(column: str, repro: Reproducer) -> str | None:
    """Where the report writes the program, relative to the report folder (None: no source)."""
    if not repro.source:
        return None
    return f"{FOLDER}/{safe_name(column)}/{safe_name(repro.filename)}"


def write_sources(matrix: Matrix, out_dir: Path) -> list[Path]:
    """Every reproducer's source, as a file under out_dir; the files written."""
    written: list[Path] = []
    for (_rule, column), result in sorted(matrix.cells.items()):
        repro = result.reproducer
        if repro is None:
            continue
        relative = path_in_report(column, repro)
        if relative is None:
            continue
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(repro.source, encoding="utf-8")
        written.append(target)
    return written
