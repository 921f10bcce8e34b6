"""A run that takes the plan in force as its own (its plan inputs are those of the latest run) stores
exactly what a run that works everything out again stores: checked after every run of a sequence of
patrols, registry edits, policy changes and removals, against a full run on a copy of the database."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.engine import Engine

from registry.db import open_engine
from registry.models import Account, Organization
from registry.policy import HeadcountBand, Policy, Quotas
from registry.scoring import run_scoring
from registry.scoring.runs import remove_run
from tests.scoring.scoring_world import AS_OF, World, sqlite_only

TABLES = {  # what a run stores, compared whole (order: each table's key)
    "latest_verdict": "account_id",
    "verdict": "run_id, account_id",
    "plan_item": "id",
    "plan_unit": "org_id",
}
# How long it took, and how it got there.
VOLATILE = ("timings", "seconds", "plan_kept", "plan_units_worked", "reused_run")


def _stored(path: Path) -> dict[str, Any]:
    with sqlite3.connect(path) as con:
        found: dict[str, Any] = {
            t: con.execute(f"SELECT * FROM {t} ORDER BY {key}").fetchall() for t, key in TABLES.items()
        }
        runs = con.execute("SELECT id, as_of, policy, summary FROM score_run ORDER BY id").fetchall()
    found["score_run"] = [(i, a, p, _without(s)) for i, a, p, s in runs]
    return found


def _without(summary: str) -> dict[str, Any]:
    import json

    return {k: v for k, v in json.loads(summary).items() if k not in VOLATILE}


def _refreshed(engine: Engine) -> int:
    with engine.connect() as conn:
        summary = conn.execute(text("SELECT summary FROM score_run ORDER BY id DESC LIMIT 1")).scalar_one()
    return int(_without(summary)["plan_refreshed"])


class Twin:
    """Runs each score on the database and, on a copy made just before, a full run (plan worked out
    again) of the same time and policy; both must then store the same."""

    def __init__(self, engine: Engine, tmp_path: Path) -> None:
        self.engine = engine
        self.path = Path(engine.url.database or "")
        self.copy = tmp_path / "full.db"
        self.kept: list[bool] = []
        self.reused: list[bool] = []
        self.worked: list[tuple[int, int]] = []  # units whose plan was worked out: by the run, by the full run

    def score(self, as_of: datetime, policy: Policy | None = None) -> None:
        policy = policy or Policy()
        self.copy.unlink(missing_ok=True)
        with sqlite3.connect(self.path) as src, sqlite3.connect(self.copy) as dst:
            src.backup(dst)
        result = run_scoring(self.engine, policy=policy, as_of=as_of)
        full_engine = open_engine(f"sqlite:///{self.copy}")
        try:
            full = run_scoring(full_engine, policy=policy, as_of=as_of, full=True)
        finally:
            full_engine.dispose()
        assert full.summary["plan_kept"] is False
        self.kept.append(result.summary["plan_kept"])
        self.worked.append((result.summary.get("plan_units_worked", 0), full.summary["plan_units_worked"]))
        self.reused.append("reused_run" in result.summary)
        assert _stored(self.path) == _stored(self.copy), f"run {result.run_id} (plan kept: {self.kept[-1]})"


def _world(world: World) -> dict[str, int]:
    city = world.org("市")
    district = world.org("某区", city, level="district", headcount=25)
    bureau = world.org("教育局", district, headcount=12)
    office = world.org("教研室", bureau)
    street = world.org("某街道", district, level="street")
    community = world.org("某社区", street, level="community")
    ids = {"city": city, "district": district, "bureau": bureau, "office": office, "street": street}
    ids["district_main"] = world.active(district, name="区发布")
    world.active(district, "wechat", name="区微信")
    ids["bureau_a"] = world.active(bureau, name="教育局甲")  # near tie with bureau_b
    ids["bureau_b"] = world.active(bureau, name="教育局乙")
    quiet = world.account(bureau, name="教育局丙", followers=40)
    world.posts(quiet, [20, 40])  # dormant
    ids["office_zombie"] = world.account(office, name="教研室号", followers=30)
    world.posts(ids["office_zombie"], [150])  # a zombie whose parent has an active account: merged up
    for platform in ("wechat", "toutiao", "douyin"):  # over a cap of two accounts (quotas below)
        world.active(bureau, platform, name=f"教育局{platform}")
    lone = world.account(street, "douyin", name="街道号", followers=3000)
    world.posts(lone, [120])  # a zombie with nothing to merge into and a following: revive
    ids["community"] = world.account(community, name="社区号", followers=20)
    world.posts(ids["community"], [200])  # its parent's account is a zombie: close
    ids["gone"] = world.account(street, "toutiao", name="已注销号", patrolled=False)
    for days in (3, 2):
        world.outcome(ids["gone"], "gone", at=AS_OF - timedelta(days=days))
    world.account(street, "wechat", name="从未巡查", patrolled=False)
    return ids


@sqlite_only
def test_a_run_keeps_the_plan_in_force_only_where_working_it_out_gives_the_same(
    world: World, engine: Engine, tmp_path: Path
) -> None:
    ids = _world(world)
    twin = Twin(engine, tmp_path)
    quotas = Policy(quotas=Quotas(by_headcount=(HeadcountBand(max_headcount=30, cap=2),)))

    twin.score(AS_OF)  # the first run works its plan out
    twin.score(AS_OF)  # the same time: the same inputs, the plan in force is kept
    twin.score(AS_OF + timedelta(hours=1))
    twin.score(AS_OF + timedelta(days=1))
    twin.score(AS_OF + timedelta(days=1))
    assert twin.kept == [False, True, twin.kept[2], False, True]
    # Once a run writes nothing, the next of the same time finds nothing written since: it takes that run
    # over, and stores what working everything out again stores.
    twin.score(AS_OF + timedelta(days=1))
    assert twin.reused == [False, False, False, False, False, True]

    # Posts, a failed fetch, a gone account confirmed.
    world.posts(ids["office_zombie"], [-0.5])
    world.outcome(ids["bureau_b"], "timeout", at=AS_OF + timedelta(days=1, hours=2))
    world.outcome(ids["gone"], "gone", at=AS_OF + timedelta(days=1, hours=2))
    later = AS_OF + timedelta(days=1, hours=3)
    twin.score(later)
    twin.score(later)
    assert twin.kept[-2:] == [False, True]

    # Registry edits the verdicts do not see but the plan does: a name (in the reasons), the main account.
    with engine.begin() as conn:
        conn.execute(
            update(Account.__table__).where(Account.__table__.c.id == ids["bureau_a"]).values(name="教育局新名")
        )
    twin.score(later)
    with engine.begin() as conn:
        conn.execute(update(Account.__table__).where(Account.__table__.c.id == ids["bureau_b"]).values(is_main=True))
    twin.score(later)
    # A unit moved under another parent, then its headcount.
    org = Organization.__table__
    with engine.begin() as conn:
        conn.execute(update(org).where(org.c.id == ids["office"]).values(parent_id=ids["district"]))
    twin.score(later)
    with engine.begin() as conn:
        conn.execute(update(org).where(org.c.id == ids["district"]).values(headcount=500))
    twin.score(later)
    assert twin.kept[-4:] == [False, False, False, False]
    twin.score(later)
    twin.score(later)
    # The headcount changed no plan item, but the units' digests: the run after it writes nothing, and the
    # one after that takes it over.
    assert twin.reused[-6:] == [False, False, False, False, False, True]
    # Another policy: quotas, a near-tie margin.
    twin.score(later, quotas)
    twin.score(later, quotas)
    twin.score(later, Policy(near_tie_points=0.1))
    assert twin.kept[-4:] == [True, False, True, False]

    # The latest run removed: the plan in force is not that run's any more, the next run works it out.
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT max(id) FROM score_run")).scalar_one()
    remove_run(engine, latest)
    twin.score(later, Policy(near_tie_points=0.1))
    assert twin.kept[-1] is False
    # A day on refreshes the items in force (days silent); that run removed, its refreshes stay with the
    # items: a run as of the earlier time again must work the plan out, not keep it.
    twin.score(later)
    twin.score(later + timedelta(days=1))
    assert _refreshed(engine) > 0
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT max(id) FROM score_run")).scalar_one()
    remove_run(engine, latest)
    twin.score(later)
    assert twin.kept[-3:] == [False, False, False]
    # A run of one unit in between: the next whole run works its plan out.
    run_scoring(engine, policy=Policy(), as_of=later, org_id=ids["bureau"])
    twin.score(later)
    twin.score(AS_OF + timedelta(days=100))
    twin.score(AS_OF + timedelta(days=100))
    assert twin.kept[-3:] == [False, False, True]
    # The second run of a time rewrites the verdicts whose change since the run before moves on ("new"
    # becomes "unchanged"); the third writes nothing, and only the fourth takes it over.
    twin.score(AS_OF + timedelta(days=100))
    twin.score(AS_OF + timedelta(days=100))
    assert twin.reused[-5:] == [False, False, False, False, True]


def test_score_full_works_the_plan_out_again(gp, world: World) -> None:
    import json

    unit = world.org("区")
    kept = world.active(unit, name="主号", followers=9000)
    other = world.active(unit, name="副号")
    first, again, full = (
        json.loads(gp.ok("score", "--as-of", "2026-06-30", *extra, "--json").output) for extra in ((), (), ("--full",))
    )
    assert (first["plan_kept"], again["plan_kept"], full["plan_kept"]) == (False, True, False)
    assert first["plan"] == again["plan"] == full["plan"] == {"keep": 1, "merge": 1}
    assert full["plan_items"] == full["plan_refreshed"] == 0  # worked out again: the same items
    plan = {r["account_id"]: r["action"] for r in json.loads(gp.ok("plan", "--json").output)}
    assert plan == {kept: "keep", other: "merge"}
