"""Output for people and scripts: rich tables on a terminal, plain tab-separated text when piped,
JSON with --json, progress bars only on a terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import click

from registry.timeutil import to_local

MAX_LIMIT = 1_000_000_000  # --limit values: far beyond any registry, within the database's integers


def is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))


def fmt(value: Any) -> str:
    """A cell: None as '—' (missing is not zero), times in Asia/Shanghai."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, datetime):
        local = to_local(value)
        return local.strftime("%Y-%m-%d %H:%M") if local else "—"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def emit_table(rows: Iterable[Sequence[Any]], columns: Sequence[str], *, title: str | None = None) -> None:
    rows = [[fmt(v) for v in row] for row in rows]
    if is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_lines=False)
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    if title:
        click.echo(f"# {title}")
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in row))


def emit_kv(pairs: Sequence[tuple[str, Any]], *, title: str | None = None) -> None:
    """Aligned `label  value` lines; labels padded by display width (a Chinese character is two columns)."""
    from rich.cells import cell_len

    if title:
        click.echo(title)
    width = max((cell_len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        click.echo(f"  {key}{' ' * (width - cell_len(key))}  {fmt(value)}")


class _NoProgress:
    def advance(self, n: int = 1) -> None:
        pass

    def update(self, **_: Any) -> None:
        pass


@contextmanager
def progress(total: int | None, description: str) -> Iterator[Any]:
    """A progress bar on a terminal (stderr), silent otherwise. Yields an object with advance(n)."""
    if not sys.stderr.isatty():
        yield _NoProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total)

        class _Handle:
            def advance(self, n: int = 1) -> None:
                bar.advance(task, n)

            def update(self, **kw: Any) -> None:
                bar.update(task, **kw)

        yield _Handle()
