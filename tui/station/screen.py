"""The station screen: the checkpoint at the junction.

It collects facts and renders outcomes; the check-in flow itself — intake, decide, check, decide again,
append, overrides, counters, shifts — is `checkpoint.checkin.CheckIn` (documented in docs/station.md):

* a code from the camera worker (`ScannerCode`) or the manual-entry line (a USB barcode scanner types
  the text and Enter the same way) goes to `CheckIn.code` / `CheckIn.typed`;
* `Checking` shows CHECK and turns the manual-entry line into the temperatures line; Enter, F3 and Esc
  there are `CheckIn.check_typed`, `mismatch` and `cancel`;
* `Recorded` is shown only after the service appended the entry; F4 hands the one denial on screen
  (`CheckIn.override_target`) to the override dialog, which names it;
* `ClockBehind` asks staff before anything is decided; `NotRecorded` says NOT RECORDED and what to do.

The screen never decides or counts by itself, and every entry is in the log before its verdict shows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from checkpoint.checkin import (
    MAX_NAME,
    Cancelled,
    CheckIn,
    Checking,
    CheckProblem,
    ClockBehind,
    Ignored,
    NotRecorded,
    Outcome,
    OverrideRefused,
    Recorded,
    Vehicle,
)
from checkpoint.errors import CheckpointError
from checkpoint.keys import load_or_create_station_key
from checkpoint.models import Direction, Verdict
from checkpoint.netsync import OfficeLink
from checkpoint.store import LogError, LogStore, Shift
from checkpoint.text import cell_width, clean
from checkpoint.timeutil import fmt_local
from scanner.spec import camera_index

from ..base import WorkerErrors
from ..messages import ScannerCode, ScannerPreview, ScannerStatus
from ..safe import plain
from .forms import (
    ClockScreen,
    HandoverScreen,
    NoPass,
    NoPassScreen,
    OverrideForm,
    OverrideScreen,
    SignIn,
    SignInScreen,
    translate_bindings,
)
from .keys import KeyBar
from .recent import RecentEntries
from .verdict import Shown, VerdictPanel
from .viewfinder import Viewfinder

if TYPE_CHECKING:
    from .app import StationApp

RECENT = 50


class StationScreen(WorkerErrors, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "direction", "In/Out"),
        Binding("f3", "mismatch", "Plate mismatch"),
        Binding("f3", "no_pass", "No pass"),
        Binding("escape", "cancel_check", "Cancel"),  # before the others: a narrow key bar keeps it
        Binding("escape", "clear", "Clear"),
        Binding("f4", "override", "Override"),
        Binding("f5", "viewfinder", "Viewfinder"),
        Binding("f8", "handover", "Handover"),
        Binding("f6", "manual", "Type a pass", show=False),
    ]

    direction: reactive[Direction] = reactive(Direction.IN)

    def __init__(self) -> None:
        super().__init__()
        self.camera_state = "no_camera"
        self.camera_fps = 0.0
        self._camera_problem = ""
        self._binding_state: tuple[bool | None, ...] = ()
        self.recorded = 0  # entries this screen showed as logged (tests and the benchmark read it)
        self._office: tuple[OfficeLink, int] | None = None  # the link to the office, the log's head then

    @property
    def station(self) -> StationApp:
        return self.app  # type: ignore[return-value]

    @property
    def checkin(self) -> CheckIn:
        """The station's check-in service (checkpoint.checkin): every vehicle goes through it."""
        checkin = self.station.checkin
        assert checkin is not None
        return checkin

    @property
    def store(self) -> LogStore:
        store = self.station.store
        assert store is not None
        return store

    @property
    def shift(self) -> Shift | None:
        return None if self.checkin.open is None else self.checkin.open.shift

    @property
    def pending(self) -> Vehicle | None:
        """The vehicle being checked (a valid pass waiting for its temperatures)."""
        return self.checkin.pending

    # ----------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        app = self.station
        translate_bindings(self, app.t)
        with Horizontal(id="status"):
            if app.settings.demo:
                yield Static(app.t("app.demo"), id="demo")
            yield Static(plain(app.settings.station.name, limit=30), id="station-name")
            yield Static(id="direction")
            yield Static(id="camera")
            yield Static(id="clock")
        with Horizontal(id="status2"):
            yield Static(id="shift")
            yield Static(id="revocations")
            yield Static(id="office")
            yield Static(id="clock-warning")
        with Horizontal(id="main"):
            yield VerdictPanel(app.t, app.tz, id="verdict")
            with Vertical(id="side"):
                yield Viewfinder(id="viewfinder")
                yield Static(id="counters")
        yield Input(id="manual", placeholder=app.t("station.manual_hint"), compact=True)
        yield RecentEntries(app.t, app.tz, id="recent")
        yield KeyBar(app.t("key.command_palette"), id="keys")

    async def on_mount(self) -> None:
        app = self.station
        self.query_one(Viewfinder).display = app.settings.station.viewfinder and app.camera is not None
        self.camera_state = "opening" if app.camera is not None else "no_camera"
        try:
            await self.checkin.resume()
            await self._load_log()
        except CheckpointError as exc:  # a damaged log: one sentence on the way out, no traceback
            if isinstance(exc, LogError) and exc.kind == "damaged":  # what to do, in their language
                app.startup_error = app.t("log.open_damaged", path=exc.path)
            else:
                app.startup_error = self._log_problem(exc)
            app.exit(return_code=2)
            return
        self.tick()
        self.set_interval(1.0, self.tick)
        self.set_interval(0.5, self._release_waiting)
        self._bindings_changed()
        self._show_status()
        self.query_one("#manual", Input).focus()
        if app.camera is not None:
            self.run_camera(app.camera)
        if self.shift is None:
            self.ask_sign_in()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "narrow")
        self.set_class(self.size.height < 32, "short")

    # ----------------------------------------------------------------- status line

    def _set(self, selector: str, content: Content) -> Static:
        """Update a status item only when its text changed; lay out again only when its width did
        (a layout pass of the whole screen is the costliest thing the event loop does here)."""
        widget = self.query_one(selector, Static)
        old = widget.content
        if isinstance(old, Content) and old.plain == content.plain:
            return widget
        same_width = isinstance(old, Content) and old.cell_length == content.cell_length
        widget.update(content, layout=not same_width)
        return widget

    def watch_direction(self, direction: Direction) -> None:
        if self.station.checkin is not None:
            self.checkin.direction = direction
        if self.is_mounted:
            self._show_status()

    def _show_status(self) -> None:
        t = self.station.t
        direction = self._set(
            "#direction", Content(f" {t('field.direction')}: {t(f'direction.{self.direction.value}')} ")
        )
        direction.set_class(self.direction is Direction.OUT, "out")
        camera = t("status.camera", state=t(f"camera.{self.camera_state}"))
        if self.camera_state == "live":
            camera += " " + t("status.fps", fps=f"{self.camera_fps:.0f}")
        widget = self._set("#camera", Content(camera))
        for state in _CAMERA_STATES:
            widget.set_class(self.camera_state == state, state)
        shift = self.query_one("#shift", Static)
        if self.shift is None:
            shift.update(Content(t("status.no_shift")))
        else:
            shift.update(  # names are capped at sign-in; an older log's are cut here
                plain(
                    t(
                        "status.shift",
                        operator=clean(self.shift.operator, limit=MAX_NAME),
                        leader=clean(self.shift.leader, limit=MAX_NAME),
                    ),
                    limit=2 * MAX_NAME + 16,
                )
            )
        shift.set_class(self.shift is None, "warn")

    def tick(self) -> None:
        """Once a second: the clock, the age of the revocation list, the clock-earlier warning."""
        app = self.station
        t = app.t
        now = app.clock()
        self._set("#clock", Content(now.astimezone(app.tz).strftime("%H:%M:%S")))
        issued = app.revocations.issued_at
        if issued is None:
            widget = self._set("#revocations", Content(t("status.revocations_none")))
            widget.set_class(True, "warn")
        else:
            age = now - issued
            widget = self._set("#revocations", Content(t("status.revocations", age=self.age(age))))
            widget.set_class(age > timedelta(days=2), "warn")
        self._show_office()
        behind = self.checkin.clock_behind()
        warning = self._set("#clock-warning", Content(t("status.clock_behind")) if behind else Content(""))
        if warning.display != behind:
            warning.display = behind

    async def _release_waiting(self) -> None:
        """A camera pass that came while a verdict was held is taken once the hold is over."""
        if self.app.screen is self and self.checkin.waiting is not None:
            await self.render_outcome(await self.checkin.release())

    def show_office(self, link: OfficeLink, head: int) -> None:
        """The background sync reported (see tui.office_link): show how the link to the office stands."""
        self._office = (link, head)
        self._show_office()

    def _show_office(self) -> None:
        widget = self.query_one("#office", Static)
        if self._office is None:
            widget.display = False
            return
        link, head = self._office
        t, now = self.station.t, self.station.clock()
        if link.down_since is not None:
            key = "status.office_refused" if link.refused else "status.office_unreachable"
            key += "_short" if self.size.width < 100 else ""  # the whole line within 80 columns
            since = link.down_since.astimezone(self.station.tz).strftime("%H:%M")
            text = t(key, since=since, n=link.waiting(head))
        elif link.synced_at is not None:
            text = t("status.office_synced", age=self.age(now - link.synced_at))
        else:
            text = t("status.office_never")
        widget.display = True
        self._set("#office", Content(text)).set_class(link.down_since is not None, "warn")

    def age(self, delta: timedelta) -> str:
        t = self.station.t
        seconds = int(delta.total_seconds())
        if seconds < 0:
            return t("age.future")
        if seconds < 90:
            return t("age.s", n=seconds)
        if seconds < 90 * 60:
            return t("age.min", n=seconds // 60)
        if seconds < 48 * 3600:
            return t("age.h", n=seconds // 3600)
        return t("age.d", n=seconds // 86400)

    # ----------------------------------------------------------------- camera

    @work(thread=True, exclusive=True, exit_on_error=False, group="camera")
    def run_camera(self, spec: str) -> None:
        """Wait for the scanner's events (it runs in a child process, see scanner.supervisor) and
        report them as messages; this thread never touches a widget."""
        from scanner.supervisor import scan_in_child

        worker = get_current_worker()
        settings = self.station.settings.station
        options = {
            "decoder": settings.decoder,
            "duplicate_seconds": settings.duplicate_seconds,
            "preview": (64, 48),
            "pace_fps": self.station.pace_fps,  # a video file plays at camera speed, not as fast as it decodes
            "loop": self.station.settings.demo,  # the demo feed starts again at its end
        }

        def deliver(event: tuple[Any, ...]) -> None:
            if event[0] == "code":
                self.post_message(ScannerCode(str(event[1]), bytes(event[2])))
            elif event[0] == "preview":
                self.post_message(ScannerPreview(event[1]))
            elif event[0] == "status":
                self.post_message(ScannerStatus(str(event[1]), str(event[2]), float(event[3])))

        scan_in_child(spec, options, deliver, lambda: worker.is_cancelled)

    def on_scanner_status(self, message: ScannerStatus) -> None:
        self.camera_state = message.state if message.state in _CAMERA_STATES else "lost"
        if (
            message.state == "no_camera"
            and self.station.camera
            and camera_index(self.station.camera) is not None
        ):
            self.camera_state = "waiting"  # a webcam is tried again and again until it is plugged in
        self.camera_fps = message.fps
        if message.state == "no_camera":
            self.query_one(Viewfinder).display = False
        if (
            message.state in ("no_camera", "lost")
            and message.detail
            and message.detail != self._camera_problem
        ):
            self._camera_problem = message.detail  # say why once, not at every retry
            t = self.station.t
            said = (  # the scanner's own sentence is English: a missing webcam is said in the staff's words
                t("notify.camera_waiting", camera=self.station.camera)
                if self.camera_state == "waiting"
                else t("notify.camera", detail=message.detail)
            )
            self.app.notify(
                clean(said, limit=300),
                severity="warning",
                timeout=10,
                markup=False,
            )
        self._show_status()

    def on_scanner_preview(self, message: ScannerPreview) -> None:
        viewfinder = self.query_one(Viewfinder)
        if viewfinder.display:
            viewfinder.show_frame(message.image)

    async def on_scanner_code(self, message: ScannerCode) -> None:
        await self.submit_code(message.text, message.raw, scanned=True)

    # ----------------------------------------------------------------- manual entry

    @on(Input.Submitted, "#manual")
    async def _manual(self, event: Input.Submitted) -> None:
        text = event.value
        event.input.clear()
        outcome = await self.checkin.typed(text, form_open=self.app.screen is not self)
        if isinstance(outcome, CheckProblem):
            event.input.value = text.strip()  # keep what was typed, selected: correct it or type over it
            event.input.select_all()
        await self.render_outcome(outcome, retry=lambda: self.checkin.typed(text))

    def action_manual(self) -> None:
        self.query_one("#manual", Input).focus()

    # ----------------------------------------------------------------- the flow (checkpoint.checkin)

    async def submit_code(self, text: str, raw: bytes, *, scanned: bool = False) -> None:
        """A code arrived (camera, USB scanner or typed): the check-in service says what happens."""
        outcome = await self.checkin.code(text, raw, scanned=scanned, form_open=self.app.screen is not self)
        await self.render_outcome(outcome, retry=lambda: self.checkin.code(text, raw, scanned=scanned))

    async def render_outcome(
        self, outcome: Outcome | None, *, retry: Callable[[], Awaitable[Outcome]] | None = None
    ) -> None:
        """Show what the service returned; the screen itself decides nothing."""
        t = self.station.t
        panel = self.query_one(VerdictPanel)
        if outcome is None:
            return
        if isinstance(outcome, Ignored):
            if outcome.kind == "not_checking":
                panel.show(Shown("idle", message=t("notify.no_check")))
                self.app.bell()
            elif outcome.tell and outcome.kind in ("busy", "sign_in_first"):
                self.app.notify(t(f"notify.{outcome.kind}"), severity="warning", markup=False)
            self._bindings_changed()
        elif isinstance(outcome, Checking):
            self._show_check(outcome)
        elif isinstance(outcome, Recorded):
            self._end_check_line()
            await self._show_recorded(outcome)
        elif isinstance(outcome, NotRecorded):
            self._end_check_line()
            message = self._log_problem(outcome.error)
            panel.show(Shown("error", message=message))
            self.app.bell()
            self.app.notify(message, severity="error", timeout=15, markup=False)
            self._bindings_changed()
        elif isinstance(outcome, CheckProblem):
            panel.say(t(outcome.key, **outcome.values))
            self.app.bell()
        elif isinstance(outcome, Cancelled):
            self._end_check_line()
            panel.show(Shown("idle", message=t("station.cancelled")))
            self._bindings_changed()
        elif isinstance(outcome, OverrideRefused):
            self.app.notify(t("override.stale"), severity="warning", markup=False)
            self._bindings_changed()
        elif isinstance(outcome, ClockBehind):
            self._ask_clock(outcome, retry)

    def _ask_clock(self, behind: ClockBehind, retry: Callable[[], Awaitable[Outcome]] | None) -> None:
        """The clock is earlier than the log: staff confirm before the station decides (issue 11)."""
        if isinstance(self.app.screen, ClockScreen):
            return
        app = self.station

        async def answered(result: object) -> None:
            if result is True:
                self.checkin.confirm_clock()
                if retry is not None:
                    await self.render_outcome(await retry())

        self.app.bell()
        self.app.push_screen(
            ClockScreen(
                app.t,
                fmt_local(behind.now, app.tz, seconds=True),
                fmt_local(behind.newest, app.tz, seconds=True),
            ),
            callback=answered,
        )

    def _show_check(self, checking: Checking) -> None:
        app = self.station
        data = checking.decision.pass_data
        assert data is not None
        self.query_one(VerdictPanel).show(
            Shown(
                "check",
                plate=data.plate,
                category=data.category,
                holder=data.holder,
                org=data.org,
                valid_from=data.valid_from,
                valid_until=data.valid_until,
                direction=checking.vehicle.facts.direction,
                warnings=checking.decision.warnings,
            )
        )
        # The check happens in the manual-entry line, which already has the focus: no panel to
        # open, no layout pass, no focus change (the event loop's longest stall is what staff feel).
        manual = self.query_one("#manual", Input)
        # At 80 columns the long hint would be cut; the key bar below still names F3 and Esc.
        hint = "check.manual_hint_short" if self.size.width < 100 else "check.manual_hint"
        manual.placeholder = app.t(hint, most=data.max_occupants)
        manual.add_class("checking")
        if self.app.focused is not manual:
            manual.focus()  # the temperatures go where the focus is (a camera scan may come at any time)
        self._bindings_changed()

    def _end_check_line(self) -> None:
        manual = self.query_one("#manual", Input)
        if manual.has_class("checking"):
            manual.placeholder = self.station.t("station.manual_hint")
            manual.remove_class("checking")
            manual.value = ""

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """While a vehicle is checked the focus stays in the line that takes its temperatures, so that
        Enter, F3 and Esc and what is typed always reach the check (Tab does not lose it)."""
        manual = self.query_one("#manual", Input)
        if self.pending is not None and event.widget is not manual:
            manual.focus()

    async def _show_recorded(self, recorded: Recorded) -> None:
        """The entry is in the log (the service appended it): show the verdict."""
        self.recorded += 1
        self._show_entry(recorded)
        if recorded.decision.verdict is Verdict.DENY:
            if self.station.settings.station.bell:
                self.app.bell()
            panel = self.query_one(VerdictPanel)
            panel.add_class("flash")
            self.set_timer(0.4, lambda: panel.remove_class("flash"))
        await self.refresh_log()
        self._bindings_changed()

    def _show_entry(self, recorded: Recorded) -> None:
        vehicle, decision, entry = recorded.vehicle, recorded.decision, recorded.entry
        data = decision.pass_data
        shown = Shown(
            "allow" if decision.allowed else "deny",
            reason=decision.reason,
            denied_for=decision.denied_for,
            warnings=decision.warnings,
            plate=data.plate if data is not None else vehicle.plate,
            category=data.category if data is not None else None,
            holder=data.holder if data is not None else None,
            org=data.org if data is not None else None,
            valid_from=data.valid_from if data is not None else None,
            valid_until=data.valid_until if data is not None else None,
            occupants=vehicle.facts.occupants,
            temperatures=vehicle.facts.temperatures,
            fever_threshold=self.checkin.rules.fever_threshold,
            direction=vehicle.facts.direction,
            code=vehicle.code if data is None and vehicle.code is not None else None,
            note=(self.station.t(f"vehicle.{vehicle.vehicle}") + " · " + vehicle.note)
            if vehicle.vehicle and vehicle.note
            else vehicle.note,
            override_by=None if entry is None else entry.override_by,
            override_reason=None if entry is None else entry.override_reason,
            at=None if entry is None else entry.ts,
        )
        self.query_one(VerdictPanel).show(shown)

    # ----------------------------------------------------------------- log view

    async def refresh_log(self) -> None:
        """Recent entries and counters again; a log that cannot be read is said, not raised."""
        try:
            await self._load_log()
        except CheckpointError as exc:
            self.app.notify(self._log_problem(exc), severity="error", timeout=15, markup=False)

    async def _load_log(self) -> None:
        app = self.station
        entries = await self.store.recent(RECENT, station_id=app.settings.station.id)
        self.query_one(RecentEntries).show(entries)
        counters = await self.checkin.counters(app.tz)
        self._show_counters(counters.shift, counters.day)

    def _show_counters(self, shift: dict[str, int] | None, day: dict[str, int]) -> None:
        t = self.station.t
        heads = ("", t("counters.shift"), t("counters.day"))
        rows = [heads] + [
            (t(f"counters.{key}"), "-" if shift is None else str(shift[key]), str(day[key]))
            for key in ("in", "out", "denied", "fevers")
        ]
        widths = [max(cell_width(row[i]) for row in rows) for i in range(3)]
        lines = []
        for row in rows:
            label = row[0] + " " * (widths[0] - cell_width(row[0]))
            values = "  ".join(" " * (widths[i] - cell_width(row[i])) + row[i] for i in (1, 2))
            lines.append(f"{label}  {values}")
        self.query_one("#counters", Static).update(Content("\n".join(lines)), layout=False)  # always 5 lines

    # ----------------------------------------------------------------- shifts

    def _log_problem(self, exc: CheckpointError) -> str:
        """A refused log write in the staff's language (the core's sentence is English)."""
        return self.station.t(f"log.{exc.kind}", path=exc.path) if isinstance(exc, LogError) else exc.message

    def ask_sign_in(self) -> None:
        self.app.push_screen(SignInScreen(self.station.t), callback=self._signed_in)

    async def _signed_in(self, result: object) -> None:
        if not isinstance(result, SignIn):
            return
        try:
            await self.checkin.sign_in(result.operator, result.leader)
        except CheckpointError as exc:
            self.app.bell()
            self.app.notify(self._log_problem(exc), severity="error", timeout=15, markup=False)
            self.ask_sign_in()
            return
        self._show_status()
        await self.refresh_log()
        self._bindings_changed()
        self.query_one("#manual", Input).focus()

    async def action_handover(self) -> None:
        t = self.station.t
        summary = await self.checkin.handover()
        if summary is None:
            self.ask_sign_in()
            return
        counts = summary.counts
        started = summary.started.astimezone(self.station.tz).strftime("%Y-%m-%d %H:%M")
        lines = [
            plain(
                t(
                    "handover.shift",
                    operator=summary.shift.operator,
                    leader=summary.shift.leader,
                    start=started,
                )
            ),
            Content(t("handover.inside", n=summary.inside)),
            Content(t("handover.moves", n_in=counts["in"], n_out=counts["out"])),
            Content(t("handover.denied", n=counts["denied"])),
            Content(t("handover.fevers", n=counts["fevers"])),
            Content(t("handover.overrides", n=counts["overrides"])),
            Content(t("handover.head_code", code=summary.head_code)),
        ]
        self.app.push_screen(HandoverScreen(t, Content("\n").join(lines)), callback=self._handed_over)

    async def _handed_over(self, result: object) -> None:
        if result is not True or self.shift is None:
            return
        app = self.station
        try:
            sealed = await self.checkin.seal(load_or_create_station_key(app.home.station_key))
        except CheckpointError as exc:
            self.app.notify(self._log_problem(exc), severity="error", timeout=15, markup=False)
            return
        if sealed is None:
            self.app.notify(app.t("notify.handover_empty"), markup=False)
        else:
            self.app.notify(app.t("notify.sealed", seq=sealed), markup=False)
            if app.office_sync is not None:
                app.office_sync.now(seals=True)  # the new seal goes to the office at once
        self.query_one(VerdictPanel).show(Shown("idle"))
        self._show_status()
        await self.refresh_log()
        self._bindings_changed()
        self.ask_sign_in()

    # ----------------------------------------------------------------- other actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("mismatch", "cancel_check"):
            return self.pending is not None  # F3 and Esc mean these only while a vehicle is checked
        if self.pending is not None and action in ("no_pass", "clear"):
            return False  # hidden: F3 and Esc belong to the check now
        if self.pending is not None and action in ("override", "handover"):
            return None  # a vehicle is being checked: finish it (Enter, F3) or cancel it (Esc) first
        if self.shift is None and action in _NEEDS_SHIFT:
            return None  # nobody is signed in: these do nothing yet
        if action == "override":
            return True if self.checkin.override_target() is not None else None
        return True

    async def action_mismatch(self) -> None:
        if self.pending is not None:
            await self.render_outcome(await self.checkin.mismatch(), retry=self.checkin.mismatch)

    async def action_cancel_check(self) -> None:
        if self.pending is not None:
            await self.render_outcome(self.checkin.cancel())

    def action_direction(self) -> None:
        self.direction = self.direction.flipped()

    def action_clear(self) -> None:
        self.checkin.clear()
        self.query_one(VerdictPanel).show(Shown("idle"))
        self.query_one("#manual", Input).focus()
        self._bindings_changed()

    def _bindings_changed(self) -> None:
        """Refresh the key bar only when a key's availability changed (rebuilding it is not free)."""
        names = ("override", "no_pass", "handover", "mismatch", "direction")
        state = tuple(self.check_action(name, ()) for name in names)
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()
            self.query_one(KeyBar).show_keys()

    def action_viewfinder(self) -> None:
        viewfinder = self.query_one(Viewfinder)
        viewfinder.display = not viewfinder.display

    def action_no_pass(self) -> None:
        if self.shift is None:
            self.ask_sign_in()
            return
        if self.pending is not None or self.app.screen is not self:
            self.app.notify(self.station.t("notify.busy"), severity="warning", markup=False)
            return
        self.app.push_screen(NoPassScreen(self.station.t), callback=self._no_pass)

    async def _no_pass(self, result: object) -> None:
        if not isinstance(result, NoPass):
            return

        async def again() -> Outcome:
            return await self.checkin.no_pass(result.plate, result.vehicle, result.reason)

        await self._render_or_say(again)

    def action_override(self) -> None:
        denial = self.checkin.override_target()
        if denial is None:
            return
        self.app.push_screen(OverrideScreen(self.station.t, denial), callback=self._overridden)

    async def _overridden(self, result: object) -> None:
        if not isinstance(result, OverrideForm):
            return

        async def again() -> Outcome:
            return await self.checkin.override(result.entry_id, result.supervisor, result.reason)

        await self._render_or_say(again)

    async def _render_or_say(self, call: Callable[[], Awaitable[Outcome]]) -> None:
        """Run a service call from a form and render it; what the service refuses (a plate or a name the
        form let through) is one sentence, never a crash."""
        try:
            outcome = await call()
        except CheckpointError as exc:
            self.app.bell()
            self.app.notify(clean(exc.message, limit=300), severity="error", markup=False)
            return
        await self.render_outcome(outcome, retry=call)


_NEEDS_SHIFT = ("direction", "clear", "handover", "override", "no_pass", "viewfinder")
_CAMERA_STATES = ("opening", "live", "lost", "reconnecting", "no_camera", "ended", "waiting")
