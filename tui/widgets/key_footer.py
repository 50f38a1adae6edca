"""The key bar with each key marked by its action, for screens that must leave some keys out when narrow."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer


class MarkedFooter(Footer):
    """The key bar, each key marked with its action (`-key-quit`) so that an app's .tcss can leave some out
    where the bar is short of room (the keys still work, and F1 lists them)."""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            action = getattr(widget, "action", None)  # a FooterKey (not exported by textual.widgets)
            if isinstance(action, str):
                widget.add_class("-key-" + action.removeprefix("app.").replace(".", "-"))
            yield widget
