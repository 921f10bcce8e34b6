"""RSS 2.0, Atom and JSON Feed from bridges (RSSHub, wewe-rss, Wechat2RSS) and websites.

feedparser reads the XML (from bytes, never from a string, which it would take for a URL or a file
name); the dates it parses are not used: it reads "2023年03月15日" and "2023/03/15 12:30" as the first of
the current month, "CST" as US Central time and zone-less times as UTC. The raw `published`/`updated`
strings go to our own date parser. feedparser 6 does not read JSON Feed, so JSON Feed is read here.

Plain feeds take a shorter road (`_plain_entries`): well-formed UTF-8 RSS 2.0 or Atom 1.0 whose entries
hold only the usual elements, read by ElementTree in a tenth of feedparser's time, into the values
feedparser gives for them (the same stripping, link and id handling and text repairs). Anything else (a
DOCTYPE, another encoding, a content type feedparser complains about, an element or attribute off the
list, a repeated field, characters feedparser would remap) goes to feedparser.
"""

from __future__ import annotations

import hashlib
import io
import json
import pyexpat
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from crawlers.items import PageResult, PostItem
from crawlers.parsing.posts import build_post
from crawlers.parsing.responses import as_dict, as_list, check_http, failure, header, html_failure, looks_like_html
from crawlers.parsing.bridges import read_bridge_answer
from crawlers.parsing.identity import feed_post_id

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
    body: bytes,
    *,
    status: int,
    headers: Mapping[str, str],
    url: str,
    fetched_at: datetime,
    platform: str,
    bridge: str = "custom",
) -> PageResult:
    """A whole feed as one page (feeds do not page): its entries as posts, without engagement.

    Post ids are those the platform's own API gives (crawlers/parsing/identity.py), so that a post read
    through a bridge and through the API is one post. `bridge` names whose table reads a non-feed answer
    (crawlers/parsing/bridges.py).
    """
    failed = read_bridge_answer(bridge, body, status=status, headers=headers)
    if failed:
        return failed
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
    entries: list[Any] | None = _plain_entries(body, content_type)
    flags: list[str] = []
    if entries is None:
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
            return failure(
                "malformed", f"not a readable feed ({type(problem).__name__ if problem else 'unknown format'})", status
            )
        entries = parsed.entries
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
        for entry in entries
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
    if not isinstance(feed.get("items"), list):  # required by the spec: a feed without it is not one
        return failure("malformed", "a JSON Feed without an items list", status)
    items = [as_dict(item) for item in feed["items"]]
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
    entry_id: object,
    *,
    raw_time: object,
    title: object,
    text: object,
    url: object,
    fetched_at: datetime,
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
    return feed_post_id(platform, entry_id, link)


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


# -- the plain-feed road ------------------------------------------------------------------------------

_ATOM = "{http://www.w3.org/2005/Atom}"
_XML_TYPES = frozenset({"application/xml", "application/rss+xml", "application/atom+xml"})
_DECLARATION = re.compile(
    rb"""<\?xml\s+version\s*=\s*["']1\.0["']"""
    rb"""(?:\s+encoding\s*=\s*["']utf-8["'])?(?:\s+standalone\s*=\s*["'](?:yes|no)["'])?\s*\?>""",
    re.IGNORECASE,
)
# C1 controls, which feedparser maps to their windows-1252 letters.
_CP1252_RANGE = re.compile("[\x80-\x9f]")
_URI_FIXER = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")  # feedparser's: "http:///x" -> "http://x"
_LINK_REFERENCE = re.compile("&([A-Za-z0-9_]+);")
_TEXT_TYPES = frozenset({"text", "html", "text/plain", "text/html"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Entry children read (each at most once, text only) and those passed over, with the attributes allowed.
_RSS_READ = {"title": (), "link": (), "guid": ("isPermaLink",), "pubDate": (), "description": ()}
_RSS_SKIP = {"author": (), "category": ("domain",), "comments": (), "enclosure": ("url", "length", "type")}
_ATOM_READ = {"title": ("type",), "id": (), "published": (), "updated": (), "summary": ("type",), "content": ("type",)}
_ATOM_SKIP = {"category": ("term", "scheme", "label")}
_ATOM_LINK = frozenset({"href", "rel", "type", "title", "hreflang", "length"})
_ATOM_PERSON = frozenset({_ATOM + "name", _ATOM + "uri", _ATOM + "email"})


class _NotPlain(Exception):
    """The feed needs feedparser."""


def _plain_entries(body: bytes, content_type: str) -> list[dict[str, Any]] | None:
    """The entries of a plain RSS 2.0 or Atom 1.0 feed, as feedparser would give them; None when the feed
    is not that plain (feedparser reads it then)."""
    media, _, params = (content_type or "application/xml").partition(";")
    charset = params.partition("charset=")[2].strip().strip("\"'").lower()
    if media.strip().lower() not in _XML_TYPES or charset not in ("", "utf-8"):
        return None
    if body.startswith(b"<?") and not _DECLARATION.match(body):
        return None
    if b"<!" in body.replace(b"<![CDATA[", b"") or b"xml:base" in body:  # DOCTYPE, comments, relative bases
        return None
    try:
        root = ET.fromstring(body)
        if root.tag == "rss" and root.get("version") == "2.0" and len(root) == 1 and root[0].tag == "channel":
            items = root[0].findall("item")
            if len(items) != sum(1 for _ in root.iter("item")):
                return None
            entries = [_rss_entry(item) for item in items]
        elif root.tag == _ATOM + "feed":
            items = root.findall(_ATOM + "entry")
            if len(items) != sum(1 for _ in root.iter(_ATOM + "entry")):
                return None
            entries = [_atom_entry(item) for item in items]
        else:
            return None
    except (ET.ParseError, ValueError, _NotPlain):  # UnicodeDecodeError is a ValueError
        return None
    return entries or None


def _text(element: ET.Element, allowed: tuple[str, ...] | frozenset[str] = (), *, uri: bool = False) -> str:
    """The element's text as feedparser's pop() leaves it: stripped, resolved when it is a URI, and repaired
    (UTF-8 that was read as Latin-1)."""
    _bare(element, allowed)
    if (element.get("type") or "text").lower() not in _TEXT_TYPES:  # xhtml, base64 and the like
        raise _NotPlain
    text = (element.text or "").strip()
    if uri:
        text = _uri(text)
    try:
        repaired = text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        repaired = text
    if _CP1252_RANGE.search(text) or _CP1252_RANGE.search(repaired):
        raise _NotPlain
    return repaired


def _bare(element: ET.Element, allowed: tuple[str, ...] | frozenset[str]) -> None:
    """No child elements, and no attribute but those allowed."""
    if len(element) or any(name not in allowed for name in element.attrib):
        raise _NotPlain


def _uri(text: str) -> str:
    """A URI as feedparser resolves it against no base."""
    return _URI_FIXER.sub(r"\1\3", text)


def _rss_entry(item: ET.Element) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for child in _children(item):
        tag = child.tag
        if tag in _RSS_SKIP:
            _bare(child, _RSS_SKIP[tag])
            continue
        if tag not in _RSS_READ or tag in seen:
            raise _NotPlain
        seen.add(tag)
        if tag == "guid":  # a permalink unless it says otherwise: then also the link when there is none
            permalink = child.get("isPermaLink", "true") == "true"
            entry["id"] = _text(child, _RSS_READ[tag], uri=permalink)
            if permalink:
                entry.setdefault("link", entry["id"])
        elif tag == "link":  # feedparser's repair of "?a=1&amp;b=2" read as a reference
            entry["link"] = _LINK_REFERENCE.sub(r"&\g<1>", _text(child, uri=True).replace("&amp;", "&"))
        else:
            entry[{"pubDate": "published", "description": "summary"}.get(tag, tag)] = _text(child, _RSS_READ[tag])
    return entry


def _children(item: ET.Element) -> ET.Element:
    """An entry's elements; an entry with attributes (rdf:about, xml:lang) is left to feedparser."""
    if item.attrib:
        raise _NotPlain
    return item


def _atom_entry(item: ET.Element) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for child in _children(item):
        tag = child.tag[len(_ATOM) :] if child.tag.startswith(_ATOM) else None
        if tag == "link":
            _atom_link(child, entry)
        elif tag == "author":
            if (
                child.attrib
                or child.text
                and child.text.strip()
                or any(part.tag not in _ATOM_PERSON or len(part) or part.attrib for part in child)
            ):
                raise _NotPlain
        elif tag in _ATOM_SKIP:
            _bare(child, _ATOM_SKIP[tag])
        elif tag not in _ATOM_READ or tag in seen:
            raise _NotPlain
        else:
            seen.add(tag)
            if tag == "id":  # to feedparser a guid that is a permalink: the link when there is none
                entry["id"] = _text(child, uri=True)
                entry.setdefault("link", entry["id"])
            elif tag == "content":  # feedparser copies text content to the summary when there is none
                entry["content"] = [{"value": _text(child, _ATOM_READ[tag])}]
                entry.setdefault("summary", entry["content"][0]["value"])
            else:
                entry[tag] = _text(child, _ATOM_READ[tag])
    return entry


def _atom_link(link: ET.Element, entry: dict[str, Any]) -> None:
    _bare(link, _ATOM_LINK)
    if "href" not in link.attrib:
        raise _NotPlain
    rel = link.get("rel", "alternate").lower()
    kind = link.get("type", "application/atom+xml" if rel == "self" else "text/html").lower()
    kind = {"text": "text/plain", "plain": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}.get(
        kind, kind
    )
    if rel == "alternate" and kind in _HTML_TYPES:
        entry["link"] = _uri(link.attrib["href"])
