"""The simulator's WeChat over real HTTP: the MP-backend lists (JSON inside JSON strings), searchbiz,
article pages and the account-state notices, read counts, and the session and rate-limit codes."""

from __future__ import annotations

import base64

import json
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from tests.simulation import fetch, pick

from simulator import SimulatorHandle, build_scenario, start_simulator
from simulator.render.pages import WECHAT_NOTICES

PUBLISH = "/cgi-bin/appmsgpublish?sub=list&search_field=null&type=101_1&free_publish_type=1&sub_action=list_ex"
LIST_EX = "/cgi-bin/appmsg?action=list_ex&type=9"
CT = re.compile(rb'var ct = "(\d+)";')


def publish_pages(sim: SimulatorHandle, fakeid: str, count: int = 5) -> list[dict]:
    """appmsgpublish, page by page until an empty publish_list; each page decoded twice."""
    pages, begin = [], 0
    while True:
        js = fetch(sim.base_url, f"{PUBLISH}&begin={begin}&count={count}&fakeid={fakeid}&token=1&f=json&ajax=1").json()
        assert js["base_resp"] == {"ret": 0, "err_msg": "ok"}
        page = json.loads(js["publish_page"])
        if not page["publish_list"]:
            return pages
        pages.append(page)
        begin += count
        assert len(pages) < 200


def articles(pages: list[dict]) -> list[dict]:
    return [
        a for page in pages for entry in page["publish_list"] for a in json.loads(entry["publish_info"])["appmsgex"]
    ]


def test_appmsgpublish_pages_cover_every_article(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "active", "wechat")
    posts = truth_server.scenario.posts(acc)
    pages = publish_pages(truth_server, acc.platform_id, count=4)
    found = articles(pages)
    assert sorted(a["aid"] for a in found) == sorted(p.id for p in posts)
    assert pages[0]["total_count"] == len({p.push for p in posts}) == sum(len(p["publish_list"]) for p in pages)
    by_id = {p.id: p for p in posts}
    for a in found:
        assert a["aid"] == f"{a['appmsgid']}_{a['itemidx']}" and a["create_time"] == by_id[a["aid"]].ts
        query = parse_qs(urlsplit(a["link"]).query)
        assert query["__biz"] == [acc.platform_id] and query["mid"] == [str(a["appmsgid"])]
    pushes = [json.loads(e["publish_info"]) for p in pages for e in p["publish_list"]]
    assert any(len(p["appmsgex"]) > 1 for p in pushes)  # several articles in one push share its time
    assert all(len({a["create_time"] for a in p["appmsgex"]}) == 1 for p in pushes)


def test_appmsg_list_ex_pages_cover_every_article(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "active", "wechat")
    posts = truth_server.scenario.posts(acc)
    seen, begin = [], 0
    while True:
        js = fetch(truth_server.base_url, f"{LIST_EX}&begin={begin}&count=5&fakeid={acc.platform_id}").json()
        assert js["base_resp"]["ret"] == 0 and js["app_msg_cnt"] == len(posts)
        if not js["app_msg_list"]:
            break
        seen += [a["aid"] for a in js["app_msg_list"]]
        begin += 5
    assert sorted(seen) == sorted(p.id for p in posts) and len(seen) == len(set(seen))


def test_searchbiz_finds_the_fakeid(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "active", "wechat")
    js = fetch(
        truth_server.base_url,
        f"/cgi-bin/searchbiz?action=search_biz&begin=0&count=5&query={quote(acc.name)}"
        "&token=1&lang=zh_CN&f=json&ajax=1",
    ).json()
    assert js["base_resp"]["ret"] == 0 and acc.platform_id in [r["fakeid"] for r in js["list"]]


def test_article_pages_carry_the_publish_time(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "active", "wechat")
    first = articles(publish_pages(truth_server, acc.platform_id))[0]
    link = urlsplit(first["link"])
    page = fetch(truth_server.base_url, f"{link.path}?{link.query}")
    assert page.status == 200 and page.content_type.startswith("text/html")
    assert int(CT.search(page.body).group(1)) == first["create_time"]
    assert b'id="js_content"' in page.body and b"wx_follow_nickname" in page.body


def test_gone_accounts_list_old_articles_whose_pages_say_so(truth_server: SimulatorHandle) -> None:
    for kind in ("deregistered", "migrated", "banned"):
        acc = pick(truth_server.scenario, kind, "wechat")
        found = articles(publish_pages(truth_server, acc.platform_id))
        assert found  # the list still shows what was published
        link = urlsplit(found[0]["link"])
        page = fetch(truth_server.base_url, f"{link.path}?{link.query}")
        assert WECHAT_NOTICES[kind].encode() in page.body and not CT.search(page.body)


def test_short_links_and_unknown_articles(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "active", "wechat")
    atom = fetch(
        truth_server.base_url, f"/feeds/MP_WXS_{base64.b64decode(acc.platform_id).decode()}.atom"
    ).body.decode()
    short = re.search(r"<id>https://mp\.weixin\.qq\.com(/s/[\w-]+)</id>", atom).group(1)
    page = fetch(truth_server.base_url, short)
    assert CT.search(page.body)
    gone = fetch(truth_server.base_url, f"/s?__biz={acc.platform_id}&mid=1&idx=1&sn=0")
    assert WECHAT_NOTICES["deleted_article"].encode() in gone.body


def test_blocked_account_pages_show_the_waf(faults_server: SimulatorHandle) -> None:
    acc = pick(faults_server.scenario, "blocked", "wechat")
    page = fetch(faults_server.base_url, f"/s?__biz={acc.platform_id}&mid=1&idx=1&sn=0")
    assert "环境异常".encode() in page.body


def test_read_counts_need_a_token_and_stop_at_100001(demo_server: SimulatorHandle) -> None:
    sc = demo_server.scenario
    acc = max((a for a in sc.accounts if a.platform == "wechat" and a.kind == "active"), key=lambda a: a.followers)
    post = max(sc.posts(acc), key=lambda p: p.reads or 0)
    form = f"__biz={acc.platform_id}&mid={post.push}&idx={post.idx}&sn=x&is_only_read=1".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    js = fetch(
        demo_server.base_url, "/mp/getappmsgext?appmsg_token=abc&x5=0", method="POST", body=form, headers=headers
    ).json()
    assert js["appmsgstat"]["read_num"] == 100_001 and js["appmsgstat"]["like_num"] == post.likes
    no_token = fetch(demo_server.base_url, "/mp/getappmsgext?x5=0", method="POST", body=form, headers=headers).json()
    assert no_token["base_resp"]["ret"] == -3 and "appmsgstat" not in no_token


@pytest.mark.parametrize(("variant", "ret"), [("freq_control", 200013), ("invalid_session", 200003)])
def test_session_and_rate_limit_codes(faults_server: SimulatorHandle, variant: str, ret: int) -> None:
    kind = "blocked" if variant == "freq_control" else "login_wall"
    acc = pick(faults_server.scenario, kind, "wechat", variant=variant)
    for path in (PUBLISH, LIST_EX):
        js = fetch(faults_server.base_url, f"{path}&begin=0&count=5&fakeid={acc.platform_id}").json()
        assert js["base_resp"]["ret"] == ret


def test_malformed_lists(faults_server: SimulatorHandle) -> None:
    acc = pick(faults_server.scenario, "malformed", "wechat", variant="bad_inner_json")
    js = fetch(faults_server.base_url, f"{PUBLISH}&begin=0&count=5&fakeid={acc.platform_id}").json()
    assert js["base_resp"]["ret"] == 0
    with pytest.raises(json.JSONDecodeError):
        json.loads(js["publish_page"])
    acc = pick(faults_server.scenario, "malformed", "wechat", variant="html_error")
    got = fetch(faults_server.base_url, f"{LIST_EX}&begin=0&count=5&fakeid={acc.platform_id}")
    assert got.content_type.startswith("text/html")


def test_list_closed_everywhere_when_the_platform_closed_it() -> None:
    scenario = build_scenario("truth", wechat_list_closed=True)
    acc = pick(scenario, "active", "wechat")
    with start_simulator(scenario) as sim:
        js = fetch(sim.base_url, f"{PUBLISH}&begin=0&count=5&fakeid={acc.platform_id}").json()
        assert js["base_resp"] == {"ret": 200013, "err_msg": "freq control"}
        assert (
            fetch(sim.base_url, f"/feeds/MP_WXS_{base64.b64decode(acc.platform_id).decode()}.atom").status == 200
        )  # the bridge still works
    truth = scenario.truth()[acc.key]
    assert truth["routes"]["api"]["status"] == "unknown" and truth["routes"]["feed"]["status"] == "active"
