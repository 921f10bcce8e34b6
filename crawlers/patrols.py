"""What a patrol is and how it went, for the launcher and the distributed workers alike: the scope
resolved once, the progress and result records, and the crawl's log."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from crawlers.redaction import configured_secrets, redact
from registry.config import Settings
from registry.db import session_scope
from registry.errors import ValidationError
from registry.i18n import L
from registry.observations import FAILED, PatrolProgress, nth_account_id
from registry.orgs import org_subtree_ids
from registry.patrol_scope import PatrolScope, ResolvedScope
from registry.timeutil import utcnow
from registry.vocabulary import FAILURE_OUTCOMES, PLATFORMS

LOG_TAIL_LINES = 5


@dataclass
class ProgressInfo:
    patrol_id: int
    done: int
    total: int
    outcomes: dict[str, int]
    elapsed: float
    rate: float  # accounts per second in this run
    shards: dict[str, Any] | None = None  # a distributed patrol's shards (crawlers.shards.shard_progress)

    @classmethod
    def of(cls, progress: PatrolProgress, elapsed: float, done_at_start: int, **more: Any) -> ProgressInfo:
        """The report of a patrol's progress as read (observations.patrol_progress), `elapsed` seconds into
        this run, which began with `done_at_start` accounts done."""
        done = progress.accounts_done
        rate = (done - done_at_start) / max(elapsed, 1e-6)
        return cls(progress.patrol_id, done, progress.accounts_total, progress.outcomes, elapsed, rate, **more)

    @property
    def failures(self) -> dict[str, int]:
        return {k: v for k, v in self.outcomes.items() if k in FAILURE_OUTCOMES and v}


@dataclass
class PatrolResult:
    patrol_id: int
    status: str  # finished, failed, aborted
    exit_code: int | None
    accounts_total: int
    accounts_done: int
    outcomes: dict[str, int]
    by_platform: dict[str, dict[str, int]]
    posts_seen: int
    posts_new: int
    elapsed: float
    resumed: bool
    # "interrupt" (Ctrl-C), "time_limit", "stop_event", "lock_lost" (another process took the patrol lock
    # over), or None: ran to its end
    stopped_by: str | None
    log_path: Path
    message: str | None = None  # why the crawl could not run, or left accounts unvisited
    workers: dict[str, int] = field(default_factory=dict)  # worker processes replaced, visits given up
    shards: dict[str, Any] | None = None  # a distributed patrol's shards (crawlers.shards.shard_progress)

    @property
    def interrupted(self) -> bool:
        return self.stopped_by is not None

    @property
    def counts(self) -> dict[str, int]:
        """Accounts by outcome, and posts read and new: for a job's record."""
        return {**self.outcomes, "posts_seen": self.posts_seen, "posts_new": self.posts_new}

    @property
    def ran(self) -> bool:
        """The crawl ran (to its end, or until it was deliberately stopped)."""
        return self.status != FAILED


def resolve_scope(engine: Engine, scope: PatrolScope) -> ResolvedScope:
    """The scope as stored on the patrol: units expanded to their subtrees, the due time and the
    --limit cut fixed once, so that a resumed patrol completes the very same set of accounts."""
    unknown = sorted(set(scope.platforms) - set(PLATFORMS))
    if unknown:
        raise ValidationError(
            L(f"未知平台: {', '.join(unknown)}", f"unknown platform(s): {', '.join(unknown)}"),
            hint=L("可用: ", "use: ") + ", ".join(PLATFORMS),
        )
    if scope.limit is not None and scope.limit < 1:
        raise ValidationError(L("--limit 必须为正整数", "--limit must be a positive number"))
    tree = None
    if scope.org_ids:
        with session_scope(engine) as session:
            tree = sorted({i for org_id in scope.org_ids for i in org_subtree_ids(session, org_id)})
    resolved = ResolvedScope(
        key=scope,
        platforms=tuple(sorted(set(scope.platforms))),
        account_ids=tuple(sorted(set(scope.account_ids))),
        org_tree_ids=None if tree is None else tuple(tree),
        # named accounts (claimed as due by the scheduler) are due
        due_before=utcnow() if scope.due_only and not scope.account_ids else None,
    )
    if scope.limit is not None:
        resolved = replace(resolved, max_account_id=nth_account_id(engine, resolved, scope.limit))
    return resolved


def log_path(settings: Settings, patrol_id: int) -> Path:
    folder = Path(str(settings.patrol.get("log_dir") or ".")).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"patrol-{patrol_id}.log"


def log_tail(log: Path, settings: Settings) -> str:
    """The last error lines of the crawl's log (secrets already masked there; masked again)."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    errors = [line for line in lines if "ERROR" in line or line.startswith("error:")] or lines
    return redact(" | ".join(errors[-LOG_TAIL_LINES:]), configured_secrets(settings))[:1000]
