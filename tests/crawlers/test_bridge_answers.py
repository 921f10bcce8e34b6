"""Each bridge's answers read as that bridge means them, on recorded bridge output (tests/fixtures/real/:
each file's .origin says where it comes from). Expected values come from the files themselves: their
entries, their dates, the second a Weibo mid encodes; never from running our parser."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from crawlers.parsing import parse_feed

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
FETCHED = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
CONTENT_TYPES = {
    ".xml": "application/xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".html": "text/html; charset=UTF-8",
    ".txt": "text/plain; charset=utf-8",
}
BRIDGES = {"rsshub": "rsshub", "wewe-rss": "wewe-rss", "wechat2rss": "wechat2rss"}
PLATFORM_OF = {"weibo": "weibo", "toutiao": "toutiao"}


def feed_files() -> list[Path]:
    """Every recorded feed, whatever its source: the parser must read each one."""
    found = []
    for path in sorted(REAL.rglob("*")):
        if path.suffix in (".xml", ".rss", ".atom") or (
            path.suffix == ".json" and b"jsonfeed.org" in path.read_bytes()
        ):
            found.append(path)
    return found


def answer_files() -> list[Path]:
    return sorted(
        p
        for p in REAL.rglob("*")
        if p.suffix in (".html", ".json", ".txt") and p not in feed_files() and p.name[:3].isdigit()
    )


def platform_of(path: Path) -> str:
    return next((p for key, p in PLATFORM_OF.items() if key in path.name), "wechat")


def entries_in(path: Path) -> list[dict[str, str | None]]:
    """The entries as the file writes them: link and date, read with nothing but ElementTree or json."""
    if path.suffix == ".json":
        return [
            {"link": i.get("url"), "date": i.get("date_published") or i.get("date_modified")}
            for i in json.loads(path.read_bytes())["items"]
        ]
    root = ET.fromstring(path.read_bytes())
    atom = "{http://www.w3.org/2005/Atom}"
    if root.tag == f"{atom}feed":
        return [
            {
                "link": (e.find(f"{atom}link").get("href") if e.find(f"{atom}link") is not None else None),
                "date": (e.findtext(f"{atom}published") or e.findtext(f"{atom}updated")),
            }
            for e in root.iter(f"{atom}entry")
        ]
    return [{"link": i.findtext("link"), "date": i.findtext("pubDate")} for i in root.iter("item")]


def own_time(text: str | None) -> datetime | None:
    if not text:
        return None
    if text[:4].isdigit():
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsedate_to_datetime(text)


def read(path: Path, *, status: int = 200) -> object:
    bridge = BRIDGES.get(path.parent.name, "custom")
    return parse_feed(
        path.read_bytes(),
        status=status,
        headers={"Content-Type": CONTENT_TYPES[path.suffix]},
        url=f"http://bridge.test/{path.name}",
        fetched_at=FETCHED,
        platform=platform_of(path),
        bridge=bridge,
    )


def test_every_recorded_file_names_its_origin() -> None:
    files = [p for p in REAL.rglob("*") if p.is_file() and p.suffix != ".origin"]
    assert files
    for path in files:
        origin = path.with_name(path.name + ".origin")
        assert origin.exists() or path.read_text(encoding="utf-8", errors="replace").lstrip().startswith(
            ("<!--", "#", "//")
        ), f"{path} does not say where it comes from"


@pytest.mark.parametrize("path", feed_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_recorded_feed_is_read_entry_by_entry(path: Path) -> None:
    expected = entries_in(path)
    result = read(path)
    if not expected:
        assert result.outcome == "empty"
        return
    assert result.outcome is None, result.reason
    assert len(result.posts) == len(expected)
    assert len({p.platform_post_id for p in result.posts}) == len(expected)
    for post, entry in zip(result.posts, expected, strict=True):
        assert post.published_at == own_time(entry["date"])
        assert post.url == entry["link"]


def test_rsshub_weibo_links_become_the_mid_the_api_stores() -> None:
    """RSSHub links a post by its bid; the API stores the mid. The mid also encodes the publish second,
    which is the item's own pubDate: the bid decoded is that post's mid."""
    result = read(REAL / "rsshub" / "weibo-user.xml")
    first = result.posts[0]
    assert first.platform_post_id == "4387933362623405"
    assert datetime.fromtimestamp((int(first.platform_post_id) >> 22) + 515483463, UTC) == first.published_at


def test_rsshub_toutiao_links_become_the_item_ids() -> None:
    result = read(REAL / "rsshub" / "toutiao-user.xml")
    assert [p.platform_post_id for p in result.posts] == [
        link.rstrip("/").rsplit("/", 1)[1]
        for link in (e["link"] for e in entries_in(REAL / "rsshub" / "toutiao-user.xml"))
    ]


# The tables of docs/patrol.md, one row per recorded answer: (file, HTTP status, outcome, words of the reason).
ANSWERS = [
    ("rsshub/404-toutiao-no-posts.html", 404, "empty", "暂未发表作品"),
    ("rsshub/404-no-route.html", 404, "setup_required", "no such route"),
    ("rsshub/503-weibo-unknown-uid.html", 503, "error", "screen_name"),
    ("rsshub/503-fetch-error.html", 503, "error", "FetchError"),
    ("rsshub/403-access-key.html", 403, "setup_required", "bridge.key"),
    ("wewe-rss/400-unknown-feed.json", 400, "setup_required", "wewe-rss does not follow this account"),
    ("wechat2rss/404-not-subscribed.txt", 404, "setup_required", "/add/"),
]


@pytest.mark.parametrize(("name", "status", "outcome", "words"), ANSWERS, ids=[a[0] for a in ANSWERS])
def test_each_bridge_answer_by_its_own_table(name: str, status: int, outcome: str, words: str) -> None:
    result = read(REAL / name, status=status)
    assert (result.outcome, result.http_status) == (outcome, status)
    assert words in result.reason


def test_every_recorded_answer_is_in_the_table() -> None:
    assert {f"{p.parent.name}/{p.name}" for p in answer_files()} == {a[0] for a in ANSWERS}


def test_a_not_subscribed_answer_from_a_free_template_stays_generic() -> None:
    """Without the bridge's name its answers are read the generic way (a 404 is not_found): naming the
    bridge is what makes "not followed" a setup problem."""
    body = (REAL / "wechat2rss" / "404-not-subscribed.txt").read_bytes()
    result = parse_feed(
        body, status=404, headers={}, url="http://x.test/feed/1.xml", fetched_at=FETCHED, platform="wechat"
    )
    assert result.outcome == "not_found"
