"""`checkpoint stations request / enrol / list / retire`: enrol a station's key at the office (no trust on
first use)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from ..catalog import error
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
    say(ctx.t("cli.stations.wrote_request", station=made.station_id, out=out))
    say(ctx.t("cli.stations.fingerprint", fingerprint=made.fingerprint))
    say(ctx.t("cli.stations.take_to_office"))


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
        raise error("cli.stations.no_request", file=file)
    made = read_request(file)
    name = made.name or ctx.t("cli.stations.no_name")
    say(ctx.t("cli.stations.request", station=made.station_id, name=name, fingerprint=made.fingerprint))
    if given is None:
        if not sys.stdin.isatty():
            raise error("cli.stations.confirm_at_terminal", station=made.station_id)
        if not click.confirm(ctx.t("cli.stations.ask_fingerprint"), default=False):
            raise error("cli.stations.not_enrolled", station=made.station_id)
        given = made.fingerprint
    confirmed = given
    enrolled = with_office_store(ctx, lambda store: enrol_station(store, made, confirmed))
    say(ctx.t("cli.stations.enrolled", station=enrolled.station_id))


def _line(item: Enrolment, ctx: Context) -> str:
    from ..keys import fingerprint

    tz = zone(ctx.settings.ui.timezone)
    t = ctx.t
    state = (
        t("cli.stations.active")
        if item.retired_at is None
        else t(
            "cli.stations.retired_on", when=fmt_local(item.retired_at, tz), reason=item.retire_reason or ""
        )
    )
    enrolled = t("cli.stations.enrolled_on", when=fmt_local(item.enrolled_at, tz))
    return f"{item.station_id:<24} {fingerprint(item.public_key)}  {enrolled}  {state}"


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
        say(ctx.t("cli.stations.none"))
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
    say(ctx.t("cli.stations.retired", station=item.station_id))


def register(cli: click.Group) -> None:
    cli.add_command(stations_group)
