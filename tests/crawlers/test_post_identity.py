"""One post, one identity, whatever the route: an account patrolled through the platform's API, then
through a bridge, then through the API again stores every post once. RSSHub links a Weibo post by its bid
(the mid in base62), a Toutiao post by its item id in the path, Wechat2RSS a WeChat article by its long
link; the API gives the mid, the item id and appmsgid_idx."""

from __future__ import annotations


import pytest
from sqlalchemy import select
from tests.simulation import Crawl, pick

from registry.db import session_scope
from registry.models import Post

W2R = '[bridge.templates]\nwechat = "wechat2rss"\n'


def stored(c: Crawl, account_ids: list[int]) -> dict[int, list[str]]:
    with session_scope(engine := c.engine()) as s:
        rows = s.execute(select(Post.account_id, Post.platform_post_id).where(Post.account_id.in_(account_ids))).all()
    engine.dispose()
    out: dict[int, list[str]] = {a: [] for a in account_ids}
    for account_id, post_id in rows:
        out[account_id].append(post_id)
    return out


def sources(c: Crawl, patrol_id: int) -> set[tuple[str, str]]:
    return {(o.source, o.outcome) for o in c.outcomes(patrol_id).values()}


@pytest.mark.slow
def test_switching_routes_back_and_forth_stores_no_post_twice(crawl: Crawl) -> None:
    accounts = [pick(crawl.scenario, "active", p) for p in ("weibo", "toutiao", "wechat")]
    keys = crawl.accounts()
    ids = [keys[(a.platform, a.platform_id)] for a in accounts]
    refs = [arg for a in accounts for arg in ("--account", f"{a.platform}:{a.platform_id}")]

    crawl.configure(extra=W2R, weibo="api", toutiao="api", wechat="api")
    first = crawl.patrol(*refs)
    assert sources(crawl, first["patrol_id"]) == {("api", "ok")}
    by_api = stored(crawl, ids)
    assert all(len(v) > 20 for v in by_api.values())  # more than one feed holds: the feed is a subset

    crawl.configure(extra=W2R, weibo="feed", toutiao="feed", wechat="feed")
    second = crawl.patrol(*refs)
    assert sources(crawl, second["patrol_id"]) == {("feed", "ok")}
    assert stored(crawl, ids) == by_api  # every post the bridges showed was one already stored

    crawl.configure(extra=W2R, weibo="api", toutiao="api", wechat="api")
    crawl.patrol(*refs)
    after = stored(crawl, ids)
    assert after == by_api
    assert all(len(v) == len(set(v)) for v in after.values())
    # The ids are the platform's own: the mid, the item id, appmsgid_idx.
    weibo, toutiao, wechat = (after[i] for i in ids)
    assert all(p.isdigit() and len(p) == 16 for p in weibo)
    assert all(p.isdigit() for p in toutiao)
    assert all(p.split("_")[0].isdigit() and p.split("_")[1].isdigit() for p in wechat)


@pytest.mark.slow
def test_wechat_through_wewe_rss_short_links_and_the_mp_api_is_one_post_each(crawl: Crawl) -> None:
    """wewe-rss links articles by short links that only WeChat can map: the same article is recognised by
    its account, publish time and title, and keeps the MP list's appmsgid_idx."""
    acc = pick(crawl.scenario, "active", "wechat")
    account_id = crawl.accounts()[("wechat", acc.platform_id)]
    ref = ("--account", f"wechat:{acc.platform_id}")
    crawl.configure(wechat="feed")  # wewe-rss first: short-link ids
    crawl.patrol(*ref)
    via_bridge = stored(crawl, [account_id])[account_id]
    assert via_bridge and not any("_" in p and p.split("_")[0].isdigit() for p in via_bridge)
    crawl.configure(wechat="api")
    crawl.patrol(*ref)
    after_api = stored(crawl, [account_id])[account_id]
    assert all(p.split("_")[0].isdigit() for p in after_api)  # the short-link rows took the platform's ids
    crawl.configure(wechat="feed")
    crawl.patrol(*ref)
    assert sorted(stored(crawl, [account_id])[account_id]) == sorted(after_api)
