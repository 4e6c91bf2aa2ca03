"""The report's chart: stacked bars, one per backend, the share of rules in each status.

What the template draws (as inline SVG, no script, no style attribute) is computed here:
coordinates are formatted once, so the same matrix gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.report.common import percent
from conformance.report.model import CELL_STATUSES, Matrix

LABEL_W, BAR_W, ROW_H, PAD = 400, 420, 24, 6
LABEL_CHARS = 56  # about what fits the label width at 12px


@dataclass(frozen=True)
class Bar:
    status: str
    n: int
    x: str
    width: str


@dataclass(frozen=True)
class ChartRow:
    key: str
    label: str
    text_y: int
    bar_y: int
    bars: list[Bar]
    percent: str


@dataclass(frozen=True)
class LegendItem:
    status: str
    x: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bar_height: int
    percent_x: int
    legend_y: int
    rows: list[ChartRow]
    legend: list[LegendItem]


def chart(matrix: Matrix) -> Chart:
    rows = []
    for i, col in enumerate(matrix.columns):
        counts = matrix.counts(col.key)
        total = sum(counts.values()) or 1
        y = PAD + i * ROW_H
        label = f"{col.key} — {col.label} (page {col.page})"
        if len(label) > LABEL_CHARS:
            label = label[: LABEL_CHARS - 1] + "…"
        bars, x = [], 0.0
        for status in CELL_STATUSES:
            n = counts[status]
            if not n:
                continue
            w = BAR_W * n / total
            bars.append(Bar(status, n, f"{LABEL_W + x:.1f}", f"{w:.1f}"))
            x += w
        rows.append(ChartRow(col.key, label, y + 16, y + 3, bars, percent(counts)))
    legend, x_legend = [], 0
    for status in CELL_STATUSES:
        legend.append(LegendItem(status, x_legend))
        x_legend += 24 + 8 * len(status)
    return Chart(
        width=LABEL_W + BAR_W + 60,
        height=PAD * 2 + ROW_H * max(1, len(matrix.columns)) + 20,
        bar_height=ROW_H - 6,
        percent_x=LABEL_W + BAR_W + 6,
        legend_y=PAD + len(matrix.columns) * ROW_H + 14,
        rows=rows,
        legend=legend,
    )
