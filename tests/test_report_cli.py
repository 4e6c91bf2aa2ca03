"""`sslconform report` and `sslconform schema` from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import write_samples

from conformance.report.cli import main


def test_report_writes_everything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_samples(tmp_path / "in")
    (tmp_path / "in" / "broken.json").write_text("{")
    out = tmp_path / "out"
    code = main(["report", str(tmp_path / "in"), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1  # one file was bad; the others are reported all the same
    errors = [line for line in captured.err.splitlines() if "broken.json" in line]
    assert len(errors) == 1 and "not JSON" in errors[0]
    assert "Traceback" not in captured.err
    for name in (
        "index.html",
        "summary.md",
        "schema.json",
        "junit/openssl30.xml",
        "junit/openssl111.xml",
        "junit/boringssl.xml",
    ):
        assert (out / name).is_file(), name
    assert (out / "repro" / "openssl30" / "dup.copies.verify-param.c").is_file()
    assert json.loads((out / "schema.json").read_text())["title"].startswith("sslconform")


def test_report_without_usable_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_text("[]")
    assert main(["report", str(tmp_path / "bad.json"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "nothing to report" in err
    assert not (tmp_path / "o").exists()


def test_report_bad_results_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(write_samples(tmp_path / "in")[0].read_text())
    data["rules"][3]["status"] = "passed"
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps(data))
    assert main(["report", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        f"sslconform: {bad}: rules[3].status: expected one of pass, fail, flaky, absent, "
        "not-applicable, crash, timeout, error, got 'passed'"
    )


def test_schema_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["$defs"]["RuleResult"]
    assert main(["schema", "--out", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["required"]


def test_report_with_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = {p.stem: p for p in write_samples(tmp_path / "in")}
    out = tmp_path / "out"
    args = ["report", str(paths["openssl111"]), "--out", str(out)]
    assert main([*args, "--baseline", str(paths["openssl30"])]) == 0
    summary = (out / "summary.md").read_text()
    assert "## Changes since the baseline" in summary
    assert "| `ret.new.null-ctx` | pass | crash |" in summary
    assert (out / "diff.md").is_file()
