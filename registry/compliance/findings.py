"""Findings (合规问题): storing what the checks found, a person's review, and what later patrols show.

- A finding is one (post, fingerprint): seen again, only last_seen_at changes.
- A false positive is remembered by its fingerprint (check, rule, matched text, context): the same text is
  never raised again, on this post or any other.
- A post read again by a patrol whose checks no longer match it has its open and confirmed findings of
  those checks marked fixed; a fixed finding that matches again is open again.
- Nothing here is a veto: a confirmed finding is what the report counts and what a rectification case
  may be opened from (`case_candidates`).

Set-based: a batch of posts costs a fixed number of statements.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.db import upsert
from registry.errors import NotFoundError, ValidationError
from registry.models import Account, Finding, Organization, Post
from registry.timeutil import utcnow

OPEN, CONFIRMED, FALSE_POSITIVE, FIXED = "open", "confirmed", "false_positive", "fixed"
STILL_STANDING = (OPEN, CONFIRMED)
CHUNK = 2000  # ids per IN (...): within every database's limit on bound parameters
_LIMITS = {"rule": 300, "rule_file": 200, "rule_source": 500, "match": 300, "context": 300, "detail": 300}


@dataclass
class CheckedPost:
    """One post as the checks saw it: which checks ran on it, and what they found (Hit.as_dict())."""

    post_id: int
    account_id: int
    patrol_id: int | None
    url: str | None
    published_at: datetime | None
    checked: Collection[str]
    hits: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FindingStats:
    new: int = 0
    suppressed: int = 0  # remembered false positives
    fixed: int = 0
    reopened: int = 0


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def _clip(value: str | None, limit: int) -> str | None:
    return None if value is None else value.replace("\x00", "")[:limit]


def store_findings(session: Session, posts: Sequence[CheckedPost], *, now: datetime | None = None) -> FindingStats:
    stats = FindingStats()
    if not posts:
        return stats
    now = now or utcnow()
    fingerprints = sorted({h["fingerprint"] for p in posts for h in p.hits})
    dismissed: set[str] = set()
    for chunk in _chunks(fingerprints):
        dismissed.update(
            session.execute(
                select(Finding.fingerprint).where(Finding.status == FALSE_POSITIVE, Finding.fingerprint.in_(chunk))
            ).scalars()
        )
    post_ids = sorted({p.post_id for p in posts})
    stored: dict[int, dict[str, tuple[int, str, str]]] = {}
    for chunk in _chunks(post_ids):
        rows = session.execute(
            select(Finding.id, Finding.post_id, Finding.fingerprint, Finding.status, Finding.check).where(
                Finding.post_id.in_(chunk)
            )
        ).all()
        for fid, post_id, fp, status, check in rows:
            stored.setdefault(post_id, {})[fp] = (fid, status, check)

    inserts: list[dict[str, Any]] = []
    seen_ids: list[int] = []
    reopen: list[int] = []
    fixed: list[int] = []
    for post in posts:
        current = set()
        known_here = stored.setdefault(post.post_id, {})
        for hit in post.hits:
            fp = hit["fingerprint"]
            current.add(fp)
            known = known_here.get(fp)
            if known is not None:
                fid, status, _check = known
                seen_ids.append(fid)
                if status == FIXED:
                    reopen.append(fid)
                continue
            if fp in dismissed:
                stats.suppressed += 1
                continue
            known_here[fp] = (0, OPEN, hit["check"])
            inserts.append(
                {
                    "account_id": post.account_id,
                    "post_id": post.post_id,
                    "patrol_id": post.patrol_id,
                    "post_url": _clip(post.url, 2000),
                    "post_published_at": post.published_at,
                    "check": hit["check"],
                    "severity": hit["severity"],
                    "rule": _clip(hit["rule"], _LIMITS["rule"]),
                    "rule_file": _clip(hit.get("rule_file"), _LIMITS["rule_file"]),
                    "rule_source": _clip(hit.get("source"), _LIMITS["rule_source"]),
                    "match": _clip(hit["match"], _LIMITS["match"]),
                    "context": _clip(hit["context"], _LIMITS["context"]),
                    "detail": _clip(hit.get("detail"), _LIMITS["detail"]),
                    "fingerprint": fp,
                    "status": OPEN,
                    "found_at": now,
                    "last_seen_at": now,
                }
            )
        for fp, (fid, status, check) in known_here.items():
            if fid and fp not in current and status in STILL_STANDING and check in post.checked:
                fixed.append(fid)
    upsert(session, Finding, inserts, keys=["post_id", "fingerprint"])
    stats.new = len(inserts)
    for chunk in _chunks(sorted(set(seen_ids))):
        session.execute(update(Finding).where(Finding.id.in_(chunk)).values(last_seen_at=now))
    for chunk in _chunks(sorted(set(reopen))):
        session.execute(update(Finding).where(Finding.id.in_(chunk)).values(status=OPEN, fixed_at=None))
    for chunk in _chunks(sorted(set(fixed))):
        session.execute(update(Finding).where(Finding.id.in_(chunk)).values(status=FIXED, fixed_at=now))
    stats.reopened, stats.fixed = len(set(reopen)), len(set(fixed))
    return stats


def post_ids(session: Session, keys: Collection[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """The stored ids of posts named by (account id, platform post id)."""
    out: dict[tuple[int, str], int] = {}
    by_account: dict[int, list[str]] = {}
    for account_id, platform_post_id in keys:
        by_account.setdefault(account_id, []).append(platform_post_id)
    account_ids = sorted(by_account)
    wanted = sorted({pid for _a, pid in keys})
    for accounts in _chunks(account_ids):
        for ids in _chunks(wanted):
            rows = session.execute(
                select(Post.id, Post.account_id, Post.platform_post_id).where(
                    Post.account_id.in_(accounts), Post.platform_post_id.in_(ids)
                )
            ).all()
            for post_id, account_id, platform_post_id in rows:
                if (account_id, platform_post_id) in keys:
                    out[(account_id, platform_post_id)] = post_id
    return out


def record_checked_posts(session: Session, checked: Sequence[tuple[dict[str, Any], Any, Any]]) -> FindingStats:
    """From the store of a patrol's visits: (the post's row as stored, its AccountVisit, its PostItem) for
    each post the crawl checked."""
    # Only posts with a hit now, or with findings from before (which may be fixed now), need their ids:
    # on a first patrol that is a few posts in thousands.
    account_ids = sorted({row["account_id"] for row, _visit, _post in checked})
    known: set[tuple[int, str]] = set()
    for chunk in _chunks(account_ids):
        rows = session.execute(
            select(Post.account_id, Post.platform_post_id)
            .join(Finding, Finding.post_id == Post.id)
            .where(Finding.account_id.in_(chunk))
            .distinct()
        )
        known.update((account_id, platform_post_id) for account_id, platform_post_id in rows)
    checked = [
        (row, visit, post)
        for row, visit, post in checked
        if post.findings or (row["account_id"], row["platform_post_id"]) in known
    ]
    if not checked:
        return FindingStats()
    keys = {(row["account_id"], row["platform_post_id"]) for row, _visit, _post in checked}
    ids = post_ids(session, keys)
    posts = []
    for row, visit, post in checked:
        post_id = ids.get((row["account_id"], row["platform_post_id"]))
        if post_id is None:
            continue
        posts.append(
            CheckedPost(
                post_id=post_id,
                account_id=row["account_id"],
                patrol_id=visit.patrol_id,
                url=row["url"],
                published_at=row["published_at"],
                checked=post.checked,
                hits=list(post.findings or []),
            )
        )
    return store_findings(session, posts, now=checked[0][1].fetched_at)


# -- reading and review ----------------------------------------------------------------------------

_COLUMNS = (
    Finding.id,
    Finding.account_id,
    Account.org_id,
    Account.platform,
    Account.name.label("account_name"),
    Organization.name.label("unit"),
    Finding.post_url,
    Finding.post_published_at,
    Finding.check,
    Finding.severity,
    Finding.rule,
    Finding.rule_file,
    Finding.rule_source,
    Finding.match,
    Finding.context,
    Finding.detail,
    Finding.status,
    Finding.found_at,
    Finding.last_seen_at,
    Finding.fixed_at,
    Finding.reviewed_at,
    Finding.reviewed_by,
    Finding.note,
)


def list_findings(
    session: Session,
    *,
    org_ids: Collection[int] | None = None,
    check: str | None = None,
    status: str | None = None,
    statuses: Collection[str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Findings with their account and unit, newest post first. org_ids: the accounts of those units."""
    query = (
        select(*_COLUMNS)
        .join(Account, Account.id == Finding.account_id)
        .join(Organization, Organization.id == Account.org_id)
        .order_by(Finding.post_published_at.desc(), Finding.id)
    )
    if org_ids is not None:
        query = query.where(Account.org_id.in_(list(org_ids)))
    if check is not None:
        query = query.where(Finding.check == check)
    if status is not None:
        query = query.where(Finding.status == status)
    if statuses is not None:
        query = query.where(Finding.status.in_(list(statuses)))
    if limit is not None:
        query = query.limit(limit)
    return [dict(row._mapping) for row in session.execute(query)]


def review(session: Session, finding_id: int, *, confirm: bool, note: str | None, actor: str) -> dict[str, Any]:
    """Confirm a finding, or dismiss it as a false positive: then every open finding of the same text is
    dismissed with it, and that text is never raised again."""
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise NotFoundError(f"no finding {finding_id}", hint="govpulse findings lists them with their ids")
    if note is not None and len(note) > 1000:
        raise ValidationError("--note is longer than 1000 characters")
    now = utcnow()
    status = CONFIRMED if confirm else FALSE_POSITIVE
    values = {"status": status, "reviewed_at": now, "reviewed_by": actor[:100], "note": note}
    session.execute(update(Finding).where(Finding.id == finding_id).values(**values))
    also = 0
    if not confirm:
        result = session.execute(
            update(Finding)
            .where(Finding.fingerprint == finding.fingerprint, Finding.id != finding_id, Finding.status == OPEN)
            .values(**values)
        )
        also = int(result.rowcount or 0)
    return {"id": finding_id, "status": status, "note": note, "also_dismissed": also}


def case_candidates(session: Session, *, since: datetime | None = None) -> list[dict[str, Any]]:
    """Confirmed findings still standing, as candidates for rectification cases (one per finding, with
    the account, the post and the rule): what a case is opened from. Fixed ones are not candidates."""
    query = (
        select(*_COLUMNS)
        .join(Account, Account.id == Finding.account_id)
        .join(Organization, Organization.id == Account.org_id)
        .where(Finding.status == CONFIRMED)
        .order_by(Finding.reviewed_at, Finding.id)
    )
    if since is not None:
        query = query.where(Finding.reviewed_at >= since)
    return [dict(row._mapping) for row in session.execute(query)]
