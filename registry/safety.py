"""Which untrusted URLs may be stored or become links: absolute http(s) URLs only, size-limited.

One check, applied where crawled data comes in and again where a report turns a stored URL into a link.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

URL_MAX = 2000  # the size of the url columns (registry.models)
# Not in a link: spaces, control characters, zero-width and bidirectional-override characters (browsers
# strip some of them, turning "java\tscript:" into a scheme; the others disguise where a link goes).
_UNSAFE = r"\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff"
# Scheme, then a host (a name or a bracketed IPv6 address; no user info, which would disguise the host)
# with an optional port, then an optional path, query or fragment.
_HTTP_URL = re.compile(
    rf"(https?)://(?:\[[0-9a-f:.]+\]|[^\[\]/?#@\\:{_UNSAFE}]+)(?::[0-9]{{1,5}})?"
    rf"(?:[/?#][^{_UNSAFE}]*)?",
    re.IGNORECASE,
)


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
    return url if scheme.islower() else scheme.lower() + url[len(scheme) :]


def safe_http_urls(values: Iterable[object]) -> list[str | None]:
    """safe_http_url of each value; a value already in the form it returns (an http(s) URL with the
    scheme in lower case, nothing around it) is checked by the pattern alone, without the steps that
    would leave it as it is (a report checks a hundred thousand)."""
    match = _HTTP_URL.fullmatch
    return [
        url
        if type(url) is str and url.startswith(("https://", "http://")) and len(url) <= URL_MAX and match(url)
        else safe_http_url(url)
        for url in values
    ]


# Addresses a feed URL may never reach: link-local (169.254.0.0/16, fe80::/10, where the clouds' instance
# metadata services answer with credentials) and AWS's IPv6 metadata address. An intranet or same-host
# bridge (10.x, 192.168.x, 127.0.0.1) is the common setup and stays allowed.
_FORBIDDEN_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128"))
_METADATA_NAMES = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)


def forbidden_address(address: str) -> bool:
    """Whether an IP address (text) is link-local or a cloud metadata address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in _FORBIDDEN_NETWORKS)


def forbidden_host(url: str) -> str | None:
    """The host of `url` when it is a literal link-local or metadata address (or a metadata service's
    name), else None. Names are resolved at fetch time (crawlers.middlewares.AddressGuard)."""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return None
    if host in _METADATA_NAMES or forbidden_address(host):
        return host
    return None
