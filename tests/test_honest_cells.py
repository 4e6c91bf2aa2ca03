"""A pass is a promise the library could have broken; the engine counts only what it saw.

Over the reference model and libraries made from it that misbehave in one way each: a
break at the library's boundary must make a passing rule fail; examples set aside are
not counted; a NULL is judged only by the rules about it; the error queue a rule reads
holds only what the call queued; SSL_up_ref's 0 leaves the count alone; one seed gives
one outcome.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.breaks import KINDS, BreakingLibrary
from conformance.engine import Engine
from conformance.interpreter import Interpreter
from conformance.model import DEFAULTS, ModelLibrary
from conformance.results import RuleResult
from conformance.rules import RULES, rule
from conformance.script import Op, Script
from conformance.worker import InProcess

TESTABLE = [r for r in RULES if r.testable]


def engine_over(library: Any, profile: str = "quick", run_seed: int = 0) -> Engine:
    return Engine(InProcess("test", library), profile, run_seed)


def run(library: Any, *ops: Op) -> list[dict[str, Any]]:
    return [o.to_json() for o in Interpreter(library).run(Script(ops))]


# --- breaks ---------------------------------------------------------------------------


def test_every_testable_rule_declares_a_break_the_breaks_module_does() -> None:
    for r in TESTABLE:
        assert r.breaks is not None, f"{r.id} declares no break"
        assert r.breaks.kind in KINDS, r.id
        assert r.breaks.says and "\n" not in r.breaks.says


def test_a_pass_names_the_break_under_which_the_same_library_failed() -> None:
    result = engine_over(ModelLibrary()).run(rule("dup.initial.new-object"))
    assert result.status == "pass"
    assert result.able_to_fail == "SSL_dup returns s itself (SSL_up_ref + return s)"


def test_dup_same_handle_returns_s_with_one_more_reference() -> None:
    library = BreakingLibrary(ModelLibrary(), "dup.initial.new-object")
    trace = run(
        library,
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_dup", ssl=0),
        Op("ssl_free", ssl=0),
        Op("ssl_free", ssl=1),
    )
    assert trace[2] == {"object": 1}  # s itself
    assert trace[3] == {}  # the reference SSL_dup took keeps it alive
    assert trace[4] == {"freed": [1]}


def test_dup_reset_sets_the_duplicates_value_back_to_a_fresh_objects() -> None:
    library = BreakingLibrary(ModelLibrary(), "dup.copies.verify-depth")
    trace = run(
        library,
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_set", ssl=0, setting="verify-depth", value=7),
        Op("ssl_dup", ssl=0),
        Op("ssl_get", ssl=0, setting="verify-depth"),
        Op("ssl_get", ssl=1, setting="verify-depth"),
    )
    assert trace[4] == {"value": 7}
    assert trace[5] == {"value": DEFAULTS["verify-depth"]}
    # The fresh object the break read its default from is not the caller's: no event.
    assert all("freed" not in obs for obs in trace)


def test_dup_reset_of_flags_it_cannot_clear_makes_a_duplicate_that_copies_nothing() -> None:
    library = BreakingLibrary(ModelLibrary(), "dup.copies.options")
    trace = run(
        library,
        Op("ctx_new", method="tls"),
        Op("ctx_set", ctx=0, setting="options", value=["no-ticket"]),
        Op("ssl_new", ctx=0),
        Op("ssl_set", ssl=0, setting="options", value=["no-tlsv1"]),
        Op("ssl_dup", ssl=0),
        Op("ssl_get", ssl=1, setting="options"),
        Op("ssl_get_ctx", ssl=1),
    )
    assert trace[5] == {"value": ["no-ticket"]}  # the context's options, none of s's own
    assert trace[6] == {"value": 0}  # made by SSL_new from s's context


def test_dup_reset_of_a_setting_only_a_context_has_uses_a_new_context() -> None:
    library = BreakingLibrary(ModelLibrary(), "dup.copies.serverinfo")
    trace = run(
        library,
        Op("ctx_new", method="tls"),
        Op("ctx_set", ctx=0, setting="serverinfo", value="serverinfo-a"),
        Op("ssl_new", ctx=0),
        Op("ssl_dup", ssl=0),
        Op("ssl_get", ssl=0, setting="serverinfo"),
        Op("ssl_get", ssl=1, setting="serverinfo"),
        Op("ssl_get_ctx", ssl=1),
    )
    assert trace[4] == {"value": "serverinfo-a"}
    assert trace[5] == {}  # None: no serverinfo at all
    assert trace[6] == {"value": -1}  # a context the script never made


def test_per_field_reset_touches_only_its_field() -> None:
    library = BreakingLibrary(ModelLibrary(), "dup.copies.verify-param.hostflags")
    value = {"hostflags": ["no-wildcards"], "time": 1_500_000_000}
    trace = run(
        library,
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_set", ssl=0, setting="verify-param", value=value),
        Op("ssl_dup", ssl=0),
        Op("ssl_get", ssl=1, setting="verify-param"),
    )
    assert trace[4]["value"]["hostflags"] == []
    assert trace[4]["value"]["time"] == 1_500_000_000


def test_a_rule_its_break_cannot_fail_is_not_a_pass() -> None:
    class StickyErrors(ModelLibrary):
        """An error queue that never drains: SSL_new(NULL) always shows an error."""

        def errors(self) -> list[str]:
            return ["an error from long ago"]

    result = engine_over(StickyErrors()).run(rule("ret.new.null-ctx"))
    assert result.status == "not-applicable"
    assert result.able_to_fail is None
    assert "cannot show the rule failing" in (result.detail or "")
    assert "the error queue is drained right after SSL_new(NULL)" in (result.detail or "")


# --- what counts as an example --------------------------------------------------------


class NullNew(ModelLibrary):
    """SSL_new returns NULL for every context."""

    def ssl_new(self, ctx: int | None) -> int | None:
        if ctx is not None:
            self.error_queue.append("SSL_new: out of luck")
        return None if ctx is not None else super().ssl_new(None)


class NullDup(ModelLibrary):
    """SSL_dup returns NULL in every state."""

    def ssl_dup(self, ssl: int) -> int | None:
        self.error_queue.append("SSL_dup: out of luck")
        return None


def test_a_machine_rule_whose_machines_never_reach_the_rule_is_an_error() -> None:
    result = engine_over(NullNew()).run(rule("ref.new.count-one"))
    assert result.status == "error"
    assert result.examples == 0
    assert (result.detail or "").startswith("no example could be observed")


def test_machines_that_never_reach_what_their_rule_judges_are_not_counted() -> None:
    """With an SSL_up_ref that always fails (cleanly), no object ever holds two references:
    ref.free.decrements (the n-th SSL_free of n references) has nothing to judge, however
    many machines ran, while ref.free.at-zero counts every machine."""
    engine = engine_over(UpRefFails(), "default")
    decrements = engine._run(rule("ref.free.decrements"))
    assert (decrements.status, decrements.examples) == ("error", 0)
    assert decrements.detail == (
        "no example could be observed: no example reached a step the rule judges"
    )
    at_zero = engine._run(rule("ref.free.at-zero"))
    assert at_zero.status == "pass" and at_zero.examples > 0


def test_a_null_from_ssl_new_is_set_aside_not_a_false_deviation() -> None:
    engine = engine_over(NullNew())
    up_ref = engine._run(rule("ret.up-ref.one"))
    assert up_ref.status == "error", up_ref.detail  # not "SSL_up_ref returned None"
    assert "SSL_new returned NULL" in (up_ref.detail or "")
    # The rule it concerns: a NULL with its reason queued is the page's "creation failed,
    # check the error stack", so there is nothing left to judge, and it says so.
    pointer = engine._run(rule("ret.new.pointer"))
    assert pointer.status == "error", pointer.detail
    assert "no example could be observed" in (pointer.detail or "")
    # Rules whose scripts go on to SSL_dup the NULL handle: set aside, not a ScriptError.
    for rule_id in ("dup.copies.verify-depth", "dup.initial.independent-settings"):
        result = engine._run(rule(rule_id))
        assert result.status == "error", (rule_id, result.status, result.detail)
        assert "SSL_new returned NULL" in (result.detail or ""), rule_id


def test_a_null_from_ssl_dup_is_set_aside_by_the_rules_it_does_not_concern() -> None:
    engine = engine_over(NullDup())
    for rule_id in (
        "dup.copies.verify-depth",
        "dup.initial.same-ctx",
        "dup.copies.ex-data",
        "dup.initial.new-object",
    ):
        result = engine._run(rule(rule_id))
        assert result.status == "error", (rule_id, result.status, result.detail)
        assert "SSL_dup returned NULL" in (result.detail or ""), rule_id
    # Its NULLs come with their reason queued: the page's "creation failed, check the
    # error stack", so ret.dup.pointer has nothing to judge either, and says so.
    pointer = engine._run(rule("ret.dup.pointer"))
    assert pointer.status == "error", pointer.detail


class MovedNullDup(ModelLibrary):
    """SSL_dup returns NULL, with an error queued, for an s that SSL_set_SSL_CTX moved (as
    OpenSSL 3.0 does for a DANE s moved to a context without DANE)."""

    def ssl_dup(self, ssl: int) -> int | None:
        if self._ssl(ssl).made_from is not None:
            self.error_queue.append("SSL_dup: dane tlsa bad matching type")
            return None
        return super().ssl_dup(ssl)


def test_new_object_judges_the_handle_a_dup_returns_not_a_failed_creation() -> None:
    """The page allows NULL when "the creation of a new SSL structure failed. Check the
    error stack": such a NULL, its reason queued, breaks no promise of new-object (which
    judges the examples that made an object) nor of same-ctx; ret.dup.pointer judges
    SSL_dup of an s left where it was made, where nothing should fail."""
    engine = engine_over(MovedNullDup())
    result = engine._run(rule("dup.initial.new-object"))
    assert result.status == "pass", result.detail
    assert result.examples > 0
    made = engine._run(rule("dup.initial.same-ctx"))
    assert made.status == "pass", made.detail
    pointer = engine._run(rule("ret.dup.pointer"))
    assert pointer.status == "pass", pointer.detail


def test_ops_on_a_handle_a_skipped_call_would_have_made_are_skipped() -> None:
    trace = run(
        NullNew(),
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_dup", ssl=0),
        Op("ssl_get", ssl=1, setting="verify-depth"),
    )
    assert trace[1]["null"] is True
    assert "skipped" in trace[2] and "skipped" in trace[3]  # no ScriptError


# --- the error queue --------------------------------------------------------------------


class QuietNullCtx(ModelLibrary):
    """SSL_new(NULL) queues nothing; SSL_CTX_new leaves an error behind."""

    def ctx_new(self, method: str) -> int | None:
        self.error_queue.append("left over from SSL_CTX_new")
        return super().ctx_new(method)

    def ssl_new(self, ctx: int | None) -> int | None:
        return None if ctx is None else super().ssl_new(ctx)


def test_errors_left_by_an_earlier_step_are_not_the_calls() -> None:
    trace = run(QuietNullCtx(), Op("ctx_new", method="tls"), Op("ssl_new"))
    assert trace[1] == {"null": True}


def test_ret_new_null_ctx_fails_on_a_library_that_queues_nothing() -> None:
    library = QuietNullCtx()
    interpreter = Interpreter(library)
    interpreter.run(Script((Op("ctx_new", method="tls"),)))  # an error left in the queue
    result = engine_over(library).run(rule("ret.new.null-ctx"))
    assert result.status == "fail"
    assert result.detail == "SSL_new(NULL) returned NULL with nothing on the error stack"


# --- SSL_up_ref's return ----------------------------------------------------------------


class UpRefFails(ModelLibrary):
    """SSL_up_ref fails as the page allows: 0, and the count unchanged."""

    def ssl_up_ref(self, ssl: int) -> int:
        self._ssl(ssl)
        return 0


class UpRefFailsButCounts(ModelLibrary):
    """SSL_up_ref says 0 (failure) but adds a reference anyway."""

    def ssl_up_ref(self, ssl: int) -> int:
        super().ssl_up_ref(ssl)
        return 0


def test_an_up_ref_that_fails_cleanly_leaves_the_models_count_alone() -> None:
    result = engine_over(UpRefFails(), "default")._run(rule("ref.free.at-zero"))
    assert (result.status, result.detail) == ("pass", None)


def test_an_up_ref_that_says_failure_but_counts_is_caught() -> None:
    result = engine_over(UpRefFailsButCounts(), "default")._run(rule("ref.free.at-zero"))
    assert result.status == "fail"
    assert "not freed" in (result.detail or "")


# --- the seed -----------------------------------------------------------------------------


def _outcome(result: RuleResult) -> tuple[Any, ...]:
    return (result.status, result.examples, result.detail, result.script)


@pytest.mark.parametrize(
    "rule_id", ["dup.copies.verify-param.time", "ref.up-ref.increments", "ret.dup.alloc-failure"]
)
def test_the_same_seed_gives_the_same_status_and_minimal_script(rule_id: str) -> None:
    outcomes = [
        _outcome(engine_over(ModelLibrary(broken=rule_id), "default", 7).run(rule(rule_id)))
        for _ in range(2)
    ]
    assert outcomes[0][0] == "fail"
    assert outcomes[0] == outcomes[1]


def test_seeds_go_through_hypothesis_public_api_only() -> None:
    from pathlib import Path

    sources = Path(__file__).parent.parent / "conformance"
    for path in sources.rglob("*.py"):
        assert "_hypothesis_internal" not in path.read_text(), path


# --- real columns ---------------------------------------------------------------------------


def _column(name: str) -> list[RuleResult]:
    from conformance.cli import open_runner
    from conformance.library import Unavailable
    from conformance.registry import backend

    try:
        runner = open_runner(backend(name), None)
        runner.hello()
    except Unavailable as exc:
        pytest.skip(f"{name} cannot be had here: {exc}")
    try:
        engine = Engine(runner, "quick")
        return [engine.run(r) for r in TESTABLE]
    finally:
        runner.close()


@pytest.mark.parametrize("name", ["openssl", "boringssl"])
def test_every_pass_of_a_real_column_was_shown_able_to_fail(name: str) -> None:
    results = _column(name)
    passes = [r for r in results if r.status == "pass"]
    assert passes, f"{name}: no rule passed"
    assert [r.id for r in passes if not r.able_to_fail] == []
    assert all(r.able_to_fail is None for r in results if r.status != "pass")


def test_the_same_seed_gives_the_same_minimal_script_on_the_system_openssl() -> None:
    import ctypes.util

    from conformance.worker import Launch, Worker

    if ctypes.util.find_library("ssl") is None:
        pytest.skip("no system libssl")
    outcomes = []
    for _ in range(2):
        worker = Worker("openssl", Launch("backends.openssl.library"))
        try:
            outcomes.append(
                _outcome(Engine(worker, "default", 3).run(rule("dup.copies.verify-param.time")))
            )
        finally:
            worker.close()
    assert outcomes[0][0] == "fail"
    assert outcomes[0] == outcomes[1]


class _Recycling(ModelLibrary):
    """The model with an allocator's habit: the last SSL address freed is the next made."""

    def __init__(self) -> None:
        super().__init__()
        self.free_list: list[int] = []
        self.making_ssl = False

    def _handle(self) -> int:
        if self.making_ssl and self.free_list:
            return self.free_list.pop()
        return super()._handle()

    def ssl_new(self, ctx: int | None) -> int | None:
        self.making_ssl = True
        try:
            return super().ssl_new(ctx)
        finally:
            self.making_ssl = False

    def ssl_dup(self, ssl: int) -> int | None:
        self.making_ssl = True
        try:
            return super().ssl_dup(ssl)
        finally:
            self.making_ssl = False

    def ssl_free(self, ssl: int) -> None:
        super().ssl_free(ssl)
        if ssl not in self.ssls:
            self.free_list.append(ssl)


def test_a_break_keeps_nothing_of_an_object_freed_at_an_address_given_out_again() -> None:
    # dup.initial.independent-lifetime's break frees s with its duplicate, never the
    # duplicate with s. The second script's s is made where the first's duplicate was
    # freed; freeing it must free it alone, as the library's SSL_free does.
    interpreter = Interpreter(BreakingLibrary(_Recycling(), "dup.initial.independent-lifetime"))
    script = Script(
        (
            Op("ctx_new", method="tls"),
            Op("ssl_new", ctx=0),
            Op("ssl_dup", ssl=0),
            Op("ssl_free", ssl=0),
            Op("ssl_free", ssl=1),
        )
    )
    first = interpreter.run(script)
    again = interpreter.run(script)
    assert [obs.freed for obs in first] == [[], [], [], [1], [2]]
    assert [obs.freed for obs in again] == [[], [], [], [1], [2]]
