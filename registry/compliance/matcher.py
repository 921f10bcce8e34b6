"""Running the rules over a post's text: one Aho-Corasick automaton holds every pattern (and every phrase
that makes a match correct), so a post is read once whatever the number of rules; personal data is found
by its own scan (personal.py).

A hit carries what a finding stores: the check, the severity, the rule with its file and source, the
matched text (masked when it is personal data) with at most CONTEXT_CHARS characters around it, also
masked, and a fingerprint of the text that a false positive is remembered by.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import ahocorasick

from registry.compliance.personal import PersonalHit, find_personal, mask
from registry.compliance.rules import Rule, RuleSet

CONTEXT_CHARS = 120
PERSONAL_SOURCE = "《个人信息保护法》第二十八条; 国办秘函〔2019〕19号 政务新媒体检查指标"
PERSONAL_KEYS = {"id_number": "身份证号", "mobile": "手机号码", "bank_card": "银行卡号"}
_URL = re.compile(r"https?://[^\s\"'<>，。；、）)\]】]+")
MAX_LINKS = 20  # links checked per post


@dataclass(frozen=True)
class Hit:
    check: str
    severity: str
    rule: str
    rule_file: str | None
    source: str
    match: str  # as shown: masked when personal data
    context: str  # at most CONTEXT_CHARS, personal data masked
    fingerprint: str  # of the check, rule, matched text and context: a false positive's memory
    suggest: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "rule": self.rule,
            "rule_file": self.rule_file,
            "source": self.source,
            "match": self.match,
            "context": self.context,
            "fingerprint": self.fingerprint,
            "suggest": self.suggest,
        }


def fingerprint(check: str, rule: str, matched: str, context: str) -> str:
    return hashlib.sha256("\x1f".join((check, rule, matched, context)).encode("utf-8")).hexdigest()


class Checker:
    """The compiled rules. Built once per process (a parse worker keeps it for the whole crawl)."""

    def __init__(self, ruleset: RuleSet, *, personal_severity: str = "deduction") -> None:
        self.rules = ruleset.rules
        self.personal_severity = personal_severity
        patterns: dict[str, list[int]] = {}
        for i, rule in enumerate(self.rules):
            patterns.setdefault(rule.match, []).append(i)
            for ok in rule.allow:
                patterns.setdefault(ok, []).append(-1)  # a correct phrase: masks what it contains
        self.automaton: Any = None
        if patterns:
            automaton = ahocorasick.Automaton()
            for pattern, refs in patterns.items():
                automaton.add_word(pattern, (len(pattern), tuple(sorted(set(refs)))))
            automaton.make_automaton()
            self.automaton = automaton

    def check(self, title: str | None, text: str | None) -> list[Hit]:
        """Every hit in the title and the text (read as one, title first)."""
        full = "\n".join(part for part in (title, text) if part)
        if not full:
            return []
        personal = find_personal(full)
        shown = _masked(full, personal)  # the context of any hit never shows personal data
        hits: list[Hit] = []
        seen: set[str] = set()
        for start, end, rule in self._words(full):
            context = _context(shown, start, end)
            fp = fingerprint(rule.check, rule.key, full[start:end], context)
            if fp not in seen:
                seen.add(fp)
                hits.append(
                    Hit(
                        rule.check,
                        rule.severity,
                        rule.key,
                        rule.file,
                        rule.source,
                        full[start:end],
                        context,
                        fp,
                        rule.suggest,
                    )
                )
        for p in personal:
            context = _context(shown, p.start, p.end)
            key = PERSONAL_KEYS[p.kind]
            fp = fingerprint("personal_data", key, p.value, context)
            if fp not in seen:
                seen.add(fp)
                hits.append(
                    Hit("personal_data", self.personal_severity, key, None, PERSONAL_SOURCE, mask(p.value), context, fp)
                )
        return hits

    def _words(self, text: str) -> list[tuple[int, int, Rule]]:
        if self.automaton is None:
            return []
        found: list[tuple[int, int, int]] = []
        correct: list[tuple[int, int]] = []
        for last, (length, refs) in self.automaton.iter(text):
            start, end = last - length + 1, last + 1
            for ref in refs:
                if ref < 0:
                    correct.append((start, end))
                else:
                    found.append((start, end, ref))
        out = []
        for start, end, ref in found:
            if any(a <= start and end <= b and b - a > end - start for a, b in correct):
                continue
            out.append((start, end, self.rules[ref]))
        return out


def links(text: str | None) -> dict[str, str]:
    """The http(s) links written in a post's text, each once with its context, at most MAX_LINKS."""
    out: dict[str, str] = {}
    text = text or ""
    if "http" not in text:
        return out
    shown = _masked(text, find_personal(text))
    for m in _URL.finditer(text):
        url = m.group().rstrip(".,;:!?")
        if url not in out:
            out[url] = _context(shown, m.start(), m.start() + len(url))
        if len(out) >= MAX_LINKS:
            break
    return out


def _masked(text: str, personal: list[PersonalHit]) -> str:
    """The text with its personal data masked in place (same length: offsets still hold)."""
    if not personal:
        return text
    chars = list(text)
    for p in personal:
        chars[p.start : p.end] = mask(p.value)
    return "".join(chars)


def _context(text: str, start: int, end: int) -> str:
    """The match with up to CONTEXT_CHARS characters in all, centred on it, on one line."""
    length = end - start
    if length >= CONTEXT_CHARS:
        return text[start : start + CONTEXT_CHARS].replace("\n", " ")
    room = CONTEXT_CHARS - length
    before = min(start, room // 2)
    after = min(len(text) - end, room - before)
    before = min(start, room - after)
    return text[start - before : end + after].replace("\n", " ")
