"""What a running chain needs: settings, the database, the shutdown signal.

APScheduler jobs get only the schedule name (`scheduler.jobs:run_schedule`); the daemon installs its
runtime here before it starts the scheduler.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from registry.config import Settings
from scheduler.cron import zone


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    stop: threading.Event = field(default_factory=threading.Event)
    _catchups: set[str] = field(default_factory=set)
    _running: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def tz(self) -> ZoneInfo:
        return zone(str(self.conf("timezone")))

    def conf(self, key: str) -> Any:
        """A [scheduler] setting, as the configuration file gave it (checked when the settings load)."""
        return self.settings.get("scheduler", key)

    def mark_catchup(self, name: str) -> None:
        with self._guard:
            self._catchups.add(name)

    def take_catchup(self, name: str) -> bool:
        """Whether the next run of `name` is the catch-up one (asked once)."""
        with self._guard:
            if name in self._catchups:
                self._catchups.discard(name)
                return True
            return False

    def schedule_guard(self, name: str) -> threading.Lock:
        """At most one run of a schedule at a time in this process, whatever fired it."""
        with self._guard:
            return self._running.setdefault(name, threading.Lock())


_current: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("no scheduler runtime installed: jobs run inside `govpulse run`")
    return _current
