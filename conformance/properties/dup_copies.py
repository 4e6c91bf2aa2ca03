"""SSL_dup in the initial state: the duplicate shows every listed setting of s."""

from __future__ import annotations

from collections.abc import Callable

from conformance.explore import Draw
from conformance.library import Json
from conformance.properties.common import (
    Capabilities,
    Deviation,
    Generate,
    Property,
    ScriptProperty,
    ops_setting,
    part_of,
    part_sets,
    reflects,
    unusable,
)
from conformance.properties.fields import require_shown
from conformance.rules import RULES, Rule
from conformance.script import Op, Script, Trace
from conformance.settings import Setting, setting
from conformance.strategies import form, methods_for, sets

ROLE_STATE = {"server": "accept", "client": "connect"}
# Settings a completed handshake can change: s resumes what it carries before SSL_dup.
RESUMED = frozenset({"session"})


def _scripts(entry: Setting, part: str | None) -> Generate:
    name = entry.name

    def scripts(d: Draw, rule: Rule, caps: Capabilities) -> Script:
        # The context and s both get random settings, the target among them on the
        # context too: deviations live in how a context's value meets the SSL's own.
        ops = [Op("ctx_new", method=d.method(methods_for(entry)))]
        ops += sets(d, "ctx_set", 0, caps.settable_ctx)
        if not entry.on_ssl:  # only a context has it: s has it from SSL_new
            value = d.value(entry, part)
            ops.append(Op("ctx_set", ctx=0, setting=name, value=value))
        elif part is not None and name in caps.settable_ctx and d.boolean():
            # A field set on the context, then on s: SSL_dup must copy s's, not keep the
            # context's (X509_VERIFY_PARAM_inherit keeps what is already set).
            value = d.value(entry, part)
            ops.append(Op("ctx_set", ctx=0, setting=name, value=value))
        ops.append(Op("ssl_new", ctx=0))
        if not entry.on_ssl and d.boolean():
            # The context changes after SSL_new: a copy must show s's value, not this one.
            value = d.value(entry, part)
            ops.append(Op("ctx_set", ctx=0, setting=name, value=value))
        others = caps.settable_ssl - {name, "accept-connect-state"}
        ops += sets(d, "ssl_set", 0, others)
        if entry.role in ROLE_STATE and name != "accept-connect-state":
            ops.append(
                Op("ssl_set", ssl=0, setting="accept-connect-state", value=ROLE_STATE[entry.role])
            )
        for _ in range(d.integer(1, 2) if entry.on_ssl else 0):
            value = d.value(entry, part)
            ops.append(Op("ssl_set", ssl=0, setting=name, value=value, via=form(d, entry)))
        carried = ops_setting(Script(tuple(ops)), "ssl_set", 0, name)
        if name in RESUMED and carried and carried[-1] is not None and d.boolean():
            # s resumes the session it carries (a handshake with the harness's server,
            # closed cleanly), and SSL_clear makes it ready for another connection: the
            # copy shows the session s keeps. (Without one, the handshake would give s a
            # session of its own, which no fixture names.)
            ops += [Op("resume", ssl=0), Op("ssl_clear", ssl=0)]
        if entry.on_ssl and name in caps.settable_ctx and d.boolean():
            # The context changes after s has its own value: the copy shows s's.
            value = d.value(entry, part)
            ops.append(Op("ctx_set", ctx=0, setting=name, value=value))
        if entry.on_ssl and d.boolean():
            # s moves to another context (SSL_set_SSL_CTX) before it is duplicated.
            ops += [
                Op("ctx_new", method=d.method(methods_for(entry))),
                Op("ssl_set_ctx", ssl=0, ctx=1),
            ]
        ops += [
            Op("ssl_dup", ssl=0),
            Op("ssl_get", ssl=0, setting=name),
            Op("ssl_get", ssl=1, setting=name),
        ]
        return Script(tuple(ops))

    return scripts


def _check(entry: Setting, part: str | None) -> Callable[[Rule, Script, Trace, Capabilities], None]:
    name = entry.name
    what = f"{name} {part}" if part else name

    def check(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
        new, dup = trace[script.ops.index(Op("ssl_new", ctx=0))], trace[-3]
        cleared = [obs for op, obs in zip(script.ops, trace, strict=True) if op.op == "ssl_clear"]
        if cleared and cleared[-1].value is not True:
            unusable(caps, "SSL_clear did not bring s back to its initial state (SSL_in_before)")
        shown = trace[-2].value
        require_shown(name, part, shown, script, trace)
        require_shown(name, part, trace[-1].value, script, trace)
        original, copied = part_of(shown, part), part_of(trace[-1].value, part)
        wanted = part_sets(_wanted(entry, script), part)
        if dup.object == new.object:
            raise Deviation(
                "SSL_dup returned s itself in the initial state: nothing was copied",
                "a new object",
                "s",
            )
        if not reflects(entry, wanted, shown):
            unusable(caps, f"s shows {what} {original!r} after {wanted[-1]!r} was set")
        if copied != original:
            raise Deviation(
                f"the duplicate shows {what} {copied!r}, s shows {original!r}", original, copied
            )

    return check


def _wanted(entry: Setting, script: Script) -> list[Json]:
    """What s's getter should show, as values set in order: s's own, else the context's
    first. A form that adds names adds them after those present (the context's, which s
    has from SSL_new, when s has none of its own yet)."""
    at = script.ops.index(Op("ssl_new", ctx=0))
    of_ctx = _folded(entry, [o for o in script.ops[:at] if o.op == "ctx_set" and o.ctx == 0])
    own = _folded(entry, [o for o in script.ops if o.op == "ssl_set" and o.ssl == 0], of_ctx)
    return own or ops_setting(script, "ctx_set", 0, entry.name)[:1]


def _folded(entry: Setting, ops: list[Op], start: list[Json] | None = None) -> list[Json]:
    shown: list[Json] = []
    for op in ops:
        if op.setting != entry.name:
            continue
        kind = next((f.combine for f in entry.forms if f.name == op.via), "replace")
        if kind == "append" and isinstance(op.value, list):
            before = shown[-1] if shown else (start[-1] if start else [])
            shown.append([*(before if isinstance(before, list) else []), *op.value])
        else:
            shown.append(op.value)
    return shown


def properties() -> dict[str, Property]:
    props: dict[str, Property] = {}
    for r in RULES:
        if r.testable and r.id.startswith("dup.copies.") and r.setting:
            entry = setting(r.setting)
            if entry.domain is not None:
                props[r.id] = ScriptProperty(_scripts(entry, r.field), _check(entry, r.field))
    return props
