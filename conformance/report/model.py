"""The matrix a report shows: rules (rows, grouped as the page groups them) by columns.

Rows come from the catalogue entries the results files carry (each run records the
rules it was held to). A file of format 1 carries none: then this checkout's catalogue
(conformance.rules) gives the rows the files lack. A rule id found in results but in
neither still gets a row, grouped by its id's prefix, so nothing measured is lost.
Columns are results files.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any

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
class Column:
    key: str  # unique in the report; the backend name unless two files share it
    results: Results
    source: str  # the file it came from, as given

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


def build(loaded: list[Loaded], rules: list[RuleInfo] | None = None) -> Matrix:
    """Columns sorted by family, version, name; rows in catalogue order, then unknown ids.

    `rules` replaces the catalogue (tests); by default the results files give it.
    """

    def col_order(item: Loaded) -> tuple[Any, ...]:
        lib = item.results.library
        return (
            lib.name if lib else "~",
            natural_key(lib.version) if lib else (),
            item.results.backend,
            str(item.path),
        )

    ordered = sorted(loaded, key=col_order)
    rules = list(carried_rules(ordered) if rules is None else rules)
    names = [item.results.backend for item in ordered]
    columns: list[Column] = []
    seen: dict[str, int] = {}
    for item in ordered:
        key = item.results.backend
        if names.count(key) > 1:
            # Two runs of one backend (two machines, two days): number them in column order.
            seen[key] = seen.get(key, 0) + 1
            key = f"{key}-{seen[key]}"
        columns.append(Column(key, item.results, str(item.path)))

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
