"""RSS 2.0, Atom and JSON Feed from bridges (RSSHub, wewe-rss, Wechat2RSS) and websites.

feedparser reads the XML (from bytes, never from a string, which it would take for a URL or a file
name); the dates it parses are not used: it reads "2023年03月15日" and "2023/03/15 12:30" as the first of
the current month, "CST" as US Central time and zone-less times as UTC. The raw `published`/`updated`
strings go to our own date parser. feedparser 6 does not read JSON Feed, so JSON Feed is read here.
"""

from __future__ import annotations

import hashlib
import io
import json
import pyexpat
import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urljoin

import feedparser

from crawlers.items import PageResult, PostItem
from crawlers.parsing.posts import build_post
from crawlers.parsing.responses import as_dict, as_list, check_http, failure, header, html_failure, looks_like_html
from crawlers.parsing.wechat import article_id

if pyexpat.version_info < (2, 4, 0):
    raise ImportError(
        f"the system XML parser is {pyexpat.EXPAT_VERSION}; feeds need expat 2.4 or newer, whose "
        "amplification limits stop entity-expansion attacks. Upgrade libexpat (or Python) first."
    )

MAX_FEED_BYTES = 5 * 1024 * 1024
ID_LIMIT = 100  # registry.models.Post.platform_post_id
BOZO = "feed_bozo"
# bozo causes that do not make the XML unreadable: a text/html content type, a wrong charset header.
_HARMLESS = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
# A feed has no use for a DTD internal subset (entity declarations): refusing it means a "billion
# laughs" is never expanded at all, instead of being stopped by expat after a second or two.
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)


def parse_feed(
    body: bytes, *, status: int, headers: Mapping[str, str], url: str, fetched_at: datetime, platform: str
) -> PageResult:
    """A whole feed as one page (feeds do not page): its entries as posts, without engagement.

    For WeChat (`platform` "wechat") the post id comes from the article link, as the MP lists give it,
    because bridges may hand out temporary links (with a timestamp and signature) as guids.
    """
    failed = check_http(status=status, headers=headers, url=url, not_found=(404, 410))
    if failed:
        return failed
    if len(body) > MAX_FEED_BYTES:
        return failure("malformed", f"feed larger than {MAX_FEED_BYTES // 1024 // 1024} MB", status)
    if not body.strip():
        return failure("malformed", "empty body instead of a feed", status)
    content_type = header(headers, "content-type")
    if "json" in content_type.lower() or body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _json_feed(body, status=status, fetched_at=fetched_at, platform=platform)
    if looks_like_html(body):
        return html_failure(body, status, expected="a feed")
    if _INTERNAL_SUBSET.search(body):
        return failure("malformed", "the feed declares its own DTD entities (refused)", status)
    # No content-location: feedparser would resolve a relative guid ("12345") against the bridge's URL,
    # and every post would get a new id when the bridge moves. Relative links are resolved below.
    # Sanitising and resolving links inside the HTML is wasted work: all markup is stripped afterwards.
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers={"content-type": content_type or "application/xml"},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    if not parsed.entries:
        problem = parsed.get("bozo_exception") if parsed.bozo else None
        if parsed.get("version") and (problem is None or isinstance(problem, _HARMLESS)):
            return failure("empty", "the feed has no entries", status)
        # A broken feed that yields nothing is a broken source, never an account without posts.
        return failure("malformed", f"not a readable feed ({type(problem).__name__ if problem else 'unknown format'})",
                       status)
    flags = [BOZO] if parsed.bozo else []
    posts = [
        _post(
            _entry_id(entry.get("id"), entry.get("link"), platform),
            raw_time=entry.get("published") or entry.get("updated"),
            title=entry.get("title"),
            text=_entry_text(entry),
            url=urljoin(url, entry["link"]) if isinstance(entry.get("link"), str) else None,
            fetched_at=fetched_at,
            flags=flags,
        )
        for entry in parsed.entries
    ]
    return PageResult(http_status=status, posts=posts)


def _json_feed(body: bytes, *, status: int, fetched_at: datetime, platform: str) -> PageResult:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        feed = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return failure("malformed", f"invalid JSON feed ({type(exc).__name__})", status)
    version = as_dict(feed).get("version")
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        return failure("malformed", "JSON that is not a JSON Feed", status)
    items = [as_dict(item) for item in as_list(feed.get("items"))]
    if not items:
        return failure("empty", "the feed has no entries", status)
    posts = [
        _post(
            _entry_id(item.get("id"), item.get("url"), platform),
            raw_time=item.get("date_published") or item.get("date_modified"),
            title=item.get("title"),
            text=item.get("content_text") or item.get("summary") or item.get("content_html"),
            url=item.get("url") or item.get("external_url"),
            fetched_at=fetched_at,
        )
        for item in items
    ]
    return PageResult(http_status=status, posts=posts)


def _post(
    entry_id: object, *, raw_time: object, title: object, text: object, url: object, fetched_at: datetime,
    flags: list[str] | None = None,
) -> PostItem:
    return build_post(
        _post_id(entry_id, title, raw_time),
        raw_time=raw_time,
        fetched_at=fetched_at,
        title=title,
        text=text,
        url=url,
        flags=flags or (),
    )


def _entry_id(entry_id: object, link: object, platform: str) -> object:
    if platform == "wechat" and isinstance(link, str):
        return article_id(link) or entry_id or link
    return entry_id or link


def _post_id(entry_id: object, title: object, raw_time: object) -> str:
    """The entry's guid/id/link; a long one is hashed to fit; without any, title and date identify it."""
    text = str(entry_id).strip() if entry_id is not None else ""
    if not text:
        text = f"{title}\x1f{raw_time}"
    elif len(text) <= ID_LIMIT:
        return text
    return "sha1:" + hashlib.sha1(text.encode("utf-8", errors="replace")).hexdigest()


def _entry_text(entry: Mapping) -> object:
    content = as_list(entry.get("content"))
    if content:
        return as_dict(content[0]).get("value")
    return entry.get("summary")
