"""Report labels in Chinese and English: one TOML catalog per language (reports/locale/<lang>.toml).

Two languages and a few hundred short labels do not need gettext's plural machinery; a TOML table per
language is readable by translators, diffable, and loaded with the standard library. Both catalogs must
hold the same keys (a test checks it), and a missing key is an error at render time, never a blank.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from registry.errors import ValidationError

LOCALE_DIR = Path(__file__).parent / "locale"
LANGS = ("zh", "en")


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
        raise ValidationError(f"unknown report language {lang!r}", hint=f"use one of: {', '.join(LANGS)}")
    with open(LOCALE_DIR / f"{lang}.toml", "rb") as fh:
        return _flatten(tomllib.load(fh))


class Translator:
    """`t("section.summary")`, `t("col.posts", days=90)`; `t.maybe("outcome.x")` for data-driven keys."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.messages = catalog(lang)

    def __call__(self, key: str, **params: Any) -> str:
        try:
            text = self.messages[key]
        except KeyError:
            raise KeyError(f"report label {key!r} missing from {self.lang}.toml") from None
        return text.format(**params) if params else text

    def maybe(self, key: str, default: str | None = None) -> str:
        """A label for a value that comes from data (a status, an outcome); the raw value if unknown."""
        return self.messages.get(key, default if default is not None else key.rsplit(".", 1)[-1])

    def section(self, prefix: str) -> dict[str, str]:
        """All labels under `prefix.` (for the script of the interactive table)."""
        return {k[len(prefix) + 1:]: v for k, v in self.messages.items() if k.startswith(prefix + ".")}
