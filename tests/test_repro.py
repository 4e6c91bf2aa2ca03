"""C reproducers (conformance.repro): generated from a cell, built and run against the
library, exit 1 when the promise is broken and 0 when it is kept."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import conformance.repro.generate as generate_module
from conformance import binding
from conformance.library import Json
from conformance.repro import reproduce
from conformance.repro.build import Target, build_and_run, target_for
from conformance.repro.family import family_for
from conformance.repro.generate import CannotGenerate, Program, generate
from conformance.repro.spell import Spelling
from conformance.results import LibraryInfo, RuleResult
from conformance.rules import Rule, rule
from conformance.settings import IntRange, Setting

SYSTEM_LIBS = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3, /usr/lib/x86_64-linux-gnu/libssl.so.3"
GNUTLS_LIBS = (
    "/usr/lib/x86_64-linux-gnu/libgnutls-openssl.so.27.0.2, "
    "/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3"
)


def _system_openssl() -> LibraryInfo:
    """The system OpenSSL as a run records it (its version from its own headers)."""
    text = Path("/usr/include/openssl/opensslv.h").read_text()
    version = text.split('OPENSSL_VERSION_TEXT "', 1)[1].split('"', 1)[0]
    return LibraryInfo("OpenSSL", version, "3.0.0", SYSTEM_LIBS)


needs_openssl = pytest.mark.skipif(
    shutil.which("cc") is None or not Path("/usr/include/openssl/ssl.h").is_file(),
    reason="needs cc and the system OpenSSL's headers (libssl-dev)",
)

# Minimal scripts the harness found on OpenSSL 3.0.19 (baseline results of the
# openssl column, seed 0).
VERIFY_PARAM_SCRIPT: dict[str, Json] = {
    "ops": [
        {"op": "ctx_new", "method": "tls"},
        {
            "op": "ctx_set",
            "ctx": 0,
            "setting": "verify-param",
            "value": {"flags": ["crl-check"], "time": 1000000001},
        },
        {"op": "ssl_new", "ctx": 0},
        {"op": "ssl_set", "ssl": 0, "setting": "verify-param", "value": {"time": 1000000000}},
        {"op": "ssl_dup", "ssl": 0},
        {"op": "ssl_get", "ssl": 0, "setting": "verify-param"},
        {"op": "ssl_get", "ssl": 1, "setting": "verify-param"},
    ]
}
DUP_ALLOC_SCRIPT: dict[str, Json] = {
    "ops": [
        {"op": "ctx_new", "method": "tls"},
        {"op": "ctx_set", "ctx": 0, "setting": "alpn", "value": ["h2"]},
        {"op": "ctx_set", "ctx": 0, "setting": "client-sigalgs", "value": ["RSA+SHA256"]},
        {"op": "ssl_new", "ctx": 0},
        {"op": "ssl_dup_failing", "ssl": 0, "value": 12},
        {"op": "ssl_free", "ssl": 0},
    ]
}
NULL_CTX_SCRIPT: dict[str, Json] = {"ops": [{"op": "ssl_new"}]}


def _cell(rule_id: str, script: dict[str, Json], status: str = "fail") -> RuleResult:
    return RuleResult(rule_id, status, script=script)  # type: ignore[arg-type]


def _program(rule_id: str, script: dict[str, Json], status: str = "fail") -> Program:
    family = family_for("OpenSSL")
    assert family is not None
    return generate(rule(rule_id), _cell(rule_id, script, status), family, Spelling(family))


def _build_plain(tmp_path: Path, program: Program) -> subprocess.CompletedProcess[str]:
    """`cc repro.c -lssl -lcrypto`, as a maintainer would type it, then run ./a.out."""
    (tmp_path / "repro.c").write_text(program.source)
    built = subprocess.run(
        ["cc", "repro.c", "-lssl", "-lcrypto", *program.flags],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return subprocess.run(
        [str(tmp_path / "a.out")], cwd=tmp_path, capture_output=True, text=True, check=False
    )


@needs_openssl
def test_verify_param_reproducer_is_short_builds_plainly_and_exits_1(tmp_path: Path) -> None:
    program = _program("dup.copies.verify-param.time", VERIFY_PARAM_SCRIPT)
    lines = program.source.splitlines()
    assert len(lines) < 60, program.source
    # Straight-line C: the script's calls on named variables, no interpreter.
    for call in (
        "SSL_CTX *ctx = SSL_CTX_new(TLS_method());",
        "X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx), 1000000001);",
        "SSL *s = SSL_new(ctx);",
        "X509_VERIFY_PARAM_set_time(SSL_get0_param(s), 1000000000);",
        "SSL *dup = SSL_dup(s);",
    ):
        assert f"    {call}" in lines, call
    for prelude in ("json", "object id", "MAX_OBJ", "switch", "vput"):
        assert prelude not in program.source.lower()
    # The page's promise, quoted with its version.
    assert "(1.1.1k)" in program.source and "X509 verification parameters" in program.source
    ran = _build_plain(tmp_path, program)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    # The field the rule compares, and only that one.
    assert ran.stdout == "broken: the duplicate shows time 1000000001, s shows time 1000000000\n"


@needs_openssl
def test_verify_param_cell_reproduces_through_the_run_hook() -> None:
    library = _system_openssl()
    repro = reproduce(_cell("dup.copies.verify-param.time", VERIFY_PARAM_SCRIPT), library, {})
    assert repro is not None
    assert repro.outcome == "reproduces", repro.detail
    assert repro.filename == "dup.copies.verify-param.time.c"
    assert repro.build.startswith(
        "cc dup.copies.verify-param.time.c -o dup.copies.verify-param.time"
    )
    assert repro.build.endswith("-lssl -lcrypto")
    assert repro.run == "./dup.copies.verify-param.time"
    assert repro.detail.startswith("broken: ") and repro.detail in repro.output


@needs_openssl
def test_a_promise_the_system_openssl_keeps_exits_0(tmp_path: Path) -> None:
    script: dict[str, Json] = {
        "ops": [
            {"op": "ctx_new", "method": "tls"},
            {"op": "ctx_set", "ctx": 0, "setting": "verify-depth", "value": 3},
            {"op": "ssl_new", "ctx": 0},
            {"op": "ssl_set", "ssl": 0, "setting": "verify-depth", "value": 7},
            {"op": "ssl_dup", "ssl": 0},
            {"op": "ssl_get", "ssl": 0, "setting": "verify-depth"},
            {"op": "ssl_get", "ssl": 1, "setting": "verify-depth"},
        ]
    }
    program = _program("dup.copies.verify-depth", script)
    assert "    SSL_set_verify_depth(s, 7);" in program.source.splitlines()
    ran = _build_plain(tmp_path, program)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.strip() == "kept: the duplicate shows s's verify-depth"
    repro = reproduce(_cell("dup.copies.verify-depth", script), _system_openssl(), {})
    assert repro is not None
    assert repro.outcome == "does-not-reproduce", repro.detail


@needs_openssl
@pytest.mark.parametrize(
    ("rule_id", "ops"),
    [
        ("ret.up-ref.one", ["new", ("ssl_up_ref", 0), ("ssl_up_ref", 0)]),
        (
            "ref.free.at-zero",
            ["new", ("ssl_up_ref", 0), "new", ("ssl_free", 1), *[("ssl_free", 0)] * 2],
        ),
        (
            "ref.threads.exact",
            [
                "new",
                ("ssl_up_ref", 0),
                ("ssl_threads", 0, {"threads": 4, "per_thread": 500}),
                *[("ssl_free", 0)] * 2,
            ],
        ),
        (
            "dup.started.increments",
            ["new", ("handshake", 0), ("ssl_dup", 0), *[("ssl_free", 0)] * 2],
        ),
        ("ret.new.alloc-failure", [("ssl_new_failing", None, 3)]),
    ],
)
def test_object_rules_kept_by_the_system_openssl_exit_0(
    tmp_path: Path, rule_id: str, ops: list[object]
) -> None:
    script: list[dict[str, Json]] = [{"op": "ctx_new", "method": "tls"}]
    for op in ops:
        if op == "new":
            script.append({"op": "ssl_new", "ctx": 0})
            continue
        assert isinstance(op, tuple)
        name, ssl, *value = op
        entry: dict[str, Json] = {"op": name, "ssl": ssl} if ssl is not None else {"op": name}
        if name == "ssl_new_failing":
            entry["ctx"] = 0
        if value:
            entry["value"] = value[0]
        script.append(entry)
    ran = _build_plain(tmp_path, _program(rule_id, {"ops": script}))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.splitlines()[-1].startswith("kept: ")


def test_a_setting_of_a_local_table_flows_into_the_c(tmp_path: Path) -> None:
    # A real OpenSSL setting the tables do not have: the early data limit.
    local = Setting(
        "max-early-data",
        "SSL_set_max_early_data / SSL_get_max_early_data",
        IntRange(0, 1 << 20),
        on_ctx=True,
        dup="the max early data value",
    )
    entry = binding.Entry(
        local.name,
        binding.Integer("uint32_t"),
        binding.Call(
            "{p}set_max_early_data",
            (binding.VALUE,),
            ("uint32_t",),
            "int",
            fails="zero",
            what="max early data",
        ),
        binding.Call("{p}get_max_early_data", (), (), "uint32_t"),
    )
    local_rule = Rule(
        f"dup.copies.{local.name}",
        "SSL_dup settings",
        {"1.1.1k": str(local.dup)},
        f"set on s, then SSL_dup: the duplicate shows s's value ({local.how})",
        needs=("ctx_new", "ssl_new", "ssl_dup"),
    )
    script: dict[str, Json] = {
        "ops": [
            {"op": "ctx_new", "method": "tls"},
            {"op": "ctx_set", "ctx": 0, "setting": local.name, "value": 512},
            {"op": "ssl_new", "ctx": 0},
            {"op": "ssl_set", "ssl": 0, "setting": local.name, "value": 16384},
            {"op": "ssl_dup", "ssl": 0},
            {"op": "ssl_get", "ssl": 0, "setting": local.name},
            {"op": "ssl_get", "ssl": 1, "setting": local.name},
        ]
    }
    family = family_for("OpenSSL")
    assert family is not None
    spell = Spelling(family, {**binding.BY_SETTING, local.name: entry})
    program = generate(local_rule, _cell(local_rule.id, script), family, spell)
    lines = program.source.splitlines()
    assert "    if (SSL_CTX_set_max_early_data(ctx, 512) == 0) {" in lines
    assert "    if (SSL_set_max_early_data(s, 16384) == 0) {" in lines
    assert "    uint32_t max_early_data_dup = SSL_get_max_early_data(dup);" in lines
    with pytest.raises(CannotGenerate, match="no entry for max-early-data"):
        generate(local_rule, _cell(local_rule.id, script), family, Spelling(family))
    if shutil.which("cc") is None or not Path("/usr/include/openssl/ssl.h").is_file():
        pytest.skip("needs cc and the system OpenSSL's headers to build it")
    built = build_and_run("max-early-data.c", program, target_for(_system_openssl(), family), {})
    assert built.outcome in ("reproduces", "does-not-reproduce"), built.detail
    assert built.detail.startswith(("broken: ", "kept: ")), built.detail


@needs_openssl
def test_allocation_failure_reproducer_exits_1(tmp_path: Path) -> None:
    program = _program("ret.dup.alloc-failure", DUP_ALLOC_SCRIPT)
    assert "CRYPTO_set_mem_functions(test_malloc, test_realloc, test_free)" in program.source
    assert "    counting = 1, made = 0, live = 0, fail_at = 12;" in program.source.splitlines()
    ran = _build_plain(tmp_path, program)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "SSL_dup returned NULL with allocation 12 failing and nothing on" in ran.stdout


def test_crash_reproducer_reports_the_signal() -> None:
    library = LibraryInfo(
        "GnuTLS", "GnuTLS 3.7.9 (OpenSSL compatibility layer)", "3.0.0", GNUTLS_LIBS
    )
    result = _cell("ret.new.null-ctx", NULL_CTX_SCRIPT, "crash")
    repro = reproduce(result, library, {})
    assert repro is not None
    assert "#include <gnutls/openssl.h>" in repro.source
    assert "fork()" in repro.source and "WTERMSIG(status)" in repro.source
    assert "-lgnutls-openssl" in repro.build
    if not Path("/usr/include/gnutls/openssl.h").is_file() or shutil.which("cc") is None:
        # The compiler's own word: "fatal error: gnutls/openssl.h: No such file or ..."
        assert repro.outcome == "not-built"
        assert "gnutls/openssl.h" in repro.detail or "compiler" in repro.detail
        return
    if not Path(GNUTLS_LIBS.split(",")[0]).is_file():
        pytest.skip("GnuTLS's OpenSSL layer is not on this machine")
    assert repro.outcome == "reproduces", repro.detail
    assert repro.detail.startswith("broken: the calls died by signal 11"), repro.detail


@needs_openssl
def test_a_timeout_cell_runs_the_calls_in_a_child_with_a_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A library whose first call never returns, and a time limit short enough to wait for.
    monkeypatch.setattr(binding, "PROGRAM_INIT", {"OpenSSL": ("for (;;) {}",)})
    monkeypatch.setattr(generate_module, "CHILD_SECONDS", 1)
    result = _cell("ret.new.null-ctx", NULL_CTX_SCRIPT, "timeout")
    repro = reproduce(result, _system_openssl(), {})
    assert repro is not None
    assert "alarm(1);" in repro.source
    assert repro.outcome == "reproduces", repro.detail
    assert repro.detail == "broken: the calls did not finish within 1 s"


def test_wolfssl_programs_use_wolfssl_names_and_headers() -> None:
    family = family_for("wolfSSL")
    assert family is not None
    program = generate(
        rule("ret.new.null-ctx"),
        _cell("ret.new.null-ctx", NULL_CTX_SCRIPT),
        family,
        Spelling(family),
    )
    lines = program.source.splitlines()
    assert "#include <wolfssl/options.h>" in lines and "#include <wolfssl/ssl.h>" in lines
    assert "    wolfSSL_Init();" in lines
    assert "    WOLFSSL *s = wolfSSL_new(NULL);" in lines
    assert "    if (wolfSSL_ERR_get_error() == 0) {" in lines
    dup: dict[str, Json] = {
        "ops": [
            {"op": "ctx_new", "method": "tls"},
            {"op": "ssl_new", "ctx": 0},
            {"op": "ssl_dup", "ssl": 0},
        ]
    }
    with pytest.raises(CannotGenerate, match="wolfSSL has no SSL_dup"):
        generate(rule("ret.dup.pointer"), _cell("ret.dup.pointer", dup), family, Spelling(family))
    with pytest.raises(CannotGenerate, match="wolfSSL has no X509_VERIFY_PARAM_set_time"):
        generate(
            rule("dup.copies.verify-param.time"),
            _cell("dup.copies.verify-param.time", VERIFY_PARAM_SCRIPT),
            family,
            Spelling(family),
        )


def test_no_reproducer_for_absent_not_applicable_or_pass() -> None:
    library = LibraryInfo("OpenSSL", "OpenSSL 3.0.19", "3.0.0", SYSTEM_LIBS)
    for status in ("absent", "not-applicable", "pass", "error"):
        result = _cell("dup.copies.verify-param.time", VERIFY_PARAM_SCRIPT, status)
        assert reproduce(result, library, {}) is None, status
    # Nor for a library without OpenSSL's C API.
    rustls = LibraryInfo("rustls", "rustls 0.23", "3.0.0", None)
    assert reproduce(_cell("ret.new.null-ctx", NULL_CTX_SCRIPT), rustls, {}) is None


def test_missing_compiler_is_not_built_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    program = Program("int main(void) { return 1; }\n")
    repro = build_and_run("x.c", program, Target(), {})
    assert repro.outcome == "not-built"
    assert repro.detail == "no C compiler: cc is not on PATH"
    assert repro.build == "cc x.c -o x -lssl -lcrypto"


def test_missing_headers_are_not_built_with_a_reason(tmp_path: Path) -> None:
    lib_dir = tmp_path / "libs" / "mine" / "root" / "usr" / "lib"
    lib_dir.mkdir(parents=True)
    (lib_dir / "libssl.so.3").write_bytes(b"")
    library = LibraryInfo("OpenSSL", "OpenSSL 3.9.9", "3.0.0", str(lib_dir / "libssl.so.3"))
    repro = reproduce(_cell("ret.new.null-ctx", NULL_CTX_SCRIPT), library, {})
    assert repro is not None and repro.outcome == "not-built"
    assert repro.detail.startswith("no <openssl/ssl.h> beside ")
    assert repro.detail.endswith("(sslconform fetch mine-headers)")


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs cc")
def test_a_compile_error_is_the_compilers_one_line(tmp_path: Path) -> None:
    repro = build_and_run("bad.c", Program("int main(void) { return nothing; }\n"), Target(), {})
    assert repro.outcome == "not-built"
    assert "error" in repro.detail and "nothing" in repro.detail and "\n" not in repro.detail


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs cc")
def test_missing_system_headers_are_the_compilers_one_line() -> None:
    program = Program("#include <nosuch/openssl.h>\nint main(void) { return 1; }\n")
    repro = build_and_run("x.c", program, Target(), {})
    assert repro.outcome == "not-built"
    assert repro.detail == "x.c:1:10: fatal error: nosuch/openssl.h: No such file or directory"


def test_a_script_beyond_the_generator_is_not_built_with_the_reason() -> None:
    script: dict[str, Json] = {
        "ops": [
            {"op": "ctx_new", "method": "tls"},
            {"op": "ssl_new", "ctx": 0},
            {"op": "ssl_set", "ssl": 0, "setting": "session", "value": "session-a"},
            {"op": "ssl_dup", "ssl": 0},
            {"op": "ssl_get", "ssl": 0, "setting": "session"},
            {"op": "ssl_get", "ssl": 1, "setting": "session"},
        ]
    }
    library = LibraryInfo("OpenSSL", "OpenSSL 3.0.19", "3.0.0", SYSTEM_LIBS)
    repro = reproduce(_cell("dup.copies.session", script), library, {})
    assert repro is not None and repro.outcome == "not-built"
    assert repro.detail == (
        "no C program: session: its values are fixtures the harness makes at run time "
        "(no C for them)"
    )


@needs_openssl
def test_sslconform_run_records_the_reproducer_of_each_deviating_cell(tmp_path: Path) -> None:
    from conformance.cli import main
    from conformance.results import Results

    out = tmp_path / "openssl.json"
    rules = ["dup.copies.verify-param.time", "ret.new.null-ctx"]
    assert main(["run", "--backend", "openssl", "--rules", *rules, "--results", str(out)]) == 0
    by_id = {r.id: r for r in Results.read(out).rules}
    assert by_id["ret.new.null-ctx"].status == "pass"
    assert by_id["ret.new.null-ctx"].reproducer is None
    deviation = by_id["dup.copies.verify-param.time"]
    assert deviation.status == "fail"
    assert deviation.reproducer is not None
    assert deviation.reproducer.outcome == "reproduces", deviation.reproducer.detail
    assert deviation.reproducer.source.startswith("/*\n * dup.copies.verify-param.time: ")


@needs_openssl
@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("cipher-list", ["AES256-SHA", "ECDHE-RSA-AES128-GCM-SHA256"]),
        ("ca-list", ["alpha", "bravo"]),
        ("verify-callback", "cb-b"),
        ("ex-data", 99),
        ("options", ["no-ticket", "no-compression"]),
    ],
)
def test_each_kind_of_value_builds_and_the_system_openssl_copies_it(
    tmp_path: Path, setting: str, value: Json
) -> None:
    script: dict[str, Json] = {
        "ops": [
            {"op": "ctx_new", "method": "tls"},
            {"op": "ssl_new", "ctx": 0},
            {"op": "ssl_set", "ssl": 0, "setting": setting, "value": value},
            {"op": "ssl_dup", "ssl": 0},
            {"op": "ssl_get", "ssl": 0, "setting": setting},
            {"op": "ssl_get", "ssl": 1, "setting": setting},
        ]
    }
    ran = _build_plain(tmp_path, _program(f"dup.copies.{setting}", script))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.strip() == f"kept: the duplicate shows s's {setting}"


@needs_openssl
def test_a_callback_seen_by_the_first_flight_is_read_by_starting_a_handshake(
    tmp_path: Path,
) -> None:
    script: dict[str, Json] = {
        "ops": [
            {"op": "ctx_new", "method": "tls"},
            {"op": "ctx_set", "ctx": 0, "setting": "msg-callback", "value": "cb-b"},
            {"op": "ssl_new", "ctx": 0},
            {"op": "ssl_set", "ssl": 0, "setting": "msg-callback", "value": "cb-a"},
            {"op": "ssl_dup", "ssl": 0},
            {"op": "ssl_get", "ssl": 0, "setting": "msg-callback"},
            {"op": "ssl_get", "ssl": 1, "setting": "msg-callback"},
        ]
    }
    program = _program("dup.copies.msg-callback", script)
    lines = program.source.splitlines()
    assert "    SSL_set_msg_callback(s, msg_cb_a);" in lines
    assert "    SSL_do_handshake(dup); /* the ClientHello: who hears it? */" in lines
    ran = _build_plain(tmp_path, program)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.strip() == "kept: the duplicate shows s's msg-callback"


def test_an_allocation_failure_on_wolfssl_installs_its_own_allocator() -> None:
    """wolfSSL has no CRYPTO_set_mem_functions: its hooks go in through
    wolfSSL_SetAllocators (no file and line), and no thread_stop means no leak check."""
    family = family_for("wolfSSL")
    assert family is not None
    script: dict[str, Json] = {
        "ops": [{"op": "ctx_new", "method": "tls"}, {"op": "ssl_new_failing", "ctx": 0, "value": 1}]
    }
    program = generate(
        rule("ret.new.alloc-failure"),
        _cell("ret.new.alloc-failure", script),
        family,
        Spelling(family),
    )
    lines = program.source.splitlines()
    assert "    if (wolfSSL_SetAllocators(plain_malloc, plain_free, plain_realloc) != 0) {" in lines
    assert "CRYPTO_set_mem_functions" not in program.source
    assert "leaks are not checked" in program.source
    assert "    WOLFSSL *got = wolfSSL_new(ctx);" in lines


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs cc")
def test_a_program_built_once_is_run_again_without_the_compiler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSLCONFORM_CACHE", str(tmp_path))
    source = '#include <stdio.h>\nint main(void) { puts("broken: shown"); return 1; }\n'
    first = build_and_run("x.c", Program(source), Target(), {})
    assert first.outcome == "reproduces"
    real_run = subprocess.run

    def no_compiler(args: list[str], **kwargs: object) -> object:
        assert args[0] != "cc", "the kept binary should have been used"
        return real_run(args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "run", no_compiler)
    again = build_and_run("x.c", Program(source), Target(), {})
    assert again.outcome == "reproduces" and again.detail == first.detail
    # another source is built anew
    monkeypatch.setattr(subprocess, "run", real_run)
    other = build_and_run("x.c", Program(source.replace("shown", "other")), Target(), {})
    assert other.detail != first.detail
