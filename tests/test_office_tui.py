"""The office TUI driven by Pilot: issue, find, revoke, renew, export, rotate; hostile text stays literal."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from pyzbar import pyzbar
from textual.widgets import DataTable, Input, Select, Static

from checkpoint.keys import Keyring, TrustList, load_trust, read_json
from checkpoint.models import Category, PassData
from checkpoint.passes import sign_pass
from checkpoint.paths import Home
from checkpoint.registry import Registry
from checkpoint.revocations import load_list
from checkpoint.settings import load_settings
from checkpoint.text import cell_width
from checkpoint.timeutil import fmt_local
from tui.office.app import OfficeApp, make_app
from tui.office.screen import IssueScreen, PassDetailScreen, PassListScreen

from .conftest import NOW
from .tui_helpers import notices, wait_for, wait_until_still

SIZE = (120, 40)


def office_app(home: Home, language: str = "en") -> OfficeApp:
    return make_app(home, load_settings(home.config), language=language, clock=lambda: NOW)


def seed(home: Home) -> list[str]:
    """Passes with fixed ids (stable snapshots): valid, expiring, expired, revoked, hostile holder."""
    keyring = Keyring(home.office_keys, "Test township office")
    key = keyring.active()
    private = keyring.private_key(key.key_id)
    rows = [
        ("AAAA0001", Category.MEDICAL, "鄂A10001", "张三", "县人民医院", 10),
        ("AAAA0002", Category.EMERGENCY, "鄂A12002", "李四", "县消防大队", 2),
        ("AAAA0003", Category.OFFICIAL, "鄂A13003", "王五", "镇人民政府", -2),
        ("AAAA0004", Category.MEDICAL, "鄂B14004", "赵六", "乡卫生院", 8),
        ("AAAA0005", Category.OFFICIAL, "鄂A15005", "[bold red]X[/]", "[@click=app.quit]x[/]", 6),
    ]
    registry = Registry(home.registry, keyring)
    items = []
    for n, (pass_id, category, plate, holder, org, days) in enumerate(rows):
        data = PassData(
            pass_id=pass_id, key_id=key.key_id, category=category, plate=plate, holder=holder, org=org,
            valid_from=NOW - timedelta(days=20), valid_until=NOW + timedelta(days=days), checkpoints=(),
            max_occupants=4, issued_at=NOW - timedelta(days=20, minutes=n),
        )  # fmt: skip
        items.append((data, sign_pass(data, private), None))
    registry.store(items)
    registry.revoke("AAAA0004", "duty ended", now=NOW - timedelta(days=1))
    registry.close()
    return [r[0] for r in rows]


def rows_of(app: OfficeApp) -> list[str]:
    table = app.screen.query_one("#passes", DataTable)
    return [str(key.value) for key in table.rows]


def text_of(widget: Static) -> str:
    return str(widget.render())


async def fill_form(pilot, **values: str) -> None:  # type: ignore[no-untyped-def]
    screen = pilot.app.screen
    assert isinstance(screen, IssueScreen)
    for name, value in values.items():
        if name == "category":
            screen.query_one("#f-category", Select).value = value
        else:
            screen.query_one(f"#f-{name}", Input).value = value
    await pilot.pause()


async def test_issue_find_revoke_renew_export(office_home: Home, tmp_path: Path) -> None:
    app = office_app(office_home)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, PassListScreen)
        await pilot.press("f2")
        assert isinstance(app.screen, IssueScreen)
        await fill_form(pilot, plate="鄂a·54321", category="medical", holder="孙七", org="县人民医院",
                        valid_from="2026-02-03", valid_until="2026-02-20", occupants="3")  # fmt: skip
        await pilot.press("ctrl+s")
        await pilot.pause()
        (issued,) = app.desk.registry.list()
        assert issued.data.plate == "鄂A54321" and issued.data.holder == "孙七"
        assert issued.data.max_occupants == 3
        assert "Pass " in text_of(app.screen.query_one("#issued-note", Static))
        # F9: the card to print and the QR image for a phone, into <home>/exports.
        await pilot.press("f9")
        await pilot.pause()
        png = office_home.exports / f"{issued.data.pass_id}_鄂A54321.png"
        assert png.with_suffix(".pdf").stat().st_size > 0
        with Image.open(png) as image:
            (symbol,) = pyzbar.decode(image.convert("L"))
        assert symbol.data.decode() == issued.payload
        # Ctrl+S again: the same vehicle, category and dates → no duplicate.
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert len(app.desk.registry.list()) == 1

        await pilot.press("escape")
        assert isinstance(app.screen, PassListScreen)
        app.desk.registry.issue(_request("鄂A99999"), now=NOW - timedelta(minutes=5))
        app.screen.refresh_list()  # type: ignore[attr-defined]
        assert len(rows_of(app)) == 2
        await pilot.press("f3")
        await pilot.press(*"54321")
        await wait_for(pilot, lambda: len(rows_of(app)) == 1)  # the list waits for a pause in typing
        assert rows_of(app) == [issued.data.pass_id]

        # Revoke, behind a reason and a confirmation.
        await pilot.press("enter")  # search → table
        await pilot.press("f4")
        await pilot.press("ctrl+s")  # no reason yet: refused
        await pilot.pause()
        assert app.desk.registry.get(issued.data.pass_id).revoked_at is None
        await pilot.press(*"lost")
        await pilot.press("ctrl+s")
        await pilot.pause()
        revoked = app.desk.registry.get(issued.data.pass_id)
        assert revoked.revoked_at is not None and revoked.revoke_reason == "lost"
        home_list = load_list(office_home.revocations, load_trust(office_home.trust))
        assert home_list.is_revoked(issued.data.pass_id)

        # Renew the other pass from its detail view.
        app.screen.query_one("#search", Input).value = "99999"
        await wait_for(pilot, lambda: len(rows_of(app)) == 1 and rows_of(app) != [issued.data.pass_id])
        (other_id,) = rows_of(app)
        app.screen.query_one("#passes", DataTable).focus()
        await pilot.press("enter")
        assert isinstance(app.screen, PassDetailScreen)
        await pilot.press("f5")
        await pilot.pause()
        app.screen.query_one("#valid_until", Input).value = "2026-03-31"
        await pilot.press("ctrl+s")
        await pilot.pause()
        old = app.desk.registry.get(other_id)
        assert old.revoke_reason is not None and old.revoke_reason.startswith("renewed as ")
        new_id = old.revoke_reason.removeprefix("renewed as ")
        new = app.desk.registry.get(new_id)
        assert new.replaces == other_id and new.data.plate == "鄂A99999"
        assert isinstance(app.screen, PassDetailScreen) and app.screen.pass_id == new_id
        await pilot.press("escape")

        # Export trust + revocations to a folder (a USB stick).
        usb = tmp_path / "usb"
        usb.mkdir()
        await pilot.press("f6")
        app.screen.query_one("#folder", Input).value = str(usb)
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        trust = TrustList.from_json(read_json(usb / "trust.json"), "trust.json")
        exported = load_list(usb / "revocations.json", trust)
        assert exported.is_revoked(issued.data.pass_id) and exported.is_revoked(other_id)
        assert "revocations.json" in text_of(app.screen.query_one("#result", Static))
        await pilot.press("escape")
    assert app.return_code in (None, 0)


def _request(plate: str):  # type: ignore[no-untyped-def]
    from .conftest import request

    return request(plate=plate)


async def test_form_validation_names_each_bad_field(office_home: Home) -> None:
    app = office_app(office_home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await fill_form(pilot, plate="12", holder="a\x1b[2Jb", valid_from="2026-02-10",
                        valid_until="2026-02-01", occupants="0", checkpoints="north gate")  # fmt: skip
        await pilot.press("ctrl+s")
        await pilot.pause()
        errors = {n: text_of(app.screen.query_one(f"#e-{n}", Static)) for n in ("plate", "category", "holder",
                  "valid_until", "occupants", "checkpoints", "org")}  # fmt: skip
        assert errors["plate"].startswith("'12' is not a plate number")  # the bad value quoted
        assert "category" in errors["category"].lower() or "emergency" in errors["category"]
        assert "control" in errors["holder"]
        assert "after" in errors["valid_until"]
        assert "1 to 60" in errors["occupants"]
        assert errors["checkpoints"].startswith("'north gate' is not a checkpoint id")
        assert errors["org"] == ""
        assert app.desk.registry.list() == []
        # The preview shows the typed holder literally, its ESC made visible.
        preview = text_of(app.screen.query_one("#card-fields", Static))
        assert "\x1b" not in preview and "␛[2J" in preview


async def test_list_filters_and_hostile_text_stays_literal(office_home: Home) -> None:
    ids = seed(office_home)
    app = office_app(office_home)
    async with app.run_test(size=SIZE) as pilot:
        assert rows_of(app) == ids
        status = app.screen.query_one("#status", Select)
        for value, expected in (("revoked", ["AAAA0004"]), ("expiring", ["AAAA0002"]), ("expired", ["AAAA0003"]),
                                ("valid", ["AAAA0001", "AAAA0005"])):  # fmt: skip
            status.value = value  # (Select.Changed is a message: on a loaded machine it takes a while)
            await wait_for(pilot, lambda expected=expected: rows_of(app) == expected)  # type: ignore[misc]
            assert rows_of(app) == expected, value
        status.clear()
        app.screen.query_one("#category", Select).value = "official"
        await wait_for(pilot, lambda: rows_of(app) == ["AAAA0003", "AAAA0005"])
        table = app.screen.query_one("#passes", DataTable)
        assert str(table.get_row("AAAA0005")[3]) == "[bold red]X[/]"
        assert str(table.get_row("AAAA0005")[4]) == "[@click=app.quit]x[/]"
        table.move_cursor(row=1)
        await pilot.press("enter")
        assert isinstance(app.screen, PassDetailScreen)
        fields = text_of(app.screen.query_one("#card-fields", Static))
        assert "[bold red]X[/]" in fields and "[@click=app.quit]x[/]" in fields
        await pilot.click("#card-fields")  # a live [@click] would quit the app
        await pilot.pause()
        assert app.is_running
        # A revoked pass can be neither revoked nor renewed again.
        await pilot.press("escape")
        app.screen.query_one("#category", Select).clear()
        app.screen.query_one("#search", Input).value = "AAAA0004"
        await wait_for(pilot, lambda: rows_of(app) == ["AAAA0004"])
        assert app.screen.check_action("revoke", ()) is None
        assert app.screen.check_action("renew", ()) is None


async def test_key_rotation_warns_then_rotates(office_home: Home) -> None:
    app = office_app(office_home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f7")
        warning = text_of(app.screen.query_one(".warning", Static))
        assert "unknown key" in warning and "30 days" in warning
        await pilot.press("escape")
        assert len(app.desk.keyring.keys()) == 1
        await pilot.press("f7")
        await pilot.press("ctrl+s")
        await pilot.pause()
        keys = app.desk.keyring.keys()
        assert len(keys) == 2 and keys[1].active and keys[0].valid_until == NOW + timedelta(days=30)
        assert {k.key_id for k in load_trust(office_home.trust).keys} == {k.key_id for k in keys}


async def test_chinese_screens(office_home: Home) -> None:
    seed(office_home)
    app = office_app(office_home, "zh")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#passes", DataTable)
        assert str(table.get_row("AAAA0001")[2]) == "医护人员"
        assert str(table.get_row("AAAA0004")[6]) == "已作废"
        await pilot.press("f2")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert text_of(app.screen.query_one("#e-plate", Static)) == "请填写车牌号，不能留空。"
        await fill_form(pilot, plate="XYZ")
        assert "车牌号格式不对：'XYZ'" in text_of(app.screen.query_one("#e-plate", Static))


def test_office_without_keys_is_one_sentence(tmp_path: Path) -> None:
    from .conftest import run_cli

    result = run_cli(Home(tmp_path / "empty"), "office")
    assert result.exit_code == 2 and "has no office keys" in result.stderr


def test_catalogs_have_the_same_keys() -> None:
    import json

    base = Path(__file__).parent.parent / "checkpoint" / "locale"
    en = json.loads((base / "office.en.json").read_text(encoding="utf-8"))
    zh = json.loads((base / "office.zh.json").read_text(encoding="utf-8"))
    assert set(en) == set(zh)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_snapshot_issue_form(office_home: Home, snap_compare, language: str) -> None:  # type: ignore[no-untyped-def]
    async def open_form(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("f2")
        await pilot.pause()
        for widget in pilot.app.screen.query(Input):
            widget.cursor_blink = False
        await pilot.pause()

    assert snap_compare(office_app(office_home, language), terminal_size=SIZE, run_before=open_form)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_snapshot_pass_list(office_home: Home, snap_compare, language: str) -> None:  # type: ignore[no-untyped-def]
    seed(office_home)

    async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
        for widget in pilot.app.screen.query(Input):
            widget.cursor_blink = False
        await pilot.pause()

    assert snap_compare(office_app(office_home, language), terminal_size=SIZE, run_before=settle)


async def test_batch_screen_all_or_nothing(office_home: Home, tmp_path: Path) -> None:
    source = tmp_path / "batch.csv"
    header = "plate,category,holder,org,valid_from,valid_until,checkpoints,occupants\n"
    good = "鄂A30001,医护人员,张三,县人民医院,2026-02-03,2026-02-20,,4\n鄂A30002,emergency,李四,,,,,2\n"
    source.write_bytes((header + good + "XX,spaceship,x,y,,,,1\n").encode("gbk"))
    out = tmp_path / "out"
    app = office_app(office_home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f8")
        app.screen.query_one("#file", Input).value = str(source)
        app.screen.query_one("#out", Input).value = str(out)
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = text_of(app.screen.query_one("#row-errors", Static)).splitlines()
        assert [line.split(":")[0] for line in shown] == ["line 4", "line 4"], shown  # plate and category
        assert app.desk.registry.list() == []
        source.write_bytes((header + good).encode("gbk"))
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(app.desk.registry.list()) == 2
        assert "Issued 2 new pass(es)" in text_of(app.screen.query_one("#result", Static))
        assert len(list(out.glob("*_鄂A3000*.png"))) == 2 and (out / "cards.pdf").exists()
        await pilot.press("ctrl+s")  # again: nothing new
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Issued 0 new pass(es); 2 already existed" in text_of(app.screen.query_one("#result", Static))
        await pilot.press("escape")
        assert len(rows_of(app)) == 2


async def test_long_list_is_capped_and_says_so(office_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.office import screen as office_screens

    monkeypatch.setattr(office_screens, "MAX_ROWS", 3)
    seed(office_home)
    app = office_app(office_home)
    async with app.run_test(size=SIZE) as pilot:
        assert len(rows_of(app)) == 3
        assert "First 3 of 5 matching passes (5 in all)" in text_of(app.screen.query_one("#summary", Static))
        await pilot.press("f3")
        await pilot.press(*"A1500", "enter")  # Enter searches at once
        assert rows_of(app) == ["AAAA0005"]
        assert text_of(app.screen.query_one("#summary", Static)) == "1 of 5 passes shown"


def matrix_from_half_blocks(lines: list[str]) -> list[list[bool]]:
    """The QR modules back from the on-screen text (two module rows per line)."""
    top = {" ": False, "▀": True, "▄": False, "█": True}
    bottom = {" ": False, "▀": False, "▄": True, "█": True}
    rows: list[list[bool]] = []
    for line in lines:
        rows.append([top[ch] for ch in line])
        rows.append([bottom[ch] for ch in line])
    return rows


@pytest.mark.parametrize("checkpoints", ["", "north-gate, east-road"])
async def test_issued_qr_is_whole_on_screen_at_120x40(office_home: Home, checkpoints: str) -> None:
    from checkpoint.cards import fast_matrix

    app = office_app(office_home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await fill_form(pilot, plate="鄂A54321", category="medical", holder="孙七李八", org="通山县人民医院",
                        checkpoints=checkpoints, occupants="3")  # fmt: skip
        await pilot.press("ctrl+s")
        await pilot.pause()
        (issued,) = app.desk.registry.list()
        matrix = fast_matrix(issued.payload)
        qr = app.screen.query_one("#card-qr", Static)
        lines = text_of(qr).split("\n")
        # Every module row, the 4-module quiet zone included, and nothing else.
        assert len(lines) == (len(matrix) + 1) // 2
        assert matrix_from_half_blocks(lines)[: len(matrix)] == matrix
        assert not any(matrix[0]) and not any(matrix[-1])  # the quiet zone rows are there
        # ... and it is on screen, not clipped at the bottom nor hidden under anything.
        app.clear_notifications()
        await pilot.pause()
        region = qr.region
        assert region.height == len(lines) and region.bottom <= SIZE[1] - 1  # above the footer
        for x, y in (
            (region.x, region.y),
            (region.right - 1, region.bottom - 1),
            (region.x, region.bottom - 1),
        ):
            widget, _ = app.screen.get_widget_at(x, y)
            assert widget is qr
        note = app.screen.query_one("#issued-note", Static)
        assert "Pass " in text_of(note) and 0 < note.region.bottom <= SIZE[1] - 1  # the note is on screen too
        # The text as shown scans.
        n = len(matrix)
        image = Image.new("L", (n * 4, n * 4), 255)
        for r, row in enumerate(matrix_from_half_blocks(lines)[:n]):
            for c, dark in enumerate(row):
                if dark:
                    image.paste(0, (c * 4, r * 4, c * 4 + 4, r * 4 + 4))
        (symbol,) = pyzbar.decode(image)
        assert symbol.data.decode() == issued.payload


@pytest.mark.parametrize("option", ["--lang", "--language"])
def test_cli_lang_option_like_station_and_audit(
    office_home: Home, monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    from .conftest import run_cli

    languages: list[str] = []
    # The real app is built by the command; only its run() (which would take the terminal) is replaced.
    monkeypatch.setattr(OfficeApp, "run", lambda self, **_: languages.append(self.t.lang))
    result = run_cli(office_home, "office", option, "zh")
    assert result.exit_code == 0, result.output
    assert languages == ["zh"]
    assert run_cli(office_home, "office", option, "fr").exit_code == 2


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_list_fits_80x24_dropping_the_organisation_first(office_home: Home, language: str) -> None:
    seed(office_home)
    app = office_app(office_home, language)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#passes", DataTable)
        keys = [str(column.key.value) for column in table.ordered_columns]
        assert keys == ["pass_id", "plate", "category", "holder", "valid_until", "status"]
        # Every column is on screen: nothing to scroll sideways to.
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert table.max_scroll_x == 0
        row = [str(value) for value in table.get_row("AAAA0004")]
        assert row[4] == fmt_local(app.desk.registry.get("AAAA0004").data.valid_until, app.tz)
        assert row[5] == ("已作废" if language == "zh" else "revoked")
        # Wide again: the organisation comes back, rows keep their order.
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        keys = [str(column.key.value) for column in table.ordered_columns]
        assert "org" in keys and rows_of(app)[0] == "AAAA0001"


async def test_issue_form_fits_80_columns_and_palette_is_translated(office_home: Home) -> None:
    app = office_app(office_home, "zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        for name in ("plate", "holder", "org", "valid_from", "valid_until", "checkpoints"):
            field = app.screen.query_one(f"#f-{name}", Input)
            # The whole hint shows: the input is wider than its placeholder.
            assert cell_width(field.placeholder) < field.content_region.width, name
        footer_text = " ".join(str(getattr(key, "description", "")) for key in app.screen.query("FooterKey"))
        assert "命令" in footer_text and "palette" not in footer_text


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_hints_are_whole_beside_the_issued_card_at_120x40(office_home: Home, language: str) -> None:
    app = office_app(office_home, language)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await fill_form(pilot, plate="鄂A54321", category="medical", occupants="3")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.desk.registry.list()  # issued: the card (with its QR) is at its widest
        for name in ("plate", "holder", "org", "valid_from", "valid_until", "checkpoints"):
            field = app.screen.query_one(f"#f-{name}", Input)
            assert cell_width(field.placeholder) < field.content_region.width, name


# -- the command palette in Chinese: no English system commands ---------------------------------

ENGLISH_SYSTEM_COMMANDS = ("Quit", "Keys", "Theme", "Screenshot", "Maximize", "Minimize")


async def open_palette(pilot, app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Press Ctrl+P and read what the palette lists: (title, the whole visible line) per command."""
    from textual.command import Command, CommandList, CommandPalette

    await pilot.press("ctrl+p")
    seen = -1
    for _ in range(100):  # until the discovered commands stop arriving (a safety net, not a timing)
        await pilot.pause(0.05)
        if isinstance(app.screen, CommandPalette):
            count = app.screen.query_one(CommandList).option_count
            if count and count == seen:
                break
            seen = count
    assert isinstance(app.screen, CommandPalette)
    options = app.screen.query_one(CommandList).options
    return [(str(option.hit.text), str(option.prompt)) for option in options if isinstance(option, Command)]


async def choose(pilot, app, title: str) -> None:  # type: ignore[no-untyped-def]
    """Highlight the command called `title` in the open palette and press Enter."""
    from textual.command import Command, CommandList

    command_list = app.screen.query_one(CommandList)
    titles = [str(o.hit.text) if isinstance(o, Command) else "" for o in command_list.options]
    command_list.highlighted = titles.index(title)
    await pilot.press("enter")
    await pilot.pause()


def assert_chinese_system_commands(app, listed: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    from textual.command import CommandInput

    titles = [title for title, _ in listed]
    assert "退出" in titles and "帮助" in titles, titles
    assert not [t for t in titles if t in ENGLISH_SYSTEM_COMMANDS], titles
    visible = "\n".join(line for _, line in listed)
    for english in ("Quit the application", "Change the current theme", "screenshot", "focused widget"):
        assert english not in visible, visible
    assert app.screen.query_one(CommandInput).placeholder == "搜索命令…"


async def test_office_palette_in_chinese_has_no_english_system_commands(office_home: Home) -> None:
    app = office_app(office_home, "zh")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert_chinese_system_commands(app, await open_palette(pilot, app))
        await choose(pilot, app, "退出")
    assert app.return_code == 0


async def test_station_palette_in_chinese_has_no_english_system_commands(station_home: Home) -> None:
    from tests.station_helpers import open_shift, station_app

    await open_shift(station_home)
    app = station_app(station_home, language="zh")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        listed = await open_palette(pilot, app)
        assert_chinese_system_commands(app, listed)
        titles = [title for title, _ in listed]
        assert {"进/出", "无通行证", "特批放行", "交班"} <= set(titles)  # the station's own stay
        assert titles.count("帮助") == 1
        await choose(pilot, app, "退出")
        await pilot.press("ctrl+q")  # a shift is open: the station asks first (issue 14 item 7)
        await pilot.pause()
    assert app.return_code == 0


# -- QA round: the preview's validity, the confirmation beside the QR, Esc on a filled form, F5 on a
# revoked pass, the key bar at 80 columns ---------------------------------------------------------


def card_lines(app: OfficeApp) -> tuple[list[str], int]:
    """The card's field lines as shown, and the cells the card has for them."""
    from tui.office.card import CardPreview

    preview = app.screen.query_one(CardPreview)
    return text_of(preview.query_one("#card-fields", Static)).split("\n"), preview.content_region.width


LONG_ORG = "通山县大畈镇人民政府卫生健康服务中心" * 3  # 54 characters, 108 cells: more than any card is wide


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@pytest.mark.parametrize("language", ["en", "zh"])
async def test_preview_lines_fit_the_card(office_home: Home, language: str, size: tuple[int, int]) -> None:
    app = office_app(office_home, language)
    async with app.run_test(size=size) as pilot:
        await pilot.press("f2")
        await fill_form(pilot, plate="鄂A54321", category="medical", org=LONG_ORG)
        await pilot.pause()
        lines, room = card_lines(app)
        assert all(cell_width(line) <= room for line in lines), (room, lines)
        shown = "\n".join(lines)
        # This year's dates without the year: the validity is one whole line.
        assert "02-03 12:00 → 02-17 12:00" in shown and "2026-" not in shown, shown
        # A long organisation wraps under itself instead of being cut.
        first = next(n for n, line in enumerate(lines) if LONG_ORG[:4] in line)
        rest = [line for line in lines[first + 1 :] if line.startswith(" ")]
        org = lines[first].split(maxsplit=1)[1] + "".join(line.strip() for line in rest)
        assert org == LONG_ORG, lines
        # Dates in other years keep the year; what still does not fit breaks after the arrow.
        await fill_form(pilot, org="", valid_from="2025-12-25", valid_until="2027-01-08")
        await pilot.pause()
        lines, room = card_lines(app)
        assert all(cell_width(line) <= room for line in lines), (room, lines)
        assert "2025-12-25 00:00 → 2027-01-08 23:59" in " ".join(line.strip() for line in lines), lines
        if language == "en":  # 35 cells beside a 16-cell label: two lines
            assert any(line.endswith("2025-12-25 00:00 →") for line in lines), lines


async def issue_one(pilot, **values: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("f2")
    await fill_form(pilot, **{"plate": "鄂A54321", "category": "medical", "occupants": "3", **values})
    await pilot.press("ctrl+s")
    await pilot.pause()


def assert_nothing_covers(app: OfficeApp, widget: Static) -> None:
    """No toast over `widget`, and its four corners are on screen and are the widget itself."""
    from textual.widgets._toast import Toast

    region = widget.region
    assert region.area > 0
    for toast in app.screen.query(Toast):
        assert not toast.region.overlaps(region), str(toast.render())
    for x, y in ((region.x, region.y), (region.right - 1, region.y), (region.x, region.bottom - 1),
                 (region.right - 1, region.bottom - 1)):  # fmt: skip
        assert app.screen.get_widget_at(x, y)[0] is widget, (x, y)


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_issued_says_so_beside_the_qr_not_over_it(office_home: Home, language: str) -> None:
    app = office_app(office_home, language)
    async with app.run_test(size=SIZE, notifications=True) as pilot:  # toasts shown, as in the terminal
        # What a pass usually holds: a QR as large as they come, reaching furthest down the screen.
        await issue_one(pilot, holder="孙七李八", org="通山县人民医院", checkpoints="north-gate, east-road")
        (issued,) = app.desk.registry.list()
        assert_nothing_covers(app, app.screen.query_one("#card-qr", Static))  # the finder patterns are clear
        assert not notices(app)  # the confirmation is no toast, but the form's own line:
        note = app.screen.query_one("#issued-note", Static)
        said = text_of(note)
        assert issued.data.pass_id in said and "鄂A·54321" in said, said
        assert ("已为 鄂A·54321 签发" in said) if language == "zh" else ("issued for 鄂A·54321" in said)
        assert_nothing_covers(app, note)
        # The same request again: the existing pass, said in the same place.
        await pilot.press("ctrl+s")
        await pilot.pause()
        said = text_of(note)
        assert ("未重复签发" in said) if language == "zh" else ("nothing was issued" in said), said
        assert note.has_class("-warning") and not notices(app)
        # F9: where the files went, said there too.
        await pilot.press("f9")
        await pilot.pause()
        said = text_of(note)
        assert str(office_home.exports) in said and not notices(app), said
        assert_nothing_covers(app, app.screen.query_one("#card-qr", Static))


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_issued_note_is_in_view_at_80x24(office_home: Home, language: str) -> None:
    app = office_app(office_home, language)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await issue_one(pilot)
        await pilot.pause()
        (issued,) = app.desk.registry.list()
        note = app.screen.query_one("#issued-note", Static)
        assert issued.data.pass_id in text_of(note) and not notices(app)
        assert_nothing_covers(app, note)
        qr = app.screen.query_one("#card-qr", Static)
        assert 0 < qr.region.y < 12  # the QR follows right below, as much of it as 24 lines hold


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_escape_asks_before_discarding_a_filled_form(office_home: Home, language: str) -> None:
    from tui.office.forms import DiscardScreen

    app = office_app(office_home, language)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.press("escape")  # nothing typed: closes at once
        await pilot.pause()
        assert isinstance(app.screen, PassListScreen)
        await pilot.press("f2")
        await pilot.press(*"A123")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DiscardScreen)
        asked = text_of(app.screen.query_one("#question", Static))
        if language == "zh":
            assert "放弃" in asked and "Enter" in asked and "Esc" in asked and "继续填写" in asked, asked
        else:
            assert asked == "Discard the new pass? Enter: discard, Esc: keep editing", asked
        await pilot.press("escape")  # keep editing: everything typed is still there
        await pilot.pause()
        assert isinstance(app.screen, IssueScreen)
        assert app.screen.query_one("#f-plate", Input).value == "A123"
        await pilot.press("escape", "enter")  # discard
        await pilot.pause()
        assert isinstance(app.screen, PassListScreen) and app.desk.registry.list() == []
        # Only the occupants changed from its default (5): that is typing too.
        await pilot.press("f2")
        await fill_form(pilot, occupants="2")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DiscardScreen)
        await pilot.press("enter")
        await pilot.pause()
        # Issued and unchanged since: nothing to lose, Esc closes at once.
        await issue_one(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PassListScreen)


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("where", ["list", "detail"])
async def test_renew_or_revoke_a_revoked_pass_says_why_not(
    office_home: Home, language: str, where: str
) -> None:
    seed(office_home)
    app = office_app(office_home, language)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#passes", DataTable)
        table.move_cursor(row=table.get_row_index("AAAA0004"))
        await pilot.pause()
        if where == "detail":
            await pilot.press("enter")
            assert isinstance(app.screen, PassDetailScreen)
        screen = app.screen
        assert screen.check_action("renew", ()) is None  # still greyed in the key bar
        await pilot.press("f5")
        await pilot.pause()
        assert app.screen is screen  # no renew form
        (said,) = notices(app)
        if language == "zh":
            assert (
                "AAAA0004" in said and "已作废" in said and "不能续期" in said and "签发新通行证" in said
            ), said
        else:
            assert said.startswith("Pass AAAA0004 is revoked, so it cannot be renewed"), said
            assert "issue a new pass" in said, said
        assert said.count("。" if language == "zh" else ".") == 1  # one sentence
        app.clear_notifications()
        await pilot.press("f4")
        await pilot.pause()
        assert app.screen is screen
        (said,) = notices(app)
        assert ("已作废" in said) if language == "zh" else ("already revoked" in said), said
        keys = {key.action: key for key in screen.query("FooterKey")}
        assert keys["renew"].has_class("-disabled") and keys["revoke"].has_class("-disabled")
        assert "renew_revoked" not in keys and "revoke_revoked" not in keys
        # A pass that is not revoked still renews with F5.
        if where == "list":
            table.move_cursor(row=table.get_row_index("AAAA0001"))
            await pilot.pause()
            await pilot.press("f5")
            await pilot.pause()
            assert type(app.screen).__name__ == "RenewScreen"


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_pass_list_key_bar_fits_80_columns(office_home: Home, language: str) -> None:
    seed(office_home)
    app = office_app(office_home, language)
    async with app.run_test(size=(80, 24)) as pilot:

        def laid_out() -> list[tuple[str, object]]:
            keys = app.screen.query("FooterKey")
            return [(key.action, key.region) for key in keys if key.display and key.region.area]

        # The bar composes its keys after the first refresh, and places them after the narrow
        # breakpoint applies: on a loaded machine one pause() was not enough (the cause of the flake).
        def narrow_bar() -> bool:  # the breakpoint's class is on and its styles have left Quit out
            actions = [action.removeprefix("app.") for action, _ in laid_out()]
            return app.screen.has_class("-narrow") and "help" in actions and "quit" not in actions

        await wait_for(pilot, narrow_bar)
        await wait_until_still(pilot, laid_out)
        footer = app.screen.query_one("Footer")
        shown = [key for key in footer.query("FooterKey") if key.display and key.region.area]
        actions = [key.action for key in shown]
        for key in shown:  # wholly inside the bar and not under another key
            assert footer.region.contains_region(key.region), (key.action, key.region)
            assert not any(key.region.overlaps(k.region) for k in shown if k is not key), key.action
        # Every office key stays; F1 help is whole (it lists Ctrl+Q and Ctrl+P, left out of the bar here).
        assert actions[:7] == ["issue", "search", "revoke", "renew", "export", "rotate", "batch"]
        assert "help" in actions
        help_key = next(key for key in shown if key.action == "help")
        assert help_key.description == ("帮助" if language == "zh" else "Help")
        await pilot.press("f1")
        await pilot.pause()
        help_text = text_of(app.screen.query_one("Vertical > Static", Static))
        assert "Ctrl+Q" in help_text and "Ctrl+P" in help_text
        await pilot.press("escape")
        # At 120 columns the bar has room for all of them.
        await pilot.resize_terminal(120, 40)
        await wait_for(pilot, lambda: any(action.removeprefix("app.") == "quit" for action, _ in laid_out()))
        footer = app.screen.query_one("Footer")
        assert {"quit", "command_palette"} <= {
            key.action.removeprefix("app.") for key in footer.query("FooterKey") if key.region.area
        }


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_pass_detail_status_lines_are_whole(office_home: Home, size: tuple[int, int]) -> None:
    """Beside the card at 80 columns the status column was 12 cells wide and broke every date in three;
    under 100 columns it goes under the card, full width."""
    seed(office_home)
    app = office_app(office_home)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.screen.query_one("#passes", DataTable).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PassDetailScreen)
        status = app.screen.query_one("#detail-status", Static)
        assert status.region.height >= 3 and status.region.width >= 30
        shown = status.render_lines(status.region.reset_offset)
        lines = ["".join(segment.text for segment in line).strip() for line in shown]
        assert any(
            line.startswith("Issued: 2026-") and len(line) >= len("Issued: 2026-01-14 12:00")
            for line in lines
        )


# -- the desk behind the screen: one revocation list number, one validator ------------------------


async def export_from_screen(pilot, folder: Path) -> int:  # type: ignore[no-untyped-def]
    """F6, the folder, Ctrl+S; the number of the revocation list written there."""
    app = pilot.app
    folder.mkdir(exist_ok=True)
    await pilot.press("f6")
    app.screen.query_one("#folder", Input).value = str(folder)
    await pilot.press("ctrl+s")
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("escape")
    await pilot.pause()
    return int(json.loads((folder / "revocations.json").read_text(encoding="utf-8"))["seq"])


async def test_screen_export_twice_gives_the_cli_s_number(office_home: Home, tmp_path: Path) -> None:
    """Issue 10: the office screen's export twice gave lists 2 and 3 with the same content; the CLI 1, 1.
    Both go through the desk now: the same content is the same number, whichever front end exports."""
    from checkpoint.timeutil import utcnow

    from .conftest import run_cli

    issued = json.loads(run_cli(office_home, "pass", "issue", "--plate", "鄂A11111", "--category", "medical",
                                "--json").stdout)  # fmt: skip
    assert run_cli(office_home, "pass", "revoke", issued["pass_id"], "--reason", "lost").exit_code == 0
    # The screen on the real clock, as the CLI: the same register, the same moment's content.
    app = make_app(office_home, load_settings(office_home.config), clock=utcnow)
    async with app.run_test(size=SIZE) as pilot:
        first = await export_from_screen(pilot, tmp_path / "usb1")
        second = await export_from_screen(pilot, tmp_path / "usb2")
    assert first == second == 1
    assert (tmp_path / "usb1" / "revocations.json").read_bytes() == (
        tmp_path / "usb2" / "revocations.json"
    ).read_bytes()
    for name in ("a.json", "b.json"):
        said = run_cli(office_home, "revocations", "export", str(tmp_path / name)).stdout
        assert said.startswith("Wrote revocation list number 1 with 1 pass(es)"), said


async def test_issue_form_notes_and_preview_follow_each_change(office_home: Home) -> None:
    """Issue 14, item 11: a red note went only when another field changed, and the preview said
    `Checkpoints all` while the field held `station-1`."""
    app = office_app(office_home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await fill_form(
            pilot, plate="XYZ", category="medical", valid_from="2026-02-10", valid_until="2026-02-01"
        )
        await pilot.press("ctrl+s")
        await pilot.pause()
        screen = app.screen
        plate_note, until_note = (
            screen.query_one("#e-plate", Static),
            screen.query_one("#e-valid_until", Static),
        )
        assert plate_note.display and text_of(plate_note).startswith("'XYZ' is not a plate number")
        assert until_note.display and "is not after" in text_of(until_note)
        # The checkpoints field changes while the plate is still wrong: the preview follows it.
        await fill_form(pilot, checkpoints="station-1")
        fields = text_of(screen.query_one("#card-fields", Static))
        assert "station-1" in fields and "all" not in fields.split("Checkpoints")[1].split("\n")[0], fields
        # Correct the plate: its note goes at once; the dates' note stays until they are right.
        await fill_form(pilot, plate="鄂A54321")
        assert not plate_note.display and text_of(plate_note) == ""
        assert until_note.display
        # Another wrong plate: the note does not come back before Ctrl+S asks again.
        await fill_form(pilot, plate="X")
        assert not plate_note.display
        # The start moved before the end: the end's note goes, though the end field itself did not change.
        await fill_form(pilot, valid_from="2026-01-20")
        assert not until_note.display
        assert "01-20 00:00 → 02-01 23:59" in text_of(screen.query_one("#card-fields", Static))


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_issue_form_refuses_what_the_card_cannot_print(office_home: Home, language: str) -> None:
    """Issue 14, item 10: an emoji was accepted and printed as `\\u1f691`; it is refused at entry."""
    app = office_app(office_home, language)
    async with app.run_test(size=SIZE) as pilot:
        await issue_one(pilot, org="县人民医院🚑")
        note = text_of(app.screen.query_one("#e-org", Static))
        assert "🚑" in note and ("无法打印" in note if language == "zh" else "cannot print" in note), note
        assert app.desk.registry.count() == 0
        await fill_form(pilot, org="县人民医院")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.desk.registry.count() == 1


async def test_batch_dialog_quotes_the_bad_value(office_home: Home, tmp_path: Path) -> None:
    """Issue 14, item 12: "line 3: Plate: Not a plate number…" named no value; the CLI did."""
    source = tmp_path / "batch.csv"
    source.write_text(
        "plate,category,holder,org,valid_from,valid_until,checkpoints,occupants\n"
        "鄂A30001,medical,张三,,,,,4\nXYZ,bicycle,,,,,,x\n",
        encoding="utf-8",
    )
    app = office_app(office_home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f8")
        app.screen.query_one("#file", Input).value = str(source)
        app.screen.query_one("#out", Input).value = str(tmp_path / "out")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = text_of(app.screen.query_one("#row-errors", Static)).splitlines()
    assert shown[0].startswith("line 3: 'XYZ' is not a plate number"), shown
    assert shown[1].startswith("line 3: 'bicycle' is not a category"), shown
    assert shown[2].startswith("line 3: occupants 'x' is not a whole number"), shown


async def test_export_to_a_missing_folder_is_refused_in_the_screen_s_language(
    office_home: Home, tmp_path: Path
) -> None:
    """QA: F6 to a mistyped `/nosuchusb/stick` created the folder on the laptop's disk; refused now, and
    the sentence is Chinese on a Chinese screen (the screen showed the English `exc.message`)."""
    usb = tmp_path / "nosuchusb" / "stick"
    app = make_app(office_home, load_settings(office_home.config), clock=lambda: NOW, language="zh")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        app.screen.query_one("#folder", Input).value = str(usb)
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = str(app.screen.query_one("#error", Static).render())
        assert f"文件夹 {usb} 不存在" in shown, shown
    assert not (tmp_path / "nosuchusb").exists()
