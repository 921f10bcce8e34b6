"""The values of work group and app fields, as typed on the command line or found in a ledger cell:
their spellings, parsers and labels. Each parser raises ValidationError saying what is wrong."""

from __future__ import annotations

import re
from typing import Any

from registry.errors import ValidationError
from registry.fields import _key, cell_text, clean_text, parse_bool, parse_date
from registry.i18n import L

GROUP_PLATFORMS = {
    "wechat": (("微信", "WeChat"), ("wechat", "微信", "微信群", "weixin", "wx")),
    "wecom": (("企业微信", "WeCom"), ("wecom", "企业微信", "企业微信群", "企微", "wework", "政务微信")),
    "dingtalk": (("钉钉", "DingTalk"), ("dingtalk", "钉钉", "钉钉群", "ding", "浙政钉", "湘政钉")),
    "qq": (("QQ", "QQ"), ("qq", "qq群")),
}
GROUP_STATUSES = {
    "active": (("正常", "active"), ("active", "正常", "在用", "使用中", "运行", "保留")),
    "dissolved": (("已解散", "dissolved"), ("dissolved", "已解散", "解散", "已撤销", "撤销", "已注销")),
    "merged": (("已合并", "merged"), ("merged", "已合并", "合并", "已整合", "整合")),
}
APP_KINDS = {
    "app": (("应用", "app"), ("app", "应用", "移动应用", "客户端", "政务app", "手机app")),
    "mini_program": (
        ("小程序", "mini program"),
        ("mini_program", "mini program", "小程序", "微信小程序", "支付宝小程序", "政务小程序"),
    ),
    "quick_app": (("快应用", "quick app"), ("quick_app", "quick app", "快应用")),
}
APP_STATUSES = {
    "active": (("正常", "active"), ("active", "正常", "在用", "运行", "上线")),
    "closed": (("已关停", "closed"), ("closed", "已关停", "关停", "已下线", "下线", "已关闭", "停用", "已注销")),
}
APP_DUTIES = {
    "check_in": (("打卡签到", "check-in"), ("check_in", "check-in", "打卡签到", "打卡", "签到")),
    "ranking": (("积分排名", "ranking"), ("ranking", "积分排名", "排名", "积分", "排行")),
    "online_time": (("在线时长", "online time"), ("online_time", "online time", "在线时长", "学习时长", "时长")),
    "forced_login": (("强制登录", "forced login"), ("forced_login", "forced login", "强制登录", "强制注册", "登录")),
    "photo_upload": (("拍照上传", "photo upload"), ("photo_upload", "photo upload", "拍照上传", "拍照", "上传照片")),
}
NO_DUTIES = {"无", "没有", "none", "no", "-", "—"}
MEMBERS_MAX = 10**6
_SPLIT = re.compile(r"\s*[,，、;；/|]\s*")


def _index(table: dict[str, tuple[tuple[str, str], tuple[str, ...]]]) -> dict[str, str]:
    return {_key(spelling): code for code, (_, spellings) in table.items() for spelling in spellings}


_INDEXES = {id(t): _index(t) for t in (GROUP_PLATFORMS, GROUP_STATUSES, APP_KINDS, APP_STATUSES, APP_DUTIES)}


def label(table: dict[str, tuple[tuple[str, str], tuple[str, ...]]], code: str | None) -> str:
    if code is None:
        return "—"
    return L(*table[code][0]) if code in table else code


def _choice(table: dict[str, tuple[tuple[str, str], tuple[str, ...]]], value: Any, what: tuple[str, str]) -> str | None:
    text = cell_text(value)
    if not text:
        return None
    code = _INDEXES[id(table)].get(_key(text))
    if code is None:
        choices = ", ".join(f"{c} ({names[0]})" for c, (names, _) in table.items())
        raise ValidationError(
            L(f"未知{what[0]} {text!r}", f"unknown {what[1]} {text!r}"),
            hint=L(f"可用: {choices}", f"use one of {choices}"),
        )
    return code


def parse_group_platform(value: Any) -> str | None:
    return _choice(GROUP_PLATFORMS, value, ("群平台", "group platform"))


def parse_group_status(value: Any) -> str | None:
    return _choice(GROUP_STATUSES, value, ("群状态", "group status"))


def parse_app_kind(value: Any) -> str | None:
    return _choice(APP_KINDS, value, ("应用类型", "app kind"))


def parse_app_status(value: Any) -> str | None:
    return _choice(APP_STATUSES, value, ("应用状态", "app status"))


def parse_duties(value: Any) -> list[str] | None:
    """打卡签到、积分排名 -> ["check_in", "ranking"]; 无 -> []; empty -> None (not given)."""
    if isinstance(value, list | tuple):
        value = ",".join(map(str, value))
    text = cell_text(value)
    if not text:
        return None
    if _key(text) in NO_DUTIES:
        return []
    duties: list[str] = []
    for part in _SPLIT.split(text):
        if part:
            code = _choice(APP_DUTIES, part, ("要求事项", "duty"))
            if code and code not in duties:
                duties.append(code)
    return sorted(duties, key=list(APP_DUTIES).index)


def parse_members(value: Any) -> int | None:
    text = cell_text(value)
    if not text:
        return None
    if not text.isdigit() or int(text) > MEMBERS_MAX:
        raise ValidationError(L(f"{text!r} 不是成员数 (非负整数)", f"{text!r} is not a member count (a whole number)"))
    return int(text)


def duties_label(duties: list[str] | None) -> str:
    return L("、", ", ").join(label(APP_DUTIES, d) for d in duties or []) or "—"


GROUP_PARSERS: dict[str, Any] = {
    "platform": parse_group_platform,
    "category": lambda v: clean_text(v, "category"),
    "temporary": parse_bool,
    "ends_on": parse_date,
    "owner": lambda v: clean_text(v, "contact_name"),
    "members": parse_members,
    "status": parse_group_status,
    "status_changed_on": parse_date,
    "status_reason": lambda v: clean_text(v, "status_reason"),
    "notes": lambda v: clean_text(v, "notes"),
}
APP_PARSERS: dict[str, Any] = {
    "kind": parse_app_kind,
    "filing_no": lambda v: clean_text(v, "filing_no"),
    "duties": parse_duties,
    "status": parse_app_status,
    "closed_on": parse_date,
    "closure_notice": lambda v: clean_text(v, "status_reason"),
    "notes": lambda v: clean_text(v, "notes"),
}
# A category naming a temporary task force makes the group temporary (临时专班, 临时工作群).
TEMPORARY_WORD = "临时"
