"""The patrol's downloader middlewares: the request counts the patrol's summary reads."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.conf import build_component_list
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
        "downloader/request_count": 3,
        "downloader/request_method_count/GET": 3,
        "downloader/response_count": 3,
        "downloader/response_status_count/200": 2,
        "downloader/response_status_count/404": 1,
        "downloader/exception_count": 1,
        "downloader/exception_type_count/twisted.internet.error.TimeoutError": 1,
    }


def test_the_counts_replace_scrapys_byte_measuring_stats_in_its_place() -> None:
    """In the chain Scrapy builds for the patrol, RequestCounts sits where DownloaderStats would: after the
    middlewares that retry, redirect and decompress, before the cache; DownloaderStats is gone."""
    stats, counts = "scrapy.downloadermiddlewares.stats.DownloaderStats", "crawlers.middlewares.RequestCounts"
    ours = build_component_list(Settings(BASE).getwithbase("DOWNLOADER_MIDDLEWARES"))
    scrapys = build_component_list(Settings().getwithbase("DOWNLOADER_MIDDLEWARES"))
    assert stats not in ours and counts in ours
    at = scrapys.index(stats)
    before, after = set(scrapys[:at]) & set(ours), set(scrapys[at + 1 :]) & set(ours)
    assert before and after
    assert before <= set(ours[: ours.index(counts)]) and after <= set(ours[ours.index(counts) + 1 :])
