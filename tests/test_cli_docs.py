"""Every command of `govpulse` (the whole click tree) is documented in docs/ and has its help in both
languages: Chinese by default, English with --lang en or GOVPULSE_LANG=en (as sqlite-utils checks that
each of its commands is in its documentation)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from govpulse.cli import cli
from govpulse.help import chinese, chinese_help, localize, option_name, walk

DOCS = Path(__file__).resolve().parent.parent / "docs"
COMMANDS = [path for path, _ in walk(cli)]


def _english(path: str) -> click.Command:
    localize(cli, "en")
    return dict(walk(cli))[path]


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0]


def _flat(text: str | None) -> str:
    """Without whitespace: click wraps lines, and Chinese wraps anywhere."""
    return re.sub(r"\s+", "", text or "")


def _help(args: list[str], env: dict[str, str | None]) -> str:
    result = CliRunner().invoke(cli, args, env=env, prog_name="govpulse")
    assert result.exit_code == 0, result.output
    return _flat(result.output)


def test_every_command_is_in_the_docs() -> None:
    docs = re.sub(r"\s+", " ", " ".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md")))
    missing = [path for path in COMMANDS if path and f"govpulse {path}" not in docs]
    assert missing == [], f"commands not in docs/: {missing}"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: p or "govpulse")
def test_every_command_has_help_in_both_languages(path: str) -> None:
    command = _english(path)
    english = {option_name(p): p.help for p in command.params if isinstance(p, click.Option) and p.help}
    assert command.help, f"{path or 'govpulse'}: no English help"
    zh, zh_options = chinese_help(path)
    assert zh, f"{path or 'govpulse'}: no Chinese help in govpulse/help_zh.toml"
    assert sorted(set(english) - set(zh_options)) == [], f"{path}: options without Chinese help"

    args = [*path.split(), "--help"]
    chinese_page = _help(args, {"GOVPULSE_LANG": None})
    english_page = _help(["--lang", "en", *args], {"GOVPULSE_LANG": None})
    assert _help(args, {"GOVPULSE_LANG": "en"}) == english_page
    assert _flat(_first_line(zh)) in chinese_page and _flat(_first_line(command.help)) not in chinese_page
    assert _flat(_first_line(command.help)) in english_page
    assert _flat(chinese()["option"]["--help"]) in chinese_page and "Showthismessageandexit." in english_page
    for name, text in english.items():
        assert _flat(zh_options[name]) in chinese_page, (path, name)
        assert _flat(text) in english_page, (path, name)
