"""`checkpoint report`: the daily situation report (每日情况汇报) as Markdown, HTML or PDF."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..catalog import error
from ..language import detect_language
from ..timeutil import zone
from .context import Context, output_files, pass_ctx, progress_line, say

if TYPE_CHECKING:
    from ..report import ReportFormat


def report_language(setting: str, explicit: str | None) -> str:
    return explicit or detect_language(setting)


def parse_day(text: str | None, today: date) -> date:
    if text is None or text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise error("cli.time.not_a_day", text=text) from exc


@click.command("report")
@click.option(
    "--date", "day_text", metavar="DAY", help="The local day: 2026-02-03, today (default) or yesterday."
)
@click.option("--station", help="Only this station (default: every station in the log).")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "pdf"]), default="md", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (md: default stdout)."
)
@click.option("--lang", type=click.Choice(["en", "zh"]), help="Language (default: ui.language, else LANG).")
@click.option("--no-verify", is_flag=True, help="Skip verifying the chains and seals (faster on a huge log).")
@output_files("out")
@pass_ctx
def report(
    ctx: Context,
    day_text: str | None,
    station: str | None,
    fmt: str,
    out: Path | None,
    lang: str | None,
    no_verify: bool,
) -> None:
    """The daily situation report for one local calendar day: traffic, denials, fevers, overrides, shifts."""
    from ..keys import load_or_create_station_key
    from ..report import daily_report, render_markdown, report_file_name, write_report

    tz = zone(ctx.settings.ui.timezone)
    day = parse_day(day_text, datetime.now(tz).date())
    language = report_language(ctx.settings.ui.language, lang)
    from .county import county_url, report_from_county

    if (url := county_url(ctx)) is not None:  # a county home: counted from its rollup on the server
        result, verification = report_from_county(ctx, url, day, station, no_verify)
    else:
        if not ctx.home.log_db.exists():
            raise error("cli.log.none_to_report", home=ctx.home.root)
        own = {}
        if ctx.home.station_key.exists():
            own[ctx.settings.station.id] = load_or_create_station_key(ctx.home.station_key).public_key()
        # a station's own home: its name (e.g. 大畈镇东卡口) is in its settings, not in the log
        own_name = (
            {ctx.settings.station.id: ctx.settings.station.name} if ctx.home.station_key.exists() else None
        )
        result = daily_report(
            ctx.home.log_db,
            day,
            tz,
            station=station,
            verify=not no_verify,
            own_keys=own,
            progress=lambda d, t: progress_line(d, t, "verifying"),
            fever_threshold=ctx.settings.station.fever_threshold,
            names=own_name,
        )
        verification = result.verification
    if out is None and fmt == "md":
        sys.stdout.write(render_markdown(result, language))
        return
    kind: ReportFormat = "pdf" if fmt == "pdf" else "html" if fmt == "html" else "md"
    target = out or ctx.home.ensure().exports / report_file_name(day, kind, station)
    write_report(result, kind, language, target)
    say(ctx.t("cli.report.wrote", day=day.isoformat(), path=target))
    if verification is not None and not verification.ok:
        raise error("cli.log.fails", exit_code=1)


def register(cli: click.Group) -> None:
    cli.add_command(report)
