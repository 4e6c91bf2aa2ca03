"""The results file: what one backend run measured, rule by rule.

One JSON file per backend run. It is rewritten atomically after every rule, so a run
that is killed keeps everything it measured. Reports are built from any set of these
files, so runs on many machines merge into one matrix.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from conformance.library import Json

FORMAT = 1

Status = Literal["pass", "fail", "absent", "not-applicable", "crash", "timeout", "error"]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]

RunState = Literal["running", "complete", "unavailable", "aborted"]


ReproOutcome = Literal["reproduces", "does-not-reproduce", "not-built"]


@dataclass
class Reproducer:
    """A deviating cell's C program, built and run by the backend's run where the library is.

    The report only shows this: it compiles and runs nothing.
    """

    filename: str  # "dup.copies.verify-param.c"
    source: str  # straight-line C on the library's public API
    build: str  # the command that built it, as a person would type it
    run: str  # the command that ran it
    outcome: ReproOutcome  # exit 1: reproduces; exit 0: does not; no binary: not-built
    detail: str  # one line: the program's verdict, or why it could not be built or run
    output: str = ""  # what the program printed (stdout, then stderr), truncated


@dataclass
class RuleResult:
    id: str
    status: Status
    examples: int = 0  # examples observed and checked; those set aside are not counted
    detail: str | None = None  # one line: what deviated, what is absent, why n/a
    script: dict[str, Json] | None = None  # the minimal script (anything but pass)
    expected: Any = None  # JSON data
    observed: Any = None  # JSON data
    trace: list[dict[str, Json]] | None = None  # the backend's observations of `script`
    seed: int | None = None  # hypothesis seed of the run that found it
    seconds: float = 0.0
    replay: str | None = None  # the command that replays this rule with `seed`
    reproducer: Reproducer | None = None  # fail, crash and timeout cells; none for absent
    # pass only: the break at the library's boundary (through its own calls) under which
    # this rule failed on this very library, which shows the pass could have been a fail
    able_to_fail: str | None = None


@dataclass
class Observed:
    """Something seen that the page does not promise (e.g. a setting copied anyway)."""

    id: str
    summary: str
    script: dict[str, Json] | None = None


@dataclass
class LibraryInfo:
    name: str  # family: "OpenSSL", "BoringSSL", "wolfSSL", "rustls", "reference model"
    version: str  # the library's own version string
    page: str  # the page version the column is held to: "1.1.1k" or "3.0.0"
    path: str | None = None  # where the library was loaded from
    loader: list[str] | None = None  # the loader prefix it ran under (a newer glibc's ld.so)


@dataclass
class Results:
    backend: str
    library: LibraryInfo | None
    state: RunState = "running"
    reason: str | None = None  # why unavailable or aborted
    command: str | None = None  # the command that reproduces this run
    seed: int | None = None
    profile: str = "default"
    rules: list[RuleResult] = field(default_factory=list)
    observations: list[Observed] = field(default_factory=list)
    format: int = FORMAT

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: Any) -> Results:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not an sslconform results file (format {FORMAT})")
        lib = data.get("library")
        return Results(
            backend=data["backend"],
            library=LibraryInfo(**lib) if lib else None,
            state=data["state"],
            reason=data.get("reason"),
            command=data.get("command"),
            seed=data.get("seed"),
            profile=data.get("profile", "default"),
            rules=[_rule_result(r) for r in data.get("rules", [])],
            observations=[Observed(**o) for o in data.get("observations", [])],
        )

    def write(self, path: Path) -> None:
        """Write atomically: readers never see half a file, a kill never loses the last one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as out:
            json.dump(self.to_json(), out, indent=1, sort_keys=True)
            out.write("\n")
        os.replace(tmp, path)

    @staticmethod
    def read(path: Path) -> Results:
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}") from None
        try:
            return Results.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None


def _rule_result(data: dict[str, Any]) -> RuleResult:
    repro = data.get("reproducer")
    return RuleResult(**{**data, "reproducer": Reproducer(**repro) if repro else None})
