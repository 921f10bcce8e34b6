"""What a bridge means by an answer that is not a feed: one table per bridge (docs/patrol.md).

Bridges answer errors their own way, and the same status means different things from two bridges:
RSSHub's 404 "暂未发表作品" is an account without posts, wewe-rss's 400 "不存在该feed！" is an account the
bridge does not follow (the operator's to fix, never the account's fault), Wechat2RSS's 404 the same.
`read_bridge_answer` returns the outcome of such an answer, or None when the body should be read as a feed.
Behind a free template the answers that name their bridge (RSSHub's error page, wewe-rss's refusal) are
still read by that bridge's table.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping

from crawlers.items import PageResult
from crawlers.parsing.responses import failure, header, platform_message

SETUP = "setup_required"
SNIFF = 65_536

# RSSHub (lib/errors/index.tsx): NotFoundError -> 404, RejectError -> 403, anything else -> 503; the body is
# the HTML page "Looks like something went wrong" with the message in <code class="… details">, or
# {"error": {"message": …}} when RSSHub runs as a package.
_RSSHUB_NO_POSTS = "暂未发表作品"
_RSSHUB_NO_ROUTE = "The route does not exist or has been deleted."
_RSSHUB_PAGE = "Looks like something went wrong"
_RSSHUB_ACCESS = "Authentication failed. Access denied."
_RSSHUB_MESSAGE = re.compile(r"<code[^>]*details[^>]*>(.*?)</code>", re.DOTALL)
# wewe-rss (apps/server/src/feeds/feeds.service.ts): HttpException('不存在该feed！', 400), which NestJS
# sends as {"statusCode": 400, "message": "不存在该feed！"}.
_WEWE_UNKNOWN = "不存在该feed"

HINTS = {
    "wewe-rss": "add the account in wewe-rss (添加 → 添加公众号源, with one of its article share links); its feed is "
    "/feeds/MP_WXS_<biz as a number>",
    "wechat2rss": "subscribe the account in Wechat2RSS (/add/<biz as a number>); with RSS_ENC_FEED_ID on, set "
    "bridge.wechat2rss_secret to its RSS_SECRET",
    "rsshub-route": "check bridge.templates: RSSHub has no such route (rsshub: /weibo/user/<uid>, "
    "/toutiao/user/token/<MS4wLjAB… token>)",
    "rsshub-key": "set bridge.key to the ACCESS_KEY of this RSSHub",
}


def read_bridge_answer(bridge: str, body: bytes, *, status: int, headers: Mapping[str, object]) -> PageResult | None:
    """The outcome of a bridge's non-feed answer, by that bridge's table; None to read the body as a feed."""
    if bridge == "rsshub":
        return _rsshub(body, status, headers)
    if bridge == "wewe-rss":
        return _wewe(body, status)
    if bridge == "wechat2rss":
        return _wechat2rss(body, status)
    # A free template: RSSHub's error page and wewe-rss's refusal say who sent them; Wechat2RSS's 404 does not.
    return _rsshub(body, status, headers) or _wewe(body, status)


def _text(body: bytes) -> str:
    return body[:SNIFF].decode("utf-8", errors="replace")


def _rsshub_message(body: bytes, status: int, headers: Mapping[str, object]) -> str | None:
    """RSSHub's error message, from its error page or its JSON; None when the body is neither."""
    text = _text(body)
    if "json" in header(headers, "content-type").lower() or text.lstrip().startswith("{"):
        if status < 400:
            return None  # a JSON Feed, or JSON that is no feed (malformed): RSSHub's errors have an error status
        try:
            error = json.loads(text).get("error")
        except (ValueError, AttributeError, RecursionError):
            return None
        return str(error.get("message") or "") if isinstance(error, dict) else None
    if _RSSHUB_PAGE not in text:
        return None
    found = _RSSHUB_MESSAGE.search(text)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else ""


def _rsshub(body: bytes, status: int, headers: Mapping[str, object]) -> PageResult | None:
    message = _rsshub_message(body, status, headers)
    if message is None:
        return None  # a feed (200), or an answer that is not RSSHub's own: the generic reading applies
    said = platform_message(message)
    if _RSSHUB_NO_POSTS in message:
        return failure("empty", f"RSSHub: {_RSSHUB_NO_POSTS} (the account has published nothing)", status)
    if status == 404 and message.replace("NotFoundError:", "").strip() in ("", _RSSHUB_NO_ROUTE):
        return failure(SETUP, f"RSSHub: no such route; {HINTS['rsshub-route']}", status)
    if _RSSHUB_ACCESS in message:
        return failure(SETUP, f"RSSHub refused the access key; {HINTS['rsshub-key']}", status)
    if status == 404:
        return failure("not_found", f"RSSHub HTTP 404: {said}", status)
    if status == 403:
        return failure("rate_limited", f"RSSHub HTTP 403 (the platform refused RSSHub): {said}", status)
    return failure("error", f"RSSHub error page (HTTP {status}): {said}", status)


def _wewe(body: bytes, status: int) -> PageResult | None:
    if status == 400 and _WEWE_UNKNOWN in _text(body):
        return failure(SETUP, f"wewe-rss does not follow this account (400 不存在该feed); {HINTS['wewe-rss']}", status)
    return None


def _wechat2rss(body: bytes, status: int) -> PageResult | None:
    # Wechat2RSS is closed source: its documentation (deploy/api.md) serves /feed/<id>.xml for subscribed
    # accounts only; a 404 there is an id it does not serve, which is the operator's to fix.
    if status == 404:
        return failure(SETUP, f"Wechat2RSS has no feed with this id (HTTP 404); {HINTS['wechat2rss']}", status)
    return None
