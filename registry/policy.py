"""The scoring policy: every threshold the scorer applies, with defaults from the rules in force.

Loaded from TOML: the keys of a `[policy]` section in govpulse.toml, then the file named by `policy.file`
(or GOVPULSE_POLICY_FILE) on top. The file holds the same keys at its top level:

    dormant_days = 14
    [platforms.wechat]
    engagement_floor = 100
    [quotas]
    by_level = { department = 3, community = 1 }
    by_headcount = [ { max_headcount = 30, cap = 1 }, { max_headcount = 200, cap = 3 } ]

Any threshold can be overridden per platform under `[platforms.<name>]`. docs/scoring.md explains each.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.errors import ValidationError
from registry.models import ORG_LEVELS, OUTCOMES, PLATFORMS

# Outcomes in which the platform answered normally (the account's data can be trusted).
READ_OUTCOMES = ("ok", "empty")


@dataclass(frozen=True)
class HeadcountBand:
    max_headcount: int  # units with at most this many staff ...
    cap: int  # ... may run at most this many accounts (all platforms)


@dataclass(frozen=True)
class Quotas:
    """Caps on the number of accounts a unit runs (all platforms together). Empty: no caps.

    A unit whose headcount is known and falls in a band takes that band's cap; otherwise its level's.
    """

    by_level: dict[str, int] = field(default_factory=dict)
    by_headcount: tuple[HeadcountBand, ...] = ()

    def cap_for(self, level: str | None, headcount: int | None) -> tuple[int, str] | None:
        """(cap, basis) for a unit, basis naming what set it ("headcount ≤ 30", "level department")."""
        if headcount is not None:
            for band in self.by_headcount:
                if headcount <= band.max_headcount:
                    return band.cap, f"headcount<={band.max_headcount}"
        if level in self.by_level:
            return self.by_level[level], f"level={level}"
        return None


@dataclass(frozen=True)
class Policy:
    """Thresholds of the scorer. Defaults follow reference/policy.md (cited per field)."""

    # 国办秘函〔2019〕19号, single veto 内容不更新: "监测时间点前2周内无更新".
    dormant_days: int = 14
    # 贵州 2025: over 3 months without an update goes on the 僵尸账号 list. Never posted counts too.
    zombie_days: int = 90
    # The look-back window for posts, original posts, the longest gap and engagement.
    window_days: int = 90
    # Shell (空壳): original posts in the window at most this many while posting (reposts only) ...
    shell_max_originals: int = 0
    # ... or median engagement per post below this floor together with followers below that floor
    # (北京 2019 "长期零发布、零粉丝、零关注"; 江苏 2019: closed accounts mostly averaged under 100 reads).
    engagement_floor: float = 5.0
    followers_floor: int = 100
    # Unreachable only after this many consecutive patrols in which the platform said "gone".
    unreachable_after: int = 2
    unreachable_outcomes: tuple[str, ...] = ("gone", "not_found")
    # Unknown when the latest successful fetch is older than this.
    max_data_age_days: int = 7
    # Duplicate publishing: the same content on related accounts within this many days, at least this often.
    duplicate_window_days: int = 3
    duplicate_min_posts: int = 3
    # A zombie without an account to merge into: revive it when it keeps at least this following, else close.
    revive_min_followers: int = 1000
    # Liveness index references (the value that scores full marks on a log scale).
    index_posts_ref: int = 90
    index_engagement_ref: float = 1000.0
    index_followers_ref: int = 100_000
    # Per-platform overrides of the thresholds above; WeChat engagement includes reads when given.
    platforms: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"wechat": {"engagement_floor": 100.0, "index_engagement_ref": 100_001.0}})
    quotas: Quotas = field(default_factory=Quotas)
    source: str = "defaults"  # where the policy came from (shown by `policy show`)

    def for_platform(self, platform: str) -> Policy:
        """The thresholds in force on one platform (its overrides applied)."""
        overrides = self.platforms.get(platform)
        return dataclasses.replace(self, **overrides) if overrides else self

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["unreachable_outcomes"] = list(self.unreachable_outcomes)
        data["quotas"] = {"by_level": dict(self.quotas.by_level),
                          "by_headcount": [dataclasses.asdict(b) for b in self.quotas.by_headcount]}
        return data

    @property
    def history_depth(self) -> int:
        """How many of each account's latest outcomes the scorer needs (the largest unreachable_after)."""
        return max([self.unreachable_after] + [o.get("unreachable_after", 0) for o in self.platforms.values()])


# Thresholds that [platforms.<name>] may override, with their types.
THRESHOLDS = {f.name: f for f in dataclasses.fields(Policy) if f.name not in ("platforms", "quotas", "source")}


def _bad(where: str, key: str, what: str) -> ValidationError:
    return ValidationError(f"{where}: {key}: {what}", hint="see docs/scoring.md for the policy keys and their defaults")


def _number(where: str, key: str, value: Any, kind: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind == "int" and not isinstance(value, int)):
        raise _bad(where, key, f"must be {'a whole number' if kind == 'int' else 'a number'}, got {value!r}")
    if value < 0:
        raise _bad(where, key, f"must not be negative, got {value!r}")
    return value


def _threshold(where: str, name: str, value: Any, key: str | None = None) -> Any:
    """A threshold's value, checked; `key` is how the source spells it (platforms.<p>.<name>)."""
    spec = THRESHOLDS[name]
    key = key or name
    if name == "unreachable_outcomes":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise _bad(where, key, f"must be a non-empty list of outcomes, got {value!r}")
        unknown = [v for v in value if v not in OUTCOMES or v in READ_OUTCOMES]
        if unknown:
            raise _bad(where, key, f"not a failure outcome: {', '.join(map(repr, unknown))}")
        return tuple(value)
    kind = "int" if spec.type == "int" else "float"
    value = _number(where, key, value, kind)
    if name in ("dormant_days", "zombie_days", "window_days", "unreachable_after", "index_posts_ref",
               "index_engagement_ref", "index_followers_ref") and value == 0:
        raise _bad(where, key, "must be at least 1")
    return float(value) if kind == "float" else value


def _quotas(where: str, raw: Any) -> Quotas:
    if not isinstance(raw, dict):
        raise _bad(where, "quotas", "must be a table")
    unknown = sorted(set(raw) - {"by_level", "by_headcount"})
    if unknown:
        raise _bad(where, f"quotas.{unknown[0]}", "unknown key (known: by_level, by_headcount)")
    by_level = raw.get("by_level", {})
    if not isinstance(by_level, dict):
        raise _bad(where, "quotas.by_level", "must be a table of level = cap")
    for level, cap in by_level.items():
        if level not in ORG_LEVELS:
            raise _bad(where, f"quotas.by_level.{level}", f"unknown level (known: {', '.join(ORG_LEVELS)})")
        _number(where, f"quotas.by_level.{level}", cap, "int")
    bands = raw.get("by_headcount", [])
    if not isinstance(bands, list):
        raise _bad(where, "quotas.by_headcount", "must be a list of { max_headcount, cap }")
    parsed = []
    for i, band in enumerate(bands):
        key = f"quotas.by_headcount[{i}]"
        if not isinstance(band, dict) or set(band) != {"max_headcount", "cap"}:
            raise _bad(where, key, f"must be {{ max_headcount = N, cap = N }}, got {band!r}")
        parsed.append(HeadcountBand(_number(where, f"{key}.max_headcount", band["max_headcount"], "int"),
                                    _number(where, f"{key}.cap", band["cap"], "int")))
    if [b.max_headcount for b in parsed] != sorted({b.max_headcount for b in parsed}):
        raise _bad(where, "quotas.by_headcount", "bands must be in increasing order of max_headcount")
    return Quotas(by_level=dict(by_level), by_headcount=tuple(parsed))


def _apply(values: dict[str, Any], raw: dict[str, Any], where: str) -> None:
    """Check the keys of one source (a file or the [policy] section) and lay them over `values`."""
    for key, value in raw.items():
        if key in THRESHOLDS:
            values[key] = _threshold(where, key, value)
        elif key == "platforms":
            if not isinstance(value, dict):
                raise _bad(where, "platforms", "must be a table of [platforms.<name>] tables")
            platforms = {k: dict(v) for k, v in values["platforms"].items()}
            for name, overrides in value.items():
                if name not in PLATFORMS:
                    raise _bad(where, f"platforms.{name}", f"unknown platform (known: {', '.join(PLATFORMS)})")
                if not isinstance(overrides, dict):
                    raise _bad(where, f"platforms.{name}", "must be a table of thresholds")
                for k, v in overrides.items():
                    if k not in THRESHOLDS:
                        raise _bad(where, f"platforms.{name}.{k}", "unknown threshold")
                    platforms.setdefault(name, {})[k] = _threshold(where, k, v, f"platforms.{name}.{k}")
            values["platforms"] = platforms
        elif key == "quotas":
            values["quotas"] = _quotas(where, value)
        else:
            raise ValidationError(f"{where}: unknown policy key {key!r}",
                                  hint=f"known keys: {', '.join([*THRESHOLDS, 'platforms', 'quotas'])}")


def _check_order(policy: Policy, where: str) -> None:
    for name in ("", *policy.platforms):
        p = policy.for_platform(name) if name else policy
        prefix = f"platforms.{name}." if name else ""
        if p.zombie_days < p.dormant_days:
            raise _bad(where, f"{prefix}zombie_days", f"({p.zombie_days}) must not be below dormant_days ({p.dormant_days})")


def load_policy(settings: Any) -> Policy:
    """The policy in force: defaults, then govpulse.toml [policy] keys, then the policy file."""
    section = dict(settings.get("policy", default={}) or {})
    path = str(section.pop("file", "") or "")
    values: dict[str, Any] = {f.name: getattr(Policy(), f.name) for f in dataclasses.fields(Policy)}
    sources = []
    if section:
        where = f"{settings.path or 'configuration'} [policy]"
        _apply(values, section, where)
        sources.append(where)
    if path:
        file = Path(path).expanduser()
        try:
            raw = tomllib.loads(file.read_bytes().decode("utf-8-sig"))
        except OSError as exc:
            raise ValidationError(f"cannot read policy file {file}: {exc.strerror}",
                                  hint="set policy.file in govpulse.toml or GOVPULSE_POLICY_FILE") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(f"{file}: not valid TOML: {exc}") from None
        except RecursionError:  # nesting no configuration has
            raise ValidationError(f"{file}: not valid TOML: nested too deeply") from None
        _apply(values, raw, str(file))
        sources.append(str(file))
    values["source"] = " + ".join(sources) if sources else "defaults"
    policy = Policy(**values)
    _check_order(policy, values["source"])
    return policy
