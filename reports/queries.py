"""What a patrol report shows, as plain rows: set-based queries over one score run and a unit subtree.

Nothing here returns ORM objects: every function gives dicts (shapes below) that reports/ renders.
Definitions the report relies on (and states in its method section):
- In scope: accounts whose verdict is in the run, owned by the chosen unit or any unit below it, and still
  in service then (the verdict's registry status is not merged or closed).
- Checked: a verdict other than "unknown" (the patrol got fresh data, or the platform said it is gone).
- Passing the 14-day rule: "active" or "shell" (both updated within the dormant threshold).
  Compliance rate = passing / checked. Unknown accounts are neither passing nor in the denominator.
- Flagged: dormant, zombie, shell or unreachable: the accounts that need action.
- Crawl problem: the latest fetch outcome known when the run was made is anything but ok/empty, or the
  account was never fetched. ("empty" is the platform answering with no posts: evidence, not a failure.)
- The run: the latest one that judged the whole scope. A run limited to one unit (`score --org`) counts
  only for reports on that unit or below; the previous run and the trend follow the same rule.
"""

from __future__ import annotations

import json
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress, repeat
from operator import itemgetter
from datetime import UTC, datetime
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypedDict, overload

from sqlalchemy import Integer, Text, case, cast, func, literal_column, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.selectable import CTE
from sqlmodel import Session

from registry.db import reading_together
from registry.bulk import gc_paused
from registry.errors import GovpulseError
from registry.i18n import L
from registry.models import (
    Account,
    FetchOutcome,
    Organization,
    Patrol,
    Post,
    ScoreRun,
    Verdict,
)
from registry.orgs import find_org
from registry.scoring.history import FIGURES, verdicts_at
from registry.scoring.plans import plan_at
from registry.scoring.sql import in_ids
from registry.scoring.rules import CLOSED, DISPLAY_ORDER, FLAGGED, NOT_CHECKED, PASSING, SEVERITY
from registry.stretches import seen_at
from registry.timeutil import not_after_now, to_local
from registry.vocabulary import READ_OUTCOMES

ORG = Organization.__table__
ACC = Account.__table__
VER_HISTORY = Verdict.__table__
RUN = ScoreRun.__table__
OUT = FetchOutcome.__table__
PAT = Patrol.__table__
POST = Post.__table__

STATUS_ORDER = DISPLAY_ORDER
RETIRED = CLOSED
CLOSED_BUT_POSTING = "closed_but_posting"  # the scorer's flag on a merged or closed account that still posts


# ------------------------------------------------------------------------------------------ row shapes


class RunRow(TypedDict):
    id: int
    as_of: datetime
    created_at: datetime
    policy: dict[str, Any]
    summary: dict[str, Any]


class ScopeRow(TypedDict):
    org_id: int | None  # the unit asked for (--org), None = everything
    org_name: str | None
    anchor_id: int | None  # the unit whose children form the league table (None: the roots do)
    anchor_name: str | None


class CountRow(TypedDict):
    platform: str
    status: str
    count: int


class AccountRow(TypedDict):
    account_id: int
    name: str
    platform: str
    platform_id: str
    org_id: int
    unit: str  # path of the owning unit below the league level, "区教育局 / 第一中学"
    top_id: int
    top_name: str
    status: str
    prev_status: str | None  # the status of the account's previous verdict; None: its first verdict
    change: str | None  # the change the scorer stored with the verdict (see TransitionRow)
    registry_status: str  # the account's lifecycle status when judged (active, closing, merged, closed)
    flags: list[str]  # codes of the rules that fired beside the verdict (low_engagement, over_quota, ...)
    rule: str | None
    rule_zh: str | None
    rule_en: str | None
    threshold: str | None
    liveness_index: float | None
    index_basis: str | None
    last_post_at: datetime | None
    days_silent: int | None
    last_post_url: str | None
    posts_window: int | None
    originals_window: int | None
    median_engagement: float | None
    followers: int | None
    longest_gap_days: float | None
    contact_name: str | None  # the account's own contact in the registry (联系人, 电话)
    contact_phone: str | None


class ColumnRows(Sequence[AccountRow]):
    """The accounts held as columns (one list per key, as read), each row made as a dict only when asked
    for: a page reads most values whole, column by column, and shows a few thousand rows; a dict for
    each of a hundred thousand accounts was a tenth of its time. `at`: which rows, in which order (all,
    in the columns' order, when None)."""

    def __init__(self, columns: dict[str, list[Any]], at: list[int] | None = None) -> None:
        self.columns = columns
        self._at = at
        self._keys = tuple(columns)

    def __len__(self) -> int:
        if self._at is not None:
            return len(self._at)
        return len(next(iter(self.columns.values()))) if self.columns else 0

    @overload
    def __getitem__(self, i: int) -> AccountRow: ...

    @overload
    def __getitem__(self, i: slice) -> ColumnRows: ...

    def __getitem__(self, i: int | slice) -> AccountRow | ColumnRows:
        at = self._at if self._at is not None else range(len(self))
        if isinstance(i, slice):
            return ColumnRows(self.columns, list(at[i]))
        j = at[i]
        return dict(zip(self._keys, [column[j] for column in self.columns.values()], strict=True))  # type: ignore[return-value]

    def __iter__(self) -> Iterator[AccountRow]:
        columns = list(self.columns.values())
        if self._at is not None:
            columns = [list(map(column.__getitem__, self._at)) for column in columns]
        return map(dict, map(zip, repeat(self._keys), zip(*columns, strict=True)))  # type: ignore[arg-type]

    def take(self, at: Iterable[int]) -> ColumnRows:
        """The rows at positions `at` of this sequence, in that order."""
        at = list(at)
        return ColumnRows(self.columns, at if self._at is None else list(map(self._at.__getitem__, at)))


class UnitRow(TypedDict):
    top_id: int
    name: str
    accounts: int
    checked: int
    passing: int
    flagged: int
    unknown: int
    rate: float | None  # passing / checked, None when nothing was checked
    by_status: dict[str, int]
    prev_rate: float | None  # the same unit's rate in the previous run (None: not judged then)


class PlanRow(TypedDict):
    org_id: int
    unit: str
    top_id: int
    account_id: int
    name: str
    platform: str
    platform_id: str
    status: str | None
    action: str
    target_account_id: int | None
    target_name: str | None
    reason_zh: str
    reason_en: str
    numbers: dict[str, Any]


class ProblemRow(TypedDict):
    account_id: int
    name: str
    platform: str
    platform_id: str
    unit: str
    top_id: int
    status: str
    outcome: str | None  # None: never fetched before the run
    http_status: int | None
    reason: str | None
    source: str | None
    fetched_at: datetime | None


class SourceRow(TypedDict):
    platform: str
    source: str | None
    count: int
    first_fetch: datetime | None
    last_fetch: datetime | None


class TransitionRow(TypedDict):
    prev: str | None  # the account's previous verdict as the scorer stored it; None: its first verdict
    cur: str
    change: str | None  # as the scorer stored it (registry/scoring/history.py); None only in old rows
    count: int


class TrendRow(TypedDict):
    run_id: int
    as_of: datetime
    counts: dict[str, int]


@dataclass
class ReportData:
    run: RunRow
    prev_run: RunRow | None
    scope: ScopeRow
    patrol: dict[str, Any] | None
    retired: int
    counts: list[CountRow]
    compliance: dict[str, Any]
    transitions: list[TransitionRow]
    dropped: int
    trend: list[TrendRow]
    units: list[UnitRow]
    accounts: Sequence[AccountRow]  # a list of dicts, or the columns as read (ColumnRows)
    plan: list[PlanRow]
    problems: list[ProblemRow]
    sources: list[SourceRow]
    retired_posting: list[AccountRow] = field(default_factory=list)  # merged or closed, yet still posting
    prev_compliance: dict[str, Any] | None = None  # the previous run's figures over the same scope
    plan_by_account: dict[int, PlanRow] = field(default_factory=dict)

    def column(self, key: str) -> list[Any]:
        """One value of every account in service, in the order of `accounts`: as read (ColumnRows), or
        taken from the rows."""
        if isinstance(self.accounts, ColumnRows):
            return self.accounts.columns[key]
        return list(map(itemgetter(key), self.accounts))

    def take(self, at: list[int]) -> Sequence[AccountRow]:
        """The accounts at positions `at`, in that order (made as rows only when read, from columns)."""
        if isinstance(self.accounts, ColumnRows):
            return self.accounts.take(at)
        return list(map(self.accounts.__getitem__, at))

    @cached_property
    def flagged(self) -> Sequence[AccountRow]:
        """Flagged accounts, worst first (zombie, unreachable, dormant, shell; longest silence first), then
        by league unit, unit and name (sorted by keys made from columns, not a function per row)."""
        flagged = list(map(frozenset(FLAGGED).__contains__, self.column("status")))
        at = list(compress(range(len(flagged)), flagged))
        status, days, top_name, unit, name = (
            list(compress(self.column(key), flagged)) for key in ("status", "days_silent", "top_name", "unit", "name")
        )
        keys = list(
            zip(
                map(SEVERITY.__getitem__, status),
                [-(d if d is not None else 10**6) for d in days],
                top_name,
                unit,
                name,
                strict=True,
            )
        )
        return self.take([at[i] for i in sorted(range(len(at)), key=keys.__getitem__)])


# ------------------------------------------------------------------------------------------ runs, scope


def _run(row: Any) -> RunRow:
    return RunRow(
        id=row.id,
        as_of=row.as_of,
        created_at=row.created_at,
        policy=dict(row.policy or {}),
        summary=dict(row.summary or {}),
    )


RUN_HISTORY = 500  # score runs looked at when choosing the ones that cover a report's scope


def run_scope(run: RunRow) -> int | None:
    """The unit a run was limited to (`govpulse score --org`), None for a run over every account."""
    scope = run["policy"].get("scope")
    return scope.get("org_id") if isinstance(scope, dict) else None


def _ancestors_or_self(conn: Connection, org_id: int) -> set[int]:
    up = select(ORG.c.id, ORG.c.parent_id).where(ORG.c.id == org_id).cte("up", recursive=True)
    parent = ORG.alias("parent")
    up = up.union_all(select(parent.c.id, parent.c.parent_id).where(parent.c.id == up.c.parent_id))
    return set(conn.execute(select(up.c.id)).scalars())


def covering_runs(conn: Connection, scope: ScopeRow, as_of: datetime | None = None) -> list[RunRow]:
    """Runs judged as of `as_of` (default now) or earlier (newest first) that judged every account of the scope: runs
    over everything, or limited to the scope's unit or a unit above it."""
    q = select(RUN).where(RUN.c.as_of <= (as_of if as_of is not None else not_after_now()))
    runs = [_run(r) for r in conn.execute(q.order_by(RUN.c.as_of.desc(), RUN.c.id.desc()).limit(RUN_HISTORY))]
    unit = scope["org_id"] if scope["org_id"] is not None else scope["anchor_id"]
    above = _ancestors_or_self(conn, unit) if unit is not None else set()
    return [r for r in runs if run_scope(r) is None or run_scope(r) in above]


def resolve_scope(conn: Connection, org: str | None) -> ScopeRow:
    """`--org` as a unit's number, name or path (as everywhere in govpulse); None = every unit."""
    if org is None or not org.strip():
        roots = conn.execute(select(ORG.c.id, ORG.c.name).where(ORG.c.parent_id.is_(None)).limit(2)).all()
        # One root (a city's office): its children make the league table.
        anchor = roots[0] if len(roots) == 1 else None
        return ScopeRow(
            org_id=None,
            org_name=None,
            anchor_id=anchor.id if anchor else None,
            anchor_name=anchor.name if anchor else None,
        )
    with Session(bind=conn) as session:
        unit = find_org(session, org)
        return ScopeRow(org_id=unit.id, org_name=unit.name, anchor_id=unit.id, anchor_name=unit.name)


def org_tree(scope: ScopeRow) -> CTE:
    """Every unit in scope with its league unit (top_id, top_name) and its path below the anchor.

    The anchor itself is level 0 (its own league row, for accounts it owns directly); its children are
    level 1 and carry their own id down the tree. Without an anchor the roots are level 1.
    """
    o = ORG
    one: Any = literal_column("1")
    if scope["anchor_id"] is None:
        seed = select(
            o.c.id,
            o.c.id.label("top_id"),
            cast(o.c.name, Text).label("top_name"),
            cast(o.c.name, Text).label("path"),
            one.label("lvl"),
        ).where(o.c.parent_id.is_(None))
    else:
        is_anchor = o.c.id == scope["anchor_id"]
        seed = select(
            o.c.id,
            o.c.id.label("top_id"),
            cast(o.c.name, Text).label("top_name"),
            cast(o.c.name, Text).label("path"),
            case((is_anchor, literal_column("0")), else_=one).label("lvl"),
        ).where(or_(is_anchor, o.c.parent_id == scope["anchor_id"]))
    tree = seed.cte("org_tree", recursive=True)
    child = o.alias("child")
    step = select(
        child.c.id,
        tree.c.top_id,
        tree.c.top_name,
        cast(tree.c.path + " / " + child.c.name, Text),
        cast(tree.c.lvl + one, Integer),
    ).where(child.c.parent_id == tree.c.id, tree.c.lvl >= one)
    return tree.union_all(step)


def unit_parents(conn: Connection) -> dict[int, int | None]:
    """Every unit's parent (id -> parent id), for finding the report unit a row falls under."""
    return dict(conn.execute(select(ORG.c.id, ORG.c.parent_id)).all())


def top_of(parents: dict[int, int | None], tops: Iterable[int]) -> Callable[[int | None], int | None]:
    """The unit of `tops` that a unit falls under (itself or the nearest above it), None if none."""
    wanted = set(tops)

    def find(org: int | None) -> int | None:
        while org is not None and org not in wanted:
            org = parents.get(org)
        return org

    return find


def _in_scope(tree: CTE, verdict: Any) -> Any:
    """FROM verdicts JOIN account JOIN org_tree, for one run (verdicts()), accounts in service."""
    return (
        verdict.join(ACC, ACC.c.id == verdict.c.account_id).join(tree, tree.c.id == ACC.c.org_id),
        verdict.c.registry_status.not_in(RETIRED),
    )


def verdicts(conn: Connection, run_id: int) -> Any:
    """Every account's verdict in run `run_id`, as that run judged it (registry.scoring.history.verdicts_at:
    the history keeps only transitions)."""
    return verdicts_at(conn, run_id)


# ------------------------------------------------------------------------------------------ figures


def patrol_info(conn: Connection, run: RunRow) -> dict[str, Any] | None:
    """The latest patrol started before the run was made."""
    row = conn.execute(
        select(PAT.c.id, PAT.c.started_at, PAT.c.finished_at, PAT.c.status, PAT.c.accounts_total, PAT.c.accounts_done)
        .where(PAT.c.started_at <= run["created_at"])
        .order_by(PAT.c.started_at.desc(), PAT.c.id.desc())
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


def status_counts(conn: Connection, tree: CTE, run_id: int) -> list[CountRow]:
    """Counts per platform and status of run `run_id`'s accounts in scope and in service (when its rows
    are not read anyway: the report tallies them from its one pass)."""
    ver = verdicts(conn, run_id)
    frm, where = _in_scope(tree, ver)
    q = (
        select(ACC.c.platform, ver.c.status, func.count().label("n"))
        .select_from(frm)
        .where(where)
        .group_by(ACC.c.platform, ver.c.status)
    )
    return [CountRow(platform=r.platform, status=r.status, count=int(r.n)) for r in conn.execute(q)]


def compliance(counts: list[CountRow]) -> dict[str, Any]:
    """Totals and the compliance rate from status counts (see the module docstring)."""
    by_status: Counter[str] = Counter()
    by_platform: dict[str, Counter[str]] = defaultdict(Counter)
    for r in counts:
        by_status[r["status"]] += r["count"]
        by_platform[r["platform"]][r["status"]] += r["count"]

    def figures(c: Counter[str]) -> dict[str, Any]:
        total = sum(c.values())
        checked = total - sum(c[s] for s in NOT_CHECKED)
        passing = sum(c[s] for s in PASSING)
        return {
            "total": total,
            "checked": checked,
            "passing": passing,
            "flagged": sum(c[s] for s in FLAGGED),
            "unknown": sum(c[s] for s in NOT_CHECKED),
            "rate": passing / checked if checked else None,
            "by_status": dict(c),
        }

    return {**figures(by_status), "platforms": {p: figures(c) for p, c in sorted(by_platform.items())}}


def _rate(c: Counter[str]) -> float | None:
    checked = sum(c.values()) - sum(c[s] for s in NOT_CHECKED)
    return sum(c[s] for s in PASSING) / checked if checked else None


def unit_league(
    current: dict[tuple[int, str], Counter[str]], prev: dict[int, Counter[str]] | None = None
) -> list[UnitRow]:
    """One row per league unit from its counts per status: accounts, checked, passing, flagged, unknown,
    rate, counts per status and the previous run's rate; worst rate first (the units to call), then the
    most flagged."""
    prev_rates = {top: _rate(c) for top, c in (prev or {}).items()}
    rows = []
    for (top_id, name), c in current.items():
        accounts, unknown = sum(c.values()), sum(c[s] for s in NOT_CHECKED)
        rows.append(
            UnitRow(
                top_id=top_id,
                name=name,
                accounts=accounts,
                checked=accounts - unknown,
                passing=sum(c[s] for s in PASSING),
                flagged=sum(c[s] for s in FLAGGED),
                unknown=unknown,
                rate=_rate(c),
                by_status=dict(c),
                prev_rate=prev_rates.get(top_id),
            )
        )
    rows.sort(key=lambda u: (u["rate"] is None, u["rate"] or 0, -u["flagged"], -u["accounts"], u["name"]))
    return rows


def _last_post_url(ver: Any) -> Any:
    """The link of the post the verdict's last update comes from (an index seek per account)."""
    return (
        select(POST.c.url)
        .where(POST.c.account_id == ver.c.account_id, POST.c.published_at == ver.c.last_post_at)
        .order_by(POST.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _flags_reader() -> Callable[[Sequence[Any]], list[list[str]]]:
    """A column of verdicts' flags (JSON lists) from their text, each distinct text parsed once and its
    list shared by the rows that carry it (nearly every account carries one of a few lists; the report
    only reads them)."""
    parsed: dict[Any, list[str]] = {None: []}

    def one(value: Any) -> list[str]:
        if not isinstance(value, str | None):  # a driver that decodes JSON itself
            return list(value)
        flags = parsed.get(value)
        if flags is None:
            flags = parsed[value] = json.loads(value)
        return flags

    def read(values: Sequence[Any]) -> list[list[str]]:
        try:
            for text in set(values).difference(parsed):
                parsed[text] = one(text)
        except TypeError:  # values that are lists already
            return list(map(one, values))
        return list(map(parsed.__getitem__, values))

    return read


SHARED_VALUES = (
    "days_silent",
    "posts_window",
    "originals_window",
    "liveness_index",
    "contact_name",
    "platform",
    "status",
    "prev_status",
    "change",
    "registry_status",
    "rule",
    "rule_zh",
    "rule_en",
    "threshold",
    "index_basis",
)


def _aware(value: Any) -> datetime | None:
    """A stored time as the driver gives it (SQLite: UTC text; PostgreSQL: a datetime), aware UTC, as
    TZDateTime reads it (the rows of a run are read without SQLAlchemy's processing)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _aware_column(values: list[Any]) -> list[datetime | None]:
    """_aware over a column: SQLite's UTC text parsed with its offset, one C call per value (a hundred
    thousand per report; the parse gives the UTC singleton, as _aware does); anything else (PostgreSQL's
    datetimes, a text that carries its own offset) value by value."""
    parse = datetime.fromisoformat
    try:
        return [None if v is None else parse(v + "+00:00") for v in values]
    except (TypeError, ValueError):
        return list(map(_aware, values))


def _latest_outcome_id(run: RunRow, ver: Any) -> Any:
    """Correlated subquery: the id of the account's latest fetch outcome known when the run was made."""
    f = OUT.alias("f")
    return (
        select(f.c.id)
        .where(f.c.account_id == ver.c.account_id, f.c.fetched_at <= run["created_at"])
        .order_by(f.c.fetched_at.desc(), f.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


# The account's latest fetch outcome known when the run was made, read with its row (crawl problems and
# the sources are tallied from it): (outcome id, outcome, http status, reason, source, fetched at as stored).
Fetch = tuple[int | None, str | None, int | None, str | None, str | None, Any]


CHUNK = 5000  # rows read from the driver at a time


def _driver_chunks(conn: Connection, stmt: Any) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of a statement as the driver gives them (SQLAlchemy binds the parameters, but makes no
    row objects and processes no values), a chunk at a time: a hundred thousand are never all held."""
    result = conn.execute(stmt)
    try:
        cursor = result.cursor  # type: ignore[attr-defined]
        while chunk := cursor.fetchmany(CHUNK):
            yield chunk
    finally:
        result.close()


@dataclass
class RunPass:
    """What one pass over the run's accounts in scope gives: the rows in service (for the table), the
    merged and closed ones apart, and from the accounts' latest fetch outcomes the crawl problems and
    the sources."""

    accounts: Sequence[AccountRow]  # as dicts, or as columns (account_rows' as_columns)
    retired: list[AccountRow]
    problems: list[ProblemRow]
    sources: list[SourceRow]
    tally: Tally  # their counts, taken chunk by chunk


def unit_paths(conn: Connection, tree: CTE) -> dict[int, tuple[str, int, str]]:
    """Each unit in scope: its path below the league level, its league unit's id and name."""
    return {row[0]: row[1:] for row in conn.execute(select(tree.c.id, tree.c.path, tree.c.top_id, tree.c.top_name))}


def account_rows(
    conn: Connection,
    tree: CTE,
    run: RunRow,
    units: dict[int, tuple[str, int, str]],
    *,
    nulls_first: bool = True,
    as_columns: bool = False,
) -> RunPass:
    """Every account in scope with its verdict, evidence, previous status and latest fetch outcome (for
    the interactive table, the crawl problems and the sources), and apart the merged and closed ones:
    all from one pass over the run, read as the driver gives them (a hundred thousand rows). The crawl
    problems are ordered as the database would (`nulls_first`: never fetched first, as SQLite sorts).
    `as_columns`: the rows in service are held as the columns read (ColumnRows), not as a dict each."""
    ver = verdicts(conn, run["id"])
    frm = (
        ver.join(ACC, ACC.c.id == ver.c.account_id)
        .join(tree, tree.c.id == ACC.c.org_id)
        .outerjoin(OUT, OUT.c.id == _latest_outcome_id(run, ver))
    )
    q = (
        select(
            ver.c.account_id,
            ACC.c.name,
            ACC.c.platform,
            ACC.c.platform_id,
            ACC.c.org_id,
            # The unit's path and league unit: filled in from the tree read apart (a few thousand units,
            # the same strings for all their accounts, not a hundred thousand copies made by the driver).
            literal_column("NULL").label("unit"),
            literal_column("NULL").label("top_id"),
            literal_column("NULL").label("top_name"),
            ver.c.status,
            ver.c.previous_status.label("prev_status"),
            ver.c.change,
            ver.c.registry_status,
            cast(ver.c.flags, Text).label("flags"),
            ver.c.rule,
            ver.c.rule_zh,
            ver.c.rule_en,
            ver.c.threshold,
            ver.c.liveness_index,
            ver.c.index_basis,
            ver.c.last_post_at,
            _last_post_url(ver).label("last_post_url"),
            ver.c.days_silent,
            # The evidence's figures, as columns of the latest verdict (read out of a transition's evidence).
            *(ver.c[column] for column, _key, _whole in FIGURES),
            ACC.c.contact_name,
            ACC.c.contact_phone,
            OUT.c.id.label("outcome_id"),
            OUT.c.outcome,
            OUT.c.http_status,
            OUT.c.reason,
            OUT.c.source,
            seen_at(OUT, run["created_at"]).label("fetched_at"),
        )
        .select_from(frm)
        .order_by(tree.c.path, ACC.c.platform, ACC.c.name, ver.c.account_id)
    )
    names = [c.name for c in q.selected_columns]
    keys = names[: names.index("outcome_id")]
    n = len(keys)
    shared = [keys.index(k) for k in SHARED_VALUES] + list(range(n + 1, len(names) - 1))  # and the outcome's
    at_org, at_unit, at_top, at_top_name = (keys.index(k) for k in ("org_id", "unit", "top_id", "top_name"))
    seen: dict[int, dict[Any, Any]] = {i: {} for i in shared}
    at_flags, at_last, at_registry = keys.index("flags"), keys.index("last_post_at"), keys.index("registry_status")
    read_flags = _flags_reader()
    accounts: list[AccountRow] = []
    tally = Tally()
    retired: list[AccountRow] = []
    problems: list[ProblemRow] = []
    spans: dict[tuple[str, str | None], list[Any]] = {}
    kept: dict[str, list[Any]] = {k: [] for k in keys} if as_columns else {}
    for chunk in _driver_chunks(conn, q):
        # Column by column (C loops over the values, not Python code per value and row), a chunk at a
        # time: the rows as the driver gives them are never all held at once.
        columns: list[Any] = list(zip(*chunk, strict=True))
        del chunk
        # Values most rows repeat (a unit's path, the status, the rule's text) held once, not once per
        # row: a hundred thousand rows would otherwise hold a million copies of a few hundred strings.
        # A cache per column, so that 1 and 1.0 stay apart.
        for i, cache in seen.items():
            columns[i] = list(map(cache.setdefault, columns[i], columns[i]))
        columns[at_unit], columns[at_top], columns[at_top_name] = zip(
            *map(units.__getitem__, columns[at_org]), strict=True
        )
        columns[at_flags] = read_flags(columns[at_flags])
        columns[at_last] = _aware_column(columns[at_last])
        if not set(RETIRED).isdisjoint(columns[at_registry]):  # the merged and closed apart
            in_service = [registry not in RETIRED for registry in columns[at_registry]]
            retired += _rows(keys, columns[:n], [not serving for serving in in_service])
            columns = [list(compress(column, in_service)) for column in columns]
        by_key = dict(zip(keys, columns, strict=False))
        if as_columns:
            for k, column in kept.items():
                column += by_key[k]
        else:
            accounts += _rows(keys, columns[:n])
        tally.add(by_key)
        # The latest fetches: crawl problems among the rows whose outcome is missing or not a read (found
        # by a set lookup per value; crawl_problems applies the exact test), and the sources.
        outcome_ids, outcomes, _status, _reason, sources, fetched_at = columns[n:]
        not_read = {o for o in set(outcomes) if o is None or o not in READ_OUTCOMES}
        suspect = list(map(not_read.__contains__, outcomes))
        if any(suspect):
            fetches: list[Fetch] = list(compress(zip(*columns[n:], strict=True), suspect))
            problems += crawl_problems(_rows(keys, columns[:n], suspect), fetches)
        _tally_sources(spans, by_key["platform"], sources, fetched_at)
    problems.sort(key=lambda p: ((p["outcome"] is None) != nulls_first, p["outcome"] or ""))
    return RunPass(ColumnRows(kept) if as_columns else accounts, retired, problems, sources_used(spans), tally)


def _rows(keys: list[str], columns: Sequence[Sequence[Any]], picked: list[bool] | None = None) -> list[AccountRow]:
    """Rows as dicts from columns of values (those `picked`, when given)."""
    if picked is not None:
        columns = [list(compress(column, picked)) for column in columns]
    return list(map(dict, map(zip, repeat(keys), zip(*columns, strict=True))))  # type: ignore[arg-type]


@dataclass
class Tally:
    """The run's counts per platform and status, its transitions, its counts per league unit and each
    account's status, taken from its rows in service a chunk of columns at a time (no second pass over
    the verdicts, no column kept)."""

    by_platform: Counter[tuple[str, str]] = field(default_factory=Counter)
    moves: Counter[tuple[str | None, str, str | None]] = field(default_factory=Counter)
    units: dict[tuple[int, str], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    statuses: dict[int, str] = field(default_factory=dict)

    def add(self, columns: dict[str, Any]) -> None:
        status = columns["status"]
        self.by_platform.update(zip(columns["platform"], status, strict=True))
        self.moves.update(zip(columns["prev_status"], status, columns["change"], strict=True))
        for (top_id, top_name, st), n in Counter(
            zip(columns["top_id"], columns["top_name"], status, strict=True)
        ).items():
            self.units[(top_id, top_name)][st] += n
        self.statuses.update(zip(columns["account_id"], status, strict=True))

    def by_status(self) -> Counter[str]:
        by_status: Counter[str] = Counter()
        for (_, status), n in self.by_platform.items():
            by_status[status] += n
        return by_status

    def counts(self) -> list[CountRow]:
        return [CountRow(platform=p, status=st, count=n) for (p, st), n in self.by_platform.items()]

    def transitions(self) -> list[TransitionRow]:
        return [
            TransitionRow(prev=prev, cur=cur, change=change, count=n) for (prev, cur, change), n in self.moves.items()
        ]


def _earlier_runs(
    conn: Connection, tree: CTE, run_ids: list[int], prev_id: int | None
) -> tuple[dict[int, dict[tuple[int, str, str, str], int]], array[int]]:
    """Counts per league unit, platform and status of earlier runs (the trend's and the previous one),
    and the accounts the previous run judged (in scope, in service), from one read of the history in
    scope: a status or registry status never changes without a history row, so each account's verdict
    at a run is its latest history row up to that run (each row holds from its run until the account's
    next)."""
    if not run_ids:
        return {}, array("q")
    h = VER_HISTORY
    q = (
        select(
            h.c.account_id, h.c.run_id, h.c.status, h.c.registry_status, ACC.c.platform, tree.c.top_id, tree.c.top_name
        )
        .select_from(h.join(ACC, ACC.c.id == h.c.account_id).join(tree, tree.c.id == ACC.c.org_id))
        .where(h.c.run_id <= max(run_ids))
        .order_by(h.c.account_id, h.c.run_id)
    )
    runs = sorted(run_ids)
    # Each history row adds its cell to the runs from its own until the account's next row: +1 at the
    # first run it holds, -1 at the first run the next row holds, summed along the runs afterwards.
    steps: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0] * (len(runs) + 1))
    prev_at = bisect_right(runs, prev_id) - 1 if prev_id is not None else -1
    at_prev = array("q")  # (ids as machine integers: a hundred thousand of them)
    held: Any = None  # the row before, whose holding ends where the account's next row begins

    def add(row: Any, until: int | None) -> None:
        account_id, run_id, status, registry, platform, top_id, top_name = row
        if registry in RETIRED:
            return
        first = bisect_left(runs, run_id)
        last = len(runs) if until is None else bisect_left(runs, until)
        if first < last:
            cell = steps[(top_id, top_name, platform, status)]
            cell[first] += 1
            cell[last] -= 1
            if first <= prev_at < last:
                at_prev.append(account_id)

    for chunk in _driver_chunks(conn, q):
        for row in chunk:
            if held is not None:
                add(held, row[1] if row[0] == held[0] else None)
            held = row
    if held is not None:
        add(held, None)
    counts: dict[int, dict[tuple[int, str, str, str], int]] = defaultdict(lambda: defaultdict(int))
    for key, cell in steps.items():
        n = 0
        for k, run_id in enumerate(runs):
            n += cell[k]
            if n:
                counts[run_id][key] += n
    return counts, at_prev


def plan_items(conn: Connection, tree: CTE, run_id: int) -> list[PlanRow]:
    """The run's consolidation plan for units in scope, grouped by unit then platform (each account's
    status is filled in by with_statuses)."""
    tgt = ACC.alias("tgt")
    unit_tree = tree.alias("unit_tree")
    plan = plan_at(conn, run_id)
    frm = (
        plan.join(ACC, ACC.c.id == plan.c.account_id)
        .join(unit_tree, unit_tree.c.id == plan.c.org_id)
        .outerjoin(tgt, tgt.c.id == plan.c.target_account_id)
    )
    q = (
        select(
            plan.c.org_id,
            unit_tree.c.path.label("unit"),
            unit_tree.c.top_id,
            plan.c.account_id,
            ACC.c.name,
            ACC.c.platform,
            ACC.c.platform_id,
            literal_column("NULL").label("status"),
            plan.c.action,
            plan.c.target_account_id,
            tgt.c.name.label("target_name"),
            plan.c.reason_zh,
            plan.c.reason_en,
            plan.c.numbers,
        )
        .select_from(frm)
        .where(plan.c.run_id == run_id)
        .order_by(unit_tree.c.path, ACC.c.platform, plan.c.action, ACC.c.name, plan.c.id)
    )
    return [PlanRow(**r._asdict()) for r in conn.execute(q)]  # type: ignore[typeddict-item]


def with_statuses(conn: Connection, run_id: int, rows: list[PlanRow], statuses: dict[int, str]) -> list[PlanRow]:
    """The plan's rows with each account's status in the run (`statuses`: those of the run's rows already
    read; any other looked up)."""
    others = sorted({r["account_id"] for r in rows} - statuses.keys())
    if others:  # an account of the plan owned outside the scope's tree: its status read apart
        ver = verdicts(conn, run_id)
        q_other = select(ver.c.account_id, ver.c.status).where(in_ids(ver.c.account_id, others, conn.dialect.name))
        statuses = {**statuses, **dict(conn.execute(q_other).all())}
    for r in rows:
        r["status"] = statuses.get(r["account_id"])
    return rows


def crawl_problems(accounts: list[AccountRow], fetches: list[Fetch]) -> list[ProblemRow]:
    """Accounts whose latest fetch failed (or that were never fetched), with the outcome and its reason,
    in the order of `accounts`."""
    return [
        ProblemRow(
            account_id=r["account_id"],
            name=r["name"],
            platform=r["platform"],
            platform_id=r["platform_id"],
            unit=r["unit"],
            top_id=r["top_id"],
            status=r["status"],
            outcome=outcome,
            http_status=http_status,
            reason=reason,
            source=source,
            fetched_at=_aware(fetched_at),
        )
        for r, (outcome_id, outcome, http_status, reason, source, fetched_at) in zip(accounts, fetches, strict=True)
        if outcome_id is None or (outcome is not None and outcome not in READ_OUTCOMES)
    ]


def _tally_sources(
    spans: dict[tuple[str, str | None], list[Any]],
    platforms: Sequence[str],
    sources: Sequence[str | None],
    fetched_at: Sequence[Any],
) -> None:
    """Count the accounts per platform and source of their latest fetch, with the span of the fetch
    times (stored times compared as stored: SQLite's text sorts as the times do), from their columns."""
    times: defaultdict[tuple[str, str | None], list[Any]] = defaultdict(list)
    for key, at in zip(zip(platforms, sources, strict=True), fetched_at, strict=True):
        times[key].append(at)
    for key, ats in times.items():
        span = spans.setdefault(key, [0, None, None])
        span[0] += len(ats)
        if known := [at for at in ats if at is not None]:
            lo, hi = min(known), max(known)
            if span[1] is None or lo < span[1]:
                span[1] = lo
            if span[2] is None or hi > span[2]:
                span[2] = hi


def sources_used(spans: dict[tuple[str, str | None], list[Any]]) -> list[SourceRow]:
    """How the accounts in scope were last fetched: per platform and source, with the fetch time span."""
    return [
        SourceRow(platform=platform, source=source, count=n, first_fetch=_aware(lo), last_fetch=_aware(hi))
        for (platform, source), (n, lo, hi) in sorted(spans.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]


# ------------------------------------------------------------------------------------------ everything


def _no_run(conn: Connection, as_of: datetime | None) -> GovpulseError:
    if conn.execute(select(func.count()).select_from(RUN)).scalar_one() == 0:
        return GovpulseError(
            L("数据库中还没有研判结果, 无法生成报告", "no score run in the database: nothing to report"),
            hint=L("先运行 govpulse score", "run `govpulse score` first"),
        )
    local = to_local(as_of)
    when = L(f"截至 {local:%Y-%m-%d %H:%M} ", f"as of {local:%Y-%m-%d %H:%M} ") if local else ""
    return GovpulseError(
        L(f"没有{when}覆盖该范围的研判结果", f"no score run {when}covers this scope"),
        hint=L(
            "对该单位或全部单位运行 govpulse score, 或换一个 --as-of",
            "run `govpulse score` for this unit or all units, or choose another --as-of",
        ),
    )


def load_report_data(
    engine: Engine,
    *,
    org: str | None = None,
    as_of: datetime | None = None,
    trend_runs: int = 12,
    as_columns: bool = False,
) -> ReportData:
    """All the rows of one report, read on one snapshot of the database: the run's accounts on one
    connection while the history (trend, previous run) and the plan are read on a second one in a
    thread (the database works on one while Python works on the other's rows). `as_columns`: the
    accounts are held as the columns read (ColumnRows), for a page that reads most of them whole."""
    with gc_paused(), reading_together(engine, 2) as (conn, side):
        scope = resolve_scope(conn, org)
        runs = covering_runs(conn, scope, as_of)
        if not runs:
            raise _no_run(conn, as_of)
        run, prev = runs[0], (runs[1] if len(runs) > 1 else None)
        prev_id = prev["id"] if prev else None
        shown = runs[:trend_runs]
        earlier_ids = sorted({r["id"] for r in shown[1:]} | ({prev_id} if prev_id is not None else set()))

        def beside() -> tuple[Any, list[PlanRow]]:
            tree = org_tree(scope)  # a statement of its own for this thread
            return _earlier_runs(side, tree, earlier_ids, prev_id), plan_items(side, tree, run["id"])

        # The unit tree before the thread starts: a statement of many short steps waits for Python's lock
        # at each step while the other thread holds it (three times as long, read beside).
        tree = org_tree(scope)
        units = unit_paths(conn, tree)
        with ThreadPoolExecutor(1) as pool:
            read_beside = pool.submit(beside)
            run_pass = account_rows(
                conn, tree, run, units, nulls_first=conn.dialect.name != "postgresql", as_columns=as_columns
            )
            (earlier, at_prev), plan = read_beside.result()
        accounts, retired = run_pass.accounts, run_pass.retired
        tally = run_pass.tally
        counts, moves, unit_counts = tally.counts(), tally.transitions(), tally.units
        statuses = tally.statuses  # with the merged and closed below: every account the run judged
        statuses.update((r["account_id"], r["status"]) for r in retired)
        dropped = len(at_prev) - sum(map(statuses.__contains__, at_prev))
        run_status: dict[int, Counter[str]] = defaultdict(Counter)
        for run_id, cells in earlier.items():
            for (_, _, _, status), n in cells.items():
                run_status[run_id][status] += n
        run_status[run["id"]] = Counter(tally.by_status())
        prev_cells = earlier.get(prev_id, {}) if prev_id is not None else {}
        prev_units: dict[int, Counter[str]] = defaultdict(Counter)
        for (top_id, _, _, status), n in prev_cells.items():
            prev_units[top_id][status] += n
        prev_counts: Counter[tuple[str, str]] = Counter()
        for (_, _, platform, status), n in prev_cells.items():
            prev_counts[(platform, status)] += n
        plan = with_statuses(conn, run["id"], plan, statuses)
        plan_by_account: dict[int, PlanRow] = {}
        for item in plan:
            plan_by_account.setdefault(item["account_id"], item)
        return ReportData(
            run=run,
            prev_run=prev,
            scope=scope,
            patrol=patrol_info(conn, run),
            retired=len(retired),
            counts=counts,
            compliance=compliance(counts),
            transitions=moves,
            dropped=dropped,
            trend=[
                TrendRow(run_id=r["id"], as_of=r["as_of"], counts=dict(run_status[r["id"]])) for r in reversed(shown)
            ],
            units=unit_league(unit_counts, prev_units if prev_id is not None else None),
            accounts=accounts,
            plan=plan,
            problems=run_pass.problems,
            sources=run_pass.sources,
            retired_posting=[r for r in retired if CLOSED_BUT_POSTING in r["flags"]],
            plan_by_account=plan_by_account,
            prev_compliance=compliance([CountRow(platform=p, status=st, count=n) for (p, st), n in prev_counts.items()])
            if prev_id is not None
            else None,
        )
