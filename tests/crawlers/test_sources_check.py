"""`govpulse sources check`: one account per configured source, fetched as a patrol fetches it, with the
route, the URL (secrets masked), the outcome and its reason, the posts read and the newest publish time;
exit 1 when a source fails. And a bridge that answers badly gets an outcome and a reason, never silence,
in the check and in a patrol alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from tests.crawlers.hostile_bridge import HUGE, hostile_bridge
from tests.simulation import Crawl, pick

KEY = "ACCESSKEY4242"


def check(c: Crawl, *args: str) -> tuple[int, dict[str, Any]]:
    done = c.run("sources", "check", "--json", *args)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_every_configured_source_works_against_the_bridges(crawl: Crawl) -> None:
    crawl.env["GOVPULSE_BRIDGE_KEY"] = KEY
    code, out = check(crawl)
    assert code == 0 and out["ok"], out
    by_platform = {s["platform"]: s for s in out["sources"]}
    assert {p: (s["route"], s["source"], s["outcome"]) for p, s in by_platform.items()} == {
        "weibo": ("api", "api", "ok"),
        "toutiao": ("feed", "rsshub", "ok"),
        "wechat": ("feed", "wewe-rss", "ok"),
    }
    ids = {aid: key for key, aid in crawl.accounts().items()}
    for platform, source in by_platform.items():
        account_id = int(source["account"].split()[0].lstrip("#"))
        acc = crawl.scenario.account(*ids[account_id])
        newest = max(p.published_at for p in crawl.scenario.posts(acc) if "foreign_author" not in p.flags)
        assert source["newest"] == newest.isoformat(), platform
        assert source["posts"] > 0
    assert by_platform["toutiao"]["url"].endswith("?key=***") and KEY not in json.dumps(out)
    assert "/feeds/MP_WXS_" in by_platform["wechat"]["url"]


def test_text_output_and_one_platform(crawl: Crawl) -> None:
    done = crawl.run("sources", "check", "--platform", "微信公众号")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "route: feed (wewe-rss)" in done.stdout and "outcome: ok" in done.stdout
    assert done.stdout.rstrip().endswith("1 of 1 source(s) work")


def test_a_bridge_that_does_not_follow_the_account_fails_the_check_with_a_hint(crawl: Crawl) -> None:
    # Feed-id encryption configured here, but not on the bridge: it serves no feed under those ids.
    crawl.configure(extra='[bridge.templates]\nwechat = "wechat2rss"\n')
    crawl.env["GOVPULSE_WECHAT2RSS_SECRET"] = "abcdef123"
    code, out = check(crawl, "--platform", "wechat")
    [source] = out["sources"]
    assert code == 1 and not out["ok"]
    assert (source["outcome"], source["http_status"]) == ("setup_required", 404)
    assert "subscribe the account in Wechat2RSS" in source["reason"]


def test_a_wrong_template_is_a_setup_problem_not_the_accounts(crawl: Crawl) -> None:
    crawl.configure(extra='[bridge.templates]\ntoutiao = "{base}/toutiao/user/{id}"\n')
    code, out = check(crawl, "--platform", "toutiao")
    assert code == 1 and out["sources"][0]["outcome"] == "setup_required"
    assert "RSSHub: no such route" in out["sources"][0]["reason"]


def test_numeric_toutiao_ids_are_listed_as_unreachable_by_configuration(crawl: Crawl) -> None:
    engine = crawl.engine()
    with engine.begin() as conn:  # registered before numeric ids were refused
        conn.execute(
            text(
                "UPDATE account SET platform_id = '50502346173' WHERE id = (SELECT max(id) FROM account "
                "WHERE platform = 'toutiao' AND status = 'active')"
            )
        )
    engine.dispose()
    code, out = check(crawl, "--platform", "toutiao")
    assert code == 0  # the source itself works
    [unusable] = out["unusable_accounts"]
    assert "toutiao:50502346173" in unusable["account"] and unusable["outcome"] == "setup_required"
    assert "profile URL" in unusable["reason"]


HOSTILE = [
    ("/html", "malformed", "HTML page instead of a feed"),
    ("/to-login", "login_required", "login"),
    ("/loop/0", "error", "endless redirect"),
    ("/huge", "malformed", f"larger than {HUGE // 2}"),
    ("/to-metadata", "setup_required", "169.254.169.254"),
]


@pytest.mark.slow
def test_a_bridge_answering_badly_gets_an_outcome_and_a_reason(crawl: Crawl) -> None:
    crawl.configure(extra=f"max_response_bytes = {HUGE // 2}\n", weibo="feed")
    accounts = sorted(aid for (platform, _), aid in crawl.accounts().items() if platform == "weibo")[: len(HOSTILE)]
    with hostile_bridge() as base:
        for aid, (path, _, _) in zip(accounts, HOSTILE, strict=True):
            crawl.run("account", "edit", f"#{aid}", "--feed", base + path).check_returncode()
        code, out = check(crawl, *(arg for aid in accounts for arg in ("--account", f"#{aid}")))
        assert code == 1
        got = [(s["outcome"], s["reason"]) for s in out["sources"]]
        for (outcome, reason), (path, want, words) in zip(got, HOSTILE, strict=True):
            assert outcome == want and words in reason, (path, outcome, reason)
        patrol = crawl.patrol(*(arg for aid in accounts for arg in ("--account", f"#{aid}")))
    outcomes = crawl.outcomes(patrol["patrol_id"])
    for aid, (path, want, words) in zip(accounts, HOSTILE, strict=True):
        assert outcomes[aid].outcome == want and words in (outcomes[aid].reason or ""), (path, outcomes[aid])


@pytest.mark.slow
@pytest.mark.parametrize(("path", "want", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_the_configured_bridge_answering_badly_gets_an_outcome_and_a_reason(
    crawl: Crawl, path: str, want: str, words: str
) -> None:
    # The bridge of the configuration itself (its own base URL and template), not an account's own feed.
    with hostile_bridge() as base:
        crawl.configure(
            extra=f'max_response_bytes = {HUGE // 2}\n[bridge.base_urls]\nweibo = "{base}"\n'
            f'[bridge.templates]\nweibo = "{{base}}{path}?uid={{id}}"\n',
            weibo="feed",
        )
        code, out = check(crawl, "--platform", "weibo")
    [source] = out["sources"]
    assert code == 1 and not out["ok"]
    assert source["outcome"] == want and words in source["reason"], source


def test_feed_urls_to_link_local_or_metadata_addresses_are_refused(crawl: Crawl) -> None:
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/",
        "http://metadata.google.internal/x",
    ):
        done = crawl.run("account", "edit", "#1", "--feed", url)
        assert done.returncode == 2 and "link-local or cloud-metadata address" in done.stderr, done.stderr
    done = crawl.run("account", "edit", "#1", "--feed", "http://127.0.0.1:1200/weibo/user/1")  # a same-host bridge
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_a_credential_in_a_bridge_template_reaches_no_log_no_row_no_output(crawl: Crawl) -> None:
    secret = "TEMPLATESECRET77"
    crawl.configure(extra=f'[bridge.templates]\ntoutiao = "{{base}}/toutiao/user/token/{{id}}?auth={secret}"\n')
    acc = pick(crawl.scenario, "active", "toutiao")
    code, out = check(crawl, "--account", f"toutiao:{acc.platform_id}")
    assert code == 0 and "auth=***" in out["sources"][0]["url"] and secret not in json.dumps(out)
    patrol = crawl.patrol("--account", f"toutiao:{acc.platform_id}")
    [outcome] = crawl.outcomes(patrol["patrol_id"]).values()
    assert outcome.outcome == "ok" and secret not in (outcome.url or "")
    logs = list((crawl.root / "home" / "logs").glob("*.log"))
    assert logs and not any(secret in p.read_text(encoding="utf-8", errors="replace") for p in logs)
    db = Path(crawl.db_url.removeprefix("sqlite:///")).read_bytes()
    assert secret.encode() not in db
    shown = crawl.run("config", "show").stdout
    assert secret not in shown and "auth=***" in shown
