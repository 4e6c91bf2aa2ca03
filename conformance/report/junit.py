"""JUnit XML, one file per backend, for CI systems that show test results.

Each rule is a test case named by its id, classed by its group. A deviation is a
failure; a flaky verdict, a crash, timeout or harness error is an error; an absent function, a rule
that does not apply and a rule not run are skipped, with the reason. No timestamps:
the same results give the same bytes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from conformance.report import reproducers
from conformance.report.common import able_to_fail, json_text, one_line, printable, script_text
from conformance.report.model import NOT_RUN, Column, Matrix
from conformance.results import RuleResult


def _text(value: str) -> str:
    return printable(value)


def render(matrix: Matrix, column: Column) -> str:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_seconds = 0.0
    suite = ET.Element("testsuite", name=f"sslconform.{_text(column.key)}")
    props = ET.SubElement(suite, "properties")
    lib = column.results.library
    for name, value in (
        ("library", f"{lib.name} {lib.version}" if lib else "none"),
        ("page", column.page),
        ("state", column.results.state),
        ("seed", "" if column.results.seed is None else str(column.results.seed)),
        ("command", column.results.command or ""),
        ("results", column.source),
        ("passes shown able to fail", able_to_fail(matrix, column.key)),
    ):
        ET.SubElement(props, "property", name=name, value=_text(value))
    for group, rules in matrix.groups():
        for rule in rules:
            result = matrix.cells.get((rule.id, column.key))
            if result is None and not rule.testable:
                continue
            counts["tests"] += 1
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"sslconform.{_text(column.key)}.{group.replace(' ', '_')}",
                name=_text(rule.id),
                time=f"{result.seconds:.3f}" if result else "0.000",
            )
            if result is None:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=f"{NOT_RUN}: not in the results file")
                continue
            total_seconds += result.seconds
            head, _, rest = (result.detail or result.status).partition("\n")
            detail = one_line(head)
            body = _body(result, column.key) + (f"\n{printable(rest.rstrip())}" if rest else "")
            if result.status == "fail":
                counts["failures"] += 1
                el = ET.SubElement(case, "failure", message=detail, type="deviation")
                el.text = body
            elif result.status in ("flaky", "crash", "timeout", "error"):
                counts["errors"] += 1
                el = ET.SubElement(case, "error", message=detail, type=result.status)
                el.text = body
            elif result.status in ("absent", "not-applicable"):
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=f"{result.status}: {detail}")
    for counter, count in counts.items():
        suite.set(counter, str(count))
    suite.set("time", f"{total_seconds:.3f}")
    suites = ET.Element("testsuites", name="sslconform")
    suites.append(suite)
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def _body(result: RuleResult, column: str) -> str:
    lines = [
        f"expected: {json_text(result.expected)}",
        f"observed: {json_text(result.observed)}",
    ]
    if result.seed is not None:
        lines.append(f"seed: {result.seed}")
    if result.script is not None:
        lines += ["minimal script:", script_text(result.script)]
    repro = result.reproducer
    if repro is not None:
        label = reproducers.LABELS[repro.outcome]
        lines.append(f"C reproducer: {label} ({one_line(repro.detail)})")
        path = reproducers.path_in_report(column, repro)
        if path:
            lines.append(f"  {path}")
    return printable("\n".join(lines))
