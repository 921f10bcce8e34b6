"""`govpulse config show`: the effective configuration, secrets masked."""

from __future__ import annotations

import click

from govpulse.context import app
from govpulse.output import emit_json


@click.group("config")
def config_group() -> None:
    """Configuration."""


@config_group.command("show")
def config_show() -> None:
    """Print the effective configuration (defaults, file, environment) with secrets masked."""
    settings = app().settings
    emit_json(
        {
            "file": str(settings.path) if settings.path else None,
            "overrides": settings.sources,
            "settings": settings.masked(),
        }
    )


COMMANDS: list[click.Command] = [config_group]
