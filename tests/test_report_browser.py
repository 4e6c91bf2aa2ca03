"""End to end: the report opened from disk in headless Chromium, driven by selenium.

The browser is Debian's chromium and chromium-driver, found by their executable paths;
installing them is a step of the test environment (.ci/run), never of this test. Where
they cannot be had, the test says so and is skipped.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import write_family_runs, write_samples

from conformance.report import load
from conformance.report.cli import write_report

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402

# What works here as root, and fetches nothing: no first-run, sync, updates or QUIC.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def _executables() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        missing = [n for n, p in (("chromium", chromium), ("chromedriver", driver)) if not p]
        pytest.skip(
            f"no headless Chromium: {' and '.join(missing)} not on PATH "
            "(.ci/run installs Debian's chromium and chromium-driver)"
        )
    return chromium, driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    chromium, driver = _executables()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    log = tmp_path_factory.mktemp("chromedriver") / "chromedriver.log"
    # The driver by its path: selenium's own driver manager would go to the network.
    service = Service(executable_path=driver, log_output=str(log))
    chrome = webdriver.Chrome(options=options, service=service)
    yield chrome
    chrome.quit()


def _visible(rows: list[WebElement]) -> list[WebElement]:
    return [r for r in rows if r.is_displayed()]


def test_report_in_chromium(browser: WebDriver, tmp_path: Path) -> None:
    started = time.monotonic()
    outcome = load.load(write_samples(tmp_path / "results"))
    out = tmp_path / "report"
    matrix = write_report(outcome, out)
    browser.get((out / "index.html").as_uri())
    find = browser.find_element
    find_all = browser.find_elements

    # The matrix: one row per rule, one column per backend, the known deviation in place.
    rows = find_all(By.CSS_SELECTOR, "tr.rule")
    assert len(rows) == len(matrix.rules)
    heads = [e.text for e in find_all(By.CSS_SELECTOR, "table.matrix thead th[data-col]")]
    # Grouped by family, the page's own library first, each family by version.
    assert [h.splitlines()[0] for h in heads] == ["openssl111", "openssl30", "boringssl"]
    cell = find(By.CSS_SELECTOR, 'tr[data-rule="dup.copies.verify-depth"] td[data-col="openssl30"]')
    assert cell.text == "fail"
    assert browser.title == "SSL_new(3) conformance"  # a hostile version string did nothing

    # The stylesheet and the script ran under the page's CSP (allowed by their hashes).
    drill = find(By.CSS_SELECTOR, "section.drill")
    assert drill.value_of_css_property("display") == "none"
    shown = find(By.ID, "shown")
    assert shown.text == f"{len(matrix.rules)} of {len(matrix.rules)} rules shown"

    # Filter: only where the backends disagree.
    find(By.CSS_SELECTOR, 'input[name="disagree"]').click()
    visible = _visible(find_all(By.CSS_SELECTOR, "tr.rule"))
    expected = [r.id for r in matrix.rules if matrix.disagree(r.id)]
    assert 0 < len(visible) < len(matrix.rules)
    assert sorted(r.get_attribute("data-rule") or "" for r in visible) == sorted(expected)
    assert shown.text == f"{len(expected)} of {len(matrix.rules)} rules shown"

    # Filter: by backend (its column goes) and by status (only failing rows stay).
    find(By.CSS_SELECTOR, 'input[name="backend"][value="boringssl"]').click()
    assert not find(By.CSS_SELECTOR, 'table.matrix th[data-col="boringssl"]').is_displayed()
    assert not find(By.CSS_SELECTOR, 'th.family[data-family="BoringSSL"]').is_displayed()
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
        find(By.CSS_SELECTOR, f'input[name="status"][value="{status}"]').click()
    visible = _visible(find_all(By.CSS_SELECTOR, "tr.rule"))
    assert [r.get_attribute("data-rule") for r in visible] == ["dup.copies.verify-depth"]

    # Drill-down: the failing cell opens expected/observed, script, seed, replay and the
    # C reproducer the run recorded, with its source to download.
    find(
        By.CSS_SELECTOR, 'tr[data-rule="dup.copies.verify-depth"] td[data-col="openssl30"] a'
    ).click()
    target = browser.current_url.rsplit("#", 1)[1]
    panel = find(By.ID, target)  # an anchor that names the rule and the column
    assert panel.tag_name == "section"
    assert panel.is_displayed()
    text = panel.text
    for needle in (
        "dup.copies.verify-depth on openssl30",
        "expected / observed",
        "ssl_dup(ssl=0)",
        "1234",
        "sslconform run --backend openssl30 --rules dup.copies.verify-depth --seed 1234",
        "sslconform replay ",
        "C reproducer: does not reproduce",
        "cc -std=c99 -O0 dup.copies.verify-depth.c",
    ):
        assert needle in text, needle
    link = panel.find_element(By.CSS_SELECTOR, 'a[href$=".c"]')
    assert (
        link.get_attribute("href") == (out / "repro/openssl30/dup.copies.verify-depth.c").as_uri()
    )

    shot = tmp_path / "report-drilldown.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000

    panel.find_element(By.CSS_SELECTOR, "a.close").click()
    assert not panel.is_displayed()

    # The console is clean: no CSP violation (the browser log shows them), no error.
    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == []
    print(f"browser test: {time.monotonic() - started:.1f} s, screenshot {shot}")


# What a row may take: one line of text and its padding.
ROW_HEIGHT_PX = 26

# Every element inside a cell of a table (or a drill-down's definition) that shows
# past its cell's box: [(rule, element, how far in px)]. What an ancestor inside the cell
# clips (overflow other than visible) is not shown, so only that ancestor is measured.
OVERFLOW = """
const out = [];
const clipped = (el, cell) => {
  for (let p = el.parentElement; p && p !== cell; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== "visible") { return true; }
  }
  return false;
};
const within = (cell, label) => {
  const box = cell.getBoundingClientRect();
  cell.querySelectorAll("*").forEach((el) => {
    if (clipped(el, cell)) { return; }
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) { return; }
    const past = Math.max(r.right - box.right, box.left - r.left);
    if (past > 1) { out.push([label, el.tagName + "." + el.className, Math.round(past)]); }
  });
};
document.querySelectorAll(arguments[0]).forEach((cell) => {
  const row = cell.closest("tr");
  within(cell, (row && row.getAttribute("data-rule")) || cell.tagName);
});
return out;
"""


def test_compact_rows_family_groups_permalinks_and_anomalies(
    browser: WebDriver, tmp_path: Path
) -> None:
    outcome = load.load([*write_samples(tmp_path / "a"), *write_family_runs(tmp_path / "b")])
    out = tmp_path / "report"
    matrix = write_report(outcome, out)
    page = (out / "index.html").as_uri()
    browser.get(page)
    find = browser.find_element
    find_all = browser.find_elements

    # One line per rule: no row is taller than a line of text, the quotes are elsewhere.
    rows = find_all(By.CSS_SELECTOR, "tr.rule")
    assert len(rows) == len(matrix.rules)
    heights = {r.get_attribute("data-rule"): r.size["height"] for r in rows}
    assert max(heights.values()) <= ROW_HEIGHT_PX, heights
    assert find_all(By.CSS_SELECTOR, "table.matrix blockquote") == []

    # Text stays inside its cell: the rule's summary is cut at the cell's edge.
    overflow = browser.execute_script(OVERFLOW, "table.matrix td, table.matrix th")
    assert overflow == []
    summary = find(By.CSS_SELECTOR, 'tr[data-rule="dup.copies.verify-param"] td.rule .one')
    assert (
        browser.execute_script("return arguments[0].scrollWidth", summary) > summary.size["width"]
    )

    # Columns under their family, each family by version.
    families = [e.text for e in find_all(By.CSS_SELECTOR, "table.matrix th.family")]
    assert families == [
        "OpenSSL",
        "wolfSSL",
        "AWS-LC",
        "BoringSSL",
        "GnuTLS",
        "rustls",
        "reference model",
    ]
    shot = tmp_path / "report-matrix.png"
    assert browser.save_screenshot(str(shot))

    # A permalink opens its cell's drill-down, in view, its text inside its box.
    anchor = "ret.new.null-ctx@openssl35"
    browser.get(f"{page}#{anchor}")
    panel = find(By.ID, anchor)
    assert panel.is_displayed()
    assert "ret.new.null-ctx on openssl35" in panel.text
    versions = matrix.version_history("ret.new.null-ctx", "OpenSSL")
    assert versions is not None and versions.startswith("fails since 1.1.1w; fixed in ")
    assert f"OpenSSL versions\n{versions}" in panel.text
    top = browser.execute_script("return arguments[0].getBoundingClientRect().top", panel)
    assert 0 <= top < browser.execute_script("return window.innerHeight")
    assert browser.execute_script(OVERFLOW, f'section[id="{anchor}"] dd') == []
    link = panel.find_element(By.CSS_SELECTOR, "a.permalink")
    assert link.get_attribute("href") == f"{page}#{anchor}"
    assert browser.save_screenshot(str(tmp_path / "report-permalink.png"))

    # A column's name opens its page of anomalies: what breaks, what it lacks.
    browser.get(page)
    find(By.CSS_SELECTOR, 'table.matrix th[data-col="boringssl"] a').click()
    anomalies = find(By.ID, "anomalies-boringssl")
    assert anomalies.is_displayed()
    assert "Breaks the page's promise (fails, crashes, hangs): 1" in anomalies.text
    assert "Promised by the page, lacking in the library: 6" in anomalies.text
    assert "SSL_up_ref" in anomalies.text
    anomalies.find_element(By.CSS_SELECTOR, 'a[href="#new.inherits.options@boringssl"]').click()
    assert find(By.ID, "new.inherits.options@boringssl").is_displayed()
    assert not anomalies.is_displayed()
    assert browser.save_screenshot(str(tmp_path / "report-anomalies.png"))

    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == []
    print(f"screenshots in {tmp_path}")
