"""Credentials never leave the request: not in stored URLs, not in logs, not in reasons.

Two guards. URLs are stored without their credential query parameters. And every log record of the
crawl goes through a filter that replaces each configured secret value (cookies, tokens, keys),
wherever it appears, with "***" — so a library message that quotes a request URL cannot leak one.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from registry.bridges import literal_credentials
from registry.config import Settings, read_secret
from registry.vocabulary import PLATFORMS

MASK = "***"
# Query parameters that carry credentials on the sources we use (the WeChat MP token, a bridge's
# access key) or on neighbouring ones (appmsg_token, pass_ticket, msToken).
CREDENTIAL_PARAMS = frozenset({"token", "key", "access_key", "appmsg_token", "pass_ticket", "mstoken", "code"})
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


def strip_credentials(url: str | None, params: Collection[str] = CREDENTIAL_PARAMS,
                      secrets: Collection[str] = ()) -> str | None:
    """The URL without credential query parameters (and without any parameter whose value is a
    configured secret), for storing and showing."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in params and v not in secrets]
    netloc = parts.netloc.rpartition("@")[2]  # user:password@ of a bridge URL
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query), fragment=""))


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
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def install_redaction(secrets: Collection[str], *, level: int | str | None = None) -> RedactingFilter:
    """Put the filter on every handler of the root logger (records from all loggers pass there). With
    `level`, records below it are not even built (Scrapy leaves the root logger at NOTSET and drops them in
    its handler, after a DEBUG record per response was formatted)."""
    flt = RedactingFilter(secrets)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(flt)
    if level is not None:
        root.setLevel(level)
    return flt
