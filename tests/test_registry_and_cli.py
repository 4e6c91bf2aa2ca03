"""Backends come from entry points; a run's results file carries its catalogue."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest

from conformance import registry
from conformance.cli import main
from conformance.report import load, model
from conformance.results import Results
from conformance.rules import RULES


def test_the_projects_backends_are_registered() -> None:
    found = registry.all_backends()
    assert {"reference", "openssl", "openssl111", "boringssl", "rustls"} <= set(found)
    # Every adapter is a backend folder's module, but the reference model: it is the
    # harness's own oracle (conformance.model), declared as a column by backends/reference.
    assert all(b.adapter.startswith("backends.") for b in found.values() if b.name != "reference")
    assert found["reference"].adapter == "conformance.model"


def test_without_registered_backends_the_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [])
    assert main(["backends"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "sslconform: no backends are registered (entry points sslconform.backends): "
        "install the project, e.g. pip install -e .\n"
    )


def test_replay_compares_with_the_reference_backend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"ops": [{"op": "ctx_new", "method": "tls"}]}))
    assert main(["replay", str(script), "--backend", "reference"]) == 0
    assert "# 0 observation(s) differ from the reference model" in capsys.readouterr().out


def test_a_run_records_the_catalogue_it_was_held_to(tmp_path: Path) -> None:
    out = tmp_path / "reference.json"
    args = ["run", "--backend", "reference", "--rules", "new.creates", "--profile", "quick"]
    assert main([*args, "--results", str(out), "--quiet"]) == 0
    results = Results.read(out)
    assert results.catalogue is not None
    carried = [e.id for e in results.catalogue]
    untestable = [r.id for r in RULES if not r.testable]
    assert carried == [r.id for r in RULES if r.id == "new.creates" or not r.testable]
    entry = results.catalogue[carried.index("new.creates")]
    assert entry.quotes == dict(next(r for r in RULES if r.id == "new.creates").quotes)
    # The report's rows are the file's: the rule it ran and the sentences no test observes.
    matrix = model.build(load.load([out]).loaded)
    assert [r.id for r in matrix.rules] == carried
    assert [r.id for r in matrix.rules if not r.testable] == untestable
