"""Work done beside the crawl's event loop, in processes of its own: parsing and storing.

The crawl process itself is busy with HTTP; parsing (pure functions, bytes in, PageResult out) and
writing the database take as much CPU again. A pool of parse workers and one store process let a patrol
use more than one core. `patrol.parse_workers` sets the pool's size ("auto": one per core beyond the
first, at most four); 0 parses in the crawl process and stores from a thread of it.

A worker can die under the crawl (killed, out of memory): its pool is then broken, and every task in it
fails. `Respawning` replaces the pool and runs each such task once more; a task whose second run is lost
too is given up (the spider leaves that account without an outcome, for the next patrol to visit), and
past MAX_RESTARTS replacements the crawl stops rather than churn.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from crawlers.compliance import ComplianceSpec, check_posts
from crawlers.items import AccountVisit, PageResult
from crawlers.parsing import content_hash
from registry.config import Settings
from registry.db import make_engine
from registry.observations import StoreStats, store_visits
from registry.errors import ValidationError

log = logging.getLogger(__name__)

MAX_AUTO_WORKERS = 4
PR_SET_PDEATHSIG = 1
MAX_RESTARTS = 5  # replacements of one pool in one crawl, beyond which the crawl stops
TASK_SECONDS = 300.0  # beyond any parse or batch of visits stored (a locked database waits 30 s per try)
WORKERS_LOST = "workers_lost"  # the reason a spider closes with when the pool is exhausted


class WorkerLost(Exception):
    """A task was lost twice with its worker: the task is given up."""


class WorkersExhausted(WorkerLost):
    """The pool died more than MAX_RESTARTS times: the crawl should stop."""


class Respawning:
    """A process pool that is replaced when one of its processes dies. Shared by the crawl's spiders."""

    def __init__(
        self,
        start: Callable[[], ProcessPoolExecutor],
        what: str,
        *,
        limit: int = MAX_RESTARTS,
        task_seconds: float = TASK_SECONDS,
    ) -> None:
        self.start = start
        self.what = what
        self.limit = limit
        self.task_seconds = task_seconds
        self.executor = start()
        self.restarts = 0
        self.lost = 0  # tasks given up

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        for _attempt in (1, 2):
            executor = self.executor
            try:
                future = executor.submit(fn, *args, **kwargs)
                return await asyncio.wait_for(asyncio.wrap_future(future), self.task_seconds)
            except (TimeoutError, BrokenProcessPool):
                # A pool whose process died while it was being started may never fail its tasks: one
                # that outlasts any real task counts as dead too.
                self._replace(executor)
        self.lost += 1
        raise WorkerLost(f"the {self.what} worker died twice while running this task")

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self.executor is not broken:  # every task of the dead pool fails at once: replace it once
            return
        if self.restarts >= self.limit:
            raise WorkersExhausted(f"the {self.what} workers died {self.restarts + 1} times")
        self.restarts += 1
        log.error(
            "a %s worker died (killed or out of memory): starting a new one (%d of at most %d)",
            self.what,
            self.restarts,
            self.limit,
        )
        broken.shutdown(wait=False, cancel_futures=True)
        self.executor = self.start()

    def shutdown(self) -> None:
        # Not waiting: every task was awaited by now, and the processes die with the crawl.
        self.executor.shutdown(wait=False, cancel_futures=True)


def parse_workers(settings: Settings) -> int:
    value = settings.patrol.get("parse_workers", "auto")
    if value in ("auto", None, ""):
        return min(MAX_AUTO_WORKERS, max(0, (os.cpu_count() or 1) - 1))
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = -1
    if count < 0:
        raise ValidationError(
            f"patrol.parse_workers = {value!r} is not a number of processes",
            hint='use "auto", 0 (parse in the crawl process) or a positive number',
        )
    return count


def _worker_init() -> None:
    # The crawl handles signals; a worker only dies with it (even when the crawl is killed outright).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown ends the workers
        pass


def start_pool(workers: int) -> Respawning | None:
    """A pool of fresh interpreters (spawned, not forked: the crawl process has threads and sockets)."""
    if workers <= 0:
        return None
    return Respawning(
        lambda: ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init
        ),
        "parse",
    )


_STORE_ENGINE: Any = None


def _store_init(database_url: str) -> None:
    global _STORE_ENGINE
    _worker_init()
    _STORE_ENGINE = make_engine(database_url)


def start_store(database_url: str) -> Respawning:
    """One process that writes the visits, batch after batch, in the order they are handed over (a batch
    is one transaction, and storing a batch again changes nothing: a batch lost with its process is
    stored again by the next one)."""
    return Respawning(
        lambda: ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_store_init,
            initargs=(database_url,),
        ),
        "store",
    )


def store(visits: list[AccountVisit]) -> StoreStats:
    """In the store process: one batch, one transaction."""
    return store_visits(_STORE_ENGINE, visits)


def parse(
    parser: Callable[..., PageResult], body: bytes, checks: ComplianceSpec | None = None, **args: Any
) -> PageResult:
    """Parse one response, fingerprint its posts' text (the duplicate-content hash costs as much as the
    parsing: it belongs off the event loop too) and run the compliance checks on their full text."""
    result = parser(body, **args)
    for post in result.posts:
        post.content_hash = content_hash(post.title, post.text)
    if checks is not None:
        check_posts(result.posts, checks)
    else:
        for post in result.posts:
            post.full_text = None
    return result


def plain_headers(headers: Mapping[Any, Any]) -> dict[str, str]:
    """Scrapy's headers (bytes, lists of values) as plain text, to send to a worker."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        if isinstance(value, list | tuple):
            value = value[0] if value else b""
        name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        out[name] = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return out
