"""Reference counting, as a hypothesis state machine run on the model and the library
side by side: SSL_new, SSL_up_ref and SSL_free in any order; after every step the
objects the library really freed (its ex_data free callback) are compared with the
model's, and at the end everything must have been freed exactly once.

Each rule looks at one face of the same comparison:
- ref.new.count-one: without SSL_up_ref, one SSL_free frees a new object, exactly then;
- ref.up-ref.increments: nothing is freed while the model still counts a reference;
- ref.free.decrements: what the model frees, the library frees at the same step;
- ref.free.at-zero: freed exactly at zero, never twice, nothing left at the end.
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, precondition, rule

from backends.reference.model import ModelLibrary
from conformance.interpreter import Interpreter
from conformance.properties.common import Deviation, MachineProperty, Property, Stop
from conformance.rules import Rule
from conformance.script import Observation, Op, Script
from conformance.worker import Runner

EARLY = {"ref.up-ref.increments", "ref.new.count-one", "ref.free.at-zero"}
LATE = {"ref.free.decrements", "ref.new.count-one", "ref.free.at-zero"}


def _machine(checked: Rule, runner: Runner) -> type[RuleBasedStateMachine]:
    with_up_ref = checked.id != "ref.new.count-one"

    class RefCount(RuleBasedStateMachine):
        handles = Bundle("handles")

        def __init__(self) -> None:
            super().__init__()
            self.model = Interpreter(ModelLibrary())
            self.ops: list[Op] = []
            self.counts: dict[int, int] = {}  # object id -> the model's count
            self.failed = False
            self._objects: list[int] = []  # handle variable -> object id (SSL_new order)
            runner.reset()
            self._do(Op("ctx_new", method="tls"))

        def _do(self, op: Op) -> tuple[Observation, Observation]:
            self.ops.append(op)
            expected = self.model.step(op)
            observed = runner.step(op)
            if observed.absent:
                raise Stop(
                    "absent",
                    "the library lacks " + ", ".join(observed.absent),
                    Script(tuple(self.ops)),
                )
            return expected, observed

        def _fail(self, detail: str, expected: object, observed: object) -> None:
            self.failed = True
            deviation = Deviation(detail, expected, observed)
            deviation.script = Script(tuple(self.ops))
            raise deviation

        def _compare(self, expected: Observation, observed: Observation) -> None:
            early = [o for o in observed.freed if o not in expected.freed]
            late = [o for o in expected.freed if o not in observed.freed]
            if checked.id in EARLY and early:
                what = "freed twice" if -1 in early else "freed while still referenced"
                self._fail(
                    f"object(s) {early} {what} at step {len(self.ops) - 1}",
                    expected.freed,
                    observed.freed,
                )
            if checked.id in LATE and late:
                self._fail(
                    f"object(s) {late} not freed at step {len(self.ops) - 1}, when "
                    "the count reached zero",
                    expected.freed,
                    observed.freed,
                )

        @rule(target=handles)
        def new(self) -> int:
            expected, observed = self._do(Op("ssl_new", ctx=0))
            if observed.null or expected.object is None:
                self._fail("SSL_new returned NULL", "an object", "NULL")
            assert expected.object is not None
            self.counts[expected.object] = 1
            self._objects.append(expected.object)
            return len(self._objects) - 1

        @precondition(lambda self: with_up_ref)
        @rule(handle=handles, times=st.integers(1, 3))
        def up_ref(self, handle: int, times: int) -> None:
            object_id = self._objects[handle]
            assume(self.counts.get(object_id, 0) > 0)
            for _ in range(times):
                self._do(Op("ssl_up_ref", ssl=handle))
                self.counts[object_id] += 1

        @rule(handle=handles)
        def free(self, handle: int) -> None:
            object_id = self._objects[handle]
            assume(self.counts.get(object_id, 0) > 0)
            expected, observed = self._do(Op("ssl_free", ssl=handle))
            self.counts[object_id] -= 1
            self._compare(expected, observed)

        def teardown(self) -> None:
            if self.failed:
                return
            # Release every reference the model still counts: then all must be gone.
            for handle, object_id in enumerate(self._objects):
                while self.counts.get(object_id, 0) > 0:
                    self.free(handle)

    return RefCount


def properties() -> dict[str, Property]:
    return {
        rule_id: MachineProperty(_machine)
        for rule_id in (
            "ref.new.count-one",
            "ref.up-ref.increments",
            "ref.free.decrements",
            "ref.free.at-zero",
        )
    }
