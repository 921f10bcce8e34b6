"""`govpulse worker`: this host crawls the shards of distributed patrols until stopped."""

from __future__ import annotations

import logging
import sys

import click

from govpulse.context import app
from registry.i18n import L
from registry.models import PLATFORMS


@click.command("worker")
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    type=click.Choice(PLATFORMS),
    help="Crawl only this platform's shards (repeatable; default [worker] platforms, else all).",
)
@click.option("--egress", metavar="NAME", help="A name for this host's egress address, shown by `govpulse status`.")
@click.option("--bind-address", metavar="IP", help="The local address the crawls connect from.")
def worker(platforms: tuple[str, ...], egress: str | None, bind_address: str | None) -> None:
    """Crawl the shards of distributed patrols, one at a time per platform, until SIGTERM.

    A worker crawls one shard per platform at a time, so each platform's concurrency and delay settings
    are the politeness of this host's address. Needs PostgreSQL and [distributed] enabled = true on the
    host that starts patrols.
    """
    from crawlers.hosts import host_options, run_host  # (the crawlers are loaded only by the commands that crawl)
    from crawlers.queue import check_backend, queue_settings

    ctx = app()
    check_backend(ctx.settings, what=L("govpulse worker", "govpulse worker"))
    queue_settings(ctx.settings)
    chosen, name, address = host_options(
        ctx.settings, platforms=list(platforms), egress=egress, bind_address=bind_address
    )
    _ = ctx.engine  # the schema (procrastinate's with it) is brought up to date before the workers start
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    click.echo(
        L(
            f"节点 {name}: 平台 {', '.join(chosen)}" + (f", 出口 {address}" if address else ""),
            f"worker {name}: platforms {', '.join(chosen)}" + (f", bound to {address}" if address else ""),
        ),
        err=True,
    )
    sys.exit(run_host(ctx.settings, platforms=chosen, name=name, bind_address=address))


COMMANDS: list[click.Command] = [worker]
