"""A run that works out again only the units whose plan inputs moved stores what a run that works the whole
plan out stores: three random registries of 31 units and some sixty accounts, patrolled, edited and judged
as of later times, every run compared with a full run on a copy of the database (test_plan_kept.Twin)."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from registry.models import Account, Organization
from registry.policy import HeadcountBand, Policy, Quotas
from tests.scoring.scoring_world import AS_OF, World, sqlite_only
from tests.scoring.test_plan_kept import Twin

PLATFORMS = ("weibo", "wechat", "toutiao", "douyin")


def _registry(world: World, rng: random.Random) -> tuple[list[int], list[int]]:
    """Units three levels deep and their accounts, of every kind the plan treats apart."""
    city = world.org("市", level="city", headcount=400)
    units = [city]
    for d in range(3):
        district = world.org(f"区{d}", city, level="district", headcount=rng.choice((20, 60)))
        units.append(district)
        for b in range(3):
            bureau = world.org(f"局{d}{b}", district, headcount=rng.choice((8, 30, None)))
            units.append(bureau)
            units += [world.org(f"科{d}{b}{k}", bureau, headcount=rng.choice((3, None))) for k in range(2)]
    accounts = []
    for unit in units:
        for _ in range(rng.choice((0, 1, 2, 3, 4))):
            platform = rng.choice(PLATFORMS)
            kind = rng.choice(("active", "active", "dormant", "zombie", "zombie", "never", "gone"))
            followers = rng.choice((20, 400, 6000, None))
            if kind == "active":
                account = world.account(unit, platform, followers=followers)
                world.posts(account, range(rng.choice((0, 1, 2)), 90, rng.choice((2, 3, 5))))
            elif kind == "gone":
                account = world.account(unit, platform, followers=followers, patrolled=False)
                for days in (3, 2):
                    world.outcome(account, "gone", at=AS_OF - timedelta(days=days))
            else:
                account = world.account(unit, platform, followers=followers)
                if kind != "never":
                    world.posts(account, [rng.uniform(15, 40)] if kind == "dormant" else [rng.uniform(95, 200)])
            accounts.append(account)
    # A zombie whose parent unit has an active account on its platform: its merge names that account.
    bureau, office = units[2], units[3]
    target = world.account(bureau, "weibo", name="局号", followers=9000)
    world.posts(target, range(0, 90, 2))
    zombie = world.account(office, "weibo", name="科号", followers=10)
    world.posts(zombie, [150])
    return units, [target, *accounts, zombie]


@sqlite_only
@pytest.mark.parametrize("seed", [20261205, 7, 1031])
def test_working_out_only_the_units_that_moved_stores_what_the_whole_plan_stores(
    world: World, engine: Engine, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    units, accounts = _registry(world, rng)
    twin = Twin(engine, tmp_path)
    quotas = Policy(quotas=Quotas(by_headcount=(HeadcountBand(max_headcount=10, cap=2),)))
    acc, org = Account.__table__, Organization.__table__

    def edit(table: object, row: int, **values: object) -> None:
        with engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == row).values(**values))  # type: ignore[attr-defined]

    at = AS_OF
    for step in range(24):
        what = step % 8
        if what == 0:
            at += timedelta(hours=rng.choice((1, 5)))
        elif what == 1:
            at += timedelta(days=rng.choice((1, 3)))
        elif what == 2:
            edit(acc, accounts[0], name=f"局号{step}")  # the parent's account alone: the zombie's unit moves
            twin.score(at)
            edit(acc, rng.choice(accounts), name=f"新名{step}")
            edit(acc, rng.choice(accounts), is_main=True)
        elif what == 3:
            world.posts(rng.choice(accounts), [-(at - AS_OF).total_seconds() / 86400 + 0.1])  # a post before `at`
            world.outcome(rng.choice(accounts), "timeout", at=at - timedelta(minutes=30))
        elif what == 4:
            unit = rng.choice(units[4:])
            edit(org, unit, parent_id=rng.choice([u for u in units[:4] if u != unit]))
        elif what == 5:
            edit(acc, rng.choice(accounts), status=rng.choice(("closed", "merged")))
            edit(org, rng.choice(units), headcount=rng.choice((2, 50)))
        elif what == 6:
            accounts.append(world.account(rng.choice(units), rng.choice(PLATFORMS), followers=100))
        twin.score(at, quotas if what == 7 or step > 16 else None)
        if what == 7:
            twin.score(at, quotas)  # the policy changed back and forth: worked out whole, then kept

    worked = [(mine, whole) for mine, whole in twin.worked if whole]
    assert any(0 < mine < whole for mine, whole in worked), worked  # some runs worked out a part only
    assert any(mine == 0 for mine, _ in worked), worked  # and some none
