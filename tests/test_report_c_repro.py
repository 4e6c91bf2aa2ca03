"""C reproducers: generated from scripts, built against the system OpenSSL, and checked
against what the harness itself observes for the same script."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import sample_rules, system_openssl, write_samples

from conformance.library import Json
from conformance.report import c_repro, load, model
from conformance.results import LibraryInfo, Results, RuleResult
from conformance.script import Script, trace_to_json
from conformance.settings import SETTINGS, Domain, Fields, IntRange, OneOf, SubsetOf

HAVE_C = shutil.which("cc") is not None and Path("/usr/include/openssl/ssl.h").exists()
needs_c = pytest.mark.skipif(
    not HAVE_C, reason="no C compiler or no OpenSSL headers (apt-get install gcc libssl-dev)"
)


def _column(
    rules: list[RuleResult],
    name: str = "OpenSSL",
    version: str | None = None,
    path: str | None = None,
) -> tuple[model.Matrix, model.Column]:
    results = Results(
        "sys",
        LibraryInfo(name, version or system_openssl(), "3.0.0", path),
        "complete",
        rules=rules,
    )
    loaded = [load.Loaded(Path("sys.json"), results)]
    matrix = model.build(loaded, [model.RuleInfo(r.id, model.group_of(r.id)) for r in rules])
    return matrix, matrix.columns[0]


@needs_c
def test_sample_deviations(tmp_path: Path) -> None:
    outcome = load.load(write_samples(tmp_path / "in"))
    matrix = model.build(outcome.loaded, sample_rules())
    repros = c_repro.reproduce_all(matrix, tmp_path / "out")
    real = repros[("dup.copies.verify-param", "openssl30")]
    assert real.state == "yes", real.output
    assert "REPRODUCED" in real.output and "auth-level" in real.output
    claimed = repros[("dup.copies.verify-depth", "openssl30")]
    assert claimed.state == "no"
    assert 'DIFFERS: the deviating run observed {"value":-1}' in claimed.output
    # No headers for these: said so, never built.
    assert repros[("new.inherits.options", "boringssl")].state == "not-built"
    assert repros[("ret.new.null-ctx", "openssl111")].state == "not-built"
    assert ("dup.copies.verify-mode", "openssl30") not in repros  # a pass: nothing to do
    source = (tmp_path / "out" / "repro" / "openssl30" / "dup.copies.verify-param.c").read_text()
    assert "rule dup.copies.verify-param" in source
    assert "CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL" in source


def _value(domain: Domain | None, pick: int) -> Json:
    if isinstance(domain, OneOf):
        values = [v for v in domain.values if v is not None]
        return values[pick % len(values)]
    if isinstance(domain, SubsetOf):
        return list(domain.names[pick % 2 : pick % 2 + max(domain.min_size, 2)])
    if isinstance(domain, IntRange):
        return domain.lo + 3 + pick
    if isinstance(domain, Fields):
        return {name: _value(d, pick) for name, d in domain.fields}
    raise AssertionError(domain)


def _script(setting: str) -> Script:
    s = next(x for x in SETTINGS if x.name == setting)
    ops: list[dict[str, Json]] = [{"op": "ctx_new", "method": "tls"}]
    if s.on_ctx and s.domain is not None:
        ops.append({"op": "ctx_set", "ctx": 0, "setting": setting, "value": _value(s.domain, 0)})
    ops.append({"op": "ssl_new", "ctx": 0})
    if s.on_ssl and s.domain is not None:
        ops.append({"op": "ssl_set", "ssl": 0, "setting": setting, "value": _value(s.domain, 1)})
    if s.on_ctx and s.observed_by == "getter":
        ops.append({"op": "ctx_get", "ctx": 0, "setting": setting})
    ops += [
        {"op": "ssl_dup", "ssl": 0},
        {"op": "ssl_up_ref", "ssl": 0},
        {"op": "ssl_get_ctx", "ssl": 1},
        {"op": "ssl_free", "ssl": 0},
        {"op": "ssl_get", "ssl": 1, "setting": setting},
        {"op": "ssl_get", "ssl": 0, "setting": setting},
        {"op": "ssl_free", "ssl": 0},
        {"op": "ssl_free", "ssl": 1},
    ]
    return Script.from_json({"ops": ops})


@needs_c
def test_c_observes_what_the_harness_observes(tmp_path: Path) -> None:
    """For each setting, the C program must see exactly the trace the harness's own
    OpenSSL adapter records for the same script: same ids, values, freed objects."""
    worker = pytest.importorskip("conformance.worker")
    runner = worker.Worker("sys", worker.Launch("backends.openssl.library", None))
    try:
        version = str(runner.hello()["version"])
        results = []
        for s in SETTINGS:
            script = _script(s.name)
            try:
                trace = trace_to_json(runner.run(script))
            except RuntimeError:
                continue  # the harness's adapter does not handle this setting yet
            results.append(RuleResult(f"x.{s.name}", "fail", script=script.to_json(), trace=trace))
    finally:
        runner.close()
    matrix, _ = _column(results, version=version)
    repros = c_repro.reproduce_all(matrix, tmp_path)
    verdicts = {rule.removeprefix("x."): r for (rule, _), r in repros.items()}
    unsupported = {n for n, r in verdicts.items() if r.source is None}
    assert all("no C" in verdicts[n].reason for n in unsupported)
    supported = set(verdicts) - unsupported
    assert {"options", "verify-param", "msg-callback", "ca-list", "cipher-list"} <= supported
    wrong = {n: verdicts[n].output for n in supported if verdicts[n].state != "yes"}
    assert not wrong, wrong


@needs_c
def test_absent_probe(tmp_path: Path) -> None:
    rules = [
        RuleResult(
            "ref.gone",
            "absent",
            detail="the library lacks SSL_no_such_function",
            trace=[{"object": 0}, {"absent": ["SSL_no_such_function"]}],
        ),
        RuleResult("ref.here", "absent", detail="the library lacks SSL_up_ref"),
    ]
    libssl = next(Path("/usr/lib/x86_64-linux-gnu").glob("libssl.so.3"), None)
    if libssl is None:
        pytest.skip("no system libssl.so.3")
    matrix, _ = _column(rules, path=str(libssl))
    repros = c_repro.reproduce_all(matrix, tmp_path)
    assert repros[("ref.gone", "sys")].state == "yes"
    here = repros[("ref.here", "sys")]
    assert here.state == "no" and "SSL_up_ref: present" in here.output


@needs_c
def test_crash_that_does_not_crash(tmp_path: Path) -> None:
    rules = [RuleResult("ret.x", "crash", script={"ops": [{"op": "ssl_new"}]})]
    matrix, _ = _column(rules)
    [repro] = c_repro.reproduce_all(matrix, tmp_path).values()
    assert repro.state == "no" and "finished" in repro.reason


def test_targets_say_why_not(tmp_path: Path) -> None:
    _, col = _column([], name="BoringSSL", version="BoringSSL")
    assert "no BoringSSL headers" in str(c_repro.resolve_target(col, {}))
    _, col = _column([], version="OpenSSL 1.1.1w  11 Sep 2023")
    reason = c_repro.resolve_target(col, {})
    assert isinstance(reason, str) and "1.1.1w" in reason
    # The files the run mapped, as `sslconform run` records them: the system's.
    mapped = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3, /usr/lib/x86_64-linux-gnu/libssl.so.3"
    _, col = _column([], path=mapped)
    target = c_repro.resolve_target(col, {})
    assert isinstance(target, c_repro.Target) and target.lib_dir is None
    _, col = _column([], path=str(tmp_path / "nowhere"))
    assert "not on this machine" in str(c_repro.resolve_target(col, {}))
    # Headers beside a library folder (a dpkg -x of libssl-dev) are found.
    lib = tmp_path / "root" / "usr" / "lib" / "x86_64-linux-gnu"
    lib.mkdir(parents=True)
    (lib / "libssl.so.3").touch()
    (lib / "libcrypto.so.3").touch()
    inc = tmp_path / "root" / "usr" / "include" / "openssl"
    inc.mkdir(parents=True)
    (inc / "ssl.h").touch()
    (inc / "opensslv.h").write_text('# define OPENSSL_FULL_VERSION_STR "3.5.7"\n')
    _, col = _column([], version="OpenSSL 3.5.7 1 Jul 2026", path=str(lib))
    target = c_repro.resolve_target(col, {"sys": {"loader": "/g/ld-linux-x86-64.so.2"}})
    assert isinstance(target, c_repro.Target)
    assert target.ssl_lib == ":libssl.so.3" and target.include_dirs[0].endswith("usr/include")
    assert target.run_args("p")[:2] == ["/g/ld-linux-x86-64.so.2", "--library-path"]
    assert "-Wl,--allow-shlib-undefined" in target.build_args("p.c", "p")
    # A newer glibc's loader beside the library is used without being told.
    (lib / "ld-linux-x86-64.so.2").touch()
    target = c_repro.resolve_target(col, {})
    assert isinstance(target, c_repro.Target)
    assert target.loader == str(lib / "ld-linux-x86-64.so.2")


def test_comments_cannot_be_closed_by_data() -> None:
    rule = model.RuleInfo("r.x", "SSL_new", (("3.0.0", "evil */ int x; /*"),))
    result = RuleResult(
        "r.x",
        "fail",
        detail="*/ #include <evil>",
        script={"ops": [{"op": "ctx_new", "method": "tls"}]},
        trace=[{"object": 0}],
    )
    _, col = _column([result])
    source = c_repro.generate(rule, col, result)
    header = source.split("*/", 1)[0]
    assert "evil * /" in header and "* / #include" in header


@needs_c
def test_hostile_values_stay_data(tmp_path: Path) -> None:
    """Strings from a results file become C string literals, never C code."""
    evil = '"); abort(); ("??/ \\ \t end'
    script: dict[str, Json] = {
        "ops": [
            {"op": "ctx_new", "method": "tls"},
            {"op": "ssl_new", "ctx": 0},
            {"op": "ssl_set", "ssl": 0, "setting": "ca-list", "value": [evil]},
            {"op": "ssl_get", "ssl": 0, "setting": "ca-list"},
        ]
    }
    trace: list[dict[str, Json]] = [{"object": 0}, {"object": 1}, {}, {"value": [evil]}]
    matrix, _ = _column([RuleResult("dup.copies.ca-list", "fail", script=script, trace=trace)])
    [repro] = c_repro.reproduce_all(matrix, tmp_path).values()
    assert repro.state == "yes", repro.output
    assert c_repro.c_string("a??/b") == '"a\\?\\?/b"'
