"""Posts' links are stored without the credentials a reader's client or a bridge put in them; a link
without any is stored exactly as it came."""

from __future__ import annotations

import pytest

from crawlers.redaction import clean_link

SECRET = "s3cr3tvalue42"


@pytest.mark.parametrize(
    "url",
    [
        "https://m.weibo.cn/status/4387933362623405",
        "https://weibo.com/5529945701/HATy0b0sZ",
        "https://mp.weixin.qq.com/s?__biz=MzA5NDc1NzQ4MA==&mid=2650000001&idx=1&sn=abcdef#rd",
        "https://www.toutiao.com/article/7300000000000000000/",
    ],
)
def test_a_link_without_credentials_is_kept_as_it_came(url: str) -> None:
    assert clean_link(url, secrets=[SECRET]) == url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://mp.weixin.qq.com/s?__biz=MzA=&key=abc123&idx=1", "https://mp.weixin.qq.com/s?__biz=MzA%3D&idx=1"),
        ("https://mp.weixin.qq.com/s?__biz=MzA=&KEY=abc123", "https://mp.weixin.qq.com/s?__biz=MzA%3D"),
        ("https://mp.weixin.qq.com/s?t%6Fken=abc123&idx=1", "https://mp.weixin.qq.com/s?idx=1"),
        ("https://mp.weixin.qq.com/s?idx=1&pass_ticket", "https://mp.weixin.qq.com/s?idx=1"),
        (f"https://example.org/p?x={SECRET}&idx=1", "https://example.org/p?idx=1"),
        ("https://user:pw@bridge.local/feeds/1.atom", "https://bridge.local/feeds/1.atom"),
    ],
)
def test_credentials_in_a_link_are_dropped(url: str, expected: str) -> None:
    assert clean_link(url, secrets=[SECRET]) == expected
