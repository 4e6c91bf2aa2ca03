"""A duplicate is a separate object; reference counts stay exact under threads; SSL_new
and SSL_dup fail cleanly when an allocation fails. On the model, its mutants, the
system's OpenSSL and a native library with a racy reference count."""

from __future__ import annotations

import ctypes.util
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conformance.engine import Engine
from conformance.interpreter import Interpreter, ScriptError
from conformance.model import ModelLibrary
from conformance.rules import rule
from conformance.script import Op, Script
from conformance.worker import InProcess, Launch, Worker

NEW_RULES = (
    "dup.initial.independent-settings",
    "dup.initial.independent-lifetime",
    "ref.threads.exact",
    "ret.new.alloc-failure",
    "ret.dup.alloc-failure",
)
OPENSSL = "backends.openssl.library"
HAS_OPENSSL = ctypes.util.find_library("ssl") is not None


def model_run(*ops: Op, broken: str | None = None) -> list[dict[str, Any]]:
    return [o.to_json() for o in Interpreter(ModelLibrary(broken)).run(Script(ops))]


@pytest.mark.parametrize("rule_id", NEW_RULES)
def test_the_model_passes_and_its_mutant_fails(rule_id: str) -> None:
    passed = Engine(InProcess("model", ModelLibrary()), "quick").run(rule(rule_id))
    brk = rule(rule_id).breaks
    assert brk is not None
    assert (passed.status, passed.able_to_fail) == ("pass", brk.says)
    mutant = Engine(InProcess("mutant", ModelLibrary(broken=rule_id)), "default")
    assert mutant.run(rule(rule_id)).status == "fail"


def test_threads_op_keeps_the_references_it_had() -> None:
    trace = model_run(
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_threads", ssl=0, value={"threads": 4, "per_thread": 50}),
        Op("ssl_free", ssl=0),
    )
    assert trace[2] == {"value": 200}
    assert trace[3] == {"freed": [1]}


def test_threads_op_needs_a_thread_count() -> None:
    script = Script((Op("ctx_new"), Op("ssl_new", ctx=0), Op("ssl_threads", ssl=0, value=3)))
    with pytest.raises(ScriptError):
        Interpreter(ModelLibrary()).run(script)


def test_failing_ops_report_null_errors_and_leaks_without_binding_a_handle() -> None:
    trace = model_run(
        Op("ctx_new", method="tls"),
        Op("ssl_new_failing", ctx=0, value=1),
        Op("ssl_new_failing", ctx=0, value=1000),
        Op("ssl_new", ctx=0),
        Op("ssl_dup_failing", ssl=0, value=2),
        Op("ssl_free", ssl=0),
    )
    assert trace[1]["null"] and trace[1]["errors"]
    assert trace[1]["value"] == {"allocations": 1, "injected": True, "leaked": 0, "leaked_at": []}
    assert "null" not in trace[2] and trace[2]["value"]["injected"] is False
    assert trace[3] == {"object": 1}  # the failing ops bound no SSL variable
    assert trace[4]["null"] and trace[4]["value"]["leaked"] == 0
    assert trace[5] == {"freed": [1]}


def test_a_variant_worker_has_the_merged_options_and_closes_with_its_parent() -> None:
    worker = Worker("w", Launch(OPENSSL, options={"a": "1"}))
    variant = worker.variant({"alloc_hooks": "1"})
    assert isinstance(variant, Worker) and variant is not worker
    assert variant.launch.options == {"a": "1", "alloc_hooks": "1"}
    assert worker.variant({"alloc_hooks": "1"}) is variant
    assert worker.variant({"a": "1"}) is worker
    worker.close()


@pytest.mark.skipif(not HAS_OPENSSL, reason="no system libssl")
def test_openssl_without_hooks_says_why_alloc_failures_are_absent(worker_for: Any) -> None:
    worker = worker_for(OPENSSL)
    reason = worker.missing(["alloc_failures"])["alloc_failures"]
    assert reason and "alloc_hooks=1" in reason[0]
    trace = worker.run(Script((Op("ctx_new"), Op("ssl_new_failing", ctx=0, value=1))))
    assert trace[1].absent


@pytest.mark.skipif(not HAS_OPENSSL, reason="no system libssl")
def test_openssl_fails_an_allocation_inside_ssl_new_and_ssl_dup(worker_for: Any) -> None:
    worker = worker_for(OPENSSL, alloc_hooks="1")
    assert worker.missing(["alloc_failures"]) == {"alloc_failures": []}
    trace = worker.run(
        Script(
            (
                Op("ctx_new", method="tls"),
                Op("ssl_new_failing", ctx=0, value=1),
                Op("ssl_new_failing", ctx=0, value=100000),
                Op("ssl_new", ctx=0),
                Op("ssl_dup_failing", ssl=0, value=1),
                Op("ssl_free", ssl=0),
            )
        )
    )
    failed, passed, dup_failed = trace[1], trace[2], trace[4]
    assert failed.null and failed.errors and failed.value["injected"]
    assert failed.value["leaked"] == 0
    assert not passed.null and not passed.value["injected"] and passed.value["leaked"] == 0
    assert passed.value["allocations"] > 0
    assert dup_failed.null and dup_failed.errors and dup_failed.freed == []
    assert trace[5].freed == [trace[3].object]


@pytest.mark.skipif(not HAS_OPENSSL, reason="no system libssl")
def test_openssl_threads_keep_the_count(worker_for: Any) -> None:
    worker = worker_for(OPENSSL)
    trace = worker.run(
        Script(
            (
                Op("ctx_new", method="tls"),
                Op("ssl_new", ctx=0),
                Op("ssl_threads", ssl=0, value={"threads": 8, "per_thread": 500}),
                Op("ssl_free", ssl=0),
            )
        )
    )
    assert trace[2].value == 4000 and trace[2].freed == []
    assert trace[3].freed == [trace[1].object]


DEVIATING_ON_3 = ("ret.dup.alloc-failure", "dup.initial.independent-settings")


@pytest.mark.skipif(not HAS_OPENSSL, reason="no system libssl")
@pytest.mark.parametrize(
    "rule_id",
    # Both deviate on OpenSSL 3.0: see the tests of each below.
    [r for r in NEW_RULES if r not in DEVIATING_ON_3],
)
def test_the_system_openssl_passes(rule_id: str) -> None:
    worker = Worker("openssl", Launch(OPENSSL))
    try:
        result = Engine(worker, "quick").run(rule(rule_id))
    finally:
        worker.close()
    assert (result.status, result.detail) == ("pass", None)
    brk = rule(rule_id).breaks
    assert brk is not None and result.able_to_fail == brk.says


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_a_racy_native_reference_count_is_caught(tmp_path: Path) -> None:
    source = Path(__file__).parent / "native" / "racy_refcount.c"
    library = tmp_path / "libcrypto.so.3"
    subprocess.run(["cc", "-O1", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    empty = tmp_path / "empty.c"
    empty.write_text("int racy_refcount_libssl;\n")
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-o", str(tmp_path / "libssl.so.3"), str(empty)], check=True
    )
    worker = Worker("racy", Launch(OPENSSL, lib_dir=str(tmp_path), timeout=30.0))
    try:
        engine = Engine(worker, "default")
        single = engine.run(rule("ref.free.decrements"))  # one thread: the count is right
        threaded = engine.run(rule("ref.threads.exact"))
    finally:
        worker.close()
    assert single.status == "pass", single.detail
    # A race shows on some runs of a script only: when the deviating script held on its
    # second run, the verdict is flaky (issue 10), with both observations.
    assert threaded.status in ("fail", "flaky"), threaded.detail
    assert re.search(r"the (threads|count) lost", threaded.detail or ""), threaded.detail
    if threaded.status == "flaky":
        assert threaded.trace and threaded.rerun_trace


def test_openssl_111_returns_null_without_an_error_when_a_dup_allocation_fails() -> None:
    """Found by ret.dup.alloc-failure: OpenSSL 1.1.1w's SSL_dup of an object with a CA list
    set returns NULL and queues nothing when sk_X509_NAME_new_null's allocation fails."""
    from conformance.cli import open_runner
    from conformance.library import Unavailable
    from conformance.registry import backend

    try:
        runner = open_runner(backend("openssl111"), None)
        runner.hello()
    except Unavailable as exc:
        pytest.skip(f"OpenSSL 1.1.1 cannot be had here: {exc}")
    try:
        engine = Engine(runner, "default")
        results = {r: engine.run(rule(r)) for r in NEW_RULES}
    finally:
        runner.close()
    statuses = {r: res.status for r, res in results.items()}
    assert statuses["dup.initial.independent-lifetime"] == "pass"
    assert statuses["ref.threads.exact"] == "pass"
    assert statuses["ret.new.alloc-failure"] == "pass"
    found = results["ret.dup.alloc-failure"]
    assert found.status == "fail"
    assert "with nothing on the error stack" in (found.detail or "")
    assert found.script is not None
    assert [op["op"] for op in found.script["ops"]].count("ssl_dup_failing") == 1


def test_openssl_111_dup_of_an_object_with_a_session_shares_its_certificate() -> None:
    """dup.initial.independent-settings on OpenSSL 1.1.1w: with a session set on s, SSL_dup
    shares s's certificate structure (SSL_copy_session_id) instead of copying it, so a
    certificate set on the duplicate shows on s. Whether a run's hypothesis examples reach
    a session depends on its seed; this script reaches it."""
    from conformance.cli import open_runner
    from conformance.library import Unavailable
    from conformance.properties import PROPERTIES
    from conformance.properties.common import Capabilities, Deviation, ScriptProperty
    from conformance.registry import backend

    try:
        runner = open_runner(backend("openssl111"), None)
        runner.hello()
    except Unavailable as exc:
        pytest.skip(f"OpenSSL 1.1.1 cannot be had here: {exc}")
    script = Script(
        (
            Op("ctx_new", method="tls"),
            Op("ssl_new", ctx=0),
            Op("ssl_set", ssl=0, setting="session", value="session-a"),
            Op("ssl_dup", ssl=0),
            Op("ssl_get", ssl=0, setting="certificate"),
            Op("ssl_set", ssl=1, setting="certificate", value="ec-p256"),
            Op("ssl_get", ssl=0, setting="certificate"),
        )
    )
    try:
        trace = runner.run(script)
    finally:
        runner.close()
    checked = rule("dup.initial.independent-settings")
    prop = PROPERTIES[checked.id]
    assert isinstance(prop, ScriptProperty)
    with pytest.raises(Deviation) as found:
        prop.check(checked, script, trace, Capabilities())
    assert (found.value.expected, found.value.observed) == (None, "ec-p256")


@pytest.mark.skipif(not HAS_OPENSSL, reason="no system libssl")
def test_openssl_3_dup_with_client_sigalgs_fails_silently(tmp_path: Path) -> None:
    """Found by ret.dup.alloc-failure on OpenSSL 3.0.19: with client sigalgs set on s, an
    allocation failure in SSL_dup (ssl_cert_dup copying them) gives NULL and no error."""
    from conformance import fixtures

    env = {fixtures.ENV: str(fixtures.ensure(tmp_path / "fixtures"))}
    worker = Worker("openssl", Launch(OPENSSL, options={"alloc_hooks": "1"}, env=env))
    try:
        _client_sigalgs_sweep(worker)
    finally:
        worker.close()


def _client_sigalgs_sweep(worker: Worker) -> None:
    sigalgs = Op("ssl_set", ssl=0, setting="client-sigalgs", value=["RSA+SHA256"])
    ops = [Op("ctx_new", method="tls"), Op("ssl_new", ctx=0), sigalgs]
    ops += [Op("ssl_dup_failing", ssl=0, value=n) for n in range(1, 41)]
    trace = worker.run(Script(tuple(ops)))
    if trace[2].absent or trace[2].unobservable:
        pytest.skip("this adapter cannot set client sigalgs here")
    ran = [o for o in trace[3:] if not o.skipped]
    silent = [o.value["allocations"] for o in ran if o.null and not o.errors]
    assert silent, "every failed SSL_dup queued an error"
    assert all(o.value["leaked"] == 0 for o in ran)
    # Points past the call's last allocation are not run (the sweep stops there).
    assert all("past the call's end" in (o.skipped or "") for o in trace[3 + len(ran) :])


@pytest.mark.skipif(not HAS_OPENSSL, reason="no system libssl")
def test_openssl_3_dup_with_a_session_shares_the_security_level(worker_for: Any) -> None:
    """Found by dup.initial.independent-settings' fixed cases on OpenSSL 3.0.19: with a
    session set on s, SSL_dup shares s's certificate structure (SSL_copy_session_id), which
    holds the security level, so setting it on s changes the duplicate's too."""
    from conformance import fixtures
    from conformance.properties import PROPERTIES
    from conformance.properties.common import Capabilities, Deviation, ScriptProperty

    env = {fixtures.ENV: str(fixtures.ensure())}
    worker = Worker("openssl", Launch(OPENSSL, env=env))
    script = Script(
        (
            Op("ctx_new", method="tls"),
            Op("ssl_new", ctx=0),
            Op("ssl_set", ssl=0, setting="session", value="session-a"),
            Op("ssl_dup", ssl=0),
            Op("ssl_get", ssl=1, setting="security-level"),
            Op("ssl_set", ssl=0, setting="security-level", value=0),
            Op("ssl_get", ssl=1, setting="security-level"),
        )
    )
    try:
        trace = worker.run(script)
    finally:
        worker.close()
    checked = rule("dup.initial.independent-settings")
    prop = PROPERTIES[checked.id]
    assert isinstance(prop, ScriptProperty)
    with pytest.raises(Deviation) as found:
        prop.check(checked, script, trace, Capabilities())
    assert found.value.observed == 0 and found.value.expected != 0
