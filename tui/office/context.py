"""What the office's screens see of their application: the home, the settings, the translator, the
desk (`checkpoint.desk.Desk`), its clock and time zone; and the key-bar words of the office screens.

It sits below both `app.py` and the screens, so that a screen is typed against it and never imports the
app (which imports the screens): no import cycle, and no import hidden inside a function to break one.
"""

from __future__ import annotations

from textual.dom import DOMNode

from checkpoint.desk import Desk
from checkpoint.paths import Home
from checkpoint.settings import Settings

from ..base import CheckpointApp
from ..i18n import Translator, translate_bindings


class OfficeContext(CheckpointApp):
    """The office app's state, typed for its screens (`OfficeApp` adds the screens and the keys)."""

    def __init__(self, home: Home, settings: Settings, *, desk: Desk, language: str | None = None) -> None:
        super().__init__(home, settings, language=language)
        self.desk = desk
        self.clock = desk.clock
        self.tz = desk.tz


def translate_office_bindings(node: DOMNode, t: Translator) -> None:
    """Give `node`'s key bindings the catalog's descriptions (`office.key.<action>`)."""
    translate_bindings(node, t, "office.key.")
