"""The station TUI syncs in the background with a real `checkpoint serve`: its entries reach the office, a
revocation made at the office reaches its verdicts, and the status line says how the link stands."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from checkpoint.models import Reason, Verdict
from checkpoint.paths import Home
from checkpoint.registry import Registry
from checkpoint.settings import load_settings
from checkpoint.timeutil import utcnow
from tests.conftest import request
from tests.netsync_support import Server, enrol, make_station, office_rows, station_rows
from tests.station_helpers import entries, open_shift, screen_text, wait_for
from tests.test_station import let_through, manual, shown_state
from tui.station.app import make_app


async def test_station_syncs_in_the_background_and_takes_a_revocation(
    office_home: Home, registry: Registry, tmp_path: Path
) -> None:
    office_home.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    server = Server(office_home).start()
    try:
        north = make_station(tmp_path, "north-gate", office_home)
        await asyncio.to_thread(enrol, office_home, north, "north-gate")
        with north.config.open("a", encoding="utf-8") as handle:
            handle.write(f'[sync]\nurl = "{server.url}"\ninterval_seconds = 5\n')
        now = utcnow()
        issued = registry.issue(
            request(valid_from=now - timedelta(days=1), valid_until=now + timedelta(days=9))
        )
        await open_shift(north)
        app = make_app(north, load_settings(north.config), camera="none", language="en")
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: "office: synced" in screen_text(app), seconds=60)
            await let_through(pilot, app, issued.payload)
            await wait_for(pilot, lambda: len(office_rows(office_home, "north-gate")) == 1, seconds=60)
            assert office_rows(office_home, "north-gate") == station_rows(north, "north-gate")

            registry.revoke(issued.data.pass_id, "lost")  # the server publishes it with the next pull
            await wait_for(pilot, lambda: app.revocations.is_revoked(issued.data.pass_id), seconds=60)
            await manual(pilot, issued.payload)
            await wait_for(pilot, lambda: shown_state(app) == "deny")
            assert [(e.verdict, e.reason) for e in entries(north)][-1] == (Verdict.DENY, Reason.REVOKED)

            await wait_for(pilot, lambda: len(office_rows(office_home, "north-gate")) == 2, seconds=60)

            server.stop()  # the network drops: the station goes on, and says what waits
            await manual(pilot, "hello")
            await wait_for(pilot, lambda: len(entries(north)) == 3)
            await wait_for(pilot, lambda: "(entries waiting: 1)" in screen_text(app), seconds=60)
            assert "office: unreachable since" in screen_text(app)
    finally:
        server.stop()
