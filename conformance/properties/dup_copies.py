"""SSL_dup in the initial state: the duplicate shows every listed setting of s."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from conformance.properties.common import (
    Capabilities,
    Deviation,
    Property,
    ScriptProperty,
    ops_setting,
    reflects,
    unusable,
)
from conformance.rules import Rule
from conformance.script import Op, Script, Trace
from conformance.settings import SETTINGS, Setting, setting
from conformance.strategies import methods_for, sets, setting_value

ROLE_STATE = {"server": "accept", "client": "connect"}


def _scripts(entry: Setting) -> Callable[[Rule, Capabilities], st.SearchStrategy[Script]]:
    name = entry.name

    @st.composite
    def scripts(draw: st.DrawFn, rule: Rule, caps: Capabilities) -> Script:
        # The context and s both get random settings, the target among them on the
        # context too: deviations live in how a context's value meets the SSL's own.
        ops = [Op("ctx_new", method=draw(methods_for(entry)))]
        ops += draw(sets("ctx_set", 0, caps.settable_ctx))
        if not entry.on_ssl:  # only a context has it: s has it from SSL_new
            ops.append(Op("ctx_set", ctx=0, setting=name, value=draw(setting_value(entry))))
        ops.append(Op("ssl_new", ctx=0))
        if not entry.on_ssl and draw(st.booleans()):
            # The context changes after SSL_new: a copy must show s's value, not this one.
            ops.append(Op("ctx_set", ctx=0, setting=name, value=draw(setting_value(entry))))
        others = caps.settable_ssl - {name, "accept-connect-state"}
        ops += draw(sets("ssl_set", 0, others))
        if entry.role in ROLE_STATE and name != "accept-connect-state":
            ops.append(
                Op("ssl_set", ssl=0, setting="accept-connect-state", value=ROLE_STATE[entry.role])
            )
        for _ in range(draw(st.integers(1, 2)) if entry.on_ssl else 0):
            ops.append(Op("ssl_set", ssl=0, setting=name, value=draw(setting_value(entry))))
        ops += [
            Op("ssl_dup", ssl=0),
            Op("ssl_get", ssl=0, setting=name),
            Op("ssl_get", ssl=1, setting=name),
        ]
        return Script(tuple(ops))

    return scripts


def _check(entry: Setting) -> Callable[[Rule, Script, Trace, Capabilities], None]:
    name = entry.name

    def check(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
        new, dup = trace[script.ops.index(Op("ssl_new", ctx=0))], trace[-3]
        original, copied = trace[-2].value, trace[-1].value
        wanted = (
            ops_setting(script, "ssl_set", 0, name) or ops_setting(script, "ctx_set", 0, name)[:1]
        )
        if not dup.null and dup.object != new.object and not reflects(entry, wanted, original):
            unusable(caps, f"s shows {name} {original!r} after {wanted[-1]!r} was set")
        if dup.null:
            raise Deviation("SSL_dup returned NULL in the initial state", "a duplicate", "NULL")
        if dup.object == new.object:
            raise Deviation(
                "SSL_dup returned s itself in the initial state: nothing was copied",
                "a new object",
                "s",
            )
        if copied != original:
            raise Deviation(
                f"the duplicate shows {name} {copied!r}, s shows {original!r}", original, copied
            )

    return check


def properties() -> dict[str, Property]:
    return {
        f"dup.copies.{s.name}": ScriptProperty(
            _scripts(setting(s.name)),
            _check(setting(s.name)),
        )
        for s in SETTINGS
        if s.dup and s.domain is not None
    }
