"""What the audit's screens see of their application: the home, the settings, the translator, the log
being audited and the time zone; and the key-bar words of the audit screens.

It sits below both `app.py` and the screens, so that a screen is typed against it and never imports the
app (which imports the screens): no import cycle, and no import hidden inside a function to break one.
"""

from __future__ import annotations

from textual.dom import DOMNode

from checkpoint.audit import AuditLog
from checkpoint.paths import Home
from checkpoint.settings import Settings
from checkpoint.timeutil import zone

from ..base import CheckpointApp
from ..i18n import Translator, translate_bindings


class AuditContext(CheckpointApp):
    """The audit app's state, typed for its screens (`AuditApp` adds the screens and the keys)."""

    def __init__(self, home: Home, settings: Settings, *, log: AuditLog, language: str | None = None) -> None:
        super().__init__(home, settings, language=language)
        self.audit_log = log  # a log.db or the county server: the screens ask it, never a store
        self.tz = zone(settings.ui.timezone)


def translate_audit_bindings(node: DOMNode, t: Translator) -> None:
    """Give `node`'s key bindings the catalog's descriptions (`audit.key.<action>`)."""
    translate_bindings(node, t, "audit.key.")
