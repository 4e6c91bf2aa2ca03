"""Reading results files for reports: files or folders, each validated as it is read.

A bad file costs one line on the error list (the file, the path inside it, what was
expected); the others are still reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.results import Results


@dataclass(frozen=True)
class Loaded:
    path: Path
    results: Results


@dataclass
class LoadOutcome:
    loaded: list[Loaded]
    errors: list[str]  # one line per file that could not be used
    warnings: list[str]  # things worth saying that cost no file


def expand(paths: Sequence[str | Path]) -> tuple[list[Path], list[str]]:
    """Files as given; folders give their *.json files, sorted, schema.json aside."""
    files: list[Path] = []
    errors: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.json") if p.name != "schema.json")
            if not found:
                errors.append(f"{path}: no *.json results files in this folder")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(f"{path}: no such file or folder")
    return files, errors


def read_one(path: Path) -> Results:
    """One results file, validated; ValueError with one line (naming the file) if bad."""
    return Results.read(path)


def load(paths: Sequence[str | Path]) -> LoadOutcome:
    files, errors = expand(paths)
    loaded: list[Loaded] = []
    for path in files:
        try:
            loaded.append(Loaded(path, read_one(path)))
        except ValueError as exc:
            errors.append(str(exc))
    return LoadOutcome(loaded, errors, [])
