"""RETURN VALUES: NULL with an error queued on failure; a usable object otherwise;
SSL_up_ref's 1."""

from __future__ import annotations

from conformance.explore import Draw
from conformance.properties.common import (
    Capabilities,
    Deviation,
    Property,
    ScriptProperty,
    SetAside,
    find,
)
from conformance.rules import Rule
from conformance.script import Observation, Op, Script, Trace
from conformance.settings import METHODS
from conformance.strategies import sets


def _null_ctx_scripts(d: Draw, rule: Rule, caps: Capabilities) -> Script:
    return Script((Op("ssl_new"),))


def _null_ctx(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    obs = trace[0]
    if not obs.null:
        raise Deviation("SSL_new(NULL) returned an object", "NULL", f"object {obs.object}")
    if not obs.errors:
        raise Deviation(
            "SSL_new(NULL) returned NULL with nothing on the error stack", "an error queued", []
        )


def _new_scripts(d: Draw, rule: Rule, caps: Capabilities) -> Script:
    ops = [Op("ctx_new", method=d.method(METHODS))]
    ops += sets(d, "ctx_set", 0, caps.settable_ctx)
    ops += [Op("ssl_new", ctx=0)]
    if rule.id == "ret.new.pointer":
        ops.append(Op("ssl_free", ssl=0))
    elif rule.id == "ret.dup.pointer":
        ops += sets(d, "ssl_set", 0, caps.settable_ssl)
        ops.append(Op("ssl_dup", ssl=0))
    else:  # ret.up-ref.one
        ops += [Op("ssl_up_ref", ssl=0) for _ in range(d.integer(1, 3))]
    return Script(tuple(ops))


def _pointer(call: str, obs: Observation) -> None:
    """A NULL is the page's other return value: "The creation of a new SSL structure
    failed. Check the error stack to find out the reason." With its reason queued it
    breaks no promise (the example is set aside); with nothing queued it does."""
    if not obs.null:
        return
    if obs.errors:
        raise SetAside(f"{call} failed with its reason queued: {obs.errors[0]}")
    raise Deviation(
        f"{call} returned NULL with nothing on the error stack", "an SSL object", "NULL"
    )


def _new_pointer(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    _pointer("SSL_new", find(script, trace, "ssl_new"))


def _dup_pointer(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    # A NULL from SSL_new set the example aside (screen): that is ret.new.pointer's.
    _pointer("SSL_dup", find(script, trace, "ssl_dup"))


def _up_ref_one(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    for op, obs in zip(script.ops, trace, strict=False):
        if op.op == "ssl_up_ref" and obs.value != 1:
            raise Deviation(f"SSL_up_ref returned {obs.value!r}", 1, obs.value)


def properties() -> dict[str, Property]:
    return {
        "ret.new.null-ctx": ScriptProperty(_null_ctx_scripts, _null_ctx, judges_null={"ssl_new"}),
        "ret.new.pointer": ScriptProperty(_new_scripts, _new_pointer, judges_null={"ssl_new"}),
        "ret.dup.pointer": ScriptProperty(_new_scripts, _dup_pointer, judges_null={"ssl_dup"}),
        "ret.up-ref.one": ScriptProperty(_new_scripts, _up_ref_one),
    }
