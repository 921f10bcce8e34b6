"""`govpulse worker`: this host crawling the shards of distributed patrols.

One procrastinate worker per platform served, each with a concurrency of one: a host runs at most one
crawl per platform at a time, so the per-platform concurrency and delay settings are the politeness of
this host's egress address. Each shard is crawled in a subprocess (`python -m crawlers.run --shard-id`),
as on one host, bound to --bind-address; the crawl is told this worker's pid and stops when the worker
is gone, so that a crawl orphaned by a killed worker does not run on beside the shard's next run.

The database lost (restart, network cut): the workers stop, and start again with a backoff of 1, 2, 4...
seconds up to worker.db_retry_max_seconds. A crawl that cannot store ends without storing: its accounts
have no outcome (never a silence), and the shard is run again, here or elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, text, update
from sqlalchemy.engine import Engine

from crawlers.patrols import log_tail
from crawlers.queue import make_app, queue_name, queue_settings, requeue_stalled
from crawlers.run import EXIT_OK, SETTINGS_ENV, settings_for_child
from registry.config import PLATFORMS, Settings
from registry.db import make_engine, session_scope
from registry.errors import GovpulseError, ValidationError
from registry.models import PatrolHost, PatrolShard
from registry.timeutil import utcnow

log = logging.getLogger(__name__)

FIRST_BACKOFF = 1.0


@dataclass
class Host:
    """This worker: what it serves and where from."""

    settings: Settings
    engine: Engine
    name: str
    platforms: list[str]
    bind_address: str | None
    grace: float
    stopping: asyncio.Event = field(default_factory=asyncio.Event)


_HOST: Host | None = None


def host_options(
    settings: Settings,
    *,
    platforms: list[str] | None = None,
    egress: str | None = None,
    bind_address: str | None = None,
) -> tuple[list[str], str, str | None]:
    """(platforms, name, bind address) from the options, else from [worker]."""
    conf = settings.get("worker", default={}) or {}
    chosen = list(platforms or conf.get("platforms") or PLATFORMS)
    unknown = sorted(set(chosen) - set(PLATFORMS))
    if unknown:
        raise ValidationError(f"[worker] platforms: unknown {', '.join(unknown)}", hint=f"use: {', '.join(PLATFORMS)}")
    address = bind_address or str(conf.get("bind_address") or "") or None
    if address:
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in address else socket.AF_INET, address)
        except OSError:
            raise ValidationError(
                f"--bind-address {address!r} is not an IP address",
                hint="the local address this host's crawls connect from, e.g. 10.0.0.12",
            ) from None
    name = (
        egress
        or str(conf.get("egress") or "")
        or (f"{socket.gethostname()}/{address}" if address else socket.gethostname())
    )
    return sorted(set(chosen), key=PLATFORMS.index), name[:200], address


def run_host(settings: Settings, *, platforms: list[str], name: str, bind_address: str | None) -> int:
    """Serve until SIGTERM or SIGINT; 0 on a clean stop."""
    return asyncio.run(_serve(settings, platforms=platforms, name=name, bind_address=bind_address))


async def _serve(settings: Settings, *, platforms: list[str], name: str, bind_address: str | None) -> int:
    global _HOST
    conf = settings.get("worker", default={}) or {}
    engine = make_engine(settings.database_url)
    host = _HOST = Host(
        settings=settings,
        engine=engine,
        name=name,
        platforms=platforms,
        bind_address=bind_address,
        grace=float(conf.get("shutdown_grace_seconds", 30)),
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, host.stopping.set)
    backoff, longest = FIRST_BACKOFF, float(conf.get("db_retry_max_seconds", 60))
    try:
        while not host.stopping.is_set():
            started = loop.time()
            try:
                await _run_workers(host)
                if not host.stopping.is_set():
                    log.warning("worker %s: its workers stopped; starting again in %.0f s", name, backoff)
            except Exception as exc:  # the database went away, or never answered
                log.error("worker %s: %s; retrying in %.0f s", name, exc, backoff)
            if host.stopping.is_set():
                break
            if loop.time() - started > 4 * backoff:  # it ran for a while: start the backoff over
                backoff = FIRST_BACKOFF
            try:
                await asyncio.wait_for(host.stopping.wait(), timeout=backoff)
            except TimeoutError:
                pass
            backoff = min(backoff * 2, longest)
    finally:
        engine.dispose()
        _HOST = None
    return 0


async def _run_workers(host: Host) -> None:
    """One procrastinate worker per platform, until a stop or until one of them fails."""
    from procrastinate.worker import Worker

    qs = queue_settings(host.settings)
    app = make_app(host.settings, crawl_shard, pool_size=2 + 2 * len(host.platforms))
    async with app.open_async():
        workers = {
            platform: Worker(
                app,
                queues=[queue_name(platform)],
                name=f"{host.name}:{platform}",
                concurrency=1,
                fetch_job_polling_interval=qs.poll_seconds,
                abort_job_polling_interval=min(qs.poll_seconds, 2.0),
                listen_notify=qs.listen_notify,
                install_signal_handlers=False,
                update_heartbeat_interval=qs.heartbeat_seconds,
                stalled_worker_timeout=qs.stalled_seconds,
                shutdown_graceful_timeout=0.5,
            )
            for platform in host.platforms
        }
        tasks = [asyncio.create_task(w.run(), name=f"worker-{p}") for p, w in workers.items()]  # type: ignore[no-untyped-call]
        tasks.append(asyncio.create_task(_register(host, workers), name="register"))
        tasks.append(asyncio.create_task(_watch_stalled(host, qs.stalled_seconds), name="stalled"))
        stop = asyncio.create_task(host.stopping.wait(), name="stop")
        try:
            done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for worker in workers.values():
                worker.stop()  # type: ignore[no-untyped-call]
            for task in tasks[len(workers) :]:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            stop.cancel()
        errors = [r for r in results if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)]
        if errors and not host.stopping.is_set():
            raise errors[0]


async def _register(host: Host, workers: dict[str, Any]) -> None:
    """Say who each procrastinate worker is (status shows hosts by name), once they have an id."""
    while any(w.worker_id is None for w in workers.values()):
        await asyncio.sleep(0.1)
    rows = [
        {
            "worker_id": w.worker_id,
            "name": host.name,
            "hostname": socket.gethostname()[:200],
            "pid": os.getpid(),
            "platform": platform,
            "bind_address": host.bind_address,
            "started_at": utcnow(),
        }
        for platform, w in workers.items()
    ]
    await asyncio.to_thread(_store_hosts, host.engine, rows)
    await asyncio.Event().wait()  # until cancelled


def _store_hosts(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        # Rows of workers procrastinate no longer knows (stopped, or pruned once stalled) go.
        conn.execute(delete(PatrolHost).where(text("worker_id NOT IN (SELECT id FROM procrastinate_workers)")))
        conn.execute(PatrolHost.__table__.insert(), rows)


async def _watch_stalled(host: Host, stalled_seconds: float) -> None:
    """Every host also re-queues the shards of dead workers, so that recovery needs no patrol watching."""
    while True:
        await asyncio.sleep(max(stalled_seconds / 4, 0.5))
        try:
            await asyncio.to_thread(requeue_stalled, host.engine, host.settings)
        except Exception as exc:
            log.warning("looking for stalled shards failed: %s", exc)


# ------------------------------------------------------------------------------------- the task


class ShardFailed(GovpulseError):
    """The crawl of a shard could not run to its end (retried by procrastinate)."""


async def crawl_shard(context: Any, patrol_id: int, shard_id: int) -> dict[str, Any]:
    """Crawl one shard in a subprocess; aborted (patrol stopped, worker shutting down), stop it first."""
    from procrastinate import exceptions

    host = _HOST
    if host is None:
        raise ShardFailed("crawl_shard runs inside `govpulse worker` only")
    worker_id = context.job.worker_id
    log_file = _log_path(host.settings, patrol_id, shard_id)
    child: asyncio.subprocess.Process | None = None
    try:
        # An abort can come at any await, also before the crawl is started: it is an abort all the same.
        await asyncio.to_thread(_shard_started, host.engine, shard_id, host.name, worker_id)
        child = await _spawn(host, patrol_id, shard_id, log_file)
        rc = await child.wait()
    except asyncio.CancelledError:
        if child is not None:
            await asyncio.shield(_stop_child(child, host.grace))
        await asyncio.shield(asyncio.to_thread(_shard_ended, host.engine, shard_id, "aborted"))
        raise exceptions.JobAborted() from None
    if rc != EXIT_OK:
        message = log_tail(log_file, host.settings) or f"the crawl exited with code {rc}"
        await asyncio.to_thread(_shard_ended, host.engine, shard_id, message[:2000])
        raise ShardFailed(f"shard {shard_id}: {message}")
    await asyncio.to_thread(_shard_ended, host.engine, shard_id, None)
    return {"shard_id": shard_id, "host": host.name}


def _shard_started(engine: Engine, shard_id: int, name: str, worker_id: int | None) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(PatrolShard)
            .where(PatrolShard.id == shard_id)
            .values(
                host=name,
                worker_id=worker_id,
                attempts=PatrolShard.attempts + 1,
                started_at=utcnow(),
                finished_at=None,
                message=None,
            )
        )


def _shard_ended(engine: Engine, shard_id: int, message: str | None) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(PatrolShard).where(PatrolShard.id == shard_id).values(finished_at=utcnow(), message=message)
        )


def _log_path(settings: Settings, patrol_id: int, shard_id: int) -> Path:
    folder = Path(str(settings.patrol.get("log_dir") or ".")).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"patrol-{patrol_id}-shard-{shard_id}.log"


async def _spawn(host: Host, patrol_id: int, shard_id: int, log_file: Path) -> asyncio.subprocess.Process:
    settings = host.settings
    data = {
        **settings.data,
        "worker": {**(settings.get("worker", default={}) or {}), "bind_address": host.bind_address or ""},
    }
    child_settings = type(settings)(data=data, path=settings.path, sources=settings.sources)
    cmd = [
        sys.executable,
        "-m",
        "crawlers.run",
        "--patrol-id",
        str(patrol_id),
        "--shard-id",
        str(shard_id),
        "--parent-pid",
        str(os.getpid()),
    ]
    if settings.path is not None:
        cmd += ["--config", str(settings.path)]
    env = {
        **os.environ,
        SETTINGS_ENV: settings_for_child(child_settings),
        "GOVPULSE_DATABASE_URL": settings.database_url,
    }
    with log_file.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *cmd,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )


async def _stop_child(child: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM: the crawl stores what it has and ends; past the grace it is killed."""
    if child.returncode is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(child.wait(), timeout=grace)
    except TimeoutError:
        child.kill()
        await child.wait()
