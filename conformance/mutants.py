"""The model's mutants, and the deviation each must be caught with.

`ModelLibrary(broken=RULE_ID)` (conformance.model) breaks just that rule. Catching it is
not enough: the rule must fail *for the mutant's own reason*, with the expected and
observed values the mutant causes. `SIGNATURES` declares them, one per testable rule;
the project's tests (tests/test_mutations.py) hold every mutant to its signature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.model import DEFAULTS
from conformance.rules import RULES, Rule


@dataclass(frozen=True)
class Signature:
    """What the mutant's deviation shows: `says` for people, `holds(expected, observed)`."""

    says: str
    holds: Callable[[Any, Any], bool]


def _is(expected: Any, observed: Any) -> Signature:
    return Signature(
        f"expected {expected!r}, observed {observed!r}",
        lambda e, o: bool(e == expected and o == observed),
    )


def _not_freed() -> Signature:
    return Signature(
        "the model frees an object at a step where the library frees nothing",
        lambda e, o: isinstance(e, list) and len(e) > 0 and o == [],
    )


def _freed_early() -> Signature:
    return Signature(
        "the library frees an object at a step where the model frees nothing",
        lambda e, o: e == [] and isinstance(o, list) and len(o) > 0,
    )


def _default(rule: Rule) -> Signature:
    """new.inherits.* and dup.copies.*: the value not passed on shows its default."""
    assert rule.setting is not None
    default = DEFAULTS.get(rule.setting)
    if rule.field is not None:
        assert isinstance(default, dict)
        default = default[rule.field]
    return Signature(
        f"observed the default {default!r}, expected the value that was set",
        lambda e, o: bool(o == default and e != default),
    )


def _signature(rule: Rule) -> Signature:
    fixed: dict[str, Signature] = {
        "new.creates": Signature(
            "two SSL_new calls show one object",
            lambda e, o: e == "distinct objects" and isinstance(o, list) and len(set(o)) < len(o),
        ),
        "ref.new.count-one": _not_freed(),
        "ref.free.decrements": _not_freed(),
        "ref.free.at-zero": _not_freed(),
        "ref.up-ref.increments": _freed_early(),
        "ref.threads.exact": Signature(
            "s is freed before the caller's last SSL_free",
            lambda e, o: (
                (e == [] and isinstance(o, list) and len(o) > 0)
                or (e == "s alive" and o == "s freed")
            ),
        ),
        "dup.initial.new-object": _is("a new object", "s"),
        "dup.initial.same-ctx": Signature(
            "the duplicate's context is one the script never made (-1)",
            lambda e, o: isinstance(e, int) and e >= 0 and o == -1,
        ),
        "dup.started.same-handle": Signature(
            "a new object where s was due",
            lambda e, o: e == "s" and isinstance(o, str) and o.startswith("object "),
        ),
        "dup.started.increments": Signature(
            "s freed by its first SSL_free, though SSL_dup added references",
            lambda e, o: (
                isinstance(e, str)
                and e.startswith("freed by SSL_free number ")
                and e != o == "freed by SSL_free number 1"
            ),
        ),
        "dup.initial.independent-settings": Signature(
            "a setting read on one object changed when set on the other",
            lambda e, o: e != o,
        ),
        "dup.initial.independent-lifetime": Signature(
            "one SSL_free frees two objects",
            lambda e, o: isinstance(e, list) and isinstance(o, list) and len(o) == len(e) + 1,
        ),
        "ret.new.null-ctx": _is("an error queued", []),
        "ret.new.alloc-failure": _is("an error queued", []),
        "ret.dup.alloc-failure": Signature(
            "allocations leaked", lambda e, o: e == 0 and isinstance(o, int) and o > 0
        ),
        "ret.new.pointer": _is("an SSL object", "NULL"),
        "ret.dup.pointer": _is("an SSL object", "NULL"),
        "ret.up-ref.one": _is(1, 2),
        "new.inherits.method": Signature(
            "the SSL shows tls-client, its context another method",
            lambda e, o: o == "tls-client" and e in ("tls", "tls-server"),
        ),
        "dup.copies.accept-connect-state": Signature(
            "the duplicate shows the state its method gives, not s's",
            lambda e, o: {e, o} == {"accept", "connect"},
        ),
    }
    if rule.id in fixed:
        return fixed[rule.id]
    if rule.id.startswith(("new.inherits.", "dup.copies.")):
        return _default(rule)
    raise KeyError(f"no signature declared for the mutant of {rule.id}")


SIGNATURES: dict[str, Signature] = {r.id: _signature(r) for r in RULES if r.testable}
