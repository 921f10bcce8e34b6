"""One run of a schedule: its steps in order, each recorded as it starts and ends.

The steps are given to run_chain by its caller (scheduler.steps.STEPS): this module knows how to run and
record a step, not what the steps are. A step runs only if the one before it succeeded. `notify` is the exception: it runs at the end of every
run that was not interrupted by a shutdown, so that a failure is reported. A step that raises is recorded
as failed with its error and the daemon carries on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

from registry.errors import GovpulseError, LockedError
from registry.i18n import L
from registry.locks import process_start
from registry.models import JobRun, JobStep, Schedule
from registry.timeutil import utcnow
from scheduler.runtime import Runtime
from scheduler.schedules import get_schedule

log = logging.getLogger(__name__)

OK, FAILED, SKIPPED, INTERRUPTED, ABORTED = "succeeded", "failed", "skipped", "interrupted", "aborted"


@dataclass
class StepResult:
    status: str = OK
    counts: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # for later steps: patrol_id, score_run_id, report


Step = Callable[["RunContext"], StepResult]


@dataclass
class RunContext:
    runtime: Runtime
    schedule: Schedule
    run_id: int
    trigger: str
    steps: Mapping[str, Step]
    status: str = OK
    message: str | None = None
    results: dict[str, StepResult] = field(default_factory=dict)

    def data(self, key: str) -> Any:
        for result in self.results.values():
            if key in result.data:
                return result.data[key]
        return None


class _Excerpt(logging.Handler):
    """The log lines of one step (from the thread running it), the last `limit` characters."""

    def __init__(self, limit: int) -> None:
        super().__init__(logging.INFO)
        self.thread = threading.get_ident()
        self.limit = limit
        self.lines: deque[str] = deque()
        self.size = 0
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        self.add(self.format(record))

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.size += len(line) + 1
        while self.size > self.limit and len(self.lines) > 1:
            self.size -= len(self.lines.popleft()) + 1

    def text(self) -> str:
        return "\n".join(self.lines)[-self.limit :]


@contextmanager
def _captured(limit: int) -> Iterator[_Excerpt]:
    handler = _Excerpt(limit)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def _record_step(
    ctx: RunContext, step: str, result: StepResult, *, step_id: int | None = None, excerpt: str | None = None
) -> None:
    values = {
        "finished_at": utcnow(),
        "status": result.status,
        "counts": result.counts,
        "log_excerpt": excerpt if excerpt is not None else result.message,
    }
    with ctx.runtime.engine.begin() as conn:
        if step_id is None:
            conn.execute(
                insert(JobStep).values(run_id=ctx.run_id, step=step, started_at=values["finished_at"], **values)
            )
        else:
            conn.execute(update(JobStep).where(JobStep.id == step_id).values(**values))  # type: ignore[arg-type]


def run_step(ctx: RunContext, step: str) -> StepResult:
    engine = ctx.runtime.engine
    with engine.begin() as conn:
        step_id = conn.execute(
            insert(JobStep).values(run_id=ctx.run_id, step=step, started_at=utcnow(), status="running", counts={})
        ).inserted_primary_key[0]
    log.info("schedule %s run %s: %s started", ctx.schedule.name, ctx.run_id, step)
    with _captured(int(ctx.runtime.conf("log_excerpt_chars") or 4000)) as excerpt:
        try:
            result = ctx.steps[step](ctx)
        except LockedError as exc:
            result = StepResult(status=INTERRUPTED if ctx.runtime.stop.is_set() else SKIPPED, message=exc.message)
        except GovpulseError as exc:
            result = StepResult(status=FAILED, message=exc.message + (f" ({exc.hint})" if exc.hint else ""))
        except Exception as exc:  # a crashed step is recorded; the daemon carries on
            result = StepResult(status=FAILED, message=f"{type(exc).__name__}: {exc}")
            excerpt.add(traceback.format_exc())
        if result.message:
            excerpt.add(result.message)
    _record_step(ctx, step, result, step_id=step_id, excerpt=excerpt.text())
    log.log(
        logging.INFO if result.status == OK else logging.WARNING,
        "schedule %s run %s: %s %s%s",
        ctx.schedule.name,
        ctx.run_id,
        step,
        result.status,
        f": {result.message}" if result.message else "",
    )
    ctx.results[step] = result
    return result


def _start_run(runtime: Runtime, name: str, trigger: str, status: str = "running", message: str | None = None) -> int:
    now = utcnow()
    with runtime.engine.begin() as conn:
        return conn.execute(
            insert(JobRun).values(
                schedule_name=name,
                trigger=trigger,
                started_at=now,
                status=status,
                pid=os.getpid(),
                pid_start=process_start(os.getpid()),
                host=socket.gethostname()[:200],
                message=message,
                finished_at=None if status == "running" else now,
            )
        ).inserted_primary_key[0]


def _finish_run(ctx: RunContext) -> None:
    with ctx.runtime.engine.begin() as conn:
        conn.execute(
            update(JobRun)
            .where(JobRun.id == ctx.run_id)  # type: ignore[arg-type]
            .values(status=ctx.status, finished_at=utcnow(), message=(ctx.message or None) and ctx.message[:2000])
        )


def record_skipped_run(runtime: Runtime, name: str, trigger: str, message: str) -> int:
    log.warning("schedule %s: run skipped: %s", name, message)
    return _start_run(runtime, name, trigger, status=SKIPPED, message=message)


def run_chain(runtime: Runtime, name: str, *, trigger: str, steps: Mapping[str, Step]) -> int | None:
    """Run a schedule's chain once with these steps (by name); returns the JobRun id (None if the
    schedule is gone or paused)."""
    try:
        schedule = get_schedule(runtime.engine, name)
    except GovpulseError:
        log.warning("schedule %s no longer exists: nothing to run", name)
        return None
    if schedule.paused and trigger != "manual":
        return None
    guard = runtime.schedule_guard(name)
    if not guard.acquire(blocking=False):
        return record_skipped_run(
            runtime, name, trigger, L("上一次运行尚未结束", "the previous run of this schedule is still running")
        )
    try:
        ctx = RunContext(
            runtime=runtime, schedule=schedule, trigger=trigger, steps=steps, run_id=_start_run(runtime, name, trigger)
        )
        log.info("schedule %s run %s (%s): %s", name, ctx.run_id, trigger, " → ".join(schedule.chain))
        try:
            _run_steps(ctx)
            if ctx.status != INTERRUPTED:
                apply_retention(runtime)
        except BaseException as exc:  # the bookkeeping itself failed (database gone): still close the run
            ctx.status, ctx.message = FAILED, f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _finish_run(ctx)
            log.info("schedule %s run %s: %s", name, ctx.run_id, ctx.status)
        return ctx.run_id
    finally:
        guard.release()


def apply_retention(runtime: Runtime) -> None:
    """Prune what [retention] no longer keeps, after a chain (its failure is logged, the run stands)."""
    from registry.policy import load_policy
    from registry.retention import Retention, prune

    settings = runtime.settings
    try:
        retention = Retention.from_settings(settings)
        if not retention.after_chain:
            return
        log_dir, out_dir = settings.patrol.get("log_dir"), settings.report.get("out_dir")
        result = prune(
            runtime.engine,
            retention,
            policy_depth=load_policy(settings).history_depth,
            log_dir=Path(str(log_dir)).expanduser() if log_dir else None,
            report_dir=Path(str(out_dir)).expanduser() if out_dir else None,
        )
        log.info("retention: removed %s", {**result.rows, **result.files})
    except Exception:
        log.exception("retention after the chain failed")


def _run_steps(ctx: RunContext) -> None:
    for step in (s for s in ctx.schedule.chain if s != "notify"):
        if ctx.status == OK and ctx.runtime.stop.is_set():
            ctx.status, ctx.message = INTERRUPTED, L("守护进程正在关闭", "the daemon is shutting down")
        if ctx.status != OK:
            _record_step(
                ctx, step, StepResult(status=SKIPPED, message=L("前一步未成功", "an earlier step did not succeed"))
            )
            continue
        result = run_step(ctx, step)
        if result.status != OK:
            ctx.status, ctx.message = result.status, f"{step}: {result.message or result.status}"
    if "notify" in ctx.schedule.chain and ctx.status != INTERRUPTED:
        run_step(ctx, "notify")  # its own failure is recorded on the step, not on the run
