"""One vocabulary: every code the program stores or shows is enumerated once (registry/vocabulary.py) and
has a label in both languages in the one catalog (registry/locale/)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from registry import vocabulary
from registry.i18n import LANGS
from registry.labels import catalog, label
from registry.scoring import history, rules

CODES = [(section, code) for section, codes in vocabulary.LABELLED.items() for code in codes]


@pytest.mark.parametrize("lang", LANGS)
def test_every_code_has_a_label(lang: str) -> None:
    messages = catalog(lang)
    missing = [f"{section}.{code}" for section, code in CODES if not messages.get(f"{section}.{code}", "").strip()]
    assert not missing, f"codes without a label in {lang}.toml: {missing}"


def test_both_catalogs_hold_the_same_keys() -> None:
    assert set(catalog("zh")) == set(catalog("en"))


def test_labels_differ_by_language_and_unknown_codes_pass_through() -> None:
    assert label("status", "zombie", "zh") == "僵尸" and label("status", "zombie", "en") == "Zombie"
    assert label("status", "not_a_status", "zh") == "not_a_status" and label("status", None) == "—"


def test_the_scorers_codes_are_the_enumerated_ones() -> None:
    assert tuple(rules.FLAG_ORDER) == vocabulary.FLAGS
    assert {r.code for r in (*rules.RULES, rules.ACTIVE, rules.OVER_QUOTA)} == set(vocabulary.RULE_CODES)
    assert {r.status for r in rules.RULES if r.status} | {"active"} == set(vocabulary.VERDICT_STATUSES)
    for order in (rules.STATUS_ORDER, rules.DISPLAY_ORDER, tuple(rules.SEVERITY)):
        assert sorted(order) == sorted(vocabulary.VERDICT_STATUSES)
    for group in (rules.FLAGGED, rules.PASSING, rules.NOT_CHECKED):
        assert set(group) <= set(vocabulary.VERDICT_STATUSES)
    assert set(rules.CLOSED) <= set(vocabulary.ACCOUNT_STATUSES)


def test_every_change_the_history_can_store_is_enumerated() -> None:
    now = datetime(2026, 6, 30, tzinfo=UTC)
    seen = {history.change(s, None, now)[0] for s in vocabulary.VERDICT_STATUSES}
    for status, before, since in itertools.product(
        vocabulary.VERDICT_STATUSES, vocabulary.VERDICT_STATUSES, (None, now)
    ):
        seen.add(history.change(status, (before, "[]", since), now)[0])
    assert seen == set(vocabulary.CHANGES)


def test_every_action_the_plan_writes_is_enumerated() -> None:
    import ast
    import inspect

    from registry.scoring import plan

    tree = ast.parse(inspect.getsource(plan))
    written = {
        call.args[1].value
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and getattr(call.func, "id", None) == "Item"
        and isinstance(call.args[1], ast.Constant)
    }
    assert written and written | {"merge"} == set(vocabulary.ACTIONS)  # merge is written by Planner._merge


def test_every_way_a_patrol_stops_is_enumerated() -> None:
    import ast
    import inspect

    from crawlers import launcher

    tree = ast.parse(inspect.getsource(launcher))
    assigned = {
        c.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(n, ast.Name) and n.id == "stopped_by" for t in node.targets for n in ast.walk(t))
        for c in ast.walk(node.value)
        if isinstance(c, ast.Constant) and isinstance(c.value, str)
    }
    returned = {
        c.value
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "_stop_reason"
        for r in ast.walk(node)
        if isinstance(r, ast.Return) and r.value is not None
        for c in ast.walk(r.value)
        if isinstance(c, ast.Constant) and isinstance(c.value, str)
    }
    assert assigned | returned == set(vocabulary.STOP_REASONS)
