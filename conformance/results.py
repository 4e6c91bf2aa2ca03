"""The results file: what one backend run measured, rule by rule, and all a report shows.

One JSON file per backend run. It is rewritten atomically after every rule, so a run
that is killed keeps everything it measured. Reports are built from any set of these
files, so runs on many machines merge into one matrix: a file carries the catalogue
entries of the rules it ran (quotes, page versions, how each is observed), the library,
each cell's reproducer and each pass's evidence that it could have failed.

The classes are pydantic dataclasses: constructing one validates it, reading a file
validates it (`Results.read`, one line per problem: the file, the path inside it, what
was expected), and the published JSON Schema (schema/) is generated from them.

Format 2 added `catalogue`. Format 1 files (written before) still load: their rows come
from the catalogue of the checkout that reports them.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import ErrorDetails

FORMAT: Final = 2
READABLE_FORMATS = (1, 2)  # 1: no catalogue in the file

# flaky: one script's verdict differed when it ran again on the same library; the cell
# carries both observations (trace, then rerun_trace) and is neither pass nor fail.
Status = Literal["pass", "fail", "flaky", "absent", "not-applicable", "crash", "timeout", "error"]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]

RunState = Literal["running", "complete", "unavailable", "aborted"]

ReproOutcome = Literal["reproduces", "does-not-reproduce", "not-built"]

# Unknown fields are errors: a misspelt field would otherwise be dropped without a word.
_STRICT_FIELDS = ConfigDict(extra="forbid")


@dataclass(config=_STRICT_FIELDS)
class Reproducer:
    """A deviating cell's C program, built and run by the backend's run where the library is.

    The report only shows this: it compiles and runs nothing.
    """

    filename: str = Field(description='the file name of the program: "dup.copies.verify-param.c"')
    source: str = Field(description="straight-line C on the library's public API")
    build: str = Field(description="the command that built it, as a person would type it")
    run: str = Field(description="the command that ran it")
    outcome: ReproOutcome = Field(
        description="exit 1: reproduces; exit 0: does not; no binary: not-built"
    )
    detail: str = Field(
        description="one line: the program's verdict, or why it could not be built or run"
    )
    output: str = Field(
        default="", description="what the program printed (stdout, then stderr), truncated"
    )


@dataclass(config=_STRICT_FIELDS)
class RuleResult:
    """One cell of the matrix: what one rule gave on this backend."""

    id: str = Field(description="the rule's id in the catalogue")
    status: Status = Field(description="the cell's status")
    examples: int = Field(
        default=0, description="examples observed and checked; those set aside are not counted"
    )
    scripts: int = Field(
        default=0,
        description="scripts the rule ran on the library (fixed cases, exploration, "
        "shrinking), counted or set aside",
    )
    detail: str | None = Field(
        default=None,
        description="what deviated, what is absent, why n/a; a harness error adds its traceback",
    )
    script: dict[str, Any] | None = Field(
        default=None, description="the minimal script (anything but pass)"
    )
    expected: Any = Field(default=None, description="JSON data")
    observed: Any = Field(default=None, description="JSON data")
    trace: list[dict[str, Any]] | None = Field(
        default=None, description="the backend's observations of `script`"
    )
    rerun_trace: list[dict[str, Any]] | None = Field(
        default=None,
        description="flaky only: the observations of `script` when it ran again, whose "
        "verdict differed from `trace`'s",
    )
    seed: int | None = Field(default=None, description="hypothesis seed of the run that found it")
    seconds: float = Field(default=0.0, description="time the rule took")
    replay: str | None = Field(
        default=None, description="the command that replays this rule with `seed`"
    )
    reproducer: Reproducer | None = Field(
        default=None, description="fail, crash and timeout cells; none for absent"
    )
    # The break at the library's boundary (through its own calls) under which this rule
    # failed on this very library: it shows the pass could have been a fail.
    able_to_fail: str | None = Field(
        default=None,
        description="pass only: the break under which this rule failed on this very library",
    )


@dataclass(config=_STRICT_FIELDS)
class Observed:
    """Something seen that the page does not promise (e.g. a setting copied anyway)."""

    id: str = Field(description="what was seen, as an id")
    summary: str = Field(description="one line")
    script: dict[str, Any] | None = Field(default=None, description="the script that shows it")


@dataclass(config=_STRICT_FIELDS)
class LibraryInfo:
    """The library a run held to the page."""

    name: str = Field(
        description='family: "OpenSSL", "BoringSSL", "wolfSSL", "rustls", "reference model"'
    )
    version: str = Field(description="the library's own version string")
    page: str = Field(description='the page version the column is held to: "1.1.1k" or "3.0.0"')
    path: str | None = Field(default=None, description="where the library was loaded from")
    loader: list[str] | None = Field(
        default=None, description="the loader prefix it ran under (a newer glibc's ld.so)"
    )
    package: str | None = Field(
        default=None,
        description="the Debian package and version it was fetched as "
        '("android-libboringssl 14.0.0+r11-1.2"), for a library whose own version string '
        "has no number",
    )


@dataclass(config=_STRICT_FIELDS)
class CatalogueEntry:
    """One rule of the catalogue as the run knew it: what the report shows beside the cells."""

    id: str = Field(description="the rule's id")
    group: str = Field(description="the part of the page it belongs to")
    quotes: dict[str, str] = Field(description="page version -> verbatim quote")
    how: str = Field(default="", description="how it is observed (or what would be needed)")
    since: str | None = Field(
        default=None, description='the page\'s version qualifier: "1.1.1h" (only from then on)'
    )
    testable: bool = Field(default=True, description="false: advice or not observable")
    reason: str | None = Field(default=None, description="why it is not testable")


@dataclass(config=_STRICT_FIELDS)
class Results:
    """One backend run: the library, the catalogue it was held to, and rule by rule results."""

    backend: str = Field(description='the column: "openssl35"')
    library: LibraryInfo | None = Field(description="none when the library could not be had")
    state: RunState = Field(default="running", description="how far the run got")
    reason: str | None = Field(default=None, description="why unavailable or aborted")
    command: str | None = Field(default=None, description="the command that reproduces this run")
    seed: int | None = Field(default=None, description="the run's hypothesis seed")
    profile: str = Field(default="default", description="quick, default or thorough")
    # Orders several runs of one column (a report shows their statuses as the cell's history).
    started: str | None = Field(
        default=None,
        description='when the run started, ISO 8601 in UTC: "2026-12-01T09:30:00+00:00"',
    )
    rules: list[RuleResult] = Field(default_factory=list, description="one entry per rule run")
    observations: list[Observed] = Field(
        default_factory=list, description="what was seen that the page does not promise"
    )
    catalogue: list[CatalogueEntry] | None = Field(
        default=None,
        description="the rules this run was held to (none in format 1 files: the report "
        "takes its own checkout's catalogue)",
    )
    format: Literal[1, 2] = Field(default=FORMAT, description="the file format's number")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = ADAPTER.dump_python(self, mode="json")
        return data

    @staticmethod
    def from_json(data: Any) -> Results:
        """Validate JSON data; ValueError with one line (path inside the file, what was wrong)."""
        if not isinstance(data, dict):
            raise ValueError(
                f"top level: expected an sslconform results file (a JSON object), "
                f"got {_shown(data)}"
            )
        if data.get("format") not in READABLE_FORMATS:
            formats = " or ".join(str(f) for f in READABLE_FORMATS)
            raise ValueError(
                f"format: expected {formats} (an sslconform results file), "
                f"got {_shown(data.get('format'))}"
            )
        try:
            return ADAPTER.validate_json(json.dumps(data), strict=True)
        except ValidationError as exc:
            raise ValueError(first_problem(exc)) from None

    def write(self, path: Path) -> None:
        """Write atomically: readers never see half a file, a kill never loses the last one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = encoded(self.to_json())
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @staticmethod
    def read(path: Path) -> Results:
        """One results file, validated; ValueError with one line naming the file if bad."""
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
            return Results.from_json(data)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None


ADAPTER: TypeAdapter[Results] = TypeAdapter(Results)


def first_problem(exc: ValidationError) -> str:
    """The first validation error as `rules[3].status: expected one of pass, …, got 'passed'`."""
    return _describe(exc.errors()[0])  # in field order, as the file reads


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "top level"


def _shown(value: Any, limit: int = 60) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(error: ErrorDetails) -> str:
    where = _where(error["loc"])
    kind = error["type"]
    if kind == "missing":
        return f"{where}: required, missing"
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"{where}: not a field of a results file"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'|(\d+)", str((error.get("ctx") or {}).get("expected")))
        choices = ", ".join(a or b for a, b in expected)
        return f"{where}: expected one of {choices}, got {_shown(error['input'])}"
    what = error["msg"].removeprefix("Input should be ")
    return f"{where}: expected {what}, got {_shown(error['input'])}"


# --- the published JSON Schema --------------------------------------------------------

SCHEMA_ID = f"urn:sslconform:results:{FORMAT}"
PUBLISHED = Path(__file__).resolve().parents[1] / "schema" / "results.schema.json"


class _Untitled(GenerateJsonSchema):
    """Pydantic's schema without the titles it makes up from field names ("Seed")."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def results_schema() -> dict[str, Any]:
    """The JSON Schema of a results file, generated from the classes above."""
    generated = ADAPTER.json_schema(schema_generator=_Untitled)
    generated.pop("title", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"sslconform results file, format {FORMAT} (format 1 files read too)",
        **generated,
    }


def schema_text() -> str:
    return json.dumps(results_schema(), indent=1, sort_keys=True) + "\n"


# A run writes its file again each time a rule ends, so that a kill keeps what was
# measured; most of it (the catalogue, the rules already written) is the same text every
# time. Python's encoder is its slow one when it indents, so the text of each part is
# kept (by the part's compact text, which the fast one makes), not made at every write.
_TEXTS: dict[tuple[int, str], str] = {}


def encoded(data: dict[str, Any]) -> str:
    """json.dumps(data, indent=1, sort_keys=True) and a newline, the parts' texts kept."""
    if not data:
        return "{}\n"
    used: dict[tuple[int, str], str] = {}

    def kept(value: Any, depth: int) -> str:
        key = (depth, json.dumps(value, sort_keys=True))
        text = _TEXTS.get(key)
        if text is None:
            text = json.dumps(value, indent=1, sort_keys=True).replace("\n", "\n" + " " * depth)
        used[key] = text
        return text

    items = []
    for name in sorted(data):
        value = data[name]
        if name == "rules" and isinstance(value, list) and value:
            # Each rule on its own: one more ends at each write.
            text = "[\n" + ",\n".join("  " + kept(rule, 2) for rule in value) + "\n ]"
        else:
            text = kept(value, 1)
        items.append(f" {json.dumps(name)}: {text}")
    _TEXTS.clear()
    _TEXTS.update(used)  # only the parts of the file written last
    return "{\n" + ",\n".join(items) + "\n}\n"
