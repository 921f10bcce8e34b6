"""Where a patrol's CPU goes: py-spy samples of the crawl process and its workers, sorted into the kinds
of work a patrol does (the patrol benchmark's --profile).

py-spy (on PyPI, `pip install py-spy`) samples from outside the process, without changing the code it
samples. With --gil only the thread holding the interpreter lock is sampled: time in Python (and in C
called from it), which is where a patrol's CPU goes; waits on sockets and pipes are not counted. Each
stack is counted once, under the first kind of work found from its innermost frame outwards; the shares
of all processes together are then scaled to the CPU the crawl and its workers used, as measured by
the benchmark (getrusage): a worker's start-up is counted apart, as it runs before the worker knows
whether it parses or stores.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# (kind of work, what a frame's "function (file)" text contains), tried in this order on each frame; a
# stack that is importing a module is start-up, whatever the module.
KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logging", ("(logging/", "RedactingFilter")),
    ("parsing and hashing", ("crawlers/parsing/", "registry/digest.py")),
    ("storing (SQL)", ("registry/observations.py", "registry/post_identity.py", "(sqlalchemy/", "(sqlmodel/")),
    (
        "hand-over between processes (pickling, pipes, pool threads)",
        ("(multiprocessing/", "(concurrent/futures/", "(copyreg", "(pickle"),
    ),
    ("spider logic (crawlers/)", ("crawlers/",)),
    ("Scrapy and Twisted (engine, middlewares, HTTP client)", ("(scrapy/", "(twisted/", "(w3lib/", "(pydispatch/")),
    ("event loop (asyncio)", ("(asyncio/", "(selectors")),
)
OTHER = "other"


def available() -> str | None:
    """The py-spy executable beside this Python, or on the PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start(pid: int, out: Path, rate: int = 100) -> subprocess.Popen[bytes] | None:
    """Sample process `pid` and the processes it starts until it ends; None without py-spy."""
    exe = available()
    if exe is None:
        return None
    return subprocess.Popen(
        [exe, "record", "--gil", "--nonblocking", "--subprocesses", "-r", str(rate), "-f", "raw", "-o", str(out)]
        + ["-p", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def role_of(frames: list[str]) -> str | None:
    """parse or store, when a stack shows which task a worker process runs."""
    text = ";".join(frames)
    if "store (crawlers/workers.py" in text or "_store_init" in text:
        return "store"
    if "parse (crawlers/workers.py" in text:
        return "parse"
    return None


STARTUP = "start-up (imports)"


def kind_of(frames: list[str]) -> str:
    if any("_find_and_load" in frame for frame in frames):
        return STARTUP
    for frame in reversed(frames):
        for kind, marks in KINDS:
            if any(mark in frame for mark in marks):
                return kind
    return OTHER


def read(raw: Path) -> dict[str, Counter[str]]:
    """Samples by process (crawl, parse, store) and kind of work, from py-spy's raw output (one collapsed
    stack a line, led by the chain of processes it was sampled in)."""
    stacks: list[tuple[str, list[str], int]] = []
    roles: dict[str, str] = {}
    root = None
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        parts = stack.split(";")
        pids = [p.split(":", 1)[0] for p in parts if p.startswith("process ")]
        frames = [p for p in parts if not p.startswith("process ")]
        if not count.isdigit() or not frames or not pids:
            continue
        root = root or pids[0]
        pid = pids[-1] if len(pids) > 1 else pids[0]
        role = role_of(frames)
        if role is not None:
            roles[pid] = role
        stacks.append((pid, frames, int(count)))
    found: dict[str, Counter[str]] = {}
    for pid, frames, count in stacks:
        process = "crawl" if pid == root else roles.get(pid, "other worker (resource tracker)")
        found.setdefault(process, Counter())[kind_of(frames)] += count
    return found


def breakdown(samples: dict[str, Counter[str]], cpu_seconds: float, accounts: int) -> list[str]:
    """Markdown rows: for each process and kind of work, its share of the samples and its CPU ms per
    account."""
    total = sum(sum(kinds.values()) for kinds in samples.values())
    rows = []
    for process, kinds in sorted(samples.items()):
        for kind, n in kinds.most_common():
            ms = n / total * cpu_seconds / accounts * 1000 if total and accounts else float("nan")
            rows.append(f"| {process} | {kind} | {n / total:.1%} | {ms:.2f} |")
    return rows
