"""Verdict history as changes: the latest verdict whole, the history only where a verdict changed, and every
earlier run still read as it was judged (by the report's queries, by `explain --as-of`, after a run is
removed)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from registry.models import LatestVerdict, ScoreRun, Verdict
from registry.scoring.history import verdicts_at
from registry.scoring.runs import remove_run
from tests.scoring.scoring_world import AS_OF, sqlite_only

DAYS = ("2026-06-30", "2026-07-05", "2026-07-06", "2026-07-07")  # the runs' dates (end of day, Shanghai)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _states(engine) -> dict[int, dict[int, tuple]]:
    """run -> account -> (status, change, previous status, days silent, flagged since), as the report reads them."""
    out: dict[int, dict[int, tuple]] = {}
    with engine.connect() as conn:
        for run_id in conn.execute(select(ScoreRun.id).order_by(ScoreRun.id)).scalars():
            ver = verdicts_at(conn, run_id)
            out[run_id] = {
                r[0]: tuple(r[1:])
                for r in conn.execute(
                    select(
                        ver.c.account_id,
                        ver.c.status,
                        ver.c.change,
                        ver.c.previous_status,
                        ver.c.days_silent,
                        ver.c.flagged_since,
                    )
                )
            }
    return out


def _world(world):
    unit = world.org("区")
    quiet = world.account(unit, name="沉寂号")  # last post 10 days before the first run
    world.posts(quiet, [10])
    busy = world.account(unit, name="活跃号")
    world.posts(busy, range(0, 60, 2))
    return quiet, busy


def _patrol(world, accounts, day: int) -> None:
    for account in accounts:
        world.outcome(account, at=AS_OF + timedelta(days=day, hours=-1))


def test_runs_write_history_only_for_changes_and_read_as_judged(gp, world, engine) -> None:
    quiet, busy = _world(world)
    seen: dict[str, dict[int, tuple]] = {}
    for day, date in zip((0, 5, 6, 7), DAYS, strict=True):
        _patrol(world, (quiet, busy), day)
        gp.ok("score", "--as-of", date)
        rows = {r["account_id"]: r for r in json.loads(gp.ok("verdicts", "--json").output)}
        seen[date] = {
            a: (
                rows[a]["status"],
                rows[a]["change"],
                rows[a]["previous_status"],
                rows[a]["days_silent"],
                rows[a]["flagged_since"],
            )
            for a in (quiet, busy)
        }
    assert [seen[d][quiet][:2] for d in DAYS] == [
        ("active", "new"),
        ("dormant", "newly_flagged"),
        ("dormant", "still_flagged"),
        ("dormant", "still_flagged"),
    ]
    assert [seen[d][busy][:2] for d in DAYS] == [("active", "new"), *[("active", "unchanged")] * 3]

    # History: the first verdict of each account and the one transition; the latest verdict whole.
    with Session(engine) as session:
        history = session.execute(
            select(Verdict.account_id, Verdict.status, Verdict.change).order_by(Verdict.run_id, Verdict.account_id)
        ).all()
        latest = session.execute(select(LatestVerdict.account_id, LatestVerdict.run_id)).all()
    assert [tuple(r) for r in history] == [
        (quiet, "active", "new"),
        (busy, "active", "new"),
        (quiet, "dormant", "newly_flagged"),
    ]
    assert sorted(r[1] for r in latest) == [4, 4]

    # Each run read back as it was judged then, days silent counted to that run's time.
    states = _states(engine)
    for run_id, date in enumerate(DAYS, start=1):
        got = {a: (s[0], s[1], s[2], s[3]) for a, s in states[run_id].items()}
        assert got == {a: tuple(json.loads(json.dumps(v[:4]))) for a, v in seen[date].items()}, date
    assert states[3][quiet][4] is not None and states[3][quiet][4] == states[4][quiet][4]  # flagged since run 2

    # The report's trend counts each run's statuses from the history alone.
    from reports.queries import load_report_data

    trend = {r["run_id"]: r["counts"] for r in load_report_data(engine).trend}
    assert trend == {
        run: {
            s: sum(1 for v in states[run].values() if v[0] == s)
            for s in ("active", "dormant")
            if any(v[0] == s for v in states[run].values())
        }
        for run in states
    }

    # explain --as-of a past date works the verdict out afresh: the same status as stored then.
    for date, expected, silent in (
        ("2026-06-30", "active", 10),
        ("2026-07-05", "dormant", 15),
        ("2026-07-06", "dormant", 16),
    ):
        data = json.loads(gp.ok("explain", "#%d" % quiet, "--as-of", date, "--json").output)
        assert (data["status"], data["days_silent"]) == (expected, silent), date
        assert states[DAYS.index(date) + 1][quiet][3] == silent


@sqlite_only
def test_a_quiet_night_adds_no_verdict_rows(world, score, engine) -> None:
    quiet, busy = _world(world)
    score()
    before = _count(engine, Verdict.__table__)
    for day in range(1, 4):
        _patrol(world, (quiet, busy), day)
        result = score(as_of=AS_OF + timedelta(days=day))
        assert result.summary["transitions"] == 0
    assert _count(engine, Verdict.__table__) == before == 2
    assert _count(engine, LatestVerdict.__table__) == 2


@sqlite_only
def test_removing_the_latest_run_gives_back_the_verdict_before_it(gp, world, engine) -> None:
    quiet, busy = _world(world)
    for day, date in zip((0, 5), DAYS[:2], strict=True):
        _patrol(world, (quiet, busy), day)
        gp.ok("score", "--as-of", date)
    keys = ("run_id", "status", "change", "previous_status", "days_silent", "flagged_since", "rule", "flags")

    def shown() -> dict[int, tuple]:
        return {r["account_id"]: tuple(r[k] for k in keys) for r in json.loads(gp.ok("verdicts", "--json").output)}

    before = shown()
    assert before[quiet][1] == "dormant"
    _patrol(world, (quiet, busy), 6)
    gp.ok("score", "--as-of", DAYS[2])
    done = json.loads(gp.ok("score", "remove", "3", "--json").output)
    assert done["verdicts"] == 2  # the accounts the run judged, though it wrote no history
    assert shown() == before  # (the evidence is that of the account's last transition)
    gp.ok("score", "remove", "2")
    back = {
        r["account_id"]: (r["run_id"], r["status"], r["change"]) for r in json.loads(gp.ok("verdicts", "--json").output)
    }
    assert back == {quiet: (1, "active", "new"), busy: (1, "active", "new")}
    assert _count(engine, Verdict.__table__) == 2


def _stored(engine) -> tuple:
    """What the runs wrote: the latest verdicts (account, run, digest), the history rows, the plan items."""
    from registry.models import PlanItem

    with engine.connect() as conn:
        latest = conn.execute(
            select(LatestVerdict.account_id, LatestVerdict.run_id, LatestVerdict.digest).order_by("account_id")
        ).all()
    return [tuple(r) for r in latest], _count(engine, Verdict.__table__), _count(engine, PlanItem.__table__)


def _read(gp, quiet: int) -> dict[str, object]:
    """What the readers show, without the run's number and time (which are the newest run's)."""
    verdicts = json.loads(gp.ok("verdicts", "--json").output)
    plan = json.loads(gp.ok("plan", "--json").output)
    explain = json.loads(gp.ok("explain", "#%d" % quiet, "--as-of", DAYS[0], "--json").output)
    account = json.loads(gp.ok("account", "show", "#%d" % quiet, "--json").output)["verdict"]
    skip = ("run_id", "as_of")
    return {
        "verdicts": [{k: v for k, v in r.items() if k not in skip} for r in verdicts],
        "plan": [{k: v for k, v in r.items() if k not in skip} for r in plan],
        "explain": explain,
        "account": {k: v for k, v in account.items() if k not in skip},
    }


def test_a_run_that_changes_nothing_writes_nothing_and_reads_the_same(gp, world, engine) -> None:
    quiet, busy = _world(world)  # one unit, two accounts on one platform: the plan keeps one, merges the other
    _patrol(world, (quiet, busy), 0)
    gp.ok("score", "--as-of", DAYS[0])
    gp.ok("score", "--as-of", DAYS[0])  # what changed since the first verdicts: "new" becomes "unchanged"
    stored, shown = _stored(engine), _read(gp, quiet)
    assert [r[1] for r in stored[0]] == [2, 2] and stored[2] > 0
    assert {r["action"] for r in shown["plan"]} == {"keep", "merge"}  # type: ignore[union-attr]

    done = json.loads(gp.ok("score", "--as-of", DAYS[0], "--json").output)
    assert (done["transitions"], done["rewritten"], done["plan_items"]) == (0, 0, 0)
    assert _stored(engine) == stored  # no latest verdict, history row or plan item written
    assert _read(gp, quiet) == shown
    # Every reader takes the newest run as the one that judged the accounts.
    assert {r["run_id"] for r in json.loads(gp.ok("verdicts", "--json").output)} == {3}
    assert {r["run_id"] for r in json.loads(gp.ok("plan", "--json").output)} == {3}
    with engine.connect() as conn:
        ver = verdicts_at(conn, 3)
        assert conn.execute(select(ver.c.account_id, ver.c.change).order_by(ver.c.account_id)).all() == [
            (quiet, "unchanged"),
            (busy, "unchanged"),
        ]

    # Removing the run in between hands what it wrote to the run after it; removing that one goes back to
    # the first run's verdicts, and its plan.
    gp.ok("score", "remove", "2")
    assert _read(gp, quiet) == shown
    assert [r[1] for r in _stored(engine)[0]] == [3, 3]
    gp.ok("score", "remove", "3")
    back = {r["account_id"]: (r["run_id"], r["change"]) for r in json.loads(gp.ok("verdicts", "--json").output)}
    assert back == {quiet: (1, "new"), busy: (1, "new")}
    assert _read(gp, quiet)["plan"] == shown["plan"]


def test_a_recommendation_that_holds_is_refreshed_in_place_not_written_again(gp, world, engine) -> None:
    from registry.models import PlanItem

    unit = world.org("某区", level="district")
    zombie = world.account(world.org("甲", unit), followers=50)
    world.posts(zombie, [150])
    items, silent = [], []
    for day, date in ((0, DAYS[0]), (5, DAYS[1])):
        _patrol(world, (zombie,), day)
        gp.ok("score", "--as-of", date)
        items.append(_count(engine, PlanItem.__table__))
        plan = {r["account_id"]: r for r in json.loads(gp.ok("plan", "--json").output)}
        assert plan[zombie]["action"] == "close"
        silent.append(plan[zombie]["numbers"]["days_silent"])
        assert f"{silent[-1]}天未更新" in plan[zombie]["reason_zh"]
    # The reason and numbers are those of the latest run, five days on; the second run kept the
    # recommendation (close), so its item was refreshed and no row was added.
    assert silent[1] == silent[0] + 5
    assert items[1] == items[0] == 1
    # Judged again as of the same day, nothing moved: the item is neither written nor refreshed again.
    again = json.loads(gp.ok("score", "--as-of", DAYS[1], "--json").output)
    assert (again["plan_items"], again["plan_refreshed"]) == (0, 0)


def _figures_and_evidence(engine) -> list[tuple[tuple, tuple]]:
    """Each latest verdict's figure columns beside the same figures read from its evidence."""
    keys = ("posts", "originals", "median_engagement", "followers", "longest_gap_days")
    lv = LatestVerdict.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                lv.c.posts_window,
                lv.c.originals_window,
                lv.c.median_engagement,
                lv.c.followers,
                lv.c.longest_gap_days,
                lv.c.evidence,
            )
        ).all()
    out = []
    for *figures, evidence in rows:
        ev = evidence if isinstance(evidence, dict) else json.loads(evidence)
        out.append((tuple(figures), tuple(ev.get(k) for k in keys)))
    return out


def test_latest_verdicts_hold_the_evidence_figures_as_columns(world, score, engine) -> None:
    quiet, busy = _world(world)
    _patrol(world, (quiet, busy), 0)
    score()
    _patrol(world, (quiet, busy), 5)
    score(as_of=AS_OF + timedelta(days=5))
    pairs = _figures_and_evidence(engine)
    assert len(pairs) == 2 and all(columns == evidence for columns, evidence in pairs)
    assert {columns[0] for columns, _ in pairs} == {1, 30}  # posts in the window
    with engine.connect() as conn:
        assert set(conn.execute(select(LatestVerdict.run_id)).scalars()) == {2}  # rewritten: days silent moved
    remove_run(engine, 2)  # the latest verdicts taken back from the history, which holds the evidence alone
    pairs = _figures_and_evidence(engine)
    assert len(pairs) == 2 and all(columns == evidence for columns, evidence in pairs)
    assert {columns[0] for columns, _ in pairs} == {1, 30}
    with engine.connect() as conn:
        assert set(conn.execute(select(LatestVerdict.run_id)).scalars()) == {1}
