"""What building and running one C reproducer gave (shared by the report writers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ReproState = Literal["yes", "no", "not-built"]


@dataclass(frozen=True)
class Repro:
    state: ReproState  # yes: the program saw the deviation again; no: it did not
    reason: str  # one line: why not built, or what the program concluded
    source: str | None = None  # the C program
    filename: str | None = None  # where the report wrote it, relative to the report folder
    build: str | None = None  # the build command, relative to the report folder
    run: str | None = None  # the run command
    output: str = ""  # what the program printed (stdout, then stderr), truncated

    @property
    def label(self) -> str:
        return {"yes": "reproduces", "no": "does not reproduce", "not-built": "not built"}[
            self.state
        ]
