"""What patrols see: the patrol runs, each account's outcome, its posts and snapshots.

Set-based throughout: storing a batch of visits, reading what is already known of a batch of accounts
or listing the accounts a patrol still has to visit is a fixed number of statements per batch, never a
query per post or per account. Times are aware UTC.

The crawl hands over the visit records of registry/visits.py (AccountVisit with its PostItems and
ProfileItem).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, case, delete, func, not_, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from registry.compliance.findings import record_checked_posts
from registry.db import session_scope, upsert
from registry.models import Account, AccountSnapshot, FetchOutcome, Patrol, Post
from registry.post_identity import align_wechat_ids
from registry.scoring.periods import refresh_periods, written_since
from registry.patrol_scope import PatrolScope, ResolvedScope
from registry.timeutil import utcnow
from registry.visits import AccountVisit, PostItem

# Lifecycle statuses patrolled unless accounts are named one by one (closing ones are watched until closed).
PATROLLED_STATUSES = ("active", "closing")
# Patrol.status values.
RUNNING, FINISHED, FAILED, ABORTED = "running", "finished", "failed", "aborted"
# A post the platform attributes to another account is not the account's post (see store_visits).
FOREIGN_FLAG = "foreign_author"
# A publish time in the future was clamped by the parser: it is no evidence of when the account last
# posted, so it is stored as unknown (the raw text and the flag stay).
FUTURE_FLAG = "future_clamped"
# Column limits of the post table: a value beyond them would fail the whole batch on PostgreSQL.
INT_MAX = 2**31 - 1
_LIMITS = {"platform_post_id": 100, "published_raw": 100, "title": 500, "text": 2000, "url": 2000}

Hasher = Callable[[str | None, str | None], str | None]


@dataclass
class StoreStats:
    visits: int = 0
    posts_seen: int = 0
    posts_new: int = 0
    foreign_skipped: int = 0


class PostState(NamedTuple):
    """What is stored of one account's posts: the newest publish time (pinned included, rule 2), the
    number of posts, and the newest publish time among posts that are not pinned (where paging stops)."""

    newest_published_at: datetime | None
    posts: int
    newest_unpinned_at: datetime | None


@dataclass(frozen=True)
class AccountRef:
    id: int
    platform: str
    platform_id: str
    feed_url: str | None


@dataclass
class PatrolProgress:
    patrol_id: int
    status: str
    accounts_total: int
    accounts_done: int
    outcomes: dict[str, int] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None


# ------------------------------------------------------------------------------------------- patrols


def start_patrol(engine: Engine, *, scope: ResolvedScope, accounts_total: int, pid: int | None = None) -> int:
    with session_scope(engine) as session:
        patrol = Patrol(scope=scope.to_json(), accounts_total=accounts_total, pid=pid, status=RUNNING)
        session.add(patrol)
        session.flush()
        return int(patrol.id)  # type: ignore[arg-type]


def reopen_patrol(engine: Engine, patrol_id: int, *, pid: int | None = None) -> None:
    """Continue an interrupted patrol: running again, its stored outcomes kept."""
    with session_scope(engine) as session:
        session.execute(
            update(Patrol)
            .where(Patrol.id == patrol_id)
            .values(status=RUNNING, finished_at=None, exit_code=None, pid=pid, pid_start=None)
        )


def set_patrol_pid(engine: Engine, patrol_id: int, pid: int, pid_start: str | None = None) -> None:
    with session_scope(engine) as session:
        session.execute(update(Patrol).where(Patrol.id == patrol_id).values(pid=pid, pid_start=pid_start))


def finish_patrol(
    engine: Engine, patrol_id: int, *, status: str, exit_code: int | None, summary: dict[str, Any]
) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(Patrol)
            .where(Patrol.id == patrol_id)
            .values(
                status=status,
                exit_code=exit_code,
                summary=summary,
                finished_at=utcnow(),
                accounts_done=_done_subquery(patrol_id),
            )
        )


def get_patrol(engine: Engine, patrol_id: int) -> Patrol | None:
    with session_scope(engine) as session:
        return session.get(Patrol, patrol_id)


def _done_subquery(patrol_id: int) -> Any:
    return select(func.count()).select_from(FetchOutcome).where(FetchOutcome.patrol_id == patrol_id).scalar_subquery()


def patrol_progress(engine: Engine, patrol_id: int) -> PatrolProgress:
    """Accounts done of total and outcomes so far: two queries, cheap enough to poll every second."""
    with session_scope(engine) as session:
        patrol = session.get(Patrol, patrol_id)
        if patrol is None:
            raise LookupError(f"no patrol {patrol_id}")
        outcomes = _outcome_counts(session, patrol_id)
        return PatrolProgress(
            patrol_id=patrol_id,
            status=patrol.status,
            accounts_total=patrol.accounts_total,
            accounts_done=sum(outcomes.values()),
            outcomes=outcomes,
            started_at=patrol.started_at,
            finished_at=patrol.finished_at,
            exit_code=patrol.exit_code,
        )


def outcome_counts(engine: Engine, patrol_id: int) -> dict[str, int]:
    with session_scope(engine) as session:
        return _outcome_counts(session, patrol_id)


def _outcome_counts(session: Any, patrol_id: int) -> dict[str, int]:
    rows = session.execute(
        select(FetchOutcome.outcome, func.count())
        .where(FetchOutcome.patrol_id == patrol_id)
        .group_by(FetchOutcome.outcome)
    )
    return {outcome: int(n) for outcome, n in rows}


def outcomes_by_platform(engine: Engine, patrol_id: int) -> dict[str, dict[str, int]]:
    """{platform: {outcome: accounts}} for one patrol."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(Account.platform, FetchOutcome.outcome, func.count())
            .join(Account, Account.id == FetchOutcome.account_id)
            .where(FetchOutcome.patrol_id == patrol_id)
            .group_by(Account.platform, FetchOutcome.outcome)
        )
        table: dict[str, dict[str, int]] = {}
        for platform, outcome, n in rows:
            table.setdefault(platform, {})[outcome] = int(n)
        return table


def running_patrols(engine: Engine) -> list[Patrol]:
    with session_scope(engine) as session:
        return list(session.execute(select(Patrol).where(Patrol.status == RUNNING)).scalars())


def mark_failed(engine: Engine, patrol_ids: Collection[int], *, reason: str) -> None:
    """Patrols whose crawl process is gone without saying how it ended (killed, machine restarted)."""
    if not patrol_ids:
        return
    with session_scope(engine) as session:
        for patrol_id in patrol_ids:
            session.execute(
                update(Patrol)
                .where(Patrol.id == patrol_id, Patrol.status == RUNNING)
                .values(
                    status=FAILED,
                    finished_at=utcnow(),
                    accounts_done=_done_subquery(patrol_id),
                    summary={"error": reason},
                )
            )


def interrupted_patrol(
    engine: Engine, scope: PatrolScope, *, within: timedelta, is_alive: Callable[[Patrol], bool]
) -> Patrol | None:
    """The latest patrol over the same scope that stopped before visiting every account (killed,
    timed out, interrupted, or still marked running by a process that is gone), started within
    `within`: the next patrol over that scope completes it instead of starting over."""
    since = utcnow() - within
    with session_scope(engine) as session:
        latest = session.execute(
            select(Patrol).where(Patrol.started_at >= since).order_by(Patrol.id.desc()).limit(20)
        ).scalars()
        for patrol in latest:
            if (patrol.scope or {}).get("key") != scope.key():
                continue
            if patrol.status == FINISHED:
                return None  # the latest patrol over this scope completed
            if patrol.status == RUNNING and patrol.pid and is_alive(patrol):
                return None  # still running (the caller's lock normally prevents this)
            return patrol
    return None


# ------------------------------------------------------------------------------------------- scope


def _ids_in(column: Any, ids: Sequence[int]) -> Any:
    """IN over many ids, rendered inline (integers only): a scheduler's claim of 100,000 due accounts
    would exceed the database's limit on bound parameters."""
    return column.in_(bindparam(f"ids_{column.key}", [int(i) for i in ids], expanding=True, literal_execute=True))


def scope_conditions(scope: ResolvedScope) -> list[Any]:
    """WHERE conditions on Account for a resolved patrol scope."""
    conds: list[Any] = []
    if scope.account_ids:
        conds.append(_ids_in(Account.id, scope.account_ids))
    else:
        conds.append(Account.status.in_(PATROLLED_STATUSES))
    if scope.platforms:
        conds.append(Account.platform.in_(scope.platforms))
    if scope.org_tree_ids is not None:
        conds.append(_ids_in(Account.org_id, scope.org_tree_ids))
    if scope.due_before is not None:
        conds.append(or_(Account.next_due_at.is_(None), Account.next_due_at <= scope.due_before))
    if scope.max_account_id is not None:
        conds.append(Account.id <= scope.max_account_id)
    if scope.min_account_id is not None:  # a shard of a distributed patrol
        conds.append(Account.id >= scope.min_account_id)
    return conds


def count_in_scope(engine: Engine, scope: ResolvedScope) -> int:
    with session_scope(engine) as session:
        return int(
            session.execute(select(func.count()).select_from(Account).where(*scope_conditions(scope))).scalar_one()
        )


def nth_account_id(engine: Engine, scope: ResolvedScope, n: int) -> int | None:
    """The id of the n-th account of the scope by id: `--limit n` keeps accounts up to it."""
    with session_scope(engine) as session:
        return session.execute(
            select(Account.id).where(*scope_conditions(scope)).order_by(Account.id).offset(max(n - 1, 0)).limit(1)
        ).scalar_one_or_none()


def _source_condition(source: str, feed_platforms: Collection[str]) -> Any:
    """Which accounts a source serves: "feed" takes every account with its own feed URL and every account
    of a platform routed through the bridge; a platform's API takes the rest of that platform."""
    if source == "feed":
        return or_(Account.feed_url.is_not(None), Account.platform.in_(list(feed_platforms)))
    if source in feed_platforms:
        return Account.id.is_(None)  # nothing: the platform goes through the bridge
    return and_(Account.platform == source, Account.feed_url.is_(None))


def _not_visited(patrol_id: int) -> Any:
    return not_(
        select(FetchOutcome.id)
        .where(FetchOutcome.patrol_id == patrol_id, FetchOutcome.account_id == Account.id)
        .exists()
    )


def pending_by_source(
    engine: Engine, patrol_id: int, *, scope: ResolvedScope, sources: Iterable[str], feed_platforms: Collection[str]
) -> dict[str, int]:
    """How many accounts each source still has to visit in this patrol (one query per source)."""
    counts: dict[str, int] = {}
    with session_scope(engine) as session:
        for source in sources:
            counts[source] = int(
                session.execute(
                    select(func.count())
                    .select_from(Account)
                    .where(*scope_conditions(scope), _source_condition(source, feed_platforms), _not_visited(patrol_id))
                ).scalar_one()
            )
    return counts


def pending_accounts(
    engine: Engine,
    patrol_id: int,
    *,
    scope: ResolvedScope,
    source: str,
    feed_platforms: Collection[str],
    after_id: int = 0,
    limit: int = 500,
) -> list[AccountRef]:
    """The next `limit` accounts (by id, after `after_id`) of the scope that this source serves and that
    have no outcome yet in this patrol: a resumed patrol visits only what it did not complete."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(Account.id, Account.platform, Account.platform_id, Account.feed_url)
            .where(
                *scope_conditions(scope),
                _source_condition(source, feed_platforms),
                _not_visited(patrol_id),
                Account.id > after_id,
            )
            .order_by(Account.id)
            .limit(limit)
        )
        return [AccountRef(id=r[0], platform=r[1], platform_id=r[2], feed_url=r[3]) for r in rows]


def pending_ranges(conn: Any, patrol_id: int, scope: ResolvedScope, size: int) -> list[tuple[str, int, int, int]]:
    """The accounts of the scope without an outcome in this patrol, cut into runs of `size` accounts of one
    platform by id: (platform, first id, last id, accounts), in one grouped query."""
    rank = func.row_number().over(partition_by=Account.platform, order_by=Account.id)
    ranked = (
        select(Account.id, Account.platform, ((rank - 1) // size).label("chunk"))
        .where(*scope_conditions(scope), _not_visited(patrol_id))
        .subquery("ranked")
    )
    rows = conn.execute(
        select(ranked.c.platform, func.min(ranked.c.id), func.max(ranked.c.id), func.count())
        .group_by(ranked.c.platform, ranked.c.chunk)
        .order_by(ranked.c.platform, ranked.c.chunk)
    )
    return [(str(p), int(lo), int(hi), int(n)) for p, lo, hi, n in rows]


# ------------------------------------------------------------------------------------------- posts


def known_post_state(engine: Engine, account_ids: Collection[int]) -> dict[int, PostState]:
    """What is stored of these accounts' posts, in one grouped query. Accounts without posts are absent."""
    if not account_ids:
        return {}
    unpinned = case((Post.is_pinned.is_(False), Post.published_at))
    with session_scope(engine) as session:
        rows = session.execute(
            select(Post.account_id, func.max(Post.published_at), func.count(), func.max(unpinned))
            .where(Post.account_id.in_(list(account_ids)))
            .group_by(Post.account_id)
        )
        return {aid: PostState(newest, int(n), newest_unpinned) for aid, newest, n, newest_unpinned in rows}


def _clip(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = value.replace("\x00", "")
    return value[:limit]


def _count(value: int | None) -> int | None:
    """Engagement as stored: None stays None (missing is not zero); out-of-range numbers are clamped."""
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        return None
    return min(max(value, 0), INT_MAX)


def _post_row(account_id: int, post: PostItem, fetched_at: datetime, hasher: Hasher | None) -> dict[str, Any]:
    title = _clip(post.title, _LIMITS["title"])
    text = _clip(post.text, _LIMITS["text"])
    return {
        "account_id": account_id,
        "platform_post_id": _clip(str(post.platform_post_id), _LIMITS["platform_post_id"]),
        "published_at": None if FUTURE_FLAG in (post.flags or ()) else post.published_at,
        "published_raw": _clip(post.published_raw, _LIMITS["published_raw"]),
        "first_seen_at": fetched_at,
        "last_seen_at": fetched_at,
        "title": title,
        "text": text,
        "url": _clip(post.url, _LIMITS["url"]),
        "is_pinned": bool(post.is_pinned),
        "is_repost": bool(post.is_repost),
        "reposts": _count(post.reposts),
        "comments": _count(post.comments),
        "likes": _count(post.likes),
        "reads": _count(post.reads),
        "counts_raw": post.counts_raw or None,
        "flags": list(post.flags) or None,
        "content_hash": getattr(post, "content_hash", None) or (hasher(title, text) if hasher else None),
    }


# What a later sighting of a stored post changes: engagement, whether it is pinned, when it was seen.
_POST_UPDATE = ["last_seen_at", "is_pinned", "reposts", "comments", "likes", "reads", "counts_raw"]
_KEEP_IF_NULL = ("reposts", "comments", "likes", "reads", "counts_raw")


def store_visits(engine: Engine, visits: Sequence[AccountVisit], *, hasher: Hasher | None = None) -> StoreStats:
    """Store a batch of account visits in ONE transaction.

    Posts are upserted on (account_id, platform_post_id): new ones inserted, known ones get their
    engagement, pinned mark and last_seen_at updated; a post is never duplicated, so storing the same
    visit twice changes nothing. Posts the platform attributes to another account (flag foreign_author)
    are not the account's posts: they are not stored, and the outcome's reason counts them. One outcome
    per (patrol, account) is stored (folded into the account's stretch of identical outcomes, see
    _store_outcomes), a snapshot stored when the visit read a profile that differs from the account's latest, and the
    patrol's accounts_done brought up to date.
    """
    stats = StoreStats(visits=len(visits))
    if not visits:
        return stats
    posts: dict[tuple[int, str], dict[str, Any]] = {}
    seen: Counter[int] = Counter()
    foreign: Counter[int] = Counter()
    checked: list[tuple[dict[str, Any], AccountVisit, PostItem]] = []  # posts the compliance checks read
    for visit in visits:
        for post in visit.posts:
            if FOREIGN_FLAG in (post.flags or ()):
                foreign[visit.account_id] += 1
                continue
            row = _post_row(visit.account_id, post, visit.fetched_at, hasher)
            if post.findings is not None:
                checked.append((row, visit, post))
            key = (visit.account_id, row["platform_post_id"])
            if key in posts:  # the same post twice in one visit (pages shifted by a new post)
                row["is_pinned"] = row["is_pinned"] or posts[key]["is_pinned"]
            else:
                seen[visit.account_id] += 1
            posts[key] = row
    account_ids = sorted({v.account_id for v in visits})
    patrol_ids = sorted({v.patrol_id for v in visits})
    stats.posts_seen = len(posts)
    stats.foreign_skipped = sum(foreign.values())

    with session_scope(engine) as session:
        if session.get_bind().dialect.name == "postgresql":
            # Two stores of the same accounts at once (a shard run again beside the orphaned crawl of a
            # dead worker) take turns: the snapshots' delete-then-insert and the new-post counts hold.
            session.execute(
                select(Account.id).where(_ids_in(Account.id, account_ids)).order_by(Account.id).with_for_update()
            )
        align_wechat_ids(session, posts)  # a wewe-rss short-link id and the MP list's id: one post
        stats.posts_seen = len(posts)
        before = _post_counts(session, account_ids)
        upsert(
            session,
            Post,
            list(posts.values()),
            keys=["account_id", "platform_post_id"],
            update=_POST_UPDATE,
            keep_if_null=_KEEP_IF_NULL,
        )
        # The per-account aggregates of the posts, in the same transaction (registry.scoring.periods).
        conn = session.connection()
        refresh_periods(conn, written_since(conn, posts.keys()))
        after = _post_counts(session, account_ids)
        new = {aid: after.get(aid, 0) - before.get(aid, 0) for aid in account_ids}
        stats.posts_new = sum(new.values())
        if checked:
            record_checked_posts(session, checked)

        outcome_rows = []
        snapshot_rows = []
        for visit in visits:
            reason = visit.reason
            if foreign[visit.account_id]:
                note = f"{foreign[visit.account_id]} post(s) attributed to another account not stored"
                reason = f"{reason}; {note}" if reason else note
            outcome_rows.append(
                {
                    "patrol_id": visit.patrol_id,
                    "account_id": visit.account_id,
                    "fetched_at": visit.fetched_at,
                    "outcome": visit.outcome,
                    "http_status": visit.http_status,
                    "reason": _clip(reason, 500),
                    "source": visit.source,
                    "url": _clip(visit.url, 2000),
                    "pages": visit.pages,
                    "posts_seen": seen[visit.account_id],
                    "posts_new": new.get(visit.account_id, 0),
                }
            )
            profile = visit.profile
            if profile is not None:
                snapshot_rows.append(
                    {
                        "account_id": visit.account_id,
                        "patrol_id": visit.patrol_id,
                        "taken_at": visit.fetched_at,
                        "followers": _count(profile.followers),
                        "followers_raw": _clip(profile.followers_raw, 50),
                        "following": _count(profile.following),
                        "posts_total": _count(profile.posts_total),
                        "name_seen": _clip(profile.name_seen, 200),
                        "verified_seen": profile.verified_seen,
                    }
                )
        _store_outcomes(session, outcome_rows)
        if snapshot_rows:
            # One snapshot per account and patrol, even if a visit is stored again; and only when the
            # profile differs from the account's latest snapshot (a quiet account adds no row a night:
            # the latest snapshot up to any time still gives the follower count then). A visit stored
            # again replaces its patrol's snapshot only when it read another profile.
            latest, stored = _latest_profiles(session, account_ids, patrol_ids)
            stale: list[int] = []
            changed = []
            for r in snapshot_rows:
                values = tuple(r[k] for k in _PROFILE)
                mine = stored.get((r["account_id"], r["patrol_id"]))
                if mine is not None:
                    if mine[1] == values:
                        continue
                    stale.append(mine[0])
                if latest.get(r["account_id"]) != values:
                    changed.append(r)
            if stale:
                session.execute(delete(AccountSnapshot).where(AccountSnapshot.id.in_(stale)))
            if changed:
                session.execute(AccountSnapshot.__table__.insert(), changed)
        for patrol_id in patrol_ids:
            session.execute(
                update(Patrol).where(Patrol.id == patrol_id).values(accounts_done=_done_subquery(patrol_id))
            )
    return stats


def _store_outcomes(session: Any, rows: list[dict[str, Any]]) -> None:
    """Two statements for the batch. A visit whose outcome, source, HTTP status and reason are those of
    the account's latest row, when that row's patrol finished, is folded into it (the stretch's latest
    visit, its count, the latest visit's patrol: a quiet night adds no row); the others are upserted on
    (patrol, account). Login walls always keep a row of their own (their alert counts them per patrol).
    A visit stored again in the same patrol changes a stretch only in its latest visit's details, and
    only when it is another visit (a later fetch time)."""
    conn = session.connection()
    fold, upsert_outcomes = _outcome_statements(conn.dialect)
    # The fold runs as the driver's own executemany of its compiled text, the times converted once each:
    # it is the same statement for every visit, and the per-visit parameter handling on the way would
    # cost the store more than the statement itself.
    to_time: Callable[[Any], Any] = FetchOutcome.__table__.c.fetched_at.type.bind_processor(conn.dialect) or (
        lambda v: v
    )
    params = [
        {
            **fold.fixed,
            "b_account": r["account_id"],
            "b_patrol": r["patrol_id"],
            "b_outcome": r["outcome"],
            "b_source": r["source"],
            "b_http_status": r["http_status"],
            "b_reason": r["reason"],
            "b_fetched_at": to_time(r["fetched_at"]),
            "b_url": r["url"],
            "b_pages": r["pages"],
            "b_posts_seen": r["posts_seen"],
            "b_posts_new": r["posts_new"],
        }
        for r in rows
    ]
    if fold.order is not None:  # SQLite: "?" placeholders in the statement's order
        conn.exec_driver_sql(fold.text, [tuple(p[n] for n in fold.order) for p in params])
    else:
        conn.exec_driver_sql(fold.text, params)
    session.execute(upsert_outcomes, rows)


class _Compiled(NamedTuple):
    text: str
    order: tuple[str, ...] | None  # the parameters' order, for a driver taking them by position
    fixed: dict[str, Any]  # the statement's own literals


@lru_cache(maxsize=4)
def _outcome_statements(dialect: Any) -> tuple[_Compiled, Any]:
    """The fold (compiled for the dialect) and the upsert of _store_outcomes, built once."""
    o, patrol = FetchOutcome.__table__, Patrol.__table__
    latest = o.alias("latest")
    newest = (
        select(latest.c.id)
        .where(latest.c.account_id == bindparam("b_account"))
        .order_by(latest.c.fetched_at.desc(), latest.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    finished = select(patrol.c.id).where(patrol.c.id == o.c.patrol_id, patrol.c.status == FINISHED).exists()
    fold = (
        update(o)
        .where(
            o.c.id == newest,
            o.c.patrol_id != bindparam("b_patrol"),
            o.c.outcome == bindparam("b_outcome"),
            o.c.outcome != "login_required",
            o.c.source == bindparam("b_source"),
            o.c.http_status.is_not_distinct_from(bindparam("b_http_status")),
            o.c.reason.is_not_distinct_from(bindparam("b_reason")),
            func.coalesce(o.c.last_fetched_at, o.c.fetched_at) <= bindparam("b_fetched_at"),
            finished,
        )
        .values(
            patrol_id=bindparam("b_patrol"),
            last_fetched_at=bindparam("b_fetched_at"),
            visits=o.c.visits + 1,
            url=bindparam("b_url"),
            pages=bindparam("b_pages"),
            posts_seen=bindparam("b_posts_seen"),
            posts_new=bindparam("b_posts_new"),
        )
        .compile(dialect=dialect)
    )
    order = tuple(fold.positiontup) if fold.positiontup is not None else None
    fixed = {k: v for k, v in fold.params.items() if not k.startswith("b_")}
    # The upsert: a new row, or the visit of this patrol stored again (a folded one keeps its stretch).
    insert = sqlite_insert if dialect.name == "sqlite" else pg_insert
    stmt = insert(o)
    stretch = o.c.visits > 1
    kept = {c: case((stretch, o.c[c]), else_=stmt.excluded[c]) for c in _STRETCH_KEY}
    stmt = stmt.on_conflict_do_update(
        index_elements=["patrol_id", "account_id"],
        set_={
            **{c: stmt.excluded[c] for c in ("url", "pages", "posts_seen", "posts_new")},
            **kept,
            "last_fetched_at": case((stretch, stmt.excluded.fetched_at), else_=o.c.last_fetched_at),
        },
        # A visit just folded into its stretch is written already: no second write of the row.
        where=or_(o.c.visits == 1, o.c.last_fetched_at != stmt.excluded.fetched_at),
    )
    return _Compiled(fold.string, order, fixed), stmt


# What makes two visits' outcomes identical (a stretch), with the stretch's first visit.
_STRETCH_KEY = ("fetched_at", "outcome", "http_status", "reason", "source")

_PROFILE = ("followers", "followers_raw", "following", "posts_total", "name_seen", "verified_seen")


def _latest_profiles(
    session: Any, account_ids: Sequence[int], patrol_ids: Sequence[int]
) -> tuple[dict[int, tuple[Any, ...]], dict[tuple[int, int], tuple[int, tuple[Any, ...]]]]:
    """Each account's latest snapshot of another patrol, as the values of _PROFILE, and the snapshots
    these patrols already stored ((account, patrol) -> (id, values)): one statement for the batch."""
    s = AccountSnapshot.__table__
    newest = (
        select(s.c.id)
        .where(s.c.account_id == Account.id, s.c.patrol_id.not_in(patrol_ids))
        .order_by(s.c.taken_at.desc(), s.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    wanted = (s.c.id, s.c.account_id, s.c.patrol_id, *(s.c[k] for k in _PROFILE))
    # Two index seeks per account joined by UNION ALL (an OR of the two would scan the table).
    rows = session.execute(
        union_all(
            select(*wanted).where(s.c.id.in_(select(newest).where(_ids_in(Account.id, account_ids)))),
            select(*wanted).where(s.c.patrol_id.in_(patrol_ids), _ids_in(s.c.account_id, account_ids)),
        )
    )
    latest: dict[int, tuple[Any, ...]] = {}
    stored: dict[tuple[int, int], tuple[int, tuple[Any, ...]]] = {}
    for snapshot_id, account_id, patrol_id, *profile in rows:
        if patrol_id in patrol_ids:
            stored[(account_id, patrol_id)] = (snapshot_id, tuple(profile))
        else:
            latest[account_id] = tuple(profile)
    return latest, stored


def _post_counts(session: Any, account_ids: Sequence[int]) -> dict[int, int]:
    rows = session.execute(
        select(Post.account_id, func.count()).where(Post.account_id.in_(account_ids)).group_by(Post.account_id)
    )
    return {aid: int(n) for aid, n in rows}


def patrol_summary(engine: Engine, patrol_id: int) -> dict[str, Any]:
    """Outcomes (overall and by platform) and post counts of one patrol, as stored in Patrol.summary."""
    with session_scope(engine) as session:
        seen, new = session.execute(
            select(
                func.coalesce(func.sum(FetchOutcome.posts_seen), 0), func.coalesce(func.sum(FetchOutcome.posts_new), 0)
            ).where(FetchOutcome.patrol_id == patrol_id)
        ).one()
        outcomes = _outcome_counts(session, patrol_id)
    return {
        "outcomes": outcomes,
        "by_platform": outcomes_by_platform(engine, patrol_id),
        "accounts_done": sum(outcomes.values()),
        "posts_seen": int(seen),
        "posts_new": int(new),
    }
