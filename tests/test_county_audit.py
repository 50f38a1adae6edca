"""The audit screen over the county store on a real PostgreSQL server: the same screen, the same queries
(`audit.AuditLog`), a county of two stations; and the county's verification and rollup kept honest."""

from __future__ import annotations

import csv
from pathlib import Path

import psycopg
import pytest
from textual.widgets import DataTable, Select, Static

from checkpoint.audit import Filter, SQLiteLog, key_of, open_log
from checkpoint.county_reader import CountyLog
from checkpoint.paths import Home
from checkpoint.settings import LogSettings, Settings
from tests.conftest import run_cli
from tests.test_audit_tui import _screen, _settle, _text
from tests.test_bundle import _append, _export, _station, enrol
from tests.tui_helpers import wait_for
from tui.audit.app import AuditApp, make_app
from tui.audit.modals import DetailScreen, ReportScreen, VerifyScreen
from tui.audit.screen import AuditScreen

SIZE = (130, 42)


@pytest.fixture
def county(tmp_path: Path, county_url: str) -> Home:
    """A county home with two stations' bundles imported (north-gate 6 entries, east-gate 4)."""
    home = Home(tmp_path / "county").ensure()
    home.config.write_text(
        f'[station]\nid = "county"\n\n[log]\ndatabase = "{county_url}"\n', encoding="utf-8"
    )
    for station_id, n in (("north-gate", 6), ("east-gate", 4)):
        station = _station(tmp_path, station_id)
        _append(station, station_id, n)
        _export(station, tmp_path / f"{station_id}.bundle")
        enrol(station, home)  # the county takes bundles only from enrolled stations
        imported = run_cli(home, "bundle", "import", str(tmp_path / f"{station_id}.bundle"))
        assert imported.exit_code == 0, imported.output
    return home


def _app(home: Home, url: str) -> AuditApp:
    return make_app(home, Settings(log=LogSettings(database=url)), language="en")


def _rows(table: DataTable) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(str(table.get_row_at(i)[1]), str(table.get_row_at(i)[2])) for i in range(table.row_count)]


async def _verify(pilot, app: AuditApp) -> str:  # type: ignore[no-untyped-def]
    await pilot.press("f6")
    await wait_for(pilot, lambda: isinstance(app.screen, VerifyScreen) and app.screen.result is not None)
    screen = app.screen
    assert isinstance(screen, VerifyScreen)
    status = _text(screen.query_one("#verify-status", Static))
    await pilot.press("escape")
    await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen))
    return status


def test_the_audit_app_of_a_county_home_reads_the_server_not_log_db(county: Home, county_url: str) -> None:
    app = _app(county, county_url)
    assert isinstance(app.audit_log, CountyLog) and not county.log_db.exists()
    assert "127.0.0.1" in app.audit_log.label and "@" not in app.audit_log.label  # no password shown


async def test_the_audit_screen_over_the_county_filters_details_and_verifies(
    county: Home, county_url: str
) -> None:
    app = _app(county, county_url)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        table = screen.query_one("#entries", DataTable)
        expected = {("north-gate", str(s)) for s in range(1, 7)} | {
            ("east-gate", str(s)) for s in range(1, 5)
        }
        assert set(_rows(table)) == expected and table.row_count == 10
        assert "10 entries match" in _text(screen.query_one("#status", Static))

        screen.query_one("#station", Select).value = "east-gate"  # the station filter lists both
        await wait_for(pilot, lambda: table.row_count == 4 and not screen.loading)
        await _settle(pilot, app)
        assert {station for station, _ in _rows(table)} == {"east-gate"}
        assert "4 entries match" in _text(screen.query_one("#status", Static))

        table.move_cursor(row=0)
        table.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.check is not None)
        detail = app.screen
        assert isinstance(detail, DetailScreen) and detail.check is not None and detail.check.ok
        assert detail.entry.station_id == "east-gate"
        assert "This entry verifies" in _text(detail.query_one("#detail-chain", Static))
        await pilot.press("escape")

        status = await _verify(pilot, app)
        assert "VERIFIED: 10 entries" in status, status

        with psycopg.connect(county_url) as conn:  # a superuser edits a body behind the triggers' back
            conn.execute("SET session_replication_role = replica")
            conn.execute(
                "UPDATE entries SET body = replace(body, '\"in\"', '\"out\"') "
                "WHERE station_id = 'north-gate' AND seq = 3"
            )
        status = await _verify(pilot, app)
        assert "TAMPERED" in status and "north-gate: first bad entry 3" in status, status
        assert "east-gate" in status and "VERIFIED" not in status


async def test_export_and_the_daily_report_from_the_county_screen(county: Home, county_url: str) -> None:
    app = _app(county, county_url)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        await pilot.press("f7")
        await wait_for(pilot, lambda: screen.last_export is not None)
        assert screen.last_export is not None
        with Path(screen.last_export).open(encoding="utf-8-sig", newline="") as handle:
            records = list(csv.DictReader(handle))
        assert len(records) == 10
        assert {r["station_id"] for r in records} == {"north-gate", "east-gate"}

        day = screen.chart_day
        assert day is not None
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen))
        report = app.screen
        assert isinstance(report, ReportScreen)
        await pilot.press("down", "down", "enter")  # Markdown
        await wait_for(pilot, lambda: report.saved is not None, seconds=120)
        assert report.saved is not None and report.has_class("ok")  # verified before it was written
        text = report.saved.read_text(encoding="utf-8")
    assert "north-gate" in text and "east-gate" in text and day.isoformat() in text
    cli = run_cli(county, "report", "--date", day.isoformat(), "--lang", "en").stdout
    strip = lambda body: [line for line in body.splitlines() if not line.startswith("Generated")]  # noqa: E731
    assert strip(text) == strip(cli)


def test_a_county_and_a_township_of_the_same_bundles_answer_the_audit_alike(
    tmp_path: Path, county_url: str
) -> None:
    """One interface, two stores: every question the screen asks has the same answer on both."""
    county = Home(tmp_path / "county").ensure()
    county.config.write_text(f'[log]\ndatabase = "{county_url}"\n', encoding="utf-8")
    township = Home(tmp_path / "township").ensure()
    township.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    for station_id, n in (("north-gate", 7), ("east-gate", 5)):
        station = _station(tmp_path, station_id)
        _append(station, station_id, n)
        _export(station, tmp_path / f"{station_id}.bundle")
        for home in (county, township):
            enrol(station, home)
            done = run_cli(home, "bundle", "import", str(tmp_path / f"{station_id}.bundle"))
            assert done.exit_code == 0, done.output
    pg, lite = open_log(county_url, county.log_db), open_log("", township.log_db)
    assert isinstance(pg, CountyLog) and isinstance(lite, SQLiteLog)
    from checkpoint.timeutil import zone

    tz = zone("Asia/Shanghai")
    for flt in (Filter(), Filter(station="east-gate"), Filter(plate="a1"), Filter(operator="李")):
        first_pg, first_lite = pg.page(flt, limit=5), lite.page(flt, limit=5)
        assert [e.id for e in first_pg[0]] == [e.id for e in first_lite[0]]
        assert pg.count(flt) == lite.count(flt)
        if first_pg[0]:
            after = key_of(first_pg[0][-1])
            assert [e.id for e in pg.page(flt, after)[0]] == [e.id for e in lite.page(flt, after)[0]]
    today = pg.page(Filter(), limit=1)[0][0].ts.astimezone(tz).date()
    assert pg.hourly(Filter(), today, tz) == lite.hourly(Filter(), today, tz)
    assert set(pg.stations()) >= {"north-gate", "east-gate"}
    entry = lite.page(Filter(station="north-gate"), limit=1)[0][0]
    assert pg.detail(entry) == lite.detail(entry)
    assert pg.verify().ok and lite.verify().ok
    assert pg.verify().entries == lite.verify().entries == 12
    pg_report = pg.report(today, tz)
    lite_report = lite.report(today, tz)
    assert pg_report.totals == lite_report.totals
    assert [e.id for e in pg_report.fevers] == [e.id for e in lite_report.fevers]


def test_the_report_from_the_rollups_equals_the_report_counted_from_the_entries(
    tmp_path: Path, county_url: str
) -> None:
    """Totals, denials, shifts and the hourly chart from the rollups are what counting the raw entries
    gives, an overridden denial (counted once, by its override) and several days included."""
    import asyncio
    from dataclasses import replace
    from datetime import timedelta

    from checkpoint.county_reader import county_report, reading
    from checkpoint.models import Reason
    from checkpoint.report import build_report
    from checkpoint.store import LogStore
    from checkpoint.timeutil import utcnow, zone
    from tests.test_audit_data import draft

    north = _station(tmp_path, "north-gate")

    async def log() -> None:
        store = await LogStore.open(north.log_db, "north-gate")
        async with store:
            now = utcnow()
            for i in range(12):
                await store.append(draft("in" if i % 3 else "out"), now=now - timedelta(hours=30 - i))
            denied = await store.append(draft(reason=Reason.EXPIRED), now=now - timedelta(hours=2))
            await store.append(
                replace(
                    draft(reason=Reason.OVERRIDE, override_by="赵六", override_reason="救护"),
                    refers_to=denied.id,
                ),
                now=now - timedelta(hours=1),
            )
            await store.append(draft(reason=Reason.NO_PASS, category=None, pass_id=None), now=now)

    asyncio.run(log())
    _export(north, tmp_path / "n.bundle")
    county = Home(tmp_path / "county").ensure()
    county.config.write_text(f'[log]\ndatabase = "{county_url}"\n', encoding="utf-8")
    enrol(north, county)
    assert run_cli(county, "bundle", "import", str(tmp_path / "n.bundle")).exit_code == 0
    tz = zone("Asia/Shanghai")
    today = utcnow().astimezone(tz).date()
    days = [today - timedelta(days=n) for n in (2, 1, 0)]  # 30 hours back reach two days before today's
    for day in days:
        for station in (None, "north-gate"):
            rolled = county_report(county_url, day, tz, station=station)
            with reading(county_url) as reader:
                raw = build_report(reader.sqlite, day, tz, station=station)
            assert rolled.categories == raw.categories and rolled.denials == raw.denials
            assert rolled.shifts == raw.shifts and rolled.hours == raw.hours
            assert [e.id for e in rolled.fevers] == [e.id for e in raw.fevers]
            assert [e.id for e in rolled.overrides] == [e.id for e in raw.overrides]
    counted = sum(r.total for day in days for r in county_report(county_url, day, tz).categories)
    assert counted == 14  # 15 entries, the overridden denial counted once, by its override


def test_verification_reads_hostile_text_columns_on_its_fast_path(tmp_path: Path, county_url: str) -> None:
    """The columns check compares the body with the text rebuilt from the columns before any JSON is parsed:
    PostgreSQL must escape quotes, backslashes, control and bidi characters, Chinese and emoji exactly as
    the station's canonical body does, or every such row would take the slow path (still correct)."""
    import asyncio

    from checkpoint import county
    from checkpoint.store import LogStore
    from tests.test_audit_data import HOSTILE, draft

    north = _station(tmp_path, "north-gate")
    notes = [*HOSTILE, 'a"b\\c\n\t\x01\x7f', "鄂A·12345 🚑 \u2028", ""]

    async def log() -> None:
        store = await LogStore.open(north.log_db, "north-gate")
        async with store:
            for note in notes:
                await store.append(draft(note=note, operator=note or "李四"))

    asyncio.run(log())
    _export(north, tmp_path / "n.bundle")
    county_home = Home(tmp_path / "county").ensure()
    county_home.config.write_text(f'[log]\ndatabase = "{county_url}"\n', encoding="utf-8")
    enrol(north, county_home)
    assert run_cli(county_home, "bundle", "import", str(tmp_path / "n.bundle")).exit_code == 0
    with psycopg.connect(county_url) as conn:
        rebuilt = conn.execute(
            f"SELECT seq, body = '[' || {county._REBUILT} || ']' FROM entries ORDER BY seq"
        )
        assert [row[1] for row in rebuilt] == [True] * len(notes)
    assert county.verify(county_url).ok
