"""The HTML report: one self-contained file that opens from disk.

No network, no external file: the CSS and the script are inline, and the page's
Content-Security-Policy allows exactly those two blocks by the SHA-256 hashes of what
was rendered, and nothing else (no inline style attributes, no images, no connections,
no forms). Drill-downs are ordinary sections shown by CSS `:target`, so they open by
link even with scripts off; the script only does the filters. Each cell's drill-down has
a permalink (`#RULE@COLUMN`) that opens it; each column's anomalies (what breaks, what
could not be observed, what it lacks) are a section of their own (`#anomalies-COLUMN`).

Rows are one line each (the rule id and the newest page's quote, cut to the cell); the
quotes, how the rule is observed and why a rule is not testable are in the rule's own
drill-down (`#rule-N`). Columns are grouped by family under a heading row.

The page is a Jinja2 template (templates/report.html.j2) with autoescaping: every string
that comes from a results file (versions, error strings, details, paths) is HTML-escaped
after control characters are made visible. This module only prepares what the template
shows. Output is a pure function of its inputs: sorted, no clock, no random ids.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from conformance.report import reproducers
from conformance.report.chart import chart
from conformance.report.common import (
    able_to_fail,
    json_text,
    one_line,
    percent,
    replay_commands,
)
from conformance.report.diff import Change, Pair
from conformance.report.known import LABELS as KNOWN_LABELS
from conformance.report.known import Known
from conformance.report.model import (
    BREAKS,
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


_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def cell_id(rule_id: str, column: str) -> str:
    """A cell's permalink anchor: "dup.copies.verify-param@openssl35" (stable across
    reports: it names the rule and the column, not their places)."""
    return f"{_ID_UNSAFE.sub('_', rule_id)}@{_ID_UNSAFE.sub('_', column)}"


def anomalies_id(column: str) -> str:
    return f"anomalies-{_ID_UNSAFE.sub('_', column)}"


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
        for col in matrix.columns:
            result = matrix.cells.get((rule.id, col.key))
            if result is None:
                continue
            repro = result.reproducer
            out.append(
                Drill(
                    id=cell_id(rule.id, col.key),
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


@dataclass(frozen=True)
class Anomaly:
    rule: RuleInfo
    result: RuleResult
    id: str  # the cell's anchor


@dataclass(frozen=True)
class Anomalies:
    """A column's page: what breaks, what could not be observed, what it lacks."""

    col: Column
    id: str
    breaks: list[Anomaly]  # fail, crash, timeout
    errors: list[Anomaly]  # nothing could be observed
    absent: list[Anomaly]  # the page promises it; the library lacks the calls named


def anomalies(matrix: Matrix) -> list[Anomalies]:
    out = []
    for col in matrix.columns:
        found: dict[str, list[Anomaly]] = {"breaks": [], "errors": [], "absent": []}
        for rule in matrix.rules:
            result = matrix.cells.get((rule.id, col.key))
            if result is None:
                continue
            kind = {"error": "errors", "absent": "absent"}.get(
                result.status, "breaks" if result.status in BREAKS else ""
            )
            if kind:
                found[kind].append(Anomaly(rule, result, cell_id(rule.id, col.key)))
        out.append(Anomalies(col, anomalies_id(col.key), **found))
    return out


def absent_calls(result: RuleResult) -> str:
    """The calls an absent cell names: the trace's own list where it has one, else the detail."""
    names: list[str] = []
    for obs in result.trace or ():
        for name in obs.get("absent") or ():
            if str(name) not in names:
                names.append(str(name))
    return ", ".join(names) if names else (result.detail or "").partition("\n")[0]


@dataclass(frozen=True)
class Changed:
    """A cell whose status changed since the previous run."""

    change: Change
    column: str
    id: str


def changed_cells(matrix: Matrix, pairs: list[Pair] | None) -> dict[tuple[str, str], Changed]:
    """Each changed cell of the matrix, by (rule, column); a rule no longer run has no cell."""
    if pairs is None:
        return {}
    keys = {c.key for c in matrix.columns}
    out = {}
    for pair in pairs:
        # A column new since then is said as a whole (columns_since), not cell by cell.
        if pair.old_backend is None or pair.new_backend is None or pair.new_backend not in keys:
            continue
        for change in pair.changes:
            out[(change.rule, pair.new_backend)] = Changed(
                change, pair.new_backend, cell_id(change.rule, pair.new_backend)
            )
    return out


def columns_since(pairs: list[Pair] | None) -> list[tuple[str, list[str]]]:
    """The backends only one side of the comparison has."""
    if pairs is None:
        return []
    return [
        (
            "New backends since the previous run",
            [p.new_backend for p in pairs if p.new_backend and p.old_backend is None],
        ),
        (
            "Backends the previous run had and this one has not",
            [p.old_backend for p in pairs if p.old_backend and p.new_backend is None],
        ),
    ]


def render(
    matrix: Matrix,
    title: str = TITLE,
    known: Known | None = None,
    changes: list[Pair] | None = None,
) -> str:
    style_block, script_block = style(), script()
    template = html_environment().get_template("report.html.j2")
    observation_rows = sorted(
        (col.key, o.id, o.summary) for col in matrix.columns for o in col.results.observations
    )
    changed = changed_cells(matrix, changes)
    order = {
        (r.id, c.key): (ri, ci)
        for ri, r in enumerate(matrix.rules)
        for ci, c in enumerate(matrix.columns)
    }
    changed_list = sorted(
        changed.values(), key=lambda c: order.get((c.change.rule, c.column), (0, 0))
    )
    return template.render(
        matrix=matrix,
        title=title,
        csp=csp(style_block, script_block),
        style=Markup(style_block),  # the project's own blocks, hashed above
        script=Markup(script_block),
        chart=chart(matrix),
        drills=drills(matrix),
        anomalies=anomalies(matrix),
        absent_calls=absent_calls,
        detail_line=lambda result: one_line((result.detail or "").partition("\n")[0]),
        observation_rows=observation_rows,
        row_index={r.id: i for i, r in enumerate(matrix.rules)},
        cell_statuses=CELL_STATUSES,
        shown_statuses=SHOWN_STATUSES,
        percent=percent,
        able_to_fail=able_to_fail,
        cell_id=cell_id,
        anomalies_id=anomalies_id,
        quote_groups=_quote_groups,
        subgroups=_subgroups,
        trace_text=_trace_text,
        status_label=lambda status: _LABELS.get(status, status),
        repro_label=lambda repro: reproducers.LABELS[repro.outcome],
        repro_css=lambda repro: reproducers.CSS[repro.outcome],
        known=known,
        known_labels=KNOWN_LABELS,
        judged=(known.cells if known else {}),
        compared=changes is not None,
        changed=changed,
        changed_list=changed_list,
        columns_since=columns_since(changes),
        histories=matrix.version_histories(),
    )
