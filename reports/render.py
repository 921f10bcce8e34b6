"""One Jinja2 environment for every report page, its filters, and the inline assets.

Autoescape is on for every template name (select_autoescape only matches .html/.htm/.xml otherwise), and
undefined names are errors. Crawled text is never marked safe; a crawled URL becomes a link only through
the `href` filter (http and https only). Data for the page script goes through |tojson into a
<script type="application/json"> block, which escapes <, >, & and ' so that "</script>" cannot close it.
The page carries a Content-Security-Policy that allows no request to any host and only its own script
(by hash), so even a mistake in escaping could not load or run anything else.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import orjson
from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from registry.safety import safe_http_url
from registry.timeutil import to_local
from reports.links import profile_url

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
DASH = "—"


def fmt_dt(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """An aware time in Asia/Shanghai; missing as "—"."""
    local = to_local(value)
    return local.strftime(pattern) if local else DASH


def official_date(value: datetime | None, lang: str = "zh") -> str:
    """The date as documents write it: 2026年12月4日 (no leading zeros), or 4 December 2026."""
    local = to_local(value)
    if local is None:
        return DASH
    return f"{local.year}年{local.month}月{local.day}日" if lang == "zh" else f"{local.day} {local:%B %Y}"


def fmt_num(value: Any) -> str:
    if value is None or value == "":
        return DASH
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def fmt_pct(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def fmt_dash(value: Any) -> Any:
    return DASH if value is None or value == "" else value


@cache
def asset(name: str) -> Markup:
    """A file of reports/static (our own CSS or script), inlined as is."""
    return Markup((STATIC / name).read_text(encoding="utf-8"))


def csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


class _Environment(Environment):
    """Jinja with `row.name` on a plain dict read as the item first: the pages read most values from row
    dicts, and the default (the attribute first) raises and catches an AttributeError for each of them.
    A dict's methods (`.get`) are still found where no item has their name."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


_HTML_UNSAFE = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"), (b"'", b"\\u0027"))


def html_json(value: Any) -> bytes:
    """tojson as Jinja writes it (compact JSON with < > & ' as \\u escapes, safe in a script element or an
    attribute; keys that are not text written as text, as json.dumps does), in UTF-8, escaped in the
    encoded bytes: those four are ASCII and never part of a multi-byte UTF-8 character, and one pass each
    over bytes is cheaper than over the decoded text (the accounts table's data is megabytes)."""
    data = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    for unsafe, escaped in _HTML_UNSAFE:
        data = data.replace(unsafe, escaped)
    return data


def _html_json(value: Any) -> Markup:
    return Markup(html_json(value).decode())


def code_key() -> str:
    """What the compiled templates depend on besides their source: this module (it declares the filters,
    and a template's compiled code calls a filter as it was declared then) and Jinja's version."""
    return hashlib.sha256(Path(__file__).read_bytes() + jinja2.__version__.encode()).hexdigest()[:16]


def _bytecode_cache(directory: str | None = None) -> FileSystemBytecodeCache | None:
    """The templates' compiled code kept between runs (Jinja's private folder under the system's temporary
    folder, checked to be this user's alone), so that a report does not compile them again; none where
    that folder cannot be used. Kept apart per code_key: Jinja checks only a template's own source, so
    code compiled by an earlier version of the filters would otherwise be run with the new ones."""
    try:
        return FileSystemBytecodeCache(directory, pattern=f"__govpulse_{code_key()}_%s.cache")
    except (OSError, RuntimeError):
        return None


@cache
def environment() -> Environment:
    env = _Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "htm", "xml", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_bytecode_cache(),
    )
    # Compact JSON with Chinese as UTF-8 rather than \\uXXXX (a third of the size), < > & ' escaped.
    env.filters.update(
        tojson=_html_json, dt=fmt_dt, cndate=official_date, num=fmt_num, pct=fmt_pct, dash=fmt_dash, href=safe_http_url
    )
    env.globals.update(profile_url=profile_url, asset=asset)
    return env


def render(template: str, *, styles: tuple[str, ...], script: str | None = None, **context: Any) -> str:
    """Render a page with the style sheets and the script of reports/static inlined; the script is
    allowed by its hash only."""
    js = asset(script) if script else None
    css = Markup("\n").join(asset(name) for name in ("base.css", *styles))
    return (
        environment()
        .get_template(template)
        .render(script=js, script_src=csp_hash(js) if js else "'none'", css=css, **context)
    )


# Where a page's data goes: markup that no value can produce (autoescape writes the "<" of any value as
# "&lt;"), replaced by the data's bytes when the page is written (Page).
DATA_SLOT = Markup("<govpulse-page-data/>")


@dataclass(frozen=True)
class Page:
    """A page rendered as text around its data, and the data as the JSON bytes orjson made: a hundred
    thousand accounts' data is never decoded into a Python text (Chinese takes twice its UTF-8 size
    there, and the page's text and its copies held it three times over)."""

    head: str
    data: bytes
    tail: str

    def write(self, path: Path) -> None:
        with path.open("wb") as out:
            out.write(self.head.encode())
            out.write(self.data)
            out.write(self.tail.encode())


def render_with_data(
    template: str, payload: Any, /, *, styles: tuple[str, ...], script: str | None = None, **context: Any
) -> Page:
    """render(), with `payload` written as JSON where the template places `page_data` (once)."""
    head, slot, tail = render(template, styles=styles, script=script, page_data=DATA_SLOT, **context).partition(
        DATA_SLOT
    )
    if not slot or DATA_SLOT in tail:
        raise RuntimeError(f"{template}: the page's data must be placed exactly once")
    return Page(head, html_json(payload), tail)


def render_fragment(template: str, **context: Any) -> Markup:
    """A part of a page (rendered with autoescape, so its output is markup to place as is)."""
    return Markup(environment().get_template(template).render(**context))
