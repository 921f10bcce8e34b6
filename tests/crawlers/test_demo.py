"""`govpulse demo`: the whole pipeline on the fictional district, in its own folder and database."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from registry.errors import ValidationError
from govpulse.demo import MARKER, prepare_folder

GOVPULSE = str(Path(sys.executable).with_name("govpulse"))


@pytest.mark.slow
def test_the_demo_runs_end_to_end_without_touching_the_office_registry(tmp_path: Path) -> None:
    office_db = tmp_path / "office.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPULSE_")}
    env.update(GOVPULSE_HOME=str(tmp_path / "home"), GOVPULSE_DATABASE_URL=f"sqlite:///{office_db}")
    done = subprocess.run(
        [GOVPULSE, "--lang", "en", "demo", "--out", str(tmp_path / "demo")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "platform simulator on http://127.0.0.1:" in done.stderr
    assert re.search(r"imported the roster .*roster\.csv: 300 accounts", done.stderr)
    assert re.search(r"patrol 1: finished", done.stdout) and "visited 300/300 accounts" in done.stdout
    assert not office_db.exists()
    connection = sqlite3.connect(tmp_path / "demo" / "demo.db")
    try:
        outcomes = dict(
            connection.execute(  # the real patrol's; the weekly replays before it copy them
                "SELECT outcome, count(*) FROM fetch_outcome WHERE patrol_id = 1 GROUP BY outcome"
            ).fetchall()
        )
        posts = connection.execute("SELECT count(*) FROM post").fetchone()[0]
    finally:
        connection.close()
    assert sum(outcomes.values()) == 300 and outcomes["ok"] > 250 and posts > 1000
    # A few accounts of every failure the district has: each is an outcome, not a crash.
    assert {"not_found", "login_required", "rate_limited", "malformed", "timeout"} <= set(outcomes)
    report = re.search(r"^report: (.+\.html)$", done.stdout, re.MULTILINE)
    assert report and Path(report.group(1)).is_file()
    # Every verdict one patrol can reach agrees with the district's ground truth.
    truth = json.loads((tmp_path / "demo" / "truth.json").read_text(encoding="utf-8"))["accounts"]
    connection = sqlite3.connect(tmp_path / "demo" / "demo.db")
    try:
        verdicts = dict(
            ((p, i), s)
            for p, i, s in connection.execute(
                "SELECT a.platform, a.platform_id, v.status FROM latest_verdict v JOIN account a ON a.id = v.account_id"
                " WHERE v.run_id = (SELECT max(id) FROM score_run)"
            )
        )
        # Weekly runs in simulated time, a week apart, so that the report's trend is real.
        runs = [row[0] for row in connection.execute("SELECT as_of FROM score_run ORDER BY as_of")]
        # (each run judged every account; the history keeps only what changed)
        trend = connection.execute(
            "SELECT count(*) FROM score_run WHERE json_extract(summary, '$.accounts') = 300"
        ).fetchone()[0]
        # Each run is followed by its case step: every zombie of the last run has its one open case.
        zombies_without_case = connection.execute(
            "SELECT count(*) FROM latest_verdict v WHERE v.status = 'zombie' AND v.registry_status = 'active'"
            " AND NOT EXISTS (SELECT 1 FROM rectification_case c WHERE c.account_id = v.account_id"
            " AND c.kind IN ('zombie', 'dormant') AND c.stage != 'closed')"
        ).fetchone()[0]
        codes = [row[0] for row in connection.execute("SELECT code FROM rectification_case WHERE stage != 'closed'")]
    finally:
        connection.close()
    reachable = [t for t in truth if t["patrols_needed"] == 1]
    assert len(reachable) > 250 and len(verdicts) == 300
    wrong = [
        (t["kind"], t["platform"], verdicts.get((t["platform"], t["platform_id"])))
        for t in reachable
        if verdicts.get((t["platform"], t["platform_id"])) not in t["acceptable_statuses"]
    ]
    assert wrong == []
    assert len(runs) == trend == 5
    assert "scoring 5 weekly runs" in done.stderr
    html = Path(report.group(1)).read_text(encoding="utf-8")
    assert "(Runs: 5)" in html and 'class="chart rate-chart"' in html
    assert zombies_without_case == 0 and codes
    assert f'data-case="{codes[0]}"' in html  # the report's case ledger lists them


def test_a_demo_folder_is_cleared_for_the_next_run(tmp_path: Path) -> None:
    folder = prepare_folder(tmp_path / "demo")
    assert (folder / MARKER).is_file()
    (folder / "demo.db").write_text("old")
    (folder / "reports").mkdir()
    (folder / "reports" / "old.html").write_text("old")
    (folder / "notes.txt").write_text("mine")
    prepare_folder(folder)
    assert not (folder / "demo.db").exists() and not (folder / "reports").exists()
    assert (folder / "notes.txt").read_text() == "mine"  # only what the demo writes is removed


def test_a_folder_that_is_not_a_demo_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVPULSE_LANG", "en")
    (tmp_path / "precious.xlsx").write_text("roster")
    with pytest.raises(ValidationError, match="not a demo folder"):
        prepare_folder(tmp_path)
    assert (tmp_path / "precious.xlsx").read_text() == "roster"


@pytest.mark.slow
def test_the_patrol_progress_line_at_80_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Count, time elapsed and time left lead the line; failure counts never push them off an 80-column
    terminal."""
    from rich.cells import cell_len

    from tests.scoring.test_cli_terminal import in_terminal

    for key in [k for k in os.environ if k.startswith("GOVPULSE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GOVPULSE_HOME", str(tmp_path / "home"))
    text = in_terminal(f"sqlite:///{tmp_path / 'office.db'}", "demo", "--out", str(tmp_path / "demo"), raw=True)
    redraws = [s.strip("\n") for s in re.split(r"[\r\n]", text) if re.match(r"\s*\d+/300 ", s)]
    assert redraws and all(cell_len(s) <= 80 for s in redraws), max(redraws, key=cell_len)
    assert all(re.match(r"\s*\d+/300 \d:\d\d:\d\d ", s) for s in redraws)  # count and elapsed first
    assert any(re.match(r"\s*\d+/300 \d:\d\d:\d\d \d:\d\d:\d\d ", s) for s in redraws), "then the time left"
    assert any(re.match(r"\s*300/300 ", s) for s in redraws)
    assert any("·" in s for s in redraws), "the rate and the failures follow, cut to fit"
