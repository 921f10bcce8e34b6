"""The report in a real headless Chromium, opened from a file path with no network: it loads without
console errors, runs no injected script, filters, sorts and pages, keeps the filter in the address,
and prints."""

from __future__ import annotations

import base64
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from tests.reports.report_scenario import XSS_IMG, XSS_SCRIPT, Scenario, add_bulk

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BULK = 230  # with the scenario's 14: three pages of 100


@pytest.fixture(scope="module")
def driver(chromium_paths: tuple[str, str]) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, chromedriver = chromium_paths
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    profile = tempfile.TemporaryDirectory(prefix="govpulse-chrome-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={profile.name}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(chromedriver), options=opts)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()
        profile.cleanup()


@pytest.fixture
def report(sqlite_scenario: Scenario, make_report) -> Any:
    return make_report(sqlite_scenario, by_unit=True)


@pytest.fixture
def bulk_report(sqlite_scenario: Scenario, make_report) -> Any:
    add_bulk(sqlite_scenario, BULK)
    return make_report(sqlite_scenario)


def open_page(driver: Any, url: str) -> None:
    driver.get("about:blank")
    driver.get_log("browser")  # drop what came before
    driver.get(url)


def shown_rows(driver: Any) -> list[list[str]]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#acct-table tbody tr'))"
        ".map(tr => Array.from(tr.cells).map(td => td.innerText.trim()));")


def select(driver: Any, element_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", element_id)).select_by_value(value)


def severe(driver: Any) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def test_loads_clean_filters_sorts_and_keeps_the_filter_in_the_address(driver: Any, bulk_report: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    url = bulk_report.html.as_uri()
    open_page(driver, url)
    assert severe(driver) == []
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018 - the injected alert() never ran
    assert driver.execute_script("return document.querySelectorAll('img').length") == 0

    total = 14 + BULK
    rows = shown_rows(driver)
    assert len(rows) == 100
    assert driver.find_element("id", "acct-count").text == f"共 {total} 个账号，符合条件 {total} 个"

    # Filter by status: only zombies, and the address says so.
    select(driver, "f-status", "zombie")
    rows = shown_rows(driver)
    assert len(rows) == 2 and all(r[3] == "僵尸" for r in rows)
    assert XSS_SCRIPT in [r[2].split("\n")[0] for r in rows], "hostile name shown as text"
    assert driver.current_url.endswith("#accounts?status=zombie")
    select(driver, "f-status", "shell")
    assert XSS_IMG in [r[2].split("\n")[0] for r in shown_rows(driver)]

    # Platform and unit together, then a text search.
    select(driver, "f-status", "flagged")
    select(driver, "f-platform", "weibo")
    select(driver, "f-unit", "区卫健委")
    rows = shown_rows(driver)
    assert len(rows) == 100 and all(r[1] == "微博" and r[0] == "区卫健委" and r[3] == "睡眠（不达标）" for r in rows)
    assert driver.find_element("id", "acct-count").text.endswith(f"符合条件 {BULK - 14} 个")  # the generated dormant ones
    box = driver.find_element("id", "f-q")
    box.send_keys("批量账号012")
    WebDriverWait(driver, 5).until(lambda d: len(shown_rows(d)) == 10)  # 0120 .. 0129
    assert all("批量账号012" in r[2] for r in shown_rows(driver))
    assert "q=%E6%89%B9" in driver.current_url

    # Sort by days silent, descending: the longest silence first; unknown ("—") last.
    select(driver, "f-platform", "")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACK_SPACE)
    WebDriverWait(driver, 5).until(lambda d: "q=" not in d.current_url)
    for _ in range(2):
        driver.find_element("css selector", "#acct-table th[data-key='silent']").click()
    header = driver.find_element("css selector", "#acct-table th[data-key='silent']")
    assert header.get_attribute("aria-sort") == "descending"
    silent = [int(r[6].replace(",", "")) for r in shown_rows(driver)]
    assert silent == sorted(silent, reverse=True) and silent[0] == BULK - 1
    state = driver.current_url.split("#", 1)[1]
    assert "sort=silent" in state and "dir=desc" in state and "unit=" in state

    # Next page, then reload: the same view comes back from the address.
    driver.find_element("id", "p-next").click()
    page2 = shown_rows(driver)
    assert "page=2" in driver.current_url
    driver.refresh()
    assert shown_rows(driver) == page2
    assert driver.find_element("id", "f-status").get_attribute("value") == "flagged"
    assert driver.find_element("id", "f-unit").get_attribute("value") == "区卫健委"

    # A shared link opened fresh shows the filtered view.
    open_page(driver, url + "#accounts?status=unknown")
    rows = shown_rows(driver)
    assert len(rows) == 4 and all(r[3] == "数据不足" for r in rows)
    # A search matches units (and rules) too, not only account names.
    open_page(driver, url + "#accounts?q=" + quote("江边社区"))
    rows = shown_rows(driver)
    assert len(rows) == 2 and all(r[0] == "长河街道 / 江边社区" for r in rows)
    open_page(driver, url + "#accounts?status=unknown")
    # Contents links scroll without dropping the filter from the address.
    driver.find_element("css selector", "nav.toc a[href='#method']").click()
    assert driver.current_url.endswith("#accounts?status=unknown")
    assert severe(driver) == []

    # Sorting a server-rendered table.
    open_page(driver, url)
    rate_head = driver.find_element("css selector", "#units-table th:nth-child(3)")
    rate_head.click()
    counts = driver.execute_script(
        "return Array.from(document.querySelectorAll('#units-table tbody tr td:nth-child(3)')).map(td => +td.dataset.v)")
    assert counts == sorted(counts)

    ARTIFACTS.mkdir(exist_ok=True)
    driver.set_window_size(1400, 2400)
    driver.save_screenshot(str(ARTIFACTS / "report.png"))
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_print_layout_renders(driver: Any, report: Any) -> None:
    open_page(driver, report.html.as_uri())
    pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})["data"])
    assert pdf.startswith(b"%PDF") and pdf_pages(pdf) >= 1
    (ARTIFACTS / "report.pdf").parent.mkdir(exist_ok=True)
    (ARTIFACTS / "report.pdf").write_bytes(pdf)
    # In print, the controls and the interactive table are hidden; the flagged list is not.
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    visible = driver.execute_script(
        "return ['acct-controls', 'acct-table', 'flagged-table', 'units-table']"
        ".map(id => getComputedStyle(document.getElementById(id)).display !== 'none'"
        " && document.getElementById(id).getClientRects().length > 0)")
    assert visible == [False, False, True, True]
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    # Notices: one unit per A4 page at least.
    open_page(driver, report.notices.as_uri())
    assert severe(driver) == []
    pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})["data"])
    units = driver.execute_script("return document.querySelectorAll('article.notice').length")
    assert pdf_pages(pdf) >= units == 4
    (ARTIFACTS / "notices.pdf").write_bytes(pdf)
