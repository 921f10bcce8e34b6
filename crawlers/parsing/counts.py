"""Counts as the platforms send them: numbers, or text such as "1.2万", "1.2万+", "100万+", "3亿", "1,234".

The stored number is the lower bound; the raw text is kept when it was approximate. A missing count is
None (missing is not zero); a negative, non-numeric or absurd one is None with the flag "bad_count".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

BAD = "bad_count"
ABSURD = 10**12
MAX_RAW_CHARS = 50

_MULTIPLIERS = {"": 1, "k": 1000, "千": 1000, "w": 10_000, "万": 10_000, "亿": 100_000_000}
_COUNT = re.compile(r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[kw千万亿]?)\s*(?P<plus>\+?)")


def parse_count(value: object) -> tuple[int | None, str | None, list[str]]:
    """(lower bound, raw text when approximate, flags)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None, []
    if isinstance(value, bool):  # JSON true/false is not a count
        return None, None, [BAD]
    if isinstance(value, int):
        return (value, None, []) if 0 <= value <= ABSURD else (None, None, [BAD])
    if isinstance(value, float):
        if not math.isfinite(value) or not 0 <= value <= ABSURD:
            return None, None, [BAD]
        return math.floor(value), None if value.is_integer() else repr(value), []
    if not isinstance(value, str):
        return None, None, [BAD]
    raw = value.strip()[:MAX_RAW_CHARS]
    text = unicodedata.normalize("NFKC", raw).lower().replace(",", "").replace(" ", "")
    m = _COUNT.fullmatch(text)
    if not m:
        return None, None, [BAD]
    try:
        number = Decimal(m.group("num")) * _MULTIPLIERS[m.group("unit")]
    except InvalidOperation:
        return None, None, [BAD]
    if number > ABSURD:
        return None, None, [BAD]
    approximate = bool(m.group("unit") or m.group("plus")) or number != number.to_integral_value()
    return int(number), raw if approximate else None, []


def read_counts(values: Mapping[str, object]) -> tuple[dict[str, int | None], dict[str, str], list[str]]:
    """Parse several counts at once: ({field: number}, {field: raw text}, flags)."""
    numbers: dict[str, int | None] = {}
    raws: dict[str, str] = {}
    flags: list[str] = []
    for name, value in values.items():
        numbers[name], raw, more = parse_count(value)
        if raw is not None:
            raws[name] = raw
        flags.extend(f for f in more if f not in flags)
    return numbers, raws, flags
