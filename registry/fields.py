"""The values of roster fields, as typed on the command line or found in a roster cell: parsed, checked
against the column sizes, and turned into what is stored. Shared by the roster services and the importer,
so that a value accepted in one place is accepted in the other.

Each parser raises ValidationError saying what is wrong with the value; the caller adds where.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from registry.errors import ValidationError
from registry.i18n import L
from registry.labels import label, labels
from registry.safety import forbidden_host
from registry.vocabulary import ACCOUNT_STATUSES, ORG_LEVELS
from registry.timeutil import SHANGHAI, utcnow

NAME_MAX = 100
# Sizes of the account and organization columns (PostgreSQL enforces them).
TEXT_LIMITS = {
    "category": 50,
    "filing_no": 100,
    "contact_name": 50,
    "contact_phone": 50,
    "region_code": 12,
    "notes": 2000,
    "status_reason": 500,
}
FEED_URL_MAX = 2000

# A spreadsheet evaluates a cell that starts with one of these (CWE-1236). Exports prefix such cells
# with an apostrophe; imports take it off again, so that a roster round-trips unchanged.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")

STATUS_ALIASES = {
    "active": (
        "active",
        "正常",
        "运营",
        "运营中",
        "正常运营",
        "在用",
        "启用",
        "活跃",
        "开通",
        "在运营",
        "整改中",
    ),  # under rectification: still run by the unit, not on its way out
    "closing": ("closing", "拟关停", "关停中", "待关停", "拟注销", "注销中"),
    "merged": ("merged", "已整合", "已合并", "整合", "合并", "已迁移"),
    "closed": ("closed", "已关停", "关停", "已注销", "注销", "停用", "已停用", "已关闭", "关闭"),
}
LEVEL_ALIASES = {
    "province": ("province", "省", "省级", "省直"),
    "city": ("city", "市", "市级", "市直", "地市"),
    "district": ("district", "区", "县", "区县", "区级", "县级", "县区", "县市区"),
    "department": ("department", "部门", "委办局", "局"),
    "street": ("street", "town", "街道", "乡镇", "镇", "乡", "街道乡镇", "街镇"),
    "community": ("community", "village", "社区", "村", "社区村", "村社区", "居委会", "村委会"),
    "other": ("other", "其他", "其它"),
}
TRUE_WORDS = {"是", "已认证", "认证", "有", "y", "yes", "true", "1", "✓", "√", "verified", "蓝v", "黄v", "v"}
FALSE_WORDS = {"否", "未认证", "无", "没有", "n", "no", "false", "0", "✗", "×", "unverified"}


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")


_STATUS_INDEX = {_key(a): code for code, aliases in STATUS_ALIASES.items() for a in aliases}
_LEVEL_INDEX = {_key(a): code for code, aliases in LEVEL_ALIASES.items() for a in aliases}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_FORMULA_CHARS = frozenset(FORMULA_START)


def neutralize_formula(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def cell_text(value: Any) -> str:
    """A cell or option as text: stripped (full-width spaces too); an apostrophe guard taken off."""
    if type(value) is not str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        value = str(value)
    text = value.strip()
    return text[1:] if text[:1] == "'" and text[1:2] in _FORMULA_CHARS else text


ACCOUNT_NAME = ("账号名称", "account name")
UNIT_NAME = ("单位名称", "unit name")


# In a name: C0 and C1 controls (tab and newline too), and the bidirectional overrides and isolates
# that make a name display other than it reads (U+202E turns "发布" into "布发"). Refused, not stripped.
_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Characters that show nothing: a name made only of them (and spaces) is empty.
_INVISIBLE = re.compile(r"[\s\u00ad\u115f\u1160\u180e\u200b-\u200d\u2060-\u2064\u3164\ufeff\uffa0]+")


def clean_name(value: Any, *, what: tuple[str, str] = ("名称", "name")) -> str:
    """A display name: required, at most NAME_MAX characters, visible, no control or bidirectional
    control characters, not a formula. `what` (zh, en) names it in an error."""
    text = cell_text(value)
    label = L(*what)
    if isinstance(value, str) and value[:1] == "=" and text == value.strip():
        raise ValidationError(
            L(f"{label}是公式, 不是名称", f"{label} is a formula, not a name"),
            hint=L("填写公式计算出的文字", "give the text the formula computes"),
        )
    invisible_only = not text.isascii() and not _INVISIBLE.sub("", text)  # ASCII text is never all invisible
    if (
        text
        and len(text) <= NAME_MAX
        and not _NAME_CONTROL.search(text)
        and not _BIDI.search(text)
        and not invisible_only
    ):
        return text
    if not text:
        raise ValidationError(L(f"{label}为空", f"{label} is empty"))
    if len(text) > NAME_MAX:
        raise ValidationError(
            L(
                f"{label}超过 {NAME_MAX} 个字符 ({len(text)})",
                f"{label} is longer than {NAME_MAX} characters ({len(text)})",
            )
        )
    bidi = _BIDI.search(text)
    if bidi:
        code = f"U+{ord(bidi.group()):04X}"
        raise ValidationError(
            L(
                f"{label}含双向控制字符 {code}, 显示会与实际不同",
                f"{label} contains the bidirectional control character {code}, "
                "which makes it display other than it reads",
            )
        )
    control = _NAME_CONTROL.search(text)
    if control:
        code = f"U+{ord(control.group()):04X}"
        raise ValidationError(L(f"{label}含控制字符 {code}", f"{label} contains the control character {code}"))
    raise ValidationError(L(f"{label}只含不可见字符", f"{label} holds only invisible characters"))


def clean_text(value: Any, field: str) -> str | None:
    """Free text limited to its column size; empty is None."""
    text = cell_text(value)
    if not text:
        return None
    limit = TEXT_LIMITS[field]
    if len(text) > limit:
        raise ValidationError(L(f"超过 {limit} 个字符 ({len(text)})", f"longer than {limit} characters ({len(text)})"))
    return _CONTROL.sub("", text)


_DATE_FORMS = (
    re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
    re.compile(r"(\d{4})[-/.年](\d{1,2})月?()"),
)


def parse_date(value: Any) -> date | None:
    """2020-03-15, 2020/3/15, 2020.3.15, 2020年3月15日, 20200315, or a month (2020-03: its first day)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    if not text:
        return None
    for form in _DATE_FORMS:
        match = form.fullmatch(text)
        if match:
            year, month, day = (int(g) if g else 1 for g in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                break
    raise ValidationError(
        L(f"{text!r} 不是日期", f"{text!r} is not a date"), hint=L("如 2020-03-15 或 2020年3月15日", "e.g. 2020-03-15")
    )


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _key(cell_text(value))
    if not text:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValidationError(L(f"{text!r} 不是 是/否", f"{text!r} is not yes/no"))


def _choice(value: Any, index: dict[str, str], labels: dict[str, str], what: tuple[str, str]) -> str | None:
    """The code a word stands for (any of its spellings), or an error listing the codes."""
    text = cell_text(value)
    if not text:
        return None
    code = index.get(_key(text))
    if code is None:
        choices = ", ".join(f"{c} ({label})" for c, label in labels.items())
        raise ValidationError(
            L(f"未知{what[0]} {text!r}", f"unknown {what[1]} {text!r}"),
            hint=L(f"可用: {choices}", f"use one of {choices}"),
        )
    return code


def parse_status(value: Any) -> str | None:
    return _choice(value, _STATUS_INDEX, labels("account_status", ACCOUNT_STATUSES, "zh"), ("状态", "status"))


def parse_level(value: Any) -> str | None:
    return _choice(value, _LEVEL_INDEX, labels("org_level", ORG_LEVELS, "zh"), ("单位级别", "unit level"))


# A unit's level read off the end of its name when the roster does not give one (望月湖街道 → street).
# Longest ending first, so 自治区 is not read as 区.
_LEVEL_ENDINGS = sorted(
    {
        "省": "province",
        "自治区": "province",
        "市": "city",
        "自治州": "city",
        "地区": "city",
        "盟": "city",
        "区": "district",
        "县": "district",
        "旗": "district",
        "街道": "street",
        "街道办事处": "street",
        "镇": "street",
        "乡": "street",
        "苏木": "street",
        "社区": "community",
        "居委会": "community",
        "村": "community",
        "村委会": "community",
        "嘎查": "community",
        "局": "department",
        "委": "department",
        "办": "department",
        "部": "department",
        "中心": "department",
        "院": "department",
        "所": "department",
        "队": "department",
        "站": "department",
        "馆": "department",
        "厅": "department",
        "署": "department",
    }.items(),
    key=lambda item: -len(item[0]),
)


def guess_level(name: str) -> str:
    """The level a unit's name implies (区委宣传部 → department, 岭南社区 → community); else "other"."""
    for ending, level in _LEVEL_ENDINGS:
        if name.endswith(ending):
            return level
    return "other"


def parse_feed_url(value: Any) -> str | None:
    text = cell_text(value)
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(
            L(f"订阅源 {text!r} 不是 http(s) 网址", f"feed {text!r} is not an http(s) URL"),
            hint=L("如 http://rsshub.local/weibo/user/2803301701", "e.g. http://rsshub.local/weibo/user/2803301701"),
        )
    if len(text) > FEED_URL_MAX or _CONTROL.search(text) or " " in text:
        raise ValidationError(L(f"订阅源 {text[:80]!r} 无效", f"feed {text[:80]!r} is not a valid URL"))
    host = forbidden_host(text)
    if host is not None:
        raise ValidationError(
            L(
                f"订阅源 {text[:80]!r} 指向链路本地或云元数据地址 {host}, 不予使用",
                f"feed {text[:80]!r} points at {host}, a link-local or cloud-metadata address",
            ),
            hint=L(
                "填写桥接服务或网站的地址 (内网或本机地址可以)",
                "give the bridge's or the website's address (an intranet or same-host one is fine)",
            ),
        )
    return text


def _digits(value: Any, pattern: str, zh: str, en: str) -> str | None:
    text = cell_text(value)
    if text and not re.fullmatch(pattern, text):
        raise ValidationError(L(f"{text!r} {zh}", f"{text!r} {en}"))
    return text or None


def parse_region_code(value: Any) -> str | None:
    return _digits(value, r"\d{2,12}", "区划代码应为 2-12 位数字", "is not a region code (2-12 digits)")


def parse_headcount(value: Any) -> int | None:
    text = _digits(value, r"\d{1,9}", "编制人数应为非负整数", "is not a headcount (a whole number)")
    return None if text is None else int(text)


# Parsers of the optional fields, by field name (CLI options and roster cells alike).
ACCOUNT_PARSERS: dict[str, Any] = {
    "category": lambda v: clean_text(v, "category"),
    "status": parse_status,
    "status_changed_on": parse_date,
    "status_reason": lambda v: clean_text(v, "status_reason"),
    "filing_no": lambda v: clean_text(v, "filing_no"),
    "contact_name": lambda v: clean_text(v, "contact_name"),
    "contact_phone": lambda v: clean_text(v, "contact_phone"),
    "verified": parse_bool,
    "is_main": parse_bool,
    "opened_on": parse_date,
    "feed_url": parse_feed_url,
    "notes": lambda v: clean_text(v, "notes"),
}
ORG_PARSERS: dict[str, Any] = {
    "level": parse_level,
    "region_code": parse_region_code,
    "headcount": parse_headcount,
    "notes": lambda v: clean_text(v, "notes"),
}


# Command-line spellings of the fields whose option is not simply --field-name.
OPTION_NAMES = {
    "contact_name": "--contact",
    "contact_phone": "--phone",
    "feed_url": "--feed",
    "opened_on": "--opened",
    "status_changed_on": "--date",
    "status_reason": "--reason",
    "ends_on": "--ends",
    "closed_on": "--date",
    "closure_notice": "--notice",
}


def parse_options(parsers: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Command-line options, parsed: None = not given (left out), '' = clear (None)."""
    out = {}
    for key, value in options.items():
        if value is None:
            continue
        try:
            out[key] = parsers[key](value)
        except ValidationError as exc:
            option = OPTION_NAMES.get(key, "--" + key.replace("_", "-"))
            raise ValidationError(f"{option}: {exc.message}", hint=exc.hint) from None
    return out


def local_today() -> date:
    """Today in Asia/Shanghai: the default date of a closure or a merge."""
    return utcnow().astimezone(SHANGHAI).date()


def status_label(status: str) -> str:
    return label("account_status", status)


def level_label(level: str) -> str:
    return label("org_level", level)
