"""The report in a real headless Chromium, opened from a file path with no network: it loads without
console errors, runs no injected script, filters, sorts and pages, keeps the filter in the address,
and prints."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import lxml.html
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
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={profile.name}",
    ):
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
        ".map(tr => Array.from(tr.cells).map(td => td.innerText.trim()));"
    )


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
    assert driver.find_element("id", "acct-count").text.endswith(
        f"符合条件 {BULK - 14} 个"
    )  # the generated dormant ones
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
        "return Array.from(document.querySelectorAll('#units-table tbody tr td:nth-child(3)')).map(td => +td.dataset.v)"
    )
    assert counts == sorted(counts)

    ARTIFACTS.mkdir(exist_ok=True)
    driver.set_window_size(1400, 2400)
    driver.save_screenshot(str(ARTIFACTS / "report.png"))
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
    assert poppler("fc-list", ":lang=zh", "family").strip(), "no Chinese font: the screenshot shows boxes"


TOUTIAO_TOKEN = "MS4wLjABAAAA" + "x7Kq2ZpR9vT4mWc8LdYh3NbFs6GjQe1UoPa5IrVk0Hn"  # 55 characters, no space


def print_pdf(browser: str, page: Path, out: Path) -> Path:
    """The page printed to PDF by headless Chromium from the command line, as an office's server would."""
    with tempfile.TemporaryDirectory(prefix="govpulse-print-") as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={out}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    assert out.read_bytes().startswith(b"%PDF")
    return out


def poppler(*args: str) -> str:
    if not shutil.which(args[0]):
        pytest.fail(f"{args[0]} not installed: .ci/system-deps installs poppler-utils")
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout


def squeezed(text: str) -> str:
    """Text without white space: a value wrapped over lines in a cell still reads as one."""
    return re.sub(r"\s+", "", text)


def printed(text: str, value: str) -> bool:
    """The value is on the page: its characters in order within a short stretch of the PDF's text (a cell
    wrapped over lines is read interleaved with its neighbours' lines, but a cut value misses characters)."""
    span = 30 * len(value) + 200
    start = text.find(value[0])
    while start >= 0:
        at, end = start, min(len(text), start + span)
        for ch in value[1:]:
            at = text.find(ch, at + 1, end)
            if at < 0:
                break
        else:
            return True
        start = text.find(value[0], start + 1)
    return False


def page_size(pdf: Path) -> tuple[float, float]:
    match = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", poppler("pdfinfo", str(pdf)))
    assert match
    return float(match[1]), float(match[2])


def assert_table_printed(pdf: Path, html: Path, table_xpath: str, row_id: int) -> None:
    """Every header of the table, and every value of one row, is in the PDF's text."""
    doc = lxml.html.parse(str(html)).getroot()
    table = doc.xpath(table_xpath)[0]
    text = squeezed(poppler("pdftotext", str(pdf), "-"))
    headers = [squeezed(th.text_content()) for th in table.xpath("thead/tr/th")]
    row = table.xpath(f"tbody/tr[@data-account-id='{row_id}']")[0]
    assert len(headers) == len(row.xpath("td")) >= 5
    values = [squeezed(piece) for piece in row.xpath("td//text()")]
    missing = [v for v in headers + values if v and not printed(text, v)]
    assert not missing, f"not on the printed page: {missing}"


def assert_chinese_font(pdf: Path) -> None:
    """Fonts are embedded, and the machine has a Chinese font for Chromium to embed (without one, every
    Chinese character is printed as a box, whose text still extracts: so both are checked)."""
    fonts = poppler("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts
    assert poppler("fc-list", ":lang=zh", "family").strip(), "no Chinese font: .ci/system-deps installs fonts-noto-cjk"


def test_a_printed_notice_and_report_keep_every_column_and_value(
    driver: Any, chromium_paths: tuple[str, str], sqlite_scenario: Scenario, make_report, tmp_path: Path
) -> None:
    from sqlalchemy import update

    from registry.models import Account

    account = sqlite_scenario.accounts["教育局头条"]
    with sqlite_scenario.engine.begin() as conn:
        conn.execute(
            update(Account.__table__)
            .where(Account.__table__.c.id == account)
            .values(platform_id=TOUTIAO_TOKEN, contact_name="周老师", contact_phone="0571-87654321")
        )
    paths = make_report(sqlite_scenario, by_unit=True)
    browser = chromium_paths[0]
    notice = next(p for p in paths.unit_notices if "区教育局" in p.name)
    pdf = print_pdf(browser, notice, tmp_path / "notice.pdf")
    width, height = page_size(pdf)
    assert (round(width), round(height)) == (595, 842), "a notice prints on A4 portrait"
    assert_table_printed(pdf, notice, "//table[@class='notice-flagged']", account)
    assert TOUTIAO_TOKEN in squeezed(poppler("pdftotext", str(pdf), "-"))
    assert_chinese_font(pdf)
    (ARTIFACTS / "notice.pdf").parent.mkdir(exist_ok=True)
    (ARTIFACTS / "notice.pdf").write_bytes(pdf.read_bytes())

    report_pdf = print_pdf(browser, paths.html, tmp_path / "report.pdf")
    width, height = page_size(report_pdf)
    assert (round(width), round(height)) == (842, 595), "the report prints on A4 landscape"
    assert_table_printed(
        report_pdf,
        paths.html,
        "//table[contains(@class, 'flagged-table')][tbody/tr[@data-account-id='%d']]" % account,
        account,
    )
    assert_chinese_font(report_pdf)
    (ARTIFACTS / "report.pdf").write_bytes(report_pdf.read_bytes())

    # The title is drawn with a Chinese font, not boxes: the font Chromium used for it.
    open_page(driver, notice.as_uri())
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {})["root"]["nodeId"]
    h1 = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": "h1"})["nodeId"]
    used = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": h1})["fonts"]
    chinese = poppler("fc-list", ":lang=zh", "family")
    assert any(f["familyName"] in chinese for f in used), used

    # In print the controls and the interactive table are hidden; the flagged list is not.
    open_page(driver, paths.html.as_uri())
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    visible = driver.execute_script(
        "return ['#acct-controls', '#acct-table', 'table.flagged-table', '#units-table']"
        ".map(q => document.querySelector(q)).map(e => getComputedStyle(e).display !== 'none'"
        " && e.getClientRects().length > 0)"
    )
    assert visible == [False, False, True, True]
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def test_a_notice_on_a_phone_shows_every_column(driver: Any, report: Any) -> None:
    """At 390 px each row of a notice is a block: every cell visible, inside the screen, with its column."""
    single = next(p for p in report.unit_notices if "区教育局" in p.name)
    driver.set_window_size(390, 844)
    try:
        open_page(driver, single.as_uri())
        cells = driver.execute_script(
            "return Array.from(document.querySelectorAll('table.notice-flagged tbody tr:first-child td'))"
            ".map(td => { const r = td.getBoundingClientRect();"
            " return [getComputedStyle(td, '::before').content, r.left, r.right, r.height]; })"
        )
        width = driver.execute_script("return document.documentElement.clientWidth")
        assert len(cells) == 9
        assert all(
            label not in ("none", "normal", '""') and left >= 0 and right <= width + 1 and height > 0
            for label, left, right, height in cells
        ), cells
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width + 1
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "notice-phone.png"))
    finally:
        driver.set_window_size(1400, 1000)
