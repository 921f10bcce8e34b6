"""The crawl process's log: credentials are redacted in every record, once the crawlers exist (each Scrapy
crawler replaces the root log handler), and records below INFO are not built at all."""

from __future__ import annotations

import os
import subprocess
import sys

SECRET = "MPTOKEN-SECRET-789"
# crawlers.run.crawl with its real crawlers (each replaces the root log handler as it is set up) but
# without the database or the reactor: start() only logs, from where Scrapy logs.
SCRIPT = """
import logging, sys
from types import SimpleNamespace
import scrapy.crawler
import crawlers.run as run
from registry.config import load_settings

def start(self, *args, **kwargs):
    logging.getLogger("scrapy.core.scraper").error("Spider error processing <GET https://mp/?token=%s>", sys.argv[1])
    logging.getLogger("scrapy.core.engine").debug("Crawled (200) <GET https://mp/?token=%s>", sys.argv[1])
    print("root level", logging.getLevelName(logging.getLogger().level), file=sys.stderr)

scrapy.crawler.AsyncCrawlerProcess.start = start
run.get_patrol = lambda engine, patrol_id: SimpleNamespace(scope={})
run.pending_by_source = lambda *args, **kwargs: {"weibo": 1, "toutiao": 0, "wechat": 1, "feed": 1}
run.patrol_summary = lambda *args: {}
run.finish_patrol = lambda *args, **kwargs: None
settings = load_settings()
settings.data["patrol"]["parse_workers"] = 0
settings.data["platforms"]["wechat"]["token"] = sys.argv[1]
sys.exit(run.crawl(settings, None, 1))
"""


def test_the_crawl_log_redacts_credentials_and_skips_debug_records(tmp_path) -> None:
    env = {**os.environ, "GOVPULSE_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, SECRET], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert "Spider error processing" in done.stderr, done.stderr
    assert SECRET not in done.stderr
    assert "Crawled (200)" not in done.stderr and "root level INFO" in done.stderr
