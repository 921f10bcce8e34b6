"""Which stored URLs become links: one value at a time and a column at once give the same answer."""

from __future__ import annotations

from registry.safety import URL_MAX, safe_http_url, safe_http_urls

URLS = [
    "https://weibo.com/2803301701/NkS1a2b3c",
    "http://mp.weixin.qq.com/s?__biz=MzA5&mid=1&idx=1",
    "HTTPS://m.toutiao.com/i7301/",  # scheme in capitals: lower-cased
    "  https://weibo.com/u/1  ",  # spaces around: dropped
    "https://weibo.com/u/1 ",
    "//m.weibo.cn/detail/49",  # protocol-relative: https
    "javascript:alert(1)",
    "java\tscript:alert(1)",
    "https://user@evil.example/",  # user info disguises the host
    "https://weibo.com/a\u202eb",  # a bidirectional override
    "https://[::1]:8080/x",
    "https://weibo.com/" + "a" * URL_MAX,  # too long
    "ftp://example.com/",
    "",
    None,
    12,
]


def test_a_column_of_urls_is_checked_as_each_alone() -> None:
    assert safe_http_urls(URLS) == [safe_http_url(u) for u in URLS]
    assert safe_http_urls(URLS)[:7] == [
        "https://weibo.com/2803301701/NkS1a2b3c",
        "http://mp.weixin.qq.com/s?__biz=MzA5&mid=1&idx=1",
        "https://m.toutiao.com/i7301/",
        "https://weibo.com/u/1",
        "https://weibo.com/u/1",
        "https://m.weibo.cn/detail/49",
        None,
    ]
    assert safe_http_urls(URLS)[7:11] == [None, None, None, "https://[::1]:8080/x"]
    assert safe_http_urls(URLS)[11:] == [None] * 5
