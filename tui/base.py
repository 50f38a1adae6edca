"""What the three applications share: settings, the translator, and turning worker errors into
notifications instead of crashes (harlequin's pattern)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from checkpoint.errors import CheckpointError
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

    def report_error(self, error: BaseException) -> None:
        """Show an error as one sentence; untrusted text is cleaned and never parsed as markup."""
        message = error.message if isinstance(error, CheckpointError) else f"{type(error).__name__}: {error}"
        self.notify(clean(message, limit=300), severity="error", timeout=8, markup=False)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.report_error(event.worker.error)


class WorkerErrors:
    """For screens that run workers: a worker that fails is reported as one sentence.

    `Worker.StateChanged` does not bubble, so the app's own handler sees only the app's workers; without
    this, a screen's worker that fails (they run with exit_on_error=False) would fail silently."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            app = event.worker.node.app
            if isinstance(app, CheckpointApp):
                app.report_error(event.worker.error)
