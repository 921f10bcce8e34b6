"""Factories for scoring tests: units, accounts, patrols, outcomes, posts and snapshots written straight
to the database, and a scorer to run on them. (A uniquely named module: test modules import it.)"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from registry.db import session_scope
from registry.digest import content_hash
from registry.models import Account, AccountSnapshot, FetchOutcome, Organization, Patrol, Post
from registry.policy import Policy
from registry.scoring.periods import refresh_periods
from registry.scoring import latest_verdicts, plan_rows, run_scoring

# Runs a test on the SQLite file alone: for the many variants of a rule whose SQL is exercised on both
# backends by the other tests.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# 12:00 in Shanghai. Posts are placed in days before it.
AS_OF = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)


def ago(days: float, base: datetime = AS_OF) -> datetime:
    return base - timedelta(days=days)


class World:
    """A small registry built row by row; every method returns the new row's id."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ids = itertools.count(1)

    def _add(self, *rows: Any) -> Any:
        with session_scope(self.engine) as session:
            session.add_all(rows)
            session.flush()
            return rows[0].id

    def org(
        self, name: str, parent: int | None = None, *, level: str = "department", headcount: int | None = None
    ) -> int:
        return self._add(Organization(name=name, parent_id=parent, level=level, headcount=headcount))

    def account(
        self,
        org: int,
        platform: str = "weibo",
        *,
        name: str | None = None,
        status: str = "active",
        changed_on: date | None = None,
        opened_on: date | None = None,
        patrolled: bool = True,
        followers: int | None = 5000,
    ) -> int:
        n = next(self._ids)
        account_id = self._add(
            Account(
                platform=platform,
                platform_id=f"{platform}{n}",
                name=name or f"账号{n}",
                org_id=org,
                status=status,
                status_changed_on=changed_on,
                opened_on=opened_on,
            )
        )
        if patrolled:
            self.outcome(account_id, "ok")
        if followers is not None:
            self.snapshot(account_id, followers)
        return account_id

    def outcome(
        self, account: int, outcome: str = "ok", *, at: datetime | None = None, reason: str | None = None
    ) -> int:
        at = at or ago(1 / 24)
        patrol = self._add(Patrol(started_at=at, finished_at=at, status="finished"))
        return self._add(
            FetchOutcome(patrol_id=patrol, account_id=account, fetched_at=at, outcome=outcome, reason=reason)
        )

    def snapshot(self, account: int, followers: int | None, *, at: datetime | None = None) -> int:
        return self._add(AccountSnapshot(account_id=account, taken_at=at or ago(1 / 24), followers=followers))

    def posts(
        self,
        account: int,
        days: Iterable[float | None],
        *,
        repost: bool = False,
        pinned: bool = False,
        engagement: int | None = 20,
        reads: int | None = None,
        title: str | None = None,
        text: str | None = None,
        hashed: bool = True,
        url: str | None = None,
    ) -> list[int]:
        """One post per entry of `days` (days before AS_OF; None = an unreadable date). engagement=None:
        the source gives none (all counts NULL); otherwise it is split over reposts, comments and likes."""
        rows = []
        for d in days:
            n = next(self._ids)
            title_n = title if title is not None else f"第{n}条新闻"
            text_n = text if text is not None else f"正文{n}"
            counts: dict[str, Any] = {"reposts": None, "comments": None, "likes": None}
            if engagement is not None:
                counts = {
                    "reposts": engagement // 4,
                    "comments": engagement // 4,
                    "likes": engagement - 2 * (engagement // 4),
                }
            rows.append(
                Post(
                    account_id=account,
                    platform_post_id=f"p{n}",
                    published_at=None if d is None else ago(d),
                    first_seen_at=AS_OF - timedelta(hours=2),
                    last_seen_at=AS_OF - timedelta(hours=2),
                    title=title_n,
                    text=text_n,
                    url=url or f"https://example.org/p/{n}",
                    is_pinned=pinned,
                    is_repost=repost,
                    reads=reads,
                    content_hash=content_hash(title_n, text_n) if hashed else None,
                    **counts,
                )
            )
        with session_scope(self.engine) as session:
            session.add_all(rows)
            session.flush()
            refresh_periods(session.connection(), {account: None})  # as the patrol's store does
            return [r.id for r in rows]

    def active(self, org: int, platform: str = "weibo", **kw: Any) -> int:
        """An account posting every other day, with engagement and followers."""
        account = self.account(org, platform, **kw)
        self.posts(account, range(0, 90, 2))
        return account


class Scorer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, policy: Policy | None = None, *, as_of: datetime = AS_OF, org_id: int | None = None) -> Any:
        return run_scoring(self.engine, policy=policy or Policy(), as_of=as_of, org_id=org_id)

    def verdicts(self, **filters: Any) -> dict[int, dict[str, Any]]:
        with Session(self.engine) as session:
            return {v["account_id"]: v for v in latest_verdicts(session, **filters)}

    def verdict(self, account: int, policy: Policy | None = None, *, as_of: datetime = AS_OF) -> dict[str, Any]:
        """Score, then the verdict of one account."""
        self(policy, as_of=as_of)
        return self.verdicts()[account]

    def plan(self, **kw: Any) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            return plan_rows(session, **kw)


def table(output: str) -> list[dict[str, str]]:
    """The rows of the first table in piped CLI output (tab-separated, after "# title" lines)."""
    lines = [line for line in output.splitlines() if line and not line.startswith("# ")]
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        cells = line.split("\t")
        if len(cells) != len(header):
            break
        rows.append(dict(zip(header, cells, strict=True)))
    return rows
