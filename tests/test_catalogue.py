"""The rules catalogue: complete, verbatim, and every testable rule observed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance import spec
from conformance.properties import PROPERTIES
from conformance.rules import GROUPS, PAGES, RULES
from conformance.settings import SETTINGS


def test_ids_are_unique_lowercase_dotted() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for rule_id in ids:
        assert re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", rule_id), rule_id


def test_every_rule_says_where_and_how() -> None:
    for r in RULES:
        assert r.group in GROUPS
        assert r.quotes and set(r.quotes) <= set(PAGES), r.id
        assert r.how
        if not r.testable:
            assert r.reason, f"{r.id} is not testable but gives no reason"


def test_every_testable_rule_has_a_property_and_nothing_else_does() -> None:
    testable = {r.id for r in RULES if r.testable}
    assert testable == set(PROPERTIES)


def test_every_listed_setting_is_a_rule_of_its_own() -> None:
    ids = {r.id for r in RULES}
    for s in SETTINGS:
        if s.dup:
            assert f"dup.copies.{s.name}" in ids
        if s.inherit:
            assert f"new.inherits.{s.name}" in ids


def test_a_line_naming_several_setters_gives_one_rule_per_setter() -> None:
    dh = [r.id for r in RULES if "SSL_set_dh_auto(3)" in r.quotes.get("1.1.1k", "")]
    assert sorted(dh) == ["dup.copies.dh-auto", "dup.copies.tmp-dh", "dup.copies.tmp-dh-callback"]


def test_version_qualifier_is_kept() -> None:
    proto = [r for r in RULES if "proto-version" in r.id and r.id.startswith("dup.")]
    assert proto and all(r.since == "1.1.1h" for r in proto)


def test_the_spec_files_are_the_projects_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # Checked, never skipped: the project carries the page (spec/ at the top).
    monkeypatch.delenv(spec.SPEC_ENV, raising=False)
    assert spec.spec_dir() == spec.PROJECT_SPEC
    root = Path(__file__).resolve().parent.parent
    assert spec.PROJECT_SPEC.resolve() == (root / "spec").resolve()


def test_sslconform_spec_names_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(spec.SPEC_ENV, str(tmp_path))
    assert spec.spec_dir() is None  # not silently the project's copy
    for name in spec.SPEC_FILES.values():
        (tmp_path / name).write_bytes((spec.PROJECT_SPEC / name).read_bytes())
    assert spec.spec_dir() == tmp_path


def test_quotes_are_verbatim_in_the_page_versions_they_name() -> None:
    assert spec.spec_dir() is not None
    assert spec.quote_problems() == []


def test_the_whole_page_is_accounted_for() -> None:
    coverage = spec.coverage()
    assert coverage is not None
    for page in coverage:
        assert page.uncovered == [], page.page
        assert page.percent == 100.0
