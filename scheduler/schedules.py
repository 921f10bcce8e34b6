"""Schedules: what to run (a chain of steps over a scope) and when (a cron expression).

The `schedule` table is the source of truth. Schedules from the configuration file are synced into it
when the daemon starts (origin "config"); `govpulse schedule add/remove/pause/resume` change it directly
(origin "cli") and the running daemon picks the change up on its next poll.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from registry.config import Settings
from registry.db import session_scope
from registry.errors import ConflictError, NotFoundError, ValidationError
from registry.i18n import L
from registry.identifiers import normalize_platform
from registry.models import Schedule
from registry.timeutil import utcnow
from scheduler.cron import CRON_HINT, next_fire_times, parse_cron, zone

STEPS = ("patrol", "score", "report", "notify")
DEFAULT_CHAIN = ["patrol", "score", "report", "notify"]
_NAME = re.compile(r"[\w.-]{1,100}")
# Keys a [[schedules]] entry may have: where each is stored.
SCOPE_KEYS = ("platforms", "orgs", "limit", "due_only", "daily_budget")
OPTION_KEYS = ("time_limit", "notify", "by_unit", "report_lang")
ENTRY_KEYS = ("name", "cron", "chain", "paused", *SCOPE_KEYS, *OPTION_KEYS)


@dataclass
class ScheduleSpec:
    name: str
    cron: str
    chain: list[str] = field(default_factory=lambda: list(DEFAULT_CHAIN))
    scope: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    paused: bool = False

    def row_values(self) -> dict[str, Any]:
        return {"cron": self.cron, "chain": self.chain, "scope": self.scope, "options": self.options}


def _bad(where: str, what: str, hint: str | None = None) -> ValidationError:
    return ValidationError(f"{where}: {what}", hint=hint)


def _str_list(value: Any, where: str) -> list[Any]:
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, list):
        raise _bad(where, L("应为列表", "must be a list"))
    return value


def _positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _bad(where, L(f"应为正数, 而不是 {value!r}", f"must be a positive number, not {value!r}"))
    return value


def build_spec(entry: dict[str, Any], settings: Settings, *, where: str) -> ScheduleSpec:
    """Validate one schedule (a [[schedules]] table or the options of `schedule add`)."""
    unknown = sorted(set(entry) - set(ENTRY_KEYS))
    if unknown:
        raise _bad(
            where,
            L(f"未知的键 {', '.join(unknown)}", f"unknown key(s) {', '.join(unknown)}"),
            hint=f"{L('可用', 'known')}: {', '.join(ENTRY_KEYS)}",
        )
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _bad(
            f"{where}.name",
            L(f"名称 {name!r} 无效", f"invalid name {name!r}"),
            hint=L("字母、数字、汉字、- _ . , 最长 100", "letters, digits, - _ . ; up to 100 characters"),
        )
    cron = entry.get("cron")
    if not isinstance(cron, str):
        raise _bad(f"{where}.cron", L("缺少 cron 表达式", "a cron expression is required"))
    if not next_fire_times(parse_cron(cron, zone(settings.get("scheduler", "timezone"))), utcnow()):
        raise _bad(f"{where}.cron", L(f"{cron!r} 永远不会触发", f"{cron!r} never fires"), hint=CRON_HINT)
    cron = " ".join(cron.split())

    chain = _str_list(entry.get("chain", DEFAULT_CHAIN), f"{where}.chain")
    unknown_steps = [s for s in chain if s not in STEPS]
    if unknown_steps or not chain or len(set(chain)) != len(chain) or chain != sorted(chain, key=STEPS.index):
        raise _bad(
            f"{where}.chain",
            L(f"步骤 {chain!r} 无效", f"invalid steps {chain!r}"),
            hint=L(f"按顺序从 {', '.join(STEPS)} 中选, 不重复", f"pick from {', '.join(STEPS)}, in that order"),
        )

    scope: dict[str, Any] = {}
    if entry.get("platforms"):
        scope["platforms"] = sorted(
            {normalize_platform(p) for p in _str_list(entry["platforms"], f"{where}.platforms")}
        )
    if entry.get("orgs"):
        scope["orgs"] = [o for o in _str_list(entry["orgs"], f"{where}.orgs")]
    if entry.get("limit") is not None:
        scope["limit"] = int(_positive(entry["limit"], f"{where}.limit"))
    if entry.get("due_only"):
        scope["due_only"] = True
    if entry.get("daily_budget"):
        budget = entry["daily_budget"]
        if not isinstance(budget, dict):
            raise _bad(f"{where}.daily_budget", L("应为 平台 = 数量", "must be a table of platform = count"))
        scope["daily_budget"] = {
            normalize_platform(p): int(_positive(n, f"{where}.daily_budget.{p}")) for p, n in budget.items()
        }

    options: dict[str, Any] = {}
    if entry.get("time_limit") is not None:
        options["time_limit"] = _positive(entry["time_limit"], f"{where}.time_limit")
    if entry.get("notify") is not None:
        channels = settings.get("alerts", "channels", default={}) or {}
        notify = _str_list(entry["notify"], f"{where}.notify")
        missing = [c for c in notify if c not in channels]
        if missing:
            raise _bad(
                f"{where}.notify",
                L(
                    f"未配置的告警渠道 {', '.join(map(str, missing))}",
                    f"alert channel(s) {', '.join(map(str, missing))} not configured",
                ),
                hint=L("在 [alerts.channels.<名称>] 中配置", "configure them under [alerts.channels.<name>]"),
            )
        options["notify"] = notify
    if entry.get("by_unit"):
        options["by_unit"] = True
    if entry.get("report_lang"):
        if entry["report_lang"] not in ("zh", "en"):
            raise _bad(f"{where}.report_lang", L("应为 zh 或 en", "must be zh or en"))
        options["report_lang"] = entry["report_lang"]
    return ScheduleSpec(
        name=name, cron=cron, chain=chain, scope=scope, options=options, paused=bool(entry.get("paused", False))
    )


def config_specs(settings: Settings) -> list[ScheduleSpec]:
    entries = settings.get("schedules", default=[]) or []
    if not isinstance(entries, list):
        raise _bad("schedules", L("应为 [[schedules]] 表的列表", "must be a list of [[schedules]] tables"))
    specs = [
        build_spec(e if isinstance(e, dict) else {}, settings, where=f"schedules[{i}]") for i, e in enumerate(entries)
    ]
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _bad("schedules", L(f"名称重复: {', '.join(dupes)}", f"duplicate name(s): {', '.join(dupes)}"))
    return specs


def sync_config_schedules(engine: Engine, settings: Settings) -> list[ScheduleSpec]:
    """Make the table match the configuration file; schedules added with the CLI are left alone.

    A config schedule keeps the paused flag set with the CLI; `updated_at` moves only on a real change
    (it bounds catch-up: a schedule never catches up a time before it existed in this form).
    """
    specs = config_specs(settings)
    now = utcnow()
    with session_scope(engine) as session:
        rows = {r.name: r for r in session.scalars(select(Schedule))}
        for spec in specs:
            row = rows.get(spec.name)
            if row is None:
                session.add(
                    Schedule(name=spec.name, origin="config", paused=spec.paused, updated_at=now, **spec.row_values())
                )
            elif row.origin != "config" or any(getattr(row, k) != v for k, v in spec.row_values().items()):
                for key, value in spec.row_values().items():
                    setattr(row, key, value)
                row.origin, row.updated_at = "config", now
        gone = [n for n, r in rows.items() if r.origin == "config" and n not in {s.name for s in specs}]
        if gone:
            session.execute(delete(Schedule).where(Schedule.name.in_(gone)))  # type: ignore[attr-defined]
    return specs


def list_schedules(engine: Engine) -> list[Schedule]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Schedule).order_by(Schedule.name)))


def get_schedule(engine: Engine, name: str) -> Schedule:
    with session_scope(engine) as session:
        row = session.scalars(select(Schedule).where(Schedule.name == name)).first()
    if row is None:
        raise NotFoundError(
            L(f"没有名为 {name!r} 的计划", f"no schedule named {name!r}"),
            hint=L("用 govpulse schedule list 查看", "see govpulse schedule list"),
        )
    return row


def add_schedule(engine: Engine, spec: ScheduleSpec) -> Schedule:
    with session_scope(engine) as session:
        existing = session.scalars(select(Schedule).where(Schedule.name == spec.name)).first()
        if existing is not None:
            raise ConflictError(
                L(f"计划 {spec.name!r} 已存在", f"schedule {spec.name!r} already exists"),
                hint=L("先 schedule remove, 或换一个名称", "remove it first or pick another name"),
            )
        row = Schedule(name=spec.name, origin="cli", paused=spec.paused, updated_at=utcnow(), **spec.row_values())
        session.add(row)
    return row


def remove_schedule(engine: Engine, name: str) -> None:
    row = get_schedule(engine, name)
    if row.origin == "config":
        raise ConflictError(
            L(f"计划 {name!r} 来自配置文件", f"schedule {name!r} comes from the configuration file"),
            hint=L(
                "在配置文件中删除它并重启守护进程, 或用 schedule pause",
                "delete it there and restart the daemon, or use schedule pause",
            ),
        )
    with session_scope(engine) as session:
        session.execute(delete(Schedule).where(Schedule.name == name))  # type: ignore[arg-type]


def set_paused(engine: Engine, name: str, paused: bool) -> Schedule:
    get_schedule(engine, name)
    with session_scope(engine) as session:
        session.execute(
            update(Schedule)
            .where(Schedule.name == name)  # type: ignore[arg-type]
            .values(paused=paused, updated_at=utcnow())
        )
    return get_schedule(engine, name)
