"""Downloader middleware of the patrol: back-off between retries.

Scrapy retries timeouts and 5xx at once; a platform that is struggling or limiting us gets a pause
that doubles with each retry instead (base `patrol.retry_backoff` seconds, at most a minute).
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.utils.asyncio import sleep

MAX_PAUSE = 60.0


class RetryBackoffMiddleware:
    def __init__(self, base: float) -> None:
        self.base = base

    @classmethod
    def from_crawler(cls, crawler: Any) -> RetryBackoffMiddleware:
        return cls(crawler.settings.getfloat("GOVPULSE_RETRY_BACKOFF", 2.0))

    def pause(self, retry_times: int) -> float:
        return 0.0 if retry_times < 1 or self.base <= 0 else min(self.base * 2 ** (retry_times - 1), MAX_PAUSE)

    async def process_request(self, request: Request) -> None:
        pause = self.pause(int(request.meta.get("retry_times", 0)))
        if pause:
            await sleep(pause)
