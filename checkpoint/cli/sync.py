"""`checkpoint sync [DIR]`: exchange with the office through one folder (the home's role decides the side),
or, with no folder, over the network with the office at `sync.url` (a station, once)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from ..catalog import error
from .context import Context, pass_ctx, say


@click.command("sync")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--seals", is_flag=True, help="Network: send the newest seal even when every entry has a receipt."
)
@pass_ctx
def sync(ctx: Context, folder: Path | None, seals: bool) -> None:
    """Sync through FOLDER (a USB stick): a station leaves its new entries and takes the office's trust
    file, revocation list and receipts; the office imports every bundle and leaves receipts, the trust file
    and the revocation list. One line per thing done.

    Without FOLDER, a station syncs once with the office at sync.url (`checkpoint serve`)."""
    if folder is None:
        network(ctx, seals)
        return
    from ..keys import Keyring, load_or_create_station_key
    from ..sync import OfficeSync, StationSync, SyncReport, office_store, sync_office, sync_station

    home = ctx.home.ensure()
    settings = ctx.settings
    report: SyncReport
    if home.is_office():
        office = OfficeSync(
            home,
            settings.station.id,
            Keyring(home.office_keys, settings.office.name),
            settings.office.name,
            retention_days=settings.log.retention_days,
            store=office_store(home, settings),  # log.db, or the county's PostgreSQL server
        )
        report = asyncio.run(sync_office(office, folder))
    else:
        station = StationSync(
            home, settings.station.id, settings.station.name, load_or_create_station_key(home.station_key)
        )
        report = asyncio.run(sync_station(station, folder))
    for step in report.steps:
        words = step.words(ctx.t)
        say(words if step.ok else ctx.t("cli.sync.refused_step", text=words))
    refused = sum(not step.ok for step in report.steps)
    if refused:
        raise error("cli.sync.refused", n=refused, folder=folder)


def network(ctx: Context, seals: bool) -> None:
    from ..netsync import sync_once

    home = ctx.home.ensure()
    if home.is_office():
        raise error("cli.sync.office_home")
    for line in sync_once(home, ctx.settings, seals=seals).lines():
        say(line)


def register(cli: click.Group) -> None:
    cli.add_command(sync)
