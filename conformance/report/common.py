"""Text helpers every report writer shares: control characters, Markdown, JSON, replay commands."""

from __future__ import annotations

import json
import re

from conformance.library import Json
from conformance.report.model import NOT_RUN, Column, Matrix
from conformance.results import RuleResult
from conformance.script import Script

# C0 controls (but tab and newline), DEL, C1 controls, lone surrogates, and the two
# non-characters XML forbids. Library strings may hold any of them.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """Show control characters as \\xNN instead of passing them through."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str) -> str:
    return " ".join(printable(text).split())


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|<>&~!#])")


def md(text: object) -> str:
    """Escape everything Markdown or HTML could act on; one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(str(text)))


def json_text(value: Json) -> str:
    """One line when it fits, indented otherwise."""
    flat = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if len(flat) <= 90:
        return printable(flat)
    return printable(json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False))


def script_text(script: dict[str, Json] | None) -> str:
    """Numbered operations, as the harness prints them; raw JSON if it is not a script."""
    if script is None:
        return ""
    try:
        return printable(str(Script.from_json(script)))
    except (ValueError, TypeError):
        return json_text(script)


RERUN = (
    "sslconform run --backend {backend} --rules {rule} --seed {seed} --profile {profile} "
    "--results {backend}-{rule}.json"
)
REPLAY_SCRIPT = "sslconform replay {results} --rule {rule} --backend {backend}"


def replay_commands(column: Column, result: RuleResult) -> list[tuple[str, str]]:
    """(what it does, command): search again with the run's seed; run the minimal script."""
    out: list[tuple[str, str]] = []
    seed = result.seed if result.seed is not None else column.results.seed
    backend, profile = column.results.backend, column.results.profile
    if result.replay:
        out.append(("replay", printable(result.replay)))
    elif seed is not None:
        rerun = RERUN.format(backend=backend, rule=result.id, seed=seed, profile=profile)
        out.append(("search again with the seed", printable(rerun)))
    if result.script is not None:
        script = REPLAY_SCRIPT.format(results=column.source, rule=result.id, backend=backend)
        out.append(("run the minimal script", printable(script)))
    return out


def able_to_fail(matrix: Matrix, column: str) -> str:
    """How many of a column's passes were shown able to fail: "3 of 40"."""
    shown, passes = matrix.shown_able_to_fail(column)
    return f"{shown} of {passes}" if passes else "–"


def percent(counts: dict[str, int]) -> str:
    """Rules that hold, out of the rules that apply and were run."""
    judged = sum(n for s, n in counts.items() if s not in ("not-applicable", NOT_RUN))
    return f"{100 * counts['pass'] / judged:.0f}%" if judged else "–"
