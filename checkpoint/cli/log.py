"""`checkpoint log list / verify / seal / purge`: the traffic log from the command line."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

import click

from ..catalog import error
from ..keys import load_or_create_station_key
from ..plates import display_plate
from ..store import LogStore
from ..text import clean
from ..timeutil import fmt_local, utcnow, zone
from .context import Context, echo_json, pass_ctx, progress_line, say


@click.group("log")
def log_group() -> None:
    """The traffic log: list, verify, seal, purge."""


@log_group.command("list")
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def list_entries(ctx: Context, limit: int, as_json: bool) -> None:
    """The most recent entries."""
    import sqlite3

    from ..store import ENTRY_COLUMNS, damaged, entry_from_row, open_reader
    from .county import county_url, recent_in_county

    url = county_url(ctx)
    if url is None and not ctx.home.log_db.exists():
        if not as_json:
            say(ctx.t("cli.log.empty"))
        return
    if url is not None:
        rows = recent_in_county(url, limit)
    else:
        conn = open_reader(ctx.home.log_db)
        try:
            rows = conn.execute(
                f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries ORDER BY ts DESC, seq DESC LIMIT ?", (limit,)
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise damaged(ctx.home.log_db, exc) from exc
        finally:
            conn.close()
    tz = zone(ctx.settings.ui.timezone)
    for row in rows:
        entry = entry_from_row(row)
        if as_json:
            echo_json(entry.to_json(tz))
            continue
        temps = " ".join(f"{t / 10:.1f}" for t in entry.temperatures)
        say(
            f"{entry.station_id}#{entry.seq:<6} {fmt_local(entry.ts, tz, seconds=True)}  {entry.direction.value:<3} "
            f"{entry.verdict.value.upper():<5} {entry.reason.value:<18} {clean(display_plate(entry.plate) if entry.plate else '-', limit=12):<12} "
            f"{entry.pass_id or '-':<8} {temps}"
        )


@log_group.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--head", "head", metavar="CODE", help="A head code from the duty book (like 1234-9F3A2C) to check too."
)
@pass_ctx
def verify(ctx: Context, as_json: bool, head: str | None) -> None:
    """Recompute every chain and check every seal, and the station's receipts and seal copies kept outside
    the log; exit 1 and name the first bad entry on tampering."""
    from ..chain import parse_head_code
    from ..store import verify_home_log
    from .county import county_url, verify_county

    code = None if head is None else parse_head_code(head)
    if head is not None and code is None:
        raise error("cli.log.bad_head_code", head=repr(clean(head, limit=40)))
    url = county_url(ctx)
    if url is not None:
        result = verify_county(url)
    else:
        station_id = ctx.settings.station.id
        own = None
        if ctx.home.station_key.exists():
            own = load_or_create_station_key(ctx.home.station_key).public_key()
        result = verify_home_log(
            ctx.home.root,
            station_id,
            ctx.trust(),
            own,
            head_code=code,
            progress=lambda done, total: progress_line(done, total, "verifying"),
            retention_days=ctx.settings.log.retention_days,
        )
    if not result.stations and not as_json:
        say(ctx.t("cli.log.verify_empty"))
        return
    if as_json:
        echo_json(
            {
                "ok": result.ok,
                "entries": result.entries,
                "stations": [
                    {
                        "station_id": r.station_id,
                        "entries": r.entries,
                        "head_seq": r.head_seq,
                        "seals": r.seals,
                        "last_sealed_seq": r.last_sealed_seq,
                        "ok": r.ok,
                        "first_bad_seq": r.first_bad_seq,
                        "problem": r.problem,
                        "anchors": r.anchors,
                        "warnings": [{"seq": seq, "warning": text} for seq, text in r.warnings],
                    }
                    for r in result.stations
                ],
                "records": result.records,
                "records_problem": result.records_problem,
            }
        )
    else:
        t = ctx.t
        for r in result.stations:
            kept = t.count("cli.log.anchors", r.anchors) if r.anchors else ""
            entries = t.count("cli.count.entries", r.entries)
            if r.ok and not r.seals:
                say(t("cli.log.ok_unsealed", station=r.station_id, entries=entries) + kept)
            elif r.ok:
                unsealed = r.head_seq - r.last_sealed_seq
                tail = (
                    t.count("cli.log.unsealed_tail", unsealed, first=r.last_sealed_seq + 1, last=r.head_seq)
                    if unsealed > 0
                    else ""
                )
                seals = t.count("cli.count.seals", r.seals)
                say(t("cli.log.ok_sealed", station=r.station_id, entries=entries, seals=seals,
                      sealed=r.last_sealed_seq, tail=tail) + kept)  # fmt: skip
            else:
                say(t("cli.log.tampered", station=r.station_id, seq=r.first_bad_seq, problem=r.problem))
            for _, warning in r.warnings:
                say(t("cli.log.warning", station=r.station_id, warning=warning))
        if result.records_problem:
            say(t("cli.log.records_tampered", problem=result.records_problem))
    sys.exit(0 if result.ok else 1)


@log_group.command("seal")
@pass_ctx
def seal(ctx: Context) -> None:
    """Sign the chain head with this station's key."""

    async def run() -> tuple[int, str] | None:
        key = load_or_create_station_key(ctx.home.station_key)
        store = await LogStore.open(ctx.home.ensure().log_db, ctx.settings.station.id)
        async with store:
            return await store.seal(key)

    sealed = asyncio.run(run())
    if sealed is None:
        say(ctx.t("cli.log.nothing_to_seal"))
    else:
        say(ctx.t("cli.log.sealed", station=ctx.settings.station.id, seq=sealed[0], head=sealed[1][:16]))


@log_group.command("purge")
@click.option(
    "--older-than", "days", type=click.IntRange(0, 36500), help="Days (default: log.retention_days)."
)
@click.option("--yes", is_flag=True, help="Purge even entries younger than log.retention_days.")
@pass_ctx
def purge(ctx: Context, days: int | None, yes: bool) -> None:
    """Remove names and temperatures of old entries; counts stay and the chain still verifies."""
    retention = ctx.settings.log.retention_days
    keep = days if days is not None else retention
    if keep < retention and not yes:
        raise error("cli.log.purge_too_young", keep=keep, days=retention - keep, retention=retention)

    from .county import county_url, purge_county

    if (url := county_url(ctx)) is not None:  # through the county's purge_personal function only
        say(f"Purged names and temperatures from {purge_county(url, keep)} entries older than {keep} days.")
        return

    async def run() -> int:
        store = await LogStore.open(ctx.home.ensure().log_db, ctx.settings.station.id)
        async with store:
            return await store.purge(utcnow() - timedelta(days=keep))

    purged = asyncio.run(run())
    say(ctx.t("cli.log.purged", entries=ctx.t.count("cli.count.entries", purged), keep=keep))


def register(cli: click.Group) -> None:
    cli.add_command(log_group)
