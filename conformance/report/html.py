"""The HTML report: one self-contained file that opens from disk.

No network, no external file: the CSS and the script are inline, and the page's
Content-Security-Policy allows exactly those two blocks by the SHA-256 hashes of what
was rendered, and nothing else (no inline style attributes, no images, no connections,
no forms). Drill-downs are ordinary sections shown by CSS `:target`, so they open by
link even with scripts off; the script only does the filters.

The page is a Jinja2 template (templates/report.html.j2) with autoescaping: every string
that comes from a results file (versions, error strings, details, paths) is HTML-escaped
after control characters are made visible. This module only prepares what the template
shows. Output is a pure function of its inputs: sorted, no clock, no random ids.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from conformance.report import reproducers
from conformance.report.chart import chart
from conformance.report.common import able_to_fail, json_text, percent, replay_commands
from conformance.report.model import (
    CELL_STATUSES,
    SHOWN_STATUSES,
    UNTESTABLE,
    Column,
    Matrix,
    RuleInfo,
)
from conformance.report.templating import html_environment
from conformance.results import RuleResult

TITLE = "SSL_new(3) conformance"
_LABELS = {UNTESTABLE: "not testable"}


def _hash(block: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"


def style() -> str:
    """The inline stylesheet, as rendered into the page."""
    return html_environment().get_template("report.css").render()


def script() -> str:
    """The inline script (the filters), as rendered into the page."""
    return html_environment().get_template("filters.js").render()


def csp(style_block: str, script_block: str) -> str:
    return (
        "default-src 'none'; "
        f"style-src {_hash(style_block)}; "
        f"script-src {_hash(script_block)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _cell_id(ri: int, ci: int) -> str:
    return f"d{ri}-{ci}"


def _quote_groups(rule: RuleInfo) -> list[tuple[str, list[str]]]:
    """One entry per distinct quote, with the page versions that say it."""
    by_text: dict[str, list[str]] = {}
    for version, text in rule.quotes:
        by_text.setdefault(text, []).append(version)
    return [(text, sorted(v)) for text, v in sorted(by_text.items(), key=lambda kv: kv[1])]


def _subgroups(group: str, rules: list[RuleInfo]) -> list[tuple[str | None, list[RuleInfo]]]:
    """SSL_dup's settings: one block per duplicated setting, in catalogue order."""
    if group != "SSL_dup settings":
        return [(None, rules)]
    blocks: dict[str, list[RuleInfo]] = {}
    for rule in rules:
        blocks.setdefault(rule.setting or rule.id, []).append(rule)
    return list(blocks.items())


def _trace_text(trace: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{i:2}: {json_text(obs).replace(chr(10), ' ')}" for i, obs in enumerate(trace)
    )


# --- drill-downs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Drill:
    """One cell's drill-down section."""

    id: str
    ri: int
    rule: RuleInfo
    col: Column
    result: RuleResult
    seed: int | None
    commands: list[tuple[str, str]]
    repro_path: str | None


def drills(matrix: Matrix) -> list[Drill]:
    out = []
    for ri, rule in enumerate(matrix.rules):
        for ci, col in enumerate(matrix.columns):
            result = matrix.cells.get((rule.id, col.key))
            if result is None:
                continue
            repro = result.reproducer
            out.append(
                Drill(
                    id=_cell_id(ri, ci),
                    ri=ri,
                    rule=rule,
                    col=col,
                    result=result,
                    seed=result.seed if result.seed is not None else col.results.seed,
                    commands=replay_commands(col, result),
                    repro_path=reproducers.path_in_report(col.key, repro) if repro else None,
                )
            )
    return out


def render(matrix: Matrix, title: str = TITLE) -> str:
    style_block, script_block = style(), script()
    template = html_environment().get_template("report.html.j2")
    observation_rows = sorted(
        (col.key, o.id, o.summary) for col in matrix.columns for o in col.results.observations
    )
    return template.render(
        matrix=matrix,
        title=title,
        csp=csp(style_block, script_block),
        style=Markup(style_block),  # the project's own blocks, hashed above
        script=Markup(script_block),
        chart=chart(matrix),
        drills=drills(matrix),
        observation_rows=observation_rows,
        row_index={r.id: i for i, r in enumerate(matrix.rules)},
        cell_statuses=CELL_STATUSES,
        shown_statuses=SHOWN_STATUSES,
        percent=percent,
        able_to_fail=able_to_fail,
        cell_id=_cell_id,
        quote_groups=_quote_groups,
        subgroups=_subgroups,
        trace_text=_trace_text,
        status_label=lambda status: _LABELS.get(status, status),
        repro_label=lambda repro: reproducers.LABELS[repro.outcome],
        repro_css=lambda repro: reproducers.CSS[repro.outcome],
    )
