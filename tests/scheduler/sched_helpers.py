"""Helpers shared by the scheduler tests (fixtures are in conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import select

DINGTALK_SECRET = "SECtest-signing-secret"
SMTP_PASSWORD = "s3cret-smtp"


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def rows(engine: Any, model: Any, *where: Any) -> list[Any]:
    """Rows of a table as mappings, in id order."""
    table = model.__table__
    query = select(*table.c).where(*where).order_by(*table.primary_key.columns)
    with engine.connect() as conn:
        return list(conn.execute(query).mappings())


def cli(*args: str) -> Result:
    """`govpulse --lang en ARGS` in-process, on the database and configuration of the environment."""
    from govpulse.cli import cli as group

    return CliRunner().invoke(group, ["--lang", "en", *args], catch_exceptions=False)
