"""What the station's screens see of their application: the home, the settings, the translator, the
clock, the camera, the log store, the check-in service and the link to the office.

It sits below both `app.py` and the screens, so that a screen is typed against it and never imports the
app (which imports the screens): no import cycle, and no import hidden inside a function to break one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from checkpoint.checkin import CheckIn
from checkpoint.demo import FEED_FPS
from checkpoint.keys import TrustList
from checkpoint.paths import Home
from checkpoint.revocations import RevocationList
from checkpoint.settings import Settings
from checkpoint.store import LogStore
from checkpoint.timeutil import utcnow, zone

from ..base import CheckpointApp
from ..i18n import translate_bindings
from .office_link import OfficeSyncWorker

NO_CAMERA = ("", "none", "off", "manual")
FILE_FPS = 30.0  # a video file or image folder is replayed at this rate (a webcam sets its own)
DEMO_FPS = FEED_FPS  # the demo feed is replayed at the rate it was written


class StationContext(CheckpointApp):
    """The station app's state, typed for its screens (`StationApp` adds the screens and the keys)."""

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
        translate_bindings(self, self.t)  # the app's own keys, in the chosen language
