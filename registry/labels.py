"""The label catalog: every word govpulse shows for a code (statuses, platforms, outcomes, flags,
changes, actions) and the report's own texts, in Chinese and English. One TOML file per language
(registry/locale/<lang>.toml), read by the command line, the report, the notices and the alerts.

Two languages and a few hundred short labels do not need gettext's plural machinery; a TOML table per
language is readable by translators, diffable, and loaded with the standard library. Both catalogs hold
the same keys, and every code of registry.vocabulary has a label in both (tests/test_vocabulary.py).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from registry.errors import ValidationError
from registry.i18n import LANGS, current_lang

LOCALE_DIR = Path(__file__).parent / "locale"


def _flatten(node: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out


@cache
def catalog(lang: str) -> dict[str, str]:
    if lang not in LANGS:
        raise ValidationError(f"unknown language {lang!r} / 未知语言 {lang!r}", hint=f"use one of: {', '.join(LANGS)}")
    with open(LOCALE_DIR / f"{lang}.toml", "rb") as fh:
        return _flatten(tomllib.load(fh))


def label(section: str, code: str | None, lang: str | None = None) -> str:
    """The word for a code (`label("status", "zombie")` -> 僵尸), in `lang` or the current language.
    "—" for None; the code itself when the catalog has no label for it (a value from elsewhere)."""
    if code is None:
        return "—"
    return catalog(lang or current_lang()).get(f"{section}.{code}", code)


def labels(section: str, codes: tuple[str, ...], lang: str | None = None) -> dict[str, str]:
    return {code: label(section, code, lang) for code in codes}
