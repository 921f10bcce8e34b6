"""`govpulse sources check`: one account per configured source fetched the way the patrol fetches it, before
a patrol is trusted.

Each source (a platform's route: its API, or the bridge that serves it) is tried on one account (the one
named, else the platform's first active account) through the patrol's own spider callbacks, so that the
URL, the headers, the parsers and the outcome are those of a patrol. Only the transport differs: a small
blocking HTTP client with the patrol's timeout, size limit and redirect cap, and the same refusal of
link-local and cloud-metadata addresses. Nothing is stored.
"""

from __future__ import annotations

import asyncio
import inspect
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from http.client import HTTPException
from typing import Any
from urllib.parse import urljoin

from scrapy import Request
from scrapy.http import TextResponse
from sqlalchemy import and_, func, not_, select
from sqlalchemy.engine import Engine

from crawlers.items import AccountVisit
from crawlers.middlewares import REFUSED_ADDRESS, resolves_forbidden
from crawlers.parsing.bridges import SETUP
from crawlers.parsing.posts import FOREIGN, latest_publish_time
from crawlers.redaction import configured_secrets
from crawlers.settings import route as platform_route
from crawlers.spiders import SPIDERS
from crawlers.spiders.base import PatrolSpider
from registry.bridges import mask_credentials
from registry.config import PLATFORMS, Settings
from registry.models import Account
from registry.observations import AccountRef
from registry.safety import forbidden_host

MAX_REQUESTS = 4  # a source works when its first pages answer; the check never reads a whole history
MAX_REDIRECTS = 10
GOOD = ("ok", "empty")


@dataclass
class SourceCheck:
    platform: str
    route: str  # "api" or "feed"
    source: str  # the API, the bridge by name, or "own feed"
    account: str | None  # "#12 weibo:2803301701 岳麓发布"
    outcome: str
    reason: str | None
    url: str | None = None  # masked
    http_status: int | None = None
    posts: int = 0
    newest: datetime | None = None
    requests: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome in GOOD

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["newest"] = self.newest.isoformat() if self.newest else None
        out["ok"] = self.ok
        return out


@dataclass
class CheckReport:
    checks: list[SourceCheck]
    unusable: list[SourceCheck] = field(default_factory=list)  # accounts no configured route can patrol

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def check_sources(
    settings: Settings, engine: Engine, *, platforms: Sequence[str] = PLATFORMS, account_ids: Sequence[int] = ()
) -> CheckReport:
    """Check each configured source of `platforms` (or the sources of the named accounts)."""
    found = _accounts(engine, platforms, account_ids)
    if account_ids:
        checks = [check_one(settings, ref.platform, ref, name) for ref, name in found]
    else:
        first = {ref.platform: (ref, name) for ref, name in found}
        checks = [check_one(settings, p, *first.get(p, (None, ""))) for p in platforms]
    return CheckReport(checks=checks, unusable=_unusable(settings, engine, platforms))


def _accounts(engine: Engine, platforms: Sequence[str], account_ids: Sequence[int]) -> list[tuple[AccountRef, str]]:
    """The account to try per platform: those named, else each platform's first active account."""
    columns = (Account.id, Account.platform, Account.platform_id, Account.feed_url, Account.name)
    with engine.connect() as conn:
        if account_ids:
            rows = conn.execute(select(*columns).where(Account.id.in_(list(account_ids)))).all()
        else:
            first = (
                select(func.min(Account.id))
                .where(Account.status == "active")
                .where(Account.platform.in_(list(platforms)))
                .group_by(Account.platform)
            )
            rows = conn.execute(select(*columns).where(Account.id.in_(first))).all()
    order = {a: n for n, a in enumerate(account_ids)}
    return sorted(
        ((AccountRef(id=row[0], platform=row[1], platform_id=row[2], feed_url=row[3]), row[4]) for row in rows),
        key=lambda item: order.get(item[0].id, item[0].id),
    )


def _unusable(settings: Settings, engine: Engine, platforms: Sequence[str]) -> list[SourceCheck]:
    """Accounts registered in an id form that no route of their platform can use: numeric Toutiao user ids
    (both the API and RSSHub take the MS4wLjAB… token). Listed as a configuration matter."""
    if "toutiao" not in platforms:
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            select(Account.id, Account.platform_id, Account.name)
            .where(
                and_(
                    Account.platform == "toutiao",
                    Account.status.in_(("active", "closing")),
                    Account.feed_url.is_(None),
                    not_(Account.platform_id.like("MS4wLjAB%")),
                )
            )
            .order_by(Account.id)
        ).all()
    route = platform_route(settings, "toutiao")
    return [
        SourceCheck(
            platform="toutiao",
            route=route,
            source="—",
            account=f"#{r[0]} toutiao:{r[1]} {r[2]}",
            outcome=SETUP,
            reason="a numeric Toutiao user id: no route can patrol it; register the "
            "account again with its profile URL or MS4wLjAB… token",
        )
        for r in rows
    ]


def check_one(settings: Settings, platform: str, ref: AccountRef | None, name: str = "") -> SourceCheck:
    route = platform_route(settings, platform)
    source_key = "feed" if route == "feed" or (ref is not None and ref.feed_url) else platform
    bridge = settings.bridge_route(platform)
    source = (
        "own feed"
        if ref is not None and ref.feed_url
        else "api"
        if source_key != "feed"
        else (bridge.bridge if bridge else "no bridge")
    )
    label = None if ref is None else f"#{ref.id} {platform}:{ref.platform_id} {name}".strip()
    check = SourceCheck(
        platform=platform,
        route="feed" if source_key == "feed" else "api",
        source=source,
        account=label,
        outcome=SETUP,
        reason=None,
    )
    if ref is None:
        check.reason = "no active account of this platform to try: register one first"
        return check
    spider = SPIDERS[source_key](patrol_id=0, gp=settings, db=None, scope={}, feed_platforms=frozenset(PLATFORMS))
    spider.compliance = None  # a source check reads the source: no compliance checks, no links requested
    secrets = configured_secrets(settings)
    step: Any = spider.begin(spider.new_visit(ref, None))
    while isinstance(step, Request):
        if check.url is None:
            check.url = mask_credentials(step.url, secrets)
        if check.requests >= MAX_REQUESTS:  # what the first pages showed is the answer
            step = spider.finish(step.cb_kwargs["visit"])
            break
        check.requests += 1
        step = _answer(spider, step, settings)
    visit: AccountVisit = step
    own = [p for p in visit.posts if FOREIGN not in p.flags]
    check.outcome, check.reason, check.http_status = visit.outcome, visit.reason, visit.http_status
    check.posts, check.newest = len(own), latest_publish_time(own)
    return check


def _answer(spider: PatrolSpider, request: Request, settings: Settings) -> Any:
    """The callback's answer to the response of `request`, or its errback's to a failed download."""
    patrol = settings.patrol
    try:
        response = fetch(
            request,
            timeout=float(patrol.get("timeout", 30)),
            max_bytes=int(patrol.get("max_response_bytes", 5_000_000)),
        )
    except FetchFailed as exc:
        return spider.finish(request.cb_kwargs["visit"], exc.outcome, exc.reason)
    result = request.callback(response, **request.cb_kwargs)
    return asyncio.run(result) if inspect.iscoroutine(result) else result


class FetchFailed(Exception):
    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # redirects are followed by fetch(), which checks every hop


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(request: Request, *, timeout: float, max_bytes: int) -> TextResponse:
    """GET the request's URL following redirects (each hop checked), as a Scrapy response to it."""
    url = request.url
    chain: list[str] = []
    headers = {k.decode("latin-1"): v[0].decode("latin-1") for k, v in request.headers.items() if v}
    while True:
        host = forbidden_host(url)
        name = url.split("/")[2].split(":")[0] if url.count("/") >= 2 else ""
        if host is not None or (name and resolves_forbidden(name)):
            raise FetchFailed(SETUP, f"{REFUSED_ADDRESS}: {host or name}")
        try:
            raw = _OPENER.open(urllib.request.Request(url, headers=headers), timeout=timeout)
        except urllib.error.HTTPError as exc:
            raw = exc  # an error status is an answer: the parsers read it
        except TimeoutError:
            raise FetchFailed("timeout", f"no response within {timeout:g} s") from None
        except (urllib.error.URLError, OSError, HTTPException, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FetchFailed("error", f"{type(reason).__name__} from {name}: {reason}"[:200]) from None
        status = raw.status if hasattr(raw, "status") else raw.code
        location = raw.headers.get("Location")
        if 300 <= status < 400 and location:
            raw.close()
            chain.append(url)
            if len(chain) > MAX_REDIRECTS:
                raise FetchFailed("error", f"endless redirect (more than {MAX_REDIRECTS} redirects)")
            url = urljoin(url, location)
            continue
        try:
            body = raw.read(max_bytes + 1)
        except TimeoutError:
            raise FetchFailed("timeout", f"no response within {timeout:g} s") from None
        except (OSError, HTTPException) as exc:
            raise FetchFailed("malformed", f"truncated response ({type(exc).__name__})") from None
        finally:
            raw.close()
        if len(body) > max_bytes:
            raise FetchFailed("malformed", f"response larger than {max_bytes} bytes")
        if chain:
            request.meta["redirect_urls"] = chain
        return TextResponse(
            url, status=status, body=body, request=request, headers={k: v for k, v in raw.headers.items()}
        )
