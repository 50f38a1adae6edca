"""The station screen: the checkpoint at the junction.

Flow (documented in docs/station.md):

1. A code arrives from the camera worker (`ScannerCode`) or from the manual-entry line (a USB barcode
   scanner types the text and Enter the same way). `policy.decide` is asked with what is known.
2. A code that fails the pass checks (not a pass, forged, expired, revoked, wrong checkpoint, …) is
   logged at once and shown as DENY.
3. A valid pass shows CHECK ("valid — check the plate, enter occupants and temperatures") and opens
   the check form. Enter there confirms the plate and records; F3 marks a plate mismatch.
4. `decide` runs again with every fact; the entry is appended (durably) and only then is the verdict
   shown. A denied vehicle may then be let through by a supervisor (F4): a new `override` entry that
   refers to the denial.

The screen never decides by itself, and every entry is in the log before its verdict is on screen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from time import monotonic
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

from checkpoint.errors import CheckpointError
from checkpoint.keys import load_or_create_station_key
from checkpoint.models import Direction, Reason, Verdict
from checkpoint.passes import is_ours, raw_hash
from checkpoint.policy import Decision, Facts, LogState, Override, decide
from checkpoint.store import Entry, EntryDraft, LogError, LogStore, Shift
from checkpoint.text import cell_width, clean
from scanner.spec import camera_index

from ..base import WorkerErrors
from ..messages import ScannerCode, ScannerPreview, ScannerStatus
from ..safe import plain
from ..widgets.station_keys import KeyBar
from ..widgets.station_recent import RecentEntries
from ..widgets.verdict import Shown, VerdictPanel
from ..widgets.viewfinder import Viewfinder
from .station_forms import (
    Check,
    HandoverScreen,
    NoPass,
    NoPassScreen,
    OverrideForm,
    OverrideScreen,
    SignIn,
    SignInScreen,
    looks_like_readings,
    read_check,
    translate_bindings,
)

if TYPE_CHECKING:
    from ..station_app import StationApp

RECENT = 50
VERDICT_HOLD_SECONDS = 3.0  # after a verdict, codes that are not passes seen by the camera are ignored
REFUSE_QUIET_SECONDS = 5.0
MAX_CODE = 4096  # characters of a typed or scanned text the screen will look at


@dataclass
class Vehicle:
    """One vehicle at the barrier: what was scanned or typed, and the facts staff supplied."""

    code: str | None  # None: no pass shown
    raw_hash: str | None
    facts: Facts
    plate: str | None = None  # typed by staff (no pass)
    vehicle: str | None = None
    note: str | None = None
    entry: Entry | None = None  # the logged entry now on screen
    decision: Decision | None = None
    told_busy: bool = False  # "finish the check first" was said once for this vehicle


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
        self.shift: Shift | None = None
        self.shift_id: str | None = None
        self.shift_started: datetime | None = None
        self.current: Vehicle | None = None
        self.pending: Vehicle | None = None
        self.camera_state = "no_camera"
        self.camera_fps = 0.0
        self._last_code: tuple[str, datetime] | None = None
        self._verdict_at = -VERDICT_HOLD_SECONDS  # monotonic time the last verdict was shown
        self._newest: datetime | None = None
        self._refused_at = -1e9
        self._camera_problem = ""
        self._binding_state: tuple[bool | None, ...] = ()
        self.recorded = 0  # entries this screen wrote (tests and the benchmark read it)

    @property
    def station(self) -> StationApp:
        return self.app  # type: ignore[return-value]

    @property
    def store(self) -> LogStore:
        store = self.station.store
        assert store is not None
        return store

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
            await self._resume_shift()
            await self._load_log()
        except CheckpointError as exc:  # a damaged log: one sentence on the way out, no traceback
            app.startup_error = self._log_problem(exc)  # for the staff at the station, in their language
            app.exit(return_code=2)
            return
        self.tick()
        self.set_interval(1.0, self.tick)
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
            shift.update(
                plain(t("status.shift", operator=self.shift.operator, leader=self.shift.leader), limit=60)
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
        behind = self._newest is not None and now < self._newest
        warning = self._set("#clock-warning", Content(t("status.clock_behind")) if behind else Content(""))
        if warning.display != behind:
            warning.display = behind

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
        """Wait for the scanner's events (it runs in a child process, see tui.station_camera) and
        report them as messages; this thread never touches a widget."""
        from ..station_camera import scan_in_child

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
        text = event.value.strip()
        event.input.clear()
        if self.pending is not None and self.pending.decision is not None:
            # A vehicle is being checked: this line takes its temperatures (Enter = the plate matches).
            if is_ours(text) or len(text) > 60:  # a USB scanner read the next pass: not temperatures
                self._refuse("notify.busy", False)
                return
            data = self.pending.decision.pass_data
            result = read_check(self.station.t, "", text, data.max_occupants if data else 60)
            if isinstance(result, str):
                event.input.value = text  # keep what was typed, selected: correct it or type over it
                event.input.select_all()
                self.query_one(VerdictPanel).say(result)
                self.app.bell()
                return
            await self._checked(result)
        elif looks_like_readings(text):
            # Temperatures with no vehicle being checked (the camera moved on, a slip): a number is not a
            # code a vehicle showed, so it must not become a logged "not a pass" denial.
            # Shown on a clear panel: beside the last vehicle's verdict it would read as about that one.
            self.query_one(VerdictPanel).show(Shown("idle", message=self.station.t("notify.no_check")))
            self.app.bell()
        elif text:
            await self.submit_code(text, text.encode("utf-8", errors="surrogatepass"))

    def action_manual(self) -> None:
        self.query_one("#manual", Input).focus()

    # ----------------------------------------------------------------- the flow

    def _busy(self) -> bool:
        """True while a form is open or a vehicle is being checked: scans wait until it is done."""
        return self.app.screen is not self or self.pending is not None

    def _refuse(self, key: str, scanned: bool) -> None:
        """Say why a code was not taken; for the camera at most every few seconds (it keeps seeing it)."""
        now = monotonic()
        if scanned and now - self._refused_at < REFUSE_QUIET_SECONDS:
            return
        self._refused_at = now
        self.app.notify(self.station.t(key), severity="warning", markup=False)

    async def submit_code(self, text: str, raw: bytes, *, scanned: bool = False) -> None:
        """A code arrived (camera, USB scanner or typed). Decide what can be decided now."""
        app = self.station
        text = text[:MAX_CODE]
        if self.shift is None:
            self._refuse("notify.sign_in_first", scanned)
            return
        if scanned and not is_ours(text) and monotonic() - self._verdict_at < VERDICT_HOLD_SECONDS:
            # A stray code the camera sees right after a verdict (a sticker, a phone behind the windscreen)
            # must not replace the verdict the guard is reading: only a pass of ours may, at once.
            return
        if self._busy():
            pending = self.pending
            if pending is None:
                self._refuse("notify.busy", scanned)
            elif pending.code != text and not pending.told_busy:  # the same car is simply still held up
                pending.told_busy = True  # once per vehicle: the camera keeps seeing the queue behind it
                self._refuse("notify.busy", scanned)
            return
        now = app.clock()
        if (
            self._last_code is not None
            and self._last_code[0] == text
            and timedelta(0)
            <= now - self._last_code[1]
            < timedelta(seconds=app.settings.station.duplicate_seconds)
        ):
            return  # the same vehicle, not a new event
        self._last_code = (text, now)
        vehicle = Vehicle(code=text, raw_hash=raw_hash(raw), facts=Facts(direction=self.direction))
        decision = await self._decide(vehicle)
        if decision.allowed and decision.pass_data is not None:
            vehicle.decision = decision
            self.pending = vehicle
            data = decision.pass_data
            self.query_one(VerdictPanel).show(
                Shown(
                    "check",
                    plate=data.plate,
                    category=data.category,
                    holder=data.holder,
                    org=data.org,
                    valid_from=data.valid_from,
                    valid_until=data.valid_until,
                    direction=vehicle.facts.direction,
                    warnings=decision.warnings,
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
        else:
            await self.record(vehicle, decision)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """While a vehicle is checked the focus stays in the line that takes its temperatures, so that
        Enter, F3 and Esc and what is typed always reach the check (Tab does not lose it)."""
        manual = self.query_one("#manual", Input)
        if self.pending is not None and event.widget is not manual:
            manual.focus()

    async def _decide(self, vehicle: Vehicle) -> Decision:
        app = self.station
        state = LogState(inside=await self.store.inside())
        return decide(
            vehicle.code,
            app.trust,
            app.revocations,
            app.settings.station.rules(),
            state,
            vehicle.facts,
            app.clock(),
        )

    async def _checked(self, result: object) -> None:
        vehicle, self.pending = self.pending, None
        manual = self.query_one("#manual", Input)
        manual.placeholder = self.station.t("station.manual_hint")
        manual.remove_class("checking")
        manual.value = ""
        self._bindings_changed()
        if vehicle is None:
            return
        if not isinstance(result, Check):
            self.query_one(VerdictPanel).show(Shown("idle", message=self.station.t("station.cancelled")))
            self._last_code = None
            return
        vehicle.facts = replace(
            vehicle.facts,
            occupants=result.occupants or None,
            temperatures=result.temperatures,
            plate_mismatch=result.plate_mismatch,
        )
        await self.record(vehicle, await self._decide(vehicle))

    async def record(
        self, vehicle: Vehicle, decision: Decision, *, refers_to: str | None = None
    ) -> Entry | None:
        """Append the entry (durably), then — only then — show the verdict."""
        assert self.shift is not None
        app = self.station
        facts = vehicle.facts
        overridden = decision.reason is Reason.OVERRIDE and facts.override is not None
        draft = EntryDraft.from_decision(
            decision,
            direction=facts.direction,
            shift=self.shift,
            occupants=facts.occupants,
            temperatures=facts.temperatures,
            raw_hash=vehicle.raw_hash,
            plate=vehicle.plate,
            vehicle=vehicle.vehicle,
            note=vehicle.note,
            override_by=facts.override.supervisor if overridden and facts.override else None,
            override_reason=facts.override.reason if overridden and facts.override else None,
        )
        draft.refers_to = refers_to
        try:
            entry = await self.store.append(draft, now=app.clock())
        except CheckpointError as exc:
            message = self._log_problem(exc)
            self.query_one(VerdictPanel).show(Shown("error", message=message))
            self.app.bell()
            self.app.notify(message, severity="error", timeout=15, markup=False)
            return None
        self.recorded += 1
        vehicle.entry, vehicle.decision = entry, decision
        self.current = vehicle
        self._show_entry(vehicle, decision, entry)
        self._verdict_at = monotonic()
        if decision.verdict is Verdict.DENY:
            if app.settings.station.bell:
                self.app.bell()
            panel = self.query_one(VerdictPanel)
            panel.add_class("flash")
            self.set_timer(0.4, lambda: panel.remove_class("flash"))
        await self.refresh_log()
        self._bindings_changed()
        return entry

    def _show_entry(self, vehicle: Vehicle, decision: Decision, entry: Entry) -> None:
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
            fever_threshold=self.station.settings.station.rules().fever_threshold,
            direction=vehicle.facts.direction,
            code=vehicle.code if data is None and vehicle.code is not None else None,
            note=(self.station.t(f"vehicle.{vehicle.vehicle}") + " · " + vehicle.note)
            if vehicle.vehicle and vehicle.note
            else vehicle.note,
            override_by=entry.override_by,
            override_reason=entry.override_reason,
            at=entry.ts,
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
        self._newest = await self.store.newest_time()
        self.query_one(RecentEntries).show(entries)
        now = app.clock()
        day_start = now.astimezone(app.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        day = await self.store.counts_since(day_start)
        shift = await self.store.counts_since(self.shift_started) if self.shift_started else None
        self._show_counters(shift, day)

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

    async def _resume_shift(self) -> None:
        """After a restart (or a power cut) the open shift carries on."""
        current = await self.store.open_shift()
        if current is not None:
            self.shift_id, self.shift, self.shift_started = current

    def ask_sign_in(self) -> None:
        self.app.push_screen(SignInScreen(self.station.t), callback=self._signed_in)

    async def _signed_in(self, result: object) -> None:
        if not isinstance(result, SignIn):
            return
        now = self.station.clock()
        shift = Shift(result.operator, result.leader)
        try:
            self.shift_id = await self.store.start_shift(shift, now=now)
        except CheckpointError as exc:
            self.app.bell()
            self.app.notify(self._log_problem(exc), severity="error", timeout=15, markup=False)
            self.ask_sign_in()
            return
        self.shift, self.shift_started = shift, now
        self._show_status()
        await self.refresh_log()
        self._bindings_changed()
        self.query_one("#manual", Input).focus()

    async def action_handover(self) -> None:
        if self.shift is None or self.shift_started is None:
            self.ask_sign_in()
            return
        t = self.station.t
        counts = await self.store.counts_since(self.shift_started)
        inside = len(await self.store.inside())
        started = self.shift_started.astimezone(self.station.tz).strftime("%Y-%m-%d %H:%M")
        lines = [
            plain(t("handover.shift", operator=self.shift.operator, leader=self.shift.leader, start=started)),
            Content(t("handover.inside", n=inside)),
            Content(t("handover.moves", n_in=counts["in"], n_out=counts["out"])),
            Content(t("handover.denied", n=counts["denied"])),
            Content(t("handover.fevers", n=counts["fevers"])),
            Content(t("handover.overrides", n=counts["overrides"])),
        ]
        self.app.push_screen(HandoverScreen(t, Content("\n").join(lines)), callback=self._handed_over)

    async def _handed_over(self, result: object) -> None:
        if result is not True or self.shift_id is None:
            return
        app = self.station
        try:
            key = load_or_create_station_key(app.home.station_key)
            sealed = await self.store.seal(key, now=app.clock())
            await self.store.end_shift(self.shift_id, None if sealed is None else sealed[0], now=app.clock())
        except CheckpointError as exc:
            self.app.notify(self._log_problem(exc), severity="error", timeout=15, markup=False)
            return
        if sealed is None:
            self.app.notify(app.t("notify.handover_empty"), markup=False)
        else:
            self.app.notify(app.t("notify.sealed", seq=sealed[0]), markup=False)
        self.shift = self.shift_id = self.shift_started = None
        self.current = None
        self.query_one(VerdictPanel).show(Shown("idle"))
        self._show_status()
        await self.refresh_log()
        self.ask_sign_in()

    # ----------------------------------------------------------------- other actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("mismatch", "cancel_check"):
            return self.pending is not None  # F3 and Esc mean these only while a vehicle is checked
        if self.pending is not None and action in ("no_pass", "clear"):
            return False  # hidden: F3 and Esc belong to the check now
        if self.pending is not None and action in ("override", "handover"):
            return None  # a vehicle is being checked: finish it (Enter, F3) or cancel it (Esc) first
        if action == "override":
            entry = None if self.current is None else self.current.entry
            return True if entry is not None and entry.verdict is Verdict.DENY else None
        if action in ("no_pass",):
            return True if self.shift is not None else None
        return True

    async def action_mismatch(self) -> None:
        if self.pending is not None:
            await self._checked(Check(0, (), plate_mismatch=True))

    async def action_cancel_check(self) -> None:
        if self.pending is not None:
            await self._checked(None)

    def action_direction(self) -> None:
        self.direction = self.direction.flipped()

    def action_clear(self) -> None:
        self.current = None
        self.query_one(VerdictPanel).show(Shown("idle"))
        self.query_one("#manual", Input).focus()
        self._bindings_changed()

    def _bindings_changed(self) -> None:
        """Refresh the key bar only when a key's availability changed (rebuilding it is not free)."""
        state = tuple(self.check_action(name, ()) for name in ("override", "no_pass", "handover", "mismatch"))
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
        if not self._busy():
            self.app.push_screen(NoPassScreen(self.station.t), callback=self._no_pass)

    async def _no_pass(self, result: object) -> None:
        if not isinstance(result, NoPass):
            return
        vehicle = Vehicle(
            code=None,
            raw_hash=None,
            facts=Facts(direction=self.direction),
            plate=result.plate,
            vehicle=result.vehicle,
            note=result.reason,
        )
        await self.record(vehicle, await self._decide(vehicle))

    def action_override(self) -> None:
        current = self.current
        if current is None or current.entry is None or current.entry.verdict is not Verdict.DENY:
            return
        t = self.station.t
        self.app.push_screen(
            OverrideScreen(t, t(f"reason.{current.entry.reason.value}")), callback=self._overridden
        )

    async def _overridden(self, result: object) -> None:
        current = self.current
        if not isinstance(result, OverrideForm) or current is None or current.entry is None:
            return
        vehicle = replace(
            current,
            facts=replace(current.facts, override=Override(result.supervisor, result.reason)),
            entry=None,
            decision=None,
        )
        await self.record(vehicle, await self._decide(vehicle), refers_to=current.entry.id)


_CAMERA_STATES = ("opening", "live", "lost", "reconnecting", "no_camera", "ended", "waiting")
