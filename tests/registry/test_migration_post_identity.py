"""Revision 0002 merges the posts a bridge stored under its link into the platform's own id: a database
with data, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from registry.db import alembic_config, open_engine, session_scope, upgrade
from registry.models import Account, Organization, Post


def revision_before(revision: str) -> str:
    """The revision this one follows, whatever revisions were added before it since."""
    from alembic.script import ScriptDirectory

    down = ScriptDirectory.from_config(alembic_config(None)).get_revision(revision).down_revision  # type: ignore[arg-type]
    assert isinstance(down, str)
    return down


T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_posts_stored_under_bridge_links_are_merged_into_the_platform_ids(db_url: str) -> None:
    engine = open_engine(db_url)
    with session_scope(engine) as s:
        org = Organization(name="岳麓区", level="district")
        s.add(org)
        s.flush()
        weibo = Account(platform="weibo", platform_id="5529945701", name="发布", org_id=org.id)
        toutiao = Account(platform="toutiao", platform_id="MS4wLjABAAAAxyzxyzxyz", name="头条", org_id=org.id)
        wechat = Account(platform="wechat", platform_id="MzA5NDc1NzQ4MA==", name="公众号", org_id=org.id)
        s.add_all([weibo, toutiao, wechat])
        s.flush()
        s.add_all(
            [
                # The API's row (with engagement) and RSSHub's row of the same post: the bid is the mid in base62.
                Post(
                    account_id=weibo.id, platform_post_id="4387933362623405", likes=7, first_seen_at=T1, last_seen_at=T1
                ),
                Post(
                    account_id=weibo.id,
                    platform_post_id="https://weibo.com/5529945701/HATy0b0sZ",
                    first_seen_at=T0,
                    last_seen_at=T2,
                ),
                # Seen through RSSHub only: renamed.
                Post(
                    account_id=weibo.id,
                    platform_post_id="https://weibo.com/5529945701/HATy0b0s0",
                    first_seen_at=T0,
                    last_seen_at=T0,
                ),
                Post(account_id=toutiao.id, platform_post_id="7210987654321098765", first_seen_at=T1, last_seen_at=T1),
                Post(
                    account_id=toutiao.id,
                    platform_post_id="https://www.toutiao.com/article/7210987654321098765/",
                    first_seen_at=T0,
                    last_seen_at=T1,
                ),
                Post(
                    account_id=toutiao.id,
                    platform_post_id="https://www.toutiao.com/w/7210000000000000032/",
                    first_seen_at=T0,
                    last_seen_at=T0,
                ),
                Post(
                    account_id=toutiao.id, platform_post_id="sha1:abc", first_seen_at=T0, last_seen_at=T0
                ),  # untouched
                # wewe-rss's short-link id and the MP list's id of one article: same account, time and title.
                Post(
                    account_id=wechat.id,
                    platform_post_id="2650000001_1",
                    title="通知",
                    published_at=T0,
                    first_seen_at=T1,
                    last_seen_at=T1,
                ),
                Post(
                    account_id=wechat.id,
                    platform_post_id="MIuSs8kyV5PyyxV1ewh5CQ",
                    title="通知",
                    published_at=T0,
                    first_seen_at=T0,
                    last_seen_at=T2,
                ),
                Post(
                    account_id=wechat.id,
                    platform_post_id="ltgeo2BIyqPQ9CCrO5oOVg",
                    title="另一篇",
                    published_at=T0,
                    first_seen_at=T0,
                    last_seen_at=T0,
                ),  # another article: kept
            ]
        )
        ids = (weibo.id, toutiao.id, wechat.id)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision_before("0002")})
    upgrade(engine, "0002")
    with session_scope(engine) as s:
        posts = {(p.account_id, p.platform_post_id): p for p in s.execute(select(Post)).scalars()}
    engine.dispose()
    weibo_id, toutiao_id, wechat_id = ids
    assert sorted(posts) == sorted(
        [
            (weibo_id, "4387933362623405"),
            (weibo_id, "4387933362623344"),
            (toutiao_id, "7210987654321098765"),
            (toutiao_id, "7210000000000000032"),
            (toutiao_id, "sha1:abc"),
            (wechat_id, "2650000001_1"),
            (wechat_id, "ltgeo2BIyqPQ9CCrO5oOVg"),
        ]
    )
    article = posts[(wechat_id, "2650000001_1")]
    assert (article.first_seen_at, article.last_seen_at) == (T0, T2)
    merged = posts[(weibo_id, "4387933362623405")]
    assert (merged.likes, merged.first_seen_at, merged.last_seen_at) == (7, T0, T2)
    assert posts[(toutiao_id, "7210987654321098765")].first_seen_at == T0
