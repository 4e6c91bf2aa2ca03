"""Fields a library's getter may not show: the optional fields of the binding table.

A field whose getter only some versions have (X509_VERIFY_PARAM_get0_host since 3.0)
leaves the setting there; the adapter's getter leaves the field out. A rule about that
one field is then absent on the library, naming the getter, and nothing is assumed."""

from __future__ import annotations

from typing import Any

from conformance import binding
from conformance.properties.common import Stop
from conformance.script import Script, Trace


def require_shown(
    setting: str, part: str | None, observed: Any, script: Script, trace: Trace
) -> None:
    """Stop the rule as absent when the getter's value has no `part` at all."""
    if part is None or not isinstance(observed, dict) or part in observed:
        return
    entry = binding.BY_SETTING.get(setting)
    getter = "its getter"
    if entry is not None and isinstance(entry.value, binding.Fields):
        for f in entry.value.fields:
            if f.name == part:
                getter = f.get.name
    raise Stop("absent", f"the library lacks {getter} ({setting} {part})", script, trace)
