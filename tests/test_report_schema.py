"""The results schema: generated from the dataclasses, published, and enforced on reading."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import sample_results, write_samples

from conformance.report import load, schema
from conformance.results import LibraryInfo, Observed, Results, RuleResult

jsonschema = pytest.importorskip(
    "jsonschema", reason="jsonschema is not installed: schema validation cannot be tested"
)


def test_published_copy_is_current() -> None:
    assert schema.PUBLISHED.read_text() == schema.schema_text(), (
        "schema/results.schema.json is stale: run `sslconform schema --out "
        "schema/results.schema.json`"
    )


def test_schema_is_valid_and_covers_every_field() -> None:
    doc = schema.results_schema()
    jsonschema.Draft202012Validator.check_schema(doc)
    assert set(doc["properties"]) == {f.name for f in dataclasses.fields(Results)}
    for cls in (LibraryInfo, RuleResult, Observed):
        assert set(doc["$defs"][cls.__name__]["properties"]) == {
            f.name for f in dataclasses.fields(cls)
        }
    status = doc["$defs"]["RuleResult"]["properties"]["status"]["enum"]
    assert "pass" in status and "crash" in status


def test_written_results_validate(tmp_path: Path) -> None:
    for path in write_samples(tmp_path):
        schema.validate(json.loads(path.read_text()))
        assert load.read_one(path).backend == path.stem


def _bad(tmp_path: Path, mutate: object) -> str:
    data = sample_results()[0].to_json()
    mutate(data)  # type: ignore[operator]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError) as info:
        load.read_one(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_rejects_unknown_status(tmp_path: Path) -> None:
    def mutate(d: dict) -> None:  # type: ignore[type-arg]
        d["rules"][0]["status"] = "passed"

    assert ".rules[0].status" in _bad(tmp_path, mutate)


def test_rejects_missing_and_unknown_fields(tmp_path: Path) -> None:
    assert "library" in _bad(tmp_path, lambda d: d.pop("library"))
    assert "surprise" in _bad(tmp_path, lambda d: d.update(surprise=1))
    assert "examples" in _bad(tmp_path, lambda d: d["rules"][1].update(examples="many"))
    assert "format" in _bad(tmp_path, lambda d: d.update(format=99))


def test_rejects_non_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        load.read_one(path)


def test_bad_file_costs_one_line(tmp_path: Path) -> None:
    good = write_samples(tmp_path / "in")
    bad = tmp_path / "in" / "zz-bad.json"
    bad.write_text('{"format": 1, "backend": "x"}')
    outcome = load.load([tmp_path / "in", tmp_path / "missing"])
    assert len(outcome.loaded) == len(good)
    assert len(outcome.errors) == 2
    assert all("\n" not in e for e in outcome.errors)


def test_without_jsonschema_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "_validator", None)
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # makes `import jsonschema` fail
    outcome = load.load(write_samples(tmp_path))
    assert len(outcome.loaded) == 3 and not outcome.errors
    assert outcome.warnings == [
        "jsonschema is not installed (pip install jsonschema): results files are read "
        "without schema validation"
    ]
