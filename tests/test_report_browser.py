"""End to end: the report opened from disk in headless Chromium, driven over WebDriver.

Debian's chromium and chromium-driver are installed with apt-get when missing; the test
is skipped (saying why) only when that cannot be done. The driver is a small WebDriver
client over urllib (tests/webdriver.py): no browser package from PyPI.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import sample_rules, write_samples
from webdriver import Browser, ensure_chromium

from conformance.report import load
from conformance.report.cli import write_report


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    found = ensure_chromium()
    if isinstance(found, str):
        pytest.skip(f"no headless Chromium: {found}")
    profile = tmp_path_factory.mktemp("chromium") / "profile"
    driver = Browser(found[0], found[1], profile)
    yield driver
    driver.close()


def test_report_in_chromium(browser: Browser, tmp_path: Path) -> None:
    started = time.monotonic()
    outcome = load.load(write_samples(tmp_path / "results"))
    out = tmp_path / "report"
    matrix = write_report(outcome, out, rules=sample_rules())
    browser.get((out / "index.html").as_uri())

    # The matrix: one row per rule, one column per backend, the known deviation in place.
    rows = browser.find_all("tr.rule")
    assert len(rows) == len(matrix.rules)
    heads = [browser.text(e) for e in browser.find_all("table.matrix thead th[data-col]")]
    assert [h.splitlines()[0] for h in heads] == ["boringssl", "openssl111", "openssl30"]
    cell = browser.find('tr[data-rule="dup.copies.verify-depth"] td[data-col="openssl30"]')
    assert browser.text(cell) == "fail"
    assert browser.title() == "SSL_new(3) conformance"  # a hostile version string did nothing

    # The stylesheet and the script ran under the page's CSP (allowed by their hashes).
    drill = browser.find("section.drill")
    assert browser.css(drill, "display") == "none"
    shown = browser.find("#shown")
    assert browser.text(shown) == f"{len(matrix.rules)} of {len(matrix.rules)} rules shown"

    # Filter: only where the backends disagree.
    browser.click(browser.find('input[name="disagree"]'))
    visible = [r for r in browser.find_all("tr.rule") if browser.displayed(r)]
    expected = [r.id for r in matrix.rules if matrix.disagree(r.id)]
    assert 0 < len(visible) < len(matrix.rules)
    assert sorted(browser.attribute(r, "data-rule") or "" for r in visible) == sorted(expected)
    assert browser.text(shown) == f"{len(expected)} of {len(matrix.rules)} rules shown"

    # Filter: by backend (its column goes) and by status (only failing rows stay).
    browser.click(browser.find('input[name="backend"][value="boringssl"]'))
    assert not browser.displayed(browser.find('table.matrix th[data-col="boringssl"]'))
    for status in (
        "pass",
        "absent",
        "not-applicable",
        "crash",
        "error",
        "not-run",
        "timeout",
        "untestable",
    ):
        browser.click(browser.find(f'input[name="status"][value="{status}"]'))
    visible = [r for r in browser.find_all("tr.rule") if browser.displayed(r)]
    assert [browser.attribute(r, "data-rule") for r in visible] == ["dup.copies.verify-depth"]

    # Drill-down: the failing cell opens expected/observed, script, seed, replay, C program.
    browser.click(
        browser.find('tr[data-rule="dup.copies.verify-depth"] td[data-col="openssl30"] a')
    )
    target = browser.url().rsplit("#", 1)[1]
    panel = browser.find(f"section#{target}")
    assert browser.displayed(panel)
    text = browser.text(panel)
    for needle in (
        "dup.copies.verify-depth on openssl30",
        "expected / observed",
        "ssl_dup(ssl=0)",
        "1234",
        "sslconform run --backend openssl30 --rules dup.copies.verify-depth --seed 1234",
        "sslconform replay ",
        "C reproducer",
    ):
        assert needle in text, needle

    shot = tmp_path / "report-drilldown.png"
    browser.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000

    browser.click(browser.find(f"section#{target} a.close"))
    assert not browser.displayed(panel)

    # The console is clean: no CSP violation (the log shows them; see webdriver.py), no error.
    severe = [e for e in browser.browser_log() if e.get("level") == "SEVERE"]
    assert severe == []
    print(f"browser test: {time.monotonic() - started:.1f} s, screenshot {shot}")
