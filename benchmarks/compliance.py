"""Compliance checks benchmark: the CPU the checks add to the first patrol, per post, with rule files of
10,000 entries.

    .venv/bin/python -m benchmarks.compliance --accounts 2000 [--rules 10000] [--rounds 2]

The simulator's bench scenario (benchmarks.patrol) is served once; the first patrol of its roster runs on
a fresh SQLite database with the checks off (compliance.enabled = false), then with them on (the shipped
lists and a generated rule file of `--rules` entries), alternately for `--rounds` rounds, so that both
see the same machine. Measured per run: the CPU seconds of the crawl process and its parse and store
workers, the new posts stored, and the CPU per post; then the checks' share. The generated words are
four characters drawn from the scenario's own vocabulary, so that the automaton walks as deep as real
words would, but rarely match (a typo list matches rarely too).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.patrol import SIMULATOR, Run, patrol, process_cpu
from govpulse.demo import loopback_settings
from registry.config import Settings, load_settings
from registry.db import open_engine
from registry.importer import import_roster
from registry.vocabulary import PLATFORMS
from simulator import build_scenario, names


def rule_file(path: Path, entries: int, seed: int = 7) -> None:
    alphabet = sorted(
        {ch for text in (*names.SENTENCES, *names.HEADLINES, *names.TOPICS) for ch in text if ch > "\u4e00"}
    )
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < entries:
        words.add("".join(rng.choice(alphabet) for _ in range(4)))
    lines = ['[list]\nkind = "custom"\nname = "基准词表"\nsource = "生成 (benchmarks.compliance)"\n']
    lines += [f'[[rule]]\nmatch = "{w}"\n' for w in sorted(words)]
    path.write_text("\n".join(lines), encoding="utf-8")


def first_patrol(base: Settings, work: Path, roster: Path, label: str, *, checks: bool, rules: Path) -> Run:
    db = work / f"{label}.db"
    db.unlink(missing_ok=True)
    settings = Settings(data={**base.data, "database": {"url": f"sqlite:///{db}"}}, path=None, sources=base.sources)
    settings.data["compliance"] = {**base.data["compliance"], "enabled": checks, "rule_files": [str(rules)]}
    engine = open_engine(settings.database_url)
    try:
        import_roster(engine, roster, actor="benchmark")
        result, run = patrol(settings, engine, label)
        assert result.status == "finished", result.message
        return run
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=2000, help="bench scenario size")
    parser.add_argument("--rules", type=int, default=10_000, help="entries of the generated rule file")
    parser.add_argument("--rounds", type=int, default=2, help="patrols with and without the checks, alternately")
    parser.add_argument("--concurrency", type=int, default=16, help="requests at once per source")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}")
    now = datetime.now(UTC).replace(microsecond=0)
    scenario = build_scenario("bench", size=args.accounts, now=now)
    server = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR, str(args.accounts), now.isoformat()], stdout=subprocess.PIPE, text=True
    )
    runs: dict[bool, list[Run]] = {False: [], True: []}
    try:
        assert server.stdout is not None
        base_url = next(line.split()[3] for line in server.stdout if line.startswith("simulator listening on"))
        with tempfile.TemporaryDirectory(prefix="govpulse-bench-checks-") as tmp:
            work = Path(tmp)
            roster, rules = work / "roster.csv", work / "rules.toml"
            scenario.write_roster(roster)
            started = time.perf_counter()
            rule_file(rules, args.rules)
            print(f"rule file of {args.rules:,} entries written in {time.perf_counter() - started:.1f} s", flush=True)
            base = loopback_settings(
                load_settings(),
                database_url=f"sqlite:///{work / 'unused.db'}",
                work_dir=work,
                base_url=base_url,
                templates={p: scenario.feed_url_template(p) for p in PLATFORMS},
                concurrency=args.concurrency,
                timeout=30.0,
            )
            print("| run | seconds | new posts | CPU s (crawl and workers) | CPU ms per post | simulator CPU s |")
            print("|---|---|---|---|---|---|")
            for n in range(args.rounds):
                for checks in (False, True):
                    label = f"{'with' if checks else 'without'} checks, round {n + 1}"
                    answering = process_cpu(server.pid)
                    run = first_patrol(
                        base, work, roster, label.replace(" ", "-").replace(",", ""), checks=checks, rules=rules
                    )
                    run.simulator_cpu_seconds = process_cpu(server.pid) - answering
                    runs[checks].append(run)
                    print(
                        f"| {label} | {run.seconds:.1f} | {run.posts_new:,} | {run.cpu_seconds:.1f} | "
                        f"{run.cpu_seconds / max(run.posts_new, 1) * 1000:.3f} | {run.simulator_cpu_seconds:.1f} |",
                        flush=True,
                    )
    finally:
        server.terminate()
        server.wait(timeout=10)
    per_post = {k: sum(r.cpu_seconds for r in v) / max(sum(r.posts_new for r in v), 1) for k, v in runs.items()}
    print(
        f"CPU per post: {per_post[False] * 1000:.3f} ms without, {per_post[True] * 1000:.3f} ms with the checks "
        f"({args.rules:,} generated entries and the shipped lists): {per_post[True] / per_post[False] - 1:+.1%}"
    )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
