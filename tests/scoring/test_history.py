"""Verdict history: what changed since the previous run, and how long an account has been flagged."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.scoring.scoring_world import AS_OF, ago, sqlite_only, table


def test_transitions_across_runs(world, score) -> None:
    account = world.account(world.org("区"))
    world.posts(account, [10])
    first = score.verdict(account)
    assert (first["status"], first["change"], first["previous_status"], first["flagged_since"]) == (
        "active",
        "new",
        None,
        None,
    )

    day20 = AS_OF + timedelta(days=10)
    world.outcome(account, at=day20 - timedelta(hours=1))
    v = score.verdict(account, as_of=day20)
    assert (v["status"], v["change"], v["previous_status"]) == ("dormant", "newly_flagged", "active")
    assert (v["flagged_since"], v["flagged_days"]) == (day20, 0)
    assert v["evidence"]["flags_added"] == ["stale_14d"]

    day30 = day20 + timedelta(days=10)
    world.outcome(account, at=day30 - timedelta(hours=1))
    v = score.verdict(account, as_of=day30)
    assert (v["change"], v["flagged_since"], v["flagged_days"]) == ("still_flagged", day20, 10)

    day95 = AS_OF + timedelta(days=85)
    world.outcome(account, at=day95 - timedelta(hours=1))
    v = score.verdict(account, as_of=day95)
    assert (v["status"], v["change"], v["flagged_days"]) == ("zombie", "changed", 75)
    assert v["evidence"]["flags_added"] == ["stale_90d"]

    world.posts(account, [-85])  # a post on the day of the next run
    world.outcome(account, at=day95 + timedelta(hours=1))
    v = score.verdict(account, as_of=day95 + timedelta(hours=2))
    assert (v["status"], v["change"], v["flagged_since"], v["flagged_days"]) == ("active", "recovered", None, None)
    assert v["evidence"]["flags_removed"] == ["stale_14d", "stale_90d"]


@sqlite_only
def test_an_unknown_in_between_keeps_the_flagged_stretch(world, score) -> None:
    account = world.account(world.org("区"))
    world.posts(account, [30])
    assert score.verdict(account)["change"] == "new"
    world.outcome(account, "timeout", at=AS_OF + timedelta(days=2))
    v = score.verdict(account, as_of=AS_OF + timedelta(days=3))
    assert (v["status"], v["change"], v["flagged_since"]) == ("unknown", "no_data", AS_OF)
    world.outcome(account, "ok", at=AS_OF + timedelta(days=5))
    v = score.verdict(account, as_of=AS_OF + timedelta(days=6))
    assert (v["status"], v["change"], v["flagged_days"]) == ("dormant", "still_flagged", 6)


@sqlite_only
def test_a_scoped_run_compares_with_each_accounts_own_latest_verdict(world, score) -> None:
    one, two = world.org("一区"), world.org("二区")
    a, b = world.account(one), world.account(two)
    world.posts(a, [1])
    world.posts(b, [1])
    score()
    world.outcome(a, "timeout", at=AS_OF + timedelta(minutes=30))
    score(org_id=one, as_of=AS_OF + timedelta(hours=1))  # b is not in this run
    for account in (a, b):
        world.outcome(account, at=AS_OF + timedelta(days=19))
    score(as_of=AS_OF + timedelta(days=20))
    v = score.verdicts()
    assert (v[a]["previous_status"], v[b]["previous_status"]) == ("unknown", "active")
    assert (v[a]["change"], v[b]["change"]) == ("newly_flagged", "newly_flagged")


def test_verdicts_command_shows_changes_since_the_previous_run(gp, world, score) -> None:
    unit = world.org("区")
    a = world.account(unit, name="甲发布")
    world.posts(a, [1])
    b = world.account(unit, name="乙发布")
    world.posts(b, [13])
    score()
    world.outcome(a, at=ago(-4))
    world.outcome(b, at=ago(-4))
    gp.ok("score", "--as-of", "2026-07-05")
    rows = {r["account_name"]: r for r in json.loads(gp.ok("verdicts", "--json").output)}
    assert (rows["甲发布"]["change"], rows["乙发布"]["change"]) == ("unchanged", "newly_flagged")
    rows = {r["account"]: r for r in table(gp.ok("verdicts").output)}
    assert rows["乙发布"]["status"] == "Dormant (fails)"
    assert rows["乙发布"]["days silent"] == "18"
    assert rows["乙发布"]["last post"] == "2026-06-17 12:00"
    assert (rows["乙发布"]["change"], rows["乙发布"]["flagged days"]) == ("newly flagged", "0")
    assert (rows["甲发布"]["change"], rows["甲发布"]["flagged days"]) == ("unchanged", "—")


def test_two_runs_at_once_never_compare_with_the_same_run(world, score, engine, monkeypatch) -> None:
    """Both runs read before either is stored; the one stored second must compare with the first."""
    import threading

    import registry.scoring.run as run_module
    from registry.models import ScoreRun
    from registry.scoring.history import verdicts_at
    from sqlalchemy import select

    account = world.account(world.org("区"))
    world.posts(account, [30])
    both_read = threading.Barrier(2, timeout=30)
    real_analyse = run_module.analyse

    def analyse_then_wait(*args, **kwargs):
        result = real_analyse(*args, **kwargs)
        both_read.wait()
        return result

    monkeypatch.setattr(run_module, "analyse", analyse_then_wait)
    runs = [threading.Thread(target=score, kwargs={"as_of": AS_OF + timedelta(hours=h)}) for h in (0, 1)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    changes = []  # each run's verdict of the account, as the history reads it
    with engine.connect() as conn:
        for run_id in conn.execute(select(ScoreRun.id).order_by(ScoreRun.id)).scalars().all():
            ver = verdicts_at(conn, run_id)
            changes += conn.execute(
                select(ver.c.run_id, ver.c.change, ver.c.previous_status).where(ver.c.account_id == account)
            ).all()
    assert [(c, p) for _, c, p in changes] == [("new", None), ("still_flagged", "dormant")]


def test_the_run_works_out_every_change_as_the_rule_for_one_account_says() -> None:
    """The scorer decides what changed for all accounts at once (store.changes_of); for every pair of
    statuses, with and without a flagged stretch running, it says what history.change says."""
    import numpy as np

    from registry.scoring.history import change
    from registry.scoring.rules import STATUS_ORDER
    from registry.scoring.store import changes_of

    now, since = "2026-06-30 12:00:00.000000", "2026-05-01 12:00:00.000000"
    cases = [(s, None) for s in STATUS_ORDER]
    cases += [(s, (b, "[]", started)) for s in STATUS_ORDER for b in STATUS_ORDER for started in (None, since)]
    status = np.array([s for s, _ in cases], object)
    known = np.array([before is not None for _, before in cases])
    what, when = changes_of(
        status,
        known,
        [before[0] if before else None for _, before in cases],
        [before[2] if before else None for _, before in cases],
        now,
    )
    expected = [change(s, before, now) for s, before in cases]  # type: ignore[arg-type]
    assert list(zip(what, when, strict=True)) == expected
    assert {w for w, _ in expected} >= {"new", "newly_flagged", "still_flagged", "changed", "recovered", "no_data"}
