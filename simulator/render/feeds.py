"""Bridge feeds: RSSHub (`/weibo/user/{uid}`, `/toutiao/user/token/{token}`, RSS 2.0), wewe-rss
(`/feeds/MP_WXS_{number}.rss|.atom|.json`; its Atom has only <updated>) and Wechat2RSS (`/feed/{number}.xml|.json`), with
the quirks (dates feedparser misreads, GBK, wrong content types, unescaped XML) and the faults of a broken
bridge."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from simulator import ids
from simulator.posts import Post
from simulator.render import pages, toutiao, wechat
from simulator.render.common import (
    HTML,
    JSON,
    QUIRK_DATES,
    Reply,
    dumps,
    html_reply,
    http_gmt,
    iso_ms_z,
    rfc822_local,
)
from simulator.scenario import Scenario, SimAccount

# style -> (default item count, content type)
STYLES = {
    "rsshub": (20, "application/xml; charset=utf-8"),
    "wewe-rss": (10, "application/rss+xml; charset=utf-8"),
    "wewe-atom": (10, "application/atom+xml; charset=utf-8"),
    "wewe-json": (10, "application/feed+json; charset=utf-8"),
    "wechat2rss": (20, "application/rss+xml; charset=utf-8"),
    "wechat2rss-json": (20, "application/feed+json; charset=utf-8"),
}
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
ENTITY_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']>\n<rss version="2.0"><channel><title>&lol9;</title></channel></rss>'
)


@dataclass
class Entry:
    title: str
    link: str
    html: str
    ts: int
    author: str
    image: str | None = None


def fault(variant: str) -> Reply:
    if variant == "403":
        return Reply(403, b"<html><body><h1>403 Forbidden</h1></body></html>", HTML)
    if variant == "html_login":
        return html_reply(pages.BRIDGE_LOGIN)
    if variant == "html_error":  # RSSHub's error page: any route error but NotFound and Reject is a 503
        return html_reply(pages.bridge_error("Error: upstream returned an unexpected response"), 503)
    if variant == "json_body":
        return Reply(200, dumps({"error": {"message": "Error: 请求失败", "code": 503}}), JSON)
    if variant == "entity_bomb":
        return Reply(200, ENTITY_BOMB.encode(), STYLES["rsshub"][1])
    if variant == "jsonfeed_no_items":  # a changed layout: a JSON Feed without its items
        return Reply(
            200,
            dumps({"version": "https://jsonfeed.org/version/1.1", "title": "公众号"}),
            "application/feed+json; charset=utf-8",
        )
    raise ValueError(variant)


def not_found(message: str) -> Reply:
    return html_reply(pages.bridge_error(message), 404)


# What each bridge answers for an id it does not serve, an account without posts, and a path it has no
# route for (docs/simulator.md cites the sources).
RSSHUB_NO_ROUTE = "NotFoundError: The route does not exist or has been deleted."
RSSHUB_ROUTES = {"weibo": "/weibo/user/:uid/:routeParams?", "toutiao": "/toutiao/user/token/:token"}


def rsshub_no_route(path: str) -> Reply:
    """lib/errors/index.tsx notFoundHandler: no route matched (the error route is the path itself)."""
    return html_reply(pages.bridge_error(RSSHUB_NO_ROUTE, path, path), 404)


def rsshub_no_posts(path: str) -> Reply:
    """lib/routes/toutiao/user.tsx: `throw new NotFoundError('暂未发表作品')` when the feed has no cells; the
    handler appends its route sentence to a NotFoundError's message."""
    message = "NotFoundError: 暂未发表作品The route does not exist or has been deleted."
    return html_reply(pages.bridge_error(message, RSSHUB_ROUTES["toutiao"], path), 404)


def rsshub_weibo_unknown(path: str) -> Reply:
    """lib/routes/weibo/user.ts reads containerData.data.userInfo.screen_name; m.weibo.cn has no userInfo
    for an unknown uid, so the TypeError becomes RSSHub's 503 page."""
    message = "TypeError: Cannot read properties of undefined (reading 'screen_name')"
    return html_reply(pages.bridge_error(message, RSSHUB_ROUTES["weibo"], path), 503)


def wewe_unknown() -> Reply:
    """apps/server/src/feeds/feeds.service.ts: HttpException('不存在该feed！', 400), as NestJS sends it."""
    return Reply(400, dumps({"statusCode": 400, "message": "不存在该feed！"}), "application/json; charset=utf-8")


def wechat2rss_unknown() -> Reply:
    """Wechat2RSS (closed source, Go) serves /feed/<id> for subscribed accounts only: Go's plain 404."""
    return Reply(404, b"404 page not found\n", "text/plain; charset=utf-8")


def truncated(good: Reply) -> Reply:
    """The feed cut off before its first entry: not well-formed, and nothing to read."""
    body = good.body
    cut = min(
        (i for i in (body.find(b"<item>"), body.find(b"<entry>"), body.find(b'"items"')) if i > 0),
        default=len(body) // 2,
    )
    return Reply(200, body[:cut], good.content_type)


def _clean(text: str) -> str:
    return _XML_INVALID.sub("", text)


def _cdata(text: str) -> str:
    return "<![CDATA[" + _clean(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def entries(sc: Scenario, acc: SimAccount, style: str, params: dict[str, str]) -> list[Entry]:
    limit, _ = STYLES[style]
    try:
        limit = min(max(int(params.get("limit") or limit), 1), 100)
        page = max(int(params.get("page") or 1), 1) if style.startswith("wewe") else 1
    except ValueError:
        page = 1
    posts = [p for p in sc.posts(acc) if "foreign_author" not in p.flags]
    ordinary = [p for p in posts if not p.pinned]
    chunk = ordinary[(page - 1) * limit : page * limit]
    if page == 1 and chunk:  # RSSHub drops pinned posts older than the page's oldest ordinary post
        chunk = [p for p in posts if p.pinned and p.ts >= chunk[-1].ts] + chunk
    elif page == 1:
        chunk = [p for p in posts if p.pinned]
    return [_entry(acc, p, style) for p in chunk]


def _entry(acc: SimAccount, p: Post, style: str) -> Entry:
    if acc.platform == "weibo":
        link = f"https://weibo.com/{acc.platform_id}/{ids.weibo_bid(p.id)}"
        html = p.text
        if p.repost:
            html += (
                " <blockquote>转发 @星城发布: " + p.title + "</blockquote>"
                if "orig_deleted" not in p.flags
                else " <blockquote>原微博已删除</blockquote>"
            )
        return Entry(p.text if p.repost else p.title, link, html, p.ts, acc.screen_name)
    if acc.platform == "toutiao":
        return Entry(p.title if p.media != "micro" else p.text[:80], toutiao.link(p), p.text, p.ts, acc.screen_name)
    if style.startswith("wechat2rss"):
        link = wechat.link(acc, p).removesuffix("#rd").replace("http://", "https://", 1)
    else:
        link = wechat.short_link(acc, p)
    return Entry(p.title, link, p.text, p.ts, acc.screen_name, wechat.cover(p))


def _date(acc: SimAccount, style: str, ts: int) -> str:
    if acc.quirk in QUIRK_DATES:
        return QUIRK_DATES[acc.quirk](ts)
    if style in ("wewe-atom", "wewe-json", "wechat2rss-json"):
        return iso_ms_z(ts)
    return rfc822_local(ts) if style == "wechat2rss" else http_gmt(ts)


def channel_title(acc: SimAccount) -> str:
    if acc.platform == "weibo":
        return f"{acc.screen_name}的微博"
    if acc.platform == "toutiao":
        return f"{acc.screen_name}的头条主页 - 今日头条(www.toutiao.com)"
    return acc.screen_name


def home(acc: SimAccount) -> str:
    return {
        "weibo": f"https://weibo.com/{acc.platform_id}/",
        "toutiao": f"https://www.toutiao.com/c/user/token/{acc.platform_id}/",
        "wechat": f"https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz={acc.platform_id}",
    }[acc.platform]


def render(sc: Scenario, acc: SimAccount, style: str, params: dict[str, str], self_url: str, now_ts: int) -> Reply:
    items = entries(sc, acc, style, params)
    if style in ("wewe-json", "wechat2rss-json"):
        return _json_feed(acc, style, items, self_url)
    xml = _atom(acc, items, self_url) if style == "wewe-atom" else _rss(acc, style, items, self_url, now_ts)
    _, content_type = STYLES[style]
    if acc.quirk == "wrong_ctype":
        content_type = "text/html; charset=utf-8"
    if acc.quirk in ("gbk", "gbk_mislabeled"):
        xml = xml.replace('encoding="utf-8"', 'encoding="gbk"', 1)
        ctype = content_type.split(";")[0]
        return Reply(
            200,
            xml.encode("gbk", "xmlcharrefreplace"),
            ctype + ("; charset=utf-8" if acc.quirk == "gbk_mislabeled" else ""),
        )
    return Reply(200, xml.encode("utf-8"), content_type)


def _title(acc: SimAccount, text: str, first: bool) -> str:
    if acc.quirk == "broken_xml":  # raw text, and an unescaped "&" in the first title
        return _clean(text).replace("<", "").replace(">", "") + (" & 更多" if first else "")
    return _cdata(text)


def _rss(acc: SimAccount, style: str, items: list[Entry], self_url: str, now_ts: int) -> str:
    generator = {"rsshub": "RSSHub", "wewe-rss": "WeWe-RSS", "wechat2rss": "Wechat2RSS"}[style]
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss xmlns:atom="http://www.w3.org/2005/Atom" version="2.0"><channel>',
        f"<title>{_cdata(channel_title(acc))}</title>",
        f"<link>{escape(home(acc))}</link>",
        f'<atom:link href={quoteattr(self_url)} rel="self" type="application/rss+xml"/>',
        f"<description>{_cdata(channel_title(acc) + ' - Powered by ' + generator)}</description>",
        f"<generator>{generator}</generator>",
        "<language>zh-cn</language>",
        f"<lastBuildDate>{http_gmt(now_ts)}</lastBuildDate>",
        "<ttl>5</ttl>",
    ]
    for n, e in enumerate(items):
        out += [
            "<item>",
            f"<title>{_title(acc, e.title, n == 0)}</title>",
            f"<description>{_cdata(e.html)}</description>",
            f"<pubDate>{_date(acc, style, e.ts)}</pubDate>",
            f'<guid isPermaLink="false">{escape(e.link)}</guid>',
            f"<link>{escape(e.link)}</link>",
            f"<author>{_cdata(e.author)}</author>",
        ]
        if e.image:
            out.append(f"<enclosure url={quoteattr(e.image)}/>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out)


def _atom(acc: SimAccount, items: list[Entry], self_url: str) -> str:
    updated = iso_ms_z(max((e.ts for e in items), default=0)) if items else iso_ms_z(0)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<id>{escape(self_url)}</id>",
        f"<title>{escape(_clean(channel_title(acc)))}</title>",
        f"<updated>{updated}</updated>",
        "<generator>WeWe-RSS</generator>",
        f'<link rel="alternate" href={quoteattr(home(acc))}/>',
        f'<link rel="self" href={quoteattr(self_url)}/>',
    ]
    for n, e in enumerate(items):
        out += [
            "<entry>",
            f'<title type="html">{_title(acc, e.title, n == 0)}</title>',
            f"<id>{escape(e.link)}</id>",
            f"<link href={quoteattr(e.link)}/>",
            f"<updated>{_date(acc, 'wewe-atom', e.ts)}</updated>",
            f'<summary type="html">{_cdata(e.html)}</summary>',
            "</entry>",
        ]
    out.append("</feed>")
    return "\n".join(out)


def _json_feed(acc: SimAccount, style: str, items: list[Entry], self_url: str) -> Reply:
    key = "date_modified" if style == "wewe-json" else "date_published"  # wewe-rss sets only `date`
    doc: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1" if style == "wewe-json" else "https://jsonfeed.org/version/1.1",
        "title": channel_title(acc),
        "home_page_url": home(acc),
        "feed_url": self_url,
        "items": [
            {
                "id": e.link,
                "url": e.link,
                "title": e.title,
                "content_html": e.html,
                key: _date(acc, style, e.ts),
                **({"image": e.image} if e.image else {}),
            }
            for e in items
        ],
    }
    content_type = "text/html; charset=utf-8" if acc.quirk == "wrong_ctype" else STYLES[style][1]
    return Reply(200, dumps(doc), content_type)
