"""Which untrusted URLs may be stored or become links: absolute http(s) URLs only, size-limited.

One check, applied where crawled data comes in and again where a report turns a stored URL into a link.
"""

from __future__ import annotations

import re

URL_MAX = 2000  # the size of the url columns (registry.models)
# Not in a link: spaces, control characters, zero-width and bidirectional-override characters (browsers
# strip some of them, turning "java\tscript:" into a scheme; the others disguise where a link goes).
_UNSAFE = r"\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff"
# Scheme, then a host (a name or a bracketed IPv6 address; no user info, which would disguise the host)
# with an optional port, then an optional path, query or fragment.
_HTTP_URL = re.compile(rf"(https?)://(?:\[[0-9a-f:.]+\]|[^\[\]/?#@\\:{_UNSAFE}]+)(?::[0-9]{{1,5}})?"
                       rf"(?:[/?#][^{_UNSAFE}]*)?", re.IGNORECASE)


def safe_http_url(url: object, *, limit: int = URL_MAX) -> str | None:
    """`url` if it is an absolute http(s) URL with a host and nothing odd in it, else None.

    Surrounding spaces are dropped, a protocol-relative "//host/path" is read as https and the scheme is
    lower-cased; nothing else changes.
    """
    if not isinstance(url, str):
        return None
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    match = _HTTP_URL.fullmatch(url) if len(url) <= limit else None
    if match is None:
        return None
    scheme = match[1]
    return url if scheme.islower() else scheme.lower() + url[len(scheme):]
