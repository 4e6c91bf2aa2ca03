"""SSL_new: it creates a new object, and the object inherits its context's settings."""

from __future__ import annotations

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
from conformance.settings import METHODS, SETTINGS, setting
from conformance.strategies import sets, setting_value


@st.composite
def _creates_scripts(draw: st.DrawFn, rule: Rule, caps: Capabilities) -> Script:
    count = draw(st.integers(2, 4))
    ops = [Op("ctx_new", method=draw(st.sampled_from(METHODS)))]
    ops += draw(sets("ctx_set", 0, caps.settable_ctx))
    ops += [Op("ssl_new", ctx=0) for _ in range(count)]
    return Script(tuple(ops))


def _creates_check(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    objects = [obs.object for op, obs in zip(script.ops, trace, strict=False) if op.op == "ssl_new"]
    if None in objects:
        raise Deviation("SSL_new returned NULL for a valid context", "an SSL object", "NULL")
    if len(set(objects)) != len(objects):
        raise Deviation("two SSL_new calls returned the same object", "distinct objects", objects)


def _inherits(name: str) -> ScriptProperty:
    entry = setting(name)

    @st.composite
    def scripts(draw: st.DrawFn, rule: Rule, caps: Capabilities) -> Script:
        ops = [Op("ctx_new", method=draw(st.sampled_from(METHODS)))]
        ops += draw(sets("ctx_set", 0, caps.settable_ctx - {name}))
        if entry.domain is not None:
            for _ in range(draw(st.integers(1, 2))):
                ops.append(Op("ctx_set", ctx=0, setting=name, value=draw(setting_value(entry))))
        ops += [
            Op("ssl_new", ctx=0),
            Op("ctx_get", ctx=0, setting=name),
            Op("ssl_get", ssl=0, setting=name),
        ]
        return Script(tuple(ops))

    def check(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
        ctx_value, ssl_value = trace[-2].value, trace[-1].value
        wanted = ops_setting(script, "ctx_set", 0, name)
        if entry.domain is None:
            wanted = [script.ops[0].method]
        if not reflects(entry, wanted, ctx_value):
            unusable(caps, f"the context's getter shows {ctx_value!r} after {wanted[-1]!r} was set")
        if trace[-3].null:
            raise Deviation("SSL_new returned NULL", "an SSL object", "NULL")
        if ssl_value != ctx_value:
            raise Deviation(
                f"right after SSL_new the SSL shows {name} {ssl_value!r}, its "
                f"context {ctx_value!r}",
                ctx_value,
                ssl_value,
            )

    return ScriptProperty(scripts, check)


def properties() -> dict[str, Property]:
    props: dict[str, Property] = {
        "new.creates": ScriptProperty(_creates_scripts, _creates_check),
    }
    for s in SETTINGS:
        if s.inherit:
            props[f"new.inherits.{s.name}"] = _inherits(s.name)
    return props
