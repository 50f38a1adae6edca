"""The audit TUI driven by Pilot: filtering, paging, detail with the chain link, verification, export,
hostile text shown literally."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.widgets import DataTable, Input, Select, Static

from checkpoint.loadgen import build_log
from checkpoint.models import Reason
from checkpoint.paths import Home
from checkpoint.settings import Settings
from tests.test_audit_data import HOSTILE, alter, build_sample, override_plan, raw_rows
from tests.tui_helpers import notices, wait_for, wait_until_still
from tui.audit.app import AuditApp, make_app
from tui.audit.modals import DetailScreen, VerifyScreen
from tui.audit.screen import AuditScreen

SIZE = (130, 42)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    home = Home(tmp_path / "office").ensure()
    build_sample(home.log_db)
    return home


def _app(home: Home, language: str = "en") -> AuditApp:
    return make_app(home, Settings(), language=language)


async def _settle(pilot, app: AuditApp) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def _screen(app: AuditApp) -> AuditScreen:
    return next(s for s in app.screen_stack if isinstance(s, AuditScreen))


def _text(widget: Static) -> str:
    return str(widget.render())


def _plates(table: DataTable) -> list[str]:  # type: ignore[type-arg]
    return [str(table.get_row_at(i)[7]) for i in range(table.row_count)]


async def test_lists_everything_newest_first_with_the_clone_flagged(home: Home) -> None:
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        table = screen.query_one("#entries", DataTable)
        assert table.row_count == len(raw_rows(home.log_db))
        assert "14 entries match" in _text(screen.query_one("#status", Static))
        assert "Clone alerts: 1" in _text(screen.query_one("#status", Static))
        flags = [str(table.get_row_at(i)[11]) for i in range(table.row_count)]
        assert flags.count("CLONE?") == 2
        assert "Traffic by hour" in _text(screen.query_one("#chart"))  # type: ignore[arg-type]


async def test_filtering_by_plate_station_and_dates(home: Home) -> None:
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        table = screen.query_one("#entries", DataTable)
        await pilot.press("f2")
        screen.query_one("#plate", Input).value = "a·666"
        screen.query_one("#plate", Input).focus()
        await pilot.press("enter")
        await _settle(pilot, app)
        assert _plates(table) == ["鄂A·66666", "鄂A·66666"]
        screen.query_one("#plate", Input).value = ""
        screen.query_one("#station", Select).value = "north-gate"
        screen.query_one("#from", Input).value = "2026-02-03"
        screen.query_one("#until", Input).value = "2026-02-03"
        await pilot.press("f5")
        await _settle(pilot, app)
        expected = [r for r in raw_rows(home.log_db) if r["station_id"] == "north-gate"][
            1:
        ]  # not the day before
        assert table.row_count == len(expected) == 7
        await pilot.press("escape")
        await _settle(pilot, app)
        assert table.row_count == 14


async def test_a_bad_date_is_one_sentence_and_keeps_the_results(home: Home) -> None:
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        screen.query_one("#from", Input).value = "yesterday-ish"
        await pilot.press("f5")
        await pilot.pause()
        assert screen.query_one("#entries", DataTable).row_count == 14
        assert any("is not a date or time" in m for m in notices(app))


async def test_detail_shows_the_chain_link_and_hostile_text_literally(home: Home) -> None:
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        table = _screen(app).query_one("#entries", DataTable)
        row = next(i for i in range(table.row_count) if str(table.get_row_at(i)[8]) == "HOST0001")
        assert str(table.get_row_at(row)[7]) == "[/]"
        table.move_cursor(row=row)
        table.focus()
        await pilot.press("enter")
        await _settle(pilot, app)
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        fields = _text(detail.query_one("#detail-fields", Static))
        assert HOSTILE[0] in fields and "[/]" in fields and HOSTILE[3] in fields
        assert "\x1b" not in fields and "␛[31mred␛[0m" in fields
        chain = _text(detail.query_one("#detail-chain", Static))
        assert detail.check is not None and detail.check.hash in chain
        assert "This entry verifies" in chain and "Sealed by the station at entry 6" in chain
        await pilot.press("escape")
        assert isinstance(app.screen, AuditScreen)
        assert app.is_running  # the [@click=app.quit] text did not quit anything


async def test_detail_of_an_altered_entry_says_so(home: Home) -> None:
    alter(home.log_db, "north-gate", 3, "鄂A12345", "鄂A00000")
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        table = _screen(app).query_one("#entries", DataTable)
        row = next(
            i
            for i in range(table.row_count)
            if str(table.get_row_at(i)[1]) == "north-gate" and str(table.get_row_at(i)[2]) == "3"
        )
        table.move_cursor(row=row)
        table.focus()
        await pilot.press("enter")
        await _settle(pilot, app)
        assert "DOES NOT VERIFY" in _text(app.screen.query_one("#detail-chain", Static))


@pytest.mark.parametrize("tampered", [False, True])
async def test_verification_shows_progress_and_a_clear_verdict(home: Home, tampered: bool) -> None:
    if tampered:
        alter(home.log_db, "east-bridge", 2, "鄂A66666", "鄂A66667")
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        await pilot.press("f6")
        await _settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, VerifyScreen) and screen.result is not None
        status = _text(screen.query_one("#verify-status", Static))
        if tampered:
            assert "TAMPERED" in status and "east-bridge: first bad entry 2" in status
            assert screen.has_class("bad")
        else:
            assert "VERIFIED: 14 entries" in status and screen.has_class("ok")
        assert screen.query_one("ProgressBar").percentage == 1.0  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert isinstance(app.screen, AuditScreen)


async def test_export_writes_the_current_filter(home: Home) -> None:
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        screen.query_one("#fevers").value = True  # type: ignore[attr-defined]
        await _settle(pilot, app)
        assert screen.query_one("#entries", DataTable).row_count == 2
        await pilot.press("f7")
        await _settle(pilot, app)
        assert screen.last_export is not None
        data = Path(screen.last_export).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(data[3:].decode())))
        assert [r["plate"] for r in rows] == ["鄂A44444", "鄂A55555"]


async def test_pages_load_as_the_cursor_moves_down(tmp_path: Path) -> None:
    home = Home(tmp_path / "big").ensure()
    build_log(home.log_db, 700, stations=2, seed=3)
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        table = _screen(app).query_one("#entries", DataTable)
        assert table.row_count == 200
        table.focus()
        for _ in range(4):
            table.move_cursor(row=table.row_count - 1)
            await _settle(pilot, app)
        assert table.row_count == 700
        keys = [(str(table.get_row_at(i)[1]), int(str(table.get_row_at(i)[2]))) for i in range(700)]
        assert len(set(keys)) == 700


async def test_chinese_screen(home: Home) -> None:
    app = _app(home, "zh")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        assert "共 14 条符合" in _text(screen.query_one("#status", Static))
        table = screen.query_one("#entries", DataTable)
        assert {str(table.get_row_at(i)[4]) for i in range(table.row_count)} == {"放行", "禁止通行"}
        assert "分时段通行情况" in _text(screen.query_one("#chart"))  # type: ignore[arg-type]


def test_no_log_is_one_sentence(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    home = Home(tmp_path / "empty").ensure()
    result = run_cli(home, "audit")
    assert result.exit_code == 2 and "There is no traffic log" in result.output


async def test_chart_moves_a_day_with_the_bracket_keys(home: Home) -> None:
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        chart = screen.query_one("#chart")
        assert "2026-02-04" in _text(chart)  # type: ignore[arg-type]  # the newest entry's day
        screen.query_one("#entries", DataTable).focus()
        await pilot.press("left_square_bracket")
        await _settle(pilot, app)
        assert "2026-02-03" in _text(chart) and "peak 6" in _text(chart)  # type: ignore[arg-type]
        await pilot.press("left_square_bracket", "left_square_bracket")
        await _settle(pilot, app)
        assert "2026-02-01: no entries" in _text(chart)  # type: ignore[arg-type]


@pytest.mark.parametrize(("language", "size"), [("en", (80, 24)), ("en", SIZE), ("zh", (160, 40))])
async def test_reasons_are_whole_and_the_table_fills_the_width(
    home: Home, language: str, size: tuple[int, int]
) -> None:
    """Short reason labels that fit their column (never "Pass is not" / "Pass has bee"), and spare width
    given to the columns rather than left empty on the right."""
    app = _app(home, language)
    async with app.run_test(size=size) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        table = screen.query_one("#entries", DataTable)
        reason_width = table.columns["reason"].width  # type: ignore[index]
        for code in ("expired", "not_yet_valid", "revoked", "wrong_checkpoint", "too_many_occupants"):
            label = screen._reason(Reason(code))
            assert cell_len(label) <= reason_width, label
            assert label in (app.t(f"reason.{code}"), app.t(f"audit.reason.{code}"))
        shown = {str(table.get_row_at(i)[5]) for i in range(table.row_count)}
        assert shown <= {screen._reason(r) for r in Reason}
        assert screen._reason(Reason.EXPIRED) in shown
        if size[0] >= 160:  # room for the whole sentence
            assert screen._reason(Reason.WRONG_CHECKPOINT) == app.t("reason.wrong_checkpoint")
        used = sum(c.width + 2 * table.cell_padding for c in table.columns.values())
        if size[0] > 120:
            assert size[0] - 4 <= used <= size[0], (used, size)  # no empty band on the right


async def test_detail_time_has_an_offset_and_the_zone_not_cst(home: Home) -> None:
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        table = _screen(app).query_one("#entries", DataTable)
        table.move_cursor(row=0)
        table.focus()
        await pilot.press("enter")
        await _settle(pilot, app)
        fields = _text(app.screen.query_one("#detail-fields", Static))
        assert "UTC+8 (Asia/Shanghai)" in fields and "CST" not in fields


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_80x24_has_a_compact_filter_bar_and_room_for_results(home: Home, language: str) -> None:
    app = _app(home, language)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        assert screen.has_class("narrow")
        rows = list(screen.query(".filter-row"))
        assert [r.size.height for r in rows] == [1, 1]  # one line a row: nothing wraps
        for select in screen.query(Select):
            assert select.size.height == 1 and cell_len(select.prompt) <= select.size.width - 3, select.prompt
        for field in screen.query(Input):
            assert cell_len(field.placeholder) <= field.size.width, field.placeholder
        table = screen.query_one("#entries", DataTable)
        assert table.size.height - 1 >= 8  # at least 8 result rows visible (was 3)
        await pilot.resize_terminal(130, 42)
        await _settle(pilot, app)
        assert not screen.has_class("narrow")
        assert [r.size.height for r in screen.query(".filter-row")] == [3, 3]
        assert screen.query_one("#direction", Select).prompt.endswith(app.t("audit.filter.any"))


@pytest.fixture
def override_home(tmp_path: Path) -> Home:
    home = Home(tmp_path / "office-override").ensure()
    build_sample(home.log_db, override_plan())
    return home


async def test_the_log_lists_an_overridden_denial_marked_and_the_chart_counts_once(
    override_home: Home,
) -> None:
    home = override_home
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        table = screen.query_one("#entries", DataTable)
        assert table.row_count == len(raw_rows(home.log_db))  # the browse table is the whole log
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        pair = [r for r in rows if str(r[7]) == "鄂A·88888"]
        assert [(str(r[4]), str(r[11])) for r in pair] == [("ALLOW", ""), ("DENY", "LATER")]
        assert sum(1 for r in rows if str(r[11]) == "LATER") == 1
        screen.query_one("#entries", DataTable).focus()
        await pilot.press("left_square_bracket")
        await _settle(pilot, app)
        assert "2026-02-03" in _text(screen.query_one("#chart")) and "peak 7" in _text(
            screen.query_one("#chart")
        )  # type: ignore[arg-type]


def test_verify_and_export_with_helper_processes_under_the_ui(tmp_path: Path) -> None:
    """In a fresh interpreter, the audit screen verifies and exports with helper processes (as for any
    log big enough): the verdict arrives, and the exported file is the whole log in order."""
    import json
    import sqlite3
    import subprocess
    import sys

    home = Home(tmp_path / "big").ensure()
    build_log(home.log_db, 3000, stations=3, seed=8)
    done = subprocess.run(
        [sys.executable, "-m", "tests.audit_helpers_driver", str(home.root)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["verified"] == [True, 3000]
    rows = list(csv.DictReader(io.StringIO(Path(report["export"]).read_text(encoding="utf-8-sig"))))
    conn = sqlite3.connect(home.log_db)
    order = conn.execute("SELECT station_id, seq FROM entries ORDER BY ts, station_id, seq").fetchall()
    assert [(r["station_id"], int(r["seq"])) for r in rows] == order


async def test_a_log_that_cannot_be_verified_says_so_in_the_dialog(home: Home) -> None:
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        home.log_db.write_bytes(b"not a database at all " * 200)  # damaged after the screen opened
        await pilot.press("f6")
        await _settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, VerifyScreen) and screen.result is None
        status = _text(screen.query_one("#verify-status", Static))
        assert status.startswith("Could not verify the log:") and "not a traffic log" in status
        assert screen.has_class("bad")


async def test_an_export_that_fails_is_reported_in_one_sentence(home: Home) -> None:
    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        if home.exports.is_dir():
            home.exports.rmdir()
        home.exports.write_text("a file where the exports folder should be")
        await pilot.press("f7")
        await _settle(pilot, app)
        messages = notices(app)
        assert _screen(app).last_export is None
        assert any(str(home.exports) in m and "\n" not in m for m in messages), messages


async def test_audit_palette_in_chinese_has_no_english_system_commands(home: Home) -> None:
    from tests.test_office_tui import assert_chinese_system_commands, choose, open_palette

    app = _app(home, "zh")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        listed = await open_palette(pilot, app)
        assert_chinese_system_commands(app, listed)
        assert {"查询", "核查记录", "导出", "清除"} <= {title for title, _ in listed}  # the app's own
        await choose(pilot, app, "退出")
    assert app.return_code == 0


async def test_audit_results_can_be_maximized_from_the_palette_in_chinese(home: Home) -> None:
    from tests.test_office_tui import choose, open_palette

    app = _app(home, "zh")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        await pilot.press("f3")
        table = _screen(app).query_one("#entries", DataTable)
        assert app.focused is table
        assert "最大化" in [title for title, _ in await open_palette(pilot, app)]
        await choose(pilot, app, "最大化")
        assert _screen(app).maximized is table
        assert "还原" in [title for title, _ in await open_palette(pilot, app)]
        await choose(pilot, app, "还原")
        assert _screen(app).maximized is None


async def test_audit_key_bar_in_chinese_says_commands_not_palette(home: Home) -> None:
    app = _app(home, "zh")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        keys = " ".join(str(getattr(key, "description", "")) for key in app.screen.query("FooterKey"))
        assert "命令" in keys and "palette" not in keys, keys


# -- the results table on a small laptop screen (80×24) --------------------------------------------------

ESSENTIAL = ("time", "station", "direction", "decision", "reason", "plate", "fevers", "flag")


def _table_text(table: DataTable) -> list[str]:  # type: ignore[type-arg]
    """The table's lines as the terminal shows them (a wide character once, as it is drawn)."""
    from textual.geometry import Region

    strips = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    return ["".join(segment.text for segment in strip) for strip in strips]


def _shown(table: DataTable) -> dict[str, int]:  # type: ignore[type-arg]
    """Cells of text per shown column (a hidden column is 0 wide; with no padding one cell is the gap)."""
    gap = 0 if table.cell_padding else 1
    return {key.value: c.width - gap for key, c in table.columns.items() if c.width}


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_80x24_shows_the_plate_and_whole_headers(home: Home, language: str) -> None:
    """At 80×24 the row fits: time, station, direction, decision, reason, plate and the fever and alert
    marks are on screen, every header and every cell whole (no "方" for 方向, no "车" for 车牌号)."""
    app = _app(home, language)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot, app)
        table = _screen(app).query_one("#entries", DataTable)
        shown = _shown(table)
        assert set(ESSENTIAL) <= set(shown), shown
        drawn = sum(c.get_render_width(table) for c in table.columns.values() if c.width)
        assert drawn + 2 <= 80, drawn  # the scrollbar too: nothing off screen, no horizontal scrolling
        for key, column in table.columns.items():
            if column.width:
                assert cell_len(str(column.label)) <= shown[key.value], (key, str(column.label))
        for i in range(table.row_count):
            for key, content in zip(table.columns, table.get_row_at(i), strict=True):
                if key.value in shown:
                    assert cell_len(str(content)) <= shown[key.value], (key, str(content))
        lines = _table_text(table)
        header = lines[0]
        for key in shown:
            assert app.t(f"audit.col.{key}") in header, (key, header)
        plate = table.get_column_index("plate")
        assert str(table.get_row_at(0)[plate]) == "鄂A·12345"
        assert any("鄂A·12345" in line for line in lines[1:]), lines  # a real plate, on screen
        assert any(app.t("audit.clone.flag") in line for line in lines[1:])
        flagged = [line for line in lines if "鄂A·44444" in line]  # the fever denial: its mark is shown
        assert flagged and flagged[0].rstrip().endswith("1"), flagged


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_columns_fit_every_width_and_come_back_when_wide(home: Home, language: str) -> None:
    app = _app(home, language)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        table = screen.query_one("#entries", DataTable)
        for width in (80, 90, 99, 100, 110, 120, 130, 160):
            await pilot.resize_terminal(width, 40)
            await _settle(pilot, app)
            await wait_for(pilot, lambda width=width: app.size.width == width)  # type: ignore[misc]
            await wait_until_still(pilot, lambda: [(k, c.width) for k, c in table.columns.items()])
            shown = _shown(table)
            assert set(ESSENTIAL) <= set(shown), (width, shown)
            drawn = sum(c.get_render_width(table) for c in table.columns.values() if c.width)
            assert width - 4 <= drawn + 2 <= width, (width, drawn)
            header = _table_text(table)[0]
            for key in shown:
                assert app.t(f"audit.col.{key}") in header, (width, key, header)
        assert table.cell_padding == 1 and len(shown) == len(table.columns)  # 160: every column, 2 apart
        assert "east-bridge" in {str(table.get_row_at(i)[1]) for i in range(table.row_count)}  # not cut


def test_column_layout_hides_the_least_useful_columns_first() -> None:
    from tui.audit.screen import COLUMNS, OPTIONAL, column_layout

    floors = {
        "direction": 3,
        "decision": 8,
        "reason": 14,
        "category": 9,
        "fevers": 5,
        "flag": 6,
        "operator": 8,
    }
    wide = column_layout(200, floors)
    assert wide.gap == 2 and all(wide.widths.values())
    narrow = column_layout(80, floors, {"station": 11}, {"reason": 45})
    assert narrow.gap == 1
    assert {k for k in COLUMNS if not narrow.widths[k]} == set(OPTIONAL)  # seq, pass, operator, category
    assert narrow.widths["station"] == 11 and narrow.widths["reason"] > 14  # the spare: fuller reasons
    assert sum(w + 1 for w in narrow.widths.values() if w) + 2 <= 80
    assert all(narrow.widths[k] >= max(COLUMNS[k], floors.get(k, 0)) for k in COLUMNS if narrow.widths[k])
    crowded = column_layout(80, floors, {"station": 16})  # a long station id that cannot fit: cut, not hidden
    assert crowded.widths["station"] >= 10 and sum(w + 1 for w in crowded.widths.values() if w) + 2 <= 80


async def test_short_screen_hides_the_chart_and_f4_brings_it_back(home: Home) -> None:
    app = _app(home, "zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        chart = screen.query_one("#chart")
        table = screen.query_one("#entries", DataTable)
        assert not chart.display
        assert table.size.height - 1 >= 14  # every entry of the sample (14) on screen, was 10
        assert screen.check_action("prev_day", ()) is None  # the day keys are greyed with no chart
        await pilot.press("f4")
        await _settle(pilot, app)
        assert chart.display and "分时段通行情况" in _text(chart)  # type: ignore[arg-type]
        assert screen.check_action("prev_day", ()) is True
        await pilot.press("left_square_bracket")
        await _settle(pilot, app)
        assert "2026-02-03" in _text(chart)  # type: ignore[arg-type]
        await pilot.press("f4")
        await _settle(pilot, app)
        assert not chart.display
        await pilot.resize_terminal(80, 40)  # F4's choice stays when the screen grows
        await _settle(pilot, app)
        assert not chart.display
    app = _app(home, "en")
    async with app.run_test(size=(80, 25)) as pilot:  # taller than 24 lines: shown
        await _settle(pilot, app)
        assert _screen(app).query_one("#chart").display


async def test_an_override_and_its_denial_name_each_other_in_the_detail(override_home: Home) -> None:
    app = _app(override_home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        table = _screen(app).query_one("#entries", DataTable)
        table.focus()
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        seen = {}
        for index, row in enumerate(rows):
            if str(row[7]) != "鄂A·88888":
                continue
            table.move_cursor(row=index)
            await pilot.press("enter")
            await _settle(pilot, app)
            assert isinstance(app.screen, DetailScreen)
            seen[str(row[4])] = _text(app.screen.query_one("#detail-chain", Static))
            await pilot.press("escape")
            await _settle(pilot, app)
        assert "Lets through the denied entry north-gate #" in seen["ALLOW"]
        assert "Let through later by entry north-gate #" in seen["DENY"]


async def test_the_palette_says_what_each_command_does(home: Home) -> None:
    """It listed "Apply / Apply", "Verify / Verify": the title twice."""
    for language in ("en", "zh"):
        app = _app(home, language)
        async with app.run_test(size=SIZE) as pilot:
            await _settle(pilot, app)
            commands = list(app.get_system_commands(app.screen))
            ours = [c for c in commands if c.callback.__name__.startswith("action_")]
            assert len(ours) >= 5
            for command in commands:
                assert command.title != command.help, command.title


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_f8_saves_the_daily_report_of_the_chart_day(home: Home, language: str) -> None:
    from tests.test_report import _pdf_pages
    from tui.audit.modals import ReportScreen

    app = _app(home, language)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        day = _screen(app).chart_day
        assert day is not None
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen))
        report = app.screen
        assert isinstance(report, ReportScreen)
        await pilot.press("enter")  # the first format: PDF
        await wait_for(pilot, lambda: report.saved is not None, seconds=120)
        assert report.saved == home.exports / f"report-{day.isoformat()}.pdf"
        assert report.saved.read_bytes().startswith(b"%PDF")
        status = _text(report.query_one("#report-status", Static))
        assert str(report.saved) in status.replace("\n", "")
        await pilot.press("escape")
        assert isinstance(app.screen, AuditScreen)
    pages = "\n".join(_pdf_pages(report.saved))
    title = "每日情况汇报" if language == "zh" else "Daily situation report"
    assert title in pages and day.isoformat() in pages


async def test_the_report_in_markdown_from_the_audit_is_the_cli_report(home: Home) -> None:
    from tests.conftest import run_cli
    from tui.audit.modals import ReportScreen

    app = _app(home)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        day = _screen(app).chart_day
        assert day is not None
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen))
        report = app.screen
        assert isinstance(report, ReportScreen)
        await pilot.press("down", "down", "enter")  # Markdown
        await wait_for(pilot, lambda: report.saved is not None, seconds=120)
        assert report.saved is not None
        saved = report.saved.read_text(encoding="utf-8")
    cli = run_cli(home, "report", "--date", day.isoformat(), "--lang", "en").stdout
    strip = lambda text: [line for line in text.splitlines() if not line.startswith("Generated")]  # noqa: E731
    assert strip(saved) == strip(cli)


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)], ids=["80", "100", "120"])
@pytest.mark.parametrize("language", ["en", "zh"])
async def test_the_key_bar_fits_with_report_and_help(
    home: Home, language: str, size: tuple[int, int]
) -> None:
    app = _app(home, language)
    async with app.run_test(size=size) as pilot:
        await _settle(pilot, app)

        def laid_out() -> list[tuple[str, object]]:
            keys = app.screen.query("FooterKey")
            return [(key.action, key.region) for key in keys if key.display and key.region.area]

        await wait_for(pilot, lambda: any(action == "report" for action, _ in laid_out()))
        await wait_until_still(pilot, laid_out)
        footer = app.screen.query_one("Footer")
        shown = [key for key in footer.query("FooterKey") if key.display and key.region.area]
        for key in shown:  # wholly inside the bar and not under another key
            assert footer.region.contains_region(key.region), (key.action, key.region)
            assert not any(key.region.overlaps(k.region) for k in shown if k is not key), key.action
        actions = {key.action.removeprefix("app.") for key in shown}
        assert {"apply", "verify", "export", "report", "clear", "help"} <= actions


async def test_a_bad_date_is_said_in_chinese_on_the_chinese_screen(home: Home) -> None:
    app = _app(home, "zh")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        _screen(app).query_one("#from", Input).value = "yesterday-ish"
        await pilot.press("f5")
        await wait_for(pilot, lambda: bool(notices(app)))
        assert any("'yesterday-ish' 不是日期或时间" in m for m in notices(app)), notices(app)
