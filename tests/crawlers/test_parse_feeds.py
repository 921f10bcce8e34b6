"""Bridge feeds (RSSHub, wewe-rss, Wechat2RSS): RSS, Atom and JSON Feed, the feedparser traps of
docs/parsing.md, Feeds (Chinese dates, CST, no zone, Atom with only <updated>), broken and hostile XML."""

from __future__ import annotations

import importlib
import json
import pyexpat
from datetime import UTC, datetime

import pytest

import crawlers.parsing.feeds as feeds
from crawlers.parsing import latest_publish_time, parse_feed
from registry.timeutil import SHANGHAI

FETCHED = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
URL = "http://rsshub.example/weibo/user/5001234567"
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def parse(raw: bytes, *, headers: dict | None = None, status: int = 200, platform: str = "weibo", url: str = URL):
    return parse_feed(
        raw,
        status=status,
        headers=RSS_TYPE if headers is None else headers,
        url=url,
        fetched_at=FETCHED,
        platform=platform,
    )


def rss(*items: str, encoding: str = "utf-8") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>某某市发布的微博</title><link>https://weibo.com/5001234567</link>"
        f"<description>RSSHub</description>{''.join(items)}</channel></rss>"
    ).encode(encoding)


def item(guid: str, date: str | None, title: str = "标题", tag: str = "pubDate", extra: str = "") -> str:
    when = f"<{tag}>{date}</{tag}>" if date is not None else ""
    return (
        f"<item><title><![CDATA[{title}]]></title><link>https://weibo.com/5001234567/{guid}</link>"
        f"<guid>https://weibo.com/5001234567/{guid}</guid>{when}<description><![CDATA[<p>正文 {guid}</p>]]>"
        f"</description>{extra}</item>"
    )


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Wed, 15 Mar 2023 04:30:00 GMT", sh(2023, 3, 15, 12, 30)),  # wewe-rss toUTCString
        ("Wed, 15 Mar 2023 12:30:00 +0800", sh(2023, 3, 15, 12, 30)),
        ("Wed, 15 Mar 2023 12:30:00 CST", sh(2023, 3, 15, 12, 30)),  # feedparser: US Central, 18:30Z
        ("Wed, 15 Mar 2023 12:30:00", sh(2023, 3, 15, 12, 30)),  # feedparser: None
        ("15 Mar 2023 12:30:00", sh(2023, 3, 15, 12, 30)),  # feedparser: UTC
        ("2023-03-15 12:30:00", sh(2023, 3, 15, 12, 30)),  # feedparser: UTC
        ("2023年03月15日", sh(2023, 3, 15)),  # feedparser: 1 November 2026 (the current month)
        ("2023年03月15日 12:30", sh(2023, 3, 15, 12, 30)),
        ("2023/03/15 12:30", sh(2023, 3, 15, 12, 30)),  # feedparser: 1 November 2026
        ("Tue Mar 15 12:30:00 +0800 2023", sh(2023, 3, 15, 12, 30)),
        ("2023-03-15T04:30:00.000Z", sh(2023, 3, 15, 12, 30)),
    ],
)
def test_rss_dates_are_read_by_our_parser_not_feedparser(date: str, expected: datetime) -> None:
    result = parse(rss(item("Mx1a2b3c4", date)))
    assert result.outcome is None
    (post,) = result.posts
    assert post.published_at == expected and post.published_raw == date and post.flags == []


def test_rss_items_as_posts() -> None:
    result = parse(
        rss(
            item("A1", "Mon, 13 Mar 2023 10:00:00 GMT", "旧的"),
            item("B2", "Wed, 15 Mar 2023 10:00:00 GMT", "<b>最新</b> &amp; 重要"),
            item("C3", "Tue, 14 Mar 2023 10:00:00 GMT"),
        )
    )
    assert [p.platform_post_id for p in result.posts] == [
        "https://weibo.com/5001234567/A1",
        "https://weibo.com/5001234567/B2",
        "https://weibo.com/5001234567/C3",
    ]
    newest = result.posts[1]
    assert (newest.title, newest.text, newest.url) == ("最新 & 重要", "正文 B2", "https://weibo.com/5001234567/B2")
    # bridges give no engagement: unknown, not zero
    assert all((p.reads, p.likes, p.comments, p.reposts) == (None,) * 4 for p in result.posts)
    assert latest_publish_time(result.posts) == datetime(2023, 3, 15, 10, 0, tzinfo=UTC)
    assert result.next_cursor is None


def test_dc_date_and_missing_dates() -> None:
    result = parse(rss(item("A1", "2023-03-15T12:30:00", tag="dc:date"), item("B2", None)))
    first, second = result.posts
    assert first.published_at == sh(2023, 3, 15, 12, 30)  # no zone: Shanghai
    assert second.published_at is None and second.flags == ["bad_date"]


def test_wewe_rss_atom_with_only_updated() -> None:
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>MP_WXS_3941633310</id><title>Some Account</title>
<updated>2023-03-15T04:30:00.000Z</updated><generator>WeWe-RSS</generator>
<entry><title type="html"><![CDATA[Article one]]></title><id>https://mp.weixin.qq.com/s/AbCdEf123</id>
<link href="https://mp.weixin.qq.com/s/AbCdEf123"/><updated>2023-03-15T04:30:00.000Z</updated></entry>
<entry><title type="html"><![CDATA[Article two]]></title><id>https://mp.weixin.qq.com/s/ZyXwV987</id>
<link href="https://mp.weixin.qq.com/s/ZyXwV987"/><updated>2023-03-10T01:00:00.000Z</updated></entry>
</feed>"""
    result = parse(atom, headers={"Content-Type": "application/atom+xml"}, platform="wechat")
    assert [p.platform_post_id for p in result.posts] == ["AbCdEf123", "ZyXwV987"]
    assert result.posts[0].published_at == datetime(2023, 3, 15, 4, 30, tzinfo=UTC)
    assert result.posts[0].published_raw == "2023-03-15T04:30:00.000Z"


def test_wechat_long_and_temporary_links_get_stable_ids() -> None:
    long_link = "https://mp.weixin.qq.com/s?__biz=MzA5NDc1NzQ4MA==&amp;mid=2659017567&amp;idx=2&amp;sn=abc#rd"
    temporary = "https://mp.weixin.qq.com/s?src=11&amp;timestamp=1678851000&amp;ver=1&amp;signature=xyz"
    feed = rss(
        f"<item><title>a</title><link>{long_link}</link><guid>{temporary}</guid>"
        "<pubDate>Wed, 15 Mar 2023 04:30:00 GMT</pubDate></item>",
        f"<item><title>b</title><link>{temporary}</link><guid>guid-b</guid>"
        "<pubDate>Wed, 15 Mar 2023 04:30:00 GMT</pubDate></item>",
    )
    posts = parse(feed, platform="wechat").posts
    assert [p.platform_post_id for p in posts] == ["2659017567_2", "guid-b"]


def test_long_guids_are_hashed_to_fit_and_entries_without_ids_use_title_and_date() -> None:
    long_guid = "https://example.gov.cn/" + "x" * 300
    feed = rss(
        f"<item><title>a</title><guid>{long_guid}</guid><pubDate>Wed, 15 Mar 2023 04:30:00 GMT</pubDate></item>",
        "<item><title>b</title><pubDate>Wed, 15 Mar 2023 04:30:00 GMT</pubDate></item>",
    )
    first, second = parse(feed).posts
    assert first.platform_post_id.startswith("sha1:") and len(first.platform_post_id) <= 100
    assert second.platform_post_id.startswith("sha1:")
    assert parse(feed).posts[1].platform_post_id == second.platform_post_id  # stable across patrols


def test_gbk_feed_declared_in_the_xml() -> None:
    result = parse(
        rss(item("A1", "2023年03月15日 08:00", "政务公开"), encoding="gbk"), headers={"Content-Type": "application/xml"}
    )
    assert result.outcome is None
    assert (result.posts[0].title, result.posts[0].published_at) == ("政务公开", sh(2023, 3, 15, 8, 0))
    assert result.posts[0].flags == []


def test_gbk_feed_with_a_wrong_charset_header_is_read_and_flagged() -> None:
    result = parse(rss(item("A1", "2023年03月15日 08:00", "政务公开"), encoding="gbk"))
    assert result.outcome is None
    assert result.posts[0].title == "政务公开" and result.posts[0].flags == ["feed_bozo"]


def test_broken_xml_is_read_loosely_and_flagged() -> None:
    broken = rss(item("A1", "Wed, 15 Mar 2023 04:30:00 GMT", extra="<author>A & B</author>"))
    broken = broken.replace(b"</channel>", b"<broken></channel>")
    result = parse(broken)
    assert result.outcome is None and len(result.posts) == 1
    assert result.posts[0].flags == ["feed_bozo"]
    assert result.posts[0].published_at == datetime(2023, 3, 15, 4, 30, tzinfo=UTC)


def test_a_truncated_feed_keeps_its_complete_entries_and_flags_them() -> None:
    truncated = rss(item("A1", "Wed, 15 Mar 2023 04:30:00 GMT"), item("B2", "Thu, 16 Mar 2023 04:30:00 GMT"))
    truncated = truncated[: truncated.index(b"<pubDate>Thu")]
    first, second = parse(truncated).posts
    assert first.published_at == datetime(2023, 3, 15, 4, 30, tzinfo=UTC) and first.flags == ["feed_bozo"]
    assert second.published_at is None and second.flags == ["feed_bozo", "bad_date"]
    assert latest_publish_time([first, second]) == first.published_at


def test_relative_guids_stay_as_they_are_and_relative_links_are_resolved() -> None:
    feed = rss(
        "<item><title>a</title><guid isPermaLink='false'>12345</guid><link>/weibo/5001234567/A1</link>"
        "<pubDate>Wed, 15 Mar 2023 04:30:00 GMT</pubDate></item>"
    )
    post = parse(feed).posts[0]
    assert post.platform_post_id == "12345"
    assert post.url == "http://rsshub.example/weibo/5001234567/A1"


def test_a_valid_feed_served_as_text_html_is_read() -> None:
    result = parse(rss(item("A1", "Wed, 15 Mar 2023 04:30:00 GMT")), headers={"Content-Type": "text/html"})
    assert result.outcome is None and len(result.posts) == 1


def test_script_tags_control_characters_and_huge_titles() -> None:
    title = "<script>alert('x')</script><img src=x onerror=alert(1)>通知\x0b公告\u202e" + "字" * 2000
    result = parse(rss(item("A1", "Wed, 15 Mar 2023 04:30:00 GMT", title=title.replace("\x0b", "&#11;"))))
    post = result.posts[0]
    assert post.title.startswith("通知公告字") and len(post.title) == 500
    assert "<" not in post.title and "alert" not in post.title and "\u202e" not in post.title


def test_javascript_links_are_dropped() -> None:
    feed = rss(
        "<item><title>a</title><guid>g1</guid><link>javascript:alert(1)</link>"
        "<pubDate>Wed, 15 Mar 2023 04:30:00 GMT</pubDate></item>"
    )
    assert parse(feed).posts[0].url is None


def test_a_feed_without_entries_is_an_empty_account() -> None:
    result = parse(rss())
    assert result.outcome == "empty" and result.posts == []
    assert parse(rss(), headers={"Content-Type": "text/html"}).outcome == "empty"


def test_a_broken_feed_without_entries_is_malformed_not_empty() -> None:
    broken = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t &</title>'
    result = parse(broken)
    assert result.outcome == "malformed" and result.posts == []


# ---------------------------------------------------------------------------------------- JSON Feed


def json_feed(version: str = "https://jsonfeed.org/version/1.1", **extra: object) -> bytes:
    return json.dumps(
        {
            "version": version,
            "title": "某某公众号",
            "home_page_url": "https://mp.weixin.qq.com",
            "items": [
                {
                    "id": "https://mp.weixin.qq.com/s/AbCdEf123",
                    "url": "https://mp.weixin.qq.com/s/AbCdEf123",
                    "title": "文章一",
                    "content_html": "<p>正文<script>x()</script></p>",
                    "date_published": "2023-03-15T04:30:00.000Z",
                },
                {
                    "id": "2",
                    "url": "https://mp.weixin.qq.com/s/ZyX",
                    "title": "文章二",
                    "content_text": "纯文本",
                    "date_modified": "2023-03-16T09:00:00+08:00",
                },
            ],
            **extra,
        },
        ensure_ascii=False,
    ).encode()


@pytest.mark.parametrize(
    ("version", "headers"),
    [
        ("https://jsonfeed.org/version/1.1", {"Content-Type": "application/feed+json"}),
        ("https://jsonfeed.org/version/1", {}),
    ],
)
def test_json_feed(version: str, headers: dict) -> None:
    result = parse(json_feed(version), headers=headers)
    assert result.outcome is None
    first, second = result.posts
    assert (first.platform_post_id, first.title, first.text) == (
        "https://mp.weixin.qq.com/s/AbCdEf123",
        "文章一",
        "正文",
    )
    assert first.published_at == datetime(2023, 3, 15, 4, 30, tzinfo=UTC)
    assert second.published_at == sh(2023, 3, 16, 9, 0) and second.text == "纯文本"
    assert latest_publish_time(result.posts) == sh(2023, 3, 16, 9, 0)


def test_json_that_is_not_a_json_feed_is_malformed() -> None:
    assert parse(b'{"error": "route not found"}', headers={"Content-Type": "application/json"}).outcome == "malformed"
    assert parse(b'{"version": "https://jsonfeed.org/version/1.1", "items": [', headers={}).outcome == "malformed"
    assert parse(json_feed(items=[]), headers={}).outcome == "empty"


# --------------------------------------------------------------------------------- not a feed at all


@pytest.mark.parametrize(
    ("raw", "headers", "status", "outcome"),
    [
        (b"", {}, 200, "malformed"),
        (b"   \n", RSS_TYPE, 200, "malformed"),
        (
            "<!DOCTYPE html><html><head><title>登录 - 微博</title></head><body>passport</body></html>".encode(),
            {"Content-Type": "text/html"},
            200,
            "login_required",
        ),
        # RSSHub's error page is an error, as RSSHub means it (docs/patrol.md, the RSSHub table).
        (
            b"<html><head><title>RSSHub</title></head><body>Looks like something went wrong</body></html>",
            {"Content-Type": "text/html"},
            200,
            "error",
        ),
        (b"this is not xml at all", {"Content-Type": "text/plain"}, 200, "malformed"),
        (b"Not Found", {}, 404, "not_found"),
        (b"", {}, 410, "not_found"),
        (b"", {}, 403, "rate_limited"),
        (b"", {}, 429, "rate_limited"),
        (b"<html>error</html>", {}, 503, "error"),
        (b"", {"Location": "https://passport.weibo.com/visitor/visitor"}, 302, "login_required"),
    ],
)
def test_not_a_feed(raw: bytes, headers: dict, status: int, outcome: str) -> None:
    result = parse(raw, headers=headers, status=status)
    assert (result.outcome, result.http_status, result.posts) == (outcome, status, [])
    assert result.reason


def test_oversized_feeds_are_refused_before_parsing() -> None:
    huge = rss(item("A1", "Wed, 15 Mar 2023 04:30:00 GMT", extra="<x>" + "a" * feeds.MAX_FEED_BYTES + "</x>"))
    result = parse(huge)
    assert result.outcome == "malformed" and "MB" in result.reason


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10) for n in range(1, 10))
    + b']><rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title><guid>1</guid>'
    b"<pubDate>Wed, 15 Mar 2023 04:30:00 GMT</pubDate></item></channel></rss>"
)


def test_a_billion_laughs_is_refused_not_expanded() -> None:
    result = parse(BILLION_LAUGHS)
    assert result.outcome == "malformed" and "entities" in result.reason


def test_entities_declared_one_per_line_and_external_entities_are_refused() -> None:
    per_line = BILLION_LAUGHS.replace(b"<!ENTITY", b"\n<!ENTITY")
    assert parse(per_line).outcome == "malformed"
    xxe = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        b'<rss version="2.0"><channel><item><title>&xxe;</title><guid>1</guid></item></channel></rss>'
    )
    result = parse(xxe)
    assert result.outcome == "malformed" and result.posts == []


def test_an_external_dtd_without_entities_is_still_a_feed() -> None:
    netscape = rss(item("A1", "Wed, 15 Mar 2023 04:30:00 GMT")).replace(
        b"<rss",
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n<rss',
        1,
    )
    result = parse(netscape)
    assert result.outcome is None and len(result.posts) == 1


def test_an_old_expat_is_refused_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyexpat, "version_info", (2, 2, 10))
    monkeypatch.setattr(pyexpat, "EXPAT_VERSION", "expat_2.2.10")
    try:
        with pytest.raises(ImportError, match=r"expat_2\.2\.10.*2\.4 or newer"):
            importlib.reload(feeds)
    finally:
        monkeypatch.undo()
        importlib.reload(feeds)


# -- the plain-feed road: the same result as feedparser's, or feedparser itself ------------------------


def both_roads(raw: bytes, headers: dict, monkeypatch: pytest.MonkeyPatch, **kw) -> tuple:
    """(result of the plain road or feedparser as chosen, result of feedparser alone, whether plain was taken)."""
    plain = feeds._plain_entries(raw, feeds.header(headers, "content-type")) is not None
    chosen = parse(raw, headers=headers, **kw)
    with monkeypatch.context() as m:
        m.setattr(feeds, "_plain_entries", lambda body, content_type: None)
        alone = parse(raw, headers=headers, **kw)
    return chosen, alone, plain


def simulator_feeds() -> list[tuple[str, bytes, dict]]:
    from simulator import build_scenario
    from simulator.render import feeds as rendered

    styles = {"weibo": ("rsshub",), "toutiao": ("rsshub",), "wechat": ("wewe-rss", "wewe-atom", "wechat2rss")}
    out = []
    for name, size in (("truth", None), ("faults", None), ("bench", 60)):
        sc = build_scenario(name, size=size, now=FETCHED)
        for acc in sc.accounts:
            for style in styles[acc.platform]:
                reply = rendered.render(sc, acc, style, {}, URL, int(FETCHED.timestamp()))
                out.append(
                    (
                        f"{name}/{acc.platform}/{acc.kind}/{acc.quirk}/{style}",
                        reply.body,
                        {"Content-Type": reply.content_type},
                    )
                )
    return out


def test_every_simulator_feed_reads_the_same_on_both_roads(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: dict[str, int] = {}
    for label, raw, headers in simulator_feeds():
        chosen, alone, plain = both_roads(raw, headers, monkeypatch, platform=label.split("/")[1])
        assert chosen == alone, label
        style = label.rsplit("/", 1)[1]
        taken[style] = taken.get(style, 0) + plain
    # The common bridges' feeds take the plain road (quirky ones go to feedparser).
    assert all(taken[style] > 50 for style in ("rsshub", "wewe-rss", "wewe-atom", "wechat2rss")), taken


ATOM_TYPE = {"Content-Type": "application/atom+xml; charset=utf-8"}


def atom(*entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:f</id>'
        f"<title>某某</title><updated>2023-03-15T04:30:00.000Z</updated>{''.join(entries)}</feed>"
    ).encode()


PLAIN_CASES = [  # (feed, taken by the plain road)
    (rss(item("A1", "Wed, 15 Mar 2023 04:30:00 GMT")), True),
    (
        rss(
            '<item><title>  a &amp; b &lt;i&gt;  </title><guid isPermaLink="false">  12345 </guid>'
            "<link>http:///weibo.com/x?a=1&amp;amp;b=2&amp;c;</link><description>&lt;p&gt;正文&lt;/p&gt;</description>"
            "<pubDate>Wed, 15 Mar 2023 04:30:00 GMT</pubDate></item>"
        ),
        True,
    ),
    (rss("<item><guid>https:////weibo.com/5001234567/G1</guid><title>无链接</title></item>"), True),  # guid as link
    (rss("<item><guid>https://weibo.com/a/G1</guid><link>https://weibo.com/a/L1</link></item>"), True),
    (rss("<item><link>https://weibo.com/a/L1</link><guid>https://weibo.com/a/G1</guid></item>"), True),
    (rss("<item><title></title><link></link><guid></guid><description>   </description></item>"), True),
    (
        rss(
            "<item><title>cafÃ© Ã©tÃ©</title><guid>1</guid><author>x</author><category>c</category>"
            '<enclosure url="https://x/y.jpg" type="image/jpeg"/></item>'
        ),
        True,
    ),  # UTF-8 read as Latin-1: repaired
    (rss("<item><title>caf\u00e9 \u00b7 中文</title><guid>1</guid></item>"), True),
    (
        atom(
            '<entry><title type="html">&lt;b&gt;标题&lt;/b&gt;</title><id>https://mp.weixin.qq.com/s/AB</id>'
            '<link href="https://mp.weixin.qq.com/s/CD"/><updated>2023-03-15T04:30:00.000Z</updated>'
            '<summary type="html"><![CDATA[<p>正文</p>]]></summary></entry>'
        ),
        True,
    ),
    (
        atom(
            '<entry><link href="https://a/1"/><id>https:///a/2</id><published>2023-03-15T04:30:00Z</published>'
            '<content type="text">内容</content><summary>摘要</summary>'
            "<author><name>某</name></author></entry>"
        ),
        True,
    ),
    (
        atom(
            '<entry><id>tag:a,2023:1</id><link rel="self" href="https://a/self"/>'
            '<link rel="alternate" type="application/atom+xml" href="https://a/x"/><title>t</title></entry>'
        ),
        True,
    ),
    (
        atom(
            '<entry><id>1</id><link rel="alternate" type="text/html" href="https://a/1"/>'
            '<link href="https://a/2" rel="ALTERNATE"/><summary>s</summary><content type="html">c</content></entry>'
        ),
        True,
    ),
    # Left to feedparser: characters it remaps, other encodings, content types and markup it complains about,
    # elements and attributes off the list, repeated fields.
    (rss("<item><title>a\u0085b</title><guid>1</guid></item>"), False),
    (rss("<item><title>a&#x93;b&#x94;</title><guid>1</guid></item>"), False),
    (rss(item("G1", "2023-03-15"), encoding="gbk"), False),
    (rss(item("N1", None)).replace(b"<title><![CDATA[", b"<title><!-- x --><![CDATA["), False),
    (rss("<item><title>a</title><title>b</title><guid>1</guid></item>"), False),
    (rss("<item><title>a</title><dc:date>2023-03-15</dc:date><guid>1</guid></item>"), False),
    (rss('<item><title>a</title><guid>1</guid><source url="https://x">s</source></item>'), False),
    (rss('<item xml:base="https://a/"><title>a</title><link>b</link></item>'), False),
    (rss("<item><title>&nbsp;</title><guid>1</guid></item>"), False),
    (rss("<item><title>a &amp; more</title><guid>1</guid></item>").replace(b"&amp;", b"&"), False),
    (rss(item("E1", None)).replace(b'version="2.0"', b'version="0.91"'), False),
    (
        atom('<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></title><id>1</id></entry>'),
        False,
    ),
    (atom('<entry><id>1</id><content type="application/octet-stream">eA==</content></entry>'), False),
    (atom('<entry><id>1</id><content src="https://a/x"/></entry>'), False),
    (atom("<entry><id>1</id><source><title>s</title></source></entry>"), False),
    (atom("<entry><id>1</id><issued>2023-03-15</issued></entry>"), False),
    (rss(), False),  # no entries: feedparser says whether the feed is empty or broken
]


@pytest.mark.parametrize(("raw", "plain"), PLAIN_CASES)
@pytest.mark.parametrize("content_type", ["application/rss+xml; charset=utf-8", "application/xml", "text/xml"])
def test_a_plain_feed_reads_as_feedparser_reads_it(
    raw: bytes, plain: bool, content_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen, alone, taken = both_roads(raw, {"Content-Type": content_type}, monkeypatch)
    assert chosen == alone
    # text/xml without a charset is US-ASCII to feedparser (RFC 3023): feedparser then.
    assert taken == (plain and content_type != "text/xml")


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/html; charset=utf-8"},
        {"Content-Type": "application/xml; charset=gbk"},
        {"Content-Type": "application/rss+xml; charset=iso-8859-1"},
    ],
)
def test_content_types_feedparser_flags_or_recodes_go_to_feedparser(
    headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen, alone, taken = both_roads(rss(item("A1", "Wed, 15 Mar 2023 04:30:00 GMT")), headers, monkeypatch)
    assert chosen == alone and not taken


def test_the_plain_road_never_sees_a_dtd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entity declarations are refused before either road; a DOCTYPE without them goes to feedparser."""
    called = []
    monkeypatch.setattr(feeds.ET, "fromstring", lambda body: called.append(body))
    assert parse(BILLION_LAUGHS).outcome == "malformed"
    netscape = rss(item("A1", "Wed, 15 Mar 2023 04:30:00 GMT")).replace(
        b"<rss", b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "x.dtd">\n<rss', 1
    )
    assert len(parse(netscape).posts) == 1 and called == []
