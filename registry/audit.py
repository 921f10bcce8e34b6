"""The audit trail: every change to a unit or an account, with when, who, and which fields went from
what to what. Changes are stored as {field: [old, new]} with JSON-safe values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from registry.bulk import insert_dicts
from registry.models import AuditEntry
from registry.timeutil import utcnow

ORG = "organization"
ACCOUNT = "account"


def json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields of `after` whose value differs from `before`."""
    return {k: [json_value(before.get(k)), json_value(v)] for k, v in after.items() if before.get(k) != v}


def created(fields: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {k: [None, json_value(v)] for k, v in fields.items() if v is not None}


def entry(
    *, actor: str, entity: str, entity_id: int, action: str, changes: dict[str, list[Any]], at: datetime | None = None
) -> dict[str, Any]:
    return {
        "at": at or utcnow(),
        "actor": actor,
        "entity": entity,
        "entity_id": entity_id,
        "action": action,
        "changes": changes,
    }


def record(session: Session, **kw: Any) -> None:
    """One change (see entry() for the arguments)."""
    record_many(session, [entry(**kw)])


def record_many(session: Session, entries: list[dict[str, Any]]) -> None:
    """Many changes in one batched insert (an import of a whole roster)."""
    insert_dicts(session.connection(), AuditEntry.__table__, entries)


def history(session: Session, *, entity: str, entity_id: int, limit: int | None = None) -> list[AuditEntry]:
    """The entity's changes, oldest first (the newest `limit` when given)."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    )
    if limit:
        query = query.limit(limit)
    return list(reversed(session.exec(query).all()))
