"""App-wide messages: what the camera worker tells the station screen.

The worker runs in a thread and only ever posts these; it never touches a widget. The high-rate
ones (status with fps, preview frames) override `can_replace` so Textual's queue keeps only the newest
(toolong's pattern).
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class ScannerStatus(Message):
    """The camera's state: opening, live, lost, reconnecting, no_camera, ended; and frames per second."""

    def __init__(self, state: str, detail: str = "", fps: float = 0.0) -> None:
        super().__init__()
        self.state = state
        self.detail = detail
        self.fps = fps

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScannerStatus)


class ScannerPreview(Message):
    """A small grey frame for the viewfinder."""

    def __init__(self, image: Any) -> None:
        super().__init__()
        self.image = image

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScannerPreview)


class ScannerCode(Message):
    """A code was decoded from the camera (never coalesced: every code matters)."""

    def __init__(self, text: str, raw: bytes) -> None:
        super().__init__()
        self.text = text
        self.raw = raw
