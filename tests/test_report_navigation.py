"""Permalinks to cells, one line per rule, and each column's page of anomalies."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import sample_rules, write_samples

from conformance.report import html, load, model


def _page(tmp_path: Path) -> tuple[model.Matrix, str]:
    m = model.build(load.load(write_samples(tmp_path / "in")).loaded, sample_rules())
    return m, html.render(m)


def test_every_cell_link_has_its_drill_down_and_ids_are_unique(tmp_path: Path) -> None:
    m, page = _page(tmp_path)
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    links = set(re.findall(r'href="#([^"]+)"', page))
    assert links <= set(ids), links - set(ids)
    # A cell's anchor names its rule and its column: the same in every report.
    assert (
        html.cell_id("dup.copies.verify-param", "openssl30") == "dup.copies.verify-param@openssl30"
    )
    assert html.cell_id("a b<c>", "x/y") == "a_b_c_@x_y"
    for rule_id, column in m.cells:
        assert f'id="{html.cell_id(rule_id, column)}"' in page
    drill = re.search(
        r'<section class="drill" id="dup.copies.verify-param@openssl30".*?</section>', page, re.S
    )
    assert drill is not None
    assert '<a class="permalink" href="#dup.copies.verify-param@openssl30"' in drill.group()


def test_rows_are_one_line_and_the_quotes_are_in_the_drill_downs(tmp_path: Path) -> None:
    _, page = _page(tmp_path)
    row = re.search(r'<tr class="rule"[^>]*data-rule="new.inherits.options">.*?</tr>', page, re.S)
    assert row is not None
    assert "<blockquote>" not in row.group() and 'class="quote"' not in row.group()
    assert '<div class="one" title="The new structure inherits' in row.group()
    assert "\n" not in row.group()
    rule_drill = re.search(r'<section class="drill" id="rule-0".*?</section>', page, re.S)
    assert rule_drill is not None
    assert "<blockquote>The new structure inherits the settings" in rule_drill.group()
    assert "SSL_CTX_set_options, SSL_new, SSL_get_options" in rule_drill.group()  # how


def test_each_column_has_a_page_of_its_anomalies(tmp_path: Path) -> None:
    m, page = _page(tmp_path)
    for col in m.columns:
        assert f'href="#anomalies-{col.key}"' in page
    boring = re.search(r'<section class="drill" id="anomalies-boringssl".*?</section>', page, re.S)
    assert boring is not None
    text = boring.group()
    assert "Breaks the page's promise (fails, crashes, hangs): 1" in text
    assert 'href="#new.inherits.options@boringssl"' in text
    assert "Could not be observed: 1" in text and "extra.unknown.rule" in text
    assert "Promised by the page, lacking in the library: 6" in text
    # The calls it lacks, named: from the trace where it has them, else the detail.
    up_ref = re.search(r'href="#ref.up-ref.increments@boringssl".*?</tr>', text, re.S)
    assert up_ref is not None and "<td>SSL_up_ref</td>" in up_ref.group()
    ossl111 = re.search(
        r'<section class="drill" id="anomalies-openssl111".*?</section>', page, re.S
    )
    assert ossl111 is not None
    assert (
        "SIGSEGV in SSL_new(NULL)" in ossl111.group()
        and "lacking in the library: 0" in ossl111.group()
    )
