"""Known compliance errors planted in known posts (the `compliance` scenario), with the findings a patrol
must raise for each, no more: the ground truth of the compliance checks.

A plant replaces the text of one of an account's newest posts (by position among its ordinary posts,
newest first). Some carry an edited text that the simulator switches to on POST /__edit, as an account
that corrects a post does. The leader rule lives in LEADER_RULES, the office's own rule file the tests
configure beside the shipped lists. `{dead}` in a text is the simulator's address of a page that is gone.
"""

from __future__ import annotations

from dataclasses import dataclass

# The office's leader list for this scenario (a rule file as an office writes it).
LEADER_RULES = """\
[list]
kind = "leader"
name = "区领导"
source = "区政府门户网站 领导之窗（模拟）"

[[rule]]
name = "李明"
title = "区长"
former = ["副区长"]
"""

DEAD_PATH = "/__gone/notice-2024.html"


@dataclass(frozen=True)
class Plant:
    platform: str  # the account: the first active account of the scenario on this platform
    position: int  # among its ordinary posts, newest first
    text: str
    expect: tuple[tuple[str, str], ...]  # (check, rule) of each finding, in any order
    edited: str | None = None  # the text after POST /__edit
    expect_after_edit: tuple[tuple[str, str], ...] = ()


PLANTS: tuple[Plant, ...] = (
    Plant("weibo", 0, "请各单位做好防汛工作布署，确保安全度汛。", (("typo", "布署→部署"),)),
    Plant(
        "weibo", 1, "如有疑问请联系社区工作人员，电话13912345678，工作日均可咨询。", (("personal_data", "手机号码"),)
    ),
    # Neither a masked ID nor a phone-like run inside an order number is personal data.
    Plant("weibo", 2, "订单号2024061513912345678已发货；身份证号430***********1234已核验。", ()),
    Plant(
        "weibo",
        3,
        "北韩代表团今日来访，双方就经贸合作交换意见。",
        (("banned", "北韩→朝鲜"),),
        edited="朝鲜代表团今日来访，双方就经贸合作交换意见。",
    ),
    Plant("toutiao", 0, "副区长李明出席防汛工作会议并讲话。", (("leader_title", "李明：副区长→区长"),)),
    Plant("toutiao", 1, "区长李明调研党史学习教育开展情况。", ()),  # the current title: correct
    Plant(
        "toutiao",
        2,
        "我区深入开展党史教育，截止目前已组织专题学习120场。",
        (("expression", "党史教育→党史学习教育"), ("typo", "截止目前→截至目前")),
    ),
    Plant("wechat", 0, "经核实，申请人身份证号430102199003071234，已列入补贴名单。", (("personal_data", "身份证号"),)),
    Plant("wechat", 1, "活动详情见通知原文：{dead} ，欢迎报名。", (("dead_link", "{dead}"),)),
    # Beyond the excerpt a post keeps (2,000 characters): only a check on the full text finds it.
    Plant(
        "wechat",
        2,
        "本区持续推进基层治理现代化建设。" * 140 + "老街区座落在湘江东岸，历史悠久。",
        (("typo", "座落→坐落"),),
    ),
)
