"""What Scrapy logs per request and per item: nothing.

Scrapy logs "Crawled (200) <GET url>" for every response and "Scraped from ..." with the whole item for
every visit, at DEBUG. The patrol logs at INFO, so the lines were built (a record each, the visit's
posts in it) only to be dropped by the handler; and a URL or an item may carry a credential. Failures,
retries and errors are logged as before.
"""

from __future__ import annotations

from typing import Any

from scrapy.logformatter import LogFormatter


class PatrolLogFormatter(LogFormatter):
    def crawled(self, request: Any, response: Any, spider: Any) -> None:  # type: ignore[override]
        return None

    def scraped(self, item: Any, response: Any, spider: Any) -> None:  # type: ignore[override]
        return None
