"""Request to reply: which platform path was asked for, which account it names, and what that account's
kind makes the platform answer. No HTTP here (server.py does that), so every answer can be built and
inspected directly."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from simulator import ids
from simulator.kinds import KINDS
from simulator.render import feeds, pages, toutiao, wechat, weibo
from simulator.render.common import HTML, TEXT, Reply, dumps, html_reply, json_reply
from simulator.scenario import Scenario, SimAccount


@dataclass
class Request:
    method: str
    path: str  # percent-decoded, without the query
    params: dict[str, str]  # first value of each query (and form) parameter
    base_url: str  # scheme://host[:port] the client used
    url: str  # the full URL the client asked for
    at: int = field(default_factory=lambda: int(time.time()))  # request time, for relative dates
    client: str = ""  # the client's address: rate limits are per address, as the platforms' are


@dataclass
class Answer:
    kind: str  # the path kind counted in /__stats
    reply: Reply
    delay: float = 0.0  # seconds to wait before answering (slow accounts)


# Feed path prefixes: (prefix, platform, style by extension or fixed style)
_FEEDS = (
    ("/weibo/user/", "weibo", {"": "rsshub"}),
    ("/toutiao/user/token/", "toutiao", {"": "rsshub"}),
    ("/feeds/", "wechat", {"rss": "wewe-rss", "atom": "wewe-atom", "json": "wewe-json", "": "wewe-atom"}),
    ("/feed/", "wechat", {"xml": "wechat2rss", "json": "wechat2rss-json", "": "wechat2rss"}),
)


def site_of(path: str) -> str | None:
    """Which platform (or the bridge) a path belongs to: each limits a client address on its own."""
    if path.startswith(("/api/container/", "/api/config", "/visitor/")):
        return "weibo"
    if path.startswith("/api/pc/"):
        return "toutiao"
    if path.startswith(("/cgi-bin/", "/s", "/mp/")):
        return "wechat"
    if any(path.startswith(prefix) for prefix, _, _ in _FEEDS):
        return "bridge"
    return None


class RateLimiter:
    """At most `rate` answers per second (a sliding window of one second) to each client address on each
    site; beyond it the site answers as it does to a blocked client. Counts what each address asked."""

    WINDOW = 1.0

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._lock = threading.Lock()
        self._recent: dict[tuple[str, str], deque[float]] = {}
        self._counts: dict[tuple[str, str], Counter[str]] = {}

    def admit(self, client: str, site: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        key = (client, site)
        with self._lock:
            recent = self._recent.setdefault(key, deque())
            counts = self._counts.setdefault(key, Counter())
            while recent and recent[0] <= now - self.WINDOW:
                recent.popleft()
            if len(recent) >= self.rate:
                counts["limited"] += 1
                return False
            recent.append(now)
            counts["requests"] += 1
            counts["peak"] = max(counts["peak"], len(recent))
            return True

    def stats(self) -> dict[str, dict[str, dict[str, int]]]:
        """{address: {site: {"requests", "limited", "peak" (answers in the busiest second)}}}"""
        with self._lock:
            out: dict[str, dict[str, dict[str, int]]] = {}
            for (client, site), counts in sorted(self._counts.items()):
                out.setdefault(client, {})[site] = {k: counts[k] for k in ("requests", "limited", "peak")}
            return out

    def reset(self) -> None:
        with self._lock:
            self._recent.clear()
            self._counts.clear()


def _rate_limited(site: str, req: Request) -> Reply:
    """The site's own answer to a client over its limit."""
    if site == "weibo":
        return weibo.fault("418", req.url)
    if site == "toutiao":
        return toutiao.fault("blocked_text")
    if site == "wechat":
        return (
            html_reply(pages.wechat_notice("env_abnormal"))
            if req.path.startswith("/s")
            else wechat.fault("freq_control")
        )
    return feeds.fault("403")


class Router:
    """Answers requests for one scenario. Thread-safe: the only state is counters."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        slow_seconds: float = 35.0,
        toutiao_require_signature: bool = False,
        wechat2rss_secret: str = "",
        rate_limit: float | None = None,
    ):
        self.scenario = scenario
        self.wechat2rss_secret = wechat2rss_secret  # Wechat2RSS with RSS_ENC_FEED_ID on: feed ids are HMACs
        self._w2r_ids: dict[str, str] | None = None
        self.limiter = RateLimiter(rate_limit) if rate_limit else None
        self.slow_seconds = slow_seconds
        self.toutiao_require_signature = toutiao_require_signature
        self.started = time.time()
        self._lock = threading.Lock()
        self._stats: Counter[str] = Counter()
        self._status: Counter[int] = Counter()
        self._hits: Counter[tuple[int, str]] = Counter()
        self._truth: bytes | None = None

    # ------------------------------------------------------------------------------- counters
    def count(self, kind: str, status: int) -> None:
        with self._lock:
            self._stats[kind] += 1
            self._status[status] += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            total = sum(self._stats.values())
            return {
                "total": total,
                "by_path": dict(sorted(self._stats.items())),
                "by_status": {str(k): v for k, v in sorted(self._status.items())},
                "uptime_s": round(time.time() - self.started, 3),
                "scenario": self.scenario.name,
                "accounts": len(self.scenario.accounts),
                **({"rate_limit": self.limiter.rate, "clients": self.limiter.stats()} if self.limiter else {}),
            }

    def reset(self) -> None:
        with self._lock:
            self._stats.clear()
            self._status.clear()
            self._hits.clear()
        if self.limiter is not None:
            self.limiter.reset()

    def _hit(self, acc: SimAccount, kind: str) -> int:
        with self._lock:
            n = self._hits[(acc.index, kind)]
            self._hits[(acc.index, kind)] += 1
            return n

    # -------------------------------------------------------------------------------- routing
    def handle(self, req: Request) -> Answer:
        path = req.path
        if path.startswith("/__"):
            return self._internal(req)
        if self.limiter is not None:
            site = site_of(path)
            if site is not None and not self.limiter.admit(req.client, site):
                return Answer(f"{site}.rate_limited", _rate_limited(site, req))
        if path == "/api/container/getIndex":
            return self._weibo(req)
        if path == "/api/config":
            return Answer("weibo.config", weibo.login_check())
        if path.startswith("/visitor/"):
            return Answer("weibo.visitor", html_reply(pages.weibo_visitor(req.params.get("url", ""))))
        if path in ("/api/pc/list/user/feed", "/api/pc/list/feed"):
            return self._toutiao(req)
        if path in ("/cgi-bin/appmsgpublish", "/cgi-bin/appmsg"):
            return self._wechat_list(req)
        if path == "/cgi-bin/searchbiz":
            return Answer("wechat.searchbiz", wechat.searchbiz(self.scenario, req.params))
        if path == "/s" or path.startswith("/s/"):
            return self._wechat_article(req)
        if path == "/mp/getappmsgext":
            return self._getappmsgext(req)
        for prefix, platform, styles in _FEEDS:
            if path.startswith(prefix):
                return self._feed(req, prefix, platform, styles)
        return Answer("unknown", feeds.rsshub_no_route(path))

    def _guard(
        self, acc: SimAccount, route: str, kind: str, serve: Callable[[], Reply], refuse: Callable[[str], Reply]
    ) -> Answer:
        """Apply the account's fault: delay (slow), fail some requests (flaky), refuse (blocked, login wall),
        otherwise serve."""
        fault = KINDS[acc.kind].fault
        variant = acc.feed_variant if route == "feed" else acc.variant
        if fault == "flaky":
            n = self._hit(acc, kind)
            if variant == "fail_first" and n == 0:
                return Answer(kind, Reply(503, b"<html><body>503 Service Temporarily Unavailable</body></html>", HTML))
            if variant == "alternate" and n % 2 == 0:
                return Answer(kind, Reply(502, b"<html><body>502 Bad Gateway</body></html>", HTML))
            if variant == "drop_first" and n == 0:
                return Answer(kind, Reply(drop=True))
        if fault in ("blocked", "login_wall") and variant:
            return Answer(kind, refuse(variant))
        return Answer(kind, serve(), self.slow_seconds if fault == "slow" else 0.0)

    @staticmethod
    def _broken(acc: SimAccount, route: str) -> str | None:
        """The malformed variant to apply to content (timeline, list, feed) answers, if any."""
        if KINDS[acc.kind].fault not in ("malformed", "drift"):
            return None
        return acc.feed_variant if route == "feed" else acc.variant

    # ---------------------------------------------------------------------------------- weibo
    def _weibo(self, req: Request) -> Answer:
        p = req.params
        cid = p.get("containerid", "")
        if cid.startswith(weibo.PROFILE_PREFIX) or (not cid and p.get("type") == "uid"):
            kind, uid = "weibo.profile", cid[6:] or p.get("value", "")
        elif cid[:6] in weibo.TIMELINE_PREFIXES:
            kind, uid = "weibo.timeline", cid[6:]
        else:
            return Answer("weibo.other", weibo.not_found())
        acc = self.scenario.account("weibo", uid)
        if acc is None:
            return Answer(kind, weibo.not_found())

        def serve() -> Reply:
            if KINDS[acc.kind].fault in ("not_found", "gone"):
                return weibo.not_found()
            if kind == "weibo.profile":
                return weibo.profile(self.scenario, acc)
            if KINDS[acc.kind].fault == "flood":
                return weibo.flood_page(self.scenario, acc, p, cid, req.at)
            good = weibo.timeline_page(self.scenario, acc, p, cid, req.at)
            broken = self._broken(acc, "api")
            return weibo.malformed(broken, good.body) if broken else good

        return self._guard(acc, "api", kind, serve, lambda v: weibo.fault(v, req.url))

    # -------------------------------------------------------------------------------- toutiao
    def _toutiao(self, req: Request) -> Answer:
        kind = "toutiao.feed"
        if self.toutiao_require_signature and not any(req.params.get(k) for k in toutiao.SIGNATURE_PARAMS):
            return Answer(kind, Reply(200, b"", TEXT))
        acc = self.scenario.account("toutiao", req.params.get("token", ""))
        if acc is None:
            return Answer(
                kind, json_reply({"data": [], "has_more": False, "message": "success", "next": {"max_behot_time": 0}})
            )

        def serve() -> Reply:
            good = toutiao.feed_page(self.scenario, acc, req.params)
            broken = self._broken(acc, "api")
            return toutiao.malformed(broken, good.body) if broken else good

        return self._guard(acc, "api", kind, serve, toutiao.fault)

    # --------------------------------------------------------------------------------- wechat
    def _wechat_list(self, req: Request) -> Answer:
        kind = "wechat.appmsgpublish" if req.path.endswith("appmsgpublish") else "wechat.appmsg"
        if self.scenario.wechat_list_closed:
            return Answer(kind, wechat.fault("freq_control"))
        acc = self.scenario.account("wechat", req.params.get("fakeid", ""))
        if acc is None:
            return Answer(kind, wechat.invalid_args())

        def serve() -> Reply:
            make = wechat.appmsgpublish if kind == "wechat.appmsgpublish" else wechat.appmsg_list
            good = make(self.scenario, acc, req.params)
            broken = self._broken(acc, "api")
            return wechat.malformed(broken, good.body, kind) if broken else good

        return self._guard(acc, "api", kind, serve, wechat.fault)

    def _wechat_article(self, req: Request) -> Answer:
        kind = "wechat.article"
        acc, post = self._article_target(req)
        if acc is None:
            return Answer(kind, html_reply(pages.wechat_notice("deleted_article")))
        return self._guard(
            acc,
            "page",
            kind,
            lambda: wechat.article_page(self.scenario, acc, post),
            lambda v: wechat.article_page(self.scenario, acc, post),
        )

    def _article_target(self, req: Request) -> tuple[SimAccount | None, Any]:
        if req.path.startswith("/s/"):
            decoded = ids.parse_short_id(req.path[3:])
            if decoded is None:
                return None, None
            acc = self.scenario.by_index(decoded[0])
            if acc is None or acc.platform != "wechat":
                return None, None
            return acc, wechat.find_article(self.scenario, acc, str(decoded[1]), str(decoded[2]))
        acc = self.scenario.account("wechat", req.params.get("__biz", ""))
        if acc is None:
            return None, None
        return acc, wechat.find_article(
            self.scenario,
            acc,
            req.params.get("mid") or req.params.get("appmsgid"),
            req.params.get("idx") or req.params.get("itemidx"),
        )

    def _getappmsgext(self, req: Request) -> Answer:
        kind = "wechat.getappmsgext"
        acc, post = self._article_target(req)
        token = req.params.get("appmsg_token")
        if acc is None:
            return Answer(kind, wechat.getappmsgext(self.scenario, None, None, token))
        return self._guard(
            acc,
            "page",
            kind,
            lambda: wechat.getappmsgext(self.scenario, acc, post, token),
            lambda v: wechat.getappmsgext(self.scenario, acc, post, token),
        )

    # ---------------------------------------------------------------------------------- feeds
    def _feed_account(self, prefix: str, platform: str, ident: str) -> SimAccount | None:
        """The account a bridge path names, under that bridge's own id scheme: RSSHub the uid or token,
        wewe-rss MP_WXS_<biz as a number>, Wechat2RSS the number (or its HMAC with the configured secret)."""
        if prefix == "/feeds/":
            number = ident.removeprefix("MP_WXS_") if ident.startswith("MP_WXS_") else ""
        elif prefix == "/feed/":
            number = self._wechat2rss_ids().get(ident, "") if self.wechat2rss_secret else ident
        else:
            return self.scenario.account(platform, ident)
        if not number.isdigit():
            return None
        return self.scenario.account("wechat", base64.b64encode(number.encode()).decode())

    def _wechat2rss_ids(self) -> dict[str, str]:
        if self._w2r_ids is None:
            numbers = [
                base64.b64decode(a.platform_id).decode() for a in self.scenario.accounts if a.platform == "wechat"
            ]
            key = self.wechat2rss_secret.encode()
            self._w2r_ids = {hmac.new(key, n.encode(), hashlib.sha1).hexdigest(): n for n in numbers}
        return self._w2r_ids

    def _feed(self, req: Request, prefix: str, platform: str, styles: dict[str, str]) -> Answer:
        rest = req.path[len(prefix) :].strip("/").split("/")[0]
        ident, _, ext = rest.rpartition(".") if platform == "wechat" else (rest, "", "")
        if platform == "wechat" and not ident:
            ident, ext = rest, ""
        style = styles.get(ext, styles[""])
        kind = (
            "feed."
            + {
                "/weibo/user/": "rsshub_weibo",
                "/toutiao/user/token/": "rsshub_toutiao",
                "/feeds/": "wewe",
                "/feed/": "wechat2rss",
            }[prefix]
        )
        acc = self._feed_account(prefix, platform, ident)
        if acc is None:
            unknown = {
                "/weibo/user/": lambda: feeds.rsshub_weibo_unknown(req.path),
                "/toutiao/user/token/": lambda: feeds.rsshub_no_posts(req.path),
                "/feeds/": feeds.wewe_unknown,
                "/feed/": feeds.wechat2rss_unknown,
            }[prefix]
            return Answer(kind, unknown())

        def serve() -> Reply:
            if KINDS[acc.kind].fault in ("not_found", "gone") and platform == "weibo":
                return feeds.rsshub_weibo_unknown(req.path)  # m.weibo.cn has no userInfo for it either
            if prefix == "/toutiao/user/token/" and not feeds.entries(self.scenario, acc, style, req.params):
                return feeds.rsshub_no_posts(req.path)
            good = feeds.render(self.scenario, acc, style, req.params, req.url, req.at)
            broken = self._broken(acc, "feed")
            if broken == "truncated":
                return feeds.truncated(good)
            return feeds.fault(broken) if broken else good

        return self._guard(acc, "feed", kind, serve, feeds.fault)

    # ------------------------------------------------------------------------------- internal
    def _internal(self, req: Request) -> Answer:
        sc = self.scenario
        if req.path == "/__stats":
            return Answer("sim.stats", json_reply(self.stats()))
        if req.path == "/__truth":
            if self._truth is None:
                self._truth = sc.truth_json().encode("utf-8")
            return Answer("sim.truth", Reply(200, self._truth))
        if req.path == "/__roster.csv":
            return Answer("sim.roster", Reply(200, sc.roster_csv().encode("utf-8-sig"), "text/csv; charset=utf-8"))
        if req.path == "/__posts":
            acc = sc.account(req.params.get("platform", ""), req.params.get("id", ""))
            if acc is None:
                return Answer("sim.posts", json_reply({"error": "no such account"}, 404))
            return Answer("sim.posts", Reply(200, dumps([p.as_dict() for p in sc.posts(acc)])))
        if req.path == "/__edit" and req.method == "POST":
            sc.edit()
            return Answer("sim.edit", json_reply({"ok": True}))
        if req.path.startswith("/__gone/"):  # a page a post links to, removed since
            return Answer("sim.gone", Reply(404, b"not found", TEXT))
        if req.path == "/__reset" and req.method == "POST":
            self.reset()
            return Answer("sim.reset", json_reply({"ok": True}))
        return Answer("unknown", Reply(404, b"not found", TEXT))


def split_target(target: str) -> tuple[str, str]:
    path, _, query = target.partition("?")
    return unquote(path), query
