"""Fetch outcomes as stretches: what one stored outcome row says up to a given time.

The patrol's store folds a visit into the account's latest outcome row when the outcome, source, HTTP
status and reason are the same (registry.observations): a row is then a stretch of identical outcomes,
from its first visit (`fetched_at`) to its latest (`last_fetched_at`, None for a single visit), counting
`visits`. The newest row whose first visit is not after a time is the outcome then; these expressions
give, as of that time, when the account was last visited and how many of the stretch's visits had been
made. A time inside a stretch counts only its first visit (the ones between are not kept).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal

from registry.types import TZDateTime


def last_visit(o: Any) -> Any:
    """SQL: the stretch's latest visit."""
    return func.coalesce(o.c.last_fetched_at, o.c.fetched_at)


def seen_at(o: Any, as_of: datetime | Any | None = None) -> Any:
    """SQL: the latest visit of the stretch up to `as_of` (a datetime or an SQL expression; None: now,
    its latest visit)."""
    if as_of is None:
        return last_visit(o)
    bound = literal(as_of, TZDateTime()) if isinstance(as_of, datetime) else as_of
    return case((last_visit(o) <= bound, last_visit(o)), else_=o.c.fetched_at)


def visits_until(o: Any, as_of: datetime | Any | None = None) -> Any:
    """SQL: how many visits of the stretch were made up to `as_of` (None: all)."""
    if as_of is None:
        return o.c.visits
    bound = literal(as_of, TZDateTime()) if isinstance(as_of, datetime) else as_of
    return case((last_visit(o) <= bound, o.c.visits), else_=1)
