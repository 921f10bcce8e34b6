"""Time is bounded: --as-of in the future or before the platforms existed is refused, a run dated in the
future (left by an older version) never hides the current one, and `score runs` / `score remove`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from registry.db import session_scope
from registry.models import PlanItem, Verdict
from registry.policy import Policy
from registry.scoring import run_scoring
from registry.timeutil import utcnow
from tests.scoring.scoring_world import table


@pytest.fixture
def unit(world) -> dict[str, int]:
    root = world.org("某区", level="district")
    zombie = world.account(root, name="僵尸号", followers=30)
    world.posts(zombie, [400])
    return {"root": root, "active": world.active(root, name="正常号"), "zombie": zombie}


@pytest.mark.parametrize("command", [("score",), ("explain", "#1"), ("report",)])
@pytest.mark.parametrize(
    "value, says",
    [
        ("9999-12-31", "is later than now"),
        ((utcnow() + timedelta(days=2)).date().isoformat(), "is later than now"),
        ("2008-12-31", "is before 2009-01-01"),
        ("0001-01-01", "is before 2009-01-01"),
        ("0001-01-01T00:00+08:00", "is not a date"),
        ("", "is not a date"),
        ("2026-02-30", "is not a date"),
    ],
)
def test_as_of_outside_the_platforms_lifetime_is_refused(gp, world, command, value, says) -> None:
    world.active(world.org("某区"), name="正常号")
    world.active(world.org("某局"), name="正常号2")
    result = gp(*command, "--as-of", value)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: --as-of {value!r} {says}"), result.output
    assert "Traceback" not in result.output
    with session_scope(world.engine) as s:
        assert s.execute(select(func.count()).select_from(Verdict)).scalar_one() == 0


def test_today_and_a_minute_of_skew_are_accepted(gp, unit) -> None:
    from registry.timeutil import SHANGHAI

    today = utcnow().astimezone(SHANGHAI).date().isoformat()
    assert json.loads(gp.ok("score", "--as-of", today, "--json").output)["accounts"] == 2
    soon = (utcnow() + timedelta(seconds=30)).isoformat()
    gp.ok("score", "--as-of", soon, "--json")


def test_a_future_run_is_listed_ignored_and_removed(gp, unit, engine) -> None:
    current = json.loads(gp.ok("score", "--json").output)["run_id"]
    future = run_scoring(engine, policy=Policy(), as_of=utcnow() + timedelta(days=3000)).run_id  # an old version's
    runs = {r["#"]: r for r in table(gp.ok("score", "runs").output)}
    assert runs[str(future)]["state"] == "dated in the future, not used"
    assert runs[str(current)]["state"] == "current"
    # Every reader takes the current run, not the future one.
    assert {v["run_id"] for v in json.loads(gp.ok("verdicts", "--json").output)} == {current}
    assert json.loads(gp.ok("account", "show", "#%d" % unit["active"], "--json").output)["verdict"]["run_id"] == current

    done = json.loads(gp.ok("score", "remove", str(future), "--json").output)
    assert done["run_id"] == future and done["verdicts"] == 2
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(Verdict).where(Verdict.run_id == future)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(PlanItem).where(PlanItem.run_id == future)).scalar_one() == 0
    assert [r["run_id"] for r in json.loads(gp.ok("score", "runs", "--json").output)] == [current]
    missing = gp("score", "remove", str(future))
    assert missing.exit_code != 0 and missing.output.splitlines()[0] == f"Error: no score run #{future}"
    assert gp("score", "remove", "99999999999999999999").exit_code == 2


@pytest.mark.parametrize("broken", ["measure_accounts", "org_tree", "read_window"])
def test_a_failed_read_ends_the_run_on_either_thread(world, score, monkeypatch, broken) -> None:
    """The reads run on two threads, each waiting for some of the other's: a read that fails on either
    ends the run with its error and writes nothing, rather than leaving the other thread waiting."""
    import threading

    import registry.scoring.run as run_module

    account = world.account(world.org("区"))
    world.posts(account, [3, 10])

    def fails(*args, **kwargs):
        raise RuntimeError(f"{broken} failed")

    monkeypatch.setattr(run_module, broken, fails)
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            score()
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001  (the test reads it)
            outcome.append(error)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the run waits forever"
    assert isinstance(outcome[0], RuntimeError) and str(outcome[0]) == f"{broken} failed"
    assert score.verdicts() == {}
