"""Command help in the user's language: Chinese by default, English with --lang en or GOVPULSE_LANG=en.

The English help is click's own (docstrings and help= texts, next to the code); the Chinese is in
govpulse/help_zh.toml, by command path, with option texts shared by commands under [option]. The tree's
texts are set for one invocation before click parses it (the group's --help is read before any callback).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import click

from registry.i18n import LANGS

CATALOG = Path(__file__).with_name("help_zh.toml")


@cache
def chinese() -> dict[str, Any]:
    with open(CATALOG, "rb") as fh:
        return tomllib.load(fh)


def walk(command: click.Command, path: str = "") -> Iterator[tuple[str, click.Command]]:
    """Every command of the tree with its path ("" for the root, "account add")."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, f"{path} {name}".strip())


def option_name(option: click.Option) -> str:
    return next((o for o in option.opts if o.startswith("--")), option.opts[0])


def chinese_help(path: str) -> tuple[str | None, dict[str, str]]:
    """The Chinese help of a command and of its options (shared texts, then the command's own)."""
    catalog = chinese()
    entry = catalog.get("command", {}).get(path, {})
    return entry.get("help"), {**catalog.get("option", {}), **entry.get("options", {})}


def localize(root: click.Command, lang: str) -> None:
    """Set every command's and option's help text to `lang`; English where Chinese is missing."""
    names = (root.context_settings or {}).get("help_option_names", ["--help"])
    for path, command in walk(root):
        help_option = command.get_help_option(click.Context(command, help_option_names=names))
        if help_option is not None:  # click's own --help (created once per command, then reused)
            help_option.__dict__.setdefault("_help_en", help_option.help)
            help_option.help = chinese()["option"]["--help"] if lang == "zh" else help_option.__dict__["_help_en"]
        english: dict[str, Any] = command.__dict__.setdefault(
            "_help_en",
            {
                "help": command.help,
                "short_help": command.short_help,
                "options": {option_name(p): p.help for p in command.params if isinstance(p, click.Option)},
            },
        )
        zh_help, zh_options = chinese_help(path) if lang == "zh" else (None, {})
        command.help = zh_help or english["help"]
        command.short_help = None if zh_help else english["short_help"]
        for param in command.params:
            if isinstance(param, click.Option):
                name = option_name(param)
                param.help = (
                    zh_options.get(name)
                    if english["options"][name] and name in zh_options
                    else english["options"][name]
                )


def language_of(args: Sequence[str]) -> str:
    """The language asked for on the command line (--lang xx, --lang=xx), else GOVPULSE_LANG, else zh."""
    lang = os.environ.get("GOVPULSE_LANG", "zh")
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            lang = args[i + 1]
        elif arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
    return lang if lang in LANGS else "zh"
