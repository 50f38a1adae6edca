"""Snapshots of the audit screen, English and Chinese, at 120×40 and on a small laptop screen (80×24). The
sample log has fixed times and plates, the cursor does not blink. Regenerate on purpose with
`pytest --snapshot-update tests/test_audit_snapshots.py`."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from checkpoint.paths import Home
from checkpoint.settings import Settings
from tests.test_audit_data import build_sample
from tui.audit.app import make_app


async def _settled(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("language", ["en", "zh"])
def test_audit_screen(snap_compare, tmp_path: Path, language: str) -> None:  # type: ignore[no-untyped-def]
    home = Home(tmp_path / "office").ensure()
    build_sample(home.log_db)
    app = make_app(home, Settings(), language=language)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_settled)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_audit_screen_80x24(snap_compare, tmp_path: Path, language: str) -> None:  # type: ignore[no-untyped-def]
    """The compact filter bar, the columns an auditor needs most (whole headers, one cell apart) and no chart,
    so that every entry of the sample is on screen."""
    home = Home(tmp_path / "office").ensure()
    build_sample(home.log_db)
    app = make_app(home, Settings(), language=language)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_settled)
