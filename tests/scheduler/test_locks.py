"""The lock shared by the daemon and the CLI: exclusive across processes, waits, recovers from a dead
holder, on SQLite and PostgreSQL (db_url runs each test on both)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from registry.errors import LockedError
from registry.i18n import set_lang
from registry.locks import acquire_lock, read_lock
from registry.models import Lock
from registry.timeutil import utcnow

HOLDER = """
import sys, time
from registry.db import make_engine
from registry.locks import acquire_lock
engine = make_engine(sys.argv[1])
with acquire_lock(engine, "patrol", holder="manual patrol", heartbeat_seconds=0.2):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("GOVPULSE_LANG", "en")  # also for threads, which do not inherit set_lang()
    set_lang(None)


def start_holder(db_url: str, hold_seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db_url, str(hold_seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_second_holder_is_refused_with_who_holds_it(engine, db_url) -> None:
    proc = start_holder(db_url, 30)
    try:
        with pytest.raises(LockedError) as err:
            with acquire_lock(engine, "patrol", holder="schedule nightly"):
                pass
        assert err.value.message.startswith(
            f"a patrol is running: held by manual patrol pid {proc.pid} on {socket.gethostname()} since "
        )
        assert read_lock(engine, "patrol").pid == proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_waiter_gets_the_lock_when_the_holder_finishes(engine, db_url) -> None:
    proc = start_holder(db_url, 1.0)
    started = time.monotonic()
    with acquire_lock(engine, "patrol", holder="schedule nightly", wait_seconds=20) as handle:
        assert time.monotonic() - started >= 0.5  # it had to wait for the holder's second
        assert read_lock(engine, "patrol").token == handle.token
    assert proc.wait(10) == 0
    assert read_lock(engine, "patrol") is None


def test_lock_of_a_killed_process_is_recovered_at_once(engine, db_url) -> None:
    proc = start_holder(db_url, 60)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = read_lock(engine, "patrol")
    assert left is not None and left.pid == proc.pid  # the row outlives its holder
    with acquire_lock(engine, "patrol", holder="schedule nightly") as handle:
        assert read_lock(engine, "patrol").token == handle.token
        assert read_lock(engine, "patrol").pid == os.getpid()


def _plant(engine, *, host: str, heartbeat_age: float) -> None:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(Lock.__table__).values(
                name="patrol",
                token="other",
                holder="remote patrol",
                pid=1,
                host=host,
                acquired_at=now - timedelta(hours=1),
                heartbeat_at=now - timedelta(seconds=heartbeat_age),
            )
        )


def test_holder_on_another_host_is_trusted_while_its_heartbeat_is_fresh(engine) -> None:
    _plant(engine, host="other-server", heartbeat_age=5)
    with pytest.raises(LockedError, match="held by remote patrol pid 1 on other-server"):
        with acquire_lock(engine, "patrol", holder="me", stale_after=60):
            pass


def test_holder_whose_heartbeat_stopped_is_taken_over(engine) -> None:
    _plant(engine, host="other-server", heartbeat_age=300)
    with acquire_lock(engine, "patrol", holder="me", stale_after=60) as handle:
        assert read_lock(engine, "patrol").token == handle.token


def test_heartbeat_is_refreshed_while_held_and_loss_is_noticed(engine) -> None:
    with acquire_lock(engine, "patrol", holder="me", heartbeat_seconds=0.05) as handle:
        first = read_lock(engine, "patrol").heartbeat_at
        deadline = time.monotonic() + 10
        while read_lock(engine, "patrol").heartbeat_at == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert read_lock(engine, "patrol").heartbeat_at > first
        with engine.begin() as conn:  # another process took it over
            conn.execute(Lock.__table__.delete())
        assert handle.lost.wait(10)


def test_reentrant_in_one_thread_exclusive_across_threads(engine) -> None:
    refused: list[str] = []

    def other_thread() -> None:
        try:
            with acquire_lock(engine, "patrol", holder="thread"):
                refused.append("got it")
        except LockedError as exc:
            refused.append(exc.message)

    with acquire_lock(engine, "patrol", holder="outer") as outer:
        with acquire_lock(engine, "patrol", holder="inner") as inner:
            assert inner is outer
        assert read_lock(engine, "patrol").token == outer.token  # inner exit did not release
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert refused and refused[0].startswith("a patrol is running: held by outer")
    assert read_lock(engine, "patrol") is None


def test_wait_gives_up_on_shutdown(engine, db_url) -> None:
    proc = start_holder(db_url, 30)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    try:
        with pytest.raises(LockedError, match="shutting down"):
            with acquire_lock(engine, "patrol", holder="me", wait_seconds=60, stop_event=stop):
                pass
        assert time.monotonic() - started < 10
    finally:
        proc.kill()
        proc.wait()


def test_released_even_when_the_block_fails(engine) -> None:
    with pytest.raises(RuntimeError):
        with acquire_lock(engine, "patrol", holder="me"):
            raise RuntimeError("crawl crashed")
    with engine.connect() as conn:
        assert conn.execute(select(Lock.__table__)).all() == []


def test_a_lock_whose_pid_now_belongs_to_another_process_is_taken_over(engine) -> None:
    """The holder died and its pid went to another process: the row's start time tells them apart."""
    from registry.locks import process_start

    other = subprocess.Popen(["sleep", "60"])
    try:
        now = utcnow()
        row = {
            "name": "patrol",
            "token": "dead",
            "holder": "govpulse patrol",
            "pid": other.pid,
            "host": socket.gethostname(),
            "acquired_at": now,
            "heartbeat_at": now,
        }
        with engine.begin() as conn:
            conn.execute(insert(Lock.__table__).values(**row, pid_start="another-boot:1"))
        with acquire_lock(engine, "patrol", holder="me") as handle:
            assert read_lock(engine, "patrol").token == handle.token
            assert read_lock(engine, "patrol").pid_start == process_start(os.getpid())
        # The same pid with its own start time is the holder itself: refused.
        with engine.begin() as conn:
            conn.execute(insert(Lock.__table__).values(**row, pid_start=process_start(other.pid)))
        with pytest.raises(LockedError, match=f"held by govpulse patrol pid {other.pid}"):
            with acquire_lock(engine, "patrol", holder="me"):
                pass
    finally:
        other.kill()
        other.wait()
