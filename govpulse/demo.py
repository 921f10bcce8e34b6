"""`govpulse demo`: a fictional district patrolled end to end, against the platform simulator.

Builds the "demo" scenario (units and about 300 accounts on the three platforms), serves it on a free
loopback port, writes its roster as an office keeps it (CSV, Chinese headers) and imports it through
the same import as an office, patrols it, then scores it and writes the report. Everything goes to a
folder of its own (default ./govpulse-demo/): its own database, logs and reports, so the office's
registry is never touched; running it again starts over.
"""

from __future__ import annotations

import copy
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crawlers.launcher import PatrolResult, ProgressInfo, run_patrol
from simulator import build_scenario, start_simulator
from simulator.kinds import DEFAULT_ROUTES
from reports import ReportPaths, build_report
from registry.config import Settings
from registry.vocabulary import PLATFORMS
from registry.db import open_engine
from registry.errors import ValidationError
from registry.i18n import L
from registry.importer import ImportSummary, import_roster
from registry.patrol_scope import PatrolScope
from registry.policy import load_policy
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


def prepare_folder(out_dir: Path) -> Path:
    """Create the demo folder, or clear what an earlier demo left in it. A folder that has other
    things in it and was not made by the demo is refused (nothing is deleted)."""
    out_dir = out_dir.expanduser().resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise ValidationError(L(f"{out_dir} 不是文件夹", f"{out_dir} is not a folder"))
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise ValidationError(
            L(f"文件夹 {out_dir} 已有内容, 且不是演示文件夹", f"the folder {out_dir} is not empty and is not a demo folder"),
            hint=L("换一个新的或空的文件夹 (--out)", "choose a new or empty folder (--out)"))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text("govpulse demo folder: cleared by the next `govpulse demo`\n", encoding="utf-8")
    for name in OWN_FILES:
        (out_dir / name).unlink(missing_ok=True)
    for name in OWN_DIRS:
        shutil.rmtree(out_dir / name, ignore_errors=True)
    return out_dir


def loopback_settings(base: Settings, *, database_url: str, work_dir: Path, base_url: str,
                      templates: dict[str, str], concurrency: int = DEMO_CONCURRENCY,
                      timeout: float = DEMO_TIMEOUT) -> Settings:
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
    data["patrol"].update(autothrottle=False, timeout=timeout, retries=2, retry_backoff=0.1,
                          time_limit_seconds=0, log_dir=str(work_dir / "logs"))
    return Settings(data=data, path=None, sources={**base.sources, "database.url": "cli"})


def demo_settings(base: Settings, *, out_dir: Path, base_url: str, lang: str, templates: dict[str, str]) -> Settings:
    settings = loopback_settings(base, database_url=f"sqlite:///{out_dir / DB_NAME}", work_dir=out_dir,
                                 base_url=base_url, templates=templates)
    settings.data["report"].update(out_dir=str(out_dir / "reports"), lang=lang)
    return settings


def run_demo(base: Settings, *, out_dir: Path = DEMO_DIR, lang: str = "zh",
             on_stage: Callable[[str], None] | None = None,
             on_progress: Callable[[ProgressInfo], None] | None = None,
             stop_event: threading.Event | None = None) -> DemoResult:
    stage = on_stage or (lambda _text: None)
    out_dir = prepare_folder(Path(out_dir))
    scenario = build_scenario("demo")
    roster = out_dir / "roster.csv"
    scenario.write_roster(roster)
    scenario.write_truth(out_dir / "truth.json")
    with start_simulator(scenario) as sim:
        stage(L(f"模拟平台已在 {sim.base_url} 启动 ({len(scenario.accounts)} 个账号)",
                f"platform simulator on {sim.base_url} ({len(scenario.accounts)} accounts)"))
        templates = {p: scenario.feed_url_template(p) for p in PLATFORMS}
        settings = demo_settings(base, out_dir=out_dir, base_url=sim.base_url, lang=lang, templates=templates)
        engine = open_engine(settings.database_url)
        try:
            imported = import_roster(engine, roster, actor="demo")
            stage(L(f"已导入台账 {roster}: {len(imported.added)} 个账号, {len(imported.units_created)} 个单位",
                    f"imported the roster {roster}: {len(imported.added)} accounts, "
                    f"{len(imported.units_created)} units"))
            patrol = run_patrol(settings, scope=PatrolScope(), on_progress=on_progress, stop_event=stop_event,
                                resume=False, engine=engine)
        finally:
            engine.dispose()
    score = report = None
    if patrol.ran and not patrol.interrupted:
        engine = open_engine(settings.database_url)
        as_of = utcnow()  # after the patrol: the scorer judges on what was fetched until then
        try:
            score = run_scoring(engine, policy=load_policy(settings), as_of=as_of)
            report = build_report(engine, settings, out_dir=out_dir / "reports", lang=lang, as_of=as_of)
        finally:
            engine.dispose()
    return DemoResult(out_dir=out_dir, roster=roster, database_url=settings.database_url, base_url=sim.base_url,
                      accounts=len(scenario.accounts), imported=imported, patrol=patrol, score=score,
                      report=report)
