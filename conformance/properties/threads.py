"""Reference counts under threads: SSL_up_ref and SSL_free from several threads at once
keep the count exact. The calls run on real threads inside the worker (ctypes releases
the GIL around each foreign call), all on one object the script made."""

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
from conformance.settings import METHODS
from conformance.strategies import sets


def _scripts(d: Draw, rule: Rule, caps: Capabilities) -> Script:
    ops = [Op("ctx_new", method=d.method(METHODS))]
    ops += sets(d, "ctx_set", 0, caps.settable_ctx)
    ops.append(Op("ssl_new", ctx=0))
    held = d.integer(0, 2)  # references the script itself adds before the threads
    ops += [Op("ssl_up_ref", ssl=0) for _ in range(held)]
    for _ in range(d.integer(1, 2)):
        value = {"threads": d.integer(2, 8), "per_thread": d.integer(1, 2000)}
        ops.append(Op("ssl_threads", ssl=0, value=value))
    ops += [Op("ssl_free", ssl=0) for _ in range(held + 1)]
    return Script(tuple(ops))


def _check(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    new = find(script, trace, "ssl_new")
    if new.null:
        unusable(caps, "SSL_new returned NULL (see ret.new.pointer)")
    frees = sum(op.op == "ssl_free" for op in script.ops)
    seen_frees = 0
    for index, (op, obs) in enumerate(zip(script.ops, trace, strict=False)):
        if op.op == "ssl_free":
            seen_frees += 1
        last = op.op == "ssl_free" and seen_frees == frees
        if obs.skipped:
            raise Deviation(
                f"step {index} ({op}) found s already freed: the threads' SSL_free calls "
                "outnumbered their SSL_up_ref calls",
                "s alive",
                "s freed",
            )
        if op.op == "ssl_threads" and obs.freed:
            raise Deviation(
                f"s was freed while {op.value['threads']} threads each called SSL_up_ref "
                f"then SSL_free {op.value['per_thread']} times: the count lost an increment",
                [],
                obs.freed,
            )
        if not last and obs.freed:
            raise Deviation(
                f"s was freed by step {index} ({op}), before the last of {frees} SSL_free "
                "calls: the threads lost increments",
                [],
                obs.freed,
            )
        if last and obs.freed != [new.object]:
            detail = (
                f"the last of {frees} SSL_free calls did not free s: the threads lost decrements"
                if not obs.freed
                else f"the last SSL_free freed {obs.freed}, not s once"
            )
            raise Deviation(detail, [new.object], obs.freed)


def properties() -> dict[str, Property]:
    return {"ref.threads.exact": ScriptProperty(_scripts, _check)}
