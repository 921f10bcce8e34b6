"""What the checks match in a text, and what they must never match."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.compliance.matcher import CONTEXT_CHARS, Checker, links
from registry.compliance.personal import find_personal, id_number_valid, luhn_valid, mask
from registry.compliance.rules import load_rules, shipped_files

LEADERS = """\
[list]
kind = "leader"
name = "区领导"
source = "领导之窗"
titles = ["区委书记"]

[[rule]]
name = "李明"
title = "区长"
former = ["副区长"]

[[rule]]
name = "王芳"
title = "副区长"
"""


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> Checker:
    path = tmp_path_factory.mktemp("rules") / "leaders.toml"
    path.write_text(LEADERS, encoding="utf-8")
    return Checker(load_rules([*shipped_files(), path]))


def found(checker: Checker, text: str) -> list[tuple[str, str]]:
    return sorted((h.check, h.rule) for h in checker.check(None, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请做好工作布署。", [("typo", "布署→部署")]),
        ("深入开展党史学习教育。", []),
        ("深入开展党史教育。", [("expression", "党史教育→党史学习教育")]),
        ("伊斯兰国极端组织发动袭击。", []),
        ("所谓伊斯兰国发动袭击。", [("banned", "伊斯兰国→伊斯兰国极端组织")]),
        ("区长李明主持会议。", []),
        ("李明区长主持会议。", []),
        ("原副区长李明出席。", []),
        ("副区长李明出席。", [("leader_title", "李明：副区长→区长")]),
        ("区委书记李明出席。", [("leader_title", "李明：区委书记→区长")]),
        # 副区长王芳 holds 区长王芳 inside it: her correct title masks the shorter one.
        ("副区长王芳出席。", []),
        ("区长王芳出席。", [("leader_title", "王芳：区长→副区长")]),
    ],
)
def test_word_rules(checker: Checker, text: str, expected: list[tuple[str, str]]) -> None:
    assert found(checker, text) == expected


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("电话13912345678。", ["mobile"]),
        ("电话+86 13912345678。", ["mobile"]),
        ("电话139****5678。", []),
        ("订单号2024061513912345678。", []),
        ("文号DD13912345678X。", []),
        ("身份证430102199003071234。", ["id_number"]),
        ("身份证430102199003071235。", []),  # wrong check digit
        ("身份证430***********1234。", []),
        ("卡号6222021234567890128。", ["bank_card"]),
        ("卡号6222 0212 3456 7890 128。", ["bank_card"]),
        ("卡号6222021234567890129。", []),  # fails the Luhn check
        ("座机0731-88886666。", []),
    ],
)
def test_personal_data(text: str, kinds: list[str]) -> None:
    assert [h.kind for h in find_personal(text)] == kinds


def test_checksums_and_masks() -> None:
    assert id_number_valid("11010519491231002X") and not id_number_valid("110105194912310021")
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert mask("13912345678") == "139****5678"
    assert mask("430102199003071234") == "430***********1234"


def test_personal_data_is_masked_in_every_context_and_contexts_are_short(checker: Checker) -> None:
    text = "联系电话13912345678。" + "基层治理持续推进。" * 30 + "工作布署已完成。" + "基层治理持续推进。" * 30
    hits = checker.check("通知", text)
    assert sorted(h.check for h in hits) == ["personal_data", "typo"]
    for hit in hits:
        assert len(hit.context) <= CONTEXT_CHARS and "13912345678" not in hit.context
    personal = next(h for h in hits if h.check == "personal_data")
    assert personal.match == "139****5678" and "139****5678" in personal.context


def test_the_same_text_has_the_same_fingerprint(checker: Checker) -> None:
    a = checker.check("一", "请做好工作布署。")
    b = checker.check("一", "请做好工作布署。")
    c = checker.check("二", "请做好工作布署，确保安全。")
    assert a[0].fingerprint == b[0].fingerprint != c[0].fingerprint


def test_links_are_read_with_their_context() -> None:
    text = "详见 https://www.example.gov.cn/a.html ，或 http://x.test/b?c=1。电话13912345678"
    assert list(links(text)) == ["https://www.example.gov.cn/a.html", "http://x.test/b?c=1"]
    assert all("13912345678" not in c for c in links(text).values())


def test_ten_thousand_rules_compile_and_match(tmp_path: Path) -> None:
    lines = ['[list]\nkind = "custom"\nname = "大表"\nsource = "测试"\n']
    lines += [f'[[rule]]\nmatch = "词条{n:05d}号"\n' for n in range(10_000)]
    path = tmp_path / "big.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    checker = Checker(load_rules([path]))
    assert [h.rule for h in checker.check(None, "前文词条09999号后文词条00001号")] == ["词条09999号", "词条00001号"]
