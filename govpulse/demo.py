"""`govpulse demo`: a fictional district patrolled end to end, against the platform simulator.

Builds the "demo" scenario (units and about 300 accounts on the three platforms), serves it on a free
loopback port, writes its roster as an office keeps it (CSV, Chinese headers) and imports it through
the same import as an office, patrols it, then scores it and writes the report.

So that the report has a trend, the demo scores weekly runs in simulated time: the patrol's answers are
recorded again as earlier weekly patrols (DEMO_WEEKS - 1 of them, a week apart, marked as replayed in
their scope), and each earlier run judges only the posts published by then. A feed shows only its
latest items, so for an account whose stored posts do not reach back to an earlier week nobody can say
what a patrol would have seen then: that week has no answer for it, and its verdict is "unknown" rather
than a silence the data does not show. The last run is the real patrol's. Everything goes to a
folder of its own (default ./govpulse-demo/): its own database, logs and reports, so the office's
registry is never touched; running it again starts over.
"""

from __future__ import annotations

import copy
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import exists, insert, literal, not_, or_, select
from sqlalchemy.engine import Engine

from crawlers.launcher import run_patrol
from crawlers.patrols import PatrolResult, ProgressInfo
from simulator import build_scenario, start_simulator
from simulator.kinds import DEFAULT_ROUTES
from reports import ReportPaths, build_report
from registry.config import Settings
from registry.vocabulary import PLATFORMS
from registry.db import open_engine
from registry.errors import ValidationError
from registry.i18n import L
from registry.importer import import_roster
from registry.ledger import ImportSummary
from registry.models import AccountSnapshot, FetchOutcome, Patrol, Post
from registry.patrol_scope import PatrolScope
from registry.policy import load_policy
from registry.cases import case_settings, update_cases
from registry.scoring import ScoreResult, run_scoring
from registry.timeutil import utcnow

DEMO_DIR = Path("govpulse-demo")
MARKER = ".govpulse-demo"
DB_NAME = "demo.db"
# What a demo run writes, and so what the next run may remove.
OWN_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", "roster.csv", "truth.json")
OWN_DIRS = ("logs", "reports")
# Loopback politeness: the simulator is on this machine, so no delay and many requests at once.
DEMO_CONCURRENCY = 16
# Short timeouts: the scenario's slow accounts answer after 35 s, and should time out quickly here.
DEMO_TIMEOUT = 3.0
# Weekly score runs in the demo (the last on the real patrol), so that the report's trend is real.
DEMO_WEEKS = 5


@dataclass
class DemoResult:
    out_dir: Path
    roster: Path
    database_url: str
    base_url: str
    accounts: int
    imported: ImportSummary
    patrol: PatrolResult
    score: ScoreResult | None  # None when the patrol did not run to its end
    report: ReportPaths | None
    runs: list[datetime] = field(default_factory=list)  # as_of of every score run, oldest first


def prepare_folder(out_dir: Path) -> Path:
    """Create the demo folder, or clear what an earlier demo left in it. A folder that has other
    things in it and was not made by the demo is refused (nothing is deleted)."""
    out_dir = out_dir.expanduser().resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise ValidationError(L(f"{out_dir} 不是文件夹", f"{out_dir} is not a folder"))
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise ValidationError(
            L(
                f"文件夹 {out_dir} 已有内容, 且不是演示文件夹",
                f"the folder {out_dir} is not empty and is not a demo folder",
            ),
            hint=L("换一个新的或空的文件夹 (--out)", "choose a new or empty folder (--out)"),
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text("govpulse demo folder: cleared by the next `govpulse demo`\n", encoding="utf-8")
    for name in OWN_FILES:
        (out_dir / name).unlink(missing_ok=True)
    for name in OWN_DIRS:
        shutil.rmtree(out_dir / name, ignore_errors=True)
    return out_dir


def loopback_settings(
    base: Settings,
    *,
    database_url: str,
    work_dir: Path,
    base_url: str,
    templates: dict[str, str],
    concurrency: int = DEMO_CONCURRENCY,
    timeout: float = DEMO_TIMEOUT,
) -> Settings:
    """The base settings pointed at a simulator on this machine: every platform and the bridge at
    `base_url`, default routes, no credentials, many requests at once and no delay (polite for
    loopback only), logs in `work_dir`."""
    data = copy.deepcopy(base.data)
    data["database"]["url"] = database_url
    for platform in PLATFORMS:
        conf = data["platforms"][platform]
        conf.update(base_url=base_url, route=DEFAULT_ROUTES[platform], concurrency=concurrency, delay=0.0)
        for secret in ("cookie", "cookie_file", "token", "token_file"):
            if secret in conf:
                conf[secret] = ""
    data["bridge"].update(base_url=base_url, templates=templates, key="", concurrency=concurrency, delay=0.0)
    data["patrol"].update(
        autothrottle=False,
        timeout=timeout,
        retries=2,
        retry_backoff=0.1,
        time_limit_seconds=0,
        log_dir=str(work_dir / "logs"),
    )
    return Settings(data=data, path=None, sources={**base.sources, "database.url": "cli"})


def demo_settings(base: Settings, *, out_dir: Path, base_url: str, lang: str, templates: dict[str, str]) -> Settings:
    settings = loopback_settings(
        base, database_url=f"sqlite:///{out_dir / DB_NAME}", work_dir=out_dir, base_url=base_url, templates=templates
    )
    settings.data["report"].update(out_dir=str(out_dir / "reports"), lang=lang)
    return settings


def replay_weeks(engine: Engine, patrol_id: int, as_of: datetime, weeks: int) -> list[datetime]:
    """Record the patrol's answers again as weekly patrols before it (set-based copies of its outcomes and
    snapshots, each under a patrol of its own whose scope says it is replayed). Returns their times,
    oldest first."""
    when = [as_of - timedelta(weeks=k) for k in range(weeks - 1, 0, -1)]
    outcome_cols = [c.name for c in FetchOutcome.__table__.columns if c.name not in ("id", "patrol_id", "fetched_at")]
    snap_cols = [c.name for c in AccountSnapshot.__table__.columns if c.name not in ("id", "patrol_id", "taken_at")]
    fo, snap, post = FetchOutcome.__table__, AccountSnapshot.__table__, Post.__table__
    with engine.begin() as conn:
        source = conn.execute(select(Patrol.__table__).where(Patrol.__table__.c.id == patrol_id)).mappings().one()
        for at in when:
            replay = conn.execute(  # type: ignore[index]
                insert(Patrol.__table__).values(
                    started_at=at,
                    finished_at=at,
                    status="finished",
                    scope={"demo_replay_of": patrol_id},
                    accounts_total=source["accounts_total"],
                    accounts_done=source["accounts_done"],
                    summary={},
                )
            ).inserted_primary_key[0]

            # Only accounts whose stored posts reach back to that week, or that have none (see the module).
            def known(account_id: Any, at: datetime = at) -> Any:
                return or_(
                    exists().where(post.c.account_id == account_id, post.c.published_at <= at),
                    not_(exists().where(post.c.account_id == account_id)),
                )

            conn.execute(
                insert(fo).from_select(
                    ["patrol_id", "fetched_at", *outcome_cols],
                    select(literal(replay), literal(at, fo.c.fetched_at.type), *(fo.c[c] for c in outcome_cols)).where(
                        fo.c.patrol_id == patrol_id, known(fo.c.account_id)
                    ),
                )
            )
            conn.execute(
                insert(snap).from_select(
                    ["patrol_id", "taken_at", *snap_cols],
                    select(literal(replay), literal(at, snap.c.taken_at.type), *(snap.c[c] for c in snap_cols)).where(
                        snap.c.patrol_id == patrol_id, known(snap.c.account_id)
                    ),
                )
            )
    return when


def run_demo(
    base: Settings,
    *,
    out_dir: Path = DEMO_DIR,
    lang: str = "zh",
    on_stage: Callable[[str], None] | None = None,
    on_progress: Callable[[ProgressInfo], None] | None = None,
    stop_event: threading.Event | None = None,
) -> DemoResult:
    stage = on_stage or (lambda _text: None)
    out_dir = prepare_folder(Path(out_dir))
    scenario = build_scenario("demo")
    roster = out_dir / "roster.csv"
    scenario.write_roster(roster)
    scenario.write_truth(out_dir / "truth.json")
    with start_simulator(scenario) as sim:
        stage(
            L(
                f"模拟平台已在 {sim.base_url} 启动 ({len(scenario.accounts)} 个账号)",
                f"platform simulator on {sim.base_url} ({len(scenario.accounts)} accounts)",
            )
        )
        templates = {p: scenario.feed_url_template(p) for p in PLATFORMS}
        settings = demo_settings(base, out_dir=out_dir, base_url=sim.base_url, lang=lang, templates=templates)
        engine = open_engine(settings.database_url)
        try:
            imported = import_roster(engine, roster, actor="demo")
            stage(
                L(
                    f"已导入台账 {roster}: {len(imported.added)} 个账号, {len(imported.units_created)} 个单位",
                    f"imported the roster {roster}: {len(imported.added)} accounts, "
                    f"{len(imported.units_created)} units",
                )
            )
            patrol = run_patrol(
                settings,
                scope=PatrolScope(),
                on_progress=on_progress,
                stop_event=stop_event,
                resume=False,
                engine=engine,
            )
        finally:
            engine.dispose()
    score = report = None
    runs: list[datetime] = []
    if patrol.ran and not patrol.interrupted:
        engine = open_engine(settings.database_url)
        as_of = utcnow()  # after the patrol: the scorer judges on what was fetched until then
        try:
            policy = load_policy(settings)
            runs = [*replay_weeks(engine, patrol.patrol_id, as_of, DEMO_WEEKS), as_of]
            stage(
                L(
                    f"按周研判 {len(runs)} 次（模拟时间，最后一次为本次巡查）",
                    f"scoring {len(runs)} weekly runs (simulated time; the last is this patrol)",
                )
            )
            cases = case_settings(settings)
            for week in runs[:-1]:  # each run followed by its case step, as `govpulse score` does
                update_cases(engine, settings=cases, run_id=run_scoring(engine, policy=policy, as_of=week).run_id)
            score = run_scoring(engine, policy=policy, as_of=as_of)
            update_cases(engine, settings=cases, run_id=score.run_id)
            report = build_report(engine, settings, out_dir=out_dir / "reports", lang=lang, as_of=as_of)
        finally:
            engine.dispose()
    return DemoResult(
        out_dir=out_dir,
        roster=roster,
        database_url=settings.database_url,
        base_url=sim.base_url,
        accounts=len(scenario.accounts),
        imported=imported,
        patrol=patrol,
        score=score,
        report=report,
        runs=runs,
    )
