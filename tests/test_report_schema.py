"""The results file's models: the published schema is theirs, and bad files read as one line."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import sample_results, write_samples

from conformance.report import load
from conformance.results import (
    PUBLISHED,
    CatalogueEntry,
    LibraryInfo,
    Observed,
    Reproducer,
    Results,
    RuleResult,
    results_schema,
    schema_text,
)

BASELINE = Path("/work/baseline-results")


def test_published_schema_has_not_drifted_from_the_models() -> None:
    assert PUBLISHED.read_text() == schema_text(), (
        "schema/results.schema.json is stale: run `sslconform schema --out "
        "schema/results.schema.json`"
    )


def test_schema_is_valid_and_covers_every_field() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema checks the schema itself")
    doc = results_schema()
    jsonschema.Draft202012Validator.check_schema(doc)
    assert set(doc["properties"]) == {f.name for f in dataclasses.fields(Results)}
    for cls in (LibraryInfo, RuleResult, Observed, Reproducer, CatalogueEntry):
        assert set(doc["$defs"][cls.__name__]["properties"]) == {
            f.name for f in dataclasses.fields(cls)
        }
    status = doc["$defs"]["RuleResult"]["properties"]["status"]["enum"]
    assert "pass" in status and "crash" in status
    # Files written by the models are valid under the schema the models publish.
    validator = jsonschema.Draft202012Validator(doc)
    for results in sample_results():
        assert list(validator.iter_errors(results.to_json())) == []


def test_written_results_read_back_equal(tmp_path: Path) -> None:
    for path, results in zip(write_samples(tmp_path), sample_results(), strict=True):
        assert load.read_one(path) == results


def _bad(tmp_path: Path, mutate: Any) -> str:
    data = sample_results()[0].to_json()
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError) as info:
        load.read_one(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def test_an_error_reads_as_one_line_naming_the_place_and_the_expectation(
    tmp_path: Path,
) -> None:
    def status(d: dict[str, Any]) -> None:
        d["rules"][3]["status"] = "passed"

    assert _bad(tmp_path, status) == (
        "rules[3].status: expected one of pass, fail, flaky, absent, not-applicable, crash, "
        "timeout, error, got 'passed'"
    )
    assert _bad(tmp_path, lambda d: d.pop("library")) == "library: required, missing"
    assert _bad(tmp_path, lambda d: d.update(surprise=1)) == (
        "surprise: not a field of a results file"
    )
    assert _bad(tmp_path, lambda d: d["rules"][1].update(examples="many")) == (
        "rules[1].examples: expected a valid integer, got 'many'"
    )
    assert _bad(tmp_path, lambda d: d["rules"][3]["reproducer"].update(outcome="yes")) == (
        "rules[3].reproducer.outcome: expected one of reproduces, does-not-reproduce, "
        "not-built, got 'yes'"
    )
    assert _bad(tmp_path, lambda d: d["catalogue"][0].pop("quotes")) == (
        "catalogue[0].quotes: required, missing"
    )
    assert _bad(tmp_path, lambda d: d.update(format=99)) == (
        "format: expected 1 or 2 (an sslconform results file), got 99"
    )


def test_rejects_non_json_and_non_objects(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        load.read_one(path)
    path.write_text("[]")
    with pytest.raises(ValueError, match=r"top level: expected an sslconform results file"):
        load.read_one(path)


def test_bad_file_costs_one_line(tmp_path: Path) -> None:
    good = write_samples(tmp_path / "in")
    bad = tmp_path / "in" / "zz-bad.json"
    bad.write_text('{"format": 1, "backend": "x"}')
    outcome = load.load([tmp_path / "in", tmp_path / "missing"])
    assert len(outcome.loaded) == len(good)
    assert sorted(outcome.errors) == sorted(
        [f"{bad}: library: required, missing", f"{tmp_path / 'missing'}: no such file or folder"]
    )


def test_constructing_a_result_validates_it() -> None:
    with pytest.raises(ValueError, match="Input should be 'pass', 'fail'"):
        RuleResult("new.creates", "passed")  # type: ignore[arg-type]
    # Positional and keyword construction both work, as the harness uses them.
    assert RuleResult("new.creates", "pass", 3) == RuleResult(
        id="new.creates", status="pass", examples=3
    )


@pytest.mark.skipif(not BASELINE.is_dir(), reason="no baseline results on this machine")
def test_format_1_files_still_load() -> None:
    for path in sorted(BASELINE.glob("*.json")):
        results = Results.read(path)
        assert results.format == 1 and results.catalogue is None
        assert len(results.rules) == len(json.loads(path.read_text())["rules"])


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.json"
    first = sample_results()[0]
    first.write(path)
    before = path.read_bytes()

    def fail(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        sample_results()[1].write(path)
    assert path.read_bytes() == before  # the last complete file stands
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary left behind


def test_a_file_written_rule_by_rule_is_the_json_of_its_results(tmp_path: Path) -> None:
    # Each write keeps the text of the rules written before: what is written is still the
    # results' JSON (indented, keys sorted), whatever changed between two writes.
    path = tmp_path / "r.json"
    results = sample_results()[0]
    rules = list(results.rules)
    changed = dataclasses.replace(rules[0], detail="changed since — ünïcode")
    for written in ([], rules[:1], rules, [changed, *rules[1:]]):
        results.rules = written
        results.write(path)
        assert path.read_text() == json.dumps(results.to_json(), indent=1, sort_keys=True) + "\n"
