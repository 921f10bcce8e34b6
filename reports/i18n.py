"""Report labels: the catalog of registry.labels (registry/locale/<lang>.toml), looked up by key.

A missing key is an error at render time, never a blank.
"""

from __future__ import annotations

from typing import Any

from registry.i18n import LANGS
from registry.labels import catalog

__all__ = ["LANGS", "Translator", "catalog"]


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
        return {k[len(prefix) + 1 :]: v for k, v in self.messages.items() if k.startswith(prefix + ".")}
