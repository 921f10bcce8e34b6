"""All tables, one class per concept.

No `from __future__ import annotations` here: it breaks SQLModel relationships.
Times are aware UTC (TZDateTime). Platform ids are strings (Toutiao ids overflow floats).
Sections: roster, patrol, scoring, scheduler.
"""

from datetime import date, datetime
from typing import Any, ClassVar, Optional

import sqlalchemy as sa
from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from registry.timeutil import utcnow
from registry.types import TZDateTime

# Enumerations are kept as plain strings in the database (portable, readable in SQL); the allowed
# values live in registry.vocabulary (re-exported here for the modules that name them with the tables).
from registry.vocabulary import (  # noqa: F401
    ACCOUNT_STATUSES,
    ORG_LEVELS,
    OUTCOMES,
    PLATFORMS,
    VERDICT_STATUSES,
    GROUP_PLATFORMS,
    GROUP_STATUSES,
    APP_KINDS,
    APP_STATUSES,
    APP_DUTIES,
)


# Named constraints, so that migrations (batch mode on SQLite) can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Table(SQLModel):
    """The base of every table. SQLAlchemy gives each its __table__; declared here for the type checker."""

    __table__: ClassVar[sa.Table]


def _ts(**kw: Any) -> Any:
    return Field(sa_type=TZDateTime, **kw)


# ---------------------------------------------------------------------------------------------- roster


class Organization(Table, table=True):
    """主办单位: a unit; units form a tree (district > department or street > community)."""

    __tablename__ = "organization"
    __table_args__ = (UniqueConstraint("parent_id", "name", name="uq_organization_parent_name"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=100)
    parent_id: Optional[int] = Field(default=None, foreign_key="organization.id", index=True)
    level: str = Field(default="other", max_length=20)
    region_code: Optional[str] = Field(default=None, max_length=12)
    headcount: Optional[int] = None
    notes: Optional[str] = None
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class Account(Table, table=True):
    """账号: one account on one platform, identified by the platform's id."""

    __tablename__ = "account"
    __table_args__ = (UniqueConstraint("platform", "platform_id", name="uq_account_platform_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20, index=True)
    platform_id: str = Field(max_length=200)
    name: str = Field(max_length=100)
    org_id: int = Field(foreign_key="organization.id", index=True)
    category: Optional[str] = Field(default=None, max_length=50)
    status: str = Field(default="active", max_length=20, index=True)
    opened_on: Optional[date] = None
    status_changed_on: Optional[date] = None  # when it became closing / merged / closed
    status_reason: Optional[str] = None
    merged_into_id: Optional[int] = Field(default=None, foreign_key="account.id")
    filing_no: Optional[str] = Field(default=None, max_length=100)  # 备案编号
    contact_name: Optional[str] = Field(default=None, max_length=50)
    contact_phone: Optional[str] = Field(default=None, max_length=50)
    verified: Optional[bool] = None
    # 主账号: the unit's main account on its platform, named by the office; the plan keeps it.
    is_main: Optional[bool] = None
    notes: Optional[str] = None
    # Source the patrol uses: NULL = the platform route from the configuration; else an RSS/Atom URL.
    feed_url: Optional[str] = Field(default=None, max_length=2000)
    # When the scheduler should next patrol it (spreading the load over the day).
    next_due_at: Optional[datetime] = _ts(default=None, index=True)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class AuditEntry(Table, table=True):
    """Every change to a unit or an account: when, who, which fields from what to what."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = _ts(default_factory=utcnow)
    actor: str = Field(max_length=100)
    entity: str = Field(max_length=20)  # "organization" | "account" | "work_group" | "gov_app"
    entity_id: int
    action: str = Field(max_length=20)  # create, update, delete, close, merge, import
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class WorkGroup(Table, table=True):
    """工作群: a chat group a unit runs for its work (WeChat, WeCom, DingTalk, QQ), counted against the
    unit's quota; a temporary group (临时专班) has an end date and is dissolved when its work ends."""

    __tablename__ = "work_group"
    __table_args__ = (UniqueConstraint("org_id", "platform", "name", name="uq_work_group_org_platform_name"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organization.id", index=True)
    platform: str = Field(max_length=20)  # one of GROUP_PLATFORMS
    name: str = Field(max_length=100)
    category: Optional[str] = Field(default=None, max_length=50)  # 工作类, 临时专班, 通知类, ...
    temporary: bool = False
    ends_on: Optional[date] = None  # required when temporary
    owner: Optional[str] = Field(default=None, max_length=50)  # 群主 / 管理员
    members: Optional[int] = None
    status: str = Field(default="active", max_length=20)  # one of GROUP_STATUSES
    status_changed_on: Optional[date] = None
    status_reason: Optional[str] = Field(default=None, max_length=500)
    merged_into_id: Optional[int] = Field(default=None, foreign_key="work_group.id")
    notes: Optional[str] = None
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class GovApp(Table, table=True):
    """政务应用: an app, mini program or quick app a unit runs, with its filing number and the duties it
    imposes on its users (check-in, ranking...), and the public notice of its closure."""

    __tablename__ = "gov_app"
    __table_args__ = (UniqueConstraint("org_id", "kind", "name", name="uq_gov_app_org_kind_name"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organization.id", index=True)
    kind: str = Field(max_length=20)  # one of APP_KINDS
    name: str = Field(max_length=100)
    filing_no: Optional[str] = Field(default=None, max_length=100)  # 备案编号
    duties: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # APP_DUTIES
    status: str = Field(default="active", max_length=20)  # one of APP_STATUSES
    closed_on: Optional[date] = None
    closure_notice: Optional[str] = Field(default=None, max_length=500)  # where the closure was announced
    notes: Optional[str] = None
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


# ---------------------------------------------------------------------------------------------- patrol


class Patrol(Table, table=True):
    """巡查: one run over a set of accounts (one Scrapy crawl)."""

    __tablename__ = "patrol"

    id: Optional[int] = Field(default=None, primary_key=True)
    started_at: datetime = _ts(default_factory=utcnow)
    finished_at: Optional[datetime] = _ts(default=None)
    status: str = Field(default="running", max_length=20)  # running, finished, failed, aborted
    scope: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    accounts_total: int = 0
    accounts_done: int = 0
    pid: Optional[int] = None
    pid_start: Optional[str] = Field(default=None, max_length=80)  # tells the crawl from a later pid owner
    exit_code: Optional[int] = None
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PatrolShard(Table, table=True):
    """A slice of a patrol's accounts of one platform (ids first..last of its scope), crawled as one job
    of a distributed patrol. Its state is that of its job in procrastinate's queue (job_id)."""

    __tablename__ = "patrol_shard"

    id: Optional[int] = Field(default=None, primary_key=True)
    patrol_id: int = Field(foreign_key="patrol.id", index=True)
    platform: str = Field(max_length=20)
    number: int  # 1, 2, ... within the patrol
    first_account_id: int
    last_account_id: int
    accounts_total: int
    job_id: Optional[int] = Field(default=None, sa_type=BigInteger, index=True)
    host: Optional[str] = Field(default=None, max_length=200)  # the worker running it, or that last ran it
    worker_id: Optional[int] = Field(default=None, sa_type=BigInteger)
    attempts: int = 0  # times a worker started it
    # Hosts whose worker died holding it (found stalled and re-queued), oldest first.
    dropped_by: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    started_at: Optional[datetime] = _ts(default=None)
    finished_at: Optional[datetime] = _ts(default=None)
    message: Optional[str] = Field(default=None, max_length=2000)


class PatrolHost(Table, table=True):
    """A worker of distributed patrols, one row per platform it serves (each is a procrastinate worker of
    its own, whose heartbeat procrastinate keeps)."""

    __tablename__ = "patrol_host"

    worker_id: int = Field(primary_key=True, sa_type=BigInteger)
    name: str = Field(max_length=200)  # --egress, or the host name
    hostname: str = Field(max_length=200)
    pid: int
    platform: str = Field(max_length=20)
    bind_address: Optional[str] = Field(default=None, max_length=100)
    started_at: datetime = _ts(default_factory=utcnow)


class FetchOutcome(Table, table=True):
    """The outcome of an account's visits: one patrol's, with the HTTP status and a short reason, or a
    stretch of identical outcomes of consecutive finished patrols folded into one row when stored
    (registry.observations.store_visits): `fetched_at` is then the stretch's first visit,
    `last_fetched_at` its latest, `visits` how many, and `patrol_id` the latest visit's patrol."""

    __tablename__ = "fetch_outcome"
    # uq_outcome_patrol_account serves the lookups by patrol and ix_outcome_scoring (below) those by
    # account and time: one row per account per patrol is the store's largest growth, so no index more.
    __table_args__ = (UniqueConstraint("patrol_id", "account_id", name="uq_outcome_patrol_account"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    patrol_id: int = Field(foreign_key="patrol.id")
    account_id: int = Field(foreign_key="account.id")
    fetched_at: datetime = _ts(default_factory=utcnow)
    outcome: str = Field(max_length=20)  # one of OUTCOMES
    http_status: Optional[int] = None
    reason: Optional[str] = Field(default=None, max_length=500)
    source: str = Field(default="api", max_length=10)  # "api" | "feed"
    url: Optional[str] = Field(default=None, max_length=2000)  # without credentials
    pages: int = 0
    posts_seen: int = 0
    posts_new: int = 0
    # A stretch (visits > 1): its latest visit (None: a single visit, at fetched_at) and how many.
    last_fetched_at: Optional[datetime] = _ts(default=None)
    visits: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class Post(Table, table=True):
    """更新: one post as the platform reported it. (account_id, platform_post_id) is unique."""

    __tablename__ = "post"
    __table_args__ = (
        UniqueConstraint("account_id", "platform_post_id", name="uq_post_account_platform_post"),
        Index("ix_post_account_published", "account_id", "published_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    platform_post_id: str = Field(max_length=100)
    published_at: Optional[datetime] = _ts(default=None)  # None when the platform's date was unreadable
    published_raw: Optional[str] = Field(default=None, max_length=100)
    first_seen_at: datetime = _ts(default_factory=utcnow)
    last_seen_at: datetime = _ts(default_factory=utcnow)
    title: Optional[str] = Field(default=None, max_length=500)
    text: Optional[str] = Field(default=None, max_length=2000)  # truncated plain text
    url: Optional[str] = Field(default=None, max_length=2000)
    is_pinned: bool = False
    is_repost: bool = False
    # Engagement: None = the source does not give it (missing is not zero).
    reposts: Optional[int] = None
    comments: Optional[int] = None
    likes: Optional[int] = None
    reads: Optional[int] = None
    counts_raw: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON))  # approximate raw texts
    flags: Optional[list[str]] = Field(default=None, sa_column=Column(JSON))  # future_clamped, bad_count, ...
    content_hash: Optional[str] = Field(default=None, max_length=64, index=True)  # normalised title/text


class PostPeriod(Table, table=True):
    """An account's dated posts of one period (registry.scoring.periods), kept with the posts: what the scorer
    reads instead of every post of its window. Lists are aligned, one entry per post."""

    __tablename__ = "post_period"
    # Rows stored in key order: an account's periods lie together, read by one seek.
    __table_args__ = {"sqlite_with_rowid": False}

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    period: int = Field(primary_key=True)  # floor(epoch seconds / PERIOD_SECONDS) of published_at
    posts: int
    originals: int
    engaged: int  # posts whose source gave engagement
    newest: int = Field(sa_column=Column(BigInteger, nullable=False))  # epoch seconds, pinned posts included
    times: str = Field(sa_column=Column(sa.Text, nullable=False))  # epoch seconds, comma-separated
    engagement: str = Field(sa_column=Column(sa.Text, nullable=False))  # comma-separated, -1: not given
    reposts: str = Field(sa_column=Column(sa.Text, nullable=False))  # "1" repost, "0" original, per post
    hashes: str = Field(sa_column=Column(sa.Text, nullable=False))  # content_hash cut to 12, spaces: none


class AccountSnapshot(Table, table=True):
    """The account as one patrol saw it: followers, totals, name."""

    __tablename__ = "account_snapshot"
    __table_args__ = (Index("ix_snapshot_account_taken", "account_id", "taken_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    patrol_id: Optional[int] = Field(default=None, foreign_key="patrol.id")
    taken_at: datetime = _ts(default_factory=utcnow)
    followers: Optional[int] = None
    followers_raw: Optional[str] = Field(default=None, max_length=50)
    following: Optional[int] = None
    posts_total: Optional[int] = None
    name_seen: Optional[str] = Field(default=None, max_length=200)
    verified_seen: Optional[bool] = None


class Finding(Table, table=True):
    """合规问题: a compliance rule that matched a post, for a person to confirm or dismiss. One row per post
    and fingerprint (check, rule, matched text, context): seeing it again changes only last_seen_at."""

    __tablename__ = "finding"
    __table_args__ = (
        UniqueConstraint("post_id", "fingerprint", name="uq_finding_post_fingerprint"),
        Index("ix_finding_account_status", "account_id", "status"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    post_id: int = Field(foreign_key="post.id")
    patrol_id: Optional[int] = Field(default=None, foreign_key="patrol.id")  # the patrol that first saw it
    post_url: Optional[str] = Field(default=None, max_length=2000)
    post_published_at: Optional[datetime] = _ts(default=None)
    check: str = Field(max_length=30)  # registry.vocabulary.COMPLIANCE_CHECKS
    severity: str = Field(max_length=20)  # registry.vocabulary.SEVERITIES
    rule: str = Field(max_length=300)  # as people read it: 布署→部署
    rule_file: Optional[str] = Field(default=None, max_length=200)
    rule_source: Optional[str] = Field(default=None, max_length=500)
    match: str = Field(max_length=300)  # masked where it is personal data
    context: str = Field(max_length=300)  # at most 120 characters around the match, personal data masked
    detail: Optional[str] = Field(default=None, max_length=300)  # a broken link's outcome (HTTP 404, timeout)
    fingerprint: str = Field(max_length=64, index=True)
    status: str = Field(default="open", max_length=20)  # registry.vocabulary.FINDING_STATUSES
    found_at: datetime = _ts(default_factory=utcnow)
    last_seen_at: datetime = _ts(default_factory=utcnow)
    fixed_at: Optional[datetime] = _ts(default=None)
    reviewed_at: Optional[datetime] = _ts(default=None)
    reviewed_by: Optional[str] = Field(default=None, max_length=100)
    note: Optional[str] = Field(default=None, max_length=1000)


# --------------------------------------------------------------------------------------------- scoring


class ScoreRun(Table, table=True):
    """One scoring run: the policy in force and the time it judged as of."""

    __tablename__ = "score_run"

    id: Optional[int] = Field(default=None, primary_key=True)
    as_of: datetime = _ts()
    created_at: datetime = _ts(default_factory=utcnow)
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# The scorer reads each account's posts of the window, its latest outcome and its latest follower count
# from these indexes alone, without table lookups. (Posts flagged foreign_author are never stored.)
Index(
    "ix_post_scoring",
    Post.account_id,
    Post.published_at,
    Post.is_repost,
    Post.reposts,
    Post.comments,
    Post.likes,
    Post.reads,
    Post.content_hash,
)
Index(
    "ix_outcome_scoring",
    FetchOutcome.account_id,
    FetchOutcome.fetched_at,
    FetchOutcome.outcome,
    FetchOutcome.last_fetched_at,
)
Index("ix_snapshot_scoring", AccountSnapshot.account_id, AccountSnapshot.taken_at, AccountSnapshot.followers)


class VerdictFields(SQLModel):
    """One account's verdict as one run judged it, with its evidence and the rule that fired."""

    run_id: int = Field(foreign_key="score_run.id")
    account_id: int = Field(foreign_key="account.id")
    status: str = Field(max_length=20)  # one of VERDICT_STATUSES
    registry_status: str = Field(default="active", max_length=20)  # the account's lifecycle status then
    flags: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    rule: Optional[str] = Field(default=None, max_length=50)
    rule_zh: Optional[str] = None
    rule_en: Optional[str] = None
    threshold: Optional[str] = Field(default=None, max_length=100)
    liveness_index: Optional[float] = None
    index_basis: Optional[str] = Field(default=None, max_length=20)  # "full" | "activity_only"
    last_post_at: Optional[datetime] = _ts(default=None)
    days_silent: Optional[int] = None
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    # History: the account's status in its previous verdict, what changed, since when it is flagged.
    previous_status: Optional[str] = Field(default=None, max_length=20)
    change: Optional[str] = Field(default=None, max_length=20)
    flagged_since: Optional[datetime] = _ts(default=None)


class Verdict(VerdictFields, Table, table=True):
    """Verdict history as transitions: a row only where an account's judgement changed (its first verdict,
    another status, flags, rule or registry status), with the evidence at that run. The account's verdict
    in run N is its latest row up to N (registry.scoring.history.verdicts_at)."""

    __tablename__ = "verdict"
    __table_args__ = (
        UniqueConstraint("run_id", "account_id", name="uq_verdict_run_account"),
        Index("ix_verdict_account_run", "account_id", "run_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)


class LatestVerdict(VerdictFields, Table, table=True):
    """Each account's latest verdict, whole: what `verdicts`, `account show`, the newest report and the
    alerts read. A run rewrites an account's row only where what it works out differs (`digest`, of
    every column but the run); run_id is the run that last wrote it, and every later run that judged
    the account found the same (registry.scoring.history.judged_runs)."""

    __tablename__ = "latest_verdict"
    __table_args__ = (Index("ix_latest_verdict_run", "run_id"),)

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    digest: Optional[int] = Field(default=None, sa_type=BigInteger)  # None: rewritten by the next run
    # The evidence's figures that reports list for every account, as columns beside the evidence (the
    # same values, written with it): a report reads them without parsing the evidence of every verdict.
    posts_window: Optional[int] = None
    originals_window: Optional[int] = None
    median_engagement: Optional[float] = None
    followers: Optional[int] = None
    longest_gap_days: Optional[float] = None


class PlanItem(Table, table=True):
    """A consolidation recommendation (keep, merge, close, revive, over_quota) as a change: written by
    the run in which the account's recommendation took effect (run_id) and in force until a later run
    of its scope writes another; an empty action marks an account that left the plan. The plan of a
    run is the items in force then (registry.scoring.plans.plan_at)."""

    __tablename__ = "plan_item"
    __table_args__ = (Index("ix_plan_item_account_run", "account_id", "run_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="score_run.id", index=True)
    account_id: int = Field(foreign_key="account.id")
    org_id: int = Field(foreign_key="organization.id")
    action: str = Field(max_length=20)
    target_account_id: Optional[int] = Field(default=None, foreign_key="account.id")
    reason_zh: str = ""
    reason_en: str = ""
    numbers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PlanUnit(Table, table=True):
    """A digest of what a unit's plan items are worked out from, as the latest run of the whole registry
    that worked them out found it (registry.scoring.plan_units): the next such run works out again only
    the units whose digest moved."""

    __tablename__ = "plan_unit"

    org_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    digest: int = Field(sa_type=BigInteger)


# ------------------------------------------------------------------------------------------- scheduler


class Schedule(Table, table=True):
    """A timetable entry: cron, scope and the chain of steps. Rows from the config are synced in."""

    __tablename__ = "schedule"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    cron: str = Field(max_length=100)
    scope: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    chain: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    paused: bool = False
    origin: str = Field(default="cli", max_length=10)  # "config" | "cli"
    updated_at: datetime = _ts(default_factory=utcnow)


class JobRun(Table, table=True):
    """One run of a schedule's chain."""

    __tablename__ = "job_run"

    id: Optional[int] = Field(default=None, primary_key=True)
    schedule_name: str = Field(max_length=100, index=True)
    trigger: str = Field(default="cron", max_length=20)  # cron, catchup, manual
    started_at: datetime = _ts(default_factory=utcnow)
    finished_at: Optional[datetime] = _ts(default=None)
    # running, succeeded, failed, skipped (lock held / still running), interrupted (shutdown), aborted (died)
    status: str = Field(default="running", max_length=20)
    pid: Optional[int] = None
    pid_start: Optional[str] = Field(default=None, max_length=80)
    host: Optional[str] = Field(default=None, max_length=200)
    message: Optional[str] = Field(default=None, max_length=2000)  # why it failed or was skipped


class JobStep(Table, table=True):
    """One step of a run: patrol, score, report or notify."""

    __tablename__ = "job_step"

    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="job_run.id", index=True)
    step: str = Field(max_length=20)
    started_at: datetime = _ts(default_factory=utcnow)
    finished_at: Optional[datetime] = _ts(default=None)
    status: str = Field(default="running", max_length=20)  # as JobRun.status
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    log_excerpt: Optional[str] = None


class Lock(Table, table=True):
    """A named lock shared by the daemon and the CLI (works on SQLite and PostgreSQL)."""

    __tablename__ = "lock"

    name: str = Field(primary_key=True, max_length=100)
    token: str = Field(max_length=64)  # unique per acquisition: heartbeat, release and takeover match on it
    holder: str = Field(max_length=200)
    pid: int
    pid_start: Optional[str] = Field(default=None, max_length=80)  # the holder's start (registry.locks)
    host: str = Field(max_length=200)
    acquired_at: datetime = _ts(default_factory=utcnow)
    heartbeat_at: datetime = _ts(default_factory=utcnow)


class AlertEvent(Table, table=True):
    """An alert for one change of state, per channel; sent once, retried while it fails."""

    __tablename__ = "alert_event"
    __table_args__ = (UniqueConstraint("dedup_key", "channel", name="uq_alert_key_channel"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=300)
    channel: str = Field(max_length=100)
    kind: str = Field(max_length=50)
    created_at: datetime = _ts(default_factory=utcnow)
    sent_at: Optional[datetime] = _ts(default=None)
    attempts: int = 0
    last_error: Optional[str] = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# ----------------------------------------------------------------------------------------------- cases


class RectificationCase(Table, table=True):
    """整改: one account problem carried from 排查 (found) through 移交, 处置 and 追责 to 通报, one form for the
    office and the unit. Its code (e.g. YL-2026-0042) is what both quote; the timeline is case_event."""

    __tablename__ = "rectification_case"
    __table_args__ = (
        UniqueConstraint("code", name="uq_rectification_case_code"),
        UniqueConstraint("year", "number", name="uq_rectification_case_year_number"),
        # The case step finds an account's open case of a kind, and the lists go by stage and unit.
        Index("ix_case_account_kind", "account_id", "kind", "stage"),
        Index("ix_case_stage_org", "stage", "org_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=40)  # office prefix, year, number: YL-2026-0042
    year: int
    number: int
    account_id: int = Field(foreign_key="account.id")
    org_id: int = Field(foreign_key="organization.id")  # the responsible unit when it was opened
    kind: str = Field(max_length=30)  # one of CASE_KINDS
    rule: Optional[str] = Field(default=None, max_length=50)  # the rule that fired (or the plan's action)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # at opening
    # What identifies "the same evidence" (a withdrawn case is not reopened while it stays the same).
    evidence_key: str = Field(default="", max_length=200)
    action_required: str = Field(max_length=30)  # one of CASE_REMEDIES
    stage: str = Field(default="found", max_length=20)  # one of CASE_STAGES
    outcome: Optional[str] = Field(default=None, max_length=20)  # CASE_OUTCOMES, once closed
    opened_at: datetime = _ts(default_factory=utcnow)
    opened_run_id: Optional[int] = Field(default=None, foreign_key="score_run.id")
    last_seen_run_id: Optional[int] = Field(default=None, foreign_key="score_run.id")  # last run it fired in
    last_seen_at: Optional[datetime] = _ts(default=None)
    handed_over_at: Optional[datetime] = _ts(default=None)
    deadline: Optional[date] = None
    claimed_at: Optional[datetime] = _ts(default=None)
    claim_action: Optional[str] = Field(default=None, max_length=20)  # one of CLAIM_ACTIONS
    claim_note: Optional[str] = Field(default=None, max_length=2000)  # 整改措施
    claim_done_on: Optional[date] = None  # 完成时间
    responsible: Optional[str] = Field(default=None, max_length=50)  # 责任人
    contact_phone: Optional[str] = Field(default=None, max_length=50)  # 联系电话
    overdue_at: Optional[datetime] = _ts(default=None)
    escalated_at: Optional[datetime] = _ts(default=None)
    closed_at: Optional[datetime] = _ts(default=None)
    published_at: Optional[datetime] = _ts(default=None)  # named in a bulletin (通报)
    published_in: Optional[str] = Field(default=None, max_length=20)  # the bulletin's period
    updated_at: datetime = _ts(default_factory=utcnow)


class CaseEvent(Table, table=True):
    """One entry of a case's timeline, never changed once written: what happened, when, by whom (a person,
    or the patrol's score run), with the evidence of that moment."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case_at", "case_id", "at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="rectification_case.id")
    at: datetime = _ts(default_factory=utcnow)
    kind: str = Field(max_length=20)  # one of CASE_EVENTS
    actor: str = Field(max_length=100)  # a person, or "patrol"
    run_id: Optional[int] = Field(default=None, foreign_key="score_run.id")
    stage: str = Field(max_length=20)  # the case's stage after this event
    note: Optional[str] = Field(default=None, max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Bulletin(Table, table=True):
    """A 通报 as issued: its period, number of the year (its 文号 is made from it), scope and the score run
    its figures come from. The cases it names are bulletin_case."""

    __tablename__ = "bulletin"
    __table_args__ = (
        UniqueConstraint("year", "number", name="uq_bulletin_year_number"),
        Index("ix_bulletin_period", "period"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    period: str = Field(max_length=20)  # 2026-11 or 2026Q4
    year: int  # the year it was issued in
    number: int  # its number in that year
    doc_no: str = Field(default="", max_length=100)
    org_id: Optional[int] = Field(default=None, foreign_key="organization.id")  # None: every unit
    run_id: Optional[int] = Field(default=None, foreign_key="score_run.id")
    lang: str = Field(default="zh", max_length=5)
    issued_at: datetime = _ts(default_factory=utcnow)
    actor: str = Field(default="", max_length=100)
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class BulletinCase(Table, table=True):
    """A case named in a bulletin, with its stage then (what the next bulletin reports on)."""

    __tablename__ = "bulletin_case"

    bulletin_id: int = Field(foreign_key="bulletin.id", primary_key=True)
    case_id: int = Field(foreign_key="rectification_case.id", primary_key=True)
    stage: str = Field(max_length=20)
