"""The simulator's m.weibo.cn over real HTTP: profile and timeline shapes, both paging styles, pinned
posts, date eras, count formats, and every failure a Weibo account of the scenarios can show."""

from __future__ import annotations

import http.client
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.simulation import SLOW_SECONDS, fetch, pick

from simulator import SimulatorHandle

API = "/api/container/getIndex"
MODERN = "%a %b %d %H:%M:%S %z %Y"
LEGACY = re.compile(r"^(刚刚|\d+秒前|\d+分钟前|\d+小时前|今天 \d\d:\d\d|昨天 \d\d:\d\d|\d\d-\d\d|\d{4}-\d\d-\d\d)$")


def mblogs(data: dict[str, Any]) -> list[tuple[dict, dict]]:
    """(card, mblog) for each post card, unwrapping card_type 11 groups."""
    out = []
    for card in data["cards"]:
        if card.get("card_type") == 9:
            out.append((card, card["mblog"]))
        for inner in card.get("card_group", []):
            if "mblog" in inner:
                out.append((inner, inner["mblog"]))
    return out


def walk(sim: SimulatorHandle, uid: str, *, style: str, count: int = 20, prefix: str = "107603") -> list[list[tuple]]:
    """Every page of a timeline, by page numbers or by since_id."""
    pages, page, since = [], 1, None
    while True:
        query = f"containerid={prefix}{uid}&count={count}" + (f"&since_id={since}" if since else f"&page={page}")
        js = fetch(sim.base_url, f"{API}?{query}").json()
        assert js["ok"] == 1, js
        pages.append(mblogs(js["data"]))
        info = js["data"]["cardlistInfo"]
        assert info["containerid"] == f"{prefix}{uid}" and info["total"] == len(
            sim.scenario.posts(sim.scenario.account("weibo", uid))
        )
        if style == "since":
            since = info.get("since_id")
            if since is None:
                return pages
        else:
            if info.get("page") is None:
                return pages
            page = info["page"]
        assert len(pages) < 100


def test_profile_in_both_forms(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "active", "weibo")
    for query in (
        f"containerid=100505{acc.platform_id}",
        f"type=uid&value={acc.platform_id}",
        f"type=uid&value={acc.platform_id}&containerid=100505{acc.platform_id}",
    ):
        got = fetch(truth_server.base_url, f"{API}?{query}")
        assert got.status == 200 and got.content_type.startswith("application/json")
        js = got.json()
        assert js["ok"] == 1
        user = js["data"]["userInfo"]
        assert user["id"] == int(acc.platform_id) and user["screen_name"] == acc.name
        assert user["statuses_count"] == len(truth_server.scenario.posts(acc))
        assert {
            "followers_count",
            "followers_count_str",
            "follow_count",
            "verified",
            "verified_type",
            "verified_reason",
            "profile_url",
            "avatar_hd",
        } <= set(user)
        tabs = {t["tab_type"]: t for t in js["data"]["tabsInfo"]["tabs"]}
        assert tabs["weibo"]["containerid"] == f"107603{acc.platform_id}"


def test_followers_come_as_numbers_and_as_wan_strings(demo_server: SimulatorHandle) -> None:
    seen = {"int": 0, "str": 0}
    for acc in demo_server.scenario.accounts:
        if acc.platform != "weibo" or acc.kind != "active":
            continue
        user = fetch(demo_server.base_url, f"{API}?containerid=100505{acc.platform_id}").json()["data"]["userInfo"]
        value, text = user["followers_count"], user["followers_count_str"]
        if isinstance(value, str):
            seen["str"] += 1
            assert value == text and re.fullmatch(r"\d+(\.\d)?万", text)
            assert float(text[:-1]) * 10_000 == pytest.approx(acc.followers)
        else:
            seen["int"] += 1
            assert value == acc.followers
    assert seen["int"] and seen["str"]


@pytest.mark.parametrize("style", ["page", "since"])
@pytest.mark.parametrize("prefix", ["107603", "230413"])
def test_timeline_paging_covers_every_post_once(truth_server: SimulatorHandle, style: str, prefix: str) -> None:
    acc = pick(truth_server.scenario, "pinned_old", "weibo")
    posts = truth_server.scenario.posts(acc)
    pages = walk(truth_server, acc.platform_id, style=style, count=7, prefix=prefix)
    ids = [m["id"] for page in pages for _, m in page]
    assert sorted(ids) == sorted(p.id for p in posts) and len(ids) == len(set(ids))
    pinned = [m["id"] for page in pages for _, m in page if m.get("isTop") == 1]
    assert pinned == [p.id for p in posts if p.pinned] and pages[0][0][1]["isTop"] == 1
    ordinary = [m for page in pages for _, m in page if m.get("mblogtype") != 2]
    times = [datetime.strptime(m["created_at"], MODERN) for m in ordinary]
    assert times == sorted(times, reverse=True)


def test_past_the_last_page_there_is_no_content(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "active", "weibo")
    js = fetch(truth_server.base_url, f"{API}?containerid=107603{acc.platform_id}&page=500&count=20").json()
    assert js == {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}


def test_count_is_capped_at_100(demo_server: SimulatorHandle) -> None:
    sc = demo_server.scenario
    acc = max((a for a in sc.accounts if a.platform == "weibo"), key=lambda a: len(sc.posts(a)))
    assert len(sc.posts(acc)) > 100
    js = fetch(demo_server.base_url, f"{API}?containerid=107603{acc.platform_id}&page=1&count=500").json()
    assert len([m for _, m in mblogs(js["data"]) if m["mblogtype"] == 0]) == 100


def test_pinned_old_post_comes_first_with_all_three_signals(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "pinned_old", "weibo")
    js = fetch(truth_server.base_url, f"{API}?containerid=107603{acc.platform_id}&page=1&count=10").json()
    cards = js["data"]["cards"]
    first = cards[0] if cards[0]["card_type"] == 9 else cards[0]["card_group"][0]
    assert first["profile_type_id"].startswith("proweibotop")
    assert first["mblog"]["isTop"] == 1 and first["mblog"]["mblogtype"] == 2
    rest = [m for _, m in mblogs(js["data"])[1:]]
    assert all("isTop" not in m and m["mblogtype"] == 0 for m in rest)
    pinned_at = datetime.strptime(first["mblog"]["created_at"], MODERN)
    assert pinned_at < datetime.strptime(rest[0]["created_at"], MODERN)
    truth = truth_server.scenario.truth()[acc.key]
    assert truth["expected_last_post_at"] == datetime.strptime(rest[0]["created_at"], MODERN)


def test_a_recent_pinned_post_is_the_last_update(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "pinned_new", "weibo")
    js = fetch(truth_server.base_url, f"{API}?containerid=107603{acc.platform_id}&page=1").json()
    (_, pinned), (_, second), *_ = mblogs(js["data"])
    assert pinned["isTop"] == 1
    truth = truth_server.scenario.truth()[acc.key]
    assert truth["expected_last_post_at"] == datetime.strptime(pinned["created_at"], MODERN)
    assert truth["expected_status"] == "active"
    assert (truth["expected_last_post_at"] - datetime.strptime(second["created_at"], MODERN)).days >= 25


def test_modern_dates_are_the_posts_times(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "active", "weibo")
    js = fetch(truth_server.base_url, f"{API}?containerid=107603{acc.platform_id}&page=1&count=30").json()
    by_id = {p.id: p for p in truth_server.scenario.posts(acc)}
    for _, m in mblogs(js["data"]):
        assert datetime.strptime(m["created_at"], MODERN) == by_id[m["id"]].published_at
        assert m["created_at"].endswith(" +0800 " + m["created_at"][-4:])


def test_legacy_accounts_use_the_relative_forms(truth_server: SimulatorHandle) -> None:
    styles = set()
    for acc in truth_server.scenario.accounts:
        if acc.kind != "legacy_dates":
            continue
        styles.add(acc.variant)
        pages = walk(truth_server, acc.platform_id, style="page", count=100)
        forms = [m["created_at"] for page in pages for _, m in page]
        assert all(LEGACY.match(f) for f in forms), forms
        assert forms[0] in ("刚刚",) or re.fullmatch(r"\d+秒前|\d+分钟前", forms[0])
        assert {"昨天", "分钟前"} <= {k for f in forms for k in ("昨天", "分钟前") if k in f}
        assert any(re.fullmatch(r"\d{4}-\d\d-\d\d", f) for f in forms)
        assert truth_server.scenario.truth()[acc.key]["last_post_tolerance_s"] == 120
    assert styles == {"mweibo", "weibocn"}


@pytest.mark.parametrize("hour", [0, 5, 9, 23])
def test_legacy_forms_at_any_hour_of_the_day(hour: int) -> None:
    """The relative forms depend on the hour in Shanghai: 昨天 must still appear just after midnight."""
    from datetime import timedelta, timezone

    from simulator import build_scenario
    from simulator.render.common import legacy_weibo_time

    now = datetime(2026, 3, 16, hour, 5, tzinfo=timezone(timedelta(hours=8)))
    scenario = build_scenario("truth", now=now)
    at = scenario.now_ts + 30
    for acc in (a for a in scenario.accounts if a.kind == "legacy_dates"):
        forms = [legacy_weibo_time(p.ts, at, acc.variant or "mweibo") for p in scenario.posts(acc)]
        assert all(LEGACY.match(f) for f in forms), forms
        assert any(f.startswith("昨天 ") for f in forms), forms
        assert any(f.endswith("分钟前") for f in forms), forms


def test_shapes_of_posts_across_a_district(demo_server: SimulatorHandle) -> None:
    """Over every Weibo account of the demo: the variants of real responses all occur."""
    seen: dict[str, int] = {}

    def note(key: str, cond: bool) -> None:
        seen[key] = seen.get(key, 0) + int(bool(cond))

    for acc in demo_server.scenario.accounts:
        if acc.platform != "weibo" or acc.kind not in ("active", "shell_reposts"):
            continue
        for page in walk(demo_server, acc.platform_id, style="page", count=100)[:1]:
            for card, m in page:
                note("pics_object", isinstance(m.get("pics"), dict))
                note("pics_list", isinstance(m.get("pics"), list))
                note("long", m["isLongText"] and m["pic_num"] > 9)
                note("repost", "retweeted_status" in m)
                note("repost_deleted", "retweeted_status" in m and m["retweeted_status"]["user"] is None)
                note("video", m.get("page_info", {}).get("type") == "video")
                note("empty_bid", m["bid"] == "")
                note("wan", isinstance(m["comments_count"], str) and m["comments_count"].endswith("万"))
                note(
                    "million",
                    m["attitudes_count"] == "100万+" and m["number_display_strategy"]["display_text"] == "100万+",
                )
                if m["bid"] == "":
                    assert parse_qs(urlsplit(card["scheme"]).query)["mblogid"][0]
        js = fetch(demo_server.base_url, f"{API}?containerid=107603{acc.platform_id}&page=1&count=100").json()
        note("card_type_11", any(c["card_type"] == 11 for c in js["data"]["cards"]))
    assert all(seen.values()), seen


def test_hostile_timeline(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "hostile", "weibo")
    pages = walk(truth_server, acc.platform_id, style="page", count=100)
    posts = [m for page in pages for _, m in page]
    foreign = [m for m in posts if m["user"]["id"] != int(acc.platform_id)]
    assert len(foreign) == 1
    assert any(m["comments_count"] == "abc" and m["reposts_count"] == -5 for m in posts)
    assert any("<script>alert(1)</script>" in m["text"] for m in posts)
    assert any("\x07" in m["text"] and "\u202e" in m["text"] for m in posts)
    newest = max(datetime.strptime(m["created_at"], MODERN) for m in posts)
    truth = truth_server.scenario.truth()[acc.key]
    assert newest > truth_server.scenario.now  # a post dated in the future
    own = [datetime.strptime(m["created_at"], MODERN) for m in posts if m not in foreign]
    assert truth["expected_last_post_at"] == max(t for t in own if t <= truth_server.scenario.now)
    assert datetime.strptime(foreign[0]["created_at"], MODERN) > truth["expected_last_post_at"]
    assert (
        "<script>"
        in fetch(truth_server.base_url, f"{API}?containerid=100505{acc.platform_id}").json()["data"]["userInfo"][
            "screen_name"
        ]
    )


def test_deleted_and_unknown_accounts_have_no_content(truth_server: SimulatorHandle) -> None:
    for acc in truth_server.scenario.accounts:
        if acc.platform == "weibo" and acc.kind in ("deleted", "deregistered", "migrated", "banned"):
            for container in ("100505", "107603"):
                js = fetch(truth_server.base_url, f"{API}?containerid={container}{acc.platform_id}").json()
                assert js == {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
    js = fetch(truth_server.base_url, f"{API}?containerid=1005051234567890").json()
    assert js["ok"] == 0


def test_never_posted_account_has_an_empty_timeline(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "never_posted", "weibo")
    profile = fetch(truth_server.base_url, f"{API}?containerid=100505{acc.platform_id}").json()
    assert profile["ok"] == 1 and profile["data"]["userInfo"]["statuses_count"] == 0
    js = fetch(truth_server.base_url, f"{API}?containerid=107603{acc.platform_id}&page=1").json()
    assert js["ok"] == 1 and js["data"]["cards"] == []


@pytest.mark.parametrize("code", ["418", "432", "403"])
def test_blocks(faults_server: SimulatorHandle, code: str) -> None:
    acc = pick(faults_server.scenario, "blocked", "weibo", variant=code)
    assert fetch(faults_server.base_url, f"{API}?containerid=100505{acc.platform_id}").status == int(code)
    assert fetch(faults_server.base_url, f"{API}?containerid=107603{acc.platform_id}&page=1").status == int(code)


def test_login_walls(faults_server: SimulatorHandle) -> None:
    sc, base = faults_server.scenario, faults_server.base_url
    acc = pick(sc, "login_wall", "weibo", variant="ok_minus_100")
    js = fetch(base, f"{API}?containerid=100505{acc.platform_id}").json()
    assert js["ok"] == -100 and js["url"].startswith("https://passport.weibo.cn/signin/welcome?entry=mweibo&r=")

    acc = pick(sc, "login_wall", "weibo", variant="html_login")
    got = fetch(base, f"{API}?containerid=107603{acc.platform_id}&page=1")
    assert got.status == 200 and got.content_type.startswith("text/html")
    assert b"<title>\xe7\x99\xbb\xe5\xbd\x95 - \xe5\xbe\xae\xe5\x8d\x9a</title>" in got.body  # 登录 - 微博
    assert b"wbBotDetector" in got.body

    acc = pick(sc, "login_wall", "weibo", variant="passport_redirect")
    got = fetch(base, f"{API}?containerid=100505{acc.platform_id}")
    assert got.status == 302
    location = got.headers["Location"]
    assert location.startswith("/visitor/visitor?") and acc.platform_id in parse_qs(urlsplit(location).query)["url"][0]
    visitor = fetch(base, location)
    assert visitor.status == 200 and b"Sina Visitor System" in visitor.body


def test_malformed_timelines_with_a_working_profile(faults_server: SimulatorHandle) -> None:
    sc, base = faults_server.scenario, faults_server.base_url
    for variant in ("truncated_json", "html_error", "oversized"):
        acc = pick(sc, "malformed", "weibo", variant=variant)
        assert fetch(base, f"{API}?containerid=100505{acc.platform_id}").json()["ok"] == 1
        got = fetch(base, f"{API}?containerid=107603{acc.platform_id}&page=1")
        assert got.status == 200
        with pytest.raises(ValueError):
            got.json()
        if variant == "html_error":
            assert got.content_type.startswith("text/html")
        if variant == "oversized":
            assert len(got.body) > 5_000_000


def test_flaky_accounts_recover_on_retry(faults_server: SimulatorHandle) -> None:
    sc, base = faults_server.scenario, faults_server.base_url
    uid = pick(sc, "flaky", "weibo", variant="fail_first").platform_id
    statuses = [fetch(base, f"{API}?containerid=107603{uid}&page=1").status for _ in range(3)]
    assert statuses == [503, 200, 200]
    uid = pick(sc, "flaky", "weibo", variant="alternate").platform_id
    assert [fetch(base, f"{API}?containerid=100505{uid}").status for _ in range(4)] == [502, 200, 502, 200]
    uid = pick(sc, "flaky", "weibo", variant="drop_first").platform_id
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        fetch(base, f"{API}?containerid=100505{uid}")
    assert fetch(base, f"{API}?containerid=100505{uid}").json()["ok"] == 1


def test_slow_account_outlasts_a_short_timeout(faults_server: SimulatorHandle) -> None:
    uid = pick(faults_server.scenario, "slow", "weibo").platform_id
    with pytest.raises(TimeoutError):
        fetch(faults_server.base_url, f"{API}?containerid=100505{uid}", timeout=SLOW_SECONDS / 3)
    assert fetch(faults_server.base_url, f"{API}?containerid=100505{uid}", timeout=SLOW_SECONDS * 4).json()["ok"] == 1
