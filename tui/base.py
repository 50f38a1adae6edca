"""What the three applications share: settings, the translator, and turning worker errors into
notifications instead of crashes (harlequin's pattern)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import ClassVar

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import DataTable
from textual.worker import Worker, WorkerState

from checkpoint.catalog import say_error
from checkpoint.errors import CheckpointError
from checkpoint.fsutil import is_database_error
from checkpoint.paths import Home
from checkpoint.settings import Settings
from checkpoint.sharing import prepare as prepare_helpers
from checkpoint.text import clean

from .i18n import Translator, detect_language


class CheckpointApp(App[None]):
    """Base for the station, office and audit apps. Subclasses set CSS_PATH and screens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", show=True),
    ]

    def __init__(self, home: Home, settings: Settings, *, language: str | None = None) -> None:
        prepare_helpers()  # before Textual takes over stderr (the scanner, verification and export use them)
        super().__init__()
        self.home = home
        self.settings = settings
        self.t = Translator(language or detect_language(settings.ui.language))
        self._last_error: tuple[str, float] | None = None

    def action_help(self) -> None:
        """Show the app's own help screen (each app overrides this; F1 and the palette call it)."""

    def action_command_palette(self) -> None:
        """Textual's command palette, with the search field's placeholder from the catalog."""
        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            self.push_screen(CommandPalette(placeholder=self.t("system.search"), id="--command-palette"))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette's system commands, translated; the apps add their own after these.

        Textual's own list is English and partly beside the point at a checkpoint, so it is replaced:
        Quit stays; Keys (Textual's help panel, which shows widgets' English help) becomes the app's
        translated help screen, the same as F1; Maximize is offered only for a table (the audit
        results, the pass list), where more rows help, and Restore whenever something is maximized.
        Theme (colours carry ALLOW and DENY) and Screenshot (an SVG of names and temperatures left in
        the working folder) are left out."""
        t = self.t
        yield SystemCommand(t("key.quit"), t("system.quit"), self.action_quit)
        yield SystemCommand(t("key.help"), t("system.help"), self.action_help)
        if screen.maximized is not None:
            yield SystemCommand(t("system.minimize"), t("system.minimize.help"), screen.action_minimize)
        elif isinstance(screen.focused, DataTable) and screen.focused.allow_maximize:
            yield SystemCommand(t("system.maximize"), t("system.maximize.help"), screen.action_maximize)

    def report_error(self, error: BaseException) -> None:
        """Show an error as one sentence; untrusted text is cleaned and never parsed as markup. The same
        sentence again within a few seconds (several workers hitting one damaged file) is said once."""
        if isinstance(error, CheckpointError):
            message = say_error(error, self.t.lang)  # a catalog error in the screen's language
        elif is_database_error(error):
            message = self.t("error.damaged", detail=str(error))
        else:
            message = f"{type(error).__name__}: {error}"
        message = clean(message, limit=300)
        now = time.monotonic()
        if self._last_error is not None and self._last_error[0] == message and now - self._last_error[1] < 8:
            return
        self._last_error = (message, now)
        self.notify(message, severity="error", timeout=8, markup=False)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.report_error(event.worker.error)


class WorkerErrors:
    """For screens that run workers: a worker that fails is reported as one sentence.

    `Worker.StateChanged` does not bubble, so the app's own handler sees only the app's workers; without
    this, a screen's worker that fails (they run with exit_on_error=False) would fail silently."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        app = event.worker.node.app
        if isinstance(app, CheckpointApp):
            app._worker_failed(event)
