"""The crawl process of one patrol: `python -m crawlers.run --patrol-id N [--config FILE] [--db URL]`.

Started by crawlers.launcher (a Twisted reactor cannot be restarted, so every crawl gets a fresh
process). Runs one Scrapy process with a crawler per source that has accounts left to visit in the
patrol, then records how the patrol ended.

Exit codes: 0 the crawl ran (per-account failures are data); 1 it could not run or could not store;
3 it was interrupted (SIGTERM/SIGINT) after storing what it had; 4 it ran to its end but left accounts
unvisited because their parse was lost with a dying worker (or it stopped because the workers kept
dying): the next patrol over the same scope visits them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from registry.config import SECRET_KEYS, Settings, load_settings
from registry.db import open_engine, retrying
from registry.errors import GovpulseError
from registry.observations import (
    ABORTED,
    FAILED,
    FINISHED,
    finish_patrol,
    get_patrol,
    patrol_summary,
    pending_by_source,
)

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INCOMPLETE = 0, 1, 3, 4
# The parent's effective settings without their secrets (JSON); the secrets the child reads itself
# from the same environment and files.
SETTINGS_ENV = "GOVPULSE_PATROL_SETTINGS"


def settings_for_child(settings: Settings) -> str:
    def walk(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        return None if key in SECRET_KEYS else node

    return json.dumps(walk(settings.data), ensure_ascii=False)


def settings_from_parent(text: str, own: Settings) -> Settings:
    """The parent's settings, with each secret taken from the child's own loading."""

    def walk(node: Any, mine: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            mine = mine if isinstance(mine, dict) else {}
            return {k: walk(v, mine.get(k), k) for k, v in node.items()}
        return mine if key in SECRET_KEYS else node

    return Settings(data=walk(json.loads(text), own.data), path=own.path, sources=own.sources)


def load(args: argparse.Namespace) -> Settings:
    own = load_settings(args.config, database_url=args.db)
    overlay = os.environ.get(SETTINGS_ENV)
    return settings_from_parent(overlay, own) if overlay else own


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawlers.run", description="Run the crawl of one patrol.")
    parser.add_argument("--patrol-id", type=int, required=True)
    parser.add_argument("--config", help="configuration file")
    parser.add_argument("--db", help="database URL (default: GOVPULSE_DATABASE_URL or the configuration)")
    args = parser.parse_args(argv)
    try:
        settings = load(args)
        engine = open_engine(settings.database_url)
        return crawl(settings, engine, args.patrol_id)
    except GovpulseError as exc:
        print(f"error: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return EXIT_FAILED


def crawl(settings: Settings, engine: Any, patrol_id: int) -> int:
    from crawlers.redaction import configured_secrets, install_redaction, redact_streams

    # Before Scrapy makes any log handler on them: every line the crawl writes is redacted.
    redact_streams(configured_secrets(settings))
    # Scrapy is imported here: the launcher imports this module for the settings hand-over only.
    from scrapy import signals
    from scrapy.crawler import AsyncCrawlerProcess, Crawler

    from crawlers.workers import WORKERS_LOST, parse_workers, start_pool, start_store
    from crawlers.pipelines import STORE_FAILED, UNSTORED
    from crawlers.settings import BASE, SOURCES, crawl_settings, feed_platforms
    from crawlers.spiders import SPIDERS

    patrol = get_patrol(engine, patrol_id)
    if patrol is None:
        raise GovpulseError(f"no patrol {patrol_id} in the database")
    feeds = feed_platforms(settings)
    pending = pending_by_source(engine, patrol_id, scope=patrol.scope, sources=SOURCES, feed_platforms=feeds)
    sources = [source for source in SOURCES if pending[source]]
    reasons: dict[str, str] = {}
    recorders: list[Any] = []
    crawlers: dict[str, Any] = {}
    pool = start_pool(parse_workers(settings)) if sources else None
    store_pool = start_store(settings.database_url) if pool is not None else None
    if sources:
        process = AsyncCrawlerProcess(BASE)
        for source in sources:
            crawler = crawlers[source] = Crawler(SPIDERS[source], crawl_settings(settings, source))
            recorder = _recorder(reasons)
            recorders.append(recorder)  # signals hold receivers weakly
            crawler.signals.connect(recorder, signal=signals.spider_closed)
            process.crawl(crawler, patrol_id=patrol_id, gp=settings, db=engine, scope=patrol.scope,
                          feed_platforms=feeds, parse_pool=pool, store_pool=store_pool)
        # After the crawlers: each one replaces Scrapy's root log handler, and a filter put on an earlier one.
        install_redaction(configured_secrets(settings), level=BASE["LOG_LEVEL"])
        try:
            process.start()
        finally:
            for executor in (pool, store_pool):
                if executor is not None:
                    executor.shutdown()
    abandoned = sum(int(c.stats.get_value("govpulse/abandoned", 0)) for c in crawlers.values())
    workers = {"parse_restarts": pool.restarts if pool else 0, "store_restarts": store_pool.restarts if store_pool else 0,
               "abandoned": abandoned}
    unstored = sum(int(c.stats.get_value(UNSTORED, 0)) for c in crawlers.values())
    if unstored or any(reason == STORE_FAILED for reason in reasons.values()):
        status, code = FAILED, EXIT_FAILED
    elif any(reason == WORKERS_LOST for reason in reasons.values()) or (
            abandoned and all(reason == "finished" for reason in reasons.values())):
        status, code = ABORTED, EXIT_INCOMPLETE  # resumable: the next patrol visits what is left
    elif all(reason == "finished" for reason in reasons.values()) and len(reasons) == len(sources):
        status, code = FINISHED, EXIT_OK
    else:
        status, code = ABORTED, EXIT_INTERRUPTED
    requests = {source: int(c.stats.get_value("downloader/request_count", 0)) for source, c in crawlers.items()}
    summary = {**retrying(lambda: patrol_summary(engine, patrol_id)), "sources": reasons, "requests": requests}
    if any(workers.values()):
        summary["workers"] = workers
    # The crawl is over: recording it waits out a locked database rather than lose its end.
    retrying(lambda: finish_patrol(engine, patrol_id, status=status, exit_code=code, summary=summary),
             what="recording the end of the patrol")
    return code


def _recorder(reasons: dict[str, str]) -> Any:
    def on_closed(spider: Any, reason: str) -> None:
        reasons[spider.name] = reason

    return on_closed


if __name__ == "__main__":
    sys.exit(main())
