"""The station's key bar: every key of the screen with its description, like Textual's Footer, but a
single line of text built once and rebuilt only when a key's availability changes.

Textual's Footer rebuilds all its key widgets whenever the focus moves (every field of the check, every
manual entry); on a busy 2-core laptop that alone cost tens of milliseconds of event-loop time per
vehicle (`checkpoint bench ui`). Keys that do not apply now are greyed, as `check_action` says.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

DROPPED_FIRST = ("viewfinder",)  # left out first when the bar is too narrow for every key


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, palette_label: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.palette_label = palette_label

    def show_keys(self) -> None:
        """Describe the keys of the screen this bar is on (and the app's), greying unavailable ones."""
        screen = self.screen
        parts: list[tuple[str, Content]] = []
        seen: set[str] = set()
        first: list[Content] = []  # F1 Help and Ctrl+Q Quit: always shown, whatever the width
        for node in (screen, self.app):
            for bindings in node._bindings.key_to_bindings.values():
                for binding in bindings:
                    if not binding.show or not binding.description or binding.action in seen:
                        continue
                    available = node.check_action(binding.action, ()) if node is screen else True
                    if available is False:
                        continue  # hidden: the key means something else now (F3, Esc during a check)
                    seen.add(binding.action)
                    key = self.app.get_key_display(binding)
                    if binding.action in ("help", "quit"):
                        part = Content.assemble((key, "bold $accent"), " ", binding.description)
                        first.insert(0 if binding.action == "help" else len(first), part)
                    elif available:
                        part = Content.assemble((key, "bold $accent"), " ", binding.description)
                        parts.append((binding.action, part))
                    else:
                        parts.append(
                            (binding.action, Content.styled(f"{key} {binding.description}", "$text-disabled"))
                        )
        palette = Binding(self.app.COMMAND_PALETTE_BINDING, "command_palette", self.palette_label)
        if self.app.ENABLE_COMMAND_PALETTE:
            label = Content.assemble(
                (self.app.get_key_display(palette), "bold $accent"), " ", self.palette_label
            )
            parts.append(("command_palette", label))
        # What does not fit is left out whole (F1 lists every key), never cut in the middle of a word; the
        # viewfinder key goes first, so that Handover keeps its place at 80 columns.
        room = self.content_region.width or 10_000
        shown = list(first)
        used = sum(part.cell_length + 1 for part in shown)
        if used + sum(part.cell_length + 1 for _, part in parts) > room:
            parts = [(action, part) for action, part in parts if action not in DROPPED_FIRST]
        for _, part in parts:
            if used + part.cell_length > room:
                break
            shown.append(part)
            used += part.cell_length + 1
        self.update(Content(" ").join(shown))

    def on_resize(self) -> None:
        self.show_keys()
