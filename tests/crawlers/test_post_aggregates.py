"""The per-account aggregates of the posts, kept by the patrol's store in the transaction that stores the
posts, equal what the posts say; `govpulse db verify` recomputes them and names the accounts that differ;
migration 0007 builds them for posts stored before it."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Engine

from crawlers.parsing import content_hash
from registry.db import make_engine, open_engine, upgrade
from registry.models import Post, PostPeriod
from registry.observations import start_patrol, store_visits
from registry.patrol_scope import ResolvedScope
from registry.scoring.periods import PERIOD_SECONDS
from tests.crawlers.test_observations import NOW, make_roster, post, visit


def periods(engine: Engine, account_id: int) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(PostPeriod.__table__).where(PostPeriod.account_id == account_id).order_by(PostPeriod.period)
        )
        return [dict(r._mapping) for r in rows]


def test_the_store_keeps_the_aggregates_with_the_posts(engine: Engine, gp) -> None:
    ids = make_roster(engine)["ids"]
    aid, feed = ids["1001"], ids["MzA1"]
    p1 = start_patrol(engine, scope=ResolvedScope(), accounts_total=2)
    store_visits(
        engine,
        [
            visit(p1, aid, [post("a", 1, likes=5, comments=1), post("pin", 200, is_pinned=True, likes=0)]),
            visit(p1, feed, [post("w", 2), post("r", 3, is_repost=True), post("undated", 0)]),
        ],
        hasher=content_hash,
    )
    # The pinned post of 200 days ago has its own period; the newest publish time counts pinned posts.
    stored = periods(engine, aid)
    assert [r["posts"] for r in stored] == [1, 1]
    assert [r["period"] for r in stored] == [
        int((NOW - timedelta(days=d)).timestamp()) // PERIOD_SECONDS for d in (200, 1)
    ]
    assert stored[-1]["newest"] == int((NOW - timedelta(days=1)).timestamp())
    assert stored[0]["times"] == str(int((NOW - timedelta(days=200)).timestamp()))
    assert [r["engagement"] for r in stored] == ["0", "6"]  # likes 0 is a value; 5 + 1
    # A feed without engagement: "not given" (-1), never 0; originals and reposts apart.
    (wechat,) = periods(engine, feed)
    assert (wechat["posts"], wechat["originals"], wechat["engaged"]) == (3, 2, 0)
    assert sorted(wechat["engagement"].split(",")) == ["-1", "-1", "-1"]
    assert len(wechat["hashes"]) == 3 * 12 and " " not in wechat["hashes"]

    # A later patrol updates engagement: the period follows, in the same transaction.
    p2 = start_patrol(engine, scope=ResolvedScope(), accounts_total=1)
    store_visits(engine, [visit(p2, aid, [post("a", 1, likes=50, comments=1)])], hasher=content_hash)
    assert periods(engine, aid)[-1]["engagement"] == "51"
    result = gp.ok("db", "verify")
    assert "agree" in result.output


def test_verify_names_the_accounts_whose_aggregates_differ(engine: Engine, gp) -> None:
    ids = make_roster(engine)["ids"]
    p1 = start_patrol(engine, scope=ResolvedScope(), accounts_total=3)
    store_visits(
        engine,
        [visit(p1, ids[a], [post(f"{a}-1", 1, likes=3), post(f"{a}-2", 40)]) for a in ("1001", "1002", "MzA1")],
        hasher=content_hash,
    )
    assert json.loads(gp.ok("db", "verify", "--json").output)["ok"] is True
    # Posts written behind the store's back: a changed count, a new post, a lost period row.
    with engine.begin() as conn:
        conn.execute(update(Post.__table__).where(Post.platform_post_id == "1001-1").values(likes=99))
        conn.execute(
            insert(Post.__table__).values(
                account_id=ids["1002"],
                platform_post_id="extra",
                published_at=NOW - timedelta(days=400),
                first_seen_at=NOW,
                last_seen_at=NOW,
                is_pinned=False,
                is_repost=False,
            )
        )
        conn.execute(text("DELETE FROM post_period WHERE account_id = :a"), {"a": ids["MzA1"]})
    result = gp("db", "verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    named = {d["platform_id"]: d["periods"] for d in report["differences"]}
    old = int((NOW - timedelta(days=400)).timestamp()) // PERIOD_SECONDS
    assert set(named) == {"1001", "1002", "MzA1"} and named["1002"] == [old] and len(named["MzA1"]) == 2
    plain = gp("db", "verify")
    assert plain.exit_code == 1
    assert "#%d weibo:1001" % ids["1001"] in plain.output and "Error:" in plain.output


def test_migration_builds_the_aggregates_of_posts_stored_before_it(db_url: str, gp) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organization (name, level, created_at, updated_at) VALUES ('区', 'district', '2026-01-01', '2026-01-01')"
                )
            )
            org = conn.execute(text("SELECT id FROM organization")).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO account (platform, platform_id, name, org_id, status, created_at, updated_at) "
                    "VALUES ('weibo', '1001', 'a', :o, 'active', '2026-01-01', '2026-01-01')"
                ),
                {"o": org},
            )
            account = conn.execute(text("SELECT id FROM account")).scalar_one()
            conn.execute(
                insert(Post.__table__),
                [
                    {
                        "account_id": account,
                        "platform_post_id": str(k),
                        "published_at": None if k == 9 else NOW - timedelta(days=k * 20),
                        "first_seen_at": NOW,
                        "last_seen_at": NOW,
                        "is_pinned": k == 5,
                        "is_repost": k % 2 == 1,
                        "likes": None if k > 3 else k,
                        "content_hash": None if k == 2 else content_hash(f"t{k}", None),
                    }
                    for k in range(10)
                ],
            )
        upgrade(engine)
    finally:
        engine.dispose()
    engine = open_engine(db_url)
    try:
        stored = periods(engine, account)
    finally:
        engine.dispose()
    assert sum(r["posts"] for r in stored) == 9  # the undated post is in no period
    assert max(r["newest"] for r in stored) == int(NOW.timestamp())
    report = json.loads(gp.ok("db", "verify", "--json").output)
    assert (report["ok"], report["accounts"], report["periods"]) == (True, 1, len(stored))
