"""The matrix read by family and version: column order, since when, fixed in which version."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import FAMILY_RULE, write_family_runs

from conformance.report import html, load, model


def _matrix(tmp_path: Path) -> model.Matrix:
    return model.build(load.load(write_family_runs(tmp_path / "in")).loaded)


def test_columns_grouped_by_family_and_ordered_by_version(tmp_path: Path) -> None:
    m = _matrix(tmp_path)
    assert [c.key for c in m.columns] == [
        # the page's own library, by version (1.1.1w's letter counts)
        "openssl111",
        "openssl",
        "openssl35",
        "openssl36",
        "openssl40",
        # a family held in several versions
        "wolfssl",
        "wolfssl57",
        "wolfssl59",
        # the others, by name; the oracle last
        "awslc",
        "gnutls",
        "rustls",
        "reference",
    ]
    assert [(f, len(cols)) for f, cols in m.families()] == [
        ("OpenSSL", 5),
        ("wolfSSL", 3),
        ("AWS-LC", 1),
        ("GnuTLS", 1),
        ("rustls", 1),
        ("reference model", 1),
    ]
    assert [c.version_label for c in m.columns[:5]] == [
        "1.1.1w",
        "3.0.19",
        "3.5.9",
        "3.6.5",
        "4.0.3",
    ]


def test_ten_after_nine_and_a_column_without_a_number_after_the_numbered(tmp_path: Path) -> None:
    from report_samples import versioned_run

    folder = tmp_path / "in"
    for backend, version in (
        ("x10", "X 10.0.0"),
        ("x9", "X 9.1.0"),
        ("xnone", "X"),
        ("x14", "X 14.0.0"),
    ):
        versioned_run(backend, "X", version, "pass").write(folder / f"{backend}.json")
    m = model.build(load.load([folder]).loaded)
    assert [c.key for c in m.columns] == ["x9", "x10", "x14", "xnone"]
    assert m.columns[-1].version_label == "xnone"  # named by its column when it has no number


def test_since_when_and_fixed_in(tmp_path: Path) -> None:
    m = _matrix(tmp_path)
    assert (
        m.version_history(FAMILY_RULE, "OpenSSL")
        == "fails since 1.1.1w; fixed in 3.5.9; crashes again since 4.0.3"
    )
    # An absent cell says nothing of the promise: 5.7.2 neither ends nor starts a break.
    assert m.version_history(FAMILY_RULE, "wolfSSL") == "fails since 5.9.2"
    assert m.version_history(FAMILY_RULE, "rustls") is None  # one version: its cell says it
    assert m.version_history("new.inherits.options", "OpenSSL") is None  # never broken
    assert [(r.id, f) for r, f, _ in m.version_histories()] == [
        (FAMILY_RULE, "OpenSSL"),
        (FAMILY_RULE, "wolfSSL"),
    ]


def test_the_page_shows_families_and_versions(tmp_path: Path) -> None:
    page = html.render(_matrix(tmp_path))
    family_head = r'<th class="family" colspan="(\d+)" data-family="[^"]+">([^<]+)</th>'
    families = re.findall(family_head, page)
    assert families == [
        ("5", "OpenSSL"),
        ("3", "wolfSSL"),
        ("1", "AWS-LC"),
        ("1", "GnuTLS"),
        ("1", "rustls"),
        ("1", "reference model"),
    ]
    versions = re.search(r'<table class="versions">.*?</table>', page, re.S)
    assert versions is not None
    assert "fails since 1.1.1w; fixed in 3.5.9; crashes again since 4.0.3" in versions.group()
    # The cell's drill-down says it too, for its own family.
    drill = re.search(
        r'<section class="drill" id="ret.new.null-ctx@openssl35".*?</section>', page, re.S
    )
    assert drill is not None
    assert "<dt>OpenSSL versions</dt><dd>fails since 1.1.1w; fixed in 3.5.9;" in drill.group()


def test_a_library_whose_version_string_has_no_number_goes_by_its_package(
    tmp_path: Path,
) -> None:
    """BoringSSL says only "BoringSSL": the Debian package it was fetched as orders it."""
    from report_samples import versioned_run

    folder = tmp_path / "in"
    for backend, package in (
        ("boringssl", "android-libboringssl 14.0.0+r11-1.2"),
        ("boringssl10", "android-libboringssl 10.0.0+r36-1"),
    ):
        run = versioned_run(backend, "BoringSSL", "BoringSSL", "pass")
        assert run.library is not None
        run.library.package = package
        run.write(folder / f"{backend}.json")
    m = model.build(load.load([folder]).loaded)
    assert [c.key for c in m.columns] == ["boringssl10", "boringssl"]
    assert [c.version_label for c in m.columns] == ["10.0.0", "14.0.0"]
