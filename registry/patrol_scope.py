"""The patrol scope, from the CLI or the scheduler to the crawl and back from the database.

PatrolScope is what was asked for (platforms, units, accounts, a limit, due accounts only); ResolvedScope is
what a patrol stores and visits: units expanded to their subtrees, the due time and the --limit cut fixed
once, so that a resumed patrol completes the very same set of accounts. Both are frozen; ResolvedScope
reads and writes the JSON of Patrol.scope itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def _tuple(values: Iterable[Any] | None) -> tuple[Any, ...]:
    return tuple(values or ())


@dataclass(frozen=True)
class PatrolScope:
    """Which accounts a patrol visits. Empty means no restriction. Accounts named in account_ids are
    visited whatever their lifecycle status; otherwise active and closing accounts only."""

    platforms: tuple[str, ...] = ()
    org_ids: tuple[int, ...] = ()  # each unit with all units below it
    account_ids: tuple[int, ...] = ()
    limit: int | None = None  # the first N accounts of the scope (by id)
    due_only: bool = False  # only accounts whose next_due_at has come (or was never set)

    def __post_init__(self) -> None:  # lists are welcome; stored as tuples
        for name in ("platforms", "org_ids", "account_ids"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))

    def key(self) -> dict[str, Any]:
        """What identifies the scope: an interrupted patrol with the same key is resumed."""
        return {
            "platforms": sorted(set(self.platforms)),
            "org_ids": sorted(set(self.org_ids)),
            "account_ids": sorted(set(self.account_ids)),
            "limit": self.limit,
            "due_only": self.due_only,
        }


@dataclass(frozen=True)
class ResolvedScope:
    """The accounts of one patrol, as stored on it (Patrol.scope). None: no restriction of that kind."""

    key: PatrolScope = PatrolScope()
    platforms: tuple[str, ...] = ()
    account_ids: tuple[int, ...] = ()
    org_tree_ids: tuple[int, ...] | None = None  # the units asked for and every unit below them
    due_before: datetime | None = None  # accounts due by then (next_due_at unset or not after it)
    max_account_id: int | None = None  # --limit: accounts up to this id
    min_account_id: int | None = None  # a shard of a distributed patrol: accounts from this id

    def __post_init__(self) -> None:
        object.__setattr__(self, "platforms", _tuple(self.platforms))
        object.__setattr__(self, "account_ids", _tuple(self.account_ids))
        if self.org_tree_ids is not None:
            object.__setattr__(self, "org_tree_ids", _tuple(self.org_tree_ids))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key.key(),
            "platforms": list(self.platforms),
            "account_ids": list(self.account_ids),
        }
        if self.org_tree_ids is not None:
            data["org_tree_ids"] = list(self.org_tree_ids)
        if self.due_before is not None:
            data["due_before"] = self.due_before.isoformat()
        if self.max_account_id is not None:
            data["max_account_id"] = self.max_account_id
        if self.min_account_id is not None:
            data["min_account_id"] = self.min_account_id
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ResolvedScope:
        data = data or {}
        key = data.get("key") or {}
        due = data.get("due_before")
        return cls(
            key=PatrolScope(
                **{k: key[k] for k in ("platforms", "org_ids", "account_ids", "limit", "due_only") if k in key}
            ),
            platforms=data.get("platforms") or (),
            account_ids=data.get("account_ids") or (),
            org_tree_ids=data.get("org_tree_ids"),
            due_before=datetime.fromisoformat(due) if due else None,
            max_account_id=data.get("max_account_id"),
            min_account_id=data.get("min_account_id"),
        )
