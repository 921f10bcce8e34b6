"""A patrol keeps its lock together with its crawl: the database locked by another program for longer
than SQLite's busy timeout pauses the patrol's writes and bookkeeping, and the patrol still ends as one,
its lock released with the end of its crawl."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from registry.db import SQLITE_BUSY_MS
from registry.locks import read_lock
from tests.simulation import Crawl
from tests.crawlers.test_patrol_crawl import truth_problems, wait_for

# Twice the busy timeout and more: every writer gives up twice (a store attempt, and the one after it).
HOLD_SECONDS = 2 * SQLITE_BUSY_MS / 1000 + 5


@pytest.mark.slow
def test_a_long_database_lock_does_not_part_the_patrol_from_its_crawl(crawl: Crawl) -> None:
    crawl.configure(concurrency=1, delay=0.2)
    total = len(crawl.scenario.accounts)
    cli = crawl.start("patrol", "--json")
    patrol = wait_for(crawl, 1, cli)
    # Another program holds the write lock across the end of the crawl: the crawl's stores, the lock's
    # heartbeat and the recording of the patrol's end all give up once and must try again.
    blocker = sqlite3.connect(crawl.root / "govpulse.db", isolation_level=None, timeout=30)
    blocker.execute("BEGIN IMMEDIATE")
    blocker.execute("UPDATE patrol SET accounts_total = accounts_total")
    time.sleep(HOLD_SECONDS)
    assert cli.poll() is None, "the patrol ended while the database was locked"
    blocker.execute("COMMIT")
    blocker.close()
    out, err = cli.communicate(timeout=300)
    assert cli.returncode == 0, out + err
    result = json.loads(out)
    assert (result["patrol_id"], result["status"], result["accounts_done"]) == (patrol.id, "finished", total)
    assert truth_problems(crawl, patrol.id, {}) == []
    engine = crawl.engine()
    try:
        assert read_lock(engine, "patrol") is None  # released with the end of the crawl
    finally:
        engine.dispose()
