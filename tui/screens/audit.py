"""The audit screen: filters, a results table paged by keyset over any size of log, the hourly chart.

Queries run in thread workers on their own read-only connections (the station is never blocked); every
value from the log reaches a widget through `tui.safe`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Footer, Header, Input, Select, Static
from textual.worker import get_current_worker

from checkpoint import audit
from checkpoint.audit import CloneAlerts, Filter, Vocabulary
from checkpoint.errors import CheckpointError
from checkpoint.models import Category, Direction, Reason, Verdict
from checkpoint.plates import display_plate
from checkpoint.store import Entry, open_reader
from checkpoint.text import clean
from checkpoint.timeutil import parse_when

from ..base import WorkerErrors
from ..i18n import Translator
from ..safe import cell, plain
from ..widgets.audit_chart import HourlyChart

if TYPE_CHECKING:
    from ..audit_app import AuditApp

PAGE = audit.PAGE_SIZE
NARROW = 100  # columns: below this the filter bar is compact
PREFETCH = 40  # load the next page when the cursor comes this close to the last loaded row
COUNT_CAP = 100_000  # count matches up to this many; beyond, say "more than"
COLUMNS = {"time": 11, "station": 10, "seq": 7, "direction": 3, "decision": 8, "reason": 14, "category": 8,
           "plate": 10, "pass": 8, "operator": 7, "fevers": 3, "flag": 6}  # fmt: skip
"""The narrowest widths (the Reason column shows the short `audit.reason.*` labels, at most 14 cells)."""
GROW = {"station": 16, "operator": 14, "plate": 14, "category": 12, "pass": 10}
"""Where spare width goes on a wide terminal, one cell at a time, up to these widths."""


def column_widths(width: int) -> dict[str, int]:
    """Column widths that fill a table `width` cells wide (2 cells of padding per column, a scrollbar)."""
    widths = dict(COLUMNS)
    spare = width - sum(widths.values()) - 2 * len(widths) - 2
    while spare > 0:
        grown = False
        for key, most in GROW.items():
            if spare > 0 and widths[key] < most:
                widths[key] += 1
                spare -= 1
                grown = True
        if not grown:
            widths["reason"] += spare  # the rest: room for the full reason sentences
            break
    return widths


def translate_audit_bindings(node: DOMNode, t: Translator) -> None:
    """Give `node`'s key bindings the catalog's descriptions (`audit.key.<action>`)."""
    for key, bindings in node._bindings.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [
            replace(b, description=t(f"audit.key.{b.action}")) if t.has(f"audit.key.{b.action}") else b
            for b in bindings
        ]


class AuditScreen(WorkerErrors, Screen[None]):
    """Browse, filter, verify and export the traffic log."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "apply", "Apply filters"),
        Binding("f2", "focus_filters", "Filters"),
        Binding("f3", "focus_table", "Results"),
        Binding("f6", "verify", "Verify log"),
        Binding("f7", "export", "Export CSV"),
        Binding("left_square_bracket", "prev_day", "Chart: day before"),
        Binding("right_square_bracket", "next_day", "Chart: day after"),
        Binding("escape", "clear", "Clear filters"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = Filter()
        self.vocab = Vocabulary()
        self.entries: list[Entry] = []
        self.exhausted = False
        self.loading = False
        self.generation = 0
        self.clones = CloneAlerts()
        self.flagged: set[tuple[str, int]] = set()
        self.superseded: set[str] = set()
        self.chart_day: date | None = None

    @property
    def audit_app(self) -> AuditApp:
        return self.app  # type: ignore[return-value]

    @property
    def t(self) -> Translator:
        return self.audit_app.t

    def compose(self) -> ComposeResult:
        t = self.t
        any_ = t("audit.filter.any")
        yield Header()
        with Vertical(id="filters"):
            with Horizontal(classes="filter-row"):
                yield Input(placeholder=t("audit.filter.from"), id="from")
                yield Input(placeholder=t("audit.filter.until"), id="until")
                yield Select[str]([], prompt=f"{t('audit.filter.station')}: {any_}", id="station")
                yield Input(placeholder=t("audit.filter.plate"), id="plate")
                yield Input(placeholder=t("audit.filter.operator"), id="operator")
            with Horizontal(classes="filter-row"):
                yield Select[str](
                    [(t(f"direction.{d.value}"), d.value) for d in Direction],
                    prompt=f"{t('audit.filter.direction')}: {any_}",
                    id="direction",
                )
                yield Select[str](
                    [(t(f"verdict.{v.value}"), v.value) for v in Verdict],
                    prompt=f"{t('audit.filter.decision')}: {any_}",
                    id="decision",
                )
                yield Select[str](
                    [(t(f"reason.{r.value}"), r.value) for r in Reason],
                    prompt=f"{t('audit.filter.reason')}: {any_}",
                    id="reason",
                )
                yield Select[str](
                    [(t(f"category.{c.value}"), c.value) for c in Category],
                    prompt=f"{t('audit.filter.category')}: {any_}",
                    id="category",
                )
                yield Checkbox(t("audit.filter.fevers"), id="fevers")
        yield Static(id="status")
        yield DataTable(id="entries", cursor_type="row", zebra_stripes=True)
        yield HourlyChart(id="chart")
        yield Footer()

    def on_mount(self) -> None:
        translate_audit_bindings(self, self.t)
        self.title = self.t("audit.title")
        self.sub_title = self.audit_app.log_path.name
        self.widths: dict[str, int] = {}
        self._fit_columns(self.app.size.width)
        self._fit_filters(self.app.size.width)
        table = self.query_one("#entries", DataTable)
        self.load_stations()
        self.refresh_results()
        table.focus()

    def on_resize(self, event: events.Resize) -> None:
        self._fit_columns(event.size.width)
        self._fit_filters(event.size.width)

    def _fit_filters(self, width: int) -> None:
        """Below NARROW columns the filter bar is compact: no borders (one line a row), the field name
        alone as each selector's prompt, so nothing wraps and the results keep the room."""
        narrow = width < NARROW
        self.set_class(narrow, "narrow")
        any_ = self.t("audit.filter.any")
        for widget in self.query_one("#filters").query("Input, Select"):
            widget.compact = narrow  # type: ignore[attr-defined]
        for select_id, name in (
            ("station", "station"),
            ("direction", "direction"),
            ("decision", "decision"),
            ("reason", "reason"),
            ("category", "category"),
        ):
            label = self.t(f"audit.filter.{name}")
            self.query_one(f"#{select_id}", Select).prompt = label if narrow else f"{label}: {any_}"
        for input_id in ("from", "until", "plate", "operator"):
            key = f"audit.filter.{input_id}_short" if narrow else f"audit.filter.{input_id}"
            self.query_one(f"#{input_id}", Input).placeholder = self.t(key)

    def _fit_columns(self, width: int) -> None:
        """Use the full width: rebuild the columns (and the loaded rows) when their widths change."""
        widths = column_widths(width)
        if widths == self.widths:
            return
        self.widths = widths
        table = self.query_one("#entries", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        for key, size in widths.items():
            table.add_column(self.t(f"audit.col.{key}"), key=key, width=size)
        for entry in self.entries:
            table.add_row(*self._cells(entry), key=f"{entry.station_id}#{entry.seq}")
        if self.entries:
            table.move_cursor(row=min(row, len(self.entries) - 1))

    # -- building the filter ---------------------------------------------------------------------------

    def read_filter(self) -> Filter:
        """The filter the fields describe. Raises CheckpointError (one sentence) on a bad date."""
        tz = self.audit_app.tz
        since = self.query_one("#from", Input).value.strip()
        until = self.query_one("#until", Input).value.strip()
        start = parse_when(since, tz) if since else None
        end = None
        if until:
            end = parse_when(until, tz) + (timedelta(days=1) if len(until) == 10 else timedelta(0))
        if start is not None and end is not None and end <= start:
            raise CheckpointError(self.t("audit.filter.until") + ": " + "< " + since)

        def chosen(selector: str) -> str | None:
            value = self.query_one(selector, Select).value
            return value if isinstance(value, str) else None

        direction, decision = chosen("#direction"), chosen("#decision")
        reason, category = chosen("#reason"), chosen("#category")
        return Filter(
            start=start,
            end=end,
            station=chosen("#station"),
            direction=None if direction is None else Direction(direction),
            verdict=None if decision is None else Verdict(decision),
            reason=None if reason is None else Reason(reason),
            category=None if category is None else Category(category),
            plate=self.query_one("#plate", Input).value.strip() or None,
            operator=self.query_one("#operator", Input).value.strip() or None,
            fevers_only=self.query_one("#fevers", Checkbox).value,
        )

    # -- actions -----------------------------------------------------------------------------------------

    def action_apply(self) -> None:
        try:
            flt = self.read_filter()
        except CheckpointError as exc:
            self.audit_app.report_error(exc)
            return
        self.filter = flt
        if flt.start is not None:
            self.chart_day = flt.start.astimezone(self.audit_app.tz).date()
        self.refresh_results()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_apply()

    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        if self.is_mounted and self.entries is not None:
            self.action_apply()

    def action_clear(self) -> None:
        for selector in ("#from", "#until", "#plate", "#operator"):
            self.query_one(selector, Input).value = ""
        with self.prevent(Select.Changed, Checkbox.Changed):
            for selector in ("#station", "#direction", "#decision", "#reason", "#category"):
                self.query_one(selector, Select).clear()
            self.query_one("#fevers", Checkbox).value = False
        self.action_apply()

    def action_focus_filters(self) -> None:
        self.query_one("#from", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one("#entries", DataTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The chart keys apply once there is a day to chart; they are greyed until then."""
        if action in ("prev_day", "next_day") and self.chart_day is None:
            return None
        return True

    def action_prev_day(self) -> None:
        if self.chart_day is not None:
            self.chart_day -= timedelta(days=1)
            self.load_chart()

    def action_next_day(self) -> None:
        if self.chart_day is not None:
            self.chart_day += timedelta(days=1)
            self.load_chart()

    def action_verify(self) -> None:
        from .audit_modals import VerifyScreen

        self.app.push_screen(VerifyScreen(self.audit_app.log_path, self.t))

    def action_export(self) -> None:
        self.notify(self.t("audit.export.running"), timeout=2, markup=False)
        self.export_current(self.filter)

    # -- results -------------------------------------------------------------------------------------

    def refresh_results(self) -> None:
        self.generation += 1
        self.entries = []
        self.exhausted = False
        self.flagged = set()
        self.query_one("#entries", DataTable).clear()
        self.query_one("#status", Static).update(plain(self.t("audit.status.loading")))
        self.load_page(self.filter, None, self.generation)
        self.load_count(self.filter, self.generation)
        self.load_clones(self.filter, self.generation)
        self.load_chart()

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def load_page(self, flt: Filter, after: audit.Key | None, generation: int) -> None:
        conn = open_reader(self.audit_app.log_path)
        try:
            rows = audit.page(conn, self.vocab.resolve(conn, flt), after, limit=PAGE)
            later = audit.superseded(conn, [e.id for e in rows])
        finally:
            conn.close()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._add_rows, rows, generation, later)

    def _add_rows(self, rows: list[Entry], generation: int, later: set[str] | None = None) -> None:
        if generation != self.generation:
            return
        self.superseded |= later or set()
        self.loading = False
        self.exhausted = len(rows) < PAGE
        table = self.query_one("#entries", DataTable)
        for entry in rows:
            table.add_row(*self._cells(entry), key=f"{entry.station_id}#{entry.seq}")
        self.entries.extend(rows)
        self._update_status()
        if self.chart_day is None and self.entries:
            self.chart_day = self.entries[0].ts.astimezone(self.audit_app.tz).date()
            self.load_chart()
            self.refresh_bindings()

    def _reason(self, reason: Reason) -> str:
        """The full reason when the column is wide enough, else its short label (never cut off)."""
        full = self.t(f"reason.{reason.value}")
        key = f"audit.reason.{reason.value}"
        if cell_len(full) <= self.widths.get("reason", 0) or not self.t.has(key):
            return full
        return self.t(key)

    def _cells(self, entry: Entry) -> list[Content]:
        t = self.t
        tz = self.audit_app.tz
        verdict = t(f"verdict.{entry.verdict.value}")
        decision = Content(verdict).stylize(
            "bold $success" if entry.verdict is Verdict.ALLOW else "bold $error"
        )
        flag = t("audit.clone.flag") if (entry.station_id, entry.seq) in self.flagged else ""
        if entry.id in self.superseded:  # a later entry (an override) replaces it: not counted in totals
            decision = decision.stylize("strike dim")
            flag = flag or t("audit.superseded.flag")
        return [
            plain(entry.ts.astimezone(tz).strftime("%m-%d %H:%M")),
            cell(entry.station_id, limit=16),
            plain(str(entry.seq)),
            plain(t(f"direction.{entry.direction.value}")),
            decision,
            cell(self._reason(entry.reason), limit=14),
            cell(t(f"category.{entry.category}") if entry.category else "-", limit=12),
            cell(display_plate(entry.plate) if entry.plate else "-", limit=14),
            cell(entry.pass_id or "-", limit=10),
            cell(entry.operator, limit=14),
            Content(str(entry.fevers)).stylize("bold $error") if entry.fevers else plain(""),
            Content(flag).stylize("bold $warning") if flag else plain(""),
        ]

    @on(DataTable.RowHighlighted, "#entries")
    def _near_the_end(self, event: DataTable.RowHighlighted) -> None:
        if self.exhausted or self.loading or not self.entries:
            return
        if event.cursor_row >= len(self.entries) - PREFETCH:
            self.loading = True
            self.load_page(self.filter, audit.key_of(self.entries[-1]), self.generation)

    @on(DataTable.RowSelected, "#entries")
    def _open_detail(self, event: DataTable.RowSelected) -> None:
        from .audit_modals import DetailScreen

        if 0 <= event.cursor_row < len(self.entries):
            entry = self.entries[event.cursor_row]
            alerts = [
                a
                for a in self.clones.alerts
                if (entry.station_id, entry.seq)
                in ((a.first.station_id, a.first.seq), (a.second.station_id, a.second.seq))
            ]
            self.app.push_screen(DetailScreen(self.audit_app, entry, alerts))

    @work(thread=True, exclusive=True, group="count", exit_on_error=False)
    def load_count(self, flt: Filter, generation: int) -> None:
        conn = open_reader(self.audit_app.log_path)
        try:
            n = audit.count(conn, self.vocab.resolve(conn, flt), cap=COUNT_CAP + 1)
        finally:
            conn.close()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._set_count, n, generation)

    def _set_count(self, n: int, generation: int) -> None:
        if generation == self.generation:
            self.match_count = n
            self._update_status()

    match_count: int | None = None

    def _update_status(self) -> None:
        t = self.t
        shown = len(self.entries)
        n = self.match_count
        if n == 0 or (self.exhausted and shown == 0):
            text = t("audit.status.none")
        elif n is None:
            text = t("audit.status.count", count="…", shown=shown)
        elif n > COUNT_CAP:
            text = t("audit.status.count_more", count=f"{COUNT_CAP:,}", shown=shown)
        else:
            text = t("audit.status.count", count=f"{n:,}", shown=shown)
        clones = (
            t("audit.status.clones", count=len(self.clones.alerts))
            if self.clones.alerts
            else t("audit.status.no_clones")
        )
        status = (
            Content(text)
            + Content("  ·  ")
            + (Content(clones).stylize("bold $warning") if self.clones.alerts else Content(clones))
        )
        self.query_one("#status", Static).update(status)

    @work(thread=True, exclusive=True, group="clones", exit_on_error=False)
    def load_clones(self, flt: Filter, generation: int) -> None:
        conn = open_reader(self.audit_app.log_path)
        try:
            alerts = audit.clone_alerts(conn, flt.start, flt.end, station=flt.station)
        finally:
            conn.close()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._set_clones, alerts, generation)

    def _set_clones(self, alerts: CloneAlerts, generation: int) -> None:
        if generation != self.generation:
            return
        self.clones = alerts
        self.flagged = alerts.flagged()
        table = self.query_one("#entries", DataTable)
        for entry in self.entries:
            if (entry.station_id, entry.seq) in self.flagged:
                table.update_cell(
                    f"{entry.station_id}#{entry.seq}",
                    "flag",
                    Content(self.t("audit.clone.flag")).stylize("bold $warning"),
                )
        self._update_status()

    def load_chart(self) -> None:
        if self.chart_day is not None:
            self._load_chart(self.filter, self.chart_day)

    @work(thread=True, exclusive=True, group="chart", exit_on_error=False)
    def _load_chart(self, flt: Filter, day: date) -> None:
        conn = open_reader(self.audit_app.log_path)
        try:
            hours = audit.hourly(
                conn, self.vocab.resolve(conn, replace(flt, start=None, end=None)), day, self.audit_app.tz
            )
        finally:
            conn.close()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_chart, day, hours)

    def _show_chart(self, day: date, hours: list[audit.HourCount]) -> None:
        peak = max((h.total for h in hours), default=0)
        title = (
            self.t("audit.chart.title", day=day.isoformat(), peak=peak)
            if peak
            else self.t("audit.chart.empty", day=day.isoformat())
        )
        self.query_one("#chart", HourlyChart).show(title, hours)

    @work(thread=True, exclusive=True, group="stations", exit_on_error=False)
    def load_stations(self) -> None:
        conn = open_reader(self.audit_app.log_path)
        try:
            stations = audit.stations(conn)
            self.vocab.refresh(conn)
        finally:
            conn.close()
        self.app.call_from_thread(self._set_stations, stations)

    def _set_stations(self, stations: list[str]) -> None:
        select = self.query_one("#station", Select)
        with self.prevent(Select.Changed):
            select.set_options([(cell(s, limit=24), s) for s in stations])

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export_current(self, flt: Filter) -> None:
        from checkpoint.export import export_log

        app = self.audit_app
        stamp = datetime.now(app.tz).strftime("%Y%m%d-%H%M%S")
        out = app.home.exports / f"audit-{stamp}.csv"
        conn = open_reader(app.log_path)
        try:
            n = export_log(conn, self.vocab.resolve(conn, flt), out, "csv", app.tz)
        finally:
            conn.close()
        self.app.call_from_thread(self._exported, n, str(out))

    def _exported(self, n: int, path: str) -> None:
        self.last_export = path
        self.notify(clean(self.t("audit.export.done", count=n, path=path)), timeout=8, markup=False)

    last_export: str | None = None
