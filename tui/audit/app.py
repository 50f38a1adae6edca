"""The audit application: browse, filter, verify, export the traffic log (a station's, the office's
merged one, or the county's on its PostgreSQL server). `make_app(home, settings, ...)` builds it for the CLI and the tests alike."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from checkpoint.audit import AuditLog, open_log
from checkpoint.paths import Home
from checkpoint.settings import Settings

from .context import AuditContext, translate_audit_bindings
from .modals import AuditHelpScreen
from .screen import AuditScreen


class AuditApp(AuditContext):
    """Auditors and supervisors: the log, its proof, its exports."""

    CSS_PATH = "audit.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, home: Home, settings: Settings, *, log: AuditLog, language: str | None = None) -> None:
        super().__init__(home, settings, log=log, language=language)
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
    """The audit app for this home's log: its log.db (or `log_path`), or the county server its
    `log.database` names. Raises CheckpointError when there is no log."""
    database = "" if log_path is not None else settings.log.database
    log = open_log(database, log_path or home.log_db)
    return AuditApp(home, settings, log=log, language=language)
