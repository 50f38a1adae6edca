"""`checkpoint log export --format csv|jsonl [filters] --out F`: the log (or part of it) as a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..audit import Filter
from ..catalog import error
from ..models import Category, Direction, Reason, Verdict
from ..timeutil import parse_when, zone
from .context import Context, output_files, pass_ctx, progress_line, say

F = TypeVar("F", bound=Callable[..., Any])


def filter_options(func: F) -> F:
    """The audit filters as command-line options (shared by `log export`)."""
    options = [
        click.option(
            "--from", "since", metavar="WHEN", help="From this local date or time (2026-02-03[T08:00])."
        ),
        click.option(
            "--until", metavar="WHEN", help="Up to this local date (inclusive) or time (exclusive)."
        ),
        click.option("--station", help="Only this station id."),
        click.option("--direction", type=click.Choice([d.value for d in Direction])),
        click.option("--decision", type=click.Choice([v.value for v in Verdict])),
        click.option("--reason", type=click.Choice([r.value for r in Reason])),
        click.option("--category", type=click.Choice([c.value for c in Category])),
        click.option("--plate", help="Part of a plate, e.g. 12345 or 鄂A."),
        click.option("--operator", help="Part of an operator's or shift leader's name."),
        click.option("--fevers", "fevers_only", is_flag=True, help="Only entries with a fever reading."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_filter(ctx: Context, values: dict[str, Any]) -> Filter:
    tz = zone(ctx.settings.ui.timezone)
    since = values.get("since")
    until = values.get("until")
    start = parse_when(since, tz) if since else None
    end = None
    if until:
        end = parse_when(until, tz)
        if len(until.strip()) == 10:  # a bare date is inclusive: up to the start of the next day
            from datetime import timedelta

            end = parse_when(until, tz) + timedelta(days=1)
    if start is not None and end is not None and end <= start:
        raise error("cli.time.until_before_from")
    return Filter(
        start=start,
        end=end,
        station=values.get("station"),
        direction=Direction(values["direction"]) if values.get("direction") else None,
        verdict=Verdict(values["decision"]) if values.get("decision") else None,
        reason=Reason(values["reason"]) if values.get("reason") else None,
        category=Category(values["category"]) if values.get("category") else None,
        plate=values.get("plate") or None,
        operator=values.get("operator") or None,
        fevers_only=bool(values.get("fevers_only")),
    )


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The file to write."
)
@filter_options
@output_files("out")
@pass_ctx
def export(ctx: Context, /, fmt: str, out: Path, **values: Any) -> None:
    """Export the log (or the entries matching the filters) as CSV for Excel/WPS or JSON lines."""
    from ..audit import count
    from ..export import export_log
    from ..store import open_reader
    from .county import county_url, export_from_county

    flt = build_filter(ctx, values)
    if (url := county_url(ctx)) is not None:  # a county home: the same records, read on the server
        say(f"Exported {export_from_county(ctx, url, flt, out, fmt)} entries to {out}.")
        return
    if not ctx.home.log_db.exists():
        raise error("cli.log.none_to_export", home=ctx.home.root)
    conn = open_reader(ctx.home.log_db)
    try:
        total = count(conn, flt)
        n = export_log(
            conn,
            flt,
            out,
            "csv" if fmt == "csv" else "jsonl",
            zone(ctx.settings.ui.timezone),
            progress=lambda done: progress_line(done, total, "exporting"),
        )
    finally:
        conn.close()
    say(ctx.t("cli.log.exported", entries=ctx.t.count("cli.count.entries", n), path=out))


def register(cli: click.Group) -> None:
    group = cli.commands.get("log")
    if isinstance(group, click.Group):
        group.add_command(export)
