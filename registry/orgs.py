"""Units (主办单位) and their tree: lookup by name, path or number; add, edit, move, remove; subtrees.

A unit is named by its name when that is unambiguous, or by its path from the top ("岳麓区/望月湖街道").
A path's first segment is a top-level unit of that name, else the only unit of that name anywhere.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select
from sqlmodel import Session, col, func, select

from registry import audit
from registry.errors import ConflictError, NotFoundError, ValidationError
from registry.fields import ORG_PARSERS, UNIT_NAME, clean_name, guess_level, parse_options
from registry.i18n import L
from registry.models import Account, Organization
from registry.timeutil import utcnow

PATH_SEP = "/"
_PATH_SPLIT = re.compile(r"\s*[/／]\s*")


# Province > city > district > street > community and the departments between: real trees are far
# shallower. A deeper path is a mistake (or hostile), refused before any unit is looked up or planned.
MAX_DEPTH = 16


def split_path(text: str) -> list[str]:
    """'岳麓区 / 望月湖街道' -> ['岳麓区', '望月湖街道'], each segment checked as a unit name."""
    segments = _PATH_SPLIT.split(str(text).strip())
    if len(segments) > MAX_DEPTH:
        raise ValidationError(
            L(
                f"单位路径有 {len(segments)} 级, 最多 {MAX_DEPTH} 级: {str(text)[:60]}…",
                f"a unit path of {len(segments)} levels (at most {MAX_DEPTH}): {str(text)[:60]}…",
            ),
            hint=L("用 '/' 分隔各级单位, 如 岳麓区/望月湖街道", "levels are separated by '/', e.g. 岳麓区/望月湖街道"),
        )
    return [clean_name(segment, what=UNIT_NAME) for segment in segments]


@dataclass
class OrgIndex:
    """All units in memory (one query): names, parents, paths. New units can be planned in it (negative
    ids) before they are written, so that an import resolves a whole roster against one picture."""

    names: dict[int, str] = field(default_factory=dict)
    parents: dict[int, int | None] = field(default_factory=dict)
    children: dict[tuple[int | None, str], int] = field(default_factory=dict)
    by_name: dict[str, list[int]] = field(default_factory=dict)
    planned: list[int] = field(default_factory=list)
    _paths: dict[int, str] = field(default_factory=dict, repr=False)
    _settled: dict[int, int] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, session: Session) -> OrgIndex:
        return cls.of(session.exec(select(Organization.id, Organization.name, Organization.parent_id)))

    @classmethod
    def of(cls, units: Iterable[tuple[int, str, int | None]]) -> OrgIndex:
        """An index of (id, name, parent id) rows."""
        index = cls()
        for org_id, name, parent_id in units:
            index._put(org_id, name, parent_id)
        return index

    def _put(self, org_id: int, name: str, parent_id: int | None) -> None:
        self.names[org_id] = name
        self.parents[org_id] = parent_id
        self.children[(parent_id, name)] = org_id
        self.by_name.setdefault(name, []).append(org_id)

    def plan(self, name: str, parent_id: int | None) -> int:
        """A unit to be created: a temporary negative id."""
        temp = -(len(self.planned) + 1)
        self._put(temp, name, parent_id)
        self.planned.append(temp)
        return temp

    def settle(self, temp: int, stored: int) -> None:
        """A planned unit was written as `stored`: know it under that id too (its parent is settled first)."""
        if temp != stored:
            parent = self.parents[temp]
            self._put(stored, self.names[temp], self._settled.get(parent, parent) if parent is not None else None)
            self._settled[temp] = stored

    def path(self, org_id: int) -> str:
        cached = self._paths.get(org_id)
        if cached is None:  # walked up without recursion: a tree of any depth in the database is read
            chain: list[int] = []
            current: int | None = org_id
            while current is not None and current not in self._paths and len(chain) <= len(self.names):
                chain.append(current)
                current = self.parents[current]
            above = self._paths.get(current) if current is not None else None
            for unit in reversed(chain):
                above = self.names[unit] if above is None else f"{above}{PATH_SEP}{self.names[unit]}"
                self._paths[unit] = above
            cached = self._paths[org_id]
        return cached

    def depth(self, org_id: int) -> int:
        return self.path(org_id).count(PATH_SEP)

    def suggestions(self, text: str) -> list[str]:
        paths = [self.path(i) for i in self.names if i > 0]
        close = difflib.get_close_matches(text, paths, n=3, cutoff=0.5)
        close += difflib.get_close_matches(text, [self.names[i] for i in self.names if i > 0], n=3, cutoff=0.5)
        close += [p for p in paths if text and text in p.rsplit(PATH_SEP, 1)[-1]]
        out: list[str] = []
        for name in close:
            full = name if PATH_SEP in name or name not in self.by_name else self.path(self.by_name[name][0])
            if full not in out:
                out.append(full)
        return out[:5]

    def not_found(self, text: str) -> NotFoundError:
        near = self.suggestions(text)
        return NotFoundError(
            L(f"未知单位 {text!r}", f"unknown unit {text!r}"),
            hint=L(f"是否指: {', '.join(near)}", f"did you mean: {', '.join(near)}")
            if near
            else L("用 govpulse org list 查看单位, 或先 org add", "see govpulse org list, or add it with org add"),
        )

    def locate(self, segments: list[str], *, create: bool = False) -> int:
        """The unit at a path (see the module doc); with create=True missing units are planned."""
        first = segments[0]
        current = self.children.get((None, first))
        if current is None:
            matches = self.by_name.get(first, [])
            if len(matches) > 1:
                paths = ", ".join(sorted(self.path(m) for m in matches))
                raise ConflictError(
                    L(
                        f"有 {len(matches)} 个单位名为 {first!r}: {paths}",
                        f"{len(matches)} units are named {first!r}: {paths}",
                    ),
                    hint=L(
                        "写出上级单位或完整路径, 如 岳麓区/望月湖街道",
                        "name the parent unit or give the path, e.g. 岳麓区/望月湖街道",
                    ),
                )
            if matches:
                current = matches[0]
            elif create:
                current = self.plan(first, None)
            else:
                raise self.not_found(PATH_SEP.join(segments))
        for segment in segments[1:]:
            child = self.children.get((current, segment))
            if child is None:
                if not create:
                    raise self.not_found(PATH_SEP.join(segments))
                child = self.plan(segment, current)
            current = child
        return current

    def subtree(self, org_id: int) -> set[int]:
        prefix = self.path(org_id) + PATH_SEP
        return {org_id} | {i for i in self.names if self.path(i).startswith(prefix)}


def org_subtree_select(org_id: int) -> Select:
    """SELECT of the ids of a unit and all units below it: one recursive CTE (SQLite and PostgreSQL)."""
    tree = select(Organization.id).where(Organization.id == org_id).cte("subtree", recursive=True)
    tree = tree.union_all(select(Organization.id).where(Organization.parent_id == tree.c.id))
    return select(tree.c.id)


def org_subtree_ids(session: Session, org_id: int) -> list[int]:
    return list(session.exec(org_subtree_select(org_id)))


def find_org(session: Session, ref: str | int, *, index: OrgIndex | None = None) -> Organization:
    """A unit by number, name or path; NotFoundError suggests close names, ConflictError when ambiguous."""
    index = index or OrgIndex.load(session)
    text = str(ref).strip()
    number = text[1:] if text.startswith("#") else text
    if number.isdigit() and int(number) in index.names and text not in index.by_name:
        org_id = int(number)
    else:
        org_id = index.locate(split_path(text))
    org = session.get(Organization, org_id)
    assert org is not None
    return org


def org_snapshot(org: Organization, index: OrgIndex) -> dict[str, Any]:
    """The audited fields of a unit (the parent as its path, readable in the history)."""
    return {
        "name": org.name,
        "parent": index.path(org.parent_id) if org.parent_id else None,
        "level": org.level,
        "region_code": org.region_code,
        "headcount": org.headcount,
        "notes": org.notes,
    }


def add_org(
    session: Session,
    *,
    actor: str,
    name: str,
    parent: str | None = None,
    level: str | None = None,
    region_code: str | None = None,
    headcount: str | int | None = None,
    notes: str | None = None,
) -> Organization:
    """Add a unit; NAME may be a path ('岳麓区/望月湖街道') when --parent is not given."""
    index = OrgIndex.load(session)
    segments = split_path(name)
    if len(segments) > 1 and parent is None:
        parent, segments = PATH_SEP.join(segments[:-1]), segments[-1:]
    elif len(segments) > 1:
        raise ValidationError(
            L(f"单位名称 {name!r} 不能含 '/'", f"unit name {name!r} cannot contain '/'"),
            hint=L("'/' 分隔路径; 上级单位用 --parent", "'/' separates a path; give the parent with --parent"),
        )
    unit_name = segments[0]
    parent_org = find_org(session, parent, index=index) if parent else None
    parent_id = parent_org.id if parent_org else None
    if parent_id is not None and index.depth(parent_id) + 2 > MAX_DEPTH:
        raise ValidationError(
            L(
                f"单位树最多 {MAX_DEPTH} 级: {index.path(parent_id)[:60]}… 下不能再加单位",
                f"a unit tree has at most {MAX_DEPTH} levels: no unit can be added under {index.path(parent_id)[:60]}…",
            )
        )
    if (parent_id, unit_name) in index.children:
        where = index.path(parent_id) if parent_id else L("顶层", "the top level")
        raise ConflictError(
            L(f"单位 {unit_name!r} 已存在于 {where}", f"unit {unit_name!r} already exists under {where}"),
            hint=L("用 org edit 修改它", "change it with org edit"),
        )
    values = parse_options(
        ORG_PARSERS, {"level": level, "region_code": region_code, "headcount": headcount, "notes": notes}
    )
    org = Organization(
        name=unit_name,
        parent_id=parent_id,
        level=values.get("level") or guess_level(unit_name),
        region_code=values.get("region_code"),
        headcount=values.get("headcount"),
        notes=values.get("notes"),
    )
    session.add(org)
    session.flush()
    index._put(org.id, org.name, org.parent_id)
    audit.record(
        session,
        actor=actor,
        entity=audit.ORG,
        entity_id=org.id,
        action="create",
        changes=audit.created(org_snapshot(org, index)),
    )
    return org


def edit_org(
    session: Session,
    org: Organization,
    *,
    actor: str,
    name: str | None = None,
    parent: str | None = None,
    to_root: bool = False,
    level: str | None = None,
    region_code: str | None = None,
    headcount: str | int | None = None,
    notes: str | None = None,
) -> dict[str, list[Any]]:
    """Change a unit's fields or move it; refuses a move under itself or below. Returns the changes."""
    index = OrgIndex.load(session)
    before = org_snapshot(org, index)
    if parent is not None and to_root:
        raise ValidationError(L("--parent 与 --root 不能同时使用", "--parent and --root cannot be used together"))
    new_parent_id = org.parent_id
    if to_root:
        new_parent_id = None
    elif parent is not None:
        target = find_org(session, parent, index=index)
        if target.id in index.subtree(org.id):
            raise ConflictError(
                L(
                    f"不能把 {index.path(org.id)} 移到 {index.path(target.id)} 之下: 会形成循环",
                    f"cannot move {index.path(org.id)} under {index.path(target.id)}: that would make a cycle",
                ),
                hint=L(
                    "上级单位不能是它自己或它的下级", "the parent cannot be the unit itself or one of its sub-units"
                ),
            )
        new_parent_id = target.id
    new_name = clean_name(name, what=UNIT_NAME) if name is not None else org.name
    if PATH_SEP in new_name:
        raise ValidationError(L(f"单位名称 {new_name!r} 不能含 '/'", f"unit name {new_name!r} cannot contain '/'"))
    other = index.children.get((new_parent_id, new_name))
    if other is not None and other != org.id:
        raise ConflictError(L(f"{index.path(other)} 已存在", f"{index.path(other)} already exists"))
    values = parse_options(
        ORG_PARSERS, {"level": level, "region_code": region_code, "headcount": headcount, "notes": notes}
    )
    if "level" in values and values["level"] is None:
        values["level"] = "other"
    org.name, org.parent_id = new_name, new_parent_id
    for key, value in values.items():
        setattr(org, key, value)
    index.names[org.id], index.parents[org.id] = org.name, org.parent_id
    index._paths.clear()
    changes = audit.diff(before, org_snapshot(org, index))
    if changes:
        org.updated_at = utcnow()
        session.add(org)
        audit.record(session, actor=actor, entity=audit.ORG, entity_id=org.id, action="update", changes=changes)
    return changes


def remove_org(session: Session, org: Organization, *, actor: str) -> None:
    """Remove a unit that has no accounts and no sub-units."""
    index = OrgIndex.load(session)
    accounts = session.exec(select(func.count()).select_from(Account).where(Account.org_id == org.id)).one()
    subunits = session.exec(
        select(func.count()).select_from(Organization).where(Organization.parent_id == org.id)
    ).one()
    if accounts or subunits:
        raise ConflictError(
            L(
                f"{index.path(org.id)} 还有 {accounts} 个账号、{subunits} 个下级单位, 不能删除",
                f"{index.path(org.id)} still has {accounts} account(s) and {subunits} sub-unit(s); not removed",
            ),
            hint=L(
                "先把账号和下级单位移到别的单位 (account edit --org / org edit --parent)",
                "move its accounts and sub-units elsewhere first (account edit --org / org edit --parent)",
            ),
        )
    audit.record(
        session,
        actor=actor,
        entity=audit.ORG,
        entity_id=org.id,
        action="delete",
        changes={k: [audit.json_value(v), None] for k, v in org_snapshot(org, index).items() if v is not None},
    )
    session.delete(org)
    session.flush()


def account_counts(session: Session, org_ids: list[int] | None = None) -> dict[int, int]:
    query = select(Account.org_id, func.count()).group_by(Account.org_id)
    if org_ids is not None:
        query = query.where(col(Account.org_id).in_(org_ids))
    return dict(session.exec(query).all())


def org_tree(session: Session) -> list[dict[str, Any]]:
    """Every unit in tree order (parents before their children), with its depth, path and account count."""
    orgs = {o.id: o for o in session.exec(select(Organization).order_by(Organization.id))}
    index = OrgIndex.of((o.id, o.name, o.parent_id) for o in orgs.values())
    counts = account_counts(session)
    kids: dict[int | None, list[int]] = {}
    for org in orgs.values():
        kids.setdefault(org.parent_id, []).append(org.id)
    out: list[dict[str, Any]] = []
    stack = list(reversed(kids.get(None, [])))
    while stack:
        org = orgs[stack.pop()]
        out.append(
            {
                "id": org.id,
                "name": org.name,
                "path": index.path(org.id),
                "depth": index.depth(org.id),
                "parent_id": org.parent_id,
                "level": org.level,
                "region_code": org.region_code,
                "headcount": org.headcount,
                "accounts": counts.get(org.id, 0),
            }
        )
        stack.extend(reversed(kids.get(org.id, [])))
    return out


def org_detail(session: Session, org: Organization) -> dict[str, Any]:
    """A unit with its path, sub-units and its accounts counted by platform and status (subtree too)."""
    index = OrgIndex.load(session)
    subtree = org_subtree_select(org.id)
    by_platform_status = session.exec(
        select(Account.platform, Account.status, func.count())
        .where(Account.org_id == org.id)
        .group_by(Account.platform, Account.status)
    ).all()
    in_subtree = session.exec(select(func.count()).select_from(Account).where(col(Account.org_id).in_(subtree))).one()
    children = sorted((i for (p, _), i in index.children.items() if p == org.id))
    return {
        "id": org.id,
        "name": org.name,
        "path": index.path(org.id),
        "parent_id": org.parent_id,
        "parent": index.path(org.parent_id) if org.parent_id else None,
        "level": org.level,
        "region_code": org.region_code,
        "headcount": org.headcount,
        "notes": org.notes,
        "children": [{"id": c, "name": index.names[c]} for c in children],
        "accounts": [{"platform": p, "status": s, "count": n} for p, s, n in by_platform_status],
        "accounts_in_subtree": in_subtree,
        "created_at": org.created_at,
        "updated_at": org.updated_at,
    }
