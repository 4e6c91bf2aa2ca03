"""Runs each rule's property against one backend and turns what happened into a status.

pass: every example observed held, and the rule failed on the same library once its
break (Rule.breaks, conformance.breaks) was put at the library's boundary: the pass
names that break (able_to_fail). fail: hypothesis found (and shrank) a script that
breaks the rule. absent: the library lacks a function the rule needs (or the break
does). not-applicable: the page's version qualifier excludes this library version, or
the rule held even under its break, so this library cannot show it failing.
crash / timeout: the worker died or hung (the script that did it is kept). error:
nothing could be observed (no example reached what the rule judges), or the harness
itself failed; the detail says which.

A script property is explored in three steps. First the fixed cases (explore.CaseDraw):
the same decisive scripts on every run, whatever the seed, every value an edge of its
domain. Then the seeded explorer (explore.RandomDraw) up to the profile's count. Both go
to the library in batches, the next batch drawn while the library runs this one. A
deviation is run again alone: a verdict that differs is `flaky`, with both observations.
One that recurs is handed to hypothesis with a strategy narrowed to the settings, values
and methods it used (explore.Narrowing), which meets it again and shrinks it; the shorter
of the two scripts is kept, and then each setting set alongside that the deviation shows
without is left out (`_unneeded`), each one run again to see.

Rules of one group (properties.common.Group) explore one stream of scripts: each
script sets up every member's target, and each member judges its own view of it, until
its first deviation or the profile's count (`_share`). The first member to run explores
for all; the others find their verdicts kept. What follows a verdict (the run again, the
shrink, the break run) is each rule's own, on scripts of its own.

Examples count only when observed and checked: those set aside (a value the library
could not show, a NULL the rule does not judge, a state machine that never reached a
step its rule judges) are not counted; `scripts` counts every script run (for a rule
of a group, every shared script it judged). The run's
seed seeds the explorer (with the rule's id) and goes through hypothesis's public `seed`
decorator, on the shrinking test and on the state machine's factory alike: the same
seed gives the same scripts and the same minimal script. The fixed cases take no seed.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, given, reject, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure, Unsatisfiable
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from conformance.explore import CaseDraw, HypothesisDraw, Narrowing, RandomDraw
from conformance.library import Unavailable
from conformance.properties import PROPERTIES
from conformance.properties.common import (
    Capabilities,
    Deviation,
    Group,
    MachineProperty,
    ScriptProperty,
    SetAside,
    Stop,
    Unshared,
    screen,
)
from conformance.results import RuleResult
from conformance.rules import BY_ID, Rule
from conformance.script import Script, Trace, trace_to_json
from conformance.settings import SETTINGS
from conformance.worker import Outcome, Runner, WorkerCrashed, WorkerTimedOut

# Scripts each script rule explores: the fixed cases first, then the seeded explorer.
PROFILES = {"quick": 100, "default": 500, "thorough": 2000}
CASES = 200  # fixed cases per rule (fewer if the profile explores fewer scripts)
# Scripts per round trip to the library: the first batches are small, since a break run
# (and a rule the cases decide) usually ends within the first few scripts.
FIRST_BATCH = 4
BATCH = 64
IN_FLIGHT = 2  # batches submitted ahead of the one being checked
# Examples hypothesis may spend meeting a deviation again, narrowed, before shrinking it.
SHRINK_EXAMPLES = 100
# A state machine example is a whole sequence of up to STEPS operations, each a round
# trip: its rules run as many sequences as the profile had examples before batches.
MACHINES = {"quick": 10, "default": 25, "thorough": 250}
STEPS = 20

# Features an adapter offers only when loaded with an option, because they slow every
# operation down: rules that need one run on a second worker loaded with it.
FEATURE_OPTIONS: dict[str, dict[str, str]] = {"alloc_failures": {"alloc_hooks": "1"}}


@dataclass(frozen=True)
class LibraryVersion:
    text: str

    def openssl(self) -> tuple[int, int, int, str] | None:
        """(major, minor, fix, letter) when this is an OpenSSL release, else None."""
        m = re.match(r"OpenSSL (\d+)\.(\d+)\.(\d+)([a-z]*)", self.text)
        if not m:
            return None
        return int(m[1]), int(m[2]), int(m[3]), m[4]

    def page(self) -> str:
        """The page version a library is held to: 1.1.1k for OpenSSL 1.x, else 3.0.0."""
        parsed = self.openssl()
        return "1.1.1k" if parsed and parsed[0] == 1 else "3.0.0"

    def before(self, since: str) -> bool:
        parsed = self.openssl()
        wanted = LibraryVersion(f"OpenSSL {since}").openssl()
        return parsed is not None and wanted is not None and parsed < wanted


@dataclass
class Shared:
    """One member's verdict on its group's scripts (Engine._share)."""

    found: BaseException | None  # a Deviation, a Stop, a crash or an error; None: held
    examples: int
    scripts: int
    caps: Capabilities  # the run's, with the member's own reasons for setting aside
    decided: bool = False


class Engine:
    def __init__(
        self,
        runner: Runner,
        profile: str = "default",
        run_seed: int = 0,
        *,
        breaking: bool = False,
        seconds: float | None = None,
        progress: Callable[[str, int, float], None] | None = None,
    ) -> None:
        self.runner = runner
        self.profile = profile
        self.max_examples = PROFILES[profile]
        self.machines = MACHINES[profile]
        self.seed = run_seed
        # A break run (see able_to_fail): it only has to find one failing example.
        self.breaking = breaking
        # A soak: each script rule explores for this long instead of a count of scripts.
        self.seconds = seconds
        self.progress = progress  # (rule id, scripts so far, seconds the rule has run)
        self.scripts = 0  # scripts run on the library for the rule under way
        self.version = LibraryVersion(str(runner.hello()["version"]))
        self._caps: Capabilities | None = None
        self._shared: dict[str, dict[str, Shared] | None] = {}  # by group (_share)
        # The rules of the run, when it is not every rule a group holds (a soak's budget).
        self.selected: frozenset[str] | None = None

    def capabilities(self) -> Capabilities:
        """Which settings scripts may use freely on this backend (asked once)."""
        if self._caps is None:
            names = [s.name for s in SETTINGS if s.domain is not None]
            features = [f"set:{k}:{n}" for n in names for k in ("ssl", "ctx")]
            answer = self.runner.missing(features)
            ssl = {n for n in names if answer.get(f"set:ssl:{n}") == []}
            ctx = {n for n in names if answer.get(f"set:ctx:{n}") == []}
            self._caps = Capabilities(
                frozenset(ssl), frozenset(ctx & {s.name for s in SETTINGS if s.on_ctx})
            )
        return self._caps

    def run(self, rule: Rule) -> RuleResult:
        started = time.monotonic()
        self.scripts = 0
        result = self._run(rule)
        if result.status == "pass" and not self.breaking:
            ran = self.scripts
            result = self.able_to_fail(rule, result)
            self.scripts = ran
        result.scripts = self.scripts
        result.seconds = round(time.monotonic() - started, 3)
        return result

    def able_to_fail(self, rule: Rule, passed: RuleResult) -> RuleResult:
        """The rule once more on the same library with its break (rule.breaks) in place.
        It must fail there; a pass the library could not have failed is no pass."""
        brk = rule.breaks
        if brk is None:
            return RuleResult(
                id=rule.id,
                status="not-applicable",
                examples=passed.examples,
                detail="no break is declared for this rule, so its pass cannot be shown "
                "able to fail",
            )
        # The same runner, the break switched on in its worker: no new process.
        breaking = Engine(self.runner, self.profile, self.seed, breaking=True)
        breaking.max_examples, breaking.machines = self.max_examples, self.machines
        breaking._caps = self._caps
        try:
            self.runner.set_break(rule.id)
            under = breaking._run(rule)
        except NotImplementedError:
            under = RuleResult(
                id=rule.id,
                status="error",
                detail=f"this runner cannot load a break ({type(self.runner).__name__})",
            )
        except Unavailable as gone:
            under = RuleResult(id=rule.id, status="error", detail=f"worker unavailable: {gone}")
        finally:
            self.runner.set_break(None)
        if under.status == "fail":
            passed.able_to_fail = brk.says
            return passed
        said = f"it held with {passed.examples} example(s), but under the break ({brk.says})"
        if under.status == "absent":
            return RuleResult(
                id=rule.id,
                status="absent",
                examples=passed.examples,
                detail=f"{said}: {under.detail}",
            )
        if under.status == "pass":
            return RuleResult(
                id=rule.id,
                status="not-applicable",
                examples=passed.examples,
                detail=f"{said} it held too ({under.examples} example(s)): this library "
                "cannot show the rule failing",
            )
        return RuleResult(
            id=rule.id,
            status="error",
            examples=passed.examples,
            detail=f"{said} the run ended in {under.status}: {under.detail}",
        )

    def _prepare(self, rule: Rule) -> RuleResult | Runner:
        """The runner a rule runs on, or its result when it cannot run here."""
        if rule.since and self.version.before(rule.since):
            return RuleResult(
                id=rule.id,
                status="not-applicable",
                detail=f"the page promises this only from OpenSSL {rule.since}",
            )
        if rule.id not in PROPERTIES:
            return RuleResult(
                id=rule.id, status="error", detail="no property observes this rule yet"
            )
        options = {k: v for f in rule.needs for k, v in FEATURE_OPTIONS.get(f, {}).items()}
        runner = self.runner.variant(options) if options else self.runner
        answer = runner.missing(list(rule.needs))
        # What the library lacks decides first: an adapter gap behind it changes nothing.
        lacking = sorted({n for names in answer.values() for n in names or []})
        if lacking:
            # Adapters name a missing function, or give a sentence saying why it is absent.
            said = [n if " " in n else f"the library lacks {n}" for n in lacking]
            return RuleResult(id=rule.id, status="absent", detail="; ".join(said))
        unknown = [f for f, names in answer.items() if names is None]
        if unknown:
            return RuleResult(
                id=rule.id,
                status="error",
                detail=f"this backend's adapter does not observe {', '.join(unknown)} yet",
            )
        return runner

    def _run(self, rule: Rule) -> RuleResult:
        prepared = self._prepare(rule)
        if isinstance(prepared, RuleResult):
            return prepared
        runner, prop = prepared, PROPERTIES[rule.id]
        caps = self.capabilities()
        caps.unobservable.clear()
        counter = [0]
        try:
            if isinstance(prop, ScriptProperty):
                if prop.group is not None and not self.breaking:
                    found = self._explore_shared(runner, rule, prop, caps, counter)
                else:
                    found = self._explore(runner, rule, prop, caps, counter)
                if found is not None:
                    return self._deviated(runner, rule, prop, caps, found, counter[0])
            else:
                self._run_machine(runner, rule, prop, counter)
        except Deviation as dev:  # a state machine's
            return self._failed(runner, rule, dev, counter[0])
        except FlakyFailure as flaky:
            deviations = [e for e in flaky.exceptions if isinstance(e, Deviation)]
            if deviations:
                first = deviations[0]
                again = runner.run(first.script) if first.script is not None else None
                return self._flaky(rule, first, counter[0], again, "did not recur every time")
            crashes = [e for e in flaky.exceptions if isinstance(e, WorkerCrashed)]
            if crashes:
                return RuleResult(
                    id=rule.id,
                    status="crash",
                    examples=counter[0],
                    detail=f"{crashes[0].detail} (did not recur when run again)",
                    script=Script(tuple(crashes[0].ops)).to_json(),
                    seed=self.seed,
                )
            return RuleResult(
                id=rule.id,
                status="error",
                examples=counter[0],
                detail="flaky: " + str(flaky).splitlines()[0][:300],
            )
        except Stop as stop:
            return RuleResult(
                id=rule.id,
                status=stop.status,
                examples=counter[0],
                detail=stop.detail,
                script=stop.script.to_json() if stop.script else None,
                trace=trace_to_json(stop.trace) if stop.trace else None,
            )
        except WorkerCrashed as crash:
            return RuleResult(
                id=rule.id,
                status="crash",
                examples=counter[0],
                detail=crash.detail,
                script=Script(tuple(crash.ops)).to_json(),
                seed=self.seed,
            )
        except WorkerTimedOut as hang:
            return RuleResult(
                id=rule.id,
                status="timeout",
                examples=counter[0],
                detail=hang.detail,
                script=Script(tuple(hang.ops)).to_json(),
                seed=self.seed,
            )
        except Unsatisfiable:
            common = Counter(caps.unobservable).most_common(1)
            why = common[0][0] if common else "every example was rejected"
            return RuleResult(
                id=rule.id,
                status="error",
                examples=counter[0],
                detail=f"no example could be observed: {why}",
            )
        except Unavailable as gone:
            return RuleResult(
                id=rule.id,
                status="error",
                examples=counter[0],
                detail=f"worker unavailable: {gone}",
            )
        if counter[0] == 0:
            common = Counter(caps.unobservable).most_common(1)
            why = common[0][0] if common else "no example reached a step the rule judges"
            return RuleResult(
                id=rule.id,
                status="error",
                examples=0,
                detail=f"no example could be observed: {why}",
            )
        return RuleResult(id=rule.id, status="pass", examples=counter[0], seed=self.seed)

    def _settings(self, examples: int, phases: tuple[Phase, ...]) -> settings:
        return settings(
            phases=phases,
            max_examples=max(1, examples),
            deadline=None,
            database=None,
            derandomize=False,
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
            stateful_step_count=STEPS,  # reference-count bugs show within a few steps
        )

    # --- script properties: fixed cases, then the explorer, in batches ------------------

    def _batches(
        self, rule: Rule, prop: ScriptProperty, caps: Capabilities
    ) -> Iterator[list[Script]]:
        """The fixed cases, then the seeded explorer: up to the profile's count of scripts,
        or (a soak) for as long as the rule is given."""
        explorer = RandomDraw(random.Random(f"{self.seed}:{rule.id}"))
        cases = min(CASES, self.max_examples)

        def script(i: int) -> Script:
            return prop.scripts(CaseDraw(rule.id, i) if i < cases else explorer, rule, caps)

        return self._batched(script, self.seconds)

    def _batched(
        self, script: Callable[[int], Script], seconds: float | None
    ) -> Iterator[list[Script]]:
        """script(0), script(1), ... in batches: up to the profile's count, or (a soak) for
        `seconds`. The first batches are small, then they double up to BATCH."""
        total = self.max_examples
        deadline = time.monotonic() + seconds if seconds else None
        made, size = 0, FIRST_BATCH
        while True:
            if deadline is None:
                if made >= total:
                    return
                count = min(size, total - made)
            else:
                if time.monotonic() >= deadline:
                    return
                count = size
            size = min(BATCH, size * 2)
            yield [script(i) for i in range(made, made + count)]
            made += count

    def _flights(
        self, runner: Runner, batches: Iterator[list[Script]]
    ) -> Generator[tuple[list[Script], list[Outcome]], None, None]:
        """Each batch with its outcomes, two batches in flight: the library runs the next
        while this one is checked. Closed early (a verdict, a crash), it discards what is
        still in flight: scripts past the verdict are not judged."""
        flying: deque[list[Script]] = deque()
        try:
            for _ in range(IN_FLIGHT):
                if (batch := next(batches, None)) is not None:
                    runner.submit(batch)
                    flying.append(batch)
            while flying:
                current = flying.popleft()
                outcomes = runner.collect()
                if (upcoming := next(batches, None)) is not None:
                    runner.submit(upcoming)
                    flying.append(upcoming)
                yield current, outcomes
        finally:
            if flying:
                runner.discard()

    def _explore(
        self,
        runner: Runner,
        rule: Rule,
        prop: ScriptProperty,
        caps: Capabilities,
        counter: list[int],
    ) -> Deviation | None:
        """The first deviating script of the cases and the exploration, or None."""
        started = time.monotonic()
        with closing(self._flights(runner, self._batches(rule, prop, caps))) as flights:
            for current, outcomes in flights:
                found = self._check_batch(rule, prop, caps, current, outcomes, counter)
                if self.progress is not None:
                    self.progress(rule.id, self.scripts, time.monotonic() - started)
                if found is not None:
                    return found
        return None

    def _check_batch(
        self,
        rule: Rule,
        prop: ScriptProperty,
        caps: Capabilities,
        batch: list[Script],
        outcomes: list[Outcome],
        counter: list[int],
    ) -> Deviation | None:
        for script, outcome in zip(batch, outcomes, strict=True):
            self.scripts += 1
            if isinstance(outcome, BaseException):
                raise outcome  # the harness's or the adapter's error: the rule's error
            found = self._verdict(rule, prop, caps, script, outcome)
            if found is not None:
                counter[0] += 1
                if isinstance(found, Deviation):
                    return found
        return None

    def _explore_shared(
        self,
        runner: Runner,
        rule: Rule,
        prop: ScriptProperty,
        caps: Capabilities,
        counter: list[int],
    ) -> Deviation | None:
        """As _explore, on the scripts the rule's group shares: explored once, when the
        first member runs, and kept for the others (a lane runs a group's members one
        after the other). A rule alone in its group here, one the run does not hold, or
        one whose group's scripts could not be judged (`_share`) explores its own."""
        assert prop.group is not None
        name = prop.group.name
        if name not in self._shared:
            self._shared[name] = self._share(runner, prop.group, caps, rule.id)
        mine = (self._shared[name] or {}).get(rule.id)
        if mine is None:
            return self._explore(runner, rule, prop, caps, counter)
        counter[0] = mine.examples
        self.scripts += mine.scripts
        caps.unobservable.extend(mine.caps.unobservable)  # why its examples were set aside
        if isinstance(mine.found, Deviation | Stop):
            return self._alone(runner, rule, prop, caps, mine.found)  # a Stop is raised
        if mine.found is not None:
            raise mine.found  # a crash, a hang, an adapter's or the harness's error
        return None

    def _alone(
        self,
        runner: Runner,
        rule: Rule,
        prop: ScriptProperty,
        caps: Capabilities,
        said: Deviation | Stop,
    ) -> Deviation:
        """A member's deviation (or Stop, raised) without the other members' settings, if
        it shows there too (run again to see): a script of its own, as its own scripts
        would have found, and what hypothesis is narrowed to. Else the shared script's
        view, as it was."""
        assert said.script is not None and prop.group is not None
        others = {BY_ID[i].setting for i in prop.group.rules if i != rule.id}
        own = Script(
            tuple(
                op
                for op in said.script.ops
                if not (op.op in ("ctx_set", "ssl_set") and op.setting in others)
            )
        )
        if own != said.script:
            self.scripts += 1
            try:
                found = self._verdict(rule, prop, caps, own, runner.run(own))
            except Stop as stop:
                if isinstance(said, Stop) and stop.status == said.status:
                    raise  # the same end, on a script of its own
                found = None
            if isinstance(found, Deviation) and isinstance(said, Deviation):
                return found
        if isinstance(said, Stop):
            raise said
        return said

    def _share(
        self, runner: Runner, group: Group, caps: Capabilities, running: str
    ) -> dict[str, Shared] | None:
        """Each member's verdict on the group's scripts: its first deviation (or the Stop
        its check raised, or the crash or hang of a script), with the examples and scripts
        it took. The scripts are those of every member that can run here, whichever the
        run holds (`selected`), so a verdict does not depend on the others being run; the
        members the run holds are judged. None when fewer than two members can run here,
        or when a shared script cannot say what a member's own would (Unshared): then
        each member explores scripts of its own. A soak's progress line shows the
        scripts under `running`, the rule whose run explores them."""
        members = [BY_ID[i] for i in group.rules if self._prepare(BY_ID[i]) is runner]
        if len(members) < 2:
            return None
        judged = [r for r in members if self.selected is None or r.id in self.selected]
        verdicts = {
            r.id: Shared(None, 0, 0, Capabilities(caps.settable_ssl, caps.settable_ctx))
            for r in judged
        }
        props = {r.id: PROPERTIES[r.id] for r in members}
        batches = self._shared_batches(group, members, caps)
        started = time.monotonic()
        try:
            with closing(self._flights(runner, batches)) as flights:
                for current, outcomes in flights:
                    for script, outcome in zip(current, outcomes, strict=True):
                        for member in judged:
                            mine = verdicts[member.id]
                            if not mine.decided:
                                prop = props[member.id]
                                assert isinstance(prop, ScriptProperty)
                                self._judge(mine, member, prop, group, members, script, outcome)
                    if self.progress is not None:
                        scripts = max(v.scripts for v in verdicts.values())
                        self.progress(running, scripts, time.monotonic() - started)
                    if all(v.decided for v in verdicts.values()):
                        break
        except (WorkerCrashed, WorkerTimedOut) as died:
            # The library died in a script every member was running: it is each one's
            # crash (or hang), with that script, as it would be in a script of its own.
            for mine in verdicts.values():
                if not mine.decided:
                    mine.found, mine.decided = died, True
                    mine.scripts += 1
        except Unshared:
            return None  # a view that cannot say what a member's own script would
        return verdicts

    def _judge(
        self,
        mine: Shared,
        member: Rule,
        prop: ScriptProperty,
        group: Group,
        members: list[Rule],
        script: Script,
        outcome: Outcome,
    ) -> None:
        """One member's verdict on one shared script, as _check_batch gives a rule's: an
        adapter's error in the outcome, a Stop or a harness error in the check are the
        member's, raised when it runs (as its own scripts would raise them)."""
        mine.scripts += 1
        if isinstance(outcome, BaseException):
            mine.found, mine.decided = outcome, True
            return
        seen, trace = group.view(script, outcome, member, members)
        try:
            found = self._verdict(member, prop, mine.caps, seen, trace)
        except (Stop, Exception) as ended:
            mine.found, mine.decided = ended, True
            return
        if found is not None:
            mine.examples += 1
            if isinstance(found, Deviation):
                mine.found, mine.decided = found, True

    def _shared_batches(
        self, group: Group, members: list[Rule], caps: Capabilities
    ) -> Iterator[list[Script]]:
        """The group's scripts as _batches makes a rule's: each member's choices from its
        own fixed cases and its own seeded explorer, for as many scripts as one rule."""
        explorers = [RandomDraw(random.Random(f"{self.seed}:{r.id}")) for r in members]
        cases = min(CASES, self.max_examples)

        def script(i: int) -> Script:
            draws = [CaseDraw(r.id, i) for r in members] if i < cases else explorers
            return group.scripts(draws, members, caps)

        # A soak's budget is per rule: the group's is that of its members in the run.
        running = [r for r in members if self.selected is None or r.id in self.selected]
        return self._batched(script, self.seconds * max(1, len(running)) if self.seconds else None)

    def _verdict(
        self, rule: Rule, prop: ScriptProperty, caps: Capabilities, script: Script, trace: Trace
    ) -> Deviation | Trace | None:
        """The Deviation this trace shows, the trace itself if the rule held, or None if
        the script was set aside (not counted)."""
        try:
            screen(script, trace, caps, prop.judges_null)
            prop.check(rule, script, trace, caps)
        except SetAside:
            return None
        except Deviation as dev:
            dev.script, dev.trace = script, trace
            return dev
        return trace

    def _deviated(
        self,
        runner: Runner,
        rule: Rule,
        prop: ScriptProperty,
        caps: Capabilities,
        dev: Deviation,
        examples: int,
    ) -> RuleResult:
        """A deviating script: run again (flaky?), shrunk, and reported."""
        if self.breaking:  # a break run only shows the rule can fail
            return self._failed(runner, rule, dev, examples)
        assert dev.script is not None
        self.scripts += 1
        again = runner.run(dev.script)
        verdict = self._verdict(rule, prop, caps, dev.script, again)
        if not isinstance(verdict, Deviation):
            said = "held" if verdict is not None else "showed nothing the rule judges"
            return self._flaky(rule, dev, examples, again, f"{said} when it ran again")
        shrunk = self._shrink(runner, rule, prop, caps, dev)
        shortest = self._unneeded(
            runner, rule, prop, caps, self._shortened(runner, rule, prop, caps, shrunk)
        )
        return self._failed(runner, rule, shortest, examples)

    def _unneeded(
        self, runner: Runner, rule: Rule, prop: ScriptProperty, caps: Capabilities, dev: Deviation
    ) -> Deviation:
        """The shrunk script without each setting set alongside (not the rule's own) that
        the deviation shows without: each left out in turn, last first, and run again.
        Hypothesis draws the names of the settings set alongside before their values,
        so its shrinker, taking one out, shifts the values that follow, and now and then
        keeps one the deviation does not need."""
        assert dev.script is not None
        for at in reversed(range(len(dev.script.ops))):
            op = dev.script.ops[at]
            if op.op not in ("ctx_set", "ssl_set") or op.setting == rule.setting:
                continue
            without = Script(dev.script.ops[:at] + dev.script.ops[at + 1 :])
            self.scripts += 1
            found = self._verdict(rule, prop, caps, without, runner.run(without))
            if isinstance(found, Deviation):
                dev = found
        return dev

    def _flaky(
        self, rule: Rule, dev: Deviation, examples: int, again: Trace | None, how: str
    ) -> RuleResult:
        return RuleResult(
            id=rule.id,
            status="flaky",
            examples=examples,
            detail=f"the same script deviated once and {how} on the same library: {dev.detail}",
            script=dev.script.to_json() if dev.script else None,
            expected=dev.expected,
            observed=dev.observed,
            trace=trace_to_json(dev.trace) if dev.trace else None,
            rerun_trace=trace_to_json(again) if again is not None else None,
            seed=self.seed,
        )

    def _shrink(
        self, runner: Runner, rule: Rule, prop: ScriptProperty, caps: Capabilities, dev: Deviation
    ) -> Deviation:
        """Hypothesis, narrowed to what the deviating script used, meets the deviation
        again and shrinks it; the shorter of its script and `dev`'s is kept."""
        assert dev.script is not None
        narrowing = Narrowing.of(dev.script)

        @st.composite
        def narrowed(draw: st.DrawFn) -> Script:
            return prop.scripts(HypothesisDraw(draw, narrowing), rule, caps)

        @self._settings(SHRINK_EXAMPLES, (Phase.generate, Phase.shrink))
        @seed(self.seed)
        @given(narrowed())
        def holds(script: Script) -> None:
            self.scripts += 1
            verdict = self._verdict(rule, prop, caps, script, runner.run(script))
            if verdict is None:
                reject()
            if isinstance(verdict, Deviation):
                raise verdict

        try:
            holds()
        except Deviation as found:
            if found.script is not None and len(found.script.ops) <= len(dev.script.ops):
                return found
        except (FlakyFailure, Unsatisfiable):
            # Hypothesis could not pin it down again: the explorer's script, which did
            # deviate when run again, is the one reported.
            pass
        return dev

    def _run_machine(
        self, runner: Runner, rule: Rule, prop: MachineProperty, counter: list[int]
    ) -> None:
        machine = prop.machine(rule, runner)
        made: list[RuleBasedStateMachine] = []

        @seed(self.seed)
        def fresh() -> RuleBasedStateMachine:
            made.append(machine())  # one example: one fresh machine
            return made[-1]

        try:
            # A break run stops at the first failing example: nothing to shrink.
            phases = (Phase.explicit, Phase.generate) if self.breaking else tuple(Phase)
            machine_settings = self._settings(self.machines, phases)
            run_state_machine_as_test(fresh, settings=machine_settings)  # type: ignore[arg-type]
        finally:
            # Counted: the machines that reached a step their rule judges (exercised).
            counter[0] = sum(bool(getattr(m, "exercised", False)) for m in made)
            self.scripts += len(made)  # each machine is one sequence of steps: a script

    def _shortened(
        self, runner: Runner, rule: Rule, prop: ScriptProperty, caps: Capabilities, dev: Deviation
    ) -> Deviation:
        """The property's shorter script, if it shows a deviation too; else `dev`."""
        if dev.shorter is None:
            return dev
        trace = runner.run(dev.shorter)
        try:
            screen(dev.shorter, trace, caps, prop.judges_null)
            prop.check(rule, dev.shorter, trace, caps)
        except Deviation as again:
            again.script, again.trace = dev.shorter, trace
            return again
        except Exception:  # rejected or stopped: the full script stands
            return dev
        return dev

    def _failed(self, runner: Runner, rule: Rule, dev: Deviation, examples: int) -> RuleResult:
        trace = dev.trace
        if trace is None and dev.script is not None:
            trace = runner.run(dev.script)  # the machine's steps, replayed whole
        return RuleResult(
            id=rule.id,
            status="fail",
            examples=examples,
            detail=dev.detail,
            script=dev.script.to_json() if dev.script else None,
            expected=dev.expected,
            observed=dev.observed,
            trace=trace_to_json(trace) if trace else None,
            seed=self.seed,
        )
