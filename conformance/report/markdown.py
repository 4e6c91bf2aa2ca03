"""A Markdown summary for pull requests: counts per backend, then every deviation.

The summary is a Jinja2 template (templates/summary.md.j2) whose autoescaping is
Markdown's: strings from libraries are escaped so that a version or an error string
cannot become a link, an image, HTML or a broken table.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from conformance.report import reproducers
from conformance.report.common import able_to_fail, md, one_line, percent
from conformance.report.model import CELL_STATUSES, Matrix
from conformance.report.templating import markdown_environment

__all__ = ["md", "render"]

DEVIATIONS = ("fail", "flaky", "crash", "timeout", "error")
MAX_ROWS = 200  # a pull request comment has a size limit


@dataclass(frozen=True)
class Deviation:
    rule: Markup | str  # Markup: the id as code, when it holds no backtick
    column: str
    status: str
    detail: str
    reproducer: str


def deviations(matrix: Matrix) -> list[Deviation]:
    rows = []
    for _group, rules in matrix.groups():
        for rule in rules:
            for col in matrix.columns:
                result = matrix.cells.get((rule.id, col.key))
                if result is None or result.status not in DEVIATIONS:
                    continue
                repro = result.reproducer
                code = Markup(f"`{one_line(rule.id)}`") if "`" not in rule.id else rule.id
                rows.append(
                    Deviation(
                        code,
                        col.key,
                        result.status,
                        (result.detail or "").partition("\n")[0],  # no traceback
                        reproducers.LABELS[repro.outcome] if repro else "",
                    )
                )
    return rows


def render(matrix: Matrix) -> str:
    return (
        markdown_environment()
        .get_template("summary.md.j2")
        .render(
            matrix=matrix,
            cell_statuses=CELL_STATUSES,
            percent=percent,
            able_to_fail=able_to_fail,
            deviations=deviations(matrix),
            max_rows=MAX_ROWS,
            incomplete=[c for c in matrix.columns if c.results.state != "complete"],
        )
    )
