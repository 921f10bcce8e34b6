"""Scrapy settings of a patrol, derived from the govpulse configuration.

Each source (a platform's API, or the feed bridge) runs as its own crawler in the one crawl process,
with its own download slot, concurrency, delay and AutoThrottle floor, so that a slow or strict
platform never holds up the others.
"""

from __future__ import annotations

from typing import Any

from registry.config import Settings
from registry.vocabulary import PLATFORMS
from registry.errors import ValidationError
from crawlers.links import LINK_SLOT

BOT_NAME = "govpulse"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

SOURCES = (*PLATFORMS, "feed")
ROUTES = ("api", "feed")
BRIDGE_SLOT = "bridge"

# What every source shares.
BASE: dict[str, Any] = {
    "BOT_NAME": BOT_NAME,
    "SPIDER_MODULES": SPIDER_MODULES,
    "NEWSPIDER_MODULE": NEWSPIDER_MODULE,
    # URLs with credentials are logged at DEBUG ("Crawled (200) <GET ...>"): INFO and above only.
    "LOG_LEVEL": "INFO",
    "LOG_FORMATTER": "crawlers.logformat.PatrolLogFormatter",
    "LOGSTATS_INTERVAL": 60.0,
    # No consoles: nothing may drive or inspect the crawl from outside.
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    # Platform APIs, not pages for search engines; the patrol identifies itself by its User-Agent.
    "ROBOTSTXT_OBEY": False,
    # Requests are taken in priority order (later pages first); the downloader-aware queue, made for
    # crawls over many sites, weighed every slot at each request for the one or two slots of a source.
    "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",
    # Cookies are configured credentials sent as a header, never a jar that grows or leaks.
    "COOKIES_ENABLED": False,
    # No Referer: a URL with a credential in its query must not travel to another host on a redirect.
    "REFERRER_POLICY": "no-referrer",
    # Every request is distinct by construction; a fingerprint set would grow with the accounts.
    "DUPEFILTER_CLASS": "scrapy.dupefilters.BaseDupeFilter",
    # Every status reaches the callbacks, which classify it (403/418/432 block, 404, 5xx after retries).
    "RETRY_ENABLED": True,
    "RETRY_GIVE_UP_LOG_LEVEL": "DEBUG",  # the outcome records it
    "DOWNLOAD_WARNSIZE": 0,
    "ITEM_PIPELINES": {"crawlers.pipelines.VisitPipeline": 300},
    # A callback returns one request or one visit: Scrapy would start this many tasks per response.
    "CONCURRENT_ITEMS": 1,
    "DOWNLOADER_MIDDLEWARES": {
        "crawlers.middlewares.RetryBackoffMiddleware": 560,
        # After the redirect middleware (600 is nearer the engine): every hop of a redirect is checked.
        "crawlers.middlewares.AddressGuard": 590,
        # The request counts (the patrol's summary reads them) without measuring every request in bytes.
        "scrapy.downloadermiddlewares.stats.DownloaderStats": None,
        "crawlers.middlewares.RequestCounts": 850,
        # Not needed on every request of a patrol: no allowed_domains, no HTTP auth, headers set per
        # source, and an HTML page with a meta refresh is classified (a login wall), not followed.
        "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
        "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
        "scrapy.downloadermiddlewares.defaultheaders.DefaultHeadersMiddleware": None,
        "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    },
    "SPIDER_MIDDLEWARES": {
        "scrapy.spidermiddlewares.httperror.HttpErrorMiddleware": None,  # every status is let through
        "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
        "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
        # No Referer is ever sent (REFERRER_POLICY above): the middleware would only compute that for
        # every request.
        "scrapy.spidermiddlewares.referer.RefererMiddleware": None,
    },
    "MEMUSAGE_ENABLED": False,
}


def route(settings: Settings, platform: str) -> str:
    value = str(settings.platform(platform).get("route") or "api")
    if value not in ROUTES:
        raise ValidationError(
            f"platforms.{platform}.route = {value!r} is not a route", hint=f"use one of: {', '.join(ROUTES)}"
        )
    return value


def feed_platforms(settings: Settings) -> frozenset[str]:
    """Platforms patrolled through the bridge's feeds rather than their own API."""
    return frozenset(p for p in PLATFORMS if route(settings, p) == "feed")


def politeness(settings: Settings, source: str) -> tuple[int, float]:
    """(concurrency, delay in seconds) of a source's download slot."""
    conf = settings.get("bridge", default={}) if source == "feed" else settings.platform(source)
    where = "bridge" if source == "feed" else f"platforms.{source}"
    hint = "requests at once and seconds between requests, e.g. concurrency = 2, delay = 1.0"
    try:
        concurrency = int(conf.get("concurrency", 1))
        delay = float(conf.get("delay", 0.0))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{where}: concurrency/delay must be numbers ({exc})", hint=hint) from None
    if concurrency < 1 or delay < 0:
        raise ValidationError(f"{where}: concurrency must be >= 1 and delay >= 0", hint=hint)
    return concurrency, delay


def check(settings: Settings) -> None:
    """Every patrol setting a crawl would fail on, checked before anything is written."""
    from crawlers.compliance import checker_for, compliance_spec
    from crawlers.workers import parse_workers

    feed_platforms(settings)
    for source in SOURCES:
        crawl_settings(settings, source)
    parse_workers(settings)
    spec = compliance_spec(settings)
    if spec is not None:  # a malformed rule file: refused with its file, line and key
        checker_for(spec)


def link_politeness(settings: Settings) -> tuple[int, float]:
    """(concurrency, delay) of the one slot all links written in posts share, whatever their host."""
    conf = settings.get("compliance", default={}) or {}
    try:
        return max(1, int(conf.get("link_concurrency", 2))), max(0.0, float(conf.get("link_delay", 0.5)))
    except (TypeError, ValueError):
        raise ValidationError(
            "compliance.link_concurrency and compliance.link_delay must be numbers", hint="see docs/compliance.md"
        ) from None


def slot_name(source: str) -> str:
    return BRIDGE_SLOT if source == "feed" else source


def _slot(concurrency: int, delay: float) -> dict[str, Any]:
    return {"concurrency": concurrency, "delay": delay, "jitter": 0.5 if delay > 0 else 0}


def crawl_settings(settings: Settings, source: str) -> dict[str, Any]:
    """The Scrapy settings of one source's crawler."""
    patrol = settings.patrol
    concurrency, delay = politeness(settings, source)
    slots = {slot_name(source): _slot(concurrency, delay)}
    if source in ("feed", "wechat"):  # WeChat article pages, read to check silent accounts
        slots["wechat"] = _slot(*politeness(settings, "wechat"))
    slots[LINK_SLOT] = _slot(*link_politeness(settings))  # links written in posts (the broken-link check)
    try:
        numbers = {
            key: float(patrol.get(key, default))
            for key, default in (
                ("timeout", 30),
                ("retries", 3),
                ("max_response_bytes", 5_000_000),
                ("retry_backoff", 2.0),
            )
        }
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"patrol: timeout, retries, max_response_bytes and retry_backoff must be numbers ({exc})",
            hint="see docs/patrol.md for each key and its default",
        ) from None
    result = dict(BASE)
    result.update(
        {
            "USER_AGENT": str(patrol.get("user_agent") or BOT_NAME),
            "DOWNLOAD_SLOTS": slots,
            # Room for requests waiting on the slot's delay; start() backs off beyond it.
            "CONCURRENT_REQUESTS": max(2 * concurrency, 8),
            # Feeds of accounts' own URLs (other hosts) get the same politeness as the bridge.
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "DOWNLOAD_DELAY": delay,
            "AUTOTHROTTLE_ENABLED": bool(patrol.get("autothrottle", True)),
            "AUTOTHROTTLE_START_DELAY": max(delay, 0.1),
            "AUTOTHROTTLE_TARGET_CONCURRENCY": float(concurrency),
            "AUTOTHROTTLE_MAX_DELAY": 60.0,
            "DOWNLOAD_TIMEOUT": numbers["timeout"],
            "RETRY_TIMES": int(numbers["retries"]),
            "DOWNLOAD_MAXSIZE": int(numbers["max_response_bytes"]),
            "GOVPULSE_RETRY_BACKOFF": numbers["retry_backoff"],
        }
    )
    bind = str(settings.get("worker", "bind_address", default="") or "")
    if bind:  # a worker of distributed patrols connects from its own egress address
        result["DOWNLOAD_BIND_ADDRESS"] = bind
    return result
