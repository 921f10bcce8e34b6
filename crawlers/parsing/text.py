"""Platform text made safe to store: plain text, no control characters, size-limited; http(s) links only.

Escaping for HTML happens when a report is rendered; here the text only loses its markup (script and
style bodies included), its control and bidirectional-override characters and its excess length.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

from registry.digest import content_hash as content_hash  # shared with the scorer, which hashes unhashed posts
from registry.safety import safe_http_url

safe_url = safe_http_url  # shared with the reports' links

TITLE_LIMIT = 500  # registry.models.Post.title
TEXT_LIMIT = 2000  # registry.models.Post.text
NAME_LIMIT = 100
# Markup beyond this is not read: the stored text is at most a few thousand characters anyway.
MAX_INPUT_CHARS = 200_000

_BLOCK_TAGS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "blockquote"}
_SKIP_TAGS = {"script", "style", "template", "noscript", "head", "title"}
# Bidirectional overrides and zero-width characters can disguise text in a report.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag == "img":  # Weibo emoticons are <img alt="[微笑]">
            alt = dict(attrs).get("alt")
            if alt and not self._skipping:
                self.parts.append(alt)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def strip_markup(value: str) -> str:
    """Text content of an HTML fragment, entities decoded."""
    if "<" not in value and "&" not in value:
        return value
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    return "".join(parser.parts)


def clean_chars(value: str) -> str:
    """Remove control characters (keeping newline and tab), lone surrogates (which no database stores)
    and invisible overrides."""
    value = _INVISIBLE.sub("", value)
    if value.isprintable():
        return value
    return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))


def plain_text(value: object, *, limit: int, single_line: bool = False) -> str | None:
    """Markup stripped, control characters removed, spaces collapsed, at most `limit` characters."""
    if not isinstance(value, str):
        return None
    text = clean_chars(strip_markup(value[:MAX_INPUT_CHARS]))
    text = _SPACES.sub(" ", text)
    text = " ".join(text.split()) if single_line else _BLANK_LINES.sub("\n", text).strip()
    return truncate(text, limit) or None


def plain_title(value: object, *, limit: int = TITLE_LIMIT) -> str | None:
    return plain_text(value, limit=limit, single_line=True)


def truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
