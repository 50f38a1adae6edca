"""Helpers for the station tests: a frozen clock, an open shift, reading the log back, waiting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from textual.pilot import Pilot

from checkpoint.paths import Home
from checkpoint.settings import load_settings
from checkpoint.store import ENTRY_COLUMNS, Entry, LogStore, Shift, entry_from_row, open_reader
from tests.conftest import NOW
from tui.station.app import StationApp, make_app

STATION_ID = "north-gate"


async def open_shift(home: Home, operator: str = "李四", leader: str = "王五") -> None:
    """A shift already signed in (as after a restart), so the camera's codes are taken at once."""
    store = await LogStore.open(home.log_db, STATION_ID)
    try:
        await store.start_shift(Shift(operator, leader), now=NOW)
    finally:
        await store.close()


class Clock:
    """A clock the test moves on by hand (no sleeping): `clock()` is now, `clock.advance(s)` moves it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def station_app(
    home: Home,
    *,
    camera: str = "none",
    language: str = "en",
    clock: Callable[[], datetime] | None = None,
) -> StationApp:
    return make_app(
        home,
        load_settings(home.config),
        camera=camera,
        language=language,
        clock=clock or (lambda: NOW),
    )


def entries(home: Home) -> list[Entry]:
    if not home.log_db.exists():
        return []
    conn = open_reader(home.log_db)
    try:
        rows = conn.execute(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [entry_from_row(row) for row in rows]


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], *, seconds: float = 30.0) -> None:
    """Let the app run until `condition` holds (the limit is a safety net, not a timing assertion)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the station did not get there")


def screen_text(app: StationApp) -> str:
    """Every Static's text on the current screen and below it (what a person would read)."""
    from textual.widgets import Static

    parts = []
    for screen in app.screen_stack:
        for widget in screen.query(Static):
            rendered = widget.render()
            parts.append(getattr(rendered, "plain", str(rendered)))
    return "\n".join(parts)


def feed_path(tmp_path: Path, name: str = "feed.avi") -> Path:
    return tmp_path / name
