"""Settings in C, spelled from the binding table (conformance.binding).

`Spelling.set` gives the statements that set a script value on a context or an SSL;
`Spelling.read` the statements that read a setting into named variables, as a `Read`
the generator compares (`differ`) and prints (`shown`, `args`). Helper code a value
needs (a callback, a stack of names) is collected for the program's top.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.library import Json, Kind


class CannotSpellSetting(Exception):
    """The binding table has no C for this; the message says what, in one line."""


@dataclass(frozen=True)
class Part:
    """One C value of a read: a variable, how it compares and how it prints."""

    var: str
    label: str  # how a person names it ("time")
    fmt: str  # printf conversion
    arg: str  # printf argument
    compare: str = "{a} != {b}"  # C condition that two such values differ


@dataclass(frozen=True)
class Read:
    lines: tuple[str, ...]
    parts: tuple[Part, ...]


@dataclass
class Spelling:
    """The settings of one family; `table` is the binding table's entries by setting."""

    family: str
    _helpers: dict[str, str] = field(default_factory=dict)
    _includes: list[str] = field(default_factory=list)

    def set(self, kind: Kind, var: str, setting: str, value: Json) -> list[str]:
        raise CannotSpellSetting(f"no binding for setting {setting}")

    def read(self, kind: Kind, var: str, setting: str, names: set[str]) -> Read:
        raise CannotSpellSetting(f"no binding for setting {setting}")

    def differ(self, a: Read, b: Read) -> str:
        return " || ".join(
            p.compare.format(a=p.var, b=q.var) for p, q in zip(a.parts, b.parts, strict=True)
        )

    def shown(self, read: Read) -> str:
        if len(read.parts) == 1:
            return read.parts[0].fmt
        return "{" + ", ".join(f"{p.label} {p.fmt}" for p in read.parts) + "}"

    def args(self, read: Read) -> list[str]:
        return [p.arg for p in read.parts]

    def helpers(self) -> dict[str, str]:
        return dict(self._helpers)

    def includes(self) -> list[str]:
        return list(self._includes)
