"""The station application: one screen, the checkpoint at the junction.

`make_app(home, settings, ...)` builds it for the CLI and for the tests alike. The app owns
the log store (opened asynchronously at mount, retention purge applied), the trust file and the
revocation list, the clock and the check-in service (`checkpoint.checkin.CheckIn`); the station
screen collects facts, hands them to the service and renders what it returns.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import ClassVar

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from checkpoint.checkin import CheckIn
from checkpoint.demo import FEED_FPS
from checkpoint.errors import CheckpointError
from checkpoint.keys import TrustList, load_trust
from checkpoint.paths import Home
from checkpoint.revocations import RevocationList, load_list
from checkpoint.settings import Settings
from checkpoint.stations import station_fingerprint
from checkpoint.store import LogStore
from checkpoint.timeutil import utcnow, zone

from ..base import CheckpointApp
from .forms import HelpScreen, QuitScreen, translate_bindings
from .office_link import OfficeSyncStatus, OfficeSyncWorker
from .screen import StationScreen

NO_CAMERA = ("", "none", "off", "manual")
FILE_FPS = 30.0  # a video file or image folder is replayed at this rate (a webcam sets its own)
DEMO_FPS = FEED_FPS  # the demo feed is replayed at the rate it was written


class StationApp(CheckpointApp):
    """The checkpoint station: scan, decide, temperatures, denials, overrides, shifts."""

    CSS_PATH = "station.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        home: Home,
        settings: Settings,
        *,
        trust: TrustList,
        revocations: RevocationList,
        camera: str | None = None,
        language: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        pace_fps: float | None = None,
    ) -> None:
        super().__init__(home, settings, language=language)
        self.trust = trust
        self.revocations = revocations
        spec = settings.station.camera if camera is None else camera
        self.camera: str | None = None if spec.strip().lower() in NO_CAMERA else spec
        self.clock = clock
        self.pace_fps = pace_fps if pace_fps is not None else (DEMO_FPS if settings.demo else FILE_FPS)
        self.tz = zone(settings.ui.timezone)
        self.store: LogStore | None = None
        self.checkin: CheckIn | None = None
        self.startup_error: str | None = None
        self.title = settings.station.name
        self.office_sync = OfficeSyncWorker(self, home, settings) if settings.sync.url else None
        self._office_problem = ""
        translate_bindings(self, self.t)

    async def on_mount(self) -> None:
        try:
            self.store = await LogStore.open(self.home.log_db, self.settings.station.id)
            await self.store.purge(self.clock() - timedelta(days=self.settings.log.retention_days))
        except CheckpointError as exc:
            # A log that cannot be opened: one sentence with what to do, as the README promises.
            damaged = self.home.log_db.exists() and "damaged" in exc.message
            self.startup_error = self.t("log.open_damaged", path=self.home.log_db) if damaged else exc.message
            self.exit(return_code=2)
            return
        self.checkin = CheckIn(
            self.store,
            self.trust,
            self.revocations,
            self.settings.station,
            clock=self.clock,
            looping_feed=self.settings.demo and self.camera is not None,
        )
        await self.push_screen(StationScreen())
        if self.office_sync is not None:
            self.office_sync.start()
        # Everything built so far lives as long as the app: keep it out of the garbage collector's
        # full collections, which otherwise stall the event loop now and then (`checkpoint bench ui`).
        gc.collect()
        gc.freeze()

    async def on_office_sync_status(self, message: OfficeSyncStatus) -> None:
        """Take what the exchange brought (the screen decides with these from the next vehicle on)."""
        report = message.report
        if report is not None and report.revocations is not None:
            self.revocations = report.revocations
        if report is not None and report.trust is not None:
            self.trust = load_trust(self.home.trust)
        if report is not None and self.checkin is not None:
            self.checkin.take(
                trust=self.trust if report.trust is not None else None, revocations=report.revocations
            )
        link = message.link
        if link.refused and link.problem != self._office_problem:
            self.notify(self.t("notify.office_refused", problem=link.problem), severity="error", markup=False)
        self._office_problem = link.problem if link.refused else ""
        head = 0 if self.store is None else (await self.store.head())[0]
        for screen in self.screen_stack:
            if isinstance(screen, StationScreen):
                screen.show_office(link, head)

    async def on_unmount(self) -> None:
        if self.office_sync is not None:
            self.office_sync.stop()
        if self.store is not None:
            await self.store.close()
            self.store = None

    async def action_quit(self) -> None:
        """Ctrl+Q (and the palette's Quit): at once when nothing is lost; while a shift is open or a
        vehicle is being checked, ask first (issue 14 item 7)."""
        checkin = self.checkin
        if isinstance(self.screen, QuitScreen):
            self.exit()
            return
        lines = []
        if checkin is not None and checkin.pending is not None:
            lines.append(self.t("quit.checking"))
        if checkin is not None and checkin.open is not None:
            shift = checkin.open.shift
            lines.append(self.t("quit.open_shift", operator=shift.operator, leader=shift.leader))
        if not lines:
            self.exit()
            return

        def answered(result: object) -> None:
            if result is True:
                self.exit()

        self.push_screen(QuitScreen(self.t, lines), callback=answered)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            try:
                found = station_fingerprint(self.home.station_key)
            except CheckpointError:
                found = None
            note = self.t("help.fingerprint", fingerprint=found) if found else self.t("help.no_fingerprint")
            self.push_screen(HelpScreen(self.t, note))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        station = next((s for s in self.screen_stack if isinstance(s, StationScreen)), None)
        if station is None:
            return
        t = self.t
        for action in ("direction", "no_pass", "override", "viewfinder", "handover", "clear", "manual"):
            yield SystemCommand(
                t(f"key.{action}"), t(f"palette.{action}"), getattr(station, f"action_{action}")
            )


def make_app(
    home: Home,
    settings: Settings,
    *,
    camera: str | None = None,
    language: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    pace_fps: float | None = None,
) -> StationApp:
    """The station app for this home. Raises CheckpointError (one sentence) when the home cannot
    verify passes (no trust file, a damaged revocation list)."""
    if not home.is_configured():
        raise CheckpointError(
            f"{home.root} has no trust file; import the office's trust file "
            "(checkpoint keys import-trust FILE) or try the demo (checkpoint demo DIR)."
        )
    trust = load_trust(home.trust)
    revocations = load_list(home.revocations, trust)
    return StationApp(
        home,
        settings,
        trust=trust,
        revocations=revocations,
        camera=camera,
        language=language,
        clock=clock,
        pace_fps=pace_fps,
    )
