"""Which units' consolidation plan a run works out again.

A unit's plan items (plan.Planner) are worked out from its own accounts (registry row, status, liveness
index, days silent, followers), its entry in the unit tree (parent, level, headcount), and its parent
unit's accounts (the account its zombies and shells would merge into); besides these only from the policy
and the code, the same for every unit. Nothing of its children or its siblings reaches its items.

A run of the whole registry that works the plan out stores a digest of these per unit with accounts
(table plan_unit) and marks its summary with the digest of the policy and the code (`basis`). The next run
of the whole registry whose latest run carries the same mark works out again only the units whose digest
moved, and keeps the items in force of the others: working them out would give the same items. A run of
one unit, a removed run (runs.remove_run) or another policy or code leaves no mark, and the run after
works the whole plan out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from hashlib import blake2b
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from registry.bulk import replace_many
from registry.models import PlanUnit
from registry.policy import Policy
from registry.scoring.plan import wording
from registry.scoring.sql import in_ids, raw_rows
from registry.scoring.stamp import code_digest
from registry.scoring.store import _bits, _mix, digests, value_codes

if TYPE_CHECKING:
    from registry.scoring.run import Analysis

PLANNED = "active"  # the registry status of the accounts the plan works on (in service)
MARK = "plan_units"  # the summary key of a run whose digests plan_unit holds


def basis(policy: Policy) -> str:
    """What every unit's items are worked out by: the code (the plan's wording with it) and the policy."""
    what = json.dumps([code_digest(), wording(), policy.to_dict()], sort_keys=True, default=str)
    return blake2b(what.encode(), digest_size=16).hexdigest()


def text_codes(values: list[str]) -> np.ndarray:
    """A 64-bit code of each text, vectorised over all their characters: the sum of a mixed value of each
    character with its place (so that order counts), mixed with the length."""
    lengths = np.fromiter(map(len, values), np.int64, len(values))
    chars = np.frombuffer("".join(values).encode("utf-32-le", "surrogatepass"), np.uint32).astype(np.uint64)
    sums = np.zeros(len(values), np.uint64)
    if len(chars):
        starts = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
        place = (np.arange(len(chars)) - np.repeat(starts, lengths)).astype(np.uint64)
        with np.errstate(over="ignore"):
            mixed = _mix(chars, place << np.uint64(32))
        filled = lengths > 0
        sums[filled] = np.add.reduceat(mixed, starts[filled])
    return digests([lengths.astype(np.uint64), sums]).view(np.uint64)


def unit_digests(a: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """(units with accounts, ascending; each one's digest): its accounts and tree entry, and its parent's
    accounts. An account not in service counts by its id, platform and registry status alone (the plan
    passes it by)."""
    f, j = a.frame, a.judgement
    planned = f.registry_status == PLANNED
    zero = np.uint64(0)

    def judged(values: np.ndarray) -> np.ndarray:
        return np.where(planned, values, zero)

    each = digests(
        [
            f.account_id.astype(np.uint64),
            value_codes(f.platform.tolist()),
            a.registry_codes,
            judged(text_codes([str(name) for name in f.name])),
            judged(np.array(f.is_main or [False] * len(f), np.uint64)),
            judged(a.status_codes),
            judged(_bits(a.index, 1)),
            judged(_bits(f.followers)),
            judged(_bits(j.facts.days_silent)),
        ]
    ).view(np.uint64)
    if not len(f):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.argsort(f.org_id, kind="stable")
    orgs = f.org_id[order]
    starts = np.flatnonzero(np.r_[True, orgs[1:] != orgs[:-1]])
    units = orgs[starts]
    own = np.add.reduceat(each[order], starts)  # (a sum: the accounts' order does not count)
    entries = [a.tree.get(u, (None, "", None, "")) for u in units.tolist()]
    parents = np.array([-1 if e[0] is None else e[0] for e in entries], np.int64)
    place = digests(
        [
            parents.astype(np.uint64),
            value_codes([e[1] for e in entries]),
            _bits(np.array([np.nan if e[2] is None else e[2] for e in entries], float)),
        ]
    ).view(np.uint64)
    at = np.clip(np.searchsorted(units, parents), 0, len(units) - 1)
    parent_own = np.where(units[at] == parents, own[at], zero)
    return units, digests([own, place, parent_own])


@dataclass
class UnitChanges:
    """The units a run works its plan out for, against the digests stored."""

    units: np.ndarray  # every unit with accounts, ascending
    digest: np.ndarray  # each one's digest
    differs: np.ndarray  # the units whose digest is not the one stored (or none is)
    gone: list[int]  # units stored that have no account any more
    whole: bool  # every unit worked out (no basis to keep any on)

    @property
    def moved(self) -> np.ndarray | None:
        """The units worked out again; None: all of them."""
        return None if self.whole else self.differs

    def worked(self) -> int:
        return len(self.units) if self.whole else len(self.differs)


def stored_digests(conn: Connection) -> tuple[np.ndarray, np.ndarray]:
    """The units whose digest is stored, ascending, and each one's digest."""
    t = PlanUnit.__table__
    stored = raw_rows(conn, select(t.c.org_id, t.c.digest).order_by(t.c.org_id))
    return np.array([r[0] for r in stored], np.int64), np.array([r[1] for r in stored], np.int64)


def unit_changes(a: Analysis, basis_now: str, summary: object, stored: tuple[np.ndarray, np.ndarray]) -> UnitChanges:
    """Each unit's digest against the one `stored` (stored_digests); the units whose digest moved are
    worked out again when the latest run (`summary`: its summary) stored its digests under the same basis,
    else every unit."""
    units, digest = unit_digests(a)
    known, before = stored
    if len(known):
        at = np.clip(np.searchsorted(known, units), 0, len(known) - 1)
        differs = units[(known[at] != units) | (before[at] != digest)]
    else:
        differs = units
    whole = not isinstance(summary, dict) or summary.get(MARK) != basis_now
    return UnitChanges(units, digest, differs, np.setdiff1d(known, units).tolist(), whole)


def store_units(conn: Connection, changes: UnitChanges) -> None:
    """Write the digests that differ from those stored, and drop those of units without accounts."""
    t = PlanUnit.__table__
    if changes.gone:
        conn.execute(delete(t).where(in_ids(t.c.org_id, changes.gone, conn.dialect.name)))
    write = np.isin(changes.units, changes.differs)
    rows = list(zip(changes.units[write].tolist(), changes.digest[write].tolist(), strict=True))
    replace_many(conn, t, ("org_id", "digest"), rows, "org_id", converted=True)
