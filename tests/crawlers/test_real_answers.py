"""Every parser over every recorded real answer of its kind (tests/fixtures/real/<platform>/).

Each capture has a sidecar `<name>.origin` naming where it was found and when it was fetched. The
expected values are read from the capture itself (its own ids, counts and timestamps, and the second a
Weibo mid encodes), never from a run of our parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawlers.parsing import (
    latest_publish_time,
    parse_wechat_appmsg_list,
    parse_weibo_profile,
    parse_weibo_timeline,
)

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"


def captures(platform: str, prefix: str) -> list[Path]:
    return sorted((REAL / platform).glob(f"{prefix}*.json"))


def origin(path: Path) -> dict[str, str]:
    sidecar = path.with_name(path.name + ".origin")
    lines = sidecar.read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def fetched_at(path: Path) -> datetime:
    return datetime.fromisoformat(origin(path)["fetched_at"].split(" ", 1)[0]).astimezone(UTC)


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def mid_second(mid: str) -> datetime:
    """The publish second a Weibo mid encodes."""
    return datetime.fromtimestamp((int(mid) >> 22) + 515483463, UTC)


def mblogs(data: dict) -> list[dict]:
    found = []
    for card in data["data"]["cards"]:
        if isinstance(card.get("mblog"), dict):
            found.append(card["mblog"])
        found.extend(inner["mblog"] for inner in card.get("card_group") or [] if isinstance(inner.get("mblog"), dict))
    return found


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in REAL.glob("*/*") if p.suffix != ".origin"])
def test_every_fixture_says_where_it_comes_from(path: Path) -> None:
    """Captures name their origin field by field (below); the bridges' outputs, of which no public capture
    exists, say that they are not captures and which code, at which commit, rendered them."""
    sidecar = path.with_name(path.name + ".origin")
    text = sidecar.read_text(encoding="utf-8")
    if text.startswith("Not a capture"):
        assert "commit" in text or ".origin says" in text, sidecar


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, id=p.name)
        for p in [*REAL.glob("*/*.json")]
        if not p.with_name(p.name + ".origin").read_text(encoding="utf-8").startswith("Not a capture")
    ],
)
def test_every_capture_names_its_origin(path: Path) -> None:
    fields = origin(path)
    assert {"repository", "path", "commit", "fetched_at", "changes"} <= set(fields), path
    assert fetched_at(path) < datetime.now(UTC)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in captures("weibo", "timeline")])
def test_weibo_timelines(path: Path) -> None:
    data = load(path)
    uid = data["data"]["cardlistInfo"]["containerid"][6:]
    result = parse_weibo_timeline(
        path.read_bytes(),
        status=200,
        headers={},
        url="https://m.weibo.cn/api/container/getIndex",
        fetched_at=fetched_at(path),
        uid=uid,
        page=1,
    )
    assert result.outcome is None
    blogs = mblogs(data)
    posts = {p.platform_post_id: p for p in result.posts}
    assert set(posts) == {b["idstr"] for b in blogs}
    for blog in blogs:
        post = posts[blog["idstr"]]
        # "06-27", "15小时前": the day or hour shown, made exact by the mid
        assert post.published_at == mid_second(blog["mid"]), (blog["created_at"], post.published_at)
        assert post.published_raw == blog["created_at"]
        assert post.is_pinned == (blog.get("isTop") == 1 or blog.get("mblogtype") == 2)
        assert post.is_repost == isinstance(blog.get("retweeted_status"), dict)
        for ours, theirs in (
            ("reposts", "reposts_count"),
            ("comments", "comments_count"),
            ("likes", "attitudes_count"),
        ):
            shown = blog[theirs]
            if isinstance(shown, int):
                assert getattr(post, ours) == shown
            else:  # "100万+": the lower bound stored, the text kept
                assert post.counts_raw[ours] == shown and getattr(post, ours) >= 1_000_000
    owner = blogs[0]["user"]
    profile = result.profile
    assert (profile.followers, profile.posts_total, profile.name_seen) == (
        owner["followers_count"],
        owner["statuses_count"],
        owner["screen_name"],
    )
    assert latest_publish_time(result.posts) == max(mid_second(b["mid"]) for b in blogs)
    assert result.next_cursor == "2"  # the page number: these captures page by page=, not since_id


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in captures("weibo", "profile")])
def test_weibo_profiles(path: Path) -> None:
    user = load(path)["data"]["userInfo"]
    result = parse_weibo_profile(
        path.read_bytes(),
        status=200,
        headers={},
        url="https://m.weibo.cn/api/container/getIndex",
        fetched_at=fetched_at(path),
        uid=str(user["id"]),
    )
    assert result.outcome is None
    p = result.profile
    assert (p.followers, p.following, p.posts_total) == (
        user["followers_count"],
        user["follow_count"],
        user["statuses_count"],
    )
    assert (p.name_seen, p.verified_seen) == (user["screen_name"], user["verified"])


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in captures("wechat", "appmsg_list")])
def test_wechat_appmsg_lists(path: Path) -> None:
    data = load(path)
    result = parse_wechat_appmsg_list(
        path.read_bytes(),
        status=200,
        headers={},
        url="https://mp.weixin.qq.com/cgi-bin/appmsg",
        fetched_at=fetched_at(path),
        begin=0,
    )
    assert result.outcome is None
    items = data["app_msg_list"]
    assert [p.platform_post_id for p in result.posts] == [item["aid"] for item in items]
    for post, item in zip(result.posts, items, strict=True):
        assert post.published_at == datetime.fromtimestamp(item["update_time"], UTC)
        assert (post.title, post.url) == (item["title"], item["link"])
        assert (post.reads, post.likes, post.comments, post.reposts) == (None, None, None, None)
    assert result.profile.posts_total == data["app_msg_cnt"]
    assert result.next_cursor == str(len(items))
