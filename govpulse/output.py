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
    """A table on a terminal when it fits its width, else one block per record; never a cut value.
    Piped: tab-separated lines."""
    rows = [[fmt(v) for v in row] for row in rows]
    if is_tty():
        from rich import box
        from rich.cells import cell_len
        from rich.console import Console
        from rich.table import Table

        console = Console()
        widths = [max([cell_len(c)] + [cell_len(r[i]) for r in rows]) for i, c in enumerate(columns)]
        if sum(widths) + 3 * len(columns) + 1 > console.width:  # rich would shrink the columns and cut names
            emit_blocks(rows, columns, title=title)
            return
        table = Table(title=title, show_lines=False, box=box.SIMPLE_HEAD)
        for col in columns:
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    if title:
        click.echo(f"# {title}")
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in row))


def emit_blocks(rows: Sequence[Sequence[str]], columns: Sequence[str], *, title: str | None = None) -> None:
    """Each record as a block of `label  value` lines (for a terminal too narrow for the table): values
    are whole, the terminal wraps a long one."""
    if title:
        click.echo(title)
    for i, row in enumerate(rows, 1):
        click.echo(f"── {i}/{len(rows)} " + "─" * 20)
        emit_kv(list(zip(columns, row, strict=True)))


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

    def log(self, text: str) -> None:
        click.echo(text, err=True)


@contextmanager
def progress(total: int | None, description: str) -> Iterator[Any]:
    """A progress bar on a terminal (stderr), silent otherwise. Yields an object with advance(n)."""
    if not sys.stderr.isatty():
        yield _NoProgress()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Column

    # What matters stays on the left, where a narrow terminal never pushes it off: the count, the time
    # elapsed and the time left; the description (with failure counts) takes what remains and is cut.
    console = Console(stderr=True)
    left = 15 + 1 + 7 + 1 + 7 + 1 + 12 + 1  # 123456/123456, elapsed, left, the bar, the gaps
    with Progress(
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        BarColumn(bar_width=12),
        TextColumn(
            "{task.description}",
            table_column=Column(no_wrap=True, overflow="ellipsis", width=max(10, console.width - left - 1)),
        ),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total)

        class _Handle:
            def advance(self, n: int = 1) -> None:
                bar.advance(task, n)

            def update(self, **kw: Any) -> None:
                bar.update(task, **kw)

            def log(self, text: str) -> None:  # above the live line, which stays whole below it
                bar.console.print(text, markup=False, highlight=False)

        yield _Handle()
