"""Storing what patrols see, on SQLite and PostgreSQL: posts never duplicated, engagement updated,
outcomes per patrol and account, the accounts a patrol still has to visit, and statements per batch
that do not grow with the batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.engine import Engine

from crawlers.items import AccountVisit, PostItem, ProfileItem
from crawlers.parsing import content_hash
from registry.db import session_scope
from registry.models import Account, AccountSnapshot, FetchOutcome, Organization, Patrol, Post
from registry.patrol_scope import PatrolScope, ResolvedScope
from registry.observations import (
    FAILED,
    count_in_scope,
    finish_patrol,
    interrupted_patrol,
    known_post_state,
    outcome_counts,
    patrol_progress,
    pending_accounts,
    pending_by_source,
    start_patrol,
    store_visits,
)

NOW = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)


def make_roster(engine: Engine) -> dict[str, Any]:
    """district > street > community; accounts on three platforms, one with its own feed, one closed."""
    with session_scope(engine) as s:
        district = Organization(name="某某区", level="district")
        s.add(district)
        s.flush()
        street = Organization(name="东街道", parent_id=district.id, level="street")
        other = Organization(name="西街道", parent_id=district.id, level="street")
        s.add_all([street, other])
        s.flush()
        community = Organization(name="一社区", parent_id=street.id, level="community")
        s.add(community)
        s.flush()
        rows = [
            ("weibo", "1001", district.id, None, "active"),
            ("weibo", "1002", community.id, None, "active"),
            ("toutiao", "MS4wLjAB1", street.id, None, "active"),
            ("wechat", "MzA1", other.id, None, "closing"),
            ("weibo", "1003", other.id, "https://rss.test/1003.xml", "active"),
            ("wechat", "MzA2", community.id, None, "closed"),
        ]
        accounts = []
        for platform, pid, org, feed, status in rows:
            a = Account(
                platform=platform, platform_id=pid, name=f"{platform}-{pid}", org_id=org, feed_url=feed, status=status
            )
            s.add(a)
            accounts.append(a)
        s.flush()
        return {
            "district": district.id,
            "street": street.id,
            "other": other.id,
            "ids": {a.platform_id: a.id for a in accounts},
        }


def post(pid: str, days_ago: float, **kw: Any) -> PostItem:
    return PostItem(
        platform_post_id=pid, published_at=NOW - timedelta(days=days_ago), title=f"标题{pid}", text=f"正文 {pid}", **kw
    )


def visit(patrol_id: int, account_id: int, posts: list[PostItem], outcome: str = "ok", **kw: Any) -> AccountVisit:
    return AccountVisit(patrol_id=patrol_id, account_id=account_id, outcome=outcome, fetched_at=NOW, posts=posts, **kw)


def rows(engine: Engine, model: Any, *where: Any) -> list[Any]:
    with session_scope(engine) as s:
        return list(s.execute(select(model).where(*where)).scalars())


def test_storing_twice_never_duplicates_and_updates_engagement(engine: Engine) -> None:
    ids = make_roster(engine)["ids"]
    aid = ids["1001"]
    p1 = start_patrol(engine, scope=ResolvedScope(), accounts_total=1)
    first = [
        post("a", 1, likes=5, comments=1, counts_raw={"likes": "5"}),
        post("b", 300, is_pinned=True),
        post("c", 2, reads=None),
    ]
    stats = store_visits(
        engine,
        [visit(p1, aid, first, profile=ProfileItem(followers=12000, followers_raw="1.2万"))],
        hasher=content_hash,
    )
    assert (stats.posts_seen, stats.posts_new) == (3, 3)

    p2 = start_patrol(engine, scope=ResolvedScope(), accounts_total=1)
    later = NOW + timedelta(days=1)
    again = [post("a", 1, likes=9, comments=None), post("b", 300, is_pinned=False), post("d", 0)]
    stats = store_visits(
        engine,
        [AccountVisit(patrol_id=p2, account_id=aid, outcome="ok", fetched_at=later, posts=again)],
        hasher=content_hash,
    )
    assert (stats.posts_seen, stats.posts_new) == (3, 1)
    stored = {p.platform_post_id: p for p in rows(engine, Post, Post.account_id == aid)}
    assert sorted(stored) == ["a", "b", "c", "d"]
    a = stored["a"]
    assert a.likes == 9 and a.comments == 1  # a source without a count does not erase it (missing is not zero)
    assert a.first_seen_at == NOW and a.last_seen_at == later
    assert stored["b"].is_pinned is False and stored["c"].last_seen_at == NOW
    assert a.content_hash == content_hash("标题a", "正文 a")
    outcomes = rows(engine, FetchOutcome, FetchOutcome.account_id == aid)
    assert sorted((o.patrol_id, o.posts_seen, o.posts_new) for o in outcomes) == [(p1, 3, 3), (p2, 3, 1)]
    snapshot = rows(engine, AccountSnapshot, AccountSnapshot.account_id == aid)
    assert [(s.patrol_id, s.followers, s.followers_raw) for s in snapshot] == [(p1, 12000, "1.2万")]


def test_a_visit_stored_again_in_the_same_patrol_replaces_its_outcome(engine: Engine) -> None:
    ids = make_roster(engine)["ids"]
    pid = start_patrol(engine, scope=ResolvedScope(), accounts_total=2)
    v = visit(pid, ids["1001"], [post("a", 1)], profile=ProfileItem(followers=3))
    store_visits(engine, [v])
    store_visits(
        engine,
        [
            visit(pid, ids["1001"], [post("a", 1)], outcome="ok", profile=ProfileItem(followers=4)),
            visit(pid, ids["1002"], [], outcome="timeout", reason="no response within 30 s"),
        ],
    )
    assert outcome_counts(engine, pid) == {"ok": 1, "timeout": 1}
    assert [s.followers for s in rows(engine, AccountSnapshot, AccountSnapshot.patrol_id == pid)] == [4]
    assert patrol_progress(engine, pid).accounts_done == 2
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(Post)).scalar_one() == 1


def test_a_profile_unchanged_since_the_latest_snapshot_adds_no_row(engine: Engine) -> None:
    aid = make_roster(engine)["ids"]["1001"]
    seen = []
    for day, followers in enumerate((7, 7, 7, 8, 8)):
        pid = start_patrol(engine, scope=ResolvedScope(), accounts_total=1)
        store_visits(
            engine,
            [
                AccountVisit(
                    patrol_id=pid,
                    account_id=aid,
                    outcome="ok",
                    posts=[],
                    fetched_at=NOW + timedelta(days=day),
                    profile=ProfileItem(followers=followers),
                )
            ],
        )
        seen.append(pid)
    snapshots = rows(engine, AccountSnapshot, AccountSnapshot.account_id == aid)
    assert sorted((s.patrol_id, s.followers) for s in snapshots) == [(seen[0], 7), (seen[3], 8)]
    assert len(rows(engine, FetchOutcome, FetchOutcome.account_id == aid)) == 5  # every visit's outcome


def test_posts_of_another_account_are_not_stored_and_the_reason_says_so(engine: Engine) -> None:
    ids = make_roster(engine)["ids"]
    pid = start_patrol(engine, scope=ResolvedScope(), accounts_total=1)
    stats = store_visits(engine, [visit(pid, ids["1001"], [post("own", 1), post("x", 0, flags=["foreign_author"])])])
    assert stats.foreign_skipped == 1
    assert [p.platform_post_id for p in rows(engine, Post)] == ["own"]
    (outcome,) = rows(engine, FetchOutcome)
    assert outcome.reason == "1 post(s) attributed to another account not stored" and outcome.posts_seen == 1


def test_hostile_values_are_clipped_instead_of_failing_the_batch(engine: Engine) -> None:
    ids = make_roster(engine)["ids"]
    pid = start_patrol(engine, scope=ResolvedScope(), accounts_total=1)
    bad = post("z" * 150, 1, likes=10**12, reposts=-5)
    bad.text = "正文\x00" * 2000
    store_visits(engine, [visit(pid, ids["1001"], [bad], reason="r" * 900)])
    (stored,) = rows(engine, Post)
    assert len(stored.platform_post_id) == 100 and len(stored.text) == 2000 and "\x00" not in stored.text
    assert (stored.likes, stored.reposts) == (2**31 - 1, 0)
    assert len(rows(engine, FetchOutcome)[0].reason) == 500


def test_statements_per_batch_do_not_grow_with_the_batch(engine: Engine) -> None:
    with session_scope(engine) as s:
        org = Organization(name="区")
        s.add(org)
        s.flush()
        accounts = [
            Account(platform="weibo", platform_id=str(9000 + i), name=f"a{i}", org_id=org.id) for i in range(120)
        ]
        s.add_all(accounts)
        s.flush()
        account_ids = [a.id for a in accounts]
    pid = start_patrol(engine, scope=ResolvedScope(), accounts_total=120)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def store(n: int) -> int:
        batch = [
            visit(pid, aid, [post(f"{aid}-{k}", k) for k in range(20)], profile=ProfileItem(followers=k))
            for k, aid in enumerate(account_ids[:n])
        ]
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            store_visits(engine, batch)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    small, large = store(3), store(120)
    # a fixed set: outcomes, snapshots, posts, the post aggregates' refresh, the compliance findings
    assert small == large and large <= 13


def test_known_post_state_separates_pinned_posts(engine: Engine) -> None:
    ids = make_roster(engine)["ids"]
    pid = start_patrol(engine, scope=ResolvedScope(), accounts_total=1)
    store_visits(engine, [visit(pid, ids["1001"], [post("pin", 0.5, is_pinned=True), post("a", 3), post("b", 5)])])
    state = known_post_state(engine, [ids["1001"], ids["1002"]])
    assert list(state) == [ids["1001"]]
    assert state[ids["1001"]] == (NOW - timedelta(days=0.5), 3, NOW - timedelta(days=3))


def test_pending_accounts_follow_scope_source_and_what_is_done(engine: Engine) -> None:
    roster = make_roster(engine)
    ids = roster["ids"]
    everything = ResolvedScope()
    assert count_in_scope(engine, everything) == 5  # the closed account is not patrolled
    pid = start_patrol(engine, scope=everything, accounts_total=5)
    feeds = frozenset({"wechat"})

    def pending(source: str, scope: ResolvedScope = everything) -> list[str]:
        refs = pending_accounts(engine, pid, scope=scope, source=source, feed_platforms=feeds)
        return [r.platform_id for r in refs]

    assert pending("weibo") == ["1001", "1002"]  # 1003 has its own feed
    assert pending("feed") == ["MzA1", "1003"]  # wechat goes through the bridge
    assert pending("wechat") == [] and pending("toutiao") == ["MS4wLjAB1"]
    assert pending_by_source(
        engine, pid, scope=everything, sources=["weibo", "feed", "wechat"], feed_platforms=feeds
    ) == {"weibo": 2, "feed": 2, "wechat": 0}
    store_visits(engine, [visit(pid, ids["1001"], [])])
    assert pending("weibo") == ["1002"]
    street_tree = ResolvedScope(org_tree_ids=[roster["street"], *_children(engine, roster["street"])])
    assert pending("weibo", street_tree) == ["1002"] and pending("toutiao", street_tree) == ["MS4wLjAB1"]
    assert pending("weibo", ResolvedScope(platforms=["toutiao"])) == []
    named = ResolvedScope(account_ids=[ids["MzA2"]])
    assert pending("feed", named) == ["MzA2"]  # named accounts are visited whatever their status
    assert pending("weibo", ResolvedScope(max_account_id=ids["1001"])) == []
    first = pending_accounts(engine, pid, scope=everything, source="feed", feed_platforms=feeds, limit=1)
    after = pending_accounts(engine, pid, scope=everything, source="feed", feed_platforms=feeds, after_id=first[0].id)
    assert [r.platform_id for r in first + after] == ["MzA1", "1003"]


def test_a_due_only_scope_takes_accounts_never_visited_or_overdue(engine: Engine) -> None:
    ids = make_roster(engine)["ids"]
    with session_scope(engine) as s:
        s.execute(update(Account).where(Account.id == ids["1001"]).values(next_due_at=NOW + timedelta(hours=1)))
        s.execute(update(Account).where(Account.id == ids["1002"]).values(next_due_at=NOW - timedelta(hours=1)))
    pid = start_patrol(engine, scope=ResolvedScope(), accounts_total=0)
    due = ResolvedScope(due_before=NOW, platforms=["weibo"])
    refs = pending_accounts(engine, pid, scope=due, source="weibo", feed_platforms=frozenset())
    assert [r.platform_id for r in refs] == ["1002"]  # 1001 is not due yet; 1003 has its own feed
    assert count_in_scope(engine, due) == 2  # 1002, and 1003 (never scheduled)


def _children(engine: Engine, org_id: int) -> list[int]:
    with session_scope(engine) as s:
        return list(s.execute(select(Organization.id).where(Organization.parent_id == org_id)).scalars())


def test_interrupted_patrol_is_found_only_for_the_same_scope(engine: Engine) -> None:
    key = PatrolScope(platforms=["weibo"])
    old = start_patrol(engine, scope=ResolvedScope(key=key), accounts_total=5, pid=999_999_999)
    within = timedelta(hours=24)
    # Still marked running, but its process is gone: interrupted.
    assert interrupted_patrol(engine, key, within=within, is_alive=lambda pid: False).id == old
    assert interrupted_patrol(engine, key, within=within, is_alive=lambda pid: True) is None
    assert interrupted_patrol(engine, PatrolScope(), within=within, is_alive=lambda pid: False) is None
    finish_patrol(engine, old, status=FAILED, exit_code=-9, summary={})
    assert interrupted_patrol(engine, key, within=within, is_alive=lambda pid: False).id == old
    done = start_patrol(engine, scope=ResolvedScope(key=key), accounts_total=5)
    finish_patrol(engine, done, status="finished", exit_code=0, summary={})
    assert interrupted_patrol(engine, key, within=within, is_alive=lambda pid: False) is None
    assert rows(engine, Patrol, Patrol.id == done)[0].finished_at is not None
