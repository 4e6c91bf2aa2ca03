"""A duplicate made in the initial state is a separate object: settings changed on one
never show on the other, and freeing one never frees the other."""

from __future__ import annotations

from conformance.explore import Draw
from conformance.properties.common import (
    Capabilities,
    Deviation,
    Property,
    ScriptProperty,
    find,
    unusable,
)
from conformance.rules import Rule
from conformance.script import Op, Script, Trace
from conformance.settings import BY_NAME, METHODS, SETTINGS
from conformance.strategies import form, leaving_initial, sets

# Getters that change the object they read: they run a handshake on it, which makes it
# a client and leaves the initial state. Such settings are set here, never read.
DESTRUCTIVE_GETTERS = frozenset(
    {"msg-callback", *(s.name for s in SETTINGS if s.observed_by == "handshake")}
)


def _prefix(d: Draw, caps: Capabilities) -> list[Op]:
    """A context and s in any configuration the settings reach, then SSL_dup(s)."""
    ops = [Op("ctx_new", method=d.method(METHODS))]
    ops += sets(d, "ctx_set", 0, caps.settable_ctx)
    ops.append(Op("ssl_new", ctx=0))
    ops += sets(d, "ssl_set", 0, caps.settable_ssl)
    ops.append(Op("ssl_dup", ssl=0))
    return ops


def _separate(script: Script, trace: Trace, caps: Capabilities) -> tuple[int, int]:
    """Object ids of s and its duplicate; examples without two objects are unusable."""
    new, dup = find(script, trace, "ssl_new"), find(script, trace, "ssl_dup")
    if new.null or dup.null or new.object is None or dup.object is None:
        unusable(caps, "SSL_new or SSL_dup returned NULL (see ret.*.pointer)")
    if dup.object == new.object:
        unusable(caps, "SSL_dup returned s itself (see dup.initial.new-object)")
    assert new.object is not None and dup.object is not None
    return new.object, dup.object


def _settings_scripts(d: Draw, rule: Rule, caps: Capabilities) -> Script:
    names = sorted(caps.settable_ssl - DESTRUCTIVE_GETTERS)
    ops = _prefix(d, caps)
    if not names:
        return Script(tuple(ops))
    changed = d.integer(0, 1)  # 1: change the duplicate, read s; 0: the reverse
    other = 1 - changed
    chosen = d.names(names, 4, 1)
    ops += [Op("ssl_get", ssl=other, setting=n) for n in chosen]
    # Settings only a handshake shows change too, though only the others are compared.
    ops += sets(d, "ssl_set", changed, caps.settable_ssl & DESTRUCTIVE_GETTERS, max_count=2)
    for name in chosen:
        for _ in range(d.integer(1, 2)):
            value = d.value(BY_NAME[name])
            via = form(d, BY_NAME[name])
            ops.append(Op("ssl_set", ssl=changed, setting=name, value=value, via=via))
    ops += _relations(d, changed, method=ops[0].method)
    if d.boolean():
        ops.append(Op("handshake", ssl=changed))  # one of them leaves the initial state
        if d.boolean():
            ops.append(Op("ssl_clear", ssl=changed))  # and is made ready for another
    ops += [Op("ssl_get", ssl=other, setting=n) for n in chosen]
    return Script(tuple(ops))


def _settings_check(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    _separate(script, trace, caps)
    reads = [(op, obs) for op, obs in zip(script.ops, trace, strict=False) if op.op == "ssl_get"]
    if not reads:
        unusable(caps, "the backend can set no SSL setting")
    half = len(reads) // 2
    changed = 1 - (reads[0][0].ssl or 0)
    who = {0: "s", 1: "the duplicate"}
    for (op, before), (_, after) in zip(reads[:half], reads[half:], strict=True):
        if before.value != after.value:
            dup_at = script.ops.index(Op("ssl_dup", ssl=0))
            sets_done = [
                o.value
                for o in script.ops[dup_at:]
                if o.op == "ssl_set" and o.ssl == changed and o.setting == op.setting
            ]
            raise Deviation(
                f"setting {op.setting} to {sets_done} on {who[changed]} changed it on "
                f"{who[op.ssl or 0]} from {before.value!r} to {after.value!r}",
                before.value,
                after.value,
            )


def _relations(d: Draw, ssl: int, method: str | None, started: bool = False) -> list[Op]:
    """Calls that change what an object is tied to rather than a setting: another
    context (SSL_set_SSL_CTX, context 1 made here), its session resumed (a completed
    handshake with the harness's server, unless a handshake of its own already started
    or its method cannot connect), SSL_clear, its session cleared."""
    ops: list[Op] = []
    if d.boolean():
        ops += [
            Op("ctx_new", method=d.method(METHODS)),
            Op("ssl_set_ctx", ssl=ssl, ctx=1),
        ]
    if not started and "resume" in leaving_initial(method) and d.boolean():
        ops.append(Op("resume", ssl=ssl))
    if d.boolean():
        ops.append(Op("ssl_clear", ssl=ssl))
    return ops


def _lifetime_scripts(d: Draw, rule: Rule, caps: Capabilities) -> Script:
    ops = _prefix(d, caps)
    first = d.integer(0, 1)  # which of s (0) and the duplicate (1) goes first
    second = 1 - first
    started = d.boolean()
    if started:
        ops.append(Op("handshake", ssl=first))  # a started object holds more to free
    # The survivor shows the same value right before and right after the other is freed
    # (nothing else happens between the two reads), and is still set after it.
    names = sorted(caps.settable_ssl - DESTRUCTIVE_GETTERS)
    read = [Op("ssl_get", ssl=second, setting=d.choice(names))] if names else []
    ops += _relations(d, first, method=ops[0].method, started=started)
    ops += [*read, Op("ssl_free", ssl=first), *read]
    ops += sets(d, "ssl_set", second, names, max_count=2)
    ops.append(Op("ssl_free", ssl=second))
    return Script(tuple(ops))


def _lifetime_check(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    objects = _separate(script, trace, caps)
    who = {objects[0]: "s", objects[1]: "the duplicate"}
    dup_at = script.ops.index(Op("ssl_dup", ssl=0))
    for index, (op, obs) in enumerate(zip(script.ops, trace, strict=False)):
        if index < dup_at:
            continue
        if obs.skipped:
            raise Deviation(
                f"step {index} ({op.op} on {who[objects[op.ssl or 0]]}) found it already "
                f"freed: {obs.skipped}",
                "alive",
                "freed",
            )
        own = objects[op.ssl or 0] if op.op == "ssl_free" else None
        others = [o for o in obs.freed if o != own]
        if others:
            named = ", ".join(who.get(o, f"object {o}") for o in others)
            raise Deviation(
                _freed_detail(index, op, own, who, named),
                [own] if own is not None else [],
                obs.freed,
            )
    reads = [(op, obs) for op, obs in zip(script.ops, trace, strict=False) if op.op == "ssl_get"]
    if len(reads) == 2 and reads[0][1].value != reads[1][1].value:
        (op, before), (_, after) = reads
        survivor = who[objects[op.ssl or 0]]
        raise Deviation(
            f"freeing the other object changed {survivor}'s {op.setting} from "
            f"{before.value!r} to {after.value!r}",
            before.value,
            after.value,
        )


def _freed_detail(index: int, op: Op, own: int | None, who: dict[int, str], named: str) -> str:
    if own is None:
        return f"step {index} ({op.op}) freed {named}"
    return f"SSL_free of {who[own]} (step {index}) also freed {named}"


def properties() -> dict[str, Property]:
    return {
        "dup.initial.independent-settings": ScriptProperty(_settings_scripts, _settings_check),
        "dup.initial.independent-lifetime": ScriptProperty(_lifetime_scripts, _lifetime_check),
    }
