"""What every property shares: the verdict exceptions and the trace checks."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from hypothesis.stateful import RuleBasedStateMachine

from conformance.library import Json
from conformance.results import Status
from conformance.rules import Rule
from conformance.script import Observation, Op, Script, Trace
from conformance.settings import Fields, Setting, setting
from conformance.worker import Runner

if TYPE_CHECKING:
    from conformance.explore import Draw


class Deviation(Exception):
    """The library did not do what the rule promises."""

    def __init__(self, detail: str, expected: Any = None, observed: Any = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.expected = expected
        self.observed = observed
        self.script: Script | None = None
        self.trace: Trace | None = None
        # A shorter script the property expects to show the same deviation (for checks
        # whose scripts hypothesis cannot shrink, such as a fixed sweep); the engine runs
        # it and reports it instead when the property's check fails on it too.
        self.shorter: Script | None = None


class SetAside(Exception):
    """This example shows nothing the rule judges (a value the library could not show, a
    NULL another rule judges): it is not counted. Under hypothesis it is a reject()."""


class Stop(BaseException):
    """End the rule now with this status (absent, error); never shrunk by hypothesis."""

    def __init__(
        self, status: Status, detail: str, script: Script | None = None, trace: Trace | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.script = script
        self.trace = trace


@dataclass
class Capabilities:
    """What the backend under test can do, asked once per run (see Engine)."""

    settable_ssl: frozenset[str] = frozenset()
    settable_ctx: frozenset[str] = frozenset()
    unobservable: list[str] = field(default_factory=list)  # details of rejected examples


Generate = Callable[["Draw", Rule, Capabilities], Script]


@dataclass(frozen=True)
class Group:
    """Rules that share their scripts: one script sets and reads the target of each
    member, and each member judges its own view of it (`view`). Each member explores as
    many scripts as it would alone, and the library runs each script once for all.

    `scripts` makes a script for the members given (those the backend can run, in the
    group's order), each with its own draw for its own choices; the first member's draw
    makes the choices they share. With one member it is that member's own generator."""

    name: str
    rules: tuple[str, ...]
    scripts: Callable[[Sequence[Draw], Sequence[Rule], Capabilities], Script]
    view: Callable[[Script, Trace, Rule, Sequence[Rule]], tuple[Script, Trace]]


@dataclass
class ScriptProperty:
    # The script generator, written once against Draw: the explorer, the fixed cases
    # and hypothesis (to shrink) each make its choices (conformance.explore).
    scripts: Generate
    check: Callable[[Rule, Script, Trace, Capabilities], None]
    # The calls ("ssl_new", "ssl_dup") whose NULL this rule judges. A NULL from any other
    # sets the example aside: another rule (ret.*.pointer) says whether that is allowed.
    judges_null: Collection[str] = frozenset()
    group: Group | None = None  # the rules this one shares its scripts with


@dataclass
class MachineProperty:
    """A state machine run step by step on the model and the backend side by side."""

    machine: Callable[[Rule, Runner], type[RuleBasedStateMachine]]


Property = ScriptProperty | MachineProperty


Target = tuple[Setting, str | None]  # a rule's setting, and the field it observes


def group_by_setting(
    props: dict[str, Property],
    prefix: str,
    groups: Sequence[tuple[str, ...]],
    joint: Callable[[Sequence[Target], Sequence[Draw], Capabilities], Script],
    reads: Collection[str],
) -> None:
    """Make each of `groups` (the rules `prefix` + each name: a setting, and the field
    it reads) a Group, in `props`: its scripts from `joint` over the members' targets,
    each member's view without the other members' `reads` operations."""

    def scripts(draws: Sequence[Draw], members: Sequence[Rule], caps: Capabilities) -> Script:
        return joint([(setting(r.setting or ""), r.field) for r in members], draws, caps)

    def view(
        script: Script, trace: Trace, member: Rule, members: Sequence[Rule]
    ) -> tuple[Script, Trace]:
        others = {r.setting for r in members if r.id != member.id}
        return _without_reads(script, trace, reads, others)

    for names in groups:
        ids = tuple(prefix + name for name in names)
        group = Group(prefix + "+".join(names), ids, scripts, view)
        for rule_id in ids:
            prop = props[rule_id]
            assert isinstance(prop, ScriptProperty)
            props[rule_id] = replace(prop, group=group)


CREATING = ("ssl_new", "ssl_dup")


def screen(
    script: Script, trace: Trace, caps: Capabilities, judges_null: Collection[str] = ()
) -> None:
    """Turn what the library could not do into a verdict before any check looks.

    A missing function ends the rule as absent; a value the library could not show
    makes this example unusable (hypothesis tries others; none usable is an error), and
    so does a NULL from SSL_new or SSL_dup that the rule does not judge.
    """
    for obs in trace:
        if obs.absent:
            raise Stop("absent", "the library lacks " + ", ".join(obs.absent), script, trace)
        if obs.unobservable:
            caps.unobservable.append(obs.unobservable)
            raise SetAside(obs.unobservable)
    if len(trace) != len(script.ops):
        raise Stop("error", "the backend stopped before the end of the script", script, trace)
    for op, obs in zip(script.ops, trace, strict=True):
        if op.op in CREATING and op.op not in judges_null and (obs.null or obs.skipped):
            name = "SSL_new" if op.op == "ssl_new" else "SSL_dup"
            got = "NULL" if obs.null else f"nothing ({obs.skipped})"
            unusable(caps, f"{name} returned {got}: ret.*.pointer judges that, not this rule")


def _without_reads(
    script: Script, trace: Trace, reads: Collection[str], settings: Collection[str | None]
) -> tuple[Script, Trace]:
    """A shared script and its trace without the reads (`reads` operations) of
    `settings`: what one member of a Group judges."""
    kept = [i for i, op in enumerate(script.ops) if not (op.op in reads and op.setting in settings)]
    seen = [trace[i] for i in kept if i < len(trace)]
    stopped = len(trace) - 1  # the operation the library stopped at, if it did
    if len(trace) < len(script.ops) and stopped not in kept:
        # It stopped at another member's read, before this member's own: one it could
        # not show (a failed handshake, which members read alike) sets this example
        # aside; anything else is for each member's own scripts to meet.
        if not trace[stopped].unobservable:
            raise Unshared(f"the shared script stopped at {script.ops[stopped]}")
        seen.append(trace[stopped])
    return Script(tuple(script.ops[i] for i in kept)), seen


class Unshared(Exception):
    """A shared script that does not say what one member's own would have: each member
    explores its own scripts instead (Engine._share)."""


def unusable(caps: Capabilities, why: str) -> None:
    caps.unobservable.append(why)
    raise SetAside(why)


def ops_setting(script: Script, op: str, index: int, name: str) -> list[Json]:
    """Values a script set for `name` on ctx or ssl variable `index`, in order."""
    key = "ctx" if op == "ctx_set" else "ssl"
    return [
        o.value for o in script.ops if o.op == op and o.setting == name and getattr(o, key) == index
    ]


def reflects(setting: Setting, sets: list[Any], observed: Any) -> bool:
    """Does the getter show what the setter was given? (the precondition of a check)."""
    if not sets:
        return True
    if setting.combine == "or":
        wanted = {v for s in sets for v in (s or [])}
        return isinstance(observed, list) and wanted <= set(observed)
    if isinstance(setting.domain, Fields):
        if not isinstance(observed, dict):
            return False
        for key in {k for s in sets for k in s}:
            given = [s[key] for s in sets if key in s]
            if key == "flags":  # X509_VERIFY_PARAM_set_flags adds
                seen = observed.get(key) or []
                if not {f for g in given for f in g} <= set(seen):
                    return False
            elif observed.get(key) != given[-1]:
                return False
        return True
    return bool(sets[-1] == observed)


def part_of(value: Any, part: str | None) -> Any:
    """The field a rule observes, out of a setting's value (the whole value for a rule
    about a whole setting; None where the getter showed no such field)."""
    if part is None:
        return value
    return value.get(part) if isinstance(value, dict) else None


def part_sets(sets: list[Any], part: str | None) -> list[Any]:
    """Of the values a script set, those that set the field, reduced to it."""
    if part is None:
        return sets
    return [{part: s[part]} for s in sets if isinstance(s, dict) and part in s]


def find(script: Script, trace: Trace, op: str, nth: int = 0) -> Observation:
    """The observation of the nth operation named `op`."""
    matches = [obs for o, obs in zip(script.ops, trace, strict=False) if o.op == op]
    return matches[nth]


def with_ops(*ops: Op) -> Script:
    return Script(tuple(ops))
