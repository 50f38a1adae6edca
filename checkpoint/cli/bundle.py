"""`checkpoint bundle export / import`: move a station's log to the office and merge it there."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from .context import Context, output_files, pass_ctx, say


@click.group("bundle")
def bundle_group() -> None:
    """Move a station's log to the office (export at the station, import at the office)."""


@bundle_group.command("export")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The bundle file to write."
)
@click.option("--all", "everything", is_flag=True, help="Send the whole log again, not only what is new.")
@click.option("--from-seq", type=click.IntRange(1), help="Send from this entry number on.")
@output_files("out")
@pass_ctx
def export(ctx: Context, out: Path, everything: bool, from_seq: int | None) -> None:
    """Seal this station's log and write what is new since the last export, signed by the station key."""
    from ..bundle import export_bundle
    from ..keys import load_or_create_station_key

    home = ctx.home.ensure()
    station = ctx.settings.station
    key = load_or_create_station_key(home.station_key)
    start = 1 if everything else from_seq
    result = asyncio.run(
        export_bundle(
            home.log_db, station.id, key, out, state_root=home.root, from_seq=start, station_name=station.name
        )
    )
    if result is None:
        say(ctx.t("cli.bundle.nothing_new"))
        return
    say(
        ctx.t(
            "cli.bundle.wrote",
            out=out,
            entries=result.entries,
            station=result.station_id,
            first=result.from_seq,
            last=result.to_seq,
            seals=result.seals,
        )
    )


@bundle_group.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@click.option(
    "--no-purge", is_flag=True, help="Do not purge names and temperatures older than log.retention_days."
)
@pass_ctx
def import_(ctx: Context, files: tuple[Path, ...], no_purge: bool) -> None:
    """Verify station bundles (signature, chains, seals) and merge them into this office's log."""
    from ..bundle import import_bundles
    from .county import county_url, import_into_county

    if county_url(ctx) is not None:  # a county home: the same checks, merged on its PostgreSQL server
        return import_into_county(ctx, list(files), no_purge)
    home = ctx.home.ensure()
    results = asyncio.run(
        import_bundles(
            home.log_db,
            list(files),
            office_station_id=ctx.settings.station.id,
            root=home.root,
            retention_days=None if no_purge else ctx.settings.log.retention_days,
        )
    )
    for result in results:
        say(result.sentence(ctx.t))
    purged = sum(r.purged for r in results)
    if purged:
        say(ctx.t("cli.bundle.purged", n=purged, days=ctx.settings.log.retention_days))


def register(cli: click.Group) -> None:
    cli.add_command(bundle_group)
