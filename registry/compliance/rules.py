"""The rule files an office keeps (TOML): typos and their corrections, standard expressions, leaders and
their current titles, banned words, the office's own words.

One file is one list:

    [list]
    kind = "typo"                      # typo | expression | leader | banned | custom
    name = "常见错别字"
    source = "where the list comes from"
    severity = "deduction"             # optional: veto | deduction | notice (each kind has a default)

    [[rule]]
    match = "布署"                      # the text that is wrong
    suggest = "部署"                    # what to write instead (optional for banned and custom words)
    allow = ["..."]                     # optional: longer correct phrases that contain the match
    source = "..."                      # optional: the rule's own source, else the list's

A leader list has, instead, `[[rule]]` tables with `name`, `title` (the current title) and `former` (a list
of former titles); `titles` in [list] names further titles that would be wrong for any of them.

The shipped starting lists live beside this module (lists/); `compliance.rule_files` in govpulse.toml adds
the office's own. A malformed file is refused whole with its file, line and key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.errors import ValidationError
from registry.vocabulary import RULE_KINDS, SEVERITIES

SHIPPED_DIR = Path(__file__).with_name("lists")
DEFAULT_SEVERITY = {
    "typo": "deduction",
    "expression": "deduction",
    "leader": "veto",
    "banned": "deduction",
    "custom": "notice",
}
CHECK_OF_KIND = {
    "typo": "typo",
    "expression": "expression",
    "leader": "leader_title",
    "banned": "banned",
    "custom": "custom",
}
MAX_PATTERN = 100
_LIST_KEYS = {"kind", "name", "source", "severity", "titles"}
_RULE_KEYS = {"match", "suggest", "allow", "source", "severity"}
_LEADER_KEYS = {"name", "title", "former", "source", "severity"}


@dataclass(frozen=True)
class Rule:
    """One entry, ready for the matcher."""

    check: str  # registry.vocabulary.COMPLIANCE_CHECKS
    severity: str
    match: str
    suggest: str | None
    source: str
    file: str  # the file's name, shown with the finding
    key: str  # the rule as people read it: 布署→部署, 张三：副市长→市长
    allow: tuple[str, ...] = ()


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # per file: entries read

    def __len__(self) -> int:
        return len(self.rules)


class RuleFileError(ValidationError):
    pass


def shipped_files() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*.toml"))


def configured_files(conf: dict[str, Any], *, base: Path | None = None) -> list[Path]:
    """The rule files the settings name: the shipped lists (unless compliance.shipped = false) and the
    office's own (compliance.rule_files), relative paths read from `base`."""
    files = shipped_files() if conf.get("shipped", True) else []
    extra = conf.get("rule_files") or []
    if isinstance(extra, str):
        extra = [extra]
    if not isinstance(extra, list) or not all(isinstance(p, str) and p.strip() for p in extra):
        raise ValidationError(
            "compliance.rule_files must be a list of file paths", hint='e.g. rule_files = ["rules/leaders.toml"]'
        )
    for name in extra:
        path = Path(name).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        files.append(path)
    return files


def load_rules(paths: Iterable[Path]) -> RuleSet:
    """Read and validate every file; the first problem is raised with its file, line and key."""
    ruleset = RuleSet()
    leaders: list[tuple[dict[str, Any], str, str, str, int]] = []
    titles: set[str] = set()
    for path in paths:
        text = _read(path)
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RuleFileError(f"{path}: not valid TOML ({exc})") from None
        spots = _Spots(path, text)
        meta = doc.get("list")
        if not isinstance(meta, dict):
            raise spots.error("list", "a [list] table with kind, name and source is required")
        for key in doc:
            if key not in ("list", "rule"):
                raise spots.error(key, f"unknown table or key {key!r} (expected [list] and [[rule]])")
        for key in meta:
            if key not in _LIST_KEYS:
                raise spots.error(f"list.{key}", f"unknown key {key!r} in [list]")
        kind = meta.get("kind")
        if kind not in RULE_KINDS:
            raise spots.error("list.kind", f"kind must be one of {', '.join(RULE_KINDS)}, not {kind!r}")
        source = _required(spots, "list.source", meta.get("source"))
        _required(spots, "list.name", meta.get("name"))
        severity = _severity(spots, "list.severity", meta.get("severity"), DEFAULT_SEVERITY[kind])
        entries = doc.get("rule", [])
        if not isinstance(entries, list):
            raise spots.error("rule", "rules are [[rule]] tables")
        file_name = path.name
        if kind == "leader":
            for t in _strings(spots, "list.titles", meta.get("titles", [])):
                titles.add(t)
        for n, entry in enumerate(entries, start=1):
            where = f"rule #{n}"
            if kind == "leader":
                _check_keys(spots, n, entry, _LEADER_KEYS)
                name = _required(spots, f"{where}.name", entry.get("name"), rule=n)
                title = _required(spots, f"{where}.title", entry.get("title"), rule=n)
                former = _strings(spots, f"{where}.former", entry.get("former", []), rule=n)
                sev = _severity(spots, f"{where}.severity", entry.get("severity"), severity, rule=n)
                src = _text(spots, f"{where}.source", entry.get("source"), rule=n) or source
                leaders.append(({"name": name, "title": title, "former": former}, sev, src, file_name, n))
                titles.update([title, *former])
                continue
            _check_keys(spots, n, entry, _RULE_KEYS)
            match = _required(spots, f"{where}.match", entry.get("match"), rule=n)
            suggest = _text(
                spots, f"{where}.suggest", entry.get("suggest"), required=kind in ("typo", "expression"), rule=n
            )
            if suggest == match:
                raise spots.error(f"{where}.suggest", "suggest is the same as match", rule=n)
            allow = tuple(_strings(spots, f"{where}.allow", entry.get("allow", []), rule=n))
            sev = _severity(spots, f"{where}.severity", entry.get("severity"), severity, rule=n)
            src = _text(spots, f"{where}.source", entry.get("source"), rule=n) or source
            key = f"{match}→{suggest}" if suggest else match
            ruleset.rules.append(Rule(CHECK_OF_KIND[kind], sev, match, suggest, src, file_name, key, allow))
        ruleset.files.append(str(path))
        ruleset.counts[str(path)] = len(entries)
    ruleset.rules.extend(_leader_rules(leaders, titles))
    return ruleset


def _leader_rules(leaders: Sequence[tuple[dict[str, Any], str, str, str, int]], titles: set[str]) -> list[Rule]:
    """A leader named with a former title, or with any other known title, either way round (市长张三,
    张三市长). The current title, and 原/前 before a former one, are correct and mask what they contain."""
    out: list[Rule] = []
    for leader, severity, source, file_name, _n in leaders:
        name, current, former = leader["name"], leader["title"], leader["former"]
        correct = [current + name, name + current]
        correct += [p + t + name for t in former for p in ("原", "前")]
        for t in sorted(titles):
            if t == current:
                continue
            key = f"{name}：{t}→{current}"
            for pattern in (t + name, name + t):
                out.append(Rule("leader_title", severity, pattern, current, source, file_name, key, tuple(correct)))
    return out


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleFileError(f"{path}: cannot read the rule file ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RuleFileError(f"{path}: not UTF-8 text", hint="save the rule file as UTF-8") from None


class _Spots:
    """Line numbers for the keys of a parsed file (tomllib gives none): the n-th [[rule]] header, and the
    first line after it that sets the key."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.rule_lines = [i + 1 for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*rule\s*\]\]", line)]

    def line_of(self, key: str, rule: int | None) -> int | None:
        bare = key.rsplit(".", 1)[-1]
        start, stop = 0, len(self.lines)
        if rule is not None and 0 < rule <= len(self.rule_lines):
            start = self.rule_lines[rule - 1]
            stop = self.rule_lines[rule] - 1 if rule < len(self.rule_lines) else len(self.lines)
        elif key.startswith("list"):
            for i, line in enumerate(self.lines):
                if re.match(r"\s*\[\s*list\s*\]", line):
                    start = i
                    break
        for i in range(start, stop):
            if re.match(rf"\s*\"?{re.escape(bare)}\"?\s*=", self.lines[i]):
                return i + 1
        if rule is not None and 0 < rule <= len(self.rule_lines):
            return self.rule_lines[rule - 1]
        return None

    def error(self, key: str, what: str, *, rule: int | None = None) -> RuleFileError:
        line = self.line_of(key, rule)
        where = f"{self.path}, line {line}" if line else str(self.path)
        return RuleFileError(f"{where}, key {key}: {what}")


def _check_keys(spots: _Spots, n: int, entry: Any, allowed: set[str]) -> None:
    if not isinstance(entry, dict):
        raise spots.error(f"rule #{n}", "a rule must be a table", rule=n)
    for key in entry:
        if key not in allowed:
            raise spots.error(
                f"rule #{n}.{key}", f"unknown key {key!r} (expected {', '.join(sorted(allowed))})", rule=n
            )


def _text(spots: _Spots, key: str, value: Any, *, required: bool = False, rule: int | None = None) -> str | None:
    if value is None:
        if required:
            raise spots.error(key, "missing", rule=rule)
        return None
    if not isinstance(value, str) or not value.strip():
        raise spots.error(key, "must be non-empty text", rule=rule)
    value = value.strip()
    if len(value) > MAX_PATTERN and not key.endswith(("source", "name")):
        raise spots.error(key, f"longer than {MAX_PATTERN} characters", rule=rule)
    return value


def _required(spots: _Spots, key: str, value: Any, *, rule: int | None = None) -> str:
    text = _text(spots, key, value, required=True, rule=rule)
    assert text is not None
    return text


def _strings(spots: _Spots, key: str, value: Any, *, rule: int | None = None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise spots.error(key, "must be a list of non-empty texts", rule=rule)
    return [v.strip() for v in value]


def _severity(spots: _Spots, key: str, value: Any, default: str, *, rule: int | None = None) -> str:
    if value is None:
        return default
    if value not in SEVERITIES:
        raise spots.error(key, f"severity must be one of {', '.join(SEVERITIES)}, not {value!r}", rule=rule)
    return str(value)
