"""Drawing scripts: one generator per property, two ways to make its choices.

A property writes its script generator once, against `Draw` (integers, booleans, a
choice, a few setting names, a setting's value). Three draws make the choices:

- `RandomDraw` is the seeded explorer: plain `random.Random` over the settings table's
  value domains, with the domain's edges (empty, zero entries, none, the extremes)
  weighted up. It costs a few microseconds a choice, so it does the breadth.
- `CaseDraw` is the same explorer on seeds fixed by the rule's id, never by the run's
  seed, and with every value an edge: the decisive cases every run tries first
  (coverage by construction), whatever the seed.
- `HypothesisDraw` makes the same choices through hypothesis's `draw`, so a deviation
  can be shrunk. Given a `Narrowing` (the settings, values and methods one deviating
  script used) it draws from those only: hypothesis meets the deviation again within a
  few examples, then shrinks it as usual.

Generation is swarm testing: `names` picks a few settings among those the rule may set
alongside (a different few each script), so interactions are met by design.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

from conformance.library import Json
from conformance.script import Script
from conformance.settings import Domain, Fields, IntRange, OneOf, Setting, SubsetOf
from conformance.strategies import setting_value_with

T = TypeVar("T")

# How often the explorer picks one of a domain's edges rather than any value.
EDGE_RATE = 0.3


class Draw(Protocol):
    """The choices a script generator makes."""

    def integer(self, lo: int, hi: int) -> int: ...

    def boolean(self) -> bool: ...

    def choice(self, options: Sequence[T]) -> T: ...

    def method(self, options: Sequence[str]) -> str:
        """The method of a context (narrowed to those a deviating script used)."""
        ...

    def names(self, pool: Collection[str], max_count: int, min_count: int = 0) -> list[str]:
        """A few distinct setting names out of `pool`, in a random order."""
        ...

    def value(self, setting: Setting, part: str | None = None) -> Json:
        """A value of the setting's domain (one that sets field `part`, if given)."""
        ...


def edges(domain: Domain) -> list[Json]:
    """The values at the edges of a domain: what decides a rule more often than not.
    Worked out once per domain (the explorer asks for them at most of its draws); shared,
    so never changed: `any_value` hands out copies."""
    found: list[Json] = _once(("edges", id(domain)), lambda: _edges(domain), domain)
    return found


def _edges(domain: Domain) -> list[Json]:
    found: list[Json] = []
    match domain:
        case OneOf(choices):
            found = list(choices)
        case IntRange(lo, hi):
            found = [lo, hi, *([0] if lo <= 0 <= hi else []), min(lo + 1, hi), max(hi - 1, lo)]
        case SubsetOf(names, min_size, max_size, ordered):
            smallest = list(names[:min_size])
            largest = list(names[:max_size])
            found = [smallest, largest, list(reversed(largest)) if ordered else largest[::-1]]
            if min_size <= 1:
                found += [[n] for n in names]
            if not ordered:
                found = [sorted(v) for v in found]
        case Fields(fields):
            for key, inner in fields:
                found += [{key: e} for e in edges(inner)]
    unique: list[Json] = []
    for value in found:
        if value not in unique:
            unique.append(value)
    return unique


def any_value(rng: random.Random, domain: Domain, edge_rate: float) -> Json:
    if edge_rate and rng.random() < edge_rate:
        return _copy(rng.choice(edges(domain)))
    match domain:
        case OneOf(choices):
            return rng.choice(choices)
        case IntRange(lo, hi):
            return rng.randint(lo, hi)
        case SubsetOf(names, min_size, max_size, ordered):
            chosen = rng.sample(names, rng.randint(min_size, min(max_size, len(names))))
            return chosen if ordered else sorted(chosen)
        case Fields(fields):
            present = [(k, d) for k, d in fields if rng.random() < 0.5] or [rng.choice(fields)]
            return {k: any_value(rng, d, edge_rate) for k, d in present}
    raise TypeError(f"unknown domain {domain!r}")


def _copy(value: Json) -> Json:
    """A JSON value no other script shares."""
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


class RandomDraw:
    """The seeded explorer: choices from `random.Random`, edges weighted up."""

    def __init__(self, rng: random.Random, edge_rate: float = EDGE_RATE) -> None:
        self.rng = rng
        self.edge_rate = edge_rate

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def boolean(self) -> bool:
        return self.rng.random() < 0.5

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def method(self, options: Sequence[str]) -> str:
        return self.choice(options)

    def names(self, pool: Collection[str], max_count: int, min_count: int = 0) -> list[str]:
        ordered = sorted(pool)
        count = self.rng.randint(min(min_count, len(ordered)), min(max_count, len(ordered)))
        return self.rng.sample(ordered, count)

    def value(self, setting: Setting, part: str | None = None) -> Json:
        assert setting.domain is not None, f"{setting.name} is not settable"
        if part is None:
            return any_value(self.rng, setting.domain, self.edge_rate)
        assert isinstance(setting.domain, Fields), f"{setting.name} has no fields"
        inner = dict(setting.domain.fields)[part]
        value = any_value(self.rng, setting.domain, self.edge_rate)
        merged = {**(value if isinstance(value, dict) else {})}
        merged[part] = any_value(self.rng, inner, 0.5)
        return {k: merged[k] for k, _ in setting.domain.fields if k in merged}


class CaseDraw(RandomDraw):
    """The decisive cases: a fixed seed per rule and case, every value an edge of its
    domain, so each run tries the same cases first whatever the run's seed.

    The shape of a script is enumerated, not drawn: a generator's first DECISIONS yes/no
    and small-count decisions (set the target on the context too, on s, or both; change
    the context after SSL_new; set it once or twice) are the digits of the case's index,
    in the order the generator asks them. So the first 2**DECISIONS cases (128) meet every
    combination of a rule's first decisions, on every run; only what comes after, and
    the values (each an edge of its domain), are seeded.
    """

    DECISIONS = 7
    SMALL = 4  # integer ranges up to this many values are enumerated too

    def __init__(self, rule_id: str, index: int) -> None:
        super().__init__(random.Random(f"case:{rule_id}:{index}"), edge_rate=1.0)
        self.digits = index
        self.decided = 0

    def _digit(self, radix: int) -> int | None:
        if self.decided >= self.DECISIONS:
            return None  # past the enumerated decisions: the seeded explorer's
        self.decided += 1
        digit, self.digits = self.digits % radix, self.digits // radix
        return digit

    def boolean(self) -> bool:
        digit = self._digit(2)
        return super().boolean() if digit is None else bool(digit)

    def integer(self, lo: int, hi: int) -> int:
        if hi - lo + 1 > self.SMALL:
            return super().integer(lo, hi)
        digit = self._digit(hi - lo + 1)
        return super().integer(lo, hi) if digit is None else lo + digit


@dataclass
class Narrowing:
    """The settings, values and methods one deviating script used."""

    settings: set[str] = field(default_factory=set)
    values: dict[str, list[Json]] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, script: Script) -> Narrowing:
        narrowing = cls()
        for op in script.ops:
            if op.setting is not None:
                narrowing.settings.add(op.setting)
                if op.op in ("ssl_set", "ctx_set"):
                    seen = narrowing.values.setdefault(op.setting, [])
                    if op.value not in seen:
                        seen.append(op.value)
            if op.method is not None and op.method not in narrowing.methods:
                narrowing.methods.append(op.method)
        return narrowing


class HypothesisDraw:
    """The same choices through hypothesis (shrinkable), optionally narrowed.

    Strategies are immutable, so each is built once (`_once`): building one costs
    more than drawing from it, and a shrink draws thousands of times."""

    def __init__(self, draw: st.DrawFn, narrowing: Narrowing | None = None) -> None:
        self.draw = draw
        self.narrowing = narrowing

    def integer(self, lo: int, hi: int) -> int:
        drawn: int = self.draw(_once(("integers", lo, hi), lambda: st.integers(lo, hi)))
        return drawn

    def boolean(self) -> bool:
        drawn: bool = self.draw(_once(("booleans",), st.booleans))
        return drawn

    def choice(self, options: Sequence[T]) -> T:
        return self.draw(_sampled(options))

    def method(self, options: Sequence[str]) -> str:
        if self.narrowing is not None:
            used = [m for m in self.narrowing.methods if m in options]
            if used:
                return self.draw(_sampled(used))
        return self.choice(options)

    def names(self, pool: Collection[str], max_count: int, min_count: int = 0) -> list[str]:
        ordered = sorted(pool)
        if self.narrowing is not None and len(ordered) > min_count:
            ordered = [n for n in ordered if n in self.narrowing.settings] or ordered[:min_count]
        if not ordered:
            return []
        least = min(min_count, len(ordered))
        return self.draw(
            _once(
                ("names", tuple(ordered), least, max_count),
                lambda: st.lists(
                    st.sampled_from(ordered), min_size=least, max_size=max_count, unique=True
                ),
            )
        )

    def value(self, setting: Setting, part: str | None = None) -> Json:
        if self.narrowing is not None:
            used = self.narrowing.values.get(setting.name)
            if used and (part is None or all(isinstance(v, dict) and part in v for v in used)):
                return self.draw(
                    _once(
                        ("within", json.dumps(used, sort_keys=True), part),
                        lambda: st.sampled_from(used).flatmap(lambda v: _within(v, part)),
                    )
                )
        return self.draw(
            _once(
                ("value", id(setting), part),
                lambda: setting_value_with(setting, part),
                setting,
            )
        )


_MADE: dict[tuple[object, ...], tuple[object, Any]] = {}


def _once(key: tuple[object, ...], make: Callable[[], Any], owner: object = None) -> Any:
    """What `make` gives for `key` (a strategy, a domain's edges), made on first use and
    never changed after. `owner` is kept beside it when the key holds an object's id, so
    that a reused id cannot hand back another's."""
    found = _MADE.get(key)
    if found is not None and found[0] is owner:
        return found[1]
    made = make()
    _MADE[key] = (owner, made)
    return made


def _sampled(options: Sequence[T]) -> st.SearchStrategy[T]:
    # By repr, not by value: True == 1, and a key must tell (True, False) from (1, 0).
    made: st.SearchStrategy[T] = _once(
        ("sampled", repr(tuple(options))), lambda: st.sampled_from(options)
    )
    return made


def _within(value: Json, keep: str | None) -> st.SearchStrategy[Json]:
    # Built once per value: a flatmap's function runs at every draw, and a new strategy
    # is validated on its first draw (a shrink's most frequent cost, before this).
    key = ("within-one", json.dumps(value, sort_keys=True), keep)
    made: st.SearchStrategy[Json] = _once(key, lambda: within(value, keep))
    return made


def within(value: Json, keep: str | None = None) -> st.SearchStrategy[Json]:
    """Values made of parts of `value` (some of a value's fields, some of a list's names,
    in their order): hypothesis shrinks a deviating value toward fewer of them. Field
    `keep` stays, and a list keeps at least one name."""
    if isinstance(value, dict) and value:
        keys = list(value)
        optional = [k for k in keys if k != keep]
        chosen = st.lists(st.sampled_from(optional), unique=True) if optional else st.just([])
        inner = st.fixed_dictionaries({k: within(v) for k, v in value.items()})

        def pick(pair: tuple[list[str], dict[str, Json]]) -> Json:
            return {k: pair[1][k] for k in keys if k == keep or k in pair[0]}

        return st.tuples(chosen, inner).map(pick).filter(bool)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        names: list[str] = [v for v in value if isinstance(v, str)]
        some = st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True)
        return some.map(lambda got: [n for n in names if n in got])
    return st.just(value)
