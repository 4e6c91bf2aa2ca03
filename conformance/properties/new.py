"""SSL_new: it creates a new object, and the object inherits its context's settings."""

from __future__ import annotations

from collections.abc import Sequence

from conformance.explore import Draw
from conformance.properties.common import (
    Capabilities,
    Deviation,
    Property,
    ScriptProperty,
    Target,
    group_by_setting,
    ops_setting,
    part_of,
    part_sets,
    reflects,
    unusable,
)
from conformance.properties.fields import require_shown
from conformance.rules import RULES, Rule
from conformance.script import Op, Script, Trace
from conformance.settings import METHODS, setting
from conformance.strategies import sets


def _creates_scripts(d: Draw, rule: Rule, caps: Capabilities) -> Script:
    count = d.integer(2, 4)
    ops = [Op("ctx_new", method=d.method(METHODS))]
    ops += sets(d, "ctx_set", 0, caps.settable_ctx)
    ops += [Op("ssl_new", ctx=0) for _ in range(count)]
    return Script(tuple(ops))


def _creates_check(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    objects = [obs.object for op, obs in zip(script.ops, trace, strict=False) if op.op == "ssl_new"]
    if None in objects:
        raise Deviation("SSL_new returned NULL for a valid context", "an SSL object", "NULL")
    if len(set(objects)) != len(objects):
        raise Deviation("two SSL_new calls returned the same object", "distinct objects", objects)


# The rules that share their scripts (see Group), by the setting (and field) each reads:
# each field of the verify parameters beside a setting of its own (none of which sets
# another's value).
GROUPS: tuple[tuple[str, ...], ...] = (
    ("verify-param.flags", "options"),
    ("verify-param.hostflags", "verify-mode"),
    ("verify-param.auth-level", "verify-callback"),
    ("verify-param.time", "verify-depth"),
)


def _joint(targets: Sequence[Target], draws: Sequence[Draw], caps: Capabilities) -> Script:
    """A context set up with every target (each target's choices from its own draw, the
    shared ones from the first), SSL_new, each target read on the context, and after
    the changes (if any) on the SSL. With one target this is that rule's script."""
    shared = draws[0]
    names = {entry.name for entry, _ in targets}
    ops = [Op("ctx_new", method=shared.method(METHODS))]
    ops += sets(shared, "ctx_set", 0, caps.settable_ctx - names)
    for (entry, part), d in zip(targets, draws, strict=True):
        if entry.domain is not None:
            for _ in range(d.integer(1, 2)):
                value = d.value(entry, part)
                ops.append(Op("ctx_set", ctx=0, setting=entry.name, value=value))
    ops.append(Op("ssl_new", ctx=0))
    ops += [Op("ctx_get", ctx=0, setting=entry.name) for entry, _ in targets]
    for (entry, part), d in zip(targets, draws, strict=True):
        if entry.domain is not None and entry.name in caps.settable_ctx and d.boolean():
            # The context changes after SSL_new: SSL_new inherited at creation, so the
            # SSL still shows what the context had then (read right after SSL_new).
            value = d.value(entry, part)
            ops.append(Op("ctx_set", ctx=0, setting=entry.name, value=value))
    ops += [Op("ssl_get", ssl=0, setting=entry.name) for entry, _ in targets]
    return Script(tuple(ops))


def _inherits(rule_id: str, name: str, part: str | None) -> ScriptProperty:
    entry = setting(name)
    what = f"{name} {part}" if part else name

    def scripts(d: Draw, rule: Rule, caps: Capabilities) -> Script:
        return _joint([(entry, part)], [d], caps)

    def check(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
        at = script.ops.index(Op("ctx_get", ctx=0, setting=name))
        shown = trace[at].value
        require_shown(name, part, shown, script, trace)
        require_shown(name, part, trace[-1].value, script, trace)
        ctx_value, ssl_value = part_of(shown, part), part_of(trace[-1].value, part)
        wanted = part_sets(ops_setting(Script(script.ops[:at]), "ctx_set", 0, name), part)
        if entry.domain is None:
            wanted = [script.ops[0].method]
        if not reflects(entry, wanted, shown):
            unusable(caps, f"the context's getter shows {ctx_value!r} after {wanted[-1]!r} was set")
        changed = any(op.op == "ctx_set" and op.setting == name for op in script.ops[at:])
        if ssl_value != ctx_value:
            later = " (the context was changed after SSL_new)" if changed else ""
            raise Deviation(
                f"the SSL shows {what} {ssl_value!r}, its context had {ctx_value!r} at "
                f"SSL_new{later}",
                ctx_value,
                ssl_value,
            )

    return ScriptProperty(scripts, check)


def properties() -> dict[str, Property]:
    props: dict[str, Property] = {
        "new.creates": ScriptProperty(_creates_scripts, _creates_check, judges_null={"ssl_new"}),
    }
    for r in RULES:
        if r.testable and r.id.startswith("new.inherits.") and r.setting:
            props[r.id] = _inherits(r.id, r.setting, r.field)
    # Each member reads its target on the context and on the SSL.
    group_by_setting(props, "new.inherits.", GROUPS, _joint, ("ctx_get", "ssl_get"))
    return props
