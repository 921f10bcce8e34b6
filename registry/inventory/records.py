"""Work groups and apps: add, find, list, dissolve or merge a group, close an app. Keyword-only functions
taking a session; every change goes to the audit trail (entities work_group and gov_app) in the same
transaction, as for accounts."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select, update

from registry import audit
from registry.errors import ConflictError, NotFoundError, ValidationError
from registry.fields import clean_name, local_today, parse_options
from registry.i18n import L
from registry.inventory.fields import APP_PARSERS, GROUP_PARSERS, GROUP_PLATFORMS, GROUP_STATUSES, TEMPORARY_WORD, label
from registry.merging import check_merge
from registry.models import GovApp, WorkGroup
from registry.orgs import OrgIndex, find_org, org_subtree_select
from registry.timeutil import utcnow

GROUP = "work_group"
APP = "gov_app"
GROUP_NAME = ("群名称", "group name")
APP_NAME = ("应用名称", "app name")
GROUP_FIELDS = (
    "org",
    "platform",
    "name",
    "category",
    "temporary",
    "ends_on",
    "owner",
    "members",
    "status",
    "status_changed_on",
    "status_reason",
    "merged_into",
    "notes",
)
APP_FIELDS = ("org", "kind", "name", "filing_no", "duties", "status", "closed_on", "closure_notice", "notes")


def group_ref(group_id: int | None) -> str | None:
    return f"#{group_id}" if group_id is not None else None


def group_snapshot(group: WorkGroup, index: OrgIndex) -> dict[str, Any]:
    """The audited fields of a group (its unit as a path, its merge target as #number)."""
    return {
        "org": index.path(group.org_id),
        "platform": group.platform,
        "name": group.name,
        "category": group.category,
        "temporary": group.temporary,
        "ends_on": group.ends_on,
        "owner": group.owner,
        "members": group.members,
        "status": group.status,
        "status_changed_on": group.status_changed_on,
        "status_reason": group.status_reason,
        "merged_into": group_ref(group.merged_into_id),
        "notes": group.notes,
    }


def app_snapshot(app: GovApp, index: OrgIndex) -> dict[str, Any]:
    return {
        "org": index.path(app.org_id),
        "kind": app.kind,
        "name": app.name,
        "filing_no": app.filing_no,
        "duties": list(app.duties or []),
        "status": app.status,
        "closed_on": app.closed_on,
        "closure_notice": app.closure_notice,
        "notes": app.notes,
    }


def is_temporary(temporary: bool | None, category: str | None) -> bool:
    return bool(temporary) or bool(category and TEMPORARY_WORD in category)


def check_temporary(temporary: bool, ends_on: date | None) -> None:
    if temporary and ends_on is None:
        raise ValidationError(
            L("临时群需要结束日期", "a temporary group needs an end date"),
            hint=L("用 --ends 给出结束日期, 如 --ends 2026-06-30", "give it with --ends, e.g. --ends 2026-06-30"),
        )


def _number(ref: str | int, what: tuple[str, str]) -> int:
    text = str(ref).strip().lstrip("#")
    if not text.isdigit() or len(text) > 12:
        raise ValidationError(
            L(f"{what[0]}编号应为数字, 不是 {str(ref)!r}", f"a {what[1]} number is a whole number, not {str(ref)!r}"),
            hint=L("编号见 list 命令的 # 列", "see the # column of the list command"),
        )
    return int(text)


def find_group(session: Session, ref: str | int) -> WorkGroup:
    group = session.get(WorkGroup, _number(ref, ("群", "group")))
    if group is None:
        raise NotFoundError(
            L(f"没有编号为 {ref} 的工作群", f"no work group number {ref}"),
            hint=L("用 govpulse group list 查看", "see govpulse group list"),
        )
    return group


def find_app(session: Session, ref: str | int) -> GovApp:
    app = session.get(GovApp, _number(ref, ("应用", "app")))
    if app is None:
        raise NotFoundError(
            L(f"没有编号为 {ref} 的政务应用", f"no app number {ref}"),
            hint=L("用 govpulse app list 查看", "see govpulse app list"),
        )
    return app


def add_group(session: Session, *, actor: str, org: str, platform: str, name: str, **options: Any) -> WorkGroup:
    """Register a work group; options are GROUP_PARSERS fields (None = not given)."""
    index = OrgIndex.load(session)
    unit = find_org(session, org, index=index)
    values = parse_options(GROUP_PARSERS, {"platform": platform, **options})
    if values.get("platform") is None:
        raise ValidationError(L("缺少群平台 (--platform)", "the group platform is missing (--platform)"))
    group_name = clean_name(name, what=GROUP_NAME)
    temporary = is_temporary(values.get("temporary"), values.get("category"))
    check_temporary(temporary, values.get("ends_on"))
    same = session.exec(
        select(WorkGroup).where(
            WorkGroup.org_id == unit.id, WorkGroup.platform == values["platform"], WorkGroup.name == group_name
        )
    ).first()
    if same is not None:
        raise ConflictError(
            L(
                f"{index.path(unit.id)} 已有{label(GROUP_PLATFORMS, values['platform'])}群 {group_name!r} (#{same.id})",
                f"{index.path(unit.id)} already has the {values['platform']} group {group_name!r} (#{same.id})",
            )
        )
    group = WorkGroup(
        org_id=unit.id,
        name=group_name,
        temporary=temporary,
        **{k: v for k, v in values.items() if v is not None and k != "temporary"},
    )
    if group.status != "active":
        group.status_changed_on = group.status_changed_on or local_today()
    session.add(group)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity=GROUP,
        entity_id=group.id,
        action="create",
        changes=audit.created(group_snapshot(group, index)),
    )
    return group


def add_app(session: Session, *, actor: str, org: str, kind: str, name: str, **options: Any) -> GovApp:
    """Register an app or mini program; options are APP_PARSERS fields (None = not given)."""
    index = OrgIndex.load(session)
    unit = find_org(session, org, index=index)
    values = parse_options(APP_PARSERS, {"kind": kind, **options})
    if values.get("kind") is None:
        raise ValidationError(L("缺少应用类型 (--kind)", "the app kind is missing (--kind)"))
    app_name = clean_name(name, what=APP_NAME)
    same = session.exec(
        select(GovApp).where(GovApp.org_id == unit.id, GovApp.kind == values["kind"], GovApp.name == app_name)
    ).first()
    if same is not None:
        raise ConflictError(
            L(
                f"{index.path(unit.id)} 已登记应用 {app_name!r} (#{same.id})",
                f"{index.path(unit.id)} already has the app {app_name!r} (#{same.id})",
            )
        )
    app = GovApp(
        org_id=unit.id,
        name=app_name,
        duties=values.pop("duties", None) or [],
        **{k: v for k, v in values.items() if v is not None},
    )
    session.add(app)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity=APP,
        entity_id=app.id,
        action="create",
        changes=audit.created(app_snapshot(app, index)),
    )
    return app


def _check_open_group(group: WorkGroup, doing: tuple[str, str]) -> None:
    if group.status != "active":
        zh, en = GROUP_STATUSES[group.status][0]
        raise ConflictError(
            L(
                f"工作群 #{group.id} 已{zh.removeprefix('已')} ({group.status_changed_on or '日期不详'}), 不能{doing[0]}",
                f"work group #{group.id} is already {en} ({group.status_changed_on or 'date unknown'}); "
                f"cannot {doing[1]} it",
            )
        )


def _change(
    session: Session, entity: str, record: Any, snapshot: Any, action: str, actor: str, apply: dict[str, Any]
) -> dict[str, list[Any]]:
    index = OrgIndex.load(session)
    before = snapshot(record, index)
    for key, value in apply.items():
        setattr(record, key, value)
    record.updated_at = utcnow()
    session.add(record)
    session.flush()
    changes = audit.diff(before, snapshot(record, index))
    audit.record(session, actor=actor, entity=entity, entity_id=record.id, action=action, changes=changes)
    return changes


def dissolve_group(
    session: Session, group: WorkGroup, *, actor: str, on: date | str | None = None, reason: str | None = None
) -> dict[str, list[Any]]:
    """Mark a group dissolved (解散) on a date (default today, Asia/Shanghai)."""
    _check_open_group(group, ("解散", "dissolve"))
    values = parse_options(GROUP_PARSERS, {"status_changed_on": on, "status_reason": reason})
    return _change(
        session,
        GROUP,
        group,
        group_snapshot,
        "dissolve",
        actor,
        {
            "status": "dissolved",
            "status_changed_on": values.get("status_changed_on") or local_today(),
            "status_reason": values.get("status_reason"),
        },
    )


def merge_group(
    session: Session,
    group: WorkGroup,
    into: WorkGroup,
    *,
    actor: str,
    on: date | str | None = None,
    reason: str | None = None,
) -> int:
    """Merge a group into another (the rule of every merge: registry.merging); groups merged into it
    earlier now point at the target too. Returns how many were re-pointed."""
    check_merge(f"#{group.id}", f"#{into.id}", into.status, final_target=group_ref(into.merged_into_id))
    _check_open_group(group, ("合并", "merge"))
    values = parse_options(GROUP_PARSERS, {"status_changed_on": on, "status_reason": reason})
    earlier = session.exec(select(WorkGroup).where(WorkGroup.merged_into_id == group.id)).all()
    _change(
        session,
        GROUP,
        group,
        group_snapshot,
        "merge",
        actor,
        {
            "status": "merged",
            "status_changed_on": values.get("status_changed_on") or local_today(),
            "status_reason": values.get("status_reason"),
            "merged_into_id": into.id,
        },
    )
    entries = [
        audit.entry(
            actor=actor,
            entity=GROUP,
            entity_id=into.id,
            action="merge",
            changes={"merged_from": [None, f"#{group.id}"]},
        )
    ]
    entries += [
        audit.entry(
            actor=actor,
            entity=GROUP,
            entity_id=g.id,
            action="merge",
            changes={"merged_into": [f"#{group.id}", f"#{into.id}"]},
        )
        for g in earlier
    ]
    if earlier:
        session.exec(
            update(WorkGroup)
            .where(col(WorkGroup.id).in_([g.id for g in earlier]))
            .values(merged_into_id=into.id, updated_at=utcnow())
        )
    audit.record_many(session, entries)
    return len(earlier)


def close_app(
    session: Session, app: GovApp, *, actor: str, on: date | str | None = None, notice: str | None = None
) -> dict[str, list[Any]]:
    """Mark an app closed (关停) on a date, with where its closure was announced (a URL or a document)."""
    if app.status == "closed":
        raise ConflictError(
            L(
                f"应用 #{app.id} 已关停 ({app.closed_on or '日期不详'})",
                f"app #{app.id} is already closed ({app.closed_on or 'date unknown'})",
            )
        )
    values = parse_options(APP_PARSERS, {"closed_on": on, "closure_notice": notice})
    return _change(
        session,
        APP,
        app,
        app_snapshot,
        "close",
        actor,
        {
            "status": "closed",
            "closed_on": values.get("closed_on") or local_today(),
            "closure_notice": values.get("closure_notice") or app.closure_notice,
        },
    )


def _scope(session: Session, org: str | None) -> Any:
    return org_subtree_select(find_org(session, org).id) if org else None


def list_groups(session: Session, *, org: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Groups (of a unit and the units below it), as plain rows, by unit then number."""
    index = OrgIndex.load(session)
    query = select(WorkGroup).order_by(WorkGroup.org_id, WorkGroup.id)
    scope = _scope(session, org)
    if scope is not None:
        query = query.where(col(WorkGroup.org_id).in_(scope))
    if status:
        query = query.where(WorkGroup.status == parse_options(GROUP_PARSERS, {"status": status})["status"])
    return [{"id": g.id, "org_id": g.org_id, **group_snapshot(g, index)} for g in session.exec(query)]


def list_apps(session: Session, *, org: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    index = OrgIndex.load(session)
    query = select(GovApp).order_by(GovApp.org_id, GovApp.id)
    scope = _scope(session, org)
    if scope is not None:
        query = query.where(col(GovApp.org_id).in_(scope))
    if status:
        query = query.where(GovApp.status == parse_options(APP_PARSERS, {"status": status})["status"])
    return [{"id": a.id, "org_id": a.org_id, **app_snapshot(a, index)} for a in session.exec(query)]
