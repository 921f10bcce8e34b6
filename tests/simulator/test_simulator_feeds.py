"""The simulator's bridge feeds over real HTTP, read with feedparser as the patrol reads them: RSSHub,
wewe-rss and Wechat2RSS shapes, the quirks that fool feedparser, and broken bridges."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
import pytest
from tests.simulation import Fetched, fetch, pick

from simulator import SimAccount, SimulatorHandle, build_scenario, start_simulator
from simulator.render.pages import WECHAT_NOTICES
from registry.timeutil import SHANGHAI

# (platform, path template, feedparser version, content type, default item count)
STYLES = [
    ("weibo", "/weibo/user/{id}", "rss20", "application/xml", 20),
    ("toutiao", "/toutiao/user/token/{id}", "rss20", "application/xml", 20),
    ("wechat", "/feeds/MP_WXS_{biz_num}.rss", "rss20", "application/rss+xml", 10),
    ("wechat", "/feeds/MP_WXS_{biz_num}.atom", "atom10", "application/atom+xml", 10),
    ("wechat", "/feed/{biz_num}.xml", "rss20", "application/rss+xml", 20),
]
DEFAULT_PATH = {
    "weibo": "/weibo/user/{id}",
    "toutiao": "/toutiao/user/token/{id}",
    "wechat": "/feeds/MP_WXS_{biz_num}.atom",
}


def get_feed(sim: SimulatorHandle, acc: SimAccount, path: str | None = None) -> Fetched:
    biz_num = base64.b64decode(acc.platform_id).decode() if acc.platform == "wechat" else ""
    return fetch(sim.base_url, (path or DEFAULT_PATH[acc.platform]).format(id=acc.platform_id, biz_num=biz_num))


def parse(got: Fetched) -> Any:
    return feedparser.parse(io.BytesIO(got.body), response_headers={"content-type": got.content_type})


def entry_time(entry: Any) -> datetime:
    text = entry.get("published") or entry["updated"]
    if text[:4].isdigit():  # ISO 8601
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsedate_to_datetime(text)


@pytest.mark.parametrize(("platform", "path", "version", "ctype", "limit"), STYLES)
def test_bridge_feeds_parse_with_the_posts_times(
    truth_server: SimulatorHandle, platform: str, path: str, version: str, ctype: str, limit: int
) -> None:
    acc = pick(truth_server.scenario, "active", platform)
    got = get_feed(truth_server, acc, path)
    assert got.status == 200 and got.content_type.startswith(ctype)
    feed = parse(got)
    assert not feed.bozo and feed.version == version
    posts = [p for p in truth_server.scenario.posts(acc) if not p.pinned]
    assert len(feed.entries) == min(limit, len(posts))
    assert [entry_time(e) for e in feed.entries] == [p.published_at for p in posts[: len(feed.entries)]]
    assert all(e.link.startswith("https://") for e in feed.entries)
    if version == "atom10":  # wewe-rss sets only <updated>
        assert all("published" not in e and re.fullmatch(r"\S+T\S+\.000Z", e.updated) for e in feed.entries)
    elif path.startswith("/feed/"):
        assert feed.entries[0].published.endswith("+0800")
    else:
        assert feed.entries[0].published.endswith(" GMT")


@pytest.mark.parametrize(
    ("path", "key"), [("/feeds/MP_WXS_{biz_num}.json", "date_modified"), ("/feed/{biz_num}.json", "date_published")]
)
def test_json_feeds(truth_server: SimulatorHandle, path: str, key: str) -> None:
    acc = pick(truth_server.scenario, "active", "wechat")
    got = get_feed(truth_server, acc, path)
    assert got.content_type.startswith("application/feed+json")
    doc = got.json()
    assert doc["version"].startswith("https://jsonfeed.org/version/1")
    first = truth_server.scenario.posts(acc)[0]
    assert doc["items"][0]["title"] == first.title
    assert datetime.fromisoformat(doc["items"][0][key].replace("Z", "+00:00")) == first.published_at


def test_wewe_rss_limit_and_page(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "active", "wechat")
    posts = truth_server.scenario.posts(acc)
    feed = parse(get_feed(truth_server, acc, "/feeds/MP_WXS_{biz_num}.rss?limit=3&page=2"))
    assert [e.title for e in feed.entries] == [p.title for p in posts[3:6]]


def test_rsshub_drops_an_old_pinned_post_and_keeps_a_new_one(truth_server: SimulatorHandle) -> None:
    old = pick(truth_server.scenario, "pinned_old", "weibo")
    pinned_ts = next(p.ts for p in truth_server.scenario.posts(old) if p.pinned)
    assert all(entry_time(e).timestamp() != pinned_ts for e in parse(get_feed(truth_server, old)).entries)
    new = pick(truth_server.scenario, "pinned_new", "weibo")
    first = parse(get_feed(truth_server, new)).entries[0]
    assert entry_time(first) == truth_server.scenario.truth()[new.key]["expected_last_post_at"]


QUIRK_FORMATS = {
    "cn_datetime": "%Y年%m月%d日 %H:%M",
    "cn_date": "%Y年%m月%d日",
    "slash": "%Y/%m/%d %H:%M",
    "cst": "%a, %d %b %Y %H:%M:%S CST",
    "nozone_rfc": "%a, %d %b %Y %H:%M:%S",
    "nozone_iso": "%Y-%m-%d %H:%M:%S",
}


@pytest.mark.parametrize("quirk", list(QUIRK_FORMATS))
@pytest.mark.parametrize("platform", ["weibo", "toutiao", "wechat"])
def test_date_quirks_mean_shanghai_time(faults_server: SimulatorHandle, quirk: str, platform: str) -> None:
    acc = pick(faults_server.scenario, "feed_quirks", platform, quirk=quirk)
    feed = parse(get_feed(faults_server, acc))
    entries = feed.entries
    posts = [p for p in faults_server.scenario.posts(acc) if not p.pinned][: len(entries)]
    for entry, post in zip(entries, posts, strict=True):
        raw = entry.get("published") or entry.get("updated")
        read = datetime.strptime(raw, QUIRK_FORMATS[quirk]).replace(tzinfo=SHANGHAI)
        assert read == post.published_at
    truth = faults_server.scenario.truth()[acc.key]
    assert truth["expected_status"] == "active" and truth["expected_last_post_at"] == posts[0].published_at
    if quirk in ("cn_datetime", "cn_date", "slash"):  # the trap: feedparser reads the 1st of a month
        parsed = entries[0].get("published_parsed") or entries[0].get("updated_parsed")
        assert parsed.tm_mday == 1 and not feed.bozo


def test_encoding_and_content_type_quirks(faults_server: SimulatorHandle) -> None:
    sc = faults_server.scenario
    for quirk in ("gbk", "gbk_mislabeled", "wrong_ctype"):
        acc = pick(sc, "feed_quirks", "wechat", quirk=quirk)
        got = get_feed(faults_server, acc, "/feed/{biz_num}.xml")
        feed = parse(got)
        titles = [p.title for p in sc.posts(acc) if not p.pinned][:3]
        assert [e.title for e in feed.entries[:3]] == titles
        if quirk.startswith("gbk"):
            assert got.body.startswith(b'<?xml version="1.0" encoding="gbk"?>')
            with pytest.raises(UnicodeDecodeError):
                got.body.decode("utf-8")
        assert ("charset=utf-8" in got.content_type) == (quirk != "gbk")
    assert get_feed(faults_server, pick(sc, "feed_quirks", "weibo", quirk="wrong_ctype")).content_type.startswith(
        "text/html"
    )


def test_unescaped_xml_still_yields_every_entry(faults_server: SimulatorHandle) -> None:
    acc = pick(faults_server.scenario, "feed_quirks", "toutiao", quirk="broken_xml")
    got = get_feed(faults_server, acc)
    with pytest.raises(ET.ParseError):
        ET.fromstring(got.body)
    feed = parse(got)
    posts = faults_server.scenario.posts(acc)
    assert feed.bozo and len(feed.entries) == 20
    assert [entry_time(e) for e in feed.entries] == [p.published_at for p in posts[:20]]


@pytest.mark.parametrize("variant", ["truncated", "html_error", "json_body", "entity_bomb"])
def test_broken_feeds_have_no_entries(faults_server: SimulatorHandle, variant: str) -> None:
    for platform in ("weibo", "toutiao", "wechat"):
        got = get_feed(faults_server, pick(faults_server.scenario, "malformed", platform, feed_variant=variant))
        assert got.status == (503 if variant == "html_error" else 200)  # RSSHub's error page is its 503
        if variant != "entity_bomb" or platform == "wechat":  # expat takes seconds to stop a bomb: once is enough
            feed = parse(got)
            assert feed.bozo and not feed.entries, (platform, variant)


def test_blocked_and_login_wall_bridges(faults_server: SimulatorHandle) -> None:
    sc = faults_server.scenario
    for platform in ("weibo", "toutiao", "wechat"):
        assert get_feed(faults_server, pick(sc, "blocked", platform)).status == 403
    got = get_feed(faults_server, pick(sc, "login_wall", "wechat"))
    assert got.status == 200 and got.content_type.startswith("text/html") and "请先登录".encode() in got.body


def test_flaky_bridge_recovers(faults_server: SimulatorHandle) -> None:
    acc = pick(faults_server.scenario, "flaky", "toutiao", feed_variant="fail_first")
    assert [get_feed(faults_server, acc).status for _ in range(2)] == [503, 200]


def test_gone_accounts_on_the_bridges(truth_server: SimulatorHandle) -> None:
    sc = truth_server.scenario
    # RSSHub's Weibo route finds no userInfo for a deleted account: a TypeError, answered with its 503 page.
    got = get_feed(truth_server, pick(sc, "deleted", "weibo"))
    assert got.status == 503 and b"reading &#x27;screen_name&#x27;" in got.body or b"screen_name" in got.body
    assert b"Looks like something went wrong" in got.body
    acc = pick(sc, "deregistered", "wechat")
    feed = parse(get_feed(truth_server, acc))
    assert feed.entries  # the bridge still lists the old articles; their pages tell the truth
    page = fetch(truth_server.base_url, feed.entries[0].link.removeprefix("https://mp.weixin.qq.com"))
    assert WECHAT_NOTICES["deregistered"].encode() in page.body


def test_each_bridge_answers_unknown_ids_its_own_way(truth_server: SimulatorHandle) -> None:
    """Only the ids each bridge knows, under its own scheme; the others get the bridge's real answer."""
    base = truth_server.base_url
    acc = pick(truth_server.scenario, "active", "wechat")
    number = base64.b64decode(acc.platform_id).decode()
    assert fetch(base, f"/feeds/MP_WXS_{number}.atom").status == 200
    for path in (f"/feeds/{acc.platform_id}.atom", "/feeds/MP_WXS_3000000000.atom"):  # the biz itself, an unknown one
        got = fetch(base, path)
        assert (got.status, got.json()) == (400, {"statusCode": 400, "message": "不存在该feed！"})
    assert fetch(base, f"/feed/{number}.xml").status == 200
    got = fetch(base, f"/feed/{acc.platform_id}.xml")
    assert (got.status, got.body) == (404, b"404 page not found\n")
    got = fetch(base, "/toutiao/user/token/MS4wLjABAAAAnotanaccountatall")
    assert got.status == 404 and "NotFoundError: 暂未发表作品".encode() in got.body
    got = fetch(base, "/weibo/user/1000000001")
    assert got.status == 503 and b"Looks like something went wrong" in got.body
    got = fetch(base, "/weibo/nosuchroute/1")
    assert got.status == 404 and b"NotFoundError: The route does not exist or has been deleted." in got.body


def test_rsshub_toutiao_without_posts_is_its_404(truth_server: SimulatorHandle) -> None:
    got = get_feed(truth_server, pick(truth_server.scenario, "never_posted", "toutiao"))
    assert got.status == 404 and "暂未发表作品".encode() in got.body
    got = get_feed(truth_server, pick(truth_server.scenario, "never_posted", "weibo"))
    assert got.status == 200 and not parse(got).entries  # the Weibo route allows an empty feed


def test_wechat2rss_encrypted_feed_ids() -> None:
    scenario = build_scenario("truth")
    acc = pick(scenario, "active", "wechat")
    number = base64.b64decode(acc.platform_id).decode()
    feed_id = hmac.new(b"abcdef123", number.encode(), hashlib.sha1).hexdigest()
    with start_simulator(scenario, wechat2rss_secret="abcdef123") as sim:
        assert fetch(sim.base_url, f"/feed/{feed_id}.xml").status == 200
        assert fetch(sim.base_url, f"/feed/{number}.xml").status == 404  # the plain number no longer


def test_hostile_feed_is_well_formed_with_script_text(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "hostile", "toutiao")
    got = get_feed(truth_server, acc, "/toutiao/user/token/{id}?limit=100")
    ET.fromstring(got.body)  # control characters were left out: XML cannot carry them
    feed = parse(got)
    titles = [e.title for e in feed.entries]
    assert any("<script>alert(1)</script>" in t for t in titles)
    assert not any("星城美食探店" in t for t in titles)  # another user's post is not in the account's feed
    assert entry_time(feed.entries[0]) > truth_server.scenario.now  # the future-dated post comes first


def test_never_posted_feed_is_empty_and_well_formed(truth_server: SimulatorHandle) -> None:
    feed = parse(get_feed(truth_server, pick(truth_server.scenario, "never_posted", "wechat")))
    assert not feed.bozo and feed.version == "atom10" and feed.entries == []
    doc = json.loads(
        fetch(
            truth_server.base_url,
            "/__posts?platform=wechat&id=" + pick(truth_server.scenario, "never_posted", "wechat").platform_id,
        ).body
    )
    assert doc == []
