"""The bulletins (通报) an office issued: recording one, with the cases it names marked published in the
same transaction, and finding the one before it (whose problems the next bulletin and the report follow up).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from registry.bulk import insert_many
from registry.cases.step import EVENT_COLUMNS
from registry.periods import period_of
from registry.models import Bulletin, BulletinCase, CaseEvent, RectificationCase
from registry.timeutil import to_local

CHUNK = 5000


def previous_bulletin(conn: Connection, *, org_id: int | None, before: date | None = None) -> dict[str, Any] | None:
    """The bulletin last issued for the same scope (every unit, or the unit); with `before`, the last one
    of a period that ended before that day (a bulletin re-issued for a later period is not "previous")."""
    b = Bulletin.__table__
    stmt = select(b).where(b.c.org_id.is_(None) if org_id is None else b.c.org_id == org_id)
    for row in conn.execute(stmt.order_by(b.c.issued_at.desc(), b.c.id.desc())).mappings():
        if before is None or period_of(row["period"]).last < before:
            return dict(row)
    return None


def next_number(conn: Connection, year: int) -> int:
    b = Bulletin.__table__
    return int(conn.execute(select(func.coalesce(func.max(b.c.number), 0)).where(b.c.year == year)).scalar_one()) + 1


def record_bulletin(
    conn: Connection,
    *,
    period: str,
    number: int,
    doc_no: str,
    org_id: int | None,
    run_id: int | None,
    lang: str,
    actor: str,
    now: datetime,
    cases: list[dict[str, Any]],
    figures: dict[str, Any],
) -> int:
    """Store the bulletin and the cases it names, and mark them published: a 通报 event in each case's
    timeline, and published_at/published_in on the cases named for the first time. All in `conn`'s
    transaction, so that a bulletin not written leaves no case marked."""
    local = to_local(now)
    assert local is not None
    b = Bulletin.__table__
    bulletin_id = conn.execute(
        b.insert()
        .values(
            period=period,
            year=local.year,
            number=number,
            doc_no=doc_no,
            org_id=org_id,
            run_id=run_id,
            lang=lang,
            issued_at=now,
            actor=actor,
            figures=figures,
        )
        .returning(b.c.id)
    ).scalar_one()
    named = {c["id"]: c for c in cases}  # a case named under two headings is one row
    insert_many(
        conn,
        BulletinCase.__table__,
        ("bulletin_id", "case_id", "stage"),
        [(bulletin_id, case_id, c["stage"]) for case_id, c in named.items()],
    )
    c = RectificationCase.__table__
    first = [case_id for case_id, row in named.items() if row["published_at"] is None]
    for start in range(0, len(first), CHUNK):
        conn.execute(
            update(c)
            .where(c.c.id.in_(first[start : start + CHUNK]), c.c.published_at.is_(None))
            .values(published_at=now, published_in=period)
        )
    data = {"period": period, "bulletin": doc_no or f"{local.year}-{number}"}
    note = f"{doc_no} ({period})" if doc_no else period  # what the timeline shows beside the event
    events = [(case_id, now, "published", actor, None, row["stage"], note, data) for case_id, row in named.items()]
    for start in range(0, len(events), CHUNK):
        insert_many(conn, CaseEvent.__table__, EVENT_COLUMNS, events[start : start + CHUNK])
    return bulletin_id
