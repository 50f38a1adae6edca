"""The station's background exchange with the office (`sync.url`): one thread worker, never in a verdict's way.

Every `sync.interval_seconds`, and at once after a handover (with the new seal), the worker runs
`checkpoint.netsync.sync_once` — network, export and imports all in its own thread — and reports an
`OfficeSyncStatus` message. The app takes a new revocation list or trust file from it and the station
screen shows the link (`office: synced 40 s ago`, `office: unreachable since 10:05 (23 entries waiting)`).
A verdict never waits for any of this: the screen decides with the lists the app holds at that moment.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.worker import get_current_worker

from checkpoint.errors import CheckpointError
from checkpoint.keys import load_trust
from checkpoint.netsync import NetSyncReport, OfficeClient, OfficeLink, sync_once
from checkpoint.receipts import receipted_seq
from checkpoint.timeutil import utcnow

if TYPE_CHECKING:
    from textual.app import App

    from checkpoint.paths import Home
    from checkpoint.settings import Settings


class OfficeSyncStatus(Message):
    """One exchange with the office is over: how the link stands, and what the exchange brought."""

    def __init__(self, link: OfficeLink, report: NetSyncReport | None) -> None:
        super().__init__()
        self.link = link
        self.report = report


class OfficeSyncWorker:
    """Starts, wakes and stops the worker that syncs with the office."""

    def __init__(self, app: App[Any], home: Home, settings: Settings) -> None:
        self.app = app
        self.home = home
        self.settings = settings
        self._wake = threading.Event()
        self._seals = False
        self._stopped = False
        sync = settings.sync
        self.client = OfficeClient(sync.url, fingerprint=sync.tls_fingerprint, timeout=sync.timeout_seconds)

    def start(self) -> None:
        self.app.run_worker(
            self._run,
            name="office-sync",
            group="office-sync",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def now(self, *, seals: bool = False) -> None:
        """Sync at once (after a handover: `seals`, so the new seal travels even with no new entry)."""
        self._seals = self._seals or seals
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        self.client.abort()  # a request in flight ends now: quitting never waits for the office

    def _run(self) -> None:
        worker = get_current_worker()
        station_id = self.settings.station.id
        link = OfficeLink(covered=receipted_seq(self.home.root, station_id, load_trust(self.home.trust)))
        while not (self._stopped or worker.is_cancelled):
            seals, self._seals = self._seals, False
            self._wake.clear()
            report: NetSyncReport | None = None
            try:
                report = sync_once(self.home, self.settings, seals=seals, client=self.client)
                link = link.synced(utcnow(), report)
            except CheckpointError as exc:
                link = link.failed(utcnow(), exc)
            except Exception as exc:  # never let the worker die: the next interval tries again
                link = link.failed(utcnow(), CheckpointError(f"{type(exc).__name__}: {exc}"))
            if self._stopped or worker.is_cancelled:
                return
            self.app.post_message(OfficeSyncStatus(link, report))
            self._wake.wait(self.settings.sync.interval_seconds)
