"""The report page as a reader gets it: every section, the figures the database holds, nothing loaded
from another host, hostile platform text shown as text."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime

import pytest
from tests.reports.report_scenario import (
    ACCOUNTS,
    FORMULA,
    RETIRED,
    RETIRED_POSTING,
    XSS_CLOSE,
    XSS_IMG,
    XSS_SCRIPT,
    Scenario,
    parse,
    texts,
)
from sqlalchemy import text

from registry.errors import GovpulseError, NotFoundError

SECTIONS = (
    "summary",
    "units",
    "trend",
    "flagged",
    "accounts",
    "plan",
    "cases",
    "followup",
    "problems",
    "inventory",
    "checks",
    "scope",
    "method",
)
FLAGGED = ("dormant", "zombie", "shell", "unreachable")


def db_counts(sc: Scenario, run_id: int) -> Counter:
    """(platform, status) -> accounts, straight from the tables: in-service verdicts of the run."""
    with sc.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.platform, v.status, count(*) FROM verdict v JOIN account a ON a.id = v.account_id "
                "WHERE v.run_id = :r AND v.registry_status NOT IN ('closed', 'merged') GROUP BY a.platform, v.status"
            ),
            {"r": run_id},
        ).all()
    return Counter({(p, s): n for p, s, n in rows})


def table_rows(doc) -> list[list]:
    """The interactive table's rows, from the page's data block (written column by column)."""
    columns = json.loads(doc.xpath("//script[@id='table-data']")[0].text)["columns"]
    return [list(row) for row in zip(*columns, strict=True)]


def figure(doc, name: str) -> str:
    return doc.xpath(f"//*[@id='summary']//*[@data-figure='{name}']")[0].text_content().strip()


def test_every_section_is_present_in_chinese(scenario: Scenario, make_report) -> None:
    paths = make_report(scenario)
    assert paths.html.name == "govpulse-report-2026-11-27.html"
    assert paths.latest.read_bytes() == paths.html.read_bytes()
    doc = parse(paths.html)
    assert doc.get("lang") == "zh-CN"
    assert [s.get("id") for s in doc.xpath("//main/section")] == list(SECTIONS)
    headings = texts(doc.xpath("//main/section/h2"))
    for expected in (
        "范围与巡查时间",
        "总体情况",
        "趋势",
        "单位排名",
        "问题账号及证据",
        "全部账号",
        "整合方案",
        "巡查异常",
        "工作群与政务应用",
        "合规检查",
        "研判方法",
    ):
        assert any(h.startswith(expected) for h in headings), (expected, headings)
    # Times are Beijing time: the run was judged as of 2026-11-27 10:00 +08:00.
    assert "2026-11-27 10:00" in doc.xpath("//section[@id='scope']")[0].text_content()
    assert doc.xpath("//section[@id='trend']//svg//polyline"), "trend chart drawn inline"


def test_figures_equal_what_the_database_holds(scenario: Scenario, make_report) -> None:
    doc = parse(make_report(scenario).html)
    counts = db_counts(scenario, scenario.run_id)
    by_status = Counter()
    for (_, status), n in counts.items():
        by_status[status] += n
    total = sum(by_status.values())
    checked = total - by_status["unknown"]
    passing = by_status["active"] + by_status["shell"]
    assert figure(doc, "total") == str(total) == "14"  # the closed account is not counted
    assert figure(doc, "checked") == str(checked)
    assert figure(doc, "passing") == str(passing)
    assert figure(doc, "flagged") == str(sum(by_status[s] for s in FLAGGED))
    assert figure(doc, "unknown") == str(by_status["unknown"])
    assert figure(doc, "rate") == f"{passing / checked * 100:.1f}%"
    # One card per verdict, adding up to the total: a shell is counted once.
    assert sum(int(figure(doc, f"status-{s}")) for s in by_status) == total
    conclusion = doc.xpath("//*[@id='conclusion']")[0].text_content()
    assert f"达标率{passing / checked * 100:.1f}%" in conclusion and f"僵尸{by_status['zombie']}个" in conclusion
    assert doc.xpath("//*[@data-figure='retired']")[0].text_content().strip() == "2"
    # ... but a closed account that still posts is listed, with what the scorer noticed.
    still = doc.xpath("//table[@id='retired-posting-table']/tbody/tr")
    assert [int(r.get("data-account-id")) for r in still] == [scenario.accounts[RETIRED_POSTING]]
    assert "台账中已整合或关停，仍在更新" in still[0].text_content()

    for platform in ("wechat", "weibo", "toutiao"):
        row = doc.xpath(f"//table[@id='summary-table']//tr[@data-platform='{platform}']")[0]
        for cell in row.xpath("td[@data-status]"):
            assert int(cell.text_content()) == counts[(platform, cell.get("data-status"))], (
                platform,
                cell.get("data-status"),
            )

    # Flagged list: exactly the flagged verdicts, worst first.
    with scenario.engine.connect() as conn:
        flagged_ids = {
            r[0]
            for r in conn.execute(
                text(
                    "SELECT account_id FROM verdict WHERE run_id = :r AND registry_status = 'active' AND status IN "
                    "('dormant', 'zombie', 'shell', 'unreachable')"
                ),
                {"r": scenario.run_id},
            )
        }
    rows = doc.xpath("//table[contains(@class, 'flagged-table')]/tbody/tr")
    assert {int(r.get("data-account-id")) for r in rows} == flagged_ids
    groups = doc.xpath("//section[@id='flagged']/details")
    league = [r.get("data-unit-id") for r in doc.xpath("//table[@id='units-table']/tbody/tr")]
    assert [g.get("data-unit-id") for g in groups] == [
        u for u in league if u in {g.get("data-unit-id") for g in groups}
    ]
    assert all(g.get("open") is not None for g in groups), "a small list is open, and prints whole"
    first = [texts(r.xpath("td[4]"))[0] for r in groups[0].xpath(".//tbody/tr")]
    order = ["僵尸", "无法访问", "睡眠（不达标）", "空壳"]
    assert first == sorted(first, key=order.index), "worst first within a unit"
    silent = next(r for r in rows if int(r.get("data-account-id")) == scenario.accounts["一中校园"])
    cells = texts(silent.xpath("td"))
    assert cells[5] == "200" and cells[6] == "0" and cells[7] == "0" and cells[9] == "1,234"
    assert "关停" in cells[12] and XSS_SCRIPT in cells[12]  # the plan's recommendation, as text
    # WeChat through a feed gives no engagement: missing, shown as "—", not 0.
    feed_only = next(r for r in rows if int(r.get("data-account-id")) == scenario.accounts["江边社区"])
    assert texts(feed_only.xpath("td"))[8] == "—"

    # Changes since the previous run: the changes stored with the run's verdicts, counted.
    with scenario.engine.connect() as conn:
        stored = dict(
            conn.execute(
                text(
                    "SELECT change, count(*) FROM verdict WHERE run_id = :c AND registry_status = 'active' GROUP BY change"
                ),
                {"c": scenario.run_id},
            ).all()
        )
    assert stored["newly_flagged"] and stored["recovered"] and stored["new"], "the scenario has each kind"
    assert figure(doc, "newly_flagged") == str(stored["newly_flagged"])
    assert figure(doc, "recovered") == str(stored["recovered"])
    assert figure(doc, "new_accounts") == str(stored["new"])


def test_unit_league_and_problems(scenario: Scenario, make_report) -> None:
    doc = parse(make_report(scenario).html)
    # Expected: each in-service account counted under the child of the district that contains it.
    league_of = {
        "滨江区": "滨江区",
        "区教育局": "区教育局",
        "第一中学": "区教育局",
        "区卫健委": "区卫健委",
        "长河街道": "长河街道",
        "江边社区": "长河街道",
    }
    expected = Counter(league_of[org] for name, org, *_ in ACCOUNTS if name not in RETIRED)
    rows = doc.xpath("//table[@id='units-table']/tbody/tr")
    got = {texts(r.xpath("td[2]"))[0].replace("（本级）", ""): int(texts(r.xpath("td[3]"))[0]) for r in rows}
    assert got == dict(expected)
    rates = [float(r.xpath("td[@data-col='rate']")[0].get("data-v")) for r in rows]
    assert rates == sorted(rates), "worst rate first: the units to call are at the top"
    for r in rows:  # counts per verdict add up to the unit's accounts
        per_status = [int(td.get("data-v")) for td in r.xpath("td[@data-status]")]
        assert len(per_status) == 6 and sum(per_status) == int(texts(r.xpath("td[3]"))[0])

    problems = doc.xpath("//table[@id='problems-table']/tbody/tr")
    outcome = {int(r.get("data-account-id")): r.get("data-outcome") for r in problems}
    assert outcome == {
        scenario.accounts["卫健头条"]: "gone",
        scenario.accounts["卫健服务"]: "timeout",
        scenario.accounts["长河街道"]: "login_required",
        scenario.accounts[FORMULA]: "malformed",
        scenario.accounts["新开账号"]: "never",
    }
    never = next(r for r in problems if r.get("data-outcome") == "never")
    assert texts(never.xpath("td[5]")) == ["从未巡查"]

    plan = doc.xpath("//section[@id='plan']//details[@class='group']")
    assert [g.xpath("summary/h3")[0].text.strip() for g in plan] == ["区教育局 / 第一中学", "滨江区"]
    assert all(g.get("open") is not None for g in plan), "a short plan is open, and prints whole"
    assert [r.get("data-action") for r in plan[0].xpath(".//tbody/tr")] == ["close", "merge"]


def test_no_reference_to_any_other_host(scenario: Scenario, make_report) -> None:
    paths = make_report(scenario)
    raw = paths.html.read_text(encoding="utf-8")
    doc = parse(paths.html)
    csp = doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp
    assert not doc.xpath("//link | //img | //iframe | //object | //embed | //video | //audio | //source")
    assert not doc.xpath("//*[@src]"), "nothing loaded by URL"
    for style in doc.xpath("//style/text()") + doc.xpath("//@style"):
        assert "@import" not in style and not re.search(r"url\(", style)
    for el in doc.xpath("//*[@href]"):
        href = el.get("href")
        if href.startswith(("http://", "https://")):
            assert el.tag == "a", "only links may point elsewhere"
        else:
            assert href.startswith("#") or href in (paths.xlsx.name, paths.csv.name), href
    for svg_attr in doc.xpath("//svg//@*[local-name()='href']"):
        pytest.fail(f"svg reference {svg_attr}")
    scripts = doc.xpath("//script")
    assert [s.get("type") for s in scripts] == ["application/json", None]
    assert "fetch(" not in raw and "XMLHttpRequest" not in raw and "import(" not in raw


def test_untrusted_text_is_escaped_everywhere(scenario: Scenario, make_report) -> None:
    paths = make_report(scenario)
    raw = paths.html.read_text(encoding="utf-8")
    doc = parse(paths.html)
    assert XSS_SCRIPT not in raw and "<img src=x" not in raw and XSS_CLOSE not in raw
    assert not doc.xpath("//img") and len(doc.xpath("//script")) == 2
    shown = "".join(t.text_content() for t in doc.xpath("//table[contains(@class, 'flagged-table')]"))
    assert XSS_SCRIPT in shown and XSS_IMG in shown and f"rule {XSS_CLOSE}" in shown
    assert not [h for h in doc.xpath("//@href") if not h.startswith(("#", "http://", "https://", "govpulse-"))]
    assert not any("javascript:" in h.lower() for h in doc.xpath("//@href"))
    # The data block holds the same strings, still closed by its own end tag.
    block = doc.xpath("//script[@id='table-data']")[0].text
    assert "</" not in block and "<" not in block
    names = [row[2] for row in table_rows(doc)]
    assert XSS_SCRIPT in names and XSS_IMG in names and FORMULA in names
    by_name = {row[2]: row for row in table_rows(doc)}
    assert by_name[XSS_SCRIPT][15] is None, "javascript: URL dropped"
    assert by_name["一中微博"][15].startswith("https://")
    # Problems keep the crawler's reason as text.
    assert f"HTML instead of JSON {XSS_CLOSE}" in doc.xpath("//table[@id='problems-table']")[0].text_content()


def test_a_name_that_reads_as_the_pages_data_slot_stays_a_name(scenario: Scenario, make_report) -> None:
    """The table's data is written into the page where the template leaves a slot; a value that spells
    the slot is escaped text, never a second place for the data."""
    from sqlalchemy import text

    from reports.render import DATA_SLOT

    with scenario.engine.begin() as conn:
        conn.execute(
            text("UPDATE account SET name = :n WHERE id = :id"),
            {"n": str(DATA_SLOT), "id": scenario.accounts["一中微博"]},
        )
    paths = make_report(scenario)
    raw = paths.html.read_text(encoding="utf-8")
    assert str(DATA_SLOT) not in raw and raw.count('<script type="application/json" id="table-data">') == 1
    doc = parse(paths.html)
    assert str(DATA_SLOT) in [row[2] for row in table_rows(doc)]
    assert "&lt;govpulse-page-data/&gt;" in raw  # shown as text where the page lists the account


def test_english_labels_same_figures(scenario: Scenario, make_report) -> None:
    zh = parse(make_report(scenario).html)
    en = parse(make_report(scenario, lang="en").html)
    assert en.get("lang") == "en"
    assert texts(en.xpath("//main/section/h2"))[0] == "Summary"
    assert "Flagged accounts and evidence" in texts(en.xpath("//section[@id='flagged']/h2"))[0]
    for name in ("total", "checked", "passing", "flagged", "unknown", "rate"):
        assert figure(en, name) == figure(zh, name)
    assert "Zombie" in texts(en.xpath("//table[contains(@class, 'flagged-table')]/tbody/tr/td[4]"))


def test_org_limits_the_report_to_a_subtree(scenario: Scenario, make_report) -> None:
    paths = make_report(scenario, org="区教育局")
    assert paths.html.name == f"govpulse-report-2026-11-27-unit{scenario.orgs['区教育局']}.html"
    doc = parse(paths.html)
    assert sorted(row[2] for row in table_rows(doc)) == sorted(["滨江教育", "教育局头条", "一中校园", "一中微博"])
    units = texts(doc.xpath("//table[@id='units-table']/tbody/tr/td[2]"))
    assert sorted(units) == ["区教育局（本级）", "第一中学"]
    assert figure(doc, "total") == "4"
    with pytest.raises(NotFoundError):
        make_report(scenario, org="没有这个单位")


def test_as_of_reports_an_earlier_run(scenario: Scenario, make_report) -> None:
    from registry.timeutil import parse_as_of

    paths = make_report(scenario, as_of=parse_as_of("2026-11-21"))
    assert paths.html.name == "govpulse-report-2026-11-20.html"
    doc = parse(paths.html)
    assert figure(doc, "total") == str(sum(db_counts(scenario, scenario.prev_run_id).values()))
    assert "没有可比较的上次结果" in doc.xpath("//section[@id='summary']")[0].text_content()
    with pytest.raises(GovpulseError, match=r"no score run as of 2020-01-01 .* covers this scope"):
        make_report(scenario, as_of=datetime(2020, 1, 1).astimezone())


def test_long_lists_are_cut_in_the_page_but_not_in_the_table(scenario: Scenario, make_report, report_settings) -> None:
    report_settings.data["report"]["max_html_rows"] = 2
    doc = parse(make_report(scenario).html)
    assert len(doc.xpath("//table[contains(@class, 'flagged-table')]/tbody/tr")) == 2
    assert "此处列出前 2 条（共 7 条）" in doc.xpath("//section[@id='flagged']")[0].text_content()
    assert len(table_rows(doc)) == 14


def test_notices_one_per_unit_for_a4(scenario: Scenario, make_report, report_settings) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from registry.models import Account
    from registry.timeutil import to_local, utcnow

    conf = report_settings.data["report"]
    conf.update(
        deadline_days=10,
        issuer="滨江区委网信办",
        doc_no="滨网信通〔{year}〕{n}号",
        contact="王明",
        phone="0571-8888 0000",
    )
    with scenario.engine.begin() as conn:  # the account's own contact, from the registry
        conn.execute(
            update(Account.__table__)
            .where(Account.__table__.c.id == scenario.accounts["一中微博"])
            .values(contact_name="李老师", contact_phone="13800001111")
        )
    paths = make_report(scenario, by_unit=True)
    doc = parse(paths.notices)
    notices = doc.xpath("//article[@class='notice']")
    assert [texts(n.xpath("h1"))[0] for n in notices] == [
        f"关于{u}政务新媒体巡查问题的整改通知"
        for u in texts(parse(paths.html).xpath("//table[@id='units-table']/tbody/tr/td[2]"))
    ]
    today, deadline = to_local(utcnow()), to_local(utcnow()) + timedelta(days=10)
    edu = next(n for n in notices if n.get("data-unit-id") == str(scenario.orgs["区教育局"]))
    text = edu.text_content()
    number = notices.index(edu) + 1
    assert texts(edu.xpath("p[@class='doc-no']")) == [f"滨网信通〔{today.year}〕{number}号"]
    assert texts(edu.xpath("p[@class='to']")) == ["区教育局："]
    # The request names its policy basis and the deadline in the official form (2026年12月4日).
    request = texts(edu.xpath("p[contains(@class, 'deadline')]"))[0]
    assert "国办发〔2018〕123号" in request and f"{deadline.year}年{deadline.month}月{deadline.day}日前" in request
    assert "报送滨江区委网信办" in request
    assert "联系人：王明，联系电话：0571-8888 0000" in text
    assert texts(edu.xpath(".//div[@class='sign']/div[@class='issuer']")) == ["滨江区委网信办"]
    assert texts(edu.xpath(".//div[@class='sign']/div[@class='date']")) == [
        f"{today.year}年{today.month}月{today.day}日"
    ]
    assert edu.xpath(".//div[@class='sign']/div[@class='seal']"), "room for the seal above the signature"
    assert {int(r.get("data-account-id")) for r in edu.xpath(".//table[@class='notice-flagged']/tbody/tr")} == {
        scenario.accounts[n] for n in ("教育局头条", "一中校园", "一中微博")
    }
    row = edu.xpath(f".//table[@class='notice-flagged']/tbody/tr[@data-account-id='{scenario.accounts['一中微博']}']")[
        0
    ]
    contact = row.xpath("td[last()]")[0]
    assert (contact.text.strip(), contact.xpath("div")[0].text) == ("李老师", "13800001111")
    assert row.xpath("td[last()]/@data-label") == ["联系人/电话"]  # a phone shows each cell with its column
    css = doc.xpath("//style/text()")[0]
    assert "size: A4 portrait" in css and "break-after: page" in css
    raw = paths.notices.read_text(encoding="utf-8")  # names from the platforms are shown, never markup
    assert XSS_SCRIPT not in raw and "<img src=x" not in raw and not doc.xpath("//img")
    assert XSS_SCRIPT in doc.text_content() and XSS_IMG in doc.text_content()
    assert len(paths.unit_notices) == len(notices)
    single = parse(paths.unit_notices[0])
    assert len(single.xpath("//article[@class='notice']")) == 1
    assert all(p.parent == paths.notices.with_suffix("") for p in paths.unit_notices)


def test_a_run_limited_to_one_unit_is_used_only_for_that_unit(scenario: Scenario, make_report) -> None:
    from datetime import timedelta

    from sqlalchemy import insert, select

    from registry.models import ScoreRun, Verdict
    from registry.scoring.history import change
    from tests.reports.report_scenario import AS_OF, POLICY

    unit = scenario.orgs["区卫健委"]
    with scenario.engine.begin() as conn:  # a later run over 区卫健委 only: everything active
        run = conn.execute(
            insert(ScoreRun.__table__).values(
                as_of=AS_OF + timedelta(days=1), policy={**POLICY, "scope": {"org_id": unit}}, summary={}
            )
        ).inserted_primary_key[0]
        ids = [scenario.accounts[n] for n, org, *_ in ACCOUNTS if org == "区卫健委" and n not in RETIRED]
        before = {
            r.account_id: (r.status, "[]", r.flagged_since)
            for r in conn.execute(select(Verdict.__table__).where(Verdict.run_id == scenario.run_id))
        }
        conn.execute(
            insert(Verdict.__table__),
            [  # with the change the scorer's history would store
                {
                    "run_id": run,
                    "account_id": a,
                    "status": "active",
                    "registry_status": "active",
                    "flags": [],
                    "evidence": {},
                    "previous_status": before[a][0],
                    "change": change("active", before[a], AS_OF + timedelta(days=1))[0],
                }
                for a in ids
            ],
        )
    whole = parse(make_report(scenario).html)
    assert whole.xpath("//title")[0].text_content().endswith("2026-11-27"), "the unit's run is not the district's"
    assert figure(whole, "total") == "14"
    part = parse(make_report(scenario, org="区卫健委").html)
    assert part.xpath("//title")[0].text_content().endswith("2026-11-28")
    assert figure(part, "total") == str(len(ids)) and figure(part, "passing") == str(len(ids))
    # Its previous run is the district's run, which covered the unit too.
    assert figure(part, "recovered") == "1"  # 卫健头条 was unreachable; unknown -> active is not a recovery


def test_method_shows_the_policy_of_the_run_and_both_languages_are_complete(scenario: Scenario, make_report) -> None:
    from reports.i18n import catalog

    assert set(catalog("zh")) == set(catalog("en")), "every label in both languages"
    doc = parse(make_report(scenario).html)
    rows = {
        texts(r.xpath("td[1]"))[0]: texts(r.xpath("td[2]"))[0]
        for r in doc.xpath("//table[@id='policy-table']/tbody/tr")
    }
    assert rows["不更新阈值（天，国家检查单项否决）"] == "14" and rows["统计窗口（天）"] == "90"
    assert rows["shell · max_originals"] == "1", "a key without a label is shown as it is"
    assert "90天发布" in texts(doc.xpath("(//table[contains(@class, 'flagged-table')])[1]/thead//th"))


def test_a_long_flagged_list_starts_closed_by_unit_and_prints_as_a_summary(scenario: Scenario, make_report) -> None:
    from tests.reports.report_scenario import add_bulk

    add_bulk(scenario, 230)  # about 100 more dormant accounts under 区卫健委
    doc = parse(make_report(scenario).html)
    groups = doc.xpath("//section[@id='flagged']/details")
    assert groups and all(g.get("open") is None for g in groups)
    health = next(g for g in groups if g.get("data-unit-id") == str(scenario.orgs["区卫健委"]))
    summary = health.xpath("summary")[0].text_content()
    rows = health.xpath(".//tbody/tr")
    assert f"问题账号 {len(rows)} 个" in summary and "睡眠（不达标） " in summary
    assert "打印时只打印已展开的单位" in doc.xpath("//section[@id='flagged']/p[@class='note']")[0].text_content()
