"""Run in a fresh interpreter by tests/test_audit_tui.py: the audit app verifies and exports a log with
helper processes, as it does a big log (the sizes that switch helpers on are lowered for a small one).

A fresh interpreter matters: multiprocessing starts its resource tracker once per process, and started
from inside a running Textual app (stderr replaced) it used to fail, so verification and export failed
silently in the audit screen for every log large enough to use helpers."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from checkpoint import chain, export
from checkpoint.paths import Home
from checkpoint.settings import Settings
from tui.audit.app import make_app
from tui.audit.modals import VerifyScreen
from tui.audit.screen import AuditScreen


async def drive(home: Home) -> dict[str, object]:
    chain.PARALLEL_FROM = 0
    chain.CHUNK_ROWS = 300
    export.PARALLEL_ROWS = 10
    export.SPAN_ROWS = 200
    app = make_app(home, Settings(), language="en")
    report: dict[str, object] = {}
    async with app.run_test(size=(130, 42)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("f6")
        for _ in range(1200):  # a safety net of 60 s, not a timing
            await asyncio.sleep(0.05)
            if isinstance(app.screen, VerifyScreen) and app.screen.result is not None:
                break
        screen = app.screen
        assert isinstance(screen, VerifyScreen)
        report["verified"] = None if screen.result is None else [screen.result.ok, screen.result.entries]
        await pilot.press("escape")
        await pilot.pause()
        audit = next(s for s in app.screen_stack if isinstance(s, AuditScreen))
        await pilot.press("f7")
        for _ in range(1200):  # a safety net of 60 s, not a timing
            await asyncio.sleep(0.05)
            if audit.last_export is not None:
                break
        report["export"] = audit.last_export
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(drive(Home(Path(sys.argv[1]))))))
