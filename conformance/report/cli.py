"""Command-line entry points: `sslconform report`, `sslconform diff`, `sslconform schema`.

`register(sub)` adds the three subcommands to the main parser's subparsers.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.expected import ExpectedError
from conformance.report import diff, html, junit, known, load, markdown, model, reproducers
from conformance.results import schema_text


def _say(lines: list[str]) -> None:
    for line in lines:
        print(f"sslconform: {line}", file=sys.stderr)


def write_report(
    outcome: load.LoadOutcome,
    out_dir: Path,
    rules: list[model.RuleInfo] | None = None,
    baseline: list[load.Loaded] | None = None,
    expected: Sequence[str | Path] = (),
) -> model.Matrix:
    """Every output of `sslconform report` from loaded results: it only renders.

    Nothing is compiled or run and no backend is imported: what the report shows of a
    cell's C reproducer is what the run recorded in the results file. With a baseline
    (the previous results), the page marks each cell whose status changed, lists what is
    new and what is fixed, and shows the earlier statuses as each cell's history; the
    Markdown summary ends with the same changes. With expected-results files, each cell
    is shown as the gate judges it (known, with its reason; new; changed; fixed).
    """
    matrix = model.build(outcome.loaded, rules, baseline)
    judged = None
    if expected:
        entries, left_out = known.read(expected, matrix)  # ExpectedError: a file is bad
        outcome.errors.extend(left_out)  # the report still renders; `report` exits 1
        _say(left_out)
        judged = known.judge(matrix, entries, [str(p) for p in expected])
    pairs = None
    if baseline is not None:
        current = [load.Loaded(Path(col.source), col.results) for col in matrix.columns]
        pairs = diff.diff(model.newest(baseline), current)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Outputs of an earlier report in the same folder would mix with this one's.
    shutil.rmtree(out_dir / reproducers.FOLDER, ignore_errors=True)
    shutil.rmtree(out_dir / "junit", ignore_errors=True)
    reproducers.write_sources(matrix, out_dir)
    page = html.render(matrix, known=judged, changes=pairs)
    (out_dir / "index.html").write_text(page, encoding="utf-8")
    summary = markdown.render(matrix)
    if pairs is not None:
        changes = diff.render_markdown(pairs)
        (out_dir / "diff.md").write_text(changes, encoding="utf-8")
        summary += "\n" + changes.replace("# Conformance changes", "## Changes since the baseline")
    (out_dir / "summary.md").write_text(summary, encoding="utf-8")
    (out_dir / "schema.json").write_text(schema_text(), encoding="utf-8")
    junit_dir = out_dir / "junit"
    junit_dir.mkdir()
    for col in matrix.columns:
        name = reproducers.safe_name(col.key)
        (junit_dir / f"{name}.xml").write_text(junit.render(matrix, col), encoding="utf-8")
    return matrix


def run_report(args: argparse.Namespace) -> int:
    outcome = load.load(args.results)
    _say(outcome.warnings)
    _say(outcome.errors)
    if not outcome.loaded:
        _say(["no usable results files: nothing to report"])
        return 2
    baseline = None
    if args.previous:
        before = load.load(args.previous)
        _say(before.errors)
        if not before.loaded:
            _say(["the previous results have no usable results file"])
            return 2
        baseline = before.loaded
    out_dir = Path(args.out)
    try:
        matrix = write_report(outcome, out_dir, baseline=baseline, expected=args.expected)
    except ExpectedError as exc:
        _say([str(exc)])
        return 2
    except OSError as exc:
        _say([f"{out_dir}: cannot write the report: {exc.strerror or exc}"])
        return 2
    print(
        f"{out_dir / 'index.html'}: {len(matrix.rules)} rules x {len(matrix.columns)} backends"
        f" ({len(outcome.errors)} inputs not used)"
    )
    return 1 if outcome.errors else 0


def run_diff(args: argparse.Namespace) -> int:
    old, new = load.load([args.old]), load.load([args.new])
    _say(old.warnings[:1] or new.warnings[:1])
    _say(old.errors + new.errors)
    if not old.loaded or not new.loaded:
        _say(["nothing to compare: one side has no usable results file"])
        return 2
    pairs = diff.diff(old.loaded, new.loaded)
    render = {"text": diff.render_text, "markdown": diff.render_markdown, "json": diff.render_json}
    sys.stdout.write(render[args.format](pairs))
    changed = any(p.changes for p in pairs)
    if old.errors or new.errors:
        return 2
    return 1 if args.exit_code and changed else 0


def run_schema(args: argparse.Namespace) -> int:
    text = schema_text()
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            _say([f"{args.out}: cannot write: {exc.strerror}"])
            return 2
    else:
        sys.stdout.write(text)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rep = sub.add_parser(
        "report",
        help="HTML matrix, Markdown summary and JUnit XML from results files",
        description="Build the conformance report from results files or folders of *.json. "
        "It only renders what the files hold: nothing is compiled or run.",
    )
    rep.add_argument("results", nargs="+", help="results files, or folders of *.json")
    rep.add_argument("--out", required=True, help="folder to write the report into")
    rep.add_argument(
        "--previous",
        "--baseline",
        dest="previous",
        action="append",
        default=[],
        metavar="RESULTS",
        help="the previous results (file or folder): the page marks each cell whose status "
        "changed, lists what is new and what is fixed, and shows each cell's history; the "
        "summary lists the changes too (also written to diff.md)",
    )
    rep.add_argument(
        "--expected",
        action="append",
        default=[],
        metavar="FILE|DIR",
        help="expected-results files (or folders of *.toml): known deviations are shown with "
        "their reason and link, new ones apart",
    )
    rep.set_defaults(func=run_report)

    dif = sub.add_parser(
        "diff",
        help="rules whose status changed between two sets of results",
        description="Compare two results files (any backends) or two folders (by backend).",
    )
    dif.add_argument("old", help="results file or folder")
    dif.add_argument("new", help="results file or folder")
    dif.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    dif.add_argument(
        "--exit-code", action="store_true", help="exit 1 when some rule changed status"
    )
    dif.set_defaults(func=run_diff)

    sch = sub.add_parser(
        "schema",
        help="the JSON Schema of results files",
        description="Print (or write) the JSON Schema generated from the results model.",
    )
    sch.add_argument("--out", help="write it to this file instead of printing it")
    sch.set_defaults(func=run_schema)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (python -m conformance.report.cli) until the main CLI registers these."""
    parser = argparse.ArgumentParser(prog="sslconform")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
