"""What changed between two sets of results: the rules whose status changed.

Two single results files are compared with each other whatever their backends (OpenSSL
3.0 against 3.5); sets of files are paired by backend name (last week's against
today's), and a backend on one side only is said so. `sslconform diff` prints this
comparison; `sslconform report --previous` shows the same pairs in the matrix (each
changed cell marked) and lists what is new and what is fixed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from conformance.report.common import md, one_line
from conformance.report.load import Loaded
from conformance.report.model import BREAKS, NOT_RUN

NEW, FIXED, CHANGED = "new", "fixed", "changed"


@dataclass(frozen=True)
class Change:
    rule: str
    old: str  # status, or not-run
    new: str
    old_detail: str | None
    new_detail: str | None

    @property
    def kind(self) -> str:
        """new: the cell breaks the page's promise now (fails, crashes, hangs) and did not;
        fixed: it broke it and passes now; changed: any other change (an error, absent)."""
        if self.new in BREAKS and self.old not in BREAKS:
            return NEW
        if self.old in BREAKS and self.new == "pass":
            return FIXED
        return CHANGED


@dataclass(frozen=True)
class Pair:
    old_backend: str | None
    new_backend: str | None
    old_library: str | None
    new_library: str | None
    changes: tuple[Change, ...]
    unchanged: int


def _library(item: Loaded) -> str:
    lib = item.results.library
    return f"{lib.name} {lib.version}" if lib else "no library"


def compare(old: Loaded | None, new: Loaded | None) -> Pair:
    old_rules = {r.id: r for r in old.results.rules} if old else {}
    new_rules = {r.id: r for r in new.results.rules} if new else {}
    changes = []
    unchanged = 0
    for rule_id in sorted(set(old_rules) | set(new_rules)):
        a, b = old_rules.get(rule_id), new_rules.get(rule_id)
        sa, sb = a.status if a else NOT_RUN, b.status if b else NOT_RUN
        if sa == sb:
            unchanged += 1
            continue
        changes.append(
            Change(
                rule_id,
                sa,
                sb,
                one_line(a.detail) if a and a.detail else None,
                one_line(b.detail) if b and b.detail else None,
            )
        )
    return Pair(
        old.results.backend if old else None,
        new.results.backend if new else None,
        _library(old) if old else None,
        _library(new) if new else None,
        tuple(changes),
        unchanged,
    )


def diff(old: list[Loaded], new: list[Loaded]) -> list[Pair]:
    if len(old) == 1 and len(new) == 1:
        return [compare(old[0], new[0])]
    old_by = {item.results.backend: item for item in old}
    new_by = {item.results.backend: item for item in new}
    return [compare(old_by.get(name), new_by.get(name)) for name in sorted({*old_by, *new_by})]


def _title(pair: Pair) -> str:
    if pair.old_backend is None:
        return f"{pair.new_backend}: only in the new results ({pair.new_library})"
    if pair.new_backend is None:
        return f"{pair.old_backend}: only in the old results ({pair.old_library})"
    names = (
        pair.old_backend
        if pair.old_backend == pair.new_backend
        else f"{pair.old_backend} -> {pair.new_backend}"
    )
    return f"{names} ({pair.old_library} -> {pair.new_library})"


def render_text(pairs: list[Pair]) -> str:
    out = []
    for pair in pairs:
        out.append(one_line(_title(pair)))
        for c in pair.changes:
            why = f"  ({c.new_detail})" if c.new_detail else ""
            out.append(f"  {c.rule}: {c.old} -> {c.new} [{c.kind}]{why}")
        out.append(f"  {len(pair.changes)} rules changed, {pair.unchanged} unchanged")
    return "\n".join(out) + "\n"


def render_markdown(pairs: list[Pair]) -> str:
    out = ["# Conformance changes", ""]
    for pair in pairs:
        out += [f"## {md(_title(pair))}", ""]
        if not pair.changes:
            out += [f"No rule changed status ({pair.unchanged} compared).", ""]
            continue
        out += ["| rule | before | after | what | detail now |", "|---|---|---|---|---|"]
        out += [
            f"| `{c.rule}` | {c.old} | {c.new} | {c.kind} | {md(c.new_detail or '')} |"
            for c in pair.changes
        ]
        out += ["", f"{len(pair.changes)} rules changed, {pair.unchanged} unchanged.", ""]
    return "\n".join(out)


def render_json(pairs: list[Pair]) -> str:
    data = []
    for pair in pairs:
        item = asdict(pair)
        for change, shown in zip(pair.changes, item["changes"], strict=True):
            shown["kind"] = change.kind
        data.append(item)
    return json.dumps(data, indent=1, sort_keys=True) + "\n"
