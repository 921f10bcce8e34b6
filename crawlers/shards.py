"""A patrol across several hosts: its shards queued in one transaction, then watched to their end.

`run_patrol` comes here when `[distributed] enabled = true`. The patrol row, its shards (a few hundred
accounts of one platform each) and their jobs on the platforms' queues commit together; the workers
(`govpulse worker`, crawlers/hosts.py) crawl them; this side shows the progress, re-queues the shards of
workers that stopped sending heartbeats, and records the end of the patrol once every shard has ended:
finished, or failed if a shard used up its attempts (its unvisited accounts stay due). Stopped (Ctrl-C,
SIGTERM, the daemon shutting down, the time limit), it cancels the queued shards and aborts the running
ones. `retry_patrol` queues the shards that did not finish again.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from crawlers.patrols import PatrolResult, ProgressInfo, log_path, resolve_scope
from crawlers.queue import (
    ENDED,
    RETRYABLE,
    SUCCEEDED,
    cancel_jobs,
    defer_shards,
    queue_settings,
    requeue_stalled,
)
from registry.config import Settings
from registry.errors import ValidationError
from registry.i18n import L
from registry.locks import process_alive, process_start
from registry.models import Patrol, PatrolShard
from registry.patrol_scope import PatrolScope, ResolvedScope
from registry.observations import (
    ABORTED,
    FAILED,
    FINISHED,
    RUNNING,
    finish_patrol,
    get_patrol,
    interrupted_patrol,
    patrol_progress,
    patrol_summary,
    pending_ranges,
)
from registry.timeutil import utcnow

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
# After a stop the running shards get this long to store what they have and end.
STOP_GRACE_SECONDS = 60.0

# A shard's state, from its job's.
STATES = ("queued", "retrying", "running", "aborting", "finished", "failed", "cancelled", "aborted")
_STATE_OF_JOB = {
    "todo": "queued",
    "doing": "running",
    "succeeded": "finished",
    "failed": "failed",
    "cancelled": "cancelled",
    "aborting": "aborting",
    "aborted": "aborted",
}

_SHARDS_SQL = text("""
    SELECT s.id, s.platform, s.number, s.accounts_total, s.host, s.attempts, s.dropped_by, s.message,
           s.job_id, j.status AS job_status, j.attempts AS job_attempts, j.worker_id AS job_worker,
           j.abort_requested,
           (SELECT count(*) FROM fetch_outcome o JOIN account a ON a.id = o.account_id
             WHERE o.patrol_id = s.patrol_id AND a.platform = s.platform
               AND a.id BETWEEN s.first_account_id AND s.last_account_id) AS done
      FROM patrol_shard s LEFT JOIN procrastinate_jobs j ON j.id = s.job_id
     WHERE s.patrol_id = :patrol_id
     ORDER BY s.id
""")


def shard_rows(conn: Connection, patrol_id: int) -> list[dict[str, Any]]:
    """Every shard of a patrol with its state, its host and its accounts done, in one query."""
    rows = []
    for row in conn.execute(_SHARDS_SQL, {"patrol_id": patrol_id}).mappings():
        item = dict(row)
        state = _STATE_OF_JOB.get(item["job_status"] or "", "failed" if item["job_id"] is None else "queued")
        if state == "queued" and (item["job_attempts"] or 0) > 0:
            state = "retrying"
        item["state"] = state
        item["dropped_by"] = list(item["dropped_by"] or [])
        rows.append(item)
    return rows


def _ended(rows: list[dict[str, Any]]) -> bool:
    return all(r["job_status"] in ENDED or r["job_id"] is None for r in rows)


def shard_progress(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Shards by state, and by platform and host: what the progress line and `status` show."""
    by_platform: dict[str, Counter[str]] = defaultdict(Counter)
    by_host: dict[str, Counter[str]] = defaultdict(Counter)
    running: dict[str, int] = {}
    for r in rows:
        by_platform[r["platform"]][r["state"]] += 1
        if r["host"]:  # the host running it, or the last one that did
            by_host[r["host"]][r["state"]] += 1
            by_host[r["host"]]["accounts_done"] += int(r["done"] or 0)
        if r["state"] == "running" and r["host"]:
            running[r["host"]] = int(r["id"])
    return {
        "total": len(rows),
        "states": dict(Counter(r["state"] for r in rows)),
        "by_platform": {p: dict(c) for p, c in sorted(by_platform.items())},
        "by_host": {h: dict(c) for h, c in sorted(by_host.items())},
        "running_on": running,
        "requeued": [
            {
                "shard": r["id"],
                "platform": r["platform"],
                "dropped_by": r["dropped_by"],
                "state": r["state"],
                "host": r["host"],
            }
            for r in rows
            if r["dropped_by"]
        ],
    }


# ------------------------------------------------------------------------------------------ starting


def _watcher_alive(patrol: Patrol) -> bool:
    """A distributed patrol's row names the process that watches its shards (not a crawl)."""
    return bool(patrol.pid) and process_alive(int(patrol.pid), patrol.pid_start)


def open_patrol(engine: Engine, settings: Settings, scope: PatrolScope, resume: bool) -> tuple[int, bool]:
    """The patrol, its shards and their jobs, in one transaction. A resumed patrol queues again the
    shards that did not finish (each resumes from its accounts without an outcome)."""

    qs = queue_settings(settings)
    previous = None
    if resume:
        hours = float(settings.patrol.get("resume_hours", 24) or 0)
        previous = interrupted_patrol(engine, scope, within=timedelta(hours=hours), is_alive=_watcher_alive)
    resolved = None if previous is not None else resolve_scope(engine, scope)
    with engine.begin() as conn:
        if previous is not None:
            patrol_id = int(previous.id)  # type: ignore[arg-type]
            conn.execute(
                update(Patrol)
                .where(Patrol.id == patrol_id)
                .values(
                    status=RUNNING,
                    finished_at=None,
                    exit_code=None,
                    pid=os.getpid(),
                    pid_start=process_start(os.getpid()),
                )
            )
            _queue_again(conn, settings, patrol_id, ResolvedScope.from_json(previous.scope), qs.shard_size)
            return patrol_id, True
        assert resolved is not None
        patrol_id = int(
            conn.execute(
                insert(Patrol)
                .values(
                    scope=resolved.to_json(),
                    accounts_total=0,
                    pid=os.getpid(),
                    pid_start=process_start(os.getpid()),
                    status=RUNNING,
                    started_at=utcnow(),
                    summary={},
                )
                .returning(Patrol.id)
            ).scalar_one()
        )
        total = _new_shards(conn, settings, patrol_id, resolved, qs.shard_size)
        conn.execute(update(Patrol).where(Patrol.id == patrol_id).values(accounts_total=total))
    return patrol_id, False


def _new_shards(conn: Connection, settings: Settings, patrol_id: int, scope: ResolvedScope, size: int) -> int:
    """Cut the accounts of the scope not yet visited into shards and queue them; how many accounts."""
    ranges = pending_ranges(conn, patrol_id, scope, size)
    if not ranges:
        return 0
    start = int(
        conn.execute(
            select(text("coalesce(max(number), 0)")).select_from(PatrolShard).where(PatrolShard.patrol_id == patrol_id)
        ).scalar_one()
    )
    rows = [
        {
            "patrol_id": patrol_id,
            "platform": p,
            "number": start + i,
            "first_account_id": lo,
            "last_account_id": hi,
            "accounts_total": n,
            "attempts": 0,
            "dropped_by": [],
        }
        for i, (p, lo, hi, n) in enumerate(ranges, 1)
    ]
    ids = conn.execute(insert(PatrolShard).returning(PatrolShard.id), rows).scalars().all()
    defer_shards(conn, settings, [PatrolShard(id=i, **row) for i, row in zip(ids, rows, strict=True)])
    return sum(n for *_, n in ranges)


def _queue_again(conn: Connection, settings: Settings, patrol_id: int, scope: ResolvedScope, size: int) -> int:
    """Queue again the shards whose job ended without finishing (or that have none); a patrol without
    shards (started on one host) is cut into shards now. How many shards were queued."""
    rows = shard_rows(conn, patrol_id)
    if not rows:
        _new_shards(conn, settings, patrol_id, scope, size)
        return len(shard_rows(conn, patrol_id))
    again = [r for r in rows if r["job_id"] is None or r["job_status"] in RETRYABLE]
    defer_shards(
        conn,
        settings,
        # only what deferring reads: the shard's id and platform
        [PatrolShard(id=r["id"], patrol_id=patrol_id, platform=r["platform"]) for r in again],  # type: ignore[call-arg]
    )
    if again:
        conn.execute(
            update(PatrolShard)
            .where(PatrolShard.id.in_([r["id"] for r in again]))
            .values(finished_at=None, message=None)
        )
    return len(again)


def retry_patrol(engine: Engine, settings: Settings, patrol_id: int) -> int:
    """Queue the shards of a patrol that failed, were cancelled or aborted again; the patrol runs again."""
    patrol = get_patrol(engine, patrol_id)
    if patrol is None:
        raise ValidationError(L(f"没有巡查 {patrol_id}", f"no patrol {patrol_id}"))
    with engine.begin() as conn:
        rows = shard_rows(conn, patrol_id)
        if not rows:
            raise ValidationError(
                L(
                    f"巡查 {patrol_id} 没有分片 (不是分布式巡查)",
                    f"patrol {patrol_id} has no shards (it was not a distributed patrol)",
                )
            )
        if not _ended(rows):
            raise ValidationError(
                L(f"巡查 {patrol_id} 仍有分片在排队或运行", f"patrol {patrol_id} still has shards queued or running"),
                hint=L("等待其结束后重试", "wait for them to end, then retry"),
            )
        queued = _queue_again(
            conn, settings, patrol_id, ResolvedScope.from_json(patrol.scope), queue_settings(settings).shard_size
        )
        if queued:
            conn.execute(
                update(Patrol)
                .where(Patrol.id == patrol_id)
                .values(
                    status=RUNNING,
                    finished_at=None,
                    exit_code=None,
                    pid=os.getpid(),
                    pid_start=process_start(os.getpid()),
                )
            )
    return queued


def latest_distributed_patrol(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(PatrolShard.patrol_id).order_by(PatrolShard.patrol_id.desc()).limit(1)).scalar()


# ------------------------------------------------------------------------------------------ watching


class _Stop:
    """Why the watcher stops the patrol early: Ctrl-C, SIGTERM, the caller's event, the time limit."""

    def __init__(self, stop_event: threading.Event | None, time_limit: float) -> None:
        self.event = stop_event
        self.time_limit = time_limit
        self.signalled = threading.Event()
        self.reason: str | None = None
        self.started = time.monotonic()

    def check(self) -> str | None:
        if self.reason is None:
            if self.signalled.is_set():
                self.reason = "interrupt"
            elif self.event is not None and self.event.is_set():
                self.reason = "stop_event"
            elif self.time_limit and time.monotonic() - self.started > self.time_limit:
                self.reason = "time_limit"
        return self.reason


def watch(
    engine: Engine,
    settings: Settings,
    patrol_id: int,
    *,
    resumed: bool,
    time_limit: float,
    on_progress: Callable[[Any], None] | None,
    stop_event: threading.Event | None,
) -> Any:

    qs = queue_settings(settings)
    stop = _Stop(stop_event, time_limit)
    previous = _on_sigterm(stop.signalled)
    started = time.monotonic()
    done_at_start = patrol_progress(engine, patrol_id).accounts_done
    next_stalled_check = 0.0
    stop_sent: float | None = None
    rows: list[dict[str, Any]] = []
    try:
        while True:
            try:
                rows = _poll(engine, settings, patrol_id, stop, rows, next_stalled_check)
                if on_progress is not None:
                    progress = patrol_progress(engine, patrol_id)
                    elapsed = time.monotonic() - started
                    on_progress(ProgressInfo.of(progress, elapsed, done_at_start, shards=shard_progress(rows)))
                if _ended(rows):
                    break
                if stop.check():
                    stop_sent = stop_sent or time.monotonic()
                    if time.monotonic() - stop_sent > STOP_GRACE_SECONDS:
                        break
                elif time.monotonic() >= next_stalled_check:
                    next_stalled_check = time.monotonic() + max(qs.stalled_seconds / 4, 0.5)
                time.sleep(POLL_SECONDS)
            except DBAPIError as exc:  # the database is briefly away: the workers carry on
                log.warning("patrol %s: cannot read its shards: %s", patrol_id, exc)
                time.sleep(POLL_SECONDS)
            except KeyboardInterrupt:
                stop.signalled.set()
    finally:
        _restore(previous)
    return _finish(
        engine,
        patrol_id,
        rows,
        resumed=resumed,
        stopped_by=stop.reason,
        elapsed=time.monotonic() - started,
        log=log_path(settings, patrol_id),
    )


def _poll(
    engine: Engine,
    settings: Settings,
    patrol_id: int,
    stop: _Stop,
    rows: list[dict[str, Any]],
    next_stalled_check: float,
) -> list[dict[str, Any]]:
    """One look at the shards. Stopping: cancel what is queued (also what was re-queued meanwhile) and
    abort what runs; otherwise, when it is time, re-queue the shards of dead workers."""
    if stop.check():
        with engine.connect() as conn:
            rows = shard_rows(conn, patrol_id)
        cancel_jobs(
            engine,
            [
                r["job_id"]
                for r in rows
                if r["job_id"] and r["job_status"] in ("todo", "doing") and not r["abort_requested"]
            ],
        )
    elif time.monotonic() >= next_stalled_check:
        requeue_stalled(engine, settings)
    with engine.connect() as conn:
        return shard_rows(conn, patrol_id)


def _on_sigterm(flag: threading.Event) -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda *_: flag.set())


def _restore(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _finish(
    engine: Engine,
    patrol_id: int,
    rows: list[dict[str, Any]],
    *,
    resumed: bool,
    stopped_by: str | None,
    elapsed: float,
    log: Any,
) -> Any:

    failed = [r for r in rows if r["job_status"] not in (SUCCEEDED,)]
    if stopped_by:
        status = ABORTED
    elif failed:
        status = FAILED
    else:
        status = FINISHED
    message = None
    if failed and not stopped_by:
        parts = [
            f"#{r['id']} {r['platform']} ({r['state']}{': ' + r['message'] if r['message'] else ''})"
            for r in failed[:5]
        ]
        message = L(f"{len(failed)} 个分片未完成: ", f"{len(failed)} shard(s) did not finish: ") + "; ".join(parts)
    summary = {**patrol_summary(engine, patrol_id), "shards": shard_progress(rows)}
    if message:
        summary["error"] = message
    finish_patrol(engine, patrol_id, status=status, exit_code=None, summary=summary)
    patrol = get_patrol(engine, patrol_id)
    assert patrol is not None
    return PatrolResult(
        patrol_id=patrol_id,
        status=status,
        exit_code=None,
        accounts_total=patrol.accounts_total,
        accounts_done=summary["accounts_done"],
        outcomes=summary["outcomes"],
        by_platform=summary["by_platform"],
        posts_seen=summary["posts_seen"],
        posts_new=summary["posts_new"],
        elapsed=elapsed,
        resumed=resumed,
        stopped_by=stopped_by,
        log_path=log,
        message=message,
        shards=summary["shards"],
    )


# ------------------------------------------------------------------------------------------- status

_HOSTS_SQL = text("""
    SELECT h.name, h.platform, h.hostname, h.pid, h.bind_address, h.started_at, w.last_heartbeat,
           (SELECT s.id FROM patrol_shard s JOIN procrastinate_jobs j ON j.id = s.job_id
             WHERE j.worker_id = h.worker_id AND j.status IN ('doing', 'aborting')
             ORDER BY s.id LIMIT 1) AS shard
      FROM patrol_host h LEFT JOIN procrastinate_workers w ON w.id = h.worker_id
     ORDER BY h.name, h.platform
""")


def distributed_state(engine: Engine) -> dict[str, Any] | None:
    """The latest distributed patrol's shards (by platform and state, re-queued ones with the host that
    dropped them) and every worker with its current shard and last heartbeat; None without the queue."""
    if engine.dialect.name != "postgresql":
        return None
    patrol_id = latest_distributed_patrol(engine)
    with engine.connect() as conn:
        hosts = [dict(r) for r in conn.execute(_HOSTS_SQL).mappings()]
        rows = shard_rows(conn, patrol_id) if patrol_id is not None else []
    patrol = get_patrol(engine, patrol_id) if patrol_id is not None else None
    for host in hosts:
        host["alive"] = host["last_heartbeat"] is not None
    return {
        "patrol_id": patrol_id,
        "status": patrol.status if patrol else None,
        "accounts_total": patrol.accounts_total if patrol else 0,
        "shards": shard_progress(rows),
        "hosts": hosts,
    }
