"""`checkpoint county init / import-log / alerts`: the county store on PostgreSQL (docs/county.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import CheckpointError
from .context import Context, pass_ctx, progress_line, say

if TYPE_CHECKING:
    from datetime import date

    from ..audit import Filter
    from ..chain import VerifyResult
    from ..report import DailyReport


def county_url(ctx: Context) -> str | None:
    """The county server of this home (`log.database`), or None for a home that keeps log.db."""
    from ..county import is_county

    database = ctx.settings.log.database
    return database if is_county(database) else None


def _required(ctx: Context, url: str | None = None) -> str:
    found = url or county_url(ctx)
    if found is None:
        raise CheckpointError(
            'This home has no county database; set log.database = "postgresql://…" in its config.toml '
            "(or CHECKPOINT_LOG__DATABASE), or give --url."
        )
    return found


@click.group("county")
def county_group() -> None:
    """The county store on PostgreSQL: set it up, move a township's log into it, read its alerts."""


@county_group.command("init")
@click.option("--url", help="Connect with this URL (an owner of the database) instead of log.database.")
@pass_ctx
def init(ctx: Context, url: str | None) -> None:
    """Create the county store or upgrade its schema, and its importer, auditor and retention roles."""
    from ..county import county_init, where

    target = _required(ctx, url)
    result = county_init(
        target, timezone=ctx.settings.ui.timezone, retention_days=ctx.settings.log.retention_days
    )
    if result.before == result.after:
        say(f"The county store in {where(target)} is up to date (schema {result.after}).")
    else:
        say(f"The county store in {where(target)} is at schema {result.after} (it was at {result.before}).")
    say(f"Roles: {', '.join(result.roles)} (grant them to login roles; docs/county.md).")


@county_group.command("import-log")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@pass_ctx
def import_log(ctx: Context, file: Path) -> None:
    """Move a township office's log.db (chains, seals, stations) into the county store, verified first."""
    from ..county import import_log as run

    results = run(_required(ctx), file, lambda d, t: progress_line(d, t, "importing"))
    added = sum(r.added for r in results)
    stations = len({r.station_id for r in results})
    say(
        f"Imported {added} new entries of {stations} station(s) from {file}; "
        f"{sum(r.already for r in results)} were already here."
    )


@county_group.command("alerts")
@pass_ctx
def alerts(ctx: Context) -> None:
    """Bundles the county refused: forks (a history rewritten) and bundles under another key."""
    from ..county import alerts as read
    from ..timeutil import fmt_local, zone

    found = read(_required(ctx))
    if not found:
        say("No alerts.")
    tz = zone(ctx.settings.ui.timezone)
    for alert in found:
        say(
            f"{fmt_local(alert.at, tz, seconds=True)}  {alert.station_id}  {alert.kind}  {alert.bundle}: {alert.detail}"
        )


def register(cli: click.Group) -> None:
    cli.add_command(county_group)


# What the shared commands (bundle import, log list / verify / purge) call on a county home.


def import_into_county(ctx: Context, files: list[Path], no_purge: bool) -> None:
    from ..county import import_bundles

    retention = ctx.settings.log.retention_days
    results = import_bundles(
        _required(ctx), files, root=ctx.home.ensure().root, retention_days=None if no_purge else retention
    )
    for result in results:
        say(result.sentence(ctx.t))
    if purged := sum(r.purged for r in results):
        say(ctx.t("cli.bundle.purged", n=purged, days=retention))


def verify_county(url: str) -> VerifyResult:
    from ..county import verify

    return verify(url, progress=lambda done, total: progress_line(done, total, "verifying"))


def recent_in_county(url: str, limit: int) -> list[tuple[Any, ...]]:
    from ..county import recent_rows

    return recent_rows(url, limit)


def purge_county(url: str, days: int) -> int:
    from datetime import timedelta

    from ..county import purge
    from ..timeutil import utcnow

    return purge(url, utcnow() - timedelta(days=days))


def report_from_county(
    ctx: Context, url: str, day: date, station: str | None, no_verify: bool
) -> tuple[DailyReport, VerifyResult | None]:
    from ..county_reader import county_report
    from ..timeutil import zone

    verification = None if no_verify else verify_county(url)
    report = county_report(
        url,
        day,
        zone(ctx.settings.ui.timezone),
        station=station,
        verification=verification,
        fever_threshold=ctx.settings.station.fever_threshold,
    )
    return report, verification


def export_from_county(ctx: Context, url: str, flt: Filter, out: Path, fmt: str) -> int:
    from ..county_reader import county_export
    from ..timeutil import zone

    return county_export(
        url,
        flt,
        out,
        "csv" if fmt == "csv" else "jsonl",
        zone(ctx.settings.ui.timezone),
        progress=lambda done, total: progress_line(done, total, "exporting"),
    )
