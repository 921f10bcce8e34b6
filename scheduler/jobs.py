"""Job functions APScheduler calls, by reference ("scheduler.jobs:run_schedule"), with the schedule name."""

from __future__ import annotations

from scheduler.chain import run_chain
from scheduler.runtime import current
from scheduler.steps import STEPS

JOB_REF = "scheduler.jobs:run_schedule"


def run_schedule(name: str) -> None:
    runtime = current()
    run_chain(runtime, name, trigger="catchup" if runtime.take_catchup(name) else "cron", steps=STEPS)
