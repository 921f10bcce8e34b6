"""Rows a migration test stores in raw SQL before upgrading (the models may describe a later schema)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection


def seed_accounts(conn: Connection, names: list[str]) -> list[int]:
    """A district (id 1) and one Weibo account per name in it (ids 1, 2, …, platform ids 2803301701, …)."""
    conn.execute(
        text(
            "INSERT INTO organization (id, name, level, created_at, updated_at) "
            "VALUES (1, '岳麓区', 'district', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    )
    for a, name in enumerate(names, start=1):
        conn.execute(
            text(
                "INSERT INTO account (id, platform, platform_id, name, org_id, status, created_at, updated_at) "
                "VALUES (:a, 'weibo', :pid, :name, 1, 'active', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"a": a, "pid": f"28033017{a:02d}", "name": name},
        )
    return list(range(1, len(names) + 1))
