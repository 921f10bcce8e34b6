"""The compliance checks as the crawl runs them: in the parse workers, on each post's full text, right
after parsing (the stored post keeps only an excerpt). The rules are compiled once per process and kept
for the crawl; what the checks found travels with the post to the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from registry.compliance.matcher import Checker, links
from registry.compliance.rules import configured_files, load_rules
from registry.config import Settings
from registry.errors import ValidationError
from registry.vocabulary import SEVERITIES
from registry.visits import PostItem

# The checks that read a post's text: a post read again without one of them matching is fixed for it.
TEXT_CHECKS = ("typo", "expression", "leader_title", "banned", "custom", "personal_data")


@dataclass(frozen=True)
class ComplianceSpec:
    """What a worker needs to build the checker: small and picklable (the rules are read in the worker)."""

    files: tuple[str, ...]
    personal_severity: str = "deduction"
    check_links: bool = True
    link_timeout: float = 5.0


def compliance_spec(settings: Settings) -> ComplianceSpec | None:
    """The crawl's checks from the settings; None when compliance.enabled is false."""
    conf = settings.get("compliance", default={}) or {}
    if not conf.get("enabled", True):
        return None
    base = settings.path.resolve().parent if settings.path is not None else None
    files = tuple(str(p) for p in configured_files(conf, base=base))
    severity = conf.get("personal_data_severity", "deduction")
    if severity not in SEVERITIES:
        raise ValidationError(
            f"compliance.personal_data_severity must be one of {', '.join(SEVERITIES)}, not {severity!r}"
        )
    try:
        timeout = float(conf.get("link_timeout", 5))
    except (TypeError, ValueError):
        timeout = -1.0
    if not 0 < timeout <= 120:
        raise ValidationError(
            f"compliance.link_timeout must be a number of seconds (0-120], not {conf.get('link_timeout')!r}"
        )
    return ComplianceSpec(
        files=files,
        personal_severity=str(severity),
        check_links=bool(conf.get("check_links", True)),
        link_timeout=timeout,
    )


_CHECKERS: dict[ComplianceSpec, Checker] = {}


def checker_for(spec: ComplianceSpec) -> Checker:
    checker = _CHECKERS.get(spec)
    if checker is None:
        checker = Checker(load_rules(Path(p) for p in spec.files), personal_severity=spec.personal_severity)
        _CHECKERS.clear()  # one spec per crawl
        _CHECKERS[spec] = checker
    return checker


def check_posts(posts: list[PostItem], spec: ComplianceSpec) -> None:
    """Run the checks on each post's full text; the full text is then dropped (it is not stored)."""
    checker = checker_for(spec)
    for post in posts:
        text = post.full_text or post.text
        post.findings = [h.as_dict() for h in checker.check(post.title, text)]
        post.checked = TEXT_CHECKS
        if spec.check_links:
            post.links = links(text)
        post.full_text = None
