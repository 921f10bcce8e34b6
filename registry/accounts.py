"""Account services: add, look up, edit, close, merge, list, detail (the units they belong to are
registry.orgs'). Keyword-only functions taking a session; every change is written to the audit trail in
the same transaction."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select, update

from registry import audit
from registry.columns import ACCOUNT_FIELDS
from registry.errors import ConflictError, NotFoundError, ValidationError
from registry.fields import (
    ACCOUNT_NAME,
    ACCOUNT_PARSERS,
    clean_name,
    local_today,
    parse_options,
    parse_status,
    status_label,
)
from registry.i18n import L
from registry.identifiers import (
    looks_like_url,
    normalize_platform,
    resolve_account_ref,
    resolve_url,
    split_ref,
    validate_id,
)
from registry.merging import check_merge
from registry.models import Account, FetchOutcome, Organization, Post, ScoreRun
from registry.orgs import OrgIndex, find_org, org_subtree_select
from registry.scoring.history import current_verdicts
from registry.timeutil import not_after_now, utcnow
from registry.vocabulary import PLATFORMS


def account_ref(platform: str, platform_id: str) -> str:
    return f"{platform}:{platform_id}"


def lifecycle_step(before: str | None, after: dict[str, Any], *, given: Collection[str], today: date) -> None:
    """The rule of a step in an account's lifecycle, for `account add` and `edit` and the roster import
    alike: when the status changes (a new account starts from active), the step is dated today unless a
    date is given, the last step's reason goes unless a reason is given, and only a merged account keeps
    its merge target. Changes `after` (column values) in place."""
    status = after.get("status") or "active"
    if status == (before or "active"):
        return
    if "status_changed_on" not in given:
        after["status_changed_on"] = today
    if "status_reason" not in given:
        after["status_reason"] = None
    if status != "merged":
        after["merged_into_id"] = None


def account_snapshot(session: Session, account: Account, index: OrgIndex | None = None) -> dict[str, Any]:
    index = index or OrgIndex.load(session)
    target = session.get(Account, account.merged_into_id) if account.merged_into_id else None
    refs = {
        "org": index.path(account.org_id),
        "merged_into": account_ref(target.platform, target.platform_id) if target else None,
    }
    return {k: refs[k] if k in refs else getattr(account, k) for k in ACCOUNT_FIELDS}


def _find_by_key(session: Session, platform: str, platform_id: str) -> Account | None:
    return session.exec(select(Account).where(Account.platform == platform, Account.platform_id == platform_id)).first()


MAX_ROW_ID = 2**63 - 1  # a number beyond the database's integers names no row


def resolve_account(session: Session, ref: str | int) -> Account:
    """An account by platform id, `platform:id` (when two platforms share an id), profile URL, or internal
    number (`12` or `#12`)."""
    text = str(ref).strip()
    platform, rest = split_ref(text)
    if platform is None and looks_like_url(rest):
        platform, rest = resolve_url(rest)
    if platform is not None:
        account = _find_by_key(session, platform, validate_id(platform, rest, lookup=True))
        if account is None:
            raise NotFoundError(
                L(f"登记簿中没有账号 {text!r}", f"no account {text!r} in the registry"),
                hint=L(
                    "用 govpulse account list 查看, 或 account add 登记",
                    "see govpulse account list, or register it with account add",
                ),
            )
        return account
    if text.startswith("#") and text[1:].isdigit():
        account = session.get(Account, int(text[1:])) if int(text[1:]) <= MAX_ROW_ID else None
        if account is None:
            raise NotFoundError(L(f"没有编号为 {text} 的账号", f"no account number {text}"))
        return account
    # The platform index is (platform, platform_id): naming every platform lets the lookup use it.
    matches = session.exec(
        select(Account)
        .where(col(Account.platform).in_(PLATFORMS), col(Account.platform_id).in_({text, text.lower()}))
        .order_by(Account.id)
    ).all()
    if len(matches) > 1:
        refs = ", ".join(account_ref(a.platform, a.platform_id) for a in matches)
        raise ConflictError(
            L(f"{text!r} 在多个平台上都有: {refs}", f"{text!r} is an id on several platforms: {refs}"),
            hint=L("写成 平台:ID, 如 weibo:" + text, "write platform:id, e.g. weibo:" + text),
        )
    if matches:
        return matches[0]
    if text.isdigit() and int(text) <= MAX_ROW_ID:
        account = session.get(Account, int(text))
        if account is not None:
            return account
    named = session.exec(select(Account).where(col(Account.name).contains(text)).limit(5)).all()
    near = ", ".join(f"{account_ref(a.platform, a.platform_id)} ({a.name})" for a in named)
    raise NotFoundError(
        L(f"登记簿中没有账号 {text!r}", f"no account {text!r} in the registry"),
        hint=L(f"是否指: {near}", f"did you mean: {near}")
        if near
        else L(
            "账号用平台 ID、平台:ID、主页链接或编号表示",
            "name an account by its platform id, platform:id, profile URL or number",
        ),
    )


def _check_status_for_edit(status: str | None) -> None:
    if status in ("merged", "closed"):
        raise ValidationError(
            L(f"不能直接把状态改为 {status_label(status)}", f"the status cannot be set to {status} here"),
            hint=L("用 account close 或 account merge", "use account close or account merge"),
        )


def add_account(
    session: Session,
    *,
    actor: str,
    name: str,
    org: str,
    ref: str | None = None,
    platform: str | None = None,
    **options: Any,
) -> Account:
    """Register an account. `ref` is its id or profile URL; the other options are ACCOUNT_PARSERS fields
    (None = not given)."""
    platform, platform_id = resolve_account_ref(platform, ref or "")
    existing = _find_by_key(session, platform, platform_id)
    if existing is not None:
        index = OrgIndex.load(session)
        raise ConflictError(
            L(
                f"账号 {account_ref(platform, platform_id)} 已登记为 {existing.name!r} (#{existing.id}, {index.path(existing.org_id)})",
                f"account {account_ref(platform, platform_id)} is already registered as {existing.name!r} "
                f"(#{existing.id}, {index.path(existing.org_id)})",
            ),
            hint=L(
                f"修改它用 govpulse account edit {account_ref(platform, platform_id)}",
                f"change it with govpulse account edit {account_ref(platform, platform_id)}",
            ),
        )
    values = parse_options(ACCOUNT_PARSERS, options)
    if values.get("status") == "merged":
        raise ValidationError(
            L("新登记的账号不能是已整合状态", "a new account cannot start as merged"),
            hint=L("先登记, 再用 account merge", "register it, then use account merge"),
        )
    index = OrgIndex.load(session)
    unit = find_org(session, org, index=index)
    lifecycle_step(None, values, given={k for k, v in values.items() if v is not None}, today=local_today())
    account = Account(
        platform=platform,
        platform_id=platform_id,
        name=clean_name(name, what=ACCOUNT_NAME),
        org_id=unit.id,
        **{k: v for k, v in values.items() if v is not None},
    )
    session.add(account)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity=audit.ACCOUNT,
        entity_id=account.id,
        action="create",
        changes=audit.created(account_snapshot(session, account, index)),
    )
    return account


def edit_account(
    session: Session,
    account: Account,
    *,
    actor: str,
    name: str | None = None,
    org: str | None = None,
    platform_id: str | None = None,
    **options: Any,
) -> dict[str, list[Any]]:
    """Change an account's fields (None = leave, '' = clear). Status only to active or closing here."""
    index = OrgIndex.load(session)
    before = account_snapshot(session, account, index)
    values = parse_options(ACCOUNT_PARSERS, options)
    if "status" in values:
        values["status"] = values["status"] or "active"
        _check_status_for_edit(values["status"])
        lifecycle_step(account.status, values, given=set(values), today=local_today())
    if name is not None:
        account.name = clean_name(name, what=ACCOUNT_NAME)
    if org is not None:
        account.org_id = find_org(session, org, index=index).id
    if platform_id is not None:
        new_id = validate_id(account.platform, platform_id)
        other = _find_by_key(session, account.platform, new_id)
        if other is not None and other.id != account.id:
            raise ConflictError(
                L(
                    f"账号 {account_ref(account.platform, new_id)} 已登记 (#{other.id})",
                    f"account {account_ref(account.platform, new_id)} is already registered (#{other.id})",
                )
            )
        account.platform_id = new_id
    for key, value in values.items():
        setattr(account, key, value)
    changes = audit.diff(before, account_snapshot(session, account, index))
    if changes:
        account.updated_at = utcnow()
        session.add(account)
        audit.record(session, actor=actor, entity=audit.ACCOUNT, entity_id=account.id, action="update", changes=changes)
    return changes


def _check_open(account: Account, doing_zh: str, doing_en: str) -> None:
    if account.status in ("merged", "closed"):
        ref = account_ref(account.platform, account.platform_id)
        raise ConflictError(
            L(
                f"账号 {ref} 已{status_label(account.status)} ({account.status_changed_on or '日期不详'}), 不能{doing_zh}",
                f"account {ref} is already {account.status} ({account.status_changed_on or 'date unknown'}); cannot {doing_en} it",
            ),
            hint=L("要恢复它用 account edit --status active", "to reopen it use account edit --status active"),
        )


def close_account(session: Session, account: Account, *, actor: str, reason: str, on: date | str | None = None) -> None:
    """Mark an account closed (关停) on a date (default today, Asia/Shanghai) for a reason."""
    _check_open(account, "关停", "close")
    values = parse_options(ACCOUNT_PARSERS, {"status_reason": reason, "status_changed_on": on})
    if not values.get("status_reason"):
        raise ValidationError(L("关停需要原因 (--reason)", "closing an account needs a reason (--reason)"))
    _set_status(
        session,
        account,
        actor=actor,
        action="close",
        status="closed",
        on=values.get("status_changed_on") or local_today(),
        reason=values["status_reason"],
    )


def merge_account(
    session: Session,
    account: Account,
    into: Account,
    *,
    actor: str,
    on: date | str | None = None,
    reason: str | None = None,
) -> int:
    """Merge `account` into `into` (same platform): it becomes merged, pointing at `into`. Accounts merged
    into it earlier now point at `into` too. Returns how many were re-pointed."""
    ref, target_ref = account_ref(account.platform, account.platform_id), account_ref(into.platform, into.platform_id)
    if account.id == into.id:
        check_merge(ref, ref, None)
    if account.platform != into.platform:
        raise ConflictError(
            L(
                f"{ref} 与 {target_ref} 不在同一平台, 不能合并",
                f"{ref} and {target_ref} are on different platforms; they cannot be merged",
            )
        )
    _check_open(account, "合并", "merge")
    final = session.get(Account, into.merged_into_id) if into.merged_into_id else None
    check_merge(
        ref, target_ref, into.status, final_target=account_ref(final.platform, final.platform_id) if final else None
    )
    values = parse_options(ACCOUNT_PARSERS, {"status_reason": reason, "status_changed_on": on})
    earlier = session.exec(select(Account).where(Account.merged_into_id == account.id)).all()
    _set_status(
        session,
        account,
        actor=actor,
        action="merge",
        status="merged",
        on=values.get("status_changed_on") or local_today(),
        reason=values.get("status_reason"),
        merged_into_id=into.id,
    )
    entries = [
        audit.entry(
            actor=actor, entity=audit.ACCOUNT, entity_id=into.id, action="merge", changes={"merged_from": [None, ref]}
        )
    ]
    entries += [
        audit.entry(
            actor=actor,
            entity=audit.ACCOUNT,
            entity_id=a.id,
            action="merge",
            changes={"merged_into": [ref, target_ref]},
        )
        for a in earlier
    ]
    if earlier:
        session.exec(
            update(Account)
            .where(col(Account.id).in_([a.id for a in earlier]))
            .values(merged_into_id=into.id, updated_at=utcnow())
        )
    audit.record_many(session, entries)
    return len(earlier)


def _set_status(
    session: Session,
    account: Account,
    *,
    actor: str,
    action: str,
    status: str,
    on: date,
    reason: str | None,
    merged_into_id: int | None = None,
) -> None:
    before = account_snapshot(session, account)
    account.status, account.status_changed_on, account.status_reason = status, on, reason
    account.merged_into_id = merged_into_id
    account.updated_at = utcnow()
    session.add(account)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity=audit.ACCOUNT,
        entity_id=account.id,
        action=action,
        changes=audit.diff(before, account_snapshot(session, account)),
    )


def account_filters(
    session: Session,
    *,
    platform: str | None = None,
    org: str | None = None,
    status: str | None = None,
    category: str | None = None,
) -> list[Any]:
    """WHERE clauses of `account list`: platform (any alias), unit subtree, status (any alias), category."""
    clauses: list[Any] = []
    if platform:
        clauses.append(Account.platform == normalize_platform(platform))
    if org:
        clauses.append(col(Account.org_id).in_(org_subtree_select(find_org(session, org).id)))
    if status:
        clauses.append(Account.status == parse_status(status))
    if category:
        clauses.append(Account.category == category.strip())
    return clauses


def account_select(session: Session, **filters: str | None) -> Select:
    """SELECT of (Account, unit name, merge target platform, merge target id), filtered by
    account_filters(), ordered by number."""
    target = aliased(Account)
    return (
        select(Account, Organization.name, target.platform, target.platform_id)
        .join(Organization, col(Organization.id) == Account.org_id)
        .outerjoin(target, col(target.id) == Account.merged_into_id)
        .where(*account_filters(session, **filters))
        .order_by(Account.id)
    )


def account_row(account: Account, org_name: str, target_platform: str | None, target_id: str | None) -> dict[str, Any]:
    """An account as plain data (for --json and reports)."""
    return {
        "id": account.id,
        "ref": account_ref(account.platform, account.platform_id),
        "platform": account.platform,
        "platform_id": account.platform_id,
        "name": account.name,
        "org_id": account.org_id,
        "org": org_name,
        "category": account.category,
        "status": account.status,
        "status_changed_on": account.status_changed_on,
        "status_reason": account.status_reason,
        "merged_into": account_ref(target_platform, target_id) if target_platform else None,
        "filing_no": account.filing_no,
        "contact_name": account.contact_name,
        "contact_phone": account.contact_phone,
        "verified": account.verified,
        "is_main": account.is_main,
        "opened_on": account.opened_on,
        "source": "feed" if account.feed_url else "api",
        "feed_url": account.feed_url,
        "notes": account.notes,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


def list_accounts(session: Session, **filters: Any) -> list[dict[str, Any]]:
    return [account_row(*row) for row in session.exec(account_select(session, **filters))]


def account_detail(session: Session, account: Account) -> dict[str, Any]:
    """Everything known about one account: its registry fields, its unit's path, the newest post time
    (over all its posts, pinned ones included), the newest patrol outcome, and the latest verdict.
    Missing facts are None."""
    index = OrgIndex.load(session)
    target = session.get(Account, account.merged_into_id) if account.merged_into_id else None
    row = account_row(
        account,
        index.names[account.org_id],
        target.platform if target else None,
        target.platform_id if target else None,
    )
    row["org_path"] = index.path(account.org_id)
    row["next_due_at"] = account.next_due_at
    row["last_post_at"] = session.exec(select(func.max(Post.published_at)).where(Post.account_id == account.id)).one()
    outcome = session.exec(
        select(FetchOutcome)
        .where(FetchOutcome.account_id == account.id)
        .order_by(col(FetchOutcome.fetched_at).desc(), col(FetchOutcome.id).desc())
        .limit(1)
    ).first()
    # (a stretch of identical outcomes: its latest visit, in its latest visit's patrol)
    row["last_patrol_at"] = (outcome.last_fetched_at or outcome.fetched_at) if outcome else None
    row["last_outcome"] = (
        {
            "outcome": outcome.outcome,
            "http_status": outcome.http_status,
            "reason": outcome.reason,
            "patrol_id": outcome.patrol_id,
        }
        if outcome
        else None
    )
    # The account's verdict in its current run (a run dated in the future is not the current one).
    v = current_verdicts(session.connection(), not_after_now(), account.id)
    wanted = (v.c.status, v.c.flags, v.c.rule, v.c.threshold, v.c.liveness_index, v.c.days_silent, v.c.last_post_at)
    verdict = session.execute(
        select(*wanted, v.c.run_id, ScoreRun.as_of).join(ScoreRun, col(ScoreRun.id) == v.c.run_id)
    ).first()
    row["verdict"] = (
        dict(
            zip(
                (
                    "status",
                    "flags",
                    "rule",
                    "threshold",
                    "liveness_index",
                    "days_silent",
                    "last_post_at",
                    "run_id",
                    "as_of",
                ),
                verdict,
                strict=True,
            )
        )
        if verdict
        else None
    )
    return row
