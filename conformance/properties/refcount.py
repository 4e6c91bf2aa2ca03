"""Reference counting, as a hypothesis state machine run on the model and the library
side by side: SSL_new, SSL_up_ref and SSL_free in any order; after every step the
objects the library really freed (its ex_data free callback) are compared with the
model's, and at the end everything must have been freed exactly once.

Each rule looks at one face of the same comparison:
- ref.new.count-one: without SSL_up_ref, one SSL_free frees a new object, exactly then;
- ref.up-ref.increments: nothing is freed while the model still counts a reference;
- ref.free.decrements: what the model frees, the library frees at the same step;
- ref.free.at-zero: freed exactly at zero, never twice, nothing left at the end.

The model follows the page on SSL_up_ref's return: 1 adds a reference, 0 is a failure
that leaves the count as it was. Any other value sets the example aside (ret.up-ref.one
judges it), and so does a NULL from SSL_new (ret.new.pointer judges that).

A machine counts as an example only when it reached a step its rule judges
(`exercised`): a machine that never freed an object shows nothing of any of them.
"""

from __future__ import annotations

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from conformance.interpreter import Interpreter
from conformance.model import ModelLibrary
from conformance.properties.common import Deviation, MachineProperty, Property, Stop
from conformance.rules import Rule
from conformance.script import Observation, Op, Script
from conformance.worker import Runner

EARLY = {"ref.up-ref.increments", "ref.new.count-one", "ref.free.at-zero"}
LATE = {"ref.free.decrements", "ref.new.count-one", "ref.free.at-zero"}
# Any handle still counted is picked by an index into the live ones: no example is
# rejected for naming an object already gone.
PICK = st.integers(0, 63)


def _machine(checked: Rule, runner: Runner) -> type[RuleBasedStateMachine]:
    with_up_ref = checked.id != "ref.new.count-one"

    class RefCount(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.model = Interpreter(ModelLibrary())
            self.ops: list[Op] = []
            self.counts: dict[int, int] = {}  # object id -> the model's count
            self.most: dict[int, int] = {}  # object id -> the highest count it had
            self.failed = False
            self.exercised = False  # reached a step the checked rule judges
            self._objects: list[int] = []  # handle variable -> object id (SSL_new order)
            runner.reset()
            self._do(Op("ctx_new", method="tls"))

        def _do(self, op: Op) -> tuple[Observation, Observation]:
            self.ops.append(op)
            observed = runner.step(op)
            if observed.absent:
                raise Stop(
                    "absent",
                    "the library lacks " + ", ".join(observed.absent),
                    Script(tuple(self.ops)),
                )
            if op.op == "ssl_up_ref" and observed.value != 1:
                if observed.value != 0:
                    self._set_aside()  # neither success nor failure: ret.up-ref.one's
                # A failed SSL_up_ref leaves the count as it was: the model does nothing.
                return Observation(), observed
            return self.model.step(op), observed

        def _set_aside(self) -> None:
            """Reject this example; teardown (which hypothesis runs even then) checks nothing."""
            self.failed = True
            reject()

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

        def _judged(self, before: int, most: int) -> bool:
            """Does an SSL_free from count `before` (of an object that had at most `most`
            references) reach what the checked rule speaks of?"""
            if checked.id == "ref.up-ref.increments":
                return before >= 2  # the library must not free it yet
            if checked.id == "ref.free.decrements":
                return before == 1 and most >= 2  # the n-th SSL_free of n references
            return before == 1  # freed at zero (count-one: a count of one, never raised)

        def _live(self) -> list[int]:
            return [h for h, o in enumerate(self._objects) if self.counts.get(o, 0) > 0]

        @initialize()
        def first(self) -> None:
            """Every machine starts where its rule has something to judge: an object (with
            one more reference, for the rules about SSL_up_ref), freed at the latest by
            teardown. The steps that follow are random."""
            self.new()
            if with_up_ref:
                self.up_ref(0, 1)

        @rule()
        def new(self) -> None:
            expected, observed = self._do(Op("ssl_new", ctx=0))
            if observed.null or expected.object is None:
                self._set_aside()  # ret.new.pointer judges a NULL from SSL_new, not this rule
            assert expected.object is not None
            self.counts[expected.object] = self.most[expected.object] = 1
            self._objects.append(expected.object)

        @precondition(lambda self: with_up_ref and bool(self._live()))
        @rule(pick=PICK, times=st.integers(1, 3))
        def up_ref(self, pick: int, times: int) -> None:
            live = self._live()
            handle = live[pick % len(live)]
            object_id = self._objects[handle]
            for _ in range(times):
                _, observed = self._do(Op("ssl_up_ref", ssl=handle))
                if observed.value == 1:
                    self.counts[object_id] += 1
                    self.most[object_id] = max(self.most[object_id], self.counts[object_id])

        @precondition(lambda self: bool(self._live()))
        @rule(pick=PICK)
        def free(self, pick: int) -> None:
            live = self._live()
            self._free(live[pick % len(live)])

        def _free(self, handle: int) -> None:
            object_id = self._objects[handle]
            before = self.counts[object_id]
            expected, observed = self._do(Op("ssl_free", ssl=handle))
            self.counts[object_id] -= 1
            self._compare(expected, observed)
            self.exercised = self.exercised or self._judged(before, self.most[object_id])

        def teardown(self) -> None:
            if self.failed:  # a deviation already raised, or the example set aside
                return
            # Release every reference the model still counts: then all must be gone.
            for handle, object_id in enumerate(self._objects):
                while self.counts.get(object_id, 0) > 0:
                    self._free(handle)

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
