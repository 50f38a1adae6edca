"""The hourly traffic chart: 24 columns of block characters, allowed and turned back, one day."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.widgets import Static

from checkpoint.audit import HourCount

_BLOCKS = " ▁▂▃▄▅▆▇█"


def chart_lines(hours: Sequence[HourCount], height: int = 4) -> list[tuple[str, str]]:
    """Rows of (allowed part, denied part) from top to bottom, each hour 3 columns wide."""
    peak = max((h.total for h in hours), default=0) or 1
    rows: list[tuple[str, str]] = []
    for level in range(height, 0, -1):
        allowed_row = []
        denied_row = []
        for h in hours:
            total = h.total * height * 8 / peak
            allowed = (h.total - h.denied) * height * 8 / peak
            # eighths of this row filled by the whole bar, and by its allowed part
            full = min(8, max(0, round(total - (level - 1) * 8)))
            ok = min(full, max(0, round(allowed - (level - 1) * 8)))
            allowed_row.append(_BLOCKS[ok] * 2 + " " if ok == full else " " * 3)
            denied_row.append(" " * 3 if ok == full else _BLOCKS[full] * 2 + " ")
        rows.append(("".join(allowed_row), "".join(denied_row)))
    return rows


class HourlyChart(Static):
    """Traffic per local hour for one day; allowed in the success colour, turned back in the error one."""

    DEFAULT_CSS = """
    HourlyChart { height: auto; padding: 0 1; }
    """

    def show(self, title: str, hours: Sequence[HourCount]) -> None:
        lines = [Content(title).stylize("bold")]
        for allowed, denied in chart_lines(hours):
            parts = []
            for a, d in zip(allowed, denied, strict=True):
                # block characters and spaces only: trusted, no markup in them
                parts.append(f"[$error]{d}[/]" if d != " " else (f"[$success]{a}[/]" if a != " " else " "))
            lines.append(Content.from_markup("".join(parts)))
        lines.append(Content("".join(f"{h.hour:02d} " for h in hours)).stylize("dim"))
        self.update(Content("\n").join(lines))
