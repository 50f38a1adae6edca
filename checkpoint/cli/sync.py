"""`checkpoint sync`: exchange with the office, over the network (`sync.url`)."""

from __future__ import annotations

import click

from .context import Context, pass_ctx, say


@click.command("sync")
@click.option("--seals", is_flag=True, help="Send the newest seal even when every entry has a receipt.")
@pass_ctx
def sync(ctx: Context, seals: bool) -> None:
    """Send new entries to the office at sync.url and take its trust file and revocation list, once."""
    from ..netsync import sync_once

    report = sync_once(ctx.home.ensure(), ctx.settings, seals=seals)
    for line in report.lines():
        say(line)


def register(cli: click.Group) -> None:
    cli.add_command(sync)
