"""The gate's exit codes: `sslconform baseline`, `sslconform check`, `run --expected`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.results import LibraryInfo, Results, RuleResult

OPENSSL30 = "OpenSSL 3.0.19 27 Jan 2026"

# A column as the baseline matrix has it: two fails, the rest passes.
OPENSSL_STATUSES = {
    "new.inherits.options": "pass",
    "dup.copies.options": "pass",
    "dup.copies.mode": "pass",
    "dup.copies.verify-param.time": "fail",
    "ret.dup.alloc-failure": "fail",
    "ret.new.null-ctx": "pass",
}
BORINGSSL_STATUSES = {
    "new.inherits.options": "pass",
    "dup.copies.options": "absent",
    "dup.copies.mode": "absent",
    "dup.copies.verify-param.time": "absent",
    "ret.dup.alloc-failure": "absent",
    "ret.new.null-ctx": "pass",
}


def write_results(
    path: Path,
    backend: str,
    statuses: dict[str, str],
    version: str = OPENSSL30,
    state: str = "complete",
) -> Path:
    rules = [
        RuleResult(
            rule_id,
            status,  # type: ignore[arg-type]
            examples=50 if status == "pass" else 0,
            detail=None if status == "pass" else f"{rule_id} is {status} here",
        )
        for rule_id, status in statuses.items()
    ]
    family = version.split()[0]
    results = Results(
        backend=backend,
        library=LibraryInfo(family, version, "3.0.0"),
        state=state,  # type: ignore[arg-type]
        rules=rules,
    )
    results.write(path)
    return path


@pytest.fixture
def matrix(tmp_path: Path) -> Path:
    """A results folder of two columns."""
    folder = tmp_path / "results"
    write_results(folder / "openssl.json", "openssl", OPENSSL_STATUSES)
    write_results(folder / "boringssl.json", "boringssl", BORINGSSL_STATUSES, "BoringSSL")
    return folder


def gate(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, list[str], list[str]]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out.splitlines(), err.splitlines()


def baseline(capsys: pytest.CaptureFixture[str], results: Path, out: Path) -> None:
    code, _, err = gate(capsys, "baseline", results, "--out", out)
    assert code == 0, err


def test_baseline_then_check_on_the_same_run_exits_0(
    matrix: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = tmp_path / "expected"
    baseline(capsys, matrix, expected)
    assert sorted(p.name for p in expected.iterdir()) == ["boringssl.toml", "openssl.toml"]
    text = (expected / "openssl.toml").read_text()
    assert text.count("[[expected]]") == 2  # the two fails, no passes
    assert 'reason = "dup.copies.verify-param.time is fail here"' in text  # prefilled from detail
    assert (expected / "boringssl.toml").read_text().count("[[expected]]") == 4  # absent too
    code, out, _ = gate(capsys, "check", matrix, "--expected", expected)
    assert code == 0
    assert out[-1].startswith("gate: passed: 2 column(s), 12 results, 6 expected deviations")


def test_one_more_deviation_exits_1_naming_the_rule_and_column(
    matrix: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = tmp_path / "expected"
    baseline(capsys, matrix, expected)
    write_results(
        matrix / "openssl.json", "openssl", {**OPENSSL_STATUSES, "dup.copies.mode": "fail"}
    )
    code, out, _ = gate(capsys, "check", matrix, "--expected", expected)
    assert code == 1
    findings = [line for line in out if not line.startswith("gate:")]
    assert len(findings) == 1
    assert findings[0].split()[:3] == ["NEW", "openssl", "dup.copies.mode:"]
    assert "fail, no entry expects it" in findings[0]
    assert "1 new, 0 changed, 0 stale" in out[-1]


def test_a_crash_where_a_fail_was_expected_is_a_change(
    matrix: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = tmp_path / "expected"
    baseline(capsys, matrix, expected)
    statuses = {**OPENSSL_STATUSES, "ret.dup.alloc-failure": "crash"}
    write_results(matrix / "openssl.json", "openssl", statuses)
    code, out, _ = gate(capsys, "check", matrix, "--expected", expected)
    assert code == 1
    assert out[0].startswith("CHANGED    openssl ret.dup.alloc-failure: crash, expected fail by")
    assert str(expected / "openssl.toml") + " entry 2:" in out[0]  # entries in rule order


def test_an_entry_the_library_no_longer_has_exits_1_naming_the_entry(
    matrix: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = tmp_path / "expected"
    baseline(capsys, matrix, expected)
    fixed = {**OPENSSL_STATUSES, "dup.copies.verify-param.time": "pass"}
    write_results(matrix / "openssl.json", "openssl", fixed)
    code, out, _ = gate(capsys, "check", matrix, "--expected", expected)
    assert code == 1
    assert len(out) == 2
    assert out[0].split()[:3] == ["STALE", "openssl", "dup.copies.verify-param.time:"]
    assert f"expected fail by {expected / 'openssl.toml'} entry 1 (" in out[0]


def test_a_glob_entry_names_each_rule_that_now_passes(
    matrix: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = tmp_path / "boringssl.toml"
    expected.write_text(
        "[[expected]]\n"
        'rule = "dup.copies.*"\ncolumn = "boringssl"\nstatus = "absent"\n'
        'reason = "BoringSSL has no SSL_dup"\n'
        "[[expected]]\n"
        'rule = "ret.dup.*"\ncolumn = "boringssl"\nstatus = "absent"\n'
        'reason = "BoringSSL has no SSL_dup"\n'
    )
    code, out, _ = gate(capsys, "check", matrix / "boringssl.json", "--expected", expected)
    assert code == 0, out
    statuses = {**BORINGSSL_STATUSES, "dup.copies.mode": "pass"}
    write_results(matrix / "boringssl.json", "boringssl", statuses, "BoringSSL")
    code, out, _ = gate(capsys, "check", matrix / "boringssl.json", "--expected", expected)
    assert code == 1
    assert [line.split()[:3] for line in out[:-1]] == [["STALE", "boringssl", "dup.copies.mode:"]]


def test_a_version_range_narrows_an_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = write_results(tmp_path / "openssl.json", "openssl", OPENSSL_STATUSES)
    expected = tmp_path / "openssl.toml"
    entries = [
        ("dup.copies.verify-param.time", ">=3.0, <3.5"),
        ("ret.dup.alloc-failure", ">=3.5"),  # not this library's version: does not apply
    ]
    expected.write_text(
        "".join(
            f'[[expected]]\nrule = "{rule}"\ncolumn = "openssl"\nstatus = "fail"\n'
            f'reason = "r"\nversions = "{versions}"\n'
            for rule, versions in entries
        )
    )
    code, out, _ = gate(capsys, "check", results, "--expected", expected)
    assert code == 1
    assert [line.split()[:3] for line in out[:-1]] == [["NEW", "openssl", "ret.dup.alloc-failure:"]]
    assert "1 entries not checked" in out[-1]


def test_a_column_that_could_not_run_is_not_a_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = write_results(tmp_path / "wolfssl.json", "wolfssl", {}, state="unavailable")
    expected = tmp_path / "wolfssl.toml"
    expected.write_text(
        '[[expected]]\nrule = "dup.*"\ncolumn = "wolfssl"\nstatus = "absent"\nreason = "r"\n'
    )
    code, out, _ = gate(capsys, "check", results, "--expected", expected)
    assert code == 1
    assert out[0].startswith("INCOMPLETE wolfssl: run unavailable")
    code, out, err = gate(capsys, "check", results, "--expected", expected, "--allow-unavailable")
    assert code == 0
    assert "1 entries not checked" in out[-1]
    assert err == ["sslconform: wolfssl: unavailable: allowed, nothing checked"]


BAD_FILES = {
    "not TOML": ("[[expected]\n", "not TOML"),
    "no reason": (
        '[[expected]]\nrule = "dup.copies.mode"\ncolumn = "openssl"\nstatus = "fail"\n',
        "entry 1: reason: field required",
    ),
    "empty reason": (
        '[[expected]]\nrule = "dup.copies.mode"\ncolumn = "openssl"\nstatus = "fail"\n'
        'reason = "  "\n',
        "entry 1: reason: empty",
    ),
    "unknown rule": (
        '[[expected]]\nrule = "dup.copies.colour"\ncolumn = "openssl"\nstatus = "fail"\n'
        'reason = "r"\n',
        "entry 1: rule: unknown rule 'dup.copies.colour'",
    ),
    "unknown column": (
        '[[expected]]\nrule = "dup.copies.mode"\ncolumn = "libressl"\nstatus = "fail"\n'
        'reason = "r"\n',
        "entry 1: column: unknown column 'libressl'",
    ),
    "pass expected": (
        '[[expected]]\nrule = "dup.copies.mode"\ncolumn = "openssl"\nstatus = "pass"\n'
        'reason = "r"\n',
        "entry 1: status: not a status an entry can expect: 'pass'",
    ),
    "bad range": (
        '[[expected]]\nrule = "dup.copies.mode"\ncolumn = "openssl"\nstatus = "fail"\n'
        'reason = "r"\nversions = "three-ish"\n',
        "entry 1: versions: not a version range",
    ),
    "bad link": (
        '[[expected]]\nrule = "dup.copies.mode"\ncolumn = "openssl"\nstatus = "fail"\n'
        'reason = "r"\nlink = "bug 12"\n',
        "entry 1: link: not an http(s) URL",
    ),
    "extra field": (
        '[[expected]]\nrule = "dup.copies.mode"\ncolumn = "openssl"\nstatus = "fail"\n'
        'reason = "r"\nseverity = 3\n',
        "entry 1: severity: not a field of an entry",
    ),
    "number as reason": (
        '[[expected]]\nrule = "dup.copies.mode"\ncolumn = "openssl"\nstatus = "fail"\nreason = 3\n',
        "entry 1: reason: Input should be a valid string",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_expected_file_exits_2_with_one_line(
    case: str, matrix: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, message = BAD_FILES[case]
    good = '[[expected]]\nrule = "ret.*"\ncolumn = "openssl"\nstatus = "fail"\nreason = "r"\n'
    bad = tmp_path / "bad.toml"
    bad.write_text(good + text if text.startswith("[[expected]]\nrule") else text)
    index_shift = 1 if text.startswith("[[expected]]\nrule") else 0
    message = message.replace("entry 1", f"entry {1 + index_shift}")
    runs: list[list[str | Path]] = [
        ["check", matrix, "--expected", bad],
        ["run", "--backend", "reference", "--results", tmp_path / "r.json", "--expected", bad],
    ]
    for argv in runs:
        code, out, err = gate(capsys, *argv)
        assert code == 2
        assert out == []
        assert len(err) == 1, err
        assert err[0].startswith(f"sslconform: {bad}: "), err
        assert message in err[0], err
    assert not (tmp_path / "r.json").exists()  # the file was read before the run, not after


def test_bad_results_and_missing_files_exit_2_with_one_line(
    matrix: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = tmp_path / "expected"
    baseline(capsys, matrix, expected)
    (tmp_path / "broken.json").write_text("{")
    cases: list[tuple[list[str | Path], str]] = [
        (["check", tmp_path / "broken.json", "--expected", expected], "not JSON"),
        (["check", matrix, "--expected", tmp_path / "nowhere"], "no such file or folder"),
        (["check", matrix, "--expected", tmp_path / "results"], "no *.toml"),
        (["baseline", tmp_path / "broken.json", "--out", expected], "not JSON"),
    ]
    for argv, message in cases:
        code, out, err = gate(capsys, *argv)
        assert code == 2, argv
        assert out == []
        assert len(err) == 1 and message in err[0], err


def test_regenerating_keeps_reasons_narrows_globs_and_drops_what_is_gone(
    matrix: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = tmp_path / "expected"
    expected.mkdir()
    (expected / "boringssl.toml").write_text(
        "[[expected]]\n"
        'rule = "dup.copies.*"\ncolumn = "boringssl"\nstatus = "absent"\n'
        'reason = "BoringSSL has no SSL_dup"\nlink = "https://example.org/bug/1"\n'
    )
    (expected / "openssl.toml").write_text(
        "[[expected]]\n"
        'rule = "dup.copies.verify-param.time"\ncolumn = "openssl"\nstatus = "fail"\n'
        'reason = "SSL_dup inherits the verify params"\n'
        "[[expected]]\n"
        'rule = "dup.copies.verify-param.time"\ncolumn = "openssl"\nstatus = "fail"\n'
        'reason = "on 3.5"\nversions = ">=3.5"\n'
        "[[expected]]\n"
        'rule = "ret.dup.alloc-failure"\ncolumn = "openssl"\nstatus = "fail"\n'
        'reason = "fixed since"\n'
    )
    write_results(
        matrix / "openssl.json",
        "openssl",
        {**OPENSSL_STATUSES, "ret.dup.alloc-failure": "pass", "dup.copies.mode": "crash"},
    )
    boring = {**BORINGSSL_STATUSES, "dup.copies.mode": "pass"}
    write_results(matrix / "boringssl.json", "boringssl", boring, "BoringSSL")
    code, out, _ = gate(capsys, "check", matrix, "--expected", expected)
    assert code == 1

    code, out, err = gate(capsys, "baseline", matrix, "--out", expected)
    assert code == 0, err
    assert any("1 globs narrowed" in line for line in out)
    assert any(
        "dropped" in line and "ret.dup.alloc-failure on openssl is no longer fail" in line
        for line in out
    )
    from conformance.expected import read_file

    boringssl = [e.entry for e in read_file(expected / "boringssl.toml")]
    assert {e.rule for e in boringssl} == {
        "dup.copies.options",
        "dup.copies.verify-param.time",
        "ret.dup.alloc-failure",
    }
    kept = [e for e in boringssl if e.rule != "ret.dup.alloc-failure"]
    assert all(e.reason == "BoringSSL has no SSL_dup" for e in kept)
    assert all(e.link == "https://example.org/bug/1" for e in kept)
    openssl = [e.entry for e in read_file(expected / "openssl.toml")]
    assert [(e.rule, e.status, e.reason, e.versions) for e in openssl] == [
        ("dup.copies.verify-param.time", "fail", "SSL_dup inherits the verify params", None),
        ("dup.copies.verify-param.time", "fail", "on 3.5", ">=3.5"),  # another version: kept
        ("dup.copies.mode", "crash", "dup.copies.mode is crash here", None),
    ]
    code, out, _ = gate(capsys, "check", matrix, "--expected", expected)
    assert code == 0, out


def test_baseline_into_one_file(
    matrix: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "all.toml"
    baseline(capsys, matrix, out)
    code, _, _ = gate(capsys, "check", matrix, "--expected", out)
    assert code == 0


def test_run_gates_while_running_and_writes_junit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = ["new.inherits.options", "dup.copies.mode"]
    results, junit = tmp_path / "reference.json", tmp_path / "junit" / "reference.xml"
    empty = tmp_path / "empty.toml"
    empty.write_text("format = 1\n")
    argv: list[str | Path] = ["run", "--backend", "reference", "--profile", "quick"]
    argv += ["--rules", *rules]
    argv += ["--results", results, "--quiet"]
    code, out, _ = gate(capsys, *argv, "--expected", empty, "--junit", junit)
    assert code == 0
    assert out[-1].startswith("gate: passed: 1 column(s), 2 results")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    names = sorted(c.get("name") or "" for c in suite.iter("testcase") if c.find("*") is None)
    assert set(rules) <= set(names)  # the rules run passed: no failure, no skipped element

    # The reference model keeps every promise: an entry expecting a fail is stale.
    stale = tmp_path / "stale.toml"
    stale.write_text(
        '[[expected]]\nrule = "dup.copies.mode"\ncolumn = "reference"\nstatus = "fail"\n'
        'reason = "r"\n'
    )
    code, out, _ = gate(capsys, *argv, "--expected", stale)
    assert code == 1
    assert out[0].split()[:3] == ["STALE", "reference", "dup.copies.mode:"]


def test_an_entry_may_expect_one_of_several_statuses(
    matrix: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A deviation that a rerun sometimes meets again (fail) and sometimes not (flaky).
    expected = tmp_path / "openssl.toml"
    expected.write_text(
        '[[expected]]\nrule = "dup.copies.verify-param.time"\ncolumn = "openssl"\n'
        'status = ["fail", "flaky"]\nreason = "r"\n'
        '[[expected]]\nrule = "ret.dup.alloc-failure"\ncolumn = "openssl"\n'
        'status = "fail"\nreason = "r"\n'
    )
    for status in ("fail", "flaky"):
        statuses = {**OPENSSL_STATUSES, "dup.copies.verify-param.time": status}
        write_results(matrix / "openssl.json", "openssl", statuses)
        code, out, _ = gate(capsys, "check", matrix / "openssl.json", "--expected", expected)
        assert code == 0, out
    statuses = {**OPENSSL_STATUSES, "dup.copies.verify-param.time": "crash"}
    write_results(matrix / "openssl.json", "openssl", statuses)
    code, out, _ = gate(capsys, "check", matrix / "openssl.json", "--expected", expected)
    assert code == 1
    assert "crash, expected fail or flaky by" in out[0]
    # regenerated, the entry keeps its statuses
    write_results(matrix / "openssl.json", "openssl", OPENSSL_STATUSES)
    again = tmp_path / "again.toml"
    again.write_text(expected.read_text())
    code, _, err = gate(capsys, "baseline", matrix / "openssl.json", "--out", again)
    assert code == 0, err
    assert 'status = [\n    "fail",\n    "flaky",\n]' in again.read_text()
    # an empty list, or a status no entry can expect, is bad input
    for bad in ("[]", '["fail", "pass"]'):
        expected.write_text(
            f'[[expected]]\nrule = "dup.copies.mode"\ncolumn = "openssl"\nstatus = {bad}\n'
            'reason = "r"\n'
        )
        code, _, err = gate(capsys, "check", matrix / "openssl.json", "--expected", expected)
        assert code == 2 and len(err) == 1 and "status" in err[0]
