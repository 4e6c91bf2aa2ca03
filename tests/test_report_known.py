"""`sslconform report --expected`: known deviations with their reason and link, new ones apart."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import write_samples

from conformance.report import known, load, model
from conformance.report.cli import main

EXPECTED = """\
format = 1

[[expected]]
rule = "dup.copies.verify-param"
column = "openssl30"
status = "fail"
reason = "X509_VERIFY_PARAM_inherit keeps the duplicate's auth level"
link = "https://github.com/openssl/openssl/issues/1"

[[expected]]
rule = "ret.new.null-ctx"
column = "openssl111"
status = "fail"
reason = "NULL without an error queued"

[[expected]]
rule = "dup.copies.verify-depth"
column = "openssl111"
status = "fail"
reason = "was not copied before"

[[expected]]
rule = "dup.copies.verify-*"
column = "openssl111"
status = "fail"
reason = "any verify setting"
versions = ">=3.0"

[[expected]]
rule = "dup.*"
column = "boringssl"
status = "absent"
reason = "no SSL_dup in BoringSSL"

[[expected]]
rule = "dup.copies.verify-param"
column = "a-column-not-in-the-report"
status = "fail"
reason = "not checked: no results of this column are given"
"""


def _report(tmp_path: Path, text: str = EXPECTED) -> tuple[int, Path]:
    (tmp_path / "expected.toml").write_text(text)
    inputs = write_samples(tmp_path / "in")
    out = tmp_path / "out"
    code = main(
        [
            "report",
            *map(str, inputs),
            "--out",
            str(out),
            "--expected",
            str(tmp_path / "expected.toml"),
        ]
    )
    return code, out


def test_cells_are_judged_as_the_gate_judges_them(tmp_path: Path) -> None:
    (tmp_path / "e.toml").write_text(EXPECTED)
    matrix = model.build(load.load(write_samples(tmp_path / "in")).loaded)
    entries, left_out = known.read([tmp_path / "e.toml"], matrix)
    assert left_out == []
    judged = known.judge(matrix, entries)
    kinds = {key: j.kind for key, j in judged.cells.items()}
    assert kinds[("dup.copies.verify-param", "openssl30")] == "known"
    assert kinds[("dup.copies.verify-depth", "openssl30")] == "new"  # no entry
    assert kinds[("ret.new.null-ctx", "openssl111")] == "changed"  # crash, not fail
    assert kinds[("dup.copies.verify-depth", "openssl111")] == "stale"  # passes now
    assert (
        kinds[("dup.copies.verify-param", "openssl111")] == "new"
    )  # the glob's range excludes 1.1.1w
    assert kinds[("dup.copies.verify-mode", "boringssl")] == "known"
    assert kinds[("ref.up-ref.increments", "boringssl")] == "new"
    assert ("new.inherits.options", "openssl30") not in kinds  # a pass no entry speaks of
    reason = judged.cells[("dup.copies.verify-param", "openssl30")].reasons
    assert [(r.reason, r.link) for r in reason] == [
        (
            "X509_VERIFY_PARAM_inherit keeps the duplicate's auth level",
            "https://github.com/openssl/openssl/issues/1",
        )
    ]
    # The same lines as `sslconform check` prints: nothing decided twice.
    lines = {f.line.split(":")[0].split()[-1] for f in judged.findings if f.rule}
    assert {"dup.copies.verify-depth", "ret.new.null-ctx", "dup.copies.verify-param"} <= lines


def test_the_page_shows_known_with_reason_and_new_apart(tmp_path: Path) -> None:
    code, out = _report(tmp_path)
    assert code == 0
    page = (out / "index.html").read_text()
    cell = re.search(r'<td class="cell s-fail k-known"[^>]*data-col="openssl30"', page)
    assert cell is not None
    assert re.search(r'<td class="cell s-fail k-new" data-col="openssl30"', page)
    assert re.search(r'<td class="cell s-crash k-changed" data-col="openssl111"', page)
    assert re.search(r'<td class="cell s-pass k-stale" data-col="openssl111"', page)
    new = re.search(r'<table class="new-list">.*?</table>', page, re.S)
    assert new is not None
    assert "dup.copies.verify-depth" in new.group() and "no entry expects it" in new.group()
    assert "X509_VERIFY_PARAM_inherit" not in new.group()
    known_list = re.search(r'<table class="known-list">.*?</table>', page, re.S)
    assert known_list is not None
    assert "X509_VERIFY_PARAM_inherit keeps the duplicate&#x27;s auth level" in known_list.group()
    assert (
        '<a href="https://github.com/openssl/openssl/issues/1" rel="noreferrer">'
        in known_list.group()
    )
    drill = re.search(r'id="dup.copies.verify-param@openssl30".*?</section>', page, re.S)
    assert drill is not None and "known deviation" in drill.group()


def test_without_expected_files_nothing_is_judged(tmp_path: Path) -> None:
    inputs = write_samples(tmp_path / "in")
    assert main(["report", *map(str, inputs), "--out", str(tmp_path / "out")]) == 0
    page = (tmp_path / "out" / "index.html").read_text()
    assert ' k-known"' not in page and "Known and new deviations" not in page


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("format = 1\n[[expected]]\nrule = 'x'\n", "entry 1"),
        ("[[expected]\n", "not TOML"),
        (
            "format = 1\n[[expected]]\nrule = 'ret.new.null-ctx'\ncolumn = 'openssl30'\n"
            "status = 'fail'\n",
            "reason: field required",
        ),
    ],
)
def test_a_bad_expected_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, says: str
) -> None:
    code, out = _report(tmp_path, text)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and says in err and "Traceback" not in err
    assert not (out / "index.html").exists()


def test_an_entry_of_an_unknown_rule_is_left_out_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = (
        "\n[[expected]]\nrule = 'no.such.rule'\ncolumn = 'openssl30'\n"
        "status = 'fail'\nreason = 'from another catalogue'\n"
    )
    code, out = _report(tmp_path, EXPECTED + stale)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1  # the page is written, and the run says something was not used
    assert len(err) == 1 and "entry 7: rule: unknown rule 'no.such.rule'" in err[0]
    page = (out / "index.html").read_text()
    assert "X509_VERIFY_PARAM_inherit" in page and "from another catalogue" not in page


def test_tox_report_environment_passes_the_expected_files() -> None:
    tox = (Path(__file__).resolve().parent.parent / "tox.ini").read_text()
    section = tox.split("[testenv:report]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"sslconform report .* --expected \{toxinidir\}/expected", section)
