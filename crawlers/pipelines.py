"""Stores account visits in batches: about 500 visits or 2 seconds per transaction, off the event loop
(in the crawl's store process, see crawlers/workers.py).

A crawl killed outright loses at most the visits of the batch not yet stored; their accounts have no
outcome in the patrol, so the next patrol over the same scope visits them again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from scrapy.utils.asyncio import AsyncioLoopingCall, create_looping_call, run_in_thread

from crawlers.items import AccountVisit
from crawlers.workers import WORKERS_LOST, WorkersExhausted, store
from registry.observations import StoreStats, store_visits

log = logging.getLogger(__name__)

FLUSH_VISITS = 500
FLUSH_SECONDS = 2.0
# Consecutive failed transactions (database gone, disk full) after which the crawl stops: visiting
# more accounts would only add to what cannot be stored.
MAX_STORE_FAILURES = 3
STORE_FAILED = "store_failed"
UNSTORED = "govpulse/unstored"  # visits the crawl could not store before it closed


class VisitPipeline:
    def __init__(self, crawler: Any, *, flush_visits: int = FLUSH_VISITS, flush_seconds: float = FLUSH_SECONDS):
        self.crawler = crawler
        self.flush_visits = flush_visits
        self.flush_seconds = flush_seconds
        self.buffer: list[AccountVisit] = []
        self.lock = asyncio.Lock()
        self.last_flush = time.monotonic()
        self.totals = StoreStats()
        self.timer: AsyncioLoopingCall | Any = None
        self.failures = 0
        self.tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> VisitPipeline:
        return cls(crawler)

    async def _store(self, batch: list[AccountVisit]) -> StoreStats:
        """In the crawl's store process when it has one, else in a thread."""
        spider = self.crawler.spider
        if spider.store_pool is None:
            return await run_in_thread(store_visits, spider.db, batch)
        return await spider.store_pool.run(store, batch)

    def open_spider(self) -> None:
        self.timer = create_looping_call(self._tick)
        self.timer.start(self.flush_seconds / 2, now=False)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, AccountVisit):
            self.buffer.append(item)
            if len(self.buffer) >= self.flush_visits:
                await self.flush()
        return item

    async def _tick_async(self) -> None:
        if self.buffer and time.monotonic() - self.last_flush >= self.flush_seconds:
            await self.flush()

    def _tick(self) -> None:
        self._background(self._tick_async())

    def _background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)  # keep a reference until done
        task.add_done_callback(self.tasks.discard)

    async def flush(self) -> None:
        async with self.lock:  # one transaction at a time, in arrival order
            batch, self.buffer = self.buffer, []
            self.last_flush = time.monotonic()
            if not batch:
                return
            try:
                stats = await self._store(batch)
            except WorkersExhausted as exc:
                self.buffer[:0] = batch
                if self.failures < MAX_STORE_FAILURES:  # once: no store can succeed any more
                    self.failures = MAX_STORE_FAILURES
                    log.error("could not store %d visits: %s; stopping the crawl", len(batch), exc)
                    self._background(self.crawler.engine.close_spider_async(reason=WORKERS_LOST))
                return
            except Exception as exc:
                self.buffer[:0] = batch  # kept for the next attempt
                self.failures += 1
                log.error(
                    "could not store %d visits (attempt %d of %d): %s",
                    len(batch),
                    self.failures,
                    MAX_STORE_FAILURES,
                    exc,
                )
                if self.failures == MAX_STORE_FAILURES:
                    self._background(self.crawler.engine.close_spider_async(reason=STORE_FAILED))
                return
            self.failures = 0
            for name in ("visits", "posts_seen", "posts_new", "foreign_skipped"):
                setattr(self.totals, name, getattr(self.totals, name) + getattr(stats, name))
                self.crawler.stats.inc_value(f"govpulse/{name}", getattr(stats, name))

    async def close_spider(self) -> None:
        """Store what is left, trying again while the database refuses (locked, briefly gone) up to
        MAX_STORE_FAILURES attempts in a row; what still could not be stored is counted, and the patrol is
        then recorded as failed (its accounts are visited again by the next patrol)."""
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        await self.flush()
        while self.buffer and 0 < self.failures < MAX_STORE_FAILURES:
            await self.flush()
        if self.buffer:
            self.crawler.stats.set_value(UNSTORED, len(self.buffer))
        log.info(
            "stored %d visits, %d posts seen, %d new", self.totals.visits, self.totals.posts_seen, self.totals.posts_new
        )
