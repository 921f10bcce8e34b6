"""What every source's spider shares: reading the accounts of the patrol lazily from the database,
paging through an account's posts, deciding when to stop, and assembling the visit.

Callbacks are pure: a response goes through the platform's parser into a PageResult, which becomes
the next page's request or the finished AccountVisit. Only start() reads the database (in a thread),
and only the pipeline writes to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.utils.asyncio import run_in_thread, sleep
from sqlalchemy.engine import Engine
from twisted.internet.error import TCPTimedOutError
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure

from crawlers.compliance import compliance_spec
from crawlers.links import attach_link_findings, link_meta, links_of, outcome_of_failure, outcome_of_status
from crawlers.items import AccountVisit, PageResult, PostItem, ProfileItem
from crawlers.middlewares import REFUSED_ADDRESS
from crawlers.parsing import parse_wechat_article_page
from crawlers.parsing.posts import FOREIGN, mark_foreign
from crawlers.parsing.responses import is_login_url
from crawlers.workers import WORKERS_LOST, Respawning, WorkerLost, WorkersExhausted, parse, plain_headers
from crawlers.redaction import CREDENTIAL_PARAMS, clean_link, configured_secrets, redact, strip_credentials
from crawlers.settings import slot_name
from registry.config import Settings
from registry.db import retrying
from registry.observations import AccountRef, PostState, known_post_state, pending_accounts
from registry.patrol_scope import ResolvedScope
from registry.timeutil import utcnow

BACKOUT_PAUSE = 0.05  # seconds between checks while the downloader is full
REASON_LIMIT = 300
# A page whose parse was lost with its worker: the visit ends without an outcome (not "malformed": the
# page may be fine), so that the next patrol over the scope visits the account again.
ABANDONED = "abandoned"
WECHAT_ARTICLE_HOST = "mp.weixin.qq.com"

Parser = Callable[..., PageResult]


@dataclass
class Visit:
    """One account's visit in progress: carried from page to page in the requests' cb_kwargs."""

    ref: AccountRef
    known: PostState | None
    cutoff: datetime  # the lookback window: older pages are not read
    max_pages: int
    fetched_at: datetime | None = None
    url: str | None = None
    http_status: int | None = None
    pages: int = 0
    profile: ProfileItem | None = None
    posts: dict[str, PostItem] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    variant: str = ""  # which of a source's list endpoints is in use (WeChat)
    cursor: str | None = None  # of the page requested (one request per visit is in flight at a time)
    pending: PageResult | None = None  # a page read, waiting for another request before it is used (Weibo)
    links: list[str] | None = None  # links of its posts still to check (None: not collected yet)
    link_outcomes: dict[str, tuple[bool, str]] = field(default_factory=dict)

    def add(self, posts: list[PostItem]) -> int:
        """Keep the page's posts; how many were not seen earlier in this visit."""
        new = 0
        for post in posts:
            known = self.posts.get(post.platform_post_id)
            if known is None:
                new += 1
            else:  # the same post twice (pages shifted by a new post): keep the pinned mark
                post.is_pinned = post.is_pinned or known.is_pinned
            self.posts[post.platform_post_id] = post
        return new

    def keep_newest(self, limit: int) -> None:
        """At most `limit` posts: pinned ones, then the newest (an undated post counts as oldest), so
        that the last update is still the newest of all that were read."""
        if len(self.posts) <= limit:
            return
        oldest = datetime.min.replace(tzinfo=UTC)
        ranked = sorted(self.posts.values(), key=lambda p: (p.is_pinned, p.published_at or oldest), reverse=True)
        self.posts = {p.platform_post_id: p for p in ranked[:limit]}


class PatrolSpider(scrapy.Spider):
    """Base of the per-source spiders. Subclasses set `source` and implement page_url and parse_page
    (and begin, when the first request is not the first page)."""

    source: ClassVar[str]
    credential_params: ClassVar[frozenset[str]] = CREDENTIAL_PARAMS

    def __init__(
        self,
        *,
        patrol_id: int,
        gp: Settings,
        db: Engine,
        scope: ResolvedScope,
        feed_platforms: frozenset[str],
        batch_size: int = 500,
        parse_pool: Respawning | None = None,
        store_pool: Respawning | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.parse_pool = parse_pool
        self._closing: set[asyncio.Future[Any]] = set()
        self.store_pool = store_pool  # used by the pipeline
        self.patrol_id = patrol_id
        self.gp = gp
        self.db = db
        self.scope = scope
        self.feed_platforms = feed_platforms
        self.batch_size = batch_size
        patrol = gp.patrol
        self.lookback = timedelta(days=float(patrol.get("lookback_days", 180)))
        self.first_visit_max_pages = int(patrol.get("first_visit_max_pages", 10))
        self.later_max_pages = int(patrol.get("max_pages", 50))
        self.page_size = int(patrol.get("page_size", 20))
        self.max_posts = max(int(patrol.get("max_posts_per_visit", 1000) or 0), 1)
        self.secrets = configured_secrets(gp)
        self.slot = slot_name(self.source)
        silent_days = float(patrol.get("verify_silent_days", 14) or 0)
        self.verify_silent = timedelta(days=silent_days) if silent_days > 0 else None
        self.wechat_base = str(gp.platform("wechat")["base_url"]).rstrip("/")
        self.compliance = compliance_spec(gp)

    # -- the accounts ----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        """The accounts of the patrol this source serves and that have no outcome yet, read in batches
        as the downloader frees up (100,000 accounts never sit in memory at once)."""
        after = 0
        while True:
            # A locked database only delays the next accounts (never ends the patrol early).
            refs = await run_in_thread(
                retrying,
                partial(
                    pending_accounts,
                    self.db,
                    self.patrol_id,
                    scope=self.scope,
                    source=self.source,
                    feed_platforms=self.feed_platforms,
                    after_id=after,
                    limit=self.batch_size,
                ),
            )
            if not refs:
                return
            known = await run_in_thread(retrying, partial(known_post_state, self.db, [r.id for r in refs]))
            for ref in refs:
                while self.crawler.engine.needs_backout():
                    if not self.crawler.engine.running:
                        return
                    await sleep(BACKOUT_PAUSE)
                yield self.begin(self.new_visit(ref, known.get(ref.id)))
            after = refs[-1].id

    def new_visit(self, ref: AccountRef, known: PostState | None, *, now: datetime | None = None) -> Visit:
        first = known is None or known.posts == 0
        return Visit(
            ref=ref,
            known=known,
            cutoff=(now or utcnow()) - self.lookback,
            max_pages=self.first_visit_max_pages if first else self.later_max_pages,
        )

    # -- requests --------------------------------------------------------------------------------

    def begin(self, visit: Visit) -> scrapy.Request | AccountVisit | None:
        return self.page_request(visit, None, 1)

    def page_url(self, visit: Visit, cursor: str | None, page: int) -> str:
        raise NotImplementedError

    async def parse_page(self, response: Response, visit: Visit, page: int) -> scrapy.Request | AccountVisit | None:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        return {}

    def page_request(self, visit: Visit, cursor: str | None, page: int) -> scrapy.Request:
        visit.cursor = cursor
        return self.request(visit, self.page_url(visit, cursor, page), self.parse_page, page=page)

    def request(
        self, visit: Visit, url: str, callback: Callable[..., Any], *, page: int = 1, slot: str | None = ""
    ) -> scrapy.Request:
        """A request of this visit. Later pages go first, so that visits end and free their memory
        before new accounts start."""
        if visit.url is None:
            visit.url = url
        meta = {} if slot is None else {"download_slot": slot or self.slot}
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.failed,
            headers=self.headers(),
            meta=meta,
            cb_kwargs={"visit": visit, "page": page},
            priority=page,
            dont_filter=True,
        )

    @staticmethod
    def query(url: str, params: Mapping[str, Any]) -> str:
        return f"{url}?{urlencode(params)}"

    # -- responses -------------------------------------------------------------------------------

    async def read(self, parser: Parser, response: Response, visit: Visit, **kwargs: Any) -> PageResult:
        """Run a parser on a response, in a worker process when the crawl has a pool; a parser that fails
        on some unforeseen input makes the page malformed, never a crash of the crawl."""
        fetched_at = utcnow()
        if visit.fetched_at is None:
            visit.fetched_at = fetched_at
        visit.http_status = response.status
        if redirected_to_login(response):
            return PageResult(
                outcome="login_required", reason="redirected to a login page", http_status=response.status
            )
        args = {
            "status": response.status,
            "headers": plain_headers(response.headers),
            "url": response.url,
            "fetched_at": fetched_at,
            **kwargs,
        }
        try:
            if self.parse_pool is None:
                return parse(parser, response.body, self.compliance, **args)
            return await self.parse_pool.run(parse, parser, response.body, self.compliance, **args)
        except WorkerLost as exc:
            self.logger.error("account %s left for the next patrol: %s", visit.ref.id, exc)
            if isinstance(exc, WorkersExhausted) and self.crawler.engine.running:
                closing = asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=WORKERS_LOST))
                self._closing.add(closing)  # kept until done: the loop holds tasks only weakly
                closing.add_done_callback(self._closing.discard)
            return PageResult(outcome=ABANDONED, reason=str(exc), http_status=response.status)
        except Exception as exc:
            self.logger.exception("parser %s failed on account %s", getattr(parser, "__name__", parser), visit.ref.id)
            return PageResult(
                outcome="malformed", reason=f"unreadable response ({type(exc).__name__})", http_status=response.status
            )

    def advance(self, visit: Visit, result: PageResult, page: int) -> scrapy.Request | AccountVisit | None:
        """After a list page: the next page's request, or the finished visit."""
        visit.pages += 1
        if result.outcome is not None:
            return self.finish(visit, result.outcome, result.reason, result.http_status)
        if result.reason:
            visit.notes.append(result.reason)
        if result.profile is not None and visit.profile is None:
            visit.profile = result.profile
        new = visit.add(result.posts)
        if len(visit.posts) >= self.max_posts:
            visit.keep_newest(self.max_posts)
            visit.notes.append(f"stopped at {self.max_posts} posts (patrol.max_posts_per_visit)")
            return self.conclude(visit)
        if self.should_stop(visit, result, new):
            return self.conclude(visit)
        return self.page_request(visit, result.next_cursor, page + 1)

    def should_stop(self, visit: Visit, result: PageResult, new: int) -> bool:
        """Stop at the end of the list (or once as many posts as the profile says the account has were
        read), at the page cap, past the lookback window, or on reaching the posts already stored. Pinned
        posts come first whatever their age: they never stop paging."""
        if result.next_cursor is None or not new or visit.pages >= visit.max_pages:
            return True
        total = visit.profile.posts_total if visit.profile else None
        if total is not None and len(visit.posts) >= total:  # every post the account has: no empty last page
            return True
        own = [p for p in result.posts if FOREIGN not in p.flags]
        if not own:  # a page of another account's posts: the source is broken, not worth reading on
            return True
        dated = [p.published_at for p in own if p.published_at is not None and not p.is_pinned]
        if not dated:
            return False
        oldest = min(dated)
        if oldest < visit.cutoff:
            return True
        stored = visit.known.newest_unpinned_at if visit.known else None
        return stored is not None and oldest <= stored

    def conclude(self, visit: Visit) -> scrapy.Request | AccountVisit | None:
        """The list is read: end the visit, or first read the newest article's page of a WeChat account
        that has been silent, since only that page says whether the account itself is gone."""
        url = self.article_check_url(visit)
        if url is None:
            return self.next_link(visit)
        return self.request(visit, url, self.parse_article, page=visit.pages + 1, slot="wechat")

    def article_check_url(self, visit: Visit, *, now: datetime | None = None) -> str | None:
        if visit.ref.platform != "wechat" or self.verify_silent is None:
            return None
        own = [p for p in visit.posts.values() if FOREIGN not in p.flags and p.url]
        dated = [p for p in own if p.published_at is not None]
        if not dated:
            return None
        newest = max(dated, key=lambda p: p.published_at)  # type: ignore[arg-type,return-value]
        if newest.published_at > (now or utcnow()) - self.verify_silent:  # type: ignore[operator]
            return None
        parts = urlsplit(newest.url or "")
        if parts.hostname != WECHAT_ARTICLE_HOST:
            return None
        base = urlsplit(self.wechat_base)  # the configured host (a proxy, or the simulator)
        return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))

    async def parse_article(self, response: Response, visit: Visit, page: int) -> scrapy.Request | AccountVisit | None:
        result = await self.read(parse_wechat_article_page, response, visit)
        if result.outcome == ABANDONED:
            return self.finish(visit, ABANDONED)
        if result.outcome == "gone":
            return self.finish(visit, "gone", result.reason, result.http_status, final=True)
        if result.outcome is not None:
            visit.notes.append(f"account check on its newest article failed: {result.outcome} ({result.reason})")
        return self.next_link(visit)

    # -- links written in the posts ----------------------------------------------------------------

    def next_link(self, visit: Visit) -> scrapy.Request | AccountVisit | None:
        """The visit's posts are read: request the next link they contain, or finish the visit."""
        spec = self.compliance
        if spec is None or not spec.check_links:
            return self.finish(visit)
        if visit.links is None:
            visit.links = links_of([p for p in visit.posts.values() if FOREIGN not in p.flags])
        if not visit.links:
            broken = attach_link_findings(list(visit.posts.values()), visit.link_outcomes)
            self.crawler.stats.inc_value("govpulse/links_broken", broken)
            return self.finish(visit)
        url = visit.links.pop(0)
        return scrapy.Request(
            url,
            callback=self.link_answered,
            errback=self.link_failed,
            meta=link_meta(spec.link_timeout),
            cb_kwargs={"visit": visit, "link": url},
            priority=visit.pages + 1,
            dont_filter=True,
        )

    def link_answered(self, response: Response, visit: Visit, link: str) -> scrapy.Request | AccountVisit | None:
        visit.link_outcomes[link] = outcome_of_status(response.status)
        self.crawler.stats.inc_value("govpulse/links_checked")
        return self.next_link(visit)

    def link_failed(self, failure: Failure) -> scrapy.Request | AccountVisit | None:
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        kwargs["visit"].link_outcomes[kwargs["link"]] = outcome_of_failure(failure.value)
        self.crawler.stats.inc_value("govpulse/links_checked")
        return self.next_link(kwargs["visit"])

    def finish(
        self,
        visit: Visit,
        outcome: str | None = None,
        reason: str | None = None,
        status: int | None = None,
        *,
        final: bool = False,
    ) -> AccountVisit | None:
        """The visit as stored. A failure after some pages keeps what those pages showed (they hold
        the newest posts), unless `final` (the platform says the account is gone); a timeline made only
        of another account's posts is not this account's. An abandoned visit stores nothing."""
        if outcome == ABANDONED:
            self.crawler.stats.inc_value("govpulse/abandoned")
            return None
        posts = list(visit.posts.values())
        for post in posts:  # a link opened in a reader's client carries its session
            post.url = clean_link(post.url, self.credential_params, self.secrets)
        mark_foreign(posts, visit.ref.platform_id)
        own = [p for p in posts if FOREIGN not in p.flags]
        notes = list(visit.notes)
        if outcome is not None and own and not final:
            notes.append(f"stopped after page {visit.pages}: {outcome} ({reason})")
            outcome, reason = "ok", None
        elif outcome is None and posts and not own:
            outcome, reason = "malformed", "every post is attributed to another account"
        elif outcome is None:
            outcome = "ok" if posts else "empty"
        text = "; ".join(n for n in (reason, *notes) if n) or None
        return AccountVisit(
            patrol_id=self.patrol_id,
            account_id=visit.ref.id,
            outcome=outcome,
            fetched_at=visit.fetched_at or utcnow(),
            source="feed" if self.source == "feed" else "api",
            http_status=status if status is not None else visit.http_status,
            reason=redact(text, self.secrets)[:REASON_LIMIT] if text else None,
            url=strip_credentials(visit.url, self.credential_params, self.secrets),
            pages=visit.pages,
            posts=posts,
            profile=visit.profile,
        )

    def failed(self, failure: Failure) -> AccountVisit | None:
        """Errback: the request got no response (after retries)."""
        request = failure.request  # type: ignore[attr-defined]
        outcome, reason = classify_failure(failure, request, self.settings)
        return self.finish(request.cb_kwargs["visit"], outcome, reason)


def redirected_to_login(response: Response) -> bool:
    """A redirect through a passport, login or visitor page, wherever the chain ended: the platform
    wants a login (or a visitor cookie), which says nothing about the account."""
    chain = [*response.meta.get("redirect_urls", [])[1:], response.url]
    return len(chain) > 1 and any(is_login_url(url.split("?", 1)[0]) for url in chain)


def classify_failure(failure: Failure, request: scrapy.Request, settings: Any) -> tuple[str, str]:
    """The outcome of a request that got no response. The reason never quotes the URL."""
    exc = failure.value
    if isinstance(exc, DownloadTimeoutError | TwistedTimeoutError | TCPTimedOutError):
        return "timeout", f"no response within {settings.getfloat('DOWNLOAD_TIMEOUT'):g} s"
    if isinstance(exc, ResponseDataLossError):
        return "malformed", "truncated response"
    if isinstance(exc, DownloadCancelledError | IgnoreRequest) and "max size" in str(exc):
        return "malformed", f"response larger than {settings.getint('DOWNLOAD_MAXSIZE')} bytes"
    if isinstance(exc, IgnoreRequest) and str(exc).startswith(REFUSED_ADDRESS):
        return "setup_required", f"{exc}; a feed or bridge URL may not point there"
    if isinstance(exc, IgnoreRequest) and "max redirections" in str(exc):
        return "error", f"endless redirect (more than {settings.getint('REDIRECT_MAX_TIMES')} redirects)"
    if is_login_url(request.url.split("?", 1)[0]):
        return "login_required", "redirected to a login page"
    host = request.url.split("/")[2] if request.url.count("/") >= 2 else ""
    if isinstance(exc, CannotResolveHostError):
        return "error", f"cannot resolve host {host}"
    if isinstance(exc, DownloadConnectionRefusedError):
        return "error", f"connection refused by {host}"
    return "error", f"{type(exc).__name__} from {host}"
