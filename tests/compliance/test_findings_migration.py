"""Revision 0010 upgrades a database holding a roster and posts: they stay, the finding table arrives as
the model describes it, and `govpulse check` fills it."""

from __future__ import annotations

import json

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from registry.db import make_engine, upgrade


def test_upgrade_keeps_the_posts_and_adds_the_findings(db_url: str, gp_env) -> None:
    from tests.conftest import Gp

    engine = make_engine(db_url)
    upgrade(engine, "0004")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organization (id, name, level, headcount, created_at, updated_at) "
                "VALUES (1, '岳麓区', 'district', 150, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO account (id, platform, platform_id, name, org_id, status, created_at, updated_at) "
                "VALUES (1, 'weibo', '2803301701', '岳麓发布', 1, 'active', '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO post (id, account_id, platform_post_id, published_at, first_seen_at, last_seen_at, "
                "title, text, is_pinned, is_repost) VALUES (1, 1, '5000', '2026-11-01 00:00:00', "
                "'2026-11-01 00:00:00', '2026-11-01 00:00:00', '通知', '请做好工作布署。', false, false)"
            )
        )
    assert not inspect(engine).has_table("finding")
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT text FROM post")).scalars().all() == ["请做好工作布署。"]
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert [d for d in diffs if "finding" in repr(d)] == []
    engine.dispose()
    gp = Gp(db_url)
    assert json.loads(gp.ok("check", "--json").output)["new"] == 1
    [finding] = json.loads(gp.ok("findings", "--json").output)
    assert (finding["check"], finding["rule"], finding["status"]) == ("typo", "布署→部署", "open")
