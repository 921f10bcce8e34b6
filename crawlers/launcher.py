"""Starting a patrol: the Patrol row, the crawl subprocess, progress, time limit, interruption.

The crawl runs in its own process (`python -m crawlers.run`) because a Twisted reactor cannot be
restarted; the caller (the CLI or the scheduler) only watches it through the database. Interrupted
(Ctrl-C, time limit, a killed process), a patrol keeps what it stored, and the next patrol over the
same scope completes it instead of starting over.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from crawlers import queue
from crawlers.patrols import PatrolResult, ProgressInfo, log_path, log_tail, resolve_scope
from crawlers.run import EXIT_INCOMPLETE, EXIT_INTERRUPTED, SETTINGS_ENV, settings_for_child
from crawlers.settings import check as check_settings
from registry.config import Settings
from registry.db import open_engine, retrying
from registry.errors import LockedError
from registry.i18n import L
from registry.locks import LockHandle, acquire_lock, process_alive, process_start
from registry.observations import (
    ABORTED,
    FAILED,
    RUNNING,
    count_in_scope,
    finish_patrol,
    get_patrol,
    interrupted_patrol,
    mark_failed,
    patrol_progress,
    patrol_summary,
    reopen_patrol,
    running_patrols,
    set_patrol_pid,
    start_patrol,
)
from registry.patrol_scope import PatrolScope

LOCK_NAME = "patrol"
POLL_SECONDS = 0.5
# After SIGTERM the crawl stores its buffer and closes; past this it is killed.
STOP_GRACE_SECONDS = 30.0
log = logging.getLogger(__name__)


def run_patrol(
    settings: Settings,
    *,
    scope: PatrolScope,
    time_limit: float | None = None,
    on_progress: Callable[[ProgressInfo], None] | None = None,
    stop_event: threading.Event | None = None,
    resume: bool = True,
    lock_wait: float = 0.0,
    engine: Engine | None = None,
) -> PatrolResult:
    """Run one patrol to its end and say how it went.

    Takes the "patrol" lock (shared with the scheduler; LockedError when another patrol runs). With
    `resume`, an interrupted patrol over the same scope is completed rather than started over.
    `time_limit` (seconds; default patrol.time_limit_seconds, 0 = none) and `stop_event` stop the crawl
    gracefully, as does Ctrl-C; what was stored stays.
    """
    check_settings(settings)  # a bad route or number fails here, before anything is written
    distributed = queue.enabled(settings)
    if distributed:
        queue.check_backend(settings, what=L("分布式巡查", "a distributed patrol"))
        queue.queue_settings(settings)
    own_engine = engine is None
    engine = engine or open_engine(settings.database_url)
    try:
        with acquire_lock(engine, LOCK_NAME, holder=f"patrol pid {os.getpid()}", wait_seconds=lock_wait) as lock:
            _check_no_crawl_running(engine)
            limit = float(settings.patrol.get("time_limit_seconds") or 0) if time_limit is None else time_limit
            if distributed:  # shards queued for the workers of every host
                from crawlers import shards

                patrol_id, resumed = shards.open_patrol(engine, settings, scope, resume)
                return shards.watch(
                    engine,
                    settings,
                    patrol_id,
                    resumed=resumed,
                    time_limit=limit,
                    on_progress=on_progress,
                    stop_event=stop_event,
                )
            patrol_id, resumed = _open_patrol(engine, settings, scope, resume)
            return _watch(
                engine,
                settings,
                patrol_id,
                resumed=resumed,
                time_limit=limit,
                on_progress=on_progress,
                stop_event=stop_event,
                lock=lock,
            )
    finally:
        if own_engine:
            engine.dispose()


def _check_no_crawl_running(engine: Engine) -> None:
    """A crawl left running by a launcher that died keeps its patrol RUNNING with a live pid: never run
    a second one beside it. Patrols whose process is gone are marked failed (and can be resumed)."""
    stale = []
    for patrol in running_patrols(engine):
        if crawl_alive(patrol):
            raise LockedError(
                L(
                    f"巡查 {patrol.id} 的抓取进程仍在运行 (pid {patrol.pid})",
                    f"the crawl of patrol {patrol.id} is still running (pid {patrol.pid})",
                ),
                hint=L("等待其结束, 或结束该进程后重试", "wait for it to finish, or stop that process and retry"),
            )
        stale.append(int(patrol.id))  # type: ignore[arg-type]
    mark_failed(engine, stale, reason="the crawl process ended without recording the end of the patrol")


def crawl_alive(patrol: Any) -> bool:
    """Whether the crawl process recorded on a patrol row still runs: its pid alive and still the same
    process (its recorded start; for rows without one, a process that runs this very patrol's crawl)."""
    pid = patrol.pid
    if not pid or not process_alive(pid, patrol.pid_start):
        return False
    if patrol.pid_start is not None:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # cannot tell: assume it is ours
    return b"crawlers.run" in cmdline and str(patrol.id).encode() in cmdline


def _open_patrol(engine: Engine, settings: Settings, scope: PatrolScope, resume: bool) -> tuple[int, bool]:
    if resume:
        hours = float(settings.patrol.get("resume_hours", 24) or 0)
        previous = interrupted_patrol(engine, scope, within=timedelta(hours=hours), is_alive=crawl_alive)
        if previous is not None:
            reopen_patrol(engine, int(previous.id))  # type: ignore[arg-type]
            return int(previous.id), True  # type: ignore[arg-type]
    resolved = resolve_scope(engine, scope)
    return start_patrol(engine, scope=resolved, accounts_total=count_in_scope(engine, resolved)), False


def _spawn(settings: Settings, patrol_id: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "crawlers.run", "--patrol-id", str(patrol_id)]
    if settings.path is not None:
        cmd += ["--config", str(settings.path)]
    # The database URL goes in the environment: a password on a command line is visible to every user.
    env = {**os.environ, SETTINGS_ENV: settings_for_child(settings), "GOVPULSE_DATABASE_URL": settings.database_url}
    with log.open("ab") as out:
        # Its own session: a Ctrl-C on the terminal reaches the launcher only, which then stops the
        # crawl with one SIGTERM (a second signal would make Scrapy drop its buffer).
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )


def _watch(
    engine: Engine,
    settings: Settings,
    patrol_id: int,
    *,
    resumed: bool,
    time_limit: float,
    on_progress: Callable[[ProgressInfo], None] | None,
    stop_event: threading.Event | None,
    lock: LockHandle | None = None,
) -> PatrolResult:
    """Run the crawl and wait for it. The crawl lives exactly as long as this call holds the patrol
    lock: the database being unreachable for a while only pauses the progress report, the lock being
    taken over stops the crawl, and any error here stops the crawl before the lock is let go."""
    log = log_path(settings, patrol_id)
    started = time.monotonic()
    child = _spawn(settings, patrol_id, log)
    stopped_by: str | None = None
    try:
        retrying(lambda: set_patrol_pid(engine, patrol_id, child.pid, process_start(child.pid)))
        done_at_start = retrying(lambda: patrol_progress(engine, patrol_id).accounts_done)
        stop_sent: float | None = None
        while True:
            try:
                finished = _wait(child, POLL_SECONDS)
                elapsed = time.monotonic() - started
                if on_progress is not None:
                    _report(engine, patrol_id, on_progress, elapsed, done_at_start)
                if finished:
                    break
                reason = _stop_reason(elapsed, time_limit, stop_event, lock)
                if stop_sent is None and reason:
                    stopped_by, stop_sent = reason, time.monotonic()
                    child.send_signal(signal.SIGTERM)
                elif stop_sent is not None and time.monotonic() - stop_sent > STOP_GRACE_SECONDS:
                    child.kill()
            except KeyboardInterrupt:
                if stop_sent is None:
                    stopped_by, stop_sent = "interrupt", time.monotonic()
                    child.send_signal(signal.SIGTERM)
                else:
                    child.kill()
    except BaseException:
        _stop(child)
        raise
    rc = child.returncode
    patrol = retrying(lambda: get_patrol(engine, patrol_id))
    message = None
    if patrol is not None and patrol.status == RUNNING:  # the crawl died without recording its end
        message = _death_message(rc, log, settings)
        retrying(
            lambda: finish_patrol(
                engine,
                patrol_id,
                status=ABORTED if stopped_by else FAILED,
                exit_code=rc,
                summary={**patrol_summary(engine, patrol_id), "error": message},
            )
        )
        patrol = retrying(lambda: get_patrol(engine, patrol_id))
    elif rc not in (0, EXIT_INTERRUPTED, EXIT_INCOMPLETE):
        message = _death_message(rc, log, settings)
    if stopped_by == "lock_lost":
        message = L(
            "巡查锁被其他进程接管, 抓取已停止",
            "the patrol lock was taken over by another process: the crawl was stopped",
        )
    assert patrol is not None
    workers = dict((patrol.summary or {}).get("workers") or {})
    if rc == EXIT_INCOMPLETE:
        message = workers_message(workers)
    summary = retrying(lambda: patrol_summary(engine, patrol_id))
    return PatrolResult(
        patrol_id=patrol_id,
        status=patrol.status,
        exit_code=rc,
        accounts_total=patrol.accounts_total,
        accounts_done=summary["accounts_done"],
        outcomes=summary["outcomes"],
        by_platform=summary["by_platform"],
        posts_seen=summary["posts_seen"],
        posts_new=summary["posts_new"],
        elapsed=time.monotonic() - started,
        resumed=resumed,
        stopped_by=stopped_by,
        log_path=log,
        message=message,
        workers=workers,
    )


def workers_message(workers: dict[str, int]) -> str:
    """What dying worker processes did to a patrol, in one line."""
    restarts = int(workers.get("parse_restarts", 0)) + int(workers.get("store_restarts", 0))
    left = int(workers.get("abandoned", 0))
    text = L(
        f"工作进程意外终止 {restarts} 次, 已重新启动", f"worker processes died {restarts} time(s) and were replaced"
    )
    if left:
        text += L(
            f"; {left} 个账号未完成访问, 下次巡查同一范围时补完",
            f"; {left} account(s) were left unvisited for the next patrol over the same scope",
        )
    return text


def _stop_reason(
    elapsed: float, time_limit: float, stop_event: threading.Event | None, lock: LockHandle | None
) -> str | None:
    if lock is not None and lock.lost.is_set():
        return "lock_lost"
    if time_limit and elapsed > time_limit:
        return "time_limit"
    if stop_event is not None and stop_event.is_set():
        return "stop_event"
    return None


def _report(
    engine: Engine, patrol_id: int, on_progress: Callable[[ProgressInfo], None], elapsed: float, done_at_start: int
) -> None:
    """One progress report; skipped while the database cannot be read (the crawl carries on)."""
    try:
        progress = patrol_progress(engine, patrol_id)
    except OperationalError as exc:
        log.warning("patrol %d: progress not readable for now: %s", patrol_id, str(exc).splitlines()[0])
        return
    on_progress(ProgressInfo.of(progress, elapsed, done_at_start))


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Stop the crawl (it stores its buffer on SIGTERM), killing it past the grace time."""
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _wait(child: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        child.wait(timeout=seconds)
        return True
    except subprocess.TimeoutExpired:
        return False


def _death_message(rc: int | None, log: Path, settings: Settings) -> str:
    if rc is not None and rc < 0:
        what = L(f"抓取进程被信号 {-rc} 终止", f"the crawl process was killed by signal {-rc}")
    else:
        what = L(f"抓取进程退出码 {rc}", f"the crawl process exited with code {rc}")
    tail = log_tail(log, settings)
    return f"{what}: {tail}" if tail else what
