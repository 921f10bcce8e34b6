"""one post, one identity: posts a bridge stored under its link get the platform's own id

Before this revision a feed entry's id was its guid or link: RSSHub's Weibo link
(https://weibo.com/{uid}/{bid}) where the API stores the mid, its Toutiao link (/article/{id}/) where the
API stores the item id, a WeChat guid where the lists give appmsgid_idx. An account patrolled through both
routes has its posts twice. Each such post is renamed to the platform's id or, where that post is already
stored, merged into it (the earlier first sighting and the later last sighting are kept, and the API's
row keeps its engagement) and deleted.

Revision ID: 0002
Revises: 0008
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Union
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from alembic import op

from registry.identifiers import weibo_mid_from_bid
from registry.types import TZDateTime

revision: str = "0002"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 500
_MID = re.compile(r"[1-9]\d{9,19}")
_TOUTIAO = re.compile(r"/(?:article|video|w|group|item|a|i)/?(\d{6,20})/?$|/[ai](\d{6,20})/?$")
_WEIBO_HOSTS = ("weibo.com", "www.weibo.com", "m.weibo.cn", "weibo.cn", "m.weibo.com")

post = sa.table(
    "post",
    sa.column("id", sa.Integer),
    sa.column("account_id", sa.Integer),
    sa.column("platform_post_id", sa.String),
    sa.column("first_seen_at", TZDateTime),
    sa.column("last_seen_at", TZDateTime),
)
account = sa.table("account", sa.column("id", sa.Integer), sa.column("platform", sa.String))


def canonical(platform: str, post_id: str) -> str | None:
    """The platform's own id for a link stored as a post id (frozen here: the rule of this revision)."""
    try:
        parts = urlsplit(post_id)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if platform == "weibo" and host in _WEIBO_HOSTS:
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) != 2 or segments[0] in ("u", "n", "profile"):
            return None
        return segments[1] if _MID.fullmatch(segments[1]) else weibo_mid_from_bid(segments[1])
    if platform == "toutiao" and host.endswith("toutiao.com"):
        found = _TOUTIAO.search(parts.path)
        return (found.group(1) or found.group(2)) if found else None
    if platform == "wechat" and host == "mp.weixin.qq.com":
        query = parse_qs(parts.query)
        mid = (query.get("mid") or query.get("appmsgid") or [""])[0]
        idx = (query.get("idx") or query.get("itemidx") or ["1"])[0]
        return f"{mid}_{idx}" if mid.isdigit() and idx.isdigit() else None
    return None


def upgrade() -> None:
    conn = op.get_bind()
    _merge_links(conn)
    _merge_wechat_short_links(conn)


def _merge(conn: sa.engine.Connection, pairs: list[tuple[tuple, tuple]]) -> None:
    """Delete each duplicate (id, first_seen_at, last_seen_at) and widen its target's sighting window."""
    merged = [
        {"b_id": target[0], "b_first": min(target[1], dup[1]), "b_last": max(target[2], dup[2])}
        for target, dup in pairs
    ]
    deleted = [dup[0] for _, dup in pairs]
    for start in range(0, len(deleted), BATCH):
        conn.execute(post.delete().where(post.c.id.in_(deleted[start : start + BATCH])))
    if merged:
        conn.execute(
            post.update()
            .where(post.c.id == sa.bindparam("b_id"))
            .values(first_seen_at=sa.bindparam("b_first"), last_seen_at=sa.bindparam("b_last")),
            merged,
        )


_CANONICAL = re.compile(r"\d+_\d+")
_OPAQUE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _merge_wechat_short_links(conn: sa.engine.Connection) -> None:
    """wewe-rss stored WeChat articles under their short-link ids, the MP lists under appmsgid_idx: the
    same account, publish time and title are the same article."""
    full = sa.table(
        "post",
        sa.column("id", sa.Integer),
        sa.column("account_id", sa.Integer),
        sa.column("platform_post_id", sa.String),
        sa.column("first_seen_at", TZDateTime),
        sa.column("last_seen_at", TZDateTime),
        sa.column("published_at", TZDateTime),
        sa.column("title", sa.String),
    )
    a, b = full.alias("a"), full.alias("b")
    rows = conn.execute(
        sa.select(
            a.c.id,
            a.c.platform_post_id,
            a.c.first_seen_at,
            a.c.last_seen_at,
            b.c.id,
            b.c.platform_post_id,
            b.c.first_seen_at,
            b.c.last_seen_at,
        )
        .select_from(
            a.join(
                b,
                sa.and_(
                    a.c.account_id == b.c.account_id,
                    a.c.published_at == b.c.published_at,
                    a.c.title == b.c.title,
                    a.c.id != b.c.id,
                ),
            ).join(account, account.c.id == a.c.account_id)
        )
        .where(account.c.platform == "wechat", a.c.title.is_not(None), a.c.published_at.is_not(None))
    ).all()
    pairs, taken = [], set()
    for row in rows:
        if (
            _CANONICAL.fullmatch(row[1])
            and _OPAQUE.fullmatch(row[5])
            and not _CANONICAL.fullmatch(row[5])
            and row[4] not in taken
        ):
            taken.add(row[4])
            pairs.append(((row[0], row[2], row[3]), (row[4], row[6], row[7])))
    _merge(conn, pairs)


def _merge_links(conn: sa.engine.Connection) -> None:
    rows = conn.execute(
        sa.select(
            post.c.id,
            post.c.account_id,
            account.c.platform,
            post.c.platform_post_id,
            post.c.first_seen_at,
            post.c.last_seen_at,
        )
        .select_from(post.join(account, account.c.id == post.c.account_id))
        .where(post.c.platform_post_id.like("http%"))
    ).all()
    renames = [(r, new) for r in rows if (new := canonical(r[2], r[3])) and new != r[3]]
    for start in range(0, len(renames), BATCH):
        chunk = renames[start : start + BATCH]
        keys = {(r[1], new) for r, new in chunk}
        existing = {
            (e[1], e[2]): e
            for e in conn.execute(
                sa.select(
                    post.c.id, post.c.account_id, post.c.platform_post_id, post.c.first_seen_at, post.c.last_seen_at
                )
                .where(post.c.account_id.in_({a for a, _ in keys}))
                .where(post.c.platform_post_id.in_({p for _, p in keys}))
            ).all()
        }
        merged, deleted, renamed = [], [], []
        for row, new in chunk:
            target = existing.get((row[1], new))
            if target is None:  # the first of its kind: it becomes the canonical row
                renamed.append({"b_id": row[0], "b_new": new})
                existing[(row[1], new)] = (row[0], row[1], new, row[4], row[5])
                continue
            merged.append(
                {
                    "b_id": target[0],
                    "b_first": min(d for d in (target[3], row[4]) if d is not None),
                    "b_last": max(d for d in (target[4], row[5]) if d is not None),
                }
            )
            deleted.append(row[0])
        if deleted:
            conn.execute(post.delete().where(post.c.id.in_(deleted)))
        if renamed:
            conn.execute(
                post.update().where(post.c.id == sa.bindparam("b_id")).values(platform_post_id=sa.bindparam("b_new")),
                renamed,
            )
        if merged:
            conn.execute(
                post.update()
                .where(post.c.id == sa.bindparam("b_id"))
                .values(first_seen_at=sa.bindparam("b_first"), last_seen_at=sa.bindparam("b_last")),
                merged,
            )


def downgrade() -> None:
    pass  # the merged rows were the same posts: nothing to restore
