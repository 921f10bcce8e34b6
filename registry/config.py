"""One settings object, from `govpulse.toml` (or --config / GOVPULSE_CONFIG), every key with a default,
environment variables on top.

Secrets (cookies, tokens, SMTP passwords, robot keys) are read from the environment or from a file named
in the configuration; they are never written to the database and `config show` masks them.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.bridges import BridgeRoute, bridge_route, check_bridge_config, mask_credentials
from registry.errors import ValidationError
from registry.vocabulary import PLATFORMS  # noqa: F401  (re-exported: the settings name the platforms)

# Keys whose values are secrets wherever they appear (masked by `config show`).
SECRET_KEYS = frozenset(
    {"cookie", "token", "password", "secret", "key", "access_key", "webhook_url", "wechat2rss_secret"}
)
# Keys whose values are URLs or URL templates that may carry a credential in their query or user info.
URL_KEYS = frozenset({"url", "base_url", "weibo", "toutiao", "wechat"})


def default_home() -> Path:
    """Where the embedded SQLite database and the reports live unless configured otherwise."""
    env = os.environ.get("GOVPULSE_HOME")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "govpulse"


def _defaults() -> dict[str, Any]:
    home = default_home()
    return {
        "database": {"url": f"sqlite:///{home / 'govpulse.db'}"},
        "platforms": {
            # route: "api" = the platform's own JSON API; "feed" = the bridge template below.
            "weibo": {
                "base_url": "https://m.weibo.cn",
                "route": "api",
                "concurrency": 2,
                "delay": 1.0,
                "cookie": "",
                "cookie_file": "",
            },
            "toutiao": {
                "base_url": "https://www.toutiao.com",
                "route": "feed",
                "concurrency": 2,
                "delay": 1.0,
                "cookie": "",
                "cookie_file": "",
            },
            "wechat": {
                "base_url": "https://mp.weixin.qq.com",
                "route": "feed",
                "concurrency": 1,
                "delay": 3.0,
                "cookie": "",
                "cookie_file": "",
                "token": "",
                "token_file": "",
            },
        },
        "bridge": {
            "base_url": "",
            # Per platform, when the bridges differ (RSSHub for Weibo and Toutiao, wewe-rss for WeChat).
            "base_urls": {},
            # A bridge name (registry/bridges.py PRESETS) or a free template with {base}, {id}, {biz_num}.
            "templates": {
                "weibo": "rsshub",
                "toutiao": "rsshub",
                "wechat": "wewe-rss",
            },
            "key": "",  # RSSHub's ACCESS_KEY, sent as key= to RSSHub only
            # Wechat2RSS with RSS_ENC_FEED_ID=1: its RSS_SECRET, to compute the encrypted feed ids.
            "wechat2rss_secret": "",
            "wechat2rss_secret_file": "",
            # Politeness towards the bridge (all bridge feeds share one download slot).
            "concurrency": 4,
            "delay": 0.5,
        },
        "patrol": {
            "lookback_days": 180,
            "first_visit_max_pages": 10,
            "page_size": 20,
            "timeout": 30,
            "retries": 3,
            "max_response_bytes": 5_000_000,
            "autothrottle": True,
            "user_agent": "govpulse/0.1 (+government new-media patrol)",
            "time_limit_seconds": 6 * 3600,
            "max_pages": 50,  # page cap on later visits (they stop at the posts already stored)
            "max_posts_per_visit": 1000,  # posts kept from one account in one patrol (the newest)
            "retry_backoff": 2.0,  # seconds before the first retry, doubled for each further retry
            "resume_hours": 24,  # an interrupted patrol over the same scope is completed if this recent
            "log_dir": str(home / "logs"),  # one log file per patrol
            # A WeChat account silent this long gets its newest article page read: only that page says
            # whether the account was deregistered, migrated or banned. 0 = never.
            "verify_silent_days": 14,
            # Processes that parse responses beside the crawl: "auto" (one per core beyond the first,
            # at most four) or a number; 0 parses in the crawl process itself.
            "parse_workers": "auto",
        },
        # Patrols across several hosts (PostgreSQL only): the patrol is cut into shards of one platform's
        # accounts, queued in procrastinate; `govpulse worker` on each host crawls them (docs/scaling.md).
        "distributed": {
            "enabled": False,
            "shard_size": 300,  # accounts per shard
            "stalled_seconds": 60,  # a shard whose worker sent no heartbeat for this long is queued again
            "heartbeat_seconds": 10,  # how often each worker says it is alive
            "max_attempts": 3,  # starts of a shard before it fails (its unvisited accounts stay due)
            "retry_wait_seconds": 30,  # before a failed shard is tried again
            "poll_seconds": 5,  # how often an idle worker looks for shards (besides LISTEN/NOTIFY)
            "listen_notify": True,
        },
        # This host as a worker of distributed patrols (`govpulse worker`; options override these).
        "worker": {
            "platforms": [],  # the platforms it crawls; empty = all
            "egress": "",  # a name for its egress address, shown by `status`; default the host name
            "bind_address": "",  # the local address its crawls connect from; default the system's choice
            "shutdown_grace_seconds": 30,  # SIGTERM: a running crawl stores what it has for this long
            "db_retry_max_seconds": 60,  # the database lost: retries wait 1, 2, 4... up to this long
        },
        "policy": {"file": ""},
        # max_html_rows: rows per list written into the page itself (the interactive table and the
        # exports always hold every account); issuer: who signs the notices to units; doc_no: the
        # notices' 文号 ({year}, {n}: the notice's number), bulletin_no the bulletin's ({year}); contact
        # and phone: whom units call.
        "report": {
            "out_dir": str(home / "reports"),
            "deadline_days": 15,
            "lang": "zh",
            "trend_runs": 12,
            "max_html_rows": 2000,
            "issuer": "",
            "doc_no": "",
            "bulletin_no": "",
            "contact": "",
            "phone": "",
        },
        # Rectification cases (docs/cases.md): prefix of the case codes (PREFIX-YEAR-NNNN), days a unit has
        # after hand-over (deadline_days by kind, e.g. { shell = 30 }, over the default), and the grace
        # period after the deadline before an overdue case is escalated.
        "cases": {
            "prefix": "GP",
            "deadline_days": 15,
            "deadline_days_by_kind": {},
            "grace_days": 15,
        },
        "scheduler": {
            "timezone": "Asia/Shanghai",
            "misfire_grace_seconds": 3600,  # a run missed by less than this is caught up once at start
            "on_lock": "wait",  # another patrol running: "wait" (up to lock_wait_seconds) or "fail"
            "lock_wait_seconds": 600,
            "lock_stale_seconds": 120,  # a lock whose heartbeat is older than this is taken over
            "poll_seconds": 30,  # how often the daemon reads schedule changes made with the CLI
            # due-only patrols: each account is due again after this long (+/- jitter, from its id)
            "due_interval_hours": 24,
            "due_jitter": 0.1,
            "daily_budget": {"weibo": 0, "toutiao": 0, "wechat": 0},  # accounts per day; 0 = no cap
            "failing_after": 3,  # `status` lists accounts whose last N visits all failed
            "log_excerpt_chars": 4000,
        },
        "schedules": [],
        # What old records are reduced to (registry/retention.py; docs/operations.md). Days; 0 = forever.
        "retention": {
            "outcomes_days": 30,  # fetch outcomes last seen before removed, but each account's newest keep_outcomes
            "keep_outcomes": 3,  # rows (stretches of identical outcomes): more than the scorer and `status` read
            "fold_outcomes": True,  # identical rows the store could not fold: only the first and latest kept
            "snapshots_days": 30,  # older account snapshots removed, but each account's newest
            "logs_days": 60,  # patrol log files
            "reports_days": 365,  # report, notice and bulletin files in report.out_dir (latest.html stays)
            "after_chain": True,  # the daemon prunes after each chain of a schedule
        },
        # Compliance checks in the patrol (docs/compliance.md): the shipped starting lists and the office's
        # own rule files (paths relative to this file), broken links checked politely.
        "compliance": {
            "enabled": True,
            "shipped": True,
            "rule_files": [],
            "personal_data_severity": "deduction",
            "check_links": True,
            "link_timeout": 5,
            "link_concurrency": 2,
            "link_delay": 0.5,
        },
        "alerts": {
            "lang": "zh",
            "channels": {},  # name -> {type = "webhook" | "wecom" | "dingtalk" | "email", ...}
            "login_required_threshold": 5,  # this many login_required outcomes on one platform = expired
            "max_attempts": 5,  # a failing channel is retried on later runs up to this many times
            "timeout_seconds": 10,
            "max_items": 30,  # accounts listed per message; the rest are counted
            "summary": True,  # a summary of every run (with the report) besides the changes
            "report_base_url": "",  # links to reports instead of paths (e.g. an intranet web server)
        },
    }


# Environment variables that override a key (path into the nested settings).
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "GOVPULSE_DATABASE_URL": ("database", "url"),
    "GOVPULSE_WEIBO_BASE_URL": ("platforms", "weibo", "base_url"),
    "GOVPULSE_TOUTIAO_BASE_URL": ("platforms", "toutiao", "base_url"),
    "GOVPULSE_WECHAT_BASE_URL": ("platforms", "wechat", "base_url"),
    "GOVPULSE_WEIBO_COOKIE": ("platforms", "weibo", "cookie"),
    "GOVPULSE_TOUTIAO_COOKIE": ("platforms", "toutiao", "cookie"),
    "GOVPULSE_WECHAT_COOKIE": ("platforms", "wechat", "cookie"),
    "GOVPULSE_WECHAT_TOKEN": ("platforms", "wechat", "token"),
    "GOVPULSE_BRIDGE_BASE_URL": ("bridge", "base_url"),
    "GOVPULSE_BRIDGE_KEY": ("bridge", "key"),
    "GOVPULSE_WECHAT2RSS_SECRET": ("bridge", "wechat2rss_secret"),
    "GOVPULSE_POLICY_FILE": ("policy", "file"),
    "GOVPULSE_REPORT_DIR": ("report", "out_dir"),
}


def _merge(base: dict[str, Any], over: dict[str, Any], where: str = "") -> dict[str, Any]:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, f"{where}{key}.")
        else:
            base[key] = value
    return base


@dataclass
class Settings:
    data: dict[str, Any]
    path: Path | None = None
    sources: dict[str, str] = field(default_factory=dict)  # dotted key -> "file" | "env" | "cli"

    # -- typed accessors for what every package needs ------------------------------------------
    @property
    def database_url(self) -> str:
        return str(self.data["database"]["url"])

    def platform(self, name: str) -> dict[str, Any]:
        return self.data["platforms"][name]

    def secret(self, platform: str, name: str) -> str:
        """A credential: the value (from env or file key) or the contents of `<name>_file`."""
        return read_secret(self.platform(platform), name, where=platform)

    def bridge_route(self, platform: str) -> BridgeRoute | None:
        """The feed bridge configured for a platform (its preset or template, base URL and keys)."""
        bridge = self.data["bridge"]
        secret = read_secret(bridge, "wechat2rss_secret", where="bridge") if platform == "wechat" else ""
        return bridge_route(bridge, platform, wechat2rss_secret=secret)

    @property
    def patrol(self) -> dict[str, Any]:
        return self.data["patrol"]

    @property
    def report(self) -> dict[str, Any]:
        return self.data["report"]

    def get(self, *path: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def masked(self) -> dict[str, Any]:
        """The effective configuration with every secret replaced by '***' (or '' when unset)."""

        def walk(node: Any, key: str = "") -> Any:
            if isinstance(node, dict):
                return {k: walk(v, k) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v, key) for v in node]
            if key in SECRET_KEYS and node:
                return "***"
            if key in URL_KEYS and isinstance(node, str):
                return mask_credentials(mask_url(node))
            return node

        return walk(copy.deepcopy(self.data))


def read_secret(conf: dict[str, Any], name: str, *, where: str) -> str:
    """The value of `name` in a section, or else the contents of the file its `<name>_file` names."""
    value = conf.get(name) or ""
    path = conf.get(f"{name}_file") or ""
    if not value and path:
        try:
            value = Path(path).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValidationError(f"cannot read {where}.{name}_file {path!r}: {exc.strerror}") from None
    return str(value)


def mask_url(url: str) -> str:
    """Hide a password in a database URL (postgresql://user:secret@host/db -> user:***@host)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("GOVPULSE_CONFIG")
    if env:
        return Path(env)
    local = Path("govpulse.toml")
    return local if local.exists() else None


def load_settings(path: str | os.PathLike[str] | None = None, *, database_url: str | None = None) -> Settings:
    """Defaults, then the TOML file, then environment variables, then explicit CLI values."""
    data = _defaults()
    sources: dict[str, str] = {}
    cfg = config_path(path)
    if cfg is not None:
        try:
            raw = cfg.read_bytes()
        except OSError as exc:
            raise ValidationError(f"cannot read configuration file {cfg}: {exc.strerror}") from None
        try:
            loaded = tomllib.loads(raw.decode("utf-8-sig"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(f"{cfg}: not valid TOML: {exc}") from None
        except RecursionError:  # nesting no configuration has
            raise ValidationError(f"{cfg}: not valid TOML: nested too deeply") from None
        unknown = sorted(set(loaded) - set(data))
        if unknown:
            raise ValidationError(
                f"{cfg}: unknown section(s) {', '.join(unknown)}", hint=f"known: {', '.join(sorted(data))}"
            )
        _merge(data, loaded)
        for section in loaded:
            sources[section] = "file"
    for env, keypath in ENV_OVERRIDES.items():
        if os.environ.get(env):
            node = data
            for part in keypath[:-1]:
                node = node[part]
            node[keypath[-1]] = os.environ[env]
            sources[".".join(keypath)] = "env"
    if database_url:
        data["database"]["url"] = database_url
        sources["database.url"] = "cli"
    check_bridge_config(data["bridge"], where=str(cfg) if cfg is not None else "")
    return Settings(data=data, path=cfg, sources=sources)
