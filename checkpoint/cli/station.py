"""`checkpoint station` (also plain `checkpoint`): the station TUI.

Textual (and, through the camera worker, OpenCV) is imported inside the command only.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import CheckpointError
from ..paths import Home, HomeLock
from ..settings import load_settings
from .context import Context, pass_ctx


@click.command("station")
@click.option(
    "--camera",
    default=None,
    help="Camera: a webcam index (0), a video file, an image folder, or 'none' for manual entry only.",
)
@click.option(
    "--lang", "language", type=click.Choice(["en", "zh"]), default=None, help="Language of the screen."
)
@click.option(
    "--demo-if-unconfigured",
    "demo_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    hidden=True,
    help="When this home has no trust file, build (if needed) and run the demo in this folder.",
)
@pass_ctx
def station(ctx: Context, camera: str | None, language: str | None, demo_dir: Path | None) -> None:
    """The station: scan passes, decide, take temperatures, keep the log."""
    home, settings = ctx.home, None
    if demo_dir is not None and not home.is_configured():
        from ..demo import demo_exists

        demo_dir = demo_dir.expanduser().resolve()
        if not demo_exists(demo_dir):
            click.echo(ctx.t("cli.station.building_demo", folder=demo_dir), err=True)
            from .demo import write_demo

            write_demo(demo_dir)
        home = Home(demo_dir / "station")
        settings = load_settings(home.config)
    if settings is None:
        settings = ctx.settings
    from tui.station.app import make_app

    with HomeLock(home):  # one station process per home: a second one refuses, naming the first
        app = make_app(home, settings, camera=camera, language=language)
        app.run()
    if app.startup_error is not None:
        raise CheckpointError(app.startup_error)


def register(cli: click.Group) -> None:
    cli.add_command(station)
