"""`govpulse org`: the unit tree, as an office builds and changes it, and the mistakes it is protected from."""

from __future__ import annotations

import json

import pytest
from tests.registry.roster_helpers import WEIBO_UID, assert_refused, units


@pytest.fixture
def tree(gp):
    gp.ok("org", "add", "长沙市", "--level", "city")
    gp.ok("org", "add", "岳麓区", "--parent", "长沙市", "--level", "district", "--region-code", "430104")
    gp.ok(
        "org",
        "add",
        "望月湖街道",
        "--parent",
        "岳麓区",
        "--level",
        "street",
        "--region-code",
        "430104002",
        "--headcount",
        "45",
    )
    gp.ok("org", "add", "长沙市/岳麓区/望月湖街道/望月湖社区", "--level", "社区")
    return gp


def test_org_list_is_a_tree(tree) -> None:
    out = tree.ok("org", "list").output
    assert out.splitlines() == [
        "#\tunit\tlevel\tregion\theadcount\taccounts",
        "1\t长沙市\tcity\t—\t—\t0",
        "2\t  岳麓区\tdistrict\t430104\t—\t0",
        "3\t    望月湖街道\tstreet\t430104002\t45\t0",
        "4\t      望月湖社区\tcommunity\t—\t—\t0",
    ]
    assert [(u["path"], u["depth"]) for u in units(tree)] == [
        ("长沙市", 0),
        ("长沙市/岳麓区", 1),
        ("长沙市/岳麓区/望月湖街道", 2),
        ("长沙市/岳麓区/望月湖街道/望月湖社区", 3),
    ]


def test_org_show_by_name_path_or_number(tree) -> None:
    tree.ok("account", "add", "--platform", "weibo", "--id", WEIBO_UID, "--name", "望月湖发布", "--org", "望月湖社区")
    for ref in ("望月湖街道", "岳麓区/望月湖街道", "长沙市/岳麓区/望月湖街道", "3", "#3"):
        detail = json.loads(tree.ok("org", "show", ref, "--json").output)
        assert (detail["id"], detail["path"], detail["headcount"]) == (3, "长沙市/岳麓区/望月湖街道", 45)
        assert detail["children"] == [{"id": 4, "name": "望月湖社区"}]
        assert detail["accounts_in_subtree"] == 1 and detail["accounts"] == []
    out = tree.ok("org", "show", "望月湖街道").output
    assert out.splitlines()[:3] == [
        "望月湖街道",
        "  #                    3",
        "  path                 长沙市/岳麓区/望月湖街道",
    ]


def test_org_edit_renames_moves_and_clears(tree) -> None:
    out = tree.ok("org", "edit", "望月湖社区", "--name", "银杉路社区", "--parent", "岳麓区", "--headcount", "8").output
    assert out.splitlines() == [
        "  name: 望月湖社区 -> 银杉路社区",
        "  parent: 长沙市/岳麓区/望月湖街道 -> 长沙市/岳麓区",
        "  headcount: — -> 8",
    ]
    tree.ok("org", "edit", "岳麓区", "--region-code", "")
    tree.ok("org", "edit", "岳麓区", "--root")
    assert [(u["path"], u["region_code"]) for u in units(tree)] == [
        ("长沙市", None),
        ("岳麓区", None),
        ("岳麓区/望月湖街道", "430104002"),
        ("岳麓区/银杉路社区", None),
    ]
    assert tree.ok("org", "edit", "岳麓区", "--level", "district").output == "nothing changed\n"


def test_org_remove(tree) -> None:
    assert tree.ok("org", "remove", "望月湖社区").output == "removed unit 长沙市/岳麓区/望月湖街道/望月湖社区\n"
    assert [u["name"] for u in units(tree)] == ["长沙市", "岳麓区", "望月湖街道"]


ORG_MISTAKES = [
    (
        ("org", "add", "银杉路社区", "--parent", "望月湖街"),
        "Error: unknown unit '望月湖街'",
        "Hint: did you mean: 长沙市/岳麓区/望月湖街道",
    ),
    (
        ("org", "add", "望月湖街道", "--parent", "岳麓区"),
        "Error: unit '望月湖街道' already exists under 长沙市/岳麓区",
        "Hint: change it with org edit",
    ),
    (("org", "add", "长沙市"), "Error: unit '长沙市' already exists under the top level", None),
    (("org", "add", ""), "Error: unit name is empty", None),
    (("org", "add", "  "), "Error: unit name is empty", None),
    (("org", "add", "岳" * 101), "Error: unit name is longer than 100 characters (101)", None),
    (
        ("org", "add", "x", "--parent", "长沙市", "--level", "galaxy"),
        "Error: --level: unknown unit level 'galaxy'",
        "Hint: use one of province (省级), city (市级)",
    ),
    (
        ("org", "add", "x", "--region-code", "43A"),
        "Error: --region-code: '43A' is not a region code (2-12 digits)",
        None,
    ),
    (("org", "add", "x", "--headcount", "-3"), "Error: --headcount: '-3' is not a headcount (a whole number)", None),
    (
        ("org", "edit", "岳麓区", "--parent", "望月湖社区"),
        "Error: cannot move 长沙市/岳麓区 under 长沙市/岳麓区/望月湖街道/望月湖社区: that would make a cycle",
        "Hint: the parent cannot be the unit itself or one of its sub-units",
    ),
    (
        ("org", "edit", "岳麓区", "--parent", "岳麓区"),
        "Error: cannot move 长沙市/岳麓区 under 长沙市/岳麓区: that would make a cycle",
        None,
    ),
    (("org", "edit", "岳麓区", "--name", ""), "Error: unit name is empty", None),
    (
        ("org", "remove", "岳麓区"),
        "Error: 长沙市/岳麓区 still has 0 account(s) and 1 sub-unit(s); not removed",
        "Hint: move its accounts and sub-units elsewhere first",
    ),
    (("org", "show", "雨花区"), "Error: unknown unit '雨花区'", "Hint: see govpulse org list"),
]


def test_org_mistakes_are_refused_and_change_nothing(tree) -> None:
    assert_refused(tree, ORG_MISTAKES, units)


def test_remove_is_refused_while_accounts_hang_on_the_unit(tree) -> None:
    tree.ok("account", "add", "--platform", "weibo", "--id", WEIBO_UID, "--name", "望月湖发布", "--org", "望月湖社区")
    result = tree("org", "remove", "望月湖社区")
    assert result.exit_code == 2
    assert result.output.startswith(
        "Error: 长沙市/岳麓区/望月湖街道/望月湖社区 still has 1 account(s) and 0 sub-unit(s)"
    )
    assert len(units(tree)) == 4


def test_a_name_used_twice_asks_for_the_path(tree) -> None:
    tree.ok("org", "add", "党政办", "--parent", "岳麓区")
    tree.ok("org", "add", "党政办", "--parent", "望月湖街道")
    result = tree("org", "show", "党政办")
    assert result.exit_code == 2
    assert result.output == (
        "Error: 2 units are named '党政办': 长沙市/岳麓区/党政办, 长沙市/岳麓区/望月湖街道/党政办\n"
        "Hint: name the parent unit or give the path, e.g. 岳麓区/望月湖街道\n"
    )
    assert json.loads(tree.ok("org", "show", "岳麓区/党政办", "--json").output)["path"] == "长沙市/岳麓区/党政办"
    assert json.loads(tree.ok("org", "show", "望月湖街道/党政办", "--json").output)["id"] == 6
