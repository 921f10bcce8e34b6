"""The patrol scope crosses from the CLI and the scheduler to the crawl, and is stored on the patrol: frozen,
with its own JSON."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from registry.patrol_scope import PatrolScope, ResolvedScope


def test_a_resolved_scope_survives_its_json() -> None:
    asked = PatrolScope(platforms=["weibo", "weibo"], org_ids=[3], limit=5, due_only=True)
    scope = ResolvedScope(
        key=asked,
        platforms=["weibo"],
        org_tree_ids=[3, 4],
        due_before=datetime(2026, 6, 30, 4, tzinfo=UTC),
        max_account_id=17,
    )
    data = scope.to_json()
    assert data == {
        "key": {"platforms": ["weibo"], "org_ids": [3], "account_ids": [], "limit": 5, "due_only": True},
        "platforms": ["weibo"],
        "account_ids": [],
        "org_tree_ids": [3, 4],
        "due_before": "2026-06-30T04:00:00+00:00",
        "max_account_id": 17,
    }
    back = ResolvedScope.from_json(data)
    assert back.to_json() == data and back.key.key() == asked.key()
    assert ResolvedScope.from_json({}) == ResolvedScope() and ResolvedScope().to_json()["key"]["platforms"] == []


def test_scopes_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PatrolScope().limit = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ResolvedScope().max_account_id = 3  # type: ignore[misc]
