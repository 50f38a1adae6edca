"""The office's enrolled stations, read-only: who may send bundles here, and who was retired.

Enrolling and retiring stay on the command line (`checkpoint stations enrol / retire`), where a person
confirms the fingerprint the station reads out.
"""

from __future__ import annotations

from typing import ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from checkpoint.catalog import say_error
from checkpoint.errors import CheckpointError
from checkpoint.keys import fingerprint
from checkpoint.sync import enrolled_stations
from checkpoint.timeutil import fmt_local

from ..safe import cell
from ..widgets.key_footer import MarkedFooter
from .context import OfficeContext, translate_office_bindings


class StationsScreen(Screen[None]):
    """The stations enrolled at this office (id, name, fingerprint, since when, retired or not)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    @property
    def office(self) -> OfficeContext:
        return cast(OfficeContext, self.app)

    def compose(self) -> ComposeResult:
        translate_office_bindings(self, self.office.t)
        yield Header()
        yield Static(Content(""), id="stations-note")
        yield DataTable(id="stations", cursor_type="row", zebra_stripes=True)
        yield MarkedFooter()

    async def on_mount(self) -> None:
        t = self.office.t
        table = self.query_one(DataTable)
        headings = [t(f"office.stations.{key}") for key in ("id", "name", "fingerprint", "enrolled", "state")]
        try:
            enrolments = await enrolled_stations(self.office.home, self.office.settings)
        except CheckpointError as exc:
            self.query_one("#stations-note", Static).update(Content(say_error(exc, t.lang)))
            enrolments = []
        else:
            note = t("office.stations.none") if not enrolments else t("office.stations.hint")
            self.query_one("#stations-note", Static).update(Content(note))
        rows = []
        for item in enrolments:
            state = (
                t("office.stations.active")
                if item.retired_at is None
                else t("office.stations.retired", at=fmt_local(item.retired_at, self.office.tz))
            )
            rows.append(
                [
                    cell(item.station_id),
                    cell(item.name),
                    cell(fingerprint(item.public_key), limit=None),
                    cell(fmt_local(item.enrolled_at, self.office.tz)),
                    cell(state if item.retire_reason is None else f"{state}: {item.retire_reason}", limit=60),
                ]
            )
        # Each column as wide as its widest cell: left to itself the table kept the headings' widths
        # ("dafan-e", "F32F EC11 D277", "activ").
        for i, heading in enumerate(headings):
            width = max([Content(heading).cell_length, *(row[i].cell_length for row in rows)])
            table.add_column(heading, width=width)
        for row in rows:
            table.add_row(*row)

    def action_back(self) -> None:
        self.app.pop_screen()
