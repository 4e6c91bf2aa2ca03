"""Properties: how each rule is observed. One module per area of the page.

A property either generates scripts and checks each trace (`ScriptProperty`), or runs
a hypothesis state machine step by step against the model (`MachineProperty`).
`PROPERTIES` maps every testable rule id to its property.
"""

from __future__ import annotations

from conformance.properties import (
    alloc_failures,
    dup_copies,
    dup_identity,
    independence,
    new,
    refcount,
    returns,
    threads,
)
from conformance.properties.common import Property

PROPERTIES: dict[str, Property] = {}
for _module in (
    new,
    refcount,
    threads,
    dup_identity,
    independence,
    dup_copies,
    returns,
    alloc_failures,
):
    for _rule_id, _prop in _module.properties().items():
        if _rule_id in PROPERTIES:
            raise RuntimeError(f"two properties for {_rule_id}")
        PROPERTIES[_rule_id] = _prop
