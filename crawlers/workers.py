"""Work done beside the crawl's event loop, in processes of its own: parsing and storing.

The crawl process itself is busy with HTTP; parsing (pure functions, bytes in, PageResult out) and
writing the database take as much CPU again. A pool of parse workers and one store process let a patrol
use more than one core. `patrol.parse_workers` sets the pool's size ("auto": one per core beyond the
first, at most four); 0 parses in the crawl process and stores from a thread of it.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from crawlers.items import AccountVisit, PageResult
from crawlers.parsing import content_hash
from registry.config import Settings
from registry.db import make_engine
from registry.observations import StoreStats, store_visits
from registry.errors import ValidationError

MAX_AUTO_WORKERS = 4
PR_SET_PDEATHSIG = 1


def parse_workers(settings: Settings) -> int:
    value = settings.patrol.get("parse_workers", "auto")
    if value in ("auto", None, ""):
        return min(MAX_AUTO_WORKERS, max(0, (os.cpu_count() or 1) - 1))
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = -1
    if count < 0:
        raise ValidationError(f"patrol.parse_workers = {value!r} is not a number of processes",
                              hint='use "auto", 0 (parse in the crawl process) or a positive number')
    return count


def _worker_init() -> None:
    # The crawl handles signals; a worker only dies with it (even when the crawl is killed outright).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown ends the workers
        pass


def start_pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool of fresh interpreters (spawned, not forked: the crawl process has threads and sockets)."""
    if workers <= 0:
        return None
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init)


_STORE_ENGINE: Any = None


def _store_init(database_url: str) -> None:
    global _STORE_ENGINE
    _worker_init()
    _STORE_ENGINE = make_engine(database_url)


def start_store(database_url: str) -> ProcessPoolExecutor:
    """One process that writes the visits, batch after batch, in the order they are handed over."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_store_init, initargs=(database_url,))


def store(visits: list[AccountVisit]) -> StoreStats:
    """In the store process: one batch, one transaction."""
    return store_visits(_STORE_ENGINE, visits)


def parse(parser: Callable[..., PageResult], body: bytes, **args: Any) -> PageResult:
    """Parse one response and fingerprint its posts' text (the duplicate-content hash costs as much as
    the parsing: it belongs off the event loop too)."""
    result = parser(body, **args)
    for post in result.posts:
        post.content_hash = content_hash(post.title, post.text)
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
