"""The [cases] settings: the office's code prefix, the deadlines by problem kind and the grace period."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from registry.errors import ValidationError
from registry.i18n import L
from registry.vocabulary import CASE_KINDS

_PREFIX = re.compile(r"^[A-Za-z0-9]{1,10}$")


@dataclass(frozen=True)
class CaseSettings:
    prefix: str = "GP"
    deadline_days: int = 15
    deadline_days_by_kind: dict[str, int] = field(default_factory=dict)
    grace_days: int = 15

    def days_for(self, kind: str) -> int:
        return self.deadline_days_by_kind.get(kind, self.deadline_days)


def _days(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650:
        raise ValidationError(
            L(
                f"配置 cases.{key} 应为 0 到 3650 之间的整数, 而不是 {value!r}",
                f"setting cases.{key} must be a whole number of days from 0 to 3650, not {value!r}",
            ),
            hint="see docs/cases.md",
        )
    return value


def case_settings(settings: Any) -> CaseSettings:
    """The [cases] section of the configuration, checked."""
    conf = settings.get("cases", default={}) or {}
    prefix = str(conf.get("prefix", "GP"))
    if not _PREFIX.match(prefix):
        raise ValidationError(
            L(
                f"配置 cases.prefix {prefix!r} 应为 1 到 10 个字母或数字",
                f"setting cases.prefix {prefix!r} must be 1 to 10 letters or digits",
            ),
            hint='e.g. prefix = "YL" for codes like YL-2026-0042',
        )
    by_kind = conf.get("deadline_days_by_kind") or {}
    if not isinstance(by_kind, dict):
        raise ValidationError(
            L("配置 cases.deadline_days_by_kind 应为表", "setting cases.deadline_days_by_kind must be a table")
        )
    for kind in by_kind:
        if kind not in CASE_KINDS:
            raise ValidationError(
                L(
                    f"配置 cases.deadline_days_by_kind: 未知问题类型 {kind!r}",
                    f"setting cases.deadline_days_by_kind: unknown problem kind {kind!r}",
                ),
                hint=", ".join(CASE_KINDS),
            )
    return CaseSettings(
        prefix=prefix.upper(),
        deadline_days=_days(conf.get("deadline_days", 15), "deadline_days"),
        deadline_days_by_kind={k: _days(v, f"deadline_days_by_kind.{k}") for k, v in by_kind.items()},
        grace_days=_days(conf.get("grace_days", 15), "grace_days"),
    )
