"""One post, one row, when a route gives a post an id that cannot be mapped to the platform's own.

wewe-rss links WeChat articles by short links (mp.weixin.qq.com/s/<opaque id>), which only WeChat can map
to the appmsgid_idx the MP lists give. An account read through both would keep every article twice, so a
post arriving under an id of the other form is matched to the stored post of the same account with the
same publish time and the same title: an opaque id takes the stored canonical id; a canonical id renames
the stored opaque row. Every other id (Weibo's mid, Toutiao's item id: bridges give those exactly) is left
alone. One query per batch, on the (account_id, published_at) index.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

from sqlalchemy import bindparam, select, update

from registry.models import Post

_CANONICAL = re.compile(r"\d+_\d+")  # appmsgid_idx
_OPAQUE = re.compile(r"[A-Za-z0-9_-]{16,64}")  # a short link's id

Key = tuple[int, str]


def _kind(post_id: str) -> str | None:
    if _CANONICAL.fullmatch(post_id):
        return "canonical"
    if _OPAQUE.fullmatch(post_id) and not post_id.isdigit():
        return "opaque"
    return None


def align_wechat_ids(session: Any, rows: MutableMapping[Key, dict[str, Any]]) -> None:
    """Give the batch's WeChat-shaped posts the id their stored twin has (or rename an opaque twin)."""
    candidates = [
        (key, row)
        for key, row in rows.items()
        if row.get("published_at") is not None and row.get("title") and _kind(key[1])
    ]
    if not candidates:
        return
    accounts = {key[0] for key, _ in candidates}
    times = {row["published_at"] for _, row in candidates}
    stored = session.execute(
        select(Post.id, Post.account_id, Post.platform_post_id, Post.published_at, Post.title).where(
            Post.account_id.in_(accounts), Post.published_at.in_(times)
        )
    ).all()
    by_twin: dict[tuple[int, Any, str], list[tuple[int, str]]] = {}
    for post_id, account_id, platform_post_id, published_at, title in stored:
        if title and _kind(platform_post_id):
            by_twin.setdefault((account_id, published_at, title), []).append((post_id, platform_post_id))
    renames = []
    for key, row in candidates:
        kind = _kind(key[1])
        for stored_id, stored_key in by_twin.get((key[0], row["published_at"], row["title"]), []):
            other = _kind(stored_key)
            if stored_key == key[1] or other == kind:
                continue
            if kind == "opaque":  # the stored row has the platform's id: store under it
                rows.pop(key)
                row["platform_post_id"] = stored_key
                rows.setdefault((key[0], stored_key), row)
            elif (key[0], stored_key) not in rows:  # the stored row has the opaque id: it takes the platform's
                renames.append({"b_id": stored_id, "b_new": key[1]})
            break
    if renames:
        table = Post.__table__
        session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(platform_post_id=bindparam("b_new")), renames
        )
