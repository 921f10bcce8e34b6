"""The page's JSON and the compiled templates kept between runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jinja2 import DictLoader, Environment
from jinja2.utils import htmlsafe_json_dumps

from reports import render


@pytest.mark.parametrize(
    "value",
    [
        {"name": "</script><script>alert('x')</script>", "unit": "区教育局 & 第一中学", 3: [1.5, None, "<b>"]},
        ["'", "\u2028", "a\u0000b", {"k": '"quoted" \\ back'}],
    ],
)
def test_tojson_escapes_as_jinja_does(value: object) -> None:
    ours = render.environment().from_string("{{ v|tojson }}").render(v=value)
    assert ours == htmlsafe_json_dumps(
        value, dumps=lambda v, **_: json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    )
    assert "<" not in ours and "&" not in ours and "'" not in ours
    assert json.loads(ours) == json.loads(json.dumps(value))  # keys that are not text become text


def _compiled(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def test_compiled_templates_are_kept_apart_per_version_of_the_filters(tmp_path: Path, monkeypatch) -> None:
    templates = DictLoader({"page.html": "{{ x|upper }}"})

    def page(key: str) -> str:
        monkeypatch.setattr(render, "code_key", lambda: key)
        cache = render._bytecode_cache(str(tmp_path))
        assert cache is not None
        return Environment(loader=templates, bytecode_cache=cache).get_template("page.html").render(x="ok")

    assert page("first") == "OK"
    first = _compiled(tmp_path)
    assert len(first) == 1 and "first" in next(iter(first))
    assert page("first") == "OK"
    assert _compiled(tmp_path) == first  # read again, not written again
    assert page("second") == "OK"
    added = _compiled(tmp_path) - first
    assert len(added) == 1 and "second" in next(iter(added))  # compiled anew beside the old code


def test_the_key_follows_the_module_that_declares_the_filters(monkeypatch) -> None:
    key = render.code_key()
    source = Path(render.__file__).read_bytes()
    monkeypatch.setattr(Path, "read_bytes", lambda self: source + b"\n# changed\n")
    assert render.code_key() != key
