"""The patrol's downloader middlewares: the request counts the patrol's summary reads."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from twisted.internet.error import TimeoutError as TwistedTimeoutError

from crawlers.middlewares import RequestCounts
from crawlers.settings import BASE


class _Crawler:
    def __init__(self) -> None:
        self.settings = Settings()
        self.stats = MemoryStatsCollector(self)  # type: ignore[arg-type]


def test_requests_responses_and_exceptions_are_counted_as_scrapy_counts_them() -> None:
    crawler = _Crawler()
    counts = RequestCounts.from_crawler(crawler)
    request = Request("http://sim.example/api")
    for status in (200, 200, 404):
        assert counts.process_request(request) is None
        response = Response(request.url, status=status, request=request)
        assert counts.process_response(request, response) is response
    assert counts.process_exception(request, TwistedTimeoutError()) is None
    stats = crawler.stats.get_stats()
    assert stats == {
        "downloader/request_count": 3, "downloader/request_method_count/GET": 3,
        "downloader/response_count": 3, "downloader/response_status_count/200": 2,
        "downloader/response_status_count/404": 1, "downloader/exception_count": 1,
        "downloader/exception_type_count/twisted.internet.error.TimeoutError": 1,
    }


def test_the_counts_replace_scrapys_byte_measuring_stats() -> None:
    middlewares = BASE["DOWNLOADER_MIDDLEWARES"]
    assert middlewares["scrapy.downloadermiddlewares.stats.DownloaderStats"] is None
    assert middlewares["crawlers.middlewares.RequestCounts"] == 850  # where Scrapy puts its own
