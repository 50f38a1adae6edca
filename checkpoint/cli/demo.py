"""`checkpoint demo DIR`: a self-contained demo (office, station, sample passes, a sample camera feed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..catalog import Translator
from ..demo import FEED_FPS, Demo, build_demo, demo_exists, feed_pacing
from .context import language_of, say

if TYPE_CHECKING:
    import numpy as np

FRAME_SIZE = (512, 384)
POSES = 3  # distinct pictures of each card (composing a frame is the slow part), cycled


def write_feed(demo: Demo) -> Path:
    """Render the sample camera feed with scanner.synthetic (OpenCV: imported here only)."""
    from scanner.synthetic import compose_frame, render_code, write_video

    width, height = FRAME_SIZE
    show, gap = feed_pacing()

    def frames() -> Iterator[np.ndarray]:
        for index, text in enumerate(demo.feed_codes()):
            code = render_code(text, size=400)
            # The card drifts a little, as a pass held up by a hand does.
            poses = [
                compose_frame(
                    code, width, height, seed=index * 10 + k, scale=0.62, center=(0.48 + 0.02 * k, 0.5)
                )
                for k in range(POSES)
            ]
            for k in range(show):
                yield poses[k % POSES]
            empty = compose_frame(None, width, height, seed=index * 10 + 9)
            for _ in range(gap):
                yield empty

    write_video(demo.feed, frames(), fps=FEED_FPS)
    return demo.feed


def write_demo(root: Path) -> Demo:
    demo = build_demo(root)
    write_feed(demo)
    return demo


@click.command("demo")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def demo_command(folder: Path) -> None:
    """Build a demo in FOLDER: office keys, ~20 sample passes, a station that trusts them, a camera feed."""
    t = Translator(language_of(click.get_current_context(silent=True)))
    folder = folder.expanduser().resolve()
    if demo_exists(folder):
        say(t("cli.demo.exists", folder=folder))
        say(t("cli.demo.run_it", home=folder / "station"))
        return
    demo = write_demo(folder)
    say(t("cli.demo.built", folder=folder))
    say(t("cli.demo.office", root=demo.office.root, n=len(demo.passes)))
    say(t("cli.demo.station", root=demo.station.root))
    say(t("cli.demo.camera", feed=demo.feed))
    say(t("cli.demo.run_station", home=demo.station.root))


def register(cli: click.Group) -> None:
    cli.add_command(demo_command)
