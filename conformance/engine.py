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

Examples count only when observed and checked: those set aside (a value the library
could not show, a NULL the rule does not judge, a state machine that never reached a
step its rule judges) are not counted. The run's seed goes through hypothesis's public
`seed` decorator, on the test function and on the state machine's factory alike.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import FlakyFailure, Unsatisfiable
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from conformance.breaks import ADAPTER as BREAKS_ADAPTER
from conformance.breaks import BreakingLibrary
from conformance.library import Unavailable
from conformance.properties import PROPERTIES
from conformance.properties.common import (
    Capabilities,
    Deviation,
    MachineProperty,
    ScriptProperty,
    Stop,
    screen,
)
from conformance.results import RuleResult
from conformance.rules import Rule
from conformance.script import Script, trace_to_json
from conformance.settings import SETTINGS
from conformance.worker import InProcess, Launch, Runner, Worker, WorkerCrashed, WorkerTimedOut

PROFILES = {"quick": 20, "default": 50, "thorough": 500}
# A state machine example is a whole sequence of up to STEPS operations: fewer of them
# explore as much as a script property's examples do.
MACHINE_SHARE = 2
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


class Engine:
    def __init__(
        self,
        runner: Runner,
        profile: str = "default",
        run_seed: int = 0,
        *,
        breaking: bool = False,
    ) -> None:
        self.runner = runner
        self.profile = profile
        self.max_examples = PROFILES[profile]
        self.seed = run_seed
        # A break run (see able_to_fail): it only has to find one failing example.
        self.breaking = breaking
        self.version = LibraryVersion(str(runner.hello()["version"]))
        self._caps: Capabilities | None = None

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
        result = self._run(rule)
        if result.status == "pass" and not self.breaking:
            result = self.able_to_fail(rule, result)
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
        broken = broken_runner(self.runner, rule.id)
        if broken is None:
            return RuleResult(
                id=rule.id,
                status="error",
                examples=passed.examples,
                detail=f"this runner cannot load a break ({type(self.runner).__name__})",
            )
        try:
            under = Engine(broken, self.profile, self.seed, breaking=True)._run(rule)
        except Unavailable as gone:
            under = RuleResult(id=rule.id, status="error", detail=f"worker unavailable: {gone}")
        finally:
            broken.close()
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

    def _run(self, rule: Rule) -> RuleResult:
        if rule.since and self.version.before(rule.since):
            return RuleResult(
                id=rule.id,
                status="not-applicable",
                detail=f"the page promises this only from OpenSSL {rule.since}",
            )
        prop = PROPERTIES.get(rule.id)
        if prop is None:
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
        caps = self.capabilities()
        caps.unobservable.clear()
        counter = [0]
        try:
            if isinstance(prop, ScriptProperty):
                self._run_scripts(runner, rule, prop, caps, counter)
            else:
                self._run_machine(runner, rule, prop, counter)
        except Deviation as dev:
            if isinstance(prop, ScriptProperty):
                dev = self._shortened(runner, rule, prop, caps, dev)
            return self._failed(runner, rule, dev, counter[0])
        except FlakyFailure as flaky:
            deviations = [e for e in flaky.exceptions if isinstance(e, Deviation)]
            if deviations:
                result = self._failed(runner, rule, deviations[0], counter[0])
                result.detail = f"{result.detail} (did not recur on every run: flaky)"
                return result
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

    def _settings(self, share: int = 1) -> settings:
        # A break run stops at the first failing example: it shows the rule can fail,
        # there is nothing to shrink.
        phases = (Phase.explicit, Phase.generate) if self.breaking else tuple(Phase)
        return settings(
            phases=phases,
            max_examples=max(1, self.max_examples // share),
            deadline=None,
            database=None,
            derandomize=False,
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
            stateful_step_count=STEPS,  # reference-count bugs show within a few steps
        )

    def _run_scripts(
        self,
        runner: Runner,
        rule: Rule,
        prop: ScriptProperty,
        caps: Capabilities,
        counter: list[int],
    ) -> None:

        @self._settings()
        @seed(self.seed)
        @given(prop.scripts(rule, caps))
        def holds(script: Script) -> None:
            trace = runner.run(script)
            screen(script, trace, caps, prop.judges_null)  # sets aside what it cannot show
            try:
                prop.check(rule, script, trace, caps)
                counter[0] += 1  # counted: observed and checked, not set aside
            except Deviation as dev:
                counter[0] += 1
                dev.script, dev.trace = script, trace
                raise

        holds()

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
            run_state_machine_as_test(fresh, settings=self._settings(MACHINE_SHARE))  # type: ignore[arg-type]
        finally:
            # Counted: the machines that reached a step their rule judges (exercised).
            counter[0] = sum(bool(getattr(m, "exercised", False)) for m in made)

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


def broken_runner(runner: Runner, rule_id: str) -> Runner | None:
    """A runner over the same library with the rule's break at its boundary: in the
    worker for native code (conformance.breaks wraps the adapter there), in process for
    the model. None for a runner of another kind."""
    if isinstance(runner, Worker):
        launch = runner.launch
        options = {**launch.options, "break": rule_id, "break-adapter": launch.adapter}
        return Worker(
            runner.name,
            Launch(
                BREAKS_ADAPTER,
                launch.lib_dir,
                options,
                list(launch.prefix),
                dict(launch.env),
                launch.timeout,
            ),
        )
    if isinstance(runner, InProcess):
        return InProcess(runner.name, BreakingLibrary(runner.library, rule_id))
    return None
