"""The station application: one screen, the checkpoint at the junction.

`make_app(home, settings, ...)` builds it for the CLI and for the tests alike. The app owns
the log store (opened asynchronously at mount, retention purge applied), the trust file and the
revocation list, and the clock; the station screen collects facts and asks `policy.decide`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import ClassVar

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from checkpoint.errors import CheckpointError
from checkpoint.keys import TrustList, load_trust
from checkpoint.paths import Home
from checkpoint.revocations import RevocationList, load_list
from checkpoint.settings import Settings
from checkpoint.store import LogStore
from checkpoint.timeutil import utcnow, zone

from .base import CheckpointApp
from .screens.station import StationScreen
from .screens.station_forms import HelpScreen, translate_bindings

NO_CAMERA = ("", "none", "off", "manual")
FILE_FPS = 30.0  # a video file or image folder is replayed at this rate (a webcam sets its own)
DEMO_FPS = 10.0  # the demo feed's rate (checkpoint.cli.demo.FEED_FPS)


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
        self.startup_error: str | None = None
        self.title = settings.station.name
        translate_bindings(self, self.t)

    async def on_mount(self) -> None:
        try:
            self.store = await LogStore.open(self.home.log_db, self.settings.station.id)
            await self.store.purge(self.clock() - timedelta(days=self.settings.log.retention_days))
        except CheckpointError as exc:
            self.startup_error = exc.message
            self.exit(return_code=2)
            return
        await self.push_screen(StationScreen())
        # Everything built so far lives as long as the app: keep it out of the garbage collector's
        # full collections, which otherwise stall the event loop now and then (`checkpoint bench ui`).
        gc.collect()
        gc.freeze()

    async def on_unmount(self) -> None:
        if self.store is not None:
            await self.store.close()
            self.store = None

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.t))

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
