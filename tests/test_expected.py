"""Expected-results files: versions, entries, writing and reading back, the shipped files."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from conformance.expected import (
    Entry,
    ExpectedError,
    load,
    read_file,
    regenerate,
    render,
)
from conformance.registry import all_backends
from conformance.results import LibraryInfo, Results, RuleResult

SHIPPED = Path(__file__).resolve().parent.parent / "expected"


@pytest.mark.parametrize(
    ("reported", "number"),
    [
        ("OpenSSL 3.0.19 27 Jan 2026", "3.0.19"),
        ("OpenSSL 1.1.1w  11 Sep 2023", "1.1.1.23"),
        ("OpenSSL 1.0.2zk 1 Jan 2024", "1.0.2.37"),
        ("GnuTLS 3.7.9 (OpenSSL compatibility layer)", "3.7.9"),
        ("pyOpenSSL 26.4.0 on OpenSSL 4.0.3 29 Sep 2026", "26.4.0"),
        ("rustls 0.23.26", "0.23.26"),
        ("sslconform reference model of SSL_new(3) 1.1.1k/3.0.0", "1.1.1.11"),
    ],
)
def test_the_version_a_library_reports(reported: str, number: str) -> None:
    from conformance.expected import library_version

    assert library_version(reported) == Version(number)


def test_a_library_without_a_version_number_is_in_no_range() -> None:
    from conformance.expected import library_version

    entry = Entry(rule="dup.*", column="boringssl", status="absent", reason="r", versions=">=1")
    assert library_version("BoringSSL") is None
    assert not entry.applies("boringssl", None)
    assert Entry(rule="dup.*", column="boringssl", status="absent", reason="r").applies(
        "boringssl", None
    )


@pytest.mark.parametrize(
    ("versions", "inside", "outside"),
    [
        (">=3.0, <3.5", ["3.0.0", "3.0.19", "3.4.9"], ["1.1.1.23", "3.5.0", "4.0.3"]),
        (">=1.1.1h", ["1.1.1.8", "1.1.1.23"], ["1.1.1.7", "1.1.0.12"]),
        ("<1.1.1h", ["1.1.1.7", "1.1.1"], ["1.1.1.8"]),
        ("==3.5.*", ["3.5.0", "3.5.9"], ["3.6.0"]),
    ],
)
def test_a_version_range(versions: str, inside: list[str], outside: list[str]) -> None:
    entry = Entry(rule="dup.*", column="openssl", status="fail", reason="r", versions=versions)
    assert all(entry.applies("openssl", Version(v)) for v in inside)
    assert not any(entry.applies("openssl", Version(v)) for v in outside)
    assert not entry.applies("openssl35", Version(inside[0]))  # the column must be the same


def test_written_files_read_back_the_same(tmp_path: Path) -> None:
    entries = [
        Entry(
            rule="dup.copies.verify-param",
            column="openssl",
            status="fail",
            reason='quotes " and \\ backslashes, \t tabs, a\x7fDEL and ünïcode',
            link="https://github.com/openssl/openssl/issues/1",
            versions=">=3.0, <3.5",
        ),
        Entry(rule="ref.*", column="wolfssl", status="absent", reason="no ex_data free"),
    ]
    path = tmp_path / "e.toml"
    path.write_text(render(entries))
    assert [item.entry for item in read_file(path)] == entries
    assert [item.index for item in read_file(path)] == [1, 2]
    assert render([]).count("[[expected]]") == 0
    assert read_file(_write(tmp_path / "empty.toml", render([]))) == []


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_future_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExpectedError, match="format: Input should be 1"):
        read_file(_write(tmp_path / "e.toml", "format = 2\n"))


def test_regenerate_adds_what_is_new_with_the_detail_as_reason() -> None:
    run = Results(
        backend="openssl",
        library=LibraryInfo("OpenSSL", "OpenSSL 3.0.19 27 Jan 2026", "3.0.0"),
        state="complete",
        rules=[
            RuleResult("dup.copies.mode", "pass", examples=50),
            RuleResult("dup.copies.options", "fail", detail="the duplicate  shows\n0x4"),
            RuleResult("dup.copies.verify-mode", "error"),
        ],
    )
    plan = regenerate([run], [])
    assert [(e.rule, e.status, e.reason) for e in plan.entries] == [
        ("dup.copies.options", "fail", "the duplicate shows 0x4"),
        ("dup.copies.verify-mode", "error", "error, with no detail recorded"),
    ]
    assert plan.new == 2 and plan.kept == 0


def test_two_versions_of_one_column_give_entries_for_each_version() -> None:
    def run(version: str, status: str) -> Results:
        rules = [RuleResult("ret.dup.alloc-failure", status)]  # type: ignore[arg-type]
        return Results("openssl", LibraryInfo("OpenSSL", version, "3.0.0"), "complete", rules=rules)

    plan = regenerate([run("OpenSSL 3.0.19", "fail"), run("OpenSSL 3.5.9", "pass")], [])
    assert [(e.rule, e.versions) for e in plan.entries] == [("ret.dup.alloc-failure", "==3.0.19")]


def test_every_column_ships_an_expected_file_that_loads() -> None:
    files = sorted(SHIPPED.glob("*.toml"))
    assert sorted(p.stem for p in files) == sorted(all_backends())
    entries = load([SHIPPED])  # known rules and columns, every entry with a reason
    for item in entries:
        assert item.entry.column == item.path.stem, item.where


def test_shipped_reasons_are_written_not_prefilled() -> None:
    """A reason says what the library does; the detail a run prefills says what was seen."""
    prefilled = ("the library lacks", "this backend's adapter", "worker killed", "the duplicate")
    for item in load([SHIPPED]):
        assert not item.entry.reason.startswith(prefilled), item.where
