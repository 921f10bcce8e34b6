"""Platform parsers: one HTTP response in, one PageResult out. Pure functions: no network, no database,
no Scrapy types. Formats, outcomes and traps are described in docs/parsing.md."""

from crawlers.parsing.counts import parse_count
from crawlers.parsing.dates import parse_platform_time
from crawlers.parsing.feeds import parse_feed
from crawlers.parsing.posts import latest_publish_time
from crawlers.parsing.text import content_hash, plain_text, plain_title, safe_url
from crawlers.parsing.toutiao import parse_toutiao_feed
from crawlers.parsing.wechat import (
    parse_wechat_appmsg_list,
    parse_wechat_appmsgpublish,
    parse_wechat_article_page,
    wechat_read_count,
)
from crawlers.parsing.weibo import parse_weibo_profile, parse_weibo_timeline

__all__ = [
    "content_hash",
    "latest_publish_time",
    "parse_count",
    "parse_feed",
    "parse_platform_time",
    "parse_toutiao_feed",
    "parse_wechat_appmsg_list",
    "parse_wechat_appmsgpublish",
    "parse_wechat_article_page",
    "parse_weibo_profile",
    "parse_weibo_timeline",
    "plain_text",
    "plain_title",
    "safe_url",
    "wechat_read_count",
]
