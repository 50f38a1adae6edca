"""The viewfinder: a small, low-resolution camera preview drawn with half-block characters, so staff
can aim the pass. Each cell shows two pixels: the upper one as the foreground of `▀`, the lower one as
its background."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

_GREYS = [Style(color=f"rgb({v},{v},{v})") for v in range(256)]


class Viewfinder(Widget):
    DEFAULT_CSS = """
    Viewfinder { width: 34; height: 10; border: round $panel; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.image: np.ndarray[Any, Any] | None = None
        self._cells: np.ndarray[Any, Any] | None = None
        self._styles: dict[tuple[int, int], Style] = {}

    def show_frame(self, image: np.ndarray[Any, Any] | None) -> None:
        self.image = image
        self._cells = None
        self.refresh()

    def _sampled(self, width: int, height: int) -> np.ndarray[Any, Any] | None:
        if self.image is None or width <= 0 or height <= 0:
            return None
        if self._cells is None or self._cells.shape != (height * 2, width):
            source = np.asarray(self.image)
            if source.ndim == 3:
                source = source.mean(axis=2)
            rows = (np.arange(height * 2) * source.shape[0] // (height * 2)).clip(0, source.shape[0] - 1)
            cols = (np.arange(width) * source.shape[1] // width).clip(0, source.shape[1] - 1)
            self._cells = source[rows][:, cols].astype(np.uint8)
        return self._cells

    def _style(self, top: int, bottom: int) -> Style:
        key = (top >> 3, bottom >> 3)  # 32 grey levels are plenty and keep the style cache small
        style = self._styles.get(key)
        if style is None:
            t, b = key[0] << 3, key[1] << 3
            style = Style(color=f"rgb({t},{t},{t})", bgcolor=f"rgb({b},{b},{b})")
            self._styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        width, height = self.content_region.width, self.content_region.height
        cells = self._sampled(width, height)
        if cells is None:
            return Strip.blank(width, self.rich_style)
        top, bottom = cells[y * 2], cells[y * 2 + 1]
        segments = [Segment("▀", self._style(int(a), int(b))) for a, b in zip(top, bottom, strict=True)]
        return Strip(segments, width)
