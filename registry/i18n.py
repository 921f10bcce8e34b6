"""User-facing language: Chinese by default, English on request (`--lang en`, GOVPULSE_LANG=en).

CLI messages are written as pairs next to the code that emits them: `L("未知平台", "unknown platform")`.
Reports use their own catalogs in reports/.
"""

from __future__ import annotations

import os
from contextvars import ContextVar

LANGS = ("zh", "en")
_lang: ContextVar[str | None] = ContextVar("govpulse_lang", default=None)


def set_lang(lang: str | None) -> None:
    if lang is not None and lang not in LANGS:
        from registry.errors import ValidationError

        raise ValidationError(f"unknown language {lang!r} / 未知语言 {lang!r}", hint="use zh or en")
    _lang.set(lang)


def current_lang() -> str:
    lang = _lang.get() or os.environ.get("GOVPULSE_LANG", "zh")
    return lang if lang in LANGS else "zh"


def L(zh: str, en: str) -> str:
    """Pick the message in the current language."""
    return en if current_lang() == "en" else zh
