"""HTML, JUnit and Markdown outputs: escaping, CSP, grouping, determinism."""

from __future__ import annotations

import base64
import hashlib
import html as html_module
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import (
    ABLE_TO_FAIL,
    HOSTILE,
    REPRO_PARAM,
    sample_results,
    sample_rules,
    write_samples,
)

from conformance.report import html, load, markdown, model
from conformance.report.cli import write_report


def _matrix(tmp_path: Path) -> model.Matrix:
    return model.build(load.load(write_samples(tmp_path / "in")).loaded, sample_rules())


def test_hostile_strings_are_escaped(tmp_path: Path) -> None:
    page = html.render(_matrix(tmp_path))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "\x1b" not in page and "\x00" not in page
    assert "\\x1b[31m\\x00" in page
    assert page.count("<script>") == 1  # only the report's own


def test_csp_allows_exactly_the_inline_blocks(tmp_path: Path) -> None:
    page = html.render(_matrix(tmp_path))
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = csp.group(1).replace("&#x27;", "'")
    assert policy.startswith("default-src 'none';")
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert style and script
    for block, directive in ((style.group(1), "style-src"), (script.group(1), "script-src")):
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy
    # Nothing fetched: no src, no style attributes, links only to anchors or local files.
    assert " src=" not in page and " style=" not in page
    for href in re.findall(r'href="([^"]*)"', page):
        assert href.startswith(("#", "repro/")), href


def test_rules_grouped_as_the_page_groups_them(tmp_path: Path) -> None:
    page = html.render(_matrix(tmp_path))
    heads = re.findall(r'<th class="(?:group|sub)" colspan="\d+">([^<]+)</th>', page)
    assert heads == [
        "SSL_new",
        "reference counting",
        "SSL_dup identity",
        "SSL_dup settings — verify-depth",
        "SSL_dup settings — verify-mode",
        "SSL_dup settings — verify-param",
        "SSL_dup settings — min-proto-version",
        "return values",
        "other rules",
    ]
    assert "The new structure inherits the settings of the underlying context ctx" in page
    assert "not testable: the page names no call" in page
    untestable = re.search(r'data-rule="ret.dup.timeout-settings".*?</tr>', page, re.S)
    assert untestable and untestable.group().count('data-status="untestable"') == 3


def test_summary_counts(tmp_path: Path) -> None:
    m = _matrix(tmp_path)
    counts = m.counts("boringssl")
    assert counts["absent"] == 6 and counts["fail"] == 1 and counts["error"] == 1
    assert m.disagree("dup.copies.verify-depth")
    assert not m.disagree("ret.dup.timeout-settings")


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    outcome = load.load(write_samples(tmp_path / "in"))
    a, b = tmp_path / "a", tmp_path / "b"
    write_report(outcome, a, rules=sample_rules())
    write_report(load.load(write_samples(tmp_path / "in")), b, rules=sample_rules())
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert Path("index.html") in files and Path("junit/openssl30.xml") in files
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_junit_per_backend(tmp_path: Path) -> None:
    outcome = load.load(write_samples(tmp_path / "in"))
    write_report(outcome, tmp_path / "out", rules=sample_rules())
    root = ET.parse(tmp_path / "out" / "junit" / "boringssl.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "1" and suite.get("errors") == "1"
    assert suite.get("skipped") == "6"
    names = [c.get("name") for c in suite.iter("testcase")]
    assert "ref.up-ref.increments" in names and "ret.dup.timeout-settings" not in names
    failure = next(c for c in suite.iter("testcase") if c.find("failure") is not None)
    assert failure.get("classname") == "sslconform.boringssl.SSL_new"
    text = (tmp_path / "out" / "junit" / "boringssl.xml").read_text()
    assert "\x1b" not in text and "\x00" not in text and "<script>" not in text


def test_markdown_escapes(tmp_path: Path) -> None:
    text = markdown.render(_matrix(tmp_path))
    assert "<script>" not in text
    assert "\\<script\\>" in text
    assert "| boringssl |" in text
    assert "`dup.copies.verify-depth` | openssl30 | fail" in text
    assert markdown.md("a|b [x](y) `z`") == "a\\|b \\[x\\](y) \\`z\\`"
    assert HOSTILE not in text


def test_reproducers_shown_as_the_run_recorded_them(tmp_path: Path) -> None:
    outcome = load.load(write_samples(tmp_path / "in"))
    out = tmp_path / "out"
    write_report(outcome, out, rules=sample_rules())
    written = sorted(str(p.relative_to(out)) for p in (out / "repro").rglob("*") if p.is_file())
    # A hostile file name stays inside its column's folder.
    assert written == [
        "repro/openssl111/_._.._ret.new.null-ctx.c",
        "repro/openssl30/dup.copies.verify-depth.c",
        "repro/openssl30/dup.copies.verify-param.c",
    ]
    assert (out / "repro/openssl30/dup.copies.verify-param.c").read_text() == REPRO_PARAM.source
    page = (out / "index.html").read_text()
    assert '<span class="r-yes">reproduces</span>' in page
    assert '<span class="r-no">does not reproduce</span>' in page
    assert '<span class="r-not-built">not built</span>' in page
    assert '<a href="repro/openssl30/dup.copies.verify-param.c">' in page
    assert "<pre>" + html_module.escape(REPRO_PARAM.build, quote=True) + "</pre>" in page
    assert page.count("<script>") == 1  # the hostile output is escaped too
    summary = (out / "summary.md").read_text()
    assert "| the duplicate shows auth-level 0, s shows 1 | reproduces |" in summary
    junit_text = (out / "junit" / "openssl30.xml").read_text()
    assert "C reproducer: reproduces (REPRODUCED" in junit_text
    assert "repro/openssl30/dup.copies.verify-param.c" in junit_text


def test_rows_come_from_the_catalogue_the_results_carry(tmp_path: Path) -> None:
    m = model.build(load.load(write_samples(tmp_path / "in")).loaded)
    assert [r.id for r in m.rules] == [r.id for r in sample_rules()] + ["extra.unknown.rule"]
    assert m.rules[0].quotes == sample_rules()[0].quotes


def test_format_1_results_take_this_checkouts_catalogue(tmp_path: Path) -> None:
    results = sample_results()[1]
    results.catalogue, results.format = None, 1
    path = tmp_path / "old.json"
    results.write(path)
    m = model.build(load.load([path]).loaded)
    assert [r.id for r in m.rules] == [r.id for r in model.catalogue()]
    assert m.status("dup.copies.verify-param", "openssl111") == "fail"


def test_a_harness_errors_traceback_is_shown_whole(tmp_path: Path) -> None:
    results = sample_results()[2]
    results.rules[-1].detail = (
        "the adapter raised AdapterBug: <wrong>\n"
        "Traceback (most recent call last):\n"
        '  File "backends/x/library.py", line 3, in dup\n'
        "AdapterBug: <wrong>\n"
    )
    path = tmp_path / "boringssl.json"
    results.write(path)
    out = tmp_path / "out"
    write_report(load.load([path]), out, rules=sample_rules())
    page = (out / "index.html").read_text()
    assert (
        "<dd>the adapter raised AdapterBug: &lt;wrong&gt;<pre>Traceback (most recent call last):\n"
        "  File &quot;backends/x/library.py&quot;, line 3, in dup\nAdapterBug: &lt;wrong&gt;</pre>"
    ) in page
    summary = (out / "summary.md").read_text()
    assert "| error | the adapter raised AdapterBug: \\<wrong\\> |" in summary
    assert "Traceback" not in summary
    junit_text = (out / "junit" / "boringssl.xml").read_text()
    assert 'message="the adapter raised AdapterBug: &lt;wrong&gt;"' in junit_text
    assert "Traceback (most recent call last):" in junit_text


def test_passes_shown_able_to_fail_are_counted_per_column(tmp_path: Path) -> None:
    outcome = load.load(write_samples(tmp_path / "in"))
    out = tmp_path / "out"
    m = write_report(outcome, out, rules=sample_rules())
    assert m.shown_able_to_fail("openssl30") == (1, 6)
    assert m.shown_able_to_fail("boringssl") == (0, 1)
    page = (out / "index.html").read_text()
    assert '<td class="n">1 of 6</td>' in page and '<td class="n">0 of 1</td>' in page
    assert f"<dt>able to fail</dt><dd>{ABLE_TO_FAIL}</dd>" in page
    summary = (out / "summary.md").read_text()
    assert "| passes shown able to fail |" in summary
    assert re.search(r"^\| openssl30 \|.*\| 1 of 6 \|$", summary, re.M)
    junit_text = (out / "junit" / "openssl30.xml").read_text()
    assert '<property name="passes shown able to fail" value="1 of 6" />' in junit_text
