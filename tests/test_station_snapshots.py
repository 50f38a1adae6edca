"""Snapshots of the station screen, English and Chinese, at 120×40 and at 80×24.

The clock is frozen (tests.conftest.NOW), the camera is off (manual mode: no preview pictures), the
cursor does not blink, and nothing random is on screen (pass ids and keys are not shown), so the
pictures are stable. Regenerate on purpose with `pytest --snapshot-update tests/test_station_snapshots.py`.
"""

from __future__ import annotations

import asyncio

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from checkpoint.models import Category
from checkpoint.paths import Home
from tests.station_helpers import open_shift, station_app, wait_for
from tui.station.verdict import VerdictPanel


async def _still(pilot: Pilot[None]) -> None:
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def _scenario(payload: str):  # type: ignore[no-untyped-def]
    """A WeChat code turned away, then a medical pass checked with two temperatures and allowed."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        manual = pilot.app.screen.query_one("#manual", Input)
        manual.value = "https://weixin.qq.com/r/mJzX3bHE"
        await pilot.press("enter")
        await pilot.pause()
        manual.value = payload
        await pilot.press("enter")
        await pilot.pause()
        manual.value = "36.6 36.9"  # the check: temperatures in the same line, Enter = plate matches
        await pilot.press("enter")
        panel = pilot.app.screen.query_one(VerdictPanel)
        await wait_for(pilot, lambda: not panel.has_class("flash"))  # past the DENY flash of the first code
        await _still(pilot)

    return run_before


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_station_screen(
    snap_compare, station_home: Home, issue, language: str, size: tuple[int, int]
) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(open_shift(station_home))
    issued = issue(plate="鄂A12345", holder="张三", org="县人民医院", category=Category.MEDICAL)
    app = station_app(station_home, language=language)
    assert snap_compare(app, terminal_size=size, run_before=_scenario(issued.payload))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_sign_in_screen(snap_compare, station_home: Home, language: str) -> None:  # type: ignore[no-untyped-def]
    app = station_app(station_home, language=language)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_still)
