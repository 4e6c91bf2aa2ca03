"""SSL_dup's identity: a new object from the same context in the initial state; once
the handshake has started, the same handle with one more reference."""

from __future__ import annotations

from conformance.explore import Draw
from conformance.properties.common import (
    Capabilities,
    Deviation,
    Group,
    Property,
    ScriptProperty,
    find,
    unusable,
)
from conformance.rules import Rule
from conformance.script import Op, Script, Trace
from conformance.settings import METHODS
from conformance.strategies import LEAVING_INITIAL, leaving_initial, sets


def _initial_scripts(d: Draw, rule: Rule, caps: Capabilities) -> Script:
    contexts = d.integer(1, 2)
    ops = [Op("ctx_new", method=d.method(METHODS)) for _ in range(contexts)]
    ctx = d.integer(0, contexts - 1)
    ops += sets(d, "ctx_set", ctx, caps.settable_ctx)
    ops.append(Op("ssl_new", ctx=ctx))
    ops += sets(d, "ssl_set", 0, caps.settable_ssl)
    if d.boolean():
        # s moves to another context: SSL_dup still makes its object "from the same
        # SSL_CTX that was used to create s".
        if contexts == 1:
            ops.append(Op("ctx_new", method=d.method(METHODS)))
        ops.append(Op("ssl_set_ctx", ssl=0, ctx=1 - ctx))
    if d.boolean():
        # A handshake started or completed (a session resumed), then SSL_clear: SSL_dup
        # follows the state SSL_clear leaves.
        leaving = d.choice(leaving_initial(ops[ctx].method))
        ops += [Op(leaving, ssl=0), Op("ssl_clear", ssl=0)]
    ops += [Op("ssl_dup", ssl=0), Op("ssl_get_ctx", ssl=1)]
    return Script(tuple(ops))


def _initial(script: Script, trace: Trace, caps: Capabilities) -> None:
    """Examples whose s is not in its initial state at SSL_dup judge nothing here."""
    cleared = [obs for op, obs in zip(script.ops, trace, strict=False) if op.op == "ssl_clear"]
    if cleared and cleared[-1].value is not True:
        unusable(caps, "SSL_clear did not bring s back to its initial state (SSL_in_before)")


def _initial_new_object(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    # A NULL duplicate was set aside (screen): the page's RETURN VALUES allow NULL when
    # "the creation of a new SSL structure failed", and whether that may happen is
    # ret.dup.*'s to judge. This rule judges which handle comes back when one does.
    _initial(script, trace, caps)
    new, dup = find(script, trace, "ssl_new"), find(script, trace, "ssl_dup")
    if dup.object == new.object:
        raise Deviation("SSL_dup returned s itself in the initial state", "a new object", "s")


def _initial_same_ctx(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    _initial(script, trace, caps)
    new, dup = find(script, trace, "ssl_new"), find(script, trace, "ssl_dup")
    moved = any(op.op == "ssl_set_ctx" for op in script.ops)
    if moved and dup.object == new.object:  # s's own context now: not the duplicate's
        unusable(caps, "SSL_dup returned s itself (see dup.initial.new-object)")
    ctx = next(op.ctx for op in script.ops if op.op == "ssl_new")
    made_from = trace[ctx or 0].object  # ctx_new observations come first, in order
    got = trace[-1].value  # a NULL duplicate set the example aside (screen)
    if got != made_from:
        raise Deviation(
            f"the duplicate's SSL_CTX is object {got}, s was made from object "
            f"{made_from} (-1: a context the script never made)",
            made_from,
            got,
        )


def _started_scripts(d: Draw, rule: Rule, caps: Capabilities) -> Script:
    ops = [Op("ctx_new", method=d.method(("tls", "tls-client")))]
    ops += sets(
        d,
        "ctx_set",
        0,
        caps.settable_ctx - {"min-proto-version", "max-proto-version", "options", "cipher-list"},
    )
    ops += [Op("ssl_new", ctx=0)]
    ops += sets(
        d,
        "ssl_set",
        0,
        caps.settable_ssl
        - {"min-proto-version", "max-proto-version", "options", "cipher-list", "msg-callback"},
    )
    dups = d.integer(1, 3)
    if d.boolean():  # s moves to another context before its handshake
        ops += [
            Op("ctx_new", method=d.method(("tls", "tls-client"))),
            Op("ssl_set_ctx", ssl=0, ctx=1),
        ]
    # A handshake started (a ClientHello sent), or completed with the harness's server,
    # which resumes the session s carries if it issued it.
    ops.append(Op(d.choice(LEAVING_INITIAL), ssl=0))
    ops += [Op("ssl_dup", ssl=0) for _ in range(dups)]
    if rule.id == "dup.started.increments":
        ops += [Op("ssl_free", ssl=0) for _ in range(dups + 1)]
    return Script(tuple(ops))


def _started(script: Script, trace: Trace, caps: Capabilities) -> None:
    # A resumption that could not complete was set aside (screen); one that did left the
    # initial state, whether or not the session was reused (which no rule judges).
    started = any(op.op == "handshake" for op in script.ops)
    if started and not find(script, trace, "handshake").value:
        unusable(caps, "the handshake did not leave the initial state (SSL_in_before)")


def _started_same_handle(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    _started(script, trace, caps)
    original = find(script, trace, "ssl_new").object
    for op, obs in zip(script.ops, trace, strict=False):
        if op.op == "ssl_dup" and obs.object != original:
            got = "NULL" if obs.null else f"object {obs.object}"
            raise Deviation(f"after the handshake started SSL_dup returned {got}, not s", "s", got)


def _started_increments(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    _started(script, trace, caps)
    original = find(script, trace, "ssl_new").object
    dups = [obs for op, obs in zip(script.ops, trace, strict=False) if op.op == "ssl_dup"]
    if any(obs.object != original for obs in dups):
        unusable(caps, "SSL_dup did not return s (see dup.started.same-handle)")
    frees = [obs.freed for op, obs in zip(script.ops, trace, strict=False) if op.op == "ssl_free"]
    for i, freed in enumerate(frees[:-1]):
        if freed:
            raise Deviation(
                f"s was freed by SSL_free number {i + 1} of {len(frees)}; "
                f"{len(dups)} SSL_dup call(s) should each have added a reference",
                f"freed by SSL_free number {len(frees)}",
                f"freed by SSL_free number {i + 1}",
            )
    if frees[-1] != [original]:
        raise Deviation(f"the last SSL_free freed {frees[-1]}, not s", [original], frees[-1])


def _whole(script: Script, trace: Trace, member: Rule, members: object) -> tuple[Script, Trace]:
    return script, trace  # each rule judges the whole script


# The two rules of the initial state judge the same scripts: one exploration for both.
INITIAL = Group(
    "dup.initial",
    ("dup.initial.new-object", "dup.initial.same-ctx"),
    lambda draws, members, caps: _initial_scripts(draws[0], members[0], caps),
    _whole,
)


def properties() -> dict[str, Property]:
    return {
        "dup.initial.new-object": ScriptProperty(
            _initial_scripts, _initial_new_object, group=INITIAL
        ),
        "dup.initial.same-ctx": ScriptProperty(_initial_scripts, _initial_same_ctx, group=INITIAL),
        "dup.started.same-handle": ScriptProperty(
            _started_scripts, _started_same_handle, judges_null={"ssl_dup"}
        ),
        "dup.started.increments": ScriptProperty(_started_scripts, _started_increments),
    }
