"""Rule files: the shipped lists are valid and name their sources; `govpulse rules check` refuses a
malformed file with its file, line and key, and a patrol refuses to start with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry.compliance.rules import load_rules, shipped_files

LEADERS = """\
[list]
kind = "leader"
name = "区领导"
source = "领导之窗"

[[rule]]
name = "李明"
title = "区长"
former = ["副区长"]
"""


def test_the_shipped_lists_are_valid_and_each_rule_has_a_source() -> None:
    files = shipped_files()
    assert {f.name for f in files} == {"typos.toml", "expressions.toml", "banned.toml"}
    ruleset = load_rules(files)
    assert len(ruleset) > 50
    assert all(rule.source.strip() for rule in ruleset.rules)
    assert any(r.key == "党史教育→党史学习教育" for r in ruleset.rules)


def test_rules_check_lists_the_configured_files(gp_sqlite, tmp_path: Path) -> None:
    (tmp_path / "leaders.toml").write_text(LEADERS, encoding="utf-8")
    (tmp_path / "govpulse.toml").write_text('[compliance]\nrule_files = ["leaders.toml"]\n', encoding="utf-8")
    out = json.loads(gp_sqlite.ok("rules", "check", "--json").output)
    assert [Path(p).name for p in out["files"]] == ["banned.toml", "expressions.toml", "typos.toml", "leaders.toml"]
    assert out["files"][str(tmp_path / "leaders.toml")] == 1


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (LEADERS.replace('title = "区长"\n', ""), "line 6, key rule #1.title: missing"),
        (LEADERS.replace('kind = "leader"', 'kind = "leaders"'), "line 2, key list.kind"),
        (LEADERS + '\n[[rule]]\nname = "王芳"\ntitle = "副区长"\nformer = "区长"\n', "line 14, key rule #2.former"),
        (
            '[list]\nkind = "typo"\nname = "x"\nsource = "y"\n\n[[rule]]\nmatch = "布署"\n',
            "line 6, key rule #1.suggest",
        ),
        (
            '[list]\nkind = "typo"\nname = "x"\nsource = "y"\n\n[[rule]]\nmatch = "a"\nsugest = "b"\n',
            "line 8, key rule #1.sugest",
        ),
        ('[list]\nkind = "banned"\nname = "x"\nsource = "y"\nseverity = "fatal"\n', "line 5, key list.severity"),
        ('[list]\nkind = "banned"\nname = "x"\n', "key list.source: missing"),
        ('[list\nkind = "typo"\n', "not valid TOML"),
    ],
)
def test_a_malformed_rule_file_is_refused_with_file_line_and_key(
    gp_sqlite, tmp_path: Path, text: str, where: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    result = gp_sqlite("rules", "check", str(path))
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and str(path) in result.output and where in result.output
    assert "Traceback" not in result.output


def test_a_patrol_does_not_start_with_a_malformed_rule_file(gp_sqlite, tmp_path: Path) -> None:
    (tmp_path / "leaders.toml").write_text(LEADERS.replace('title = "区长"\n', 'title = ""\n'), encoding="utf-8")
    (tmp_path / "govpulse.toml").write_text('[compliance]\nrule_files = ["leaders.toml"]\n', encoding="utf-8")
    result = gp_sqlite("patrol")
    assert result.exit_code == 2 and "leaders.toml, line 8, key rule #1.title" in result.output
    result = gp_sqlite("findings")  # nothing was written: no patrol, no findings
    assert result.exit_code == 0
