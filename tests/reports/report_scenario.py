"""A small district with two score runs, written straight into the tables the scorer fills (the change
of each verdict as the scorer's history works it out).

Names, titles, links and reasons include hostile values (markup, script-closing sequences, javascript:
links, spreadsheet formulas) so that every test of the report also checks they stay inert.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from registry.models import Account, FetchOutcome, Organization, Patrol, PlanItem, Post, ScoreRun, Verdict
from registry.scoring.history import change
from registry.timeutil import SHANGHAI

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'
XSS_CLOSE = "</script><script>alert(2)</script>"
FORMULA = '=HYPERLINK("http://evil.example/","x")'
AS_OF = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
PREV_AS_OF = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
POLICY = {
    "dormant_days": 14,
    "zombie_days": 90,
    "window_days": 90,
    "shell": {"max_originals": 1, "max_median_engagement": 1, "max_followers": 100},
}


@dataclass
class Scenario:
    engine: Engine
    orgs: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)
    run_id: int = 0
    prev_run_id: int = 0


# (name, unit, platform, platform id, verdict now, verdict in the previous run (None: not judged), latest
# fetch outcome (None: never fetched))
ACCOUNTS: list[tuple[str, str, str, str, str, str | None, str | None]] = [
    ("滨江发布", "滨江区", "weibo", "5001000001", "active", "active", "ok"),
    ("滨江教育", "区教育局", "wechat", "gh_000000000001", "active", "dormant", "ok"),
    ("教育局头条", "区教育局", "toutiao", "MS4wLjABAAAAtest0001", "dormant", "active", "ok"),
    ("一中校园", "第一中学", "wechat", "gh_000000000002", "zombie", "zombie", "empty"),
    ("一中微博", "第一中学", "weibo", "5001000002", "shell", "shell", "ok"),
    ("健康滨江", "区卫健委", "weibo", "5001000003", "active", "active", "ok"),
    ("卫健头条", "区卫健委", "toutiao", "5001000004", "unreachable", "unknown", "gone"),
    ("卫健服务", "区卫健委", "wechat", "gh_000000000003", "unknown", "active", "timeout"),
    ("长河街道", "长河街道", "weibo", "5001000005", "unknown", None, "login_required"),
    ("江边社区", "江边社区", "wechat", "gh_000000000004", "dormant", "dormant", "ok"),
    (XSS_SCRIPT, "江边社区", "weibo", "5001000006", "zombie", "active", "ok"),
    (XSS_IMG, "长河街道", "toutiao", "5001000007", "shell", "shell", "ok"),
    (FORMULA, "区卫健委", "weibo", "5001000008", "unknown", "unknown", "malformed"),
    ("新开账号", "长河街道", "wechat", "gh_000000000005", "unknown", None, None),
    ("已关停号", "区教育局", "weibo", "5001000009", "zombie", "zombie", "ok"),  # closed: not counted
    ("关停仍更新", "区卫健委", "wechat", "gh_000000000006", "active", "active", "ok"),  # closed, still posting
]
RETIRED = ("已关停号", "关停仍更新")
RETIRED_POSTING = "关停仍更新"
ORGS = [
    ("滨江区", None, "district"),
    ("区教育局", "滨江区", "department"),
    ("第一中学", "区教育局", "other"),
    ("区卫健委", "滨江区", "department"),
    ("长河街道", "滨江区", "street"),
    ("江边社区", "长河街道", "community"),
]
RULES = {
    "active": ("active", "近期有更新", "updated recently", None),
    "dormant": ("dormant_14d", "14天内无更新", "no update in 14 days", "14天"),
    "zombie": ("zombie_90d", "90天内无更新", "no update in 90 days", "90天"),
    "shell": ("shell", "几乎只有转发且互动极少", "reposts only, negligible engagement", "原创≤1"),
    "unreachable": ("unreachable", "平台表示账号已不存在", "platform says gone", "连续2次"),
    "unknown": ("unknown", "数据不足", "not enough data", None),
}
DAYS_SILENT = {"active": 2, "dormant": 30, "zombie": 200, "shell": 5, "unreachable": None, "unknown": None}


def post_url(name: str) -> str:
    """The link of an account's last post (a hostile one for the script-named account)."""
    return "javascript:alert(1)" if name == XSS_SCRIPT else f"https://m.weibo.cn/status/{zlib.crc32(name.encode())}"


def _evidence(platform: str, status: str) -> dict[str, Any]:
    """Evidence as the scorer writes it (registry/scoring/run.py)."""
    if status in ("unknown", "unreachable"):
        return {"window_days": 90, "posts": 0, "originals": 0, "outcome": "timeout"}
    return {
        "window_days": 90,
        "posts": 0 if status == "zombie" else 12,
        "originals": 0 if status in ("zombie", "shell") else 7,
        "median_engagement": None if platform == "wechat" else 3.5,  # feeds give no reads
        "followers": 1234 if status != "shell" else 12,
        "longest_gap_days": 40.5 if platform == "wechat" else 40,  # (tenths: as earlier versions stored)
        "engaged_posts": 12,
    }


def seed(engine: Engine) -> Scenario:
    sc = Scenario(engine=engine)
    with engine.begin() as conn:
        for name, parent, level in ORGS:
            sc.orgs[name] = conn.execute(
                insert(Organization.__table__).values(
                    name=name,
                    parent_id=sc.orgs.get(parent) if parent else None,
                    level=level,
                    created_at=PREV_AS_OF,
                    updated_at=PREV_AS_OF,
                )
            ).inserted_primary_key[0]
        for name, org, platform, pid, *_ in ACCOUNTS:
            sc.accounts[name] = conn.execute(
                insert(Account.__table__).values(
                    name=name,
                    org_id=sc.orgs[org],
                    platform=platform,
                    platform_id=pid,
                    status="closed" if name in RETIRED else "active",
                    created_at=PREV_AS_OF,
                    updated_at=PREV_AS_OF,
                )
            ).inserted_primary_key[0]
        patrol = conn.execute(
            insert(Patrol.__table__).values(
                started_at=AS_OF - timedelta(hours=2),
                finished_at=AS_OF - timedelta(hours=1),
                status="finished",
                scope={},
                accounts_total=14,
                accounts_done=13,
                summary={},
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(FetchOutcome.__table__),
            [
                {
                    "patrol_id": patrol,
                    "account_id": sc.accounts[name],
                    "fetched_at": AS_OF - timedelta(minutes=90 - i),
                    "outcome": outcome,
                    "http_status": {"timeout": None, "login_required": 200, "gone": 200, "malformed": 200}.get(
                        outcome, 200
                    ),
                    "reason": (
                        f"HTML instead of JSON {XSS_CLOSE}"
                        if outcome == "malformed"
                        else "请先登录"
                        if outcome == "login_required"
                        else outcome
                    ),
                    "source": "feed" if platform == "wechat" else "api",
                    "pages": 1,
                    "posts_seen": 0,
                    "posts_new": 0,
                }
                for i, (name, _, platform, _, _, _, outcome) in enumerate(ACCOUNTS)
                if outcome
            ],
        )
        since: dict[str, Any] = {}  # account -> flagged_since of its latest verdict
        for run_as_of, current in ((PREV_AS_OF, False), (AS_OF, True)):
            run_id = conn.execute(
                insert(ScoreRun.__table__).values(
                    as_of=run_as_of, created_at=run_as_of + timedelta(minutes=5), policy=POLICY, summary={}
                )
            ).inserted_primary_key[0]
            rows = []
            for name, _org, platform, _pid, now, before, _outcome in ACCOUNTS:
                status = now if current else before
                if status is None:
                    continue
                earlier = since.get(name) if current and before is not None else None
                moved, since[name] = change(status, (before, "[]", earlier) if current and before else None, run_as_of)
                rule, zh, en, threshold = RULES[status]
                if name == XSS_IMG:
                    zh = en = f"rule {XSS_CLOSE}"
                silent = DAYS_SILENT[status]
                rows.append(
                    {
                        "run_id": run_id,
                        "account_id": sc.accounts[name],
                        "status": status,
                        "registry_status": "closed" if name in RETIRED else "active",
                        "flags": ["closed_but_posting"]
                        if name == RETIRED_POSTING
                        else ["engagement_unknown"]
                        if platform == "wechat" and silent is not None
                        else [],
                        "rule": rule,
                        "rule_zh": zh,
                        "rule_en": en,
                        "threshold": threshold,
                        "liveness_index": None if status in ("unknown", "unreachable") else 42.5,
                        "index_basis": "activity_only" if name == "滨江教育" else "full",
                        "last_post_at": None if silent is None else run_as_of - timedelta(days=silent),
                        "days_silent": silent,
                        "evidence": _evidence(platform, status),
                        "previous_status": before if current else None,
                        "change": moved,
                        "flagged_since": since[name],
                    }
                )
            conn.execute(insert(Verdict.__table__), rows)
            if current:  # the posts the verdicts' last updates come from
                names = {v: k for k, v in sc.accounts.items()}
                conn.execute(
                    insert(Post.__table__),
                    [
                        {
                            "account_id": r["account_id"],
                            "platform_post_id": f"p{r['account_id']}",
                            "published_at": r["last_post_at"],
                            "first_seen_at": AS_OF,
                            "last_seen_at": AS_OF,
                            "title": f"最新一条 {XSS_CLOSE}",
                            "url": post_url(names[r["account_id"]]),
                        }
                        for r in rows
                        if r["last_post_at"] is not None
                    ],
                )
                sc.run_id = run_id
            else:
                sc.prev_run_id = run_id
        conn.execute(
            insert(PlanItem.__table__),
            [
                {
                    "run_id": sc.run_id,
                    "account_id": sc.accounts["一中微博"],
                    "org_id": sc.orgs["第一中学"],
                    "action": "merge",
                    "target_account_id": sc.accounts["滨江教育"],
                    "reason_zh": "同平台内容重复",
                    "reason_en": "duplicate content",
                    "numbers": {},
                },
                {
                    "run_id": sc.run_id,
                    "account_id": sc.accounts["一中校园"],
                    "org_id": sc.orgs["第一中学"],
                    "action": "close",
                    "target_account_id": None,
                    "reason_zh": f"长期不更新 {XSS_SCRIPT}",
                    "reason_en": f"silent {XSS_SCRIPT}",
                    "numbers": {"days_silent": 200},
                },
                {
                    "run_id": sc.run_id,
                    "account_id": sc.accounts["滨江发布"],
                    "org_id": sc.orgs["滨江区"],
                    "action": "keep",
                    "target_account_id": None,
                    "reason_zh": "主账号",
                    "reason_en": "main account",
                    "numbers": {},
                },
            ],
        )
    return sc


def parse(path: Path) -> Any:
    """The page as an lxml tree."""
    import lxml.html

    return lxml.html.document_fromstring(path.read_text(encoding="utf-8"))


def texts(nodes: Any) -> list[str]:
    """Text of each node, whitespace collapsed."""
    return [" ".join(n.text_content().split()) for n in nodes]


def add_bulk(sc: Scenario, n: int, org: str = "区卫健委") -> None:
    """n more weibo accounts in the current run, active or dormant, silent 0..n-1 days (bulk inserts)."""
    with sc.engine.begin() as conn:
        first = (
            conn.execute(
                insert(Account.__table__).returning(Account.__table__.c.id, sort_by_parameter_order=True),
                [
                    {
                        "name": f"批量账号{i:04d}",
                        "org_id": sc.orgs[org],
                        "platform": "weibo",
                        "platform_id": str(6_000_000_000 + i),
                        "status": "active",
                        "created_at": PREV_AS_OF,
                        "updated_at": PREV_AS_OF,
                    }
                    for i in range(n)
                ],
            )
            .scalars()
            .all()
        )
        conn.execute(
            insert(Verdict.__table__),
            [
                {
                    "run_id": sc.run_id,
                    "account_id": acc,
                    "status": "active" if i < 14 else "dormant",
                    "registry_status": "active",
                    "flags": [],
                    "rule": "r",
                    "rule_zh": "规则",
                    "rule_en": "rule",
                    "liveness_index": float(i % 100),
                    "index_basis": "full",
                    "last_post_at": AS_OF - timedelta(days=i),
                    "days_silent": i,
                    "evidence": {"posts": i, "originals": i // 2, "followers": i * 10},
                }
                for i, acc in enumerate(first)
            ],
        )
