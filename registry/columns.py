"""Roster columns: the headers an export writes, and every header an office's sheet may use for the same
column, matched by meaning after normalisation (full-width to half-width, case, spaces, punctuation and
bracketed remarks removed), so that 平台 / 所属平台 / 账号平台 / Platform all land on one field."""

from __future__ import annotations

import re
import unicodedata

from registry.i18n import L

# field: (Chinese header, English header, other spellings). Exports write the first two; imports accept all.
COLUMNS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "platform": (
        "平台",
        "platform",
        ("所属平台", "账号平台", "平台名称", "平台类型", "媒体平台", "发布平台", "新媒体平台", "platform name"),
    ),
    "platform_id": (
        "账号ID",
        "platform_id",
        ("账号id", "账号标识", "用户ID", "UID", "ID", "biz", "__biz", "account id", "user id"),
    ),
    "original_id": ("原始ID", "original_id", ("原始id", "公众号原始ID", "gh_id", "ghid")),
    "alias": ("微信号", "wechat_alias", ("公众号微信号", "微信号/账号", "alias")),
    "url": (
        "链接",
        "url",
        ("账号链接", "主页链接", "主页地址", "账号地址", "网址", "地址", "主页", "link", "profile url", "homepage"),
    ),
    "name": (
        "账号名称",
        "name",
        (
            "名称",
            "账号名",
            "账号昵称",
            "昵称",
            "新媒体名称",
            "公众号名称",
            "微博名称",
            "头条号名称",
            "名字",
            "account name",
            "display name",
        ),
    ),
    "org": (
        "主办单位",
        "org",
        (
            "运营单位",
            "单位",
            "单位名称",
            "所属单位",
            "开办单位",
            "运营主体",
            "主体单位",
            "责任单位",
            "organization",
            "unit",
            "owner",
        ),
    ),
    "parent": (
        "上级单位",
        "parent",
        ("上级", "上级主办单位", "父级单位", "上级部门", "parent org", "parent unit", "parent organization"),
    ),
    "org_level": ("单位级别", "org_level", ("单位层级", "级别", "层级", "level", "unit level")),
    "region_code": ("区划代码", "region_code", ("行政区划代码", "行政区划", "region")),
    "headcount": ("编制人数", "headcount", ("人数", "编制", "staff")),
    "category": ("类别", "category", ("分类", "账号类别", "账号分类", "领域", "行业类别")),
    "status": ("状态", "status", ("账号状态", "运营状态")),
    "status_changed_on": ("状态日期", "status_changed_on", ("变更日期", "关停日期", "status date")),
    "status_reason": ("状态原因", "status_reason", ("变更原因", "关停原因", "原因", "reason")),
    "merged_into": ("并入账号", "merged_into", ("合并至", "整合至", "并入", "merged to")),
    "filing_no": ("备案编号", "filing_no", ("备案号", "备案", "备案编码", "filing number", "filing")),
    "contact_name": ("联系人", "contact_name", ("联系人姓名", "负责人", "管理员", "运维人员", "contact")),
    "contact_phone": (
        "联系电话",
        "contact_phone",
        ("电话", "手机", "手机号", "联系方式", "联系人电话", "phone", "tel", "telephone"),
    ),
    "verified": ("认证", "verified", ("是否认证", "认证状态", "已认证", "加V")),
    "is_main": ("主账号", "is_main", ("是否主账号", "主号", "main account", "main")),
    "opened_on": (
        "开设时间",
        "opened_on",
        ("开通时间", "开设日期", "开通日期", "注册时间", "创建时间", "上线时间", "opened", "opened date"),
    ),
    "feed_url": ("订阅源", "feed_url", ("订阅地址", "RSS", "RSS地址", "feed", "feed url")),
    "notes": ("备注", "notes", ("说明", "remark", "remarks", "note")),
}
# Headers that are read and dropped: row numbers.
IGNORED = ("序号", "编号", "序", "行号", "no", "index", "#", "seq")
# One of these must be present; the account's id may come from any of the id fields.
ID_FIELDS = ("platform_id", "original_id", "alias", "url")
REQUIRED = ("name", "org")
# Fields that describe the row's unit rather than its account.
ORG_FIELDS = ("org_level", "region_code", "headcount")
# The fields of an account that the audit trail, the exports and the imports speak of (the unit as
# "org", the merge target as "merged_into": both as readable references).
ACCOUNT_FIELDS = (
    "platform",
    "platform_id",
    "name",
    "org",
    "category",
    "status",
    "status_changed_on",
    "status_reason",
    "merged_into",
    "filing_no",
    "contact_name",
    "contact_phone",
    "verified",
    "is_main",
    "opened_on",
    "feed_url",
    "notes",
)
# Export order: the account's fields, its unit's beside its unit.
_UNIT = ACCOUNT_FIELDS.index("org") + 1
EXPORT_FIELDS = (*ACCOUNT_FIELDS[:_UNIT], "parent", *ORG_FIELDS, *ACCOUNT_FIELDS[_UNIT:])

_BRACKETED = re.compile(r"[(\[{【〔<《][^)\]}】〕>》]*[)\]}】〕>》]")


def header_keys(text: object) -> tuple[str, str]:
    """Two keys for a header: without bracketed remarks ('联系电话（手机）' -> '联系电话'), and with them."""
    base = unicodedata.normalize("NFKC", str(text or "")).lower().strip()
    squash = re.compile(r"[\W_]+")
    return squash.sub("", _BRACKETED.sub("", base)), squash.sub("", base)


class ColumnSet:
    """The columns of one kind of ledger: field -> (Chinese header, English header, other spellings), and
    the headers to drop (row numbers)."""

    def __init__(
        self, columns: dict[str, tuple[str, str, tuple[str, ...]]], ignored: tuple[str, ...] = IGNORED
    ) -> None:
        self.columns = columns
        self._index: dict[str, str] = {}
        for field, (zh, en, others) in columns.items():
            for spelling in (zh, en, *others):
                for key in header_keys(spelling):
                    self._index.setdefault(key, field)
        self._ignored = {header_keys(h)[0] for h in ignored}

    def match(self, text: object) -> str | None:
        """The field a header means, '' for a header to drop (序号), None when it means nothing we know."""
        for key in header_keys(text):
            if not key:
                continue
            if key in self._ignored:
                return ""
            if key in self._index:
                return self._index[key]
        return None


ROSTER = ColumnSet(COLUMNS)


def match_header(text: object) -> str | None:
    """The roster field a header means (see ColumnSet.match)."""
    return ROSTER.match(text)


def header_label(field: str) -> str:
    zh, en, _ = COLUMNS[field]
    return L(zh, en)
