"""Expected-results files: the deviations a column is known to have, each with its reason.

An expected-results file is TOML. Each `[[expected]]` entry names a rule (an id or a
glob such as `dup.copies.*`), a column (a backend name), the status that rule has there
(any status but `pass`: `fail`, `flaky`, `crash`, `timeout`, `error`, `absent`, `not-applicable`;
or a list of them, for a library whose deviation shows as `fail` on one run and `flaky` on
another), and a `reason` a person wrote. Optional: `link`, a bug tracker URL, and
`versions`, a range of the library's version that narrows the entry (see
`library_version`).

Absent and not-applicable results are entries too: a function that appears or disappears,
or a version qualifier that starts or stops excluding a library, changes what the column
shows, so the gate reports it as it reports a new failure.

`sslconform baseline RESULTS... --out FILE|DIR` writes these files from results files,
one entry per result that is not a pass, the reason prefilled from the result's detail.
Run again over an existing file, it keeps every entry that still matches (with its
reason, link and versions, globs included), narrows a glob that now also covers results
of another status, drops entries that no longer happen, and adds the new deviations.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from conformance.results import Results, RuleResult

FORMAT = 1

# Every status but pass: what an entry may expect.
Deviation = Literal["fail", "flaky", "crash", "timeout", "error", "absent", "not-applicable"]
_DEVIATIONS: tuple[str, ...] = Deviation.__args__  # type: ignore[attr-defined]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

HEADER = """\
# Expected results of sslconform: each entry is a result that is not a pass.
# `sslconform check RESULTS --expected FILE` exits 1 on a result no entry expects and on an
# entry that no longer happens. Fields: rule (id or glob), column, status, reason (why the
# library does this), optional link (bug tracker) and versions (e.g. ">=3.0, <3.5", on the
# first version number the library reports). Regenerate with `sslconform baseline`: entries
# that still match keep their reason, link and versions.
"""


class ExpectedError(ValueError):
    """A file that cannot be used: one line naming the file (and the entry)."""


class Entry(BaseModel):
    """One expected result: `rule` on `column` has `status`, for `reason`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    rule: Text
    column: Text
    status: Deviation | tuple[Deviation, ...]
    reason: Text
    link: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    versions: Text | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _statuses(cls, value: Any) -> Any:
        if isinstance(value, list):  # TOML's array: one of these statuses, in any run
            if not value:
                raise ValueError("an empty list of statuses")
            for one in value:
                if one not in _DEVIATIONS:
                    raise ValueError(f"not a status an entry can expect: {one!r}")
            return tuple(value) if len(value) > 1 else value[0]
        if isinstance(value, str) and value not in _DEVIATIONS:
            raise ValueError(f"not a status an entry can expect: {value!r}")
        return value

    def allows(self, status: str) -> bool:
        """The entry expects this status (one of its statuses)."""
        return status == self.status if isinstance(self.status, str) else status in self.status

    @property
    def shown(self) -> str:
        """The status, or the statuses as "fail or flaky"."""
        return self.status if isinstance(self.status, str) else " or ".join(self.status)

    @field_validator("versions")
    @classmethod
    def _range(cls, value: str | None) -> str | None:
        if value is not None:
            version_range(value)  # raises ValueError with what is wrong
        return value

    def applies(self, column: str, version: Version | None) -> bool:
        """The entry speaks of this column, and of this library version if it names a range."""
        if column != self.column:
            return False
        if self.versions is None:
            return True
        return version is not None and version_range(self.versions).contains(
            version, prereleases=True
        )

    def matches(self, rule_id: str) -> bool:
        return fnmatchcase(rule_id, self.rule)

    def expects(self, column: str, version: Version | None, result: RuleResult) -> bool:
        """This entry accepts this result of this column's run."""
        return (
            self.allows(result.status) and self.applies(column, version) and self.matches(result.id)
        )


class ExpectedFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    format: Literal[1] = 1
    expected: list[Entry] = Field(default_factory=list)


@dataclass(frozen=True)
class Located:
    """An entry and where it was read from, for lines a person can find it by."""

    entry: Entry
    path: Path
    index: int  # 1-based, in file order

    @property
    def where(self) -> str:
        return f"{self.path} entry {self.index}"


# --- versions -------------------------------------------------------------------------

_NUMBER = re.compile(r"(\d+(?:\.\d+)+)([a-z]*)")
_LETTERED = re.compile(r"(\d+(?:\.\d+)+)([a-z]+)\b")


def _letters(suffix: str) -> str:
    """OpenSSL's letter releases as a fourth number: w is 23, za is 27 (z then a)."""
    return "." + str(sum(ord(c) - ord("a") + 1 for c in suffix)) if suffix else ""


def library_version(text: str) -> Version | None:
    """The first dotted number in the version a library reports, its letters as a number.

    "OpenSSL 3.0.19 27 Jan 2026" is 3.0.19, "OpenSSL 1.1.1w  11 Sep 2023" is 1.1.1.23,
    "GnuTLS 3.7.9 (OpenSSL compatibility layer)" is 3.7.9; "BoringSSL" has none, and an
    entry with a version range never applies to it.
    """
    found = _NUMBER.search(text)
    if not found:
        return None
    return Version(found[1] + _letters(found[2]))


def version_range(text: str) -> SpecifierSet:
    """PEP 440 specifiers (">=3.0, <3.5"); a version may carry OpenSSL letters (>=1.1.1h)."""
    converted = _LETTERED.sub(lambda m: m[1] + _letters(m[2]), text)
    try:
        return SpecifierSet(converted)
    except InvalidSpecifier:
        raise ValueError(
            f"not a version range (PEP 440 specifiers, e.g. >=3.0, <3.5): {text!r}"
        ) from None


def run_version(results: Results) -> Version | None:
    """The library's version number; where its own string has none (BoringSSL), the
    number of the Debian package it was fetched as."""
    lib = results.library
    if lib is None:
        return None
    found = library_version(lib.version)
    if found is None and lib.package:
        found = library_version(lib.package.split(" ", 1)[-1])
    return found


# --- reading --------------------------------------------------------------------------


def _field_error(path: Path, error: Any) -> str:
    loc = list(error["loc"])
    where = f"{path}"
    if loc[:1] == ["expected"] and len(loc) > 1 and isinstance(loc[1], int):
        where += f": entry {loc[1] + 1}"
        loc = loc[2:]
    message = str(error["msg"])
    if error["type"] == "missing":
        message = "field required"
    elif error["type"] == "extra_forbidden":
        message = "not a field of an entry (rule, column, status, reason, link, versions)"
    elif error["type"] == "literal_error" and loc == ["status"]:
        message = f"not a status an entry can expect: {error['input']!r} ({message})"
    elif error["type"] == "string_too_short":
        message = "empty"
    elif error["type"] == "string_pattern_mismatch":
        message = f"not an http(s) URL: {error['input']!r}"
    else:
        message = message.removeprefix("Value error, ")
    field = ".".join(str(part) for part in loc)
    return f"{where}: {field}: {message}" if field else f"{where}: {message}"


def read_file(path: Path) -> list[Located]:
    """One expected-results file, validated; ExpectedError (one line) if it is not usable."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExpectedError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ExpectedError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExpectedError(f"{path}: not TOML: {exc}") from None
    try:
        parsed = ExpectedFile.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ExpectedError(_field_error(path, errors[0]) + more) from None
    return [Located(entry, path, i) for i, entry in enumerate(parsed.expected, 1)]


def files_in(raw: str | Path) -> list[Path]:
    """A file as given; a folder gives its *.toml files, sorted."""
    path = Path(raw)
    if path.is_dir():
        found = sorted(path.glob("*.toml"))
        if not found:
            raise ExpectedError(f"{path}: no *.toml expected-results files in this folder")
        return found
    if not path.exists():
        raise ExpectedError(f"{path}: no such file or folder")
    return [path]


def load(paths: Iterable[str | Path]) -> list[Located]:
    """Every entry of the files and folders given, each checked against the catalogue."""
    entries = [e for raw in paths for path in files_in(raw) for e in read_file(path)]
    validate(entries)
    return entries


def validate(entries: Sequence[Located]) -> None:
    """Each entry names a testable rule (its glob matches one) and a column this checkout has."""
    from conformance.registry import all_backends
    from conformance.rules import RULES

    ids = [r.id for r in RULES if r.testable]
    columns = all_backends()
    for item in entries:
        at = f"{item.path}: entry {item.index}"
        if not any(item.entry.matches(i) for i in ids):
            raise ExpectedError(
                f"{at}: rule: unknown rule {item.entry.rule!r} "
                "(no testable rule of 'sslconform rules' matches it)"
            )
        if item.entry.column not in columns:
            raise ExpectedError(
                f"{at}: column: unknown column {item.entry.column!r}; "
                f"known: {', '.join(sorted(columns))}"
            )


# --- writing --------------------------------------------------------------------------


def render(entries: Sequence[Entry]) -> str:
    import tomli_w

    data = {
        "format": FORMAT,
        "expected": [e.model_dump(exclude_none=True) for e in entries],
    }
    return HEADER + "\n" + tomli_w.dumps(data)


def prefilled_reason(result: RuleResult) -> str:
    """The result's detail on one line, for a person to rewrite as the reason."""
    detail = " ".join((result.detail or "").split())
    return detail or f"{result.status}, with no detail recorded"


@dataclass
class Regenerated:
    entries: list[Entry]
    kept: int = 0  # entries carried over as they were (with their reason)
    narrowed: int = 0  # globs that now also cover other statuses: one entry per rule they keep
    new: int = 0
    dropped: list[Located] = field(default_factory=list)  # entries no result has any more


def regenerate(runs: Sequence[Results], existing: Sequence[Located]) -> Regenerated:
    """The entries that make `check` of these runs pass, keeping what still holds of `existing`.

    An existing entry that speaks of none of these runs (another column, another version
    range, rules not run) is kept as it is.
    """
    versions = {id(r): run_version(r) for r in runs}
    pin = _columns_with_many_versions(runs)
    out: list[Entry] = []
    report = Regenerated(out)
    for item in existing:
        entry = item.entry
        cells = [
            (run, result)
            for run in runs
            if entry.applies(run.backend, versions[id(run)])
            for result in run.rules
            if entry.matches(result.id)
        ]
        hits = [(run, result) for run, result in cells if entry.allows(result.status)]
        if not cells:
            out.append(entry)
            report.kept += 1
        elif not hits:
            report.dropped.append(item)
        elif all(
            entry.allows(result.status)
            or _covered(existing, item, run.backend, versions[id(run)], result)
            for run, result in cells
        ):
            out.append(entry)
            report.kept += 1
        else:
            report.narrowed += 1
            for _, result in hits:
                narrow = entry.model_copy(update={"rule": result.id})
                if narrow not in out:
                    out.append(narrow)
    for run in runs:
        version = versions[id(run)]
        for result in run.rules:
            if result.status == "pass":
                continue
            if any(
                e.applies(run.backend, version) and e.matches(result.id) and e.allows(result.status)
                for e in out
            ):
                continue
            out.append(
                Entry(
                    rule=result.id,
                    column=run.backend,
                    status=result.status,
                    reason=prefilled_reason(result),
                    versions=f"=={version}" if run.backend in pin and version else None,
                )
            )
            report.new += 1
    return report


def _covered(
    existing: Sequence[Located],
    but: Located,
    column: str,
    version: Version | None,
    result: RuleResult,
) -> bool:
    return any(
        other is not but and other.entry.expects(column, version, result) for other in existing
    )


def _columns_with_many_versions(runs: Sequence[Results]) -> set[str]:
    """Columns run on more than one library version: their new entries name the version."""
    seen: dict[str, set[str]] = {}
    for run in runs:
        seen.setdefault(run.backend, set()).add(str(run_version(run)))
    return {column for column, found in seen.items() if len(found) > 1}
