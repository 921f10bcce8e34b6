"""The scoring policy: every threshold the scorer applies, with defaults from the rules in force.

Loaded from TOML: the keys of a `[policy]` section in govpulse.toml, then the file named by `policy.file`
(or GOVPULSE_POLICY_FILE) on top. The file holds the same keys at its top level:

    dormant_days = 14
    [platforms.wechat]
    engagement_floor = 100
    [quotas]
    by_level = { department = 3, community = 1 }
    by_headcount = [ { max_headcount = 30, cap = 1 }, { max_headcount = 200, cap = 3 } ]
    [inventory]
    group_quotas = { by_level = { street = 10, community = 1 },
                     by_headcount = [ { max_headcount = 20, cap = 3 }, { max_headcount = 99, cap = 5 }, { cap = 10 } ] }

Any threshold can be overridden per platform under `[platforms.<name>]`. docs/scoring.md explains each.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.errors import ValidationError
from registry.vocabulary import APP_DUTIES, ORG_LEVELS, OUTCOMES, PLATFORMS, READ_OUTCOMES


@dataclass(frozen=True)
class HeadcountBand:
    max_headcount: int | None  # units with at most this many staff (None: any number, the last band) ...
    cap: int  # ... may run at most this many accounts (all platforms), or groups


@dataclass(frozen=True)
class Quotas:
    """Caps on the number of accounts (or work groups) a unit runs. Empty: no caps.

    A unit whose headcount is known and falls in a band takes that band's cap; otherwise its level's.
    With level_first, a level named in by_level sets the cap whatever the headcount (streets and
    communities in the group quotas).
    """

    by_level: dict[str, int] = field(default_factory=dict)
    by_headcount: tuple[HeadcountBand, ...] = ()
    level_first: bool = False

    def cap_for(self, level: str | None, headcount: int | None) -> tuple[int, str] | None:
        """(cap, basis) for a unit, basis naming what set it ("headcount<=30", "level=department")."""
        if self.level_first and level in self.by_level:
            return self.by_level[level], f"level={level}"
        if headcount is not None:
            for band in self.by_headcount:
                if band.max_headcount is None or headcount <= band.max_headcount:
                    return band.cap, (
                        f"headcount<={band.max_headcount}"
                        if band.max_headcount is not None
                        else f"headcount>{self._top(band)}"
                    )
        if level in self.by_level:
            return self.by_level[level], f"level={level}"
        return None

    def _top(self, band: HeadcountBand) -> int:
        below = [b.max_headcount for b in self.by_headcount if b is not band and b.max_headcount is not None]
        return max(below, default=0)


@dataclass(frozen=True)
class InventoryPolicy:
    """Rules of the work group and government app inventory (docs/inventory.md cites each source).

    Group quotas: the quota table of the Yuelu district (岳麓区, Changsha) as its cut in "fingertip
    burden" was reported: a unit of 20 staff or fewer keeps at most 3 work groups, under 100 staff 5,
    100 or more 10; a street 10, a community 1. The level caps of streets and communities come first;
    other units go by headcount, and a unit without a headcount has no quota (it is reported as such,
    never guessed).
    Apps: the same cleanup, and 中央网信委《关于防治"指尖上的形式主义"的若干意见》 (2023): units below
    county level do not build their own apps; no forced check-in (打卡签到), ranking (积分排名), online-time
    counting (在线时长), forced login (强制登录) or photo-upload (拍照上传) duties; an app is filed (备案) and
    its closure announced in advance.
    """

    group_quotas: Quotas = field(
        default_factory=lambda: Quotas(
            by_level={"street": 10, "community": 1},
            by_headcount=(HeadcountBand(20, 3), HeadcountBand(99, 5), HeadcountBand(None, 10)),
            level_first=True,
        )
    )
    # A temporary group is flagged 应解散 after its end date, and warned this many days before it.
    expiry_warning_days: int = 7
    # Levels whose units may not run apps of their own (below county level).
    app_forbidden_levels: tuple[str, ...] = ("street", "community")
    # Duties an app may not impose (codes of registry.models.APP_DUTIES).
    forbidden_duties: tuple[str, ...] = ("check_in", "ranking", "online_time", "forced_login", "photo_upload")


@dataclass(frozen=True)
class Policy:
    """Thresholds of the scorer. Defaults follow the rules in force, each cited at its field (docs/scoring.md
    explains them)."""

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
    # One account per platform: when the strongest leads the next by fewer index points than this, the
    # choice is the unit's to confirm (a 1-point lead is noise, and may be the unit's own main account).
    near_tie_points: float = 5.0
    # Liveness index references (the value that scores full marks on a log scale).
    index_posts_ref: int = 90
    index_engagement_ref: float = 1000.0
    index_followers_ref: int = 100_000
    # Per-platform overrides of the thresholds above; WeChat engagement includes reads when given.
    platforms: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"wechat": {"engagement_floor": 100.0, "index_engagement_ref": 100_001.0}}
    )
    quotas: Quotas = field(default_factory=Quotas)
    inventory: InventoryPolicy = field(default_factory=InventoryPolicy)
    source: str = "defaults"  # where the policy came from (shown by `policy show`)

    def for_platform(self, platform: str) -> Policy:
        """The thresholds in force on one platform (its overrides applied)."""
        overrides = self.platforms.get(platform)
        return dataclasses.replace(self, **overrides) if overrides else self

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["unreachable_outcomes"] = list(self.unreachable_outcomes)
        data["quotas"] = {
            "by_level": dict(self.quotas.by_level),
            "by_headcount": [dataclasses.asdict(b) for b in self.quotas.by_headcount],
        }
        del data["inventory"]  # not the scorer's: a score run's stored policy stays what it judged by
        return data

    def inventory_dict(self) -> dict[str, Any]:
        inv = self.inventory
        quotas = inv.group_quotas
        return {
            "group_quotas": {
                "by_level": dict(quotas.by_level),
                "by_headcount": [dataclasses.asdict(b) for b in quotas.by_headcount],
            },
            "expiry_warning_days": inv.expiry_warning_days,
            "app_forbidden_levels": list(inv.app_forbidden_levels),
            "forbidden_duties": list(inv.forbidden_duties),
        }

    @property
    def history_depth(self) -> int:
        """How many of each account's latest outcomes the scorer needs (the largest unreachable_after)."""
        return max([self.unreachable_after] + [o.get("unreachable_after", 0) for o in self.platforms.values()])


# Thresholds that [platforms.<name>] may override, with their types.
THRESHOLDS = {
    f.name: f for f in dataclasses.fields(Policy) if f.name not in ("platforms", "quotas", "inventory", "source")
}


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
    if (
        name
        in (
            "dormant_days",
            "zombie_days",
            "window_days",
            "unreachable_after",
            "index_posts_ref",
            "index_engagement_ref",
            "index_followers_ref",
        )
        and value == 0
    ):
        raise _bad(where, key, "must be at least 1")
    return float(value) if kind == "float" else value


def _quotas(where: str, raw: Any, name: str = "quotas", *, level_first: bool = False) -> Quotas:
    if not isinstance(raw, dict):
        raise _bad(where, name, "must be a table")
    unknown = sorted(set(raw) - {"by_level", "by_headcount"})
    if unknown:
        raise _bad(where, f"{name}.{unknown[0]}", "unknown key (known: by_level, by_headcount)")
    by_level = raw.get("by_level", {})
    if not isinstance(by_level, dict):
        raise _bad(where, f"{name}.by_level", "must be a table of level = cap")
    for level, cap in by_level.items():
        if level not in ORG_LEVELS:
            raise _bad(where, f"{name}.by_level.{level}", f"unknown level (known: {', '.join(ORG_LEVELS)})")
        _number(where, f"{name}.by_level.{level}", cap, "int")
    bands = raw.get("by_headcount", [])
    if not isinstance(bands, list):
        raise _bad(where, f"{name}.by_headcount", "must be a list of { max_headcount, cap }")
    parsed = []
    for i, band in enumerate(bands):
        key = f"{name}.by_headcount[{i}]"
        last = i == len(bands) - 1
        if not isinstance(band, dict) or not (set(band) == {"max_headcount", "cap"} or (last and set(band) == {"cap"})):
            raise _bad(
                where,
                key,
                f"must be {{ max_headcount = N, cap = N }} (the last band may leave out "
                f"max_headcount: any headcount above), got {band!r}",
            )
        top = band.get("max_headcount")
        parsed.append(
            HeadcountBand(
                None if top is None else _number(where, f"{key}.max_headcount", top, "int"),
                _number(where, f"{key}.cap", band["cap"], "int"),
            )
        )
    tops = [b.max_headcount for b in parsed if b.max_headcount is not None]
    if tops != sorted(set(tops)):
        raise _bad(where, f"{name}.by_headcount", "bands must be in increasing order of max_headcount")
    return Quotas(by_level=dict(by_level), by_headcount=tuple(parsed), level_first=level_first)


def _inventory(where: str, raw: Any, current: InventoryPolicy) -> InventoryPolicy:
    """The [inventory] table: group_quotas (as quotas; level caps first), expiry_warning_days,
    app_forbidden_levels, forbidden_duties."""
    if not isinstance(raw, dict):
        raise _bad(where, "inventory", "must be a table")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"inventory.{key}"
        if key == "group_quotas":
            values[key] = _quotas(where, value, name, level_first=True)
        elif key == "expiry_warning_days":
            values[key] = _number(where, name, value, "int")
        elif key in ("app_forbidden_levels", "forbidden_duties"):
            known = ORG_LEVELS if key == "app_forbidden_levels" else APP_DUTIES
            if not isinstance(value, list) or not all(isinstance(v, str) and v in known for v in value):
                raise _bad(where, name, f"must be a list of {', '.join(known)}, got {value!r}")
            values[key] = tuple(value)
        else:
            raise _bad(
                where,
                name,
                "unknown key (known: group_quotas, expiry_warning_days, app_forbidden_levels, forbidden_duties)",
            )
    return dataclasses.replace(current, **values)


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
        elif key == "inventory":
            values["inventory"] = _inventory(where, value, values["inventory"])
        else:
            raise ValidationError(
                f"{where}: unknown policy key {key!r}",
                hint=f"known keys: {', '.join([*THRESHOLDS, 'platforms', 'quotas', 'inventory'])}",
            )


def _check_order(policy: Policy, where: str) -> None:
    for name in ("", *policy.platforms):
        p = policy.for_platform(name) if name else policy
        prefix = f"platforms.{name}." if name else ""
        if p.zombie_days < p.dormant_days:
            raise _bad(
                where, f"{prefix}zombie_days", f"({p.zombie_days}) must not be below dormant_days ({p.dormant_days})"
            )


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
            raise ValidationError(
                f"cannot read policy file {file}: {exc.strerror}",
                hint="set policy.file in govpulse.toml or GOVPULSE_POLICY_FILE",
            ) from None
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
