"""Named locks shared by the daemon and the CLI, on SQLite and PostgreSQL alike.

A lock is a row in the `lock` table, taken with one INSERT ... ON CONFLICT DO NOTHING (atomic on both
backends; on SQLite inside BEGIN IMMEDIATE). While it is held a thread refreshes `heartbeat_at`. A row
whose holder is gone is taken over: the holder's process is gone on this host (its pid is dead, or now
belongs to another process: the row keeps the holder's start time, `pid_start`), or its heartbeat is
older than `stale_after` (a holder on another host, or a frozen one). Takeover deletes the row by its token
(compare-and-delete), so two processes recovering the same stale lock cannot both win.

Re-entrant within one thread: a caller that already holds a lock (the scheduler around a patrol) can
call code that takes it again (the patrol launcher) without deadlocking itself.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, Engine

from registry.errors import LockedError
from registry.i18n import L
from registry.models import Lock
from registry.timeutil import to_local, utcnow

log = logging.getLogger(__name__)

STALE_AFTER = 120.0  # seconds without a heartbeat after which a lock is taken over
POLL_SECONDS = 0.5  # how often a waiting caller retries

# What each well-known lock protects, for the error message.
PURPOSES: dict[str, tuple[str, str]] = {
    "patrol": ("巡查正在进行", "a patrol is running"),
    "daemon": ("调度守护进程已在运行", "the scheduler daemon is already running"),
}

_table = Lock.__table__


@dataclass(frozen=True)
class LockInfo:
    """Who holds a lock, as stored."""

    name: str
    token: str
    holder: str
    pid: int
    host: str
    acquired_at: datetime
    heartbeat_at: datetime
    pid_start: str | None = None

    def is_stale(self, *, stale_after: float, now: datetime | None = None) -> bool:
        """The holder is gone: its pid is dead on this host, or its heartbeat stopped."""
        now = now or utcnow()
        if now - self.heartbeat_at > timedelta(seconds=stale_after):
            return True
        if self.host != socket.gethostname():
            return False
        if self.pid == os.getpid():
            # Our pid but not one of our acquisitions: left by an earlier process that had our pid
            # (pid 1 in a restarted container).
            return self.token not in _held_tokens()
        return not process_alive(self.pid, self.pid_start)

    def describe(self) -> str:
        since = to_local(self.acquired_at)
        when = since.strftime("%Y-%m-%d %H:%M:%S") if since else "?"
        return L(
            f"由 {self.holder} 持有 (pid {self.pid}, 主机 {self.host}, 始于 {when})",
            f"held by {self.holder} pid {self.pid} on {self.host} since {when}",
        )


@dataclass
class LockHandle:
    """A held lock. `lost` is set if the row was taken from us (our heartbeat stopped for too long)."""

    name: str
    holder: str
    token: str
    lost: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Held:
    handle: LockHandle
    thread: int
    depth: int = 1


_HELD: dict[tuple[str, str], _Held] = {}
_HELD_GUARD = threading.Lock()


def _held_tokens() -> set[str]:
    with _HELD_GUARD:
        return {h.handle.token for h in _HELD.values()}


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def process_start(pid: int) -> str | None:
    """What tells this process from a later one with the same pid: the boot and the start time in
    clock ticks since boot (/proc/PID/stat, field 22). None where /proc is not readable."""
    try:
        ticks = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except (OSError, IndexError):
        return None
    return f"{boot}:{ticks}"


def process_alive(pid: int, start: str | None) -> bool:
    """Whether the process recorded as (pid, start) still runs on this host: the pid is alive and, when
    the start was recorded, it is still the same process (a pid is reused after its process ended)."""
    if not pid_alive(pid):
        return False
    if start is None:
        return True
    now = process_start(pid)
    return now is None or now == start


def read_lock(engine: Engine, name: str) -> LockInfo | None:
    with engine.connect() as conn:
        return _read(conn, name)


def _read(conn: Connection, name: str) -> LockInfo | None:
    row = conn.execute(select(_table).where(_table.c.name == name)).mappings().one_or_none()
    return None if row is None else LockInfo(**{k: row[k] for k in LockInfo.__dataclass_fields__})


def _insert(conn: Connection, values: dict[str, object]) -> bool:
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    stmt = insert(_table).values(**values).on_conflict_do_nothing(index_elements=["name"])
    # RETURNING, not rowcount: drivers report -1 for INSERT ... ON CONFLICT.
    return conn.execute(stmt.returning(_table.c.token)).first() is not None


def _try_acquire(engine: Engine, handle: LockHandle, stale_after: float) -> LockInfo | None:
    """One attempt in one transaction. None = acquired; else who holds it."""
    now = utcnow()
    values = {
        "name": handle.name,
        "token": handle.token,
        "holder": handle.holder[:200],
        "pid": os.getpid(),
        "pid_start": process_start(os.getpid()),
        "host": socket.gethostname()[:200],
        "acquired_at": now,
        "heartbeat_at": now,
    }
    with engine.begin() as conn:
        if _insert(conn, values):
            return None
        current = _read(conn, handle.name)
        if current is None:  # released between our insert and our read: try again at once
            return None if _insert(conn, values) else _read(conn, handle.name)
        if not current.is_stale(stale_after=stale_after, now=now):
            return current
        log.warning("taking over the stale lock %r (%s)", handle.name, current.describe())
        conn.execute(delete(_table).where(_table.c.name == handle.name, _table.c.token == current.token))
        return None if _insert(conn, values) else _read(conn, handle.name)


def _locked_error(name: str, info: LockInfo | None, stale_after: float, reason: str = "") -> LockedError:
    what_zh, what_en = PURPOSES.get(name, (f"锁 {name} 被占用", f"the lock {name!r} is held"))
    detail = info.describe() if info else L("持有者刚刚释放", "just released")
    exc = LockedError(
        f"{L(what_zh, what_en)}: {detail}{reason}",
        hint=L(
            f"等待其结束后重试; 若该进程已不存在, 锁会在 {stale_after:.0f} 秒内自动回收",
            f"wait for it to finish and try again; if that process is gone the lock is recovered "
            f"within {stale_after:.0f} s",
        ),
    )
    exc.holder_info = info  # type: ignore[attr-defined]
    return exc


def _heartbeat(engine: Engine, handle: LockHandle, interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            with engine.begin() as conn:
                result = conn.execute(
                    update(_table)
                    .where(_table.c.name == handle.name, _table.c.token == handle.token)
                    .values(heartbeat_at=utcnow())
                )
        except Exception as exc:  # the database is briefly unreachable: keep trying
            log.warning("lock %r: heartbeat failed: %s", handle.name, exc)
            continue
        if result.rowcount == 0:
            log.error("lock %r was taken over by another process", handle.name)
            handle.lost.set()
            return


@contextmanager
def acquire_lock(
    engine: Engine,
    name: str,
    *,
    holder: str,
    wait_seconds: float = 0,
    stale_after: float = STALE_AFTER,
    heartbeat_seconds: float | None = None,
    stop_event: threading.Event | None = None,
) -> Iterator[LockHandle]:
    """Hold the named lock for the duration of the block.

    Waits up to `wait_seconds` for another holder to finish (0: fail at once), then raises LockedError
    saying who holds it. Setting `stop_event` gives up the wait early (shutdown).
    """
    key = (engine.url.render_as_string(hide_password=True), name)
    me = threading.get_ident()
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None and held.thread == me:
            held.depth += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield held.handle  # type: ignore[union-attr]
        finally:
            with _HELD_GUARD:
                held.depth -= 1  # type: ignore[union-attr]
        return

    handle = LockHandle(name=name, holder=holder, token=uuid.uuid4().hex)
    deadline = time.monotonic() + max(wait_seconds, 0)
    while True:
        info = _try_acquire(engine, handle, stale_after)
        if info is None:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _locked_error(name, info, stale_after)
        pause = min(POLL_SECONDS, remaining)
        if stop_event is not None:
            if stop_event.wait(pause):
                raise _locked_error(
                    name, info, stale_after, L(" (停止等待: 正在关闭)", " (stopped waiting: shutting down)")
                )
        else:
            time.sleep(pause)

    with _HELD_GUARD:
        _HELD[key] = _Held(handle=handle, thread=me)
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat,
        name=f"lock-heartbeat-{name}",
        daemon=True,
        args=(engine, handle, heartbeat_seconds or max(stale_after / 4, 0.05), stop),
    )
    beat.start()
    try:
        yield handle
    finally:
        stop.set()
        beat.join()
        with _HELD_GUARD:
            _HELD.pop(key, None)
        try:
            with engine.begin() as conn:
                conn.execute(delete(_table).where(_table.c.name == name, _table.c.token == handle.token))
        except Exception as exc:  # left for stale recovery; never hide the block's own error
            log.error("lock %r could not be released: %s", name, exc)
