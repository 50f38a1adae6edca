"""The audit screen: filters, a results table paged by keyset over any size of log, the hourly chart.

Queries run in thread workers on their own read-only connections (the station is never blocked); every
value from the log reaches a widget through `tui.safe`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import ClassVar, NamedTuple, cast

from rich.cells import cell_len
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Header, Input, Select, Static
from textual.worker import get_current_worker

from checkpoint import audit
from checkpoint.audit import CloneAlerts, Filter
from checkpoint.errors import CheckpointError
from checkpoint.models import Category, Direction, Reason, Verdict
from checkpoint.plates import display_plate
from checkpoint.store import Entry
from checkpoint.text import clean
from checkpoint.timeutil import parse_when

from ..base import WorkerErrors
from ..i18n import Translator
from ..safe import cell, plain
from ..widgets.key_footer import MarkedFooter
from .chart import HourlyChart
from .context import AuditContext, translate_audit_bindings
from .modals import DetailScreen, ReportScreen, VerifyScreen

PAGE = audit.PAGE_SIZE
NARROW = 100  # columns: below this the filter bar is compact
FULL_BAR = 120  # columns: below this the key bar leaves out Ctrl+Q and Ctrl+P (F1 lists them)
SHORT = 24  # lines: on a screen this short the hourly chart starts hidden (F4 shows it) so more rows fit
PREFETCH = 40  # load the next page when the cursor comes this close to the last loaded row
COUNT_CAP = 100_000  # count matches up to this many; beyond, say "more than"
SCROLLBAR = 2  # cells the table's vertical scrollbar takes
COLUMNS = {"time": 11, "station": 10, "seq": 7, "direction": 1, "decision": 1, "reason": 1, "category": 1,
           "plate": 10, "pass": 8, "operator": 7, "fevers": 3, "flag": 1}  # fmt: skip
"""The columns in order, with the narrowest widths their values need. Columns of fixed labels (direction,
decision, reason, category, flag) and every header also need their widest label in the screen's language:
the `floors` given to `column_layout`, so that no header or label is ever cut."""
OPTIONAL = ("seq", "pass", "operator", "category")
"""Columns that give way, first to last, when the row does not fit even with one-cell gaps. What an auditor
needs at a glance stays: time, station, direction, decision, reason, plate, the fever and alert marks; the
rest is one Enter away, in the entry's details."""
GROW = {"station": 16, "operator": 14, "plate": 14, "category": 12, "pass": 10}
"""Where spare width goes on a wide terminal, one cell at a time, up to these widths."""


class Layout(NamedTuple):
    """The results table's columns for one terminal width."""

    widths: dict[str, int]
    """Cells of text per column, in order; 0 = hidden (the column stays, so its cells keep their index)."""
    gap: int
    """Cells between columns: 2 (the table's padding, one each side) or 1 when that is what makes it fit."""


def column_layout(
    width: int,
    floors: Mapping[str, int],
    values: Mapping[str, int] | None = None,
    wants: Mapping[str, int] | None = None,
) -> Layout:
    """The columns of a table `width` cells wide (its scrollbar included).

    `floors`: the widest header or label of each column in the screen's language; no column is narrower,
    so none is ever cut. `values`: the widest value of a free-text column (the longest station id, at most
    its `GROW` width): its width while the row still fits with it, else longer values end in "…".
    `wants`: where spare cells go first, up to these widths (the longest full reason).

    Every column, two cells apart, when they fit; else one cell apart; else the `OPTIONAL` columns are
    hidden, first to last, until the row fits. Spare width goes to the `values`, the `wants`, the `GROW`
    columns, and the rest to the reason.
    """
    values = {key: min(size, GROW.get(key, size)) for key, size in (values or {}).items()}
    hard = {key: max(most, floors.get(key, 0)) for key, most in COLUMNS.items()}
    soft = {key: max(least, values.get(key, 0)) for key, least in hard.items()}

    def plan(least: dict[str, int]) -> tuple[list[str], int, int]:
        shown = list(COLUMNS)

        def need(gap: int) -> int:
            return sum(least[key] + gap for key in shown) + SCROLLBAR

        gap = 2 if need(2) <= width else 1
        for key in OPTIONAL:
            if need(gap) <= width:
                break
            shown.remove(key)
        return shown, gap, need(gap)

    least = soft
    shown, gap, used = plan(soft)
    if used > width:  # not even the essential columns fit with the longest values: cut those values
        least = hard
        shown, gap, used = plan(hard)
    widths = {key: least[key] if key in shown else 0 for key in COLUMNS}
    spare = width - used
    for key, most in (*values.items(), *(wants or {}).items()):
        if widths[key]:
            grow = max(0, min(spare, most - widths[key]))
            widths[key] += grow
            spare -= grow
    while spare > 0:
        grown = False
        for key, most in GROW.items():
            if spare > 0 and 0 < widths[key] < most:
                widths[key] += 1
                spare -= 1
                grown = True
        if not grown:
            widths["reason"] += spare  # the rest: room for the full reason sentences
            break
    return Layout(widths, gap)


class AuditScreen(WorkerErrors, Screen[None]):
    """Browse, filter, verify and export the traffic log; save the daily situation report."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "apply", "Apply"),
        Binding("f2", "focus_filters", "Filters"),
        Binding("f3", "focus_table", "Results"),
        Binding("f6", "verify", "Verify"),
        Binding("f7", "export", "Export"),
        Binding("f8", "report", "Report"),
        Binding("f4", "toggle_chart", "Chart"),
        # [ and ] are in F1 help, not in the key bar: it has no room for them at 80 or even 120 columns.
        Binding("left_square_bracket", "prev_day", "Day before", show=False),
        Binding("right_square_bracket", "next_day", "Day after", show=False),
        Binding("escape", "clear", "Clear"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = Filter()
        self.entries: list[Entry] = []
        self.exhausted = False
        self.loading = False
        self.generation = 0
        self.clones = CloneAlerts()
        self.flagged: set[tuple[str, int]] = set()
        self.superseded: set[str] = set()
        self.chart_day: date | None = None
        self.chart_wanted: bool | None = None  # F4's choice; None: shown unless the screen is SHORT
        self.station_cells = 0  # cells of the longest station id in the log, once known
        self.table_layout = Layout({}, 2)

    @property
    def audit_app(self) -> AuditContext:
        return cast(AuditContext, self.app)

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
        yield MarkedFooter()

    def on_mount(self) -> None:
        translate_audit_bindings(self, self.t)
        self.title = self.t("audit.title")
        self.sub_title = self.audit_app.audit_log.label
        self._fit_columns(self.app.size.width)
        self._fit_filters(self.app.size.width)
        self._fit_chart(self.app.size.height)
        table = self.query_one("#entries", DataTable)
        self.load_stations()
        self.refresh_results()
        table.focus()

    def on_resize(self, event: events.Resize) -> None:
        self._fit_columns(event.size.width)
        self._fit_filters(event.size.width)
        self._fit_chart(event.size.height)

    def on_screen_resume(self) -> None:
        width, height = self.app.size  # the terminal may have been resized under a dialog
        self._fit_columns(width)
        self._fit_filters(width)
        self._fit_chart(height)

    def _fit_filters(self, width: int) -> None:
        """Below NARROW columns the filter bar is compact: no borders (one line a row), the field name
        alone as each selector's prompt, so nothing wraps and the results keep the room."""
        narrow = width < NARROW
        self.set_class(narrow, "narrow")
        self.set_class(width < FULL_BAR, "short-bar")
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

    @property
    def widths(self) -> dict[str, int]:
        """Cells of text per results column (0: hidden at this width)."""
        return self.table_layout.widths

    def _floors(self) -> dict[str, int]:
        """The widest header or label of each column in this language: no column is narrower."""
        t = self.t
        labels: dict[str, list[str]] = {
            "direction": [t(f"direction.{d.value}") for d in Direction],
            "decision": [t(f"verdict.{v.value}") for v in Verdict],
            "reason": [self._short_reason(r) for r in Reason],
            "category": ["-", *(self._short_category(c.value) for c in Category)],
            "flag": [t("audit.clone.flag"), t("audit.superseded.flag")],
        }
        return {
            key: max(cell_len(label) for label in (t(f"audit.col.{key}"), *labels.get(key, ())))
            for key in COLUMNS
        }

    def _fit_columns(self, width: int) -> None:
        """Use the full width, cut nothing: rebuild the columns (and the loaded rows) when they change.

        With one-cell gaps the table's own padding is off and each shown column is one cell wider than its
        text; a hidden column is 0 cells wide."""
        full_reasons = max(cell_len(self.t(f"reason.{r.value}")) for r in Reason)
        layout = column_layout(
            width, self._floors(), {"station": self.station_cells}, {"reason": full_reasons}
        )
        if layout == self.table_layout:
            return
        self.table_layout = layout
        table = self.query_one("#entries", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        table.cell_padding = 1 if layout.gap == 2 else 0
        for key, size in layout.widths.items():
            cells = size if layout.gap == 2 or not size else size + 1
            table.add_column(self.t(f"audit.col.{key}"), key=key, width=cells)
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
        """The chart keys apply once there is a day to chart, on a chart that is shown; greyed otherwise."""
        if action in ("prev_day", "next_day") and (self.chart_day is None or not self._chart_shown()):
            return None
        return True

    def _chart_shown(self) -> bool:
        return self.query_one("#chart", HourlyChart).display

    def _fit_chart(self, height: int) -> None:
        """The chart is shown unless the screen is SHORT (24 lines or fewer) or F4 said otherwise."""
        shown = self.chart_wanted if self.chart_wanted is not None else height > SHORT
        self.query_one("#chart", HourlyChart).display = shown
        self.refresh_bindings()

    def action_toggle_chart(self) -> None:
        self.chart_wanted = not self._chart_shown()
        self._fit_chart(self.app.size.height)

    def action_prev_day(self) -> None:
        if self.chart_day is not None:
            self.chart_day -= timedelta(days=1)
            self.load_chart()

    def action_next_day(self) -> None:
        if self.chart_day is not None:
            self.chart_day += timedelta(days=1)
            self.load_chart()

    def action_verify(self) -> None:
        self.app.push_screen(VerifyScreen(self.audit_app.audit_log, self.t))

    def action_report(self) -> None:
        """The daily situation report of the day the chart shows (else the filter's first day, else
        today), saved in the exports folder."""
        app = self.audit_app
        day = self.chart_day
        if day is None:
            day = (self.filter.start or datetime.now(app.tz)).astimezone(app.tz).date()
        own = app.home.station_key.exists()  # a station's own home: its name is in its settings
        names = {app.settings.station.id: app.settings.station.name} if own else None
        self.app.push_screen(
            ReportScreen(
                app.audit_log,
                day,
                app.tz,
                self.t,
                app.home.exports,
                names=names,
                fever_threshold=app.settings.station.fever_threshold,
            )
        )

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
        rows, later = self.audit_app.audit_log.page(flt, after, limit=PAGE)
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
        if cell_len(full) <= self.widths.get("reason", 0):
            return full
        return self._short_reason(reason)

    def _short_reason(self, reason: Reason) -> str:
        key = f"audit.reason.{reason.value}"
        return self.t(key) if self.t.has(key) else self.t(f"reason.{reason.value}")

    def _short_category(self, category: str) -> str:
        key = f"audit.category.{category}"
        return self.t(key) if self.t.has(key) else self.t(f"category.{category}")

    def _category(self, category: str | None) -> str:
        """The full category when the column is wide enough, else its short label."""
        if not category:
            return "-"
        full = self.t(f"category.{category}")
        return full if cell_len(full) <= self.widths.get("category", 0) else self._short_category(category)

    def _fit(self, key: str, text: Content) -> Content:
        """`text` cut to its column with an ellipsis (a wide character is never halved); whole when the
        column is hidden."""
        width = self.widths.get(key, 0)
        return text.truncate(width, ellipsis=True) if 0 < width < text.cell_length else text

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
            self._fit("station", cell(entry.station_id, limit=16)),
            plain(str(entry.seq)),
            plain(t(f"direction.{entry.direction.value}")),
            decision,
            plain(self._reason(entry.reason)),  # a catalog sentence that fits its column
            self._fit("category", cell(self._category(entry.category))),
            self._fit("plate", cell(display_plate(entry.plate) if entry.plate else "-", limit=14)),
            self._fit("pass", cell(entry.pass_id or "-", limit=10)),
            self._fit("operator", cell(entry.operator, limit=14)),
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
        n = self.audit_app.audit_log.count(flt, cap=COUNT_CAP + 1)
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
        alerts = self.audit_app.audit_log.clone_alerts(flt)
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
        hours = self.audit_app.audit_log.hourly(flt, day, self.audit_app.tz)
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
        stations = self.audit_app.audit_log.stations()
        self.app.call_from_thread(self._set_stations, stations)

    def _set_stations(self, stations: list[str]) -> None:
        select = self.query_one("#station", Select)
        with self.prevent(Select.Changed):
            select.set_options([(cell(s, limit=24), s) for s in stations])
        self.station_cells = max((cell_len(clean(s)) for s in stations), default=0)
        self._fit_columns(self.app.size.width)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export_current(self, flt: Filter) -> None:
        app = self.audit_app
        stamp = datetime.now(app.tz).strftime("%Y%m%d-%H%M%S")
        out = app.home.exports / f"audit-{stamp}.csv"
        n = app.audit_log.export_csv(flt, out, app.tz)
        self.app.call_from_thread(self._exported, n, str(out))

    def _exported(self, n: int, path: str) -> None:
        self.last_export = path
        self.notify(clean(self.t("audit.export.done", count=n, path=path)), timeout=8, markup=False)

    last_export: str | None = None
