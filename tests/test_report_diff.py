"""`sslconform diff`: the rules whose status changed."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import sample_results, write_samples

from conformance.report import diff, load
from conformance.report.cli import main
from conformance.results import RuleResult


def test_two_backends_compared_directly(tmp_path: Path) -> None:
    paths = {p.stem: p for p in write_samples(tmp_path)}
    old = load.load([paths["openssl30"]]).loaded
    new = load.load([paths["openssl111"]]).loaded
    [pair] = diff.diff(old, new)
    assert (pair.old_backend, pair.new_backend) == ("openssl30", "openssl111")
    changed = {c.rule: (c.old, c.new) for c in pair.changes}
    assert changed == {
        "dup.copies.verify-depth": ("fail", "pass"),
        "dup.copies.min-proto-version": ("pass", "not-applicable"),
        "ret.new.null-ctx": ("pass", "crash"),
    }
    assert pair.unchanged == 5


def test_sets_paired_by_backend(tmp_path: Path) -> None:
    before = sample_results()
    after = copy.deepcopy(before)
    after[0].rules[3] = RuleResult("dup.copies.verify-depth", "pass")
    after[0].rules.append(RuleResult("new.brand-new", "fail", detail="x"))
    del after[2]  # boringssl not run today
    for folder, results in (("old", before), ("new", after)):
        for r in results:
            r.write(tmp_path / folder / f"{r.backend}.json")
    pairs = diff.diff(load.load([tmp_path / "old"]).loaded, load.load([tmp_path / "new"]).loaded)
    by = {(p.old_backend, p.new_backend): p for p in pairs}
    assert set(by) == {
        ("boringssl", None),
        ("openssl111", "openssl111"),
        ("openssl30", "openssl30"),
    }
    assert not by[("openssl111", "openssl111")].changes
    assert {(c.rule, c.old, c.new) for c in by[("openssl30", "openssl30")].changes} == {
        ("dup.copies.verify-depth", "fail", "pass"),
        ("new.brand-new", "not-run", "fail"),
    }
    text = diff.render_text(pairs)
    assert "boringssl: only in the old results" in text
    assert "dup.copies.verify-depth: fail -> pass" in text
    assert json.loads(diff.render_json(pairs))[0]["old_backend"] == "boringssl"
    assert "| `new.brand-new` | not-run | fail |" in diff.render_markdown(pairs)


def test_cli_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = {p.stem: p for p in write_samples(tmp_path)}
    assert main(["diff", str(paths["openssl30"]), str(paths["openssl111"])]) == 0
    assert "ret.new.null-ctx: pass -> crash" in capsys.readouterr().out
    assert main(["diff", "--exit-code", str(paths["openssl30"]), str(paths["openssl111"])]) == 1
    assert main(["diff", "--exit-code", str(paths["openssl30"]), str(paths["openssl30"])]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "nope.json"), str(paths["openssl30"])]) == 2
    err = capsys.readouterr().err
    assert "nope.json: no such file or folder" in err and "Traceback" not in err
