"""What the parsers produce and the spiders hand to the pipeline. Plain dataclasses.

A parser turns one HTTP response into a PageResult; a spider pages through an account and yields one
AccountVisit when it is done with it; the pipeline stores visits in batches. The visit records (AccountVisit,
PostItem, ProfileItem) are the registry's (registry/visits.py), which stores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from registry.visits import AccountVisit, PostItem, ProfileItem

__all__ = ["AccountVisit", "PageResult", "PostItem", "ProfileItem"]


@dataclass
class PageResult:
    """One response, parsed.

    outcome None means the page was read fine (posts may be empty on a last page). Otherwise it is one
    of registry.vocabulary.OUTCOMES other than "ok" and the visit ends with it.
    """

    outcome: str | None = None
    reason: str | None = None
    http_status: int | None = None
    posts: list[PostItem] = field(default_factory=list)
    profile: ProfileItem | None = None
    next_cursor: str | None = None  # page number, since_id, max_behot_time or begin offset; None = no more
