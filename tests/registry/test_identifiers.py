"""Account ids and URLs as a person pastes them into `account add`: every URL form resolves to the platform
and its id; URLs without the id, unknown platforms and malformed ids are refused with a hint, and
nothing is written."""

from __future__ import annotations

import pytest
from tests.registry.roster_helpers import BIZ, TOKEN, WEIBO_UID, accounts


@pytest.fixture
def gp(gp_sqlite):
    gp_sqlite.ok("org", "add", "岳麓区")
    return gp_sqlite


@pytest.mark.parametrize(
    ("url", "platform", "platform_id"),
    [
        (f"https://weibo.com/u/{WEIBO_UID}", "weibo", WEIBO_UID),
        (f"https://m.weibo.cn/u/{WEIBO_UID}", "weibo", WEIBO_UID),
        (f"https://m.weibo.cn/profile/{WEIBO_UID}", "weibo", WEIBO_UID),
        (f"https://weibo.com/{WEIBO_UID}", "weibo", WEIBO_UID),
        (f"https://weibo.com/{WEIBO_UID}/MxYz12ab3", "weibo", WEIBO_UID),  # a post link names its author
        (f"weibo.com/u/{WEIBO_UID}?is_hot=1", "weibo", WEIBO_UID),  # pasted without the scheme
        (f"https://m.weibo.cn/api/container/getIndex?type=uid&value={WEIBO_UID}", "weibo", WEIBO_UID),
        (f"https://m.weibo.cn/api/container/getIndex?containerid=107603{WEIBO_UID}", "weibo", WEIBO_UID),
        (f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650000001&idx=1&sn=0a1b2c#rd", "wechat", BIZ),
        ("https://mp.weixin.qq.com/s?__biz=MzA5NDc1NzQ4MA%3D%3D&mid=2650000001&idx=1", "wechat", BIZ),
        (f"https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz={BIZ}&scene=124#wechat_redirect", "wechat", BIZ),
        (f"https://www.toutiao.com/c/user/token/{TOKEN}/", "toutiao", TOKEN),
        (f"https://www.toutiao.com/c/user/token/{TOKEN}/?source=profile&tab=article", "toutiao", TOKEN),
    ],
)
def test_account_add_resolves_every_url_form(gp, url: str, platform: str, platform_id: str) -> None:
    out = gp.ok("account", "add", url, "--name", "岳麓发布", "--org", "岳麓区").output
    assert out == f"registered {platform}:{platform_id} 岳麓发布 (#1)\n"
    [account] = accounts(gp)
    assert (account["platform"], account["platform_id"]) == (platform, platform_id)


@pytest.mark.parametrize(
    ("url", "message", "hint"),
    [
        (
            "https://mp.weixin.qq.com/s/AbCdEf-123_xyz",
            "is a WeChat short link: it does not carry the account id",
            "paste the __biz",
        ),
        (
            "https://mp.weixin.qq.com/s?src=11&timestamp=1678851000&ver=4&signature=abc",
            "is a temporary WeChat link",
            "paste the __biz",
        ),
        ("https://weibo.com/n/岳麓发布", "is a Weibo nickname or custom-domain URL", "https://weibo.com/u/2803301701"),
        ("https://weibo.com/yuelufabu", "is a Weibo nickname or custom-domain URL", "numeric uid"),
        ("https://m.weibo.cn/status/4881234567890123", "is a link to one post", "numeric uid"),
        ("https://m.toutiao.com/is/iRxYz123/", "is a Toutiao short link", "/c/user/token/MS4wLjAB"),
        ("https://www.toutiao.com/article/7210987654321098765/", "is a link to one post", "/c/user/token/"),
        (
            "https://www.toutiao.com/c/user/50502346173/",
            "is a numeric Toutiao user id, which no route can patrol",
            "paste the profile URL (https://www.toutiao.com/c/user/token/MS4wLjAB.../) or the MS4wLjAB... token",
        ),
        ("https://m.toutiao.com/profile/50502346173/", "is a numeric Toutiao user id", "MS4wLjAB... token"),
        (f"ftp://weibo.com/u/{WEIBO_UID}", "is not an http(s) URL", "https://"),
        (
            f"https://example.com/u/{WEIBO_UID}",
            "is not a URL of a known platform (WeChat, Weibo, Toutiao)",
            "--platform and --id",
        ),
        ("https://mp.weixin.qq.com/s?__biz=notabiz&mid=1", "is not valid", "paste the __biz"),
    ],
)
def test_account_add_refuses_urls_without_an_id(gp, url: str, message: str, hint: str) -> None:
    result = gp("account", "add", url, "--name", "岳麓发布", "--org", "岳麓区")
    assert result.exit_code == 2
    first, second = result.output.splitlines()[:2]
    assert first.startswith("Error: ") and message in first
    assert second.startswith("Hint: ") and hint in second
    assert accounts(gp) == []


@pytest.mark.parametrize(
    ("platform", "given", "stored"),
    [
        ("weibo", WEIBO_UID, WEIBO_UID),
        ("新浪微博", WEIBO_UID, WEIBO_UID),
        ("微博", WEIBO_UID, WEIBO_UID),
        ("wechat", BIZ, BIZ),
        ("微信公众号", "gh_0123456789AB", "gh_0123456789ab"),
        ("公众号", "yuelu_fabu-2020", "yuelu_fabu-2020"),
        ("微信", "abcdef", "abcdef"),
        ("WeChat", "a" * 20, "a" * 20),
        ("头条号", TOKEN, TOKEN),
        ("ＷＥＩＢＯ", WEIBO_UID, WEIBO_UID),  # full-width, as typed with a Chinese input method
    ],
)
def test_platform_names_and_id_forms(gp, platform: str, given: str, stored: str) -> None:
    gp.ok("account", "add", "--platform", platform, "--id", given, "--name", "岳麓发布", "--org", "岳麓区")
    [account] = accounts(gp)
    assert account["platform_id"] == stored


@pytest.mark.parametrize(
    ("platform", "given", "message"),
    [
        ("weibo", "yuelufabu", "'yuelufabu' is not a valid weibo account id"),
        ("weibo", "123", "'123' is not a valid weibo account id"),
        ("wechat", "gh_12345", "'gh_12345' is not a valid wechat account id"),
        ("wechat", "1abcdef", "'1abcdef' is not a valid wechat account id"),
        ("wechat", "abcde", "'abcde' is not a valid wechat account id"),
        ("wechat", "a" * 21, "is not a valid wechat account id"),
        ("wechat", "MzA5NDc1NzQ4MA=", "'MzA5NDc1NzQ4MA=' is not a valid wechat account id"),
        ("toutiao", "MS4wLjAB", "'MS4wLjAB' is not a valid toutiao account id"),
        ("toutiao", "岳麓公安", "is not a valid toutiao account id"),
    ],
)
def test_malformed_ids_are_refused(gp, platform: str, given: str, message: str) -> None:
    result = gp("account", "add", "--platform", platform, "--id", given, "--name", "x", "--org", "岳麓区")
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {message}") or message in result.output.splitlines()[0]
    assert "Hint: expected" in result.output
    assert accounts(gp) == []


@pytest.mark.parametrize("platform", ["toutiao", "今日头条"])
def test_a_numeric_toutiao_id_is_refused_with_what_to_paste(gp, platform: str) -> None:
    result = gp("account", "add", "--platform", platform, "--id", "50502346173", "--name", "x", "--org", "岳麓区")
    assert result.exit_code == 2
    assert result.output == (
        "Error: '50502346173' is a numeric Toutiao user id, which no route can patrol (the API and RSSHub both "
        "take the MS4wLjAB... token): give the profile URL or the token instead\n"
        "Hint: paste the profile URL (https://www.toutiao.com/c/user/token/MS4wLjAB.../) or the MS4wLjAB... token\n"
    )
    assert accounts(gp) == []


def test_unknown_platform_lists_the_known_ones(gp) -> None:
    result = gp("account", "add", "--platform", "douyin", "--id", "12345678", "--name", "x", "--org", "岳麓区")
    assert result.exit_code == 2
    assert result.output == (
        "Error: unknown platform 'douyin'\nHint: use one of wechat (微信公众号), weibo (微博), toutiao (今日头条)\n"
    )


def test_platform_and_url_must_agree(gp) -> None:
    result = gp(
        "account", "add", f"https://weibo.com/u/{WEIBO_UID}", "--platform", "wechat", "--name", "x", "--org", "岳麓区"
    )
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: 'https://weibo.com/u/{WEIBO_UID}' is a weibo URL, not wechat")


def test_an_id_without_a_platform_asks_for_it(gp) -> None:
    result = gp("account", "add", "--id", WEIBO_UID, "--name", "x", "--org", "岳麓区")
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: which platform is '{WEIBO_UID}' on?\nHint: add --platform")


def test_url_and_id_together_is_a_usage_error(gp) -> None:
    result = gp(
        "account", "add", f"https://weibo.com/u/{WEIBO_UID}", "--id", WEIBO_UID, "--name", "x", "--org", "岳麓区"
    )
    assert result.exit_code == 2
    assert "give a URL or --id, not both" in result.output
    assert accounts(gp) == []
