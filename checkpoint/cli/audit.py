"""`checkpoint audit`: the audit TUI. Textual is imported inside the command only."""

from __future__ import annotations

from pathlib import Path

import click

from .context import Context, pass_ctx


@click.command("audit")
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Audit this log file instead of the home's log.db.",
)
@click.option(
    "--lang", "language", type=click.Choice(["en", "zh"]), default=None, help="Language of the screen."
)
@pass_ctx
def audit(ctx: Context, log_path: Path | None, language: str | None) -> None:
    """Browse, filter, verify and export the traffic log (log.db, or the county server of log.database), and
    save the daily report (F8)."""
    from tui.audit.app import make_app

    app = make_app(ctx.home, ctx.settings, log_path=log_path, language=language)
    app.run()


def register(cli: click.Group) -> None:
    cli.add_command(audit)
