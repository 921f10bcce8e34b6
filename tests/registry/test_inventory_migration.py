"""Revision 0005 upgrades a database holding a roster: its units and accounts stay, the group and app
tables arrive as the models describe them, and the inventory commands work on it."""

from __future__ import annotations

import json

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from registry.db import make_engine, upgrade


def test_upgrade_keeps_the_roster_and_adds_the_inventory(db_url: str, gp_env) -> None:
    from tests.conftest import Gp

    engine = make_engine(db_url)
    upgrade(engine, "0001")
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
    assert not inspect(engine).has_table("work_group")
    upgrade(engine, "0005")
    tables = set(inspect(engine).get_table_names())
    assert {"work_group", "gov_app"} <= tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM account")).scalars().all() == ["岳麓发布"]
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        ours = [d for d in diffs if "work_group" in repr(d) or "gov_app" in repr(d)]
    assert ours == []
    engine.dispose()
    gp = Gp(db_url)
    gp.ok("group", "add", "--org", "岳麓区", "--platform", "微信", "--name", "岳麓区工作群", "--owner", "张三")
    assert json.loads(gp.ok("inventory", "check", "--json").output)["units"][0]["cap"] == 10
