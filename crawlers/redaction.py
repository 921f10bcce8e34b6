"""Credentials never leave the request: not in stored URLs, not in logs, not in reasons.

Two guards. URLs are stored without their credential query parameters (the account's URL and every
post link). And everything the crawl writes to its log goes through redaction: each configured secret
value (cookies, tokens, keys), wherever it appears, and the value of every credential query parameter
become "***" — so a library message that quotes a request URL cannot leak one. Redaction sits on the
crawl's output streams themselves, under every log handler Scrapy installs (also those installed when
the crawl starts), Python's warnings and tracebacks; a filter on the root handlers masks records too.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Collection, Iterable
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from registry.bridges import literal_credentials
from registry.config import Settings, read_secret
from registry.vocabulary import PLATFORMS

MASK = "***"
# Query parameters that carry credentials on the sources we use (the WeChat MP token, a bridge's
# access key) or on neighbouring ones (appmsg_token, pass_ticket, msToken).
# WeChat article links opened in the client carry the reader's session (key, pass_ticket, uin, exportkey).
CREDENTIAL_PARAMS = frozenset(
    {"token", "key", "access_key", "appmsg_token", "pass_ticket", "mstoken", "code", "exportkey", "uin", "wxtoken"}
)
# In free text ("code=200" is a status, not a credential) the parameters masked wherever they appear.
_TEXT_PARAMS = re.compile(
    r"(?<![A-Za-z0-9_])(" + "|".join(sorted(CREDENTIAL_PARAMS - {"code"})) + r")=([^&\s<>'\"#;]+)", re.IGNORECASE
)
# Short values would mask innocent text ("1" in every URL); real credentials are long.
MIN_SECRET_LEN = 6


def configured_secrets(settings: Settings) -> list[str]:
    """Every credential value in the configuration (read from env, file or a *_file)."""
    values: list[str] = []
    for platform in PLATFORMS:
        conf = settings.platform(platform)
        for name in ("cookie", "token"):
            if name in conf or f"{name}_file" in conf:
                values.append(settings.secret(platform, name))
    bridge = settings.get("bridge", default={}) or {}
    values.append(str(bridge.get("key") or ""))
    values.append(read_secret(bridge, "wechat2rss_secret", where="bridge"))
    values += literal_credentials(bridge)  # a password or key= written into a bridge URL or template
    return secret_pieces(values)


def secret_pieces(values: Iterable[str]) -> list[str]:
    """The values and, for cookies, each cookie's value: a log line may quote one cookie alone."""
    pieces: set[str] = set()
    for value in values:
        value = (value or "").strip()
        if len(value) >= MIN_SECRET_LEN:
            pieces.add(value)
        for part in value.split(";"):
            _, _, cookie_value = part.partition("=")
            if len(cookie_value.strip()) >= MIN_SECRET_LEN:
                pieces.add(cookie_value.strip())
    return sorted(pieces, key=len, reverse=True)  # longest first: a secret containing another


def redact(text: str, secrets: Collection[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_log(text: str, secrets: Collection[str]) -> str:
    """A log line: the secrets, and the value of every credential query parameter it quotes."""
    text = redact(text, secrets)
    return _TEXT_PARAMS.sub(rf"\1={MASK}", text) if "=" in text else text


def strip_credentials(
    url: str | None, params: Collection[str] = CREDENTIAL_PARAMS, secrets: Collection[str] = ()
) -> str | None:
    """The URL without credential query parameters (and without any parameter whose value is a
    configured secret) nor fragment, for storing and showing."""
    return clean_link(url, params, secrets, drop_fragment=True)


def clean_link(
    url: str | None,
    params: Collection[str] = CREDENTIAL_PARAMS,
    secrets: Collection[str] = (),
    *,
    drop_fragment: bool = False,
) -> str | None:
    """A post's link as stored: unchanged unless it carries a credential parameter or a configured
    secret, which are dropped (the link still opens the post)."""
    if not url:
        return url
    if not drop_fragment and _plainly_clean(url, params, secrets):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if (
        not drop_fragment
        and "@" not in parts.netloc
        and not any(k.lower() in params or v in secrets for k, v in pairs)
        and not any(s in url for s in secrets)
    ):
        return url
    query = [(k, v) for k, v in pairs if k.lower() not in params and v not in secrets]
    netloc = parts.netloc.rpartition("@")[2]  # user:password@ of a bridge URL
    cleaned = parts._replace(netloc=netloc, query=urlencode(query), fragment="" if drop_fragment else parts.fragment)
    return redact(urlunsplit(cleaned), secrets)


# Characters after which a URL needs the full reading: a user:password@, an IPv6 host (which urlsplit
# checks), and escapes that could spell a parameter's name or a secret in another way.
_NEEDS_READING = frozenset("@[]%+")


def _plainly_clean(url: str, params: Collection[str], secrets: Collection[str]) -> bool:
    """True when a link surely carries no credential: no parameter of that name anywhere in it, no
    configured secret, nothing encoded. Most posts' links are such, and reading each one's query cost a
    patrol a few per cent of its time; any doubt goes to the full reading."""
    if not url.isascii() or not _NEEDS_READING.isdisjoint(url):
        return False
    lower = url.lower()
    return not any(name in lower for name in params) and not any(secret in url for secret in secrets)


class RedactingFilter(logging.Filter):
    """Masks secret values in a log record's message, arguments and traceback."""

    def __init__(self, secrets: Collection[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        record.msg, record.args = redact_log(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_log(record.exc_text, self.secrets)
        return True


class RedactingStream:
    """A text stream that masks secrets in whatever is written through it (the crawl's stdout and stderr,
    which are its log file): every handler writing there, Python's warnings and tracebacks included."""

    def __init__(self, stream: TextIO, secrets: Collection[str]) -> None:
        self._stream = stream
        self.secrets = list(secrets)

    def write(self, text: str) -> int:
        self._stream.write(redact_log(text, self.secrets))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding...
        return getattr(self._stream, name)


def redact_streams(secrets: Collection[str]) -> None:
    """Put redaction under sys.stdout and sys.stderr (once), before any log handler is made on them."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, RedactingStream):
            stream.secrets = list(secrets)
        else:
            setattr(sys, name, RedactingStream(stream, secrets))
    logging.captureWarnings(True)  # warnings as log records (through the handlers, and the filter)


def install_redaction(secrets: Collection[str], *, level: int | str | None = None) -> RedactingFilter:
    """Put the filter on every handler of the root logger (records from all loggers pass there). With
    `level`, records below it are not even built (Scrapy leaves the root logger at NOTSET and drops them in
    its handler, after a DEBUG record per response was formatted)."""
    redact_streams(secrets)
    flt = RedactingFilter(secrets)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(flt)
    if level is not None:
        root.setLevel(level)
    return flt
