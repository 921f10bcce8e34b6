"""One spider per source: each platform's own API, and feeds (a bridge's or an account's own)."""

from crawlers.spiders.base import PatrolSpider
from crawlers.spiders.feed import FeedSpider
from crawlers.spiders.toutiao import ToutiaoSpider
from crawlers.spiders.wechat import WechatSpider
from crawlers.spiders.weibo import WeiboSpider

SPIDERS: dict[str, type[PatrolSpider]] = {
    spider.source: spider for spider in (WeiboSpider, ToutiaoSpider, WechatSpider, FeedSpider)
}

__all__ = ["SPIDERS", "PatrolSpider"]
