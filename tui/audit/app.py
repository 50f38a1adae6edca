"""The audit application: browse, filter, verify, export the traffic log (a station's or the office's
merged one). `make_app(home, settings, ...)` builds it for the CLI and the tests alike."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from checkpoint.errors import CheckpointError
from checkpoint.paths import Home
from checkpoint.settings import Settings
from checkpoint.store import open_reader
from checkpoint.timeutil import zone

from ..base import CheckpointApp
from .modals import AuditHelpScreen
from .screen import AuditScreen, translate_audit_bindings


class AuditApp(CheckpointApp):
    """Auditors and supervisors: the log, its proof, its exports."""

    CSS_PATH = "audit.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self, home: Home, settings: Settings, *, log_path: Path, language: str | None = None
    ) -> None:
        super().__init__(home, settings, language=language)
        self.log_path = log_path
        self.tz = zone(settings.ui.timezone)
        translate_audit_bindings(self, self.t)

    def on_mount(self) -> None:
        self.title = self.t("audit.title")
        self.push_screen(AuditScreen())

    def action_help(self) -> None:
        if not isinstance(self.screen, AuditHelpScreen):
            self.push_screen(AuditHelpScreen(self.t))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        main = next((s for s in self.screen_stack if isinstance(s, AuditScreen)), None)
        if main is None:
            return
        t = self.t
        for action in ("apply", "verify", "export", "report", "clear"):
            yield SystemCommand(  # the title is the key's word; the help says what it does
                t(f"audit.key.{action}"), t(f"audit.palette.{action}"), getattr(main, f"action_{action}")
            )


def make_app(
    home: Home, settings: Settings, *, log_path: Path | None = None, language: str | None = None
) -> AuditApp:
    """The audit app for this home's log (or `log_path`). Raises CheckpointError when there is no log."""
    path = log_path or home.log_db
    open_reader(path).close()  # one sentence now rather than an empty screen: no log, or not a log
    if not path.exists():
        raise CheckpointError(f"There is no traffic log at {path}.")
    return AuditApp(home, settings, log_path=path, language=language)
