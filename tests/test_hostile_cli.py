"""Every command with hostile arguments: huge numbers, empty strings, far dates, bad paths, a 1,000-level
unit path, NUL bytes. Never a traceback: one message and a non-zero exit where the input is refused."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from govpulse.cli import cli

GOVPULSE = str(Path(sys.executable).with_name("govpulse"))
HUGE = "9" * 30
DEEP = "/".join(f"单位{i}" for i in range(1000))
HOSTILE = {
    "huge": HUGE,
    "negative": "-" + HUGE,
    "empty": "",
    "far date": "0001-01-01",
    "bad path": "/nonexistent-gp/x/y.csv",
    "deep unit path": DEEP,
    "huge id": "#" + HUGE,
    "nul byte": "a\x00b",
    "long": "x" * 100_000,
}
# Commands that would serve or run the whole pipeline with valid options: tried in subprocesses below.
LONG_RUNNING = {("run",), ("simulate",), ("demo",), ("patrol",), ("schedule", "run")}


def commands(group: click.Command = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    if isinstance(group, click.Group):
        for name, sub in group.commands.items():
            yield from commands(sub, (*path, name))
    if not isinstance(group, click.Group) or group.invoke_without_command:
        yield path, group


def invocations() -> Iterator[tuple[tuple[str, ...], str, str, list[str]]]:
    """(command, parameter, kind of value, argv): each parameter of each command given each hostile value,
    the other arguments plausible."""
    for path, command in commands():
        if path in LONG_RUNNING:
            continue
        params = [p for p in command.params if p.name != "help" and not getattr(p, "is_flag", False)]
        arguments = [p for p in params if isinstance(p, click.Argument)]
        for target in params:
            for kind, value in HOSTILE.items():
                argv = [*path, *(value if a is target else "1" for a in arguments)]
                if isinstance(target, click.Option):
                    argv += [target.opts[0], value]
                yield path, str(target.name), kind, argv


@pytest.fixture
def office(tmp_path: Path, gp_env: dict[str, str]) -> tuple[CliRunner, str]:
    db = f"sqlite:///{tmp_path / 'govpulse.db'}"
    runner = CliRunner()
    for args in (
        ("org", "add", "某区"),
        ("org", "add", "某局", "--parent", "某区"),
        ("account", "add", "https://weibo.com/u/1234567890", "--org", "某局", "--name", "某局微博"),
        ("score",),
    ):
        assert runner.invoke(cli, ["--db", db, "--lang", "en", *args]).exit_code == 0
    return runner, db


def test_every_command_with_hostile_arguments_answers_in_one_message(office) -> None:
    runner, db = office
    tracebacks, silent_failures, tried = [], [], 0
    for path, param, kind, argv in invocations():
        result = runner.invoke(cli, ["--db", db, "--lang", "en", *argv], catch_exceptions=True)
        tried += 1
        where = f"govpulse {' '.join(path)} [{param} = {kind}] -> {result.exit_code}"
        if (
            result.exception is not None
            and not isinstance(result.exception, SystemExit)
            or "Traceback" in result.output
        ):
            tracebacks.append(f"{where}: {type(result.exception).__name__}: {str(result.exception)[:200]}")
        elif result.exit_code != 0 and not any(
            line.startswith(("Error", "Usage")) for line in result.output.splitlines()
        ):
            silent_failures.append(f"{where}: {result.output[-300:]!r}")
    assert tried > 500
    assert tracebacks == []
    assert silent_failures == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (("account", "show", "#" + HUGE), f"Error: no account number #{HUGE}"),
        (("account", "edit", HUGE, "--name", "x"), f"Error: no account '{HUGE}' in the registry"),
        (("explain", HUGE), f"Error: no account '{HUGE}' in the registry"),
        (("history", "#" + HUGE), "Error: no account or unit"),
        (("history", "某局", "--limit", HUGE), "is not in the range 1<=x<=1000000000"),
        (("score", "remove", HUGE), "is not in the range 1<=x<="),
        (("score", "runs", "--limit", HUGE), "is not in the range"),
        (("patrol", "--limit", HUGE), "is not in the range"),
        (("patrol", "--account", "#" + HUGE), f"Error: no account number #{HUGE}"),
        (("schedule", "add", "n", "--cron", "0 2 * * *", "--limit", HUGE), "is not in the range"),
        (("score", "--as-of", "0001-01-01"), "Error: --as-of '0001-01-01' is before 2009-01-01"),
        (("explain", "weibo:1234567890", "--as-of", "0001-01-01"), "Error: --as-of '0001-01-01' is before 2009-01-01"),
        (("report", "--as-of", "0001-01-01"), "Error: --as-of '0001-01-01' is before 2009-01-01"),
        (("score", "--as-of", "9999-12-31"), "is later than now"),
        (("org", "show", DEEP), "Error: a unit path of 1000 levels (at most 16)"),
        (("account", "list", "--org", DEEP), "Error: a unit path of 1000 levels"),
        (("score", "--org", DEEP), "Error: a unit path of 1000 levels"),
        (("report", "--org", DEEP), "Error: a unit path of 1000 levels"),
        (("patrol", "--org", DEEP), "Error: a unit path of 1000 levels"),
        (("org", "add", DEEP), "Error: a unit path of 1000 levels"),
    ],
)
def test_each_listed_bad_input_is_refused_with_one_message(office, argv, message) -> None:
    runner, db = office
    result = runner.invoke(cli, ["--db", db, "--lang", "en", *argv], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output


def run(args: list[str], tmp_path: Path, *, timeout: float = 60, **kw) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPULSE_")}
    env.update({"GOVPULSE_HOME": str(tmp_path / "home"), "GOVPULSE_LANG": "en"})
    return subprocess.run(
        [GOVPULSE, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=timeout, **kw
    )


def one_message(done: subprocess.CompletedProcess[str], code: int, start: str) -> None:
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stderr.splitlines()[0].startswith(start) or start in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    "url, start",
    [
        (
            "sqlite:////proc/no-such/govpulse.db",
            "Error: database URL 'sqlite:////proc/no-such/govpulse.db' is not usable: cannot create its folder",
        ),
        ("sqlite:////dev/null/govpulse.db", "Error: database URL 'sqlite:////dev/null/govpulse.db' is not usable"),
        ("sqlite:////etc/hostname", "Error: database error: file is not a database"),
        ("sqlite:///" + "a/" * 3000 + "x.db", "Error: database URL"),
        ("nonsense://", "Error: database URL 'nonsense://' is not usable"),
        ("postgresql://nobody@127.0.0.1:1/govpulse", "Error: cannot open the database"),
    ],
)
def test_an_unusable_database_is_one_message(tmp_path: Path, url: str, start: str) -> None:
    one_message(run(["--db", url, "account", "list"], tmp_path), 2 if "URL" in start else 1, start)


@pytest.mark.parametrize(
    "args, start",
    [
        (["simulate", "--port", "70000"], "Error: Invalid value for '--port': 70000 is not in the range 0<=x<=65535"),
        (["simulate", "--port", "-1"], "Error: Invalid value for '--port'"),
        (["simulate", "--size", HUGE], "Error: Invalid value for '--size'"),
        (["simulate", "--scenario", ""], "Error: unknown scenario ''"),
        (["simulate", "--roster-out", "/proc/no-such/roster.csv"], "Error: cannot write /proc/no-such/roster.csv"),
        (["demo", "--out", "/proc/no-such/demo"], "Error"),
        (["patrol", "--limit", HUGE], "Error: Invalid value for '--limit'"),
        (["schedule", "run", DEEP], "Error"),
    ],
)
def test_long_running_commands_refuse_bad_options_at_once(tmp_path: Path, args: list[str], start: str) -> None:
    done = run(["--db", f"sqlite:///{tmp_path / 'g.db'}", *args], tmp_path, timeout=30)
    assert done.returncode != 0, done.stdout + done.stderr
    assert start in done.stderr and "Traceback" not in done.stderr + done.stdout, done.stderr


def test_deeply_nested_input_files_are_one_message(tmp_path: Path) -> None:
    deep_json = tmp_path / "roster.json"
    deep_json.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'g.db'}"
    done = run(["--db", db, "import", str(deep_json)], tmp_path)
    assert done.returncode != 0 and done.stderr.startswith("Error") and "Traceback" not in done.stderr, done.stderr
    deep_toml = tmp_path / "govpulse.toml"
    deep_toml.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    done = run(["--db", db, "--config", str(deep_toml), "config", "show"], tmp_path)
    assert done.returncode == 2 and done.stderr.startswith(f"Error: {deep_toml}: not valid TOML: nested too deeply")
    deep_toml.unlink()
    csv = tmp_path / "deep.csv"
    csv.write_text(f"主办单位,平台,账号名称,账号ID\n{DEEP},微博,深号,1234567890\n", encoding="utf-8")
    done = run(["--db", db, "import", str(csv)], tmp_path)
    assert done.returncode == 2 and "a unit path of 1000 levels" in done.stderr, done.stderr


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond the limit fails (EFBIG) instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_full_disk_during_report_is_one_message_and_leaves_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'g.db'}"
    for args in (
        ["org", "add", "某区"],
        ["account", "add", "https://weibo.com/u/1234567890", "--org", "某区", "--name", "n"],
        ["score"],
    ):
        assert run(["--db", db, *args], tmp_path).returncode == 0
    full = tmp_path / "full"
    full.mkdir()
    mounted = (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(full)], capture_output=True).returncode
        == 0
    )
    try:
        if mounted:  # a real full disk (ENOSPC)
            (full / "filler").write_bytes(b"\0" * 40 * 1024)
            done = run(["--db", db, "report", "--out", str(full / "reports"), "--by-unit"], tmp_path)
            expected = "No space left on device"
        else:  # without the right to mount: a file size limit makes writes fail the same way (EFBIG)
            done = run(
                ["--db", db, "report", "--out", str(full / "reports"), "--by-unit"],
                tmp_path,
                preexec_fn=_limit_file_size,
            )
            expected = "File too large"
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stderr.splitlines()[0] == f"Error: cannot write the report in {full / 'reports'}: {expected}"
        assert "Traceback" not in done.stderr
        assert list((full / "reports").rglob("*.*")) == []  # nothing half-written, no temporary file left
    finally:
        if mounted:
            subprocess.run(["umount", str(full)], check=True)
