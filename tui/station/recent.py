"""The last entries of the log as a plain text table (newest first).

A DataTable redraws every cell through its own machinery each time rows change; this is one block of
text, padded by terminal cell width so Chinese lines up, and it costs a fraction of that per vehicle.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from checkpoint.models import Verdict
from checkpoint.plates import display_plate
from checkpoint.store import Entry
from checkpoint.text import cell_width, clean

from ..i18n import Translator

COLUMNS = (("time", 8), ("direction", 4), ("decision", 8), ("reason", 28), ("plate", 11), ("category", 16))


def fit(text: str, width: int) -> str:
    """`text` cut and padded to exactly `width` terminal cells."""
    ellipsis = cell_width(text) > width > 1  # cut: say so
    if ellipsis:
        width -= 1
    out, used = [], 0
    for ch in text:
        w = cell_width(ch)
        if used + w > width:
            break
        out.append(ch)
        used += w
    if ellipsis:
        return "".join(out) + " " * (width - used) + "…"
    return "".join(out) + " " * (width - used)


class RecentEntries(VerticalScroll):
    DEFAULT_CSS = """
    RecentEntries { height: 12; }
    RecentEntries #recent-head { text-style: bold; background: $panel; }
    RecentEntries #recent-rows { height: auto; }
    RecentEntries Static { text-wrap: nowrap; text-overflow: clip; }
    """

    def __init__(self, t: Translator, tz: ZoneInfo, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.t = t
        self.tz = tz
        self.rows: list[Entry] = []

    def compose(self) -> ComposeResult:
        yield Static(self._head(), id="recent-head")
        yield Static(id="recent-rows")

    def _widths(self) -> dict[str, int]:
        """Column widths; the reason column gives way on a narrow screen so that a row never wraps."""
        widths = dict(COLUMNS)
        room = self.scrollable_content_region.width
        if room:
            others = sum(width for key, width in COLUMNS if key != "reason") + len(COLUMNS) - 1
            widths["reason"] = max(12, min(widths["reason"], room - others))
        return widths

    def _head(self) -> Content:
        widths = self._widths()
        return Content(" ".join(fit(self.t(f"station.col.{key}"), widths[key]) for key, _ in COLUMNS))

    def on_resize(self) -> None:
        self.query_one("#recent-head", Static).update(self._head())
        self.show(self.rows)

    def show(self, entries: list[Entry]) -> None:
        self.rows = entries
        t = self.t
        widths = self._widths()
        lines = []
        for entry in entries:
            allowed = entry.verdict is Verdict.ALLOW
            before = [
                fit(entry.ts.astimezone(self.tz).strftime("%H:%M:%S"), 8),
                fit(t(f"direction.{entry.direction.value}"), 4),
            ]
            after = [
                fit(t(f"reason.{entry.reason.value}"), widths["reason"]),
                fit(clean(display_plate(entry.plate)) if entry.plate else "", 11),
                fit(t(f"category.{entry.category}") if entry.category else "", 16),
            ]
            decision = (
                fit(t(f"verdict.{entry.verdict.value}"), 8),
                "bold $success" if allowed else "bold $error",
            )
            line = Content.assemble(" ".join(before) + " ", decision, " " + " ".join(after))
            lines.append(line)
        self.query_one("#recent-rows", Static).update(Content("\n").join(lines))
