"""The consolidation plan (整合/关停), from one run's verdicts. Each recommendation states its reason
and its numbers. Only accounts in service (registry status active) are planned; accounts whose data is
unknown are never merged, closed or cut on that data.

1. One account per unit per platform (国办发〔2018〕123号): where a unit runs several accounts on one
   platform, keep the one the registry names as main (主账号), else the strongest (active first, then the
   highest liveness index, then the most followers), and merge the others into it. When the strongest
   leads the next by fewer than near_tie_points index points, the unit is asked to confirm its main
   account (numbers.near_tie) instead of the choice being presented as settled.
2. A zombie or shell left as its unit's account on a platform, whose parent unit has an active account
   on that platform: merge into that account (and so do the accounts that were to be merged into it).
3. A zombie with nothing to merge into: close it after a stop-update notice (停更公告), or revive it
   when it keeps a following of at least revive_min_followers (or its following is unknown).
4. A gone account (unreachable): record the closure in the registry and file it.
5. Quotas: where a unit still runs more accounts than its cap (by headcount band, else by level), the
   weakest judged accounts beyond the cap are over_quota.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from hashlib import blake2b
from pathlib import Path
from typing import Any

import numpy as np

from registry.labels import catalog, label
from registry.policy import Policy
from registry.scoring.duplicates import Tree
from registry.scoring.metrics import Frame, nullable
from registry.scoring.rules import Judgement


@dataclass
class Item:
    row: int
    action: str
    target: int | None  # row of the account to merge into
    reason_zh: str
    reason_en: str
    numbers: dict[str, Any] = field(default_factory=dict)


def _shown(value: Any) -> str:
    return "—" if value is None else str(value)


class Planner:
    def __init__(
        self, frame: Frame, j: Judgement, index: np.ndarray, tree: Tree, policy: Policy, units: np.ndarray | None = None
    ) -> None:
        self.tree, self.policy, self.units = tree, policy, units
        self.names, self.registry_status = frame.name, frame.registry_status.tolist()
        self.org, self.platform, self.status = frame.org_id.tolist(), frame.platform.tolist(), j.status.tolist()
        self.account_id = frame.account_id.tolist()
        self.is_main = frame.is_main or [False] * len(self.account_id)
        self.org_array = frame.org_id
        names, codes = np.unique(frame.platform.astype(str), return_inverse=True)
        self.platform_names, self.platform_codes = names.tolist(), codes.ravel().astype(np.int64)
        # Python values once (None for unknown), not numpy scalars per access.
        self.index = nullable(index, 1)
        self.followers = nullable(frame.followers)
        self.days = nullable(j.facts.days_silent)
        self.items: dict[int, Item] = {}

    def strength(self, i: int) -> tuple[Any, ...]:
        index, followers = self.index[i], self.followers[i]
        return (
            self.status[i] == "active",
            -1.0 if index is None else index,
            -1.0 if followers is None else followers,
            -self.account_id[i],
        )

    def facts(self, i: int) -> dict[str, Any]:
        return {
            "status": self.status[i],
            "liveness_index": self.index[i],
            "days_silent": self.days[i],
            "followers": self.followers[i],
        }

    def build(self) -> list[Item]:
        status = self.status
        in_service = [i for i, s in enumerate(self.registry_status) if s == "active"]
        if self.units is not None:  # these units' accounts, and their parents' (what merges up would reach)
            parents = [self.tree[u][0] for u in self.units.tolist() if u in self.tree]
            reached = np.union1d(self.units, np.array([p for p in parents if p is not None], np.int64))
            service = np.array(in_service, np.int64)
            in_service = service[np.isin(self.org_array[service], reached)].tolist()
        judged = []
        for i in in_service:
            if status[i] == "unreachable":
                self.items[i] = Item(
                    i,
                    "close",
                    None,
                    "平台显示账号已不存在：在台账中登记关停并报备",
                    "gone on the platform: record the closure in the registry and file it",
                    self.facts(i),
                )
            elif status[i] != "unknown":
                judged.append(i)
        # Accounts grouped by (unit, platform) with one sort; most units run one account per platform.
        rows = np.array(judged, np.int64)
        keys = self.org_array[rows] * len(self.platform_names) + self.platform_codes[rows]
        order = np.argsort(keys, kind="stable")
        rows, keys = rows[order], keys[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)
        ends = np.r_[starts[1:], len(keys)].astype(np.int64)
        keeper_rows = rows[starts].tolist()
        for g in np.flatnonzero(ends - starts > 1).tolist():
            key = (self.org[keeper_rows[g]], self.platform[keeper_rows[g]])
            keeper_rows[g] = self._one_per_platform(key, rows[starts[g] : ends[g]].tolist())
        survivors = dict(zip(keys[starts].tolist(), keeper_rows, strict=True))
        for g, keeper in enumerate(keeper_rows):
            if status[keeper] in ("zombie", "shell"):
                self._merge_up(keeper, rows[starts[g] : ends[g]].tolist(), survivors)
        self._quotas(in_service)
        if self.units is None:
            return list(self.items.values())
        planned = self.org_array[list(self.items)] if self.items else np.zeros(0, np.int64)
        return [it for it, keep in zip(self.items.values(), np.isin(planned, self.units), strict=True) if keep]

    def _key(self, org: int, platform: str) -> int:
        return org * len(self.platform_names) + self.platform_names.index(platform)

    def _one_per_platform(self, key: tuple[int, str], members: list[int]) -> int:
        platform = key[1]
        n = len(members)
        ranked = sorted(members, key=self.strength, reverse=True)
        named = [i for i in ranked if self.is_main[i]]
        where, where_en = label("platform", platform, "zh"), label("platform", platform, "en")
        if named:
            keeper, gap = named[0], None
            why = (
                f"本单位在{where}有{n}个账号：保留台账登记的主账号",
                f"the unit runs {n} accounts on {where_en}: keep this one, its registered main account",
            )
        else:
            keeper = ranked[0]
            why = (
                f"本单位在{where}有{n}个账号：保留综合最强的本账号",
                f"the unit runs {n} accounts on {where_en}: keep this one, the strongest",
            )
        # Near ties: active accounts whose index is within near_tie_points of the one kept; only these
        # (and the kept one) ask the unit to confirm its main account.
        gaps = {i: self._gap(keeper, i) for i in ranked if i != keeper and not named}
        close = {i: g for i, g in gaps.items() if g is not None and g < self.policy.near_tie_points}
        if close:
            runner = min(close, key=lambda i: close[i])
            gap = close[runner]
            why = (
                f"{why[0]}（与“{self.names[runner]}”活跃度仅差{gap:g}，请单位确认主账号）",
                f"{why[1]} (only {gap:g} index points ahead of “{self.names[runner]}”: the unit is to "
                f"confirm its main account)",
            )
        tie = {"near_tie": min(close.values())} if close else {}
        self.items[keeper] = Item(keeper, "keep", None, *why, {"accounts": n, **tie, **self.facts(keeper)})
        for i in members:
            if i != keeper:
                own = {"near_tie": close[i]} if i in close else {}
                self._merge(
                    i,
                    keeper,
                    "一个单位在同一平台原则上只开设一个账号（国办发〔2018〕123号）",
                    "one account per unit per platform (国办发〔2018〕123号)",
                    accounts=n,
                    **own,
                )
        return keeper

    def _gap(self, keeper: int, other: int) -> float | None:
        """Index points the keeper leads by, when both are active and measured (else the choice is clear:
        between two silent accounts there is no main account to confirm)."""
        a, b = self.index[keeper], self.index[other]
        if a is None or b is None or self.status[keeper] != "active" or self.status[other] != "active":
            return None
        return round(a - b, 1)

    def _merge(self, i: int, target: int, why_zh: str, why_en: str, **numbers: Any) -> None:
        name, theirs, mine = self.names[target], _shown(self.index[target]), _shown(self.index[i])
        confirm_zh = "；活跃度相近，请单位确认主账号" if numbers.get("near_tie") is not None else ""
        confirm_en = (
            "; the indexes are close: the unit is to confirm its main account"
            if numbers.get("near_tie") is not None
            else ""
        )
        self.items[i] = Item(
            i,
            "merge",
            target,
            f"{why_zh}：整合到“{name}”（活跃度 {theirs}，本账号 {mine}{confirm_zh}）",
            f"{why_en}: merge into “{name}” (liveness index {theirs} against {mine}{confirm_en})",
            {**numbers, **self.facts(i), "target_liveness_index": self.index[target]},
        )

    def _merge_up(self, keeper: int, members: list[int], survivors: dict[int, int]) -> None:
        org, platform = self.org[keeper], self.platform[keeper]
        parent = self.tree[org][0] if org in self.tree else None
        target = survivors.get(self._key(parent, platform)) if parent is not None else None
        status = self.status[keeper]
        if target is not None and self.status[target] == "active":
            for i in members:  # the unit's accounts all go to the parent's account, each for its own reason
                own = self.status[i]
                self._merge(
                    i,
                    target,
                    f"{label('status', own, 'zh')}账号，上级单位在同一平台有正常账号",
                    f"{label('status', own, 'en')} account whose parent unit has an active account on the platform",
                )
            return
        if status != "zombie":
            return
        followers = self.followers[keeper]
        floor = self.policy.for_platform(platform).revive_min_followers
        numbers = {**self.facts(keeper), "revive_min_followers": floor}
        days = _shown(self.days[keeper])
        if followers is not None and followers < floor:
            self.items[keeper] = Item(
                keeper,
                "close",
                None,
                f"僵尸账号（{days}天未更新，粉丝{followers}，低于{floor}），无可整合到的账号：发布停更公告后关停",
                f"zombie ({days} days silent, {followers} followers, below {floor}) with no account to merge "
                f"into: close it after a stop-update notice (停更公告)",
                numbers,
            )
        else:
            kept_zh = f"粉丝{followers}，不低于{floor}" if followers is not None else "粉丝数未知"
            kept_en = f"{followers} followers, at least {floor}" if followers is not None else "following unknown"
            self.items[keeper] = Item(
                keeper,
                "revive",
                None,
                f"僵尸账号（{days}天未更新，{kept_zh}），无可整合到的账号：恢复正常更新",
                f"zombie ({days} days silent, {kept_en}) with no account to merge into: revive it with regular updates",
                numbers,
            )

    def _quotas(self, in_service: list[int]) -> None:
        quotas = self.policy.quotas
        if not quotas.by_level and not quotas.by_headcount:
            return
        by_org: dict[int, list[int]] = defaultdict(list)
        for i in in_service:
            item = self.items.get(i)
            if item is None or item.action not in ("merge", "close"):
                by_org[self.org[i]].append(i)
        for org, rows in by_org.items():
            _parent, level, headcount, _name = self.tree.get(org, (None, None, None, ""))
            cap = quotas.cap_for(level, headcount)
            if cap is None or len(rows) <= cap[0]:
                continue
            limit, basis = cap
            judged = sorted((i for i in rows if self.status[i] != "unknown"), key=self.strength)
            for i in judged[: len(rows) - limit]:
                self.items[i] = Item(
                    i,
                    "over_quota",
                    None,
                    f"本单位在役账号{len(rows)}个，超过上限{limit}（{basis}）：本账号较弱，建议整合或关停",
                    f"the unit runs {len(rows)} accounts, over its cap of {limit} ({basis}): this is among the "
                    f"weakest; merge or close it",
                    {"accounts": len(rows), "cap": limit, "basis": basis, **self.facts(i)},
                )


def build_plan(
    frame: Frame, j: Judgement, index: np.ndarray, tree: Tree, policy: Policy, units: np.ndarray | None = None
) -> list[Item]:
    """The plan of every account in service, or (`units`) the items of these units' accounts alone: the
    same items as the whole plan holds for them (a unit's items read only its own accounts and its
    parent's: plan_units)."""
    return Planner(frame, j, index, tree, policy, units).build()


@cache
def wording() -> str:
    """A digest of what the plan is worded and worked out by (this module, the label catalogs): a run
    may take the plan in force as its own only if these are as they were (run.py)."""
    h = blake2b(Path(__file__).read_bytes(), digest_size=16)
    for lang in ("zh", "en"):
        h.update(repr(sorted(catalog(lang).items())).encode())
    return h.hexdigest()
