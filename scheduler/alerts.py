"""Alerts after a run: one per change of state, never the same one twice.

Each change becomes an `alert_event` row per channel, keyed so that it is recorded once:
  flagged:<account>:<status>:<score run>   an account newly dormant, zombie, shell or unreachable
  recovered:<account>:<score run>          a flagged account judged active again
  patrol_failed:<schedule>:<local date>    a patrol that failed (one alert per schedule and day)
  login_required:<platform>:<first patrol> many login_required outcomes at once: credentials expired
  summary:<run>                            the run's outcome, with the report's path or link
  case_overdue:<code>, case_escalated:<code> a rectification case past its deadline, then escalated
Unsent rows of a channel (new, or failed before) go out together in one message; a channel that fails
is recorded (attempts, last_error) and retried on later runs up to alerts.max_attempts, and never stops
the chain.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection

from registry.cases.service import unalerted
from registry.db import upsert
from registry.errors import LockedError
from registry.i18n import L
from registry.labels import label
from registry.locks import acquire_lock
from registry.models import Account, AlertEvent, FetchOutcome, JobStep, Organization, Patrol, ScoreRun, Verdict
from registry.scoring.rules import CLOSED, FLAGGED
from registry.timeutil import not_after_now, to_local, utcnow
from reports.i18n import Translator
from scheduler import channels
from scheduler.chain import FAILED, RunContext, StepResult

log = logging.getLogger(__name__)

LOGIN_LOOKBACK = 50  # patrols looked at to find where a run of login walls began
_UNSAFE = re.compile(r"[\x00-\x1f\x7f*_\[\]()<>#`|~\\]")


@dataclass
class Event:
    key: str
    kind: str
    data: dict[str, Any]


def clean(text: Any, limit: int = 80) -> str:
    """Roster and platform text inside a Markdown message: one line, no markup, bounded."""
    return _UNSAFE.sub(" ", str(text or ""))[:limit].strip()


# ------------------------------------------------------------------------------------------- events


def verdict_changes(conn: Connection, score_run_id: int) -> list[Event]:
    """Accounts whose status changed in this score run, as the scorer's history has it: newly flagged
    (also a first verdict that is flagged), flagged with another status, or recovered. An unknown in
    between changes nothing (a failed fetch is no news)."""
    v, a, o = Verdict.__table__, Account.__table__, Organization.__table__
    query = (
        select(
            v.c.account_id,
            v.c.status,
            v.c.previous_status.label("previous"),
            v.c.change,
            v.c.days_silent,
            v.c.rule,
            a.c.name,
            a.c.platform,
            o.c.name.label("org"),
        )
        .select_from(v.join(a, a.c.id == v.c.account_id).join(o, o.c.id == a.c.org_id))
        .where(
            v.c.run_id == score_run_id,
            v.c.registry_status.not_in(CLOSED),
            or_(
                v.c.change.in_(("newly_flagged", "changed", "recovered")),
                and_(v.c.change == "new", v.c.status.in_(FLAGGED)),
            ),
        )
        .order_by(a.c.platform, o.c.name, a.c.name)
    )
    events = []
    for row in conn.execute(query).mappings():
        data = dict(row) | {"score_run_id": score_run_id}
        if row["change"] == "recovered":
            events.append(Event(f"recovered:{row['account_id']}:{score_run_id}", "recovered", data))
        else:
            events.append(Event(f"flagged:{row['account_id']}:{row['status']}:{score_run_id}", "flagged", data))
    return events


def login_walls(conn: Connection, patrol_id: int, threshold: int) -> list[Event]:
    """Platforms where this patrol met at least `threshold` login walls, keyed by the patrol that began the
    streak (consecutive patrols of the platform over the threshold), so one expiry is one alert."""
    recent = select(Patrol.id).where(Patrol.id <= patrol_id).order_by(Patrol.id.desc()).limit(LOGIN_LOOKBACK)  # type: ignore[union-attr]
    walls = func.count().filter(FetchOutcome.outcome == "login_required")
    rows = conn.execute(
        select(FetchOutcome.patrol_id, Account.platform, walls.label("walls"), func.count().label("visits"))
        .join(Account, Account.id == FetchOutcome.account_id)
        .where(FetchOutcome.patrol_id.in_(recent))  # type: ignore[attr-defined]
        .group_by(FetchOutcome.patrol_id, Account.platform)
        .order_by(FetchOutcome.patrol_id.desc())
    ).all()
    by_platform: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for pid, platform, n_walls, visits in rows:
        by_platform[platform].append((pid, n_walls, visits))
    events = []
    for platform, history in sorted(by_platform.items()):
        if not history or history[0][0] != patrol_id or history[0][1] < threshold:
            continue
        start = patrol_id
        for pid, n_walls, _ in history:
            if n_walls < threshold:
                break
            start = pid
        events.append(
            Event(
                f"login_required:{platform}:{start}",
                "login_required",
                {
                    "platform": platform,
                    "accounts": history[0][1],
                    "visits": history[0][2],
                    "patrol_id": patrol_id,
                    "since_patrol": start,
                },
            )
        )
    return events


def _report_link(path: str | None, settings: Any) -> str | None:
    base = settings.get("alerts", "report_base_url", default="")
    if not path or not base:
        return path
    try:
        relative = Path(path).resolve().relative_to(Path(settings.report["out_dir"]).resolve())
    except ValueError:
        return path
    return f"{base.rstrip('/')}/{quote(relative.as_posix())}"


def collect_events(ctx: RunContext) -> list[Event]:
    rt, schedule = ctx.runtime, ctx.schedule
    conf = rt.settings.get("alerts", default={})
    events: list[Event] = []
    with rt.engine.connect() as conn:
        score_run_id = (
            ctx.data("score_run_id")
            or conn.execute(select(func.max(ScoreRun.id)).where(ScoreRun.as_of <= not_after_now())).scalar()
        )
        if score_run_id:
            events += verdict_changes(conn, score_run_id)
        for case in unalerted(conn):
            events.append(
                Event(
                    f"case_{case['stage']}:{case['code']}",
                    f"case_{case['stage']}",
                    {
                        "code": case["code"],
                        "name": case["account_name"],
                        "platform": case["platform"],
                        "org": case["org_name"],
                        "problem": case["kind"],
                        "deadline": case["deadline"].isoformat() if case["deadline"] else None,
                    },
                )
            )
        patrol_id = ctx.data("patrol_id")
        if patrol_id:
            events += login_walls(conn, patrol_id, int(conf.get("login_required_threshold", 5)))
        steps = conn.execute(
            select(JobStep.step, JobStep.status, JobStep.counts)
            .where(JobStep.run_id == ctx.run_id)
            .order_by(JobStep.id)
        ).all()
    patrol = ctx.results.get("patrol")
    if patrol is not None and patrol.status == FAILED:
        day = to_local(utcnow()).date().isoformat()  # type: ignore[union-attr]
        events.append(
            Event(
                f"patrol_failed:{schedule.name}:{day}",
                "patrol_failed",
                {"schedule": schedule.name, "run_id": ctx.run_id, "message": patrol.message},
            )
        )
    if conf.get("summary", True):
        report = ctx.data("report_path")
        events.append(
            Event(
                f"summary:{ctx.run_id}",
                "summary",
                {
                    "schedule": schedule.name,
                    "run_id": ctx.run_id,
                    "trigger": ctx.trigger,
                    "status": ctx.status,
                    "message": ctx.message,
                    "report": report,
                    "report_link": _report_link(report, rt.settings),
                    "steps": [{"step": s, "status": st, "counts": c} for s, st, c in steps if s != "notify"],
                },
            )
        )
    return events


# ----------------------------------------------------------------------------------------- messages


def compose(rows: list[AlertEvent], *, lang: str, max_items: int) -> channels.Message:
    t = Translator(lang)

    def tr(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row.kind].append(row.payload)
    lines: list[str] = []
    title = tr("govpulse 告警", "govpulse alert")
    for s in groups.get("summary", []):
        status = label("run_status", s["status"], lang)
        title = tr(f"govpulse 计划 {s['schedule']}: {status}", f"govpulse schedule {s['schedule']}: {status}")
        lines.append(f"**{tr('计划', 'Schedule')} {clean(s['schedule'])} #{s['run_id']}: {status}**")
        for step in s["steps"]:
            counts = ", ".join(f"{k} {v}" for k, v in step["counts"].items() if k != "report")
            lines.append(f"- {step['step']}: {step['status']}" + (f" ({counts})" if counts else ""))
        if s.get("message"):
            lines.append(f"- {clean(s['message'], 300)}")
        if s.get("report_link"):
            link = s["report_link"]
            lines.append(
                f"- {tr('报告', 'Report')}: "
                + (f"[{clean(Path(link).name)}]({link})" if link.startswith(("http://", "https://")) else link)
            )
    for e in groups.get("patrol_failed", []):
        lines.append(
            f"**{tr('巡查失败', 'Patrol failed')}**: {clean(e['schedule'])} #{e['run_id']}: {clean(e['message'], 300)}"
        )
    for e in groups.get("login_required", []):
        platform = t.maybe(f"platform.{e['platform']}")
        lines.append(
            tr(
                f"**登录失效**: {platform} 有 {e['accounts']} 个账号需要登录 (自巡查 #{e['since_patrol']} 起), "
                "请更新 Cookie/Token",
                f"**Credentials expired**: {platform}: {e['accounts']} accounts need a login "
                f"(since patrol #{e['since_patrol']}); renew the cookie/token",
            )
        )
    for kind, heading in (
        ("flagged", tr("新增问题账号", "Newly flagged accounts")),
        ("recovered", tr("恢复正常的账号", "Accounts back to active")),
    ):
        items = groups.get(kind, [])
        if not items:
            continue
        lines.append(f"**{heading}: {len(items)}**")
        for e in items[:max_items]:
            status = t.maybe(f"status.{e['status']}")
            silent = (
                tr(f", {e['days_silent']} 天未更新", f", silent {e['days_silent']} days")
                if e.get("days_silent") is not None and kind == "flagged"
                else ""
            )
            lines.append(
                f"- {clean(e['name'])} ({t.maybe('platform.' + e['platform'])}, {clean(e['org'])}): {status}{silent}"
            )
        if len(items) > max_items:
            lines.append(
                tr(
                    f"- …另有 {len(items) - max_items} 个, 见报告",
                    f"- …and {len(items) - max_items} more, see the report",
                )
            )
    for kind, heading in (
        ("case_overdue", tr("逾期未整改的案件", "Cases past their deadline")),
        ("case_escalated", tr("逾期已督办的案件", "Cases escalated")),
    ):
        items = groups.get(kind, [])
        if not items:
            continue
        lines.append(f"**{heading}: {len(items)}**")
        for e in items[:max_items]:
            lines.append(
                f"- {clean(e['code'])} {clean(e['name'])} ({t.maybe('platform.' + e['platform'])}, {clean(e['org'])}): "
                f"{label('case_kind', e['problem'], lang)}, {tr('期限', 'deadline')} {e['deadline']}"
            )
        if len(items) > max_items:
            lines.append(tr(f"- …另有 {len(items) - max_items} 件", f"- …and {len(items) - max_items} more"))
    events = [{"kind": r.kind, "key": r.dedup_key, **r.payload} for r in rows]
    return channels.Message(title=title, text="\n".join(lines), data={"source": "govpulse", "events": events})


# --------------------------------------------------------------------------------------------- send


def deliver(engine: Any, settings: Any, names: list[str]) -> dict[str, str]:
    """Send each channel its unsent events; returns {channel: error} for the channels that failed.

    One delivery per channel at a time, across processes (a lock per channel): two runs finishing
    together never send the same events twice.
    """
    conf = settings.get("alerts", default={})
    configured = conf.get("channels", {}) or {}
    max_attempts = int(conf.get("max_attempts", 5))
    errors: dict[str, str] = {}
    for name in names:
        try:
            with acquire_lock(engine, f"alerts:{name}", holder="govpulse alerts", wait_seconds=60):
                error = _deliver_channel(engine, conf, name, configured.get(name), max_attempts)
        except LockedError as exc:
            error = exc.message
        if error:
            errors[name] = error
    return errors


def _deliver_channel(engine: Any, conf: dict[str, Any], name: str, channel: Any, max_attempts: int) -> str | None:
    pending = (
        AlertEvent.channel == name,
        AlertEvent.sent_at.is_(None),  # type: ignore[union-attr]
        AlertEvent.attempts < max_attempts,
    )
    with engine.connect() as conn:
        rows = [
            AlertEvent(**r)
            for r in conn.execute(select(AlertEvent.__table__).where(*pending).order_by(AlertEvent.id)).mappings()
        ]
    if not rows:
        return None
    values: dict[str, Any] = {"attempts": AlertEvent.attempts + 1}
    error = None
    try:
        channels.validate(name, channel)
        channels.send(
            name,
            channel,
            compose(rows, lang=conf.get("lang", "zh"), max_items=int(conf.get("max_items", 30))),
            timeout=float(conf.get("timeout_seconds", 10)),
        )
        values |= {"sent_at": utcnow(), "last_error": None}
        log.info("alerts: %d event(s) sent to %s", len(rows), name)
    except Exception as exc:  # a broken channel (or its configuration) never stops the chain
        error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        values["last_error"] = error[:1000]
        log.warning("alerts: channel %s failed: %s", name, error)
    with engine.begin() as conn:  # the rows just read (no one else delivers to this channel meanwhile)
        conn.execute(update(AlertEvent).where(*pending, AlertEvent.id <= rows[-1].id).values(**values))  # type: ignore[arg-type,operator]
    return error


def notify_run(ctx: RunContext) -> StepResult:
    rt = ctx.runtime
    configured = rt.settings.get("alerts", "channels", default={}) or {}
    names = list(ctx.schedule.options.get("notify") or configured)
    events = collect_events(ctx)
    now = utcnow()
    rows = [
        {"dedup_key": e.key[:300], "channel": name, "kind": e.kind, "created_at": now, "attempts": 0, "payload": e.data}
        for name in names
        for e in events
    ]
    upsert(rt.engine, AlertEvent, rows, keys=["dedup_key", "channel"])
    counts: dict[str, Any] = {"events": len(events), "channels": len(names)}
    for e in events:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    if not names:
        return StepResult(
            counts=counts,
            message=L("未配置告警渠道 (alerts.channels)", "no alert channel configured (alerts.channels)"),
        )
    errors = deliver(rt.engine, rt.settings, names)
    if errors:
        return StepResult(
            status=FAILED,
            counts=counts | {"failed": sorted(errors)},
            message="; ".join(f"{k}: {v}" for k, v in sorted(errors.items())),
        )
    return StepResult(counts=counts)
