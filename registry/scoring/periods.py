"""Per-account aggregates of the posts, kept with them: one row per account and period of 30 days.

Each row holds what the scorer needs of that period's dated posts, as aligned lists (publish time,
engagement, repost mark, content hash prefix) and counts, so that a scoring run reads a few rows per
account instead of every post of its window, and cuts the window's edges exactly from the publish times.
Pinned posts are posts like any other here (the newest publish time counts them); engagement a source
does not give stays "not given" (-1), never 0; posts without a readable date are not in any period (the
scorer finds them in the post table).

Whoever writes posts refreshes the periods of what it wrote, in the same transaction
(`refresh_periods`): the patrol's store (registry.observations.store_visits) and migration 0007, which
builds them from the posts already stored. A refresh recomputes an account's periods from the posts
themselves, from the earliest period it touched, with two set-based statements per batch.
`differences` recomputes every period from the posts and names the accounts whose rows disagree
(`govpulse db verify`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Text,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from registry.models import Account, Post, PostPeriod
from registry.scoring.sql import fixed_width, in_ids, seq_agg

PERIOD_SECONDS = 30 * 86400
HASH_WIDTH = 12  # leading characters of content_hash compared (48 bits of a hex digest)
BATCH = 5000  # accounts per statement
COLUMNS = [
    "account_id",
    "period",
    "posts",
    "originals",
    "engaged",
    "newest",
    "times",
    "engagement",
    "reposts",
    "hashes",
]


def epoch_floor(column: Any, dialect: str) -> Any:
    """Whole seconds since 1970, rounded down (the same on both databases, so periods agree)."""
    if dialect == "sqlite":
        return func.unixepoch(column)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def period_of(ts: Any) -> Any:
    """SQL: the period of epoch seconds `ts` (floor division, also below 1970)."""
    p = literal(PERIOD_SECONDS)
    return (ts - ((ts % p) + p) % p).self_group().op("/")(p)  # an exact multiple of p: integer division


def period_of_time(when: datetime) -> int:
    return int(when.timestamp() // PERIOD_SECONDS)


def engagement_expr() -> Any:
    """reposts + comments + likes (+ reads), NULL when the source gave none of them."""
    parts = (Post.reposts, Post.comments, Post.likes, Post.reads)
    total: Any = func.coalesce(parts[0], 0)
    for part in parts[1:]:
        total = total + func.coalesce(part, 0)
    return case((func.coalesce(*parts).is_(None), None), else_=total)


def _grouped(dialect: str, *where: Any, source: Any = None) -> Any:
    """The period rows of the posts matching `where` (from `source`, by default the post table)."""
    p = Post.__table__
    ts = epoch_floor(p.c.published_at, dialect)
    inner = (
        select(
            p.c.account_id.label("account_id"),
            period_of(ts).label("period"),
            ts.label("ts"),
            func.coalesce(engagement_expr(), -1).label("eng"),
            case((p.c.is_repost, 1), else_=0).label("rep"),
            fixed_width(p.c.content_hash, HASH_WIDTH, dialect).label("hash"),
            p.c.id.label("id"),
        )
        .select_from(source if source is not None else p)
        .where(p.c.published_at.is_not(None), *where)
    )
    if dialect == "sqlite":  # group_concat takes rows in this order (no ORDER BY inside aggregates)
        inner = inner.order_by(p.c.account_id, p.c.published_at, p.c.id)
    c = inner.subquery("dated").c
    order = (c.ts, c.id)
    return select(
        c.account_id,
        c.period,
        func.count(),
        func.sum(1 - c.rep),
        func.sum(case((c.eng >= 0, 1), else_=0)),
        func.max(c.ts),
        seq_agg(c.ts, dialect, *order),
        seq_agg(c.eng, dialect, *order),
        seq_agg(c.rep, dialect, *order, sep=""),
        seq_agg(c.hash, dialect, *order, sep=""),
    ).group_by(c.account_id, c.period)


def _since_table(since: Mapping[int, int], dialect: str) -> Any:
    """(account_id, since) pairs as a table of one bound parameter (any number of accounts)."""
    if dialect == "sqlite":
        value: Any = literal_column("value")
        return (
            select(
                cast(func.json_extract(value, "$[0]"), Integer).label("account_id"),
                cast(func.json_extract(value, "$[1]"), Integer).label("since"),
            )
            .select_from(func.json_each(bindparam("since", json.dumps(sorted(since.items())), unique=True)))
            .subquery("since")
        )
    ids, periods = zip(*sorted(since.items()), strict=True) if since else ((), ())
    return select(
        func.unnest(bindparam("a", list(ids), type_=ARRAY(BigInteger), unique=True)).label("account_id"),
        func.unnest(bindparam("p", list(periods), type_=ARRAY(BigInteger), unique=True)).label("since"),
    ).subquery("since")


# Keys of period rows as one number, for a DELETE by a bound list: account * KEY + period + OFFSET.
KEY, OFFSET = 2**21, 2**20  # periods within about ±86,000 years of 1970
WHOLE = -(2**19)  # since "the beginning": before any period


def _key(column_account: Any, column_period: Any) -> Any:
    return cast(column_account, BigInteger) * KEY + column_period + OFFSET


def refresh_periods(conn: Connection, since: Mapping[int, datetime | None]) -> None:
    """Recompute the periods of these accounts from the posts, from the period of their `since` time on
    (None: all of them). Call it in the transaction that wrote the posts, with, per account, the earliest
    publish time among the posts written (new or updated). Per batch of accounts: one read of their period
    keys, one DELETE of the stale ones, one INSERT ... SELECT grouped over their posts (index seeks)."""
    dialect = conn.dialect.name
    periods = {a: (WHOLE if t is None else max(period_of_time(t), WHOLE)) for a, t in since.items()}
    table = PostPeriod.__table__
    p = Post.__table__
    accounts = sorted(periods)
    for start in range(0, len(accounts), BATCH):
        chunk = {a: periods[a] for a in accounts[start : start + BATCH]}
        ids = sorted(chunk)
        stored = conn.execute(
            select(table.c.account_id, table.c.period).where(in_ids(table.c.account_id, ids, dialect))
        )
        stale = sorted({a * KEY + period + OFFSET for a, period in stored if period >= chunk[a]})
        conn.execute(  # even when nothing is stale: the same statements for every batch
            delete(table).where(
                in_ids(table.c.account_id, sorted({k // KEY for k in stale}), dialect),
                in_ids(_key(table.c.account_id, table.c.period), stale, dialect),
            )
        )
        s = _since_table(chunk, dialect)
        source = s.join(p, p.c.account_id == s.c.account_id)
        ts = epoch_floor(p.c.published_at, dialect)
        conn.execute(insert(table).from_select(COLUMNS, _grouped(dialect, period_of(ts) >= s.c.since, source=source)))


def rebuild_periods(conn: Connection) -> None:
    """Every account's periods afresh from all stored posts (migration 0007)."""
    conn.execute(delete(PostPeriod.__table__))
    conn.execute(insert(PostPeriod.__table__).from_select(COLUMNS, _grouped(conn.dialect.name)))


def written_since(conn: Connection, keys: Iterable[tuple[int, str]]) -> dict[int, datetime | None]:
    """Per account, the earliest publish time, as stored, among these posts ((account, platform post id)):
    where the periods a write touched begin. Accounts whose written posts are all undated are absent."""
    wanted = set(keys)
    if not wanted:
        return {}
    dialect = conn.dialect.name
    p = Post.__table__
    rows = conn.execute(
        select(p.c.account_id, func.min(p.c.published_at))
        .where(
            in_ids(p.c.account_id, sorted({a for a, _ in wanted}), dialect),
            in_ids(p.c.platform_post_id, sorted({pid for _, pid in wanted}), dialect, Text),
            p.c.published_at.is_not(None),
        )
        .group_by(p.c.account_id)
    )
    return {int(a): t for a, t in rows}


# ------------------------------------------------------------------------------------------- verify


@dataclass
class Difference:
    account_id: int
    platform: str
    platform_id: str
    periods: list[int]  # the periods whose stored row differs from the posts (missing, extra or other values)


def _canonical(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A period row with its posts in a canonical order (ties in publish time may come in any order)."""
    _a, _p, posts, originals, engaged, newest, times, eng, reps, hashes = row
    entries = sorted(
        zip(
            str(times).split(","),
            str(eng).split(","),
            str(reps),
            [str(hashes)[i : i + HASH_WIDTH] for i in range(0, len(str(hashes)), HASH_WIDTH)],
            strict=False,
        )
    )
    return (int(posts), int(originals), int(engaged), int(newest), entries)


def differences(conn: Connection) -> list[Difference]:
    """Recompute every period from the posts and compare with the stored rows; the accounts that differ.
    Rows equal as stored are compared in SQL; only the others are read and compared entry by entry."""
    dialect = conn.dialect.name
    table = PostPeriod.__table__
    computed = _grouped(dialect)
    stored = select(*[table.c[name] for name in COLUMNS])
    suspects = set()
    for first, second in ((computed, stored), (stored, computed)):
        diff = first.except_(second).subquery("diff")
        suspects |= {int(a) for (a,) in conn.execute(select(diff.c[0]).distinct())}
    if not suspects:
        return []
    ids = sorted(suspects)
    by_side: list[dict[tuple[int, int], tuple[Any, ...]]] = []
    for stmt in (
        _grouped(dialect, in_ids(Post.account_id, ids, dialect)),
        stored.where(in_ids(table.c.account_id, ids, dialect)),
    ):
        by_side.append({(int(r[0]), int(r[1])): _canonical(tuple(r)) for r in conn.execute(stmt)})
    mine, kept = by_side
    bad: dict[int, list[int]] = {}
    for key in sorted(mine.keys() | kept.keys()):
        if mine.get(key) != kept.get(key):
            bad.setdefault(key[0], []).append(key[1])
    if not bad:
        return []
    acc = Account.__table__
    names = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            select(acc.c.id, acc.c.platform, acc.c.platform_id).where(in_ids(acc.c.id, sorted(bad), dialect))
        )
    }
    return [Difference(a, *names.get(a, ("?", "?")), periods=bad[a]) for a in sorted(bad)]


def counts(conn: Connection) -> tuple[int, int]:
    """(accounts with periods, period rows), for the verify command's summary."""
    table = PostPeriod.__table__
    rows, accounts = conn.execute(select(func.count(), func.count(table.c.account_id.distinct()))).one()
    return int(accounts), int(rows)
