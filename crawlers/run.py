"""The crawl process of one patrol: `python -m crawlers.run --patrol-id N [--config FILE] [--db URL]`, or of
one shard of a distributed patrol (`--shard-id S --parent-pid PID`, started by `govpulse worker`).

Started by crawlers.launcher (a Twisted reactor cannot be restarted, so every crawl gets a fresh
process). Runs one Scrapy process with a crawler per source that has accounts left to visit in the
patrol, then records how the patrol ended.

Exit codes: 0 the crawl ran (per-account failures are data); 1 it could not run or could not store;
3 it was interrupted (SIGTERM/SIGINT) after storing what it had; 4 it ran to its end but left accounts
unvisited because their parse was lost with a dying worker (or it stopped because the workers kept
dying): the next patrol over the same scope visits them.

A shard's crawl records nothing on the patrol (its watcher does, once every shard has ended) and stops
when its parent worker is gone: a crawl left running by a killed worker would go on beside the shard's
next run (harmless to the data, every write being idempotent, but not to the platforms' limits).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import threading
from dataclasses import replace
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
from registry.patrol_scope import ResolvedScope

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
    parser.add_argument("--shard-id", type=int, help="crawl only this shard of a distributed patrol")
    parser.add_argument("--parent-pid", type=int, help="stop when this process (the worker) is gone")
    args = parser.parse_args(argv)
    if args.parent_pid:
        follow_parent(args.parent_pid)
    try:
        settings = load(args)
        engine = open_engine(settings.database_url, migrate=args.shard_id is None)
        return crawl(settings, engine, args.patrol_id, shard_id=args.shard_id)
    except GovpulseError as exc:
        print(f"error: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return EXIT_FAILED


PR_SET_PDEATHSIG = 1
PARENT_POLL_SECONDS = 1.0


def follow_parent(parent_pid: int) -> None:
    """SIGTERM (a graceful stop, storing what was read) once the parent is gone: at once on Linux, by
    polling elsewhere."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # it died before we could ask to be told
        sys.exit(EXIT_INTERRUPTED)

    def watch() -> None:
        while os.getppid() == parent_pid:
            threading.Event().wait(PARENT_POLL_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def shard_scope(engine: Any, patrol_scope: ResolvedScope, shard_id: int) -> ResolvedScope:
    """The patrol's scope narrowed to one shard: its platform and its range of account ids."""
    from registry.db import session_scope
    from registry.models import PatrolShard

    with session_scope(engine) as session:
        shard = session.get(PatrolShard, shard_id)
        if shard is None:
            raise GovpulseError(f"no shard {shard_id} in the database")
        return replace(
            patrol_scope,
            platforms=(shard.platform,),
            min_account_id=shard.first_account_id,
            max_account_id=shard.last_account_id,
        )


def crawl(settings: Settings, engine: Any, patrol_id: int, *, shard_id: int | None = None) -> int:
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
    scope = ResolvedScope.from_json(patrol.scope)
    if shard_id is not None:
        scope = shard_scope(engine, scope, shard_id)
    feeds = feed_platforms(settings)
    pending = pending_by_source(engine, patrol_id, scope=scope, sources=SOURCES, feed_platforms=feeds)
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
            process.crawl(
                crawler,
                patrol_id=patrol_id,
                gp=settings,
                db=engine,
                scope=scope,
                feed_platforms=feeds,
                parse_pool=pool,
                store_pool=store_pool,
            )
        # After the crawlers: each one replaces Scrapy's root log handler, and a filter put on an earlier one.
        install_redaction(configured_secrets(settings), level=BASE["LOG_LEVEL"])
        try:
            process.start()
        finally:
            for executor in (pool, store_pool):
                if executor is not None:
                    executor.shutdown()
    abandoned = sum(int(c.stats.get_value("govpulse/abandoned", 0)) for c in crawlers.values())
    workers = {
        "parse_restarts": pool.restarts if pool else 0,
        "store_restarts": store_pool.restarts if store_pool else 0,
        "abandoned": abandoned,
    }
    unstored = sum(int(c.stats.get_value(UNSTORED, 0)) for c in crawlers.values())
    if unstored or any(reason == STORE_FAILED for reason in reasons.values()):
        status, code = FAILED, EXIT_FAILED
    elif any(reason == WORKERS_LOST for reason in reasons.values()) or (
        abandoned and all(reason == "finished" for reason in reasons.values())
    ):
        status, code = ABORTED, EXIT_INCOMPLETE  # resumable: the next patrol visits what is left
    elif all(reason == "finished" for reason in reasons.values()) and len(reasons) == len(sources):
        status, code = FINISHED, EXIT_OK
    else:
        status, code = ABORTED, EXIT_INTERRUPTED
    if shard_id is not None:  # the patrol's watcher records its end
        left = sum(pending_by_source(engine, patrol_id, scope=scope, sources=SOURCES, feed_platforms=feeds).values())
        if code == EXIT_OK and left:  # a crawler ended early (its database read failed): run the shard again
            print(f"error: {left} account(s) of shard {shard_id} left without an outcome", file=sys.stderr)
            return EXIT_FAILED
        return code
    requests = {source: int(c.stats.get_value("downloader/request_count", 0)) for source, c in crawlers.items()}
    summary = {**retrying(lambda: patrol_summary(engine, patrol_id)), "sources": reasons, "requests": requests}
    if any(workers.values()):
        summary["workers"] = workers
    # The crawl is over: recording it waits out a locked database rather than lose its end.
    retrying(
        lambda: finish_patrol(engine, patrol_id, status=status, exit_code=code, summary=summary),
        what="recording the end of the patrol",
    )
    return code


def _recorder(reasons: dict[str, str]) -> Any:
    def on_closed(spider: Any, reason: str) -> None:
        reasons[spider.name] = reason

    return on_closed


if __name__ == "__main__":
    sys.exit(main())
