"""`govpulse schedule ...` and `govpulse status` as an administrator uses them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from registry.timeutil import SHANGHAI


def next_local(hour: int, minute: int, *, weekday: int | None = None) -> datetime:
    """The next hour:minute in Asia/Shanghai (on `weekday`, Monday = 0), computed without APScheduler."""
    now = datetime.now(SHANGHAI)
    candidate = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    while candidate <= now or (weekday is not None and candidate.weekday() != weekday):
        candidate += timedelta(days=1)
    return candidate


def listed(gp) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads(gp.ok("schedule", "list", "--next", "3", "--json").output)}


def test_add_list_pause_resume_remove(gp) -> None:
    out = gp.ok(
        "schedule",
        "add",
        "nightly",
        "--cron",
        "0 2 * * *",
        "--platform",
        "weibo",
        "--platform",
        "微信",
        "--time-limit",
        "3600",
    ).output
    assert out.startswith("nightly: 0 2 * * * (next run ")
    gp.ok("schedule", "add", "monday", "--cron", "30 1 * * 1", "--chain", "score,report")
    rows = listed(gp)
    nightly = rows["nightly"]
    assert nightly["chain"] == ["patrol", "score", "report", "notify"]
    assert nightly["scope"] == {"platforms": ["wechat", "weibo"]}
    assert nightly["options"] == {"time_limit": 3600}
    first = datetime.fromisoformat(nightly["next_runs"][0])
    assert first == next_local(2, 0)
    assert [datetime.fromisoformat(t) - first for t in nightly["next_runs"]] == [
        timedelta(0),
        timedelta(days=1),
        timedelta(days=2),
    ]
    # crontab weekdays: 1 is Monday (APScheduler 3 alone would read it as Tuesday)
    monday = [datetime.fromisoformat(t) for t in rows["monday"]["next_runs"]]
    assert monday[0] == next_local(1, 30, weekday=0) and monday[1] - monday[0] == timedelta(days=7)

    assert gp.ok("schedule", "pause", "nightly").output == "nightly: 0 2 * * * (paused)\n"
    assert listed(gp)["nightly"]["next_runs"] == []
    text = gp.ok("schedule", "list").output.splitlines()
    assert text[0] == "name\tcron\tnext run\tchain\tscope\torigin"
    assert text[2].split("\t")[:3] == ["nightly", "0 2 * * *", "paused"]
    gp.ok("schedule", "resume", "nightly")
    assert listed(gp)["nightly"]["next_runs"][0] == nightly["next_runs"][0]

    assert gp.ok("schedule", "remove", "monday").output == "removed schedule monday\n"
    assert set(listed(gp)) == {"nightly"}


def test_seconds_field_for_short_intervals(gp) -> None:
    gp.ok("schedule", "add", "fast", "--cron", "*/5 * * * * *", "--chain", "notify")
    times = [datetime.fromisoformat(t) for t in listed(gp)["fast"]["next_runs"]]
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [timedelta(seconds=5)] * 2
    assert all(t.second % 5 == 0 for t in times)


def test_bad_input_is_refused_and_nothing_is_written(gp) -> None:
    cases = [
        (("--cron", "0 25 * * *"), "Error: cron '0 25 * * *': Error validating expression '25'"),
        (("--cron", "0 2 * *"), "Error: cron '0 2 * *': 4 fields; expected 5"),
        (("--cron", "0 2 * * 9"), "Error: cron '0 2 * * 9': weekday '9' is not 0-7 or sun..sat"),
        (("--cron", "0 0 30 2 *"), "Error: schedule add.cron: '0 0 30 2 *' never fires"),
        (("--cron", "0 2 * * *", "--chain", "report,patrol"), "Error: schedule add.chain: invalid steps"),
        (("--cron", "0 2 * * *", "--platform", "myspace"), "Error: unknown platform 'myspace'"),
        (("--cron", "0 2 * * *", "--notify", "ops"), "Error: schedule add.notify: alert channel(s) ops not configured"),
        (("--cron", "0 2 * * *", "--org", "没有这个单位"), "Error: unknown unit '没有这个单位'"),
    ]
    for args, message in cases:
        result = gp("schedule", "add", "x", *args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith(message), (args, result.output)
        assert "Hint:" in result.output
    assert listed(gp) == {}
    gp.ok("schedule", "add", "x", "--cron", "0 2 * * *")
    again = gp("schedule", "add", "x", "--cron", "0 3 * * *")
    assert again.exit_code == 2 and again.output.startswith("Error: schedule 'x' already exists")
    for command in ("remove", "pause", "resume"):
        missing = gp("schedule", command, "y")
        assert missing.exit_code == 2 and missing.output.startswith("Error: no schedule named 'y'")


def test_config_schedules_are_listed_and_protected(gp, tmp_path: Path) -> None:
    (tmp_path / "govpulse.toml").write_text(
        '[[schedules]]\nname = "quarterly"\ncron = "0 3 1 1,4,7,10 *"\nplatforms = ["weibo"]\nby_unit = true\n',
        encoding="utf-8",
    )
    row = listed(gp)["quarterly"]
    assert row["origin"] == "config (pending)" and row["options"] == {"by_unit": True}
    from registry.config import load_settings
    from registry.db import open_engine
    from scheduler.schedules import sync_config_schedules

    engine = open_engine(gp.db_url)
    sync_config_schedules(engine, load_settings())  # what `govpulse run` does at start
    engine.dispose()
    row = listed(gp)["quarterly"]
    assert row["origin"] == "config"
    assert datetime.fromisoformat(row["next_runs"][0]).month in (1, 4, 7, 10)
    refused = gp("schedule", "remove", "quarterly")
    assert refused.exit_code == 2 and "comes from the configuration file" in refused.output
    gp.ok("schedule", "pause", "quarterly")  # pausing is allowed, and survives the next sync
    engine = open_engine(gp.db_url)
    sync_config_schedules(engine, load_settings())
    engine.dispose()
    assert listed(gp)["quarterly"]["paused"] is True


def test_bad_config_schedule_names_where(gp, tmp_path: Path) -> None:
    (tmp_path / "govpulse.toml").write_text(
        '[[schedules]]\nname = "ok"\ncron = "0 2 * * *"\n\n[[schedules]]\nname = "bad"\ncron = "0 2 * * *"\n'
        'chian = ["patrol"]\n',
        encoding="utf-8",
    )
    result = gp("schedule", "list")
    assert result.exit_code == 2
    assert result.output.startswith("Error: schedules[1]: unknown key(s) chian")


def test_status_without_daemon(gp) -> None:
    gp.ok("schedule", "add", "nightly", "--cron", "0 2 * * *")
    data = json.loads(gp.ok("status", "--json").output)
    assert data["daemon"] == {"running": False}
    assert data["runs"] == [] and data["failing_sources"] == []
    assert [s["name"] for s in data["schedules"]] == ["nightly"]
    assert datetime.fromisoformat(data["schedules"][0]["next_runs"][0]) == next_local(2, 0)
    text = gp.ok("status").output
    assert "daemon     not running" in text


def test_status_shows_patrols_started_by_hand(gp, engine) -> None:
    from sqlalchemy import insert

    from registry.models import JobRun, JobStep, Patrol
    from registry.timeutil import utcnow

    gp.ok("db", "upgrade")
    now = utcnow()
    with engine.begin() as conn:
        scheduled, by_hand = (
            conn.execute(
                insert(Patrol.__table__).values(
                    started_at=now - timedelta(hours=h),
                    status=s,
                    scope={},
                    summary={},
                    accounts_total=300,
                    accounts_done=d,
                )
            ).inserted_primary_key[0]
            for h, s, d in ((3, "finished", 300), (1, "running", 120))
        )
        run = conn.execute(
            insert(JobRun.__table__).values(schedule_name="nightly", started_at=now - timedelta(hours=3), status="ok")
        ).inserted_primary_key[0]
        conn.execute(
            insert(JobStep.__table__).values(
                run_id=run,
                step="patrol",
                started_at=now - timedelta(hours=3),
                status="ok",
                counts={"patrol_id": scheduled},
            )
        )
    data = json.loads(gp.ok("status", "--json").output)
    assert [(p["id"], p["schedule"], p["status"]) for p in data["patrols"]] == [
        (by_hand, None, "running"),
        (scheduled, "nightly", "finished"),
    ]
    text = gp.ok("status").output
    assert f"{by_hand}\tby hand\trunning\t120/300" in text and f"{scheduled}\tschedule nightly\tfinished" in text
