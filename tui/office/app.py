"""The office application: issue, find, revoke and renew passes; hand stations the trust file and the
revocation list; rotate the signing key.

`make_app(home, settings, ...)` builds it for the CLI and the tests alike. Every operation
goes through the office desk (`checkpoint.desk.Desk`), the one the command line uses too: the screens
collect input and render what the desk returns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from textual.binding import Binding, BindingType

from checkpoint.desk import Desk
from checkpoint.paths import Home
from checkpoint.settings import Settings
from checkpoint.timeutil import utcnow

from ..base import CheckpointApp
from .screen import PassListScreen, translate_office_bindings


class OfficeApp(CheckpointApp):
    """The issuing office: the pass list is the main screen; everything else opens from it."""

    CSS_PATH = "office.tcss"
    # A terminal under 100 columns stacks the issue form above its card preview (office.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012 (Textual reads it)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        Binding("f9", "stations", "Stations", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        home: Home,
        settings: Settings,
        *,
        desk: Desk,
        language: str | None = None,
    ) -> None:
        super().__init__(home, settings, language=language)
        self.desk = desk
        self.clock = desk.clock
        self.tz = desk.tz
        self.title = self.t("office.title", office=settings.office.name)
        translate_office_bindings(self, self.t)

    def on_mount(self) -> None:
        self.push_screen(PassListScreen())

    def on_unmount(self) -> None:
        self.desk.close()

    def action_help(self) -> None:
        from .forms import OfficeHelpScreen

        self.push_screen(OfficeHelpScreen())

    def action_stations(self) -> None:
        from .stations import StationsScreen

        if not isinstance(self.screen, StationsScreen):
            self.push_screen(StationsScreen())


def make_app(
    home: Home,
    settings: Settings,
    *,
    language: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> OfficeApp:
    """The office app for this home. Raises CheckpointError (one sentence) when it has no office keys."""
    return OfficeApp(home, settings, desk=Desk(home, settings, clock=clock), language=language)
