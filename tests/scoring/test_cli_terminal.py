"""The CLI in a real 80-column terminal (a pseudo-terminal): names are never cut, a table too wide for
the terminal prints each record as a block."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

GOVPULSE = str(Path(sys.executable).with_name("govpulse"))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def in_terminal(db_url: str, *args: str, columns: int = 80, raw: bool = False) -> str:
    """Run govpulse with its output on a terminal `columns` wide; what the terminal received, as text
    (`raw`: with the carriage returns that redraw a progress line)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm", "COLUMNS": str(columns)}
    proc = subprocess.Popen(
        [GOVPULSE, "--db", db_url, "--lang", "zh", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    text = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    return text if raw else text.replace("\r", "")


def test_plan_at_80_columns_prints_whole_names_and_reasons(gp, world, score) -> None:
    district = world.org("岭南区人民政府办公室", level="district")
    unit = world.org("岭南区城市管理和综合执法局", district)
    keep = world.active(unit, name="岭南区城市管理和综合执法局官方微博")
    dup = world.account(unit, name="岭南区城市管理和综合执法局执法大队")
    world.posts(dup, [2])
    gp.ok("score", "--as-of", "2026-06-30")
    text = in_terminal(gp.db_url, "plan")
    assert "岭南区城市管理和综合执法局官方微博" in text and "岭南区城市管理和综合执法局执法大队" in text
    assert "一个单位在同一平台原则上只开设一个账号（国办发〔2018〕123号）" in text  # the reason, whole
    assert "…" not in text
    assert re.search(r"── 1/2 ─+", text), "too wide for 80 columns: one block per record"
    assert max(len(line) for line in text.splitlines() if line.startswith("──")) <= 80
    del keep
