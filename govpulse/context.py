"""What every command needs: the settings, the database engine (opened lazily) and the actor."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from typing import Any

import click
from sqlalchemy.engine import Engine

from registry.config import Settings, load_settings
from registry.db import open_engine


@dataclass
class AppContext:
    config_path: str | None = None
    db_url: str | None = None
    actor_override: str | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path, database_url=self.db_url)
        return self._settings

    @property
    def engine(self) -> Engine:
        """The database, migrated to the current schema on first use."""
        if self._engine is None:
            self._engine = open_engine(self.settings.database_url)
        return self._engine

    @property
    def actor(self) -> str:
        if self.actor_override:
            return self.actor_override
        try:
            return os.environ.get("GOVPULSE_ACTOR") or getpass.getuser()
        except Exception:  # no passwd entry (containers)
            return f"uid:{os.getuid()}"

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def app(ctx: click.Context | None = None) -> AppContext:
    ctx = ctx or click.get_current_context()
    obj: Any = ctx.find_object(AppContext)
    if obj is None:
        obj = ctx.ensure_object(AppContext)
    return obj
