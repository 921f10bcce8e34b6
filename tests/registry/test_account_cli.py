"""`govpulse account`: register, find, list, change, close and merge accounts; what `show` tells about
the last post, the last patrol and the verdict; the mistakes that are refused."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from tests.registry.roster_helpers import BIZ, TOKEN, WEIBO_UID, accounts, assert_refused
from sqlmodel import Session

from registry.db import open_engine
from registry.models import FetchOutcome, Patrol, Post, ScoreRun, Verdict


@pytest.fixture
def roster(gp):
    gp.ok("org", "add", "岳麓区", "--level", "district")
    gp.ok("org", "add", "望月湖街道", "--parent", "岳麓区", "--level", "street")
    gp.ok("org", "add", "雨花区", "--level", "district")
    gp.ok(
        "account",
        "add",
        "--platform",
        "weibo",
        "--id",
        WEIBO_UID,
        "--name",
        "岳麓发布",
        "--org",
        "岳麓区",
        "--category",
        "政务服务",
        "--filing-no",
        "43010400001",
        "--contact",
        "张三",
        "--phone",
        "+86 731 8888 0000",
        "--verified",
        "--opened",
        "2015年3月1日",
        "--notes",
        '=HYPERLINK("http://x")',
    )
    gp.ok(
        "account",
        "add",
        f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=1",
        "--name",
        "望月湖",
        "--org",
        "望月湖街道",
        "--category",
        "党建",
        "--feed",
        "http://rsshub.local/wechat/feeds/1.atom",
    )
    gp.ok(
        "account",
        "add",
        "--platform",
        "toutiao",
        "--id",
        TOKEN,
        "--name",
        "雨花发布",
        "--org",
        "雨花区",
        "--category",
        "政务服务",
        "--status",
        "closing",
    )
    return gp


def test_add_stores_every_field_as_given(roster) -> None:
    weibo = json.loads(roster.ok("account", "show", WEIBO_UID, "--json").output)
    assert {
        k: weibo[k]
        for k in (
            "id",
            "ref",
            "name",
            "org",
            "org_path",
            "category",
            "status",
            "filing_no",
            "contact_name",
            "contact_phone",
            "verified",
            "opened_on",
            "notes",
            "source",
        )
    } == {
        "id": 1,
        "ref": f"weibo:{WEIBO_UID}",
        "name": "岳麓发布",
        "org": "岳麓区",
        "org_path": "岳麓区",
        "category": "政务服务",
        "status": "active",
        "filing_no": "43010400001",
        "contact_name": "张三",
        "contact_phone": "+86 731 8888 0000",
        "verified": True,
        "opened_on": "2015-03-01",
        "notes": '=HYPERLINK("http://x")',
        "source": "api",
    }
    wechat = json.loads(roster.ok("account", "show", BIZ, "--json").output)
    assert (wechat["source"], wechat["feed_url"]) == ("feed", "http://rsshub.local/wechat/feeds/1.atom")
    assert wechat["org_path"] == "岳麓区/望月湖街道"
    toutiao = json.loads(roster.ok("account", "show", TOKEN, "--json").output)
    assert toutiao["status"] == "closing" and toutiao["status_changed_on"] is not None


def test_show_finds_an_account_by_every_kind_of_reference(roster) -> None:
    for ref in (WEIBO_UID, f"weibo:{WEIBO_UID}", f"微博:{WEIBO_UID}", f"https://m.weibo.cn/u/{WEIBO_UID}", "1", "#1"):
        assert json.loads(roster.ok("account", "show", ref, "--json").output)["id"] == 1, ref
    out = roster.ok("account", "show", WEIBO_UID).output.splitlines()
    assert out[0] == f"岳麓发布 (weibo:{WEIBO_UID})"
    assert "  phone           +86 731 8888 0000" in out
    assert "  last post       —" in out


def test_an_id_on_two_platforms_needs_the_platform(roster) -> None:
    both = "MS4wLjABAAAAxyz12345"  # a Toutiao token and a WeChat alias at once
    roster.ok("account", "add", "--platform", "toutiao", "--id", both, "--name", "岳麓头条", "--org", "岳麓区")
    roster.ok("account", "add", "--platform", "wechat", "--id", both, "--name", "岳麓微信", "--org", "岳麓区")
    result = roster("account", "show", both)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: '{both}' is an id on several platforms: ")
    assert f"toutiao:{both}" in result.output and f"wechat:{both}" in result.output
    assert json.loads(roster.ok("account", "show", f"toutiao:{both}", "--json").output)["name"] == "岳麓头条"


def test_unknown_account_suggests_by_name(roster) -> None:
    result = roster("account", "show", "岳麓")
    assert result.exit_code == 2
    assert result.output == (
        f"Error: no account '岳麓' in the registry\nHint: did you mean: weibo:{WEIBO_UID} (岳麓发布)\n"
    )


def test_list_filters(roster) -> None:
    def names(*args: str) -> list[str]:
        return [a["name"] for a in accounts(roster, *args)]

    assert names() == ["岳麓发布", "望月湖", "雨花发布"]
    assert names("--platform", "微信公众号") == ["望月湖"]
    assert names("--org", "岳麓区") == ["岳麓发布", "望月湖"]  # the unit and the units below it
    assert names("--org", "望月湖街道") == ["望月湖"]
    assert names("--status", "closing") == ["雨花发布"]
    assert names("--status", "正常") == ["岳麓发布", "望月湖"]
    assert names("--category", "政务服务", "--org", "雨花区") == ["雨花发布"]
    out = roster.ok("account", "list", "--platform", "weibo").output
    assert (
        out
        == f"#\tplatform\tid\tname\tunit\tcategory\tstatus\n1\tWeibo\t{WEIBO_UID}\t岳麓发布\t岳麓区\t政务服务\tactive\n"
    )
    assert roster("account", "list", "--platform", "douyin").exit_code == 2
    assert roster("account", "list", "--org", "天心区").exit_code == 2


def test_edit_changes_and_clears_fields(roster) -> None:
    out = roster.ok(
        "account", "edit", WEIBO_UID, "--name", "岳麓区发布", "--org", "望月湖街道", "--phone", "", "--unverified"
    ).output
    assert out.splitlines() == [
        "  name: 岳麓发布 -> 岳麓区发布",
        "  org: 岳麓区 -> 岳麓区/望月湖街道",
        "  contact_phone: +86 731 8888 0000 -> —",
        "  verified: True -> False",
    ]
    account = json.loads(roster.ok("account", "show", WEIBO_UID, "--json").output)
    assert (account["name"], account["org"], account["contact_phone"], account["verified"]) == (
        "岳麓区发布",
        "望月湖街道",
        None,
        False,
    )
    assert roster.ok("account", "edit", WEIBO_UID, "--name", "岳麓区发布").output == "nothing changed\n"
    roster.ok("account", "edit", WEIBO_UID, "--id", "2803301799")
    assert accounts(roster, "--platform", "weibo")[0]["platform_id"] == "2803301799"


def test_close_with_date_and_reason(roster) -> None:
    assert (
        roster.ok("account", "close", WEIBO_UID, "--date", "2026-03-01", "--reason", "长期未更新").output
        == f"closed weibo:{WEIBO_UID} (2026-03-01)\n"
    )
    account = json.loads(roster.ok("account", "show", WEIBO_UID, "--json").output)
    assert (account["status"], account["status_changed_on"], account["status_reason"]) == (
        "closed",
        "2026-03-01",
        "长期未更新",
    )
    again = roster("account", "close", WEIBO_UID, "--reason", "x")
    assert again.exit_code == 2
    assert again.output.startswith(f"Error: account weibo:{WEIBO_UID} is already closed (2026-03-01); cannot close it")
    roster.ok("account", "edit", WEIBO_UID, "--status", "active")
    reopened = accounts(roster, "--platform", "weibo")[0]
    assert (reopened["status"], reopened["status_reason"]) == ("active", None)
    assert reopened["status_changed_on"] != "2026-03-01"


def test_merge_points_at_the_target_and_carries_earlier_merges(roster) -> None:
    roster.ok("org", "add", "望月湖社区", "--parent", "望月湖街道")
    roster.ok(
        "account", "add", "--platform", "weibo", "--id", "2803301702", "--name", "望月湖街道微博", "--org", "望月湖街道"
    )
    roster.ok(
        "account", "add", "--platform", "weibo", "--id", "2803301703", "--name", "望月湖社区微博", "--org", "望月湖社区"
    )
    roster.ok("account", "merge", "2803301703", "--into", "2803301702", "--date", "2026-01-05")
    out = roster.ok("account", "merge", "2803301702", "--into", WEIBO_UID, "--reason", "一个单位一个账号").output
    assert out == (
        f"merged weibo:2803301702 into weibo:{WEIBO_UID}\n"
        f"1 account(s) merged into weibo:2803301702 earlier now point at weibo:{WEIBO_UID}\n"
    )
    by_id = {a["platform_id"]: a for a in accounts(roster, "--platform", "weibo")}
    assert by_id["2803301702"]["status"] == "merged"
    assert by_id["2803301702"]["merged_into"] == f"weibo:{WEIBO_UID}"
    assert by_id["2803301702"]["status_reason"] == "一个单位一个账号"
    assert by_id["2803301703"]["merged_into"] == f"weibo:{WEIBO_UID}"
    assert by_id["2803301703"]["status_changed_on"] == "2026-01-05"


ACCOUNT_MISTAKES = [
    (
        ("account", "add", "--platform", "weibo", "--id", WEIBO_UID, "--name", "重复", "--org", "雨花区"),
        f"Error: account weibo:{WEIBO_UID} is already registered as '岳麓发布' (#1, 岳麓区)",
        f"Hint: change it with govpulse account edit weibo:{WEIBO_UID}",
    ),
    (
        ("account", "add", "--platform", "weibo", "--id", "2803301799", "--name", "x", "--org", "岳麓"),
        "Error: unknown unit '岳麓'",
        "Hint: did you mean: 岳麓区",
    ),
    (
        ("account", "add", "--platform", "weibo", "--id", "2803301799", "--name", "x", "--org", "望月湖"),
        "Error: unknown unit '望月湖'",
        "Hint: did you mean: 岳麓区/望月湖街道",
    ),
    (
        ("account", "add", "--platform", "weibo", "--id", "2803301799", "--name", " ", "--org", "岳麓区"),
        "Error: account name is empty",
        None,
    ),
    (
        ("account", "add", "--platform", "weibo", "--id", "2803301799", "--name", "长" * 101, "--org", "岳麓区"),
        "Error: account name is longer than 100 characters (101)",
        None,
    ),
    (
        (
            "account",
            "add",
            "--platform",
            "weibo",
            "--id",
            "2803301799",
            "--name",
            "x",
            "--org",
            "岳麓区",
            "--opened",
            "去年",
        ),
        "Error: --opened: '去年' is not a date",
        "Hint: e.g. 2020-03-15",
    ),
    (
        (
            "account",
            "add",
            "--platform",
            "weibo",
            "--id",
            "2803301799",
            "--name",
            "x",
            "--org",
            "岳麓区",
            "--feed",
            "javascript:alert(1)",
        ),
        "Error: --feed: feed 'javascript:alert(1)' is not an http(s) URL",
        None,
    ),
    (
        (
            "account",
            "add",
            "--platform",
            "weibo",
            "--id",
            "2803301799",
            "--name",
            "x",
            "--org",
            "岳麓区",
            "--status",
            "merged",
        ),
        "Error: a new account cannot start as merged",
        "Hint: register it, then use account merge",
    ),
    (
        (
            "account",
            "add",
            "--platform",
            "weibo",
            "--id",
            "2803301799",
            "--name",
            "x",
            "--org",
            "岳麓区",
            "--category",
            "类" * 51,
        ),
        "Error: --category: longer than 50 characters (51)",
        None,
    ),
    (
        ("account", "edit", WEIBO_UID, "--status", "closed"),
        "Error: the status cannot be set to closed here",
        "Hint: use account close or account merge",
    ),
    (("account", "edit", WEIBO_UID, "--id", "nope"), "Error: 'nope' is not a valid weibo account id", None),
    (("account", "edit", WEIBO_UID, "--org", "天心区"), "Error: unknown unit '天心区'", None),
    (("account", "close", WEIBO_UID, "--reason", "  "), "Error: closing an account needs a reason (--reason)", None),
    (
        ("account", "close", WEIBO_UID, "--reason", "x", "--date", "2026-02-30"),
        "Error: --date: '2026-02-30' is not a date",
        None,
    ),
    (
        ("account", "merge", WEIBO_UID, "--into", BIZ),
        f"Error: weibo:{WEIBO_UID} and wechat:{BIZ} are on different platforms; they cannot be merged",
        None,
    ),
    (
        ("account", "merge", WEIBO_UID, "--into", f"weibo:{WEIBO_UID}"),
        f"Error: cannot merge weibo:{WEIBO_UID} into itself",
        None,
    ),
    (("account", "show", "weibo:abc"), "Error: 'abc' is not a valid weibo account id", None),
    (("account", "show", "9999"), "Error: no account '9999' in the registry", None),
]


def test_account_mistakes_are_refused_and_change_nothing(roster) -> None:
    assert_refused(roster, ACCOUNT_MISTAKES, accounts)


def test_merge_into_a_merged_account_names_its_target(roster) -> None:
    roster.ok("account", "add", "--platform", "weibo", "--id", "2803301702", "--name", "b", "--org", "岳麓区")
    roster.ok("account", "add", "--platform", "weibo", "--id", "2803301703", "--name", "c", "--org", "岳麓区")
    roster.ok("account", "merge", "2803301702", "--into", WEIBO_UID)
    result = roster("account", "merge", "2803301703", "--into", "2803301702")
    assert result.exit_code == 2
    assert result.output == f"Error: the target weibo:2803301702 is merged\nHint: merge into weibo:{WEIBO_UID}\n"


def test_show_reports_last_post_last_patrol_and_verdict(roster, db_url) -> None:
    empty = json.loads(roster.ok("account", "show", WEIBO_UID, "--json").output)
    assert (empty["last_post_at"], empty["last_patrol_at"], empty["last_outcome"], empty["verdict"]) == (
        None,
        None,
        None,
        None,
    )
    engine = open_engine(db_url)
    with Session(engine) as session:
        patrols = [Patrol(started_at=datetime(2026, 3, d, tzinfo=UTC)) for d in (1, 2)]
        session.add_all(patrols)
        session.flush()
        session.add_all(
            [
                # The pinned post is the newest; the timeline lists it first but also lists older ones.
                Post(
                    account_id=1,
                    platform_post_id="p1",
                    published_at=datetime(2026, 2, 20, 4, 0, tzinfo=UTC),
                    is_pinned=True,
                ),
                Post(account_id=1, platform_post_id="p2", published_at=datetime(2026, 2, 10, tzinfo=UTC)),
                Post(account_id=1, platform_post_id="p3", published_at=None),
                Post(account_id=2, platform_post_id="q1", published_at=datetime(2026, 2, 25, tzinfo=UTC)),
                FetchOutcome(
                    patrol_id=patrols[0].id,
                    account_id=1,
                    fetched_at=datetime(2026, 3, 1, tzinfo=UTC),
                    outcome="ok",
                    http_status=200,
                ),
                FetchOutcome(
                    patrol_id=patrols[1].id,
                    account_id=1,
                    fetched_at=datetime(2026, 3, 2, tzinfo=UTC),
                    outcome="rate_limited",
                    http_status=418,
                    reason="HTTP 418",
                ),
            ]
        )
        runs = [ScoreRun(as_of=datetime(2026, 3, d, tzinfo=UTC)) for d in (1, 2)]
        session.add_all(runs)
        session.flush()
        session.add_all(
            [
                Verdict(run_id=runs[0].id, account_id=1, status="active", rule="active"),
                Verdict(
                    run_id=runs[1].id, account_id=1, status="unknown", flags=["fetch_failed"], rule="no_fresh_data"
                ),
            ]
        )
        session.commit()
    engine.dispose()
    detail = json.loads(roster.ok("account", "show", WEIBO_UID, "--json").output)
    assert detail["last_post_at"] == "2026-02-20T04:00:00+00:00"
    assert detail["last_patrol_at"] == "2026-03-02T00:00:00+00:00"
    assert detail["last_outcome"] == {
        "outcome": "rate_limited",
        "http_status": 418,
        "reason": "HTTP 418",
        "patrol_id": 2,
    }
    assert {k: detail["verdict"][k] for k in ("status", "flags", "rule", "run_id")} == {
        "status": "unknown",
        "flags": ["fetch_failed"],
        "rule": "no_fresh_data",
        "run_id": 2,
    }
    out = roster.ok("account", "show", WEIBO_UID).output.splitlines()
    assert "  last post       2026-02-20 12:00" in out  # shown in Asia/Shanghai
    assert "  patrol outcome  rate_limited 418 HTTP 418" in out
    assert "  verdict         unknown fetch_failed no_fresh_data" in out
    assert json.loads(roster.ok("account", "show", BIZ, "--json").output)["verdict"] is None
    assert date.fromisoformat(detail["opened_on"]) == date(2015, 3, 1)
