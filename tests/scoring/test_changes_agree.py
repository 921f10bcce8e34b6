"""The changes of a run, stored once by the scorer, read the same by the report and by the alerts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from registry.config import load_settings
from registry.models import Verdict
from reports import build_report
from scheduler.alerts import verdict_changes
from tests.reports.report_scenario import parse
from tests.scoring.scoring_world import AS_OF


def _figure(doc, name: str) -> int:
    return int(doc.xpath(f"//*[@id='summary']//*[@data-figure='{name}']")[0].text_content().strip())


def test_report_and_alerts_count_the_stored_changes(world, score, engine: Engine, gp_env, tmp_path: Path) -> None:
    unit = world.org("区")
    back_dormant = world.account(unit, name="仍睡眠")  # dormant -> unknown -> dormant: still flagged
    back_active = world.account(unit, name="恢复号")  # dormant -> unknown -> active: recovered
    newly = world.account(unit, name="新睡眠")  # active -> active -> dormant: newly flagged
    world.posts(back_dormant, [30])
    world.posts(back_active, [30])
    world.posts(newly, [10])
    score()
    for account in (back_dormant, back_active):
        world.outcome(account, "timeout", at=AS_OF + timedelta(days=2))
    world.outcome(newly, at=AS_OF + timedelta(days=2))
    score(as_of=AS_OF + timedelta(days=3))
    world.posts(back_active, [-5])  # it posts again
    for account in (back_dormant, back_active, newly):
        world.outcome(account, at=AS_OF + timedelta(days=5))
    run = score(as_of=AS_OF + timedelta(days=6)).run_id

    with engine.connect() as conn:
        stored = dict(conn.execute(select(Verdict.account_id, Verdict.change).where(Verdict.run_id == run)).all())
        events = verdict_changes(conn, run)
    assert stored == {back_dormant: "still_flagged", back_active: "recovered", newly: "newly_flagged"}
    counts = Counter(stored.values())

    settings = load_settings()
    settings.data["report"]["out_dir"] = str(tmp_path / "reports")
    doc = parse(build_report(engine, settings).html)
    assert _figure(doc, "newly_flagged") == counts["newly_flagged"] == 1
    assert _figure(doc, "recovered") == counts["recovered"] == 1
    assert _figure(doc, "new_accounts") == counts["new"] == 0

    alerted = {(e.kind, e.data["account_id"]) for e in events}
    assert alerted == {("flagged", newly), ("recovered", back_active)}, "an unknown in between is no news"
