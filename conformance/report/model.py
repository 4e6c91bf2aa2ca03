"""The matrix a report shows: rules (rows, grouped as the page groups them) by columns.

Rows come from the catalogue entries the results files carry (each run records the
rules it was held to). A file of format 1 carries none: then this checkout's catalogue
(conformance.rules) gives the rows the files lack. A rule id found in results but in
neither still gets a row, grouped by its id's prefix, so nothing measured is lost.

Columns are backends, grouped by family (LibraryInfo.name) and ordered by the version
the library reports: the page's own library first, then the families held in several
versions, then the others, the reference model last. Several runs of one backend are one
column: the newest (by `started`) gives the cells, the older ones (and the runs given as
previous results) a history of statuses per cell. For each rule and family the matrix
says since which version the family breaks the rule and in which it was fixed.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version

from conformance.expected import run_version
from conformance.report.load import Loaded
from conformance.results import STATUSES, Results, RuleResult

GROUPS: tuple[str, ...] = (
    "SSL_new",
    "reference counting",
    "SSL_dup identity",
    "SSL_dup settings",
    "return values",
)
OTHER_GROUP = "other rules"
NOT_RUN = "not-run"  # the catalogue has the rule, the results file does not
UNTESTABLE = "untestable"  # the catalogue says it cannot be observed (advice, summaries)
CELL_STATUSES: tuple[str, ...] = (*STATUSES, NOT_RUN)
SHOWN_STATUSES: tuple[str, ...] = (*CELL_STATUSES, UNTESTABLE)
# A cell that breaks the page's promise, as opposed to one that keeps it or cannot show it.
BREAKS: tuple[str, ...] = ("fail", "crash", "timeout")
PAGE_FAMILY = "OpenSSL"  # the library whose manual page the rules come from
ORACLE_FAMILY = "reference model"  # the page as a model: the column every other is read against
UNKNOWN_FAMILY = "?"  # a run whose library could not be had
_VERB = {"fail": "fails", "crash": "crashes", "timeout": "hangs"}
HISTORY_DEPTH = 8  # earlier runs a cell shows as marks
_VERSION_TEXT = re.compile(r"\d+(?:\.\d+)+[a-z]*")

_PREFIX_GROUPS = (
    ("new.", "SSL_new"),
    ("ref.", "reference counting"),
    ("dup.copies.", "SSL_dup settings"),
    ("dup.", "SSL_dup identity"),
    ("ret.", "return values"),
)


@dataclass(frozen=True)
class RuleInfo:
    id: str
    group: str
    quotes: tuple[tuple[str, str], ...] = ()  # (page version, verbatim quote), sorted
    since: str | None = None
    how: str = ""
    testable: bool = True
    reason: str | None = None

    @property
    def summary(self) -> str:
        """One line for the row: the newest page's quote (the drill-down has them all)."""
        text = self.quotes[-1][1] if self.quotes else self.how
        return " ".join(text.split())

    @property
    def setting(self) -> str | None:
        """For a duplicated-setting rule, the setting it is about (the page's list item)."""
        if self.id.startswith("dup.copies."):
            return self.id.removeprefix("dup.copies.").split(".")[0]
        return None


def group_of(rule_id: str) -> str:
    for prefix, group in _PREFIX_GROUPS:
        if rule_id.startswith(prefix):
            return group
    return OTHER_GROUP


def catalogue() -> list[RuleInfo]:
    """The rules catalogue, if this checkout has one (conformance.rules.RULES)."""
    try:
        module = importlib.import_module("conformance.rules")
    except ImportError:
        return []
    return [rule_info(rule) for rule in getattr(module, "RULES", ())]


def rule_info(rule: Any) -> RuleInfo:
    quotes = getattr(rule, "quotes", None) or {}
    group = str(getattr(rule, "group", "") or group_of(str(rule.id)))
    return RuleInfo(
        id=str(rule.id),
        group=group if group in GROUPS else OTHER_GROUP,
        quotes=tuple(sorted((str(k), str(v)) for k, v in dict(quotes).items())),
        since=getattr(rule, "since", None),
        how=str(getattr(rule, "how", "") or ""),
        testable=bool(getattr(rule, "testable", True)),
        reason=getattr(rule, "reason", None),
    )


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """'3.10' after '3.9'; letters after digits at the same place."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|[^\d]+", text)
    )


@dataclass(frozen=True)
class Run:
    """One results file: a run of one backend."""

    results: Results
    source: str  # the file it came from, as given

    @property
    def when(self) -> str:
        """The run's start time, or its file when the file records none."""
        return self.results.started or self.source


@dataclass(frozen=True)
class Column:
    key: str  # unique in the report: the backend name
    results: Results  # the newest run: its cells are the matrix's
    source: str  # the file it came from, as given
    earlier: tuple[Run, ...] = ()  # older runs of the same backend, oldest first

    @property
    def label(self) -> str:
        lib = self.results.library
        if lib is None:
            return self.key
        # Most libraries' version strings already name the library.
        if lib.name.lower() in lib.version.lower():
            return lib.version
        return f"{lib.name} {lib.version}"

    @property
    def page(self) -> str:
        lib = self.results.library
        return lib.page if lib else "?"

    @property
    def family(self) -> str:
        lib = self.results.library
        return lib.name if lib else UNKNOWN_FAMILY

    @property
    def version(self) -> Version | None:
        """The library's version number, as the gate reads it (OpenSSL's letters too)."""
        return run_version(self.results)

    @property
    def version_label(self) -> str:
        """The version as the library writes it ("1.1.1w", "3.5.9"); the column without one."""
        lib = self.results.library
        found = _VERSION_TEXT.search(lib.version) if lib else None
        if found is None and lib is not None and lib.package:
            found = _VERSION_TEXT.search(lib.package.split(" ", 1)[-1])
        return found.group() if found else self.key

    def history(self, rule_id: str, depth: int = HISTORY_DEPTH) -> list[tuple[str, str]]:
        """(when, status) of this rule in the earlier runs, oldest first, the last `depth`."""
        runs = self.earlier[-depth:] if depth else ()
        out = []
        for run in runs:
            found = next((r.status for r in run.results.rules if r.id == rule_id), NOT_RUN)
            out.append((run.when, found))
        return out


@dataclass
class Matrix:
    rules: list[RuleInfo]
    columns: list[Column]
    cells: dict[tuple[str, str], RuleResult] = field(default_factory=dict)  # (rule, column)
    _testable: dict[str, bool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._testable = {r.id: r.testable for r in self.rules}

    def status(self, rule_id: str, column: str) -> str:
        result = self.cells.get((rule_id, column))
        if result is not None:
            return result.status
        return NOT_RUN if self._testable.get(rule_id, True) else UNTESTABLE

    def groups(self) -> list[tuple[str, list[RuleInfo]]]:
        order = {g: i for i, g in enumerate((*GROUPS, OTHER_GROUP))}
        by_group: dict[str, list[RuleInfo]] = {}
        for rule in self.rules:
            by_group.setdefault(rule.group, []).append(rule)
        return sorted(by_group.items(), key=lambda item: order[item[0]])

    def counts(self, column: str) -> dict[str, int]:
        counts = dict.fromkeys(CELL_STATUSES, 0)
        for rule in self.rules:
            if rule.testable or (rule.id, column) in self.cells:
                counts[self.status(rule.id, column)] += 1
        return counts

    def shown_able_to_fail(self, column: str) -> tuple[int, int]:
        """(passes shown able to fail, passes): a pass means more when the same library
        was seen to fail the rule under a break at its boundary."""
        passes = [
            r
            for r in self.rules
            if self.status(r.id, column) == "pass" and (r.id, column) in self.cells
        ]
        shown = sum(self.cells[(r.id, column)].able_to_fail is not None for r in passes)
        return shown, len(passes)

    def families(self) -> list[tuple[str, list[Column]]]:
        """The columns by family, in column order."""
        out: list[tuple[str, list[Column]]] = []
        for col in self.columns:
            if out and out[-1][0] == col.family:
                out[-1][1].append(col)
            else:
                out.append((col.family, [col]))
        return out

    def version_history(self, rule_id: str, family: str) -> str | None:
        """Since which version the family breaks the rule, and in which it was fixed:
        "fails since 1.1.1w; fixed in 3.5.9". None when the family has one column here or
        no version breaks it. Absent, not-applicable and error cells say nothing of the
        promise, so they neither start nor end a break."""
        cols = [c for c in self.columns if c.family == family]
        if len(cols) < 2:
            return None
        phrases: list[str] = []
        broken: bool | None = None
        for col in cols:
            status = self.status(rule_id, col.key)
            if status not in (*BREAKS, "pass"):
                continue
            now = status in BREAKS
            if now and broken is not True:
                again = " again" if phrases else ""
                phrases.append(f"{_VERB[status]}{again} since {col.version_label}")
            elif not now and broken is True:
                phrases.append(f"fixed in {col.version_label}")
            broken = now
        return "; ".join(phrases) or None

    def version_histories(self) -> list[tuple[RuleInfo, str, str]]:
        """(rule, family, history) for every rule some version of a family breaks."""
        return [
            (rule, family, text)
            for rule in self.rules
            for family, _ in self.families()
            if (text := self.version_history(rule.id, family)) is not None
        ]

    def disagree(self, rule_id: str) -> bool:
        seen = {self.status(rule_id, c.key) for c in self.columns} - {NOT_RUN, UNTESTABLE}
        return len(seen) > 1


def carried_rules(loaded: list[Loaded]) -> list[RuleInfo]:
    """The rows the results files' own catalogues give, in their order; where a file
    carries no catalogue (format 1), this checkout's catalogue fills in what they lack."""
    carried: dict[str, RuleInfo] = {}
    for item in loaded:
        for entry in item.results.catalogue or ():
            carried.setdefault(entry.id, rule_info(entry))
    if all(item.results.catalogue is not None for item in loaded):
        return list(carried.values())
    here = catalogue()
    known = {r.id for r in here}
    return [carried.get(r.id, r) for r in here] + [
        r for rid, r in carried.items() if rid not in known
    ]


def family_rank(family: str, several: bool) -> int:
    """Families in the order a reader looks for them: the page's own library (OpenSSL)
    first, then the families the report holds in several versions, then the others, and
    the oracle (the reference model) last."""
    if family == PAGE_FAMILY:
        return 0
    if family == ORACLE_FAMILY:
        return 3
    return 1 if several else 2


def _newest_first(runs: list[Loaded]) -> list[Loaded]:
    """A backend's runs, newest first: by start time, then by file (a run without a time
    is older than one with)."""
    return sorted(
        runs,
        key=lambda item: (
            item.results.started is not None,
            item.results.started or "",
            str(item.path),
        ),
        reverse=True,
    )


def newest(loaded: list[Loaded]) -> list[Loaded]:
    """The newest run of each backend, in the order the backends first appear."""
    by_backend: dict[str, list[Loaded]] = {}
    for item in loaded:
        by_backend.setdefault(item.results.backend, []).append(item)
    return [_newest_first(runs)[0] for runs in by_backend.values()]


def columns_of(loaded: list[Loaded], previous: list[Loaded] | None = None) -> list[Column]:
    """One column per backend, its newest run giving the cells and the others (with the
    runs of `previous`, always older) its history; ordered by family, then version."""
    by_backend: dict[str, list[Loaded]] = {}
    for item in loaded:
        by_backend.setdefault(item.results.backend, []).append(item)
    before: dict[str, list[Loaded]] = {}
    for item in previous or ():
        before.setdefault(item.results.backend, []).append(item)
    columns = []
    for name, runs in by_backend.items():
        newest, *older = _newest_first(runs)
        earlier = [*_newest_first(before.get(name, [])), *older]
        history = tuple(
            Run(item.results, str(item.path)) for item in reversed(_newest_first(earlier))
        )
        columns.append(Column(name, newest.results, str(newest.path), history))
    sizes: dict[str, int] = {}
    for col in columns:
        sizes[col.family] = sizes.get(col.family, 0) + 1

    def order(col: Column) -> tuple[Any, ...]:
        version = col.version
        return (
            family_rank(col.family, sizes[col.family] > 1),
            col.family.casefold(),
            version is None,  # a column whose library names no version: after the numbered
            version or Version("0"),
            col.key,
        )

    return sorted(columns, key=order)


def build(
    loaded: list[Loaded],
    rules: list[RuleInfo] | None = None,
    previous: list[Loaded] | None = None,
) -> Matrix:
    """Columns by family and version (model.columns_of); rows in catalogue order, then
    unknown ids. Several runs of one backend make one column with a history.

    `rules` replaces the catalogue (tests); by default the results files give it.
    """
    columns = columns_of(loaded, previous)
    newest = [Loaded(Path(col.source), col.results) for col in columns]
    rules = list(carried_rules(newest) if rules is None else rules)
    known = {r.id for r in rules}
    extra: set[str] = set()
    cells: dict[tuple[str, str], RuleResult] = {}
    for col in columns:
        for result in col.results.rules:
            cells[(result.id, col.key)] = result
            if result.id not in known:
                extra.add(result.id)
    rules += [RuleInfo(id=rid, group=group_of(rid)) for rid in sorted(extra)]
    return Matrix(rules, columns, cells)


@dataclass(frozen=True)
class Repro:
    """A cell's C reproducer as the run recorded it (RuleResult.reproducer), for the writers."""

    state: str  # yes: the program saw the deviation again; no: it did not; not-built
    reason: str  # one line: why not built, or what the program concluded
    source: str | None = None  # the C program
    filename: str | None = None  # where the report wrote it, relative to the report folder
    build: str | None = None  # the build command
    run: str | None = None  # the run command
    output: str = ""  # what the program printed

    @property
    def label(self) -> str:
        return {"yes": "reproduces", "no": "does not reproduce", "not-built": "not built"}[
            self.state
        ]
