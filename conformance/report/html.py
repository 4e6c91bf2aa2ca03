"""The HTML report: one self-contained file that opens from disk.

No network, no external file: the CSS and the script are inline, and the page's
Content-Security-Policy allows exactly those two blocks by their SHA-256 hashes and
nothing else (no inline style attributes, no images, no connections, no forms).
Drill-downs are ordinary sections shown by CSS `:target`, so they open by link even
with scripts off; the script only does the filters.

Every string that comes from a results file (versions, error strings, details, paths)
is HTML-escaped after control characters are made visible. Output is a pure function
of its inputs: sorted, no clock, no random ids.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable

from conformance.report.common import json_text, one_line, printable, replay_commands, script_text
from conformance.report.model import (
    CELL_STATUSES,
    NOT_RUN,
    SHOWN_STATUSES,
    UNTESTABLE,
    Column,
    Matrix,
    Repro,
    RuleInfo,
)
from conformance.results import RuleResult

STYLE = """
:root{--pass:#2e7d32;--fail:#c62828;--absent:#546e7a;--not-applicable:#9e9e9e;
--crash:#6a1b9a;--timeout:#ef6c00;--error:#ad1457;--not-run:#ffffff}
body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5em 3em;color:#1b1b1b;background:#fafafa}
h1{font-size:1.5em;margin:.8em 0 .2em}h2{font-size:1.2em;margin:1.2em 0 .4em}
table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #d0d0d0;padding:3px 6px;vertical-align:top;text-align:left}
.inputs td,.summary td{font-variant-numeric:tabular-nums}
.summary td.n{text-align:right}
#filters{background:#fff;border:1px solid #d0d0d0;padding:.5em .8em;margin:.6em 0;
position:sticky;top:0;z-index:2}
#filters fieldset{display:inline-block;border:0;margin:0 1.2em 0 0;padding:0}
#filters legend{font-weight:600;padding:0;margin-right:.4em;float:left}
#filters label{margin-right:.6em;white-space:nowrap}
#shown{font-weight:600}
.matrix th.group{background:#e8eaf6;font-size:1.05em}
.matrix th.sub{background:#f3f4fb;font-weight:600}
.matrix td.rule{min-width:14em;max-width:22em}
.matrix td.quote{max-width:34em;color:#333}
.rid{font-family:ui-monospace,monospace;font-weight:600}
.how,.since,.untestable{display:block;font-size:.85em;color:#555}
blockquote{margin:0;padding:0 0 0 .6em;border-left:3px solid #9fa8da;font-style:italic}
.pv{font-style:normal;font-size:.8em;color:#666}
td.cell{text-align:center;white-space:nowrap;font-weight:600}
td.cell a{color:inherit;text-decoration:none;display:block}
td.cell a:hover,td.cell a:focus{text-decoration:underline}
.s-pass{background:#e8f5e9;color:var(--pass)}.s-fail{background:#ffebee;color:var(--fail)}
.s-absent{background:#eceff1;color:var(--absent)}
.s-not-applicable{background:#f5f5f5;color:#616161}
.s-crash{background:#f3e5f5;color:var(--crash)}.s-timeout{background:#fff3e0;color:var(--timeout)}
.s-error{background:#fce4ec;color:var(--error)}.s-not-run{background:#fff;color:#999}
.s-untestable{background:#fafafa;color:#aaa;font-weight:400;font-style:italic}
svg text{font:12px system-ui,sans-serif;fill:#1b1b1b}
rect.b-pass{fill:var(--pass)}rect.b-fail{fill:var(--fail)}rect.b-absent{fill:var(--absent)}
rect.b-not-applicable{fill:var(--not-applicable)}rect.b-crash{fill:var(--crash)}
rect.b-timeout{fill:var(--timeout)}rect.b-error{fill:var(--error)}
rect.b-not-run{fill:#fff;stroke:#bbb}
.drill{display:none}
.drill:target{display:block;position:fixed;inset:3vh 4vw;overflow:auto;background:#fff;
border:2px solid #3949ab;box-shadow:0 6px 30px rgba(0,0,0,.35);padding:0 1.4em 1.4em;z-index:10}
.drill h3{margin:.8em 0 .3em;font-size:1.15em}
.drill .close{float:right;margin-top:.8em;font-weight:600}
.drill dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:.5em 0}
.drill dt{font-weight:600}.drill dd{margin:0}
pre{background:#f4f4f4;border:1px solid #e0e0e0;padding:.5em;overflow:auto;max-height:28em;
white-space:pre-wrap;word-break:break-word;margin:.3em 0}
.badge{display:inline-block;padding:0 .5em;border-radius:3px;font-weight:600}
.r-yes{color:var(--pass)}.r-no{color:var(--fail)}.r-not-built{color:#616161}
.muted{color:#666}
.eo{display:grid;grid-template-columns:1fr 1fr;gap:.6em}
"""

SCRIPT = """
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var total = document.querySelectorAll("tr.rule").length;
  function checked(name) {
    return Array.prototype.map.call(
      form.querySelectorAll("input[name=" + name + "]:checked"),
      function (e) { return e.value; });
  }
  function apply() {
    var statuses = checked("status"), cols = checked("backend");
    var disagree = form.querySelector("input[name=disagree]").checked;
    document.querySelectorAll("[data-col]").forEach(function (el) {
      el.hidden = cols.indexOf(el.getAttribute("data-col")) < 0;
    });
    var shown = 0;
    document.querySelectorAll("tr.rule").forEach(function (tr) {
      var seen = [], any = false;
      tr.querySelectorAll("td[data-col]").forEach(function (td) {
        if (cols.indexOf(td.getAttribute("data-col")) < 0) { return; }
        var s = td.getAttribute("data-status");
        if (statuses.indexOf(s) >= 0) { any = true; }
        if (s !== "not-run" && s !== "untestable" && seen.indexOf(s) < 0) { seen.push(s); }
      });
      var show = any && (!disagree || seen.length > 1);
      tr.hidden = !show;
      if (show) { shown += 1; }
    });
    document.querySelectorAll("tbody.rules").forEach(function (tb) {
      tb.hidden = !tb.querySelector("tr.rule:not([hidden])");
    });
    document.getElementById("shown").textContent = shown + " of " + total + " rules shown";
  }
  form.addEventListener("change", apply);
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && location.hash.indexOf("#d") === 0) { location.hash = "#matrix"; }
  });
  apply();
})();
"""


def _hash(block: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"


def csp() -> str:
    return (
        "default-src 'none'; "
        f"style-src {_hash(STYLE)}; "
        f"script-src {_hash(SCRIPT)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )


def esc(text: object) -> str:
    return html.escape(printable(str(text)), quote=True)


def _cell_id(ri: int, ci: int) -> str:
    return f"d{ri}-{ci}"


def _quote_block(rule: RuleInfo) -> str:
    if not rule.quotes:
        return '<span class="muted">(no quote in the catalogue)</span>'
    by_text: dict[str, list[str]] = {}
    for version, text in rule.quotes:
        by_text.setdefault(text, []).append(version)
    parts = []
    for text, versions in sorted(by_text.items(), key=lambda kv: kv[1]):
        parts.append(
            f"<blockquote>{esc(text)} "
            f'<span class="pv">(page {esc(", ".join(sorted(versions)))})</span></blockquote>'
        )
    return "".join(parts)


def _rule_cell(rule: RuleInfo) -> str:
    out = [f'<span class="rid">{esc(rule.id)}</span>']
    if rule.since:
        out.append(f'<span class="since">since {esc(rule.since)}</span>')
    if rule.how:
        out.append(f'<span class="how">{esc(rule.how)}</span>')
    if not rule.testable:
        out.append(f'<span class="untestable">not testable: {esc(rule.reason or "")}</span>')
    return "".join(out)


def _summary(matrix: Matrix) -> str:
    head = "".join(f"<th>{esc(s)}</th>" for s in CELL_STATUSES)
    rows = []
    for col in matrix.columns:
        counts = matrix.counts(col.key)
        cells = "".join(f'<td class="n s-{s}">{counts[s]}</td>' for s in CELL_STATUSES)
        rows.append(
            f'<tr data-col="{esc(col.key)}"><th>{esc(col.key)}</th><td>{esc(col.label)}</td>'
            f"<td>{esc(col.page)}</td><td>{esc(col.results.state)}</td>{cells}"
            f'<td class="n">{percent(counts)}</td></tr>'
        )
    return (
        '<table class="summary"><thead><tr><th>backend</th><th>library</th><th>page</th>'
        f"<th>run</th>{head}<th>conformance</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def percent(counts: dict[str, int]) -> str:
    """Rules that hold, out of the rules that apply and were run."""
    judged = sum(n for s, n in counts.items() if s not in ("not-applicable", NOT_RUN))
    return f"{100 * counts['pass'] / judged:.0f}%" if judged else "–"


def _chart(matrix: Matrix) -> str:
    """Stacked bars, one per backend and version: the share of rules in each status."""
    label_w, bar_w, row_h, pad = 400, 420, 24, 6
    height = pad * 2 + row_h * max(1, len(matrix.columns)) + 20
    width = label_w + bar_w + 60
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="conformance per backend">'
    ]
    for i, col in enumerate(matrix.columns):
        counts = matrix.counts(col.key)
        total = sum(counts.values()) or 1
        y = pad + i * row_h
        out.append(f'<g data-col="{esc(col.key)}">')
        label = f"{col.key} — {col.label} (page {col.page})"
        if len(label) > 56:  # about what fits the label width at 12px
            label = label[:55] + "…"
        out.append(f'<text x="0" y="{y + 16}">{esc(label)}</text>')
        x = 0.0
        for status in CELL_STATUSES:
            n = counts[status]
            if not n:
                continue
            w = bar_w * n / total
            out.append(
                f'<rect class="b-{status}" x="{label_w + x:.1f}" y="{y + 3}" width="{w:.1f}" '
                f'height="{row_h - 6}"><title>{esc(col.key)}: {n} {status}</title></rect>'
            )
            x += w
        out.append(f'<text x="{label_w + bar_w + 6}" y="{y + 16}">{percent(counts)}</text></g>')
    y = pad + len(matrix.columns) * row_h + 14
    x = 0
    for status in CELL_STATUSES:
        out.append(f'<rect class="b-{status}" x="{x}" y="{y - 10}" width="10" height="10"/>')
        out.append(f'<text x="{x + 14}" y="{y}">{status}</text>')
        x += 24 + 8 * len(status)
    out.append("</svg>")
    return "".join(out)


def _filters(matrix: Matrix) -> str:
    statuses = "".join(
        f'<label><input type="checkbox" name="status" value="{s}" checked> {_LABELS.get(s, s)}'
        "</label>"
        for s in SHOWN_STATUSES
    )
    backends = "".join(
        f'<label><input type="checkbox" name="backend" value="{esc(c.key)}" checked> '
        f"{esc(c.key)}</label>"
        for c in matrix.columns
    )
    return (
        '<form id="filters"><fieldset><legend>status</legend>'
        f"{statuses}</fieldset><fieldset><legend>backend</legend>{backends}</fieldset>"
        '<fieldset><label><input type="checkbox" name="disagree"> only where the backends '
        'disagree</label></fieldset> <span id="shown"></span>'
        "<noscript> (filters need scripts; drill-downs work without)</noscript></form>"
    )


def _matrix_table(matrix: Matrix) -> str:
    ncols = 2 + len(matrix.columns)
    head = "".join(
        f'<th data-col="{esc(c.key)}">{esc(c.key)}<br><span class="muted">{esc(c.label)}'
        f"<br>page {esc(c.page)}</span></th>"
        for c in matrix.columns
    )
    out = [
        f'<table class="matrix" id="matrix"><thead><tr><th>rule</th><th>the page says</th>{head}'
        "</tr></thead>"
    ]
    index = {r.id: i for i, r in enumerate(matrix.rules)}
    for group, rules in matrix.groups():
        for sub, members in _subgroups(group, rules):
            title = esc(group) + (f" — {esc(sub)}" if sub else "")
            kind = "sub" if sub else "group"
            out.append(
                f'<tbody class="rules"><tr><th class="{kind}" colspan="{ncols}">{title}</th></tr>'
            )
            for rule in members:
                out.append(_rule_row(matrix, rule, index[rule.id]))
            out.append("</tbody>")
    out.append("</table>")
    return "".join(out)


def _subgroups(group: str, rules: list[RuleInfo]) -> list[tuple[str | None, list[RuleInfo]]]:
    """SSL_dup's settings: one block per duplicated setting, in catalogue order."""
    if group != "SSL_dup settings":
        return [(None, rules)]
    blocks: dict[str, list[RuleInfo]] = {}
    for rule in rules:
        blocks.setdefault(rule.setting or rule.id, []).append(rule)
    return list(blocks.items())


_LABELS = {UNTESTABLE: "not testable"}


def _rule_row(matrix: Matrix, rule: RuleInfo, ri: int) -> str:
    cells = []
    for ci, col in enumerate(matrix.columns):
        status = matrix.status(rule.id, col.key)
        text = esc(_LABELS.get(status, status))
        if (rule.id, col.key) in matrix.cells:
            text = f'<a href="#{_cell_id(ri, ci)}" title="{esc(col.key)}: {esc(status)}">{text}</a>'
        cells.append(
            f'<td class="cell s-{status}" data-col="{esc(col.key)}" data-status="{status}">'
            f"{text}</td>"
        )
    return (
        f'<tr class="rule" id="r{ri}" data-rule="{esc(rule.id)}"><td class="rule">'
        f'{_rule_cell(rule)}</td><td class="quote">{_quote_block(rule)}</td>{"".join(cells)}</tr>'
    )


def _pre(text: str) -> str:
    return f"<pre>{esc(text)}</pre>"


def _drill(
    matrix: Matrix,
    rule: RuleInfo,
    ri: int,
    col: Column,
    ci: int,
    result: RuleResult,
    repro: Repro | None,
) -> str:
    out = [
        f'<section class="drill" id="{_cell_id(ri, ci)}" role="dialog" '
        f'aria-label="{esc(rule.id)} on {esc(col.key)}">'
        f'<a class="close" href="#r{ri}">close ✕</a>'
        f'<h3><span class="rid">{esc(rule.id)}</span> on {esc(col.key)} '
        f'<span class="badge s-{result.status}">{esc(result.status)}</span></h3>',
        f'<p class="muted">{esc(col.label)}, held to page {esc(col.page)}; '
        f"group {esc(rule.group)}</p>",
        _quote_block(rule),
        "<dl>",
    ]
    if result.detail:
        out.append(f"<dt>detail</dt><dd>{esc(one_line(result.detail))}</dd>")
    if result.expected is not None or result.observed is not None:
        out.append(
            '<dt>expected / observed</dt><dd class="eo">'
            f"{_pre(json_text(result.expected))}{_pre(json_text(result.observed))}</dd>"
        )
    if repro is not None:
        out.append(
            f'<dt>C reproducer</dt><dd><span class="r-{repro.state}">{esc(repro.label)}</span>'
            f" — {esc(one_line(repro.reason))}</dd>"
        )
    out.append(f"<dt>examples</dt><dd>{result.examples} scripts in {result.seconds:.2f} s</dd>")
    seed = result.seed if result.seed is not None else col.results.seed
    out.append(f"<dt>seed</dt><dd>{esc(seed) if seed is not None else '–'}</dd>")
    for what, command in replay_commands(col, result):
        out.append(f"<dt>{esc(what)}</dt><dd>{_pre(command)}</dd>")
    if col.results.command:
        out.append(f"<dt>the whole run</dt><dd>{_pre(col.results.command)}</dd>")
    out.append("</dl>")
    if result.script is not None:
        out.append("<h4>minimal script</h4>" + _pre(script_text(result.script)))
    if result.trace is not None:
        lines = "\n".join(
            f"{i:2}: {json_text(obs).replace(chr(10), ' ')}" for i, obs in enumerate(result.trace)
        )
        out.append("<h4>observed trace</h4>" + _pre(lines))
    if repro is not None:
        out.append(
            f'<h4>C reproducer: <span class="r-{repro.state}">{esc(repro.label)}</span></h4>'
            f"<p>{esc(one_line(repro.reason))}</p>"
        )
        if repro.filename:
            out.append(f'<p>file: <a href="{esc(repro.filename)}">{esc(repro.filename)}</a></p>')
        if repro.build:
            out.append("<p>build:</p>" + _pre(repro.build))
        if repro.run:
            out.append("<p>run:</p>" + _pre(repro.run))
        if repro.output:
            out.append("<p>it printed:</p>" + _pre(repro.output))
        if repro.source:
            out.append("<details><summary>C source</summary>" + _pre(repro.source) + "</details>")
    out.append("</section>")
    return "".join(out)


def _inputs(matrix: Matrix) -> str:
    rows = []
    for col in matrix.columns:
        r = col.results
        extra = f" ({esc(one_line(r.reason))})" if r.reason else ""
        rows.append(
            f'<tr data-col="{esc(col.key)}"><th>{esc(col.key)}</th><td>{esc(col.source)}</td>'
            f"<td>{esc(r.state)}{extra}</td><td>{esc(r.profile)}</td>"
            f"<td>{esc(r.seed) if r.seed is not None else '–'}</td>"
            f"<td>{esc(r.library.path) if r.library and r.library.path else '–'}</td></tr>"
        )
    return (
        '<table class="inputs"><thead><tr><th>backend</th><th>results file</th><th>run</th>'
        "<th>profile</th><th>seed</th><th>library loaded from</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _observations(matrix: Matrix) -> Iterable[str]:
    rows = [(col.key, o.id, o.summary) for col in matrix.columns for o in col.results.observations]
    if not rows:
        return []
    body = "".join(
        f'<tr data-col="{esc(k)}"><th>{esc(k)}</th><td class="rid">{esc(i)}</td>'
        f"<td>{esc(one_line(s))}</td></tr>"
        for k, i, s in sorted(rows)
    )
    return [
        "<h2>Seen but not promised</h2><table><thead><tr><th>backend</th><th>what</th>"
        f"<th>summary</th></tr></thead><tbody>{body}</tbody></table>"
    ]


def render(
    matrix: Matrix,
    repros: dict[tuple[str, str], Repro] | None = None,
    title: str = "SSL_new(3) conformance",
) -> str:
    repros = repros or {}
    drills = []
    for ri, rule in enumerate(matrix.rules):
        for ci, col in enumerate(matrix.columns):
            result = matrix.cells.get((rule.id, col.key))
            if result is not None:
                drills.append(
                    _drill(matrix, rule, ri, col, ci, result, repros.get((rule.id, col.key)))
                )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{esc(csp())}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="muted">{len(matrix.rules)} rules, {len(matrix.columns)} backends. '
        "Each cell opens what was expected, what was observed, the minimal script, the seed "
        "and a C program that reproduces it.</p>",
        "<h2>Backends</h2>",
        _summary(matrix),
        _chart(matrix),
        "<h2>Rules</h2>",
        _filters(matrix),
        _matrix_table(matrix),
        *_observations(matrix),
        "<h2>Inputs</h2>",
        _inputs(matrix),
        *drills,
        f"<script>{SCRIPT}</script></body></html>",
        "",
    ]
    return "\n".join(parts)
