"""The visit records: what a patrol saw of one account, as the crawl hands it to the registry to store
(registry.observations.store_visits). Plain dataclasses, defined here once; the crawlers build them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class PostItem:
    platform_post_id: str  # always a string (Toutiao ids overflow floats)
    published_at: datetime | None  # aware UTC; None when the platform's date could not be read
    published_raw: str | None = None  # the platform's own text of the date
    title: str | None = None  # plain text, control characters removed, size-limited
    text: str | None = None  # plain text, size-limited
    url: str | None = None  # only http(s)
    is_pinned: bool = False
    is_repost: bool = False
    # Engagement: None = the source does not give it (missing is not zero).
    reposts: int | None = None
    comments: int | None = None
    likes: int | None = None
    reads: int | None = None
    counts_raw: dict[str, str] | None = None  # raw text of approximate counts ("1.2万+")
    flags: list[str] = field(default_factory=list)  # future_clamped, bad_count, foreign_author, bad_date, ...
    author_id: str | None = None  # whom the platform attributes the post to
    content_hash: str | None = None  # of title and text (parsing.text.content_hash); set by the crawl
    # Compliance checks (registry/compliance/), run by the crawl on the full text: the text beyond the
    # stored excerpt while the post is parsed (dropped once checked), the checks that ran, and their hits
    # (None: not checked, so nothing about this post's findings changes).
    full_text: str | None = None
    checked: tuple[str, ...] = ()
    findings: list[dict[str, Any]] | None = None
    links: dict[str, str] = field(default_factory=dict)  # links written in the text -> their context


@dataclass
class ProfileItem:
    followers: int | None = None
    followers_raw: str | None = None
    following: int | None = None
    posts_total: int | None = None
    name_seen: str | None = None
    verified_seen: bool | None = None


@dataclass
class AccountVisit:
    """The whole visit of one account in one patrol: what the pipeline stores."""

    patrol_id: int
    account_id: int
    outcome: str  # one of registry.vocabulary.OUTCOMES
    fetched_at: datetime
    source: str = "api"  # "api" | "feed"
    http_status: int | None = None
    reason: str | None = None
    url: str | None = None  # without credentials
    pages: int = 0
    posts: list[PostItem] = field(default_factory=list)
    profile: ProfileItem | None = None
