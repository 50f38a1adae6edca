"""The station's small forms, each a modal screen that returns what staff typed (or None on Esc).

They collect facts only; the station screen asks `policy.decide` and logs. Enter moves to the next
field and, on the last one, submits; Esc cancels. Errors are one sentence under the form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Select, Static

from checkpoint.chain import head_code
from checkpoint.errors import CheckpointError
from checkpoint.plates import normalise_plate
from checkpoint.store import LogStore
from checkpoint.temperature import TemperatureError, parse_temperature

from ..i18n import Translator
from ..safe import plain

VEHICLE_KINDS = ("car", "van", "truck", "bus", "motorcycle", "tractor", "other")
MAX_TEXT = 200  # characters kept of a typed name or reason


def translate_bindings(node: DOMNode, t: Translator) -> None:
    """Give `node`'s key bindings the catalog's descriptions (`key.<action>`) in the chosen language."""
    for key, bindings in node._bindings.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [
            replace(b, description=t(f"key.{b.action}")) if t(f"key.{b.action}") != f"key.{b.action}" else b
            for b in bindings
        ]


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
    supervisor: str
    reason: str


@dataclass(frozen=True)
class Check:
    occupants: int
    temperatures: tuple[int, ...]
    plate_mismatch: bool = False


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
        inputs = [w for w in self.query(Input) if w.display]
        index = inputs.index(event.input) if event.input in inputs else len(inputs) - 1
        if not self.check_field(event.input):
            return
        self.query_one("#error", Static).update("")
        if index < len(inputs) - 1:
            inputs[index + 1].focus()
        else:
            self.submit()

    def required(self, widget_id: str, label_key: str) -> str | None:
        value = self.query_one(f"#{widget_id}", Input).value.strip()
        if not value:
            self.fail(self.t("form.required", field=self.t(label_key)))
            self.query_one(f"#{widget_id}", Input).focus()
            return None
        return value[:MAX_TEXT]


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
        yield Input(self.operator, id="operator", max_length=MAX_TEXT)
        yield Label(self.t("field.leader"))
        yield Input(self.leader, id="leader", max_length=MAX_TEXT)
        yield Static(self.t("signin.hint"), classes="hint")

    def action_cancel(self) -> None:
        self.fail(self.t("signin.needed"))

    def submit(self) -> None:
        operator = self.required("operator", "field.operator")
        if operator is None:
            return
        leader = self.required("leader", "field.leader")
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
        yield Select(
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
    """A supervisor lets a denied vehicle through: their name and a written reason."""

    def __init__(self, t: Translator, denied_for: str) -> None:
        super().__init__(t)
        self.denied_for = denied_for

    def title_text(self) -> Content:
        return Content(self.t("override.title"))

    def fields(self) -> ComposeResult:
        yield Static(Content(self.t("override.denied", reason=self.denied_for)))
        yield Label(self.t("field.supervisor"))
        yield Input(id="supervisor", max_length=MAX_TEXT)
        yield Label(self.t("override.reason"))
        yield Input(id="reason", placeholder=self.t("override.reason_hint"), max_length=MAX_TEXT)

    def submit(self) -> None:
        supervisor = self.required("supervisor", "field.supervisor")
        if supervisor is None:
            return
        reason = self.required("reason", "override.reason")
        if reason is None:
            return
        self.dismiss(OverrideForm(supervisor, reason))


def split_readings(text: str) -> list[str]:
    return text.replace("/", " ").replace(";", " ").replace("；", " ").replace("、", " ").split()


# One reading as staff type it (36.6, 36,6, 98.6F, 37℃), or several joined by commas (36.6,36.8), or a unit
# on its own (37 ℃); no trailing space, so no backtracking.
_READING = r"\d{1,3}(?:[.,，。]\d{1,2})?(?:°?[CcFf]|℃)?"
_READINGS_TOKEN = re.compile(rf"°?[CcFf]|℃|{_READING}(?:[,，]{_READING})*")


def looks_like_readings(text: str) -> bool:
    """Whether a short text is temperatures (split as the check line splits them), never a code a vehicle
    showed: a shop's 13-digit barcode is not. Short only: a few readings, a bounded match."""
    tokens = split_readings(text)
    return (
        0 < len(text) <= 40
        and any(ch.isdigit() for ch in text)
        and all(_READINGS_TOKEN.fullmatch(token) for token in tokens)
    )


def temperature_problem(t: Translator, typed: str, error: TemperatureError) -> str:
    """The catalog's sentence for a reading `parse_temperature` refused (its `kind` and `values`)."""
    return t(f"temp.{error.kind}", typed=plain(typed, limit=12).plain, **error.values)


def read_check(t: Translator, occupants_text: str, temperatures_text: str, most: int) -> Check | str:
    """What staff typed as a Check, or the one sentence that says what is wrong."""
    readings: list[int] = []
    for typed in split_readings(temperatures_text):
        try:
            readings.append(parse_temperature(typed))
        except TemperatureError as error:
            return temperature_problem(t, typed, error)
    if not readings:
        return t("check.no_readings")
    occupants = len(readings)
    if occupants_text.strip():
        try:
            occupants = int(occupants_text.strip())
        except ValueError:
            occupants = -1
        if not 1 <= occupants <= 60:
            return t("check.bad_occupants")
        if occupants != len(readings):
            return t("check.count", count=len(readings), occupants=occupants)
    return Check(occupants, tuple(readings))


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
        yield Static(id="head-code")  # filled in once the log's head is read (for the paper duty book)

    @on(events.Mount)
    async def show_head_code(self) -> None:
        store = getattr(self.app, "store", None)
        if isinstance(store, LogStore):
            code = head_code(*await store.head())
            self.query_one("#head-code", Static).update(Content(self.t("handover.head_code", code=code)))

    def action_seal(self) -> None:
        self.dismiss(True)


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
