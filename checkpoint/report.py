"""The daily situation report (每日情况汇报): one local calendar day of traffic, in English or Chinese,
as Markdown, HTML or PDF.

The day is the **local calendar day** (00:00 to 24:00 in `ui.timezone`), not the 08:00 shift day: that is
what the township reports upward ("yesterday: N vehicles"), and it is unambiguous. The shifts that overlap
the day are listed with their operators and leaders, so a 24-hour shift that starts at 08:00 shows on
both days it touches.

Everything is counted by SQLite from the log (`fevers` is kept after a retention purge, so the counts of a
purged day do not change); names and temperatures appear only while the log still holds them.
"""

from __future__ import annotations

import html
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from . import audit
from .audit import CloneAlerts, Filter, HourCount, Traffic
from .catalog import LANGUAGES, Translator, category_word, error, reason_word
from .chain import VerifyResult
from .errors import CheckpointError
from .fsutil import atomic_write
from .models import Category
from .plates import display_plate
from .store import ENTRY_COLUMNS, Entry, entry_from_row
from .text import clean
from .timeutil import from_micros

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ReportFormat = Literal["md", "html", "pdf"]
LATIN_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
CATEGORIES: tuple[str, ...] = (*(c.value for c in Category), "none")

# The words of the report are in the catalog (`checkpoint/locale/report.<lang>.json`); the reasons and
# categories are the catalog's one word each (`reason_word`, `category_word`).


@dataclass
class CategoryCount(Traffic):
    category: str
    allowed_in: int = 0
    allowed_out: int = 0
    denied: int = 0


@dataclass
class ShiftLine:
    station_id: str
    operator: str
    leader: str
    first: datetime
    last: datetime
    entries: int
    open: bool = False  # the shift has not been handed over yet: `last` is its latest entry, not its end


@dataclass(frozen=True)
class Totals:
    """A day's counts made elsewhere (the county's rollup): (category, verdict, direction, n) rows and
    (reason, n) denials, most first — what `build_report` would count from the entries."""

    traffic: list[tuple[str | None, str, str, int]]
    denials: list[tuple[str, int]]
    shifts: list[tuple[str, str, str, int, int, int]] | None = None
    """(station, operator, leader, first ts, last ts, entries) ordered by station and first ts; None:
    count them from the entries."""
    hours: list[HourCount] | None = None
    """The day's 24 local hours; None: count them from the entries."""


@dataclass
class DailyReport:
    day: date
    tz: ZoneInfo
    station: str | None
    station_names: dict[str, str]
    generated: datetime
    fever_threshold: float
    categories: list[CategoryCount]
    denials: list[tuple[str, int]]
    fevers: list[Entry]
    overrides: list[Entry]
    shifts: list[ShiftLine]
    hours: list[HourCount]
    clones: CloneAlerts
    verification: VerifyResult | None = None
    stations: list[str] = field(default_factory=list)
    only_station: str | None = None
    """The one station of a single-station log (a station's own home): the heading names it."""

    @property
    def totals(self) -> CategoryCount:
        total = CategoryCount("total")
        for row in self.categories:
            total.allowed_in += row.allowed_in
            total.allowed_out += row.allowed_out
            total.denied += row.denied
        return total


def build_report(
    conn: sqlite3.Connection,
    day: date,
    tz: ZoneInfo,
    *,
    station: str | None = None,
    verification: VerifyResult | None = None,
    fever_threshold: float = 37.3,
    now: datetime | None = None,
    names: dict[str, str] | None = None,
    totals: Totals | None = None,
) -> DailyReport:
    """Count one local day of the log (optionally one station).

    Every total counts each vehicle once, by its latest entry: a denial that a later entry refers to (an
    override) is superseded and left out (`store.CURRENT_ONLY`); the override entry carries the
    temperatures. The shifts table counts log entries, superseded ones included. `names` (station id →
    name, e.g. this home's `station.name`) fills in stations the log knows no name for. `totals`, when
    given, are the day's counts already made (the county's rollup) instead of counting the entries."""
    flt = Filter(station=station).for_day(day, tz)
    where, params = replace(flt, current_only=True).where()
    all_where, all_params = flt.where()
    categories = {c: CategoryCount(c) for c in CATEGORIES}
    counted = (
        totals.traffic
        if totals is not None
        else conn.execute(
            f"SELECT category, verdict, direction, COUNT(*) FROM entries WHERE {where} GROUP BY 1, 2, 3",
            params,
        )
    )
    for category, verdict, direction, n in counted:
        # a denied entry counts under its pass's category when the pass was genuine (e.g. expired),
        # else under "no valid pass"; an allowed entry without a category (override of no pass) too
        categories.get(category or "none", categories["none"]).add(verdict, direction, n)
    denials = (
        totals.denials
        if totals is not None
        else [
            (str(reason), int(n))
            for reason, n in conn.execute(
                f"SELECT reason, COUNT(*) FROM entries WHERE {where} AND verdict = 'deny' GROUP BY 1 ORDER BY 2 DESC, 1",
                params,
            )
        ]
    )
    select = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries"
    order = "ORDER BY ts, station_id, seq"
    fevers = [
        entry_from_row(r) for r in conn.execute(f"{select} WHERE {where} AND fevers > 0 {order}", params)
    ]
    overrides = [
        entry_from_row(r)
        for r in conn.execute(f"{select} WHERE {where} AND reason = 'override' {order}", params)
    ]
    open_shifts = _open_shifts(conn)
    shifts = [
        ShiftLine(
            str(sid),
            str(op),
            str(lead),
            from_micros(first),
            from_micros(last),
            int(n),
            open=open_shifts.get((str(sid), str(op), str(lead)), last + 1) <= last,
        )
        for sid, op, lead, first, last, n in (
            totals.shifts
            if totals is not None and totals.shifts is not None
            else conn.execute(
                f"SELECT station_id, operator, leader, MIN(ts), MAX(ts), COUNT(*) FROM entries WHERE {all_where} "
                "GROUP BY 1, 2, 3 ORDER BY 1, 4",
                all_params,
            )
        )
    ]
    station_names = dict(names or {})
    for sid, name in conn.execute("SELECT station_id, name FROM stations"):
        if name:
            station_names[str(sid)] = str(name)
    known = audit.stations(conn)
    start, end = audit.day_bounds(day, tz)
    stations = [station] if station else [r.station_id for r in shifts]
    return DailyReport(
        day=day,
        tz=tz,
        station=station,
        station_names=station_names,
        generated=now or datetime.now(tz),
        fever_threshold=fever_threshold,
        categories=list(categories.values()),
        denials=denials,
        fevers=fevers,
        overrides=overrides,
        shifts=shifts,
        hours=totals.hours
        if totals is not None and totals.hours is not None
        else audit.hourly(conn, Filter(station=station), day, tz),
        clones=audit.clone_alerts(conn, start, end, station=station),
        verification=verification,
        stations=sorted(set(stations)),
        only_station=known[0] if station is None and len(known) == 1 else None,
    )


def _open_shifts(conn: sqlite3.Connection) -> dict[tuple[str, str, str], int]:
    """(station, operator, leader) of every shift signed in and not handed over, with when it started
    (a merged log from bundles has no shifts table rows of its stations: none is open there). The
    report's line of those names is open only if that shift started by its last entry: the same two
    people handing over and signing in again start a new, empty shift, which leaves the old one closed."""
    try:
        rows = conn.execute(
            "SELECT station_id, operator, leader, MIN(started) FROM shifts WHERE ended IS NULL GROUP BY 1, 2, 3"
        ).fetchall()
    except sqlite3.OperationalError:  # an older log without the table
        return {}
    return {(str(a), str(b), str(c)): int(d) for a, b, c, d in rows}


# ---------------------------------------------------------------------------------------------- rendering


class _Words:
    def __init__(self, report: DailyReport, lang: str) -> None:
        self.report = report
        self.lang = lang if lang in LANGUAGES else "en"
        self.t = Translator(self.lang)

    def __call__(self, key: str, **values: object) -> str:
        return self.t(f"report.{key}", **values)

    def entries(self, n: int) -> str:
        return self.t.count("report.count.entries", n)

    def category(self, category: str) -> str:
        return self("cat.none") if category == "none" else category_word(category, self.lang)

    def time(self, moment: datetime) -> str:
        return moment.astimezone(self.report.tz).strftime("%H:%M")

    def station(self, station_id: str) -> str:
        name = self.report.station_names.get(station_id, "")
        return clean(f"{name} ({station_id})" if name and name != station_id else station_id, limit=60)

    def plate(self, plate: str | None) -> str:
        return "-" if not plate else clean(display_plate(plate), limit=16)

    def readings(self, entry: Entry) -> str:
        if entry.purged or not entry.temperatures:
            return self("purged") if entry.purged else "-"
        return " ".join(f"{t / 10:.1f}" for t in entry.temperatures)

    def heading(self) -> tuple[str, list[str]]:
        r = self.report
        one = r.station or r.only_station
        where = self.station(one) if one else self("all_stations")
        lines = [
            f"{self('station')}: {where}",
            f"{self('day')}: {r.day.isoformat()}",
            f"{self('generated')}: {r.generated.astimezone(r.tz).strftime('%Y-%m-%d %H:%M')}",
            self("day_note", tz=r.tz.key),
        ]
        return self("title"), lines

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """(title, header, rows) for every section that is a table; an empty rows list means none."""
        r = self.report
        traffic = [
            [self.category(c.category), str(c.allowed_in), str(c.allowed_out), str(c.denied), str(c.total)]
            for c in r.categories
        ]
        t = r.totals
        traffic.append([self("total"), str(t.allowed_in), str(t.allowed_out), str(t.denied), str(t.total)])
        return [
            (
                self("traffic"),
                [self("category"), self("in"), self("out"), self("denied"), self("total")],
                traffic,
            ),
            (
                self("denials"),
                [self("reason"), self("count")],
                [[reason_word(reason, self.lang), str(n)] for reason, n in r.denials],
            ),
            (
                self("fevers", threshold=f"{r.fever_threshold:.1f}"),
                [self("time"), self("station"), self("plate"), self("readings"), self("decision")],
                [
                    [
                        self.time(e.ts),
                        self.station(e.station_id),
                        self.plate(e.plate),
                        self.readings(e),
                        f"{self(e.verdict.value)} ({reason_word(e.reason.value, self.lang)})",
                    ]
                    for e in r.fevers
                ],
            ),
            (
                self("overrides"),
                [
                    self("time"),
                    self("station"),
                    self("plate"),
                    self("supervisor"),
                    self("why"),
                    self("denied_for"),
                ],
                [
                    [
                        self.time(e.ts),
                        self.station(e.station_id),
                        self.plate(e.plate),
                        clean(e.override_by or "-", limit=30),
                        clean(e.override_reason or "-", limit=80),
                        "-" if e.denied_for is None else reason_word(e.denied_for.value, self.lang),
                    ]
                    for e in r.overrides
                ],
            ),
            (
                self("shifts"),
                [
                    self("station"),
                    self("operator"),
                    self("leader"),
                    self("from"),
                    self("until"),
                    self("entries"),
                ],
                [
                    [
                        self.station(s.station_id),
                        clean(s.operator, limit=30),
                        clean(s.leader, limit=30),
                        self.time(s.first),
                        self("still_open", time=self.time(s.last)) if s.open else self.time(s.last),
                        str(s.entries),
                    ]
                    for s in r.shifts
                ],
            ),
        ]

    def verification(self) -> tuple[str | None, list[str]]:
        """("ok" | "warn" | "bad" | None when not verified, lines): warn when a chain is whole but unsealed."""
        result = self.report.verification
        if result is None:
            return None, [self("not_verified")]
        unsealed = any(s.seals == 0 for s in result.stations)
        if not result.ok:
            state, first = "bad", self("verified_bad")
        elif unsealed:
            state, first = "warn", self("verified_unsealed", entries=self.entries(result.entries))
        else:
            state, first = "ok", self("verified_ok", entries=self.entries(result.entries))
        lines = [first]
        for s in result.stations:
            if s.ok and s.seals == 0:
                lines.append(
                    self(
                        "chain_unsealed", station=self.station(s.station_id), entries=self.entries(s.entries)
                    )
                )
            elif s.ok:
                lines.append(
                    self(
                        "chain_ok",
                        station=self.station(s.station_id),
                        entries=self.entries(s.entries),
                        sealed=s.last_sealed_seq,
                    )
                )
            else:
                lines.append(
                    self(
                        "chain_bad",
                        station=self.station(s.station_id),
                        seq=s.first_bad_seq,
                        problem=clean(s.problem),
                    )
                )
        return state, lines

    def clones(self) -> list[str]:
        return [
            self(
                "clone_line",
                pass_id=clean(a.pass_id),
                first=self.station(a.first.station_id),
                t1=self.time(a.first.ts),
                second=self.station(a.second.station_id),
                t2=self.time(a.second.ts),
                minutes=max(1, round(a.gap.total_seconds() / 60)),
            )
            for a in self.report.clones.alerts
        ]

    def bars(self, width: int = 40) -> list[tuple[str, int, int, str]]:
        """(hour label, total, allowed, text bar) for the 24 hours."""
        peak = max((h.total for h in self.report.hours), default=0) or 1
        rows = []
        for h in self.report.hours:
            filled = round(width * h.total / peak)
            denied = round(width * h.denied / peak)
            rows.append(
                (f"{h.hour:02d}:00", h.total, h.total - h.denied, "█" * (filled - denied) + "░" * denied)
            )
        return rows


def _md_cell(text: str) -> str:
    for ch in "\\|`*_[]<>#":
        text = text.replace(ch, "\\" + ch)
    return text


def render_markdown(report: DailyReport, lang: str) -> str:
    w = _Words(report, lang)
    title, lines = w.heading()
    out = [f"# {title}", "", *[f"{_md_cell(line)}  " for line in lines], ""]
    for section, header, rows in w.tables():
        out += [f"## {section}", ""]
        if not rows:
            out += [w("none"), ""]
            continue
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join("---" for _ in header) + "|")
        out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        out.append("")
    out += [f"## {w('hourly')}", "", f"█ {w('allow')}  ░ {w('deny')}", "", "```"]
    out += [f"{label}  {bar:<40} {total:>5}" for label, total, _allowed, bar in w.bars()]
    out += ["```", "", f"## {w('clones')}", ""]
    out += [f"- {_md_cell(line)}" for line in w.clones()] or [w("none")]
    _ok, lines = w.verification()
    out += ["", f"## {w('verification')}", ""]
    out += [
        f"{'**' if i == 0 else ''}{_md_cell(line)}{'**' if i == 0 else ''}  " for i, line in enumerate(lines)
    ]
    return "\n".join(out) + "\n"


def render_html(report: DailyReport, lang: str) -> str:
    w = _Words(report, lang)
    e = html.escape
    title, lines = w.heading()
    parts = [
        "<!doctype html>",
        f'<html lang="{"zh-CN" if w.lang == "zh" else "en"}"><head><meta charset="utf-8">',
        f"<title>{e(title)} {e(report.day.isoformat())}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:.2em .6em;text-align:left}td.n{text-align:right}"
        ".bar{font-family:monospace;white-space:pre}.bad{color:#b00;font-weight:bold}.ok{color:#070}"
        ".warn{color:#a60;font-weight:bold}</style>",
        "</head><body>",
        f"<h1>{e(title)}</h1>",
        *[f"<p>{e(line)}</p>" for line in lines],
    ]
    for section, header, rows in w.tables():
        parts.append(f"<h2>{e(section)}</h2>")
        if not rows:
            parts.append(f"<p>{e(w('none'))}</p>")
            continue
        parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        for row in rows:
            cells = "".join(f'<td class="n">{e(c)}</td>' if c.isdigit() else f"<td>{e(c)}</td>" for c in row)
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</table>")
    parts.append(f"<h2>{e(w('hourly'))}</h2><table>")
    for label, total, _allowed, bar in w.bars():
        parts.append(f'<tr><td>{label}</td><td class="bar">{e(bar)}</td><td class="n">{total}</td></tr>')
    parts.append("</table>")
    parts.append(f"<h2>{e(w('clones'))}</h2>")
    clones = w.clones()
    parts.append(
        "<ul>" + "".join(f'<li class="bad">{e(c)}</li>' for c in clones) + "</ul>"
        if clones
        else f"<p>{e(w('none'))}</p>"
    )
    state, vlines = w.verification()
    parts.append(f"<h2>{e(w('verification'))}</h2>")
    css = state or ""
    parts += [f'<p class="{css}">{e(line)}</p>' for line in vlines]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _pdf_text(text: str) -> str:
    """Control Pictures (␛ for ESC, from `clean`) have no glyph in our fonts: write them as <ESC>-style
    escapes \\x1b so the reader still sees that something was there."""
    if not any("\u2400" <= ch <= "\u2421" for ch in text):
        return text
    return "".join(
        f"\\x{(ord(ch) - 0x2400) if ch != chr(0x2421) else 0x7F:02x}" if "\u2400" <= ch <= "\u2421" else ch
        for ch in text
    )


def render_pdf(report: DailyReport, lang: str) -> bytes:
    """An A4 PDF with the CJK font (`checkpoint.fonts.cjk_font`)."""
    from fpdf import FPDF

    from .fonts import cjk_font

    class _FontSafePDF(FPDF):
        """fpdf2 remembers "this page's font is set" even when the Tf it wrote was inside a q … Q pair (a
        coloured or fallback-font line), which the Q undoes: the next line of the same font was then written
        with no font at all ("No font in show", Latin text lost — seen on a later page, where every earlier
        line was in q … Q). Re-establishing the font before every cell costs one Tf operator."""

        def cell(self, *args: Any, **kwargs: Any) -> Any:
            self.current_font_is_set_on_page = False
            return super().cell(*args, **kwargs)

        def multi_cell(self, *args: Any, **kwargs: Any) -> Any:
            self.current_font_is_set_on_page = False
            return super().multi_cell(*args, **kwargs)

    w = _Words(report, lang)
    pdf = _FontSafePDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("cjk", "", str(cjk_font()))
    family = "cjk"
    latin = next((Path(p) for p in LATIN_FONTS if Path(p).is_file()), None)
    if latin is not None:  # Droid Sans Fallback has no Latin letters or digits: DejaVu draws those
        pdf.add_font("latin", "", str(latin))
        pdf.set_fallback_fonts(["cjk"], exact_match=False)
        family = "latin"
    pdf.set_title(w("title"))
    pdf.add_page()
    title, lines = w.heading()
    pdf.set_font(family, size=18)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    for line in lines:
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")

    def section(name: str) -> None:
        if pdf.will_page_break(24):  # never a heading alone at the foot of a page
            pdf.add_page()
        else:
            pdf.ln(3)
        pdf.set_font(family, size=13)
        pdf.cell(0, 8, name, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, size=9)

    for name, header, rows in w.tables():
        section(name)
        if not rows:
            pdf.cell(0, 6, w("none"), new_x="LMARGIN", new_y="NEXT")
            continue
        from fpdf.fonts import FontFace

        headings = FontFace(family=family, emphasis="", fill_color=(225, 230, 240))
        with pdf.table(text_align="LEFT", line_height=5.5, headings_style=headings) as table:
            table.row(header)
            for row in rows:
                table.row([_pdf_text(cell) for cell in row])
    chart_h = 40.0
    if pdf.will_page_break(chart_h + 24):
        pdf.add_page()
    section(w("hourly"))
    peak = max((h.total for h in report.hours), default=0) or 1
    top = pdf.get_y() + 4
    left = pdf.l_margin
    col = (pdf.w - pdf.l_margin - pdf.r_margin) / 24
    base = top + chart_h
    pdf.set_draw_color(150, 150, 150)
    pdf.line(left, base, left + 24 * col, base)
    pdf.set_font(family, size=7)
    for h in report.hours:
        x = left + h.hour * col + col * 0.15
        allowed_h = chart_h * (h.total - h.denied) / peak
        denied_h = chart_h * h.denied / peak
        pdf.set_fill_color(60, 120, 200)
        if allowed_h > 0:
            pdf.rect(x, base - allowed_h, col * 0.7, allowed_h, style="F")
        pdf.set_fill_color(210, 70, 60)
        if denied_h > 0:
            pdf.rect(x, base - allowed_h - denied_h, col * 0.7, denied_h, style="F")
        if h.total:
            pdf.set_xy(left + h.hour * col, base - allowed_h - denied_h - 3.5)
            pdf.cell(col, 3, str(h.total), align="C")
        pdf.set_xy(left + h.hour * col, base + 0.5)
        pdf.cell(col, 3, f"{h.hour:02d}", align="C")
    pdf.set_xy(left, base + 4.5)
    pdf.set_fill_color(60, 120, 200)
    pdf.rect(left, base + 5.3, 3, 2.5, style="F")
    pdf.set_x(left + 4)
    pdf.cell(30, 4, w("allow"))
    pdf.set_fill_color(210, 70, 60)
    pdf.rect(left + 34, base + 5.3, 3, 2.5, style="F")
    pdf.set_x(left + 38)
    pdf.cell(30, 4, w("deny"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=9)
    pdf.set_fill_color(255, 255, 255)
    section(w("clones"))
    for line in w.clones() or [w("none")]:
        pdf.multi_cell(0, 5.5, _pdf_text(line), new_x="LMARGIN", new_y="NEXT")
    section(w("verification"))
    state, vlines = w.verification()
    colours = {"ok": (0, 120, 0), "warn": (190, 110, 0), "bad": (190, 0, 0)}
    for i, line in enumerate(vlines):
        if i == 0 and state is not None:
            pdf.set_text_color(*colours[state])
        pdf.multi_cell(0, 5.5, _pdf_text(line), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())


def daily_report(
    log_path: Path,
    day: date,
    tz: ZoneInfo,
    *,
    station: str | None = None,
    verify: bool = True,
    own_keys: dict[str, Ed25519PublicKey] | None = None,
    progress: Callable[[int, int], None] | None = None,
    fever_threshold: float = 37.3,
    names: dict[str, str] | None = None,
) -> DailyReport:
    """The daily situation report of `day`, as `checkpoint report` and the audit screen make it: verify
    the log's chains and seals first (`progress(done, total)` as it goes; `verify=False` skips it),
    then count the day. `own_keys` checks this home's own seals; `names` names its stations."""
    from .store import open_reader, verify_log

    if not log_path.exists():
        raise error("cli.log.none_to_report", home=log_path.parent)
    verification = verify_log(log_path, own_keys or {}, progress) if verify else None
    conn = open_reader(log_path)
    try:
        return build_report(
            conn,
            day,
            tz,
            station=station,
            verification=verification,
            fever_threshold=fever_threshold,
            names=names,
        )
    finally:
        conn.close()


def report_file_name(day: date, fmt: ReportFormat, station: str | None = None) -> str:
    """`report-2026-02-03.pdf` (`report-2026-02-03-north-gate.pdf` for one station)."""
    return f"report-{day.isoformat()}{'-' + station if station else ''}.{fmt}"


def write_report(report: DailyReport, fmt: ReportFormat, lang: str, out: Path) -> None:
    if fmt == "pdf":
        data = render_pdf(report, lang)
    elif fmt == "html":
        data = render_html(report, lang).encode()
    elif fmt == "md":
        data = render_markdown(report, lang).encode()
    else:
        raise CheckpointError(f"Unknown report format {fmt!r}; use md, html or pdf.")
    atomic_write(out, data)
