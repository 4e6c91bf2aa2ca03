"""What changed since the last run (`report --previous`), and each cell's history of runs."""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import FAMILY_RULE, sample_results, versioned_run, write_samples

from conformance.cli import main as sslconform
from conformance.report import diff, load, model
from conformance.report.cli import main
from conformance.results import Results, RuleResult


def _write(folder: Path, runs: list[Results]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for run in runs:
        path = folder / f"{run.backend}.json"
        run.write(path)
        paths.append(path)
    return paths


def _today(before: list[Results]) -> list[Results]:
    after = copy.deepcopy(before)
    ossl30 = after[0]
    ossl30.rules[3] = RuleResult("dup.copies.verify-depth", "pass", examples=10)  # fixed
    ossl30.rules[0] = RuleResult("new.inherits.options", "fail", detail="options lost")  # new
    after[1].rules[7] = RuleResult("ret.new.null-ctx", "error", detail="worker died")  # changed
    return after


def test_changes_since_the_previous_run_are_shown_and_listed(tmp_path: Path) -> None:
    before = sample_results()
    _write(tmp_path / "old", before)
    now = _write(tmp_path / "new", _today(before))
    out = tmp_path / "out"
    assert (
        main(["report", *map(str, now), "--out", str(out), "--previous", str(tmp_path / "old")])
        == 0
    )
    page = (out / "index.html").read_text()
    section = re.search(r'<h2 id="changes">.*?<h2>Rules</h2>', page, re.S)
    assert section is not None
    text = section.group()
    assert (
        "New deviations (1)" in text and "Fixed (1)" in text and "Other status changes (1)" in text
    )
    assert 'href="#new.inherits.options@openssl30"' in text
    assert 'href="#dup.copies.verify-depth@openssl30"' in text
    assert 'href="#ret.new.null-ctx@openssl111"' in text
    # Each changed cell is marked in the matrix, with what it was.
    cell = re.search(r'<td class="cell s-pass changed" data-col="openssl30".*?</td>', page)
    assert cell is not None and "was fail" in cell.group()
    assert page.count(' changed" data-col=') == 3
    # The same comparison as `sslconform diff` (and the summary's).
    summary = (out / "summary.md").read_text()
    assert "| `dup.copies.verify-depth` | fail | pass | fixed |" in summary
    assert "| `new.inherits.options` | pass | fail | new |" in summary


def test_diff_and_report_share_the_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sample_results()
    _write(tmp_path / "old", before)
    _write(tmp_path / "new", _today(before))
    pairs = diff.diff(load.load([tmp_path / "old"]).loaded, load.load([tmp_path / "new"]).loaded)
    kinds = {(p.new_backend, c.rule): c.kind for p in pairs for c in p.changes}
    assert kinds == {
        ("openssl30", "dup.copies.verify-depth"): "fixed",
        ("openssl30", "new.inherits.options"): "new",
        ("openssl111", "ret.new.null-ctx"): "changed",
    }
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out
    assert "dup.copies.verify-depth: fail -> pass [fixed]" in out
    assert main(["diff", "--format", "json", str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {c["kind"] for p in data for c in p["changes"]} == {"new", "fixed", "changed"}


def _runs_of_one_column(folder: Path) -> list[Path]:
    statuses = ("pass", "fail", "fail", "crash", "pass")
    paths = []
    for day, status in enumerate(statuses, 1):
        run = versioned_run(
            "openssl", "OpenSSL", "OpenSSL 3.0.19", status, started=f"2026-11-0{day}T09:00:00+00:00"
        )
        path = folder / f"run-{6 - day}.json"  # file names in the other order: time decides
        folder.mkdir(parents=True, exist_ok=True)
        run.write(path)
        paths.append(path)
    return paths


def test_several_runs_of_one_column_are_one_column_with_a_history(tmp_path: Path) -> None:
    paths = _runs_of_one_column(tmp_path / "runs")
    m = model.build(load.load(paths).loaded)
    [col] = m.columns
    assert col.results.started == "2026-11-05T09:00:00+00:00"  # the newest gives the cells
    assert m.status(FAMILY_RULE, "openssl") == "pass"
    assert col.history(FAMILY_RULE) == [
        ("2026-11-01T09:00:00+00:00", "pass"),
        ("2026-11-02T09:00:00+00:00", "fail"),
        ("2026-11-03T09:00:00+00:00", "fail"),
        ("2026-11-04T09:00:00+00:00", "crash"),
    ]
    assert [s for _, s in col.history(FAMILY_RULE, depth=2)] == ["fail", "crash"]
    out = tmp_path / "out"
    assert main(["report", *map(str, paths), "--out", str(out)]) == 0
    page = (out / "index.html").read_text()
    cell = re.search(r'<tr class="rule"[^>]*data-rule="ret.new.null-ctx">.*?</tr>', page, re.S)
    assert cell is not None
    marks = re.findall(r'<i class="h s-([a-z-]+)" title="([^"]+)"></i>', cell.group())
    assert marks == [
        ("pass", "2026-11-01T09:00:00+00:00: pass"),
        ("fail", "2026-11-02T09:00:00+00:00: fail"),
        ("fail", "2026-11-03T09:00:00+00:00: fail"),
        ("crash", "2026-11-04T09:00:00+00:00: crash"),
    ]


def test_previous_results_are_older_than_any_given_now(tmp_path: Path) -> None:
    before = _write(
        tmp_path / "old", [versioned_run("openssl", "OpenSSL", "OpenSSL 3.0.19", "fail")]
    )
    now = _write(
        tmp_path / "new",
        [
            versioned_run(
                "openssl", "OpenSSL", "OpenSSL 3.0.19", "pass", started="2026-12-01T09:00:00+00:00"
            )
        ],
    )
    m = model.build(load.load(now).loaded, previous=load.load(before).loaded)
    assert [s for _, s in m.columns[0].history(FAMILY_RULE)] == ["fail"]
    assert m.status(FAMILY_RULE, "openssl") == "pass"


def test_run_records_when_it_started(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code = sslconform(
        [
            "run",
            "--backend",
            "reference",
            "--rules",
            "new.creates",
            "--quiet",
            "--results",
            str(out),
        ]
    )
    assert code == 0
    started = Results.read(out).started
    assert started is not None and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", started)


def test_the_samples_compare_with_themselves_without_change(tmp_path: Path) -> None:
    paths = write_samples(tmp_path / "in")
    out = tmp_path / "out"
    assert (
        main(["report", *map(str, paths), "--out", str(out), "--previous", str(tmp_path / "in")])
        == 0
    )
    page = (out / "index.html").read_text()
    assert "No cell changed status." in page and ' changed" data-col=' not in page


def test_same_inputs_same_bytes_with_previous_results_and_expected_files(tmp_path: Path) -> None:
    before = sample_results()
    _write(tmp_path / "old", before)
    now = _write(tmp_path / "new", _today(before))
    (tmp_path / "e.toml").write_text(
        'format = 1\n[[expected]]\nrule = "dup.copies.verify-param"\ncolumn = "openssl30"\n'
        'status = "fail"\nreason = "known"\nlink = "https://example.org/1"\n'
    )
    built = []
    for name in ("a", "b"):
        out = tmp_path / name
        args = [*map(str, now), "--out", str(out), "--previous", str(tmp_path / "old")]
        assert main(["report", *args, "--expected", str(tmp_path / "e.toml")]) == 0
        built.append(
            {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        )
    assert built[0] == built[1] and "index.html" in built[0]
