"""What the scorer measures per account: a few set-based statements reduced to columns.

1. accounts: every account in scope with its latest follower count and its latest fetch outcome, each
   found by an index-only seek per account, so the cost grows with accounts, not with history; for the
   few whose latest fetch failed, their latest outcomes in full;
2. window: the posts of the window as the patrol keeps them per account and period of 30 days
   (registry.scoring.periods: aligned lists of publish times, engagement, repost marks and content hashes),
   the rows of the periods the window overlaps joined into one text per column, in a single row, then
   cut to the window and reduced here with numpy (longest gap, median engagement; duplicates.py). Being
   the longest read, it may run on its own connection beside the first;
3. silent: for accounts without a post in the window, the newest post before it (an index seek) and
   whether they have posts whose date was unreadable.

Posts flagged foreign_author (someone else's post in the timeline) are never stored (see
registry.observations), so every stored post is the account's own. Nothing after `as_of` counts:
later posts, outcomes and snapshots are ignored. Times are epoch seconds here; NaN means "not known",
never zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.engine import Connection

from registry.models import Account, AccountSnapshot, FetchOutcome, Organization, Post, PostPeriod
from registry.policy import Policy
from registry.scoring.periods import HASH_WIDTH, period_of_time
from registry.scoring.sql import epoch_seconds, in_ids, raw_rows, seq_agg
from registry.stretches import seen_at, visits_until
from registry.types import TZDateTime
from registry.vocabulary import OUTCOMES, READ_OUTCOMES

DAY = 86400
SHANGHAI_OFFSET = 8 * 3600  # Asia/Shanghai has kept UTC+8, without summer time, since 1991
# Outcomes coded in 4 bits (15: anything else, taken as an error).
OUTCOME_CODES = {name: code for code, name in enumerate(OUTCOMES)}
OUTCOME_NAMES = np.array([*OUTCOMES, *["error"] * (16 - len(OUTCOMES))], object)
NO_HASH = " " * HASH_WIDTH


@dataclass
class WindowPosts:
    """The window's posts that carry a content hash: account row, publish time, hash (parallel arrays)."""

    row: np.ndarray
    ts: np.ndarray
    hashes: np.ndarray  # dtype S12: the leading characters of each content hash


@dataclass
class Frame:
    """Per-account measurements as columns: one entry per account, in account id order."""

    account_id: np.ndarray
    platform: np.ndarray
    platform_id: list[str]
    name: list[str]
    org_id: np.ndarray
    registry_status: np.ndarray
    status_changed_on: np.ndarray  # datetime64[D], NaT when not recorded
    opened_on: np.ndarray  # datetime64[D]
    followers: np.ndarray
    outcome: np.ndarray  # the latest fetch outcome (None: never patrolled)
    fetched_ts: np.ndarray  # when it was fetched
    # For accounts whose latest fetch did not read normally: their latest outcomes in full, newest first
    # (outcome, fetched_ts, reason, HTTP status), enough to count consecutive "gone" answers.
    history: dict[int, list[tuple[str, int, str | None, int | None]]] = field(default_factory=dict)
    is_main: list[bool] = field(default_factory=list)  # 主账号 in the registry (the plan keeps it)
    last_post_ts: np.ndarray = field(init=False)
    undated_posts: np.ndarray = field(init=False)
    posts: np.ndarray = field(init=False)  # in the window
    originals: np.ndarray = field(init=False)
    engaged_posts: np.ndarray = field(init=False)  # posts of the window whose source gave engagement
    median_engagement: np.ndarray = field(init=False)
    window_open: np.ndarray = field(init=False)  # the window's start, or the day the account opened
    longest_gap: np.ndarray = field(init=False)  # whole days without a post in the window, edges included
    duplicates: np.ndarray = field(init=False)  # posts also published by a related account (duplicates.py)
    duplicate_with: dict[int, list[int]] = field(init=False)  # row -> related accounts that published the same
    window_posts: WindowPosts | None = None

    def __post_init__(self) -> None:
        n = len(self.account_id)
        self.last_post_ts = np.full(n, np.nan)
        self.undated_posts = np.zeros(n, bool)
        self.posts = np.zeros(n, np.int64)
        self.originals = np.zeros(n, np.int64)
        self.engaged_posts = np.zeros(n, np.int64)
        self.median_engagement = np.full(n, np.nan)
        self.window_open = np.zeros(n)
        self.longest_gap = np.full(n, np.nan)
        self.duplicates = np.zeros(n, np.int64)
        self.duplicate_with = {}

    def __len__(self) -> int:
        return len(self.account_id)

    def rows_of(self, account_ids: Any) -> np.ndarray:
        return np.searchsorted(self.account_id, account_ids)


class Params:
    """Policy thresholds as per-account arrays (each account gets its platform's value)."""

    def __init__(self, policy: Policy, platforms: np.ndarray) -> None:
        names, self._codes = np.unique(platforms.astype(str), return_inverse=True)
        self.policies = [policy.for_platform(str(p)) for p in names]
        self.policy = policy

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("_"):
            raise AttributeError(name)
        values = np.array([getattr(p, name) for p in self.policies])
        array = values[self._codes] if len(values) else values
        setattr(self, name, array)
        return array

    def each(self, name: str, i: int) -> Any:
        return getattr(self.policies[self._codes[i]], name)


def window_start(policy: Policy, as_of: datetime) -> datetime:
    return as_of - timedelta(days=policy.window_days)


def window_start_expr(policy: Policy, as_of: datetime) -> Any:
    """SQL: each account's window start (window_days may be overridden per platform)."""
    default = literal(window_start(policy, as_of), TZDateTime())
    starts = {p: literal(window_start(policy.for_platform(p), as_of), TZDateTime()) for p in policy.platforms}
    return case(starts, value=Account.platform, else_=default) if starts else default


def to_datetime(ts: float | None) -> datetime | None:
    return None if ts is None or ts != ts else datetime.fromtimestamp(int(ts), UTC)


def _newest(column: Any, *where: Any, order: Any) -> Any:
    """The newest matching value, found by an index seek for each outer account."""
    return select(column).where(*where).order_by(order.desc()).limit(1).scalar_subquery()


def _accounts(conn: Connection, policy: Policy, as_of: datetime, scope: Any) -> Frame:
    """Every account in scope with its latest follower count and latest outcome (index-only seeks)."""
    dialect = conn.dialect.name
    acc = Account.__table__
    s = AccountSnapshot.__table__
    o = FetchOutcome.__table__
    stmt = (
        select(
            acc.c.id,
            acc.c.platform,
            acc.c.platform_id,
            acc.c.name,
            acc.c.org_id,
            acc.c.status,
            acc.c.status_changed_on,
            acc.c.opened_on,
            acc.c.is_main,
            _newest(s.c.followers, s.c.account_id == acc.c.id, s.c.taken_at <= as_of, order=s.c.taken_at),
            # One seek gives both the time and the outcome: epoch seconds * 16 + the outcome's code (the
            # time of a stretch's latest visit up to as_of: its last, or its first when as_of falls inside).
            _newest(
                epoch_seconds(seen_at(o, as_of), dialect) * 16 + case(OUTCOME_CODES, value=o.c.outcome, else_=15),
                o.c.account_id == acc.c.id,
                o.c.fetched_at <= as_of,
                order=o.c.fetched_at,
            ),
        )
        .where(scope)
        .order_by(acc.c.id)
    )
    rows = raw_rows(conn, stmt)
    cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * 11
    is_main = [bool(v) for v in cols.pop(8)]
    latest = np.array(cols[9], float)
    known = ~np.isnan(latest)
    codes = np.where(known, latest, 15).astype(np.int64)
    frame = Frame(
        account_id=np.array(cols[0], np.int64),
        platform=np.array(cols[1], object),
        platform_id=list(cols[2]),
        name=list(cols[3]),
        org_id=np.array(cols[4], np.int64),
        registry_status=np.array(cols[5], object),
        status_changed_on=day_array(cols[6]),
        opened_on=day_array(cols[7]),
        followers=np.array(cols[8], float),
        outcome=np.where(known, OUTCOME_NAMES[codes % 16], None),
        fetched_ts=np.where(known, codes // 16, np.nan),
        is_main=is_main,
    )
    _history(conn, frame, policy, as_of)
    return frame


def day_array(values: Sequence[Any]) -> np.ndarray:
    """Dates (ISO text, or dates as PostgreSQL's driver gives them; None: not recorded) as datetime64[D],
    NaT for None. numpy converts a None or a date object a hundred times slower than ISO text."""
    out = np.full(len(values), np.datetime64("NaT", "D"))
    at = [i for i, v in enumerate(values) if v is not None]
    if at:
        out[at] = np.array([str(values[i]) for i in at], "datetime64[D]")
    return out


def nullable(values: np.ndarray, digits: int | None = None) -> list[Any]:
    """A float column as Python values with NaN as None: counts (digits None) as int, measures rounded
    to `digits` (vectorised: no Python call per value)."""
    missing = np.isnan(values)
    if digits is None:
        out = np.where(missing, 0, values).astype(np.int64).astype(object)
    else:
        out = np.round(values, digits).astype(object)
    out[missing] = None
    return out.tolist()


def day_start(days: np.ndarray) -> np.ndarray:
    """Epoch seconds of the start of each day in Shanghai (NaN for NaT)."""
    seconds = days.astype("datetime64[s]").astype(np.int64).astype(float) - SHANGHAI_OFFSET
    return np.where(np.isnat(days), np.nan, seconds)


def _history(conn: Connection, frame: Frame, policy: Policy, as_of: datetime) -> None:
    """For accounts whose latest fetch did not read normally: their latest outcomes in full (reason, HTTP
    status), as many as it takes to count consecutive "gone" answers (a stretch of identical outcomes
    counts as the visits it folds, up to as_of)."""
    troubled = [i for i, o in enumerate(frame.outcome.tolist()) if o is not None and o not in READ_OUTCOMES]
    if not troubled:
        return
    dialect = conn.dialect.name
    o = FetchOutcome.__table__
    ranked = (
        select(
            o.c.account_id,
            o.c.outcome,
            epoch_seconds(seen_at(o, as_of), dialect),
            o.c.reason,
            o.c.http_status,
            visits_until(o, as_of).label("visits"),
            func.row_number()
            .over(partition_by=o.c.account_id, order_by=(o.c.fetched_at.desc(), o.c.id.desc()))
            .label("k"),
        )
        .where(in_ids(o.c.account_id, [int(frame.account_id[i]) for i in troubled], dialect), o.c.fetched_at <= as_of)
        .subquery()
    )
    stmt = (
        select(*list(ranked.c)[:6]).where(ranked.c.k <= policy.history_depth).order_by(ranked.c.account_id, ranked.c.k)
    )
    rows_of = dict(zip(frame.account_id[troubled].tolist(), troubled, strict=True))
    for account_id, *outcome, visits in raw_rows(conn, stmt):
        seen = frame.history.setdefault(rows_of[account_id], [])
        seen.extend([tuple(outcome)] * max(0, min(int(visits), policy.history_depth - len(seen))))  # type: ignore[list-item]


def _periods(policy: Policy, as_of: datetime) -> tuple[int, int, int]:
    """The periods a window overlaps (first, last), and the first lying wholly inside every account's."""
    starts = [window_start(policy.for_platform(p), as_of) for p in policy.platforms] + [window_start(policy, as_of)]
    return period_of_time(min(starts)), period_of_time(as_of), period_of_time(max(starts)) + 1


def _window_statement(dialect: str, policy: Policy, as_of: datetime, scope: Any) -> Any:
    """The period rows the window overlaps, every account's joined into one text per column: a single
    row, so that the whole statement runs inside the database (where SQLite releases the GIL) and comes
    back in one piece rather than as 100,000 rows. All columns list the rows in the same order (account,
    then period), and each row lists its posts in the same order."""
    acc = Account.__table__
    pp = PostPeriod.__table__
    first, last, _inner = _periods(policy, as_of)
    rows = (
        select(pp.c.account_id, pp.c.period, pp.c.posts, pp.c.times, pp.c.engagement, pp.c.reposts, pp.c.hashes)
        .select_from(acc.join(pp, pp.c.account_id == acc.c.id))
        .where(scope, pp.c.period >= first, pp.c.period <= last)
        .order_by(acc.c.id, pp.c.period)  # accounts in order, each with a seek to its periods
        .subquery()
    )
    w = rows.c
    order = (w.account_id, w.period)
    return select(
        *(seq_agg(c, dialect, *order) for c in (w.account_id, w.posts, w.times, w.engagement)),
        *(seq_agg(c, dialect, *order, sep="") for c in (w.reposts, w.hashes)),
        seq_agg(w.period, dialect, *order),
    )


def _ints(text: str | None) -> np.ndarray:
    return np.fromstring(text or "", dtype=np.int64, sep=",")


@dataclass
class WindowRows:
    """The window statement's row parsed: per period row, its account and post count; per post, in the
    same order, its publish time, engagement, whether it is a repost and its content hash."""

    ids: np.ndarray
    counts: np.ndarray
    periods: np.ndarray
    times: np.ndarray
    engagement: np.ndarray
    reposts: np.ndarray
    hashes: np.ndarray

    @classmethod
    def parse(cls, row: Any) -> WindowRows:
        ids_text, counts_text, times_text, engagement_text, reposts_text, hash_text, periods_text = row
        parsed = cls(
            _ints(ids_text),
            _ints(counts_text),
            _ints(periods_text),
            _ints(times_text),
            _ints(engagement_text),
            np.frombuffer((reposts_text or "").encode("ascii", "replace"), np.uint8) == ord("1"),
            np.frombuffer((hash_text or "").encode("ascii", "replace"), dtype=f"S{HASH_WIDTH}"),
        )
        posts = int(parsed.counts.sum())
        if not len(parsed.times) == len(parsed.engagement) == len(parsed.reposts) == len(parsed.hashes) == posts:
            raise RuntimeError("the window's lists are out of step")  # a database that reorders aggregates
        return parsed


def _window(window: WindowRows, frame: Frame, params: Params, as_of: datetime) -> None:
    """Reduce the window's posts: posts, originals, longest gap, median engagement, hashes."""
    as_of_ts = as_of.timestamp()
    starts = as_of_ts - params.window_days * float(DAY)
    opened = day_start(frame.opened_on)
    frame.window_open = np.where(np.isnan(opened), starts, np.clip(opened, starts, as_of_ts))
    # In whole days, as days silent are (the last stretch is the days silent when it is the longest): the
    # figure moves with the day, not with the hour, so a run an hour later rewrites only what data moved.
    frame.longest_gap = np.floor((as_of_ts - frame.window_open) / DAY)  # no post in the window: all of it
    if not len(window.ids):
        return
    rows = np.repeat(frame.rows_of(window.ids), window.counts)  # each post's account row
    times, engagement, reposts, hashes = window.times, window.engagement, window.reposts, window.hashes

    # The window itself: after the account's window start, not after as_of.
    inside = (times > starts[rows]) & (times <= as_of_ts)
    rows, times, engagement, reposts, hashes = (x[inside] for x in (rows, times, engagement, reposts, hashes))
    if not len(rows):
        return
    # Each account's posts in time order (periods come in order; the posts within one almost always).
    step = np.diff(rows)
    if (step < 0).any() or ((step == 0) & (np.diff(times) < 0)).any():
        order = np.lexsort((times, rows))
        rows, times, engagement, reposts, hashes = (x[order] for x in (rows, times, engagement, reposts, hashes))
    first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    posts_n = np.diff(np.r_[first, len(rows)])
    at = rows[first]
    seg = np.repeat(np.arange(len(first)), posts_n)
    engaged = engagement >= 0
    frame.posts[at] = posts_n
    frame.originals[at] = np.add.reduceat((~reposts).astype(np.int64), first)
    engaged_n = np.add.reduceat(engaged.astype(np.int64), first)
    frame.engaged_posts[at] = engaged_n

    # Longest gap: between consecutive posts, from the window's start to the first, from the last to as_of.
    last = first + posts_n - 1
    gaps = np.diff(times, prepend=0).astype(float)
    gaps[first] = times[first] - frame.window_open[at]
    inner = np.maximum.reduceat(gaps, first)
    frame.longest_gap[at] = np.floor(np.maximum(inner, as_of_ts - times[last]) / DAY)
    frame.last_post_ts[at] = times[last]

    # Median engagement over the posts whose source gave it: one sort of (account, value) keys.
    has = engaged_n > 0
    compact = (np.cumsum(has) - 1)[seg[engaged]]
    keys = np.sort((compact << 40) | np.clip(engagement[engaged], 0, (1 << 40) - 1))
    values = keys & ((1 << 40) - 1)
    efirst = np.r_[0, np.cumsum(engaged_n[has])[:-1]].astype(np.int64)
    lo, hi = efirst + (engaged_n[has] - 1) // 2, efirst + engaged_n[has] // 2
    frame.median_engagement[at[has]] = (values[lo] + values[hi]) / 2

    # Content hashes, fixed width, for duplicates.py (posts without one are hashed from their text).
    keep = hashes != NO_HASH.encode()
    frame.window_posts = WindowPosts(row=rows[keep], ts=times[keep], hashes=hashes[keep])


def read_window(conn: Connection, policy: Policy, as_of: datetime, scope: Any) -> tuple[WindowRows, list[Any]]:
    """The window statement's row parsed, and the posts of the window stored without a content hash (hashed
    from their text by duplicates.py): the longest read of a run, which may run on its own connection
    beside the others (db.reading_together)."""
    dialect = conn.dialect.name
    acc = Account.__table__
    window = WindowRows.parse(raw_rows(conn, _window_statement(dialect, policy, as_of, scope))[0])
    # Only for the accounts whose periods of the window hold such a post.
    blank = window.hashes == NO_HASH.encode()
    if not blank.any():
        return window, []
    unhashed_ids = np.unique(np.repeat(window.ids, window.counts)[blank])
    unhashed = (
        select(acc.c.id, epoch_seconds(Post.published_at, dialect), Post.title, Post.text)
        .select_from(
            acc.join(
                Post.__table__,
                and_(
                    Post.account_id == acc.c.id,
                    Post.published_at > window_start_expr(policy, as_of),
                    Post.published_at <= as_of,
                    Post.content_hash.is_(None),
                ),
            )
        )
        .where(in_ids(acc.c.id, unhashed_ids.tolist(), dialect))
    )
    return window, raw_rows(conn, unhashed)


NO_POST = -(2**62)  # read_silent's newest post of an account without one (no publish time is this far back)


@dataclass
class SilentRows:
    """The accounts that may have no post in the window: their ids, their newest post before it (epoch
    seconds, NaN: none) and whether they have posts with an unreadable date."""

    ids: np.ndarray
    newest: np.ndarray
    undated: np.ndarray


def read_silent(conn: Connection, policy: Policy, as_of: datetime, ids: np.ndarray, window: WindowRows) -> SilentRows:
    """Of the accounts `ids`, those that may have no post in the window (none in a period of the window's
    row wholly inside it), with their newest post before it (an index seek) and whether they have undated
    posts. measure_silent keeps these for the accounts found silent."""
    dialect = conn.dialect.name
    acc = Account.__table__
    _first, last, inner = _periods(policy, as_of)
    busy = window.ids[(window.periods >= inner) & (window.periods < last)]
    silent = np.setdiff1d(ids, busy)
    if not len(silent):
        return SilentRows(silent, np.zeros(0), np.zeros(0, bool))
    q = Post.__table__.alias("q")
    older = _newest(
        epoch_seconds(q.c.published_at, dialect),
        q.c.account_id == acc.c.id,
        q.c.published_at <= as_of,
        order=q.c.published_at,
    )
    undated = exists().where(q.c.account_id == acc.c.id, q.c.published_at.is_(None), q.c.first_seen_at <= as_of)
    # One row, each column joined into one text (as the window's): the statement runs inside the database
    # without taking the interpreter's lock back for each of the accounts while the other thread works.
    rows = (
        select(acc.c.id, func.coalesce(older, NO_POST).label("newest"), case((undated, 1), else_=0).label("undated"))
        .where(in_ids(acc.c.id, silent.tolist(), dialect))
        .order_by(acc.c.id)
        .subquery()
    )
    joined = raw_rows(conn, select(*(seq_agg(c, dialect, rows.c.id) for c in rows.c)))[0]
    found, newest, undated_posts = (_ints(text) for text in joined)
    if not len(found) == len(newest) == len(undated_posts):
        raise RuntimeError("the silent accounts' lists are out of step")
    return SilentRows(found, np.where(newest == NO_POST, np.nan, newest.astype(float)), undated_posts == 1)


def measure_accounts(conn: Connection, policy: Policy, as_of: datetime, scope: Any) -> tuple[Frame, Params]:
    """Every account in scope with its follower count and latest outcomes, and its policy thresholds."""
    frame = _accounts(conn, policy, as_of, scope)
    return frame, Params(policy, frame.platform)


def measure_window(frame: Frame, params: Params, as_of: datetime, window: WindowRows) -> None:
    """Reduce the window's posts into the frame."""
    if len(frame):
        _window(window, frame, params, as_of)


def measure_silent(frame: Frame, silent: SilentRows) -> None:
    """The newest older post of the accounts found silent in the window (after measure_window)."""
    if len(silent.ids):
        at = frame.rows_of(silent.ids)
        quiet = frame.posts[at] == 0  # the others had a post in the window after all
        frame.last_post_ts[at[quiet]] = silent.newest[quiet]
        frame.undated_posts[at[quiet]] = silent.undated[quiet]


def org_tree(conn: Connection) -> dict[int, tuple[int | None, str, int | None, str]]:
    """Every unit: id -> (parent id, level, headcount, name)."""
    stmt = select(
        Organization.id, Organization.parent_id, Organization.level, Organization.headcount, Organization.name
    )
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in raw_rows(conn, stmt)}
