"""The gate: results against expected-results files, as a verdict a CI job can act on.

Commands: `sslconform baseline` writes expected-results files (conformance.expected),
`sslconform check` gates results files on them, and `run --expected` / `run --junit`
gate a run and write its JUnit XML. The file format is imported only when a command
needs it, so other commands start as fast as before.

`sslconform check RESULTS... --expected FILE|DIR` and `sslconform run ... --expected
FILE|DIR` exit 0 when every result matches, 1 when one does not, 2 on bad input.

A result matches when it passes and no entry speaks of it, or when an entry for its
rule (id or glob) and column, within the entry's version range, expects its status.
Every other result is one line naming the rule and the column:

    NEW      a result that is not a pass, and no entry speaks of its rule on its column
    CHANGED  entries speak of it, but expect another status (fail is now crash, ...)
    STALE    entries expect a deviation and the rule passes now: the library was fixed

A column whose run did not complete (unavailable, aborted) is a line too: the gate cannot
say its results match. Entries whose rules a run did not run (`--rules`), and entries
of columns no results file is given for, are counted as not checked.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from conformance.results import Results, RuleResult

if TYPE_CHECKING:
    from conformance.expected import Located, Regenerated

Kind = Literal["NEW", "CHANGED", "STALE", "INCOMPLETE"]


@dataclass(frozen=True)
class Finding:
    kind: Kind
    column: str
    rule: str | None  # None: the whole column (a run that did not complete)
    text: str  # what happened, on one line

    @property
    def line(self) -> str:
        return f"{self.kind:10} {self.column} {self.rule or ''}".rstrip() + f": {self.text}"


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    results: int = 0  # results compared
    expected: int = 0  # of those, deviations an entry expects
    unchecked: int = 0  # entries that no result given speaks to
    notes: list[str] = field(default_factory=list)  # what was let through, and why

    @property
    def code(self) -> int:
        return 1 if self.findings else 0

    def summary(self, columns: int) -> str:
        counts = {k: sum(f.kind == k for f in self.findings) for k in Kind.__args__}  # type: ignore[attr-defined]
        return (
            f"gate: {'FAILED' if self.findings else 'passed'}: {columns} column(s), "
            f"{self.results} results, {self.expected} expected deviations; "
            + ", ".join(f"{n} {k.lower()}" for k, n in counts.items())
            + f"; {self.unchecked} entries not checked"
        )


def _one_line(text: str | None, limit: int = 300) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _expectation(entries: Sequence[Located]) -> str:
    return "; ".join(f"{e.entry.shown} by {e.where}" for e in entries)


def _judge(column: str, result: RuleResult, entries: Sequence[Located]) -> Finding | None:
    if any(e.entry.allows(result.status) for e in entries):
        return None
    if result.status == "pass":
        if not entries:
            return None
        return Finding(
            "STALE",
            column,
            result.id,
            f"passes now; expected {_expectation(entries)} (remove or narrow the entry)",
        )
    detail = f": {_one_line(result.detail)}" if result.detail else ""
    if not entries:
        return Finding("NEW", column, result.id, f"{result.status}, no entry expects it{detail}")
    return Finding(
        "CHANGED",
        column,
        result.id,
        f"{result.status}, expected {_expectation(entries)}{detail}",
    )


def check(
    runs: Sequence[tuple[str, Results]],
    entries: Sequence[Located],
    allow_unavailable: bool = False,
) -> Verdict:
    """Each run (its source, its results) against the entries of its column and version."""
    from conformance.expected import run_version

    verdict = Verdict()
    spoken: set[int] = set()  # ids of entries some result was compared with
    for source, run in runs:
        version = run_version(run)
        mine = [e for e in entries if e.entry.applies(run.backend, version)]
        why = f" ({_one_line(run.reason)})" if run.reason else ""
        if allow_unavailable and run.state == "unavailable":
            verdict.notes.append(f"{run.backend}: unavailable{why}: allowed, nothing checked")
        elif run.state != "complete":
            verdict.findings.append(
                Finding(
                    "INCOMPLETE",
                    run.backend,
                    None,
                    f"run {run.state}{why}: {len(run.rules)} rules measured, "
                    f"the others cannot be checked ({source})",
                )
            )
        for result in run.rules:
            speaking = [e for e in mine if e.entry.matches(result.id)]
            spoken.update(id(e) for e in speaking)
            verdict.results += 1
            finding = _judge(run.backend, result, speaking)
            if finding is not None:
                verdict.findings.append(finding)
            elif result.status != "pass":
                verdict.expected += 1
    verdict.unchecked = sum(id(e) not in spoken for e in entries)
    return verdict


def report(verdict: Verdict, columns: int) -> int:
    for note in verdict.notes:
        _say(note)
    for finding in verdict.findings:
        print(finding.line)
    print(verdict.summary(columns))
    return verdict.code


def _say(line: str) -> None:
    print(f"sslconform: {line}", file=sys.stderr)


def _load_results(paths: Sequence[str]) -> list[tuple[str, Results]]:
    """Results files and folders, as `report` takes them; bad ones are bad input (exit 2)."""
    from conformance.expected import ExpectedError
    from conformance.report import load as results_load

    outcome = results_load.load(paths)
    for line in outcome.warnings:
        _say(line)
    if outcome.errors:
        raise ExpectedError(outcome.errors[0])
    return [(str(item.path), item.results) for item in outcome.loaded]


def cmd_check(args: argparse.Namespace) -> int:
    from conformance.expected import load

    entries = load(args.expected)  # ExpectedError: one line, exit 2
    runs = _load_results(args.results)
    given = {run.backend for _, run in runs}
    absent = sorted({e.entry.column for e in entries} - given)
    if absent:
        _say(f"no results given for {', '.join(absent)}: their entries are not checked")
    return report(check(runs, entries, args.allow_unavailable), len(runs))


# --- `sslconform run --expected FILE --junit FILE` ----------------------------------------


def _write_junit(results_path: Path, junit_path: Path) -> None:
    from conformance.expected import ExpectedError
    from conformance.report import junit, model
    from conformance.report.load import Loaded

    matrix = model.build([Loaded(results_path, Results.read(results_path))])
    text = junit.render(matrix, matrix.columns[0])
    try:
        junit_path.parent.mkdir(parents=True, exist_ok=True)
        junit_path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ExpectedError(f"{junit_path}: cannot write: {exc.strerror}") from None


def extend_run(parser: argparse.ArgumentParser) -> None:
    """Give `run` --expected (gate the run) and --junit (write JUnit XML of it)."""
    parser.add_argument(
        "--expected",
        action="append",
        metavar="FILE|DIR",
        help="gate the run against expected-results files: exit 1 on a result no entry "
        "expects or on an entry that no longer happens",
    )
    parser.add_argument("--junit", metavar="FILE", help="also write the results as JUnit XML")
    parser.add_argument(
        "--allow-unavailable",
        action="store_true",
        help="with --expected: a backend that cannot be loaded is not a gate failure",
    )
    run: Callable[[argparse.Namespace], int] = parser.get_default("func")

    def gated_run(args: argparse.Namespace) -> int:
        from conformance.expected import load

        # Read before the run, so a bad file costs a line, not a run.
        entries = load(args.expected) if args.expected else None
        code = run(args)
        results_path = Path(args.results)
        if args.junit and results_path.exists():
            _write_junit(results_path, Path(args.junit))
        if entries is None or code not in (0, 1):  # interrupted, or bad input
            return code
        results = Results.read(results_path)
        mine = [e for e in entries if e.entry.column == results.backend]
        return max(code, report(check([(args.results, results)], mine, args.allow_unavailable), 1))

    parser.set_defaults(func=gated_run)


# --- `sslconform baseline` ---------------------------------------------------------------


def _targets(runs: Sequence[Results], out: Path) -> dict[Path, list[Results]]:
    """FILE.toml: every run into one file; otherwise a folder of one NAME.toml per column."""
    if out.suffix == ".toml" and not out.is_dir():
        return {out: list(runs)}
    by_file: dict[Path, list[Results]] = {}
    for run in runs:
        by_file.setdefault(out / f"{run.backend}.toml", []).append(run)
    return by_file


def cmd_baseline(args: argparse.Namespace) -> int:
    from conformance.expected import ExpectedError, read_file, regenerate, render, validate

    runs = [run for _, run in _load_results(args.results)]
    for run in runs:
        if run.state != "complete":
            why = f" ({run.reason})" if run.reason else ""
            _say(f"{run.backend}: run {run.state}{why}: only the rules it ran give entries")
    plans: list[tuple[Path, Regenerated]] = []
    for path, group in _targets(runs, Path(args.out)).items():
        existing = [] if args.fresh or not path.exists() else read_file(path)
        validate(existing)
        plans.append((path, regenerate(group, existing)))
    for path, plan in plans:  # nothing is written unless every file could be read
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(plan.entries), encoding="utf-8")
        except OSError as exc:
            raise ExpectedError(f"{path}: cannot write: {exc.strerror}") from None
        print(
            f"{path}: {len(plan.entries)} entries ({plan.kept} kept, {plan.narrowed} globs "
            f"narrowed, {plan.new} new, {len(plan.dropped)} dropped)"
        )
        for gone in plan.dropped:
            e = gone.entry
            print(f"  dropped {gone.where}: {e.rule} on {e.column} is no longer {e.shown}")
    return 0


def _register_baseline(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "baseline",
        help="write expected-results files (TOML) from results files: one entry per non-pass",
        description="Write the results that are not a pass as expected-results entries, the "
        "reason prefilled from each result's detail. Over an existing file, entries that "
        "still match keep their reason, link and versions.",
    )
    p.add_argument("results", nargs="+", help="results files, or folders of *.json")
    p.add_argument(
        "--out",
        required=True,
        help="FILE.toml for one file, or a folder: one NAME.toml per column",
    )
    p.add_argument(
        "--fresh", action="store_true", help="ignore existing entries: every reason prefilled"
    )
    p.set_defaults(func=cmd_baseline)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `baseline` and `check` (`run` gets its options from extend_run)."""
    _register_baseline(sub)
    p = sub.add_parser(
        "check",
        help="the gate: exit 1 when results differ from the expected-results files",
        description="Compare results files with expected-results files: exit 0 when every "
        "result matches, 1 on a new deviation or a stale entry (one line each), 2 on bad input.",
    )
    p.add_argument("results", nargs="+", help="results files, or folders of *.json")
    p.add_argument(
        "--expected",
        action="append",
        required=True,
        metavar="FILE|DIR",
        help="an expected-results file, or a folder of *.toml (repeatable)",
    )
    p.add_argument(
        "--allow-unavailable",
        action="store_true",
        help="a column whose backend could not be loaded is not a gate failure",
    )
    p.set_defaults(func=cmd_check)
