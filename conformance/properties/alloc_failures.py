"""RETURN VALUES under memory pressure: the Nth allocation inside SSL_new or SSL_dup
fails (the library's allocator hooks). The page's NULL case must then hold: NULL with
an error on the stack. Whatever the call returns, nothing it allocated may leak.

A call may also survive a failed allocation (some allocations are optional); that is
allowed, as long as it returns a usable object and leaks nothing.
"""

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

# Every configuration gets every failure point up to SWEEP (SSL_new makes 7 allocations
# on OpenSSL 3.0, SSL_dup 9 to a few dozen with CA lists set; a deviation may sit at one
# point only), then a few random points beyond, up to where the call makes no more.
SWEEP = 64


def _scripts(d: Draw, rule: Rule, caps: Capabilities) -> Script:
    ops = [Op("ctx_new", method=d.method(METHODS))]
    ops += sets(d, "ctx_set", 0, caps.settable_ctx)
    tries = list(range(1, SWEEP + 1)) + [d.integer(SWEEP + 1, 400) for _ in range(d.integer(0, 2))]
    if rule.id == "ret.new.alloc-failure":
        ops += [Op("ssl_new_failing", ctx=0, value=n) for n in tries]
    else:
        ops.append(Op("ssl_new", ctx=0))
        ops += sets(d, "ssl_set", 0, caps.settable_ssl)
        ops += [Op("ssl_dup_failing", ssl=0, value=n) for n in tries]
        ops.append(Op("ssl_free", ssl=0))
    return Script(tuple(ops))


def _check(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    try:
        _check_ops(rule, script, trace, caps)
    except _AtStep as dev:
        # The sweep is fixed, so hypothesis cannot shrink it: offer the script without
        # the other failing calls.
        dev.shorter = Script(
            tuple(op for i, op in enumerate(script.ops) if op.op not in FAILING or i == dev.step)
        )
        raise


FAILING = ("ssl_new_failing", "ssl_dup_failing")


class _AtStep(Deviation):
    def __init__(self, step: int, detail: str, expected: object, observed: object) -> None:
        super().__init__(detail, expected, observed)
        self.step = step


def _check_ops(rule: Rule, script: Script, trace: Trace, caps: Capabilities) -> None:
    call = "SSL_new" if rule.id == "ret.new.alloc-failure" else "SSL_dup"
    failing = "ssl_new_failing" if call == "SSL_new" else "ssl_dup_failing"
    s = None
    if call == "SSL_dup":
        new = find(script, trace, "ssl_new")
        if new.null:
            unusable(caps, "SSL_new returned NULL (see ret.new.pointer)")
        s = new.object
    for index, (op, obs) in enumerate(zip(script.ops, trace, strict=False)):
        if op.op == "ssl_free" and s is not None and obs.skipped:
            raise Deviation(
                f"s was freed by a failed {call} before its own SSL_free", "s alive", "s freed"
            )
        if op.op != failing:
            continue
        report = obs.value or {}
        where = f"with allocation {op.value} failing (step {index}; the call made "
        where += f"{report.get('allocations')} allocation(s))"
        if obs.null and not obs.errors:
            raise _AtStep(
                index,
                f"{call} returned NULL {where} with nothing on the error stack",
                "an error queued",
                [],
            )
        if report.get("leaked"):
            result = "NULL" if obs.null else "an object (then freed)"
            sites = report.get("leaked_at") or []
            raise _AtStep(
                index,
                f"{call} returned {result} {where}; {report['leaked']} allocation(s) it "
                "made were never freed" + (f" (made at {', '.join(sites)})" if sites else ""),
                0,
                report["leaked"],
            )
        if s is not None and s in obs.freed:
            raise _AtStep(index, f"{call} {where} freed s", [], obs.freed)


def properties() -> dict[str, Property]:
    return {
        "ret.new.alloc-failure": ScriptProperty(_scripts, _check),
        "ret.dup.alloc-failure": ScriptProperty(_scripts, _check),
    }
