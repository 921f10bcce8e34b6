"""Platform text made safe to store: plain text, links, and the hash that finds the same news published
by several accounts."""

from __future__ import annotations

import pytest

from crawlers.parsing import content_hash, plain_text, plain_title, safe_url


def test_markup_is_stripped_and_entities_decoded() -> None:
    html = (
        "<p>第一段 &amp; 说明<br/>第二段</p><script>alert(1)</script><style>p{}</style>"
        '<img alt="[微笑]" src="x.png"><a href="https://m.weibo.cn/search">#话题#</a>&lt;b&gt;'
    )
    assert plain_text(html, limit=2000) == "第一段 & 说明\n第二段\n[微笑]#话题#<b>"


def test_titles_are_one_line() -> None:
    assert plain_title("  标题\n\n  第二行\t\u3000结尾  ") == "标题 第二行 结尾"


def test_control_surrogate_and_bidi_characters_are_removed() -> None:
    assert plain_text("a\x00b\x08c\x7fd\ud800e\u202ef\u200bg\nh\ti", limit=100) == "abcdefg\nh i"


def test_text_keeps_single_line_breaks_only() -> None:
    assert plain_text("一\n\n\n  二  \n三", limit=100) == "一\n二\n三"


@pytest.mark.parametrize("value", [None, 12, "", "   ", "<br><p></p>", "\x00\x01"])
def test_nothing_left_is_none(value: object) -> None:
    assert plain_text(value, limit=100) is None


def test_size_limits() -> None:
    assert plain_title("字" * 10_000) == "字" * 499 + "…"
    assert len(plain_text("<b>x</b>" * 500_000, limit=2000)) == 2000


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://m.weibo.cn/status/Mx1a2b3c4", "https://m.weibo.cn/status/Mx1a2b3c4"),
        ("HTTP://Example.gov.cn/a?b=1#c", "http://Example.gov.cn/a?b=1#c"),
        ("//mp.weixin.qq.com/s/abc", "https://mp.weixin.qq.com/s/abc"),
        ("  https://www.toutiao.com/article/1/  ", "https://www.toutiao.com/article/1/"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html;base64,PHNjcmlwdD4=", None),
        ("file:///etc/passwd", None),
        ("/relative/path", None),
        ("https://", None),
        ("https://example.com/a b", None),
        ("https://example.com/\x00", None),
        ("https://[::1", None),
        ("https://example.com/" + "a" * 2000, None),
        ("https://gov.cn@evil.example/", None),  # user info would disguise the host
        ("https://evil.example\\@gov.cn/", None),
        ("https://example.com/\u202eexe.pdf", None),  # bidirectional override
        ("https://example.com:abc/", None),
        ("https://[::1]:8080/a", "https://[::1]:8080/a"),
        ("https://m.weibo.cn/status/1?from=@x", "https://m.weibo.cn/status/1?from=@x"),
        (None, None),
        (123, None),
    ],
)
def test_safe_url(url: object, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_content_hash_ignores_spacing_punctuation_width_and_case() -> None:
    a = content_hash("我区召开安全生产工作会议", "会议要求：压实责任，确保安全。ABC 2023")
    b = content_hash(" 我区召开 安全生产工作会议！", "会议要求, 压实责任; 确保安全…… ａｂｃ２０２３")
    assert a == b and len(a) == 40


def test_content_hash_tells_different_news_and_title_from_text_apart() -> None:
    assert content_hash("标题", "正文") != content_hash("标题", "另一篇正文")
    assert content_hash("标题正文", None) != content_hash("标题", "正文")


def test_content_hash_of_nothing_is_none() -> None:
    # picture-only posts must not all count as one duplicated text
    assert content_hash(None, None) is None
    assert content_hash("", "！？ ……") is None
