"""The content hash of a post: equal for the same news re-published by several accounts.

The patrol stores it with each post (Post.content_hash); the scorer computes it for posts stored
without one, so that both sides hash the same way.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Everything but letters and digits (Unicode categories L* and N*): Python's \w is exactly those plus
# "_" (tests/registry/test_digest.py checks every code point). One regular expression instead of a Python loop
# over the characters, which cost a fifth of parsing a page.
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")


def content_hash(title: str | None, text: str | None) -> str | None:
    """sha1 of the letters and digits of title and text (NFKC, lowercased): equal for the same news
    re-published by several accounts with different spacing or punctuation. None when there is no text."""
    normalised = [
        _NOT_LETTER_OR_DIGIT.sub("", unicodedata.normalize("NFKC", part or "").lower()) for part in (title, text)
    ]
    if not any(normalised):
        return None
    return hashlib.sha1("\x1f".join(normalised).encode("utf-8")).hexdigest()
