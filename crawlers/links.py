"""The broken-link check: links written in a visit's posts, requested once each at the end of the visit,
politely (one download slot for all links, its own concurrency and delay, no retries, no cookies of the
platform). Each link has an outcome; only a link the web says is gone (HTTP 404 or 410, a host that does
not exist) becomes a finding. A timeout, a refusal or a server error proves nothing and stays quiet.
"""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import CannotResolveHostError

from registry.compliance.matcher import fingerprint
from registry.visits import PostItem

LINK_SLOT = "links"
MAX_LINKS_PER_VISIT = 20
GONE_STATUSES = (404, 410)
DEAD_LINK_SOURCE = "国办秘函〔2019〕19号《政府网站与政务新媒体检查指标》（链接不可用）"


def links_of(posts: list[PostItem]) -> list[str]:
    out: list[str] = []
    for post in posts:
        for url in post.links:
            if url not in out:
                out.append(url)
    return out[:MAX_LINKS_PER_VISIT]


def link_meta(timeout: float) -> dict[str, Any]:
    return {
        "download_slot": LINK_SLOT,
        "download_timeout": timeout,
        "dont_retry": True,
        "handle_httpstatus_all": True,
        "download_maxsize": 2_000_000,
        "download_warnsize": 0,
    }


def outcome_of_status(status: int) -> tuple[bool, str]:
    """(broken, what happened) for an answer."""
    return status in GONE_STATUSES, f"HTTP {status}"


def outcome_of_failure(exc: BaseException | None) -> tuple[bool, str]:
    if isinstance(exc, CannotResolveHostError):
        return True, "host not found"
    return False, type(exc).__name__


def attach_link_findings(posts: list[PostItem], outcomes: dict[str, tuple[bool, str]]) -> int:
    """Each post whose links were all checked gets the dead_link check marked as run, and a hit per broken
    link; returns the number of broken links."""
    broken = 0
    for post in posts:
        if not post.links or post.findings is None:
            continue
        if any(url not in outcomes for url in post.links):
            continue  # beyond the visit's cap: not checked this time, nothing concluded
        post.checked = (*post.checked, "dead_link")
        for url, context in post.links.items():
            dead, detail = outcomes[url]
            if not dead:
                continue
            broken += 1
            post.findings.append(
                {
                    "check": "dead_link",
                    "severity": "deduction",
                    "rule": url,
                    "rule_file": None,
                    "source": DEAD_LINK_SOURCE,
                    "match": url,
                    "context": context,
                    "detail": detail,
                    "fingerprint": fingerprint("dead_link", url, url, context),
                    "suggest": None,
                }
            )
    return broken
