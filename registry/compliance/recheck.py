"""`govpulse check`: the rules run again over the stored posts (their excerpts: a post keeps at most 2,000
characters), after the rule files changed. New hits become findings like a patrol's; remembered false
positives stay quiet. Nothing is marked fixed here: an excerpt is not the whole post, only a patrol that
reads the post again can tell that a match is gone.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from registry.compliance.findings import CheckedPost, store_findings
from registry.compliance.matcher import Checker
from registry.db import session_scope
from registry.models import Account, Post

BATCH = 2000


@dataclass
class RecheckStats:
    posts: int = 0
    hits: int = 0
    new: int = 0
    suppressed: int = 0


def recheck(
    engine: Engine,
    checker: Checker,
    *,
    org_ids: Collection[int] | None = None,
    account_ids: Collection[int] | None = None,
    since: datetime | None = None,
) -> RecheckStats:
    stats = RecheckStats()
    after = 0
    while True:
        query = (
            select(Post.id, Post.account_id, Post.title, Post.text, Post.url, Post.published_at)
            .join(Account, Account.id == Post.account_id)
            .where(Post.id > after)
            .order_by(Post.id)
            .limit(BATCH)
        )
        if org_ids is not None:
            query = query.where(Account.org_id.in_(list(org_ids)))
        if account_ids is not None:
            query = query.where(Post.account_id.in_(list(account_ids)))
        if since is not None:
            query = query.where(Post.published_at >= since)
        with session_scope(engine) as session:
            rows = session.execute(query).all()
            if not rows:
                return stats
            posts = []
            for post_id, account_id, title, text, url, published_at in rows:
                hits = [h.as_dict() for h in checker.check(title, text)]
                stats.hits += len(hits)
                if hits:
                    posts.append(CheckedPost(post_id, account_id, None, url, published_at, (), hits))
            result = store_findings(session, posts)
        stats.posts += len(rows)
        stats.new += result.new
        stats.suppressed += result.suppressed
        after = rows[-1][0]
