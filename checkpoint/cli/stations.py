"""`checkpoint stations request / enrol / list / retire`: enrol a station's key at the office (no trust on
first use)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from ..errors import CheckpointError
from ..store import Enrolment, LogStore
from ..timeutil import fmt_local, zone
from .context import Context, echo_json, pass_ctx, say

if TYPE_CHECKING:
    from ..stations import EnrolmentStore

_T = TypeVar("_T")


def with_office_store(ctx: Context, work: Callable[[EnrolmentStore], Awaitable[_T]]) -> _T:
    """Run `work` on this (office) home's store: its log, where imported bundles are merged (log.db, or
    the county's PostgreSQL server when log.database names one)."""
    from .county import county_url

    if (url := county_url(ctx)) is not None:
        from ..county import CountyStore

        county = CountyStore(url, ctx.home.ensure().root)

        async def on_county() -> _T:
            return await work(county)

        return asyncio.run(on_county())

    async def run() -> _T:
        store = await LogStore.open(ctx.home.ensure().log_db, ctx.settings.station.id)
        async with store:
            return await work(store)

    return asyncio.run(run())


@click.group("stations")
def stations_group() -> None:
    """Enrol stations at the office: their bundles are accepted only once a person confirmed their key."""


@stations_group.command("request")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The request file to write."
)
@pass_ctx
def request(ctx: Context, out: Path) -> None:
    """At the station: write an enrolment request (id, name, public key) signed by the station key."""
    from ..keys import load_or_create_station_key
    from ..stations import write_request

    home = ctx.home.ensure()
    station = ctx.settings.station
    made = write_request(out, station.id, station.name, load_or_create_station_key(home.station_key))
    say(f"Wrote the enrolment request of station {made.station_id} to {out}.")
    say(f"Fingerprint: {made.fingerprint}")
    say("Take the file to the office and read the fingerprint to them by another way (phone, in person).")


@stations_group.command("enrol")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--fingerprint", "given", help="The fingerprint the station read out (needed without a terminal)."
)
@pass_ctx
def enrol(ctx: Context, file: Path, given: str | None) -> None:
    """At the office: enrol the station of request FILE once its fingerprint is confirmed."""
    from ..stations import enrol as enrol_station
    from ..stations import read_request

    if not file.exists():
        raise CheckpointError(f"There is no enrolment request {file}.")
    made = read_request(file)
    say(f"Station {made.station_id} ({made.name or 'no name'}), key fingerprint: {made.fingerprint}")
    if given is None:
        if not sys.stdin.isatty():
            raise CheckpointError(
                f"Nothing was enrolled: confirm the fingerprint of station {made.station_id} at a terminal, "
                "or give the one the station read out with --fingerprint."
            )
        if not click.confirm("Is this the fingerprint the station reads out?", default=False):
            raise CheckpointError(f"Station {made.station_id} was not enrolled.")
        given = made.fingerprint
    confirmed = given
    enrolled = with_office_store(ctx, lambda store: enrol_station(store, made, confirmed))
    say(f"Enrolled station {enrolled.station_id}: this office now accepts its bundles.")


def _line(item: Enrolment, ctx: Context) -> str:
    from ..stations import fingerprint

    tz = zone(ctx.settings.ui.timezone)
    state = (
        "active"
        if item.retired_at is None
        else f"retired {fmt_local(item.retired_at, tz)} ({item.retire_reason or ''})"
    )
    return f"{item.station_id:<24} {fingerprint(item.public_key)}  enrolled {fmt_local(item.enrolled_at, tz)}  {state}"


@stations_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_ctx
def list_stations(ctx: Context, as_json: bool) -> None:
    """The stations enrolled at this office, retired ones included."""
    from ..stations import enrolment_json

    enrolments = with_office_store(ctx, lambda store: store.enrolments())
    if as_json:
        tz = zone(ctx.settings.ui.timezone)
        echo_json({"stations": [enrolment_json(e, tz) for e in enrolments.values()]})
        return
    if not enrolments:
        say("No station is enrolled here yet; `checkpoint stations enrol REQUEST-FILE` enrols one.")
    for item in enrolments.values():
        say(_line(item, ctx))


@stations_group.command("retire")
@click.argument("station_id")
@click.option("--reason", required=True, help="Why (a lost or stolen laptop), for the record.")
@pass_ctx
def retire(ctx: Context, station_id: str, reason: str) -> None:
    """Retire a station: bundles it writes from now on are refused; what was imported stays."""
    from ..stations import retire as retire_station

    item = with_office_store(ctx, lambda store: retire_station(store, station_id, reason))
    say(f"Retired station {item.station_id}: bundles written after now are refused; what was imported stays.")


def register(cli: click.Group) -> None:
    cli.add_command(stations_group)
