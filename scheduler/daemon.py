"""`govpulse run`: one APScheduler process that runs the schedules' chains.

At start it takes the "daemon" lock (one daemon per database), marks what a dead daemon left running as
aborted, syncs the configuration's schedules into the `schedule` table, queues one catch-up run per
schedule that missed a fire time within the grace time, then polls the table for changes made with the
CLI. Jobs live in memory only (no pickled job store): the table is the source of truth.

SIGTERM / SIGINT: the stop event is set; a running patrol ends its crawl, the step and run are recorded
as interrupted, the scheduler waits for its jobs, the lock is released and the process exits 0.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from crawlers.launcher import crawl_alive
from registry.config import Settings
from registry.errors import LockedError
from registry.i18n import L
from registry.locks import acquire_lock, process_alive
from registry.models import JobRun, JobStep, Patrol, Schedule
from registry.timeutil import utcnow
from scheduler import channels
from scheduler import runtime as runtime_mod
from scheduler.chain import ABORTED, record_skipped_run
from scheduler.cron import missed_fire, parse_cron
from scheduler.jobs import JOB_REF
from scheduler.runtime import Runtime
from scheduler.schedules import list_schedules, sync_config_schedules

log = logging.getLogger(__name__)

JOB_PREFIX = "schedule:"
DONE = ("succeeded", "failed", "skipped")  # runs that count as having happened (not aborted or interrupted)


def recover_abandoned(engine: Engine, *, stale_after: float) -> dict[str, int]:
    """Mark runs, steps and patrols left "running" by a process that is gone as aborted.

    Called by the daemon while it holds the daemon lock, so cron and catch-up runs still "running" belong
    to a dead daemon; manual runs (`schedule run`) are aborted only if their process is dead on this host.
    Patrols are aborted only when no one holds the patrol lock (a manual patrol may be running).
    """
    now, host = utcnow(), socket.gethostname()
    message = L("运行中的进程已终止 (守护进程重启时发现)", "the process running it died (found at daemon start)")
    counts = {}
    with engine.begin() as conn:
        running = conn.execute(
            select(JobRun.id, JobRun.trigger, JobRun.pid, JobRun.pid_start, JobRun.host).where(
                JobRun.status == "running"
            )
        ).all()
        dead = [
            r.id
            for r in running
            if r.trigger != "manual" or (r.host == host and (r.pid is None or not process_alive(r.pid, r.pid_start)))
        ]
        if dead:
            conn.execute(
                update(JobRun)
                .where(JobRun.id.in_(dead))  # type: ignore[union-attr]
                .values(status=ABORTED, finished_at=now, message=message)
            )
            conn.execute(
                update(JobStep)
                .where(JobStep.run_id.in_(dead), JobStep.status == "running")  # type: ignore[attr-defined]
                .values(status=ABORTED, finished_at=now, log_excerpt=message)
            )
        counts["runs"] = len(dead)
    try:
        with acquire_lock(engine, "patrol", holder="govpulse run (recovery)", stale_after=stale_after):
            with engine.begin() as conn:
                running = conn.execute(
                    select(Patrol.id, Patrol.pid, Patrol.pid_start).where(Patrol.status == "running")
                ).all()
                dead = [r.id for r in running if not crawl_alive(r)]
                if dead:
                    conn.execute(
                        update(Patrol)
                        .where(Patrol.id.in_(dead))  # type: ignore[union-attr]
                        .values(status=ABORTED, finished_at=now)
                    )
                counts["patrols"] = len(dead)
    except LockedError:
        counts["patrols"] = 0  # a live patrol holds the lock: its rows are its own
    if any(counts.values()):
        log.warning(
            "marked aborted: %d run(s), %d patrol(s) left running by a dead process", counts["runs"], counts["patrols"]
        )
    return counts


def catch_up_due(engine: Engine, schedules: list[Schedule], rt: Runtime) -> list[str]:
    """Schedules that missed a fire time within the grace time since their last completed run."""
    grace = timedelta(seconds=float(rt.conf("misfire_grace_seconds")))  # type: ignore[arg-type]
    now = utcnow()
    with engine.connect() as conn:
        last: dict[str, Any] = dict(
            conn.execute(
                select(JobRun.schedule_name, func.max(JobRun.started_at))
                .where(JobRun.status.in_(DONE))
                .group_by(JobRun.schedule_name)
            ).all()
        )  # type: ignore[attr-defined]
    due = []
    for s in schedules:
        if s.paused:
            continue
        since = max(t for t in (last.get(s.name), s.updated_at, now - grace) if t is not None)
        fire = missed_fire(parse_cron(s.cron, rt.tz), since, now)
        if fire is not None:
            log.info("schedule %s missed its run at %s: catching up once", s.name, fire.isoformat())
            due.append(s.name)
    return due


class Daemon:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.rt = Runtime(settings=settings, engine=engine)
        self.scheduler: BackgroundScheduler | None = None
        self.signatures: dict[str, tuple[Any, ...]] = {}

    # -- scheduling -------------------------------------------------------------------------------
    def _signature(self, s: Schedule) -> tuple[Any, ...]:
        return (s.cron, s.paused, s.updated_at)

    def reconcile(self) -> None:
        """Make the scheduler's jobs match the schedule table (added, changed, paused, removed)."""
        assert self.scheduler is not None
        rows = {s.name: s for s in list_schedules(self.rt.engine)}
        for name in set(self.signatures) - set(rows):
            self._remove(name)
            log.info("schedule %s removed", name)
        for name, s in rows.items():
            signature = self._signature(s)
            if self.signatures.get(name) == signature:
                continue
            if s.paused:
                self._remove(name)
                log.info("schedule %s paused", name)
            else:
                job = self.scheduler.add_job(
                    JOB_REF,
                    trigger=parse_cron(s.cron, self.rt.tz),
                    args=[name],
                    id=JOB_PREFIX + name,
                    name=name,
                    replace_existing=True,
                )
                log.info("schedule %s (%s): next run %s", name, s.cron, job.next_run_time)
            self.signatures[name] = signature

    def _remove(self, name: str) -> None:
        assert self.scheduler is not None
        if self.scheduler.get_job(JOB_PREFIX + name):
            self.scheduler.remove_job(JOB_PREFIX + name)
        self.signatures.pop(name, None)

    def _on_max_instances(self, event: JobEvent) -> None:
        name = event.job_id.removeprefix(JOB_PREFIX)
        record_skipped_run(
            self.rt, name, "cron", L("上一次运行尚未结束", "the previous run of this schedule is still running")
        )

    # -- life cycle -------------------------------------------------------------------------------
    def _install_signals(self) -> None:
        def stop(signum: int, _frame: Any) -> None:
            log.info("received %s: stopping", signal.Signals(signum).name)
            self.rt.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def run(self) -> int:
        rt = self.rt
        stale = float(rt.conf("lock_stale_seconds"))  # type: ignore[arg-type]
        if threading.current_thread() is threading.main_thread():
            self._install_signals()
        for name, conf in (rt.settings.get("alerts", "channels", default={}) or {}).items():
            channels.validate(name, conf)  # a typo stops the start, not the first alert at 02:00
        exit_code = 0
        with acquire_lock(rt.engine, "daemon", holder="govpulse run", stale_after=stale) as lock:
            recover_abandoned(rt.engine, stale_after=stale)
            sync_config_schedules(rt.engine, rt.settings)
            runtime_mod.install(rt)
            grace = int(float(rt.conf("misfire_grace_seconds")))  # type: ignore[arg-type]
            self.scheduler = BackgroundScheduler(
                timezone=rt.tz,
                executors={"default": ThreadPoolExecutor(4)},
                job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
            )
            self.scheduler.add_listener(self._on_max_instances, EVENT_JOB_MAX_INSTANCES)
            self.scheduler.start()
            try:
                self.reconcile()
                for name in catch_up_due(rt.engine, list_schedules(rt.engine), rt):
                    rt.mark_catchup(name)
                    self.scheduler.modify_job(JOB_PREFIX + name, next_run_time=utcnow())
                log.info(
                    "govpulse scheduler running (pid %d, %d schedule(s), time zone %s)",
                    os.getpid(),
                    len(self.signatures),
                    rt.conf("timezone"),
                )
                poll = float(rt.conf("poll_seconds"))  # type: ignore[arg-type]
                while not rt.stop.wait(poll):
                    if lock.lost.is_set():
                        log.error("another daemon took over the daemon lock: stopping")
                        exit_code = 1
                        break
                    try:
                        self.reconcile()
                    except Exception:  # a bad row or a database hiccup: keep the running schedule
                        log.exception("could not read the schedules; keeping the current ones")
            finally:
                rt.stop.set()
                self.scheduler.shutdown(wait=True)
                runtime_mod.install(None)
        log.info("govpulse scheduler stopped")
        return exit_code
