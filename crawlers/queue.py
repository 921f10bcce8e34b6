"""The queue of distributed patrols: procrastinate on the install's PostgreSQL.

A shard is one job of the task `govpulse.crawl_shard` on the queue of its platform (`patrol.weibo`...).
Jobs are queued, found stalled, re-queued, cancelled and aborted with procrastinate's own queries
(`procrastinate.sql.queries`, those of the pinned version), run on a connection of ours, so that the
shard rows and their jobs commit in one transaction.

procrastinate is imported inside the functions that use it: an SQLite install runs without it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine, make_url

from registry.config import Settings
from registry.errors import ValidationError
from registry.i18n import L
from registry.models import PatrolShard
from registry.timeutil import utcnow

log = logging.getLogger(__name__)

TASK_NAME = "govpulse.crawl_shard"
# Job states (procrastinate's): queued, running, and how they end.
TODO, DOING, SUCCEEDED, FAILED, CANCELLED, ABORTING, ABORTED = (
    "todo",
    "doing",
    "succeeded",
    "failed",
    "cancelled",
    "aborting",
    "aborted",
)
ENDED = (SUCCEEDED, FAILED, CANCELLED, ABORTED)
RETRYABLE = (FAILED, CANCELLED, ABORTED)


def queue_name(platform: str) -> str:
    return f"patrol.{platform}"


def enabled(settings: Settings) -> bool:
    return bool(settings.get("distributed", "enabled", default=False))


def check_backend(settings: Settings, *, what: str) -> None:
    """Distributed patrols need PostgreSQL: their queue and every host's writes share it."""
    backend = make_url(settings.database_url).get_backend_name() if "://" in settings.database_url else ""
    if backend != "postgresql":
        raise ValidationError(
            L(
                f"{what} 需要 PostgreSQL 数据库, 当前为 {backend or settings.database_url}",
                f"{what} needs a PostgreSQL database; this install uses {backend or settings.database_url}",
            ),
            hint=L(
                "SQLite 上巡查只在本机运行: 删除 [distributed] enabled = true, 或改用 PostgreSQL (docs/postgresql.md)",
                "on SQLite a patrol runs on this host only: remove [distributed] enabled = true, or move to "
                "PostgreSQL (docs/postgresql.md)",
            ),
        )


@dataclass(frozen=True)
class QueueSettings:
    shard_size: int
    stalled_seconds: float
    heartbeat_seconds: float
    max_attempts: int
    retry_wait_seconds: float
    poll_seconds: float
    listen_notify: bool


def queue_settings(settings: Settings) -> QueueSettings:
    conf = settings.get("distributed", default={}) or {}
    hint = "see docs/configuration.md, section [distributed]"
    try:
        qs = QueueSettings(
            shard_size=int(conf.get("shard_size", 300)),
            stalled_seconds=float(conf.get("stalled_seconds", 60)),
            heartbeat_seconds=float(conf.get("heartbeat_seconds", 10)),
            max_attempts=int(conf.get("max_attempts", 3)),
            retry_wait_seconds=float(conf.get("retry_wait_seconds", 30)),
            poll_seconds=float(conf.get("poll_seconds", 5)),
            listen_notify=bool(conf.get("listen_notify", True)),
        )
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"[distributed]: {exc}", hint=hint) from None
    if qs.shard_size < 1 or qs.max_attempts < 1 or qs.poll_seconds <= 0 or qs.retry_wait_seconds < 0:
        raise ValidationError("[distributed]: shard_size and max_attempts must be >= 1, poll_seconds > 0", hint=hint)
    if not 0 < qs.heartbeat_seconds * 2 <= qs.stalled_seconds:
        raise ValidationError(
            f"[distributed]: heartbeat_seconds ({qs.heartbeat_seconds:g}) must be at most half of stalled_seconds "
            f"({qs.stalled_seconds:g}), or a live worker would be taken for dead",
            hint=hint,
        )
    return qs


def conninfo(database_url: str) -> str:
    """The libpq form of our SQLAlchemy URL (postgresql+psycopg://... -> postgresql://...)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(settings: Settings, crawl_shard: Any, *, pool_size: int = 4) -> Any:
    """A procrastinate App on the configured PostgreSQL, with the shard task (the worker's crawl_shard)
    registered; handed in by the worker, so that the queue does not import the worker back."""
    import procrastinate

    qs = queue_settings(settings)
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(settings.database_url), min_size=1, max_size=pool_size
        )
    )
    # procrastinate counts retries after the first run; 0 would mean "retry for ever".
    retry = (
        procrastinate.RetryStrategy(max_attempts=qs.max_attempts - 1, wait=int(qs.retry_wait_seconds))
        if qs.max_attempts > 1
        else False
    )
    app.task(name=TASK_NAME, pass_context=True, retry=retry)(crawl_shard)
    return app


def _driver(conn: Connection) -> Any:
    return conn.connection.driver_connection


def _query(conn: Connection, name: str, **params: Any) -> list[dict[str, Any]]:
    from procrastinate import sql
    from psycopg.rows import dict_row

    with _driver(conn).cursor(row_factory=dict_row) as cur:
        cur.execute(sql.queries[name], params)
        return cur.fetchall() if cur.description else []


def defer_shards(conn: Connection, settings: Settings, shards: Iterable[PatrolShard]) -> dict[int, int]:
    """Queue one job per shard (id, patrol_id and platform are read) on `conn`, in its transaction:
    {shard id: job id}."""
    from procrastinate import types
    from psycopg.types.json import Jsonb

    shards = list(shards)
    if not shards:
        return {}
    jobs = [
        types.JobToDefer(
            queue_name=queue_name(s.platform),
            task_name=TASK_NAME,
            priority=0,
            lock=f"shard-{s.id}",
            queueing_lock=None,
            args=Jsonb({"patrol_id": s.patrol_id, "shard_id": s.id}),
            scheduled_at=None,
        )
        for s in shards
    ]
    rows = _query(conn, "defer_jobs", jobs=jobs)
    ids = {int(s.id): int(row["id"]) for s, row in zip(shards, rows, strict=True)}  # type: ignore[arg-type]
    for shard_id, job_id in ids.items():
        conn.execute(update(PatrolShard).where(PatrolShard.id == shard_id).values(job_id=job_id))
    return ids


def cancel_jobs(engine: Engine, job_ids: Iterable[int]) -> int:
    """Cancel queued jobs and ask running ones to abort (their worker stops the crawl). How many."""
    done = 0
    with engine.begin() as conn:
        for job_id in job_ids:  # one call per job: procrastinate's function takes one id
            rows = _query(conn, "cancel_job", job_id=job_id, abort=True, delete_job=False)
            done += sum(1 for row in rows if row.get("id") is not None)
    return done


def requeue_stalled(engine: Engine, settings: Settings) -> list[dict[str, Any]]:
    """Jobs held by a worker whose heartbeat stopped (killed, host down, cut off): queued again at once,
    or failed once they have used their attempts. The shard records the host that dropped it."""
    qs = queue_settings(settings)
    moved: list[dict[str, Any]] = []
    with engine.connect() as conn:
        stalled = _query(
            conn,
            "select_stalled_jobs_by_heartbeat",
            queue=None,
            task_name=TASK_NAME,
            seconds_since_heartbeat=qs.stalled_seconds,
        )
        conn.rollback()
    for job in stalled:
        try:
            with engine.begin() as conn:
                shard = conn.execute(
                    select(PatrolShard.id, PatrolShard.host, PatrolShard.dropped_by).where(
                        PatrolShard.job_id == job["id"]
                    )
                ).first()
                exhausted = int(job["attempts"]) + 1 >= qs.max_attempts
                if exhausted:
                    _query(conn, "finish_job", job_id=job["id"], status=FAILED, delete_job=False)
                else:
                    _query(
                        conn,
                        "retry_job",
                        job_id=job["id"],
                        retry_at=utcnow(),
                        new_priority=None,
                        new_queue_name=None,
                        new_lock=None,
                    )
                if shard is not None:
                    dropped = [*(shard.dropped_by or []), shard.host or "?"]
                    message = L(f"{shard.host} 停止心跳", f"{shard.host} stopped sending heartbeats")
                    conn.execute(
                        update(PatrolShard)
                        .where(PatrolShard.id == shard.id)
                        .values(dropped_by=dropped, message=message, finished_at=utcnow() if exhausted else None)
                    )
                moved.append(
                    {
                        "job_id": job["id"],
                        "shard_id": shard.id if shard else None,
                        "host": shard.host if shard else None,
                        "failed": exhausted,
                    }
                )
        except Exception as exc:  # another watcher moved it first, or the database went away
            log.info("stalled job %s not re-queued here: %s", job["id"], exc)
    for item in moved:
        log.warning(
            "shard %s: its worker on %s stopped; %s",
            item["shard_id"],
            item["host"],
            "failed (attempts used)" if item["failed"] else "queued again",
        )
    return moved
