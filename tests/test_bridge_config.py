"""Naming the bridge, not a template: `[bridge.templates]` takes a bridge's name per platform and builds
each account's feed URL with that bridge's own id scheme; free templates keep working with documented
placeholders; a typo is refused when the configuration is loaded, naming the key; credentials written
into a template never show in `config show`."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from registry.config import load_settings

BIZ = "MzA5NDc1NzQ4MA=="  # the biz of WeChat account 3094757480
UID = "2803301701"
TOKEN = "MS4wLjABAAAAv7iSuuXDJGDvJkmH_vz1qkDZYo1apxgzaxdBSeIuPi4"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "govpulse.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_common_setup_mixes_bridges(gp_env: dict[str, str], tmp_path: Path) -> None:
    """RSSHub for Weibo and Toutiao, wewe-rss for WeChat, each on its own host; RSSHub's key to RSSHub only."""
    settings = load_settings(
        write(
            tmp_path,
            """
[bridge]
base_url = "http://rsshub.intranet:1200"
key = "ACCESSKEY77"
[bridge.base_urls]
wechat = "http://wewe.intranet:4000/"
[bridge.templates]
weibo = "rsshub"
toutiao = "RSSHub"
wechat = "wewe-rss"
""",
        )
    )
    assert settings.bridge_route("weibo").url(UID) == f"http://rsshub.intranet:1200/weibo/user/{UID}?key=ACCESSKEY77"
    assert settings.bridge_route("toutiao").url(TOKEN) == (
        f"http://rsshub.intranet:1200/toutiao/user/token/{TOKEN}?key=ACCESSKEY77"
    )
    assert settings.bridge_route("wechat").url(BIZ) == "http://wewe.intranet:4000/feeds/MP_WXS_3094757480.atom"


def test_wechat2rss_plain_and_encrypted_ids(
    gp_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[bridge]\nbase_url = "http://w2r:8080"\n[bridge.templates]\nwechat = "wechat2rss"\n')
    assert load_settings(path).bridge_route("wechat").url(BIZ) == "http://w2r:8080/feed/3094757480.xml"
    # RSS_ENC_FEED_ID=1: the feed id is the HMAC of the number keyed with RSS_SECRET (deploy/api.md).
    (tmp_path / "w2r.secret").write_text("abcdef123\n", encoding="utf-8")
    path = write(
        tmp_path,
        '[bridge]\nbase_url = "http://w2r:8080"\nwechat2rss_secret_file = "w2r.secret"\n'
        '[bridge.templates]\nwechat = "wechat2rss"\n',
    )
    expected = hmac.new(b"abcdef123", b"3094757480", hashlib.sha1).hexdigest()
    assert load_settings(path).bridge_route("wechat").url(BIZ) == f"http://w2r:8080/feed/{expected}.xml"
    monkeypatch.setenv("GOVPULSE_WECHAT2RSS_SECRET", "other")
    assert hmac.new(b"other", b"3094757480", hashlib.sha1).hexdigest() in load_settings(path).bridge_route(
        "wechat"
    ).url(BIZ)


def test_free_templates_with_their_placeholders(gp_env: dict[str, str], tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            """
[bridge]
base_url = "http://bridge.local"
key = "K3Y-123456"
[bridge.templates]
weibo = "{base}/weibo/user/{id}/readable=1?key={key}"
wechat = "{base}/custom/{biz_num}.rss"
""",
        )
    )
    assert settings.bridge_route("weibo").url(UID) == f"http://bridge.local/weibo/user/{UID}/readable=1?key=K3Y-123456"
    # Without {key}, a free template gets the key as key=, as templates always did.
    assert settings.bridge_route("wechat").url(BIZ) == "http://bridge.local/custom/3094757480.rss?key=K3Y-123456"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[bridge.templates]\nwechat = "wewerss"\n', "bridge.templates.wechat = 'wewerss': unknown bridge"),
        (
            '[bridge.templates]\nweibo = "{base}/weibo/{uid}"\n',
            "bridge.templates.weibo = '{base}/weibo/{uid}': unknown placeholder {uid}",
        ),
        (
            '[bridge.templates]\nwechat = "{base}/feeds/{id"\n',
            "bridge.templates.wechat = '{base}/feeds/{id': malformed",
        ),
        (
            '[bridge.templates]\ntoutiao = "{base}/toutiao/{biz_num}"\n',
            "bridge.templates.toutiao: {biz_num} is for WeChat",
        ),
        ('[bridge.templates]\nweibo = "{base}/weibo/user"\n', "the template names no account"),
        ('[bridge.templates]\nwechat = "rsshub"\n', "RSSHub has no route that reads a WeChat account by its biz"),
        ('[bridge.templates]\ndouyin = "rsshub"\n', "bridge.templates.douyin: unknown platform"),
        ('[bridge]\nbase_url = "rsshub.local:1200"\n', "bridge.base_url = 'rsshub.local:1200': not an http(s) URL"),
    ],
)
def test_a_bad_bridge_setting_is_refused_at_load_naming_the_key(
    gp_sqlite, tmp_path: Path, toml: str, message: str
) -> None:
    path = write(tmp_path, toml)
    result = gp_sqlite("--config", str(path), "config", "show")
    assert result.exit_code == 2, result.output
    first = result.output.splitlines()[0]
    assert first.startswith(f"Error: {path}: ") and message in first
    assert "Traceback" not in result.output


def test_credentials_in_bridge_urls_are_masked_in_config_show(gp_sqlite, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[bridge]
base_url = "http://admin:hunter22@rsshub.local:1200"
key = "ACCESSKEY77"
wechat2rss_secret = "RSSSECRET88"
[bridge.base_urls]
wechat = "http://wewe.local:4000"
[bridge.templates]
wechat = "{base}/feeds/MP_WXS_{biz_num}.atom?k=PASSWORD99&limit=20"
""",
    )
    out = gp_sqlite.ok("--config", str(path), "config", "show").output
    for secret in ("hunter22", "ACCESSKEY77", "RSSSECRET88", "PASSWORD99"):
        assert secret not in out
    bridge = json.loads(out)["settings"]["bridge"]
    assert bridge["templates"]["wechat"] == "{base}/feeds/MP_WXS_{biz_num}.atom?k=***&limit=20"
    assert bridge["base_url"] == "http://admin:***@rsshub.local:1200"
    assert bridge["key"] == bridge["wechat2rss_secret"] == "***"


def test_credentials_in_a_template_never_reach_the_stored_url(gp_env: dict[str, str], tmp_path: Path) -> None:
    from crawlers.redaction import configured_secrets, strip_credentials

    settings = load_settings(
        write(
            tmp_path,
            """
[bridge]
base_url = "http://admin:hunter22@bridge.local"
[bridge.templates]
wechat = "{base}/feeds/MP_WXS_{biz_num}.atom?auth=PASSWORD99"
""",
        )
    )
    url = settings.bridge_route("wechat").url(BIZ)
    secrets = configured_secrets(settings)
    assert {"PASSWORD99", "hunter22"} <= set(secrets)
    assert strip_credentials(url, secrets=secrets) == "http://bridge.local/feeds/MP_WXS_3094757480.atom"
