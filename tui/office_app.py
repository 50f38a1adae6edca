"""The office application: issue, find, revoke and renew passes; hand stations the trust file and the
revocation list; rotate the signing key.

`make_app(home, settings, ...)` builds it for the CLI and the tests alike. The app owns the
pass register (sync sqlite3: one desktop, one person) and the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar

from textual.binding import Binding, BindingType

from checkpoint.batch import renew
from checkpoint.errors import CheckpointError
from checkpoint.keys import Keyring, OfficeKey, save_trust
from checkpoint.paths import Home
from checkpoint.registry import IssuedPass, PassRequest, Registry
from checkpoint.revocations import RevocationList, save_list
from checkpoint.settings import Settings
from checkpoint.timeutil import utcnow, zone

from .base import CheckpointApp
from .screens.office import PassListScreen, translate_office_bindings


class OfficeApp(CheckpointApp):
    """The issuing office: the pass list is the main screen; everything else opens from it."""

    CSS_PATH = "office.tcss"
    # A terminal under 100 columns stacks the issue form above its card preview (office.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012 (Textual reads it)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        home: Home,
        settings: Settings,
        *,
        registry: Registry,
        keyring: Keyring,
        language: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(home, settings, language=language)
        self.registry = registry
        self.keyring = keyring
        self.clock = clock
        self.tz = zone(settings.ui.timezone)
        self.title = self.t("office.title", office=settings.office.name)
        translate_office_bindings(self, self.t)

    def on_mount(self) -> None:
        self.push_screen(PassListScreen())

    def on_unmount(self) -> None:
        self.registry.close()

    def action_help(self) -> None:
        from .screens.office_forms import OfficeHelpScreen

        self.push_screen(OfficeHelpScreen())

    # -- what the screens ask of the office (one place, so tests and screens agree) -------------
    def issue(self, request: PassRequest) -> IssuedPass:
        return self.registry.issue(request, now=self.clock())

    def revoke(self, pass_id: str, reason: str) -> tuple[IssuedPass, RevocationList]:
        issued = self.registry.revoke(pass_id, reason, now=self.clock())
        return issued, self.publish()

    def renew(
        self, pass_id: str, valid_from: datetime, valid_until: datetime
    ) -> tuple[IssuedPass, IssuedPass]:
        old, new = renew(
            self.registry, pass_id, valid_from=valid_from, valid_until=valid_until, now=self.clock()
        )
        self.publish()
        return old, new

    def publish(self) -> RevocationList:
        """Sign the next revocation list (as of the app's clock) and make it this home's own list."""
        rlist = self.registry.revocation_list(self.settings.office.name, now=self.clock())
        save_list(self.home.revocations, rlist)
        return rlist

    def export_files(self, folder: Path) -> tuple[Path, Path, RevocationList]:
        """Write trust.json and revocations.json (a newly signed list) into `folder`."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(f"Cannot create the folder {folder}: {exc.strerror}.") from exc
        trust_path, list_path = folder / "trust.json", folder / "revocations.json"
        save_trust(trust_path, self.keyring.trust_list())
        rlist = self.publish()
        save_list(list_path, rlist)
        return trust_path, list_path, rlist

    def rotate_key(self) -> tuple[OfficeKey, OfficeKey]:
        old, new = self.keyring.rotate(timedelta(days=self.settings.office.key_grace_days), now=self.clock())
        save_trust(self.home.trust, self.keyring.trust_list())
        return old, new


def make_app(
    home: Home,
    settings: Settings,
    *,
    language: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> OfficeApp:
    """The office app for this home. Raises CheckpointError (one sentence) when it has no office keys."""
    keyring = Keyring(home.office_keys, settings.office.name)
    if not keyring.exists():
        raise CheckpointError(
            f"{home.root} has no office keys; run `checkpoint keys init` in the office's home first."
        )
    registry = Registry(home.registry, keyring)
    return OfficeApp(home, settings, registry=registry, keyring=keyring, language=language, clock=clock)
