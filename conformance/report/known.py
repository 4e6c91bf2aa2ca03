"""Known deviations: the report's cells read against expected-results files.

`sslconform report ... --expected FILE|DIR` marks each cell as the gate judges it
(conformance.gate.check, run on each column's newest results): a deviation an entry
expects is known, shown with the entry's reason and link; a result no entry expects is
new; a result entries speak of with another status is changed; a pass that entries
still expect to deviate is stale (fixed). The files are read with conformance.expected's
own reader; what the gate decides is not re-implemented here.

Entries are checked against the rules the report shows (a testable rule, or one the
results measured): an entry that names none is left out with one line, and the report
still renders (it exits 1, as for a results file it cannot use). They are not checked
against the columns this checkout declares: that would import the backends, and the
report imports none. An entry of a column the report does not show is not checked, as
the gate leaves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conformance.expected import Located, files_in, read_file, run_version
from conformance.gate import Finding, check
from conformance.report.model import Matrix

# How the gate judged a cell: the stylesheet's classes k-known, k-new, k-changed, k-stale.
KNOWN, NEW, CHANGED, STALE = "known", "new", "changed", "stale"
LABELS = {
    KNOWN: "known deviation",
    NEW: "new: no entry expects it",
    CHANGED: "changed: entries expect another status",
    STALE: "fixed: an entry still expects a deviation",
}


@dataclass(frozen=True)
class Reason:
    status: str
    reason: str
    link: str | None
    where: str  # the file and entry number


@dataclass(frozen=True)
class Judged:
    kind: str
    reasons: tuple[Reason, ...]  # the entries that speak of the cell
    finding: str | None  # what the gate says, for anything but a known deviation


@dataclass
class Known:
    """The gate's verdict on every cell of a matrix, and its lines."""

    cells: dict[tuple[str, str], Judged] = field(default_factory=dict)  # (rule, column)
    findings: list[Finding] = field(default_factory=list)
    entries: int = 0
    files: tuple[str, ...] = ()

    def count(self, kind: str) -> int:
        return sum(j.kind == kind for j in self.cells.values())

    def of_kind(self, kind: str) -> list[tuple[tuple[str, str], Judged]]:
        return [(key, j) for key, j in self.cells.items() if j.kind == kind]


def read(paths: Sequence[str | Path], matrix: Matrix) -> tuple[list[Located], list[str]]:
    """Every entry of the files and folders given (ExpectedError, one line, if a file is
    not usable), and one line per entry left out because it names no rule the report's
    results were held to (results of another catalogue: the page still renders)."""
    entries = [e for raw in paths for path in files_in(raw) for e in read_file(path)]
    measured = {rule_id for rule_id, _ in matrix.cells}
    ids = [r.id for r in matrix.rules if r.testable or r.id in measured]
    usable: list[Located] = []
    left_out: list[str] = []
    for item in entries:
        if any(item.entry.matches(i) for i in ids):
            usable.append(item)
        else:
            left_out.append(
                f"{item.path}: entry {item.index}: rule: unknown rule {item.entry.rule!r} "
                "(it matches no rule the report's results were held to): left out"
            )
    return usable, left_out


def judge(matrix: Matrix, entries: Sequence[Located], files: Sequence[str] = ()) -> Known:
    """Each column's newest results through the gate, cell by cell."""
    known = Known(entries=len(entries), files=tuple(files))
    for col in matrix.columns:
        verdict = check([(col.source, col.results)], entries)
        known.findings += verdict.findings
        by_rule = {f.rule: f for f in verdict.findings if f.rule is not None}
        version = run_version(col.results)
        mine = [e for e in entries if e.entry.applies(col.results.backend, version)]
        for result in col.results.rules:
            speaking = [e for e in mine if e.entry.matches(result.id)]
            reasons = tuple(
                Reason(e.entry.shown, e.entry.reason, e.entry.link, e.where) for e in speaking
            )
            finding = by_rule.get(result.id)
            if finding is not None:
                kind = {"NEW": NEW, "CHANGED": CHANGED, "STALE": STALE}[finding.kind]
                known.cells[(result.id, col.key)] = Judged(kind, reasons, finding.text)
            elif result.status != "pass":
                known.cells[(result.id, col.key)] = Judged(KNOWN, reasons, None)
    return known
