"""SSL_dup in the initial state: the duplicate shows every listed setting of s."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from conformance.explore import Draw
from conformance.library import Json
from conformance.properties.common import (
    Capabilities,
    Deviation,
    Generate,
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
from conformance.settings import Setting, setting
from conformance.strategies import form, methods_for, sets

ROLE_STATE = {"server": "accept", "client": "connect"}
# Settings a completed handshake can change: s resumes what it carries before SSL_dup.
RESUMED = frozenset({"session"})


def _scripts(entry: Setting, part: str | None) -> Generate:
    def scripts(d: Draw, rule: Rule, caps: Capabilities) -> Script:
        return _joint([(entry, part)], [d], caps)

    return scripts


def _joint(targets: Sequence[Target], draws: Sequence[Draw], caps: Capabilities) -> Script:
    """s set up with every target (each target's choices from its own draw, the shared
    ones from the first), then SSL_dup, then each target read on s and on the copy. With
    one target this is that rule's script, choice for choice."""
    shared = draws[0]
    first = targets[0][0]
    names = {entry.name for entry, _ in targets}
    # The context and s both get random settings, the target among them on the
    # context too: deviations live in how a context's value meets the SSL's own.
    ops = [Op("ctx_new", method=shared.method(methods_for(first)))]
    ops += sets(shared, "ctx_set", 0, caps.settable_ctx)
    for (entry, part), d in zip(targets, draws, strict=True):
        if not entry.on_ssl:  # only a context has it: s has it from SSL_new
            value = d.value(entry, part)
            ops.append(Op("ctx_set", ctx=0, setting=entry.name, value=value))
        elif part is not None and entry.name in caps.settable_ctx and d.boolean():
            # A field set on the context, then on s: SSL_dup must copy s's, not keep the
            # context's (X509_VERIFY_PARAM_inherit keeps what is already set).
            value = d.value(entry, part)
            ops.append(Op("ctx_set", ctx=0, setting=entry.name, value=value))
    ops.append(Op("ssl_new", ctx=0))
    for (entry, part), d in zip(targets, draws, strict=True):
        if not entry.on_ssl and d.boolean():
            # The context changes after SSL_new: a copy must show s's value, not this one.
            value = d.value(entry, part)
            ops.append(Op("ctx_set", ctx=0, setting=entry.name, value=value))
    others = caps.settable_ssl - names - {"accept-connect-state"}
    ops += sets(shared, "ssl_set", 0, others)
    if first.role in ROLE_STATE and "accept-connect-state" not in names:
        ops.append(
            Op("ssl_set", ssl=0, setting="accept-connect-state", value=ROLE_STATE[first.role])
        )
    for (entry, part), d in zip(targets, draws, strict=True):
        for _ in range(d.integer(1, 2) if entry.on_ssl else 0):
            value = d.value(entry, part)
            ops.append(Op("ssl_set", ssl=0, setting=entry.name, value=value, via=form(d, entry)))
    for (entry, _), d in zip(targets, draws, strict=True):
        carried = ops_setting(Script(tuple(ops)), "ssl_set", 0, entry.name)
        if entry.name in RESUMED and carried and carried[-1] is not None and d.boolean():
            # s resumes the session it carries (a handshake with the harness's server,
            # closed cleanly), and SSL_clear makes it ready for another connection: the
            # copy shows the session s keeps. (Without one, the handshake would give s a
            # session of its own, which no fixture names.)
            ops += [Op("resume", ssl=0), Op("ssl_clear", ssl=0)]
    for (entry, part), d in zip(targets, draws, strict=True):
        if entry.on_ssl and entry.name in caps.settable_ctx and d.boolean():
            # The context changes after s has its own value: the copy shows s's.
            value = d.value(entry, part)
            ops.append(Op("ctx_set", ctx=0, setting=entry.name, value=value))
    if any(entry.on_ssl for entry, _ in targets) and shared.boolean():
        # s moves to another context (SSL_set_SSL_CTX) before it is duplicated.
        ops += [
            Op("ctx_new", method=shared.method(methods_for(first))),
            Op("ssl_set_ctx", ssl=0, ctx=1),
        ]
    ops.append(Op("ssl_dup", ssl=0))
    for entry, _ in targets:
        ops += [Op("ssl_get", ssl=0, setting=entry.name), Op("ssl_get", ssl=1, setting=entry.name)]
    return Script(tuple(ops))


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


# The rules that share their scripts (see Group), by the setting (and field) each reads.
# Three to a script, chosen apart: no two of one setting, and none that sets another's
# value (SSL_set_verify_depth and the verify parameters' depth, SSL_set_verify's mode
# and callback, a certificate and its key, a callback and its argument, a security
# callback and the certificates it may refuse), so that each member's examples stay
# as usable as alone. The rules read through a handshake share one only when it is the
# same handshake (mode and role), which the adapter makes once per object. The first
# member's draw makes the shared choices, so its scripts make every choice its own
# would, in the same order; it is the one whose fixed cases enumerate the most
# decisions (a field of the verify parameters), so that the shared choice (another
# context) is a digit of the case beyond every other member's own (explore.CaseDraw).
GROUPS: tuple[tuple[str, ...], ...] = (
    ("verify-param.flags", "options", "ex-data"),
    ("verify-param.hostflags", "mode", "max-cert-list"),
    ("verify-param.auth-level", "min-proto-version", "info-callback"),
    ("verify-param.time", "max-proto-version", "read-ahead"),
    ("verify-param.depth", "verify-mode", "cipher-list"),
    ("verify-param.host", "verify-callback", "security-level"),
    ("verify-param.email", "security-callback", "chain"),
    ("verify-param.ip", "default-passwd-cb-userdata", "private-key"),
    ("verify-param.purpose", "certificate"),
    ("verify-depth", "default-passwd-cb", "ca-list"),
    ("session-id-context", "generate-session-id"),
    ("client-sigalgs", "client-cert-types"),
)


def properties() -> dict[str, Property]:
    props: dict[str, Property] = {}
    for r in RULES:
        if r.testable and r.id.startswith("dup.copies.") and r.setting:
            entry = setting(r.setting)
            if entry.domain is not None:
                props[r.id] = ScriptProperty(_scripts(entry, r.field), _check(entry, r.field))
    # Each member reads its target on s and on the copy: its view drops the others'.
    group_by_setting(props, "dup.copies.", GROUPS, _joint, ("ssl_get",))
    return props
