"""Building PostItems from platform values, and the last-update time of a list of posts.

Every parser builds its posts here, so that every title, text, link, date and count goes through the
same cleaning whatever the platform.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

from crawlers.items import PostItem
from crawlers.parsing.counts import read_counts
from crawlers.parsing.dates import parse_platform_time, raw_text
from crawlers.parsing.text import MAX_INPUT_CHARS, TEXT_LIMIT, plain_text, plain_title, safe_url, truncate

FOREIGN = "foreign_author"


def build_post(
    post_id: str,
    *,
    raw_time: object,
    fetched_at: datetime,
    counts: Mapping[str, object] | None = None,
    title: object = None,
    text: object = None,
    url: object = None,
    is_pinned: bool = False,
    is_repost: bool = False,
    author_id: str | None = None,
    flags: Iterable[str] = (),
) -> PostItem:
    """A post with its date parsed, its text cleaned and its counts read.

    `counts` maps reposts/comments/likes/reads to the platform's values; None means the source gives no
    engagement at all, and every count stays None.
    """
    published_at, date_flags = parse_platform_time(raw_time, fetched_at=fetched_at)
    numbers, raws, count_flags = read_counts(counts or {})
    full = plain_text(text, limit=MAX_INPUT_CHARS)  # the compliance checks read all of it; the post keeps an excerpt
    all_flags: list[str] = []
    for flag in (*flags, *date_flags, *count_flags):
        if flag not in all_flags:
            all_flags.append(flag)
    return PostItem(
        platform_post_id=post_id,
        published_at=published_at,
        published_raw=raw_text(raw_time),
        title=plain_title(title),
        text=truncate(full, TEXT_LIMIT) if full else None,
        url=safe_url(url),
        is_pinned=is_pinned,
        is_repost=is_repost,
        reposts=numbers.get("reposts"),
        comments=numbers.get("comments"),
        likes=numbers.get("likes"),
        reads=numbers.get("reads"),
        counts_raw=raws or None,
        flags=all_flags,
        author_id=author_id,
        full_text=full if full and len(full) > TEXT_LIMIT else None,
    )


def latest_publish_time(posts: Iterable[PostItem]) -> datetime | None:
    """The account's last update: the newest publish time over all its posts, pinned ones included.

    Not the first item (pinned posts come first and are often old), never the crawl time; posts that the
    platform attributes to another user do not count.
    """
    return max(
        (p.published_at for p in posts if p.published_at is not None and FOREIGN not in p.flags),
        default=None,
    )


def mark_foreign(posts: Iterable[PostItem], owner_id: str | None) -> None:
    """Flag posts the platform attributes to another user than the account's owner.

    Where the account is registered by a token (Toutiao's MS4wLjAB...), its numeric user id is not known
    in advance: the owner is then the author of most of the posts, and nothing is flagged on a tie.
    """
    posts = [p for p in posts if p.author_id]
    authors = Counter(p.author_id for p in posts)
    if len(authors) < 2:
        return
    if owner_id not in authors:
        (first, n1), (_, n2) = authors.most_common(2)
        if n1 == n2:
            return
        owner_id = first
    for post in posts:
        if post.author_id != owner_id and FOREIGN not in post.flags:
            post.flags.append(FOREIGN)
