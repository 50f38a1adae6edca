"""`checkpoint office`: the office TUI (issue, list, search, revoke, renew, export, key rotation)."""

from __future__ import annotations

import click

from .context import Context, pass_ctx


@click.command("office")
@click.option(
    "--lang",
    "--language",
    "language",
    type=click.Choice(["en", "zh"]),
    default=None,
    help="Language of the screen (default: ui.language).",
)
@pass_ctx
def office(ctx: Context, language: str | None) -> None:
    """The office screen: issue, find, revoke and renew passes; export the trust file and revocations."""
    from tui.office.app import make_app

    app = make_app(ctx.home, ctx.settings, language=language)
    app.run()


def register(cli: click.Group) -> None:
    cli.add_command(office)
