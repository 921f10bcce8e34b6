"""The command itself: help, version, migrations on first use, one clear error line."""

from __future__ import annotations

from sqlalchemy import inspect

from registry.db import current_revision, head_revision


def test_help_and_version(gp_sqlite) -> None:
    result = gp_sqlite.ok("--help")
    assert "govpulse" in result.output
    assert gp_sqlite.ok("--version").output.strip() == "govpulse, version 0.1.0"


def test_database_is_migrated_on_first_use(db_url, gp_env) -> None:
    from registry.db import open_engine

    engine = open_engine(db_url)
    assert current_revision(engine) == head_revision()
    assert {"organization", "account", "post", "verdict"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_bad_database_url_is_one_clear_error(gp_env) -> None:
    from click.testing import CliRunner

    from govpulse.cli import cli

    result = CliRunner().invoke(cli, ["--db", "nonsense://", "--lang", "en", "db", "upgrade"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: database URL 'nonsense://' is not usable")


def test_unknown_command_is_a_usage_error(gp_sqlite) -> None:
    result = gp_sqlite("no-such-command")
    assert result.exit_code == 2


def test_readers_do_not_wait_for_a_writer_on_sqlite(sqlite_url) -> None:
    """Reports, the scorer and `status` read through registry.db.reading: a patrol holding the write
    lock must not block them (a BEGIN IMMEDIATE reader would wait the 30 s busy timeout, then fail)."""
    import sqlite3
    import time

    from sqlalchemy import text

    from registry.db import open_engine, reading

    engine = open_engine(sqlite_url)
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(
        "INSERT INTO organization (name, level, created_at, updated_at) VALUES ('甲', 'other', '2026-01-01', '2026-01-01')"
    )
    try:
        started = time.monotonic()
        with reading(engine) as conn:
            assert conn.execute(text("SELECT count(*) FROM organization")).scalar() == 0  # the committed snapshot
        assert time.monotonic() - started < 5
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        engine.dispose()


def test_readers_together_share_one_snapshot(db_url) -> None:
    """The scorer reads on two connections at once; both must see the same database, whatever is
    committed while they are being opened or used."""
    import threading
    import time

    from sqlalchemy import text

    from registry.db import open_engine, reading_together

    engine = open_engine(db_url)
    add = text(
        "INSERT INTO organization (name, level, created_at, updated_at) VALUES (:n, 'other', '2026-01-01', '2026-01-01')"
    )
    count = text("SELECT count(*) FROM organization")
    stop = threading.Event()

    def keep_writing() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            with engine.begin() as conn:
                conn.execute(add, {"n": f"单位{n}"})

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        for _ in range(20):
            with reading_together(engine, 3) as conns:
                first = [conn.execute(count).scalar() for conn in conns]
                time.sleep(0.01)
                again = [conn.execute(count).scalar() for conn in conns]
            assert len(set(first)) == 1 and first == again
            with engine.connect() as conn:
                assert conn.execute(count).scalar() >= first[0]
    finally:
        stop.set()
        writer.join()
        engine.dispose()


def test_commands_that_do_not_crawl_do_not_load_the_crawlers(tmp_path) -> None:
    """Scrapy and Twisted take a third of the command's start and 30 MB: only patrol, worker, sources and
    the demo load them, when they run."""
    import subprocess
    import sys

    probe = (
        "import sys; from click.testing import CliRunner; from govpulse.cli import cli; "
        f"r = CliRunner().invoke(cli, ['--db', 'sqlite:///{tmp_path / 'g.db'}', 'score', 'runs']); "
        "print(r.exit_code, sorted(m for m in ('scrapy', 'twisted', 'crawlers.launcher') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split(None, 1) == ["0", "[]\n"]
