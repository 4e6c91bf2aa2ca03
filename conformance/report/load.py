"""Reading results files for reports: files or folders, checked against the schema.

A bad file costs one line on the error list; the others are still reported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.report import schema
from conformance.results import Results


@dataclass(frozen=True)
class Loaded:
    path: Path
    results: Results


@dataclass
class LoadOutcome:
    loaded: list[Loaded]
    errors: list[str]  # one line per file that could not be used
    warnings: list[str]  # e.g. validation skipped because jsonschema is missing


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
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}") from None
    try:
        schema.validate(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    try:
        return Results.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def load(paths: Sequence[str | Path]) -> LoadOutcome:
    files, errors = expand(paths)
    warnings: list[str] = []
    loaded: list[Loaded] = []
    for path in files:
        try:
            loaded.append(Loaded(path, read_one(path)))
        except schema.SchemaUnavailable as exc:
            if not warnings:
                warnings.append(str(exc))
            try:
                loaded.append(Loaded(path, Results.read(path)))
            except ValueError as err:
                errors.append(str(err))
        except ValueError as exc:
            errors.append(str(exc))
    return LoadOutcome(loaded, errors, warnings)
