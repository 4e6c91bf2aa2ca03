"""Text helpers every report writer shares: control characters, JSON, replay commands."""

from __future__ import annotations

import json
import re

from conformance.library import Json
from conformance.report.model import Column
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


REPLAY_TEMPLATE = "sslconform run {backend} --rule {rule} --seed {seed}"


def replay_command(column: Column, result: RuleResult) -> str | None:
    """The command that replays this rule: the one recorded, else the standard form."""
    if result.replay:
        return printable(result.replay)
    seed = result.seed if result.seed is not None else column.results.seed
    if seed is None:
        return None
    return REPLAY_TEMPLATE.format(backend=column.results.backend, rule=result.id, seed=seed)
