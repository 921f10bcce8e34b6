"""`govpulse run` as a real process with real APScheduler triggers a few seconds apart: chains against
the simulator, failures, overlap with a manual patrol, a crash and its catch-up, a clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from registry.locks import acquire_lock
from registry.models import JobRun, JobStep, Lock, Patrol, Verdict
from registry.timeutil import SHANGHAI
from tests.scheduler.sched_helpers import cli, rows, wait_until

pytestmark = pytest.mark.slow

SCHEDULER = """
[scheduler]
poll_seconds = 0.5
lock_stale_seconds = 5
{extra}
"""


def cron_in(seconds: float) -> str:
    """A 6-field cron (seconds first) that fires once a day, `seconds` from now (Asia/Shanghai)."""
    at = datetime.now(SHANGHAI) + timedelta(seconds=seconds)
    return f"{at.second} {at.minute} {at.hour} * * *"


def start(site, daemons, extra: str = "", more: str = ""):
    """Configure the scheduler, start `govpulse run`, wait until it runs; the engine and the daemon."""
    site.configure(SCHEDULER.format(extra=extra) + more)
    daemon = daemons(site)
    daemon.wait_ready()
    return site.engine(), daemon


def runs_of(engine, name: str) -> list:
    return rows(engine, JobRun, JobRun.schedule_name == name)


def steps_of(engine, run_id: int) -> dict[str, dict]:
    return {s["step"]: s for s in rows(engine, JobStep, JobStep.run_id == run_id)}


def finished(engine, name: str, count: int = 1):
    def check():
        done = [r for r in runs_of(engine, name) if r["status"] != "running"]
        return done if len(done) >= count else None

    return check


def test_chain_runs_end_to_end_on_its_trigger(site, daemons, webhook) -> None:
    engine, daemon = start(
        site,
        daemons,
        "failing_after = 1",
        f'[alerts.channels.ops]\ntype = "webhook"\nwebhook_url = "{webhook.url("/hook")}"\n',
    )
    # added while the daemon runs: it picks the schedule up on its next poll, no restart
    assert cli("schedule", "add", "nightly", "--cron", cron_in(3), "--platform", "toutiao").exit_code == 0
    [run] = wait_until(finished(engine, "nightly"), 60, "the nightly run")
    assert run["trigger"] == "cron" and run["status"] == "succeeded", run
    steps = steps_of(engine, run["id"])
    assert [(s, steps[s]["status"]) for s in steps] == [
        ("patrol", "succeeded"),
        ("score", "succeeded"),
        ("report", "succeeded"),
        ("notify", "succeeded"),
    ]
    patrol = steps["patrol"]["counts"]
    assert patrol["accounts"] == patrol["done"] > 0 and patrol["ok"] > 0
    [patrol_row] = rows(engine, Patrol)
    assert patrol_row["status"] == "finished" and patrol_row["id"] == patrol["patrol_id"]
    assert rows(engine, Verdict)
    report = Path(steps["report"]["counts"]["report"])
    assert report.is_file() and report.parent == site.root / "reports"
    [hook] = webhook.at("/hook")
    [summary] = [e for e in hook.body["events"] if e["kind"] == "summary"]
    assert summary["report"] == str(report) and summary["status"] == "succeeded"

    status = json.loads(cli("status", "--json").output)
    assert status["daemon"]["running"] is True and status["daemon"]["pid"] == daemon.pid
    assert [(r["schedule_name"], r["status"]) for r in status["runs"]] == [("nightly", "succeeded")]
    [nightly] = status["schedules"]
    assert datetime.fromisoformat(nightly["next_runs"][0]) - datetime.fromisoformat(
        run["started_at"].isoformat()
    ) > timedelta(hours=23)
    # sources whose last visit failed (failing_after = 1), by platform and outcome, as the patrol counted them
    failing = {(f["platform"], f["outcome"]): f["accounts"] for f in status["failing_sources"]}
    assert failing == {
        ("toutiao", k): v
        for k, v in patrol.items()
        if k in ("malformed", "rate_limited", "timeout", "error", "not_found", "login_required")
    }
    assert failing
    assert daemon.stop() == 0
    engine.dispose()


def test_failing_step_stops_its_chain_and_the_daemon_carries_on(site, daemons, tmp_path) -> None:
    engine, daemon = start(site, daemons, more=f'[policy]\nfile = "{tmp_path / "missing-policy.toml"}"\n')
    assert cli("schedule", "add", "weekly", "--cron", "*/2 * * * * *", "--chain", "score,report").exit_code == 0
    first, second = wait_until(finished(engine, "weekly", 2), 30, "two runs")[:2]
    for run in (first, second):  # it failed, was recorded, and the next trigger ran again
        assert run["status"] == "failed"
        assert run["message"].startswith(f"score: cannot read policy file {tmp_path / 'missing-policy.toml'}")
        steps = steps_of(engine, run["id"])
        assert steps["score"]["status"] == "failed" and "No such file" in steps["score"]["log_excerpt"]
        assert steps["report"]["status"] == "skipped"
    assert not list((site.root / "reports").glob("*.html"))
    assert daemon.stop() == 0
    engine.dispose()


def test_scheduled_and_manual_patrols_never_overlap(slow_site, daemons) -> None:
    site = slow_site
    engine, daemon = start(site, daemons, 'on_lock = "fail"')
    # 1. A manual patrol holds the lock when the schedule fires: the scheduled patrol is refused.
    with acquire_lock(engine, "patrol", holder="govpulse patrol (tester)"):
        assert cli("schedule", "add", "nightly", "--cron", cron_in(2), "--platform", "toutiao").exit_code == 0
        [run] = wait_until(finished(engine, "nightly"), 30, "the refused run")
    assert run["status"] == "skipped"
    assert run["message"].startswith(f"patrol: a patrol is running: held by govpulse patrol (tester) pid {os.getpid()}")
    assert steps_of(engine, run["id"])["score"]["status"] == "skipped"
    assert rows(engine, Patrol) == []

    # 2. The scheduled patrol runs: a manual one started meanwhile is refused with the holder named.
    assert cli("schedule", "remove", "nightly").exit_code == 0
    assert (
        cli("schedule", "add", "again", "--cron", cron_in(2), "--platform", "toutiao", "--chain", "patrol").exit_code
        == 0
    )
    wait_until(lambda: rows(engine, Patrol), 30, "the scheduled patrol to start")
    manual = cli("patrol", "--platform", "toutiao")
    assert manual.exit_code == 1
    assert manual.output.startswith(f"Error: a patrol is running: held by schedule again (run 2) pid {daemon.pid}")
    [run] = wait_until(finished(engine, "again"), 60, "the scheduled patrol")
    assert run["status"] == "succeeded" and len(rows(engine, Patrol)) == 1
    assert daemon.stop() == 0
    engine.dispose()


def test_waiting_for_the_lock_per_configuration(slow_site, daemons) -> None:
    site = slow_site
    engine, daemon = start(site, daemons, 'on_lock = "wait"\nlock_wait_seconds = 60')
    with acquire_lock(engine, "patrol", holder="govpulse patrol (tester)"):
        assert (
            cli(
                "schedule", "add", "nightly", "--cron", cron_in(2), "--platform", "toutiao", "--chain", "patrol"
            ).exit_code
            == 0
        )
        wait_until(lambda: rows(engine, JobStep), 30, "the patrol step to start waiting")
        assert rows(engine, Patrol) == []  # still waiting for us
    [run] = wait_until(finished(engine, "nightly"), 60, "the patrol after the wait")
    assert run["status"] == "succeeded" and len(rows(engine, Patrol)) == 1
    assert daemon.stop() == 0
    engine.dispose()


def _crawl_pid(engine) -> int | None:
    running = [p for p in rows(engine, Patrol) if p["status"] == "running" and p["pid"]]
    return running[0]["pid"] if running else None


def test_killed_mid_patrol_then_restarted_marks_the_run_aborted_and_catches_up_once(slow_site, daemons) -> None:
    site = slow_site
    engine, daemon = start(site, daemons)
    assert cli("schedule", "add", "nightly", "--cron", cron_in(2), "--platform", "toutiao").exit_code == 0
    assert cli("schedule", "add", "often", "--cron", "*/2 * * * * *", "--chain", "notify").exit_code == 0
    crawl = wait_until(lambda: _crawl_pid(engine), 30, "the crawl to start")
    # The machine dies: the daemon and its crawl are killed at once (as systemd kills the unit's cgroup).
    os.kill(daemon.pid, signal.SIGKILL)
    os.kill(crawl, signal.SIGKILL)
    daemon.kill()
    [run] = runs_of(engine, "nightly")
    assert run["status"] == "running"  # nobody was left to record the end
    often_before = len(runs_of(engine, "often"))
    time.sleep(5)  # the downtime itself: "often" misses two or three of its fire times

    restarted = daemons(site)
    restarted.wait_ready()
    aborted, catchup = wait_until(finished(engine, "nightly", 2), 60, "the catch-up run")
    assert aborted["id"] == run["id"] and aborted["status"] == "aborted" and aborted["finished_at"] is not None
    assert "died" in aborted["message"]
    assert steps_of(engine, aborted["id"])["patrol"]["status"] == "aborted"
    assert catchup["trigger"] == "catchup" and catchup["status"] == "succeeded", catchup["message"]
    # the catch-up completed the interrupted patrol (or, past patrol.resume_hours, ran a new one)
    assert [p["status"] for p in rows(engine, Patrol)] in (["finished"], ["aborted", "finished"])
    # one catch-up for the missed fire times of "often", not a burst
    wait_until(
        lambda: len([r for r in runs_of(engine, "often")[often_before:] if r["trigger"] == "cron"]) >= 2,
        20,
        "two regular runs of often after the restart",
    )
    assert [r["trigger"] for r in runs_of(engine, "often")[often_before:]].count("catchup") == 1
    assert len(runs_of(engine, "nightly")) == 2
    assert restarted.stop() == 0
    engine.dispose()


def test_sigterm_stops_the_running_step_and_leaves_nothing_running(slow_site, daemons) -> None:
    site = slow_site
    engine, daemon = start(site, daemons)
    assert cli("schedule", "add", "nightly", "--cron", cron_in(2), "--platform", "toutiao").exit_code == 0
    crawl = wait_until(lambda: _crawl_pid(engine), 30, "the crawl to start")
    assert daemon.stop(signal.SIGTERM, timeout=60) == 0
    [run] = runs_of(engine, "nightly")
    assert run["status"] == "interrupted" and run["finished_at"] is not None
    steps = steps_of(engine, run["id"])
    assert steps["patrol"]["status"] == "interrupted"
    assert [steps[s]["status"] for s in ("score", "report")] == ["skipped", "skipped"]
    assert "notify" not in steps
    assert all(p["status"] != "running" for p in rows(engine, Patrol))
    assert all(s["status"] != "running" for s in rows(engine, JobStep))
    assert rows(engine, Lock) == []
    with pytest.raises(ProcessLookupError):
        os.kill(crawl, 0)
    assert "stopping" in daemon.text() and "scheduler stopped" in daemon.text()
    engine.dispose()


def test_second_daemon_is_refused_and_status_sees_the_first(site, daemons) -> None:
    engine, first = start(site, daemons)
    second = daemons(site)
    assert second.proc.wait(30) == 1
    assert f"Error: the scheduler daemon is already running: held by govpulse run pid {first.pid} on " in second.text()
    status = json.loads(cli("status", "--json").output)["daemon"]
    assert status["running"] is True and status["pid"] == first.pid
    assert first.stop() == 0
    assert json.loads(cli("status", "--json").output)["daemon"] == {"running": False}
    engine.dispose()
