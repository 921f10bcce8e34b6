"""Secrets never reach a log, the database or a report: patrols over every route with every credential
set, answers cut off for being oversized and failing ones (Scrapy warns about both, quoting the URL),
then a score and the reports; each secret is looked for in every file written."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.simulation import Crawl

SECRETS = {
    "GOVPULSE_WEIBO_COOKIE": "SUB=WBCOOKIESECRET111; SUBP=WBSUBPSECRET112",
    "GOVPULSE_TOUTIAO_COOKIE": "ttwid=TTCOOKIESECRET222",
    "GOVPULSE_WECHAT_COOKIE": "slave_sid=WXCOOKIESECRET333; data_ticket=WXTICKETSECRET334",
    "GOVPULSE_WECHAT_TOKEN": "WXTOKENSECRET444",
    "GOVPULSE_BRIDGE_KEY": "BRIDGEKEYSECRET555",
}
PIECES = [
    "WBCOOKIESECRET111",
    "WBSUBPSECRET112",
    "TTCOOKIESECRET222",
    "WXCOOKIESECRET333",
    "WXTICKETSECRET334",
    "WXTOKENSECRET444",
    "BRIDGEKEYSECRET555",
]


def texts(folder: Path) -> dict[str, str]:
    """Every file under `folder` as text; the parts of XLSX and DOCX files (zip archives) each."""
    out = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if data[:2] == b"PK":
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    out[f"{path}:{name}"] = archive.read(name).decode("utf-8", "replace")
        else:
            out[str(path)] = data.decode("utf-8", "replace")
    return out


@pytest.mark.slow
def test_no_secret_in_logs_database_or_reports(crawl: Crawl) -> None:
    crawl.env.update(SECRETS)
    outputs = []
    # Answers above 3 kB are cut off (Scrapy warns, quoting the URL): most of them, on every route.
    for extra, routes in (
        ("max_response_bytes = 3000", {"wechat": "api", "toutiao": "api"}),
        ("max_response_bytes = 3000", {"weibo": "feed"}),
        ("", {"wechat": "api", "toutiao": "api"}),
    ):
        crawl.configure(extra=extra, **routes)
        done = crawl.run("patrol", "--json", "--fresh")
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout + done.stderr)
    logs = crawl.root / "home" / "logs"
    log_text = "".join(p.read_text(encoding="utf-8") for p in logs.glob("*.log"))
    assert "larger than download max size" in log_text or "max size" in log_text, "no oversized answer was met"
    assert "token=***" in log_text or "key=***" in log_text  # URLs with credentials were logged, masked
    for args in (("score",), ("report", "--out", str(crawl.root / "reports"), "--by-unit")):
        done = crawl.run(*args)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout + done.stderr)

    files = {**texts(logs), **texts(crawl.root / "reports")}
    for name in ("govpulse.db", "govpulse.db-wal"):
        if (crawl.root / name).exists():
            files[name] = (crawl.root / name).read_bytes().decode("utf-8", "replace")
    files["command output"] = "\n".join(outputs)
    assert any(name.endswith(".xlsx:xl/worksheets/sheet1.xml") for name in files)
    leaks = [f"{secret} in {where}" for secret in PIECES for where, text in files.items() if secret in text]
    assert leaks == []
