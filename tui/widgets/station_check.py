"""The check after a valid scan, inline on the station screen: the plate to compare, the number of
occupants and one temperature each. Enter records (the plate matches); F3 marks a plate mismatch; Esc
cancels. It takes the place of the recent-entries table while it is open, so the verdict panel above
keeps its size and nothing else on screen has to be drawn again.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, Static

from checkpoint.models import PassData
from checkpoint.plates import display_plate
from checkpoint.temperature import TemperatureError, parse_temperature

from ..i18n import Translator
from ..safe import plain
from ..screens.station_forms import Check, split_readings, temperature_problem, translate_bindings


def read_check(t: Translator, occupants_text: str, temperatures_text: str, most: int) -> Check | str:
    """What staff typed as a Check, or the one sentence that says what is wrong."""
    readings: list[int] = []
    for typed in split_readings(temperatures_text):
        try:
            readings.append(parse_temperature(typed))
        except TemperatureError:
            return temperature_problem(t, typed)
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


class CheckPanel(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f3", "mismatch", "Plate mismatch"),
        Binding("escape", "cancel", "Cancel"),
    ]
    DEFAULT_CSS = """
    CheckPanel { height: 12; border: heavy $warning; padding: 0 1; display: none; }
    CheckPanel #check-plate { text-style: bold; width: 1fr; content-align: center middle; background: $warning 30%; }
    CheckPanel #check-row { height: 1; margin-top: 1; }
    CheckPanel #check-row Label { width: auto; padding: 0 1 0 0; }
    CheckPanel #occupants { width: 6; margin-right: 2; }
    CheckPanel #temperatures { width: 1fr; }
    CheckPanel #check-error { color: $error; text-style: bold; height: auto; margin-top: 1; }
    CheckPanel #check-keys { color: $text-muted; }
    """

    class Done(Message):
        """Staff finished the check: a Check, or None when they cancelled."""

        def __init__(self, result: Check | None) -> None:
            super().__init__()
            self.result = result

    def __init__(self, t: Translator, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.t = t
        self.most = 60
        translate_bindings(self, t)

    def compose(self) -> ComposeResult:
        t = self.t
        yield Static(id="check-plate")
        with Horizontal(id="check-row"):
            yield Label(t("check.occupants_short"), id="occupants-label")
            yield Input(id="occupants", type="integer", max_length=2, compact=True)
            yield Label(t("check.temperatures_short"))
            yield Input(
                id="temperatures", placeholder=t("check.temperatures_hint"), max_length=400, compact=True
            )
        yield Static(id="check-error")
        yield Static(self._keys(), id="check-keys")

    def _keys(self) -> Content:
        parts = [Content.assemble(("Enter", "bold $accent"), " ", self.t("check.enter"))]
        for bindings in self._bindings.key_to_bindings.values():
            for binding in bindings:
                parts.append(
                    Content.assemble(
                        (self.app.get_key_display(binding), "bold $accent"), " ", binding.description
                    )
                )
        return Content("   ").join(parts)

    def start(self, data: PassData) -> None:
        self.most = data.max_occupants
        self.query_one("#check-plate", Static).update(
            plain(self.t("check.plate", plate=display_plate(data.plate)), limit=80)
        )
        self.query_one("#occupants-label", Label).update(
            self.t("check.occupants_short", most=data.max_occupants)
        )
        for field in self.query(Input):
            field.value = ""
        self.query_one("#check-error", Static).update("")
        self.display = True
        self.query_one("#temperatures", Input).focus()

    def fail(self, message: str) -> None:
        self.query_one("#check-error", Static).update(plain(message))
        self.app.bell()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "occupants":
            self.query_one("#temperatures", Input).focus()
            return
        result = read_check(
            self.t,
            self.query_one("#occupants", Input).value,
            self.query_one("#temperatures", Input).value,
            self.most,
        )
        if isinstance(result, str):
            self.fail(result)
            return
        self.post_message(self.Done(result))

    def action_mismatch(self) -> None:
        self.post_message(self.Done(Check(0, (), plate_mismatch=True)))

    def action_cancel(self) -> None:
        self.post_message(self.Done(None))
