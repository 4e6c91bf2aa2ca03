"""A Markdown summary for pull requests: counts per backend, then every deviation.

Strings from libraries are escaped so that a version or an error string cannot become
a link, an image, HTML or a broken table.
"""

from __future__ import annotations

import re

from conformance.report.common import one_line
from conformance.report.html import percent
from conformance.report.model import CELL_STATUSES, Matrix, Repro

_SPECIAL = re.compile(r"([\\`*_\[\]|<>&~!#])")
DEVIATIONS = ("fail", "crash", "timeout", "error")
MAX_ROWS = 200  # a pull request comment has a size limit


def md(text: object) -> str:
    """Escape everything Markdown or HTML could act on; one line."""
    return _SPECIAL.sub(r"\\\1", one_line(str(text)))


def render(matrix: Matrix, repros: dict[tuple[str, str], Repro] | None = None) -> str:
    repros = repros or {}
    out = ["# SSL_new(3) conformance", ""]
    out.append(f"{len(matrix.rules)} rules, {len(matrix.columns)} backends.")
    out.append("")
    head = ["backend", "library", "page", *CELL_STATUSES, "conformance"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * 3 + "---:|" * (len(CELL_STATUSES) + 1))
    for col in matrix.columns:
        counts = matrix.counts(col.key)
        row = [md(col.key), md(col.label), md(col.page), *(str(counts[s]) for s in CELL_STATUSES)]
        row.append(percent(counts))
        out.append("| " + " | ".join(row) + " |")
    rows = []
    for _group, rules in matrix.groups():
        for rule in rules:
            for col in matrix.columns:
                result = matrix.cells.get((rule.id, col.key))
                if result is None or result.status not in DEVIATIONS:
                    continue
                repro = repros.get((rule.id, col.key))
                rows.append(
                    "| "
                    + " | ".join(
                        [
                            f"`{rule.id}`" if "`" not in rule.id else md(rule.id),
                            md(col.key),
                            result.status,
                            md(result.detail or ""),
                            md(repro.label) if repro else "",
                        ]
                    )
                    + " |"
                )
    out += ["", "## Deviations", ""]
    if not rows:
        out.append("None: every rule that was run holds or does not apply.")
    else:
        out.append("| rule | backend | status | detail | C reproducer |")
        out.append("|---|---|---|---|---|")
        out += rows[:MAX_ROWS]
        if len(rows) > MAX_ROWS:
            out.append("")
            out.append(f"… and {len(rows) - MAX_ROWS} more: see the HTML report.")
    broken = [c for c in matrix.columns if c.results.state != "complete"]
    if broken:
        out += ["", "## Incomplete runs", ""]
        for col in broken:
            reason = f": {md(col.results.reason)}" if col.results.reason else ""
            out.append(f"- {md(col.key)}: {col.results.state}{reason}")
    return "\n".join(out) + "\n"
