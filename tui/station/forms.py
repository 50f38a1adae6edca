"""The station's small forms, each a modal screen that returns what staff typed (or None on Esc).

They collect facts only; the station screen hands them to `checkpoint.checkin.CheckIn`. Enter moves to the next
field and, on the last one, submits; Esc cancels. Errors are one sentence under the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Select, Static

from checkpoint.checkin import MAX_NAME, MAX_TEXT, VEHICLE_KINDS, Denial
from checkpoint.errors import CheckpointError
from checkpoint.plates import display_plate, normalise_plate
from checkpoint.text import clean

from ..i18n import Translator, translate_bindings
from ..safe import plain


@dataclass(frozen=True)
class SignIn:
    operator: str
    leader: str


@dataclass(frozen=True)
class NoPass:
    plate: str
    vehicle: str
    reason: str


@dataclass(frozen=True)
class OverrideForm:
    entry_id: str  # the one denial this override sets aside
    supervisor: str
    reason: str


class StationForm(ModalScreen[object]):
    """A centred form: a title, fields, an error line, the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    StationForm { align: center middle; }
    StationForm > #form { width: 72; max-width: 100%; height: auto; max-height: 100%;
                          border: thick $primary; background: $surface; padding: 0 1; }
    StationForm #title { text-style: bold; width: 1fr; content-align: center middle; }
    StationForm #error { color: $error; text-style: bold; height: auto; }
    StationForm .keys { color: $text-muted; margin-top: 1; }
    StationForm Input { width: 1fr; margin-bottom: 1; }
    StationForm Select { margin-bottom: 1; }
    """

    def __init__(self, t: Translator) -> None:
        super().__init__()
        self.t = t
        translate_bindings(self, t)

    def fields(self) -> ComposeResult:
        yield from ()

    def title_text(self) -> Content:
        return Content("")

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Static(self.title_text(), id="title")
            yield from self.fields()
            yield Static(id="error")
            yield Static(self.keys_line(), classes="keys")

    def keys_line(self) -> Content:
        """The form's keys, shown at its foot. (A Footer here would be rebuilt every time a form opens,
        which stalls the event loop for tens of milliseconds on a busy 2-core laptop.)"""
        parts = []
        for bindings in self._bindings.key_to_bindings.values():
            for binding in bindings:
                if binding.show and binding.description:
                    parts.append(
                        Content.assemble(
                            (self.app.get_key_display(binding), "bold $accent"), " ", binding.description
                        )
                    )
        return Content("   ").join(parts)

    first_field: str | None = None  # the input that has the focus when the form opens (default: first)

    def on_mount(self) -> None:
        inputs = list(self.query(Input))
        if self.first_field is not None:
            self.query_one(f"#{self.first_field}", Input).focus()
        elif inputs:
            inputs[0].focus()

    def fail(self, message: str) -> None:
        self.query_one("#error", Static).update(plain(message))
        self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def submit(self) -> None:
        raise NotImplementedError

    def check_field(self, field: Input) -> bool:
        """Called when Enter leaves a field; False keeps the focus there (the error is shown)."""
        return True

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.check_field(event.input):
            return
        self.query_one("#error", Static).update("")
        fields = [w for w in self.query("Input, Select") if w.display]  # every field, in order
        index = fields.index(event.input) if event.input in fields else len(fields) - 1
        if index < len(fields) - 1:
            fields[index + 1].focus()
        else:
            self.submit()

    def required(self, widget_id: str, label_key: str, limit: int = MAX_TEXT) -> str | None:
        value = self.query_one(f"#{widget_id}", Input).value.strip()
        if not value:
            self.fail(self.t("form.required", field=self.t(label_key)))
            self.query_one(f"#{widget_id}", Input).focus()
            return None
        return value[:limit]


class StepSelect(Select[str]):
    """A Select in a form that Enter walks through: Enter goes on to the next field with the choice as it
    is; the arrow keys (or Space) open the list, where Enter picks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,space,up", "show_overlay", "Show menu", show=False),
        Binding("enter", "next_field", "Next", show=False),
    ]

    def action_next_field(self) -> None:
        self.screen.focus_next()


class SignInScreen(StationForm):
    """Start of a shift: the operator on duty and the shift leader. It cannot be skipped (the log records
    who is on duty), so Esc is not offered in its key line; pressed anyway, it says why (Ctrl+Q quits)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, t: Translator, operator: str = "", leader: str = "") -> None:
        super().__init__(t)
        self.operator, self.leader = operator, leader

    def title_text(self) -> Content:
        return Content(self.t("signin.title"))

    def fields(self) -> ComposeResult:
        yield Label(self.t("field.operator"))
        yield Input(self.operator, id="operator", max_length=MAX_NAME)
        yield Label(self.t("field.leader"))
        yield Input(self.leader, id="leader", max_length=MAX_NAME)
        yield Static(self.t("signin.hint"), classes="hint")

    def action_cancel(self) -> None:
        self.fail(self.t("signin.needed"))

    def submit(self) -> None:
        operator = self.required("operator", "field.operator", MAX_NAME)
        if operator is None:
            return
        leader = self.required("leader", "field.leader", MAX_NAME)
        if leader is None:
            return
        self.dismiss(SignIn(operator, leader))


class NoPassScreen(StationForm):
    """A vehicle that shows no pass: plate, kind of vehicle, why it came. Ends in DENY no_pass."""

    def title_text(self) -> Content:
        return Content(self.t("nopass.title"))

    def fields(self) -> ComposeResult:
        yield Label(self.t("field.plate"))
        yield Input(id="plate", placeholder="鄂A·12345", max_length=24)
        yield Label(self.t("nopass.vehicle"))
        yield StepSelect(
            [(self.t(f"vehicle.{kind}"), kind) for kind in VEHICLE_KINDS],
            value="car",
            allow_blank=False,
            id="vehicle",
        )
        yield Label(self.t("nopass.reason"))
        yield Input(id="reason", placeholder=self.t("nopass.reason_hint"), max_length=MAX_TEXT)

    def check_field(self, field: Input) -> bool:
        if field.id == "plate":
            try:
                normalise_plate(field.value)
            except CheckpointError:
                self.fail(self.t("nopass.bad_plate"))
                return False
        return True

    def submit(self) -> None:
        typed = self.query_one("#plate", Input).value
        try:
            plate = normalise_plate(typed)
        except CheckpointError:
            self.fail(self.t("nopass.bad_plate"))
            self.query_one("#plate", Input).focus()
            return
        reason = self.required("reason", "nopass.reason")
        if reason is None:
            return
        vehicle = self.query_one("#vehicle", Select).value
        self.dismiss(NoPass(plate, str(vehicle), reason))


class OverrideScreen(StationForm):
    """A supervisor lets a denied vehicle through: their name and a written reason. The dialog names the
    one denial it sets aside (plate, holder, reason), so that it cannot be taken for another car's."""

    def __init__(self, t: Translator, denial: Denial) -> None:
        super().__init__(t)
        self.denial = denial

    def title_text(self) -> Content:
        return Content(self.t("override.title"))

    def fields(self) -> ComposeResult:
        denial = self.denial
        plate = " ".join(display_plate(denial.plate)) if denial.plate else self.t("override.no_plate")
        reason = self.t(f"reason.{denial.reason.value}")
        holder = clean(denial.holder or "-", limit=40)
        yield Static(plain(self.t("override.denied", plate=plate, holder=holder, reason=reason)), id="denial")
        yield Label(self.t("field.supervisor"))
        yield Input(id="supervisor", max_length=MAX_NAME)
        yield Label(self.t("override.reason"))
        yield Input(id="reason", placeholder=self.t("override.reason_hint"), max_length=MAX_TEXT)

    def submit(self) -> None:
        supervisor = self.required("supervisor", "field.supervisor", MAX_NAME)
        if supervisor is None:
            return
        reason = self.required("reason", "override.reason")
        if reason is None:
            return
        self.dismiss(OverrideForm(self.denial.entry_id, supervisor, reason))


class ClockScreen(StationForm):
    """The station's clock is earlier than its newest log entry: decide only when staff confirm."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "decide_anyway", "Decide anyway", priority=True),
    ]

    def __init__(self, t: Translator, now: str, newest: str) -> None:
        super().__init__(t)
        self.now, self.newest = now, newest

    def title_text(self) -> Content:
        return Content(self.t("clock.title"))

    def fields(self) -> ComposeResult:
        yield Static(Content(self.t("clock.text", now=self.now, newest=self.newest)), id="clock-text")

    def action_decide_anyway(self) -> None:
        self.dismiss(True)


class HandoverScreen(StationForm):
    """End of a shift: the summary, then Enter seals the log and ends the shift."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "seal", "Seal and hand over", priority=True),
    ]

    def __init__(self, t: Translator, summary: Content) -> None:
        super().__init__(t)
        self.summary = summary

    def title_text(self) -> Content:
        return Content(self.t("handover.title"))

    def fields(self) -> ComposeResult:
        yield Static(self.summary, id="summary")

    def action_seal(self) -> None:
        self.dismiss(True)


class QuitScreen(StationForm):
    """Ctrl+Q while a shift is open or a vehicle is being checked: ask first (Ctrl+Q again quits)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit_now", "Quit", priority=True),
        Binding("escape", "stay", "Stay"),
        Binding("enter", "stay", "Stay", show=False),
    ]

    def __init__(self, t: Translator, lines: list[str]) -> None:
        super().__init__(t)
        self.lines = lines

    def title_text(self) -> Content:
        return Content(self.t("quit.title"))

    def fields(self) -> ComposeResult:
        yield Static(plain("\n".join(self.lines)), id="quit-text")

    def action_quit_now(self) -> None:
        self.dismiss(True)

    def action_stay(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """F1: what every key does, and how a vehicle goes through."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "close", "Close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > #help { width: 90; max-width: 100%; height: auto; max-height: 100%;
                         border: thick $primary; background: $surface; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self, t: Translator, footnote: str = "") -> None:
        super().__init__()
        self.t = t
        self.footnote = footnote
        translate_bindings(self, t)

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static(Content(self.t("help.text")))
            yield Static(Content(self.footnote), id="help-footnote")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
