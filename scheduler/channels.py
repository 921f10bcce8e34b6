"""Where alerts go: a generic JSON webhook, WeCom (企业微信) and DingTalk (钉钉) group robots, e-mail.

Channels are configured under [alerts.channels.<name>]. Secrets (robot URLs with their keys, the
DingTalk signing secret, the SMTP password) come from the environment (GOVPULSE_ALERT_<NAME>_<KEY>),
the configuration, or a file (<key>_file); errors name the host, never the URL with its key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from registry.config import read_secret
from registry.errors import ValidationError
from registry.i18n import L

TYPES = ("webhook", "wecom", "dingtalk", "email")
# Robot URLs may come from the environment, so only e-mail has keys that must be in the file.
REQUIRED = {"webhook": (), "wecom": (), "dingtalk": (), "email": ("smtp_host", "from", "to")}
# Message size limits of the robots (bytes of UTF-8): WeCom markdown 4096, DingTalk about 20000.
TEXT_LIMITS = {"wecom": 4000, "dingtalk": 18000}
REPLY_LIMIT = 65536


class ChannelError(Exception):
    """A channel could not deliver; the message is safe to store and show."""


@dataclass
class Message:
    title: str
    text: str  # Markdown (robots) and plain text (e-mail)
    data: dict[str, Any] = field(default_factory=dict)  # structured events, for the JSON webhook


def secret(name: str, conf: dict[str, Any], key: str) -> str:
    """GOVPULSE_ALERT_<NAME>_<KEY> from the environment, else the key, else the file `<key>_file` names."""
    env = f"GOVPULSE_ALERT_{re.sub(r'[^A-Za-z0-9]', '_', name).upper()}_{key.upper()}"
    return os.environ.get(env) or read_secret(conf, key, where=f"alerts.channels.{name}")


def validate(name: str, conf: Any) -> None:
    where = f"alerts.channels.{name}"
    if not isinstance(conf, dict) or conf.get("type") not in TYPES:
        raise ValidationError(f"{where}.type: {L('应为', 'must be one of')} {', '.join(TYPES)}")
    for key in REQUIRED[conf["type"]]:
        if not conf.get(key):
            raise ValidationError(f"{where}.{key}: {L('必填', 'is required')}")


def _truncate(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 4].decode("utf-8", "ignore") + "\n…"


def _post_json(url: str, payload: dict[str, Any], timeout: float) -> bytes:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChannelError(L("webhook 地址应为 http(s) URL", "the webhook address must be an http(s) URL"))
    where = parts.hostname
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "govpulse"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read(REPLY_LIMIT)
    except urllib.error.HTTPError as exc:
        raise ChannelError(f"{where}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise ChannelError(f"{where}: {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise ChannelError(f"{where}: {exc}") from None


def _robot_reply(body: bytes, url: str) -> None:
    """WeCom and DingTalk answer HTTP 200 with {"errcode": 0} on success, another code on failure."""
    try:
        reply = json.loads(body)
    except ValueError:
        reply = None
    if not isinstance(reply, dict) or reply.get("errcode") != 0:
        detail = (
            f"errcode {reply.get('errcode')}: {str(reply.get('errmsg'))[:200]}"
            if isinstance(reply, dict)
            else L("回复不是 JSON", "the reply is not JSON")
        )
        raise ChannelError(f"{urllib.parse.urlsplit(url).hostname}: {detail}")


def dingtalk_signed_url(url: str, signing_secret: str, now_ms: int | None = None) -> str:
    """DingTalk's signature: HMAC-SHA256 over "<timestamp ms>\\n<secret>", base64, URL-encoded."""
    timestamp = str(now_ms if now_ms is not None else round(time.time() * 1000))
    digest = hmac.new(signing_secret.encode(), f"{timestamp}\n{signing_secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def _send_email(name: str, conf: dict[str, Any], message: Message, timeout: float) -> None:
    to = conf["to"] if isinstance(conf["to"], list) else [conf["to"]]
    mail = EmailMessage()
    mail["Subject"] = message.title.replace("\n", " ")
    mail["From"] = conf["from"]
    mail["To"] = ", ".join(to)
    mail.set_content(message.text)
    host, port = conf["smtp_host"], int(conf.get("smtp_port") or (465 if conf.get("ssl") else 25))
    smtp_class = smtplib.SMTP_SSL if conf.get("ssl") else smtplib.SMTP
    try:
        with smtp_class(host, port, timeout=timeout) as smtp:
            if conf.get("starttls"):
                smtp.starttls(context=ssl.create_default_context())
            if conf.get("user"):
                smtp.login(conf["user"], secret(name, conf, "password"))
            smtp.send_message(mail)
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"smtp {host}:{port}: {exc}") from None


def send(name: str, conf: dict[str, Any], message: Message, *, timeout: float) -> None:
    """Deliver one message over the channel; ChannelError if it did not arrive."""
    kind = conf.get("type")
    if kind == "email":
        _send_email(name, conf, message, timeout)
        return
    url = secret(name, conf, "webhook_url")
    if not url:
        raise ChannelError(L(f"渠道 {name} 没有 webhook_url", f"channel {name} has no webhook_url"))
    if kind == "webhook":
        _post_json(url, {"title": message.title, "text": message.text, **message.data}, timeout)
    elif kind == "wecom":
        text = _truncate(f"**{message.title}**\n{message.text}", TEXT_LIMITS["wecom"])
        _robot_reply(_post_json(url, {"msgtype": "markdown", "markdown": {"content": text}}, timeout), url)
    elif kind == "dingtalk":
        signing = secret(name, conf, "secret")
        target = dingtalk_signed_url(url, signing) if signing else url
        text = _truncate(f"### {message.title}\n{message.text}", TEXT_LIMITS["dingtalk"])
        _robot_reply(
            _post_json(target, {"msgtype": "markdown", "markdown": {"title": message.title, "text": text}}, timeout),
            url,
        )
    else:
        raise ChannelError(f"unknown channel type {kind!r}")
