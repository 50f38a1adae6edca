"""Errors in the TUIs: one sentence in the staff's language, said once."""

from __future__ import annotations

from pathlib import Path

from checkpoint.loadgen import build_log
from checkpoint.paths import Home
from checkpoint.settings import Settings
from tests.tui_helpers import notices
from tui.audit.app import make_app


async def test_the_audit_on_a_damaged_log_says_so_once_in_words(tmp_path: Path) -> None:
    home = Home(tmp_path / "office").ensure()
    build_log(home.log_db, 400, stations=2, seed=6)
    with home.log_db.open("r+b") as handle:  # a failing disk: a stretch of page 2 overwritten
        handle.seek(4096)
        handle.write(b"A" * 2000)
    app = make_app(home, Settings(), language="zh")
    async with app.run_test(size=(130, 42)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        messages = notices(app)
    assert messages, "the damage must be said"
    assert all("记录文件已损坏" in m and "DatabaseError" not in m for m in messages), messages
    assert len(messages) == len(set(messages)) == 1
