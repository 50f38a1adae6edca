"""The station screen, driven for real: the app, the camera worker on a generated video, the log on disk.

Every decision comes from `policy.decide`; these tests check that what staff see and what the log
holds agree, and that every entry is written before its verdict shows.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.content import Content
from textual.widgets import Input

from checkpoint.keys import Keyring
from checkpoint.models import Category, Direction, Reason, Verdict
from checkpoint.paths import Home
from checkpoint.registry import Registry
from checkpoint.revocations import save_list
from checkpoint.store import verify_log
from checkpoint.text import cell_width
from tests.conftest import NOW
from tests.media import code_video
from tests.station_helpers import Clock, entries, open_shift, screen_text, station_app, wait_for
from tests.tui_helpers import notices
from tui.station.forms import HandoverScreen, NoPassScreen, OverrideScreen, SignInScreen
from tui.station.screen import StationScreen
from tui.station.verdict import VerdictPanel


def station(app: object) -> StationScreen:
    return next(s for s in app.screen_stack if isinstance(s, StationScreen))  # type: ignore[attr-defined]


def checking(app: object) -> bool:
    return station(app).pending is not None


def shown_state(app: object) -> str:
    return station(app).query_one(VerdictPanel).shown.state


async def type_into(pilot, selector: str, text: str) -> None:  # type: ignore[no-untyped-def]
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    widget.value = text
    await pilot.press("enter")
    await pilot.pause()


async def manual(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await type_into(pilot, "#manual", text)


async def let_through(pilot, app: object, payload: str, temperatures: str = "36.6") -> None:  # type: ignore[no-untyped-def]
    """A valid pass typed in, its temperatures after it, until the screen shows ALLOW."""
    await manual(pilot, payload)
    await type_into(pilot, "#manual", temperatures)
    await wait_for(pilot, lambda: shown_state(app) == "allow")


# --------------------------------------------------------------------------- the camera path


async def test_valid_pass_on_video_is_allowed_and_logged(station_home: Home, issue, tmp_path: Path) -> None:
    issued = issue(plate="鄂A12345", holder="张三", category=Category.MEDICAL)
    video = code_video(tmp_path / "feed.avi", [issued.payload])
    await open_shift(station_home)
    app = station_app(station_home, camera=str(video))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: checking(app))
        assert shown_state(app) == "check"
        assert entries(station_home) == []  # nothing decided yet: plate and temperatures come first
        await type_into(pilot, "#manual", "36.6 36.8")
        await wait_for(pilot, lambda: shown_state(app) == "allow")
        logged = entries(station_home)
        assert [(e.verdict, e.reason) for e in logged] == [(Verdict.ALLOW, Reason.OK)]
        entry = logged[0]
        assert entry.pass_id == issued.data.pass_id
        assert entry.plate == "鄂A12345" and entry.holder == "张三"
        assert entry.temperatures == (366, 368) and entry.occupants == 2
        assert entry.operator == "李四" and entry.leader == "王五"
        assert entry.raw_hash is not None
        assert "鄂 A · 1 2 3 4 5" in screen_text(app)
        assert app.is_running


async def test_revoked_pass_on_video_is_denied_revoked(
    station_home: Home, office_home: Home, registry: Registry, issue, tmp_path: Path
) -> None:
    good = issue(plate="鄂A11111")
    bad = issue(plate="鄂A22222")
    registry.revoke(bad.data.pass_id, "lost", now=NOW - timedelta(hours=1))
    save_list(station_home.revocations, registry.revocation_list("Test township office", now=NOW))
    video = code_video(tmp_path / "feed.avi", [bad.payload])
    await open_shift(station_home)
    app = station_app(station_home, camera=str(video))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        logged = entries(station_home)
        assert [(e.verdict, e.reason, e.pass_id) for e in logged] == [
            (Verdict.DENY, Reason.REVOKED, bad.data.pass_id)
        ]
        assert "Pass has been revoked" in screen_text(app)
        assert good.data.pass_id != bad.data.pass_id


async def test_fever_from_video_denies(station_home: Home, issue, tmp_path: Path) -> None:
    issued = issue()
    video = code_video(tmp_path / "feed.avi", [issued.payload])
    await open_shift(station_home)
    app = station_app(station_home, camera=str(video))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: checking(app))
        await type_into(pilot, "#manual", "36.6 38.1")
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        [entry] = entries(station_home)
        assert (entry.verdict, entry.reason) == (Verdict.DENY, Reason.FEVER)
        assert entry.temperatures == (366, 381) and entry.fevers == 1
        assert "38.1 °C" in screen_text(app)


async def test_hostile_codes_on_video_are_shown_literally(
    station_home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payloads = [
        "[/]",
        "[@click=app.quit]x[/]",
        "[link=https://x]x[/link]",
        "\x1b]8;;https://evil\x07click\x1b]8;;\x07 \x1b[2J\x1b[31mred",
        "abc\u202edcba\u2066x",
    ]
    video = code_video(tmp_path / "feed.avi", payloads, hold=8, gap=6)
    import checkpoint.checkin as checkin_module

    monkeypatch.setattr(checkin_module, "VERDICT_HOLD_SECONDS", 0.0)  # every code a vehicle, here
    await open_shift(station_home)
    app = station_app(station_home, camera=str(video))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(entries(station_home)) == len(payloads))
        await pilot.pause()
        assert app.is_running
        assert {e.reason for e in entries(station_home)} == {Reason.NOT_A_PASS}
        text = screen_text(app)
        assert "\x1b" not in text and "\u202e" not in text
        assert "abc\ufffddcba\ufffdx" in text  # the last code is on screen, bidi overrides made visible


# --------------------------------------------------------------------------- manual entry and forms


HOSTILE = [
    "[/]",
    "[@click=app.quit]x[/]",
    "[link=https://x]x[/link]",
    "\x1b]52;c;ZWNobyBoaQ==\x07\x1b[2J",
    "\u202eevil\u202c",
    "CP1:" + "[/]" * 20,
    "A" * 3000,
]


@pytest.mark.parametrize("payload", HOSTILE, ids=["close", "click", "link", "osc", "bidi", "ours", "3kB"])
async def test_hostile_manual_entry_is_shown_literally(station_home: Home, payload: str) -> None:
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await manual(pilot, payload)
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        assert app.is_running
        [entry] = entries(station_home)
        assert entry.reason in (Reason.NOT_A_PASS, Reason.MALFORMED)
        text = screen_text(app)
        assert "\x1b" not in text and "\u202e" not in text
        if payload.isprintable() and len(payload) < 100:
            assert payload in text  # markup shown as the characters it is made of
        await pilot.press("escape")
        assert shown_state(app) == "idle"


async def test_plate_mismatch_is_one_key(station_home: Home, issue) -> None:
    issued = issue()
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await manual(pilot, issued.payload)
        assert checking(app)
        await pilot.press("f3")
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        [entry] = entries(station_home)
        assert entry.reason is Reason.PLATE_MISMATCH


async def test_bad_temperature_is_one_sentence_and_nothing_is_logged(station_home: Home, issue) -> None:
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await manual(pilot, issue().payload)
        await type_into(pilot, "#manual", "3.7")
        assert checking(app)
        assert "did you mean 37.x?" in screen_text(app)
        assert entries(station_home) == []
        await type_into(pilot, "#manual", "37.0")
        await wait_for(pilot, lambda: shown_state(app) == "allow")
        assert [e.temperatures for e in entries(station_home)] == [(370,)]


async def test_no_pass_form_gives_no_pass(station_home: Home) -> None:
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        assert isinstance(app.screen, NoPassScreen)
        await type_into(pilot, "#plate", "nonsense plate!")
        assert "not a plate number" in screen_text(app)
        await type_into(pilot, "#plate", "鄂a · 55555")
        await type_into(pilot, "#reason", "走亲戚 [b]x[/b]")
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        [entry] = entries(station_home)
        assert (entry.verdict, entry.reason) == (Verdict.DENY, Reason.NO_PASS)
        assert entry.plate == "鄂A55555" and entry.vehicle == "car" and entry.note == "走亲戚 [b]x[/b]"
        assert "走亲戚 [b]x[/b]" in screen_text(app)


async def test_override_is_logged_with_supervisor_and_reason(station_home: Home, issue) -> None:
    expired = issue(valid_from=NOW - timedelta(days=10), valid_until=NOW - timedelta(days=1))
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")  # nothing denied yet: the key does nothing
        assert not isinstance(app.screen, OverrideScreen)
        await manual(pilot, expired.payload)
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        await pilot.press("f4")
        assert isinstance(app.screen, OverrideScreen)
        await type_into(pilot, "#supervisor", "赵主任")
        await type_into(pilot, "#reason", "救护车送病人")
        await wait_for(pilot, lambda: shown_state(app) == "allow")
        denied, allowed = entries(station_home)
        assert (denied.verdict, denied.reason) == (Verdict.DENY, Reason.EXPIRED)
        assert (allowed.verdict, allowed.reason, allowed.denied_for) == (
            Verdict.ALLOW,
            Reason.OVERRIDE,
            Reason.EXPIRED,
        )
        assert (allowed.override_by, allowed.override_reason) == ("赵主任", "救护车送病人")
        assert allowed.refers_to == denied.id
        assert "赵主任" in screen_text(app)


async def test_f2_turns_the_direction_for_the_next_vehicle(station_home: Home, issue) -> None:
    """The key and the status line; the anti-passback rules themselves are tested on the service."""
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f2")
        assert "OUT" in screen_text(app)
        await let_through(pilot, app, issue().payload)
        assert [(e.direction, e.reason) for e in entries(station_home)] == [(Direction.OUT, Reason.OK)]


async def test_sign_in_and_handover_seal_the_chain(station_home: Home, issue) -> None:
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        await manual(pilot, issue().payload) if not isinstance(app.screen, SignInScreen) else None
        await pilot.press("escape")  # the sign-in cannot be skipped
        assert isinstance(app.screen, SignInScreen)
        await type_into(pilot, "#operator", "李四")
        await type_into(pilot, "#leader", "王五")
        assert isinstance(app.screen, StationScreen)
        await manual(pilot, "https://weixin.qq.com/r/abc")
        await manual(pilot, issue(plate="鄂A67890").payload)
        await type_into(pilot, "#manual", "36.4")
        await wait_for(pilot, lambda: len(entries(station_home)) == 2)
        await pilot.press("f8")
        assert isinstance(app.screen, HandoverScreen)
        summary = screen_text(app)
        assert "Vehicles inside now: 1" in summary and "Turned back: 1" in summary
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
    result = verify_log(station_home.log_db)
    assert result.ok
    [report] = result.stations
    assert report.entries == 2 and report.seals == 1 and report.last_sealed_seq == 2
    assert station_home.station_key.exists()
    assert [(e.operator, e.leader) for e in entries(station_home)] == [("李四", "王五")] * 2


async def test_codes_wait_for_sign_in(station_home: Home, issue) -> None:
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        await station(app).submit_code(issue().payload, b"x", scanned=True)
        assert entries(station_home) == []


async def test_chinese_screen_uses_the_word_list(station_home: Home, issue) -> None:
    await open_shift(station_home)
    app = station_app(station_home, language="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await let_through(pilot, app, issue().payload)
        text = screen_text(app)
        assert "医护人员" in text and "持证人" in text and "值班 李四 · 带班 王五" in text
        # The Chinese verdict is drawn big from the CJK font (half blocks), not one bold line of text.
        word = str(station(app).query_one("#word").render()).splitlines()
        assert sum(1 for row in word if set(row) & set("█▀▄")) >= 5 and "放" not in "".join(word)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_chinese_verdict_is_big_at_both_sizes(station_home: Home, issue, size: tuple[int, int]) -> None:
    await open_shift(station_home)
    app = station_app(station_home, language="zh")
    async with app.run_test(size=size) as pilot:
        await manual(
            pilot, issue(valid_from=NOW - timedelta(days=10), valid_until=NOW - timedelta(days=1)).payload
        )
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        word = station(app).query_one("#word")
        rows = [row for row in str(word.render()).splitlines() if set(row) & set("█▀▄")]
        assert len(rows) >= 5 and max(len(row.strip()) for row in rows) <= word.size.width


def test_station_catalogs_match() -> None:
    from tui.i18n import catalog

    en, zh = catalog("en"), catalog("zh")
    station_keys = {k for k in en if k.split(".")[0] in {"station", "status", "camera", "check", "handover"}}
    assert station_keys and station_keys <= set(zh)


def test_make_app_refuses_an_unconfigured_home(tmp_path: Path) -> None:
    from checkpoint.errors import CheckpointError

    with pytest.raises(CheckpointError, match="no trust file"):
        station_app(Home(tmp_path / "empty"))


def test_keyring_fixture_is_real(office_home: Home) -> None:
    assert Keyring(office_home.office_keys, "x").exists()


async def test_help_palette_and_viewfinder_keys(station_home: Home) -> None:
    from tui.station.forms import HelpScreen
    from tui.station.viewfinder import Viewfinder

    await open_shift(station_home)
    app = station_app(station_home, language="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen) and "车辆通行流程" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, StationScreen)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"进/出", "无通行证", "特批放行", "交班", "帮助"} <= set(titles)
        viewfinder = station(app).query_one(Viewfinder)
        before = viewfinder.display
        await pilot.press("f5")
        assert viewfinder.display is not before


async def test_clock_behind_the_log_is_flagged_and_old_health_data_purged(station_home: Home, issue) -> None:
    from checkpoint.models import Verdict as V
    from checkpoint.store import EntryDraft, LogStore

    store = await LogStore.open(station_home.log_db, "north-gate")
    draft = EntryDraft(Direction.IN, V.DENY, Reason.FEVER, "甲", "乙", holder="张三", temperatures=(385,))
    await store.append(draft, now=NOW - timedelta(days=40))  # older than the 28 days kept
    await store.append(
        EntryDraft(Direction.IN, V.DENY, Reason.NO_PASS, "甲", "乙"), now=NOW + timedelta(hours=2)
    )
    await store.close()
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "CLOCK IS EARLIER THAN THE LOG" in screen_text(app)
    old = entries(station_home)[0]
    assert old.purged and old.holder is None and old.temperatures == ()
    assert verify_log(station_home.log_db).ok


async def test_every_verdict_is_in_the_log_before_it_shows(station_home: Home, issue) -> None:
    await open_shift(station_home)
    app = station_app(station_home)
    logged_when_shown: list[tuple[str, int]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        panel = station(app).query_one(VerdictPanel)
        original = panel.show

        def spy(shown) -> None:  # type: ignore[no-untyped-def]
            if shown.state in ("allow", "deny"):
                logged_when_shown.append((shown.state, len(entries(station_home))))
            original(shown)

        panel.show = spy  # type: ignore[method-assign]
        await manual(pilot, "not a pass")
        await manual(pilot, issue().payload)
        await type_into(pilot, "#manual", "36.6")
        await wait_for(pilot, lambda: len(logged_when_shown) == 2)
    assert logged_when_shown == [("deny", 1), ("allow", 2)]


# --------------------------------------------------------------------------- QA fixes (issue 5)


async def test_an_overridden_fever_denial_counts_once(station_home: Home, issue) -> None:
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await manual(pilot, issue().payload)
        await type_into(pilot, "#manual", "38.1")
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        await pilot.press("f4")
        await type_into(pilot, "#supervisor", "赵主任")
        await type_into(pilot, "#reason", "fever clinic")
        await wait_for(pilot, lambda: shown_state(app) == "allow")
        assert len(entries(station_home)) == 2  # both entries are in the log
        counters = str(station(app).query_one("#counters").render())
        rows = {line.split()[0]: line.split()[1:] for line in counters.splitlines()[1:]}
        assert rows == {"In": ["1", "1"], "Out": ["0", "0"], "Denied": ["0", "0"], "Fevers": ["1", "1"]}
        await pilot.press("f8")
        summary = screen_text(app)
        assert "Turned back: 0" in summary and "Vehicles with a fever: 1" in summary
        assert "Overrides: 1" in summary and "Allowed in: 1" in summary


@pytest.mark.parametrize("key", ["escape", "f3", "temperatures"])
async def test_the_check_keeps_its_keys_wherever_tab_moves(station_home: Home, issue, key: str) -> None:
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await manual(pilot, issue().payload)
        assert checking(app)
        await pilot.press("tab", "tab", "shift+tab")
        assert app.focused is station(app).query_one("#manual")
        if key == "temperatures":
            await pilot.press(*"36.5", "enter")
            await wait_for(pilot, lambda: shown_state(app) == "allow")
            assert [e.temperatures for e in entries(station_home)] == [(365,)]
        else:
            await pilot.press(key)
            await pilot.pause()
            assert not checking(app)
            assert shown_state(app) == ("idle" if key == "escape" else "deny")


async def test_a_camera_scan_moves_the_focus_to_the_check(station_home: Home, issue) -> None:
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        station(app).query_one("#recent").focus()
        await pilot.pause()
        await station(app).submit_code(issue().payload, b"x", scanned=True)
        await pilot.pause()
        assert checking(app) and app.focused is station(app).query_one("#manual")


async def test_warn_mode_shows_already_inside_during_the_check(station_home: Home, issue) -> None:
    station_home.config.write_text(
        '[station]\nid = "north-gate"\nname = "North gate"\nanti_passback = "warn"\n', encoding="utf-8"
    )
    issued = issue()
    await open_shift(station_home)
    clock = Clock()
    app = station_app(station_home, clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await manual(pilot, issued.payload)
        await type_into(pilot, "#manual", "36.5")
        await wait_for(pilot, lambda: len(entries(station_home)) == 1)
        clock.advance(60)  # a later vehicle
        await manual(pilot, issued.payload)
        assert checking(app) and entries(station_home)[-1:] and len(entries(station_home)) == 1
        reason = str(station(app).query_one("#reason").render())
        assert "⚠ Already entered, no exit recorded" in reason


async def test_sign_in_offers_no_esc_and_says_why(station_home: Home) -> None:
    app = station_app(station_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        keys = str(app.screen.query_one(".keys").render())
        assert "esc" not in keys.lower()
        await pilot.press("escape")
        assert isinstance(app.screen, SignInScreen) and "Ctrl+Q" in screen_text(app)


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_80x24_keeps_the_override_reason_time_and_f1(station_home: Home, issue, language: str) -> None:
    await open_shift(station_home)
    app = station_app(station_home, language=language)
    async with app.run_test(size=(80, 24)) as pilot:
        await manual(pilot, issue(category=Category.OFFICIAL).payload)
        await type_into(pilot, "#manual", "38.1")
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        await pilot.press("f4")
        await type_into(pilot, "#supervisor", "赵主任")
        await type_into(pilot, "#reason", "救护车送病人")
        await wait_for(pilot, lambda: shown_state(app) == "allow")
        await pilot.pause()
        screen = station(app)
        fields = screen.query_one("#fields")
        lines = str(fields.render()).splitlines()
        assert len(lines) <= fields.size.height
        text = "\n".join(lines)
        assert "救护车送病人" in text and "赵主任" in text and "2026-" in text
        keys = str(screen.query_one("#keys").render())
        assert keys.lower().startswith("f1 ") and len(keys) <= 80
        rows = str(screen.query_one("#recent-rows").render()).splitlines()
        assert len(rows) == 2  # one line per entry: cells are cut, never wrapped
        assert all(cell_width(row) <= screen.query_one("#recent-rows").size.width for row in rows)


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_full_disk_says_nothing_was_recorded_in_the_screen_language(
    station_home: Home, issue, language: str
) -> None:
    """SQLite's own "database or disk is full" under the station: the verdict panel says NOT RECORDED
    with what to do, in the staff's language; nothing reaches the log; with room again, work goes on."""
    await open_shift(station_home)
    app = station_app(station_home, language=language)
    async with app.run_test(size=(120, 40)) as pilot:
        await let_through(pilot, app, issue(plate="鄂A11111").payload)
        db = station(app).store.db
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = (await (await db.execute("PRAGMA page_count")).fetchone())[0]  # type: ignore[index]
        await db.execute(f"PRAGMA max_page_count = {pages}")
        logged = ["鄂A11111"]
        for i in range(2, 12):  # until a vehicle needs a page the file may not get
            plate = f"鄂A{i:05d}"
            await manual(pilot, issue(plate=plate, holder="张" * 20, org="卫" * 30).payload)
            await type_into(pilot, "#manual", "36.7")
            await wait_for(pilot, lambda: shown_state(app) in ("allow", "error") and not checking(app))
            if shown_state(app) == "error":
                break
            logged.append(plate)
        assert shown_state(app) == "error"
        text = screen_text(app)
        if language == "zh":
            assert "磁盘已满" in text and "未记录" in text
        else:
            assert "The disk is full" in text and "NOTHING was recorded" in text
        assert [e.plate for e in entries(station_home)] == logged
        await db.execute("PRAGMA max_page_count = 1073741823")
        await pilot.press("escape")
        await let_through(pilot, app, issue(plate="鄂A33333").payload, "36.5")
        assert [e.plate for e in entries(station_home)] == [*logged, "鄂A33333"]


async def test_a_log_that_refuses_the_sign_in_says_so_and_asks_again(station_home: Home) -> None:
    """The log refuses the write (here: SQLite's query_only, the same refusal as a read-only disk): the
    sign-in is not lost in a crash — one sentence in the staff's language, and the form comes back."""
    app = station_app(station_home, language="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        await station(app).store.db.execute("PRAGMA query_only = ON")
        await type_into(pilot, "#operator", "李四")
        await type_into(pilot, "#leader", "王五")
        await wait_for(pilot, lambda: any("通行记录写入失败" in m for m in notices(app)))
        assert isinstance(app.screen, SignInScreen) and station(app).shift is None
        await station(app).store.db.execute("PRAGMA query_only = OFF")
        await type_into(pilot, "#operator", "李四")
        await type_into(pilot, "#leader", "王五")
        await wait_for(pilot, lambda: station(app).shift is not None)
        assert not isinstance(app.screen, SignInScreen)


def _damage(path: Path) -> None:
    """What a failing disk does: a stretch of the file overwritten (here 2,000 bytes of page 2)."""
    with path.open("r+b") as handle:
        handle.seek(4096)
        handle.write(b"A" * 2000)


async def test_a_damaged_log_stops_the_station_with_one_sentence(station_home: Home, issue) -> None:
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await let_through(pilot, app, issue().payload)
    _damage(station_home.log_db)
    again = station_app(station_home)
    async with again.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
    assert again.return_code == 2
    assert again.startup_error is not None and "damaged" in again.startup_error
    assert "\n" not in again.startup_error and str(station_home.log_db) in again.startup_error


async def test_temperatures_typed_with_no_vehicle_are_not_logged(station_home: Home, issue) -> None:
    """A slip (the camera moved on, the verdict was cleared): numbers are not a code a vehicle showed."""
    await open_shift(station_home)
    app = station_app(station_home, language="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        for typed in ("36.6", "３６．６，３６．８"):  # every form staff type is tested on the service
            await manual(pilot, typed)
            assert "当前没有正在核查的车辆" in screen_text(app)
            assert shown_state(app) == "idle"  # on a clear panel, not beside the last vehicle's verdict
        assert entries(station_home) == []
        await manual(pilot, "6901234567892")  # a shop's barcode from a USB scanner is still a code
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        assert [(e.reason, e.verdict) for e in entries(station_home)] == [(Reason.NOT_A_PASS, Verdict.DENY)]


async def test_a_missing_webcam_shows_it_is_being_waited_for(station_home: Home) -> None:
    """A webcam that is not plugged in is tried again and again: the status line says so (the
    station works with manual entry meanwhile); a missing video file is final."""
    await open_shift(station_home)
    app = station_app(station_home, camera="/dev/video9")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: station(app).camera_state == "waiting")
        assert "not found — retrying; manual entry works" in screen_text(app)
    missing = station_app(station_home, camera=str(station_home.root / "no-such-video.avi"))
    async with missing.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: station(missing).camera_state == "no_camera")
        assert "none — manual mode" in screen_text(missing)


async def test_a_stray_code_right_after_a_verdict_does_not_replace_it(
    station_home: Home, issue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The camera sees a WeChat sticker a moment after a verdict: the guard keeps reading the verdict
    (nothing logged); later the same code is a vehicle's, and typed codes are always taken."""
    await open_shift(station_home)
    clock = Clock()
    app = station_app(station_home, clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await let_through(pilot, app, issue(plate="鄂A11111").payload)
        sticker = "https://weixin.qq.com/r/abc"
        await station(app).submit_code(sticker, sticker.encode(), scanned=True)
        await pilot.pause()
        assert shown_state(app) == "allow" and len(entries(station_home)) == 1
        clock.advance(3.5)  # the moment has passed
        await station(app).submit_code(sticker, sticker.encode(), scanned=True)
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        assert [e.reason for e in entries(station_home)] == [Reason.OK, Reason.NOT_A_PASS]
        await manual(pilot, "6901234567892")  # typed (a USB scanner): taken at once
        await wait_for(pilot, lambda: len(entries(station_home)) == 3)


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_at_80_columns_the_check_hint_fits_and_a_warning_outlives_a_typo(
    station_home: Home, issue, language: str
) -> None:
    station_home.config.write_text(
        '[station]\nid = "north-gate"\nname = "North gate"\nanti_passback = "warn"\n', encoding="utf-8"
    )
    issued = issue()
    await open_shift(station_home)
    clock = Clock()
    app = station_app(station_home, clock=clock, language=language)
    async with app.run_test(size=(80, 24)) as pilot:
        await manual(pilot, issued.payload)
        await type_into(pilot, "#manual", "36.5")
        await wait_for(pilot, lambda: len(entries(station_home)) == 1)
        clock.advance(60)  # a later vehicle
        await manual(pilot, issued.payload)
        assert checking(app)
        manual_line = station(app).query_one("#manual", Input)
        assert cell_len(manual_line.placeholder) <= 78, manual_line.placeholder
        await type_into(pilot, "#manual", "3.7")  # a typo: the sentence says what was meant
        reason = str(station(app).query_one("#reason").render())
        warning = "⚠ Already entered, no exit recorded" if language == "en" else "⚠ 已进入，未记录离开"
        assert warning in reason and ("37.x" in reason)


async def test_a_missing_webcam_is_said_in_the_staffs_language(station_home: Home) -> None:
    await open_shift(station_home)
    app = station_app(station_home, camera="/dev/video9", language="zh")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: station(app).camera_state == "waiting")
        await wait_for(pilot, lambda: any("未找到摄像头" in m for m in notices(app)))
        assert not any("There is no camera" in m for m in notices(app))


# --------------------------------------------------------------------------- issue 10 and issue 14 (station)


async def test_qa_no_override_for_the_car_that_left_through_the_app(station_home: Home, issue) -> None:
    """Issue 10: plate A fever DENY, type pass B → CHECK, Esc, F4: no override dialog for plate A."""
    await open_shift(station_home)
    clock = Clock()
    app = station_app(station_home, clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await manual(pilot, issue(plate="鄂A11111").payload)
        await type_into(pilot, "#manual", "38.5")
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        assert station(app).check_action("override", ()) is True
        clock.advance(30)
        await manual(pilot, issue(plate="鄂B22222").payload)
        assert checking(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not checking(app))
        assert "Check cancelled" in screen_text(app)
        assert station(app).check_action("override", ()) is None  # greyed: no denial on screen
        await pilot.press("f4")
        await pilot.pause()
        assert not isinstance(app.screen, OverrideScreen)
        assert [e.reason for e in entries(station_home)] == [Reason.FEVER]


async def test_the_override_dialog_names_the_denial(station_home: Home, issue) -> None:
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await manual(pilot, issue(plate="鄂A11111", holder="张三").payload)
        await type_into(pilot, "#manual", "38.5")
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        await pilot.press("f4")
        assert isinstance(app.screen, OverrideScreen)
        text = str(app.screen.query_one("#denial").render())
        assert "鄂 A · 1 1 1 1 1" in text and "张三" in text and "Fever" in text


async def test_a_camera_pass_waits_for_the_verdict_hold(station_home: Home, issue) -> None:
    """Issue 14 item 1: the next pass the camera sees does not replace the ALLOW at once; when the hold
    is over it is taken (the screen's timer asks the service)."""
    await open_shift(station_home)
    clock = Clock()
    app = station_app(station_home, clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await let_through(pilot, app, issue(plate="鄂L34001").payload)
        nxt = issue(plate="鄂L34002")
        clock.advance(0.25)
        await station(app).submit_code(nxt.payload, nxt.payload.encode(), scanned=True)
        await pilot.pause()
        assert shown_state(app) == "allow" and not checking(app)
        clock.advance(3)
        await wait_for(pilot, lambda: checking(app))
        assert shown_state(app) == "check" and "鄂 L · 3 4 0 0 2" in screen_text(app)


async def test_enter_walks_every_field_of_the_no_pass_form(station_home: Home) -> None:
    """Issue 14 item 2: Enter reaches the kind of vehicle (a Select), whose list the arrow keys open."""
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        assert isinstance(app.screen, NoPassScreen)
        await pilot.press(*"鄂A55555", "enter")
        assert app.focused is app.screen.query_one("#vehicle")
        await pilot.press("down")  # opens the list
        await pilot.press("down", "enter")  # the next kind: van
        await pilot.pause()
        assert app.focused is app.screen.query_one("#vehicle")
        await pilot.press("enter")
        assert app.focused is app.screen.query_one("#reason")
        await pilot.press(*"visit", "enter")
        await wait_for(pilot, lambda: shown_state(app) == "deny")
        [entry] = entries(station_home)
        assert (entry.plate, entry.vehicle, entry.note) == ("鄂A55555", "van", "visit")


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_the_disk_full_panel_holds_the_whole_instruction_at_80x24(
    station_home: Home, language: str
) -> None:
    """Issue 14 item 4: what to do (write on paper) is on the panel, not only in the pop-up."""
    from textual.widgets import Static

    from tui.station.verdict import Shown

    await open_shift(station_home)
    app = station_app(station_home, language=language)
    async with app.run_test(size=(80, 24)) as pilot:
        sentence = app.t("log.full")
        station(app).query_one(VerdictPanel).show(Shown("error", message=sentence))
        await pilot.pause()
        fields = station(app).query_one("#fields", Static)
        content = fields.render()
        assert isinstance(content, Content)
        lines = content.wrap(fields.content_region.width)
        assert len(lines) <= fields.content_region.height
        assert "".join(line.plain for line in lines).replace(" ", "") == sentence.replace(" ", "")


async def test_a_log_that_is_not_a_database_says_what_to_do(station_home: Home) -> None:
    """Issue 14 item 5: move the file aside, write on paper, start again for a fresh log."""
    station_home.log_db.write_bytes(b"this is not a database" * 200)
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
    assert app.return_code == 2 and app.startup_error is not None
    said = app.startup_error
    assert str(station_home.log_db) in said and "Move the file aside" in said and "paper" in said
    assert "fresh log" in said and "\n" not in said


async def test_sign_in_offers_only_the_keys_that_work(station_home: Home) -> None:
    """Issue 14 item 6: under the sign-in, F2, Esc, F8 (and F3, F4, F5) are not offered."""
    app = station_app(station_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        bar = station(app).query_one("#keys")
        content = bar.render()
        assert isinstance(content, Content)
        active = {
            content.plain[span.start : span.end] for span in content.spans if "$accent" in str(span.style)
        }
        assert active == {"f1", "^q", "^p"}, active  # help, quit and the palette work under the form


async def test_ctrl_q_asks_first_while_a_shift_is_open(station_home: Home, issue) -> None:
    """Issue 14 item 7: Ctrl+Q in the middle of a shift asks; Esc stays, Ctrl+Q again quits."""
    from tui.station.forms import QuitScreen

    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = str(station(app).query_one("#keys").render())
        assert "^q" in keys  # offered at 80 columns too
        await manual(pilot, issue().payload)
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, QuitScreen) and app.is_running
        assert "not recorded yet" in screen_text(app) and "李四" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, StationScreen) and checking(app)
        await pilot.press("ctrl+q")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)


async def test_ctrl_q_quits_at_once_when_nobody_is_signed_in(station_home: Home) -> None:
    app = station_app(station_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)


async def test_a_long_name_is_capped_and_the_status_line_keeps_its_parts(station_home: Home) -> None:
    """Issue 14 item 8: a duty book line holds 20 characters; leader and revocation age stay in view."""
    app = station_app(station_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        await type_into(pilot, "#operator", "张" * 120)
        await type_into(pilot, "#leader", "王" * 30)
        await wait_for(pilot, lambda: station(app).shift is not None)
        shift = station(app).shift
        assert shift is not None and shift.operator == "张" * 20
        await pilot.pause()
        screen = station(app)
        status = screen.query_one("#shift")
        revocations = screen.query_one("#revocations")
        assert "王" in str(status.render()) and status.region.width < 60
        text = str(revocations.render())
        assert "revocation" in text.lower() and revocations.region.right <= 80
        assert revocations.region.width >= cell_len(text)  # the whole age in view


async def test_the_clock_behind_the_log_asks_before_deciding(station_home: Home, issue) -> None:
    """Issue 11 "Time": with the clock earlier than the newest entry the station asks first; Esc decides
    nothing, Enter decides anyway."""
    from checkpoint.store import EntryDraft, LogStore
    from tui.station.forms import ClockScreen

    store = await LogStore.open(station_home.log_db, "north-gate")
    await store.append(
        EntryDraft(Direction.IN, Verdict.DENY, Reason.NO_PASS, "甲", "乙"), now=NOW + timedelta(hours=2)
    )
    await store.close()
    await open_shift(station_home)
    app = station_app(station_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await manual(pilot, "https://weixin.qq.com/r/abc")
        await wait_for(pilot, lambda: isinstance(app.screen, ClockScreen))
        assert "earlier" in screen_text(app) or "newest" in screen_text(app)
        await pilot.press("escape")
        assert len(entries(station_home)) == 1
        await manual(pilot, "https://weixin.qq.com/r/abc")
        await wait_for(pilot, lambda: isinstance(app.screen, ClockScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(entries(station_home)) == 2)
        assert shown_state(app) == "deny"


def test_the_hint_says_how_to_separate_readings() -> None:
    """Issue 14 item 3: the check line's hint says how readings are separated."""
    from tui.i18n import Translator

    for lang, word in (("en", "spaces"), ("zh", "空格")):
        t = Translator(lang)
        assert word in t("check.manual_hint", most=4) and word in t("check.manual_hint_short", most=4)


async def test_the_station_and_scan_write_the_same_entries(
    station_home: Home, office_home: Home, issue, tmp_path: Path
) -> None:
    """Issue 10: the same codes through the station (typed) and through `checkpoint scan --log` (an image
    folder) give the same entries, field by field, except ids, times and chain links — and the check
    step's readings, which only the station takes (scan has no thermometer)."""
    import asyncio

    from tests.conftest import run_cli
    from tests.media import code_folder

    codes = [
        "https://weixin.qq.com/r/abc",
        issue(
            plate="鄂A11111", valid_from=NOW - timedelta(days=10), valid_until=NOW - timedelta(days=1)
        ).payload,
        issue(plate="鄂A22222", checkpoints=("south-gate",)).payload,
        issue(plate="鄂A33333", holder="张三").payload,
    ]
    scan_home = Home(tmp_path / "scan-station").ensure()
    scan_home.trust.write_bytes(station_home.trust.read_bytes())
    scan_home.config.write_bytes(station_home.config.read_bytes())
    await open_shift(station_home)
    await open_shift(scan_home)
    folder = code_folder(tmp_path / "frames", codes, hold=3, gap=2)
    at = NOW.strftime("%Y-%m-%dT%H:%M:%S%z")
    result = await asyncio.to_thread(run_cli, scan_home, "scan", "--source", str(folder), "--log", "--at", at)
    assert result.exit_code == 0, result.output

    clock = Clock()
    app = station_app(station_home, clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        for code in codes:
            clock.advance(10)
            before = len(entries(station_home))
            await manual(pilot, code)
            if checking(app):
                await type_into(pilot, "#manual", "36.6")
            await wait_for(pilot, lambda n=before: len(entries(station_home)) == n + 1)

    skip = {
        "id",
        "seq",
        "ts",
        "mono",
        "commitment",
        "prev_hash",
        "hash",
        "occupants",
        "temperatures",
        "extra",
    }

    def fields(entry: object) -> dict[str, object]:
        return {k: v for k, v in vars(entry).items() if k not in skip}

    station_entries, scan_entries = entries(station_home), entries(scan_home)
    assert [e.reason for e in scan_entries] == [
        Reason.NOT_A_PASS,
        Reason.EXPIRED,
        Reason.WRONG_CHECKPOINT,
        Reason.OK,
    ]
    assert [fields(e) for e in station_entries] == [fields(e) for e in scan_entries]
    assert station_entries[-1].temperatures == (366,) and scan_entries[-1].temperatures == ()
