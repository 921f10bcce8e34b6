"""Downloader middlewares of the patrol: back-off between retries, and the request counts.

Scrapy retries timeouts and 5xx at once; a platform that is struggling or limiting us gets a pause
that doubles with each retry instead (base `patrol.retry_backoff` seconds, at most a minute).

Scrapy's DownloaderStats also measures every request and response in bytes, serialising each request
to do so: a few per cent of the crawl's CPU for figures nobody reads. RequestCounts keeps the counts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.python import global_object_name

from registry.safety import forbidden_address, forbidden_host

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


class RequestCounts:
    """Scrapy's downloader counts (requests, responses by status, exceptions by type), without the bytes."""

    def __init__(self, stats: Any) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> RequestCounts:
        return cls(crawler.stats)

    def process_request(self, request: Request) -> None:
        self.stats.inc_value("downloader/request_count")
        self.stats.inc_value(f"downloader/request_method_count/{request.method}")

    def process_response(self, request: Request, response: Response) -> Response:
        self.stats.inc_value("downloader/response_count")
        self.stats.inc_value(f"downloader/response_status_count/{response.status}")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self.stats.inc_value("downloader/exception_count")
        self.stats.inc_value(f"downloader/exception_type_count/{global_object_name(type(exception))}")


class AddressGuard:
    """Refuses requests to link-local and cloud-metadata addresses (registry.safety), whether the URL names
    the address or a host name that resolves to one, redirects included: a feed URL or a bridge must not
    become a way to read the server's instance credentials. Each host is resolved once per crawl."""

    def __init__(self) -> None:
        self.verdicts: dict[str, bool] = {}

    async def process_request(self, request: Request) -> None:
        host = (urlsplit(request.url).hostname or "").lower().rstrip(".")
        refused = self.verdicts.get(host)
        if refused is None:
            refused = forbidden_host(request.url) is not None or await asyncio.to_thread(resolves_forbidden, host)
            self.verdicts[host] = refused
        if refused:
            raise IgnoreRequest(f"{REFUSED_ADDRESS}: {host}")


REFUSED_ADDRESS = "refused: a link-local or cloud-metadata address"


def resolves_forbidden(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return False  # a literal address was judged already
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False  # the download reports the DNS failure
    return any(forbidden_address(str(info[4][0])) for info in infos)
